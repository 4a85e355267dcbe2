/* state/memory_store.c: the in-memory key-value store
 * (Stores.inMemoryKeyValueStore), an ordered map in a skip list
 * (state/skiplist.c) with byte-wise key order, so range() and all() walk
 * keys in the same order as RocksDB's.
 *
 * Iterators behave as Kafka's InMemoryKeyValueStore iterators: the keys of
 * the range are copied when the iterator is created, and each value is
 * looked up when its key is reached, so the store may be written while an
 * iterator is open; keys deleted meanwhile are skipped and values updated
 * meanwhile are seen new. The value handed out is copied into the
 * iterator, so a write cannot free it under the caller. Nothing is
 * persisted: the store is rebuilt from its changelog when its task opens. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "state/skiplist.h"
#include "state/store_internal.h"

typedef struct mem_value_s {
    size_t len;
    uint8_t data[];
} mem_value_t;

typedef struct mem_store_s {
    rv__skl_t map; /* node->val: mem_value_t */
} mem_store_t;

typedef struct mem_iter_s {
    mem_store_t *ms;
    rv__buf_t keys;  /* the copied keys, back to back */
    size_t *offs;    /* cnt + 1 offsets into keys */
    size_t cnt, pos; /* pos: keys consumed so far */
    int reverse;
    rv__buf_t value; /* copy of the current value */
} mem_iter_t;

static rv_err_t mem_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    mem_store_t *ms = opaque;
    rv__skl_node_t *n = rv__skl_find(&ms->map, key, key_len);
    if (!n)
        return RV_ERR__NOENT;
    mem_value_t *v = n->val;
    out->data = malloc(v->len ? v->len : 1);
    if (!out->data)
        return RV_ERR__NOMEM;
    memcpy(out->data, v->data, v->len);
    out->len = v->len;
    return RV_ERR_NO_ERROR;
}

static rv_err_t mem_put(void *opaque, const void *key, size_t key_len, const void *value,
                        size_t value_len) {
    mem_store_t *ms = opaque;
    if (!value) {
        free(rv__skl_remove(&ms->map, key, key_len));
        return RV_ERR_NO_ERROR;
    }
    mem_value_t *v = malloc(sizeof(*v) + value_len);
    if (!v)
        return RV_ERR__NOMEM;
    v->len = value_len;
    if (value_len)
        memcpy(v->data, value, value_len);
    rv__skl_node_t *n;
    int created;
    rv_err_t err = rv__skl_upsert(&ms->map, key, key_len, &n, &created);
    if (err) {
        free(v);
        return err;
    }
    free(n->val);
    n->val = v;
    return RV_ERR_NO_ERROR;
}

static void mem_iter_close(void *state) {
    mem_iter_t *it = state;
    rv__buf_free(&it->keys);
    rv__buf_free(&it->value);
    free(it->offs);
    free(it);
}

static rv_err_t mem_iter_open(void *opaque, void **iter, const void *from, size_t from_len,
                              const void *to, size_t to_len, int reverse) {
    mem_store_t *ms = opaque;
    mem_iter_t *it = calloc(1, sizeof(*it));
    if (!it)
        return RV_ERR__NOMEM;
    it->ms = ms;
    it->reverse = reverse;
    /* Allocate the key buffer up front: an empty key appends no byte, and
     * its key must still be a valid pointer (data + 0, never NULL + 0). */
    if (rv__buf_reserve(&it->keys, 1)) {
        mem_iter_close(it);
        return RV_ERR__NOMEM;
    }
    size_t cap = 0;
    for (rv__skl_node_t *n = rv__skl_seek(&ms->map, from, from_len); n; n = n->next[0]) {
        if (to && rv__key_cmp(n->key, n->key_len, to, to_len) > 0)
            break;
        if (it->cnt + 2 > cap) {
            size_t ncap = cap ? 2 * cap : 64;
            size_t *o = realloc(it->offs, ncap * sizeof(*o));
            if (!o) {
                mem_iter_close(it);
                return RV_ERR__NOMEM;
            }
            it->offs = o;
            cap = ncap;
        }
        it->offs[it->cnt++] = it->keys.len;
        if (rv__buf_append(&it->keys, n->key, n->key_len)) {
            mem_iter_close(it);
            return RV_ERR__NOMEM;
        }
    }
    if (it->offs)
        it->offs[it->cnt] = it->keys.len;
    *iter = it;
    return RV_ERR_NO_ERROR;
}

static int mem_iter_next(void *state, const void **key, size_t *key_len, const void **value,
                         size_t *value_len) {
    mem_iter_t *it = state;
    while (it->pos < it->cnt) {
        size_t i = it->reverse ? it->cnt - 1 - it->pos : it->pos;
        it->pos++;
        const uint8_t *k = it->keys.data + it->offs[i];
        size_t klen = it->offs[i + 1] - it->offs[i];
        rv__skl_node_t *n = rv__skl_find(&it->ms->map, k, klen);
        if (!n)
            continue; /* deleted since the iterator was made */
        mem_value_t *v = n->val;
        it->value.len = 0;
        if (rv__buf_reserve(&it->value, v->len + 1))
            return RV_ERR__NOMEM;
        memcpy(it->value.data, v->data, v->len);
        it->value.len = v->len;
        *key = k;
        *key_len = klen;
        *value = it->value.data;
        *value_len = v->len;
        return 1;
    }
    return 0;
}

static int64_t mem_count(void *opaque) {
    mem_store_t *ms = opaque;
    return (int64_t)ms->map.count;
}

static void mem_close(void *opaque) {
    mem_store_t *ms = opaque;
    for (rv__skl_node_t *n = rv__skl_first(&ms->map); n; n = n->next[0])
        free(n->val);
    rv__skl_free(&ms->map);
    free(ms);
}

static const rv_kv_store_ops_t mem_ops = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 0,
    .get = mem_get,
    .put = mem_put,
    .iter_open = mem_iter_open,
    .iter_next = mem_iter_next,
    .iter_close = mem_iter_close,
    .approximate_num_entries = mem_count,
    .close = mem_close,
};

rv_err_t rv__memory_store_new(rv_kv_store_t **out, const char *name) {
    *out = NULL;
    mem_store_t *ms = calloc(1, sizeof(*ms));
    if (!ms)
        return RV_ERR__NOMEM;
    if (rv__skl_init(&ms->map)) {
        free(ms);
        return RV_ERR__NOMEM;
    }
    rv_err_t err = rv__kv_store_new(out, &mem_ops, ms, name, RV__STORE_INNER, NULL);
    if (err)
        mem_close(ms);
    return err;
}
