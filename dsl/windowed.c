/* dsl/windowed.c: windowed aggregations over time and sliding windows,
 * Kafka Streams' KGroupedStream.windowedBy(TimeWindows | SlidingWindows),
 * TimeWindowedKStreamImpl / SlidingWindowedKStreamImpl (count, reduce,
 * aggregate, emitStrategy) and their processors KStreamWindowAggregate
 * and KStreamSlidingWindowAggregate. The result is a KTable keyed by
 * rv_windowed_t whose rows live in a timestamped window store. Session
 * windows are in dsl/session_windowed.c; the contract is in
 * dsl/dsl_internal.h, the public side in rivulet/dsl.h.
 *
 * DESIGN
 *
 * Names, as Kafka's builder makes them: [count(Materialized without a
 * name) burns one store name], store "KSTREAM-AGGREGATE-STATE-STORE-n"
 * ("KSTREAM-REDUCE-STATE-STORE-n" for reduce; or Materialized's),
 * processor KSTREAM-AGGREGATE-n / KSTREAM-REDUCE-n, then the repartition
 * nodes when the key changed (rv__kgrouped_stream_source()).
 *
 * Store. A window store (rivulet/store.h) of window size `size` (sliding:
 * the time difference) and retention Materialized.retention_ms, else size
 * + grace (sliding: 2 * difference + grace), refused when smaller, with
 * Kafka's message. Its key is Kafka's window key of the grouped key's
 * bytes; its value is Kafka's ValueAndTimestamp layout: the 8-byte
 * big-endian timestamp of the window's newest record, then the aggregate
 * serialized with the value serde (rv__vt_encode()).
 *
 * Stream time is the processor's own observed maximum timestamp (Kafka's
 * observedStreamTime). A window closes when stream time - grace reaches
 * its end (sliding windows, whose end is inclusive: passes it). A record
 * for a closed window is dropped for that window with Kafka's log line
 * "Skipping record for expired window. ..." and counted
 * (rv__dsl_record_dropped()); a record with a null key is dropped and
 * counted too.
 *
 * Emission. On window update (the default) every changed window is
 * forwarded as Change{new, old when asked} with the window's timestamp;
 * with caching the store's cache forwards instead when it flushes or
 * evicts (the flush listener reads the window key apart into key and
 * window start). On window close (Kafka's emitStrategy(onWindowClose))
 * nothing is forwarded on update; after each record, at most once per
 * __emit.interval.ms.kstreams.windowed.aggregation__ of wall-clock time
 * and only when the close time progressed, the windows that closed since
 * the last emission are read from the store and forwarded in window start
 * then key order (the order of Kafka's time-ordered store), with old
 * value null. The store has no cache then, as Kafka's.
 *
 * Sliding windows follow KStreamSlidingWindowAggregate's reverse
 * iteration exactly (the windows of a key whose start lies in [t - 2d,
 * t + 1] are read newest first, then updated or created: the record's
 * left window [t - d, t], its right window [t + 1, t + 1 + d] when a later
 * record exists, and the previous record's right window), including the
 * "early record" path for t < d, whose windows would start before 0 and
 * are folded into [0, d]. The windows are read into memory before any is
 * written, as a RocksDB iterator's snapshot would see them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "dsl/dsl_internal.h"
#include "runtime/context_internal.h"
#include "state/store_internal.h"

#define FAC "dsl"

/* Window store keys end with [8-byte start][4-byte sequence number]. */
#define SUFFIX_LEN 12

/* ---- Handles ---- */

struct rv_time_windowed_kstream_s {
    rv_kgrouped_stream_t *g;
    bool sliding;
    int64_t size; /* sliding: the time difference */
    int64_t advance;
    int64_t grace;
    rv_emit_strategy_t emit;
};

static rv_time_windowed_kstream_t *windowed_new(rv_kgrouped_stream_t *g, bool sliding, int64_t size,
                                                int64_t advance, int64_t grace) {
    rv_time_windowed_kstream_t *w = rv__dsl_alloc(g->b, sizeof *w);
    if (!w)
        return NULL;
    w->g = g;
    w->sliding = sliding;
    w->size = size;
    w->advance = advance;
    w->grace = grace;
    w->emit = RV_EMIT_ON_WINDOW_UPDATE;
    return w;
}

