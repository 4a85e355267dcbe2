/* tools/json.h: a small strict JSON (RFC 8259) parser for the files the
 * tools read, such as delete-records' --offset-json-file. It builds a tree;
 * numbers keep their text so integers convert exactly. Errors name the
 * line and column. */
#ifndef RV_TOOLS_JSON_H
#define RV_TOOLS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rv__json_type_e {
    RV__JSON_NULL,
    RV__JSON_BOOL,
    RV__JSON_NUMBER,
    RV__JSON_STRING,
    RV__JSON_ARRAY,
    RV__JSON_OBJECT
} rv__json_type_t;

typedef struct rv__json_s rv__json_t;
struct rv__json_s {
    rv__json_type_t type;
    bool boolean;       /* BOOL */
    char *text;         /* NUMBER: its text; STRING: the decoded UTF-8 (NUL-terminated) */
    size_t len;         /* STRING: decoded length (may contain NUL bytes) */
    rv__json_t **items; /* ARRAY and OBJECT: the values */
    char **keys;        /* OBJECT: the keys, parallel to items */
    size_t cnt;         /* ARRAY and OBJECT: number of items */
};

/* Nesting deeper than this is refused, so hostile input cannot exhaust the
 * stack. */
#define RV__JSON_MAX_DEPTH 64

/** Parses exactly one JSON value (surrounded by optional whitespace) from
 *  text[0..len). On error returns NULL with "line L, column C: message" in
 *  errstr. Caller owns the result; free with rv__json_free(). */
rv__json_t *rv__json_parse(const char *text, size_t len, char *errstr, size_t errstr_size);

/** Frees a tree. NULL does nothing. */
void rv__json_free(rv__json_t *v);

/** The value of `key` in an object (the last one when repeated, as
 *  Jackson), or NULL when absent or v is not an object. Borrowed from v. */
const rv__json_t *rv__json_get(const rv__json_t *v, const char *key);

/** An integer NUMBER (no fraction or exponent) within [min, max] into
 *  *out: 0, or -1 when v is not such a number. */
int rv__json_int(const rv__json_t *v, int64_t min, int64_t max, int64_t *out);

/** The type's name for messages ("object", "string", ...). Borrowed. */
const char *rv__json_type_name(rv__json_type_t t);

#endif
