/* runtime/topology.c: the topology builder (rivulet/topology.h) - named
 * source, processor and sink nodes, state stores and global stores, their
 * validation with Kafka Streams' messages, the sub-topologies the runtime
 * makes tasks from, and describe() in Kafka Streams' text format. The
 * runtime's read-only view is runtime/topology_internal.h. The built-in
 * timestamp extractors of rivulet/processor.h live here too.
 *
 * DESIGN
 *
 * Data: nodes and stores are arrays in add order (a node's id is its
 * index), each node keeping its parents as ids in the order given and its
 * children in add order. Parents must exist when a node is added, so add
 * order is a topological order; rv_topology_build() still checks for cycles
 * so that a corrupted graph can never hang a stream thread.
 *
 * Sub-topologies (Kafka's node groups, InternalTopologyBuilder.
 * makeNodeGroups): a union-find over nodes joins every node with its parents
 * and every processor with the other processors of each store it uses. A
 * group's id is assigned when its first node is met walking nodes in add
 * order, so ids follow the earliest-added node, global groups included.
 *
 * describe(): Kafka's output depends on Java collection details, and the
 * goal is byte-identical text, so those details are reproduced:
 *  - describeSubtopology() walks the group's nodes in java.util.HashMap
 *    iteration order (bucket of String.hashCode(), then insertion order);
 *  - for every parent edge it inserts into TreeSets (red-black trees,
 *    java.util.TreeMap's algorithm) ordered by NodeComparator - sub-tree
 *    size descending, then name - while the sizes are still growing. Kafka's
 *    successor and predecessor lists therefore reflect the sizes at insert
 *    time (visible in TopologyTest's stream-stream join strings), and only
 *    an exact replay of the inserts and tree shape gives the same lists;
 *  - topic and store lists print in java.util.HashSet order.
 * The sub-topology's own node list is sorted with the final sizes. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "rivulet/topology.h"
#include "runtime/topology_internal.h"

struct rv_topology_s {
    rv__tnode_t **nodes;
    size_t node_cnt;
    rv__tstore_t **stores;
    size_t store_cnt;
    /* valid when built */
    int built;
    rv__subtopology_t *subs;
    size_t sub_cnt;
    /* Fixed partition counts of internal topics (Repartitioned's
     * numberOfPartitions), see rv__topology_set_internal_partitions(). */
    char **ip_topics;
    int32_t *ip_counts;
    size_t ip_cnt;
};

/* ---- small helpers ---- */

static rv_err_t topo_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every validation failure: Kafka's TopologyException text, "Invalid
 * topology: " + message. */
static rv_err_t topo_err(char *errstr, size_t errstr_size, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rv__errstr_set(errstr, errstr_size, "Invalid topology: %s", msg);
    return RV_ERR__INVALID_ARG;
}

/* A null argument, which Java reports as a NullPointerException with the
 * given text (no "Invalid topology" prefix there). */
static rv_err_t null_err(char *errstr, size_t errstr_size, const char *what) {
    rv__errstr_set(errstr, errstr_size, "%s", what);
    return RV_ERR__INVALID_ARG;
}

static rv__tnode_t *find_node(const rv_topology_t *t, const char *name) {
    for (size_t i = 0; i < t->node_cnt; i++)
        if (strcmp(t->nodes[i]->name, name) == 0)
            return t->nodes[i];
    return NULL;
}

static rv__tstore_t *find_store(const rv_topology_t *t, const char *name) {
    for (size_t i = 0; i < t->store_cnt; i++)
        if (strcmp(t->stores[i]->name, name) == 0)
            return t->stores[i];
    return NULL;
}

static int size_push(size_t **v, size_t *n, size_t x) {
    size_t *nv = realloc(*v, (*n + 1) * sizeof **v);
    if (!nv)
        return -1;
    nv[(*n)++] = x;
    *v = nv;
    return 0;
}

static int size_contains(const size_t *v, size_t n, size_t x) {
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

static void free_subs(rv_topology_t *t) {
    for (size_t i = 0; i < t->sub_cnt; i++) {
        rv__subtopology_t *s = &t->subs[i];
        free(s->nodes);
        free(s->sources);
        free(s->stores);
        free(s->source_topics);
        free(s->sink_topics);
    }
    free(t->subs);
    t->subs = NULL;
    t->sub_cnt = 0;
    t->built = 0;
}

/* Any change makes the computed sub-topologies stale. */
static void changed(rv_topology_t *t) {
    free_subs(t);
}

static void node_free(rv__tnode_t *n) {
    if (!n)
        return;
    free(n->name);
    free(n->parents);
    free(n->children);
    for (size_t i = 0; i < n->topic_cnt; i++)
        free(n->topics[i]);
    free(n->topics);
    free(n->pattern);
    if (n->regex) {
        regfree(n->regex);
        free(n->regex);
    }
    if (n->kind == RV__TNODE_PROCESSOR && n->supplier.destroy)
        n->supplier.destroy(n->supplier.opaque);
    free(n->stores);
    free(n->topic);
    free(n->extractor_name);
    free(n);
}

static void store_free(rv__tstore_t *s) {
    if (!s)
        return;
    free(s->name);
    rv_store_builder_destroy(s->builder);
    free(s->processors);
    free(s);
}

rv_topology_t *rv_topology_new(void) {
    return calloc(1, sizeof(rv_topology_t));
}

void rv_topology_destroy(rv_topology_t *t) {
    if (!t)
        return;
    free_subs(t);
    for (size_t i = 0; i < t->node_cnt; i++)
        node_free(t->nodes[i]);
    free(t->nodes);
    for (size_t i = 0; i < t->store_cnt; i++)
        store_free(t->stores[i]);
    free(t->stores);
    for (size_t i = 0; i < t->ip_cnt; i++)
        free(t->ip_topics[i]);
    free(t->ip_topics);
    free(t->ip_counts);
    free(t);
}

rv_err_t rv__topology_set_internal_partitions(rv_topology_t *t, const char *topic,
                                              int32_t partitions) {
    for (size_t i = 0; i < t->ip_cnt; i++)
        if (!strcmp(t->ip_topics[i], topic)) {
            t->ip_counts[i] = partitions;
            return 0;
        }
    char **nt = realloc(t->ip_topics, (t->ip_cnt + 1) * sizeof *nt);
    if (!nt)
        return RV_ERR__NOMEM;
    t->ip_topics = nt;
    int32_t *nc = realloc(t->ip_counts, (t->ip_cnt + 1) * sizeof *nc);
    if (!nc)
        return RV_ERR__NOMEM;
    t->ip_counts = nc;
    char *c = strdup(topic);
    if (!c)
        return RV_ERR__NOMEM;
    t->ip_topics[t->ip_cnt] = c;
    t->ip_counts[t->ip_cnt] = partitions;
    t->ip_cnt++;
    return 0;
}

int32_t rv__topology_internal_partitions(const rv_topology_t *t, const char *topic) {
    for (size_t i = 0; i < t->ip_cnt; i++)
        if (!strcmp(t->ip_topics[i], topic))
            return t->ip_counts[i];
    return 0;
}

/* A new node with `name` and kind, not yet linked into t. */
static rv__tnode_t *node_new(const char *name, rv__tnode_kind_t kind) {
    rv__tnode_t *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = strdup(name);
    if (!n->name) {
        free(n);
        return NULL;
    }
    n->kind = kind;
    n->subtopology = -1;
    return n;
}

/* Links node n (parents already set) into t: gives it the next id and
 * tells its parents. On failure nothing is changed and n is not freed. */
static rv_err_t node_link(rv_topology_t *t, rv__tnode_t *n) {
    rv__tnode_t **nv = realloc(t->nodes, (t->node_cnt + 1) * sizeof *nv);
    if (!nv)
        return RV_ERR__NOMEM;
    t->nodes = nv;
    /* Reserve the children slots first so that the links cannot half
     * fail: a parent listed twice gets the child twice, as Kafka does. */
    for (size_t i = 0; i < n->parent_cnt; i++) {
        rv__tnode_t *p = t->nodes[n->parents[i]];
        size_t *cv = realloc(p->children, (p->child_cnt + n->parent_cnt) * sizeof *cv);
        if (!cv)
            return RV_ERR__NOMEM;
        p->children = cv;
    }
    n->id = t->node_cnt;
    for (size_t i = 0; i < n->parent_cnt; i++) {
        rv__tnode_t *p = t->nodes[n->parents[i]];
        p->children[p->child_cnt++] = n->id;
    }
    t->nodes[t->node_cnt++] = n;
    changed(t);
    return 0;
}

/* ---- topics and patterns ---- */

/* Compiles `pattern` as a whole-name match into a new regex_t. */
static rv_err_t compile_pattern(void **out, const char *pattern, char *errstr, size_t errstr_size) {
    size_t len = strlen(pattern);
    char *anchored = malloc(len + 5);
    regex_t *re = malloc(sizeof *re);
    if (!anchored || !re) {
        free(anchored);
        free(re);
        return RV_ERR__NOMEM;
    }
    snprintf(anchored, len + 5, "^(%s)$", pattern);
    int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        char why[256];
        regerror(rc, re, why, sizeof why);
        free(re);
        rv__errstr_set(errstr, errstr_size, "Invalid topology: Pattern %s is not valid: %s",
                       pattern, why);
        return RV_ERR__INVALID_ARG;
    }
    *out = re;
    return 0;
}

