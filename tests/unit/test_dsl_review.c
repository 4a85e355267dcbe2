/* tests/unit/test_dsl_review.c: edge cases of the DSL (the files of dsl/) that the
 * per-operator tests leave out, each checked against what Kafka Streams
 * 3.x does: tombstones of KTable filter and map_values when no operator
 * downstream asks for old values, a cached table written and deleted by
 * one input record, topologies that outlive their builder, rv_out_t misuse
 * (two values, strlen lengths, large values), user functions and serdes
 * that fail, corrupt rows in a table store, keys with NUL bytes, operators
 * called on a built builder or with NULL handles, and a DSL app on two
 * stream threads of the embedded broker. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "common/clock.h"
#include "dsl/dsl_internal.h"
#include "rivulet/rivulet.h"
#include "state/skiplist.h"

/* ---- Helpers ---- */

static rv_topology_t *build(rv_streams_builder_t *b) {
    char errstr[1024];
    rv_topology_t *t = NULL;
    if (rv_streams_builder_build(&t, b, errstr, sizeof errstr))
        fail_msg("rv_streams_builder_build: %s", errstr);
    return t;
}

static rv_test_driver_t *driver_with(rv_topology_t *t, const char *cache_bytes) {
    char errstr[1024];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "dsl-review", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    if (cache_bytes)
        assert_int_equal(
            rv_conf_set(c, "cache.max.bytes.buffering", cache_bytes, errstr, sizeof errstr), 0);
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, errstr, sizeof errstr);
    if (!d)
        fail_msg("rv_test_driver_new: %s", errstr);
    return d;
}

static rv_test_driver_t *driver(rv_topology_t *t) {
    return driver_with(t, "0");
}

static rv_err_t pipe_raw(rv_test_driver_t *d, const char *topic, const void *key, int32_t kl,
                         const void *value, int32_t vl, int64_t ts) {
    return rv_test_driver_pipe_input(d, topic, key, kl, value, vl, ts, NULL, 0);
}

static void pipe_in(rv_test_driver_t *d, const char *topic, const char *key, const char *value,
                    int64_t ts) {
    rv_err_t err = pipe_raw(d, topic, key, key ? (int32_t)strlen(key) : -1, value,
                            value ? (int32_t)strlen(value) : -1, ts);
    if (err)
        fail_msg("pipe_input: %s", rv_test_driver_last_error(d));
}

/* Every unread output record of topic as "key:value@ts", space-separated
 * (string keys and values). */
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

static int even(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    return atoi(v) % 2 == 0;
}

static rv_err_t identity_values(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                                void *opaque) {
    (void)k, (void)kl, (void)opaque;
    return rv_out_value(out, v, vl);
}

static rv_err_t concat_joiner(rv_out_t *out, const void *k, int32_t kl, const void *l, int32_t ll,
                              const void *r, int32_t rl, void *opaque) {
    (void)k, (void)kl, (void)ll, (void)rl, (void)opaque;
    char buf[256];
    snprintf(buf, sizeof buf, "%s+%s", l ? (const char *)l : "null", r ? (const char *)r : "null");
    return rv_out_value(out, buf, -1);
}

/* ---- KTable tombstones when no one asks for old values ---- */

/* KTableFilterTest (shouldNotSendOldValuesWithoutMaterialization and
 * shouldSendOldValuesWhenEnabledOnUpStreamMaterialization): a filter sends
 * old values only when an operator downstream asks it to
 * (enableSendingOldValues); a materialized parent alone does not make it.
 * So a rejected update of a materialized table still becomes a tombstone
 * downstream, and the parent's Changes carry no old value. */
static void test_filter_of_materialized_table_sends_tombstones(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "src";
    rv_ktable_t *t1 = rv_streams_builder_table(b, "in", &c, &m);
    rv_ktable_t *t2 = rv_ktable_filter(t1, even, NULL, NULL, NULL);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t2, NULL), "out", NULL), 0);
    assert_false(t1->flags->send_old_values);
    assert_false(t2->flags->send_old_values);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "in", "A", "1", 5);
    pipe_in(d, "in", "B", "2", 6);
    pipe_in(d, "in", "B", "3", 7);
    assert_string_equal(outputs(d, "out"), "A:null@5 B:2@6 B:null@7");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* shouldSendOldValuesWhenEnabledOnUpStreamMaterialization: asked for old
 * values without forcing a store (enableSendingOldValues(false)), a filter
 * of a materialized table gets them from its parent, and then sends no
 * tombstones for rows that never passed. A filter of a table without a
 * store is refused. */
static void test_filter_old_values_if_materialized(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "store2";
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, &m);
    rv_ktable_t *t2 = rv_ktable_filter(t1, even, NULL, NULL, NULL);
    rv_ktable_t *u1 = rv_streams_builder_table(b, "topic2", &c, NULL);
    rv_ktable_t *u2 = rv_ktable_filter(u1, even, NULL, NULL, NULL);
    assert_true(rv__ktable_enable_send_old_values_if_materialized(t2));
    assert_true(t1->flags->send_old_values);
    assert_true(t2->flags->send_old_values);
    assert_false(rv__ktable_enable_send_old_values_if_materialized(u2));
    assert_false(u1->flags->send_old_values);
    assert_false(u2->flags->send_old_values);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t2, NULL), "out", NULL), 0);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "1", 5);
    pipe_in(d, "topic1", "B", "1", 10);
    pipe_in(d, "topic1", "C", "1", 15);
    assert_string_equal(outputs(d, "out"), "");
    pipe_in(d, "topic1", "A", "2", 15);
    pipe_in(d, "topic1", "B", "2", 8);
    pipe_in(d, "topic1", "A", "3", 20);
    pipe_in(d, "topic1", "A", NULL, 10);
    pipe_in(d, "topic1", "B", NULL, 20);
    assert_string_equal(outputs(d, "out"), "A:2@15 B:2@8 A:null@20 B:null@20");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static rv_err_t same_pair(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque);

