/* rivulet/topology.h: a topology of named source, processor and sink nodes
 * plus state stores, as Kafka Streams' Topology.
 *
 * Build one node at a time; parents must exist before their children, so a
 * topology is acyclic by construction:
 *
 *   rv_topology_add_source()     reads topics (or topics matching a regular
 *                                expression) with key/value deserializers, a
 *                                timestamp extractor and an auto.offset.reset
 *   rv_topology_add_processor()  a processor supplier (rivulet/processor.h)
 *                                and its parents
 *   rv_topology_add_sink()       writes to a topic, or to a topic chosen per
 *                                record, with serializers and a partitioner
 *   rv_topology_add_state_store()  a store builder (rivulet/store.h) and the
 *                                processors that use it;
 *                                rv_topology_connect_processor_and_state_stores()
 *                                connects more processors later
 *   rv_topology_add_global_store()  a store fed from a whole topic on every
 *                                instance, through its own source and processor
 *
 * Every call checks what it can at once and fails with RV_ERR__INVALID_ARG
 * and Kafka Streams' TopologyException message in errstr ("Invalid
 * topology: Processor X is already added."); on failure the topology is
 * unchanged and the caller keeps what it passed. rv_topology_build() checks
 * the whole graph (state stores connected to no processor, cycles) and
 * computes the sub-topologies; the runtime calls it when an app starts.
 *
 * Sub-topologies are the connected parts of the graph: nodes linked by
 * parent edges or sharing a state store. A sink to topic X and a source
 * reading X are not linked, so a repartition topic splits sub-topologies.
 * They are numbered 0, 1, ... in the order of their earliest-added node, as
 * Kafka numbers them (global stores take numbers too); a task is one
 * sub-topology on one partition number.
 *
 * Internal topics: a source or sink whose options say `internal` names a
 * topic the app owns (a repartition topic). The runtime adds the
 * "<application.id>-" prefix to such names when it subscribes, produces
 * and creates topics, as Kafka does; describe() shows the names unprefixed.
 *
 * Serdes, extractors, partitioners and their opaques are borrowed: they must
 * stay valid until the topology is destroyed. Names and topics are copied.
 *
 * Not thread-safe. Once an app runs the topology, it must not be changed. */
#ifndef RIVULET_TOPOLOGY_H
#define RIVULET_TOPOLOGY_H

#include "common.h"
#include "error.h"
#include "processor.h"
#include "serde.h"
#include "store.h"

RV_BEGIN_DECLS

typedef struct rv_topology_s rv_topology_t;

/** Where a source starts when its group has no committed offset: as the
 *  source's auto.offset.reset (Kafka's Topology.AutoOffsetReset). DEFAULT
 *  follows the app's auto.offset.reset (Kafka Streams' default: earliest). */
typedef enum rv_auto_offset_reset_e {
    RV_AUTO_OFFSET_RESET_DEFAULT = 0,
    RV_AUTO_OFFSET_RESET_EARLIEST = 1,
    RV_AUTO_OFFSET_RESET_LATEST = 2,
    RV_AUTO_OFFSET_RESET_NONE = 3
} rv_auto_offset_reset_t;

#define RV_SOURCE_OPTS_VERSION 1

/** Options of a source (Kafka's Consumed). */
typedef struct rv_source_opts_s {
    int version; /**< RV_SOURCE_OPTS_VERSION */
    /** NULL = the app's default.key.serde / default.value.serde. */
    const rv_serde_t *key_deserializer;
    const rv_serde_t *value_deserializer;
    /** NULL = the app's default.timestamp.extractor, whose default is
     *  rv_timestamp_extractor_fail_on_invalid. */
    rv_timestamp_extractor_cb_t *timestamp_extractor;
    void *timestamp_extractor_opaque;
    rv_auto_offset_reset_t offset_reset;
    /** Non-zero: the topics are internal (repartition) topics of the app,
     *  prefixed with "<application.id>-" at run time. */
    int internal;
} rv_source_opts_t;

#define RV_SOURCE_OPTS_INIT \
    { RV_SOURCE_OPTS_VERSION, NULL, NULL, NULL, NULL, RV_AUTO_OFFSET_RESET_DEFAULT, 0 }

/** Chooses the partition of a record written by a sink (Kafka's
 *  StreamPartitioner): key and value as the processor forwarded them
 *  (before serialization), partition_count the topic's partition count.
 *  Returns 0..partition_count-1, or -1 (RV_PARTITION_ANY) to let the
 *  producer's default partitioner choose from the serialized key. */
typedef int32_t rv_stream_partitioner_cb_t(const char *topic, const void *key, int32_t key_len,
                                           const void *value, int32_t value_len,
                                           int32_t partition_count, void *opaque);

/** Chooses the topic of a record written by a sink (Kafka's
 *  TopicNameExtractor). Returns a topic name, borrowed until the next call
 *  of the extractor, or NULL to fail the task. */
typedef const char *rv_topic_name_extractor_cb_t(const rv_processor_record_t *record, void *opaque);

#define RV_SINK_OPTS_VERSION 1

/** Options of a sink (Kafka's Produced). */
typedef struct rv_sink_opts_s {
    int version; /**< RV_SINK_OPTS_VERSION */
    /** NULL = the app's default.key.serde / default.value.serde. */
    const rv_serde_t *key_serializer;
    const rv_serde_t *value_serializer;
    /** NULL = the producer's default partitioner on the serialized key. */
    rv_stream_partitioner_cb_t *partitioner;
    void *partitioner_opaque;
    /** Non-zero: the topic is an internal (repartition) topic of the app,
     *  prefixed with "<application.id>-" at run time. */
    int internal;
} rv_sink_opts_t;

