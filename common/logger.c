/* common/logger.c: the library's log lines (common/logger.h) and their
 * public controls (rivulet/log.h).
 *
 * A line is "%rivulet LEVEL FACILITY: message" on stderr, LEVEL being the
 * syslog name (ERR, WARNING, INFO, ...), unless the application installed a
 * callback. The level starts from $RV_LOG_LEVEL (0..7), read once, else
 * WARNING. Any thread may log: the level is an atomic, and the callback
 * pair is read under a mutex and called outside it, so a callback may log
 * or change the callback without deadlocking. */
#include "common/logger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -1 until initialised from the environment. */
static atomic_int log_level = -1;

static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*log_cb)(int level, const char *fac, const char *msg, void *opaque);
static void *log_cb_opaque;

static const char *level_names[] = {"EMERG",   "ALERT",  "CRIT", "ERR",
                                    "WARNING", "NOTICE", "INFO", "DEBUG"};

static int level_get(void) {
    int lvl = atomic_load_explicit(&log_level, memory_order_relaxed);
    if (lvl >= 0)
        return lvl;
    lvl = RV_LOG_WARNING;
    const char *env = getenv("RV_LOG_LEVEL");
    if (env && env[0] >= '0' && env[0] <= '7' && env[1] == '\0')
        lvl = env[0] - '0';
    /* Only the first initialisation wins, so rv_log_set_level() called
     * concurrently is never overwritten by the environment. */
    int expected = -1;
    if (!atomic_compare_exchange_strong(&log_level, &expected, lvl))
        lvl = expected;
    return lvl;
}

void rv_log_set_level(int level) {
    if (level < RV_LOG_EMERG)
        level = RV_LOG_EMERG;
    if (level > RV_LOG_DEBUG)
        level = RV_LOG_DEBUG;
    atomic_store(&log_level, level);
}

int rv_log_get_level(void) {
    return level_get();
}

void rv_log_set_callback(void (*cb)(int level, const char *fac, const char *msg, void *opaque),
                         void *opaque) {
    pthread_mutex_lock(&cb_lock);
    log_cb = cb;
    log_cb_opaque = opaque;
    pthread_mutex_unlock(&cb_lock);
}

int rv__log_enabled(int level) {
    return level <= level_get();
}

static void log_emit(int level, const char *fac, const char *msg) {
    void (*cb)(int, const char *, const char *, void *);
    void *opaque;
    pthread_mutex_lock(&cb_lock);
    cb = log_cb;
    opaque = log_cb_opaque;
    pthread_mutex_unlock(&cb_lock);
    if (cb) {
        cb(level, fac, msg, opaque);
        return;
    }
    const char *lname = level >= 0 && level <= 7 ? level_names[level] : "?";
    /* One fprintf call: stdio's stream lock keeps lines from interleaving. */
    fprintf(stderr, "%%rivulet %s %s: %s\n", lname, fac ? fac : "-", msg);
}

void rv__log(int level, const char *fac, const char *fmt, ...) {
    if (!rv__log_enabled(level))
        return;
    char stackbuf[512];
    char *msg = stackbuf;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof stackbuf) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        } /* else: log the truncated line rather than nothing */
    }
    /* A trailing newline would give an empty line on stderr. */
    size_t len = strlen(msg);
    while (len && msg[len - 1] == '\n')
        msg[--len] = '\0';
    log_emit(level, fac, msg);
    if (msg != stackbuf)
        free(msg);
}

void rv__assert_fail(const char *expr, const char *file, int line) {
    /* Straight to stderr as well: a callback may be the thing that broke. */
    fprintf(stderr, "%%rivulet CRIT ASSERT: %s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}
