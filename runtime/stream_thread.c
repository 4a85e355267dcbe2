/* runtime/stream_thread.c: a stream thread of the running app (Kafka
 * Streams' StreamThread): one consumer in the group application.id, one
 * producer for sinks and changelogs, and the tasks (runtime/task.c) of the
 * partitions the group assigns it. The app (runtime/streams.c) starts and
 * stops threads and is told about their progress and failures.
 *
 * DESIGN
 *
 * Assignment. The consumer subscribes to every source topic of the app
 * with the range assignor, so co-partitioned topics (equal partition
 * counts, checked at start) give partition p of all of a sub-topology's
 * topics to one member: the thread owns task "<sub>_<p>" for each assigned
 * partition p of a topic of sub-topology <sub>. The assignor is eager:
 * every rebalance revokes the whole assignment first (with a cooperative
 * one only what moves; the code handles both). On revocation the thread
 * commits every task (below) and closes the revoked ones cleanly
 * (checkpoint written, task folder unlocked); on assignment it seeks each
 * new partition to its committed offset, else the beginning (Kafka
 * Streams' auto.offset.reset=earliest), and creates the tasks
 * (locking their folders, retrying while another owner still holds one),
 * restores their logged stores from the changelogs, and initializes them.
 * Lost partitions (session or poll interval expired) close the tasks
 * without committing: the new owner reprocesses from the last commit.
 *
 * Restoration. For each logged store of a new task an assign-mode restore
 * consumer (no group) reads "<app>-<store>-changelog" partition p from the
 * checkpointed offset + 1 (the beginning without a checkpoint, and always
 * for in-memory stores, which keep nothing on disk) up to the end offset
 * the admin client reports before reading (the consumers' position is not
 * known before a fetch on the kafka backend), writing batches through
 * rv__store_restore_batch(). Progress is the last offset read, since a
 * compacted changelog has gaps.
 * The restore listener sees start, each batch and end; the end offset
 * seeds the collector's last changelog offset so the next checkpoint
 * records it. A task processes nothing before its stores are restored.
 *
 * Clients. Kafka Streams' client defaults apply unless the app set the
 * property: the producer lingers 100 ms (linger.ms; sink and changelog
 * records leave in full batches) and the consumer returns up to 1000
 * records a poll (max.poll.records).
 *
 * Loop. poll (at most 100 ms, or commit.interval.ms when smaller) -> hand
 * each record to its task (without a copy: the tasks share the polled
 * container, which lives until its last record is processed; a run of
 * records of one partition is routed once) -> process every queued
 * record, each followed by
 * stream-time punctuation -> wall-clock punctuation -> serve delivery
 * reports -> commit when commit.interval.ms passed since the last commit
 * and something changed, or at once when a processor asked.
 *
 * Commit (at-least-once): every task flushes its caches and stores and the
 * producer (rv__task_commit), writes its checkpoint, then the input offsets
 * of all tasks go to the group in one commit_sync. Output and changelog
 * records are therefore acknowledged before the offsets that produced them
 * are committed; a crash in between reprocesses, never loses.
 *
 * Failure. A lookup a task needs that finds the cluster out of reach (the
 * end offset of a changelog to restore, the committed offsets of an
 * assignment) is tried again for up to Kafka's task.timeout.ms default
 * (retry_lookup). A task error, a fatal consumer error, a delivery error,
 * or such a lookup still failing after that fails the thread: its tasks are closed without
 * committing, its clients closed, and the app's uncaught error handler decides between replacing
 * the thread (the same thread builds new clients and rejoins) and shutting
 * the client down.
 *
 * Threads: every function here runs on the stream thread except
 * rv__stream_thread_new/start/stop/join/destroy and the two state readers
 * (atomics). The consumer's callbacks run inside poll on this thread. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/errstr.h"
#include "client/consumer_internal.h"
#include "client/kafka_conf.h"
#include "common/logger.h"
#include "rivulet/consumer.h"
#include "rivulet/producer.h"
#include "runtime/streams_internal.h"
#include "runtime/task.h"
#include "state/store_internal.h"

#define FAC "STREAMS"
#define RESTORE_BATCH 1000
#define LOCK_RETRY_MS 10000

typedef struct last_off_s {
    char *topic;
    int32_t partition;
    int64_t offset;
} last_off_t;

struct rv__stream_thread_s {
    rv_streams_t *app;
    char name[440];
    pthread_t tid;
    bool started;
    _Atomic int stop;
    _Atomic int crash;   /* rv__stream_thread_crash(): exit as if killed */
    _Atomic int running; /* tasks ready (Kafka's StreamThread RUNNING) */
    _Atomic int dead;
    _Atomic size_t buffered; /* records queued in its tasks, after each poll */

    rv_consumer_t *consumer;
    rv_consumer_t *restorer;
    rv_producer_t *producer;
    rv__task_t **tasks;
    size_t task_cnt, task_cap;

    last_off_t *offs; /* acknowledged offsets per topic-partition */
    size_t off_cnt, off_cap;
    size_t off_hit; /* index of the entry last_off() found last */
    /* The entry delivered() updated last and the topic string it came
     * with: within one poll/flush/close the producer hands every report of
     * a topic the same string, so a run of reports compares a pointer
     * instead of the name. Forgotten before each such call (the string is
     * borrowed for the call only). */
    const char *rep_topic;
    size_t rep_idx;
    rv_err_t send_err; /* first failed delivery */
    char send_msg[512];

    bool dirty; /* processed or punctuated since the last commit */
    int64_t last_commit;
    int64_t last_purge;      /* monotonic ms of the last repartition purge */
    uint64_t routes_version; /* of the routing table subscribed to */
    uint64_t poll_epoch;     /* polls so far: the age of the lags tasks saw */
    rv_err_t fail_err;       /* set inside callbacks, acted on after poll */
    char fail_msg[3072];
    bool shutdown_seen; /* an assignment asked the application to shut down */
};

const char *rv__stream_thread_name(const rv__stream_thread_t *th) {
    return th->name;
}

int rv__stream_thread_running(const rv__stream_thread_t *th) {
    return atomic_load(&((rv__stream_thread_t *)th)->running);
}

int rv__stream_thread_dead(const rv__stream_thread_t *th) {
    return atomic_load(&((rv__stream_thread_t *)th)->dead);
}

size_t rv__stream_thread_buffered(const rv__stream_thread_t *th) {
    return atomic_load(&((rv__stream_thread_t *)th)->buffered);
}

static void set_running(rv__stream_thread_t *th, int running) {
    if (atomic_exchange(&th->running, running) != running)
        rv__streams_thread_changed(th->app);
}

