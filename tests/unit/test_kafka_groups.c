/* tests/unit/test_kafka_groups.c: the Kafka group and offset API handlers
 * (broker/kafka/api_groups.c) on a real broker in a temporary folder:
 * request frames are encoded by hand with the protocol writer, run through
 * rv__kapi_call as the network server would run them, and the responses
 * decoded field by field as a client would. Members that must wait for
 * each other (JoinGroup, SyncGroup) run on their own threads. The last
 * test runs the same handlers behind the TCP server (broker/kafka/
 * server.c) with two librdkafka consumers sharing a group. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "broker/kafka/api.h"
#include "broker/kafka/server.h"
#include "broker/log/log.h"
#include "broker/topics.h"
#include "common/clock.h"
#include "rivulet/broker.h"

#define SESSION_MS 10000
#define REBALANCE_MS 5000

typedef rvt_kapi_t fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char errstr[512];
    rvt_kapi_open(fx);
    rv__group_config_t cfg;
    rv__group_config_default(&cfg);
    /* Long enough for two threads to join the same first rebalance, short
     * enough to keep the test fast. */
    cfg.initial_rebalance_delay_ms = 200;
    cfg.offsets_partitions = 3;
    rv__group_coordinator_set_config(rv__broker_group_coordinator(fx->broker), &cfg);
    rv__topics_t *t = rv__broker_topics(fx->broker);
    assert_int_equal(rv__topics_create(t, "t", 4, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topics_create(t, "u", 1, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    fx->ctx.node_id = 7;
    fx->ctx.advertised_port = 19092;
    fx->ctx.cluster_id = "test-cluster";
    fx->ctx.auto_create_topics = false;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    rvt_kapi_close(*state);
    free(*state);
    return 0;
}

/* ---- frames ---- */

/* Starts a request frame: header v1 (key, version, correlation id,
 * client id). */
static void req_begin(rv__kw_t *w, int16_t key, int16_t version) {
    rvt_kreq_begin(w, key, version, 42, "test-client");
}

/* Runs a frame; on DONE *r reads the response body (kept in *resp). */
static rv__kapi_status_t call(const fx_t *fx, rv__kw_t *w, rv__kw_t *resp, rv__kr_t *r,
                              rv__karena_t *arena) {
    assert_false(w->err);
    rv__kapi_status_t st = rv__kapi_call(&fx->ctx, w->b.data, w->b.len, resp);
    rv__kw_free(w);
    if (st == RV__KAPI_DONE)
        rv__kr_init(r, resp->b.data, resp->b.len, arena);
    return st;
}

/* Asserts the whole response was read without error, then frees it. */
static void resp_end(rv__kr_t *r, rv__kw_t *resp, rv__karena_t *arena) {
    rvt_kresp_end(r);
    rv__kw_free(resp);
    rv__karena_free(arena);
}

/* A ConsumerProtocolSubscription v0 for the given topics. */
static void subscription(rv__kw_t *w, const char *const *topics, int n) {
    rv__kw_init(w);
    rv__kw_i16(w, 0);
    rv__kw_i32(w, n);
    for (int i = 0; i < n; i++)
        rv__kw_str(w, topics[i]);
    rv__kw_bytes(w, NULL, 0);
}

/* ---- JoinGroup ---- */

typedef struct join_s {
    const fx_t *fx;
    int16_t version;
    const char *group;
    char member_id[256];       /* in: "" for a new member; out: the id */
    const char *topic;         /* subscribed */
    const char *protocol_type; /* NULL = "consumer" */
    /* results */
    int16_t err;
    int16_t first_err; /* of the first attempt (MEMBER_ID_REQUIRED for v4+) */
    int32_t generation;
    char protocol[64];
    char leader[256];
    int member_cnt;
    char members[4][256];
    char member_meta_topic[4][64];
} join_t;

/* Sends one JoinGroup and decodes the response into j. */
static void join_once(join_t *j) {
    rv__kw_t w, resp, sub;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    const char *topics[] = {j->topic};
    subscription(&sub, topics, 1);
    req_begin(&w, RV__KAPI_JOIN_GROUP, j->version);
    rv__kw_str(&w, j->group);
    rv__kw_i32(&w, SESSION_MS);
    if (j->version >= 1)
        rv__kw_i32(&w, REBALANCE_MS);
    rv__kw_str(&w, j->member_id);
    if (j->version >= 5)
        rv__kw_str(&w, NULL);
    rv__kw_str(&w, j->protocol_type ? j->protocol_type : "consumer");
    rv__kw_i32(&w, 2);
    rv__kw_str(&w, "range");
    rv__kw_bytes(&w, sub.b.data, sub.b.len);
    rv__kw_str(&w, "roundrobin");
    rv__kw_bytes(&w, sub.b.data, sub.b.len);
    rv__kw_free(&sub);
    assert_int_equal(call(j->fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    if (j->version >= 2)
        assert_int_equal(rv__kr_i32(&r), 0); /* throttle */
    j->err = rv__kr_i16(&r);
    j->generation = rv__kr_i32(&r);
    snprintf(j->protocol, sizeof j->protocol, "%s", rv__kr_str(&r));
    snprintf(j->leader, sizeof j->leader, "%s", rv__kr_str(&r));
    snprintf(j->member_id, sizeof j->member_id, "%s", rv__kr_str(&r));
    j->member_cnt = rv__kr_i32(&r);
    assert_true(j->member_cnt >= 0 && j->member_cnt <= 4);
    for (int i = 0; i < j->member_cnt; i++) {
        snprintf(j->members[i], sizeof j->members[i], "%s", rv__kr_str(&r));
        if (j->version >= 5)
            assert_null(rv__kr_str(&r)); /* group_instance_id */
        size_t len;
        const uint8_t *meta = rv__kr_bytes(&r, &len);
        /* The metadata comes back as sent: version 0, one topic. */
        rv__kr_t m;
        rv__kr_init(&m, meta, len, &arena);
        assert_int_equal(rv__kr_i16(&m), 0);
        assert_int_equal(rv__kr_i32(&m), 1);
        snprintf(j->member_meta_topic[i], sizeof j->member_meta_topic[i], "%s", rv__kr_str(&m));
        assert_false(m.err);
    }
    resp_end(&r, &resp, &arena);
}

/* A member's join as a client does it: with KIP-394 (v4+) the first
 * attempt returns MEMBER_ID_REQUIRED and the id to join with. */
static void *join_thread(void *arg) {
    join_t *j = arg;
    join_once(j);
    j->first_err = j->err;
    if (j->err == RV_ERR_MEMBER_ID_REQUIRED) {
        assert_true(j->version >= 4);
        assert_true(j->member_id[0] != '\0');
        join_once(j);
    }
    return NULL;
}

static void join_init(join_t *j, const fx_t *fx, int16_t version, const char *group,
                      const char *member_id, const char *topic) {
    memset(j, 0, sizeof *j);
    j->fx = fx;
    j->version = version;
    j->group = group;
    snprintf(j->member_id, sizeof j->member_id, "%s", member_id ? member_id : "");
    j->topic = topic;
}

/* ---- SyncGroup ---- */

typedef struct sync_s {
    const fx_t *fx;
    int16_t version;
    const char *group;
    int32_t generation;
    const char *member_id;
    int n;                  /* assignments given (leader) */
    const char *to[4];      /* member ids */
    const char *payload[4]; /* assignment bytes (as strings) */
    int16_t err;
    char got[256];
} sync_t;

static void *sync_thread(void *arg) {
    sync_t *s = arg;
    rv__kw_t w, resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    req_begin(&w, RV__KAPI_SYNC_GROUP, s->version);
    rv__kw_str(&w, s->group);
    rv__kw_i32(&w, s->generation);
    rv__kw_str(&w, s->member_id);
    if (s->version >= 3)
        rv__kw_str(&w, NULL);
    rv__kw_i32(&w, s->n);
    for (int i = 0; i < s->n; i++) {
        rv__kw_str(&w, s->to[i]);
        rv__kw_bytes(&w, s->payload[i], strlen(s->payload[i]));
    }
    assert_int_equal(call(s->fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    if (s->version >= 1)
        assert_int_equal(rv__kr_i32(&r), 0);
    s->err = rv__kr_i16(&r);
    size_t len;
    const uint8_t *p = rv__kr_bytes(&r, &len);
    assert_true(len < sizeof s->got);
    if (len)
        memcpy(s->got, p, len);
    s->got[len] = '\0';
    resp_end(&r, &resp, &arena);
    return NULL;
}

static int16_t heartbeat(const fx_t *fx, int16_t version, const char *group, int32_t generation,
                         const char *member_id) {
    rv__kw_t w, resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    req_begin(&w, RV__KAPI_HEARTBEAT, version);
    rv__kw_str(&w, group);
    rv__kw_i32(&w, generation);
    rv__kw_str(&w, member_id);
    if (version >= 3)
        rv__kw_str(&w, NULL);
    assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    if (version >= 1)
        assert_int_equal(rv__kr_i32(&r), 0);
    int16_t err = rv__kr_i16(&r);
    resp_end(&r, &resp, &arena);
    return err;
}

static int16_t leave(const fx_t *fx, int16_t version, const char *group, const char *member_id) {
    rv__kw_t w, resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    req_begin(&w, RV__KAPI_LEAVE_GROUP, version);
    rv__kw_str(&w, group);
    rv__kw_str(&w, member_id);
    assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    if (version >= 1)
        assert_int_equal(rv__kr_i32(&r), 0);
    int16_t err = rv__kr_i16(&r);
    resp_end(&r, &resp, &arena);
    return err;
}

/* A one-member group, Stable, subscribed to `topic`; *out gets the join. */
static void stable_group(const fx_t *fx, const char *group, const char *topic, join_t *out) {
    join_init(out, fx, 3, group, NULL, topic);
    join_thread(out);
    assert_int_equal(out->err, 0);
    assert_string_equal(out->leader, out->member_id);
    sync_t s;
    memset(&s, 0, sizeof s);
    s.fx = fx;
    s.version = 2;
    s.group = group;
    s.generation = out->generation;
    s.member_id = out->member_id;
    s.n = 1;
    s.to[0] = out->member_id;
    s.payload[0] = "all-of-it";
    sync_thread(&s);
    assert_int_equal(s.err, 0);
    assert_string_equal(s.got, "all-of-it");
}

/* ---- OffsetCommit, OffsetFetch ---- */

typedef struct tpo_s {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int16_t err; /* out */
} tpo_t;

/* One OffsetCommit with every entry as its own topic entry (topics may
 * repeat on the wire; the response follows the request). */
static void commit(const fx_t *fx, int16_t version, const char *group, int32_t generation,
                   const char *member_id, tpo_t *tps, int n) {
    rv__kw_t w, resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    req_begin(&w, RV__KAPI_OFFSET_COMMIT, version);
    rv__kw_str(&w, group);
    rv__kw_i32(&w, generation);
    rv__kw_str(&w, member_id);
    if (version >= 7)
        rv__kw_str(&w, NULL);
    if (version <= 4)
        rv__kw_i64(&w, -1);
    rv__kw_i32(&w, n);
    for (int i = 0; i < n; i++) {
        rv__kw_str(&w, tps[i].topic);
        rv__kw_i32(&w, 1);
        rv__kw_i32(&w, tps[i].partition);
        rv__kw_i64(&w, tps[i].offset);
        if (version >= 6)
            rv__kw_i32(&w, 5); /* leader epoch */
        rv__kw_str(&w, i % 2 ? NULL : "meta");
    }
    assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    if (version >= 3)
        assert_int_equal(rv__kr_i32(&r), 0);
    assert_int_equal(rv__kr_i32(&r), n);
    for (int i = 0; i < n; i++) {
        assert_string_equal(rv__kr_str(&r), tps[i].topic);
        assert_int_equal(rv__kr_i32(&r), 1);
        assert_int_equal(rv__kr_i32(&r), tps[i].partition);
        tps[i].err = rv__kr_i16(&r);
    }
    resp_end(&r, &resp, &arena);
}

typedef struct fetched_s {
    char topic[32];
    int32_t partition;
    int64_t offset;
    int32_t epoch;
    char metadata[32];
    int16_t err;
} fetched_t;

/* OffsetFetch of one topic's partitions (topic NULL: all, v2+); returns
 * how many partitions came back and the top-level error in *top. */
static int fetch(const fx_t *fx, int16_t version, const char *group, const char *topic,
                 const int32_t *parts, int n, fetched_t *out, int max, int16_t *top) {
    rv__kw_t w, resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    req_begin(&w, RV__KAPI_OFFSET_FETCH, version);
    rv__kw_str(&w, group);
    if (!topic) {
        rv__kw_i32(&w, -1);
    } else {
        rv__kw_i32(&w, 1);
        rv__kw_str(&w, topic);
        rv__kw_i32(&w, n);
        for (int i = 0; i < n; i++)
            rv__kw_i32(&w, parts[i]);
    }
    assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    if (version >= 3)
        assert_int_equal(rv__kr_i32(&r), 0);
    int got = 0;
    int32_t tn = rv__kr_i32(&r);
    for (int32_t i = 0; i < tn; i++) {
        const char *name = rv__kr_str(&r);
        int32_t pn = rv__kr_i32(&r);
        for (int32_t j = 0; j < pn; j++, got++) {
            assert_true(got < max);
            fetched_t *f = &out[got];
            snprintf(f->topic, sizeof f->topic, "%s", name);
            f->partition = rv__kr_i32(&r);
            f->offset = rv__kr_i64(&r);
            f->epoch = version >= 5 ? rv__kr_i32(&r) : -1;
            const char *md = rv__kr_str(&r);
            snprintf(f->metadata, sizeof f->metadata, "%s", md ? md : "(null)");
            f->err = rv__kr_i16(&r);
        }
    }
    *top = version >= 2 ? rv__kr_i16(&r) : 0;
    resp_end(&r, &resp, &arena);
    return got;
}

/* ---- tests ---- */

static void test_find_coordinator(void **state) {
    fx_t *fx = *state;
    for (int16_t v = 0; v <= 2; v++) {
        for (int8_t kt = 0; kt <= (v ? 2 : 0); kt++) {
            rv__kw_t w, resp;
            rv__kr_t r;
            rv__karena_t arena = RV__KARENA_INIT;
            req_begin(&w, RV__KAPI_FIND_COORDINATOR, v);
            rv__kw_str(&w, "g");
            if (v >= 1)
                rv__kw_i8(&w, kt);
            assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
            if (v >= 1)
                assert_int_equal(rv__kr_i32(&r), 0);
            int16_t err = rv__kr_i16(&r);
            const char *msg = v >= 1 ? rv__kr_str(&r) : NULL;
            int32_t node = rv__kr_i32(&r);
            const char *host = rv__kr_str(&r);
            int32_t port = rv__kr_i32(&r);
            if (kt == 0) {
                assert_int_equal(err, 0);
                assert_null(msg);
                assert_int_equal(node, 7);
                assert_string_equal(host, "127.0.0.1");
                assert_int_equal(port, 19092);
            } else {
                /* 1 = transaction: no transaction coordinator here; 2 is
                 * no key type at all. */
                assert_int_equal(err, kt == 1 ? RV_ERR_COORDINATOR_NOT_AVAILABLE
                                              : RV_ERR_INVALID_REQUEST);
                assert_non_null(msg);
                assert_int_equal(node, -1);
                assert_int_equal(port, -1);
            }
            resp_end(&r, &resp, &arena);
        }
    }
}

static void test_join_sync_heartbeat_leave(void **state) {
    fx_t *fx = *state;
    /* Two members join the same first rebalance from two threads: a v5
     * client (KIP-394) and a v2 client (added at once). */
    join_t a, b;
    join_init(&a, fx, 5, "g1", NULL, "t");
    join_init(&b, fx, 2, "g1", NULL, "t");
    pthread_t ta, tb;
    pthread_create(&ta, NULL, join_thread, &a);
    pthread_create(&tb, NULL, join_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.first_err, RV_ERR_MEMBER_ID_REQUIRED);
    assert_int_equal(b.first_err, 0);
    assert_int_equal(a.err, 0);
    assert_int_equal(b.err, 0);
    assert_true(!strncmp(a.member_id, "test-client-", 12));
    assert_true(!strncmp(b.member_id, "test-client-", 12));
    assert_string_not_equal(a.member_id, b.member_id);
    assert_int_equal(a.generation, b.generation);
    assert_true(a.generation >= 1);
    assert_string_equal(a.protocol, "range");
    assert_string_equal(b.protocol, "range");
    assert_string_equal(a.leader, b.leader);
    join_t *leader = !strcmp(a.leader, a.member_id) ? &a : &b;
    join_t *follower = leader == &a ? &b : &a;
    assert_string_equal(leader->leader, leader->member_id);
    /* Only the leader gets the members, with their metadata. */
    assert_int_equal(leader->member_cnt, 2);
    assert_int_equal(follower->member_cnt, 0);
    bool seen_a = false, seen_b = false;
    for (int i = 0; i < 2; i++) {
        seen_a |= !strcmp(leader->members[i], a.member_id);
        seen_b |= !strcmp(leader->members[i], b.member_id);
        assert_string_equal(leader->member_meta_topic[i], "t");
    }
    assert_true(seen_a && seen_b);
    int32_t gen = a.generation;

    /* Heartbeats while CompletingRebalance are fine. */
    assert_int_equal(heartbeat(fx, 3, "g1", gen, follower->member_id), 0);

    /* SyncGroup: the follower waits for the leader's assignment. */
    sync_t sf, sl;
    memset(&sf, 0, sizeof sf);
    sf.fx = fx;
    sf.version = 3;
    sf.group = "g1";
    sf.generation = gen;
    sf.member_id = follower->member_id;
    pthread_t tf;
    pthread_create(&tf, NULL, sync_thread, &sf);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    memset(&sl, 0, sizeof sl);
    sl.fx = fx;
    sl.version = 0;
    sl.group = "g1";
    sl.generation = gen;
    sl.member_id = leader->member_id;
    sl.n = 2;
    sl.to[0] = leader->member_id;
    sl.payload[0] = "for-the-leader";
    sl.to[1] = follower->member_id;
    sl.payload[1] = "for-the-follower";
    sync_thread(&sl);
    pthread_join(tf, NULL);
    assert_int_equal(sl.err, 0);
    assert_int_equal(sf.err, 0);
    assert_string_equal(sl.got, "for-the-leader");
    assert_string_equal(sf.got, "for-the-follower");

    /* Stable: heartbeats of every version. */
    for (int16_t v = 0; v <= 3; v++)
        assert_int_equal(heartbeat(fx, v, "g1", gen, leader->member_id), 0);
    assert_int_equal(heartbeat(fx, 1, "g1", gen + 1, leader->member_id), RV_ERR_ILLEGAL_GENERATION);
    assert_int_equal(heartbeat(fx, 1, "g1", gen, "nobody"), RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(fx, 1, "", gen, "nobody"), RV_ERR_INVALID_GROUP_ID);

    /* A member's commit with its generation; a stale generation fails. */
    tpo_t c[2] = {{"t", 0, 10, -1}, {"t", 1, 11, -1}};
    commit(fx, 7, "g1", gen, follower->member_id, c, 2);
    assert_int_equal(c[0].err, 0);
    assert_int_equal(c[1].err, 0);
    commit(fx, 5, "g1", gen - 1, follower->member_id, c, 1);
    assert_int_equal(c[0].err, RV_ERR_ILLEGAL_GENERATION);

    /* A third member (v1) joins: the others learn of the rebalance from
     * their heartbeats and rejoin with their ids. */
    join_t cm;
    join_init(&cm, fx, 1, "g1", NULL, "t");
    pthread_t tc;
    pthread_create(&tc, NULL, join_thread, &cm);
    int16_t hb = 0;
    for (int i = 0; i < 1000 && hb != RV_ERR_REBALANCE_IN_PROGRESS; i++) {
        hb = heartbeat(fx, 2, "g1", gen, leader->member_id);
        if (hb != RV_ERR_REBALANCE_IN_PROGRESS)
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    assert_int_equal(hb, RV_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(heartbeat(fx, 3, "g1", gen, follower->member_id),
                     RV_ERR_REBALANCE_IN_PROGRESS);
    /* While PreparingRebalance, Kafka still takes commits of the current
     * generation. */
    commit(fx, 2, "g1", gen, follower->member_id, c, 1);
    assert_int_equal(c[0].err, 0);
    pthread_create(&ta, NULL, join_thread, &a);
    pthread_create(&tb, NULL, join_thread, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(a.err, 0);
    assert_int_equal(b.err, 0);
    assert_int_equal(cm.err, 0);
    assert_int_equal(a.generation, gen + 1);
    assert_int_equal(cm.generation, gen + 1);
    join_t *l2 = !strcmp(a.leader, a.member_id) ? &a : !strcmp(b.leader, b.member_id) ? &b : &cm;
    assert_int_equal(l2->member_cnt, 3);

    /* LeaveGroup: the third member goes; an unknown one is refused. */
    assert_int_equal(leave(fx, 1, "g1", cm.member_id), 0);
    assert_int_equal(leave(fx, 0, "g1", cm.member_id), RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(leave(fx, 0, "nogroup", "x"), RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(fx, 0, "g1", gen + 1, cm.member_id), RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(heartbeat(fx, 0, "g1", gen + 1, a.member_id), RV_ERR_REBALANCE_IN_PROGRESS);
    /* A stale SyncGroup answers at once, with an empty assignment. */
    memset(&sf, 0, sizeof sf);
    sf.fx = fx;
    sf.version = 1;
    sf.group = "g1";
    sf.generation = gen;
    sf.member_id = a.member_id;
    sync_thread(&sf);
    assert_int_equal(sf.err, RV_ERR_ILLEGAL_GENERATION);
    assert_string_equal(sf.got, "");
    assert_int_equal(leave(fx, 1, "g1", a.member_id), 0);
    assert_int_equal(leave(fx, 1, "g1", b.member_id), 0);
}

static void test_join_errors(void **state) {
    fx_t *fx = *state;
    join_t j;
    /* An unknown member id on an unknown group; v0-3 never see 79. */
    join_init(&j, fx, 4, "g2", "ghost", "t");
    join_once(&j);
    assert_int_equal(j.err, RV_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(j.generation, -1);
    join_init(&j, fx, 0, "", NULL, "t");
    join_once(&j);
    assert_int_equal(j.err, RV_ERR_INVALID_GROUP_ID);
    /* A v0 join (no rebalance timeout) goes through on its own. */
    join_init(&j, fx, 0, "g2", NULL, "t");
    join_once(&j);
    assert_int_equal(j.err, 0);
    assert_int_equal(j.member_cnt, 1);
    assert_int_equal(leave(fx, 0, "g2", j.member_id), 0);
}

static void test_commit_fetch(void **state) {
    fx_t *fx = *state;
    /* A standalone ("simple") commit: generation -1, no member. */
    tpo_t c[4] = {{"t", 0, 100, -1}, {"t", 3, 103, -1}, {"nope", 0, 1, -1}, {"t", 9, 1, -1}};
    commit(fx, 2, "simple", -1, "", c, 4);
    assert_int_equal(c[0].err, 0);
    assert_int_equal(c[1].err, 0);
    assert_int_equal(c[2].err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(c[3].err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* v6+ carries a leader epoch (5 in commit()). */
    tpo_t u[1] = {{"u", 0, 7, -1}};
    commit(fx, 6, "simple", -1, "", u, 1);
    assert_int_equal(u[0].err, 0);
    /* A commit naming a member of a group that has none fails. */
    commit(fx, 3, "simple", 4, "someone", u, 1);
    assert_int_equal(u[0].err, RV_ERR_UNKNOWN_MEMBER_ID);

    /* Specific partitions, in the order asked; t/1 has none. */
    fetched_t f[8];
    int16_t top;
    int32_t parts[] = {3, 1, 0};
    for (int16_t v = 1; v <= 5; v++) {
        assert_int_equal(fetch(fx, v, "simple", "t", parts, 3, f, 8, &top), 3);
        assert_int_equal(top, 0);
        assert_int_equal(f[0].partition, 3);
        assert_int_equal(f[0].offset, 103);
        assert_string_equal(f[0].metadata, ""); /* committed as null */
        assert_int_equal(f[1].partition, 1);
        assert_int_equal(f[1].offset, -1);
        assert_int_equal(f[1].epoch, -1);
        assert_string_equal(f[1].metadata, "");
        assert_int_equal(f[2].partition, 0);
        assert_int_equal(f[2].offset, 100);
        assert_string_equal(f[2].metadata, "meta");
        for (int i = 0; i < 3; i++)
            assert_int_equal(f[i].err, 0);
    }
    /* Null topics (v2+): every committed partition, by topic then
     * partition, with the leader epoch from v5. */
    assert_int_equal(fetch(fx, 5, "simple", NULL, NULL, 0, f, 8, &top), 3);
    assert_int_equal(top, 0);
    assert_string_equal(f[0].topic, "t");
    assert_int_equal(f[0].partition, 0);
    assert_int_equal(f[0].epoch, -1); /* committed with v2 */
    assert_string_equal(f[1].topic, "t");
    assert_int_equal(f[1].partition, 3);
    assert_string_equal(f[2].topic, "u");
    assert_int_equal(f[2].offset, 7);
    assert_int_equal(f[2].epoch, 5);
    /* An unknown group has nothing committed, and is no error. */
    assert_int_equal(fetch(fx, 2, "nobody", NULL, NULL, 0, f, 8, &top), 0);
    assert_int_equal(top, 0);
    assert_int_equal(fetch(fx, 1, "nobody", "t", parts, 1, f, 8, &top), 1);
    assert_int_equal(f[0].offset, -1);
}

static void test_list_describe_delete(void **state) {
    fx_t *fx = *state;
    join_t j;
    stable_group(fx, "active", "t", &j);
    tpo_t c[1] = {{"t", 2, 5, -1}};
    commit(fx, 4, "idle", -1, "", c, 1);
    assert_int_equal(c[0].err, 0);

    for (int16_t v = 0; v <= 2; v++) {
        rv__kw_t w, resp;
        rv__kr_t r;
        rv__karena_t arena = RV__KARENA_INIT;
        req_begin(&w, RV__KAPI_LIST_GROUPS, v);
        assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
        if (v >= 1)
            assert_int_equal(rv__kr_i32(&r), 0);
        assert_int_equal(rv__kr_i16(&r), 0);
        assert_int_equal(rv__kr_i32(&r), 2);
        assert_string_equal(rv__kr_str(&r), "active");
        assert_string_equal(rv__kr_str(&r), "consumer");
        assert_string_equal(rv__kr_str(&r), "idle");
        assert_string_equal(rv__kr_str(&r), "");
        resp_end(&r, &resp, &arena);
    }

    for (int16_t v = 0; v <= 2; v++) {
        rv__kw_t w, resp;
        rv__kr_t r;
        rv__karena_t arena = RV__KARENA_INIT;
        req_begin(&w, RV__KAPI_DESCRIBE_GROUPS, v);
        rv__kw_i32(&w, 3);
        rv__kw_str(&w, "active");
        rv__kw_str(&w, "idle");
        rv__kw_str(&w, "missing");
        assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
        if (v >= 1)
            assert_int_equal(rv__kr_i32(&r), 0);
        assert_int_equal(rv__kr_i32(&r), 3);
        /* active: Stable, one member with its subscription and assignment */
        assert_int_equal(rv__kr_i16(&r), 0);
        assert_string_equal(rv__kr_str(&r), "active");
        assert_string_equal(rv__kr_str(&r), "Stable");
        assert_string_equal(rv__kr_str(&r), "consumer");
        assert_string_equal(rv__kr_str(&r), "range");
        assert_int_equal(rv__kr_i32(&r), 1);
        assert_string_equal(rv__kr_str(&r), j.member_id);
        assert_string_equal(rv__kr_str(&r), "test-client");
        assert_string_equal(rv__kr_str(&r), "/127.0.0.1");
        size_t len;
        const uint8_t *p = rv__kr_bytes(&r, &len);
        rv__kw_t sub;
        const char *topics[] = {"t"};
        subscription(&sub, topics, 1);
        assert_int_equal(len, sub.b.len);
        assert_memory_equal(p, sub.b.data, len);
        rv__kw_free(&sub);
        p = rv__kr_bytes(&r, &len);
        assert_int_equal(len, 9);
        assert_memory_equal(p, "all-of-it", 9);
        /* idle: only offsets */
        assert_int_equal(rv__kr_i16(&r), 0);
        assert_string_equal(rv__kr_str(&r), "idle");
        assert_string_equal(rv__kr_str(&r), "Empty");
        assert_string_equal(rv__kr_str(&r), "");
        assert_string_equal(rv__kr_str(&r), "");
        assert_int_equal(rv__kr_i32(&r), 0);
        /* missing: Dead, no error, as Kafka */
        assert_int_equal(rv__kr_i16(&r), 0);
        assert_string_equal(rv__kr_str(&r), "missing");
        assert_string_equal(rv__kr_str(&r), "Dead");
        assert_string_equal(rv__kr_str(&r), "");
        assert_string_equal(rv__kr_str(&r), "");
        assert_int_equal(rv__kr_i32(&r), 0);
        resp_end(&r, &resp, &arena);
    }

    {
        rv__kw_t w, resp;
        rv__kr_t r;
        rv__karena_t arena = RV__KARENA_INIT;
        req_begin(&w, RV__KAPI_DELETE_GROUPS, 1);
        rv__kw_i32(&w, 3);
        rv__kw_str(&w, "active");
        rv__kw_str(&w, "idle");
        rv__kw_str(&w, "missing");
        assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
        assert_int_equal(rv__kr_i32(&r), 0);
        assert_int_equal(rv__kr_i32(&r), 3);
        assert_string_equal(rv__kr_str(&r), "active");
        assert_int_equal(rv__kr_i16(&r), RV_ERR_NON_EMPTY_GROUP);
        assert_string_equal(rv__kr_str(&r), "idle");
        assert_int_equal(rv__kr_i16(&r), 0);
        assert_string_equal(rv__kr_str(&r), "missing");
        assert_int_equal(rv__kr_i16(&r), RV_ERR_GROUP_ID_NOT_FOUND);
        resp_end(&r, &resp, &arena);
    }
    /* The deleted group's offsets are gone. */
    fetched_t f[2];
    int16_t top;
    int32_t part = 2;
    assert_int_equal(fetch(fx, 3, "idle", "t", &part, 1, f, 2, &top), 1);
    assert_int_equal(f[0].offset, -1);
    assert_int_equal(leave(fx, 1, "active", j.member_id), 0);
}

/* One OffsetDelete of "t"/0, "u"/0 and "nope"/0; errs gets the three
 * partition errors (unset when the response has none). */
static int16_t offset_delete(const fx_t *fx, const char *group, int16_t errs[3]) {
    rv__kw_t w, resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    req_begin(&w, RV__KAPI_OFFSET_DELETE, 0);
    rv__kw_str(&w, group);
    rv__kw_i32(&w, 3);
    const char *names[] = {"t", "u", "nope"};
    for (int i = 0; i < 3; i++) {
        rv__kw_str(&w, names[i]);
        rv__kw_i32(&w, 1);
        rv__kw_i32(&w, 0);
    }
    assert_int_equal(call(fx, &w, &resp, &r, &arena), RV__KAPI_DONE);
    int16_t top = rv__kr_i16(&r);
    assert_int_equal(rv__kr_i32(&r), 0);
    int32_t tn = rv__kr_i32(&r);
    assert_int_equal(tn, top ? 0 : 3);
    for (int32_t i = 0; i < tn; i++) {
        assert_string_equal(rv__kr_str(&r), names[i]);
        assert_int_equal(rv__kr_i32(&r), 1);
        assert_int_equal(rv__kr_i32(&r), 0);
        errs[i] = rv__kr_i16(&r);
    }
    resp_end(&r, &resp, &arena);
    return top;
}

static void test_offset_delete(void **state) {
    fx_t *fx = *state;
    /* An active consumer group subscribed to "t" with offsets on t and u. */
    join_t j;
    stable_group(fx, "od", "t", &j);
    tpo_t c[2] = {{"t", 0, 1, -1}, {"u", 0, 2, -1}};
    commit(fx, 7, "od", j.generation, j.member_id, c, 2);
    assert_int_equal(c[0].err, 0);
    assert_int_equal(c[1].err, 0);
    int16_t errs[3] = {-2, -2, -2};
    assert_int_equal(offset_delete(fx, "od", errs), 0);
    assert_int_equal(errs[0], RV_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(errs[1], 0);
    assert_int_equal(errs[2], RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    fetched_t f[4];
    int16_t top;
    assert_int_equal(fetch(fx, 2, "od", NULL, NULL, 0, f, 4, &top), 1);
    assert_string_equal(f[0].topic, "t");
    assert_int_equal(f[0].offset, 1);

    /* Once the group is empty, the subscribed topic can go too. */
    assert_int_equal(leave(fx, 1, "od", j.member_id), 0);
    memset(errs, 0xff, sizeof errs);
    assert_int_equal(offset_delete(fx, "od", errs), 0);
    assert_int_equal(errs[0], 0);
    assert_int_equal(errs[1], 0);
    assert_int_equal(fetch(fx, 2, "od", NULL, NULL, 0, f, 4, &top), 0);

    /* A group of another protocol type with members: its subscriptions
     * cannot be read, so nothing is deleted. */
    join_t x;
    join_init(&x, fx, 3, "connect-group", NULL, "t");
    x.protocol_type = "connect";
    join_thread(&x);
    assert_int_equal(x.err, 0);
    assert_int_equal(offset_delete(fx, "connect-group", errs), RV_ERR_NON_EMPTY_GROUP);
    assert_int_equal(leave(fx, 1, "connect-group", x.member_id), 0);

    /* Unknown group: a request-level error and no partitions. */
    assert_int_equal(offset_delete(fx, "never", errs), RV_ERR_GROUP_ID_NOT_FOUND);

    /* The tombstones are on disk: a reopened broker has no offsets. */
    char errstr[512];
    rv_broker_close(fx->broker);
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    fx->ctx.broker = fx->broker;
    assert_int_equal(fetch(fx, 2, "od", NULL, NULL, 0, f, 4, &top), 0);
}

/* Runs a hand-made frame and expects the connection to be closed. */
static void expect_close(const fx_t *fx, rv__kw_t *w) {
    rv__kw_t resp;
    rv__kr_t r;
    rv__karena_t arena = RV__KARENA_INIT;
    assert_int_equal(call(fx, w, &resp, &r, &arena), RV__KAPI_CLOSE);
}

static void test_malformed(void **state) {
    fx_t *fx = *state;
    rv__kw_t w;
    /* JoinGroup cut after the member id. */
    req_begin(&w, RV__KAPI_JOIN_GROUP, 5);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, SESSION_MS);
    rv__kw_i32(&w, REBALANCE_MS);
    rv__kw_str(&w, "");
    expect_close(fx, &w);
    /* JoinGroup claiming a million protocols. */
    req_begin(&w, RV__KAPI_JOIN_GROUP, 1);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, SESSION_MS);
    rv__kw_i32(&w, REBALANCE_MS);
    rv__kw_str(&w, "");
    rv__kw_str(&w, "consumer");
    rv__kw_i32(&w, 1000000);
    expect_close(fx, &w);
    /* A null group id. */
    req_begin(&w, RV__KAPI_HEARTBEAT, 0);
    rv__kw_str(&w, NULL);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "m");
    expect_close(fx, &w);
    /* SyncGroup with a negative assignment length. */
    req_begin(&w, RV__KAPI_SYNC_GROUP, 0);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "m");
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "m");
    rv__kw_i32(&w, -7);
    expect_close(fx, &w);
    /* OffsetFetch v1 with null topics (legal from v2 only). */
    req_begin(&w, RV__KAPI_OFFSET_FETCH, 1);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, -1);
    expect_close(fx, &w);
    /* OffsetCommit v2 without its retention time. */
    req_begin(&w, RV__KAPI_OFFSET_COMMIT, 2);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, -1);
    rv__kw_str(&w, "");
    rv__kw_i32(&w, 0);
    expect_close(fx, &w);
    /* OffsetCommit with a null partition array. */
    req_begin(&w, RV__KAPI_OFFSET_COMMIT, 6);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, -1);
    rv__kw_str(&w, "");
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "t");
    rv__kw_i32(&w, -1);
    expect_close(fx, &w);
    /* DescribeGroups and DeleteGroups with null arrays or names. */
    req_begin(&w, RV__KAPI_DESCRIBE_GROUPS, 0);
    rv__kw_i32(&w, -1);
    expect_close(fx, &w);
    req_begin(&w, RV__KAPI_DELETE_GROUPS, 0);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, NULL);
    expect_close(fx, &w);
    /* OffsetDelete with a truncated partition list. */
    req_begin(&w, RV__KAPI_OFFSET_DELETE, 0);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "t");
    rv__kw_i32(&w, 2);
    rv__kw_i32(&w, 0);
    expect_close(fx, &w);
    /* FindCoordinator v1 without its key type. */
    req_begin(&w, RV__KAPI_FIND_COORDINATOR, 1);
    rv__kw_str(&w, "g");
    expect_close(fx, &w);
    /* Versions outside the advertised ranges. */
    req_begin(&w, RV__KAPI_OFFSET_COMMIT, 1);
    expect_close(fx, &w);
    req_begin(&w, RV__KAPI_JOIN_GROUP, 6);
    expect_close(fx, &w);
    /* Nothing of the above created a group. */
    rv__group_listing_t *ls;
    size_t n;
    assert_int_equal(rv__group_list(rv__broker_group_coordinator(fx->broker), &ls, &n), 0);
    assert_int_equal(n, 0);
    rv__group_listings_free(ls, n);
}

/* ---- librdkafka consumers through the TCP server ---- */

#define RK_PARTS 4
#define RK_RECORDS 5 /* per partition */

static rd_kafka_t *rk_consumer(const char *bootstrap) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", bootstrap},
        {"group.id", "rk"},
        {"client.id", "rk-test"},
        {"auto.offset.reset", "earliest"},
        {"enable.auto.commit", "false"},
        {"session.timeout.ms", "6000"},
        /* Heartbeat often, so a member learns of a rebalance at once. */
        {"heartbeat.interval.ms", "100"},
        {"fetch.wait.max.ms", "50"},
        {"topic.metadata.refresh.interval.ms", "1000"},
        {"log_level", "3"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        assert_int_equal(rd_kafka_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr),
                         RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, "four", RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(rk, sub), 0);
    rd_kafka_topic_partition_list_destroy(sub);
    return rk;
}

/* Partitions currently assigned to rk, as a bit set. */
static unsigned rk_assigned(rd_kafka_t *rk) {
    rd_kafka_topic_partition_list_t *a = NULL;
    unsigned bits = 0;
    assert_int_equal(rd_kafka_assignment(rk, &a), 0);
    for (int i = 0; i < a->cnt; i++)
        bits |= 1u << a->elems[i].partition;
    rd_kafka_topic_partition_list_destroy(a);
    return bits;
}

static void test_librdkafka_group(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv__topics_t *topics = rv__broker_topics(fx->broker);
    assert_int_equal(
        rv__topics_create(topics, "four", RK_PARTS, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    for (int32_t p = 0; p < RK_PARTS; p++) {
        rv__topic_t *tp;
        rv__log_t *log;
        assert_int_equal(rv__topics_acquire(topics, "four", p, &tp, &log, errstr, sizeof errstr),
                         0);
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, RK_RECORDS, "k", 16, rv__now_ms());
        rv__append_info_t info;
        assert_int_equal(rv__log_append(log, batch.data, batch.len, RV__APPEND_SYNC, &info, errstr,
                                        sizeof errstr),
                         0);
        rv__buf_free(&batch);
        rv__topics_release(topics, tp);
    }

    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    rv__kserver_t *srv;
    assert_int_equal(rv__kserver_start(&srv, fx->broker, &cfg, errstr, sizeof errstr), 0);
    const char *bootstrap = rv__kserver_address(srv);

    rd_kafka_t *rk[2] = {rk_consumer(bootstrap), rk_consumer(bootstrap)};
    /* Who consumed what: the next offset per partition, counted only for
     * the member that owns the partition now (a partition may move while
     * the group settles, and its new owner starts again from the
     * beginning since nothing is committed). */
    int64_t next[2][RK_PARTS];
    memset(next, 0, sizeof next);
    bool done = false;
    int64_t deadline = rv__mono_ms() + 25000;
    while (!done && rv__mono_ms() < deadline) {
        for (int c = 0; c < 2; c++) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk[c], 20);
            if (!m)
                continue;
            if (!m->err && m->partition >= 0 && m->partition < RK_PARTS) {
                if (m->offset == next[c][m->partition])
                    next[c][m->partition] = m->offset + 1;
            }
            rd_kafka_message_destroy(m);
        }
        unsigned a0 = rk_assigned(rk[0]), a1 = rk_assigned(rk[1]);
        /* The range assignor splits 4 partitions two and two. */
        done = __builtin_popcount(a0) == 2 && __builtin_popcount(a1) == 2 &&
               (a0 | a1) == (1u << RK_PARTS) - 1;
        for (int p = 0; done && p < RK_PARTS; p++)
            done = next[(a0 >> p) & 1 ? 0 : 1][p] == RK_RECORDS;
    }
    assert_true(done);

    /* Each member commits its positions (OffsetCommit with its
     * generation), and reads them back (OffsetFetch). */
    for (int c = 0; c < 2; c++) {
        assert_int_equal(rd_kafka_commit(rk[c], NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_topic_partition_list_t *a = NULL;
        assert_int_equal(rd_kafka_assignment(rk[c], &a), 0);
        assert_int_equal(rd_kafka_committed(rk[c], a, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
        for (int i = 0; i < a->cnt; i++) {
            assert_int_equal(a->elems[i].err, 0);
            assert_int_equal(a->elems[i].offset, RK_RECORDS);
        }
        rd_kafka_topic_partition_list_destroy(a);
    }

    /* The broker's view: a Stable group of two rdkafka members, and the
     * committed offsets. */
    rv__group_coordinator_t *gc = rv__broker_group_coordinator(fx->broker);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(gc, "rk", &d), 0);
    assert_string_equal(d.state, "Stable");
    assert_string_equal(d.protocol_type, "consumer");
    assert_string_equal(d.protocol, "range");
    assert_int_equal(d.member_cnt, 2);
    for (size_t i = 0; i < d.member_cnt; i++) {
        assert_string_equal(d.members[i].client_id, "rk-test");
        assert_string_equal(d.members[i].client_host, "/127.0.0.1");
    }
    rv__group_description_clear(&d);
    rv__group_committed_t *co;
    size_t n;
    assert_int_equal(rv__group_fetch_offsets(gc, "rk", NULL, 0, &co, &n), 0);
    assert_int_equal(n, RK_PARTS);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(co[i].topic, "four");
        assert_int_equal(co[i].partition, (int32_t)i);
        assert_int_equal(co[i].offset, RK_RECORDS);
    }
    rv__group_committed_free(co, n);

    /* Closing leaves the group (LeaveGroup). */
    for (int c = 0; c < 2; c++) {
        assert_int_equal(rd_kafka_consumer_close(rk[c]), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(rk[c]);
    }
    assert_int_equal(rv__group_describe(gc, "rk", &d), 0);
    assert_string_equal(d.state, "Empty");
    rv__group_description_clear(&d);
    rv__kserver_stop(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_coordinator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_sync_heartbeat_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_describe_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_librdkafka_group, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
