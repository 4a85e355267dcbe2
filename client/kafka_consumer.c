/* client/kafka_consumer.c: the kafka backend of the consumer
 * (client/kafka_consumer.h), used when bootstrap.servers is a host:port
 * list. It drives librdkafka's high-level consumer (group membership,
 * fetching, commits) and keeps the promises of rivulet/consumer.h on top of
 * it; client/consumer.c forwards every public call here.
 *
 * DESIGN
 *
 * Threads. Everything runs on the application thread: librdkafka calls the
 * rebalance callback from inside rd_kafka_consumer_poll() (and from
 * rd_kafka_consumer_close()), so the listener runs inside rv_consumer_poll()
 * and close as the header promises. Commit results come back on a queue of
 * our own that only poll, commit_sync and close serve. The one exception is
 * wakeup(): an atomic flag plus rd_kafka_queue_yield() on the consumer
 * queue, which makes a blocked rd_kafka_consumer_poll() return at once.
 *
 * Positions. librdkafka's own notion of the consumed position (the offset
 * store) follows messages handed out and ignores seeks, so this backend
 * keeps Java's: a table of the assigned partitions with, for each, the
 * next offset poll returns (last returned + 1, or where a seek put it), or
 * a logical offset (STORED, BEGINNING, END) not resolved yet. Commits of
 * "the positions" (commit_sync(NULL), auto commit, close) commit this
 * table; librdkafka's enable.auto.commit and offset store are off, and
 * auto commit is done here every auto.commit.interval.ms from poll, before
 * the revoked listener and on close, as Java's consumer does.
 *
 * Seeks. librdkafka refuses a seek until the partition's fetcher has
 * started (after assign it first looks up the committed offset), so a
 * seek marks the partition "seek pending" and is retried by every poll
 * until librdkafka takes it; messages of a partition with a pending seek
 * are dropped. Once librdkafka took it, its version barrier keeps messages
 * fetched before it away. Only absolute offsets are given to librdkafka:
 * seek_to_beginning / seek_to_end (and positions still logical at a poll,
 * such as "latest" for a new assignment) are resolved with a ListOffsets
 * lookup at the next poll or position(), as Java resolves them lazily, and
 * the partition returns nothing until then. An offset lookup librdkafka
 * started on its own before the seek may still move its fetcher
 * afterwards, so the first message after a seek must be at the position,
 * else the seek is repeated (a few times at most: a compacted log may
 * legitimately continue past it). A message below the position otherwise
 * is librdkafka's auto.offset.reset after OFFSET_OUT_OF_RANGE, which moves
 * the position as Java's reset does. A seek inside the assigned listener
 * instead edits the start offset of the list about to be given to
 * rd_kafka_assign().
 *
 * auto.offset.reset=none maps to librdkafka's "error": the fetcher stops
 * and reports ERR__AUTO_OFFSET_RESET with the failing offset (negative when
 * there was no committed offset: RV_ERR__NO_OFFSET; else
 * RV_ERR_OFFSET_OUT_OF_RANGE). Such a partition is "stalled": Java's
 * consumer tries again at every poll, so the next poll looks the committed
 * offset up again (or takes the position a seek set) and restarts the
 * fetcher by assigning the partition again.
 *
 * Records. librdkafka hands out one allocation per message; poll copies
 * the keys, values and headers (in the wire format of headers) of a batch
 * into one chunk per topic (client/consumer_records.h) and frees the
 * messages, so records outlive the consumer as with the embedded backend.
 *
 * Close. A member unsubscribes and answers the revocation itself before
 * rd_kafka_consumer_close(), which then has nothing to revoke: see
 * leave_group() for the librdkafka hang this avoids.
 *
 * Without group.id librdkafka's consumer cannot assign partitions, so the
 * backend gives librdkafka a private group id that is never joined or
 * committed to (commits and committed() are refused first, as without a
 * group on the embedded backend). */
#include "client/kafka_consumer.h"

#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/consumer_records.h"
#include "client/kafka_conf.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "common/record_batch.h"
#include "rivulet/admin.h"

/* Longest single wait inside librdkafka while polling: wakeup() interrupts
 * it anyway; this bounds the delay of a wakeup that raced the wait. */
#define POLL_STEP_MS 100
/* Wait while a seek is still pending, so it is retried soon. */
#define SEEK_RETRY_MS 5
/* How long one seek waits for librdkafka's fetcher to take it. */
#define SEEK_WAIT_MS 1000
/* Timeout of the lookups position() makes (committed, watermarks). */
#define LOOKUP_TIMEOUT_MS 10000

typedef enum { RESET_LATEST, RESET_EARLIEST, RESET_NONE } reset_t;

/* One assigned partition (application thread only). */
typedef struct kpart_s {
    char *topic;
    int32_t partition;
    int64_t pos; /* next offset to return, or RV_OFFSET_STORED/BEGINNING/END */
    bool paused;
    bool seek_pending;  /* pos still has to be given to librdkafka */
    bool stalled;       /* librdkafka's fetcher stopped (auto.offset.reset=none) */
    int64_t resolve_at; /* poll tries to resolve a logical pos from then */
    bool await_resolve; /* sought to BEGINNING/END: nothing until resolved */
    bool verify;        /* a seek was taken: the next message must be at pos */
    int verify_left;    /* seeks again when it is not, at most this often */
} kpart_t;

/* A commit_async (or auto commit) in call order; `done` once librdkafka
 * answered. Callbacks run from the head while done, so in call order. */
typedef struct acommit_s {
    struct rv__kconsumer_s *kc;
    rv_commit_cb_t *cb; /* NULL for auto commits */
    void *opaque;
    bool done;
    rv_err_t err;
    rv_topic_partition_list_t *offsets;
    struct acommit_s *next;
} acommit_t;

struct rv__kconsumer_s {
    rv_consumer_t *owner;
    rd_kafka_t *rk;
    rd_kafka_queue_t *cq;       /* the consumer queue (for yield) */
    rd_kafka_queue_t *commit_q; /* results of asynchronous commits */
    atomic_bool wakeup;
    bool closed;
    bool crashed;
    bool leaving; /* close unsubscribed: rebalances reach the application no more */

    char *group_id; /* the user's; NULL when none */
    reset_t reset;
    bool auto_commit;
    int64_t auto_commit_ms, next_auto_commit;
    size_t max_poll_records;
    int commit_timeout_ms;

    kpart_t *parts;
    size_t part_cnt, part_cap;
    size_t seeks_pending;

    bool subscribed; /* the topic list itself is the owner's */
    rv_rebalance_listener_t listener;
    /* The partitions being assigned while the assigned listener runs: a
     * seek on one of them sets its start offset here. */
    rd_kafka_topic_partition_list_t *assigning;
    rv_err_t close_commit_err; /* commit error of the revocation in close */

    char *member_id;
    int32_t generation;

    acommit_t *ac_head, *ac_tail;
    size_t ac_inflight;

    rv_err_t held_err; /* an error seen while records were gathered */
    char held_msg[512];
    char *errmsg; /* the owner's last-error buffer */
    size_t errmsg_size;
};

static rv_err_t seterr(rv__kconsumer_t *kc, rv_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rv_err_t seterr(rv__kconsumer_t *kc, rv_err_t err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kc->errmsg, kc->errmsg_size, fmt, ap);
    va_end(ap);
    return err;
}

/* ---- the partition table ---- */

static kpart_t *part_find(rv__kconsumer_t *kc, const char *topic, int32_t partition) {
    for (size_t i = 0; i < kc->part_cnt; i++)
        if (kc->parts[i].partition == partition && strcmp(kc->parts[i].topic, topic) == 0)
            return &kc->parts[i];
    return NULL;
}

static rv_err_t part_add(rv__kconsumer_t *kc, const char *topic, int32_t partition, int64_t pos) {
    kpart_t *p = part_find(kc, topic, partition);
    if (p) {
        p->pos = pos;
        return RV_ERR_NO_ERROR;
    }
    if (kc->part_cnt == kc->part_cap) {
        size_t n = kc->part_cap ? kc->part_cap * 2 : 8;
        kpart_t *np = realloc(kc->parts, n * sizeof(*np));
        if (!np)
            return RV_ERR__NOMEM;
        kc->parts = np;
        kc->part_cap = n;
    }
    p = &kc->parts[kc->part_cnt];
    memset(p, 0, sizeof(*p));
    if (!(p->topic = strdup(topic)))
        return RV_ERR__NOMEM;
    p->partition = partition;
    p->pos = pos;
    kc->part_cnt++;
    return RV_ERR_NO_ERROR;
}