static void fail(rv__stream_thread_t *th, rv_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(rv__stream_thread_t *th, rv_err_t err, const char *fmt, ...) {
    if (th->fail_err)
        return; /* keep the first cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(th->fail_msg, sizeof th->fail_msg, fmt, ap);
    va_end(ap);
    th->fail_err = err ? err : RV_ERR__FAIL;
}

/* ---- The record collector: the thread's producer ---- */

static last_off_t *last_off(rv__stream_thread_t *th, const char *topic, int32_t partition,
                            bool create) {
    /* Delivery reports come in runs of one batch: try the last hit first. */
    if (th->off_hit < th->off_cnt && th->offs[th->off_hit].partition == partition &&
        !strcmp(th->offs[th->off_hit].topic, topic))
        return &th->offs[th->off_hit];
    for (size_t i = 0; i < th->off_cnt; i++)
        if (th->offs[i].partition == partition && !strcmp(th->offs[i].topic, topic)) {
            th->off_hit = i;
            return &th->offs[i];
        }
    if (!create)
        return NULL;
    if (th->off_cnt == th->off_cap) {
        size_t cap = th->off_cap ? th->off_cap * 2 : 16;
        last_off_t *nv = realloc(th->offs, cap * sizeof *nv);
        if (!nv)
            return NULL;
        th->offs = nv;
        th->off_cap = cap;
    }
    last_off_t *o = &th->offs[th->off_cnt];
    o->topic = strdup(topic);
    if (!o->topic)
        return NULL;
    o->partition = partition;
    o->offset = -1;
    th->off_cnt++;
    return o;
}

static void delivered(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                      int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    rv__stream_thread_t *th = opaque;
    (void)p;
    (void)timestamp;
    if (err) {
        if (!th->send_err) {
            th->send_err = err;
            snprintf(th->send_msg, sizeof th->send_msg,
                     "Error encountered sending record to topic %s for task: %s", topic,
                     errmsg && *errmsg ? errmsg : rv_err_str(err));
        }
        return;
    }
    last_off_t *o;
    if (topic == th->rep_topic && th->rep_idx < th->off_cnt &&
        th->offs[th->rep_idx].partition == partition) {
        o = &th->offs[th->rep_idx];
    } else {
        o = last_off(th, topic, partition, true);
        th->rep_topic = o ? topic : NULL;
        th->rep_idx = o ? (size_t)(o - th->offs) : 0;
    }
    if (o && offset > o->offset)
        o->offset = offset;
}

static rv_err_t coll_send(void *opaque, const char *topic, int32_t partition, const void *key,
                          int32_t key_len, const void *value, int32_t value_len, int64_t timestamp,
                          const rv_header_t *headers, size_t header_cnt, char *errstr,
                          size_t errstr_size) {
    rv__stream_thread_t *th = opaque;
    if (th->send_err) {
        /* Kafka's RecordCollector rethrows an earlier send failure. */
        rv__errstr_set(errstr, errstr_size, "%s", th->send_msg);
        return th->send_err;
    }
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = partition;
    r.key = key;
    r.key_len = key ? key_len : -1;
    r.value = value;
    r.value_len = value ? value_len : -1;
    r.timestamp = timestamp;
    r.headers = headers;
    r.header_cnt = header_cnt;
    return rv_producer_send(th->producer, &r, delivered, th, errstr, errstr_size);
}

static int32_t coll_partition_count(void *opaque, const char *topic) {
    rv__stream_thread_t *th = opaque;
    return rv__streams_partition_count(th->app, topic);
}

static rv_err_t coll_flush(void *opaque, char *errstr, size_t errstr_size) {
    rv__stream_thread_t *th = opaque;
    th->rep_topic = NULL;
    rv_err_t err = rv_producer_flush(th->producer, -1);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "Flushing the producer failed: %s", rv_err_str(err));
        return err;
    }
    if (th->send_err) {
        rv__errstr_set(errstr, errstr_size, "%s", th->send_msg);
        return th->send_err;
    }
    return 0;
}

static int64_t coll_last_offset(void *opaque, const char *topic, int32_t partition) {
    last_off_t *o = last_off(opaque, topic, partition, false);
    return o ? o->offset : -1;
}

/* ---- Tasks ---- */

static rv__task_t *find_task(rv__stream_thread_t *th, int sub, int32_t partition) {
    char id[32];
    snprintf(id, sizeof id, "%d_%d", sub, (int)partition);
    for (size_t i = 0; i < th->task_cnt; i++)
        if (!strcmp(rv__task_id(th->tasks[i]), id))
            return th->tasks[i];
    return NULL;
}

/* 1 when `topic` (as on the broker) is one of the app's repartition
 * topics: "<application.id>-<name>" read by an internal source. */
static int is_repartition_topic(const rv__stream_thread_t *th, const char *topic) {
    size_t n = strlen(th->app->app_id);
    if (strncmp(topic, th->app->app_id, n) != 0 || topic[n] != '-')
        return 0;
    const rv__tnode_t *src = rv__topology_source_for_topic(th->app->topo, topic + n + 1);
    return src && src->source.internal;
}

/* As Kafka's TaskManager.maybePurgeCommittedRecords: after a commit, at
 * most every repartition.purge.interval.ms, deletes the records of the
 * repartition topics below the offsets just committed: no task of this
 * app will read them again. Only after the periodic commits, not the ones
 * of a rebalance or a shutdown, which it would make longer. A failure only
 * logs (at debug, as Kafka): the next purge retries. */
static void purge_repartition_topics(rv__stream_thread_t *th,
                                     const rv_topic_partition_list_t *committed) {
    int64_t now = rv__mono_ms();
    if (now - th->last_purge < th->app->purge_interval_ms)
        return;
    th->last_purge = now;
    for (size_t i = 0; i < rv_topic_partition_list_count(committed); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(committed, i);
        const char *topic = rv_topic_partition_topic(tp);
        if (!is_repartition_topic(th, topic))
            continue;
        char errstr[512];
        /* The admin client is thread-safe: no app lock around a call that
         * may wait for the network. */
        rv_err_t err =
            rv_admin_delete_records(th->app->admin, topic, rv_topic_partition_partition(tp),
                                    rv_topic_partition_offset(tp), NULL, errstr, sizeof errstr);
        if (err)
            rv__log_debug(FAC,
                          "stream-thread [%s] Purging %s-%d below offset %" PRId64 " failed: %s",
                          th->name, topic, rv_topic_partition_partition(tp),
                          rv_topic_partition_offset(tp), errstr);
    }
}

