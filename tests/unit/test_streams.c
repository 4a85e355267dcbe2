/* tests/unit/test_streams.c: the running stream app (runtime/streams.c,
 * runtime/stream_thread.c) against a broker in a temporary folder, through
 * real producers and consumers: the filter topology end to end, the state
 * listener's transitions, the co-partitioning check, commit then restart
 * without reprocessing, changelog restoration after the state folder is
 * wiped and from a checkpoint, and the uncaught error handler. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/rivulet.h"
#include "runtime/streams_internal.h"

typedef struct fx_s {
    char *dir;
    char bs[4200];
    char state[4200];
    rv_broker_t *broker;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char errstr[512];
    fx->dir = rvt_tmpdir();
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    snprintf(fx->bs, sizeof fx->bs, "%s", rvt_bootstrap(fx->dir));
    snprintf(fx->state, sizeof fx->state, "%s/state", fx->dir);
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

static int32_t partition_count(fx_t *fx, const char *name) {
    char errstr[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    rv_topic_description_t *d = NULL;
    int32_t n = -1;
    if (!rv_admin_describe_topic(a, name, &d, errstr, sizeof errstr)) {
        n = rv_topic_description_partition_count(d);
        rv_topic_description_destroy(d);
    }
    rv_admin_destroy(a);
    return n;
}

static void produce(fx_t *fx, const char *topic, int32_t partition, const char *key,
                    const char *value, int64_t ts) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = partition;
    r.key = key;
    r.key_len = key ? (int32_t)strlen(key) : -1;
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

/* Reads partition 0..partitions-1 of topic from the beginning until `want`
 * records arrived (or timeout_ms passed), as "key=value@ts\n" lines,
 * partition by partition. Returns the count. */
static int read_output(fx_t *fx, const char *topic, int32_t partitions, int want, int timeout_ms,
                       char *out, size_t out_size, int value_is_count) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(4);
    for (int32_t p = 0; p < partitions; p++)
        rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, p),
                                      RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    char lines[4][4096];
    memset(lines, 0, sizeof lines);
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
            if (value_is_count) {
                int64_t n = -1;
                rv_serde_int64_read(&n, v, vl);
                snprintf(line, sizeof line, "%.*s=%" PRId64 "@%" PRId64 "\n", k ? (int)kl : 0,
                         k ? k : "", n, rv_record_timestamp(r));
            } else {
                snprintf(line, sizeof line, "%.*s=%.*s@%" PRId64 "\n", k ? (int)kl : 0, k ? k : "",
                         v ? (int)vl : 0, v ? v : "", rv_record_timestamp(r));
            }
            int32_t p = rv_record_partition(r);
            strncat(lines[p & 3], line, sizeof lines[0] - strlen(lines[p & 3]) - 1);
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    out[0] = '\0';
    for (int p = 0; p < 4; p++)
        strncat(out, lines[p], out_size - strlen(out) - 1);
    return got;
}

/* ---- Topologies ---- */

static rv_err_t filter_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                               void *state) {
    (void)state;
    if (record->value && record->value_len > 5)
        return rv_processor_context_forward(ctx, record);
    return 0;
}

static rv_err_t filter_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = filter_process;
    return 0;
}

