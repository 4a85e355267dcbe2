/* rivulet/streams.h: the running stream application, Kafka Streams'
 * KafkaStreams.
 *
 * An rv_streams_t runs a built topology (rivulet/topology.h) against a
 * broker: bootstrap.servers "embedded:DIR" or a host:port list, through the
 * public producer, consumer and admin clients only. It creates the
 * topology's internal topics, starts num.stream.threads stream threads
 * that join the consumer group application.id, and runs one task per
 * (sub-topology, partition number) assigned to them; several instances of
 * the same application.id (threads or processes) share the tasks, which
 * move on rebalance with their state restored from the changelogs.
 * Processing is at-least-once (processing.guarantee=at_least_once).
 *
 * States and allowed transitions are Kafka's (KafkaStreams.State):
 *
 *     CREATED          -> REBALANCING, PENDING_SHUTDOWN
 *     REBALANCING      -> RUNNING, PENDING_SHUTDOWN, PENDING_ERROR
 *     RUNNING          -> REBALANCING, PENDING_SHUTDOWN, PENDING_ERROR
 *     PENDING_SHUTDOWN -> NOT_RUNNING
 *     PENDING_ERROR    -> ERROR
 *     NOT_RUNNING, ERROR: final
 *
 * Calls: new -> [set listeners and handler] -> start -> close -> destroy.
 * Listeners and the handler must be set before start (RV_ERR__STATE
 * after). rv_streams_state() and rv_streams_close() are thread-safe; the
 * rest is called from one thread at a time. Callbacks run on stream
 * threads (or in start/close on the caller's thread) and must not call
 * rv_streams_close() or rv_streams_destroy(). */
#ifndef RIVULET_STREAMS_H
#define RIVULET_STREAMS_H

#include "common.h"
#include "conf.h"
#include "error.h"
#include "topology.h"

RV_BEGIN_DECLS

typedef struct rv_streams_s rv_streams_t;

typedef enum rv_streams_state_e {
    RV_STREAMS_CREATED,
    RV_STREAMS_REBALANCING,
    RV_STREAMS_RUNNING,
    RV_STREAMS_PENDING_SHUTDOWN,
    RV_STREAMS_NOT_RUNNING,
    RV_STREAMS_PENDING_ERROR,
    RV_STREAMS_ERROR
} rv_streams_state_t;

/** Kafka's name of a state ("RUNNING"). Borrowed: a static string. */
RV_EXTERN const char *rv_streams_state_name(rv_streams_state_t state);

/** Creates the application for `topology` (built with
 *  rv_topology_build(); borrowed: it must outlive the app) and `conf`
 *  (needs application.id and bootstrap.servers). Takes ownership of conf
 *  on success only. Caller owns the result; free with
 *  rv_streams_destroy(). NULL with a message in errstr when the topology
 *  is not built or a property is missing or invalid. */
RV_EXTERN rv_streams_t *rv_streams_new(rv_topology_t *topology, rv_conf_t *conf, char *errstr,
                                       size_t errstr_size);

/** Kafka's StateListener: called after every state change, on the thread
 *  that made it. */
typedef void(rv_streams_state_cb_t)(rv_streams_state_t new_state, rv_streams_state_t old_state,
                                    void *opaque);
/** Sets the state listener (NULL removes it); `opaque` is passed back. */
RV_EXTERN rv_err_t rv_streams_set_state_listener(rv_streams_t *s, rv_streams_state_cb_t *cb,
                                                 void *opaque);

/** Kafka's StreamsUncaughtExceptionHandler responses. */
typedef enum rv_streams_uncaught_response_e {
    /** Closes the failed thread's tasks (without committing) and clients
     *  and starts a new thread in its place; the tasks come back through
     *  a rebalance and reprocess from the last commit. */
    RV_STREAMS_REPLACE_THREAD,
    /** Stops every thread of this instance: PENDING_ERROR, then ERROR. */
    RV_STREAMS_SHUTDOWN_CLIENT,
    /** Stops every instance of the application (Kafka's KIP-671): this
     *  one as SHUTDOWN_CLIENT, after its threads ask the group
     *  application.id, whose leader tells every member; each other
     *  instance then commits, closes its tasks and ends in ERROR too. The
     *  request lives in the group's membership only: an instance started
     *  after they all stopped runs. With the kafka backend (librdkafka's
     *  group protocol carries no request) only this instance stops. */
    RV_STREAMS_SHUTDOWN_APPLICATION
} rv_streams_uncaught_response_t;

