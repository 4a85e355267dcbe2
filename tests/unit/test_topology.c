/* tests/unit/test_topology.c: runtime/topology.c - building topologies,
 * every validation error with Kafka Streams' message, sub-topology
 * computation (numbering, store links, repartition splits, internal
 * topics), the runtime's view, and describe() strings compared whole with
 * the strings Kafka Streams' TopologyTest.java asserts (each test names the
 * Kafka test it reproduces through the Processor API, with the same node
 * names, edges and stores as the DSL builds there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/store.h"
#include "rivulet/topology.h"
#include "runtime/topology_internal.h"
#include "testutil.h"

/* ---- a processor supplier that counts what it made and freed ---- */

static int supplier_destroyed;

static rv_err_t noop_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                             void *state) {
    (void)ctx;
    (void)r;
    (void)state;
    return 0;
}

static void noop_close(void *state) {
    free(state);
}

static rv_err_t noop_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = noop_process;
    out->close = noop_close;
    out->state = malloc(8);
    return out->state ? 0 : RV_ERR__NOMEM;
}

static void opaque_destroy(void *opaque) {
    supplier_destroyed++;
    free(opaque);
}

static const rv_processor_supplier_t SUP = {RV_PROCESSOR_SUPPLIER_VERSION, noop_get, NULL, NULL};

/* ---- helpers that fail the test on error ---- */

static char errstr[512];

#define P(...) ((const char *const[]){__VA_ARGS__})
#define N(...) (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void src(rv_topology_t *t, const char *name, const char *topic) {
    const char *topics[] = {topic};
    assert_int_equal(rv_topology_add_source(t, name, topics, 1, NULL, errstr, sizeof errstr), 0);
}

#define PROC(t, name, ...)                                                                    \
    assert_int_equal(rv_topology_add_processor(t, name, &SUP, P(__VA_ARGS__), N(__VA_ARGS__), \
                                               errstr, sizeof errstr),                        \
                     0)
#define SINK(t, name, topic, ...)                                                               \
    assert_int_equal(rv_topology_add_sink(t, name, topic, NULL, P(__VA_ARGS__), N(__VA_ARGS__), \
                                          errstr, sizeof errstr),                               \
                     0)

static void store(rv_topology_t *t, const char *name, const char *const *procs, size_t cnt) {
    rv_store_builder_t *b = rv_store_builder_in_memory_kv(name);
    assert_non_null(b);
    assert_int_equal(rv_topology_add_state_store(t, b, procs, cnt, errstr, sizeof errstr), 0);
}

#define CONNECT(t, proc, ...)                                                             \
    assert_int_equal(rv_topology_connect_processor_and_state_stores(                      \
                         t, proc, P(__VA_ARGS__), N(__VA_ARGS__), errstr, sizeof errstr), \
                     0)

static void global_store(rv_topology_t *t, const char *store, const char *source, const char *topic,
                         const char *proc) {
    rv_store_builder_t *b = rv_store_builder_in_memory_kv(store);
    assert_non_null(b);
    rv_store_builder_with_logging_disabled(b);
    assert_int_equal(
        rv_topology_add_global_store(t, b, source, topic, NULL, proc, &SUP, errstr, sizeof errstr),
        0);
}

static void assert_describe(const rv_topology_t *t, const char *expected) {
    char *d = rv_topology_describe(t);
    assert_non_null(d);
    if (strcmp(d, expected) != 0)
        print_error("describe() gave:\n%s<end>\nexpected:\n%s<end>\n", d, expected);
    assert_string_equal(d, expected);
    free(d);
}

/* Asserts that the last call failed with exactly `msg`. */
static void assert_err(rv_err_t err, const char *msg) {
    assert_int_equal(err, RV_ERR__INVALID_ARG);
    assert_string_equal(errstr, msg);
}

/* ---- describe() ---- */

/* TopologyTest.shouldDescribeEmptyTopology: the header alone, with its
 * trailing space. */
static void test_describe_empty(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    assert_describe(t, "Topologies:\n ");
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology_count(t), 0);
    rv_topology_destroy(t);
}

/* The seed's filter topology (examples/topology_example.c). */
static void test_describe_filter(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "Source", "stream_log");
    PROC(t, "Process", "Source");
    SINK(t, "Sink", "stream_log_filter", "Process");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: Source (topics: [stream_log])\n"
                       "      --> Process\n"
                       "    Processor: Process (stores: [])\n"
                       "      --> Sink\n"
                       "      <-- Source\n"
                       "    Sink: Sink (topic: stream_log_filter)\n"
                       "      <-- Process\n\n");
    rv_topology_destroy(t);
}

/* The nodes of a windowed stream-stream join as the DSL adds them: two
 * sources, a WINDOWED processor each holding its side's store, the two join
 * processors each reading the other side's store(s), and the merge. */
static rv_topology_t *join_topology(const char *this_name, const char *other_name,
                                    const char *shared_store) {
    char this_store[64], other_store[64];
    snprintf(this_store, sizeof this_store, "%s-store", this_name);
    snprintf(other_store, sizeof other_store, "%s-store", other_name);
    rv_topology_t *t = rv_topology_new();
    src(t, "KSTREAM-SOURCE-0000000000", "input-topic1");
    src(t, "KSTREAM-SOURCE-0000000001", "input-topic2");
    PROC(t, "KSTREAM-WINDOWED-0000000002", "KSTREAM-SOURCE-0000000000");
    PROC(t, "KSTREAM-WINDOWED-0000000003", "KSTREAM-SOURCE-0000000001");
    PROC(t, this_name, "KSTREAM-WINDOWED-0000000002");
    PROC(t, other_name, "KSTREAM-WINDOWED-0000000003");
    PROC(t, "KSTREAM-MERGE-0000000006", this_name, other_name);
    store(t, this_store, P("KSTREAM-WINDOWED-0000000002", other_name), 2);
    store(t, other_store, P("KSTREAM-WINDOWED-0000000003", this_name), 2);
    if (shared_store) {
        store(t, shared_store, P(this_name), 1);
        CONNECT(t, other_name, shared_store);
    }
    return t;
}

