/* dsl/aggregate.c: grouping and rolling aggregations of the DSL, Kafka
 * Streams' KStream.groupBy/groupByKey, KGroupedStreamImpl (count, reduce,
 * aggregate: the KStreamAggregate and KStreamReduce processors),
 * KTable.groupBy (KTableRepartitionMap) and KGroupedTableImpl (count,
 * reduce, aggregate with adder and subtractor: KTableAggregate and
 * KTableReduce). The result of each aggregation is a KTable whose rows
 * live in a table store (dsl/table_store.c), which forwards them at once
 * or, with caching, when the cache flushes. Contract: dsl/dsl_internal.h;
 * public side: rivulet/dsl.h.
 *
 * DESIGN
 *
 * Names. Every operator advances the builder's counter exactly where
 * Kafka's does, so describe() prints Kafka's names:
 *   KStream aggregation  [count(Materialized without a name) burns one
 *                        store name], store "KSTREAM-AGGREGATE-STATE-STORE-n"
 *                        (reduce: "KSTREAM-REDUCE-STATE-STORE-n"; or
 *                        Materialized's), processor KSTREAM-AGGREGATE-n /
 *                        KSTREAM-REDUCE-n, then, when the key changed, the
 *                        repartition nodes of rv__kstream_repartition_for()
 *                        on "<Grouped.name or store>-repartition";
 *   KTable group_by      KTABLE-SELECT-n (Grouped.name wins);
 *   KTable aggregation   store "KTABLE-AGGREGATE-STATE-STORE-n", sink
 *                        KSTREAM-SINK-n ("<name>-sink"), source
 *                        KSTREAM-SOURCE-n ("<name>-source"), processor
 *                        KTABLE-AGGREGATE-n / KTABLE-REDUCE-n, topic
 *                        "<Grouped.name or store>-repartition".
 * With a Grouped.name, later aggregations of the same grouped stream or
 * table reuse the first one's repartition topic (the names are still
 * burned), as Kafka reuses its repartition graph node.
 *
 * The KTable repartition topic carries Kafka's Change format
 * (ChangedSerializer of Kafka 3.4+): the serialized value followed by one
 * flag byte, 0 = old value only, 1 = new value only, 2 = both as
 * "<zigzag varint new length><new><old>"; the reader also accepts flags
 * 3..5 (the same with an is-latest byte before the flag). KTABLE-SELECT
 * writes those bytes itself (the value serde resolved from its context:
 * Grouped's, else default.value.serde) and its sink sends them as bytes;
 * the aggregation reads them back the same way. The key goes through the
 * sink's key serializer as usual. When the old and the new row map to the
 * same key (compared as the bytes the selector returned) one record
 * carries both, else the old pair goes first, then the new one.
 *
 * Semantics per record (Kafka's):
 *   KStream   null key or value: skipped with "Skipping record due to null
 *             key or value. topic=[t] partition=[p] offset=[o]"; else
 *             agg = old ? f(old, v) : f(init, v) (reduce: v), timestamp
 *             max(record, old row) (record when no row), Change{agg, old
 *             (the initializer's value when there was no row)}.
 *   KTable    subtract the old value from the row when both exist, add the
 *             new value (to the initializer's value when nothing is left),
 *             timestamp max(record, old row) when there was a row; a null
 *             result deletes the row. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "dsl/dsl_internal.h"

#define FAC "dsl"

/* ---- Helpers ---- */

static void out_key(const rv_out_t *out, const void **k, int32_t *len) {
    if (out->key_set && out->cnt > 0 && out->items[0].key) {
        *k = out->items[0].key;
        *len = out->items[0].key_len;
    } else {
        *k = NULL;
        *len = -1;
    }
}

/* ---- What the aggregations share (dsl/dsl_internal.h) ---- */

/* Kafka's test for a generated repartition prefix, the regular expression
 * "KSTREAM.*-[0-9]{10}": such a prefix gets generated node names. */
