/* tests/unit/test_dsl_ktable.c: KTables of the DSL (dsl/ktable.c) through
 * the test driver, with the inputs and outputs of Kafka Streams'
 * KTableSourceTest, KTableFilterTest and KTableMapValuesTest: sources,
 * filter / filter_not / map_values materialized or not, the Changes a
 * node forwards with and without old values (read by a capture processor
 * added under the node, as Kafka's tests add a MockApiProcessor), the
 * tombstone rules, the rows of a materialized table's store, describe()
 * strings of TopologyTest, and, on the embedded broker, a cached table
 * collapsing the updates of a key between commits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "common/clock.h"
#include "dsl/dsl_internal.h"
#include "rivulet/rivulet.h"

/* ---- Helpers ---- */

/* What a capture processor saw, as "key:value@ts" or, for a KTable
 * node's Changes, "key:(new<-old)@ts". */
typedef struct cap_s {
    char lines[64][160];
    int n;
    bool changes;
} cap_t;

static const char *str_or_null(const void *p) {
    return p ? (const char *)p : "null";
}

static rv_err_t cap_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                            void *state) {
    (void)ctx;
    cap_t *c = state;
    if (c->n >= 64)
        return RV_ERR__STATE;
    if (c->changes) {
        const rv__change_t *ch = r->value;
        snprintf(c->lines[c->n++], sizeof c->lines[0], "%s:(%s<-%s)@%" PRId64, str_or_null(r->key),
                 str_or_null(ch->new_value), str_or_null(ch->old_value), r->timestamp);
    } else {
        snprintf(c->lines[c->n++], sizeof c->lines[0], "%s:%s@%" PRId64, str_or_null(r->key),
                 str_or_null(r->value), r->timestamp);
    }
    return 0;
}

static rv_err_t cap_get(rv_processor_t *out, void *opaque) {
    out->process = cap_process;
    out->state = opaque;
    return 0;
}

/* Everything c saw since the last take, space-separated; then forgets it. */
static const char *cap_take(cap_t *c) {
    static char buf[8192];
    buf[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        if (i)
            strcat(buf, " ");
        strcat(buf, c->lines[i]);
    }
    c->n = 0;
    return buf;
}

/* Adds capture processor `name` under `parent` to a built topology. */
static void add_cap(rv_topology_t *t, const char *name, const char *parent, cap_t *c) {
    char errstr[512];
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = cap_get;
    sup.opaque = c;
    if (rv_topology_add_processor(t, name, &sup, &parent, 1, errstr, sizeof errstr))
        fail_msg("add_processor: %s", errstr);
    if (rv_topology_build(t, errstr, sizeof errstr))
        fail_msg("rv_topology_build: %s", errstr);
}

static rv_topology_t *build(rv_streams_builder_t *b) {
    char errstr[1024];
    rv_topology_t *t = NULL;
    if (rv_streams_builder_build(&t, b, errstr, sizeof errstr))
        fail_msg("rv_streams_builder_build: %s", errstr);
    return t;
}

/* cache.max.bytes.buffering of the driver's app (NULL: the default):
 * 0 as Kafka's own KTable tests set it, so every update is forwarded. */
static const char *g_cache_bytes = "0";

static rv_test_driver_t *driver(rv_topology_t *t) {
    char errstr[1024];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "dsl-ktable", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    if (g_cache_bytes)
        assert_int_equal(
            rv_conf_set(c, "cache.max.bytes.buffering", g_cache_bytes, errstr, sizeof errstr), 0);
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

/* The row of key in a table store: "value@ts", or "none". */
static const char *row(rv_test_driver_t *d, const char *store, const char *key) {
    static char buf[256];
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, store);
    assert_non_null(s);
    rv_bytes_t v = {0};
    rv_err_t err = rv_kv_store_get(&v, s, key, strlen(key));
    if (err == RV_ERR__NOENT)
        return "none";
    assert_int_equal(err, 0);
    void *val;
    int32_t vl;
    int64_t ts;
    char errstr[256];
    assert_int_equal(rv__vt_decode(&val, &vl, &ts, rv_serde_string(), NULL, v.data, v.len, errstr,
                                   sizeof errstr),
                     0);
    snprintf(buf, sizeof buf, "%s@%" PRId64, (const char *)val, ts);
    rv_serde_free(rv_serde_string(), val);
    rv_bytes_free(&v);
    return buf;
}