static int accept(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    return !strcmp(v, "accept");
}

static rv_err_t str_reduce(rv_out_t *out, const void *agg, int32_t al, const void *v, int32_t vl,
                           void *opaque) {
    (void)al, (void)vl, (void)opaque;
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", (const char *)agg, (const char *)v);
    return rv_out_value(out, buf, -1);
}

/* shouldSkipNullToRepartitionWithoutMaterialization / OnMaterialization:
 * a group_by below the filter asks for old values, so rejected rows that
 * were never there send nothing (read from the filter's own store when it
 * has one). */
static void run_skip_null_to_repartition(bool materialized_filter) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "store2";
    rv_ktable_t *t1 = rv_streams_builder_table(b, "topic1", &c, NULL);
    rv_ktable_t *t2 = rv_ktable_filter(t1, accept, NULL, NULL, materialized_filter ? &m : NULL);
    rv_kstream_to(rv_ktable_to_stream(t2, NULL), "out", NULL);
    assert_non_null(rv_kgrouped_table_reduce(rv_ktable_group_by(t2, same_pair, NULL, NULL),
                                             str_reduce, str_reduce, NULL, NULL, NULL));
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "topic1", "A", "reject", 5);
    pipe_in(d, "topic1", "B", "reject", 10);
    pipe_in(d, "topic1", "C", "reject", 20);
    assert_string_equal(outputs(d, "out"), "");
    pipe_in(d, "topic1", "A", "accept", 30);
    pipe_in(d, "topic1", "A", "reject", 40);
    assert_string_equal(outputs(d, "out"), "A:accept@30 A:null@40");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_filter_skip_null_to_repartition(void **state) {
    (void)state;
    run_skip_null_to_repartition(false);
    run_skip_null_to_repartition(true);
}

/* The same for KStream.toTable(Materialized.as(...)).filter(...). */
static void test_filter_of_to_table_sends_tombstones(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "latest";
    rv_ktable_t *t = rv_kstream_to_table(rv_streams_builder_stream(b, topics, 1, &c), NULL, &m);
    rv_kstream_to(rv_ktable_to_stream(rv_ktable_filter(t, even, NULL, NULL, NULL), NULL), "out",
                  NULL);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "in", "A", "2", 1);
    pipe_in(d, "in", "A", "3", 2);
    pipe_in(d, "in", "B", "5", 3);
    assert_string_equal(outputs(d, "out"), "A:2@1 A:null@2 B:null@3");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* KTableMapValues has no "both null: skip" rule (only KTableFilter has):
 * with old values on (a group_by below), the delete of a key that was
 * never there still reaches to_stream as a tombstone. */
static rv_err_t same_pair(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, k, kl);
    return err ? err : rv_out_value(out, v, vl);
}

static void test_map_values_forwards_null_change_with_old_values(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    /* Without a cache the source forwards the delete of a key it never
     * had (a cache would drop it, as Kafka's does). */
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "src";
    m.caching_disabled = 1;
    rv_ktable_t *t1 = rv_streams_builder_table(b, "in", &c, &m);
    rv_ktable_t *t2 = rv_ktable_map_values(t1, identity_values, NULL, NULL, NULL);
    rv_kstream_to(rv_ktable_to_stream(t2, NULL), "out", NULL);
    rv_kgrouped_table_t *g = rv_ktable_group_by(t2, same_pair, NULL, NULL);
    assert_non_null(rv_kgrouped_table_count(g, NULL, NULL));
    assert_true(t2->flags->send_old_values);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "in", "X", NULL, 5);
    pipe_in(d, "in", "A", "1", 6);
    assert_string_equal(outputs(d, "out"), "X:null@5 A:1@6");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

/* ---- A cached table written and deleted within one commit ---- */

static rv_err_t put_then_delete(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                                void *opaque) {
    (void)k, (void)kl, (void)opaque;
    rv_err_t err = rv_out_value(out, v, vl);
    return err ? err : rv_out_value(out, NULL, -1);
}

/* Kafka's CachingKeyValueStore skips a dirty delete whose key the
 * underlying store never had: when one input record writes a new key and
 * deletes it again before the commit, nothing is forwarded. A key the
 * store had is deleted downstream as usual. */
static void test_cached_put_delete_emits_nothing(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "cached";
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *t =
        rv_kstream_to_table(rv_kstream_flat_map_values(s, put_then_delete, NULL, NULL), NULL, &m);
    rv_kstream_to(rv_ktable_to_stream(t, NULL), "out", NULL);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver_with(topo, NULL); /* caching on */
    pipe_in(d, "in", "A", "1", 5);
    assert_string_equal(outputs(d, "out"), "");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- Stream-table join null rules (KStreamKTableJoinProcessor) ---- */

static rv_err_t value_or_null_key(rv_out_t *out, const void *k, int32_t kl, const void *v,
                                  int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)opaque;
    /* "none" maps to a null table key. Kafka calls the selector before it
     * drops a null value, so it sees those too. */
    if (!v || !strcmp(v, "none"))
        return rv_out_key(out, NULL, -1);
    return rv_out_key(out, v, vl);
}

/* Null values are dropped by every join; a null key is dropped by inner
 * joins and joined with null by left joins (KIP-962); a key selector's null
 * result drops the record unless the record's own key is null in a left
 * join. */
