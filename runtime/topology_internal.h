/* runtime/topology_internal.h: what the runtime reads from a topology
 * (runtime/topology.c; the public side is rivulet/topology.h).
 *
 * The node, store and sub-topology structs are exposed read-only: the
 * runtime (tasks, stream threads, test driver) walks them to instantiate a
 * task's processors, route consumed records to sources and find the stores
 * a task opens. Everything is owned by the topology and valid until it is
 * destroyed; sub-topologies are valid after a successful rv_topology_build()
 * until the next change of the topology. Read from any thread once the
 * topology no longer changes. */
#ifndef RV_RUNTIME_TOPOLOGY_INTERNAL_H
#define RV_RUNTIME_TOPOLOGY_INTERNAL_H

#include <stddef.h>

#include "rivulet/topology.h"

typedef enum rv__tnode_kind_e {
    RV__TNODE_SOURCE,
    RV__TNODE_PROCESSOR,
    RV__TNODE_SINK
} rv__tnode_kind_t;

typedef struct rv__tnode_s {
    char *name;
    rv__tnode_kind_t kind;
    size_t id;       /* index in add order = rv__topology_node(t, id) */
    int subtopology; /* its sub-topology's id after rv_topology_build(), else -1 */
    int global;      /* the source or processor of a global store */

    size_t *parents; /* node ids, in the order the parents were given */
    size_t parent_cnt;
    size_t *children; /* node ids, in add order: the order forward() visits */
    size_t child_cnt;

    /* RV__TNODE_SOURCE: topics (topic_cnt > 0) or pattern (non-NULL). The
     * options are a copy of the caller's; serdes etc. are borrowed. */
    char **topics;
    size_t topic_cnt;
    char *pattern;
    rv_source_opts_t source;

    /* RV__TNODE_PROCESSOR: the supplier (a copy; the topology owns its
     * opaque) and the stores it is connected to, in connect order. A
     * global store's processor lists its global store. */
    rv_processor_supplier_t supplier;
    size_t *stores; /* store ids */
    size_t store_cnt;

    /* RV__TNODE_SINK: topic, or extractor (+ opaque, describe() name). */
    char *topic;
    rv_topic_name_extractor_cb_t *extractor;
    void *extractor_opaque;
    char *extractor_name;
    rv_sink_opts_t sink;

    void *regex; /* private: the compiled pattern (regex_t) */
} rv__tnode_t;

typedef struct rv__tstore_s {
    char *name; /* copy of rv_store_builder_name() */
    size_t id;
    rv_store_builder_t *builder; /* owned by the topology */
    int global;
    size_t *processors; /* node ids of connected processors, connect order */
    size_t processor_cnt;
    size_t global_source; /* global store: its source node id */
} rv__tstore_t;

typedef struct rv__subtopology_s {
    int id;        /* Kafka's sub-topology number (task ids are "<id>_<partition>") */
    int global;    /* a global store's source and processor: makes no tasks */
    size_t *nodes; /* node ids in add order, parents before children */
    size_t node_cnt;
    size_t *sources; /* source node ids, add order */
    size_t source_cnt;
    size_t *stores; /* store ids used by its processors, first-use order */
    size_t store_cnt;
    /* Static topics read by its sources and written by its sinks, in node
     * order, undecorated (see rv__topology_topic_name() for internal ones);
     * borrowed from the nodes. Pattern sources and extractor sinks add
     * nothing here. */
    const char **source_topics;
    size_t source_topic_cnt;
    const char **sink_topics;
    size_t sink_topic_cnt;
} rv__subtopology_t;

size_t rv__topology_node_count(const rv_topology_t *t);
/** Node `id` (0..count-1). Borrowed from t. */
const rv__tnode_t *rv__topology_node(const rv_topology_t *t, size_t id);
/** The node named `name`; NULL when none. Borrowed from t. */
const rv__tnode_t *rv__topology_node_find(const rv_topology_t *t, const char *name);

size_t rv__topology_store_count(const rv_topology_t *t);
const rv__tstore_t *rv__topology_store(const rv_topology_t *t, size_t id);
const rv__tstore_t *rv__topology_store_find(const rv_topology_t *t, const char *name);

/** 1 after a successful rv_topology_build() not followed by a change. */
int rv__topology_is_built(const rv_topology_t *t);
/** Sub-topologies (regular and global) by id; only when built. Borrowed. */
size_t rv__topology_subtopology_count(const rv_topology_t *t);
const rv__subtopology_t *rv__topology_subtopology(const rv_topology_t *t, size_t id);

/** 1 when source node `n` reads `topic` (undecorated): one of its topics,
 *  or a whole-name match of its pattern. */
int rv__topology_source_matches(const rv__tnode_t *n, const char *topic);

/** The source that reads `topic` (undecorated), or NULL. */
const rv__tnode_t *rv__topology_source_for_topic(const rv_topology_t *t, const char *topic);

/** The name a topic has on the broker: "<application_id>-<topic>" when
 *  `internal`, else `topic`, written to out (NUL-terminated).
 *  RV_ERR__INVALID_ARG when it does not fit. */
rv_err_t rv__topology_topic_name(char *out, size_t out_size, const char *application_id,
                                 const char *topic, int internal);

/** Fixes the partition count of internal topic `topic` (undecorated), as
 *  Kafka's Repartitioned.withNumberOfPartitions(): the runtime creates the
 *  topic with `partitions` partitions instead of deriving the count from
 *  the sub-topologies around it. Set again, the last count wins.
 *  RV_ERR__NOMEM. */
rv_err_t rv__topology_set_internal_partitions(rv_topology_t *t, const char *topic,
                                              int32_t partitions);

/** The count fixed for internal topic `topic` (undecorated), 0 when none. */
int32_t rv__topology_internal_partitions(const rv_topology_t *t, const char *topic);

#endif
