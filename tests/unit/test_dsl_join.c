/* tests/unit/test_dsl_join.c: the joins of the DSL (dsl/ktable.c) through
 * the test driver, with the inputs and outputs of Kafka Streams'
 * KStreamKTableJoinTest, KStreamKTableLeftJoinTest, KTableKTable{Inner,
 * Left,Outer}JoinTest and KStreamGlobalKTable{,Left}JoinTest; describe()
 * strings of KStreamKTableJoinTest and KStreamImplTest; and on the
 * embedded broker: the co-partitioning error of a stream-table join over
 * topics with different partition counts, and a join after map() that
 * really goes through its repartition topic. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/clock.h"
#include "dsl/dsl_internal.h"
#include "rivulet/rivulet.h"

/* ---- Helpers ---- */

static rv_topology_t *build(rv_streams_builder_t *b) {
    char errstr[1024];
    rv_topology_t *t = NULL;
    if (rv_streams_builder_build(&t, b, errstr, sizeof errstr))
        fail_msg("rv_streams_builder_build: %s", errstr);
    return t;
}

static rv_test_driver_t *driver(rv_topology_t *t) {
    char errstr[1024];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "dsl-join", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, errstr, sizeof errstr);
    if (!d)
        fail_msg("rv_test_driver_new: %s", errstr);
    return d;
}

static void pipe_in(rv_test_driver_t *d, const char *topic, const char *key, const char *value,
                    int64_t ts) {
    rv_err_t err = rv_test_driver_pipe_input(d, topic, key, key ? (int32_t)strlen(key) : -1, value,
                                             value ? (int32_t)strlen(value) : -1, ts, NULL, 0);
    if (err)
        fail_msg("pipe_input: %s", rv_test_driver_last_error(d));
}

/* Every unread output record of topic as "key:value@ts", space-separated. */
static const char *outputs(rv_test_driver_t *d, const char *topic) {
    static char buf[8192];
    buf[0] = '\0';
    rv_test_record_t *r;
    while (!rv_test_driver_read_output(&r, d, topic)) {
        int32_t kl, vl;
        const char *k = rv_test_record_key(r, &kl);
        const char *v = rv_test_record_value(r, &vl);
        char line[256];
        snprintf(line, sizeof line, "%s%.*s:%.*s@%" PRId64, buf[0] ? " " : "", k ? (int)kl : 4,
                 k ? k : "null", v ? (int)vl : 4, v ? v : "null", rv_test_record_timestamp(r));
        strcat(buf, line);
        rv_test_record_destroy(r);
    }
    return buf;
}

static rv_consumed_t strings(void) {
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_string();
    return c;
}

/* Kafka's MockValueJoiner.TOSTRING_JOINER: left + "+" + right. */
static rv_err_t tostring_joiner(rv_out_t *out, const void *k, int32_t kl, const void *left,
                                int32_t ll, const void *right, int32_t rl, void *opaque) {
    (void)k, (void)kl, (void)ll, (void)rl, (void)opaque;
    char buf[256];
    snprintf(buf, sizeof buf, "%s+%s", left ? (const char *)left : "null",
             right ? (const char *)right : "null");
    return rv_out_value(out, buf, -1);
}

/* Pushes keys 0..n-1 with values prefix+key, timestamps ts0 + i * step. */
static void push(rv_test_driver_t *d, const char *topic, int n, const char *prefix, int64_t ts0,
                 int64_t step) {
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "%d", i);
        snprintf(v, sizeof v, "%s%d", prefix, i);
        pipe_in(d, topic, k, v, ts0 + i * step);
    }
}

/* ---- KStream-KTable joins ---- */

typedef struct st_fx_s {
    rv_streams_builder_t *b;
    rv_topology_t *topo;
    rv_test_driver_t *d;
} st_fx_t;

/* stream("streamTopic").join / leftJoin(table("tableTopic")).to("out") */
static st_fx_t stream_table(bool left) {
    st_fx_t f;
    f.b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"streamTopic"};
    rv_kstream_t *s = rv_streams_builder_stream(f.b, topics, 1, &c);
    rv_ktable_t *t = rv_streams_builder_table(f.b, "tableTopic", &c, NULL);
    rv_kstream_t *j = left ? rv_kstream_left_join_table(s, t, tostring_joiner, NULL, NULL)
                           : rv_kstream_join_table(s, t, tostring_joiner, NULL, NULL);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_string();
    assert_int_equal(rv_kstream_to(j, "out", &p), 0);
    f.topo = build(f.b);
    f.d = driver(f.topo);
    return f;
}

static void st_done(st_fx_t *f) {
    rv_test_driver_destroy(f->d);
    rv_topology_destroy(f->topo);
    rv_streams_builder_destroy(f->b);
}

/* KStreamKTableJoinTest.shouldNotJoinOnTableUpdates and
 * shouldNotJoinWithEmptyTableOnStreamUpdates. */
