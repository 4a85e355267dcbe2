/* tests/unit/test_streams_global.c: global stores in the running app
 * (runtime/global_thread.c with runtime/streams.c) against a broker in a
 * temporary folder: a stream task enriching records from a global store
 * filled from a two-partition topic, later global updates seen by later
 * records, the stream threads' read-only view (chunked iterators),
 * restart from the checkpoint (only the tail replayed) and after a wiped
 * state folder, a missing global topic, a checkpoint out of range, close
 * while bootstrapping, and a global processor failure. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/rivulet.h"
#include "runtime/streams_internal.h"

#define N_CUSTOMERS 300

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
    r.value_len = value ? (int32_t)strlen(value) : -1;
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

/* Customers c000..c<n-1> named "name<i>", even ones to partition 0, odd
 * ones to partition 1. */
static void produce_customers(fx_t *fx, int n) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "c%03d", i);
        snprintf(v, sizeof v, "name%d", i);
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "customers";
        r.partition = i % 2;
        r.key = k;
        r.key_len = (int32_t)strlen(k);
        r.value = v;
        r.value_len = (int32_t)strlen(v);
        r.timestamp = 100 + i;
        assert_int_equal(rv_producer_send(p, &r, NULL, NULL, errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    rv_producer_destroy(p);
}

/* Reads partition 0 of topic from the beginning until `want` records
 * arrived, as "key=value@ts\n" lines. */
static int read_output(fx_t *fx, const char *topic, int want, int timeout_ms, char *out,
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
            snprintf(line, sizeof line, "%.*s=%.*s@%" PRId64 "\n", k ? (int)kl : 0, k ? k : "",
                     v ? (int)vl : 0, v ? v : "", rv_record_timestamp(r));
            strncat(out, line, out_size - strlen(out) - 1);
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    return got;
}

/* ---- The topology ---- */

/* The global processor: puts each record into its store (the supplier's
 * opaque names it; a null value deletes); value "boom" fails; a positive
 * g_slow_us sleeps per record. */
static int g_slow_us;

static rv_err_t global_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                               void *state) {
    rv_kv_store_t *st = rv_processor_context_get_state_store(ctx, state);
    if (!st)
        return RV_ERR__STATE;
    if (g_slow_us) {
        struct timespec ts = {0, (long)g_slow_us * 1000L};
        nanosleep(&ts, NULL);
    }
    if (record->value && record->value_len == 4 && !memcmp(record->value, "boom", 4))
        return RV_ERR__INVALID_ARG;
    return rv_kv_store_put(st, record->key, (size_t)record->key_len, record->value,
                           record->value ? (size_t)record->value_len : 0);
}

static rv_err_t global_get(rv_processor_t *out, void *opaque) {
    out->process = global_process;
    out->state = opaque;
    return 0;
}

/* The stream processor: an order (key: order id, value: customer id)
 * becomes "<customer id>:<customer name or ?>". A write to the global
 * store must be refused. */
static int g_put_refused;

static rv_err_t enrich_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                               void *state) {
    (void)state;
    rv_kv_store_t *st = rv_processor_context_get_state_store(ctx, "Customers");
    if (!st)
        return RV_ERR__STATE;
    if (rv_kv_store_put(st, "x", 1, "y", 1) != 0)
        __atomic_store_n(&g_put_refused, 1, __ATOMIC_SEQ_CST);
    rv_bytes_t name = {0};
    rv_err_t err = rv_kv_store_get(&name, st, record->value, (size_t)record->value_len);
    if (err && err != RV_ERR__NOENT)
        return err;
    char v[256];
    snprintf(v, sizeof v, "%.*s:%.*s", (int)record->value_len, (const char *)record->value,
             name.data ? (int)name.len : 1, name.data ? (const char *)name.data : "?");
    rv_bytes_free(&name);
    rv_processor_record_t out = {
        record->key, record->key_len, v, (int32_t)strlen(v), record->timestamp, NULL, 0};
    return rv_processor_context_forward(ctx, &out);
}

static rv_err_t enrich_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = enrich_process;
    return 0;
}

