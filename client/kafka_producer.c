/* client/kafka_producer.c: the kafka backend of the producer
 * (client/kafka_producer.h): include/rivulet/producer.h on top of a
 * librdkafka producer, for bootstrap.servers=host:port lists. The
 * configuration is translated by client/kafka_conf.c; client/producer.c
 * checks the configuration and each record before they get here, exactly
 * as for the embedded backend. docs/PRODUCER.md lists what maps to what.
 *
 * DESIGN
 *
 * Records: every accepted record has a kmsg_t, given to librdkafka as the
 * message opaque. It carries the user's callback and opaque, what the
 * partitioner needs (whether the key is null, the value when a user
 * partitioner is set), and later the record's result. librdkafka copies
 * key, value and headers (RD_KAFKA_MSG_F_COPY), except that with a user
 * partitioner the value is copied once into the kmsg_t and handed to
 * librdkafka by reference, so the partitioner can see it even when it runs
 * after send returned (the kmsg_t outlives librdkafka's message).
 *
 * Delivery reports: librdkafka runs in event mode (RD_KAFKA_EVENT_DR and
 * RD_KAFKA_EVENT_ERROR on its main queue), and one relay thread reads that
 * queue: it fills each record's kmsg_t from its report, moves the
 * records to the `done` FIFO in report order, then destroys the event.
 * Being the only reader keeps one partition's reports in order, and
 * rd_kafka_flush() in event mode only waits (it never serves the queue
 * from the caller's thread). rv_producer_poll(), flush(), send_sync() and
 * close() pop the FIFO and run the user's callbacks on their own thread,
 * as the header promises. Because the relay destroys a report at once,
 * librdkafka frees the record's room in queue.buffering.max.kbytes
 * (buffer.memory) when the broker answered, not when the application
 * polls: the same moment as Java's BufferPool. `in_flight` counts accepted
 * records whose user callback has not run. close() stops the relay and
 * reads the queue itself for the last reports.
 *
 * Partitioning: each topic gets its own rd_kafka_topic_t whose partitioner
 * is partition_cb, with sticky.partitioning.linger.ms=0 so that librdkafka
 * calls it for null keys too. partition_cb runs the user's partitioner if
 * one is set, else murmur2 of the key (Java's choice, the same as
 * librdkafka's murmur2_random), else the sticky choice of
 * client/partitioner.c: one partition until batch.size bytes went to it,
 * linger.ms passed, or a flush or send_sync started or ended (a batch was
 * sent), then another one. librdkafka calls the partitioner on the sending
 * thread when it knows the topic's partitions, otherwise later on its own
 * thread.
 *
 * Locks: `lock` guards the topic list, the FIFO, the counters and the
 * flags; `sticky_lock` guards the sticky state and is the only lock
 * partition_cb takes (librdkafka holds its topic lock around it). No
 * librdkafka call that can reach partition_cb is made with `lock` held. */
#include "client/kafka_producer.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/kafka_conf.h"
#include "client/producer_internal.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"

#define ERRMSG_SIZE 256
/* How long a topic the cluster does not know may stay unknown before the
 * records waiting for it fail (librdkafka's
 * topic.metadata.propagation.max.ms, 30 s by default): rivulet reports an
 * unknown topic promptly, as the embedded backend does. */
#define PROPAGATION_MAX_MS "1000"
/* The longest a metadata look-up inside send may take for a topic that
 * librdkafka believes missing (it may have been created since). */
#define METADATA_WAIT_MS 1000
/* Slices of rd_kafka_flush(), so callbacks due meanwhile run soon. */
#define FLUSH_SLICE_MS 100

typedef struct ktopic_s ktopic_t;

typedef struct kmsg_s {
    struct kmsg_s *next;
    ktopic_t *topic;
    rv_delivery_cb_t *cb;
    void *opaque;
    int64_t timestamp;
    int32_t req_partition; /* as sent: RV_PARTITION_ANY or a partition */
    bool key_null;
    bool bad_partition; /* the user's partitioner answered out of range */
    int32_t seen_cnt;   /* the partition count it was given */
    int64_t size;       /* estimated bytes, for the sticky partitioner */
    const void *value;  /* a copy in data[] when a user partitioner is set */
    int32_t value_len;
    /* the result */
    rv_err_t err;
    char *errmsg;
    int32_t partition;
    int64_t offset;
    unsigned char data[];
} kmsg_t;

