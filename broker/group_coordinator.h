/* broker/group_coordinator.h: the embedded broker's consumer-group
 * coordinator, Kafka's "classic" group protocol as an internal C API.
 *
 * Every call maps one-to-one onto a Kafka request so the network server can
 * forward requests unchanged: rv__group_join = JoinGroup, rv__group_sync =
 * SyncGroup, rv__group_heartbeat = Heartbeat, rv__group_leave = LeaveGroup,
 * rv__group_commit_offsets = OffsetCommit, rv__group_fetch_offsets =
 * OffsetFetch, rv__group_list = ListGroups, rv__group_describe =
 * DescribeGroups, rv__group_delete = DeleteGroups, rv__group_delete_offsets
 * = OffsetDelete. Errors are Kafka's codes (rivulet/error.h) with Kafka's
 * meaning; the embedded consumer (client/consumer.c) calls the same
 * functions.
 *
 * The coordinator never interprets subscription or assignment bytes to
 * run the protocol: the group leader's client computes the assignment
 * (client/assignor.h) and hands it back through rv__group_sync, exactly as
 * on the wire. Only OffsetDelete reads the topic lists of "consumer"
 * subscriptions, as Kafka's coordinator does.
 *
 * Completion model: JoinGroup and SyncGroup wait for the other members, so
 * rv__group_join and rv__group_sync never block; they take a completion
 * callback that runs exactly once, with the result. It may run before the
 * call returns (on the caller's thread: an immediate error or an immediate
 * answer) or later on another thread (the thread of another member's call
 * that completed the rebalance, or the coordinator's timer thread when a
 * timeout fires). It never runs with a coordinator lock held, so it may call
 * back into the coordinator; it must not block. A consumer typically stores
 * the result under its own lock and signals the condition variable its
 * poll waits on (the same one rv_consumer_wakeup signals).
 *
 * Threads: every function is thread-safe. One mutex guards all groups;
 * offset writes to __consumer_offsets happen outside it (broker/offsets.h
 * has its own lock), so a commit's fsync does not stall heartbeats.
 *
 * Settings (broker-side, Kafka's names; see rv__group_config_t):
 * group.initial.rebalance.delay.ms, group.min.session.timeout.ms,
 * group.max.session.timeout.ms, group.max.size, offsets.topic.num.partitions,
 * offsets.topic.segment.bytes, offset.metadata.max.bytes. docs/GROUPS.md
 * documents them. */
#ifndef RV_BROKER_GROUP_COORDINATOR_H
#define RV_BROKER_GROUP_COORDINATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/topics.h"
#include "rivulet/broker.h"
#include "rivulet/error.h"

typedef struct rv__group_coordinator_s rv__group_coordinator_t;

/* ---- settings ---- */

typedef struct rv__group_config_s {
    /* group.initial.rebalance.delay.ms: how long the first rebalance of an
     * empty group waits for more members (extended by the same amount for
     * each member that joins meanwhile, up to the rebalance timeout).
     * Kafka: 3000. Embedded default: 100, so a test or an app that starts
     * a few consumers at once gets one rebalance without a 3 s wait. */
    int32_t initial_rebalance_delay_ms;
    /* group.min.session.timeout.ms / group.max.session.timeout.ms: the
     * allowed session.timeout.ms range (INVALID_SESSION_TIMEOUT outside).
     * Kafka: 6000 / 1800000. Embedded default min: 10, because an
     * in-process consumer cannot lose its network and short timeouts make
     * tests fast. */
    int32_t min_session_timeout_ms;
    int32_t max_session_timeout_ms;
    /* group.max.size: members per group (GROUP_MAX_SIZE_REACHED beyond).
     * Kafka: 2147483647. */
    int32_t max_size;
    /* offsets.topic.num.partitions: partitions of __consumer_offsets when
     * the coordinator creates it (first use). Kafka: 50. */
    int32_t offsets_partitions;
    /* offsets.topic.segment.bytes (Kafka: 104857600). */
    int32_t offsets_segment_bytes;
    /* offset.metadata.max.bytes: longest commit metadata string
     * (OFFSET_METADATA_TOO_LARGE beyond). Kafka: 4096. */
    int32_t offset_metadata_max_bytes;
} rv__group_config_t;

/** Fills *cfg with the defaults above. */
void rv__group_config_default(rv__group_config_t *cfg);

/* ---- lifecycle ---- */

/** Opens the coordinator of a broker's registry `topics` (borrowed: must
 *  outlive the coordinator). When __consumer_offsets exists it is replayed
 *  into the offset cache and every group found there comes back in state
 *  Empty with its last generation; when it does not, it is created on the
 *  first commit or completed rebalance (as Kafka creates it on first use).
 *  Starts the timer thread (session, rebalance and delay timeouts).
 *  `cfg` NULL means the defaults; it is copied. Caller owns *out; free with
 *  rv__group_coordinator_close(). */
