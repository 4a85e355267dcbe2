/* tests/unit/test_processor_context.c: the processor context
 * (runtime/context.c) and the task under it (runtime/task.c): forward and
 * forward_to, stores through the context, punctuation of both kinds with
 * Kafka's schedule semantics, record metadata, timestamp order across two
 * input partitions of one task, stream time, the cache before commit, the
 * offsets a commit returns, close order. Most run through the test driver;
 * the multi-partition ones drive a task directly with a capturing
 * collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_records.h"
#include "common/record_batch.h"
#include "rivulet/rivulet.h"
#include "runtime/task.h"
#include "state/checkpoint.h"
#include "state/state_dir.h"
#include "testutil.h"

/* ---- A configurable test processor ---- */

#define MAX_EVENTS 64

typedef struct probe_s {
    /* What the processor does. */
    int forward_all;        /* forward every record */
    const char *forward_to; /* or only to this child */
    const char *store;      /* get this store in init */
    int64_t punct_interval;
    rv_punctuation_type_t punct_type;
    int cancel_after; /* cancel the punctuator after this many fires (0 never) */
    int put_times;    /* put the record's key this many times, values 1..n */

    /* What it saw. */
    rv_kv_store_t *got_store;
    char store_err[2048];
    rv_cancellable_t *handle;
    int64_t punct_times[MAX_EVENTS];
    int punct_meta[MAX_EVENTS]; /* record_metadata() inside the punctuator */
    int64_t punct_ts[MAX_EVENTS];
    int punct_cnt;
    int64_t ts[MAX_EVENTS];
    int64_t stream_time[MAX_EVENTS];
    int64_t offset[MAX_EVENTS];
    int32_t partition[MAX_EVENTS];
    char topic[MAX_EVENTS][32];
    int process_cnt;
    rv_err_t forward_err;
    char forward_msg[256];
    char task_id[32];
    char app_id[64];
    int64_t system_time;
    size_t header_cnt;
    char header_key[32];
    int closed;
    int close_seq;
    int close_store_ok; /* its store still worked in close() */
} probe_t;

static int close_counter;

typedef struct inst_s {
    probe_t *p;
    rv_processor_context_t *ctx;
} inst_t;

static rv_err_t probe_punct(rv_processor_context_t *ctx, int64_t ts, void *opaque) {
    probe_t *p = opaque;
    if (p->punct_cnt < MAX_EVENTS) {
        p->punct_times[p->punct_cnt] = ts;
        p->punct_meta[p->punct_cnt] = rv_processor_context_record_metadata(ctx, NULL, NULL, NULL);
        p->punct_ts[p->punct_cnt] = rv_processor_context_timestamp(ctx);
    }
    p->punct_cnt++;
    if (p->cancel_after && p->punct_cnt >= p->cancel_after)
        rv_cancellable_cancel(p->handle);
    return 0;
}

static rv_err_t probe_init(rv_processor_context_t *ctx, void *state) {
    inst_t *in = state;
    probe_t *p = in->p;
    in->ctx = ctx;
    snprintf(p->task_id, sizeof p->task_id, "%s", rv_processor_context_task_id(ctx));
    snprintf(p->app_id, sizeof p->app_id, "%s", rv_processor_context_application_id(ctx));
    p->system_time = rv_processor_context_current_system_time_ms(ctx);
    if (p->store) {
        p->got_store = rv_processor_context_get_state_store(ctx, p->store);
        snprintf(p->store_err, sizeof p->store_err, "%s", rv_processor_context_last_error(ctx));
    }
    if (p->punct_interval)
        return rv_processor_context_schedule(&p->handle, ctx, p->punct_interval, p->punct_type,
                                             probe_punct, p);
    return 0;
}

static rv_err_t probe_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                              void *state) {
    inst_t *in = state;
    probe_t *p = in->p;
    int i = p->process_cnt++;
    if (i < MAX_EVENTS) {
        p->ts[i] = rv_processor_context_timestamp(ctx);
        p->stream_time[i] = rv_processor_context_current_stream_time_ms(ctx);
        const char *topic = NULL;
        assert_int_equal(
            rv_processor_context_record_metadata(ctx, &topic, &p->partition[i], &p->offset[i]), 1);
        snprintf(p->topic[i], sizeof p->topic[i], "%s", topic);
    }
    p->system_time = rv_processor_context_current_system_time_ms(ctx);
    const rv_header_t *h = rv_processor_context_headers(ctx, &p->header_cnt);
    if (h && p->header_cnt)
        snprintf(p->header_key, sizeof p->header_key, "%s", h[0].key);
    for (int k = 1; k <= p->put_times; k++) {
        unsigned char v = (unsigned char)('0' + k);
        rv_err_t err = rv_kv_store_put(p->got_store, r->key, (size_t)r->key_len, &v, 1);
        if (err)
            return err;
    }
    if (p->forward_to) {
        p->forward_err = rv_processor_context_forward_to(ctx, r, p->forward_to);
        snprintf(p->forward_msg, sizeof p->forward_msg, "%s", rv_processor_context_last_error(ctx));
        return 0;
    }
    if (p->forward_all)
        return rv_processor_context_forward(ctx, r);
    return 0;
}

