/* dsl/suppress.c: KTable.suppress(), as Kafka Streams'
 * KTableSuppressProcessorSupplier and the InMemoryTimeOrderedKeyValueChangeBuffer
 * it keeps its records in. The public side is the "Suppress" section of
 * rivulet/dsl.h; the Change protocol between KTable nodes is described in
 * dsl/dsl_internal.h.
 *
 * DESIGN
 *
 * Node and store. suppress() adds one processor, KTABLE-SUPPRESS-<n> (or
 * the given name), and its buffer store, KTABLE-SUPPRESS-STATE-STORE-<n>
 * (or "<name>-store"), as Kafka names them. The node's table forwards the
 * Changes its parent sent, later; it keeps the windowed fields of its
 * input, so a suppress of a windowed table is still windowed.
 *
 * Buffer. The buffer is an in-memory store of this file (a user-supplied
 * store to the runtime: the runtime stacks the changelog wrapper on it and
 * restores it as any store). Each buffered key has one entry:
 *
 *     key         the key serialized with the table's key serde. A
 *                 windowed table's key serde is Kafka's windowed serde
 *                 (rv_serde_time_windowed_new(), _session_windowed_new()):
 *                 [inner key][8-byte BE start] for time and sliding
 *                 windows, [inner key][8-byte BE end][8-byte BE start] for
 *                 sessions; when the table does not know its key serde,
 *                 the processor wraps the default one the same way
 *     buffer time the record's timestamp (until_time_limit) or its
 *                 window's end (until_window_closes)
 *     value       Kafka's version-3 buffer changelog value (BufferValue
 *                 plus the buffer time):
 *                   record context: 8-byte timestamp, 8-byte offset,
 *                     4-byte topic length + topic, 4-byte partition,
 *                     4-byte header count, per header 4-byte key length +
 *                     key, 4-byte value length (-1 null) + value
 *                   prior value: 4-byte length (-1 null) + bytes
 *                   old value: 4-byte length + bytes, -1 null, or -2
 *                     "same as the prior value"
 *                   new value: 4-byte length (-1 null) + bytes
 *                   8-byte buffer time
 *                 all integers big-endian. Kafka also tags these records
 *                 with the header v=3; the changelog path of the runtime
 *                 writes no headers, so ours carry none (restoration here
 *                 does not need it: the layout is always version 3).
 *
 * Entries sit in two skip lists: by key (the index) and by [buffer time,
 * key] (the time order eviction walks, Kafka's BufferKey order). An update
 * of a buffered key keeps its place in time order and its prior value
 * (the value the key had before it was first buffered, which the table's
 * value getter shows while the key is held back), as Kafka's cleanPut.
 * The buffer's size counts, per entry, 8 + key bytes + prior + old (when
 * it differs from prior) + new + the record context's estimate (16 + topic
 * + 4 + header keys and values), as Kafka's computeRecordSize, so
 * max_bytes behaves alike.
 *
 * Changelog. As Kafka's buffer, changes are logged at flush (commit), not
 * on each update: the processor marks keys dirty, and the store's flush
 * writes each dirty key's entry (or a tombstone once evicted) through the
 * store stack above it, which logs it. The buffer then ignores those
 * writes (they are its own state already, flagged by self_write);
 * restoration writes under the changelog wrapper straight into the buffer,
 * which decodes each value and rebuilds the entry. A crash therefore loses
 * nothing that was committed: the input offsets are committed after the
 * flush, and what came after is processed again.
 *
 * Failing. A full buffer that must shut down fails the record with
 * Kafka's message, written to the context's last error
 * (rv__dsl_fail_record(), rv__context_set_error() of
 * runtime/context_internal.h) so that the task's failure reports it.
 *
 * Emission. Stream time is the highest timestamp the processor has seen
 * (Kafka's observedStreamTime, per processor instance, starting over after
 * a restart). After each record, entries whose buffer time <= stream time
 * - duration are forwarded oldest first, duration being time_limit_ms or,
 * for until_window_closes, the windows' grace (for sessions grace + gap,
 * as Kafka's GraphGraceSearchUtil). Then, over max_records or max_bytes,
 * emit-early forwards oldest entries until under, and shut-down fails the
 * task with Kafka's message. A forwarded entry carries the timestamp and
 * headers of the record that last updated it. Final results drop
 * tombstones (Kafka's safeToDropTombstones); until_time_limit forwards
 * them.
 *
 * View. A table-table join reading the suppressed table sees, for a key
 * held in the buffer, its prior value, and otherwise the parent's row
 * (Kafka's view()). The buffer store's get() answers exactly that, in the
 * table-store layout (8-byte timestamp -1 + value), reading the parent's
 * store for keys not buffered; so the suppressed table's getter is a plain
 * store getter on the buffer store. This needs the parent to keep a store
 * (a source table or a materialized node); otherwise the suppressed table
 * cannot be joined. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/logger.h"
#include "dsl/dsl_internal.h"
#include "runtime/context_internal.h"
#include "state/skiplist.h"
#include "state/store_internal.h"

#define NAME_MAX_LEN 512
#define SUPPRESS_PREFIX "KTABLE-SUPPRESS-"

/* Kafka's BufferValue sentinels. */
#define NULL_VALUE_SENTINEL (-1)
#define OLD_PREV_DUPLICATE_VALUE_SENTINEL (-2)

/* ======================================================================
 * Configuration (shared memory)
 * ====================================================================== */

