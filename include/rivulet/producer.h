/* rivulet/producer.h: the producer.
 *
 * Backend-neutral, chosen by bootstrap.servers: "embedded:DIR" appends to
 * the in-process broker on data folder DIR; a host:port list uses the
 * kafka backend (librdkafka) to reach `rivulet broker` or any Kafka
 * cluster. The model is Kafka's:
 *
 *  - rv_producer_send() copies the record into a per-partition batch and
 *    returns at once. It waits only when buffer.memory is used up, and then
 *    at most max.block.ms, after which it fails with RV_ERR__QUEUE_FULL.
 *  - A background sender thread appends batches when they are full
 *    (batch.size) or have waited linger.ms, retries failed appends
 *    (retries, retry.backoff.ms) within delivery.timeout.ms, and queues one
 *    delivery report per record.
 *  - Delivery callbacks never run on a library thread: they run inside
 *    rv_producer_poll(), rv_producer_flush(), rv_producer_send_sync() and
 *    rv_producer_close(), on the thread that called them (as librdkafka's
 *    dr_msg_cb). Call rv_producer_poll(p, 0) regularly, or flush.
 *  - The partition is the record's when given; otherwise the user's
 *    partitioner when set; otherwise Kafka's default: murmur2 of the key
 *    bytes, positive modulo the partition count (the same partition a Java
 *    producer picks), and for null keys the sticky partitioner (one
 *    partition until a batch is sent, then another).
 *  - Records to one partition are delivered in send order. With
 *    enable.idempotence=true (the default) the producer has a producer id
 *    and epoch from the broker and numbers its batches per partition, so
 *    the broker drops a retried batch it already wrote and rejects gaps.
 *
 * Errors: rv_producer_send() returns an error only when it did not accept
 * the record (and then no callback runs): RV_ERR__INVALID_ARG (bad record),
 * RV_ERR__QUEUE_FULL (buffer full for max.block.ms), RV_ERR__STATE (closed),
 * RV_ERR_MESSAGE_TOO_LARGE (above max.request.size). Everything else comes
 * through the record's delivery callback: UNKNOWN_TOPIC_OR_PARTITION (no
 * such topic or partition; topics are not created on first use),
 * RV_ERR__MSG_TIMED_OUT (not delivered within delivery.timeout.ms),
 * OUT_OF_ORDER_SEQUENCE_NUMBER, RV_ERR__DESTROY (the producer was closed
 * before the record was sent), and the broker's errors.
 *
 * Kafka backend (librdkafka): the same calls, callbacks and codes, with
 * these differences (docs/PRODUCER.md has the details): a record to a
 * topic the cluster does not know fails after up to about a second of
 * metadata look-ups rather than at once; the sticky choice for null keys
 * moves on after batch.size bytes, linger.ms, or a flush, as an estimate
 * of "a batch was sent"; a record timestamp of 0 is read as "now";
 * max.request.size cannot be below 1000 and buffer.memory counts whole
 * KiB; with acks=0 the report comes when the request is written, before
 * the broker has the record; records close fails while in flight may
 * still have been written.
 *
 * Thread-safety: rv_producer_send(), rv_producer_send_sync(),
 * rv_producer_poll() and rv_producer_flush() may be called from several
 * threads at once. rv_producer_set_partitioner() must be called before the
 * first send. rv_producer_close() and rv_producer_destroy() must not run
 * concurrently with any other call on the same producer. */
#ifndef RIVULET_PRODUCER_H
#define RIVULET_PRODUCER_H

#include "common.h"
#include "conf.h"
#include "error.h"
#include "record.h"

RV_BEGIN_DECLS

typedef struct rv_producer_s rv_producer_t;

#define RV_PRODUCER_RECORD_VERSION 1

/** A record to send. Every pointer is borrowed by the call that takes the
 *  record and copied before it returns; the producer never keeps the
 *  caller's pointers. Start from RV_PRODUCER_RECORD_INIT. */
typedef struct rv_producer_record_s {
    int version;       /**< RV_PRODUCER_RECORD_VERSION */
    const char *topic; /**< required */
    int32_t partition; /**< RV_PARTITION_ANY: let the partitioner pick */
    const void *key;   /**< NULL with key_len -1: null key */
    int32_t key_len;
    const void *value; /**< NULL with value_len -1: null value (tombstone) */
    int32_t value_len;
    int64_t timestamp;          /**< ms since the epoch; -1: now */
    const rv_header_t *headers; /**< header_cnt headers, or NULL */
    size_t header_cnt;
} rv_producer_record_t;

#define RV_PRODUCER_RECORD_INIT \
    { RV_PRODUCER_RECORD_VERSION, NULL, RV_PARTITION_ANY, NULL, -1, NULL, -1, -1, NULL, 0 }

/** Delivery report of one record, called once per accepted record inside
 *  poll/flush/send_sync/close on the caller's thread. err 0: the record is
 *  at `offset` of `partition` with `timestamp` (the create time, or the
 *  broker's time for LogAppendTime topics); with acks=0 offset is -1.
 *  Otherwise err and errmsg say why; partition is the chosen one or -1,
 *  offset -1. topic and errmsg are borrowed for the call. `opaque` is the
 *  one given to rv_producer_send(). The callback may call
 *  rv_producer_send() but not flush, close or destroy. */
