/* dsl/ktable.c: KTables, GlobalKTables and the joins that read tables, as
 * Kafka Streams' KTableImpl, KTableSource, KTableFilter, KTableMapValues,
 * KTableKTable{Inner,Left,Right,Outer}Join, KTableKTableJoinMerger,
 * KStreamKTableJoin, KStreamGlobalKTableJoin and their value getters. The
 * rest of the DSL is in dsl/builder.c (names, errors, rv_out_t,
 * repartitioning), dsl/kstream.c and dsl/aggregate.c; the rows of a
 * materialized table node are read and written by dsl/table_store.c.
 *
 * DESIGN
 *
 * Nodes. Every KTable operator adds one processor (a table-table join
 * three: KTABLE-JOINTHIS, KTABLE-JOINOTHER and the KTABLE-MERGE node the
 * result table is), forwarding rv__change_t values (see dsl_internal.h).
 * Each handle carries a kt_impl_t naming its kind and its node's
 * configuration, so that a later operator can reach back: Kafka's
 * enableSendingOldValues() walks up the chain (kt_enable_old()), and
 * valueGetterSupplier() builds a getter (kt_getter()), materializing a
 * source table on the way (KTableSource.materialize()).
 *
 * Source stores on demand. table() and to_table() always name a store
 * (Materialized's, else "<topic>-STATE-STORE-<n>", burning an index as
 * Kafka does) and make its store builder at once, while Materialized is
 * at hand; the builder waits in a pending_store_t until a join, a getter
 * or old values need the store, and is then added to the topology,
 * connected to the KTABLE-SOURCE node. One never needed is freed with the
 * builder's shared memory. A table named by Materialized is materialized
 * at once.
 *
 * Getters. An rv__getter_t is a small tree built with the topology: a
 * store leaf (a materialized node's or a global store), a filter or
 * map_values applied to its parent's result, or a table-table join of two
 * getters. Each processor that reads a table makes its own instance of
 * the tree in init() (getter_inst_t), and is connected to every store of
 * its leaves (global stores need no connection). An instance keeps the
 * row it returned last (a store leaf's deserialized value, a mapper's or
 * joiner's rv_out_t), valid until its next get: a join holds one row of
 * each side at a time, which is all it needs.
 *
 * Old values. A node sends old values in its Changes when its flags say
 * so at the time tasks are made: flags live in the node configurations,
 * which the builder can still change after the node was added. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "dsl/dsl_internal.h"

#define NAME_MAX_LEN 512

/* ======================================================================
 * Getters: the build-time tree
 * ====================================================================== */

typedef enum getter_kind_e { G_STORE, G_FILTER, G_MAP_VALUES, G_JOIN } getter_kind_t;

typedef enum join_kind_e { J_INNER, J_LEFT, J_RIGHT, J_OUTER } join_kind_t;

struct rv__getter_s {
    getter_kind_t kind;
    /* G_STORE */
    const char *store;
    const rv_serde_t *key_serde, *value_serde;
    bool global; /* a global store: readable without a connection */
    /* G_FILTER, G_MAP_VALUES: p1; G_JOIN: p1 (this side) and p2 */
    const rv__getter_t *p1, *p2;
    rv_predicate_cb_t *predicate;
    bool filter_not;
    rv_mapper_cb_t *mapper;
    rv_value_joiner_cb_t *joiner;
    void *opaque;
    join_kind_t join;
};

rv__getter_t *rv__getter_store(rv_streams_builder_t *b, const char *store,
                               const rv_serde_t *key_serde, const rv_serde_t *value_serde) {
    rv__getter_t *g = rv__dsl_alloc(b, sizeof *g);
    if (!g)
        return NULL;
    g->kind = G_STORE;
    g->store = rv__dsl_strdup(b, store);
    if (!g->store)
        return NULL;
    g->key_serde = key_serde;
    g->value_serde = value_serde;
    return g;
}

/* Collects the names of the non-global stores g reads into names[0..*cnt)
 * (at most cap, without duplicates). */
static void getter_stores(const rv__getter_t *g, const char **names, size_t *cnt, size_t cap) {
    if (!g)
        return;
    if (g->kind == G_STORE) {
        if (g->global)
            return;
        for (size_t i = 0; i < *cnt; i++)
            if (!strcmp(names[i], g->store))
                return;
        if (*cnt < cap)
            names[(*cnt)++] = g->store;
        return;
    }
    getter_stores(g->p1, names, cnt, cap);
    getter_stores(g->p2, names, cnt, cap);
}

rv_err_t rv__getter_connect(rv_streams_builder_t *b, const rv__getter_t *g, const char *processor) {
    const char *names[64];
    size_t cnt = 0;
    getter_stores(g, names, &cnt, 64);
    if (!cnt)
        return RV_ERR_NO_ERROR;
    char errstr[512] = "";
    rv_err_t err = rv_topology_connect_processor_and_state_stores(b->topo, processor, names, cnt,
                                                                  errstr, sizeof errstr);
    if (err)
        return rv__dsl_topology_fail(b, err, errstr);
    return RV_ERR_NO_ERROR;
}

/* ======================================================================
 * Getters: the run-time instances
 * ====================================================================== */

typedef struct getter_inst_s {
    const rv__getter_t *g;
    struct getter_inst_s *p1, *p2;
    /* G_STORE */
    rv_kv_store_t *store;
    const rv_serde_t *key_serde, *value_serde;
    void *held; /* the last row's deserialized value */
    /* G_MAP_VALUES, G_JOIN */
    rv_out_t out;
} getter_inst_t;

static void getter_inst_free(getter_inst_t *gi) {
    if (!gi)
        return;
    getter_inst_free(gi->p1);
    getter_inst_free(gi->p2);
    if (gi->held)
        rv_serde_free(gi->value_serde, gi->held);
    rv__out_free(&gi->out);
    free(gi);
}

static getter_inst_t *getter_inst_new(const rv__getter_t *g) {
    getter_inst_t *gi = calloc(1, sizeof *gi);
    if (!gi)
        return NULL;
    gi->g = g;
    if ((g->p1 && !(gi->p1 = getter_inst_new(g->p1))) ||
        (g->p2 && !(gi->p2 = getter_inst_new(g->p2)))) {
        getter_inst_free(gi);
        return NULL;
    }
    return gi;
}

/* Finds the stores of the tree's leaves in ctx (init()). */
static rv_err_t getter_inst_init(getter_inst_t *gi, rv_processor_context_t *ctx) {
    if (!gi)
        return RV_ERR_NO_ERROR;
    if (gi->g->kind == G_STORE) {
        gi->store = rv_processor_context_get_state_store(ctx, gi->g->store);
        if (!gi->store) {
            rv__log_err("dsl", "A table lookup cannot reach store %s: %s", gi->g->store,
                        rv_processor_context_last_error(ctx));
            return RV_ERR__INVALID_ARG;
        }
        gi->key_serde = rv__dsl_serde(gi->g->key_serde, ctx, true);
        gi->value_serde = rv__dsl_serde(gi->g->value_serde, ctx, false);
        if (!gi->key_serde || !gi->value_serde) {
            rv__log_err("dsl",
                        "Store %s has no serde: set one in the DSL call or default.key.serde / "
                        "default.value.serde",
                        gi->g->store);
            return RV_ERR__INVALID_ARG;
        }
        return RV_ERR_NO_ERROR;
    }
    rv_err_t err = getter_inst_init(gi->p1, ctx);
    return err ? err : getter_inst_init(gi->p2, ctx);
}

/* The single value a user function returned through `out` (NULL, -1 when
 * it returned null). */
static void out_result(const rv_out_t *out, const void **value, int32_t *len) {
    if (out->cnt > 0 && out->items[out->cnt - 1].value) {
        *value = out->items[out->cnt - 1].value;
        *len = out->items[out->cnt - 1].value_len;
    } else {
        *value = NULL;
        *len = -1;
    }
}