static rv_consumed_t strings(void) {
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_string();
    return c;
}

static int even(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    return atoi(v) % 2 == 0;
}

static int accept(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    return !strcmp(v, "accept");
}

/* Kafka's s -> Integer.valueOf(s), written back as a string. */
static rv_err_t to_int(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                       void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", atoi(v));
    return rv_out_value(out, buf, -1);
}

/* ---- KTableSourceTest ---- */

static void test_source_to_stream(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t = rv_streams_builder_table(b, "topic1", &c, NULL);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t, NULL), "output", NULL), 0);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "1", 10);
    pipe_in(d, "topic1", "B", "2", 11);
    pipe_in(d, "topic1", "C", "3", 12);
    pipe_in(d, "topic1", "D", "4", 13);
    pipe_in(d, "topic1", "A", NULL, 14);
    pipe_in(d, "topic1", "B", NULL, 15);
    /* kTableShouldLogAndMeterOnSkippedRecords: a null key is dropped. */
    pipe_in(d, "topic1", NULL, "value", 16);
    assert_string_equal(outputs(d, "output"), "A:1@10 B:2@11 C:3@12 D:4@13 A:null@14 B:null@15");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_source_value_getter(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "store";
    rv_ktable_t *t = rv_streams_builder_table(b, "topic1", &c, &m);
    assert_string_equal(rv_ktable_queryable_store_name(t), "store");
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "01", 10);
    pipe_in(d, "topic1", "B", "01", 20);
    pipe_in(d, "topic1", "C", "01", 15);
    assert_string_equal(row(d, "store", "A"), "01@10");
    assert_string_equal(row(d, "store", "B"), "01@20");
    assert_string_equal(row(d, "store", "C"), "01@15");
    pipe_in(d, "topic1", "A", "02", 30);
    pipe_in(d, "topic1", "B", "02", 5); /* out of order: a plain store still takes it */
    assert_string_equal(row(d, "store", "A"), "02@30");
    assert_string_equal(row(d, "store", "B"), "02@5");
    assert_string_equal(row(d, "store", "C"), "01@15");
    pipe_in(d, "topic1", "A", "03", 29);
    assert_string_equal(row(d, "store", "A"), "03@29");
    pipe_in(d, "topic1", "A", NULL, 50);
    pipe_in(d, "topic1", "B", NULL, 3);
    assert_string_equal(row(d, "store", "A"), "none");
    assert_string_equal(row(d, "store", "B"), "none");
    assert_string_equal(row(d, "store", "C"), "01@15");
    /* The store is logged to "<app>-store-changelog" in the same layout. */
    rv_test_record_t *r;
    assert_int_equal(rv_test_driver_read_output(&r, d, "dsl-ktable-store-changelog"), 0);
    int32_t kl;
    assert_memory_equal(rv_test_record_key(r, &kl), "A", 1);
    rv_test_record_destroy(r);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* testNotSendingOldValue / testSendingOldValue. */
