/* dsl/session_windowed.c: session-windowed aggregations of the DSL, Kafka
 * Streams' KGroupedStream.windowedBy(SessionWindows),
 * SessionWindowedKStreamImpl (count, reduce, aggregate, emitStrategy) and
 * its processor KStreamSessionWindowAggregate. The result is a KTable keyed
 * by rv_windowed_t (the grouped key plus the session's start and end)
 * whose rows live in a session store (rivulet/store.h, "Window and session
 * stores"). Contract: dsl/dsl_internal.h; public side: rivulet/dsl.h; the
 * guide: docs/WINDOWS.md.
 *
 * DESIGN
 *
 * Names, as Kafka's builder advances its counter: [count(Materialized
 * without a name) burns a store name], the store
 * "KSTREAM-AGGREGATE-STATE-STORE-n" (reduce: "KSTREAM-REDUCE-STATE-STORE-n";
 * or Materialized's), the processor KSTREAM-AGGREGATE-n / KSTREAM-REDUCE-n,
 * then, when the key changed, the repartition nodes on
 * "<Grouped.name or store>-repartition" (a named one is reused by later
 * aggregations of the same grouped stream).
 *
 * The store. Kafka's session store: key [key bytes][8-byte BE end][8-byte
 * BE start], value the aggregate serialized with the value serde (session
 * stores are not timestamped: a session's timestamp is its end). Retention
 * is Materialized's, else gap + grace; a retention shorter than gap +
 * grace is refused with Kafka's message. Caching as Materialized says,
 * except with emit-on-window-close, which never caches (Kafka's
 * SessionStoreMaterializer).
 *
 * Per record (Kafka's KStreamSessionWindowAggregateProcessor):
 *   - a null key is skipped ("Skipping record due to null key. ...") and
 *     counted as dropped; a null value is aggregated (count counts it);
 *   - stream time (observed) = max(observed, t); the close time is
 *     observed - grace - gap;
 *   - every session of the key with end >= t - gap and start <= t + gap
 *     is merged into the initializer's value with the merger (count: sum;
 *     reduce: the reducer, a missing aggregate taking the other as is),
 *     the merged window spanning all of them and [t, t];
 *   - when the merged window ends before the close time the record is
 *     dropped: "Skipping record for expired window. ..." and counted;
 *   - else, when the merged window is not [t, t] alone, each merged session
 *     is removed and its tombstone forwarded (Change{null, old}, timestamp
 *     = that session's end); then the aggregator adds the record and the
 *     merged session is put and forwarded (Change{agg, null}, timestamp =
 *     the merged end).
 * Forwarding happens at once without a cache; with one, the cache's flush
 * listener forwards what it writes through (Kafka's
 * SessionCacheFlushListener: timestamp = the session's end), so updates of
 * one session between commits collapse and a session created and merged
 * away in between never shows.
 *
 * Emit on window close. Nothing is forwarded per update. After each
 * record, at most once per __emit.interval.ms.kstreams.windowed.aggregation__
 * of wall-clock time (default 1000, the test driver sets 0) and only when
 * the close time moved past the last emission's, every session whose end
 * lies in [max(0, last close time), close time - 1] is forwarded once
 * (Change{agg, null}, timestamp = its end, the current record's headers),
 * by end, key bytes and start, as Kafka's time-ordered session store
 * yields them. Our session store is ordered by key, so the emission scans
 * the whole store. The last close time lives in the processor, not in the
 * committed offsets' metadata as in Kafka: after a restart, sessions that
 * closed before it may be emitted again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/logger.h"
#include "dsl/dsl_internal.h"

#define FAC "dsl"

/* The internal config that throttles emit-on-close (Kafka's
 * StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_WINDOWED_AGGREGATION). */
#define EMIT_INTERVAL_CONFIG "__emit.interval.ms.kstreams.windowed.aggregation__"
#define EMIT_INTERVAL_DEFAULT 1000

/* Session keys end with [8-byte end][8-byte start]. */
#define SUFFIX_LEN 16

/* ---- The handle ---- */

struct rv_session_windowed_kstream_s {
    rv_kgrouped_stream_t *g;
    rv_session_windows_t windows;
    rv_emit_strategy_t emit;
};

/* ---- Configuration of one aggregation node (shared memory) ---- */

typedef enum kind_e { K_COUNT, K_REDUCE, K_AGGREGATE } kind_t;

typedef struct cfg_s {
    rv__ktable_flags_t flags; /* the result table's: send old values */
    kind_t kind;
    const char *store;                         /* shared memory */
    const rv_serde_t *key_serde, *value_serde; /* the store's; NULL = defaults */
    int64_t gap, grace;
    rv_emit_strategy_t emit;
    rv_initializer_cb_t *initializer;
    void *initializer_opaque;
    rv_aggregator_cb_t *aggregator;
    void *aggregator_opaque;
    rv_merger_cb_t *merger;
    void *merger_opaque;
    rv_reducer_cb_t *reducer;
    void *reducer_opaque;
} cfg_t;

