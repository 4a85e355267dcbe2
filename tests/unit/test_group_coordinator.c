/* tests/unit/test_group_coordinator.c: broker/group_coordinator.c on a real
 * embedded broker: joins, sync, heartbeats, leave, session and rebalance
 * timeouts, generations, illegal generation, unknown member, KIP-394 member
 * ids, offset commit rules and the order in which commits land,
 * list/describe/delete, several groups. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "broker/offsets.h"
#include "rivulet/broker.h"

typedef struct fx_s {
    char *dir;
    rv_broker_t *b;
    rv__group_coordinator_t *gc;
} fx_t;

static void set_delay(fx_t *f, int32_t delay) {
    rv__group_config_t cfg;
    rv__group_config_default(&cfg);
    cfg.initial_rebalance_delay_ms = delay;
    cfg.offsets_partitions = 3;
    rv__group_coordinator_set_config(f->gc, &cfg);
}

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    char es[256];
    f->dir = rvt_tmpdir();
    assert_int_equal(rv_broker_open(&f->b, f->dir, es, sizeof es), 0);
    f->gc = rv__broker_group_coordinator(f->b);
    assert_non_null(f->gc);
    set_delay(f, 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    rv_broker_close(f->b);
    rvt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- capturing asynchronous results ---- */

typedef struct res_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    rv_err_t err;
    int32_t gen;
    char member[256], leader[256], protocol[64];
    size_t member_cnt;
    char members[8][256];
    char assignment[64];
    size_t assignment_len;
    int notified;
} res_t;

static void res_init(res_t *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
}

static void res_reset(res_t *r) {
    pthread_mutex_lock(&r->lock);
    r->done = 0;
    r->err = 0;
    pthread_mutex_unlock(&r->lock);
}