/* Commits every task and then their input offsets (see DESIGN); `purge`:
 * a periodic commit, which may purge repartition topics. */
static rv_err_t commit_all(rv__stream_thread_t *th, bool enforce_checkpoint, bool purge) {
    char errstr[2048];
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(th->task_cnt * 2 + 1);
    if (!l) {
        fail(th, RV_ERR__NOMEM, "Out of memory");
        return RV_ERR__NOMEM;
    }
    rv_err_t err = 0;
    for (size_t i = 0; !err && i < th->task_cnt; i++) {
        const rv__task_offset_t *offs = NULL;
        size_t cnt = 0;
        err = rv__task_commit(th->tasks[i], enforce_checkpoint, &offs, &cnt, errstr, sizeof errstr);
        if (err) {
            fail(th, err, "Task %s failed to commit: %s", rv__task_id(th->tasks[i]), errstr);
            break;
        }
        for (size_t k = 0; k < cnt; k++) {
            if (offs[k].offset < 0)
                continue;
            rv_topic_partition_t *tp =
                rv_topic_partition_list_add(l, offs[k].topic, offs[k].partition);
            if (!tp) {
                err = RV_ERR__NOMEM;
                fail(th, err, "Out of memory");
                break;
            }
            rv_topic_partition_set_offset(tp, offs[k].offset);
            if (offs[k].metadata && rv_topic_partition_set_metadata(tp, offs[k].metadata)) {
                err = RV_ERR__NOMEM;
                fail(th, err, "Out of memory");
                break;
            }
        }
    }
    if (!err && rv_topic_partition_list_count(l) > 0) {
        rv_err_t cerr = rv_consumer_commit_sync(th->consumer, l, errstr, sizeof errstr);
        if (cerr)
            /* The group moved on (Kafka's TaskMigratedException): the
             * rebalance that follows hands the tasks over; their input
             * since the last good commit is processed again. */
            rv__log_warn(FAC, "stream-thread [%s] Committing offsets failed: %s: %s", th->name,
                         rv_err_name(cerr), errstr);
        else if (purge)
            purge_repartition_topics(th, l);
    }
    rv_topic_partition_list_destroy(l);
    if (!err) {
        th->dirty = false;
        th->last_commit = rv__mono_ms();
    }
    return err;
}

static void close_tasks(rv__stream_thread_t *th, bool clean) {
    char errstr[1024];
    for (size_t i = 0; i < th->task_cnt; i++) {
        rv__task_t *t = th->tasks[i];
        bool ok = clean && !rv__task_failed(t);
        if (rv__task_close(t, ok, errstr, sizeof errstr) && ok)
            rv__log_warn(FAC, "stream-thread [%s] Closing task %s failed: %s", th->name,
                         rv__task_id(t), errstr);
        rv__task_destroy(t);
    }
    th->task_cnt = 0;
}

static rv_err_t restore_consumer(rv__stream_thread_t *th, char *errstr, size_t errstr_size) {
    if (th->restorer)
        return 0;
    rv_conf_t *c = rv_conf_dup(th->app->conf);
    char cid[480];
    snprintf(cid, sizeof cid, "%s-restore-consumer", th->name);
    if (!c || rv_conf_set(c, "group.id", NULL, errstr, errstr_size) ||
        rv_conf_set(c, "enable.auto.commit", "false", errstr, errstr_size) ||
        rv_conf_set(c, "auto.offset.reset", "earliest", errstr, errstr_size) ||
        rv_conf_set(c, "client.id", cid, errstr, errstr_size)) {
        rv_conf_destroy(c);
        return c ? RV_ERR__INVALID_ARG : RV_ERR__NOMEM;
    }
    th->restorer = rv_consumer_new(c, errstr, errstr_size);
    if (!th->restorer) {
        rv_conf_destroy(c);
        return RV_ERR__INVALID_ARG;
    }
    return 0;
}

/* Writes batch[0..b) of a restore to the store, frees the rows a
 * timestamped store needed (rows may be NULL) and tells the restore
 * listener; `last` is the offset of the batch's last record. */
static rv_err_t restore_write(rv__stream_thread_t *th, const rv__task_store_info_t *ts, int32_t p,
                              rv_kv_entry_t *batch, uint8_t **rows, size_t b, int64_t last,
                              int64_t *total) {
    rv_streams_t *app = th->app;
    rv_err_t err = rv__store_restore_batch(ts->store, batch, b);
    for (size_t i = 0; rows && i < b; i++) {
        free(rows[i]);
        rows[i] = NULL;
    }
    *total += (int64_t)b;
    if (!err && app->has_restore && app->restore.on_batch)
        app->restore.on_batch(ts->changelog, p, ts->name, last, (int64_t)b, app->restore.opaque);
    return err;
}

/* restore_store(): the thread stopped (rv_streams_close(), a failure)
 * before the store caught up with its changelog. */
#define RESTORE_STOPPED RV_ERR__WAKEUP

/* How often a lookup that found the cluster out of reach is tried again. */
#define RETRY_MS 500

/* Errors of a cluster that is out of reach for now, which Kafka's clients
 * report as a TimeoutException or a retriable error. */
static bool unreachable(rv_err_t err) {
    return err == RV_ERR__TIMED_OUT || err == RV_ERR_REQUEST_TIMED_OUT ||
           err == RV_ERR_LEADER_NOT_AVAILABLE || err == RV_ERR_COORDINATOR_NOT_AVAILABLE ||
           err == RV_ERR_NOT_COORDINATOR || err == RV_ERR_COORDINATOR_LOAD_IN_PROGRESS;
}

/* As Kafka Streams' task.timeout.ms (KIP-572): a lookup a task needs (the
 * end offset of a changelog, the committed offsets of an assignment) that
 * failed with `err` because the cluster is out of reach is tried again,
 * every RETRY_MS, until it has failed for RV__TASK_TIMEOUT_MS or the
 * thread stops; only then does the thread fail. *since is 0 before the
 * first failure. Returns whether to try again. */