/* TopologyTest.streamStreamJoinTopologyWithDefaultStoresNames: node order
 * by sub-tree size, and the merge's predecessors in the order Kafka's
 * TreeSet kept them while the sizes grew (JOINTHIS before JOINOTHER). */
static void test_describe_stream_stream_join(void **state) {
    (void)state;
    rv_topology_t *t =
        join_topology("KSTREAM-JOINTHIS-0000000004", "KSTREAM-JOINOTHER-0000000005", NULL);
    assert_describe(
        t,
        "Topologies:\n"
        "   Sub-topology: 0\n"
        "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
        "      --> KSTREAM-WINDOWED-0000000002\n"
        "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
        "      --> KSTREAM-WINDOWED-0000000003\n"
        "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])\n"
        "      --> KSTREAM-JOINTHIS-0000000004\n"
        "      <-- KSTREAM-SOURCE-0000000000\n"
        "    Processor: KSTREAM-WINDOWED-0000000003 (stores: "
        "[KSTREAM-JOINOTHER-0000000005-store])\n"
        "      --> KSTREAM-JOINOTHER-0000000005\n"
        "      <-- KSTREAM-SOURCE-0000000001\n"
        "    Processor: KSTREAM-JOINOTHER-0000000005 (stores: "
        "[KSTREAM-JOINTHIS-0000000004-store])\n"
        "      --> KSTREAM-MERGE-0000000006\n"
        "      <-- KSTREAM-WINDOWED-0000000003\n"
        "    Processor: KSTREAM-JOINTHIS-0000000004 (stores: "
        "[KSTREAM-JOINOTHER-0000000005-store])\n"
        "      --> KSTREAM-MERGE-0000000006\n"
        "      <-- KSTREAM-WINDOWED-0000000002\n"
        "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
        "      --> none\n"
        "      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-JOINOTHER-0000000005\n\n");
    /* Stores link the two branches into one sub-topology. */
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology_count(t), 1);
    const rv__subtopology_t *s = rv__topology_subtopology(t, 0);
    assert_int_equal(s->node_cnt, 7);
    assert_int_equal(s->source_topic_cnt, 2);
    assert_string_equal(s->source_topics[0], "input-topic1");
    assert_string_equal(s->source_topics[1], "input-topic2");
    assert_int_equal(s->store_cnt, 2);
    rv_topology_destroy(t);
}

/* TopologyTest.streamStreamOuterJoinTopologyWithDefaultStoresNames: two
 * stores per join processor, printed in java.util.HashSet order. */
static void test_describe_stream_stream_outer_join(void **state) {
    (void)state;
    rv_topology_t *t =
        join_topology("KSTREAM-OUTERTHIS-0000000004", "KSTREAM-OUTEROTHER-0000000005",
                      "KSTREAM-OUTERSHARED-0000000004-store");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
                       "      --> KSTREAM-WINDOWED-0000000002\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
                       "      --> KSTREAM-WINDOWED-0000000003\n"
                       "    Processor: KSTREAM-WINDOWED-0000000002 (stores: "
                       "[KSTREAM-OUTERTHIS-0000000004-store])\n"
                       "      --> KSTREAM-OUTERTHIS-0000000004\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Processor: KSTREAM-WINDOWED-0000000003 (stores: "
                       "[KSTREAM-OUTEROTHER-0000000005-store])\n"
                       "      --> KSTREAM-OUTEROTHER-0000000005\n"
                       "      <-- KSTREAM-SOURCE-0000000001\n"
                       "    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: "
                       "[KSTREAM-OUTERTHIS-0000000004-store, "
                       "KSTREAM-OUTERSHARED-0000000004-store])\n"
                       "      --> KSTREAM-MERGE-0000000006\n"
                       "      <-- KSTREAM-WINDOWED-0000000003\n"
                       "    Processor: KSTREAM-OUTERTHIS-0000000004 (stores: "
                       "[KSTREAM-OUTEROTHER-0000000005-store, "
                       "KSTREAM-OUTERSHARED-0000000004-store])\n"
                       "      --> KSTREAM-MERGE-0000000006\n"
                       "      <-- KSTREAM-WINDOWED-0000000002\n"
                       "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
                       "      --> none\n"
                       "      <-- KSTREAM-OUTERTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005\n\n");
    rv_topology_destroy(t);
}

/* TopologyTest.tableZeroArgCountShouldPreserveTopologyStructure: a
 * repartition topic (sink and source of one internal topic) splits two
 * sub-topologies. */
