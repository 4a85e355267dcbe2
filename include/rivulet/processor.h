/* rivulet/processor.h: what a processor is (the Processor API's types).
 *
 * A processor is a node of a topology (rivulet/topology.h) that receives
 * records one at a time, as Kafka Streams' org.apache.kafka.streams.
 * processor.api.Processor: init(context), process(record), close(). A
 * processor supplier makes a fresh processor, with its own user state, for
 * every task that runs the processor's sub-topology (Kafka's
 * ProcessorSupplier.get()), so two tasks never share state.
 *
 * The life of one processor instance, driven by the runtime on the stream
 * thread that owns the task:
 *
 *   supplier.get(&proc)      fills proc: callbacks and user state
 *   proc.init(ctx, state)    once, before the first record
 *   proc.process(ctx, record, state)   once per record
 *   proc.close(state)        once; frees the user state
 *
 * close() is called exactly once for every successful get(), also when
 * init() was never reached or failed, so the user state never leaks.
 *
 * Records: a processor record (rv_processor_record_t) is a plain struct of
 * key, value, timestamp and headers. Key and value are `const void *` with a
 * length, exactly the pair rv_serde_deserialize() produces and
 * rv_serde_serialize() consumes (rivulet/serde.h): the source node's
 * deserializer makes them from the consumed bytes (with the "bytes" serde
 * they are the bytes themselves), and a sink's serializer turns them back
 * into bytes. A processor may forward objects of another type as long as the
 * processors downstream and the serializer of the sink agree. A null key or
 * value is NULL with length -1.
 *
 * The context (rv_processor_context_t) is what a processor works through,
 * as Kafka's api.ProcessorContext: forward records to its children, reach
 * the state stores connected to it, schedule punctuators, read the current
 * record's metadata, timestamp and headers, the task id, the application id,
 * stream time and system time, and request a commit. The runtime owns it;
 * each processor instance of a task has its own, valid from init() until
 * close() returns. Every context function is called on the stream thread
 * that runs the task (from init, process, a punctuator or close).
 *
 * Thread-safety: a processor instance is used by one stream thread at a
 * time; a supplier's get() may be called from several stream threads at
 * once and must be safe for that. */
#ifndef RIVULET_PROCESSOR_H
#define RIVULET_PROCESSOR_H

#include "common.h"
#include "error.h"
#include "conf.h"
#include "record.h"
#include "store.h"

RV_BEGIN_DECLS

/** The context a processor works through. Opaque; owned by the runtime. */
typedef struct rv_processor_context_s rv_processor_context_t;

/** A record as processors receive and forward it (Kafka's
 *  processor.api.Record). Borrowed everywhere: in process() every pointer is
 *  valid until process() returns; a record a processor forwards stays the
 *  processor's and need only live until the forward call returns. Kafka has
 *  no other fields here (topic, partition and offset of the input record are
 *  metadata of the context), so the layout is fixed. */
typedef struct rv_processor_record_s {
    const void *key;   /**< NULL with key_len -1 = null key */
    int32_t key_len;   /**< as the key's deserializer gave it (rv_serde_deserialize) */
    const void *value; /**< NULL with value_len -1 = null value (a tombstone) */
    int32_t value_len;
    int64_t timestamp;          /**< milliseconds since the epoch */
    const rv_header_t *headers; /**< header_cnt headers, in order; NULL when none */
    size_t header_cnt;
} rv_processor_record_t;

/** Called once before the first record. `ctx` is borrowed: valid until
 *  close() (keep it to forward from punctuators). A non-zero return fails
 *  the task, as an exception thrown from Kafka's init(). */
typedef rv_err_t rv_processor_init_cb_t(rv_processor_context_t *ctx, void *state);

/** Called for each record; `record` is borrowed for the call. A non-zero
 *  return fails the task (the stream thread's uncaught-error handler
 *  decides what happens next), as an exception thrown from process(). */
typedef rv_err_t rv_processor_process_cb_t(rv_processor_context_t *ctx,
                                           const rv_processor_record_t *record, void *state);

/** Called exactly once for each instance; frees `state`. */
typedef void rv_processor_close_cb_t(void *state);

#define RV_PROCESSOR_VERSION 1

/** One processor instance: callbacks plus user state. The runtime owns the
 *  struct itself (it passes it to the supplier to fill); the supplier sets
 *  the callbacks and `state`, which stays the user's and is freed by
 *  close(). init and close may be NULL (nothing to do); process may not. */
typedef struct rv_processor_s {
    int version; /**< RV_PROCESSOR_VERSION */
    rv_processor_init_cb_t *init;
    rv_processor_process_cb_t *process;
    rv_processor_close_cb_t *close;
    void *state; /**< the instance's user state, passed to every callback */
} rv_processor_t;

#define RV_PROCESSOR_INIT \
    { RV_PROCESSOR_VERSION, NULL, NULL, NULL, NULL }