static void run_source_changes(bool send_old) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t = rv_streams_builder_table(b, "topic1", &c, NULL);
    if (send_old)
        assert_int_equal(rv__ktable_enable_send_old_values(t), 0);
    char node[128];
    snprintf(node, sizeof node, "%s", t->node);
    rv_topology_t *topo = build(b);
    cap_t cap = {.changes = true};
    add_cap(topo, "proc1", node, &cap);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "01", 10);
    pipe_in(d, "topic1", "B", "01", 20);
    pipe_in(d, "topic1", "C", "01", 15);
    assert_string_equal(cap_take(&cap), "A:(01<-null)@10 B:(01<-null)@20 C:(01<-null)@15");
    pipe_in(d, "topic1", "A", "02", 8);
    pipe_in(d, "topic1", "B", "02", 22);
    assert_string_equal(cap_take(&cap),
                        send_old ? "A:(02<-01)@8 B:(02<-01)@22" : "A:(02<-null)@8 B:(02<-null)@22");
    pipe_in(d, "topic1", "A", "03", 12);
    assert_string_equal(cap_take(&cap), send_old ? "A:(03<-02)@12" : "A:(03<-null)@12");
    pipe_in(d, "topic1", "A", NULL, 15);
    pipe_in(d, "topic1", "B", NULL, 20);
    assert_string_equal(cap_take(&cap), send_old ? "A:(null<-03)@15 B:(null<-02)@20"
                                                 : "A:(null<-null)@15 B:(null<-null)@20");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_source_not_sending_old_values(void **state) {
    (void)state;
    run_source_changes(false);
}

static void test_source_sending_old_values(void **state) {
    (void)state;
    run_source_changes(true);
}

/* ---- KTableFilterTest ---- */

static void test_filter_ktable(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic", &c, NULL);
    rv_ktable_t *t2 = rv_ktable_filter(t1, even, NULL, NULL, NULL);
    rv_ktable_t *t3 = rv_ktable_filter_not(t1, even, NULL, NULL, NULL);
    assert_null(rv_ktable_queryable_store_name(t2));
    rv_kstream_to(rv_ktable_to_stream(t2, NULL), "out2", NULL);
    rv_kstream_to(rv_ktable_to_stream(t3, NULL), "out3", NULL);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic", "A", "1", 10);
    pipe_in(d, "topic", "B", "2", 5);
    pipe_in(d, "topic", "C", "3", 8);
    pipe_in(d, "topic", "D", "4", 14);
    pipe_in(d, "topic", "A", NULL, 18);
    pipe_in(d, "topic", "B", NULL, 15);
    assert_string_equal(outputs(d, "out2"), "A:null@10 B:2@5 C:null@8 D:4@14 A:null@18 B:null@15");
    assert_string_equal(outputs(d, "out3"), "A:1@10 B:null@5 C:3@8 D:null@14 A:null@18 B:null@15");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* shouldGetValuesOnMaterialization: the rows of materialized filters. */
static void test_filter_materialized_rows(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, NULL);
    rv_materialized_t m2 = RV_MATERIALIZED_INIT, m3 = RV_MATERIALIZED_INIT;
    m2.store_name = "store2";
    m3.store_name = "store3";
    rv_ktable_t *t2 = rv_ktable_filter(t1, even, NULL, NULL, &m2);
    rv_ktable_t *t3 = rv_ktable_filter_not(t1, even, NULL, NULL, &m3);
    assert_string_equal(rv_ktable_queryable_store_name(t2), "store2");
    assert_string_equal(rv_ktable_queryable_store_name(t3), "store3");
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "1", 5);
    pipe_in(d, "topic1", "B", "1", 10);
    pipe_in(d, "topic1", "C", "1", 15);
    assert_string_equal(row(d, "store2", "A"), "none");
    assert_string_equal(row(d, "store3", "A"), "1@5");
    assert_string_equal(row(d, "store3", "C"), "1@15");
    pipe_in(d, "topic1", "A", "2", 10);
    pipe_in(d, "topic1", "B", "2", 5);
    assert_string_equal(row(d, "store2", "A"), "2@10");
    assert_string_equal(row(d, "store2", "B"), "2@5");
    assert_string_equal(row(d, "store3", "A"), "none");
    pipe_in(d, "topic1", "A", "3", 15);
    assert_string_equal(row(d, "store2", "A"), "none");
    assert_string_equal(row(d, "store3", "A"), "3@15");
    pipe_in(d, "topic1", "A", NULL, 10);
    pipe_in(d, "topic1", "B", NULL, 20);
    assert_string_equal(row(d, "store2", "B"), "none");
    assert_string_equal(row(d, "store3", "A"), "none");
    assert_string_equal(row(d, "store3", "C"), "1@15");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* doTestNotSendingOldValue / doTestSendingOldValue: what a source (proc1)
 * and a filter of it (proc2) forward. mode 0: nothing asks for old values
 * (shouldNotEnableSendingOldValuesIfNotAlreadyMaterializedAndNot-
 * ForcedToMaterialize); 1: the filter is forced to send them, which
 * materializes the source; 2: the filter is materialized and forced, the
 * source not; 3: the source is materialized and old values are asked
 * for without forcing a store (shouldSendOldValuesWhenEnabledOnUpStream-
 * Materialization). */
