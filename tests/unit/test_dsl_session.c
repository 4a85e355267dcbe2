/* tests/unit/test_dsl_session.c: session-windowed aggregations of the DSL
 * (dsl/session_windowed.c). Every case of Kafka Streams'
 * KStreamSessionWindowAggregateProcessorTest and
 * SessionWindowedKStreamImplTest restated with the same inputs and
 * outputs, for both emit strategies: the processor cases feed the
 * aggregation through a small processor that forwards a scripted batch of
 * records from one piped record (Kafka's tests call process() several
 * times between two flushes; the test driver commits after each piped
 * record), the DSL cases pipe records through the test driver. Also:
 * TopologyTest's session describe() strings and a repartitioning one,
 * validation messages, the store the DSL builds (caching, retention,
 * changelog), collapse of updates with caching on, merges with
 * tombstones, late records, and a run on the embedded broker with a
 * RocksDB session store whose sessions survive a restart. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "common/clock.h"
#include "dsl/dsl_internal.h"
#include "rivulet/rivulet.h"
#include "runtime/topology_internal.h"

#define GAP_MS (5 * 60 * 1000LL)

enum { V_STRING, V_INT64 };

/* ---- Captured output: "key[start,end]=value@ts " ---- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_out[16384];
static int g_kind;

static rv_err_t capture_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                void *state) {
    (void)ctx, (void)state;
    const rv_windowed_t *w = r->key;
    char val[256];
    if (!r->value) {
        snprintf(val, sizeof val, "null");
    } else if (g_kind == V_INT64) {
        snprintf(val, sizeof val, "%" PRId64, *(const int64_t *)r->value);
    } else {
        snprintf(val, sizeof val, "%.*s", (int)r->value_len, (const char *)r->value);
    }
    pthread_mutex_lock(&g_lock);
    size_t n = strlen(g_out);
    snprintf(g_out + n, sizeof g_out - n, "%.*s[%" PRId64 ",%" PRId64 "]=%s@%" PRId64 " ",
             (int)w->key_len, (const char *)w->key, w->start, w->end, val, r->timestamp);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static rv_err_t capture_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = capture_process;
    return 0;
}

/* Ends t's stream in the capturing processor. */
static void capture(rv_ktable_t *t, int kind) {
    g_kind = kind;
    g_out[0] = '\0';
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = capture_get;
    assert_non_null(rv_kstream_process(rv_ktable_to_stream(t, NULL), &sup, NULL, 0, NULL));
}

/* ---- Scripted batches: one piped record forwards them all ---- */

typedef struct rec_s {
    const char *key;
    const char *value;
    int64_t ts;
} rec_t;

static const rec_t *g_script;
static size_t g_script_cnt;

static rv_err_t script_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                               void *state) {
    (void)r, (void)state;
    for (size_t i = 0; i < g_script_cnt; i++) {
        const rec_t *s = &g_script[i];
        rv_processor_record_t f = {s->key,   s->key ? (int32_t)strlen(s->key) : -1,
                                   s->value, s->value ? (int32_t)strlen(s->value) : -1,
                                   s->ts,    NULL,
                                   0};
        rv_err_t err = rv_processor_context_forward(ctx, &f);
        if (err)
            return err;
    }
    return 0;
}

static rv_err_t script_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = script_process;
    return 0;
}

/* ---- Helpers ---- */

