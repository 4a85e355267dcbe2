/* tests/unit/test_dsl_windowed.c: windowed aggregations over time and
 * sliding windows (dsl/windowed.c) and the windowed serdes
 * (client/serde.c) through the test driver, with the inputs and outputs of
 * Kafka Streams' KStreamWindowAggregateTest, KStreamSlidingWindowAggregateTest,
 * TimeWindowedKStreamImplTest and SlidingWindowedKStreamImplTest (emit on
 * update and on window close, caching off and on); describe() strings;
 * late-record drops with Kafka's log lines and the dropped-records count;
 * the validation messages; the test driver's emission knobs; and a
 * windowed count on the embedded broker with a RocksDB window store that
 * keeps its windows across a restart (changelog + checkpoint).
 *
 * Not restated: the windowed table-table joins of testJoin (a windowed
 * table has no value getter here), shouldEmitFromLastEmitTime (the last
 * emitted close time is not kept across processor instances), and
 * testAggregateRandomInput (Kafka's in-order and reverse iterators on
 * random input; only the reverse one exists here). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#include "common/clock.h"
#include "dsl/dsl_internal.h"
#include "rivulet/rivulet.h"
#include "runtime/task.h"
#include "state/state_dir.h"

/* ---- Helpers ---- */

static rv_conf_t *mkconf(const char *cache_bytes, const char *emit_interval) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_non_null(c);
    assert_int_equal(rv_conf_set(c, "application.id", "win-app", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "cache.max.bytes.buffering", cache_bytes, err, sizeof err), 0);
    if (emit_interval)
        assert_int_equal(rv_conf_set(c, "__emit.interval.ms.kstreams.windowed.aggregation__",
                                     emit_interval, err, sizeof err),
                         0);
    return c;
}

/* What a test builds: the grouped stream "topic" (string keys and values)
 * windowed one way and aggregated one way, its table written to "output". */
typedef enum { AGG_STR, COUNT, REDUCE } kind_t;

typedef struct spec_s {
    bool sliding;
    int64_t size, advance, grace; /* sliding: size = time difference */
    rv_emit_strategy_t emit;
    kind_t kind;
    const char *store;
    bool cached;
    bool logging_disabled;
    int64_t retention;
    const char *init; /* AGG_STR: the initial aggregate ("0" by default) */
} spec_t;

/* MockAggregator.TOSTRING_ADDER: agg + "+" + value. */
static rv_err_t str_adder(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)opaque;
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s+%.*s", (int)al, (const char *)agg, (int)vl, (const char *)v);
    return rv_out_value(out, buf, -1);
}

/* MockReducer.STRING_ADDER: agg + "+" + value. */
static rv_err_t str_reducer(rv_out_t *out, const void *agg, int32_t al, const void *v, int32_t vl,
                            void *opaque) {
    (void)opaque;
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s+%.*s", (int)al, (const char *)agg, (int)vl, (const char *)v);
    return rv_out_value(out, buf, -1);
}

static rv_err_t str_init(rv_out_t *out, void *opaque) {
    return rv_out_value(out, opaque ? opaque : "0", -1);
}

static rv_topology_t *build(const spec_t *sp) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t cons = RV_CONSUMED_INIT;
    cons.key_serde = rv_serde_string();
    cons.value_serde = rv_serde_string();
    rv_grouped_t gr = RV_GROUPED_INIT;
    gr.key_serde = rv_serde_string();
    gr.value_serde = rv_serde_string();
    rv_kgrouped_stream_t *g =
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, &cons), &gr);
    rv_time_windowed_kstream_t *w;
    if (sp->sliding) {
        rv_sliding_windows_t sw = RV_SLIDING_WINDOWS_INIT(sp->size, sp->grace);
        w = rv_kgrouped_stream_windowed_by_sliding(g, &sw);
    } else {
        rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(sp->size, sp->grace);
        tw.advance_ms = sp->advance;
        w = rv_kgrouped_stream_windowed_by(g, &tw);
    }
    w = rv_time_windowed_kstream_emit_strategy(w, sp->emit);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = sp->store;
    m.caching_disabled = !sp->cached;
    m.logging_disabled = sp->logging_disabled;
    m.retention_ms = sp->retention;
    m.value_serde = sp->kind == COUNT ? rv_serde_int64() : rv_serde_string();
    rv_ktable_t *t;
    if (sp->kind == COUNT)
        t = rv_time_windowed_kstream_count(w, NULL, &m);
    else if (sp->kind == REDUCE)
        t = rv_time_windowed_kstream_reduce(w, str_reducer, NULL, NULL, &m);
    else
        t = rv_time_windowed_kstream_aggregate(w, str_init, (void *)sp->init, str_adder, NULL, NULL,
                                               &m);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t, NULL), "output", NULL), 0);
    char err[1024];
    rv_topology_t *topo;
    if (rv_streams_builder_build(&topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    return topo;
}

static rv_test_driver_t *start(rv_topology_t *topo, rv_conf_t *c) {
    char err[1024];
    rv_test_driver_t *d = rv_test_driver_new(topo, c, 0, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    return d;
}

static void pipe_s(rv_test_driver_t *d, const char *k, const char *v, int64_t ts) {
    rv_err_t err = rv_test_driver_pipe_input(d, "topic", k, k ? (int32_t)strlen(k) : -1, v,
                                             v ? (int32_t)strlen(v) : -1, ts, NULL, 0);
    if (err)
        fail_msg("pipe %s: %s", rv_err_name(err), rv_test_driver_last_error(d));
}

/* Every record of "output", as Kafka's Windowed.toString() "[k@start/end]"
 * then "=value@ts ", the key read from TimeWindowedSerializer's bytes
 * ([key][8-byte BE start]) with end = start + size. */
static char *drain(rv_test_driver_t *d, int64_t size, bool count) {
    static char out[16384];
    out[0] = '\0';
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, "output") == 0) {
        int32_t kl, vl;
        const uint8_t *k = rv_test_record_key(r, &kl);
        const void *v = rv_test_record_value(r, &vl);
        assert_true(kl >= 8);
        int64_t start = 0;
        assert_int_equal(rv_serde_int64_read(&start, k + kl - 8, 8), 0);
        char val[512];
        if (!v) {
            snprintf(val, sizeof val, "null");
        } else if (count) {
            int64_t n = 0;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            snprintf(val, sizeof val, "%" PRId64, n);
        } else {
            snprintf(val, sizeof val, "%.*s", (int)vl, (const char *)v);
        }
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "[%.*s@%" PRId64 "/%" PRId64 "]=%s@%" PRId64 " ",
                 (int)kl - 8, (const char *)k, start, start + size, val,
                 rv_test_record_timestamp(r));
        rv_test_record_destroy(r);
    }
    return out;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kafka's gatherOutput() for sliding windows: the set of "start:value@ts"
 * per window start, as one sorted, de-duplicated string. */
