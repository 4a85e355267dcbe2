/* tests/unit/test_kafka_admin_client.c: what only the kafka backend of the
 * admin client (client/kafka_admin.c) does: creation without a
 * connection, timeouts against a port nobody answers, the incremental
 * alter built from DescribeConfigs + AlterConfigs, Kafka's zero topic id,
 * group state and member details coming over the wire, and the `rivulet`
 * tools pointed at --bootstrap-server host:port. The
 * broker is a real rivulet Kafka-protocol server (broker/kafka/server.h)
 * on 127.0.0.1 with an OS-picked port, run by this process. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "broker/kafka/server.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/conf.h"
#include "rivulet/consumer.h"

#define NODE_ID 3

typedef struct fixture_s {
    rvt_kserver_t ks;
    rv_admin_t *a;
} fixture_t;

static rv_admin_t *admin_new(const char *bootstrap, const char *timeout_ms) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_non_null(conf);
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr),
                     RV_CONF_OK);
    if (timeout_ms)
        assert_int_equal(rv_conf_set(conf, "request.timeout.ms", timeout_ms, errstr, sizeof errstr),
                         RV_CONF_OK);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    if (!a) {
        rv_conf_destroy(conf);
        fail_msg("admin: %s", errstr);
    }
    return a;
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.node_id = NODE_ID;
    cfg.auto_create_topics = false;
    rvt_kserver_start(&f->ks, &cfg);
    f->a = admin_new(f->ks.bs, "10000");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    rv_admin_destroy(f->a);
    rvt_kserver_stop(&f->ks);
    free(f);
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The client is made without a connection, as Kafka's AdminClient; a call
 * to a port nobody answers fails after request.timeout.ms. */
static void test_no_server(void **state) {
    (void)state;
    rv_admin_t *a = admin_new("127.0.0.1:1", "700");
    char errstr[512] = "";
    char **names = NULL;
    size_t cnt = 0;
    double t0 = now_s();
    rv_err_t err = rv_admin_list_topics(a, true, &names, &cnt, errstr, sizeof errstr);
    double took = now_s() - t0;
    assert_int_not_equal(err, 0);
    assert_null(names);
    assert_true(errstr[0] != '\0');
    assert_true(took < 8.0);
    errstr[0] = '\0';
    err = rv_admin_create_topic(a, "t", 1, 1, NULL, NULL, 0, errstr, sizeof errstr);
    assert_int_not_equal(err, 0);
    assert_true(errstr[0] != '\0');
    rv_admin_destroy(a);

    /* librdkafka refuses a bad value of a property it takes over. */
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", errstr, sizeof errstr),
                     RV_CONF_OK);
    assert_int_equal(rv_conf_set(conf, "client.id", "x", errstr, sizeof errstr), RV_CONF_OK);
    a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    rv_admin_destroy(a);
}

static void produce(fixture_t *f, const char *topic, int32_t partition, int n) {
    char errstr[512];
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, n, "k", 10, 0);
    assert_int_equal(rv_broker_produce(f->ks.broker, topic, partition, batch.data, batch.len, -1,
                                       NULL, errstr, sizeof errstr),
                     0);
    rv__buf_free(&batch);
}

