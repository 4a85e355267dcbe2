/* tests/unit/test_dsl_aggregate.c: grouping and aggregations of the DSL
 * (dsl/aggregate.c): KGroupedStream count/reduce/aggregate and
 * KGroupedTable count/reduce/aggregate through the test driver, with the
 * inputs and outputs of Kafka Streams' KGroupedStreamImplTest,
 * KGroupedTableImplTest, KTableAggregateTest and KTableReduceTest (caching
 * off, as those tests run); describe() of TopologyTest's count topologies;
 * Kafka's Change format on the KTable repartition topic; per-key collapse
 * with caching on; and word count on the embedded broker with a RocksDB
 * store that keeps its counts across a restart. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/rivulet.h"

/* ---- Helpers ---- */

static rv_conf_t *mkconf(const char *app, const char *cache_bytes, const char *value_serde) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_non_null(c);
    assert_int_equal(rv_conf_set(c, "application.id", app, err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", value_serde ? value_serde : "string",
                                 err, sizeof err),
                     0);
    assert_int_equal(rv_conf_set(c, "cache.max.bytes.buffering", cache_bytes, err, sizeof err), 0);
    return c;
}

/* Builds b and starts a driver on it with caching off (as Kafka's tests). */
static rv_test_driver_t *start(rv_streams_builder_t *b, rv_topology_t **topo, rv_conf_t *c) {
    char err[1024];
    if (rv_streams_builder_build(topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    if (!c)
        c = mkconf("agg-app", "0", NULL);
    rv_test_driver_t *d = rv_test_driver_new(*topo, c, 0, err, sizeof err);
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

static void pipe_double(rv_test_driver_t *d, const char *topic, const char *k, double v,
                        int64_t ts) {
    uint8_t b[8];
    rv_serde_double_write(b, v);
    assert_int_equal(rv_test_driver_pipe_input(d, topic, k, (int32_t)strlen(k), b, 8, ts, NULL, 0),
                     0);
}

enum { V_STRING, V_INT64, V_INT32 };

/* Every record written to topic, as "key=value@ts " (null values "null"). */
static char *drain(rv_test_driver_t *d, const char *topic, int kind) {
    static char out[8192];
    out[0] = '\0';
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, topic) == 0) {
        int32_t kl, vl;
        const char *k = rv_test_record_key(r, &kl);
        const void *v = rv_test_record_value(r, &vl);
        char val[512];
        if (!v) {
            snprintf(val, sizeof val, "null");
        } else if (kind == V_INT64) {
            int64_t n = 0;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            snprintf(val, sizeof val, "%" PRId64, n);
        } else if (kind == V_INT32) {
            int32_t n = 0;
            assert_int_equal(rv_serde_int32_read(&n, v, vl), 0);
            snprintf(val, sizeof val, "%" PRId32, n);
        } else {
            /* Bytes below 0x20 as \\NN (hex): the Change flags. */
            size_t o = 0;
            for (int32_t i = 0; i < vl && o + 4 < sizeof val; i++) {
                unsigned char ch = ((const unsigned char *)v)[i];
                if (ch < 0x20)
                    o += (size_t)snprintf(val + o, sizeof val - o, "\\%02x", ch);
                else
                    val[o++] = (char)ch;
            }
            val[o] = '\0';
        }
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%.*s=%s@%" PRId64 " ", k ? (int)kl : 4, k ? k : "null",
                 val, rv_test_record_timestamp(r));
        rv_test_record_destroy(r);
    }
    return out;
}

/* The row of `key` in table store `store`: "<value>@<ts>", or "none". */
static char *row(rv_test_driver_t *d, const char *store, const char *key, int kind) {
    static char out[512];
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, store);
    assert_non_null(s);
    rv_bytes_t v = {0};
    rv_err_t err = rv_kv_store_get(&v, s, key, strlen(key));
    if (err == RV_ERR__NOENT) {
        snprintf(out, sizeof out, "none");
        return out;
    }
    assert_int_equal(err, 0);
    assert_true(v.len >= 8);
    int64_t ts = 0;
    rv_serde_int64_read(&ts, v.data, 8);
    const uint8_t *p = (const uint8_t *)v.data + 8;
    if (kind == V_INT64) {
        int64_t n = 0;
        assert_int_equal(rv_serde_int64_read(&n, p, (int32_t)v.len - 8), 0);
        snprintf(out, sizeof out, "%" PRId64 "@%" PRId64, n, ts);
    } else if (kind == V_INT32) {
        int32_t n = 0;
        assert_int_equal(rv_serde_int32_read(&n, p, (int32_t)v.len - 8), 0);
        snprintf(out, sizeof out, "%" PRId32 "@%" PRId64, n, ts);
    } else {
        snprintf(out, sizeof out, "%.*s@%" PRId64, (int)(v.len - 8), (const char *)p, ts);
    }
    rv_bytes_free(&v);
    return out;
}

static void to_topic(rv_ktable_t *t, const char *topic, const rv_serde_t *value_serde) {
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = value_serde;
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t, NULL), topic, &p), 0);
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

/* ---- User functions: Kafka's MockInitializer / MockAggregator /
 *      MockReducer ---- */

static rv_err_t str_init(rv_out_t *out, void *opaque) {
    (void)opaque;
    return rv_out_value(out, "0", -1);
}

static rv_err_t join3(rv_out_t *out, const char *a, const char *sep, const char *b) {
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = malloc(n);
    if (!s)
        return RV_ERR__NOMEM;
    snprintf(s, n, "%s%s%s", a, sep, b);
    rv_err_t err = rv_out_value(out, s, -1);
    free(s);
    return err;
}

/* agg + "+" + value (TOSTRING_ADDER) */
static rv_err_t str_adder(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)al, (void)opaque;
    return join3(out, agg, "+", v);
}

/* agg + "-" + value (TOSTRING_REMOVER) */
static rv_err_t str_remover(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)al, (void)opaque;
    return join3(out, agg, "-", v);
}

/* MockReducer.STRING_ADDER: agg + "+" + value */
static rv_err_t str_reduce_add(rv_out_t *out, const void *agg, int32_t al, const void *v,
                               int32_t vl, void *opaque) {
    (void)al, (void)vl, (void)opaque;
    return join3(out, agg, "+", v);
}

