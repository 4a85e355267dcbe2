/* tests/integration/0004_group_rebalance.c: consumer groups on the embedded
 * broker with real consumers, their heartbeat threads and the group
 * coordinator: members split the partitions and rebalance when one joins,
 * leaves, crashes (session.timeout.ms) or stops polling
 * (max.poll.interval.ms); no record is lost or duplicated across
 * rebalances when the listener commits (eager and cooperative-sticky); two
 * groups read the same data independently; committed offsets and groups
 * survive a broker restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "client/consumer_internal.h"
#include "common/clock.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"

#define NPART 6
#define PER_PART 400
#define MAXC 4

typedef struct fx_s {
    char *dir;
    char bs[4200];
    rv_broker_t *broker;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    char errstr[512];
    fx->dir = rvt_tmpdir();
    snprintf(fx->bs, sizeof fx->bs, "embedded:%s", fx->dir);
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(rv_admin_create_topic(a, "t", NPART, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_admin_destroy(a);
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

static void produce(fx_t *fx, int32_t partition, int first, int n) {
    char errstr[512], v[64];
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = first; i < first + n;) {
        rv_batch_builder_reset(b);
        for (int j = 0; j < 50 && i < first + n; j++, i++) {
            int vl = snprintf(v, sizeof v, "%d-%d", partition, i);
            assert_int_equal(rv_batch_builder_add(b, NULL, -1, v, vl, -1), 0);
        }
        const void *data;
        size_t len;
        assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
        assert_int_equal(rv_broker_produce(fx->broker, "t", partition, data, len, 1, NULL, errstr,
                                           sizeof errstr),
                         0);
    }
    rv_batch_builder_destroy(b);
}

static void produce_all(fx_t *fx) {
    for (int p = 0; p < NPART; p++)
        produce(fx, p, 0, PER_PART);
}

/* ---- a member and what it saw ---- */

typedef struct member_s {
    rv_consumer_t *c;
    int idx;
    bool commit_in_revoked;
    int assigned_calls, revoked_calls, lost_calls;
    int owned[NPART];    /* 1 while assigned */
    int64_t next[NPART]; /* expected next offset per partition, -1 unknown */
} member_t;

/* seen[p][o]: how many times offset o of partition p was returned. */
static unsigned char seen[NPART][PER_PART * 2];

static void on_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    (void)c;
    member_t *m = opaque;
    m->assigned_calls++;
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++) {
        int32_t p = rv_topic_partition_partition(rv_topic_partition_list_get(l, i));
        m->owned[p] = 1;
        m->next[p] = -1;
    }
}

static void on_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    member_t *m = opaque;
    m->revoked_calls++;
    if (m->commit_in_revoked) {
        char errstr[256];
        rv_err_t err = rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr);
        if (err)
            fail_msg("commit in revoked: %s %s", rv_err_name(err), errstr);
    }
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++)
        m->owned[rv_topic_partition_partition(rv_topic_partition_list_get(l, i))] = 0;
}

static void on_lost(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    (void)c;
    member_t *m = opaque;
    m->lost_calls++;
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++)
        m->owned[rv_topic_partition_partition(rv_topic_partition_list_get(l, i))] = 0;
}

static void member_start(fx_t *fx, member_t *m, int idx, const char *group, const char *strategy,
                         bool commit_in_revoked) {
    char errstr[512];
    memset(m, 0, sizeof *m);
    m->idx = idx;
    m->commit_in_revoked = commit_in_revoked;
    rv_conf_t *conf = rv_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", fx->bs},
                           {"group.id", group},
                           {"auto.offset.reset", "earliest"},
                           {"enable.auto.commit", commit_in_revoked ? "false" : "true"},
                           {"session.timeout.ms", "600"},
                           {"heartbeat.interval.ms", "50"},
                           {"max.poll.interval.ms", "5000"},
                           {"max.poll.records", "37"},
                           {"partition.assignment.strategy", strategy}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RV_CONF_OK)
            fail_msg("%s", errstr);
    m->c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!m->c)
        fail_msg("consumer: %s", errstr);
    rv_rebalance_listener_t rl = RV_REBALANCE_LISTENER_INIT;
    rl.assigned = on_assigned;
    rl.revoked = on_revoked;
    rl.lost = on_lost;
    rl.opaque = m;
    const char *topics[] = {"t"};
    assert_int_equal(rv_consumer_subscribe(m->c, topics, 1, &rl), 0);
}