/* Calls joiner for (left, right) into out and returns its result. */
static rv_err_t call_joiner(const void **res, int32_t *res_len, rv_out_t *out,
                            rv_value_joiner_cb_t *joiner, void *opaque, const void *key,
                            int32_t key_len, const void *left, int32_t left_len, const void *right,
                            int32_t right_len) {
    rv__out_reset(out, RV__OUT_VALUE);
    if (!left)
        left_len = -1;
    if (!right)
        right_len = -1;
    rv_err_t err = joiner(out, key, key_len, left, left_len, right, right_len, opaque);
    if (err)
        return err;
    out_result(out, res, res_len);
    return RV_ERR_NO_ERROR;
}

/* The table's current row for key: *value (NULL when none; borrowed until
 * the instance's next get), its length and *ts (-1 when none). */
static rv_err_t getter_get(getter_inst_t *gi, const void *key, int32_t key_len, const void **value,
                           int32_t *value_len, int64_t *ts) {
    const rv__getter_t *g = gi->g;
    *value = NULL;
    *value_len = -1;
    *ts = -1;
    rv_err_t err;
    switch (g->kind) {
    case G_STORE: {
        if (gi->held) {
            rv_serde_free(gi->value_serde, gi->held);
            gi->held = NULL;
        }
        void *kb = NULL;
        int32_t kl = 0;
        char msg[512] = "";
        err = rv_serde_serialize(gi->key_serde, &kb, &kl, NULL, key, key_len, msg, sizeof msg);
        if (err) {
            rv__log_err("dsl", "Failed to serialize the key of a table lookup: %s", msg);
            return err;
        }
        if (!kb)
            return RV_ERR_NO_ERROR;
        rv_bytes_t stored = {0};
        err = rv_kv_store_get(&stored, gi->store, kb, (size_t)kl);
        rv_serde_free(gi->key_serde, kb);
        if (err == RV_ERR__NOENT)
            return RV_ERR_NO_ERROR;
        if (err)
            return err;
        void *v = NULL;
        int32_t vl = -1;
        err = rv__vt_decode(&v, &vl, ts, gi->value_serde, NULL, stored.data, stored.len, msg,
                            sizeof msg);
        rv_bytes_free(&stored);
        if (err) {
            rv__log_err("dsl", "Failed to read a row of table store %s: %s", g->store, msg);
            return err;
        }
        if (!v) {
            *ts = -1;
            return RV_ERR_NO_ERROR;
        }
        gi->held = v;
        *value = v;
        *value_len = vl;
        return RV_ERR_NO_ERROR;
    }
    case G_FILTER: {
        const void *v;
        int32_t vl;
        int64_t t;
        if ((err = getter_get(gi->p1, key, key_len, &v, &vl, &t)) || !v)
            return err;
        int r = g->predicate(key, key_len, v, vl, g->opaque);
        if (r < 0)
            return (rv_err_t)r;
        if ((r != 0) != g->filter_not) {
            *value = v;
            *value_len = vl;
            *ts = t;
        }
        return RV_ERR_NO_ERROR;
    }
    case G_MAP_VALUES: {
        const void *v;
        int32_t vl;
        int64_t t;
        if ((err = getter_get(gi->p1, key, key_len, &v, &vl, &t)) || !v)
            return err;
        rv__out_reset(&gi->out, RV__OUT_VALUE);
        if ((err = g->mapper(&gi->out, key, key_len, v, vl, g->opaque)))
            return err;
        out_result(&gi->out, value, value_len);
        *ts = *value ? t : -1;
        return RV_ERR_NO_ERROR;
    }
    case G_JOIN: {
        const void *v1, *v2 = NULL;
        int32_t l1, l2 = -1;
        int64_t t1, t2 = -1;
        if ((err = getter_get(gi->p1, key, key_len, &v1, &l1, &t1)))
            return err;
        if (!v1 && g->join != J_OUTER)
            return RV_ERR_NO_ERROR;
        if ((err = getter_get(gi->p2, key, key_len, &v2, &l2, &t2)))
            return err;
        if (!v2 && g->join == J_INNER)
            return RV_ERR_NO_ERROR;
        if (!v1 && !v2)
            return RV_ERR_NO_ERROR;
        if ((err = call_joiner(value, value_len, &gi->out, g->joiner, g->opaque, key, key_len, v1,
                               l1, v2, l2)))
            return err;
        *ts = *value ? (t1 > t2 ? t1 : t2) : -1;
        return RV_ERR_NO_ERROR;
    }
    }
    return RV_ERR_NO_ERROR;
}

/* ======================================================================
 * Node configurations (shared memory) and handles
 * ====================================================================== */

typedef enum kt_kind_e { KT_SOURCE, KT_FILTER, KT_MAP_VALUES, KT_MERGE, KT_OTHER } kt_kind_t;

/* A store builder waiting until its table must be materialized. */
typedef struct pending_store_s {
    rv_store_builder_t *sb;
} pending_store_t;

static void pending_store_free(void *p) {
    pending_store_t *ps = p;
    if (ps) {
        rv_store_builder_destroy(ps->sb);
        free(ps);
    }
}

/* KTABLE-SOURCE (a table's source, to_table, a global table's processor). */
typedef struct source_cfg_s {
    rv__ktable_flags_t flags;
    const char *store;
    const rv_serde_t *key_serde, *value_serde;
} source_cfg_t;

/* KTABLE-FILTER and KTABLE-MAPVALUES. */
typedef struct op_cfg_s {
    rv__ktable_flags_t flags;
    const char *store; /* NULL: not materialized */
    const rv_serde_t *key_serde, *value_serde;
    rv_predicate_cb_t *predicate;
    bool filter_not;
    rv_mapper_cb_t *mapper;
    void *opaque;
} op_cfg_t;

/* KTABLE-JOINTHIS / KTABLE-JOINOTHER. */
typedef struct join_side_cfg_s {
    rv__ktable_flags_t flags;
    join_kind_t kind;
    bool reverse; /* the other side: the joiner gets (other's value, this record's) */
    rv_value_joiner_cb_t *joiner;
    void *opaque;
    const rv__getter_t *getter; /* the other table */
} join_side_cfg_t;

/* KTABLE-MERGE: the join's result table. */
typedef struct merge_cfg_s {
    rv__ktable_flags_t flags;
    const char *store; /* NULL: not materialized */
    const rv_serde_t *key_serde, *value_serde;
} merge_cfg_t;

/* KSTREAM-JOIN / KSTREAM-LEFTJOIN of a stream with a table or a global
 * table. */
typedef struct stream_join_cfg_s {
    const rv__getter_t *getter;
    rv_mapper_cb_t *key_selector; /* NULL: the record's key (a KTable join) */
    void *selector_opaque;
    rv_value_joiner_cb_t *joiner;
    void *opaque;
    bool left;
} stream_join_cfg_t;

typedef struct kt_impl_s {
    kt_kind_t kind;
    void *cfg;
    const char *source_node;                 /* KT_SOURCE: the KTABLE-SOURCE node */
    pending_store_t *pending;                /* KT_SOURCE: its store, until materialized */
    join_side_cfg_t *this_side, *other_side; /* KT_MERGE */
    join_kind_t join;                        /* KT_MERGE */
} kt_impl_t;

/* A global table handle with what only this file needs. */
typedef struct global_ktable_s {
    rv_global_ktable_t pub;
    const char *queryable;
    rv__getter_t *getter;
} global_ktable_t;