static void part_remove(rv__kconsumer_t *kc, const char *topic, int32_t partition) {
    kpart_t *p = part_find(kc, topic, partition);
    if (!p)
        return;
    if (p->seek_pending)
        kc->seeks_pending--;
    free(p->topic);
    size_t i = (size_t)(p - kc->parts);
    memmove(p, p + 1, (kc->part_cnt - i - 1) * sizeof(*p));
    kc->part_cnt--;
}

static void parts_clear(rv__kconsumer_t *kc) {
    for (size_t i = 0; i < kc->part_cnt; i++)
        free(kc->parts[i].topic);
    kc->part_cnt = 0;
    kc->seeks_pending = 0;
}

static void set_seek_pending(rv__kconsumer_t *kc, kpart_t *p, bool pending) {
    if (p->seek_pending != pending)
        kc->seeks_pending += pending ? 1 : (size_t)-1;
    p->seek_pending = pending;
}

/* ---- list conversions ---- */

/* The table as a public list (positions, RV_OFFSET_INVALID when logical). */
static rv_topic_partition_list_t *parts_to_list(rv__kconsumer_t *kc) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(kc->part_cnt);
    if (!l)
        return NULL;
    for (size_t i = 0; i < kc->part_cnt; i++) {
        rv_topic_partition_t *tp =
            rv_topic_partition_list_add(l, kc->parts[i].topic, kc->parts[i].partition);
        if (!tp) {
            rv_topic_partition_list_destroy(l);
            return NULL;
        }
        rv_topic_partition_set_offset(tp,
                                      kc->parts[i].pos >= 0 ? kc->parts[i].pos : RV_OFFSET_INVALID);
    }
    return l;
}

/* A librdkafka list of the entries of `l` (all, or only those with an
 * offset >= 0), offsets and metadata included. NULL when out of memory. */
static rd_kafka_topic_partition_list_t *rd_list_from(const rv_topic_partition_list_t *l,
                                                     bool only_offsets) {
    size_t n = rv_topic_partition_list_count(l);
    rd_kafka_topic_partition_list_t *rl = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
    if (!rl)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        if (only_offsets && rv_topic_partition_offset(tp) < 0)
            continue;
        rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_add(
            rl, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
        e->offset = rv_topic_partition_offset(tp);
        const char *md = rv_topic_partition_metadata(tp);
        if (md) {
            /* librdkafka frees it with its own free(). */
            if (!(e->metadata = strdup(md))) {
                rd_kafka_topic_partition_list_destroy(rl);
                return NULL;
            }
            e->metadata_size = strlen(md);
        }
    }
    return rl;
}

/* A public list of a librdkafka one (offsets and per-partition errors). */
static rv_topic_partition_list_t *rv_list_from(const rd_kafka_topic_partition_list_t *rl) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new((size_t)(rl ? rl->cnt : 0));
    if (!l)
        return NULL;
    for (int i = 0; rl && i < rl->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &rl->elems[i];
        rv_topic_partition_t *tp = rv_topic_partition_list_add(l, e->topic, e->partition);
        if (!tp) {
            rv_topic_partition_list_destroy(l);
            return NULL;
        }
        rv_topic_partition_set_offset(tp, e->offset);
        rv_topic_partition_set_err(tp, rv__kafka_err(e->err));
    }
    return l;
}

/* Copies the per-partition errors of `rl` into the matching entries of l. */
static void copy_errs(rv_topic_partition_list_t *l, const rd_kafka_topic_partition_list_t *rl) {
    for (int i = 0; rl && i < rl->cnt; i++) {
        rv_topic_partition_t *tp =
            rv_topic_partition_list_find(l, rl->elems[i].topic, rl->elems[i].partition);
        if (tp)
            rv_topic_partition_set_err(tp, rv__kafka_err(rl->elems[i].err));
    }
}

/* The positions (>= 0) of the assigned partitions, or only of those also
 * in `only`, as a librdkafka list for a commit. */
static rd_kafka_topic_partition_list_t *
positions_list(rv__kconsumer_t *kc, const rd_kafka_topic_partition_list_t *only) {
    rd_kafka_topic_partition_list_t *rl =
        rd_kafka_topic_partition_list_new((int)(kc->part_cnt ? kc->part_cnt : 1));
    if (!rl)
        return NULL;
    for (size_t i = 0; i < kc->part_cnt; i++) {
        kpart_t *p = &kc->parts[i];
        if (p->pos < 0 ||
            (only && !rd_kafka_topic_partition_list_find(only, p->topic, p->partition)))
            continue;
        rd_kafka_topic_partition_list_add(rl, p->topic, p->partition)->offset = p->pos;
    }
    return rl;
}

/* ---- group information ---- */

/* Member id and generation, cached so the const getters are cheap. The
 * generation comes from librdkafka's serialized group metadata ("CGMDv2:"
 * then the native int32 generation), the one place 2.0 exposes it. Both
 * lookups wait for librdkafka's group thread to answer: called only from
 * the rebalance callback, before its assign call, and never inside
 * rd_kafka_consumer_close() (see leave_group()). */
static void refresh_group_info(rv__kconsumer_t *kc) {
    if (!kc->group_id)
        return;
    char *m = rd_kafka_memberid(kc->rk);
    char *copy = strdup(m ? m : "");
    if (m)
        rd_kafka_mem_free(kc->rk, m);
    if (copy) {
        free(kc->member_id);
        kc->member_id = copy;
    }
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(kc->rk);
    if (!md)
        return;
    void *buf = NULL;
    size_t size = 0;
    rd_kafka_error_t *e = rd_kafka_consumer_group_metadata_write(md, &buf, &size);
    if (!e && buf && size >= 11 && memcmp(buf, "CGMDv2:", 7) == 0) {
        int32_t gen;
        memcpy(&gen, (const char *)buf + 7, sizeof gen);
        kc->generation = *kc->member_id ? gen : -1;
    }
    if (e)
        rd_kafka_error_destroy(e);
    if (buf)
        rd_kafka_mem_free(kc->rk, buf);
    rd_kafka_consumer_group_metadata_destroy(md);
}

/* ---- asynchronous commits ---- */

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    acommit_t *ac = opaque;
    ac->done = true;
    ac->err = err == RD_KAFKA_RESP_ERR__NO_OFFSET ? RV_ERR_NO_ERROR : rv__kafka_err(err);
    copy_errs(ac->offsets, offsets);
    if (!ac->err)
        for (int i = 0; offsets && i < offsets->cnt && !ac->err; i++)
            ac->err = rv__kafka_err(offsets->elems[i].err);
    ac->kc->ac_inflight--;
}

/* Serves finished commits (waiting up to wait_ms for all in flight when
 * wait_ms > 0) and runs their callbacks in call order. */
static void run_commits(rv__kconsumer_t *kc, int wait_ms) {
    int64_t until = rv__mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    rd_kafka_queue_poll_callback(kc->commit_q, 0);
    while (wait_ms > 0 && kc->ac_inflight && rv__mono_ms() < until)
        rd_kafka_queue_poll_callback(kc->commit_q, 10);
    while (kc->ac_head && kc->ac_head->done) {
        acommit_t *ac = kc->ac_head;
        kc->ac_head = ac->next;
        if (!kc->ac_head)
            kc->ac_tail = NULL;
        if (ac->cb)
            ac->cb(kc->owner, ac->err, ac->offsets, ac->opaque);
        else if (ac->err && ac->err != RV_ERR__INVALID_ARG)
            rv__log_warn("consumer", "auto commit for group %s failed: %s",
                         kc->group_id ? kc->group_id : "", rv_err_str(ac->err));
        rv_topic_partition_list_destroy(ac->offsets);
        free(ac);
    }
}