typedef struct sup_cfg_s {
    rv__ktable_flags_t flags; /* the output table's (old values always flow) */
    const char *node;
    const char *store;
    const char *parent_store;                  /* the parent's store, for the view; or NULL */
    const rv_serde_t *key_serde, *value_serde; /* NULL: the app's defaults */
    int window_kind;                           /* of the keys: RV__WINDOW_* */
    int64_t window_size_ms;
    bool final_results;  /* until_window_closes: buffer by window end, drop tombstones */
    int64_t duration_ms; /* how long past its buffer time an entry waits */
    int64_t max_records; /* INT64_MAX: unbounded */
    int64_t max_bytes;   /* INT64_MAX: unbounded */
    bool shut_down;      /* when full: fail, else emit early */
    bool logging;
} sup_cfg_t;

/* ======================================================================
 * The buffer (the store's opaque)
 * ====================================================================== */

typedef struct entry_s {
    int64_t time;
    uint8_t *blob; /* the changelog value, see DESIGN */
    size_t blob_len;
    size_t key_len;
    /* Offsets into blob of the parts; length -1 = null. */
    int64_t rec_ts;
    size_t ctx_len; /* the record context's bytes */
    size_t prior_off, old_off, new_off;
    int32_t prior_len, old_len, new_len;
    int64_t size; /* Kafka's computeRecordSize */
} entry_t;

typedef struct buffer_s {
    rv__skl_t index;  /* key -> entry_t * */
    rv__skl_t sorted; /* [time][key] -> entry_t * (the same) */
    rv__skl_t dirty;  /* keys changed since the last flush (values unused) */
    int64_t mem_size;
    bool logging;
    bool self_write;       /* a write through the stack of what the buffer holds */
    rv_kv_store_t *stack;  /* the task's stack over this store (processor's) */
    rv_kv_store_t *parent; /* the parent's store, for the view */
} buffer_t;

static void entry_free(entry_t *e) {
    if (e) {
        free(e->blob);
        free(e);
    }
}

/* [time with the sign bit flipped, big-endian][key]: byte order = (time,
 * key) order, as Kafka's BufferKey.compareTo. */
static uint8_t *sorted_key(int64_t time, const void *key, size_t key_len, size_t *len) {
    uint8_t *k = malloc(8 + key_len + 1);
    if (!k)
        return NULL;
    rv__wbe64(k, (uint64_t)time ^ 0x8000000000000000ULL);
    if (key_len)
        memcpy(k + 8, key, key_len);
    *len = 8 + key_len;
    return k;
}

static int32_t rd32(const uint8_t *p) {
    return (int32_t)rv__be32(p);
}

/* Parses a changelog value into e's offsets; false when malformed. */
static bool parse_blob(entry_t *e) {
    const uint8_t *p = e->blob;
    size_t n = e->blob_len, o = 0;
#define NEED(k)                  \
    do {                         \
        if (n - o < (size_t)(k)) \
            return false;        \
    } while (0)
    NEED(20);
    e->rec_ts = (int64_t)rv__be64(p);
    o = 16;
    int32_t tl = rd32(p + o);
    o += 4;
    if (tl < 0)
        return false;
    NEED(tl);
    o += (size_t)tl;
    NEED(8);
    o += 4; /* partition */
    int32_t hc = rd32(p + o);
    o += 4;
    if (hc < 0)
        return false;
    for (int32_t i = 0; i < hc; i++) {
        NEED(4);
        int32_t kl = rd32(p + o);
        o += 4;
        if (kl < 0)
            return false;
        NEED(kl);
        o += (size_t)kl;
        NEED(4);
        int32_t vl = rd32(p + o);
        o += 4;
        if (vl > 0) {
            NEED(vl);
            o += (size_t)vl;
        }
    }
    e->ctx_len = o;
    /* prior */
    NEED(4);
    e->prior_len = rd32(p + o);
    o += 4;
    e->prior_off = o;
    if (e->prior_len < -1)
        return false;
    if (e->prior_len > 0) {
        NEED(e->prior_len);
        o += (size_t)e->prior_len;
    }
    /* old */
    NEED(4);
    int32_t ol = rd32(p + o);
    o += 4;
    if (ol == OLD_PREV_DUPLICATE_VALUE_SENTINEL) {
        e->old_off = e->prior_off;
        e->old_len = e->prior_len;
    } else {
        if (ol < -1)
            return false;
        e->old_off = o;
        e->old_len = ol;
        if (ol > 0) {
            NEED(ol);
            o += (size_t)ol;
        }
    }
    /* new */
    NEED(4);
    e->new_len = rd32(p + o);
    o += 4;
    e->new_off = o;
    if (e->new_len < -1)
        return false;
    if (e->new_len > 0) {
        NEED(e->new_len);
        o += (size_t)e->new_len;
    }
    NEED(8);
    e->time = (int64_t)rv__be64(p + o);
    o += 8;
#undef NEED
    return o == n;
}

/* Kafka's ProcessorRecordContext.residentMemorySizeEstimate() from the
 * serialized context: 8 + 8 + topic + 4 + header keys and values. */
static int64_t context_estimate(const entry_t *e) {
    const uint8_t *p = e->blob;
    size_t o = 16;
    int32_t tl = rd32(p + o);
    int64_t size = 8 + 8 + tl + 4;
    o += 4 + (size_t)tl + 4;
    int32_t hc = rd32(p + o);
    o += 4;
    for (int32_t i = 0; i < hc; i++) {
        int32_t kl = rd32(p + o);
        o += 4 + (size_t)kl;
        int32_t vl = rd32(p + o);
        o += 4;
        size += kl;
        if (vl > 0) {
            size += vl;
            o += (size_t)vl;
        }
    }
    return size;
}

static bool same_value(const entry_t *e, size_t a_off, int32_t a_len, size_t b_off, int32_t b_len) {
    if (a_len != b_len)
        return false;
    if (a_len <= 0)
        return true;
    return !memcmp(e->blob + a_off, e->blob + b_off, (size_t)a_len);
}