static rv_ktable_t *table_new(rv_streams_builder_t *b, const char *node,
                              const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                              const char *store, const char *queryable, rv__ktable_flags_t *flags,
                              rv_ktable_t *parent, kt_kind_t kind, void *cfg) {
    rv_ktable_t *t = rv__dsl_alloc(b, sizeof *t);
    kt_impl_t *impl = rv__dsl_alloc(b, sizeof *impl);
    if (!t || !impl)
        return NULL;
    t->b = b;
    t->node = rv__dsl_strdup(b, node);
    if (!t->node || (store && !(t->store = rv__dsl_strdup(b, store))) ||
        (queryable && !(t->queryable = rv__dsl_strdup(b, queryable))))
        return NULL;
    t->key_serde = key_serde;
    t->value_serde = value_serde;
    t->flags = flags;
    t->parent = parent;
    impl->kind = kind;
    impl->cfg = cfg;
    t->impl = impl;
    return t;
}

rv_ktable_t *rv__ktable_new(rv_streams_builder_t *b, const char *node, const rv_serde_t *key_serde,
                            const rv_serde_t *value_serde, const char *store, const char *queryable,
                            rv__ktable_flags_t *flags, rv_ktable_t *parent) {
    if (!b || b->err)
        return NULL;
    return table_new(b, node, key_serde, value_serde, store, queryable, flags, parent, KT_OTHER,
                     NULL);
}

/* Adds a source table's pending store to the topology (materialize()). */
static rv_err_t kt_materialize(rv_ktable_t *t) {
    kt_impl_t *impl = t->impl;
    source_cfg_t *cfg = impl->cfg;
    if (cfg->flags.materialize)
        return RV_ERR_NO_ERROR;
    rv_streams_builder_t *b = t->b;
    char errstr[512] = "";
    const char *procs[] = {impl->source_node};
    rv_err_t err =
        rv_topology_add_state_store(b->topo, impl->pending->sb, procs, 1, errstr, sizeof errstr);
    if (err)
        return rv__dsl_topology_fail(b, err, errstr);
    impl->pending->sb = NULL; /* the topology owns it now */
    cfg->flags.materialize = true;
    t->store = (char *)cfg->store;
    return RV_ERR_NO_ERROR;
}

/* Kafka's KTableImpl.enableSendingOldValues(forceMaterialization): true
 * when the table's node will send old values. */
static bool kt_enable_old(rv_ktable_t *t, bool force) {
    if (!t || t->b->err)
        return false;
    kt_impl_t *impl = t->impl;
    if (t->flags && t->flags->send_old_values)
        return true;
    switch (impl->kind) {
    case KT_SOURCE: {
        source_cfg_t *cfg = impl->cfg;
        if (!force && !cfg->flags.materialize)
            return false;
        if (kt_materialize(t))
            return false;
        cfg->flags.send_old_values = true;
        return true;
    }
    case KT_FILTER:
    case KT_MAP_VALUES: {
        op_cfg_t *cfg = impl->cfg;
        if (cfg->store || kt_enable_old(t->parent, force))
            cfg->flags.send_old_values = true;
        return cfg->flags.send_old_values;
    }
    case KT_MERGE:
        /* Table-table joins need both sides' old values (and stores). */
        kt_enable_old(t->parent, true);
        kt_enable_old(t->parent2, true);
        impl->this_side->flags.send_old_values = true;
        impl->other_side->flags.send_old_values = true;
        t->flags->send_old_values = true;
        return true;
    case KT_OTHER:
        /* An aggregation's result (Kafka's KStreamAggProcessorSupplier), or
         * another materialized node: it can always send old values. */
        if (t->store || !t->parent) {
            if (t->flags)
                t->flags->send_old_values = true;
            return true;
        }
        if (kt_enable_old(t->parent, force) && t->flags)
            t->flags->send_old_values = true;
        return t->flags && t->flags->send_old_values;
    }
    return false;
}

rv_err_t rv__ktable_enable_send_old_values(rv_ktable_t *t) {
    if (!t)
        return RV_ERR__INVALID_ARG;
    kt_enable_old(t, true);
    return t->b->err;
}

bool rv__ktable_enable_send_old_values_if_materialized(rv_ktable_t *t) {
    return kt_enable_old(t, false);
}

rv__getter_t *rv__ktable_getter(rv_ktable_t *t) {
    if (!t || t->b->err)
        return NULL;
    if (t->getter)
        return t->getter;
    rv_streams_builder_t *b = t->b;
    kt_impl_t *impl = t->impl;
    rv__getter_t *g = NULL;
    if (impl->kind == KT_SOURCE) {
        if (kt_materialize(t))
            return NULL;
        g = rv__getter_store(b, t->store, t->key_serde, t->value_serde);
    } else if (t->store) {
        const rv_serde_t *ks = t->key_serde, *vs = t->value_serde;
        if (impl->kind == KT_FILTER || impl->kind == KT_MAP_VALUES) {
            ks = ((op_cfg_t *)impl->cfg)->key_serde;
            vs = ((op_cfg_t *)impl->cfg)->value_serde;
        } else if (impl->kind == KT_MERGE) {
            ks = ((merge_cfg_t *)impl->cfg)->key_serde;
            vs = ((merge_cfg_t *)impl->cfg)->value_serde;
        }
        g = rv__getter_store(b, t->store, ks, vs);
    } else if (impl->kind == KT_FILTER || impl->kind == KT_MAP_VALUES) {
        op_cfg_t *cfg = impl->cfg;
        rv__getter_t *p = rv__ktable_getter(t->parent);
        if (!p || !(g = rv__dsl_alloc(b, sizeof *g)))
            return NULL;
        g->kind = impl->kind == KT_FILTER ? G_FILTER : G_MAP_VALUES;
        g->p1 = p;
        g->predicate = cfg->predicate;
        g->filter_not = cfg->filter_not;
        g->mapper = cfg->mapper;
        g->opaque = cfg->opaque;
    } else if (impl->kind == KT_MERGE) {
        rv__getter_t *p1 = rv__ktable_getter(t->parent), *p2 = rv__ktable_getter(t->parent2);
        if (!p1 || !p2 || !(g = rv__dsl_alloc(b, sizeof *g)))
            return NULL;
        g->kind = G_JOIN;
        g->p1 = p1;
        g->p2 = p2;
        g->joiner = impl->this_side->joiner;
        g->opaque = impl->this_side->opaque;
        g->join = impl->join;
    } else {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Table %s is not materialized and cannot be looked up",
                     t->node);
        return NULL;
    }
    t->getter = g;
    return g;
}

/* ======================================================================
 * Processors
 * ====================================================================== */

typedef enum proc_kind_e {
    P_SOURCE,
    P_FILTER,
    P_MAP_VALUES,
    P_TO_STREAM,
    P_JOIN_SIDE,
    P_MERGE,
    P_STREAM_JOIN
} proc_kind_t;

typedef struct kt_proc_s {
    proc_kind_t kind;
    const void *cfg;
    rv_processor_context_t *ctx;
    rv__table_store_t ts;
    bool ts_open;
    getter_inst_t *gi;
    rv_out_t out, out_old, out_key;
} kt_proc_t;

/* Forwards Change{new, old} for rec's key with timestamp ts. */
static rv_err_t forward_change(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                               const void *new_value, int32_t new_len, const void *old_value,
                               int32_t old_len, int64_t ts) {
    rv__change_t ch = {new_value, new_value ? new_len : -1, old_value, old_value ? old_len : -1};
    rv_processor_record_t fwd = *rec;
    fwd.value = &ch;
    fwd.value_len = (int32_t)sizeof ch;
    fwd.timestamp = ts;
    return rv_processor_context_forward(ctx, &fwd);
}

