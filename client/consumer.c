/* client/consumer.c: the consumer (include/rivulet/consumer.h) and its
 * embedded backend, plus the topic-partition lists.
 *
 * The embedded backend reads partition logs straight from the process's
 * broker (broker/topics.h: rv__log_read into refcounted chunks that the
 * returned records borrow, client/records.c) and takes part in consumer
 * groups through the in-process group coordinator
 * (broker/group_coordinator.h), computing assignments with the assignors of
 * client/assignor.h when it is the group leader, exactly as a Kafka client
 * does over the wire.
 *
 * DESIGN
 *
 * Threads. The consumer is used by one application thread. Two other
 * threads touch it: the coordinator's completion callbacks (JoinGroup and
 * SyncGroup answer later, from whichever thread completes the rebalance)
 * and the consumer's own heartbeat thread. Everything they share lives in
 * `shared_t`, guarded by its mutex, with one condition variable that every
 * event broadcasts (a join or sync result, a heartbeat that saw a
 * rebalance, wakeup()). A blocked poll waits on that condition variable. The
 * shared part is reference-counted: a pending join or sync holds a
 * reference, so a consumer destroyed while the coordinator still owes it an
 * answer leaves nothing dangling; when such a late answer makes it a member
 * anyway, the callback leaves the group on its behalf.
 *
 * Group state machine (application thread, driven by poll):
 *   UNJOINED --send JoinGroup--> JOINING --result--> (leader: assign)
 *   --send SyncGroup--> SYNCING --assignment--> STABLE
 *   STABLE --heartbeat says REBALANCE_IN_PROGRESS--> UNJOINED
 *   any --UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / max.poll.interval.ms--> lost
 * With eager assignors (range, roundrobin) leaving STABLE first commits
 * (auto commit), calls the revoked listener for every partition and drops
 * the assignment; with cooperative-sticky the assignment stays, and after
 * SyncGroup only the partitions that moved away are revoked (then the
 * consumer rejoins at once so they can be handed over).
 *
 * A fetch reads into the memory of an earlier chunk that every container
 * has released, when there is one (client/consumer_records.h's chunk
 * pool), so steady reading does not fault fresh pages in for each fetch.
 *
 * Compressed batches are decompressed once into a chunk of their own
 * (common/record_batch.h's rv__record_iter_init2), which records borrow
 * the same way.
 *
 * Positions. Each assigned partition has a position: the next offset to
 * return, or a logical offset (STORED, BEGINNING, END) resolved before the
 * next fetch: STORED uses the group's committed offset, else
 * auto.offset.reset. A partition keeps the chunk it fetched last and a
 * cursor into it; records below the position (a fetch starts at the batch
 * holding it) and control batches are skipped. Seeking drops the chunk.
 *
 * Waiting. Records arrive without a notification from the log, so an idle
 * poll with assigned partitions re-checks every few milliseconds (the
 * check is one high-watermark read per partition); group events and
 * wakeup() interrupt the wait at once.
 *
 * Commits. rv__group_commit_offsets is synchronous (it returns once the
 * offsets are on disk), so commit_async commits at once and queues the
 * result; its callback runs in the next poll, commit_sync or close, in
 * call order, as the API promises for every backend.
 *
 * The kafka backend (bootstrap.servers a host:port list) lives in
 * client/kafka_consumer.c: rv_consumer_new() creates it and every public
 * function below forwards to it when `kc` is set, before touching any of
 * the embedded state. */
#include "rivulet/consumer.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/group_coordinator.h"
#include "broker/topics.h"
#include "client/assignor.h"
#include "client/consumer_internal.h"
#include "client/consumer_records.h"
#include "client/kafka_conf.h"
#include "client/kafka_consumer.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "common/record_batch.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"

#define EMBEDDED_PREFIX "embedded:"
/* How often an idle poll with partitions looks for new records. */
#define IDLE_CHECK_MS 2
/* Longest sleep of a poll without partitions between timer checks. */
#define MAX_WAIT_STEP_MS 100

/* ---- topic-partition lists ---- */

struct rv_topic_partition_s {
    char *topic;
    int32_t partition;
    int64_t offset;
    char *metadata;
    rv_err_t err;
};

struct rv_topic_partition_list_s {
    rv_topic_partition_t *v;
    size_t cnt, cap;
};

rv_topic_partition_list_t *rv_topic_partition_list_new(size_t size_hint) {
    rv_topic_partition_list_t *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    if (size_hint) {
        l->v = calloc(size_hint, sizeof(*l->v));
        if (!l->v) {
            free(l);
            return NULL;
        }
        l->cap = size_hint;
    }
    return l;
}

void rv_topic_partition_list_destroy(rv_topic_partition_list_t *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->cnt; i++) {
        free(l->v[i].topic);
        free(l->v[i].metadata);
    }
    free(l->v);
    free(l);
}

rv_topic_partition_t *rv_topic_partition_list_add(rv_topic_partition_list_t *l, const char *topic,
                                                  int32_t partition) {
    if (!l || !topic)
        return NULL;
    if (l->cnt == l->cap) {
        size_t n = l->cap ? l->cap * 2 : 8;
        rv_topic_partition_t *nv = realloc(l->v, n * sizeof(*nv));
        if (!nv)
            return NULL;
        l->v = nv;
        l->cap = n;
    }
    char *t = strdup(topic);
    if (!t)
        return NULL;
    rv_topic_partition_t *tp = &l->v[l->cnt++];
    tp->topic = t;
    tp->partition = partition;
    tp->offset = RV_OFFSET_INVALID;
    tp->metadata = NULL;
    tp->err = RV_ERR_NO_ERROR;
    return tp;
}

rv_topic_partition_list_t *rv_topic_partition_list_copy(const rv_topic_partition_list_t *l) {
    if (!l)
        return NULL;
    rv_topic_partition_list_t *n = rv_topic_partition_list_new(l->cnt);
    if (!n)
        return NULL;
    for (size_t i = 0; i < l->cnt; i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_add(n, l->v[i].topic, l->v[i].partition);
        if (!tp || rv_topic_partition_set_metadata(tp, l->v[i].metadata)) {
            rv_topic_partition_list_destroy(n);
            return NULL;
        }
        tp->offset = l->v[i].offset;
        tp->err = l->v[i].err;
    }
    return n;
}

rv_topic_partition_t *rv_topic_partition_list_find(const rv_topic_partition_list_t *l,
                                                   const char *topic, int32_t partition) {
    if (!l || !topic)
        return NULL;
    for (size_t i = 0; i < l->cnt; i++)
        if (l->v[i].partition == partition && strcmp(l->v[i].topic, topic) == 0)
            return &l->v[i];
    return NULL;
}

size_t rv_topic_partition_list_count(const rv_topic_partition_list_t *l) {
    return l ? l->cnt : 0;
}

rv_topic_partition_t *rv_topic_partition_list_get(const rv_topic_partition_list_t *l, size_t i) {
    return l && i < l->cnt ? &l->v[i] : NULL;
}

static int tp_cmp(const void *a, const void *b) {
    const rv_topic_partition_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return (x->partition > y->partition) - (x->partition < y->partition);
}

void rv_topic_partition_list_sort(rv_topic_partition_list_t *l) {
    if (l && l->cnt > 1)
        qsort(l->v, l->cnt, sizeof(*l->v), tp_cmp);
}

const char *rv_topic_partition_topic(const rv_topic_partition_t *tp) {
    return tp->topic;
}
int32_t rv_topic_partition_partition(const rv_topic_partition_t *tp) {
    return tp->partition;
}
int64_t rv_topic_partition_offset(const rv_topic_partition_t *tp) {
    return tp->offset;
}
void rv_topic_partition_set_offset(rv_topic_partition_t *tp, int64_t offset) {
    tp->offset = offset;
}
const char *rv_topic_partition_metadata(const rv_topic_partition_t *tp) {
    return tp->metadata;
}
rv_err_t rv_topic_partition_set_metadata(rv_topic_partition_t *tp, const char *metadata) {
    char *m = NULL;
    if (metadata && !(m = strdup(metadata)))
        return RV_ERR__NOMEM;
    free(tp->metadata);
    tp->metadata = m;
    return RV_ERR_NO_ERROR;
}
rv_err_t rv_topic_partition_err(const rv_topic_partition_t *tp) {
    return tp->err;
}
void rv_topic_partition_set_err(rv_topic_partition_t *tp, rv_err_t err) {
    tp->err = err;
}

/* ---- consumer state ---- */

/* One assigned partition (application thread only). */
typedef struct part_s {
    char *topic;
    int32_t partition;
    /* Next offset to return (>= 0), or a logical offset to resolve:
     * RV_OFFSET_STORED, RV_OFFSET_BEGINNING, RV_OFFSET_END. */
    int64_t position;
    bool paused;
    int64_t fetched_hw;     /* the high watermark at the last fetch, -1 none */
    rv__chunk_t *chunk;     /* the last fetch, or NULL */
    rv__chunk_t *dchunk;    /* the decompressed records of the current batch */
    rv__chunk_t *rec_chunk; /* what `it` reads: chunk or dchunk (borrowed) */
    size_t chunk_pos;       /* next batch in chunk */
    bool in_batch;          /* `it` walks a batch of chunk */
    rv__record_iter_t it;
    rv_timestamp_type_t ts_type;
} part_t;

typedef enum { OP_NONE, OP_JOIN_WAIT, OP_JOIN_DONE, OP_SYNC_WAIT, OP_SYNC_DONE } op_state_t;
typedef enum { G_UNJOINED, G_JOINING, G_SYNCING, G_STABLE } gstate_t;

/* A member of the join result, copied for the leader. */
typedef struct jmember_s {
    char *member_id;
    char *instance_id;
    uint8_t *meta;
    size_t meta_len;
} jmember_t;

/* What the application thread shares with callbacks and the heartbeat
 * thread; every field under `lock` unless said otherwise. */
typedef struct shared_s {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* broadcast on every event */
    int refcnt;
    bool orphan;           /* the consumer is gone */
    uint64_t abandon_upto; /* joins with op_id <= this were given up: leave */
    bool wakeup;
    rv__group_coordinator_t *gc; /* immutable */
    char *group_id;              /* immutable */

    /* The join or sync in flight (op_id tells stale answers apart). */
    uint64_t op_id;
    op_state_t op_state;
    rv_err_t op_err;
    int32_t j_gen;
    char *j_member_id, *j_leader_id, *j_protocol;
    jmember_t *j_members;
    size_t j_member_cnt;
    uint8_t *s_assignment;
    size_t s_assignment_len;

    /* Heartbeat thread. */
    bool hb_active; /* a member of generation hb_gen */
    int32_t hb_gen;
    char *hb_member_id;
    int64_t last_poll_ms;
    int32_t heartbeat_ms, max_poll_interval_ms;
    bool need_rejoin;   /* heartbeat: REBALANCE_IN_PROGRESS */
    bool lost;          /* heartbeat: UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION */
    bool poll_exceeded; /* left the group for max.poll.interval.ms */
    bool hb_stop;
    bool hb_frozen; /* tests: a crashed consumer sends nothing */
} shared_t;

