/* runtime/task.h: a stream task, one sub-topology on one partition number
 * (runtime/task.c), and the processor context it hands its processors
 * (runtime/context.c; the public side is rivulet/processor.h).
 *
 * A task does not know where its records come from or where they go: the
 * owner (a stream thread, or the test driver) adds consumed records with
 * rv__task_add_record(), calls rv__task_process() and the punctuation
 * functions, and gives the task a record collector that sends what sinks
 * and changelogs write (to a producer, or into the driver's captured
 * output). The owner also decides when to commit.
 *
 * Lifecycle: rv__task_new() instantiates the processors and opens the
 * stores; the owner may then restore the stores from their changelogs
 * (rv__task_store() + rv__store_restore_batch()); rv__task_init() calls the
 * processors' init() in topological order; then records flow;
 * rv__task_close() closes the processors and the stores; rv__task_destroy()
 * frees it.
 *
 * Threads: not thread-safe; one stream thread owns a task and calls every
 * function, and the processors' callbacks run on that thread. */
#ifndef RV_RUNTIME_TASK_H
#define RV_RUNTIME_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivulet/conf.h"
#include "rivulet/processor.h"
#include "rivulet/record.h"
#include "rivulet/topology.h"
#include "state/state_dir.h"

typedef struct rv__task_s rv__task_t;

/** Where a task's output goes. Every function receives `opaque`; keys,
 *  values and headers are borrowed for the call. */
typedef struct rv__record_collector_s {
    /** Sends one serialized record to topic/partition; partition
     *  RV_PARTITION_ANY lets the producer's default partitioner choose from
     *  the key bytes. An error fails the task (Kafka's default production
     *  exception handler), with a message in errstr. */
    rv_err_t (*send)(void *opaque, const char *topic, int32_t partition, const void *key,
                     int32_t key_len, const void *value, int32_t value_len, int64_t timestamp,
                     const rv_header_t *headers, size_t header_cnt, char *errstr,
                     size_t errstr_size);
    /** The partition count of `topic`, for sinks with a stream partitioner;
     *  <= 0 when unknown (the send fails). */
    int32_t (*partition_count)(void *opaque, const char *topic);
    /** Waits until every record sent so far is acknowledged. */
    rv_err_t (*flush)(void *opaque, char *errstr, size_t errstr_size);
    /** The offset of the last acknowledged record this collector sent to
     *  topic/partition, -1 when none (the changelog offsets a checkpoint
     *  records). */
    int64_t (*last_offset)(void *opaque, const char *topic, int32_t partition);
    void *opaque;
} rv__record_collector_t;

/** The time source of a task: milliseconds since the epoch. NULL in the
 *  options = the wall clock. */
typedef int64_t (*rv__task_clock_fn)(void *opaque);

typedef struct rv__task_opts_s {
    const rv_topology_t *topology; /* built; borrowed for the task's life */
    int subtopology;               /* a non-global sub-topology id */
    int32_t partition;
    const rv_conf_t *conf; /* application.id etc.; borrowed for the task's life */
    /* The app's state folder (borrowed). The task locks its task folder
     * there while it is open. May be NULL only when the sub-topology has no
     * store. */
    rv__state_dir_t *state_dir;
    rv__record_collector_t collector; /* copied */
    rv__task_clock_fn clock;
    void *clock_opaque;
    /* Finds a global store by name for the task's processors (every
     * processor may read a global store without being connected to it);
     * NULL when the app has none. The global stores themselves belong to
     * the task of their global sub-topology. */
    rv_kv_store_t *(*global_store)(void *opaque, const char *name);
    void *global_store_opaque;
} rv__task_opts_t;

/** Creates the task: checks the configuration, gets one processor instance
 *  per processor node from its supplier, locks the task folder and opens
 *  the sub-topology's stores there (wrapped with changelog and cache as
 *  their builders say). A global store's sub-topology makes the task
 *  "global" (its folder is state.dir/<application.id>/global), which keeps
 *  the global stores and runs their processors on the records of the
 *  global topics. Caller owns *out; free with rv__task_destroy().
 *  On error nothing is left open and errstr says what failed. */
