/* rivulet/dsl.h: the Streams DSL, Kafka Streams' StreamsBuilder, KStream,
 * KTable, GlobalKTable, KGroupedStream, KGroupedTable and
 * BranchedKStream.
 *
 * A builder collects operators and compiles them into a topology of the
 * Processor API (rivulet/topology.h); rv_streams_builder_build() hands that
 * topology over, to run with rv_streams_new() or the test driver. Every
 * operator is a processor node of that topology: there is no second engine.
 *
 *   rv_streams_builder_t *b = rv_streams_builder_new();
 *   rv_kstream_t *lines = rv_streams_builder_stream(b, topics, 1, NULL);
 *   rv_kstream_t *longv = rv_kstream_filter(lines, longer_than_5, NULL, NULL);
 *   rv_kstream_to(longv, "stream_log_filter", NULL);
 *   rv_topology_t *topo;
 *   if (rv_streams_builder_build(&topo, b, errstr, sizeof errstr)) ...
 *
 * Handles. rv_kstream_t, rv_ktable_t, rv_global_ktable_t,
 * rv_kgrouped_stream_t, rv_kgrouped_table_t and rv_branched_kstream_t are
 * owned by their builder: borrowed, valid until rv_streams_builder_destroy(),
 * never freed one by one. A handle may be used several times (two
 * operators on the same stream make two children, as in Kafka).
 *
 * Errors. An operator that fails (an invalid argument, a name in use, out
 * of memory) returns NULL and the builder keeps the first error; an
 * operator given a NULL handle returns NULL at once. So a chain of calls
 * needs one check, at rv_streams_builder_build(), which fails with the
 * first error and its message (Kafka's TopologyException text where Kafka
 * has one). rv_streams_builder_last_error() tells it earlier.
 *
 * Names. Generated processor, store and topic names are Kafka Streams'
 * (KSTREAM-SOURCE-0000000000, KSTREAM-FILTER-0000000001,
 * KSTREAM-AGGREGATE-STATE-STORE-0000000003, <name>-repartition, ...), from
 * one counter per builder that every operator advances as Kafka's does, so
 * rv_topology_describe() prints what Kafka Streams prints for the same
 * program. A `name` argument (Kafka's Named) or the name in an option
 * struct wins over the generated one; NULL means generate.
 *
 * Keys and values. Records flow as in the Processor API: a key or value is
 * `const void *` plus an int32_t length, as the stream's deserializer made
 * it (bytes: the bytes; string: a NUL-terminated string and its strlen;
 * int64: a pointer to an int64_t, length 8; ...). NULL with length -1 is
 * null. Each stream and table knows its key and value serdes: those of its
 * source (rv_consumed_t), kept by operators that keep the type (filter,
 * peek, merge, ...) and dropped by operators that may change it (map_values
 * drops the value serde, select_key the key serde, ...), as Kafka's. Where a
 * serde is needed and unknown (repartition topics, stores, sinks) the one in
 * the option struct wins, else the app's default.key.serde /
 * default.value.serde.
 *
 * User functions. Callbacks get the key and value borrowed for the call,
 * and their `opaque`, which the caller owns and must keep valid until the
 * topology is destroyed. Functions that produce keys or values write them
 * to an rv_out_t (see below). A callback returning non-zero fails the task
 * (Kafka: an exception thrown from user code). Callbacks run on stream
 * threads, several at once for different tasks: they must be thread-safe
 * for that (pure functions are).
 *
 * Semantics are Kafka Streams': a KTable filtered-out update becomes a
 * tombstone downstream; stateful operators and joins drop records with a
 * null key (and joins null values) with a warning; a key-changing operator
 * (map, select_key, flat_map, group_by, process) followed by a join or an
 * aggregation inserts a repartition topic "<app>-<name>-repartition";
 * table-table joins and aggregations emit on every update (or on cache
 * flush, with caching on: Materialized's default, collapsed per key between
 * commits as Kafka's record cache does). See docs/DSL.md.
 *
 * Not thread-safe: build a topology from one thread. */
#ifndef RIVULET_DSL_H
#define RIVULET_DSL_H

#include "common.h"
#include "error.h"
#include "processor.h"
#include "serde.h"
#include "store.h"
#include "topology.h"

RV_BEGIN_DECLS

typedef struct rv_streams_builder_s rv_streams_builder_t;
typedef struct rv_kstream_s rv_kstream_t;
typedef struct rv_ktable_s rv_ktable_t;
typedef struct rv_global_ktable_s rv_global_ktable_t;
typedef struct rv_kgrouped_stream_s rv_kgrouped_stream_t;
typedef struct rv_kgrouped_table_s rv_kgrouped_table_t;
typedef struct rv_branched_kstream_s rv_branched_kstream_t;

/* ---- Results of user functions ---- */

/** Where a user function writes what it returns (Kafka: the returned
 *  object). Owned by the runtime; valid for the call only. */
typedef struct rv_out_s rv_out_t;

/** Sets the returned value (map_values, KTable map_values, joiners,
 *  aggregators, reducers, initializers), or for map and KTable group_by the
 *  pair's value. `data` is copied (a NUL byte is added after it, so a
 *  string stays a C string); len -1 with non-NULL data means strlen(data);
 *  NULL with -1 is null. Called again, the last call wins, except in
 *  flat_map_values, where each call adds one more value, in order. Not
 *  calling it returns null. RV_ERR__NOMEM, or RV_ERR__STATE when the
 *  operator returns no value (select_key, group_by on a stream, the key
 *  selector of a global-table join). */
