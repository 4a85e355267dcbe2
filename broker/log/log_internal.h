/* broker/log/log_internal.h: the partition log's state, shared by
 * broker/log/log.c (segments, appends, reads, flush, retention) and
 * broker/log/cleaner.c (compaction). Not for other modules: they use
 * broker/log/log.h. Tests include it for rv__log_fsync_count(). */
#ifndef RV_BROKER_LOG_INTERNAL_H
#define RV_BROKER_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/log/log.h"
#include "broker/log/segment.h"

#define RV__CLEANER_CHECKPOINT_FILE "cleaner-offset-checkpoint"

/* Locking:
 *  - append_lock serialises appenders and every change to the segment list
 *    (roll, retention, delete-records, the cleaner's swap). Held across
 *    the pwrite(2) of an append, never across an fsync.
 *  - lock guards everything below that readers look at: the segment list,
 *    offsets, the config, and the sync state. Held only for short
 *    bookkeeping; reads and fsyncs run outside it on referenced segments.
 *  Order: append_lock before lock. clean_lock (one compaction at a time)
 *  comes before both. */
struct rv__log_s {
    char *dir;
    char *name;          /* folder base name, "<topic>-<partition>", for messages */
    uint64_t generation; /* unique per opened log in this process (rv__log_generation) */

    pthread_mutex_t append_lock;
    pthread_mutex_t lock;
    pthread_cond_t sync_cond;
    pthread_mutex_t clean_lock;

    rv__log_config_t cfg;

    rv__segment_t **segs; /* by base offset; the last one is active */
    int seg_cnt, seg_cap;

    int64_t log_start_offset;
    int64_t leo;
    int64_t hw;

    int64_t flushed_offset; /* recovery point: everything below is on disk */
    bool syncing;           /* a thread is in the fsync phase of rv__log_sync */
    bool dir_dirty;         /* the folder's entries changed since its last fsync */
    int64_t last_flush_ms;
    bool offline;              /* an fsync failed: the page cache may have dropped data
                                * that a retried fsync would call durable, so the log
                                * refuses appends and syncs until it is reopened (and
                                * recovered), as Kafka takes the log directory offline */
    int64_t roll_flush_offset; /* a roll asks for everything below this to be
                                * fsync'd by the next rv__log_flush_if_due */
    atomic_uint_fast64_t fsync_count;

    int64_t cleaner_checkpoint; /* first offset not yet cleaned */
};

/** Offset index capacity (entries) of a new segment under `cfg`. */
size_t rv__log_idx_cap(const rv__log_config_t *cfg);

/** Number of fdatasync(2) calls on segment files since open (tests check
 *  group commit with it). Thread-safe. */
uint64_t rv__log_fsync_count(rv__log_t *log);

/** Persists the cleaner's checkpoint (first uncleaned offset) to
 *  `<dir>/cleaner-offset-checkpoint`. Caller holds clean_lock. */
rv_err_t rv__log_write_cleaner_checkpoint(rv__log_t *log, int64_t offset);

#endif