static bool generated_name(const char *s) {
    size_t n = strlen(s);
    if (n < 7 + 11 || strncmp(s, "KSTREAM", 7))
        return false;
    if (s[n - 11] != '-')
        return false;
    for (size_t i = n - 10; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

rv_kstream_t *rv__kgrouped_stream_source(rv_kgrouped_stream_t *g, const char *store) {
    rv_streams_builder_t *b = g->b;
    rv_kstream_t *src = g->stream;
    if (!src->repartition_required)
        return src;
    if (g->repartitioned) {
        /* The named repartition topic exists: burn the names Kafka burns
         * and read it again. */
        char tmp[64];
        rv__dsl_name(b, NULL, "KSTREAM-SINK-", tmp, sizeof tmp);
        rv__dsl_name(b, NULL, "KSTREAM-FILTER-", tmp, sizeof tmp);
        rv__dsl_name(b, NULL, "KSTREAM-SOURCE-", tmp, sizeof tmp);
        return g->repartitioned;
    }
    const char *base = g->repartition_name ? g->repartition_name : store;
    src =
        rv__kstream_repartition_for(src, base, generated_name(base), g->key_serde, g->value_serde);
    if (src && g->repartition_name)
        g->repartitioned = src;
    return src;
}

const char *rv__kgrouped_store_name(rv_streams_builder_t *b, rv__agg_kind_t kind,
                                    const rv_materialized_t *m, char *store, size_t size) {
    /* Kafka's count(Materialized) burns a store name when the Materialized
     * has none (KGroupedStreamImpl keeps it for compatibility). */
    if (kind == RV__AGG_COUNT && m && !m->store_name)
        rv__dsl_store_name(b, "KSTREAM-AGGREGATE-", store, size);
    const char *prefix = kind == RV__AGG_REDUCE ? "KSTREAM-REDUCE-" : "KSTREAM-AGGREGATE-";
    if (m && m->store_name)
        snprintf(store, size, "%s", m->store_name);
    else
        rv__dsl_store_name(b, prefix, store, size);
    return prefix;
}

void rv__agg_result_serdes(const rv_serde_t **key_serde, const rv_serde_t **value_serde,
                           rv__agg_kind_t kind, const rv_materialized_t *m,
                           const rv_serde_t *grouped_key_serde,
                           const rv_serde_t *grouped_value_serde) {
    *key_serde = m && m->key_serde ? m->key_serde : grouped_key_serde;
    if (m && m->value_serde)
        *value_serde = m->value_serde;
    else if (kind == RV__AGG_COUNT)
        *value_serde = rv_serde_int64();
    else if (kind == RV__AGG_REDUCE)
        *value_serde = grouped_value_serde;
    else
        *value_serde = NULL;
}

/* ---- The aggregation processors ---- */

/* One aggregation node's configuration (shared memory). */
typedef struct agg_cfg_s {
    rv__ktable_flags_t flags; /* the result table's: send old values */
    rv__agg_kind_t kind;
    bool table;        /* a KGroupedTable aggregation: Changes in, retraction */
    const char *store; /* shared memory */
    const char *topic; /* KTable: the repartition topic (without the app prefix) */
    const rv_serde_t *key_serde, *value_serde; /* the store's; NULL = defaults */
    const rv_serde_t *in_value_serde;          /* KTable: the values in the Changes */
    rv__agg_fns_t fn;                          /* the user's functions */
} agg_cfg_t;

typedef struct agg_inst_s {
    const agg_cfg_t *cfg;
    rv_processor_context_t *ctx;
    rv__table_store_t ts;
    const rv_serde_t *in_serde; /* KTable: resolved in_value_serde */
    char *topic;                /* KTable: "<app>-<topic>", for the deserializer */
    rv_out_t out_init, out_mid, out_new;
    int64_t count_init, count_mid, count_new;
} agg_inst_t;

static rv_err_t agg_init(rv_processor_context_t *ctx, void *state) {
    agg_inst_t *in = state;
    const agg_cfg_t *cfg = in->cfg;
    in->ctx = ctx;
    if (cfg->table) {
        in->in_serde = rv__dsl_serde(cfg->in_value_serde, ctx, false);
        if (!(in->topic = rv__dsl_app_topic(ctx, cfg->topic)))
            return RV_ERR__NOMEM;
    }
    return rv__table_store_init(&in->ts, ctx, cfg->store, cfg->key_serde, cfg->value_serde,
                                cfg->flags.send_old_values);
}

static void agg_close(void *state) {
    agg_inst_t *in = state;
    if (!in)
        return;
    rv__table_store_close(&in->ts);
    rv__out_free(&in->out_init);
    rv__out_free(&in->out_mid);
    rv__out_free(&in->out_new);
    free(in->topic);
    free(in);
}

/* An int64 row (count) as stored; RV_ERR__DESERIALIZATION when the value
 * serde made something else. */
static rv_err_t read_count(int64_t *n, const void *v, int32_t len) {
    if (len != (int32_t)sizeof(int64_t)) {
        rv__log_err(FAC, "A count's value of %" PRId32 " bytes is not an int64", len);
        return RV_ERR__DESERIALIZATION;
    }
    memcpy(n, v, sizeof *n);
    return RV_ERR_NO_ERROR;
}

/* The initializer's value: count 0, aggregate the user's. */
static rv_err_t initial(agg_inst_t *in, const void **v, int32_t *len) {
    const agg_cfg_t *cfg = in->cfg;
    if (cfg->kind == RV__AGG_COUNT) {
        in->count_init = 0;
        *v = &in->count_init;
        *len = (int32_t)sizeof(int64_t);
        return RV_ERR_NO_ERROR;
    }
    rv__out_reset(&in->out_init, RV__OUT_VALUE);
    rv_err_t err = cfg->fn.initializer(&in->out_init, cfg->fn.initializer_opaque);
    if (err)
        return err;
    rv__out_value_get(&in->out_init, v, len);
    return RV_ERR_NO_ERROR;
}

/* adder (add) or subtractor (!add) of `value` into `agg`, the result in
 * `out` (or in *cnt for count). */
static rv_err_t apply(agg_inst_t *in, bool add, rv_out_t *out, int64_t *cnt, const void *key,
                      int32_t key_len, const void *value, int32_t value_len, const void *agg,
                      int32_t agg_len, const void **res, int32_t *res_len) {
    const agg_cfg_t *cfg = in->cfg;
    rv_err_t err;
    switch (cfg->kind) {
    case RV__AGG_COUNT: {
        int64_t n = 0;
        if (agg && (err = read_count(&n, agg, agg_len)))
            return err;
        *cnt = add ? n + 1 : n - 1;
        *res = cnt;
        *res_len = (int32_t)sizeof(int64_t);
        return RV_ERR_NO_ERROR;
    }
    case RV__AGG_REDUCE:
        rv__out_reset(out, RV__OUT_VALUE);
        err = (add ? cfg->fn.reducer : cfg->fn.reducer_subtractor)(out, agg, agg_len, value,
                                                                   value_len, cfg->fn.opaque);
        break;
    default:
        rv__out_reset(out, RV__OUT_VALUE);
        err = (add ? cfg->fn.aggregator : cfg->fn.subtractor)(out, key, key_len, value, value_len,
                                                              agg, agg_len, cfg->fn.opaque);
        break;
    }
    if (err)
        return err;
    rv__out_value_get(out, res, res_len);
    return RV_ERR_NO_ERROR;
}

/* KStreamAggregate / KStreamReduce. */
static rv_err_t kstream_agg_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                    void *state) {
    agg_inst_t *in = state;
    const agg_cfg_t *cfg = in->cfg;
    if (!r->key || !r->value) {
        rv__dsl_log_skipped(ctx, "null key or value");
        return RV_ERR_NO_ERROR;
    }
    void *old = NULL;
    int32_t old_len = -1;
    int64_t old_ts = -1;
    rv_err_t err = rv__table_store_get(&in->ts, &old, &old_len, &old_ts, r->key, r->key_len);
    if (err)
        return err;
    const void *base = old, *nv = NULL;
    int32_t base_len = old_len, nl = -1;
    int64_t ts = r->timestamp;
    if (old) {
        if (old_ts > ts)
            ts = old_ts;
    } else if (cfg->kind != RV__AGG_REDUCE && (err = initial(in, &base, &base_len))) {
        goto done;
    }
    if (cfg->kind == RV__AGG_REDUCE && !old) {
        nv = r->value;
        nl = r->value_len;
    } else if ((err = apply(in, true, &in->out_new, &in->count_new, r->key, r->key_len, r->value,
                            r->value_len, base, base_len, &nv, &nl))) {
        goto done;
    }
    err = rv__table_store_put(&in->ts, r->key, r->key_len, nv, nl, ts, base, base_len);
done:
    if (old)
        rv_serde_free(in->ts.value_serde, old);
    return err;
}

/* Splits Kafka's Change format (see DESIGN) into the new and old value
 * bytes (NULL when absent). */
static rv_err_t changed_split(const uint8_t *p, size_t len, const uint8_t **nb, size_t *nl,
                              const uint8_t **ob, size_t *ol) {
    *nb = *ob = NULL;
    *nl = *ol = 0;
    if (len < 1)
        goto bad;
    uint8_t flag = p[len - 1];
    size_t body = len - 1;
    if (flag >= 3) { /* the same, with an is-latest byte before the flag */
        if (body < 1 || flag > 5)
            goto bad;
        body--;
        flag -= 3;
    }
    if (flag == 0) {
        *ob = p;
        *ol = body;
    } else if (flag == 1) {
        *nb = p;
        *nl = body;
    } else {
        rv__slice_t s;
        int32_t n;
        rv__slice_init(&s, p, body);
        if (rv__slice_varint32(&s, &n) || n < 0 || (size_t)n > rv__slice_left(&s))
            goto bad;
        *nb = p + s.pos;
        *nl = (size_t)n;
        *ob = p + s.pos + (size_t)n;
        *ol = body - s.pos - (size_t)n;
    }
    return RV_ERR_NO_ERROR;
bad:
    rv__log_err(FAC, "Encountered a malformed Change of %zu bytes in ChangedDeserializer", len);
    return RV_ERR__DESERIALIZATION;
}

static rv_err_t deser(agg_inst_t *in, void **v, int32_t *vl, const uint8_t *b, size_t bl) {
    *v = NULL;
    *vl = -1;
    if (!b)
        return RV_ERR_NO_ERROR;
    char errstr[256];
    rv_err_t err =
        rv_serde_deserialize(in->in_serde, v, vl, in->topic, b, (int32_t)bl, errstr, sizeof errstr);
    if (err)
        rv__log_err(FAC, "%s", errstr);
    return err;
}

/* KTableAggregate / KTableReduce: a Change read from the repartition
 * topic. */
static rv_err_t ktable_agg_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                   void *state) {
    agg_inst_t *in = state;
    const agg_cfg_t *cfg = in->cfg;
    if (!r->key)
        return rv__dsl_fail_record(
            ctx, RV_ERR__FAIL,
            "Record key for KTable %s operator with state %s should not be null.",
            cfg->kind == RV__AGG_REDUCE ? "reduce" : "aggregate", cfg->store);
    if (!r->value)
        return rv__dsl_fail_record(ctx, RV_ERR__DESERIALIZATION,
                                   "Both old and new values are null in ChangeSerializer, which is "
                                   "not allowed.");
    const uint8_t *nb, *ob;
    size_t nbl, obl;
    rv_err_t err = changed_split(r->value, (size_t)r->value_len, &nb, &nbl, &ob, &obl);
    if (err)
        return err;
    void *newv = NULL, *oldv = NULL, *agg = NULL;
    int32_t newl = -1, oldl = -1, agg_len = -1;
    int64_t agg_ts = -1;
    if ((err = deser(in, &newv, &newl, nb, nbl)) || (err = deser(in, &oldv, &oldl, ob, obl)))
        goto done;
    if ((err = rv__table_store_get(&in->ts, &agg, &agg_len, &agg_ts, r->key, r->key_len)))
        goto done;
    int64_t ts = r->timestamp;
    if (agg && agg_ts > ts)
        ts = agg_ts;
    /* First take the old value out. */
    const void *mid = agg;
    int32_t mid_len = agg_len;
    if (oldv && agg &&
        (err = apply(in, false, &in->out_mid, &in->count_mid, r->key, r->key_len, oldv, oldl, agg,
                     agg_len, &mid, &mid_len)))
        goto done;
    /* Then add the new one. */
    const void *nv = mid;
    int32_t nl = mid_len;
    if (newv) {
        if (cfg->kind == RV__AGG_REDUCE && !mid) {
            nv = newv;
            nl = newl;
        } else {
            const void *base = mid;
            int32_t base_len = mid_len;
            if (!base && (err = initial(in, &base, &base_len)))
                goto done;
            if ((err = apply(in, true, &in->out_new, &in->count_new, r->key, r->key_len, newv, newl,
                             base, base_len, &nv, &nl)))
                goto done;
        }
    }
    err = rv__table_store_put(&in->ts, r->key, r->key_len, nv, nl, ts, agg, agg_len);
done:
    rv_serde_free(in->in_serde, newv);
    rv_serde_free(in->in_serde, oldv);
    rv_serde_free(in->ts.value_serde, agg);
    return err;
}

