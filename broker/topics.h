/* broker/topics.h: the topic registry of one data folder (the embedded
 * broker's log manager): topic metadata and its persistence, the partition
 * logs, checkpoints, and the admin operations on topics. broker/broker.c
 * wraps one registry per open data folder; client/admin.c calls the admin
 * operations for the embedded backend.
 *
 * Threads: every function is thread-safe. Admin operations are serialised
 * among themselves; the data path (rv__topics_acquire/release) only takes a
 * short registry lock and runs concurrently with them. */
#ifndef RV_BROKER_TOPICS_H
#define RV_BROKER_TOPICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log/log.h"
#include "rivulet/broker.h"
#include "rivulet/error.h"

/* FNV-1a over a topic name, then the partition number's four bytes: the
 * hash of the broker's tables and sets keyed by partition. */
static inline uint32_t rv__topic_partition_hash(const char *topic, int32_t partition) {
    uint32_t h = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)topic; *c; c++)
        h = (h ^ *c) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ (((uint32_t)partition >> (8 * i)) & 0xff)) * 16777619u;
    return h;
}

/* The most partitions one create or create-partitions request may add. */
#define RV__MAX_PARTITIONS_PER_REQUEST 10000

typedef struct rv__topics_s rv__topics_t;
typedef struct rv__topic_s rv__topic_t;

/* The metadata folder inside the data folder (not a valid
 * <topic>-<partition> folder name). */
#define RV__TOPICS_META_DIR "__meta"
#define RV__RECOVERY_POINT_CHECKPOINT "recovery-point-offset-checkpoint"
#define RV__LOG_START_CHECKPOINT "log-start-offset-checkpoint"

/** Kafka's Topic.validate: RV_ERR_INVALID_TOPIC_EXCEPTION with Kafka's
 *  message when `name` is not a legal topic name. */
rv_err_t rv__topic_name_validate(const char *name, char *errstr, size_t errstr_size);

/** True when a and b are equal once '.' is mapped to '_' (Kafka's
 *  Topic.hasCollision: their metric names would clash). */
bool rv__topic_names_collide(const char *a, const char *b);

/** Kafka's Uuid.toString(): URL-safe base64 of 16 bytes without padding
 *  (22 characters) into out[23]. */
void rv__topic_id_to_str(const uint8_t id[16], char out[23]);

/** Opens the registry of the (existing, locked) data folder `dir`: loads
 *  every topic's metadata, removes orphan partition folders (no metadata,
 *  or a partition past the topic's count) and `*-delete` folders, and
 *  opens every partition log with the checkpointed recovery point and log
 *  start offset. Caller owns *out; free with rv__topics_close(). */
rv_err_t rv__topics_open(rv__topics_t **out, const char *dir, char *errstr, size_t errstr_size);

/** Fsyncs every log, writes both checkpoints, closes the logs and frees.
 *  No other call may be running. NULL does nothing. */
void rv__topics_close(rv__topics_t *t);

/** Looks up a partition for the data path and takes a reference on its
 *  topic, so the log stays valid while the caller uses it even if the
 *  topic is deleted meanwhile. *log is borrowed until
 *  rv__topics_release(t, *topic). UNKNOWN_TOPIC_OR_PARTITION with a
 *  message otherwise. */
rv_err_t rv__topics_acquire(rv__topics_t *t, const char *name, int32_t partition,
                            rv__topic_t **topic, rv__log_t **log, char *errstr, size_t errstr_size);
void rv__topics_release(rv__topics_t *t, rv__topic_t *topic);

/** Creates a topic (see rv_admin_create_topic for the rules). Partition
 *  folders are made first and the metadata file last: it is the commit
 *  point. All arguments borrowed. */
rv_err_t rv__topics_create(rv__topics_t *t, const char *name, int32_t partitions,
                           int16_t replication_factor, const char *const *names,
                           const char *const *values, size_t config_cnt, char *errstr,
                           size_t errstr_size);

/** Deletes a topic: removes its metadata (the commit point), waits for
 *  in-flight users of its logs, then removes the partition folders. */
rv_err_t rv__topics_delete(rv__topics_t *t, const char *name, char *errstr, size_t errstr_size);

/** Raises the partition count to `total`. */
rv_err_t rv__topics_create_partitions(rv__topics_t *t, const char *name, int32_t total,
                                      char *errstr, size_t errstr_size);

/** Incremental alter: sets and deletes (reverts to default) configs,
 *  all or nothing; persists, then applies them to every partition log. */
rv_err_t rv__topics_alter_configs(rv__topics_t *t, const char *name, const char *const *set_names,
                                  const char *const *set_values, size_t set_cnt,
                                  const char *const *del_names, size_t del_cnt, char *errstr,
                                  size_t errstr_size);

/** delete-records on one partition; the new log start offset is in the
 *  log-start checkpoint on disk before this returns. */
rv_err_t rv__topics_delete_records(rv__topics_t *t, const char *name, int32_t partition,
                                   int64_t offset, int64_t *low_watermark, char *errstr,
                                   size_t errstr_size);

/** Sorted topic names; those starting with "__" only when
 *  include_internal. Caller owns *names; free with rv_strv_free(). */
rv_err_t rv__topics_list(rv__topics_t *t, bool include_internal, char ***names, size_t *cnt);

/* A self-contained snapshot of one topic. */
typedef struct rv__topic_info_s {
    char *name;
    char id[23];
    int32_t partition_cnt;
    int16_t replication_factor;
    int64_t *log_start_offsets; /* [partition_cnt] */
    int64_t *end_offsets;       /* [partition_cnt], the high watermarks */
    size_t config_cnt;          /* the explicitly set configs */
    char **config_names;
    char **config_values;
} rv__topic_info_t;

/** Fills *info (caller owns the contents; free with
 *  rv__topic_info_clear()). UNKNOWN_TOPIC_OR_PARTITION when missing. */
rv_err_t rv__topics_describe(rv__topics_t *t, const char *name, rv__topic_info_t *info,
                             char *errstr, size_t errstr_size);
void rv__topic_info_clear(rv__topic_info_t *info);

/** One housekeeping pass at wall-clock `now_ms`: segment.ms rolls and
 *  flush.ms flushes on every log; with `retention`, also retention,
 *  compaction of compacted topics and the checkpoints (written only when
 *  they changed). `stop` (may be NULL) is polled between logs so a closing
 *  broker does not wait for a whole pass. Called by the broker's
 *  housekeeping thread. */
void rv__topics_housekeep(rv__topics_t *t, int64_t now_ms, bool retention, const atomic_int *stop);

/** Writes both checkpoint files now (when they changed). */
rv_err_t rv__topics_checkpoint(rv__topics_t *t, char *errstr, size_t errstr_size);

/** The registry of an open broker (broker/broker.c). Borrowed: valid until
 *  the broker is closed. */
rv__topics_t *rv__broker_topics(rv_broker_t *broker);

#endif