static void test_describe_repartition(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    const char *rep = "KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition";
    src(t, "KSTREAM-SOURCE-0000000001", "input-topic");
    PROC(t, "KTABLE-SOURCE-0000000002", "KSTREAM-SOURCE-0000000001");
    store(t, "input-topic-STATE-STORE-0000000000", P("KTABLE-SOURCE-0000000002"), 1);
    PROC(t, "KTABLE-SELECT-0000000003", "KTABLE-SOURCE-0000000002");
    rv_sink_opts_t so = RV_SINK_OPTS_INIT;
    so.internal = 1;
    assert_int_equal(rv_topology_add_sink(t, "KSTREAM-SINK-0000000005", rep, &so,
                                          P("KTABLE-SELECT-0000000003"), 1, errstr, sizeof errstr),
                     0);
    rv_source_opts_t ro = RV_SOURCE_OPTS_INIT;
    ro.internal = 1;
    assert_int_equal(
        rv_topology_add_source(t, "KSTREAM-SOURCE-0000000006", &rep, 1, &ro, errstr, sizeof errstr),
        0);
    PROC(t, "KTABLE-AGGREGATE-0000000007", "KSTREAM-SOURCE-0000000006");
    store(t, "KTABLE-AGGREGATE-STATE-STORE-0000000004", P("KTABLE-AGGREGATE-0000000007"), 1);
    assert_describe(
        t,
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
        "      <-- KSTREAM-SOURCE-0000000006\n\n");

    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology_count(t), 2);
    const rv__subtopology_t *s0 = rv__topology_subtopology(t, 0);
    const rv__subtopology_t *s1 = rv__topology_subtopology(t, 1);
    assert_int_equal(s0->node_cnt, 4);
    assert_int_equal(s0->sink_topic_cnt, 1);
    assert_string_equal(s0->sink_topics[0], rep);
    assert_int_equal(s1->source_topic_cnt, 1);
    assert_string_equal(s1->source_topics[0], rep);
    assert_int_equal(s0->store_cnt, 1);
    assert_string_equal(rv__topology_store(t, s0->stores[0])->name,
                        "input-topic-STATE-STORE-0000000000");
    /* Processing order: parents before children, children in add order. */
    const rv__tnode_t *n0 = rv__topology_node(t, s0->nodes[0]);
    assert_string_equal(n0->name, "KSTREAM-SOURCE-0000000001");
    assert_int_equal(n0->child_cnt, 1);
    assert_string_equal(rv__topology_node(t, n0->children[0])->name, "KTABLE-SOURCE-0000000002");
    assert_int_equal(rv__topology_node_find(t, "KTABLE-AGGREGATE-0000000007")->subtopology, 1);

    /* The internal topic gets the application.id prefix at run time. */
    const rv__tnode_t *rs = rv__topology_source_for_topic(t, rep);
    assert_non_null(rs);
    assert_string_equal(rs->name, "KSTREAM-SOURCE-0000000006");
    assert_true(rs->source.internal);
    char name[256];
    assert_int_equal(rv__topology_topic_name(name, sizeof name, "app", rep, rs->source.internal),
                     0);
    assert_string_equal(name, "app-KTABLE-AGGREGATE-STATE-STORE-0000000004-repartition");
    assert_int_equal(rv__topology_topic_name(name, sizeof name, "app", "input-topic", 0), 0);
    assert_string_equal(name, "input-topic");
    assert_int_equal(rv__topology_topic_name(name, 8, "app", rep, 1), RV_ERR__INVALID_ARG);
    rv_topology_destroy(t);
}

static const char *route(const rv_processor_record_t *r, void *opaque) {
    (void)r;
    (void)opaque;
    return "out";
}

/* TopologyTest.topologyWithDynamicRoutingShouldDescribeExtractorClass. */
static void test_describe_extractor_sink(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "KSTREAM-SOURCE-0000000000", "input-topic");
    assert_int_equal(rv_topology_add_sink_extractor(
                         t, "KSTREAM-SINK-0000000001", route, NULL,
                         "anonymous topic name extractor. topic is [recordContext.topic()]-[key]",
                         NULL, P("KSTREAM-SOURCE-0000000000"), 1, errstr, sizeof errstr),
                     0);
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                       "      --> KSTREAM-SINK-0000000001\n"
                       "    Sink: KSTREAM-SINK-0000000001 (extractor class: anonymous topic name "
                       "extractor. topic is [recordContext.topic()]-[key])\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n\n");
    const rv__tnode_t *s = rv__topology_node_find(t, "KSTREAM-SINK-0000000001");
    assert_ptr_equal(s->extractor, route);
    assert_null(s->topic);
    rv_topology_destroy(t);
}

/* TopologyTest.shouldDescribeMultipleGlobalStoreTopology (the expected
 * GlobalStore objects' toString()), then a regular sub-topology after
 * them: ids follow the earliest-added node, global ones included. */
static void test_describe_global_stores(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    global_store(t, "globalStore1", "source1", "globalTopic1", "processor1");
    global_store(t, "globalStore2", "source2", "globalTopic2", "processor2");
    src(t, "source3", "topic3");
    PROC(t, "processor3", "source3");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0 for global store (will not generate tasks)\n"
                       "    Source: source1 (topics: [globalTopic1])\n"
                       "      --> processor1\n"
                       "    Processor: processor1 (stores: [globalStore1])\n"
                       "      --> none\n"
                       "      <-- source1\n"
                       "  Sub-topology: 1 for global store (will not generate tasks)\n"
                       "    Source: source2 (topics: [globalTopic2])\n"
                       "      --> processor2\n"
                       "    Processor: processor2 (stores: [globalStore2])\n"
                       "      --> none\n"
                       "      <-- source2\n"
                       "  Sub-topology: 2\n"
                       "    Source: source3 (topics: [topic3])\n"
                       "      --> processor3\n"
                       "    Processor: processor3 (stores: [])\n"
                       "      --> none\n"
                       "      <-- source3\n\n");
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology_count(t), 3);
    assert_true(rv__topology_subtopology(t, 0)->global);
    assert_true(rv__topology_subtopology(t, 1)->global);
    assert_false(rv__topology_subtopology(t, 2)->global);
    const rv__tstore_t *gs = rv__topology_store_find(t, "globalStore2");
    assert_true(gs->global);
    assert_string_equal(rv__topology_node(t, gs->global_source)->name, "source2");
    assert_string_equal(rv__topology_source_for_topic(t, "globalTopic1")->name, "source1");
    rv_topology_destroy(t);
}