/* Leaders, offsets and the id as the wire gives them. */
static void test_describe_over_wire(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    assert_int_equal(rv_admin_create_topic(f->a, "w", 2, -1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    produce(f, "w", 1, 4);
    int64_t low = -1;
    assert_int_equal(rv_admin_delete_records(f->a, "w", 1, 1, &low, errstr, sizeof errstr), 0);
    assert_int_equal(low, 1);
    rv_topic_description_t *d;
    assert_int_equal(rv_admin_describe_topic(f->a, "w", &d, errstr, sizeof errstr), 0);
    /* Metadata v4 carries no topic id: Kafka's zero id. */
    assert_string_equal(rv_topic_description_id(d), "AAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(rv_topic_description_partition_count(d), 2);
    assert_int_equal(rv_topic_description_replication_factor(d), 1);
    for (int32_t i = 0; i < 2; i++)
        assert_int_equal(rv_topic_description_leader(d, i), NODE_ID);
    assert_int_equal(rv_topic_description_log_start_offset(d, 0), 0);
    assert_int_equal(rv_topic_description_end_offset(d, 0), 0);
    assert_int_equal(rv_topic_description_log_start_offset(d, 1), 1);
    assert_int_equal(rv_topic_description_end_offset(d, 1), 4);
    assert_string_equal(rv_config_list_get(rv_topic_description_configs(d), "cleanup.policy"),
                        "delete");
    rv_topic_description_destroy(d);
    /* Listing never auto-creates what it asks about. */
    assert_int_equal(rv_admin_describe_topic(f->a, "nope", &d, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_string_equal(errstr, "Topic 'nope' does not exist.");
    char **names;
    size_t cnt;
    assert_int_equal(rv_admin_list_topics(f->a, true, &names, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(names[0], "w");
    rv_strv_free(names, cnt);
}

/* AlterConfigs replaces the whole set; the backend carries the topic's
 * other overrides over so the public call stays incremental. */
static void test_incremental_alter(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    const char *n1[] = {"retention.ms"};
    const char *v1[] = {"3600000"};
    assert_int_equal(rv_admin_create_topic(f->a, "c", 1, 1, n1, v1, 1, errstr, sizeof errstr), 0);
    const char *n2[] = {"segment.bytes"};
    const char *v2[] = {"1048576"};
    assert_int_equal(rv_admin_alter_configs(f->a, "c", n2, v2, 1, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_config_list_t *l;
    assert_int_equal(rv_admin_describe_configs(f->a, "c", &l, errstr, sizeof errstr), 0);
    assert_string_equal(rv_config_list_get(l, "retention.ms"), "3600000");
    assert_string_equal(rv_config_list_get(l, "segment.bytes"), "1048576");
    size_t overrides = 0;
    for (size_t i = 0; i < rv_config_list_count(l); i++)
        overrides += !rv_config_list_is_default(l, i);
    assert_int_equal(overrides, 2);
    rv_config_list_destroy(l);

    assert_int_equal(rv_admin_alter_configs(f->a, "c", NULL, NULL, 0, n1, 1, errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_admin_describe_configs(f->a, "c", &l, errstr, sizeof errstr), 0);
    assert_string_equal(rv_config_list_get(l, "segment.bytes"), "1048576");
    for (size_t i = 0; i < rv_config_list_count(l); i++)
        if (!strcmp(rv_config_list_name(l, i), "retention.ms"))
            assert_true(rv_config_list_is_default(l, i));
    rv_config_list_destroy(l);

    const char *un[] = {"retention.hours"};
    assert_int_equal(rv_admin_alter_configs(f->a, "c", NULL, NULL, 0, un, 1, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    assert_string_equal(errstr, "Unknown topic config name: retention.hours");
    assert_int_equal(rv_admin_alter_configs(f->a, "c", n2, v2, 1, n2, 1, errstr, sizeof errstr),
                     RV_ERR_INVALID_REQUEST);
    assert_string_equal(errstr, "Error due to duplicate config keys: segment.bytes");
}

static rv_consumer_t *member_new(const char *bootstrap, const char *group) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr),
                     RV_CONF_OK);
    assert_int_equal(rv_conf_set(conf, "group.id", group, errstr, sizeof errstr), RV_CONF_OK);
    assert_int_equal(rv_conf_set(conf, "client.id", "member-1", errstr, sizeof errstr), RV_CONF_OK);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        fail_msg("consumer: %s", errstr);
    return c;
}

/* Groups: offsets committed by an outside admin, states (ListGroups v2
 * has none, so they come from DescribeGroups), a live member seen over
 * the wire, and deletion. */
static void test_groups(void **state) {
    fixture_t *f = *state;
    char errstr[1024];
    assert_int_equal(rv_admin_create_topic(f->a, "g", 2, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(2);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "g", 1), 7);
    rv_topic_partition_t *tp = rv_topic_partition_list_add(l, "g", 0);
    rv_topic_partition_set_offset(tp, 3);
    assert_int_equal(rv_topic_partition_set_metadata(tp, "meta"), 0);
    assert_int_equal(rv_admin_alter_group_offsets(f->a, "ga", l, errstr, sizeof errstr), 0);
    rv_topic_partition_list_destroy(l);

    assert_int_equal(rv_admin_list_group_offsets(f->a, "ga", &l, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_partition_list_count(l), 2);
    tp = rv_topic_partition_list_get(l, 0);
    assert_int_equal(rv_topic_partition_partition(tp), 0);
    assert_int_equal(rv_topic_partition_offset(tp), 3);
    assert_string_equal(rv_topic_partition_metadata(tp), "meta");
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 1)), 7);
    rv_topic_partition_list_destroy(l);
    assert_int_equal(rv_admin_list_group_offsets(f->a, "nobody", &l, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_partition_list_count(l), 0);
    rv_topic_partition_list_destroy(l);

    /* A member of group "gm" in this process, through the embedded
     * backend on the same broker: the admin sees it over the wire. */
    char emb[4200];
    snprintf(emb, sizeof emb, "embedded:%s", f->ks.dir);
    rv_consumer_t *c = member_new(emb, "gm");
    const char *topics[] = {"g"};
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, NULL), 0);
    rv_group_description_t *d = NULL;
    for (int i = 0; i < 100; i++) {
        rv_records_t *recs = NULL;
        rv_consumer_poll(c, 100, &recs);
        rv_records_destroy(recs);
        rv_group_description_destroy(d);
        d = NULL;
        if (rv_admin_describe_group(f->a, "gm", &d, errstr, sizeof errstr) == 0 &&
            !strcmp(rv_group_description_state(d), "Stable"))
            break;
    }
    assert_non_null(d);
    assert_string_equal(rv_group_description_state(d), "Stable");
    assert_string_equal(rv_group_description_group_id(d), "gm");
    assert_string_equal(rv_group_description_partition_assignor(d), "range");
    assert_int_equal(rv_group_description_coordinator(d), NODE_ID);
    assert_int_equal(rv_group_description_member_count(d), 1);
    assert_string_equal(rv_group_description_member_client_id(d, 0), "member-1");
    assert_true(strlen(rv_group_description_member_id(d, 0)) > 0);
    assert_null(rv_group_description_member_instance_id(d, 0));
    assert_null(rv_group_description_member_id(d, 1));
    const rv_topic_partition_list_t *asg = rv_group_description_member_assignment(d, 0);
    assert_int_equal(rv_topic_partition_list_count(asg), 2);
    assert_string_equal(rv_topic_partition_topic(rv_topic_partition_list_get(asg, 0)), "g");
    assert_int_equal(rv_topic_partition_partition(rv_topic_partition_list_get(asg, 1)), 1);
    rv_group_description_destroy(d);

    char **groups, **states;
    size_t cnt;
    assert_int_equal(rv_admin_list_groups(f->a, &groups, &states, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 2);
    assert_string_equal(groups[0], "ga");
    assert_string_equal(states[0], "Empty");
    assert_string_equal(groups[1], "gm");
    assert_string_equal(states[1], "Stable");
    rv_strv_free(groups, cnt);
    rv_strv_free(states, cnt);

    /* Refused while the group has members, as on Kafka. */
    l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "g", 0), 1);
    assert_int_equal(rv_admin_alter_group_offsets(f->a, "gm", l, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rv_topic_partition_err(rv_topic_partition_list_get(l, 0)),
                     RV_ERR_UNKNOWN_MEMBER_ID);
    rv_topic_partition_list_destroy(l);
    assert_int_equal(rv_admin_delete_group(f->a, "gm", errstr, sizeof errstr),
                     RV_ERR_NON_EMPTY_GROUP);
    rv_consumer_close(c);
    rv_consumer_destroy(c);

    assert_int_equal(rv_admin_delete_group(f->a, "ga", errstr, sizeof errstr), 0);
    assert_int_equal(rv_admin_describe_group(f->a, "ga", &d, errstr, sizeof errstr),
                     RV_ERR_GROUP_ID_NOT_FOUND);
    assert_string_equal(errstr, "Group ga not found.");
    assert_null(d);
    assert_int_equal(rv_admin_delete_group(f->a, "ga", errstr, sizeof errstr),
                     RV_ERR_GROUP_ID_NOT_FOUND);
}

/* The tools on this API work against a network broker. */
static void test_tools_over_network(void **state) {
    fixture_t *f = *state;
    rv__buf_t out = RV__BUF_INIT, err = RV__BUF_INIT;
    int rc = rvt_cli(&out, &err,
                     "topics --bootstrap-server %s --create --topic net --partitions 2 "
                     "--config retention.ms=60000",
                     f->ks.bs);
    rv__buf_append(&out, "", 1);
    rv__buf_append(&err, "", 1);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, (char *)err.data);
    assert_string_equal((char *)out.data, "Created topic net.\n");
    out.len = err.len = 0;
    rc = rvt_cli(&out, &err, "topics --bootstrap-server %s --describe --topic net", f->ks.bs);
    rv__buf_append(&out, "", 1);
    rv__buf_append(&err, "", 1);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, (char *)err.data);
    rvt_assert_contains((char *)out.data, "Topic: net\t");
    rvt_assert_contains((char *)out.data, "PartitionCount: 2");
    rvt_assert_contains((char *)out.data, "retention.ms=60000");
    rvt_assert_contains((char *)out.data, "Partition: 1\tLeader: 3");
    out.len = err.len = 0;
    rc = rvt_cli(&out, &err, "topics --bootstrap-server %s --create --topic net", f->ks.bs);
    rv__buf_append(&out, "", 1);
    rv__buf_append(&err, "", 1);
    assert_int_not_equal(rc, 0);
    rvt_assert_contains((char *)out.data, "Topic 'net' already exists.");
    rv__buf_free(&out);
    rv__buf_free(&err);
}

static void *describe_loop(void *arg) {
    rv_admin_t *a = arg;
    char errstr[512];
    intptr_t failures = 0;
    for (int i = 0; i < 20; i++) {
        rv_topic_description_t *d = NULL;
        char **names = NULL;
        size_t cnt = 0;
        failures += rv_admin_describe_topic(a, "p", &d, errstr, sizeof errstr) != 0 ||
                    rv_topic_description_partition_count(d) != 2;
        failures +=
            rv_admin_list_topics(a, false, &names, &cnt, errstr, sizeof errstr) != 0 || cnt != 1;
        rv_topic_description_destroy(d);
        rv_strv_free(names, cnt);
    }
    return (void *)failures;
}

/* One client from several threads at once, as the header allows: every
 * call waits on its own queue. */
static void test_threads(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    assert_int_equal(rv_admin_create_topic(f->a, "p", 2, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, describe_loop, f->a), 0);
    for (int i = 0; i < 4; i++) {
        void *failures;
        pthread_join(th[i], &failures);
        assert_int_equal((intptr_t)failures, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_server),
        cmocka_unit_test_setup_teardown(test_describe_over_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental_alter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_over_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
