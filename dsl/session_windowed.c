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
 * the whole store. The last close time is also kept, as in Kafka, in the
 * task's processor metadata under the store's name (committed with the
 * input offsets, read back at init by rv__window_proc_init()), so
 * sessions that closed before a restart are not emitted again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/logger.h"
#include "dsl/dsl_internal.h"
#include "runtime/context_internal.h"

#define FAC "dsl"

/* Session keys end with [8-byte end][8-byte start]. */
#define SUFFIX_LEN 16

/* ---- The handle ---- */

struct rv_session_windowed_kstream_s {
    rv_kgrouped_stream_t *g;
    rv_session_windows_t windows;
    rv_emit_strategy_t emit;
};

/* ---- Configuration of one aggregation node (shared memory) ---- */

typedef struct cfg_s {
    rv__ktable_flags_t flags; /* the result table's: send old values */
    rv__agg_kind_t kind;
    const char *store;                         /* shared memory */
    const rv_serde_t *key_serde, *value_serde; /* the store's; NULL = defaults */
    int64_t gap, grace;
    rv_emit_strategy_t emit;
    rv__agg_fns_t fn; /* the user's functions */
} cfg_t;

/* A session found for merging: its window and its aggregate as stored. */
typedef struct found_s {
    int64_t start, end;
    void *bytes; /* the stored value (malloc) */
    size_t len;
} found_t;

typedef struct inst_s {
    const cfg_t *cfg;
    rv__window_proc_t wp;             /* store, serdes, stream time, emit on close */
    const rv_processor_record_t *rec; /* the record being processed */
    rv_out_t out[2];                  /* the aggregate ping-pongs between them */
    int cur;                          /* which out holds the current aggregate */
    int64_t counts[2];                /* count's aggregate, likewise */
    found_t *found;
    size_t found_cnt, found_cap;
} inst_t;

/* ---- Helpers ---- */

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
 * rv_serde_free(in->wp.vs, *v). */
static rv_err_t value_of(inst_t *in, void **v, int32_t *vl, const void *bytes, size_t len) {
    *v = NULL;
    *vl = -1;
    if (!bytes)
        return RV_ERR_NO_ERROR;
    if (len > INT32_MAX)
        return RV_ERR__DESERIALIZATION;
    char msg[512] = "";
    rv_err_t err =
        rv_serde_deserialize(in->wp.vs, v, vl, NULL, bytes, (int32_t)len, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read a session of store %s: %s", in->cfg->store,
                    msg[0] ? msg : rv_err_str(err));
    return err;
}

/* Forwards Change{nv, ov when sending old values} for the session [start,
 * end] of `key`, with timestamp end (Kafka: the window end), and the given
 * headers. */
static rv_err_t forward(inst_t *in, const void *key, int32_t key_len, int64_t start, int64_t end,
                        const void *nv, int32_t nl, const void *ov, int32_t ol,
                        const rv_header_t *headers, size_t header_cnt) {
    return rv__window_forward(&in->wp, key, key_len, start, end, nv, nl, ov, ol, end, headers,
                              header_cnt);
}

/* Kafka's maybeForwardUpdate(): nothing with emit on close or with a
 * cache (its flush listener forwards). */
static rv_err_t maybe_forward_update(inst_t *in, const void *key, int32_t key_len, int64_t start,
                                     int64_t end, const void *nv, int32_t nl, const void *ov,
                                     int32_t ol) {
    if (!rv__window_forwards_updates(&in->wp))
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
        rv_serde_deserialize(in->wp.ks, &key, &key_len, NULL, p, (int32_t)ikl, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read the key of a flushed session of store %s: %s",
                    in->cfg->store, msg[0] ? msg : rv_err_str(err));
    if (!err)
        err = value_of(in, &nv, &nl, new_stored, new_len);
    if (!err && in->wp.send_old)
        err = value_of(in, &ov, &ol, old_stored, old_len);
    if (!err)
        err = forward(in, key, key_len, start, end, nv, nl, ov, ol, NULL, 0);
    rv_serde_free(in->wp.ks, key);
    rv_serde_free(in->wp.vs, nv);
    rv_serde_free(in->wp.vs, ov);
    return err;
}

