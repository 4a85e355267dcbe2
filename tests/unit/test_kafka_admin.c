/* tests/unit/test_kafka_admin.c: the admin API handlers of the Kafka
 * protocol server (broker/kafka/api_admin.c): CreateTopics, DeleteTopics,
 * CreatePartitions, DescribeConfigs, AlterConfigs and DeleteRecords, run
 * through rv__kapi_call() against a real broker on a temporary folder,
 * each at its lowest and highest advertised version, with Kafka's error
 * codes and messages; and one run of kafka-python's KafkaAdminClient
 * against a server on 127.0.0.1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#include "broker/kafka/api.h"
#include "broker/kafka/server.h"
#include "broker/topics.h"
#include "rivulet/broker.h"

#define NODE_ID 1

/* A null NULLABLE_STRING in the request builders' string lists. */
static const char NULLV[] = "<null>";
#define STR_OR_NULL(s) ((s) == NULLV ? NULL : (s))

typedef struct fixture_s {
    rvt_kapi_t ka;      /* the broker on a temporary folder, ctx */
    rv__karena_t arena; /* strings of parsed responses */
    rv__kw_t req;       /* the request being built */
    rv__kw_t resp;      /* the last response body */
    rv__kr_t r;         /* reader over resp */
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    rvt_kapi_open(&f->ka);
    f->ka.ctx.node_id = NODE_ID;
    f->ka.ctx.cluster_id = RV__KSERVER_DEFAULT_CLUSTER_ID;
    f->ka.ctx.auto_create_topics = true;
    rv__kw_init(&f->req);
    rv__kw_init(&f->resp);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    rv__kw_free(&f->req);
    rv__kw_free(&f->resp);
    rv__karena_free(&f->arena);
    rvt_kapi_close(&f->ka);
    free(f);
    return 0;
}

static rv__topics_t *topics(fixture_t *f) {
    return rv__broker_topics(f->ka.broker);
}

/* ---- request frames and responses ---- */

/* Starts a request frame: header v1 (key, version, correlation id,
 * client_id). */
static rv__kw_t *begin(fixture_t *f, int16_t key, int16_t version) {
    rv__kw_free(&f->req);
    rvt_kreq_begin(&f->req, key, version, 4242, "test-client");
    return &f->req;
}

/* Runs the frame built in f->req; the reader f->r is positioned on the
 * response body when the status is DONE. */
static rv__kapi_status_t call(fixture_t *f) {
    assert_false(f->req.err);
    rv__kw_free(&f->resp);
    rv__kapi_status_t st = rv__kapi_call(&f->ka.ctx, f->req.b.data, f->req.b.len, &f->resp);
    if (st == RV__KAPI_DONE) {
        assert_false(f->resp.err);
        rv__kr_init(&f->r, f->resp.b.data, f->resp.b.len, &f->arena);
    } else {
        rv__kw_init(&f->resp);
    }
    return st;
}

static void call_done(fixture_t *f) {
    assert_int_equal(call(f), RV__KAPI_DONE);
}

/* The reader must be exactly at the end of the response. */
static void assert_resp_end(fixture_t *f) {
    rvt_kresp_end(&f->r);
}

/* ---- CreateTopics ---- */

typedef struct ct_args_s {
    const char *name;
    int32_t partitions;
    int16_t rf;
    const char *const *configs; /* name, value pairs, NULL-terminated; NULLV = null value */
    int32_t assign_cnt;         /* partitions 0..n-1 ... */
    const int32_t *assign;      /* ... each with the one broker assign[i] */
    int32_t assign_rf;          /* replicas per partition (broker repeated); 0 = 1 */
} ct_args_t;

static void ct_topic(rv__kw_t *w, const ct_args_t *a) {
    rv__kw_str(w, a->name);
    rv__kw_i32(w, a->partitions);
    rv__kw_i16(w, a->rf);
    rv__kw_i32(w, a->assign_cnt);
    for (int32_t i = 0; i < a->assign_cnt; i++) {
        int32_t rf = a->assign_rf ? a->assign_rf : 1;
        rv__kw_i32(w, i);
        rv__kw_i32(w, rf);
        for (int32_t k = 0; k < rf; k++)
            rv__kw_i32(w, a->assign[i]);
    }
    int32_t n = 0;
    while (a->configs && a->configs[2 * n])
        n++;
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        rv__kw_str(w, a->configs[2 * i]);
        rv__kw_str(w, STR_OR_NULL(a->configs[2 * i + 1]));
    }
}

/* Sends CreateTopics for one topic; returns its error code, *msg (may be
 * NULL) gets the error message (v1+, NULL when none). */
static int16_t create_topic(fixture_t *f, int16_t v, const ct_args_t *a, bool validate_only,
                            const char **msg) {
    rv__kw_t *w = begin(f, RV__KAPI_CREATE_TOPICS, v);
    rv__kw_i32(w, 1);
    ct_topic(w, a);
    rv__kw_i32(w, 30000);
    if (v >= 1)
        rv__kw_bool(w, validate_only);
    call_done(f);
    if (v >= 2)
        assert_int_equal(rv__kr_i32(&f->r), 0);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    assert_string_equal(rv__kr_str(&f->r), a->name);
    int16_t err = rv__kr_i16(&f->r);
    const char *m = v >= 1 ? rv__kr_str(&f->r) : NULL;
    assert_resp_end(f);
    if (msg)
        *msg = m;
    if (err == 0)
        assert_null(m);
    return err;
}

