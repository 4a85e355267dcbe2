/* client/assignor.h: the consumer side of the group protocol: Kafka's
 * ConsumerProtocol byte formats (the JoinGroup subscription metadata and
 * the SyncGroup assignment of protocol type "consumer") and the partition
 * assignors the group leader runs: "range" (RangeAssignor, the default),
 * "roundrobin" (RoundRobinAssignor) and "cooperative-sticky"
 * (CooperativeStickyAssignor, KIP-429).
 *
 * The group coordinator (broker/group_coordinator.h) never reads these
 * bytes; they travel between the consumers, so they must be exactly what
 * Java, librdkafka and kafka-python consumers write and read.
 *
 * Threads: no shared state; every function is safe to call from any
 * thread on its own arguments. */
#ifndef RV_CLIENT_ASSIGNOR_H
#define RV_CLIENT_ASSIGNOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "rivulet/error.h"

/* The versions this client writes: those of Kafka 3.5+ Java consumers
 * (ConsumerProtocolSubscription v3 adds rack_id; v0-3 of the assignment
 * share one layout). Readers accept any version >= 0 and ignore trailing
 * bytes of newer ones, as the schema comments require. */
#define RV__SUBSCRIPTION_VERSION 3
#define RV__ASSIGNMENT_VERSION 3

/* The protocol type and the assignor names (partition.assignment.strategy
 * values, which are also the JoinGroup protocol names). */
#define RV__PROTOCOL_TYPE_CONSUMER "consumer"
#define RV__ASSIGNOR_RANGE "range"
#define RV__ASSIGNOR_ROUNDROBIN "roundrobin"
#define RV__ASSIGNOR_COOPERATIVE_STICKY "cooperative-sticky"

/* Partitions of one topic. */
typedef struct rv__topic_parts_s {
    char *topic;
    int32_t *partitions;
    size_t cnt;
} rv__topic_parts_t;

/* ConsumerProtocolSubscription:
 *   int16 version; [string] topics; bytes user_data (nullable);
 *   v1+: [(string topic, [int32] partitions)] owned_partitions;
 *   v2+: int32 generation_id (-1); v3+: nullable string rack_id. */
typedef struct rv__subscription_s {
    int16_t version;
    char **topics;
    size_t topic_cnt;
    uint8_t *user_data; /* NULL with user_data_len -1 = null */
    int32_t user_data_len;
    rv__topic_parts_t *owned; /* v1+ */
    size_t owned_cnt;
    int32_t generation_id; /* v2+; -1 when unknown */
    char *rack_id;         /* v3+; NULL = null */
} rv__subscription_t;

/* ConsumerProtocolAssignment:
 *   int16 version; [(string topic, [int32] partitions)] assigned_partitions;
 *   bytes user_data (nullable). */
typedef struct rv__assignment_s {
    int16_t version;
    rv__topic_parts_t *parts;
    size_t cnt;
    uint8_t *user_data; /* NULL with user_data_len -1 = null */
    int32_t user_data_len;
} rv__assignment_t;

/** Appends the subscription in format s->version (0..3) to out. The
 *  struct is borrowed. RV_ERR__INVALID_ARG for another version. */
rv_err_t rv__subscription_encode(rv__buf_t *out, const rv__subscription_t *s);

/** Parses subscription bytes (any version >= 0; fields of later versions
 *  than the bytes' are left at their defaults: no owned partitions,
 *  generation -1, rack NULL). RV_ERR__BAD_MSG when malformed. Caller owns
 *  the contents of *s (also on failure); free with rv__subscription_clear(). */
rv_err_t rv__subscription_decode(rv__subscription_t *s, const void *p, size_t len);
void rv__subscription_clear(rv__subscription_t *s);

/** Appends the assignment to out (a->version 0..3). */
rv_err_t rv__assignment_encode(rv__buf_t *out, const rv__assignment_t *a);

/** Parses assignment bytes. Zero-length bytes are a legal empty assignment
 *  (no partitions). RV_ERR__BAD_MSG when malformed. Caller owns the
 *  contents of *a; free with rv__assignment_clear(). */
rv_err_t rv__assignment_decode(rv__assignment_t *a, const void *p, size_t len);
void rv__assignment_clear(rv__assignment_t *a);

/** Adds one partition to a list of topic parts (kept sorted by topic, then
 *  partition; duplicates ignored). The topic string is copied. */
rv_err_t rv__topic_parts_add(rv__topic_parts_t **parts, size_t *cnt, const char *topic,
                             int32_t partition);
/** Frees an array of topic parts. */
void rv__topic_parts_free(rv__topic_parts_t *parts, size_t cnt);
/** Total partitions in the list. */
size_t rv__topic_parts_total(const rv__topic_parts_t *parts, size_t cnt);

/* ---- assignors ---- */

/* A group member as the leader sees it (JoinGroup result + its decoded
 * subscription). Borrowed by rv__assignor_assign. */
typedef struct rv__assignor_member_s {
    const char *member_id;
    const char *group_instance_id; /* NULL when dynamic */
    const rv__subscription_t *subscription;
} rv__assignor_member_t;

/* A topic's partition count from metadata. Topics a member subscribes to
 * that are missing here (unknown) are skipped, as Kafka does. */
typedef struct rv__assignor_topic_s {
    const char *topic;
    int32_t partition_cnt;
} rv__assignor_topic_t;

/** True when `name` is an assignor this client implements. */
bool rv__assignor_supported(const char *name);

/** Runs assignor `name` over the members and the topics' partition counts.
 *  out[i] (an array of member_cnt, zeroed by the caller) gets member i's
 *  assignment, version RV__ASSIGNMENT_VERSION, null user data; a member
 *  beyond the partition count gets an empty assignment.
 *  - range: per topic, the members subscribed to it sorted (static members
 *    by group.instance.id first, then by member id) each get a run of
 *    consecutive partitions, n/m each and one more for the first n%m.
 *  - roundrobin: every subscribed partition sorted by topic and partition,
 *    dealt in turn to the sorted members, skipping members not subscribed
 *    to the partition's topic.
 *  - cooperative-sticky: balanced (counts differ by at most one where the
 *    subscriptions allow) and sticky: a member keeps the owned partitions
 *    (subscription v1+, the highest generation wins a conflict) unless
 *    balance needs them elsewhere, and as few move as possible. A partition
 *    that moves from one member to another is withheld from the new owner
 *    this time, so the old owner revokes it first and the follow-up
 *    rebalance hands it over (KIP-429's two phases).
 *  RV_ERR__INVALID_ARG for an unknown assignor name. Caller owns the
 *  contents of out[]; free each with rv__assignment_clear(). */
rv_err_t rv__assignor_assign(const char *name, const rv__assignor_member_t *members,
                             size_t member_cnt, const rv__assignor_topic_t *topics,
                             size_t topic_cnt, rv__assignment_t *out, char *errstr,
                             size_t errstr_size);

#endif