struct ktopic_s {
    ktopic_t *next;
    rv__kproducer_t *kp;
    char *name;
    rd_kafka_topic_t *rkt;
    /* sticky state, under kp->sticky_lock */
    int32_t sticky;
    int64_t sticky_since_ms;
    int64_t sticky_bytes;
    uint64_t sticky_gen;
};

struct rv__kproducer_s {
    rv_producer_t *owner;
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq; /* where the reports arrive */
    int acks;
    int64_t max_block_ms, linger_ms, batch_size, max_request_size;
    rv_partitioner_cb_t *partitioner;
    void *partitioner_opaque;

    pthread_mutex_t lock;
    pthread_cond_t report_cv; /* a done record, or callbacks ran */
    pthread_cond_t space_cv;  /* librdkafka reported records: maybe room */
    pthread_cond_t relay_cv;  /* paused or stop changed */
    ktopic_t *topics;
    kmsg_t *done_head, *done_tail;
    size_t in_flight;
    bool closed;
    bool stop;
    bool paused;
    pthread_t relay;
    bool relay_started;

    pthread_mutex_t sticky_lock;
    uint32_t rng;
    atomic_uint_fast64_t flush_gen; /* bumped by flush and send_sync */
};

/* ---- small helpers ---- */

static void cond_init_mono(pthread_cond_t *c) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* Waits on c for at most ms milliseconds (ms < 0: no limit). */
static void wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms) {
    if (ms < 0) {
        pthread_cond_wait(c, m);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(c, m, &ts);
}

/* Milliseconds left until deadline (monotonic; -1: none), at least 0;
 * -1 when there is no deadline. */
static int64_t left_ms(int64_t deadline) {
    if (deadline < 0)
        return -1;
    int64_t left = deadline - rv__mono_ms();
    return left > 0 ? left : 0;
}

static void kmsg_free(kmsg_t *m) {
    if (!m)
        return;
    free(m->errmsg);
    free(m);
}

static void kmsg_set_error(kmsg_t *m, rv_err_t err, const char *msg) {
    m->err = err;
    m->offset = -1;
    free(m->errmsg);
    m->errmsg = strdup(msg && *msg ? msg : rv_err_str(err));
}

/* Moves finished records (a list linked by next, head..tail) to the done
 * FIFO and wakes their reporters. */
static void push_done(rv__kproducer_t *kp, kmsg_t *head, kmsg_t *tail) {
    pthread_mutex_lock(&kp->lock);
    if (kp->done_tail)
        kp->done_tail->next = head;
    else
        kp->done_head = head;
    kp->done_tail = tail;
    pthread_cond_broadcast(&kp->report_cv);
    pthread_mutex_unlock(&kp->lock);
}

/* rivulet's code and message for a librdkafka error of record m. */
static void record_error(kmsg_t *m, rd_kafka_resp_err_t err, const char *rdk_msg) {
    char msg[ERRMSG_SIZE];
    const char *topic = m->topic->name;
    switch ((int)err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        snprintf(msg, sizeof msg,
                 "Topic %s not present in metadata (topics are not created automatically; "
                 "create it first)",
                 topic);
        kmsg_set_error(m, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, msg);
        return;
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        if (m->bad_partition)
            snprintf(msg, sizeof msg,
                     "The partitioner returned a partition outside 0..%d for topic %s",
                     m->seen_cnt - 1, topic);
        else
            snprintf(msg, sizeof msg, "Partition %d of topic %s is not present in metadata",
                     m->req_partition, topic);
        kmsg_set_error(m, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, msg);
        return;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
        kmsg_set_error(m, RV_ERR__DESTROY, "The producer was closed before the record was sent");
        return;
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
        kmsg_set_error(m, RV_ERR__DESTROY,
                       "The producer was closed while the record was in flight (it may have "
                       "been written)");
        return;
    default:
        snprintf(msg, sizeof msg, "%s-%d: %s", topic, m->partition,
                 rdk_msg && *rdk_msg ? rdk_msg : rd_kafka_err2str(err));
        kmsg_set_error(m, rv__kafka_err(err), msg);
        return;
    }
}

/* ---- librdkafka callbacks ---- */

/* Fills m from librdkafka's report of it. */
static void record_report(rv__kproducer_t *kp, kmsg_t *m, const rd_kafka_message_t *rkm) {
    m->partition = rkm->partition >= 0 ? rkm->partition : -1;
    if (rkm->err) {
        char why[ERRMSG_SIZE];
        rd_kafka_resp_err_t fatal;
        if ((rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
             rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) &&
            (fatal = rd_kafka_fatal_error(kp->rk, why, sizeof why))) {
            /* librdkafka purges what is queued when a fatal error strikes:
             * the record fails with that error, as Java's do, not as if
             * the producer had been closed. */
            char msg[ERRMSG_SIZE + 64];
            snprintf(msg, sizeof msg, "Fatal producer error %s: %s", rd_kafka_err2name(fatal), why);
            kmsg_set_error(m, rv__kafka_err(fatal), msg);
            return;
        }
        /* Not rd_kafka_message_errstr(): for a produced record it returns
         * the value bytes. */
        record_error(m, rkm->err, rd_kafka_err2str(rkm->err));
        return;
    }
    m->offset = kp->acks == 0 || rkm->offset < 0 ? -1 : rkm->offset;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(rkm, &tstype);
    if (ts >= 0 && tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
        m->timestamp = ts;
}

static void error_event(rd_kafka_t *rk, rd_kafka_event_t *ev) {
    if (rd_kafka_event_error_is_fatal(ev)) {
        char why[ERRMSG_SIZE];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        rv__log_err("PRODUCER", "Fatal producer error %s: %s", rd_kafka_err2name(orig), why);
        return;
    }
    /* librdkafka has logged the details through log_cb already. */
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    rv__log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? RV_LOG_WARNING : RV_LOG_DEBUG, "PRODUCER",
            "%s: %s", rd_kafka_err2name(err), rd_kafka_event_error_string(ev));
}

/* Reads one event from librdkafka's main queue, waiting up to timeout_ms:
 * the relay thread, or close() once the relay has stopped (never both).
 * Returns whether there was one. */
static bool collect(rv__kproducer_t *kp, int timeout_ms) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(kp->mainq, timeout_ms);
    if (!ev)
        return false;
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DR) {
        kmsg_t *head = NULL, *tail = NULL;
        const rd_kafka_message_t *rkm;
        while ((rkm = rd_kafka_event_message_next(ev)) != NULL) {
            kmsg_t *m = rkm->_private;
            if (!m)
                continue;
            record_report(kp, m, rkm);
            m->next = NULL;
            if (tail)
                tail->next = m;
            else
                head = m;
            tail = m;
        }
        if (head)
            push_done(kp, head, tail);
    } else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR) {
        error_event(kp->rk, ev);
    }
    /* Destroying the report frees the records' room in librdkafka's queue. */
    rd_kafka_event_destroy(ev);
    pthread_mutex_lock(&kp->lock);
    pthread_cond_broadcast(&kp->space_cv);
    pthread_mutex_unlock(&kp->lock);
    return true;
}