typedef void rv_delivery_cb_t(rv_producer_t *producer, rv_err_t err, const char *errmsg,
                              const char *topic, int32_t partition, int64_t offset,
                              int64_t timestamp, void *opaque);

/** A partitioner: returns the partition (0..partition_cnt-1) for a record
 *  sent without one. key/value are the serialized bytes (NULL with -1 when
 *  null), borrowed for the call. A result outside the range fails the
 *  record with UNKNOWN_TOPIC_OR_PARTITION. Runs on the thread calling
 *  rv_producer_send(), possibly several at once. Kafka backend: for records
 *  sent before the producer knows the topic's partitions (the first ones
 *  to a topic) it runs later on a librdkafka thread, as librdkafka's
 *  partitioner callbacks do; it must not call back into the producer. */
typedef int32_t rv_partitioner_cb_t(const char *topic, const void *key, int32_t key_len,
                                    const void *value, int32_t value_len, int32_t partition_cnt,
                                    void *opaque);

/** Kafka's default partition for a non-null key: murmur2 of the key
 *  bytes, positive modulo partition_cnt (Java's
 *  BuiltInPartitioner.partitionForKey), so a key lands where a Java
 *  producer puts it. For user partitioners that fall back to the default.
 *  -1 when key is NULL or partition_cnt < 1. Thread-safe. */
RV_EXTERN int32_t rv_partitioner_murmur2(const void *key, int32_t key_len, int32_t partition_cnt);

/** Creates a producer from `conf` (needs bootstrap.servers; see
 *  docs/CONFIGURATION.md for the producer properties). Takes ownership of
 *  conf on success only. NULL with a message in errstr on failure (bad or
 *  conflicting properties, such as enable.idempotence=true with acks other
 *  than all; the data folder locked by another process). */
RV_EXTERN rv_producer_t *rv_producer_new(rv_conf_t *conf, char *errstr, size_t errstr_size);

/** Replaces the default partitioner with `cb` (NULL restores the default).
 *  `opaque` stays owned by the caller and must outlive the producer. Call
 *  before the first send. */
RV_EXTERN void rv_producer_set_partitioner(rv_producer_t *producer, rv_partitioner_cb_t *cb,
                                           void *opaque);

/** Sends a record asynchronously: copies it into a batch and returns. `cb`
 *  (may be NULL) gets the delivery report, with `opaque`. Waits at most
 *  max.block.ms, and only when buffer.memory is full. See the top of this
 *  header for the errors. Thread-safe. */
RV_EXTERN rv_err_t rv_producer_send(rv_producer_t *producer, const rv_producer_record_t *record,
                                    rv_delivery_cb_t *cb, void *opaque, char *errstr,
                                    size_t errstr_size);

/** Sends a record and waits for its delivery report (at most
 *  max.block.ms + delivery.timeout.ms). The other records' callbacks due
 *  meanwhile run on this thread, as in rv_producer_poll(). *partition,
 *  *offset and *timestamp (each may be NULL) get the result. Returns the
 *  send or delivery error, with a message in errstr. Thread-safe. */
RV_EXTERN rv_err_t rv_producer_send_sync(rv_producer_t *producer,
                                         const rv_producer_record_t *record, int32_t *partition,
                                         int64_t *offset, int64_t *timestamp, char *errstr,
                                         size_t errstr_size);

/** Runs the delivery callbacks that are due, waiting up to timeout_ms
 *  (0: do not wait, -1: until one is due) for the first. Returns how many
 *  callbacks ran. Thread-safe. */
RV_EXTERN int rv_producer_poll(rv_producer_t *producer, int timeout_ms);

/** Sends every buffered record now (ignoring linger.ms) and waits until
 *  no accepted record is outstanding (every delivery callback has run,
 *  including those of records other threads send meanwhile), running
 *  callbacks on this thread. RV_ERR__TIMED_OUT when records are
 *  still outstanding after timeout_ms (-1: no limit). Thread-safe. */
RV_EXTERN rv_err_t rv_producer_flush(rv_producer_t *producer, int timeout_ms);

/** Number of records accepted whose delivery callback has not run yet
 *  (librdkafka's outq_len). Thread-safe. */
RV_EXTERN size_t rv_producer_in_flight(rv_producer_t *producer);

/** Flushes for at most timeout_ms (-1: no limit), then stops the sender;
 *  records still unsent fail with RV_ERR__DESTROY. Every callback has run
 *  when it returns; later sends fail with RV_ERR__STATE. Returns
 *  RV_ERR__TIMED_OUT when records had to be failed. Closing twice does
 *  nothing. */
RV_EXTERN rv_err_t rv_producer_close(rv_producer_t *producer, int timeout_ms);

/** Frees the producer, closing it first with timeout 0 when not closed
 *  (pending records fail with RV_ERR__DESTROY; their callbacks run here).
 *  NULL does nothing. */
RV_EXTERN void rv_producer_destroy(rv_producer_t *producer);

RV_END_DECLS

#endif
