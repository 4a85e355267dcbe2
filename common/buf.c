/* common/buf.c: growable byte buffers, bounds-checked slices and Kafka's
 * varint encodings (see common/buf.h for the contract).
 *
 * Kafka's record format uses two integer encodings besides big-endian
 * fixed-width fields: unsigned base-128 varints (7 bits a byte, least
 * significant group first, high bit = more bytes follow) and zigzag varints
 * on top of them for signed values (ByteUtils.writeVarint/writeVarlong).
 * A 32-bit varint takes at most 5 bytes and a varlong at most 10; decoders
 * reject anything longer and any value that does not fit, as Kafka does,
 * so a corrupt length can never make a reader run away. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rv__buf_init(rv__buf_t *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void rv__buf_free(rv__buf_t *b) {
    free(b->data);
    rv__buf_init(b);
}

rv_err_t rv__buf_reserve(rv__buf_t *b, size_t extra) {
    if (b->data && extra <= b->cap - b->len)
        return RV_ERR_NO_ERROR;
    if (extra > SIZE_MAX - b->len - 1)
        return RV_ERR__NOMEM;
    /* One spare byte always stays free so rv__buf_printf can keep its NUL. */
    size_t need = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return RV_ERR__NOMEM;
    b->data = p;
    /* The spare byte is not advertised in cap. */
    b->cap = cap - 1;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__buf_append(rv__buf_t *b, const void *p, size_t n) {
    if (n == 0)
        return RV_ERR_NO_ERROR;
    rv_err_t err = rv__buf_reserve(b, n);
    if (err)
        return err;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__buf_extend(rv__buf_t *b, size_t n, uint8_t **out) {
    rv_err_t err = rv__buf_reserve(b, n);
    if (err)
        return err;
    *out = b->data + b->len;
    b->len += n;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__buf_put_u8(rv__buf_t *b, uint8_t v) {
    return rv__buf_append(b, &v, 1);
}

rv_err_t rv__buf_put_be16(rv__buf_t *b, uint16_t v) {
    uint8_t t[2];
    rv__wbe16(t, v);
    return rv__buf_append(b, t, 2);
}

rv_err_t rv__buf_put_be32(rv__buf_t *b, uint32_t v) {
    uint8_t t[4];
    rv__wbe32(t, v);
    return rv__buf_append(b, t, 4);
}

rv_err_t rv__buf_put_be64(rv__buf_t *b, uint64_t v) {
    uint8_t t[8];
    rv__wbe64(t, v);
    return rv__buf_append(b, t, 8);
}

size_t rv__uvarint_encode(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t rv__uvarint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t rv__varint_size(int64_t v) {
    return rv__uvarint_size(rv__zigzag64(v));
}

rv_err_t rv__buf_put_uvarint(rv__buf_t *b, uint64_t v) {
    uint8_t t[10];
    return rv__buf_append(b, t, rv__uvarint_encode(t, v));
}

rv_err_t rv__buf_put_varint(rv__buf_t *b, int64_t v) {
    return rv__buf_put_uvarint(b, rv__zigzag64(v));
}

rv_err_t rv__buf_printf(rv__buf_t *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RV_ERR__INVALID_ARG;
    rv_err_t err = rv__buf_reserve(b, (size_t)n);
    if (err)
        return err;
    if ((size_t)n < sizeof tmp) {
        memcpy(b->data + b->len, tmp, (size_t)n + 1);
    } else {
        /* reserve() keeps one spare byte past cap, so n + 1 fits. */
        va_start(ap, fmt);
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return RV_ERR_NO_ERROR;
}

size_t rv__uvarint_decode(const uint8_t *p, size_t len, size_t maxbytes, uint64_t *out) {
    uint64_t v = 0;
    if (maxbytes > 10)
        maxbytes = 10;
    for (size_t i = 0; i < maxbytes; i++) {
        if (i >= len)
            return 0; /* truncated */
        uint8_t c = p[i];
        if (i == 9 && c > 1)
            return 0; /* would overflow 64 bits */
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            /* A 5-byte varint must fit 32 bits: Kafka's readVarint rejects
             * nothing here, but a value that wraps is never valid input. */
            if (maxbytes <= 5 && v > UINT32_MAX)
                return 0;
            *out = v;
            return i + 1;
        }
    }
    return 0; /* too long */
}

int rv__slice_u8(rv__slice_t *s, uint8_t *v) {
    if (rv__slice_left(s) < 1)
        return -1;
    *v = s->p[s->pos++];
    return 0;
}

int rv__slice_be16(rv__slice_t *s, uint16_t *v) {
    if (rv__slice_left(s) < 2)
        return -1;
    *v = rv__be16(s->p + s->pos);
    s->pos += 2;
    return 0;
}

int rv__slice_be32(rv__slice_t *s, uint32_t *v) {
    if (rv__slice_left(s) < 4)
        return -1;
    *v = rv__be32(s->p + s->pos);
    s->pos += 4;
    return 0;
}

int rv__slice_be64(rv__slice_t *s, uint64_t *v) {
    if (rv__slice_left(s) < 8)
        return -1;
    *v = rv__be64(s->p + s->pos);
    s->pos += 8;
    return 0;
}

int rv__slice_uvarint(rv__slice_t *s, uint64_t *v) {
    size_t n = rv__uvarint_decode(s->p + s->pos, rv__slice_left(s), 10, v);
    if (!n)
        return -1;
    s->pos += n;
    return 0;
}

int rv__slice_varint32(rv__slice_t *s, int32_t *v) {
    uint64_t u;
    size_t n = rv__uvarint_decode(s->p + s->pos, rv__slice_left(s), 5, &u);
    if (!n)
        return -1;
    /* u fits 32 bits, so the unzigzagged value fits int32. */
    *v = (int32_t)rv__unzigzag64(u);
    s->pos += n;
    return 0;
}

int rv__slice_varint64(rv__slice_t *s, int64_t *v) {
    uint64_t u;
    size_t n = rv__uvarint_decode(s->p + s->pos, rv__slice_left(s), 10, &u);
    if (!n)
        return -1;
    *v = rv__unzigzag64(u);
    s->pos += n;
    return 0;
}

int rv__slice_bytes(rv__slice_t *s, size_t n, const uint8_t **p) {
    if (rv__slice_left(s) < n)
        return -1;
    *p = s->p + s->pos;
    s->pos += n;
    return 0;
}