/* librdkafka's threads; the logger is thread-safe. Both use syslog levels. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    rv__log(level, "KAFKA", "%s: %s", fac, buf);
}

/* The sticky choice for a null key (see DESIGN). */
static int32_t sticky_partition(rv__kproducer_t *kp, ktopic_t *t, const kmsg_t *m, int32_t cnt) {
    pthread_mutex_lock(&kp->sticky_lock);
    int64_t now = rv__mono_ms();
    uint64_t gen = atomic_load(&kp->flush_gen);
    int64_t window = kp->linger_ms > 0 ? kp->linger_ms : 1;
    if (t->sticky < 0 || t->sticky >= cnt || t->sticky_gen != gen ||
        (t->sticky_bytes > 0 && t->sticky_bytes + m->size > kp->batch_size) ||
        now - t->sticky_since_ms >= window || now < t->sticky_since_ms) {
        t->sticky = rv__sticky_next(t->sticky, cnt, &kp->rng);
        t->sticky_since_ms = now;
        t->sticky_bytes = 0;
        t->sticky_gen = gen;
    }
    t->sticky_bytes += m->size;
    int32_t part = t->sticky;
    pthread_mutex_unlock(&kp->sticky_lock);
    return part;
}

/* librdkafka's topic partitioner: on the sending thread, or on librdkafka's
 * main thread for records that waited for the topic's metadata. A result
 * >= partition_cnt makes librdkafka fail the record with
 * __UNKNOWN_PARTITION. */
