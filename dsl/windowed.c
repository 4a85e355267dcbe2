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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "dsl/dsl_internal.h"

#define FAC "dsl"
#define EMIT_INTERVAL_CONF "__emit.interval.ms.kstreams.windowed.aggregation__"

/* ---- Dropped records ---- */

static atomic_int_fast64_t dropped_records;

void rv__dsl_record_dropped(void) {
    atomic_fetch_add(&dropped_records, 1);
}

int64_t rv__dsl_dropped_records(void) {
    return (int64_t)atomic_load(&dropped_records);
}

/* ---- The grouped stream's source ---- */

/* Kafka's test for a generated repartition prefix ("KSTREAM.*-[0-9]{10}"). */
static bool generated_name(const char *s) {
    size_t n = strlen(s);
    if (n < 7 + 11 || strncmp(s, "KSTREAM", 7) || s[n - 11] != '-')
        return false;
    for (size_t i = n - 10; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

rv_kstream_t *rv__kgrouped_stream_source(rv_kgrouped_stream_t *g, const char *store) {
    rv_streams_builder_t *b = g->b;
    rv_kstream_t *src = g->stream;
    if (!src->repartition_required)
        return src;
    if (g->repartitioned) {
        /* The named repartition topic exists: Kafka still burns the
         * names of the nodes it would have made. */
        char tmp[64];
        rv__dsl_name(b, NULL, "KSTREAM-SINK-", tmp, sizeof tmp);
        rv__dsl_name(b, NULL, "KSTREAM-FILTER-", tmp, sizeof tmp);
        rv__dsl_name(b, NULL, "KSTREAM-SOURCE-", tmp, sizeof tmp);
        return g->repartitioned;
    }
    const char *base = g->repartition_name ? g->repartition_name : store;
    src =
        rv__kstream_repartition_for(src, base, generated_name(base), g->key_serde, g->value_serde);
    if (src && g->repartition_name)
        g->repartitioned = src;
    return src;
}

/* ---- Handles ---- */

struct rv_time_windowed_kstream_s {
    rv_kgrouped_stream_t *g;
    bool sliding;
    int64_t size; /* sliding: the time difference */
    int64_t advance;
    int64_t grace;
    rv_emit_strategy_t emit;
};

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

rv_time_windowed_kstream_t *rv_kgrouped_stream_windowed_by(rv_kgrouped_stream_t *g,
                                                           const rv_time_windows_t *windows) {
    if (!g || !builder_ok(g->b))
        return NULL;
    rv_streams_builder_t *b = g->b;
    if (!windows) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "windows can't be null");
        return NULL;
    }
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
    rv_time_windowed_kstream_t *w = rv__dsl_alloc(b, sizeof *w);
    if (!w)
        return NULL;
    w->g = g;
    w->size = size;
    w->advance = advance;
    w->grace = windows->grace_ms;
    w->emit = RV_EMIT_ON_WINDOW_UPDATE;
    return w;
}

rv_time_windowed_kstream_t *
rv_kgrouped_stream_windowed_by_sliding(rv_kgrouped_stream_t *g,
                                       const rv_sliding_windows_t *windows) {
    if (!g || !builder_ok(g->b))
        return NULL;
    rv_streams_builder_t *b = g->b;
    if (!windows) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "windows can't be null");
        return NULL;
    }
    if (windows->time_difference_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Window time difference must not be negative.");
        return NULL;
    }
    if (windows->grace_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Window grace period must not be negative.");
        return NULL;
    }
    rv_time_windowed_kstream_t *w = rv__dsl_alloc(b, sizeof *w);
    if (!w)
        return NULL;
    w->g = g;
    w->sliding = true;
    w->size = windows->time_difference_ms;
    w->advance = 1;
    w->grace = windows->grace_ms;
    w->emit = RV_EMIT_ON_WINDOW_UPDATE;
    return w;
}