#define RV_SINK_OPTS_INIT \
    { RV_SINK_OPTS_VERSION, NULL, NULL, NULL, NULL, 0 }

/** A new empty topology. Caller owns it; free with rv_topology_destroy().
 *  NULL when out of memory. */
RV_EXTERN rv_topology_t *rv_topology_new(void);

/** Frees the topology, the store builders it took and its processor
 *  suppliers' opaques (through their destroy). NULL does nothing. */
RV_EXTERN void rv_topology_destroy(rv_topology_t *t);

/** Adds source `name` reading topics[0..topic_cnt). `opts` may be NULL
 *  (RV_SOURCE_OPTS_INIT). A topic may be read by one source only. */
RV_EXTERN rv_err_t rv_topology_add_source(rv_topology_t *t, const char *name,
                                          const char *const *topics, size_t topic_cnt,
                                          const rv_source_opts_t *opts, char *errstr,
                                          size_t errstr_size);

/** Adds source `name` reading every topic whose whole name matches the
 *  POSIX extended regular expression `pattern` (Kafka: a java.util.regex
 *  Pattern; the common subset - literals, ".", "*", "+", "?", "|", classes,
 *  groups - means the same). describe() prints the pattern as given. */
RV_EXTERN rv_err_t rv_topology_add_source_pattern(rv_topology_t *t, const char *name,
                                                  const char *pattern, const rv_source_opts_t *opts,
                                                  char *errstr, size_t errstr_size);

/** Adds processor `name`, child of parents[0..parent_cnt) (at least one,
 *  each a source or processor added before). Takes ownership of
 *  supplier->opaque on success (the struct itself is copied). */
RV_EXTERN rv_err_t rv_topology_add_processor(rv_topology_t *t, const char *name,
                                             const rv_processor_supplier_t *supplier,
                                             const char *const *parents, size_t parent_cnt,
                                             char *errstr, size_t errstr_size);

/** Adds sink `name` writing to `topic`, child of parents[0..parent_cnt)
 *  (sources or processors). `opts` may be NULL (RV_SINK_OPTS_INIT). */
RV_EXTERN rv_err_t rv_topology_add_sink(rv_topology_t *t, const char *name, const char *topic,
                                        const rv_sink_opts_t *opts, const char *const *parents,
                                        size_t parent_cnt, char *errstr, size_t errstr_size);

/** Adds sink `name` writing each record to the topic `extractor` chooses.
 *  `extractor_name` (may be NULL: "TopicNameExtractor") is what describe()
 *  shows as "(extractor class: ...)", Kafka's extractor toString(). opts
 *  ->internal must be 0. */
RV_EXTERN rv_err_t rv_topology_add_sink_extractor(
    rv_topology_t *t, const char *name, rv_topic_name_extractor_cb_t *extractor,
    void *extractor_opaque, const char *extractor_name, const rv_sink_opts_t *opts,
    const char *const *parents, size_t parent_cnt, char *errstr, size_t errstr_size);

/** Adds the state store `builder` describes (its name is
 *  rv_store_builder_name()) and connects it to processors[0..processor_cnt)
 *  (may be empty: connect later). Takes ownership of `builder` on success.
 *  Adding the same builder again only connects the processors (the
 *  topology still owns it once); another builder with a name in use is an
 *  error. */
RV_EXTERN rv_err_t rv_topology_add_state_store(rv_topology_t *t, rv_store_builder_t *builder,
                                               const char *const *processors, size_t processor_cnt,
                                               char *errstr, size_t errstr_size);

/** Gives processor `processor` access to the stores stores[0..store_cnt)
 *  (at least one, each added before). */
RV_EXTERN rv_err_t rv_topology_connect_processor_and_state_stores(rv_topology_t *t,
                                                                  const char *processor,
                                                                  const char *const *stores,
                                                                  size_t store_cnt, char *errstr,
                                                                  size_t errstr_size);

/** Adds a global store (Kafka's addGlobalStore): source `source_name`
 *  reads all partitions of `topic` on every instance (opts: deserializers
 *  and timestamp extractor; offset_reset and internal must be unset), and
 *  processor `processor_name` from `supplier` puts the records into the
 *  store. The store must have changelogging disabled (the topic is its
 *  changelog). Every processor may read a global store without being
 *  connected to it. Takes ownership of `builder` and supplier->opaque on
 *  success. */
RV_EXTERN rv_err_t rv_topology_add_global_store(rv_topology_t *t, rv_store_builder_t *builder,
                                                const char *source_name, const char *topic,
                                                const rv_source_opts_t *opts,
                                                const char *processor_name,
                                                const rv_processor_supplier_t *supplier,
                                                char *errstr, size_t errstr_size);

/** Checks the whole topology (every state store is connected to a
 *  processor; no cycle) and computes its sub-topologies. Returns 0, or
 *  RV_ERR__INVALID_ARG with the first problem in errstr (RV_ERR__NOMEM when
 *  out of memory). May be called again after more nodes are added. */
RV_EXTERN rv_err_t rv_topology_build(rv_topology_t *t, char *errstr, size_t errstr_size);

/** The topology in Kafka Streams' TopologyDescription text format,
 *  byte for byte ("Topologies:\n   Sub-topology: 0\n    Source: ..."). Works
 *  before rv_topology_build(). Caller owns the result; free with free().
 *  NULL when out of memory. */
RV_EXTERN char *rv_topology_describe(const rv_topology_t *t);

RV_END_DECLS

#endif