/* A finished commit_async waiting for its callback. */
typedef struct pending_commit_s {
    rv_commit_cb_t *cb;
    void *opaque;
    rv_err_t err;
    rv_topic_partition_list_t *offsets;
    struct pending_commit_s *next;
} pending_commit_t;

typedef enum { RESET_LATEST, RESET_EARLIEST, RESET_NONE } reset_t;

/* With the kafka backend (kc) only conf, closed, group_id, manual, the
 * subscription list (sub, sub_cnt) and errmsg are used: the state both
 * backends share, which the public functions check, with the arguments,
 * before they hand over to kc or go on with the embedded backend. */
struct rv_consumer_s {
    rv_conf_t *conf;
    rv__kconsumer_t *kc; /* the kafka backend, or NULL: embedded */
    rv_broker_t *broker;
    rv__topics_t *topics;
    rv__group_coordinator_t *gc;
    shared_t *sh;
    pthread_t hb_thread;
    bool hb_started;
    bool closed;
    /* Fetch buffers the application is done with, reused for the next
     * fetch (made on the first fetch; NULL: none, every fetch allocates). */
    rv__chunk_pool_t *fetch_pool;

    /* settings */
    char *group_id; /* NULL when none */
    char *client_id;
    reset_t reset;
    bool auto_commit;
    int64_t auto_commit_ms;
    size_t max_poll_records;
    int32_t session_timeout_ms, heartbeat_ms, max_poll_interval_ms;
    size_t fetch_max_bytes, partition_fetch_bytes;
    bool check_crcs;
    char **strategies; /* assignor names in preference order */
    size_t strategy_cnt;
    bool cooperative; /* every strategy is cooperative */

    /* assignment */
    part_t *parts;
    size_t part_cnt, part_cap;
    size_t rr; /* where the next poll starts, for fairness */
    bool manual;

    /* subscription and group state (application thread) */
    char **sub;
    size_t sub_cnt;
    /* Partition counts of the subscribed topics at the last join (-1: no
     * such topic), checked every metadata.max.age.ms while stable: a change
     * (new partitions, a topic created) makes the member rejoin, as Kafka's
     * consumer does when its metadata snapshot changes. */
    int32_t *meta_counts;
    int64_t meta_check_at, metadata_max_age_ms;
    rv_rebalance_listener_t listener;
    gstate_t gstate;
    bool rejoin_now; /* join again at the next step (cooperative follow-up) */
    /* Group shutdown (client/consumer_internal.h): `shutdown_ask` makes the
     * subscriptions carry SHUTDOWN_MARKER, set by
     * rv__consumer_request_shutdown() or with `shutdown_told`, once an
     * assignment carried it. */
    bool shutdown_ask, shutdown_told;
    char *member_id; /* "" before the first join */
    int32_t generation;
    int64_t next_auto_commit;
    int64_t join_retry_at; /* backoff after a join error */

    pending_commit_t *pend_head, *pend_tail;
    char errmsg[512];
};