static void test_stream_join_null_rules(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *t = rv_streams_builder_table(b, "tab", &c, NULL);
    rv_global_ktable_t *g = rv_streams_builder_global_table(b, "glob", &c, NULL);
    rv_kstream_to(rv_kstream_join_table(s, t, concat_joiner, NULL, NULL), "inner", NULL);
    rv_kstream_to(rv_kstream_left_join_table(s, t, concat_joiner, NULL, NULL), "left", NULL);
    rv_kstream_to(rv_kstream_join_global(s, g, value_or_null_key, NULL, concat_joiner, NULL, NULL),
                  "g-inner", NULL);
    rv_kstream_to(
        rv_kstream_left_join_global(s, g, value_or_null_key, NULL, concat_joiner, NULL, NULL),
        "g-left", NULL);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "tab", "k", "T", 1);
    pipe_in(d, "glob", "k", "G", 1);
    pipe_in(d, "in", "k", "k", 2);     /* joins everywhere */
    pipe_in(d, "in", "k", NULL, 3);    /* null value: dropped */
    pipe_in(d, "in", NULL, "k", 4);    /* null key */
    pipe_in(d, "in", "x", "none", 5);  /* no table row; null global key */
    pipe_in(d, "in", NULL, "none", 6); /* null key and null global key */
    assert_string_equal(outputs(d, "inner"), "k:k+T@2");
    assert_string_equal(outputs(d, "left"), "k:k+T@2 null:k+null@4 x:none+null@5 null:none+null@6");
    assert_string_equal(outputs(d, "g-inner"), "k:k+G@2 null:k+G@4");
    assert_string_equal(outputs(d, "g-left"), "k:k+G@2 null:k+G@4 null:none+null@6");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- Table store: deletes the cache never forwards ---- */

/* A processor writing one fresh key and deleting it again per record,
 * through rv__table_store_* on a cached store, and noting how many delete
 * timestamps the table store keeps afterwards. */
typedef struct churn_s {
    rv__table_store_t ts;
    size_t *pending_seen;
} churn_t;

static size_t g_pending_max;

static rv_err_t churn_init(rv_processor_context_t *ctx, void *state) {
    churn_t *c = state;
    return rv__table_store_init(&c->ts, ctx, "churn", rv_serde_string(), rv_serde_string(), false);
}

static rv_err_t churn_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                              void *state) {
    (void)ctx;
    churn_t *c = state;
    rv_err_t err = rv__table_store_put(&c->ts, r->key, r->key_len, r->value, r->value_len,
                                       r->timestamp, NULL, -1);
    if (!err)
        err = rv__table_store_put(&c->ts, r->key, r->key_len, NULL, -1, r->timestamp, r->value,
                                  r->value_len);
    size_t n = ((rv__skl_t *)c->ts.pending_deletes)->count;
    if (n > g_pending_max)
        g_pending_max = n;
    return err;
}

static void churn_close(void *state) {
    churn_t *c = state;
    rv__table_store_close(&c->ts);
    free(c);
}

static rv_err_t churn_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    churn_t *c = calloc(1, sizeof *c);
    if (!c)
        return RV_ERR__NOMEM;
    out->init = churn_init;
    out->process = churn_process;
    out->close = churn_close;
    out->state = c;
    return 0;
}

/* A cached delete of a key the store never had is dropped by the cache
 * (no listener call), so the table store must not keep its timestamp
 * forever: with many short-lived keys that would grow without bound. */
static void test_cached_deletes_leave_nothing_behind(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_store_builder_t *sb = rv_store_builder_persistent_kv("churn");
    rv_store_builder_with_caching_enabled(sb);
    rv_store_builder_with_logging_disabled(sb);
    assert_int_equal(rv_streams_builder_add_state_store(b, sb), 0);
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = churn_get;
    const char *stores[] = {"churn"};
    assert_non_null(rv_kstream_process(s, &sup, stores, 1, NULL));
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver_with(topo, NULL); /* caching on */
    g_pending_max = 0;
    for (int i = 0; i < 50; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        pipe_in(d, "in", key, "v", i);
    }
    /* Each record's own delete may wait for the commit; none may stay. */
    assert_true(g_pending_max <= 1);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- Lifetimes: the topology outlives the builder ---- */

static rv_err_t upper_key(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)kl, (void)opaque;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", (const char *)k);
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    rv_err_t err = rv_out_key(out, buf, -1);
    return err ? err : rv_out_value(out, v, vl);
}

static rv_err_t value_as_key(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                             void *opaque) {
    (void)k, (void)kl, (void)opaque;
    return rv_out_key(out, v, vl);
}

static rv_err_t value_as_pair(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                              void *opaque) {
    (void)k, (void)kl, (void)opaque;
    rv_err_t err = rv_out_key(out, v, vl);
    return err ? err : rv_out_value(out, k, kl);
}

/* Every kind of node (stateless, split, stream-table, table-table and
 * global joins, both aggregations) built, the builder destroyed, then
 * run: nothing the processors read may live in the builder. */