static rv_err_t open_store(kt_proc_t *p, const char *store, const rv_serde_t *ks,
                           const rv_serde_t *vs, bool send_old) {
    rv_err_t err = rv__table_store_init(&p->ts, p->ctx, store, ks, vs, send_old);
    p->ts_open = true; /* close() undoes a partial init too */
    if (err)
        rv__log_err("dsl", "Cannot open table store %s: %s", store,
                    rv_processor_context_last_error(p->ctx));
    return err;
}

static rv_err_t proc_init(rv_processor_context_t *ctx, void *state) {
    kt_proc_t *p = state;
    p->ctx = ctx;
    switch (p->kind) {
    case P_SOURCE: {
        const source_cfg_t *c = p->cfg;
        if (c->flags.materialize)
            return open_store(p, c->store, c->key_serde, c->value_serde, c->flags.send_old_values);
        return RV_ERR_NO_ERROR;
    }
    case P_FILTER:
    case P_MAP_VALUES: {
        const op_cfg_t *c = p->cfg;
        if (c->store)
            return open_store(p, c->store, c->key_serde, c->value_serde, c->flags.send_old_values);
        return RV_ERR_NO_ERROR;
    }
    case P_MERGE: {
        const merge_cfg_t *c = p->cfg;
        if (c->store)
            return open_store(p, c->store, c->key_serde, c->value_serde, c->flags.send_old_values);
        return RV_ERR_NO_ERROR;
    }
    case P_JOIN_SIDE:
    case P_STREAM_JOIN: {
        const rv__getter_t *g = p->kind == P_JOIN_SIDE
                                    ? ((const join_side_cfg_t *)p->cfg)->getter
                                    : ((const stream_join_cfg_t *)p->cfg)->getter;
        if (!(p->gi = getter_inst_new(g)))
            return RV_ERR__NOMEM;
        return getter_inst_init(p->gi, ctx);
    }
    case P_TO_STREAM:
        return RV_ERR_NO_ERROR;
    }
    return RV_ERR_NO_ERROR;
}

static void proc_close(void *state) {
    kt_proc_t *p = state;
    if (!p)
        return;
    if (p->ts_open)
        rv__table_store_close(&p->ts);
    getter_inst_free(p->gi);
    rv__out_free(&p->out);
    rv__out_free(&p->out_old);
    rv__out_free(&p->out_key);
    free(p);
}

/* KTableSource: a changelog record updates its key's row. */
static rv_err_t source_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                               void *state) {
    kt_proc_t *p = state;
    if (!rec->key) {
        rv__dsl_log_skipped(ctx, "null key");
        return RV_ERR_NO_ERROR;
    }
    if (!p->ts_open)
        return forward_change(ctx, rec, rec->value, rec->value_len, NULL, -1, rec->timestamp);
    void *old = NULL;
    int32_t old_len = -1;
    int64_t old_ts = -1;
    rv_err_t err = rv__table_store_get(&p->ts, &old, &old_len, &old_ts, rec->key, rec->key_len);
    if (err)
        return err;
    if (old && rec->timestamp < old_ts) {
        /* A plain key-value store always takes the update (only versioned
         * stores refuse late ones), as Kafka's; it only warns. */
        const char *topic = NULL;
        int32_t partition = -1;
        int64_t offset = -1;
        if (rv_processor_context_record_metadata(ctx, &topic, &partition, &offset))
            rv__log_warn("dsl",
                         "Detected out-of-order KTable update for %s, old timestamp=[%lld] new "
                         "timestamp=[%lld]. topic=[%s] partition=[%d] offset=[%lld].",
                         rv_kv_store_name(p->ts.store), (long long)old_ts,
                         (long long)rec->timestamp, topic ? topic : "", (int)partition,
                         (long long)offset);
    }
    err = rv__table_store_put(&p->ts, rec->key, rec->key_len, rec->value, rec->value_len,
                              rec->timestamp, old, old_len);
    rv_serde_free(p->ts.value_serde, old);
    return err;
}

/* KTableFilter's and KTableMapValues' computeValue(): the node's value for
 * a parent value (NULL, -1 when none). */
static rv_err_t op_compute(kt_proc_t *p, rv_out_t *out, const void **res, int32_t *res_len,
                           const rv_processor_record_t *rec, const void *value, int32_t value_len) {
    const op_cfg_t *c = p->cfg;
    *res = NULL;
    *res_len = -1;
    if (!value)
        return RV_ERR_NO_ERROR;
    if (p->kind == P_FILTER) {
        int r = c->predicate(rec->key, rec->key_len, value, value_len, c->opaque);
        if (r < 0)
            return (rv_err_t)r;
        if ((r != 0) != c->filter_not) {
            *res = value;
            *res_len = value_len;
        }
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(out, RV__OUT_VALUE);
    rv_err_t err = c->mapper(out, rec->key, rec->key_len, value, value_len, c->opaque);
    if (err)
        return err;
    out_result(out, res, res_len);
    return RV_ERR_NO_ERROR;
}

/* KTableFilter / KTableMapValues. */
static rv_err_t op_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                           void *state) {
    kt_proc_t *p = state;
    const op_cfg_t *c = p->cfg;
    const rv__change_t *ch = rec->value;
    const void *nv, *ov = NULL;
    int32_t nl, ol = -1;
    void *stored_old = NULL;
    rv_err_t err = op_compute(p, &p->out, &nv, &nl, rec, ch->new_value, ch->new_len);
    if (err)
        return err;
    bool send_old = c->flags.send_old_values;
    if (send_old) {
        if (p->ts_open) {
            int64_t ots;
            err = rv__table_store_get(&p->ts, &stored_old, &ol, &ots, rec->key, rec->key_len);
            ov = stored_old;
        } else {
            err = op_compute(p, &p->out_old, &ov, &ol, rec, ch->old_value, ch->old_len);
        }
        if (err)
            goto done;
        /* KTableFilter: nothing was there and nothing is, so no tombstone
         * is needed. A node that does not know the old value cannot tell,
         * and sends one; KTableMapValues always forwards. */
        if (p->kind == P_FILTER && !ov && !nv)
            goto done;
    }
    if (p->ts_open)
        err = rv__table_store_put(&p->ts, rec->key, rec->key_len, nv, nl, rec->timestamp, ov, ol);
    else
        err = forward_change(ctx, rec, nv, nl, ov, ol, rec->timestamp);
done:
    if (stored_old)
        rv_serde_free(p->ts.value_serde, stored_old);
    return err;
}

/* KTable.toStream: the new values. */
static rv_err_t to_stream_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                                  void *state) {
    (void)state;
    const rv__change_t *ch = rec->value;
    rv_processor_record_t fwd = *rec;
    fwd.value = ch->new_value;
    fwd.value_len = ch->new_value ? ch->new_len : -1;
    return rv_processor_context_forward(ctx, &fwd);
}

/* Calls a join side's joiner with this record's value `mine` and the
 * other table's `theirs`, in the user's (left, right) order. */
static rv_err_t side_join(kt_proc_t *p, rv_out_t *out, const void **res, int32_t *res_len,
                          const rv_processor_record_t *rec, const void *mine, int32_t mine_len,
                          const void *theirs, int32_t theirs_len) {
    const join_side_cfg_t *c = p->cfg;
    if (c->reverse)
        return call_joiner(res, res_len, out, c->joiner, c->opaque, rec->key, rec->key_len, theirs,
                           theirs_len, mine, mine_len);
    return call_joiner(res, res_len, out, c->joiner, c->opaque, rec->key, rec->key_len, mine,
                       mine_len, theirs, theirs_len);
}

/* KTableKTable{Inner,Left,Right,Outer}Join: an update of this side joined
 * with the other table's current row. */
