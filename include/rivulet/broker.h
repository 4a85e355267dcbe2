/* rivulet/broker.h: the embedded broker.
 *
 * A broker owns a data folder: topics, their partitions' logs, configs and
 * checkpoints. Only one process may open a folder at a time (a lock file
 * names the holder). Clients with bootstrap.servers=embedded:DIR share one
 * broker per folder inside a process; rv_broker_open() is for programs that
 * want the broker itself (the `rivulet` tools, tests, the network server).
 *
 * All functions are thread-safe. */
#ifndef RIVULET_BROKER_H
#define RIVULET_BROKER_H

#include "common.h"
#include "error.h"

RV_BEGIN_DECLS

typedef struct rv_broker_s rv_broker_t;

/** Opens (creating when missing) the data folder `data_dir`, loads every
 *  topic and recovers its logs, and starts the background housekeeping
 *  thread (retention, compaction, flush.ms, segment.ms, checkpoints).
 *  Opening the same folder twice in one process returns the same broker
 *  with a reference added. RV_ERR__LOCKED when another process holds the
 *  folder (errstr names its pid). Caller owns *out; release with
 *  rv_broker_close(). */
RV_EXTERN rv_err_t rv_broker_open(rv_broker_t **out, const char *data_dir, char *errstr,
                                  size_t errstr_size);

/** Drops a reference; the last one stops housekeeping, flushes every log,
 *  writes the checkpoints and releases the folder. NULL does nothing. */
RV_EXTERN void rv_broker_close(rv_broker_t *broker);

/** Appends one or more concatenated RecordBatch v2 (see rivulet/record.h
 *  for building them) to a partition and assigns offsets. `batches` is
 *  copied. acks: 0 or 1 return once written to the log; -1 (all) returns
 *  once fsync'd (concurrent callers share one fsync). *base_offset (may be
 *  NULL) gets the first assigned offset.
 *  UNKNOWN_TOPIC_OR_PARTITION, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE,
 *  INVALID_RECORD, INVALID_REQUIRED_ACKS, with a message in errstr. */
RV_EXTERN rv_err_t rv_broker_produce(rv_broker_t *broker, const char *topic, int32_t partition,
                                     const void *batches, size_t len, int acks,
                                     int64_t *base_offset, char *errstr, size_t errstr_size);

/** Reads whole batches from `offset` up to about max_bytes (the first batch
 *  whole even if larger). *out gets a malloc'd copy of the bytes (NULL and
 *  *out_len 0 when none); caller owns it, free with rv_free().
 *  *high_watermark (may be NULL) gets the partition's HW.
 *  OFFSET_OUT_OF_RANGE below the log start offset or past the HW. */
RV_EXTERN rv_err_t rv_broker_fetch(rv_broker_t *broker, const char *topic, int32_t partition,
                                   int64_t offset, size_t max_bytes, void **out, size_t *out_len,
                                   int64_t *high_watermark, char *errstr, size_t errstr_size);

/** The first offset whose timestamp is >= ts (*offset = -1 when none), as
 *  Kafka's ListOffsets by timestamp; as there, ts -1 (LATEST) gives the
 *  high watermark and ts -2 (EARLIEST) the log start offset. */
RV_EXTERN rv_err_t rv_broker_offset_for_time(rv_broker_t *broker, const char *topic,
                                             int32_t partition, int64_t ts, int64_t *offset,
                                             char *errstr, size_t errstr_size);

/** Frees memory the library handed to the caller. NULL does nothing. */
RV_EXTERN void rv_free(void *p);

RV_END_DECLS

#endif