/* ---- Emit on window close ---- */

/* Forwards one closed session read by rv__window_scan() (see
 * dsl/window_common.c): Change{aggregate, null}, timestamp its end, the
 * headers of the record being processed. */
static rv_err_t emit_closed(const uint8_t *kb, size_t kl, int64_t end, const uint8_t *suffix,
                            const void *stored, size_t stored_len, void *opaque) {
    inst_t *in = opaque;
    int64_t start = (int64_t)rv__be64(suffix);
    void *key = NULL, *agg = NULL;
    int32_t key_len = -1, agg_len = -1;
    char msg[512] = "";
    rv_err_t err =
        rv_serde_deserialize(in->wp.ks, &key, &key_len, NULL, kb, (int32_t)kl, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read the key of a session of store %s: %s", in->cfg->store,
                    msg[0] ? msg : rv_err_str(err));
    if (!err)
        err = value_of(in, &agg, &agg_len, stored, stored_len);
    if (!err)
        err = forward(in, key, key_len, start, end, agg, agg_len, NULL, -1, in->rec->headers,
                      in->rec->header_cnt);
    rv_serde_free(in->wp.ks, key);
    rv_serde_free(in->wp.vs, agg);
    return err;
}

/* Kafka's maybeForwardFinalResult(): forwards every session whose end lies
 * in [max(0, last close time), close time - 1], ordered as the
 * time-ordered session store gives them (by end, key, start). */
static rv_err_t maybe_forward_final(inst_t *in, int64_t close) {
    if (!rv__window_emit_due(&in->wp, close))
        return RV_ERR_NO_ERROR;
    /* Session windows include their end: the closed ones end before the
     * close time. A single-point session [t, t] makes lo == hi useful. */
    int64_t hi = close - 1;
    if (hi < 0)
        return RV_ERR_NO_ERROR;
    int64_t lo = in->wp.last_close > 0 ? in->wp.last_close : 0;
    if (hi < lo)
        return RV_ERR_NO_ERROR;
    rv_err_t err = rv__window_scan(in->wp.store, SUFFIX_LEN, lo, hi, emit_closed, in);
    if (!err) {
        in->wp.last_close = close;
        /* Committed with the offsets (Kafka's
         * updateProcessorMetadata(storeName, close)). */
        err = rv__context_processor_metadata_put(in->wp.ctx, in->wp.store_name, close);
    }
    return err;
}

/* ---- The processor ---- */

static rv_err_t proc_init(rv_processor_context_t *ctx, void *state) {
    inst_t *in = state;
    const cfg_t *cfg = in->cfg;
    return rv__window_proc_init(&in->wp, ctx, cfg->store, cfg->key_serde, cfg->value_serde,
                                cfg->emit, cfg->flags.send_old_values, on_flush, in);
}

