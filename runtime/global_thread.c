/* runtime/global_thread.c: the global stream thread of the running app
 * (Kafka Streams' GlobalStreamThread with its GlobalStateManagerImpl and
 * GlobalStateUpdateTask): it keeps the global stores of the topology
 * (rv_topology_add_global_store()) filled from every partition of their
 * topics on every app instance, and gives the stream threads a
 * thread-safe, read-only view of them. runtime/streams.c starts it before
 * the stream threads and stops it after them; runtime/task.c runs the
 * global sub-topologies as the task "global".
 *
 * DESIGN
 *
 * Tasks and folder. One task per global sub-topology (each global store
 * is its own sub-topology), created with rv__task_new(), so all of them
 * live in state.dir/<application.id>/global. rv__task_new() locks that
 * folder for the task it creates; a second global task would find it
 * locked, so after creating each task the thread hands the lock over to
 * itself (the task's release, then the thread takes it as owner): the
 * folder stays locked by this thread until it returns, and the tasks'
 * own unlock on close finds nothing to release.
 *
 * Checkpoint. The global stores are never logged (their topic is their
 * changelog), so the tasks' own checkpoints record nothing; this thread
 * writes state.dir/<application.id>/global/.checkpoint itself, in the
 * OffsetCheckpoint format, with Kafka's meaning for global stores: per
 * topic-partition the position, i.e. the NEXT offset to read (a stream
 * task's checkpoint holds the last offset written). Partitions of
 * in-memory stores are left out (they keep nothing across a restart). The
 * checkpoint is written after the bootstrap, every commit.interval.ms
 * when records were processed since the last one (Kafka only does so
 * once the offsets moved by 10000; writing it every interval keeps the
 * replay after a crash short, at the cost of one small fsync'd file),
 * and on a clean stop, always after the stores were flushed. A checkpoint
 * entry of a topic that no global store reads fails the start, as in
 * Kafka ("Encountered a topic-partition not associated with any global
 * state store").
 *
 * Bootstrap (Kafka's GlobalStateManagerImpl.registerStore +
 * reprocessState): store by store, partition by partition, the global
 * consumer (assign mode, no group, auto.offset.reset=none, client id
 * "<client id>-global-consumer") reads from the checkpointed position, or
 * the log start offset without one, up to the end offset the admin client
 * reported before reading. The records go through the global source and
 * processor, exactly as later ones (Kafka re-processes on restore for
 * stores added with addGlobalStore since 3.8, KAFKA-7663; earlier versions
 * copied the raw bytes into the store, bypassing the processor). Records
 * with a null key are skipped there, as Kafka does. The restore listener
 * sees on_start(start position, end offset), on_batch after each polled
 * batch and on_end with the total. A topic without partitions (missing)
 * fails with Kafka's "There are no partitions available for topic T when
 * initializing global store S". A checkpointed position outside [log
 * start, end] is Kafka's InvalidOffsetException: the local global state is
 * wiped and the start fails ("Bootstrapping global state failed..."); the
 * next start restores everything from the log start. No progress for 300 s
 * (Kafka's task.timeout.ms default) fails too. rv__global_thread_start()
 * returns only when the bootstrap is done or failed, so the stream threads
 * start with complete global stores (Kafka: KafkaStreams.start() blocks in
 * GlobalStreamThread.start()); rv_streams_close() from another thread
 * interrupts it.
 *
 * Running. The consumer is assigned every partition of every global topic
 * at its position; each poll's records go to their task and are
 * processed at once (no stream-time or wall-clock punctuation: Kafka's
 * global processor context refuses schedule()). OFFSET_OUT_OF_RANGE
 * (records deleted under the position) wipes the global state and fails
 * the app, as Kafka's "Updating global state failed" does; any other
 * error (processor, deserializer under LogAndFail, consumer) fails the
 * app: the uncaught error handler is asked (Kafka 3.x does for the global
 * thread too; REPLACE_THREAD is turned into SHUTDOWN_CLIENT since the
 * global thread cannot be replaced), the app goes PENDING_ERROR, the
 * stream threads stop, and this thread closes its tasks without a
 * checkpoint only after they returned, so no stream thread reads a closed
 * store.
 *
 * Locking. The stores under the tasks (cache, in-memory store) are not
 * thread-safe, and stream threads read global stores while this thread
 * writes them. One writer-preferring rwlock per app guards all global
 * stores: this thread holds the write lock around each call that may
 * touch a store (processing one record, a commit's flush, closing), never
 * across a poll; the stream threads' view (a custom store made with
 * rv_kv_store_new_custom()) takes the read lock for each get and count,
 * and iterators copy entries in chunks of ITER_CHUNK under the read lock
 * and hand them out with no lock held. So no lock is held while user code
 * runs on a stream thread, a reader never takes the lock twice (which a
 * writer-preferring lock would deadlock), and the writer is never starved.
 * A chunked iterator sees each chunk at one point in time and resumes
 * after the last key it returned, so across chunks it may see later
 * writes (keys stay ordered and unique), as Kafka's in-memory store
 * iterator does. The view is read-only: writes fail with RV_ERR__STATE
 * ("Global store is read only", Kafka's ReadOnlyDecorator). The global
 * processors themselves get the raw stores (this thread is the writer).
 *
 * Threads: everything here runs on the global thread, except the
 * lifecycle calls (caller's thread), rv__global_thread_running() and the
 * view (stream threads). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "rivulet/consumer.h"
#include "runtime/streams_internal.h"
#include "runtime/task.h"
#include "state/checkpoint.h"

#define FAC "STREAMS"
#define GLOBAL_TASK "global"
#define ITER_CHUNK 128

enum { PHASE_STARTING, PHASE_RUNNING, PHASE_DEAD };

/* The stream threads' view of one global store. `inner` is read and
 * cleared under the app's rwlock only. */