static rv_err_t agg_get(rv_processor_t *out, void *opaque) {
    const agg_cfg_t *cfg = opaque;
    return rv__dsl_processor_new(out, sizeof(agg_inst_t), cfg, agg_init,
                                 cfg->table ? ktable_agg_process : kstream_agg_process, agg_close);
}

/* ---- KStream.groupBy's key selector (KSTREAM-KEY-SELECT) ---- */

typedef struct select_key_cfg_s {
    rv_mapper_cb_t *selector;
    void *opaque;
} select_key_cfg_t;

typedef struct select_key_inst_s {
    const select_key_cfg_t *cfg;
    rv_out_t out;
} select_key_inst_t;

static rv_err_t select_key_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                   void *state) {
    select_key_inst_t *in = state;
    rv__out_reset(&in->out, RV__OUT_KEY);
    rv_err_t err =
        in->cfg->selector(&in->out, r->key, r->key_len, r->value, r->value_len, in->cfg->opaque);
    if (err)
        return err;
    rv_processor_record_t fwd = *r;
    out_key(&in->out, &fwd.key, &fwd.key_len);
    return rv_processor_context_forward(ctx, &fwd);
}

static void select_key_close(void *state) {
    select_key_inst_t *in = state;
    if (!in)
        return;
    rv__out_free(&in->out);
    free(in);
}