/* A session found for merging: its window and its aggregate as stored. */
typedef struct found_s {
    int64_t start, end;
    void *bytes; /* the stored value (malloc) */
    size_t len;
} found_t;

/* A session to emit on close (one store entry, copied). */
typedef struct closed_s {
    uint8_t *key; /* the whole store key */
    size_t key_len;
    void *value;
    size_t value_len;
} closed_t;

typedef struct inst_s {
    const cfg_t *cfg;
    rv_processor_context_t *ctx;
    rv_kv_store_t *store;
    const rv_serde_t *ks, *vs; /* resolved */
    bool send_old;
    bool cached;
    rv__flush_binding_t binding;
    int64_t observed;   /* stream time seen by this processor, -1 at first */
    int64_t last_close; /* emit on close: the close time of the last emission */
    int64_t next_emit;  /* emit on close: wall-clock time of the next check */
    int64_t emit_every; /* emit on close: the throttle */
    rv_out_t out[2];    /* the aggregate ping-pongs between them */
    int cur;            /* which out holds the current aggregate */
    int64_t counts[2];  /* count's aggregate, likewise */
    found_t *found;
    size_t found_cnt, found_cap;
} inst_t;

/* ---- Helpers ---- */

static void out_value(const rv_out_t *out, const void **v, int32_t *len) {
    if (out->value_set && out->cnt > 0 && out->items[0].value) {
        *v = out->items[0].value;
        *len = out->items[0].value_len;
    } else {
        *v = NULL;
        *len = -1;
    }
}

static void found_clear(inst_t *in) {
    for (size_t i = 0; i < in->found_cnt; i++)
        free(in->found[i].bytes);
    in->found_cnt = 0;
}

static rv_err_t found_add(inst_t *in, int64_t start, int64_t end, const void *v, size_t len) {
    if (in->found_cnt == in->found_cap) {
        size_t cap = in->found_cap ? in->found_cap * 2 : 4;
        found_t *f = realloc(in->found, cap * sizeof *f);
        if (!f)
            return RV_ERR__NOMEM;
        in->found = f;
        in->found_cap = cap;
    }
    found_t *f = &in->found[in->found_cnt];
    f->bytes = malloc(len ? len : 1);
    if (!f->bytes)
        return RV_ERR__NOMEM;
    if (len)
        memcpy(f->bytes, v, len);
    f->len = len;
    f->start = start;
    f->end = end;
    in->found_cnt++;
    return RV_ERR_NO_ERROR;
}

/* Deserializes stored aggregate bytes (NULL: null). Caller frees *v with
 * rv_serde_free(in->vs, *v). */
static rv_err_t value_of(inst_t *in, void **v, int32_t *vl, const void *bytes, size_t len) {
    *v = NULL;
    *vl = -1;
    if (!bytes)
        return RV_ERR_NO_ERROR;
    if (len > INT32_MAX)
        return RV_ERR__DESERIALIZATION;
    char msg[512] = "";
    rv_err_t err = rv_serde_deserialize(in->vs, v, vl, NULL, bytes, (int32_t)len, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read a session of store %s: %s", in->cfg->store,
                    msg[0] ? msg : rv_err_str(err));
    return err;
}

/* Forwards Change{nv, send_old ? ov : null} for the session [start, end]
 * of `key`, with timestamp end (Kafka: the window end), and the given
 * headers. */
static rv_err_t forward(inst_t *in, const void *key, int32_t key_len, int64_t start, int64_t end,
                        const void *nv, int32_t nl, const void *ov, int32_t ol,
                        const rv_header_t *headers, size_t header_cnt) {
    rv_windowed_t wk = {key, key_len, start, end};
    rv__change_t change = {nv, nv ? nl : -1, NULL, -1};
    if (in->send_old && ov) {
        change.old_value = ov;
        change.old_len = ol;
    }
    rv_processor_record_t rec = {&wk,     (int32_t)sizeof wk, &change, (int32_t)sizeof change, end,
                                 headers, header_cnt};
    return rv_processor_context_forward(in->ctx, &rec);
}

/* Kafka's maybeForwardUpdate(): nothing with emit on close or with a
 * cache (its flush listener forwards). */
static rv_err_t maybe_forward_update(inst_t *in, const void *key, int32_t key_len, int64_t start,
                                     int64_t end, const void *nv, int32_t nl, const void *ov,
                                     int32_t ol) {
    if (in->cfg->emit == RV_EMIT_ON_WINDOW_CLOSE || in->cached)
        return RV_ERR_NO_ERROR;
    return forward(in, key, key_len, start, end, nv, nl, ov, ol, NULL, 0);
}

/* ---- The cache's flush listener (Kafka's SessionCacheFlushListener) ---- */