RV_EXTERN rv_err_t rv_out_value(rv_out_t *out, const void *data, int32_t len);

/** Sets the returned key (select_key, group_by on a stream, the key
 *  selector of a global-table join), or for map and KTable group_by the
 *  pair's key. Copied as rv_out_value(); the last call wins.
 *  RV_ERR__STATE when the operator returns no key. */
RV_EXTERN rv_err_t rv_out_key(rv_out_t *out, const void *data, int32_t len);

/** Adds one key-value pair to what flat_map returns, in order; both
 *  copied as rv_out_value(). RV_ERR__STATE in other operators. */
RV_EXTERN rv_err_t rv_out_pair(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                               int32_t value_len);

/* ---- User functions (Kafka's functional interfaces) ---- */

/** Predicate (filter, filter_not, split branches): 1 = true, 0 = false, a
 *  negative rv_err_t fails the task. */
typedef int rv_predicate_cb_t(const void *key, int32_t key_len, const void *value,
                              int32_t value_len, void *opaque);

/** Every mapper (Kafka's KeyValueMapper, ValueMapperWithKey): reads key
 *  and value, writes its result to `out` with rv_out_key(), rv_out_value()
 *  or rv_out_pair() as the operator's doc says. */
typedef rv_err_t rv_mapper_cb_t(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                                int32_t value_len, void *opaque);

/** An action (peek, foreach: Kafka's ForeachAction). */
typedef rv_err_t rv_foreach_cb_t(const void *key, int32_t key_len, const void *value,
                                 int32_t value_len, void *opaque);

/** A value joiner (Kafka's ValueJoinerWithKey): the record's key, the
 *  left and the right value (either NULL with -1 where a left or outer
 *  join has no match); writes the result with rv_out_value(). */
typedef rv_err_t rv_value_joiner_cb_t(rv_out_t *out, const void *key, int32_t key_len,
                                      const void *left, int32_t left_len, const void *right,
                                      int32_t right_len, void *opaque);

/** An initializer: writes the initial aggregate with rv_out_value(). */
typedef rv_err_t rv_initializer_cb_t(rv_out_t *out, void *opaque);

/** An aggregator (Kafka's Aggregator: adder or subtractor): the key, the
 *  record's value and the current aggregate; writes the new aggregate with
 *  rv_out_value(). */
typedef rv_err_t rv_aggregator_cb_t(rv_out_t *out, const void *key, int32_t key_len,
                                    const void *value, int32_t value_len, const void *aggregate,
                                    int32_t aggregate_len, void *opaque);

/** A reducer (Kafka's Reducer: adder or subtractor): the current aggregate
 *  and the record's value; writes the new aggregate with rv_out_value(). */
typedef rv_err_t rv_reducer_cb_t(rv_out_t *out, const void *aggregate, int32_t aggregate_len,
                                 const void *value, int32_t value_len, void *opaque);

/* ---- Option structs (Kafka's Consumed, Produced, Grouped, Joined,
 *      Materialized, Repartitioned). All borrowed by the call; serdes,
 *      extractors, partitioners and opaques they point to must stay valid
 *      until the topology is destroyed. NULL means all defaults. ---- */

#define RV_CONSUMED_VERSION 1
typedef struct rv_consumed_s {
    int version;                                      /**< RV_CONSUMED_VERSION */
    const rv_serde_t *key_serde;                      /**< NULL = default.key.serde */
    const rv_serde_t *value_serde;                    /**< NULL = default.value.serde */
    rv_timestamp_extractor_cb_t *timestamp_extractor; /**< NULL = the app's default */
    void *timestamp_extractor_opaque;
    rv_auto_offset_reset_t offset_reset;
    const char *name; /**< the source processor's name (Consumed.as) */
} rv_consumed_t;
#define RV_CONSUMED_INIT \
    { RV_CONSUMED_VERSION, NULL, NULL, NULL, NULL, RV_AUTO_OFFSET_RESET_DEFAULT, NULL }

#define RV_PRODUCED_VERSION 1
typedef struct rv_produced_s {
    int version;                             /**< RV_PRODUCED_VERSION */
    const rv_serde_t *key_serde;             /**< NULL = the stream's, else default.key.serde */
    const rv_serde_t *value_serde;           /**< NULL = the stream's, else default.value.serde */
    rv_stream_partitioner_cb_t *partitioner; /**< NULL = the producer's default */
    void *partitioner_opaque;
    const char *name; /**< the sink's name (Produced.as) */
} rv_produced_t;
#define RV_PRODUCED_INIT \
    { RV_PRODUCED_VERSION, NULL, NULL, NULL, NULL, NULL }

#define RV_GROUPED_VERSION 1
typedef struct rv_grouped_s {
    int version;                   /**< RV_GROUPED_VERSION */
    const rv_serde_t *key_serde;   /**< NULL = the stream's, else the default */
    const rv_serde_t *value_serde; /**< NULL = the stream's, else the default */
    /** Names the repartition topic ("<app>-<name>-repartition") and its
     *  nodes (Grouped.as). */
    const char *name;
} rv_grouped_t;
#define RV_GROUPED_INIT \
    { RV_GROUPED_VERSION, NULL, NULL, NULL }

