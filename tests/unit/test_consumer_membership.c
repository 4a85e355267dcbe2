/* tests/unit/test_consumer_membership.c: group membership edges of
 * client/consumer.c. A subscribed consumer checks its topics' partition
 * counts every metadata.max.age.ms and rejoins when they change, so
 * partitions added to a subscribed topic get assigned and consumed (as a
 * Java consumer does at its next metadata refresh). A consumer that
 * unsubscribes inside its partitions-assigned listener (API calls from the
 * listener are allowed, as in Kafka) leaves the group and does not join it
 * again with an empty subscription, which would stall the other members
 * for the whole rebalance timeout. A member asking the group to shut down
 * (the stream runtime's SHUTDOWN_APPLICATION) makes the leader give every
 * member, also one joining later, no partitions and the request. A member
 * closing while a rebalance it has not polled for is pending revokes once,
 * commits and leaves. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "client/consumer_internal.h"
#include "common/clock.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"

typedef rvt_client_fx_t fx_t;

static rv_admin_t *admin(fx_t *fx) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    return a;
}

static void produce(fx_t *fx, const char *topic, int32_t partition, int n) {
    char errstr[512], v[16];
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = 0; i < n; i++) {
        int vl = snprintf(v, sizeof v, "%d", i);
        assert_int_equal(rv_batch_builder_add(b, NULL, -1, v, vl, rv__now_ms()), 0);
    }
    const void *data;
    size_t len;
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    assert_int_equal(
        rv_broker_produce(fx->broker, topic, partition, data, len, 1, NULL, errstr, sizeof errstr),
        0);
    rv_batch_builder_destroy(b);
}

/* Polls for up to ms; counts records per partition (0 and 1). */
static void poll_count(rv_consumer_t *c, int ms, int counts[2]) {
    int64_t until = rv__mono_ms() + ms;
    while (rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        rv_err_t err = rv_consumer_poll(c, 50, &rs);
        if (err)
            fail_msg("poll: %s: %s", rv_err_name(err), rv_consumer_last_error(c));
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            int32_t p = rv_record_partition(rv_records_get(rs, i));
            if (p >= 0 && p < 2)
                counts[p]++;
        }
        rv_records_destroy(rs);
    }
}

static void test_added_partition_is_assigned(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_admin_t *a = admin(fx);
    assert_int_equal(rv_admin_create_topic(a, "t", 1, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    produce(fx, "t", 0, 5);

    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "metadata.max.age.ms", "100", errstr, sizeof errstr), 0);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    assert_non_null(c);
    const char *topics[] = {"t"};
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, NULL), 0);
    int counts[2] = {0, 0};
    int64_t until = rv__mono_ms() + 5000;
    while (counts[0] < 5 && rv__mono_ms() < until)
        poll_count(c, 100, counts);
    assert_int_equal(counts[0], 5);

    /* One more partition, with records; metadata.max.age.ms is 100 ms. */
    assert_int_equal(rv_admin_create_partitions(a, "t", 2, errstr, sizeof errstr), 0);
    produce(fx, "t", 1, 7);
    until = rv__mono_ms() + 10000;
    while (counts[1] < 7 && rv__mono_ms() < until)
        poll_count(c, 100, counts);
    rv_topic_partition_list_t *asg = NULL;
    assert_int_equal(rv_consumer_assignment(c, &asg), 0);
    size_t assigned = rv_topic_partition_list_count(asg);
    rv_topic_partition_list_destroy(asg);
    rv_consumer_destroy(c);
    rv_admin_destroy(a);
    assert_int_equal(assigned, 2);
    assert_int_equal(counts[1], 7);
}

static rv_consumer_t *group_consumer(fx_t *fx, const char *max_poll) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "max.poll.interval.ms", max_poll, errstr, sizeof errstr), 0);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    assert_non_null(c);
    return c;
}

static int unsubscribed;

static void unsubscribe_on_assign(rv_consumer_t *c, const rv_topic_partition_list_t *parts,
                                  void *opaque) {
    (void)opaque;
    if (rv_topic_partition_list_count(parts) && !unsubscribed) {
        unsubscribed = 1;
        assert_int_equal(rv_consumer_unsubscribe(c), 0);
    }
}

