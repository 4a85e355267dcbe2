/* dsl/dsl_internal.h: what the files of the DSL share (public side:
 * rivulet/dsl.h).
 *
 * The DSL builds its topology eagerly: every operator call adds its
 * processor nodes (and stores, repartition sinks and sources) to the
 * builder's rv_topology_t at once, in the order Kafka Streams' builder
 * writes them, so generated names, sub-topology numbers and describe()
 * match Kafka's. What can only be known later (a KTable source must be
 * materialized because a join reads it; a KTable node must send old
 * values because a group_by follows) is recorded on the node's
 * configuration, which the topology owns (it is the processor supplier's
 * opaque), and takes effect when tasks make processors from it.
 *
 * Files:
 *   dsl/builder.c    the builder, handles, names, errors, repartitioning,
 *                    rv_out_t, the shared processor helpers below
 *   dsl/kstream.c    KStream's stateless operators, split, merge, to,
 *                    process, repartition, to_table
 *   dsl/ktable.c     KTable sources and operators, value getters, the
 *                    Change protocol, table-table joins, global tables,
 *                    stream-table and stream-global joins
 *   dsl/aggregate.c  KGroupedStream and KGroupedTable aggregations, and
 *                    the helpers every aggregation uses
 *   dsl/windowed.c   time and sliding windowed aggregations
 *   dsl/session_windowed.c  session windowed aggregations
 *   dsl/window_common.c  what the windowed processors share
 *   dsl/dsl_common.c  small helpers every operator file uses
 *   dsl/table_store.c  the store of a materialized KTable node: rows in
 *                    Kafka's timestamped layout, Changes forwarded on
 *                    write or on cache flush
 *
 * DESIGN
 *
 * Values between nodes. A KStream node forwards records exactly as the
 * Processor API does (key/value as deserialized). A KTable node forwards
 * records whose value points to an rv__change_t (value_len =
 * sizeof(rv__change_t)): the row's new value and, when the node was asked
 * to send old values, its old value (Kafka's Change<V>). Only KTable nodes
 * and rv_ktable_to_stream()'s processor receive Changes.
 *
 * Table stores. A materialized KTable (source, filter, map_values, join,
 * aggregation result) keeps its rows in a key-value store as Kafka's
 * TimestampedKeyValueStore does: key = the key serialized with the key
 * serde; value = 8-byte big-endian timestamp followed by the value
 * serialized with the value serde (Kafka's ValueAndTimestampSerializer
 * layout); a deleted row has no entry. rv__vt_encode()/rv__vt_decode().
 *
 * Caching. A table store with caching emits downstream when the cache
 * flushes or evicts an entry, through rv__context_set_flush_listener()
 * (runtime/flush_listener.h), as Kafka's TimestampedCacheFlushListener;
 * without caching the processor forwards each update itself.
 *
 * Value getters. A stream-table join, a table-table join and a lookup of
 * a non-materialized table read "the table's current value for key k"
 * through an rv__getter_t (Kafka's KTableValueGetterSupplier): the store of
 * the nearest materialized table up the chain, with the stateless
 * operators in between (filter, map_values) applied on the way out. The
 * processor that uses a getter is connected to the getter's store.
 *
 * Ownership. Handles (rv_kstream_t ...), node configurations (user
 * callbacks, serdes, flags) and getters live in the builder's shared
 * memory (rv__dsl_shared_t), freed once the builder and the topology are
 * both destroyed; handles point into configurations, so a later operator
 * may change a flag (send old values, materialize) until the build. */
#ifndef RV_DSL_INTERNAL_H
#define RV_DSL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "rivulet/dsl.h"
#include "runtime/flush_listener.h"

/* ---- The builder ---- */

/* Everything processors read at run time (node configurations, getters,
 * copies of names and serde pointers) and every handle, freed when the
 * builder and every supplier of its topology are gone: a reference count
 * held by the builder and by each DSL processor supplier (builder.c). */
typedef struct rv__dsl_shared_s rv__dsl_shared_t;

struct rv_streams_builder_s {
    rv_topology_t *topo; /* owned until rv_streams_builder_build() */
    rv__dsl_shared_t *shared;
    int64_t index; /* Kafka's InternalStreamsBuilder index counter */
    rv_err_t err;  /* the first error, kept */
    char errmsg[1024];
    bool built;
};