rv_err_t rv__task_new(rv__task_t **out, const rv__task_opts_t *opts, char *errstr,
                      size_t errstr_size);

/** Calls init() of every processor, parents before children. A failing
 *  init fails the task. */
rv_err_t rv__task_init(rv__task_t *task, char *errstr, size_t errstr_size);

/** Restores what a commit of topic/partition left in its metadata
 *  (Kafka's StreamTask.initializeTaskTime and initializeMetadata): the
 *  partition's partition time, the task's stream time (the highest
 *  partition time) and the processor metadata (merged, the higher value of
 *  a key wins). Call before rv__task_init(). metadata NULL or empty: no
 *  effect. Metadata that does not decode is logged and ignored, as Kafka
 *  does. Returns RV_ERR__NOMEM only. */
rv_err_t rv__task_restore_metadata(rv__task_t *task, const char *topic, int32_t partition,
                                   const char *metadata);

/** Processor metadata (Kafka's ProcessorMetadata): per-task key/value
 *  pairs committed with the input offsets' metadata. get: 1 and *out when
 *  key is known, else 0. put: copies key; RV_ERR__NOMEM on failure. */
int rv__task_processor_metadata_get(const rv__task_t *task, const char *key, int64_t *out);
rv_err_t rv__task_processor_metadata_put(rv__task_t *task, const char *key, int64_t value);

/** The task id "<sub-topology>_<partition>". Borrowed. */
const char *rv__task_id(const rv__task_t *task);

/** The task's partition number and sub-topology id. */
int32_t rv__task_partition(const rv__task_t *task);
int rv__task_subtopology(const rv__task_t *task);

/** Number of stores of the task's sub-topology (0 after close). */
size_t rv__task_store_count(const rv__task_t *task);

/** What an owner needs to restore one store of the task. */
typedef struct rv__task_store_info_s {
    const char *name;          /* the store's name; borrowed */
    rv_kv_store_t *store;      /* outermost layer; borrowed until close */
    const char *changelog;     /* changelog topic, NULL when not logged; borrowed */
    bool persistent;           /* keeps its data on disk between runs */
    int64_t checkpoint_offset; /* changelog offset of the last checkpoint, -1 none */
} rv__task_store_info_t;

/** Fills *out for store i (< rv__task_store_count()). */
void rv__task_store_info(const rv__task_t *task, size_t i, rv__task_store_info_t *out);

/** The task's store `name` (outermost layer of its stack), NULL when the
 *  sub-topology has none by that name. Borrowed: valid until close. */
rv_kv_store_t *rv__task_store(const rv__task_t *task, const char *name);

/** The changelog topic of store `name` ("<application.id>-<name>-changelog")
 *  when it is logged, else NULL. Borrowed. */
const char *rv__task_changelog_topic(const rv__task_t *task, const char *name);

/** Adds one consumed record of topic/partition to the task's queue of that
 *  partition. `topic` is the broker's name (internal topics prefixed). The
 *  record is copied, deserialized with its source's deserializers and its
 *  timestamp extracted now, as Kafka's RecordQueue does when a record
 *  reaches the head. A record that does not deserialize is skipped with a
 *  warning (LogAndContinueExceptionHandler) or fails the task
 *  (LogAndFailExceptionHandler, the default); a negative extracted
 *  timestamp drops the record with a warning; an extractor error fails the
 *  task. RV_ERR__INVALID_ARG when no source of the sub-topology reads
 *  `topic`. */
rv_err_t rv__task_add_record(rv__task_t *task, const char *topic, int32_t partition, int64_t offset,
                             int64_t timestamp, const void *key, int32_t key_len, const void *value,
                             int32_t value_len, const rv_header_t *headers, size_t header_cnt,
                             char *errstr, size_t errstr_size);

