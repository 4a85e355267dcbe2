/* dsl/kstream.c: KStream's stateless operators (filter, filter_not, map,
 * map_values, flat_map, flat_map_values, select_key, peek, foreach), split
 * into branches, merge, repartition, to (fixed topic or chosen per
 * record) and process, as Kafka Streams' KStreamImpl and
 * BranchedKStreamImpl build them. The builder side (names, serdes,
 * repartition topics, processor suppliers) is dsl/builder.c; joins,
 * to_table and grouping live with the tables and aggregations.
 *
 * Every operator here is one processor node whose configuration (the
 * user function and its opaque) sits in the builder's shared memory, and
 * one processor implementation serves them all: each instance keeps a
 * pointer to its configuration and an rv_out_t for the user function's
 * results. Records keep their timestamp and headers; only the key and/or
 * value change (Kafka's record.withKey()/withValue()).
 *
 * Serdes follow KStreamImpl: filter, filter_not, peek, split branches and
 * repartition keep both; map, flat_map and merge drop both; map_values and
 * flat_map_values drop the value serde; select_key drops the key serde;
 * process drops both. map, flat_map, select_key and process mark the
 * stream as needing a repartition before a join or an aggregation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/dsl_internal.h"
#include "runtime/topology_internal.h"

/* ---- The processors ---- */

typedef enum op_e {
    OP_FILTER,
    OP_FILTER_NOT,
    OP_MAP,
    OP_MAP_VALUES,
    OP_FLAT_MAP,
    OP_FLAT_MAP_VALUES,
    OP_SELECT_KEY,
    OP_PEEK,
    OP_FOREACH,
    OP_PASS,  /* merge, split branches (Kafka's PassThrough) */
    OP_BRANCH /* split (Kafka's KStreamBranch) */
} op_t;

/* One branch of a split, in the order added; the default branch last. */
typedef struct branch_s {
    rv_predicate_cb_t *predicate; /* NULL: the default branch */
    void *opaque;
    char *child; /* its processor's name (shared memory) */
    rv_kstream_t *stream;
    struct branch_s *next;
} branch_t;

typedef struct op_config_s {
    op_t op;
    rv_predicate_cb_t *predicate;
    rv_mapper_cb_t *mapper;
    rv_foreach_cb_t *action;
    void *opaque;
    branch_t *branches; /* OP_BRANCH: filled as branches are added */
} op_config_t;

typedef struct op_state_s {
    const op_config_t *cfg;
    rv_out_t out;
} op_state_t;

static rv_err_t op_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                           void *state) {
    op_state_t *st = state;
    const op_config_t *c = st->cfg;
    rv_out_t *out = &st->out;
    rv_processor_record_t fwd = *r;
    rv_err_t err;
    int match;

    switch (c->op) {
    case OP_FILTER:
    case OP_FILTER_NOT:
        match = c->predicate(r->key, r->key_len, r->value, r->value_len, c->opaque);
        if (match < 0)
            return (rv_err_t)match;
        if ((match != 0) == (c->op == OP_FILTER))
            return rv_processor_context_forward(ctx, r);
        return 0;

    case OP_MAP:
    case OP_MAP_VALUES:
    case OP_SELECT_KEY:
        rv__out_reset(out, c->op == OP_MAP          ? RV__OUT_KEY_VALUE
                           : c->op == OP_MAP_VALUES ? RV__OUT_VALUE
                                                    : RV__OUT_KEY);
        if (!out->cnt)
            return RV_ERR__NOMEM;
        err = c->mapper(out, r->key, r->key_len, r->value, r->value_len, c->opaque);
        if (err)
            return err;
        if (c->op != OP_MAP_VALUES) {
            fwd.key = out->items[0].key;
            fwd.key_len = out->items[0].key_len;
        }
        if (c->op != OP_SELECT_KEY) {
            fwd.value = out->items[0].value;
            fwd.value_len = out->items[0].value_len;
        }
        return rv_processor_context_forward(ctx, &fwd);

    case OP_FLAT_MAP:
    case OP_FLAT_MAP_VALUES:
        rv__out_reset(out, c->op == OP_FLAT_MAP ? RV__OUT_PAIRS : RV__OUT_VALUES);
        err = c->mapper(out, r->key, r->key_len, r->value, r->value_len, c->opaque);
        if (err)
            return err;
        for (size_t i = 0; i < out->cnt; i++) {
            if (c->op == OP_FLAT_MAP) {
                fwd.key = out->items[i].key;
                fwd.key_len = out->items[i].key_len;
            }
            fwd.value = out->items[i].value;
            fwd.value_len = out->items[i].value_len;
            err = rv_processor_context_forward(ctx, &fwd);
            if (err)
                return err;
        }
        return 0;

    case OP_PEEK:
    case OP_FOREACH:
        err = c->action(r->key, r->key_len, r->value, r->value_len, c->opaque);
        if (err || c->op == OP_FOREACH)
            return err;
        return rv_processor_context_forward(ctx, r);

    case OP_PASS:
        return rv_processor_context_forward(ctx, r);

    case OP_BRANCH:
        /* The first branch whose predicate holds takes the record; the
         * default branch (last, no predicate) takes the rest. */
        for (const branch_t *br = c->branches; br; br = br->next) {
            if (br->predicate) {
                match = br->predicate(r->key, r->key_len, r->value, r->value_len, br->opaque);
                if (match < 0)
                    return (rv_err_t)match;
                if (!match)
                    continue;
            }
            return rv_processor_context_forward_to(ctx, r, br->child);
        }
        return 0;
    }
    return 0;
}