static bool retry_lookup(rv__stream_thread_t *th, rv_err_t err, int64_t *since, const char *what,
                         const char *why) {
    if (!unreachable(err) || atomic_load(&th->stop))
        return false;
    int64_t now = rv__mono_ms();
    if (!*since) {
        *since = now;
        rv__log_warn(FAC, "stream-thread [%s] %s failed (%s): trying again for up to %d ms",
                     th->name, what, why, RV__TASK_TIMEOUT_MS);
    }
    if (now - *since >= RV__TASK_TIMEOUT_MS)
        return false;
    for (int waited = 0; waited < RETRY_MS && !atomic_load(&th->stop); waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return !atomic_load(&th->stop);
}

/* Restores one store of task t from its changelog partition. */
static rv_err_t restore_store(rv__stream_thread_t *th, rv__task_t *t,
                              const rv__task_store_info_t *ts, char *errstr, size_t errstr_size) {
    rv_streams_t *app = th->app;
    const char *store_name = ts->name;
    int32_t p = rv__task_partition(t);
    rv_err_t err = restore_consumer(th, errstr, errstr_size);
    if (err)
        return err;
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_t *tp = l ? rv_topic_partition_list_add(l, ts->changelog, p) : NULL;
    if (!tp) {
        rv_topic_partition_list_destroy(l);
        return RV_ERR__NOMEM;
    }
    /* From checkpoint + 1, or the beginning (in-memory stores always
     * start over), to the end offset taken now: what is written later is
     * this task's own output. */
    rv_err_t lerr = 0;
    int64_t since = 0, end;
    while ((end = rv__streams_end_offset(app, ts->changelog, p, &lerr, errstr, errstr_size)) < 0 &&
           retry_lookup(th, lerr, &since, "Reading the end offset of a changelog", errstr))
        ;
    int64_t start = ts->persistent && ts->checkpoint_offset >= 0 ? ts->checkpoint_offset + 1 : -1;
    int64_t pos = start >= 0 ? start : 0;
    if (end < 0) {
        rv_topic_partition_list_destroy(l);
        return atomic_load(&th->stop) ? RESTORE_STOPPED : RV_ERR__FAIL;
    }
    rv_topic_partition_set_offset(tp, start >= 0 ? start : RV_OFFSET_BEGINNING);
    err = pos < end ? rv_consumer_assign(th->restorer, l) : 0;
    if (err) {
        rv__errstr_set(errstr, errstr_size, "Restoring %s from %s-%d failed: %s", store_name,
                       ts->changelog, (int)p, rv_consumer_last_error(th->restorer));
        rv_topic_partition_list_destroy(l);
        return err;
    }
    if (app->has_restore && app->restore.on_start)
        app->restore.on_start(ts->changelog, p, store_name, pos, end, app->restore.opaque);
    int64_t total = 0;
    rv_kv_entry_t *batch = calloc(RESTORE_BATCH, sizeof *batch);
    /* A timestamped store's rows are "<8-byte timestamp><value>" while its
     * changelog carries the value with the timestamp as the record's
     * (Kafka's format): each row is rebuilt in rows[]. */
    const rv__tstore_t *tst = rv__topology_store_find(app->topo, store_name);
    bool timestamped = tst && rv__store_builder_timestamped(tst->builder);
    uint8_t **rows = timestamped ? calloc(RESTORE_BATCH, sizeof *rows) : NULL;
    if (!batch || (timestamped && !rows))
        err = RV_ERR__NOMEM;
    while (!err && pos < end && !atomic_load(&th->stop)) {
        rv_records_t *rs = NULL;
        err = rv_consumer_poll(th->restorer, 100, &rs);
        if (err) {
            rv__errstr_set(errstr, errstr_size, "Restoring %s from %s-%d failed: %s", store_name,
                           ts->changelog, (int)p, rv_consumer_last_error(th->restorer));
            break;
        }
        size_t n = rv_records_count(rs), b = 0;
        int64_t last = -1;
        for (size_t i = 0; !err && i < n; i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            if (rv_record_offset(r) >= end)
                break;
            int32_t kl, vl;
            const void *k = rv_record_key(r, &kl);
            const void *v = rv_record_value(r, &vl);
            if (!k) {
                last = rv_record_offset(r);
                continue; /* a changelog record always has a key */
            }
            if (v && timestamped) {
                uint8_t *row = malloc(8 + (size_t)vl);
                if (!row) {
                    err = RV_ERR__NOMEM;
                    break;
                }
                rv_serde_int64_write(row, rv_record_timestamp(r));
                memcpy(row + 8, v, (size_t)vl);
                rows[b] = row;
                v = row;
                vl += 8;
            }
            batch[b].key = k;
            batch[b].key_len = (size_t)kl;
            batch[b].value = v;
            batch[b].value_len = v ? (size_t)vl : 0;
            b++;
            last = rv_record_offset(r);
            if (b == RESTORE_BATCH || i + 1 == n) {
                err = restore_write(th, ts, p, batch, rows, b, last, &total);
                b = 0;
            }
        }
        if (!err && b)
            err = restore_write(th, ts, p, batch, rows, b, last, &total);
        for (size_t i = 0; rows && i < b; i++) { /* after a failure */
            free(rows[i]);
            rows[i] = NULL;
        }
        rv_records_destroy(rs);
        if (err) {
            rv__errstr_set(errstr, errstr_size, "Restoring %s: writing to the store failed",
                           store_name);
            break;
        }
        /* Offsets may have gaps (compaction), so the last record read
         * tells how far the store is. When nothing came, the records up
         * to end may be gone (retention of a windowed changelog moved the
         * log start past them): the consumer's position, reset to the log
         * start, tells. */
        if (last >= 0)
            pos = last + 1;
        else if (n == 0 && !err && rv_consumer_position(th->restorer, l) == RV_ERR_NO_ERROR &&
                 rv_topic_partition_offset(tp) > pos)
            pos = rv_topic_partition_offset(tp);
    }
    free(batch);
    free(rows);
    rv_consumer_assign(th->restorer, NULL);
    rv_topic_partition_list_destroy(l);
    if (err)
        return err;
    if (pos < end) {
        /* The thread is stopping: the store holds part of the changelog
         * only, which no checkpoint may claim (see create_task). */
        rv__log_info(FAC,
                     "stream-thread [%s] task [%s] Restoring store %s stopped at offset %" PRId64
                     " of %" PRId64,
                     th->name, rv__task_id(t), store_name, pos, end);
        return RESTORE_STOPPED;
    }
    if (end > 0) {
        /* The next checkpoint records what the store now holds. */
        last_off_t *o = last_off(th, ts->changelog, p, true);
        if (o && end - 1 > o->offset)
            o->offset = end - 1;
    }
    if (app->has_restore && app->restore.on_end)
        app->restore.on_end(ts->changelog, p, store_name, total, app->restore.opaque);
    rv__log_info(FAC,
                 "stream-thread [%s] task [%s] Restored %" PRId64
                 " records of store %s from changelog %s-%d (offsets up to %" PRId64 ")",
                 th->name, rv__task_id(t), total, store_name, ts->changelog, (int)p, end);
    return 0;
}

static rv_err_t create_task(rv__stream_thread_t *th, int sub, int32_t partition,
                            const rv_topic_partition_list_t *committed) {
    char errstr[2048];
    rv__task_opts_t o;
    memset(&o, 0, sizeof o);
    o.topology = th->app->topo;
    o.subtopology = sub;
    o.partition = partition;
    o.conf = th->app->conf;
    o.state_dir = th->app->sd;
    o.collector.send = coll_send;
    o.collector.partition_count = coll_partition_count;
    o.collector.flush = coll_flush;
    o.collector.last_offset = coll_last_offset;
    o.collector.opaque = th;
    if (th->app->global) {
        o.global_store = rv__streams_global_store; /* the locked read-only views */
        o.global_store_opaque = th->app;
    }
    rv__task_t *t = NULL;
    rv_err_t err;
    int64_t deadline = rv__mono_ms() + LOCK_RETRY_MS;
    /* Another owner (a thread of this or another instance still closing
     * the task) may hold the folder lock for a moment. */
    while ((err = rv__task_new(&t, &o, errstr, sizeof errstr)) == RV_ERR__LOCKED &&
           rv__mono_ms() < deadline && !atomic_load(&th->stop)) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (err) {
        fail(th, err, "Creating task %d_%d failed: %s", sub, (int)partition, errstr);
        return err;
    }
    if (th->task_cnt == th->task_cap) {
        size_t cap = th->task_cap ? th->task_cap * 2 : 8;
        rv__task_t **nv = realloc(th->tasks, cap * sizeof *nv);
        if (!nv) {
            rv__task_destroy(t);
            fail(th, RV_ERR__NOMEM, "Out of memory");
            return RV_ERR__NOMEM;
        }
        th->tasks = nv;
        th->task_cap = cap;
    }
    th->tasks[th->task_cnt++] = t;
    for (size_t i = 0; !err && i < rv__task_store_count(t); i++) {
        rv__task_store_info_t si;
        rv__task_store_info(t, i, &si);
        if (si.changelog)
            err = restore_store(th, t, &si, errstr, sizeof errstr);
    }
    if (err == RESTORE_STOPPED && atomic_load(&th->stop)) {
        /* Closed without a commit or checkpoint: the next owner restores
         * from the old checkpoint again. */
        th->task_cnt--;
        rv__task_destroy(t);
        return err;
    }
    /* Kafka's StreamTask.initializeMetadata / initializeTaskTime: the
     * partition times, stream time and processor metadata the last commit
     * left, before the processors' init() reads them. */
    size_t cn = committed ? rv_topic_partition_list_count(committed) : 0;
    for (size_t i = 0; !err && i < cn; i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(committed, i);
        if (rv_topic_partition_partition(tp) != partition ||
            rv__streams_route(th->app, rv_topic_partition_topic(tp)) != sub)
            continue;
        err = rv__task_restore_metadata(t, rv_topic_partition_topic(tp), partition,
                                        rv_topic_partition_metadata(tp));
        if (err)
            snprintf(errstr, sizeof errstr, "Out of memory");
    }
    if (!err)
        err = rv__task_init(t, errstr, sizeof errstr);
    if (err)
        fail(th, err, "Task %s: %s", rv__task_id(t), errstr);
    else
        rv__log_info(FAC, "stream-thread [%s] task [%s] Initialized", th->name, rv__task_id(t));
    return err;
}

/* ---- Rebalance listener ---- */

/* Closes the tasks reading a partition in `parts` (all of them with an
 * eager assignor; only those that move with a cooperative one). */
static void close_revoked(rv__stream_thread_t *th, const rv_topic_partition_list_t *parts,
                          bool clean) {
    char errstr[1024];
    size_t n = rv_topic_partition_list_count(parts);
    for (size_t i = 0; i < n; i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(parts, i);
        int sub = rv__streams_route(th->app, rv_topic_partition_topic(tp));
        rv__task_t *t = sub >= 0 ? find_task(th, sub, rv_topic_partition_partition(tp)) : NULL;
        if (!t)
            continue;
        bool ok = clean && !rv__task_failed(t);
        if (rv__task_close(t, ok, errstr, sizeof errstr) && ok)
            rv__log_warn(FAC, "stream-thread [%s] Closing task %s failed: %s", th->name,
                         rv__task_id(t), errstr);
        rv__task_destroy(t);
        for (size_t k = 0; k < th->task_cnt; k++)
            if (th->tasks[k] == t) {
                th->tasks[k] = th->tasks[--th->task_cnt];
                break;
            }
    }
}

static void on_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *parts, void *opaque) {
    rv__stream_thread_t *th = opaque;
    (void)c;
    if (!rv_topic_partition_list_count(parts))
        return;
    set_running(th, 0);
    /* Everything is committed, also the tasks that stay: one consistent
     * point before the group moves on. */
    if (th->task_cnt && !th->fail_err)
        commit_all(th, true, false);
    close_revoked(th, parts, !th->fail_err);
}