static rv_conf_t *mkconf(const char *app, const char *cache_bytes) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_non_null(c);
    assert_int_equal(rv_conf_set(c, "application.id", app, err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", err, sizeof err), 0);
    if (cache_bytes)
        assert_int_equal(rv_conf_set(c, "cache.max.bytes.buffering", cache_bytes, err, sizeof err),
                         0);
    return c;
}

static rv_test_driver_t *start(rv_streams_builder_t *b, rv_topology_t **topo, rv_conf_t *c) {
    char err[1024];
    if (rv_streams_builder_build(topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d =
        rv_test_driver_new(*topo, c ? c : mkconf("session-app", NULL), 0, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    return d;
}

static void pipe_s(rv_test_driver_t *d, const char *topic, const char *k, const char *v,
                   int64_t ts) {
    rv_err_t err = rv_test_driver_pipe_input(d, topic, k, k ? (int32_t)strlen(k) : -1, v,
                                             v ? (int32_t)strlen(v) : -1, ts, NULL, 0);
    if (err)
        fail_msg("pipe %s: %s", rv_err_name(err), rv_test_driver_last_error(d));
}

/* Runs a scripted batch: its records reach the aggregation between two
 * commits. */
static void run_batch(rv_test_driver_t *d, const rec_t *recs, size_t n) {
    g_script = recs;
    g_script_cnt = n;
    pipe_s(d, "input", "batch", "batch", recs[n - 1].ts);
    g_script_cnt = 0;
}

static char *describe(rv_streams_builder_t *b) {
    char err[1024];
    rv_topology_t *t;
    if (rv_streams_builder_build(&t, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    char *s = rv_topology_describe(t);
    rv_topology_destroy(t);
    return s;
}

/* The sessions of `key` with end >= from and start <= to in store
 * `store`: "[start,end]=value " each. */
static char *sessions(rv_test_driver_t *d, const char *store, const char *key, int64_t from,
                      int64_t to, int kind) {
    static char out[2048];
    out[0] = '\0';
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, store);
    assert_non_null(s);
    rv_session_iter_t *it;
    assert_int_equal(rv_session_store_find_sessions(&it, s, key, strlen(key), from, to), 0);
    while (rv_session_iter_next(it) == 1) {
        size_t vl;
        const void *v = rv_session_iter_value(it, &vl);
        char val[256];
        if (kind == V_INT64) {
            int64_t n = -1;
            assert_int_equal(rv_serde_int64_read(&n, v, (int32_t)vl), 0);
            snprintf(val, sizeof val, "%" PRId64, n);
        } else {
            snprintf(val, sizeof val, "%.*s", (int)vl, (const char *)v);
        }
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "[%" PRId64 ",%" PRId64 "]=%s ",
                 rv_session_iter_start(it), rv_session_iter_end(it), val);
    }
    rv_session_iter_destroy(it);
    return out;
}

static char g_log[8192];

static void capture_log(int level, const char *fac, const char *msg, void *opaque) {
    (void)level, (void)fac, (void)opaque;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

/* ---- User functions ---- */

static rv_err_t long_init(rv_out_t *out, void *opaque) {
    (void)opaque;
    int64_t z = 0;
    return rv_out_value(out, &z, 8);
}

/* aggregate + 1 */
static rv_err_t long_count(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)v, (void)vl, (void)al, (void)opaque;
    int64_t n = *(const int64_t *)agg + 1;
    return rv_out_value(out, &n, 8);
}

/* aggOne + aggTwo */
static rv_err_t long_merge(rv_out_t *out, const void *k, int32_t kl, const void *a, int32_t al,
                           const void *b, int32_t bl, void *opaque) {
    (void)k, (void)kl, (void)al, (void)bl, (void)opaque;
    int64_t n = *(const int64_t *)a + *(const int64_t *)b;
    return rv_out_value(out, &n, 8);
}

static rv_err_t str_init(rv_out_t *out, void *opaque) {
    (void)opaque;
    return rv_out_value(out, "0", -1);
}

static rv_err_t join3(rv_out_t *out, const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (!s)
        return RV_ERR__NOMEM;
    snprintf(s, n, "%s+%s", a, b);
    rv_err_t err = rv_out_value(out, s, -1);
    free(s);
    return err;
}

/* MockAggregator.TOSTRING_ADDER: agg + "+" + value */
static rv_err_t str_adder(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)al, (void)opaque;
    return join3(out, agg, v);
}

/* SessionWindowedKStreamImplTest's merger: aggOne + "+" + aggTwo */
static rv_err_t str_merger(rv_out_t *out, const void *k, int32_t kl, const void *a, int32_t al,
                           const void *b, int32_t bl, void *opaque) {
    (void)k, (void)kl, (void)al, (void)bl, (void)opaque;
    return join3(out, a, b);
}

/* MockReducer.STRING_ADDER */
static rv_err_t str_reduce(rv_out_t *out, const void *agg, int32_t al, const void *v, int32_t vl,
                           void *opaque) {
    (void)al, (void)vl, (void)opaque;
    return join3(out, agg, v);
}

/* ---- KStreamSessionWindowAggregateProcessorTest ----
 *
 * The processor of that test: gap 5 minutes, no grace, store
 * "session-store" kept 3 gaps, the count written as initializer 0,
 * aggregator +1 and merger sum. scripted: a scripting processor feeds it
 * (its key changes are not real, so no repartition). */

typedef struct proc_fx_s {
    rv_topology_t *topo;
    rv_test_driver_t *d;
} proc_fx_t;

static void proc_start(proc_fx_t *fx, rv_emit_strategy_t emit, bool caching, bool scripted,
                       int64_t gap, int64_t grace) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    if (scripted) {
        rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
        sup.get = script_get;
        s = rv_kstream_process(s, &sup, NULL, 0, NULL);
        assert_non_null(s);
        s->repartition_required = false;
    }
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(gap, grace);
    rv_session_windowed_kstream_t *sw = rv_session_windowed_kstream_emit_strategy(
        rv_kgrouped_stream_windowed_by_session(rv_kstream_group_by_key(s, NULL), &w), emit);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "session-store";
    m.key_serde = rv_serde_string();
    m.value_serde = rv_serde_int64();
    m.retention_ms = GAP_MS * 3;
    m.caching_disabled = !caching;
    m.logging_disabled = 1;
    rv_ktable_t *t = rv_session_windowed_kstream_aggregate(sw, long_init, NULL, long_count, NULL,
                                                           long_merge, NULL, NULL, &m);
    assert_non_null(t);
    capture(t, V_INT64);
    fx->d = start(b, &fx->topo, NULL);
}

static void proc_stop(proc_fx_t *fx) {
    rv_test_driver_destroy(fx->d);
    rv_topology_destroy(fx->topo);
}

static void one(proc_fx_t *fx, const char *k, const char *v, int64_t ts) {
    rec_t r = {k, v, ts};
    run_batch(fx->d, &r, 1);
}

static void run_single_session_within_gap(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    rec_t recs[] = {{"john", "first", 0}, {"john", "second", 500}};
    run_batch(fx.d, recs, 2);
    assert_string_equal(sessions(fx.d, "session-store", "john", 0, 2000, V_INT64), "[0,500]=2 ");
    proc_stop(&fx);
}

static void test_single_session_within_gap(void **state) {
    (void)state;
    run_single_session_within_gap(RV_EMIT_ON_WINDOW_UPDATE);
    run_single_session_within_gap(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_merge_sessions(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    one(&fx, "mel", "first", 0);
    assert_string_equal(sessions(fx.d, "session-store", "mel", 0, 0, V_INT64), "[0,0]=1 ");
    /* beyond the gap */
    one(&fx, "mel", "second", GAP_MS + 1);
    assert_string_equal(sessions(fx.d, "session-store", "mel", GAP_MS + 1, GAP_MS + 1, V_INT64),
                        "[300001,300001]=1 ");
    assert_string_equal(sessions(fx.d, "session-store", "mel", 0, 0, V_INT64), "[0,0]=1 ");
    /* back in time, bridging both */
    one(&fx, "mel", "third", GAP_MS / 2);
    assert_string_equal(sessions(fx.d, "session-store", "mel", 0, GAP_MS + 1, V_INT64),
                        "[0,300001]=3 ");
    proc_stop(&fx);
}

static void test_merge_sessions(void **state) {
    (void)state;
    run_merge_sessions(RV_EMIT_ON_WINDOW_UPDATE);
    run_merge_sessions(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_update_same_time(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    rec_t recs[] = {{"mel", "first", 0}, {"mel", "second", 0}};
    run_batch(fx.d, recs, 2);
    assert_string_equal(sessions(fx.d, "session-store", "mel", 0, 0, V_INT64), "[0,0]=2 ");
    proc_stop(&fx);
}

static void test_update_session_if_the_same_time(void **state) {
    (void)state;
    run_update_same_time(RV_EMIT_ON_WINDOW_UPDATE);
    run_update_same_time(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_multiple_sessions_apart(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    int64_t now = 0;
    rec_t recs[6] = {{"mel", "first", now}};
    now += GAP_MS + 1;
    recs[1] = (rec_t){"mel", "second", now};
    recs[2] = (rec_t){"mel", "second", now};
    now += GAP_MS + 1;
    recs[3] = (rec_t){"mel", "third", now};
    recs[4] = (rec_t){"mel", "third", now};
    recs[5] = (rec_t){"mel", "third", now};
    run_batch(fx.d, recs, 6);
    if (emit == RV_EMIT_ON_WINDOW_CLOSE)
        assert_string_equal(g_out, "mel[0,0]=1@0 mel[300001,300001]=2@300001 ");
    else
        assert_string_equal(g_out, "mel[0,0]=1@0 mel[300001,300001]=2@300001 "
                                   "mel[600002,600002]=3@600002 ");
    proc_stop(&fx);
}

static void test_multiple_sessions_apart_by_gap(void **state) {
    (void)state;
    run_multiple_sessions_apart(RV_EMIT_ON_WINDOW_UPDATE);
    run_multiple_sessions_apart(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_remove_merged(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    one(&fx, "a", "1", 0);
    assert_string_equal(sessions(fx.d, "session-store", "a", 0, 0, V_INT64), "[0,0]=1 ");
    one(&fx, "a", "2", 100);
    /* [0,0] was merged away */
    assert_string_equal(sessions(fx.d, "session-store", "a", 0, 100, V_INT64), "[0,100]=2 ");
    proc_stop(&fx);
}

static void test_remove_merged_sessions_from_store(void **state) {
    (void)state;
    run_remove_merged(RV_EMIT_ON_WINDOW_UPDATE);
    run_remove_merged(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_multiple_and_merging(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    rec_t recs[] = {{"a", "1", 0},
                    {"b", "1", 0},
                    {"c", "1", 0},
                    {"d", "1", 0},
                    {"d", "2", GAP_MS / 2},
                    {"a", "2", GAP_MS + 1},
                    {"b", "2", GAP_MS + 1},
                    {"a", "3", GAP_MS + 1 + GAP_MS / 2},
                    {"c", "3", GAP_MS + 1 + GAP_MS / 2}};
    run_batch(fx.d, recs, 9);
    if (emit == RV_EMIT_ON_WINDOW_CLOSE)
        assert_string_equal(g_out, "a[0,0]=1@0 b[0,0]=1@0 c[0,0]=1@0 d[0,150000]=2@150000 ");
    else
        assert_string_equal(g_out, "a[0,0]=1@0 b[0,0]=1@0 c[0,0]=1@0 d[0,150000]=2@150000 "
                                   "b[300001,300001]=1@300001 a[300001,450001]=2@450001 "
                                   "c[450001,450001]=1@450001 ");
    proc_stop(&fx);
}

static void test_multiple_sessions_and_merging(void **state) {
    (void)state;
    run_multiple_and_merging(RV_EMIT_ON_WINDOW_UPDATE);
    run_multiple_and_merging(RV_EMIT_ON_WINDOW_CLOSE);
}

/* shouldGetAggregatedValuesFromValueGetter: the getter reads the session
 * [start, end] of the key from the store (fetchSession). */
static void run_values_by_session(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, true, true, GAP_MS, 0);
    rec_t recs[] = {{"a", "1", 0}, {"a", "1", GAP_MS + 1}, {"a", "2", GAP_MS + 1}};
    run_batch(fx.d, recs, 3);
    rv_kv_store_t *s = rv_test_driver_get_kv_store(fx.d, "session-store");
    rv_bytes_t v = {0};
    int64_t n = -1;
    assert_int_equal(rv_session_store_fetch_session(&v, s, "a", 1, 0, 0), 0);
    assert_int_equal(rv_serde_int64_read(&n, v.data, (int32_t)v.len), 0);
    assert_int_equal(n, 1);
    rv_bytes_free(&v);
    assert_int_equal(rv_session_store_fetch_session(&v, s, "a", 1, GAP_MS + 1, GAP_MS + 1), 0);
    assert_int_equal(rv_serde_int64_read(&n, v.data, (int32_t)v.len), 0);
    assert_int_equal(n, 2);
    rv_bytes_free(&v);
    proc_stop(&fx);
}

static void test_aggregated_values_by_session(void **state) {
    (void)state;
    run_values_by_session(RV_EMIT_ON_WINDOW_UPDATE);
    run_values_by_session(RV_EMIT_ON_WINDOW_CLOSE);
}

static void test_forward_new_session_when_non_cached(void **state) {
    (void)state;
    proc_fx_t fx;
    proc_start(&fx, RV_EMIT_ON_WINDOW_UPDATE, false, true, GAP_MS, 0);
    rec_t recs[] = {{"a", "1", 0}, {"b", "1", 0}, {"c", "1", 0}};
    run_batch(fx.d, recs, 3);
    assert_string_equal(g_out, "a[0,0]=1@0 b[0,0]=1@0 c[0,0]=1@0 ");
    proc_stop(&fx);
}

static void test_forward_removed_sessions_when_merging(void **state) {
    (void)state;
    proc_fx_t fx;
    proc_start(&fx, RV_EMIT_ON_WINDOW_UPDATE, false, true, GAP_MS, 0);
    rec_t recs[] = {{"a", "1", 0}, {"a", "1", 5}};
    run_batch(fx.d, recs, 2);
    /* The merged-away session's tombstone carries its own end. */
    assert_string_equal(g_out, "a[0,0]=1@0 a[0,0]=null@0 a[0,5]=2@5 ");
    proc_stop(&fx);
}

static void run_null_key(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, false, false, GAP_MS, 0);
    int64_t dropped = rv__dsl_dropped_records();
    g_log[0] = '\0';
    rv_log_set_callback(capture_log, NULL);
    pipe_s(fx.d, "input", NULL, "1", 0);
    rv_log_set_callback(NULL, NULL);
    rvt_assert_contains(g_log,
                        "Skipping record due to null key. topic=[input] partition=[0] offset=[0]");
    assert_int_equal(rv__dsl_dropped_records() - dropped, 1);
    assert_string_equal(g_out, "");
    proc_stop(&fx);
}

static void test_skip_null_key(void **state) {
    (void)state;
    run_null_key(RV_EMIT_ON_WINDOW_UPDATE);
    run_null_key(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_late_zero_grace(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, false, false, 10, 0);
    int64_t dropped = rv__dsl_dropped_records();
    pipe_s(fx.d, "input", "dummy", "dummy", 0);  /* stream time 0 */
    pipe_s(fx.d, "input", "OnTime1", "1", 0);    /* on time */
    pipe_s(fx.d, "input", "dummy", "dummy", 11); /* stream time 11: gap 10 + 1 */
    g_log[0] = '\0';
    rv_log_set_callback(capture_log, NULL);
    pipe_s(fx.d, "input", "Late1", "1", 0); /* late */
    rv_log_set_callback(NULL, NULL);
    rvt_assert_contains(g_log, "Skipping record for expired window. topic=[input] partition=[0] "
                               "offset=[3] timestamp=[0] window=[0,0] expiration=[1] "
                               "streamTime=[11]");
    assert_int_equal(rv__dsl_dropped_records() - dropped, 1);
    assert_string_equal(sessions(fx.d, "session-store", "Late1", 0, 100, V_INT64), "");
    assert_string_equal(sessions(fx.d, "session-store", "OnTime1", 0, 100, V_INT64), "[0,0]=1 ");
    if (emit == RV_EMIT_ON_WINDOW_UPDATE)
        assert_string_equal(g_out, "dummy[0,0]=1@0 OnTime1[0,0]=1@0 dummy[11,11]=1@11 ");
    else /* closed at 11: the sessions ending before 1 */
        assert_string_equal(g_out, "OnTime1[0,0]=1@0 dummy[0,0]=1@0 ");
    proc_stop(&fx);
}

static void test_late_record_zero_grace(void **state) {
    (void)state;
    run_late_zero_grace(RV_EMIT_ON_WINDOW_UPDATE);
    run_late_zero_grace(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_late_nonzero_grace(rv_emit_strategy_t emit) {
    proc_fx_t fx;
    proc_start(&fx, emit, false, false, 10, 1);
    int64_t dropped = rv__dsl_dropped_records();
    g_log[0] = '\0';
    rv_log_set_callback(capture_log, NULL);
    pipe_s(fx.d, "input", "dummy", "dummy", 0);
    pipe_s(fx.d, "input", "OnTime1", "1", 0);
    pipe_s(fx.d, "input", "dummy", "dummy", 11); /* at the edge of the window */
    pipe_s(fx.d, "input", "OnTime2", "1", 0);    /* delayed, still on time */
    pipe_s(fx.d, "input", "dummy", "dummy", 12); /* outside the window */
    pipe_s(fx.d, "input", "Late1", "1", 0);      /* late */
    rv_log_set_callback(NULL, NULL);
    rvt_assert_contains(g_log, "Skipping record for expired window. topic=[input] partition=[0] "
                               "offset=[5] timestamp=[0] window=[0,0] expiration=[1] "
                               "streamTime=[12]");
    assert_null(strstr(g_log, "offset=[3]"));
    assert_int_equal(rv__dsl_dropped_records() - dropped, 1);
    assert_string_equal(sessions(fx.d, "session-store", "OnTime2", 0, 100, V_INT64), "[0,0]=1 ");
    proc_stop(&fx);
}

static void test_late_record_nonzero_grace(void **state) {
    (void)state;
    run_late_nonzero_grace(RV_EMIT_ON_WINDOW_UPDATE);
    run_late_nonzero_grace(RV_EMIT_ON_WINDOW_CLOSE);
}

/* ---- SessionWindowedKStreamImplTest: gap 500 ms, no grace ---- */

static rv_session_windowed_kstream_t *session_stream(rv_streams_builder_t *b,
                                                     rv_emit_strategy_t emit) {
    const char *topics[] = {"input"};
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_string();
    rv_grouped_t g = RV_GROUPED_INIT;
    g.key_serde = rv_serde_string();
    g.value_serde = rv_serde_string();
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(500, 0);
    return rv_session_windowed_kstream_emit_strategy(
        rv_kgrouped_stream_windowed_by_session(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, &c), &g), &w),
        emit);
}

static void process_data(rv_test_driver_t *d) {
    pipe_s(d, "input", "1", "1", 10);
    pipe_s(d, "input", "1", "2", 15);
    pipe_s(d, "input", "1", "3", 600);
    pipe_s(d, "input", "2", "1", 600);
    pipe_s(d, "input", "2", "2", 599);
}

static void run_count(rv_emit_strategy_t emit, const char *cache_bytes) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    capture(rv_session_windowed_kstream_count(session_stream(b, emit), NULL, NULL), V_INT64);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, mkconf("session-app", cache_bytes));
    process_data(d);
    if (emit == RV_EMIT_ON_WINDOW_CLOSE)
        assert_string_equal(g_out, "1[10,15]=2@15 ");
    else
        assert_string_equal(g_out, "1[10,10]=1@10 1[10,10]=null@10 1[10,15]=2@15 "
                                   "1[600,600]=1@600 2[600,600]=1@600 2[600,600]=null@600 "
                                   "2[599,600]=2@600 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_count_caching_disabled(void **state) {
    (void)state;
    run_count(RV_EMIT_ON_WINDOW_UPDATE, "0");
    run_count(RV_EMIT_ON_WINDOW_CLOSE, "0");
}

static void test_count_caching_enabled(void **state) {
    (void)state;
    run_count(RV_EMIT_ON_WINDOW_UPDATE, NULL);
    run_count(RV_EMIT_ON_WINDOW_CLOSE, NULL);
}

static void run_reduce(rv_emit_strategy_t emit) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    capture(
        rv_session_windowed_kstream_reduce(session_stream(b, emit), str_reduce, NULL, NULL, NULL),
        V_STRING);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    process_data(d);
    if (emit == RV_EMIT_ON_WINDOW_CLOSE)
        assert_string_equal(g_out, "1[10,15]=1+2@15 ");
    else
        assert_string_equal(g_out, "1[10,10]=1@10 1[10,10]=null@10 1[10,15]=1+2@15 "
                                   "1[600,600]=3@600 2[600,600]=1@600 2[600,600]=null@600 "
                                   "2[599,600]=1+2@600 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_reduce_windowed(void **state) {
    (void)state;
    run_reduce(RV_EMIT_ON_WINDOW_UPDATE);
    run_reduce(RV_EMIT_ON_WINDOW_CLOSE);
}

static void run_aggregate(rv_emit_strategy_t emit) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.key_serde = rv_serde_string();
    m.value_serde = rv_serde_string();
    capture(rv_session_windowed_kstream_aggregate(session_stream(b, emit), str_init, NULL,
                                                  str_adder, NULL, str_merger, NULL, NULL, &m),
            V_STRING);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    process_data(d);
    if (emit == RV_EMIT_ON_WINDOW_CLOSE)
        assert_string_equal(g_out, "1[10,15]=0+0+1+2@15 ");
    else
        assert_string_equal(g_out, "1[10,10]=0+1@10 1[10,10]=null@10 1[10,15]=0+0+1+2@15 "
                                   "1[600,600]=0+3@600 2[600,600]=0+1@600 2[600,600]=null@600 "
                                   "2[599,600]=0+0+1+2@600 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_aggregate_session_windowed(void **state) {
    (void)state;
    run_aggregate(RV_EMIT_ON_WINDOW_UPDATE);
    run_aggregate(RV_EMIT_ON_WINDOW_CLOSE);
}

/* shouldMaterializeCount / Reduced / Aggregated: the sessions of keys 1
 * and 2 in the named store. Kafka's on-update run still shows 1's
 * [10,15] through its record cache, which keeps the flushed entry;
 * reads of our store (cached or not) apply the store's retention
 * (stream time 600 - 500 + 1), as Kafka's store itself and its
 * emit-on-close run do. */
static void run_materialized(rv_emit_strategy_t emit, int which) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_session_windowed_kstream_t *w = session_stream(b, emit);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    const char *store;
    if (which == 0) {
        m.store_name = store = "count-store";
        assert_non_null(rv_session_windowed_kstream_count(w, NULL, &m));
    } else if (which == 1) {
        m.store_name = store = "reduced";
        assert_non_null(rv_session_windowed_kstream_reduce(w, str_reduce, NULL, NULL, &m));
    } else {
        m.store_name = store = "aggregated";
        m.value_serde = rv_serde_string();
        assert_non_null(rv_session_windowed_kstream_aggregate(w, str_init, NULL, str_adder, NULL,
                                                              str_merger, NULL, NULL, &m));
    }
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    process_data(d);
    int kind = which == 0 ? V_INT64 : V_STRING;
    char got[1024], one[512];
    snprintf(one, sizeof one, "%s", sessions(d, store, "1", 0, INT64_MAX, kind));
    snprintf(got, sizeof got, "%s|%s", one, sessions(d, store, "2", 0, INT64_MAX, kind));
    const char *want[] = {"[600,600]=1 |[599,600]=2 ", "[600,600]=3 |[599,600]=1+2 ",
                          "[600,600]=0+3 |[599,600]=0+0+1+2 "};
    assert_string_equal(got, want[which]);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_materialized(void **state) {
    (void)state;
    for (int i = 0; i < 3; i++) {
        run_materialized(RV_EMIT_ON_WINDOW_UPDATE, i);
        run_materialized(RV_EMIT_ON_WINDOW_CLOSE, i);
    }
}

/* shouldThrowNullPointerOn...: Kafka's messages. */
static void expect_error(rv_streams_builder_t *b, const char *msg) {
    const char *m = NULL;
    assert_int_not_equal(rv_streams_builder_last_error(b, &m), 0);
    assert_string_equal(m, msg);
    rv_streams_builder_destroy(b);
}

static void test_null_arguments(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    assert_null(rv_session_windowed_kstream_aggregate(session_stream(b, 0), NULL, NULL, str_adder,
                                                      NULL, str_merger, NULL, NULL, NULL));
    expect_error(b, "initializer can't be null");
    b = rv_streams_builder_new();
    assert_null(rv_session_windowed_kstream_aggregate(session_stream(b, 0), str_init, NULL, NULL,
                                                      NULL, str_merger, NULL, NULL, NULL));
    expect_error(b, "aggregator can't be null");
    b = rv_streams_builder_new();
    assert_null(rv_session_windowed_kstream_aggregate(session_stream(b, 0), str_init, NULL,
                                                      str_adder, NULL, NULL, NULL, NULL, NULL));
    expect_error(b, "sessionMerger can't be null");
    b = rv_streams_builder_new();
    assert_null(rv_session_windowed_kstream_reduce(session_stream(b, 0), NULL, NULL, NULL, NULL));
    expect_error(b, "reducer can't be null");
    b = rv_streams_builder_new();
    const char *topics[] = {"input"};
    assert_null(rv_kgrouped_stream_windowed_by_session(
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), NULL));
    expect_error(b, "windows can't be null");
    /* A NULL handle returns NULL at once. */
    assert_null(rv_session_windowed_kstream_count(NULL, NULL, NULL));
}

/* SessionWindows' and SessionStoreMaterializer's checks. */
static void test_validation(void **state) {
    (void)state;
    const char *topics[] = {"input"};
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(0, 0);
    rv_streams_builder_t *b = rv_streams_builder_new();
    assert_null(rv_kgrouped_stream_windowed_by_session(
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &w));
    expect_error(b, "Gap time cannot be zero or negative.");
    w = (rv_session_windows_t)RV_SESSION_WINDOWS_INIT(10, -1);
    b = rv_streams_builder_new();
    assert_null(rv_kgrouped_stream_windowed_by_session(
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &w));
    expect_error(b, "Grace period must not be negative.");
    w = (rv_session_windows_t)RV_SESSION_WINDOWS_INIT(10, 5);
    b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "short";
    m.retention_ms = 14;
    assert_null(rv_session_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by_session(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &w),
        NULL, &m));
    expect_error(b, "The retention period of the session store short must be no smaller than the "
                    "session inactivity gap plus the grace period. Got gap=[10], grace=[5], "
                    "retention=[14]");
}

/* shouldNotEnableCachingWithEmitFinal, and the store the DSL builds: a
 * session store, RocksDB by default, retention gap + grace (changelog
 * retention.ms one day more), caching as Materialized says. */
static void test_store_builder(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        rv_streams_builder_t *b = rv_streams_builder_new();
        rv_materialized_t m = RV_MATERIALIZED_INIT;
        m.store_name = "aggregated";
        m.value_serde = rv_serde_string();
        rv_ktable_t *t = rv_session_windowed_kstream_aggregate(
            session_stream(b, (rv_emit_strategy_t)emit), str_init, NULL, str_adder, NULL,
            str_merger, NULL, NULL, &m);
        assert_non_null(t);
        assert_int_equal(t->window_kind, RV__WINDOW_SESSION);
        assert_int_equal(t->window_grace_ms, 0);
        assert_string_equal(rv_ktable_queryable_store_name(t), "aggregated");
        const rv__tstore_t *st = rv__topology_store_find(b->topo, "aggregated");
        assert_non_null(st);
        assert_int_equal(rv_store_builder_caching_enabled(st->builder), emit == 0);
        assert_true(rv_store_builder_persistent(st->builder));
        assert_true(rv_store_builder_logging_enabled(st->builder));
        size_t cnt = 0;
        const char *const *cfg = rv_store_builder_logging_config(st->builder, &cnt);
        bool found = false;
        for (size_t i = 0; i < cnt; i++)
            if (!strcmp(cfg[2 * i], "retention.ms")) {
                assert_string_equal(cfg[2 * i + 1], "86400500");
                found = true;
            }
        assert_true(found);
        rv_streams_builder_destroy(b);
    }
}

/* ---- describe(): TopologyTest's session cases ---- */

static rv_kgrouped_stream_t *grouped_input(rv_streams_builder_t *b) {
    const char *topics[] = {"input-topic"};
    return rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL);
}

static void test_describe(void **state) {
    (void)state;
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(1, 0);
    /* sessionWindowZeroArgCountShouldPreserveTopologyStructure */
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_session_windowed_kstream_count(rv_kgrouped_stream_windowed_by_session(grouped_input(b), &w),
                                      NULL, NULL);
    char *d = describe(b);
    assert_string_equal(d, "Topologies:\n"
                           "   Sub-topology: 0\n"
                           "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                           "      --> KSTREAM-AGGREGATE-0000000002\n"
                           "    Processor: KSTREAM-AGGREGATE-0000000002 (stores: "
                           "[KSTREAM-AGGREGATE-STATE-STORE-0000000001])\n"
                           "      --> none\n"
                           "      <-- KSTREAM-SOURCE-0000000000\n\n");
    free(d);
    /* sessionWindowNamedMaterializedCountShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "count-store";
    m.store_type = RV_STORE_TYPE_IN_MEMORY;
    rv_session_windowed_kstream_count(rv_kgrouped_stream_windowed_by_session(grouped_input(b), &w),
                                      NULL, &m);
    d = describe(b);
    assert_string_equal(d, "Topologies:\n"
                           "   Sub-topology: 0\n"
                           "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                           "      --> KSTREAM-AGGREGATE-0000000001\n"
                           "    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [count-store])\n"
                           "      --> none\n"
                           "      <-- KSTREAM-SOURCE-0000000000\n\n");
    free(d);
    /* sessionWindowAnonymousMaterializedCountShouldPreserveTopologyStructure
     * (and ...AnonymousStoreTypedMaterialized...): a burned store name. */
    b = rv_streams_builder_new();
    m = (rv_materialized_t)RV_MATERIALIZED_INIT;
    m.value_serde = rv_serde_int64();
    m.store_type = RV_STORE_TYPE_ROCKSDB;
    rv_session_windowed_kstream_count(rv_kgrouped_stream_windowed_by_session(grouped_input(b), &w),
                                      NULL, &m);
    d = describe(b);
    assert_string_equal(d, "Topologies:\n"
                           "   Sub-topology: 0\n"
                           "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                           "      --> KSTREAM-AGGREGATE-0000000003\n"
                           "    Processor: KSTREAM-AGGREGATE-0000000003 (stores: "
                           "[KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n"
                           "      --> none\n"
                           "      <-- KSTREAM-SOURCE-0000000000\n\n");
    free(d);
}

static rv_err_t first_char(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           void *opaque) {
    (void)k, (void)kl, (void)opaque;
    return rv_out_key(out, v, vl > 0 ? 1 : 0);
}

/* A key change before the session aggregation repartitions through
 * "<store>-repartition", as Kafka's GroupedStreamAggregateBuilder. */
static void test_describe_repartition(void **state) {
    (void)state;
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(1, 0);
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_ktable_t *t = rv_session_windowed_kstream_reduce(
        rv_kgrouped_stream_windowed_by_session(rv_kstream_group_by(s, first_char, NULL, NULL), &w),
        str_reduce, NULL, NULL, NULL);
    assert_non_null(rv_ktable_to_stream(t, NULL));
    char *d = describe(b);
    assert_string_equal(d, "Topologies:\n"
                           "   Sub-topology: 0\n"
                           "    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n"
                           "      --> KSTREAM-KEY-SELECT-0000000001\n"
                           "    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n"
                           "      --> KSTREAM-FILTER-0000000005\n"
                           "      <-- KSTREAM-SOURCE-0000000000\n"
                           "    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n"
                           "      --> KSTREAM-SINK-0000000004\n"
                           "      <-- KSTREAM-KEY-SELECT-0000000001\n"
                           "    Sink: KSTREAM-SINK-0000000004 (topic: "
                           "KSTREAM-REDUCE-STATE-STORE-0000000002-repartition)\n"
                           "      <-- KSTREAM-FILTER-0000000005\n"
                           "\n"
                           "  Sub-topology: 1\n"
                           "    Source: KSTREAM-SOURCE-0000000006 (topics: "
                           "[KSTREAM-REDUCE-STATE-STORE-0000000002-repartition])\n"
                           "      --> KSTREAM-REDUCE-0000000003\n"
                           "    Processor: KSTREAM-REDUCE-0000000003 (stores: "
                           "[KSTREAM-REDUCE-STATE-STORE-0000000002])\n"
                           "      --> KTABLE-TOSTREAM-0000000007\n"
                           "      <-- KSTREAM-SOURCE-0000000006\n"
                           "    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])\n"
                           "      --> none\n"
                           "      <-- KSTREAM-REDUCE-0000000003\n\n");
    free(d);
    /* Through the driver: the sessions are per first character. */
    b = rv_streams_builder_new();
    s = rv_streams_builder_stream(b, topics, 1, NULL);
    w = (rv_session_windows_t)RV_SESSION_WINDOWS_INIT(100, 0);
    t = rv_session_windowed_kstream_reduce(
        rv_kgrouped_stream_windowed_by_session(rv_kstream_group_by(s, first_char, NULL, NULL), &w),
        str_reduce, NULL, NULL, NULL);
    capture(t, V_STRING);
    rv_topology_t *topo;
    rv_test_driver_t *dr = start(b, &topo, mkconf("session-app", "0"));
    pipe_s(dr, "input", "x", "apple", 10);
    pipe_s(dr, "input", "y", "avocado", 50);
    pipe_s(dr, "input", "z", "banana", 60);
    assert_string_equal(g_out, "a[10,10]=apple@10 a[10,10]=null@10 a[10,50]=apple+avocado@50 "
                               "b[60,60]=banana@60 ");
    rv_test_driver_destroy(dr);
    rv_topology_destroy(topo);
}

/* ---- Caching and merges ---- */

/* With caching on, updates of a session between two commits collapse,
 * and a session made and merged away between them never shows; without
 * it every update and every tombstone is forwarded. */
static void test_caching_collapses(void **state) {
    (void)state;
    for (int cached = 0; cached < 2; cached++) {
        proc_fx_t fx;
        proc_start(&fx, RV_EMIT_ON_WINDOW_UPDATE, cached, true, GAP_MS, 0);
        rec_t recs[] = {{"a", "1", 10}, {"a", "2", 10}, {"a", "3", 10}};
        run_batch(fx.d, recs, 3);
        assert_string_equal(g_out, cached ? "a[10,10]=3@10 "
                                          : "a[10,10]=1@10 a[10,10]=2@10 "
                                            "a[10,10]=3@10 ");
        g_out[0] = '\0';
        rec_t merge[] = {{"b", "1", 0}, {"b", "2", 5}, {"b", "3", 100}};
        run_batch(fx.d, merge, 3);
        assert_string_equal(g_out, cached ? "b[0,100]=3@100 "
                                          : "b[0,0]=1@0 b[0,0]=null@0 b[0,5]=2@5 "
                                            "b[0,5]=null@5 b[0,100]=3@100 ");
        /* A merge of sessions flushed earlier forwards their tombstones. */
        g_out[0] = '\0';
        rec_t bridge[] = {{"b", "4", 2 * GAP_MS}, {"b", "5", GAP_MS + 50}};
        run_batch(fx.d, bridge, 2);
        assert_string_equal(g_out, cached ? "b[0,100]=null@100 b[0,600000]=5@600000 "
                                          : "b[600000,600000]=1@600000 b[0,100]=null@100 "
                                            "b[600000,600000]=null@600000 b[0,600000]=5@600000 ");
        assert_string_equal(sessions(fx.d, "session-store", "b", 0, INT64_MAX, V_INT64),
                            "[0,600000]=5 ");
        proc_stop(&fx);
    }
}

/* Old values reach a downstream operator that asks for them (a KTable
 * filter): the tombstone of a merged-away session carries its aggregate. */
static int keep_all(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)v, (void)vl, (void)opaque;
    return 1;
}

static void test_changelog_and_filter(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "counts";
    rv_ktable_t *t =
        rv_session_windowed_kstream_count(session_stream(b, RV_EMIT_ON_WINDOW_UPDATE), NULL, &m);
    capture(rv_ktable_filter(t, keep_all, NULL, NULL, NULL), V_INT64);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, mkconf("session-app", "0"));
    pipe_s(d, "input", "k", "1", 10);
    pipe_s(d, "input", "k", "2", 20);
    assert_string_equal(g_out, "k[10,10]=1@10 k[10,10]=null@10 k[10,20]=2@20 ");
    /* The changelog holds Kafka's session keys and the counts. */
    const char *want[] = {"k\0\0\0\0\0\0\0\x0a\0\0\0\0\0\0\0\x0a",
                          "k\0\0\0\0\0\0\0\x0a\0\0\0\0\0\0\0\x0a",
                          "k\0\0\0\0\0\0\0\x14\0\0\0\0\0\0\0\x0a"};
    int64_t want_v[] = {1, -1, 2};
    for (int i = 0; i < 3; i++) {
        rv_test_record_t *r;
        assert_int_equal(rv_test_driver_read_output(&r, d, "session-app-counts-changelog"), 0);
        int32_t kl, vl;
        const void *k = rv_test_record_key(r, &kl);
        const void *v = rv_test_record_value(r, &vl);
        assert_int_equal(kl, 17);
        assert_memory_equal(k, want[i], 17);
        if (want_v[i] < 0) {
            assert_null(v);
        } else {
            int64_t n;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            assert_int_equal(n, want_v[i]);
        }
        rv_test_record_destroy(r);
    }
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* SuppressScenarioTest.shouldSupportFinalResultsForSessionWindows: the
 * raw session counts, and one final count per session through suppress
 * until_window_closes (which waits gap + grace after a session's end). */
static char g_final[2048];

static rv_err_t final_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                              void *state) {
    (void)ctx, (void)state;
    const rv_windowed_t *w = r->key;
    size_t n = strlen(g_final);
    snprintf(g_final + n, sizeof g_final - n,
             "%.*s[%" PRId64 ",%" PRId64 "]=%" PRId64 "@%" PRId64 " ", (int)w->key_len,
             (const char *)w->key, w->start, w->end, r->value ? *(const int64_t *)r->value : -1,
             r->timestamp);
    return 0;
}

static rv_err_t final_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = final_process;
    return 0;
}

static void test_suppress_final_results(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(5, 0);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "counts";
    m.caching_disabled = 1;
    rv_ktable_t *t = rv_session_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by_session(grouped_input(b), &w), NULL, &m);
    rv_suppressed_t sup = RV_SUPPRESSED_INIT;
    rv_processor_supplier_t ps = RV_PROCESSOR_SUPPLIER_INIT;
    ps.get = final_get;
    assert_non_null(rv_kstream_process(rv_ktable_to_stream(rv_ktable_suppress(t, &sup), NULL), &ps,
                                       NULL, 0, NULL));
    capture(t, V_INT64);
    g_final[0] = '\0';
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "input-topic", "k1", "v1", 0);
    pipe_s(d, "input-topic", "k1", "v1", 5);
    pipe_s(d, "input-topic", "k1", "v1", 1);  /* disordered, admitted */
    pipe_s(d, "input-topic", "k2", "v1", 11); /* stream time 11 */
    pipe_s(d, "input-topic", "k1", "v1", 5);  /* late: the first session closed */
    pipe_s(d, "input-topic", "k1", "v1", 30);
    assert_string_equal(g_out, "k1[0,0]=1@0 k1[0,0]=null@0 k1[0,5]=2@5 k1[0,5]=null@5 "
                               "k1[0,5]=3@5 k2[11,11]=1@11 k1[30,30]=1@30 ");
    assert_string_equal(g_final, "k1[0,5]=3@5 k2[11,11]=1@11 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- On the embedded broker, RocksDB session store, restart ---- */

typedef struct fx_s {
    char *dir;
    char bs[4200];
    rv_broker_t *broker;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char errstr[512];
    fx->dir = rvt_tmpdir();
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    snprintf(fx->bs, sizeof fx->bs, "%s", rvt_bootstrap(fx->dir));
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rv_broker_close(fx->broker);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static rv_conf_t *client_conf(fx_t *fx) {
    char errstr[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    return c;
}

static void produce(fx_t *fx, const char *key, int64_t ts) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = "clicks";
    r.partition = 0;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = "click";
    r.value_len = 5;
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

static void run_app(fx_t *fx, rv_topology_t *topo, const char *want) {
    char errstr[1024], sd[4400];
    rv_conf_t *c = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    assert_int_equal(rv_conf_set(c, "application.id", "sessions", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "3000", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "200", errstr, sizeof errstr), 0);
    rv_streams_t *s = rv_streams_new(topo, c, errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    pthread_mutex_lock(&g_lock);
    g_out[0] = '\0';
    pthread_mutex_unlock(&g_lock);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);
    int64_t until = rv__mono_ms() + 20000;
    bool ok = false;
    while (!ok && rv__mono_ms() < until) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&g_lock);
        ok = strstr(g_out, want) != NULL;
        pthread_mutex_unlock(&g_lock);
    }
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    if (!ok)
        fail_msg("wanted \"%s\" in \"%s\"", want, g_out);
}

static void test_session_count_app(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(a);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    assert_int_equal(
        rv_admin_create_topic(a, "clicks", 1, -1, names, values, 1, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);

    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"clicks"};
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(1000, 0);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "click-sessions";
    m.store_type = RV_STORE_TYPE_ROCKSDB;
    rv_ktable_t *t = rv_session_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by_session(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &w),
        NULL, &m);
    capture(t, V_INT64);
    char err[1024];
    rv_topology_t *topo;
    if (rv_streams_builder_build(&topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);

    /* Timestamps near now: the changelog's retention (gap + 1 day) must
     * not expire them. */
    int64_t t0 = (rv__now_ms() / 1000) * 1000;
    produce(fx, "alice", t0);
    produce(fx, "alice", t0 + 500);
    produce(fx, "bob", t0 + 200);
    char want[256];
    snprintf(want, sizeof want, "alice[%" PRId64 ",%" PRId64 "]=2@%" PRId64, t0, t0 + 500,
             t0 + 500);
    run_app(fx, topo, want);
    snprintf(want, sizeof want, "bob[%" PRId64 ",%" PRId64 "]=1@%" PRId64, t0 + 200, t0 + 200,
             t0 + 200);
    rvt_assert_contains(g_out, want);

    /* The RocksDB session store (and its checkpoint) kept the sessions: a
     * new click within the gap extends alice's session to 3. */
    produce(fx, "alice", t0 + 1200);
    snprintf(want, sizeof want, "alice[%" PRId64 ",%" PRId64 "]=3@%" PRId64, t0, t0 + 1200,
             t0 + 1200);
    run_app(fx, topo, want);
    snprintf(want, sizeof want, "alice[%" PRId64 ",%" PRId64 "]=null@%" PRId64, t0, t0 + 500,
             t0 + 500);
    rvt_assert_contains(g_out, want);
    rv_topology_destroy(topo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_session_within_gap),
        cmocka_unit_test(test_merge_sessions),
        cmocka_unit_test(test_update_session_if_the_same_time),
        cmocka_unit_test(test_multiple_sessions_apart_by_gap),
        cmocka_unit_test(test_remove_merged_sessions_from_store),
        cmocka_unit_test(test_multiple_sessions_and_merging),
        cmocka_unit_test(test_aggregated_values_by_session),
        cmocka_unit_test(test_forward_new_session_when_non_cached),
        cmocka_unit_test(test_forward_removed_sessions_when_merging),
        cmocka_unit_test(test_skip_null_key),
        cmocka_unit_test(test_late_record_zero_grace),
        cmocka_unit_test(test_late_record_nonzero_grace),
        cmocka_unit_test(test_count_caching_disabled),
        cmocka_unit_test(test_count_caching_enabled),
        cmocka_unit_test(test_reduce_windowed),
        cmocka_unit_test(test_aggregate_session_windowed),
        cmocka_unit_test(test_materialized),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_store_builder),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_describe_repartition),
        cmocka_unit_test(test_caching_collapses),
        cmocka_unit_test(test_changelog_and_filter),
        cmocka_unit_test(test_suppress_final_results),
        cmocka_unit_test_setup_teardown(test_session_count_app, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