static int64_t entry_size(const entry_t *e) {
    int64_t size = 8 + (int64_t)e->key_len;
    if (e->prior_len > 0)
        size += e->prior_len;
    if (e->old_len > 0 && !same_value(e, e->prior_off, e->prior_len, e->old_off, e->old_len))
        size += e->old_len;
    if (e->new_len > 0)
        size += e->new_len;
    return size + context_estimate(e);
}

/* Removes key's entry (if any) from both lists and frees it. */
static void buffer_remove(buffer_t *bf, const void *key, size_t key_len) {
    entry_t *e = rv__skl_remove(&bf->index, key, key_len);
    if (!e)
        return;
    size_t sl;
    uint8_t *sk = sorted_key(e->time, key, key_len, &sl);
    if (sk) {
        rv__skl_remove(&bf->sorted, sk, sl);
        free(sk);
    }
    bf->mem_size -= e->size;
    entry_free(e);
}

/* Kafka's cleanPut(): a new key takes its place in time order; an update
 * of a buffered key replaces the value where the key already is. Takes
 * ownership of e (freed on failure). */
static rv_err_t buffer_put(buffer_t *bf, const void *key, size_t key_len, entry_t *e) {
    e->key_len = key_len;
    e->size = entry_size(e);
    rv__skl_node_t *node;
    int created = 0;
    rv_err_t err = rv__skl_upsert(&bf->index, key, key_len, &node, &created);
    if (err) {
        entry_free(e);
        return err;
    }
    if (!created) {
        entry_t *prev = node->val;
        /* The key keeps its place: its logged buffer time too. */
        e->time = prev->time;
        rv__wbe64(e->blob + e->blob_len - 8, (uint64_t)prev->time);
        size_t sl;
        uint8_t *sk = sorted_key(prev->time, key, key_len, &sl);
        if (!sk) {
            entry_free(e);
            return RV_ERR__NOMEM;
        }
        rv__skl_node_t *sn = rv__skl_find(&bf->sorted, sk, sl);
        free(sk);
        rv_assert(sn != NULL);
        sn->val = e;
        node->val = e;
        bf->mem_size += e->size - prev->size;
        entry_free(prev);
        return RV_ERR_NO_ERROR;
    }
    size_t sl;
    uint8_t *sk = sorted_key(e->time, key, key_len, &sl);
    rv__skl_node_t *sn = NULL;
    if (sk)
        err = rv__skl_upsert(&bf->sorted, sk, sl, &sn, &created);
    free(sk);
    if (!sk || err) {
        rv__skl_remove(&bf->index, key, key_len);
        entry_free(e);
        return sk ? err : RV_ERR__NOMEM;
    }
    sn->val = e;
    node->val = e;
    bf->mem_size += e->size;
    return RV_ERR_NO_ERROR;
}

static rv_err_t mark_dirty(buffer_t *bf, const void *key, size_t key_len) {
    if (!bf->logging)
        return RV_ERR_NO_ERROR;
    rv__skl_node_t *n;
    int created;
    return rv__skl_upsert(&bf->dirty, key, key_len, &n, &created);
}

/* ---- The store's operations ---- */

/* The view (see DESIGN): the prior value of a buffered key, else the
 * parent's row. */
static rv_err_t buf_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    buffer_t *bf = opaque;
    rv__skl_node_t *n = rv__skl_find(&bf->index, key, key_len);
    if (!n)
        return bf->parent ? rv_kv_store_get(out, bf->parent, key, key_len) : RV_ERR__NOENT;
    const entry_t *e = n->val;
    if (e->prior_len < 0)
        return RV_ERR__NOENT;
    uint8_t *v = malloc(8 + (size_t)e->prior_len + 1);
    if (!v)
        return RV_ERR__NOMEM;
    rv__wbe64(v, (uint64_t)-1); /* Kafka's RecordQueue.UNKNOWN */
    if (e->prior_len)
        memcpy(v + 8, e->blob + e->prior_off, (size_t)e->prior_len);
    out->data = v;
    out->len = 8 + (size_t)e->prior_len;
    return RV_ERR_NO_ERROR;
}

/* Restoration (and the buffer's own logged writes, ignored). */
static rv_err_t buf_put(void *opaque, const void *key, size_t key_len, const void *value,
                        size_t value_len) {
    buffer_t *bf = opaque;
    if (bf->self_write)
        return RV_ERR_NO_ERROR;
    if (!value) {
        buffer_remove(bf, key, key_len);
        return RV_ERR_NO_ERROR;
    }
    entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->blob = malloc(value_len ? value_len : 1))) {
        free(e);
        return RV_ERR__NOMEM;
    }
    memcpy(e->blob, value, value_len);
    e->blob_len = value_len;
    if (!parse_blob(e)) {
        rv__log_err("dsl",
                    "Restoring apparently invalid suppression buffer changelog record (%zu bytes)",
                    value_len);
        entry_free(e);
        return RV_ERR__BAD_MSG;
    }
    /* A restored record replaces the key's entry and its place in time. */
    buffer_remove(bf, key, key_len);
    return buffer_put(bf, key, key_len, e);
}

/* Iterators copy the entries in range when opened, so the buffer may
 * change (entries evicted and freed) while one is open; they serve tools
 * and tests, never the hot path. */
typedef struct buf_iter_s {
    uint8_t **keys, **vals;
    size_t *klen, *vlen;
    size_t cnt, pos;
} buf_iter_t;

static void buf_iter_close(void *iter) {
    buf_iter_t *it = iter;
    if (!it)
        return;
    for (size_t i = 0; i < it->cnt; i++) {
        free(it->keys[i]);
        free(it->vals[i]);
    }
    free(it->keys);
    free(it->vals);
    free(it->klen);
    free(it->vlen);
    free(it);
}

