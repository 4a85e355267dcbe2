/* dsl/window_common.c: what the windowed aggregation processors share,
 * time and sliding windows (dsl/windowed.c) and session windows
 * (dsl/session_windowed.c): opening the store, its serdes and its cache's
 * flush listener for a processor instance; Kafka's log lines and
 * dropped-records count for skipped records; the forwarded Change of a
 * window; emit-on-window-close (the throttle and the scan of the store for
 * closed windows); and, when building, the window or session store's
 * caching and logging and the windowed result table. Contract:
 * dsl/dsl_internal.h ("Windowed aggregations").
 *
 * DESIGN
 *
 * Emit on window close. Kafka's AbstractKStreamTimeWindowAggregateProcessor
 * and KStreamSessionWindowAggregate look for closed windows after a record
 * at most once per __emit.interval.ms.kstreams.windowed.aggregation__ of
 * wall-clock time (default 1000; the test driver sets 0), and only when
 * the close time moved past the last emission's. The next look is due one
 * interval after now, not after the last due time, so a jump of the clock
 * does not make every record look. The last close time is also kept, as
 * Kafka does, in the task's processor metadata under the store's name
 * (runtime/context_internal.h), which is committed with the input offsets
 * and read back at init, so windows that closed before a restart are not
 * emitted again after it.
 *
 * Both stores are ordered by key, not by time as Kafka's time-ordered
 * stores are, so the closed windows are found with a scan of the whole
 * store (a plain key-value scan: a typed fetch hides windows older than
 * stream time - retention, which with the default retention are exactly
 * the windows that just closed, and Kafka's time-ordered read does not
 * apply that rule either). Each store key ends with a fixed suffix that
 * starts with the 8-byte big-endian time the scan selects on (a window's
 * start: [start][4-byte sequence]; a session's end: [end][start]). The
 * selected entries are copied, then sorted by that time, the key bytes and
 * the rest of the suffix (non-negative big-endian numbers compare as
 * bytes), which is the order of Kafka's time-ordered stores, and handed
 * out after the iterator is gone, so that what the caller forwards may
 * touch the store. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/logger.h"
#include "dsl/dsl_internal.h"
#include "runtime/context_internal.h"

#define FAC "dsl"

/* The internal config that throttles emit-on-close (Kafka's
 * StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_WINDOWED_AGGREGATION). */
#define EMIT_INTERVAL_CONFIG "__emit.interval.ms.kstreams.windowed.aggregation__"
#define EMIT_INTERVAL_DEFAULT 1000

/* ---- Dropped records ---- */

static atomic_int_fast64_t dropped_records;

void rv__dsl_record_dropped(void) {
    atomic_fetch_add(&dropped_records, 1);
}

int64_t rv__dsl_dropped_records(void) {
    return (int64_t)atomic_load(&dropped_records);
}

void rv__window_skip(rv_processor_context_t *ctx, const char *why) {
    rv__dsl_log_skipped(ctx, why);
    rv__dsl_record_dropped();
}

void rv__window_log_expired(rv_processor_context_t *ctx, int64_t timestamp, int64_t start,
                            int64_t end, bool end_inclusive, int64_t close, int64_t stream_time) {
    const char *topic;
    int32_t partition;
    int64_t offset;
    char window[64];
    snprintf(window, sizeof window, "[%" PRId64 ",%" PRId64 "%c", start, end,
             end_inclusive ? ']' : ')');
    if (rv_processor_context_record_metadata(ctx, &topic, &partition, &offset))
        rv__log_warn(FAC,
                     "Skipping record for expired window. topic=[%s] partition=[%" PRId32
                     "] offset=[%" PRId64 "] timestamp=[%" PRId64 "] window=%s expiration=[%" PRId64
                     "] streamTime=[%" PRId64 "]",
                     topic, partition, offset, timestamp, window, close, stream_time);
    else
        rv__log_warn(FAC,
                     "Skipping record for expired window. Topic, partition, and offset not "
                     "known. timestamp=[%" PRId64 "] window=%s expiration=[%" PRId64
                     "] streamTime=[%" PRId64 "]",
                     timestamp, window, close, stream_time);
    rv__dsl_record_dropped();
}

/* ---- The processor instance ---- */