/* One poll of a member; records are checked for order and counted. */
static int member_poll(member_t *m, int timeout_ms) {
    rv_records_t *rs;
    rv_err_t err = rv_consumer_poll(m->c, timeout_ms, &rs);
    if (err)
        fail_msg("poll of member %d: %s: %s", m->idx, rv_err_name(err),
                 rv_consumer_last_error(m->c));
    int n = (int)rv_records_count(rs);
    for (int i = 0; i < n; i++) {
        const rv_record_t *r = rv_records_get(rs, (size_t)i);
        int32_t p = rv_record_partition(r);
        int64_t o = rv_record_offset(r);
        assert_true(m->owned[p]);
        if (m->next[p] >= 0)
            assert_int_equal(o, m->next[p]); /* per-partition order, no gap */
        m->next[p] = o + 1;
        assert_true(o < PER_PART * 2);
        seen[p][o]++;
        char want[32];
        int wl = snprintf(want, sizeof want, "%d-%lld", p, (long long)o);
        int32_t vl;
        const void *v = rv_record_value(r, &vl);
        assert_int_equal(vl, wl);
        assert_memory_equal(v, want, (size_t)wl);
    }
    rv_records_destroy(rs);
    return n;
}

static int owned_cnt(const member_t *m) {
    int n = 0;
    for (int p = 0; p < NPART; p++)
        n += m->owned[p];
    return n;
}

/* Polls every member until each owns `want[i]` partitions (and, with
 * disjoint ownership, all are covered) or 10 s pass. */
static void poll_until_split(member_t *ms, int cnt, const int *want) {
    int64_t until = rv__mono_ms() + 10000;
    for (;;) {
        for (int i = 0; i < cnt; i++)
            member_poll(&ms[i], 5);
        bool ok = true;
        int total = 0;
        for (int i = 0; i < cnt; i++) {
            ok &= owned_cnt(&ms[i]) == want[i];
            total += owned_cnt(&ms[i]);
        }
        if (ok && total == NPART)
            return;
        if (rv__mono_ms() > until) {
            for (int i = 0; i < cnt; i++)
                print_message("member %d owns %d (want %d)\n", i, owned_cnt(&ms[i]), want[i]);
            fail_msg("the group did not settle");
        }
    }
}

static long long total_seen(int *dups) {
    long long n = 0;
    *dups = 0;
    for (int p = 0; p < NPART; p++)
        for (int o = 0; o < PER_PART * 2; o++) {
            n += seen[p][o] ? 1 : 0;
            *dups += seen[p][o] > 1;
        }
    return n;
}

/* Join, leave and crash with eager or cooperative assignors; the
 * listener commits, so nothing is read twice or skipped. */