static void test_stream_table_join_not_on_table_updates(void **state) {
    (void)state;
    st_fx_t f = stream_table(false);
    push(f.d, "streamTopic", 2, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "");
    push(f.d, "tableTopic", 2, "Y", 100, 7);
    assert_string_equal(outputs(f.d, "out"), "");
    push(f.d, "streamTopic", 4, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:X0+Y0@0 1:X1+Y1@1");
    push(f.d, "tableTopic", 4, "YY", 50, 3);
    assert_string_equal(outputs(f.d, "out"), "");
    push(f.d, "streamTopic", 4, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:X0+YY0@0 1:X1+YY1@1 2:X2+YY2@2 3:X3+YY3@3");
    push(f.d, "tableTopic", 4, "YYY", 9, 1);
    assert_string_equal(outputs(f.d, "out"), "");
    st_done(&f);
}

/* shouldClearTableEntryOnNullValueUpdates, and the null key / null value
 * records Kafka skips ("Skipping record due to null join key or value"). */
static void test_stream_table_join_table_deletes(void **state) {
    (void)state;
    st_fx_t f = stream_table(false);
    push(f.d, "tableTopic", 4, "Y", 0, 1);
    push(f.d, "streamTopic", 4, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:X0+Y0@0 1:X1+Y1@1 2:X2+Y2@2 3:X3+Y3@3");
    pipe_in(f.d, "tableTopic", "0", NULL, 0);
    pipe_in(f.d, "tableTopic", "1", NULL, 0);
    assert_string_equal(outputs(f.d, "out"), "");
    push(f.d, "streamTopic", 4, "XX", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "2:XX2+Y2@2 3:XX3+Y3@3");
    pipe_in(f.d, "streamTopic", NULL, "A", 0);
    pipe_in(f.d, "streamTopic", "2", NULL, 0);
    assert_string_equal(outputs(f.d, "out"), "");
    st_done(&f);
}

/* KStreamKTableLeftJoinTest.shouldNotJoinOnTableUpdates,
 * shouldClearTableEntryOnNullValueUpdates. */
static void test_stream_table_left_join(void **state) {
    (void)state;
    st_fx_t f = stream_table(true);
    push(f.d, "streamTopic", 2, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:X0+null@0 1:X1+null@1");
    push(f.d, "tableTopic", 2, "Y", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "");
    push(f.d, "streamTopic", 4, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:X0+Y0@0 1:X1+Y1@1 2:X2+null@2 3:X3+null@3");
    push(f.d, "tableTopic", 4, "YY", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "");
    push(f.d, "streamTopic", 4, "X", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:X0+YY0@0 1:X1+YY1@1 2:X2+YY2@2 3:X3+YY3@3");
    pipe_in(f.d, "tableTopic", "0", NULL, 0);
    pipe_in(f.d, "tableTopic", "1", NULL, 0);
    push(f.d, "streamTopic", 4, "XX", 0, 1);
    assert_string_equal(outputs(f.d, "out"), "0:XX0+null@0 1:XX1+null@1 2:XX2+YY2@2 3:XX3+YY3@3");
    /* A left join keeps a null-key record with a value, as a miss; a null
     * value is skipped. */
    pipe_in(f.d, "streamTopic", NULL, "A", 4);
    pipe_in(f.d, "streamTopic", "2", NULL, 5);
    assert_string_equal(outputs(f.d, "out"), "null:A+null@4");
    st_done(&f);
}

/* ---- KTable-KTable joins: KTableKTable{Inner,Left,Outer}JoinTest.testJoin ---- */

enum { INNER, LEFT, OUTER };

/* The expected outputs of the seven steps of Kafka's doTestJoin. */
static const char *const table_join_expected[3][7] = {
    {"", "0:X0+Y0@5 1:X1+Y1@10", "0:XX0+Y0@7 1:XX1+Y1@10",
     "0:XX0+YY0@7 1:XX1+YY1@7 2:XX2+YY2@10 3:XX3+YY3@15",
     "0:XXX0+YY0@6 1:XXX1+YY1@6 2:XXX2+YY2@10 3:XXX3+YY3@15", "0:null@6 1:null@7",
     "2:XXXX2+YY2@13 3:XXXX3+YY3@15"},
    {"0:X0+null@5 1:X1+null@6", "0:X0+Y0@5 1:X1+Y1@10",
     "0:XX0+Y0@7 1:XX1+Y1@10 2:XX2+null@7 3:XX3+null@7",
     "0:XX0+YY0@7 1:XX1+YY1@7 2:XX2+YY2@10 3:XX3+YY3@15",
     "0:XXX0+YY0@6 1:XXX1+YY1@6 2:XXX2+YY2@10 3:XXX3+YY3@15", "0:XXX0+null@6 1:XXX1+null@7",
     "0:XXXX0+null@13 1:XXXX1+null@13 2:XXXX2+YY2@13 3:XXXX3+YY3@15"},
    {"0:X0+null@5 1:X1+null@6", "0:X0+Y0@5 1:X1+Y1@10",
     "0:XX0+Y0@7 1:XX1+Y1@10 2:XX2+null@7 3:XX3+null@7",
     "0:XX0+YY0@7 1:XX1+YY1@7 2:XX2+YY2@10 3:XX3+YY3@15",
     "0:XXX0+YY0@6 1:XXX1+YY1@6 2:XXX2+YY2@10 3:XXX3+YY3@15", "0:XXX0+null@6 1:XXX1+null@7",
     "0:XXXX0+null@13 1:XXXX1+null@13 2:XXXX2+YY2@13 3:XXXX3+YY3@15"},
};

/* ... and of the last step, every left row deleted. */
static const char *const table_join_last[3] = {
    "2:null@10 3:null@20",
    "0:null@0 1:null@42 2:null@10 3:null@20",
    "0:null@0 1:null@42 2:null+YY2@10 3:null+YY3@20",
};

static void run_table_join(int kind, bool materialized) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, NULL);
    rv_ktable_t *t2 = rv_streams_builder_table(b, "topic2", &c, NULL);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "joined-store";
    m.value_serde = rv_serde_string();
    rv_ktable_t *j =
        kind == INNER
            ? rv_ktable_join(t1, t2, tostring_joiner, NULL, NULL, materialized ? &m : NULL)
        : kind == LEFT
            ? rv_ktable_left_join(t1, t2, tostring_joiner, NULL, NULL, materialized ? &m : NULL)
            : rv_ktable_outer_join(t1, t2, tostring_joiner, NULL, NULL, materialized ? &m : NULL);
    assert_non_null(j);
    if (materialized)
        assert_string_equal(rv_ktable_queryable_store_name(j), "joined-store");
    else
        assert_null(rv_ktable_queryable_store_name(j));
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_string();
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(j, NULL), "output", &p), 0);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    const char *const *want = table_join_expected[kind];

    push(d, "topic1", 2, "X", 5, 1);
    pipe_in(d, "topic1", NULL, "SomeVal", 42); /* dropped: null key */
    assert_string_equal(outputs(d, "output"), want[0]);
    push(d, "topic2", 2, "Y", 0, 10);
    pipe_in(d, "topic2", NULL, "AnotherVal", 73);
    assert_string_equal(outputs(d, "output"), want[1]);
    push(d, "topic1", 4, "XX", 7, 0);
    assert_string_equal(outputs(d, "output"), want[2]);
    push(d, "topic2", 4, "YY", 0, 5);
    assert_string_equal(outputs(d, "output"), want[3]);
    push(d, "topic1", 4, "XXX", 6, 0);
    assert_string_equal(outputs(d, "output"), want[4]);
    pipe_in(d, "topic2", "0", NULL, 5);
    pipe_in(d, "topic2", "1", NULL, 7);
    assert_string_equal(outputs(d, "output"), want[5]);
    push(d, "topic1", 4, "XXXX", 13, 0);
    assert_string_equal(outputs(d, "output"), want[6]);
    pipe_in(d, "topic1", "0", NULL, 0);
    pipe_in(d, "topic1", "1", NULL, 42);
    pipe_in(d, "topic1", "2", NULL, 5);
    pipe_in(d, "topic1", "3", NULL, 20);
    assert_string_equal(outputs(d, "output"), table_join_last[kind]);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_table_table_inner_join(void **state) {
    (void)state;
    run_table_join(INNER, false);
}

static void test_table_table_inner_join_materialized(void **state) {
    (void)state;
    run_table_join(INNER, true);
}

static void test_table_table_left_join(void **state) {
    (void)state;
    run_table_join(LEFT, false);
}

static void test_table_table_left_join_materialized(void **state) {
    (void)state;
    run_table_join(LEFT, true);
}

static void test_table_table_outer_join(void **state) {
    (void)state;
    run_table_join(OUTER, false);
}

static void test_table_table_outer_join_materialized(void **state) {
    (void)state;
    run_table_join(OUTER, true);
}

/* What a capture processor under a KTable node saw: "key:(new<-old)@ts",
 * space-separated (Kafka's tests add a MockApiProcessor there). */
static char g_changes[4096];

static rv_err_t changes_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                void *state) {
    (void)ctx, (void)state;
    const rv__change_t *ch = r->value;
    char line[256];
    snprintf(line, sizeof line, "%s%s:(%s<-%s)@%" PRId64, g_changes[0] ? " " : "",
             r->key ? (const char *)r->key : "null",
             ch->new_value ? (const char *)ch->new_value : "null",
             ch->old_value ? (const char *)ch->old_value : "null", r->timestamp);
    strncat(g_changes, line, sizeof g_changes - strlen(g_changes) - 1);
    return 0;
}

static rv_err_t changes_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = changes_process;
    return 0;
}

static void expect_changes(const char *want) {
    assert_string_equal(g_changes, want);
    g_changes[0] = '\0';
}

/* KTableKTableInnerJoinTest.testSendingOldValues: the join's result asked
 * for old values (as a group_by after it would) gets them from both sides,
 * which are materialized for it. */
static void test_table_table_join_sending_old_values(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, NULL);
    rv_ktable_t *t2 = rv_streams_builder_table(b, "topic2", &c, NULL);
    rv_ktable_t *j = rv_ktable_join(t1, t2, tostring_joiner, NULL, NULL, NULL);
    assert_int_equal(rv__ktable_enable_send_old_values(j), 0);
    assert_true(t1->flags->send_old_values);
    assert_true(t2->flags->send_old_values);
    assert_true(j->flags->send_old_values);
    char node[128], errstr[512];
    snprintf(node, sizeof node, "%s", j->node);
    rv_topology_t *topo = build(b);
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = changes_get;
    const char *parent = node;
    assert_int_equal(
        rv_topology_add_processor(topo, "proc", &sup, &parent, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_build(topo, errstr, sizeof errstr), 0);
    rv_test_driver_t *d = driver(topo);
    g_changes[0] = '\0';
    push(d, "topic1", 2, "X", 5, 1);
    pipe_in(d, "topic1", NULL, "SomeVal", 42);
    push(d, "topic2", 2, "Y", 0, 10);
    pipe_in(d, "topic2", NULL, "AnotherVal", 73);
    expect_changes("0:(X0+Y0<-null)@5 1:(X1+Y1<-null)@10");
    push(d, "topic1", 4, "XX", 7, 0);
    expect_changes("0:(XX0+Y0<-X0+Y0)@7 1:(XX1+Y1<-X1+Y1)@10");
    push(d, "topic2", 4, "YY", 0, 5);
    expect_changes("0:(XX0+YY0<-XX0+Y0)@7 1:(XX1+YY1<-XX1+Y1)@7 2:(XX2+YY2<-null)@10 "
                   "3:(XX3+YY3<-null)@15");
    push(d, "topic1", 4, "XXX", 6, 0);
    expect_changes("0:(XXX0+YY0<-XX0+YY0)@6 1:(XXX1+YY1<-XX1+YY1)@6 2:(XXX2+YY2<-XX2+YY2)@10 "
                   "3:(XXX3+YY3<-XX3+YY3)@15");
    pipe_in(d, "topic2", "0", NULL, 5);
    pipe_in(d, "topic2", "1", NULL, 7);
    expect_changes("0:(null<-XXX0+YY0)@6 1:(null<-XXX1+YY1)@7");
    push(d, "topic1", 4, "XXXX", 13, 0);
    expect_changes("2:(XXXX2+YY2<-XXX2+YY2)@13 3:(XXXX3+YY3<-XXX3+YY3)@15");
    pipe_in(d, "topic1", "0", NULL, 0);
    pipe_in(d, "topic1", "1", NULL, 42);
    pipe_in(d, "topic1", "2", NULL, 5);
    pipe_in(d, "topic1", "3", NULL, 20);
    expect_changes("2:(null<-XXXX2+YY2)@10 3:(null<-XXXX3+YY3)@20");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* A join's result read by a later join through getters (not
 * materialized): the join getter looks both sides up. */
static void test_join_of_join_result(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "t1", &c, NULL);
    rv_ktable_t *t2 = rv_streams_builder_table(b, "t2", &c, NULL);
    rv_ktable_t *j = rv_ktable_left_join(t1, t2, tostring_joiner, NULL, NULL, NULL);
    const char *topics[] = {"s"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_string();
    rv_kstream_to(rv_kstream_join_table(s, j, tostring_joiner, NULL, NULL), "out", &p);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "s", "k", "S1", 1);
    pipe_in(d, "t2", "k", "B", 2);
    pipe_in(d, "s", "k", "S2", 3);
    pipe_in(d, "t1", "k", "A", 4);
    pipe_in(d, "s", "k", "S3", 5);
    pipe_in(d, "t2", "k", NULL, 6);
    pipe_in(d, "s", "k", "S4", 7);
    assert_string_equal(outputs(d, "out"), "k:S3+A+B@5 k:S4+A+null@7");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* KStreamImplTest.shouldSupportTableTableJoinWithKStreamToKTable. */
static void test_table_join_of_streams_to_table(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *lt[] = {"left"}, *rt[] = {"right"};
    rv_ktable_t *t1 = rv_kstream_to_table(rv_streams_builder_stream(b, lt, 1, &c), NULL, NULL);
    rv_ktable_t *t2 = rv_kstream_to_table(rv_streams_builder_stream(b, rt, 1, &c), NULL, NULL);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_string();
    rv_kstream_to(
        rv_ktable_to_stream(rv_ktable_join(t1, t2, tostring_joiner, NULL, NULL, NULL), NULL),
        "output", &p);
    rv_topology_t *topo = build(b);
    char *desc = rv_topology_describe(topo);
    assert_string_equal(desc, "Topologies:\n"
                              "   Sub-topology: 0\n"
                              "    Source: KSTREAM-SOURCE-0000000000 (topics: [left])\n"
                              "      --> KSTREAM-TOTABLE-0000000001\n"
                              "    Source: KSTREAM-SOURCE-0000000003 (topics: [right])\n"
                              "      --> KSTREAM-TOTABLE-0000000004\n"
                              "    Processor: KSTREAM-TOTABLE-0000000001 (stores: "
                              "[KSTREAM-TOTABLE-STATE-STORE-0000000002])\n"
                              "      --> KTABLE-JOINTHIS-0000000007\n"
                              "      <-- KSTREAM-SOURCE-0000000000\n"
                              "    Processor: KSTREAM-TOTABLE-0000000004 (stores: "
                              "[KSTREAM-TOTABLE-STATE-STORE-0000000005])\n"
                              "      --> KTABLE-JOINOTHER-0000000008\n"
                              "      <-- KSTREAM-SOURCE-0000000003\n"
                              "    Processor: KTABLE-JOINOTHER-0000000008 (stores: "
                              "[KSTREAM-TOTABLE-STATE-STORE-0000000002])\n"
                              "      --> KTABLE-MERGE-0000000006\n"
                              "      <-- KSTREAM-TOTABLE-0000000004\n"
                              "    Processor: KTABLE-JOINTHIS-0000000007 (stores: "
                              "[KSTREAM-TOTABLE-STATE-STORE-0000000005])\n"
                              "      --> KTABLE-MERGE-0000000006\n"
                              "      <-- KSTREAM-TOTABLE-0000000001\n"
                              "    Processor: KTABLE-MERGE-0000000006 (stores: [])\n"
                              "      --> KTABLE-TOSTREAM-0000000009\n"
                              "      <-- KTABLE-JOINTHIS-0000000007, KTABLE-JOINOTHER-0000000008\n"
                              "    Processor: KTABLE-TOSTREAM-0000000009 (stores: [])\n"
                              "      --> KSTREAM-SINK-0000000010\n"
                              "      <-- KTABLE-MERGE-0000000006\n"
                              "    Sink: KSTREAM-SINK-0000000010 (topic: output)\n"
                              "      <-- KTABLE-TOSTREAM-0000000009\n\n");
    free(desc);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "right", "lhs1", "rhsValue1", 1);
    pipe_in(d, "right", "rhs2", "rhsValue2", 2);
    pipe_in(d, "right", "lhs3", "rhsValue3", 3);
    assert_string_equal(outputs(d, "output"), "");
    pipe_in(d, "left", "lhs1", "lhsValue1", 4);
    pipe_in(d, "left", "lhs2", "lhsValue2", 5);
    assert_string_equal(outputs(d, "output"), "lhs1:lhsValue1+rhsValue1@4");
    pipe_in(d, "left", "lhs3", "lhsValue3", 6);
    assert_string_equal(outputs(d, "output"), "lhs3:lhsValue3+rhsValue3@6");
    pipe_in(d, "left", "lhs1", "lhsValue4", 7);
    assert_string_equal(outputs(d, "output"), "lhs1:lhsValue4+rhsValue1@7");
    pipe_in(d, "left", "lhs1", NULL, 8);
    assert_string_equal(outputs(d, "output"), "lhs1:null@8");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* ---- KStream-GlobalKTable joins ---- */

/* The test's key mapper: the foreign key after the comma, else null. */
static rv_err_t fk_selector(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    const char *comma = v ? strchr(v, ',') : NULL;
    return comma ? rv_out_key(out, comma + 1, -1) : 0;
}

typedef struct gfx_s {
    rv_streams_builder_t *b;
    rv_topology_t *topo;
    rv_test_driver_t *d;
    int64_t ts; /* the stream topic's next timestamp (auto-advancing by 1) */
} gfx_t;

static gfx_t global_join(bool left) {
    gfx_t f = {0};
    f.b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"streamTopic"};
    rv_kstream_t *s = rv_streams_builder_stream(f.b, topics, 1, &c);
    rv_global_ktable_t *g = rv_streams_builder_global_table(f.b, "globalTopic", &c, NULL);
    assert_null(rv_global_ktable_queryable_store_name(g));
    rv_kstream_t *j =
        left ? rv_kstream_left_join_global(s, g, fk_selector, NULL, tostring_joiner, NULL, NULL)
             : rv_kstream_join_global(s, g, fk_selector, NULL, tostring_joiner, NULL, NULL);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_string();
    assert_int_equal(rv_kstream_to(j, "out", &p), 0);
    f.topo = build(f.b);
    f.d = driver(f.topo);
    return f;
}

