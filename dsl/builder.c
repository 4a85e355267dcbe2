/* dsl/builder.c: the StreamsBuilder of the DSL (rivulet/dsl.h) and what
 * every DSL file shares (dsl/dsl_internal.h): the builder's sticky error,
 * the shared memory that handles and node configurations live in, Kafka's
 * name generator, stream handles, DSL processor suppliers, the repartition
 * topics that key changes and KStream.repartition() insert, rv_out_t, and
 * store builders for Materialized.
 *
 * DESIGN
 *
 * Shared memory. Handles and node configurations are read by processors
 * long after the builder is gone (the topology outlives it), so they live
 * in an rv__dsl_shared_t: a list of (pointer, free function) pairs with an
 * atomic reference count. The builder holds one reference and every DSL
 * processor supplier one more (the supplier's opaque is a small wrapper
 * that knows the shared memory); the last release frees the list. Nothing
 * in it changes once the topology runs, so the stream threads read it
 * without locks.
 *
 * Names. One index counter per builder, advanced exactly where Kafka's
 * InternalStreamsBuilder advances it: newProcessorName() and
 * newStoreName() calls, including the ones Kafka makes only to burn an
 * index for a named operator (NamedInternal.orElseGenerateWithPrefix) and
 * the three a repartition topic always takes (sink, filter, source, in
 * that order, whatever their final names).
 *
 * rv_out_t. A user function's results are copied into one arena per
 * processor instance. Items point into the arena; when the arena grows the
 * pointers are turned into offsets before the realloc and back after, so
 * the items stay valid without a second pass by the reader. Every copy is
 * aligned for any type (a value may be an int64_t or a double the next
 * processor reads in place) and followed by a NUL byte. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errstr.h"
#include "dsl/dsl_internal.h"
#include "state/store_internal.h"
#include "runtime/topology_internal.h"

/* ---- Shared memory ---- */

typedef struct kept_s {
    void *p;
    void (*free_fn)(void *);
} kept_t;

struct rv__dsl_shared_s {
    atomic_int refs;
    kept_t *items;
    size_t cnt, cap;
};

static rv__dsl_shared_t *shared_new(void) {
    rv__dsl_shared_t *sh = calloc(1, sizeof *sh);
    if (sh)
        atomic_init(&sh->refs, 1);
    return sh;
}

static void shared_ref(rv__dsl_shared_t *sh) {
    atomic_fetch_add(&sh->refs, 1);
}

static void shared_unref(rv__dsl_shared_t *sh) {
    if (!sh || atomic_fetch_sub(&sh->refs, 1) != 1)
        return;
    /* Newest first: a later item may point into an earlier one. */
    for (size_t i = sh->cnt; i-- > 0;) {
        if (sh->items[i].free_fn)
            sh->items[i].free_fn(sh->items[i].p);
        else
            free(sh->items[i].p);
    }
    free(sh->items);
    free(sh);
}

/* ---- Errors ---- */

rv_err_t rv__dsl_fail(rv_streams_builder_t *b, rv_err_t err, const char *fmt, ...) {
    if (b && !b->err && err) {
        b->err = err;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->errmsg, sizeof b->errmsg, fmt, ap);
        va_end(ap);
    }
    return err;
}

rv_err_t rv__dsl_topology_fail(rv_streams_builder_t *b, rv_err_t err, const char *errstr) {
    if (err == RV_ERR__NOMEM && (!errstr || !*errstr))
        errstr = "Out of memory";
    return rv__dsl_fail(b, err, "%s", errstr ? errstr : "");
}