/* TopologyTest.processorsWithSharedStateShouldHaveSameSubtopology: three
 * source/processor pairs joined into sub-topology 0 by shared stores. */
static void test_describe_shared_state(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "source", "topic");
    PROC(t, "processor1", "source");
    store(t, "store1", P("processor1"), 1);
    src(t, "source2", "topic2");
    PROC(t, "processor2", "source2");
    store(t, "store2", P("processor2"), 1);
    src(t, "source3", "topic3");
    PROC(t, "processor3", "source3");
    CONNECT(t, "processor3", "store1", "store2");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: source (topics: [topic])\n"
                       "      --> processor1\n"
                       "    Source: source2 (topics: [topic2])\n"
                       "      --> processor2\n"
                       "    Source: source3 (topics: [topic3])\n"
                       "      --> processor3\n"
                       "    Processor: processor1 (stores: [store1])\n"
                       "      --> none\n"
                       "      <-- source\n"
                       "    Processor: processor2 (stores: [store2])\n"
                       "      --> none\n"
                       "      <-- source2\n"
                       "    Processor: processor3 (stores: [store1, store2])\n"
                       "      --> none\n"
                       "      <-- source3\n\n");
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology_count(t), 1);
    assert_int_equal(rv__topology_subtopology(t, 0)->source_cnt, 3);
    rv_topology_destroy(t);
}

/* TopologyTest.multipleSourcesWithSinksShouldHaveDistinctSubtopologies and
 * singleSourceWithListOfTopicsShouldHaveSingleSubtopology /
 * singleSourcePatternShouldHaveSingleSubtopology: several topics print in
 * java.util.HashSet order (bucket of String.hashCode() in a 16-bucket
 * table: topicA 0, topic 9, topic-1 11, topic-2 12), a pattern as given. */
static void test_describe_topics_and_patterns(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    const char *topics[] = {"topic", "topicA", "topic-2", "topic-1"};
    assert_int_equal(rv_topology_add_source(t, "source", topics, 4, NULL, errstr, sizeof errstr),
                     0);
    SINK(t, "sink", "output", "source");
    assert_int_equal(
        rv_topology_add_source_pattern(t, "source2", "topic-[A-C]", NULL, errstr, sizeof errstr),
        0);
    SINK(t, "sink2", "output2", "source2");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: source (topics: [topicA, topic, topic-1, topic-2])\n"
                       "      --> sink\n"
                       "    Sink: sink (topic: output)\n"
                       "      <-- source\n"
                       "\n"
                       "  Sub-topology: 1\n"
                       "    Source: source2 (topics: topic-[A-C])\n"
                       "      --> sink2\n"
                       "    Sink: sink2 (topic: output2)\n"
                       "      <-- source2\n\n");
    const rv__tnode_t *p = rv__topology_node_find(t, "source2");
    assert_true(rv__topology_source_matches(p, "topic-B"));
    assert_false(rv__topology_source_matches(p, "topic-D"));
    assert_false(rv__topology_source_matches(p, "xtopic-B"));
    assert_ptr_equal(rv__topology_source_for_topic(t, "topic-A"), p);
    assert_null(rv__topology_source_for_topic(t, "nothing"));
    rv_topology_destroy(t);
}

/* A wider tree: node order by final sub-tree size, ties by name. The
 * source's successors read "a, b" although b's sub-tree is larger: Kafka
 * meets a's edges first (HashMap order), so when b is inserted into the
 * source's TreeSet a already counts 2 and b only 1. */
static void test_describe_branches(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "src", "in");
    PROC(t, "b", "src");
    PROC(t, "a", "src");
    PROC(t, "c", "b");
    SINK(t, "out-a", "topic-a", "a");
    SINK(t, "out-c", "topic-c", "c");
    SINK(t, "out-c2", "topic-c2", "c");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: src (topics: [in])\n"
                       "      --> a, b\n"
                       "    Processor: b (stores: [])\n"
                       "      --> c\n"
                       "      <-- src\n"
                       "    Processor: c (stores: [])\n"
                       "      --> out-c, out-c2\n"
                       "      <-- b\n"
                       "    Processor: a (stores: [])\n"
                       "      --> out-a\n"
                       "      <-- src\n"
                       "    Sink: out-a (topic: topic-a)\n"
                       "      <-- a\n"
                       "    Sink: out-c (topic: topic-c)\n"
                       "      <-- c\n"
                       "    Sink: out-c2 (topic: topic-c2)\n"
                       "      <-- c\n\n");
    /* Children in add order, for forward(). */
    const rv__tnode_t *s = rv__topology_node_find(t, "src");
    assert_int_equal(s->child_cnt, 2);
    assert_string_equal(rv__topology_node(t, s->children[0])->name, "b");
    assert_string_equal(rv__topology_node(t, s->children[1])->name, "a");
    rv_topology_destroy(t);
}

/* StreamsGraphTest's expectedMergeOptimizedTopology: three children of one
 * node and two merges - successor and predecessor lists of up to three
 * entries, built while the sizes grow. */