/** As rv__task_add_record() for a record a consumer returned. */
rv_err_t rv__task_add_consumed(rv__task_t *task, const rv_record_t *record, char *errstr,
                               size_t errstr_size);

/** A consumer's container whose records several tasks queue without
 *  copying them (rv__task_add_shared()): the container lives until its
 *  owner dropped its reference and every record queued from it was
 *  processed or dropped. The count is not atomic: the owner and the tasks
 *  run on one thread. */
typedef struct rv__shared_records_s rv__shared_records_t;

/** Wraps rs with one reference for the caller. Takes ownership of rs on
 *  success; NULL when out of memory (rs stays the caller's). */
rv__shared_records_t *rv__shared_records_new(rv_records_t *rs);
/** The wrapped container. Borrowed: valid while a reference is held. */
const rv_records_t *rv__shared_records_get(const rv__shared_records_t *sr);
/** Drops one reference; the last one destroys the container. NULL does
 *  nothing. */
void rv__shared_records_unref(rv__shared_records_t *sr);

/** As rv__task_add_consumed() for record i of sr, without copying it: the
 *  queued record takes a reference on sr and reads the consumer's bytes
 *  until it is processed. Deserializers and the extractor see the same
 *  bytes and rv_record_t as with rv__task_add_consumed(). */
rv_err_t rv__task_add_shared(rv__task_t *task, rv__shared_records_t *sr, size_t i, char *errstr,
                             size_t errstr_size);

/** Number of records queued and not yet processed. */
size_t rv__task_queued(const rv__task_t *task);

/** Makes the queue of input partition topic/partition before its first
 *  record arrives, so rv__task_ready() knows the partition is empty.
 *  Known partitions are left as they are. RV_ERR__INVALID_ARG when no
 *  source of the sub-topology reads `topic`; RV_ERR__NOMEM. */
rv_err_t rv__task_add_input(rv__task_t *task, const char *topic, int32_t partition);

/** The lag of an input partition as of the owner's last fetch: how many
 *  offsets the broker holds past the consumer's position; -1 unknown. */
typedef int64_t(rv__task_lag_fn)(const char *topic, int32_t partition, void *opaque);

/** Kafka's PartitionGroup.readyToProcess (KIP-695): 1 when the task may
 *  process its next record at wall-clock time now_ms. max_idle_ms is
 *  max.task.idle.ms: -1 processes whenever a record is queued. Otherwise
 *  every empty input partition must be known to be caught up (lag(...) 0;
 *  unknown or positive lag: wait for the fetch) and must have been so for
 *  max_idle_ms (timed from the first time it was seen empty and caught
 *  up); then the task processes the other partitions' records without it
 *  (enforced processing). 0 when nothing is queued. The lag of a
 *  partition is asked once per `epoch` (the owner's poll count: as
 *  Kafka's fetchedLags, it only changes with a poll). */
int rv__task_ready(rv__task_t *task, int64_t now_ms, int64_t max_idle_ms, uint64_t epoch,
                   rv__task_lag_fn *lag, void *opaque);

/** The task's input partitions, in the order their queues were made (the
 *  owner reads topic, partition, head/cnt and keeps `paused`). i <
 *  rv__task_input_count(). Borrowed. */
size_t rv__task_input_count(const rv__task_t *task);
struct rv__queue_s *rv__task_input(rv__task_t *task, size_t i);

/** Processes the queued record with the smallest timestamp across the
 *  task's partitions (the earliest partition on a tie): moves stream time,
 *  runs the record through the sub-topology depth-first. *processed is 1
 *  when a record was processed, 0 when the queues are empty. A processor,
 *  serializer or collector error fails the task. */
rv_err_t rv__task_process(rv__task_t *task, int *processed, char *errstr, size_t errstr_size);

/** Fires the stream-time punctuators that are due at the current stream
 *  time (none before the first record). *punctuated (may be NULL) is 1 when
 *  one fired. */
rv_err_t rv__task_punctuate_stream_time(rv__task_t *task, int *punctuated, char *errstr,
                                        size_t errstr_size);