rv_err_t rv__window_proc_init(rv__window_proc_t *wp, rv_processor_context_t *ctx, const char *store,
                              const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                              rv_emit_strategy_t emit, bool send_old_values,
                              rv__flush_listener_fn *on_flush, void *opaque) {
    wp->ctx = ctx;
    wp->store_name = store;
    wp->observed = -1;
    wp->emit_on_close = emit == RV_EMIT_ON_WINDOW_CLOSE;
    wp->emit_interval = EMIT_INTERVAL_DEFAULT;
    wp->next_emit = 0;
    wp->last_close = -1;
    wp->cached = false;
    wp->send_old = send_old_values;
    wp->store = rv_processor_context_get_state_store(ctx, store);
    if (!wp->store)
        return RV_ERR__INVALID_ARG;
    wp->ks = rv__dsl_serde(key_serde, ctx, true);
    wp->vs = rv__dsl_serde(value_serde, ctx, false);
    if (!wp->ks || !wp->vs)
        return rv__dsl_fail_record(ctx, RV_ERR__INVALID_ARG,
                                   "Store %s has no serde: set one in the DSL call or "
                                   "default.key.serde / default.value.serde",
                                   store);
    if (wp->emit_on_close) {
        /* Kafka's AbstractKStreamTimeWindowAggregateProcessor.init():
         * the last emitted close time of a previous run. */
        int64_t last;
        if (rv__context_processor_metadata_get(ctx, store, &last))
            wp->last_close = last;
        const char *s = rv_conf_get(rv_processor_context_app_configs(ctx), EMIT_INTERVAL_CONFIG);
        if (s) {
            char *endp;
            long long v = strtoll(s, &endp, 10);
            if (endp != s && *endp == '\0' && v >= 0)
                wp->emit_interval = (int64_t)v;
        }
        return RV_ERR_NO_ERROR; /* forwards itself, never from a cache */
    }
    return rv__flush_listener_set(&wp->cached, &wp->binding, ctx, store, send_old_values, on_flush,
                                  opaque);
}

void rv__window_proc_close(rv__window_proc_t *wp) {
    rv__flush_listener_clear(&wp->binding);
}

int64_t rv__window_observe(rv__window_proc_t *wp, int64_t timestamp) {
    if (timestamp > wp->observed)
        wp->observed = timestamp;
    return wp->observed;
}

bool rv__window_forwards_updates(const rv__window_proc_t *wp) {
    return !wp->emit_on_close && !wp->cached;
}

rv_err_t rv__window_forward(const rv__window_proc_t *wp, const void *key, int32_t key_len,
                            int64_t start, int64_t end, const void *nv, int32_t nl, const void *ov,
                            int32_t ol, int64_t timestamp, const rv_header_t *headers,
                            size_t header_cnt) {
    rv_windowed_t w = {key, key_len, start, end};
    rv__change_t change = {nv, nv ? nl : -1, NULL, -1};
    if (wp->send_old && ov) {
        change.old_value = ov;
        change.old_len = ol;
    }
    rv_processor_record_t rec = {&w,        (int32_t)sizeof w, &change,   (int32_t)sizeof change,
                                 timestamp, headers,           header_cnt};
    return rv_processor_context_forward(wp->ctx, &rec);
}

/* ---- Emit on window close ---- */

bool rv__window_emit_due(rv__window_proc_t *wp, int64_t close) {
    if (!wp->emit_on_close)
        return false;
    int64_t now = rv_processor_context_current_system_time_ms(wp->ctx);
    if (now < wp->next_emit)
        return false;
    wp->next_emit = now + wp->emit_interval;
    return wp->last_close == -1 || wp->last_close < close;
}

/* One selected store entry, copied: the key (suffix included) and then
 * the value in one allocation. */
typedef struct entry_s {
    int64_t time;
    uint8_t *key;
    size_t key_len;    /* without the suffix */
    size_t suffix_len; /* qsort passes no opaque: each entry knows it */
    uint8_t *value;
    size_t value_len;
} entry_t;

/* Compares entries by time, key bytes, then the rest of the suffix. */
static int entry_cmp(const void *a, const void *b) {
    const entry_t *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = n ? memcmp(x->key, y->key, n) : 0;
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return memcmp(x->key + x->key_len + 8, y->key + y->key_len + 8, x->suffix_len - 8);
}

static void entries_free(entry_t *e, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(e[i].key);
    free(e);
}

