/* broker/group_coordinator.c: the consumer-group coordinator
 * (broker/group_coordinator.h): Kafka's classic group protocol (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups,
 * DescribeGroups, DeleteGroups, OffsetDelete) with the semantics of Kafka's
 * GroupCoordinator. Committed offsets and group metadata are persisted by
 * broker/offsets.c; the assignors run in the clients (client/assignor.c).
 *
 * DESIGN
 *
 * State machine per group (Kafka's GroupState):
 *
 *   Empty ──join──▶ PreparingRebalance ──all rejoined / timeout──▶
 *   CompletingRebalance ──leader's SyncGroup──▶ Stable
 *   Stable / CompletingRebalance ──join of a new member, a changed
 *     member, a leave, a session expiry──▶ PreparingRebalance
 *   PreparingRebalance ──nobody left──▶ Empty (generation + 1)
 *   Empty ──DeleteGroups──▶ Dead (removed from the coordinator)
 *
 * - PreparingRebalance holds every JoinGroup (the member's join callback
 *   is stored) until every member has rejoined, or until the join deadline:
 *   the largest rebalance timeout of the members. Members that have not
 *   rejoined by then are removed. The first rebalance of an Empty group
 *   waits group.initial.rebalance.delay.ms instead, extended by the same
 *   delay while new members keep arriving, never past the rebalance
 *   timeout (Kafka's InitialDelayedJoin).
 * - Completing the join bumps the generation, picks the protocol every
 *   member supports with the most first-choice votes, keeps the leader
 *   when it rejoined (else the first member) and answers every held join;
 *   only the leader gets the members' metadata. The group then waits in
 *   CompletingRebalance for the leader's SyncGroup; followers' SyncGroups
 *   are held until it arrives. If it does not come within the rebalance
 *   timeout, members that did not sync are removed and a new rebalance
 *   starts.
 * - Session: each member has a deadline, now + session.timeout.ms, moved by
 *   every heartbeat, join, sync and commit. A member whose join or sync is
 *   held does not expire (Kafka's shouldKeepAlive); any other member past
 *   its deadline is removed as by LeaveGroup. max.poll.interval.ms is the
 *   client's business: a consumer that stops polling leaves the group, and
 *   one that is merely slow to rejoin is removed at the join deadline.
 * - KIP-394 pending members (require_known_member_id) are kept in a list
 *   with a session deadline until they join with their new id; while any
 *   is pending, a rebalance waits for it (as Kafka).
 *
 * Locking: one mutex (gc->lock) guards every group. Callbacks (join and
 * sync results, rebalance notices) are never run under it: functions
 * queue them on a local completion list and run it after unlocking. Writes
 * to __consumer_offsets are also made after unlocking (the store has its
 * own lock and fsyncs), so a slow disk never stalls heartbeats; a commit
 * takes the store's lock before it releases gc->lock, so commits land in
 * the order of their generation checks. Lock order: gc->lock, then the
 * store's lock (never the reverse).
 *
 * Timer thread: sleeps on gc->cond until the earliest deadline of any group
 * (session, join, sync, pending member), handles what expired and loops;
 * every change that sets an earlier deadline signals it. */
#include "broker/group_coordinator.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "broker/offsets.h"
#include "common/clock.h"
#include "common/errstr.h"
#include "common/logger.h"

#define FAC "GROUP"
#define NO_DEADLINE INT64_MAX

typedef enum gstate_e { EMPTY, PREPARING, COMPLETING, STABLE, DEAD } gstate_t;

static const char *state_names[] = {"Empty", "PreparingRebalance", "CompletingRebalance", "Stable",
                                    "Dead"};

typedef struct proto_s {
    char *name;
    uint8_t *meta;
    size_t meta_len;
} proto_t;

typedef struct member_s {
    char *id;
    char *instance_id;
    char *client_id;
    char *client_host;
    int32_t session_timeout;
    int32_t rebalance_timeout;
    proto_t *protos;
    size_t proto_cnt;
    uint8_t *assignment;
    size_t assignment_len;
    rv__group_join_cb *join_cb; /* a held JoinGroup */
    void *join_opaque;
    rv__group_sync_cb *sync_cb; /* a held SyncGroup */
    void *sync_opaque;
    bool synced; /* sent SyncGroup for the current generation */
    int64_t deadline;
    rv__group_rebalance_cb *on_rebalance;
    void *on_rebalance_opaque;
    struct member_s *next; /* join order */
} member_t;

typedef struct pending_s {
    char *id;
    int64_t deadline;
    struct pending_s *next;
} pending_t;

typedef struct group_s {
    char *id;
    gstate_t state;
    char *protocol_type; /* NULL while the group never had members */
    char *protocol;
    char *leader;
    int32_t generation;
    member_t *members;
    size_t member_cnt;
    pending_t *pending;
    int64_t join_deadline;
    bool initial_delay;      /* join_deadline is the initial delay */
    int32_t delay_remaining; /* of the rebalance timeout, for extensions */
    bool new_member_added;   /* during the initial delay */
    int64_t sync_deadline;
    struct group_s *next;
} group_t;

struct rv__group_coordinator_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool thread_started;
    bool stop;
    rv__group_config_t cfg;
    rv__topics_t *topics;
    rv__offsets_t *offsets;
    group_t *groups;
};

/* ---- completions, run after the lock is released ---- */

typedef enum ctype_e { C_JOIN, C_SYNC, C_NOTIFY, C_STORE, C_NOOP } ctype_t;

typedef struct completion_s {
    ctype_t type;
    void *cb;
    void *opaque;
    rv_err_t err;
    /* join */
    int32_t generation;
    char *protocol_type, *protocol_name, *leader_id, *member_id;
    rv__group_member_meta_t *members;
    size_t member_cnt;
    /* sync: bytes; store: the encoded GroupMetadataValue (NULL = tombstone) */
    uint8_t *bytes;
    size_t bytes_len;
    bool tombstone;
    char *group_id;
    struct completion_s *next;
} completion_t;

typedef struct cq_s {
    completion_t *head, **tail;
} cq_t;

static void cq_init(cq_t *q) {
    q->head = NULL;
    q->tail = &q->head;
}

static completion_t *cq_add(cq_t *q, ctype_t type, void *cb, void *opaque) {
    completion_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->type = type;
    c->cb = cb;
    c->opaque = opaque;
    *q->tail = c;
    q->tail = &c->next;
    return c;
}

static void completion_free(completion_t *c) {
    free(c->protocol_type);
    free(c->protocol_name);
    free(c->leader_id);
    free(c->member_id);
    for (size_t i = 0; i < c->member_cnt; i++) {
        free((char *)c->members[i].member_id);
        free((char *)c->members[i].group_instance_id);
        free((void *)c->members[i].metadata);
    }
    free(c->members);
    free(c->bytes);
    free(c->group_id);
    free(c);
}

static void md_free(rv__group_md_t *md) {
    if (!md)
        return;
    for (size_t i = 0; i < md->member_cnt; i++) {
        rv__group_md_member_t *m = (rv__group_md_member_t *)&md->members[i];
        free((char *)m->member_id);
        free((char *)m->client_id);
        free((char *)m->client_host);
        free((void *)m->subscription);
        free((void *)m->assignment);
    }
    free((void *)md->members);
    free((char *)md->protocol_type);
    free((char *)md->protocol);
    free((char *)md->leader);
    free(md);
}

/* Runs and frees the queued completions, in order. gc is NULL when the
 * coordinator is closing (stores are dropped then). */
