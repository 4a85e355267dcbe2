/* client/producer.c: the producer (include/rivulet/producer.h) and its
 * embedded backend, which appends batches straight to the in-process
 * broker (rv__broker_append, broker/producer_state.h). Partition choice is
 * in client/partitioner.c; batches are RecordBatch v2 built with
 * common/record_batch.h, compressed there through common/codec.h. For a
 * host:port bootstrap.servers the producer checks the configuration and
 * each record here and hands everything else to the kafka backend
 * (client/kafka_producer.c, librdkafka); `kafka` is then set and none of
 * the embedded state below is used.
 *
 * DESIGN
 *
 * Objects, guarded by the producer's `lock` unless said otherwise:
 *  - topics: a list of ptopic_t (name, partition count, one ppart_t per
 *    partition, the sticky partition for null keys). Entries live until
 *    the producer is destroyed, so their names can be handed to callbacks
 *    without copies. The partition count comes from the topic registry
 *    and is refreshed after metadata.max.age.ms; an unknown topic is
 *    looked up again on every send (it may be created meanwhile).
 *  - ppart_t.open: the batch being filled for a partition (the
 *    accumulator). A batch is sealed when the next record would pass
 *    batch.size, when it is older than linger.ms, on flush/close, and when
 *    a send waits for buffer.memory (Kafka's "exhausted" pool sends at
 *    once instead of lingering). Sealed batches are pushed on
 *    `ready_stack`.
 *  - the sender thread takes the whole ready stack (oldest first: seal
 *    order, which keeps per-partition order), puts each partition's
 *    batches together (keeping their order), then stamps the idempotence
 *    fields, finishes the batches (CRC, compression) and appends them. A
 *    partition's consecutive batches (up to RUN_MAX_BATCHES and
 *    RUN_MAX_BYTES) go to the broker in one vectored append
 *    (rv__broker_appendv): in-process there is no request to fit them in,
 *    and one write of 1 MB costs the page cache a fraction of 64 writes of
 *    16 KB. When a run cannot go at once (a batch past its delivery
 *    timeout, a retried duplicate, any error) nothing of it was written,
 *    and its batches are appended one at a time, each with its own result
 *    and retries. Finished batches go on `done_stack` with their result.
 *    With acks=all the appended batches go to a second thread, the
 *    syncer, through a FIFO (`sync_head`): it fsyncs each partition up to
 *    its batches' end (the log's group commit, so one fsync covers every
 *    batch appended meanwhile) and only then puts the batches on
 *    `done_stack`. The sender appends the next batches into the page
 *    cache while the disk writes the previous ones, so the producer is
 *    held back by the slower of the two instead of their sum. The sender
 *    starts the syncer and joins it when it ends itself.
 *  - rv_producer_poll()/flush()/send_sync()/close() move done batches to
 *    the `done` FIFO and run the records' callbacks on the calling
 *    thread, without the lock.
 *
 * The sender and the lock. A send takes the lock once per record; the
 * sender thread must not compete for it, or every batch costs both
 * threads futex wake-ups and the sending thread's cache lines. So the
 * ready and done stacks are lock-free (pushes by compare-and-swap, the
 * taker swaps the whole stack out), buffer.memory in sealed batches
 * (`used`) is atomic, and the sender takes the lock only to seal batches
 * whose linger.ms passed (it sleeps until the earliest deadline it knows,
 * `sender_next_due`) and when kicked: a send that opens a batch due
 * earlier than that deadline, a flush, close, a send waiting for
 * buffer.memory. A full batch needs no kick: sealing pushes it and wakes
 * the sender if it sleeps. The sender sleeps on `sender_cv` under its own
 * `wake_lock`, after setting `sender_waiting` and checking for work once
 * more; wakers publish the work first and then check `sender_waiting`, so
 * no wake-up is lost and a busy sender costs wakers nothing. A thread
 * that waits for reports (report_cv) or for buffer.memory (space_cv)
 * counts itself in `waiting_report`/`waiting_space` before its last check,
 * and the sender broadcasts under the lock only when it sees a waiter.
 * The sequence numbers (ppart_t.next_seq) are the sender's alone; the
 * partitions are allocated one by one so a batch's `part` stays valid
 * while a topic grows.
 *
 * Reuse: emptied batches and their buffers (made with room for
 * batch.size) are kept for the next batches, as many as buffer.memory
 * holds (Kafka's BufferPool keeps its batch.size buffers the same way),
 * so a steady stream of batches allocates nothing and never writes into
 * freshly faulted pages. The sender frees a buffer at once instead when
 * that many reports wait unpolled.
 *
 * Memory: buffer.memory counts the records' estimated sizes from send
 * until their batch has been appended, and with acks=all fsync'd (as
 * Java's BufferPool, which frees a batch when its request completes,
 * before the callback runs). A send that
 * finds the pool full waits on `space_cv` for at most max.block.ms.
 *
 * Idempotence: the producer id and epoch come from the broker when the
 * producer is made. Sequence numbers are assigned per partition when the
 * sender pops a batch, so a batch that fails before being written gives
 * its numbers back (the sender handles one batch at a time, so no later
 * batch of that partition has been numbered yet). A retry resends the same
 * bytes with the same sequence, which the broker answers with the original
 * offsets if the first attempt was written. If the broker reports that the
 * sequences no longer line up (OUT_OF_ORDER_SEQUENCE_NUMBER,
 * UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH), that batch fails and the
 * producer takes a new producer id with all sequences at 0 (as KIP-360's
 * epoch bump), so later batches go through.
 *
 * Delivery timeout: a batch not appended within delivery.timeout.ms of
 * its creation fails with RV_ERR__MSG_TIMED_OUT; retries (retriable errors
 * only, retry.backoff.ms apart) stop at that deadline too. */
#include "rivulet/producer.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/producer_state.h"
#include "broker/topics.h"
#include "client/kafka_conf.h"
#include "client/kafka_producer.h"
#include "client/producer_internal.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "common/record_batch.h"
#include "rivulet/broker.h"

#define EMBEDDED_PREFIX "embedded:"
/* Kafka's estimate of a record's overhead in a batch beyond key, value and
 * headers (DefaultRecord.MAX_RECORD_OVERHEAD). */
#define RECORD_OVERHEAD 21
#define ERRMSG_SIZE 256
/* Emptied batches and batch buffers kept for reuse: as Kafka's BufferPool
 * keeps batch.size buffers, as many as buffer.memory holds, but at least
 * SPARE_MIN and at most SPARE_LIMIT. */
#define SPARE_MIN 32
#define SPARE_LIMIT 65536
/* How far send's clock readings may disagree (the coarse clock lags the
 * precise one by up to a kernel tick) without being taken for the clock
 * going back: each such reading would look the topic up again. */
#define CLOCK_SKEW_MS 1000
/* A batch buffer is made with room for batch.size up to this much; a
 * larger batch.size grows its buffer as records arrive. */
#define BATCH_PREALLOC_MAX (1024 * 1024)
/* The most batches and bytes of one partition the sender appends with one
 * write (see DESIGN). */
#define RUN_MAX_BATCHES 256
#define RUN_MAX_BYTES (1024 * 1024)

typedef struct rmeta_s {
    rv_delivery_cb_t *cb;
    void *opaque;
    int64_t timestamp;
} rmeta_t;

typedef struct ptopic_s ptopic_t;

typedef struct ppart_s ppart_t;

typedef struct pbatch_s {
    struct pbatch_s *next;
    ptopic_t *topic;
    int32_t partition;
    ppart_t *part; /* where its sequence numbers come from; NULL: none */
    uint64_t id;
    rv__buf_t buf;
    rv__batch_builder_t bb;
    rmeta_t *meta;
    int32_t cnt, cap;
    size_t bytes;       /* charged to buffer.memory */
    int64_t created_ms; /* monotonic */
    int32_t base_seq;
    /* the result */
    rv_err_t err;
    char *errmsg;
    int64_t base_offset;
    int64_t log_append_time;
} pbatch_t;

/* Allocated one by one and never moved, so the sender thread can reach
 * next_seq through a batch without the lock while a topic grows. */
struct ppart_s {
    pbatch_t *open;   /* under lock */
    int32_t next_seq; /* the sender thread's alone */
};

struct ptopic_s {
    ptopic_t *next;
    char *name;
    int32_t cnt;       /* known partitions; 0: unknown topic */
    int32_t alloc_cnt; /* size of parts (never shrinks, so no batch is lost) */
    ppart_t **parts;
    int64_t refreshed_ms; /* wall clock: the same reading as record timestamps */
    int32_t sticky;
    uint64_t sticky_batch; /* id of the batch the sticky partition fills */
};