static rv_err_t buf_iter_open(void *opaque, void **iter, const void *from, size_t from_len,
                              const void *to, size_t to_len, int reverse) {
    buffer_t *bf = opaque;
    buf_iter_t *it = calloc(1, sizeof *it);
    size_t cap = bf->index.count ? bf->index.count : 1;
    if (!it || !(it->keys = calloc(cap, sizeof *it->keys)) ||
        !(it->vals = calloc(cap, sizeof *it->vals)) || !(it->klen = calloc(cap, sizeof(size_t))) ||
        !(it->vlen = calloc(cap, sizeof(size_t)))) {
        buf_iter_close(it);
        return RV_ERR__NOMEM;
    }
    for (rv__skl_node_t *n = from ? rv__skl_seek(&bf->index, from, from_len)
                                  : rv__skl_first(&bf->index);
         n; n = n->next[0]) {
        if (to && rv__key_cmp(n->key, n->key_len, to, to_len) > 0)
            break;
        const entry_t *e = n->val;
        size_t i = it->cnt;
        it->keys[i] = malloc(n->key_len + 1);
        it->vals[i] = malloc(e->blob_len + 1);
        if (!it->keys[i] || !it->vals[i]) {
            free(it->keys[i]);
            free(it->vals[i]);
            buf_iter_close(it);
            return RV_ERR__NOMEM;
        }
        memcpy(it->keys[i], n->key, n->key_len);
        memcpy(it->vals[i], e->blob, e->blob_len);
        it->klen[i] = n->key_len;
        it->vlen[i] = e->blob_len;
        it->cnt++;
    }
    if (reverse)
        for (size_t i = 0, j = it->cnt ? it->cnt - 1 : 0; i < j; i++, j--) {
            uint8_t *tk = it->keys[i], *tv = it->vals[i];
            size_t tkl = it->klen[i], tvl = it->vlen[i];
            it->keys[i] = it->keys[j];
            it->vals[i] = it->vals[j];
            it->klen[i] = it->klen[j];
            it->vlen[i] = it->vlen[j];
            it->keys[j] = tk;
            it->vals[j] = tv;
            it->klen[j] = tkl;
            it->vlen[j] = tvl;
        }
    *iter = it;
    return RV_ERR_NO_ERROR;
}

static int buf_iter_next(void *iter, const void **key, size_t *key_len, const void **value,
                         size_t *value_len) {
    buf_iter_t *it = iter;
    if (it->pos >= it->cnt)
        return 0;
    *key = it->keys[it->pos];
    *key_len = it->klen[it->pos];
    *value = it->vals[it->pos];
    *value_len = it->vlen[it->pos];
    it->pos++;
    return 1;
}

static int64_t buf_count(void *opaque) {
    buffer_t *bf = opaque;
    return (int64_t)bf->index.count;
}

/* Logs the dirty keys through the stack (see DESIGN). */
static rv_err_t buf_flush(void *opaque) {
    buffer_t *bf = opaque;
    if (!bf->logging || !bf->stack || !bf->dirty.count)
        return RV_ERR_NO_ERROR;
    rv_err_t first = RV_ERR_NO_ERROR;
    bf->self_write = true;
    for (rv__skl_node_t *d = rv__skl_first(&bf->dirty); d; d = d->next[0]) {
        rv__skl_node_t *n = rv__skl_find(&bf->index, d->key, d->key_len);
        rv_err_t err;
        if (n) {
            const entry_t *e = n->val;
            err = rv_kv_store_put(bf->stack, d->key, d->key_len, e->blob, e->blob_len);
        } else {
            err = rv_kv_store_delete(NULL, bf->stack, d->key, d->key_len);
        }
        if (err && !first)
            first = err;
    }
    bf->self_write = false;
    rv__skl_free(&bf->dirty);
    rv_err_t err = rv__skl_init(&bf->dirty);
    return first ? first : err;
}

static void buf_close(void *opaque) {
    buffer_t *bf = opaque;
    for (rv__skl_node_t *n = rv__skl_first(&bf->index); n; n = n->next[0])
        entry_free(n->val);
    rv__skl_free(&bf->index);
    rv__skl_free(&bf->sorted);
    rv__skl_free(&bf->dirty);
    free(bf);
}

static const rv_kv_store_ops_t buffer_ops = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 0,
    .get = buf_get,
    .put = buf_put,
    .iter_open = buf_iter_open,
    .iter_next = buf_iter_next,
    .iter_close = buf_iter_close,
    .approximate_num_entries = buf_count,
    .flush = buf_flush,
    .close = buf_close,
};

static rv_err_t buffer_open(rv_kv_store_t **out, const char *name, const char *task_dir,
                            void *opaque, char *errstr, size_t errstr_size) {
    const sup_cfg_t *cfg = opaque;
    (void)task_dir;
    buffer_t *bf = calloc(1, sizeof *bf);
    if (!bf || rv__skl_init(&bf->index) || rv__skl_init(&bf->sorted) || rv__skl_init(&bf->dirty)) {
        if (bf) {
            rv__skl_free(&bf->index);
            rv__skl_free(&bf->sorted);
            rv__skl_free(&bf->dirty);
            free(bf);
        }
        snprintf(errstr, errstr_size, "Out of memory opening suppression buffer %s", name);
        return RV_ERR__NOMEM;
    }
    bf->logging = cfg->logging;
    rv_err_t err = rv_kv_store_new_custom(out, &buffer_ops, bf, name);
    if (err) {
        buf_close(bf);
        snprintf(errstr, errstr_size, "Cannot open suppression buffer %s: %s", name,
                 rv_err_str(err));
    }
    return err;
}