static void g_done(gfx_t *f) {
    rv_test_driver_destroy(f->d);
    rv_topology_destroy(f->topo);
    rv_streams_builder_destroy(f->b);
}

static void push_stream(gfx_t *f, int n, const char *prefix, bool fk, bool null_key) {
    for (int i = 0; i < n; i++) {
        char k[16], v[64];
        snprintf(k, sizeof k, "%d", i);
        if (fk)
            snprintf(v, sizeof v, "%s%d,FKey%d", prefix, i, i);
        else
            snprintf(v, sizeof v, "%s%d", prefix, i);
        pipe_in(f->d, "streamTopic", null_key && i == 0 ? NULL : k, v, f->ts++);
    }
}

static void push_global(gfx_t *f, int n, const char *prefix) {
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "FKey%d", i);
        snprintf(v, sizeof v, "%s%d", prefix ? prefix : "", i);
        pipe_in(f->d, "globalTopic", k, prefix ? v : NULL, 0);
    }
}

/* KStreamGlobalKTableJoinTest.shouldNotJoinOnGlobalTableUpdates. */
static void test_global_join_not_on_table_updates(void **state) {
    (void)state;
    gfx_t f = global_join(false);
    push_stream(&f, 2, "X", true, false);
    assert_string_equal(outputs(f.d, "out"), "");
    push_global(&f, 2, "Y");
    assert_string_equal(outputs(f.d, "out"), "");
    push_stream(&f, 4, "X", true, false);
    assert_string_equal(outputs(f.d, "out"), "0:X0,FKey0+Y0@2 1:X1,FKey1+Y1@3");
    push_global(&f, 4, "YY");
    assert_string_equal(outputs(f.d, "out"), "");
    push_stream(&f, 4, "X", true, false);
    assert_string_equal(outputs(f.d, "out"),
                        "0:X0,FKey0+YY0@6 1:X1,FKey1+YY1@7 2:X2,FKey2+YY2@8 3:X3,FKey3+YY3@9");
    g_done(&f);
}