rv_time_windowed_kstream_t *rv_kgrouped_stream_windowed_by(rv_kgrouped_stream_t *g,
                                                           const rv_time_windows_t *windows) {
    if (!rv__window_by_ok(g, windows != NULL))
        return NULL;
    rv_streams_builder_t *b = g->b;
    int64_t size = windows->size_ms, advance = windows->advance_ms ? windows->advance_ms : size;
    if (size <= 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Window size (sizeMs) must be larger than zero.");
        return NULL;
    }
    if (advance <= 0 || advance > size) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "Window advancement interval should be more than zero and less than window "
                     "duration which is %" PRId64 " ms, but given advancement interval is: %" PRId64
                     " ms",
                     size, advance);
        return NULL;
    }
    if (windows->grace_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Grace period must not be negative.");
        return NULL;
    }
    return windowed_new(g, false, size, advance, windows->grace_ms);
}

rv_time_windowed_kstream_t *
rv_kgrouped_stream_windowed_by_sliding(rv_kgrouped_stream_t *g,
                                       const rv_sliding_windows_t *windows) {
    if (!rv__window_by_ok(g, windows != NULL))
        return NULL;
    rv_streams_builder_t *b = g->b;
    if (windows->time_difference_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Window time difference must not be negative.");
        return NULL;
    }
    if (windows->grace_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Window grace period must not be negative.");
        return NULL;
    }
    return windowed_new(g, true, windows->time_difference_ms, 1, windows->grace_ms);
}

rv_time_windowed_kstream_t *rv_time_windowed_kstream_emit_strategy(rv_time_windowed_kstream_t *w,
                                                                   rv_emit_strategy_t strategy) {
    if (!w || !rv__window_emit_strategy_ok(w->g->b, strategy))
        return NULL;
    w->emit = strategy;
    return w;
}

/* ---- The processor ---- */

/* One windowed aggregation node's configuration (shared memory). */
typedef struct win_cfg_s {
    rv__ktable_flags_t flags; /* the result table's: send old values */
    rv__agg_kind_t kind;
    bool sliding;
    int64_t size, advance, grace;
    rv_emit_strategy_t emit;
    const char *store;                         /* shared memory */
    const rv_serde_t *key_serde, *value_serde; /* the store's; NULL = defaults */
    rv__agg_fns_t fn;                          /* the user's functions */
} win_cfg_t;

typedef struct win_inst_s {
    const win_cfg_t *cfg;
    rv__window_proc_t wp;             /* store, serdes, stream time, emit on close */
    const rv_processor_record_t *rec; /* the record being processed */
    void *kb;                         /* its key's bytes */
    int32_t kl;
    rv_out_t out_init, out_new;
    int64_t count_init, count_new;
} win_inst_t;

/* A window's row as read: the aggregate deserialized (owned; NULL when
 * none or null) and its timestamp. */
typedef struct row_s {
    int64_t start;
    void *value;
    int32_t len;
    int64_t ts;
    bool present;
} row_t;

static void row_free(win_inst_t *in, row_t *r) {
    rv_serde_free(in->wp.vs, r->value);
    r->value = NULL;
    r->len = -1;
}