/* Queues a commit of `offsets` (taken over) with callback cb. */
static rv_err_t start_commit(rv__kconsumer_t *kc, rv_topic_partition_list_t *offsets,
                             rv_commit_cb_t *cb, void *opaque) {
    acommit_t *ac = calloc(1, sizeof(*ac));
    if (!ac) {
        rv_topic_partition_list_destroy(offsets);
        return RV_ERR__NOMEM;
    }
    ac->kc = kc;
    ac->cb = cb;
    ac->opaque = opaque;
    ac->offsets = offsets;
    rd_kafka_topic_partition_list_t *rl = NULL;
    if (!kc->group_id) {
        ac->done = true;
        ac->err = seterr(kc, RV_ERR__INVALID_ARG, "group.id is not set: cannot commit offsets");
    } else if (!(rl = rd_list_from(offsets, true))) {
        ac->done = true;
        ac->err = RV_ERR__NOMEM;
    } else if (rl->cnt == 0) {
        ac->done = true; /* nothing to commit: success, as Java's */
    } else {
        rd_kafka_resp_err_t err = rd_kafka_commit_queue(kc->rk, rl, kc->commit_q, on_commit, ac);
        if (err) {
            ac->done = true;
            ac->err = rv__kafka_err(err);
        } else {
            kc->ac_inflight++;
        }
    }
    rd_kafka_topic_partition_list_destroy(rl);
    if (kc->ac_tail)
        kc->ac_tail->next = ac;
    else
        kc->ac_head = ac;
    kc->ac_tail = ac;
    return RV_ERR_NO_ERROR;
}

/* The answer to a synchronous commit: its error, and the partitions'
 * errors written into the committed list. */
typedef struct sync_commit_s {
    bool done;
    rd_kafka_resp_err_t err;
    rd_kafka_topic_partition_list_t *rl;
} sync_commit_t;

static void on_sync_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    sync_commit_t *sc = opaque;
    sc->done = true;
    sc->err = err;
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(
            sc->rl, offsets->elems[i].topic, offsets->elems[i].partition);
        if (p)
            p->err = offsets->elems[i].err;
    }
}

/* A synchronous commit of `rl` (offsets >= 0); fills per-partition errors
 * into `l` when given. It waits at most request.timeout.ms, as Java's
 * commitSync waits a bounded time: librdkafka's own synchronous commit
 * waits without end, and with the coordinator down it retries the request
 * for as long. A commit given up on may still land later. */
static rv_err_t commit_now(rv__kconsumer_t *kc, rd_kafka_topic_partition_list_t *rl,
                           rv_topic_partition_list_t *l, char *errstr, size_t errstr_size) {
    if (!kc->group_id) {
        rv__errstr_set(errstr, errstr_size, "group.id is not set: cannot commit offsets");
        return RV_ERR__INVALID_ARG;
    }
    if (rl->cnt == 0)
        return RV_ERR_NO_ERROR;
    rd_kafka_queue_t *q = rd_kafka_queue_new(kc->rk);
    if (!q) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        return RV_ERR__NOMEM;
    }
    sync_commit_t sc = {false, RD_KAFKA_RESP_ERR_NO_ERROR, rl};
    rd_kafka_resp_err_t rerr = rd_kafka_commit_queue(kc->rk, rl, q, on_sync_commit, &sc);
    int64_t until = rv__mono_ms() + kc->commit_timeout_ms;
    while (!rerr && !sc.done && rv__mono_ms() < until)
        rd_kafka_queue_poll_callback(q, 10);
    /* A late answer finds the queue gone and is dropped, never calling
     * back into this frame. */
    rd_kafka_queue_destroy(q);
    if (!rerr && !sc.done) {
        rv__errstr_set(errstr, errstr_size, "OffsetCommit for group %s timed out after %d ms",
                       kc->group_id, kc->commit_timeout_ms);
        return RV_ERR__TIMED_OUT;
    }
    if (!rerr)
        rerr = sc.err;
    if (l)
        copy_errs(l, rl);
    rv_err_t err = rerr == RD_KAFKA_RESP_ERR__NO_OFFSET ? RV_ERR_NO_ERROR : rv__kafka_err(rerr);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "OffsetCommit for group %s failed: %s", kc->group_id,
                       rd_kafka_err2str(rerr));
        return err;
    }
    for (int i = 0; i < rl->cnt; i++)
        if (rl->elems[i].err) {
            rv__errstr_set(errstr, errstr_size, "commit of %s-%d failed: %s", rl->elems[i].topic,
                           rl->elems[i].partition, rd_kafka_err2str(rl->elems[i].err));
            return rv__kafka_err(rl->elems[i].err);
        }
    return RV_ERR_NO_ERROR;
}

/* Synchronous auto commit of the positions (all, or those in `only`). */
static rv_err_t auto_commit_sync(rv__kconsumer_t *kc, const rd_kafka_topic_partition_list_t *only) {
    if (!kc->auto_commit || !kc->group_id || kc->crashed)
        return RV_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_t *rl = positions_list(kc, only);
    if (!rl)
        return RV_ERR__NOMEM;
    char es[256] = "";
    rv_err_t err = commit_now(kc, rl, NULL, es, sizeof es);
    rd_kafka_topic_partition_list_destroy(rl);
    if (err)
        rv__log_warn("consumer", "auto commit for group %s failed: %s", kc->group_id, es);
    kc->next_auto_commit = rv__mono_ms() + kc->auto_commit_ms;
    return err;
}

/* ---- rebalances ---- */

static void call_listener(rv__kconsumer_t *kc, rv_rebalance_cb_t *cb,
                          const rd_kafka_topic_partition_list_t *rl) {
    if (!cb)
        return;
    rv_topic_partition_list_t *l = rv_list_from(rl);
    if (!l)
        return;
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        kpart_t *p = part_find(kc, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
        rv_topic_partition_set_offset(tp, p && p->pos >= 0 ? p->pos : RV_OFFSET_INVALID);
        rv_topic_partition_set_err(tp, RV_ERR_NO_ERROR);
    }
    cb(kc->owner, l, kc->listener.opaque);
    rv_topic_partition_list_destroy(l);
}

/* The entries of rl that are still in the table (a listener may have
 * unsubscribed, which revoked them already). */
static rd_kafka_topic_partition_list_t *in_table(rv__kconsumer_t *kc,
                                                 const rd_kafka_topic_partition_list_t *rl) {
    rd_kafka_topic_partition_list_t *out = rd_kafka_topic_partition_list_new(rl->cnt ? rl->cnt : 1);
    if (!out)
        return NULL;
    for (int i = 0; i < rl->cnt; i++)
        if (part_find(kc, rl->elems[i].topic, rl->elems[i].partition))
            rd_kafka_topic_partition_list_add(out, rl->elems[i].topic, rl->elems[i].partition)
                ->offset = rl->elems[i].offset;
    return out;
}

static void hold_error(rv__kconsumer_t *kc, rv_err_t err, const char *msg) {
    if (kc->held_err)
        return;
    kc->held_err = err;
    snprintf(kc->held_msg, sizeof kc->held_msg, "%s", msg);
}

static void apply_assignment(rv__kconsumer_t *kc, rd_kafka_topic_partition_list_t *rl,
                             bool cooperative) {
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (cooperative)
        e = rd_kafka_incremental_assign(kc->rk, rl);
    else
        err = rd_kafka_assign(kc->rk, rl);
    if (e) {
        err = rd_kafka_error_code(e);
        rd_kafka_error_destroy(e);
    }
    if (err) {
        char msg[256];
        snprintf(msg, sizeof msg, "assigning the partitions failed: %s", rd_kafka_err2str(err));
        hold_error(kc, rv__kafka_err(err), msg);
    }
}