static char *gather(rv_test_driver_t *d) {
    static char out[16384];
    char *items[512];
    size_t n = 0;
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, "output") == 0) {
        int32_t kl, vl;
        const uint8_t *k = rv_test_record_key(r, &kl);
        const char *v = rv_test_record_value(r, &vl);
        int64_t start = 0;
        assert_int_equal(rv_serde_int64_read(&start, k + kl - 8, 8), 0);
        assert_true(n < 512);
        items[n] = malloc(600);
        snprintf(items[n++], 600, "%04" PRId64 ":%.*s@%" PRId64, start, (int)vl, v,
                 rv_test_record_timestamp(r));
        rv_test_record_destroy(r);
    }
    qsort(items, n, sizeof items[0], cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(items[i], items[i - 1])) {
            size_t l = strlen(out);
            snprintf(out + l, sizeof out - l, "%s ", items[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    return out;
}

typedef struct kvt_s {
    char key[64];
    int64_t start;
    size_t seq;
    char text[600];
} kvt_t;

static int cmp_kvt(const void *a, const void *b) {
    const kvt_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The records of "output" as "[k@start/end]=value@ts " sorted by key then
 * window start, keeping the order of emission otherwise (the stable sort
 * of Kafka's tests). */
static char *sorted_output_ex(rv_test_driver_t *d, int64_t size, bool last_only) {
    static char out[32768];
    static kvt_t items[512];
    size_t n = 0;
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, "output") == 0) {
        int32_t kl, vl;
        const uint8_t *k = rv_test_record_key(r, &kl);
        const char *v = rv_test_record_value(r, &vl);
        assert_true(n < 512);
        kvt_t *it = &items[n];
        assert_int_equal(rv_serde_int64_read(&it->start, k + kl - 8, 8), 0);
        snprintf(it->key, sizeof it->key, "%.*s", (int)kl - 8, (const char *)k);
        it->seq = n++;
        snprintf(it->text, sizeof it->text, "[%.*s@%" PRId64 "/%" PRId64 "]=%.*s@%" PRId64 " ",
                 (int)kl - 8, (const char *)k, it->start, it->start + size, (int)vl, v,
                 rv_test_record_timestamp(r));
        rv_test_record_destroy(r);
    }
    qsort(items, n, sizeof items[0], cmp_kvt);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (last_only && i + 1 < n && !strcmp(items[i].key, items[i + 1].key) &&
            items[i].start == items[i + 1].start)
            continue;
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%s", items[i].text);
    }
    return out;
}

static char *sorted_output(rv_test_driver_t *d, int64_t size) {
    return sorted_output_ex(d, size, false);
}

static char g_log[16384];

static void log_cb(int level, const char *fac, const char *msg, void *opaque) {
    (void)level, (void)fac, (void)opaque;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

/* ---- KStreamWindowAggregateTest ---- */

static const char *const agg_basic_update =
    "[A@0/10]=0+1@0 [B@0/10]=0+2@1 [C@0/10]=0+3@2 [D@0/10]=0+4@3 [A@0/10]=0+1+1@4 "
    "[A@0/10]=0+1+1+1@5 [A@5/15]=0+1@5 [B@0/10]=0+2+2@6 [B@5/15]=0+2@6 [D@0/10]=0+4+4@7 "
    "[D@5/15]=0+4@7 [B@0/10]=0+2+2+2@8 [B@5/15]=0+2+2@8 [C@0/10]=0+3+3@9 [C@5/15]=0+3@9 "
    "[A@5/15]=0+1+1@10 [A@10/20]=0+1@10 [B@5/15]=0+2+2+2@11 [B@10/20]=0+2@11 "
    "[D@5/15]=0+4+4@12 [D@10/20]=0+4@12 [B@5/15]=0+2+2+2+2@13 [B@10/20]=0+2+2@13 "
    "[C@5/15]=0+3+3@14 [C@10/20]=0+3@14 [B@0/10]=0+2+2+2+1@8 [B@0/10]=0+2+2+2+1+2@8 "
    "[B@0/10]=0+2+2+2+1+2+3@9 [B@5/15]=0+2+2+2+2+3@13 ";

static char *run_agg_basic(rv_emit_strategy_t emit, bool cached) {
    spec_t sp = {.size = 10,
                 .advance = 5,
                 .grace = 100,
                 .emit = emit,
                 .kind = AGG_STR,
                 .store = "topic1-Canonized",
                 .cached = cached};
    rv_topology_t *topo = build(&sp);
    rv_test_driver_t *d = start(topo, mkconf(cached ? "10485760" : "0", NULL));
    static const struct {
        const char *k, *v;
        int64_t ts;
    } in[] = {{"A", "1", 0},  {"B", "2", 1},  {"C", "3", 2},  {"D", "4", 3},  {"A", "1", 4},
              {"A", "1", 5},  {"B", "2", 6},  {"D", "4", 7},  {"B", "2", 8},  {"C", "3", 9},
              {"A", "1", 10}, {"B", "2", 11}, {"D", "4", 12}, {"B", "2", 13}, {"C", "3", 14},
              {"B", "1", 3},  {"B", "2", 2},  {"B", "3", 9}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        pipe_s(d, in[i].k, in[i].v, in[i].ts);
    char *got = drain(d, 10, false);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    return got;
}

static void test_agg_basic(void **state) {
    (void)state;
    assert_string_equal(run_agg_basic(RV_EMIT_ON_WINDOW_UPDATE, false), agg_basic_update);
    /* The driver commits after each record, so the cache flushes the
     * same updates. */
    assert_string_equal(run_agg_basic(RV_EMIT_ON_WINDOW_UPDATE, true), agg_basic_update);
    /* Grace 100: no window closes. */
    assert_string_equal(run_agg_basic(RV_EMIT_ON_WINDOW_CLOSE, false), "");
    assert_string_equal(run_agg_basic(RV_EMIT_ON_WINDOW_CLOSE, true), "");
}

static void test_skip_null_key(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        spec_t sp = {.size = 10,
                     .advance = 5,
                     .emit = (rv_emit_strategy_t)emit,
                     .kind = AGG_STR,
                     .store = "topic1-Canonicalized"};
        rv_topology_t *topo = build(&sp);
        rv_test_driver_t *d = start(topo, mkconf("0", NULL));
        int64_t before = rv__dsl_dropped_records();
        g_log[0] = '\0';
        rv_log_set_callback(log_cb, NULL);
        pipe_s(d, NULL, "1", 0);
        rv_log_set_callback(NULL, NULL);
        rvt_assert_contains(g_log, "Skipping record due to null key. topic=[topic] partition=[0] "
                                   "offset=[0]");
        assert_int_equal(rv__dsl_dropped_records() - before, 1);
        assert_string_equal(drain(d, 10, false), "");
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
}

static void test_skip_expired_window(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        spec_t sp = {.size = 10,
                     .advance = 5,
                     .grace = 90,
                     .emit = (rv_emit_strategy_t)emit,
                     .kind = AGG_STR,
                     .store = "topic1-Canonicalized",
                     .logging_disabled = true,
                     .retention = 100,
                     .init = ""};
        rv_topology_t *topo = build(&sp);
        rv_test_driver_t *d = start(topo, mkconf("0", NULL));
        int64_t before = rv__dsl_dropped_records();
        g_log[0] = '\0';
        rv_log_set_callback(log_cb, NULL);
        pipe_s(d, "k", "100", 100);
        for (int i = 0; i <= 6; i++) {
            char v[8];
            snprintf(v, sizeof v, "%d", i);
            pipe_s(d, "k", v, i);
        }
        pipe_s(d, "k", "105", 105);
        pipe_s(d, "k", "106", 106);
        rv_log_set_callback(NULL, NULL);
        assert_int_equal(rv__dsl_dropped_records() - before, 7);
        for (int i = 0; i <= 6; i++) {
            char line[512];
            snprintf(line, sizeof line,
                     "Skipping record for expired window. topic=[topic] partition=[0] offset=[%d] "
                     "timestamp=[%d] window=[0,10) expiration=[10] streamTime=[100]\n",
                     i + 1, i);
            rvt_assert_contains(g_log, line);
        }
        if (emit == RV_EMIT_ON_WINDOW_CLOSE)
            assert_string_equal(drain(d, 10, false), "[k@5/15]=+5+6@6 ");
        else
            assert_string_equal(drain(d, 10, false),
                                "[k@95/105]=+100@100 [k@100/110]=+100@100 [k@5/15]=+5@5 "
                                "[k@5/15]=+5+6@6 [k@100/110]=+100+105@105 [k@105/115]=+105@105 "
                                "[k@100/110]=+100+105+106@106 [k@105/115]=+105+106@106 ");
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
}

static void test_skip_expired_window_by_grace(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        spec_t sp = {.size = 10,
                     .advance = 10,
                     .grace = 90,
                     .emit = (rv_emit_strategy_t)emit,
                     .kind = AGG_STR,
                     .store = "topic1-Canonicalized",
                     .logging_disabled = true,
                     .init = ""};
        rv_topology_t *topo = build(&sp);
        rv_test_driver_t *d = start(topo, mkconf("0", NULL));
        g_log[0] = '\0';
        rv_log_set_callback(log_cb, NULL);
        pipe_s(d, "k", "100", 200);
        for (int i = 0; i <= 5; i++) {
            char v[8];
            snprintf(v, sizeof v, "%d", i);
            pipe_s(d, "k", v, 100 + i);
        }
        pipe_s(d, "k", "6", 6);
        rv_log_set_callback(NULL, NULL);
        for (int i = 0; i <= 5; i++) {
            char line[512];
            snprintf(line, sizeof line,
                     "Skipping record for expired window. topic=[topic] partition=[0] offset=[%d] "
                     "timestamp=[%d] window=[100,110) expiration=[110] streamTime=[200]\n",
                     i + 1, 100 + i);
            rvt_assert_contains(g_log, line);
        }
        rvt_assert_contains(g_log, "Skipping record for expired window. topic=[topic] "
                                   "partition=[0] offset=[7] timestamp=[6] window=[0,10) "
                                   "expiration=[110] streamTime=[200]\n");
        assert_string_equal(drain(d, 10, false),
                            emit == RV_EMIT_ON_WINDOW_CLOSE ? "" : "[k@200/210]=+100@200 ");
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
}

/* shouldNotEmitFinalIfNotProgressEnough / shouldEmitWithInterval0 /
 * shouldEmitWithLargeInterval: windows of 10 advancing by 5, grace 5. */
static rv_test_driver_t *emit_driver(rv_topology_t **topo, rv_emit_strategy_t emit,
                                     const char *interval) {
    spec_t sp = {.size = 10,
                 .advance = 5,
                 .grace = 5,
                 .emit = emit,
                 .kind = AGG_STR,
                 .store = "window-store"};
    *topo = build(&sp);
    return start(*topo, mkconf("0", interval));
}

static void test_emit_final_not_progress_enough(void **state) {
    (void)state;
    rv_topology_t *topo;
    rv_test_driver_t *d = emit_driver(&topo, RV_EMIT_ON_WINDOW_CLOSE, NULL);
    pipe_s(d, "A", "1", 0);
    pipe_s(d, "B", "2", 5);
    pipe_s(d, "C", "3", 15);
    assert_string_equal(drain(d, 10, false), "[A@0/10]=0+1@0 [B@0/10]=0+2@5 ");
    pipe_s(d, "D", "4", 15);
    assert_string_equal(drain(d, 10, false), "");
    pipe_s(d, "E", "5", 19);
    assert_string_equal(drain(d, 10, false), "");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);

    d = emit_driver(&topo, RV_EMIT_ON_WINDOW_UPDATE, NULL);
    pipe_s(d, "A", "1", 0);
    pipe_s(d, "B", "2", 5);
    pipe_s(d, "C", "3", 15);
    assert_string_equal(drain(d, 10, false), "[A@0/10]=0+1@0 [B@0/10]=0+2@5 [B@5/15]=0+2@5 "
                                             "[C@10/20]=0+3@15 [C@15/25]=0+3@15 ");
    pipe_s(d, "D", "4", 15);
    assert_string_equal(drain(d, 10, false), "[D@10/20]=0+4@15 [D@15/25]=0+4@15 ");
    pipe_s(d, "E", "5", 19);
    assert_string_equal(drain(d, 10, false), "[E@10/20]=0+5@19 [E@15/25]=0+5@19 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_emit_with_interval0(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        rv_topology_t *topo;
        rv_test_driver_t *d = emit_driver(&topo, (rv_emit_strategy_t)emit, "0");
        pipe_s(d, "A", "1", 0);
        pipe_s(d, "A", "1", 5);
        pipe_s(d, "B", "2", 10);
        pipe_s(d, "C", "3", 15);
        pipe_s(d, "D", "4", 20);
        if (emit == RV_EMIT_ON_WINDOW_CLOSE)
            assert_string_equal(drain(d, 10, false),
                                "[A@0/10]=0+1+1@5 [A@5/15]=0+1@5 [B@5/15]=0+2@10 ");
        else
            assert_string_equal(drain(d, 10, false),
                                "[A@0/10]=0+1@0 [A@0/10]=0+1+1@5 [A@5/15]=0+1@5 [B@5/15]=0+2@10 "
                                "[B@10/20]=0+2@10 [C@10/20]=0+3@15 [C@15/25]=0+3@15 "
                                "[D@15/25]=0+4@20 [D@20/30]=0+4@20 ");
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
}

static void test_emit_with_large_interval(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        rv_topology_t *topo;
        rv_test_driver_t *d = emit_driver(&topo, (rv_emit_strategy_t)emit, "1000");
        pipe_s(d, "A", "1", 0);
        pipe_s(d, "A", "1", 5);
        pipe_s(d, "B", "2", 10);
        pipe_s(d, "C", "3", 15);
        bool fin = emit == RV_EMIT_ON_WINDOW_CLOSE;
        assert_string_equal(drain(d, 10, false),
                            fin ? ""
                                : "[A@0/10]=0+1@0 [A@0/10]=0+1+1@5 [A@5/15]=0+1@5 "
                                  "[B@5/15]=0+2@10 [B@10/20]=0+2@10 [C@10/20]=0+3@15 "
                                  "[C@15/25]=0+3@15 ");
        assert_int_equal(rv_test_driver_advance_wall_clock(d, 10000), 0);
        pipe_s(d, "D", "4", 20);
        assert_string_equal(drain(d, 10, false),
                            fin ? "[A@0/10]=0+1+1@5 [A@5/15]=0+1@5 [B@5/15]=0+2@10 "
                                : "[D@15/25]=0+4@20 [D@20/30]=0+4@20 ");
        assert_int_equal(rv_test_driver_advance_wall_clock(d, 100), 0);
        pipe_s(d, "E", "5", 40);
        assert_string_equal(drain(d, 10, false), fin ? "" : "[E@35/45]=0+5@40 [E@40/50]=0+5@40 ");
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
}

/* ---- TimeWindowedKStreamImplTest: windows of 500 without grace ---- */

static char *run_impl(kind_t kind, rv_emit_strategy_t emit, bool cached) {
    spec_t sp = {.size = 500, .advance = 500, .emit = emit, .kind = kind, .cached = cached};
    rv_topology_t *topo = build(&sp);
    rv_test_driver_t *d = start(topo, mkconf(cached ? "10485760" : "0", NULL));
    pipe_s(d, "1", "1", 10);
    pipe_s(d, "1", "2", 15);
    pipe_s(d, "1", "3", 500);
    pipe_s(d, "2", "10", 550);
    pipe_s(d, "2", "20", 500);
    pipe_s(d, "2", "30", 1000);
    char *got = drain(d, 500, kind == COUNT);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    return got;
}

static void test_time_windowed_impl(void **state) {
    (void)state;
    for (int cached = 0; cached < 2; cached++) {
        assert_string_equal(run_impl(COUNT, RV_EMIT_ON_WINDOW_UPDATE, cached),
                            "[1@0/500]=1@10 [1@0/500]=2@15 [1@500/1000]=1@500 [2@500/1000]=1@550 "
                            "[2@500/1000]=2@550 [2@1000/1500]=1@1000 ");
        assert_string_equal(run_impl(COUNT, RV_EMIT_ON_WINDOW_CLOSE, cached),
                            "[1@0/500]=2@15 [1@500/1000]=1@500 [2@500/1000]=2@550 ");
        assert_string_equal(run_impl(REDUCE, RV_EMIT_ON_WINDOW_UPDATE, cached),
                            "[1@0/500]=1@10 [1@0/500]=1+2@15 [1@500/1000]=3@500 "
                            "[2@500/1000]=10@550 [2@500/1000]=10+20@550 [2@1000/1500]=30@1000 ");
        assert_string_equal(run_impl(REDUCE, RV_EMIT_ON_WINDOW_CLOSE, cached),
                            "[1@0/500]=1+2@15 [1@500/1000]=3@500 [2@500/1000]=10+20@550 ");
        assert_string_equal(run_impl(AGG_STR, RV_EMIT_ON_WINDOW_UPDATE, cached),
                            "[1@0/500]=0+1@10 [1@0/500]=0+1+2@15 [1@500/1000]=0+3@500 "
                            "[2@500/1000]=0+10@550 [2@500/1000]=0+10+20@550 "
                            "[2@1000/1500]=0+30@1000 ");
        assert_string_equal(run_impl(AGG_STR, RV_EMIT_ON_WINDOW_CLOSE, cached),
                            "[1@0/500]=0+1+2@15 [1@500/1000]=0+3@500 [2@500/1000]=0+10+20@550 ");
    }
}

/* shouldMaterializeCount: the store keeps what retention (500) allows. */
static void test_materialize_count(void **state) {
    (void)state;
    spec_t sp = {.size = 500, .advance = 500, .kind = COUNT, .store = "count-store"};
    rv_topology_t *topo = build(&sp);
    rv_test_driver_t *d = start(topo, mkconf("0", NULL));
    pipe_s(d, "1", "1", 10);
    pipe_s(d, "1", "2", 15);
    pipe_s(d, "1", "3", 500);
    pipe_s(d, "2", "10", 550);
    pipe_s(d, "2", "20", 500);
    pipe_s(d, "2", "30", 1000);
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, "count-store");
    assert_non_null(s);
    rv_window_iter_t *it;
    assert_int_equal(rv_window_store_fetch_range(&it, s, "1", 1, "2", 1, 0, 1000), 0);
    char got[512] = "";
    while (rv_window_iter_next(it) == 1) {
        size_t kl, vl;
        const char *k = rv_window_iter_key(it, &kl);
        const uint8_t *v = rv_window_iter_value(it, &vl);
        int64_t ts, n;
        assert_int_equal(vl, 16);
        rv_serde_int64_read(&ts, v, 8);
        rv_serde_int64_read(&n, v + 8, 8);
        size_t o = strlen(got);
        snprintf(got + o, sizeof got - o, "[%.*s@%" PRId64 "]=%" PRId64 "@%" PRId64 " ", (int)kl, k,
                 rv_window_iter_window_start(it), n, ts);
    }
    rv_window_iter_destroy(it);
    assert_string_equal(got, "[2@1000]=1@1000 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- KStreamSlidingWindowAggregateTest ---- */

static char *run_sliding_core(kind_t kind, rv_emit_strategy_t emit, int64_t diff, int64_t grace,
                              const char *const *k, const char *const *v, const int64_t *ts,
                              size_t n, bool cached, bool sorted) {
    spec_t sp = {.sliding = true,
                 .size = diff,
                 .grace = grace,
                 .emit = emit,
                 .kind = kind,
                 .store = "store-name",
                 .cached = cached};
    rv_topology_t *topo = build(&sp);
    rv_test_driver_t *d = start(topo, mkconf(cached ? "10485760" : "0", NULL));
    for (size_t i = 0; i < n; i++)
        pipe_s(d, k ? k[i] : "A", v[i], ts[i]);
    char *got = sorted ? sorted_output(d, diff) : gather(d);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    return got;
}

static char *run_sliding(kind_t kind, rv_emit_strategy_t emit, int64_t diff, int64_t grace,
                         const char *const *v, const int64_t *ts, size_t n, bool cached) {
    return run_sliding_core(kind, emit, diff, grace, NULL, v, ts, n, cached, false);
}

static char *run_sliding_sets(rv_emit_strategy_t emit, int64_t diff, int64_t grace,
                              const char *const *k, const char *const *v, const int64_t *ts,
                              size_t n) {
    return run_sliding_core(AGG_STR, emit, diff, grace, k, v, ts, n, false, false);
}

static char *run_sliding_sorted(rv_emit_strategy_t emit, int64_t diff, int64_t grace,
                                const char *const *k, const char *const *v, const int64_t *ts,
                                size_t n) {
    return run_sliding_core(AGG_STR, emit, diff, grace, k, v, ts, n, false, true);
}

static void test_sliding_aggregate_small_input(void **state) {
    (void)state;
    const char *v[] = {"1", "2", "3", "4", "5", "6", "7"};
    const int64_t ts[] = {10, 10, 14, 15, 20, 22, 30};
    for (int cached = 0; cached < 2; cached++) {
        assert_string_equal(
            run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_UPDATE, 10, 5, v, ts, 7, cached),
            "0000:0+1+2@10 0000:0+1@10 0004:0+1+2+3@14 0005:0+1+2+3+4@15 "
            "0010:0+1+2+3+4+5@20 0011:0+3+4+5@20 0011:0+3+4@15 0011:0+3@14 "
            "0012:0+3+4+5+6@22 0015:0+4+5+6@22 0015:0+4+5@20 0015:0+4@15 0016:0+5+6@22 "
            "0016:0+5@20 0020:0+5+6+7@30 0021:0+6+7@30 0021:0+6@22 0023:0+7@30 ");
        assert_string_equal(run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_CLOSE, 10, 5, v, ts, 7, cached),
                            "0000:0+1+2@10 0004:0+1+2+3@14 0005:0+1+2+3+4@15 "
                            "0010:0+1+2+3+4+5@20 0011:0+3+4+5@20 0012:0+3+4+5+6@22 ");
    }
}

static void test_sliding_reduce_small_input(void **state) {
    (void)state;
    const char *v[] = {"1", "2", "3", "4", "5", "6"};
    const int64_t ts[] = {10, 14, 15, 22, 26, 30};
    assert_string_equal(run_sliding(REDUCE, RV_EMIT_ON_WINDOW_UPDATE, 10, 5, v, ts, 6, false),
                        "0000:1@10 0004:1+2@14 0005:1+2+3@15 0011:2+3@15 0011:2@14 "
                        "0012:2+3+4@22 0015:3+4@22 0015:3@15 0016:4+5@26 0016:4@22 "
                        "0020:4+5+6@30 0023:5+6@30 0023:5@26 0027:6@30 ");
    assert_string_equal(run_sliding(REDUCE, RV_EMIT_ON_WINDOW_CLOSE, 10, 5, v, ts, 6, false),
                        "0000:1@10 0004:1+2@14 0005:1+2+3@15 0011:2+3@15 0012:2+3+4@22 ");
}

static void test_sliding_early_records(void **state) {
    (void)state;
    const char *v[] = {"1", "2", "3", "4", "5", "6", "7"};
    const int64_t ts[] = {0, 5, 6, 3, 13, 10, 70};
    assert_string_equal(
        run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_UPDATE, 50, 0, v, ts, 7, false),
        "0000:0+1+2+3+4+5+6@13 0000:0+1+2+3+4+5@13 0000:0+1+2+3+4@6 0000:0+1+2+3@6 "
        "0000:0+1+2@5 0000:0+1@0 0001:0+2+3+4+5+6@13 0001:0+2+3+4+5@13 0001:0+2+3+4@6 "
        "0001:0+2+3@6 0001:0+2@5 0004:0+2+3+5+6@13 0004:0+2+3+5@13 0004:0+2+3@6 "
        "0006:0+3+5+6@13 0006:0+3+5@13 0006:0+3@6 0007:0+5+6@13 0007:0+5@13 0011:0+5@13 "
        "0020:0+7@70 ");
    assert_string_equal(run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_CLOSE, 50, 0, v, ts, 7, false),
                        "0000:0+1+2+3+4+5+6@13 0001:0+2+3+4+5+6@13 0004:0+2+3+5+6@13 "
                        "0006:0+3+5+6@13 0007:0+5+6@13 0011:0+5@13 ");

    /* testEarlyRecordsRepeatedInput */
    const char *v2[] = {"1", "2", "3", "4", "5", "6", "7", "8"};
    const int64_t ts2[] = {0, 2, 4, 0, 2, 2, 0, 7};
    assert_string_equal(
        run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_UPDATE, 5, 0, v2, ts2, 8, false),
        "0000:0+1+2+3+4+5+6+7@4 0000:0+1+2+3+4+5+6@4 0000:0+1+2+3+4+5@4 0000:0+1+2+3+4@4 "
        "0000:0+1+2+3@4 0000:0+1+2@2 0000:0+1@0 0001:0+2+3+5+6@4 0001:0+2+3+5@4 "
        "0001:0+2+3@4 0001:0+2@2 0002:0+2+3+5+6+8@7 0003:0+3+8@7 0003:0+3@4 0005:0+8@7 ");
    assert_string_equal(run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_CLOSE, 5, 0, v2, ts2, 8, false),
                        "0000:0+1+2+3+4+5+6+7@4 0001:0+2+3+5+6@4 ");
}

