/* common/clock.c: wall-clock and monotonic time in the units Kafka uses
 * (milliseconds since the epoch for record timestamps, monotonic time for
 * timeouts so that a clock step never fires or stalls a timer). */
#include "common/clock.h"

#include <time.h>

static int64_t clock_us(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rv__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rv__mono_ms(void) {
    return clock_us(CLOCK_MONOTONIC) / 1000;
}

int64_t rv__mono_us(void) {
    return clock_us(CLOCK_MONOTONIC);
}