/** Fires the wall-clock punctuators due at `now_ms`. */
rv_err_t rv__task_punctuate_wall_clock(rv__task_t *task, int64_t now_ms, int *punctuated,
                                       char *errstr, size_t errstr_size);

/** The task's stream time; -1 before the first record. */
int64_t rv__task_stream_time(const rv__task_t *task);

/** 1 when a processor asked for a commit since the last one. */
int rv__task_commit_requested(const rv__task_t *task);

/** The next offset to commit of one input partition. */
typedef struct rv__task_offset_s {
    const char *topic; /* borrowed from the task */
    int32_t partition;
    int64_t offset; /* the offset after the last record processed */
    /* The commit metadata, Kafka's TopicPartitionMetadata encoding
     * (base64 of [version 2][8-byte partition time][processor metadata]);
     * NULL when the partition time is unknown. Borrowed from the task,
     * valid until its next commit. */
    const char *metadata;
} rv__task_offset_t;

/** Commits the task's state: flushes the caches (writing through the
 *  changelog) and the stores, flushes the collector, and writes the task's
 *  checkpoint file of changelog offsets for its persistent logged stores -
 *  always when `enforce_checkpoint`, else when some changelog moved by more
 *  than 10000 records since the last checkpoint (Kafka's
 *  OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT under at_least_once). *offsets
 *  (may be NULL) receives the input offsets to commit: *cnt entries,
 *  borrowed until the next call on the task. Clears the commit request. */
rv_err_t rv__task_commit(rv__task_t *task, bool enforce_checkpoint,
                         const rv__task_offset_t **offsets, size_t *cnt, char *errstr,
                         size_t errstr_size);

/** 1 once the task failed; rv__task_last_error() says why. Every later
 *  processing call returns RV_ERR__STATE. */
int rv__task_failed(const rv__task_t *task);
const char *rv__task_last_error(const rv__task_t *task);

/** Closes the task: when `clean`, commits first (with a checkpoint); then
 *  closes every processor (parents first, while the stores are still
 *  open), then the stores, then releases the task folder. Idempotent. */
rv_err_t rv__task_close(rv__task_t *task, bool clean, char *errstr, size_t errstr_size);

/** Closes (not clean, when still open) and frees the task. NULL does
 *  nothing. */
void rv__task_destroy(rv__task_t *task);

/* ---- Shared with runtime/context.c ---- */

/** Forwards record from node index `from` of the task to its children (all
 *  when child is NULL). */
rv_err_t rv__task_forward(rv__task_t *task, size_t from, const rv_processor_record_t *record,
                          const char *child);

/* ---- Private layout, shared by runtime/task.c and runtime/context.c ---- */

#include "runtime/topology_internal.h"

/* A scheduled punctuator. Kept until the task is destroyed, so a handle
 * stays valid to cancel after it stopped firing. */
struct rv_cancellable_s {
    rv__task_t *task;
    size_t node; /* task node index of the processor that scheduled it */
    int64_t interval;
    rv_punctuation_type_t type;
    rv_punctuator_cb_t *cb;
    void *opaque;
    int64_t next; /* Kafka's PunctuationSchedule.timestamp: next due time */
    uint64_t seq; /* queue order among equal due times */
    bool cancelled;
};

/* One context per processor instance: forward() knows its node. */
struct rv_processor_context_s {
    rv__task_t *task;
    size_t node;
};

typedef struct rv__task_node_s {
    const rv__tnode_t *tn;
    rv_processor_t proc; /* processors only */
    bool got, inited;
    size_t *children; /* task node indices, in the topology's child order */
    size_t child_cnt;
    rv_processor_context_t ctx;
    const rv_serde_t *key_serde, *value_serde; /* sources: deser; sinks: ser */
    rv_timestamp_extractor_cb_t *extractor;    /* sources */
    void *extractor_opaque;
    /* Sinks without a topic name extractor: the broker's topic name,
     * resolved once; sink_topic_ok false when it does not fit. */
    char sink_topic[512];
    bool sink_topic_ok;
} rv__task_node_t;