/* The buffer under a task's store stack, or NULL. */
static buffer_t *buffer_of(rv_kv_store_t *stack) {
    rv_kv_store_t *s = stack;
    while (s && rv__store_kind(s) != RV__STORE_INNER)
        s = rv__store_inner(s);
    if (!s || rv__store_ops(s) != &buffer_ops)
        return NULL;
    return rv__store_opaque(s);
}

/* ======================================================================
 * The processor
 * ====================================================================== */

typedef struct sup_proc_s {
    const sup_cfg_t *cfg;
    rv_processor_context_t *ctx;
    buffer_t *buf;
    const rv_serde_t *ks, *vs; /* resolved */
    rv_serde_t *own_ks;        /* a windowed serde made over the default key serde */
    int64_t observed;          /* Kafka's observedStreamTime */
    rv__buf_t scratch;
} sup_proc_t;

static rv_err_t sup_init(rv_processor_context_t *ctx, void *state) {
    sup_proc_t *p = state;
    const sup_cfg_t *c = p->cfg;
    p->ctx = ctx;
    p->observed = -1;
    rv__buf_init(&p->scratch);
    rv_kv_store_t *stack = rv_processor_context_get_state_store(ctx, c->store);
    if (!stack)
        return RV_ERR__INVALID_ARG;
    p->buf = buffer_of(stack);
    if (!p->buf)
        return rv__dsl_fail_record(p->ctx, RV_ERR__INVALID_ARG,
                                   "Store %s is not a suppression buffer", c->store);
    p->buf->stack = stack;
    /* The view's fallback: the parent's store of this task (Kafka's
     * parent value getter). It is not connected to this node, as in
     * Kafka, whose describe() lists only the buffer here; the getter
     * machinery connected the readers of the view. */
    p->buf->parent = c->parent_store ? rv__context_task_store(ctx, c->parent_store) : NULL;
    p->ks = rv__dsl_serde(c->key_serde, ctx, true);
    p->vs = rv__dsl_serde(c->value_serde, ctx, false);
    /* A windowed table whose key serde was not known has the default
     * (inner) key serde only: wrap it as Kafka's windowed serdes. */
    if (p->ks && !c->key_serde && c->window_kind != RV__WINDOW_NONE) {
        p->own_ks = c->window_kind == RV__WINDOW_SESSION
                        ? rv_serde_session_windowed_new(p->ks)
                        : rv_serde_time_windowed_new(p->ks, c->window_size_ms);
        if (!p->own_ks)
            return RV_ERR__NOMEM;
        p->ks = p->own_ks;
    }
    if (!p->ks || !p->vs)
        return rv__dsl_fail_record(p->ctx, RV_ERR__INVALID_ARG,
                                   "Suppression %s has no serde: set one in the DSL call or "
                                   "default.key.serde / default.value.serde",
                                   c->node);
    return RV_ERR_NO_ERROR;
}

static void sup_close(void *state) {
    sup_proc_t *p = state;
    if (!p)
        return;
    if (p->buf) {
        p->buf->stack = NULL;
        p->buf->parent = NULL;
    }
    rv__buf_free(&p->scratch);
    rv_serde_destroy(p->own_ks);
    free(p);
}

/* Serializes the record's key into p->scratch (p->ks is a windowed serde
 * for windowed keys, see sup_init()). */
static rv_err_t key_serialize(sup_proc_t *p, const void *key, int32_t key_len) {
    char msg[512] = "";
    void *kb = NULL;
    int32_t kl = 0;
    rv_err_t err = rv_serde_serialize(p->ks, &kb, &kl, NULL, key, key_len, msg, sizeof msg);
    if (err)
        return rv__dsl_fail_record(p->ctx, err, "Failed to serialize the key of suppression %s: %s",
                                   p->cfg->node, msg);
    p->scratch.len = 0;
    if (kb && kl > 0)
        err = rv__buf_append(&p->scratch, kb, (size_t)kl);
    rv_serde_free(p->ks, kb);
    return err;
}

static rv_err_t put_nullable(rv__buf_t *b, const void *v, int32_t len) {
    if (!v)
        return rv__buf_put_be32(b, (uint32_t)NULL_VALUE_SENTINEL);
    rv_err_t err = rv__buf_put_be32(b, (uint32_t)len);
    return err ? err : rv__buf_append(b, v, (size_t)len);
}

/* Buffers the record's Change under buffer time `time` (Kafka's
 * InMemoryTimeOrderedKeyValueChangeBuffer.put()). */