rv_time_windowed_kstream_t *rv_time_windowed_kstream_emit_strategy(rv_time_windowed_kstream_t *w,
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

/* ---- The processor ---- */

typedef enum win_kind_e { WIN_COUNT, WIN_REDUCE, WIN_AGGREGATE } win_kind_t;

/* One windowed aggregation node's configuration (shared memory). */
typedef struct win_cfg_s {
    rv__ktable_flags_t flags; /* the result table's: send old values */
    win_kind_t kind;
    bool sliding;
    int64_t size, advance, grace;
    rv_emit_strategy_t emit;
    const char *store;                         /* shared memory */
    const rv_serde_t *key_serde, *value_serde; /* the store's; NULL = defaults */
    rv_initializer_cb_t *initializer;
    void *initializer_opaque;
    rv_aggregator_cb_t *aggregator;
    rv_reducer_cb_t *reducer;
    void *opaque;
} win_cfg_t;

typedef struct win_inst_s {
    const win_cfg_t *cfg;
    rv_processor_context_t *ctx;
    rv_kv_store_t *store;
    const rv_serde_t *kser, *vser; /* resolved */
    bool cached;
    rv__flush_binding_t binding;
    int64_t observed;  /* observed stream time, -1 before the first record */
    int64_t last_emit; /* close time of the last final emission, -1 when none */
    int64_t next_emit; /* wall-clock time before which no final emission runs */
    int64_t emit_interval;
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
    rv_serde_free(in->vser, r->value);
    r->value = NULL;
    r->len = -1;
}

static rv_err_t row_decode(win_inst_t *in, row_t *r, const void *stored, size_t len) {
    char msg[512] = "";
    rv_err_t err =
        rv__vt_decode(&r->value, &r->len, &r->ts, in->vser, NULL, stored, len, msg, sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read a window of store %s: %s", in->cfg->store, msg);
    r->present = !err;
    return err;
}

static void skip_log(win_inst_t *in, const char *what) {
    const char *topic;
    int32_t partition;
    int64_t offset;
    if (rv_processor_context_record_metadata(in->ctx, &topic, &partition, &offset))
        rv__log_warn(FAC,
                     "Skipping record due to %s. topic=[%s] partition=[%" PRId32
                     "] offset=[%" PRId64 "]",
                     what, topic, partition, offset);
    else
        rv__log_warn(FAC, "Skipping record due to %s. Topic, partition, and offset not known.",
                     what);
    rv__dsl_record_dropped();
}

/* Kafka's logSkippedRecordForExpiredWindow(). */
static void expired_log(win_inst_t *in, int64_t start, int64_t end, bool inclusive, int64_t close) {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t ts = in->rec->timestamp;
    char window[64];
    snprintf(window, sizeof window, "[%" PRId64 ",%" PRId64 "%c", start, end,
             inclusive ? ']' : ')');
    if (rv_processor_context_record_metadata(in->ctx, &topic, &partition, &offset))
        rv__log_warn(FAC,
                     "Skipping record for expired window. topic=[%s] partition=[%" PRId32
                     "] offset=[%" PRId64 "] timestamp=[%" PRId64 "] window=%s expiration=[%" PRId64
                     "] streamTime=[%" PRId64 "]",
                     topic, partition, offset, ts, window, close, in->observed);
    else
        rv__log_warn(FAC,
                     "Skipping record for expired window. Topic, partition, and offset not "
                     "known. timestamp=[%" PRId64 "] window=%s expiration=[%" PRId64
                     "] streamTime=[%" PRId64 "]",
                     ts, window, close, in->observed);
    rv__dsl_record_dropped();
}

/* The value an rv_out_t holds after a user function. */
static void out_value(const rv_out_t *out, const void **v, int32_t *len) {
    if (out->value_set && out->cnt > 0 && out->items[0].value) {
        *v = out->items[0].value;
        *len = out->items[0].value_len;
    } else {
        *v = NULL;
        *len = -1;
    }
}

/* The initializer's value (count 0, reduce null, aggregate the user's);
 * valid until the next call. */
static rv_err_t initial(win_inst_t *in, const void **v, int32_t *len) {
    const win_cfg_t *cfg = in->cfg;
    *v = NULL;
    *len = -1;
    if (cfg->kind == WIN_COUNT) {
        in->count_init = 0;
        *v = &in->count_init;
        *len = (int32_t)sizeof(int64_t);
    } else if (cfg->kind == WIN_AGGREGATE) {
        rv__out_reset(&in->out_init, RV__OUT_VALUE);
        rv_err_t err = cfg->initializer(&in->out_init, cfg->initializer_opaque);
        if (err)
            return err;
        out_value(&in->out_init, v, len);
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
    case WIN_COUNT: {
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
    case WIN_REDUCE:
        if (!agg) {
            *res = r->value;
            *res_len = r->value ? r->value_len : -1;
            return RV_ERR_NO_ERROR;
        }
        rv__out_reset(&in->out_new, RV__OUT_VALUE);
        err = cfg->reducer(&in->out_new, agg, agg_len, r->value, r->value_len, cfg->opaque);
        break;
    default:
        rv__out_reset(&in->out_new, RV__OUT_VALUE);
        err = cfg->aggregator(&in->out_new, r->key, r->key_len, r->value, r->value_len, agg,
                              agg_len, cfg->opaque);
        break;
    }
    if (err)
        return err;
    out_value(&in->out_new, res, res_len);
    return RV_ERR_NO_ERROR;
}

/* Forwards Change{new, old} for the window [start, end) of `key`. */
static rv_err_t forward(win_inst_t *in, const void *key, int32_t key_len, int64_t start,
                        const void *nv, int32_t nl, const void *ov, int32_t ol, int64_t ts,
                        const rv_header_t *headers, size_t header_cnt) {
    rv_windowed_t w = {key, key_len, start, start + in->cfg->size};
    rv__change_t change = {nv, nv ? nl : -1, NULL, -1};
    if (in->cfg->flags.send_old_values && ov) {
        change.old_value = ov;
        change.old_len = ol;
    }
    rv_processor_record_t rec = {&w, (int32_t)sizeof w, &change,   (int32_t)sizeof change,
                                 ts, headers,           header_cnt};
    return rv_processor_context_forward(in->ctx, &rec);
}

/* Writes the window `start` of the current key: value nv with timestamp
 * ts (NULL deletes), and forwards the update unless the cache or the
 * emit-on-close strategy will (Kafka's maybeForwardUpdate()). */
static rv_err_t put_window(win_inst_t *in, int64_t start, const void *nv, int32_t nl,
                           const void *old, int32_t old_len, int64_t ts) {
    void *stored = NULL;
    size_t stored_len = 0;
    char msg[512] = "";
    rv_err_t err = rv__vt_encode(&stored, &stored_len, in->vser, NULL, nv, nl, ts, msg, sizeof msg);
    if (err) {
        rv__log_err(FAC, "Failed to serialize a window of store %s: %s", in->cfg->store,
                    msg[0] ? msg : rv_err_str(err));
        return err;
    }
    err = rv_window_store_put(in->store, in->kb, (size_t)in->kl, stored, stored_len, start);
    free(stored);
    if (err || in->cached || in->cfg->emit == RV_EMIT_ON_WINDOW_CLOSE)
        return err;
    return forward(in, in->rec->key, in->rec->key_len, start, nv, nl, old, old_len, ts, NULL, 0);
}

/* Reads the window `start` of the current key into *row (present false
 * when there is none). */
static rv_err_t fetch_row(win_inst_t *in, int64_t start, row_t *row) {
    memset(row, 0, sizeof *row);
    row->start = start;
    row->len = -1;
    rv_bytes_t b = {0};
    rv_err_t err = rv_window_store_fetch_value(&b, in->store, in->kb, (size_t)in->kl, start);
    if (err == RV_ERR__NOENT)
        return RV_ERR_NO_ERROR;
    if (err)
        return err;
    err = row_decode(in, row, b.data, b.len);
    rv_bytes_free(&b);
    return err;
}

/* ---- Emit on window close (AbstractKStreamTimeWindowAggregateProcessor) ---- */

typedef struct emit_ent_s {
    int64_t start;
    uint8_t *key; /* the key bytes */
    size_t key_len;
    uint8_t *value; /* stored */
    size_t value_len;
} emit_ent_t;

static int emit_cmp(const void *a, const void *b) {
    const emit_ent_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* The first window start and the count of windowsFor(t) (time windows). */
static void windows_for(const win_cfg_t *cfg, int64_t t, int64_t *first, int64_t *last) {
    int64_t lo = t - cfg->size + cfg->advance;
    if (lo < 0)
        lo = 0;
    *first = lo / cfg->advance * cfg->advance;
    *last = t < 0 ? *first - cfg->advance : t / cfg->advance * cfg->advance;
}

static rv_err_t fetch_and_emit(win_inst_t *in, int64_t close, int64_t lower, int64_t upper) {
    /* The closed windows are read with a plain scan of the store, not a
     * typed fetch: a typed read hides windows older than stream time -
     * retention, which with the default retention (size + grace) are
     * exactly the windows that just closed. Kafka's time-ordered store
     * does not apply that rule to this read either. */
    rv_kv_iter_t *it = NULL;
    rv_err_t err = rv_kv_store_all(&it, in->store);
    if (err)
        return err;
    emit_ent_t *ents = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = rv_kv_iter_next(it)) == 1) {
        size_t kl, vl;
        const uint8_t *k = rv_kv_iter_key(it, &kl);
        const void *v = rv_kv_iter_value(it, &vl);
        if (kl < 12)
            continue;
        int64_t start;
        rv_serde_int64_read(&start, k + kl - 12, 8);
        if (start < lower || start > upper)
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            emit_ent_t *n = realloc(ents, ncap * sizeof *n);
            if (!n) {
                rc = RV_ERR__NOMEM;
                break;
            }
            ents = n;
            cap = ncap;
        }
        emit_ent_t *e = &ents[cnt];
        e->start = start;
        e->key_len = kl - 12;
        e->value_len = vl;
        e->key = malloc(e->key_len + e->value_len + 1);
        if (!e->key) {
            rc = RV_ERR__NOMEM;
            break;
        }
        memcpy(e->key, k, e->key_len);
        e->value = e->key + e->key_len;
        memcpy(e->value, v, e->value_len);
        cnt++;
    }
    rv_kv_iter_destroy(it);
    err = rc < 0 ? (rv_err_t)rc : RV_ERR_NO_ERROR;
    if (!err && cnt > 1)
        qsort(ents, cnt, sizeof *ents, emit_cmp);
    for (size_t i = 0; !err && i < cnt; i++) {
        emit_ent_t *e = &ents[i];
        void *key = NULL;
        int32_t key_len = -1;
        char msg[512] = "";
        err = rv_serde_deserialize(in->kser, &key, &key_len, NULL, e->key, (int32_t)e->key_len, msg,
                                   sizeof msg);
        if (err) {
            rv__log_err(FAC, "Failed to read a key of window store %s: %s", in->cfg->store, msg);
            break;
        }
        row_t row = {0};
        if (!(err = row_decode(in, &row, e->value, e->value_len))) {
            rv__change_t change = {row.value, row.value ? row.len : -1, NULL, -1};
            rv_windowed_t w = {key, key_len, e->start, e->start + in->cfg->size};
            rv_processor_record_t rec = {&w,
                                         (int32_t)sizeof w,
                                         &change,
                                         (int32_t)sizeof change,
                                         row.ts,
                                         in->rec->headers,
                                         in->rec->header_cnt};
            err = rv_processor_context_forward(in->ctx, &rec);
        }
        row_free(in, &row);
        rv_serde_free(in->kser, key);
    }
    for (size_t i = 0; i < cnt; i++)
        free(ents[i].key);
    free(ents);
    if (!err)
        in->last_emit = close;
    return err;
}

/* Kafka's maybeForwardFinalResult(). */
static rv_err_t maybe_forward_final(win_inst_t *in, int64_t close) {
    const win_cfg_t *cfg = in->cfg;
    if (cfg->emit != RV_EMIT_ON_WINDOW_CLOSE)
        return RV_ERR_NO_ERROR;
    int64_t now = rv_processor_context_current_system_time_ms(in->ctx);
    if (now < in->next_emit)
        return RV_ERR_NO_ERROR;
    /* The next check is scheduled from now, so a clock that jumps does
     * not make every record check. */
    in->next_emit = now + in->emit_interval;
    if (in->last_emit != -1 && in->last_emit >= close)
        return RV_ERR_NO_ERROR;
    int64_t upper, lower;
    if (cfg->sliding) {
        upper = close - cfg->size - 1;
        lower = in->last_emit == -1
                    ? 0
                    : (in->last_emit - cfg->size > 0 ? in->last_emit - cfg->size : 0);
    } else {
        /* Window ends are exclusive: the lower bound is one past the last
         * emitted window's start range. */
        upper = close - cfg->size;
        lower = in->last_emit == -1
                    ? 0
                    : (in->last_emit - cfg->size > 0 ? in->last_emit - cfg->size : 0) + 1;
    }
    if (upper < 0)
        return RV_ERR_NO_ERROR; /* no window closed yet */
    if (!cfg->sliding && in->last_emit != -1) {
        int64_t f1, l1, f2, l2;
        windows_for(cfg, upper, &f1, &l1);
        windows_for(cfg, lower - 1, &f2, &l2);
        if (f1 == f2 && l1 == l2)
            return RV_ERR_NO_ERROR; /* no new window closed */
    }
    return fetch_and_emit(in, close, lower, upper);
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
        &it, in->store, in->kb, (size_t)in->kl, from, to);
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
    rv_err_t err = rv__vt_encode(&stored, &stored_len, in->vser, NULL, right->value, right->len,
                                 right->ts, msg, sizeof msg);
    if (!err)
        err = rv_window_store_put(in->store, in->kb, (size_t)in->kl, stored, stored_len, start);
    free(stored);
    if (err || in->cached || in->cfg->emit == RV_EMIT_ON_WINDOW_CLOSE)
        return err;
    return forward(in, in->rec->key, in->rec->key_len, start, right->value, right->len, NULL, -1,
                   right->ts, NULL, 0);
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
    if (kl < 12 || kl - 12 > INT32_MAX) {
        rv__log_err(FAC, "A window key of %zu bytes is shorter than its window", kl);
        return RV_ERR__DESERIALIZATION;
    }
    int64_t start;
    rv_serde_int64_read(&start, (const uint8_t *)kb + kl - 12, 8);
    char msg[512] = "";
    void *key = NULL;
    int32_t key_len = -1;
    row_t nr = {0}, orow = {0};
    nr.len = orow.len = -1;
    rv_err_t err = rv_serde_deserialize(in->kser, &key, &key_len, NULL, kb, (int32_t)(kl - 12), msg,
                                        sizeof msg);
    if (err)
        rv__log_err(FAC, "Failed to read a flushed window key of store %s: %s", in->cfg->store,
                    msg);
    if (!err && new_stored)
        err = row_decode(in, &nr, new_stored, new_len);
    if (!err && !new_stored)
        nr.ts = rv_processor_context_current_stream_time_ms(in->ctx);
    if (!err && old_stored && in->cfg->flags.send_old_values)
        err = row_decode(in, &orow, old_stored, old_len);
    if (!err)
        err = forward(in, key, key_len, start, nr.value, nr.len, orow.value, orow.len, nr.ts, NULL,
                      0);
    row_free(in, &nr);
    row_free(in, &orow);
    rv_serde_free(in->kser, key);
    return err;
}

