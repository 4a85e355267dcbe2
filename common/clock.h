/* common/clock.h: wall-clock and monotonic time. */
#ifndef RV_COMMON_CLOCK_H
#define RV_COMMON_CLOCK_H

#include <stdint.h>

/** Milliseconds since the Unix epoch (CLOCK_REALTIME), like Java's
 *  System.currentTimeMillis(). */
int64_t rv__now_ms(void);
/** Monotonic milliseconds / microseconds (CLOCK_MONOTONIC), for timeouts
 *  and intervals. */
int64_t rv__mono_ms(void);
int64_t rv__mono_us(void);

#endif