static void test_topology_outlives_builder(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *t1 = rv_streams_builder_table(b, "t1", &c, NULL);
    rv_ktable_t *t2 = rv_streams_builder_table(b, "t2", &c, NULL);
    rv_global_ktable_t *gt = rv_streams_builder_global_table(b, "g", &c, NULL);
    rv_ktable_t *tt = rv_ktable_outer_join(rv_ktable_filter(t1, even, NULL, NULL, NULL), t2,
                                           concat_joiner, NULL, NULL, NULL);
    rv_kstream_to(rv_ktable_to_stream(tt, NULL), "tt-out", NULL);
    rv_kstream_t *mapped = rv_kstream_map(s, upper_key, NULL, NULL);
    rv_kstream_to(rv_kstream_left_join_table(mapped, t2, concat_joiner, NULL, NULL), "st-out",
                  NULL);
    rv_kstream_to(rv_kstream_join_global(s, gt, value_as_key, NULL, concat_joiner, NULL, NULL),
                  "g-out", NULL);
    rv_branched_kstream_t *br = rv_kstream_split(s, "split-");
    rv_branched_kstream_branch(br, even, NULL, "even");
    rv_branched_kstream_default_branch(br, "odd");
    rv_kstream_to(rv_branched_kstream_get(br, "split-even"), "even-out", NULL);
    rv_ktable_t *cnt =
        rv_kgrouped_stream_count(rv_kstream_group_by(s, value_as_key, NULL, NULL), NULL, NULL);
    rv_kstream_to(rv_ktable_to_stream(cnt, NULL), "count-out", NULL);
    rv_ktable_t *tc =
        rv_kgrouped_table_count(rv_ktable_group_by(t2, value_as_pair, NULL, NULL), NULL, NULL);
    assert_non_null(tc);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);

    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "t1", "a", "2", 1);
    pipe_in(d, "t2", "a", "x", 2);
    pipe_in(d, "t2", "A", "y", 3);
    pipe_in(d, "g", "4", "gv", 4);
    pipe_in(d, "in", "a", "4", 5);
    pipe_in(d, "t2", "a", NULL, 6);
    assert_string_equal(outputs(d, "tt-out"), "a:2+null@1 a:2+x@2 A:null+y@3 a:2+null@6");
    assert_string_equal(outputs(d, "st-out"), "A:4+y@5");
    assert_string_equal(outputs(d, "g-out"), "a:4+gv@5");
    assert_string_equal(outputs(d, "even-out"), "a:4@5");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- rv_out_t ---- */

static rv_err_t twice(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                      void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    rv_err_t err = rv_out_value(out, "first-value-that-is-longer", -1);
    if (!err)
        err = rv_out_value(out, v, -1); /* strlen */
    /* A key in map_values and a pair outside flat_map are refused. */
    if (!err && rv_out_key(out, "k", 1) != RV_ERR__STATE)
        return RV_ERR__FAIL;
    if (!err && rv_out_pair(out, "k", 1, "v", 1) != RV_ERR__STATE)
        return RV_ERR__FAIL;
    /* Data with a positive length but no bytes is an error. */
    if (!err && rv_out_value(NULL, "x", 1) != RV_ERR__INVALID_ARG)
        return RV_ERR__FAIL;
    return err;
}

static rv_err_t many_values(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            void *opaque) {
    (void)k, (void)kl, (void)v, (void)vl, (void)opaque;
    /* Enough values to move the arena several times. */
    for (int i = 0; i < 2000; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "v%04d", i);
        rv_err_t err = rv_out_value(out, buf, -1);
        if (err)
            return err;
    }
    return 0;
}

static size_t g_big_len;

static rv_err_t big_value(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                          void *opaque) {
    (void)k, (void)kl, (void)v, (void)vl, (void)opaque;
    char *p = malloc(g_big_len);
    if (!p)
        return RV_ERR__NOMEM;
    memset(p, 'z', g_big_len);
    rv_err_t err = rv_out_value(out, p, (int32_t)g_big_len);
    free(p);
    return err;
}

static void test_out_misuse(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_kstream_to(rv_kstream_map_values(s, twice, NULL, NULL), "twice", NULL);
    rv_kstream_to(rv_kstream_flat_map_values(s, many_values, NULL, NULL), "many", NULL);
    rv_kstream_to(rv_kstream_map_values(s, big_value, NULL, NULL), "big", NULL);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    g_big_len = 8u << 20;
    pipe_in(d, "in", "k", "second", 1);
    assert_string_equal(outputs(d, "twice"), "k:second@1");
    int n = 0;
    rv_test_record_t *r;
    while (!rv_test_driver_read_output(&r, d, "many")) {
        int32_t vl;
        const char *v = rv_test_record_value(r, &vl);
        char want[32];
        snprintf(want, sizeof want, "v%04d", n);
        assert_int_equal(vl, (int32_t)strlen(want));
        assert_memory_equal(v, want, (size_t)vl);
        rv_test_record_destroy(r);
        n++;
    }
    assert_int_equal(n, 2000);
    assert_int_equal(rv_test_driver_read_output(&r, d, "big"), 0);
    int32_t vl;
    const char *v = rv_test_record_value(r, &vl);
    assert_int_equal(vl, (int32_t)g_big_len);
    assert_true(v[0] == 'z' && v[vl - 1] == 'z');
    rv_test_record_destroy(r);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* rv_out_* on a NULL out, and a huge length with data, fail cleanly. */
static void test_out_null(void **state) {
    (void)state;
    assert_int_equal(rv_out_value(NULL, "x", 1), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_out_key(NULL, "x", 1), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_out_pair(NULL, "x", 1, "y", 1), RV_ERR__INVALID_ARG);
    rv_out_t out;
    memset(&out, 0, sizeof out);
    rv__out_reset(&out, RV__OUT_VALUE);
    assert_int_equal(rv_out_value(&out, NULL, 5), RV_ERR__INVALID_ARG);
    /* Only -1 means strlen: another negative length is refused, and the
     * value stays what it was. */
    assert_int_equal(rv_out_value(&out, "abc", -1), 0);
    assert_int_equal(rv_out_value(&out, "xyz", -2), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_out_value(&out, NULL, -7), RV_ERR__INVALID_ARG);
    assert_int_equal(out.items[0].value_len, 3);
    assert_memory_equal(out.items[0].value, "abc", 4);
    assert_int_equal(rv_out_value(&out, NULL, -1), 0);
    assert_null(out.items[0].value);
    assert_int_equal(rv_out_value(&out, "", 0), 0);
    assert_non_null(out.items[0].value);
    assert_int_equal(out.items[0].value_len, 0);
    rv__out_free(&out);
}

/* ---- Failing user functions and serdes ---- */

static rv_err_t failing_mapper(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                               void *opaque) {
    (void)out, (void)k, (void)kl, (void)opaque;
    if (vl == 3 && !memcmp(v, "bad", 3))
        return RV_ERR__FAIL;
    return rv_out_value(out, v, vl);
}

static int failing_predicate(const void *k, int32_t kl, const void *v, int32_t vl, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    return !strcmp(v, "bad") ? RV_ERR__FAIL : 1;
}

static rv_err_t empty_init(rv_out_t *out, void *opaque) {
    (void)opaque;
    return rv_out_value(out, "", 0);
}

static rv_err_t failing_agg(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            const void *a, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)vl, (void)a, (void)al, (void)opaque;
    if (!strcmp(v, "bad"))
        return RV_ERR__FAIL;
    return rv_out_value(out, v, -1);
}