static rv_err_t on_flush(rv_processor_context_t *ctx, const void *kb, size_t kl,
                         const void *new_stored, size_t new_len, const void *old_stored,
                         size_t old_len, void *opaque) {
    inst_t *in = opaque;
    (void)ctx;
    /* Kafka skips an entry that exists neither in the cache nor below. */
    if (!new_stored && !old_stored)
        return RV_ERR_NO_ERROR;
    if (kl < SUFFIX_LEN || kl - SUFFIX_LEN > INT32_MAX) {
        rv__log_err(FAC, "A flushed entry of session store %s has a %zu-byte key", in->cfg->store,
                    kl);
        return RV_ERR__DESERIALIZATION;
    }
    const uint8_t *p = kb;
    size_t ikl = kl - SUFFIX_LEN;
    int64_t end = (int64_t)rv__be64(p + ikl), start = (int64_t)rv__be64(p + ikl + 8);
    char msg[512] = "";
    void *key = NULL, *nv = NULL, *ov = NULL;
    int32_t key_len = -1, nl = -1, ol = -1;
    rv_err_t err =
        rv_serde_deserialize(in->ks, &key, &key_len, NULL, p, (int32_t)ikl, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read the key of a flushed session of store %s: %s",
                    in->cfg->store, msg[0] ? msg : rv_err_str(err));
    if (!err)
        err = value_of(in, &nv, &nl, new_stored, new_len);
    if (!err && in->send_old)
        err = value_of(in, &ov, &ol, old_stored, old_len);
    if (!err)
        err = forward(in, key, key_len, start, end, nv, nl, ov, ol, NULL, 0);
    rv_serde_free(in->ks, key);
    rv_serde_free(in->vs, nv);
    rv_serde_free(in->vs, ov);
    return err;
}

/* ---- Emit on window close ---- */

static int closed_cmp(const void *a, const void *b) {
    const closed_t *x = a, *y = b;
    size_t xl = x->key_len - SUFFIX_LEN, yl = y->key_len - SUFFIX_LEN;
    int64_t xe = (int64_t)rv__be64(x->key + xl), ye = (int64_t)rv__be64(y->key + yl);
    if (xe != ye)
        return xe < ye ? -1 : 1;
    size_t n = xl < yl ? xl : yl;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c)
        return c;
    if (xl != yl)
        return xl < yl ? -1 : 1;
    int64_t xs = (int64_t)rv__be64(x->key + xl + 8), ys = (int64_t)rv__be64(y->key + yl + 8);
    return xs < ys ? -1 : xs > ys;
}

static void closed_free(closed_t *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(c[i].key);
        free(c[i].value);
    }
    free(c);
}

/* Kafka's fetchAndEmit(): forwards every session whose end lies in [lo,
 * hi], ordered as the time-ordered session store gives them. */
static rv_err_t fetch_and_emit(inst_t *in, const rv_processor_record_t *r, int64_t lo, int64_t hi) {
    rv_kv_iter_t *it = NULL;
    rv_err_t err = rv_kv_store_all(&it, in->store);
    if (err)
        return err;
    closed_t *c = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = rv_kv_iter_next(it)) == 1) {
        size_t kl, vl;
        const uint8_t *k = rv_kv_iter_key(it, &kl);
        const void *v = rv_kv_iter_value(it, &vl);
        if (kl < SUFFIX_LEN || !v)
            continue;
        int64_t end = (int64_t)rv__be64(k + kl - SUFFIX_LEN);
        if (end < lo || end > hi)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            closed_t *t = realloc(c, nc * sizeof *t);
            if (!t) {
                err = RV_ERR__NOMEM;
                break;
            }
            c = t;
            cap = nc;
        }
        c[n].key = malloc(kl);
        c[n].value = malloc(vl ? vl : 1);
        if (!c[n].key || !c[n].value) {
            free(c[n].key);
            free(c[n].value);
            err = RV_ERR__NOMEM;
            break;
        }
        memcpy(c[n].key, k, kl);
        if (vl)
            memcpy(c[n].value, v, vl);
        c[n].key_len = kl;
        c[n].value_len = vl;
        n++;
    }
    rv_kv_iter_destroy(it);
    if (!err && rc < 0)
        err = (rv_err_t)rc;
    if (!err && n > 1)
        qsort(c, n, sizeof *c, closed_cmp);
    for (size_t i = 0; i < n && !err; i++) {
        size_t ikl = c[i].key_len - SUFFIX_LEN;
        int64_t end = (int64_t)rv__be64(c[i].key + ikl);
        int64_t start = (int64_t)rv__be64(c[i].key + ikl + 8);
        void *key = NULL, *agg = NULL;
        int32_t key_len = -1, agg_len = -1;
        char msg[512] = "";
        err = rv_serde_deserialize(in->ks, &key, &key_len, NULL, c[i].key, (int32_t)ikl, msg,
                                   sizeof msg);
        if (err)
            rv__log_err(FAC, "Failed to read the key of a session of store %s: %s", in->cfg->store,
                        msg[0] ? msg : rv_err_str(err));
        if (!err)
            err = value_of(in, &agg, &agg_len, c[i].value, c[i].value_len);
        if (!err)
            err = forward(in, key, key_len, start, end, agg, agg_len, NULL, -1, r->headers,
                          r->header_cnt);
        rv_serde_free(in->ks, key);
        rv_serde_free(in->vs, agg);
    }
    closed_free(c, n);
    return err;
}