rv_err_t rv__group_coordinator_open(rv__group_coordinator_t **out, rv__topics_t *topics,
                                    const rv__group_config_t *cfg, char *errstr,
                                    size_t errstr_size);

/** Stops the timer thread, completes every waiting join and sync callback
 *  with RV_ERR_COORDINATOR_NOT_AVAILABLE and frees. Committed offsets are
 *  already on disk. No other call may be running. NULL does nothing. */
void rv__group_coordinator_close(rv__group_coordinator_t *gc);

/** Replaces the settings (tests, the `rivulet broker` command). The
 *  session-timeout bounds and the delay apply to later joins;
 *  offsets_partitions only matters before __consumer_offsets exists.
 *  `cfg` is copied. */
void rv__group_coordinator_set_config(rv__group_coordinator_t *gc, const rv__group_config_t *cfg);

/** Creates __consumer_offsets as the coordinator needs it (its partition
 *  count, compaction) unless it exists: for a request that would
 *  auto-create it (Kafka's AutoTopicCreationManager does the same). 0
 *  when it exists afterwards; an error with a message in errstr. */
rv_err_t rv__group_coordinator_create_offsets_topic(rv__group_coordinator_t *gc, char *errstr,
                                                    size_t errstr_size);

/** The coordinator of an open broker (created by rv_broker_open). Borrowed:
 *  valid until the broker is closed. */
rv__group_coordinator_t *rv__broker_group_coordinator(rv_broker_t *broker);

/* ---- JoinGroup ---- */

/* One protocol a member supports ("range", "roundrobin",
 * "cooperative-sticky" for protocol type "consumer") with its metadata
 * (a ConsumerProtocolSubscription). Borrowed by the call. */
typedef struct rv__group_protocol_s {
    const char *name;
    const void *metadata;
    size_t metadata_len;
} rv__group_protocol_t;

/* Called (from any thread, no lock held) when the group starts a rebalance
 * that this member has not yet rejoined for: the member should call
 * rv__group_join again soon (it would otherwise learn of the rebalance
 * from its next heartbeat, REBALANCE_IN_PROGRESS). Optional; it lets an
 * embedded consumer wake its poll at once. Must not block. */
typedef void(rv__group_rebalance_cb)(const char *group_id, const char *member_id, void *opaque);

typedef struct rv__group_join_req_s {
    const char *group_id;
    /* NULL or "" on the first join: the coordinator assigns
     * client_id + "-" + a UUID, as Kafka does. */
    const char *member_id;
    /* group.instance.id (static membership), NULL when dynamic. Recorded and
     * shown by describe; the member is otherwise treated as dynamic. */
    const char *group_instance_id;
    const char *client_id;
    const char *client_host; /* Kafka shows "/1.2.3.4"; embedded: "/127.0.0.1" */
    int32_t session_timeout_ms;
    /* How long the coordinator waits for all members to rejoin in a
     * rebalance (max.poll.interval.ms on Kafka's consumer); -1 = the
     * session timeout (JoinGroup v0). */
    int32_t rebalance_timeout_ms;
    const char *protocol_type; /* "consumer" */
    const rv__group_protocol_t *protocols;
    size_t protocol_cnt;
    /* KIP-394 (JoinGroup v4+): a first join with an empty member id fails
     * with MEMBER_ID_REQUIRED carrying the new id in the result, and the
     * member joins with that id. false (embedded, JoinGroup v0-3): the
     * member is added at once. */
    bool require_known_member_id;
    rv__group_rebalance_cb *on_rebalance; /* may be NULL */
    void *on_rebalance_opaque;
} rv__group_join_req_t;

/* A member as the leader sees it in the join result. */
typedef struct rv__group_member_meta_s {
    const char *member_id;
    const char *group_instance_id; /* NULL when dynamic */
    const void *metadata;          /* for the chosen protocol */
    size_t metadata_len;
} rv__group_member_meta_t;

/* The JoinGroup response. Every pointer is borrowed: valid only during the
 * callback (copy what you keep). */
typedef struct rv__group_join_result_s {
    rv_err_t err;
    int32_t generation_id;
    const char *protocol_type;
    const char *protocol_name;
    const char *leader_id;
    /* This member's id (also set with MEMBER_ID_REQUIRED). */
    const char *member_id;
    /* All members with their metadata, for the leader only (member_cnt 0
     * for followers), in join order. */
    const rv__group_member_meta_t *members;
    size_t member_cnt;
} rv__group_join_result_t;