#define RV_JOINED_VERSION 1
typedef struct rv_joined_s {
    int version;                         /**< RV_JOINED_VERSION */
    const rv_serde_t *key_serde;         /**< for a repartition topic */
    const rv_serde_t *value_serde;       /**< the stream's values */
    const rv_serde_t *other_value_serde; /**< the table's values */
    /** Names the join processor and a repartition topic (Joined.as). */
    const char *name;
} rv_joined_t;
#define RV_JOINED_INIT \
    { RV_JOINED_VERSION, NULL, NULL, NULL, NULL }

/** Which store a Materialized makes. DEFAULT is RocksDB, as Kafka's
 *  default.dsl.store. */
typedef enum rv_store_type_e {
    RV_STORE_TYPE_DEFAULT = 0,
    RV_STORE_TYPE_ROCKSDB = 1,
    RV_STORE_TYPE_IN_MEMORY = 2
} rv_store_type_t;

#define RV_MATERIALIZED_VERSION 1
typedef struct rv_materialized_s {
    int version; /**< RV_MATERIALIZED_VERSION */
    /** The store's name (Materialized.as): makes the table queryable and
     *  names its changelog "<app>-<name>-changelog". NULL = generated. */
    const char *store_name;
    rv_store_type_t store_type;
    const rv_serde_t *key_serde;   /**< NULL = the input's, else the default */
    const rv_serde_t *value_serde; /**< NULL = the input's (int64 for count), else the default */
    int caching_disabled;          /**< Kafka's default: caching on */
    int logging_disabled;          /**< Kafka's default: logging on */
    /** Topic configs of the changelog: logging_config_cnt name/value pairs
     *  as {name0, value0, name1, value1, ...}. */
    const char *const *logging_config;
    size_t logging_config_cnt;
    /** Window and session stores only: how long to keep windows; 0 =
     *  window size + grace, as Kafka. */
    int64_t retention_ms;
} rv_materialized_t;
#define RV_MATERIALIZED_INIT \
    { RV_MATERIALIZED_VERSION, NULL, RV_STORE_TYPE_DEFAULT, NULL, NULL, 0, 0, NULL, 0, 0 }

#define RV_REPARTITIONED_VERSION 1
typedef struct rv_repartitioned_s {
    int version;                   /**< RV_REPARTITIONED_VERSION */
    const char *name;              /**< topic "<app>-<name>-repartition" and its nodes */
    const rv_serde_t *key_serde;   /**< NULL = the stream's, else the default */
    const rv_serde_t *value_serde; /**< NULL = the stream's, else the default */
    /** The topic's partition count; 0 = as many as the source topics of
     *  the sub-topology that writes it (Kafka's default). */
    int32_t partitions;
    rv_stream_partitioner_cb_t *partitioner; /**< NULL = default on the key */
    void *partitioner_opaque;
} rv_repartitioned_t;
#define RV_REPARTITIONED_INIT \
    { RV_REPARTITIONED_VERSION, NULL, NULL, NULL, 0, NULL, NULL }

/* ---- StreamsBuilder ---- */

/** A new builder. Caller owns it; free with rv_streams_builder_destroy().
 *  NULL when out of memory. */
RV_EXTERN rv_streams_builder_t *rv_streams_builder_new(void);

/** Frees the builder and every handle it gave out (and, when
 *  rv_streams_builder_build() was not called or failed, the topology in
 *  the making). NULL does nothing. */
RV_EXTERN void rv_streams_builder_destroy(rv_streams_builder_t *b);

/** A stream of the records of topics[0..topic_cnt) (StreamsBuilder.stream). */
RV_EXTERN rv_kstream_t *rv_streams_builder_stream(rv_streams_builder_t *b,
                                                  const char *const *topics, size_t topic_cnt,
                                                  const rv_consumed_t *consumed);

/** A stream of every topic whose whole name matches the POSIX extended
 *  regular expression `pattern` (StreamsBuilder.stream(Pattern)). */
RV_EXTERN rv_kstream_t *rv_streams_builder_stream_pattern(rv_streams_builder_t *b,
                                                          const char *pattern,
                                                          const rv_consumed_t *consumed);

/** A table of `topic` read as a changelog: a record is an update of its
 *  key, a null value deletes it, a null key is dropped
 *  (StreamsBuilder.table). The store is made when the table is
 *  materialized (named, or needed by a join or a group_by); its name is
 *  `materialized->store_name` or "<topic>-STATE-STORE-<n>". */
RV_EXTERN rv_ktable_t *rv_streams_builder_table(rv_streams_builder_t *b, const char *topic,
                                                const rv_consumed_t *consumed,
                                                const rv_materialized_t *materialized);

/** A table holding every partition of `topic` on every instance, kept up
 *  to date by the app's global thread (StreamsBuilder.globalTable). Only
 *  joinable (rv_kstream_join_global()). Consumed's offset_reset must be
 *  unset. */
RV_EXTERN rv_global_ktable_t *
rv_streams_builder_global_table(rv_streams_builder_t *b, const char *topic,
                                const rv_consumed_t *consumed,
                                const rv_materialized_t *materialized);

/** Adds a store for processors of rv_kstream_process() to use by name
 *  (StreamsBuilder.addStateStore). Takes ownership of `sb` on success.
 *  Returns 0 or an error (also kept by the builder). */
RV_EXTERN rv_err_t rv_streams_builder_add_state_store(rv_streams_builder_t *b,
                                                      rv_store_builder_t *sb);

/** Compiles everything into a topology (StreamsBuilder.build): checks it
 *  (rv_topology_build()) and hands it over. Callable once; afterwards the
 *  builder may only be destroyed. Caller owns *out; free with
 *  rv_topology_destroy() (it owns everything the operators made, so it
 *  outlives the builder). On error (the builder's first error, or one the
 *  topology finds) returns it with the message in errstr and *out is
 *  NULL. */