static int32_t partition_cb(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                            int32_t partition_cnt, void *rkt_opaque, void *msg_opaque) {
    (void)rkt;
    ktopic_t *t = rkt_opaque;
    kmsg_t *m = msg_opaque;
    rv__kproducer_t *kp = t->kp;
    if (!m || partition_cnt < 1)
        return partition_cnt;
    if (!m->key_null && !key)
        key = ""; /* an empty key: murmur2 needs a pointer */
    if (kp->partitioner) {
        int32_t part =
            kp->partitioner(t->name, m->key_null ? NULL : key, m->key_null ? -1 : (int32_t)keylen,
                            m->value, m->value_len, partition_cnt, kp->partitioner_opaque);
        if (part >= 0 && part < partition_cnt)
            return part;
        m->bad_partition = true;
        m->seen_cnt = partition_cnt;
        return partition_cnt;
    }
    if (!m->key_null)
        return rv_partitioner_murmur2(key, (int32_t)keylen, partition_cnt);
    return sticky_partition(kp, t, m, partition_cnt);
}

/* ---- the relay thread ---- */

static void *relay_main(void *arg) {
    rv__kproducer_t *kp = arg;
    pthread_mutex_lock(&kp->lock);
    for (;;) {
        while (kp->paused && !kp->stop)
            pthread_cond_wait(&kp->relay_cv, &kp->lock);
        if (kp->stop)
            break;
        pthread_mutex_unlock(&kp->lock);
        collect(kp, 100);
        pthread_mutex_lock(&kp->lock);
    }
    pthread_mutex_unlock(&kp->lock);
    return NULL;
}

static void relay_stop(rv__kproducer_t *kp) {
    if (!kp->relay_started)
        return;
    pthread_mutex_lock(&kp->lock);
    kp->stop = true;
    pthread_cond_broadcast(&kp->relay_cv);
    pthread_mutex_unlock(&kp->lock);
    rd_kafka_queue_yield(kp->mainq);
    pthread_join(kp->relay, NULL);
    kp->relay_started = false;
}

/* ---- reports ---- */

/* Pops and serves done records; waits up to timeout_ms for the first
 * (0: no wait, -1: no limit). Lock held on entry and exit; callbacks run
 * unlocked. Returns the number of callbacks run. */
static int serve(rv__kproducer_t *kp, int64_t timeout_ms) {
    int64_t deadline = timeout_ms < 0 ? -1 : rv__mono_ms() + timeout_ms;
    while (!kp->done_head && timeout_ms != 0) {
        int64_t left = left_ms(deadline);
        if (left == 0)
            break;
        wait_ms(&kp->report_cv, &kp->lock, left);
    }
    int n = 0;
    kmsg_t *m;
    while ((m = kp->done_head) != NULL) {
        kp->done_head = m->next;
        if (!kp->done_head)
            kp->done_tail = NULL;
        pthread_mutex_unlock(&kp->lock);
        if (m->cb) {
            if (m->err)
                m->cb(kp->owner, m->err, m->errmsg, m->topic->name, m->partition, -1, m->timestamp,
                      m->opaque);
            else
                m->cb(kp->owner, RV_ERR_NO_ERROR, NULL, m->topic->name, m->partition, m->offset,
                      m->timestamp, m->opaque);
            n++;
        }
        kmsg_free(m);
        pthread_mutex_lock(&kp->lock);
        kp->in_flight--;
        pthread_cond_broadcast(&kp->report_cv);
    }
    return n;
}

int rv__kproducer_poll(rv__kproducer_t *kp, int timeout_ms) {
    pthread_mutex_lock(&kp->lock);
    int n = serve(kp, timeout_ms);
    pthread_mutex_unlock(&kp->lock);
    return n;
}

size_t rv__kproducer_in_flight(rv__kproducer_t *kp) {
    pthread_mutex_lock(&kp->lock);
    size_t n = kp->in_flight;
    pthread_mutex_unlock(&kp->lock);
    return n;
}

/* Serves reports until none is outstanding. rd_kafka_flush() sends what
 * lingers at once (its rk_flushing flag) and waits while the relay
 * collects the reports; the callbacks run here, between slices, and
 * records they send are flushed by the next round. */