static rv_topology_t *enrich_topology(bool persistent) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_string();
    out.value_serializer = rv_serde_string();
    rv_processor_supplier_t enrich = RV_PROCESSOR_SUPPLIER_INIT,
                            global = RV_PROCESSOR_SUPPLIER_INIT;
    enrich.get = enrich_get;
    global.get = global_get;
    global.opaque = (void *)"Customers";
    const char *topics[] = {"orders"}, *source[] = {"Source"}, *process[] = {"Enrich"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_processor(t, "Enrich", &enrich, source, 1, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_sink(t, "Sink", "enriched", &out, process, 1, errstr, sizeof errstr), 0);
    rv_store_builder_t *b = persistent ? rv_store_builder_persistent_kv("Customers")
                                       : rv_store_builder_in_memory_kv("Customers");
    rv_store_builder_with_logging_disabled(b);
    rv_store_builder_with_caching_enabled(b);
    assert_int_equal(rv_topology_add_global_store(t, b, "CustomersSource", "customers", &in,
                                                  "CustomersProcessor", &global, errstr,
                                                  sizeof errstr),
                     0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    return t;
}

/* ---- App helpers ---- */

typedef struct restored_s {
    int starts, ends;
    int64_t total;
    int64_t start_offset[2], end_offset[2];
} restored_t;

static void r_start(const char *topic, int32_t partition, const char *store, int64_t from,
                    int64_t to, void *opaque) {
    restored_t *r = opaque;
    assert_string_equal(topic, "customers");
    assert_string_equal(store, "Customers");
    assert_true(partition >= 0 && partition < 2);
    r->starts++;
    r->start_offset[partition] = from;
    r->end_offset[partition] = to;
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

static rv_streams_t *new_app(fx_t *fx, rv_topology_t *t, const char *state_sub, restored_t *r) {
    char errstr[1024];
    rv_streams_t *s =
        rv_streams_new(t, app_conf(fx, "global-app", state_sub), errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    if (r) {
        rv_state_restore_listener_t l = RV_STATE_RESTORE_LISTENER_INIT;
        l.on_start = r_start;
        l.on_batch = r_batch;
        l.on_end = r_end;
        l.opaque = r;
        assert_int_equal(rv_streams_set_restore_listener(s, &l), 0);
    }
    return s;
}

static rv_streams_t *start_app(fx_t *fx, rv_topology_t *t, const char *state_sub, restored_t *r) {
    char errstr[1024];
    rv_streams_t *s = new_app(fx, t, state_sub, r);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    return s;
}

/* Waits until the stream threads' view of "Customers" maps key to want. */
static void wait_global(rv_streams_t *s, const char *key, const char *want) {
    rv_kv_store_t *v = rv__streams_global_store(s, "Customers");
    assert_non_null(v);
    int64_t until = rv__mono_ms() + 10000;
    for (;;) {
        rv_bytes_t got = {0};
        bool ok = !rv_kv_store_get(&got, v, key, strlen(key)) && got.len == strlen(want) &&
                  !memcmp(got.data, want, got.len);
        rv_bytes_free(&got);
        if (ok)
            return;
        if (rv__mono_ms() > until)
            fail_msg("global store never mapped %s to %s", key, want);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- Tests ---- */

static void test_enrich(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "customers", 2);
    rvt_create_topic_kept(fx->bs, "orders", 1);
    rvt_create_topic_kept(fx->bs, "enriched", 1);
    produce_customers(fx, N_CUSTOMERS);
    produce(fx, "orders", 0, "o1", "c001", 1000);
    produce(fx, "orders", 0, "o2", "c002", 1001);
    produce(fx, "orders", 0, "o3", "c999", 1002);
    produce(fx, "orders", 0, "o4", "c299", 1003);
    rv_topology_t *t = enrich_topology(true);
    restored_t r = {0};
    rv_streams_t *s = start_app(fx, t, "a", &r);
    /* Bootstrapped before any stream record: every lookup hits. */
    assert_int_equal(r.starts, 2);
    assert_int_equal(r.ends, 2);
    assert_int_equal(r.total, N_CUSTOMERS);
    assert_int_equal(r.start_offset[0], 0);
    assert_int_equal(r.end_offset[0], N_CUSTOMERS / 2);
    assert_int_equal(r.end_offset[1], N_CUSTOMERS / 2);
    char got[8192];
    assert_int_equal(read_output(fx, "enriched", 4, 15000, got, sizeof got), 4);
    assert_string_equal(got, "o1=c001:name1@1000\n"
                             "o2=c002:name2@1001\n"
                             "o3=c999:?@1002\n"
                             "o4=c299:name299@1003\n");
    assert_int_equal(__atomic_load_n(&g_put_refused, __ATOMIC_SEQ_CST), 1);

    /* A later update of the global topic is seen by later records. */
    produce(fx, "customers", 1, "c001", "Alice", 2000);
    produce(fx, "customers", 0, "c002", NULL, 2001); /* a tombstone deletes */
    wait_global(s, "c001", "Alice");
    produce(fx, "orders", 0, "o5", "c001", 2002);
    produce(fx, "orders", 0, "o6", "c002", 2003);
    assert_int_equal(read_output(fx, "enriched", 6, 15000, got, sizeof got), 6);
    rvt_assert_contains(got, "o5=c001:Alice@2002\no6=c002:?@2003\n");

    /* The stream threads' view: read-only, iterators in chunks. */
    rv_kv_store_t *v = rv__streams_global_store(s, "Customers");
    assert_non_null(v);
    assert_null(rv__streams_global_store(s, "Nope"));
    assert_int_not_equal(rv_kv_store_put(v, "k", 1, "v", 1), 0);
    assert_true(rv_kv_store_approximate_num_entries(v) > 0);
    rv_kv_iter_t *it = NULL;
    assert_int_equal(rv_kv_store_all(&it, v), 0);
    int n = 0;
    char prev[32] = "";
    while (rv_kv_iter_next(it) == 1) {
        size_t kl = 0;
        const char *k = rv_kv_iter_key(it, &kl);
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)kl, k);
        assert_true(strcmp(prev, key) < 0);
        snprintf(prev, sizeof prev, "%s", key);
        n++;
    }
    rv_kv_iter_destroy(it);
    assert_int_equal(n, N_CUSTOMERS - 1);
    assert_int_equal(rv_kv_store_reverse_range(&it, v, "c100", 4, "c249", 4), 0);
    n = 0;
    snprintf(prev, sizeof prev, "c250");
    while (rv_kv_iter_next(it) == 1) {
        size_t kl = 0, vl = 0;
        const char *k = rv_kv_iter_key(it, &kl);
        const char *val = rv_kv_iter_value(it, &vl);
        char key[32], want[32];
        snprintf(key, sizeof key, "%.*s", (int)kl, k);
        assert_true(strcmp(key, prev) < 0);
        snprintf(prev, sizeof prev, "%s", key);
        snprintf(want, sizeof want, "name%d", atoi(key + 1));
        assert_int_equal(vl, strlen(want));
        assert_memory_equal(val, want, vl);
        n++;
    }
    rv_kv_iter_destroy(it);
    assert_int_equal(n, 150);

    assert_int_equal(rv_streams_close(s, 10000), 0);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_NOT_RUNNING);
    rv_streams_destroy(s);

    /* The global checkpoint holds the positions (next offsets). */
    char path[4600], buf[512] = "";
    snprintf(path, sizeof path, "%s/a/global-app/global/.checkpoint", fx->state);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    rvt_assert_contains(buf, "customers 0 151\n");
    rvt_assert_contains(buf, "customers 1 151\n");
    rv_topology_destroy(t);
}

static void test_restart_and_wipe(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "customers", 2);
    rvt_create_topic_kept(fx->bs, "orders", 1);
    rvt_create_topic_kept(fx->bs, "enriched", 1);
    produce_customers(fx, 20);
    rv_topology_t *t = enrich_topology(true);
    restored_t r1 = {0};
    rv_streams_t *s = start_app(fx, t, "a", &r1);
    assert_int_equal(r1.total, 20);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);

    /* Two more records while the app is down: a restart replays only them. */
    produce(fx, "customers", 0, "c000", "Zed", 3000);
    produce(fx, "customers", 1, "c777", "New", 3001);
    produce(fx, "orders", 0, "o1", "c777", 3002);
    restored_t r2 = {0};
    s = start_app(fx, t, "a", &r2);
    assert_int_equal(r2.starts, 2);
    assert_int_equal(r2.total, 2);
    assert_int_equal(r2.start_offset[0], 10);
    assert_int_equal(r2.start_offset[1], 10);
    assert_int_equal(r2.end_offset[0], 11);
    char got[1024];
    assert_int_equal(read_output(fx, "enriched", 1, 15000, got, sizeof got), 1);
    assert_string_equal(got, "o1=c777:New@3002\n");
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);

    /* A wiped state folder restores everything. */
    char sd[4400];
    snprintf(sd, sizeof sd, "%s/a", fx->state);
    rvt_rmtree(sd);
    restored_t r3 = {0};
    s = start_app(fx, t, "a", &r3);
    assert_int_equal(r3.total, 22);
    assert_int_equal(r3.start_offset[0], 0);
    wait_global(s, "c000", "Zed");
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);

    /* In memory: nothing checkpointed, every start restores everything. */
    rv_topology_t *tm = enrich_topology(false);
    restored_t r4 = {0};
    s = start_app(fx, tm, "m", &r4);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    restored_t r5 = {0};
    s = start_app(fx, tm, "m", &r5);
    assert_int_equal(r4.total, 22);
    assert_int_equal(r5.total, 22);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(tm);
    rv_topology_destroy(t);
}