RV_EXTERN rv_err_t rv_streams_builder_build(rv_topology_t **out, rv_streams_builder_t *b,
                                            char *errstr, size_t errstr_size);

/** The builder's first error, RV_ERR_NO_ERROR when none; *message (may be
 *  NULL) gets its text, borrowed until the builder is destroyed. */
RV_EXTERN rv_err_t rv_streams_builder_last_error(const rv_streams_builder_t *b,
                                                 const char **message);

/* ---- KStream ---- */

/** Records for which predicate is true (filter) / false (filter_not). */
RV_EXTERN rv_kstream_t *rv_kstream_filter(rv_kstream_t *s, rv_predicate_cb_t *predicate,
                                          void *opaque, const char *name);
RV_EXTERN rv_kstream_t *rv_kstream_filter_not(rv_kstream_t *s, rv_predicate_cb_t *predicate,
                                              void *opaque, const char *name);

/** A new key and value per record: mapper calls rv_out_key() and
 *  rv_out_value(). Changes the key: the next join or aggregation
 *  repartitions. */
RV_EXTERN rv_kstream_t *rv_kstream_map(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                       const char *name);

/** A new value per record (mapper calls rv_out_value()); the key stays. */
RV_EXTERN rv_kstream_t *rv_kstream_map_values(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                              const char *name);

/** Zero or more records per record (mapper calls rv_out_pair() for each).
 *  Changes the key. */
RV_EXTERN rv_kstream_t *rv_kstream_flat_map(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                            const char *name);

/** Zero or more values per record (mapper calls rv_out_value() for each),
 *  each with the record's key. */
RV_EXTERN rv_kstream_t *rv_kstream_flat_map_values(rv_kstream_t *s, rv_mapper_cb_t *mapper,
                                                   void *opaque, const char *name);

/** A new key per record (mapper calls rv_out_key()); the value stays.
 *  Changes the key. */
RV_EXTERN rv_kstream_t *rv_kstream_select_key(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                              const char *name);

/** Calls action for each record and passes it on unchanged. */
RV_EXTERN rv_kstream_t *rv_kstream_peek(rv_kstream_t *s, rv_foreach_cb_t *action, void *opaque,
                                        const char *name);

/** Calls action for each record; the end of the stream. Returns 0 or the
 *  error the builder keeps. */
RV_EXTERN rv_err_t rv_kstream_foreach(rv_kstream_t *s, rv_foreach_cb_t *action, void *opaque,
                                      const char *name);

/** Splits the stream by predicates (KStream.split(Named)): `name` (may be
 *  NULL) prefixes the branch names. Add branches in order with
 *  rv_branched_kstream_branch(); a record goes to the first branch whose
 *  predicate is true; finish with default_branch or no_default_branch. */
RV_EXTERN rv_branched_kstream_t *rv_kstream_split(rv_kstream_t *s, const char *name);

/** Adds a branch taking the records `predicate` is true for (and no
 *  earlier branch took). `branch_name` (Branched.as; may be NULL = its
 *  1-based position) is appended to the split's prefix to name the
 *  branch. Returns `bs`, or NULL on error. */
RV_EXTERN rv_branched_kstream_t *rv_branched_kstream_branch(rv_branched_kstream_t *bs,
                                                            rv_predicate_cb_t *predicate,
                                                            void *opaque, const char *branch_name);

/** Ends the split with a branch taking every record no predicate took
 *  (defaultBranch); `branch_name` as above (NULL = "0"). Returns `bs`. */
RV_EXTERN rv_branched_kstream_t *rv_branched_kstream_default_branch(rv_branched_kstream_t *bs,
                                                                    const char *branch_name);

/** Ends the split without a default branch: records no predicate took are
 *  dropped (noDefaultBranch). Returns `bs`. */
RV_EXTERN rv_branched_kstream_t *rv_branched_kstream_no_default_branch(rv_branched_kstream_t *bs);

/** The branch named `full_name` (the split's prefix + the branch's name,
 *  as the keys of Kafka's returned Map), NULL when none. */
RV_EXTERN rv_kstream_t *rv_branched_kstream_get(const rv_branched_kstream_t *bs,
                                                const char *full_name);

/** The records of both streams (KStream.merge). Both must come from the
 *  same builder. */
RV_EXTERN rv_kstream_t *rv_kstream_merge(rv_kstream_t *s, rv_kstream_t *other, const char *name);

/** Writes the stream through an internal repartition topic and reads it
 *  back (KStream.repartition): records are partitioned by their key. */
RV_EXTERN rv_kstream_t *rv_kstream_repartition(rv_kstream_t *s, const rv_repartitioned_t *opts);

/** Writes every record to `topic` (KStream.to). Returns 0 or the error
 *  the builder keeps. */
RV_EXTERN rv_err_t rv_kstream_to(rv_kstream_t *s, const char *topic, const rv_produced_t *produced);

/** Writes every record to the topic `extractor` chooses from it (route by
 *  value: KStream.to(TopicNameExtractor)). `extractor_name` is what
 *  describe() shows ("(extractor class: ...)"); may be NULL. */
RV_EXTERN rv_err_t rv_kstream_to_extractor(rv_kstream_t *s, rv_topic_name_extractor_cb_t *extractor,
                                           void *extractor_opaque, const char *extractor_name,
                                           const rv_produced_t *produced);