static rv_err_t select_key_get(rv_processor_t *out, void *opaque) {
    return rv__dsl_processor_new(out, sizeof(select_key_inst_t), opaque, NULL, select_key_process,
                                 select_key_close);
}

/* ---- KTable.groupBy's selector (KTABLE-SELECT: KTableRepartitionMap) ---- */

typedef struct table_select_cfg_s {
    select_key_cfg_t sel;          /* first: see add_group_selector() */
    const rv_serde_t *value_serde; /* Grouped's; NULL = default.value.serde */
    const char *topic;             /* the repartition topic, set by the aggregation */
} table_select_cfg_t;

typedef struct table_select_inst_s {
    const table_select_cfg_t *cfg;
    const rv_serde_t *vs;
    char *topic;
    rv_out_t out_new, out_old;
    rv__buf_t buf;
} table_select_inst_t;

static rv_err_t table_select_init(rv_processor_context_t *ctx, void *state) {
    table_select_inst_t *in = state;
    rv__buf_init(&in->buf);
    in->vs = rv__dsl_serde(in->cfg->value_serde, ctx, false);
    in->topic = rv__dsl_app_topic(ctx, in->cfg->topic ? in->cfg->topic : "");
    return in->topic ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

/* Appends the serialized value v to in->buf; *len gets its length. */
static rv_err_t put_value(table_select_inst_t *in, const void *v, int32_t vl, size_t *len) {
    void *bytes = NULL;
    int32_t bl = 0;
    char errstr[256];
    rv_err_t err = rv_serde_serialize(in->vs, &bytes, &bl, in->topic, v, vl, errstr, sizeof errstr);
    if (err) {
        rv__log_err(FAC, "%s", errstr);
        return err;
    }
    if (bl < 0)
        bl = 0;
    err = rv__buf_append(&in->buf, bytes, (size_t)bl);
    rv_serde_free(in->vs, bytes);
    *len = (size_t)bl;
    return err;
}

/* Kafka's ChangedSerializer (see DESIGN) of {nv, ov} into in->buf. */
static rv_err_t changed_serialize(table_select_inst_t *in, const void *nv, int32_t nl,
                                  const void *ov, int32_t ol) {
    in->buf.len = 0;
    size_t n;
    rv_err_t err;
    if (nv && ov) {
        /* The length of the new value goes first: serialize it into a
         * scratch area after a 5-byte gap, then close the gap. */
        if ((err = rv__buf_reserve(&in->buf, 5)))
            return err;
        in->buf.len = 5;
        if ((err = put_value(in, nv, nl, &n)))
            return err;
        uint8_t v[10];
        size_t vn = rv__uvarint_encode(v, rv__zigzag64((int64_t)n));
        memmove(in->buf.data + vn, in->buf.data + 5, n);
        memcpy(in->buf.data, v, vn);
        in->buf.len = vn + n;
        if ((err = put_value(in, ov, ol, &n)))
            return err;
        return rv__buf_put_u8(&in->buf, 2);
    }
    if (nv) {
        if ((err = put_value(in, nv, nl, &n)))
            return err;
        return rv__buf_put_u8(&in->buf, 1);
    }
    if ((err = put_value(in, ov, ol, &n)))
        return err;
    return rv__buf_put_u8(&in->buf, 0);
}

static rv_err_t forward_change(rv_processor_context_t *ctx, table_select_inst_t *in,
                               const rv_processor_record_t *r, const void *key, int32_t key_len,
                               const void *nv, int32_t nl, const void *ov, int32_t ol) {
    rv_err_t err = changed_serialize(in, nv, nl, ov, ol);
    if (err)
        return err;
    rv_processor_record_t fwd = *r;
    fwd.key = key;
    fwd.key_len = key_len;
    fwd.value = in->buf.data;
    fwd.value_len = (int32_t)in->buf.len;
    return rv_processor_context_forward(ctx, &fwd);
}

/* Runs the selector on row value v; *has is set when it returned a pair
 * with a non-null key and value. */
static rv_err_t select_pair(table_select_inst_t *in, rv_out_t *out, const rv_processor_record_t *r,
                            const void *v, int32_t vl, bool *has) {
    *has = false;
    if (!v)
        return RV_ERR_NO_ERROR;
    rv__out_reset(out, RV__OUT_KEY_VALUE);
    rv_err_t err = in->cfg->sel.selector(out, r->key, r->key_len, v, vl, in->cfg->sel.opaque);
    if (err)
        return err;
    const void *k, *pv;
    int32_t kl, pl;
    out_key(out, &k, &kl);
    rv__out_value_get(out, &pv, &pl);
    *has = k && pv;
    return RV_ERR_NO_ERROR;
}

static rv_err_t table_select_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                     void *state) {
    table_select_inst_t *in = state;
    if (!r->key)
        return rv__dsl_fail_record(ctx, RV_ERR__FAIL,
                                   "Record key for the grouping KTable should not be null.");
    if (!r->value || r->value_len != (int32_t)sizeof(rv__change_t))
        return RV_ERR__STATE;
    const rv__change_t *c = r->value;
    bool has_new, has_old;
    rv_err_t err;
    if ((err = select_pair(in, &in->out_new, r, c->new_value, c->new_len, &has_new)) ||
        (err = select_pair(in, &in->out_old, r, c->old_value, c->old_len, &has_old)))
        return err;
    const rv__out_item_t *n = &in->out_new.items[0], *o = &in->out_old.items[0];
    if (has_new && has_old && n->key_len == o->key_len &&
        !memcmp(n->key, o->key, (size_t)(n->key_len > 0 ? n->key_len : 0)))
        return forward_change(ctx, in, r, n->key, n->key_len, n->value, n->value_len, o->value,
                              o->value_len);
    if (has_old &&
        (err = forward_change(ctx, in, r, o->key, o->key_len, NULL, -1, o->value, o->value_len)))
        return err;
    if (has_new)
        return forward_change(ctx, in, r, n->key, n->key_len, n->value, n->value_len, NULL, -1);
    return RV_ERR_NO_ERROR;
}