static void probe_close(void *state) {
    inst_t *in = state;
    probe_t *p = in->p;
    p->closed++;
    p->close_seq = ++close_counter;
    if (p->got_store) {
        rv_bytes_t b;
        rv_err_t err = rv_kv_store_get(&b, p->got_store, "x", 1);
        p->close_store_ok = err == RV_ERR_NO_ERROR || err == RV_ERR__NOENT;
        rv_bytes_free(&b);
    }
    free(in);
}

static rv_err_t probe_get(rv_processor_t *out, void *opaque) {
    inst_t *in = calloc(1, sizeof *in);
    if (!in)
        return RV_ERR__NOMEM;
    in->p = opaque;
    out->init = probe_init;
    out->process = probe_process;
    out->close = probe_close;
    out->state = in;
    return 0;
}

static void add_probe(rv_topology_t *t, const char *name, probe_t *p, const char *parent) {
    char err[512];
    rv_processor_supplier_t s = RV_PROCESSOR_SUPPLIER_INIT;
    s.get = probe_get;
    s.opaque = p;
    const char *parents[] = {parent};
    assert_int_equal(rv_topology_add_processor(t, name, &s, parents, 1, err, sizeof err), 0);
}

static void add_source(rv_topology_t *t, const char *name, const char *topic) {
    char err[512];
    rv_source_opts_t o = RV_SOURCE_OPTS_INIT;
    o.key_deserializer = rv_serde_string();
    o.value_deserializer = rv_serde_string();
    const char *topics[] = {topic};
    assert_int_equal(rv_topology_add_source(t, name, topics, 1, &o, err, sizeof err), 0);
}

static void add_sink(rv_topology_t *t, const char *name, const char *topic, const char *parent) {
    char err[512];
    rv_sink_opts_t o = RV_SINK_OPTS_INIT;
    o.key_serializer = rv_serde_string();
    o.value_serializer = rv_serde_string();
    const char *parents[] = {parent};
    assert_int_equal(rv_topology_add_sink(t, name, topic, &o, parents, 1, err, sizeof err), 0);
}

static rv_test_driver_t *driver(rv_topology_t *t, int64_t now) {
    char err[1024];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "ctx-test", err, sizeof err), 0);
    rv_test_driver_t *d = rv_test_driver_new(t, c, now, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    return d;
}

static void pipe_kv(rv_test_driver_t *d, const char *topic, const char *k, const char *v,
                    int64_t ts) {
    rv_err_t err = rv_test_driver_pipe_input(d, topic, k, (int32_t)strlen(k), v, (int32_t)strlen(v),
                                             ts, NULL, 0);
    if (err)
        fail_msg("pipe: %s", rv_test_driver_last_error(d));
}

/* Reads the next record of topic as "key=value@ts" ("" when none). */
static void next_out(char *buf, size_t size, rv_test_driver_t *d, const char *topic) {
    rv_test_record_t *r;
    buf[0] = '\0';
    if (rv_test_driver_read_output(&r, d, topic))
        return;
    int32_t kl, vl;
    const char *k = rv_test_record_key(r, &kl);
    const char *v = rv_test_record_value(r, &vl);
    snprintf(buf, size, "%.*s=%.*s@%lld", kl < 0 ? 4 : (int)kl, k ? k : "null",
             vl < 0 ? 4 : (int)vl, v ? v : "null", (long long)rv_test_record_timestamp(r));
    rv_test_record_destroy(r);
}

/* ---- forward / forward_to ---- */

static void test_forward_and_forward_to(void **state) {
    (void)state;
    probe_t top = {.forward_all = 1}, a = {.forward_all = 1}, b = {.forward_all = 1};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &top, "Source");
    add_probe(t, "A", &a, "P");
    add_probe(t, "B", &b, "P");
    add_sink(t, "SinkA", "out-a", "A");
    add_sink(t, "SinkB", "out-b", "B");
    rv_test_driver_t *d = driver(t, 0);

    pipe_kv(d, "in", "k", "all", 7);
    char buf[128];
    next_out(buf, sizeof buf, d, "out-a");
    assert_string_equal(buf, "k=all@7");
    next_out(buf, sizeof buf, d, "out-b");
    assert_string_equal(buf, "k=all@7");

    top.forward_to = "B";
    pipe_kv(d, "in", "k", "only-b", 8);
    assert_true(rv_test_driver_is_empty(d, "out-a"));
    next_out(buf, sizeof buf, d, "out-b");
    assert_string_equal(buf, "k=only-b@8");
    assert_int_equal(top.forward_err, 0);

    top.forward_to = "Nope";
    pipe_kv(d, "in", "k", "lost", 9);
    assert_int_equal(top.forward_err, RV_ERR__INVALID_ARG);
    assert_string_equal(top.forward_msg, "Unknown downstream node: Nope either does not exist "
                                         "or is not connected to this processor.");
    assert_true(rv_test_driver_is_empty(d, "out-a"));
    assert_true(rv_test_driver_is_empty(d, "out-b"));
    assert_int_equal(a.process_cnt, 1);
    assert_int_equal(b.process_cnt, 2);

    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* ---- stores through the context ---- */