/** Called on the failing stream thread with the error and its message
 *  (borrowed for the call) and the thread's name. */
typedef rv_streams_uncaught_response_t(rv_streams_uncaught_error_cb_t)(rv_err_t err,
                                                                       const char *message,
                                                                       const char *thread_name,
                                                                       void *opaque);
/** Sets the uncaught error handler. Without one the response is
 *  SHUTDOWN_CLIENT (Kafka's default). */
RV_EXTERN rv_err_t rv_streams_set_uncaught_error_handler(rv_streams_t *s,
                                                         rv_streams_uncaught_error_cb_t *cb,
                                                         void *opaque);

/** Kafka's StateRestoreListener, called on the stream thread restoring a
 *  store of a task from its changelog partition: on_start with the offsets
 *  restoring starts from and ends before (the changelog end), on_batch
 *  after each batch written to the store (batch_end_offset: offset of the
 *  batch's last record; num_restored: records in the batch), on_end with
 *  the total. topic and store are borrowed for the call. Any callback may
 *  be NULL. */
#define RV_STATE_RESTORE_LISTENER_VERSION 1
typedef struct rv_state_restore_listener_s {
    int version; /**< RV_STATE_RESTORE_LISTENER_VERSION */
    void (*on_start)(const char *topic, int32_t partition, const char *store,
                     int64_t starting_offset, int64_t ending_offset, void *opaque);
    void (*on_batch)(const char *topic, int32_t partition, const char *store,
                     int64_t batch_end_offset, int64_t num_restored, void *opaque);
    void (*on_end)(const char *topic, int32_t partition, const char *store, int64_t total_restored,
                   void *opaque);
    void *opaque; /**< passed to every callback */
} rv_state_restore_listener_t;
#define RV_STATE_RESTORE_LISTENER_INIT \
    { RV_STATE_RESTORE_LISTENER_VERSION, NULL, NULL, NULL, NULL }
/** Sets the restore listener (copied; NULL removes it). */
RV_EXTERN rv_err_t rv_streams_set_restore_listener(rv_streams_t *s,
                                                   const rv_state_restore_listener_t *listener);

/** Starts the application: checks that the sources of each sub-topology
 *  have equal partition counts (co-partitioning), creates the missing
 *  internal topics (changelogs compacted with the sub-topology's partition
 *  count, repartition topics with the upstream count), and starts the
 *  stream threads. With global stores it first starts the global stream
 *  thread and blocks until the global stores are bootstrapped (as Kafka's
 *  start()); a missing global topic fails the start, and a close from
 *  another thread meanwhile makes it return RV_ERR__STATE. State CREATED
 *  -> REBALANCING; RUNNING once every thread has its tasks restored. A
 *  setup failure (missing source topic, topics not co-partitioned, an
 *  admin error) returns the error with a message in errstr, and the state
 *  goes PENDING_ERROR -> ERROR. RV_ERR__STATE when not in CREATED. */
RV_EXTERN rv_err_t rv_streams_start(rv_streams_t *s, char *errstr, size_t errstr_size);

/** Stops the application: every thread commits its tasks (flushing stores,
 *  producer and checkpoints), closes them and its clients, and leaves the
 *  group. Waits up to timeout_ms (-1: no limit); RV_ERR__TIMED_OUT when the
 *  threads were still running then (close or destroy again to wait
 *  more). State -> PENDING_SHUTDOWN -> NOT_RUNNING (an app in ERROR stays
 *  there). Closing a closed app does nothing. Thread-safe. */
RV_EXTERN rv_err_t rv_streams_close(rv_streams_t *s, int timeout_ms);

/** Closes (no time limit) and frees the app. NULL does nothing. */
RV_EXTERN void rv_streams_destroy(rv_streams_t *s);

/** The current state. Thread-safe. */
RV_EXTERN rv_streams_state_t rv_streams_state(const rv_streams_t *s);

/** The message of the error that moved the app to ERROR, "" when none.
 *  Borrowed: valid until destroy. */
RV_EXTERN const char *rv_streams_last_error(const rv_streams_t *s);

RV_END_DECLS

#endif
