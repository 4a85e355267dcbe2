/* rivulet/conf.h: configuration objects of Kafka-named string properties.
 *
 * A rv_conf_t holds "name" -> "value" strings such as
 * "bootstrap.servers" -> "embedded:/var/lib/app". Every property a client or
 * app understands is described in one table (name, type, default, range,
 * doc); rv_conf_set() checks the name and the value against it.
 * docs/CONFIGURATION.md is generated from that table (`rivulet config-docs`).
 *
 * Not thread-safe: one thread builds a conf, then hands it to a constructor. */
#ifndef RIVULET_CONF_H
#define RIVULET_CONF_H

#include "common.h"

RV_BEGIN_DECLS

typedef struct rv_conf_s rv_conf_t;

typedef enum rv_conf_res_e {
    RV_CONF_UNKNOWN = -2, /**< no such property */
    RV_CONF_INVALID = -1, /**< the value is not valid for the property */
    RV_CONF_OK = 0
} rv_conf_res_t;

/** A new, empty configuration. Caller owns the result; free with
 *  rv_conf_destroy() unless a constructor took ownership. NULL only when out
 *  of memory. */
RV_EXTERN rv_conf_t *rv_conf_new(void);

/** Frees a configuration. NULL does nothing. */
RV_EXTERN void rv_conf_destroy(rv_conf_t *conf);

/** A deep copy. Caller owns the result; free with rv_conf_destroy(). */
RV_EXTERN rv_conf_t *rv_conf_dup(const rv_conf_t *conf);

/** Sets `name` to `value` after checking both against the property table.
 *  On failure writes a message naming the property to errstr and leaves the
 *  conf unchanged. name and value are copied; surrounding whitespace of the
 *  value is trimmed, as Kafka does. A NULL value unsets the property (its
 *  default applies again). */
RV_EXTERN rv_conf_res_t rv_conf_set(rv_conf_t *conf, const char *name, const char *value,
                                    char *errstr, size_t errstr_size);

/** The value set for `name`, or its default, or NULL if it has neither.
 *  Borrowed: valid until the property is set again or the conf destroyed. */
RV_EXTERN const char *rv_conf_get(const rv_conf_t *conf, const char *name);

/** Reads a Java-style properties file (`key=value` lines, `#`/`!` comments,
 *  blank lines) into conf. On the first bad line writes
 *  "FILE:LINE: message" to errstr and returns the failing result; properties
 *  before it stay set. A missing file is RV_CONF_INVALID. */
RV_EXTERN rv_conf_res_t rv_conf_load_file(rv_conf_t *conf, const char *path, char *errstr,
                                          size_t errstr_size);

RV_END_DECLS

#endif
