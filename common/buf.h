/* common/buf.h: growable byte buffers, big-endian integers and Kafka's
 * varints (unsigned, and zigzag-signed varint/varlong).
 *
 * A rv__buf_t owns its memory. Writers grow it and return RV_ERR__NOMEM on
 * allocation failure (the buffer is then unchanged). Readers work on a
 * rv__slice_t, a borrowed window of bytes with a cursor; every read checks
 * bounds and returns -1 when the bytes run out, never reading past the end. */
#ifndef RV_COMMON_BUF_H
#define RV_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rivulet/error.h"

typedef struct rv__buf_s {
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;
} rv__buf_t;

#define RV__BUF_INIT \
    { NULL, 0, 0 }

void rv__buf_init(rv__buf_t *b);
/** Frees the memory; the buffer is then empty and reusable. */
void rv__buf_free(rv__buf_t *b);
/** Ensures room for `extra` more bytes past len. */
rv_err_t rv__buf_reserve(rv__buf_t *b, size_t extra);
rv_err_t rv__buf_append(rv__buf_t *b, const void *p, size_t n);
/** Appends n uninitialised bytes; *out points at them (valid until the next
 *  growth). */
rv_err_t rv__buf_extend(rv__buf_t *b, size_t n, uint8_t **out);
rv_err_t rv__buf_put_u8(rv__buf_t *b, uint8_t v);
rv_err_t rv__buf_put_be16(rv__buf_t *b, uint16_t v);
rv_err_t rv__buf_put_be32(rv__buf_t *b, uint32_t v);
rv_err_t rv__buf_put_be64(rv__buf_t *b, uint64_t v);
rv_err_t rv__buf_put_uvarint(rv__buf_t *b, uint64_t v);
/** Zigzag-encoded signed varint (Kafka "varint"/"varlong"). */
rv_err_t rv__buf_put_varint(rv__buf_t *b, int64_t v);
/** printf-style append; no terminating NUL is counted in len but one is
 *  kept after the data. */
rv_err_t rv__buf_printf(rv__buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Big-endian loads and stores on raw memory (no bounds checks). */
static inline uint16_t rv__be16(const uint8_t *p) {
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t rv__be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t rv__be64(const uint8_t *p) {
    return ((uint64_t)rv__be32(p) << 32) | rv__be32(p + 4);
}
static inline void rv__wbe16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void rv__wbe32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void rv__wbe64(uint8_t *p, uint64_t v) {
    rv__wbe32(p, (uint32_t)(v >> 32));
    rv__wbe32(p + 4, (uint32_t)v);
}

/** Zigzag mapping as Kafka's ByteUtils: (n << 1) ^ (n >> 63). */
static inline uint64_t rv__zigzag64(int64_t n) {
    return ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
}
static inline int64_t rv__unzigzag64(uint64_t n) {
    return (int64_t)(n >> 1) ^ -(int64_t)(n & 1);
}

/** Writes v as an unsigned varint into p (room for 10 bytes); returns the
 *  byte count. */
size_t rv__uvarint_encode(uint8_t *p, uint64_t v);
/** Size in bytes of the unsigned varint of v / of the zigzag varint of v. */
size_t rv__uvarint_size(uint64_t v);
size_t rv__varint_size(int64_t v);
/** Decodes an unsigned varint of at most `maxbytes` (5 for varint, 10 for
 *  varlong) from p[0..len). Returns the bytes consumed, or 0 when the input
 *  is truncated or too long. */
size_t rv__uvarint_decode(const uint8_t *p, size_t len, size_t maxbytes, uint64_t *out);

/* A borrowed window of bytes with a read cursor. */
typedef struct rv__slice_s {
    const uint8_t *p;
    size_t len; /* total */
    size_t pos; /* cursor */
} rv__slice_t;

static inline void rv__slice_init(rv__slice_t *s, const void *p, size_t len) {
    /* An empty window may come with a NULL pointer (an empty rv__buf_t);
     * point at a real byte so cursor arithmetic stays defined. */
    static const uint8_t empty = 0;
    s->p = p ? (const uint8_t *)p : &empty;
    s->len = len;
    s->pos = 0;
}
static inline size_t rv__slice_left(const rv__slice_t *s) {
    return s->len - s->pos;
}

/* Each returns 0, or -1 when the slice has too few bytes (cursor unchanged). */
int rv__slice_u8(rv__slice_t *s, uint8_t *v);
int rv__slice_be16(rv__slice_t *s, uint16_t *v);
int rv__slice_be32(rv__slice_t *s, uint32_t *v);
int rv__slice_be64(rv__slice_t *s, uint64_t *v);
/** Zigzag varint limited to int32 range (5 bytes) / varlong (10 bytes). */
int rv__slice_varint32(rv__slice_t *s, int32_t *v);
int rv__slice_varint64(rv__slice_t *s, int64_t *v);
int rv__slice_uvarint(rv__slice_t *s, uint64_t *v);
/** Points *p at the next n bytes (borrowed from the slice) and skips them. */
int rv__slice_bytes(rv__slice_t *s, size_t n, const uint8_t **p);

#endif