static void test_get_state_store(void **state) {
    (void)state;
    probe_t owner = {.store = "S", .put_times = 1};
    probe_t other = {.store = "S"};
    probe_t unknown = {.store = "Missing"};
    rv_topology_t *t = rv_topology_new();
    char err[512];
    add_source(t, "Source", "in");
    add_probe(t, "Owner", &owner, "Source");
    add_probe(t, "Other", &other, "Source");
    add_probe(t, "Unknown", &unknown, "Source");
    const char *procs[] = {"Owner"};
    assert_int_equal(rv_topology_add_state_store(t, rv_store_builder_in_memory_kv("S"), procs, 1,
                                                 err, sizeof err),
                     0);
    rv_test_driver_t *d = driver(t, 0);
    assert_non_null(owner.got_store);
    assert_string_equal(rv_kv_store_name(owner.got_store), "S");
    assert_null(other.got_store);
    rvt_assert_contains(other.store_err, "Processor Other has no access to StateStore S as the "
                                         "store is not connected to the processor.");
    assert_null(unknown.got_store);
    rvt_assert_contains(unknown.store_err, "StateStore Missing");

    pipe_kv(d, "in", "key", "v", 1);
    rv_bytes_t b;
    assert_int_equal(rv_kv_store_get(&b, rv_test_driver_get_kv_store(d, "S"), "key", 3), 0);
    assert_memory_equal(b.data, "1", 1);
    rv_bytes_free(&b);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* ---- punctuation ---- */

static void test_punctuate_stream_time(void **state) {
    (void)state;
    probe_t p = {.punct_interval = 10, .punct_type = RV_PUNCTUATION_TYPE_STREAM_TIME};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    rv_test_driver_t *d = driver(t, 0);
    assert_int_equal(p.punct_cnt, 0); /* no stream time before data */
    /* Aligned to 0: the first record fires at once; 35 folds the one due
     * at 20 and 30 into one call at 35; the next is due at 40. An older
     * record does not move stream time back. */
    int64_t in[] = {0, 5, 10, 35, 39, 3, 40, 41};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        pipe_kv(d, "in", "k", "v", in[i]);
    assert_int_equal(p.punct_cnt, 4);
    int64_t want[] = {0, 10, 35, 40};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p.punct_times[i], want[i]);
        assert_int_equal(p.punct_ts[i], want[i]); /* the context's timestamp */
        assert_int_equal(p.punct_meta[i], 0);     /* no record metadata */
    }
    int64_t st[] = {0, 5, 10, 35, 39, 39, 40, 41};
    for (int i = 0; i < 8; i++)
        assert_int_equal(p.stream_time[i], st[i]);
    assert_int_equal(p.ts[5], 3); /* processed with its own timestamp */
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static void test_punctuate_wall_clock(void **state) {
    (void)state;
    probe_t p = {.punct_interval = 100, .punct_type = RV_PUNCTUATION_TYPE_WALL_CLOCK_TIME};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    rv_test_driver_t *d = driver(t, 1000);
    assert_int_equal(p.system_time, 1000);
    /* First due at now + interval = 1100; 1350 fires once (1200 and 1300
     * are skipped) and the next is due at 1400. */
    assert_int_equal(rv_test_driver_advance_wall_clock(d, 50), 0);
    assert_int_equal(p.punct_cnt, 0);
    assert_int_equal(rv_test_driver_advance_wall_clock(d, 50), 0);
    assert_int_equal(p.punct_cnt, 1);
    assert_int_equal(rv_test_driver_advance_wall_clock(d, 250), 0);
    assert_int_equal(p.punct_cnt, 2);
    assert_int_equal(rv_test_driver_advance_wall_clock(d, 49), 0);
    assert_int_equal(p.punct_cnt, 2);
    assert_int_equal(rv_test_driver_advance_wall_clock(d, 1), 0);
    assert_int_equal(p.punct_cnt, 3);
    int64_t want[] = {1100, 1350, 1400};
    for (int i = 0; i < 3; i++)
        assert_int_equal(p.punct_times[i], want[i]);
    /* Records do not fire wall-clock punctuators. */
    pipe_kv(d, "in", "k", "v", 99999);
    assert_int_equal(p.punct_cnt, 3);
    assert_int_equal(p.system_time, 1400);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static void test_punctuate_cancel(void **state) {
    (void)state;
    probe_t p = {
        .punct_interval = 10, .punct_type = RV_PUNCTUATION_TYPE_STREAM_TIME, .cancel_after = 2};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    rv_test_driver_t *d = driver(t, 0);
    pipe_kv(d, "in", "k", "v", 0);
    pipe_kv(d, "in", "k", "v", 10);
    pipe_kv(d, "in", "k", "v", 20);
    pipe_kv(d, "in", "k", "v", 30);
    assert_int_equal(p.punct_cnt, 2);
    rv_cancellable_cancel(p.handle); /* again: nothing */
    rv_cancellable_cancel(NULL);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* Schedule refuses an interval under 1 ms, failing init. */
static rv_err_t bad_init(rv_processor_context_t *ctx, void *state) {
    (void)state;
    rv_err_t err = rv_processor_context_schedule(NULL, ctx, 0, RV_PUNCTUATION_TYPE_STREAM_TIME,
                                                 probe_punct, NULL);
    assert_int_equal(err, RV_ERR__INVALID_ARG);
    assert_string_equal(rv_processor_context_last_error(ctx),
                        "The minimum supported scheduling interval is 1 millisecond.");
    return err;
}
static rv_err_t noop_process(rv_processor_context_t *ctx, const rv_processor_record_t *r, void *s) {
    (void)ctx, (void)r, (void)s;
    return 0;
}
static rv_err_t bad_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->init = bad_init;
    out->process = noop_process;
    return 0;
}

static void test_schedule_interval_and_init_failure(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    char err[1024];
    rv_processor_supplier_t s = RV_PROCESSOR_SUPPLIER_INIT;
    s.get = bad_get;
    const char *parents[] = {"Source"};
    assert_int_equal(rv_topology_add_processor(t, "Bad", &s, parents, 1, err, sizeof err), 0);
    rv_conf_t *c = rv_conf_new();
    assert_null(rv_test_driver_new(t, c, 0, err, sizeof err));
    rvt_assert_contains(err, "Failed to initialize processor Bad");
    rvt_assert_contains(err, "The minimum supported scheduling interval is 1 millisecond.");
    rv_conf_destroy(c); /* not taken on failure */
    rv_topology_destroy(t);
}

/* ---- record metadata, headers, ids ---- */

static void test_record_metadata(void **state) {
    (void)state;
    probe_t p = {0};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    rv_test_driver_t *d = driver(t, 42);
    pipe_kv(d, "in", "a", "1", 100);
    rv_header_t h = {"trace", "x", 1};
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "b", 1, "2", 1, 200, &h, 1), 0);
    assert_int_equal(p.process_cnt, 2);
    assert_string_equal(p.topic[1], "in");
    assert_int_equal(p.partition[1], 0);
    assert_int_equal(p.offset[0], 0);
    assert_int_equal(p.offset[1], 1);
    assert_int_equal(p.ts[1], 200);
    assert_int_equal(p.header_cnt, 1);
    assert_string_equal(p.header_key, "trace");
    assert_string_equal(p.task_id, "0_0");
    assert_string_equal(p.app_id, "ctx-test");
    assert_int_equal(p.system_time, 42);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* ---- Tasks driven directly ---- */