static void test_checkpoint_out_of_range(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "customers", 2);
    rvt_create_topic_kept(fx->bs, "orders", 1);
    rvt_create_topic_kept(fx->bs, "enriched", 1);
    produce_customers(fx, 10);
    rv_topology_t *t = enrich_topology(true);
    rv_streams_t *s = start_app(fx, t, "a", NULL);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    /* Records under the checkpointed position go away. */
    produce_customers(fx, 10);
    char errstr[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    int64_t low = -1;
    assert_int_equal(rv_admin_delete_records(a, "customers", 0, 8, &low, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
    /* Kafka's InvalidOffsetException: the start fails and the global
     * state is wiped ... */
    s = new_app(fx, t, "a", NULL);
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), RV_ERR_OFFSET_OUT_OF_RANGE);
    rvt_assert_contains(errstr, "Bootstrapping global state failed");
    rvt_wait_streams_state(s, RV_STREAMS_ERROR, 5000);
    rvt_assert_contains(rv_streams_last_error(s), "Bootstrapping global state failed");
    rv_streams_destroy(s);
    /* ... so the next start restores from the log start. */
    restored_t r = {0};
    s = start_app(fx, t, "a", &r);
    assert_int_equal(r.start_offset[0], 8);
    assert_int_equal(r.start_offset[1], 0);
    assert_int_equal(r.total, 2 + 10);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

static void test_missing_global_topic(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "orders", 1);
    rvt_create_topic_kept(fx->bs, "enriched", 1);
    rv_topology_t *t = enrich_topology(true);
    rv_streams_t *s = new_app(fx, t, "a", NULL);
    char errstr[1024];
    int64_t t0 = rv__mono_ms();
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_true(rv__mono_ms() - t0 < 10000);
    rvt_assert_contains(errstr, "There are no partitions available for topic customers when "
                                "initializing global store Customers");
    rvt_wait_streams_state(s, RV_STREAMS_ERROR, 5000);
    rvt_assert_contains(rv_streams_last_error(s), "no partitions available for topic customers");
    assert_int_equal(rv_streams_close(s, 5000), 0);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

typedef struct starter_s {
    rv_streams_t *s;
    rv_err_t err;
    char errstr[1024];
} starter_t;

static void *start_thread(void *arg) {
    starter_t *st = arg;
    st->err = rv_streams_start(st->s, st->errstr, sizeof st->errstr);
    return NULL;
}

static void test_close_while_bootstrapping(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "customers", 2);
    rvt_create_topic_kept(fx->bs, "orders", 1);
    rvt_create_topic_kept(fx->bs, "enriched", 1);
    produce_customers(fx, N_CUSTOMERS);
    rv_topology_t *t = enrich_topology(true);
    restored_t r = {0};
    rv_streams_t *s = new_app(fx, t, "a", &r);
    g_slow_us = 20000; /* 300 records: 6 s of bootstrap */
    starter_t st = {s, 0, ""};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, start_thread, &st), 0);
    int64_t until = rv__mono_ms() + 10000;
    while (!__atomic_load_n(&r.starts, __ATOMIC_SEQ_CST) && rv__mono_ms() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rv_streams_state(s), RV_STREAMS_REBALANCING);
    int64_t t0 = rv__mono_ms();
    assert_int_equal(rv_streams_close(s, 10000), 0);
    assert_true(rv__mono_ms() - t0 < 3000);
    pthread_join(tid, NULL);
    g_slow_us = 0;
    assert_int_not_equal(st.err, 0);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_NOT_RUNNING);
    assert_string_equal(rv_streams_last_error(s), "");
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