/** Fills `*out` (already RV_PROCESSOR_INIT) with a new processor instance
 *  and returns 0, or returns an error (RV_ERR__NOMEM, ...) and leaves
 *  nothing to free. `opaque` is the supplier's. */
typedef rv_err_t rv_processor_get_cb_t(rv_processor_t *out, void *opaque);

#define RV_PROCESSOR_SUPPLIER_VERSION 1

/** A processor supplier (Kafka's ProcessorSupplier): `get` makes one fresh
 *  instance per task; `opaque` is passed to get; `destroy` (may be NULL)
 *  frees `opaque` when the topology that took the supplier is destroyed.
 *  rv_topology_add_processor() copies the struct and takes ownership of
 *  `opaque` on success. */
typedef struct rv_processor_supplier_s {
    int version; /**< RV_PROCESSOR_SUPPLIER_VERSION */
    rv_processor_get_cb_t *get;
    void *opaque;
    void (*destroy)(void *opaque);
} rv_processor_supplier_t;

#define RV_PROCESSOR_SUPPLIER_INIT \
    { RV_PROCESSOR_SUPPLIER_VERSION, NULL, NULL, NULL }

/* ---- Timestamp extractors (Kafka's TimestampExtractor) ---- */

/** Gives the timestamp of a consumed record before it enters the topology.
 *  `record` is the consumed record (borrowed for the call); partition_time
 *  is the highest valid timestamp extracted so far from the record's
 *  partition, -1 when none yet. Sets *out: a negative timestamp makes the
 *  runtime drop the record with a warning (Kafka's "Skipping record due to
 *  negative extracted timestamp"). Returning an error (with a message in
 *  errstr) fails the task. */
typedef rv_err_t rv_timestamp_extractor_cb_t(int64_t *out, const rv_record_t *record,
                                             int64_t partition_time, void *opaque, char *errstr,
                                             size_t errstr_size);

/** The record's own timestamp; a negative one is an error ("Input record
 *  ... has invalid (negative) timestamp. ..."), as Kafka's
 *  FailOnInvalidTimestamp, the default extractor. */
RV_EXTERN rv_err_t rv_timestamp_extractor_fail_on_invalid(int64_t *out, const rv_record_t *record,
                                                          int64_t partition_time, void *opaque,
                                                          char *errstr, size_t errstr_size);

/** The record's own timestamp; a negative one is logged and returned, so
 *  the record is dropped (LogAndSkipOnInvalidTimestamp). */
RV_EXTERN rv_err_t rv_timestamp_extractor_log_and_skip_on_invalid(int64_t *out,
                                                                  const rv_record_t *record,
                                                                  int64_t partition_time,
                                                                  void *opaque, char *errstr,
                                                                  size_t errstr_size);

/** The record's own timestamp; a negative one is replaced by
 *  partition_time, an error when that is unknown
 *  (UsePartitionTimeOnInvalidTimestamp). */
RV_EXTERN rv_err_t rv_timestamp_extractor_use_partition_time_on_invalid(int64_t *out,
                                                                        const rv_record_t *record,
                                                                        int64_t partition_time,
                                                                        void *opaque, char *errstr,
                                                                        size_t errstr_size);

/** The current wall-clock time, whatever the record says
 *  (WallclockTimestampExtractor). */
RV_EXTERN rv_err_t rv_timestamp_extractor_wallclock(int64_t *out, const rv_record_t *record,
                                                    int64_t partition_time, void *opaque,
                                                    char *errstr, size_t errstr_size);

/* ---- The processor context (Kafka's api.ProcessorContext) ---- */

/** Forwards `record` to every child of the processor, one after the other
 *  in the order they were added; each child runs (and forwards further)
 *  before forward returns, depth-first, as Kafka does. `record` is
 *  borrowed for the call. Returns the first child's error (the task then
 *  fails), RV_ERR__STATE when called outside a callback of the task. */
RV_EXTERN rv_err_t rv_processor_context_forward(rv_processor_context_t *ctx,
                                                const rv_processor_record_t *record);

/** Forwards `record` to the child named `child` only. RV_ERR__INVALID_ARG
 *  when the processor has no such child; rv_processor_context_last_error()
 *  then says "Unknown downstream node: X either does not exist or is not
 *  connected to this processor." */
RV_EXTERN rv_err_t rv_processor_context_forward_to(rv_processor_context_t *ctx,
                                                   const rv_processor_record_t *record,
                                                   const char *child);

/** The task's store `name`, which must be connected to this processor
 *  (rv_topology_add_state_store() or
 *  rv_topology_connect_processor_and_state_stores()). Borrowed: valid until
 *  the processor's close() returns; the processor must not destroy it. NULL
 *  when the store is unknown or not connected (the last error says which,
 *  in Kafka's words: "Processor X has no access to StateStore S as the
 *  store is not connected to the processor. ..."). */