static rv_err_t row_decode(win_inst_t *in, row_t *r, const void *stored, size_t len) {
    char msg[512] = "";
    rv_err_t err =
        rv__vt_decode(&r->value, &r->len, &r->ts, in->wp.vs, NULL, stored, len, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read a window of store %s: %s", in->cfg->store, msg);
    r->present = !err;
    return err;
}

/* Kafka's logSkippedRecordForExpiredWindow() for the current record. */
static void expired_log(win_inst_t *in, int64_t start, int64_t end, bool inclusive, int64_t close) {
    rv__window_log_expired(in->wp.ctx, in->rec->timestamp, start, end, inclusive, close,
                           in->wp.observed);
}

/* The initializer's value (count 0, reduce null, aggregate the user's);
 * valid until the next call. */
static rv_err_t initial(win_inst_t *in, const void **v, int32_t *len) {
    const win_cfg_t *cfg = in->cfg;
    *v = NULL;
    *len = -1;
    if (cfg->kind == RV__AGG_COUNT) {
        in->count_init = 0;
        *v = &in->count_init;
        *len = (int32_t)sizeof(int64_t);
    } else if (cfg->kind == RV__AGG_AGGREGATE) {
        rv__out_reset(&in->out_init, RV__OUT_VALUE);
        rv_err_t err = cfg->fn.initializer(&in->out_init, cfg->fn.initializer_opaque);
        if (err)
            return err;
        rv__out_value_get(&in->out_init, v, len);
    }
    return RV_ERR_NO_ERROR;
}

/* The aggregator applied to the current record and `agg` (Kafka's
 * countAggregator, aggregatorForReducer or the user's); the result is
 * valid until the next call. */
static rv_err_t apply(win_inst_t *in, const void *agg, int32_t agg_len, const void **res,
                      int32_t *res_len) {
    const win_cfg_t *cfg = in->cfg;
    const rv_processor_record_t *r = in->rec;
    rv_err_t err;
    switch (cfg->kind) {
    case RV__AGG_COUNT: {
        int64_t n = 0;
        if (agg) {
            if (agg_len != (int32_t)sizeof(int64_t)) {
                rv__log_err(FAC, "A count's value of %" PRId32 " bytes is not an int64", agg_len);
                return RV_ERR__DESERIALIZATION;
            }
            memcpy(&n, agg, sizeof n);
        }
        in->count_new = n + 1;
        *res = &in->count_new;
        *res_len = (int32_t)sizeof(int64_t);
        return RV_ERR_NO_ERROR;
    }
    case RV__AGG_REDUCE:
        if (!agg) {
            *res = r->value;
            *res_len = r->value ? r->value_len : -1;
            return RV_ERR_NO_ERROR;
        }
        rv__out_reset(&in->out_new, RV__OUT_VALUE);
        err = cfg->fn.reducer(&in->out_new, agg, agg_len, r->value, r->value_len, cfg->fn.opaque);
        break;
    default:
        rv__out_reset(&in->out_new, RV__OUT_VALUE);
        err = cfg->fn.aggregator(&in->out_new, r->key, r->key_len, r->value, r->value_len, agg,
                                 agg_len, cfg->fn.opaque);
        break;
    }
    if (err)
        return err;
    rv__out_value_get(&in->out_new, res, res_len);
    return RV_ERR_NO_ERROR;
}

/* Forwards Change{new, old} for the window [start, end) of `key`. */
static rv_err_t forward(win_inst_t *in, const void *key, int32_t key_len, int64_t start,
                        const void *nv, int32_t nl, const void *ov, int32_t ol, int64_t ts) {
    return rv__window_forward(&in->wp, key, key_len, start, start + in->cfg->size, nv, nl, ov, ol,
                              ts, NULL, 0);
}

/* Writes the window `start` of the current key: value nv with timestamp
 * ts (NULL deletes), and forwards the update unless the cache or the
 * emit-on-close strategy will (Kafka's maybeForwardUpdate()). */
static rv_err_t put_window(win_inst_t *in, int64_t start, const void *nv, int32_t nl,
                           const void *old, int32_t old_len, int64_t ts) {
    void *stored = NULL;
    size_t stored_len = 0;
    char msg[512] = "";
    rv_err_t err =
        rv__vt_encode(&stored, &stored_len, in->wp.vs, NULL, nv, nl, ts, msg, sizeof msg);
    if (err) {
        rv__log_err(FAC, "Failed to serialize a window of store %s: %s", in->cfg->store,
                    msg[0] ? msg : rv_err_str(err));
        return err;
    }
    err = rv_window_store_put(in->wp.store, in->kb, (size_t)in->kl, stored, stored_len, start);
    free(stored);
    if (err || !rv__window_forwards_updates(&in->wp))
        return err;
    return forward(in, in->rec->key, in->rec->key_len, start, nv, nl, old, old_len, ts);
}

/* Reads the window `start` of the current key into *row (present false
 * when there is none). */
static rv_err_t fetch_row(win_inst_t *in, int64_t start, row_t *row) {
    memset(row, 0, sizeof *row);
    row->start = start;
    row->len = -1;
    rv_bytes_t b = {0};
    rv_err_t err = rv_window_store_fetch_value(&b, in->wp.store, in->kb, (size_t)in->kl, start);
    if (err == RV_ERR__NOENT)
        return RV_ERR_NO_ERROR;
    if (err)
        return err;
    err = row_decode(in, row, b.data, b.len);
    rv_bytes_free(&b);
    return err;
}

/* ---- Emit on window close (AbstractKStreamTimeWindowAggregateProcessor) ---- */

/* The first window start and the count of windowsFor(t) (time windows). */
static void windows_for(const win_cfg_t *cfg, int64_t t, int64_t *first, int64_t *last) {
    int64_t lo = t - cfg->size + cfg->advance;
    if (lo < 0)
        lo = 0;
    *first = lo / cfg->advance * cfg->advance;
    *last = t < 0 ? *first - cfg->advance : t / cfg->advance * cfg->advance;
}

/* Forwards one closed window read by rv__window_scan() (see
 * dsl/window_common.c): Change{aggregate, null} with the window's
 * timestamp and the current record's headers. */
static rv_err_t emit_closed(const uint8_t *kb, size_t kl, int64_t start, const uint8_t *suffix,
                            const void *stored, size_t stored_len, void *opaque) {
    win_inst_t *in = opaque;
    (void)suffix;
    void *key = NULL;
    int32_t key_len = -1;
    char msg[512] = "";
    rv_err_t err =
        rv_serde_deserialize(in->wp.ks, &key, &key_len, NULL, kb, (int32_t)kl, msg, sizeof msg);
    if (err) {
        rv__log_err(FAC, "Failed to read a key of window store %s: %s", in->cfg->store, msg);
        return err;
    }
    row_t row = {0};
    if (!(err = row_decode(in, &row, stored, stored_len)))
        err = rv__window_forward(&in->wp, key, key_len, start, start + in->cfg->size, row.value,
                                 row.len, NULL, -1, row.ts, in->rec->headers, in->rec->header_cnt);
    row_free(in, &row);
    rv_serde_free(in->wp.ks, key);
    return err;
}

/* Kafka's maybeForwardFinalResult(). */
static rv_err_t maybe_forward_final(win_inst_t *in, int64_t close) {
    const win_cfg_t *cfg = in->cfg;
    if (!rv__window_emit_due(&in->wp, close))
        return RV_ERR_NO_ERROR;
    int64_t upper, lower;
    if (cfg->sliding) {
        upper = close - cfg->size - 1;
        lower = in->wp.last_close == -1
                    ? 0
                    : (in->wp.last_close - cfg->size > 0 ? in->wp.last_close - cfg->size : 0);
    } else {
        /* Window ends are exclusive: the lower bound is one past the last
         * emitted window's start range. */
        upper = close - cfg->size;
        lower = in->wp.last_close == -1
                    ? 0
                    : (in->wp.last_close - cfg->size > 0 ? in->wp.last_close - cfg->size : 0) + 1;
    }
    if (upper < 0)
        return RV_ERR_NO_ERROR; /* no window closed yet */
    if (!cfg->sliding && in->wp.last_close != -1) {
        int64_t f1, l1, f2, l2;
        windows_for(cfg, upper, &f1, &l1);
        windows_for(cfg, lower - 1, &f2, &l2);
        if (f1 == f2 && l1 == l2)
            return RV_ERR_NO_ERROR; /* no new window closed */
    }
    rv_err_t err = rv__window_scan(in->wp.store, SUFFIX_LEN, lower, upper, emit_closed, in);
    if (!err) {
        in->wp.last_close = close;
        /* Committed with the offsets (Kafka's
         * updateProcessorMetadata(storeName, close)). */
        err = rv__context_processor_metadata_put(in->wp.ctx, in->wp.store_name, close);
    }
    return err;
}

/* ---- Time windows (KStreamWindowAggregate) ---- */

static rv_err_t process_time(win_inst_t *in, int64_t close) {
    const win_cfg_t *cfg = in->cfg;
    int64_t ts = in->rec->timestamp, first, last;
    windows_for(cfg, ts, &first, &last);
    for (int64_t start = first; start <= ts; start += cfg->advance) {
        int64_t end = start + cfg->size;
        if (end <= close) {
            expired_log(in, start, end, false, close);
            continue;
        }
        row_t old;
        rv_err_t err = fetch_row(in, start, &old);
        if (err)
            return err;
        const void *base = old.value, *nv;
        int32_t base_len = old.len, nl;
        int64_t nts = ts;
        if (!old.value) {
            err = initial(in, &base, &base_len);
        } else if (old.ts > ts) {
            nts = old.ts;
        }
        if (!err)
            err = apply(in, base, base_len, &nv, &nl);
        if (!err)
            err = put_window(in, start, nv, nl, base, base_len, nts);
        row_free(in, &old);
        if (err)
            return err;
    }
    return RV_ERR_NO_ERROR;
}

/* ---- Sliding windows (KStreamSlidingWindowAggregate) ---- */

/* The windows of the current key read for one record. */
typedef struct rows_s {
    row_t *v;
    size_t cnt;
} rows_t;

static void rows_free(win_inst_t *in, rows_t *rs) {
    for (size_t i = 0; i < rs->cnt; i++)
        row_free(in, &rs->v[i]);
    free(rs->v);
    rs->v = NULL;
    rs->cnt = 0;
}

static rv_err_t rows_read(win_inst_t *in, rows_t *rs, int64_t from, int64_t to, bool backward) {
    rv_window_iter_t *it = NULL;
    rv_err_t err = (backward ? rv_window_store_backward_fetch : rv_window_store_fetch)(
        &it, in->wp.store, in->kb, (size_t)in->kl, from, to);
    if (err)
        return err;
    size_t cap = 0;
    int rc;
    while ((rc = rv_window_iter_next(it)) == 1) {
        if (rs->cnt == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            row_t *n = realloc(rs->v, ncap * sizeof *n);
            if (!n) {
                rc = RV_ERR__NOMEM;
                break;
            }
            rs->v = n;
            cap = ncap;
        }
        size_t vl;
        const void *v = rv_window_iter_value(it, &vl);
        row_t *r = &rs->v[rs->cnt];
        memset(r, 0, sizeof *r);
        r->start = rv_window_iter_window_start(it);
        if ((err = row_decode(in, r, v, vl))) {
            rc = err;
            break;
        }
        rs->cnt++;
    }
    rv_window_iter_destroy(it);
    return rc < 0 ? (rv_err_t)rc : RV_ERR_NO_ERROR;
}

static bool has_start(const rows_t *rs, size_t seen, int64_t start) {
    for (size_t i = 0; i < seen; i++)
        if (rs->v[i].start == start)
            return true;
    return false;
}

/* Kafka's updateWindowAndForward(): aggregates the record into the window
 * [start, start + d] whose current row is (value, vts). */
static rv_err_t update_window(win_inst_t *in, int64_t start, const void *value, int32_t value_len,
                              int64_t vts, int64_t close) {
    int64_t end = start + in->cfg->size, ts = in->rec->timestamp;
    if (end < close) {
        expired_log(in, start, end, true, close);
        return RV_ERR_NO_ERROR;
    }
    const void *nv;
    int32_t nl;
    rv_err_t err = apply(in, value, value_len, &nv, &nl);
    if (err)
        return err;
    int64_t nts = !value ? ts : (vts > ts ? vts : ts);
    return put_window(in, start, nv, nl, value, value_len, nts);
}

/* A window made of the initializer's value and the record. */
static rv_err_t new_window(win_inst_t *in, int64_t start, int64_t close) {
    const void *iv;
    int32_t il;
    rv_err_t err = initial(in, &iv, &il);
    return err ? err : update_window(in, start, iv, il, in->rec->timestamp, close);
}

/* Kafka's createCurrentRecordRightWindow(): the record's right window
 * holds the later records' aggregate as it is. */
static rv_err_t right_window(win_inst_t *in, const row_t *right) {
    int64_t start = in->rec->timestamp + 1;
    void *stored = NULL;
    size_t stored_len = 0;
    char msg[512] = "";
    rv_err_t err = rv__vt_encode(&stored, &stored_len, in->wp.vs, NULL, right->value, right->len,
                                 right->ts, msg, sizeof msg);
    if (!err)
        err = rv_window_store_put(in->wp.store, in->kb, (size_t)in->kl, stored, stored_len, start);
    free(stored);
    if (err || !rv__window_forwards_updates(&in->wp))
        return err;
    return forward(in, in->rec->key, in->rec->key_len, start, right->value, right->len, NULL, -1,
                   right->ts);
}

/* Kafka's createWindows(). */
static rv_err_t create_windows(win_inst_t *in, int64_t close, const rows_t *rs, size_t seen,
                               const row_t *right, const row_t *left, bool left_created,
                               bool right_created, bool has_prev, int64_t prev) {
    int64_t ts = in->rec->timestamp, d = in->cfg->size;
    rv_err_t err;
    if (has_prev) {
        int64_t prs = prev + 1;
        if (!has_start(rs, seen, prs) && prs + d >= ts && (err = new_window(in, prs, close)))
            return err;
    }
    if (!left_created) {
        if (has_prev && ts - d <= prev && left)
            err = update_window(in, ts - d, left->value, left->len, ts, close);
        else
            err = new_window(in, ts - d, close);
        if (err)
            return err;
    }
    if (!right_created && right && right->ts > ts)
        return right_window(in, right);
    return RV_ERR_NO_ERROR;
}

static rv_err_t process_reverse(win_inst_t *in, int64_t close) {
    int64_t ts = in->rec->timestamp, d = in->cfg->size;
    rows_t rs = {0};
    int64_t from = ts - 2 * d > 0 ? ts - 2 * d : 0;
    rv_err_t err = rows_read(in, &rs, from, ts + 1, true);
    const row_t *right = NULL, *left = NULL;
    bool left_created = false, right_created = false, has_prev = false, done = false;
    int64_t prev = 0;
    size_t seen = 0;
    for (size_t i = 0; !err && i < rs.cnt; i++) {
        const row_t *w = &rs.v[i];
        seen = i + 1;
        int64_t end = w->start + d;
        if (w->start == ts + 1) {
            right_created = true;
        } else if (end > ts) {
            if (!right)
                right = w;
            err = update_window(in, w->start, w->value, w->len, w->ts, close);
        } else if (end == ts) {
            left_created = true;
            err = update_window(in, w->start, w->value, w->len, w->ts, close);
            if (w->ts < ts) {
                has_prev = true;
                prev = w->ts;
            } else {
                done = true;
                break;
            }
        } else {
            left = w;
            has_prev = true;
            prev = w->ts;
            break;
        }
    }
    if (!err && !done)
        err = create_windows(in, close, &rs, seen, right, left, left_created, right_created,
                             has_prev, prev);
    rows_free(in, &rs);
    return err;
}

/* Kafka's processEarly(): 0 <= t < d. */
static rv_err_t process_early(win_inst_t *in, int64_t close) {
    int64_t ts = in->rec->timestamp;
    rows_t rs = {0};
    rv_err_t err = rows_read(in, &rs, 0, ts + 1, false);
    const row_t *combined = NULL, *right = NULL;
    bool right_created = false, has_prev = false;
    int64_t prev = 0;
    for (size_t i = 0; !err && i < rs.cnt; i++) {
        const row_t *w = &rs.v[i];
        if (w->start == 0) {
            combined = w;
            if (w->ts < ts) {
                has_prev = true;
                prev = w->ts;
            }
        } else if (w->start <= ts) {
            right = w;
            err = update_window(in, w->start, w->value, w->len, w->ts, close);
        } else if (w->start == ts + 1) {
            right_created = true;
        } else {
            rv__log_err(FAC,
                        "Unexpected window with start %" PRId64
                        " found when processing record at %" PRId64
                        " in `KStreamSlidingWindowAggregate`.",
                        w->start, ts);
            err = RV_ERR__STATE;
        }
    }
    if (!err && !right && combined && combined->ts > ts)
        right = combined;
    if (!err && !right_created && right && right->ts > ts)
        err = right_window(in, right);
    if (!err && has_prev && !has_start(&rs, rs.cnt, prev + 1))
        err = new_window(in, prev + 1, close);
    if (!err) {
        if (!combined)
            err = new_window(in, 0, close);
        else
            err = update_window(in, 0, combined->value, combined->len, combined->ts, close);
    }
    rows_free(in, &rs);
    return err;
}

/* ---- Processor callbacks ---- */

static rv_err_t on_flush(rv_processor_context_t *ctx, const void *kb, size_t kl,
                         const void *new_stored, size_t new_len, const void *old_stored,
                         size_t old_len, void *opaque) {
    win_inst_t *in = opaque;
    (void)ctx;
    if (kl < SUFFIX_LEN || kl - SUFFIX_LEN > INT32_MAX) {
        rv__log_err(FAC, "A window key of %zu bytes is shorter than its window", kl);
        return RV_ERR__DESERIALIZATION;
    }
    int64_t start;
    rv_serde_int64_read(&start, (const uint8_t *)kb + kl - SUFFIX_LEN, 8);
    char msg[512] = "";
    void *key = NULL;
    int32_t key_len = -1;
    row_t nr = {0}, orow = {0};
    nr.len = orow.len = -1;
    rv_err_t err = rv_serde_deserialize(in->wp.ks, &key, &key_len, NULL, kb,
                                        (int32_t)(kl - SUFFIX_LEN), msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read a flushed window key of store %s: %s", in->cfg->store,
                    msg);
    if (!err && new_stored)
        err = row_decode(in, &nr, new_stored, new_len);
    if (!err && !new_stored)
        nr.ts = rv_processor_context_current_stream_time_ms(in->wp.ctx);
    if (!err && old_stored && in->wp.send_old)
        err = row_decode(in, &orow, old_stored, old_len);
    if (!err)
        err = forward(in, key, key_len, start, nr.value, nr.len, orow.value, orow.len, nr.ts);
    row_free(in, &nr);
    row_free(in, &orow);
    rv_serde_free(in->wp.ks, key);
    return err;
}

static rv_err_t win_init(rv_processor_context_t *ctx, void *state) {
    win_inst_t *in = state;
    const win_cfg_t *cfg = in->cfg;
    return rv__window_proc_init(&in->wp, ctx, cfg->store, cfg->key_serde, cfg->value_serde,
                                cfg->emit, cfg->flags.send_old_values, on_flush, in);
}

static rv_err_t win_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                            void *state) {
    win_inst_t *in = state;
    const win_cfg_t *cfg = in->cfg;
    in->rec = r;
    if (!r->key || (cfg->sliding && !r->value)) {
        rv__window_skip(ctx, cfg->sliding ? "null key or value" : "null key");
        return RV_ERR_NO_ERROR;
    }
    int64_t ts = r->timestamp;
    int64_t close = rv__window_observe(&in->wp, ts) - cfg->grace;
    if (cfg->sliding && ts + cfg->size < close) {
        expired_log(in, ts, ts + cfg->size, true, close);
        return RV_ERR_NO_ERROR;
    }
    char msg[512] = "";
    rv_err_t err =
        rv_serde_serialize(in->wp.ks, &in->kb, &in->kl, NULL, r->key, r->key_len, msg, sizeof msg);
    if (err) {
        rv__log_err(FAC, "Failed to serialize the key of a window of store %s: %s", cfg->store,
                    msg[0] ? msg : rv_err_str(err));
        return err;
    }
    if (!cfg->sliding)
        err = process_time(in, close);
    else if (ts < cfg->size)
        err = process_early(in, close);
    else
        err = process_reverse(in, close);
    rv_serde_free(in->wp.ks, in->kb);
    in->kb = NULL;
    /* Kafka's early-record path returns before looking for final
     * results; the others look. */
    if (!err && !(cfg->sliding && ts < cfg->size))
        err = maybe_forward_final(in, close);
    return err;
}