typedef struct handled_s {
    int calls;
    char thread[512];
} handled_t;

static rv_streams_uncaught_response_t on_error(rv_err_t err, const char *message,
                                               const char *thread_name, void *opaque) {
    handled_t *h = opaque;
    (void)err;
    (void)message;
    h->calls++;
    snprintf(h->thread, sizeof h->thread, "%s", thread_name);
    return RV_STREAMS_REPLACE_THREAD; /* refused for the global thread */
}

static void test_global_failure_is_fatal(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "customers", 2);
    rvt_create_topic_kept(fx->bs, "orders", 1);
    rvt_create_topic_kept(fx->bs, "enriched", 1);
    produce_customers(fx, 4);
    rv_topology_t *t = enrich_topology(true);
    rv_streams_t *s = new_app(fx, t, "a", NULL);
    handled_t h = {0};
    assert_int_equal(rv_streams_set_uncaught_error_handler(s, on_error, &h), 0);
    char errstr[1024];
    assert_int_equal(rv_streams_start(s, errstr, sizeof errstr), 0);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    produce(fx, "customers", 1, "c003", "boom", 5000);
    rvt_wait_streams_state(s, RV_STREAMS_ERROR, 15000);
    assert_int_equal(h.calls, 1);
    rvt_assert_contains(h.thread, "-GlobalStreamThread");
    rvt_assert_contains(rv_streams_last_error(s), "GlobalStreamThread");
    rvt_assert_contains(rv_streams_last_error(s), "global store Customers");
    assert_int_equal(rv_streams_close(s, 10000), 0);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_ERROR);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