/* shouldClearGlobalTableEntryOnNullValueUpdates, shouldNotJoinOnNullKey-
 * MapperValues, shouldJoinOnNullKeyWithNonNullKeyMapperValues. */
static void test_global_join_deletes_and_null_keys(void **state) {
    (void)state;
    gfx_t f = global_join(false);
    push_global(&f, 4, "Y");
    push_stream(&f, 4, "X", true, false);
    assert_string_equal(outputs(f.d, "out"),
                        "0:X0,FKey0+Y0@0 1:X1,FKey1+Y1@1 2:X2,FKey2+Y2@2 3:X3,FKey3+Y3@3");
    push_global(&f, 2, NULL);
    assert_string_equal(outputs(f.d, "out"), "");
    push_stream(&f, 4, "XX", true, false);
    assert_string_equal(outputs(f.d, "out"), "2:XX2,FKey2+Y2@6 3:XX3,FKey3+Y3@7");
    push_stream(&f, 4, "XXX", false, false);
    assert_string_equal(outputs(f.d, "out"), "");
    push_global(&f, 2, "Y");
    push_stream(&f, 2, "X", true, true);
    assert_string_equal(outputs(f.d, "out"), "null:X0,FKey0+Y0@12 1:X1,FKey1+Y1@13");
    g_done(&f);
}