void *rv__dsl_keep(rv_streams_builder_t *b, void *p, void (*free_fn)(void *)) {
    if (!p)
        return NULL;
    rv__dsl_shared_t *sh = b->shared;
    if (sh->cnt == sh->cap) {
        size_t cap = sh->cap ? sh->cap * 2 : 32;
        kept_t *n = realloc(sh->items, cap * sizeof *n);
        if (!n) {
            if (free_fn)
                free_fn(p);
            else
                free(p);
            rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
            return NULL;
        }
        sh->items = n;
        sh->cap = cap;
    }
    sh->items[sh->cnt].p = p;
    sh->items[sh->cnt].free_fn = free_fn;
    sh->cnt++;
    return p;
}

void *rv__dsl_alloc(rv_streams_builder_t *b, size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    return rv__dsl_keep(b, p, NULL);
}

char *rv__dsl_strdup(rv_streams_builder_t *b, const char *s) {
    if (!s)
        return NULL;
    char *c = strdup(s);
    if (!c) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    return rv__dsl_keep(b, c, NULL);
}

/* ---- Names ---- */

/* Kafka's Named.validate(): the rules of a user-given operator name. */
rv_err_t rv__dsl_check_name(rv_streams_builder_t *b, const char *name) {
    size_t len = strlen(name);
    if (!len)
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                            "Invalid topology: Name is illegal, it can't be empty");
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                            "Invalid topology: Name cannot be \".\" or \"..\"");
    if (len > 249)
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                            "Invalid topology: Name is illegal, it can't be longer than 249 "
                            "characters, name: %s",
                            name);
    for (const char *c = name; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '.' || *c == '_' || *c == '-')
            continue;
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                            "Invalid topology: Name \"%s\" is illegal, it contains a character "
                            "other than ASCII alphanumerics, '.', '_' and '-'",
                            name);
    }
    return 0;
}

char *rv__dsl_name(rv_streams_builder_t *b, const char *given, const char *prefix, char *buf,
                   size_t size) {
    if (prefix) {
        snprintf(buf, size, "%s%010lld", prefix, (long long)b->index);
        b->index++;
    } else if (size) {
        buf[0] = '\0';
    }
    if (given) {
        rv__dsl_check_name(b, given);
        snprintf(buf, size, "%s", given);
    }
    return buf;
}

char *rv__dsl_store_name(rv_streams_builder_t *b, const char *prefix, char *buf, size_t size) {
    snprintf(buf, size, "%sSTATE-STORE-%010lld", prefix ? prefix : "", (long long)b->index);
    b->index++;
    return buf;
}

/* ---- Handles and processors ---- */

rv_kstream_t *rv__kstream_new(rv_streams_builder_t *b, const char *node,
                              const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                              bool repartition_required) {
    rv_kstream_t *s = rv__dsl_alloc(b, sizeof *s);
    if (!s)
        return NULL;
    s->b = b;
    s->node = rv__dsl_strdup(b, node);
    if (!s->node)
        return NULL;
    s->key_serde = key_serde;
    s->value_serde = value_serde;
    s->repartition_required = repartition_required;
    return s;
}

/* A DSL supplier's opaque: the operator's get and configuration, and the
 * shared memory reference the supplier holds. */
typedef struct dsl_supplier_s {
    rv_processor_get_cb_t *get;
    void *config;
    rv__dsl_shared_t *shared;
} dsl_supplier_t;

static rv_err_t dsl_supplier_get(rv_processor_t *out, void *opaque) {
    dsl_supplier_t *w = opaque;
    return w->get(out, w->config);
}

static void dsl_supplier_destroy(void *opaque) {
    dsl_supplier_t *w = opaque;
    shared_unref(w->shared);
    free(w);
}

/* The builder can no longer take operators once the topology is handed
 * over. */
static rv_err_t check_open(rv_streams_builder_t *b) {
    if (!b->topo)
        return rv__dsl_fail(b, RV_ERR__STATE,
                            "The builder was built already: rv_streams_builder_build() hands the "
                            "topology over");
    return 0;
}

