/* rivulet/consumer.h: the consumer, Kafka's KafkaConsumer.
 *
 * A consumer reads records from topic-partitions it is given explicitly
 * (rv_consumer_assign) or that a consumer group hands it
 * (rv_consumer_subscribe, needs group.id). The backend is chosen by
 * bootstrap.servers: "embedded:DIR" reads the in-process broker's logs
 * directly; a host:port list uses librdkafka (docs/CONSUMER.md section 9
 * lists where it differs). The API is poll-driven so both backends
 * implement it the same way: rebalance listener callbacks and commit_async
 * callbacks run only inside rv_consumer_poll() (and inside commit_sync /
 * close, which serve pending callbacks too), on the thread that calls it.
 *
 * Configuration (Kafka's names and defaults): group.id, auto.offset.reset
 * (latest | earliest | none), enable.auto.commit (true),
 * auto.commit.interval.ms (5000), max.poll.records (500),
 * session.timeout.ms (45000), heartbeat.interval.ms (3000),
 * max.poll.interval.ms (300000), partition.assignment.strategy (range;
 * roundrobin, cooperative-sticky, or Kafka's class names such as
 * org.apache.kafka.clients.consumer.RangeAssignor), fetch.max.bytes,
 * max.partition.fetch.bytes, isolation.level, client.id.
 *
 * Offsets follow Kafka: a committed offset and a position are the offset of
 * the NEXT record to read (last consumed + 1).
 *
 * Thread-safety: an rv_consumer_t is used by one thread at a time (Kafka's
 * KafkaConsumer rule). The exception is rv_consumer_wakeup(), which any
 * thread may call at any time. Group heartbeats run on a background thread
 * of the consumer, so a slow poll loop stays in the group until
 * max.poll.interval.ms passes without a poll. Callbacks run on the polling
 * thread and may call any consumer function except poll, close and
 * destroy. Topic-partition lists are not thread-safe. */
#ifndef RIVULET_CONSUMER_H
#define RIVULET_CONSUMER_H

#include "common.h"
#include "conf.h"
#include "error.h"
#include "record.h"

RV_BEGIN_DECLS

typedef struct rv_consumer_s rv_consumer_t;

/* Logical offsets, as librdkafka's: accepted by seek and assign and in
 * the offset field of list entries. RV_OFFSET_INVALID (record.h) means
 * "no offset". */
#define RV_OFFSET_BEGINNING (-2) /**< the log start offset */
#define RV_OFFSET_END (-1)       /**< the high watermark (next offset written) */
#define RV_OFFSET_STORED (-1000) /**< the committed offset, else auto.offset.reset */

/* ---- Topic-partition lists ---- */

typedef struct rv_topic_partition_s rv_topic_partition_t;
typedef struct rv_topic_partition_list_s rv_topic_partition_list_t;

/** A new empty list with room for `size_hint` entries. Caller owns the
 *  result; free with rv_topic_partition_list_destroy(). NULL only when out
 *  of memory. */
RV_EXTERN rv_topic_partition_list_t *rv_topic_partition_list_new(size_t size_hint);

/** Frees the list and its entries. NULL does nothing. */
RV_EXTERN void rv_topic_partition_list_destroy(rv_topic_partition_list_t *l);

/** A deep copy. Caller owns the result; free with
 *  rv_topic_partition_list_destroy(). NULL when out of memory. */
RV_EXTERN rv_topic_partition_list_t *
rv_topic_partition_list_copy(const rv_topic_partition_list_t *l);

/** Appends an entry (topic copied) with offset RV_OFFSET_INVALID, no
 *  metadata and no error. Borrowed: the entry is valid until the list is
 *  destroyed or added to again. NULL when out of memory. */
RV_EXTERN rv_topic_partition_t *rv_topic_partition_list_add(rv_topic_partition_list_t *l,
                                                            const char *topic, int32_t partition);

/** The entry for topic/partition, or NULL. Borrowed as for _add(). */
RV_EXTERN rv_topic_partition_t *rv_topic_partition_list_find(const rv_topic_partition_list_t *l,
                                                             const char *topic, int32_t partition);

/** Number of entries; entry i (0..count-1), borrowed as for _add(). */
RV_EXTERN size_t rv_topic_partition_list_count(const rv_topic_partition_list_t *l);
RV_EXTERN rv_topic_partition_t *rv_topic_partition_list_get(const rv_topic_partition_list_t *l,
                                                            size_t i);