static void test_sliding_no_grace_small_input(void **state) {
    (void)state;
    const char *v[] = {"1", "2", "3", "4", "5", "6"};
    const int64_t ts[] = {100, 105, 106, 103, 113, 110};
    assert_string_equal(run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_UPDATE, 50, 0, v, ts, 6, false),
                        "0050:0+1@100 0055:0+1+2@105 0056:0+1+2+3+4@106 0056:0+1+2+3@106 "
                        "0063:0+1+2+3+4+5+6@113 0063:0+1+2+3+4+5@113 0101:0+2+3+4+5+6@113 "
                        "0101:0+2+3+4+5@113 0101:0+2+3+4@106 0101:0+2+3@106 0101:0+2@105 "
                        "0104:0+2+3+5+6@113 0104:0+2+3+5@113 0104:0+2+3@106 0106:0+3+5+6@113 "
                        "0106:0+3+5@113 0106:0+3@106 0107:0+5+6@113 0107:0+5@113 0111:0+5@113 ");
    assert_string_equal(run_sliding(AGG_STR, RV_EMIT_ON_WINDOW_CLOSE, 50, 0, v, ts, 6, false),
                        "0050:0+1@100 0055:0+1+2@105 0056:0+1+2+3+4@106 ");
}

/* KStreamSlidingWindowAggregateTest's larger cases: inputs and expected
 * outputs taken from Kafka's tests of the same names. */