static void cq_run(rv__group_coordinator_t *gc, cq_t *q) {
    completion_t *c = q->head;
    while (c) {
        completion_t *next = c->next;
        if (c->type == C_JOIN) {
            rv__group_join_result_t r;
            memset(&r, 0, sizeof r);
            r.err = c->err;
            r.generation_id = c->generation;
            r.protocol_type = c->protocol_type ? c->protocol_type : "";
            r.protocol_name = c->protocol_name ? c->protocol_name : "";
            r.leader_id = c->leader_id ? c->leader_id : "";
            r.member_id = c->member_id ? c->member_id : "";
            r.members = c->members;
            r.member_cnt = c->member_cnt;
            ((rv__group_join_cb *)c->cb)(&r, c->opaque);
        } else if (c->type == C_SYNC) {
            ((rv__group_sync_cb *)c->cb)(c->err, c->bytes ? c->bytes : (const uint8_t *)"",
                                         c->bytes_len, c->opaque);
        } else if (c->type == C_NOTIFY) {
            ((rv__group_rebalance_cb *)c->cb)(c->group_id, c->member_id, c->opaque);
        } else if (c->type == C_STORE && gc) {
            char es[256];
            rv_err_t err = rv__offsets_store_group(gc->offsets, c->group_id, c->cb, rv__now_ms(),
                                                   es, sizeof es);
            if (err)
                rv__log_warn(FAC, "Cannot store the metadata of group %s: %s", c->group_id, es);
        }
        if (c->type == C_STORE)
            md_free(c->cb);
        completion_free(c);
        c = next;
    }
    cq_init(q);
}

static void *memdup(const void *p, size_t n) {
    void *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

static char *sdup(const char *s) {
    return s ? strdup(s) : NULL;
}

/* Queues a join result carrying only an error (and maybe a member id).
 * Allocation failure of the queue entry loses the callback: there is no
 * way to report it, so it is logged. */
static void queue_join_error(cq_t *q, rv__group_join_cb *cb, void *opaque, rv_err_t err,
                             const char *member_id) {
    completion_t *c = cq_add(q, C_JOIN, (void *)cb, opaque);
    if (!c) {
        rv__log_err(FAC, "Out of memory: a JoinGroup result is lost");
        return;
    }
    c->err = err;
    c->generation = -1;
    c->member_id = sdup(member_id);
}

static void queue_sync(cq_t *q, rv__group_sync_cb *cb, void *opaque, rv_err_t err,
                       const uint8_t *bytes, size_t len) {
    completion_t *c = cq_add(q, C_SYNC, (void *)cb, opaque);
    if (!c) {
        rv__log_err(FAC, "Out of memory: a SyncGroup result is lost");
        return;
    }
    c->err = err;
    if (!err && len) {
        if (!(c->bytes = memdup(bytes, len)))
            c->err = RV_ERR__NOMEM;
        else
            c->bytes_len = len;
    }
}

/* ---- groups and members ---- */

static void member_free(member_t *m) {
    for (size_t i = 0; i < m->proto_cnt; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    free(m->assignment);
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m);
}

static void group_free(group_t *g) {
    while (g->members) {
        member_t *m = g->members;
        g->members = m->next;
        member_free(m);
    }
    while (g->pending) {
        pending_t *p = g->pending;
        g->pending = p->next;
        free(p->id);
        free(p);
    }
    free(g->id);
    free(g->protocol_type);
    free(g->protocol);
    free(g->leader);
    free(g);
}

static group_t *group_find(rv__group_coordinator_t *gc, const char *id) {
    for (group_t *g = gc->groups; g; g = g->next)
        if (!strcmp(g->id, id))
            return g;
    return NULL;
}

static group_t *group_create(rv__group_coordinator_t *gc, const char *id) {
    group_t *g = calloc(1, sizeof *g);
    if (!g || !(g->id = strdup(id))) {
        free(g);
        return NULL;
    }
    g->state = EMPTY;
    g->join_deadline = g->sync_deadline = NO_DEADLINE;
    g->next = gc->groups;
    gc->groups = g;
    return g;
}

static void group_unlink(rv__group_coordinator_t *gc, group_t *g) {
    for (group_t **pp = &gc->groups; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            return;
        }
    }
}

static member_t *member_find(group_t *g, const char *id) {
    if (!id)
        return NULL;
    for (member_t *m = g->members; m; m = m->next)
        if (!strcmp(m->id, id))
            return m;
    return NULL;
}

static int32_t max_rebalance_timeout(const group_t *g) {
    int32_t t = 0;
    for (const member_t *m = g->members; m; m = m->next)
        if (m->rebalance_timeout > t)
            t = m->rebalance_timeout;
    return t;
}

static bool member_supports(const member_t *m, const char *proto) {
    for (size_t i = 0; i < m->proto_cnt; i++)
        if (!strcmp(m->protos[i].name, proto))
            return true;
    return false;
}

static const proto_t *member_proto(const member_t *m, const char *proto) {
    for (size_t i = 0; proto && i < m->proto_cnt; i++)
        if (!strcmp(m->protos[i].name, proto))
            return &m->protos[i];
    return NULL;
}

/* True when every member (other than `skip`) supports `proto`. */
static bool all_support(const group_t *g, const char *proto, const member_t *skip) {
    for (const member_t *m = g->members; m; m = m->next)
        if (m != skip && !member_supports(m, proto))
            return false;
    return true;
}

/* Kafka's GroupMetadata.selectProtocol: among the protocols all members
 * support, each member votes for its first; most votes wins (ties: the
 * first member's order). NULL when there is no common protocol. */