static void join_cb(const rv__group_join_result_t *jr, void *opaque) {
    res_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->err = jr->err;
    r->gen = jr->generation_id;
    snprintf(r->member, sizeof r->member, "%s", jr->member_id);
    snprintf(r->leader, sizeof r->leader, "%s", jr->leader_id);
    snprintf(r->protocol, sizeof r->protocol, "%s", jr->protocol_name);
    r->member_cnt = jr->member_cnt;
    for (size_t i = 0; i < jr->member_cnt && i < 8; i++)
        snprintf(r->members[i], sizeof r->members[i], "%s", jr->members[i].member_id);
    r->done++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void sync_cb(rv_err_t err, const void *a, size_t len, void *opaque) {
    res_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->err = err;
    r->assignment_len = len;
    memcpy(r->assignment, a, len < sizeof r->assignment ? len : sizeof r->assignment - 1);
    r->assignment[len < sizeof r->assignment ? len : sizeof r->assignment - 1] = '\0';
    r->done++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void notify_cb(const char *group, const char *member, void *opaque) {
    (void)group;
    (void)member;
    res_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->notified++;
    pthread_mutex_unlock(&r->lock);
}

/* Waits up to ms for the result; returns whether it came. */
static int res_wait(res_t *r, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!r->done && pthread_cond_timedwait(&r->cond, &r->lock, &ts) == 0)
        ;
    int done = r->done;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void join_as(fx_t *f, res_t *r, const char *group, const char *member, const char *proto,
                    int32_t session_ms, int32_t rebalance_ms) {
    rv__group_protocol_t p = {proto, "meta", 4};
    rv__group_join_req_t req;
    memset(&req, 0, sizeof req);
    req.group_id = group;
    req.member_id = member;
    req.client_id = "client";
    req.client_host = "/127.0.0.1";
    req.session_timeout_ms = session_ms;
    req.rebalance_timeout_ms = rebalance_ms;
    req.protocol_type = "consumer";
    req.protocols = &p;
    req.protocol_cnt = 1;
    req.on_rebalance = notify_cb;
    req.on_rebalance_opaque = r;
    res_reset(r);
    rv__group_join(f->gc, &req, join_cb, r);
}

static void sync_as(fx_t *f, res_t *r, const char *group, int32_t gen, const char *member,
                    const rv__group_assignment_t *as, size_t n) {
    res_reset(r);
    rv__group_sync(f->gc, group, gen, member, NULL, as, n, sync_cb, r);
}

/* One member joins an empty group and becomes a Stable leader; the join's
 * or sync's error, RV_ERR__TIMED_OUT when one does not answer. No cmocka
 * assertion, so another thread may call it. */
static rv_err_t member_up(fx_t *f, res_t *r, const char *group) {
    join_as(f, r, group, NULL, "range", 10000, 10000);
    if (!res_wait(r, 2000))
        return RV_ERR__TIMED_OUT;
    if (r->err)
        return r->err;
    rv__group_assignment_t a = {r->member, "A", 1};
    int32_t gen = r->gen;
    sync_as(f, r, group, gen, r->member, &a, 1);
    if (!res_wait(r, 2000))
        return RV_ERR__TIMED_OUT;
    return r->err;
}

static void one_member(fx_t *f, res_t *r, const char *group) {
    assert_int_equal(member_up(f, r, group), 0);
}

static void test_single_member(void **state) {
    fx_t *f = *state;
    res_t r;
    res_init(&r);
    join_as(f, &r, "g", NULL, "range", 10000, 10000);
    assert_true(res_wait(&r, 2000));
    assert_int_equal(r.err, 0);
    assert_int_equal(r.gen, 1);
    assert_string_equal(r.protocol, "range");
    assert_string_equal(r.leader, r.member);
    assert_int_equal(r.member_cnt, 1);
    assert_string_equal(r.members[0], r.member);
    assert_true(!strncmp(r.member, "client-", 7) && strlen(r.member) == 7 + 36);

    char member[256];
    strcpy(member, r.member);
    /* CompletingRebalance: heartbeats are fine, commits must wait. */
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, member, NULL), 0);
    rv__group_offset_t o = {"t", 0, 5, -1, NULL, 0};
    assert_int_equal(rv__group_commit_offsets(f->gc, "g", 1, member, NULL, &o, 1, NULL, 0),
                     RV_ERR_REBALANCE_IN_PROGRESS);

    rv__group_assignment_t a = {member, "ASSIGN", 6};
    sync_as(f, &r, "g", 1, member, &a, 1);
    assert_true(res_wait(&r, 2000));
    assert_int_equal(r.err, 0);
    assert_int_equal(r.assignment_len, 6);
    assert_string_equal(r.assignment, "ASSIGN");
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, member, NULL), 0);

    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "g", &d), 0);
    assert_string_equal(d.state, "Stable");
    assert_string_equal(d.protocol_type, "consumer");
    assert_string_equal(d.protocol, "range");
    assert_int_equal(d.member_cnt, 1);
    assert_string_equal(d.members[0].member_id, member);
    assert_string_equal(d.members[0].client_id, "client");
    assert_string_equal(d.members[0].client_host, "/127.0.0.1");
    assert_int_equal(d.members[0].assignment_len, 6);
    assert_memory_equal(d.members[0].assignment, "ASSIGN", 6);
    assert_int_equal(d.members[0].metadata_len, 4);
    rv__group_description_clear(&d);

    rv__group_listing_t *ls;
    size_t n;
    assert_int_equal(rv__group_list(f->gc, &ls, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ls[0].group_id, "g");
    assert_string_equal(ls[0].state, "Stable");
    assert_string_equal(ls[0].protocol_type, "consumer");
    rv__group_listings_free(ls, n);

    /* A second SyncGroup in Stable returns the assignment again. */
    sync_as(f, &r, "g", 1, member, NULL, 0);
    assert_true(res_wait(&r, 2000));
    assert_string_equal(r.assignment, "ASSIGN");
}

