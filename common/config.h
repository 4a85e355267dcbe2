/* common/config.h: property tables and Kafka-style value parsing.
 *
 * A table (array of rv__prop_t ending with a NULL name) describes every
 * property of one kind: the client/app properties of rv_conf_t
 * (common/conf_props.c) and the topic-level configs (broker/topic_config.c).
 * The same checker validates values for both and writes Kafka's messages:
 *   Invalid value abc for configuration segment.bytes: Not a number of type INT
 *   Invalid value 1 for configuration segment.bytes: Value must be at least 14
 *   Unknown topic config name: foo.bar        (text given by the caller's kind)
 * docs/CONFIGURATION.md is generated from the tables. */
#ifndef RV_COMMON_CONFIG_H
#define RV_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivulet/conf.h"

typedef enum rv__prop_type_e {
    RV__PROP_STRING, /* any string */
    RV__PROP_INT,    /* Java int: 32-bit */
    RV__PROP_LONG,   /* Java long: 64-bit */
    RV__PROP_DOUBLE,
    RV__PROP_BOOLEAN, /* true / false (case-insensitive) */
    RV__PROP_ENUM,    /* one of `values` */
    RV__PROP_LIST     /* comma-separated, each one of `values` (any when NULL) */
} rv__prop_type_t;

typedef struct rv__prop_s {
    const char *name;
    rv__prop_type_t type;
    const char *dflt;          /* default as text; NULL = no default */
    double min, max;           /* numeric range, inclusive (ignored when min > max) */
    const char *const *values; /* NULL-terminated, for ENUM and LIST */
    const char *doc;           /* one or two sentences */
} rv__prop_t;

/** The row for `name`, or NULL. */
const rv__prop_t *rv__prop_find(const rv__prop_t *table, const char *name);

/** Checks `value` for the property `prop`. On failure writes Kafka's message
 *  (see above) to errstr and returns RV_CONF_INVALID. */
rv_conf_res_t rv__prop_check(const rv__prop_t *prop, const char *value, char *errstr,
                             size_t errstr_size);

/** Strict number parsing as Java's: the whole string, optional sign, no
 *  spaces; range-checked. Return 0 or -1. */
int rv__parse_int64(const char *s, int64_t *out);
int rv__parse_int32(const char *s, int32_t *out);
int rv__parse_double(const char *s, double *out);
int rv__parse_bool(const char *s, bool *out);

/** Splits "key=value" (the first '=') into freshly allocated name and value
 *  with surrounding whitespace trimmed. Returns -1 when there is no '=' or
 *  the key is empty. Caller owns *name and *value; free(). */
int rv__parse_kv(const char *text, char **name, char **value);

/** The client/app property table behind rv_conf_t. */
extern const rv__prop_t rv__conf_props[];

/** Typed reads of a conf whose values were checked on set (or defaults).
 *  Return `dflt` when the property has no value. */
int64_t rv__conf_get_int64(const rv_conf_t *conf, const char *name, int64_t dflt);

/** 1 when `name` was set in conf (rv_conf_set), 0 when it only has its
 *  table default. */
int rv__conf_is_set(const rv_conf_t *conf, const char *name);
bool rv__conf_get_bool(const rv_conf_t *conf, const char *name, bool dflt);

/** Writes the Markdown reference of a table (one section) to buf. */
#include "common/buf.h"
rv_err_t rv__prop_table_markdown(rv__buf_t *out, const rv__prop_t *table, const char *title);

#endif