/* KStreamGlobalKTableLeftJoinTest. */
static void test_global_left_join(void **state) {
    (void)state;
    gfx_t f = global_join(true);
    push_stream(&f, 2, "X", true, false);
    assert_string_equal(outputs(f.d, "out"), "0:X0,FKey0+null@0 1:X1,FKey1+null@1");
    push_global(&f, 2, "Y");
    assert_string_equal(outputs(f.d, "out"), "");
    push_stream(&f, 4, "X", true, false);
    assert_string_equal(outputs(f.d, "out"),
                        "0:X0,FKey0+Y0@2 1:X1,FKey1+Y1@3 2:X2,FKey2+null@4 3:X3,FKey3+null@5");
    push_global(&f, 2, NULL);
    push_stream(&f, 2, "XX", true, false);
    assert_string_equal(outputs(f.d, "out"), "0:XX0,FKey0+null@6 1:XX1,FKey1+null@7");
    /* A null table key drops the record, in a left join too. */
    push_stream(&f, 2, "XXX", false, false);
    assert_string_equal(outputs(f.d, "out"), "");
    push_global(&f, 1, "Y");
    push_stream(&f, 2, "X", true, true);
    assert_string_equal(outputs(f.d, "out"), "null:X0,FKey0+Y0@10 1:X1,FKey1+null@11");
    g_done(&f);
}