static void test_sliding_aggregate_large_input(void **state) {
    (void)state;
    static const char *const k[] = {"A", "A", "A", "A", "B", "B", "B", "B", "B", "B",
                                    "C", "C", "C", "C", "C", "D", "D", "D", "D"};
    static const char *const v[] = {"1", "2", "3", "4", "1", "2", "3", "4", "5", "6",
                                    "1", "2", "3", "4", "5", "4", "2", "3", "5"};
    static const int64_t ts[] = {10, 20, 22, 15, 12, 13, 18, 19, 25, 14,
                                 11, 15, 16, 21, 23, 11, 12, 29, 16};
    size_t n = sizeof ts / sizeof ts[0];
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_UPDATE, 10, 50, k, v, ts, n),
                        "[A@0/10]=0+1@10 [A@5/15]=0+1+4@15 [A@10/20]=0+1+2@20 "
                        "[A@10/20]=0+1+2+4@20 [A@11/21]=0+2@20 [A@11/21]=0+2+4@20 "
                        "[A@12/22]=0+2+3@22 [A@12/22]=0+2+3+4@22 [A@16/26]=0+2+3@22 "
                        "[A@21/31]=0+3@22 [B@2/12]=0+1@12 [B@3/13]=0+1+2@13 [B@4/14]=0+1+2+6@14 "
                        "[B@8/18]=0+1+2+3@18 [B@8/18]=0+1+2+3+6@18 [B@9/19]=0+1+2+3+4@19 "
                        "[B@9/19]=0+1+2+3+4+6@19 [B@13/23]=0+2@13 [B@13/23]=0+2+3@18 "
                        "[B@13/23]=0+2+3+4@19 [B@13/23]=0+2+3+4+6@19 [B@14/24]=0+3@18 "
                        "[B@14/24]=0+3+4@19 [B@14/24]=0+3+4+6@19 [B@15/25]=0+3+4+5@25 "
                        "[B@19/29]=0+4@19 [B@19/29]=0+4+5@25 [B@20/30]=0+5@25 [C@1/11]=0+1@11 "
                        "[C@5/15]=0+1+2@15 [C@6/16]=0+1+2+3@16 [C@11/21]=0+1+2+3+4@21 "
                        "[C@12/22]=0+2@15 [C@12/22]=0+2+3@16 [C@12/22]=0+2+3+4@21 "
                        "[C@13/23]=0+2+3+4+5@23 [C@16/26]=0+3@16 [C@16/26]=0+3+4@21 "
                        "[C@16/26]=0+3+4+5@23 [C@17/27]=0+4@21 [C@17/27]=0+4+5@23 "
                        "[C@22/32]=0+5@23 [D@1/11]=0+4@11 [D@2/12]=0+4+2@12 [D@6/16]=0+4+2+5@16 "
                        "[D@12/22]=0+2@12 [D@12/22]=0+2+5@16 [D@13/23]=0+5@16 [D@19/29]=0+3@29 ");
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_CLOSE, 10, 10, k, v, ts, n),
                        "[A@0/10]=0+1@10 [A@5/15]=0+1+4@15 [B@2/12]=0+1@12 [B@3/13]=0+1+2@13 "
                        "[B@8/18]=0+1+2+3+6@18 [C@5/15]=0+2@15 [C@6/16]=0+2+3@16 ");
}

static void test_sliding_early_records_large_input(void **state) {
    (void)state;
    static const char *const k[] = {"E", "E", "E", "E", "E", "E", "E", "E", "E"};
    static const char *const v[] = {"1", "3", "4", "2", "6", "5", "7", "8", "9"};
    static const int64_t ts[] = {0, 5, 6, 3, 13, 10, 4, 2, 15};
    size_t n = sizeof ts / sizeof ts[0];
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_UPDATE, 10, 50, k, v, ts, n),
                        "[E@0/10]=0+1@0 [E@0/10]=0+1+3@5 [E@0/10]=0+1+3+4@6 "
                        "[E@0/10]=0+1+3+4+2@6 [E@0/10]=0+1+3+4+2+5@10 [E@0/10]=0+1+3+4+2+5+7@10 "
                        "[E@0/10]=0+1+3+4+2+5+7+8@10 [E@1/11]=0+3@5 [E@1/11]=0+3+4@6 "
                        "[E@1/11]=0+3+4+2@6 [E@1/11]=0+3+4+2+5@10 [E@1/11]=0+3+4+2+5+7@10 "
                        "[E@1/11]=0+3+4+2+5+7+8@10 [E@3/13]=0+3+4+2+6@13 "
                        "[E@3/13]=0+3+4+2+6+5@13 [E@3/13]=0+3+4+2+6+5+7@13 [E@4/14]=0+3+4@6 "
                        "[E@4/14]=0+3+4+6@13 [E@4/14]=0+3+4+6+5@13 [E@4/14]=0+3+4+6+5+7@13 "
                        "[E@5/15]=0+3+4+6+5@13 [E@5/15]=0+3+4+6+5+9@15 [E@6/16]=0+4@6 "
                        "[E@6/16]=0+4+6@13 [E@6/16]=0+4+6+5@13 [E@6/16]=0+4+6+5+9@15 "
                        "[E@7/17]=0+6@13 [E@7/17]=0+6+5@13 [E@7/17]=0+6+5+9@15 [E@11/21]=0+6@13 "
                        "[E@11/21]=0+6+9@15 [E@14/24]=0+9@15 ");
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_CLOSE, 10, 1, k, v, ts, n),
                        "[E@0/10]=0+1+3+4+2@6 [E@1/11]=0+3+4+2@6 [E@3/13]=0+3+4+2+6+5+7@13 ");
}