/* Kafka's maybeForwardFinalResult(). */
static rv_err_t maybe_forward_final(inst_t *in, const rv_processor_record_t *r, int64_t close) {
    if (in->cfg->emit != RV_EMIT_ON_WINDOW_CLOSE)
        return RV_ERR_NO_ERROR;
    int64_t now = rv_processor_context_current_system_time_ms(in->ctx);
    if (now < in->next_emit)
        return RV_ERR_NO_ERROR;
    /* The next check is due emit_every after now, not after the last due
     * time, so a jump of the clock does not make every record emit. */
    in->next_emit = now + in->emit_every;
    if (in->last_close != -1 && in->last_close >= close)
        return RV_ERR_NO_ERROR;
    /* Session windows include their end: the closed ones end before the
     * close time. A single-point session [t, t] makes lo == hi useful. */
    int64_t hi = close - 1;
    if (hi < 0)
        return RV_ERR_NO_ERROR;
    int64_t lo = in->last_close > 0 ? in->last_close : 0;
    if (hi < lo)
        return RV_ERR_NO_ERROR;
    rv_err_t err = fetch_and_emit(in, r, lo, hi);
    if (!err)
        in->last_close = close;
    return err;
}

/* ---- The processor ---- */

static rv_err_t proc_init(rv_processor_context_t *ctx, void *state) {
    inst_t *in = state;
    const cfg_t *cfg = in->cfg;
    in->ctx = ctx;
    in->observed = -1;
    in->last_close = -1;
    in->store = rv_processor_context_get_state_store(ctx, cfg->store);
    if (!in->store)
        return RV_ERR__INVALID_ARG;
    in->ks = rv__dsl_serde(cfg->key_serde, ctx, true);
    in->vs = rv__dsl_serde(cfg->value_serde, ctx, false);
    if (!in->ks || !in->vs) {
        rv__log_err(FAC,
                    "Store %s has no serde: set one in the DSL call or default.key.serde / "
                    "default.value.serde",
                    cfg->store);
        return RV_ERR__INVALID_ARG;
    }
    in->send_old = cfg->flags.send_old_values;
    if (cfg->emit == RV_EMIT_ON_WINDOW_CLOSE) {
        const char *s = rv_conf_get(rv_processor_context_app_configs(ctx), EMIT_INTERVAL_CONFIG);
        in->emit_every = EMIT_INTERVAL_DEFAULT;
        if (s) {
            char *endp;
            long long v = strtoll(s, &endp, 10);
            if (endp != s && *endp == '\0' && v >= 0)
                in->emit_every = (int64_t)v;
        }
        in->next_emit = 0;
        in->cached = false;
        return RV_ERR_NO_ERROR;
    }
    return rv__flush_listener_set(&in->cached, &in->binding, ctx, cfg->store, in->send_old,
                                  on_flush, in);
}

static void warn_null_key(rv_processor_context_t *ctx) {
    const char *topic;
    int32_t partition;
    int64_t offset;
    if (rv_processor_context_record_metadata(ctx, &topic, &partition, &offset))
        rv__log_warn(FAC,
                     "Skipping record due to null key. topic=[%s] partition=[%" PRId32
                     "] offset=[%" PRId64 "]",
                     topic, partition, offset);
    else
        rv__log_warn(FAC, "Skipping record due to null key. Topic, partition, and offset not "
                          "known.");
    rv__dsl_record_dropped();
}

static void warn_expired(inst_t *in, int64_t timestamp, int64_t close, int64_t start, int64_t end) {
    const char *topic;
    int32_t partition;
    int64_t offset;
    if (rv_processor_context_record_metadata(in->ctx, &topic, &partition, &offset))
        rv__log_warn(FAC,
                     "Skipping record for expired window. topic=[%s] partition=[%" PRId32
                     "] offset=[%" PRId64 "] timestamp=[%" PRId64 "] window=[%" PRId64 ",%" PRId64
                     "] expiration=[%" PRId64 "] streamTime=[%" PRId64 "]",
                     topic, partition, offset, timestamp, start, end, close, in->observed);
    else
        rv__log_warn(FAC,
                     "Skipping record for expired window. Topic, partition, and offset not "
                     "known. timestamp=[%" PRId64 "] window=[%" PRId64 ",%" PRId64
                     "] expiration=[%" PRId64 "] streamTime=[%" PRId64 "]",
                     timestamp, start, end, close, in->observed);
    rv__dsl_record_dropped();
}