rv_err_t rv__dsl_add_processor(rv_streams_builder_t *b, const char *name,
                               rv_processor_get_cb_t *get, void *config, const char *const *parents,
                               size_t parent_cnt) {
    rv_err_t err = check_open(b);
    if (err)
        return err;
    dsl_supplier_t *w = malloc(sizeof *w);
    if (!w)
        return rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
    w->get = get;
    w->config = config;
    w->shared = b->shared;
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = dsl_supplier_get;
    sup.opaque = w;
    sup.destroy = dsl_supplier_destroy;
    char errstr[512] = "";
    err =
        rv_topology_add_processor(b->topo, name, &sup, parents, parent_cnt, errstr, sizeof errstr);
    if (err) {
        free(w);
        return rv__dsl_topology_fail(b, err, errstr);
    }
    shared_ref(b->shared);
    return 0;
}

/* ---- Repartition topics ---- */

/* Kafka's KStreamFilter((k, v) -> k != null) in front of a repartition
 * sink: a null key cannot be partitioned. */
static rv_err_t null_key_filter_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                        void *state) {
    (void)state;
    if (!r->key)
        return 0;
    return rv_processor_context_forward(ctx, r);
}

static rv_err_t null_key_filter_get(rv_processor_t *out, void *config) {
    (void)config;
    out->process = null_key_filter_process;
    return 0;
}

/* Kafka's check repartitionTopicNamePrefix.matches("KSTREAM.*-[0-9]{10}"):
 * a generated base name gives generated node names. */