rv_err_t rv__kproducer_flush(rv__kproducer_t *kp, int timeout_ms) {
    int64_t deadline = timeout_ms < 0 ? -1 : rv__mono_ms() + timeout_ms;
    atomic_fetch_add(&kp->flush_gen, 1);
    for (;;) {
        pthread_mutex_lock(&kp->lock);
        serve(kp, 0);
        bool idle = kp->in_flight == 0;
        pthread_mutex_unlock(&kp->lock);
        if (idle) {
            /* The batches were sent: null keys move to another partition. */
            atomic_fetch_add(&kp->flush_gen, 1);
            return RV_ERR_NO_ERROR;
        }
        int64_t left = left_ms(deadline);
        if (left == 0)
            return RV_ERR__TIMED_OUT;
        if (!kp->rk) {
            /* Closed: only local reports are left; they are in the FIFO. */
            pthread_mutex_lock(&kp->lock);
            serve(kp, left < 0 ? 10 : (left < 10 ? left : 10));
            pthread_mutex_unlock(&kp->lock);
            continue;
        }
        int slice = left < 0 || left > FLUSH_SLICE_MS ? FLUSH_SLICE_MS : (int)left;
        rd_kafka_flush(kp->rk, slice);
    }
}

/* ---- topics ---- */

/* The topic entry for `name`, made with its librdkafka handle on first
 * use. Lock held. NULL on failure, with *err and a message in errstr. */
