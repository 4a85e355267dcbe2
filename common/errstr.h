/* common/errstr.h: filling the caller's `errstr` buffer that public and
 * internal functions take beside their error code. */
#ifndef RV_COMMON_ERRSTR_H
#define RV_COMMON_ERRSTR_H

#include <stddef.h>

/** printf-style message into errstr (truncated to errstr_size). errstr
 *  NULL or errstr_size 0 writes nothing. */
void rv__errstr_set(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