static void test_rebalance_on_join_and_leave(void **state) {
    fx_t *f = *state;
    res_t r1, r2;
    res_init(&r1);
    res_init(&r2);
    one_member(f, &r1, "g");
    char m1[256], m2[256];
    strcpy(m1, r1.member);

    join_as(f, &r2, "g", NULL, "range", 10000, 10000);
    assert_false(res_wait(&r2, 100)); /* held until m1 rejoins */
    assert_int_equal(r1.notified, 1);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, m1, NULL), RV_ERR_REBALANCE_IN_PROGRESS);
    join_as(f, &r1, "g", m1, "range", 10000, 10000);
    assert_true(res_wait(&r1, 2000));
    assert_true(res_wait(&r2, 2000));
    assert_int_equal(r1.err, 0);
    assert_int_equal(r2.err, 0);
    assert_int_equal(r1.gen, 2);
    assert_int_equal(r2.gen, 2);
    strcpy(m2, r2.member);
    assert_string_equal(r1.leader, m1);
    assert_string_equal(r2.leader, m1);
    assert_int_equal(r1.member_cnt, 2); /* only the leader sees the members */
    assert_int_equal(r2.member_cnt, 0);

    /* The follower's sync waits for the leader's. */
    sync_as(f, &r2, "g", 2, m2, NULL, 0);
    assert_false(res_wait(&r2, 50));
    rv__group_assignment_t as[2] = {{m1, "one", 3}, {m2, "two", 3}};
    sync_as(f, &r1, "g", 2, m1, as, 2);
    assert_true(res_wait(&r1, 2000));
    assert_true(res_wait(&r2, 2000));
    assert_string_equal(r1.assignment, "one");
    assert_string_equal(r2.assignment, "two");

    /* Old generation. */
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, m1, NULL), RV_ERR_ILLEGAL_GENERATION);
    sync_as(f, &r1, "g", 1, m1, NULL, 0);
    assert_true(res_wait(&r1, 2000));
    assert_int_equal(r1.err, RV_ERR_ILLEGAL_GENERATION);
    rv__group_offset_t o = {"t", 0, 5, -1, NULL, 0};
    assert_int_equal(rv__group_commit_offsets(f->gc, "g", 1, m1, NULL, &o, 1, NULL, 0),
                     RV_ERR_ILLEGAL_GENERATION);
    assert_int_equal(o.err, RV_ERR_ILLEGAL_GENERATION);
    assert_int_equal(rv__group_commit_offsets(f->gc, "g", 2, m2, NULL, &o, 1, NULL, 0), 0);

    /* m2 leaves: m1 must rejoin and gets generation 3 alone. */
    assert_int_equal(rv__group_leave(f->gc, "g", m2), 0);
    assert_int_equal(rv__group_leave(f->gc, "g", m2), RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 2, m1, NULL), RV_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 2, m2, NULL), RV_ERR_UNKNOWN_MEMBER_ID);
    join_as(f, &r1, "g", m1, "range", 10000, 10000);
    assert_true(res_wait(&r1, 2000));
    assert_int_equal(r1.gen, 3);
    assert_int_equal(r1.member_cnt, 1);

    /* The last member leaves: Empty, generation 4. */
    assert_int_equal(rv__group_leave(f->gc, "g", m1), 0);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "g", &d), 0);
    assert_string_equal(d.state, "Empty");
    assert_int_equal(d.generation_id, 4);
    assert_int_equal(d.member_cnt, 0);
    rv__group_description_clear(&d);
}