static rv_err_t int_reduce_add(rv_out_t *out, const void *agg, int32_t al, const void *v,
                               int32_t vl, void *opaque) {
    (void)al, (void)vl, (void)opaque;
    int32_t r = *(const int32_t *)agg + *(const int32_t *)v;
    return rv_out_value(out, &r, 4);
}

static rv_err_t int_reduce_sub(rv_out_t *out, const void *agg, int32_t al, const void *v,
                               int32_t vl, void *opaque) {
    (void)al, (void)vl, (void)opaque;
    int32_t r = *(const int32_t *)agg - *(const int32_t *)v;
    return rv_out_value(out, &r, 4);
}

/* KeyValue.pair(value, value): MockMapper.selectValueKeyValueMapper */
static rv_err_t select_value(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                             void *opaque) {
    (void)k, (void)kl, (void)opaque;
    rv_err_t err = rv_out_key(out, v, vl);
    return err ? err : rv_out_value(out, v, vl);
}

/* KeyValue.pair(key, value) */
static rv_err_t same_pair(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, k, kl);
    return err ? err : rv_out_value(out, v, vl);
}

/* ---- KGroupedStream (KGroupedStreamImplTest) ---- */

static rv_kgrouped_stream_t *grouped_topic(rv_streams_builder_t *b) {
    const char *topics[] = {"topic"};
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_string();
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_grouped_t g = RV_GROUPED_INIT;
    g.key_serde = rv_serde_string();
    g.value_serde = rv_serde_string();
    return rv_kstream_group_by_key(s, &g);
}

static void process_data(rv_test_driver_t *d) {
    pipe_s(d, "topic", "1", "A", 5);
    pipe_s(d, "topic", "2", "B", 1);
    pipe_s(d, "topic", "1", "C", 3);
    pipe_s(d, "topic", "1", "D", 10);
    pipe_s(d, "topic", "3", "E", 8);
    pipe_s(d, "topic", "3", "F", 9);
    pipe_s(d, "topic", "3", NULL, 0);
}

static char g_log[4096];