int rv__topology_source_matches(const rv__tnode_t *n, const char *topic) {
    if (n->kind != RV__TNODE_SOURCE)
        return 0;
    if (n->regex)
        return regexec(n->regex, topic, 0, NULL, 0) == 0;
    for (size_t i = 0; i < n->topic_cnt; i++)
        if (strcmp(n->topics[i], topic) == 0)
            return 1;
    return 0;
}

/* Kafka's validateTopicNotAlreadyRegistered(): no other source (regular or
 * global) reads `topic`, and no pattern matches it. */
static rv_err_t check_topic_free(const rv_topology_t *t, const char *topic, char *errstr,
                                 size_t errstr_size) {
    for (size_t i = 0; i < t->node_cnt; i++) {
        const rv__tnode_t *n = t->nodes[i];
        if (n->kind != RV__TNODE_SOURCE)
            continue;
        for (size_t j = 0; j < n->topic_cnt; j++)
            if (strcmp(n->topics[j], topic) == 0)
                return topo_err(errstr, errstr_size,
                                "Topic %s has already been registered by another source.", topic);
    }
    for (size_t i = 0; i < t->node_cnt; i++) {
        const rv__tnode_t *n = t->nodes[i];
        if (n->kind == RV__TNODE_SOURCE && n->regex && rv__topology_source_matches(n, topic))
            return topo_err(errstr, errstr_size,
                            "Topic %s matches a Pattern already registered by another source.",
                            topic);
    }
    return 0;
}

/* ---- sources ---- */

static rv_err_t check_source_opts(const rv_source_opts_t *o, char *errstr, size_t errstr_size) {
    if (o && o->version != RV_SOURCE_OPTS_VERSION) {
        rv__errstr_set(errstr, errstr_size, "rv_source_opts_t version %d is not %d", o->version,
                       RV_SOURCE_OPTS_VERSION);
        return RV_ERR__INVALID_ARG;
    }
    if (o && (o->offset_reset < RV_AUTO_OFFSET_RESET_DEFAULT ||
              o->offset_reset > RV_AUTO_OFFSET_RESET_NONE))
        return topo_err(errstr, errstr_size, "Unrecognized reset format %d", (int)o->offset_reset);
    return 0;
}

static void set_source_opts(rv__tnode_t *n, const rv_source_opts_t *o) {
    static const rv_source_opts_t defaults = RV_SOURCE_OPTS_INIT;
    n->source = o ? *o : defaults;
}

rv_err_t rv_topology_add_source(rv_topology_t *t, const char *name, const char *const *topics,
                                size_t topic_cnt, const rv_source_opts_t *opts, char *errstr,
                                size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!topics && topic_cnt > 0)
        return null_err(errstr, errstr_size, "topic names cannot be null");
    if (topic_cnt == 0)
        return topo_err(errstr, errstr_size, "You must provide at least one topic");
    if (!name)
        return null_err(errstr, errstr_size, "name must not be null");
    if (find_node(t, name))
        return topo_err(errstr, errstr_size, "Processor %s is already added.", name);
    rv_err_t err = check_source_opts(opts, errstr, errstr_size);
    if (err)
        return err;
    for (size_t i = 0; i < topic_cnt; i++) {
        if (!topics[i])
            return null_err(errstr, errstr_size, "topic names cannot be null");
        if ((err = check_topic_free(t, topics[i], errstr, errstr_size)))
            return err;
        for (size_t j = 0; j < i; j++)
            if (strcmp(topics[j], topics[i]) == 0)
                return topo_err(errstr, errstr_size,
                                "Topic %s has already been registered by another source.",
                                topics[i]);
    }

    rv__tnode_t *n = node_new(name, RV__TNODE_SOURCE);
    if (!n || !(n->topics = calloc(topic_cnt, sizeof *n->topics)))
        goto nomem;
    for (size_t i = 0; i < topic_cnt; i++) {
        if (!(n->topics[i] = strdup(topics[i])))
            goto nomem;
        n->topic_cnt++;
    }
    set_source_opts(n, opts);
    if (node_link(t, n))
        goto nomem;
    return 0;
nomem:
    node_free(n);
    return RV_ERR__NOMEM;
}

rv_err_t rv_topology_add_source_pattern(rv_topology_t *t, const char *name, const char *pattern,
                                        const rv_source_opts_t *opts, char *errstr,
                                        size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!pattern)
        return null_err(errstr, errstr_size, "topicPattern can't be null");
    if (!name)
        return null_err(errstr, errstr_size, "name can't be null");
    if (find_node(t, name))
        return topo_err(errstr, errstr_size, "Processor %s is already added.", name);
    rv_err_t err = check_source_opts(opts, errstr, errstr_size);
    if (err)
        return err;
    rv__tnode_t *n = node_new(name, RV__TNODE_SOURCE);
    if (!n || !(n->pattern = strdup(pattern))) {
        node_free(n);
        return RV_ERR__NOMEM;
    }
    if ((err = compile_pattern(&n->regex, pattern, errstr, errstr_size))) {
        node_free(n);
        return err;
    }
    /* As Kafka, only the topics of regular sources count here. */
    for (size_t i = 0; i < t->node_cnt; i++) {
        const rv__tnode_t *o = t->nodes[i];
        if (o->kind != RV__TNODE_SOURCE || o->global)
            continue;
        for (size_t j = 0; j < o->topic_cnt; j++)
            if (rv__topology_source_matches(n, o->topics[j])) {
                node_free(n);
                return topo_err(errstr, errstr_size,
                                "Pattern %s will match a topic that has already been registered "
                                "by another source.",
                                pattern);
            }
    }
    set_source_opts(n, opts);
    if (node_link(t, n)) {
        node_free(n);
        return RV_ERR__NOMEM;
    }
    return 0;
}