static rv_err_t win_init(rv_processor_context_t *ctx, void *state) {
    win_inst_t *in = state;
    const win_cfg_t *cfg = in->cfg;
    in->ctx = ctx;
    in->observed = in->last_emit = -1;
    in->store = rv_processor_context_get_state_store(ctx, cfg->store);
    if (!in->store)
        return RV_ERR__INVALID_ARG;
    in->kser = rv__dsl_serde(cfg->key_serde, ctx, true);
    in->vser = rv__dsl_serde(cfg->value_serde, ctx, false);
    if (!in->kser || !in->vser) {
        rv__log_err(FAC,
                    "Store %s has no serde: set one in the DSL call or default.key.serde / "
                    "default.value.serde",
                    cfg->store);
        return RV_ERR__INVALID_ARG;
    }
    const char *iv = rv_conf_get(rv_processor_context_app_configs(ctx), EMIT_INTERVAL_CONF);
    in->emit_interval = iv ? strtoll(iv, NULL, 10) : 1000;
    if (cfg->emit == RV_EMIT_ON_WINDOW_CLOSE)
        return RV_ERR_NO_ERROR; /* forwards itself, never from the cache */
    return rv__flush_listener_set(&in->cached, &in->binding, ctx, cfg->store,
                                  cfg->flags.send_old_values, on_flush, in);
}