static void test_errors(void **state) {
    fx_t *f = *state;
    res_t r;
    res_init(&r);
    assert_int_equal(rv__group_heartbeat(f->gc, "nope", 1, "x", NULL), RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rv__group_heartbeat(f->gc, "", 1, "x", NULL), RV_ERR_INVALID_GROUP_ID);
    join_as(f, &r, "", NULL, "range", 10000, 10000);
    assert_true(res_wait(&r, 1000));
    assert_int_equal(r.err, RV_ERR_INVALID_GROUP_ID);
    join_as(f, &r, "g", "someone", "range", 10000, 10000);
    assert_true(res_wait(&r, 1000));
    assert_int_equal(r.err, RV_ERR_UNKNOWN_MEMBER_ID);
    join_as(f, &r, "g", NULL, "range", 1, 10000);
    assert_true(res_wait(&r, 1000));
    assert_int_equal(r.err, RV_ERR_INVALID_SESSION_TIMEOUT);
    join_as(f, &r, "g", NULL, "range", 1800001, 10000);
    assert_true(res_wait(&r, 1000));
    assert_int_equal(r.err, RV_ERR_INVALID_SESSION_TIMEOUT);

    one_member(f, &r, "g");
    char m1[256];
    strcpy(m1, r.member);
    res_t r2;
    res_init(&r2);
    join_as(f, &r2, "g", NULL, "roundrobin", 10000, 10000);
    assert_true(res_wait(&r2, 1000));
    assert_int_equal(r2.err, RV_ERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, m1, NULL), 0);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, "stranger", NULL),
                     RV_ERR_UNKNOWN_MEMBER_ID);

    /* Commits: a simple commit to a group with members is refused; one to
     * an unknown group creates it, Empty. */
    rv__group_offset_t o = {"t", 0, 5, -1, NULL, 0};
    assert_int_equal(rv__group_commit_offsets(f->gc, "g", -1, NULL, NULL, &o, 1, NULL, 0),
                     RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rv__group_commit_offsets(f->gc, "simple", -1, "", NULL, &o, 1, NULL, 0), 0);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "simple", &d), 0);
    assert_string_equal(d.state, "Empty");
    rv__group_description_clear(&d);
    assert_int_equal(rv__group_commit_offsets(f->gc, "other", 3, "m", NULL, &o, 1, NULL, 0),
                     RV_ERR_ILLEGAL_GENERATION);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rv__group_offset_t two[2] = {{"t", 0, 7, -1, big, 0}, {"t", 1, 8, -1, "ok", 0}};
    assert_int_equal(rv__group_commit_offsets(f->gc, "simple", -1, NULL, NULL, two, 2, NULL, 0), 0);
    assert_int_equal(two[0].err, RV_ERR_OFFSET_METADATA_TOO_LARGE);
    assert_int_equal(two[1].err, 0);
    assert_int_equal(rv__group_describe(f->gc, "missing", &d), RV_ERR_GROUP_ID_NOT_FOUND);

    /* A commit whose batch is too large for __consumer_offsets (300
     * partitions with 4000 bytes of metadata each, over its 1 MB
     * max.message.bytes) gets INVALID_COMMIT_OFFSET_SIZE, which a retry
     * cannot fix, as Kafka answers; not a retriable error. */
    enum { MANY = 300 };
    static char meta[4001];
    memset(meta, 'm', sizeof meta - 1);
    rv__group_offset_t many[MANY];
    for (int i = 0; i < MANY; i++)
        many[i] = (rv__group_offset_t){"t", i, 1, -1, meta, 0};
    assert_int_equal(rv__group_commit_offsets(f->gc, "simple", -1, NULL, NULL, many, MANY, NULL, 0),
                     RV_ERR_INVALID_COMMIT_OFFSET_SIZE);
    assert_int_equal(many[0].err, RV_ERR_INVALID_COMMIT_OFFSET_SIZE);
}