static void create_simple(fixture_t *f, const char *name, int32_t partitions) {
    ct_args_t a = {name, partitions, 1, NULL, 0, NULL, 0};
    const char *msg;
    assert_int_equal(create_topic(f, 4, &a, false, &msg), 0);
}

static int32_t partition_count(fixture_t *f, const char *name) {
    rv__topic_info_t info;
    char errstr[256];
    if (rv__topics_describe(topics(f), name, &info, errstr, sizeof errstr))
        return -1;
    int32_t n = info.partition_cnt;
    rv__topic_info_clear(&info);
    return n;
}

/* The topic's explicitly set value of `config`, copied into the arena;
 * NULL when not set. */
static const char *topic_override(fixture_t *f, const char *name, const char *config) {
    rv__topic_info_t info;
    char errstr[256];
    assert_int_equal(rv__topics_describe(topics(f), name, &info, errstr, sizeof errstr), 0);
    const char *v = NULL;
    for (size_t i = 0; i < info.config_cnt; i++)
        if (!strcmp(info.config_names[i], config))
            v = rv__karena_strndup(&f->arena, info.config_values[i], strlen(info.config_values[i]));
    rv__topic_info_clear(&info);
    return v;
}

static size_t override_count(fixture_t *f, const char *name) {
    rv__topic_info_t info;
    char errstr[256];
    assert_int_equal(rv__topics_describe(topics(f), name, &info, errstr, sizeof errstr), 0);
    size_t n = info.config_cnt;
    rv__topic_info_clear(&info);
    return n;
}

static bool path_exists(fixture_t *f, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", f->ka.dir, name);
    return stat(path, &st) == 0;
}

static void test_create_topics_v0(void **state) {
    fixture_t *f = *state;
    ct_args_t a = {"orders", 3, 1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 0, &a, false, NULL), 0);
    assert_int_equal(partition_count(f, "orders"), 3);
    assert_true(path_exists(f, "orders-2"));
    /* v0 has no message, but still the code. */
    assert_int_equal(create_topic(f, 0, &a, false, NULL), RV_ERR_TOPIC_ALREADY_EXISTS);
}

static void test_create_topics_v4_defaults_and_configs(void **state) {
    fixture_t *f = *state;
    static const char *const cfg[] = {"retention.ms", "1000", "cleanup.policy", "compact", NULL};
    ct_args_t a = {"defaults", -1, -1, cfg, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &a, false, NULL), 0);
    assert_int_equal(partition_count(f, "defaults"), 1);
    assert_string_equal(topic_override(f, "defaults", "retention.ms"), "1000");
    assert_string_equal(topic_override(f, "defaults", "cleanup.policy"), "compact");

    /* -1 takes num.partitions from the server's settings. */
    f->ka.ctx.num_partitions = 4;
    ct_args_t b = {"defaults4", -1, -1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &b, false, NULL), 0);
    assert_int_equal(partition_count(f, "defaults4"), 4);
}

static void test_create_topics_errors(void **state) {
    fixture_t *f = *state;
    const char *msg;
    create_simple(f, "taken", 1);

    ct_args_t a = {"taken", 1, 1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &a, false, &msg), RV_ERR_TOPIC_ALREADY_EXISTS);
    assert_string_equal(msg, "Topic 'taken' already exists.");

    ct_args_t rf = {"rf3", 1, 3, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 1, &rf, false, &msg), RV_ERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Replication factor: 3 larger than available brokers: 1.");
    ct_args_t rf0 = {"rf0", 1, 0, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &rf0, false, &msg), RV_ERR_INVALID_REPLICATION_FACTOR);

    ct_args_t p0 = {"p0", 0, 1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &p0, false, &msg), RV_ERR_INVALID_PARTITIONS);
    assert_string_equal(msg, "Number of partitions was set to an invalid non-positive value.");

    ct_args_t bad = {"bad name!", 1, 1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &bad, false, &msg), RV_ERR_INVALID_TOPIC_EXCEPTION);
    rvt_assert_contains(msg, "is illegal, it contains a character other than ASCII");

    create_simple(f, "a.b", 1);
    ct_args_t coll = {"a_b", 1, 1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &coll, false, &msg), RV_ERR_INVALID_TOPIC_EXCEPTION);
    assert_string_equal(msg, "Topic 'a_b' collides with existing topics: a.b");

    static const char *const unknown[] = {"foo.bar", "1", NULL};
    ct_args_t u = {"cfg1", 1, 1, unknown, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &u, false, &msg), RV_ERR_INVALID_CONFIG);
    assert_string_equal(msg, "Unknown topic config name: foo.bar");

    static const char *const badval[] = {"segment.bytes", "abc", NULL};
    ct_args_t bv = {"cfg2", 1, 1, badval, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &bv, false, &msg), RV_ERR_INVALID_CONFIG);
    assert_string_equal(
        msg, "Invalid value abc for configuration segment.bytes: Not a number of type INT");

    static const char *const nullval[] = {"retention.ms", NULLV, NULL};
    ct_args_t nv = {"cfg3", 1, 1, nullval, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &nv, false, &msg), RV_ERR_INVALID_CONFIG);
    assert_string_equal(msg, "Null value not supported for topic configs: retention.ms");

    /* Nothing of the refused topics exists. */
    assert_int_equal(partition_count(f, "rf3"), -1);
    assert_int_equal(partition_count(f, "cfg1"), -1);
    assert_int_equal(partition_count(f, "a_b"), -1);
    assert_false(path_exists(f, "cfg2-0"));

    /* The same name twice in one request: both entries refused. */
    rv__kw_t *w = begin(f, RV__KAPI_CREATE_TOPICS, 3);
    ct_args_t d = {"dup", 1, 1, NULL, 0, NULL, 0};
    rv__kw_i32(w, 2);
    ct_topic(w, &d);
    ct_topic(w, &d);
    rv__kw_i32(w, 1000);
    rv__kw_bool(w, false);
    call_done(f);
    assert_int_equal(rv__kr_i32(&f->r), 0);
    assert_int_equal(rv__kr_i32(&f->r), 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(rv__kr_str(&f->r), "dup");
        assert_int_equal(rv__kr_i16(&f->r), RV_ERR_INVALID_REQUEST);
        assert_string_equal(rv__kr_str(&f->r), "Found multiple entries for this topic.");
    }
    assert_resp_end(f);
    assert_int_equal(partition_count(f, "dup"), -1);
}

