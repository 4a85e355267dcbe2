/* broker/broker.c: the embedded broker handle (include/rivulet/broker.h):
 * one per data folder and process, reference-counted so the embedded
 * clients of a process share it. It holds the folder lock, owns the topic
 * registry (broker/topics.c, which holds the logs and the on-disk layout)
 * and runs the housekeeping thread; produce, fetch and offset lookups go
 * straight to the partition log (broker/log/log.h).
 *
 * DESIGN
 *
 * Folder lock: DIR/.lock is locked with fcntl(F_SETLK) for the broker's
 * lifetime and holds the holder's pid (as Kafka's .lock, which uses a file
 * lock too). A second process gets RV_ERR__LOCKED naming that pid. fcntl
 * locks belong to the process, so they cannot detect a second open inside
 * the same process; the process-wide list of open brokers, keyed by the
 * folder's realpath, does that and hands out the same broker. fcntl locks
 * vanish when any descriptor of the file is closed, so the lock file is
 * only ever opened once per broker. After fork() the child inherits the
 * list but not the locks: entries are tagged with the opening pid and a
 * child never reuses its parent's broker.
 *
 * Housekeeping: one thread per broker wakes every HOUSEKEEPING_TICK_MS for
 * segment.ms rolls and flush.ms flushes, and every RETENTION_CHECK_MS for
 * retention, compaction and checkpoints. It sleeps on a condition variable,
 * so rv_broker_close() stops it at once instead of waiting for a tick. */
#include "rivulet/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/producer_state.h"
#include "broker/group_coordinator.h"
#include "broker/topics.h"
#include "common/errstr.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/logger.h"

/* How often rolls and flushes are checked. */
#define HOUSEKEEPING_TICK_MS 200
/* How often retention and compaction run. Kafka's
 * log.retention.check.interval.ms is 300000; a short interval makes the
 * effect of retention.ms visible at once on a developer's machine, and a
 * pass over logs with nothing to do is cheap. */
#define RETENTION_CHECK_MS 1000

struct rv_broker_s {
    char *dir;  /* as given */
    char *real; /* realpath: the key of the process-wide list */
    pid_t pid;  /* the process that opened it */
    int refcnt; /* under g_lock */
    int lock_fd;
    rv__topics_t *topics;
    rv__group_coordinator_t *groups; /* broker/group_coordinator.c */
    rv__pstates_t *pstates;          /* idempotent producers (broker/producer_state.c) */

    pthread_t hk_thread;
    bool hk_started;
    pthread_mutex_t hk_lock;
    pthread_cond_t hk_cond;
    atomic_int stop;

    /* Called after every append (rv__broker_set_append_hook). */
    pthread_mutex_t hook_lock;
    rv__broker_append_hook_t *hooks[RV__BROKER_MAX_APPEND_HOOKS];
    void *hook_opaques[RV__BROKER_MAX_APPEND_HOOKS];