static rv_topology_t *filter_topology(const char **topics, size_t topic_cnt) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t filter = RV_PROCESSOR_SUPPLIER_INIT;
    filter.get = filter_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_string();
    out.value_serializer = rv_serde_string();
    const char *source[] = {"Source"}, *process[] = {"Process"};
    assert_int_equal(
        rv_topology_add_source(t, "Source", topics, topic_cnt, &in, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_processor(t, "Process", &filter, source, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_sink(t, "Sink", "stream_log_filter", &out, process, 1, errstr,
                                          sizeof errstr),
                     0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    return t;
}

/* Records the counter (rvt_count_topology) saw, over every app. */
static int g_processed;

/* ---- App helpers ---- */

typedef struct seen_s {
    rv_streams_state_t v[64];
    int cnt;
} seen_t;

static void on_state(rv_streams_state_t new_state, rv_streams_state_t old_state, void *opaque) {
    seen_t *s = opaque;
    (void)old_state;
    int i = __atomic_fetch_add(&s->cnt, 1, __ATOMIC_SEQ_CST);
    if (i < 64)
        s->v[i] = new_state;
}

static rv_conf_t *app_conf(fx_t *fx, const char *app_id, const char *state_sub) {
    char errstr[512], sd[4400];
    rv_conf_t *c = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/%s", fx->state, state_sub);
    assert_int_equal(rv_conf_set(c, "application.id", app_id, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "3000", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "200", errstr, sizeof errstr), 0);
    return c;
}

static rv_streams_t *start_app(rv_topology_t *t, rv_conf_t *conf, seen_t *seen) {
    char errstr[1024];
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    if (seen)
        assert_int_equal(rv_streams_set_state_listener(s, on_state, seen), 0);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    return s;
}

/* ---- Tests ---- */

/* Warnings and errors logged while a test counts them. */
static _Atomic int g_warnings;
static void count_warnings(int level, const char *fac, const char *msg, void *opaque) {
    (void)opaque;
    if (level <= RV_LOG_WARNING) {
        g_warnings++;
        fprintf(stderr, "%s: %s\n", fac, msg);
    }
}

static void test_filter_app(void **state) {
    fx_t *fx = *state;
    /* A clean run, start to close, logs no warning. */
    g_warnings = 0;
    rv_log_set_callback(count_warnings, NULL);
    rvt_create_topic_kept(fx->bs, "stream_log", 2);
    rvt_create_topic_kept(fx->bs, "stream_log_filter", 2);
    const char *values[] = {"short", "a longer line", "tiny", "another long one"};
    for (int i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        produce(fx, "stream_log", i % 2, key, values[i], 1000 + i);
    }
    const char *topics[] = {"stream_log"};
    rv_topology_t *t = filter_topology(topics, 1);
    seen_t seen = {0};
    rv_streams_t *s = start_app(t, app_conf(fx, "filter-app", "a"), &seen);
    char got[4096];
    assert_int_equal(read_output(fx, "stream_log_filter", 2, 2, 15000, got, sizeof got, 0), 2);
    /* The default partitioner puts k1 and k3 where murmur2 says. */
    int32_t p1 = rv_partitioner_murmur2("k1", 2, 2), p3 = rv_partitioner_murmur2("k3", 2, 2);
    char want[256];
    if (p1 <= p3)
        snprintf(want, sizeof want, "k1=a longer line@1001\nk3=another long one@1003\n");
    else
        snprintf(want, sizeof want, "k3=another long one@1003\nk1=a longer line@1001\n");
    assert_string_equal(got, want);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_NOT_RUNNING);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
    /* CREATED -> REBALANCING -> RUNNING ... -> PENDING_SHUTDOWN -> NOT_RUNNING */
    assert_true(seen.cnt >= 4);
    assert_int_equal(seen.v[0], RV_STREAMS_REBALANCING);
    assert_int_equal(seen.v[1], RV_STREAMS_RUNNING);
    assert_int_equal(seen.v[seen.cnt - 2], RV_STREAMS_PENDING_SHUTDOWN);
    assert_int_equal(seen.v[seen.cnt - 1], RV_STREAMS_NOT_RUNNING);
    rv_log_set_callback(NULL, NULL);
    assert_int_equal(g_warnings, 0);
}

static void test_state_rules(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    rvt_create_topic_kept(fx->bs, "stream_log", 1);
    const char *topics[] = {"stream_log"};
    rv_topology_t *t = filter_topology(topics, 1);
    /* An unbuilt topology and a missing application.id are refused, and
     * the conf stays the caller's. */
    rv_topology_t *unbuilt = rv_topology_new();
    rv_conf_t *c = client_conf(fx);
    assert_null(rv_streams_new(unbuilt, c, errstr, sizeof errstr));
    rvt_assert_contains(errstr, "not built");
    assert_null(rv_streams_new(t, c, errstr, sizeof errstr));
    rvt_assert_contains(errstr, "application.id");
    rv_conf_destroy(c);
    rv_topology_destroy(unbuilt);

    /* Close before start: CREATED -> PENDING_SHUTDOWN -> NOT_RUNNING; no
     * start afterwards. */
    seen_t seen = {0};
    rv_streams_t *s = rv_streams_new(t, app_conf(fx, "rules-app", "a"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_CREATED);
    assert_int_equal(rv_streams_set_state_listener(s, on_state, &seen), 0);
    assert_int_equal(rv_streams_close(s, 1000), 0);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), RV_ERR__STATE);
    assert_int_equal(seen.cnt, 2);
    assert_int_equal(seen.v[0], RV_STREAMS_PENDING_SHUTDOWN);
    assert_int_equal(seen.v[1], RV_STREAMS_NOT_RUNNING);
    assert_int_equal(rv_streams_set_state_listener(s, on_state, &seen), RV_ERR__STATE);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

static void test_copartitioning(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    rvt_create_topic_kept(fx->bs, "left", 2);
    rvt_create_topic_kept(fx->bs, "right", 3);
    const char *topics[] = {"left", "right"};
    rv_topology_t *t = filter_topology(topics, 2);
    seen_t seen = {0};
    rv_streams_t *s = rv_streams_new(t, app_conf(fx, "copart-app", "a"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_set_state_listener(s, on_state, &seen), 0);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    rvt_assert_contains(errstr, "Topics not co-partitioned: [left=2, right=3]");
    assert_int_equal(rv_streams_state(s), RV_STREAMS_ERROR);
    rvt_assert_contains(rv_streams_last_error(s), "co-partitioned");
    assert_int_equal(seen.cnt, 3);
    assert_int_equal(seen.v[0], RV_STREAMS_REBALANCING);
    assert_int_equal(seen.v[1], RV_STREAMS_PENDING_ERROR);
    assert_int_equal(seen.v[2], RV_STREAMS_ERROR);
    assert_int_equal(rv_streams_close(s, 1000), 0);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_ERROR);
    rv_streams_destroy(s);

    /* A missing source topic is named too. */
    const char *missing[] = {"nowhere"};
    rv_topology_t *t2 = filter_topology(missing, 1);
    s = rv_streams_new(t2, app_conf(fx, "missing-app", "b"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_not_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    rvt_assert_contains(errstr, "Missing source topics: [nowhere]");
    rv_streams_destroy(s);
    rv_topology_destroy(t2);
    rv_topology_destroy(t);
}

/* Runs the count app over what is in "words" until `want` outputs exist
 * in total, then closes it. Returns the app's restore total. */
typedef struct restored_s {
    int64_t total, starts, ends;
    int64_t start_offset, end_offset;
} restored_t;

static void r_start(const char *topic, int32_t partition, const char *store, int64_t from,
                    int64_t to, void *opaque) {
    restored_t *r = opaque;
    (void)topic;
    (void)partition;
    assert_string_equal(store, "Counts");
    r->starts++;
    r->start_offset = from;
    r->end_offset = to;
}

static void r_batch(const char *topic, int32_t partition, const char *store, int64_t end, int64_t n,
                    void *opaque) {
    restored_t *r = opaque;
    (void)topic;
    (void)partition;
    (void)store;
    (void)end;
    r->total += n;
}

static void r_end(const char *topic, int32_t partition, const char *store, int64_t total,
                  void *opaque) {
    restored_t *r = opaque;
    (void)topic;
    (void)partition;
    (void)store;
    (void)total;
    r->ends++;
}

static void run_count(fx_t *fx, rv_topology_t *t, const char *state_sub, int want, char *got,
                      size_t got_size, restored_t *rest) {
    char errstr[1024];
    rv_streams_t *s =
        rv_streams_new(t, app_conf(fx, "count-app", state_sub), errstr, sizeof errstr);
    assert_non_null(s);
    rv_state_restore_listener_t l = RV_STATE_RESTORE_LISTENER_INIT;
    l.on_start = r_start;
    l.on_batch = r_batch;
    l.on_end = r_end;
    l.opaque = rest;
    assert_int_equal(rv_streams_set_restore_listener(s, &l), 0);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    assert_int_equal(read_output(fx, "counts", 1, want, 15000, got, got_size, 1), want);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
}

static void test_commit_restart_restore(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "words", 1);
    rvt_create_topic_kept(fx->bs, "counts", 1);
    rv_topology_t *t = rvt_count_topology(&g_processed);
    produce(fx, "words", 0, "a", "x", 1);
    produce(fx, "words", 0, "b", "x", 2);
    produce(fx, "words", 0, "a", "x", 3);
    g_processed = 0;
    char got[4096];
    restored_t r1 = {0};
    run_count(fx, t, "a", 3, got, sizeof got, &r1);
    assert_string_equal(got, "a=1@1\nb=1@2\na=2@3\n");
    assert_int_equal(g_processed, 3);
    assert_int_equal(r1.starts, 1); /* an empty changelog: nothing restored */
    assert_int_equal(r1.total, 0);
    assert_int_equal(partition_count(fx, "count-app-Counts-changelog"), 1);

    /* Restart with the checkpoint: the committed input is not processed
     * again, the store is not replayed (checkpoint = changelog end), and
     * counting goes on. */
    produce(fx, "words", 0, "a", "x", 4);
    restored_t r2 = {0};
    run_count(fx, t, "a", 4, got, sizeof got, &r2);
    assert_string_equal(got, "a=1@1\nb=1@2\na=2@3\na=3@4\n");
    assert_int_equal(g_processed, 4);
    assert_int_equal(r2.starts, 1);
    assert_int_equal(r2.total, 0);
    assert_int_equal(r2.start_offset, 3);
    assert_int_equal(r2.end_offset, 3);

    /* A fresh state folder: the store comes back from the changelog, so
     * both keys count on. The changelog is compacted, and these 1970
     * timestamps roll a segment at every append (as Kafka's segment.ms
     * does), so the cleaner may already have dropped the older a's: two
     * to four records are restored. */
    produce(fx, "words", 0, "b", "x", 5);
    produce(fx, "words", 0, "a", "x", 6);
    restored_t r3 = {0};
    run_count(fx, t, "b", 6, got, sizeof got, &r3);
    assert_string_equal(got, "a=1@1\nb=1@2\na=2@3\na=3@4\nb=2@5\na=4@6\n");
    assert_int_equal(g_processed, 6);
    assert_in_range(r3.total, 2, 4);
    assert_int_equal(r3.start_offset, 0);
    assert_int_equal(r3.ends, 1);

    /* The changelog's records are gone (delete-records, as retention does
     * to a windowed changelog): a fresh state folder restores nothing and
     * the app still starts, counting from scratch. */
    char errstr[512];
    rv_admin_t *admin = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(admin);
    int64_t low = -1;
    assert_int_equal(rv_admin_delete_records(admin, "count-app-Counts-changelog", 0, -1, &low,
                                             errstr, sizeof errstr),
                     0);
    assert_int_equal(low, 6);
    rv_admin_destroy(admin);
    produce(fx, "words", 0, "a", "x", 7);
    restored_t r4 = {0};
    run_count(fx, t, "c", 7, got, sizeof got, &r4);
    assert_string_equal(got, "a=1@1\nb=1@2\na=2@3\na=3@4\nb=2@5\na=4@6\na=1@7\n");
    assert_int_equal(r4.total, 0);
    assert_int_equal(r4.ends, 1);
    rv_topology_destroy(t);
}

/* ---- Uncaught error handler ---- */

static int g_fail_on_bad = 1;

/* Fails on the value "bad"; counts the records it saw in *state when the
 * supplier's opaque gave it a counter. */
static rv_err_t picky_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                              void *state) {
    if (record->value_len == 3 && !memcmp(record->value, "bad", 3) &&
        __atomic_load_n(&g_fail_on_bad, __ATOMIC_SEQ_CST))
        return RV_ERR__FAIL;
    if (state)
        __atomic_add_fetch((int *)state, 1, __ATOMIC_SEQ_CST);
    return rv_processor_context_forward(ctx, record);
}

static rv_err_t picky_get(rv_processor_t *out, void *opaque) {
    out->process = picky_process;
    out->state = opaque;
    return 0;
}

static int g_handler_calls;
static rv_streams_uncaught_response_t g_response;

static rv_streams_uncaught_response_t handler(rv_err_t err, const char *message,
                                              const char *thread_name, void *opaque) {
    (void)err;
    (void)opaque;
    /* Kafka's naming: "<application.id>-<process uuid>-StreamThread-1". */
    rvt_assert_prefix(thread_name, "err-app-");
    rvt_assert_contains(thread_name, "-StreamThread-1");
    assert_int_equal(strlen(thread_name), strlen("err-app-") + 36 + strlen("-StreamThread-1"));
    rvt_assert_contains(message, "Task 0_0");
    __atomic_add_fetch(&g_handler_calls, 1, __ATOMIC_SEQ_CST);
    /* Replace once; the replacement then succeeds. */
    if (g_response == RV_STREAMS_REPLACE_THREAD)
        __atomic_store_n(&g_fail_on_bad, 0, __ATOMIC_SEQ_CST);
    return g_response;
}

static rv_topology_t *picky_topology(int *counter) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = picky_get;
    sup.opaque = counter;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_bytes();
    in.value_deserializer = rv_serde_bytes();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_bytes();
    out.value_serializer = rv_serde_bytes();
    const char *topics[] = {"in"}, *source[] = {"Source"}, *process[] = {"Picky"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_processor(t, "Picky", &sup, source, 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(
        rv_topology_add_sink(t, "Sink", "out", &out, process, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    return t;
}

static void test_error_handler(void **state) {
    fx_t *fx = *state;
    char errstr[1024], got[4096] = "";
    rvt_create_topic_kept(fx->bs, "in", 1);
    rvt_create_topic_kept(fx->bs, "out", 1);
    produce(fx, "in", 0, "k", "good", 1);
    produce(fx, "in", 0, "k", "bad", 2);
    produce(fx, "in", 0, "k", "fine", 3);
    rv_topology_t *t = picky_topology(NULL);

    /* SHUTDOWN_CLIENT: the app ends in ERROR with the task's message. */
    g_handler_calls = 0;
    g_fail_on_bad = 1;
    g_response = RV_STREAMS_SHUTDOWN_CLIENT;
    seen_t seen = {0};
    rv_streams_t *s = rv_streams_new(t, app_conf(fx, "err-app", "a"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_set_state_listener(s, on_state, &seen), 0);
    assert_int_equal(rv_streams_set_uncaught_error_handler(s, handler, NULL), 0);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    rvt_wait_streams_state(s, RV_STREAMS_ERROR, 15000);
    assert_int_equal(g_handler_calls, 1);
    rvt_assert_contains(rv_streams_last_error(s), "Task 0_0");
    assert_int_equal(seen.v[seen.cnt - 2], RV_STREAMS_PENDING_ERROR);
    assert_int_equal(seen.v[seen.cnt - 1], RV_STREAMS_ERROR);
    assert_int_equal(rv_streams_close(s, 5000), 0);
    rv_streams_destroy(s);

    /* REPLACE_THREAD: the new thread reprocesses from the last commit and
     * gets past the record (the handler stopped the failure). */
    g_handler_calls = 0;
    g_response = RV_STREAMS_REPLACE_THREAD;
    s = rv_streams_new(t, app_conf(fx, "err-app", "a"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_set_uncaught_error_handler(s, handler, NULL), 0);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    for (int i = 0; i < 30 && !strstr(got, "k=fine@3"); i++)
        read_output(fx, "out", 1, 1000, 500, got, sizeof got, 0);
    assert_int_equal(g_handler_calls, 1);
    rvt_assert_contains(got, "k=bad@2\nk=fine@3\n");
    assert_int_equal(rv_streams_state(s), RV_STREAMS_RUNNING);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

/* SHUTDOWN_APPLICATION (Kafka's KIP-671) stops every instance of the
 * application: the failing one asks the group, whose leader tells every
 * member. On the kafka backend (librdkafka's group protocol) only the
 * failing instance stops. */
static int g_app_handler_calls;

static rv_streams_uncaught_response_t app_handler(rv_err_t err, const char *message,
                                                  const char *thread_name, void *opaque) {
    (void)err;
    (void)message;
    (void)thread_name;
    (void)opaque;
    __atomic_add_fetch(&g_app_handler_calls, 1, __ATOMIC_SEQ_CST);
    return RV_STREAMS_SHUTDOWN_APPLICATION;
}

static void test_shutdown_application(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    /* Two threads per instance, four partitions: each instance owns some,
     * and the failing one's other thread stops cleanly and asks too. */
    rvt_create_topic_kept(fx->bs, "in", 4);
    rvt_create_topic_kept(fx->bs, "out", 4);
    int counts[2] = {0, 0};
    rv_topology_t *t[2] = {picky_topology(&counts[0]), picky_topology(&counts[1])};
    rv_streams_t *s[2];
    g_app_handler_calls = 0;
    g_fail_on_bad = 1;
    for (int i = 0; i < 2; i++) {
        rv_conf_t *conf = app_conf(fx, "sd-app", i ? "b" : "a");
        assert_int_equal(rv_conf_set(conf, "num.stream.threads", "2", errstr, sizeof errstr), 0);
        s[i] = rv_streams_new(t[i], conf, errstr, sizeof errstr);
        assert_non_null(s[i]);
        assert_int_equal(rv_streams_set_uncaught_error_handler(s[i], app_handler, NULL), 0);
        assert_int_equal(rv_streams_start(s[i], errstr, sizeof errstr), 0);
        rvt_wait_streams_state(s[i], RV_STREAMS_RUNNING, 15000);
    }
    /* Both instances own a task: each has processed a record. */
    int64_t until = rv__mono_ms() + 20000;
    for (int ts = 1; (!__atomic_load_n(&counts[0], __ATOMIC_SEQ_CST) ||
                      !__atomic_load_n(&counts[1], __ATOMIC_SEQ_CST)) &&
                     rv__mono_ms() < until;
         ts++) {
        produce(fx, "in", ts % 4, "k", "good", ts);
        struct timespec pause = {0, 100 * 1000000L};
        nanosleep(&pause, NULL);
    }
    assert_true(counts[0] > 0 && counts[1] > 0);

    /* A record fails one instance; the handler answers
     * SHUTDOWN_APPLICATION. */
    produce(fx, "in", 0, "k", "bad", 1000);
    int failed = -1;
    until = rv__mono_ms() + 15000;
    while (failed < 0 && rv__mono_ms() < until) {
        for (int i = 0; i < 2; i++)
            if (rv_streams_state(s[i]) == RV_STREAMS_ERROR)
                failed = i;
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
    assert_true(failed >= 0);
    int other = 1 - failed;
    if (rvt_kafka_backend()) {
        /* Only the failing instance stops: the other one takes its
         * partition and fails on the same record in turn. */
        rvt_wait_streams_state(s[other], RV_STREAMS_ERROR, 15000);
        for (int i = 0; i < 2; i++)
            rvt_assert_contains(rv_streams_last_error(s[i]), "Task 0_0");
        assert_int_equal(__atomic_load_n(&g_app_handler_calls, __ATOMIC_SEQ_CST), 2);
    } else {
        /* The other instance, which never failed, stops too: its
         * assignment carried the request. */
        rvt_wait_streams_state(s[other], RV_STREAMS_ERROR, 15000);
        bool requested = strstr(rv_streams_last_error(s[other]), "Shutdown requested");
        int requester = requested ? failed : other;
        rvt_assert_contains(rv_streams_last_error(s[requester]), "Task 0_0");
        rvt_assert_contains(rv_streams_last_error(s[1 - requester]),
                            "Shutdown requested by an instance of the application");
        assert_int_equal(__atomic_load_n(&g_app_handler_calls, __ATOMIC_SEQ_CST), 1);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rv_streams_close(s[i], 10000), 0);
        rv_streams_destroy(s[i]);
        rv_topology_destroy(t[i]);
    }

    /* The request does not outlive the instances: a new one runs. */
    g_fail_on_bad = 0;
    rv_topology_t *t2 = picky_topology(NULL);
    rv_streams_t *again = rv_streams_new(t2, app_conf(fx, "sd-app", "a"), errstr, sizeof errstr);
    assert_non_null(again);
    assert_int_equal(rv_streams_start(again, errstr, sizeof errstr), 0);
    rvt_wait_streams_state(again, RV_STREAMS_RUNNING, 15000);
    char got[8192] = "";
    for (int i = 0; i < 30 && !strstr(got, "k=bad@1000"); i++)
        read_output(fx, "out", 4, 1000, 500, got, sizeof got, 0);
    rvt_assert_contains(got, "k=bad@1000");
    assert_int_equal(rv_streams_state(again), RV_STREAMS_RUNNING);
    assert_int_equal(rv_streams_close(again, 10000), 0);
    rv_streams_destroy(again);
    rv_topology_destroy(t2);
}

/* A shutdown request waits for the group's answer, which a member slow to
 * rejoin holds back (up to its max.poll.interval.ms); rv_streams_close()
 * ends the wait. */
static void test_shutdown_request_close(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    rvt_create_topic_kept(fx->bs, "in", 2);
    rvt_create_topic_kept(fx->bs, "out", 2);
    rv_topology_t *t = picky_topology(NULL);
    g_app_handler_calls = 0;
    g_fail_on_bad = 1;
    rv_streams_t *s = rv_streams_new(t, app_conf(fx, "slow-app", "a"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_set_uncaught_error_handler(s, app_handler, NULL), 0);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);

    /* A member of the app's group that stops polling once it joined. */
    rv_conf_t *cc = client_conf(fx);
    assert_int_equal(rv_conf_set(cc, "group.id", "slow-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(cc, "max.poll.interval.ms", "60000", errstr, sizeof errstr), 0);
    rv_consumer_t *slow = rv_consumer_new(cc, errstr, sizeof errstr);
    assert_non_null(slow);
    const char *topics[] = {"in"};
    assert_int_equal(rv_consumer_subscribe(slow, topics, 1, NULL), 0);
    int64_t until = rv__mono_ms() + 15000;
    while (!rv_consumer_generation(slow) || rv_consumer_generation(slow) < 0) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(slow, 50, &rs) == 0)
            rv_records_destroy(rs);
        assert_true(rv__mono_ms() < until);
    }
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);

    /* The app owns one of the two partitions, the slow member the other. */
    produce(fx, "in", 0, "k", "bad", 1);
    produce(fx, "in", 1, "k", "bad", 2);
    until = rv__mono_ms() + 15000;
    while (rv_streams_state(s) != RV_STREAMS_PENDING_ERROR &&
           rv_streams_state(s) != RV_STREAMS_ERROR && rv__mono_ms() < until) {
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
    /* Waiting for the group (the kafka backend does not ask it: there
     * the client goes on to ERROR). */
    if (!rvt_kafka_backend())
        assert_int_equal(rv_streams_state(s), RV_STREAMS_PENDING_ERROR);
    int64_t t0 = rv__mono_ms();
    assert_int_equal(rv_streams_close(s, 10000), 0);
    assert_true(rv__mono_ms() - t0 < 5000);
    assert_int_equal(__atomic_load_n(&g_app_handler_calls, __ATOMIC_SEQ_CST), 1);
    rv_streams_destroy(s);
    rv_consumer_destroy(slow);
    rv_topology_destroy(t);
}

/* ---- Deserialization errors ---- */

static rv_err_t pass_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                             void *state) {
    (void)state;
    return rv_processor_context_forward(ctx, record);
}

static rv_err_t pass_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = pass_process;
    return 0;
}

/* Source (`topics`, or `pattern` when topics is NULL) -> a processor
 * forwarding every record -> sink `out`; the app's default serdes. */
static rv_topology_t *pass_topology(const char *const *topics, size_t topic_cnt,
                                    const char *pattern, const char *out) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t pass = RV_PROCESSOR_SUPPLIER_INIT;
    pass.get = pass_get;
    const char *source[] = {"Source"}, *process[] = {"Process"};
    rv_err_t err =
        topics ? rv_topology_add_source(t, "Source", (const char **)topics, topic_cnt, NULL, errstr,
                                        sizeof errstr)
               : rv_topology_add_source_pattern(t, "Source", pattern, NULL, errstr, sizeof errstr);
    assert_int_equal(err, 0);
    assert_int_equal(
        rv_topology_add_processor(t, "Process", &pass, source, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_sink(t, "Sink", out, NULL, process, 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    return t;
}

/* app_conf() with the bytes serde as the default for keys and values. */
static rv_conf_t *bytes_app_conf(fx_t *fx, const char *app_id, const char *state_sub) {
    char errstr[512];
    rv_conf_t *conf = app_conf(fx, app_id, state_sub);
    assert_int_equal(rv_conf_set(conf, "default.key.serde", "bytes", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "default.value.serde", "bytes", errstr, sizeof errstr), 0);
    return conf;
}

/* ---- max.task.idle.ms: timestamp order across a task's partitions ---- */

/* One task reads ts-a and ts-b. Each poll returns one record
 * (max.poll.records 1), so the task's queues fill one record at a time,
 * whichever partition the consumer reads first. With max.task.idle.ms 0
 * (the default) the task does not process while a partition's queue is
 * empty and its lag is unknown or positive, so it still processes in
 * timestamp order: b10 a20 a21 b30. Without the wait (-1) it would
 * process a20 before b10 or b30 before a21. */
static void test_max_task_idle_timestamp_order(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rvt_create_topic_kept(fx->bs, "ts-a", 1);
    rvt_create_topic_kept(fx->bs, "ts-b", 1);
    rvt_create_topic_kept(fx->bs, "ts-out", 1);
    produce(fx, "ts-a", 0, "k", "a20", 20);
    produce(fx, "ts-a", 0, "k", "a21", 21);
    produce(fx, "ts-b", 0, "k", "b10", 10);
    produce(fx, "ts-b", 0, "k", "b30", 30);
    const char *topics[] = {"ts-a", "ts-b"};
    rv_topology_t *t = pass_topology(topics, 2, NULL, "ts-out");
    rv_conf_t *conf = bytes_app_conf(fx, "idle-app", "idle");
    assert_int_equal(rv_conf_set(conf, "max.poll.records", "1", errstr, sizeof errstr), 0);
    rv_streams_t *s = start_app(t, conf, NULL);
    char got[4096];
    assert_int_equal(read_output(fx, "ts-out", 1, 4, 15000, got, sizeof got, 0), 4);
    assert_string_equal(got, "k=b10@10\nk=a20@20\nk=a21@21\nk=b30@30\n");
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

/* A pattern source reads the topics that match when the app starts, and,
 * as Kafka's consumer re-matches its pattern at each metadata refresh
 * (metadata.max.age.ms), a matching topic created later; one with a
 * partition count other than the sub-topology's is left alone. */
static void test_pattern_source_new_topics(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rvt_create_topic_kept(fx->bs, "pat-a", 1);
    rvt_create_topic_kept(fx->bs, "pat-out", 1);
    produce(fx, "pat-a", 0, "k", "a1", 1);
    rv_topology_t *t = pass_topology(NULL, 0, "pat-[a-z]", "pat-out");
    rv_conf_t *conf = bytes_app_conf(fx, "pattern-app", "pattern");
    assert_int_equal(rv_conf_set(conf, "metadata.max.age.ms", "200", errstr, sizeof errstr), 0);
    rv_streams_t *s = start_app(t, conf, NULL);
    char got[4096];
    assert_int_equal(read_output(fx, "pat-out", 1, 1, 15000, got, sizeof got, 0), 1);
    assert_string_equal(got, "k=a1@1\n");
    /* Created after the start: pat-b matches with the same count; pat-c
     * matches with another count; pat-out2 does not match. */
    rvt_create_topic_kept(fx->bs, "pat-b", 1);
    rvt_create_topic_kept(fx->bs, "pat-c", 2);
    produce(fx, "pat-b", 0, "k", "b1", 2);
    produce(fx, "pat-c", 0, "k", "c1", 3);
    assert_int_equal(read_output(fx, "pat-out", 1, 2, 15000, got, sizeof got, 0), 2);
    assert_string_equal(got, "k=a1@1\nk=b1@2\n");
    produce(fx, "pat-a", 0, "k", "a2", 4);
    assert_int_equal(read_output(fx, "pat-out", 1, 3, 15000, got, sizeof got, 0), 3);
    assert_string_equal(got, "k=a1@1\nk=b1@2\nk=a2@4\n");
    assert_int_equal(rv_streams_state(s), RV_STREAMS_RUNNING);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

/* Records queued in the app's tasks, over its stream threads. */
static size_t app_buffered(rv_streams_t *s) {
    size_t n = 0;
    for (int i = 0; i < s->started_threads; i++)
        n += rv__stream_thread_buffered(s->threads[i]);
    return n;
}

/* buffered.records.per.partition: while the task waits for its empty
 * partition (max.task.idle.ms 4000), the thread pauses the full one
 * instead of queueing all of it. Then the task processes everything. A
 * partition is paused once its queue
 * passes the limit, so it holds at most the limit plus one poll. */
static void test_backpressure_pauses_partitions(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rvt_create_topic_kept(fx->bs, "bp-a", 1);
    rvt_create_topic_kept(fx->bs, "bp-b", 1);
    rvt_create_topic_kept(fx->bs, "bp-out", 1);
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    for (int i = 0; i < 3000; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "bp-a";
        r.partition = 0;
        r.value = "v";
        r.value_len = 1;
        r.timestamp = 1000 + i;
        assert_int_equal(rv_producer_send(p, &r, NULL, NULL, errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    rv_producer_destroy(p);
    const char *topics[] = {"bp-a", "bp-b"};
    rv_topology_t *t = pass_topology(topics, 2, NULL, "bp-out");
    rv_conf_t *conf = bytes_app_conf(fx, "bp-app", "bp");
    assert_int_equal(rv_conf_set(conf, "max.task.idle.ms", "4000", errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_conf_set(conf, "buffered.records.per.partition", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "max.poll.records", "50", errstr, sizeof errstr), 0);
    rv_streams_t *s = start_app(t, conf, NULL);
    /* Filled up to the limit, then paused (no record processed yet). */
    size_t most = 0;
    for (int64_t until = rv__mono_ms() + 1500; rv__mono_ms() < until;) {
        size_t n = app_buffered(s);
        most = n > most ? n : most;
        usleep(10000);
    }
    assert_true(most >= 100);
    assert_true(most <= 100 + 50);
    char got[4096];
    assert_int_equal(read_output(fx, "bp-out", 1, 3000, 30000, got, sizeof got, 0), 3000);
    assert_int_equal(app_buffered(s), 0);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

static void test_deserialization_handlers(void **state) {
    fx_t *fx = *state;
    char errstr[1024], got[4096] = "";
    rvt_create_topic_kept(fx->bs, "nums", 1);
    rvt_create_topic_kept(fx->bs, "nums_out", 1);
    unsigned char eight[8];
    rv_serde_int64_write(eight, 7);
    produce(fx, "nums", 0, "k", "abc", 1); /* not an int64 */
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = "nums";
    r.partition = 0;
    r.key = "k";
    r.key_len = 1;
    r.value = eight;
    r.value_len = 8;
    r.timestamp = 2;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);

    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = pass_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_int64();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_string();
    out.value_serializer = rv_serde_int64();
    const char *topics[] = {"nums"}, *source[] = {"Source"}, *process[] = {"Pass"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_processor(t, "Pass", &sup, source, 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(
        rv_topology_add_sink(t, "Sink", "nums_out", &out, process, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);

    /* LogAndFailExceptionHandler (the default): the app stops in ERROR. */
    rv_streams_t *s = rv_streams_new(t, app_conf(fx, "deser-app", "a"), errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    rvt_wait_streams_state(s, RV_STREAMS_ERROR, 15000);
    rvt_assert_contains(rv_streams_last_error(s), "Task 0_0");
    rv_streams_destroy(s);
    assert_int_equal(read_output(fx, "nums_out", 1, 1, 500, got, sizeof got, 1), 0);

    /* LogAndContinueExceptionHandler: the bad record is skipped. */
    rv_conf_t *c = app_conf(fx, "deser-app", "a");
    assert_int_equal(rv_conf_set(c, "default.deserialization.exception.handler",
                                 "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler",
                                 errstr, sizeof errstr),
                     0);
    s = rv_streams_new(t, c, errstr, sizeof errstr);
    assert_non_null(s);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    assert_int_equal(read_output(fx, "nums_out", 1, 1, 15000, got, sizeof got, 1), 1);
    assert_string_equal(got, "k=7@2\n");
    assert_int_equal(rv_streams_state(s), RV_STREAMS_RUNNING);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

/* ---- Several instances ---- */

static void wait_outputs(fx_t *fx, const char *topic, int want, char *got, size_t got_size) {
    assert_int_equal(read_output(fx, topic, 2, want, 15000, got, got_size, 1), want);
}

static rv_streams_t *start_count(fx_t *fx, rv_topology_t *t, const char *sub, restored_t *r) {
    char errstr[1024];
    rv_streams_t *s = rv_streams_new(t, app_conf(fx, "count-app", sub), errstr, sizeof errstr);
    assert_non_null(s);
    rv_state_restore_listener_t l = RV_STATE_RESTORE_LISTENER_INIT;
    l.on_start = r_start;
    l.on_batch = r_batch;
    l.on_end = r_end;
    l.opaque = r;
    assert_int_equal(rv_streams_set_restore_listener(s, &l), 0);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);
    return s;
}

static void test_two_instances(void **state) {
    fx_t *fx = *state;
    char got[4096];
    rvt_create_topic_kept(fx->bs, "words", 2);
    rvt_create_topic_kept(fx->bs, "counts", 2);
    rv_topology_t *t = rvt_count_topology(&g_processed);
    restored_t ra = {0}, rb = {0};
    rv_streams_t *a = start_count(fx, t, "a", &ra);
    rvt_wait_streams_state(a, RV_STREAMS_RUNNING, 15000);
    produce(fx, "words", 0, "a", "x", 1);
    produce(fx, "words", 1, "b", "x", 2);
    wait_outputs(fx, "counts", 2, got, sizeof got);

    /* B joins: the two tasks split, and B restores its task's store (one
     * changelog record) into its empty state folder. */
    rv_streams_t *b = start_count(fx, t, "b", &rb);
    rvt_wait_streams_state(b, RV_STREAMS_RUNNING, 15000);
    rvt_wait_streams_state(a, RV_STREAMS_RUNNING, 15000);
    assert_int_equal(rb.ends, 1);
    assert_int_equal(rb.total, 1);
    produce(fx, "words", 0, "a", "x", 3);
    produce(fx, "words", 1, "b", "x", 4);
    wait_outputs(fx, "counts", 4, got, sizeof got);
    rvt_assert_contains(got, "a=2@3");
    rvt_assert_contains(got, "b=2@4");

    /* B leaves: A takes its task back and replays what B added to the
     * changelog since A's checkpoint (one record). */
    int64_t before = ra.total;
    assert_int_equal(rv_streams_close(b, 10000), 0);
    rv_streams_destroy(b);
    rvt_wait_streams_state(a, RV_STREAMS_RUNNING, 15000);
    produce(fx, "words", 0, "a", "x", 5);
    produce(fx, "words", 1, "b", "x", 6);
    wait_outputs(fx, "counts", 6, got, sizeof got);
    rvt_assert_contains(got, "a=3@5");
    rvt_assert_contains(got, "b=3@6");
    assert_int_equal(ra.total - before, 1);
    assert_int_equal(rv_streams_close(a, 10000), 0);
    rv_streams_destroy(a);
    rv_topology_destroy(t);
}

static int g_seen[64];

static rv_err_t mark_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                             void *state) {
    (void)ctx;
    (void)state;
    int v = atoi(record->value);
    if (v >= 0 && v < 64)
        __atomic_add_fetch(&g_seen[v], 1, __ATOMIC_SEQ_CST);
    return 0;
}

static rv_err_t mark_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = mark_process;
    return 0;
}

static int seen_count(int n, int min) {
    int c = 0;
    for (int i = 0; i < n; i++)
        c += __atomic_load_n(&g_seen[i], __ATOMIC_SEQ_CST) >= min;
    return c;
}

static void wait_seen(int n, int timeout_ms) {
    int64_t until = rv__mono_ms() + timeout_ms;
    while (seen_count(n, 1) < n && rv__mono_ms() < until) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (seen_count(n, 1) < n)
        for (int i = 0; i < n; i++)
            fprintf(stderr, "seen[%d] = %d\n", i, g_seen[i]);
    assert_int_equal(seen_count(n, 1), n);
}

static void test_crash_loses_nothing(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    rvt_create_topic_kept(fx->bs, "marks", 2);
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = mark_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    const char *topics[] = {"marks"}, *source[] = {"Source"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_processor(t, "Mark", &sup, source, 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    memset(g_seen, 0, sizeof g_seen);

    /* Nothing is committed while running (a long commit interval), so
     * whatever the crashed instance processed must be processed again. */
    rv_streams_t *inst[2];
    for (int i = 0; i < 2; i++) {
        rv_conf_t *c = app_conf(fx, "crash-app", i ? "b" : "a");
        assert_int_equal(rv_conf_set(c, "commit.interval.ms", "60000", errstr, sizeof errstr), 0);
        assert_int_equal(rv_conf_set(c, "session.timeout.ms", "1500", errstr, sizeof errstr), 0);
        inst[i] = rv_streams_new(t, c, errstr, sizeof errstr);
        assert_non_null(inst[i]);
        assert_int_equal(rv_streams_start(inst[i], errstr, sizeof errstr), 0);
        rvt_wait_streams_state(inst[i], RV_STREAMS_RUNNING, 15000);
    }
    rvt_wait_streams_state(inst[0], RV_STREAMS_RUNNING, 15000);
    for (int v = 0; v < 20; v++) {
        char val[8];
        snprintf(val, sizeof val, "%d", v);
        produce(fx, "marks", v % 2, "k", val, v);
    }
    wait_seen(20, 15000);
    rv__streams_simulate_crash(inst[1]);
    rv_streams_destroy(inst[1]);
    for (int v = 20; v < 30; v++) {
        char val[8];
        snprintf(val, sizeof val, "%d", v);
        produce(fx, "marks", v % 2, "k", val, v);
    }
    wait_seen(30, 15000);
    /* The survivor redid the crashed one's partition (10 of the first 20
     * records) once it noticed, after session.timeout.ms. */
    int64_t until = rv__mono_ms() + 15000;
    while (seen_count(20, 2) < 10 && rv__mono_ms() < until) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(seen_count(20, 2) >= 10);
    assert_int_equal(rv_streams_close(inst[0], 10000), 0);
    rv_streams_destroy(inst[0]);
    rv_topology_destroy(t);
}

/* ---- Stream time and emit-on-close across a restart ---- */

static rv_err_t cat_init(rv_out_t *out, void *opaque) {
    (void)opaque;
    return rv_out_value(out, "0", -1);
}

static rv_err_t cat_add(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                        const void *agg, int32_t al, void *opaque) {
    (void)k, (void)kl, (void)opaque;
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s+%.*s", (int)al, (const char *)agg, (int)vl, (const char *)v);
    return rv_out_value(out, buf, -1);
}

/* Tumbling windows of 10, no grace, emit on window close: "wout" gets
 * each window's final string aggregate once. */
static rv_topology_t *window_topology(void) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"win"};
    rv_kgrouped_stream_t *g =
        rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL);
    rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(10, 0);
    rv_time_windowed_kstream_t *w = rv_kgrouped_stream_windowed_by(g, &tw);
    w = rv_time_windowed_kstream_emit_strategy(w, RV_EMIT_ON_WINDOW_CLOSE);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "agg-store";
    rv_ktable_t *t = rv_time_windowed_kstream_aggregate(w, cat_init, NULL, cat_add, NULL, NULL, &m);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(t, NULL), "wout", NULL), 0);
    char err[1024];
    rv_topology_t *topo;
    if (rv_streams_builder_build(&topo, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    return topo;
}

static void run_window_app(fx_t *fx, rv_topology_t *t, int want, char *got, size_t got_size,
                           int *cnt) {
    char errstr[1024];
    rv_conf_t *c = app_conf(fx, "win-app", "w");
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "__emit.interval.ms.kstreams.windowed.aggregation__", "0",
                                 errstr, sizeof errstr),
                     0);
    rv_streams_t *s = rv_streams_new(t, c, errstr, sizeof errstr);
    assert_non_null(s);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    /* One more than expected, so that a repeated emission shows. */
    *cnt = read_output(fx, "wout", 1, want + 1, 3000, got, got_size, 0);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
}

/* Kafka commits the partition time and the processors' metadata with the
 * input offsets. After a restart, a record late with respect to the
 * stream time before it is dropped as it would be without the restart,
 * and the window that closed before it is not emitted again. */
static void test_stream_time_survives_restart(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "win", 1);
    rvt_create_topic_kept(fx->bs, "wout", 1);
    rv_topology_t *t = window_topology();
    produce(fx, "win", 0, "a", "1", 1);
    produce(fx, "win", 0, "a", "2", 5);
    produce(fx, "win", 0, "a", "3", 12); /* stream time 12: [0,10) closes */
    char got[4096];
    int cnt = 0;
    run_window_app(fx, t, 1, got, sizeof got, &cnt);
    /* The key is the windowed key's bytes: only the values are compared. */
    assert_int_equal(cnt, 1);
    rvt_assert_contains(got, "=0+1+2@5\n");

    /* Late for stream time 12 (window [0,10) closed): dropped. Then 25
     * closes [10,20) only. */
    produce(fx, "win", 0, "a", "4", 8);
    produce(fx, "win", 0, "a", "5", 25);
    run_window_app(fx, t, 2, got, sizeof got, &cnt);
    assert_int_equal(cnt, 2);
    rvt_assert_contains(got, "=0+1+2@5\n");
    rvt_assert_contains(got, "=0+3@12\n");
    rv_topology_destroy(t);
}

/* Forwards each record with its value replaced by the task's stream time. */
static rv_err_t st_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                           void *state) {
    (void)state;
    char buf[32];
    rv_processor_record_t r = *record;
    snprintf(buf, sizeof buf, "%" PRId64, rv_processor_context_current_stream_time_ms(ctx));
    r.value = buf;
    r.value_len = (int32_t)strlen(buf);
    return rv_processor_context_forward(ctx, &r);
}

static rv_err_t st_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = st_process;
    return 0;
}

/* The task's stream time comes back from the committed metadata: a record
 * older than the stream time before the restart sees that stream time. */
static void test_task_stream_time_restored(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    rvt_create_topic_kept(fx->bs, "st", 1);
    rvt_create_topic_kept(fx->bs, "stout", 1);
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = st_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_bytes();
    in.value_deserializer = rv_serde_bytes();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_bytes();
    out.value_serializer = rv_serde_bytes();
    const char *topics[] = {"st"}, *source[] = {"Source"}, *process[] = {"ST"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_processor(t, "ST", &sup, source, 1, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_sink(t, "Sink", "stout", &out, process, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    char got[4096];
    for (int run = 0; run < 2; run++) {
        if (run == 0) {
            produce(fx, "st", 0, "a", "x", 20);
            produce(fx, "st", 0, "b", "x", 7);
        } else {
            produce(fx, "st", 0, "c", "x", 3);
        }
        rv_streams_t *s = rv_streams_new(t, app_conf(fx, "st-app", "st"), errstr, sizeof errstr);
        assert_non_null(s);
        if (rv_streams_start(s, errstr, sizeof errstr))
            fail_msg("start: %s", errstr);
        rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
        assert_int_equal(read_output(fx, "stout", 1, 2 + run, 15000, got, sizeof got, 0), 2 + run);
        assert_int_equal(rv_streams_close(s, 10000), 0);
        rv_streams_destroy(s);
    }
    /* Without the committed partition time, c would see stream time 3. */
    assert_string_equal(got, "a=20@20\nb=20@7\nc=20@3\n");
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filter_app, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copartitioning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_restart_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_application, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_request_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deserialization_handlers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_task_idle_timestamp_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pattern_source_new_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_pauses_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_time_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_stream_time_restored, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