static void rebalance_scenario(fx_t *fx, const char *strategy) {
    memset(seen, 0, sizeof seen);
    produce_all(fx);
    member_t ms[3];
    member_start(fx, &ms[0], 0, "g", strategy, true);
    int w1[] = {NPART};
    poll_until_split(ms, 1, w1);
    for (int i = 0; i < 20; i++)
        member_poll(&ms[0], 5);

    /* a second member joins: 3 + 3 */
    member_start(fx, &ms[1], 1, "g", strategy, true);
    int w2[] = {3, 3};
    poll_until_split(ms, 2, w2);
    for (int i = 0; i < 10; i++) {
        member_poll(&ms[0], 5);
        member_poll(&ms[1], 5);
    }

    /* a third joins: 2 + 2 + 2 */
    member_start(fx, &ms[2], 2, "g", strategy, true);
    int w3[] = {2, 2, 2};
    poll_until_split(ms, 3, w3);

    /* the third leaves (close: commit in revoked, LeaveGroup): 3 + 3 */
    for (int i = 0; i < 5; i++)
        member_poll(&ms[2], 5);
    assert_int_equal(rv_consumer_close(ms[2].c), 0);
    rv_consumer_destroy(ms[2].c);
    poll_until_split(ms, 2, w2);

    /* drain everything */
    int dups;
    int64_t until = rv__mono_ms() + 10000;
    while (total_seen(&dups) < NPART * PER_PART && rv__mono_ms() < until) {
        member_poll(&ms[0], 5);
        member_poll(&ms[1], 5);
    }
    assert_int_equal(total_seen(&dups), NPART * PER_PART);
    assert_int_equal(dups, 0);
    assert_true(ms[0].assigned_calls >= 3);

    /* the second commits, then crashes: after session.timeout.ms the first
     * owns all (what a member reads after its last commit would be read
     * again: at-least-once) */
    char errstr[256];
    assert_int_equal(rv_consumer_commit_sync(ms[1].c, NULL, errstr, sizeof errstr), 0);
    rv__consumer_simulate_crash(ms[1].c);
    int64_t t0 = rv__mono_ms();
    until = t0 + 10000;
    while (owned_cnt(&ms[0]) != NPART && rv__mono_ms() < until)
        member_poll(&ms[0], 10);
    assert_int_equal(owned_cnt(&ms[0]), NPART);
    assert_true(rv__mono_ms() - t0 >= 300); /* it waited for the session to expire */
    rv_consumer_destroy(ms[1].c);

    /* more data after the rebalances: still no loss, no duplicate */
    for (int p = 0; p < NPART; p++)
        produce(fx, p, PER_PART, 10);
    until = rv__mono_ms() + 5000;
    long long want = NPART * (PER_PART + 10);
    while (total_seen(&dups) < want && rv__mono_ms() < until)
        member_poll(&ms[0], 5);
    assert_int_equal(total_seen(&dups), want);
    assert_int_equal(dups, 0);
    rv_consumer_destroy(ms[0].c);
}

static void test_eager_range(void **state) {
    rebalance_scenario(*state, "range");
}

static void test_cooperative_sticky(void **state) {
    rebalance_scenario(*state, "cooperative-sticky");
}

static void test_roundrobin_idle_member(void **state) {
    fx_t *fx = *state;
    memset(seen, 0, sizeof seen);
    member_t ms[MAXC];
    /* More members than partitions would need 7; 4 members on 6
     * partitions: 2 2 1 1 with roundrobin. */
    for (int i = 0; i < MAXC; i++)
        member_start(fx, &ms[i], i, "rr", "roundrobin", false);
    int64_t until = rv__mono_ms() + 10000;
    for (;;) {
        int total = 0, twos = 0;
        for (int i = 0; i < MAXC; i++) {
            member_poll(&ms[i], 5);
            total += owned_cnt(&ms[i]);
            twos += owned_cnt(&ms[i]) == 2;
        }
        if (total == NPART && twos == 2)
            break;
        if (rv__mono_ms() > until)
            fail_msg("roundrobin group did not settle");
    }
    for (int i = 0; i < MAXC; i++)
        rv_consumer_destroy(ms[i].c);
}

/* Two groups each read everything; auto commit on close. */
static void test_two_groups(void **state) {
    fx_t *fx = *state;
    produce_all(fx);
    const char *groups[] = {"ga", "gb"};
    for (int g = 0; g < 2; g++) {
        memset(seen, 0, sizeof seen);
        member_t m;
        member_start(fx, &m, 0, groups[g], "range", false);
        int dups;
        int64_t until = rv__mono_ms() + 10000;
        while (total_seen(&dups) < NPART * PER_PART && rv__mono_ms() < until)
            member_poll(&m, 10);
        assert_int_equal(total_seen(&dups), NPART * PER_PART);
        assert_int_equal(dups, 0);
        rv_consumer_destroy(m.c);
    }
    /* Both committed everything, independently. */
    for (int g = 0; g < 2; g++) {
        member_t m;
        member_start(fx, &m, 0, groups[g], "range", false);
        rv_topic_partition_list_t *l = rv_topic_partition_list_new(NPART);
        for (int p = 0; p < NPART; p++)
            rv_topic_partition_list_add(l, "t", p);
        assert_int_equal(rv_consumer_committed(m.c, l, 1000), 0);
        for (int p = 0; p < NPART; p++)
            assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, (size_t)p)),
                             PER_PART);
        rv_topic_partition_list_destroy(l);
        rv_consumer_destroy(m.c);
    }
}

