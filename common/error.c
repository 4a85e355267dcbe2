/* common/error.c: names and descriptions of error codes, generated from the
 * RV_ERRORS X-macro table in rivulet/error.h so the three can never drift
 * apart. Codes outside the table (a newer broker's error, a corrupted value)
 * get a placeholder instead of crashing the caller. */
#include "rivulet/error.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/errstr.h"

const char *rv_err_name(rv_err_t err) {
    switch ((int)err) {
#define RV__ERR_NAME(name, num, desc) \
    case num:                         \
        return #name;
        RV_ERRORS(RV__ERR_NAME)
#undef RV__ERR_NAME
    default:
        break;
    }
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "ERR_%d?", (int)err);
    return buf;
}

const char *rv_err_str(rv_err_t err) {
    switch ((int)err) {
#define RV__ERR_STR(name, num, desc) \
    case num:                        \
        return desc;
        RV_ERRORS(RV__ERR_STR)
#undef RV__ERR_STR
    default:
        return "Unknown error code";
    }
}

void rv__errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...) {
    if (!errstr || !errstr_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}