/** The stream read as a changelog: a table (KStream.toTable). */
RV_EXTERN rv_ktable_t *rv_kstream_to_table(rv_kstream_t *s, const char *name,
                                           const rv_materialized_t *materialized);

/** Groups by the current key (KStream.groupByKey); repartitions first
 *  when the key was changed. */
RV_EXTERN rv_kgrouped_stream_t *rv_kstream_group_by_key(rv_kstream_t *s,
                                                        const rv_grouped_t *grouped);

/** Groups by a new key (selector calls rv_out_key()); always
 *  repartitions (KStream.groupBy). */
RV_EXTERN rv_kgrouped_stream_t *rv_kstream_group_by(rv_kstream_t *s, rv_mapper_cb_t *selector,
                                                    void *opaque, const rv_grouped_t *grouped);

/** Runs a Processor API processor on the stream (KStream.process): its
 *  forwarded records are the new stream. stores[0..store_cnt) name stores
 *  added with rv_streams_builder_add_state_store() that it uses. Takes
 *  ownership of supplier->opaque on success. The processor may change the
 *  key. */
RV_EXTERN rv_kstream_t *rv_kstream_process(rv_kstream_t *s, const rv_processor_supplier_t *supplier,
                                           const char *const *stores, size_t store_cnt,
                                           const char *name);

/** Stream-table inner join (KStream.join(KTable)): each stream record is
 *  joined with the table's current value for its key, if any; table
 *  updates emit nothing. The output has the stream record's timestamp.
 *  Both must be co-partitioned (checked when the app starts);
 *  repartitions the stream first when its key was changed. */
RV_EXTERN rv_kstream_t *rv_kstream_join_table(rv_kstream_t *s, rv_ktable_t *table,
                                              rv_value_joiner_cb_t *joiner, void *opaque,
                                              const rv_joined_t *joined);

/** As rv_kstream_join_table(), left join: a record without a table value
 *  is joined with null. */
RV_EXTERN rv_kstream_t *rv_kstream_left_join_table(rv_kstream_t *s, rv_ktable_t *table,
                                                   rv_value_joiner_cb_t *joiner, void *opaque,
                                                   const rv_joined_t *joined);

/** Stream-global-table inner join (KStream.join(GlobalKTable)):
 *  key_selector maps the record to the table key (rv_out_key()); a null
 *  table key drops the record. No co-partitioning, no repartition. */
RV_EXTERN rv_kstream_t *rv_kstream_join_global(rv_kstream_t *s, rv_global_ktable_t *table,
                                               rv_mapper_cb_t *key_selector, void *selector_opaque,
                                               rv_value_joiner_cb_t *joiner, void *joiner_opaque,
                                               const char *name);

/** As rv_kstream_join_global(), left join. */
RV_EXTERN rv_kstream_t *rv_kstream_left_join_global(rv_kstream_t *s, rv_global_ktable_t *table,
                                                    rv_mapper_cb_t *key_selector,
                                                    void *selector_opaque,
                                                    rv_value_joiner_cb_t *joiner,
                                                    void *joiner_opaque, const char *name);

/* ---- KTable ---- */

/** The table of the rows predicate is true (filter) / false (filter_not)
 *  for; a row that stops matching becomes a tombstone downstream.
 *  materialized (may be NULL) stores the result. */