static void on_lost(rv_consumer_t *c, const rv_topic_partition_list_t *parts, void *opaque) {
    rv__stream_thread_t *th = opaque;
    (void)c;
    set_running(th, 0);
    rv__log_warn(FAC, "stream-thread [%s] Partitions lost: closing their tasks without a commit",
                 th->name);
    close_revoked(th, parts, false);
}

static void on_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *parts, void *opaque) {
    rv__stream_thread_t *th = opaque;
    size_t n = rv_topic_partition_list_count(parts);
    if (atomic_load(&th->stop) || rv__streams_app_shutdown(th->app)) {
        /* Stopping (a rebalance that began before): no task to create,
         * restore and close again; nothing of these partitions is
         * processed or committed. */
        rv__log_info(FAC, "stream-thread [%s] Stopping: ignored an assignment of %zu partition(s)",
                     th->name, n);
        return;
    }
    /* The committed offsets first: their metadata initializes the new
     * tasks. Where reading starts: the committed offset, else the
     * beginning (Kafka Streams' auto.offset.reset=earliest), set
     * explicitly so the tasks' input never depends on how the consumer
     * resolves it. */
    rv_topic_partition_list_t *start =
        n && !th->fail_err ? rv_topic_partition_list_copy(parts) : NULL;
    rv_err_t cerr = start ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    int64_t since = 0;
    while (
        start && (cerr = rv_consumer_committed(c, start, 10000)) &&
        retry_lookup(th, cerr, &since, "Reading the committed offsets", rv_consumer_last_error(c)))
        ;
    bool ok = start && !cerr;
    if (!ok && n && !th->fail_err && !atomic_load(&th->stop))
        fail(th, cerr ? cerr : RV_ERR__FAIL, "Reading the committed offsets failed: %s",
             rv_consumer_last_error(c));
    /* A stop (rv_streams_close()) during a restore ends the creation of
     * tasks: the rest would only open their stores to close them again. */
    for (size_t i = 0; ok && i < n && !th->fail_err && !atomic_load(&th->stop); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(parts, i);
        int sub = rv__streams_route(th->app, rv_topic_partition_topic(tp));
        int32_t p = rv_topic_partition_partition(tp);
        if (sub >= 0 && !find_task(th, sub, p))
            create_task(th, sub, p, start);
        /* The task knows each of its partitions from now on, also before
         * their first record (max.task.idle.ms waits for empty ones). */
        rv__task_t *t = sub >= 0 ? find_task(th, sub, p) : NULL;
        rv_err_t aerr = t ? rv__task_add_input(t, rv_topic_partition_topic(tp), p) : 0;
        if (aerr)
            fail(th, aerr, "Task %s cannot take partition %s-%d: %s", rv__task_id(t),
                 rv_topic_partition_topic(tp), (int)p, rv_err_str(aerr));
    }
    for (size_t i = 0; ok && i < n && !th->fail_err; i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_get(start, i);
        int64_t off = rv_topic_partition_offset(tp);
        rv_consumer_seek(c, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp),
                         off >= 0 ? off : RV_OFFSET_BEGINNING);
    }
    rv_topic_partition_list_destroy(start);
    rv__log_info(FAC, "stream-thread [%s] Assigned %zu partition(s), running %zu task(s)", th->name,
                 n, th->task_cnt);
    th->last_commit = rv__mono_ms();
    /* An assignment asking the application to shut down stops the thread
     * (run_loop) rather than running it. */
    if (!th->fail_err && !rv__consumer_shutdown_requested(c))
        set_running(th, 1);
}