static void test_session_expiry(void **state) {
    fx_t *f = *state;
    res_t r1, r2;
    res_init(&r1);
    res_init(&r2);
    join_as(f, &r1, "g", NULL, "range", 200, 5000);
    assert_true(res_wait(&r1, 2000));
    char m1[256], m2[256];
    strcpy(m1, r1.member);
    join_as(f, &r2, "g", NULL, "range", 200, 5000);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, m1, NULL), RV_ERR_REBALANCE_IN_PROGRESS);
    join_as(f, &r1, "g", m1, "range", 200, 5000);
    assert_true(res_wait(&r1, 2000));
    assert_true(res_wait(&r2, 2000));
    assert_int_equal(r1.gen, 2);
    strcpy(m2, r2.member);
    rv__group_assignment_t as[2] = {{m1, "a", 1}, {m2, "b", 1}};
    sync_as(f, &r1, "g", 2, m1, as, 2);
    assert_true(res_wait(&r1, 2000));

    /* m1 keeps heartbeating, m2 goes silent: after its session it is
     * removed and m1 is told to rejoin. */
    rv_err_t err = 0;
    for (int i = 0; i < 40 && err == 0; i++) {
        usleep(50 * 1000);
        err = rv__group_heartbeat(f->gc, "g", 2, m1, NULL);
    }
    assert_int_equal(err, RV_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 2, m2, NULL), RV_ERR_UNKNOWN_MEMBER_ID);
    join_as(f, &r1, "g", m1, "range", 200, 5000);
    assert_true(res_wait(&r1, 2000));
    assert_int_equal(r1.gen, 3);
    assert_int_equal(r1.member_cnt, 1);

    /* And m1 alone, silent, expires too: the group becomes Empty. */
    usleep(500 * 1000);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "g", &d), 0);
    assert_string_equal(d.state, "Empty");
    assert_int_equal(d.member_cnt, 0);
    rv__group_description_clear(&d);
}

/* A member that heartbeats but does not rejoin is dropped at the
 * rebalance timeout (max.poll.interval.ms on the client side). */
static void test_rebalance_timeout(void **state) {
    fx_t *f = *state;
    res_t r1, r2;
    res_init(&r1);
    res_init(&r2);
    one_member(f, &r1, "g");
    char m1[256];
    strcpy(m1, r1.member);
    join_as(f, &r2, "g", NULL, "range", 10000, 300);
    /* m1 (rebalance timeout 10 s) never rejoins: wait for the biggest
     * rebalance timeout is 10 s; so rejoin m1 with a short one instead and
     * let the new member stay silent in the next round. */
    join_as(f, &r1, "g", m1, "range", 10000, 300);
    assert_true(res_wait(&r1, 2000));
    assert_true(res_wait(&r2, 2000));
    int32_t gen = r1.gen;
    char m2[256];
    strcpy(m2, r2.member);
    rv__group_assignment_t as[2] = {{m1, "a", 1}, {m2, "b", 1}};
    sync_as(f, &r1, "g", gen, m1, as, 2);
    assert_true(res_wait(&r1, 2000));
    sync_as(f, &r2, "g", gen, m2, NULL, 0);
    assert_true(res_wait(&r2, 2000));

    /* m1 rejoins (a leader rejoin starts a rebalance); m2 only heartbeats. */
    join_as(f, &r1, "g", m1, "range", 10000, 300);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", gen, m2, NULL), RV_ERR_REBALANCE_IN_PROGRESS);
    assert_false(res_wait(&r1, 100));
    assert_true(res_wait(&r1, 2000));
    assert_int_equal(r1.err, 0);
    assert_int_equal(r1.gen, gen + 1);
    assert_int_equal(r1.member_cnt, 1);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", gen, m2, NULL), RV_ERR_UNKNOWN_MEMBER_ID);
}

/* The leader never syncs: members that did not sync are removed and the
 * rest must rejoin. */
static void test_sync_timeout(void **state) {
    fx_t *f = *state;
    res_t r1;
    res_init(&r1);
    join_as(f, &r1, "g", NULL, "range", 10000, 200);
    assert_true(res_wait(&r1, 2000));
    char m1[256];
    strcpy(m1, r1.member);
    usleep(400 * 1000);
    assert_int_equal(rv__group_heartbeat(f->gc, "g", 1, m1, NULL), RV_ERR_UNKNOWN_MEMBER_ID);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "g", &d), 0);
    assert_string_equal(d.state, "Empty");
    rv__group_description_clear(&d);
}

static void test_initial_delay(void **state) {
    fx_t *f = *state;
    set_delay(f, 200);
    res_t r1, r2;
    res_init(&r1);
    res_init(&r2);
    join_as(f, &r1, "g", NULL, "range", 10000, 5000);
    usleep(50 * 1000);
    join_as(f, &r2, "g", NULL, "range", 10000, 5000);
    assert_false(res_wait(&r1, 50));
    assert_true(res_wait(&r1, 3000));
    assert_true(res_wait(&r2, 3000));
    /* Both made it into the first generation. */
    assert_int_equal(r1.gen, 1);
    assert_int_equal(r2.gen, 1);
    assert_int_equal(r1.member_cnt + r2.member_cnt, 2);
}