static void op_close(void *state) {
    op_state_t *st = state;
    if (!st)
        return;
    rv__out_free(&st->out);
    free(st);
}

static rv_err_t op_get(rv_processor_t *p, void *config) {
    op_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return RV_ERR__NOMEM;
    st->cfg = config;
    p->process = op_process;
    p->close = op_close;
    p->state = st;
    return 0;
}

/* ---- Building ---- */

static rv_streams_builder_t *builder_of(rv_kstream_t *s) {
    return s ? s->b : NULL;
}

/* Adds an operator node named from `given` or prefix, child of s. Returns
 * its configuration (with op set), the node's name in `name`, or NULL with
 * the builder's error set. */
static op_config_t *add_op(rv_kstream_t *s, op_t op, const char *given, const char *prefix,
                           char *name, size_t name_size) {
    rv_streams_builder_t *b = s->b;
    op_config_t *c = rv__dsl_alloc(b, sizeof *c);
    if (!c)
        return NULL;
    c->op = op;
    rv__dsl_name(b, given, prefix, name, name_size);
    if (given && rv__dsl_check_name(b, given))
        return NULL;
    const char *parent = s->node;
    if (rv__dsl_add_processor(b, name, op_get, c, &parent, 1))
        return NULL;
    return c;
}

static rv_kstream_t *filter_common(rv_kstream_t *s, op_t op, rv_predicate_cb_t *predicate,
                                   void *opaque, const char *name) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    if (!predicate) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "predicate can't be null");
        return NULL;
    }
    char node[512];
    op_config_t *c = add_op(s, op, name, "KSTREAM-FILTER-", node, sizeof node);
    if (!c)
        return NULL;
    c->predicate = predicate;
    c->opaque = opaque;
    return rv__kstream_new(b, node, s->key_serde, s->value_serde, s->repartition_required);
}

rv_kstream_t *rv_kstream_filter(rv_kstream_t *s, rv_predicate_cb_t *predicate, void *opaque,
                                const char *name) {
    return filter_common(s, OP_FILTER, predicate, opaque, name);
}

rv_kstream_t *rv_kstream_filter_not(rv_kstream_t *s, rv_predicate_cb_t *predicate, void *opaque,
                                    const char *name) {
    return filter_common(s, OP_FILTER_NOT, predicate, opaque, name);
}

/* map, map_values, flat_map, flat_map_values, select_key: `keep_key` /
 * `keep_value` say which serde survives; `key_changed` marks the stream
 * for repartitioning. */
static rv_kstream_t *mapper_common(rv_kstream_t *s, op_t op, const char *prefix,
                                   rv_mapper_cb_t *mapper, void *opaque, const char *name,
                                   const char *what) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    if (!mapper) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "%s can't be null", what);
        return NULL;
    }
    char node[512];
    op_config_t *c = add_op(s, op, name, prefix, node, sizeof node);
    if (!c)
        return NULL;
    c->mapper = mapper;
    c->opaque = opaque;
    bool key_changed = op == OP_MAP || op == OP_FLAT_MAP || op == OP_SELECT_KEY;
    bool keep_key = !key_changed;
    bool keep_value = op == OP_SELECT_KEY;
    return rv__kstream_new(b, node, keep_key ? s->key_serde : NULL,
                           keep_value ? s->value_serde : NULL,
                           key_changed || s->repartition_required);
}

rv_kstream_t *rv_kstream_map(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                             const char *name) {
    return mapper_common(s, OP_MAP, "KSTREAM-MAP-", mapper, opaque, name, "mapper");
}

