/* tests/unit/test_kafka_consumer.c: what only the kafka backend of the
 * consumer (client/kafka_consumer.c) has to get right, against a real
 * rivulet Kafka-protocol server (broker/kafka/server.h) on 127.0.0.1 and
 * librdkafka: a host:port bootstrap makes a working consumer; records are
 * copied out of librdkafka's messages (keys, null keys and values, headers
 * with null values, timestamps) and outlive the consumer; a seek inside
 * the assigned listener decides where reading starts; member id and
 * generation come from librdkafka; wakeup() interrupts a blocked poll at
 * once; auto.offset.reset=none becomes NO_OFFSET / OFFSET_OUT_OF_RANGE and
 * the partition recovers once an offset is committed; commit_async
 * callbacks run in call order inside later polls; two group members share
 * partitions with cooperative-sticky (incremental) and range (eager)
 * rebalances and hand them back on close. The suites shared with
 * the embedded backend (test_consumer*.c) cover the rest. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/kafka/server.h"
#include "common/clock.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"

typedef rvt_kserver_t fx_t;

static void create_topic(fx_t *fx, const char *topic, int32_t partitions) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(
        rv_admin_create_topic(a, topic, partitions, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
}

/* n records "v<i>" with key "k<i>" (i from first), timestamps now (the
 * broker applies retention.ms to record timestamps), one batch. */
static void produce(fx_t *fx, const char *topic, int32_t partition, int first, int n) {
    char errstr[512], v[32], k[32];
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = first; i < first + n; i++) {
        int vl = snprintf(v, sizeof v, "v%d", i);
        int kl = snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(rv_batch_builder_add(b, k, kl, v, vl, rv__now_ms()), 0);
    }
    const void *data;
    size_t len;
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    assert_int_equal(
        rv_broker_produce(fx->broker, topic, partition, data, len, 1, NULL, errstr, sizeof errstr),
        0);
    rv_batch_builder_destroy(b);
}

static rv_consumer_t *consumer(fx_t *fx, ...) {
    char errstr[512];
    va_list ap;
    va_start(ap, fx);
    rv_conf_t *conf = rvt_conf_va(fx->bs, ap);
    va_end(ap);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        fail_msg("consumer: %s", errstr);
    return c;
}

static void assign1(rv_consumer_t *c, const char *topic, int32_t partition, int64_t offset) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, partition), offset);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
}

/* Polls until `want` records or 10 s; returns the records in one new
 * container per poll through the callback-free path: the offsets seen go
 * to offs (room for want). */
static int poll_offsets(rv_consumer_t *c, int want, int64_t *offs) {
    int got = 0;
    int64_t until = rv__mono_ms() + 10000;
    while (got < want && rv__mono_ms() < until) {
        rv_records_t *rs;
        rv_err_t err = rv_consumer_poll(c, 100, &rs);
        if (err)
            fail_msg("poll: %s: %s", rv_err_name(err), rv_consumer_last_error(c));
        for (size_t i = 0; i < rv_records_count(rs) && got < want; i++)
            offs[got++] = rv_record_offset(rv_records_get(rs, i));
        rv_records_destroy(rs);
    }
    return got;
}