/* The current aggregate (NULL, -1: null). */
static void current(const inst_t *in, const void **v, int32_t *len) {
    if (in->cfg->kind == K_COUNT) {
        *v = &in->counts[in->cur];
        *len = (int32_t)sizeof(int64_t);
        return;
    }
    out_value(&in->out[in->cur], v, len);
}

static rv_err_t read_count(int64_t *n, const void *v, int32_t len) {
    if (!v) {
        *n = 0;
        return RV_ERR_NO_ERROR;
    }
    if (len != (int32_t)sizeof(int64_t)) {
        rv__log_err(FAC, "A session count's value of %" PRId32 " bytes is not an int64", len);
        return RV_ERR__DESERIALIZATION;
    }
    memcpy(n, v, sizeof *n);
    return RV_ERR_NO_ERROR;
}

/* The initializer's value becomes the current aggregate (count 0, reduce
 * null). */
static rv_err_t agg_init(inst_t *in) {
    const cfg_t *cfg = in->cfg;
    in->cur = 0;
    if (cfg->kind == K_COUNT) {
        in->counts[0] = 0;
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(&in->out[0], RV__OUT_VALUE);
    if (cfg->kind == K_REDUCE)
        return RV_ERR_NO_ERROR; /* null */
    return cfg->initializer(&in->out[0], cfg->initializer_opaque);
}

/* current = merger(key, current, other). */
static rv_err_t agg_merge(inst_t *in, const void *key, int32_t key_len, const void *other,
                          int32_t other_len) {
    const cfg_t *cfg = in->cfg;
    const void *a;
    int32_t al;
    current(in, &a, &al);
    int nx = 1 - in->cur;
    rv_err_t err;
    if (cfg->kind == K_COUNT) {
        int64_t x, y;
        if ((err = read_count(&x, a, al)) || (err = read_count(&y, other, other_len)))
            return err;
        in->counts[nx] = x + y;
        in->cur = nx;
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(&in->out[nx], RV__OUT_VALUE);
    if (cfg->kind == K_REDUCE) {
        /* Kafka's merger for a reducer: aggregator(key, two, one), that is
         * one == null ? two : reducer(one, two). */
        if (!a)
            err = other ? rv_out_value(&in->out[nx], other, other_len) : RV_ERR_NO_ERROR;
        else
            err = cfg->reducer(&in->out[nx], a, al, other, other_len, cfg->reducer_opaque);
    } else {
        err = cfg->merger(&in->out[nx], key, key_len, a, al, other, other_len, cfg->merger_opaque);
    }
    if (!err)
        in->cur = nx;
    return err;
}

/* current = aggregator(key, value, current). */
static rv_err_t agg_add(inst_t *in, const void *key, int32_t key_len, const void *value,
                        int32_t value_len) {
    const cfg_t *cfg = in->cfg;
    const void *a;
    int32_t al;
    current(in, &a, &al);
    int nx = 1 - in->cur;
    rv_err_t err;
    if (cfg->kind == K_COUNT) {
        int64_t x;
        if ((err = read_count(&x, a, al)))
            return err;
        in->counts[nx] = x + 1;
        in->cur = nx;
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(&in->out[nx], RV__OUT_VALUE);
    if (cfg->kind == K_REDUCE) {
        /* Kafka's aggregator for a reducer: aggregate == null ? value :
         * reducer(aggregate, value). */
        if (!a)
            err = value ? rv_out_value(&in->out[nx], value, value_len) : RV_ERR_NO_ERROR;
        else
            err = cfg->reducer(&in->out[nx], a, al, value, value_len, cfg->reducer_opaque);
    } else {
        err = cfg->aggregator(&in->out[nx], key, key_len, value, value_len, a, al,
                              cfg->aggregator_opaque);
    }
    if (!err)
        in->cur = nx;
    return err;
}

/* Collects the sessions of kb overlapping [t - gap, t + gap] into
 * in->found, merging their aggregates into the current one; the merged
 * window goes to *ms, *me. */
static rv_err_t find_and_merge(inst_t *in, const rv_processor_record_t *r, const void *kb,
                               size_t kbl, int64_t *ms, int64_t *me) {
    const cfg_t *cfg = in->cfg;
    int64_t t = r->timestamp;
    int64_t from = t - cfg->gap < 0 ? 0 : t - cfg->gap;
    int64_t to = t > INT64_MAX - cfg->gap ? INT64_MAX : t + cfg->gap;
    rv_session_iter_t *it = NULL;
    rv_err_t err = rv_session_store_find_sessions(&it, in->store, kb, kbl, from, to);
    if (err)
        return err;
    int rc;
    while ((rc = rv_session_iter_next(it)) == 1) {
        size_t vl;
        const void *v = rv_session_iter_value(it, &vl);
        int64_t s = rv_session_iter_start(it), e = rv_session_iter_end(it);
        if ((err = found_add(in, s, e, v, vl)))
            break;
        if (s < *ms)
            *ms = s;
        if (e > *me)
            *me = e;
    }
    rv_session_iter_destroy(it);
    if (!err && rc < 0)
        err = (rv_err_t)rc;
    /* Merge after the iterator is gone: user functions run on copies. */
    for (size_t i = 0; i < in->found_cnt && !err; i++) {
        void *v;
        int32_t vl;
        if ((err = value_of(in, &v, &vl, in->found[i].bytes, in->found[i].len)))
            break;
        err = agg_merge(in, r->key, r->key_len, v, vl);
        rv_serde_free(in->vs, v);
    }
    return err;
}

static rv_err_t proc_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                             void *state) {
    inst_t *in = state;
    const cfg_t *cfg = in->cfg;
    if (!r->key) {
        warn_null_key(ctx);
        return RV_ERR_NO_ERROR;
    }
    int64_t t = r->timestamp;
    if (t > in->observed)
        in->observed = t;
    int64_t close = in->observed - cfg->grace - cfg->gap;

    void *kb = NULL;
    int32_t kbl = -1;
    char msg[512] = "";
    rv_err_t err = rv_serde_serialize(in->ks, &kb, &kbl, NULL, r->key, r->key_len, msg, sizeof msg);
    if (err || (!kb && kbl < 0)) { /* an empty key is a key: NULL with length 0 */
        rv__log_err(FAC, "Failed to serialize the key of a session: %s",
                    msg[0] ? msg : "a null key has no session");
        return err ? err : RV_ERR__INVALID_ARG;
    }
    found_clear(in);
    int64_t ms = t, me = t;
    if ((err = agg_init(in)) ||
        (err = find_and_merge(in, r, kb, kbl < 0 ? 0 : (size_t)kbl, &ms, &me)))
        goto done;

    if (me < close) {
        warn_expired(in, t, close, ms, me);
    } else {
        if (ms != t || me != t) {
            for (size_t i = 0; i < in->found_cnt && !err; i++) {
                found_t *f = &in->found[i];
                if ((err = rv_session_store_remove(in->store, kb, (size_t)kbl, f->start, f->end)))
                    break;
                if (in->cfg->emit == RV_EMIT_ON_WINDOW_CLOSE || in->cached)
                    continue;
                void *old = NULL;
                int32_t ol = -1;
                if (in->send_old && (err = value_of(in, &old, &ol, f->bytes, f->len)))
                    break;
                err = maybe_forward_update(in, r->key, r->key_len, f->start, f->end, NULL, -1, old,
                                           ol);
                rv_serde_free(in->vs, old);
            }
            if (err)
                goto done;
        }
        if ((err = agg_add(in, r->key, r->key_len, r->value, r->value_len)))
            goto done;
        const void *agg;
        int32_t al;
        current(in, &agg, &al);
        void *bytes = NULL;
        int32_t bl = -1;
        if (agg &&
            (err = rv_serde_serialize(in->vs, &bytes, &bl, NULL, agg, al, msg, sizeof msg))) {
            rv__log_err(FAC, "Failed to serialize a session of store %s: %s", cfg->store,
                        msg[0] ? msg : rv_err_str(err));
            goto done;
        }
        /* A null aggregate removes the session, as Kafka's put(key, null). */
        err = rv_session_store_put(in->store, kb, (size_t)kbl, ms, me, bytes,
                                   bytes && bl > 0 ? (size_t)bl : 0);
        rv_serde_free(in->vs, bytes);
        if (err)
            goto done;
        if ((err = maybe_forward_update(in, r->key, r->key_len, ms, me, agg, al, NULL, -1)))
            goto done;
    }
    err = maybe_forward_final(in, r, close);
done:
    found_clear(in);
    rv_serde_free(in->ks, kb);
    return err;
}

static void proc_close(void *state) {
    inst_t *in = state;
    if (!in)
        return;
    rv__flush_listener_clear(&in->binding);
    found_clear(in);
    free(in->found);
    rv__out_free(&in->out[0]);
    rv__out_free(&in->out[1]);
    free(in);
}

static rv_err_t proc_get(rv_processor_t *out, void *opaque) {
    inst_t *in = calloc(1, sizeof *in);
    if (!in)
        return RV_ERR__NOMEM;
    in->cfg = opaque;
    out->init = proc_init;
    out->process = proc_process;
    out->close = proc_close;
    out->state = in;
    return RV_ERR_NO_ERROR;
}

/* ---- Building ---- */

static bool builder_ok(rv_streams_builder_t *b) {
    if (b->err)
        return false;
    if (!b->topo) {
        rv__dsl_fail(b, RV_ERR__STATE,
                     "The builder was built already: rv_streams_builder_build() hands the "
                     "topology over");
        return false;
    }
    return true;
}

rv_session_windowed_kstream_t *
rv_kgrouped_stream_windowed_by_session(rv_kgrouped_stream_t *g,
                                       const rv_session_windows_t *windows) {
    if (!g)
        return NULL;
    rv_streams_builder_t *b = g->b;
    if (!builder_ok(b))
        return NULL;
    if (!windows) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "windows can't be null");
        return NULL;
    }
    if (windows->version != RV_SESSION_WINDOWS_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "rv_session_windows_t version %d is not supported (expected %d)",
                     windows->version, RV_SESSION_WINDOWS_VERSION);
        return NULL;
    }
    if (windows->inactivity_gap_ms <= 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Gap time cannot be zero or negative.");
        return NULL;
    }
    if (windows->grace_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Grace period must not be negative.");
        return NULL;
    }
    rv_session_windowed_kstream_t *w = rv__dsl_alloc(b, sizeof *w);
    if (!w)
        return NULL;
    w->g = g;
    w->windows = *windows;
    w->emit = RV_EMIT_ON_WINDOW_UPDATE;
    return w;
}