static void test_member_id_required(void **state) {
    fx_t *f = *state;
    res_t r;
    res_init(&r);
    rv__group_protocol_t p = {"range", "m", 1};
    rv__group_join_req_t req;
    memset(&req, 0, sizeof req);
    req.group_id = "g";
    req.client_id = "cli";
    req.client_host = "/127.0.0.1";
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 10000;
    req.protocol_type = "consumer";
    req.protocols = &p;
    req.protocol_cnt = 1;
    req.require_known_member_id = true;
    rv__group_join(f->gc, &req, join_cb, &r);
    assert_true(res_wait(&r, 1000));
    assert_int_equal(r.err, RV_ERR_MEMBER_ID_REQUIRED);
    assert_true(!strncmp(r.member, "cli-", 4));
    char id[256];
    strcpy(id, r.member);
    res_reset(&r);
    req.member_id = id;
    rv__group_join(f->gc, &req, join_cb, &r);
    assert_true(res_wait(&r, 2000));
    assert_int_equal(r.err, 0);
    assert_string_equal(r.member, id);
    assert_int_equal(r.gen, 1);
}

static void test_delete_and_groups_independent(void **state) {
    fx_t *f = *state;
    res_t a, b;
    res_init(&a);
    res_init(&b);
    one_member(f, &a, "ga");
    one_member(f, &b, "gb");
    char ma[256];
    strcpy(ma, a.member);
    char es[256];
    assert_int_equal(rv__group_delete(f->gc, "ga", es, sizeof es), RV_ERR_NON_EMPTY_GROUP);
    assert_int_equal(rv__group_delete(f->gc, "zz", es, sizeof es), RV_ERR_GROUP_ID_NOT_FOUND);
    rv__group_offset_t o = {"t", 0, 42, -1, "md", 0};
    assert_int_equal(rv__group_commit_offsets(f->gc, "ga", a.gen, ma, NULL, &o, 1, NULL, 0), 0);

    /* ga's member leaving does not disturb gb. */
    assert_int_equal(rv__group_leave(f->gc, "ga", ma), 0);
    assert_int_equal(rv__group_heartbeat(f->gc, "gb", b.gen, b.member, NULL), 0);
    rv__group_committed_t *c;
    size_t n;
    assert_int_equal(rv__group_fetch_offsets(f->gc, "ga", NULL, 0, &c, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].offset, 42);
    rv__group_committed_free(c, n);

    assert_int_equal(rv__group_delete(f->gc, "ga", es, sizeof es), 0);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "ga", &d), RV_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(rv__group_fetch_offsets(f->gc, "ga", NULL, 0, &c, &n), 0);
    assert_int_equal(n, 0);
    rv__group_committed_free(c, n);
    assert_int_equal(rv__group_delete(f->gc, "ga", es, sizeof es), RV_ERR_GROUP_ID_NOT_FOUND);
    rv__group_listing_t *ls;
    assert_int_equal(rv__group_list(f->gc, &ls, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ls[0].group_id, "gb");
    rv__group_listings_free(ls, n);
}

/* Closing the broker answers held joins. */
static void test_close_with_held_join(void **state) {
    fx_t *f = *state;
    res_t r1, r2;
    res_init(&r1);
    res_init(&r2);
    one_member(f, &r1, "g");
    join_as(f, &r2, "g", NULL, "range", 10000, 10000);
    assert_false(res_wait(&r2, 50));
    rv_broker_close(f->b);
    assert_true(res_wait(&r2, 10));
    assert_int_equal(r2.err, RV_ERR_COORDINATOR_NOT_AVAILABLE);
    char es[256];
    assert_int_equal(rv_broker_open(&f->b, f->dir, es, sizeof es), 0);
    f->gc = rv__broker_group_coordinator(f->b);
    /* The group comes back Empty with its generation. */
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "g", &d), 0);
    assert_string_equal(d.state, "Empty");
    assert_int_equal(d.generation_id, 1);
    assert_string_equal(d.protocol_type, "consumer");
    rv__group_description_clear(&d);
}