static void test_records_outlive_consumer(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    create_topic(fx, "t", 1);
    /* Null key, null value, headers (one with a null value), an empty key. */
    int64_t ts = rv__now_ms();
    rv_batch_builder_t *b = rv_batch_builder_new();
    assert_int_equal(rv_batch_builder_add(b, NULL, -1, "a", 1, ts), 0);
    assert_int_equal(rv_batch_builder_add_header(b, "h1", "x", 1), 0);
    assert_int_equal(rv_batch_builder_add_header(b, "h2", NULL, -1), 0);
    assert_int_equal(rv_batch_builder_add_header(b, "h1", "yy", 2), 0);
    assert_int_equal(rv_batch_builder_add(b, "key", 3, NULL, -1, ts + 1), 0);
    assert_int_equal(rv_batch_builder_add(b, "", 0, "", 0, ts + 2), 0);
    const void *data;
    size_t len;
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    assert_int_equal(
        rv_broker_produce(fx->broker, "t", 0, data, len, 1, NULL, errstr, sizeof errstr), 0);
    rv_batch_builder_destroy(b);

    rv_consumer_t *c = consumer(fx, NULL); /* no group.id: assign still works */
    assign1(c, "t", 0, RV_OFFSET_BEGINNING);
    rv_records_t *keep = NULL;
    int64_t until = rv__mono_ms() + 10000;
    while (!keep && rv__mono_ms() < until) {
        rv_records_t *rs;
        assert_int_equal(rv_consumer_poll(c, 100, &rs), 0);
        if (rv_records_count(rs))
            keep = rs;
        else
            rv_records_destroy(rs);
    }
    assert_non_null(keep);
    assert_int_equal(rv_records_count(keep), 3);
    char es[256];
    assert_int_equal(rv_consumer_commit_sync(c, NULL, es, sizeof es), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_consumer_close(c), 0);
    rv_consumer_destroy(c);

    const rv_record_t *r = rv_records_get(keep, 0);
    int32_t kl, vl;
    assert_string_equal(rv_record_topic(r), "t");
    assert_int_equal(rv_record_partition(r), 0);
    assert_int_equal(rv_record_offset(r), 0);
    assert_null(rv_record_key(r, &kl));
    assert_int_equal(kl, -1);
    assert_memory_equal(rv_record_value(r, &vl), "a", 1);
    assert_int_equal(rv_record_timestamp(r), ts);
    assert_int_equal(rv_record_timestamp_type(r), RV_TIMESTAMP_CREATE_TIME);
    assert_int_equal(rv_record_header_count(r), 3);
    const char *hk;
    const void *hv;
    int32_t hvl;
    assert_int_equal(rv_record_header(r, 1, &hk, &hv, &hvl), 0);
    assert_string_equal(hk, "h2");
    assert_null(hv);
    assert_int_equal(hvl, -1);
    assert_int_equal(rv_record_header_last(r, "h1", &hv, &hvl), 0);
    assert_int_equal(hvl, 2);
    assert_memory_equal(hv, "yy", 2);
    r = rv_records_get(keep, 1);
    assert_memory_equal(rv_record_key(r, &kl), "key", 3);
    assert_null(rv_record_value(r, &vl));
    assert_int_equal(vl, -1);
    assert_int_equal(rv_record_header_count(r), 0);
    r = rv_records_get(keep, 2);
    assert_non_null(rv_record_key(r, &kl));
    assert_int_equal(kl, 0);
    assert_non_null(rv_record_value(r, &vl));
    assert_int_equal(vl, 0);
    rv_records_destroy(keep);
}

typedef struct lst_s {
    int assigned;
    int64_t seek_to;
} lst_t;

static void seek_on_assign(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    lst_t *ls = opaque;
    ls->assigned++;
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        assert_int_equal(rv_consumer_seek(c, rv_topic_partition_topic(tp),
                                          rv_topic_partition_partition(tp), ls->seek_to),
                         0);
    }
}

static void test_seek_in_assigned_listener(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "s", 1);
    produce(fx, "s", 0, 0, 20);
    rv_consumer_t *c = consumer(fx, "group.id", "g-seek", "auto.offset.reset", "earliest", NULL);
    assert_string_equal(rv_consumer_member_id(c), "");
    assert_int_equal(rv_consumer_generation(c), -1);
    lst_t ls = {0, 15};
    rv_rebalance_listener_t rl = RV_REBALANCE_LISTENER_INIT;
    rl.assigned = seek_on_assign;
    rl.opaque = &ls;
    const char *topics[] = {"s"};
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, &rl), 0);
    int64_t offs[5];
    assert_int_equal(poll_offsets(c, 5, offs), 5);
    assert_int_equal(ls.assigned, 1);
    assert_int_equal(offs[0], 15);
    assert_int_equal(offs[4], 19);
    assert_true(strlen(rv_consumer_member_id(c)) > 0);
    assert_true(rv_consumer_generation(c) >= 1);
    rv_consumer_destroy(c);
}

static void *wake_later(void *arg) {
    usleep(200 * 1000);
    rv_consumer_wakeup(arg);
    return NULL;
}