/* Two global stores and no stream sub-topology: no stream thread runs,
 * both stores share the global folder and its checkpoint. */
static void test_global_only(void **state) {
    fx_t *fx = *state;
    char errstr[1024];
    rvt_create_topic_kept(fx->bs, "customers", 2);
    rvt_create_topic_kept(fx->bs, "regions", 3);
    produce_customers(fx, 6);
    produce(fx, "regions", 2, "r1", "north", 10);
    rv_topology_t *t = rv_topology_new();
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    const char *names[] = {"Customers", "Regions"}, *topics[] = {"customers", "regions"};
    for (int i = 0; i < 2; i++) {
        rv_processor_supplier_t g = RV_PROCESSOR_SUPPLIER_INIT;
        g.get = global_get;
        g.opaque = (void *)names[i];
        rv_store_builder_t *b = rv_store_builder_persistent_kv(names[i]);
        rv_store_builder_with_logging_disabled(b);
        char src[32], proc[32];
        snprintf(src, sizeof src, "%sSource", names[i]);
        snprintf(proc, sizeof proc, "%sProcessor", names[i]);
        assert_int_equal(rv_topology_add_global_store(t, b, src, topics[i], &in, proc, &g, errstr,
                                                      sizeof errstr),
                         0);
    }
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    rv_streams_t *s = start_app(fx, t, "a", NULL);
    assert_int_equal(s->thread_cnt, 0);
    wait_global(s, "c005", "name5");
    produce(fx, "regions", 0, "r2", "south", 11);
    rv_kv_store_t *v = rv__streams_global_store(s, "Regions");
    assert_non_null(v);
    int64_t until = rv__mono_ms() + 10000;
    rv_bytes_t got = {0};
    while (rv_kv_store_get(&got, v, "r2", 2) && rv__mono_ms() < until) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(got.len, 5);
    assert_memory_equal(got.data, "south", 5);
    rv_bytes_free(&got);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    assert_int_equal(rv_streams_state(s), RV_STREAMS_NOT_RUNNING);
    rv_streams_destroy(s);
    char path[4600], buf[512] = "";
    snprintf(path, sizeof path, "%s/a/global-app/global/.checkpoint", fx->state);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    rvt_assert_contains(buf, "customers 1 3\n");
    rvt_assert_contains(buf, "regions 0 1\n");
    rvt_assert_contains(buf, "regions 2 1\n");
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enrich, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_global_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_bootstrapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_failure_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_only, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rvt_bootstrap_cleanup();
    return rc;
}