static void table_select_close(void *state) {
    table_select_inst_t *in = state;
    if (!in)
        return;
    rv__out_free(&in->out_new);
    rv__out_free(&in->out_old);
    rv__buf_free(&in->buf);
    free(in->topic);
    free(in);
}

static rv_err_t table_select_get(rv_processor_t *out, void *opaque) {
    return rv__dsl_processor_new(out, sizeof(table_select_inst_t), opaque, table_select_init,
                                 table_select_process, table_select_close);
}

/* ---- KStream.groupByKey / groupBy ---- */

static rv_kgrouped_stream_t *grouped_stream_new(rv_streams_builder_t *b, rv_kstream_t *s,
                                                const rv_grouped_t *grouped) {
    rv_kgrouped_stream_t *g = rv__dsl_alloc(b, sizeof *g);
    if (!g)
        return NULL;
    g->b = b;
    g->stream = s;
    g->key_serde = grouped && grouped->key_serde ? grouped->key_serde : s->key_serde;
    g->value_serde = grouped && grouped->value_serde ? grouped->value_serde : s->value_serde;
    if (grouped && grouped->name && !(g->repartition_name = rv__dsl_strdup(b, grouped->name)))
        return NULL;
    return g;
}

rv_kgrouped_stream_t *rv_kstream_group_by_key(rv_kstream_t *s, const rv_grouped_t *grouped) {
    if (!s)
        return NULL;
    rv_streams_builder_t *b = s->b;
    if (!rv__dsl_builder_ok(b))
        return NULL;
    return grouped_stream_new(b, s, grouped);
}