static rv_err_t seterr(rv_consumer_t *c, rv_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rv_err_t seterr(rv_consumer_t *c, rv_err_t err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    return err;
}

static void clear_err(rv_consumer_t *c) {
    c->errmsg[0] = '\0';
}

const char *rv_consumer_last_error(const rv_consumer_t *c) {
    return c ? c->errmsg : "";
}

/* ---- the shared part ---- */

static void jresult_clear(shared_t *sh) {
    free(sh->j_member_id);
    free(sh->j_leader_id);
    free(sh->j_protocol);
    sh->j_member_id = sh->j_leader_id = sh->j_protocol = NULL;
    for (size_t i = 0; i < sh->j_member_cnt; i++) {
        free(sh->j_members[i].member_id);
        free(sh->j_members[i].instance_id);
        free(sh->j_members[i].meta);
    }
    free(sh->j_members);
    sh->j_members = NULL;
    sh->j_member_cnt = 0;
    free(sh->s_assignment);
    sh->s_assignment = NULL;
    sh->s_assignment_len = 0;
}

static void shared_unref(shared_t *sh) {
    pthread_mutex_lock(&sh->lock);
    int left = --sh->refcnt;
    pthread_mutex_unlock(&sh->lock);
    if (left)
        return;
    jresult_clear(sh);
    free(sh->hb_member_id);
    free(sh->group_id);
    pthread_cond_destroy(&sh->cond);
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

static shared_t *shared_new(rv__group_coordinator_t *gc, const char *group_id) {
    shared_t *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return NULL;
    if (group_id && !(sh->group_id = strdup(group_id))) {
        free(sh);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&sh->lock, NULL);
    sh->refcnt = 1;
    sh->gc = gc;
    sh->last_poll_ms = rv__mono_ms();
    return sh;
}

/* Waits on sh->cond until monotonic time `until_ms`. Caller holds sh->lock. */
static void shared_wait_until(shared_t *sh, int64_t until_ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(until_ms / 1000);
    ts.tv_nsec = (long)(until_ms % 1000) * 1000000L;
    pthread_cond_timedwait(&sh->cond, &sh->lock, &ts);
}

/* A join or sync in flight: the callbacks' opaque. */
typedef struct op_ctx_s {
    shared_t *sh;
    uint64_t op_id;
} op_ctx_t;

static void on_join(const rv__group_join_result_t *res, void *opaque) {
    op_ctx_t *ctx = opaque;
    shared_t *sh = ctx->sh;
    char *leave_id = NULL;
    pthread_mutex_lock(&sh->lock);
    if (sh->orphan || ctx->op_id <= sh->abandon_upto) {
        /* The consumer gave this join up (closed, unsubscribed) but the
         * coordinator made it a member: leave so the others do not wait
         * for a session timeout. */
        if (res->err == RV_ERR_NO_ERROR && res->member_id)
            leave_id = strdup(res->member_id);
    } else if (ctx->op_id == sh->op_id && sh->op_state == OP_JOIN_WAIT) {
        jresult_clear(sh);
        sh->op_err = res->err;
        sh->j_gen = res->generation_id;
        sh->j_member_id = res->member_id ? strdup(res->member_id) : NULL;
        sh->j_leader_id = res->leader_id ? strdup(res->leader_id) : NULL;
        sh->j_protocol = res->protocol_name ? strdup(res->protocol_name) : NULL;
        if (res->member_cnt) {
            sh->j_members = calloc(res->member_cnt, sizeof(*sh->j_members));
            if (sh->j_members) {
                sh->j_member_cnt = res->member_cnt;
                for (size_t i = 0; i < res->member_cnt; i++) {
                    const rv__group_member_meta_t *m = &res->members[i];
                    jmember_t *j = &sh->j_members[i];
                    j->member_id = strdup(m->member_id);
                    j->instance_id = m->group_instance_id ? strdup(m->group_instance_id) : NULL;
                    j->meta = malloc(m->metadata_len ? m->metadata_len : 1);
                    if (j->meta)
                        memcpy(j->meta, m->metadata, m->metadata_len);
                    j->meta_len = m->metadata_len;
                    if (!j->member_id || !j->meta)
                        sh->op_err = RV_ERR__NOMEM;
                }
            } else {
                sh->op_err = RV_ERR__NOMEM;
            }
        }
        if (!sh->op_err && (!sh->j_member_id || !sh->j_leader_id || !sh->j_protocol))
            sh->op_err = RV_ERR__NOMEM;
        sh->op_state = OP_JOIN_DONE;
        pthread_cond_broadcast(&sh->cond);
    }
    pthread_mutex_unlock(&sh->lock);
    if (leave_id) {
        rv__group_leave(sh->gc, sh->group_id, leave_id);
        free(leave_id);
    }
    shared_unref(sh);
    free(ctx);
}

static void on_sync(rv_err_t err, const void *assignment, size_t len, void *opaque) {
    op_ctx_t *ctx = opaque;
    shared_t *sh = ctx->sh;
    pthread_mutex_lock(&sh->lock);
    if (!sh->orphan && ctx->op_id == sh->op_id && sh->op_state == OP_SYNC_WAIT) {
        sh->op_err = err;
        free(sh->s_assignment);
        sh->s_assignment = malloc(len ? len : 1);
        sh->s_assignment_len = len;
        if (!sh->s_assignment)
            sh->op_err = RV_ERR__NOMEM;
        else if (len)
            memcpy(sh->s_assignment, assignment, len);
        sh->op_state = OP_SYNC_DONE;
        pthread_cond_broadcast(&sh->cond);
    }
    pthread_mutex_unlock(&sh->lock);
    shared_unref(sh);
    free(ctx);
}

/* Kafka's heartbeat thread: keeps the session alive while the application
 * works between polls, tells poll about rebalances, and leaves the group
 * when polls stop for max.poll.interval.ms. */
static void *heartbeat_main(void *arg) {
    shared_t *sh = arg;
    pthread_mutex_lock(&sh->lock);
    int64_t next = rv__mono_ms();
    while (!sh->hb_stop) {
        int64_t now = rv__mono_ms();
        if (now < next || !sh->hb_active || sh->hb_frozen) {
            shared_wait_until(sh, sh->hb_active && now < next ? next : now + sh->heartbeat_ms);
            continue;
        }
        next = now + sh->heartbeat_ms;
        char *mid = strdup(sh->hb_member_id);
        int32_t gen = sh->hb_gen;
        bool exceeded = now - sh->last_poll_ms > sh->max_poll_interval_ms;
        if (exceeded)
            sh->hb_active = false;
        pthread_mutex_unlock(&sh->lock);
        rv_err_t err = RV_ERR_NO_ERROR;
        if (mid && exceeded) {
            rv__log_warn("consumer",
                         "consumer poll timeout has expired: the time between polls passed "
                         "max.poll.interval.ms (%d); leaving group %s",
                         sh->max_poll_interval_ms, sh->group_id);
            rv__group_leave(sh->gc, sh->group_id, mid);
        } else if (mid) {
            err = rv__group_heartbeat(sh->gc, sh->group_id, gen, mid, NULL);
        }
        free(mid);
        pthread_mutex_lock(&sh->lock);
        if (exceeded) {
            sh->poll_exceeded = true;
            pthread_cond_broadcast(&sh->cond);
        } else if (sh->hb_active && sh->hb_gen == gen) {
            if (err == RV_ERR_REBALANCE_IN_PROGRESS) {
                sh->need_rejoin = true;
                pthread_cond_broadcast(&sh->cond);
            } else if (err == RV_ERR_UNKNOWN_MEMBER_ID || err == RV_ERR_ILLEGAL_GENERATION) {
                sh->lost = true;
                sh->hb_active = false;
                pthread_cond_broadcast(&sh->cond);
            }
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

/* ---- configuration ---- */

static rv_err_t parse_strategies(rv_consumer_t *c, const char *v, char *errstr,
                                 size_t errstr_size) {
    static const struct {
        const char *cls, *name;
    } map[] = {{"org.apache.kafka.clients.consumer.RangeAssignor", RV__ASSIGNOR_RANGE},
               {"org.apache.kafka.clients.consumer.RoundRobinAssignor", RV__ASSIGNOR_ROUNDROBIN},
               {"org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
                RV__ASSIGNOR_COOPERATIVE_STICKY}};
    char *copy = strdup(v ? v : RV__ASSIGNOR_RANGE);
    if (!copy)
        return RV_ERR__NOMEM;
    c->cooperative = true;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strlen(tok);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = '\0';
        if (!n)
            continue;
        const char *name = tok;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcmp(tok, map[i].cls) == 0)
                name = map[i].name;
        if (!rv__assignor_supported(name)) {
            free(copy);
            rv__errstr_set(errstr, errstr_size,
                           "Invalid value %s for configuration partition.assignment.strategy", tok);
            return RV_ERR__INVALID_ARG;
        }
        bool dup = false;
        for (size_t i = 0; i < c->strategy_cnt; i++)
            dup |= strcmp(c->strategies[i], name) == 0;
        if (dup)
            continue;
        char **nv = realloc(c->strategies, (c->strategy_cnt + 1) * sizeof(*nv));
        char *s = strdup(name);
        if (!nv || !s) {
            if (nv)
                c->strategies = nv;
            free(s);
            free(copy);
            return RV_ERR__NOMEM;
        }
        c->strategies = nv;
        c->strategies[c->strategy_cnt++] = s;
        if (strcmp(name, RV__ASSIGNOR_COOPERATIVE_STICKY) != 0)
            c->cooperative = false;
    }
    free(copy);
    if (!c->strategy_cnt) {
        rv__errstr_set(errstr, errstr_size,
                       "partition.assignment.strategy must name at least one assignor");
        return RV_ERR__INVALID_ARG;
    }
    return RV_ERR_NO_ERROR;
}

static void part_reset_fetch(part_t *p) {
    rv__chunk_unref(p->chunk);
    rv__chunk_unref(p->dchunk);
    p->chunk = p->dchunk = p->rec_chunk = NULL;
    p->chunk_pos = 0;
    p->in_batch = false;
}

static void parts_clear(rv_consumer_t *c) {
    for (size_t i = 0; i < c->part_cnt; i++) {
        part_reset_fetch(&c->parts[i]);
        free(c->parts[i].topic);
    }
    c->part_cnt = 0;
    c->rr = 0;
}

static part_t *part_find(rv_consumer_t *c, const char *topic, int32_t partition) {
    for (size_t i = 0; i < c->part_cnt; i++)
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    return NULL;
}

static rv_err_t part_add(rv_consumer_t *c, const char *topic, int32_t partition, int64_t position) {
    if (part_find(c, topic, partition))
        return RV_ERR_NO_ERROR;
    if (c->part_cnt == c->part_cap) {
        size_t n = c->part_cap ? c->part_cap * 2 : 8;
        part_t *np = realloc(c->parts, n * sizeof(*np));
        if (!np)
            return RV_ERR__NOMEM;
        c->parts = np;
        c->part_cap = n;
    }
    part_t *p = &c->parts[c->part_cnt];
    memset(p, 0, sizeof(*p));
    if (!(p->topic = strdup(topic)))
        return RV_ERR__NOMEM;
    p->partition = partition;
    p->position = position;
    p->fetched_hw = -1;
    c->part_cnt++;
    return RV_ERR_NO_ERROR;
}

static void part_remove(rv_consumer_t *c, const char *topic, int32_t partition) {
    part_t *p = part_find(c, topic, partition);
    if (!p)
        return;
    part_reset_fetch(p);
    free(p->topic);
    size_t i = (size_t)(p - c->parts);
    memmove(p, p + 1, (c->part_cnt - i - 1) * sizeof(*p));
    c->part_cnt--;
    if (c->rr >= c->part_cnt)
        c->rr = 0;
}

static rv_topic_partition_list_t *parts_to_list(rv_consumer_t *c) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(c->part_cnt);
    if (!l)
        return NULL;
    for (size_t i = 0; i < c->part_cnt; i++) {
        rv_topic_partition_t *tp =
            rv_topic_partition_list_add(l, c->parts[i].topic, c->parts[i].partition);
        if (!tp) {
            rv_topic_partition_list_destroy(l);
            return NULL;
        }
        tp->offset = c->parts[i].position >= 0 ? c->parts[i].position : RV_OFFSET_INVALID;
    }
    return l;
}

rv_consumer_t *rv_consumer_new(rv_conf_t *conf, char *errstr, size_t errstr_size) {
    if (!conf) {
        rv__errstr_set(errstr, errstr_size, "conf is NULL");
        return NULL;
    }
    const char *bs = rv_conf_get(conf, "bootstrap.servers");
    if (!bs || !*bs) {
        rv__errstr_set(errstr, errstr_size, "bootstrap.servers is not set");
        return NULL;
    }
    if (rv__kafka_is_remote(bs)) {
        rv_consumer_t *kcons = calloc(1, sizeof(*kcons));
        if (!kcons) {
            rv__errstr_set(errstr, errstr_size, "out of memory");
            return NULL;
        }
        const char *kgid = rv_conf_get(conf, "group.id");
        if (kgid && *kgid && !(kcons->group_id = strdup(kgid))) {
            free(kcons);
            rv__errstr_set(errstr, errstr_size, "out of memory");
            return NULL;
        }
        if (!(kcons->kc = rv__kconsumer_new(kcons, conf, kcons->errmsg, sizeof kcons->errmsg,
                                            errstr, errstr_size))) {
            free(kcons->group_id);
            free(kcons);
            return NULL;
        }
        kcons->conf = conf;
        return kcons;
    }
    const char *dir = bs + strlen(EMBEDDED_PREFIX);
    if (!*dir) {
        rv__errstr_set(errstr, errstr_size, "bootstrap.servers=embedded: names no folder");
        return NULL;
    }
    rv_consumer_t *c = calloc(1, sizeof(*c));
    if (!c) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        return NULL;
    }
    const char *gid = rv_conf_get(conf, "group.id");
    const char *cid = rv_conf_get(conf, "client.id");
    const char *reset = rv_conf_get(conf, "auto.offset.reset");
    c->reset = !reset || strcmp(reset, "latest") == 0 ? RESET_LATEST
               : strcmp(reset, "earliest") == 0       ? RESET_EARLIEST
                                                      : RESET_NONE;
    c->auto_commit = rv__conf_get_bool(conf, "enable.auto.commit", true);
    c->auto_commit_ms = rv__conf_get_int64(conf, "auto.commit.interval.ms", 5000);
    c->max_poll_records = (size_t)rv__conf_get_int64(conf, "max.poll.records", 500);
    c->session_timeout_ms = (int32_t)rv__conf_get_int64(conf, "session.timeout.ms", 45000);
    c->heartbeat_ms = (int32_t)rv__conf_get_int64(conf, "heartbeat.interval.ms", 3000);
    c->max_poll_interval_ms = (int32_t)rv__conf_get_int64(conf, "max.poll.interval.ms", 300000);
    c->metadata_max_age_ms = rv__conf_get_int64(conf, "metadata.max.age.ms", 300000);
    c->fetch_max_bytes = (size_t)rv__conf_get_int64(conf, "fetch.max.bytes", 52428800);
    c->partition_fetch_bytes =
        (size_t)rv__conf_get_int64(conf, "max.partition.fetch.bytes", 1048576);
    c->check_crcs = rv__conf_get_bool(conf, "check.crcs", true);
    if (c->heartbeat_ms < 1)
        c->heartbeat_ms = 1;
    c->generation = -1;
    c->member_id = strdup("");
    c->client_id = strdup(cid ? cid : "rivulet");
    if ((gid && *gid && !(c->group_id = strdup(gid))) || !c->member_id || !c->client_id) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (c->group_id && c->heartbeat_ms >= c->session_timeout_ms) {
        rv__errstr_set(errstr, errstr_size,
                       "heartbeat.interval.ms (%d) must be lower than session.timeout.ms (%d)",
                       c->heartbeat_ms, c->session_timeout_ms);
        goto fail;
    }
    if (parse_strategies(c, rv_conf_get(conf, "partition.assignment.strategy"), errstr,
                         errstr_size))
        goto fail;
    if (rv_broker_open(&c->broker, dir, errstr, errstr_size))
        goto fail;
    c->topics = rv__broker_topics(c->broker);
    c->gc = rv__broker_group_coordinator(c->broker);
    if (!(c->sh = shared_new(c->gc, c->group_id))) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        goto fail;
    }
    c->sh->heartbeat_ms = c->heartbeat_ms;
    c->sh->max_poll_interval_ms = c->max_poll_interval_ms;
    if (c->group_id) {
        if (pthread_create(&c->hb_thread, NULL, heartbeat_main, c->sh) != 0) {
            rv__errstr_set(errstr, errstr_size, "cannot start the heartbeat thread");
            goto fail;
        }
        c->hb_started = true;
    }
    c->conf = conf;
    c->next_auto_commit = rv__mono_ms() + c->auto_commit_ms;
    return c;
fail:
    c->conf = NULL; /* not ours on failure */
    rv_consumer_destroy(c);
    return NULL;
}

/* ---- offsets: committed, reset, commit ---- */

/* Callers make sure there is a group.id. */
static rv_err_t fetch_committed(rv_consumer_t *c, rv_topic_partition_list_t *l) {
    if (!l->cnt)
        return RV_ERR_NO_ERROR;
    rv__group_tp_t *tps = calloc(l->cnt, sizeof(*tps));
    if (!tps)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < l->cnt; i++) {
        tps[i].topic = l->v[i].topic;
        tps[i].partition = l->v[i].partition;
    }
    rv__group_committed_t *out = NULL;
    size_t n = 0;
    rv_err_t err = rv__group_fetch_offsets(c->gc, c->group_id, tps, l->cnt, &out, &n);
    free(tps);
    if (err)
        return seterr(c, err, "OffsetFetch for group %s failed: %s", c->group_id, rv_err_str(err));
    for (size_t i = 0; i < l->cnt && i < n; i++) {
        l->v[i].offset = out[i].offset >= 0 ? out[i].offset : RV_OFFSET_INVALID;
        l->v[i].err = RV_ERR_NO_ERROR;
        if (out[i].offset >= 0 &&
            rv_topic_partition_set_metadata(&l->v[i], out[i].metadata ? out[i].metadata : "")) {
            rv__group_committed_free(out, n);
            return RV_ERR__NOMEM;
        }
    }
    rv__group_committed_free(out, n);
    return RV_ERR_NO_ERROR;
}

