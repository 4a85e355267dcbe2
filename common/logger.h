/* common/logger.h: the library's internal logging; rivulet/log.h is the
 * public side (level and callback). Thread-safe. */
#ifndef RV_COMMON_LOGGER_H
#define RV_COMMON_LOGGER_H

#include "rivulet/log.h"

/** True when lines of `level` would be emitted (to skip costly formatting). */
int rv__log_enabled(int level);
/** Emits one line: level (RV_LOG_*), facility (short upper-case word such
 *  as "LOG", "RECOVERY", "CLEANER", "TOPIC"), printf-style message. */
void rv__log(int level, const char *fac, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define rv__log_err(fac, ...) rv__log(RV_LOG_ERR, fac, __VA_ARGS__)
#define rv__log_warn(fac, ...) rv__log(RV_LOG_WARNING, fac, __VA_ARGS__)
#define rv__log_info(fac, ...) rv__log(RV_LOG_INFO, fac, __VA_ARGS__)
#define rv__log_debug(fac, ...) rv__log(RV_LOG_DEBUG, fac, __VA_ARGS__)

/** Always-on invariant check: on failure logs file:line and the expression,
 *  then aborts. Never use it to validate input. */
#define rv_assert(expr) ((expr) ? (void)0 : rv__assert_fail(#expr, __FILE__, __LINE__))
void rv__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#endif