/* ---- The loop ---- */

/* Subscribes the consumer to the app's current routing table (again when
 * a pattern source matched new topics: the consumer rebalances). */
static rv_err_t subscribe(rv__stream_thread_t *th) {
    const rv__route_table_t *rt = rv__streams_routes(th->app);
    rv_rebalance_listener_t rl = RV_REBALANCE_LISTENER_INIT;
    rl.revoked = on_revoked;
    rl.assigned = on_assigned;
    rl.lost = on_lost;
    rl.opaque = th;
    rv_err_t err = rv_consumer_subscribe(th->consumer, rt->subscription, rt->cnt, &rl);
    if (!err)
        th->routes_version = rt->version;
    return err;
}

/* Sets name to value unless the app set it. */
static rv_conf_res_t default_override(rv_conf_t *conf, const char *name, const char *value,
                                      char *errstr, size_t errstr_size) {
    if (rv__conf_is_set(conf, name))
        return RV_CONF_OK;
    return rv_conf_set(conf, name, value, errstr, errstr_size);
}

static rv_err_t make_clients(rv__stream_thread_t *th, char *errstr, size_t errstr_size) {
    rv_streams_t *app = th->app;
    char cid[480];
    rv_conf_t *cc = rv_conf_dup(app->conf), *pc = rv_conf_dup(app->conf);
    snprintf(cid, sizeof cid, "%s-consumer", th->name);
    bool bad = !cc || !pc || rv_conf_set(cc, "group.id", app->app_id, errstr, errstr_size) ||
               rv_conf_set(cc, "client.id", cid, errstr, errstr_size) ||
               rv_conf_set(cc, "enable.auto.commit", "false", errstr, errstr_size) ||
               rv_conf_set(cc, "auto.offset.reset", "earliest", errstr, errstr_size) ||
               rv_conf_set(cc, "partition.assignment.strategy", "range", errstr, errstr_size);
    snprintf(cid, sizeof cid, "%s-producer", th->name);
    bad = bad || rv_conf_set(pc, "client.id", cid, errstr, errstr_size) ||
          rv_conf_set(pc, "acks", "all", errstr, errstr_size);
    /* Kafka Streams' client defaults (StreamsConfig's PRODUCER and
     * CONSUMER_DEFAULT_OVERRIDES): linger.ms=100, so sink and changelog
     * records travel in full batches, and max.poll.records=1000. A value
     * the app set wins. */
    bad = bad || default_override(pc, "linger.ms", "100", errstr, errstr_size) ||
          default_override(cc, "max.poll.records", "1000", errstr, errstr_size);
    if (bad) {
        rv_conf_destroy(cc);
        rv_conf_destroy(pc);
        return RV_ERR__INVALID_ARG;
    }
    th->consumer = rv_consumer_new(cc, errstr, errstr_size);
    if (!th->consumer) {
        rv_conf_destroy(cc);
        rv_conf_destroy(pc);
        return RV_ERR__INVALID_ARG;
    }
    th->producer = rv_producer_new(pc, errstr, errstr_size);
    if (!th->producer) {
        rv_conf_destroy(pc);
        return RV_ERR__INVALID_ARG;
    }
    rv_err_t err = subscribe(th);
    if (err)
        rv__errstr_set(errstr, errstr_size, "Subscribing failed: %s",
                       rv_consumer_last_error(th->consumer));
    return err;
}

static void drop_clients(rv__stream_thread_t *th) {
    /* The producer first, while the consumer still holds the partitions:
     * records not sent yet (uncommitted work, which the next owner
     * redoes) fail here rather than reach a changelog after the next
     * owner's. */
    rv_producer_destroy(th->producer);
    th->rep_topic = NULL;
    rv_consumer_destroy(th->consumer);
    rv_consumer_destroy(th->restorer);
    th->consumer = th->restorer = NULL;
    th->producer = NULL;
    for (size_t i = 0; i < th->off_cnt; i++)
        free(th->offs[i].topic);
    th->off_cnt = 0;
    th->rep_topic = NULL;
    th->send_err = 0;
}

/* Kafka's buffered.records.per.partition: pauses the input partitions
 * holding more queued records than that, and resumes the paused ones that
 * the tasks have worked down to it, so a task that waits (max.task.idle.ms)
 * or falls behind does not buffer its input without bound. */