static rv_err_t join_side_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                                  void *state) {
    kt_proc_t *p = state;
    const join_side_cfg_t *c = p->cfg;
    const rv__change_t *ch = rec->value;
    if (!rec->key) {
        rv__dsl_log_skipped(ctx, "null key");
        return RV_ERR_NO_ERROR;
    }
    const void *other;
    int32_t other_len;
    int64_t other_ts;
    rv_err_t err = getter_get(p->gi, rec->key, rec->key_len, &other, &other_len, &other_ts);
    if (err)
        return err;
    const void *nv = NULL, *ov = NULL;
    int32_t nl = -1, ol = -1;
    bool send_old = c->flags.send_old_values;
    int64_t ts = rec->timestamp;
    if (other && other_ts > ts)
        ts = other_ts;
    /* An inner join, and the right side of a left join (where the left
     * row decides), make nothing without the other row; the others make
     * nothing only when neither row exists. */
    bool needs_other = c->kind == J_INNER || c->kind == J_RIGHT;
    if (needs_other ? !other : !other && !ch->new_value && !ch->old_value)
        return RV_ERR_NO_ERROR;
    /* Which of the new and old results exist (joined with a null row
     * where the join is outer on that side). */
    bool with_new = ch->new_value != NULL, with_old = ch->old_value != NULL;
    if (c->kind == J_RIGHT) {
        with_new = with_old = true;
    } else if (c->kind == J_OUTER) {
        with_new = other || ch->new_value;
        with_old = other || ch->old_value;
    }
    if (with_new &&
        (err = side_join(p, &p->out, &nv, &nl, rec, ch->new_value, ch->new_len, other, other_len)))
        return err;
    if (send_old && with_old &&
        (err = side_join(p, &p->out_old, &ov, &ol, rec, ch->old_value, ch->old_len, other,
                         other_len)))
        return err;
    return forward_change(ctx, rec, nv, nl, ov, ol, ts);
}

/* KTableKTableJoinMerger: both sides' results become the join's table. */
static rv_err_t merge_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                              void *state) {
    kt_proc_t *p = state;
    const merge_cfg_t *c = p->cfg;
    const rv__change_t *ch = rec->value;
    if (p->ts_open)
        return rv__table_store_put(&p->ts, rec->key, rec->key_len, ch->new_value, ch->new_len,
                                   rec->timestamp, ch->old_value, ch->old_len);
    if (c->flags.send_old_values)
        return rv_processor_context_forward(ctx, rec);
    return forward_change(ctx, rec, ch->new_value, ch->new_len, NULL, -1, rec->timestamp);
}

/* KStreamKTableJoinProcessor: a stream record looks its key up in the
 * table (or the global table, through the key selector). */
static rv_err_t stream_join_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                                    void *state) {
    kt_proc_t *p = state;
    const stream_join_cfg_t *c = p->cfg;
    const void *mapped = rec->key;
    int32_t mapped_len = rec->key_len;
    rv_err_t err;
    if (c->key_selector) {
        rv__out_reset(&p->out_key, RV__OUT_KEY);
        if ((err = c->key_selector(&p->out_key, rec->key, rec->key_len, rec->value, rec->value_len,
                                   c->selector_opaque)))
            return err;
        mapped = NULL;
        mapped_len = -1;
        if (p->out_key.cnt > 0 && p->out_key.items[p->out_key.cnt - 1].key) {
            mapped = p->out_key.items[p->out_key.cnt - 1].key;
            mapped_len = p->out_key.items[p->out_key.cnt - 1].key_len;
        }
    }
    /* A left join keeps a null-key record with a value (KIP-962). */
    bool keep = c->left && !rec->key && rec->value;
    if (!keep && (!mapped || !rec->value)) {
        rv__dsl_log_skipped(ctx, "null join key or value");
        return RV_ERR_NO_ERROR;
    }
    const void *tv = NULL;
    int32_t tl = -1;
    int64_t tts;
    if (mapped && (err = getter_get(p->gi, mapped, mapped_len, &tv, &tl, &tts)))
        return err;
    if (!c->left && !tv)
        return RV_ERR_NO_ERROR;
    const void *res;
    int32_t res_len;
    if ((err = call_joiner(&res, &res_len, &p->out, c->joiner, c->opaque, rec->key, rec->key_len,
                           rec->value, rec->value_len, tv, tl)))
        return err;
    rv_processor_record_t fwd = *rec;
    fwd.value = res;
    fwd.value_len = res ? res_len : -1;
    return rv_processor_context_forward(ctx, &fwd);
}

static rv_err_t proc_get(rv_processor_t *out, proc_kind_t kind, const void *cfg) {
    kt_proc_t *p = calloc(1, sizeof *p);
    if (!p)
        return RV_ERR__NOMEM;
    p->kind = kind;
    p->cfg = cfg;
    out->init = proc_init;
    out->close = proc_close;
    out->state = p;
    switch (kind) {
    case P_SOURCE:
        out->process = source_process;
        break;
    case P_FILTER:
    case P_MAP_VALUES:
        out->process = op_process;
        break;
    case P_TO_STREAM:
        out->process = to_stream_process;
        break;
    case P_JOIN_SIDE:
        out->process = join_side_process;
        break;
    case P_MERGE:
        out->process = merge_process;
        break;
    case P_STREAM_JOIN:
        out->process = stream_join_process;
        break;
    }
    return RV_ERR_NO_ERROR;
}

/* The processor supplier of each kind: proc_get() with the kind (a
 * supplier gets only the configuration). */
#define KIND_GET(fn, kind)                               \
    static rv_err_t fn(rv_processor_t *out, void *cfg) { \
        return proc_get(out, kind, cfg);                 \
    }
KIND_GET(get_source, P_SOURCE)
KIND_GET(get_filter, P_FILTER)
KIND_GET(get_map_values, P_MAP_VALUES)
KIND_GET(get_to_stream, P_TO_STREAM)
KIND_GET(get_join_side, P_JOIN_SIDE)
KIND_GET(get_merge, P_MERGE)
KIND_GET(get_stream_join, P_STREAM_JOIN)
#undef KIND_GET

/* ======================================================================
 * Builder operators
 * ====================================================================== */

/* A built builder handed its topology over and takes no more sources
 * (dsl/builder.c checks the same for processors). */
static bool check_open(rv_streams_builder_t *b) {
    if (b->topo)
        return true;
    rv__dsl_fail(b, RV_ERR__STATE,
                 "The builder was built already: rv_streams_builder_build() hands the topology "
                 "over");
    return false;
}

static bool check_materialized(rv_streams_builder_t *b, const rv_materialized_t *m) {
    if (m && m->version != RV_MATERIALIZED_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_materialized_t version %d",
                     m->version);
        return false;
    }
    return true;
}

/* The KTABLE-SOURCE node of a table read from parent `parent` (a source
 * or a stream's node) with store `store`, materialized at once when
 * `queryable`. */
