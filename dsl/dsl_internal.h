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
 *   dsl/aggregate.c  KGroupedStream and KGroupedTable aggregations
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

/* ---- Windowed aggregations (dsl/windowed.c) ---- */

/** The stream a KGroupedStream aggregation reads (Kafka's
 *  GroupedStreamAggregateBuilder repartitioning): g's stream as it is,
 *  or, when its key changed, the stream reading the repartition topic
 *  "<Grouped.name, else store>-repartition", made by the first
 *  aggregation of a named grouping and reused by later ones (which burn
 *  the three names Kafka burns). NULL with the builder's error set on
 *  failure. */
rv_kstream_t *rv__kgrouped_stream_source(rv_kgrouped_stream_t *g, const char *store);

/** Counts one record a windowed processor dropped (a null key, an
 *  expired window): Kafka's dropped-records sensor. Thread-safe. */
void rv__dsl_record_dropped(void);

/** The records dropped so far by windowed processors in this process
 *  (Kafka's dropped-records-total, summed over tasks). Thread-safe. */
int64_t rv__dsl_dropped_records(void);

#endif