/* ---- describe() ---- */

static rv_err_t swap(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                     void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, v, vl);
    return err ? err : rv_out_value(out, k, kl);
}

static char *describe_repartitioned_joins(bool named) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"topic"};
    rv_kstream_t *a = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *tb = rv_streams_builder_table(b, "topic2", &c, NULL);
    rv_ktable_t *tc = rv_streams_builder_table(b, "topic3", &c, NULL);
    rv_kstream_t *re = rv_kstream_map(a, swap, NULL, NULL);
    rv_joined_t j1 = RV_JOINED_INIT, j2 = RV_JOINED_INIT;
    j1.key_serde = j1.value_serde = j1.other_value_serde = rv_serde_string();
    j2 = j1;
    j1.name = "first-join";
    j2.name = "second-join";
    rv_kstream_to(rv_kstream_join_table(re, tb, tostring_joiner, NULL, named ? &j1 : NULL),
                  "out-one", NULL);
    rv_kstream_to(rv_kstream_join_table(re, tc, tostring_joiner, NULL, named ? &j2 : NULL),
                  "out-two", NULL);
    rv_topology_t *topo = build(b);
    char *desc = rv_topology_describe(topo);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
    return desc;
}

/* KStreamKTableJoinTest.shouldCreateRepartitionTopicsWithUserProvidedName. */
static void test_describe_join_user_named_repartition(void **state) {
    (void)state;
    char *desc = describe_repartitioned_joins(true);
    assert_string_equal(
        desc, "Topologies:\n"
              "   Sub-topology: 0\n"
              "    Source: KSTREAM-SOURCE-0000000000 (topics: [topic])\n"
              "      --> KSTREAM-MAP-0000000007\n"
              "    Processor: KSTREAM-MAP-0000000007 (stores: [])\n"
              "      --> first-join-repartition-filter, second-join-repartition-filter\n"
              "      <-- KSTREAM-SOURCE-0000000000\n"
              "    Processor: first-join-repartition-filter (stores: [])\n"
              "      --> first-join-repartition-sink\n"
              "      <-- KSTREAM-MAP-0000000007\n"
              "    Processor: second-join-repartition-filter (stores: [])\n"
              "      --> second-join-repartition-sink\n"
              "      <-- KSTREAM-MAP-0000000007\n"
              "    Sink: first-join-repartition-sink (topic: first-join-repartition)\n"
              "      <-- first-join-repartition-filter\n"
              "    Sink: second-join-repartition-sink (topic: second-join-repartition)\n"
              "      <-- second-join-repartition-filter\n"
              "\n"
              "  Sub-topology: 1\n"
              "    Source: first-join-repartition-source (topics: [first-join-repartition])\n"
              "      --> first-join\n"
              "    Source: KSTREAM-SOURCE-0000000002 (topics: [topic2])\n"
              "      --> KTABLE-SOURCE-0000000003\n"
              "    Processor: first-join (stores: [topic2-STATE-STORE-0000000001])\n"
              "      --> KSTREAM-SINK-0000000012\n"
              "      <-- first-join-repartition-source\n"
              "    Sink: KSTREAM-SINK-0000000012 (topic: out-one)\n"
              "      <-- first-join\n"
              "    Processor: KTABLE-SOURCE-0000000003 (stores: [topic2-STATE-STORE-0000000001])\n"
              "      --> none\n"
              "      <-- KSTREAM-SOURCE-0000000002\n"
              "\n"
              "  Sub-topology: 2\n"
              "    Source: second-join-repartition-source (topics: [second-join-repartition])\n"
              "      --> second-join\n"
              "    Source: KSTREAM-SOURCE-0000000005 (topics: [topic3])\n"
              "      --> KTABLE-SOURCE-0000000006\n"
              "    Processor: second-join (stores: [topic3-STATE-STORE-0000000004])\n"
              "      --> KSTREAM-SINK-0000000017\n"
              "      <-- second-join-repartition-source\n"
              "    Sink: KSTREAM-SINK-0000000017 (topic: out-two)\n"
              "      <-- second-join\n"
              "    Processor: KTABLE-SOURCE-0000000006 (stores: [topic3-STATE-STORE-0000000004])\n"
              "      --> none\n"
              "      <-- KSTREAM-SOURCE-0000000005\n\n");
    free(desc);
}

/* KStreamKTableJoinTest.shouldReuseRepartitionTopicWithGeneratedName
 * (example D of the reference). */