static bool generated_name(const char *s) {
    size_t len = strlen(s);
    if (strncmp(s, "KSTREAM", 7) || len < 7 + 11)
        return false;
    if (s[len - 11] != '-')
        return false;
    for (size_t i = len - 10; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

rv_err_t rv__dsl_repartition(char *source, size_t source_size, rv_streams_builder_t *b,
                             const char *parent, const char *base, bool base_generated,
                             const rv_serde_t *key_serde, const rv_serde_t *value_serde,
                             rv_stream_partitioner_cb_t *partitioner, void *partitioner_opaque,
                             int32_t partitions) {
    rv_err_t err = check_open(b);
    if (err)
        return err;
    char topic[512], gsink[64], gfilter[64], gsource[64];
    size_t blen = strlen(base);
    const char *suffix = "-repartition";
    if (blen >= strlen(suffix) && !strcmp(base + blen - strlen(suffix), suffix))
        snprintf(topic, sizeof topic, "%s", base);
    else
        snprintf(topic, sizeof topic, "%s%s", base, suffix);
    /* Always three indexes, in this order, as Kafka's
     * createRepartitionedSource(). */
    rv__dsl_name(b, NULL, "KSTREAM-SINK-", gsink, sizeof gsink);
    rv__dsl_name(b, NULL, "KSTREAM-FILTER-", gfilter, sizeof gfilter);
    rv__dsl_name(b, NULL, "KSTREAM-SOURCE-", gsource, sizeof gsource);
    char sink[600], filter[600];
    if (base_generated || generated_name(base)) {
        snprintf(sink, sizeof sink, "%s", gsink);
        snprintf(filter, sizeof filter, "%s", gfilter);
        snprintf(source, source_size, "%s", gsource);
    } else {
        snprintf(sink, sizeof sink, "%s-sink", topic);
        snprintf(filter, sizeof filter, "%s-filter", topic);
        snprintf(source, source_size, "%s-source", topic);
    }
    err = rv__dsl_add_processor(b, filter, null_key_filter_get, NULL, &parent, 1);
    if (err)
        return err;
    char errstr[512] = "";
    rv_sink_opts_t so = RV_SINK_OPTS_INIT;
    so.key_serializer = key_serde;
    so.value_serializer = value_serde;
    so.partitioner = partitioner;
    so.partitioner_opaque = partitioner_opaque;
    so.internal = 1;
    const char *fp = filter;
    err = rv_topology_add_sink(b->topo, sink, topic, &so, &fp, 1, errstr, sizeof errstr);
    if (err)
        return rv__dsl_topology_fail(b, err, errstr);
    rv_source_opts_t src = RV_SOURCE_OPTS_INIT;
    src.key_deserializer = key_serde;
    src.value_deserializer = value_serde;
    src.internal = 1;
    const char *t1 = topic;
    err = rv_topology_add_source(b->topo, source, &t1, 1, &src, errstr, sizeof errstr);
    if (err)
        return rv__dsl_topology_fail(b, err, errstr);
    if (partitions > 0) {
        err = rv__topology_set_internal_partitions(b->topo, topic, partitions);
        if (err)
            return rv__dsl_fail(b, err, "Out of memory");
    }
    return 0;
}

rv_kstream_t *rv__kstream_repartition_for(rv_kstream_t *s, const char *base, bool base_generated,
                                          const rv_serde_t *key_serde,
                                          const rv_serde_t *value_serde) {
    if (!s)
        return NULL;
    if (!s->repartition_required)
        return s;
    rv_streams_builder_t *b = s->b;
    const rv_serde_t *ks = key_serde ? key_serde : s->key_serde;
    const rv_serde_t *vs = value_serde ? value_serde : s->value_serde;
    char source[600];
    if (rv__dsl_repartition(source, sizeof source, b, s->node, base, base_generated, ks, vs, NULL,
                            NULL, 0))
        return NULL;
    return rv__kstream_new(b, source, ks, vs, false);
}

/* ---- rv_out_t ---- */

#define OUT_ALIGN _Alignof(max_align_t)

void rv__out_reset(rv_out_t *out, rv__out_mode_t mode) {
    out->mode = mode;
    out->arena_len = 0;
    out->key_set = out->value_set = false;
    out->cnt = 0;
    if (mode == RV__OUT_VALUE || mode == RV__OUT_KEY || mode == RV__OUT_KEY_VALUE) {
        /* One item, null until the function sets it. With no memory for it
         * cnt stays 0, which the first set reports as RV_ERR__NOMEM. */
        if (!out->cap) {
            out->items = malloc(4 * sizeof *out->items);
            if (!out->items)
                return;
            out->cap = 4;
        }
        out->items[0] = (rv__out_item_t){NULL, -1, NULL, -1};
        out->cnt = 1;
    }
}

void rv__out_free(rv_out_t *out) {
    if (!out)
        return;
    free(out->items);
    free(out->arena);
    out->items = NULL;
    out->arena = NULL;
    out->cnt = out->cap = out->arena_len = out->arena_cap = 0;
}

/* Copies data (len -1 with data: strlen; NULL, -1: null) into the arena;
 * res and res_len get the copy. */
static rv_err_t out_copy(rv_out_t *out, const void **res, int32_t *res_len, const void *data,
                         int32_t len) {
    /* Only -1 has a meaning below zero: another negative length is a
     * mistake, not a request to read up to a NUL byte that may not be
     * there. */
    if (len < -1)
        return RV_ERR__INVALID_ARG;
    if (!data) {
        if (len > 0)
            return RV_ERR__INVALID_ARG;
        if (len < 0) {
            *res = NULL;
            *res_len = -1;
            return 0;
        }
    }
    if (len < 0) {
        size_t sl = strlen(data);
        if (sl > INT32_MAX - 64)
            return RV_ERR__INVALID_ARG;
        len = (int32_t)sl;
    }
    /* The arena's first bytes stay unused: offset 0 would read as null
     * while items are offsets (see out_copy's move below). */
    if (out->arena_len == 0)
        out->arena_len = 1;
    size_t at = (out->arena_len + OUT_ALIGN - 1) / OUT_ALIGN * OUT_ALIGN;
    size_t need = at + (size_t)len + 1;
    if (need > out->arena_cap) {
        size_t cap = out->arena_cap ? out->arena_cap : 256;
        while (cap < need)
            cap *= 2;
        /* Items point into the arena: offsets across the move. */
        for (size_t i = 0; i < out->cnt; i++) {
            rv__out_item_t *it = &out->items[i];
            if (it->key)
                it->key = (const void *)(uintptr_t)((const char *)it->key - out->arena);
            if (it->value)
                it->value = (const void *)(uintptr_t)((const char *)it->value - out->arena);
        }
        char *n = realloc(out->arena, cap);
        if (n) {
            out->arena = n;
            out->arena_cap = cap;
        }
        for (size_t i = 0; i < out->cnt; i++) {
            rv__out_item_t *it = &out->items[i];
            if (it->key)
                it->key = out->arena + (uintptr_t)it->key;
            if (it->value)
                it->value = out->arena + (uintptr_t)it->value;
        }
        if (!n)
            return RV_ERR__NOMEM;
    }
    if (len)
        memcpy(out->arena + at, data, (size_t)len);
    out->arena[at + (size_t)len] = '\0';
    out->arena_len = need;
    *res = out->arena + at;
    *res_len = len;
    return 0;
}

static rv_err_t out_add_item(rv_out_t *out) {
    if (out->cnt == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        rv__out_item_t *n = realloc(out->items, cap * sizeof *n);
        if (!n)
            return RV_ERR__NOMEM;
        out->items = n;
        out->cap = cap;
    }
    out->items[out->cnt++] = (rv__out_item_t){NULL, -1, NULL, -1};
    return 0;
}

rv_err_t rv_out_value(rv_out_t *out, const void *data, int32_t len) {
    if (!out)
        return RV_ERR__INVALID_ARG;
    switch (out->mode) {
    case RV__OUT_VALUE:
    case RV__OUT_KEY_VALUE:
        if (!out->cnt)
            return RV_ERR__NOMEM;
        out->value_set = true;
        return out_copy(out, &out->items[0].value, &out->items[0].value_len, data, len);
    case RV__OUT_VALUES: {
        rv_err_t err = out_add_item(out);
        if (err)
            return err;
        rv__out_item_t *it = &out->items[out->cnt - 1];
        err = out_copy(out, &it->value, &it->value_len, data, len);
        if (err)
            out->cnt--;
        else
            out->value_set = true;
        return err;
    }
    default:
        return RV_ERR__STATE;
    }
}

rv_err_t rv_out_key(rv_out_t *out, const void *data, int32_t len) {
    if (!out)
        return RV_ERR__INVALID_ARG;
    if (out->mode != RV__OUT_KEY && out->mode != RV__OUT_KEY_VALUE)
        return RV_ERR__STATE;
    if (!out->cnt)
        return RV_ERR__NOMEM;
    out->key_set = true;
    return out_copy(out, &out->items[0].key, &out->items[0].key_len, data, len);
}

rv_err_t rv_out_pair(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                     int32_t value_len) {
    if (!out)
        return RV_ERR__INVALID_ARG;
    if (out->mode != RV__OUT_PAIRS)
        return RV_ERR__STATE;
    rv_err_t err = out_add_item(out);
    if (err)
        return err;
    rv__out_item_t *it = &out->items[out->cnt - 1];
    err = out_copy(out, &it->key, &it->key_len, key, key_len);
    if (!err)
        err = out_copy(out, &it->value, &it->value_len, value, value_len);
    if (err)
        out->cnt--;
    else
        out->key_set = out->value_set = true;
    return err;
}

/* ---- Serdes and stores ---- */

const rv_serde_t *rv__dsl_serde(const rv_serde_t *s, rv_processor_context_t *ctx, bool is_key) {
    if (s)
        return s;
    const rv_conf_t *conf = ctx ? rv_processor_context_app_configs(ctx) : NULL;
    const char *name =
        conf ? rv_conf_get(conf, is_key ? "default.key.serde" : "default.value.serde") : NULL;
    return rv_serde_by_name(name);
}

rv_store_builder_t *rv__dsl_store_builder(rv_streams_builder_t *b, const char *name,
                                          const rv_materialized_t *m) {
    char errstr[512] = "";
    if (rv_store_name_validate(name, errstr, sizeof errstr)) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Invalid topology: %s", errstr);
        return NULL;
    }
    rv_store_builder_t *sb = m && m->store_type == RV_STORE_TYPE_IN_MEMORY
                                 ? rv_store_builder_in_memory_kv(name)
                                 : rv_store_builder_persistent_kv(name);
    if (!sb) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    /* Rows are "<timestamp><value>" (rv__vt_encode): Kafka's timestamped
     * store, whose changelog carries the timestamp as the record's. */
    rv__store_builder_set_timestamped(sb);
    if (m && m->caching_disabled)
        rv_store_builder_with_caching_disabled(sb);
    else
        rv_store_builder_with_caching_enabled(sb);
    if (m && m->logging_disabled) {
        rv_store_builder_with_logging_disabled(sb);
    } else {
        rv_err_t err = rv_store_builder_with_logging_enabled(sb, m ? m->logging_config : NULL,
                                                             m ? m->logging_config_cnt : 0);
        if (err) {
            rv_store_builder_destroy(sb);
            rv__dsl_fail(b, err, "Out of memory");
            return NULL;
        }
    }
    return sb;
}

/* ---- StreamsBuilder ---- */

rv_streams_builder_t *rv_streams_builder_new(void) {
    rv_streams_builder_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->topo = rv_topology_new();
    b->shared = shared_new();
    if (!b->topo || !b->shared) {
        rv_topology_destroy(b->topo);
        free(b->shared);
        free(b);
        return NULL;
    }
    return b;
}

void rv_streams_builder_destroy(rv_streams_builder_t *b) {
    if (!b)
        return;
    rv_topology_destroy(b->topo);
    shared_unref(b->shared);
    free(b);
}

/* Consumed's options as a source's. */
static rv_err_t source_opts(rv_streams_builder_t *b, rv_source_opts_t *so, const rv_consumed_t *c) {
    *so = (rv_source_opts_t)RV_SOURCE_OPTS_INIT;
    if (!c)
        return 0;
    if (c->version != RV_CONSUMED_VERSION)
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_consumed_t version %d",
                            c->version);
    so->key_deserializer = c->key_serde;
    so->value_deserializer = c->value_serde;
    so->timestamp_extractor = c->timestamp_extractor;
    so->timestamp_extractor_opaque = c->timestamp_extractor_opaque;
    so->offset_reset = c->offset_reset;
    return 0;
}