static void test_wakeup_interrupts_poll(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "w", 1);
    rv_consumer_t *c = consumer(fx, NULL);
    assign1(c, "w", 0, RV_OFFSET_END);
    pthread_t th;
    int64_t t0 = rv__mono_ms();
    assert_int_equal(pthread_create(&th, NULL, wake_later, c), 0);
    rv_records_t *rs = (rv_records_t *)1;
    assert_int_equal(rv_consumer_poll(c, 20000, &rs), RV_ERR__WAKEUP);
    assert_null(rs);
    int64_t took = rv__mono_ms() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 150 && took < 1500);
    assert_int_equal(rv_consumer_poll(c, 10, &rs), 0);
    rv_records_destroy(rs);
    rv_consumer_destroy(c);
}

static void test_reset_none(void **state) {
    fx_t *fx = *state;
    char errstr[256];
    create_topic(fx, "n", 1);
    produce(fx, "n", 0, 0, 10);
    rv_consumer_t *c = consumer(fx, "group.id", "g-none", "auto.offset.reset", "none",
                                "enable.auto.commit", "false", NULL);
    assign1(c, "n", 0, RV_OFFSET_STORED);
    rv_err_t err = RV_ERR_NO_ERROR;
    int64_t until = rv__mono_ms() + 10000;
    while (!err && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        err = rv_consumer_poll(c, 100, &rs);
        if (!err) {
            assert_int_equal(rv_records_count(rs), 0);
            rv_records_destroy(rs);
        }
    }
    assert_int_equal(err, RV_ERR__NO_OFFSET);
    assert_string_equal(rv_consumer_last_error(c),
                        "Undefined offset with no reset policy for partitions: [n-0]");
    /* Still none: the next poll says so again. */
    rv_records_t *rs = NULL;
    assert_int_equal(rv_consumer_poll(c, 100, &rs), RV_ERR__NO_OFFSET);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "n", 0), 7);
    assert_int_equal(rv_consumer_commit_sync(c, l, errstr, sizeof errstr), 0);
    rv_topic_partition_list_destroy(l);
    int64_t offs[3];
    assert_int_equal(poll_offsets(c, 3, offs), 3);
    assert_int_equal(offs[0], 7);

    /* A seek past the end: OFFSET_OUT_OF_RANGE, then a seek back works. */
    assert_int_equal(rv_consumer_seek(c, "n", 0, 50), 0);
    err = RV_ERR_NO_ERROR;
    until = rv__mono_ms() + 10000;
    while (!err && rv__mono_ms() < until) {
        err = rv_consumer_poll(c, 100, &rs);
        if (!err) {
            assert_int_equal(rv_records_count(rs), 0);
            rv_records_destroy(rs);
        }
    }
    assert_int_equal(err, RV_ERR_OFFSET_OUT_OF_RANGE);
    rvt_assert_contains(rv_consumer_last_error(c), "n-0");
    assert_int_equal(rv_consumer_seek(c, "n", 0, 2), 0);
    assert_int_equal(poll_offsets(c, 1, offs), 1);
    assert_int_equal(offs[0], 2);
    rv_consumer_destroy(c);
}

typedef struct order_s {
    int seen[4];
    int n;
} order_t;

static void on_commit_1(rv_consumer_t *c, rv_err_t err, const rv_topic_partition_list_t *offsets,
                        void *opaque) {
    (void)c;
    (void)offsets;
    order_t *o = opaque;
    assert_int_equal(err, 0);
    o->seen[o->n++] = 1;
}

static void on_commit_2(rv_consumer_t *c, rv_err_t err, const rv_topic_partition_list_t *offsets,
                        void *opaque) {
    (void)c;
    order_t *o = opaque;
    assert_int_equal(err, 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(offsets, 0)), 4);
    o->seen[o->n++] = 2;
}