static void test_create_topics_assignments(void **state) {
    fixture_t *f = *state;
    const char *msg;
    static const int32_t mine[] = {NODE_ID, NODE_ID};
    ct_args_t a = {"manual", -1, -1, NULL, 2, mine, 0};
    assert_int_equal(create_topic(f, 4, &a, false, &msg), 0);
    assert_int_equal(partition_count(f, "manual"), 2);

    static const int32_t other[] = {NODE_ID, 7};
    ct_args_t b = {"manual2", -1, -1, NULL, 2, other, 0};
    assert_int_equal(create_topic(f, 4, &b, false, &msg), 39); /* INVALID_REPLICA_ASSIGNMENT */
    assert_string_equal(msg, "Unknown broker(s) in replica assignment: 7.");

    ct_args_t c = {"manual3", -1, -1, NULL, 1, mine, 2};
    assert_int_equal(create_topic(f, 4, &c, false, &msg), 39);

    ct_args_t both = {"manual4", 2, 1, NULL, 2, mine, 0};
    assert_int_equal(create_topic(f, 4, &both, false, &msg), RV_ERR_INVALID_REQUEST);
    assert_string_equal(msg, "Both numPartitions or replicationFactor and replicasAssignments "
                             "were set. Both cannot be used at the same time.");
    assert_int_equal(partition_count(f, "manual2"), -1);
    assert_int_equal(partition_count(f, "manual3"), -1);
    assert_int_equal(partition_count(f, "manual4"), -1);
}

static void test_create_topics_validate_only(void **state) {
    fixture_t *f = *state;
    const char *msg;
    static const char *const cfg[] = {"retention.ms", "5000", NULL};
    ct_args_t a = {"dry", 2, 1, cfg, 0, NULL, 0};
    assert_int_equal(create_topic(f, 1, &a, true, &msg), 0);
    assert_int_equal(partition_count(f, "dry"), -1);
    assert_false(path_exists(f, "dry-0"));
    /* The checks still run. */
    ct_args_t rf = {"dry", 2, 2, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &rf, true, &msg), RV_ERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Replication factor: 2 larger than available brokers: 1.");
    create_simple(f, "wet", 1);
    ct_args_t w = {"wet", 2, 1, NULL, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &w, true, &msg), RV_ERR_TOPIC_ALREADY_EXISTS);
    /* And the real thing afterwards works. */
    assert_int_equal(create_topic(f, 4, &a, false, &msg), 0);
    assert_int_equal(partition_count(f, "dry"), 2);
}

/* ---- DeleteTopics ---- */

static void delete_topics(fixture_t *f, int16_t v, const char *const *names, int32_t n) {
    rv__kw_t *w = begin(f, RV__KAPI_DELETE_TOPICS, v);
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++)
        rv__kw_str(w, names[i]);
    rv__kw_i32(w, 30000);
    call_done(f);
    if (v >= 1)
        assert_int_equal(rv__kr_i32(&f->r), 0);
}