struct rv_producer_s {
    rv_conf_t *conf;
    rv_broker_t *broker;
    rv__kproducer_t *kafka; /* the kafka backend; NULL: embedded */

    int acks;
    int64_t batch_size, linger_ms, buffer_memory, max_block_ms, delivery_timeout_ms;
    int64_t retry_backoff_ms, metadata_max_age_ms;
    int64_t retries, max_request_size;
    int codec;
    bool idempotent;
    rv_partitioner_cb_t *partitioner;
    void *partitioner_opaque;

    pthread_mutex_t lock;
    pthread_cond_t space_cv;  /* buffer.memory freed (with lock) */
    pthread_cond_t report_cv; /* a done batch, or callbacks ran (with lock) */
    ptopic_t *topics;
    pbatch_t *done_head, *done_tail; /* drained from done_stack, in order */
    size_t in_flight;
    size_t open_bytes; /* buffer.memory held by open batches */
    int flushing;
    bool closed;

    /* Shared with the sender thread without the lock (see DESIGN). */
    _Atomic(pbatch_t *) ready_stack; /* sealed batches, newest first */
    _Atomic(pbatch_t *) done_stack;  /* finished batches, newest first */
    atomic_size_t used;              /* buffer.memory held by sealed batches */
    atomic_int done_pending;         /* batches in done_stack */
    atomic_int waiting_space;        /* sends waiting on space_cv */
    atomic_int waiting_report;       /* threads waiting on report_cv */
    atomic_bool kick;                /* the sender must look at the accumulator */
    atomic_bool sender_waiting;
    atomic_bool paused;
    atomic_bool stop;
    _Atomic int64_t sender_next_due; /* the linger deadline the sender waits for */
    pthread_mutex_t wake_lock;       /* guards only the sender's sleep */
    pthread_cond_t sender_cv;        /* work for the sender (with wake_lock) */
    pthread_t sender;
    bool sender_started;
    /* acks=all: appended batches waiting for the syncer thread's fsync,
     * in append order (see DESIGN). */
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cv;
    pbatch_t *sync_head, *sync_tail;
    bool sync_stop;
    uint64_t next_batch_id;
    uint32_t rng;
    rv__buf_t hdr_scratch;
    /* Recycled batches (their record-metadata arrays kept) and batch
     * buffers (their capacity kept): a steady stream of batches then
     * allocates nothing. At most spare_max of each. */
    int spare_max;
    pbatch_t *spare_batches;
    int spare_batch_cnt;
    rv__buf_t *spare_bufs; /* spare_max of them */
    int spare_buf_cnt;

    int64_t producer_id;
    int16_t epoch;
};

/* ---- small helpers ---- */