/** Records the builder's first error (printf-style message) and returns
 *  err. Later errors are ignored. */
rv_err_t rv__dsl_fail(rv_streams_builder_t *b, rv_err_t err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Copies a topology call's failure (err, errstr) into the builder and
 *  returns err. */
rv_err_t rv__dsl_topology_fail(rv_streams_builder_t *b, rv_err_t err, const char *errstr);

/** `size` zeroed bytes kept in the builder's shared memory (see
 *  rv__dsl_shared_t): for handles, node configurations, getters. NULL (and
 *  the builder's error set) when out of memory. */
void *rv__dsl_alloc(rv_streams_builder_t *b, size_t size);

/** Keeps `p` (may be NULL) in the shared memory, to be freed there with
 *  free_fn (NULL: free()). Returns p; on allocation failure frees p with
 *  free_fn, sets the builder's error and returns NULL. */
void *rv__dsl_keep(rv_streams_builder_t *b, void *p, void (*free_fn)(void *));

/** A copy of `s` in the shared memory, NULL for NULL (or out of memory,
 *  with the builder's error set). */
char *rv__dsl_strdup(rv_streams_builder_t *b, const char *s);

/** Kafka's newProcessorName(prefix): "<prefix><index as %010d>", advancing
 *  the counter; the name is written to buf. When `given` is non-NULL it is
 *  copied instead, and the counter still advances (Kafka burns the index
 *  for named operators too, where Kafka does; callers that must not burn
 *  one pass prefix NULL). Returns buf. */
char *rv__dsl_name(rv_streams_builder_t *b, const char *given, const char *prefix, char *buf,
                   size_t size);

/** Kafka's newStoreName(prefix): "<prefix>STATE-STORE-<index %010d>". */
char *rv__dsl_store_name(rv_streams_builder_t *b, const char *prefix, char *buf, size_t size);

/** Kafka's Named.validate(): a user-given name must be 1..249 characters
 *  of [a-zA-Z0-9._-] and not "." or "..". Records the failure (Kafka's
 *  message) in the builder and returns it; rv__dsl_name() calls it for
 *  `given`. */
rv_err_t rv__dsl_check_name(rv_streams_builder_t *b, const char *name);

/* ---- Handles ---- */

/* Kafka's KStreamImpl: the node its records come from. */
struct rv_kstream_s {
    rv_streams_builder_t *b;
    char *node;                    /* builder-owned copy */
    const rv_serde_t *key_serde;   /* NULL: unknown (the app's default) */
    const rv_serde_t *value_serde; /* NULL: unknown */
    bool repartition_required;     /* the key changed since it was partitioned */
    /* The source reading the repartition topic a join made for this stream
     * (Kafka's KStreamImpl.repartitionNode): a later join with a generated
     * name reads it too instead of making another (dsl/ktable.c). */
    char *join_repartition_source;
};

/* How a table's current value of a key is read (see DESIGN); shared
 * memory. Defined and run by dsl/ktable.c. */
typedef struct rv__getter_s rv__getter_t;

/** A getter reading store `store` (the table's own materialized store;
 *  values in the rv__vt_encode() layout, serialized with the serdes). */
rv__getter_t *rv__getter_store(rv_streams_builder_t *b, const char *store,
                               const rv_serde_t *key_serde, const rv_serde_t *value_serde);

/* One KTable node's configuration flags a later operator may change. */
typedef struct rv__ktable_flags_s {
    bool send_old_values; /* forward old values in Changes */
    bool materialize;     /* a source table must keep a store */
} rv__ktable_flags_t;

/* Kafka's KTableImpl. */
struct rv_ktable_s {
    rv_streams_builder_t *b;
    char *node; /* the processor forwarding its Changes */
    const rv_serde_t *key_serde, *value_serde;
    char *store;                /* its own store when materialized, else NULL */
    char *queryable;            /* store name when queryable, else NULL */
    rv__ktable_flags_t *flags;  /* in the node's configuration (shared memory) */
    rv_ktable_t *parent;        /* the table it derives from (flag propagation), or NULL */
    rv_ktable_t *parent2;       /* the other side of a table-table join */
    rv__getter_t *getter;       /* shared memory */
    char *source_store_pending; /* a source table's store name, made on demand */
    void *impl;                 /* dsl/ktable.c's view of the node (its kind, configuration) */
    /* Windowed tables (keys are rv_windowed_t *): which windows made them
     * and their grace (suppress until_window_closes needs it); window_kind
     * 0 for a table that is not windowed. */
    int window_kind; /* RV__WINDOW_NONE, RV__WINDOW_TIME, RV__WINDOW_SESSION */
    int64_t window_size_ms;
    int64_t window_grace_ms;
};

#define RV__WINDOW_NONE 0
#define RV__WINDOW_TIME 1 /* time and sliding windows */
#define RV__WINDOW_SESSION 2

struct rv_global_ktable_s {
    rv_streams_builder_t *b;
    char *store; /* the global store's name */
    const rv_serde_t *key_serde, *value_serde;
};

/* Kafka's KGroupedStreamImpl: the stream as grouped (a group_by's
 * KSTREAM-KEY-SELECT node, repartition_required set), repartitioned by
 * the aggregation that follows when needed. */
struct rv_kgrouped_stream_s {
    rv_streams_builder_t *b;
    rv_kstream_t *stream;
    const rv_serde_t *key_serde, *value_serde; /* Grouped's, else the stream's */
    char *repartition_name;                    /* Grouped.name, or NULL */
    /* With Grouped.name, the repartitioned stream the first aggregation
     * made, which later ones reuse (Kafka reuses the named repartition
     * node); NULL until then. dsl/aggregate.c. */
    rv_kstream_t *repartitioned;
};

struct rv_kgrouped_table_s {
    rv_streams_builder_t *b;
    rv_ktable_t *table;
    char *select_node; /* the KTABLE-SELECT processor */
    const rv_serde_t *key_serde, *value_serde;
    char *repartition_name; /* Grouped.name, or NULL */
    /* With Grouped.name, the repartition source the first aggregation
     * added, which later ones reuse; NULL until then. dsl/aggregate.c. */
    char *repartition_source;
};

/** A new stream handle reading from `node` (copied). */
rv_kstream_t *rv__kstream_new(rv_streams_builder_t *b, const char *node,
                              const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                              bool repartition_required);

/** Adds DSL processor `name` with parents[0..parent_cnt): each task's
 *  instance is made by get(out, config), config being shared memory (see
 *  rv__dsl_alloc()); the supplier holds a reference to the shared memory.
 *  Records a failure in the builder and returns it. */
rv_err_t rv__dsl_add_processor(rv_streams_builder_t *b, const char *name,
                               rv_processor_get_cb_t *get, void *config, const char *const *parents,
                               size_t parent_cnt);

/** Kafka's repartitionForJoin / groupBy repartitioning: when
 *  s->repartition_required, adds "<base>-repartition-filter" (drops null
 *  keys), "<base>-repartition-sink" to internal topic
 *  "<base>-repartition" and "<base>-repartition-source", with generated
 *  names when base was generated, as Kafka names them, and returns the
 *  stream reading the repartition topic; else returns s. key_serde /
 *  value_serde (may be NULL: the stream's) serialize the topic. */
rv_kstream_t *rv__kstream_repartition_for(rv_kstream_t *s, const char *base, bool base_generated,
                                          const rv_serde_t *key_serde,
                                          const rv_serde_t *value_serde);

/* ---- KTable internals other DSL files use (dsl/ktable.c) ---- */

/** A new table handle (Kafka's KTableImpl constructor) for KTable node
 *  `node` (copied), which forwards rv__change_t values. `store` (copied;
 *  NULL when the node keeps none) is the node's own table store and
 *  `queryable` (copied; NULL when not queryable) the name
 *  rv_ktable_queryable_store_name() reports. `flags` points into the
 *  node's configuration (shared memory), so that later operators may ask
 *  the node to send old values. `parent` is the table it derives from
 *  (NULL for a source or an aggregation's result): enabling old values
 *  propagates to it. The table's getter reads `store` (NULL store: no
 *  getter; such a table cannot be joined). Used by dsl/aggregate.c for
 *  aggregation results: rv__ktable_new(b, "KSTREAM-AGGREGATE-...",
 *  kserde, vserde, store, store, &cfg->flags, NULL). */
rv_ktable_t *rv__ktable_new(rv_streams_builder_t *b, const char *node, const rv_serde_t *key_serde,
                            const rv_serde_t *value_serde, const char *store, const char *queryable,
                            rv__ktable_flags_t *flags, rv_ktable_t *parent);

/** Kafka's enableSendingOldValues(forceMaterialization = true): makes the
 *  table's node, and each node up its chain it needs, forward old values
 *  in their Changes; a source table is materialized for it (its store is
 *  added on demand). KTable group_by calls it on its table. Returns 0 or
 *  the builder's error. */
rv_err_t rv__ktable_enable_send_old_values(rv_ktable_t *t);

/** Kafka's enableSendingOldValues(forceMaterialization = false): turns
 *  old values on along the table's chain only where that needs no new
 *  store (a source table that is not materialized refuses). Returns true
 *  when the table's node will send old values. */
bool rv__ktable_enable_send_old_values_if_materialized(rv_ktable_t *t);

/** The table's getter (Kafka's valueGetterSupplier()), materializing a
 *  source table on demand. NULL with the builder's error set on failure. */
rv__getter_t *rv__ktable_getter(rv_ktable_t *t);

/** Connects processor `processor` to the stores `g` reads
 *  (rv_topology_connect_processor_and_state_stores()). */
rv_err_t rv__getter_connect(rv_streams_builder_t *b, const rv__getter_t *g, const char *processor);

/** Kafka's createRepartitionedSource(): adds the null-key filter, the
 *  sink to internal topic "<base>-repartition" (base as is when it ends
 *  with "-repartition") and the source reading it, children of `parent`.
 *  Burns three indexes (sink, filter, source); the nodes take the
 *  generated names when base_generated or base looks generated
 *  ("KSTREAM...-<10 digits>"), else "<topic>-filter", "<topic>-sink",
 *  "<topic>-source". Serdes may be NULL (the app's defaults); partitions >
 *  0 fixes the topic's partition count. Writes the source's name to
 *  source; records a failure in the builder and returns it. */
rv_err_t rv__dsl_repartition(char *source, size_t source_size, rv_streams_builder_t *b,
                             const char *parent, const char *base, bool base_generated,
                             const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                             rv_stream_partitioner_cb_t *partitioner, void *partitioner_opaque,
                             int32_t partitions);

/* ---- rv_out_t ---- */

/* What an operator lets its user function return. */
typedef enum rv__out_mode_e {
    RV__OUT_VALUE,     /* one value */
    RV__OUT_VALUES,    /* flat_map_values: values */
    RV__OUT_KEY,       /* one key */
    RV__OUT_KEY_VALUE, /* map, KTable group_by: one pair */
    RV__OUT_PAIRS      /* flat_map: pairs */
} rv__out_mode_t;

/* One produced key or value: bytes in the out's arena. */
typedef struct rv__out_item_s {
    const void *key;
    int32_t key_len;
    const void *value;
    int32_t value_len;
} rv__out_item_t;

/* An rv_out_t: an arena for the copies plus the items. One per processor
 * instance, reset before each call of the user function. */
struct rv_out_s {
    rv__out_mode_t mode;
    rv__out_item_t *items;
    size_t cnt, cap;
    bool key_set, value_set;
    char *arena;
    size_t arena_len, arena_cap;
};

/* Reading an rv_out_t after the call: in the single modes (VALUE, KEY,
 * KEY_VALUE) cnt is 1 from rv__out_reset() on and items[0] holds what was
 * set, NULL with -1 (null) for what was not; in VALUES and PAIRS items[0..cnt)
 * are the added values or pairs in order. Copies are aligned for any type
 * and NUL-terminated; valid until the next reset. */
/** Empties `out` for a call in `mode`, keeping its memory. */
void rv__out_reset(rv_out_t *out, rv__out_mode_t mode);
/** Frees out's memory (not out itself). */
void rv__out_free(rv_out_t *out);

/* ---- Changes and table values ---- */

/* Kafka's Change<V>: forwarded as a KTable node's record value. */
typedef struct rv__change_s {
    const void *new_value; /* NULL, -1: the row was deleted */
    int32_t new_len;
    const void *old_value; /* NULL, -1: none, or not sent */
    int32_t old_len;
} rv__change_t;

/** Serializes `value` (as deserialized; NULL with -1 = none) with `serde`
 *  for `topic` into "<8-byte big-endian timestamp><bytes>". Caller owns
 *  *out (free()). */
rv_err_t rv__vt_encode(void **out, size_t *out_len, const rv_serde_t *serde, const char *topic,
                       const void *value, int32_t value_len, int64_t timestamp, char *errstr,
                       size_t errstr_size);

/** Splits a stored "<timestamp><bytes>" and deserializes the bytes with
 *  `serde`. Caller owns *value (rv_serde_free(serde, *value)). */
rv_err_t rv__vt_decode(void **value, int32_t *value_len, int64_t *timestamp,
                       const rv_serde_t *serde, const char *topic, const void *stored,
                       size_t stored_len, char *errstr, size_t errstr_size);

/** The serde to use: `s` when non-NULL, else the app's default.key.serde
 *  (is_key) or default.value.serde from ctx's configs. */
const rv_serde_t *rv__dsl_serde(const rv_serde_t *s, rv_processor_context_t *ctx, bool is_key);

/** A store builder for a table store named `name` as Materialized `m` (may
 *  be NULL) says: RocksDB (DEFAULT) or in memory, caching and logging
 *  (with m's changelog configs) on unless disabled. Caller owns the result
 *  (rv_topology_add_state_store() takes it); NULL with the builder's
 *  error set on failure. */
rv_store_builder_t *rv__dsl_store_builder(rv_streams_builder_t *b, const char *name,
                                          const rv_materialized_t *m);

/* ---- The store of a materialized KTable node (dsl/table_store.c) ---- */

/* Kafka's KeyValueStore handling in KTableSource, KStreamAggregate,
 * KTableAggregate, ... plus TimestampedTupleForwarder: reads and writes
 * the rows of a table store (keys serialized with the key serde, values in
 * the rv__vt_encode() layout) and forwards each row's Change downstream:
 * at once when the store has no cache, else from the cache's flush
 * listener when the entry is flushed or evicted (Kafka's
 * TimestampedCacheFlushListener). One per processor instance, inside its
 * state; used on the task's stream thread only. */
typedef struct rv__table_store_s {
    rv_processor_context_t *ctx;
    rv_kv_store_t *store;                      /* borrowed from the task */
    const rv_serde_t *key_serde, *value_serde; /* resolved (never NULL) */
    bool send_old_values;
    bool cached;
    rv__flush_binding_t binding;
    void *pending_deletes; /* timestamps of deletes the cache holds */
} rv__table_store_t;

/** Opens the table store `store_name` (connected to ctx's processor) for
 *  a processor instance; call from init(). key_serde/value_serde may be
 *  NULL (the app's defaults). *ts must be zeroed before. */
rv_err_t rv__table_store_init(rv__table_store_t *ts, rv_processor_context_t *ctx,
                              const char *store_name, const rv_serde_t *key_serde,
                              const rv_serde_t *value_serde, bool send_old_values);

/** The row of `key` (as deserialized): *value deserialized (caller owns
 *  it; free with rv_serde_free(ts->value_serde, *value)) and its
 *  *timestamp, or *value NULL with *value_len -1 (and *timestamp -1) when
 *  the key has no row. */
rv_err_t rv__table_store_get(rv__table_store_t *ts, void **value, int32_t *value_len,
                             int64_t *timestamp, const void *key, int32_t key_len);

/** Writes the row of `key`: value (NULL with -1 deletes it) with
 *  timestamp; old_value is the row it replaces (as the caller read it;
 *  NULL with -1 when none). Without a cache, forwards the Change {value,
 *  old_value when send_old_values} with `timestamp` at once; with one, the
 *  flush listener forwards it later. */
rv_err_t rv__table_store_put(rv__table_store_t *ts, const void *key, int32_t key_len,
                             const void *value, int32_t value_len, int64_t timestamp,
                             const void *old_value, int32_t old_len);

/** Unhooks the flush listener and frees what ts holds (not the store).
 *  Call from close(). */
void rv__table_store_close(rv__table_store_t *ts);

/* ---- Helpers of the operators (dsl/dsl_common.c) ---- */

/** True when operators may add to b; false when b failed already, or was
 *  built (then this records the misuse as the builder's error). */
bool rv__dsl_builder_ok(rv_streams_builder_t *b);

/** Kafka's Objects.requireNonNull(x, "<what> can't be null"): when
 *  !present records that message in the builder. Returns present. */
bool rv__dsl_require(rv_streams_builder_t *b, bool present, const char *what);

/** The value an rv_out_t holds after a user function in a single mode:
 *  items[0]'s, or NULL with -1 when the function set none or set null. */
void rv__out_value_get(const rv_out_t *out, const void **v, int32_t *len);

/** Makes a DSL processor instance (for an rv_processor_get_cb_t): a
 *  zeroed state of state_size bytes whose first member is a pointer to
 *  the node's configuration, set to cfg, and the callbacks given (init may
 *  be NULL). The close callback frees the state. */
rv_err_t rv__dsl_processor_new(rv_processor_t *out, size_t state_size, const void *cfg,
                               rv_processor_init_cb_t *init, rv_processor_process_cb_t *process,
                               rv_processor_close_cb_t *close);

/** Fails the record being processed with a message (printf-style) the
 *  task's failure reports (Kafka's exception text,
 *  rv__context_set_error()), also logged as an error. Returns err. */
rv_err_t rv__dsl_fail_record(rv_processor_context_t *ctx, rv_err_t err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** "<application.id>-<topic>", the name of an internal topic as the
 *  serdes see it. Caller owns the result (free()); NULL when out of
 *  memory. */
char *rv__dsl_app_topic(rv_processor_context_t *ctx, const char *topic);

/** Logs Kafka's warning for a record a processor skips: "Skipping record
 *  due to <why>. topic=[t] partition=[p] offset=[o]" (or "Topic,
 *  partition, and offset not known." without record metadata). */
void rv__dsl_log_skipped(rv_processor_context_t *ctx, const char *why);

/** Adds store builder sb to the topology connected to processor `proc`.
 *  Takes sb, also on failure; NULL sb counts as out of memory. Records a
 *  failure in the builder and returns it. */
rv_err_t rv__dsl_add_store(rv_streams_builder_t *b, rv_store_builder_t *sb, const char *proc);

/** rv__dsl_add_store() for a builder sb made for store `store` without a
 *  check of the name: first Kafka's name check ("Invalid topology: ..."),
 *  then logging on with configs[0..config_cnt) (or off when !logging).
 *  Caching stays as the caller set it. Takes sb (NULL: out of memory). */
rv_err_t rv__dsl_add_store_as(rv_streams_builder_t *b, const char *store, rv_store_builder_t *sb,
                              bool logging, const char *const *configs, size_t config_cnt,
                              const char *proc);

/* ---- Aggregations (dsl/aggregate.c) ---- */

/* What an aggregation computes (count, reduce or aggregate), rolling or
 * windowed. */
typedef enum rv__agg_kind_e { RV__AGG_COUNT, RV__AGG_REDUCE, RV__AGG_AGGREGATE } rv__agg_kind_t;

/* The user functions of an aggregation as its operator received them
 * (kept in the node's configuration, shared memory). */
typedef struct rv__agg_fns_s {
    rv_initializer_cb_t *initializer;
    void *initializer_opaque;
    rv_aggregator_cb_t *aggregator;      /* aggregate; KTable: the adder */
    rv_aggregator_cb_t *subtractor;      /* KTable aggregate */
    rv_reducer_cb_t *reducer;            /* reduce; KTable: the adder */
    rv_reducer_cb_t *reducer_subtractor; /* KTable reduce */
    void *opaque;                        /* of the aggregators and reducers */
    rv_merger_cb_t *merger;              /* session aggregate */
    void *merger_opaque;
} rv__agg_fns_t;

/* Whose functions rv__agg_fns_check() checks. */
typedef enum rv__agg_of_e {
    RV__AGG_OF_STREAM, /* KGroupedStream and time-windowed streams */
    RV__AGG_OF_TABLE,  /* KGroupedTable: adder and subtractor */
    RV__AGG_OF_SESSION /* session-windowed streams: aggregate needs a merger */
} rv__agg_of_t;

/** Kafka's checks before an aggregation: the builder usable
 *  (rv__dsl_builder_ok()), then the functions `kind` needs, in Kafka's
 *  order and words ("initializer", "aggregator" or "adder", "subtractor",
 *  "sessionMerger", "reducer" ... "can't be null"). Records the first
 *  failure in the builder. */
bool rv__agg_fns_check(rv_streams_builder_t *b, rv__agg_kind_t kind, rv__agg_of_t of,
                       const rv__agg_fns_t *fn);

/** Names the store of a KGroupedStream aggregation (rolling or windowed)
 *  as Kafka's builder does: count(Materialized without a name) first
 *  burns a store name; then Materialized's name, else
 *  "KSTREAM-REDUCE-STATE-STORE-n" for reduce and
 *  "KSTREAM-AGGREGATE-STATE-STORE-n" for the others, written to store.
 *  Returns the processor's name prefix ("KSTREAM-REDUCE-" or
 *  "KSTREAM-AGGREGATE-"). */
const char *rv__kgrouped_store_name(rv_streams_builder_t *b, rv__agg_kind_t kind,
                                    const rv_materialized_t *m, char *store, size_t size);

/** The serdes of an aggregation's store and result: Materialized's, else
 *  the grouped key serde and, for values, int64 (count), the grouped
 *  value serde (reduce) or NULL, the app's default (aggregate). */
void rv__agg_result_serdes(const rv_serde_t **key_serde, const rv_serde_t **value_serde,
                           rv__agg_kind_t kind, const rv_materialized_t *m,
                           const rv_serde_t *grouped_key_serde,
                           const rv_serde_t *grouped_value_serde);

/** The stream a KGroupedStream aggregation reads (Kafka's
 *  GroupedStreamAggregateBuilder repartitioning): g's stream as it is,
 *  or, when its key changed, the stream reading the repartition topic
 *  "<Grouped.name, else store>-repartition", made by the first
 *  aggregation of a named grouping and reused by later ones (which burn
 *  the three names Kafka burns). NULL with the builder's error set on
 *  failure. */
rv_kstream_t *rv__kgrouped_stream_source(rv_kgrouped_stream_t *g, const char *store);

/* ---- Windowed aggregations (dsl/window_common.c) ---- */

/** Counts one record a windowed processor dropped (a null key, an
 *  expired window): Kafka's dropped-records sensor. Thread-safe. */
void rv__dsl_record_dropped(void);

/** The records dropped so far by windowed processors in this process
 *  (Kafka's dropped-records-total, summed over tasks). Thread-safe. */
int64_t rv__dsl_dropped_records(void);

/** rv__dsl_log_skipped() and a dropped record. */
void rv__window_skip(rv_processor_context_t *ctx, const char *why);

/** Kafka's logSkippedRecordForExpiredWindow(): logs "Skipping record for
 *  expired window. ..." with window "[start,end)" ("[start,end]" when
 *  end_inclusive) and counts a dropped record. */
void rv__window_log_expired(rv_processor_context_t *ctx, int64_t timestamp, int64_t start,
                            int64_t end, bool end_inclusive, int64_t close, int64_t stream_time);

/* The part of a windowed aggregation processor's instance the windowed
 * processors share; one per instance, used on the task's stream thread. */
typedef struct rv__window_proc_s {
    rv_processor_context_t *ctx;
    rv_kv_store_t *store;      /* the window or session store, borrowed */
    const char *store_name;    /* shared memory */
    const rv_serde_t *ks, *vs; /* the store's serdes, resolved */
    bool send_old;             /* forward old values in Changes */
    bool cached;               /* the store's cache forwards (flush listener) */
    bool emit_on_close;
    rv__flush_binding_t binding;
    int64_t observed;      /* stream time seen by this processor, -1 at first */
    int64_t emit_interval; /* emit on close: the throttle (see window_common.c) */
    int64_t next_emit;     /* emit on close: wall-clock time of the next look */
    int64_t last_close;    /* emit on close: close time of the last emission, or -1 */
} rv__window_proc_t;

/** Opens the processor's store `store` (shared memory) and resolves its
 *  serdes (NULL: the app's defaults); with emit on window close reads the
 *  throttle from the app's configs, else registers on_flush(..., opaque)
 *  as the store cache's flush listener. Call from init(); *wp zeroed
 *  before. RV_ERR__INVALID_ARG when the store or a serde is missing (the
 *  context's last error says why). */
rv_err_t rv__window_proc_init(rv__window_proc_t *wp, rv_processor_context_t *ctx, const char *store,
                              const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                              rv_emit_strategy_t emit, bool send_old_values,
                              rv__flush_listener_fn *on_flush, void *opaque);

/** Unhooks the flush listener. Call from close(). */
void rv__window_proc_close(rv__window_proc_t *wp);

/** Advances the processor's stream time to `timestamp` when later;
 *  returns it. */
int64_t rv__window_observe(rv__window_proc_t *wp, int64_t timestamp);

/** True when the processor forwards each update itself: neither emit on
 *  close nor a cache (whose flush listener forwards) is in the way
 *  (Kafka's maybeForwardUpdate()). */
bool rv__window_forwards_updates(const rv__window_proc_t *wp);

/** Forwards Change{nv, ov when send_old} (NULL with -1: null) keyed by
 *  rv_windowed_t{key, start, end} with the timestamp and headers given. */
rv_err_t rv__window_forward(const rv__window_proc_t *wp, const void *key, int32_t key_len,
                            int64_t start, int64_t end, const void *nv, int32_t nl, const void *ov,
                            int32_t ol, int64_t timestamp, const rv_header_t *headers,
                            size_t header_cnt);

/** Emit on close: true when the throttle lets the processor look for
 *  closed windows now and `close` moved past wp->last_close (the caller
 *  sets last_close once it emitted). Always false without emit on close. */
bool rv__window_emit_due(rv__window_proc_t *wp, int64_t close);

/* One store entry rv__window_scan() hands out (borrowed for the call):
 * the key bytes without the suffix, the time the scan selected, the rest
 * of the suffix after those 8 bytes, and the stored value. */
typedef rv_err_t rv__window_entry_fn(const uint8_t *key, size_t key_len, int64_t time,
                                     const uint8_t *suffix, const void *value, size_t value_len,
                                     void *opaque);

/** Calls fn for each entry of `store` whose key ends with a suffix of
 *  suffix_len bytes beginning with an 8-byte big-endian time in [lo, hi],
 *  ordered by time, key bytes, then the rest of the suffix (Kafka's
 *  time-ordered stores); see window_common.c. Stops at fn's first
 *  error. */
rv_err_t rv__window_scan(rv_kv_store_t *store, size_t suffix_len, int64_t lo, int64_t hi,
                         rv__window_entry_fn *fn, void *opaque);

/** The checks a windowed_by starts with: g given, the builder usable, the
 *  windows given ("windows can't be null"). */
bool rv__window_by_ok(rv_kgrouped_stream_t *g, bool windows_given);

/** True for a known emit strategy; else records "Unknown emit strategy
 *  <n>" in the builder. */
bool rv__window_emit_strategy_ok(rv_streams_builder_t *b, rv_emit_strategy_t strategy);

/** Adds a window or session store builder sb for store `store` connected
 *  to `proc`: caching as Materialized m (may be NULL) says, but never
 *  with emit on close (Kafka's materializers), logging with m's changelog
 *  configs unless disabled. Takes sb (NULL: out of memory). Records a
 *  failure in the builder and returns it. */
rv_err_t rv__window_store_add(rv_streams_builder_t *b, const char *store, rv_store_builder_t *sb,
                              const rv_materialized_t *m, rv_emit_strategy_t emit,
                              const char *proc);

/** The table a windowed aggregation makes (keys are rv_windowed_t): node
 *  proc, keys serialized by windowed_key_serde (taken; made over
 *  key_serde, so NULL with a non-NULL key_serde means out of memory),
 *  queryable under Materialized's store name, and the window's kind, size
 *  (sessions: the gap) and grace. NULL with the builder's error set. */
rv_ktable_t *rv__window_table_new(rv_streams_builder_t *b, const char *proc,
                                  const rv_serde_t *key_serde, rv_serde_t *windowed_key_serde,
                                  const rv_serde_t *value_serde, const rv_materialized_t *m,
                                  rv__ktable_flags_t *flags, int window_kind, int64_t size_ms,
                                  int64_t grace_ms);

#endif