    rv_broker_t *next; /* under g_lock */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static rv_broker_t *g_brokers;

rv__topics_t *rv__broker_topics(rv_broker_t *broker) {
    return broker->topics;
}

rv__pstates_t *rv__broker_pstates(rv_broker_t *broker) {
    return broker->pstates;
}

rv__group_coordinator_t *rv__broker_group_coordinator(rv_broker_t *broker) {
    return broker->groups;
}

/* ---- housekeeping ---- */

/* rv__pstates_prune()'s question: does the partition still have that log? */
static bool partition_live(void *opaque, const char *topic, int32_t partition, uint64_t log_gen) {
    rv__topics_t *topics = opaque;
    rv__topic_t *tp = NULL;
    rv__log_t *log = NULL;
    char errstr[256];
    if (rv__topics_acquire(topics, topic, partition, &tp, &log, errstr, sizeof errstr))
        return false;
    bool live = rv__log_generation(log) == log_gen;
    rv__topics_release(topics, tp);
    return live;
}

static void *housekeeping_main(void *arg) {
    rv_broker_t *b = arg;
    int64_t last_retention = rv__mono_ms();
    pthread_mutex_lock(&b->hk_lock);
    while (!atomic_load(&b->stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)HOUSEKEEPING_TICK_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (!atomic_load(&b->stop) &&
               pthread_cond_timedwait(&b->hk_cond, &b->hk_lock, &ts) != ETIMEDOUT)
            ;
        if (atomic_load(&b->stop))
            break;
        pthread_mutex_unlock(&b->hk_lock);
        int64_t mono = rv__mono_ms();
        bool retention = mono - last_retention >= RETENTION_CHECK_MS;
        if (retention)
            last_retention = mono;
        rv__topics_housekeep(b->topics, rv__now_ms(), retention, &b->stop);
        if (retention)
            rv__pstates_prune(b->pstates, partition_live, b->topics);
        pthread_mutex_lock(&b->hk_lock);
    }
    pthread_mutex_unlock(&b->hk_lock);
    return NULL;
}

static int start_housekeeping(rv_broker_t *b) {
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca))
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&b->hk_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -1;
    if (pthread_create(&b->hk_thread, NULL, housekeeping_main, b)) {
        pthread_cond_destroy(&b->hk_cond);
        return -1;
    }
    b->hk_started = true;
    return 0;
}

static void stop_housekeeping(rv_broker_t *b) {
    if (!b->hk_started)
        return;
    pthread_mutex_lock(&b->hk_lock);
    atomic_store(&b->stop, 1);
    pthread_cond_broadcast(&b->hk_cond);
    pthread_mutex_unlock(&b->hk_lock);
    pthread_join(b->hk_thread, NULL);
    pthread_cond_destroy(&b->hk_cond);
    b->hk_started = false;
}

/* ---- the folder lock ---- */

static rv_err_t lock_folder(rv_broker_t *b, char *errstr, size_t errstr_size) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/.lock", b->real) >= (int)sizeof path) {
        rv__errstr_set(errstr, errstr_size, "Path too long: %s", b->real);
        return RV_ERR__INVALID_ARG;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rv__errstr_set(errstr, errstr_size, "Cannot open %s: %s", path, strerror(errno));
        return RV_ERR__IO;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        int e = errno;
        if (e != EACCES && e != EAGAIN) {
            close(fd);
            rv__errstr_set(errstr, errstr_size, "Cannot lock %s: %s", path, strerror(e));
            return RV_ERR__IO;
        }
        /* Ask the kernel who holds it; the pid in the file is the fallback
         * (the holder may sit in another pid namespace). */
        long pid = -1;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (!fcntl(fd, F_GETLK, &fl) && fl.l_type != F_UNLCK && fl.l_pid > 0)
            pid = fl.l_pid;
        if (pid <= 0) {
            char buf[32] = {0};
            if (pread(fd, buf, sizeof buf - 1, 0) > 0)
                pid = strtol(buf, NULL, 10);
        }
        close(fd);
        rv__errstr_set(errstr, errstr_size, "data folder %s is locked by process %ld", b->dir, pid);
        return RV_ERR__LOCKED;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || rv__io_pwrite_all(fd, buf, (size_t)n, 0)) {
        int e = errno;
        close(fd);
        rv__errstr_set(errstr, errstr_size, "Cannot write %s: %s", path, strerror(e));
        return RV_ERR__IO;
    }
    b->lock_fd = fd;
    return RV_ERR_NO_ERROR;
}

/* ---- open / close ---- */

static void broker_free(rv_broker_t *b) {
    if (b->lock_fd >= 0)
        close(b->lock_fd); /* releases the fcntl lock */
    pthread_mutex_destroy(&b->hk_lock);
    pthread_mutex_destroy(&b->hook_lock);
    rv__pstates_destroy(b->pstates);
    free(b->dir);
    free(b->real);
    free(b);
}