static void test_unsubscribe_in_assigned_listener(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_admin_t *a = admin(fx);
    assert_int_equal(rv_admin_create_topic(a, "t", 2, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
    produce(fx, "t", 0, 3);
    produce(fx, "t", 1, 3);
    const char *topics[] = {"t"};

    unsubscribed = 0;
    rv_consumer_t *c1 = group_consumer(fx, "30000");
    rv_rebalance_listener_t l = RV_REBALANCE_LISTENER_INIT;
    l.assigned = unsubscribe_on_assign;
    assert_int_equal(rv_consumer_subscribe(c1, topics, 1, &l), 0);
    int64_t until = rv__mono_ms() + 5000;
    while (!unsubscribed && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c1, 50, &rs) == 0)
            rv_records_destroy(rs);
    }
    assert_int_equal(unsubscribed, 1);
    /* Let the group settle: c1 has no subscription, so it must not be a
     * member. It is: the poll that ran the listener joined again. */
    for (int i = 0; i < 10; i++) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c1, 30, &rs) == 0)
            rv_records_destroy(rs);
    }
    rv__group_description_t d;
    memset(&d, 0, sizeof d);
    size_t members = 0;
    char gstate[64] = "";
    if (rv__group_describe(rv__broker_group_coordinator(fx->broker), "g", &d) == 0) {
        members = d.member_cnt;
        snprintf(gstate, sizeof gstate, "%s", d.state);
        rv__group_description_clear(&d);
    }
    if (members)
        print_error("after unsubscribe in the listener, group g still has %zu member(s) "
                    "(state %s)\n",
                    members, gstate);

    /* c1 is out of the group now; a second consumer must get both
     * partitions quickly. c1 keeps polling (it has no subscription). */
    rv_consumer_t *c2 = group_consumer(fx, "30000");
    assert_int_equal(rv_consumer_subscribe(c2, topics, 1, NULL), 0);
    int got = 0;
    until = rv__mono_ms() + 4000;
    while (got < 6 && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c1, 0, &rs) == 0)
            rv_records_destroy(rs);
        if (rv_consumer_poll(c2, 50, &rs) == 0) {
            got += (int)rv_records_count(rs);
            rv_records_destroy(rs);
        }
    }
    rv_consumer_destroy(c2);
    rv_consumer_destroy(c1);
    assert_int_equal(members, 0);
    assert_int_equal(got, 6);
}

/* Polls every consumer briefly, dropping what they return. */
static void poll_all(rv_consumer_t **cs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        rv_records_t *rs = NULL;
        rv_err_t err = rv_consumer_poll(cs[i], 10, &rs);
        if (err)
            fail_msg("poll: %s: %s", rv_err_name(err), rv_consumer_last_error(cs[i]));
        rv_records_destroy(rs);
    }
}

static size_t assigned_count(rv_consumer_t *c) {
    rv_topic_partition_list_t *asg = NULL;
    assert_int_equal(rv_consumer_assignment(c, &asg), 0);
    size_t n = rv_topic_partition_list_count(asg);
    rv_topic_partition_list_destroy(asg);
    return n;
}

/* Polls until every consumer has `want` partitions and its shutdown flag
 * is `shutdown`, for up to 10 s; true when they got there. */
static bool settle(rv_consumer_t **cs, size_t n, size_t want, bool shutdown) {
    int64_t until = rv__mono_ms() + 10000;
    for (;;) {
        poll_all(cs, n);
        bool ok = true;
        for (size_t i = 0; i < n; i++)
            ok &=
                assigned_count(cs[i]) == want && rv__consumer_shutdown_requested(cs[i]) == shutdown;
        if (ok)
            return true;
        if (rv__mono_ms() > until)
            return false;
    }
}

static void test_group_shutdown_request(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_admin_t *a = admin(fx);
    assert_int_equal(rv_admin_create_topic(a, "t", 2, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
    const char *topics[] = {"t"};
    rv_consumer_t *cs[4];
    for (int i = 0; i < 2; i++) {
        cs[i] = group_consumer(fx, "30000");
        assert_int_equal(rv_consumer_subscribe(cs[i], topics, 1, NULL), 0);
    }
    assert_true(settle(cs, 2, 1, false));

    if (rvt_kafka_backend()) {
        /* librdkafka's group protocol carries no user data of ours. */
        assert_int_equal(rv__consumer_request_shutdown(cs[0]), RV_ERR__NOT_IMPLEMENTED);
        assert_true(settle(cs, 2, 1, false));
        rv_consumer_destroy(cs[0]);
        rv_consumer_destroy(cs[1]);
        return;
    }
    /* c0 asks: both members end with no partitions and the request. */
    assert_int_equal(rv__consumer_request_shutdown(cs[0]), 0);
    assert_false(rv__consumer_shutdown_requested(cs[0])); /* not before the group answers */
    assert_true(settle(cs, 2, 0, true));

    /* The asking member leaves; one joining now learns it too, from c1,
     * which keeps asking since it was told. */
    rv_consumer_destroy(cs[0]);
    cs[0] = NULL;
    cs[2] = group_consumer(fx, "30000");
    assert_int_equal(rv_consumer_subscribe(cs[2], topics, 1, NULL), 0);
    assert_true(settle(&cs[1], 2, 0, true));
    rv_consumer_destroy(cs[1]);
    rv_consumer_destroy(cs[2]);

    /* Once they are gone the group is back to normal. */
    cs[3] = group_consumer(fx, "30000");
    assert_int_equal(rv_consumer_subscribe(cs[3], topics, 1, NULL), 0);
    assert_true(settle(&cs[3], 1, 2, false));
    rv_consumer_destroy(cs[3]);

    /* Without a group subscription there is no one to ask. */
    rv_consumer_t *solo = group_consumer(fx, "30000");
    assert_int_equal(rv__consumer_request_shutdown(solo), RV_ERR__STATE);
    rv_consumer_destroy(solo);
}

/* Counts a close's revocations and the partitions they named. */
static int g_revoked_calls, g_revoked_parts;

static void count_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *parts, void *opaque) {
    (void)c;
    (void)opaque;
    g_revoked_calls++;
    g_revoked_parts += (int)rv_topic_partition_list_count(parts);
}

typedef struct joiner_s {
    rv_consumer_t *c;
    int stop, got;
} joiner_t;

static void *join_and_poll(void *arg) {
    joiner_t *j = arg;
    while (!__atomic_load_n(&j->stop, __ATOMIC_SEQ_CST)) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(j->c, 50, &rs) == 0) {
            __atomic_add_fetch(&j->got, (int)rv_records_count(rs), __ATOMIC_SEQ_CST);
            rv_records_destroy(rs);
        }
    }
    return NULL;
}

