/* rivulet/log.h: where the library's log lines go.
 *
 * By default lines of level RV_LOG_WARNING and more severe go to stderr as
 * "%rivulet LEVEL FACILITY: message". The environment variable
 * RV_LOG_LEVEL (0..7, syslog numbering) sets the initial level. */
#ifndef RIVULET_LOG_H
#define RIVULET_LOG_H

#include "common.h"

RV_BEGIN_DECLS

/* syslog(3) levels. */
enum {
    RV_LOG_EMERG = 0,
    RV_LOG_ALERT = 1,
    RV_LOG_CRIT = 2,
    RV_LOG_ERR = 3,
    RV_LOG_WARNING = 4,
    RV_LOG_NOTICE = 5,
    RV_LOG_INFO = 6,
    RV_LOG_DEBUG = 7
};

/** Log lines at `level` and more severe ones; others are dropped.
 *  Thread-safe. */
RV_EXTERN void rv_log_set_level(int level);

/** The current level (as set, or from RV_LOG_LEVEL). Thread-safe. */
RV_EXTERN int rv_log_get_level(void);

/** Sends log lines to `cb` instead of stderr; NULL restores stderr. The
 *  callback may run on any library thread, so it must be thread-safe.
 *  `fac` and `msg` are borrowed for the call only. Thread-safe. */
RV_EXTERN void rv_log_set_callback(void (*cb)(int level, const char *fac, const char *msg,
                                              void *opaque),
                                   void *opaque);

RV_END_DECLS

#endif