/* ---- commit order ----
 *
 * The coordinator checks a commit's member and generation under its lock
 * and writes it to __consumer_offsets after releasing that lock (so
 * heartbeats never wait for an fsync). A member removed between its check
 * and its write must not overwrite what the next generation committed:
 * the coordinator takes the store's lock before releasing its own, so
 * commits land in the order of their checks. The window is held open with
 * the linker's --wrap on rv__offsets_lock (tests/CMakeLists.txt adds it
 * for this program): the flagged commit stops where it takes the store's
 * lock, which a real one may wait for behind another group's fsync. */

void __real_rv__offsets_lock(rv__offsets_t *o);

static sem_t g_in_window, g_release;
static int g_hold_next; /* the next commit waits in the window */

void __wrap_rv__offsets_lock(rv__offsets_t *o) {
    if (__atomic_exchange_n(&g_hold_next, 0, __ATOMIC_SEQ_CST)) {
        sem_post(&g_in_window);
        sem_wait(&g_release);
    }
    __real_rv__offsets_lock(o);
}

typedef struct commit_s {
    fx_t *f;
    res_t *m;
    int64_t offset;
    const char *leaving; /* a member that leaves first, or NULL */
    rv_err_t err;
} commit_t;

/* Thread: optionally removes c->leaving, joins c->m if it has no member id
 * yet, and commits t-0 at c->offset as c->m. */
static void *commit_thread(void *arg) {
    commit_t *c = arg;
    c->err = c->leaving ? rv__group_leave(c->f->gc, "g", c->leaving) : RV_ERR_NO_ERROR;
    if (!c->err && !c->m->member[0])
        c->err = member_up(c->f, c->m, "g");
    rv__group_offset_t o = {"t", 0, c->offset, -1, NULL, 0};
    if (!c->err)
        c->err =
            rv__group_commit_offsets(c->f->gc, "g", c->m->gen, c->m->member, NULL, &o, 1, NULL, 0);
    return NULL;
}

static void test_removed_member_commit_cannot_land_after_next_generation(void **state) {
    fx_t *f = *state;
    sem_init(&g_in_window, 0, 0);
    sem_init(&g_release, 0, 0);
    res_t a, b;
    res_init(&a);
    res_init(&b);
    one_member(f, &a, "g"); /* A owns t-0 in generation 1 */

    /* A commits offset 5: its check passes, its write waits. */
    commit_t za = {f, &a, 5, NULL, -1};
    pthread_t ta, tb;
    g_hold_next = 1;
    pthread_create(&ta, NULL, commit_thread, &za);
    sem_wait(&g_in_window);

    /* Meanwhile A is removed (session timeout, join deadline, max poll),
     * B joins, owns t-0 in a later generation and commits 10 - on its own
     * thread, since that commit waits for A's. */
    char ma[256];
    snprintf(ma, sizeof ma, "%s", a.member);
    commit_t zb = {f, &b, 10, ma, -1};
    pthread_create(&tb, NULL, commit_thread, &zb);
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);
    sem_post(&g_release);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(za.err, 0);
    assert_int_equal(zb.err, 0);
    rv__group_tp_t tp = {"t", 0};
    rv__group_committed_t *c = NULL;
    size_t n = 0;
    assert_int_equal(rv__group_fetch_offsets(f->gc, "g", &tp, 1, &c, &n), 0);
    assert_int_equal(n, 1);
    int64_t after = c[0].offset;
    rv__group_committed_free(c, n);
    sem_destroy(&g_in_window);
    sem_destroy(&g_release);
    assert_int_equal(after, 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_on_join_and_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_id_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_groups_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_held_join, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_removed_member_commit_cannot_land_after_next_generation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