static void apply_backpressure(rv__stream_thread_t *th) {
    size_t limit = (size_t)th->app->buffered_per_partition;
    for (int resume = 0; resume < 2; resume++) {
        rv_topic_partition_list_t *l = NULL;
        for (size_t i = 0; i < th->task_cnt; i++) {
            for (size_t k = 0; k < rv__task_input_count(th->tasks[i]); k++) {
                rv__queue_t *q = rv__task_input(th->tasks[i], k);
                size_t queued = q->cnt - q->head;
                if (resume ? !q->paused || queued > limit : q->paused || queued <= limit)
                    continue;
                if (!l && !(l = rv_topic_partition_list_new(4)))
                    return; /* out of memory: try again after the next poll */
                if (!rv_topic_partition_list_add(l, q->topic, q->partition))
                    break;
                q->paused = !resume;
            }
        }
        if (l &&
            (resume ? rv_consumer_resume(th->consumer, l) : rv_consumer_pause(th->consumer, l)))
            rv__log_warn(FAC, "stream-thread [%s] %s partitions failed: %s", th->name,
                         resume ? "Resuming" : "Pausing", rv_consumer_last_error(th->consumer));
        rv_topic_partition_list_destroy(l);
    }
}

static int64_t fetched_lag(const char *topic, int32_t partition, void *opaque) {
    rv__stream_thread_t *th = opaque;
    return rv__consumer_fetched_lag(th->consumer, topic, partition);
}

static void process_all(rv__stream_thread_t *th) {
    char errstr[2048];
    int64_t wall = rv__now_ms();
    for (size_t i = 0; i < th->task_cnt && !th->fail_err; i++) {
        rv__task_t *t = th->tasks[i];
        while (!th->fail_err && rv__task_ready(t, wall, th->app->max_task_idle_ms, th->poll_epoch,
                                               fetched_lag, th)) {
            int processed = 0;
            rv_err_t err = rv__task_process(t, &processed, errstr, sizeof errstr);
            if (!err)
                err = rv__task_punctuate_stream_time(t, NULL, errstr, sizeof errstr);
            if (err)
                fail(th, err, "Task %s failed: %s", rv__task_id(t), errstr);
            if (processed)
                th->dirty = true;
            if (!processed)
                break;
        }
    }
    int64_t now = rv__now_ms();
    for (size_t i = 0; i < th->task_cnt && !th->fail_err; i++) {
        int punctuated = 0;
        if (rv__task_punctuate_wall_clock(th->tasks[i], now, &punctuated, errstr, sizeof errstr))
            fail(th, RV_ERR__FAIL, "Task %s failed: %s", rv__task_id(th->tasks[i]), errstr);
        if (punctuated)
            th->dirty = true;
    }
}

/* SHUTDOWN_APPLICATION (Kafka's KIP-671): the thread's consumer rejoins
 * the group with a subscription asking it to shut down; the leader then
 * gives every member no partitions and the request, and each instance's
 * threads stop (runtime/streams.c). Every stream thread of this client
 * does it on its way out, after closing its tasks, while its consumer
 * still holds its partitions: a failed thread's input (and the record that
 * failed it) goes to no other instance before the request does. A thread
 * whose clients are gone (they failed to build) carries it with new ones,
 * as Kafka adds a thread when none is left. It waits until its own
 * assignment shows that the group took the request: as long as a
 * rebalance may take (max.poll.interval.ms, the rebalance timeout, with
 * session.timeout.ms on top for a member that died meanwhile), or until
 * rv_streams_close() is called. The kafka backend's group protocol
 * (librdkafka's) carries no user data of ours: there only this instance
 * stops. */
static void maybe_request_app_shutdown(rv__stream_thread_t *th) {
    if (!rv__streams_app_shutdown(th->app) || th->shutdown_seen || atomic_load(&th->crash))
        return;
    th->shutdown_seen = true; /* once */
    if (rv__kafka_is_remote(rv_conf_get(th->app->conf, "bootstrap.servers"))) {
        rv__log_warn(FAC,
                     "stream-thread [%s] The kafka backend cannot ask the other instances of "
                     "application %s to shut down: only this instance stops",
                     th->name, th->app->app_id);
        return;
    }
    char errstr[2048] = "";
    rv_err_t err = th->consumer ? RV_ERR_NO_ERROR : make_clients(th, errstr, sizeof errstr);
    if (!err && (err = rv__consumer_request_shutdown(th->consumer)))
        snprintf(errstr, sizeof errstr, "%s", rv_err_str(err));
    const rv_conf_t *conf = th->app->conf;
    int64_t until = rv__mono_ms() + rv__conf_get_int64(conf, "max.poll.interval.ms", 300000) +
                    rv__conf_get_int64(conf, "session.timeout.ms", 45000);
    bool closing = false;
    while (!err && !rv__consumer_shutdown_requested(th->consumer) && rv__mono_ms() < until &&
           !(closing = rv__streams_closing(th->app))) {
        rv_records_t *rs = NULL; /* no task takes them: nothing is committed */
        err = rv_consumer_poll(th->consumer, 100, &rs);
        rv_records_destroy(rs);
        if (err == RV_ERR__WAKEUP || err == RV_ERR__MAX_POLL_EXCEEDED)
            err = RV_ERR_NO_ERROR;
        else if (err)
            snprintf(errstr, sizeof errstr, "%s", rv_consumer_last_error(th->consumer));
    }
    if (!err && rv__consumer_shutdown_requested(th->consumer))
        rv__log_info(FAC,
                     "stream-thread [%s] The group of application %s took the shutdown request",
                     th->name, th->app->app_id);
    else
        rv__log_warn(
            FAC, "stream-thread [%s] Could not ask the group of application %s to shut down: %s",
            th->name, th->app->app_id,
            err       ? errstr
            : closing ? "the app was closed first"
                      : "no answer in time");
}