typedef struct view_s {
    rv__global_thread_t *gt;
    rv_kv_store_t *inner; /* the global task's store; NULL once closed */
    char *name;
} view_t;

/* One partition of a global topic. */
typedef struct gpart_s {
    const char *topic; /* borrowed from the topology */
    int32_t partition;
    size_t task;     /* index in gt->tasks */
    bool persistent; /* its store keeps data across restarts */
    int64_t pos;     /* next offset to read; -1 unknown */
    int64_t ckpt;    /* position in the checkpoint file, -1 none */
} gpart_t;

struct rv__global_thread_s {
    rv_streams_t *app;
    char name[440];
    pthread_t tid;
    bool started;
    _Atomic int stop;
    _Atomic int crash;
    _Atomic int phase;

    pthread_mutex_t lock; /* phase changes, for rv__global_thread_start() */
    pthread_cond_t cond;
    rv_err_t start_err;
    char start_msg[3072];

    pthread_rwlock_t rw; /* the global stores, see DESIGN */

    rv_consumer_t *consumer;
    rv__task_t **tasks;
    size_t task_cnt;
    const char **task_topic; /* the global topic of each task */
    const char **task_store; /* the store of each task */
    bool *task_persistent;
    view_t **views; /* one per task, its store */
    rv_kv_store_t **view_stores;
    gpart_t *parts;
    size_t part_cnt;
    bool locked; /* holds the folder lock of "global" */
    char *ckpt_path;

    bool dirty;
    int64_t last_commit;
    bool wipe; /* the local state is inconsistent: delete it on close */
    rv_err_t fail_err;
    char fail_msg[3072];
};

static void fail(rv__global_thread_t *gt, rv_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(rv__global_thread_t *gt, rv_err_t err, const char *fmt, ...) {
    if (gt->fail_err)
        return; /* keep the first cause */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gt->fail_msg, sizeof gt->fail_msg, fmt, ap);
    va_end(ap);
    gt->fail_err = err ? err : RV_ERR__FAIL;
}

int rv__global_thread_running(const rv__global_thread_t *gt) {
    return atomic_load(&((rv__global_thread_t *)gt)->phase) == PHASE_RUNNING;
}

/* ---- The stream threads' view ---- */

static rv_err_t view_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    view_t *v = opaque;
    pthread_rwlock_rdlock(&v->gt->rw);
    rv_err_t err = v->inner ? rv_kv_store_get(out, v->inner, key, key_len) : RV_ERR__STATE;
    pthread_rwlock_unlock(&v->gt->rw);
    return err;
}

static rv_err_t view_put(void *opaque, const void *key, size_t key_len, const void *value,
                         size_t value_len) {
    view_t *v = opaque;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    rv__log_warn(FAC, "Global store is read only: a stream processor tried to write to %s",
                 v->name);
    return RV_ERR__STATE;
}

static int64_t view_count(void *opaque) {
    view_t *v = opaque;
    pthread_rwlock_rdlock(&v->gt->rw);
    int64_t n = v->inner ? rv_kv_store_approximate_num_entries(v->inner) : -1;
    pthread_rwlock_unlock(&v->gt->rw);
    return n;
}

static void view_close(void *opaque) {
    view_t *v = opaque;
    free(v->name);
    free(v);
}

typedef struct ventry_s {
    unsigned char *mem; /* key then value, one allocation */
    size_t key_len, value_len;
} ventry_t;

/* A chunked iterator (see DESIGN): bounds, the chunk being handed out,
 * and the last key returned, where the next chunk resumes. */
typedef struct viter_s {
    view_t *v;
    void *from, *to;
    size_t from_len, to_len;
    int reverse;
    ventry_t chunk[ITER_CHUNK];
    size_t cnt, idx;
    void *last;
    size_t last_len;
    bool has_last, done;
    rv_err_t err;
} viter_t;

static void viter_drop_chunk(viter_t *it) {
    for (size_t i = 0; i < it->cnt; i++)
        free(it->chunk[i].mem);
    it->cnt = it->idx = 0;
}

