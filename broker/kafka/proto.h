/* broker/kafka/proto.h: the Kafka wire protocol's primitive types.
 *
 * A reader (rv__kr_t) walks a request body with a sticky error flag: the
 * first read past the end (or a negative length where none is allowed)
 * sets `err`, and every later read returns zero values, so a handler reads
 * a whole request and checks `err` once. Strings are copied, NUL-terminated,
 * into the reader's arena; they live as long as the arena (the request).
 *
 * A writer (rv__kw_t) appends a response body to a growable buffer, also
 * with a sticky error (out of memory). Only non-flexible encodings are
 * written: the server advertises no flexible version except ApiVersions v3,
 * whose response is encoded by hand (broker/kafka/api.c).
 *
 * Types as in Kafka's protocol guide: INT8..INT64 and BOOLEAN big-endian;
 * STRING int16 length (-1 = null for NULLABLE_STRING); BYTES / RECORDS
 * int32 length (-1 = null); ARRAY int32 count (-1 = null). */
#ifndef RV_BROKER_KAFKA_PROTO_H
#define RV_BROKER_KAFKA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* ---- arena: many small allocations freed at once ---- */

typedef struct rv__karena_chunk_s rv__karena_chunk_t;
typedef struct rv__karena_s {
    rv__karena_chunk_t *head;
} rv__karena_t;

#define RV__KARENA_INIT \
    { NULL }

/** n bytes (8-aligned, zeroed) owned by the arena; NULL when out of memory. */
void *rv__karena_alloc(rv__karena_t *a, size_t n);
/** A NUL-terminated copy of s[0..n) owned by the arena. */
char *rv__karena_strndup(rv__karena_t *a, const char *s, size_t n);
/** Frees everything; the arena is then empty and reusable. */
void rv__karena_free(rv__karena_t *a);

/* ---- reader ---- */

typedef struct rv__kr_s {
    rv__slice_t s;
    bool err;            /* sticky: set by the first bad read */
    rv__karena_t *arena; /* where strings are copied; borrowed */
} rv__kr_t;

void rv__kr_init(rv__kr_t *r, const void *p, size_t len, rv__karena_t *arena);
int8_t rv__kr_i8(rv__kr_t *r);
int16_t rv__kr_i16(rv__kr_t *r);
int32_t rv__kr_i32(rv__kr_t *r);
int64_t rv__kr_i64(rv__kr_t *r);
bool rv__kr_bool(rv__kr_t *r);
/** STRING / NULLABLE_STRING: NULL for a null string (length -1), else a
 *  NUL-terminated copy in the arena. A string with an embedded NUL sets
 *  err (names and ids never hold one). */
const char *rv__kr_str(rv__kr_t *r);
/** BYTES / RECORDS: *len gets the length; returns a pointer into the
 *  request (borrowed, not copied), NULL with *len 0 for null (-1). */
const uint8_t *rv__kr_bytes(rv__kr_t *r, size_t *len);
/** ARRAY count: -1 for a null array (only legal where the schema says
 *  nullable; the caller decides). Sets err when the count could not fit in
 *  the bytes left at `min_elem_size` bytes per element, so a hostile count
 *  never makes the caller allocate much. */
int32_t rv__kr_array(rv__kr_t *r, size_t min_elem_size);
/** Skips n bytes. */
void rv__kr_skip(rv__kr_t *r, size_t n);
/** Skips a tagged-field section (flexible versions: uvarint count, then
 *  per field uvarint tag, uvarint size, bytes). */
void rv__kr_skip_tags(rv__kr_t *r);

/* ---- writer ---- */

typedef struct rv__kw_s {
    rv__buf_t b;
    bool err; /* sticky: out of memory */
} rv__kw_t;

void rv__kw_init(rv__kw_t *w);
void rv__kw_free(rv__kw_t *w);
void rv__kw_i8(rv__kw_t *w, int8_t v);
void rv__kw_i16(rv__kw_t *w, int16_t v);
void rv__kw_i32(rv__kw_t *w, int32_t v);
void rv__kw_i64(rv__kw_t *w, int64_t v);
void rv__kw_bool(rv__kw_t *w, bool v);
/** STRING / NULLABLE_STRING: NULL writes length -1. */
void rv__kw_str(rv__kw_t *w, const char *s);
/** BYTES / RECORDS: NULL writes length -1. */
void rv__kw_bytes(rv__kw_t *w, const void *p, size_t len);
/** Raw bytes, no length. */
void rv__kw_raw(rv__kw_t *w, const void *p, size_t len);
/** Unsigned varint (flexible encodings). */
void rv__kw_uvarint(rv__kw_t *w, uint64_t v);
/** Writes a placeholder int32 (an array count not known yet) and returns
 *  its position for rv__kw_patch_i32. */
size_t rv__kw_reserve_i32(rv__kw_t *w);
void rv__kw_patch_i32(rv__kw_t *w, size_t pos, int32_t v);

#endif
