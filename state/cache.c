/* state/cache.c: the record cache of cache.max.bytes.buffering (Kafka
 * Streams' CachingKeyValueStore over a NamedCache), a store wrapper that
 * holds recent writes in memory and passes them on at flush.
 *
 * DESIGN
 * Entries live in a hash table keyed by the record key, which serves the
 * point reads and writes, and on two intrusive lists:
 *   - the LRU list, most recently used first: every get and put moves the
 *     entry to the head; eviction takes the tail;
 *   - the dirty list, in the order entries were last updated (an update of
 *     a dirty entry moves it to the tail, as NamedCache's dirtyKeys remove
 *     then add): the order of a flush.
 * Key order is only needed by iterators, so the ordered index, a skip list
 * (state/skiplist.c), is kept lazily: a new entry goes on the "unindexed"
 * list, and opening an iterator first moves every unindexed entry into the
 * skip list. Every entry is in exactly one of the two. A store that is
 * only read and written by key (a count, an aggregate) thus never pays for
 * ordering, and one that iterates pays what a skip list always cost.
 * An entry is dirty (written here, not yet in the wrapped store) or clean
 * (a copy of the wrapped store's value, cached by a read). A delete is a
 * dirty entry with no value (a tombstone) that hides the wrapped store's
 * value until it is flushed; after the flush it is dropped.
 *
 * Repeated puts of a key between flushes collapse into one entry, so the
 * wrapped store, the changelog under it and the flush listener see only
 * the last value: this is why an app with caching emits fewer updates.
 *
 * Each entry counts key + value + RV__CACHE_ENTRY_OVERHEAD bytes. After a
 * put or a read-miss grows the cache past max_bytes, the LRU tail is
 * evicted until it fits; evicting a dirty entry first flushes every dirty
 * entry (NamedCache.evict -> flush), so the wrapped store receives updates
 * in the order they were made. max_bytes 0 thus writes every put through at
 * once.
 *
 * A flush takes the dirty entries in order, reads the wrapped store's old
 * values when the listener needs them (deletes always, to drop deletes of
 * absent keys; updates with send-old-values), writes them all to the
 * wrapped store in one put_all (one RocksDB batch), marks them clean, and
 * then calls the listener for each. While the listener runs the cache does
 * not change: puts fail with RV_ERR__STATE and read-misses are not cached.
 *
 * A listener's error is not a write error: by the time the listener runs,
 * the entries are in the wrapped store (and its changelog), so a put or
 * get whose eviction flushed must not report them as failed. The first
 * listener error is kept and returned by the next explicit flush
 * (rv__cache_flush() or rv_kv_store_flush()), which clears it; the runtime
 * flushes at every commit, so the error surfaces there. Errors writing the
 * wrapped store are returned at once by whichever call flushed, and the
 * entries stay dirty for the next flush.
 *
 * Iterators merge a copy of the cache's entries in the range (taken when
 * the iterator is made) with an iterator of the wrapped store, as
 * MergedSortedCacheKeyValueBytesStoreIterator: on equal keys the cache
 * wins; tombstones hide the key. The merge is a point-in-time view only
 * when the wrapped store's iterator is one (RocksDB). Over the in-memory
 * store, keys only the wrapped store holds behave as its iterators do:
 * the key set is fixed at creation, but values are read when reached and
 * keys deleted meanwhile are skipped, so a flush or eviction made while the
 * iterator is open shows through for those keys. The cache's copy is not
 * refreshed. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/logger.h"
#include "state/skiplist.h"
#include "state/store_internal.h"

typedef struct centry_s {
    uint64_t hash;
    struct centry_s *h_next;          /* hash chain */
    rv__skl_node_t *node;             /* in the ordered index (node->val is this entry), or NULL */
    struct centry_s *u_prev, *u_next; /* the unindexed list, while node is NULL */
    uint8_t *value;                   /* NULL: a tombstone */
    size_t value_len, value_cap;
    int dirty;
    struct centry_s *lru_prev, *lru_next; /* head: most recently used */
    struct centry_s *d_prev, *d_next;     /* head: least recently updated */
    size_t key_len;
    uint8_t key[]; /* the entry's own copy */
} centry_t;