static void *dup_bytes(const void *p, size_t n) {
    void *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

/* Reads the next chunk under the read lock. */
static rv_err_t viter_fill(viter_t *it) {
    viter_drop_chunk(it);
    rv_err_t err = 0;
    pthread_rwlock_rdlock(&it->v->gt->rw);
    rv_kv_store_t *inner = it->v->inner;
    rv_kv_iter_t *ii = NULL;
    if (!inner) {
        err = RV_ERR__STATE;
    } else if (!it->reverse) {
        err = it->has_last
                  ? rv_kv_store_range(&ii, inner, it->last, it->last_len, it->to, it->to_len)
                  : rv_kv_store_range(&ii, inner, it->from, it->from_len, it->to, it->to_len);
    } else {
        err = it->has_last ? rv_kv_store_reverse_range(&ii, inner, it->from, it->from_len, it->last,
                                                       it->last_len)
                           : rv_kv_store_reverse_range(&ii, inner, it->from, it->from_len, it->to,
                                                       it->to_len);
    }
    bool more = false;
    while (!err && it->cnt < ITER_CHUNK) {
        int r = rv_kv_iter_next(ii);
        if (r < 0) {
            err = (rv_err_t)r;
            break;
        }
        if (r == 0)
            break;
        size_t kl = 0, vl = 0;
        const void *k = rv_kv_iter_key(ii, &kl);
        const void *val = rv_kv_iter_value(ii, &vl);
        /* The resumed range includes the last key returned: skip it. */
        if (it->has_last && it->cnt == 0 && kl == it->last_len && !memcmp(k, it->last, kl))
            continue;
        ventry_t *e = &it->chunk[it->cnt];
        e->mem = malloc(kl + vl + 1);
        if (!e->mem) {
            err = RV_ERR__NOMEM;
            break;
        }
        memcpy(e->mem, k, kl);
        if (vl)
            memcpy(e->mem + kl, val, vl);
        e->key_len = kl;
        e->value_len = vl;
        it->cnt++;
        more = it->cnt == ITER_CHUNK;
    }
    rv_kv_iter_destroy(ii);
    pthread_rwlock_unlock(&it->v->gt->rw);
    if (err)
        return err;
    if (!more)
        it->done = true;
    if (it->cnt) {
        ventry_t *e = &it->chunk[it->cnt - 1];
        void *l = dup_bytes(e->mem, e->key_len);
        if (!l)
            return RV_ERR__NOMEM;
        free(it->last);
        it->last = l;
        it->last_len = e->key_len;
        it->has_last = true;
    }
    return 0;
}

static void view_iter_close(void *iter) {
    viter_t *it = iter;
    if (!it)
        return;
    viter_drop_chunk(it);
    free(it->from);
    free(it->to);
    free(it->last);
    free(it);
}

static rv_err_t view_iter_open(void *opaque, void **iter, const void *from, size_t from_len,
                               const void *to, size_t to_len, int reverse) {
    viter_t *it = calloc(1, sizeof *it);
    if (!it)
        return RV_ERR__NOMEM;
    it->v = opaque;
    it->reverse = reverse;
    if ((from && !(it->from = dup_bytes(from, from_len))) ||
        (to && !(it->to = dup_bytes(to, to_len)))) {
        view_iter_close(it);
        return RV_ERR__NOMEM;
    }
    it->from_len = from ? from_len : 0;
    it->to_len = to ? to_len : 0;
    *iter = it;
    return 0;
}

static int view_iter_next(void *iter, const void **key, size_t *key_len, const void **value,
                          size_t *value_len) {
    viter_t *it = iter;
    if (it->err)
        return (int)it->err;
    if (it->idx == it->cnt) {
        if (it->done)
            return 0;
        rv_err_t err = viter_fill(it);
        if (err) {
            it->err = err;
            return (int)err;
        }
        if (!it->cnt)
            return 0;
    }
    ventry_t *e = &it->chunk[it->idx++];
    *key = e->mem;
    *key_len = e->key_len;
    *value = e->mem + e->key_len;
    *value_len = e->value_len;
    return 1;
}

#define VIEW_OPS(p)                                                                           \
    {                                                                                         \
        RV_KV_STORE_OPS_VERSION, p, view_get, view_put, NULL, view_iter_open, view_iter_next, \
            view_iter_close, view_count, NULL, view_close                                     \
    }
static const rv_kv_store_ops_t view_ops_mem = VIEW_OPS(0);
static const rv_kv_store_ops_t view_ops_disk = VIEW_OPS(1);

rv_kv_store_t *rv__streams_global_store(void *opaque, const char *name) {
    rv_streams_t *s = opaque;
    rv__global_thread_t *gt = s->global;
    for (size_t i = 0; gt && name && i < gt->task_cnt; i++)
        if (gt->view_stores[i] && !strcmp(gt->task_store[i], name))
            return gt->view_stores[i];
    return NULL;
}

/* The global tasks' own lookup: the raw stores, since this thread is the
 * one writing them. */
static rv_kv_store_t *raw_global_store(void *opaque, const char *name) {
    rv__global_thread_t *gt = opaque;
    for (size_t i = 0; i < gt->task_cnt; i++)
        if (gt->tasks[i] && !strcmp(gt->task_store[i], name))
            return rv__task_store(gt->tasks[i], name);
    return NULL;
}

/* ---- The global tasks' record collector: global processors have no
 * sinks (the topology refuses children), so nothing is ever sent. ---- */

static rv_err_t coll_send(void *opaque, const char *topic, int32_t partition, const void *key,
                          int32_t key_len, const void *value, int32_t value_len, int64_t timestamp,
                          const rv_header_t *headers, size_t header_cnt, char *errstr,
                          size_t errstr_size) {
    (void)opaque, (void)partition, (void)key, (void)key_len, (void)value, (void)value_len;
    (void)timestamp, (void)headers, (void)header_cnt;
    rv__errstr_set(errstr, errstr_size, "A global task cannot send records (to %s)", topic);
    return RV_ERR__STATE;
}

static int32_t coll_partition_count(void *opaque, const char *topic) {
    (void)opaque, (void)topic;
    return -1;
}

static rv_err_t coll_flush(void *opaque, char *errstr, size_t errstr_size) {
    (void)opaque, (void)errstr, (void)errstr_size;
    return 0;
}

static int64_t coll_last_offset(void *opaque, const char *topic, int32_t partition) {
    (void)opaque, (void)topic, (void)partition;
    return -1;
}

/* ---- Checkpoint ---- */

static rv_err_t write_checkpoint(rv__global_thread_t *gt) {
    rv__checkpoint_entry_t *e = calloc(gt->part_cnt ? gt->part_cnt : 1, sizeof *e);
    if (!e)
        return RV_ERR__NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < gt->part_cnt; i++) {
        gpart_t *p = &gt->parts[i];
        int64_t off = p->pos >= 0 ? p->pos : p->ckpt;
        if (!p->persistent || off < 0)
            continue;
        e[n].topic = (char *)p->topic;
        e[n].partition = p->partition;
        e[n].offset = off;
        n++;
    }
    char errstr[1024];
    rv_err_t err = rv__checkpoint_write(gt->ckpt_path, e, n, errstr, sizeof errstr);
    free(e);
    if (err)
        /* As Kafka: a failed checkpoint only costs a longer restore. */
        rv__log_warn(FAC, "global-stream-thread [%s] Failed to write offset checkpoint file %s: %s",
                     gt->name, gt->ckpt_path, errstr);
    return 0;
}

/* Flushes every global store (a commit of each task, under the write
 * lock) and then writes the checkpoint. */