static const char *select_protocol(const group_t *g) {
    const member_t *first = g->members;
    const char *best = NULL;
    size_t best_votes = 0;
    for (size_t i = 0; first && i < first->proto_cnt; i++) {
        const char *cand = first->protos[i].name;
        if (!all_support(g, cand, NULL))
            continue;
        size_t votes = 0;
        for (const member_t *m = g->members; m; m = m->next) {
            for (size_t j = 0; j < m->proto_cnt; j++) {
                if (all_support(g, m->protos[j].name, NULL)) {
                    votes += !strcmp(m->protos[j].name, cand);
                    break;
                }
            }
        }
        if (!best || votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

/* Replaces a member's protocols with the request's. */
static rv_err_t member_set_protocols(member_t *m, const rv__group_join_req_t *req) {
    proto_t *p = calloc(req->protocol_cnt, sizeof *p);
    if (!p)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < req->protocol_cnt; i++) {
        p[i].name = strdup(req->protocols[i].name ? req->protocols[i].name : "");
        p[i].meta = memdup(req->protocols[i].metadata, req->protocols[i].metadata_len);
        p[i].meta_len = req->protocols[i].metadata_len;
        if (!p[i].name || !p[i].meta) {
            for (size_t j = 0; j <= i; j++) {
                free(p[j].name);
                free(p[j].meta);
            }
            free(p);
            return RV_ERR__NOMEM;
        }
    }
    for (size_t i = 0; i < m->proto_cnt; i++) {
        free(m->protos[i].name);
        free(m->protos[i].meta);
    }
    free(m->protos);
    m->protos = p;
    m->proto_cnt = req->protocol_cnt;
    return RV_ERR_NO_ERROR;
}

/* True when the request's protocols equal the member's (names, order and
 * metadata bytes): a rejoin that changes nothing. */
static bool same_protocols(const member_t *m, const rv__group_join_req_t *req) {
    if (m->proto_cnt != req->protocol_cnt)
        return false;
    for (size_t i = 0; i < m->proto_cnt; i++) {
        const rv__group_protocol_t *p = &req->protocols[i];
        if (strcmp(m->protos[i].name, p->name ? p->name : "") ||
            m->protos[i].meta_len != p->metadata_len ||
            (p->metadata_len && memcmp(m->protos[i].meta, p->metadata, p->metadata_len)))
            return false;
    }
    return true;
}

/* A member id as Kafka makes it: client id, '-', a random UUID. */
static char *new_member_id(const char *client_id) {
    uint8_t u[16];
    size_t got = 0;
    while (got < sizeof u) {
        ssize_t r = getrandom(u + got, sizeof u - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            /* No entropy source: fall back to the clock and a counter;
             * the ids only need to be unique within this broker. */
            static _Atomic uint64_t ctr;
            uint64_t a = (uint64_t)rv__mono_us(), b = ++ctr ^ (uint64_t)rv__now_ms();
            memcpy(u, &a, 8);
            memcpy(u + 8, &b, 8);
            break;
        }
        got += (size_t)r;
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* IETF variant */
    const char *c = client_id ? client_id : "";
    size_t n = strlen(c) + 1 + 36 + 1;
    char *id = malloc(n);
    if (!id)
        return NULL;
    snprintf(id, n, "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", c,
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    return id;
}

/* ---- storing group metadata ---- */

/* Queues a GroupMetadata record for the group's current state (written
 * after the lock is released). */
static void queue_store(cq_t *q, const group_t *g) {
    rv__group_md_t *md = calloc(1, sizeof *md);
    if (!md)
        goto oom;
    md->protocol_type = strdup(g->protocol_type ? g->protocol_type : "");
    md->generation = g->generation;
    md->protocol = sdup(g->protocol);
    md->leader = sdup(g->leader);
    if (!md->protocol_type || (g->protocol && !md->protocol) || (g->leader && !md->leader))
        goto oom;
    if (g->member_cnt) {
        rv__group_md_member_t *ms = calloc(g->member_cnt, sizeof *ms);
        if (!ms)
            goto oom;
        md->members = ms;
        for (const member_t *m = g->members; m; m = m->next) {
            rv__group_md_member_t *x = &ms[md->member_cnt++];
            const proto_t *p = member_proto(m, g->protocol);
            x->member_id = strdup(m->id);
            x->client_id = strdup(m->client_id);
            x->client_host = strdup(m->client_host);
            x->rebalance_timeout_ms = m->rebalance_timeout;
            x->session_timeout_ms = m->session_timeout;
            x->subscription = memdup(p ? p->meta : NULL, p ? p->meta_len : 0);
            x->subscription_len = p ? p->meta_len : 0;
            x->assignment = memdup(m->assignment, m->assignment_len);
            x->assignment_len = m->assignment_len;
            if (!x->member_id || !x->client_id || !x->client_host || !x->subscription ||
                !x->assignment)
                goto oom;
        }
    }
    completion_t *c = cq_add(q, C_STORE, md, NULL);
    if (!c || !(c->group_id = strdup(g->id))) {
        if (c)
            c->type = C_NOOP, c->cb = NULL;
        goto oom;
    }
    return;
oom:
    /* Only the record is lost: the state in memory is right, and the next
     * rebalance writes a new record. */
    md_free(md);
    rv__log_err(FAC, "Out of memory: the metadata record of group %s is not written", g->id);
}

/* ---- the state machine ---- */

static void complete_join(rv__group_coordinator_t *gc, group_t *g, cq_t *q);
static void prepare_rebalance(rv__group_coordinator_t *gc, group_t *g, cq_t *q, const char *reason);

static bool all_members_joined(const group_t *g) {
    if (g->pending)
        return false;
    for (const member_t *m = g->members; m; m = m->next)
        if (!m->join_cb)
            return false;
    return true;
}

/* Completes the join now if everybody has rejoined (not during the
 * initial delay, which always runs to its end as Kafka's). */
static void maybe_complete_join(rv__group_coordinator_t *gc, group_t *g, cq_t *q) {
    if (g->state == PREPARING && !g->initial_delay && all_members_joined(g))
        complete_join(gc, g, q);
}

/* Removes a member; its held join and sync complete with
 * UNKNOWN_MEMBER_ID. The caller decides what the group does next. */
static void remove_member(group_t *g, member_t *m, cq_t *q) {
    for (member_t **pp = &g->members; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    g->member_cnt--;
    if (m->join_cb)
        queue_join_error(q, m->join_cb, m->join_opaque, RV_ERR_UNKNOWN_MEMBER_ID, m->id);
    if (m->sync_cb)
        queue_sync(q, m->sync_cb, m->sync_opaque, RV_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
    if (g->leader && !strcmp(g->leader, m->id)) {
        free(g->leader);
        g->leader = g->members ? strdup(g->members->id) : NULL;
    }
    member_free(m);
}

/* What the group does after a member left or expired. */
static void after_member_removed(rv__group_coordinator_t *gc, group_t *g, cq_t *q,
                                 const char *reason) {
    if (g->state == STABLE || g->state == COMPLETING)
        prepare_rebalance(gc, g, q, reason);
    else if (g->state == PREPARING)
        maybe_complete_join(gc, g, q);
}

static void prepare_rebalance(rv__group_coordinator_t *gc, group_t *g, cq_t *q,
                              const char *reason) {
    int64_t now = rv__mono_ms();
    if (g->state == COMPLETING) {
        /* The assignment being synced is void: waiting followers must
         * rejoin (Kafka's resetAndPropagateAssignmentError). */
        for (member_t *m = g->members; m; m = m->next) {
            if (m->sync_cb) {
                queue_sync(q, m->sync_cb, m->sync_opaque, RV_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
                m->sync_cb = NULL;
            }
            free(m->assignment);
            m->assignment = NULL;
            m->assignment_len = 0;
        }
    }
    g->sync_deadline = NO_DEADLINE;
    int32_t rt = max_rebalance_timeout(g);
    if (g->state == EMPTY) {
        int32_t delay = gc->cfg.initial_rebalance_delay_ms;
        if (delay > rt)
            delay = rt;
        g->initial_delay = delay > 0;
        g->delay_remaining = rt - delay;
        g->new_member_added = false;
        g->join_deadline = now + delay;
    } else {
        g->initial_delay = false;
        g->join_deadline = now + rt;
    }
    rv__log_debug(FAC, "Preparing to rebalance group %s in state %s with old generation %d (%s)",
                  g->id, state_names[g->state], g->generation, reason);
    g->state = PREPARING;
    for (member_t *m = g->members; m; m = m->next) {
        if (m->join_cb || !m->on_rebalance)
            continue;
        completion_t *c = cq_add(q, C_NOTIFY, (void *)m->on_rebalance, m->on_rebalance_opaque);
        if (c) {
            c->group_id = strdup(g->id);
            c->member_id = strdup(m->id);
            if (!c->group_id || !c->member_id)
                c->type = C_NOOP; /* the next heartbeat tells the member too */
        }
    }
    pthread_cond_signal(&gc->cond);
    maybe_complete_join(gc, g, q);
}

static void complete_join(rv__group_coordinator_t *gc, group_t *g, cq_t *q) {
    int64_t now = rv__mono_ms();
    /* Members that did not rejoin in time are out. */
    for (member_t *m = g->members, *next; m; m = next) {
        next = m->next;
        if (!m->join_cb) {
            rv__log_info(FAC, "Member %s of group %s did not rejoin in time; removed", m->id,
                         g->id);
            remove_member(g, m, q);
        }
    }
    g->join_deadline = NO_DEADLINE;
    g->initial_delay = false;
    g->generation++;
    free(g->protocol);
    g->protocol = NULL;
    if (!g->members) {
        g->state = EMPTY;
        free(g->leader);
        g->leader = NULL;
        rv__log_info(FAC, "Group %s with generation %d is now empty", g->id, g->generation);
        queue_store(q, g);
        return;
    }
    const char *proto = select_protocol(g);
    g->protocol = sdup(proto);
    if (!g->leader)
        g->leader = strdup(g->members->id);
    g->state = COMPLETING;
    g->sync_deadline = now + max_rebalance_timeout(g);
    rv__log_info(FAC, "Stabilized group %s generation %d (protocol %s) with %zu member(s)", g->id,
                 g->generation, proto ? proto : "-", g->member_cnt);
    for (member_t *m = g->members; m; m = m->next) {
        bool leader = g->leader && !strcmp(m->id, g->leader);
        completion_t *c = cq_add(q, C_JOIN, (void *)m->join_cb, m->join_opaque);
        m->join_cb = NULL;
        m->synced = false;
        m->deadline = now + m->session_timeout;
        if (!c) {
            rv__log_err(FAC, "Out of memory: a JoinGroup result is lost");
            continue;
        }
        c->generation = g->generation;
        c->protocol_type = sdup(g->protocol_type);
        c->protocol_name = sdup(g->protocol);
        c->leader_id = sdup(g->leader);
        c->member_id = strdup(m->id);
        bool oom = !c->protocol_type || (g->protocol && !c->protocol_name) || !c->leader_id ||
                   !c->member_id;
        if (leader && !oom) {
            c->members = calloc(g->member_cnt, sizeof *c->members);
            oom = !c->members;
            for (const member_t *x = g->members; !oom && x; x = x->next) {
                const proto_t *p = member_proto(x, g->protocol);
                rv__group_member_meta_t *mm = &c->members[c->member_cnt++];
                mm->member_id = strdup(x->id);
                mm->group_instance_id = sdup(x->instance_id);
                mm->metadata = memdup(p ? p->meta : NULL, p ? p->meta_len : 0);
                mm->metadata_len = p ? p->meta_len : 0;
                oom = !mm->member_id || (x->instance_id && !mm->group_instance_id) || !mm->metadata;
            }
        }
        if (oom)
            c->err = RV_ERR__NOMEM;
    }
    pthread_cond_signal(&gc->cond);
}

/* ---- timers ---- */

/* Handles every expired deadline of every group; returns the next one. */
static int64_t run_timers(rv__group_coordinator_t *gc, cq_t *q) {
    int64_t now = rv__mono_ms();
    int64_t next = NO_DEADLINE;
    for (group_t *g = gc->groups; g; g = g->next) {
        for (pending_t **pp = &g->pending; *pp;) {
            pending_t *p = *pp;
            if (p->deadline <= now) {
                *pp = p->next;
                free(p->id);
                free(p);
                maybe_complete_join(gc, g, q);
            } else {
                if (p->deadline < next)
                    next = p->deadline;
                pp = &p->next;
            }
        }
    rescan:
        for (member_t *m = g->members; m; m = m->next) {
            if (m->join_cb || m->sync_cb)
                continue; /* held requests keep a member alive */
            if (m->deadline <= now) {
                rv__log_info(FAC,
                             "Member %s in group %s has failed, removing it from the group "
                             "(session timeout %d ms)",
                             m->id, g->id, m->session_timeout);
                remove_member(g, m, q);
                /* This may complete a join, which removes other members:
                 * start over on the new member list. */
                after_member_removed(gc, g, q, "session timeout");
                goto rescan;
            }
        }
        if (g->state == PREPARING && g->join_deadline <= now) {
            if (g->initial_delay && g->new_member_added && g->delay_remaining > 0) {
                int32_t d = gc->cfg.initial_rebalance_delay_ms;
                if (d > g->delay_remaining)
                    d = g->delay_remaining;
                g->delay_remaining -= d;
                g->new_member_added = false;
                g->join_deadline = now + d;
            } else {
                complete_join(gc, g, q);
            }
        }
        if (g->state == COMPLETING && g->sync_deadline <= now) {
            for (member_t *m = g->members, *mn; m; m = mn) {
                mn = m->next;
                if (!m->synced) {
                    rv__log_info(FAC, "Member %s of group %s did not sync in time; removed", m->id,
                                 g->id);
                    remove_member(g, m, q);
                }
            }
            prepare_rebalance(gc, g, q, "sync timeout");
        }
        /* The next deadline of this group. */
        for (member_t *m = g->members; m; m = m->next)
            if (!m->join_cb && !m->sync_cb && m->deadline < next)
                next = m->deadline;
        if (g->state == PREPARING && g->join_deadline < next)
            next = g->join_deadline;
        if (g->state == COMPLETING && g->sync_deadline < next)
            next = g->sync_deadline;
    }
    return next;
}

static void *timer_main(void *arg) {
    rv__group_coordinator_t *gc = arg;
    pthread_mutex_lock(&gc->lock);
    while (!gc->stop) {
        cq_t q;
        cq_init(&q);
        int64_t next = run_timers(gc, &q);
        if (q.head) {
            pthread_mutex_unlock(&gc->lock);
            cq_run(gc, &q);
            pthread_mutex_lock(&gc->lock);
            continue; /* callbacks may have changed the deadlines */
        }
        if (gc->stop)
            break;
        int64_t wait_ms = next == NO_DEADLINE ? 1000 : next - rv__mono_ms();
        if (wait_ms <= 0)
            continue;
        if (wait_ms > 1000)
            wait_ms = 1000;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&gc->cond, &gc->lock, &ts);
    }
    pthread_mutex_unlock(&gc->lock);
    return NULL;
}

/* ---- lifecycle ---- */

void rv__group_config_default(rv__group_config_t *cfg) {
    cfg->initial_rebalance_delay_ms = 100;
    cfg->min_session_timeout_ms = 10;
    cfg->max_session_timeout_ms = 1800000;
    cfg->max_size = INT32_MAX;
    cfg->offsets_partitions = 50;
    cfg->offsets_segment_bytes = 104857600;
    cfg->offset_metadata_max_bytes = 4096;
}

static void load_group_cb(const char *id, const char *protocol_type, int32_t generation,
                          void *opaque) {
    rv__group_coordinator_t *gc = opaque;
    group_t *g = group_create(gc, id);
    if (!g) {
        rv__log_err(FAC, "Out of memory loading group %s", id);
        return;
    }
    g->generation = generation;
    if (*protocol_type)
        g->protocol_type = strdup(protocol_type);
}

rv_err_t rv__group_coordinator_open(rv__group_coordinator_t **out, rv__topics_t *topics,
                                    const rv__group_config_t *cfg, char *errstr,
                                    size_t errstr_size) {
    rv__group_coordinator_t *gc = calloc(1, sizeof *gc);
    if (!gc) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    if (cfg)
        gc->cfg = *cfg;
    else
        rv__group_config_default(&gc->cfg);
    gc->topics = topics;
    pthread_mutex_init(&gc->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&gc->cond, &ca);
    pthread_condattr_destroy(&ca);
    rv_err_t err = rv__offsets_open(&gc->offsets, topics, gc->cfg.offsets_partitions,
                                    gc->cfg.offsets_segment_bytes, errstr, errstr_size);
    if (err) {
        rv__group_coordinator_close(gc);
        return err;
    }
    rv__offsets_foreach_group(gc->offsets, load_group_cb, gc);
    if (pthread_create(&gc->thread, NULL, timer_main, gc)) {
        rv__group_coordinator_close(gc);
        rv__errstr_set(errstr, errstr_size, "Cannot start the group coordinator's timer thread");
        return RV_ERR__FAIL;
    }
    gc->thread_started = true;
    *out = gc;
    return RV_ERR_NO_ERROR;
}

void rv__group_coordinator_close(rv__group_coordinator_t *gc) {
    if (!gc)
        return;
    if (gc->thread_started) {
        pthread_mutex_lock(&gc->lock);
        gc->stop = true;
        pthread_cond_broadcast(&gc->cond);
        pthread_mutex_unlock(&gc->lock);
        pthread_join(gc->thread, NULL);
    }
    cq_t q;
    cq_init(&q);
    while (gc->groups) {
        group_t *g = gc->groups;
        gc->groups = g->next;
        for (member_t *m = g->members; m; m = m->next) {
            if (m->join_cb)
                queue_join_error(&q, m->join_cb, m->join_opaque, RV_ERR_COORDINATOR_NOT_AVAILABLE,
                                 m->id);
            if (m->sync_cb)
                queue_sync(&q, m->sync_cb, m->sync_opaque, RV_ERR_COORDINATOR_NOT_AVAILABLE, NULL,
                           0);
        }
        group_free(g);
    }
    cq_run(NULL, &q);
    rv__offsets_close(gc->offsets);
    pthread_cond_destroy(&gc->cond);
    pthread_mutex_destroy(&gc->lock);
    free(gc);
}

void rv__group_coordinator_set_config(rv__group_coordinator_t *gc, const rv__group_config_t *cfg) {
    pthread_mutex_lock(&gc->lock);
    gc->cfg = *cfg;
    pthread_mutex_unlock(&gc->lock);
    rv__offsets_set_topic_config(gc->offsets, cfg->offsets_partitions, cfg->offsets_segment_bytes);
}

/* ---- JoinGroup ---- */

/* Answers a join at once with the group's current generation (a rejoin
 * that changes nothing while the group is Stable or CompletingRebalance,
 * as Kafka does for a member that missed its response). */
static void answer_current(group_t *g, member_t *m, rv__group_join_cb *cb, void *opaque, cq_t *q) {
    bool leader = g->leader && !strcmp(g->leader, m->id);
    completion_t *c = cq_add(q, C_JOIN, (void *)cb, opaque);
    if (!c) {
        rv__log_err(FAC, "Out of memory: a JoinGroup result is lost");
        return;
    }
    c->generation = g->generation;
    c->protocol_type = sdup(g->protocol_type);
    c->protocol_name = sdup(g->protocol);
    c->leader_id = sdup(g->leader);
    c->member_id = strdup(m->id);
    bool oom = !c->member_id;
    if (leader && !oom) {
        c->members = calloc(g->member_cnt, sizeof *c->members);
        oom = !c->members;
        for (const member_t *x = g->members; !oom && x; x = x->next) {
            const proto_t *p = member_proto(x, g->protocol);
            rv__group_member_meta_t *mm = &c->members[c->member_cnt++];
            mm->member_id = strdup(x->id);
            mm->group_instance_id = sdup(x->instance_id);
            mm->metadata = memdup(p ? p->meta : NULL, p ? p->meta_len : 0);
            mm->metadata_len = p ? p->meta_len : 0;
            oom = !mm->member_id || !mm->metadata;
        }
    }
    if (oom)
        c->err = RV_ERR__NOMEM;
}

static rv_err_t add_member(rv__group_coordinator_t *gc, group_t *g, const rv__group_join_req_t *req,
                           char *id, rv__group_join_cb *cb, void *opaque, cq_t *q) {
    member_t *m = calloc(1, sizeof *m);
    if (!m) {
        free(id);
        return RV_ERR__NOMEM;
    }
    m->id = id;
    m->instance_id = sdup(req->group_instance_id);
    m->client_id = strdup(req->client_id ? req->client_id : "");
    m->client_host = strdup(req->client_host ? req->client_host : "");
    if (!m->client_id || !m->client_host || (req->group_instance_id && !m->instance_id) ||
        member_set_protocols(m, req)) {
        member_free(m);
        return RV_ERR__NOMEM;
    }
    if (!g->protocol_type && !(g->protocol_type = strdup(req->protocol_type))) {
        member_free(m);
        return RV_ERR__NOMEM;
    }
    m->session_timeout = req->session_timeout_ms;
    m->rebalance_timeout =
        req->rebalance_timeout_ms < 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
    m->on_rebalance = req->on_rebalance;
    m->on_rebalance_opaque = req->on_rebalance_opaque;
    m->join_cb = cb;
    m->join_opaque = opaque;
    m->deadline = rv__mono_ms() + m->session_timeout;
    member_t **pp = &g->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    g->member_cnt++;
    if (!g->leader)
        g->leader = strdup(m->id);
    if (g->state == PREPARING) {
        if (g->initial_delay)
            g->new_member_added = true;
        maybe_complete_join(gc, g, q);
    } else {
        prepare_rebalance(gc, g, q, "new member joined");
    }
    return RV_ERR_NO_ERROR;
}

void rv__group_join(rv__group_coordinator_t *gc, const rv__group_join_req_t *req,
                    rv__group_join_cb *cb, void *opaque) {
    cq_t q;
    cq_init(&q);
    rv_err_t err = RV_ERR_NO_ERROR;
    const char *mid = req->member_id && *req->member_id ? req->member_id : NULL;
    pthread_mutex_lock(&gc->lock);
    group_t *g = NULL;
    if (!req->group_id || !*req->group_id) {
        err = RV_ERR_INVALID_GROUP_ID;
    } else if (req->session_timeout_ms < gc->cfg.min_session_timeout_ms ||
               req->session_timeout_ms > gc->cfg.max_session_timeout_ms) {
        err = RV_ERR_INVALID_SESSION_TIMEOUT;
    } else if (!req->protocol_type || !*req->protocol_type || !req->protocol_cnt) {
        err = RV_ERR_INCONSISTENT_GROUP_PROTOCOL;
    } else if (!(g = group_find(gc, req->group_id))) {
        if (mid)
            err = RV_ERR_UNKNOWN_MEMBER_ID;
        else if (!(g = group_create(gc, req->group_id)))
            err = RV_ERR__NOMEM;
    }
    member_t *m = NULL;
    if (!err) {
        m = member_find(g, mid);
        /* The new member's protocols must fit the group's members. */
        if (g->members && (!g->protocol_type || strcmp(g->protocol_type, req->protocol_type))) {
            err = RV_ERR_INCONSISTENT_GROUP_PROTOCOL;
        } else if (g->members) {
            bool any = false;
            for (size_t i = 0; !any && i < req->protocol_cnt; i++)
                any = req->protocols[i].name && all_support(g, req->protocols[i].name, m);
            if (!any)
                err = RV_ERR_INCONSISTENT_GROUP_PROTOCOL;
        }
    }
    /* An Empty group takes the protocol type of its first member (a group
     * known only by its offsets has none yet). */
    if (!err && !g->members && g->protocol_type && strcmp(g->protocol_type, req->protocol_type)) {
        free(g->protocol_type);
        if (!(g->protocol_type = strdup(req->protocol_type)))
            err = RV_ERR__NOMEM;
    }
    if (err) {
        queue_join_error(&q, cb, opaque, err, mid);
        goto out;
    }

    if (!mid) {
        /* A new member. */
        if (g->member_cnt >= (size_t)gc->cfg.max_size) {
            queue_join_error(&q, cb, opaque, RV_ERR_GROUP_MAX_SIZE_REACHED, NULL);
            goto out;
        }
        char *id = new_member_id(req->client_id);
        if (!id) {
            queue_join_error(&q, cb, opaque, RV_ERR__NOMEM, NULL);
            goto out;
        }
        if (req->require_known_member_id) {
            pending_t *p = calloc(1, sizeof *p);
            if (!p) {
                free(id);
                queue_join_error(&q, cb, opaque, RV_ERR__NOMEM, NULL);
                goto out;
            }
            p->id = id;
            p->deadline = rv__mono_ms() + req->session_timeout_ms;
            p->next = g->pending;
            g->pending = p;
            queue_join_error(&q, cb, opaque, RV_ERR_MEMBER_ID_REQUIRED, id);
            pthread_cond_signal(&gc->cond);
            goto out;
        }
        if ((err = add_member(gc, g, req, id, cb, opaque, &q)))
            queue_join_error(&q, cb, opaque, err, NULL);
        goto out;
    }

    if (!m) {
        /* A KIP-394 pending member coming back with its id. */
        for (pending_t **pp = &g->pending; *pp; pp = &(*pp)->next) {
            pending_t *p = *pp;
            if (!strcmp(p->id, mid)) {
                *pp = p->next;
                char *id = p->id;
                free(p);
                if ((err = add_member(gc, g, req, id, cb, opaque, &q)))
                    queue_join_error(&q, cb, opaque, err, mid);
                goto out;
            }
        }
        queue_join_error(&q, cb, opaque, RV_ERR_UNKNOWN_MEMBER_ID, mid);
        goto out;
    }

    /* A known member rejoining. */
    m->deadline = rv__mono_ms() + req->session_timeout_ms;
    bool same = same_protocols(m, req);
    if ((g->state == STABLE || g->state == COMPLETING) && same &&
        !(g->state == STABLE && g->leader && !strcmp(g->leader, m->id))) {
        answer_current(g, m, cb, opaque, &q);
        goto out;
    }
    if (!same && member_set_protocols(m, req)) {
        queue_join_error(&q, cb, opaque, RV_ERR__NOMEM, mid);
        goto out;
    }
    m->session_timeout = req->session_timeout_ms;
    m->rebalance_timeout =
        req->rebalance_timeout_ms < 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
    m->on_rebalance = req->on_rebalance;
    m->on_rebalance_opaque = req->on_rebalance_opaque;
    if (m->join_cb) /* a second join replaces the held one */
        queue_join_error(&q, m->join_cb, m->join_opaque, RV_ERR_REBALANCE_IN_PROGRESS, m->id);
    m->join_cb = cb;
    m->join_opaque = opaque;
    if (g->state == PREPARING)
        maybe_complete_join(gc, g, &q);
    else
        prepare_rebalance(gc, g, &q, "member rejoined");
out:
    pthread_mutex_unlock(&gc->lock);
    cq_run(gc, &q);
}

/* ---- SyncGroup ---- */

void rv__group_sync(rv__group_coordinator_t *gc, const char *group_id, int32_t generation_id,
                    const char *member_id, const char *group_instance_id,
                    const rv__group_assignment_t *assignments, size_t assignment_cnt,
                    rv__group_sync_cb *cb, void *opaque) {
    (void)group_instance_id;
    cq_t q;
    cq_init(&q);
    pthread_mutex_lock(&gc->lock);
    group_t *g = group_id && *group_id ? group_find(gc, group_id) : NULL;
    member_t *m = g ? member_find(g, member_id) : NULL;
    if (!group_id || !*group_id) {
        queue_sync(&q, cb, opaque, RV_ERR_INVALID_GROUP_ID, NULL, 0);
    } else if (!m) {
        queue_sync(&q, cb, opaque, RV_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
    } else if (generation_id != g->generation) {
        queue_sync(&q, cb, opaque, RV_ERR_ILLEGAL_GENERATION, NULL, 0);
    } else if (g->state == PREPARING) {
        queue_sync(&q, cb, opaque, RV_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
    } else if (g->state == STABLE) {
        m->deadline = rv__mono_ms() + m->session_timeout;
        queue_sync(&q, cb, opaque, RV_ERR_NO_ERROR, m->assignment, m->assignment_len);
    } else if (g->state == COMPLETING) {
        m->deadline = rv__mono_ms() + m->session_timeout;
        m->synced = true;
        if (m->sync_cb)
            queue_sync(&q, m->sync_cb, m->sync_opaque, RV_ERR_REBALANCE_IN_PROGRESS, NULL, 0);
        m->sync_cb = cb;
        m->sync_opaque = opaque;
        if (g->leader && !strcmp(g->leader, m->id)) {
            /* The leader's assignment: hand every member its bytes. */
            bool oom = false;
            for (member_t *x = g->members; x; x = x->next) {
                free(x->assignment);
                x->assignment = NULL;
                x->assignment_len = 0;
                for (size_t i = 0; i < assignment_cnt; i++) {
                    if (assignments[i].member_id && !strcmp(assignments[i].member_id, x->id) &&
                        assignments[i].assignment_len) {
                        x->assignment =
                            memdup(assignments[i].assignment, assignments[i].assignment_len);
                        x->assignment_len = assignments[i].assignment_len;
                        oom |= !x->assignment;
                        break;
                    }
                }
            }
            if (oom) {
                /* Without every assignment the generation cannot go on. */
                prepare_rebalance(gc, g, &q, "out of memory storing the assignment");
            } else {
                g->state = STABLE;
                g->sync_deadline = NO_DEADLINE;
                for (member_t *x = g->members; x; x = x->next) {
                    if (x->sync_cb) {
                        queue_sync(&q, x->sync_cb, x->sync_opaque, RV_ERR_NO_ERROR, x->assignment,
                                   x->assignment_len);
                        x->sync_cb = NULL;
                    }
                    x->deadline = rv__mono_ms() + x->session_timeout;
                }
                queue_store(&q, g);
                pthread_cond_signal(&gc->cond);
            }
        }
    } else {
        queue_sync(&q, cb, opaque, RV_ERR_UNKNOWN_MEMBER_ID, NULL, 0);
    }
    pthread_mutex_unlock(&gc->lock);
    cq_run(gc, &q);
}

/* ---- Heartbeat, LeaveGroup ---- */

rv_err_t rv__group_heartbeat(rv__group_coordinator_t *gc, const char *group_id,
                             int32_t generation_id, const char *member_id,
                             const char *group_instance_id) {
    (void)group_instance_id;
    if (!group_id || !*group_id)
        return RV_ERR_INVALID_GROUP_ID;
    rv_err_t err;
    pthread_mutex_lock(&gc->lock);
    group_t *g = group_find(gc, group_id);
    member_t *m = g ? member_find(g, member_id) : NULL;
    if (!m || g->state == EMPTY || g->state == DEAD)
        err = RV_ERR_UNKNOWN_MEMBER_ID;
    else if (generation_id != g->generation)
        err = RV_ERR_ILLEGAL_GENERATION;
    else
        err = g->state == PREPARING ? RV_ERR_REBALANCE_IN_PROGRESS : RV_ERR_NO_ERROR;
    if (m && err != RV_ERR_UNKNOWN_MEMBER_ID && err != RV_ERR_ILLEGAL_GENERATION)
        m->deadline = rv__mono_ms() + m->session_timeout;
    pthread_mutex_unlock(&gc->lock);
    return err;
}

rv_err_t rv__group_leave(rv__group_coordinator_t *gc, const char *group_id, const char *member_id) {
    if (!group_id || !*group_id)
        return RV_ERR_INVALID_GROUP_ID;
    cq_t q;
    cq_init(&q);
    rv_err_t err = RV_ERR_NO_ERROR;
    pthread_mutex_lock(&gc->lock);
    group_t *g = group_find(gc, group_id);
    member_t *m = g ? member_find(g, member_id) : NULL;
    if (!m) {
        err = RV_ERR_UNKNOWN_MEMBER_ID;
        /* A KIP-394 pending member may leave before it joins. */
        for (pending_t **pp = g ? &g->pending : NULL; pp && *pp; pp = &(*pp)->next) {
            if (member_id && !strcmp((*pp)->id, member_id)) {
                pending_t *p = *pp;
                *pp = p->next;
                free(p->id);
                free(p);
                err = RV_ERR_NO_ERROR;
                maybe_complete_join(gc, g, &q);
                break;
            }
        }
    } else {
        rv__log_info(FAC, "Member %s has left group %s", m->id, g->id);
        remove_member(g, m, &q);
        after_member_removed(gc, g, &q, "member left");
    }
    pthread_mutex_unlock(&gc->lock);
    cq_run(gc, &q);
    return err;
}

/* ---- offsets ---- */

rv_err_t rv__group_coordinator_create_offsets_topic(rv__group_coordinator_t *gc, char *errstr,
                                                    size_t errstr_size) {
    return rv__offsets_create_topic(gc->offsets, errstr, errstr_size);
}

rv_err_t rv__group_commit_offsets(rv__group_coordinator_t *gc, const char *group_id,
                                  int32_t generation_id, const char *member_id,
                                  const char *group_instance_id, rv__group_offset_t *offsets,
                                  size_t offset_cnt, char *errstr, size_t errstr_size) {
    (void)group_instance_id;
    rv_err_t err = RV_ERR_NO_ERROR;
    const char *mid = member_id && *member_id ? member_id : NULL;
    pthread_mutex_lock(&gc->lock);
    int32_t max_md = gc->cfg.offset_metadata_max_bytes;
    group_t *g = NULL;
    if (!group_id || !*group_id) {
        err = RV_ERR_INVALID_GROUP_ID;
    } else if (!(g = group_find(gc, group_id))) {
        if (generation_id < 0 && !mid) {
            if (!(g = group_create(gc, group_id)))
                err = RV_ERR__NOMEM;
        } else {
            /* Kafka: a commit with a generation to a group it does not
             * know fails; the member has to join first. */
            err = generation_id < 0 ? RV_ERR_UNKNOWN_MEMBER_ID : RV_ERR_ILLEGAL_GENERATION;
        }
    } else if (generation_id < 0 && !mid && g->state == EMPTY) {
        /* a simple commit to an empty group */
    } else {
        member_t *m = member_find(g, mid);
        if (!m)
            err = RV_ERR_UNKNOWN_MEMBER_ID;
        else if (generation_id != g->generation)
            err = RV_ERR_ILLEGAL_GENERATION;
        else if (g->state == COMPLETING)
            err = RV_ERR_REBALANCE_IN_PROGRESS;
        else
            m->deadline = rv__mono_ms() + m->session_timeout;
    }
    /* The store's lock is taken before the group's is released (lock
     * order gc->lock, then the store's): a commit that passed the checks
     * is written before any commit of a later generation, so a member
     * removed meanwhile cannot overwrite its successor's offsets (Kafka
     * appends the commit under the group lock). The write and its fsync
     * happen without gc->lock, so heartbeats do not wait for the disk. */
    if (!err)
        rv__offsets_lock(gc->offsets);
    pthread_mutex_unlock(&gc->lock);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "Commit of group %s failed: %s",
                       group_id ? group_id : "", rv_err_str(err));
        for (size_t i = 0; i < offset_cnt; i++)
            offsets[i].err = err;
        return err;
    }
    for (size_t i = 0; i < offset_cnt; i++) {
        offsets[i].err = RV_ERR_NO_ERROR;
        if (!offsets[i].topic || !*offsets[i].topic)
            offsets[i].err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        else if (offsets[i].metadata && strlen(offsets[i].metadata) > (size_t)max_md)
            offsets[i].err = RV_ERR_OFFSET_METADATA_TOO_LARGE;
    }
    err = rv__offsets_commit_locked(gc->offsets, group_id, offsets, offset_cnt, rv__now_ms(),
                                    errstr, errstr_size);
    rv__offsets_unlock(gc->offsets);
    if (err) {
        rv__log_warn(FAC, "Commit of group %s failed: %s", group_id, errstr ? errstr : "");
        /* Kafka (GroupMetadataManager.storeOffsets) maps a commit too
         * large for the offsets topic to INVALID_COMMIT_OFFSET_SIZE, which
         * a retry cannot fix, and other storage failures to
         * COORDINATOR_NOT_AVAILABLE so the client retries. */
        if (err == RV_ERR_MESSAGE_TOO_LARGE || err == RV_ERR_RECORD_LIST_TOO_LARGE)
            err = RV_ERR_INVALID_COMMIT_OFFSET_SIZE;
        else if (err != RV_ERR__NOMEM)
            err = RV_ERR_COORDINATOR_NOT_AVAILABLE;
        for (size_t i = 0; i < offset_cnt; i++)
            if (!offsets[i].err)
                offsets[i].err = err;
    }
    return err;
}

rv_err_t rv__group_fetch_offsets(rv__group_coordinator_t *gc, const char *group_id,
                                 const rv__group_tp_t *tps, size_t tp_cnt,
                                 rv__group_committed_t **out, size_t *out_cnt) {
    *out = NULL;
    *out_cnt = 0;
    if (!group_id || !*group_id)
        return RV_ERR_INVALID_GROUP_ID;
    return rv__offsets_fetch(gc->offsets, group_id, tps, tp_cnt, out, out_cnt);
}

void rv__group_committed_free(rv__group_committed_t *arr, size_t cnt) {
    for (size_t i = 0; arr && i < cnt; i++) {
        free(arr[i].topic);
        free(arr[i].metadata);
    }
    free(arr);
}

/* ---- ListGroups, DescribeGroups, DeleteGroups ---- */

static int listing_cmp(const void *a, const void *b) {
    return strcmp(((const rv__group_listing_t *)a)->group_id,
                  ((const rv__group_listing_t *)b)->group_id);
}

rv_err_t rv__group_list(rv__group_coordinator_t *gc, rv__group_listing_t **out, size_t *cnt) {
    *out = NULL;
    *cnt = 0;
    pthread_mutex_lock(&gc->lock);
    size_t n = 0;
    for (group_t *g = gc->groups; g; g = g->next)
        n++;
    rv__group_listing_t *arr = calloc(n ? n : 1, sizeof *arr);
    size_t i = 0;
    bool oom = !arr;
    for (group_t *g = gc->groups; !oom && g; g = g->next, i++) {
        arr[i].group_id = strdup(g->id);
        arr[i].protocol_type = strdup(g->protocol_type ? g->protocol_type : "");
        arr[i].state = strdup(state_names[g->state]);
        oom = !arr[i].group_id || !arr[i].protocol_type || !arr[i].state;
    }
    pthread_mutex_unlock(&gc->lock);
    if (oom) {
        rv__group_listings_free(arr, n);
        return RV_ERR__NOMEM;
    }
    qsort(arr, n, sizeof *arr, listing_cmp);
    *out = arr;
    *cnt = n;
    return RV_ERR_NO_ERROR;
}

void rv__group_listings_free(rv__group_listing_t *arr, size_t cnt) {
    for (size_t i = 0; arr && i < cnt; i++) {
        free(arr[i].group_id);
        free(arr[i].protocol_type);
        free(arr[i].state);
    }
    free(arr);
}

rv_err_t rv__group_describe(rv__group_coordinator_t *gc, const char *group_id,
                            rv__group_description_t *out) {
    memset(out, 0, sizeof *out);
    if (!group_id || !*group_id)
        return RV_ERR_INVALID_GROUP_ID;
    pthread_mutex_lock(&gc->lock);
    group_t *g = group_find(gc, group_id);
    if (!g) {
        pthread_mutex_unlock(&gc->lock);
        return RV_ERR_GROUP_ID_NOT_FOUND;
    }
    bool stable = g->state == STABLE;
    out->group_id = strdup(g->id);
    out->state = strdup(state_names[g->state]);
    out->protocol_type = strdup(g->protocol_type ? g->protocol_type : "");
    out->protocol = strdup(stable && g->protocol ? g->protocol : "");
    out->generation_id = g->generation;
    out->leader_id = strdup(g->leader ? g->leader : "");
    bool oom =
        !out->group_id || !out->state || !out->protocol_type || !out->protocol || !out->leader_id;
    if (!oom && g->member_cnt) {
        out->members = calloc(g->member_cnt, sizeof *out->members);
        oom = !out->members;
    }
    for (member_t *m = g->members; !oom && m; m = m->next) {
        rv__group_member_desc_t *d = &out->members[out->member_cnt++];
        const proto_t *p = stable ? member_proto(m, g->protocol) : NULL;
        d->member_id = strdup(m->id);
        d->group_instance_id = sdup(m->instance_id);
        d->client_id = strdup(m->client_id);
        d->client_host = strdup(m->client_host);
        d->metadata_len = p ? p->meta_len : 0;
        d->metadata = memdup(p ? p->meta : NULL, d->metadata_len);
        d->assignment_len = stable ? m->assignment_len : 0;
        d->assignment = memdup(m->assignment, d->assignment_len);
        oom = !d->member_id || (m->instance_id && !d->group_instance_id) || !d->client_id ||
              !d->client_host || !d->metadata || !d->assignment;
    }
    pthread_mutex_unlock(&gc->lock);
    if (oom) {
        rv__group_description_clear(out);
        return RV_ERR__NOMEM;
    }
    return RV_ERR_NO_ERROR;
}

void rv__group_description_clear(rv__group_description_t *d) {
    if (!d)
        return;
    for (size_t i = 0; i < d->member_cnt; i++) {
        rv__group_member_desc_t *m = &d->members[i];
        free(m->member_id);
        free(m->group_instance_id);
        free(m->client_id);
        free(m->client_host);
        free(m->metadata);
        free(m->assignment);
    }
    free(d->members);
    free(d->group_id);
    free(d->state);
    free(d->protocol_type);
    free(d->protocol);
    free(d->leader_id);
    memset(d, 0, sizeof *d);
}

rv_err_t rv__group_delete(rv__group_coordinator_t *gc, const char *group_id, char *errstr,
                          size_t errstr_size) {
    if (!group_id || !*group_id) {
        rv__errstr_set(errstr, errstr_size, "The group id is empty");
        return RV_ERR_INVALID_GROUP_ID;
    }
    pthread_mutex_lock(&gc->lock);
    group_t *g = group_find(gc, group_id);
    if (!g) {
        pthread_mutex_unlock(&gc->lock);
        rv__errstr_set(errstr, errstr_size, "Group %s does not exist", group_id);
        return RV_ERR_GROUP_ID_NOT_FOUND;
    }
    if (g->state != EMPTY || g->members || g->pending) {
        pthread_mutex_unlock(&gc->lock);
        rv__errstr_set(errstr, errstr_size, "Group %s is not empty", group_id);
        return RV_ERR_NON_EMPTY_GROUP;
    }
    /* Dead from here on. The tombstones are written under gc->lock (lock
     * order gc->lock, then the store's): a commit that passed its checks
     * before the delete then writes after the tombstones and survives,
     * as if it came after the delete; one that comes later finds no group
     * and starts a new one. Either way no acknowledged commit is erased. */
    g->state = DEAD;
    group_unlink(gc, g);
    rv_err_t err =
        rv__offsets_delete_group(gc->offsets, group_id, rv__now_ms(), errstr, errstr_size);
    pthread_mutex_unlock(&gc->lock);
    group_free(g);
    if (!err)
        rv__log_info(FAC, "Deleted group %s", group_id);
    return err;
}

/* ---- OffsetDelete ---- */

/* Whether a ConsumerProtocolSubscription (the protocol metadata of a
 * "consumer" group member) lists `topic`: 1 yes, 0 no, -1 when the bytes
 * do not parse. Every version (0-3) starts with an int16 version and the
 * topics as an array of strings; nothing after them matters here. This is
 * a second, smaller decoder beside the clients' (client/assignor.h)
 * because broker/ does not include client/. */
static int subscription_has_topic(const void *meta, size_t len, const char *topic) {
    rv__slice_t s;
    uint16_t version;
    uint32_t n;
    rv__slice_init(&s, meta, len);
    if (rv__slice_be16(&s, &version) || (int16_t)version < 0 || rv__slice_be32(&s, &n) ||
        (int32_t)n < 0)
        return -1;
    size_t tlen = strlen(topic);
    int found = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t l;
        const uint8_t *p;
        if (rv__slice_be16(&s, &l) || (int16_t)l < 0 || rv__slice_bytes(&s, l, &p))
            return -1;
        if (l == tlen && !memcmp(p, topic, tlen))
            found = 1;
    }
    return found;
}

/* Kafka's GroupMetadata.isSubscribedToTopic: when the subscriptions are
 * not known (no generation yet, a member without the chosen protocol,
 * metadata that does not parse) the answer is yes, to be safe. Called
 * with gc->lock held. */
static bool group_subscribes(const group_t *g, const char *topic) {
    if (!g->protocol)
        return true;
    for (const member_t *m = g->members; m; m = m->next) {
        const proto_t *p = member_proto(m, g->protocol);
        if (!p || subscription_has_topic(p->meta, p->meta_len, topic))
            return true;
    }
    return false;
}

rv_err_t rv__group_delete_offsets(rv__group_coordinator_t *gc, const char *group_id,
                                  rv__group_offset_t *offsets, size_t offset_cnt, char *errstr,
                                  size_t errstr_size) {
    if (!group_id || !*group_id) {
        rv__errstr_set(errstr, errstr_size, "The group id is empty");
        return RV_ERR_INVALID_GROUP_ID;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    pthread_mutex_lock(&gc->lock);
    group_t *g = group_find(gc, group_id);
    if (!g || g->state == DEAD) {
        rv__errstr_set(errstr, errstr_size, "Group %s does not exist", group_id);
        err = RV_ERR_GROUP_ID_NOT_FOUND;
    } else if (g->state != EMPTY &&
               (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0)) {
        /* Members of another protocol: their subscriptions are unknown. */
        rv__errstr_set(errstr, errstr_size, "Group %s is not empty", group_id);
        err = RV_ERR_NON_EMPTY_GROUP;
    }
    for (size_t i = 0; !err && i < offset_cnt; i++) {
        if (offsets[i].err)
            continue;
        if (!offsets[i].topic || !*offsets[i].topic)
            offsets[i].err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        else if (g->state != EMPTY && group_subscribes(g, offsets[i].topic))
            offsets[i].err = RV_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
    }
    /* The tombstones are written under gc->lock (lock order gc->lock, then
     * the store's), as DeleteGroups does, so no member can subscribe to a
     * topic between the check and the write. */
    if (!err) {
        err = rv__offsets_delete_offsets(gc->offsets, group_id, offsets, offset_cnt, rv__now_ms(),
                                         errstr, errstr_size);
        if (err) {
            rv__log_warn(FAC, "Offset delete of group %s failed: %s", group_id,
                         errstr ? errstr : "");
            /* As for commits: a storage failure is retriable. */
            if (err != RV_ERR__NOMEM)
                err = RV_ERR_COORDINATOR_NOT_AVAILABLE;
        }
    }
    pthread_mutex_unlock(&gc->lock);
    if (err)
        for (size_t i = 0; i < offset_cnt; i++)
            if (!offsets[i].err)
                offsets[i].err = err;
    return err;
}
