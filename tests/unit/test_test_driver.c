/* tests/unit/test_test_driver.c: the test driver (runtime/test_driver.c)
 * and what it shows of the task: output capture and reading, repartition
 * topics fed back in, changelog records of store writes, extractor and
 * deserialization errors with both handlers, default serdes, the
 * checkpoint a commit writes, the state folders it removes, refused
 * configurations. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rivulet/rivulet.h"
#include "state/checkpoint.h"
#include "testutil.h"

/* Forwards every record; puts value into store "S" when connected, and a
 * value "del" deletes the key. */
static rv_err_t fwd_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                            void *state) {
    (void)state;
    if (r->value && !strcmp(r->value, "boom"))
        return RV_ERR__FAIL;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, "S");
    if (s && r->key) {
        rv_err_t err;
        if (r->value && !strcmp(r->value, "del"))
            err = rv_kv_store_delete(NULL, s, r->key, (size_t)r->key_len);
        else
            err = rv_kv_store_put(s, r->key, (size_t)r->key_len, r->value,
                                  r->value ? (size_t)r->value_len : 0);
        if (err)
            return err;
    }
    return rv_processor_context_forward(ctx, r);
}

static rv_err_t fwd_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = fwd_process;
    return 0;
}

static void source(rv_topology_t *t, const char *name, const char *topic, int internal,
                   const rv_serde_t *vser, rv_timestamp_extractor_cb_t *ex) {
    char err[512];
    rv_source_opts_t o = RV_SOURCE_OPTS_INIT;
    o.key_deserializer = rv_serde_string();
    o.value_deserializer = vser;
    o.timestamp_extractor = ex;
    o.internal = internal;
    const char *topics[] = {topic};
    assert_int_equal(rv_topology_add_source(t, name, topics, 1, &o, err, sizeof err), 0);
}

static void processor(rv_topology_t *t, const char *name, const char *parent) {
    char err[512];
    rv_processor_supplier_t s = RV_PROCESSOR_SUPPLIER_INIT;
    s.get = fwd_get;
    const char *parents[] = {parent};
    assert_int_equal(rv_topology_add_processor(t, name, &s, parents, 1, err, sizeof err), 0);
}

static void sink(rv_topology_t *t, const char *name, const char *topic, int internal,
                 const char *parent) {
    char err[512];
    rv_sink_opts_t o = RV_SINK_OPTS_INIT;
    o.key_serializer = rv_serde_string();
    o.value_serializer = rv_serde_string();
    o.internal = internal;
    const char *parents[] = {parent};
    assert_int_equal(rv_topology_add_sink(t, name, topic, &o, parents, 1, err, sizeof err), 0);
}

static rv_conf_t *conf(const char *app, const char *k1, const char *v1) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", app, err, sizeof err), 0);
    if (k1 && rv_conf_set(c, k1, v1, err, sizeof err))
        fail_msg("%s", err);
    return c;
}

static rv_test_driver_t *driver(rv_topology_t *t, rv_conf_t *c) {
    char err[1024];
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    return d;
}

static rv_err_t pipe_s(rv_test_driver_t *d, const char *topic, const char *k, const char *v,
                       int64_t ts) {
    return rv_test_driver_pipe_input(d, topic, k, k ? (int32_t)strlen(k) : -1, v,
                                     v ? (int32_t)strlen(v) : -1, ts, NULL, 0);
}

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

static rv_topology_t *passthrough(void) {
    rv_topology_t *t = rv_topology_new();
    source(t, "Source", "in", 0, rv_serde_string(), NULL);
    processor(t, "P", "Source");
    sink(t, "Sink", "out", 0, "P");
    return t;
}