static void capture_log(int level, const char *fac, const char *msg, void *opaque) {
    (void)level, (void)fac, (void)opaque;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

static void test_stream_count_materialized(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "count";
    m.key_serde = rv_serde_string();
    rv_ktable_t *t = rv_kgrouped_stream_count(grouped_topic(b), NULL, &m);
    assert_non_null(t);
    assert_string_equal(rv_ktable_queryable_store_name(t), "count");
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    g_log[0] = '\0';
    rv_log_set_callback(capture_log, NULL);
    process_data(d);
    rv_log_set_callback(NULL, NULL);
    assert_string_equal(row(d, "count", "1", V_INT64), "3@10");
    assert_string_equal(row(d, "count", "2", V_INT64), "1@1");
    assert_string_equal(row(d, "count", "3", V_INT64), "2@9");
    /* shouldLogAndMeasureSkipsInAggregate */
    rvt_assert_contains(g_log,
                        "Skipping record due to null key or value. topic=[topic] partition=[0] "
                        "offset=[6]");
    /* The changelog holds the rows in the timestamped layout. */
    char *cl = drain(d, "agg-app-count-changelog", V_STRING);
    assert_true(strlen(cl) > 0);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_stream_reduce_materialized(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "reduce";
    m.key_serde = rv_serde_string();
    m.value_serde = rv_serde_string();
    assert_non_null(rv_kgrouped_stream_reduce(grouped_topic(b), str_reduce_add, NULL, NULL, &m));
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    g_log[0] = '\0';
    rv_log_set_callback(capture_log, NULL);
    process_data(d);
    rv_log_set_callback(NULL, NULL);
    assert_string_equal(row(d, "reduce", "1", V_STRING), "A+C+D@10");
    assert_string_equal(row(d, "reduce", "2", V_STRING), "B@1");
    assert_string_equal(row(d, "reduce", "3", V_STRING), "E+F@9");
    rvt_assert_contains(g_log,
                        "Skipping record due to null key or value. topic=[topic] partition=[0] "
                        "offset=[6]");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_stream_aggregate_materialized(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "aggregate";
    m.key_serde = rv_serde_string();
    m.value_serde = rv_serde_string();
    assert_non_null(
        rv_kgrouped_stream_aggregate(grouped_topic(b), str_init, NULL, str_adder, NULL, NULL, &m));
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    process_data(d);
    assert_string_equal(row(d, "aggregate", "1", V_STRING), "0+A+C+D@10");
    assert_string_equal(row(d, "aggregate", "2", V_STRING), "0+B@1");
    assert_string_equal(row(d, "aggregate", "3", V_STRING), "0+E+F@9");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* shouldAggregateWithDefaultSerdes: every update flows downstream, with
 * the larger of the record's and the row's timestamps. */
static void test_stream_aggregate_default_serdes(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_ktable_t *t =
        rv_kgrouped_stream_aggregate(grouped_topic(b), str_init, NULL, str_adder, NULL, NULL, NULL);
    assert_null(rv_ktable_queryable_store_name(t)); /* Kafka: not queryable */
    to_topic(t, "out", NULL);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    process_data(d);
    assert_string_equal(drain(d, "out", V_STRING),
                        "1=0+A@5 2=0+B@1 1=0+A+C@5 1=0+A+C+D@10 3=0+E@8 3=0+E+F@9 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* groupBy changes the key: the records go through the repartition topic
 * named after the store, null keys are dropped before it. */
static rv_err_t first_char(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           void *opaque) {
    (void)k, (void)kl, (void)opaque;
    if (vl < 1 || !strcmp(v, "-"))
        return 0; /* a null key */
    return rv_out_key(out, v, 1);
}

static void test_stream_group_by_count(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_ktable_t *t =
        rv_kgrouped_stream_count(rv_kstream_group_by(s, first_char, NULL, NULL), NULL, NULL);
    to_topic(t, "output", rv_serde_int64());
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "input", "k1", "apple", 1);
    pipe_s(d, "input", "k2", "avocado", 5);
    pipe_s(d, "input", "k3", "banana", 3);
    pipe_s(d, "input", "k4", "-", 4);
    pipe_s(d, "input", "k5", "apricot", 2);
    assert_string_equal(drain(d, "output", V_INT64), "a=1@1 a=2@5 b=1@3 a=3@5 ");
    assert_string_equal(
        drain(d, "agg-app-KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition", V_STRING),
        "a=apple@1 a=avocado@5 b=banana@3 a=apricot@2 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* Two aggregations of one grouped stream with Grouped.name share its
 * repartition topic. */
static rv_err_t upper_key(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)v, (void)vl, (void)opaque;
    char u[64];
    snprintf(u, sizeof u, "%.*s", (int)kl, (const char *)k);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return rv_out_key(out, u, -1);
}

static void test_stream_named_repartition_reused(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input"};
    rv_kstream_t *s =
        rv_kstream_select_key(rv_streams_builder_stream(b, topics, 1, NULL), upper_key, NULL, NULL);
    rv_grouped_t gr = RV_GROUPED_INIT;
    gr.name = "grouped";
    rv_kgrouped_stream_t *g = rv_kstream_group_by_key(s, &gr);
    to_topic(rv_kgrouped_stream_count(g, NULL, NULL), "counts", rv_serde_int64());
    to_topic(rv_kgrouped_stream_reduce(g, str_reduce_add, NULL, NULL, NULL), "reduced", NULL);
    char *desc = describe(b);
    /* One repartition topic, read by both aggregations. */
    rvt_assert_contains(desc, "Sink: grouped-repartition-sink (topic: grouped-repartition)\n");
    rvt_assert_contains(desc,
                        "Source: grouped-repartition-source (topics: [grouped-repartition])\n"
                        "      --> KSTREAM-AGGREGATE-0000000003, KSTREAM-REDUCE-0000000010\n");
    /* reduce names its store after KSTREAM-REDUCE- (RepartitionTopicNamingTest). */
    rvt_assert_contains(desc, "Processor: KSTREAM-REDUCE-0000000010 (stores: "
                              "[KSTREAM-REDUCE-STATE-STORE-0000000009])\n");
    const char *p = strstr(desc, "Sink: grouped-repartition-sink");
    assert_non_null(p);
    assert_null(strstr(p + 1, "Sink: grouped-repartition-sink"));
    free(desc);
}

/* ---- KGroupedTable (KTableAggregateTest, KTableReduceTest,
 *      KGroupedTableImplTest) ---- */

static rv_ktable_t *string_table(rv_streams_builder_t *b, const char *topic) {
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_string();
    return rv_streams_builder_table(b, topic, &c, NULL);
}

static rv_grouped_t string_grouped(void) {
    rv_grouped_t g = RV_GROUPED_INIT;
    g.key_serde = rv_serde_string();
    g.value_serde = rv_serde_string();
    return g;
}

static void test_table_agg_basic(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "topic1-Canonized";
    m.value_serde = rv_serde_string();
    rv_ktable_t *t = rv_kgrouped_table_aggregate(
        rv_ktable_group_by(string_table(b, "topic1"), same_pair, NULL, &g), str_init, NULL,
        str_adder, str_remover, NULL, NULL, &m);
    to_topic(t, "out", NULL);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "topic1", "A", "1", 10);
    pipe_s(d, "topic1", "B", "2", 15);
    pipe_s(d, "topic1", "A", "3", 20);
    pipe_s(d, "topic1", "B", "4", 18);
    pipe_s(d, "topic1", "C", "5", 5);
    pipe_s(d, "topic1", "D", "6", 25);
    pipe_s(d, "topic1", "B", "7", 15);
    pipe_s(d, "topic1", "C", "8", 10);
    assert_string_equal(drain(d, "out", V_STRING),
                        "A=0+1@10 B=0+2@15 A=0+1-1+3@20 B=0+2-2+4@18 C=0+5@5 D=0+6@25 "
                        "B=0+2-2+4-4+7@18 C=0+5-5+8@10 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* key "null" maps to a null key, "NULL" to no pair, others to
 * (value, value). */
static rv_err_t repartition_mapper(rv_out_t *out, const void *k, int32_t kl, const void *v,
                                   int32_t vl, void *opaque) {
    (void)kl, (void)opaque;
    if (!strcmp(k, "NULL"))
        return 0;
    rv_err_t err = rv_out_key(out, strcmp(k, "null") ? v : NULL, strcmp(k, "null") ? vl : -1);
    return err ? err : rv_out_value(out, v, vl);
}

static void test_table_agg_repartition(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "topic1-Canonized";
    m.value_serde = rv_serde_string();
    rv_ktable_t *t = rv_kgrouped_table_aggregate(
        rv_ktable_group_by(string_table(b, "topic1"), repartition_mapper, NULL, &g), str_init, NULL,
        str_adder, str_remover, NULL, NULL, &m);
    to_topic(t, "out", NULL);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "topic1", "A", "1", 10);
    pipe_s(d, "topic1", "A", NULL, 15);
    pipe_s(d, "topic1", "A", "1", 12);
    pipe_s(d, "topic1", "B", "2", 20);
    pipe_s(d, "topic1", "null", "3", 25);
    pipe_s(d, "topic1", "B", "4", 23);
    pipe_s(d, "topic1", "NULL", "5", 24);
    pipe_s(d, "topic1", "B", "7", 22);
    assert_string_equal(drain(d, "out", V_STRING),
                        "1=0+1@10 1=0+1-1@15 1=0+1-1+1@15 2=0+2@20 2=0+2-2@23 4=0+4@23 "
                        "4=0+4-4@23 7=0+7@22 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void count_helper(rv_ktable_t *t, rv_streams_builder_t *b) {
    to_topic(t, "out", rv_serde_int64());
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "count-test-input", "A", "green", 10);
    pipe_s(d, "count-test-input", "B", "green", 9);
    pipe_s(d, "count-test-input", "A", "blue", 12);
    pipe_s(d, "count-test-input", "C", "yellow", 15);
    pipe_s(d, "count-test-input", "D", "green", 11);
    assert_string_equal(drain(d, "out", V_INT64),
                        "green=1@10 green=2@10 green=1@12 blue=1@12 yellow=1@15 green=2@12 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_table_count(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "count";
    count_helper(rv_kgrouped_table_count(rv_ktable_group_by(string_table(b, "count-test-input"),
                                                            select_value, NULL, &g),
                                         NULL, &m),
                 b);
    b = rv_streams_builder_new(); /* testCountWithInternalStore */
    count_helper(rv_kgrouped_table_count(rv_ktable_group_by(string_table(b, "count-test-input"),
                                                            select_value, NULL, &g),
                                         NULL, NULL),
                 b);
}

/* testRemoveOldBeforeAddNew: key "xy" maps to (x, y); the subtractor
 * removes y from the aggregate. */
static rv_err_t split_key(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)kl, (void)v, (void)vl, (void)opaque;
    const char *s = k;
    rv_err_t err = rv_out_key(out, s, 1);
    return err ? err : rv_out_value(out, s + 1, 1);
}

static rv_err_t empty_init(rv_out_t *out, void *opaque) {
    (void)opaque;
    return rv_out_value(out, "", 0);
}

static rv_err_t concat_adder(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                             const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)al, (void)opaque;
    return join3(out, agg, "", v);
}

static rv_err_t remove_all(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)opaque;
    char r[256];
    size_t n = 0;
    const char *a = agg;
    for (int32_t i = 0; i < al;) {
        if (vl > 0 && i + vl <= al && !memcmp(a + i, v, (size_t)vl)) {
            i += vl;
            continue;
        }
        r[n++] = a[i++];
    }
    return rv_out_value(out, r, (int32_t)n);
}

static void test_table_remove_old_before_add_new(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "someStore";
    m.value_serde = rv_serde_string();
    rv_ktable_t *t = rv_kgrouped_table_aggregate(
        rv_ktable_group_by(string_table(b, "count-test-input"), split_key, NULL, &g), empty_init,
        NULL, concat_adder, remove_all, NULL, NULL, &m);
    to_topic(t, "out", NULL);
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "count-test-input", "11", "A", 10);
    pipe_s(d, "count-test-input", "12", "B", 8);
    pipe_s(d, "count-test-input", "11", NULL, 12);
    pipe_s(d, "count-test-input", "12", "C", 6);
    assert_string_equal(drain(d, "out", V_STRING), "1=1@10 1=12@10 1=2@12 1=2@12 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* testShouldNotSendTransientStateIfNotUpgrading: the key does not change,
 * so one record carries the old and the new value and the count never
 * shows 0. The repartition topic holds Kafka's Change bytes. */
static void test_table_same_key_one_record(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_ktable_t *t = rv_kgrouped_table_count(
        rv_ktable_group_by(string_table(b, "input-topic"), same_pair, NULL, &g), NULL, NULL);
    to_topic(t, "output-topic", rv_serde_int64());
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "input-topic", "1", "", 8);
    pipe_s(d, "input-topic", "1", "x", 9);
    assert_string_equal(drain(d, "output-topic", V_INT64), "1=1@8 1=1@9 ");
    /* ChangedSerializer: {new}{flag 1}, then {varint len(new)}{new}{old}{flag 2}. */
    const char *rt = "agg-app-KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition";
    rv_test_record_t *r;
    int32_t len;
    assert_int_equal(rv_test_driver_read_output(&r, d, rt), 0);
    const uint8_t *v = rv_test_record_value(r, &len);
    assert_int_equal(len, 1);
    assert_int_equal(v[0], 1);
    rv_test_record_destroy(r);
    assert_int_equal(rv_test_driver_read_output(&r, d, rt), 0);
    v = rv_test_record_value(r, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "\x02x\x02", 3); /* zigzag(1) = 2, "x", "", flag 2 */
    rv_test_record_destroy(r);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* A key change sends two records: the old pair retracted ({old}{flag 0}),
 * then the new pair. */
static void test_table_key_change_two_records(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_ktable_t *t = rv_kgrouped_table_count(
        rv_ktable_group_by(string_table(b, "in"), select_value, NULL, &g), NULL, NULL);
    to_topic(t, "out", rv_serde_int64());
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "in", "A", "red", 1);
    pipe_s(d, "in", "A", "blue", 2);
    pipe_s(d, "in", "A", NULL, 3);
    assert_string_equal(drain(d, "out", V_INT64), "red=1@1 red=0@2 blue=1@2 blue=0@3 ");
    const char *rt = "agg-app-KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition";
    assert_string_equal(drain(d, rt, V_STRING),
                        "red=red\\01@1 red=red\\00@2 blue=blue\\01@2 blue=blue\\00@3 ");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static rv_err_t set_union(rv_out_t *out, const void *agg, int32_t al, const void *v, int32_t vl,
                          void *opaque) {
    (void)opaque;
    /* Sets are sorted, comma-separated letters: "a,b". */
    char r[128] = "";
    const char *a = agg, *w = v;
    char seen[128] = {0};
    for (int32_t i = 0; i < al; i++)
        if (a[i] != ',')
            seen[(unsigned char)a[i]] = 1;
    for (int32_t i = 0; i < vl; i++)
        if (w[i] != ',')
            seen[(unsigned char)w[i]] = 1;
    for (int c = 'a'; c <= 'z'; c++)
        if (seen[c]) {
            size_t n = strlen(r);
            snprintf(r + n, sizeof r - n, "%s%c", n ? "," : "", c);
        }
    return rv_out_value(out, r, -1);
}

static rv_err_t set_difference(rv_out_t *out, const void *agg, int32_t al, const void *v,
                               int32_t vl, void *opaque) {
    (void)opaque;
    char r[128] = "";
    const char *a = agg, *w = v;
    char seen[128] = {0};
    for (int32_t i = 0; i < al; i++)
        if (a[i] != ',')
            seen[(unsigned char)a[i]] = 1;
    for (int32_t i = 0; i < vl; i++)
        if (w[i] != ',')
            seen[(unsigned char)w[i]] = 0;
    for (int c = 'a'; c <= 'z'; c++)
        if (seen[c]) {
            size_t n = strlen(r);
            snprintf(r + n, sizeof r - n, "%s%c", n ? "," : "", c);
        }
    return rv_out_value(out, r, -1);
}

/* KTableReduceTest.shouldAddAndSubtract, through a table grouped by its
 * own key. */
static void test_table_reduce_add_and_subtract(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "myStore";
    rv_ktable_t *t =
        rv_kgrouped_table_reduce(rv_ktable_group_by(string_table(b, "sets"), same_pair, NULL, &g),
                                 set_union, set_difference, NULL, NULL, &m);
    assert_string_equal(rv_ktable_queryable_store_name(t), "myStore");
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    pipe_s(d, "sets", "A", "a", 10);
    assert_string_equal(row(d, "myStore", "A", V_STRING), "a@10");
    pipe_s(d, "sets", "A", "b", 15);
    assert_string_equal(row(d, "myStore", "A", V_STRING), "b@15");
    pipe_s(d, "sets", "A", NULL, 12);
    assert_string_equal(row(d, "myStore", "A", V_STRING), "@15"); /* the empty set */
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* KGroupedTableImplTest: doubles projected to ints, summed. */
static rv_err_t int_projection(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                               void *opaque) {
    (void)vl, (void)opaque;
    int32_t i = (int32_t) * (const double *)v;
    rv_err_t err = rv_out_key(out, k, kl);
    return err ? err : rv_out_value(out, &i, 4);
}

static void reduce_case(const char *store_name, bool materialize_input) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_double();
    rv_materialized_t in = RV_MATERIALIZED_INIT;
    in.store_name = "store";
    in.key_serde = rv_serde_string();
    in.value_serde = rv_serde_double();
    rv_ktable_t *table = rv_streams_builder_table(b, "input", &c, materialize_input ? &in : NULL);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = store_name;
    rv_ktable_t *t = rv_kgrouped_table_reduce(rv_ktable_group_by(table, int_projection, NULL, NULL),
                                              int_reduce_add, int_reduce_sub, NULL, NULL,
                                              store_name ? &m : NULL);
    if (store_name)
        assert_string_equal(rv_ktable_queryable_store_name(t), store_name);
    else
        assert_null(rv_ktable_queryable_store_name(t));
    to_topic(t, "out", rv_serde_int32());
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, mkconf("agg-app", "0", "int32"));
    pipe_double(d, "input", "A", 1.1, 10);
    pipe_double(d, "input", "B", 2.2, 11);
    assert_string_equal(drain(d, "out", V_INT32), "A=1@10 B=2@11 ");
    pipe_double(d, "input", "A", 2.6, 30);
    pipe_double(d, "input", "B", 1.3, 30);
    pipe_double(d, "input", "A", 5.7, 50);
    pipe_double(d, "input", "B", 6.2, 20);
    assert_string_equal(drain(d, "out", V_INT32), "A=2@30 B=1@30 A=5@50 B=6@30 ");
    if (store_name) {
        assert_string_equal(row(d, store_name, "A", V_INT32), "5@50");
        assert_string_equal(row(d, store_name, "B", V_INT32), "6@30");
    }
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_table_reduce(void **state) {
    (void)state;
    reduce_case("reduced", true); /* shouldReduce */
    reduce_case(NULL, true);      /* shouldReduceWithInternalStoreName */
    reduce_case("reduce", false); /* shouldReduceAndMaterializeResults */
}

static void table_process_data(rv_test_driver_t *d) {
    pipe_s(d, "input", "A", "1", 10);
    pipe_s(d, "input", "B", "1", 50);
    pipe_s(d, "input", "C", "1", 30);
    pipe_s(d, "input", "D", "2", 40);
    pipe_s(d, "input", "E", "2", 60);
}

static void test_table_count_and_aggregate_materialized(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_grouped_t g = string_grouped();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "count";
    m.key_serde = rv_serde_string();
    m.value_serde = rv_serde_int64();
    assert_non_null(rv_kgrouped_table_count(
        rv_ktable_group_by(string_table(b, "input"), select_value, NULL, &g), NULL, &m));
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, NULL);
    table_process_data(d);
    assert_string_equal(row(d, "count", "1", V_INT64), "3@50");
    assert_string_equal(row(d, "count", "2", V_INT64), "2@60");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);

    b = rv_streams_builder_new();
    m.store_name = "aggregate";
    m.value_serde = rv_serde_string();
    assert_non_null(rv_kgrouped_table_aggregate(
        rv_ktable_group_by(string_table(b, "input"), select_value, NULL, &g), str_init, NULL,
        str_adder, str_remover, NULL, NULL, &m));
    d = start(b, &topo, NULL);
    table_process_data(d);
    assert_string_equal(row(d, "aggregate", "1", V_STRING), "0+1+1+1@50");
    assert_string_equal(row(d, "aggregate", "2", V_STRING), "0+2+2@60");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- Builder errors ---- */

static void test_errors(void **state) {
    (void)state;
    char err[1024];
    rv_topology_t *t;
    rv_streams_builder_t *b = rv_streams_builder_new();
    assert_null(rv_kgrouped_stream_reduce(grouped_topic(b), NULL, NULL, NULL, NULL));
    assert_int_equal(rv_streams_builder_build(&t, b, err, sizeof err), RV_ERR__INVALID_ARG);
    rvt_assert_contains(err, "reducer can't be null");
    rv_streams_builder_destroy(b);

    b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "~foo bar~";
    assert_null(
        rv_kgrouped_stream_aggregate(grouped_topic(b), str_init, NULL, str_adder, NULL, NULL, &m));
    assert_int_equal(rv_streams_builder_build(&t, b, err, sizeof err), RV_ERR__INVALID_ARG);
    rvt_assert_contains(err, "is illegal, it contains a character other than ASCII "
                             "alphanumerics, '.', '_' and '-'");
    rv_streams_builder_destroy(b);

    b = rv_streams_builder_new();
    rv_kgrouped_table_t *gt = rv_ktable_group_by(string_table(b, "blah"), select_value, NULL, NULL);
    assert_null(rv_kgrouped_table_aggregate(gt, str_init, NULL, str_adder, NULL, NULL, NULL, NULL));
    assert_int_equal(rv_streams_builder_build(&t, b, err, sizeof err), RV_ERR__INVALID_ARG);
    rvt_assert_contains(err, "subtractor can't be null");
    rv_streams_builder_destroy(b);

    /* NULL handles chain to NULL. */
    assert_null(rv_kgrouped_stream_count(NULL, NULL, NULL));
    assert_null(rv_kstream_group_by_key(NULL, NULL));
    assert_null(rv_kgrouped_table_count(NULL, NULL, NULL));
}

/* ---- describe() (TopologyTest) ---- */

static void test_describe_stream_count(void **state) {
    (void)state;
    const char *topics[] = {"input-topic"};
    /* kGroupedStreamZeroArgCountShouldPreserveTopologyStructure */
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_kgrouped_stream_count(
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), NULL, NULL);
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
    /* kGroupedStreamNamedMaterializedCountShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "count-store";
    m.store_type = RV_STORE_TYPE_IN_MEMORY;
    rv_kgrouped_stream_count(
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), NULL, &m);
    d = describe(b);
    assert_string_equal(d, "Topologies:\n"
                           "   Sub-topology: 0\n"
                           "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                           "      --> KSTREAM-AGGREGATE-0000000001\n"
                           "    Processor: KSTREAM-AGGREGATE-0000000001 (stores: [count-store])\n"
                           "      --> none\n"
                           "      <-- KSTREAM-SOURCE-0000000000\n\n");
    free(d);
    /* kGroupedStreamAnonymousMaterializedCountShouldPreserveTopologyStructure:
     * an unnamed Materialized burns one more index. */
    b = rv_streams_builder_new();
    rv_materialized_t anon = RV_MATERIALIZED_INIT;
    anon.value_serde = rv_serde_int64();
    anon.store_type = RV_STORE_TYPE_ROCKSDB;
    rv_kgrouped_stream_count(
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), NULL, &anon);
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

static rv_err_t null_pair(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)out, (void)k, (void)kl, (void)v, (void)vl, (void)opaque;
    return 0;
}

static void test_describe_table_count(void **state) {
    (void)state;
    /* tableZeroArgCountShouldPreserveTopologyStructure (example B) */
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_kgrouped_table_count(
        rv_ktable_group_by(rv_streams_builder_table(b, "input-topic", NULL, NULL), null_pair, NULL,
                           NULL),
        NULL, NULL);
    char *d = describe(b);
    assert_string_equal(
        d,
        "Topologies:\n"
        "   Sub-topology: 0\n"
        "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
        "      --> KTABLE-SOURCE-0000000002\n"
        "    Processor: KTABLE-SOURCE-0000000002 (stores: [input-topic-STATE-STORE-0000000000])\n"
        "      --> KTABLE-SELECT-0000000003\n"
        "      <-- KSTREAM-SOURCE-0000000001\n"
        "    Processor: KTABLE-SELECT-0000000003 (stores: [])\n"
        "      --> KSTREAM-SINK-0000000005\n"
        "      <-- KTABLE-SOURCE-0000000002\n"
        "    Sink: KSTREAM-SINK-0000000005 (topic: "
        "KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition)\n"
        "      <-- KTABLE-SELECT-0000000003\n"
        "\n"
        "  Sub-topology: 1\n"
        "    Source: KSTREAM-SOURCE-0000000006 (topics: "
        "[KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition])\n"
        "      --> KTABLE-AGGREGATE-0000000007\n"
        "    Processor: KTABLE-AGGREGATE-0000000007 (stores: "
        "[KTABLE-AGGREGATE-STATE-STORE-0000000004])\n"
        "      --> none\n"
        "      <-- KSTREAM-SOURCE-0000000006\n"
        "\n");
    free(d);
    /* tableNamedMaterializedCountShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "count-store";
    m.store_type = RV_STORE_TYPE_IN_MEMORY;
    rv_kgrouped_table_count(
        rv_ktable_group_by(rv_streams_builder_table(b, "input-topic", NULL, NULL), null_pair, NULL,
                           NULL),
        NULL, &m);
    d = describe(b);
    assert_string_equal(
        d,
        "Topologies:\n"
        "   Sub-topology: 0\n"
        "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
        "      --> KTABLE-SOURCE-0000000002\n"
        "    Processor: KTABLE-SOURCE-0000000002 (stores: [input-topic-STATE-STORE-0000000000])\n"
        "      --> KTABLE-SELECT-0000000003\n"
        "      <-- KSTREAM-SOURCE-0000000001\n"
        "    Processor: KTABLE-SELECT-0000000003 (stores: [])\n"
        "      --> KSTREAM-SINK-0000000004\n"
        "      <-- KTABLE-SOURCE-0000000002\n"
        "    Sink: KSTREAM-SINK-0000000004 (topic: count-store-repartition)\n"
        "      <-- KTABLE-SELECT-0000000003\n"
        "\n"
        "  Sub-topology: 1\n"
        "    Source: KSTREAM-SOURCE-0000000005 (topics: [count-store-repartition])\n"
        "      --> KTABLE-AGGREGATE-0000000006\n"
        "    Processor: KTABLE-AGGREGATE-0000000006 (stores: [count-store])\n"
        "      --> none\n"
        "      <-- KSTREAM-SOURCE-0000000005\n"
        "\n");
    free(d);
    /* tableAnonymousMaterializedCountShouldPreserveTopologyStructure: no
     * extra index for a KGroupedTable. */
    b = rv_streams_builder_new();
    rv_materialized_t anon = RV_MATERIALIZED_INIT;
    anon.value_serde = rv_serde_int64();
    rv_kgrouped_table_count(
        rv_ktable_group_by(rv_streams_builder_table(b, "input-topic", NULL, NULL), null_pair, NULL,
                           NULL),
        NULL, &anon);
    d = describe(b);
    rvt_assert_contains(d, "Sink: KSTREAM-SINK-0000000005 (topic: "
                           "KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition)\n");
    rvt_assert_contains(d, "Processor: KTABLE-AGGREGATE-0000000007 (stores: "
                           "[KTABLE-AGGREGATE-STATE-STORE-0000000004])\n");
    free(d);
}

/* stream.groupBy(selector).count().toStream().to("output"): the key
 * selector, then the store name (2), the aggregate (3) and the three
 * repartition nodes (4, 5, 6) in Kafka's order. */
static void test_describe_stream_group_by(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_ktable_t *t =
        rv_kgrouped_stream_count(rv_kstream_group_by(s, first_char, NULL, NULL), NULL, NULL);
    rv_kstream_to(rv_ktable_to_stream(t, NULL), "output", NULL);
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
                           "KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)\n"
                           "      <-- KSTREAM-FILTER-0000000005\n"
                           "\n"
                           "  Sub-topology: 1\n"
                           "    Source: KSTREAM-SOURCE-0000000006 (topics: "
                           "[KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])\n"
                           "      --> KSTREAM-AGGREGATE-0000000003\n"
                           "    Processor: KSTREAM-AGGREGATE-0000000003 (stores: "
                           "[KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n"
                           "      --> KTABLE-TOSTREAM-0000000007\n"
                           "      <-- KSTREAM-SOURCE-0000000006\n"
                           "    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])\n"
                           "      --> KSTREAM-SINK-0000000008\n"
                           "      <-- KSTREAM-AGGREGATE-0000000003\n"
                           "    Sink: KSTREAM-SINK-0000000008 (topic: output)\n"
                           "      <-- KTABLE-TOSTREAM-0000000007\n\n");
    free(d);
    /* Grouped.name names the key selector and the repartition topic. */
    b = rv_streams_builder_new();
    s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_grouped_t g = RV_GROUPED_INIT;
    g.name = "by-first";
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "first-counts";
    rv_kgrouped_stream_count(rv_kstream_group_by(s, first_char, NULL, &g), "counter", &m);
    d = describe(b);
    assert_string_equal(d, "Topologies:\n"
                           "   Sub-topology: 0\n"
                           "    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n"
                           "      --> by-first\n"
                           "    Processor: by-first (stores: [])\n"
                           "      --> by-first-repartition-filter\n"
                           "      <-- KSTREAM-SOURCE-0000000000\n"
                           "    Processor: by-first-repartition-filter (stores: [])\n"
                           "      --> by-first-repartition-sink\n"
                           "      <-- by-first\n"
                           "    Sink: by-first-repartition-sink (topic: by-first-repartition)\n"
                           "      <-- by-first-repartition-filter\n"
                           "\n"
                           "  Sub-topology: 1\n"
                           "    Source: by-first-repartition-source (topics: "
                           "[by-first-repartition])\n"
                           "      --> counter\n"
                           "    Processor: counter (stores: [first-counts])\n"
                           "      --> none\n"
                           "      <-- by-first-repartition-source\n\n");
    free(d);
}

/* ---- Caching: updates of one key collapse until the commit ---- */

static rv_err_t split_words(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            void *opaque) {
    (void)k, (void)kl, (void)opaque;
    const char *s = v;
    int32_t i = 0;
    while (i < vl) {
        while (i < vl && s[i] == ' ')
            i++;
        int32_t st = i;
        while (i < vl && s[i] != ' ')
            i++;
        if (i > st) {
            rv_err_t err = rv_out_value(out, s + st, i - st);
            if (err)
                return err;
        }
    }
    return 0;
}

static rv_err_t value_as_key(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                             void *opaque) {
    (void)k, (void)kl, (void)opaque;
    return rv_out_key(out, v, vl);
}

/* Clicks per user: one input line holds several clicks of one user, so one
 * input record updates one key several times. */
static char *count_clicks(const char *cache_bytes) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"clicks"};
    rv_kstream_t *clicks = rv_kstream_flat_map_values(rv_streams_builder_stream(b, topics, 1, NULL),
                                                      split_words, NULL, NULL);
    rv_ktable_t *t = rv_kgrouped_stream_count(rv_kstream_group_by_key(clicks, NULL), NULL, NULL);
    to_topic(t, "counts", rv_serde_int64());
    rv_topology_t *topo;
    rv_test_driver_t *d = start(b, &topo, mkconf("agg-app", cache_bytes, NULL));
    pipe_s(d, "clicks", "alice", "home cart pay", 1);
    pipe_s(d, "clicks", "bob", "home", 2);
    pipe_s(d, "clicks", "alice", "home", 3);
    char *got = strdup(drain(d, "counts", V_INT64));
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    return got;
}

