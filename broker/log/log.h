/* broker/log/log.h: one partition's log: a folder of segments.
 *
 * The folder `<topic>-<partition>/` holds segments named by base offset
 * (20 digits): 00000000000000000000.log (RecordBatch v2 as on the wire),
 * .index (sparse offset -> position) and .timeindex (sparse timestamp ->
 * offset), plus `leader-epoch-checkpoint`-free Kafka-compatible files only.
 *
 * Offsets: log start offset (LSO here: first readable offset, moved by
 * retention and delete-records) <= high watermark (HW: everything below is
 * readable) <= log end offset (LEO: next offset to assign). On this
 * single-replica broker HW = LEO once an append has completed.
 *
 * Threads: every function is thread-safe. Appends are serialised by the
 * log's lock; reads run concurrently with appends and with each other and
 * never see a batch at or past the HW. rv__log_sync() is the group commit:
 * concurrent callers share one fsync. */
#ifndef RV_BROKER_LOG_H
#define RV_BROKER_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "broker/log/log_config.h"
#include "common/buf.h"
#include "rivulet/error.h"

typedef struct rv__log_s rv__log_t;

/** Opens the partition folder `dir`, creating it when missing, and
 *  recovers it: batches at or past `recovery_point` (from the broker's
 *  recovery-point checkpoint; 0 = check everything) are validated by
 *  length, magic and CRC; the first bad one and everything after it in that
 *  segment is truncated (logged with the offset and byte counts), later
 *  segments are removed, and the indexes of recovered segments are rebuilt.
 *  Nothing before the bad batch is lost. `log_start_offset` comes from the
 *  broker's checkpoint; -1 means the first segment's base offset.
 *  Caller owns *out; free with rv__log_close(). `cfg` is copied. */
rv_err_t rv__log_open(rv__log_t **out, const char *dir, const rv__log_config_t *cfg,
                      int64_t recovery_point, int64_t log_start_offset, char *errstr,
                      size_t errstr_size);

/** Flushes (fsync of data and indexes), closes and frees. NULL is fine. */
void rv__log_close(rv__log_t *log);

/** Closes the log and removes its folder (topic deletion). */
rv_err_t rv__log_delete(rv__log_t *log);

/** Replaces the log's settings (alter configs); takes effect on the next
 *  append, roll, retention or cleaning. */
void rv__log_set_config(rv__log_t *log, const rv__log_config_t *cfg);

/* Append flags. */
#define RV__APPEND_SYNC 0x1 /* return after the data is fsync'd (acks=all) */

typedef struct rv__append_info_s {
    int64_t base_offset;     /* first offset assigned */
    int64_t last_offset;     /* last offset assigned */
    int64_t log_append_time; /* the broker time written, or -1 (CreateTime) */
    int64_t log_start_offset;
} rv__append_info_t;

/** Appends `data`: one or more whole RecordBatch v2, concatenated. Each is
 *  checked (size, magic 2, CRC-32C, batch size <= max.message.bytes, keys
 *  present on compacted topics) before anything is written; a bad batch
 *  fails the whole append with CORRUPT_MESSAGE / MESSAGE_TOO_LARGE /
 *  INVALID_RECORD and a message in errstr. Offsets are assigned by
 *  rewriting base_offset in place in `data` (hence not const), and for
 *  LogAppendTime topics the timestamp is set (CRC recomputed). Rolls a new
 *  segment first when the active one would pass segment.bytes or is older
 *  than segment.ms. With RV__APPEND_SYNC returns after fsync (group
 *  commit); otherwise flush.messages / flush.ms decide when to fsync. */
rv_err_t rv__log_append(rv__log_t *log, uint8_t *data, size_t len, int flags,
                        rv__append_info_t *info, char *errstr, size_t errstr_size);

/** rv__log_append() of the iovcnt buffers of iov, in order, as one append:
 *  each buffer holds whole batches, all are checked before any is written,
 *  and they go to the segment in one vectored write (so many small batches
 *  cost the page cache one write instead of one each). The buffers are
 *  rewritten in place; *info covers them all. */
rv_err_t rv__log_appendv(rv__log_t *log, const struct iovec *iov, int iovcnt, int flags,
                         rv__append_info_t *info, char *errstr, size_t errstr_size);

/** Returns once every offset below `offset` is fsync'd (data and the
 *  segment files' metadata). Concurrent callers share one fsync. A failed
 *  fsync returns RV_ERR__IO and takes the log offline: later appends and
 *  syncs fail with RV_ERR__IO until the log is closed and reopened (which
 *  recovers it from its recovery point), because a retried fsync cannot
 *  vouch for pages the kernel may have dropped. */