static void test_read_output_in_order(void **state) {
    (void)state;
    rv_topology_t *t = passthrough();
    rv_test_driver_t *d = driver(t, conf("drv", NULL, NULL));
    assert_true(rv_test_driver_is_empty(d, "out"));
    rv_test_record_t *r = (void *)1;
    assert_int_equal(rv_test_driver_read_output(&r, d, "out"), RV_ERR__NOENT);
    assert_null(r);
    assert_int_equal(pipe_s(d, "in", "a", "1", 10), 0);
    rv_header_t h[] = {{"h1", "x", 1}, {"h2", NULL, -1}};
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "b", 1, NULL, -1, 5, h, 2), 0);
    assert_false(rv_test_driver_is_empty(d, "out"));
    char buf[128];
    next_out(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "a=1@10");
    assert_int_equal(rv_test_driver_read_output(&r, d, "out"), 0);
    int32_t vl;
    assert_null(rv_test_record_value(r, &vl));
    assert_int_equal(vl, -1);
    assert_int_equal(rv_test_record_timestamp(r), 5);
    assert_string_equal(rv_test_record_topic(r), "out");
    assert_int_equal(rv_test_record_header_count(r), 2);
    const char *hk;
    const void *hv;
    int32_t hl;
    assert_int_equal(rv_test_record_header(r, 1, &hk, &hv, &hl), 0);
    assert_string_equal(hk, "h2");
    assert_null(hv);
    assert_int_equal(hl, -1);
    assert_int_equal(rv_test_record_header(r, 2, &hk, &hv, &hl), RV_ERR__NOENT);
    rv_test_record_destroy(r);
    assert_true(rv_test_driver_is_empty(d, "out"));

    assert_int_equal(pipe_s(d, "nope", "a", "1", 1), RV_ERR__INVALID_ARG);
    rvt_assert_contains(rv_test_driver_last_error(d), "Unknown topic: nope");

    /* A failing process() fails the task; the driver refuses more input. */
    assert_int_equal(pipe_s(d, "in", "a", "boom", 20), RV_ERR__FAIL);
    assert_string_equal(rv_test_driver_last_error(d),
                        "Exception caught in process. taskId=0_0, processor=P, topic=in, "
                        "partition=0, offset=2: Local: failure");
    assert_int_equal(pipe_s(d, "in", "a", "1", 21), RV_ERR__STATE);
    assert_true(rv_test_driver_is_empty(d, "out"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* A record written to a repartition topic goes back into the sub-topology
 * that reads it, and is also readable under its prefixed name. */
static void test_repartition_fed_back(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    source(t, "Source", "in", 0, rv_serde_string(), NULL);
    processor(t, "P", "Source");
    sink(t, "ToRep", "rep", 1, "P");
    source(t, "FromRep", "rep", 1, rv_serde_string(), NULL);
    processor(t, "Q", "FromRep");
    sink(t, "Sink", "out", 0, "Q");
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "in", "k", "v", 3), 0);
    char buf[128];
    next_out(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "k=v@3");
    next_out(buf, sizeof buf, d, "app-rep");
    assert_string_equal(buf, "k=v@3");
    /* The internal topic can be piped into directly too. */
    assert_int_equal(pipe_s(d, "app-rep", "j", "w", 4), 0);
    next_out(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "j=w@4");
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static rv_topology_t *with_store(rv_store_builder_t *b) {
    char err[512];
    rv_topology_t *t = passthrough();
    const char *procs[] = {"P"};
    assert_int_equal(rv_topology_add_state_store(t, b, procs, 1, err, sizeof err), 0);
    return t;
}

static void test_changelog_records(void **state) {
    (void)state;
    rv_topology_t *t = with_store(rv_store_builder_persistent_kv("S"));
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "in", "a", "1", 10), 0);
    assert_int_equal(pipe_s(d, "in", "b", "2", 11), 0);
    assert_int_equal(pipe_s(d, "in", "a", "del", 12), 0);
    char buf[128];
    next_out(buf, sizeof buf, d, "app-S-changelog");
    assert_string_equal(buf, "a=1@10");
    next_out(buf, sizeof buf, d, "app-S-changelog");
    assert_string_equal(buf, "b=2@11");
    next_out(buf, sizeof buf, d, "app-S-changelog");
    assert_string_equal(buf, "a=null@12");
    assert_true(rv_test_driver_is_empty(d, "app-S-changelog"));
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, "S");
    assert_non_null(s);
    assert_true(rv_kv_store_persistent(s));
    rv_bytes_t v;
    assert_int_equal(rv_kv_store_get(&v, s, "a", 1), RV_ERR__NOENT);
    assert_int_equal(rv_kv_store_get(&v, s, "b", 1), 0);
    assert_memory_equal(v.data, "2", 1);
    rv_bytes_free(&v);
    assert_null(rv_test_driver_get_kv_store(d, "nope"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);

    /* Logging disabled: no changelog. */
    rv_store_builder_t *b = rv_store_builder_in_memory_kv("S");
    rv_store_builder_with_logging_disabled(b);
    t = with_store(b);
    d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "in", "a", "1", 10), 0);
    assert_true(rv_test_driver_is_empty(d, "app-S-changelog"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* The driver commits after every record, so with caching on each record's
 * last write reaches the changelog, once. */
static void test_cache_with_commit_per_record(void **state) {
    (void)state;
    rv_store_builder_t *b = rv_store_builder_persistent_kv("S");
    rv_store_builder_with_caching_enabled(b);
    rv_topology_t *t = with_store(b);
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "in", "a", "1", 10), 0);
    assert_int_equal(pipe_s(d, "in", "a", "2", 11), 0);
    char buf[128];
    next_out(buf, sizeof buf, d, "app-S-changelog");
    assert_string_equal(buf, "a=1@10");
    next_out(buf, sizeof buf, d, "app-S-changelog");
    assert_string_equal(buf, "a=2@11");
    assert_true(rv_test_driver_is_empty(d, "app-S-changelog"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static void test_checkpoint_and_state_dir_removed(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    rv_topology_t *t = with_store(rv_store_builder_persistent_kv("S"));
    rv_test_driver_t *d = driver(t, conf("app", "state.dir", dir));
    assert_int_equal(pipe_s(d, "in", "a", "1", 10), 0);
    assert_int_equal(pipe_s(d, "in", "b", "1", 10), 0);
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/app/0_0/.checkpoint", dir);
    rv__checkpoint_entry_t *e;
    size_t cnt;
    assert_int_equal(rv__checkpoint_read(path, &e, &cnt, err, sizeof err), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(e[0].topic, "app-S-changelog");
    assert_int_equal(e[0].partition, 0);
    assert_int_equal(e[0].offset, 1); /* the last changelog record */
    rv__checkpoint_free(e, cnt);
    snprintf(path, sizeof path, "%s/app/0_0/rocksdb/S", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    rv_test_driver_destroy(d);
    snprintf(path, sizeof path, "%s/app", dir);
    assert_int_not_equal(stat(path, &st), 0); /* cleaned, as Kafka's driver */
    rv_topology_destroy(t);

    /* Without state.dir the driver uses its own folder under $TMPDIR. */
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", dir, 1);
    t = with_store(rv_store_builder_persistent_kv("S"));
    d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "in", "a", "1", 10), 0);
    DIR *dh = opendir(dir);
    int entries = 0;
    struct dirent *de;
    while ((de = readdir(dh)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            entries++;
    closedir(dh);
    assert_int_equal(entries, 1);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
    dh = opendir(dir);
    entries = 0;
    while ((de = readdir(dh)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            entries++;
    closedir(dh);
    assert_int_equal(entries, 0);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    rvt_rmtree(dir);
    free(dir);
}

static void test_extractor_errors(void **state) {
    (void)state;
    /* The default, FailOnInvalidTimestamp: a negative timestamp fails. */
    rv_topology_t *t = passthrough();
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_not_equal(pipe_s(d, "in", "a", "1", -5), 0);
    rvt_assert_contains(rv_test_driver_last_error(d), "invalid (negative) timestamp");
    assert_int_equal(pipe_s(d, "in", "a", "1", 5), RV_ERR__STATE);
    rvt_assert_contains(rv_test_driver_last_error(d), "invalid (negative) timestamp");
    assert_true(rv_test_driver_is_empty(d, "out"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);

    /* LogAndSkipOnInvalidTimestamp, from the configuration: dropped. */
    t = passthrough();
    d = driver(t, conf("app", "default.timestamp.extractor",
                       "org.apache.kafka.streams.processor.LogAndSkipOnInvalidTimestamp"));
    assert_int_equal(pipe_s(d, "in", "a", "1", -5), 0);
    assert_int_equal(pipe_s(d, "in", "b", "2", 6), 0);
    char buf[64];
    next_out(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "b=2@6");
    assert_true(rv_test_driver_is_empty(d, "out"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static void test_deserialization_handler(void **state) {
    (void)state;
    rv_topology_t *t = rv_topology_new();
    source(t, "Source", "in", 0, rv_serde_int32(), NULL);
    processor(t, "P", "Source");
    char err[512];
    rv_sink_opts_t o = RV_SINK_OPTS_INIT;
    o.key_serializer = rv_serde_string();
    o.value_serializer = rv_serde_int32();
    const char *parents[] = {"P"};
    assert_int_equal(rv_topology_add_sink(t, "Sink", "out", &o, parents, 1, err, sizeof err), 0);

    /* LogAndFail, the default. */
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "a", 1, "xyz", 3, 1, NULL, 0),
                     RV_ERR__DESERIALIZATION);
    rvt_assert_contains(rv_test_driver_last_error(d),
                        "Deserialization exception handler is set to fail upon a "
                        "deserialization error.");
    rvt_assert_contains(rv_test_driver_last_error(d), "Size of data received by");
    rv_test_driver_destroy(d);

    /* LogAndContinue: skipped, the next record goes through. */
    d = driver(t, conf("app", "default.deserialization.exception.handler",
                       "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler"));
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "a", 1, "xyz", 3, 1, NULL, 0), 0);
    unsigned char four[4] = {0, 0, 1, 0};
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "b", 1, four, 4, 2, NULL, 0), 0);
    rv_test_record_t *r;
    assert_int_equal(rv_test_driver_read_output(&r, d, "out"), 0);
    int32_t vl;
    const void *v = rv_test_record_value(r, &vl);
    assert_int_equal(vl, 4);
    assert_memory_equal(v, four, 4);
    rv_test_record_destroy(r);
    assert_true(rv_test_driver_is_empty(d, "out"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static void test_default_serdes(void **state) {
    (void)state;
    char err[1024];
    rv_topology_t *t = rv_topology_new();
    const char *topics[] = {"in"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, NULL, err, sizeof err), 0);
    processor(t, "P", "Source");
    const char *parents[] = {"P"};
    assert_int_equal(rv_topology_add_sink(t, "Sink", "out", NULL, parents, 1, err, sizeof err), 0);

    rv_conf_t *c = conf("app", NULL, NULL);
    assert_null(rv_test_driver_new(t, c, 0, err, sizeof err));
    rvt_assert_contains(err, "Please specify a key serde");
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "int64", err, sizeof err), 0);
    rv_test_driver_t *d = driver(t, c);
    unsigned char eight[8] = {0, 0, 0, 0, 0, 0, 0, 7};
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "k", 1, eight, 8, 1, NULL, 0), 0);
    rv_test_record_t *r;
    assert_int_equal(rv_test_driver_read_output(&r, d, "out"), 0);
    int32_t vl;
    assert_memory_equal(rv_test_record_value(r, &vl), eight, 8);
    rv_test_record_destroy(r);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static int32_t part_by_value(const char *topic, const void *key, int32_t key_len, const void *value,
                             int32_t value_len, int32_t partition_count, void *opaque) {
    (void)topic, (void)key, (void)key_len, (void)value_len, (void)opaque;
    assert_int_equal(partition_count, 1);
    return ((const char *)value)[0] == 'z' ? 0 : RV_PARTITION_ANY;
}

static void test_partitioner_and_refusals(void **state) {
    (void)state;
    char err[1024];
    rv_topology_t *t = rv_topology_new();
    source(t, "Source", "in", 0, rv_serde_string(), NULL);
    processor(t, "P", "Source");
    rv_sink_opts_t o = RV_SINK_OPTS_INIT;
    o.key_serializer = rv_serde_string();
    o.value_serializer = rv_serde_string();
    o.partitioner = part_by_value;
    const char *parents[] = {"P"};
    assert_int_equal(rv_topology_add_sink(t, "Sink", "out", &o, parents, 1, err, sizeof err), 0);
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "in", "k", "z", 1), 0);
    assert_int_equal(pipe_s(d, "in", "k", "a", 1), 0);
    rv_test_record_t *r;
    assert_int_equal(rv_test_driver_read_output(&r, d, "out"), 0);
    assert_int_equal(rv_test_record_partition(r), 0);
    rv_test_record_destroy(r);
    assert_int_equal(rv_test_driver_read_output(&r, d, "out"), 0);
    assert_int_equal(rv_test_record_partition(r), RV_PARTITION_ANY);
    rv_test_record_destroy(r);
    rv_test_driver_destroy(d);

    rv_conf_t *c = conf("app", "processing.guarantee", "exactly_once_v2");
    assert_null(rv_test_driver_new(t, c, 0, err, sizeof err));
    rvt_assert_contains(err, "processing.guarantee=exactly_once_v2 is not supported");
    rv_conf_destroy(c);

    /* No application.id: Kafka's driver's dummy one. */
    d = rv_test_driver_new(t, NULL, 0, err, sizeof err);
    assert_non_null(d);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* A global store: its processor puts what the global topic carries; a
 * processor of a regular task reads it without being connected. */
static rv_err_t global_put(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                           void *state) {
    (void)state;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, "G");
    assert_non_null(s);
    return rv_kv_store_put(s, r->key, (size_t)r->key_len, r->value, (size_t)r->value_len);
}
static rv_err_t global_put_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = global_put;
    return 0;
}
static rv_err_t lookup(rv_processor_context_t *ctx, const rv_processor_record_t *r, void *state) {
    (void)state;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, "G");
    if (!s)
        return RV_ERR__STATE;
    rv_bytes_t v;
    rv_err_t err = rv_kv_store_get(&v, s, r->key, (size_t)r->key_len);
    if (err == RV_ERR__NOENT)
        return 0;
    if (err)
        return err;
    char joined[64];
    snprintf(joined, sizeof joined, "%s+%.*s", (const char *)r->value, (int)v.len,
             (const char *)v.data);
    rv_bytes_free(&v);
    rv_processor_record_t out = *r;
    out.value = joined;
    out.value_len = (int32_t)strlen(joined);
    return rv_processor_context_forward(ctx, &out);
}
static rv_err_t lookup_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = lookup;
    return 0;
}

