/* client/records.c: the records a consumer returns (rv_records_t and
 * rv_record_t of rivulet/record.h) and the refcounted fetch chunks they
 * borrow from (client/consumer_records.h).
 *
 * Consuming at memory speed means no per-record allocation: a container is
 * one array of fixed-size records whose key and value pointers point into
 * the fetched batch bytes, plus references on those chunks. Only headers
 * cost extra, because the API hands out NUL-terminated header keys and the
 * wire format does not have them: a record's header keys are copied into
 * one arena per container, and its header table is an index range into a
 * per-container array, turned into pointers by rv__records_finish() once
 * neither can move any more. A chunk made from a consumer's pool gives
 * its memory back to the pool when its last reference goes, so the next
 * fetch can reuse it. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_records.h"

typedef struct rv__hdr_s {
    union {
        size_t off; /* into rs->keys while building */
        const char *p;
    } key;
    const void *value;
    int32_t value_len;
} rv__hdr_t;

struct rv_record_s {
    const char *topic;
    int32_t partition;
    int32_t ts_type;
    int64_t offset;
    int64_t timestamp;
    const uint8_t *key;
    const uint8_t *value;
    int32_t key_len;
    int32_t value_len;
    uint32_t hdr_cnt;
    union {
        size_t first; /* index into rs->hdrs while building */
        const rv__hdr_t *p;
    } hdrs;
};

struct rv_records_s {
    rv_record_t *v;
    size_t cnt, cap;
    rv__chunk_t **chunks;
    size_t chunk_cnt, chunk_cap;
    rv__hdr_t *hdrs;
    size_t hdr_cnt, hdr_cap;
    rv__buf_t keys; /* NUL-terminated header keys */
    bool finished;
};

/* ---- chunks ---- */

struct rv__chunk_pool_s {
    atomic_int refcnt;
    /* A finished chunk kept whole for its data and capacity (its own
     * struct is freed when the memory is taken). */
    _Atomic(rv__chunk_t *) spare;
};

rv__chunk_pool_t *rv__chunk_pool_new(void) {
    rv__chunk_pool_t *pool = malloc(sizeof *pool);
    if (!pool)
        return NULL;
    atomic_init(&pool->refcnt, 1);
    atomic_init(&pool->spare, NULL);
    return pool;
}

static void chunk_free(rv__chunk_t *c) {
    free(c->data);
    free(c);
}