/* The current aggregate (NULL, -1: null). */
static void current(const inst_t *in, const void **v, int32_t *len) {
    if (in->cfg->kind == RV__AGG_COUNT) {
        *v = &in->counts[in->cur];
        *len = (int32_t)sizeof(int64_t);
        return;
    }
    rv__out_value_get(&in->out[in->cur], v, len);
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
    if (cfg->kind == RV__AGG_COUNT) {
        in->counts[0] = 0;
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(&in->out[0], RV__OUT_VALUE);
    if (cfg->kind == RV__AGG_REDUCE)
        return RV_ERR_NO_ERROR; /* null */
    return cfg->fn.initializer(&in->out[0], cfg->fn.initializer_opaque);
}

/* current = merger(key, current, v) when merging another session's
 * aggregate v in, else aggregator(key, v, current) for a record's value v.
 * For reduce, both are Kafka's reducer adapters: current == null ? v :
 * reducer(current, v); for count, v counts as its value when merging and
 * as 1 when added. */
static rv_err_t agg_combine(inst_t *in, const void *key, int32_t key_len, const void *v, int32_t vl,
                            bool merge) {
    const cfg_t *cfg = in->cfg;
    const void *a;
    int32_t al;
    current(in, &a, &al);
    int nx = 1 - in->cur;
    rv_err_t err;
    if (cfg->kind == RV__AGG_COUNT) {
        int64_t x, y = 1;
        if ((err = read_count(&x, a, al)) || (merge && (err = read_count(&y, v, vl))))
            return err;
        in->counts[nx] = x + y;
        in->cur = nx;
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(&in->out[nx], RV__OUT_VALUE);
    if (cfg->kind == RV__AGG_REDUCE && !a)
        err = v ? rv_out_value(&in->out[nx], v, vl) : RV_ERR_NO_ERROR;
    else if (cfg->kind == RV__AGG_REDUCE)
        err = cfg->fn.reducer(&in->out[nx], a, al, v, vl, cfg->fn.opaque);
    else if (merge)
        err = cfg->fn.merger(&in->out[nx], key, key_len, a, al, v, vl, cfg->fn.merger_opaque);
    else
        err = cfg->fn.aggregator(&in->out[nx], key, key_len, v, vl, a, al, cfg->fn.opaque);
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
    rv_err_t err = rv_session_store_find_sessions(&it, in->wp.store, kb, kbl, from, to);
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
        err = agg_combine(in, r->key, r->key_len, v, vl, true);
        rv_serde_free(in->wp.vs, v);
    }
    return err;
}

static rv_err_t proc_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                             void *state) {
    inst_t *in = state;
    const cfg_t *cfg = in->cfg;
    if (!r->key) {
        rv__window_skip(ctx, "null key");
        return RV_ERR_NO_ERROR;
    }
    in->rec = r;
    int64_t t = r->timestamp;
    int64_t close = rv__window_observe(&in->wp, t) - cfg->grace - cfg->gap;

    void *kb = NULL;
    int32_t kbl = -1;
    char msg[512] = "";
    rv_err_t err =
        rv_serde_serialize(in->wp.ks, &kb, &kbl, NULL, r->key, r->key_len, msg, sizeof msg);
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
        rv__window_log_expired(ctx, t, ms, me, true, close, in->wp.observed);
    } else {
        if (ms != t || me != t) {
            for (size_t i = 0; i < in->found_cnt && !err; i++) {
                found_t *f = &in->found[i];
                if ((err =
                         rv_session_store_remove(in->wp.store, kb, (size_t)kbl, f->start, f->end)))
                    break;
                if (!rv__window_forwards_updates(&in->wp))
                    continue;
                void *old = NULL;
                int32_t ol = -1;
                if (in->wp.send_old && (err = value_of(in, &old, &ol, f->bytes, f->len)))
                    break;
                err = maybe_forward_update(in, r->key, r->key_len, f->start, f->end, NULL, -1, old,
                                           ol);
                rv_serde_free(in->wp.vs, old);
            }
            if (err)
                goto done;
        }
        if ((err = agg_combine(in, r->key, r->key_len, r->value, r->value_len, false)))
            goto done;
        const void *agg;
        int32_t al;
        current(in, &agg, &al);
        void *bytes = NULL;
        int32_t bl = -1;
        if (agg &&
            (err = rv_serde_serialize(in->wp.vs, &bytes, &bl, NULL, agg, al, msg, sizeof msg))) {
            rv__log_err(FAC, "Failed to serialize a session of store %s: %s", cfg->store,
                        msg[0] ? msg : rv_err_str(err));
            goto done;
        }
        /* A null aggregate removes the session, as Kafka's put(key, null). */
        err = rv_session_store_put(in->wp.store, kb, (size_t)kbl, ms, me, bytes,
                                   bytes && bl > 0 ? (size_t)bl : 0);
        rv_serde_free(in->wp.vs, bytes);
        if (err)
            goto done;
        if ((err = maybe_forward_update(in, r->key, r->key_len, ms, me, agg, al, NULL, -1)))
            goto done;
    }
    err = maybe_forward_final(in, close);
done:
    found_clear(in);
    rv_serde_free(in->wp.ks, kb);
    return err;
}