static rv_ktable_t *add_table_source(rv_streams_builder_t *b, const char *node, const char *parent,
                                     const char *store, bool queryable, const rv_serde_t *ks,
                                     const rv_serde_t *vs, const rv_materialized_t *m) {
    source_cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    pending_store_t *ps = calloc(1, sizeof *ps);
    if (!cfg || !ps || !rv__dsl_keep(b, ps, pending_store_free)) {
        if (!cfg)
            free(ps);
        if (!b->err)
            rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    cfg->store = rv__dsl_strdup(b, store);
    cfg->key_serde = ks;
    cfg->value_serde = vs;
    if (!cfg->store)
        return NULL;
    const char *parents[] = {parent};
    if (rv__dsl_add_processor(b, node, get_source, cfg, parents, 1))
        return NULL;
    if (!(ps->sb = rv__dsl_store_builder(b, store, m)))
        return NULL;
    rv_ktable_t *t = table_new(b, node, ks, vs, NULL, queryable ? store : NULL, &cfg->flags, NULL,
                               KT_SOURCE, cfg);
    if (!t)
        return NULL;
    kt_impl_t *impl = t->impl;
    impl->source_node = t->node;
    impl->pending = ps;
    t->source_store_pending = (char *)cfg->store;
    if (queryable && kt_materialize(t))
        return NULL;
    return t;
}

/* What table() and globalTable() share: Kafka's argument checks, the
 * serdes (Consumed's win, Kafka copies them into Materialized; else
 * Materialized's), the store name (Materialized's, else
 * "<topic>-STATE-STORE-n"), the source and table node names, and the
 * source's options. */
typedef struct table_source_s {
    const rv_serde_t *ks, *vs;
    char store[NAME_MAX_LEN], src[NAME_MAX_LEN], node[NAME_MAX_LEN];
    rv_source_opts_t opts;
} table_source_t;

/* Fills *ts for a table source of topic (a global table's when global);
 * false with the builder's error set. */
static bool table_source_prepare(table_source_t *ts, rv_streams_builder_t *b, const char *topic,
                                 const rv_consumed_t *consumed, const rv_materialized_t *m,
                                 bool global) {
    if (!b || b->err || !check_open(b) || !rv__dsl_require(b, topic != NULL, "topic"))
        return false;
    if (consumed && consumed->version != RV_CONSUMED_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_consumed_t version %d",
                     consumed->version);
        return false;
    }
    if (global && consumed && consumed->offset_reset != RV_AUTO_OFFSET_RESET_DEFAULT) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "Invalid topology: a global table's source cannot set auto.offset.reset "
                     "(global stores always read their topic from the beginning)");
        return false;
    }
    if (!check_materialized(b, m))
        return false;
    ts->ks = consumed && consumed->key_serde ? consumed->key_serde : m ? m->key_serde : NULL;
    ts->vs = consumed && consumed->value_serde ? consumed->value_serde : m ? m->value_serde : NULL;
    if (m && m->store_name) {
        snprintf(ts->store, sizeof ts->store, "%s", m->store_name);
    } else {
        char prefix[NAME_MAX_LEN];
        snprintf(prefix, sizeof prefix, "%s-", topic);
        rv__dsl_store_name(b, prefix, ts->store, sizeof ts->store);
    }
    const char *name = consumed ? consumed->name : NULL;
    char given[NAME_MAX_LEN];
    if (name)
        snprintf(given, sizeof given, "%s-source", name);
    rv__dsl_name(b, name ? given : NULL, "KSTREAM-SOURCE-", ts->src, sizeof ts->src);
    rv__dsl_name(b, name, "KTABLE-SOURCE-", ts->node, sizeof ts->node);
    rv_source_opts_t opts = RV_SOURCE_OPTS_INIT;
    opts.key_deserializer = ts->ks;
    opts.value_deserializer = ts->vs;
    if (consumed) {
        opts.timestamp_extractor = consumed->timestamp_extractor;
        opts.timestamp_extractor_opaque = consumed->timestamp_extractor_opaque;
        if (!global)
            opts.offset_reset = consumed->offset_reset;
    }
    ts->opts = opts;
    return true;
}

rv_ktable_t *rv_streams_builder_table(rv_streams_builder_t *b, const char *topic,
                                      const rv_consumed_t *consumed,
                                      const rv_materialized_t *materialized) {
    table_source_t ts;
    if (!table_source_prepare(&ts, b, topic, consumed, materialized, false))
        return NULL;
    char errstr[512] = "";
    rv_err_t err =
        rv_topology_add_source(b->topo, ts.src, &topic, 1, &ts.opts, errstr, sizeof errstr);
    if (err) {
        rv__dsl_topology_fail(b, err, errstr);
        return NULL;
    }
    return add_table_source(b, ts.node, ts.src, ts.store, materialized && materialized->store_name,
                            ts.ks, ts.vs, materialized);
}

rv_ktable_t *rv_kstream_to_table(rv_kstream_t *s, const char *name,
                                 const rv_materialized_t *materialized) {
    if (!s || s->b->err)
        return NULL;
    rv_streams_builder_t *b = s->b;
    if (!check_materialized(b, materialized))
        return NULL;
    const rv_materialized_t *m = materialized;
    char node[NAME_MAX_LEN], store[NAME_MAX_LEN];
    rv__dsl_name(b, name, "KSTREAM-TOTABLE-", node, sizeof node);
    bool queryable = m && m->store_name;
    if (queryable)
        snprintf(store, sizeof store, "%s", m->store_name);
    else
        rv__dsl_store_name(b, "KSTREAM-TOTABLE-", store, sizeof store);
    const rv_serde_t *ks = m && m->key_serde ? m->key_serde : s->key_serde;
    const rv_serde_t *vs = m && m->value_serde ? m->value_serde : s->value_serde;
    rv_kstream_t *in = s;
    if (s->repartition_required &&
        !(in = rv__kstream_repartition_for(s, node, name == NULL, ks, vs)))
        return NULL;
    return add_table_source(b, node, in->node, store, queryable, ks, vs, m);
}

static rv_ktable_t *do_filter(rv_ktable_t *t, rv_predicate_cb_t *predicate, void *opaque,
                              const char *name, const rv_materialized_t *m, bool filter_not,
                              rv_mapper_cb_t *mapper) {
    if (!t || t->b->err)
        return NULL;
    rv_streams_builder_t *b = t->b;
    if (!check_materialized(b, m))
        return NULL;
    const char *prefix = mapper ? "KTABLE-MAPVALUES-" : "KTABLE-FILTER-";
    if (!mapper && !predicate) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "predicate can't be null");
        return NULL;
    }
    char node[NAME_MAX_LEN], burned[NAME_MAX_LEN];
    /* Kafka burns a store index for a Materialized without a name, and
     * materializes only a named one. */
    if (m && !m->store_name)
        rv__dsl_store_name(b, prefix, burned, sizeof burned);
    rv__dsl_name(b, name, prefix, node, sizeof node);
    op_cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->predicate = predicate;
    cfg->filter_not = filter_not;
    cfg->mapper = mapper;
    cfg->opaque = opaque;
    cfg->key_serde = m && m->key_serde ? m->key_serde : t->key_serde;
    /* map_values may change the value's type: the parent's serde is not
     * inherited. */
    cfg->value_serde = m && m->value_serde ? m->value_serde : mapper ? NULL : t->value_serde;
    if (m && m->store_name && !(cfg->store = rv__dsl_strdup(b, m->store_name)))
        return NULL;
    /* Old values stay off until an operator below asks for them (Kafka's
     * enableSendingOldValues()); a materialized parent alone does not turn
     * them on, so until then a rejected row is a tombstone downstream. */
    if (b->err)
        return NULL;
    const char *parents[] = {t->node};
    if (rv__dsl_add_processor(b, node, mapper ? get_map_values : get_filter, cfg, parents, 1))
        return NULL;
    if (cfg->store) {
        rv_store_builder_t *sb = rv__dsl_store_builder(b, cfg->store, m);
        if (!sb || rv__dsl_add_store(b, sb, node))
            return NULL;
    }
    return table_new(b, node, cfg->key_serde, cfg->value_serde, cfg->store, cfg->store, &cfg->flags,
                     t, mapper ? KT_MAP_VALUES : KT_FILTER, cfg);
}

rv_ktable_t *rv_ktable_filter(rv_ktable_t *t, rv_predicate_cb_t *predicate, void *opaque,
                              const char *name, const rv_materialized_t *materialized) {
    return do_filter(t, predicate, opaque, name, materialized, false, NULL);
}

rv_ktable_t *rv_ktable_filter_not(rv_ktable_t *t, rv_predicate_cb_t *predicate, void *opaque,
                                  const char *name, const rv_materialized_t *materialized) {
    return do_filter(t, predicate, opaque, name, materialized, true, NULL);
}