#define HASH_MIN_BUCKETS 1024

typedef struct cache_s {
    rv_kv_store_t *inner; /* owned */
    centry_t **tab;       /* hash buckets, a power of two of them */
    size_t mask;
    rv__skl_t map;    /* the ordered index of the indexed entries */
    centry_t *u_head; /* entries not in the ordered index yet */
    centry_t *lru_head, *lru_tail;
    centry_t *d_head, *d_tail;
    size_t bytes, max_bytes, entries, dirty;
    rv__cache_flush_fn listener;
    void *opaque;
    bool send_old_values;
    bool flushing;
    rv_err_t listener_err; /* first listener error not yet reported */
    uint64_t hits, misses, overwrites, evictions, flushes;
} cache_t;

static size_t entry_size(const centry_t *e) {
    return e->key_len + e->value_len + RV__CACHE_ENTRY_OVERHEAD;
}

/* 64-bit hash of a key, 8 bytes at a time, with murmur3's finalizer. */
static uint64_t key_hash(const void *key, size_t len) {
    const uint8_t *p = key;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)len;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t v = 0;
        memcpy(&v, p, len);
        h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static centry_t *find(const cache_t *c, const void *key, size_t key_len, uint64_t h) {
    for (centry_t *e = c->tab[h & c->mask]; e; e = e->h_next)
        if (e->hash == h && e->key_len == key_len && (!key_len || !memcmp(e->key, key, key_len)))
            return e;
    return NULL;
}

/* Doubles the buckets once there are more entries than buckets; when that
 * cannot be allocated the chains just get longer. */
static void maybe_grow(cache_t *c) {
    if (c->entries <= c->mask + 1)
        return;
    size_t n = (c->mask + 1) * 2;
    centry_t **tab = calloc(n, sizeof *tab);
    if (!tab)
        return;
    for (size_t i = 0; i <= c->mask; i++) {
        for (centry_t *e = c->tab[i], *nx; e; e = nx) {
            nx = e->h_next;
            e->h_next = tab[e->hash & (n - 1)];
            tab[e->hash & (n - 1)] = e;
        }
    }
    free(c->tab);
    c->tab = tab;
    c->mask = n - 1;
}

static void unindexed_unlink(cache_t *c, centry_t *e) {
    if (e->u_prev)
        e->u_prev->u_next = e->u_next;
    else
        c->u_head = e->u_next;
    if (e->u_next)
        e->u_next->u_prev = e->u_prev;
    e->u_prev = e->u_next = NULL;
}

/* Moves every unindexed entry into the ordered index (before iterating). */
static rv_err_t index_all(cache_t *c) {
    while (c->u_head) {
        centry_t *e = c->u_head;
        rv__skl_node_t *n;
        int created;
        rv_err_t err = rv__skl_upsert(&c->map, e->key, e->key_len, &n, &created);
        if (err)
            return err;
        rv_assert(created);
        n->val = e;
        e->node = n;
        unindexed_unlink(c, e);
    }
    return RV_ERR_NO_ERROR;
}