static rv_err_t win_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                            void *state) {
    win_inst_t *in = state;
    const win_cfg_t *cfg = in->cfg;
    (void)ctx;
    in->rec = r;
    if (!r->key || (cfg->sliding && !r->value)) {
        skip_log(in, cfg->sliding ? "null key or value" : "null key");
        return RV_ERR_NO_ERROR;
    }
    int64_t ts = r->timestamp;
    if (ts > in->observed)
        in->observed = ts;
    int64_t close = in->observed - cfg->grace;
    if (cfg->sliding && ts + cfg->size < close) {
        expired_log(in, ts, ts + cfg->size, true, close);
        return RV_ERR_NO_ERROR;
    }
    char msg[512] = "";
    rv_err_t err =
        rv_serde_serialize(in->kser, &in->kb, &in->kl, NULL, r->key, r->key_len, msg, sizeof msg);
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
    rv_serde_free(in->kser, in->kb);
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
    rv__flush_listener_clear(&in->binding);
    rv__out_free(&in->out_init);
    rv__out_free(&in->out_new);
    free(in);
}

static rv_err_t win_get(rv_processor_t *out, void *opaque) {
    win_inst_t *in = calloc(1, sizeof *in);
    if (!in)
        return RV_ERR__NOMEM;
    in->cfg = opaque;
    out->init = win_init;
    out->process = win_process;
    out->close = win_close;
    out->state = in;
    return RV_ERR_NO_ERROR;
}