rv_kstream_t *rv_kstream_map_values(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                    const char *name) {
    return mapper_common(s, OP_MAP_VALUES, "KSTREAM-MAPVALUES-", mapper, opaque, name,
                         "valueMapperWithKey");
}

rv_kstream_t *rv_kstream_flat_map(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                  const char *name) {
    return mapper_common(s, OP_FLAT_MAP, "KSTREAM-FLATMAP-", mapper, opaque, name, "mapper");
}

rv_kstream_t *rv_kstream_flat_map_values(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                         const char *name) {
    return mapper_common(s, OP_FLAT_MAP_VALUES, "KSTREAM-FLATMAPVALUES-", mapper, opaque, name,
                         "valueMapper");
}

rv_kstream_t *rv_kstream_select_key(rv_kstream_t *s, rv_mapper_cb_t *mapper, void *opaque,
                                    const char *name) {
    return mapper_common(s, OP_SELECT_KEY, "KSTREAM-KEY-SELECT-", mapper, opaque, name, "mapper");
}

rv_kstream_t *rv_kstream_peek(rv_kstream_t *s, rv_foreach_cb_t *action, void *opaque,
                              const char *name) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    if (!action) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "action can't be null");
        return NULL;
    }
    char node[512];
    op_config_t *c = add_op(s, OP_PEEK, name, "KSTREAM-PEEK-", node, sizeof node);
    if (!c)
        return NULL;
    c->action = action;
    c->opaque = opaque;
    return rv__kstream_new(b, node, s->key_serde, s->value_serde, s->repartition_required);
}

rv_err_t rv_kstream_foreach(rv_kstream_t *s, rv_foreach_cb_t *action, void *opaque,
                            const char *name) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return RV_ERR__INVALID_ARG;
    if (!action)
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG, "action can't be null");
    char node[512];
    op_config_t *c = add_op(s, OP_FOREACH, name, "KSTREAM-FOREACH-", node, sizeof node);
    if (!c)
        return b->err ? b->err : RV_ERR__INVALID_ARG;
    c->action = action;
    c->opaque = opaque;
    return 0;
}

/* ---- split ---- */

struct rv_branched_kstream_s {
    rv_kstream_t *source;
    char *splitter; /* the KSTREAM-BRANCH node's name, the branches' prefix */
    op_config_t *cfg;
    branch_t *tail;
    int predicates; /* branches with a predicate so far */
    bool done;      /* default_branch or no_default_branch was called */
};

rv_branched_kstream_t *rv_kstream_split(rv_kstream_t *s, const char *name) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    rv_branched_kstream_t *bs = rv__dsl_alloc(b, sizeof *bs);
    if (!bs)
        return NULL;
    char node[512];
    bs->cfg = add_op(s, OP_BRANCH, name, "KSTREAM-BRANCH-", node, sizeof node);
    if (!bs->cfg)
        return NULL;
    bs->source = s;
    bs->splitter = rv__dsl_strdup(b, node);
    return bs->splitter ? bs : NULL;
}

/* Kafka's createBranch(): the branch's processor "<splitter><name or
 * index>", burning an index, a PassThrough child of the splitter. */
static rv_branched_kstream_t *create_branch(rv_branched_kstream_t *bs, rv_predicate_cb_t *predicate,
                                            void *opaque, const char *branch_name, int index) {
    rv_streams_builder_t *b = bs->source->b;
    if (bs->done) {
        rv__dsl_fail(b, RV_ERR__STATE,
                     "The split %s was ended already (default_branch or no_default_branch)",
                     bs->splitter);
        return NULL;
    }
    char child[1024], burn[64];
    if (branch_name)
        snprintf(child, sizeof child, "%s%s", bs->splitter, branch_name);
    else
        snprintf(child, sizeof child, "%s%d", bs->splitter, index);
    rv__dsl_name(b, NULL, child, burn, sizeof burn);
    if (branch_name && rv__dsl_check_name(b, child))
        return NULL;
    branch_t *br = rv__dsl_alloc(b, sizeof *br);
    if (!br)
        return NULL;
    br->predicate = predicate;
    br->opaque = opaque;
    br->child = rv__dsl_strdup(b, child);
    if (!br->child)
        return NULL;
    op_config_t *c = rv__dsl_alloc(b, sizeof *c);
    if (!c)
        return NULL;
    c->op = OP_PASS;
    const char *parent = bs->splitter;
    if (rv__dsl_add_processor(b, child, op_get, c, &parent, 1))
        return NULL;
    br->stream = rv__kstream_new(b, child, bs->source->key_serde, bs->source->value_serde,
                                 bs->source->repartition_required);
    if (!br->stream)
        return NULL;
    /* Linked in only now, so the splitter never routes to a node that
     * does not exist. */
    if (bs->tail)
        bs->tail->next = br;
    else
        bs->cfg->branches = br;
    bs->tail = br;
    return bs;
}