static void test_caching_collapses_per_key(void **state) {
    (void)state;
    char *off = count_clicks("0");
    assert_string_equal(off, "alice=1@1 alice=2@1 alice=3@1 bob=1@2 alice=4@3 ");
    free(off);
    /* With a cache the driver's commit after each input record flushes one
     * update per key: alice's three updates of the first record become
     * one. */
    char *on = count_clicks("10485760");
    assert_string_equal(on, "alice=3@1 bob=1@2 alice=4@3 ");
    free(on);
}

/* ---- Word count on the embedded broker ---- */

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

static void produce_lines(fx_t *fx, const char *const *lines, size_t n, int64_t ts0) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "text-lines";
        r.partition = 0;
        r.value = lines[i];
        r.value_len = (int32_t)strlen(lines[i]);
        r.timestamp = ts0 + (int64_t)i;
        assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    }
    rv_producer_destroy(p);
}

/* The latest count of each word in "word-counts" (read from the
 * beginning), as "word=n " in first-seen order, once every "word=n " of
 * `want` is among them (or 20 s passed). */
static void read_counts(fx_t *fx, const char *const *want, size_t want_cnt, char *out,
                        size_t out_size) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "word-counts", 0),
                                  RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    char words[32][32];
    int64_t counts[32];
    int nw = 0;
    int64_t until = rv__mono_ms() + 20000;
    out[0] = '\0';
    for (;;) {
        out[0] = '\0';
        for (int j = 0; j < nw; j++) {
            size_t n = strlen(out);
            snprintf(out + n, out_size - n, "%s=%" PRId64 " ", words[j], counts[j]);
        }
        size_t ok = 0;
        for (size_t i = 0; i < want_cnt; i++) {
            char pat[64];
            snprintf(pat, sizeof pat, "%s ", want[i]);
            /* A whole "word=n " entry: at the start or after a space. */
            const char *p = strstr(out, pat);
            while (p && p != out && p[-1] != ' ')
                p = strstr(p + 1, pat);
            ok += p != NULL;
        }
        if (ok == want_cnt || rv__mono_ms() > until)
            break;
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const void *v = rv_record_value(r, &vl);
            int64_t n = -1;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            int j;
            for (j = 0; j < nw; j++)
                if ((int)strlen(words[j]) == kl && !memcmp(words[j], k, (size_t)kl))
                    break;
            if (j == nw && nw < 32)
                snprintf(words[nw++], sizeof words[0], "%.*s", (int)kl, k);
            if (j < 32)
                counts[j] = n;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
}