static void run_filter_old_values(int mode) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m1 = RV_MATERIALIZED_INIT, m2 = RV_MATERIALIZED_INIT;
    m1.store_name = "store1";
    m2.store_name = "store2";
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, mode == 3 ? &m1 : NULL);
    rv_ktable_t *t2 = rv_ktable_filter(t1, even, NULL, NULL, mode == 2 ? &m2 : NULL);
    if (mode == 1 || mode == 2)
        assert_int_equal(rv__ktable_enable_send_old_values(t2), 0);
    /* Kafka's test asks for old values without forcing a store:
     * enableSendingOldValues(false), which holds for a stored source. */
    if (mode == 3)
        assert_true(rv__ktable_enable_send_old_values_if_materialized(t2));
    bool parent_old = mode == 1 || mode == 3;
    bool child_old = mode != 0;
    assert_int_equal(t1->flags->send_old_values, parent_old);
    assert_int_equal(t2->flags->send_old_values, child_old);
    char n1[128], n2[128];
    snprintf(n1, sizeof n1, "%s", t1->node);
    snprintf(n2, sizeof n2, "%s", t2->node);
    rv_topology_t *topo = build(b);
    cap_t c1 = {.changes = true}, c2 = {.changes = true};
    add_cap(topo, "proc1", n1, &c1);
    add_cap(topo, "proc2", n2, &c2);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "1", 5);
    pipe_in(d, "topic1", "B", "1", 10);
    pipe_in(d, "topic1", "C", "1", 15);
    assert_string_equal(cap_take(&c1), "A:(1<-null)@5 B:(1<-null)@10 C:(1<-null)@15");
    /* Rows never there: no tombstone when the filter knows old values. */
    assert_string_equal(cap_take(&c2), child_old ? ""
                                                 : "A:(null<-null)@5 B:(null<-null)@10 "
                                                   "C:(null<-null)@15");
    pipe_in(d, "topic1", "A", "2", 15);
    pipe_in(d, "topic1", "B", "2", 8);
    assert_string_equal(cap_take(&c1),
                        parent_old ? "A:(2<-1)@15 B:(2<-1)@8" : "A:(2<-null)@15 B:(2<-null)@8");
    assert_string_equal(cap_take(&c2), "A:(2<-null)@15 B:(2<-null)@8");
    pipe_in(d, "topic1", "A", "3", 20);
    assert_string_equal(cap_take(&c1), parent_old ? "A:(3<-2)@20" : "A:(3<-null)@20");
    assert_string_equal(cap_take(&c2), child_old ? "A:(null<-2)@20" : "A:(null<-null)@20");
    pipe_in(d, "topic1", "A", NULL, 10);
    pipe_in(d, "topic1", "B", NULL, 20);
    assert_string_equal(cap_take(&c1), parent_old ? "A:(null<-3)@10 B:(null<-2)@20"
                                                  : "A:(null<-null)@10 B:(null<-null)@20");
    assert_string_equal(cap_take(&c2),
                        child_old ? "B:(null<-2)@20" : "A:(null<-null)@10 B:(null<-null)@20");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_filter_not_sending_old_values(void **state) {
    (void)state;
    run_filter_old_values(0);
}