typedef struct capture_s {
    char topic[16][64];
    int32_t partition[16];
    char value[16][16];
    int cnt;
    int flushes;
} capture_t;

static rv_err_t cap_send(void *opaque, const char *topic, int32_t partition, const void *key,
                         int32_t key_len, const void *value, int32_t value_len, int64_t ts,
                         const rv_header_t *h, size_t hc, char *errstr, size_t errstr_size) {
    capture_t *c = opaque;
    (void)key, (void)key_len, (void)ts, (void)h, (void)hc, (void)errstr, (void)errstr_size;
    if (c->cnt < 16) {
        snprintf(c->topic[c->cnt], sizeof c->topic[0], "%s", topic);
        c->partition[c->cnt] = partition;
        snprintf(c->value[c->cnt], sizeof c->value[0], "%.*s", value ? (int)value_len : 4,
                 value ? (const char *)value : "null");
    }
    c->cnt++;
    return 0;
}
static rv_err_t cap_flush(void *opaque, char *errstr, size_t errstr_size) {
    (void)errstr, (void)errstr_size;
    ((capture_t *)opaque)->flushes++;
    return 0;
}
static int64_t cap_last_offset(void *opaque, const char *topic, int32_t partition) {
    capture_t *c = opaque;
    int64_t last = -1;
    for (int i = 0; i < c->cnt && i < 16; i++)
        if (!strcmp(c->topic[i], topic) && c->partition[i] == partition)
            last = i;
    return last;
}

typedef struct task_fx_s {
    char *dir;
    rv_conf_t *conf;
    rv__state_dir_t *sd;
    capture_t cap;
    rv__task_t *task;
} task_fx_t;

static void task_open_meta(task_fx_t *fx, rv_topology_t *t, int32_t partition, const char *topic,
                           const char *const *metadata, size_t meta_cnt);

static void task_open(task_fx_t *fx, rv_topology_t *t, int32_t partition) {
    task_open_meta(fx, t, partition, NULL, NULL, 0);
}

/* As task_open(), restoring the commit metadata of topic's partitions
 * 0..meta_cnt-1 before init (what the stream thread does on assignment). */