/* A member closes while a rebalance it has not polled for is pending (a
 * second member joined): close revokes its partitions once, commits their
 * positions and leaves, and the other member gets them without reading
 * anything again. On the kafka backend librdkafka has queued that
 * rebalance's revocation by then, the case in which its own close could
 * wait forever for the rebalance callback's assign call. */
static void test_close_during_rebalance(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_admin_t *a = admin(fx);
    assert_int_equal(rv_admin_create_topic(a, "t", 2, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
    produce(fx, "t", 0, 4);
    produce(fx, "t", 1, 6);
    const char *topics[] = {"t"};

    /* c1 heartbeats often, so it hears of the rebalance soon. */
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "heartbeat.interval.ms", "100", errstr, sizeof errstr), 0);
    rv_consumer_t *c1 = rv_consumer_new(conf, errstr, sizeof errstr);
    assert_non_null(c1);
    rv_rebalance_listener_t l = RV_REBALANCE_LISTENER_INIT;
    l.revoked = count_revoked;
    g_revoked_calls = g_revoked_parts = 0;
    assert_int_equal(rv_consumer_subscribe(c1, topics, 1, &l), 0);
    int counts[2] = {0, 0};
    int64_t until = rv__mono_ms() + 10000;
    while ((counts[0] < 4 || counts[1] < 6) && rv__mono_ms() < until)
        poll_count(c1, 50, counts);
    assert_int_equal(counts[0], 4);
    assert_int_equal(counts[1], 6);

    /* A second member joins; c1 does not poll while the group rebalances
     * (it keeps heartbeating, so it hears of the rebalance). */
    joiner_t j = {.c = group_consumer(fx, "30000")};
    assert_int_equal(rv_consumer_subscribe(j.c, topics, 1, NULL), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, join_and_poll, &j), 0);
    struct timespec pause = {1, 500 * 1000000L};
    nanosleep(&pause, NULL);

    assert_int_equal(rv_consumer_close(c1), 0);
    assert_int_equal(g_revoked_calls, 1);
    assert_int_equal(g_revoked_parts, 2);

    /* The joiner gets both partitions and starts after c1's commits: of
     * the records, it reads only a new one (and, a moment later, still
     * that one only). */
    produce(fx, "t", 1, 1);
    until = rv__mono_ms() + 10000;
    while (__atomic_load_n(&j.got, __ATOMIC_SEQ_CST) < 1 && rv__mono_ms() < until) {
        struct timespec t = {0, 50 * 1000000L};
        nanosleep(&t, NULL);
    }
    struct timespec settle_time = {0, 300 * 1000000L};
    nanosleep(&settle_time, NULL);
    __atomic_store_n(&j.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    assert_int_equal(j.got, 1);

    rv_topic_partition_list_t *committed = rv_topic_partition_list_new(2);
    rv_topic_partition_list_add(committed, "t", 0);
    rv_topic_partition_list_add(committed, "t", 1);
    assert_int_equal(rv_consumer_committed(j.c, committed, 5000), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(committed, 0)), 4);
    rv_topic_partition_list_destroy(committed);
    rv_consumer_destroy(j.c);
    rv_consumer_destroy(c1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_added_partition_is_assigned, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_in_assigned_listener, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_shutdown_request, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_close_during_rebalance, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