static void win_close(void *state) {
    win_inst_t *in = state;
    if (!in)
        return;
    rv__window_proc_close(&in->wp);
    rv__out_free(&in->out_init);
    rv__out_free(&in->out_new);
    free(in);
}

static rv_err_t win_get(rv_processor_t *out, void *opaque) {
    return rv__dsl_processor_new(out, sizeof(win_inst_t), opaque, win_init, win_process, win_close);
}

/* ---- The aggregations ---- */

static rv_ktable_t *windowed_aggregate(rv_time_windowed_kstream_t *w, rv__agg_kind_t kind,
                                       const rv__agg_fns_t *fn, const char *name,
                                       const rv_materialized_t *m) {
    if (!w || !rv__agg_fns_check(w->g->b, kind, RV__AGG_OF_STREAM, fn))
        return NULL;
    rv_kgrouped_stream_t *g = w->g;
    rv_streams_builder_t *b = g->b;
    win_cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->kind = kind;
    cfg->fn = *fn;
    char store[512], proc[512];
    const char *prefix = rv__kgrouped_store_name(b, cfg->kind, m, store, sizeof store);

    /* WindowStoreMaterializer / SlidingWindowStoreMaterializer. */
    int64_t need = w->sliding ? 2 * w->size + w->grace : w->size + w->grace;
    int64_t retention = m && m->retention_ms ? m->retention_ms : need;
    if (need > retention) {
        if (w->sliding)
            rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                         "The retention period of the window store %s must be no smaller than 2 "
                         "* time difference plus the grace period. Got time difference=[%" PRId64
                         "], grace=[%" PRId64 "], retention=[%" PRId64 "]",
                         store, w->size, w->grace, retention);
        else
            rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                         "The retention period of the window store %s must be no smaller than its "
                         "window size plus the grace period. Got size=[%" PRId64
                         "], grace=[%" PRId64 "], retention=[%" PRId64 "]",
                         store, w->size, w->grace, retention);
        return NULL;
    }
    rv__dsl_name(b, name, prefix, proc, sizeof proc);
    rv_kstream_t *src = rv__kgrouped_stream_source(g, store);
    if (!src)
        return NULL;

    cfg->sliding = w->sliding;
    cfg->size = w->size;
    cfg->advance = w->advance;
    cfg->grace = w->grace;
    cfg->emit = w->emit;
    rv__agg_result_serdes(&cfg->key_serde, &cfg->value_serde, cfg->kind, m, g->key_serde,
                          g->value_serde);
    if (!(cfg->store = rv__dsl_strdup(b, store)))
        return NULL;

    const char *parents[] = {src->node};
    if (rv__dsl_add_processor(b, proc, win_get, cfg, parents, 1))
        return NULL;
    rv_store_builder_t *sb = m && m->store_type == RV_STORE_TYPE_IN_MEMORY
                                 ? rv_store_builder_in_memory_window(store, retention, w->size, 0)
                                 : rv_store_builder_persistent_window(store, retention, w->size, 0);
    if (sb) /* Kafka's TimestampedWindowStore: values are rv__vt_encode() rows */
        rv__store_builder_set_timestamped(sb);
    if (rv__window_store_add(b, store, sb, m, w->emit, proc))
        return NULL;
    /* Kafka's FullTimeWindowedSerde of the key serde, when one is known. */
    return rv__window_table_new(
        b, proc, cfg->key_serde,
        cfg->key_serde ? rv_serde_time_windowed_new(cfg->key_serde, w->size) : NULL,
        cfg->value_serde, m, &cfg->flags, RV__WINDOW_TIME, w->size, w->grace);
}

rv_ktable_t *rv_time_windowed_kstream_count(rv_time_windowed_kstream_t *w, const char *name,
                                            const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {0};
    return windowed_aggregate(w, RV__AGG_COUNT, &fn, name, materialized);
}

rv_ktable_t *rv_time_windowed_kstream_reduce(rv_time_windowed_kstream_t *w,
                                             rv_reducer_cb_t *reducer, void *opaque,
                                             const char *name,
                                             const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.reducer = reducer, .opaque = opaque};
    return windowed_aggregate(w, RV__AGG_REDUCE, &fn, name, materialized);
}

rv_ktable_t *rv_time_windowed_kstream_aggregate(rv_time_windowed_kstream_t *w,
                                                rv_initializer_cb_t *initializer,
                                                void *initializer_opaque,
                                                rv_aggregator_cb_t *aggregator,
                                                void *aggregator_opaque, const char *name,
                                                const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.initializer = initializer,
                        .initializer_opaque = initializer_opaque,
                        .aggregator = aggregator,
                        .opaque = aggregator_opaque};
    return windowed_aggregate(w, RV__AGG_AGGREGATE, &fn, name, materialized);
}