static void test_sliding_early_no_grace_small_input(void **state) {
    (void)state;
    static const char *const k[] = {"A", "A", "A", "A", "A", "A", "A"};
    static const char *const v[] = {"1", "2", "3", "4", "5", "6", "6"};
    static const int64_t ts[] = {0, 5, 6, 3, 13, 10, 70};
    size_t n = sizeof ts / sizeof ts[0];
    assert_string_equal(run_sliding_sets(RV_EMIT_ON_WINDOW_UPDATE, 50, 0, k, v, ts, n),
                        "0000:0+1+2+3+4+5+6@13 0000:0+1+2+3+4+5@13 0000:0+1+2+3+4@6 "
                        "0000:0+1+2+3@6 0000:0+1+2@5 0000:0+1@0 0001:0+2+3+4+5+6@13 "
                        "0001:0+2+3+4+5@13 0001:0+2+3+4@6 0001:0+2+3@6 0001:0+2@5 "
                        "0004:0+2+3+5+6@13 0004:0+2+3+5@13 0004:0+2+3@6 0006:0+3+5+6@13 "
                        "0006:0+3+5@13 0006:0+3@6 0007:0+5+6@13 0007:0+5@13 0011:0+5@13 "
                        "0020:0+6@70 ");
    assert_string_equal(run_sliding_sets(RV_EMIT_ON_WINDOW_CLOSE, 50, 0, k, v, ts, n),
                        "0000:0+1+2+3+4+5+6@13 0001:0+2+3+4+5+6@13 0004:0+2+3+5+6@13 "
                        "0006:0+3+5+6@13 0007:0+5+6@13 0011:0+5@13 ");
}

static void test_sliding_no_grace_large_input(void **state) {
    (void)state;
    static const char *const k[] = {"E", "E", "E", "E", "E", "E", "E", "E", "E"};
    static const char *const v[] = {"1", "3", "4", "2", "6", "5", "7", "8", "9"};
    static const int64_t ts[] = {100, 105, 106, 103, 113, 110, 104, 102, 115};
    size_t n = sizeof ts / sizeof ts[0];
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_UPDATE, 10, 0, k, v, ts, n),
                        "[E@90/100]=0+1@100 [E@95/105]=0+1+3@105 [E@96/106]=0+1+3+4@106 "
                        "[E@96/106]=0+1+3+4+2@106 [E@101/111]=0+3@105 [E@101/111]=0+3+4@106 "
                        "[E@101/111]=0+3+4+2@106 [E@103/113]=0+3+4+2+6@113 "
                        "[E@103/113]=0+3+4+2+6+5@113 [E@103/113]=0+3+4+2+6+5+7@113 "
                        "[E@104/114]=0+3+4@106 [E@104/114]=0+3+4+6@113 "
                        "[E@104/114]=0+3+4+6+5@113 [E@104/114]=0+3+4+6+5+7@113 "
                        "[E@105/115]=0+3+4+6+5@113 [E@105/115]=0+3+4+6+5+9@115 "
                        "[E@106/116]=0+4@106 [E@106/116]=0+4+6@113 [E@106/116]=0+4+6+5@113 "
                        "[E@106/116]=0+4+6+5+9@115 [E@107/117]=0+6@113 [E@107/117]=0+6+5@113 "
                        "[E@107/117]=0+6+5+9@115 [E@111/121]=0+6@113 [E@111/121]=0+6+9@115 "
                        "[E@114/124]=0+9@115 ");
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_CLOSE, 10, 0, k, v, ts, n),
                        "[E@90/100]=0+1@100 [E@95/105]=0+1+3@105 [E@96/106]=0+1+3+4+2@106 "
                        "[E@101/111]=0+3+4+2@106 [E@103/113]=0+3+4+2+6+5+7@113 "
                        "[E@104/114]=0+3+4+6+5+7@113 ");
}

static void test_sliding_early_no_grace_large_input(void **state) {
    (void)state;
    static const char *const k[] = {"E", "E", "E", "E", "E", "E", "E", "E", "E"};
    static const char *const v[] = {"1", "3", "4", "2", "6", "5", "7", "8", "9"};
    static const int64_t ts[] = {0, 5, 6, 3, 13, 10, 4, 2, 15};
    size_t n = sizeof ts / sizeof ts[0];
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_UPDATE, 10, 0, k, v, ts, n),
                        "[E@0/10]=0+1@0 [E@0/10]=0+1+3@5 [E@0/10]=0+1+3+4@6 "
                        "[E@0/10]=0+1+3+4+2@6 [E@1/11]=0+3@5 [E@1/11]=0+3+4@6 "
                        "[E@1/11]=0+3+4+2@6 [E@3/13]=0+3+4+2+6@13 [E@3/13]=0+3+4+2+6+5@13 "
                        "[E@3/13]=0+3+4+2+6+5+7@13 [E@4/14]=0+3+4@6 [E@4/14]=0+3+4+6@13 "
                        "[E@4/14]=0+3+4+6+5@13 [E@4/14]=0+3+4+6+5+7@13 [E@5/15]=0+3+4+6+5@13 "
                        "[E@5/15]=0+3+4+6+5+9@15 [E@6/16]=0+4@6 [E@6/16]=0+4+6@13 "
                        "[E@6/16]=0+4+6+5@13 [E@6/16]=0+4+6+5+9@15 [E@7/17]=0+6@13 "
                        "[E@7/17]=0+6+5@13 [E@7/17]=0+6+5+9@15 [E@11/21]=0+6@13 "
                        "[E@11/21]=0+6+9@15 [E@14/24]=0+9@15 ");
    assert_string_equal(run_sliding_sorted(RV_EMIT_ON_WINDOW_CLOSE, 10, 0, k, v, ts, n),
                        "[E@0/10]=0+1+3+4+2@6 [E@1/11]=0+3+4+2@6 [E@3/13]=0+3+4+2+6+5+7@13 "
                        "[E@4/14]=0+3+4+6+5+7@13 ");
}

/* KStreamSlidingWindowAggregateTest.testAggregateRandomInput: records in
 * a shuffled order (a fixed seed here, so a failure can be replayed); the
 * last result of every window must hold exactly the values whose
 * timestamps lie in it, [start, start + size] (both ends inclusive), and
 * every record must have the window that ends at it (or [0, size] for a
 * record earlier than size). */
static void test_sliding_aggregate_random_input(void **state) {
    (void)state;
    enum { N = 40 };
    const int64_t size = 10000;
    int64_t ts[N];
    char vals[N][8];
    const char *v[N];
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < N; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        ts[i] = (int64_t)((rng >> 33) % 30000);
        snprintf(vals[i], sizeof vals[i], "%d", i);
        v[i] = vals[i];
    }
    spec_t sp = {
        .sliding = true, .size = size, .grace = 100000, .kind = AGG_STR, .store = "store-name"};
    rv_topology_t *topo = build(&sp);
    rv_test_driver_t *d = start(topo, mkconf("0", NULL));
    for (int i = 0; i < N; i++)
        pipe_s(d, "A", v[i], ts[i]);
    /* The last aggregate per window start. */
    static int64_t starts[4 * N];
    static char aggs[4 * N][400];
    size_t nw = 0;
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, "output") == 0) {
        int32_t kl, vl;
        const uint8_t *k = rv_test_record_key(r, &kl);
        const char *val = rv_test_record_value(r, &vl);
        int64_t start;
        assert_int_equal(rv_serde_int64_read(&start, k + kl - 8, 8), 0);
        size_t j = 0;
        while (j < nw && starts[j] != start)
            j++;
        assert_true(j < 4 * N);
        if (j == nw)
            starts[nw++] = start;
        snprintf(aggs[j], sizeof aggs[j], "%.*s", (int)vl, val);
        rv_test_record_destroy(r);
    }
    for (size_t j = 0; j < nw; j++) {
        /* "0+a+b+...": the values in the window, each once. */
        bool in[N] = {false};
        char copy[400];
        memcpy(copy, aggs[j], sizeof copy);
        char *save = NULL;
        char *tok = strtok_r(copy, "+", &save);
        assert_string_equal(tok, "0");
        while ((tok = strtok_r(NULL, "+", &save))) {
            int i = atoi(tok);
            assert_true(i >= 0 && i < N && !in[i]);
            in[i] = true;
        }
        for (int i = 0; i < N; i++)
            if (in[i] != (ts[i] >= starts[j] && ts[i] <= starts[j] + size))
                fail_msg("window [%" PRId64 ",%" PRId64 "]: value %d at %" PRId64 " %s", starts[j],
                         starts[j] + size, i, ts[i], in[i] ? "should not be in it" : "is missing");
    }
    for (int i = 0; i < N; i++) {
        int64_t want = ts[i] >= size ? ts[i] - size : 0;
        size_t j = 0;
        while (j < nw && starts[j] != want)
            j++;
        if (j == nw)
            fail_msg("no window [%" PRId64 ",%" PRId64 "] for the record at %" PRId64, want,
                     want + size, ts[i]);
    }
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* Kafka's sliding shouldLogAndMeterWhenSkippingNullKey and
 * shouldLogAndMeterWhenSkippingExpiredWindowByGrace. */