/* ---- The aggregations ---- */

static void serde_destroy(void *p) {
    rv_serde_destroy(p);
}

static rv_ktable_t *windowed_aggregate(rv_time_windowed_kstream_t *w, win_cfg_t *cfg,
                                       const char *name, const rv_materialized_t *m) {
    rv_kgrouped_stream_t *g = w->g;
    rv_streams_builder_t *b = g->b;
    char store[512], proc[512];
    /* Kafka's count(Materialized) burns a store name when the Materialized
     * has none. */
    if (cfg->kind == WIN_COUNT && m && !m->store_name)
        rv__dsl_store_name(b, "KSTREAM-AGGREGATE-", store, sizeof store);
    const char *prefix = cfg->kind == WIN_REDUCE ? "KSTREAM-REDUCE-" : "KSTREAM-AGGREGATE-";
    if (m && m->store_name)
        snprintf(store, sizeof store, "%s", m->store_name);
    else
        rv__dsl_store_name(b, prefix, store, sizeof store);

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
    cfg->key_serde = m && m->key_serde ? m->key_serde : g->key_serde;
    if (m && m->value_serde)
        cfg->value_serde = m->value_serde;
    else if (cfg->kind == WIN_COUNT)
        cfg->value_serde = rv_serde_int64();
    else if (cfg->kind == WIN_REDUCE)
        cfg->value_serde = g->value_serde;
    else
        cfg->value_serde = NULL;
    if (!(cfg->store = rv__dsl_strdup(b, store)))
        return NULL;

    char errstr[512] = "";
    if (rv_store_name_validate(store, errstr, sizeof errstr)) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Invalid topology: %s", errstr);
        return NULL;
    }
    const char *parents[] = {src->node};
    if (rv__dsl_add_processor(b, proc, win_get, cfg, parents, 1))
        return NULL;
    rv_store_builder_t *sb = m && m->store_type == RV_STORE_TYPE_IN_MEMORY
                                 ? rv_store_builder_in_memory_window(store, retention, w->size, 0)
                                 : rv_store_builder_persistent_window(store, retention, w->size, 0);
    if (!sb) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    /* Kafka keeps no cache under an emit-on-close aggregation. */
    if ((m && m->caching_disabled) || w->emit == RV_EMIT_ON_WINDOW_CLOSE)
        rv_store_builder_with_caching_disabled(sb);
    else
        rv_store_builder_with_caching_enabled(sb);
    rv_err_t err = RV_ERR_NO_ERROR;
    if (m && m->logging_disabled)
        rv_store_builder_with_logging_disabled(sb);
    else
        err = rv_store_builder_with_logging_enabled(sb, m ? m->logging_config : NULL,
                                                    m ? m->logging_config_cnt : 0);
    const char *procs[] = {proc};
    if (!err)
        err = rv_topology_add_state_store(b->topo, sb, procs, 1, errstr, sizeof errstr);
    if (err) {
        rv_store_builder_destroy(sb);
        rv__dsl_topology_fail(b, err, errstr[0] ? errstr : "Out of memory");
        return NULL;
    }
    /* Kafka's FullTimeWindowedSerde of the key serde, when one is known. */
    rv_serde_t *ks = NULL;
    if (cfg->key_serde) {
        ks = rv__dsl_keep(b, rv_serde_time_windowed_new(cfg->key_serde, w->size), serde_destroy);
        if (!ks) {
            rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
            return NULL;
        }
    }
    /* No getter: a windowed table's rows are not key-value rows. */
    rv_ktable_t *t = rv__ktable_new(b, proc, ks, cfg->value_serde, NULL,
                                    m && m->store_name ? m->store_name : NULL, &cfg->flags, NULL);
    if (!t)
        return NULL;
    t->window_kind = RV__WINDOW_TIME;
    t->window_size_ms = w->size;
    t->window_grace_ms = w->grace;
    return t;
}

