/* tests/unit/test_consumer_zombie.c: a consumer the group no longer
 * counts as a member (a "zombie") must not overwrite what the partitions'
 * new owner committed (embedded backend).
 *
 *  - test_coop_removed_member_loses_its_partitions: a cooperative-sticky
 *    member that the coordinator removed learns it from its JoinGroup
 *    (UNKNOWN_MEMBER_ID) rather than from a heartbeat. Its partitions are
 *    lost (the lost listener, no commit), so when it joins again it neither
 *    claims them nor commits their stale positions under its new
 *    generation.
 *  - test_nonmember_commit_fails: a subscribed consumer that is not a
 *    member (it was kicked out: poll returned MAX_POLL_EXCEEDED) has its
 *    commit refused, as Kafka's consumer refuses it (CommitFailedException),
 *    rather than sent as a simple commit that an Empty group accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "common/clock.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"

typedef rvt_client_fx_t fx_t;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void create_topic(fx_t *fx, const char *t, int32_t parts) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(rv_admin_create_topic(a, t, parts, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_admin_destroy(a);
}

static void produce(fx_t *fx, const char *topic, int32_t partition, int n) {
    char errstr[512];
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, n, NULL, 8, rv__now_ms());
    assert_int_equal(rv_broker_produce(fx->broker, topic, partition, b.data, b.len, 1, NULL, errstr,
                                       sizeof errstr),
                     0);
    rv__buf_free(&b);
}

static rv_consumer_t *consumer(fx_t *fx, const char *const *kv) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr), 0);
    for (; kv && kv[0]; kv += 2)
        assert_int_equal(rv_conf_set(conf, kv[0], kv[1], errstr, sizeof errstr), 0);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        fail_msg("consumer: %s", errstr);
    return c;
}

/* Polls c once; returns the record count (errors are returned in *err). */
static int poll_once(rv_consumer_t *c, int ms, rv_err_t *err) {
    rv_records_t *rs = NULL;
    rv_err_t e = rv_consumer_poll(c, ms, &rs);
    if (err)
        *err = e;
    int n = (int)rv_records_count(rs);
    rv_records_destroy(rs);
    return n;
}

static size_t assigned_count(rv_consumer_t *c) {
    rv_topic_partition_list_t *asg = NULL;
    assert_int_equal(rv_consumer_assignment(c, &asg), 0);
    size_t n = rv_topic_partition_list_count(asg);
    rv_topic_partition_list_destroy(asg);
    return n;
}

/* Committed offset of g for t-p as the coordinator holds it. */
static int64_t committed(fx_t *fx, const char *t, int32_t p) {
    rv__group_tp_t tp = {t, p};
    rv__group_committed_t *out = NULL;
    size_t n = 0;
    assert_int_equal(
        rv__group_fetch_offsets(rv__broker_group_coordinator(fx->broker), "g", &tp, 1, &out, &n),
        0);
    assert_int_equal(n, 1);
    int64_t off = out[0].offset;
    rv__group_committed_free(out, n);
    return off;
}

static int g_revoked, g_lost, g_assigned;

static void on_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *o) {
    (void)c, (void)o;
    g_revoked += (int)rv_topic_partition_list_count(l);
}
static void on_lost(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *o) {
    (void)c, (void)o;
    g_lost += (int)rv_topic_partition_list_count(l);
}
static void on_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *o) {
    (void)c, (void)o;
    g_assigned += (int)rv_topic_partition_list_count(l);
}

/* ---- 1 ---- */