/* Wall-clock milliseconds at the kernel tick's resolution (a few ms). */
static int64_t now_coarse_ms(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0)
        return rv__now_ms();
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void abs_deadline(struct timespec *ts, int64_t ms_from_now) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms_from_now / 1000;
    ts->tv_nsec += (ms_from_now % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void cond_init_mono(pthread_cond_t *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* The producer's lock is held for a few hundred nanoseconds at a time
 * (one record added to a batch). When several threads send, a waiter that
 * sleeps in the kernel at once costs both sides a system call and a
 * context switch for a wait shorter than either: an adaptive mutex spins
 * briefly first. */
static void mutex_init_adaptive(pthread_mutex_t *m) {
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
#else
    pthread_mutex_init(m, NULL);
#endif
}

/* Waits on c until woken or `deadline_ms` (monotonic; -1: no limit).
 * Returns false when the deadline passed. */
static bool wait_until(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline_ms) {
    if (deadline_ms < 0) {
        pthread_cond_wait(c, m);
        return true;
    }
    int64_t left = deadline_ms - rv__mono_ms();
    if (left <= 0)
        return false;
    struct timespec ts;
    abs_deadline(&ts, left);
    return pthread_cond_timedwait(c, m, &ts) != ETIMEDOUT || rv__mono_ms() < deadline_ms;
}

/* Sequences wrap from INT32_MAX to 0, both ways. */
static int32_t seq_add(int32_t seq, int32_t n) {
    int64_t r = (int64_t)seq + n;
    if (r > INT32_MAX)
        r -= (int64_t)INT32_MAX + 1;
    else if (r < 0)
        r += (int64_t)INT32_MAX + 1;
    return (int32_t)r;
}

static void batch_free(pbatch_t *b) {
    if (!b)
        return;
    rv__buf_free(&b->buf);
    free(b->meta);
    free(b->errmsg);
    free(b);
}

/* Keeps a batch buffer's memory for a later batch, or frees it. Lock
 * held. */
static void buf_recycle(rv_producer_t *p, rv__buf_t *buf) {
    if (buf->data && p->spare_buf_cnt < p->spare_max) {
        buf->len = 0;
        p->spare_bufs[p->spare_buf_cnt++] = *buf;
        rv__buf_init(buf);
    } else {
        rv__buf_free(buf);
    }
}

/* Keeps a served batch (with its metadata array) for a later one, or
 * frees it. Lock held. */
static void batch_recycle(rv_producer_t *p, pbatch_t *b) {
    buf_recycle(p, &b->buf);
    free(b->errmsg);
    b->errmsg = NULL;
    if (p->spare_batch_cnt >= p->spare_max) {
        batch_free(b);
        return;
    }
    b->next = p->spare_batches;
    p->spare_batches = b;
    p->spare_batch_cnt++;
}

static void batch_set_error(pbatch_t *b, rv_err_t err, const char *msg) {
    b->err = err;
    free(b->errmsg);
    b->errmsg = strdup(msg && *msg ? msg : rv_err_str(err));
}

static void fifo_push(pbatch_t **head, pbatch_t **tail, pbatch_t *b) {
    b->next = NULL;
    if (*tail)
        (*tail)->next = b;
    else
        *head = b;
    *tail = b;
}

static pbatch_t *fifo_pop(pbatch_t **head, pbatch_t **tail) {
    pbatch_t *b = *head;
    if (b) {
        *head = b->next;
        if (!*head)
            *tail = NULL;
        b->next = NULL;
    }
    return b;
}

/* Pushes b on a stack shared with the sender (see DESIGN). Any thread. */
static void stack_push(_Atomic(pbatch_t *) *top, pbatch_t *b) {
    pbatch_t *old = atomic_load(top);
    do
        b->next = old;
    while (!atomic_compare_exchange_weak(top, &old, b));
}

/* Takes every batch off a shared stack, oldest first. Any thread. */
static pbatch_t *stack_take(_Atomic(pbatch_t *) *top) {
    pbatch_t *b = atomic_exchange(top, NULL), *list = NULL;
    while (b) {
        pbatch_t *nx = b->next;
        b->next = list;
        list = b;
        b = nx;
    }
    return list;
}

/* Wakes the sender if it sleeps. The caller has published the work first
 * (a pushed batch, the kick flag): the sender sets sender_waiting before
 * it looks for work, under wake_lock, so one of the two sees the other. */
static void wake_sender(rv_producer_t *p) {
    if (!atomic_load(&p->sender_waiting))
        return;
    pthread_mutex_lock(&p->wake_lock);
    pthread_cond_signal(&p->sender_cv);
    pthread_mutex_unlock(&p->wake_lock);
}

/* Makes the sender look at the accumulator (linger deadlines, flush,
 * close, buffer.memory waiters, pause) under the lock. Any thread. */
static void kick_sender(rv_producer_t *p) {
    atomic_store(&p->kick, true);
    wake_sender(p);
}

/* Moves the done batches the sender pushed to the done FIFO. Lock held. */
static void drain_done(rv_producer_t *p) {
    if (!atomic_load(&p->done_stack))
        return;
    pbatch_t *b = stack_take(&p->done_stack);
    while (b) {
        pbatch_t *nx = b->next;
        atomic_fetch_sub(&p->done_pending, 1);
        fifo_push(&p->done_head, &p->done_tail, b);
        b = nx;
    }
}

/* Waits on report_cv until deadline_ms (-1: none) unless the sender has
 * pushed done batches; returns false when the deadline passed. The count
 * of waiters tells the sender to broadcast. Lock held. */
static bool wait_report(rv_producer_t *p, int64_t deadline_ms) {
    atomic_fetch_add(&p->waiting_report, 1);
    bool ok = true;
    if (!atomic_load(&p->done_stack))
        ok = wait_until(&p->report_cv, &p->lock, deadline_ms);
    atomic_fetch_sub(&p->waiting_report, 1);
    drain_done(p);
    return ok;
}

/* ---- topics ---- */

/* Looks the partition count up in the topic registry. Called with the
 * producer lock held: the registry call is short and never calls back. */
static void topic_refresh(rv_producer_t *p, ptopic_t *t, int64_t now_ms) {
    rv__topic_info_t info;
    memset(&info, 0, sizeof info);
    int32_t cnt = 0;
    if (rv__topics_describe(rv__broker_topics(p->broker), t->name, &info, NULL, 0) ==
        RV_ERR_NO_ERROR)
        cnt = info.partition_cnt;
    rv__topic_info_clear(&info);
    t->refreshed_ms = now_ms;
    if (cnt > t->alloc_cnt) {
        ppart_t **np = realloc(t->parts, (size_t)cnt * sizeof *np);
        if (!np)
            return; /* keep the old view; the next refresh tries again */
        t->parts = np;
        for (; t->alloc_cnt < cnt; t->alloc_cnt++)
            if (!(np[t->alloc_cnt] = calloc(1, sizeof **np)))
                break;
        if (t->alloc_cnt < cnt)
            cnt = t->alloc_cnt; /* the rest next time */
    }
    /* A deleted (and maybe recreated) topic can shrink; batches already
     * open on the vanished partitions are still sent, and fail. */
    t->cnt = cnt;
}

static ptopic_t *topic_get(rv_producer_t *p, const char *name, int64_t now_ms) {
    ptopic_t *t = p->topics;
    while (t && strcmp(t->name, name) != 0)
        t = t->next;
    if (!t) {
        if (!(t = calloc(1, sizeof *t)) || !(t->name = strdup(name))) {
            free(t);
            return NULL;
        }
        t->sticky = -1;
        t->next = p->topics;
        p->topics = t;
        topic_refresh(p, t, now_ms);
    } else if (t->cnt == 0 || now_ms - t->refreshed_ms >= p->metadata_max_age_ms ||
               now_ms < t->refreshed_ms - CLOCK_SKEW_MS /* the clock went back */) {
        topic_refresh(p, t, now_ms);
    }
    return t;
}

/* ---- batches ---- */

static pbatch_t *batch_new(rv_producer_t *p, ptopic_t *t, int32_t partition) {
    pbatch_t *b = p->spare_batches;
    if (b) {
        p->spare_batches = b->next;
        p->spare_batch_cnt--;
        rmeta_t *meta = b->meta;
        int32_t cap = b->cap;
        memset(b, 0, sizeof *b);
        b->meta = meta;
        b->cap = cap;
    } else if (!(b = calloc(1, sizeof *b))) {
        return NULL;
    }
    rv__buf_init(&b->buf);
    if (p->spare_buf_cnt > 0) {
        b->buf = p->spare_bufs[--p->spare_buf_cnt];
    } else {
        /* Room for a full batch at once, as Kafka's BufferPool hands out
         * batch.size buffers: no regrowth and copying while it fills (the
         * buffer keeps one spare byte: batch.size - 1 asks for exactly
         * batch.size when that is a power of two). A failure here is not
         * one yet; the builder grows the buffer. */
        int64_t want = p->batch_size < BATCH_PREALLOC_MAX ? p->batch_size : BATCH_PREALLOC_MAX;
        (void)rv__buf_reserve(&b->buf, want > 1 ? (size_t)want - 1 : 1);
    }
    if (rv__batch_builder_begin(&b->bb, &b->buf, 0, (int16_t)p->codec, INT64_MIN,
                                p->idempotent ? p->producer_id : -1, p->idempotent ? p->epoch : -1,
                                -1, -1) != RV_ERR_NO_ERROR) {
        batch_free(b);
        return NULL;
    }
    b->topic = t;
    b->partition = partition;
    b->part = t->parts[partition];
    b->id = ++p->next_batch_id;
    b->created_ms = rv__mono_ms();
    b->base_seq = -1;
    b->base_offset = -1;
    b->log_append_time = -1;
    return b;
}

/* Moves a partition's open batch to the ready stack and wakes the sender.
 * Lock held (seals happen one at a time, in order). */
static void seal(rv_producer_t *p, ppart_t *pp) {
    pbatch_t *b = pp->open;
    if (!b)
        return;
    pp->open = NULL;
    p->open_bytes -= b->bytes;
    atomic_fetch_add(&p->used, b->bytes);
    stack_push(&p->ready_stack, b);
    wake_sender(p);
}

/* Seals the open batches that are due; returns the monotonic time at which
 * the next one will be (INT64_MAX: none). Lock held. */
static int64_t seal_due(rv_producer_t *p, int64_t now) {
    bool all = p->flushing > 0 || atomic_load(&p->stop) || atomic_load(&p->waiting_space) > 0;
    int64_t next = INT64_MAX;
    for (ptopic_t *t = p->topics; t; t = t->next) {
        for (int32_t i = 0; i < t->alloc_cnt; i++) {
            pbatch_t *b = t->parts[i]->open;
            if (!b)
                continue;
            int64_t due = b->created_ms + p->linger_ms;
            if (all || due <= now)
                seal(p, t->parts[i]);
            else if (due < next)
                next = due;
        }
    }
    return next;
}

/* Queues a report for a record that never reached a batch (unknown topic,
 * bad partition): a batch of one record that fails. Lock held. */
static rv_err_t fail_now(rv_producer_t *p, ptopic_t *t, int32_t partition, rv_err_t err,
                         const char *msg, rv_delivery_cb_t *cb, void *opaque, int64_t ts) {
    pbatch_t *b = calloc(1, sizeof *b);
    if (!b || !(b->meta = malloc(sizeof *b->meta))) {
        free(b);
        return RV_ERR__NOMEM;
    }
    rv__buf_init(&b->buf);
    b->topic = t;
    b->partition = partition;
    b->cnt = b->cap = 1;
    b->meta[0] = (rmeta_t){cb, opaque, ts};
    b->base_offset = -1;
    b->log_append_time = -1;
    batch_set_error(b, err, msg);
    fifo_push(&p->done_head, &p->done_tail, b);
    p->in_flight++;
    pthread_cond_broadcast(&p->report_cv);
    return RV_ERR_NO_ERROR;
}

/* ---- the sender thread ---- */

static bool retriable(rv_err_t err) {
    switch (err) {
    case RV_ERR_REQUEST_TIMED_OUT:
    case RV_ERR_LEADER_NOT_AVAILABLE:
    case RV_ERR__TIMED_OUT:
    case RV_ERR__NOMEM:
        return true;
    default:
        return false;
    }
}

static bool sequence_error(rv_err_t err) {
    return err == RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER || err == RV_ERR_UNKNOWN_PRODUCER_ID ||
           err == RV_ERR_INVALID_PRODUCER_EPOCH;
}

/* Takes a new producer id after the broker lost track of our sequences;
 * every partition starts again at sequence 0. Lock held. */
static void reset_producer_id(rv_producer_t *p) {
    char errstr[ERRMSG_SIZE];
    int64_t pid;
    int16_t epoch;
    if (rv__broker_init_producer_id(p->broker, &pid, &epoch, errstr, sizeof errstr)) {
        rv__log_warn("PRODUCER", "Cannot get a new producer id: %s", errstr);
        return;
    }
    rv__log_info("PRODUCER",
                 "Producer id %" PRId64 " replaced by %" PRId64 " after a sequence error",
                 p->producer_id, pid);
    p->producer_id = pid;
    p->epoch = epoch;
    for (ptopic_t *t = p->topics; t; t = t->next)
        for (int32_t i = 0; i < t->alloc_cnt; i++)
            t->parts[i]->next_seq = 0;
}

/* Stamps the idempotence fields and finishes the batch. Unlocked: the
 * batch belongs to the sender now. */
static rv_err_t batch_finish(rv_producer_t *p, pbatch_t *b, int64_t pid, int16_t epoch,
                             char *errstr, size_t errstr_size) {
    uint8_t *h = b->buf.data + b->bb.start;
    if (p->idempotent) {
        rv__wbe64(h + RV__BATCH_OFF_PRODUCER_ID, (uint64_t)pid);
        rv__wbe16(h + RV__BATCH_OFF_PRODUCER_EPOCH, (uint16_t)epoch);
        rv__wbe32(h + RV__BATCH_OFF_BASE_SEQUENCE, (uint32_t)b->base_seq);
    }
    rv_err_t err = rv__batch_builder_finish(&b->bb, -1);
    if (err)
        rv__errstr_set(errstr, errstr_size, "Cannot finish a batch for %s-%d: %s", b->topic->name,
                       b->partition, rv_err_str(err));
    return err;
}

/* Appends one finished batch, retrying retriable errors. Unlocked. */
static rv_err_t batch_append(rv_producer_t *p, pbatch_t *b, char *errstr, size_t errstr_size) {
    int64_t deadline = b->created_ms + p->delivery_timeout_ms;
    for (int64_t attempt = 0;; attempt++) {
        if (rv__mono_ms() > deadline) {
            rv__errstr_set(errstr, errstr_size,
                           "Expiring %d record(s) for %s-%d: %" PRId64
                           " ms has passed since batch creation",
                           b->cnt, b->topic->name, b->partition, rv__mono_ms() - b->created_ms);
            return RV_ERR__MSG_TIMED_OUT;
        }
        rv__append_info_t info;
        memset(&info, 0, sizeof info);
        rv_err_t err =
            rv__broker_append(p->broker, b->topic->name, b->partition, b->buf.data, b->buf.len,
                              p->acks == 0 ? 0 : 1, &info, errstr, errstr_size);
        if (!err) {
            b->base_offset = info.base_offset;
            b->log_append_time = info.log_append_time;
            return RV_ERR_NO_ERROR;
        }
        if (!retriable(err) || attempt >= p->retries ||
            rv__mono_ms() + p->retry_backoff_ms > deadline)
            return err;
        pthread_mutex_lock(&p->wake_lock);
        atomic_store(&p->sender_waiting, true);
        if (!atomic_load(&p->stop))
            wait_until(&p->sender_cv, &p->wake_lock, rv__mono_ms() + p->retry_backoff_ms);
        atomic_store(&p->sender_waiting, false);
        pthread_mutex_unlock(&p->wake_lock);
        if (atomic_load(&p->stop))
            return err;
    }
}

/* Reorders the batches taken from the ready stack so that each
 * partition's come together, each partition's in their order (the only
 * order the reports keep, as Kafka's). Returns the new head. */
static pbatch_t *group_by_partition(pbatch_t *list) {
    pbatch_t *head = NULL, **tail = &head;
    while (list) {
        const ppart_t *part = list->part;
        for (pbatch_t **l = &list; *l;) {
            pbatch_t *b = *l;
            if (b->part != part) {
                l = &b->next;
                continue;
            }
            *l = b->next;
            *tail = b;
            tail = &b->next;
        }
    }
    *tail = NULL;
    return head;
}

/* Finishes the run [b, end) of n batches of one partition and appends it
 * with one write. Returns false when it did not write it (a batch could
 * not be finished or is past its delivery timeout, or the broker refused
 * the run): the caller then appends the batches one at a time, which
 * gives each its own result. Unlocked. */
static bool append_run(rv_producer_t *p, pbatch_t *b, pbatch_t *end, int n, int64_t pid,
                       int16_t epoch) {
    struct iovec iov[RUN_MAX_BATCHES];
    char errstr[ERRMSG_SIZE];
    int64_t now = rv__mono_ms();
    int i = 0;
    for (pbatch_t *c = b; c != end; c = c->next, i++) {
        if (now > c->created_ms + p->delivery_timeout_ms ||
            batch_finish(p, c, pid, epoch, errstr, sizeof errstr))
            return false;
        iov[i] = (struct iovec){c->buf.data, c->buf.len};
    }
    rv__append_info_t info;
    rv_err_t err = rv__broker_appendv(p->broker, b->topic->name, b->partition, iov, n,
                                      p->acks == 0 ? 0 : 1, &info, errstr, sizeof errstr);
    if (err) {
        rv__log_debug("PRODUCER", "%d batches for %s-%d go one at a time: %s", n, b->topic->name,
                      b->partition, errstr);
        return false;
    }
    for (pbatch_t *c = b; c != end; c = c->next) {
        /* The broker wrote each batch's offsets into it. */
        c->base_offset = (int64_t)rv__be64(c->buf.data + c->bb.start + RV__BATCH_OFF_BASE_OFFSET);
        c->log_append_time = info.log_append_time;
    }
    return true;
}

/* Sleeps until there is work: a ready batch, a kick, or the linger
 * deadline `next_due` (INT64_MAX: none). */
static void sender_sleep(rv_producer_t *p, int64_t next_due, bool paused) {
    pthread_mutex_lock(&p->wake_lock);
    atomic_store(&p->sender_waiting, true);
    if (!atomic_load(&p->kick) && !atomic_load(&p->stop) &&
        (paused || !atomic_load(&p->ready_stack)))
        wait_until(&p->sender_cv, &p->wake_lock, next_due == INT64_MAX || paused ? -1 : next_due);
    atomic_store(&p->sender_waiting, false);
    pthread_mutex_unlock(&p->wake_lock);
}

/* Finishes a list of appended batches: with `sync` (acks=all) first fsyncs
 * each partition up to its batches' end (the log's group commit: one
 * fsync covers every batch appended to the partition so far), then hands
 * the batches to the reports (done_stack), frees their buffer.memory and
 * wakes whoever waits for either. Run by one thread only (the sender, or
 * the syncer when it runs), so done_stack keeps the append order. */
static void complete(rv_producer_t *p, pbatch_t *list, bool sync) {
    char errstr[ERRMSG_SIZE];
    for (pbatch_t *b = sync ? list : NULL; b; b = b->next) {
        if (b->err)
            continue;
        int64_t end = b->base_offset + b->cnt;
        rv_err_t err =
            rv__broker_sync(p->broker, b->topic->name, b->partition, end, errstr, sizeof errstr);
        if (err)
            batch_set_error(b, err, errstr);
    }
    size_t freed = 0;
    for (pbatch_t *b = list, *nx; b; b = nx) {
        nx = b->next;
        freed += b->bytes;
        b->bytes = 0;
        /* The buffer goes back with the batch for reuse, unless reports
         * pile up unpolled: then it is freed now. */
        if (atomic_fetch_add(&p->done_pending, 1) >= p->spare_max)
            rv__buf_free(&b->buf);
        stack_push(&p->done_stack, b);
    }
    atomic_fetch_sub(&p->used, freed);
    /* Waiters count themselves before they check (wait_report, send's
     * buffer.memory wait), so either they see the change or the sender
     * sees them and broadcasts under their lock. */
    if (atomic_load(&p->waiting_report) > 0 || atomic_load(&p->waiting_space) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->space_cv);
        pthread_cond_broadcast(&p->report_cv);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Queues appended batches (in append order) for the syncer. */
static void sync_queue_push(rv_producer_t *p, pbatch_t *list) {
    pbatch_t *tail = list;
    while (tail->next)
        tail = tail->next;
    pthread_mutex_lock(&p->sync_lock);
    if (p->sync_tail)
        p->sync_tail->next = list;
    else
        p->sync_head = list;
    p->sync_tail = tail;
    pthread_cond_signal(&p->sync_cv);
    pthread_mutex_unlock(&p->sync_lock);
}

/* The syncer thread (acks=all): fsyncs and completes what the sender
 * appended, while the sender appends the next batches (see DESIGN). Ends
 * when the sender says stop and the queue is empty. */
static void *syncer_main(void *arg) {
    rv_producer_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->sync_lock);
        while (!p->sync_head && !p->sync_stop)
            pthread_cond_wait(&p->sync_cv, &p->sync_lock);
        pbatch_t *list = p->sync_head;
        p->sync_head = p->sync_tail = NULL;
        pthread_mutex_unlock(&p->sync_lock);
        if (!list)
            return NULL;
        complete(p, list, true);
    }
}

static void *sender_main(void *arg) {
    rv_producer_t *p = arg;
    char errstr[ERRMSG_SIZE];
    /* acks=all: a second thread fsyncs while this one appends; without it
     * (it could not be started) this thread does both in turn. */
    pthread_t syncer;
    bool syncer_started = p->acks == -1 && pthread_create(&syncer, NULL, syncer_main, p) == 0;
    int64_t next_due = INT64_MAX;
    for (;;) {
        /* The accumulator is the sending threads' (see DESIGN): the lock
         * is taken only when a linger deadline passed or a kick asks. */
        int64_t now = rv__mono_ms();
        if (atomic_exchange(&p->kick, false) || now >= next_due) {
            pthread_mutex_lock(&p->lock);
            next_due = seal_due(p, now);
            atomic_store(&p->sender_next_due, next_due);
            pthread_mutex_unlock(&p->lock);
        }
        /* Taken under wake_lock so that a pause holds from its return. */
        pthread_mutex_lock(&p->wake_lock);
        bool paused = atomic_load(&p->paused);
        pbatch_t *list = paused ? NULL : stack_take(&p->ready_stack);
        pthread_mutex_unlock(&p->wake_lock);
        if (!list) {
            if (atomic_load(&p->stop) && !atomic_load(&p->ready_stack))
                break;
            sender_sleep(p, next_due, paused);
            continue;
        }
        /* Number every batch taken (see DESIGN); the sender alone uses the
         * sequences and the producer id, so no lock is needed. */
        int64_t pid = p->producer_id;
        int16_t epoch = p->epoch;
        if (p->idempotent) {
            for (pbatch_t *b = list; b; b = b->next) {
                b->base_seq = b->part->next_seq;
                b->part->next_seq = seq_add(b->part->next_seq, b->cnt);
            }
        }

        list = group_by_partition(list);
        bool reset = false;
        for (pbatch_t *b = list, *end; b; b = end) {
            int n = 1;
            size_t bytes = b->buf.len;
            for (end = b->next; end && end->part == b->part && n < RUN_MAX_BATCHES &&
                                bytes + end->buf.len <= RUN_MAX_BYTES;
                 end = end->next) {
                n++;
                bytes += end->buf.len;
            }
            if (n > 1 && !reset && append_run(p, b, end, n, pid, epoch))
                continue;
            for (pbatch_t *c = b; c != end; c = c->next) {
                errstr[0] = '\0';
                rv_err_t err = batch_finish(p, c, pid, epoch, errstr, sizeof errstr);
                if (!err)
                    err = batch_append(p, c, errstr, sizeof errstr);
                if (err) {
                    batch_set_error(c, err, errstr);
                    if (p->idempotent && sequence_error(err))
                        reset = true;
                    else if (p->idempotent) {
                        /* Not written: the partition's later batches in
                         * this list move down into the numbers it leaves
                         * free (a finish stamps them again). */
                        for (pbatch_t *d = c->next; d; d = d->next)
                            if (d->part == c->part)
                                d->base_seq = seq_add(d->base_seq, -c->cnt);
                    }
                }
            }
        }
        if (reset) {
            /* The producer id is read by sending threads under the lock. */
            pthread_mutex_lock(&p->lock);
            reset_producer_id(p);
            pthread_mutex_unlock(&p->lock);
        }
        /* A batch that failed before it was written gives its sequence
         * numbers back, unless a reset renumbered everything. */
        for (pbatch_t *b = list; b; b = b->next)
            if (b->err && p->idempotent && !reset && b->base_offset < 0)
                b->part->next_seq = seq_add(b->part->next_seq, -b->cnt);
        if (syncer_started)
            sync_queue_push(p, list);
        else
            complete(p, list, p->acks == -1);
    }
    if (syncer_started) {
        pthread_mutex_lock(&p->sync_lock);
        p->sync_stop = true;
        pthread_cond_signal(&p->sync_cv);
        pthread_mutex_unlock(&p->sync_lock);
        pthread_join(syncer, NULL);
    }
    return NULL;
}

/* ---- reports ---- */

/* Runs the callbacks of one done batch. Unlocked. */
static void run_callbacks(rv_producer_t *p, pbatch_t *b) {
    for (int32_t i = 0; i < b->cnt; i++) {
        const rmeta_t *m = &b->meta[i];
        if (!m->cb)
            continue;
        if (b->err) {
            m->cb(p, b->err, b->errmsg ? b->errmsg : rv_err_str(b->err), b->topic->name,
                  b->partition, -1, m->timestamp, m->opaque);
        } else {
            int64_t off = p->acks == 0 ? -1 : b->base_offset + i;
            int64_t ts = b->log_append_time >= 0 ? b->log_append_time : m->timestamp;
            m->cb(p, RV_ERR_NO_ERROR, NULL, b->topic->name, b->partition, off, ts, m->opaque);
        }
    }
}

/* Pops and serves done batches; waits until deadline_ms for the first
 * (-1: no limit; 0: no wait). Lock held on entry and exit. */
static int serve(rv_producer_t *p, int64_t deadline_ms, bool wait) {
    int n = 0;
    drain_done(p);
    while (!p->done_head && wait) {
        if (!wait_report(p, deadline_ms))
            break;
        if (deadline_ms >= 0 && rv__mono_ms() >= deadline_ms)
            break;
    }
    pbatch_t *b;
    while ((b = fifo_pop(&p->done_head, &p->done_tail)) != NULL) {
        pthread_mutex_unlock(&p->lock);
        run_callbacks(p, b);
        pthread_mutex_lock(&p->lock);
        for (int32_t i = 0; i < b->cnt; i++)
            n += b->meta[i].cb ? 1 : 0;
        p->in_flight -= (size_t)b->cnt;
        batch_recycle(p, b);
        pthread_cond_broadcast(&p->report_cv);
    }
    return n;
}

int rv_producer_poll(rv_producer_t *p, int timeout_ms) {
    if (!p)
        return 0;
    if (p->kafka)
        return rv__kproducer_poll(p->kafka, timeout_ms);
    pthread_mutex_lock(&p->lock);
    int64_t deadline = timeout_ms < 0 ? -1 : rv__mono_ms() + timeout_ms;
    int n = serve(p, deadline, timeout_ms != 0);
    pthread_mutex_unlock(&p->lock);
    return n;
}

rv_err_t rv_producer_flush(rv_producer_t *p, int timeout_ms) {
    if (!p)
        return RV_ERR__INVALID_ARG;
    if (p->kafka)
        return rv__kproducer_flush(p->kafka, timeout_ms);
    int64_t deadline = timeout_ms < 0 ? -1 : rv__mono_ms() + timeout_ms;
    rv_err_t err = RV_ERR_NO_ERROR;
    pthread_mutex_lock(&p->lock);
    p->flushing++;
    kick_sender(p);
    while (p->in_flight > 0) {
        drain_done(p);
        if (p->done_head) {
            serve(p, 0, false);
            continue;
        }
        if (deadline >= 0 && rv__mono_ms() >= deadline) {
            err = RV_ERR__TIMED_OUT;
            break;
        }
        wait_report(p, deadline);
    }
    p->flushing--;
    pthread_mutex_unlock(&p->lock);
    return err;
}

size_t rv_producer_in_flight(rv_producer_t *p) {
    if (!p)
        return 0;
    if (p->kafka)
        return rv__kproducer_in_flight(p->kafka);
    pthread_mutex_lock(&p->lock);
    size_t n = p->in_flight;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* ---- send ---- */

static rv_err_t record_check(const rv_producer_record_t *r, char *errstr, size_t errstr_size) {
    if (!r || r->version != RV_PRODUCER_RECORD_VERSION) {
        rv__errstr_set(errstr, errstr_size,
                       "A record made from RV_PRODUCER_RECORD_INIT is required");
        return RV_ERR__INVALID_ARG;
    }
    if (!r->topic || !*r->topic) {
        rv__errstr_set(errstr, errstr_size, "The record has no topic");
        return RV_ERR__INVALID_ARG;
    }
    if (r->partition < 0 && r->partition != RV_PARTITION_ANY) {
        rv__errstr_set(errstr, errstr_size, "Invalid partition %d", r->partition);
        return RV_ERR__INVALID_ARG;
    }
    if (r->key_len < -1 || (r->key_len > 0 && !r->key) || (!r->key && r->key_len > 0)) {
        rv__errstr_set(errstr, errstr_size,
                       "Invalid key: NULL with key_len -1 is a null key, else key_len >= 0");
        return RV_ERR__INVALID_ARG;
    }
    if (r->value_len < -1 || (r->value_len > 0 && !r->value)) {
        rv__errstr_set(errstr, errstr_size,
                       "Invalid value: NULL with value_len -1 is a null value, else "
                       "value_len >= 0");
        return RV_ERR__INVALID_ARG;
    }
    if (r->timestamp < -1) {
        rv__errstr_set(errstr, errstr_size, "Invalid timestamp %" PRId64, r->timestamp);
        return RV_ERR_INVALID_TIMESTAMP;
    }
    if (r->header_cnt && !r->headers) {
        rv__errstr_set(errstr, errstr_size, "header_cnt is %zu but headers is NULL", r->header_cnt);
        return RV_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < r->header_cnt; i++) {
        const rv_header_t *h = &r->headers[i];
        if (!h->key || h->value_len < -1 || (h->value_len > 0 && !h->value)) {
            rv__errstr_set(errstr, errstr_size, "Invalid header %zu: a key is required", i);
            return RV_ERR__INVALID_ARG;
        }
    }
    return RV_ERR_NO_ERROR;
}

static size_t record_size(const rv_producer_record_t *r) {
    size_t n = RECORD_OVERHEAD;
    n += r->key_len > 0 ? (size_t)r->key_len : 0;
    n += r->value_len > 0 ? (size_t)r->value_len : 0;
    for (size_t i = 0; i < r->header_cnt; i++)
        n += strlen(r->headers[i].key) + 10 +
             (r->headers[i].value_len > 0 ? (size_t)r->headers[i].value_len : 0);
    return n;
}

/* Chooses the partition of a record without one. Lock held; the user's
 * partitioner runs unlocked. Returns -1 for a partitioner result out of
 * range (*cnt gets the partition count seen). */
static int32_t choose_partition(rv_producer_t *p, ptopic_t *t, const rv_producer_record_t *r) {
    int32_t cnt = t->cnt;
    if (p->partitioner) {
        pthread_mutex_unlock(&p->lock);
        int32_t part = p->partitioner(r->topic, r->key, r->key ? r->key_len : -1, r->value,
                                      r->value ? r->value_len : -1, cnt, p->partitioner_opaque);
        pthread_mutex_lock(&p->lock);
        return part >= 0 && part < cnt && part < t->cnt ? part : -1;
    }
    if (r->key) /* one partition: the hash could only say 0 */
        return cnt == 1 ? 0 : rv_partitioner_murmur2(r->key, r->key_len, cnt);
    /* Sticky: stay on one partition until its batch is sealed (sent), then
     * move to another one (Kafka's onNewBatch). */
    if (t->sticky < 0 || t->sticky >= cnt || !t->parts[t->sticky]->open ||
        t->parts[t->sticky]->open->id != t->sticky_batch)
        t->sticky = rv__sticky_next(t->sticky_batch ? t->sticky : -1, cnt, &p->rng);
    return t->sticky;
}

/* The checks every send makes before either backend takes the record;
 * *size gets the record's estimated size. */
static rv_err_t send_check(const rv_producer_t *p, const rv_producer_record_t *r, size_t *size,
                           char *errstr, size_t errstr_size) {
    if (!p) {
        rv__errstr_set(errstr, errstr_size, "No producer");
        return RV_ERR__INVALID_ARG;
    }
    rv_err_t err = record_check(r, errstr, errstr_size);
    if (err)
        return err;
    *size = record_size(r);
    if ((int64_t)*size > p->max_request_size) {
        rv__errstr_set(errstr, errstr_size,
                       "The message is %zu bytes when serialized which is larger than %" PRId64
                       ", which is the value of the max.request.size configuration.",
                       *size, p->max_request_size);
        return RV_ERR_MESSAGE_TOO_LARGE;
    }
    if ((int64_t)*size > p->buffer_memory) {
        rv__errstr_set(errstr, errstr_size,
                       "The message is %zu bytes when serialized which is larger than the total "
                       "memory buffer you have configured with the buffer.memory configuration.",
                       *size);
        return RV_ERR_MESSAGE_TOO_LARGE;
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_producer_send(rv_producer_t *p, const rv_producer_record_t *r, rv_delivery_cb_t *cb,
                          void *opaque, char *errstr, size_t errstr_size) {
    size_t size = 0;
    rv_err_t err = send_check(p, r, &size, errstr, errstr_size);
    if (err)
        return err;
    if (p->kafka)
        return rv__kproducer_send(p->kafka, r, size, cb, opaque, errstr, errstr_size);
    /* One clock reading per send serves the timestamp and the metadata age.
     * A record that brings its timestamp (every record a stream app sends)
     * only needs the clock for the metadata age, counted in minutes: the
     * coarse clock, a plain memory read, is exact enough for that. */
    int64_t now = r->timestamp >= 0 ? now_coarse_ms() : rv__now_ms();
    int64_t ts = r->timestamp >= 0 ? r->timestamp : now;

    pthread_mutex_lock(&p->lock);
    if (p->closed) {
        pthread_mutex_unlock(&p->lock);
        rv__errstr_set(errstr, errstr_size, "Cannot send after the producer is closed.");
        return RV_ERR__STATE;
    }
    ptopic_t *t = topic_get(p, r->topic, now);
    if (!t) {
        pthread_mutex_unlock(&p->lock);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    if (t->cnt == 0) {
        char msg[ERRMSG_SIZE];
        snprintf(msg, sizeof msg,
                 "Topic %s not present in metadata (topics are not created "
                 "automatically; create it first)",
                 t->name);
        err = fail_now(p, t, r->partition, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, msg, cb, opaque, ts);
        pthread_mutex_unlock(&p->lock);
        return err;
    }

    /* Wait for room in buffer.memory, sending lingering batches meanwhile. */
    if (p->open_bytes + atomic_load(&p->used) + size > (size_t)p->buffer_memory) {
        int64_t deadline = rv__mono_ms() + p->max_block_ms;
        /* Counted before the check below: see sender_main. */
        atomic_fetch_add(&p->waiting_space, 1);
        kick_sender(p);
        while (p->open_bytes + atomic_load(&p->used) + size > (size_t)p->buffer_memory &&
               !p->closed) {
            if (!wait_until(&p->space_cv, &p->lock, deadline))
                break;
        }
        atomic_fetch_sub(&p->waiting_space, 1);
        if (p->open_bytes + atomic_load(&p->used) + size > (size_t)p->buffer_memory || p->closed) {
            bool closed = p->closed;
            pthread_mutex_unlock(&p->lock);
            if (closed) {
                rv__errstr_set(errstr, errstr_size, "Cannot send after the producer is closed.");
                return RV_ERR__STATE;
            }
            rv__errstr_set(errstr, errstr_size,
                           "Failed to allocate memory within the configured max blocking time "
                           "%" PRId64 " ms.",
                           p->max_block_ms);
            return RV_ERR__QUEUE_FULL;
        }
    }

    int32_t part = r->partition;
    if (part == RV_PARTITION_ANY)
        part = choose_partition(p, t, r);
    if (part < 0 || part >= t->cnt) {
        char msg[ERRMSG_SIZE];
        if (r->partition >= 0)
            snprintf(msg, sizeof msg,
                     "Partition %d of topic %s with partition count %d is not "
                     "present in metadata",
                     r->partition, t->name, t->cnt);
        else
            snprintf(msg, sizeof msg,
                     "The partitioner returned a partition outside 0..%d for "
                     "topic %s",
                     t->cnt - 1, t->name);
        err = fail_now(p, t, r->partition, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, msg, cb, opaque, ts);
        pthread_mutex_unlock(&p->lock);
        return err;
    }

    ppart_t *pp = t->parts[part];
    if (pp->open && pp->open->cnt > 0 && (int64_t)(pp->open->buf.len + size) > p->batch_size)
        seal(p, pp);
    /* A new batch gives the sender a new linger deadline to wait for. */
    bool opened = !pp->open;
    if (!pp->open && !(pp->open = batch_new(p, t, part))) {
        pthread_mutex_unlock(&p->lock);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    pbatch_t *b = pp->open;
    if (!r->key && r->partition == RV_PARTITION_ANY && !p->partitioner)
        t->sticky_batch = b->id;
    if (b->cnt == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 64;
        rmeta_t *m = realloc(b->meta, (size_t)cap * sizeof *m);
        if (!m) {
            pthread_mutex_unlock(&p->lock);
            rv__errstr_set(errstr, errstr_size, "Out of memory");
            return RV_ERR__NOMEM;
        }
        b->meta = m;
        b->cap = cap;
    }
    rv__buf_t *hb = &p->hdr_scratch;
    hb->len = 0;
    for (size_t i = 0; i < r->header_cnt && !err; i++)
        err = rv__headers_encode(hb, r->headers[i].key, (int32_t)strlen(r->headers[i].key),
                                 r->headers[i].value, r->headers[i].value_len);
    if (!err)
        err = rv__batch_builder_add(&b->bb, b->cnt, ts, r->key, r->key ? r->key_len : -1, r->value,
                                    r->value ? r->value_len : -1, (int32_t)r->header_cnt,
                                    r->header_cnt ? hb->data : NULL, hb->len);
    if (err) {
        pthread_mutex_unlock(&p->lock);
        rv__errstr_set(errstr, errstr_size, "Cannot add the record to a batch: %s",
                       rv_err_str(err));
        return err;
    }
    b->meta[b->cnt++] = (rmeta_t){cb, opaque, ts};
#if defined(__GNUC__)
    /* The batch buffer last went through the sender's write on the other
     * core: ask for the lines the next records go to now, so their
     * ownership moves here while this thread does other work instead of
     * stalling the next add. */
    for (size_t ahead = 128; ahead < 384; ahead += 64)
        if (b->buf.len + ahead < b->buf.cap)
            __builtin_prefetch(b->buf.data + b->buf.len + ahead, 1, 3);
#endif
    /* buffer.memory is counted per batch here and moves to `used` when
     * the batch is sealed: no atomic operation per record. */
    b->bytes += size;
    p->open_bytes += size;
    p->in_flight++;
    if ((int64_t)b->buf.len >= p->batch_size) {
        /* Full: it goes at once. */
        seal(p, pp);
    } else if (opened) {
        /* The sender waits for the earliest linger deadline it knows of;
         * it learns of an earlier one, or of a batch to send at once
         * (linger.ms=0, a flush or a blocked send in progress), here. */
        int64_t due = b->created_ms + p->linger_ms;
        if (p->linger_ms == 0 || p->flushing > 0 || atomic_load(&p->waiting_space) > 0 ||
            due < atomic_load(&p->sender_next_due)) {
            atomic_store(&p->sender_next_due, due);
            kick_sender(p);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return RV_ERR_NO_ERROR;
}

/* ---- send_sync ---- */

typedef struct sync_res_s {
    atomic_int done;
    rv_err_t err;
    char msg[ERRMSG_SIZE];
    int32_t partition;
    int64_t offset, timestamp;
} sync_res_t;

static void sync_cb(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                    int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p, (void)topic;
    sync_res_t *res = opaque;
    res->err = err;
    snprintf(res->msg, sizeof res->msg, "%s", errmsg ? errmsg : "");
    res->partition = partition;
    res->offset = offset;
    res->timestamp = timestamp;
    atomic_store(&res->done, 1);
}

rv_err_t rv_producer_send_sync(rv_producer_t *p, const rv_producer_record_t *r, int32_t *partition,
                               int64_t *offset, int64_t *timestamp, char *errstr,
                               size_t errstr_size) {
    sync_res_t res;
    memset(&res, 0, sizeof res);
    atomic_init(&res.done, 0);
    rv_err_t err = rv_producer_send(p, r, sync_cb, &res, errstr, errstr_size);
    if (err)
        return err;
    if (p->kafka) {
        rv__kproducer_sync_wait(p->kafka, &res.done);
    } else {
        /* The caller waits for this record: do not let it linger. */
        pthread_mutex_lock(&p->lock);
        p->flushing++;
        kick_sender(p);
        pthread_mutex_unlock(&p->lock);
        while (!atomic_load(&res.done))
            rv_producer_poll(p, 10);
        pthread_mutex_lock(&p->lock);
        p->flushing--;
        pthread_mutex_unlock(&p->lock);
    }
    if (partition)
        *partition = res.partition;
    if (offset)
        *offset = res.offset;
    if (timestamp)
        *timestamp = res.timestamp;
    if (res.err)
        rv__errstr_set(errstr, errstr_size, "%s", res.msg);
    return res.err;
}

/* ---- lifecycle ---- */

/* Whether `name` was set explicitly: rv_conf_get() hands out the table's
 * own default string when it was not. */
static bool conf_is_set(const rv_conf_t *conf, const char *name) {
    const rv__prop_t *prop = rv__prop_find(rv__conf_props, name);
    return prop && rv_conf_get(conf, name) != prop->dflt;
}

static rv_err_t parse_conf(rv_producer_t *p, rv_conf_t *conf, char *errstr, size_t errstr_size) {
    const char *acks = rv_conf_get(conf, "acks");
    p->acks = !strcmp(acks, "all") || !strcmp(acks, "-1") ? -1 : atoi(acks);
    p->batch_size = rv__conf_get_int64(conf, "batch.size", 16384);
    p->linger_ms = rv__conf_get_int64(conf, "linger.ms", 0);
    p->buffer_memory = rv__conf_get_int64(conf, "buffer.memory", 33554432);
    p->max_block_ms = rv__conf_get_int64(conf, "max.block.ms", 60000);
    p->delivery_timeout_ms = rv__conf_get_int64(conf, "delivery.timeout.ms", 120000);
    p->retry_backoff_ms = rv__conf_get_int64(conf, "retry.backoff.ms", 100);
    p->metadata_max_age_ms = rv__conf_get_int64(conf, "metadata.max.age.ms", 300000);
    p->retries = rv__conf_get_int64(conf, "retries", INT32_MAX);
    p->max_request_size = rv__conf_get_int64(conf, "max.request.size", 1048576);
    int64_t request_timeout = rv__conf_get_int64(conf, "request.timeout.ms", 30000);
    int64_t max_in_flight = rv__conf_get_int64(conf, "max.in.flight.requests.per.connection", 5);
    p->codec = rv__codec_by_name(rv_conf_get(conf, "compression.type"));
    if (p->codec < 0) {
        rv__errstr_set(errstr, errstr_size, "Invalid value %s for configuration compression.type",
                       rv_conf_get(conf, "compression.type"));
        return RV_ERR__INVALID_ARG;
    }
    if (p->delivery_timeout_ms < p->linger_ms + request_timeout) {
        rv__errstr_set(errstr, errstr_size,
                       "delivery.timeout.ms should be equal to or larger than linger.ms + "
                       "request.timeout.ms");
        return RV_ERR__INVALID_ARG;
    }
    /* Kafka 3.x: idempotence is on by default, silently off when a
     * conflicting setting was chosen, and an error when asked for
     * explicitly together with one. */
    bool explicit_idem = conf_is_set(conf, "enable.idempotence");
    p->idempotent = rv__conf_get_bool(conf, "enable.idempotence", true);
    if (p->idempotent) {
        const char *why = NULL;
        if (p->acks != -1)
            why = "Must set acks to all in order to use the idempotent producer. Otherwise we "
                  "cannot guarantee idempotence.";
        else if (p->retries == 0)
            why = "Must set retries to non-zero when using the idempotent producer.";
        else if (max_in_flight > 5)
            why = "Must set max.in.flight.requests.per.connection to at most 5 to use the "
                  "idempotent producer.";
        if (why && explicit_idem) {
            rv__errstr_set(errstr, errstr_size, "%s", why);
            return RV_ERR__INVALID_ARG;
        }
        if (why)
            p->idempotent = false;
    }
    return RV_ERR_NO_ERROR;
}

/* The codec must work before any record is accepted: build one batch. */
static rv_err_t codec_check(int codec, char *errstr, size_t errstr_size) {
    if (codec == RV__CODEC_NONE)
        return RV_ERR_NO_ERROR;
    rv__buf_t out = RV__BUF_INIT;
    rv__batch_builder_t bb;
    rv_err_t err = rv__batch_builder_begin(&bb, &out, 0, (int16_t)codec, INT64_MIN, -1, -1, -1, -1);
    if (!err)
        err = rv__batch_builder_add(&bb, 0, 0, NULL, -1, "x", 1, 0, NULL, 0);
    if (!err)
        err = rv__batch_builder_finish(&bb, -1);
    rv__buf_free(&out);
    if (err)
        rv__errstr_set(errstr, errstr_size,
                       "compression.type %s is not available in this build: %s",
                       rv__codec_name(codec), rv_err_str(err));
    return err;
}

rv_producer_t *rv_producer_new(rv_conf_t *conf, char *errstr, size_t errstr_size) {
    const char *bs = conf ? rv_conf_get(conf, "bootstrap.servers") : NULL;
    if (!bs || !*bs) {
        rv__errstr_set(errstr, errstr_size,
                       "bootstrap.servers is not set: use embedded:DIR for the embedded broker "
                       "or a host:port list for a Kafka cluster");
        return NULL;
    }
    bool remote = rv__kafka_is_remote(bs);
    const char *dir = remote ? NULL : bs + strlen(EMBEDDED_PREFIX);
    if (dir && !*dir) {
        rv__errstr_set(errstr, errstr_size, "bootstrap.servers=%s: embedded: needs a data folder",
                       bs);
        return NULL;
    }
    rv_producer_t *p = calloc(1, sizeof *p);
    if (!p) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    p->producer_id = -1;
    p->epoch = -1;
    /* Both backends make the same configuration checks; librdkafka then
     * does the rest of the kafka backend's work. */
    if (parse_conf(p, conf, errstr, errstr_size)) {
        free(p);
        return NULL;
    }
    if (remote) {
        if (!(p->kafka = rv__kproducer_new(p, conf, p->idempotent, errstr, errstr_size))) {
            free(p);
            return NULL;
        }
        p->conf = conf;
        return p;
    }
    if (codec_check(p->codec, errstr, errstr_size)) {
        free(p);
        return NULL;
    }
    if (rv_broker_open(&p->broker, dir, errstr, errstr_size)) {
        free(p);
        return NULL;
    }
    if (p->idempotent &&
        rv__broker_init_producer_id(p->broker, &p->producer_id, &p->epoch, errstr, errstr_size)) {
        rv_broker_close(p->broker);
        free(p);
        return NULL;
    }
    mutex_init_adaptive(&p->lock);
    pthread_mutex_init(&p->wake_lock, NULL);
    pthread_mutex_init(&p->sync_lock, NULL);
    pthread_cond_init(&p->sync_cv, NULL);
    atomic_init(&p->ready_stack, NULL);
    atomic_init(&p->done_stack, NULL);
    atomic_init(&p->used, 0);
    atomic_init(&p->done_pending, 0);
    atomic_init(&p->waiting_space, 0);
    atomic_init(&p->waiting_report, 0);
    atomic_init(&p->kick, false);
    atomic_init(&p->sender_waiting, false);
    atomic_init(&p->paused, false);
    atomic_init(&p->stop, false);
    atomic_init(&p->sender_next_due, INT64_MAX);
    cond_init_mono(&p->sender_cv);
    cond_init_mono(&p->space_cv);
    cond_init_mono(&p->report_cv);
    rv__buf_init(&p->hdr_scratch);
    int64_t spare = p->buffer_memory / (p->batch_size > 0 ? p->batch_size : 1);
    p->spare_max = (int)(spare < SPARE_MIN ? SPARE_MIN : spare > SPARE_LIMIT ? SPARE_LIMIT : spare);
    if (!(p->spare_bufs = calloc((size_t)p->spare_max, sizeof *p->spare_bufs)))
        p->spare_max = 0; /* no reuse, which costs time only */
    p->rng = (uint32_t)rv__mono_us() ^ (uint32_t)(uintptr_t)p;
    if (pthread_create(&p->sender, NULL, sender_main, p) != 0) {
        rv__errstr_set(errstr, errstr_size, "Cannot start the producer's sender thread");
        free(p->spare_bufs);
        pthread_cond_destroy(&p->sender_cv);
        pthread_cond_destroy(&p->space_cv);
        pthread_cond_destroy(&p->report_cv);
        pthread_mutex_destroy(&p->lock);
        pthread_mutex_destroy(&p->wake_lock);
        pthread_mutex_destroy(&p->sync_lock);
        pthread_cond_destroy(&p->sync_cv);
        rv_broker_close(p->broker);
        free(p);
        return NULL;
    }
    p->sender_started = true;
    p->conf = conf;
    return p;
}

void rv_producer_set_partitioner(rv_producer_t *p, rv_partitioner_cb_t *cb, void *opaque) {
    if (!p)
        return;
    if (p->kafka) {
        rv__kproducer_set_partitioner(p->kafka, cb, opaque);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->partitioner = cb;
    p->partitioner_opaque = opaque;
    pthread_mutex_unlock(&p->lock);
}

rv_err_t rv_producer_close(rv_producer_t *p, int timeout_ms) {
    if (!p)
        return RV_ERR__INVALID_ARG;
    if (p->kafka)
        return rv__kproducer_close(p->kafka, timeout_ms);
    pthread_mutex_lock(&p->lock);
    bool closed = p->closed;
    pthread_mutex_unlock(&p->lock);
    if (closed)
        return RV_ERR_NO_ERROR;
    rv_err_t err = rv_producer_flush(p, timeout_ms);
    pthread_mutex_lock(&p->lock);
    p->closed = true;
    atomic_store(&p->paused, false); /* first: a paused sender never sees stop alone */
    atomic_store(&p->stop, true);
    /* Batches the sender has not taken yet are not sent: fail them, the
     * sealed ones first, then the open ones, so reports keep send order. */
    pbatch_t *failed = stack_take(&p->ready_stack), *failed_tail = failed;
    for (pbatch_t *b = failed; b; b = b->next) {
        atomic_fetch_sub(&p->used, b->bytes);
        failed_tail = b;
    }
    for (ptopic_t *t = p->topics; t; t = t->next)
        for (int32_t i = 0; i < t->alloc_cnt; i++)
            if (t->parts[i]->open) {
                p->open_bytes -= t->parts[i]->open->bytes;
                fifo_push(&failed, &failed_tail, t->parts[i]->open);
                t->parts[i]->open = NULL;
            }
    for (pbatch_t *b = failed; b; b = b->next) {
        batch_set_error(b, RV_ERR__DESTROY, "The producer was closed before the record was sent");
        b->bytes = 0;
    }
    pthread_cond_broadcast(&p->space_cv);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_lock(&p->wake_lock);
    pthread_cond_broadcast(&p->sender_cv);
    pthread_mutex_unlock(&p->wake_lock);
    if (p->sender_started) {
        pthread_join(p->sender, NULL);
        p->sender_started = false;
    }
    pthread_mutex_lock(&p->lock);
    /* What the sender finished comes before the failed batches. */
    drain_done(p);
    for (pbatch_t *b = failed, *nx; b; b = nx) {
        nx = b->next;
        fifo_push(&p->done_head, &p->done_tail, b);
    }
    serve(p, 0, false);
    rv_assert(p->in_flight == 0);
    pthread_mutex_unlock(&p->lock);
    return err ? RV_ERR__TIMED_OUT : RV_ERR_NO_ERROR;
}

void rv_producer_destroy(rv_producer_t *p) {
    if (!p)
        return;
    if (p->kafka) {
        rv__kproducer_destroy(p->kafka);
        rv_conf_destroy(p->conf);
        free(p);
        return;
    }
    rv_producer_close(p, 0);
    for (ptopic_t *t = p->topics, *nx; t; t = nx) {
        nx = t->next;
        for (int32_t i = 0; i < t->alloc_cnt; i++)
            free(t->parts[i]);
        free(t->parts);
        free(t->name);
        free(t);
    }
    rv__buf_free(&p->hdr_scratch);
    for (pbatch_t *b = p->spare_batches, *nx; b; b = nx) {
        nx = b->next;
        batch_free(b);
    }
    for (int i = 0; i < p->spare_buf_cnt; i++)
        rv__buf_free(&p->spare_bufs[i]);
    free(p->spare_bufs);
    pthread_cond_destroy(&p->sender_cv);
    pthread_cond_destroy(&p->space_cv);
    pthread_cond_destroy(&p->report_cv);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->wake_lock);
    pthread_mutex_destroy(&p->sync_lock);
    pthread_cond_destroy(&p->sync_cv);
    rv_broker_close(p->broker);
    rv_conf_destroy(p->conf);
    free(p);
}

/* ---- test hooks ---- */

void rv__producer_pause_sender(rv_producer_t *p, bool paused) {
    if (p->kafka) {
        rv__kproducer_pause(p->kafka, paused);
        return;
    }
    /* Under wake_lock, where the sender takes batches: none is taken once
     * this returns. */
    pthread_mutex_lock(&p->wake_lock);
    atomic_store(&p->paused, paused);
    pthread_cond_broadcast(&p->sender_cv);
    pthread_mutex_unlock(&p->wake_lock);
}

int64_t rv__producer_id(rv_producer_t *p, int16_t *epoch) {
    if (p->kafka) {
        /* librdkafka keeps its producer id to itself. */
        if (epoch)
            *epoch = -1;
        return -1;
    }
    pthread_mutex_lock(&p->lock);
    int64_t pid = p->idempotent ? p->producer_id : -1;
    if (epoch)
        *epoch = p->idempotent ? p->epoch : -1;
    pthread_mutex_unlock(&p->lock);
    return pid;
}