static rv_err_t run_loop(rv__stream_thread_t *th) {
    char errstr[2048];
    rv_streams_t *app = th->app;
    int poll_ms = app->commit_interval_ms < 100 ? (int)app->commit_interval_ms : 100;
    th->last_commit = rv__mono_ms();
    while (!atomic_load(&th->stop) && !th->fail_err) {
        rv__streams_refresh_patterns(app);
        if (rv__streams_routes(app)->version != th->routes_version && subscribe(th)) {
            fail(th, RV_ERR__FAIL, "Subscribing failed: %s", rv_consumer_last_error(th->consumer));
            break;
        }
        rv_records_t *rs = NULL;
        rv_err_t err = rv_consumer_poll(th->consumer, poll_ms, &rs);
        if (th->fail_err) {
            rv_records_destroy(rs);
            break;
        }
        if (err == RV_ERR__WAKEUP || err == RV_ERR__MAX_POLL_EXCEEDED) {
            continue;
        } else if (err) {
            fail(th, err, "The consumer failed: %s", rv_consumer_last_error(th->consumer));
            break;
        }
        size_t n = rv_records_count(rs);
        /* The tasks queue the records where the consumer put them; the
         * container goes when the last of them is processed. */
        rv__shared_records_t *sr = n ? rv__shared_records_new(rs) : NULL;
        if (sr)
            rs = NULL;
        /* Records of one partition come in runs sharing one topic string:
         * route a run once. */
        const char *run_topic = NULL;
        int32_t run_partition = -1;
        rv__task_t *t = NULL;
        for (size_t i = 0; i < n && !th->fail_err; i++) {
            const rv_record_t *r =
                sr ? rv_records_get(rv__shared_records_get(sr), i) : rv_records_get(rs, i);
            const char *topic = rv_record_topic(r);
            int32_t partition = rv_record_partition(r);
            if (topic != run_topic || partition != run_partition) {
                int sub = rv__streams_route(app, topic);
                t = sub >= 0 ? find_task(th, sub, partition) : NULL;
                run_topic = topic;
                run_partition = partition;
            }
            if (!t) {
                /* Revoked meanwhile: its new owner reads it again. */
                rv__log_debug(FAC, "stream-thread [%s] Dropped a record of %s-%d: no task",
                              th->name, topic, (int)partition);
                continue;
            }
            rv_err_t aerr = sr ? rv__task_add_shared(t, sr, i, errstr, sizeof errstr)
                               : rv__task_add_consumed(t, r, errstr, sizeof errstr);
            if (aerr)
                fail(th, RV_ERR__FAIL, "Task %s failed: %s", rv__task_id(t), errstr);
        }
        rv__shared_records_unref(sr);
        rv_records_destroy(rs);
        th->poll_epoch++;
        process_all(th);
        apply_backpressure(th);
        size_t buffered = 0;
        for (size_t i = 0; i < th->task_cnt; i++)
            buffered += rv__task_queued(th->tasks[i]);
        atomic_store(&th->buffered, buffered);
        th->rep_topic = NULL;
        rv_producer_poll(th->producer, 0);
        if (th->send_err)
            fail(th, th->send_err, "%s", th->send_msg);
        if (th->fail_err)
            break;
        if (!th->shutdown_seen && rv__consumer_shutdown_requested(th->consumer)) {
            /* The group shuts the application down: this client stops
             * too (a clean stop; the assignment is empty). */
            th->shutdown_seen = true;
            if (!rv__streams_app_shutdown(app))
                rv__streams_shutdown_requested(app, th->name);
            continue;
        }
        bool requested = false;
        for (size_t i = 0; i < th->task_cnt; i++)
            if (rv__task_commit_requested(th->tasks[i]))
                requested = true;
        if (requested || (th->dirty && rv__mono_ms() - th->last_commit >= app->commit_interval_ms))
            commit_all(th, false, true);
    }
    if (th->fail_err)
        return th->fail_err;
    if (atomic_load(&th->crash)) {
        set_running(th, 0);
        rv__consumer_simulate_crash(th->consumer);
        close_tasks(th, false);
        return 0;
    }
    /* Clean shutdown: the final commit, then close. */
    set_running(th, 0);
    commit_all(th, true, false);
    close_tasks(th, !th->fail_err);
    if (!th->fail_err)
        maybe_request_app_shutdown(th);
    rv_consumer_close(th->consumer);
    th->rep_topic = NULL;
    rv_producer_close(th->producer, -1);
    return th->fail_err;
}

static void *thread_main(void *arg) {
    rv__stream_thread_t *th = arg;
    rv__log_info(FAC, "stream-thread [%s] Starting", th->name);
    for (;;) {
        char errstr[2048] = "";
        rv_err_t err = make_clients(th, errstr, sizeof errstr);
        if (err)
            fail(th, err, "Creating the clients failed: %s", errstr);
        else
            err = run_loop(th);
        if (!th->fail_err) {
            drop_clients(th);
            break;
        }
        /* Failed: tasks close without a commit; nothing of this thread's
         * uncommitted work is acknowledged to the group. The consumer
         * keeps the partitions (and takes no new ones: fail_err is set)
         * until the handler has answered. */
        set_running(th, 0);
        close_tasks(th, false);
        rv_streams_uncaught_response_t r =
            rv__streams_thread_failed(th->app, th, th->fail_err, th->fail_msg);
        maybe_request_app_shutdown(th);
        drop_clients(th);
        th->fail_err = 0;
        th->fail_msg[0] = '\0';
        if (r != RV_STREAMS_REPLACE_THREAD || atomic_load(&th->stop))
            break;
    }
    rv__log_info(FAC, "stream-thread [%s] Shutdown complete", th->name);
    atomic_store(&th->dead, 1);
    rv__streams_thread_changed(th->app);
    rv__streams_thread_exited(th->app);
    return NULL;
}

/* ---- Lifecycle (caller's thread) ---- */

rv_err_t rv__stream_thread_new(rv__stream_thread_t **out, rv_streams_t *s, int idx) {
    rv__stream_thread_t *th = calloc(1, sizeof *th);
    if (!th)
        return RV_ERR__NOMEM;
    th->app = s;
    th->last_purge = rv__mono_ms();
    snprintf(th->name, sizeof th->name, "%s-StreamThread-%d", s->client_id, idx + 1);
    atomic_init(&th->stop, 0);
    atomic_init(&th->crash, 0);
    atomic_init(&th->running, 0);
    atomic_init(&th->dead, 0);
    *out = th;
    return 0;
}

rv_err_t rv__stream_thread_start(rv__stream_thread_t *th, char *errstr, size_t errstr_size) {
    int rc = pthread_create(&th->tid, NULL, thread_main, th);
    if (rc) {
        rv__errstr_set(errstr, errstr_size, "Cannot start stream thread %s: %s", th->name,
                       strerror(rc));
        return RV_ERR__FAIL;
    }
    th->started = true;
    return 0;
}

void rv__stream_thread_stop(rv__stream_thread_t *th) {
    atomic_store(&th->stop, 1);
}

void rv__stream_thread_crash(rv__stream_thread_t *th) {
    atomic_store(&th->crash, 1);
    atomic_store(&th->stop, 1);
}

void rv__stream_thread_join(rv__stream_thread_t *th) {
    if (th->started) {
        pthread_join(th->tid, NULL);
        th->started = false;
    }
}

void rv__stream_thread_destroy(rv__stream_thread_t *th) {
    if (!th)
        return;
    rv__stream_thread_join(th);
    close_tasks(th, false);
    drop_clients(th);
    free(th->tasks);
    free(th->offs);
    free(th);
}
