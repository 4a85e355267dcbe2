/* broker/log/segment.h: one segment of a partition log: the `.log` file of
 * RecordBatch v2 and its two sparse indexes, `.index` (relative offset ->
 * file position) and `.timeindex` (timestamp -> relative offset).
 *
 * A segment keeps both indexes in memory and writes them to their files
 * when the log flushes (rv__segment_write_indexes), so an append costs one
 * pwrite(2) of the batch and no index I/O. The index arrays are allocated
 * once at their full capacity (segment.index.bytes, as Kafka preallocates
 * its mmap'd index files) and never move, so a reader that took the entry
 * count under the log's lock can search them without holding it.
 *
 * Threads: the log (broker/log/log.c) serialises writers and says which
 * lock each call needs; functions marked "no lock" only read immutable
 * state or the file below a size the caller snapshotted. */
#ifndef RV_BROKER_LOG_SEGMENT_H
#define RV_BROKER_LOG_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/record_batch.h"
#include "rivulet/error.h"

#define RV__INDEX_ENTRY_SIZE 8      /* relative offset i32 BE, position i32 BE */
#define RV__TIMEINDEX_ENTRY_SIZE 12 /* timestamp i64 BE, relative offset i32 BE */
#define RV__SEGMENT_NAME_DIGITS 20

typedef struct rv__idx_entry_s {
    int32_t rel; /* offset - base_offset */
    int32_t pos; /* byte position of the batch in .log */
} rv__idx_entry_t;

typedef struct rv__tidx_entry_s {
    int64_t ts;
    int32_t rel;
} rv__tidx_entry_t;

typedef struct rv__segment_s {
    int64_t base_offset;
    char *path; /* "<dir>/<20-digit base>", extensions are added */
    int fd;     /* .log, read/write */

    int64_t size;          /* bytes of whole batches in .log */
    int64_t next_offset;   /* last offset + 1; base_offset when empty */
    int64_t max_timestamp; /* largest batch max_timestamp, -1 when none */
    int64_t offset_of_max_timestamp;
    int64_t first_batch_timestamp; /* max_timestamp of the first batch, -1 */
    int64_t created_ms;            /* wall clock at creation or load */
    int64_t bytes_since_index;

    rv__idx_entry_t *idx; /* capacity idx_cap, never reallocated */
    size_t idx_cnt, idx_cap, idx_written;
    rv__tidx_entry_t *tidx;
    size_t tidx_cnt, tidx_cap, tidx_written;

    int64_t synced_size; /* bytes of .log known to be on disk */
    bool indexes_synced; /* index files complete and fsync'd (inactive) */

    atomic_int refcnt;
    /* Set when the log dropped the segment: on the last unref the files are
     * deleted (RV__SEG_DELETE) or only closed (RV__SEG_REPLACED: a cleaned
     * copy now lives under the same names). */
    atomic_int fate;
} rv__segment_t;

#define RV__SEG_LIVE 0
#define RV__SEG_DELETE 1
#define RV__SEG_REPLACED 2

/** Builds "<dir>/<20-digit base><ext>" into buf. */
void rv__segment_file_name(char *buf, size_t size, const char *dir, int64_t base, const char *ext);

/** Creates an empty segment at `base` (files .log, .index, .timeindex,
 *  truncated if present). `idx_cap` is the most offset index entries the
 *  segment may hold before the log must roll (from segment.index.bytes).
 *  Caller owns *out; release with rv__segment_unref(). */
rv_err_t rv__segment_create(rv__segment_t **out, const char *dir, int64_t base, size_t idx_cap,
                            int64_t now_ms, char *errstr, size_t errstr_size);

/** Opens an existing segment. With `recover` set, or when the index files
 *  fail their sanity checks, every batch is read and validated (size,
 *  magic, CRC, offsets increasing and inside the segment's range), the
 *  file is truncated before the first bad batch, and the indexes are
 *  rebuilt in memory and rewritten. *truncated receives the bytes cut
 *  (0 when none). `max_offset` is the exclusive bound for the offsets this
 *  segment may hold (the next segment's base, or INT64_MAX). `idx_cap` is
 *  the index capacity should the segment become active (it is raised to
 *  what the file needs).
 *  Caller owns *out; release with rv__segment_unref(). */
rv_err_t rv__segment_open(rv__segment_t **out, const char *dir, int64_t base, bool recover,
                          int32_t index_interval, size_t idx_cap, int64_t max_offset,
                          int64_t *truncated, char *errstr, size_t errstr_size);

void rv__segment_ref(rv__segment_t *seg);
/** Drops one reference; the last one closes (and per `fate` deletes) and
 *  frees. NULL is fine. */
void rv__segment_unref(rv__segment_t *seg);

/** Marks the segment dropped from its log: renames its files to
 *  `<name>.deleted` now (Kafka's convention, so a crash leaves a
 *  recognisable leftover) and deletes them when the last reference goes. */
void rv__segment_mark_deleted(rv__segment_t *seg);

/** True when the in-memory indexes have room for `entries` more entries
 *  (the log rolls before an append that may add more, as Kafka does when
 *  an index is full). */
bool rv__segment_index_room(const rv__segment_t *seg, size_t entries);

/** Writes whole batches (the iovcnt buffers of iov, in order) at the end
 *  of .log, in one pwritev(2) where the kernel allows. On failure the file
 *  is cut back to its previous size. Caller holds the log's append lock. */
rv_err_t rv__segment_write(rv__segment_t *seg, const struct iovec *iov, int iovcnt, char *errstr,
                           size_t errstr_size);

/** Accounts one batch written at `pos` (size, last offset, max timestamp):
 *  updates size/next_offset/timestamps and adds sparse index entries when
 *  more than `index_interval` bytes were appended since the last one.
 *  Caller holds the log's state lock. */
void rv__segment_account_batch(rv__segment_t *seg, int64_t pos, int64_t size, int64_t last_offset,
                               int64_t max_timestamp, int32_t index_interval);

/** Adds the final time index entry when the segment stops being active (as
 *  Kafka's onBecomeInactiveSegment). Caller holds the state lock. */
void rv__segment_seal(rv__segment_t *seg);

/** Largest indexed position at or before `offset` among the first
 *  `idx_cnt` entries (0 when none). No lock (idx_cnt snapshotted). */
int64_t rv__segment_index_lookup(const rv__segment_t *seg, size_t idx_cnt, int64_t offset);

/** Scans batch headers from `pos` (a batch start) up to `limit` for the
 *  first batch whose last offset is >= `offset`. Returns 1 with *bpos and
 *  *hdr (header fields only, CRC unchecked) set, 0 when there is none
 *  below limit, or -1 on a read error / malformed header. No lock. */
int rv__segment_find_batch(const rv__segment_t *seg, int64_t offset, int64_t pos, int64_t limit,
                           int64_t *bpos, rv__batch_hdr_t *hdr);

/** Position to start a timestamp search for `ts` from, using both indexes
 *  (first `idx_cnt` / `tidx_cnt` entries). No lock. */
int64_t rv__segment_time_lookup(const rv__segment_t *seg, size_t idx_cnt, size_t tidx_cnt,
                                int64_t ts);

/** Writes the index entries not yet in the files (the first `idx_cnt` /
 *  `tidx_cnt`, counts taken under the state lock). With `final` the files
 *  are cut to their exact length and fsync'd. Returns 0 or -1 (errno).
 *  No lock; the caller updates idx_written/tidx_written under the state
 *  lock afterwards. */
int rv__segment_write_indexes(rv__segment_t *seg, size_t idx_cnt, size_t tidx_cnt, bool final);

#endif