/** Sorts the entries by topic, then partition. */
RV_EXTERN void rv_topic_partition_list_sort(rv_topic_partition_list_t *l);

/** Entry fields. The topic and metadata strings are borrowed from the
 *  entry. metadata is the commit metadata string (NULL = none). err is the
 *  per-partition result of the call that filled the list. */
RV_EXTERN const char *rv_topic_partition_topic(const rv_topic_partition_t *tp);
RV_EXTERN int32_t rv_topic_partition_partition(const rv_topic_partition_t *tp);
RV_EXTERN int64_t rv_topic_partition_offset(const rv_topic_partition_t *tp);
RV_EXTERN void rv_topic_partition_set_offset(rv_topic_partition_t *tp, int64_t offset);
RV_EXTERN const char *rv_topic_partition_metadata(const rv_topic_partition_t *tp);
/** Sets the metadata (copied; NULL clears). RV_ERR__NOMEM on failure. */
RV_EXTERN rv_err_t rv_topic_partition_set_metadata(rv_topic_partition_t *tp, const char *metadata);
RV_EXTERN rv_err_t rv_topic_partition_err(const rv_topic_partition_t *tp);
RV_EXTERN void rv_topic_partition_set_err(rv_topic_partition_t *tp, rv_err_t err);

/* ---- Lifecycle ---- */

/** Creates a consumer from `conf` (needs bootstrap.servers; group.id for
 *  subscribe and commits). Takes ownership of conf on success only. NULL
 *  with a message in errstr on failure (bad or missing configuration, data
 *  folder locked by another process, a value librdkafka refuses). Caller
 *  owns the result; free with
 *  rv_consumer_destroy() (after rv_consumer_close()). */
RV_EXTERN rv_consumer_t *rv_consumer_new(rv_conf_t *conf, char *errstr, size_t errstr_size);

/** Closes the consumer: commits the consumed positions when
 *  enable.auto.commit is true, runs the revoked listener for the current
 *  assignment, serves pending commit_async callbacks, and leaves the group
 *  at once (the others rebalance without waiting for session.timeout.ms).
 *  Later calls other than destroy return RV_ERR__STATE. Returns the
 *  commit's error, if any; the consumer is closed either way. */
RV_EXTERN rv_err_t rv_consumer_close(rv_consumer_t *c);

/** Frees the consumer, closing it first if needed. NULL does nothing. */
RV_EXTERN void rv_consumer_destroy(rv_consumer_t *c);

/* ---- Subscription and assignment ---- */

/** Partitions given to or taken from a consumer by a rebalance. Borrowed:
 *  valid during the call only. */
typedef void(rv_rebalance_cb_t)(rv_consumer_t *c, const rv_topic_partition_list_t *partitions,
                                void *opaque);

#define RV_REBALANCE_LISTENER_VERSION 1

/** Kafka's ConsumerRebalanceListener. Any callback may be NULL.
 *  - revoked: before a rebalance, with the partitions this consumer gives
 *    up (all of them with eager assignors; only those that move with
 *    cooperative-sticky). Positions are still valid: the place to commit.
 *    With enable.auto.commit the consumed positions are committed before
 *    this runs.
 *  - assigned: after the rebalance, with the partitions newly assigned
 *    (the whole new assignment with eager assignors). Seeks here decide
 *    where reading starts.
 *  - lost: the partitions were already taken from this consumer (session
 *    or max.poll.interval.ms expired): committing them would fail. NULL
 *    means revoked is called instead, as Kafka's default onPartitionsLost. */
typedef struct rv_rebalance_listener_s {
    int version; /**< RV_REBALANCE_LISTENER_VERSION */
    rv_rebalance_cb_t *revoked;
    rv_rebalance_cb_t *assigned;
    rv_rebalance_cb_t *lost;
    void *opaque; /**< passed to every callback */
} rv_rebalance_listener_t;

#define RV_REBALANCE_LISTENER_INIT \
    { RV_REBALANCE_LISTENER_VERSION, NULL, NULL, NULL, NULL }