RV_EXTERN rv_ktable_t *rv_ktable_filter(rv_ktable_t *t, rv_predicate_cb_t *predicate, void *opaque,
                                        const char *name, const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_ktable_filter_not(rv_ktable_t *t, rv_predicate_cb_t *predicate,
                                            void *opaque, const char *name,
                                            const rv_materialized_t *materialized);

/** A new value per row (mapper calls rv_out_value()). */
RV_EXTERN rv_ktable_t *rv_ktable_map_values(rv_ktable_t *t, rv_mapper_cb_t *mapper, void *opaque,
                                            const char *name,
                                            const rv_materialized_t *materialized);

/** The table's changelog as a stream: every update, deletes as null
 *  values (KTable.toStream). */
RV_EXTERN rv_kstream_t *rv_ktable_to_stream(rv_ktable_t *t, const char *name);

/** Table-table joins on the primary key (KTable.join / leftJoin /
 *  outerJoin): an update of either side emits the joined row, or a
 *  tombstone when the row stops existing; the output timestamp is the
 *  larger of the two sides'. Both must be co-partitioned. */
RV_EXTERN rv_ktable_t *rv_ktable_join(rv_ktable_t *t, rv_ktable_t *other,
                                      rv_value_joiner_cb_t *joiner, void *opaque, const char *name,
                                      const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_ktable_left_join(rv_ktable_t *t, rv_ktable_t *other,
                                           rv_value_joiner_cb_t *joiner, void *opaque,
                                           const char *name, const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_ktable_outer_join(rv_ktable_t *t, rv_ktable_t *other,
                                            rv_value_joiner_cb_t *joiner, void *opaque,
                                            const char *name,
                                            const rv_materialized_t *materialized);

/** Re-keys the table (selector calls rv_out_key() and rv_out_value()) for
 *  an aggregation: every update subtracts the old row's pair and adds the
 *  new one (KTable.groupBy). Always repartitions. */
RV_EXTERN rv_kgrouped_table_t *rv_ktable_group_by(rv_ktable_t *t, rv_mapper_cb_t *selector,
                                                  void *opaque, const rv_grouped_t *grouped);

/** The name of the table's store when it is queryable (materialized with
 *  a store name given in rv_materialized_t), else NULL, as Kafka's
 *  queryableStoreName(). Borrowed: valid
 *  until the builder is destroyed. */
RV_EXTERN const char *rv_ktable_queryable_store_name(const rv_ktable_t *t);

/** As rv_ktable_queryable_store_name() for a global table. */
RV_EXTERN const char *rv_global_ktable_queryable_store_name(const rv_global_ktable_t *t);

/* ---- KGroupedStream: rolling aggregations into a table ---- */

/** Counts records per key (null-key or null-value records are skipped);
 *  values are int64 (count, KGroupedStream.count). */
RV_EXTERN rv_ktable_t *rv_kgrouped_stream_count(rv_kgrouped_stream_t *g, const char *name,
                                                const rv_materialized_t *materialized);

/** Combines the values of a key (KGroupedStream.reduce): the first value
 *  is the aggregate as is. */
RV_EXTERN rv_ktable_t *rv_kgrouped_stream_reduce(rv_kgrouped_stream_t *g, rv_reducer_cb_t *reducer,
                                                 void *opaque, const char *name,
                                                 const rv_materialized_t *materialized);

/** Aggregates the values of a key (KGroupedStream.aggregate), starting
 *  from initializer's value. Materialized's value_serde is the
 *  aggregate's serde (NULL: default.value.serde). */
RV_EXTERN rv_ktable_t *rv_kgrouped_stream_aggregate(rv_kgrouped_stream_t *g,
                                                    rv_initializer_cb_t *initializer,
                                                    void *initializer_opaque,
                                                    rv_aggregator_cb_t *aggregator,
                                                    void *aggregator_opaque, const char *name,
                                                    const rv_materialized_t *materialized);

/* ---- KGroupedTable: aggregations with retraction ---- */

/** Counts rows per new key, +1 for an added row and -1 for a removed one
 *  (KGroupedTable.count). */
RV_EXTERN rv_ktable_t *rv_kgrouped_table_count(rv_kgrouped_table_t *g, const char *name,
                                               const rv_materialized_t *materialized);

/** KGroupedTable.reduce(adder, subtractor): adder for a row's new value,
 *  subtractor for its old one (both get the same opaque). */
RV_EXTERN rv_ktable_t *rv_kgrouped_table_reduce(rv_kgrouped_table_t *g, rv_reducer_cb_t *adder,
                                                rv_reducer_cb_t *subtractor, void *opaque,
                                                const char *name,
                                                const rv_materialized_t *materialized);

/** KGroupedTable.aggregate(initializer, adder, subtractor). */
RV_EXTERN rv_ktable_t *
rv_kgrouped_table_aggregate(rv_kgrouped_table_t *g, rv_initializer_cb_t *initializer,
                            void *initializer_opaque, rv_aggregator_cb_t *adder,
                            rv_aggregator_cb_t *subtractor, void *aggregator_opaque,
                            const char *name, const rv_materialized_t *materialized);

/* ---- Windows (Kafka's TimeWindows, SlidingWindows, SessionWindows,
 *      JoinWindows) ---- */

/** A windowed key (Kafka's Windowed<K>): the key of the records of a
 *  windowed table and of its stream. The record key points to one of
 *  these, key_len = sizeof(rv_windowed_t); `key` is the inner key as the
 *  grouped stream's key serde made it. A window covers start <= t < end
 *  (time and sliding windows) or start <= t <= end (sessions). */
typedef struct rv_windowed_s {
    const void *key;
    int32_t key_len;
    int64_t start; /**< ms since the epoch */
    int64_t end;
} rv_windowed_t;

#define RV_TIME_WINDOWS_VERSION 1
/** Tumbling (advance_ms 0 or = size_ms) or hopping time windows
 *  [start, start + size) aligned to the epoch, every advance_ms; a window
 *  closes when stream time >= end + grace_ms (TimeWindows.ofSizeAndGrace
 *  (size, grace).advanceBy(advance); ofSizeWithNoGrace = grace 0). */
typedef struct rv_time_windows_s {
    int version; /**< RV_TIME_WINDOWS_VERSION */
    int64_t size_ms;
    int64_t advance_ms;
    int64_t grace_ms;
} rv_time_windows_t;
#define RV_TIME_WINDOWS_INIT(size_ms, grace_ms) \
    { RV_TIME_WINDOWS_VERSION, (size_ms), 0, (grace_ms) }

#define RV_SLIDING_WINDOWS_VERSION 1
/** Sliding windows: records are in one window when their timestamps
 *  differ by at most time_difference_ms
 *  (SlidingWindows.ofTimeDifferenceAndGrace). */
typedef struct rv_sliding_windows_s {
    int version; /**< RV_SLIDING_WINDOWS_VERSION */
    int64_t time_difference_ms;
    int64_t grace_ms;
} rv_sliding_windows_t;
#define RV_SLIDING_WINDOWS_INIT(diff_ms, grace_ms) \
    { RV_SLIDING_WINDOWS_VERSION, (diff_ms), (grace_ms) }

#define RV_SESSION_WINDOWS_VERSION 1
/** Session windows: records of a key closer than inactivity_gap_ms belong
 *  to one session; sessions merge when a record bridges them
 *  (SessionWindows.ofInactivityGapAndGrace). */
typedef struct rv_session_windows_s {
    int version; /**< RV_SESSION_WINDOWS_VERSION */
    int64_t inactivity_gap_ms;
    int64_t grace_ms;
} rv_session_windows_t;
#define RV_SESSION_WINDOWS_INIT(gap_ms, grace_ms) \
    { RV_SESSION_WINDOWS_VERSION, (gap_ms), (grace_ms) }

#define RV_JOIN_WINDOWS_VERSION 1
/** A stream-stream join window: a left record at t joins right records
 *  with t - before_ms <= t' <= t + after_ms
 *  (JoinWindows.ofTimeDifferenceAndGrace(d, grace): before = after = d;
 *  .before(b) / .after(a) make it asymmetric). */
typedef struct rv_join_windows_s {
    int version; /**< RV_JOIN_WINDOWS_VERSION */
    int64_t before_ms;
    int64_t after_ms;
    int64_t grace_ms;
} rv_join_windows_t;
#define RV_JOIN_WINDOWS_INIT(diff_ms, grace_ms) \
    { RV_JOIN_WINDOWS_VERSION, (diff_ms), (diff_ms), (grace_ms) }

/** When a windowed aggregation emits (Kafka's EmitStrategy). */
typedef enum rv_emit_strategy_e {
    /** Every update of a window (onWindowUpdate, the default). */
    RV_EMIT_ON_WINDOW_UPDATE = 0,
    /** Once per window, when it closes (onWindowClose); checked at most
     *  once per __emit.interval.ms.kstreams.windowed.aggregation__ of
     *  wall-clock time (Kafka's throttle; the test driver sets 0). */
    RV_EMIT_ON_WINDOW_CLOSE = 1
} rv_emit_strategy_t;

typedef struct rv_time_windowed_kstream_s rv_time_windowed_kstream_t;
typedef struct rv_session_windowed_kstream_s rv_session_windowed_kstream_t;

/** Windows the grouped stream by time windows
 *  (KGroupedStream.windowedBy(TimeWindows)). */
RV_EXTERN rv_time_windowed_kstream_t *
rv_kgrouped_stream_windowed_by(rv_kgrouped_stream_t *g, const rv_time_windows_t *windows);

/** Windows the grouped stream by sliding windows
 *  (KGroupedStream.windowedBy(SlidingWindows)). */
RV_EXTERN rv_time_windowed_kstream_t *
rv_kgrouped_stream_windowed_by_sliding(rv_kgrouped_stream_t *g,
                                       const rv_sliding_windows_t *windows);

/** Windows the grouped stream by sessions
 *  (KGroupedStream.windowedBy(SessionWindows)). */
RV_EXTERN rv_session_windowed_kstream_t *
rv_kgrouped_stream_windowed_by_session(rv_kgrouped_stream_t *g,
                                       const rv_session_windows_t *windows);

/** Sets when the aggregation that follows emits (emitStrategy). Returns
 *  w. */
RV_EXTERN rv_time_windowed_kstream_t *
rv_time_windowed_kstream_emit_strategy(rv_time_windowed_kstream_t *w, rv_emit_strategy_t strategy);
RV_EXTERN rv_session_windowed_kstream_t *
rv_session_windowed_kstream_emit_strategy(rv_session_windowed_kstream_t *w,
                                          rv_emit_strategy_t strategy);

/** Windowed count / reduce / aggregate: a table keyed by rv_windowed_t,
 *  backed by a window store (retention = window size + grace, or
 *  materialized->retention_ms). Records for a window that has closed are
 *  dropped, logged ("Skipping record for expired window. ...") and
 *  counted, as Kafka's. */
RV_EXTERN rv_ktable_t *rv_time_windowed_kstream_count(rv_time_windowed_kstream_t *w,
                                                      const char *name,
                                                      const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_time_windowed_kstream_reduce(rv_time_windowed_kstream_t *w,
                                                       rv_reducer_cb_t *reducer, void *opaque,
                                                       const char *name,
                                                       const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_time_windowed_kstream_aggregate(rv_time_windowed_kstream_t *w,
                                                          rv_initializer_cb_t *initializer,
                                                          void *initializer_opaque,
                                                          rv_aggregator_cb_t *aggregator,
                                                          void *aggregator_opaque, const char *name,
                                                          const rv_materialized_t *materialized);

/** A session merger (Kafka's Merger): the key and the aggregates of two
 *  sessions being merged; writes the merged aggregate with rv_out_value(). */
typedef rv_err_t rv_merger_cb_t(rv_out_t *out, const void *key, int32_t key_len,
                                const void *aggregate1, int32_t aggregate1_len,
                                const void *aggregate2, int32_t aggregate2_len, void *opaque);

/** Session count / reduce / aggregate: a table keyed by rv_windowed_t
 *  (start and end of the session), backed by a session store; a merge
 *  deletes the merged-away sessions downstream (tombstones). */
RV_EXTERN rv_ktable_t *rv_session_windowed_kstream_count(rv_session_windowed_kstream_t *w,
                                                         const char *name,
                                                         const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_session_windowed_kstream_reduce(rv_session_windowed_kstream_t *w,
                                                          rv_reducer_cb_t *reducer, void *opaque,
                                                          const char *name,
                                                          const rv_materialized_t *materialized);
RV_EXTERN rv_ktable_t *rv_session_windowed_kstream_aggregate(
    rv_session_windowed_kstream_t *w, rv_initializer_cb_t *initializer, void *initializer_opaque,
    rv_aggregator_cb_t *aggregator, void *aggregator_opaque, rv_merger_cb_t *merger,
    void *merger_opaque, const char *name, const rv_materialized_t *materialized);

/* ---- Suppress (Kafka's KTable.suppress(Suppressed)) ---- */

/** What suppress waits for. */
typedef enum rv_suppress_kind_e {
    /** One final result per window, once stream time passes its end +
     *  grace (Suppressed.untilWindowCloses); windowed tables only. */
    RV_SUPPRESS_UNTIL_WINDOW_CLOSES = 0,
    /** The latest update of a key once time_limit_ms of stream time
     *  passed since its first buffered update (untilTimeLimit). */
    RV_SUPPRESS_UNTIL_TIME_LIMIT = 1
} rv_suppress_kind_t;

/** What a full buffer does (BufferConfig). */
typedef enum rv_buffer_full_e {
    RV_BUFFER_FULL_EMIT_EARLY = 0, /**< emit the oldest records (emitEarlyWhenFull) */
    RV_BUFFER_FULL_SHUT_DOWN = 1   /**< fail the task (shutDownWhenFull) */
} rv_buffer_full_t;

#define RV_SUPPRESSED_VERSION 1
typedef struct rv_suppressed_s {
    int version; /**< RV_SUPPRESSED_VERSION */
    rv_suppress_kind_t kind;
    int64_t time_limit_ms; /**< RV_SUPPRESS_UNTIL_TIME_LIMIT only */
    /** Buffer limits; 0 = unbounded (BufferConfig.unbounded()). */
    int64_t max_records;
    int64_t max_bytes;
    rv_buffer_full_t when_full; /**< until_window_closes: must be SHUT_DOWN or unbounded */
    const char *name;           /**< the processor's and buffer store's name */
    int logging_disabled;       /**< the buffer's changelog (on by default) */
} rv_suppressed_t;
#define RV_SUPPRESSED_INIT                                                                         \
    {                                                                                              \
        RV_SUPPRESSED_VERSION, RV_SUPPRESS_UNTIL_WINDOW_CLOSES, 0, 0, 0, RV_BUFFER_FULL_SHUT_DOWN, \
            NULL, 0                                                                                \
    }

/** Holds back updates of the table as `suppressed` says
 *  (KTable.suppress). */
RV_EXTERN rv_ktable_t *rv_ktable_suppress(rv_ktable_t *t, const rv_suppressed_t *suppressed);

/* ---- Stream-stream joins (KStream.join(KStream, ..., JoinWindows,
 *      StreamJoined)) ---- */

#define RV_STREAM_JOINED_VERSION 1
typedef struct rv_stream_joined_s {
    int version;                         /**< RV_STREAM_JOINED_VERSION */
    const rv_serde_t *key_serde;         /**< NULL = the streams', else the default */
    const rv_serde_t *value_serde;       /**< this stream's values */
    const rv_serde_t *other_value_serde; /**< the other stream's values */
    const char *name;                    /**< names the join processors (StreamJoined.withName) */
    const char *store_name;              /**< names the join stores (withStoreName) */
    int logging_disabled;                /**< the window stores' changelogs (on by default) */
} rv_stream_joined_t;
#define RV_STREAM_JOINED_INIT \
    { RV_STREAM_JOINED_VERSION, NULL, NULL, NULL, NULL, NULL, 0 }

/** Stream-stream inner join: each record joins every record of the other
 *  stream with the same key inside the join window; the output timestamp
 *  is the larger of the two. Both sides are buffered in window stores.
 *  Both must be co-partitioned; each repartitions first when its key was
 *  changed. */
RV_EXTERN rv_kstream_t *rv_kstream_join(rv_kstream_t *s, rv_kstream_t *other,
                                        rv_value_joiner_cb_t *joiner, void *opaque,
                                        const rv_join_windows_t *windows,
                                        const rv_stream_joined_t *joined);

/** Left join: as inner, and a left record that found no match is joined
 *  with null once its window plus grace has passed (at most once per
 *  __emit.interval.ms.kstreams.outer.join.spurious.results.fix__ of
 *  wall-clock time, Kafka's throttle; the test driver sets 0). */
RV_EXTERN rv_kstream_t *rv_kstream_left_join(rv_kstream_t *s, rv_kstream_t *other,
                                             rv_value_joiner_cb_t *joiner, void *opaque,
                                             const rv_join_windows_t *windows,
                                             const rv_stream_joined_t *joined);

/** Outer join: as left, for unmatched records of either side. */
RV_EXTERN rv_kstream_t *rv_kstream_outer_join(rv_kstream_t *s, rv_kstream_t *other,
                                              rv_value_joiner_cb_t *joiner, void *opaque,
                                              const rv_join_windows_t *windows,
                                              const rv_stream_joined_t *joined);

/* ---- Windowed serdes (Kafka's WindowedSerdes) ---- */

/** A serde of rv_windowed_t keys in Kafka's TimeWindowedSerializer format
 *  ([inner key bytes][8-byte big-endian start]); deserializing computes
 *  end = start + window_size_ms. `inner` is borrowed (must outlive the
 *  serde). Caller owns the result; free with rv_serde_destroy(). NULL when
 *  out of memory. */
RV_EXTERN rv_serde_t *rv_serde_time_windowed_new(const rv_serde_t *inner, int64_t window_size_ms);

/** A serde of rv_windowed_t keys in Kafka's SessionWindowedSerializer
 *  format ([inner key bytes][8-byte BE end][8-byte BE start]). Ownership
 *  as rv_serde_time_windowed_new(). */
RV_EXTERN rv_serde_t *rv_serde_session_windowed_new(const rv_serde_t *inner);

RV_END_DECLS

#endif
