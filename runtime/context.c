/* runtime/context.c: the processor context of rivulet/processor.h (Kafka's
 * api.ProcessorContext), the face a task shows its processors. Each
 * processor instance has its own context, which knows the task and the
 * node, so forward() goes to that node's children and get_state_store()
 * checks that node's store connections. The record being processed, stream
 * time and punctuation live in the task (runtime/task.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "runtime/context_internal.h"
#include "runtime/task.h"

static rv_err_t ctx_error(rv_processor_context_t *ctx, rv_err_t err, const char *msg) {
    rv__context_set_error(ctx, "%s", msg);
    return err;
}

rv_err_t rv_processor_context_forward(rv_processor_context_t *ctx,
                                      const rv_processor_record_t *record) {
    if (!ctx || !record)
        return RV_ERR__INVALID_ARG;
    rv__task_t *t = ctx->task;
    if (t->closed || t->failed)
        return ctx_error(ctx, RV_ERR__STATE, "The task is closed or failed; cannot forward");
    return rv__task_forward(t, ctx->node, record, NULL);
}

rv_err_t rv_processor_context_forward_to(rv_processor_context_t *ctx,
                                         const rv_processor_record_t *record, const char *child) {
    if (!ctx || !record || !child)
        return RV_ERR__INVALID_ARG;
    rv__task_t *t = ctx->task;
    if (t->closed || t->failed)
        return ctx_error(ctx, RV_ERR__STATE, "The task is closed or failed; cannot forward");
    return rv__task_forward(t, ctx->node, record, child);
}

rv_kv_store_t *rv_processor_context_get_state_store(rv_processor_context_t *ctx, const char *name) {
    rv__task_t *t = ctx->task;
    const rv__tnode_t *tn = t->nodes[ctx->node].tn;
    if (!name) {
        ctx_error(ctx, RV_ERR__INVALID_ARG, "name must not be null");
        return NULL;
    }
    for (size_t i = 0; i < tn->store_cnt; i++) {
        const rv__tstore_t *ts = rv__topology_store(t->topo, tn->stores[i]);
        if (strcmp(ts->name, name))
            continue;
        rv_kv_store_t *s = rv__task_store(t, name);
        if (s)
            return s;
        break;
    }
    const rv__tstore_t *ts = rv__topology_store_find(t->topo, name);
    if (ts && ts->global && t->global_store) {
        rv_kv_store_t *s = t->global_store(t->global_store_opaque, name);
        if (s)
            return s;
    }
    if (!ts)
        rv__context_set_error(ctx, "Processor %s has no access to StateStore %s: no such store.",
                              tn->name, name);
    else
        rv__context_set_error(
            ctx,
            "Processor %s has no access to StateStore %s as the store is not connected to the "
            "processor. If you add stores manually via '.addStateStore()' make sure to connect "
            "the added store to the processor by providing the processor name to "
            "'.addStateStore()' or connect them via '.connectProcessorAndStateStores()'. DSL "
            "users need to provide the store name to '.process()', '.transform()', or "
            "'.transformValues()' to connect the store to the corresponding operator, or they "
            "can provide a StoreBuilder by implementing the stores() method on the Supplier "
            "itself. If you do not add stores manually, please file a bug report at "
            "https://issues.apache.org/jira/projects/KAFKA.",
            tn->name, name);
    return NULL;
}

rv_err_t rv_processor_context_schedule(rv_cancellable_t **out, rv_processor_context_t *ctx,
                                       int64_t interval_ms, rv_punctuation_type_t type,
                                       rv_punctuator_cb_t *punctuator, void *opaque) {
    if (out)
        *out = NULL;
    rv__task_t *t = ctx->task;
    if (interval_ms < 1)
        return ctx_error(ctx, RV_ERR__INVALID_ARG,
                         "The minimum supported scheduling interval is 1 millisecond.");
    if (!punctuator)
        return ctx_error(ctx, RV_ERR__INVALID_ARG, "punctuator must not be null");
    if (type != RV_PUNCTUATION_TYPE_STREAM_TIME && type != RV_PUNCTUATION_TYPE_WALL_CLOCK_TIME)
        return ctx_error(ctx, RV_ERR__INVALID_ARG, "Unrecognized PunctuationType");
    if (t->closed)
        return ctx_error(ctx, RV_ERR__STATE, "The task is closed; cannot schedule");
    if (t->punct_cnt == t->punct_cap) {
        size_t cap = t->punct_cap ? t->punct_cap * 2 : 8;
        rv_cancellable_t **nv = realloc(t->puncts, cap * sizeof *nv);
        if (!nv)
            return ctx_error(ctx, RV_ERR__NOMEM, "Out of memory");
        t->puncts = nv;
        t->punct_cap = cap;
    }
    rv_cancellable_t *c = calloc(1, sizeof *c);
    if (!c)
        return ctx_error(ctx, RV_ERR__NOMEM, "Out of memory");
    c->task = t;
    c->node = ctx->node;
    c->interval = interval_ms;
    c->type = type;
    c->cb = punctuator;
    c->opaque = opaque;
    /* StreamTask.schedule(): stream time is aligned to 0 and punctuates as
     * soon as there is data; wall-clock time starts one interval from now. */
    c->next = type == RV_PUNCTUATION_TYPE_STREAM_TIME
                  ? 0
                  : rv_processor_context_current_system_time_ms(ctx) + interval_ms;
    c->seq = ++t->punct_seq;
    t->puncts[t->punct_cnt++] = c;
    if (out)
        *out = c;
    return 0;
}