typedef void(rv__group_join_cb)(const rv__group_join_result_t *res, void *opaque);

/** Joins (or rejoins) a group. The result arrives through `cb` (see the
 *  completion model above) once the rebalance completes: every known
 *  member rejoined, or the largest rebalance timeout of the members passed
 *  (members that did not rejoin are then removed), or, for the first
 *  rebalance of an empty group, after group.initial.rebalance.delay.ms.
 *  Errors (in res->err): INVALID_GROUP_ID (empty id), INVALID_SESSION_TIMEOUT,
 *  INCONSISTENT_GROUP_PROTOCOL (other protocol type, no protocol in common
 *  with the members, or none given), UNKNOWN_MEMBER_ID (a member id the
 *  group does not know), MEMBER_ID_REQUIRED (see above),
 *  GROUP_MAX_SIZE_REACHED, REBALANCE_IN_PROGRESS (a second join of the same
 *  member replaced this one), COORDINATOR_NOT_AVAILABLE (closing).
 *  A member that has joined must heartbeat within its session timeout
 *  (rv__group_heartbeat, or any join/sync/commit) or it is removed.
 *  `req` and everything it points to are borrowed by the call. */
void rv__group_join(rv__group_coordinator_t *gc, const rv__group_join_req_t *req,
                    rv__group_join_cb *cb, void *opaque);

/* ---- SyncGroup ---- */

/* One member's assignment (a ConsumerProtocolAssignment), from the leader. */
typedef struct rv__group_assignment_s {
    const char *member_id;
    const void *assignment;
    size_t assignment_len;
} rv__group_assignment_t;

/* `assignment` is borrowed: valid only during the callback. A member the
 * leader gave nothing gets length 0 (an empty assignment, legal). */
typedef void(rv__group_sync_cb)(rv_err_t err, const void *assignment, size_t assignment_len,
                                void *opaque);

/** Sends this member's SyncGroup for `generation_id`. The leader passes
 *  every member's assignment (others pass NULL, 0); the result (this
 *  member's bytes) arrives through `cb` once the leader's SyncGroup has
 *  arrived, and the group is then Stable. Errors: UNKNOWN_MEMBER_ID,
 *  ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (a new rebalance started: join
 *  again), COORDINATOR_NOT_AVAILABLE. If the leader does not sync within the
 *  rebalance timeout, the members that did not sync are removed and a new
 *  rebalance starts. Arguments borrowed by the call. */
void rv__group_sync(rv__group_coordinator_t *gc, const char *group_id, int32_t generation_id,
                    const char *member_id, const char *group_instance_id,
                    const rv__group_assignment_t *assignments, size_t assignment_cnt,
                    rv__group_sync_cb *cb, void *opaque);

/* ---- Heartbeat, LeaveGroup ---- */

/** Keeps the member alive. NONE (Stable or CompletingRebalance),
 *  REBALANCE_IN_PROGRESS (join again), UNKNOWN_MEMBER_ID (removed, e.g.
 *  its session expired: join again with an empty member id),
 *  ILLEGAL_GENERATION, INVALID_GROUP_ID. */
rv_err_t rv__group_heartbeat(rv__group_coordinator_t *gc, const char *group_id,
                             int32_t generation_id, const char *member_id,
                             const char *group_instance_id);

/** Removes the member at once and starts a rebalance for the others. A
 *  waiting join or sync of that member completes with UNKNOWN_MEMBER_ID.
 *  UNKNOWN_MEMBER_ID when the group or member is unknown. */
rv_err_t rv__group_leave(rv__group_coordinator_t *gc, const char *group_id, const char *member_id);

/* ---- OffsetCommit, OffsetFetch ---- */

/* One partition's offset to commit; `err` is filled per partition. */
typedef struct rv__group_offset_s {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 when unknown */
    const char *metadata; /* NULL = "" */
    rv_err_t err;         /* out */
} rv__group_offset_t;

/** Commits offsets for a group. generation_id -1 with member_id NULL/"" is a
 *  standalone ("simple", assign-mode) commit, accepted while the group has
 *  no members (the group is created, Empty, when unknown). Otherwise the
 *  member must be known (UNKNOWN_MEMBER_ID) and the generation current
 *  (ILLEGAL_GENERATION); REBALANCE_IN_PROGRESS while the group waits for
 *  its leader's SyncGroup. Each partition becomes one record on
 *  __consumer_offsets (key v1, value v3, fsync'd before this returns) and
 *  is cached. The return value is the request-level error (the same as
 *  every partition's err then); OFFSET_METADATA_TOO_LARGE is per partition
 *  only. Arguments borrowed; only the `err` fields are written. */