rv_err_t rv_broker_open(rv_broker_t **out, const char *data_dir, char *errstr, size_t errstr_size) {
    if (!out || !data_dir || !*data_dir) {
        rv__errstr_set(errstr, errstr_size, "A data folder is required");
        return RV_ERR__INVALID_ARG;
    }
    if (rv__io_mkdirs(data_dir, 0755)) {
        rv__errstr_set(errstr, errstr_size, "Cannot create data folder %s: %s", data_dir,
                       strerror(errno));
        return RV_ERR__IO;
    }
    char *real = realpath(data_dir, NULL);
    if (!real) {
        rv__errstr_set(errstr, errstr_size, "Cannot resolve data folder %s: %s", data_dir,
                       strerror(errno));
        return RV_ERR__IO;
    }

    pthread_mutex_lock(&g_lock);
    for (rv_broker_t *b = g_brokers; b; b = b->next) {
        if (b->pid == getpid() && !strcmp(b->real, real)) {
            b->refcnt++;
            pthread_mutex_unlock(&g_lock);
            free(real);
            *out = b;
            return RV_ERR_NO_ERROR;
        }
    }

    rv_err_t err;
    rv_broker_t *b = calloc(1, sizeof *b);
    if (!b || !(b->dir = strdup(data_dir))) {
        free(b);
        free(real);
        pthread_mutex_unlock(&g_lock);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    b->real = real;
    b->pid = getpid();
    b->refcnt = 1;
    b->lock_fd = -1;
    pthread_mutex_init(&b->hk_lock, NULL);
    pthread_mutex_init(&b->hook_lock, NULL);
    atomic_init(&b->stop, 0);

    if ((err = lock_folder(b, errstr, errstr_size)) ||
        (err = rv__topics_open(&b->topics, b->real, errstr, errstr_size))) {
        broker_free(b);
        pthread_mutex_unlock(&g_lock);
        return err;
    }
    /* Replays __consumer_offsets when it exists. */
    if ((err = rv__group_coordinator_open(&b->groups, b->topics, NULL, errstr, errstr_size))) {
        rv__topics_close(b->topics);
        broker_free(b);
        pthread_mutex_unlock(&g_lock);
        return err;
    }
    if ((err = rv__pstates_new(&b->pstates, b->real, errstr, errstr_size))) {
        rv__group_coordinator_close(b->groups);
        rv__topics_close(b->topics);
        broker_free(b);
        pthread_mutex_unlock(&g_lock);
        return err;
    }
    if (start_housekeeping(b)) {
        rv__group_coordinator_close(b->groups);
        rv__topics_close(b->topics);
        broker_free(b);
        pthread_mutex_unlock(&g_lock);
        rv__errstr_set(errstr, errstr_size, "Cannot start the housekeeping thread");
        return RV_ERR__FAIL;
    }
    b->next = g_brokers;
    g_brokers = b;
    pthread_mutex_unlock(&g_lock);
    rv__log_info("BROKER", "Opened data folder %s", data_dir);
    *out = b;
    return RV_ERR_NO_ERROR;
}

void rv_broker_close(rv_broker_t *broker) {
    if (!broker)
        return;
    pthread_mutex_lock(&g_lock);
    rv_assert(broker->refcnt > 0);
    if (--broker->refcnt > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    for (rv_broker_t **pp = &g_brokers; *pp; pp = &(*pp)->next) {
        if (*pp == broker) {
            *pp = broker->next;
            break;
        }
    }
    /* The teardown runs under g_lock, as the open does: an open of the same
     * folder meanwhile would otherwise lock it again (fcntl locks belong to
     * the process, so that succeeds) and then lose the lock when this
     * broker closes its descriptor. */
    stop_housekeeping(broker);
    rv__group_coordinator_close(broker->groups);
    rv__topics_close(broker->topics);
    rv__log_info("BROKER", "Closed data folder %s", broker->dir);
    broker_free(broker);
    pthread_mutex_unlock(&g_lock);
}

/* ---- data path ---- */

int rv__broker_add_append_hook(rv_broker_t *broker, rv__broker_append_hook_t *fn, void *opaque) {
    int id = -1;
    pthread_mutex_lock(&broker->hook_lock);
    for (int i = 0; i < RV__BROKER_MAX_APPEND_HOOKS && id < 0; i++)
        if (!broker->hooks[i]) {
            broker->hooks[i] = fn;
            broker->hook_opaques[i] = opaque;
            id = i;
        }
    pthread_mutex_unlock(&broker->hook_lock);
    return id;
}

void rv__broker_remove_append_hook(rv_broker_t *broker, int id) {
    if (id < 0 || id >= RV__BROKER_MAX_APPEND_HOOKS)
        return;
    pthread_mutex_lock(&broker->hook_lock);
    broker->hooks[id] = NULL;
    broker->hook_opaques[id] = NULL;
    pthread_mutex_unlock(&broker->hook_lock);
}

/* Tells the hooks that `topic` grew. The hook lock is held while they run,
 * so a removed hook is never called afterwards; hooks must not block. */
static void run_append_hooks(rv_broker_t *broker, const char *topic, int32_t partition) {
    pthread_mutex_lock(&broker->hook_lock);
    for (int i = 0; i < RV__BROKER_MAX_APPEND_HOOKS; i++)
        if (broker->hooks[i])
            broker->hooks[i](topic, partition, broker->hook_opaques[i]);
    pthread_mutex_unlock(&broker->hook_lock);
}

rv_err_t rv_broker_produce(rv_broker_t *broker, const char *topic, int32_t partition,
                           const void *batches, size_t len, int acks, int64_t *base_offset,
                           char *errstr, size_t errstr_size) {
    if (acks != -1 && acks != 0 && acks != 1) {
        rv__errstr_set(errstr, errstr_size, "Invalid required acks %d: must be -1 (all), 0 or 1",
                       acks);
        return RV_ERR_INVALID_REQUIRED_ACKS;
    }
    if (!batches || !len) {
        rv__errstr_set(errstr, errstr_size, "Produce request to %s-%d has no record batches",
                       topic ? topic : "(null)", partition);
        return RV_ERR_CORRUPT_MESSAGE;
    }
    rv__topic_t *tp;
    rv__log_t *log;
    rv_err_t err =
        rv__topics_acquire(broker->topics, topic, partition, &tp, &log, errstr, errstr_size);
    if (err)
        return err;
    /* The log assigns offsets by rewriting the batches in place; the
     * caller's bytes are borrowed and stay untouched. */
    uint8_t *copy = malloc(len);
    if (!copy) {
        rv__topics_release(broker->topics, tp);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    memcpy(copy, batches, len);
    rv__append_info_t info;
    memset(&info, 0, sizeof info);
    err = rv__pstates_append(broker->pstates, topic, partition, log, copy, len, acks, &info, errstr,
                             errstr_size);
    free(copy);
    rv__topics_release(broker->topics, tp);
    if (!err && base_offset)
        *base_offset = info.base_offset;
    if (!err)
        run_append_hooks(broker, topic, partition);
    return err;
}

rv_err_t rv__broker_append(rv_broker_t *broker, const char *topic, int32_t partition, uint8_t *data,
                           size_t len, int acks, rv__append_info_t *info, char *errstr,
                           size_t errstr_size) {
    struct iovec iov = {data, len};
    return rv__broker_appendv(broker, topic, partition, &iov, 1, acks, info, errstr, errstr_size);
}

rv_err_t rv__broker_appendv(rv_broker_t *broker, const char *topic, int32_t partition,
                            const struct iovec *iov, int iovcnt, int acks, rv__append_info_t *info,
                            char *errstr, size_t errstr_size) {
    if (acks != -1 && acks != 0 && acks != 1) {
        rv__errstr_set(errstr, errstr_size, "Invalid required acks %d: must be -1 (all), 0 or 1",
                       acks);
        return RV_ERR_INVALID_REQUIRED_ACKS;
    }
    rv__topic_t *tp;
    rv__log_t *log;
    rv_err_t err =
        rv__topics_acquire(broker->topics, topic, partition, &tp, &log, errstr, errstr_size);
    if (err)
        return err;
    err = rv__pstates_appendv(broker->pstates, topic, partition, log, iov, iovcnt, acks, info,
                              errstr, errstr_size);
    rv__topics_release(broker->topics, tp);
    if (!err)
        run_append_hooks(broker, topic, partition);
    return err;
}

rv_err_t rv__broker_sync(rv_broker_t *broker, const char *topic, int32_t partition, int64_t offset,
                         char *errstr, size_t errstr_size) {
    rv__topic_t *tp;
    rv__log_t *log;
    rv_err_t err =
        rv__topics_acquire(broker->topics, topic, partition, &tp, &log, errstr, errstr_size);
    if (err)
        return err;
    err = rv__log_sync(log, offset);
    rv__topics_release(broker->topics, tp);
    if (err)
        rv__errstr_set(errstr, errstr_size, "fsync of %s-%d failed: %s", topic, partition,
                       rv_err_str(err));
    return err;
}

rv_err_t rv__broker_init_producer_id(rv_broker_t *broker, int64_t *producer_id, int16_t *epoch,
                                     char *errstr, size_t errstr_size) {
    return rv__pstates_init_producer_id(broker->pstates, producer_id, epoch, errstr, errstr_size);
}

rv_err_t rv_broker_fetch(rv_broker_t *broker, const char *topic, int32_t partition, int64_t offset,
                         size_t max_bytes, void **out, size_t *out_len, int64_t *high_watermark,
                         char *errstr, size_t errstr_size) {
    *out = NULL;
    *out_len = 0;
    rv__topic_t *tp;
    rv__log_t *log;
    rv_err_t err =
        rv__topics_acquire(broker->topics, topic, partition, &tp, &log, errstr, errstr_size);
    if (err)
        return err;
    rv__buf_t b = RV__BUF_INIT;
    rv__read_info_t info;
    memset(&info, 0, sizeof info);
    err = rv__log_read(log, offset, max_bytes, &b, &info, errstr, errstr_size);
    rv__topics_release(broker->topics, tp);
    if (err || !b.len) {
        rv__buf_free(&b);
        if (!err && high_watermark)
            *high_watermark = info.high_watermark;
        return err;
    }
    *out = b.data; /* malloc'd by the buffer: the caller frees with rv_free() */
    *out_len = b.len;
    if (high_watermark)
        *high_watermark = info.high_watermark;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_broker_offset_for_time(rv_broker_t *broker, const char *topic, int32_t partition,
                                   int64_t ts, int64_t *offset, char *errstr, size_t errstr_size) {
    rv__topic_t *tp;
    rv__log_t *log;
    rv_err_t err =
        rv__topics_acquire(broker->topics, topic, partition, &tp, &log, errstr, errstr_size);
    if (err)
        return err;
    int64_t found_ts = -1;
    if (ts == -1) /* ListOffsets LATEST */
        *offset = rv__log_high_watermark(log);
    else if (ts == -2) /* ListOffsets EARLIEST */
        *offset = rv__log_start_offset(log);
    else
        err = rv__log_offset_for_timestamp(log, ts, offset, &found_ts);
    rv__topics_release(broker->topics, tp);
    if (err)
        rv__errstr_set(errstr, errstr_size, "Looking up timestamp %lld in %s-%d failed: %s",
                       (long long)ts, topic, partition, rv_err_str(err));
    return err;
}