/* Each user function that fails fails the task, with the processor's name
 * in the message, and the driver refuses more input. */
static void run_failing(int which, const char *node) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *t = rv_streams_builder_table(b, "tab", &c, NULL);
    switch (which) {
    case 0:
        rv_kstream_to(rv_kstream_map_values(s, failing_mapper, NULL, NULL), "out", NULL);
        break;
    case 1:
        rv_kstream_to(rv_kstream_filter(s, failing_predicate, NULL, NULL), "out", NULL);
        break;
    case 2:
        rv_kstream_to(rv_ktable_to_stream(
                          rv_kgrouped_stream_aggregate(rv_kstream_group_by_key(s, NULL), empty_init,
                                                       NULL, failing_agg, NULL, NULL, NULL),
                          NULL),
                      "out", NULL);
        break;
    case 3:
        rv_kstream_to(
            rv_kstream_join_table(s, rv_ktable_filter(t, failing_predicate, NULL, NULL, NULL),
                                  concat_joiner, NULL, NULL),
            "out", NULL);
        break;
    }
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    if (which == 3)
        pipe_in(d, "tab", "k", "bad", 1);
    pipe_in(d, "in", "k", "good", 2);
    assert_int_not_equal(pipe_raw(d, "in", "k", 1, "bad", 3, 3), 0);
    const char *msg = rv_test_driver_last_error(d);
    rvt_assert_contains(msg, node);
    assert_int_not_equal(pipe_raw(d, "in", "k", 1, "good", 4, 4), 0);
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

static void test_failing_mapper(void **state) {
    (void)state;
    run_failing(0, "KSTREAM-MAPVALUES-0000000004");
}

static void test_failing_predicate(void **state) {
    (void)state;
    run_failing(1, "KSTREAM-FILTER-0000000004");
}

static void test_failing_aggregator(void **state) {
    (void)state;
    run_failing(2, "KSTREAM-AGGREGATE-0000000005");
}

static void test_failing_getter_predicate(void **state) {
    (void)state;
    /* The stream record's "good" joins against the filtered row "bad": the
     * predicate fails inside the join's lookup. */
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *t = rv_streams_builder_table(b, "tab", &c, NULL);
    rv_kstream_to(rv_kstream_join_table(s, rv_ktable_filter(t, failing_predicate, NULL, NULL, NULL),
                                        concat_joiner, NULL, NULL),
                  "out", NULL);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    pipe_in(d, "tab", "k", "fine", 1);
    pipe_in(d, "in", "k", "x", 2);
    assert_string_equal(outputs(d, "out"), "k:x+fine@2");
    assert_int_not_equal(pipe_raw(d, "tab", "k", 1, "bad", 3, 3), 0);
    rvt_assert_contains(rv_test_driver_last_error(d), "KTABLE-FILTER-");
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* A value serde whose serializer fails for "bad" and whose deserializer
 * fails for stored bytes "BAD". */
static rv_err_t picky_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                          int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    if (!data) {
        *out = NULL;
        *out_len = -1;
        return 0;
    }
    if (data_len == 3 && !memcmp(data, "bad", 3)) {
        snprintf(errstr, errstr_size, "picky serde refuses bad");
        return RV_ERR__SERIALIZATION;
    }
    char *p = malloc((size_t)data_len + 1);
    if (!p)
        return RV_ERR__NOMEM;
    memcpy(p, data, (size_t)data_len);
    *out = p;
    *out_len = data_len;
    return 0;
}

static rv_err_t picky_de(void **out, int32_t *out_len, const char *topic, const void *bytes,
                         int32_t len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)opaque;
    if (!bytes) {
        *out = NULL;
        if (out_len)
            *out_len = -1;
        return 0;
    }
    if (len == 3 && !memcmp(bytes, "BAD", 3)) {
        snprintf(errstr, errstr_size, "picky serde cannot read BAD");
        return RV_ERR__DESERIALIZATION;
    }
    char *p = malloc((size_t)len + 1);
    if (!p)
        return RV_ERR__NOMEM;
    memcpy(p, bytes, (size_t)len);
    p[len] = '\0';
    *out = p;
    if (out_len)
        *out_len = len;
    return 0;
}

/* A table whose store value serde fails: writing "bad" and reading a row
 * stored as "BAD" (or shorter than its timestamp) fail the task cleanly. */