void rv__chunk_pool_unref(rv__chunk_pool_t *pool) {
    if (!pool || atomic_fetch_sub_explicit(&pool->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    rv__chunk_t *c = atomic_exchange(&pool->spare, NULL);
    if (c)
        chunk_free(c);
    free(pool);
}

void rv__chunk_pool_take(rv__chunk_pool_t *pool, rv__buf_t *buf) {
    rv__chunk_t *c = pool && !buf->data ? atomic_exchange(&pool->spare, NULL) : NULL;
    if (!c)
        return;
    buf->data = c->data;
    buf->cap = c->cap;
    buf->len = 0;
    free(c);
}

rv__chunk_t *rv__chunk_new_pooled(rv__buf_t *buf, const char *topic, rv__chunk_pool_t *pool) {
    size_t tl = strlen(topic);
    rv__chunk_t *c = malloc(sizeof(*c) + tl + 1);
    if (!c)
        return NULL;
    atomic_init(&c->refcnt, 1);
    c->data = buf->data;
    c->len = buf->len;
    c->cap = buf->cap;
    c->pool = pool;
    if (pool)
        atomic_fetch_add_explicit(&pool->refcnt, 1, memory_order_relaxed);
    memcpy(c->topic, topic, tl + 1);
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return c;
}

rv__chunk_t *rv__chunk_new(rv__buf_t *buf, const char *topic) {
    return rv__chunk_new_pooled(buf, topic, NULL);
}

void rv__chunk_ref(rv__chunk_t *c) {
    atomic_fetch_add_explicit(&c->refcnt, 1, memory_order_relaxed);
}

void rv__chunk_unref(rv__chunk_t *c) {
    if (!c)
        return;
    if (atomic_fetch_sub_explicit(&c->refcnt, 1, memory_order_acq_rel) != 1)
        return;
    rv__chunk_pool_t *pool = c->pool;
    if (!pool) {
        chunk_free(c);
        return;
    }
    /* Into the pool's empty slot (a newer buffer replaces nothing: the
     * one there is as good), else freed. The pool reference is held until
     * then, so the pool cannot go meanwhile. */
    c->pool = NULL;
    rv__chunk_t *empty = NULL;
    if (!c->data || !atomic_compare_exchange_strong(&pool->spare, &empty, c))
        chunk_free(c);
    rv__chunk_pool_unref(pool);
}

/* ---- containers ---- */

rv_records_t *rv__records_new(size_t cap) {
    rv_records_t *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return NULL;
    if (cap) {
        rs->v = malloc(cap * sizeof(*rs->v));
        if (!rs->v) {
            free(rs);
            return NULL;
        }
        rs->cap = cap;
    }
    return rs;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *np = realloc(*p, n * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = n;
    return 0;
}

rv_err_t rv__records_add(rv_records_t *rs, rv__chunk_t *chunk, int32_t partition,
                         rv_timestamp_type_t ts_type, const rv__record_t *rec) {
    if (rs->chunk_cnt == 0 || rs->chunks[rs->chunk_cnt - 1] != chunk) {
        if (grow((void **)&rs->chunks, &rs->chunk_cap, rs->chunk_cnt + 1, sizeof(*rs->chunks)))
            return RV_ERR__NOMEM;
        rv__chunk_ref(chunk);
        rs->chunks[rs->chunk_cnt++] = chunk;
    }
    if (grow((void **)&rs->v, &rs->cap, rs->cnt + 1, sizeof(*rs->v)))
        return RV_ERR__NOMEM;
    rv_record_t *r = &rs->v[rs->cnt];
    r->topic = chunk->topic;
    r->partition = partition;
    r->ts_type = ts_type;
    r->offset = rec->offset;
    r->timestamp = rec->timestamp;
    r->key = rec->key;
    r->key_len = rec->key_len;
    r->value = rec->value;
    r->value_len = rec->value_len;
    r->hdr_cnt = 0;
    r->hdrs.first = rs->hdr_cnt;
    if (rec->header_cnt > 0) {
        size_t n = (size_t)rec->header_cnt;
        if (grow((void **)&rs->hdrs, &rs->hdr_cap, rs->hdr_cnt + n, sizeof(*rs->hdrs)))
            return RV_ERR__NOMEM;
        rv__slice_t s;
        rv__slice_init(&s, rec->headers, rec->headers_len);
        size_t keys_len = rs->keys.len;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *k, *v;
            int32_t kl, vl;
            /* The record iterator already walked these headers. */
            if (rv__record_header_next(&s, &k, &kl, &v, &vl) != 1) {
                rs->keys.len = keys_len;
                return RV_ERR_CORRUPT_MESSAGE;
            }
            rv__hdr_t *h = &rs->hdrs[rs->hdr_cnt + i];
            h->key.off = rs->keys.len;
            h->value = v;
            h->value_len = vl;
            if (rv__buf_append(&rs->keys, k, (size_t)kl) || rv__buf_put_u8(&rs->keys, 0)) {
                rs->keys.len = keys_len;
                return RV_ERR__NOMEM;
            }
        }
        rs->hdr_cnt += n;
        r->hdr_cnt = (uint32_t)n;
    }
    rs->cnt++;
    return RV_ERR_NO_ERROR;
}

void rv__records_finish(rv_records_t *rs) {
    if (rs->finished)
        return;
    rs->finished = true;
    for (size_t i = 0; i < rs->hdr_cnt; i++)
        rs->hdrs[i].key.p = (const char *)rs->keys.data + rs->hdrs[i].key.off;
    for (size_t i = 0; i < rs->cnt; i++)
        rs->v[i].hdrs.p = rs->v[i].hdr_cnt ? rs->hdrs + rs->v[i].hdrs.first : NULL;
}

size_t rv_records_count(const rv_records_t *rs) {
    return rs ? rs->cnt : 0;
}

const rv_record_t *rv_records_get(const rv_records_t *rs, size_t i) {
    return rs && i < rs->cnt ? &rs->v[i] : NULL;
}

void rv_records_destroy(rv_records_t *rs) {
    if (!rs)
        return;
    for (size_t i = 0; i < rs->chunk_cnt; i++)
        rv__chunk_unref(rs->chunks[i]);
    free(rs->chunks);
    free(rs->v);
    free(rs->hdrs);
    rv__buf_free(&rs->keys);
    free(rs);
}

/* ---- one record ---- */

const char *rv_record_topic(const rv_record_t *r) {
    return r->topic;
}

int32_t rv_record_partition(const rv_record_t *r) {
    return r->partition;
}

int64_t rv_record_offset(const rv_record_t *r) {
    return r->offset;
}

int64_t rv_record_timestamp(const rv_record_t *r) {
    return r->timestamp;
}

rv_timestamp_type_t rv_record_timestamp_type(const rv_record_t *r) {
    return (rv_timestamp_type_t)r->ts_type;
}

const void *rv_record_key(const rv_record_t *r, int32_t *len) {
    if (len)
        *len = r->key_len;
    return r->key_len < 0 ? NULL : r->key;
}

const void *rv_record_value(const rv_record_t *r, int32_t *len) {
    if (len)
        *len = r->value_len;
    return r->value_len < 0 ? NULL : r->value;
}

size_t rv_record_header_count(const rv_record_t *r) {
    return r->hdr_cnt;
}

rv_err_t rv_record_header(const rv_record_t *r, size_t i, const char **key, const void **value,
                          int32_t *value_len) {
    if (i >= r->hdr_cnt)
        return RV_ERR__NOENT;
    const rv__hdr_t *h = &r->hdrs.p[i];
    if (key)
        *key = h->key.p;
    if (value)
        *value = h->value_len < 0 ? NULL : h->value;
    if (value_len)
        *value_len = h->value_len;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_record_header_last(const rv_record_t *r, const char *key, const void **value,
                               int32_t *value_len) {
    for (size_t i = r->hdr_cnt; i-- > 0;) {
        if (strcmp(r->hdrs.p[i].key.p, key) == 0)
            return rv_record_header(r, i, NULL, value, value_len);
    }
    return RV_ERR__NOENT;
}
