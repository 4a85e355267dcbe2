/* rivulet/error.h: error codes.
 *
 * One X-macro table generates rv_err_t, rv_err_name() and rv_err_str().
 * 0 is success. Kafka protocol errors keep Kafka's numbers; local errors are
 * negative and their names start with a double underscore in Kafka style
 * (RV_ERR__IO). */
#ifndef RIVULET_ERROR_H
#define RIVULET_ERROR_H

#include "common.h"

RV_BEGIN_DECLS

/* X(NAME, number, description) */
#define RV_ERRORS(X)                                                                             \
    X(_BAD_MSG, -199, "Local: bad message format")                                               \
    X(_FAIL, -196, "Local: failure")                                                             \
    X(_IO, -195, "Local: I/O error")                                                             \
    X(_STATE, -172, "Local: erroneous state")                                                    \
    X(_NOMEM, -171, "Local: out of memory")                                                      \
    X(_INVALID_ARG, -186, "Local: invalid argument or configuration")                            \
    X(_UNKNOWN_CONFIG, -187, "Local: unknown configuration property")                            \
    X(_TIMED_OUT, -185, "Local: timed out")                                                      \
    X(_LOCKED, -170, "Local: resource is locked by another process")                             \
    X(_NOT_IMPLEMENTED, -152, "Local: not implemented")                                          \
    X(_NOENT, -156, "Local: no such entry")                                                      \
    X(_CRC, -198, "Local: CRC mismatch")                                                         \
    X(_PARTIAL, -189, "Local: partial data")                                                     \
    X(_DESTROY, -197, "Local: broker handle destroyed")                                          \
    X(_MSG_TIMED_OUT, -192, "Local: message timed out")                                          \
    X(_QUEUE_FULL, -184, "Local: queue full")                                                    \
    X(_SERIALIZATION, -162, "Local: serialization failed")                                       \
    X(_DESERIALIZATION, -160, "Local: deserialization failed")                                   \
    /* consumer (client/consumer.c) */                                                           \
    X(_MAX_POLL_EXCEEDED, -147, "Local: maximum application poll interval exceeded")             \
    X(_NO_OFFSET, -140, "Local: no offset to start from and auto.offset.reset is none")          \
    X(_WAKEUP, -100, "Local: consumer woken up")                                                 \
    X(UNKNOWN_SERVER_ERROR, -1, "The server experienced an unexpected error")                    \
    X(NO_ERROR, 0, "Success")                                                                    \
    X(OFFSET_OUT_OF_RANGE, 1, "The requested offset is not within the range of offsets")         \
    X(CORRUPT_MESSAGE, 2, "The message contents do not match the message CRC or are invalid")    \
    X(UNKNOWN_TOPIC_OR_PARTITION, 3, "This server does not host this topic-partition")           \
    X(INVALID_FETCH_SIZE, 4, "The requested fetch size is invalid")                              \
    X(LEADER_NOT_AVAILABLE, 5, "There is no leader for this topic-partition")                    \
    X(REQUEST_TIMED_OUT, 7, "The request timed out")                                             \
    X(MESSAGE_TOO_LARGE, 10, "The request included a message larger than the maximum size")      \
    X(INVALID_TOPIC_EXCEPTION, 17,                                                               \
      "The request attempted to perform an operation on an invalid topic")                       \
    X(RECORD_LIST_TOO_LARGE, 18,                                                                 \
      "The request included message batch larger than the configured segment size")              \
    X(INVALID_REQUIRED_ACKS, 21, "Produce request specified an invalid value for required acks") \
    /* group coordinator (broker/group_coordinator.c) */                                         \
    X(OFFSET_METADATA_TOO_LARGE, 12, "The metadata field of the offset request was too large.")  \
    X(COORDINATOR_LOAD_IN_PROGRESS, 14,                                                          \
      "The coordinator is loading and hence can't process requests.")                            \
    X(COORDINATOR_NOT_AVAILABLE, 15, "The coordinator is not available.")                        \
    X(NOT_COORDINATOR, 16, "This is not the correct coordinator.")                               \
    X(ILLEGAL_GENERATION, 22, "Specified group generation id is not valid.")                     \
    X(INCONSISTENT_GROUP_PROTOCOL, 23,                                                           \
      "The group member's supported protocols are incompatible with those of existing members "  \
      "or first group member tried to join with empty protocol type or empty protocol list.")    \
    X(INVALID_GROUP_ID, 24, "The configured groupId is invalid.")                                \
    X(UNKNOWN_MEMBER_ID, 25, "The coordinator is not aware of this member.")                     \
    X(INVALID_SESSION_TIMEOUT, 26,                                                               \
      "The session timeout is not within the range allowed by the broker (as configured by "     \
      "group.min.session.timeout.ms and group.max.session.timeout.ms).")                         \
    X(REBALANCE_IN_PROGRESS, 27, "The group is rebalancing, so a rejoin is needed.")             \
    X(INVALID_COMMIT_OFFSET_SIZE, 28, "The committing offset data size is not valid.")           \
    X(NON_EMPTY_GROUP, 68, "The group is not empty.")                                            \
    X(GROUP_ID_NOT_FOUND, 69, "The group id does not exist.")                                    \
    X(MEMBER_ID_REQUIRED, 79,                                                                    \
      "The group member needs to have a valid member id before actually entering a consumer "    \
      "group.")                                                                                  \
    X(GROUP_MAX_SIZE_REACHED, 81, "The consumer group has reached its max size.")                \
    X(FENCED_INSTANCE_ID, 82,                                                                    \
      "The broker rejected this static consumer since another consumer with the same "           \
      "group.instance.id has registered with a different member.id.")                            \
    X(GROUP_SUBSCRIBED_TO_TOPIC, 86,                                                             \
      "Deleting offsets of a topic is forbidden while the consumer group is actively "           \
      "subscribed to it.")                                                                       \
    X(INVALID_TIMESTAMP, 32, "The timestamp of the message is out of acceptable range")          \
    X(UNSUPPORTED_VERSION, 35, "The version of API is not supported")                            \
    X(TOPIC_ALREADY_EXISTS, 36, "Topic with this name already exists")                           \
    X(INVALID_PARTITIONS, 37, "Number of partitions is below 1")                                 \
    X(INVALID_REPLICATION_FACTOR, 38,                                                            \
      "Replication factor is below 1 or larger than the number of available brokers")            \
    X(INVALID_REPLICA_ASSIGNMENT, 39, "Replica assignment is invalid")                           \
    X(INVALID_CONFIG, 40, "Configuration is invalid")                                            \
    X(INVALID_REQUEST, 42, "This most likely occurs because of a request being malformed")       \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43,                                                        \
      "The message format version on the broker does not support the request")                   \
    X(POLICY_VIOLATION, 44, "Request parameters do not satisfy the configured policy")           \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45, "The broker received an out of order sequence number")   \
    X(DUPLICATE_SEQUENCE_NUMBER, 46, "The broker received a duplicate sequence number")          \
    X(INVALID_PRODUCER_EPOCH, 47, "Producer attempted to produce with an old epoch")             \
    X(UNKNOWN_PRODUCER_ID, 59,                                                                   \
      "This exception is raised by the broker if it could not locate the producer metadata "     \
      "associated with the producerId in question")                                              \
    X(UNSUPPORTED_COMPRESSION_TYPE, 76,                                                          \
      "The requesting client does not support the compression type of given partition")          \
    X(INVALID_RECORD, 87,                                                                        \
      "This record has failed the validation on broker and hence will be rejected")

typedef enum rv_err_e {
#define RV__ERR_ENUM(name, num, desc) RV_ERR_##name = (num),
    RV_ERRORS(RV__ERR_ENUM)
#undef RV__ERR_ENUM
} rv_err_t;

/** Kafka-style name of an error code ("OFFSET_OUT_OF_RANGE", "_IO").
 *  Borrowed: a static string; unknown codes give "ERR_<num>?" in a static
 *  per-thread buffer. */
RV_EXTERN const char *rv_err_name(rv_err_t err);

/** Human description of an error code. Borrowed: a static string. */
RV_EXTERN const char *rv_err_str(rv_err_t err);

RV_END_DECLS

#endif