/* ---- processors and sinks ---- */

/* Resolves parents[] into n->parents, with the checks Kafka makes for a
 * processor (sink = 0: "... is not added yet for X") or a sink (sink = 1:
 * "... is not added yet."). */
static rv_err_t set_parents(rv_topology_t *t, rv__tnode_t *n, const char *const *parents,
                            size_t parent_cnt, int sink, char *errstr, size_t errstr_size) {
    n->parents = calloc(parent_cnt, sizeof *n->parents);
    if (!n->parents)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < parent_cnt; i++) {
        const char *pn = parents[i];
        if (!pn)
            return null_err(errstr, errstr_size,
                            sink ? "predecessor name can't be null"
                                 : "predecessor name must not be null");
        if (strcmp(pn, n->name) == 0)
            return topo_err(errstr, errstr_size, "Processor %s cannot be a predecessor of itself.",
                            n->name);
        const rv__tnode_t *p = find_node(t, pn);
        if (!p) {
            if (sink)
                return topo_err(errstr, errstr_size, "Predecessor processor %s is not added yet.",
                                pn);
            return topo_err(errstr, errstr_size, "Predecessor processor %s is not added yet for %s",
                            pn, n->name);
        }
        /* Kafka checks this for sinks only and fails later, when tasks are
         * made, for processors; both are refused here. */
        if (p->kind == RV__TNODE_SINK)
            return topo_err(errstr, errstr_size, "Sink %s cannot be used a parent.", pn);
        /* A global store's nodes feed only its store; Kafka leaves this
         * unchecked and then builds a broken global task. */
        if (p->global)
            return topo_err(errstr, errstr_size,
                            "Processor %s belongs to a global store and cannot be a parent of %s.",
                            pn, n->name);
        n->parents[n->parent_cnt++] = p->id;
    }
    return 0;
}

static rv_err_t check_supplier(const rv_processor_supplier_t *s, char *errstr, size_t errstr_size) {
    if (!s || !s->get)
        return null_err(errstr, errstr_size, "supplier must not be null");
    if (s->version != RV_PROCESSOR_SUPPLIER_VERSION) {
        rv__errstr_set(errstr, errstr_size, "rv_processor_supplier_t version %d is not %d",
                       s->version, RV_PROCESSOR_SUPPLIER_VERSION);
        return RV_ERR__INVALID_ARG;
    }
    return 0;
}

rv_err_t rv_topology_add_processor(rv_topology_t *t, const char *name,
                                   const rv_processor_supplier_t *supplier,
                                   const char *const *parents, size_t parent_cnt, char *errstr,
                                   size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!name)
        return null_err(errstr, errstr_size, "name must not be null");
    rv_err_t err = check_supplier(supplier, errstr, errstr_size);
    if (err)
        return err;
    if (!parents && parent_cnt > 0)
        return null_err(errstr, errstr_size, "predecessor names must not be null");
    if (find_node(t, name))
        return topo_err(errstr, errstr_size, "Processor %s is already added.", name);
    if (parent_cnt == 0)
        return topo_err(errstr, errstr_size, "Processor %s must have at least one parent", name);
    rv__tnode_t *n = node_new(name, RV__TNODE_PROCESSOR);
    if (!n)
        return RV_ERR__NOMEM;
    if ((err = set_parents(t, n, parents, parent_cnt, 0, errstr, errstr_size)) ||
        (err = node_link(t, n))) {
        node_free(n); /* supplier not copied yet: the caller keeps its opaque */
        return err;
    }
    n->supplier = *supplier;
    return 0;
}

static rv_err_t check_sink_opts(const rv_sink_opts_t *o, char *errstr, size_t errstr_size) {
    if (o && o->version != RV_SINK_OPTS_VERSION) {
        rv__errstr_set(errstr, errstr_size, "rv_sink_opts_t version %d is not %d", o->version,
                       RV_SINK_OPTS_VERSION);
        return RV_ERR__INVALID_ARG;
    }
    return 0;
}

/* The shared part of both add_sink variants (Kafka's addSink with a
 * TopicNameExtractor). Exactly one of topic and extractor is set. */
static rv_err_t add_sink(rv_topology_t *t, const char *name, const char *topic,
                         rv_topic_name_extractor_cb_t *extractor, void *extractor_opaque,
                         const char *extractor_name, const rv_sink_opts_t *opts,
                         const char *const *parents, size_t parent_cnt, char *errstr,
                         size_t errstr_size) {
    static const rv_sink_opts_t defaults = RV_SINK_OPTS_INIT;
    rv_err_t err = check_sink_opts(opts, errstr, errstr_size);
    if (err)
        return err;
    if (find_node(t, name))
        return topo_err(errstr, errstr_size, "Processor %s is already added.", name);
    if (parent_cnt == 0)
        return topo_err(errstr, errstr_size, "Sink %s must have at least one parent", name);
    rv__tnode_t *n = node_new(name, RV__TNODE_SINK);
    if (!n)
        return RV_ERR__NOMEM;
    if (topic && !(n->topic = strdup(topic)))
        err = RV_ERR__NOMEM;
    if (!err && extractor &&
        !(n->extractor_name = strdup(extractor_name ? extractor_name : "TopicNameExtractor")))
        err = RV_ERR__NOMEM;
    if (!err)
        err = set_parents(t, n, parents, parent_cnt, 1, errstr, errstr_size);
    n->extractor = extractor;
    n->extractor_opaque = extractor_opaque;
    n->sink = opts ? *opts : defaults;
    if (!err)
        err = node_link(t, n);
    if (err)
        node_free(n);
    return err;
}

rv_err_t rv_topology_add_sink(rv_topology_t *t, const char *name, const char *topic,
                              const rv_sink_opts_t *opts, const char *const *parents,
                              size_t parent_cnt, char *errstr, size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!name)
        return null_err(errstr, errstr_size, "name must not be null");
    if (!topic)
        return null_err(errstr, errstr_size, "topic must not be null");
    if (!parents && parent_cnt > 0)
        return null_err(errstr, errstr_size, "predecessor names must not be null");
    /* Kafka checks for parents before the name here. */
    if (parent_cnt == 0)
        return topo_err(errstr, errstr_size, "Sink %s must have at least one parent", name);
    return add_sink(t, name, topic, NULL, NULL, NULL, opts, parents, parent_cnt, errstr,
                    errstr_size);
}

rv_err_t rv_topology_add_sink_extractor(rv_topology_t *t, const char *name,
                                        rv_topic_name_extractor_cb_t *extractor,
                                        void *extractor_opaque, const char *extractor_name,
                                        const rv_sink_opts_t *opts, const char *const *parents,
                                        size_t parent_cnt, char *errstr, size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!name)
        return null_err(errstr, errstr_size, "name must not be null");
    if (!extractor)
        return null_err(errstr, errstr_size, "topic extractor must not be null");
    if (!parents && parent_cnt > 0)
        return null_err(errstr, errstr_size, "predecessor names must not be null");
    if (opts && opts->version == RV_SINK_OPTS_VERSION && opts->internal) {
        rv__errstr_set(errstr, errstr_size,
                       "a sink with a topic name extractor cannot write an internal topic");
        return RV_ERR__INVALID_ARG;
    }
    return add_sink(t, name, NULL, extractor, extractor_opaque, extractor_name, opts, parents,
                    parent_cnt, errstr, errstr_size);
}