static rv_err_t buffer_record(sup_proc_t *p, const rv_processor_record_t *rec, int64_t time) {
    const sup_cfg_t *c = p->cfg;
    buffer_t *bf = p->buf;
    const rv__change_t *ch = rec->value;
    rv_err_t err = key_serialize(p, rec->key, rec->key_len);
    if (err)
        return err;
    const void *key = p->scratch.data;
    size_t key_len = p->scratch.len;

    char msg[512] = "";
    void *nb = NULL, *ob = NULL;
    int32_t nl = -1, ol = -1;
    if ((err = rv_serde_serialize(p->vs, &nb, &nl, NULL, ch->new_value,
                                  ch->new_value ? ch->new_len : -1, msg, sizeof msg)) ||
        (err = rv_serde_serialize(p->vs, &ob, &ol, NULL, ch->old_value,
                                  ch->old_value ? ch->old_len : -1, msg, sizeof msg))) {
        rv_serde_free(p->vs, nb);
        return rv__dsl_fail_record(p->ctx, err, "Failed to serialize a value of suppression %s: %s",
                                   c->node, msg);
    }

    /* The prior value: the buffered entry's, else this change's old value. */
    rv__skl_node_t *n = rv__skl_find(&bf->index, key, key_len);
    const entry_t *prev = n ? n->val : NULL;
    const void *prior = prev ? (prev->prior_len >= 0 ? prev->blob + prev->prior_off : NULL) : ob;
    int32_t prior_len = prev ? prev->prior_len : (ob ? ol : -1);

    const char *topic = NULL;
    int32_t partition = -1;
    int64_t offset = -1;
    if (!rv_processor_context_record_metadata(p->ctx, &topic, &partition, &offset))
        topic = NULL;
    size_t hcnt = rec->header_cnt;

    rv__buf_t b;
    rv__buf_init(&b);
    size_t tlen = topic ? strlen(topic) : 0;
    err = rv__buf_put_be64(&b, (uint64_t)rec->timestamp);
    if (!err)
        err = rv__buf_put_be64(&b, (uint64_t)offset);
    if (!err)
        err = rv__buf_put_be32(&b, (uint32_t)tlen);
    if (!err && tlen)
        err = rv__buf_append(&b, topic, tlen);
    if (!err)
        err = rv__buf_put_be32(&b, (uint32_t)partition);
    if (!err)
        err = rv__buf_put_be32(&b, (uint32_t)hcnt);
    for (size_t i = 0; !err && i < hcnt; i++) {
        const rv_header_t *h = &rec->headers[i];
        size_t hk = h->key ? strlen(h->key) : 0;
        err = rv__buf_put_be32(&b, (uint32_t)hk);
        if (!err && hk)
            err = rv__buf_append(&b, h->key, hk);
        if (!err)
            err = put_nullable(&b, h->value, h->value_len);
    }
    if (!err)
        err = put_nullable(&b, prior, prior_len);
    if (!err) {
        if (!ob)
            err = rv__buf_put_be32(&b, (uint32_t)NULL_VALUE_SENTINEL);
        else if (prior && prior_len == ol && !memcmp(prior, ob, (size_t)ol))
            err = rv__buf_put_be32(&b, (uint32_t)OLD_PREV_DUPLICATE_VALUE_SENTINEL);
        else
            err = put_nullable(&b, ob, ol);
    }
    if (!err)
        err = put_nullable(&b, nb, nl);
    if (!err)
        err = rv__buf_put_be64(&b, (uint64_t)time);
    rv_serde_free(p->vs, nb);
    rv_serde_free(p->vs, ob);
    entry_t *e = err ? NULL : calloc(1, sizeof *e);
    if (!e) {
        rv__buf_free(&b);
        return err ? err : RV_ERR__NOMEM;
    }
    e->blob = b.data;
    e->blob_len = b.len;
    if (!parse_blob(e)) {
        entry_free(e);
        return rv__dsl_fail_record(p->ctx, RV_ERR__FAIL,
                                   "Suppression %s made a malformed buffer record", c->node);
    }
    err = buffer_put(bf, key, key_len, e);
    return err ? err : mark_dirty(bf, key, key_len);
}

/* Forwards the oldest entry (unless it is a tombstone final results drop)
 * and removes it from the buffer (Kafka's emit() inside evictWhile()). */
static rv_err_t emit_oldest(sup_proc_t *p) {
    const sup_cfg_t *c = p->cfg;
    buffer_t *bf = p->buf;
    rv__skl_node_t *sn = rv__skl_first(&bf->sorted);
    const entry_t *e = sn->val;
    const uint8_t *k = sn->key + 8;
    size_t kl = sn->key_len - 8;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (e->new_len >= 0 || !c->final_results) {
        void *key = NULL, *nv = NULL, *ov = NULL;
        int32_t key_len = -1, nl = -1, ol = -1;
        rv_header_t *hs = NULL;
        char **hkeys = NULL;
        int32_t hc = 0;
        char msg[512] = "";
        err = rv_serde_deserialize(p->ks, &key, &key_len, NULL, k, (int32_t)kl, msg, sizeof msg);
        if (!err && (err = rv_serde_deserialize(p->vs, &nv, &nl, NULL,
                                                e->new_len >= 0 ? e->blob + e->new_off : NULL,
                                                e->new_len, msg, sizeof msg)) == 0)
            err = rv_serde_deserialize(p->vs, &ov, &ol, NULL,
                                       e->old_len >= 0 ? e->blob + e->old_off : NULL, e->old_len,
                                       msg, sizeof msg);
        if (err && msg[0])
            err = rv__dsl_fail_record(
                p->ctx, err, "Failed to deserialize a buffered record of suppression %s: %s",
                c->node, msg);
        /* The buffered record's headers. */
        if (!err) {
            const uint8_t *b = e->blob;
            size_t o = 16;
            o += 4 + (size_t)rd32(b + o) + 4;
            hc = rd32(b + o);
            o += 4;
            if (hc > 0) {
                hs = calloc((size_t)hc, sizeof *hs);
                hkeys = calloc((size_t)hc, sizeof *hkeys);
                if (!hs || !hkeys)
                    err = RV_ERR__NOMEM;
            }
            for (int32_t i = 0; !err && i < hc; i++) {
                int32_t hkl = rd32(b + o);
                o += 4;
                if (!(hkeys[i] = malloc((size_t)hkl + 1))) {
                    err = RV_ERR__NOMEM;
                    break;
                }
                memcpy(hkeys[i], b + o, (size_t)hkl);
                hkeys[i][hkl] = '\0';
                o += (size_t)hkl;
                int32_t hvl = rd32(b + o);
                o += 4;
                hs[i].key = hkeys[i];
                hs[i].value = hvl >= 0 ? b + o : NULL;
                hs[i].value_len = hvl >= 0 ? hvl : -1;
                if (hvl > 0)
                    o += (size_t)hvl;
            }
        }
        if (!err) {
            rv__change_t ch = {nv, nv ? nl : -1, ov, ov ? ol : -1};
            rv_processor_record_t fwd = {0};
            fwd.key = key;
            fwd.key_len = key ? key_len : -1;
            fwd.value = &ch;
            fwd.value_len = (int32_t)sizeof ch;
            fwd.timestamp = e->rec_ts;
            fwd.headers = hc > 0 ? hs : NULL;
            fwd.header_cnt = hc > 0 ? (size_t)hc : 0;
            err = rv_processor_context_forward(p->ctx, &fwd);
        }
        for (int32_t i = 0; hkeys && i < hc; i++)
            free(hkeys[i]);
        free(hkeys);
        free(hs);
        rv_serde_free(p->ks, key);
        rv_serde_free(p->vs, nv);
        rv_serde_free(p->vs, ov);
        if (err)
            return err;
    }
    /* Copy the key out: removing frees the node that holds it. */
    uint8_t stack_key[256];
    uint8_t *key = kl <= sizeof stack_key ? stack_key : malloc(kl);
    if (!key)
        return RV_ERR__NOMEM;
    memcpy(key, k, kl);
    buffer_remove(bf, key, kl);
    err = mark_dirty(bf, key, kl);
    if (key != stack_key)
        free(key);
    return err;
}