static void apply_revocation(rv__kconsumer_t *kc, rd_kafka_topic_partition_list_t *rl,
                             bool cooperative) {
    rd_kafka_error_t *e = NULL;
    if (cooperative)
        e = rd_kafka_incremental_unassign(kc->rk, rl);
    else
        rd_kafka_assign(kc->rk, NULL);
    if (e)
        rd_kafka_error_destroy(e);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    rv__kconsumer_t *kc = opaque;
    const char *proto = rd_kafka_rebalance_protocol(rk);
    bool cooperative = proto && strcmp(proto, "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && kc->leaving) {
        /* Queued before the member left: librdkafka wants the call, and
         * revokes the partitions next; the application never has them. */
        apply_assignment(kc, parts, cooperative);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            part_add(kc, parts->elems[i].topic, parts->elems[i].partition, RV_OFFSET_STORED);
        refresh_group_info(kc);
        kc->assigning = parts;
        call_listener(kc, kc->listener.assigned, parts);
        kc->assigning = NULL;
        rd_kafka_topic_partition_list_t *keep = in_table(kc, parts);
        apply_assignment(kc, keep ? keep : parts, cooperative);
        rd_kafka_topic_partition_list_destroy(keep);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        bool lost = rd_kafka_assignment_lost(rk);
        rd_kafka_topic_partition_list_t *mine = in_table(kc, parts);
        if (mine && mine->cnt) {
            if (!lost) {
                rv_err_t cerr = auto_commit_sync(kc, mine);
                if (cerr && !kc->close_commit_err)
                    kc->close_commit_err = cerr;
            }
            rv_rebalance_cb_t *cb = kc->listener.revoked;
            if (lost && kc->listener.lost)
                cb = kc->listener.lost;
            call_listener(kc, cb, mine);
            for (int i = 0; i < mine->cnt; i++)
                part_remove(kc, mine->elems[i].topic, mine->elems[i].partition);
        }
        rd_kafka_topic_partition_list_destroy(mine);
        /* Before the unassign: once librdkafka has it, a closing group may
         * terminate and purge its op queue, and the lookup would wait for
         * an answer that never comes. */
        if (!cooperative || lost)
            refresh_group_info(kc);
        apply_revocation(kc, parts, cooperative);
        return;
    }
    /* A rebalance error: librdkafka wants the assignment dropped. */
    char msg[256];
    snprintf(msg, sizeof msg, "group %s rebalance failed: %s", kc->group_id ? kc->group_id : "",
             rd_kafka_err2str(err));
    hold_error(kc, rv__kafka_err(err), msg);
    if (kc->part_cnt) {
        rd_kafka_topic_partition_list_t *all = positions_list(kc, NULL);
        call_listener(kc, kc->listener.lost ? kc->listener.lost : kc->listener.revoked,
                      all ? all : parts);
        rd_kafka_topic_partition_list_destroy(all);
        parts_clear(kc);
    }
    rd_kafka_assign(rk, NULL);
}

/* ---- logging and errors from librdkafka ---- */

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    rv__log(level, "KAFKA", "%s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    rv__kconsumer_t *kc = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_resp_err_t fe = rd_kafka_fatal_error(rk, why, sizeof why);
        char msg[400];
        snprintf(msg, sizeof msg, "fatal consumer error: %s", why);
        hold_error(kc, rv__kafka_err(fe ? fe : (rd_kafka_resp_err_t)err), msg);
        return;
    }
    /* Connection trouble and the like: librdkafka retries by itself, as
     * Java's consumer does without telling the application. */
    rv__log_info("consumer", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* ---- construction ---- */

rv__kconsumer_t *rv__kconsumer_new(rv_consumer_t *owner, const rv_conf_t *conf, char *errmsg,
                                   size_t errmsg_size, char *errstr, size_t errstr_size) {
    rv__kconsumer_t *kc = calloc(1, sizeof(*kc));
    if (!kc) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        return NULL;
    }
    kc->owner = owner;
    kc->errmsg = errmsg;
    kc->errmsg_size = errmsg_size;
    atomic_init(&kc->wakeup, false);
    kc->generation = -1;
    const char *gid = rv_conf_get(conf, "group.id");
    const char *reset = rv_conf_get(conf, "auto.offset.reset");
    kc->reset = !reset || strcmp(reset, "latest") == 0 ? RESET_LATEST
                : strcmp(reset, "earliest") == 0       ? RESET_EARLIEST
                                                       : RESET_NONE;
    kc->auto_commit = rv__conf_get_bool(conf, "enable.auto.commit", true);
    kc->auto_commit_ms = rv__conf_get_int64(conf, "auto.commit.interval.ms", 5000);
    kc->max_poll_records = (size_t)rv__conf_get_int64(conf, "max.poll.records", 500);
    if (kc->max_poll_records < 1)
        kc->max_poll_records = 1;
    kc->commit_timeout_ms = (int)rv__conf_get_int64(conf, "request.timeout.ms", 30000);
    kc->member_id = strdup("");
    if (!kc->member_id || (gid && *gid && !(kc->group_id = strdup(gid)))) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        goto fail;
    }
    int64_t hb = rv__conf_get_int64(conf, "heartbeat.interval.ms", 3000);
    int64_t st = rv__conf_get_int64(conf, "session.timeout.ms", 45000);
    if (kc->group_id && hb >= st) {
        rv__errstr_set(errstr, errstr_size,
                       "heartbeat.interval.ms (%lld) must be lower than session.timeout.ms (%lld)",
                       (long long)hb, (long long)st);
        goto fail;
    }
    /* auto.offset.reset=none becomes librdkafka's "error" (client/kafka_conf.c). */
    rd_kafka_conf_t *rc = rv__kafka_conf_new(conf, RV__KAFKA_CONSUMER, errstr, errstr_size);
    if (!rc)
        goto fail;
    char why[256], private_gid[96];
    snprintf(private_gid, sizeof private_gid, "rivulet-assign-%ld-%p", (long)getpid(), (void *)kc);
    /* Java's metadata.max.age.ms is librdkafka's refresh interval: it is
     * what makes a consumer notice new partitions of its topics. */
    const char *max_age = rv_conf_get(conf, "metadata.max.age.ms");
    /* librdkafka refuses max.poll.interval.ms below session.timeout.ms,
     * which Java allows: the interval is raised to the session timeout. */
    char max_poll[32];
    int64_t mpi = rv__conf_get_int64(conf, "max.poll.interval.ms", 300000);
    snprintf(max_poll, sizeof max_poll, "%lld", (long long)(mpi < st ? st : mpi));
    struct {
        const char *name, *value;
    } own[] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        {"group.id", kc->group_id ? NULL : private_gid},
        {"topic.metadata.refresh.interval.ms", max_age},
        {"max.poll.interval.ms", max_poll},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        if (own[i].value &&
            rd_kafka_conf_set(rc, own[i].name, own[i].value, why, sizeof why) != RD_KAFKA_CONF_OK) {
            rv__errstr_set(errstr, errstr_size, "Invalid value %s for configuration %s: %s",
                           own[i].value, own[i].name, why);
            rd_kafka_conf_destroy(rc);
            goto fail;
        }
    }
    rd_kafka_conf_set_opaque(rc, kc);
    rd_kafka_conf_set_rebalance_cb(rc, on_rebalance);
    rd_kafka_conf_set_error_cb(rc, on_error);
    rd_kafka_conf_set_log_cb(rc, on_log);
    char rkerr[512];
    kc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, rkerr, sizeof rkerr);
    if (!kc->rk) {
        rd_kafka_conf_destroy(rc);
        rv__errstr_set(errstr, errstr_size, "%s", rkerr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(kc->rk);
    kc->cq = rd_kafka_queue_get_consumer(kc->rk);
    kc->commit_q = rd_kafka_queue_new(kc->rk);
    if (!kc->cq || !kc->commit_q) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        goto fail;
    }
    kc->next_auto_commit = rv__mono_ms() + kc->auto_commit_ms;
    return kc;
fail:
    kc->closed = true;
    kc->crashed = true; /* nothing to commit or leave */
    rv__kconsumer_destroy(kc);
    return NULL;
}

/* ---- subscription and assignment ---- */