/* The log start offset (BEGINNING) or high watermark (END) of a partition. */
static rv_err_t log_bound(rv_consumer_t *c, const char *topic, int32_t partition, int64_t which,
                          int64_t *out) {
    rv__topic_t *t;
    rv__log_t *log;
    char es[256];
    rv_err_t err = rv__topics_acquire(c->topics, topic, partition, &t, &log, es, sizeof es);
    if (err)
        return seterr(c, err, "%s", es);
    *out = which == RV_OFFSET_BEGINNING ? rv__log_start_offset(log) : rv__log_high_watermark(log);
    rv__topics_release(c->topics, t);
    return RV_ERR_NO_ERROR;
}

/* Turns every logical position into an offset: committed offset for
 * STORED, else auto.offset.reset. */
static rv_err_t resolve_positions(rv_consumer_t *c) {
    size_t stored = 0;
    for (size_t i = 0; i < c->part_cnt; i++)
        stored += c->parts[i].position == RV_OFFSET_STORED;
    if (stored && c->group_id) {
        rv_topic_partition_list_t *l = rv_topic_partition_list_new(stored);
        if (!l)
            return RV_ERR__NOMEM;
        for (size_t i = 0; i < c->part_cnt; i++)
            if (c->parts[i].position == RV_OFFSET_STORED &&
                !rv_topic_partition_list_add(l, c->parts[i].topic, c->parts[i].partition)) {
                rv_topic_partition_list_destroy(l);
                return RV_ERR__NOMEM;
            }
        rv_err_t err = fetch_committed(c, l);
        if (!err)
            for (size_t i = 0; i < l->cnt; i++)
                if (l->v[i].offset >= 0)
                    part_find(c, l->v[i].topic, l->v[i].partition)->position = l->v[i].offset;
        rv_topic_partition_list_destroy(l);
        if (err)
            return err;
    }
    /* What is still STORED has no committed offset: auto.offset.reset. */
    char names[256] = "";
    size_t nl = 0;
    bool missing = false;
    for (size_t i = 0; i < c->part_cnt; i++) {
        part_t *p = &c->parts[i];
        if (p->position >= 0)
            continue;
        int64_t which = p->position;
        if (which == RV_OFFSET_STORED) {
            if (c->reset == RESET_NONE) {
                missing = true;
                int w = snprintf(names + nl, sizeof names - nl, "%s%s-%d", nl ? ", " : "", p->topic,
                                 p->partition);
                if (w > 0 && (size_t)w < sizeof names - nl)
                    nl += (size_t)w;
                continue;
            }
            which = c->reset == RESET_EARLIEST ? RV_OFFSET_BEGINNING : RV_OFFSET_END;
        }
        int64_t off = -1;
        rv_err_t err = log_bound(c, p->topic, p->partition, which, &off);
        if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            continue; /* deleted or not created yet: try again later */
        if (err)
            return err;
        p->position = off;
    }
    if (missing)
        return seterr(c, RV_ERR__NO_OFFSET,
                      "Undefined offset with no reset policy for partitions: [%s]", names);
    return RV_ERR_NO_ERROR;
}

/* Commits `l` (offsets >= 0 only) with the group's generation when a
 * member; a consumer without a subscription commits standalone (a simple
 * commit). Fills each entry's err. */
static rv_err_t do_commit(rv_consumer_t *c, rv_topic_partition_list_t *l, char *errstr,
                          size_t errstr_size) {
    if (!c->group_id) {
        rv__errstr_set(errstr, errstr_size, "group.id is not set: cannot commit offsets");
        return RV_ERR__INVALID_ARG;
    }
    bool member = c->sub_cnt && c->generation >= 0 && *c->member_id, any = false;
    for (size_t i = 0; i < l->cnt; i++)
        any |= l->v[i].offset >= 0;
    if (c->sub_cnt && !member && any) {
        /* Subscribed but not a member (not joined yet, or removed from the
         * group): Kafka's consumer fails the commit rather than send it as
         * a simple commit, which would overwrite what the partitions' new
         * owner committed. */
        rv_err_t err = c->gstate == G_JOINING || c->gstate == G_SYNCING
                           ? RV_ERR_REBALANCE_IN_PROGRESS
                           : RV_ERR_UNKNOWN_MEMBER_ID;
        for (size_t i = 0; i < l->cnt; i++)
            if (l->v[i].offset >= 0)
                l->v[i].err = err;
        rv__errstr_set(errstr, errstr_size,
                       "Offset commit cannot be completed since the consumer is not part of an "
                       "active group for auto partition assignment; it is likely that the "
                       "consumer was kicked out of the group");
        return err;
    }
    size_t n = 0;
    rv__group_offset_t *offs = calloc(l->cnt ? l->cnt : 1, sizeof(*offs));
    if (!offs)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < l->cnt; i++) {
        if (l->v[i].offset < 0)
            continue;
        offs[n].topic = l->v[i].topic;
        offs[n].partition = l->v[i].partition;
        offs[n].offset = l->v[i].offset;
        offs[n].leader_epoch = -1;
        offs[n].metadata = l->v[i].metadata;
        n++;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    if (n) {
        err = rv__group_commit_offsets(c->gc, c->group_id, member ? c->generation : -1,
                                       member ? c->member_id : NULL, NULL, offs, n, errstr,
                                       errstr_size);
        size_t j = 0;
        for (size_t i = 0; i < l->cnt; i++)
            if (l->v[i].offset >= 0)
                l->v[i].err = offs[j++].err;
        if (err == RV_ERR_NO_ERROR)
            for (size_t i = 0; i < n; i++)
                if (offs[i].err && !err) {
                    err = offs[i].err;
                    rv__errstr_set(errstr, errstr_size, "commit of %s-%d failed: %s", offs[i].topic,
                                   offs[i].partition, rv_err_str(err));
                }
    }
    free(offs);
    return err;
}

/* Commits the positions of the assigned partitions (all of them, or only
 * those in `only`). */
static rv_err_t commit_positions(rv_consumer_t *c, const rv_topic_partition_list_t *only,
                                 char *errstr, size_t errstr_size) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(c->part_cnt);
    if (!l)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < c->part_cnt; i++) {
        part_t *p = &c->parts[i];
        if (p->position < 0 ||
            (only && !rv_topic_partition_list_find(only, p->topic, p->partition)))
            continue;
        rv_topic_partition_t *tp = rv_topic_partition_list_add(l, p->topic, p->partition);
        if (!tp) {
            rv_topic_partition_list_destroy(l);
            return RV_ERR__NOMEM;
        }
        tp->offset = p->position;
    }
    rv_err_t err = do_commit(c, l, errstr, errstr_size);
    rv_topic_partition_list_destroy(l);
    return err;
}

static void auto_commit_now(rv_consumer_t *c, const rv_topic_partition_list_t *only) {
    if (!c->auto_commit || !c->group_id)
        return;
    char es[256] = "";
    rv_err_t err = commit_positions(c, only, es, sizeof es);
    if (err)
        rv__log_warn("consumer", "auto commit for group %s failed: %s", c->group_id,
                     es[0] ? es : rv_err_str(err));
    c->next_auto_commit = rv__mono_ms() + c->auto_commit_ms;
}

static void run_pending_commits(rv_consumer_t *c) {
    while (c->pend_head) {
        pending_commit_t *p = c->pend_head;
        c->pend_head = p->next;
        if (!c->pend_head)
            c->pend_tail = NULL;
        if (p->cb)
            p->cb(c, p->err, p->offsets, p->opaque);
        rv_topic_partition_list_destroy(p->offsets);
        free(p);
    }
}

/* ---- group membership ---- */

static void call_listener(rv_consumer_t *c, rv_rebalance_cb_t *cb,
                          const rv_topic_partition_list_t *l) {
    if (cb)
        cb(c, l, c->listener.opaque);
}

/* The partitions were taken away already: no commit, the lost listener. */
static void lose_assignment(rv_consumer_t *c) {
    if (c->part_cnt) {
        rv_topic_partition_list_t *l = parts_to_list(c);
        if (l)
            call_listener(c, c->listener.lost ? c->listener.lost : c->listener.revoked, l);
        rv_topic_partition_list_destroy(l);
    }
    parts_clear(c);
}

/* The coordinator no longer knows this member (UNKNOWN_MEMBER_ID) or
 * its generation (ILLEGAL_GENERATION): what it still holds (a cooperative
 * member keeps its partitions across a rebalance) is lost - the lost
 * listener, no commit, as Kafka's consumer after a generation reset - so
 * it neither fetches them as a non-member nor commits their positions
 * once it joins again. An unknown member also drops its id. */
static void reset_membership(rv_consumer_t *c, rv_err_t err) {
    lose_assignment(c);
    c->generation = -1;
    if (err == RV_ERR_UNKNOWN_MEMBER_ID)
        c->member_id[0] = '\0';
}

/* Eager revocation: commit, revoked listener, drop everything. */
static void revoke_all(rv_consumer_t *c) {
    if (!c->part_cnt)
        return;
    auto_commit_now(c, NULL);
    rv_topic_partition_list_t *l = parts_to_list(c);
    if (l)
        call_listener(c, c->listener.revoked, l);
    rv_topic_partition_list_destroy(l);
    parts_clear(c);
}

static void set_hb(rv_consumer_t *c, bool active) {
    shared_t *sh = c->sh;
    pthread_mutex_lock(&sh->lock);
    char *m = active ? strdup(c->member_id) : NULL;
    free(sh->hb_member_id);
    sh->hb_member_id = m;
    sh->hb_active = active && m;
    sh->hb_gen = c->generation;
    if (active) {
        sh->need_rejoin = false;
        sh->lost = false;
    }
    pthread_cond_broadcast(&sh->cond);
    pthread_mutex_unlock(&sh->lock);
}

/* Partition count of a topic now, or -1 when it does not exist. */
static int32_t topic_partition_count(rv_consumer_t *c, const char *topic) {
    rv__topic_info_t info = {0};
    if (rv__topics_describe(c->topics, topic, &info, NULL, 0))
        return -1;
    int32_t n = info.partition_cnt;
    rv__topic_info_clear(&info);
    return n;
}

/* Records the subscribed topics' partition counts (at a join). */
static void meta_snapshot(rv_consumer_t *c) {
    int32_t *v = realloc(c->meta_counts, (c->sub_cnt ? c->sub_cnt : 1) * sizeof *v);
    if (!v)
        return; /* no snapshot: the next check compares against the old one */
    c->meta_counts = v;
    for (size_t i = 0; i < c->sub_cnt; i++)
        v[i] = topic_partition_count(c, c->sub[i]);
    c->meta_check_at = rv__mono_ms() + c->metadata_max_age_ms;
}

/* True when a subscribed topic's partition count differs from the
 * snapshot. */
static bool meta_changed(rv_consumer_t *c) {
    if (!c->meta_counts)
        return false;
    for (size_t i = 0; i < c->sub_cnt; i++)
        if (topic_partition_count(c, c->sub[i]) != c->meta_counts[i])
            return true;
    return false;
}

/* The user data of a subscription or assignment that asks the whole group
 * to shut down (Kafka Streams' AssignorError.SHUTDOWN_REQUESTED, which
 * its assignor carries in its own user data). */