rv_err_t rv__group_commit_offsets(rv__group_coordinator_t *gc, const char *group_id,
                                  int32_t generation_id, const char *member_id,
                                  const char *group_instance_id, rv__group_offset_t *offsets,
                                  size_t offset_cnt, char *errstr, size_t errstr_size);

/* A committed offset. offset -1 (metadata "", leader_epoch -1,
 * commit_timestamp -1) when the partition has none. */
typedef struct rv__group_committed_s {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp;
} rv__group_committed_t;

/* A partition to look up. */
typedef struct rv__group_tp_s {
    const char *topic;
    int32_t partition;
} rv__group_tp_t;

/** Committed offsets of a group: for the `tp_cnt` partitions asked (in that
 *  order; unknown ones with offset -1), or with tps NULL every partition the
 *  group has committed, sorted by topic and partition. An unknown group is
 *  no error (nothing committed). Caller owns *out; free with
 *  rv__group_committed_free(). */
rv_err_t rv__group_fetch_offsets(rv__group_coordinator_t *gc, const char *group_id,
                                 const rv__group_tp_t *tps, size_t tp_cnt,
                                 rv__group_committed_t **out, size_t *out_cnt);
void rv__group_committed_free(rv__group_committed_t *arr, size_t cnt);

/* ---- ListGroups, DescribeGroups, DeleteGroups ---- */

typedef struct rv__group_listing_s {
    char *group_id;
    char *protocol_type; /* "" for a group that only has offsets */
    char *state;         /* "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" */
} rv__group_listing_t;

/** Every group (with members, or with committed offsets), sorted by id.
 *  Caller owns *out; free with rv__group_listings_free(). */
rv_err_t rv__group_list(rv__group_coordinator_t *gc, rv__group_listing_t **out, size_t *cnt);
void rv__group_listings_free(rv__group_listing_t *arr, size_t cnt);

typedef struct rv__group_member_desc_s {
    char *member_id;
    char *group_instance_id; /* NULL when dynamic */
    char *client_id;
    char *client_host;
    /* Subscription for the chosen protocol and the assignment from the
     * last SyncGroup; both empty unless the group is Stable, as Kafka. */
    uint8_t *metadata;
    size_t metadata_len;
    uint8_t *assignment;
    size_t assignment_len;
} rv__group_member_desc_t;

typedef struct rv__group_description_s {
    char *group_id;
    char *state;
    char *protocol_type;
    char *protocol; /* "" unless Stable, as Kafka's DescribeGroups */
    int32_t generation_id;
    char *leader_id; /* "" when none */
    rv__group_member_desc_t *members;
    size_t member_cnt;
} rv__group_description_t;

/** Describes a group. GROUP_ID_NOT_FOUND when the coordinator knows no such
 *  group (the wire server answers NONE with state "Dead" for DescribeGroups
 *  v0-5, as Kafka). Caller owns the contents of *out; free with
 *  rv__group_description_clear(). */
rv_err_t rv__group_describe(rv__group_coordinator_t *gc, const char *group_id,
                            rv__group_description_t *out);
void rv__group_description_clear(rv__group_description_t *d);

/** Deletes an Empty group and its committed offsets (tombstones on
 *  __consumer_offsets). NON_EMPTY_GROUP while it has members,
 *  GROUP_ID_NOT_FOUND when unknown, INVALID_GROUP_ID for an empty id. */
rv_err_t rv__group_delete(rv__group_coordinator_t *gc, const char *group_id, char *errstr,
                          size_t errstr_size);

/* ---- OffsetDelete ---- */

/** Deletes committed offsets of a group (OffsetDelete; tombstones on
 *  __consumer_offsets). Only the topic and partition of each entry are
 *  read; entries whose `err` is set already (a partition the caller found
 *  missing) are skipped, the others get theirs: GROUP_SUBSCRIBED_TO_TOPIC
 *  when the group has members and is a "consumer" group one of whose
 *  members subscribes to the topic (or whose subscriptions cannot be
 *  read yet: the group has no generation, or a member's metadata does
 *  not parse), else NONE, whether or not an offset was committed. The
 *  return value is the request-level error: GROUP_ID_NOT_FOUND for an
 *  unknown group, NON_EMPTY_GROUP for a group with members of another
 *  protocol type, INVALID_GROUP_ID for an empty id, or a storage failure
 *  (then no partition was deleted). Arguments borrowed; only the `err`
 *  fields are written. */
rv_err_t rv__group_delete_offsets(rv__group_coordinator_t *gc, const char *group_id,
                                  rv__group_offset_t *offsets, size_t offset_cnt, char *errstr,
                                  size_t errstr_size);

#endif