rv_branched_kstream_t *rv_branched_kstream_branch(rv_branched_kstream_t *bs,
                                                  rv_predicate_cb_t *predicate, void *opaque,
                                                  const char *branch_name) {
    if (!bs)
        return NULL;
    if (!predicate) {
        rv__dsl_fail(bs->source->b, RV_ERR__INVALID_ARG, "predicate can't be null");
        return NULL;
    }
    rv_branched_kstream_t *r =
        create_branch(bs, predicate, opaque, branch_name, bs->predicates + 1);
    if (r)
        bs->predicates++;
    return r;
}

rv_branched_kstream_t *rv_branched_kstream_default_branch(rv_branched_kstream_t *bs,
                                                          const char *branch_name) {
    if (!bs)
        return NULL;
    rv_branched_kstream_t *r = create_branch(bs, NULL, NULL, branch_name, 0);
    if (r)
        bs->done = true;
    return r;
}

rv_branched_kstream_t *rv_branched_kstream_no_default_branch(rv_branched_kstream_t *bs) {
    if (!bs)
        return NULL;
    bs->done = true;
    return bs;
}

rv_kstream_t *rv_branched_kstream_get(const rv_branched_kstream_t *bs, const char *full_name) {
    if (!bs || !full_name)
        return NULL;
    for (const branch_t *br = bs->cfg->branches; br; br = br->next)
        if (!strcmp(br->child, full_name))
            return br->stream;
    return NULL;
}

/* ---- merge, repartition ---- */

rv_kstream_t *rv_kstream_merge(rv_kstream_t *s, rv_kstream_t *other, const char *name) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    if (!other) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "stream can't be null");
        return NULL;
    }
    if (other->b != b) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "Invalid topology: merge() needs two streams of the same builder");
        return NULL;
    }
    op_config_t *c = rv__dsl_alloc(b, sizeof *c);
    if (!c)
        return NULL;
    c->op = OP_PASS;
    char node[512];
    rv__dsl_name(b, name, "KSTREAM-MERGE-", node, sizeof node);
    if (name && rv__dsl_check_name(b, name))
        return NULL;
    const char *parents[2] = {s->node, other->node};
    if (rv__dsl_add_processor(b, node, op_get, c, parents, 2))
        return NULL;
    /* Neither serde can stand for both streams. */
    return rv__kstream_new(b, node, NULL, NULL,
                           s->repartition_required || other->repartition_required);
}

rv_kstream_t *rv_kstream_repartition(rv_kstream_t *s, const rv_repartitioned_t *opts) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    rv_repartitioned_t o = RV_REPARTITIONED_INIT;
    if (opts) {
        if (opts->version != RV_REPARTITIONED_VERSION) {
            rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_repartitioned_t version %d",
                         opts->version);
            return NULL;
        }
        o = *opts;
    }
    if (o.partitions < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "Number of partitions must be greater than zero, was %d", (int)o.partitions);
        return NULL;
    }
    char base[512];
    if (o.name) {
        if (rv__dsl_check_name(b, o.name))
            return NULL;
        snprintf(base, sizeof base, "%s", o.name);
    } else {
        rv__dsl_name(b, NULL, "KSTREAM-REPARTITION-", base, sizeof base);
    }
    const rv_serde_t *ks = o.key_serde ? o.key_serde : s->key_serde;
    const rv_serde_t *vs = o.value_serde ? o.value_serde : s->value_serde;
    char source[600];
    if (rv__dsl_repartition(source, sizeof source, b, s->node, base, o.name == NULL, ks, vs,
                            o.partitioner, o.partitioner_opaque, o.partitions))
        return NULL;
    return rv__kstream_new(b, source, ks, vs, false);
}

/* ---- to ---- */

static rv_err_t sink_opts(rv_kstream_t *s, rv_sink_opts_t *so, const rv_produced_t *p) {
    *so = (rv_sink_opts_t)RV_SINK_OPTS_INIT;
    so->key_serializer = s->key_serde;
    so->value_serializer = s->value_serde;
    if (!p)
        return 0;
    if (p->version != RV_PRODUCED_VERSION)
        return rv__dsl_fail(s->b, RV_ERR__INVALID_ARG, "Unsupported rv_produced_t version %d",
                            p->version);
    if (p->key_serde)
        so->key_serializer = p->key_serde;
    if (p->value_serde)
        so->value_serializer = p->value_serde;
    so->partitioner = p->partitioner;
    so->partitioner_opaque = p->partitioner_opaque;
    return 0;
}