#define SHUTDOWN_MARKER "rivulet.shutdown.requested"
#define SHUTDOWN_MARKER_LEN (sizeof SHUTDOWN_MARKER - 1)

static bool is_shutdown_marker(const uint8_t *data, int32_t len) {
    return len == (int32_t)SHUTDOWN_MARKER_LEN && memcmp(data, SHUTDOWN_MARKER, len) == 0;
}

static rv_err_t send_join(rv_consumer_t *c) {
    meta_snapshot(c);
    rv__subscription_t s = {0};
    s.version = RV__SUBSCRIPTION_VERSION;
    s.topics = c->sub;
    s.topic_cnt = c->sub_cnt;
    s.user_data_len = -1;
    if (c->shutdown_ask) {
        s.user_data = (uint8_t *)SHUTDOWN_MARKER;
        s.user_data_len = (int32_t)SHUTDOWN_MARKER_LEN;
    }
    s.generation_id = c->generation;
    rv_err_t err = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < c->part_cnt && !err; i++)
        err = rv__topic_parts_add(&s.owned, &s.owned_cnt, c->parts[i].topic, c->parts[i].partition);
    rv__buf_t meta = RV__BUF_INIT;
    if (!err)
        err = rv__subscription_encode(&meta, &s);
    rv__topic_parts_free(s.owned, s.owned_cnt);
    rv__group_protocol_t *protos = calloc(c->strategy_cnt, sizeof(*protos));
    op_ctx_t *ctx = malloc(sizeof(*ctx));
    if (err || !protos || !ctx) {
        rv__buf_free(&meta);
        free(protos);
        free(ctx);
        return err ? err : RV_ERR__NOMEM;
    }
    for (size_t i = 0; i < c->strategy_cnt; i++) {
        protos[i].name = c->strategies[i];
        protos[i].metadata = meta.data;
        protos[i].metadata_len = meta.len;
    }
    rv__group_join_req_t req = {0};
    req.group_id = c->group_id;
    req.member_id = c->member_id;
    req.client_id = c->client_id;
    req.client_host = "/127.0.0.1";
    req.session_timeout_ms = c->session_timeout_ms;
    req.rebalance_timeout_ms = c->max_poll_interval_ms;
    req.protocol_type = RV__PROTOCOL_TYPE_CONSUMER;
    req.protocols = protos;
    req.protocol_cnt = c->strategy_cnt;

    shared_t *sh = c->sh;
    pthread_mutex_lock(&sh->lock);
    ctx->sh = sh;
    ctx->op_id = ++sh->op_id;
    sh->op_state = OP_JOIN_WAIT;
    sh->refcnt++;
    /* Polls stop counting towards max.poll.interval.ms while we rejoin. */
    sh->last_poll_ms = rv__mono_ms();
    pthread_mutex_unlock(&sh->lock);
    c->gstate = G_JOINING;
    rv__group_join(c->gc, &req, on_join, ctx);
    rv__buf_free(&meta);
    free(protos);
    return RV_ERR_NO_ERROR;
}

/* The leader's part: run the chosen assignor over the members. */
static rv_err_t leader_assign(rv_consumer_t *c, shared_t *sh, rv__buf_t **bufs_out,
                              rv__group_assignment_t **out) {
    size_t n = sh->j_member_cnt;
    rv__subscription_t *subs = calloc(n ? n : 1, sizeof(*subs));
    rv__assignor_member_t *members = calloc(n ? n : 1, sizeof(*members));
    rv__assignment_t *asg = calloc(n ? n : 1, sizeof(*asg));
    rv__buf_t *bufs = calloc(n ? n : 1, sizeof(*bufs));
    rv__group_assignment_t *ga = calloc(n ? n : 1, sizeof(*ga));
    rv__assignor_topic_t *topics = NULL;
    size_t topic_cnt = 0;
    rv_err_t err = (!subs || !members || !asg || !bufs || !ga) ? RV_ERR__NOMEM : RV_ERR_NO_ERROR;
    for (size_t i = 0; i < n && !err; i++) {
        err = rv__subscription_decode(&subs[i], sh->j_members[i].meta, sh->j_members[i].meta_len);
        members[i].member_id = sh->j_members[i].member_id;
        members[i].group_instance_id = sh->j_members[i].instance_id;
        members[i].subscription = &subs[i];
    }
    /* Partition counts of every subscribed topic that exists. */
    for (size_t i = 0; i < n && !err; i++) {
        for (size_t k = 0; k < subs[i].topic_cnt && !err; k++) {
            bool seen = false;
            for (size_t t = 0; t < topic_cnt; t++)
                seen |= strcmp(topics[t].topic, subs[i].topics[k]) == 0;
            if (seen)
                continue;
            rv__topic_info_t info = {0};
            if (rv__topics_describe(c->topics, subs[i].topics[k], &info, NULL, 0))
                continue;
            rv__assignor_topic_t *nt = realloc(topics, (topic_cnt + 1) * sizeof(*nt));
            if (!nt) {
                rv__topic_info_clear(&info);
                err = RV_ERR__NOMEM;
                break;
            }
            topics = nt;
            topics[topic_cnt].topic = subs[i].topics[k];
            topics[topic_cnt].partition_cnt = info.partition_cnt;
            topic_cnt++;
            rv__topic_info_clear(&info);
        }
    }
    /* A member asking the group to shut down: every member gets no
     * partitions and the marker, instead of the assignor's answer. */
    bool shutdown = false;
    for (size_t i = 0; i < n && !err; i++)
        shutdown |= is_shutdown_marker(subs[i].user_data, subs[i].user_data_len);
    char es[256] = "";
    if (!err && !shutdown)
        err =
            rv__assignor_assign(sh->j_protocol, members, n, topics, topic_cnt, asg, es, sizeof es);
    for (size_t i = 0; i < n && !err && shutdown; i++) {
        asg[i].version = RV__ASSIGNMENT_VERSION;
        asg[i].user_data = malloc(SHUTDOWN_MARKER_LEN);
        if (!asg[i].user_data) {
            err = RV_ERR__NOMEM;
            break;
        }
        memcpy(asg[i].user_data, SHUTDOWN_MARKER, SHUTDOWN_MARKER_LEN);
        asg[i].user_data_len = (int32_t)SHUTDOWN_MARKER_LEN;
    }
    if (shutdown && !err)
        rv__log_warn("consumer", "group %s: a member asked the group to shut down", c->group_id);
    for (size_t i = 0; i < n && !err; i++) {
        err = rv__assignment_encode(&bufs[i], &asg[i]);
        ga[i].member_id = sh->j_members[i].member_id;
        ga[i].assignment = bufs[i].data;
        ga[i].assignment_len = bufs[i].len;
    }
    if (err)
        rv__log_warn("consumer", "group %s: assignment failed: %s", c->group_id,
                     es[0] ? es : rv_err_str(err));
    for (size_t i = 0; i < n; i++) {
        if (subs)
            rv__subscription_clear(&subs[i]);
        if (asg)
            rv__assignment_clear(&asg[i]);
    }
    free(subs);
    free(members);
    free(asg);
    free(topics);
    if (err) {
        for (size_t i = 0; bufs && i < n; i++)
            rv__buf_free(&bufs[i]);
        free(bufs);
        free(ga);
        return err;
    }
    *bufs_out = bufs;
    *out = ga;
    return RV_ERR_NO_ERROR;
}

/* Takes the join result (called with sh->lock held, released inside). */
static rv_err_t handle_join(rv_consumer_t *c) {
    shared_t *sh = c->sh;
    rv_err_t err = sh->op_err;
    sh->op_state = OP_NONE;
    if (sh->j_member_id && (!err || err == RV_ERR_MEMBER_ID_REQUIRED)) {
        char *m = strdup(sh->j_member_id);
        if (m) {
            free(c->member_id);
            c->member_id = m;
        }
    }
    if (err) {
        pthread_mutex_unlock(&sh->lock);
        if (err == RV_ERR_UNKNOWN_MEMBER_ID || err == RV_ERR_ILLEGAL_GENERATION)
            reset_membership(c, err);
        c->gstate = G_UNJOINED;
        if (err == RV_ERR_MEMBER_ID_REQUIRED || err == RV_ERR_UNKNOWN_MEMBER_ID ||
            err == RV_ERR_REBALANCE_IN_PROGRESS || err == RV_ERR_ILLEGAL_GENERATION ||
            err == RV_ERR_COORDINATOR_NOT_AVAILABLE)
            return RV_ERR_NO_ERROR; /* join again */
        c->join_retry_at = rv__mono_ms() + 500;
        return seterr(c, err, "JoinGroup for group %s failed: %s", c->group_id, rv_err_str(err));
    }
    c->generation = sh->j_gen;
    bool leader = strcmp(sh->j_leader_id, sh->j_member_id) == 0;
    rv__buf_t *bufs = NULL;
    rv__group_assignment_t *ga = NULL;
    size_t n = sh->j_member_cnt;
    rv_err_t aerr = leader ? leader_assign(c, sh, &bufs, &ga) : RV_ERR_NO_ERROR;
    op_ctx_t *ctx = malloc(sizeof(*ctx));
    if (aerr || !ctx) {
        pthread_mutex_unlock(&sh->lock);
        free(ctx);
        c->gstate = G_UNJOINED;
        c->join_retry_at = rv__mono_ms() + 500;
        return seterr(c, aerr ? aerr : RV_ERR__NOMEM, "group %s: cannot compute the assignment",
                      c->group_id);
    }
    ctx->sh = sh;
    ctx->op_id = ++sh->op_id;
    sh->op_state = OP_SYNC_WAIT;
    sh->refcnt++;
    pthread_mutex_unlock(&sh->lock);
    c->gstate = G_SYNCING;
    /* Heartbeats keep the session alive while the leader assigns. */
    set_hb(c, true);
    rv__group_sync(c->gc, c->group_id, c->generation, c->member_id, NULL, leader ? ga : NULL,
                   leader ? n : 0, on_sync, ctx);
    for (size_t i = 0; bufs && i < n; i++)
        rv__buf_free(&bufs[i]);
    free(bufs);
    free(ga);
    return RV_ERR_NO_ERROR;
}