/* Adds a group_by's selector node "<prefix>n" (Kafka names it after
 * Grouped.name when there is one) under `parent`: checks the arguments
 * (`what` names the selector in Kafka's message), allocates its
 * configuration of cfg_size bytes, which starts with a select_key_cfg_t,
 * and writes its name. Returns the configuration, NULL with the builder's
 * error set. */
static void *add_group_selector(rv_streams_builder_t *b, const char *parent,
                                rv_mapper_cb_t *selector, void *opaque, const char *what,
                                const rv_grouped_t *grouped, const char *prefix,
                                rv_processor_get_cb_t *get, size_t cfg_size, char *name,
                                size_t name_size) {
    if (!rv__dsl_builder_ok(b) || !rv__dsl_require(b, selector != NULL, what))
        return NULL;
    rv__dsl_name(b, grouped ? grouped->name : NULL, prefix, name, name_size);
    select_key_cfg_t *cfg = rv__dsl_alloc(b, cfg_size);
    if (!cfg)
        return NULL;
    cfg->selector = selector;
    cfg->opaque = opaque;
    if (rv__dsl_add_processor(b, name, get, cfg, &parent, 1))
        return NULL;
    return cfg;
}

rv_kgrouped_stream_t *rv_kstream_group_by(rv_kstream_t *s, rv_mapper_cb_t *selector, void *opaque,
                                          const rv_grouped_t *grouped) {
    if (!s)
        return NULL;
    rv_streams_builder_t *b = s->b;
    char name[512];
    if (!add_group_selector(b, s->node, selector, opaque, "keySelector", grouped,
                            "KSTREAM-KEY-SELECT-", select_key_get, sizeof(select_key_cfg_t), name,
                            sizeof name))
        return NULL;
    rv_kstream_t *ks = rv__kstream_new(b, name, NULL, s->value_serde, true);
    if (!ks)
        return NULL;
    return grouped_stream_new(b, ks, grouped);
}

/* ---- KGroupedStream aggregations ---- */

bool rv__agg_fns_check(rv_streams_builder_t *b, rv__agg_kind_t kind, rv__agg_of_t of,
                       const rv__agg_fns_t *fn) {
    if (!rv__dsl_builder_ok(b))
        return false;
    bool table = of == RV__AGG_OF_TABLE;
    if (kind == RV__AGG_REDUCE)
        return rv__dsl_require(b, fn->reducer != NULL, table ? "adder" : "reducer") &&
               (!table || rv__dsl_require(b, fn->reducer_subtractor != NULL, "subtractor"));
    if (kind != RV__AGG_AGGREGATE)
        return true;
    return rv__dsl_require(b, fn->initializer != NULL, "initializer") &&
           rv__dsl_require(b, fn->aggregator != NULL, table ? "adder" : "aggregator") &&
           (!table || rv__dsl_require(b, fn->subtractor != NULL, "subtractor")) &&
           (of != RV__AGG_OF_SESSION || rv__dsl_require(b, fn->merger != NULL, "sessionMerger"));
}

/* Adds aggregation node `proc` (configuration cfg, its store `store` as
 * Materialized m says) under `parent`, and returns its table. */
static rv_ktable_t *add_aggregation(rv_streams_builder_t *b, agg_cfg_t *cfg, const char *proc,
                                    const char *parent, const char *store,
                                    const rv_materialized_t *m) {
    if (!(cfg->store = rv__dsl_strdup(b, store)) ||
        rv__dsl_add_processor(b, proc, agg_get, cfg, &parent, 1))
        return NULL;
    rv_store_builder_t *sb = rv__dsl_store_builder(b, store, m);
    if (!sb || rv__dsl_add_store(b, sb, proc))
        return NULL;
    return rv__ktable_new(b, proc, cfg->key_serde, cfg->value_serde, store,
                          m && m->store_name ? m->store_name : NULL, &cfg->flags, NULL);
}