rv_session_windowed_kstream_t *
rv_session_windowed_kstream_emit_strategy(rv_session_windowed_kstream_t *w,
                                          rv_emit_strategy_t strategy) {
    if (!w)
        return NULL;
    if (strategy != RV_EMIT_ON_WINDOW_UPDATE && strategy != RV_EMIT_ON_WINDOW_CLOSE) {
        rv__dsl_fail(w->g->b, RV_ERR__INVALID_ARG, "Unknown emit strategy %d", (int)strategy);
        return NULL;
    }
    w->emit = strategy;
    return w;
}

static void serde_free(void *p) {
    rv_serde_destroy(p);
}

/* A session store builder as Materialized m (may be NULL) and the emit
 * strategy say (see DESIGN). NULL with the builder's error set. */
static rv_store_builder_t *session_store_builder(rv_streams_builder_t *b, const char *name,
                                                 int64_t retention, const rv_materialized_t *m,
                                                 rv_emit_strategy_t emit) {
    char errstr[512] = "";
    if (rv_store_name_validate(name, errstr, sizeof errstr)) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Invalid topology: %s", errstr);
        return NULL;
    }
    rv_store_builder_t *sb = m && m->store_type == RV_STORE_TYPE_IN_MEMORY
                                 ? rv_store_builder_in_memory_session(name, retention)
                                 : rv_store_builder_persistent_session(name, retention);
    if (!sb) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    /* Emit on close reads the store directly: Kafka does not cache it. */
    if ((m && m->caching_disabled) || emit == RV_EMIT_ON_WINDOW_CLOSE)
        rv_store_builder_with_caching_disabled(sb);
    else
        rv_store_builder_with_caching_enabled(sb);
    if (m && m->logging_disabled) {
        rv_store_builder_with_logging_disabled(sb);
    } else if (m && m->logging_config_cnt) {
        rv_err_t err =
            rv_store_builder_with_logging_enabled(sb, m->logging_config, m->logging_config_cnt);
        if (err) {
            rv_store_builder_destroy(sb);
            rv__dsl_fail(b, err, "Out of memory");
            return NULL;
        }
    }
    return sb;
}