static void test_describe_merges(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "KSTREAM-SOURCE-0000000000", "input_topic");
    PROC(t, "KSTREAM-KEY-SELECT-0000000001", "KSTREAM-SOURCE-0000000000");
    PROC(t, "KSTREAM-MAPVALUES-0000000002", "KSTREAM-KEY-SELECT-0000000001");
    PROC(t, "KSTREAM-MAPVALUES-0000000003", "KSTREAM-KEY-SELECT-0000000001");
    PROC(t, "KSTREAM-MAPVALUES-0000000004", "KSTREAM-KEY-SELECT-0000000001");
    PROC(t, "KSTREAM-MERGE-0000000005", "KSTREAM-MAPVALUES-0000000002",
         "KSTREAM-MAPVALUES-0000000003");
    PROC(t, "KSTREAM-MERGE-0000000006", "KSTREAM-MERGE-0000000005", "KSTREAM-MAPVALUES-0000000004");
    SINK(t, "KSTREAM-SINK-0000000007", "output_topic", "KSTREAM-MERGE-0000000006");
    assert_describe(t, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input_topic])\n"
                       "      --> KSTREAM-KEY-SELECT-0000000001\n"
                       "    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n"
                       "      --> KSTREAM-MAPVALUES-0000000002, KSTREAM-MAPVALUES-0000000003, "
                       "KSTREAM-MAPVALUES-0000000004\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])\n"
                       "      --> KSTREAM-MERGE-0000000005\n"
                       "      <-- KSTREAM-KEY-SELECT-0000000001\n"
                       "    Processor: KSTREAM-MAPVALUES-0000000003 (stores: [])\n"
                       "      --> KSTREAM-MERGE-0000000005\n"
                       "      <-- KSTREAM-KEY-SELECT-0000000001\n"
                       "    Processor: KSTREAM-MAPVALUES-0000000004 (stores: [])\n"
                       "      --> KSTREAM-MERGE-0000000006\n"
                       "      <-- KSTREAM-KEY-SELECT-0000000001\n"
                       "    Processor: KSTREAM-MERGE-0000000005 (stores: [])\n"
                       "      --> KSTREAM-MERGE-0000000006\n"
                       "      <-- KSTREAM-MAPVALUES-0000000002, KSTREAM-MAPVALUES-0000000003\n"
                       "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
                       "      --> KSTREAM-SINK-0000000007\n"
                       "      <-- KSTREAM-MERGE-0000000005, KSTREAM-MAPVALUES-0000000004\n"
                       "    Sink: KSTREAM-SINK-0000000007 (topic: output_topic)\n"
                       "      <-- KSTREAM-MERGE-0000000006\n\n");
    rv_topology_destroy(t);
}

/* ---- validation (TopologyTest's shouldNotAllow... / shouldFail...) ---- */