/* ---- state stores ---- */

/* Kafka's connectProcessorAndStateStore() checks, without changing
 * anything. */
static rv_err_t check_connect(const rv_topology_t *t, const char *processor, const char *store,
                              const rv__tstore_t *new_store, char *errstr, size_t errstr_size) {
    const rv__tstore_t *s = find_store(t, store);
    if (s && s->global)
        return topo_err(errstr, errstr_size,
                        "Global StateStore %s can be used by a Processor without being "
                        "specified; it should not be explicitly passed.",
                        store);
    if (!s && !(new_store && strcmp(new_store->name, store) == 0))
        return topo_err(errstr, errstr_size, "StateStore %s is not added yet.", store);
    const rv__tnode_t *n = find_node(t, processor);
    if (!n)
        return topo_err(errstr, errstr_size, "Processor %s is not added yet.", processor);
    if (n->kind != RV__TNODE_PROCESSOR)
        return topo_err(errstr, errstr_size,
                        "cannot connect a state store %s to a source node or a sink node.", store);
    if (n->global)
        return topo_err(errstr, errstr_size,
                        "Processor %s belongs to a global store and cannot use state store %s.",
                        processor, store);
    return 0;
}

/* Grows *v to hold `cnt` ids (the count itself is not changed). */
static rv_err_t ids_reserve(size_t **v, size_t cnt) {
    size_t *nv = realloc(*v, (cnt ? cnt : 1) * sizeof **v);
    if (!nv)
        return RV_ERR__NOMEM;
    *v = nv;
    return 0;
}

/* Makes room for connecting processor n to one more store and store s to
 * `more` more processors, so that do_connect() cannot fail. */
static rv_err_t connect_reserve(rv__tnode_t *n, rv__tstore_t *s, size_t more) {
    if (n && ids_reserve(&n->stores, n->store_cnt + 1))
        return RV_ERR__NOMEM;
    if (s && ids_reserve(&s->processors, s->processor_cnt + more))
        return RV_ERR__NOMEM;
    return 0;
}

/* Connects processor n and store s (the caller checked and reserved). */
static void do_connect(rv_topology_t *t, rv__tnode_t *n, rv__tstore_t *s) {
    if (!size_contains(n->stores, n->store_cnt, s->id))
        n->stores[n->store_cnt++] = s->id;
    if (!size_contains(s->processors, s->processor_cnt, n->id))
        s->processors[s->processor_cnt++] = n->id;
    changed(t);
}

/* Reserves room for one more store. */
static rv_err_t stores_reserve(rv_topology_t *t) {
    rv__tstore_t **sv = realloc(t->stores, (t->store_cnt + 1) * sizeof *sv);
    if (!sv)
        return RV_ERR__NOMEM;
    t->stores = sv;
    return 0;
}

rv_err_t rv_topology_add_state_store(rv_topology_t *t, rv_store_builder_t *builder,
                                     const char *const *processors, size_t processor_cnt,
                                     char *errstr, size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!builder)
        return null_err(errstr, errstr_size, "stateStoreFactory can't be null");
    if (!processors && processor_cnt > 0)
        return null_err(errstr, errstr_size, "processor names must not be null");
    const char *name = rv_store_builder_name(builder);
    rv__tstore_t *s = find_store(t, name);
    if (s && s->global)
        return topo_err(errstr, errstr_size,
                        "A different GlobalStateStore has already been added with the name %s",
                        name);
    if (s && s->builder != builder)
        return topo_err(errstr, errstr_size,
                        "A different StateStore has already been added with the name %s", name);
    rv__tstore_t probe = {.name = (char *)name};
    for (size_t i = 0; i < processor_cnt; i++) {
        if (!processors[i])
            return null_err(errstr, errstr_size, "processor name must not be null");
        rv_err_t err = check_connect(t, processors[i], name, &probe, errstr, errstr_size);
        if (err)
            return err;
    }
    int is_new = !s;
    if (is_new) {
        if (stores_reserve(t) || !(s = calloc(1, sizeof *s)))
            return RV_ERR__NOMEM;
        if (!(s->name = strdup(name))) {
            free(s);
            return RV_ERR__NOMEM;
        }
        s->builder = builder;
        s->id = t->store_cnt;
    }
    rv_err_t err = connect_reserve(NULL, s, processor_cnt);
    for (size_t i = 0; i < processor_cnt && !err; i++)
        err = connect_reserve(find_node(t, processors[i]), NULL, 0);
    if (err) {
        if (is_new) {
            free(s->name);
            free(s->processors);
            free(s);
        }
        return err;
    }
    if (is_new) {
        t->stores[t->store_cnt++] = s;
        changed(t);
    }
    for (size_t i = 0; i < processor_cnt; i++)
        do_connect(t, find_node(t, processors[i]), s);
    return 0;
}

rv_err_t rv_topology_connect_processor_and_state_stores(rv_topology_t *t, const char *processor,
                                                        const char *const *stores, size_t store_cnt,
                                                        char *errstr, size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!processor)
        return null_err(errstr, errstr_size, "processorName can't be null");
    if (!stores && store_cnt > 0)
        return null_err(errstr, errstr_size, "state store list must not be null");
    if (store_cnt == 0)
        return topo_err(errstr, errstr_size, "Must provide at least one state store name.");
    for (size_t i = 0; i < store_cnt; i++) {
        if (!stores[i])
            return null_err(errstr, errstr_size, "state store name must not be null");
        rv_err_t err = check_connect(t, processor, stores[i], NULL, errstr, errstr_size);
        if (err)
            return err;
    }
    rv__tnode_t *n = find_node(t, processor);
    if (ids_reserve(&n->stores, n->store_cnt + store_cnt))
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < store_cnt; i++)
        if (connect_reserve(NULL, find_store(t, stores[i]), 1))
            return RV_ERR__NOMEM;
    for (size_t i = 0; i < store_cnt; i++)
        do_connect(t, n, find_store(t, stores[i]));
    return 0;
}