static void test_filter_forced_old_values(void **state) {
    (void)state;
    run_filter_old_values(1);
}

static void test_filter_materialized_forced_old_values(void **state) {
    (void)state;
    run_filter_old_values(2);
}

static void test_filter_old_values_from_upstream_store(void **state) {
    (void)state;
    run_filter_old_values(3);
}

/* doTestSkipNullOnMaterialization without the downstream operator that
 * asks for old values: a filter sends old values only when asked (Kafka's
 * KTableImpl.doFilter), so rejected rows become tombstones whether or not
 * the source keeps a store. (test_dsl_review.c has the case with a
 * group_by below, where the tombstones are skipped.) */
static void run_skip_null(bool materialized_source) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "store";
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, materialized_source ? &m : NULL);
    rv_ktable_t *t2 = rv_ktable_filter(t1, accept, NULL, NULL, NULL);
    char n1[128], n2[128];
    snprintf(n1, sizeof n1, "%s", t1->node);
    snprintf(n2, sizeof n2, "%s", t2->node);
    rv_topology_t *topo = build(b);
    cap_t c1 = {.changes = true}, c2 = {.changes = true};
    add_cap(topo, "proc1", n1, &c1);
    add_cap(topo, "proc2", n2, &c2);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "reject", 5);
    pipe_in(d, "topic1", "B", "reject", 10);
    pipe_in(d, "topic1", "C", "reject", 20);
    assert_string_equal(cap_take(&c1),
                        "A:(reject<-null)@5 B:(reject<-null)@10 C:(reject<-null)@20");
    (void)materialized_source;
    assert_string_equal(cap_take(&c2), "A:(null<-null)@5 B:(null<-null)@10 C:(null<-null)@20");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_filter_skip_null_materialized_source(void **state) {
    (void)state;
    run_skip_null(true);
}

static void test_filter_tombstones_without_old_values(void **state) {
    (void)state;
    run_skip_null(false);
}

/* ---- KTableMapValuesTest ---- */

static void test_map_values_ktable(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, NULL);
    rv_ktable_t *t2 = rv_ktable_map_values(t1, to_int, NULL, NULL, NULL);
    /* map_values forgets the value serde: the sink says it. */
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_string();
    rv_kstream_to(rv_ktable_to_stream(t2, NULL), "output", &p);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "1", 5);
    pipe_in(d, "topic1", "B", "2", 25);
    pipe_in(d, "topic1", "C", "3", 20);
    pipe_in(d, "topic1", "D", "4", 10);
    assert_string_equal(outputs(d, "output"), "A:1@5 B:2@25 C:3@20 D:4@10");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* testNotSendingOldValue, shouldEnableSendingOldValuesOnParentIfMapValues-
 * NotMaterialized (mode 1), shouldNotEnableSendingOldValuesOnParentIfMap-
 * ValuesMaterialized (mode 2). */
static void run_map_values_old_values(int mode) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "bob";
    m.value_serde = rv_serde_string();
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, NULL);
    rv_ktable_t *t2 = rv_ktable_map_values(t1, to_int, NULL, NULL, mode == 2 ? &m : NULL);
    if (mode)
        assert_int_equal(rv__ktable_enable_send_old_values(t2), 0);
    assert_int_equal(t1->flags->send_old_values, mode == 1);
    assert_int_equal(t2->flags->send_old_values, mode != 0);
    char n2[128];
    snprintf(n2, sizeof n2, "%s", t2->node);
    rv_topology_t *topo = build(b);
    cap_t cap = {.changes = true};
    add_cap(topo, "proc", n2, &cap);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "01", 5);
    pipe_in(d, "topic1", "B", "01", 10);
    pipe_in(d, "topic1", "C", "01", 15);
    assert_string_equal(cap_take(&cap), "A:(1<-null)@5 B:(1<-null)@10 C:(1<-null)@15");
    pipe_in(d, "topic1", "A", "02", 10);
    pipe_in(d, "topic1", "B", "02", 8);
    assert_string_equal(cap_take(&cap),
                        mode ? "A:(2<-1)@10 B:(2<-1)@8" : "A:(2<-null)@10 B:(2<-null)@8");
    pipe_in(d, "topic1", "A", "03", 20);
    assert_string_equal(cap_take(&cap), mode ? "A:(3<-2)@20" : "A:(3<-null)@20");
    pipe_in(d, "topic1", "A", NULL, 30);
    assert_string_equal(cap_take(&cap), mode ? "A:(null<-3)@30" : "A:(null<-null)@30");
    if (mode == 2)
        assert_string_equal(row(d, "bob", "B"), "2@8");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_map_values_not_sending_old_values(void **state) {
    (void)state;
    run_map_values_old_values(0);
}