typedef struct rv__task_store_s {
    const rv__tstore_t *ts;
    rv_kv_store_t *store; /* outermost layer; owns the stack */
    char *changelog;      /* "<app>-<store>-changelog" when logged */
    bool cached, persistent;
    int64_t ckpt_offset; /* changelog offset in the last checkpoint, -1 none */
} rv__task_store_t;

/* The context of the record being processed (Kafka's ProcessorRecordContext). */
typedef struct rv__rec_ctx_s {
    bool has_meta; /* false in init, punctuators and close */
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    const rv_header_t *headers;
    size_t header_cnt;
} rv__rec_ctx_t;

/* A queued input record, deserialized, with its timestamp. raw is the
 * record as consumed: in a container shared with the consumer's other
 * records (rv__task_add_shared()), or in a private one-record copy (own,
 * rv__task_add_record()), so the extractor always sees a real rv_record_t.
 * The bytes serde deserializes to the record's own bytes (borrowed). */
typedef struct rv__qrec_s {
    const rv_record_t *raw;
    rv_records_t *own;
    rv__shared_records_t *shared;
    int64_t ts;
    void *key, *value; /* as the source's deserializers made them */
    int32_t key_len, value_len;
    bool key_borrowed, value_borrowed; /* point into raw: not freed */
    int64_t next_offset;               /* committable offset once processed */
} rv__qrec_t;

/* The queue of one input partition (Kafka's RecordQueue). */
typedef struct rv__queue_s {
    char *topic;
    int32_t partition;
    size_t source; /* task node index of the source reading it */
    rv__qrec_t *v;
    size_t head, cnt, cap;
    int64_t partition_time; /* highest valid extracted timestamp, -1 none */
    int64_t committable;    /* next offset to commit, -1 none yet */
    bool idling;            /* empty with zero lag since idle_deadline - max.task.idle.ms */
    int64_t idle_deadline;  /* wall-clock ms: process without it from then on */
    int64_t lag;            /* the owner's lag, as of poll lag_epoch */
    uint64_t lag_epoch;
    bool paused; /* the owner paused the partition (buffered.records.per.partition) */
} rv__queue_t;

struct rv__task_s {
    const rv_topology_t *topo;
    const rv__subtopology_t *st;
    int32_t partition;
    char id[32];
    const rv_conf_t *conf;
    const char *app_id;
    rv__state_dir_t *sd;
    char *task_dir;
    bool locked;
    rv__record_collector_t coll;
    rv__task_clock_fn clock;
    void *clock_opaque;
    rv_kv_store_t *(*global_store)(void *opaque, const char *name);
    void *global_store_opaque;
    bool deser_continue; /* LogAndContinueExceptionHandler */
    bool enforcing;      /* processing without an empty partition (max.task.idle.ms) */

    rv__task_node_t *nodes; /* the sub-topology's nodes, topological order */
    size_t node_cnt;
    size_t *node_map; /* topology node id -> task node index, SIZE_MAX none */

    rv__task_store_t *stores;
    size_t store_cnt;
    void *store_slots; /* the changelog callbacks' opaques, one per store */

    rv__queue_t *queues;
    size_t queue_cnt;
    size_t queued;              /* records queued over all queues */
    rv__task_offset_t *offsets; /* rv__task_commit()'s answer */
    char **offset_meta;         /* the answer's metadata strings, owned */
    size_t offset_meta_cnt;

    struct rv__pmeta_s {
        char *key;
        int64_t value;
    } * pmeta; /* processor metadata */
    size_t pmeta_cnt;

    rv_cancellable_t **puncts;
    size_t punct_cnt, punct_cap;
    uint64_t punct_seq;

    int64_t stream_time;
    rv__rec_ctx_t rc;
    bool commit_requested, inited, closed, failed;
    char err[3072];     /* why the task failed */
    char ctx_err[2048]; /* the last failed context call */
};

#endif
