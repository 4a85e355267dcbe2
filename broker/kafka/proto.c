/* broker/kafka/proto.c: the Kafka protocol's primitive types: a request
 * arena, a bounds-checked reader with a sticky error, and a response
 * writer (broker/kafka/proto.h). */
#include "broker/kafka/proto.h"

#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct rv__karena_chunk_s {
    rv__karena_chunk_t *next;
    size_t used, cap;
    _Alignas(8) uint8_t data[];
};

#define ARENA_CHUNK 4096

void *rv__karena_alloc(rv__karena_t *a, size_t n) {
    n = (n + 7) & ~(size_t)7;
    if (!n)
        n = 8;
    rv__karena_chunk_t *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *rv__karena_strndup(rv__karena_t *a, const char *s, size_t n) {
    char *p = rv__karena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void rv__karena_free(rv__karena_t *a) {
    while (a->head) {
        rv__karena_chunk_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* ---- reader ---- */

void rv__kr_init(rv__kr_t *r, const void *p, size_t len, rv__karena_t *arena) {
    rv__slice_init(&r->s, p, len);
    r->err = false;
    r->arena = arena;
}

int8_t rv__kr_i8(rv__kr_t *r) {
    uint8_t v = 0;
    if (r->err || rv__slice_u8(&r->s, &v))
        r->err = true;
    return r->err ? 0 : (int8_t)v;
}

int16_t rv__kr_i16(rv__kr_t *r) {
    uint16_t v = 0;
    if (r->err || rv__slice_be16(&r->s, &v))
        r->err = true;
    return r->err ? 0 : (int16_t)v;
}

int32_t rv__kr_i32(rv__kr_t *r) {
    uint32_t v = 0;
    if (r->err || rv__slice_be32(&r->s, &v))
        r->err = true;
    return r->err ? 0 : (int32_t)v;
}

int64_t rv__kr_i64(rv__kr_t *r) {
    uint64_t v = 0;
    if (r->err || rv__slice_be64(&r->s, &v))
        r->err = true;
    return r->err ? 0 : (int64_t)v;
}

bool rv__kr_bool(rv__kr_t *r) {
    return rv__kr_i8(r) != 0;
}

const char *rv__kr_str(rv__kr_t *r) {
    int16_t n = rv__kr_i16(r);
    if (r->err || n == -1)
        return NULL;
    const uint8_t *p;
    if (n < 0 || rv__slice_bytes(&r->s, (size_t)n, &p) || memchr(p, '\0', (size_t)n)) {
        r->err = true;
        return NULL;
    }
    char *s = rv__karena_strndup(r->arena, (const char *)p, (size_t)n);
    if (!s)
        r->err = true;
    return s;
}

const uint8_t *rv__kr_bytes(rv__kr_t *r, size_t *len) {
    *len = 0;
    int32_t n = rv__kr_i32(r);
    if (r->err || n == -1)
        return NULL;
    const uint8_t *p;
    if (n < 0 || rv__slice_bytes(&r->s, (size_t)n, &p)) {
        r->err = true;
        return NULL;
    }
    *len = (size_t)n;
    return p;
}

int32_t rv__kr_array(rv__kr_t *r, size_t min_elem_size) {
    int32_t n = rv__kr_i32(r);
    if (r->err)
        return 0;
    if (n == -1)
        return -1;
    if (n < 0 || (min_elem_size && (size_t)n > rv__slice_left(&r->s) / min_elem_size)) {
        r->err = true;
        return 0;
    }
    return n;
}

void rv__kr_skip(rv__kr_t *r, size_t n) {
    const uint8_t *p;
    if (r->err || rv__slice_bytes(&r->s, n, &p))
        r->err = true;
}

void rv__kr_skip_tags(rv__kr_t *r) {
    uint64_t cnt = 0;
    if (r->err || rv__slice_uvarint(&r->s, &cnt)) {
        r->err = true;
        return;
    }
    for (uint64_t i = 0; i < cnt && !r->err; i++) {
        uint64_t tag, size;
        if (rv__slice_uvarint(&r->s, &tag) || rv__slice_uvarint(&r->s, &size) ||
            size > rv__slice_left(&r->s))
            r->err = true;
        else
            rv__kr_skip(r, (size_t)size);
    }
}

/* ---- writer ---- */

void rv__kw_init(rv__kw_t *w) {
    rv__buf_init(&w->b);
    w->err = false;
}

void rv__kw_free(rv__kw_t *w) {
    rv__buf_free(&w->b);
    w->err = false;
}

void rv__kw_i8(rv__kw_t *w, int8_t v) {
    if (rv__buf_put_u8(&w->b, (uint8_t)v))
        w->err = true;
}

void rv__kw_i16(rv__kw_t *w, int16_t v) {
    if (rv__buf_put_be16(&w->b, (uint16_t)v))
        w->err = true;
}

void rv__kw_i32(rv__kw_t *w, int32_t v) {
    if (rv__buf_put_be32(&w->b, (uint32_t)v))
        w->err = true;
}

void rv__kw_i64(rv__kw_t *w, int64_t v) {
    if (rv__buf_put_be64(&w->b, (uint64_t)v))
        w->err = true;
}

void rv__kw_bool(rv__kw_t *w, bool v) {
    rv__kw_i8(w, v ? 1 : 0);
}

void rv__kw_str(rv__kw_t *w, const char *s) {
    if (!s) {
        rv__kw_i16(w, -1);
        return;
    }
    size_t n = strlen(s);
    if (n > INT16_MAX)
        n = INT16_MAX; /* Kafka's STRING cannot say more */
    rv__kw_i16(w, (int16_t)n);
    rv__kw_raw(w, s, n);
}

void rv__kw_bytes(rv__kw_t *w, const void *p, size_t len) {
    if (!p) {
        rv__kw_i32(w, -1);
        return;
    }
    rv__kw_i32(w, (int32_t)len);
    rv__kw_raw(w, p, len);
}

void rv__kw_raw(rv__kw_t *w, const void *p, size_t len) {
    if (len && rv__buf_append(&w->b, p, len))
        w->err = true;
}

void rv__kw_uvarint(rv__kw_t *w, uint64_t v) {
    if (rv__buf_put_uvarint(&w->b, v))
        w->err = true;
}

size_t rv__kw_reserve_i32(rv__kw_t *w) {
    size_t pos = w->b.len;
    rv__kw_i32(w, 0);
    return pos;
}

void rv__kw_patch_i32(rv__kw_t *w, size_t pos, int32_t v) {
    if (!w->err && pos + 4 <= w->b.len)
        rv__wbe32(w->b.data + pos, (uint32_t)v);
}