/* A member that stops polling for max.poll.interval.ms leaves; the other
 * takes its partitions; its next poll reports it, then it rejoins. */
static void test_max_poll_interval(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    member_t a, b;
    member_start(fx, &a, 0, "mp", "range", false);
    rv_conf_t *conf = rv_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", fx->bs},   {"group.id", "mp"},
                           {"session.timeout.ms", "5000"},  {"heartbeat.interval.ms", "50"},
                           {"max.poll.interval.ms", "400"}, {"auto.offset.reset", "earliest"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        assert_int_equal(rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr), 0);
    memset(&b, 0, sizeof b);
    b.c = rv_consumer_new(conf, errstr, sizeof errstr);
    assert_non_null(b.c);
    rv_rebalance_listener_t rl = RV_REBALANCE_LISTENER_INIT;
    rl.assigned = on_assigned;
    rl.revoked = on_revoked;
    rl.lost = on_lost;
    rl.opaque = &b;
    const char *topics[] = {"t"};
    assert_int_equal(rv_consumer_subscribe(b.c, topics, 1, &rl), 0);
    /* settle with both polling (a's struct is used through its pointer) */
    int64_t until = rv__mono_ms() + 10000;
    while (!(owned_cnt(&a) == 3 && owned_cnt(&b) == 3) && rv__mono_ms() < until) {
        member_poll(&a, 5);
        rv_records_t *rs;
        if (rv_consumer_poll(b.c, 5, &rs) == 0)
            rv_records_destroy(rs);
    }
    assert_int_equal(owned_cnt(&b), 3);
    /* b stops polling; a keeps going and gets everything */
    until = rv__mono_ms() + 10000;
    while (owned_cnt(&a) != NPART && rv__mono_ms() < until)
        member_poll(&a, 10);
    assert_int_equal(owned_cnt(&a), NPART);
    rv_records_t *rs;
    assert_int_equal(rv_consumer_poll(b.c, 0, &rs), RV_ERR__MAX_POLL_EXCEEDED);
    assert_int_equal(b.lost_calls, 1);
    rv_consumer_destroy(b.c);
    rv_consumer_destroy(a.c);
}

/* Offsets and the group survive a broker restart. */
static void test_restart(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    produce_all(fx);
    memset(seen, 0, sizeof seen);
    member_t m;
    member_start(fx, &m, 0, "gr", "range", true);
    int dups;
    int64_t until = rv__mono_ms() + 10000;
    while (total_seen(&dups) < 1000 && rv__mono_ms() < until)
        member_poll(&m, 10);
    assert_int_equal(rv_consumer_commit_sync(m.c, NULL, errstr, sizeof errstr), 0);
    rv_topic_partition_list_t *pos;
    assert_int_equal(rv_consumer_assignment(m.c, &pos), 0);
    assert_int_equal(rv_consumer_position(m.c, pos), 0);
    rv_consumer_destroy(m.c); /* commit_in_revoked: commits the same */

    rv_broker_close(fx->broker);
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);

    member_start(fx, &m, 0, "gr", "range", true);
    rv_topic_partition_list_t *l = rv_topic_partition_list_copy(pos);
    assert_int_equal(rv_consumer_committed(m.c, l, 1000), 0);
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++)
        assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, i)),
                         rv_topic_partition_offset(rv_topic_partition_list_get(pos, i)));
    /* the rest comes, nothing twice */
    until = rv__mono_ms() + 10000;
    while (total_seen(&dups) < NPART * PER_PART && rv__mono_ms() < until)
        member_poll(&m, 10);
    assert_int_equal(total_seen(&dups), NPART * PER_PART);
    assert_int_equal(dups, 0);
    assert_true(rv_consumer_generation(m.c) >= 1);
    rv_topic_partition_list_destroy(l);
    rv_topic_partition_list_destroy(pos);
    rv_consumer_destroy(m.c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eager_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cooperative_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundrobin_idle_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_poll_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