static void test_source_errors(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    const char *one[] = {"topic"};
    const char *dup[] = {"x", "x"};
    const char *nul[] = {NULL};
    /* shouldNotAllowZeroTopicsWhenAddingSource */
    assert_err(rv_topology_add_source(t, "s", one, 0, NULL, errstr, sizeof errstr),
               "Invalid topology: You must provide at least one topic");
    /* shouldNotAllowNullNameWhenAddingSourceWithTopic */
    assert_err(rv_topology_add_source(t, NULL, one, 1, NULL, errstr, sizeof errstr),
               "name must not be null");
    /* shouldNotAllowNullTopicsWhenAddingSourceWithTopic */
    assert_err(rv_topology_add_source(t, "s", nul, 1, NULL, errstr, sizeof errstr),
               "topic names cannot be null");
    assert_err(rv_topology_add_source_pattern(t, "s", NULL, NULL, errstr, sizeof errstr),
               "topicPattern can't be null");
    assert_err(rv_topology_add_source_pattern(t, NULL, "x", NULL, errstr, sizeof errstr),
               "name can't be null");
    assert_int_equal(rv_topology_add_source(t, "source", one, 1, NULL, errstr, sizeof errstr), 0);
    /* shouldNotAllowToAddSourcesWithSameName */
    const char *other[] = {"topic-2"};
    assert_err(rv_topology_add_source(t, "source", other, 1, NULL, errstr, sizeof errstr),
               "Invalid topology: Processor source is already added.");
    assert_err(rv_topology_add_source_pattern(t, "source", "t.*", NULL, errstr, sizeof errstr),
               "Invalid topology: Processor source is already added.");
    /* shouldNotAllowToAddTopicTwice */
    assert_err(rv_topology_add_source(t, "source-2", one, 1, NULL, errstr, sizeof errstr),
               "Invalid topology: Topic topic has already been registered by another source.");
    assert_err(rv_topology_add_source(t, "source-3", dup, 2, NULL, errstr, sizeof errstr),
               "Invalid topology: Topic x has already been registered by another source.");
    /* Patterns against topics, both ways. */
    assert_err(rv_topology_add_source_pattern(t, "p", "to.*", NULL, errstr, sizeof errstr),
               "Invalid topology: Pattern to.* will match a topic that has already been "
               "registered by another source.");
    assert_int_equal(
        rv_topology_add_source_pattern(t, "p", "other-.*", NULL, errstr, sizeof errstr), 0);
    const char *matching[] = {"other-1"};
    assert_err(rv_topology_add_source(t, "s4", matching, 1, NULL, errstr, sizeof errstr),
               "Invalid topology: Topic other-1 matches a Pattern already registered by another "
               "source.");
    assert_int_equal(rv_topology_add_source_pattern(t, "bad", "a(b", NULL, errstr, sizeof errstr),
                     RV_ERR__INVALID_ARG);
    rvt_assert_prefix(errstr, "Invalid topology: Pattern a(b is not valid: ");
    rv_source_opts_t o = RV_SOURCE_OPTS_INIT;
    o.offset_reset = (rv_auto_offset_reset_t)9;
    const char *t9[] = {"t9"};
    assert_err(rv_topology_add_source(t, "s9", t9, 1, &o, errstr, sizeof errstr),
               "Invalid topology: Unrecognized reset format 9");
    o = (rv_source_opts_t)RV_SOURCE_OPTS_INIT;
    o.offset_reset = RV_AUTO_OFFSET_RESET_LATEST;
    assert_int_equal(rv_topology_add_source(t, "s9", t9, 1, &o, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_node_find(t, "s9")->source.offset_reset,
                     RV_AUTO_OFFSET_RESET_LATEST);
    /* Failed calls left nothing behind. */
    assert_int_equal(rv__topology_node_count(t), 3);
    rv_topology_destroy(t);
}

static void test_processor_errors(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "source", "topic");
    /* shouldNotAllowNullNameWhenAddingProcessor */
    assert_err(rv_topology_add_processor(t, NULL, &SUP, P("source"), 1, errstr, sizeof errstr),
               "name must not be null");
    /* shouldNotAllowNullProcessorSupplierWhenAddingProcessor */
    assert_err(rv_topology_add_processor(t, "p", NULL, P("source"), 1, errstr, sizeof errstr),
               "supplier must not be null");
    /* shouldNotAllowToAddProcessorWithEmptyParents */
    assert_err(rv_topology_add_processor(t, "p", &SUP, NULL, 0, errstr, sizeof errstr),
               "Invalid topology: Processor p must have at least one parent");
    /* shouldNotAllowToAddProcessorWithNullParents */
    assert_err(rv_topology_add_processor(t, "p", &SUP, P(NULL), 1, errstr, sizeof errstr),
               "predecessor name must not be null");
    /* shouldFailOnUnknownSource */
    assert_err(
        rv_topology_add_processor(t, "p", &SUP, P("source", "unknown"), 2, errstr, sizeof errstr),
        "Invalid topology: Predecessor processor unknown is not added yet for p");
    /* shouldFailIfNodeIsItsOwnParent */
    assert_err(rv_topology_add_processor(t, "p", &SUP, P("p"), 1, errstr, sizeof errstr),
               "Invalid topology: Processor p cannot be a predecessor of itself.");
    PROC(t, "processor", "source");
    /* shouldNotAllowToAddProcessorWithSameName */
    assert_err(
        rv_topology_add_processor(t, "processor", &SUP, P("source"), 1, errstr, sizeof errstr),
        "Invalid topology: Processor processor is already added.");
    assert_err(
        rv_topology_add_processor(t, "source", &SUP, P("processor"), 1, errstr, sizeof errstr),
        "Invalid topology: Processor source is already added.");
    SINK(t, "sink", "out", "processor");
    assert_err(rv_topology_add_processor(t, "p", &SUP, P("sink"), 1, errstr, sizeof errstr),
               "Invalid topology: Sink sink cannot be used a parent.");
    /* The topology owns a supplier's opaque only once the call succeeds. */
    rv_processor_supplier_t owned = SUP;
    owned.opaque = malloc(4);
    owned.destroy = opaque_destroy;
    assert_err(rv_topology_add_processor(t, "p2", &owned, P("nope"), 1, errstr, sizeof errstr),
               "Invalid topology: Predecessor processor nope is not added yet for p2");
    assert_int_equal(supplier_destroyed, 0);
    assert_int_equal(
        rv_topology_add_processor(t, "p2", &owned, P("processor"), 1, errstr, sizeof errstr), 0);
    const rv__tnode_t *n = rv__topology_node_find(t, "p2");
    assert_ptr_equal(n->supplier.opaque, owned.opaque);
    assert_ptr_equal(n->supplier.get, noop_get);
    /* The supplier makes an instance the runtime can run. */
    rv_processor_t inst = RV_PROCESSOR_INIT;
    assert_int_equal(n->supplier.get(&inst, n->supplier.opaque), 0);
    assert_int_equal(inst.process(NULL, NULL, inst.state), 0);
    inst.close(inst.state);
    supplier_destroyed = 0;
    rv_topology_destroy(t);
    assert_int_equal(supplier_destroyed, 1);
}

static void test_sink_errors(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "source", "topic");
    /* shouldNotAllowNullNameWhenAddingSink / NullTopic / NullTopicChooser */
    assert_err(rv_topology_add_sink(t, NULL, "t", NULL, P("source"), 1, errstr, sizeof errstr),
               "name must not be null");
    assert_err(rv_topology_add_sink(t, "s", NULL, NULL, P("source"), 1, errstr, sizeof errstr),
               "topic must not be null");
    assert_err(rv_topology_add_sink_extractor(t, "s", NULL, NULL, NULL, NULL, P("source"), 1,
                                              errstr, sizeof errstr),
               "topic extractor must not be null");
    /* shouldNotAllowToAddSinkWithEmptyParents / NullParents */
    assert_err(rv_topology_add_sink(t, "s", "t", NULL, NULL, 0, errstr, sizeof errstr),
               "Invalid topology: Sink s must have at least one parent");
    assert_err(rv_topology_add_sink(t, "s", "t", NULL, P(NULL), 1, errstr, sizeof errstr),
               "predecessor name can't be null");
    /* shouldFailWithUnknownParent */
    assert_err(rv_topology_add_sink(t, "s", "t", NULL, P("unknown"), 1, errstr, sizeof errstr),
               "Invalid topology: Predecessor processor unknown is not added yet.");
    /* shouldFailIfSinkIsItsOwnParent */
    assert_err(rv_topology_add_sink(t, "s", "t", NULL, P("s"), 1, errstr, sizeof errstr),
               "Invalid topology: Processor s cannot be a predecessor of itself.");
    SINK(t, "sink", "t", "source");
    /* shouldNotAllowToAddSinkWithSameName */
    assert_err(rv_topology_add_sink(t, "sink", "t2", NULL, P("source"), 1, errstr, sizeof errstr),
               "Invalid topology: Processor sink is already added.");
    /* shouldFailIfSinkIsParent */
    assert_err(rv_topology_add_sink(t, "sink-2", "t2", NULL, P("sink"), 1, errstr, sizeof errstr),
               "Invalid topology: Sink sink cannot be used a parent.");
    assert_int_equal(rv_topology_add_sink_extractor(t, "dyn", route, NULL, NULL, NULL, P("source"),
                                                    1, errstr, sizeof errstr),
                     0);
    assert_err(rv_topology_add_sink(t, "sink-3", "t3", NULL, P("dyn"), 1, errstr, sizeof errstr),
               "Invalid topology: Sink dyn cannot be used a parent.");
    rv_sink_opts_t so = RV_SINK_OPTS_INIT;
    so.version = 99;
    assert_int_equal(rv_topology_add_sink(t, "v", "t", &so, P("source"), 1, errstr, sizeof errstr),
                     RV_ERR__INVALID_ARG);
    rv_topology_destroy(t);
}