static win_cfg_t *cfg_new(rv_time_windowed_kstream_t *w, win_kind_t kind) {
    if (!builder_ok(w->g->b))
        return NULL;
    win_cfg_t *cfg = rv__dsl_alloc(w->g->b, sizeof *cfg);
    if (cfg)
        cfg->kind = kind;
    return cfg;
}

rv_ktable_t *rv_time_windowed_kstream_count(rv_time_windowed_kstream_t *w, const char *name,
                                            const rv_materialized_t *materialized) {
    if (!w)
        return NULL;
    win_cfg_t *cfg = cfg_new(w, WIN_COUNT);
    return cfg ? windowed_aggregate(w, cfg, name, materialized) : NULL;
}

rv_ktable_t *rv_time_windowed_kstream_reduce(rv_time_windowed_kstream_t *w,
                                             rv_reducer_cb_t *reducer, void *opaque,
                                             const char *name,
                                             const rv_materialized_t *materialized) {
    if (!w)
        return NULL;
    win_cfg_t *cfg = cfg_new(w, WIN_REDUCE);
    if (!cfg)
        return NULL;
    if (!reducer) {
        rv__dsl_fail(w->g->b, RV_ERR__INVALID_ARG, "reducer can't be null");
        return NULL;
    }
    cfg->reducer = reducer;
    cfg->opaque = opaque;
    return windowed_aggregate(w, cfg, name, materialized);
}

rv_ktable_t *rv_time_windowed_kstream_aggregate(rv_time_windowed_kstream_t *w,
                                                rv_initializer_cb_t *initializer,
                                                void *initializer_opaque,
                                                rv_aggregator_cb_t *aggregator,
                                                void *aggregator_opaque, const char *name,
                                                const rv_materialized_t *materialized) {
    if (!w)
        return NULL;
    win_cfg_t *cfg = cfg_new(w, WIN_AGGREGATE);
    if (!cfg)
        return NULL;
    if (!initializer || !aggregator) {
        rv__dsl_fail(w->g->b, RV_ERR__INVALID_ARG, "%s can't be null",
                     !initializer ? "initializer" : "aggregator");
        return NULL;
    }
    cfg->initializer = initializer;
    cfg->initializer_opaque = initializer_opaque;
    cfg->aggregator = aggregator;
    cfg->opaque = aggregator_opaque;
    return windowed_aggregate(w, cfg, name, materialized);
}