static void test_sliding_skips(void **state) {
    (void)state;
    for (int emit = 0; emit < 2; emit++) {
        spec_t sp = {.sliding = true,
                     .size = 10,
                     .grace = 90,
                     .emit = (rv_emit_strategy_t)emit,
                     .kind = AGG_STR,
                     .store = "store-name"};
        rv_topology_t *topo = build(&sp);
        rv_test_driver_t *d = start(topo, mkconf("0", NULL));
        int64_t before = rv__dsl_dropped_records();
        g_log[0] = '\0';
        rv_log_set_callback(log_cb, NULL);
        pipe_s(d, "k", NULL, 1);
        rvt_assert_contains(g_log, "Skipping record due to null key or value. topic=[topic] "
                                   "partition=[0] offset=[0]\n");
        static const struct {
            const char *v;
            int64_t ts;
        } in[] = {{"100", 200}, {"0", 100}, {"1", 101}, {"2", 102},   {"3", 103},
                  {"4", 104},   {"5", 105}, {"6", 15},  {"101", 300}, {"102", 400}};
        for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
            pipe_s(d, "k", in[i].v, in[i].ts);
        rv_log_set_callback(NULL, NULL);
        assert_int_equal(rv__dsl_dropped_records() - before, 8);
        for (int i = 0; i <= 5; i++) {
            char line[512];
            snprintf(line, sizeof line,
                     "Skipping record for expired window. topic=[topic] partition=[0] offset=[%d] "
                     "timestamp=[%d] window=[%d,%d] expiration=[110] streamTime=[200]\n",
                     i + 2, 100 + i, 90 + i, 100 + i);
            rvt_assert_contains(g_log, line);
        }
        rvt_assert_contains(g_log, "Skipping record for expired window. topic=[topic] "
                                   "partition=[0] offset=[8] timestamp=[15] window=[15,25] "
                                   "expiration=[110] streamTime=[200]\n");
        assert_string_equal(sorted_output(d, 10),
                            emit == RV_EMIT_ON_WINDOW_CLOSE
                                ? "[k@190/200]=0+100@200 [k@290/300]=0+101@300 "
                                : "[k@190/200]=0+100@200 [k@290/300]=0+101@300 "
                                  "[k@390/400]=0+102@400 ");
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
}

/* SlidingWindowedKStreamImplTest: the last value of each window (time
 * difference 100, grace 1000). */
static char *run_sliding_impl(kind_t kind) {
    spec_t sp = {.sliding = true, .size = 100, .grace = 1000, .kind = kind};
    rv_topology_t *topo = build(&sp);
    rv_test_driver_t *d = start(topo, mkconf("0", NULL));
    pipe_s(d, "1", "1", 100);
    pipe_s(d, "1", "2", 150);
    pipe_s(d, "1", "3", 500);
    pipe_s(d, "2", "10", 200);
    pipe_s(d, "2", "20", 150);
    static char out[4096];
    if (kind == COUNT) {
        /* sorted_output() reads string values: show counts as numbers. */
        char *all = drain(d, 100, true);
        snprintf(out, sizeof out, "%s", all);
    } else {
        snprintf(out, sizeof out, "%s", sorted_output_ex(d, 100, true));
    }
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    return out;
}

static void test_sliding_windowed_impl(void **state) {
    (void)state;
    char *c = run_sliding_impl(COUNT);
    /* The last count of each window Kafka's test looks at. */
    const char *want[] = {"[1@0/100]=1@100 ",   "[1@101/201]=1@150 ", "[1@50/150]=2@150 ",
                          "[1@400/500]=1@500 ", "[2@100/200]=2@200 ", "[2@50/150]=1@150 ",
                          "[2@151/251]=1@200 "};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *hit = strstr(c, want[i]), *p = hit;
        if (!hit)
            fail_msg("missing %s in %s", want[i], c);
        /* ... and no later update of that window. */
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(strchr(want[i], '=') - want[i] + 1), want[i]);
        assert_null(strstr(p + 1, prefix));
    }
    assert_string_equal(run_sliding_impl(REDUCE),
                        "[1@0/100]=1@100 [1@50/150]=1+2@150 [1@101/201]=2@150 [1@400/500]=3@500 "
                        "[2@50/150]=20@150 [2@100/200]=10+20@200 [2@151/251]=10@200 ");
    assert_string_equal(run_sliding_impl(AGG_STR),
                        "[1@0/100]=0+1@100 [1@50/150]=0+1+2@150 [1@101/201]=0+2@150 "
                        "[1@400/500]=0+3@500 [2@50/150]=0+20@150 [2@100/200]=0+10+20@200 "
                        "[2@151/251]=0+10@200 ");
}

/* shouldDropWindowsOutsideOfRetention: an in-memory store keeping 1200 ms. */
static void test_sliding_retention(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_sliding_windows_t sw = RV_SLIDING_WINDOWS_INIT(100, 1000);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "aggregated";
    m.store_type = RV_STORE_TYPE_IN_MEMORY;
    m.retention_ms = 1200;
    m.caching_disabled = 1;
    m.value_serde = rv_serde_string();
    rv_time_windowed_kstream_aggregate(
        rv_kgrouped_stream_windowed_by_sliding(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &sw),
        str_init, NULL, str_adder, NULL, NULL, &m);
    char err[1024];
    rv_topology_t *topo;
    assert_int_equal(rv_streams_builder_build(&topo, b, err, sizeof err), 0);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = start(topo, mkconf("0", NULL));
    pipe_s(d, "1", "2", 100);
    pipe_s(d, "1", "3", 500);
    pipe_s(d, "1", "4", 799);
    pipe_s(d, "1", "4", 1000);
    pipe_s(d, "1", "5", 2000);
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, "aggregated");
    assert_non_null(s);
    rv_window_iter_t *it;
    assert_int_equal(rv_window_store_fetch(&it, s, "1", 1, 0, 10000), 0);
    char got[512] = "";
    while (rv_window_iter_next(it) == 1) {
        size_t vl;
        const uint8_t *v = rv_window_iter_value(it, &vl);
        int64_t ts;
        rv_serde_int64_read(&ts, v, 8);
        int64_t st = rv_window_iter_window_start(it);
        size_t o = strlen(got);
        snprintf(got + o, sizeof got - o, "[1@%" PRId64 "/%" PRId64 "]=%.*s@%" PRId64 " ", st,
                 st + 100, (int)vl - 8, (const char *)v + 8, ts);
    }
    rv_window_iter_destroy(it);
    assert_string_equal(got, "[1@900/1000]=0+4@1000 [1@1900/2000]=0+5@2000 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- describe(), validation, serdes ---- */

static void test_describe(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input-topic"};
    rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(1, 0);
    rv_time_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &tw),
        NULL, NULL);
    char err[1024];
    rv_topology_t *topo;
    assert_int_equal(rv_streams_builder_build(&topo, b, err, sizeof err), 0);
    rv_streams_builder_destroy(b);
    char *desc = rv_topology_describe(topo);
    assert_string_equal(desc, "Topologies:\n"
                              "   Sub-topology: 0\n"
                              "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                              "      --> KSTREAM-AGGREGATE-0000000002\n"
                              "    Processor: KSTREAM-AGGREGATE-0000000002 (stores: "
                              "[KSTREAM-AGGREGATE-STATE-STORE-0000000001])\n"
                              "      --> none\n"
                              "      <-- KSTREAM-SOURCE-0000000000\n\n");
    free(desc);
    rv_topology_destroy(topo);

    /* A NULL handle passes through; the builder keeps the first error. */
    b = rv_streams_builder_new();
    rv_sliding_windows_t sw = RV_SLIDING_WINDOWS_INIT(10, 0);
    assert_null(rv_time_windowed_kstream_reduce(
        rv_kgrouped_stream_windowed_by_sliding(
            rv_kstream_group_by(rv_streams_builder_stream(b, topics, 1, NULL), NULL, NULL, NULL),
            &sw),
        str_reducer, NULL, NULL, NULL));
    const char *msg = NULL;
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    rvt_assert_contains(msg, "keySelector can't be null");
    rv_streams_builder_destroy(b);
}

static rv_err_t first_char(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    return rv_out_key(out, v, 1);
}

static void test_describe_repartition(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input-topic"};
    rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(1000, 0);
    rv_time_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by(
            rv_kstream_group_by(rv_streams_builder_stream(b, topics, 1, NULL), first_char, NULL,
                                NULL),
            &tw),
        NULL, NULL);
    char err[1024];
    rv_topology_t *topo;
    assert_int_equal(rv_streams_builder_build(&topo, b, err, sizeof err), 0);
    rv_streams_builder_destroy(b);
    char *desc = rv_topology_describe(topo);
    rvt_assert_contains(desc, "Sink: KSTREAM-SINK-0000000004 (topic: "
                              "KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)\n");
    rvt_assert_contains(desc, "Processor: KSTREAM-AGGREGATE-0000000003 (stores: "
                              "[KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n");
    free(desc);
    rv_topology_destroy(topo);
}