static void test_map_values_old_values_from_parent(void **state) {
    (void)state;
    run_map_values_old_values(1);
}

static void test_map_values_materialized_old_values(void **state) {
    (void)state;
    run_map_values_old_values(2);
}

/* KStream.toTable: the stream read as a changelog. */
static void test_stream_to_table(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"input"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "latest";
    rv_ktable_t *t = rv_kstream_to_table(s, NULL, &m);
    assert_non_null(t);
    assert_string_equal(t->node, "KSTREAM-TOTABLE-0000000001");
    rv_kstream_to(rv_ktable_to_stream(rv_ktable_filter(t, even, NULL, NULL, NULL), NULL), "out",
                  NULL);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "input", "A", "2", 1);
    pipe_in(d, "input", "A", "3", 2);
    pipe_in(d, "input", "B", "5", 3);
    /* Nothing below asks for old values, so a rejected row is a tombstone
     * even for B, which the filtered table never held (Kafka's
     * KTableFilter without sendOldValues). */
    assert_string_equal(outputs(d, "out"), "A:2@1 A:null@2 B:null@3");
    assert_string_equal(row(d, "latest", "A"), "3@2");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* ---- describe(): TopologyTest ---- */

static rv_err_t null_mapper(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            void *opaque) {
    (void)out, (void)k, (void)kl, (void)v, (void)vl, (void)opaque;
    return 0;
}

static int never(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)v, (void)vl, (void)opaque;
    return 0;
}