/* Takes the sync result (called with sh->lock held, released inside). */
static rv_err_t handle_sync(rv_consumer_t *c) {
    shared_t *sh = c->sh;
    rv_err_t err = sh->op_err;
    sh->op_state = OP_NONE;
    rv__assignment_t a = {0};
    if (!err)
        err = rv__assignment_decode(&a, sh->s_assignment, sh->s_assignment_len);
    pthread_mutex_unlock(&sh->lock);
    if (!err && is_shutdown_marker(a.user_data, a.user_data_len))
        c->shutdown_ask = c->shutdown_told = true;
    if (err) {
        rv__assignment_clear(&a);
        set_hb(c, false);
        c->gstate = G_UNJOINED;
        if (err == RV_ERR_UNKNOWN_MEMBER_ID || err == RV_ERR_ILLEGAL_GENERATION)
            reset_membership(c, err);
        if (err == RV_ERR_UNKNOWN_MEMBER_ID || err == RV_ERR_REBALANCE_IN_PROGRESS ||
            err == RV_ERR_ILLEGAL_GENERATION || err == RV_ERR_COORDINATOR_NOT_AVAILABLE)
            return RV_ERR_NO_ERROR;
        c->join_retry_at = rv__mono_ms() + 500;
        return seterr(c, err, "SyncGroup for group %s failed: %s", c->group_id, rv_err_str(err));
    }
    rv_topic_partition_list_t *revoked = rv_topic_partition_list_new(0);
    rv_topic_partition_list_t *added = rv_topic_partition_list_new(0);
    rv_err_t rerr = (!revoked || !added) ? RV_ERR__NOMEM : RV_ERR_NO_ERROR;
    for (size_t i = 0; i < c->part_cnt && !rerr; i++) {
        bool keep = false;
        for (size_t t = 0; t < a.cnt && !keep; t++)
            if (strcmp(a.parts[t].topic, c->parts[i].topic) == 0)
                for (size_t k = 0; k < a.parts[t].cnt; k++)
                    keep |= a.parts[t].partitions[k] == c->parts[i].partition;
        if (!keep &&
            !rv_topic_partition_list_add(revoked, c->parts[i].topic, c->parts[i].partition))
            rerr = RV_ERR__NOMEM;
    }
    for (size_t t = 0; t < a.cnt && !rerr; t++)
        for (size_t k = 0; k < a.parts[t].cnt && !rerr; k++)
            if (!part_find(c, a.parts[t].topic, a.parts[t].partitions[k]) &&
                !rv_topic_partition_list_add(added, a.parts[t].topic, a.parts[t].partitions[k]))
                rerr = RV_ERR__NOMEM;
    rv__assignment_clear(&a);
    c->gstate = G_STABLE;
    set_hb(c, true);
    if (!rerr && revoked->cnt) {
        /* Cooperative: give up what moved, then rejoin so it can move. */
        auto_commit_now(c, revoked);
        call_listener(c, c->listener.revoked, revoked);
        for (size_t i = 0; i < revoked->cnt; i++)
            part_remove(c, revoked->v[i].topic, revoked->v[i].partition);
        c->rejoin_now = true;
    }
    for (size_t i = 0; !rerr && i < added->cnt; i++)
        rerr = part_add(c, added->v[i].topic, added->v[i].partition, RV_OFFSET_STORED);
    if (!rerr) {
        rv_topic_partition_list_sort(added);
        call_listener(c, c->listener.assigned, added);
    }
    rv_topic_partition_list_destroy(revoked);
    rv_topic_partition_list_destroy(added);
    return rerr;
}

/* One step of the group state machine, from poll (no lock held). */
static rv_err_t group_step(rv_consumer_t *c) {
    shared_t *sh = c->sh;
    pthread_mutex_lock(&sh->lock);
    bool exceeded = sh->poll_exceeded, lost = sh->lost, rejoin = sh->need_rejoin;
    sh->poll_exceeded = sh->lost = sh->need_rejoin = false;
    pthread_mutex_unlock(&sh->lock);
    if (exceeded || lost) {
        set_hb(c, false);
        lose_assignment(c);
        c->member_id[0] = '\0';
        c->generation = -1;
        c->gstate = G_UNJOINED;
        if (exceeded)
            return seterr(c, RV_ERR__MAX_POLL_EXCEEDED,
                          "Application maximum poll interval (%dms) exceeded by the time "
                          "between polls: left group %s",
                          c->max_poll_interval_ms, c->group_id);
    }
    if (c->gstate == G_STABLE && rv__mono_ms() >= c->meta_check_at) {
        c->meta_check_at = rv__mono_ms() + c->metadata_max_age_ms;
        if (meta_changed(c))
            c->rejoin_now = true;
    }
    if (c->gstate == G_STABLE && (rejoin || c->rejoin_now)) {
        c->rejoin_now = false;
        c->gstate = G_UNJOINED;
    }
    for (;;) {
        /* A listener run by handle_join/handle_sync may have unsubscribed
         * or closed the consumer (which left the group): do not join again
         * with an empty subscription. */
        if (c->sub_cnt == 0 || c->closed)
            return RV_ERR_NO_ERROR;
        switch (c->gstate) {
        case G_UNJOINED:
            if (rv__mono_ms() < c->join_retry_at)
                return RV_ERR_NO_ERROR;
            if (!c->cooperative)
                revoke_all(c);
            set_hb(c, false);
            return send_join(c);
        case G_JOINING:
            pthread_mutex_lock(&sh->lock);
            if (sh->op_state != OP_JOIN_DONE) {
                pthread_mutex_unlock(&sh->lock);
                return RV_ERR_NO_ERROR;
            }
            {
                rv_err_t err = handle_join(c);
                if (err)
                    return err;
            }
            continue;
        case G_SYNCING:
            pthread_mutex_lock(&sh->lock);
            if (sh->op_state != OP_SYNC_DONE) {
                pthread_mutex_unlock(&sh->lock);
                return RV_ERR_NO_ERROR;
            }
            {
                rv_err_t err = handle_sync(c);
                if (err)
                    return err;
            }
            if (c->gstate == G_STABLE && c->rejoin_now) {
                c->rejoin_now = false;
                c->gstate = G_UNJOINED;
                continue;
            }
            if (c->gstate != G_STABLE)
                continue;
            return RV_ERR_NO_ERROR;
        case G_STABLE:
            return RV_ERR_NO_ERROR;
        }
    }
}

/* Leaves the group: revokes (commit first when auto), tells the
 * coordinator. */
static void leave_group(rv_consumer_t *c, bool revoke) {
    if (revoke)
        revoke_all(c);
    else
        parts_clear(c);
    set_hb(c, false);
    shared_t *sh = c->sh;
    pthread_mutex_lock(&sh->lock);
    sh->abandon_upto = sh->op_id; /* answers still owed are stale now */
    sh->op_id++;
    sh->op_state = OP_NONE;
    pthread_mutex_unlock(&sh->lock);
    if (*c->member_id)
        rv__group_leave(c->gc, c->group_id, c->member_id);
    c->member_id[0] = '\0';
    c->generation = -1;
    c->gstate = G_UNJOINED;
}

/* ---- subscription and assignment ---- */

rv_err_t rv_consumer_subscribe(rv_consumer_t *c, const char *const *topics, size_t topic_cnt,
                               const rv_rebalance_listener_t *listener) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (!c->group_id)
        return seterr(c, RV_ERR__INVALID_ARG,
                      "To use the group management or offset commit APIs, you must provide a "
                      "valid group.id in the consumer configuration.");
    if (!topics || !topic_cnt)
        return seterr(c, RV_ERR__INVALID_ARG, "subscribe needs at least one topic");
    if (c->manual)
        return seterr(c, RV_ERR__STATE,
                      "Subscription to topics, partitions and pattern are mutually exclusive");
    if (listener && listener->version != RV_REBALANCE_LISTENER_VERSION)
        return seterr(c, RV_ERR__INVALID_ARG, "unknown rebalance listener version %d",
                      listener->version);
    char **sub = calloc(topic_cnt, sizeof(*sub));
    if (!sub)
        return RV_ERR__NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < topic_cnt; i++) {
        if (!topics[i] || !*topics[i]) {
            rv_strv_free(sub, n);
            return seterr(c, RV_ERR__INVALID_ARG,
                          "Topic collection to subscribe to cannot "
                          "contain null or empty topic");
        }
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(sub[k], topics[i]) == 0;
        if (dup)
            continue;
        if (!(sub[n] = strdup(topics[i]))) {
            rv_strv_free(sub, n);
            return RV_ERR__NOMEM;
        }
        n++;
    }
    if (c->kc) {
        rv_err_t err = rv__kconsumer_subscribe(c->kc, (const char *const *)sub, n, listener);
        if (err) {
            rv_strv_free(sub, n);
            return err;
        }
    } else {
        if (listener)
            c->listener = *listener;
        else
            memset(&c->listener, 0, sizeof c->listener);
        /* A new subscription means new metadata: rebalance. */
        if (c->gstate == G_STABLE)
            c->rejoin_now = true;
    }
    rv_strv_free(c->sub, c->sub_cnt);
    c->sub = sub;
    c->sub_cnt = n;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_consumer_unsubscribe(rv_consumer_t *c) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (!c->sub_cnt)
        return RV_ERR_NO_ERROR;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (c->kc)
        err = rv__kconsumer_unsubscribe(c->kc); /* the subscription ends even on error */
    else
        leave_group(c, true);
    rv_strv_free(c->sub, c->sub_cnt);
    c->sub = NULL;
    c->sub_cnt = 0;
    return err;
}