static void test_delete_topics(void **state) {
    fixture_t *f = *state;
    create_simple(f, "gone0", 2);
    create_simple(f, "gone3", 1);
    for (int16_t v = 0; v <= 3; v += 3) {
        const char *names[] = {v ? "gone3" : "gone0", "never"};
        delete_topics(f, v, names, 2);
        assert_int_equal(rv__kr_i32(&f->r), 2);
        assert_string_equal(rv__kr_str(&f->r), names[0]);
        assert_int_equal(rv__kr_i16(&f->r), 0);
        assert_string_equal(rv__kr_str(&f->r), "never");
        assert_int_equal(rv__kr_i16(&f->r), RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        assert_resp_end(f);
        assert_int_equal(partition_count(f, names[0]), -1);
    }
    assert_false(path_exists(f, "gone0-1"));

    /* A name given twice gets one answer. */
    create_simple(f, "twice", 1);
    const char *twice[] = {"twice", "twice"};
    delete_topics(f, 1, twice, 2);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    assert_string_equal(rv__kr_str(&f->r), "twice");
    assert_int_equal(rv__kr_i16(&f->r), 0);
    assert_resp_end(f);
}

/* ---- CreatePartitions ---- */

/* CreatePartitions for one topic (assign_cnt -1 = null assignments, else
 * that many new partitions each on `broker`). */
static int16_t create_partitions(fixture_t *f, int16_t v, const char *name, int32_t count,
                                 int32_t assign_cnt, int32_t broker, bool validate_only,
                                 const char **msg) {
    rv__kw_t *w = begin(f, RV__KAPI_CREATE_PARTITIONS, v);
    rv__kw_i32(w, 1);
    rv__kw_str(w, name);
    rv__kw_i32(w, count);
    rv__kw_i32(w, assign_cnt);
    for (int32_t i = 0; i < assign_cnt; i++) {
        rv__kw_i32(w, 1);
        rv__kw_i32(w, broker);
    }
    rv__kw_i32(w, 30000);
    rv__kw_bool(w, validate_only);
    call_done(f);
    assert_int_equal(rv__kr_i32(&f->r), 0);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    assert_string_equal(rv__kr_str(&f->r), name);
    int16_t err = rv__kr_i16(&f->r);
    *msg = rv__kr_str(&f->r);
    assert_resp_end(f);
    return err;
}

static void test_create_partitions(void **state) {
    fixture_t *f = *state;
    const char *msg;
    create_simple(f, "grow", 1);
    assert_int_equal(create_partitions(f, 0, "grow", 2, -1, 0, false, &msg), 0);
    assert_null(msg);
    assert_int_equal(partition_count(f, "grow"), 2);
    assert_int_equal(create_partitions(f, 1, "grow", 4, 2, NODE_ID, false, &msg), 0);
    assert_int_equal(partition_count(f, "grow"), 4);
    assert_true(path_exists(f, "grow-3"));

    /* validate_only checks and leaves the topic alone. */
    assert_int_equal(create_partitions(f, 1, "grow", 6, -1, 0, true, &msg), 0);
    assert_int_equal(partition_count(f, "grow"), 4);
    assert_false(path_exists(f, "grow-4"));

    assert_int_equal(create_partitions(f, 1, "grow", 4, -1, 0, false, &msg),
                     RV_ERR_INVALID_PARTITIONS);
    assert_string_equal(msg, "Topic already has 4 partitions.");
    assert_int_equal(create_partitions(f, 1, "grow", 2, -1, 0, true, &msg),
                     RV_ERR_INVALID_PARTITIONS);
    assert_string_equal(msg, "Topic currently has 4 partitions, which is higher than the "
                             "requested 2.");
    assert_int_equal(create_partitions(f, 1, "nope", 2, -1, 0, false, &msg),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_string_equal(msg, "The topic 'nope' does not exist.");
    assert_int_equal(create_partitions(f, 1, "grow", 7, 1, NODE_ID, false, &msg), 39);
    assert_string_equal(msg,
                        "Increasing the number of partitions by 3 but 1 assignments provided.");
    assert_int_equal(create_partitions(f, 1, "grow", 5, 1, 9, false, &msg), 39);
    assert_string_equal(msg, "Unknown broker(s) in replica assignment: 9.");
    assert_int_equal(partition_count(f, "grow"), 4);

    /* A topic named twice is refused once. */
    rv__kw_t *w = begin(f, RV__KAPI_CREATE_PARTITIONS, 1);
    rv__kw_i32(w, 2);
    for (int i = 0; i < 2; i++) {
        rv__kw_str(w, "grow");
        rv__kw_i32(w, 8);
        rv__kw_i32(w, -1);
    }
    rv__kw_i32(w, 1000);
    rv__kw_bool(w, false);
    call_done(f);
    assert_int_equal(rv__kr_i32(&f->r), 0);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    assert_string_equal(rv__kr_str(&f->r), "grow");
    assert_int_equal(rv__kr_i16(&f->r), RV_ERR_INVALID_REQUEST);
    assert_string_equal(rv__kr_str(&f->r), "Duplicate topic in request.");
    assert_resp_end(f);
    assert_int_equal(partition_count(f, "grow"), 4);
}

/* ---- DescribeConfigs ---- */

typedef struct dc_entry_s {
    const char *name, *value;
    bool read_only, is_default, sensitive;
    int8_t source;
    int32_t syn_cnt;
    const char *syn_name[4], *syn_value[4];
    int8_t syn_source[4];
} dc_entry_t;

typedef struct dc_result_s {
    int16_t err;
    const char *msg;
    int8_t type;
    const char *name;
    int32_t cnt;
    dc_entry_t e[64];
} dc_result_t;

/* DescribeConfigs of one resource; keys NULL = every config. */
static void describe_configs(fixture_t *f, int16_t v, int8_t type, const char *name,
                             const char *const *keys, bool synonyms, dc_result_t *out) {
    rv__kw_t *w = begin(f, RV__KAPI_DESCRIBE_CONFIGS, v);
    rv__kw_i32(w, 1);
    rv__kw_i8(w, type);
    rv__kw_str(w, name);
    if (!keys) {
        rv__kw_i32(w, -1);
    } else {
        int32_t n = 0;
        while (keys[n])
            n++;
        rv__kw_i32(w, n);
        for (int32_t i = 0; i < n; i++)
            rv__kw_str(w, keys[i]);
    }
    if (v >= 1)
        rv__kw_bool(w, synonyms);
    call_done(f);
    rv__kr_t *r = &f->r;
    memset(out, 0, sizeof *out);
    assert_int_equal(rv__kr_i32(r), 0);
    assert_int_equal(rv__kr_i32(r), 1);
    out->err = rv__kr_i16(r);
    out->msg = rv__kr_str(r);
    out->type = rv__kr_i8(r);
    out->name = rv__kr_str(r);
    out->cnt = rv__kr_i32(r);
    assert_true(out->cnt >= 0 && out->cnt <= 64);
    for (int32_t i = 0; i < out->cnt; i++) {
        dc_entry_t *e = &out->e[i];
        e->name = rv__kr_str(r);
        e->value = rv__kr_str(r);
        e->read_only = rv__kr_bool(r);
        if (v == 0)
            e->is_default = rv__kr_bool(r);
        else
            e->source = rv__kr_i8(r);
        e->sensitive = rv__kr_bool(r);
        if (v >= 1) {
            e->syn_cnt = rv__kr_i32(r);
            assert_true(e->syn_cnt >= 0 && e->syn_cnt <= 4);
            for (int32_t j = 0; j < e->syn_cnt; j++) {
                e->syn_name[j] = rv__kr_str(r);
                e->syn_value[j] = rv__kr_str(r);
                e->syn_source[j] = rv__kr_i8(r);
            }
        }
    }
    assert_resp_end(f);
    assert_int_equal(out->type, type);
    assert_string_equal(out->name, name);
}

static const dc_entry_t *entry(const dc_result_t *res, const char *name) {
    for (int32_t i = 0; i < res->cnt; i++)
        if (!strcmp(res->e[i].name, name))
            return &res->e[i];
    return NULL;
}

static void test_describe_configs_v0(void **state) {
    fixture_t *f = *state;
    static const char *const cfg[] = {"retention.ms", "1234", NULL};
    ct_args_t a = {"desc", 1, 1, cfg, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &a, false, NULL), 0);
    dc_result_t *res = calloc(1, sizeof *res);
    describe_configs(f, 0, 2, "desc", NULL, false, res);
    assert_int_equal(res->err, 0);
    assert_null(res->msg);
    assert_true(res->cnt >= 20); /* every topic config */
    const dc_entry_t *e = entry(res, "retention.ms");
    assert_non_null(e);
    assert_string_equal(e->value, "1234");
    assert_false(e->is_default);
    assert_false(e->read_only);
    assert_false(e->sensitive);
    e = entry(res, "segment.bytes");
    assert_non_null(e);
    assert_string_equal(e->value, "1073741824");
    assert_true(e->is_default);
    assert_non_null(entry(res, "cleanup.policy"));

    describe_configs(f, 0, 2, "missing", NULL, false, res);
    assert_int_equal(res->err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(res->cnt, 0);
    free(res);
}

static void test_describe_configs_v2(void **state) {
    fixture_t *f = *state;
    static const char *const cfg[] = {"cleanup.policy", "compact", NULL};
    ct_args_t a = {"desc2", 1, 1, cfg, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &a, false, NULL), 0);
    dc_result_t *res = calloc(1, sizeof *res);

    describe_configs(f, 2, 2, "desc2", NULL, true, res);
    assert_int_equal(res->err, 0);
    const dc_entry_t *e = entry(res, "cleanup.policy");
    assert_non_null(e);
    assert_string_equal(e->value, "compact");
    assert_int_equal(e->source, 1); /* DYNAMIC_TOPIC_CONFIG */
    assert_int_equal(e->syn_cnt, 2);
    assert_string_equal(e->syn_name[0], "cleanup.policy");
    assert_string_equal(e->syn_value[0], "compact");
    assert_int_equal(e->syn_source[0], 1);
    assert_string_equal(e->syn_name[1], "log.cleanup.policy");
    assert_string_equal(e->syn_value[1], "delete");
    assert_int_equal(e->syn_source[1], 5);
    e = entry(res, "retention.ms");
    assert_non_null(e);
    assert_string_equal(e->value, "604800000");
    assert_int_equal(e->source, 5); /* DEFAULT_CONFIG */
    assert_int_equal(e->syn_cnt, 1);
    assert_string_equal(e->syn_name[0], "log.retention.hours");

    /* Filtered by configuration_keys, without synonyms (v1). */
    static const char *const keys[] = {"segment.ms", "cleanup.policy", "no.such.key", NULL};
    describe_configs(f, 1, 2, "desc2", keys, false, res);
    assert_int_equal(res->err, 0);
    assert_int_equal(res->cnt, 2);
    assert_non_null(entry(res, "segment.ms"));
    assert_int_equal(entry(res, "cleanup.policy")->syn_cnt, 0);

    describe_configs(f, 2, 2, "missing", NULL, true, res);
    assert_int_equal(res->err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_non_null(res->msg);
    describe_configs(f, 2, 2, "bad/name", NULL, true, res);
    assert_int_equal(res->err, RV_ERR_INVALID_TOPIC_EXCEPTION);

    /* The broker's own settings: static, read-only. */
    describe_configs(f, 2, 4, "1", NULL, false, res);
    assert_int_equal(res->err, 0);
    e = entry(res, "broker.id");
    assert_non_null(e);
    assert_string_equal(e->value, "1");
    assert_true(e->read_only);
    assert_int_equal(e->source, 4); /* STATIC_BROKER_CONFIG */
    e = entry(res, "log.retention.hours");
    assert_non_null(e);
    assert_string_equal(e->value, "168");
    describe_configs(f, 0, 4, "", NULL, false, res);
    assert_int_equal(res->err, 0);
    assert_int_equal(res->cnt, 0);
    describe_configs(f, 1, 4, "7", NULL, false, res);
    assert_int_equal(res->err, RV_ERR_INVALID_REQUEST);
    assert_string_equal(res->msg, "Unexpected broker id, expected 1 or empty string, but "
                                  "received 7");
    describe_configs(f, 1, 9, "x", NULL, false, res);
    assert_int_equal(res->err, RV_ERR_INVALID_REQUEST);
    free(res);
}

/* ---- AlterConfigs ---- */

/* AlterConfigs of one resource with name/value pairs (NULL-terminated;
 * NULLV = null value). Returns the error code, *msg the message. */
static int16_t alter_configs(fixture_t *f, int16_t v, int8_t type, const char *name,
                             const char *const *pairs, bool validate_only, const char **msg) {
    rv__kw_t *w = begin(f, RV__KAPI_ALTER_CONFIGS, v);
    rv__kw_i32(w, 1);
    rv__kw_i8(w, type);
    rv__kw_str(w, name);
    int32_t n = 0;
    while (pairs && pairs[2 * n])
        n++;
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        rv__kw_str(w, pairs[2 * i]);
        rv__kw_str(w, STR_OR_NULL(pairs[2 * i + 1]));
    }
    rv__kw_bool(w, validate_only);
    call_done(f);
    assert_int_equal(rv__kr_i32(&f->r), 0);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    int16_t err = rv__kr_i16(&f->r);
    *msg = rv__kr_str(&f->r);
    assert_int_equal(rv__kr_i8(&f->r), type);
    assert_string_equal(rv__kr_str(&f->r), name);
    assert_resp_end(f);
    if (!err)
        assert_null(*msg);
    return err;
}

static void test_alter_configs(void **state) {
    fixture_t *f = *state;
    const char *msg;
    static const char *const cfg[] = {"retention.ms", "1000", NULL};
    ct_args_t a = {"alter", 1, 1, cfg, 0, NULL, 0};
    assert_int_equal(create_topic(f, 4, &a, false, NULL), 0);

    /* Non-incremental: the new set replaces the old one entirely. */
    static const char *const set[] = {
        "segment.ms", "60000", "max.message.bytes", "2000", "segment.ms", "70000", NULL};
    assert_int_equal(alter_configs(f, 0, 2, "alter", set, false, &msg), 0);
    assert_null(topic_override(f, "alter", "retention.ms"));
    assert_string_equal(topic_override(f, "alter", "segment.ms"), "70000"); /* last wins */
    assert_string_equal(topic_override(f, "alter", "max.message.bytes"), "2000");
    assert_int_equal(override_count(f, "alter"), 2);

    dc_result_t *res = calloc(1, sizeof *res);
    describe_configs(f, 2, 2, "alter", NULL, false, res);
    assert_int_equal(entry(res, "segment.ms")->source, 1);
    assert_string_equal(entry(res, "segment.ms")->value, "70000");
    assert_int_equal(entry(res, "retention.ms")->source, 5);
    assert_string_equal(entry(res, "retention.ms")->value, "604800000");
    free(res);

    /* validate_only leaves the overrides as they were. */
    static const char *const other[] = {"retention.ms", "5", NULL};
    assert_int_equal(alter_configs(f, 1, 2, "alter", other, true, &msg), 0);
    assert_null(topic_override(f, "alter", "retention.ms"));
    assert_int_equal(override_count(f, "alter"), 2);

    static const char *const badval[] = {"retention.ms", "soon", NULL};
    assert_int_equal(alter_configs(f, 1, 2, "alter", badval, false, &msg), RV_ERR_INVALID_CONFIG);
    assert_string_equal(msg, "Invalid config value for resource ConfigResource(type=TOPIC, "
                             "name='alter'): Invalid value soon for configuration retention.ms: "
                             "Not a number of type LONG");
    static const char *const unknown[] = {"no.such", "1", NULL};
    assert_int_equal(alter_configs(f, 1, 2, "alter", unknown, true, &msg), RV_ERR_INVALID_CONFIG);
    assert_string_equal(msg, "Unknown topic config name: no.such");
    static const char *const nullval[] = {"retention.ms", NULLV, "segment.ms", NULLV, NULL};
    assert_int_equal(alter_configs(f, 1, 2, "alter", nullval, false, &msg), RV_ERR_INVALID_REQUEST);
    assert_string_equal(msg, "Null value not supported for : retention.ms,segment.ms");
    assert_int_equal(alter_configs(f, 1, 2, "ghost", other, false, &msg),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(alter_configs(f, 1, 4, "1", other, false, &msg), RV_ERR_INVALID_REQUEST);
    rvt_assert_contains(msg, "Dynamic broker configs are not supported");
    assert_int_equal(override_count(f, "alter"), 2);

    /* An empty set removes every override. */
    assert_int_equal(alter_configs(f, 1, 2, "alter", NULL, false, &msg), 0);
    assert_int_equal(override_count(f, "alter"), 0);
}

/* ---- DeleteRecords ---- */

/* DeleteRecords of one partition; *low gets the low watermark. */
static int16_t delete_records(fixture_t *f, int16_t v, const char *name, int32_t partition,
                              int64_t offset, int64_t *low) {
    rv__kw_t *w = begin(f, RV__KAPI_DELETE_RECORDS, v);
    rv__kw_i32(w, 1);
    rv__kw_str(w, name);
    rv__kw_i32(w, 1);
    rv__kw_i32(w, partition);
    rv__kw_i64(w, offset);
    rv__kw_i32(w, 30000);
    call_done(f);
    assert_int_equal(rv__kr_i32(&f->r), 0);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    assert_string_equal(rv__kr_str(&f->r), name);
    assert_int_equal(rv__kr_i32(&f->r), 1);
    assert_int_equal(rv__kr_i32(&f->r), partition);
    *low = rv__kr_i64(&f->r);
    int16_t err = rv__kr_i16(&f->r);
    assert_resp_end(f);
    return err;
}

static int64_t log_start(fixture_t *f, const char *name, int32_t partition) {
    rv__topic_info_t info;
    char errstr[256];
    assert_int_equal(rv__topics_describe(topics(f), name, &info, errstr, sizeof errstr), 0);
    int64_t v = info.log_start_offsets[partition];
    rv__topic_info_clear(&info);
    return v;
}

static void test_delete_records(void **state) {
    fixture_t *f = *state;
    create_simple(f, "recs", 2);
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 10, "k", 16, 1000);
    char errstr[256];
    int64_t base;
    assert_int_equal(rv_broker_produce(f->ka.broker, "recs", 0, batch.data, batch.len, 1, &base,
                                       errstr, sizeof errstr),
                     0);
    rv__buf_free(&batch);

    int64_t low;
    assert_int_equal(delete_records(f, 0, "recs", 0, 4, &low), 0);
    assert_int_equal(low, 4);
    assert_int_equal(log_start(f, "recs", 0), 4);
    /* -1 is the high watermark. */
    assert_int_equal(delete_records(f, 1, "recs", 0, -1, &low), 0);
    assert_int_equal(low, 10);
    assert_int_equal(log_start(f, "recs", 0), 10);
    assert_int_equal(delete_records(f, 1, "recs", 0, 11, &low), RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(low, -1);
    assert_int_equal(delete_records(f, 1, "recs", 1, 0, &low), 0);
    assert_int_equal(low, 0);
    assert_int_equal(delete_records(f, 1, "recs", 2, 0, &low), RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(low, -1);
    assert_int_equal(delete_records(f, 0, "nothing", 0, 0, &low),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(delete_records(f, 1, "__consumer_offsets", 0, 0, &low),
                     RV_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(low, -1);
}

/* ---- versions and malformed bodies ---- */

static void test_advertised_versions(void **state) {
    (void)state;
    static const struct {
        int16_t key, max;
    } want[] = {
        {RV__KAPI_CREATE_TOPICS, 4},     {RV__KAPI_DELETE_TOPICS, 3},
        {RV__KAPI_CREATE_PARTITIONS, 1}, {RV__KAPI_DESCRIBE_CONFIGS, 2},
        {RV__KAPI_ALTER_CONFIGS, 1},     {RV__KAPI_DELETE_RECORDS, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const rv__kapi_def_t *d = rv__kapi_find(want[i].key);
        assert_non_null(d);
        assert_int_equal(d->min_version, 0);
        assert_int_equal(d->max_version, want[i].max);
    }
}

static void test_unadvertised_version_closes(void **state) {
    fixture_t *f = *state;
    /* CreateTopics v5 is flexible: not served. */
    rv__kw_t *w = begin(f, RV__KAPI_CREATE_TOPICS, 5);
    rv__kw_i32(w, 0);
    rv__kw_i32(w, 1000);
    rv__kw_bool(w, false);
    assert_int_equal(call(f), RV__KAPI_CLOSE);
}

static void test_malformed_bodies_close(void **state) {
    fixture_t *f = *state;
    create_simple(f, "keep", 1);
    rv__kw_t *w;

    /* CreateTopics cut after the first topic: nothing is created. */
    w = begin(f, RV__KAPI_CREATE_TOPICS, 1);
    ct_args_t a = {"half", 1, 1, NULL, 0, NULL, 0};
    rv__kw_i32(w, 2);
    ct_topic(w, &a);
    assert_int_equal(call(f), RV__KAPI_CLOSE);
    assert_int_equal(partition_count(f, "half"), -1);

    /* A null topic name where the schema allows none. */
    w = begin(f, RV__KAPI_CREATE_TOPICS, 0);
    rv__kw_i32(w, 1);
    rv__kw_str(w, NULL);
    rv__kw_i32(w, 1);
    rv__kw_i16(w, 1);
    rv__kw_i32(w, 0);
    rv__kw_i32(w, 0);
    rv__kw_i32(w, 1000);
    assert_int_equal(call(f), RV__KAPI_CLOSE);

    /* A hostile array count. */
    w = begin(f, RV__KAPI_CREATE_TOPICS, 4);
    rv__kw_i32(w, 0x7fffffff);
    rv__kw_i32(w, 1000);
    rv__kw_bool(w, false);
    assert_int_equal(call(f), RV__KAPI_CLOSE);

    /* DeleteTopics with a null array, then without its timeout: the topic
     * stays. */
    w = begin(f, RV__KAPI_DELETE_TOPICS, 3);
    rv__kw_i32(w, -1);
    rv__kw_i32(w, 1000);
    assert_int_equal(call(f), RV__KAPI_CLOSE);
    w = begin(f, RV__KAPI_DELETE_TOPICS, 0);
    rv__kw_i32(w, 1);
    rv__kw_str(w, "keep");
    assert_int_equal(call(f), RV__KAPI_CLOSE);
    assert_int_equal(partition_count(f, "keep"), 1);

    /* CreatePartitions without validate_only. */
    w = begin(f, RV__KAPI_CREATE_PARTITIONS, 0);
    rv__kw_i32(w, 1);
    rv__kw_str(w, "keep");
    rv__kw_i32(w, 3);
    rv__kw_i32(w, -1);
    rv__kw_i32(w, 1000);
    assert_int_equal(call(f), RV__KAPI_CLOSE);
    assert_int_equal(partition_count(f, "keep"), 1);

    /* DescribeConfigs v1 without include_synonyms. */
    w = begin(f, RV__KAPI_DESCRIBE_CONFIGS, 1);
    rv__kw_i32(w, 1);
    rv__kw_i8(w, 2);
    rv__kw_str(w, "keep");
    rv__kw_i32(w, -1);
    assert_int_equal(call(f), RV__KAPI_CLOSE);

    /* AlterConfigs with a config cut in the middle. */
    w = begin(f, RV__KAPI_ALTER_CONFIGS, 1);
    rv__kw_i32(w, 1);
    rv__kw_i8(w, 2);
    rv__kw_str(w, "keep");
    rv__kw_i32(w, 1);
    rv__kw_str(w, "retention.ms");
    assert_int_equal(call(f), RV__KAPI_CLOSE);

    /* DeleteRecords with a short offset. */
    w = begin(f, RV__KAPI_DELETE_RECORDS, 1);
    rv__kw_i32(w, 1);
    rv__kw_str(w, "keep");
    rv__kw_i32(w, 1);
    rv__kw_i32(w, 0);
    rv__kw_i32(w, 0);
    assert_int_equal(call(f), RV__KAPI_CLOSE);
}

/* ---- kafka-python against the socket server ---- */

static const char py_script[] =
    "import sys\n"
    "from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, "
    "ConfigResourceType\n"
    "a = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id='adm', "
    "request_timeout_ms=10000)\n"
    "r = a.create_topics([NewTopic('py-topic', 2, 1, topic_configs={'retention.ms': '12345'})])\n"
    "print('create', [e for _, e, _ in r.topic_errors] if hasattr(r, 'topic_errors') else r)\n"
    "r = a.create_partitions({'py-topic': NewPartitions(3)})\n"
    "print('partitions', [e for _, e, _ in r.topic_errors])\n"
    "for resp in a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'py-topic')]):\n"
    "    for err, msg, rtype, rname, entries in resp.resources:\n"
    "        d = dict((e[0], e[1]) for e in entries)\n"
    "        print('describe', err, rname, 'retention.ms=' + d['retention.ms'], "
    "'segment.bytes=' + d['segment.bytes'])\n"
    "r = a.delete_topics(['py-topic'])\n"
    "print('delete', [e for _, e in r.topic_error_codes])\n"
    "a.close()\n";

static void test_kafka_python_admin(void **state) {
    fixture_t *f = *state;
    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.node_id = NODE_ID;
    rv__kserver_t *srv = NULL;
    char errstr[512];
    assert_int_equal(rv__kserver_start(&srv, f->ka.broker, &cfg, errstr, sizeof errstr), 0);

    char script[4096];
    snprintf(script, sizeof script, "%s/admin.py", f->ka.dir);
    rvt_write_file(script, py_script, strlen(py_script));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 60 /usr/bin/python3 %s 127.0.0.1:%d 2>&1", script,
             rv__kserver_port(srv));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    rv__buf_t out = RV__BUF_INIT;
    char line[1024];
    while (fgets(line, sizeof line, p))
        rv__buf_append(&out, line, strlen(line));
    int rc = pclose(p);
    rv__buf_append(&out, "", 1);
    /* Checked on disk while the server still runs. */
    int32_t parts_after = partition_count(f, "py-topic");
    rv__kserver_stop(srv);

    const char *text = (const char *)out.data;
    if (rc != 0)
        fprintf(stderr, "kafka-python output:\n%s\n", text);
    assert_int_equal(rc, 0);
    rvt_assert_contains(text, "create [0]");
    rvt_assert_contains(text, "partitions [0]");
    rvt_assert_contains(text, "describe 0 py-topic retention.ms=12345 segment.bytes=1073741824");
    rvt_assert_contains(text, "delete [0]");
    assert_int_equal(parts_after, -1);
    rv__buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_topics_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_topics_v4_defaults_and_configs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_topics_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_topics_assignments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_topics_validate_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_configs_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_configs_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alter_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
        cmocka_unit_test(test_advertised_versions),
        cmocka_unit_test_setup_teardown(test_unadvertised_version_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_bodies_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafka_python_admin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
