/* tests/unit/test_admin.c: the admin client (client/admin.c):
 * bootstrap.servers handling, topics, configs and delete-records through
 * the public API, and persistence across a restart of the broker
 * underneath. Runs on the embedded backend, and as test_admin_kafka on the
 * kafka backend against the Kafka protocol server on the same folder
 * (rvt_bootstrap()); what only the kafka backend does is in
 * test_kafka_admin_client.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/conf.h"

typedef struct fixture_s {
    char *dir;
    rv_admin_t *a;
} fixture_t;

static rv_admin_t *admin_new(const char *bootstrap, char *errstr, size_t errstr_size) {
    rv_conf_t *conf = rv_conf_new();
    assert_non_null(conf);
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errstr_size),
                     RV_CONF_OK);
    rv_admin_t *a = rv_admin_new(conf, errstr, errstr_size);
    if (!a)
        rv_conf_destroy(conf); /* not taken on failure */
    return a;
}

/* The broker's node id: the embedded broker is 0, the test server 1. */
static int32_t node_id(void) {
    return rvt_kafka_backend() ? 1 : 0;
}

static rv_admin_t *admin_for(const char *dir) {
    char errstr[512];
    rv_admin_t *a = admin_new(rvt_bootstrap(dir), errstr, sizeof errstr);
    if (!a)
        fail_msg("admin: %s", errstr);
    return a;
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = rvt_tmpdir();
    f->a = admin_for(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    rv_admin_destroy(f->a);
    rvt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* On the embedded backend the last reference closes the broker, which
 * reopens from disk; the kafka backend's server keeps it open. */
static void restart(fixture_t *f) {
    rv_admin_destroy(f->a);
    f->a = admin_for(f->dir);
}

static void test_bootstrap(void **state) {
    (void)state;
    char errstr[512];
    /* A host:port list selects the kafka backend, which connects lazily
     * (as Kafka's AdminClient): making one needs no broker. */
    rv_admin_t *a = admin_new("localhost:9092", errstr, sizeof errstr);
    assert_non_null(a);
    rv_admin_destroy(a);
    assert_null(admin_new("embedded:", errstr, sizeof errstr));
    rv_conf_t *conf = rv_conf_new();
    assert_null(rv_admin_new(conf, errstr, sizeof errstr));
    assert_non_null(strstr(errstr, "bootstrap.servers"));
    rv_conf_destroy(conf);
    rv_admin_destroy(NULL);
}

static void test_topics(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    assert_int_equal(
        rv_admin_create_topic(f->a, "orders", 3, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_admin_create_topic(f->a, "__offsets", 1, -1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_admin_create_topic(f->a, "orders", 3, 1, NULL, NULL, 0, errstr, sizeof errstr),
        RV_ERR_TOPIC_ALREADY_EXISTS);
    assert_string_equal(errstr, "Topic 'orders' already exists.");
    assert_int_equal(
        rv_admin_create_topic(f->a, "bad name", 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
        RV_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(rv_admin_create_topic(f->a, NULL, 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     RV_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(rv_admin_create_topic(f->a, "r3", 1, 3, NULL, NULL, 0, errstr, sizeof errstr),
                     RV_ERR_INVALID_REPLICATION_FACTOR);
    if (!rvt_kafka_backend()) {
        assert_non_null(strstr(errstr, "kafka backend"));
        assert_non_null(strstr(errstr, "bootstrap.servers=host:port"));
    }
    assert_int_equal(rv_admin_create_topic(f->a, "p0", 0, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     RV_ERR_INVALID_PARTITIONS);

    char **names;
    size_t cnt;
    assert_int_equal(rv_admin_list_topics(f->a, false, &names, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(names[0], "orders");
    rv_strv_free(names, cnt);
    assert_int_equal(rv_admin_list_topics(f->a, true, &names, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 2);
    assert_string_equal(names[0], "__offsets");
    rv_strv_free(names, cnt);

    rv_topic_description_t *d;
    assert_int_equal(rv_admin_describe_topic(f->a, "orders", &d, errstr, sizeof errstr), 0);
    assert_string_equal(rv_topic_description_name(d), "orders");
    char id[23];
    snprintf(id, sizeof id, "%s", rv_topic_description_id(d));
    assert_int_equal(strlen(id), 22);
    assert_int_equal(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     22);
    assert_int_equal(rv_topic_description_partition_count(d), 3);
    assert_int_equal(rv_topic_description_replication_factor(d), 1);
    for (int32_t i = 0; i < 3; i++) {
        assert_int_equal(rv_topic_description_leader(d, i), node_id());
        assert_int_equal(rv_topic_description_log_start_offset(d, i), 0);
        assert_int_equal(rv_topic_description_end_offset(d, i), 0);
    }
    const rv_config_list_t *cl = rv_topic_description_configs(d);
    assert_string_equal(rv_config_list_get(cl, "cleanup.policy"), "delete");
    rv_topic_description_destroy(d);

    assert_int_equal(rv_admin_create_partitions(f->a, "orders", 5, errstr, sizeof errstr), 0);
    assert_int_equal(rv_admin_create_partitions(f->a, "orders", 2, errstr, sizeof errstr),
                     RV_ERR_INVALID_PARTITIONS);
    assert_string_equal(errstr,
                        "Topic currently has 5 partitions, which is higher than the requested 2.");

    restart(f);
    assert_int_equal(rv_admin_describe_topic(f->a, "orders", &d, errstr, sizeof errstr), 0);
    assert_string_equal(rv_topic_description_id(d), id);
    assert_int_equal(rv_topic_description_partition_count(d), 5);
    rv_topic_description_destroy(d);

    assert_int_equal(rv_admin_delete_topic(f->a, "orders", errstr, sizeof errstr), 0);
    assert_int_equal(rv_admin_describe_topic(f->a, "orders", &d, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_null(d);
    assert_int_equal(rv_admin_delete_topic(f->a, "orders", errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    restart(f);
    assert_int_equal(rv_admin_list_topics(f->a, true, &names, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(names[0], "__offsets");
    rv_strv_free(names, cnt);
}

static void expect_config(const rv_config_list_t *l, const char *name, const char *value,
                          bool is_default) {
    for (size_t i = 0; i < rv_config_list_count(l); i++) {
        if (strcmp(rv_config_list_name(l, i), name))
            continue;
        assert_string_equal(rv_config_list_value(l, i), value);
        assert_int_equal(rv_config_list_is_default(l, i), is_default);
        return;
    }
    fail_msg("config %s missing", name);
}

static void test_configs(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    const char *n[] = {"retention.ms", "cleanup.policy"};
    const char *v[] = {"3600000", "compact"};
    assert_int_equal(rv_admin_create_topic(f->a, "c", 1, 1, n, v, 2, errstr, sizeof errstr), 0);

    rv_config_list_t *l;
    assert_int_equal(rv_admin_describe_configs(f->a, "c", &l, errstr, sizeof errstr), 0);
    assert_int_equal(rv_config_list_count(l), 22);
    for (size_t i = 1; i < rv_config_list_count(l); i++)
        assert_true(strcmp(rv_config_list_name(l, i - 1), rv_config_list_name(l, i)) < 0);
    expect_config(l, "retention.ms", "3600000", false);
    expect_config(l, "cleanup.policy", "compact", false);
    expect_config(l, "segment.bytes", "1073741824", true);
    assert_null(rv_config_list_get(l, "no.such"));
    assert_null(rv_config_list_name(l, 1000));
    rv_config_list_destroy(l);

    const char *sn[] = {"segment.bytes", "max.message.bytes"};
    const char *sv[] = {"1048576", "2000000"};
    const char *dn[] = {"cleanup.policy"};
    assert_int_equal(rv_admin_alter_configs(f->a, "c", sn, sv, 2, dn, 1, errstr, sizeof errstr), 0);

    /* A bad entry anywhere rejects the whole request. */
    const char *bn[] = {"retention.ms", "segment.bytes"};
    const char *bv[] = {"5", "3"};
    assert_int_equal(rv_admin_alter_configs(f->a, "c", bn, bv, 2, NULL, 0, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    assert_string_equal(
        errstr, "Invalid value 3 for configuration segment.bytes: Value must be at least 14");
    const char *un[] = {"retention.hours"};
    assert_int_equal(rv_admin_alter_configs(f->a, "c", un, bv, 1, NULL, 0, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    assert_string_equal(errstr, "Unknown topic config name: retention.hours");
    assert_int_equal(
        rv_admin_alter_configs(f->a, "missing", sn, sv, 1, NULL, 0, errstr, sizeof errstr),
        RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(rv_admin_create_topic(f->a, "d", 1, 1, un, v, 1, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    assert_string_equal(errstr, "Unknown topic config name: retention.hours");

    restart(f);
    assert_int_equal(rv_admin_describe_configs(f->a, "c", &l, errstr, sizeof errstr), 0);
    expect_config(l, "retention.ms", "3600000", false);
    expect_config(l, "cleanup.policy", "delete", true);
    expect_config(l, "segment.bytes", "1048576", false);
    expect_config(l, "max.message.bytes", "2000000", false);
    rv_config_list_destroy(l);
    assert_int_equal(rv_admin_describe_configs(f->a, "zz", &l, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_null(l);
}

static void test_max_message_bytes_live(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    assert_int_equal(rv_admin_create_topic(f->a, "m", 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, f->dir, errstr, sizeof errstr), 0);
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 2, "k", 600, 0);
    assert_int_equal(
        rv_broker_produce(b, "m", 0, batch.data, batch.len, 1, NULL, errstr, sizeof errstr), 0);
    /* Altered configs reach the live log at once. */
    const char *sn[] = {"max.message.bytes"};
    const char *sv[] = {"1000"};
    assert_int_equal(rv_admin_alter_configs(f->a, "m", sn, sv, 1, NULL, 0, errstr, sizeof errstr),
                     0);
    assert_int_equal(
        rv_broker_produce(b, "m", 0, batch.data, batch.len, 1, NULL, errstr, sizeof errstr),
        RV_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(rv_admin_alter_configs(f->a, "m", NULL, NULL, 0, sn, 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(
        rv_broker_produce(b, "m", 0, batch.data, batch.len, 1, NULL, errstr, sizeof errstr), 0);
    rv__buf_free(&batch);
    rv_broker_close(b);
}

static void test_delete_records(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    assert_int_equal(rv_admin_create_topic(f->a, "r", 2, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, f->dir, errstr, sizeof errstr), 0);
    for (int i = 0; i < 5; i++) {
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, 2, "k", 10, 0);
        assert_int_equal(
            rv_broker_produce(b, "r", 0, batch.data, batch.len, -1, NULL, errstr, sizeof errstr),
            0);
        rv__buf_free(&batch);
    }
    int64_t low = -1;
    assert_int_equal(rv_admin_delete_records(f->a, "r", 0, 5, &low, errstr, sizeof errstr), 0);
    assert_int_equal(low, 5);
    assert_int_equal(rv_admin_delete_records(f->a, "r", 0, 11, &low, errstr, sizeof errstr),
                     RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(rv_admin_delete_records(f->a, "r", 7, 1, &low, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    void *data;
    size_t len;
    assert_int_equal(
        rv_broker_fetch(b, "r", 0, 3, 1 << 16, &data, &len, NULL, errstr, sizeof errstr),
        RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(
        rv_broker_fetch(b, "r", 0, 5, 1 << 16, &data, &len, NULL, errstr, sizeof errstr), 0);
    rv_free(data);
    rv_broker_close(b);

    /* The new start is on disk at once and survives a restart. */
    restart(f);
    rv_topic_description_t *d;
    assert_int_equal(rv_admin_describe_topic(f->a, "r", &d, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_description_log_start_offset(d, 0), 5);
    assert_int_equal(rv_topic_description_end_offset(d, 0), 10);
    assert_int_equal(rv_topic_description_log_start_offset(d, 1), 0);
    rv_topic_description_destroy(d);
    assert_int_equal(rv_broker_open(&b, f->dir, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_broker_fetch(b, "r", 0, 3, 1 << 16, &data, &len, NULL, errstr, sizeof errstr),
        RV_ERR_OFFSET_OUT_OF_RANGE);
    rv_broker_close(b);

    /* -1 means up to the high watermark. */
    assert_int_equal(rv_admin_delete_records(f->a, "r", 0, -1, &low, errstr, sizeof errstr), 0);
    assert_int_equal(low, 10);
}

static void test_shared_broker(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    rv_admin_t *a2 = admin_for(f->dir);
    assert_int_equal(rv_admin_create_topic(f->a, "s", 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_topic_description_t *d;
    assert_int_equal(rv_admin_describe_topic(a2, "s", &d, errstr, sizeof errstr), 0);
    rv_topic_description_destroy(d);
    rv_admin_destroy(a2);
    /* The first client still works after the second is gone. */
    assert_int_equal(rv_admin_describe_topic(f->a, "s", &d, errstr, sizeof errstr), 0);
    rv_topic_description_destroy(d);
}

/* Altering a group's offsets with an empty list changes nothing and
 * succeeds (Java's alterConsumerGroupOffsets with an empty map), on both
 * backends: librdkafka 2.0 would refuse the empty list itself. */
static void test_alter_group_offsets_empty(void **state) {
    fixture_t *f = *state;
    char errstr[1024] = "";
    assert_int_equal(rv_admin_create_topic(f->a, "ge", 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "ge", 0), 0);
    assert_int_equal(rv_admin_alter_group_offsets(f->a, "g-empty", l, errstr, sizeof errstr), 0);
    rv_topic_partition_list_destroy(l);
    l = rv_topic_partition_list_new(0);
    assert_int_equal(rv_admin_alter_group_offsets(f->a, "g-empty", l, errstr, sizeof errstr), 0);
    rv_topic_partition_list_destroy(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test_setup_teardown(test_topics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_message_bytes_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_broker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alter_group_offsets_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