static void test_store_serde_failures(void **state) {
    (void)state;
    rv_serde_t *picky = rv_serde_new("picky", picky_ser, picky_de, NULL, NULL);
    assert_non_null(picky);
    for (int round = 0; round < 3; round++) {
        rv_streams_builder_t *b = rv_streams_builder_new();
        rv_consumed_t c = strings();
        c.value_serde = picky;
        const char *topics[] = {"in"};
        rv_materialized_t m = RV_MATERIALIZED_INIT;
        m.store_name = "rows";
        m.caching_disabled = 1;
        rv_ktable_t *t = rv_streams_builder_table(b, "tab", &c, &m);
        rv_consumed_t sc = strings();
        rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &sc);
        rv_kstream_to(rv_kstream_left_join_table(s, t, concat_joiner, NULL, NULL), "out", NULL);
        rv_topology_t *topo = build(b);
        rv_streams_builder_destroy(b);
        rv_test_driver_t *d = driver(topo);
        pipe_in(d, "tab", "k", "ok", 1);
        pipe_in(d, "in", "k", "x", 2);
        assert_string_equal(outputs(d, "out"), "k:x+ok@2");
        if (round == 0) {
            /* The source deserializes "bad" fine but the store cannot
             * serialize it. */
            assert_int_not_equal(pipe_raw(d, "tab", "k", 1, "bad", 3, 3), 0);
            rvt_assert_contains(rv_test_driver_last_error(d), "KTABLE-SOURCE-");
        } else {
            rv_kv_store_t *st = rv_test_driver_get_kv_store(d, "rows");
            assert_non_null(st);
            if (round == 1) {
                uint8_t row[11];
                rv_serde_int64_write(row, 1);
                memcpy(row + 8, "BAD", 3);
                assert_int_equal(rv_kv_store_put(st, "k", 1, row, sizeof row), 0);
            } else {
                assert_int_equal(rv_kv_store_put(st, "k", 1, "abc", 3), 0);
            }
            assert_int_not_equal(pipe_raw(d, "in", "k", 1, "y", 1, 4), 0);
            rvt_assert_contains(rv_test_driver_last_error(d), "KSTREAM-LEFTJOIN-");
        }
        rv_test_driver_destroy(d);
        rv_topology_destroy(topo);
    }
    rv_serde_destroy(picky);
}

/* ---- Keys with NUL bytes ---- */

static void test_nul_keys(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_bytes();
    c.value_serde = rv_serde_string();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *cnt = rv_kgrouped_stream_count(rv_kstream_group_by_key(s, NULL), NULL, NULL);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.key_serde = rv_serde_bytes();
    rv_kstream_to(rv_ktable_to_stream(cnt, NULL), "counts", &p);
    /* A table with NUL keys joined by a stream with NUL keys. */
    rv_ktable_t *t = rv_streams_builder_table(b, "tab", &c, NULL);
    rv_kstream_to(rv_kstream_join_table(s, t, concat_joiner, NULL, NULL), "joined", &p);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_test_driver_t *d = driver(topo);
    assert_int_equal(pipe_raw(d, "tab", "a\0b", 3, "B", 1, 1), 0);
    assert_int_equal(pipe_raw(d, "tab", "a\0c", 3, "C", 1, 1), 0);
    assert_int_equal(pipe_raw(d, "in", "a\0b", 3, "1", 1, 2), 0);
    assert_int_equal(pipe_raw(d, "in", "a\0c", 3, "2", 1, 3), 0);
    assert_int_equal(pipe_raw(d, "in", "a\0b", 3, "3", 1, 4), 0);
    const char *want_keys[] = {"a\0b", "a\0c", "a\0b"};
    const int64_t want_counts[] = {1, 1, 2};
    for (int i = 0; i < 3; i++) {
        rv_test_record_t *r;
        assert_int_equal(rv_test_driver_read_output(&r, d, "counts"), 0);
        int32_t kl, vl;
        const void *k = rv_test_record_key(r, &kl);
        const void *v = rv_test_record_value(r, &vl);
        assert_int_equal(kl, 3);
        assert_memory_equal(k, want_keys[i], 3);
        int64_t n;
        assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
        assert_int_equal(n, want_counts[i]);
        rv_test_record_destroy(r);
    }
    const char *want_join[] = {"1+B", "2+C", "3+B"};
    for (int i = 0; i < 3; i++) {
        rv_test_record_t *r;
        assert_int_equal(rv_test_driver_read_output(&r, d, "joined"), 0);
        int32_t kl, vl;
        const void *k = rv_test_record_key(r, &kl);
        const void *v = rv_test_record_value(r, &vl);
        assert_int_equal(kl, 3);
        assert_memory_equal(k, want_keys[i], 3);
        assert_int_equal(vl, 3);
        assert_memory_equal(v, want_join[i], 3);
        rv_test_record_destroy(r);
    }
    rv_test_driver_destroy(d);
    rv_topology_destroy(topo);
}

/* ---- The builder's states: NULL handles, after build, double build ---- */