static rv_ktable_t *session_aggregate(rv_session_windowed_kstream_t *w, cfg_t *cfg,
                                      const char *name, const rv_materialized_t *m) {
    rv_kgrouped_stream_t *g = w->g;
    rv_streams_builder_t *b = g->b;
    if (m && m->version != RV_MATERIALIZED_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "rv_materialized_t version %d is not supported (expected %d)", m->version,
                     RV_MATERIALIZED_VERSION);
        return NULL;
    }
    if (m && m->retention_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Retention must not be negative.");
        return NULL;
    }
    char store[512], proc[512];
    /* count(Materialized) without a store name burns one, as Kafka keeps
     * doing for compatibility. */
    if (cfg->kind == K_COUNT && m && !m->store_name)
        rv__dsl_store_name(b, "KSTREAM-AGGREGATE-", store, sizeof store);
    const char *prefix = cfg->kind == K_REDUCE ? "KSTREAM-REDUCE-" : "KSTREAM-AGGREGATE-";
    if (m && m->store_name)
        snprintf(store, sizeof store, "%s", m->store_name);
    else
        rv__dsl_store_name(b, prefix, store, sizeof store);

    int64_t gap = w->windows.inactivity_gap_ms, grace = w->windows.grace_ms;
    int64_t need = gap > INT64_MAX - grace ? INT64_MAX : gap + grace;
    int64_t retention = m && m->retention_ms > 0 ? m->retention_ms : need;
    if (need > retention) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "The retention period of the session store %s must be no smaller than the "
                     "session inactivity gap plus the grace period. Got gap=[%" PRId64
                     "], grace=[%" PRId64 "], retention=[%" PRId64 "]",
                     store, gap, grace, retention);
        return NULL;
    }
    rv__dsl_name(b, name, prefix, proc, sizeof proc);
    if (b->err)
        return NULL;

    rv_kstream_t *src = rv__kgrouped_stream_source(g, store);
    if (!src)
        return NULL;

    cfg->key_serde = m && m->key_serde ? m->key_serde : g->key_serde;
    if (m && m->value_serde)
        cfg->value_serde = m->value_serde;
    else if (cfg->kind == K_COUNT)
        cfg->value_serde = rv_serde_int64();
    else if (cfg->kind == K_REDUCE)
        cfg->value_serde = g->value_serde;
    else
        cfg->value_serde = NULL;
    cfg->gap = gap;
    cfg->grace = grace;
    cfg->emit = w->emit;
    if (!(cfg->store = rv__dsl_strdup(b, store)))
        return NULL;

    const char *parents[] = {src->node};
    if (rv__dsl_add_processor(b, proc, proc_get, cfg, parents, 1))
        return NULL;
    rv_store_builder_t *sb = session_store_builder(b, store, retention, m, w->emit);
    if (!sb)
        return NULL;
    char errstr[512];
    const char *procs[] = {proc};
    rv_err_t err = rv_topology_add_state_store(b->topo, sb, procs, 1, errstr, sizeof errstr);
    if (err) {
        rv_store_builder_destroy(sb);
        rv__dsl_topology_fail(b, err, errstr);
        return NULL;
    }

    /* The table's keys are Windowed<K>: Kafka's SessionWindowedSerde of the
     * key serde when one is known. */
    const rv_serde_t *wks = NULL;
    if (cfg->key_serde) {
        rv_serde_t *s = rv_serde_session_windowed_new(cfg->key_serde);
        if (!s) {
            rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
            return NULL;
        }
        if (!(wks = rv__dsl_keep(b, s, serde_free)))
            return NULL;
    }
    /* No store for the table handle: a session store is not a table store,
     * so the table has no getter (windowed tables are not joined). */
    rv_ktable_t *t = rv__ktable_new(b, proc, wks, cfg->value_serde, NULL,
                                    m && m->store_name ? m->store_name : NULL, &cfg->flags, NULL);
    if (!t)
        return NULL;
    t->window_kind = RV__WINDOW_SESSION;
    t->window_size_ms = gap;
    t->window_grace_ms = grace;
    return t;
}