/** Subscribes to `topic_cnt` topics (names copied) in the consumer group
 *  group.id, replacing any earlier subscription. The join happens in
 *  later polls. `listener` (may be NULL) is copied; its callbacks run
 *  inside rv_consumer_poll(). RV_ERR__INVALID_ARG without group.id or with
 *  no topic; RV_ERR__STATE after assign() (Kafka's IllegalStateException:
 *  subscription and manual assignment are mutually exclusive) or close. */
RV_EXTERN rv_err_t rv_consumer_subscribe(rv_consumer_t *c, const char *const *topics,
                                         size_t topic_cnt, const rv_rebalance_listener_t *listener);

/** Drops the subscription: revokes the assignment (listener called, auto
 *  commit first), leaves the group. No-op when not subscribed. */
RV_EXTERN rv_err_t rv_consumer_unsubscribe(rv_consumer_t *c);

/** The subscribed topic names. Caller owns *topics (an array of *cnt
 *  strings); free with rv_strv_free() (rivulet/admin.h). */
RV_EXTERN rv_err_t rv_consumer_subscription(rv_consumer_t *c, char ***topics, size_t *cnt);

/** Manual assignment: reads exactly these partitions, without group
 *  membership (commits still use group.id when set). Replaces the current
 *  assignment; NULL or an empty list unassigns. An entry's offset is where
 *  reading starts: an absolute offset, RV_OFFSET_BEGINNING, RV_OFFSET_END,
 *  or RV_OFFSET_STORED / RV_OFFSET_INVALID (committed offset, else
 *  auto.offset.reset). `partitions` is borrowed. RV_ERR__STATE while
 *  subscribed. */
RV_EXTERN rv_err_t rv_consumer_assign(rv_consumer_t *c,
                                      const rv_topic_partition_list_t *partitions);

/** The current assignment (offsets are the positions, or
 *  RV_OFFSET_INVALID when not yet known). Caller owns *out; free with
 *  rv_topic_partition_list_destroy(). */
RV_EXTERN rv_err_t rv_consumer_assignment(rv_consumer_t *c, rv_topic_partition_list_t **out);

/* ---- Reading ---- */

/** Waits up to timeout_ms (0 = do not wait, -1 = forever) for records of
 *  the assigned, unpaused partitions, and returns up to max.poll.records
 *  of them in partition order within each partition. Also drives the
 *  consumer: joins and rebalances (running the listener), auto commits,
 *  and runs the callbacks of finished commit_async calls.
 *  On success *out holds a container, possibly empty (the timeout passed,
 *  or a rebalance ran); caller owns it; free with rv_records_destroy(). The
 *  records borrow the fetched bytes, so holding containers holds memory.
 *  On error *out is NULL: RV_ERR__WAKEUP (rv_consumer_wakeup() was
 *  called), RV_ERR__NO_OFFSET (auto.offset.reset=none and no committed
 *  offset: Kafka's NoOffsetForPartitionException),
 *  RV_ERR_OFFSET_OUT_OF_RANGE (auto.offset.reset=none and the position is
 *  outside the log: Kafka's OffsetOutOfRangeException),
 *  RV_ERR__MAX_POLL_EXCEEDED (once, after the consumer left the group
 *  because polls were further apart than max.poll.interval.ms; the lost
 *  listener ran and the next poll rejoins), RV_ERR_CORRUPT_MESSAGE,
 *  RV_ERR_UNSUPPORTED_COMPRESSION_TYPE (a codec id Kafka does not define;
 *  never skipped; gzip, snappy, lz4 and zstd batches are decompressed), a group error such as
 *  INCONSISTENT_GROUP_PROTOCOL, RV_ERR__STATE (closed). When records were
 *  already gathered the error is held back and they are returned.
 *  rv_consumer_last_error() gives the message. */
RV_EXTERN rv_err_t rv_consumer_poll(rv_consumer_t *c, int timeout_ms, rv_records_t **out);

/** Makes a blocked (or the next) rv_consumer_poll() return
 *  RV_ERR__WAKEUP, as Kafka's wakeup(). Thread-safe: any thread, any time,
 *  also from a signal-free shutdown path; never blocks. */
RV_EXTERN void rv_consumer_wakeup(rv_consumer_t *c);

/** The message of the last error a call on this consumer returned.
 *  Borrowed: valid until the next call on the consumer. "" when none. */