rv_ktable_t *rv_ktable_map_values(rv_ktable_t *t, rv_mapper_cb_t *mapper, void *opaque,
                                  const char *name, const rv_materialized_t *materialized) {
    if (t && !mapper) {
        rv__dsl_fail(t->b, RV_ERR__INVALID_ARG, "mapper can't be null");
        return NULL;
    }
    return do_filter(t, NULL, opaque, name, materialized, false, mapper);
}

rv_kstream_t *rv_ktable_to_stream(rv_ktable_t *t, const char *name) {
    if (!t || t->b->err)
        return NULL;
    rv_streams_builder_t *b = t->b;
    char node[NAME_MAX_LEN];
    rv__dsl_name(b, name, "KTABLE-TOSTREAM-", node, sizeof node);
    const char *parents[] = {t->node};
    if (rv__dsl_add_processor(b, node, get_to_stream, NULL, parents, 1))
        return NULL;
    return rv__kstream_new(b, node, t->key_serde, t->value_serde, false);
}

/* Kafka's first checks of a join with `other` (`what` names it in the
 * message): given, from builder b (`ob` is its builder; `mismatch` the
 * message otherwise). */
static bool join_other_ok(rv_streams_builder_t *b, bool given, const char *what,
                          rv_streams_builder_t *ob, const char *mismatch) {
    if (!rv__dsl_require(b, given, what))
        return false;
    if (ob != b) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "%s", mismatch);
        return false;
    }
    return true;
}

#define STREAM_TABLE_MISMATCH "The stream and the table of a join must come from one builder"

/* Adds the processor of a stream-table or stream-global-table join,
 * `node`, under `parent`, reading the table through getter g. Returns its
 * configuration (the caller may fill in the rest before tasks run), NULL
 * with the builder's error set. */
static stream_join_cfg_t *add_stream_join(rv_streams_builder_t *b, const char *node,
                                          const char *parent, const rv__getter_t *g,
                                          rv_value_joiner_cb_t *joiner, void *opaque, bool left) {
    stream_join_cfg_t *cfg = g ? rv__dsl_alloc(b, sizeof *cfg) : NULL;
    if (!cfg)
        return NULL;
    cfg->getter = g;
    cfg->joiner = joiner;
    cfg->opaque = opaque;
    cfg->left = left;
    if (rv__dsl_add_processor(b, node, get_stream_join, cfg, &parent, 1))
        return NULL;
    return cfg;
}

/* KTableImpl.doJoin. */
static rv_ktable_t *do_table_join(rv_ktable_t *t, rv_ktable_t *other, rv_value_joiner_cb_t *joiner,
                                  void *opaque, const char *name, const rv_materialized_t *m,
                                  join_kind_t kind) {
    if (!t || t->b->err)
        return NULL;
    rv_streams_builder_t *b = t->b;
    if (!join_other_ok(b, other != NULL, "other", other ? other->b : b,
                       "The tables of a join must come from one builder") ||
        !rv__dsl_require(b, joiner != NULL, "joiner"))
        return NULL;
    if (!check_materialized(b, m))
        return NULL;
    char store[NAME_MAX_LEN] = "", merge[NAME_MAX_LEN], this_name[NAME_MAX_LEN],
         other_name[NAME_MAX_LEN], given[NAME_MAX_LEN];
    /* A Materialized join result always has a store, its name generated
     * first when not given. */
    if (m && m->store_name)
        snprintf(store, sizeof store, "%s", m->store_name);
    else if (m)
        rv__dsl_store_name(b, "KTABLE-MERGE-", store, sizeof store);
    rv__dsl_name(b, name, "KTABLE-MERGE-", merge, sizeof merge);
    if (kind == J_LEFT || kind == J_OUTER)
        kt_enable_old(t, true);
    if (kind == J_OUTER)
        kt_enable_old(other, true);
    rv__getter_t *g1 = rv__ktable_getter(t), *g2 = rv__ktable_getter(other);
    if (!g1 || !g2)
        return NULL;
    if (name)
        snprintf(given, sizeof given, "%s-join-this", name);
    rv__dsl_name(b, name ? given : NULL, "KTABLE-JOINTHIS-", this_name, sizeof this_name);
    if (name)
        snprintf(given, sizeof given, "%s-join-other", name);
    rv__dsl_name(b, name ? given : NULL, "KTABLE-JOINOTHER-", other_name, sizeof other_name);

    join_side_cfg_t *tc = rv__dsl_alloc(b, sizeof *tc), *oc = rv__dsl_alloc(b, sizeof *oc);
    merge_cfg_t *mc = rv__dsl_alloc(b, sizeof *mc);
    if (!tc || !oc || !mc)
        return NULL;
    tc->kind = kind;
    oc->kind = kind == J_LEFT ? J_RIGHT : kind;
    oc->reverse = true;
    tc->joiner = oc->joiner = joiner;
    tc->opaque = oc->opaque = opaque;
    tc->getter = g2;
    oc->getter = g1;
    mc->key_serde = m && m->key_serde ? m->key_serde : t->key_serde;
    mc->value_serde = m ? m->value_serde : NULL;
    if (store[0] && !(mc->store = rv__dsl_strdup(b, store)))
        return NULL;

    const char *p_this[] = {t->node}, *p_other[] = {other->node};
    const char *p_merge[] = {this_name, other_name};
    if (rv__dsl_add_processor(b, this_name, get_join_side, tc, p_this, 1) ||
        rv__dsl_add_processor(b, other_name, get_join_side, oc, p_other, 1) ||
        rv__dsl_add_processor(b, merge, get_merge, mc, p_merge, 2) ||
        rv__getter_connect(b, g2, this_name) || rv__getter_connect(b, g1, other_name))
        return NULL;
    if (mc->store) {
        rv_store_builder_t *sb = rv__dsl_store_builder(b, mc->store, m);
        if (!sb || rv__dsl_add_store(b, sb, merge))
            return NULL;
    }
    rv_ktable_t *r = table_new(b, merge, mc->key_serde, mc->value_serde, mc->store, mc->store,
                               &mc->flags, t, KT_MERGE, mc);
    if (!r)
        return NULL;
    r->parent2 = other;
    kt_impl_t *impl = r->impl;
    impl->this_side = tc;
    impl->other_side = oc;
    impl->join = kind;
    return r;
}

rv_ktable_t *rv_ktable_join(rv_ktable_t *t, rv_ktable_t *other, rv_value_joiner_cb_t *joiner,
                            void *opaque, const char *name, const rv_materialized_t *materialized) {
    return do_table_join(t, other, joiner, opaque, name, materialized, J_INNER);
}

rv_ktable_t *rv_ktable_left_join(rv_ktable_t *t, rv_ktable_t *other, rv_value_joiner_cb_t *joiner,
                                 void *opaque, const char *name,
                                 const rv_materialized_t *materialized) {
    return do_table_join(t, other, joiner, opaque, name, materialized, J_LEFT);
}

rv_ktable_t *rv_ktable_outer_join(rv_ktable_t *t, rv_ktable_t *other, rv_value_joiner_cb_t *joiner,
                                  void *opaque, const char *name,
                                  const rv_materialized_t *materialized) {
    return do_table_join(t, other, joiner, opaque, name, materialized, J_OUTER);
}

/* KStreamImpl.join(KTable) / leftJoin(KTable): doStreamTableJoin, after a
 * repartition when the stream's key changed. */