static void lru_unlink(cache_t *c, centry_t *e) {
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_head(cache_t *c, centry_t *e) {
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    else
        c->lru_tail = e;
    c->lru_head = e;
}

static void dirty_unlink(cache_t *c, centry_t *e) {
    if (!e->dirty)
        return;
    if (e->d_prev)
        e->d_prev->d_next = e->d_next;
    else
        c->d_head = e->d_next;
    if (e->d_next)
        e->d_next->d_prev = e->d_prev;
    else
        c->d_tail = e->d_prev;
    e->d_prev = e->d_next = NULL;
    e->dirty = 0;
    c->dirty--;
}

static void dirty_push_tail(cache_t *c, centry_t *e) {
    e->d_next = NULL;
    e->d_prev = c->d_tail;
    if (c->d_tail)
        c->d_tail->d_next = e;
    else
        c->d_head = e;
    c->d_tail = e;
    e->dirty = 1;
    c->dirty++;
}

static void entry_remove(cache_t *c, centry_t *e) {
    dirty_unlink(c, e);
    lru_unlink(c, e);
    c->bytes -= entry_size(e);
    c->entries--;
    centry_t **pp = &c->tab[e->hash & c->mask];
    while (*pp != e)
        pp = &(*pp)->h_next;
    *pp = e->h_next;
    if (e->node)
        rv__skl_remove(&c->map, e->key, e->key_len);
    else
        unindexed_unlink(c, e);
    free(e->value);
    free(e);
}

/* Sets key's entry to value (NULL = tombstone), dirty or clean, and makes
 * it the most recently used. */
static rv_err_t entry_set(cache_t *c, const void *key, size_t key_len, const void *value,
                          size_t value_len, int dirty) {
    uint64_t h = key_hash(key, key_len);
    centry_t *e = find(c, key, key_len, h);
    if (!value)
        value_len = 0;
    /* An overwrite reuses the value's buffer when the new value fits. */
    uint8_t *copy = e && value && e->value && e->value_cap >= value_len ? e->value : NULL;
    size_t cap = copy ? e->value_cap : value_len ? value_len : 1;
    if (value && !copy) {
        copy = malloc(cap);
        if (!copy)
            return RV_ERR__NOMEM;
    }
    if (value_len)
        memmove(copy, value, value_len);
    if (!e) {
        e = calloc(1, sizeof(*e) + key_len + 1);
        if (!e) {
            free(copy);
            return RV_ERR__NOMEM;
        }
        e->hash = h;
        e->key_len = key_len;
        if (key_len)
            memcpy(e->key, key, key_len);
        e->h_next = c->tab[h & c->mask];
        c->tab[h & c->mask] = e;
        e->u_next = c->u_head;
        if (c->u_head)
            c->u_head->u_prev = e;
        c->u_head = e;
        c->entries++;
        maybe_grow(c);
    } else {
        c->overwrites++;
        c->bytes -= entry_size(e);
        lru_unlink(c, e);
        if (e->value != copy)
            free(e->value);
    }
    e->value = copy;
    e->value_len = value_len;
    e->value_cap = copy ? cap : 0;
    c->bytes += entry_size(e);
    lru_push_head(c, e);
    if (dirty) {
        dirty_unlink(c, e);
        dirty_push_tail(c, e);
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t cache_flush(cache_t *c) {
    if (c->flushing)
        return RV_ERR__STATE;
    size_t n = c->dirty;
    if (n == 0)
        return RV_ERR_NO_ERROR;
    centry_t **ents = malloc(n * sizeof(*ents));
    rv_kv_entry_t *kv = malloc(n * sizeof(*kv));
    rv_bytes_t *olds = calloc(n, sizeof(*olds));
    rv_err_t err = RV_ERR_NO_ERROR;
    if (!ents || !kv || !olds) {
        err = RV_ERR__NOMEM;
        goto done;
    }
    size_t i = 0;
    for (centry_t *e = c->d_head; e; e = e->d_next, i++) {
        ents[i] = e;
        kv[i].key = e->key;
        kv[i].key_len = e->key_len;
        kv[i].value = e->value;
        kv[i].value_len = e->value_len;
    }
    rv_assert(i == n);
    if (c->listener) {
        for (i = 0; i < n; i++) {
            if (!c->send_old_values && ents[i]->value)
                continue;
            err = rv_kv_store_get(&olds[i], c->inner, kv[i].key, kv[i].key_len);
            if (err == RV_ERR__NOENT)
                err = RV_ERR_NO_ERROR;
            if (err)
                goto done;
        }
    }
    err = rv_kv_store_put_all(c->inner, kv, n);
    if (err)
        goto done; /* the entries stay dirty: the next flush retries */
    c->flushes++;
    for (i = 0; i < n; i++)
        dirty_unlink(c, ents[i]);
    if (c->listener) {
        c->flushing = true;
        for (i = 0; i < n; i++) {
            if (!ents[i]->value && !olds[i].data)
                continue; /* a delete of a key that was never there */
            rv_err_t lerr = c->listener(kv[i].key, kv[i].key_len, ents[i]->value,
                                        ents[i]->value_len, olds[i].data, olds[i].len, c->opaque);
            /* Kept for the next explicit flush: the write itself is done. */
            if (lerr && !c->listener_err)
                c->listener_err = lerr;
        }
        c->flushing = false;
    }
    /* Tombstones have reached the wrapped store; they need no caching. */
    for (i = 0; i < n; i++)
        if (!ents[i]->value)
            entry_remove(c, ents[i]);
done:
    if (olds)
        for (i = 0; i < n; i++)
            rv_bytes_free(&olds[i]);
    free(olds);
    free(kv);
    free(ents);
    return err;
}

/* Returns and clears the listener error kept since the last explicit
 * flush. */
static rv_err_t take_listener_err(cache_t *c) {
    rv_err_t err = c->listener_err;
    c->listener_err = RV_ERR_NO_ERROR;
    return err;
}

static rv_err_t maybe_evict(cache_t *c) {
    while (c->bytes > c->max_bytes && c->lru_tail) {
        centry_t *e = c->lru_tail;
        if (e->dirty) {
            rv_err_t err = cache_flush(c);
            if (err)
                return err;
            continue; /* the flush may have dropped the tail (a tombstone) */
        }
        entry_remove(c, e);
        c->evictions++;
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t cache_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    cache_t *c = opaque;
    centry_t *e = find(c, key, key_len, key_hash(key, key_len));
    if (e) {
        c->hits++;
        lru_unlink(c, e);
        lru_push_head(c, e);
        if (!e->value)
            return RV_ERR__NOENT;
        out->data = malloc(e->value_len ? e->value_len : 1);
        if (!out->data)
            return RV_ERR__NOMEM;
        memcpy(out->data, e->value, e->value_len);
        out->len = e->value_len;
        return RV_ERR_NO_ERROR;
    }
    c->misses++;
    rv_err_t err = rv_kv_store_get(out, c->inner, key, key_len);
    if (err || c->flushing)
        return err;
    /* Keep what was read, clean, as Kafka does for hits on the store. */
    err = entry_set(c, key, key_len, out->data, out->len, 0);
    if (err == RV_ERR_NO_ERROR)
        err = maybe_evict(c);
    if (err)
        rv_bytes_free(out);
    return err;
}

static rv_err_t cache_put(void *opaque, const void *key, size_t key_len, const void *value,
                          size_t value_len) {
    cache_t *c = opaque;
    if (c->flushing)
        return RV_ERR__STATE;
    rv_err_t err = entry_set(c, key, key_len, value, value_len, 1);
    if (err)
        return err;
    return maybe_evict(c);
}

/* ---- Merged iterators ---- */

typedef struct citem_s {
    size_t key_off, key_len, value_off, value_len;
    int tombstone;
} citem_t;

typedef struct citer_s {
    rv__buf_t bytes; /* copied keys and values */
    citem_t *items;
    size_t cnt, pos;
    int reverse;
    rv_kv_iter_t *inner;
    int inner_done, inner_stale; /* stale: must advance before use */
} citer_t;

static void citer_close(void *state) {
    citer_t *ci = state;
    rv_kv_iter_destroy(ci->inner);
    rv__buf_free(&ci->bytes);
    free(ci->items);
    free(ci);
}

static rv_err_t citer_open(void *opaque, void **iter, const void *from, size_t from_len,
                           const void *to, size_t to_len, int reverse) {
    cache_t *c = opaque;
    citer_t *ci = calloc(1, sizeof(*ci));
    if (!ci)
        return RV_ERR__NOMEM;
    ci->reverse = reverse;
    ci->inner_stale = 1;
    if (index_all(c)) {
        citer_close(ci);
        return RV_ERR__NOMEM;
    }
    /* Allocate the copy buffer up front, so an empty key is data + 0, a
     * valid pointer, never NULL + 0. */
    if (rv__buf_reserve(&ci->bytes, 1)) {
        citer_close(ci);
        return RV_ERR__NOMEM;
    }
    size_t cap = 0;
    for (rv__skl_node_t *n = rv__skl_seek(&c->map, from, from_len); n; n = n->next[0]) {
        if (to && rv__key_cmp(n->key, n->key_len, to, to_len) > 0)
            break;
        centry_t *e = n->val;
        if (ci->cnt == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            citem_t *items = realloc(ci->items, ncap * sizeof(*items));
            if (!items) {
                citer_close(ci);
                return RV_ERR__NOMEM;
            }
            ci->items = items;
            cap = ncap;
        }
        citem_t *it = &ci->items[ci->cnt++];
        it->key_off = ci->bytes.len;
        it->key_len = n->key_len;
        it->tombstone = e->value == NULL;
        it->value_len = e->value_len;
        if (rv__buf_append(&ci->bytes, n->key, n->key_len)) {
            citer_close(ci);
            return RV_ERR__NOMEM;
        }
        it->value_off = ci->bytes.len;
        if (e->value_len && rv__buf_append(&ci->bytes, e->value, e->value_len)) {
            citer_close(ci);
            return RV_ERR__NOMEM;
        }
    }
    rv_err_t err = reverse
                       ? rv_kv_store_reverse_range(&ci->inner, c->inner, from, from_len, to, to_len)
                       : rv_kv_store_range(&ci->inner, c->inner, from, from_len, to, to_len);
    if (err) {
        citer_close(ci);
        return err;
    }
    *iter = ci;
    return RV_ERR_NO_ERROR;
}

static int citer_advance_inner(citer_t *ci) {
    ci->inner_stale = 0;
    if (ci->inner_done)
        return 0;
    int r = rv_kv_iter_next(ci->inner);
    if (r == 0)
        ci->inner_done = 1;
    return r < 0 ? r : 0;
}

static int citer_next(void *state, const void **key, size_t *key_len, const void **value,
                      size_t *value_len) {
    citer_t *ci = state;
    for (;;) {
        if (ci->inner_stale) {
            int r = citer_advance_inner(ci);
            if (r < 0)
                return r;
        }
        int have_c = ci->pos < ci->cnt, have_i = !ci->inner_done;
        if (!have_c && !have_i)
            return 0;
        const citem_t *it =
            have_c ? &ci->items[ci->reverse ? ci->cnt - 1 - ci->pos : ci->pos] : NULL;
        size_t ik_len = 0;
        const void *ik = have_i ? rv_kv_iter_key(ci->inner, &ik_len) : NULL;
        int cmp;
        if (have_c && have_i) {
            cmp = rv__key_cmp(ci->bytes.data + it->key_off, it->key_len, ik, ik_len);
            if (ci->reverse)
                cmp = -cmp;
        } else {
            cmp = have_c ? -1 : 1;
        }
        if (cmp > 0) {
            /* Only the wrapped store has this key. */
            *key = ik;
            *key_len = ik_len;
            *value = rv_kv_iter_value(ci->inner, value_len);
            ci->inner_stale = 1;
            return 1;
        }
        ci->pos++;
        if (cmp == 0)
            ci->inner_stale = 1; /* the cache's entry shadows the store's */
        if (it->tombstone)
            continue;
        *key = ci->bytes.data + it->key_off;
        *key_len = it->key_len;
        *value = it->value_len ? (const void *)(ci->bytes.data + it->value_off) : (const void *)"";
        *value_len = it->value_len;
        return 1;
    }
}

static int64_t cache_count(void *opaque) {
    cache_t *c = opaque;
    return rv_kv_store_approximate_num_entries(c->inner);
}

static rv_err_t cache_flush_op(void *opaque) {
    cache_t *c = opaque;
    rv_err_t err = cache_flush(c);
    if (err)
        return err;
    err = rv_kv_store_flush(c->inner);
    if (err)
        return err;
    return take_listener_err(c);
}

static void cache_free_entries(cache_t *c) {
    for (centry_t *e = c->lru_head, *nx; e; e = nx) {
        nx = e->lru_next;
        free(e->value);
        free(e);
    }
    rv__skl_free(&c->map);
    free(c->tab);
}

static void cache_close(void *opaque) {
    cache_t *c = opaque;
    /* As CachingKeyValueStore.close: what is dirty reaches the store. */
    rv_err_t err = cache_flush(c);
    if (!err)
        err = take_listener_err(c);
    if (err)
        rv__log_err("CACHE", "Flushing the cache of store %s on close failed: %s",
                    rv_kv_store_name(c->inner), rv_err_str(err));
    cache_free_entries(c);
    rv_kv_store_destroy(c->inner);
    free(c);
}

#define CACHE_OPS(persistent_)                                                             \
    {                                                                                      \
        .version = RV_KV_STORE_OPS_VERSION, .persistent = (persistent_), .get = cache_get, \
        .put = cache_put, .iter_open = citer_open, .iter_next = citer_next,                \
        .iter_close = citer_close, .approximate_num_entries = cache_count,                 \
        .flush = cache_flush_op, .close = cache_close,                                     \
    }

static const rv_kv_store_ops_t cache_ops = CACHE_OPS(0);
static const rv_kv_store_ops_t cache_ops_persistent = CACHE_OPS(1);

rv_err_t rv__cache_wrap(rv_kv_store_t **out, rv_kv_store_t *inner, size_t max_bytes,
                        rv__cache_flush_fn listener, void *opaque) {
    *out = NULL;
    if (!inner)
        return RV_ERR__INVALID_ARG;
    cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return RV_ERR__NOMEM;
    c->tab = calloc(HASH_MIN_BUCKETS, sizeof *c->tab);
    if (!c->tab || rv__skl_init(&c->map)) {
        free(c->tab);
        free(c);
        return RV_ERR__NOMEM;
    }
    c->mask = HASH_MIN_BUCKETS - 1;
    c->inner = inner;
    c->max_bytes = max_bytes;
    c->listener = listener;
    c->opaque = opaque;
    rv_err_t err =
        rv__kv_store_new(out, rv_kv_store_persistent(inner) ? &cache_ops_persistent : &cache_ops, c,
                         rv_kv_store_name(inner), RV__STORE_CACHE, inner);
    if (err) {
        rv__skl_free(&c->map);
        free(c->tab);
        free(c);
    }
    return err;
}

static cache_t *cache_of(const rv_kv_store_t *s) {
    rv_assert(rv__store_kind(s) == RV__STORE_CACHE);
    return rv__store_opaque(s);
}

void rv__cache_set_send_old_values(rv_kv_store_t *cache, bool on) {
    cache_of(cache)->send_old_values = on;
}

void rv__cache_set_listener(rv_kv_store_t *cache, rv__cache_flush_fn listener, void *opaque) {
    cache_t *c = cache_of(cache);
    c->listener = listener;
    c->opaque = opaque;
}

rv_err_t rv__cache_flush(rv_kv_store_t *cache) {
    cache_t *c = cache_of(cache);
    rv_err_t err = cache_flush(c);
    if (err)
        return err;
    return take_listener_err(c);
}

void rv__cache_drop_key(rv_kv_store_t *cache, const void *key, size_t key_len) {
    cache_t *c = cache_of(cache);
    centry_t *e = find(c, key, key_len, key_hash(key, key_len));
    if (e)
        entry_remove(c, e);
}

void rv__cache_stats(const rv_kv_store_t *cache, rv__cache_stats_t *out) {
    const cache_t *c = cache_of(cache);
    out->bytes = c->bytes;
    out->entries = c->entries;
    out->dirty = c->dirty;
    out->hits = c->hits;
    out->misses = c->misses;
    out->overwrites = c->overwrites;
    out->evictions = c->evictions;
    out->flushes = c->flushes;
}

void rv__cache_discard(rv_kv_store_t *cache) {
    cache_t *c = cache_of(cache);
    while (c->d_head)
        entry_remove(c, c->d_head);
}