static rv_err_t flush_state(rv__global_thread_t *gt) {
    char errstr[2048];
    rv_err_t err = 0;
    pthread_rwlock_wrlock(&gt->rw);
    for (size_t i = 0; !err && i < gt->task_cnt; i++)
        err = rv__task_commit(gt->tasks[i], true, NULL, NULL, errstr, sizeof errstr);
    pthread_rwlock_unlock(&gt->rw);
    if (err) {
        fail(gt, err, "Failed to flush global state: %s", errstr);
        return err;
    }
    gt->dirty = false;
    gt->last_commit = rv__mono_ms();
    return write_checkpoint(gt);
}

/* ---- Tasks ---- */

static rv_err_t add_part(rv__global_thread_t *gt, const char *topic, int32_t partition,
                         size_t task) {
    gpart_t *nv = realloc(gt->parts, (gt->part_cnt + 1) * sizeof *nv);
    if (!nv)
        return RV_ERR__NOMEM;
    gt->parts = nv;
    gpart_t *p = &nv[gt->part_cnt++];
    p->topic = topic;
    p->partition = partition;
    p->task = task;
    p->persistent = gt->task_persistent[task];
    p->pos = -1;
    p->ckpt = -1;
    return 0;
}

static gpart_t *find_part(rv__global_thread_t *gt, const char *topic, int32_t partition) {
    for (size_t i = 0; i < gt->part_cnt; i++)
        if (gt->parts[i].partition == partition && !strcmp(gt->parts[i].topic, topic))
            return &gt->parts[i];
    return NULL;
}

/* Creates the global tasks, their views, and the partition table from
 * the topics' descriptions; reads the checkpoint. */
static rv_err_t create_tasks(rv__global_thread_t *gt) {
    rv_streams_t *app = gt->app;
    char errstr[2048] = "";
    rv_err_t err = 0;
    size_t subs = rv__topology_subtopology_count(app->topo);
    for (size_t i = 0; !err && i < subs; i++) {
        const rv__subtopology_t *st = rv__topology_subtopology(app->topo, i);
        if (!st->global)
            continue;
        size_t k = gt->task_cnt++;
        /* The folder lock goes back to the task being created. */
        if (gt->locked) {
            rv__state_dir_unlock_task(app->sd, GLOBAL_TASK, gt);
            gt->locked = false;
        }
        rv__task_opts_t o;
        memset(&o, 0, sizeof o);
        o.topology = app->topo;
        o.subtopology = st->id;
        o.partition = 0;
        o.conf = app->conf;
        o.state_dir = app->sd;
        o.collector.send = coll_send;
        o.collector.partition_count = coll_partition_count;
        o.collector.flush = coll_flush;
        o.collector.last_offset = coll_last_offset;
        o.collector.opaque = gt;
        o.global_store = raw_global_store;
        o.global_store_opaque = gt;
        const rv__tnode_t *src = rv__topology_node(app->topo, st->sources[0]);
        gt->task_topic[k] = src->topics[0];
        gt->task_store[k] = rv__topology_store(app->topo, st->stores[0])->name;
        err = rv__task_new(&gt->tasks[k], &o, errstr, sizeof errstr);
        if (err) {
            fail(gt, err, "Creating the global task for store %s failed: %s", gt->task_store[k],
                 errstr);
            break;
        }
        /* Hand the folder lock over to this thread (see DESIGN). */
        rv__state_dir_unlock_task(app->sd, GLOBAL_TASK, gt->tasks[k]);
        err = rv__state_dir_lock_task(app->sd, GLOBAL_TASK, gt, errstr, sizeof errstr);
        if (err) {
            fail(gt, err, "Failed to lock the global state directory: %s", errstr);
            break;
        }
        gt->locked = true;
        rv_kv_store_t *inner = rv__task_store(gt->tasks[k], gt->task_store[k]);
        gt->task_persistent[k] = inner && rv_kv_store_persistent(inner);
        view_t *v = calloc(1, sizeof *v);
        if (v)
            v->name = strdup(gt->task_store[k]);
        if (!v || !v->name) {
            if (v)
                free(v);
            fail(gt, RV_ERR__NOMEM, "Out of memory");
            err = RV_ERR__NOMEM;
            break;
        }
        v->gt = gt;
        v->inner = inner;
        err = rv_kv_store_new_custom(&gt->view_stores[k],
                                     gt->task_persistent[k] ? &view_ops_disk : &view_ops_mem, v,
                                     v->name);
        if (err) {
            view_close(v);
            fail(gt, err, "Cannot create the view of global store %s", gt->task_store[k]);
            break;
        }
        gt->views[k] = v;
    }
    if (err)
        return err;
    gt->ckpt_path = rv__state_dir_task_path(app->sd, GLOBAL_TASK);
    char *path =
        gt->ckpt_path ? malloc(strlen(gt->ckpt_path) + sizeof "/" RV__CHECKPOINT_FILE) : NULL;
    if (!path) {
        fail(gt, RV_ERR__NOMEM, "Out of memory");
        return RV_ERR__NOMEM;
    }
    sprintf(path, "%s/%s", gt->ckpt_path, RV__CHECKPOINT_FILE);
    free(gt->ckpt_path);
    gt->ckpt_path = path;

    /* Every partition of every global topic. */
    for (size_t k = 0; !err && k < gt->task_cnt; k++) {
        int32_t cnt = 0;
        int64_t *starts = NULL, *ends = NULL;
        err = rv__streams_topic_offsets(app, gt->task_topic[k], &cnt, &starts, &ends, errstr,
                                        sizeof errstr);
        if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION || (!err && cnt <= 0)) {
            err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            fail(gt, err,
                 "There are no partitions available for topic %s when initializing global store "
                 "%s (create the topic before starting the app)",
                 gt->task_topic[k], gt->task_store[k]);
        } else if (err) {
            fail(gt, err, "Failed to get the partitions of global topic %s: %s", gt->task_topic[k],
                 errstr);
        }
        for (int32_t p = 0; !err && p < cnt; p++)
            if ((err = add_part(gt, gt->task_topic[k], p, k)))
                fail(gt, err, "Out of memory");
        free(starts);
        free(ends);
    }
    if (err)
        return err;

    rv__checkpoint_entry_t *e = NULL;
    size_t n = 0;
    err = rv__checkpoint_read(gt->ckpt_path, &e, &n, errstr, sizeof errstr);
    if (err) {
        fail(gt, err, "Failed to read checkpoints for global state globalStores: %s", errstr);
        return err;
    }
    for (size_t i = 0; !err && i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < gt->task_cnt; k++)
            known = known || !strcmp(gt->task_topic[k], e[i].topic);
        if (!known) {
            rv__log_err(FAC,
                        "global-stream-thread [%s] Encountered a topic-partition in the global "
                        "checkpoint file not associated with any global state store, "
                        "topic-partition: %s-%d, checkpoint file: %s. If this topic-partition is "
                        "no longer valid, an application reset and state store directory cleanup "
                        "will be required.",
                        gt->name, e[i].topic, (int)e[i].partition, gt->ckpt_path);
            err = RV_ERR__STATE;
            fail(gt, err,
                 "Encountered a topic-partition not associated with any global state store: "
                 "%s-%d in %s",
                 e[i].topic, (int)e[i].partition, gt->ckpt_path);
            break;
        }
        gpart_t *p = find_part(gt, e[i].topic, e[i].partition);
        if (p && p->persistent)
            p->ckpt = e[i].offset;
    }
    rv__checkpoint_free(e, n);
    for (size_t k = 0; !err && k < gt->task_cnt; k++) {
        err = rv__task_init(gt->tasks[k], errstr, sizeof errstr);
        if (err)
            fail(gt, err, "Initializing the global task for store %s failed: %s", gt->task_store[k],
                 errstr);
    }
    return err;
}