rv_err_t rv__log_sync(rv__log_t *log, int64_t offset);

typedef struct rv__read_info_s {
    int64_t high_watermark;
    int64_t log_start_offset;
    int64_t next_offset; /* offset after the last batch returned, or the
                          * requested offset when nothing was returned */
} rv__read_info_t;

/** Appends to `out` whole batches starting with the one that holds
 *  `offset`, stopping before max_bytes would be passed; the first batch is
 *  returned whole even if bigger than max_bytes (so readers always make
 *  progress, as Kafka's KIP-74). Only batches below the HW. offset == HW
 *  returns nothing and succeeds. OFFSET_OUT_OF_RANGE (with a message naming
 *  the valid range) when offset < log start offset or > HW. */
rv_err_t rv__log_read(rv__log_t *log, int64_t offset, size_t max_bytes, rv__buf_t *out,
                      rv__read_info_t *info, char *errstr, size_t errstr_size);

/** The first offset whose record timestamp is >= ts (ListOffsets by time),
 *  with that record's timestamp. *offset = -1 when no record qualifies. */
rv_err_t rv__log_offset_for_timestamp(rv__log_t *log, int64_t ts, int64_t *offset,
                                      int64_t *timestamp);

int64_t rv__log_start_offset(rv__log_t *log);
int64_t rv__log_high_watermark(rv__log_t *log);
/** A number that no other log opened by this process has had or will
 *  have (never 0). State kept about a log elsewhere is keyed by it rather
 *  than by the log's address, which a log opened after this one is closed
 *  (a deleted and re-created topic) may get again. */
uint64_t rv__log_generation(const rv__log_t *log);
int64_t rv__log_end_offset(rv__log_t *log);
/** Offset below which everything is fsync'd (for the broker's
 *  recovery-point checkpoint). */
int64_t rv__log_recovery_point(rv__log_t *log);
/** Bytes in all segments. */
int64_t rv__log_size_bytes(rv__log_t *log);
int rv__log_segment_count(rv__log_t *log);

/** delete-records: moves the log start offset to `offset` (-1 = the HW);
 *  whole segments below it are deleted. OFFSET_OUT_OF_RANGE when offset >
 *  HW. A lower offset than the current start leaves it unchanged. The
 *  caller persists the returned start offset (broker checkpoint). */
rv_err_t rv__log_delete_records(rv__log_t *log, int64_t offset, int64_t *low_watermark,
                                char *errstr, size_t errstr_size);

/** Time-driven housekeeping, called by the broker's scheduler and by tests
 *  with an explicit `now_ms`:
 *  - retention: for cleanup.policy with delete, removes whole segments
 *    whose newest record is older than retention.ms and, oldest first,
 *    segments while the log stays above retention.bytes. The active segment
 *    goes too when it has expired (a new empty one is rolled first, as
 *    Kafka does). The log start offset moves up. Returns the count deleted.
 *  - flush: fsyncs when flush.ms has passed since the last fsync.
 *  - roll: rolls a non-empty active segment older than segment.ms. */
int rv__log_retention(rv__log_t *log, int64_t now_ms);
rv_err_t rv__log_flush_if_due(rv__log_t *log, int64_t now_ms);
rv_err_t rv__log_roll_if_due(rv__log_t *log, int64_t now_ms);

/** Forces a roll: the active segment becomes read-only, a new one starts
 *  at the LEO (no-op when the active segment is empty). */
rv_err_t rv__log_roll(rv__log_t *log);

typedef struct rv__clean_stats_s {
    int segments_cleaned;
    int64_t records_read;
    int64_t records_kept;
    int64_t bytes_before;
    int64_t bytes_after;
    int64_t tombstones_dropped;
} rv__clean_stats_t;

/** Compaction for cleanup.policy=compact (broker/log/cleaner.c): when the
 *  dirty ratio (bytes of inactive segments not yet cleaned / bytes of all
 *  inactive segments) is >= min.cleanable.dirty.ratio, or `force` is set,
 *  keeps only the latest record per key in the inactive segments; offsets
 *  are kept (gaps appear); the active segment is never touched;
 *  tombstones are kept for delete.retention.ms after the pass that first
 *  cleaned them and then dropped. Readers and appenders run on meanwhile.
 *  A crash at any point leaves either the old or the new segments. */
rv_err_t rv__log_clean(rv__log_t *log, int64_t now_ms, int force, rv__clean_stats_t *stats);
/** Current dirty ratio (0 when nothing inactive). */
double rv__log_dirty_ratio(rv__log_t *log);

#endif
