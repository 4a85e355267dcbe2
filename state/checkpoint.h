/* state/checkpoint.h: Kafka Streams' OffsetCheckpoint files, which record
 * up to which changelog offset a task's stores hold the data (written at
 * commit after the stores were flushed, read when the task opens so that
 * restoration replays only the tail). Not thread-safe per file. */
#ifndef RV_STATE_CHECKPOINT_H
#define RV_STATE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "rivulet/error.h"

/** The checkpoint file of a task folder, as Kafka Streams names it. */
#define RV__CHECKPOINT_FILE ".checkpoint"

typedef struct rv__checkpoint_entry_s {
    char *topic; /* owned by the array when read; borrowed when written */
    int32_t partition;
    int64_t offset;
} rv__checkpoint_entry_t;

/** Replaces the file at path with `cnt` entries, durably (written to
 *  path.tmp, fsync'd, renamed over path, folder fsync'd). No entries
 *  removes the file, as Kafka, and fsyncs its folder so the removal is
 *  durable too (entries may then be NULL). RV_ERR__INVALID_ARG for a negative offset or
 *  a topic that is empty or contains whitespace. */
rv_err_t rv__checkpoint_write(const char *path, const rv__checkpoint_entry_t *entries, size_t cnt,
                              char *errstr, size_t errstr_size);

/** Reads the file at path. A missing file is no entries (RV_ERR_NO_ERROR,
 *  *out NULL, *cnt 0, errstr empty). RV_ERR__BAD_MSG with a message for a
 *  malformed file: unknown version, bad count, a line without exactly
 *  topic, partition and offset, fewer or more entries than the count, a
 *  topic-partition listed twice, or a path that is not a regular file
 *  (never opened blocking, so a FIFO cannot hang the caller). Entries with
 *  a negative offset are skipped with a warning. Caller owns *out; free
 *  with rv__checkpoint_free(). */
rv_err_t rv__checkpoint_read(const char *path, rv__checkpoint_entry_t **out, size_t *cnt,
                             char *errstr, size_t errstr_size);

void rv__checkpoint_free(rv__checkpoint_entry_t *entries, size_t cnt);

#endif