static rv_err_t make_consumer(rv__global_thread_t *gt) {
    char errstr[1024] = "", cid[480];
    rv_conf_t *c = rv_conf_dup(gt->app->conf);
    snprintf(cid, sizeof cid, "%s-global-consumer", gt->app->client_id);
    if (!c || rv_conf_set(c, "group.id", NULL, errstr, sizeof errstr) ||
        rv_conf_set(c, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rv_conf_set(c, "auto.offset.reset", "none", errstr, sizeof errstr) ||
        rv_conf_set(c, "client.id", cid, errstr, sizeof errstr)) {
        rv_conf_destroy(c);
        fail(gt, c ? RV_ERR__INVALID_ARG : RV_ERR__NOMEM, "Creating the global consumer failed: %s",
             c ? errstr : "Out of memory");
        return gt->fail_err;
    }
    gt->consumer = rv_consumer_new(c, errstr, sizeof errstr);
    if (!gt->consumer) {
        rv_conf_destroy(c);
        fail(gt, RV_ERR__INVALID_ARG, "Creating the global consumer failed: %s", errstr);
        return gt->fail_err;
    }
    return 0;
}

/* Hands one record to its task and processes what is queued, record by
 * record under the write lock; the position moves past the record. */
static rv_err_t update(rv__global_thread_t *gt, const rv_record_t *r, gpart_t *p) {
    char errstr[2048];
    rv__task_t *t = gt->tasks[p->task];
    rv_err_t err = rv__task_add_consumed(t, r, errstr, sizeof errstr);
    while (!err && rv__task_queued(t)) {
        int processed = 0;
        pthread_rwlock_wrlock(&gt->rw);
        err = rv__task_process(t, &processed, errstr, sizeof errstr);
        pthread_rwlock_unlock(&gt->rw);
        if (!processed)
            break;
    }
    if (err) {
        fail(gt, err,
             "Failed to process a record of %s-%d at offset %" PRId64 " for global store %s: %s",
             rv_record_topic(r), (int)rv_record_partition(r), rv_record_offset(r),
             gt->task_store[p->task], errstr);
        return err;
    }
    p->pos = rv_record_offset(r) + 1;
    gt->dirty = true;
    return 0;
}

/* Kafka's InvalidOffsetException while bootstrapping or updating. */
static void invalid_offset(rv__global_thread_t *gt, bool bootstrapping, const char *why) {
    gt->wipe = true;
    rv__log_err(FAC,
                "global-stream-thread [%s] %s global state failed due to inconsistent local "
                "state. Will attempt to clean up the local state. You can restart the app to "
                "recover from this error.",
                gt->name, bootstrapping ? "Bootstrapping" : "Updating");
    if (bootstrapping)
        fail(gt, RV_ERR_OFFSET_OUT_OF_RANGE,
             "Bootstrapping global state failed. You can restart the app to recover from this "
             "error (the local global state was wiped): %s",
             why);
    else
        fail(gt, RV_ERR_OFFSET_OUT_OF_RANGE,
             "Updating global state failed. You can restart the app to launch a new "
             "GlobalStreamThread to recover from this error (the local global state was wiped): "
             "%s",
             why);
}

/* Bootstraps one partition (see DESIGN). */
static rv_err_t bootstrap_part(rv__global_thread_t *gt, gpart_t *p, int64_t log_start,
                               int64_t end) {
    rv_streams_t *app = gt->app;
    const char *store = gt->task_store[p->task];
    if (p->ckpt >= 0 && (p->ckpt < log_start || p->ckpt > end)) {
        char why[512];
        snprintf(why, sizeof why,
                 "the checkpointed offset %" PRId64 " of %s-%d is out of range [%" PRId64
                 ", %" PRId64 "]",
                 p->ckpt, p->topic, (int)p->partition, log_start, end);
        invalid_offset(gt, true, why);
        return gt->fail_err;
    }
    int64_t pos = p->ckpt >= 0 ? p->ckpt : log_start;
    p->pos = pos;
    if (app->has_restore && app->restore.on_start)
        app->restore.on_start(p->topic, p->partition, store, pos, end, app->restore.opaque);
    int64_t total = 0;
    if (pos < end) {
        rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
        rv_topic_partition_t *tp =
            l ? rv_topic_partition_list_add(l, p->topic, p->partition) : NULL;
        if (!tp) {
            rv_topic_partition_list_destroy(l);
            fail(gt, RV_ERR__NOMEM, "Out of memory");
            return RV_ERR__NOMEM;
        }
        rv_topic_partition_set_offset(tp, p->ckpt >= 0 ? p->ckpt : RV_OFFSET_BEGINNING);
        rv_err_t err = rv_consumer_assign(gt->consumer, l);
        rv_topic_partition_list_destroy(l);
        if (err) {
            fail(gt, err, "Bootstrapping global store %s from %s-%d failed: %s", store, p->topic,
                 (int)p->partition, rv_consumer_last_error(gt->consumer));
            return err;
        }
        int64_t deadline = rv__mono_ms() + RV__TASK_TIMEOUT_MS;
        while (p->pos < end && !atomic_load(&gt->stop) && !gt->fail_err) {
            rv_records_t *rs = NULL;
            err = rv_consumer_poll(gt->consumer, 100, &rs);
            if (err == RV_ERR__WAKEUP)
                continue;
            if (err == RV_ERR_OFFSET_OUT_OF_RANGE || err == RV_ERR__NO_OFFSET) {
                invalid_offset(gt, true, rv_consumer_last_error(gt->consumer));
                break;
            }
            if (err) {
                fail(gt, err, "Bootstrapping global store %s from %s-%d failed: %s", store,
                     p->topic, (int)p->partition, rv_consumer_last_error(gt->consumer));
                break;
            }
            size_t n = rv_records_count(rs);
            int64_t batch = 0, last = -1;
            /* A slow global processor must not delay a close by a whole
             * batch. */
            for (size_t i = 0; i < n && !gt->fail_err && !atomic_load(&gt->stop); i++) {
                const rv_record_t *r = rv_records_get(rs, i);
                if (rv_record_partition(r) != p->partition || strcmp(rv_record_topic(r), p->topic))
                    continue;
                int32_t kl = 0;
                last = rv_record_offset(r);
                if (!rv_record_key(r, &kl)) {
                    p->pos = last + 1; /* Kafka skips null keys while restoring */
                    continue;
                }
                if (!update(gt, r, p))
                    batch++;
            }
            rv_records_destroy(rs);
            /* A compacted topic has gaps: the consumer's position may be
             * past the last record read. */
            rv_topic_partition_list_t *pl = rv_topic_partition_list_new(1);
            rv_topic_partition_t *ptp =
                pl ? rv_topic_partition_list_add(pl, p->topic, p->partition) : NULL;
            if (ptp && !rv_consumer_position(gt->consumer, pl) &&
                rv_topic_partition_offset(ptp) > p->pos && !gt->fail_err &&
                !atomic_load(&gt->stop) && (last < 0 || last + 1 == p->pos))
                p->pos = rv_topic_partition_offset(ptp);
            rv_topic_partition_list_destroy(pl);
            if (last >= 0) {
                deadline = rv__mono_ms() + RV__TASK_TIMEOUT_MS;
                total += batch;
                if (app->has_restore && app->restore.on_batch && !gt->fail_err)
                    app->restore.on_batch(p->topic, p->partition, store, last, batch,
                                          app->restore.opaque);
            } else if (rv__mono_ms() >= deadline) {
                fail(gt, RV_ERR__TIMED_OUT,
                     "Global task did not make progress to restore state within %d ms "
                     "(%s-%d at offset %" PRId64 ", end offset %" PRId64 ")",
                     RV__TASK_TIMEOUT_MS, p->topic, (int)p->partition, p->pos, end);
            }
        }
        rv_consumer_assign(gt->consumer, NULL);
    }
    if (gt->fail_err || atomic_load(&gt->stop))
        return gt->fail_err;
    if (app->has_restore && app->restore.on_end)
        app->restore.on_end(p->topic, p->partition, store, total, app->restore.opaque);
    rv__log_info(FAC,
                 "global-stream-thread [%s] Restored %" PRId64
                 " records of global store %s from %s-%d (offsets %" PRId64 " to %" PRId64 ")",
                 gt->name, total, store, p->topic, (int)p->partition, pos, end);
    return 0;
}

static rv_err_t bootstrap(rv__global_thread_t *gt) {
    rv_streams_t *app = gt->app;
    char errstr[2048];
    if (create_tasks(gt) || make_consumer(gt))
        return gt->fail_err;
    for (size_t k = 0; k < gt->task_cnt && !gt->fail_err && !atomic_load(&gt->stop); k++) {
        rv__log_info(FAC, "global-stream-thread [%s] Restoring state for global store %s", gt->name,
                     gt->task_store[k]);
        int32_t cnt = 0;
        int64_t *starts = NULL, *ends = NULL;
        rv_err_t err = rv__streams_topic_offsets(app, gt->task_topic[k], &cnt, &starts, &ends,
                                                 errstr, sizeof errstr);
        if (err) {
            fail(gt, err, "Failed to get offsets of global topic %s: %s", gt->task_topic[k],
                 errstr);
            break;
        }
        for (size_t i = 0; i < gt->part_cnt && !gt->fail_err && !atomic_load(&gt->stop); i++) {
            gpart_t *p = &gt->parts[i];
            if (p->task != k)
                continue;
            if (p->partition >= cnt) {
                fail(gt, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, "Topic %s has no partition %d",
                     p->topic, (int)p->partition);
                break;
            }
            bootstrap_part(gt, p, starts[p->partition], ends[p->partition]);
        }
        free(starts);
        free(ends);
    }
    if (gt->fail_err || atomic_load(&gt->stop))
        return gt->fail_err;
    /* What the bootstrap read is saved at once: a restart after a crash
     * does not read it again. */
    if (flush_state(gt))
        return gt->fail_err;
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(gt->part_cnt + 1);
    for (size_t i = 0; l && i < gt->part_cnt; i++) {
        rv_topic_partition_t *tp =
            rv_topic_partition_list_add(l, gt->parts[i].topic, gt->parts[i].partition);
        if (!tp) {
            rv_topic_partition_list_destroy(l);
            l = NULL;
            break;
        }
        rv_topic_partition_set_offset(tp, gt->parts[i].pos);
    }
    if (!l) {
        fail(gt, RV_ERR__NOMEM, "Out of memory");
        return RV_ERR__NOMEM;
    }
    rv_err_t err = rv_consumer_assign(gt->consumer, l);
    rv_topic_partition_list_destroy(l);
    if (err)
        fail(gt, err, "Assigning the global topics failed: %s",
             rv_consumer_last_error(gt->consumer));
    return err;
}

static void run_loop(rv__global_thread_t *gt) {
    rv_streams_t *app = gt->app;
    int poll_ms = app->commit_interval_ms < 100 ? (int)app->commit_interval_ms : 100;
    if (poll_ms < 1)
        poll_ms = 1;
    gt->last_commit = rv__mono_ms();
    while (!atomic_load(&gt->stop) && !gt->fail_err) {
        rv_records_t *rs = NULL;
        rv_err_t err = rv_consumer_poll(gt->consumer, poll_ms, &rs);
        if (err == RV_ERR__WAKEUP) {
            continue;
        } else if (err == RV_ERR_OFFSET_OUT_OF_RANGE || err == RV_ERR__NO_OFFSET) {
            invalid_offset(gt, false, rv_consumer_last_error(gt->consumer));
            break;
        } else if (err) {
            fail(gt, err, "The global consumer failed: %s", rv_consumer_last_error(gt->consumer));
            break;
        }
        size_t n = rv_records_count(rs);
        for (size_t i = 0; i < n && !gt->fail_err && !atomic_load(&gt->stop); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            gpart_t *p = find_part(gt, rv_record_topic(r), rv_record_partition(r));
            if (p)
                update(gt, r, p);
        }
        rv_records_destroy(rs);
        if (!gt->fail_err && gt->dirty &&
            rv__mono_ms() - gt->last_commit >= app->commit_interval_ms)
            flush_state(gt);
    }
}

/* Closes the tasks: the views first (under the write lock, so no reader
 * is inside a store), then each task, cleanly (flush, checkpoint) or not. */
static void close_all(rv__global_thread_t *gt, bool clean) {
    if (clean && gt->task_cnt && !gt->fail_err)
        flush_state(gt);
    pthread_rwlock_wrlock(&gt->rw);
    for (size_t k = 0; k < gt->task_cnt; k++)
        if (gt->views[k])
            gt->views[k]->inner = NULL;
    pthread_rwlock_unlock(&gt->rw);
    char errstr[1024];
    for (size_t k = 0; k < gt->task_cnt; k++) {
        if (!gt->tasks[k])
            continue;
        rv__task_close(gt->tasks[k], false, errstr, sizeof errstr);
        rv__task_destroy(gt->tasks[k]);
        gt->tasks[k] = NULL;
    }
    if (gt->wipe && gt->locked) {
        rv__log_info(FAC,
                     "global-stream-thread [%s] Deleting global task directory after detecting "
                     "corruption.",
                     gt->name);
        if (rv__state_dir_wipe_task(gt->app->sd, GLOBAL_TASK, gt, errstr, sizeof errstr))
            rv__log_err(FAC,
                        "global-stream-thread [%s] Failed to delete global task directory after "
                        "detecting corruption: %s",
                        gt->name, errstr);
    }
    if (gt->locked) {
        rv__state_dir_unlock_task(gt->app->sd, GLOBAL_TASK, gt);
        gt->locked = false;
    }
}

/* Waits until every stream thread returned (they read the global
 * stores). */
static void wait_stream_threads(rv_streams_t *s) {
    pthread_mutex_lock(&s->lock);
    while (s->alive > 0)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

static void set_phase(rv__global_thread_t *gt, int phase) {
    pthread_mutex_lock(&gt->lock);
    atomic_store(&gt->phase, phase);
    pthread_cond_broadcast(&gt->cond);
    pthread_mutex_unlock(&gt->lock);
}

static void *thread_main(void *arg) {
    rv__global_thread_t *gt = arg;
    rv_streams_t *app = gt->app;
    rv__log_info(FAC, "global-stream-thread [%s] Starting", gt->name);
    bootstrap(gt);
    bool bootstrapped = !gt->fail_err && !atomic_load(&gt->stop);
    if (bootstrapped) {
        rv__log_info(FAC, "global-stream-thread [%s] State transition from CREATED to RUNNING",
                     gt->name);
        /* rv_streams_start() starts the stream threads now; they decide
         * when the app is RUNNING. */
        set_phase(gt, PHASE_RUNNING);
        run_loop(gt);
    }
    if (gt->fail_err && bootstrapped) {
        rv__log_err(FAC,
                    "global-stream-thread [%s] Error happened while maintaining global state "
                    "store. The streams application or client will now close to ERROR: %s",
                    gt->name, gt->fail_msg);
        rv__streams_global_failed(app, gt->name, gt->fail_err, gt->fail_msg);
        wait_stream_threads(app);
        close_all(gt, false);
    } else if (gt->fail_err) {
        /* The startup error, returned by rv__global_thread_start(). */
        rv__log_err(FAC,
                    "global-stream-thread [%s] Error happened during initialization of the "
                    "global state store; this thread has shutdown: %s",
                    gt->name, gt->fail_msg);
        close_all(gt, false);
        gt->start_err = gt->fail_err;
        snprintf(gt->start_msg, sizeof gt->start_msg, "%s", gt->fail_msg);
    } else {
        rv__log_info(FAC, "global-stream-thread [%s] Shutting down", gt->name);
        close_all(gt, !atomic_load(&gt->crash));
    }
    if (gt->consumer) {
        if (!atomic_load(&gt->crash))
            rv_consumer_close(gt->consumer);
        rv_consumer_destroy(gt->consumer);
        gt->consumer = NULL;
    }
    rv__log_info(FAC, "global-stream-thread [%s] Shutdown complete", gt->name);
    rv__streams_global_exited(app);
    set_phase(gt, PHASE_DEAD);
    return NULL;
}

/* ---- Lifecycle (caller's thread) ---- */

rv_err_t rv__global_thread_new(rv__global_thread_t **out, rv_streams_t *s) {
    size_t subs = rv__topology_subtopology_count(s->topo), n = 0;
    for (size_t i = 0; i < subs; i++)
        n += rv__topology_subtopology(s->topo, i)->global != 0;
    rv__global_thread_t *gt = calloc(1, sizeof *gt);
    if (!gt)
        return RV_ERR__NOMEM;
    gt->tasks = calloc(n ? n : 1, sizeof *gt->tasks);
    gt->task_topic = calloc(n ? n : 1, sizeof *gt->task_topic);
    gt->task_store = calloc(n ? n : 1, sizeof *gt->task_store);
    gt->task_persistent = calloc(n ? n : 1, sizeof *gt->task_persistent);
    gt->views = calloc(n ? n : 1, sizeof *gt->views);
    gt->view_stores = calloc(n ? n : 1, sizeof *gt->view_stores);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Readers never nest (see DESIGN), so preferring the writer is safe
     * and keeps a busy set of stream threads from starving it. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&gt->rw, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc || !gt->tasks || !gt->task_topic || !gt->task_store || !gt->task_persistent ||
        !gt->views || !gt->view_stores) {
        if (!rc)
            pthread_rwlock_destroy(&gt->rw);
        free(gt->tasks);
        free(gt->task_topic);
        free(gt->task_store);
        free(gt->task_persistent);
        free(gt->views);
        free(gt->view_stores);
        free(gt);
        return RV_ERR__NOMEM;
    }
    gt->app = s;
    snprintf(gt->name, sizeof gt->name, "%s-GlobalStreamThread", s->client_id);
    atomic_init(&gt->stop, 0);
    atomic_init(&gt->crash, 0);
    atomic_init(&gt->phase, PHASE_STARTING);
    pthread_mutex_init(&gt->lock, NULL);
    pthread_cond_init(&gt->cond, NULL);
    *out = gt;
    return 0;
}

rv_err_t rv__global_thread_start(rv__global_thread_t *gt, char *errstr, size_t errstr_size) {
    rv_streams_t *s = gt->app;
    pthread_mutex_lock(&s->lock);
    if (s->closing) {
        /* rv_streams_close() ran before the thread existed: it would
         * never stop it. */
        pthread_mutex_unlock(&s->lock);
        rv__errstr_set(errstr, errstr_size, "The app was closed while starting");
        return RV_ERR__STATE;
    }
    int rc = pthread_create(&gt->tid, NULL, thread_main, gt);
    if (!rc) {
        gt->started = true;
        s->global_alive = true;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc) {
        rv__errstr_set(errstr, errstr_size, "Cannot start the global stream thread %s: %s",
                       gt->name, strerror(rc));
        return RV_ERR__FAIL;
    }
    pthread_mutex_lock(&gt->lock);
    while (atomic_load(&gt->phase) == PHASE_STARTING)
        pthread_cond_wait(&gt->cond, &gt->lock);
    int phase = atomic_load(&gt->phase);
    pthread_mutex_unlock(&gt->lock);
    if (phase == PHASE_RUNNING)
        return 0;
    if (gt->start_err) {
        rv__errstr_set(errstr, errstr_size, "%s", gt->start_msg);
        return gt->start_err;
    }
    rv__errstr_set(errstr, errstr_size,
                   "Initialization for the global stream thread failed: the app was closed "
                   "while the global stores were bootstrapping");
    return RV_ERR__STATE;
}

void rv__global_thread_stop(rv__global_thread_t *gt) {
    atomic_store(&gt->stop, 1);
    /* The consumer is created and destroyed on the thread itself; waking
     * it is not needed since polls last at most 100 ms. */
}

void rv__global_thread_crash(rv__global_thread_t *gt) {
    atomic_store(&gt->crash, 1);
    atomic_store(&gt->stop, 1);
}

void rv__global_thread_join(rv__global_thread_t *gt) {
    if (gt && gt->started) {
        pthread_join(gt->tid, NULL);
        gt->started = false;
    }
}

void rv__global_thread_destroy(rv__global_thread_t *gt) {
    if (!gt)
        return;
    rv__global_thread_join(gt);
    close_all(gt, false);
    for (size_t k = 0; k < gt->task_cnt; k++)
        rv_kv_store_destroy(gt->view_stores[k]); /* frees the view */
    rv_consumer_destroy(gt->consumer);
    free(gt->tasks);
    free(gt->task_topic);
    free(gt->task_store);
    free(gt->task_persistent);
    free(gt->views);
    free(gt->view_stores);
    free(gt->parts);
    free(gt->ckpt_path);
    pthread_rwlock_destroy(&gt->rw);
    pthread_mutex_destroy(&gt->lock);
    pthread_cond_destroy(&gt->cond);
    free(gt);
}