rv_err_t rv_topology_add_global_store(rv_topology_t *t, rv_store_builder_t *builder,
                                      const char *source_name, const char *topic,
                                      const rv_source_opts_t *opts, const char *processor_name,
                                      const rv_processor_supplier_t *supplier, char *errstr,
                                      size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    if (!builder)
        return null_err(errstr, errstr_size, "store builder must not be null");
    rv_err_t err;
    /* Kafka's validateGlobalStoreArguments(), in its order. */
    if (!source_name)
        return null_err(errstr, errstr_size, "sourceName must not be null");
    if (!topic)
        return null_err(errstr, errstr_size, "topic must not be null");
    if ((err = check_supplier(supplier, errstr, errstr_size)))
        return err;
    if (!processor_name)
        return null_err(errstr, errstr_size, "processorName must not be null");
    const char *store = rv_store_builder_name(builder);
    if (find_node(t, source_name))
        return topo_err(errstr, errstr_size, "Processor %s is already added.", source_name);
    if (find_node(t, processor_name))
        return topo_err(errstr, errstr_size, "Processor %s is already added.", processor_name);
    const rv__tstore_t *old = find_store(t, store);
    if (old && !old->global)
        return topo_err(errstr, errstr_size,
                        "A different StateStore has already been added with the name %s", store);
    if (old)
        return topo_err(errstr, errstr_size,
                        "A different GlobalStateStore has already been added with the name %s",
                        store);
    if (rv_store_builder_logging_enabled(builder))
        return topo_err(errstr, errstr_size,
                        "StateStore %s for global table must not have logging enabled.", store);
    if (strcmp(source_name, processor_name) == 0)
        return topo_err(errstr, errstr_size, "sourceName and processorName must be different.");
    if ((err = check_source_opts(opts, errstr, errstr_size)))
        return err;
    if (opts && (opts->offset_reset != RV_AUTO_OFFSET_RESET_DEFAULT || opts->internal)) {
        rv__errstr_set(errstr, errstr_size,
                       "a global store's source reads its whole topic: offset_reset and internal "
                       "must be unset");
        return RV_ERR__INVALID_ARG;
    }
    if ((err = check_topic_free(t, topic, errstr, errstr_size)))
        return err;

    /* Build both nodes and the store fully before linking anything, so
     * that running out of memory leaves the topology as it was. */
    rv__tnode_t *src = node_new(source_name, RV__TNODE_SOURCE);
    rv__tnode_t *proc = node_new(processor_name, RV__TNODE_PROCESSOR);
    rv__tstore_t *s = calloc(1, sizeof *s);
    rv__tnode_t **nv = realloc(t->nodes, (t->node_cnt + 2) * sizeof *nv);
    if (nv)
        t->nodes = nv;
    if (!src || !proc || !s || !nv || stores_reserve(t) ||
        !(src->topics = calloc(1, sizeof *src->topics)) || !(src->topics[0] = strdup(topic)) ||
        !(proc->parents = calloc(1, sizeof *proc->parents)) ||
        !(proc->stores = calloc(1, sizeof *proc->stores)) || !(s->name = strdup(store)) ||
        !(s->processors = calloc(1, sizeof *s->processors)) ||
        !(src->children = calloc(1, sizeof *src->children))) {
        if (src && src->topics && src->topics[0])
            src->topic_cnt = 1;
        node_free(src);
        node_free(proc);
        if (s) {
            free(s->name);
            free(s->processors);
            free(s);
        }
        return RV_ERR__NOMEM;
    }
    src->topic_cnt = 1;
    src->global = proc->global = 1;
    set_source_opts(src, opts);
    src->id = t->node_cnt;
    proc->id = t->node_cnt + 1;
    s->id = t->store_cnt;
    src->children[src->child_cnt++] = proc->id;
    proc->parents[proc->parent_cnt++] = src->id;
    proc->stores[proc->store_cnt++] = s->id;
    proc->supplier = *supplier;
    s->builder = builder;
    s->global = 1;
    s->global_source = src->id;
    s->processors[s->processor_cnt++] = proc->id;
    t->nodes[t->node_cnt++] = src;
    t->nodes[t->node_cnt++] = proc;
    t->stores[t->store_cnt++] = s;
    changed(t);
    return 0;
}

/* ---- sub-topologies ---- */

static size_t uf_find(size_t *uf, size_t x) {
    while (uf[x] != x) {
        uf[x] = uf[uf[x]];
        x = uf[x];
    }
    return x;
}

static void uf_unite(size_t *uf, size_t a, size_t b) {
    a = uf_find(uf, a);
    b = uf_find(uf, b);
    if (a != b)
        uf[b] = a;
}

/* Kafka's makeNodeGroups(): group[i] = the group id of node i; returns the
 * number of groups, or -1 when out of memory. */
static long node_groups(const rv_topology_t *t, int *group) {
    size_t n = t->node_cnt;
    size_t *uf = malloc((n ? n : 1) * sizeof *uf);
    size_t *root_group = malloc((n ? n : 1) * sizeof *root_group);
    if (!uf || !root_group) {
        free(uf);
        free(root_group);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uf[i] = i;
        root_group[i] = (size_t)-1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < t->nodes[i]->parent_cnt; j++)
            uf_unite(uf, t->nodes[i]->parents[j], i);
    for (size_t i = 0; i < t->store_cnt; i++)
        for (size_t j = 1; j < t->stores[i]->processor_cnt; j++)
            uf_unite(uf, t->stores[i]->processors[0], t->stores[i]->processors[j]);
    long groups = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = uf_find(uf, i);
        if (root_group[r] == (size_t)-1)
            root_group[r] = (size_t)groups++;
        group[i] = (int)root_group[r];
    }
    free(uf);
    free(root_group);
    return groups;
}

/* Depth-first search for a cycle along parent edges: 0 white, 1 on the
 * stack, 2 done. Iterative, so that a deep topology cannot overflow the
 * stack. Returns the id of a node on a cycle, or -1. */
static long find_cycle(const rv_topology_t *t) {
    size_t n = t->node_cnt;
    unsigned char *color = calloc(n ? n : 1, 1);
    size_t *stack = malloc((n ? n : 1) * sizeof *stack);
    size_t *next = calloc(n ? n : 1, sizeof *next);
    long found = -2;
    if (!color || !stack || !next)
        goto out;
    found = -1;
    for (size_t start = 0; start < n && found < 0; start++) {
        if (color[start])
            continue;
        size_t sp = 0;
        stack[sp++] = start;
        color[start] = 1;
        while (sp > 0 && found < 0) {
            size_t v = stack[sp - 1];
            const rv__tnode_t *nv = t->nodes[v];
            if (next[v] < nv->parent_cnt) {
                size_t p = nv->parents[next[v]++];
                if (color[p] == 1)
                    found = (long)p;
                else if (color[p] == 0) {
                    color[p] = 1;
                    stack[sp++] = p;
                }
            } else {
                color[v] = 2;
                sp--;
            }
        }
    }
out:
    free(color);
    free(stack);
    free(next);
    return found;
}