static ktopic_t *topic_get(rv__kproducer_t *kp, const char *name, rv_err_t *err, char *errstr,
                           size_t errstr_size) {
    *err = RV_ERR__NOMEM;
    for (ktopic_t *t = kp->topics; t; t = t->next)
        if (!strcmp(t->name, name))
            return t;
    ktopic_t *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name))) {
        free(t);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    t->kp = kp;
    t->sticky = -1;
    /* The producer's topic settings (acks, compression, timeouts) live in
     * its default topic configuration: start from a copy of it. */
    rd_kafka_topic_conf_t *tc = rd_kafka_default_topic_conf_dup(kp->rk);
    if (!tc) {
        free(t->name);
        free(t);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    rd_kafka_topic_conf_set_partitioner_cb(tc, partition_cb);
    rd_kafka_topic_conf_set_opaque(tc, t);
    /* rd_kafka_topic_new() takes tc, also when it fails. */
    t->rkt = rd_kafka_topic_new(kp->rk, name, tc);
    if (!t->rkt) {
        rd_kafka_resp_err_t rerr = rd_kafka_last_error();
        rv__errstr_set(errstr, errstr_size, "Cannot use topic %s: %s", name,
                       rd_kafka_err2str(rerr));
        *err = rerr == RD_KAFKA_RESP_ERR__INVALID_ARG ? RV_ERR__INVALID_ARG : rv__kafka_err(rerr);
        free(t->name);
        free(t);
        return NULL;
    }
    t->next = kp->topics;
    kp->topics = t;
    return t;
}

/* ---- send ---- */

/* Queues the report of a record librdkafka refused (unknown topic or
 * partition): it is accepted and fails through its callback, as with the
 * embedded backend. */
static void fail_now(rv__kproducer_t *kp, kmsg_t *m, rd_kafka_resp_err_t err, const char *msg) {
    m->partition = m->req_partition >= 0 ? m->req_partition : -1;
    record_error(m, err, msg);
    m->next = NULL;
    push_done(kp, m, m);
}

/* One rd_kafka_produceva() call for record r; vu has room for
 * 7 + r->header_cnt entries. */
static rd_kafka_resp_err_t produce(rv__kproducer_t *kp, ktopic_t *t, kmsg_t *m,
                                   const rv_producer_record_t *r, rd_kafka_vu_t *vu, char *why,
                                   size_t why_size) {
    size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT;
    vu[n++].u.rkt = t->rkt;
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[n++].u.i32 = r->partition == RV_PARTITION_ANY ? RD_KAFKA_PARTITION_UA : r->partition;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    /* With a user partitioner the value is m's own copy (see DESIGN). */
    vu[n++].u.i32 = kp->partitioner ? 0 : RD_KAFKA_MSG_F_COPY;
    vu[n].vtype = RD_KAFKA_VTYPE_KEY;
    vu[n].u.mem.ptr = r->key ? (void *)r->key : NULL;
    vu[n++].u.mem.size = r->key ? (size_t)r->key_len : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = (void *)(kp->partitioner ? m->value : r->value);
    vu[n++].u.mem.size = r->value ? (size_t)r->value_len : 0;
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = m;
    vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    vu[n++].u.i64 = m->timestamp;
    for (size_t i = 0; i < r->header_cnt; i++) {
        const rv_header_t *h = &r->headers[i];
        vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
        vu[n].u.header.name = h->key;
        vu[n].u.header.val = h->value_len >= 0 ? h->value : NULL;
        vu[n++].u.header.size = h->value_len >= 0 && h->value ? (ssize_t)h->value_len : 0;
    }
    rd_kafka_error_t *error = rd_kafka_produceva(kp->rk, vu, n);
    if (!error)
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t err = rd_kafka_error_code(error);
    snprintf(why, why_size, "%s", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return err;
}

/* Asks the cluster about a topic librdkafka believes missing: it may have
 * been created since (librdkafka on its own looks again only every second
 * or so). Unlocked. */
static void refresh_topic(rv__kproducer_t *kp, ktopic_t *t) {
    const struct rd_kafka_metadata *md = NULL;
    int wait = kp->max_block_ms < METADATA_WAIT_MS ? (int)kp->max_block_ms : METADATA_WAIT_MS;
    if (rd_kafka_metadata(kp->rk, 0, t->rkt, &md, wait) == RD_KAFKA_RESP_ERR_NO_ERROR && md)
        rd_kafka_metadata_destroy(md);
}

rv_err_t rv__kproducer_send(rv__kproducer_t *kp, const rv_producer_record_t *r, size_t size,
                            rv_delivery_cb_t *cb, void *opaque, char *errstr, size_t errstr_size) {
    size_t extra = kp->partitioner && r->value_len > 0 ? (size_t)r->value_len : 0;
    kmsg_t *m = calloc(1, sizeof *m + extra);
    if (!m) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    m->cb = cb;
    m->opaque = opaque;
    /* librdkafka reads timestamp 0 as "now"; rivulet stamps -1 itself so
     * the report carries the same reading as the embedded backend. */
    m->timestamp = r->timestamp >= 0 ? r->timestamp : rv__now_ms();
    m->req_partition = r->partition;
    m->key_null = r->key == NULL;
    m->size = (int64_t)size;
    m->partition = -1;
    m->offset = -1;
    m->value = r->value;
    m->value_len = r->value ? r->value_len : -1;
    if (kp->partitioner && r->value) {
        if (extra)
            memcpy(m->data, r->value, extra);
        m->value = m->data;
    }

    pthread_mutex_lock(&kp->lock);
    if (kp->closed) {
        pthread_mutex_unlock(&kp->lock);
        free(m);
        rv__errstr_set(errstr, errstr_size, "Cannot send after the producer is closed.");
        return RV_ERR__STATE;
    }
    rv_err_t terr;
    ktopic_t *t = topic_get(kp, r->topic, &terr, errstr, errstr_size);
    if (!t) {
        pthread_mutex_unlock(&kp->lock);
        free(m);
        return terr;
    }
    m->topic = t;
    kp->in_flight++;
    pthread_mutex_unlock(&kp->lock);

    rd_kafka_vu_t stack[16];
    size_t need = 7 + r->header_cnt;
    rd_kafka_vu_t *vu = need <= 16 ? stack : malloc(need * sizeof *vu);
    char why[ERRMSG_SIZE];
    int64_t deadline = -1;
    bool refreshed = false;
    for (;;) {
        why[0] = '\0';
        rd_kafka_resp_err_t err =
            vu ? produce(kp, t, m, r, vu, why, sizeof why) : RD_KAFKA_RESP_ERR__FAIL;
        if (!err) {
            if (vu != stack)
                free(vu);
            return RV_ERR_NO_ERROR;
        }
        if (!vu) {
            rv__errstr_set(errstr, errstr_size, "Out of memory");
        } else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* buffer.memory is used up: wait for librdkafka's reports to
             * free room, at most max.block.ms (Java's BufferPool). */
            if (deadline < 0)
                deadline = rv__mono_ms() + kp->max_block_ms;
            int64_t left = left_ms(deadline);
            if (left > 0) {
                pthread_mutex_lock(&kp->lock);
                wait_ms(&kp->space_cv, &kp->lock, left < 5 ? left : 5);
                pthread_mutex_unlock(&kp->lock);
                continue;
            }
            rv__errstr_set(errstr, errstr_size,
                           "Failed to allocate memory within the configured max blocking time "
                           "%" PRId64 " ms.",
                           kp->max_block_ms);
        } else if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC && !refreshed) {
            refreshed = true;
            refresh_topic(kp, t);
            continue;
        } else if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                   err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || err == RD_KAFKA_RESP_ERR__FATAL) {
            if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char fwhy[ERRMSG_SIZE / 2];
                err = rd_kafka_fatal_error(kp->rk, fwhy, sizeof fwhy);
                snprintf(why, sizeof why, "Fatal producer error: %s", fwhy);
            }
            if (vu != stack)
                free(vu);
            fail_now(kp, m, err, why);
            return RV_ERR_NO_ERROR;
        } else if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            rv__errstr_set(errstr, errstr_size,
                           "The message is %" PRId64 " bytes when serialized which is larger "
                           "than %" PRId64 ", which is the value of the max.request.size "
                           "configuration.",
                           m->size, kp->max_request_size);
        } else {
            rv__errstr_set(errstr, errstr_size, "%s", why);
        }
        pthread_mutex_lock(&kp->lock);
        kp->in_flight--;
        pthread_cond_broadcast(&kp->report_cv);
        pthread_mutex_unlock(&kp->lock);
        free(m);
        if (!vu)
            return RV_ERR__NOMEM;
        if (vu != stack)
            free(vu);
        switch ((int)err) {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            return RV_ERR__QUEUE_FULL;
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            return RV_ERR_MESSAGE_TOO_LARGE;
        case RD_KAFKA_RESP_ERR__INVALID_ARG:
        case RD_KAFKA_RESP_ERR__CONFLICT:
            return RV_ERR__INVALID_ARG;
        default:
            return rv__kafka_err(err);
        }
    }
}