static void test_null_handles(void **state) {
    (void)state;
    /* Every operator given NULL returns NULL / an error without crashing. */
    assert_null(rv_streams_builder_stream(NULL, NULL, 0, NULL));
    assert_null(rv_streams_builder_table(NULL, "t", NULL, NULL));
    assert_null(rv_streams_builder_global_table(NULL, "t", NULL, NULL));
    assert_null(rv_kstream_filter(NULL, even, NULL, NULL));
    assert_null(rv_kstream_map(NULL, same_pair, NULL, NULL));
    assert_null(rv_kstream_merge(NULL, NULL, NULL));
    assert_null(rv_kstream_split(NULL, NULL));
    assert_null(rv_branched_kstream_branch(NULL, even, NULL, NULL));
    assert_null(rv_branched_kstream_default_branch(NULL, NULL));
    assert_null(rv_branched_kstream_get(NULL, "x"));
    assert_null(rv_kstream_repartition(NULL, NULL));
    assert_int_not_equal(rv_kstream_to(NULL, "t", NULL), 0);
    assert_int_not_equal(rv_kstream_foreach(NULL, NULL, NULL, NULL), 0);
    assert_null(rv_kstream_to_table(NULL, NULL, NULL));
    assert_null(rv_kstream_group_by_key(NULL, NULL));
    assert_null(rv_kstream_group_by(NULL, value_as_key, NULL, NULL));
    assert_null(rv_kstream_process(NULL, NULL, NULL, 0, NULL));
    assert_null(rv_kstream_join_table(NULL, NULL, concat_joiner, NULL, NULL));
    assert_null(
        rv_kstream_left_join_global(NULL, NULL, value_as_key, NULL, concat_joiner, NULL, NULL));
    assert_null(rv_ktable_filter(NULL, even, NULL, NULL, NULL));
    assert_null(rv_ktable_map_values(NULL, identity_values, NULL, NULL, NULL));
    assert_null(rv_ktable_to_stream(NULL, NULL));
    assert_null(rv_ktable_join(NULL, NULL, concat_joiner, NULL, NULL, NULL));
    assert_null(rv_ktable_group_by(NULL, same_pair, NULL, NULL));
    assert_null(rv_ktable_queryable_store_name(NULL));
    assert_null(rv_global_ktable_queryable_store_name(NULL));
    assert_null(rv_kgrouped_stream_count(NULL, NULL, NULL));
    assert_null(rv_kgrouped_table_count(NULL, NULL, NULL));
    rv_streams_builder_destroy(NULL);

    /* A NULL second handle records an error in the builder. */
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    assert_null(rv_kstream_join_table(s, NULL, concat_joiner, NULL, NULL));
    rv_topology_t *topo = NULL;
    char errstr[512];
    assert_int_not_equal(rv_streams_builder_build(&topo, b, errstr, sizeof errstr), 0);
    assert_null(topo);
    rv_streams_builder_destroy(b);
}

static void test_operators_after_build(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_ktable_t *t = rv_streams_builder_table(b, "tab", &c, NULL);
    rv_ktable_t *t2 = rv_streams_builder_table(b, "tab2", &c, NULL);
    rv_kgrouped_stream_t *g = rv_kstream_group_by_key(s, NULL);
    rv_kgrouped_table_t *gt = rv_ktable_group_by(t2, same_pair, NULL, NULL);
    rv_global_ktable_t *glob = rv_streams_builder_global_table(b, "g", &c, NULL);
    rv_kstream_to(s, "out", NULL);
    rv_topology_t *topo = build(b);

    /* Every operator now fails with RV_ERR__STATE and touches nothing. */
    assert_null(rv_streams_builder_table(b, "other", &c, NULL));
    const char *msg = NULL;
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__STATE);
    rvt_assert_contains(msg, "built");
    assert_null(rv_streams_builder_stream(b, topics, 1, &c));
    assert_null(rv_streams_builder_global_table(b, "other-g", &c, NULL));
    assert_null(rv_kstream_filter(s, even, NULL, NULL));
    assert_null(rv_kstream_repartition(s, NULL));
    assert_int_not_equal(rv_kstream_to(s, "out2", NULL), 0);
    assert_null(rv_kstream_to_table(s, NULL, NULL));
    assert_null(rv_ktable_filter(t, even, NULL, NULL, NULL));
    assert_null(rv_ktable_to_stream(t, NULL));
    assert_null(rv_ktable_join(t, t2, concat_joiner, NULL, NULL, NULL));
    assert_null(rv_kstream_join_table(s, t, concat_joiner, NULL, NULL));
    assert_null(rv_kstream_join_global(s, glob, value_as_key, NULL, concat_joiner, NULL, NULL));
    assert_null(rv_kgrouped_stream_count(g, NULL, NULL));
    assert_null(rv_kgrouped_table_count(gt, NULL, NULL));
    assert_null(rv_ktable_group_by(t, same_pair, NULL, NULL));
    rv_store_builder_t *sb = rv_store_builder_in_memory_kv("late-store");
    assert_int_not_equal(rv_streams_builder_add_state_store(b, sb), 0);
    rv_store_builder_destroy(sb);
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__STATE);
    rvt_assert_contains(msg, "built");

    /* A second build fails and leaves the first topology alone. */
    rv_topology_t *again = (rv_topology_t *)1;
    char errstr[512];
    assert_int_not_equal(rv_streams_builder_build(&again, b, errstr, sizeof errstr), 0);
    assert_null(again);
    rv_streams_builder_destroy(b);

    char *desc = rv_topology_describe(topo);
    assert_non_null(desc);
    assert_null(strstr(desc, "out2"));
    assert_null(strstr(desc, "other"));
    free(desc);
    rv_topology_destroy(topo);
}

/* ---- Two stream threads on the embedded broker ---- */