/* The source already reading exactly topics[0..topic_cnt) (in any order)
 * or `pattern`, NULL when none. */
static const rv__tnode_t *same_source(const rv_topology_t *t, const char *const *topics,
                                      size_t topic_cnt, const char *pattern) {
    size_t n = rv__topology_node_count(t);
    for (size_t i = 0; i < n; i++) {
        const rv__tnode_t *tn = rv__topology_node(t, i);
        if (tn->kind != RV__TNODE_SOURCE || tn->global || tn->source.internal)
            continue;
        if (pattern) {
            if (tn->pattern && !strcmp(tn->pattern, pattern))
                return tn;
            continue;
        }
        if (tn->pattern || tn->topic_cnt != topic_cnt)
            continue;
        size_t found = 0;
        for (size_t a = 0; a < topic_cnt; a++)
            for (size_t k = 0; k < tn->topic_cnt; k++)
                if (!strcmp(topics[a], tn->topics[k])) {
                    found++;
                    break;
                }
        if (found == topic_cnt)
            return tn;
    }
    return NULL;
}

static rv_kstream_t *stream_common(rv_streams_builder_t *b, const char *const *topics,
                                   size_t topic_cnt, const char *pattern,
                                   const rv_consumed_t *consumed) {
    rv_source_opts_t so;
    if (source_opts(b, &so, consumed) || check_open(b))
        return NULL;
    char name[512];
    rv__dsl_name(b, consumed ? consumed->name : NULL, "KSTREAM-SOURCE-", name, sizeof name);
    if (consumed && consumed->name && rv__dsl_check_name(b, consumed->name))
        return NULL;
    /* Kafka merges sources of the same topics (or the same pattern) into
     * the first one: a second stream() of them reads through it. */
    const rv__tnode_t *same = same_source(b->topo, topics, topic_cnt, pattern);
    if (same && same->source.offset_reset == so.offset_reset)
        return rv__kstream_new(b, same->name, so.key_deserializer, so.value_deserializer, false);
    char errstr[512] = "";
    rv_err_t err =
        pattern
            ? rv_topology_add_source_pattern(b->topo, name, pattern, &so, errstr, sizeof errstr)
            : rv_topology_add_source(b->topo, name, topics, topic_cnt, &so, errstr, sizeof errstr);
    if (err) {
        rv__dsl_topology_fail(b, err, errstr);
        return NULL;
    }
    return rv__kstream_new(b, name, so.key_deserializer, so.value_deserializer, false);
}