static cfg_t *cfg_new(rv_session_windowed_kstream_t *w, kind_t kind) {
    rv_streams_builder_t *b = w->g->b;
    if (!builder_ok(b))
        return NULL;
    cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->kind = kind;
    return cfg;
}

rv_ktable_t *rv_session_windowed_kstream_count(rv_session_windowed_kstream_t *w, const char *name,
                                               const rv_materialized_t *materialized) {
    if (!w)
        return NULL;
    cfg_t *cfg = cfg_new(w, K_COUNT);
    return cfg ? session_aggregate(w, cfg, name, materialized) : NULL;
}

rv_ktable_t *rv_session_windowed_kstream_reduce(rv_session_windowed_kstream_t *w,
                                                rv_reducer_cb_t *reducer, void *opaque,
                                                const char *name,
                                                const rv_materialized_t *materialized) {
    if (!w)
        return NULL;
    cfg_t *cfg = cfg_new(w, K_REDUCE);
    if (!cfg)
        return NULL;
    if (!reducer) {
        rv__dsl_fail(w->g->b, RV_ERR__INVALID_ARG, "reducer can't be null");
        return NULL;
    }
    cfg->reducer = reducer;
    cfg->reducer_opaque = opaque;
    return session_aggregate(w, cfg, name, materialized);
}

rv_ktable_t *rv_session_windowed_kstream_aggregate(
    rv_session_windowed_kstream_t *w, rv_initializer_cb_t *initializer, void *initializer_opaque,
    rv_aggregator_cb_t *aggregator, void *aggregator_opaque, rv_merger_cb_t *merger,
    void *merger_opaque, const char *name, const rv_materialized_t *materialized) {
    if (!w)
        return NULL;
    cfg_t *cfg = cfg_new(w, K_AGGREGATE);
    if (!cfg)
        return NULL;
    if (!initializer || !aggregator || !merger) {
        rv__dsl_fail(w->g->b, RV_ERR__INVALID_ARG, "%s can't be null",
                     !initializer  ? "initializer"
                     : !aggregator ? "aggregator"
                                   : "sessionMerger");
        return NULL;
    }
    cfg->initializer = initializer;
    cfg->initializer_opaque = initializer_opaque;
    cfg->aggregator = aggregator;
    cfg->aggregator_opaque = aggregator_opaque;
    cfg->merger = merger;
    cfg->merger_opaque = merger_opaque;
    return session_aggregate(w, cfg, name, materialized);
}