RV_EXTERN rv_kv_store_t *rv_processor_context_get_state_store(rv_processor_context_t *ctx,
                                                              const char *name);

/** What drives a punctuator (Kafka's PunctuationType). */
typedef enum rv_punctuation_type_e {
    /** Stream time: the schedule is aligned to 0 and fires when processing
     *  a record moves stream time to or past the next due time, with the
     *  current stream time; missed intervals collapse into one call. */
    RV_PUNCTUATION_TYPE_STREAM_TIME = 0,
    /** Wall-clock time: first due at now + interval, then on that grid;
     *  fires with the current system time; missed intervals are skipped. */
    RV_PUNCTUATION_TYPE_WALL_CLOCK_TIME = 1
} rv_punctuation_type_t;

/** A scheduled punctuator (Kafka's Cancellable). Owned by the task. */
typedef struct rv_cancellable_s rv_cancellable_t;

/** A punctuator (Kafka's Punctuator.punctuate(timestamp)). `timestamp` is
 *  the current stream time or system time. Inside a punctuator there is no
 *  current record: rv_processor_context_record_metadata() returns 0, the
 *  record timestamp is `timestamp` and there are no headers. A non-zero
 *  return fails the task. */
typedef rv_err_t rv_punctuator_cb_t(rv_processor_context_t *ctx, int64_t timestamp, void *opaque);

/** Schedules punctuator(ctx, time, opaque) every interval_ms milliseconds
 *  of `type` time (Kafka's schedule(Duration, PunctuationType,
 *  Punctuator)). Legal from init, process, punctuators. *out (may be NULL)
 *  receives the handle: borrowed, valid until the task closes.
 *  RV_ERR__INVALID_ARG when interval_ms < 1 ("The minimum supported
 *  scheduling interval is 1 millisecond."). */
RV_EXTERN rv_err_t rv_processor_context_schedule(rv_cancellable_t **out,
                                                 rv_processor_context_t *ctx, int64_t interval_ms,
                                                 rv_punctuation_type_t type,
                                                 rv_punctuator_cb_t *punctuator, void *opaque);

/** Cancels a punctuator: it never fires again, also when cancelled from its
 *  own call. Cancelling twice, or NULL, does nothing. */
RV_EXTERN void rv_cancellable_cancel(rv_cancellable_t *c);

/** The metadata of the input record being processed (Kafka's
 *  recordMetadata()): returns 1 and fills the non-NULL out-parameters
 *  (*topic borrowed until the record is processed), or returns 0 when
 *  there is none (in init, a punctuator or close). */
RV_EXTERN int rv_processor_context_record_metadata(const rv_processor_context_t *ctx,
                                                   const char **topic, int32_t *partition,
                                                   int64_t *offset);

/** The timestamp of the record being processed (as forwarded to this
 *  processor), or the punctuation time inside a punctuator; -1 in init. */
RV_EXTERN int64_t rv_processor_context_timestamp(const rv_processor_context_t *ctx);

/** The headers of the record being processed (as forwarded to this
 *  processor): *cnt of them. Borrowed: valid until the record is
 *  processed. NULL with *cnt 0 when none. */
RV_EXTERN const rv_header_t *rv_processor_context_headers(const rv_processor_context_t *ctx,
                                                          size_t *cnt);

/** The task id, "<sub-topology>_<partition>" ("0_1"). Borrowed: valid
 *  until close() returns. */
RV_EXTERN const char *rv_processor_context_task_id(const rv_processor_context_t *ctx);

/** The application.id. Borrowed: valid until close() returns. */
RV_EXTERN const char *rv_processor_context_application_id(const rv_processor_context_t *ctx);

/** The app's configuration (Kafka's appConfigs()). Borrowed: valid until
 *  close() returns. */
RV_EXTERN const rv_conf_t *rv_processor_context_app_configs(const rv_processor_context_t *ctx);

/** The task's stream time: the highest timestamp processed so far, never
 *  going back; -1 before the first record (Kafka's
 *  currentStreamTimeMs()). */
RV_EXTERN int64_t rv_processor_context_current_stream_time_ms(const rv_processor_context_t *ctx);

/** The current system time in milliseconds (Kafka's currentSystemTimeMs()):
 *  the wall clock, or the test driver's mocked clock. */
RV_EXTERN int64_t rv_processor_context_current_system_time_ms(const rv_processor_context_t *ctx);

/** Asks the runtime to commit the task as soon as possible (Kafka's
 *  commit(): a request, not a commit now). */
RV_EXTERN void rv_processor_context_commit(rv_processor_context_t *ctx);

/** The message of the last context call of this task that failed, "" when
 *  none. Borrowed: valid until the next context call. */
RV_EXTERN const char *rv_processor_context_last_error(const rv_processor_context_t *ctx);

RV_END_DECLS

#endif