RV_EXTERN const char *rv_consumer_last_error(const rv_consumer_t *c);

/* ---- Positions ---- */

/** Sets the position of an assigned partition: the next poll reads from
 *  `offset` (absolute, RV_OFFSET_BEGINNING or RV_OFFSET_END).
 *  UNKNOWN_TOPIC_OR_PARTITION when the partition is not assigned. Records
 *  already returned are not affected. */
RV_EXTERN rv_err_t rv_consumer_seek(rv_consumer_t *c, const char *topic, int32_t partition,
                                    int64_t offset);

/** Seeks the partitions in the list (NULL = the whole assignment) to their
 *  log start offset / high watermark. `partitions` borrowed. */
RV_EXTERN rv_err_t rv_consumer_seek_to_beginning(rv_consumer_t *c,
                                                 const rv_topic_partition_list_t *partitions);
RV_EXTERN rv_err_t rv_consumer_seek_to_end(rv_consumer_t *c,
                                           const rv_topic_partition_list_t *partitions);

/** Fills each entry's offset with the position (the next offset poll
 *  returns), resolving committed offsets / auto.offset.reset first as
 *  Kafka's position() does; entries not assigned get offset
 *  RV_OFFSET_INVALID and err UNKNOWN_TOPIC_OR_PARTITION. The list is
 *  borrowed and updated in place. */
RV_EXTERN rv_err_t rv_consumer_position(rv_consumer_t *c, rv_topic_partition_list_t *partitions);

/** Fills each entry's offset and metadata with the group's committed
 *  offset (RV_OFFSET_INVALID when none), waiting at most timeout_ms.
 *  RV_ERR__INVALID_ARG without group.id. The list is borrowed and updated
 *  in place. */
RV_EXTERN rv_err_t rv_consumer_committed(rv_consumer_t *c, rv_topic_partition_list_t *partitions,
                                         int timeout_ms);

/** Stops / restarts returning records of these partitions (they stay
 *  assigned; pausing survives polls, not a revocation). `partitions`
 *  borrowed; entries not assigned get err UNKNOWN_TOPIC_OR_PARTITION. */
RV_EXTERN rv_err_t rv_consumer_pause(rv_consumer_t *c, const rv_topic_partition_list_t *partitions);
RV_EXTERN rv_err_t rv_consumer_resume(rv_consumer_t *c,
                                      const rv_topic_partition_list_t *partitions);

/* ---- Commits ---- */

/** Commits synchronously, waiting at most request.timeout.ms. offsets NULL
 *  commits the positions of every assigned partition (all records returned
 *  so far); otherwise the given entries (offset = the next offset to read,
 *  metadata optional), borrowed. Per-partition failures are in the
 *  entries' err when offsets is given. RV_ERR__INVALID_ARG without
 *  group.id; in a group, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
 *  REBALANCE_IN_PROGRESS when the group moved on (Kafka's
 *  CommitFailedException). Pending commit_async callbacks run first, so
 *  commits complete in call order. */
RV_EXTERN rv_err_t rv_consumer_commit_sync(rv_consumer_t *c,
                                           const rv_topic_partition_list_t *offsets, char *errstr,
                                           size_t errstr_size);

/** Result of an asynchronous commit: err is the overall result, offsets
 *  the committed entries with their per-partition err. Borrowed: valid
 *  during the call only. */
typedef void(rv_commit_cb_t)(rv_consumer_t *c, rv_err_t err,
                             const rv_topic_partition_list_t *offsets, void *opaque);

/** Starts a commit (offsets as for commit_sync, copied) and returns at
 *  once. `cb` (may be NULL) runs with `opaque` inside a later
 *  rv_consumer_poll(), commit_sync() or close(), in call order. */
RV_EXTERN rv_err_t rv_consumer_commit_async(rv_consumer_t *c,
                                            const rv_topic_partition_list_t *offsets,
                                            rv_commit_cb_t *cb, void *opaque);

/* ---- Group information ---- */

/** This member's id in the group ("" before the first join). Borrowed:
 *  valid until the next poll. */
RV_EXTERN const char *rv_consumer_member_id(const rv_consumer_t *c);

/** The generation of the last completed join, or -1. */
RV_EXTERN int32_t rv_consumer_generation(const rv_consumer_t *c);

RV_END_DECLS

#endif