static int str_in(const char **v, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static int str_push(const char ***v, size_t *n, const char *s) {
    if (str_in(*v, *n, s))
        return 0;
    const char **nv = realloc(*v, (*n + 1) * sizeof **v);
    if (!nv)
        return -1;
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

rv_err_t rv_topology_build(rv_topology_t *t, char *errstr, size_t errstr_size) {
    if (!t)
        return null_err(errstr, errstr_size, "topology must not be null");
    free_subs(t);
    for (size_t i = 0; i < t->store_cnt; i++)
        if (t->stores[i]->processor_cnt == 0)
            return topo_err(errstr, errstr_size, "StateStore %s is not connected to any processor.",
                            t->stores[i]->name);
    long cyc = find_cycle(t);
    if (cyc == -2)
        return RV_ERR__NOMEM;
    if (cyc >= 0)
        return topo_err(errstr, errstr_size, "Processor %s is part of a cycle.",
                        t->nodes[cyc]->name);

    int *group = malloc((t->node_cnt ? t->node_cnt : 1) * sizeof *group);
    long groups = group ? node_groups(t, group) : -1;
    if (groups < 0) {
        free(group);
        return RV_ERR__NOMEM;
    }
    t->subs = calloc(groups ? (size_t)groups : 1, sizeof *t->subs);
    if (!t->subs) {
        free(group);
        return RV_ERR__NOMEM;
    }
    t->sub_cnt = (size_t)groups;
    for (size_t g = 0; g < t->sub_cnt; g++)
        t->subs[g].id = (int)g;
    for (size_t i = 0; i < t->node_cnt; i++) {
        rv__tnode_t *n = t->nodes[i];
        rv__subtopology_t *s = &t->subs[group[i]];
        n->subtopology = group[i];
        if (n->global)
            s->global = 1;
        if (size_push(&s->nodes, &s->node_cnt, i))
            goto nomem;
        if (n->kind == RV__TNODE_SOURCE) {
            if (size_push(&s->sources, &s->source_cnt, i))
                goto nomem;
            for (size_t j = 0; j < n->topic_cnt; j++)
                if (str_push(&s->source_topics, &s->source_topic_cnt, n->topics[j]))
                    goto nomem;
        } else if (n->kind == RV__TNODE_SINK && n->topic) {
            if (str_push(&s->sink_topics, &s->sink_topic_cnt, n->topic))
                goto nomem;
        }
        for (size_t j = 0; j < n->store_cnt; j++)
            if (!size_contains(s->stores, s->store_cnt, n->stores[j]) &&
                size_push(&s->stores, &s->store_cnt, n->stores[j]))
                goto nomem;
    }
    free(group);
    t->built = 1;
    return 0;
nomem:
    free(group);
    free_subs(t);
    return RV_ERR__NOMEM;
}

/* ---- the internal view ---- */

size_t rv__topology_node_count(const rv_topology_t *t) {
    return t->node_cnt;
}
const rv__tnode_t *rv__topology_node(const rv_topology_t *t, size_t id) {
    return id < t->node_cnt ? t->nodes[id] : NULL;
}
const rv__tnode_t *rv__topology_node_find(const rv_topology_t *t, const char *name) {
    return find_node(t, name);
}
size_t rv__topology_store_count(const rv_topology_t *t) {
    return t->store_cnt;
}
const rv__tstore_t *rv__topology_store(const rv_topology_t *t, size_t id) {
    return id < t->store_cnt ? t->stores[id] : NULL;
}
const rv__tstore_t *rv__topology_store_find(const rv_topology_t *t, const char *name) {
    return find_store(t, name);
}
int rv__topology_is_built(const rv_topology_t *t) {
    return t->built;
}
size_t rv__topology_subtopology_count(const rv_topology_t *t) {
    return t->built ? t->sub_cnt : 0;
}
const rv__subtopology_t *rv__topology_subtopology(const rv_topology_t *t, size_t id) {
    return t->built && id < t->sub_cnt ? &t->subs[id] : NULL;
}

const rv__tnode_t *rv__topology_source_for_topic(const rv_topology_t *t, const char *topic) {
    for (size_t i = 0; i < t->node_cnt; i++)
        if (rv__topology_source_matches(t->nodes[i], topic))
            return t->nodes[i];
    return NULL;
}

rv_err_t rv__topology_topic_name(char *out, size_t out_size, const char *application_id,
                                 const char *topic, int internal) {
    int n = internal ? snprintf(out, out_size, "%s-%s", application_id, topic)
                     : snprintf(out, out_size, "%s", topic);
    return n < 0 || (size_t)n >= out_size ? RV_ERR__INVALID_ARG : 0;
}

/* ---- describe(): Java collection orders ---- */

/* java.lang.String.hashCode() of a UTF-8 string, over its UTF-16 units. */
static int32_t java_hash(const char *s) {
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (extra) {
            cp &= 0x3Fu >> extra;
            for (int i = 0; i < extra && (*p & 0xC0) == 0x80; i++)
                cp = (cp << 6) | (*p++ & 0x3F);
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

static uint32_t java_bucket(const char *s, uint32_t cap) {
    uint32_t h = (uint32_t)java_hash(s);
    return (h ^ (h >> 16)) & (cap - 1);
}

/* Table size of a HashMap/HashSet after n puts from the default size. */
static uint32_t cap_grown(size_t n) {
    uint32_t cap = 16;
    while ((double)n > cap * 0.75)
        cap *= 2;
    return cap;
}

/* Table size of `new HashSet<>(collection of n)`. */
static uint32_t cap_copied(size_t n) {
    int want = (int)((float)n / .75f) + 1;
    if (want < 16)
        want = 16;
    uint32_t cap = 1;
    while (cap < (uint32_t)want)
        cap *= 2;
    return cap;
}

typedef struct hash_item_s {
    const char *s;
    size_t pos;
    uint32_t bucket;
    size_t payload;
} hash_item_t;

static int hash_item_cmp(const void *a, const void *b) {
    const hash_item_t *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorts items[0..n) (pos = insertion order) into Java hash iteration order
 * for a table of `cap` buckets. */
static void java_hash_sort(hash_item_t *items, size_t n, uint32_t cap) {
    for (size_t i = 0; i < n; i++)
        items[i].bucket = java_bucket(items[i].s, cap);
    qsort(items, n, sizeof *items, hash_item_cmp);
}

/* Writes "[a, b]" of names in HashSet-copy order (AbstractCollection.
 * toString() of new HashSet<>(names)). Duplicates are dropped first. */
static rv_err_t put_java_set(rv__buf_t *b, const char *const *names, size_t n) {
    hash_item_t *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return RV_ERR__NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < m && !dup; j++)
            dup = strcmp(items[j].s, names[i]) == 0;
        if (!dup) {
            items[m].s = names[i];
            items[m].pos = m;
            m++;
        }
    }
    java_hash_sort(items, m, cap_copied(m));
    rv_err_t err = rv__buf_append(b, "[", 1);
    for (size_t i = 0; i < m && !err; i++)
        err = rv__buf_printf(b, "%s%s", i ? ", " : "", items[i].s);
    if (!err)
        err = rv__buf_append(b, "]", 1);
    free(items);
    return err;
}

/* A java.util.TreeSet<Node> with NodeComparator whose keys (sub-tree
 * sizes) change while they sit in the tree: java.util.TreeMap's insert and
 * red-black fix-up, over a shared pool of entries. */
typedef struct tentry_s {
    size_t node; /* local node index */
    long left, right, parent;
    int black;
} tentry_t;

typedef struct desc_s {
    const rv_topology_t *t;
    size_t n;        /* nodes in the group */
    size_t *ids;     /* local index -> node id */
    int32_t *size;   /* Kafka's AbstractNode.size */
    long *pred_root; /* per local node: TreeSet roots (-1 = empty) */
    long *succ_root;
    tentry_t *pool;
    size_t pool_cnt, pool_cap;
} desc_t;

static const char *dname(const desc_t *d, size_t local) {
    return d->t->nodes[d->ids[local]]->name;
}

/* NodeComparator.compare(): equal nodes are 0; else size descending (Java
 * int subtraction, wrapping as Java does), then name. */
static int node_cmp(const desc_t *d, size_t a, size_t b) {
    if (a == b)
        return 0;
    int32_t diff = (int32_t)((uint32_t)d->size[b] - (uint32_t)d->size[a]);
    if (d->size[a] != d->size[b])
        return diff < 0 ? -1 : diff > 0;
    return strcmp(dname(d, a), dname(d, b));
}

#define TPARENT(e) ((e) < 0 ? -1 : d->pool[e].parent)
#define TLEFT(e) ((e) < 0 ? -1 : d->pool[e].left)
#define TRIGHT(e) ((e) < 0 ? -1 : d->pool[e].right)
#define TBLACK(e) ((e) < 0 ? 1 : d->pool[e].black)
#define TSETBLACK(e, c)             \
    do {                            \
        if ((e) >= 0)               \
            d->pool[e].black = (c); \
    } while (0)

static void rotate_left(desc_t *d, long *root, long p) {
    if (p < 0)
        return;
    long r = d->pool[p].right;
    d->pool[p].right = d->pool[r].left;
    if (d->pool[r].left >= 0)
        d->pool[d->pool[r].left].parent = p;
    d->pool[r].parent = d->pool[p].parent;
    if (d->pool[p].parent < 0)
        *root = r;
    else if (d->pool[d->pool[p].parent].left == p)
        d->pool[d->pool[p].parent].left = r;
    else
        d->pool[d->pool[p].parent].right = r;
    d->pool[r].left = p;
    d->pool[p].parent = r;
}

static void rotate_right(desc_t *d, long *root, long p) {
    if (p < 0)
        return;
    long l = d->pool[p].left;
    d->pool[p].left = d->pool[l].right;
    if (d->pool[l].right >= 0)
        d->pool[d->pool[l].right].parent = p;
    d->pool[l].parent = d->pool[p].parent;
    if (d->pool[p].parent < 0)
        *root = l;
    else if (d->pool[d->pool[p].parent].right == p)
        d->pool[d->pool[p].parent].right = l;
    else
        d->pool[d->pool[p].parent].left = l;
    d->pool[l].right = p;
    d->pool[p].parent = l;
}

/* TreeMap.put(node) then fixAfterInsertion(). */
static rv_err_t tree_insert(desc_t *d, long *root, size_t node) {
    long parent = -1, cur = *root;
    int cmp = 0;
    while (cur >= 0) {
        parent = cur;
        cmp = node_cmp(d, node, d->pool[cur].node);
        if (cmp < 0)
            cur = d->pool[cur].left;
        else if (cmp > 0)
            cur = d->pool[cur].right;
        else
            return 0; /* already there */
    }
    if (d->pool_cnt == d->pool_cap) {
        size_t cap = d->pool_cap ? d->pool_cap * 2 : 16;
        tentry_t *np = realloc(d->pool, cap * sizeof *np);
        if (!np)
            return RV_ERR__NOMEM;
        d->pool = np;
        d->pool_cap = cap;
    }
    long x = (long)d->pool_cnt++;
    d->pool[x] = (tentry_t){.node = node, .left = -1, .right = -1, .parent = parent, .black = 0};
    if (parent < 0) {
        *root = x;
        d->pool[x].black = 1;
        return 0;
    }
    if (cmp < 0)
        d->pool[parent].left = x;
    else
        d->pool[parent].right = x;
    while (x >= 0 && x != *root && !d->pool[d->pool[x].parent].black) {
        long px = TPARENT(x), gx = TPARENT(px);
        if (px == TLEFT(gx)) {
            long y = TRIGHT(gx);
            if (!TBLACK(y)) {
                TSETBLACK(px, 1);
                TSETBLACK(y, 1);
                TSETBLACK(gx, 0);
                x = gx;
            } else {
                if (x == TRIGHT(px)) {
                    x = px;
                    rotate_left(d, root, x);
                }
                TSETBLACK(TPARENT(x), 1);
                TSETBLACK(TPARENT(TPARENT(x)), 0);
                rotate_right(d, root, TPARENT(TPARENT(x)));
            }
        } else {
            long y = TLEFT(gx);
            if (!TBLACK(y)) {
                TSETBLACK(px, 1);
                TSETBLACK(y, 1);
                TSETBLACK(gx, 0);
                x = gx;
            } else {
                if (x == TLEFT(px)) {
                    x = px;
                    rotate_right(d, root, x);
                }
                TSETBLACK(TPARENT(x), 1);
                TSETBLACK(TPARENT(TPARENT(x)), 0);
                rotate_left(d, root, TPARENT(TPARENT(x)));
            }
        }
    }
    d->pool[*root].black = 1;
    return 0;
}

/* Visits a tree in order (TreeSet iteration). */
typedef void tree_visit_fn(desc_t *d, size_t node, void *arg);

static void tree_walk(desc_t *d, long e, tree_visit_fn *fn, void *arg) {
    if (e < 0)
        return;
    tree_walk(d, d->pool[e].left, fn, arg);
    fn(d, d->pool[e].node, arg);
    tree_walk(d, d->pool[e].right, fn, arg);
}

static void update_size(desc_t *d, size_t node, int32_t delta);

static void update_size_visit(desc_t *d, size_t node, void *arg) {
    update_size(d, node, *(int32_t *)arg);
}

/* Kafka's updateSize(): the node and, recursively, its predecessors. */
static void update_size(desc_t *d, size_t node, int32_t delta) {
    d->size[node] = (int32_t)((uint32_t)d->size[node] + (uint32_t)delta);
    tree_walk(d, d->pred_root[node], update_size_visit, &delta);
}

typedef struct names_arg_s {
    rv__buf_t *b;
    int first;
    rv_err_t err;
} names_arg_t;

static void names_visit(desc_t *d, size_t node, void *arg) {
    names_arg_t *a = arg;
    if (!a->err)
        a->err = rv__buf_printf(a->b, "%s%s", a->first ? "" : ", ", dname(d, node));
    a->first = 0;
}

/* Kafka's nodeNames(): "a, b" or "none". */
static rv_err_t put_names(desc_t *d, rv__buf_t *b, long root) {
    if (root < 0)
        return rv__buf_printf(b, "none");
    names_arg_t a = {b, 1, 0};
    tree_walk(d, root, names_visit, &a);
    return a.err;
}

/* One node's lines (Source/Processor/Sink toString()). */
static rv_err_t put_node(desc_t *d, rv__buf_t *b, size_t local) {
    const rv__tnode_t *n = d->t->nodes[d->ids[local]];
    rv_err_t err = 0;
    if (n->kind == RV__TNODE_SOURCE) {
        err = rv__buf_printf(b, "Source: %s (topics: ", n->name);
        if (!err)
            err = n->pattern ? rv__buf_printf(b, "%s", n->pattern)
                             : put_java_set(b, (const char *const *)n->topics, n->topic_cnt);
        if (!err)
            err = rv__buf_printf(b, ")\n      --> ");
        if (!err)
            err = put_names(d, b, d->succ_root[local]);
    } else if (n->kind == RV__TNODE_PROCESSOR) {
        const char **stores = calloc(n->store_cnt ? n->store_cnt : 1, sizeof *stores);
        if (!stores)
            return RV_ERR__NOMEM;
        for (size_t i = 0; i < n->store_cnt; i++)
            stores[i] = d->t->stores[n->stores[i]]->name;
        err = rv__buf_printf(b, "Processor: %s (stores: ", n->name);
        if (!err)
            err = put_java_set(b, stores, n->store_cnt);
        free(stores);
        if (!err)
            err = rv__buf_printf(b, ")\n      --> ");
        if (!err)
            err = put_names(d, b, d->succ_root[local]);
        if (!err)
            err = rv__buf_printf(b, "\n      <-- ");
        if (!err)
            err = put_names(d, b, d->pred_root[local]);
    } else {
        if (n->topic)
            err = rv__buf_printf(b, "Sink: %s (topic: %s)\n      <-- ", n->name, n->topic);
        else
            err = rv__buf_printf(b, "Sink: %s (extractor class: %s)\n      <-- ", n->name,
                                 n->extractor_name);
        if (!err)
            err = put_names(d, b, d->pred_root[local]);
    }
    return err;
}

/* Kafka's describeSubtopology() + SubtopologyDescription.toString(). */
static rv_err_t describe_group(const rv_topology_t *t, rv__buf_t *b, int id, const size_t *ids,
                               size_t n) {
    desc_t d = {.t = t, .n = n};
    rv_err_t err = RV_ERR__NOMEM;
    hash_item_t *order = calloc(n, sizeof *order);
    size_t *sorted = calloc(n, sizeof *sorted);
    d.ids = calloc(n, sizeof *d.ids);
    d.size = calloc(n, sizeof *d.size);
    d.pred_root = calloc(n, sizeof *d.pred_root);
    d.succ_root = calloc(n, sizeof *d.succ_root);
    if (!order || !sorted || !d.ids || !d.size || !d.pred_root || !d.succ_root)
        goto out;
    for (size_t i = 0; i < n; i++) {
        d.ids[i] = ids[i];
        d.size[i] = 1;
        d.pred_root[i] = d.succ_root[i] = -1;
        order[i] = (hash_item_t){.s = t->nodes[ids[i]]->name, .pos = i, .payload = i};
    }
    /* nodesByName.values(): a HashMap filled from the group's HashSet. */
    java_hash_sort(order, n, cap_grown(n));
    for (size_t k = 0; k < n; k++) {
        size_t x = order[k].payload;
        const rv__tnode_t *node = t->nodes[ids[x]];
        for (size_t j = 0; j < node->parent_cnt; j++) {
            size_t p = 0;
            while (p < n && ids[p] != node->parents[j])
                p++;
            rv_assert(p < n);
            if ((err = tree_insert(&d, &d.pred_root[x], p)) ||
                (err = tree_insert(&d, &d.succ_root[p], x)))
                goto out;
            update_size(&d, p, d.size[x]);
        }
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = i;
    /* The new TreeSet of the SubtopologyDescription, with final sizes
     * (insertion sort: no global state for qsort, and groups are small). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && node_cmp(&d, sorted[j], sorted[j - 1]) < 0; j--) {
            size_t tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }
    err = rv__buf_printf(b, "Sub-topology: %d\n", id);
    for (size_t i = 0; i < n && !err; i++) {
        err = rv__buf_printf(b, "    ");
        if (!err)
            err = put_node(&d, b, sorted[i]);
        if (!err)
            err = rv__buf_append(b, "\n", 1);
    }
    if (!err)
        err = rv__buf_append(b, "\n", 1);
out:
    free(order);
    free(sorted);
    free(d.ids);
    free(d.size);
    free(d.pred_root);
    free(d.succ_root);
    free(d.pool);
    return err;
}

/* Kafka's GlobalStore.toString(). */
static rv_err_t describe_global(const rv_topology_t *t, rv__buf_t *b, int id, const size_t *ids,
                                size_t n) {
    const rv__tnode_t *src = NULL, *proc = NULL;
    for (size_t i = 0; i < n; i++) {
        const rv__tnode_t *x = t->nodes[ids[i]];
        if (x->kind == RV__TNODE_SOURCE)
            src = x;
        else
            proc = x;
    }
    rv_assert(src && proc && proc->store_cnt == 1);
    return rv__buf_printf(b,
                          "Sub-topology: %d for global store (will not generate tasks)\n"
                          "    Source: %s (topics: [%s])\n      --> %s\n"
                          "    Processor: %s (stores: [%s])\n      --> none\n      <-- %s\n",
                          id, src->name, src->topics[0], proc->name, proc->name,
                          t->stores[proc->stores[0]]->name, src->name);
}

char *rv_topology_describe(const rv_topology_t *t) {
    if (!t)
        return NULL;
    rv__buf_t b;
    rv__buf_init(&b);
    size_t n = t->node_cnt;
    int *group = malloc((n ? n : 1) * sizeof *group);
    size_t *ids = malloc((n ? n : 1) * sizeof *ids);
    long groups = group && ids ? node_groups(t, group) : -1;
    rv_err_t err = groups < 0 ? RV_ERR__NOMEM : rv__buf_printf(&b, "Topologies:\n ");
    for (long g = 0; g < groups && !err; g++) {
        size_t m = 0;
        int global = 0;
        for (size_t i = 0; i < n; i++)
            if (group[i] == g) {
                ids[m++] = i;
                global |= t->nodes[i]->global;
            }
        err = rv__buf_printf(&b, "  ");
        if (!err)
            err = global ? describe_global(t, &b, (int)g, ids, m)
                         : describe_group(t, &b, (int)g, ids, m);
    }
    if (!err)
        err = rv__buf_append(&b, "", 1); /* the terminator */
    free(group);
    free(ids);
    if (err) {
        rv__buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* ---- built-in timestamp extractors (rivulet/processor.h) ---- */

static rv_err_t invalid_ts(const rv_record_t *r, int64_t ts, char *errstr, size_t errstr_size) {
    rv__errstr_set(errstr, errstr_size,
                   "Input record (topic=%s, partition=%d, offset=%lld, timestamp=%lld) has "
                   "invalid (negative) timestamp. Possibly because a pre-0.10 producer client was "
                   "used to write this record to Kafka without embedding a timestamp, or because "
                   "the input topic was created before upgrading the Kafka cluster to 0.10+. Use a "
                   "different TimestampExtractor to process this data.",
                   rv_record_topic(r), (int)rv_record_partition(r), (long long)rv_record_offset(r),
                   (long long)ts);
    return RV_ERR__INVALID_ARG;
}

rv_err_t rv_timestamp_extractor_fail_on_invalid(int64_t *out, const rv_record_t *record,
                                                int64_t partition_time, void *opaque, char *errstr,
                                                size_t errstr_size) {
    (void)partition_time;
    (void)opaque;
    int64_t ts = rv_record_timestamp(record);
    if (ts < 0) {
        rv_err_t err = invalid_ts(record, ts, errstr, errstr_size);
        rv__log_err("STREAMS", "%s", errstr ? errstr : "invalid (negative) timestamp");
        return err;
    }
    *out = ts;
    return 0;
}

rv_err_t rv_timestamp_extractor_log_and_skip_on_invalid(int64_t *out, const rv_record_t *record,
                                                        int64_t partition_time, void *opaque,
                                                        char *errstr, size_t errstr_size) {
    (void)partition_time;
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    int64_t ts = rv_record_timestamp(record);
    if (ts < 0)
        rv__log_warn("STREAMS",
                     "Input record (topic=%s, partition=%d, offset=%lld, timestamp=%lld) will be "
                     "dropped because it has an invalid (negative) timestamp.",
                     rv_record_topic(record), (int)rv_record_partition(record),
                     (long long)rv_record_offset(record), (long long)ts);
    *out = ts;
    return 0;
}

rv_err_t rv_timestamp_extractor_use_partition_time_on_invalid(int64_t *out,
                                                              const rv_record_t *record,
                                                              int64_t partition_time, void *opaque,
                                                              char *errstr, size_t errstr_size) {
    (void)opaque;
    int64_t ts = rv_record_timestamp(record);
    if (ts >= 0) {
        *out = ts;
        return 0;
    }
    if (partition_time < 0) {
        rv__errstr_set(errstr, errstr_size,
                       "Could not infer new timestamp for input record (topic=%s, partition=%d, "
                       "offset=%lld) because partition time is unknown.",
                       rv_record_topic(record), (int)rv_record_partition(record),
                       (long long)rv_record_offset(record));
        return RV_ERR__INVALID_ARG;
    }
    *out = partition_time;
    return 0;
}

rv_err_t rv_timestamp_extractor_wallclock(int64_t *out, const rv_record_t *record,
                                          int64_t partition_time, void *opaque, char *errstr,
                                          size_t errstr_size) {
    (void)record;
    (void)partition_time;
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    *out = rv__now_ms();
    return 0;
}