static void proc_close(void *state) {
    inst_t *in = state;
    if (!in)
        return;
    rv__window_proc_close(&in->wp);
    found_clear(in);
    free(in->found);
    rv__out_free(&in->out[0]);
    rv__out_free(&in->out[1]);
    free(in);
}

static rv_err_t proc_get(rv_processor_t *out, void *opaque) {
    return rv__dsl_processor_new(out, sizeof(inst_t), opaque, proc_init, proc_process, proc_close);
}

/* ---- Building ---- */

rv_session_windowed_kstream_t *
rv_kgrouped_stream_windowed_by_session(rv_kgrouped_stream_t *g,
                                       const rv_session_windows_t *windows) {
    if (!rv__window_by_ok(g, windows != NULL))
        return NULL;
    rv_streams_builder_t *b = g->b;
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
    if (!w || !rv__window_emit_strategy_ok(w->g->b, strategy))
        return NULL;
    w->emit = strategy;
    return w;
}

static rv_ktable_t *session_aggregate(rv_session_windowed_kstream_t *w, rv__agg_kind_t kind,
                                      const rv__agg_fns_t *fn, const char *name,
                                      const rv_materialized_t *m) {
    if (!w || !rv__agg_fns_check(w->g->b, kind, RV__AGG_OF_SESSION, fn))
        return NULL;
    rv_kgrouped_stream_t *g = w->g;
    rv_streams_builder_t *b = g->b;
    cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->kind = kind;
    cfg->fn = *fn;
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
    const char *prefix = rv__kgrouped_store_name(b, cfg->kind, m, store, sizeof store);

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

    rv__agg_result_serdes(&cfg->key_serde, &cfg->value_serde, cfg->kind, m, g->key_serde,
                          g->value_serde);
    cfg->gap = gap;
    cfg->grace = grace;
    cfg->emit = w->emit;
    if (!(cfg->store = rv__dsl_strdup(b, store)))
        return NULL;

    const char *parents[] = {src->node};
    if (rv__dsl_add_processor(b, proc, proc_get, cfg, parents, 1))
        return NULL;
    rv_store_builder_t *sb = m && m->store_type == RV_STORE_TYPE_IN_MEMORY
                                 ? rv_store_builder_in_memory_session(store, retention)
                                 : rv_store_builder_persistent_session(store, retention);
    if (rv__window_store_add(b, store, sb, m, w->emit, proc))
        return NULL;
    /* The table's keys are Windowed<K>: Kafka's SessionWindowedSerde of the
     * key serde when one is known. */
    return rv__window_table_new(b, proc, cfg->key_serde,
                                cfg->key_serde ? rv_serde_session_windowed_new(cfg->key_serde)
                                               : NULL,
                                cfg->value_serde, m, &cfg->flags, RV__WINDOW_SESSION, gap, grace);
}

rv_ktable_t *rv_session_windowed_kstream_count(rv_session_windowed_kstream_t *w, const char *name,
                                               const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {0};
    return session_aggregate(w, RV__AGG_COUNT, &fn, name, materialized);
}

rv_ktable_t *rv_session_windowed_kstream_reduce(rv_session_windowed_kstream_t *w,
                                                rv_reducer_cb_t *reducer, void *opaque,
                                                const char *name,
                                                const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.reducer = reducer, .opaque = opaque};
    return session_aggregate(w, RV__AGG_REDUCE, &fn, name, materialized);
}

rv_ktable_t *rv_session_windowed_kstream_aggregate(
    rv_session_windowed_kstream_t *w, rv_initializer_cb_t *initializer, void *initializer_opaque,
    rv_aggregator_cb_t *aggregator, void *aggregator_opaque, rv_merger_cb_t *merger,
    void *merger_opaque, const char *name, const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.initializer = initializer,
                        .initializer_opaque = initializer_opaque,
                        .aggregator = aggregator,
                        .opaque = aggregator_opaque,
                        .merger = merger,
                        .merger_opaque = merger_opaque};
    return session_aggregate(w, RV__AGG_AGGREGATE, &fn, name, materialized);
}