static rv_err_t lower_words(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            void *opaque) {
    (void)k, (void)kl, (void)opaque;
    char w[256];
    const char *s = v;
    int32_t i = 0;
    while (i < vl) {
        while (i < vl && s[i] == ' ')
            i++;
        int32_t n = 0;
        while (i < vl && s[i] != ' ' && n < (int32_t)sizeof w) {
            char ch = s[i++];
            w[n++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
        if (n) {
            rv_err_t err = rv_out_value(out, w, n);
            if (err)
                return err;
        }
    }
    return 0;
}

static rv_topology_t *word_count_topology(void) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"text-lines"};
    rv_kstream_t *words = rv_kstream_flat_map_values(rv_streams_builder_stream(b, topics, 1, NULL),
                                                     lower_words, NULL, NULL);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "word-counts-store";
    m.store_type = RV_STORE_TYPE_ROCKSDB;
    rv_ktable_t *t =
        rv_kgrouped_stream_count(rv_kstream_group_by(words, value_as_key, NULL, NULL), NULL, &m);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_int64();
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t, NULL), "word-counts", &p), 0);
    char err[1024];
    rv_topology_t *topo;
    if (rv_streams_builder_build(&topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    return topo;
}

static void run_word_count(fx_t *fx, rv_topology_t *topo, const char *const *want, size_t want_cnt,
                           char *got, size_t got_size) {
    char errstr[1024], sd[4400];
    rv_conf_t *c = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    assert_int_equal(rv_conf_set(c, "application.id", "wordcount", errstr, sizeof errstr), 0);
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
    read_counts(fx, want, want_cnt, got, got_size);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
}

static void test_word_count_app(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "text-lines");
    create_topic(fx, "word-counts");
    rv_topology_t *topo = word_count_topology();
    const char *first[] = {"all streams lead to kafka", "hello kafka streams"};
    produce_lines(fx, first, 2, 1000);
    char got[2048];
    const char *want1[] = {"all=1", "streams=2", "lead=1", "to=1", "kafka=2", "hello=1"};
    run_word_count(fx, topo, want1, 6, got, sizeof got);
    for (size_t i = 0; i < 6; i++)
        rvt_assert_contains(got, want1[i]);
    /* The aggregation's task (sub-topology 1) checkpointed its store. */
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/state/wordcount/1_0/.checkpoint", fx->dir);
    assert_int_equal(stat(path, &st), 0);

    /* Restart: the RocksDB store keeps the counts, so new lines count on
     * from them. */
    const char *second[] = {"join kafka summit", "Kafka STREAMS"};
    produce_lines(fx, second, 2, 2000);
    const char *want2[] = {"all=1", "streams=3", "kafka=4", "summit=1", "join=1", "hello=1"};
    run_word_count(fx, topo, want2, 6, got, sizeof got);
    for (size_t i = 0; i < 6; i++)
        rvt_assert_contains(got, want2[i]);

    /* The store's changelog is in Kafka's format for a timestamped store:
     * the plain int64 count, with the row's timestamp as the record's. */
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(
        rv_topic_partition_list_add(l, "wordcount-word-counts-store-changelog", 0),
        RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    int seen_summit = 0, records = 0;
    for (int tries = 0; tries < 100 && !seen_summit; tries++) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const void *v = rv_record_value(r, &vl);
            int64_t n = -1;
            assert_int_equal(vl, 8);
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            assert_true(rv_record_timestamp(r) >= 1000 && rv_record_timestamp(r) <= 2001);
            records++;
            if (kl == 6 && !memcmp(k, "summit", 6)) {
                assert_int_equal(n, 1);
                assert_int_equal(rv_record_timestamp(r), 2000);
                seen_summit = 1;
            }
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    assert_true(seen_summit);
    assert_true(records >= 8);

    /* A wiped state folder: the store comes back from that changelog, so
     * counting goes on from the restored rows. */
    char sd[4400];
    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    rvt_rmtree(sd);
    const char *third[] = {"kafka"};
    produce_lines(fx, third, 1, 3000);
    const char *want3[] = {"kafka=5", "summit=1"};
    run_word_count(fx, topo, want3, 2, got, sizeof got);
    rvt_assert_contains(got, "kafka=5");
    rv_topology_destroy(topo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_count_materialized),
        cmocka_unit_test(test_stream_reduce_materialized),
        cmocka_unit_test(test_stream_aggregate_materialized),
        cmocka_unit_test(test_stream_aggregate_default_serdes),
        cmocka_unit_test(test_stream_group_by_count),
        cmocka_unit_test(test_stream_named_repartition_reused),
        cmocka_unit_test(test_table_agg_basic),
        cmocka_unit_test(test_table_agg_repartition),
        cmocka_unit_test(test_table_count),
        cmocka_unit_test(test_table_remove_old_before_add_new),
        cmocka_unit_test(test_table_same_key_one_record),
        cmocka_unit_test(test_table_key_change_two_records),
        cmocka_unit_test(test_table_reduce_add_and_subtract),
        cmocka_unit_test(test_table_reduce),
        cmocka_unit_test(test_table_count_and_aggregate_materialized),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_describe_stream_count),
        cmocka_unit_test(test_describe_table_count),
        cmocka_unit_test(test_describe_stream_group_by),
        cmocka_unit_test(test_caching_collapses_per_key),
        cmocka_unit_test_setup_teardown(test_word_count_app, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