static rv_err_t to_common(rv_kstream_t *s, const char *topic,
                          rv_topic_name_extractor_cb_t *extractor, void *extractor_opaque,
                          const char *extractor_name, const rv_produced_t *produced) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return RV_ERR__INVALID_ARG;
    if (!topic && !extractor)
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG, "%s can't be null",
                            extractor_name ? "topicExtractor" : "topic");
    rv_sink_opts_t so;
    rv_err_t err = sink_opts(s, &so, produced);
    if (err)
        return err;
    const char *given = produced ? produced->name : NULL;
    char node[512];
    rv__dsl_name(b, given, "KSTREAM-SINK-", node, sizeof node);
    if (given && (err = rv__dsl_check_name(b, given)))
        return err;
    if (!b->topo)
        return rv__dsl_fail(b, RV_ERR__STATE, "The builder was built already");
    char errstr[512] = "";
    const char *parent = s->node;
    err = topic ? rv_topology_add_sink(b->topo, node, topic, &so, &parent, 1, errstr, sizeof errstr)
                : rv_topology_add_sink_extractor(b->topo, node, extractor, extractor_opaque,
                                                 extractor_name, &so, &parent, 1, errstr,
                                                 sizeof errstr);
    if (err)
        return rv__dsl_topology_fail(b, err, errstr);
    return 0;
}

rv_err_t rv_kstream_to(rv_kstream_t *s, const char *topic, const rv_produced_t *produced) {
    if (s && !topic)
        return rv__dsl_fail(s->b, RV_ERR__INVALID_ARG, "topic can't be null");
    return to_common(s, topic, NULL, NULL, NULL, produced);
}

rv_err_t rv_kstream_to_extractor(rv_kstream_t *s, rv_topic_name_extractor_cb_t *extractor,
                                 void *extractor_opaque, const char *extractor_name,
                                 const rv_produced_t *produced) {
    if (s && !extractor)
        return rv__dsl_fail(s->b, RV_ERR__INVALID_ARG, "topicExtractor can't be null");
    return to_common(s, NULL, extractor, extractor_opaque, extractor_name, produced);
}

/* ---- process ---- */

rv_kstream_t *rv_kstream_process(rv_kstream_t *s, const rv_processor_supplier_t *supplier,
                                 const char *const *stores, size_t store_cnt, const char *name) {
    rv_streams_builder_t *b = builder_of(s);
    if (!b)
        return NULL;
    if (!supplier || !supplier->get) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "processorSupplier can't be null");
        return NULL;
    }
    if (store_cnt && !stores) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "stateStoreNames can't be a null array");
        return NULL;
    }
    if (!b->topo) {
        rv__dsl_fail(b, RV_ERR__STATE, "The builder was built already");
        return NULL;
    }
    /* Stores are checked before the node is added, so that on failure the
     * caller still owns supplier->opaque. */
    for (size_t i = 0; i < store_cnt; i++) {
        if (!stores[i]) {
            rv__dsl_fail(b, RV_ERR__INVALID_ARG, "stateStoreNames can't be null");
            return NULL;
        }
        if (!rv__topology_store_find(b->topo, stores[i])) {
            rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                         "Invalid topology: StateStore %s is not added yet.", stores[i]);
            return NULL;
        }
    }
    /* Kafka generates the name (burning an index) only when none is
     * given. */
    char node[512];
    if (name) {
        if (rv__dsl_check_name(b, name))
            return NULL;
        snprintf(node, sizeof node, "%s", name);
    } else {
        rv__dsl_name(b, NULL, "KSTREAM-PROCESSOR-", node, sizeof node);
    }
    char errstr[512] = "";
    const char *parent = s->node;
    rv_err_t err =
        rv_topology_add_processor(b->topo, node, supplier, &parent, 1, errstr, sizeof errstr);
    if (err) {
        rv__dsl_topology_fail(b, err, errstr);
        return NULL;
    }
    if (store_cnt) {
        err = rv_topology_connect_processor_and_state_stores(b->topo, node, stores, store_cnt,
                                                             errstr, sizeof errstr);
        if (err) {
            rv__dsl_topology_fail(b, err, errstr);
            return NULL;
        }
    }
    return rv__kstream_new(b, node, NULL, NULL, true);
}
