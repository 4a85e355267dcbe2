/* broker/offsets.h: committed offsets and group metadata on the internal
 * compacted topic __consumer_offsets, in Kafka's own record formats, with
 * an in-memory cache rebuilt from the topic when the broker opens.
 * Used by the group coordinator (broker/group_coordinator.c) only.
 *
 * Formats (all big-endian, strings int16-length, each key and value starts
 * with an int16 version, as Kafka's GroupMetadataManager writes them):
 *   OffsetCommitKey v1   : int16 1, string group, string topic, int32 partition
 *   OffsetCommitValue v3 : int16 3, int64 offset, int32 leader_epoch,
 *                          string metadata, int64 commit_timestamp
 *   GroupMetadataKey v2  : int16 2, string group
 *   GroupMetadataValue v1: int16 1, string protocol_type, int32 generation,
 *                          nullable string protocol, nullable string leader,
 *                          [member: string member_id, string client_id,
 *                           string client_host, int32 rebalance_timeout,
 *                           int32 session_timeout, bytes subscription,
 *                           bytes assignment]
 * A null value (tombstone) deletes the offset or the group. Readers accept
 * OffsetCommitKey v0 and OffsetCommitValue v0-v3, GroupMetadataValue v0-v3.
 *
 * Threads: every function is thread-safe (one lock; writes are serialised
 * so the cache always matches the order of the log). */
#ifndef RV_BROKER_OFFSETS_H
#define RV_BROKER_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/group_coordinator.h"
#include "broker/topics.h"
#include "common/buf.h"
#include "rivulet/error.h"

#define RV__OFFSETS_TOPIC "__consumer_offsets"

/** Java's String.hashCode() of the UTF-8 string s (hashed as UTF-16 code
 *  units, as Java holds strings). */
int32_t rv__java_string_hash(const char *s);

/** Kafka's GroupMetadataManager.partitionFor: Utils.abs(hashCode(group)) %
 *  partitions, where Utils.abs(INT_MIN) is 0. */
int32_t rv__offsets_partition_for(const char *group_id, int32_t partitions);

/* ---- record formats ---- */

rv_err_t rv__offset_commit_key_encode(rv__buf_t *out, const char *group, const char *topic,
                                      int32_t partition);
/** metadata NULL is written as "". */
rv_err_t rv__offset_commit_value_encode(rv__buf_t *out, int64_t offset, int32_t leader_epoch,
                                        const char *metadata, int64_t commit_timestamp);
rv_err_t rv__group_metadata_key_encode(rv__buf_t *out, const char *group);

/* One member in a GroupMetadataValue. Borrowed. */
typedef struct rv__group_md_member_s {
    const char *member_id;
    const char *client_id;
    const char *client_host;
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    const void *subscription;
    size_t subscription_len;
    const void *assignment;
    size_t assignment_len;
} rv__group_md_member_t;

/* A GroupMetadataValue. Borrowed. protocol and leader NULL = null. */
typedef struct rv__group_md_s {
    const char *protocol_type;
    int32_t generation;
    const char *protocol;
    const char *leader;
    const rv__group_md_member_t *members;
    size_t member_cnt;
} rv__group_md_t;

/** GroupMetadataValue version 1 (what Burrow 1.2.1 reads). */
rv_err_t rv__group_metadata_value_encode(rv__buf_t *out, const rv__group_md_t *md);

/* ---- the store ---- */

typedef struct rv__offsets_s rv__offsets_t;

/** Opens the store on a broker's registry (borrowed). When
 *  __consumer_offsets exists, every partition is read from its log start
 *  and the latest value per key is cached (tombstones remove). The topic
 *  is created on the first write, with `partitions` partitions,
 *  cleanup.policy=compact and segment.bytes `segment_bytes`. Caller owns
 *  *out; free with rv__offsets_close(). */
rv_err_t rv__offsets_open(rv__offsets_t **out, rv__topics_t *topics, int32_t partitions,
                          int32_t segment_bytes, char *errstr, size_t errstr_size);
void rv__offsets_close(rv__offsets_t *o);

/** Creates __consumer_offsets with the store's settings (its partition
 *  count, compaction) when it does not exist yet; 0 when it exists
 *  afterwards. Takes the store's lock. */
rv_err_t rv__offsets_create_topic(rv__offsets_t *o, char *errstr, size_t errstr_size);

/** Changes the creation settings (only used before the topic exists). */
void rv__offsets_set_topic_config(rv__offsets_t *o, int32_t partitions, int32_t segment_bytes);

/** The store's lock, for a caller that must order a write with its own
 *  checks (the group coordinator takes it before it releases its lock,
 *  so a commit that passed the generation check is written before any
 *  commit of a later generation). Lock order: the coordinator's lock,
 *  then this one. */
void rv__offsets_lock(rv__offsets_t *o);
void rv__offsets_unlock(rv__offsets_t *o);

/** Appends one OffsetCommit record per entry (one batch, fsync'd) to the
 *  group's partition, then updates the cache. Entries whose `err` is set
 *  already are skipped. Arguments borrowed. The caller holds the store's
 *  lock (rv__offsets_lock()). */
rv_err_t rv__offsets_commit_locked(rv__offsets_t *o, const char *group, rv__group_offset_t *offsets,
                                   size_t cnt, int64_t now_ms, char *errstr, size_t errstr_size);

/** Writes the group's metadata record (md NULL = a tombstone). */
rv_err_t rv__offsets_store_group(rv__offsets_t *o, const char *group, const rv__group_md_t *md,
                                 int64_t now_ms, char *errstr, size_t errstr_size);

/** Writes tombstones for every committed offset of the group and for its
 *  metadata, and drops it from the cache. */
rv_err_t rv__offsets_delete_group(rv__offsets_t *o, const char *group, int64_t now_ms, char *errstr,
                                  size_t errstr_size);

/** Writes a tombstone for each entry's committed offset that exists (one
 *  batch, fsync'd) and drops it from the cache (OffsetDelete). Only the
 *  topic and partition of each entry are read; entries whose `err` is set
 *  are skipped. Arguments borrowed. */
rv_err_t rv__offsets_delete_offsets(rv__offsets_t *o, const char *group,
                                    const rv__group_offset_t *offsets, size_t cnt, int64_t now_ms,
                                    char *errstr, size_t errstr_size);

/** As rv__group_fetch_offsets (group_coordinator.h). */
rv_err_t rv__offsets_fetch(rv__offsets_t *o, const char *group, const rv__group_tp_t *tps,
                           size_t tp_cnt, rv__group_committed_t **out, size_t *out_cnt);

/* A group known to the store (from the replay or later writes). */
typedef void(rv__offsets_group_cb)(const char *group, const char *protocol_type, int32_t generation,
                                   void *opaque);

/** Calls cb for every group with committed offsets or metadata, sorted by
 *  id: protocol_type "" and generation 0 for a group with offsets only.
 *  The lock is held during the calls: cb must not call the store. */
void rv__offsets_foreach_group(rv__offsets_t *o, rv__offsets_group_cb *cb, void *opaque);

#endif