static void task_open_meta(task_fx_t *fx, rv_topology_t *t, int32_t partition, const char *topic,
                           const char *const *metadata, size_t meta_cnt) {
    char err[1024];
    memset(fx, 0, sizeof *fx);
    fx->dir = rvt_tmpdir();
    fx->conf = rv_conf_new();
    assert_int_equal(rv_conf_set(fx->conf, "application.id", "app", err, sizeof err), 0);
    assert_int_equal(rv_topology_build(t, err, sizeof err), 0);
    assert_int_equal(rv__state_dir_open(&fx->sd, fx->dir, "app", err, sizeof err), 0);
    rv__task_opts_t o;
    memset(&o, 0, sizeof o);
    o.topology = t;
    o.subtopology = 0;
    o.partition = partition;
    o.conf = fx->conf;
    o.state_dir = fx->sd;
    o.collector.send = cap_send;
    o.collector.flush = cap_flush;
    o.collector.last_offset = cap_last_offset;
    o.collector.opaque = &fx->cap;
    if (rv__task_new(&fx->task, &o, err, sizeof err))
        fail_msg("task: %s", err);
    for (size_t i = 0; i < meta_cnt; i++)
        assert_int_equal(rv__task_restore_metadata(fx->task, topic, (int32_t)i, metadata[i]), 0);
    assert_int_equal(rv__task_init(fx->task, err, sizeof err), 0);
}

static void task_done(task_fx_t *fx) {
    rv__task_destroy(fx->task);
    rv__state_dir_destroy(fx->sd);
    rv_conf_destroy(fx->conf);
    rvt_rmtree(fx->dir);
    free(fx->dir);
}

static void add(task_fx_t *fx, const char *topic, int32_t partition, int64_t offset, int64_t ts) {
    char err[1024];
    assert_int_equal(rv__task_add_record(fx->task, topic, partition, offset, ts, "k", 1, "v", 1,
                                         NULL, 0, err, sizeof err),
                     0);
}

/* A consumer-like container of records for two partitions, each record
 * with a header; null and empty values included. */
static rv_records_t *consumed(const char *topic) {
    rv_records_t *rs = rv__records_new(4);
    for (int32_t part = 0; part < 2; part++) {
        rv__buf_t buf = RV__BUF_INIT, hb = RV__BUF_INIT;
        assert_int_equal(rv__headers_encode(&hb, "h", 1, "x", 1), 0);
        rv__batch_builder_t b;
        assert_int_equal(rv__batch_builder_begin(&b, &buf, 10, 0, INT64_MIN, -1, -1, -1, -1), 0);
        /* partition 0: ts 5 "a", ts 30 null; partition 1: ts 10 "", ts 20 "bb" */
        const char *v0 = part ? "" : "a", *v1 = part ? "bb" : NULL;
        assert_int_equal(rv__batch_builder_add(&b, 10, part ? 10 : 5, "k", 1, v0,
                                               (int32_t)strlen(v0), 1, hb.data, hb.len),
                         0);
        assert_int_equal(rv__batch_builder_add(&b, 11, part ? 20 : 30, "k", 1, v1,
                                               v1 ? (int32_t)strlen(v1) : -1, 1, hb.data, hb.len),
                         0);
        assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
        rv__buf_free(&hb);
        rv__chunk_t *ch = rv__chunk_new(&buf, topic);
        rv__record_iter_t it;
        rv__record_t rec;
        assert_int_equal(rv__record_iter_init(&it, ch->data, ch->len), 0);
        while (rv__record_iter_next(&it, &rec) == 1)
            assert_int_equal(rv__records_add(rs, ch, part, RV_TIMESTAMP_CREATE_TIME, &rec), 0);
        rv__chunk_unref(ch); /* the container holds it now */
    }
    rv__records_finish(rs);
    return rs;
}

/* Records queued from a shared consumer container are not copied: the
 * owner drops its reference at once (as the stream thread does), the
 * records stay readable until processed, in timestamp order across the
 * partitions, with headers and metadata; the bytes serde hands the
 * records' own bytes through to the sink, nulls and empty values kept
 * apart. ASan checks that nothing is read after the container is gone
 * and that it is freed once the last record was processed. */