static void expect_describe(rv_streams_builder_t *b, const char *want) {
    rv_topology_t *topo = build(b);
    char *got = rv_topology_describe(topo);
    assert_string_equal(got, want);
    free(got);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

static void test_describe_table_operators(void **state) {
    (void)state;
    rv_streams_builder_t *b;
    rv_materialized_t anon = RV_MATERIALIZED_INIT, named = RV_MATERIALIZED_INIT;
    anon.store_type = RV_STORE_TYPE_IN_MEMORY;
    named.store_name = "store-name";

    /* kTableNonMaterializedMapValuesShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_ktable_map_values(rv_streams_builder_table(b, "input-topic", NULL, NULL), null_mapper, NULL,
                         NULL, NULL);
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
                       "      --> KTABLE-SOURCE-0000000002\n"
                       "    Processor: KTABLE-SOURCE-0000000002 (stores: [])\n"
                       "      --> KTABLE-MAPVALUES-0000000003\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KTABLE-MAPVALUES-0000000003 (stores: [])\n"
                       "      --> none\n"
                       "      <-- KTABLE-SOURCE-0000000002\n\n");

    /* kTableAnonymousMaterializedMapValuesShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_ktable_map_values(rv_streams_builder_table(b, "input-topic", NULL, NULL), null_mapper, NULL,
                         NULL, &anon);
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
                       "      --> KTABLE-SOURCE-0000000002\n"
                       "    Processor: KTABLE-SOURCE-0000000002 (stores: [])\n"
                       "      --> KTABLE-MAPVALUES-0000000004\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KTABLE-MAPVALUES-0000000004 (stores: [])\n"
                       "      --> none\n"
                       "      <-- KTABLE-SOURCE-0000000002\n\n");

    /* kTableNamedMaterializedMapValuesShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_ktable_map_values(rv_streams_builder_table(b, "input-topic", NULL, NULL), null_mapper, NULL,
                         NULL, &named);
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
                       "      --> KTABLE-SOURCE-0000000002\n"
                       "    Processor: KTABLE-SOURCE-0000000002 (stores: [])\n"
                       "      --> KTABLE-MAPVALUES-0000000003\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KTABLE-MAPVALUES-0000000003 (stores: [store-name])\n"
                       "      --> none\n"
                       "      <-- KTABLE-SOURCE-0000000002\n\n");

    /* kTableNonMaterializedFilterShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_ktable_filter(rv_streams_builder_table(b, "input-topic", NULL, NULL), never, NULL, NULL,
                     NULL);
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
                       "      --> KTABLE-SOURCE-0000000002\n"
                       "    Processor: KTABLE-SOURCE-0000000002 (stores: [])\n"
                       "      --> KTABLE-FILTER-0000000003\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KTABLE-FILTER-0000000003 (stores: [])\n"
                       "      --> none\n"
                       "      <-- KTABLE-SOURCE-0000000002\n\n");

    /* kTableAnonymousMaterializedFilterShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_materialized_t with = RV_MATERIALIZED_INIT;
    rv_ktable_filter(rv_streams_builder_table(b, "input-topic", NULL, NULL), never, NULL, NULL,
                     &with);
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
                       "      --> KTABLE-SOURCE-0000000002\n"
                       "    Processor: KTABLE-SOURCE-0000000002 (stores: [])\n"
                       "      --> KTABLE-FILTER-0000000004\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KTABLE-FILTER-0000000004 (stores: [])\n"
                       "      --> none\n"
                       "      <-- KTABLE-SOURCE-0000000002\n\n");

    /* kTableNamedMaterializedFilterShouldPreserveTopologyStructure */
    b = rv_streams_builder_new();
    rv_ktable_filter(rv_streams_builder_table(b, "input-topic", NULL, NULL), never, NULL, NULL,
                     &named);
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic])\n"
                       "      --> KTABLE-SOURCE-0000000002\n"
                       "    Processor: KTABLE-SOURCE-0000000002 (stores: [])\n"
                       "      --> KTABLE-FILTER-0000000003\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KTABLE-FILTER-0000000003 (stores: [store-name])\n"
                       "      --> none\n"
                       "      <-- KTABLE-SOURCE-0000000002\n\n");

    /* A named source table (Consumed.as / Materialized.as), then toStream. */
    b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.name = "tbl";
    rv_materialized_t ms = RV_MATERIALIZED_INIT;
    ms.store_name = "tbl-store";
    rv_ktable_t *t = rv_streams_builder_table(b, "input-topic", &c, &ms);
    rv_ktable_to_stream(t, "as-stream");
    expect_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: tbl-source (topics: [input-topic])\n"
                       "      --> tbl\n"
                       "    Processor: tbl (stores: [tbl-store])\n"
                       "      --> as-stream\n"
                       "      <-- tbl-source\n"
                       "    Processor: as-stream (stores: [])\n"
                       "      --> none\n"
                       "      <-- tbl\n\n");
}