static void test_describe_join_generated_repartition(void **state) {
    (void)state;
    char *desc = describe_repartitioned_joins(false);
    assert_string_equal(
        desc, "Topologies:\n"
              "   Sub-topology: 0\n"
              "    Source: KSTREAM-SOURCE-0000000000 (topics: [topic])\n"
              "      --> KSTREAM-MAP-0000000007\n"
              "    Processor: KSTREAM-MAP-0000000007 (stores: [])\n"
              "      --> KSTREAM-FILTER-0000000009\n"
              "      <-- KSTREAM-SOURCE-0000000000\n"
              "    Processor: KSTREAM-FILTER-0000000009 (stores: [])\n"
              "      --> KSTREAM-SINK-0000000008\n"
              "      <-- KSTREAM-MAP-0000000007\n"
              "    Sink: KSTREAM-SINK-0000000008 (topic: KSTREAM-MAP-0000000007-repartition)\n"
              "      <-- KSTREAM-FILTER-0000000009\n"
              "\n"
              "  Sub-topology: 1\n"
              "    Source: KSTREAM-SOURCE-0000000010 (topics: "
              "[KSTREAM-MAP-0000000007-repartition])\n"
              "      --> KSTREAM-JOIN-0000000011, KSTREAM-JOIN-0000000016\n"
              "    Processor: KSTREAM-JOIN-0000000011 (stores: [topic2-STATE-STORE-0000000001])\n"
              "      --> KSTREAM-SINK-0000000012\n"
              "      <-- KSTREAM-SOURCE-0000000010\n"
              "    Processor: KSTREAM-JOIN-0000000016 (stores: [topic3-STATE-STORE-0000000004])\n"
              "      --> KSTREAM-SINK-0000000017\n"
              "      <-- KSTREAM-SOURCE-0000000010\n"
              "    Source: KSTREAM-SOURCE-0000000002 (topics: [topic2])\n"
              "      --> KTABLE-SOURCE-0000000003\n"
              "    Source: KSTREAM-SOURCE-0000000005 (topics: [topic3])\n"
              "      --> KTABLE-SOURCE-0000000006\n"
              "    Sink: KSTREAM-SINK-0000000012 (topic: out-one)\n"
              "      <-- KSTREAM-JOIN-0000000011\n"
              "    Sink: KSTREAM-SINK-0000000017 (topic: out-two)\n"
              "      <-- KSTREAM-JOIN-0000000016\n"
              "    Processor: KTABLE-SOURCE-0000000003 (stores: [topic2-STATE-STORE-0000000001])\n"
              "      --> none\n"
              "      <-- KSTREAM-SOURCE-0000000002\n"
              "    Processor: KTABLE-SOURCE-0000000006 (stores: [topic3-STATE-STORE-0000000004])\n"
              "      --> none\n"
              "      <-- KSTREAM-SOURCE-0000000005\n\n");
    free(desc);
}

/* A global table and a stream joined with it: the global store's
 * sub-topology first, with its single trailing newline. */