static void test_task_shared_records(void **state) {
    (void)state;
    char err[1024];
    probe_t p = {0};
    p.forward_all = 1;
    rv_topology_t *t = rv_topology_new();
    rv_source_opts_t so = RV_SOURCE_OPTS_INIT;
    so.key_deserializer = rv_serde_bytes();
    so.value_deserializer = rv_serde_bytes();
    const char *topics[] = {"in"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &so, err, sizeof err), 0);
    add_probe(t, "P", &p, "Source");
    rv_sink_opts_t sk = RV_SINK_OPTS_INIT;
    sk.key_serializer = rv_serde_bytes();
    sk.value_serializer = rv_serde_bytes();
    const char *parents[] = {"P"};
    assert_int_equal(rv_topology_add_sink(t, "Sink", "out", &sk, parents, 1, err, sizeof err), 0);
    task_fx_t fx;
    task_open(&fx, t, 0);

    rv__shared_records_t *sr = rv__shared_records_new(consumed("in"));
    assert_non_null(sr);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(rv__task_add_shared(fx.task, sr, i, err, sizeof err), 0);
    rv__shared_records_unref(sr); /* the queued records keep it alive */
    assert_int_equal(rv__task_queued(fx.task), 4);
    int processed = 1;
    while (processed)
        assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(p.process_cnt, 4);
    int64_t ts[] = {5, 10, 20, 30};
    int32_t part[] = {0, 1, 1, 0};
    int64_t off[] = {10, 10, 11, 11};
    const char *val[] = {"a", "", "bb", "null"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p.ts[i], ts[i]);
        assert_int_equal(p.partition[i], part[i]);
        assert_int_equal(p.offset[i], off[i]);
        assert_string_equal(p.topic[i], "in");
        assert_string_equal(fx.cap.value[i], val[i]);
        assert_string_equal(fx.cap.topic[i], "out");
    }
    assert_int_equal(p.header_cnt, 1);
    assert_string_equal(p.header_key, "h");
    const rv__task_offset_t *o;
    size_t cnt;
    assert_int_equal(rv__task_commit(fx.task, false, &o, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(o[0].offset, 12);
    assert_int_equal(o[1].offset, 12);

    /* Records still queued when the task closes release the container. */
    sr = rv__shared_records_new(consumed("in"));
    assert_int_equal(rv__task_add_shared(fx.task, sr, 3, err, sizeof err), 0);
    rv__shared_records_unref(sr);
    task_done(&fx);
    rv_topology_destroy(t);
}

static void test_task_timestamp_order_two_partitions(void **state) {
    (void)state;
    probe_t p = {0};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    task_fx_t fx;
    task_open(&fx, t, 3);
    assert_string_equal(rv__task_id(fx.task), "0_3");
    add(&fx, "in", 0, 100, 5);
    add(&fx, "in", 0, 101, 20);
    add(&fx, "in", 1, 500, 10);
    add(&fx, "in", 1, 501, 15);
    add(&fx, "in", 1, 502, 1);
    assert_int_equal(rv__task_queued(fx.task), 5);
    char err[1024];
    int processed = 1;
    while (processed)
        assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(p.process_cnt, 5);
    int64_t ts[] = {5, 10, 15, 1, 20};
    int64_t st[] = {5, 10, 15, 15, 20};
    int32_t part[] = {0, 1, 1, 1, 0};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p.ts[i], ts[i]);
        assert_int_equal(p.stream_time[i], st[i]);
        assert_int_equal(p.partition[i], part[i]);
    }
    assert_int_equal(rv__task_stream_time(fx.task), 20);

    const rv__task_offset_t *off;
    size_t cnt;
    assert_int_equal(rv__task_commit(fx.task, false, &off, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 2);
    assert_string_equal(off[0].topic, "in");
    assert_int_equal(off[0].partition, 0);
    assert_int_equal(off[0].offset, 102);
    assert_int_equal(off[1].partition, 1);
    assert_int_equal(off[1].offset, 503);
    assert_int_equal(fx.cap.flushes, 1);
    task_done(&fx);
    rv_topology_destroy(t);
}

/* The lag the owner reports per partition of "in" (index = partition). */
static int64_t g_lag[2];
static int64_t lag_of(const char *topic, int32_t partition, void *opaque) {
    (void)topic, (void)opaque;
    return g_lag[partition];
}

/* rv__task_ready() as Kafka's PartitionGroupTest readiness cases
 * (KIP-695): an empty partition holds the task back while its lag is
 * unknown or positive; once it is caught up, for max.task.idle.ms. */
static void test_task_ready_max_task_idle(void **state) {
    (void)state;
    probe_t p = {0};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    task_fx_t fx;
    task_open(&fx, t, 0);
    assert_int_equal(rv__task_add_input(fx.task, "in", 0), 0);
    assert_int_equal(rv__task_add_input(fx.task, "in", 1), 0);
    assert_int_equal(rv__task_add_input(fx.task, "in", 1), 0); /* known: no change */
    assert_int_equal(rv__task_add_input(fx.task, "other", 0), RV_ERR__INVALID_ARG);
    /* Nothing queued: never ready. */
    g_lag[0] = g_lag[1] = 0;
    assert_int_equal(rv__task_ready(fx.task, 1000, -1, 0, lag_of, NULL), 0);
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 0, lag_of, NULL), 0);
    add(&fx, "in", 0, 0, 5);
    /* -1: whatever the other partition's lag. */
    g_lag[1] = -1;
    assert_int_equal(rv__task_ready(fx.task, 1000, -1, 0, lag_of, NULL), 1);
    /* Lag unknown or positive: wait for the fetch, even with idle 0. */
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 0, lag_of, NULL), 0);
    g_lag[1] = 3;
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 0, lag_of, NULL), 0);
    /* The lag is asked once per poll (epoch): until the next one the task
     * goes by the lag it saw. */
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 7, lag_of, NULL), 0);
    g_lag[1] = 0;
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 7, lag_of, NULL), 0);
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 8, lag_of, NULL), 1);
    /* Caught up: idle 0 processes at once (enforced processing). */
    assert_int_equal(rv__task_ready(fx.task, 1000, 0, 0, lag_of, NULL), 1);
    /* Caught up with idle 100: the wait starts the first time it is seen
     * caught up (t=2000) and ends at 2100. */
    g_lag[1] = 3;
    assert_int_equal(rv__task_ready(fx.task, 1500, 100, 0, lag_of, NULL), 0);
    g_lag[1] = 0;
    assert_int_equal(rv__task_ready(fx.task, 2000, 100, 0, lag_of, NULL), 0);
    assert_int_equal(rv__task_ready(fx.task, 2099, 100, 0, lag_of, NULL), 0);
    assert_int_equal(rv__task_ready(fx.task, 2100, 100, 0, lag_of, NULL), 1);
    /* Data in both partitions: ready, and the timer starts over later. */
    add(&fx, "in", 1, 0, 6);
    assert_int_equal(rv__task_ready(fx.task, 2200, 100, 0, lag_of, NULL), 1);
    char err[1024];
    int processed = 0;
    assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(processed, 1);
    assert_int_equal(p.ts[0], 5); /* the smaller timestamp first */
    assert_int_equal(rv__task_ready(fx.task, 3000, 100, 0, lag_of, NULL), 0);
    assert_int_equal(rv__task_ready(fx.task, 3100, 100, 0, lag_of, NULL), 1);
    task_done(&fx);
    rv_topology_destroy(t);
}