static void test_commit_async_order(void **state) {
    fx_t *fx = *state;
    char errstr[256];
    create_topic(fx, "c", 1);
    produce(fx, "c", 0, 0, 10);
    rv_consumer_t *c = consumer(fx, "group.id", "g-async", "enable.auto.commit", "false",
                                "auto.offset.reset", "earliest", "max.poll.records", "3", NULL);
    assign1(c, "c", 0, RV_OFFSET_STORED);
    int64_t offs[3];
    assert_int_equal(poll_offsets(c, 3, offs), 3);
    order_t o = {{0}, 0};
    assert_int_equal(rv_consumer_commit_async(c, NULL, on_commit_1, &o), 0);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "c", 0), 4);
    assert_int_equal(rv_consumer_commit_async(c, l, on_commit_2, &o), 0);
    rv_topic_partition_list_destroy(l);
    assert_int_equal(o.n, 0); /* never inside the call */
    /* commit_sync runs the pending callbacks first, in call order. */
    assert_int_equal(rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.seen[0], 1);
    assert_int_equal(o.seen[1], 2);
    rv_consumer_destroy(c);
}

/* What the listener of one group member saw. */
typedef struct member_s {
    rv_consumer_t *c;
    int assigned_calls, revoked_calls;
    size_t revoked_last; /* partitions in the last revoked call */
    int got;
} member_t;

static void m_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    (void)c;
    (void)l;
    ((member_t *)opaque)->assigned_calls++;
}

static void m_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    (void)c;
    member_t *m = opaque;
    m->revoked_calls++;
    m->revoked_last = rv_topic_partition_list_count(l);
}

static size_t assigned_count(rv_consumer_t *c) {
    rv_topic_partition_list_t *l = NULL;
    assert_int_equal(rv_consumer_assignment(c, &l), 0);
    size_t n = rv_topic_partition_list_count(l);
    rv_topic_partition_list_destroy(l);
    return n;
}

static void poll_members(member_t *ms, int n) {
    for (int i = 0; i < n; i++) {
        if (!ms[i].c)
            continue;
        rv_records_t *rs = NULL;
        rv_err_t err = rv_consumer_poll(ms[i].c, 20, &rs);
        if (err)
            fail_msg("poll: %s: %s", rv_err_name(err), rv_consumer_last_error(ms[i].c));
        ms[i].got += (int)rv_records_count(rs);
        rv_records_destroy(rs);
    }
}

/* Two members share four partitions, then one leaves and the other gets
 * them all back; every record is read once. With cooperative-sticky only
 * the partitions that move are revoked (librdkafka's incremental
 * assignment); with range every rebalance revokes everything. */
static void group_of_two(fx_t *fx, const char *strategy) {
    create_topic(fx, "g2", 4);
    for (int p = 0; p < 4; p++)
        produce(fx, "g2", p, 0, 10);
    member_t ms[2];
    memset(ms, 0, sizeof ms);
    const char *topics[] = {"g2"};
    for (int i = 0; i < 2; i++) {
        ms[i].c = consumer(fx, "group.id", "g-two", "auto.offset.reset", "earliest",
                           "partition.assignment.strategy", strategy, "session.timeout.ms", "6000",
                           "heartbeat.interval.ms", "500", NULL);
        rv_rebalance_listener_t rl = RV_REBALANCE_LISTENER_INIT;
        rl.assigned = m_assigned;
        rl.revoked = m_revoked;
        rl.opaque = &ms[i];
        assert_int_equal(rv_consumer_subscribe(ms[i].c, topics, 1, &rl), 0);
        /* The second member joins once the first one has everything. */
        int64_t until = rv__mono_ms() + 15000;
        while (assigned_count(ms[0].c) != (i == 0 ? 4u : 2u) && rv__mono_ms() < until)
            poll_members(ms, i + 1);
        if (i == 1) {
            until = rv__mono_ms() + 15000;
            while (assigned_count(ms[1].c) != 2 && rv__mono_ms() < until)
                poll_members(ms, 2);
        }
    }
    assert_int_equal(assigned_count(ms[0].c), 2);
    assert_int_equal(assigned_count(ms[1].c), 2);
    if (strcmp(strategy, "cooperative-sticky") == 0) {
        assert_int_equal(ms[0].revoked_calls, 1);
        assert_int_equal(ms[0].revoked_last, 2); /* only the two that moved */
    } else {
        assert_true(ms[0].revoked_calls >= 1);
        assert_int_equal(ms[0].revoked_last, 4);
    }
    int64_t until = rv__mono_ms() + 10000;
    while (ms[0].got + ms[1].got < 40 && rv__mono_ms() < until)
        poll_members(ms, 2);
    assert_int_equal(ms[0].got + ms[1].got, 40);

    /* The second member leaves at once on close: no session timeout. */
    assert_int_equal(rv_consumer_close(ms[1].c), 0);
    assert_int_equal(ms[1].revoked_last, 2);
    rv_consumer_destroy(ms[1].c);
    ms[1].c = NULL;
    until = rv__mono_ms() + 5000;
    while (assigned_count(ms[0].c) != 4 && rv__mono_ms() < until)
        poll_members(ms, 1);
    assert_int_equal(assigned_count(ms[0].c), 4);
    produce(fx, "g2", 3, 10, 5);
    until = rv__mono_ms() + 10000;
    while (ms[0].got + ms[1].got < 45 && rv__mono_ms() < until)
        poll_members(ms, 1);
    assert_int_equal(ms[0].got + ms[1].got, 45); /* committed on revoke: no repeats */
    rv_consumer_destroy(ms[0].c);
}