void rv_cancellable_cancel(rv_cancellable_t *c) {
    if (c)
        c->cancelled = true;
}

int rv_processor_context_record_metadata(const rv_processor_context_t *ctx, const char **topic,
                                         int32_t *partition, int64_t *offset) {
    const rv__task_t *t = ctx->task;
    if (!t->rc.has_meta)
        return 0;
    if (topic)
        *topic = t->rc.topic;
    if (partition)
        *partition = t->rc.partition;
    if (offset)
        *offset = t->rc.offset;
    return 1;
}

int64_t rv_processor_context_timestamp(const rv_processor_context_t *ctx) {
    return ctx->task->rc.timestamp;
}

const rv_header_t *rv_processor_context_headers(const rv_processor_context_t *ctx, size_t *cnt) {
    const rv__task_t *t = ctx->task;
    if (cnt)
        *cnt = t->rc.headers ? t->rc.header_cnt : 0;
    return t->rc.header_cnt ? t->rc.headers : NULL;
}

const char *rv_processor_context_task_id(const rv_processor_context_t *ctx) {
    return ctx->task->id;
}

const char *rv_processor_context_application_id(const rv_processor_context_t *ctx) {
    return ctx->task->app_id;
}

const rv_conf_t *rv_processor_context_app_configs(const rv_processor_context_t *ctx) {
    return ctx->task->conf;
}

int64_t rv_processor_context_current_stream_time_ms(const rv_processor_context_t *ctx) {
    return ctx->task->stream_time;
}

int64_t rv_processor_context_current_system_time_ms(const rv_processor_context_t *ctx) {
    const rv__task_t *t = ctx->task;
    return t->clock ? t->clock(t->clock_opaque) : rv__now_ms();
}

void rv_processor_context_commit(rv_processor_context_t *ctx) {
    ctx->task->commit_requested = true;
}

const char *rv_processor_context_last_error(const rv_processor_context_t *ctx) {
    return ctx->task->ctx_err;
}

/* ---- For the DSL (runtime/context_internal.h) ---- */

void rv__context_set_error(rv_processor_context_t *ctx, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->task->ctx_err, sizeof ctx->task->ctx_err, fmt, ap);
    va_end(ap);
}

rv_kv_store_t *rv__context_task_store(rv_processor_context_t *ctx, const char *name) {
    rv_kv_store_t *s = name ? rv__task_store(ctx->task, name) : NULL;
    if (!s)
        rv__context_set_error(ctx, "Task %s has no state store %s.", ctx->task->id,
                              name ? name : "(null)");
    return s;
}

int rv__context_processor_metadata_get(const rv_processor_context_t *ctx, const char *key,
                                       int64_t *out) {
    return rv__task_processor_metadata_get(ctx->task, key, out);
}

rv_err_t rv__context_processor_metadata_put(rv_processor_context_t *ctx, const char *key,
                                            int64_t value) {
    rv_err_t err = rv__task_processor_metadata_put(ctx->task, key, value);
    if (err)
        rv__context_set_error(ctx, "Out of memory");
    return err;
}