static rv_err_t commit_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                               void *s) {
    (void)r, (void)s;
    rv_processor_context_commit(ctx);
    return 0;
}
static rv_err_t commit_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = commit_process;
    return 0;
}

static void test_task_commit_request(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    char err[1024];
    rv_processor_supplier_t s = RV_PROCESSOR_SUPPLIER_INIT;
    s.get = commit_get;
    const char *parents[] = {"Source"};
    assert_int_equal(rv_topology_add_processor(t, "C", &s, parents, 1, err, sizeof err), 0);
    task_fx_t fx;
    task_open(&fx, t, 0);
    assert_int_equal(rv__task_commit_requested(fx.task), 0);
    add(&fx, "in", 0, 0, 1);
    int processed;
    assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(rv__task_commit_requested(fx.task), 1);
    assert_int_equal(rv__task_commit(fx.task, false, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(rv__task_commit_requested(fx.task), 0);
    task_done(&fx);
    rv_topology_destroy(t);
}

/* The cache collapses the three puts of one key before the commit; the
 * commit writes the last value through to the changelog once. */
static void test_task_cache_collapses_until_commit(void **state) {
    (void)state;
    probe_t p = {.store = "S", .put_times = 3};
    rv_topology_t *t = rv_topology_new();
    char err[1024];
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    rv_store_builder_t *b = rv_store_builder_persistent_kv("S");
    rv_store_builder_with_caching_enabled(b);
    const char *procs[] = {"P"};
    assert_int_equal(rv_topology_add_state_store(t, b, procs, 1, err, sizeof err), 0);
    task_fx_t fx;
    task_open(&fx, t, 2);
    add(&fx, "in", 0, 0, 1);
    add(&fx, "in", 0, 1, 2);
    int processed;
    assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(fx.cap.cnt, 0); /* all in the cache */
    assert_int_equal(rv__task_commit(fx.task, true, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(fx.cap.cnt, 1);
    assert_string_equal(fx.cap.topic[0], "app-S-changelog");
    assert_int_equal(fx.cap.partition[0], 2);
    assert_string_equal(fx.cap.value[0], "3");
    /* The checkpoint records the changelog offset the collector reported. */
    char path[4096];
    snprintf(path, sizeof path, "%s/app/0_2/.checkpoint", fx.dir);
    rv__checkpoint_entry_t *e;
    size_t cnt;
    assert_int_equal(rv__checkpoint_read(path, &e, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(e[0].topic, "app-S-changelog");
    assert_int_equal(e[0].partition, 2);
    assert_int_equal(e[0].offset, 0);
    rv__checkpoint_free(e, cnt);
    task_done(&fx);
    rv_topology_destroy(t);
}

/* Processors close parents first, while their stores still work; the
 * stores close after. */
static void test_task_close_order(void **state) {
    (void)state;
    probe_t parent = {.forward_all = 1, .store = "S"};
    probe_t child = {.store = "S"};
    rv_topology_t *t = rv_topology_new();
    char err[1024];
    add_source(t, "Source", "in");
    add_probe(t, "Parent", &parent, "Source");
    add_probe(t, "Child", &child, "Parent");
    const char *procs[] = {"Parent", "Child"};
    assert_int_equal(rv_topology_add_state_store(t, rv_store_builder_persistent_kv("S"), procs, 2,
                                                 err, sizeof err),
                     0);
    task_fx_t fx;
    task_open(&fx, t, 0);
    close_counter = 0;
    assert_int_equal(rv__task_close(fx.task, true, err, sizeof err), 0);
    assert_int_equal(parent.closed, 1);
    assert_int_equal(child.closed, 1);
    assert_int_equal(parent.close_seq, 1);
    assert_int_equal(child.close_seq, 2);
    assert_true(parent.close_store_ok);
    assert_true(child.close_store_ok);
    /* Closed: the task folder is unlocked, so another owner can take it. */
    assert_int_equal(rv__state_dir_lock_task(fx.sd, "0_0", &fx, err, sizeof err), 0);
    assert_int_equal(rv__state_dir_unlock_task(fx.sd, "0_0", &fx), 0);
    assert_int_equal(rv__task_close(fx.task, true, err, sizeof err), 0); /* idempotent */
    assert_int_equal(parent.closed, 1);
    task_done(&fx);
    rv_topology_destroy(t);
}

/* Kafka's TopicPartitionMetadata: a commit carries, per partition,
 * base64([2][partition time][processor metadata]); a new task restores
 * the partition times, stream time (their max) and processor metadata
 * from it; metadata that does not decode, or of an unknown version, is
 * ignored. */
static void test_task_commit_metadata(void **state) {
    (void)state;
    char err[1024];
    probe_t p = {0};
    rv_topology_t *t = rv_topology_new();
    add_source(t, "Source", "in");
    add_probe(t, "P", &p, "Source");
    task_fx_t fx;
    task_open(&fx, t, 0);
    add(&fx, "in", 0, 0, 5);
    add(&fx, "in", 0, 1, 30);
    add(&fx, "in", 1, 0, 20);
    int processed = 1;
    while (processed)
        assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    const rv__task_offset_t *o;
    size_t cnt;
    assert_int_equal(rv__task_commit(fx.task, false, &o, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(o[0].partition, 0);
    assert_string_equal(o[0].metadata, "AgAAAAAAAAAe"); /* [2][30] */
    assert_int_equal(rv__task_processor_metadata_put(fx.task, "store", 7), 0);
    assert_int_equal(rv__task_commit(fx.task, false, &o, &cnt, err, sizeof err), 0);
    /* [2][30][1 entry: len 5 "store" 7] */
    assert_string_equal(o[0].metadata, "AgAAAAAAAAAeAAAAAQAAAAVzdG9yZQAAAAAAAAAH");
    char *m0 = strdup(o[0].metadata), *m1 = strdup(o[1].metadata);
    task_done(&fx);

    /* Restored: stream time 30 (max of 30 and 20), the metadata value. */
    const char *meta[] = {m0, m1};
    task_open_meta(&fx, t, 0, "in", meta, 2);
    assert_int_equal(rv__task_stream_time(fx.task), 30);
    int64_t v = 0;
    assert_int_equal(rv__task_processor_metadata_get(fx.task, "store", &v), 1);
    assert_int_equal(v, 7);
    assert_int_equal(rv__task_processor_metadata_get(fx.task, "other", &v), 0);
    /* The partition time of partition 1 (20) stays: a record at 10 comes
     * out with partition time 20 in the commit. */
    add(&fx, "in", 1, 1, 10);
    processed = 1;
    while (processed)
        assert_int_equal(rv__task_process(fx.task, &processed, err, sizeof err), 0);
    assert_int_equal(rv__task_commit(fx.task, false, &o, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(o[0].metadata, "AgAAAAAAAAAUAAAAAQAAAAVzdG9yZQAAAAAAAAAH");
    task_done(&fx);
    free(m0);
    free(m1);

    /* Version 1 (partition time only) is read; garbage and an unknown
     * version are ignored; processor metadata that does not decode is
     * dropped but the partition time before it kept (Kafka's decode). */
    const char *v1[] = {"AQAAAAAAAAAo"};
    task_open_meta(&fx, t, 0, "in", v1, 1);
    assert_int_equal(rv__task_stream_time(fx.task), 40);
    task_done(&fx);
    const char *bad[] = {"not base64!", "AwAAAAAAAAAo", "AgAAAAAAAAAeAAAAAQAA", ""};
    task_open_meta(&fx, t, 0, "in", bad, 4);
    assert_int_equal(rv__task_stream_time(fx.task), 30);
    assert_int_equal(rv__task_processor_metadata_get(fx.task, "store", &v), 0);
    task_done(&fx);
    task_open_meta(&fx, t, 0, "in", bad, 2);
    assert_int_equal(rv__task_stream_time(fx.task), -1);
    task_done(&fx);
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_and_forward_to),
        cmocka_unit_test(test_get_state_store),
        cmocka_unit_test(test_punctuate_stream_time),
        cmocka_unit_test(test_punctuate_wall_clock),
        cmocka_unit_test(test_punctuate_cancel),
        cmocka_unit_test(test_schedule_interval_and_init_failure),
        cmocka_unit_test(test_record_metadata),
        cmocka_unit_test(test_task_timestamp_order_two_partitions),
        cmocka_unit_test(test_task_ready_max_task_idle),
        cmocka_unit_test(test_task_shared_records),
        cmocka_unit_test(test_task_commit_request),
        cmocka_unit_test(test_task_cache_collapses_until_commit),
        cmocka_unit_test(test_task_close_order),
        cmocka_unit_test(test_task_commit_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