rv_err_t rv_consumer_subscription(rv_consumer_t *c, char ***topics, size_t *cnt) {
    *topics = NULL;
    *cnt = 0;
    if (!c->sub_cnt)
        return RV_ERR_NO_ERROR;
    char **v = calloc(c->sub_cnt, sizeof(*v));
    if (!v)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < c->sub_cnt; i++)
        if (!(v[i] = strdup(c->sub[i]))) {
            rv_strv_free(v, i);
            return RV_ERR__NOMEM;
        }
    *topics = v;
    *cnt = c->sub_cnt;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_consumer_assign(rv_consumer_t *c, const rv_topic_partition_list_t *partitions) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (c->sub_cnt)
        return seterr(c, RV_ERR__STATE,
                      "Subscription to topics, partitions and pattern are mutually exclusive");
    /* Every start offset is checked before the assignment changes. */
    for (size_t i = 0; partitions && i < partitions->cnt; i++) {
        const rv_topic_partition_t *tp = &partitions->v[i];
        int64_t pos = tp->offset;
        if (pos < 0 && pos != RV_OFFSET_INVALID && pos != RV_OFFSET_STORED &&
            pos != RV_OFFSET_BEGINNING && pos != RV_OFFSET_END)
            return seterr(c, RV_ERR__INVALID_ARG, "invalid start offset %lld for %s-%d",
                          (long long)pos, tp->topic, tp->partition);
    }
    if (c->kc) {
        rv_err_t err = rv__kconsumer_assign(c->kc, partitions);
        c->manual = !err && partitions && partitions->cnt;
        return err;
    }
    parts_clear(c);
    c->manual = partitions && partitions->cnt;
    for (size_t i = 0; partitions && i < partitions->cnt; i++) {
        const rv_topic_partition_t *tp = &partitions->v[i];
        int64_t pos = tp->offset;
        if (pos == RV_OFFSET_INVALID)
            pos = RV_OFFSET_STORED;
        rv_err_t err = part_add(c, tp->topic, tp->partition, pos);
        if (err) {
            parts_clear(c);
            c->manual = false;
            return err;
        }
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_consumer_assignment(rv_consumer_t *c, rv_topic_partition_list_t **out) {
    if (c->kc)
        return rv__kconsumer_assignment(c->kc, out);
    *out = parts_to_list(c);
    return *out ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

/* ---- fetching ---- */

/* Fetches the next chunk of partition p at its position. Returns 1 when a
 * chunk is ready, 0 when there is nothing new, or an error. */
static int part_fetch(rv_consumer_t *c, part_t *p, size_t max_bytes, size_t *fetched) {
    rv__topic_t *t;
    rv__log_t *log;
    char es[256];
    rv_err_t err = rv__topics_acquire(c->topics, p->topic, p->partition, &t, &log, es, sizeof es);
    if (err)
        return 0; /* deleted meanwhile, or not created yet: nothing to read */
    /* Exactly at the HW: nothing new yet. Past it, the read below reports
     * OFFSET_OUT_OF_RANGE so auto.offset.reset applies, as in Kafka. */
    p->fetched_hw = rv__log_high_watermark(log);
    if (p->position == p->fetched_hw && p->position >= rv__log_start_offset(log)) {
        rv__topics_release(c->topics, t);
        return 0;
    }
    rv__buf_t buf = RV__BUF_INIT;
    if (!c->fetch_pool)
        c->fetch_pool = rv__chunk_pool_new();
    rv__chunk_pool_take(c->fetch_pool, &buf);
    rv__read_info_t info;
    err = rv__log_read(log, p->position, max_bytes, &buf, &info, es, sizeof es);
    rv__topics_release(c->topics, t);
    if (err == RV_ERR_OFFSET_OUT_OF_RANGE) {
        rv__buf_free(&buf);
        if (c->reset == RESET_NONE)
            return -seterr(c, RV_ERR_OFFSET_OUT_OF_RANGE,
                           "Offsets out of range with no configured reset policy for "
                           "partitions: {%s-%d=%lld}",
                           p->topic, p->partition, (long long)p->position);
        int64_t old = p->position;
        p->position = c->reset == RESET_EARLIEST ? RV_OFFSET_BEGINNING : RV_OFFSET_END;
        int64_t off = -1;
        err = log_bound(c, p->topic, p->partition, p->position, &off);
        if (err)
            return -(int)err;
        p->position = off;
        rv__log_warn("consumer",
                     "fetch position %lld is out of range for %s-%d, resetting to "
                     "%lld",
                     (long long)old, p->topic, p->partition, (long long)off);
        return 0;
    }
    if (err) {
        rv__buf_free(&buf);
        return -seterr(c, err, "fetch of %s-%d failed: %s", p->topic, p->partition, es);
    }
    if (!buf.len) {
        rv__buf_free(&buf);
        /* No batch from the position up to the HW of this read: the
         * cleaner removed the log's last batches (our broker also rolls a
         * segment by segment.ms without an append, which Kafka does not,
         * so the active segment's tail can be cleaned too). Their offsets
         * are skipped, as everywhere else: move to that HW, or the
         * position, and the lag with it, would stay short of it forever. */
        if (p->position < info.high_watermark)
            p->position = info.high_watermark;
        return 0;
    }
    *fetched += buf.len;
    rv__chunk_t *ch = rv__chunk_new_pooled(&buf, p->topic, c->fetch_pool);
    if (!ch) {
        rv__buf_free(&buf);
        return -(int)RV_ERR__NOMEM;
    }
    part_reset_fetch(p);
    p->chunk = ch;
    return 1;
}

/* Starts the next batch of p's chunk that holds records at or past the
 * position. Returns 1 when p->it is ready, 0 at the end of the chunk, or
 * a negative error. */
static int part_next_batch(rv_consumer_t *c, part_t *p) {
    while (p->chunk && p->chunk_pos < p->chunk->len) {
        const uint8_t *b = p->chunk->data + p->chunk_pos;
        size_t left = p->chunk->len - p->chunk_pos;
        rv__batch_hdr_t h;
        rv_err_t err =
            c->check_crcs ? rv__batch_validate(&h, b, left) : rv__batch_parse_header(&h, b, left);
        if (err == RV_ERR__PARTIAL) {
            p->chunk_pos = p->chunk->len; /* a torn tail cannot be below the HW: stop */
            return 0;
        }
        if (err)
            return -seterr(c, RV_ERR_CORRUPT_MESSAGE,
                           "Record batch at offset %lld of %s-%d is corrupt (%s)",
                           (long long)h.base_offset, p->topic, p->partition, rv_err_name(err));
        size_t size = rv__batch_size(&h);
        int64_t last = rv__batch_last_offset(&h);
        if (last < p->position || (h.attributes & RV__ATTR_CONTROL)) {
            p->chunk_pos += size;
            if (last >= p->position)
                p->position = last + 1; /* control records take offsets too */
            continue;
        }
        p->rec_chunk = p->chunk;
        if (h.attributes & RV__ATTR_COMPRESSION_MASK) {
            /* Decompressed once into a chunk of its own, which the
             * records borrow like the fetched bytes. */
            rv__buf_t scratch = RV__BUF_INIT;
            err = rv__record_iter_init2(&p->it, b, size, &scratch);
            rv__chunk_t *dc = err ? NULL : rv__chunk_new(&scratch, p->topic);
            if (!err && !dc)
                err = RV_ERR__NOMEM;
            rv__buf_free(&scratch);
            if (!err) {
                rv__chunk_unref(p->dchunk);
                p->dchunk = p->rec_chunk = dc;
            }
        } else {
            err = rv__record_iter_init(&p->it, b, size);
        }
        if (err == RV_ERR_UNSUPPORTED_COMPRESSION_TYPE || err == RV_ERR__NOMEM)
            return -seterr(c, err, "Record batch at offset %lld of %s-%d (codec %d): %s",
                           (long long)h.base_offset, p->topic, p->partition,
                           h.attributes & RV__ATTR_COMPRESSION_MASK, rv_err_str(err));
        if (err)
            return -seterr(c, RV_ERR_CORRUPT_MESSAGE,
                           "Record batch at offset %lld of %s-%d is corrupt (%s)",
                           (long long)h.base_offset, p->topic, p->partition, rv_err_name(err));
        p->ts_type = (h.attributes & RV__ATTR_LOG_APPEND_TIME) ? RV_TIMESTAMP_LOG_APPEND_TIME
                                                               : RV_TIMESTAMP_CREATE_TIME;
        p->chunk_pos += size;
        p->in_batch = true;
        return 1;
    }
    return 0;
}

/* Adds up to `room` records of p to rs. Returns the count added, or a
 * negative error. */
static long part_take(rv_consumer_t *c, part_t *p, rv_records_t *rs, size_t room, size_t *fetched) {
    size_t added = 0;
    bool fetched_now = false;
    while (added < room) {
        if (p->in_batch) {
            rv__record_t rec;
            int r = rv__record_iter_next(&p->it, &rec);
            if (r == 1) {
                if (rec.offset < p->position)
                    continue;
                rv_err_t err = rv__records_add(rs, p->rec_chunk, p->partition, p->ts_type, &rec);
                if (err)
                    return -(long)err;
                p->position = rec.offset + 1;
                added++;
                continue;
            }
            p->in_batch = false;
            if (r < 0)
                return -(long)seterr(c, RV_ERR_CORRUPT_MESSAGE,
                                     "Record batch of %s-%d near offset %lld is corrupt", p->topic,
                                     p->partition, (long long)p->position);
            /* Compaction leaves gaps: the batch's last offset still counts. */
            int64_t last = rv__batch_last_offset(&p->it.hdr);
            if (last >= p->position)
                p->position = last + 1;
            continue;
        }
        int r = part_next_batch(c, p);
        if (r < 0)
            return r;
        if (r == 1)
            continue;
        /* Chunk done: fetch more unless we did in this call already. */
        if (fetched_now || *fetched >= c->fetch_max_bytes)
            break;
        size_t max = c->partition_fetch_bytes;
        if (max > c->fetch_max_bytes - *fetched)
            max = c->fetch_max_bytes - *fetched;
        r = part_fetch(c, p, max, fetched);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        fetched_now = true;
    }
    return (long)added;
}

/* One pass over the assigned partitions, starting where the last poll
 * stopped. */
static rv_err_t fill(rv_consumer_t *c, rv_records_t *rs) {
    size_t fetched = 0;
    size_t n = c->part_cnt;
    for (size_t k = 0; k < n && rv_records_count(rs) < c->max_poll_records; k++) {
        size_t i = (c->rr + k) % n;
        part_t *p = &c->parts[i];
        if (p->paused || p->position < 0)
            continue;
        long r = part_take(c, p, rs, c->max_poll_records - rv_records_count(rs), &fetched);
        if (r < 0)
            return (rv_err_t)-r;
    }
    if (n)
        c->rr = (c->rr + 1) % n;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_consumer_poll(rv_consumer_t *c, int timeout_ms, rv_records_t **out) {
    *out = NULL;
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (c->kc)
        return rv__kconsumer_poll(c->kc, timeout_ms, out);
    int64_t start = rv__mono_ms();
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : start + timeout_ms;
    run_pending_commits(c);
    rv_records_t *rs = rv__records_new(c->max_poll_records < 4096 ? c->max_poll_records : 4096);
    if (!rs)
        return seterr(c, RV_ERR__NOMEM, "out of memory");
    shared_t *sh = c->sh;
    rv_err_t err = RV_ERR_NO_ERROR;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        sh->last_poll_ms = rv__mono_ms();
        bool woken = sh->wakeup;
        sh->wakeup = false;
        pthread_mutex_unlock(&sh->lock);
        if (woken) {
            err = seterr(c, RV_ERR__WAKEUP, "poll was interrupted by wakeup()");
            break;
        }
        if (c->sub_cnt && (err = group_step(c)))
            break;
        if (c->auto_commit && c->group_id && rv__mono_ms() >= c->next_auto_commit && c->part_cnt &&
            (!c->sub_cnt || c->gstate == G_STABLE))
            auto_commit_now(c, NULL);
        if ((err = resolve_positions(c)))
            break;
        if ((err = fill(c, rs)))
            break;
        int64_t now = rv__mono_ms();
        if (rv_records_count(rs) || now >= deadline)
            break;
        /* Nothing yet: sleep until an event, the next check, or the
         * deadline. Without partitions only group events can help. */
        int64_t step = c->part_cnt ? IDLE_CHECK_MS : MAX_WAIT_STEP_MS;
        int64_t until = now + step < deadline ? now + step : deadline;
        pthread_mutex_lock(&sh->lock);
        if (!sh->wakeup && !sh->need_rejoin && !sh->lost && !sh->poll_exceeded &&
            !(sh->op_state == OP_JOIN_DONE || sh->op_state == OP_SYNC_DONE))
            shared_wait_until(sh, until);
        pthread_mutex_unlock(&sh->lock);
    }
    if (err && rv_records_count(rs) == 0) {
        rv_records_destroy(rs);
        return err;
    }
    /* Records already taken are returned; the error comes again next poll
     * when it persists. */
    rv__records_finish(rs);
    *out = rs;
    return RV_ERR_NO_ERROR;
}

void rv_consumer_wakeup(rv_consumer_t *c) {
    if (c && c->kc) {
        rv__kconsumer_wakeup(c->kc);
        return;
    }
    if (!c || !c->sh)
        return;
    pthread_mutex_lock(&c->sh->lock);
    c->sh->wakeup = true;
    pthread_cond_broadcast(&c->sh->cond);
    pthread_mutex_unlock(&c->sh->lock);
}

/* ---- positions ---- */

rv_err_t rv_consumer_seek(rv_consumer_t *c, const char *topic, int32_t partition, int64_t offset) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    part_t *p = NULL;
    bool assigned = topic && (c->kc ? rv__kconsumer_is_assigned(c->kc, topic, partition)
                                    : (p = part_find(c, topic, partition)) != NULL);
    if (!assigned)
        return seterr(c, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                      "No current assignment for partition %s-%d", topic ? topic : "(null)",
                      partition);
    if (offset < 0 && offset != RV_OFFSET_BEGINNING && offset != RV_OFFSET_END &&
        offset != RV_OFFSET_STORED)
        return seterr(c, RV_ERR__INVALID_ARG, "seek offset must not be negative");
    if (c->kc)
        return rv__kconsumer_seek(c->kc, topic, partition, offset);
    part_reset_fetch(p);
    p->position = offset;
    return RV_ERR_NO_ERROR;
}

static rv_err_t seek_all(rv_consumer_t *c, const rv_topic_partition_list_t *l, int64_t where) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (!l && c->kc)
        return rv__kconsumer_seek_assignment(c->kc, where);
    if (!l) {
        for (size_t i = 0; i < c->part_cnt; i++) {
            part_reset_fetch(&c->parts[i]);
            c->parts[i].position = where;
        }
        return RV_ERR_NO_ERROR;
    }
    rv_err_t first = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < l->cnt; i++) {
        rv_err_t err = rv_consumer_seek(c, l->v[i].topic, l->v[i].partition, where);
        if (err && !first)
            first = err;
    }
    return first;
}