/* Bad arguments are kept as the builder's error. */
static void test_errors(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    assert_null(rv_streams_builder_table(b, NULL, NULL, NULL));
    const char *msg = NULL;
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    rvt_assert_contains(msg, "topic can't be null");
    rv_streams_builder_destroy(b);

    b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.offset_reset = RV_AUTO_OFFSET_RESET_LATEST;
    assert_null(rv_streams_builder_global_table(b, "g", &c, NULL));
    rv_topology_t *t = NULL;
    char errstr[512];
    assert_int_equal(rv_streams_builder_build(&t, b, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    assert_null(t);
    rvt_assert_contains(errstr, "auto.offset.reset");
    rv_streams_builder_destroy(b);

    /* Two tables of one topic: the topology's own message. */
    b = rv_streams_builder_new();
    rv_streams_builder_table(b, "same", NULL, NULL);
    assert_null(rv_streams_builder_table(b, "same", NULL, NULL));
    assert_int_not_equal(rv_streams_builder_last_error(b, &msg), 0);
    rv_streams_builder_destroy(b);
}

/* ---- Caching on the embedded broker ---- */

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

static void produce(fx_t *fx, const char *topic, const char *key, const char *value, int64_t ts) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = 0;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

/* Reads topic from the beginning until want records came or timeout_ms
 * passed, as "key:value@ts" space-separated. */
static int consume(fx_t *fx, const char *topic, int want, int timeout_ms, char *out,
                   size_t out_size) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, 0), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    out[0] = '\0';
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
            char line[256];
            snprintf(line, sizeof line, "%s%.*s:%.*s@%" PRId64, out[0] ? " " : "", k ? (int)kl : 4,
                     k ? k : "null", v ? (int)vl : 4, v ? v : "null", rv_record_timestamp(r));
            strncat(out, line, out_size - strlen(out) - 1);
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    return got;
}

/* With caching (Materialized's default) a table emits on commit, one
 * update per key: the four updates read in one poll leave two records. */
static void test_caching_collapses_updates(void **state) {
    fx_t *fx = *state;
    char errstr[1024], sd[4400];
    create_topic(fx, "prices");
    create_topic(fx, "latest-prices");
    produce(fx, "prices", "A", "1", 1);
    produce(fx, "prices", "A", "2", 2);
    produce(fx, "prices", "B", "7", 3);
    produce(fx, "prices", "A", "3", 4);

    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "prices-store";
    rv_ktable_t *t = rv_streams_builder_table(b, "prices", &c, &m);
    rv_kstream_to(rv_ktable_to_stream(t, NULL), "latest-prices", NULL);
    rv_topology_t *topo = build(b);

    rv_conf_t *conf = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    assert_int_equal(rv_conf_set(conf, "application.id", "cache-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "commit.interval.ms", "500", errstr, sizeof errstr), 0);
    rv_streams_t *s = rv_streams_new(topo, conf, errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    char got[1024];
    assert_int_equal(consume(fx, "latest-prices", 2, 15000, got, sizeof got), 2);
    /* Each key's last update, with its own timestamp (the cache's flush
     * order is its own business). */
    rvt_assert_contains(got, "A:3@4");
    rvt_assert_contains(got, "B:7@3");
    /* Nothing more comes: the intermediate updates of A were collapsed. */
    assert_int_equal(consume(fx, "latest-prices", 3, 1500, got, sizeof got), 2);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_to_stream),
        cmocka_unit_test(test_source_value_getter),
        cmocka_unit_test(test_source_not_sending_old_values),
        cmocka_unit_test(test_source_sending_old_values),
        cmocka_unit_test(test_filter_ktable),
        cmocka_unit_test(test_filter_materialized_rows),
        cmocka_unit_test(test_filter_not_sending_old_values),
        cmocka_unit_test(test_filter_forced_old_values),
        cmocka_unit_test(test_filter_materialized_forced_old_values),
        cmocka_unit_test(test_filter_old_values_from_upstream_store),
        cmocka_unit_test(test_filter_skip_null_materialized_source),
        cmocka_unit_test(test_filter_tombstones_without_old_values),
        cmocka_unit_test(test_map_values_ktable),
        cmocka_unit_test(test_map_values_not_sending_old_values),
        cmocka_unit_test(test_map_values_old_values_from_parent),
        cmocka_unit_test(test_map_values_materialized_old_values),
        cmocka_unit_test(test_stream_to_table),
        cmocka_unit_test(test_describe_table_operators),
        cmocka_unit_test(test_errors),
        cmocka_unit_test_setup_teardown(test_caching_collapses_updates, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