static bool over_capacity(const sup_proc_t *p) {
    return (int64_t)p->buf->index.count > p->cfg->max_records ||
           p->buf->mem_size > p->cfg->max_bytes;
}

/* Kafka's enforceConstraints(). */
static rv_err_t enforce(sup_proc_t *p) {
    const sup_cfg_t *c = p->cfg;
    buffer_t *bf = p->buf;
    /* expiry = stream time - duration (saturating for huge limits). */
    bool saturated = p->observed < INT64_MIN + c->duration_ms;
    int64_t expiry = saturated ? INT64_MIN : p->observed - c->duration_ms;
    rv_err_t err;
    while (!saturated && bf->sorted.count) {
        const entry_t *e = rv__skl_first(&bf->sorted)->val;
        if (e->time > expiry)
            break;
        if ((err = emit_oldest(p)))
            return err;
    }
    if (!over_capacity(p))
        return RV_ERR_NO_ERROR;
    if (c->shut_down)
        return rv__dsl_fail_record(p->ctx, RV_ERR__STATE,
                                   "%s buffer exceeded its max capacity. Currently [%zu/%" PRId64
                                   "] records and [%" PRId64 "/%" PRId64 "] bytes.",
                                   c->node, bf->index.count, c->max_records, bf->mem_size,
                                   c->max_bytes);
    while (bf->sorted.count && over_capacity(p))
        if ((err = emit_oldest(p)))
            return err;
    return RV_ERR_NO_ERROR;
}

static rv_err_t sup_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                            void *state) {
    sup_proc_t *p = state;
    (void)ctx;
    if (rec->timestamp > p->observed)
        p->observed = rec->timestamp;
    int64_t time = rec->timestamp;
    if (p->cfg->final_results) {
        if (!rec->key || rec->key_len != (int32_t)sizeof(rv_windowed_t))
            return rv__dsl_fail_record(p->ctx, RV_ERR__INVALID_ARG,
                                       "Suppression %s received a key that is not windowed",
                                       p->cfg->node);
        time = ((const rv_windowed_t *)rec->key)->end;
    }
    rv_err_t err = buffer_record(p, rec, time);
    return err ? err : enforce(p);
}

static rv_err_t sup_get(rv_processor_t *out, void *cfg) {
    return rv__dsl_processor_new(out, sizeof(sup_proc_t), cfg, sup_init, sup_process, sup_close);
}

/* ======================================================================
 * KTable.suppress()
 * ====================================================================== */

/* Kafka's GraphGraceSearchUtil.findAndVerifyWindowGrace(): the nearest
 * windowed table up the chain (the larger grace of a join's two sides).
 * Returns it, or NULL with the chain of node names walked in `chain`. */
static const rv_ktable_t *find_windowed(const rv_ktable_t *t, int64_t *grace) {
    if (!t)
        return NULL;
    if (t->window_kind != RV__WINDOW_NONE) {
        *grace =
            t->window_grace_ms + (t->window_kind == RV__WINDOW_SESSION ? t->window_size_ms : 0);
        return t;
    }
    int64_t g1 = -1, g2 = -1;
    const rv_ktable_t *w1 = find_windowed(t->parent, &g1);
    const rv_ktable_t *w2 = t->parent2 ? find_windowed(t->parent2, &g2) : NULL;
    if (!w1 || (t->parent2 && !w2))
        return NULL;
    *grace = g1 > g2 ? g1 : g2;
    return w1;
}

/* Java's Duration.toString() of ms: PT0S, PT0.002S, PT15M, PT1H30M. */
static const char *java_duration(char *out, size_t size, int64_t ms) {
    int64_t s = ms / 1000, frac = ms % 1000;
    int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    size_t n = (size_t)snprintf(out, size, "PT");
    if (h && n < size)
        n += (size_t)snprintf(out + n, size - n, "%" PRId64 "H", h);
    if (m && n < size)
        n += (size_t)snprintf(out + n, size - n, "%" PRId64 "M", m);
    if ((sec || frac || (!h && !m)) && n < size) {
        n += (size_t)snprintf(out + n, size - n, "%" PRId64, sec);
        if (frac && n < size) {
            char f[8];
            snprintf(f, sizeof f, "%03" PRId64, frac);
            for (int i = 2; i > 0 && f[i] == '0'; i--)
                f[i] = '\0';
            n += (size_t)snprintf(out + n, size - n, ".%s", f);
        }
        if (n < size)
            snprintf(out + n, size - n, "S");
    }
    return out;
}