static const char *build_error(const spec_t *sp, const rv_time_windows_t *tw,
                               const rv_sliding_windows_t *sw) {
    static char msg[1024];
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_kgrouped_stream_t *g =
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL);
    rv_time_windowed_kstream_t *w =
        tw ? rv_kgrouped_stream_windowed_by(g, tw) : rv_kgrouped_stream_windowed_by_sliding(g, sw);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = sp ? sp->store : NULL;
    m.retention_ms = sp ? sp->retention : 0;
    assert_null(rv_time_windowed_kstream_count(w, NULL, &m));
    const char *e = NULL;
    assert_int_not_equal(rv_streams_builder_last_error(b, &e), 0);
    snprintf(msg, sizeof msg, "%s", e);
    rv_streams_builder_destroy(b);
    return msg;
}

static void test_validation(void **state) {
    (void)state;
    rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(0, 0);
    assert_string_equal(build_error(NULL, &tw, NULL),
                        "Window size (sizeMs) must be larger than zero.");
    tw = (rv_time_windows_t)RV_TIME_WINDOWS_INIT(10, 0);
    tw.advance_ms = 11;
    assert_string_equal(build_error(NULL, &tw, NULL),
                        "Window advancement interval should be more than zero and less than "
                        "window duration which is 10 ms, but given advancement interval is: 11 ms");
    tw = (rv_time_windows_t)RV_TIME_WINDOWS_INIT(10, -1);
    assert_string_equal(build_error(NULL, &tw, NULL), "Grace period must not be negative.");
    tw = (rv_time_windows_t)RV_TIME_WINDOWS_INIT(10, 5);
    spec_t sp = {.store = "s", .retention = 14};
    assert_string_equal(build_error(&sp, &tw, NULL),
                        "The retention period of the window store s must be no smaller than its "
                        "window size plus the grace period. Got size=[10], grace=[5], "
                        "retention=[14]");
    rv_sliding_windows_t sw = RV_SLIDING_WINDOWS_INIT(-1, 0);
    assert_string_equal(build_error(NULL, NULL, &sw),
                        "Window time difference must not be negative.");
    sw = (rv_sliding_windows_t)RV_SLIDING_WINDOWS_INIT(10, -1);
    assert_string_equal(build_error(NULL, NULL, &sw), "Window grace period must not be negative.");
    /* SlidingWindowedKStreamImplTest.shouldThrowIllegalArgumentWhenRetentionIsTooSmall */
    sw = (rv_sliding_windows_t)RV_SLIDING_WINDOWS_INIT(10, 5);
    sp.store = "aggregated";
    sp.retention = 1;
    assert_string_equal(build_error(&sp, NULL, &sw),
                        "The retention period of the window store aggregated must be no smaller "
                        "than 2 * time difference plus the grace period. Got time "
                        "difference=[10], grace=[5], retention=[1]");
}

/* TimeWindowedKStreamImplTest's null checks. */
static void test_null_arguments(void **state) {
    (void)state;
    for (int i = 0; i < 3; i++) {
        rv_streams_builder_t *b = rv_streams_builder_new();
        const char *topics[] = {"topic"};
        rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(500, 0);
        rv_time_windowed_kstream_t *w = rv_kgrouped_stream_windowed_by(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &tw);
        rv_ktable_t *t =
            i == 0 ? rv_time_windowed_kstream_reduce(w, NULL, NULL, NULL, NULL)
            : i == 1
                ? rv_time_windowed_kstream_aggregate(w, NULL, NULL, str_adder, NULL, NULL, NULL)
                : rv_time_windowed_kstream_aggregate(w, str_init, NULL, NULL, NULL, NULL, NULL);
        assert_null(t);
        const char *msg = NULL;
        assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
        assert_string_equal(msg, i == 0   ? "reducer can't be null"
                                 : i == 1 ? "initializer can't be null"
                                          : "aggregator can't be null");
        rv_streams_builder_destroy(b);
    }
    assert_null(rv_time_windowed_kstream_count(NULL, NULL, NULL));
    assert_null(rv_kgrouped_stream_windowed_by(NULL, NULL));
}

static void test_windowed_serdes(void **state) {
    (void)state;
    rv_serde_t *ts = rv_serde_time_windowed_new(rv_serde_string(), 100);
    rv_serde_t *ss = rv_serde_session_windowed_new(rv_serde_string());
    assert_non_null(ts);
    assert_non_null(ss);
    char err[256];
    rv_windowed_t w = {"key", 3, 1000, 1100};
    void *b;
    int32_t bl;
    assert_int_equal(rv_serde_serialize(ts, &b, &bl, "t", &w, sizeof w, err, sizeof err), 0);
    assert_int_equal(bl, 11);
    assert_memory_equal(b, "key\0\0\0\0\0\0\x03\xe8", 11);
    void *o;
    int32_t ol;
    assert_int_equal(rv_serde_deserialize(ts, &o, &ol, "t", b, bl, err, sizeof err), 0);
    rv_serde_free(ts, b);
    const rv_windowed_t *d = o;
    assert_int_equal(ol, sizeof(rv_windowed_t));
    assert_string_equal(d->key, "key");
    assert_int_equal(d->key_len, 3);
    assert_int_equal(d->start, 1000);
    assert_int_equal(d->end, 1100);
    rv_serde_free(ts, o);

    w.end = 2000;
    assert_int_equal(rv_serde_serialize(ss, &b, &bl, "t", &w, sizeof w, err, sizeof err), 0);
    assert_int_equal(bl, 19);
    assert_memory_equal(b, "key\0\0\0\0\0\0\x07\xd0\0\0\0\0\0\0\x03\xe8", 19);
    assert_int_equal(rv_serde_deserialize(ss, &o, &ol, "t", b, bl, err, sizeof err), 0);
    rv_serde_free(ss, b);
    d = o;
    assert_int_equal(d->start, 1000);
    assert_int_equal(d->end, 2000);
    rv_serde_free(ss, o);
    assert_int_equal(rv_serde_deserialize(ss, &o, &ol, "t", "short", 5, err, sizeof err),
                     RV_ERR__DESERIALIZATION);
    /* TimeWindow's end saturates at Long.MAX_VALUE. */
    uint8_t big[9] = {'k', 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0};
    assert_int_equal(rv_serde_deserialize(ts, &o, &ol, "t", big, 9, err, sizeof err), 0);
    assert_int_equal(((rv_windowed_t *)o)->end, INT64_MAX);
    rv_serde_free(ts, o);
    rv_serde_destroy(ts);
    rv_serde_destroy(ss);
}

/* The driver's emission knobs are 0 unless the app sets them. */
static void test_driver_emit_knobs(void **state) {
    (void)state;
    rv_conf_t *c = rv_conf_new();
    assert_string_equal(rv_conf_get(c, "__emit.interval.ms.kstreams.windowed.aggregation__"),
                        "1000");
    assert_string_equal(
        rv_conf_get(c, "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__"), "1000");
    rv_conf_destroy(c);
    /* With the app's 1000 ms, the emission waits for the wall clock. */
    rv_topology_t *topo;
    rv_test_driver_t *d = emit_driver(&topo, RV_EMIT_ON_WINDOW_CLOSE, "1000");
    pipe_s(d, "A", "1", 0);
    pipe_s(d, "B", "2", 30);
    assert_string_equal(drain(d, 10, false), "");
    assert_int_equal(rv_test_driver_advance_wall_clock(d, 1000), 0);
    pipe_s(d, "C", "3", 31);
    assert_string_equal(drain(d, 10, false), "[A@0/10]=0+1@0 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- On the embedded broker ---- */

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

static void create_topic(fx_t *fx, const char *name) {
    char errstr[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(a);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    assert_int_equal(rv_admin_create_topic(a, name, 1, -1, names, values, 1, errstr, sizeof errstr),
                     0);
    rv_admin_destroy(a);
}

static void produce(fx_t *fx, const char *const *keys, const int64_t *ts, size_t n) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "clicks";
        r.partition = 0;
        r.key = keys[i];
        r.key_len = (int32_t)strlen(keys[i]);
        r.value = "x";
        r.value_len = 1;
        r.timestamp = ts[i];
        assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    }
    rv_producer_destroy(p);
}

/* The latest count per windowed key in "clicks-per-minute", as
 * "[k@start/end]=n " in first-seen order, once every "[..]=n " of want[]
 * is among them (or 20 s passed). */
static void read_windows(fx_t *fx, const char *const *want, size_t want_cnt, char *out,
                         size_t out_size) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "clicks-per-minute", 0),
                                  RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    rv_serde_t *ks = rv_serde_time_windowed_new(rv_serde_string(), 60000);
    char names[32][64];
    int64_t counts[32];
    int nw = 0;
    int64_t until = rv__mono_ms() + 20000;
    for (;;) {
        out[0] = '\0';
        for (int j = 0; j < nw; j++) {
            size_t n = strlen(out);
            snprintf(out + n, out_size - n, "%s=%" PRId64 " ", names[j], counts[j]);
        }
        size_t ok = 0;
        for (size_t i = 0; i < want_cnt; i++)
            ok += strstr(out, want[i]) != NULL;
        if (ok == want_cnt || rv__mono_ms() > until)
            break;
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const void *k = rv_record_key(r, &kl);
            const void *v = rv_record_value(r, &vl);
            void *wk;
            int32_t wl;
            assert_int_equal(rv_serde_deserialize(ks, &wk, &wl, NULL, k, kl, errstr, sizeof errstr),
                             0);
            const rv_windowed_t *w = wk;
            char name[64];
            snprintf(name, sizeof name, "[%s@%" PRId64 "/%" PRId64 "]", (const char *)w->key,
                     w->start, w->end);
            rv_serde_free(ks, wk);
            int64_t n = -1;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            int j;
            for (j = 0; j < nw; j++)
                if (!strcmp(names[j], name))
                    break;
            if (j == nw && nw < 32)
                snprintf(names[nw++], sizeof names[0], "%s", name);
            if (j < 32)
                counts[j] = n;
        }
        rv_records_destroy(rs);
    }
    rv_serde_destroy(ks);
    rv_consumer_destroy(c);
}