/* A rolling aggregation node's configuration, NULL with the builder's
 * error set (rv__agg_fns_check()). */
static agg_cfg_t *cfg_new(rv_streams_builder_t *b, rv__agg_kind_t kind, rv__agg_of_t of,
                          const rv__agg_fns_t *fn) {
    if (!rv__agg_fns_check(b, kind, of, fn))
        return NULL;
    agg_cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->kind = kind;
    cfg->table = of == RV__AGG_OF_TABLE;
    cfg->fn = *fn;
    return cfg;
}

static rv_ktable_t *kgrouped_stream_aggregate(rv_kgrouped_stream_t *g, rv__agg_kind_t kind,
                                              const rv__agg_fns_t *fn, const char *name,
                                              const rv_materialized_t *materialized) {
    if (!g)
        return NULL;
    rv_streams_builder_t *b = g->b;
    const rv_materialized_t *m = materialized;
    agg_cfg_t *cfg = cfg_new(b, kind, RV__AGG_OF_STREAM, fn);
    if (!cfg)
        return NULL;
    char store[512], proc[512];
    const char *prefix = rv__kgrouped_store_name(b, cfg->kind, m, store, sizeof store);
    rv__dsl_name(b, name, prefix, proc, sizeof proc);
    rv_kstream_t *src = rv__kgrouped_stream_source(g, store);
    if (!src)
        return NULL;
    /* Serdes of the result: Materialized's, else the grouped stream's
     * (count: int64 values; aggregate: default values). */
    rv__agg_result_serdes(&cfg->key_serde, &cfg->value_serde, cfg->kind, m, g->key_serde,
                          g->value_serde);
    return add_aggregation(b, cfg, proc, src->node, store, m);
}

rv_ktable_t *rv_kgrouped_stream_count(rv_kgrouped_stream_t *g, const char *name,
                                      const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {0};
    return kgrouped_stream_aggregate(g, RV__AGG_COUNT, &fn, name, materialized);
}

rv_ktable_t *rv_kgrouped_stream_reduce(rv_kgrouped_stream_t *g, rv_reducer_cb_t *reducer,
                                       void *opaque, const char *name,
                                       const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.reducer = reducer, .opaque = opaque};
    return kgrouped_stream_aggregate(g, RV__AGG_REDUCE, &fn, name, materialized);
}

rv_ktable_t *rv_kgrouped_stream_aggregate(rv_kgrouped_stream_t *g, rv_initializer_cb_t *initializer,
                                          void *initializer_opaque, rv_aggregator_cb_t *aggregator,
                                          void *aggregator_opaque, const char *name,
                                          const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.initializer = initializer,
                        .initializer_opaque = initializer_opaque,
                        .aggregator = aggregator,
                        .opaque = aggregator_opaque};
    return kgrouped_stream_aggregate(g, RV__AGG_AGGREGATE, &fn, name, materialized);
}

/* ---- KTable.groupBy ---- */

/* A grouped table handle and its KTABLE-SELECT node's configuration, in
 * one piece of shared memory: the first aggregation tells the node which
 * topic it writes. */
typedef struct grouped_table_s {
    table_select_cfg_t select; /* first: add_group_selector() allocates it */
    rv_kgrouped_table_t g;     /* the handle given out */
} grouped_table_t;

rv_kgrouped_table_t *rv_ktable_group_by(rv_ktable_t *t, rv_mapper_cb_t *selector, void *opaque,
                                        const rv_grouped_t *grouped) {
    if (!t)
        return NULL;
    rv_streams_builder_t *b = t->b;
    char name[512];
    grouped_table_t *gt =
        add_group_selector(b, t->node, selector, opaque, "selector", grouped, "KTABLE-SELECT-",
                           table_select_get, sizeof(grouped_table_t), name, sizeof name);
    if (!gt)
        return NULL;
    rv_kgrouped_table_t *g = &gt->g;
    table_select_cfg_t *cfg = &gt->select;
    /* Kafka's groupBy(selector) groups with Grouped.with(null, null): the
     * defaults unless Grouped names serdes. The node reads its
     * configuration only when tasks run, so it may be filled in now. */
    cfg->value_serde = grouped ? grouped->value_serde : NULL;
    /* The selector needs each row's old value to retract it. */
    if (rv__ktable_enable_send_old_values(t))
        return NULL;
    g->b = b;
    g->table = t;
    if (!(g->select_node = rv__dsl_strdup(b, name)))
        return NULL;
    g->key_serde = grouped ? grouped->key_serde : NULL;
    g->value_serde = cfg->value_serde;
    if (grouped && grouped->name && !(g->repartition_name = rv__dsl_strdup(b, grouped->name)))
        return NULL;
    /* The select node's configuration learns its topic from the first
     * aggregation (see kgrouped_table_aggregate()). */
    g->repartition_source = NULL;
    return g;
}