static void chain_of(const rv_ktable_t *t, char *out, size_t size) {
    if (!t) {
        out[0] = '\0';
        return;
    }
    chain_of(t->parent, out, size);
    size_t n = strlen(out);
    snprintf(out + n, size - n, "%s%s", n ? "->" : "", t->node);
}

rv_ktable_t *rv_ktable_suppress(rv_ktable_t *t, const rv_suppressed_t *s) {
    if (!t || t->b->err || !rv__dsl_require(t->b, s != NULL, "suppressed"))
        return NULL;
    rv_streams_builder_t *b = t->b;
    if (s->version != RV_SUPPRESSED_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_suppressed_t version %d", s->version);
        return NULL;
    }
    if (s->kind != RV_SUPPRESS_UNTIL_WINDOW_CLOSES && s->kind != RV_SUPPRESS_UNTIL_TIME_LIMIT) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Custom subclasses of Suppressed are not supported.");
        return NULL;
    }
    if (s->kind == RV_SUPPRESS_UNTIL_TIME_LIMIT && s->time_limit_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "time limit must not be negative");
        return NULL;
    }
    if (s->max_records < 0 || s->max_bytes < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "buffer limits must not be negative");
        return NULL;
    }
    bool unbounded = s->max_records == 0 && s->max_bytes == 0;
    if (s->kind == RV_SUPPRESS_UNTIL_WINDOW_CLOSES && !unbounded &&
        s->when_full != RV_BUFFER_FULL_SHUT_DOWN) {
        /* Kafka's untilWindowCloses() takes a StrictBufferConfig only:
         * emitting early would break the one-final-result promise. */
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "until_window_closes needs a strict buffer: unbounded or shut down when "
                     "full");
        return NULL;
    }
    if (s->name && rv__dsl_check_name(b, s->name))
        return NULL;

    /* The window the table's keys come from and the grace to wait. */
    const rv_ktable_t *win = NULL;
    int64_t grace = 0;
    for (const rv_ktable_t *x = t; x; x = x->parent)
        if (x->window_kind != RV__WINDOW_NONE) {
            win = x;
            break;
        }
    if (s->kind == RV_SUPPRESS_UNTIL_WINDOW_CLOSES) {
        if (!find_windowed(t, &grace)) {
            char chain[2048];
            chain_of(t, chain, sizeof chain);
            rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                         "Invalid topology: Window close time is only defined for windowed "
                         "computations. Got [%s].",
                         chain);
            return NULL;
        }
        win = find_windowed(t, &grace);
    }

    char node[NAME_MAX_LEN], store[NAME_MAX_LEN];
    if (s->name) {
        rv__dsl_name(b, s->name, NULL, node, sizeof node);
        snprintf(store, sizeof store, "%s-store", s->name);
    } else {
        rv__dsl_name(b, NULL, SUPPRESS_PREFIX, node, sizeof node);
        rv__dsl_store_name(b, SUPPRESS_PREFIX, store, sizeof store);
    }
    if (s->kind == RV_SUPPRESS_UNTIL_WINDOW_CLOSES) {
        char d[64];
        rv__log_info("dsl", "Using grace period of [%s] as the suppress duration for node [%s].",
                     java_duration(d, sizeof d, grace), node);
    }

    /* The buffer needs the old values (its prior-value view). */
    if (rv__ktable_enable_send_old_values(t))
        return NULL;

    sup_cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    if (!cfg || !(cfg->node = rv__dsl_strdup(b, node)) || !(cfg->store = rv__dsl_strdup(b, store)))
        return NULL;
    if (t->store && !(cfg->parent_store = rv__dsl_strdup(b, t->store)))
        return NULL;
    cfg->key_serde = t->key_serde;
    cfg->value_serde = t->value_serde;
    cfg->window_kind = win ? win->window_kind : RV__WINDOW_NONE;
    cfg->window_size_ms = win ? win->window_size_ms : 0;
    cfg->final_results = s->kind == RV_SUPPRESS_UNTIL_WINDOW_CLOSES;
    cfg->duration_ms = cfg->final_results ? grace : s->time_limit_ms;
    cfg->max_records = s->max_records > 0 ? s->max_records : INT64_MAX;
    cfg->max_bytes = s->max_bytes > 0 ? s->max_bytes : INT64_MAX;
    cfg->shut_down = s->when_full == RV_BUFFER_FULL_SHUT_DOWN;
    cfg->logging = !s->logging_disabled;
    cfg->flags.send_old_values = true;

    const char *parents[] = {t->node};
    if (rv__dsl_add_processor(b, node, sup_get, cfg, parents, 1) ||
        rv__dsl_add_store_as(b, store, rv_store_builder_custom(store, buffer_open, cfg),
                             cfg->logging, NULL, 0, node))
        return NULL;

    rv_ktable_t *out =
        rv__ktable_new(b, node, t->key_serde, t->value_serde, NULL, NULL, &cfg->flags, t);
    if (!out)
        return NULL;
    out->window_kind = t->window_kind;
    out->window_size_ms = t->window_size_ms;
    out->window_grace_ms = t->window_grace_ms;
    if (win && out->window_kind == RV__WINDOW_NONE) {
        out->window_kind = win->window_kind;
        out->window_size_ms = win->window_size_ms;
        out->window_grace_ms = win->window_grace_ms;
    }
    /* The view reads the buffer store (see DESIGN). */
    if (cfg->parent_store &&
        !(out->getter = rv__getter_store(b, store, t->key_serde, t->value_serde)))
        return NULL;
    return out;
}