static rv_topology_t *clicks_topology(void) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"clicks"};
    rv_consumed_t cons = RV_CONSUMED_INIT;
    cons.key_serde = rv_serde_string(); /* the windowed key serde wraps it */
    rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(60000, 0);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "clicks-per-minute-store";
    m.store_type = RV_STORE_TYPE_ROCKSDB;
    /* Two days: the small test timestamps stay inside retention. */
    m.retention_ms = 2LL * 86400000;
    rv_ktable_t *t = rv_time_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, &cons), NULL), &tw),
        NULL, &m);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_int64();
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t, NULL), "clicks-per-minute", &p), 0);
    char err[1024];
    rv_topology_t *topo;
    if (rv_streams_builder_build(&topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    return topo;
}

static void run_clicks(fx_t *fx, rv_topology_t *topo, const char *const *want, size_t want_cnt,
                       char *got, size_t got_size) {
    char errstr[1024], sd[4400];
    rv_conf_t *c = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    assert_int_equal(rv_conf_set(c, "application.id", "clicks", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "3000", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "200", errstr, sizeof errstr), 0);
    rv_streams_t *s = rv_streams_new(topo, c, errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    read_windows(fx, want, want_cnt, got, got_size);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
}

static void test_windowed_count_app(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "clicks");
    create_topic(fx, "clicks-per-minute");
    rv_topology_t *topo = clicks_topology();
    const char *k1[] = {"alice", "bob", "alice", "alice"};
    const int64_t t1[] = {1000, 2000, 59999, 60000};
    produce(fx, k1, t1, 4);
    char got[2048];
    const char *want1[] = {"[alice@0/60000]=2 ", "[bob@0/60000]=1 ", "[alice@60000/120000]=1 "};
    run_clicks(fx, topo, want1, 3, got, sizeof got);
    for (size_t i = 0; i < 3; i++)
        rvt_assert_contains(got, want1[i]);
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/state/clicks/0_0/.checkpoint", fx->dir);
    assert_int_equal(stat(path, &st), 0);

    /* Restart: the windows are still there, so the counts go on. */
    const char *k2[] = {"alice", "bob"};
    const int64_t t2[] = {30000, 61000};
    produce(fx, k2, t2, 2);
    const char *want2[] = {"[alice@0/60000]=3 ", "[bob@60000/120000]=1 ", "[alice@60000/120000]=1 ",
                           "[bob@0/60000]=1 "};
    run_clicks(fx, topo, want2, 4, got, sizeof got);
    for (size_t i = 0; i < 4; i++)
        rvt_assert_contains(got, want2[i]);
    rv_topology_destroy(topo);
}

/* ---- Restart: the last emit time from the committed metadata ---- */

typedef struct sent_s {
    char out[1024];
} sent_t;

static rv_err_t sent_send(void *opaque, const char *topic, int32_t partition, const void *key,
                          int32_t key_len, const void *value, int32_t value_len, int64_t ts,
                          const rv_header_t *h, size_t hc, char *errstr, size_t errstr_size) {
    sent_t *c = opaque;
    (void)partition, (void)h, (void)hc, (void)errstr, (void)errstr_size;
    if (strcmp(topic, "output"))
        return 0; /* the store's changelog */
    char line[128];
    /* TimeWindowedSerializer: [key][8-byte big-endian start]. */
    int64_t start = 0;
    for (int i = key_len - 8; i < key_len; i++)
        start = start << 8 | ((const uint8_t *)key)[i];
    snprintf(line, sizeof line, "[%.*s@%" PRId64 "/%" PRId64 "]=%.*s@%" PRId64 " ",
             (int)key_len - 8, (const char *)key, start, start + 10, (int)value_len,
             (const char *)value, ts);
    strncat(c->out, line, sizeof c->out - strlen(c->out) - 1);
    return 0;
}
static rv_err_t sent_flush(void *opaque, char *errstr, size_t errstr_size) {
    (void)opaque, (void)errstr, (void)errstr_size;
    return 0;
}
static int64_t sent_last_offset(void *opaque, const char *topic, int32_t partition) {
    (void)opaque, (void)topic, (void)partition;
    return -1;
}

/* Runs A@0 B@5 D@12 C@25 through a task of the emit-final topology
 * (windows 10 advancing by 5, grace 5) whose commit metadata, restored
 * before init, is `metadata` (NULL: none). */
static void run_restored(const char *metadata, char *out, size_t out_size) {
    char err[1024];
    rv_topology_t *topo;
    spec_t sp = {.size = 10,
                 .advance = 5,
                 .grace = 5,
                 .emit = RV_EMIT_ON_WINDOW_CLOSE,
                 .kind = AGG_STR,
                 .store = "window-store"};
    topo = build(&sp);
    rv_conf_t *c = mkconf("0", "0");
    char *dir = rvt_tmpdir();
    rv__state_dir_t *sd;
    assert_int_equal(rv__state_dir_open(&sd, dir, "win-app", err, sizeof err), 0);
    sent_t sent = {{0}};
    rv__task_opts_t o;
    memset(&o, 0, sizeof o);
    o.topology = topo;
    o.subtopology = 0;
    o.partition = 0;
    o.conf = c;
    o.state_dir = sd;
    o.collector.send = sent_send;
    o.collector.flush = sent_flush;
    o.collector.last_offset = sent_last_offset;
    o.collector.opaque = &sent;
    rv__task_t *t;
    if (rv__task_new(&t, &o, err, sizeof err))
        fail_msg("task: %s", err);
    assert_int_equal(rv__task_restore_metadata(t, "topic", 0, metadata), 0);
    assert_int_equal(rv__task_init(t, err, sizeof err), 0);
    const char *k[] = {"A", "B", "D", "C"}, *v[] = {"1", "2", "4", "3"};
    int64_t ts[] = {0, 5, 12, 25};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rv__task_add_record(t, "topic", 0, i, ts[i], k[i], 1, v[i], 1, NULL, 0,
                                             err, sizeof err),
                         0);
        int processed = 1;
        while (processed)
            assert_int_equal(rv__task_process(t, &processed, err, sizeof err), 0);
    }
    /* The commit carries the new last emit time (close time 20). */
    const rv__task_offset_t *offs;
    size_t cnt;
    assert_int_equal(rv__task_commit(t, true, &offs, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 1);
    int64_t last = 0;
    assert_int_equal(rv__task_processor_metadata_get(t, "window-store", &last), 1);
    assert_int_equal(last, 20);
    assert_non_null(offs[0].metadata);
    rv__task_destroy(t);
    rv__state_dir_destroy(sd);
    rv_conf_destroy(c);
    rvt_rmtree(dir);
    free(dir);
    rv_topology_destroy(topo);
    snprintf(out, out_size, "%s", sent.out);
}

/* KStreamWindowAggregateTest.shouldEmitFromLastEmitTime: with the last
 * emit close time (15) in the processor metadata under the store's name,
 * the windows that closed by then are not emitted again; only [10,20),
 * which closes at 20, is. Without it every closed window comes out. */
static void test_emit_from_last_emit_time(void **state) {
    (void)state;
    char got[1024];
    /* base64([2][partition time 12][1 entry: "window-store" = 15]) */
    run_restored("AgAAAAAAAAAMAAAAAQAAAAx3aW5kb3ctc3RvcmUAAAAAAAAADw==", got, sizeof got);
    assert_string_equal(got, "[D@10/20]=0+4@12 ");
    run_restored(NULL, got, sizeof got);
    assert_string_equal(got, "[A@0/10]=0+1@0 [B@0/10]=0+2@5 [B@5/15]=0+2@5 [D@5/15]=0+4@12 "
                             "[D@10/20]=0+4@12 ");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agg_basic),
        cmocka_unit_test(test_emit_from_last_emit_time),
        cmocka_unit_test(test_skip_null_key),
        cmocka_unit_test(test_skip_expired_window),
        cmocka_unit_test(test_skip_expired_window_by_grace),
        cmocka_unit_test(test_emit_final_not_progress_enough),
        cmocka_unit_test(test_emit_with_interval0),
        cmocka_unit_test(test_emit_with_large_interval),
        cmocka_unit_test(test_time_windowed_impl),
        cmocka_unit_test(test_materialize_count),
        cmocka_unit_test(test_sliding_aggregate_small_input),
        cmocka_unit_test(test_sliding_reduce_small_input),
        cmocka_unit_test(test_sliding_early_records),
        cmocka_unit_test(test_sliding_no_grace_small_input),
        cmocka_unit_test(test_sliding_aggregate_large_input),
        cmocka_unit_test(test_sliding_early_records_large_input),
        cmocka_unit_test(test_sliding_early_no_grace_small_input),
        cmocka_unit_test(test_sliding_no_grace_large_input),
        cmocka_unit_test(test_sliding_early_no_grace_large_input),
        cmocka_unit_test(test_sliding_aggregate_random_input),
        cmocka_unit_test(test_sliding_skips),
        cmocka_unit_test(test_sliding_windowed_impl),
        cmocka_unit_test(test_sliding_retention),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_describe_repartition),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_windowed_serdes),
        cmocka_unit_test(test_driver_emit_knobs),
        cmocka_unit_test_setup_teardown(test_windowed_count_app, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