static void test_store_errors(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "source", "topic");
    PROC(t, "processor", "source");
    SINK(t, "sink", "out", "processor");
    /* shouldNotAddNullStateStoreSupplier */
    assert_err(rv_topology_add_state_store(t, NULL, NULL, 0, errstr, sizeof errstr),
               "stateStoreFactory can't be null");
    rv_store_builder_t *b = rv_store_builder_in_memory_kv("store");
    /* shouldNotAllowToAddStateStoreToNonExistingProcessor */
    assert_err(rv_topology_add_state_store(t, b, P("no-such-processor"), 1, errstr, sizeof errstr),
               "Invalid topology: Processor no-such-processor is not added yet.");
    /* shouldNotAllowToAddStateStoreToSource / ToSink */
    assert_err(rv_topology_add_state_store(t, b, P("source"), 1, errstr, sizeof errstr),
               "Invalid topology: cannot connect a state store store to a source node or a sink "
               "node.");
    assert_err(rv_topology_add_state_store(t, b, P("sink"), 1, errstr, sizeof errstr),
               "Invalid topology: cannot connect a state store store to a source node or a sink "
               "node.");
    /* The failed calls kept nothing: the builder is still the caller's. */
    assert_int_equal(rv__topology_store_count(t), 0);
    assert_int_equal(rv_topology_add_state_store(t, b, NULL, 0, errstr, sizeof errstr), 0);
    /* "store used by no processor" is found by build. */
    assert_err(rv_topology_build(t, errstr, sizeof errstr),
               "Invalid topology: StateStore store is not connected to any processor.");
    /* shouldAllowToShareStoreUsingSameStoreBuilder */
    assert_int_equal(rv_topology_add_state_store(t, b, P("processor"), 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(rv__topology_store_count(t), 1);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    /* shouldNotAllowToAddStoreWithSameNameAndDifferentInstance */
    rv_store_builder_t *b2 = rv_store_builder_in_memory_kv("store");
    assert_err(rv_topology_add_state_store(t, b2, NULL, 0, errstr, sizeof errstr),
               "Invalid topology: A different StateStore has already been added with the name "
               "store");
    rv_store_builder_destroy(b2);
    /* connect_processor_and_state_stores */
    assert_err(rv_topology_connect_processor_and_state_stores(t, NULL, P("store"), 1, errstr,
                                                              sizeof errstr),
               "processorName can't be null");
    assert_err(rv_topology_connect_processor_and_state_stores(t, "processor", NULL, 0, errstr,
                                                              sizeof errstr),
               "Invalid topology: Must provide at least one state store name.");
    assert_err(rv_topology_connect_processor_and_state_stores(t, "processor", P(NULL), 1, errstr,
                                                              sizeof errstr),
               "state store name must not be null");
    assert_err(rv_topology_connect_processor_and_state_stores(t, "processor", P("nope"), 1, errstr,
                                                              sizeof errstr),
               "Invalid topology: StateStore nope is not added yet.");
    assert_err(rv_topology_connect_processor_and_state_stores(t, "ghost", P("store"), 1, errstr,
                                                              sizeof errstr),
               "Invalid topology: Processor ghost is not added yet.");
    /* Connecting twice is harmless. */
    CONNECT(t, "processor", "store");
    assert_int_equal(rv__topology_node_find(t, "processor")->store_cnt, 1);
    assert_int_equal(rv__topology_store_find(t, "store")->processor_cnt, 1);
    rv_topology_destroy(t);
}

static void test_global_store_errors(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "source", "topic");
    PROC(t, "processor", "source");
    store(t, "store", P("processor"), 1);
    rv_store_builder_t *b = rv_store_builder_in_memory_kv("global");
    /* Logging is on by default; a global store's topic is its changelog. */
    assert_err(
        rv_topology_add_global_store(t, b, "gs", "gt", NULL, "gp", &SUP, errstr, sizeof errstr),
        "Invalid topology: StateStore global for global table must not have logging "
        "enabled.");
    rv_store_builder_with_logging_disabled(b);
    /* shouldNotAllowToAddGlobalStoreWithSourceNameEqualsProcessorName */
    assert_err(
        rv_topology_add_global_store(t, b, "same", "gt", NULL, "same", &SUP, errstr, sizeof errstr),
        "Invalid topology: sourceName and processorName must be different.");
    assert_err(
        rv_topology_add_global_store(t, b, "source", "gt", NULL, "gp", &SUP, errstr, sizeof errstr),
        "Invalid topology: Processor source is already added.");
    assert_err(
        rv_topology_add_global_store(t, b, "gs", "topic", NULL, "gp", &SUP, errstr, sizeof errstr),
        "Invalid topology: Topic topic has already been registered by another source.");
    assert_err(
        rv_topology_add_global_store(t, b, NULL, "gt", NULL, "gp", &SUP, errstr, sizeof errstr),
        "sourceName must not be null");
    rv_store_builder_t *clash = rv_store_builder_in_memory_kv("store");
    rv_store_builder_with_logging_disabled(clash);
    assert_err(
        rv_topology_add_global_store(t, clash, "gs", "gt", NULL, "gp", &SUP, errstr, sizeof errstr),
        "Invalid topology: A different StateStore has already been added with the name "
        "store");
    rv_store_builder_destroy(clash);
    assert_int_equal(
        rv_topology_add_global_store(t, b, "gs", "gt", NULL, "gp", &SUP, errstr, sizeof errstr), 0);
    /* The global topic is taken; the store name too. */
    const char *gt[] = {"gt"};
    assert_err(rv_topology_add_source(t, "s2", gt, 1, NULL, errstr, sizeof errstr),
               "Invalid topology: Topic gt has already been registered by another source.");
    rv_store_builder_t *again = rv_store_builder_in_memory_kv("global");
    assert_err(rv_topology_add_state_store(t, again, NULL, 0, errstr, sizeof errstr),
               "Invalid topology: A different GlobalStateStore has already been added with the "
               "name global");
    rv_store_builder_destroy(again);
    /* A global store is used without being connected. */
    assert_err(rv_topology_connect_processor_and_state_stores(t, "processor", P("global"), 1,
                                                              errstr, sizeof errstr),
               "Invalid topology: Global StateStore global can be used by a Processor without "
               "being specified; it should not be explicitly passed.");
    /* A global store's nodes feed nothing else. */
    assert_err(rv_topology_add_processor(t, "child", &SUP, P("gp"), 1, errstr, sizeof errstr),
               "Invalid topology: Processor gp belongs to a global store and cannot be a parent "
               "of child.");
    assert_err(rv_topology_connect_processor_and_state_stores(t, "gp", P("store"), 1, errstr,
                                                              sizeof errstr),
               "Invalid topology: Processor gp belongs to a global store and cannot use state "
               "store store.");
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    rv_topology_destroy(t);
}