static void test_describe_global_join(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_global_ktable_t *g = rv_streams_builder_global_table(b, "g", NULL, NULL);
    const char *topics[] = {"s"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_kstream_to(rv_kstream_join_global(s, g, fk_selector, NULL, tostring_joiner, NULL, NULL),
                  "out", NULL);
    rv_topology_t *topo = build(b);
    char *desc = rv_topology_describe(topo);
    assert_string_equal(desc, "Topologies:\n"
                              "   Sub-topology: 0 for global store (will not generate tasks)\n"
                              "    Source: KSTREAM-SOURCE-0000000001 (topics: [g])\n"
                              "      --> KTABLE-SOURCE-0000000002\n"
                              "    Processor: KTABLE-SOURCE-0000000002 (stores: "
                              "[g-STATE-STORE-0000000000])\n"
                              "      --> none\n"
                              "      <-- KSTREAM-SOURCE-0000000001\n"
                              "  Sub-topology: 1\n"
                              "    Source: KSTREAM-SOURCE-0000000003 (topics: [s])\n"
                              "      --> KSTREAM-LEFTJOIN-0000000004\n"
                              "    Processor: KSTREAM-LEFTJOIN-0000000004 (stores: [])\n"
                              "      --> KSTREAM-SINK-0000000005\n"
                              "      <-- KSTREAM-SOURCE-0000000003\n"
                              "    Sink: KSTREAM-SINK-0000000005 (topic: out)\n"
                              "      <-- KSTREAM-LEFTJOIN-0000000004\n\n");
    free(desc);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
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

static void create_topic(fx_t *fx, const char *name, int32_t partitions) {
    char errstr[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(a);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    assert_int_equal(
        rv_admin_create_topic(a, name, partitions, -1, names, values, 1, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
}

static void produce(fx_t *fx, const char *topic, const char *key, const char *value, int64_t ts) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = -1;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

/* Reads partitions 0..partitions-1 of topic from the beginning until want
 * records came or timeout_ms passed; each "key:value" line is copied into
 * lines[] (at most 16). Returns the count. */
static int consume(fx_t *fx, const char *topic, int32_t partitions, int want, int timeout_ms,
                   char lines[][128]) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(4);
    for (int32_t p = 0; p < partitions; p++)
        rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, p),
                                      RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    int got = 0;
    int64_t until = rv__mono_ms() + timeout_ms;
    while (got < want && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const char *v = rv_record_value(r, &vl);
            if (got < 16)
                snprintf(lines[got], 128, "%.*s:%.*s", k ? (int)kl : 4, k ? k : "null",
                         v ? (int)vl : 4, v ? v : "null");
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    return got;
}

static bool has_line(char lines[][128], int n, const char *want) {
    for (int i = 0; i < n && i < 16; i++)
        if (!strcmp(lines[i], want))
            return true;
    return false;
}

static rv_conf_t *app_conf(fx_t *fx, const char *app_id) {
    char errstr[512], sd[4400];
    rv_conf_t *c = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state-%s", fx->dir, app_id);
    assert_int_equal(rv_conf_set(c, "application.id", app_id, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    return c;
}

/* A stream-table join over topics of 2 and 3 partitions cannot start: the
 * message names both topics with their counts. */
static void test_copartitioning_error(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    create_topic(fx, "orders", 2);
    create_topic(fx, "customers", 3);
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"orders"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_ktable_t *t = rv_streams_builder_table(b, "customers", NULL, NULL);
    rv_kstream_to(rv_kstream_join_table(s, t, tostring_joiner, NULL, NULL), "enriched", NULL);
    rv_topology_t *topo = build(b);
    rv_streams_t *app = rv_streams_new(topo, app_conf(fx, "copart-join"), errstr, sizeof errstr);
    assert_non_null(app);
    assert_int_equal(rv_streams_start(app, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    rvt_assert_contains(errstr, "Topics not co-partitioned");
    rvt_assert_contains(errstr, "orders=2");
    rvt_assert_contains(errstr, "customers=3");
    rv_streams_close(app, 1000);
    rv_streams_destroy(app);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* "value" -> key = the value's first letter: a key change. */
static rv_err_t first_letter_key(rv_out_t *out, const void *k, int32_t kl, const void *v,
                                 int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    rv_err_t err = rv_out_key(out, v, 1);
    return err ? err : rv_out_value(out, v, -1);
}

/* stream.map(new key).join(table): the records reach the join through
 * "<app>-KSTREAM-MAP-0000000004-repartition", partitioned by the new key
 * like the table's topic, so every record finds its row. */
static void test_join_after_map_repartitions(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    create_topic(fx, "words", 2);
    create_topic(fx, "letters", 2);
    create_topic(fx, "described", 2);
    produce(fx, "letters", "a", "vowel", 1);
    produce(fx, "letters", "b", "consonant", 1);
    produce(fx, "letters", "c", "consonant", 1);

    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"words"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_ktable_t *t = rv_streams_builder_table(b, "letters", NULL, NULL);
    rv_kstream_t *m = rv_kstream_map(s, first_letter_key, NULL, NULL);
    rv_kstream_to(rv_kstream_join_table(m, t, tostring_joiner, NULL, NULL), "described", NULL);
    rv_topology_t *topo = build(b);
    char *desc = rv_topology_describe(topo);
    rvt_assert_contains(desc, "(topic: KSTREAM-MAP-0000000004-repartition)");
    free(desc);
    rv_streams_t *app = rv_streams_new(topo, app_conf(fx, "join-app"), errstr, sizeof errstr);
    assert_non_null(app);
    if (rv_streams_start(app, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    /* The table first, then the words (ids as keys, so they land on
     * partitions unrelated to their first letter). */
    char lines[16][128];
    const char *words[][2] = {
        {"1", "apple"}, {"2", "banana"}, {"3", "cherry"}, {"4", "avocado"}, {"5", "blueberry"}};
    int64_t until = rv__mono_ms() + 20000;
    int got = 0;
    /* The table must have its rows before the words come: wait until the
     * app read them (its changelog shows them). */
    char cl[16][128];
    while (consume(fx, "join-app-letters-STATE-STORE-0000000001-changelog", 2, 3, 200, cl) < 3 &&
           rv__mono_ms() < until)
        ;
    for (int i = 0; i < 5; i++)
        produce(fx, "words", words[i][0], words[i][1], 10 + i);
    got = consume(fx, "described", 2, 5, 20000, lines);
    assert_int_equal(got, 5);
    assert_true(has_line(lines, got, "a:apple+vowel"));
    assert_true(has_line(lines, got, "b:banana+consonant"));
    assert_true(has_line(lines, got, "c:cherry+consonant"));
    assert_true(has_line(lines, got, "a:avocado+vowel"));
    assert_true(has_line(lines, got, "b:blueberry+consonant"));
    /* The repartition topic exists under the app's prefix and holds the
     * re-keyed records. */
    char rl[16][128];
    assert_int_equal(consume(fx, "join-app-KSTREAM-MAP-0000000004-repartition", 2, 5, 5000, rl), 5);
    assert_true(has_line(rl, 5, "c:cherry"));
    assert_int_equal(rv_streams_close(app, 10000), 0);
    rv_streams_destroy(app);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_table_join_not_on_table_updates),
        cmocka_unit_test(test_stream_table_join_table_deletes),
        cmocka_unit_test(test_stream_table_left_join),
        cmocka_unit_test(test_table_table_inner_join),
        cmocka_unit_test(test_table_table_inner_join_materialized),
        cmocka_unit_test(test_table_table_left_join),
        cmocka_unit_test(test_table_table_left_join_materialized),
        cmocka_unit_test(test_table_table_outer_join),
        cmocka_unit_test(test_table_table_outer_join_materialized),
        cmocka_unit_test(test_table_table_join_sending_old_values),
        cmocka_unit_test(test_join_of_join_result),
        cmocka_unit_test(test_table_join_of_streams_to_table),
        cmocka_unit_test(test_global_join_not_on_table_updates),
        cmocka_unit_test(test_global_join_deletes_and_null_keys),
        cmocka_unit_test(test_global_left_join),
        cmocka_unit_test(test_describe_join_user_named_repartition),
        cmocka_unit_test(test_describe_join_generated_repartition),
        cmocka_unit_test(test_describe_global_join),
        cmocka_unit_test_setup_teardown(test_copartitioning_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_after_map_repartitions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