rv_kstream_t *rv_streams_builder_stream(rv_streams_builder_t *b, const char *const *topics,
                                        size_t topic_cnt, const rv_consumed_t *consumed) {
    if (!b)
        return NULL;
    if (!topics || !topic_cnt) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "topics can't be empty");
        return NULL;
    }
    for (size_t i = 0; i < topic_cnt; i++)
        if (!topics[i]) {
            rv__dsl_fail(b, RV_ERR__INVALID_ARG, "topic names cannot be null");
            return NULL;
        }
    return stream_common(b, topics, topic_cnt, NULL, consumed);
}

rv_kstream_t *rv_streams_builder_stream_pattern(rv_streams_builder_t *b, const char *pattern,
                                                const rv_consumed_t *consumed) {
    if (!b)
        return NULL;
    if (!pattern) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "topicPattern can't be null");
        return NULL;
    }
    return stream_common(b, NULL, 0, pattern, consumed);
}

rv_err_t rv_streams_builder_add_state_store(rv_streams_builder_t *b, rv_store_builder_t *sb) {
    if (!b)
        return RV_ERR__INVALID_ARG;
    if (!sb)
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG, "builder can't be null");
    rv_err_t err = check_open(b);
    if (err)
        return err;
    char errstr[512] = "";
    err = rv_topology_add_state_store(b->topo, sb, NULL, 0, errstr, sizeof errstr);
    if (err)
        return rv__dsl_topology_fail(b, err, errstr);
    return 0;
}

rv_err_t rv_streams_builder_build(rv_topology_t **out, rv_streams_builder_t *b, char *errstr,
                                  size_t errstr_size) {
    if (out)
        *out = NULL;
    if (!out || !b) {
        rv__errstr_set(errstr, errstr_size, "Invalid argument: NULL builder or out");
        return RV_ERR__INVALID_ARG;
    }
    if (!b->err && b->built)
        rv__dsl_fail(b, RV_ERR__STATE, "The builder was built already");
    if (!b->err) {
        char msg[1024] = "";
        rv_err_t err = rv_topology_build(b->topo, msg, sizeof msg);
        if (err)
            rv__dsl_topology_fail(b, err, msg);
    }
    if (b->err) {
        rv__errstr_set(errstr, errstr_size, "%s", b->errmsg);
        return b->err;
    }
    *out = b->topo;
    b->topo = NULL;
    b->built = true;
    if (errstr && errstr_size)
        errstr[0] = '\0';
    return 0;
}

rv_err_t rv_streams_builder_last_error(const rv_streams_builder_t *b, const char **message) {
    if (!b) {
        if (message)
            *message = "";
        return RV_ERR__INVALID_ARG;
    }
    if (message)
        *message = b->err ? b->errmsg : "";
    return b->err;
}