/* The KTABLE-SELECT configuration of g, allocated with the handle (see
 * grouped_table_t). */
static table_select_cfg_t *select_cfg_of(rv_kgrouped_table_t *g) {
    return &((grouped_table_t *)((char *)g - offsetof(grouped_table_t, g)))->select;
}

static rv_ktable_t *kgrouped_table_aggregate(rv_kgrouped_table_t *g, rv__agg_kind_t kind,
                                             const rv__agg_fns_t *fn, const char *name,
                                             const rv_materialized_t *materialized) {
    if (!g)
        return NULL;
    rv_streams_builder_t *b = g->b;
    const rv_materialized_t *m = materialized;
    agg_cfg_t *cfg = cfg_new(b, kind, RV__AGG_OF_TABLE, fn);
    if (!cfg)
        return NULL;
    char store[512], sink[512], source[512], proc[512], given[512], topic[600];
    if (m && m->store_name)
        snprintf(store, sizeof store, "%s", m->store_name);
    else
        rv__dsl_store_name(b, "KTABLE-AGGREGATE-", store, sizeof store);
    if (name)
        snprintf(given, sizeof given, "%s-sink", name);
    rv__dsl_name(b, name ? given : NULL, "KSTREAM-SINK-", sink, sizeof sink);
    if (name)
        snprintf(given, sizeof given, "%s-source", name);
    rv__dsl_name(b, name ? given : NULL, "KSTREAM-SOURCE-", source, sizeof source);
    rv__dsl_name(b, name, cfg->kind == RV__AGG_REDUCE ? "KTABLE-REDUCE-" : "KTABLE-AGGREGATE-",
                 proc, sizeof proc);
    snprintf(topic, sizeof topic, "%s-repartition",
             g->repartition_name ? g->repartition_name : store);

    char errstr[512];
    rv_err_t err;
    const char *from = g->repartition_source;
    if (!from || !g->repartition_name) {
        table_select_cfg_t *scfg = select_cfg_of(g);
        /* The select node serializes for the (first) topic it writes. */
        if (!scfg->topic && !(scfg->topic = rv__dsl_strdup(b, topic)))
            return NULL;
        rv_sink_opts_t so = RV_SINK_OPTS_INIT;
        so.key_serializer = g->key_serde;
        so.value_serializer = rv_serde_bytes(); /* Change bytes, see DESIGN */
        so.internal = 1;
        const char *parents[] = {g->select_node};
        if ((err = rv_topology_add_sink(b->topo, sink, topic, &so, parents, 1, errstr,
                                        sizeof errstr))) {
            rv__dsl_topology_fail(b, err, errstr);
            return NULL;
        }
        rv_source_opts_t src = RV_SOURCE_OPTS_INIT;
        src.key_deserializer = g->key_serde;
        src.value_deserializer = rv_serde_bytes();
        src.timestamp_extractor = rv_timestamp_extractor_fail_on_invalid;
        src.internal = 1;
        const char *topics[] = {topic};
        if ((err =
                 rv_topology_add_source(b->topo, source, topics, 1, &src, errstr, sizeof errstr))) {
            rv__dsl_topology_fail(b, err, errstr);
            return NULL;
        }
        if (!(from = rv__dsl_strdup(b, source)))
            return NULL;
        if (g->repartition_name)
            g->repartition_source = (char *)from;
    }

    rv__agg_result_serdes(&cfg->key_serde, &cfg->value_serde, cfg->kind, m, g->key_serde,
                          g->value_serde);
    cfg->in_value_serde = g->value_serde;
    if (!(cfg->topic = rv__dsl_strdup(b, topic)))
        return NULL;
    return add_aggregation(b, cfg, proc, from, store, m);
}

rv_ktable_t *rv_kgrouped_table_count(rv_kgrouped_table_t *g, const char *name,
                                     const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {0};
    return kgrouped_table_aggregate(g, RV__AGG_COUNT, &fn, name, materialized);
}

rv_ktable_t *rv_kgrouped_table_reduce(rv_kgrouped_table_t *g, rv_reducer_cb_t *adder,
                                      rv_reducer_cb_t *subtractor, void *opaque, const char *name,
                                      const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.reducer = adder, .reducer_subtractor = subtractor, .opaque = opaque};
    return kgrouped_table_aggregate(g, RV__AGG_REDUCE, &fn, name, materialized);
}

rv_ktable_t *rv_kgrouped_table_aggregate(rv_kgrouped_table_t *g, rv_initializer_cb_t *initializer,
                                         void *initializer_opaque, rv_aggregator_cb_t *adder,
                                         rv_aggregator_cb_t *subtractor, void *aggregator_opaque,
                                         const char *name, const rv_materialized_t *materialized) {
    rv__agg_fns_t fn = {.initializer = initializer,
                        .initializer_opaque = initializer_opaque,
                        .aggregator = adder,
                        .subtractor = subtractor,
                        .opaque = aggregator_opaque};
    return kgrouped_table_aggregate(g, RV__AGG_AGGREGATE, &fn, name, materialized);
}