static void test_global_store(void **state) {
    (void)state;
    char err[1024];
    rv_topology_t *t = rv_topology_new();
    source(t, "Source", "in", 0, rv_serde_string(), NULL);
    rv_processor_supplier_t s = RV_PROCESSOR_SUPPLIER_INIT;
    s.get = lookup_get;
    const char *parents[] = {"Source"};
    assert_int_equal(rv_topology_add_processor(t, "Lookup", &s, parents, 1, err, sizeof err), 0);
    sink(t, "Sink", "out", 0, "Lookup");
    rv_store_builder_t *b = rv_store_builder_persistent_kv("G");
    rv_store_builder_with_logging_disabled(b);
    rv_source_opts_t o = RV_SOURCE_OPTS_INIT;
    o.key_deserializer = rv_serde_string();
    o.value_deserializer = rv_serde_string();
    rv_processor_supplier_t g = RV_PROCESSOR_SUPPLIER_INIT;
    g.get = global_put_get;
    assert_int_equal(
        rv_topology_add_global_store(t, b, "GSource", "table", &o, "GProc", &g, err, sizeof err),
        0);
    rv_test_driver_t *d = driver(t, conf("app", NULL, NULL));
    assert_int_equal(pipe_s(d, "table", "k", "T1", 1), 0);
    assert_int_equal(pipe_s(d, "in", "k", "S1", 2), 0);
    assert_int_equal(pipe_s(d, "in", "x", "S2", 3), 0); /* no match: nothing */
    char buf[64];
    next_out(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "k=S1+T1@2");
    assert_true(rv_test_driver_is_empty(d, "out"));
    assert_non_null(rv_test_driver_get_kv_store(d, "G"));
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_output_in_order),
        cmocka_unit_test(test_repartition_fed_back),
        cmocka_unit_test(test_changelog_records),
        cmocka_unit_test(test_cache_with_commit_per_record),
        cmocka_unit_test(test_checkpoint_and_state_dir_removed),
        cmocka_unit_test(test_extractor_errors),
        cmocka_unit_test(test_deserialization_handler),
        cmocka_unit_test(test_default_serdes),
        cmocka_unit_test(test_partitioner_and_refusals),
        cmocka_unit_test(test_global_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