/* A cycle cannot be built through the API (parents come first); build()
 * still refuses one made by editing the nodes directly. */
static void test_cycle_detected(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "source", "topic");
    PROC(t, "a", "source");
    PROC(t, "b", "a");
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_true(rv__topology_is_built(t));
    rv__tnode_t *a = (rv__tnode_t *)rv__topology_node_find(t, "a");
    size_t *parents = realloc(a->parents, 2 * sizeof *parents);
    assert_non_null(parents);
    a->parents = parents;
    a->parents[a->parent_cnt++] = rv__topology_node_find(t, "b")->id;
    rv_err_t err = rv_topology_build(t, errstr, sizeof errstr);
    assert_int_equal(err, RV_ERR__INVALID_ARG);
    rvt_assert_contains(errstr, "is part of a cycle.");
    assert_false(rv__topology_is_built(t));
    rv_topology_destroy(t);
}

/* Sub-topology ids follow the earliest-added node of each group, also when
 * a later store links two groups. */
static void test_subtopology_numbering(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    src(t, "s-a", "a");
    src(t, "s-b", "b");
    src(t, "s-c", "c");
    PROC(t, "p-c", "s-c");
    PROC(t, "p-b", "s-b");
    PROC(t, "p-a", "s-a");
    store(t, "shared", P("p-c", "p-a"), 2);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology_count(t), 2);
    assert_int_equal(rv__topology_node_find(t, "s-a")->subtopology, 0);
    assert_int_equal(rv__topology_node_find(t, "p-c")->subtopology, 0);
    assert_int_equal(rv__topology_node_find(t, "s-b")->subtopology, 1);
    const rv__subtopology_t *s0 = rv__topology_subtopology(t, 0);
    assert_int_equal(s0->source_cnt, 2);
    assert_string_equal(s0->source_topics[0], "a");
    assert_string_equal(s0->source_topics[1], "c");
    assert_int_equal(s0->store_cnt, 1);
    /* A change invalidates the computed view until the next build. */
    PROC(t, "p-b2", "p-b");
    assert_false(rv__topology_is_built(t));
    assert_int_equal(rv__topology_subtopology_count(t), 0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topology_subtopology(t, 1)->node_cnt, 3);
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_empty),
        cmocka_unit_test(test_describe_filter),
        cmocka_unit_test(test_describe_stream_stream_join),
        cmocka_unit_test(test_describe_stream_stream_outer_join),
        cmocka_unit_test(test_describe_repartition),
        cmocka_unit_test(test_describe_extractor_sink),
        cmocka_unit_test(test_describe_global_stores),
        cmocka_unit_test(test_describe_shared_state),
        cmocka_unit_test(test_describe_topics_and_patterns),
        cmocka_unit_test(test_describe_branches),
        cmocka_unit_test(test_describe_merges),
        cmocka_unit_test(test_source_errors),
        cmocka_unit_test(test_processor_errors),
        cmocka_unit_test(test_sink_errors),
        cmocka_unit_test(test_store_errors),
        cmocka_unit_test(test_global_store_errors),
        cmocka_unit_test(test_cycle_detected),
        cmocka_unit_test(test_subtopology_numbering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