rv_err_t rv_consumer_seek_to_beginning(rv_consumer_t *c,
                                       const rv_topic_partition_list_t *partitions) {
    return seek_all(c, partitions, RV_OFFSET_BEGINNING);
}

rv_err_t rv_consumer_seek_to_end(rv_consumer_t *c, const rv_topic_partition_list_t *partitions) {
    return seek_all(c, partitions, RV_OFFSET_END);
}

rv_err_t rv_consumer_position(rv_consumer_t *c, rv_topic_partition_list_t *partitions) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (c->kc)
        return rv__kconsumer_position(c->kc, partitions);
    rv_err_t err = resolve_positions(c);
    if (err)
        return err;
    for (size_t i = 0; i < partitions->cnt; i++) {
        rv_topic_partition_t *tp = &partitions->v[i];
        part_t *p = part_find(c, tp->topic, tp->partition);
        tp->offset = p && p->position >= 0 ? p->position : RV_OFFSET_INVALID;
        tp->err = p ? RV_ERR_NO_ERROR : RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_consumer_committed(rv_consumer_t *c, rv_topic_partition_list_t *partitions,
                               int timeout_ms) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (!c->group_id)
        return seterr(c, RV_ERR__INVALID_ARG, "group.id is not set: no committed offsets");
    if (c->kc)
        return rv__kconsumer_committed(c->kc, partitions, timeout_ms);
    /* The embedded coordinator answers at once: no timeout. */
    return fetch_committed(c, partitions);
}

static rv_err_t set_paused(rv_consumer_t *c, const rv_topic_partition_list_t *l, bool paused) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (c->kc)
        return rv__kconsumer_set_paused(c->kc, l, paused);
    rv_err_t first = RV_ERR_NO_ERROR;
    for (size_t i = 0; l && i < l->cnt; i++) {
        part_t *p = part_find(c, l->v[i].topic, l->v[i].partition);
        l->v[i].err = p ? RV_ERR_NO_ERROR : RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        if (p)
            p->paused = paused;
        else if (!first)
            first = seterr(c, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                           "No current assignment for partition %s-%d", l->v[i].topic,
                           l->v[i].partition);
    }
    return first;
}

rv_err_t rv_consumer_pause(rv_consumer_t *c, const rv_topic_partition_list_t *partitions) {
    return set_paused(c, partitions, true);
}

rv_err_t rv_consumer_resume(rv_consumer_t *c, const rv_topic_partition_list_t *partitions) {
    return set_paused(c, partitions, false);
}

/* ---- commits ---- */

rv_err_t rv_consumer_commit_sync(rv_consumer_t *c, const rv_topic_partition_list_t *offsets,
                                 char *errstr, size_t errstr_size) {
    clear_err(c);
    if (c->closed) {
        rv__errstr_set(errstr, errstr_size, "consumer is closed");
        return RV_ERR__STATE;
    }
    if (c->kc)
        return rv__kconsumer_commit_sync(c->kc, offsets, errstr, errstr_size);
    run_pending_commits(c);
    if (!offsets)
        return commit_positions(c, NULL, errstr, errstr_size);
    rv_topic_partition_list_t *l = (rv_topic_partition_list_t *)offsets;
    return do_commit(c, l, errstr, errstr_size);
}

rv_err_t rv_consumer_commit_async(rv_consumer_t *c, const rv_topic_partition_list_t *offsets,
                                  rv_commit_cb_t *cb, void *opaque) {
    clear_err(c);
    if (c->closed)
        return seterr(c, RV_ERR__STATE, "consumer is closed");
    if (c->kc)
        return rv__kconsumer_commit_async(c->kc, offsets, cb, opaque);
    pending_commit_t *p = calloc(1, sizeof(*p));
    if (!p)
        return RV_ERR__NOMEM;
    p->offsets = offsets ? rv_topic_partition_list_copy(offsets) : parts_to_list(c);
    if (!p->offsets) {
        free(p);
        return RV_ERR__NOMEM;
    }
    char es[256] = "";
    p->err = do_commit(c, p->offsets, es, sizeof es);
    if (p->err)
        seterr(c, p->err, "%s", es);
    p->cb = cb;
    p->opaque = opaque;
    if (c->pend_tail)
        c->pend_tail->next = p;
    else
        c->pend_head = p;
    c->pend_tail = p;
    return RV_ERR_NO_ERROR;
}

/* ---- group information ---- */

const char *rv_consumer_member_id(const rv_consumer_t *c) {
    if (c->kc)
        return rv__kconsumer_member_id(c->kc);
    return c->member_id;
}

int32_t rv_consumer_generation(const rv_consumer_t *c) {
    if (c->kc)
        return rv__kconsumer_generation(c->kc);
    return c->generation;
}

/* ---- closing ---- */

static void stop_heartbeat(rv_consumer_t *c) {
    if (!c->hb_started)
        return;
    pthread_mutex_lock(&c->sh->lock);
    c->sh->hb_stop = true;
    pthread_cond_broadcast(&c->sh->cond);
    pthread_mutex_unlock(&c->sh->lock);
    pthread_join(c->hb_thread, NULL);
    c->hb_started = false;
}

rv_err_t rv_consumer_close(rv_consumer_t *c) {
    if (!c)
        return RV_ERR__INVALID_ARG;
    if (c->closed)
        return RV_ERR_NO_ERROR;
    if (c->kc) {
        /* Listeners called while closing may still use the consumer. */
        rv_err_t kerr = rv__kconsumer_close(c->kc);
        c->closed = true;
        return kerr;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    bool crashed = c->sh && c->sh->hb_frozen;
    if (!crashed && c->auto_commit && c->group_id && c->part_cnt &&
        (!c->sub_cnt || c->gstate == G_STABLE)) {
        char es[256] = "";
        err = commit_positions(c, NULL, es, sizeof es);
        if (err)
            seterr(c, err, "%s", es);
    }
    run_pending_commits(c);
    if (c->sub_cnt && !crashed) {
        rv_topic_partition_list_t *l = c->part_cnt ? parts_to_list(c) : NULL;
        if (l)
            call_listener(c, c->listener.revoked, l);
        rv_topic_partition_list_destroy(l);
        leave_group(c, false);
    }
    stop_heartbeat(c);
    parts_clear(c);
    c->closed = true;
    return err;
}

void rv_consumer_destroy(rv_consumer_t *c) {
    if (!c)
        return;
    if (c->kc) {
        rv__kconsumer_destroy(c->kc);
        rv_strv_free(c->sub, c->sub_cnt);
        free(c->group_id);
        rv_conf_destroy(c->conf);
        free(c);
        return;
    }
    if (c->sh && c->broker && !c->closed)
        rv_consumer_close(c);
    stop_heartbeat(c);
    parts_clear(c);
    free(c->parts);
    while (c->pend_head) {
        pending_commit_t *p = c->pend_head;
        c->pend_head = p->next;
        rv_topic_partition_list_destroy(p->offsets);
        free(p);
    }
    if (c->sh) {
        pthread_mutex_lock(&c->sh->lock);
        c->sh->orphan = true;
        pthread_mutex_unlock(&c->sh->lock);
        shared_unref(c->sh);
    }
    rv_strv_free(c->sub, c->sub_cnt);
    free(c->meta_counts);
    rv_strv_free(c->strategies, c->strategy_cnt);
    free(c->member_id);
    free(c->client_id);
    free(c->group_id);
    rv__chunk_pool_unref(c->fetch_pool);
    rv_broker_close(c->broker);
    rv_conf_destroy(c->conf);
    free(c);
}

/* ---- internals ---- */

int64_t rv__consumer_fetched_lag(rv_consumer_t *c, const char *topic, int32_t partition) {
    if (c->kc)
        return rv__kconsumer_fetched_lag(c->kc, topic, partition);
    part_t *p = part_find(c, topic, partition);
    if (!p || p->position < 0 || p->fetched_hw < 0)
        return -1;
    return p->fetched_hw > p->position ? p->fetched_hw - p->position : 0;
}

rv_err_t rv__consumer_request_shutdown(rv_consumer_t *c) {
    if (c->kc)
        return RV_ERR__NOT_IMPLEMENTED;
    if (!c->group_id || c->sub_cnt == 0)
        return RV_ERR__STATE;
    c->shutdown_ask = true;
    c->rejoin_now = true;
    return RV_ERR_NO_ERROR;
}

bool rv__consumer_shutdown_requested(const rv_consumer_t *c) {
    return !c->kc && c->shutdown_told;
}

void rv__consumer_simulate_crash(rv_consumer_t *c) {
    if (c->kc) {
        rv__kconsumer_simulate_crash(c->kc);
        return;
    }
    pthread_mutex_lock(&c->sh->lock);
    c->sh->hb_frozen = true;
    pthread_mutex_unlock(&c->sh->lock);
}