typedef struct fx_s {
    char *dir;
    rv_broker_t *broker;
    char bs[4200];
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

/* Counts the calls of the mapper per thread, to see both threads work. */
static atomic_int g_calls;

/* The stream threads that ran the mapper (up to 4). */
static pthread_t g_threads[4];
static int g_thread_cnt;
static pthread_mutex_t g_threads_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_thread(void) {
    pthread_t self = pthread_self();
    pthread_mutex_lock(&g_threads_lock);
    int seen = 0;
    for (int i = 0; i < g_thread_cnt; i++)
        if (pthread_equal(g_threads[i], self))
            seen = 1;
    if (!seen && g_thread_cnt < 4)
        g_threads[g_thread_cnt++] = self;
    pthread_mutex_unlock(&g_threads_lock);
}

/* A mapper that keeps results in the rv_out_t across several rv_out_value
 * calls and checks them: a shared rv_out_t would mix up two threads. */
static rv_err_t tagged(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                       void *opaque) {
    (void)kl, (void)vl, (void)opaque;
    atomic_fetch_add(&g_calls, 1);
    note_thread();
    char buf[128];
    for (int i = 0; i < 20; i++) {
        snprintf(buf, sizeof buf, "%s|%s|%d", (const char *)k, (const char *)v, i);
        rv_err_t err = rv_out_value(out, buf, -1);
        if (err)
            return err;
    }
    snprintf(buf, sizeof buf, "%s|%s", (const char *)k, (const char *)v);
    return rv_out_value(out, buf, -1);
}

static rv_err_t key_of_tag(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    /* "<key>|<value>": group by the key part again (a repartition). */
    const char *bar = strchr(v, '|');
    if (!bar)
        return RV_ERR__FAIL;
    return rv_out_key(out, v, (int32_t)(bar - (const char *)v));
}

static void test_two_threads(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "mt-in", 4);
    create_topic(fx, "mt-out", 1);
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = strings();
    const char *topics[] = {"mt-in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    rv_kstream_t *m = rv_kstream_map_values(s, tagged, NULL, NULL);
    rv_ktable_t *cnt =
        rv_kgrouped_stream_count(rv_kstream_group_by(m, key_of_tag, NULL, NULL), NULL, NULL);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_int64();
    rv_kstream_to(rv_ktable_to_stream(cnt, NULL), "mt-out", &p);
    rv_topology_t *topo = build(b);
    rv_streams_builder_destroy(b);

    /* Produce: 8 keys x 50 values, two keys per partition. */
    char errstr[512];
    rv_producer_t *prod = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(prod);
    enum { KEYS = 8, PER_KEY = 50 };
    for (int i = 0; i < PER_KEY; i++)
        for (int k = 0; k < KEYS; k++) {
            char key[16], val[16];
            snprintf(key, sizeof key, "key%d", k);
            snprintf(val, sizeof val, "v%d", i);
            rv_producer_record_t pr = RV_PRODUCER_RECORD_INIT;
            pr.topic = "mt-in";
            pr.partition = k % 4;
            pr.key = key;
            pr.key_len = (int32_t)strlen(key);
            pr.value = val;
            pr.value_len = (int32_t)strlen(val);
            pr.timestamp = 1000 + i;
            assert_int_equal(rv_producer_send(prod, &pr, NULL, NULL, errstr, sizeof errstr), 0);
        }
    assert_int_equal(rv_producer_flush(prod, 10000), 0);
    rv_producer_destroy(prod);

    rv_conf_t *ac = client_conf(fx);
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/state", fx->dir);
    assert_int_equal(rv_conf_set(ac, "application.id", "mt-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "state.dir", dir, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "num.stream.threads", "2", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "default.value.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "session.timeout.ms", "3000", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "heartbeat.interval.ms", "200", errstr, sizeof errstr), 0);
    rv_streams_t *app = rv_streams_new(topo, ac, errstr, sizeof errstr);
    if (!app)
        fail_msg("rv_streams_new: %s", errstr);
    if (rv_streams_start(app, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);

    /* Read mt-out until every key reached PER_KEY; the counts of a key
     * only grow. */
    rv_consumer_t *cons = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(cons);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "mt-out", 0), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(cons, l), 0);
    rv_topic_partition_list_destroy(l);
    int64_t last[KEYS] = {0};
    int64_t until = rv__mono_ms() + 20000;
    int done = 0;
    while (!done && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(cons, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const char *v = rv_record_value(r, &vl);
            assert_int_equal(kl, 4);
            int ki = k[3] - '0';
            assert_true(ki >= 0 && ki < KEYS);
            int64_t n = -1;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            assert_true(n > last[ki]);
            last[ki] = n;
        }
        rv_records_destroy(rs);
        done = 1;
        for (int i = 0; i < KEYS; i++)
            if (last[i] != PER_KEY)
                done = 0;
    }
    rv_consumer_destroy(cons);
    assert_true(done);
    assert_int_equal(atomic_load(&g_calls), KEYS * PER_KEY);
    /* Both stream threads ran the same operator, each with its tasks. */
    assert_int_equal(g_thread_cnt, 2);
    assert_int_equal(rv_streams_state(app), RV_STREAMS_RUNNING);
    assert_int_equal(rv_streams_close(app, 10000), 0);
    rv_streams_destroy(app);
    rv_topology_destroy(topo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_of_materialized_table_sends_tombstones),
        cmocka_unit_test(test_filter_old_values_if_materialized),
        cmocka_unit_test(test_filter_skip_null_to_repartition),
        cmocka_unit_test(test_filter_of_to_table_sends_tombstones),
        cmocka_unit_test(test_map_values_forwards_null_change_with_old_values),
        cmocka_unit_test(test_cached_put_delete_emits_nothing),
        cmocka_unit_test(test_stream_join_null_rules),
        cmocka_unit_test(test_cached_deletes_leave_nothing_behind),
        cmocka_unit_test(test_topology_outlives_builder),
        cmocka_unit_test(test_out_misuse),
        cmocka_unit_test(test_out_null),
        cmocka_unit_test(test_failing_mapper),
        cmocka_unit_test(test_failing_predicate),
        cmocka_unit_test(test_failing_aggregator),
        cmocka_unit_test(test_failing_getter_predicate),
        cmocka_unit_test(test_store_serde_failures),
        cmocka_unit_test(test_nul_keys),
        cmocka_unit_test(test_null_handles),
        cmocka_unit_test(test_operators_after_build),
        cmocka_unit_test_setup_teardown(test_two_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