/* ---- send_sync ---- */

void rv__kproducer_sync_wait(rv__kproducer_t *kp, const atomic_int *done) {
    atomic_fetch_add(&kp->flush_gen, 1);
    while (!atomic_load(done)) {
        /* The caller waits for this record: do not let it linger. The
         * flush slice ends as soon as librdkafka has nothing left. */
        if (kp->rk)
            rd_kafka_flush(kp->rk, 10);
        rv__kproducer_poll(kp, kp->rk ? 0 : 10);
    }
    atomic_fetch_add(&kp->flush_gen, 1);
}

/* ---- lifecycle ---- */

static bool rd_set(rd_kafka_conf_t *rc, const char *name, const char *value, char *errstr,
                   size_t errstr_size) {
    char why[256];
    if (rd_kafka_conf_set(rc, name, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return true;
    rv__errstr_set(errstr, errstr_size, "Invalid value %s for configuration %s: %s", value, name,
                   why);
    return false;
}

void rv__kproducer_set_partitioner(rv__kproducer_t *kp, rv_partitioner_cb_t *cb, void *opaque) {
    pthread_mutex_lock(&kp->lock);
    kp->partitioner = cb;
    kp->partitioner_opaque = opaque;
    pthread_mutex_unlock(&kp->lock);
}

rv__kproducer_t *rv__kproducer_new(rv_producer_t *owner, const rv_conf_t *conf, bool idempotent,
                                   char *errstr, size_t errstr_size) {
    rv__kproducer_t *kp = calloc(1, sizeof *kp);
    if (!kp) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    kp->owner = owner;
    const char *acks = rv_conf_get(conf, "acks");
    kp->acks = !acks || !strcmp(acks, "all") || !strcmp(acks, "-1") ? -1 : atoi(acks);
    kp->max_block_ms = rv__conf_get_int64(conf, "max.block.ms", 60000);
    kp->linger_ms = rv__conf_get_int64(conf, "linger.ms", 0);
    kp->batch_size = rv__conf_get_int64(conf, "batch.size", 16384);
    kp->max_request_size = rv__conf_get_int64(conf, "max.request.size", 1048576);
    kp->rng = (uint32_t)rv__mono_us() ^ (uint32_t)(uintptr_t)kp;
    atomic_init(&kp->flush_gen, 0);

    rd_kafka_conf_t *rc = rv__kafka_conf_new(conf, RV__KAFKA_PRODUCER, errstr, errstr_size);
    if (!rc) {
        free(kp);
        return NULL;
    }
    /* enable.idempotence as client/producer.c decided; null keys through
     * partition_cb (no librdkafka sticky choice); unknown topics reported
     * soon and never created by a send (see producer.h). */
    if (!rd_set(rc, "enable.idempotence", idempotent ? "true" : "false", errstr, errstr_size) ||
        !rd_set(rc, "sticky.partitioning.linger.ms", "0", errstr, errstr_size) ||
        !rd_set(rc, "topic.metadata.propagation.max.ms", PROPAGATION_MAX_MS, errstr, errstr_size) ||
        !rd_set(rc, "allow.auto.create.topics", "false", errstr, errstr_size)) {
        rd_kafka_conf_destroy(rc);
        free(kp);
        return NULL;
    }
    rd_kafka_conf_set_opaque(rc, kp);
    rd_kafka_conf_set_events(rc, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
    rd_kafka_conf_set_log_cb(rc, log_cb);

    pthread_mutex_init(&kp->lock, NULL);
    pthread_mutex_init(&kp->sticky_lock, NULL);
    cond_init_mono(&kp->report_cv);
    cond_init_mono(&kp->space_cv);
    cond_init_mono(&kp->relay_cv);

    char why[512];
    kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, why, sizeof why);
    if (!kp->rk) {
        rd_kafka_conf_destroy(rc);
        rv__errstr_set(errstr, errstr_size, "Cannot create the producer: %s", why);
        rv__kproducer_destroy(kp);
        return NULL;
    }
    kp->mainq = rd_kafka_queue_get_main(kp->rk);
    if (pthread_create(&kp->relay, NULL, relay_main, kp) != 0) {
        rv__errstr_set(errstr, errstr_size, "Cannot start the producer's report thread");
        rv__kproducer_destroy(kp);
        return NULL;
    }
    kp->relay_started = true;
    return kp;
}

/* Frees librdkafka's handles. Every record has been reported. */
static void rk_destroy(rv__kproducer_t *kp) {
    if (!kp->rk)
        return;
    if (kp->mainq)
        rd_kafka_queue_destroy(kp->mainq);
    kp->mainq = NULL;
    for (ktopic_t *t = kp->topics; t; t = t->next) {
        rd_kafka_topic_destroy(t->rkt);
        t->rkt = NULL;
    }
    rd_kafka_destroy(kp->rk);
    kp->rk = NULL;
}

rv_err_t rv__kproducer_close(rv__kproducer_t *kp, int timeout_ms) {
    pthread_mutex_lock(&kp->lock);
    bool closed = kp->closed;
    pthread_mutex_unlock(&kp->lock);
    if (closed)
        return RV_ERR_NO_ERROR;
    rv_err_t err = kp->rk ? rv__kproducer_flush(kp, timeout_ms) : RV_ERR_NO_ERROR;
    pthread_mutex_lock(&kp->lock);
    kp->closed = true;
    kp->paused = false;
    pthread_cond_broadcast(&kp->relay_cv);
    pthread_mutex_unlock(&kp->lock);
    if (kp->rk && err) {
        /* What is left fails with __PURGE_QUEUE / __PURGE_INFLIGHT, reported
         * as RV_ERR__DESTROY; librdkafka hands the reports over at once. */
        rd_kafka_purge(kp->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
    relay_stop(kp);
    /* Collect every report on this thread and run the callbacks. */
    pthread_mutex_lock(&kp->lock);
    for (;;) {
        serve(kp, 0);
        if (kp->in_flight == 0)
            break;
        pthread_mutex_unlock(&kp->lock);
        if (kp->rk)
            collect(kp, 10);
        pthread_mutex_lock(&kp->lock);
        if (!kp->rk && !kp->done_head)
            wait_ms(&kp->report_cv, &kp->lock, 10);
    }
    pthread_mutex_unlock(&kp->lock);
    rk_destroy(kp);
    return err ? RV_ERR__TIMED_OUT : RV_ERR_NO_ERROR;
}

void rv__kproducer_destroy(rv__kproducer_t *kp) {
    if (!kp)
        return;
    if (kp->rk)
        rv__kproducer_close(kp, 0);
    relay_stop(kp);
    rk_destroy(kp);
    for (ktopic_t *t = kp->topics, *nx; t; t = nx) {
        nx = t->next;
        free(t->name);
        free(t);
    }
    pthread_cond_destroy(&kp->report_cv);
    pthread_cond_destroy(&kp->space_cv);
    pthread_cond_destroy(&kp->relay_cv);
    pthread_mutex_destroy(&kp->sticky_lock);
    pthread_mutex_destroy(&kp->lock);
    free(kp);
}

void rv__kproducer_pause(rv__kproducer_t *kp, bool paused) {
    pthread_mutex_lock(&kp->lock);
    kp->paused = paused && !kp->closed;
    pthread_cond_broadcast(&kp->relay_cv);
    pthread_mutex_unlock(&kp->lock);
}