rv_err_t rv__window_scan(rv_kv_store_t *store, size_t suffix_len, int64_t lo, int64_t hi,
                         rv__window_entry_fn *fn, void *opaque) {
    rv_kv_iter_t *it = NULL;
    rv_err_t err = rv_kv_store_all(&it, store);
    if (err)
        return err;
    entry_t *ents = NULL;
    size_t cnt = 0, cap = 0;
    int rc;
    while ((rc = rv_kv_iter_next(it)) == 1) {
        size_t kl, vl;
        const uint8_t *k = rv_kv_iter_key(it, &kl);
        const void *v = rv_kv_iter_value(it, &vl);
        if (kl < suffix_len || !v)
            continue;
        int64_t time = (int64_t)rv__be64(k + kl - suffix_len);
        if (time < lo || time > hi)
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            entry_t *n = realloc(ents, ncap * sizeof *n);
            if (!n) {
                err = RV_ERR__NOMEM;
                break;
            }
            ents = n;
            cap = ncap;
        }
        entry_t *e = &ents[cnt];
        if (!(e->key = malloc(kl + vl + 1))) {
            err = RV_ERR__NOMEM;
            break;
        }
        memcpy(e->key, k, kl);
        e->value = e->key + kl;
        if (vl)
            memcpy(e->value, v, vl);
        e->time = time;
        e->key_len = kl - suffix_len;
        e->suffix_len = suffix_len;
        e->value_len = vl;
        cnt++;
    }
    rv_kv_iter_destroy(it);
    if (!err && rc < 0)
        err = (rv_err_t)rc;
    if (!err && cnt > 1)
        qsort(ents, cnt, sizeof *ents, entry_cmp);
    for (size_t i = 0; !err && i < cnt; i++)
        err = fn(ents[i].key, ents[i].key_len, ents[i].time, ents[i].key + ents[i].key_len + 8,
                 ents[i].value, ents[i].value_len, opaque);
    entries_free(ents, cnt);
    return err;
}

/* ---- Building ---- */

bool rv__window_by_ok(rv_kgrouped_stream_t *g, bool windows_given) {
    return g && rv__dsl_builder_ok(g->b) && rv__dsl_require(g->b, windows_given, "windows");
}

bool rv__window_emit_strategy_ok(rv_streams_builder_t *b, rv_emit_strategy_t strategy) {
    if (strategy == RV_EMIT_ON_WINDOW_UPDATE || strategy == RV_EMIT_ON_WINDOW_CLOSE)
        return true;
    rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unknown emit strategy %d", (int)strategy);
    return false;
}

rv_err_t rv__window_store_add(rv_streams_builder_t *b, const char *store, rv_store_builder_t *sb,
                              const rv_materialized_t *m, rv_emit_strategy_t emit,
                              const char *proc) {
    /* Emit on close reads the store itself: Kafka keeps no cache there. */
    if (sb && ((m && m->caching_disabled) || emit == RV_EMIT_ON_WINDOW_CLOSE))
        rv_store_builder_with_caching_disabled(sb);
    else if (sb)
        rv_store_builder_with_caching_enabled(sb);
    return rv__dsl_add_store_as(b, store, sb, !(m && m->logging_disabled),
                                m ? m->logging_config : NULL, m ? m->logging_config_cnt : 0, proc);
}

static void serde_destroy(void *p) {
    rv_serde_destroy(p);
}

rv_ktable_t *rv__window_table_new(rv_streams_builder_t *b, const char *proc,
                                  const rv_serde_t *key_serde, rv_serde_t *windowed_key_serde,
                                  const rv_serde_t *value_serde, const rv_materialized_t *m,
                                  rv__ktable_flags_t *flags, int window_kind, int64_t size_ms,
                                  int64_t grace_ms) {
    if (key_serde && !windowed_key_serde) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    if (windowed_key_serde && !rv__dsl_keep(b, windowed_key_serde, serde_destroy))
        return NULL;
    /* No store for the handle: a window or session store does not hold
     * key-value rows, so the table has no getter (windowed tables are not
     * joined). */
    rv_ktable_t *t = rv__ktable_new(b, proc, windowed_key_serde, value_serde, NULL,
                                    m && m->store_name ? m->store_name : NULL, flags, NULL);
    if (!t)
        return NULL;
    t->window_kind = window_kind;
    t->window_size_ms = size_ms;
    t->window_grace_ms = grace_ms;
    return t;
}