static rv_kstream_t *do_stream_table_join(rv_kstream_t *s, rv_ktable_t *table,
                                          rv_value_joiner_cb_t *joiner, void *opaque,
                                          const rv_joined_t *joined, bool left) {
    if (!s || s->b->err)
        return NULL;
    rv_streams_builder_t *b = s->b;
    if (!join_other_ok(b, table != NULL, "table", table ? table->b : b, STREAM_TABLE_MISMATCH) ||
        !rv__dsl_require(b, joiner != NULL, "joiner"))
        return NULL;
    if (joined && joined->version != RV_JOINED_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_joined_t version %d", joined->version);
        return NULL;
    }
    const char *name = joined ? joined->name : NULL;
    rv_kstream_t *in = s;
    if (s->repartition_required && !name && s->join_repartition_source) {
        /* Kafka's repartitionForJoin(): a second join of the stream with a
         * generated name reads the first one's repartition topic, but
         * still burns the three indexes of a repartition. */
        char burn[NAME_MAX_LEN];
        rv__dsl_name(b, NULL, "KSTREAM-SINK-", burn, sizeof burn);
        rv__dsl_name(b, NULL, "KSTREAM-FILTER-", burn, sizeof burn);
        rv__dsl_name(b, NULL, "KSTREAM-SOURCE-", burn, sizeof burn);
        in = rv__kstream_new(b, s->join_repartition_source,
                             joined && joined->key_serde ? joined->key_serde : s->key_serde,
                             joined && joined->value_serde ? joined->value_serde : s->value_serde,
                             false);
        if (!in)
            return NULL;
    } else if (s->repartition_required) {
        in = rv__kstream_repartition_for(s, name ? name : s->node, name == NULL,
                                         joined ? joined->key_serde : NULL,
                                         joined ? joined->value_serde : NULL);
        if (!in)
            return NULL;
        s->join_repartition_source = in->node;
    }
    char node[NAME_MAX_LEN];
    rv__dsl_name(b, name, left ? "KSTREAM-LEFTJOIN-" : "KSTREAM-JOIN-", node, sizeof node);
    rv__getter_t *g = rv__ktable_getter(table);
    if (!add_stream_join(b, node, in->node, g, joiner, opaque, left) ||
        rv__getter_connect(b, g, node))
        return NULL;
    return rv__kstream_new(b, node, joined && joined->key_serde ? joined->key_serde : in->key_serde,
                           NULL, false);
}

rv_kstream_t *rv_kstream_join_table(rv_kstream_t *s, rv_ktable_t *table,
                                    rv_value_joiner_cb_t *joiner, void *opaque,
                                    const rv_joined_t *joined) {
    return do_stream_table_join(s, table, joiner, opaque, joined, false);
}

rv_kstream_t *rv_kstream_left_join_table(rv_kstream_t *s, rv_ktable_t *table,
                                         rv_value_joiner_cb_t *joiner, void *opaque,
                                         const rv_joined_t *joined) {
    return do_stream_table_join(s, table, joiner, opaque, joined, true);
}

/* ---- Global tables ---- */

/* The global store's processor: a KTableSource that is always
 * materialized. It lives in the topology's own memory (a global store's
 * supplier is not a DSL processor), so it owns a copy of its config. */
typedef struct global_cfg_s {
    source_cfg_t src;
    char store[];
} global_cfg_t;

static rv_err_t get_global_source(rv_processor_t *out, void *opaque) {
    global_cfg_t *g = opaque;
    return proc_get(out, P_SOURCE, &g->src);
}

rv_global_ktable_t *rv_streams_builder_global_table(rv_streams_builder_t *b, const char *topic,
                                                    const rv_consumed_t *consumed,
                                                    const rv_materialized_t *materialized) {
    table_source_t ts;
    if (!table_source_prepare(&ts, b, topic, consumed, materialized, true))
        return NULL;
    const rv_materialized_t *m = materialized;
    const rv_serde_t *ks = ts.ks, *vs = ts.vs;
    const char *store = ts.store;
    global_ktable_t *gt = rv__dsl_alloc(b, sizeof *gt);
    if (!gt)
        return NULL;
    rv_store_builder_t *sb = rv__dsl_store_builder(b, store, m);
    if (!sb)
        return NULL;
    /* The topic is the store's changelog (Kafka disables logging); the
     * global processor has no children to emit to, so no cache either. */
    rv_store_builder_with_logging_disabled(sb);
    rv_store_builder_with_caching_disabled(sb);
    size_t sl = strlen(store) + 1;
    global_cfg_t *gc = calloc(1, sizeof *gc + sl);
    if (!gc) {
        rv_store_builder_destroy(sb);
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    memcpy(gc->store, store, sl);
    gc->src.store = gc->store;
    gc->src.key_serde = ks;
    gc->src.value_serde = vs;
    gc->src.flags.materialize = true;
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = get_global_source;
    sup.opaque = gc;
    sup.destroy = free;
    char errstr[512] = "";
    rv_err_t err = rv_topology_add_global_store(b->topo, sb, ts.src, topic, &ts.opts, ts.node, &sup,
                                                errstr, sizeof errstr);
    if (err) {
        rv_store_builder_destroy(sb);
        free(gc);
        rv__dsl_topology_fail(b, err, errstr);
        return NULL;
    }
    gt->pub.b = b;
    gt->pub.key_serde = ks;
    gt->pub.value_serde = vs;
    if (!(gt->pub.store = rv__dsl_strdup(b, store)))
        return NULL;
    if (m && m->store_name)
        gt->queryable = gt->pub.store;
    if (!(gt->getter = rv__getter_store(b, store, ks, vs)))
        return NULL;
    gt->getter->global = true;
    return &gt->pub;
}

/* KStreamImpl.globalTableJoin: Kafka names inner and left joins alike,
 * KSTREAM-LEFTJOIN-. */
static rv_kstream_t *do_global_join(rv_kstream_t *s, rv_global_ktable_t *table,
                                    rv_mapper_cb_t *key_selector, void *selector_opaque,
                                    rv_value_joiner_cb_t *joiner, void *joiner_opaque,
                                    const char *name, bool left) {
    if (!s || s->b->err)
        return NULL;
    rv_streams_builder_t *b = s->b;
    if (!join_other_ok(b, table != NULL, "globalTable", table ? table->b : b,
                       STREAM_TABLE_MISMATCH) ||
        !rv__dsl_require(b, key_selector != NULL, "keySelector") ||
        !rv__dsl_require(b, joiner != NULL, "joiner"))
        return NULL;
    global_ktable_t *gt = (global_ktable_t *)table;
    char node[NAME_MAX_LEN];
    rv__dsl_name(b, name, "KSTREAM-LEFTJOIN-", node, sizeof node);
    stream_join_cfg_t *cfg =
        add_stream_join(b, node, s->node, gt->getter, joiner, joiner_opaque, left);
    if (!cfg)
        return NULL;
    cfg->key_selector = key_selector;
    cfg->selector_opaque = selector_opaque;
    return rv__kstream_new(b, node, s->key_serde, NULL, s->repartition_required);
}

rv_kstream_t *rv_kstream_join_global(rv_kstream_t *s, rv_global_ktable_t *table,
                                     rv_mapper_cb_t *key_selector, void *selector_opaque,
                                     rv_value_joiner_cb_t *joiner, void *joiner_opaque,
                                     const char *name) {
    return do_global_join(s, table, key_selector, selector_opaque, joiner, joiner_opaque, name,
                          false);
}

rv_kstream_t *rv_kstream_left_join_global(rv_kstream_t *s, rv_global_ktable_t *table,
                                          rv_mapper_cb_t *key_selector, void *selector_opaque,
                                          rv_value_joiner_cb_t *joiner, void *joiner_opaque,
                                          const char *name) {
    return do_global_join(s, table, key_selector, selector_opaque, joiner, joiner_opaque, name,
                          true);
}

const char *rv_ktable_queryable_store_name(const rv_ktable_t *t) {
    return t ? t->queryable : NULL;
}

const char *rv_global_ktable_queryable_store_name(const rv_global_ktable_t *t) {
    return t ? ((const global_ktable_t *)t)->queryable : NULL;
}