rv_err_t rv__kconsumer_subscribe(rv__kconsumer_t *kc, const char *const *topics, size_t topic_cnt,
                                 const rv_rebalance_listener_t *listener) {
    rd_kafka_topic_partition_list_t *rl = rd_kafka_topic_partition_list_new((int)topic_cnt);
    if (!rl)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    for (size_t i = 0; i < topic_cnt; i++)
        rd_kafka_topic_partition_list_add(rl, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(kc->rk, rl);
    rd_kafka_topic_partition_list_destroy(rl);
    if (err)
        return seterr(kc, rv__kafka_err(err), "subscribe failed: %s", rd_kafka_err2str(err));
    kc->subscribed = true;
    if (listener)
        kc->listener = *listener;
    else
        memset(&kc->listener, 0, sizeof kc->listener);
    return RV_ERR_NO_ERROR;
}

/* Java's unsubscribe and close revoke at once: auto commit and the
 * revoked listener (the lost listener and no commit when the assignment
 * was lost), then the partitions are gone. librdkafka's revocation comes
 * later and then finds them out of the table already. Returns the auto
 * commit's error. */
static rv_err_t revoke_all(rv__kconsumer_t *kc) {
    if (!kc->part_cnt)
        return RV_ERR_NO_ERROR;
    bool lost = rd_kafka_assignment_lost(kc->rk);
    rv_err_t err = lost ? RV_ERR_NO_ERROR : auto_commit_sync(kc, NULL);
    rd_kafka_topic_partition_list_t *names = rd_kafka_topic_partition_list_new((int)kc->part_cnt);
    for (size_t i = 0; names && i < kc->part_cnt; i++)
        rd_kafka_topic_partition_list_add(names, kc->parts[i].topic, kc->parts[i].partition);
    if (names)
        call_listener(kc, lost && kc->listener.lost ? kc->listener.lost : kc->listener.revoked,
                      names);
    if (names)
        rd_kafka_topic_partition_list_destroy(names);
    parts_clear(kc);
    return err;
}

rv_err_t rv__kconsumer_unsubscribe(rv__kconsumer_t *kc) {
    revoke_all(kc);
    kc->subscribed = false;
    rd_kafka_resp_err_t err = rd_kafka_unsubscribe(kc->rk);
    free(kc->member_id);
    kc->member_id = strdup("");
    kc->generation = -1;
    if (!kc->member_id)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    if (err)
        return seterr(kc, rv__kafka_err(err), "unsubscribe failed: %s", rd_kafka_err2str(err));
    return RV_ERR_NO_ERROR;
}

/* The start offset librdkafka gets for a position of the table. */
static int64_t start_offset(const rv__kconsumer_t *kc, int64_t pos) {
    if (pos != RV_OFFSET_STORED)
        return pos;
    if (!kc->group_id) /* no committed offsets without a group */
        return kc->reset == RESET_EARLIEST ? RV_OFFSET_BEGINNING
               : kc->reset == RESET_LATEST ? RV_OFFSET_END
                                           : RV_OFFSET_INVALID;
    return RV_OFFSET_INVALID; /* librdkafka: committed, else auto.offset.reset */
}

rv_err_t rv__kconsumer_assign(rv__kconsumer_t *kc, const rv_topic_partition_list_t *partitions) {
    size_t n = rv_topic_partition_list_count(partitions);
    parts_clear(kc);
    rd_kafka_topic_partition_list_t *rl = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
    if (!rl)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(partitions, i);
        int64_t pos = rv_topic_partition_offset(tp);
        if (pos == RV_OFFSET_INVALID)
            pos = RV_OFFSET_STORED;
        if (part_add(kc, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp), pos)) {
            parts_clear(kc);
            rd_kafka_topic_partition_list_destroy(rl);
            return seterr(kc, RV_ERR__NOMEM, "out of memory");
        }
        rd_kafka_topic_partition_list_add(rl, rv_topic_partition_topic(tp),
                                          rv_topic_partition_partition(tp))
            ->offset = start_offset(kc, pos);
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(kc->rk, n ? rl : NULL);
    rd_kafka_topic_partition_list_destroy(rl);
    if (err) {
        parts_clear(kc);
        return seterr(kc, rv__kafka_err(err), "assign failed: %s", rd_kafka_err2str(err));
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__kconsumer_assignment(rv__kconsumer_t *kc, rv_topic_partition_list_t **out) {
    *out = parts_to_list(kc);
    return *out ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

/* ---- positions ---- */

/* Gives the pending seeks to librdkafka; those it cannot take yet (the
 * fetcher has not started) stay pending for the next try. */
static void apply_seeks(rv__kconsumer_t *kc) {
    if (!kc->seeks_pending)
        return;
    rd_kafka_topic_partition_list_t *rl = rd_kafka_topic_partition_list_new((int)kc->seeks_pending);
    if (!rl)
        return;
    for (size_t i = 0; i < kc->part_cnt; i++) {
        kpart_t *p = &kc->parts[i];
        if (p->seek_pending && p->pos == RV_OFFSET_STORED)
            set_seek_pending(kc, p, false); /* librdkafka resolves STORED itself */
        else if (p->seek_pending)
            rd_kafka_topic_partition_list_add(rl, p->topic, p->partition)->offset = p->pos;
    }
    if (rl->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(kc->rk, rl, SEEK_WAIT_MS);
        if (e)
            rd_kafka_error_destroy(e);
        for (int i = 0; i < rl->cnt; i++) {
            kpart_t *p = part_find(kc, rl->elems[i].topic, rl->elems[i].partition);
            if (p && (!e || !rl->elems[i].err) && rl->elems[i].err != RD_KAFKA_RESP_ERR__STATE &&
                rl->elems[i].err != RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS) {
                set_seek_pending(kc, p, false);
                p->verify = true;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(rl);
}

/* The committed offset of one partition (RV_OFFSET_INVALID when none). */
static rv_err_t committed_one(rv__kconsumer_t *kc, const char *topic, int32_t partition,
                              int64_t *out) {
    *out = RV_OFFSET_INVALID;
    if (!kc->group_id)
        return RV_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_t *rl = rd_kafka_topic_partition_list_new(1);
    if (!rl)
        return RV_ERR__NOMEM;
    rd_kafka_topic_partition_list_add(rl, topic, partition);
    rd_kafka_resp_err_t err = rd_kafka_committed(kc->rk, rl, kc->commit_timeout_ms);
    if (!err)
        err = rl->elems[0].err;
    if (!err && rl->elems[0].offset >= 0)
        *out = rl->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(rl);
    if (err)
        return seterr(kc, rv__kafka_err(err), "OffsetFetch for group %s failed: %s", kc->group_id,
                      rd_kafka_err2str(err));
    return RV_ERR_NO_ERROR;
}

static rv_err_t no_offset(rv__kconsumer_t *kc, const kpart_t *p) {
    return seterr(kc, RV_ERR__NO_OFFSET,
                  "Undefined offset with no reset policy for partitions: [%s-%d]", p->topic,
                  p->partition);
}

/* Turns a logical position into an offset as Java's position() does:
 * committed offset, else auto.offset.reset; BEGINNING / END by asking the
 * partition leader. An offset found that way is pinned with a seek so that
 * librdkafka reads from exactly there (its own lookup of the end happens
 * later, when more records may have arrived). */
static rv_err_t resolve(rv__kconsumer_t *kc, kpart_t *p) {
    int64_t which = p->pos;
    if (which >= 0)
        return RV_ERR_NO_ERROR;
    if (which == RV_OFFSET_STORED) {
        int64_t off;
        rv_err_t err = committed_one(kc, p->topic, p->partition, &off);
        if (err)
            return err;
        if (off >= 0) {
            /* librdkafka starts there too (or, when it is out of range,
             * at auto.offset.reset, as Java): nothing to pin. */
            p->pos = off;
            return RV_ERR_NO_ERROR;
        }
        if (kc->reset == RESET_NONE)
            return no_offset(kc, p);
        which = kc->reset == RESET_EARLIEST ? RV_OFFSET_BEGINNING : RV_OFFSET_END;
    }
    int64_t lo, hi;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(kc->rk, p->topic, p->partition, &lo,
                                                               &hi, LOOKUP_TIMEOUT_MS);
    if (err)
        return seterr(kc, rv__kafka_err(err), "ListOffsets for %s-%d failed: %s", p->topic,
                      p->partition, rd_kafka_err2str(err));
    p->pos = which == RV_OFFSET_BEGINNING ? lo : hi;
    p->await_resolve = false;
    p->verify_left = 3;
    if (!p->stalled)
        set_seek_pending(kc, p, true);
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__kconsumer_seek(rv__kconsumer_t *kc, const char *topic, int32_t partition,
                            int64_t offset) {
    kpart_t *p = part_find(kc, topic, partition);
    rd_kafka_topic_partition_t *e =
        kc->assigning ? rd_kafka_topic_partition_list_find(kc->assigning, topic, partition) : NULL;
    p->pos = offset;
    if (e) {
        /* Inside the assigned listener: this is where reading starts. */
        e->offset = start_offset(kc, offset);
        return RV_ERR_NO_ERROR;
    }
    if (p->stalled)
        return RV_ERR_NO_ERROR; /* the restart at the next poll starts here */
    p->verify_left = 3;
    if (offset == RV_OFFSET_BEGINNING || offset == RV_OFFSET_END) {
        /* Resolved by the next poll or position(), as Java's lazy reset. */
        set_seek_pending(kc, p, false);
        p->await_resolve = true;
        p->resolve_at = 0;
        return RV_ERR_NO_ERROR;
    }
    if (offset == RV_OFFSET_STORED) {
        p->await_resolve = true;
        rv_err_t err = resolve(kc, p);
        if (err)
            return err;
    }
    p->await_resolve = false;
    set_seek_pending(kc, p, true);
    apply_seeks(kc);
    return RV_ERR_NO_ERROR;
}

int rv__kconsumer_is_assigned(rv__kconsumer_t *kc, const char *topic, int32_t partition) {
    return part_find(kc, topic, partition) != NULL;
}

rv_err_t rv__kconsumer_seek_assignment(rv__kconsumer_t *kc, int64_t where) {
    rv_err_t first = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < kc->part_cnt; i++) {
        kc->errmsg[0] = '\0'; /* as a seek of its own would */
        kpart_t *p = &kc->parts[i];
        rv_err_t err = rv__kconsumer_seek(kc, p->topic, p->partition, where);
        if (err && !first)
            first = err;
    }
    return first;
}

rv_err_t rv__kconsumer_position(rv__kconsumer_t *kc, rv_topic_partition_list_t *partitions) {
    for (size_t i = 0; i < rv_topic_partition_list_count(partitions); i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_get(partitions, i);
        kpart_t *p = part_find(kc, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
        if (p) {
            rv_err_t err = resolve(kc, p);
            if (err)
                return err;
        }
        rv_topic_partition_set_offset(tp, p && p->pos >= 0 ? p->pos : RV_OFFSET_INVALID);
        rv_topic_partition_set_err(tp, p ? RV_ERR_NO_ERROR : RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    apply_seeks(kc);
    return RV_ERR_NO_ERROR;
}

int64_t rv__kconsumer_fetched_lag(rv__kconsumer_t *kc, const char *topic, int32_t partition) {
    kpart_t *p = part_find(kc, topic, partition);
    int64_t lo = -1, hi = -1;
    if (!p || p->pos < 0 ||
        rd_kafka_get_watermark_offsets(kc->rk, topic, partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
        return -1;
    int64_t pos = p->pos;
    if (hi > pos && !p->seek_pending) {
        /* librdkafka's position also moves over what it never returns:
         * transaction markers and aborted records. Ours counts returned
         * records only, so a log ending in a marker would never look
         * caught up. */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        if (l) {
            rd_kafka_topic_partition_list_add(l, topic, partition);
            if (rd_kafka_position(kc->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                l->elems[0].offset > pos)
                pos = l->elems[0].offset;
            rd_kafka_topic_partition_list_destroy(l);
        }
    }
    return hi > pos ? hi - pos : 0;
}

rv_err_t rv__kconsumer_committed(rv__kconsumer_t *kc, rv_topic_partition_list_t *partitions,
                                 int timeout_ms) {
    size_t n = rv_topic_partition_list_count(partitions);
    if (!n)
        return RV_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_t *rl = rd_list_from(partitions, false);
    if (!rl)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    rd_kafka_resp_err_t err =
        rd_kafka_committed(kc->rk, rl, timeout_ms < 0 ? kc->commit_timeout_ms : timeout_ms);
    if (err) {
        rd_kafka_topic_partition_list_destroy(rl);
        return seterr(kc, rv__kafka_err(err), "OffsetFetch for group %s failed: %s", kc->group_id,
                      rd_kafka_err2str(err));
    }
    rv_err_t res = RV_ERR_NO_ERROR;
    for (int i = 0; i < rl->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &rl->elems[i];
        rv_topic_partition_t *tp = rv_topic_partition_list_get(partitions, (size_t)i);
        rv_topic_partition_set_offset(tp, e->offset >= 0 ? e->offset : RV_OFFSET_INVALID);
        rv_topic_partition_set_err(tp, rv__kafka_err(e->err));
        if (e->offset >= 0) {
            char *md = malloc(e->metadata_size + 1);
            if (!md) {
                res = RV_ERR__NOMEM;
                break;
            }
            if (e->metadata_size)
                memcpy(md, e->metadata, e->metadata_size);
            md[e->metadata_size] = '\0';
            if (rv_topic_partition_set_metadata(tp, md))
                res = RV_ERR__NOMEM;
            free(md);
        }
    }
    rd_kafka_topic_partition_list_destroy(rl);
    return res ? seterr(kc, res, "out of memory") : RV_ERR_NO_ERROR;
}

rv_err_t rv__kconsumer_set_paused(rv__kconsumer_t *kc, const rv_topic_partition_list_t *l,
                                  int paused) {
    rv_err_t first = RV_ERR_NO_ERROR;
    size_t n = rv_topic_partition_list_count(l);
    rd_kafka_topic_partition_list_t *rl = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
    if (!rl)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        kpart_t *p = part_find(kc, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
        rv_topic_partition_set_err(tp, p ? RV_ERR_NO_ERROR : RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        if (p) {
            p->paused = paused;
            rd_kafka_topic_partition_list_add(rl, p->topic, p->partition);
        } else if (!first) {
            first = seterr(kc, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                           "No current assignment for partition %s-%d",
                           rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
        }
    }
    if (rl->cnt) {
        if (paused)
            rd_kafka_pause_partitions(kc->rk, rl);
        else
            rd_kafka_resume_partitions(kc->rk, rl);
    }
    rd_kafka_topic_partition_list_destroy(rl);
    return first;
}

/* ---- commits ---- */

rv_err_t rv__kconsumer_commit_sync(rv__kconsumer_t *kc, const rv_topic_partition_list_t *offsets,
                                   char *errstr, size_t errstr_size) {
    /* Earlier asynchronous commits finish (and call back) first. */
    run_commits(kc, kc->commit_timeout_ms);
    if (!kc->group_id) {
        rv__errstr_set(errstr, errstr_size, "group.id is not set: cannot commit offsets");
        return RV_ERR__INVALID_ARG;
    }
    rd_kafka_topic_partition_list_t *rl =
        offsets ? rd_list_from(offsets, true) : positions_list(kc, NULL);
    if (!rl) {
        rv__errstr_set(errstr, errstr_size, "out of memory");
        return RV_ERR__NOMEM;
    }
    rv_err_t err = commit_now(kc, rl, (rv_topic_partition_list_t *)offsets, errstr, errstr_size);
    rd_kafka_topic_partition_list_destroy(rl);
    return err;
}

rv_err_t rv__kconsumer_commit_async(rv__kconsumer_t *kc, const rv_topic_partition_list_t *offsets,
                                    rv_commit_cb_t *cb, void *opaque) {
    rv_topic_partition_list_t *l =
        offsets ? rv_topic_partition_list_copy(offsets) : parts_to_list(kc);
    if (!l)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    return start_commit(kc, l, cb, opaque);
}

/* ---- polling ---- */

/* Restarts the fetchers librdkafka stopped for auto.offset.reset=none:
 * at the committed offset (which may exist now) or where a seek put the
 * position. NO_OFFSET again when there is still none, as Java's poll
 * throws again. */
static rv_err_t restart_stalled(rv__kconsumer_t *kc) {
    rd_kafka_topic_partition_list_t *rl = NULL;
    rv_err_t err = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < kc->part_cnt && !err; i++) {
        kpart_t *p = &kc->parts[i];
        if (!p->stalled)
            continue;
        if (p->pos == RV_OFFSET_STORED) {
            int64_t off;
            if ((err = committed_one(kc, p->topic, p->partition, &off)))
                break;
            if (off < 0) {
                err = no_offset(kc, p);
                break;
            }
            p->pos = off;
        }
        if (!rl && !(rl = rd_kafka_topic_partition_list_new(4)))
            return seterr(kc, RV_ERR__NOMEM, "out of memory");
        rd_kafka_topic_partition_list_add(rl, p->topic, p->partition)->offset = p->pos;
        p->stalled = false;
        set_seek_pending(kc, p, false);
    }
    if (!rl)
        return err;
    const char *proto = rd_kafka_rebalance_protocol(kc->rk);
    if (proto && strcmp(proto, "EAGER") == 0) {
        /* Only whole assignments with eager assignors: everything again,
         * each partition from its position. */
        rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new((int)kc->part_cnt);
        for (size_t i = 0; all && i < kc->part_cnt; i++)
            rd_kafka_topic_partition_list_add(all, kc->parts[i].topic, kc->parts[i].partition)
                ->offset = start_offset(kc, kc->parts[i].pos);
        if (all) {
            rd_kafka_assign(kc->rk, all);
            rd_kafka_topic_partition_list_destroy(all);
        }
    } else {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(kc->rk, rl);
        if (e)
            rd_kafka_error_destroy(e);
        if ((e = rd_kafka_incremental_assign(kc->rk, rl)))
            rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(rl);
    return err;
}

/* Resolves the logical positions (new assignments, seeks to the
 * beginning or end) as Java's poll does before it fetches, so the records
 * read are the ones after the position at this poll, not at whatever later
 * moment librdkafka's own lookup happens. Only RV_ERR__NO_OFFSET is
 * returned; a failed lookup (a topic that does not exist yet) is tried
 * again a little later. */
static rv_err_t resolve_new(rv__kconsumer_t *kc) {
    int64_t now = rv__mono_ms();
    for (size_t i = 0; i < kc->part_cnt; i++) {
        kpart_t *p = &kc->parts[i];
        if (p->pos >= 0 || p->stalled || now < p->resolve_at)
            continue;
        rv_err_t err = resolve(kc, p);
        if (err == RV_ERR__NO_OFFSET)
            return err;
        if (err) {
            rv__log_debug("consumer", "%s", kc->errmsg);
            kc->errmsg[0] = '\0';
            p = &kc->parts[i];
            p->resolve_at = now + 500;
        }
    }
    return RV_ERR_NO_ERROR;
}

/* An error message from librdkafka: RV_ERR_NO_ERROR when it is only
 * worth a log line (librdkafka retries), else the error to return. */
static rv_err_t message_error(rv__kconsumer_t *kc, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
    kpart_t *p = topic ? part_find(kc, topic, m->partition) : NULL;
    switch ((int)m->err) {
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        if (!p)
            return RV_ERR_NO_ERROR;
        p->stalled = true;
        set_seek_pending(kc, p, false);
        /* librdkafka's answer may be older than what this consumer knows
         * now: a position it set (resolved, or sought) is restarted from
         * without an error. */
        if (p->pos >= 0 && p->pos != m->offset)
            return RV_ERR_NO_ERROR;
        if (m->offset < 0) {
            int64_t off;
            if (!committed_one(kc, p->topic, p->partition, &off) && off >= 0)
                return RV_ERR_NO_ERROR; /* committed since: restart there */
            kc->errmsg[0] = '\0';
        }
        if (m->offset >= 0)
            return seterr(kc, RV_ERR_OFFSET_OUT_OF_RANGE,
                          "Fetch position FetchPosition{offset=%lld} is out of range for "
                          "partition %s-%d",
                          (long long)m->offset, p->topic, p->partition);
        p->pos = RV_OFFSET_STORED;
        return no_offset(kc, p);
    case RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED:
        return seterr(kc, RV_ERR__MAX_POLL_EXCEEDED, "%s", rd_kafka_message_errstr(m));
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__BAD_COMPRESSION:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        return seterr(kc, RV_ERR_CORRUPT_MESSAGE, "%s-%d: %s", topic ? topic : "?", m->partition,
                      rd_kafka_message_errstr(m));
    case RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE:
        return seterr(kc, RV_ERR_UNSUPPORTED_COMPRESSION_TYPE, "%s-%d: %s", topic ? topic : "?",
                      m->partition, rd_kafka_message_errstr(m));
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL:
    case RD_KAFKA_RESP_ERR_INVALID_GROUP_ID:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_MAX_SIZE_REACHED:
    case RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
        return seterr(kc, rv__kafka_err(m->err), "%s", rd_kafka_message_errstr(m));
    default:
        rv__log_info("consumer", "%s%s%s: %s", topic ? topic : "", topic ? " " : "",
                     rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        return RV_ERR_NO_ERROR;
    }
}

/* Whether a message goes to the application, updating the position. */
static bool take_message(rv__kconsumer_t *kc, const rd_kafka_message_t *m) {
    kpart_t *p = part_find(kc, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p || p->seek_pending || p->stalled || p->await_resolve)
        return false;
    if (p->paused) {
        /* Fetched before the pause: read it again after the resume. */
        if (p->pos >= 0)
            set_seek_pending(kc, p, true);
        return false;
    }
    if (p->verify) {
        /* An offset lookup librdkafka started before the seek (its own
         * auto.offset.reset) can still move the fetcher after it: seek
         * again. Bounded, since a compacted log may legitimately start
         * past the position. */
        if (m->offset != p->pos && p->verify_left > 0) {
            p->verify_left--;
            set_seek_pending(kc, p, true);
            return false;
        }
        p->verify = false;
    }
    p->pos = m->offset + 1;
    return true;
}

/* One topic's copy of the keys, values and headers of a poll. */
typedef struct tcopy_s {
    rd_kafka_topic_t *rkt;
    rv__buf_t buf;
    rv__chunk_t *chunk;
} tcopy_t;

typedef struct moff_s {
    size_t key, value, headers, headers_len;
    int32_t header_cnt;
    uint32_t t; /* index into the tcopy_t array */
} moff_t;

static rv_err_t copy_message(tcopy_t *t, moff_t *o, const rd_kafka_message_t *m) {
    rv__buf_t *b = &t->buf;
    /* A first byte so that even an empty chunk has a real address. */
    if (b->len == 0 && rv__buf_put_u8(b, 0))
        return RV_ERR__NOMEM;
    o->key = b->len;
    if (m->key && rv__buf_append(b, m->key, m->key_len))
        return RV_ERR__NOMEM;
    o->value = b->len;
    if (m->payload && rv__buf_append(b, m->payload, m->len))
        return RV_ERR__NOMEM;
    o->headers = b->len;
    o->header_cnt = 0;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
        const char *name;
        const void *val;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             i++) {
            size_t nl = strlen(name);
            if (rv__buf_put_varint(b, (int64_t)nl) || rv__buf_append(b, name, nl) ||
                rv__buf_put_varint(b, val ? (int64_t)size : -1) ||
                (val && rv__buf_append(b, val, size)))
                return RV_ERR__NOMEM;
            o->header_cnt++;
        }
    }
    o->headers_len = b->len - o->headers;
    return RV_ERR_NO_ERROR;
}

static rv_timestamp_type_t ts_type(rd_kafka_timestamp_type_t t) {
    switch (t) {
    case RD_KAFKA_TIMESTAMP_CREATE_TIME:
        return RV_TIMESTAMP_CREATE_TIME;
    case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME:
        return RV_TIMESTAMP_LOG_APPEND_TIME;
    default:
        return RV_TIMESTAMP_NONE;
    }
}

/* Copies the messages into records of rs (one chunk per topic). */
static rv_err_t build_records(rd_kafka_message_t **msgs, size_t n, rv_records_t *rs) {
    if (!n)
        return RV_ERR_NO_ERROR;
    tcopy_t *tc = calloc(n, sizeof(*tc));
    moff_t *mo = calloc(n, sizeof(*mo));
    size_t tcnt = 0;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (!tc || !mo) {
        err = RV_ERR__NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n && !err; i++) {
        size_t t = 0;
        while (t < tcnt && tc[t].rkt != msgs[i]->rkt)
            t++;
        if (t == tcnt) {
            tc[tcnt].rkt = msgs[i]->rkt;
            rv__buf_init(&tc[tcnt].buf);
            tcnt++;
        }
        mo[i].t = (uint32_t)t;
        err = copy_message(&tc[t], &mo[i], msgs[i]);
    }
    for (size_t t = 0; t < tcnt && !err; t++)
        if (!(tc[t].chunk = rv__chunk_new(&tc[t].buf, rd_kafka_topic_name(tc[t].rkt))))
            err = RV_ERR__NOMEM;
    for (size_t i = 0; i < n && !err; i++) {
        const rd_kafka_message_t *m = msgs[i];
        rv__chunk_t *ch = tc[mo[i].t].chunk;
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        rv__record_t rec = {
            .offset = m->offset,
            .timestamp = tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts,
            .key = m->key ? ch->data + mo[i].key : NULL,
            .key_len = m->key ? (int32_t)m->key_len : -1,
            .value = m->payload ? ch->data + mo[i].value : NULL,
            .value_len = m->payload ? (int32_t)m->len : -1,
            .header_cnt = mo[i].header_cnt,
            .headers = ch->data + mo[i].headers,
            .headers_len = mo[i].headers_len,
        };
        err = rv__records_add(rs, ch, m->partition, ts_type(tt), &rec);
    }
out:
    for (size_t t = 0; tc && t < tcnt; t++) {
        rv__buf_free(&tc[t].buf);
        rv__chunk_unref(tc[t].chunk);
    }
    free(tc);
    free(mo);
    return err;
}

rv_err_t rv__kconsumer_poll(rv__kconsumer_t *kc, int timeout_ms, rv_records_t **out) {
    if (kc->held_err) {
        rv_err_t err = seterr(kc, kc->held_err, "%s", kc->held_msg);
        kc->held_err = RV_ERR_NO_ERROR;
        return err;
    }
    if (atomic_exchange(&kc->wakeup, false))
        return seterr(kc, RV_ERR__WAKEUP, "poll was interrupted by wakeup()");
    run_commits(kc, 0);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : rv__mono_ms() + timeout_ms;
    size_t cap = kc->max_poll_records < 4096 ? kc->max_poll_records : 4096;
    rd_kafka_message_t **msgs = malloc(cap * sizeof(*msgs));
    if (!msgs)
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    size_t n = 0;
    rv_err_t err = RV_ERR_NO_ERROR;
    for (;;) {
        int wait = 0;
        /* Housekeeping while waiting for the first record; once records
         * flow, the loop only drains what librdkafka has queued. */
        if (!n) {
            if (atomic_load(&kc->wakeup))
                break;
            if ((err = restart_stalled(kc)) || (err = resolve_new(kc)))
                break;
            apply_seeks(kc);
            if (kc->auto_commit && kc->group_id && kc->part_cnt &&
                rv__mono_ms() >= kc->next_auto_commit) {
                rv_topic_partition_list_t *l = parts_to_list(kc);
                if (l)
                    start_commit(kc, l, NULL, NULL);
                kc->next_auto_commit = rv__mono_ms() + kc->auto_commit_ms;
            }
            int64_t now = rv__mono_ms();
            int64_t left = deadline > now ? deadline - now : 0;
            wait = (int)(left < POLL_STEP_MS ? left : POLL_STEP_MS);
            if (kc->seeks_pending && wait > SEEK_RETRY_MS)
                wait = SEEK_RETRY_MS;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->rk, wait);
        if (kc->held_err && !m) {
            /* The rebalance callback (inside that poll) failed. */
            err = seterr(kc, kc->held_err, "%s", kc->held_msg);
            kc->held_err = RV_ERR_NO_ERROR;
            break;
        }
        if (!m) {
            if (n || rv__mono_ms() >= deadline)
                break;
            if (atomic_load(&kc->wakeup))
                break;
            continue;
        }
        if (m->err) {
            err = message_error(kc, m);
            rd_kafka_message_destroy(m);
            if (err)
                break;
            continue;
        }
        if (!take_message(kc, m)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap * 2 < kc->max_poll_records ? cap * 2 : kc->max_poll_records;
            rd_kafka_message_t **nm = realloc(msgs, ncap * sizeof(*nm));
            if (!nm) {
                rd_kafka_message_destroy(m);
                err = seterr(kc, RV_ERR__NOMEM, "out of memory");
                break;
            }
            msgs = nm;
            cap = ncap;
        }
        msgs[n++] = m;
        if (n >= kc->max_poll_records)
            break;
    }
    /* A wakeup with records in hand waits for the next poll. */
    if (!err && !n && atomic_exchange(&kc->wakeup, false))
        err = seterr(kc, RV_ERR__WAKEUP, "poll was interrupted by wakeup()");
    rv_records_t *rs = NULL;
    if (n) {
        rv_err_t berr = RV_ERR__NOMEM;
        if ((rs = rv__records_new(n)))
            berr = build_records(msgs, n, rs);
        if (berr) {
            rv_records_destroy(rs);
            rs = NULL;
            if (!err)
                err = seterr(kc, berr, "out of memory");
        }
    }
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    free(msgs);
    run_commits(kc, 0);
    if (rs) {
        if (err) {
            hold_error(kc, err, kc->errmsg);
            kc->errmsg[0] = '\0';
        }
        rv__records_finish(rs);
        *out = rs;
        return RV_ERR_NO_ERROR;
    }
    if (err)
        return err;
    if (!(rs = rv__records_new(0)))
        return seterr(kc, RV_ERR__NOMEM, "out of memory");
    rv__records_finish(rs);
    *out = rs;
    return RV_ERR_NO_ERROR;
}

void rv__kconsumer_wakeup(rv__kconsumer_t *kc) {
    atomic_store(&kc->wakeup, true);
    if (kc->cq)
        rd_kafka_queue_yield(kc->cq);
}

/* ---- group information ---- */

const char *rv__kconsumer_member_id(const rv__kconsumer_t *kc) {
    return kc->member_id ? kc->member_id : "";
}

int32_t rv__kconsumer_generation(const rv__kconsumer_t *kc) {
    return kc->generation;
}

/* ---- closing ---- */

/* A member leaves its group before rd_kafka_consumer_close(): it revokes
 * its partitions as unsubscribe does, then serves its queue until
 * librdkafka's assignment is empty, answering the rebalance callbacks
 * while the group still can. Left to close, a revocation that a rebalance
 * queued just before may reach the callback after librdkafka stopped
 * waiting for it and shut its group queue: the callback's assign call
 * then waits forever for an answer (librdkafka 2.0; its issue 4884).
 * Bounded by the commit timeout. Returns the auto commit's error. */
static rv_err_t leave_group(rv__kconsumer_t *kc) {
    rv_err_t err = revoke_all(kc);
    kc->subscribed = false;
    kc->leaving = true;
    rd_kafka_unsubscribe(kc->rk);
    int64_t until = rv__mono_ms() + kc->commit_timeout_ms;
    while (rv__mono_ms() < until) {
        rd_kafka_topic_partition_list_t *a = NULL;
        if (rd_kafka_assignment(kc->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a)
            break;
        int left = a->cnt;
        rd_kafka_topic_partition_list_destroy(a);
        if (!left)
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->rk, 10);
        if (m)
            rd_kafka_message_destroy(m);
    }
    return err;
}

rv_err_t rv__kconsumer_close(rv__kconsumer_t *kc) {
    if (kc->closed)
        return RV_ERR_NO_ERROR;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (!kc->crashed) {
        /* A member commits as it leaves; a manual assignment has no
         * revocation: commit here. */
        if (kc->subscribed)
            err = leave_group(kc);
        else if (kc->part_cnt)
            err = auto_commit_sync(kc, NULL);
        run_commits(kc, kc->commit_timeout_ms);
        kc->close_commit_err = RV_ERR_NO_ERROR;
        rd_kafka_consumer_close(kc->rk);
        if (!err)
            err = kc->close_commit_err;
        run_commits(kc, 0);
        if (err)
            seterr(kc, err, "the final commit failed: %s", rv_err_str(err));
    }
    parts_clear(kc);
    kc->closed = true;
    return err;
}

void rv__kconsumer_destroy(rv__kconsumer_t *kc) {
    if (!kc)
        return;
    if (kc->rk && !kc->closed)
        rv__kconsumer_close(kc);
    if (kc->cq)
        rd_kafka_queue_destroy(kc->cq);
    if (kc->commit_q) {
        /* Answers still owed (a crashed consumer does not wait in close)
         * only free memory now; callbacks are not called any more. */
        int64_t until = rv__mono_ms() + kc->commit_timeout_ms;
        while (kc->ac_inflight && rv__mono_ms() < until)
            rd_kafka_queue_poll_callback(kc->commit_q, 10);
        rd_kafka_queue_destroy(kc->commit_q);
    }
    if (kc->rk)
        rd_kafka_destroy_flags(kc->rk, kc->crashed ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    while (kc->ac_head) {
        acommit_t *ac = kc->ac_head;
        kc->ac_head = ac->next;
        rv_topic_partition_list_destroy(ac->offsets);
        free(ac);
    }
    parts_clear(kc);
    free(kc->parts);
    free(kc->member_id);
    free(kc->group_id);
    free(kc);
}

void rv__kconsumer_simulate_crash(rv__kconsumer_t *kc) {
    kc->crashed = true;
}