static void test_group_cooperative(void **state) {
    group_of_two(*state, "cooperative-sticky");
}

static void test_group_eager(void **state) {
    group_of_two(*state, "range");
}

/* Nothing listens on the port: polls return empty containers (librdkafka
 * keeps retrying, as Java's consumer does) and destroy does not hang. */
static void test_unreachable_cluster(void **state) {
    (void)state;
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", "127.0.0.1:9", errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g-none", errstr, sizeof errstr), 0);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    assert_non_null(c);
    const char *topics[] = {"t"};
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, NULL), 0);
    int64_t t0 = rv__mono_ms();
    rv_records_t *rs = NULL;
    assert_int_equal(rv_consumer_poll(c, 200, &rs), 0);
    assert_int_equal(rv_records_count(rs), 0);
    rv_records_destroy(rs);
    assert_true(rv__mono_ms() - t0 >= 150);
    t0 = rv__mono_ms();
    rv_consumer_destroy(c);
    assert_true(rv__mono_ms() - t0 < 5000);
}

/* The cluster went away: commit_sync fails, as Java's commitSync, with a
 * timeout, which the application may retry. librdkafka 2.0 defers the
 * commit in its wait-for-coordinator queue for session.timeout.ms and then
 * answers __WAIT_COORD. */
static void test_commit_sync_cluster_gone(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "cg", 1);
    produce(fx, "cg", 0, 0, 3);
    rv_consumer_t *c =
        consumer(fx, "group.id", "g-gone", "session.timeout.ms", "6000", "heartbeat.interval.ms",
                 "500", "request.timeout.ms", "5000", "enable.auto.commit", "false", NULL);
    assign1(c, "cg", 0, 0);
    int64_t offs[3];
    assert_int_equal(poll_offsets(c, 3, offs), 3);
    char errstr[512] = "";
    assert_int_equal(rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr), 0);
    rv__kserver_stop(fx->server);
    fx->server = NULL;
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "cg", 0), 2);
    rv_err_t err = rv_consumer_commit_sync(c, l, errstr, sizeof errstr);
    rv_topic_partition_list_destroy(l);
    /* The server comes back on its port before the consumer closes: a
     * commit librdkafka still retries holds its close until it is
     * answered. */
    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = fx->port;
    int64_t until = rv__mono_ms() + 10000;
    char serr[512];
    while (rv__kserver_start(&fx->server, fx->broker, &cfg, serr, sizeof serr) &&
           rv__mono_ms() < until) {
        struct timespec pause = {0, 100 * 1000000L};
        nanosleep(&pause, NULL); /* the old listener's port may linger */
    }
    rv_consumer_destroy(c);
    if (err != RV_ERR__TIMED_OUT)
        fail_msg("commit_sync: %s (%s)", rv_err_name(err), errstr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_outlive_consumer, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_seek_in_assigned_listener, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_interrupts_poll, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_reset_none, rvt_kserver_setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_commit_async_order, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_group_cooperative, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_group_eager, rvt_kserver_setup, rvt_kserver_teardown),
        cmocka_unit_test(test_unreachable_cluster),
        cmocka_unit_test_setup_teardown(test_commit_sync_cluster_gone, rvt_kserver_setup,
                                        rvt_kserver_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