static void test_coop_removed_member_loses_its_partitions(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    create_topic(fx, "t", 2);
    produce(fx, "t", 0, 10);
    produce(fx, "t", 1, 10);
    const char *topics[] = {"t"};
    /* A: cooperative, auto commit (long interval: it commits on revocation
     * only), heartbeats rare so that its next JoinGroup, not a heartbeat,
     * is what tells it it was removed. */
    const char *akv[] = {"partition.assignment.strategy",
                         "cooperative-sticky",
                         "heartbeat.interval.ms",
                         "20000",
                         "session.timeout.ms",
                         "60000",
                         "max.poll.records",
                         "3",
                         "auto.commit.interval.ms",
                         "600000",
                         NULL};
    rv_consumer_t *a = consumer(fx, akv);
    rv_rebalance_listener_t l = RV_REBALANCE_LISTENER_INIT;
    l.revoked = on_revoked;
    l.lost = on_lost;
    l.assigned = on_assigned;
    g_revoked = g_lost = g_assigned = 0;
    assert_int_equal(rv_consumer_subscribe(a, topics, 1, &l), 0);
    int got = 0;
    int64_t until = rv__mono_ms() + 10000;
    while ((assigned_count(a) < 2 || got == 0) && rv__mono_ms() < until)
        got += poll_once(a, 50, NULL);
    assert_int_equal(assigned_count(a), 2);
    assert_true(got > 0 && got < 20); /* A consumed a little of t */
    int32_t gen_a = rv_consumer_generation(a);

    /* The coordinator removes A (as its session or the join deadline
     * would); A's heartbeat has not run since. */
    assert_int_equal(
        rv__group_leave(rv__broker_group_coordinator(fx->broker), "g", rv_consumer_member_id(a)),
        0);

    /* B takes both partitions, consumes everything and commits 10/10. */
    const char *bkv[] = {"partition.assignment.strategy", "cooperative-sticky",
                         "enable.auto.commit", "false", NULL};
    rv_consumer_t *b = consumer(fx, bkv);
    assert_int_equal(rv_consumer_subscribe(b, topics, 1, NULL), 0);
    int bgot = 0;
    until = rv__mono_ms() + 10000;
    while (bgot < 20 && rv__mono_ms() < until)
        bgot += poll_once(b, 50, NULL);
    assert_int_equal(bgot, 20);
    assert_int_equal(rv_consumer_commit_sync(b, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(committed(fx, "t", 0), 10);
    assert_int_equal(committed(fx, "t", 1), 10);
    fprintf(stderr, "A (gen %d) removed; B (gen %d) committed 10/10\n", gen_a,
            rv_consumer_generation(b));

    /* A rejoins (here: its subscription is set again; a metadata change or
     * the REBALANCE_IN_PROGRESS of an earlier heartbeat does the same).
     * Its JoinGroup with the old member id gets UNKNOWN_MEMBER_ID. */
    /* A holds back its input meanwhile (backpressure: pause), so its
     * positions stay where its last poll left them. Without the pause A
     * goes on reading both partitions while it is no member (it returned
     * every record of t again in a run without it). */
    rv_topic_partition_list_t *asg = NULL;
    assert_int_equal(rv_consumer_assignment(a, &asg), 0);
    assert_int_equal(rv_consumer_pause(a, asg), 0);
    rv_topic_partition_list_destroy(asg);
    assert_int_equal(rv_consumer_subscribe(a, topics, 1, &l), 0);
    int agot_after = 0;
    until = rv__mono_ms() + 4000;
    while (rv__mono_ms() < until) {
        agot_after += poll_once(a, 20, NULL);
        poll_once(b, 20, NULL);
    }
    int64_t c0 = committed(fx, "t", 0), c1 = committed(fx, "t", 1);
    fprintf(stderr,
            "after A rejoined: committed t-0=%lld t-1=%lld; A: revoked=%d lost=%d, "
            "records returned while not a member=%d\n",
            (long long)c0, (long long)c1, g_revoked, g_lost, agot_after);
    rv_consumer_destroy(b);
    rv_consumer_destroy(a);
    /* Kafka: A's partitions are lost (onPartitionsLost, no commit); the
     * offsets B committed stay. */
    assert_true(g_lost >= 2);
    assert_int_equal(c0, 10);
    assert_int_equal(c1, 10);
}

/* ---- 2 ---- */

static void test_nonmember_commit_fails(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    create_topic(fx, "t", 1);
    produce(fx, "t", 0, 10);
    const char *topics[] = {"t"};
    const char *akv[] = {"max.poll.interval.ms",
                         "500",
                         "heartbeat.interval.ms",
                         "50",
                         "enable.auto.commit",
                         "false",
                         "max.poll.records",
                         "3",
                         NULL};
    rv_consumer_t *a = consumer(fx, akv);
    rv_rebalance_listener_t l = RV_REBALANCE_LISTENER_INIT;
    l.lost = on_lost;
    g_lost = 0;
    assert_int_equal(rv_consumer_subscribe(a, topics, 1, &l), 0);
    int got = 0;
    int64_t until = rv__mono_ms() + 10000;
    while (got == 0 && rv__mono_ms() < until)
        got += poll_once(a, 50, NULL);
    assert_true(got > 0 && got < 10);
    /* A stalls past max.poll.interval.ms: its heartbeat thread leaves. */
    sleep_ms(1200);
    rv_err_t err = 0;
    poll_once(a, 0, &err);
    assert_int_equal(err, RV_ERR__MAX_POLL_EXCEEDED);
    assert_int_equal(g_lost, 1);

    /* B owns the partition now, consumes it all and commits 10, then
     * leaves: the group is Empty. */
    const char *bkv[] = {"enable.auto.commit", "false", NULL};
    rv_consumer_t *b = consumer(fx, bkv);
    assert_int_equal(rv_consumer_subscribe(b, topics, 1, NULL), 0);
    int bgot = 0;
    until = rv__mono_ms() + 10000;
    while (bgot < 10 && rv__mono_ms() < until)
        bgot += poll_once(b, 50, NULL);
    assert_int_equal(bgot, 10);
    assert_int_equal(rv_consumer_commit_sync(b, NULL, errstr, sizeof errstr), 0);
    rv_consumer_destroy(b);
    assert_int_equal(committed(fx, "t", 0), 10);

    /* The zombie A, still subscribed but no member, commits what it had
     * processed (offset 3): refused (Kafka: CommitFailedException). */
    rv_topic_partition_list_t *off = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(off, "t", 0), got);
    err = rv_consumer_commit_sync(a, off, errstr, sizeof errstr);
    rv_topic_partition_list_destroy(off);
    int64_t c0 = committed(fx, "t", 0);
    fprintf(stderr, "zombie commit returned %s; committed t-0=%lld\n", rv_err_name(err),
            (long long)c0);
    rv_consumer_destroy(a);
    assert_int_not_equal(err, RV_ERR_NO_ERROR);
    assert_int_equal(c0, 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_coop_removed_member_loses_its_partitions,
                                        rvt_client_fx_setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_nonmember_commit_fails, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
