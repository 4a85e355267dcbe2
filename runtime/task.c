/* runtime/task.c: a stream task, one sub-topology running on one partition
 * number, as Kafka Streams' StreamTask: its processors, its stores, its
 * input queues, stream time, punctuation and commit. The processor context
 * the processors see is runtime/context.c; runtime/task.h says how an
 * owner (stream thread or test driver) drives a task.
 *
 * DESIGN
 *
 * Nodes. The task keeps the sub-topology's nodes in the topology's add
 * order, which is a topological order (parents are added first). Each
 * processor node holds one processor instance from its supplier and its own
 * context. A record runs depth-first: a source forwards to its children,
 * and forward() calls each child's process() synchronously, so a record
 * has left the whole sub-topology when rv__task_process() returns. A sink
 * serializes key and value with its serializers (for its topic), picks the
 * partition with its stream partitioner when it has one, and hands the
 * bytes to the record collector.
 *
 * Stores. Each store of the sub-topology is opened through its builder in
 * the task folder (state.dir/<application.id>/<task id>, locked by the task
 * while open), then stacked as state/store_internal.h describes: changelog
 * wrapper when logged (each change becomes a record of
 * "<application.id>-<store>-changelog", partition = the task's partition,
 * with the timestamp of the record being processed, or stream time for
 * what a cache flush writes at commit), cache wrapper when cached. The cache has no flush listener:
 * for a Processor API store a cache flush only writes through (and so logs), as Kafka's caching
 * store does when the store has no TimestampedCacheFlushListener; the DSL adds forwarding on top. A
 * task's cache budget is cache.max.bytes.buffering shared evenly by its cached stores.
 *
 * A global store's sub-topology runs as the task "global": it owns the
 * global stores (never logged: their topic is their changelog) and runs
 * their source and processor; the other tasks' processors reach those
 * stores through the owner's global_store lookup.
 *
 * Queues and picking. One queue per input partition, in the order the
 * partitions were first seen. A queued record does not copy what the
 * consumer fetched: it holds a reference on the consumer's container
 * (rv__task_add_shared()) and reads the record there, so the extractor
 * sees the consumer's rv_record_t; only records handed over as loose
 * bytes (rv__task_add_record(), the test driver) are copied into a
 * one-record container of their own. The bytes serde, being the identity,
 * deserializes and serializes without copying: the processors see the
 * record's bytes, and a sink hands the processor's bytes to the collector. A record is deserialized
 * and its timestamp extracted when it is added (Kafka does it when the record reaches the head of
 * its queue; with no records skipped in between that is the same). rv__task_process() takes the
 * head with the smallest timestamp among the non-empty queues, the earliest queue on a tie (Kafka's
 * PartitionGroup). An empty queue does not block picking by itself: whether the task may process
 * while one of its partitions is empty is rv__task_ready() (PartitionGroup.readyToProcess,
 * max.task.idle.ms), which asks the owner for the partition's lag as of its last fetch. The owner
 * makes the queues of all the task's partitions up front (rv__task_add_input()) so that a
 * partition that never had a record counts as empty.
 *
 * Stream time is the highest timestamp of the records processed so far; it
 * never goes back, so a record older than stream time is processed with
 * its own timestamp but leaves stream time unchanged.
 *
 * Punctuation follows Kafka's PunctuationQueue and PunctuationSchedule: a
 * stream-time schedule starts due at 0 and a wall-clock one at now +
 * interval. Firing at time T runs every schedule due at or before T,
 * earliest first, each once, with T; the next due time is due + interval,
 * or when T already passed that, due + (missed intervals + 1) * interval,
 * so missed intervals collapse into the one call. A schedule cancelled
 * (also from its own punctuator) is never run again.
 *
 * Commit: flush caches and stores, flush the collector, checkpoint the
 * changelog offsets of the persistent logged stores (the collector knows
 * the offset of the last record it sent to each changelog partition), and
 * return the next input offset of each partition for the owner to commit.
 *
 * Commit metadata (Kafka's TopicPartitionMetadata + ProcessorMetadata):
 * each committed offset carries base64 of [1-byte version 2][8-byte
 * big-endian partition time][processor metadata], the processor metadata
 * being [4-byte count] then per entry [4-byte key length][key UTF-8][8-byte
 * value], nothing at all when empty. Version 1 has the partition time
 * only. A new task reads it back before its processors' init(): partition
 * times, stream time = their maximum, and the processor metadata, so a
 * restart neither forgets stream time nor re-emits closed windows.
 *
 * Failure: an error from a processor, punctuator, serializer, extractor,
 * deserializer under LogAndFail, or the collector fails the task; its
 * message stays in rv__task_last_error() and every later call refuses. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_records.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "common/record_batch.h"
#include "runtime/task.h"
#include "state/checkpoint.h"
#include "state/store_internal.h"

#define FAC "TASK"

/* Kafka's StateManagerUtil.OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT. */
#define CHECKPOINT_DELTA 10000

/* ---- Failing ---- */

/* Records why the task failed (the first reason wins) and copies it to the
 * caller's errstr. */
static rv_err_t task_fail(rv__task_t *t, rv_err_t err, char *errstr, size_t errstr_size,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static rv_err_t task_fail(rv__task_t *t, rv_err_t err, char *errstr, size_t errstr_size,
                          const char *fmt, ...) {
    if (!t->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->err, sizeof t->err, fmt, ap);
        va_end(ap);
        t->failed = true;
        rv__log_err(FAC, "stream-task [%s] failed: %s", t->id, t->err);
    }
    rv__errstr_set(errstr, errstr_size, "%s", t->err);
    return err ? err : RV_ERR__FAIL;
}

static rv_err_t refuse(const rv__task_t *t, char *errstr, size_t errstr_size) {
    if (t->failed)
        rv__errstr_set(errstr, errstr_size, "Task %s failed earlier: %s", t->id, t->err);
    else
        rv__errstr_set(errstr, errstr_size, "Task %s is closed", t->id);
    return RV_ERR__STATE;
}

/* ---- Configuration ---- */

/* A built-in serde by its default.key.serde / default.value.serde name. */
static const rv_serde_t *serde_by_name(const char *name) {
    if (!name)
        return NULL;
    if (!strcmp(name, "bytes"))
        return rv_serde_bytes();
    if (!strcmp(name, "string"))
        return rv_serde_string();
    if (!strcmp(name, "int32"))
        return rv_serde_int32();
    if (!strcmp(name, "int64"))
        return rv_serde_int64();
    if (!strcmp(name, "double"))
        return rv_serde_double();
    return NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static rv_timestamp_extractor_cb_t *extractor_by_name(const char *name) {
    if (!name || ends_with(name, "FailOnInvalidTimestamp"))
        return rv_timestamp_extractor_fail_on_invalid;
    if (ends_with(name, "LogAndSkipOnInvalidTimestamp"))
        return rv_timestamp_extractor_log_and_skip_on_invalid;
    if (ends_with(name, "UsePartitionTimeOnInvalidTimestamp"))
        return rv_timestamp_extractor_use_partition_time_on_invalid;
    if (ends_with(name, "WallclockTimestampExtractor"))
        return rv_timestamp_extractor_wallclock;
    return NULL;
}

/* Fills the serdes and extractor of source and sink nodes from their
 * options, falling back to the app's defaults; Kafka's message when a
 * serde is neither given nor configured. */
static rv_err_t resolve_node(rv__task_t *t, rv__task_node_t *n, char *errstr, size_t errstr_size) {
    const rv_serde_t *dk = serde_by_name(rv_conf_get(t->conf, "default.key.serde"));
    const rv_serde_t *dv = serde_by_name(rv_conf_get(t->conf, "default.value.serde"));
    const rv__tnode_t *tn = n->tn;
    if (tn->kind == RV__TNODE_SOURCE) {
        n->key_serde = tn->source.key_deserializer ? tn->source.key_deserializer : dk;
        n->value_serde = tn->source.value_deserializer ? tn->source.value_deserializer : dv;
        n->extractor = tn->source.timestamp_extractor;
        n->extractor_opaque = tn->source.timestamp_extractor_opaque;
        if (!n->extractor) {
            const char *name = rv_conf_get(t->conf, "default.timestamp.extractor");
            n->extractor = extractor_by_name(name);
            if (!n->extractor) {
                rv__errstr_set(errstr, errstr_size, "Unknown default.timestamp.extractor %s", name);
                return RV_ERR__INVALID_ARG;
            }
        }
    } else if (tn->kind == RV__TNODE_SINK) {
        if (!tn->extractor)
            n->sink_topic_ok = !rv__topology_topic_name(n->sink_topic, sizeof n->sink_topic,
                                                        t->app_id, tn->topic, tn->sink.internal);
        n->key_serde = tn->sink.key_serializer ? tn->sink.key_serializer : dk;
        n->value_serde = tn->sink.value_serializer ? tn->sink.value_serializer : dv;
    } else {
        return 0;
    }
    if (!n->key_serde) {
        rv__errstr_set(errstr, errstr_size,
                       "Failed to configure key serde of node %s: Please specify a key serde or "
                       "set one through StreamsConfig#DEFAULT_KEY_SERDE_CLASS_CONFIG "
                       "(default.key.serde)",
                       tn->name);
        return RV_ERR__INVALID_ARG;
    }
    if (!n->value_serde) {
        rv__errstr_set(errstr, errstr_size,
                       "Failed to configure value serde of node %s: Please specify a value serde "
                       "or set one through StreamsConfig#DEFAULT_VALUE_SERDE_CLASS_CONFIG "
                       "(default.value.serde)",
                       tn->name);
        return RV_ERR__INVALID_ARG;
    }
    return 0;
}

/* ---- Stores ---- */

/* The changelog callback's opaque: the task and which of its stores. */
typedef struct store_slot_s {
    rv__task_t *task;
    size_t idx;
} store_slot_t;

static rv_err_t on_change(const void *key, size_t key_len, const void *value, size_t value_len,
                          void *opaque) {
    store_slot_t *slot = opaque;
    rv__task_t *t = slot->task;
    rv__task_store_t *s = &t->stores[slot->idx];
    char msg[512];
    int64_t ts = t->rc.timestamp >= 0 ? t->rc.timestamp : t->stream_time;
    const void *v = value;
    int32_t vl = value ? (int32_t)value_len : -1;
    /* A timestamped store's row is "<8-byte timestamp><value>"; its
     * changelog record carries the value with that timestamp, as Kafka's
     * ChangeLoggingTimestampedKeyValueBytesStore writes it. */
    if (value && value_len >= 8 && rv__store_builder_timestamped(s->ts->builder)) {
        rv_serde_int64_read(&ts, value, 8);
        v = (const uint8_t *)value + 8;
        vl = (int32_t)(value_len - 8);
    }
    rv_err_t err = t->coll.send(t->coll.opaque, s->changelog, t->partition, key, (int32_t)key_len,
                                v, vl, ts < 0 ? 0 : ts, NULL, 0, msg, sizeof msg);
    if (err)
        return task_fail(t, err, NULL, 0, "Error sending changelog record of store %s to %s: %s",
                         s->ts->name, s->changelog, msg);
    return 0;
}

static rv_err_t open_stores(rv__task_t *t, store_slot_t *slots, char *errstr, size_t errstr_size) {
    size_t cached = 0;
    for (size_t i = 0; i < t->st->store_cnt; i++)
        if (rv_store_builder_caching_enabled(
                rv__topology_store(t->topo, t->st->stores[i])->builder))
            cached++;
    int64_t budget = rv__conf_get_int64(t->conf, "cache.max.bytes.buffering", 10485760);
    size_t per_store = cached ? (size_t)budget / cached : 0;

    for (size_t i = 0; i < t->st->store_cnt; i++) {
        const rv__tstore_t *ts = rv__topology_store(t->topo, t->st->stores[i]);
        rv__task_store_t *s = &t->stores[i];
        s->ts = ts;
        s->ckpt_offset = -1;
        rv_kv_store_t *st = NULL;
        rv_err_t err = rv__store_builder_open(ts->builder, t->task_dir, &st, errstr, errstr_size);
        if (err)
            return err;
        s->persistent = rv_kv_store_persistent(st) != 0;
        if (rv_store_builder_logging_enabled(ts->builder)) {
            size_t n = strlen(t->app_id) + strlen(ts->name) + sizeof "--changelog";
            s->changelog = malloc(n);
            if (!s->changelog) {
                rv_kv_store_destroy(st);
                return RV_ERR__NOMEM;
            }
            snprintf(s->changelog, n, "%s-%s-changelog", t->app_id, ts->name);
            slots[i].task = t;
            slots[i].idx = i;
            rv_kv_store_t *w = NULL;
            err = rv__changelog_wrap(&w, st, on_change, &slots[i]);
            if (err) {
                rv_kv_store_destroy(st);
                rv__errstr_set(errstr, errstr_size, "Cannot wrap store %s: %s", ts->name,
                               rv_err_str(err));
                return err;
            }
            st = w;
        }
        if (rv_store_builder_caching_enabled(ts->builder)) {
            rv_kv_store_t *w = NULL;
            err = rv__cache_wrap(&w, st, per_store, NULL, NULL);
            if (err) {
                rv_kv_store_destroy(st);
                rv__errstr_set(errstr, errstr_size, "Cannot wrap store %s: %s", ts->name,
                               rv_err_str(err));
                return err;
            }
            st = w;
            s->cached = true;
        }
        s->store = st;
    }
    return 0;
}

/* ---- Creation ---- */

static void free_queues(rv__task_t *t);

/* Frees everything; processors not closed yet are closed before the
 * stores, as in rv__task_close(). */
static void task_free(rv__task_t *t) {
    for (size_t i = 0; i < t->node_cnt; i++) {
        rv__task_node_t *n = &t->nodes[i];
        if (n->got && n->proc.close)
            n->proc.close(n->proc.state);
        free(n->children);
    }
    for (size_t i = 0; i < t->store_cnt; i++) {
        rv_kv_store_destroy(t->stores[i].store);
        free(t->stores[i].changelog);
    }
    if (t->locked)
        rv__state_dir_unlock_task(t->sd, t->id, t);
    for (size_t i = 0; i < t->punct_cnt; i++)
        free(t->puncts[i]);
    free(t->puncts);
    free_queues(t);
    free(t->offsets);
    for (size_t i = 0; i < t->offset_meta_cnt; i++)
        free(t->offset_meta[i]);
    free(t->offset_meta);
    for (size_t i = 0; i < t->pmeta_cnt; i++)
        free(t->pmeta[i].key);
    free(t->pmeta);
    free(t->stores);
    free(t->nodes);
    free(t->node_map);
    free(t->task_dir);
    free(t->store_slots);
    free(t);
}

rv_err_t rv__task_new(rv__task_t **out, const rv__task_opts_t *o, char *errstr,
                      size_t errstr_size) {
    *out = NULL;
    if (!o->topology || !rv__topology_is_built(o->topology) || o->subtopology < 0 ||
        (size_t)o->subtopology >= rv__topology_subtopology_count(o->topology)) {
        rv__errstr_set(errstr, errstr_size, "The topology is not built or has no sub-topology %d",
                       o->subtopology);
        return RV_ERR__INVALID_ARG;
    }
    const rv__subtopology_t *st = rv__topology_subtopology(o->topology, (size_t)o->subtopology);
    const char *app_id = rv_conf_get(o->conf, "application.id");
    if (!app_id || !*app_id) {
        rv__errstr_set(errstr, errstr_size,
                       "Missing required configuration \"application.id\" which has no default "
                       "value.");
        return RV_ERR__INVALID_ARG;
    }
    const char *pg = rv_conf_get(o->conf, "processing.guarantee");
    if (pg && strcmp(pg, "at_least_once")) {
        rv__errstr_set(errstr, errstr_size,
                       "processing.guarantee=%s is not supported: rivulet runs at_least_once "
                       "only (exactly-once needs transactions, not available yet)",
                       pg);
        return RV_ERR__INVALID_ARG;
    }
    if (!o->collector.send || !o->collector.flush || !o->collector.last_offset) {
        rv__errstr_set(errstr, errstr_size, "The record collector lacks a function");
        return RV_ERR__INVALID_ARG;
    }
    if (st->store_cnt && !o->state_dir) {
        rv__errstr_set(errstr, errstr_size, "Sub-topology %d has stores but no state directory",
                       st->id);
        return RV_ERR__INVALID_ARG;
    }

    rv__task_t *t = calloc(1, sizeof *t);
    if (!t)
        return RV_ERR__NOMEM;
    t->topo = o->topology;
    t->st = st;
    t->partition = o->partition;
    if (st->global)
        snprintf(t->id, sizeof t->id, "global");
    else
        snprintf(t->id, sizeof t->id, "%d_%" PRId32, st->id, o->partition);
    t->conf = o->conf;
    t->app_id = app_id;
    t->sd = o->state_dir;
    t->coll = o->collector;
    t->clock = o->clock;
    t->clock_opaque = o->clock_opaque;
    t->global_store = o->global_store;
    t->global_store_opaque = o->global_store_opaque;
    t->stream_time = -1;
    t->rc.timestamp = -1;
    t->rc.partition = -1;
    t->rc.offset = -1;
    const char *deh = rv_conf_get(o->conf, "default.deserialization.exception.handler");
    t->deser_continue = deh && ends_with(deh, "LogAndContinueExceptionHandler");

    size_t total = rv__topology_node_count(o->topology);
    t->node_map = malloc((total ? total : 1) * sizeof *t->node_map);
    t->nodes = calloc(st->node_cnt ? st->node_cnt : 1, sizeof *t->nodes);
    t->stores = calloc(st->store_cnt ? st->store_cnt : 1, sizeof *t->stores);
    store_slot_t *slots = calloc(st->store_cnt ? st->store_cnt : 1, sizeof *slots);
    if (!t->node_map || !t->nodes || !t->stores || !slots) {
        free(slots);
        task_free(t);
        return RV_ERR__NOMEM;
    }
    for (size_t i = 0; i < total; i++)
        t->node_map[i] = SIZE_MAX;
    t->node_cnt = st->node_cnt;
    for (size_t i = 0; i < st->node_cnt; i++) {
        t->node_map[st->nodes[i]] = i;
        t->nodes[i].tn = rv__topology_node(o->topology, st->nodes[i]);
        t->nodes[i].ctx.task = t;
        t->nodes[i].ctx.node = i;
    }
    rv_err_t err = 0;
    for (size_t i = 0; i < st->node_cnt && !err; i++) {
        rv__task_node_t *n = &t->nodes[i];
        n->children = calloc(n->tn->child_cnt ? n->tn->child_cnt : 1, sizeof *n->children);
        if (!n->children) {
            err = RV_ERR__NOMEM;
            break;
        }
        for (size_t c = 0; c < n->tn->child_cnt; c++)
            n->children[n->child_cnt++] = t->node_map[n->tn->children[c]];
        err = resolve_node(t, n, errstr, errstr_size);
    }
    /* Processor instances, one per node, from the suppliers. */
    for (size_t i = 0; i < st->node_cnt && !err; i++) {
        rv__task_node_t *n = &t->nodes[i];
        if (n->tn->kind != RV__TNODE_PROCESSOR)
            continue;
        rv_processor_t p = RV_PROCESSOR_INIT;
        err = n->tn->supplier.get(&p, n->tn->supplier.opaque);
        if (err) {
            rv__errstr_set(errstr, errstr_size, "Processor supplier of %s failed: %s", n->tn->name,
                           rv_err_str(err));
            break;
        }
        n->proc = p;
        n->got = true;
        if (!p.process) {
            rv__errstr_set(errstr, errstr_size, "Processor %s has no process callback",
                           n->tn->name);
            err = RV_ERR__INVALID_ARG;
        }
    }
    if (!err && st->store_cnt) {
        t->task_dir = rv__state_dir_task_path(o->state_dir, t->id);
        if (!t->task_dir)
            err = RV_ERR__NOMEM;
        if (!err)
            err = rv__state_dir_lock_task(o->state_dir, t->id, t, errstr, errstr_size);
        if (!err)
            t->locked = true;
        /* The checkpoint says up to where the stores hold the changelog. A
         * torn or garbled one (it is written atomically, so only a damaged
         * disk or a hand makes one) says nothing the stores can be trusted
         * with: as Kafka does with corrupted task state, the task's state is
         * wiped before the stores open, and they restore from scratch. */
        rv__checkpoint_entry_t *e = NULL;
        size_t cnt = 0;
        if (!err) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", t->task_dir, RV__CHECKPOINT_FILE);
            err = rv__checkpoint_read(path, &e, &cnt, errstr, errstr_size);
            if (err == RV_ERR__BAD_MSG) {
                rv__log_warn(FAC,
                             "stream-task [%s] The checkpoint file is corrupted (%s): wiping the "
                             "task's state and restoring it from the changelogs",
                             t->id, errstr);
                err = rv__state_dir_wipe_task(o->state_dir, t->id, t, errstr, errstr_size);
            }
        }
        if (!err) {
            t->store_cnt = st->store_cnt;
            err = open_stores(t, slots, errstr, errstr_size);
        }
        for (size_t i = 0; !err && i < cnt; i++)
            for (size_t s = 0; s < t->store_cnt; s++)
                if (t->stores[s].changelog && !strcmp(t->stores[s].changelog, e[i].topic) &&
                    e[i].partition == t->partition)
                    t->stores[s].ckpt_offset = e[i].offset;
        rv__checkpoint_free(e, cnt);
    }
    if (err) {
        t->store_slots = slots;
        task_free(t);
        return err;
    }
    t->store_slots = slots;
    *out = t;
    return 0;
}

rv_err_t rv__task_init(rv__task_t *t, char *errstr, size_t errstr_size) {
    if (t->failed || t->closed)
        return refuse(t, errstr, errstr_size);
    if (t->inited)
        return 0;
    t->inited = true;
    for (size_t i = 0; i < t->node_cnt; i++) {
        rv__task_node_t *n = &t->nodes[i];
        if (!n->got)
            continue;
        n->inited = true;
        if (!n->proc.init)
            continue;
        rv_err_t err = n->proc.init(&n->ctx, n->proc.state);
        if (err)
            return task_fail(t, err, errstr, errstr_size,
                             "Failed to initialize processor %s of task %s: %s%s%s", n->tn->name,
                             t->id, rv_err_str(err), t->ctx_err[0] ? ": " : "", t->ctx_err);
    }
    return 0;
}

/* ---- Commit metadata ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *p, size_t n) {
    char *o = malloc((n + 2) / 3 * 4 + 1), *w = o;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *w++ = B64[(v >> 18) & 63];
        *w++ = B64[(v >> 12) & 63];
        *w++ = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        *w++ = i + 2 < n ? B64[v & 63] : '=';
    }
    *w = '\0';
    return o;
}

static int b64_val(char c) {
    const char *q = c ? strchr(B64, c) : NULL;
    return q ? (int)(q - B64) : -1;
}

/* Strict RFC 4648 decoding (Java's Base64.getDecoder()); -1 when invalid.
 * out has room for strlen(s) / 4 * 3 bytes. */
static int64_t b64_decode(const char *s, uint8_t *out) {
    size_t n = strlen(s), k = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = s[i + j] == '=' && i + 4 == n && j >= 2 ? 0 : b64_val(s[i + j]);
            if (v[j] < 0)
                return -1;
        }
        if (s[i + 2] == '=' && s[i + 3] != '=')
            return -1;
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[k++] = (uint8_t)(x >> 16);
        if (s[i + 2] != '=')
            out[k++] = (uint8_t)(x >> 8);
        if (s[i + 3] != '=')
            out[k++] = (uint8_t)x;
    }
    return (int64_t)k;
}

static void put_be(uint8_t *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

#define META_VERSION 2 /* TopicPartitionMetadata.LATEST_MAGIC_BYTE */

/* The encoded metadata of a partition with partition time pt. */
static char *encode_metadata(const rv__task_t *t, int64_t pt) {
    size_t n = 1 + 8;
    if (t->pmeta_cnt) {
        n += 4;
        for (size_t i = 0; i < t->pmeta_cnt; i++)
            n += 4 + strlen(t->pmeta[i].key) + 8;
    }
    uint8_t *b = malloc(n), *w = b;
    if (!b)
        return NULL;
    *w++ = META_VERSION;
    put_be(w, (uint64_t)pt, 8);
    w += 8;
    if (t->pmeta_cnt) {
        put_be(w, t->pmeta_cnt, 4);
        w += 4;
        for (size_t i = 0; i < t->pmeta_cnt; i++) {
            size_t kl = strlen(t->pmeta[i].key);
            put_be(w, kl, 4);
            memcpy(w + 4, t->pmeta[i].key, kl);
            put_be(w + 4 + kl, (uint64_t)t->pmeta[i].value, 8);
            w += 4 + kl + 8;
        }
    }
    char *s = b64_encode(b, n);
    free(b);
    return s;
}

int rv__task_processor_metadata_get(const rv__task_t *t, const char *key, int64_t *out) {
    for (size_t i = 0; i < t->pmeta_cnt; i++)
        if (!strcmp(t->pmeta[i].key, key)) {
            *out = t->pmeta[i].value;
            return 1;
        }
    return 0;
}

rv_err_t rv__task_processor_metadata_put(rv__task_t *t, const char *key, int64_t value) {
    for (size_t i = 0; i < t->pmeta_cnt; i++)
        if (!strcmp(t->pmeta[i].key, key)) {
            t->pmeta[i].value = value;
            return 0;
        }
    struct rv__pmeta_s *nv = realloc(t->pmeta, (t->pmeta_cnt + 1) * sizeof *nv);
    if (!nv)
        return RV_ERR__NOMEM;
    t->pmeta = nv;
    nv[t->pmeta_cnt].key = strdup(key);
    if (!nv[t->pmeta_cnt].key)
        return RV_ERR__NOMEM;
    nv[t->pmeta_cnt++].value = value;
    return 0;
}

static rv__queue_t *get_queue(rv__task_t *t, const char *topic, int32_t partition, size_t *src);

rv_err_t rv__task_restore_metadata(rv__task_t *t, const char *topic, int32_t partition,
                                   const char *metadata) {
    if (!metadata || !*metadata)
        return 0;
    size_t sl = strlen(metadata);
    uint8_t *b = malloc(sl / 4 * 3 + 1);
    if (!b)
        return RV_ERR__NOMEM;
    int64_t n = b64_decode(metadata, b);
    rv_err_t err = 0;
    if (n < 0) {
        rv__log_warn(FAC, "task [%s] Unsupported offset metadata found: %s", t->id, metadata);
        goto out;
    }
    if (n < 1 || b[0] < 1 || b[0] > META_VERSION) {
        rv__log_warn(FAC,
                     "task [%s] Unsupported offset metadata version found. Supported version <= "
                     "%d. Found version %d.",
                     t->id, META_VERSION, n < 1 ? -1 : (int)b[0]);
        goto out;
    }
    if (n < 9) {
        rv__log_warn(FAC, "task [%s] Unsupported offset metadata found: %s", t->id, metadata);
        goto out;
    }
    int64_t pt = (int64_t)get_be(b + 1, 8);
    /* Check the processor metadata whole before using any of it. */
    size_t pos = 9, cnt = 0;
    if (b[0] >= 2 && (size_t)n > pos) {
        bool bad = (size_t)n < pos + 4;
        if (!bad) {
            cnt = (size_t)get_be(b + pos, 4);
            pos += 4;
        }
        for (size_t i = 0; !bad && i < cnt; i++) {
            if ((size_t)n - pos < 4) {
                bad = true;
                break;
            }
            size_t kl = (size_t)get_be(b + pos, 4);
            if ((size_t)n - pos - 4 < kl + 8)
                bad = true;
            pos += 4 + kl + 8;
        }
        if (bad || pos != (size_t)n) {
            /* As Kafka's decode: the partition time read before the bad
             * processor metadata stays; the metadata is dropped. */
            rv__log_warn(FAC, "task [%s] Unsupported offset metadata found: %s", t->id, metadata);
            cnt = 0;
        }
    }
    if (pt >= 0) {
        size_t src;
        rv__queue_t *q = get_queue(t, topic, partition, &src);
        if (q && pt > q->partition_time)
            q->partition_time = pt;
        else if (!q && src != SIZE_MAX) {
            err = RV_ERR__NOMEM;
            goto out;
        }
        if (pt > t->stream_time)
            t->stream_time = pt;
    }
    pos = 13;
    for (size_t i = 0; i < cnt; i++) {
        size_t kl = (size_t)get_be(b + pos, 4);
        char *key = malloc(kl + 1);
        if (!key) {
            err = RV_ERR__NOMEM;
            goto out;
        }
        memcpy(key, b + pos + 4, kl);
        key[kl] = '\0';
        int64_t v = (int64_t)get_be(b + pos + 4 + kl, 8), cur;
        if (!rv__task_processor_metadata_get(t, key, &cur) || v > cur)
            err = rv__task_processor_metadata_put(t, key, v);
        free(key);
        if (err)
            goto out;
        pos += 4 + kl + 8;
    }
out:
    free(b);
    return err;
}

/* ---- Accessors ---- */

const char *rv__task_id(const rv__task_t *t) {
    return t->id;
}

rv_kv_store_t *rv__task_store(const rv__task_t *t, const char *name) {
    for (size_t i = 0; i < t->store_cnt; i++)
        if (!strcmp(t->stores[i].ts->name, name))
            return t->stores[i].store;
    return NULL;
}

const char *rv__task_changelog_topic(const rv__task_t *t, const char *name) {
    for (size_t i = 0; i < t->store_cnt; i++)
        if (!strcmp(t->stores[i].ts->name, name))
            return t->stores[i].changelog;
    return NULL;
}

int64_t rv__task_stream_time(const rv__task_t *t) {
    return t->stream_time;
}

int rv__task_commit_requested(const rv__task_t *t) {
    return t->commit_requested;
}

int rv__task_failed(const rv__task_t *t) {
    return t->failed;
}

const char *rv__task_last_error(const rv__task_t *t) {
    return t->err;
}

size_t rv__task_queued(const rv__task_t *t) {
    return t->queued;
}

rv_err_t rv__task_add_input(rv__task_t *t, const char *topic, int32_t partition) {
    size_t src;
    if (get_queue(t, topic, partition, &src))
        return RV_ERR_NO_ERROR;
    return src == SIZE_MAX ? RV_ERR__INVALID_ARG : RV_ERR__NOMEM;
}

size_t rv__task_input_count(const rv__task_t *t) {
    return t->queue_cnt;
}

rv__queue_t *rv__task_input(rv__task_t *t, size_t i) {
    return &t->queues[i];
}

int rv__task_ready(rv__task_t *t, int64_t now_ms, int64_t max_idle_ms, uint64_t epoch,
                   rv__task_lag_fn *lag, void *opaque) {
    if (!t->queued)
        return 0;
    if (max_idle_ms < 0)
        return 1;
    bool enforced = false;
    for (size_t i = 0; i < t->queue_cnt; i++) {
        rv__queue_t *q = &t->queues[i];
        if (q->head < q->cnt) {
            q->idling = false;
            continue;
        }
        if (q->lag_epoch != epoch || epoch == 0) {
            q->lag = lag(q->topic, q->partition, opaque);
            q->lag_epoch = epoch;
        }
        if (q->lag != 0) {
            /* Unknown: wait for the fetch; positive: wait to poll what the
             * broker holds. */
            q->idling = false;
            return 0;
        }
        /* Caught up: wait max.task.idle.ms for more to show up. */
        if (!q->idling) {
            q->idling = true;
            q->idle_deadline = now_ms + max_idle_ms;
        }
        if (now_ms < q->idle_deadline)
            return 0;
        enforced = true;
    }
    /* Logged once per stretch of enforced processing. */
    if (enforced && !t->enforcing)
        rv__log_debug(FAC,
                      "task [%s] Processing although some input partitions are empty "
                      "(caught up for max.task.idle.ms)",
                      t->id);
    t->enforcing = enforced;
    return 1;
}

int32_t rv__task_partition(const rv__task_t *t) {
    return t->partition;
}

int rv__task_subtopology(const rv__task_t *t) {
    return t->st->id;
}

size_t rv__task_store_count(const rv__task_t *t) {
    return t->closed ? 0 : t->store_cnt;
}

void rv__task_store_info(const rv__task_t *t, size_t i, rv__task_store_info_t *out) {
    const rv__task_store_t *s = &t->stores[i];
    out->name = s->ts->name;
    out->store = s->store;
    out->changelog = s->changelog;
    out->persistent = s->persistent;
    out->checkpoint_offset = s->ckpt_offset;
}

/* ---- Queues ---- */

struct rv__shared_records_s {
    rv_records_t *rs;
    size_t refs;
};

rv__shared_records_t *rv__shared_records_new(rv_records_t *rs) {
    rv__shared_records_t *sr = malloc(sizeof *sr);
    if (!sr)
        return NULL;
    sr->rs = rs;
    sr->refs = 1;
    return sr;
}

const rv_records_t *rv__shared_records_get(const rv__shared_records_t *sr) {
    return sr->rs;
}

void rv__shared_records_unref(rv__shared_records_t *sr) {
    if (!sr || --sr->refs > 0)
        return;
    rv_records_destroy(sr->rs);
    free(sr);
}

static void qrec_free(rv__task_t *t, rv__queue_t *q, rv__qrec_t *r) {
    const rv__task_node_t *src = &t->nodes[q->source];
    if (!r->key_borrowed)
        rv_serde_free(src->key_serde, r->key);
    if (!r->value_borrowed)
        rv_serde_free(src->value_serde, r->value);
    rv_records_destroy(r->own);
    rv__shared_records_unref(r->shared);
    memset(r, 0, sizeof *r);
}

static void free_queues(rv__task_t *t) {
    for (size_t i = 0; i < t->queue_cnt; i++) {
        rv__queue_t *q = &t->queues[i];
        for (size_t j = q->head; j < q->cnt; j++)
            qrec_free(t, q, &q->v[j]);
        free(q->v);
        free(q->topic);
    }
    free(t->queues);
    t->queues = NULL;
    t->queue_cnt = 0;
    t->queued = 0;
}

/* The source of the sub-topology reading `topic` (the broker's name). */
static size_t find_source(const rv__task_t *t, const char *topic) {
    char name[512];
    for (size_t i = 0; i < t->node_cnt; i++) {
        const rv__tnode_t *tn = t->nodes[i].tn;
        if (tn->kind != RV__TNODE_SOURCE)
            continue;
        for (size_t k = 0; k < tn->topic_cnt; k++) {
            if (rv__topology_topic_name(name, sizeof name, t->app_id, tn->topics[k],
                                        tn->source.internal))
                continue;
            if (!strcmp(name, topic))
                return i;
        }
        if (tn->pattern && rv__topology_source_matches(tn, topic))
            return i;
    }
    return SIZE_MAX;
}

/* The queue of topic/partition, made on its first record. A known queue
 * answers without resolving the source again (the per-record path). NULL
 * with *src SIZE_MAX when no source reads the topic, else out of memory. */
static rv__queue_t *get_queue(rv__task_t *t, const char *topic, int32_t partition, size_t *src) {
    for (size_t i = 0; i < t->queue_cnt; i++)
        if (t->queues[i].partition == partition && !strcmp(t->queues[i].topic, topic)) {
            *src = t->queues[i].source;
            return &t->queues[i];
        }
    size_t source = find_source(t, topic);
    *src = source;
    if (source == SIZE_MAX)
        return NULL;
    rv__queue_t *nq = realloc(t->queues, (t->queue_cnt + 1) * sizeof *nq);
    if (!nq)
        return NULL;
    t->queues = nq;
    rv__queue_t *q = &nq[t->queue_cnt];
    memset(q, 0, sizeof *q);
    q->topic = strdup(topic);
    if (!q->topic)
        return NULL;
    q->partition = partition;
    q->source = source;
    q->partition_time = -1;
    q->committable = -1;
    t->queue_cnt++;
    return q;
}

/* Room for one more record at the tail of q. */
static rv_err_t queue_reserve(rv__queue_t *q) {
    if (q->cnt < q->cap)
        return 0;
    if (q->head > 0) {
        memmove(q->v, q->v + q->head, (q->cnt - q->head) * sizeof *q->v);
        q->cnt -= q->head;
        q->head = 0;
    }
    if (q->cnt == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        rv__qrec_t *nv = realloc(q->v, cap * sizeof *nv);
        if (!nv)
            return RV_ERR__NOMEM;
        q->v = nv;
        q->cap = cap;
    }
    return 0;
}

/* A private copy of a record as a one-record container, so extractors get
 * a real rv_record_t and the record outlives whatever the caller had. */
static rv_err_t copy_record(rv_records_t **out, const char *topic, int32_t partition,
                            int64_t offset, int64_t timestamp, const void *key, int32_t key_len,
                            const void *value, int32_t value_len, const rv_header_t *headers,
                            size_t header_cnt) {
    rv__buf_t buf = RV__BUF_INIT, hb = RV__BUF_INIT;
    rv_err_t err = 0;
    for (size_t i = 0; i < header_cnt && !err; i++)
        err = rv__headers_encode(&hb, headers[i].key, (int32_t)strlen(headers[i].key),
                                 headers[i].value, headers[i].value_len);
    rv__batch_builder_t b;
    int64_t base = offset < 0 ? 0 : offset;
    if (!err)
        err = rv__batch_builder_begin(&b, &buf, base, 0, INT64_MIN, -1, -1, -1, -1);
    if (!err)
        err = rv__batch_builder_add(&b, base, timestamp, key, key ? key_len : -1, value,
                                    value ? value_len : -1, (int32_t)header_cnt, hb.data, hb.len);
    if (!err)
        err = rv__batch_builder_finish(&b, -1);
    rv__buf_free(&hb);
    if (err) {
        rv__buf_free(&buf);
        return err;
    }
    rv__chunk_t *ch = rv__chunk_new(&buf, topic);
    if (!ch) {
        rv__buf_free(&buf);
        return RV_ERR__NOMEM;
    }
    rv__record_iter_t it;
    rv__record_t rec;
    err = rv__record_iter_init(&it, ch->data, ch->len);
    if (!err && rv__record_iter_next(&it, &rec) != 1)
        err = RV_ERR__BAD_MSG;
    rv_records_t *rs = err ? NULL : rv__records_new(1);
    if (!err && !rs)
        err = RV_ERR__NOMEM;
    if (!err) {
        rec.offset = offset;
        err = rv__records_add(rs, ch, partition, RV_TIMESTAMP_CREATE_TIME, &rec);
    }
    rv__chunk_unref(ch);
    if (err) {
        rv_records_destroy(rs);
        return err;
    }
    rv__records_finish(rs);
    *out = rs;
    return 0;
}

/* Marks `offset` done for a record that will never be processed (skipped
 * or dropped): committable at once when nothing is queued before it. */
static void skip_offset(rv__queue_t *q, int64_t offset) {
    if (q->head < q->cnt)
        q->v[q->cnt - 1].next_offset = offset + 1;
    else
        q->committable = offset + 1;
}

/* The bytes serde is the identity: its "deserialized" value is the record's
 * own bytes, which the queued record keeps alive, so nothing is copied.
 * Every other serde runs as usual. A non-null empty value keeps a non-NULL
 * pointer, as the copying deserializer gives. */
static rv_err_t deserialize(const rv_serde_t *serde, void **out, int32_t *out_len, bool *borrowed,
                            const char *topic, const void *bytes, int32_t len, char *msg,
                            size_t msg_size) {
    *borrowed = false;
    if (serde != rv_serde_bytes())
        return rv_serde_deserialize(serde, out, out_len, topic, bytes, len, msg, msg_size);
    *borrowed = true;
    if (!bytes || len < 0) {
        *out = NULL;
        *out_len = -1;
    } else {
        *out = (void *)(len ? bytes : "");
        *out_len = len;
    }
    return 0;
}

/* Deserializes r (raw set), extracts its timestamp and appends it to q,
 * whose tail has room. Takes over r's references: a skipped or failed
 * record is freed here. */
static rv_err_t enqueue(rv__task_t *t, rv__queue_t *q, rv__qrec_t *r, char *errstr,
                        size_t errstr_size) {
    const rv__task_node_t *sn = &t->nodes[q->source];
    const rv_record_t *raw = r->raw;
    const char *topic = q->topic;
    int32_t partition = q->partition;
    int64_t offset = rv_record_offset(raw);
    int32_t kl, vl;
    const void *key = rv_record_key(raw, &kl);
    const void *value = rv_record_value(raw, &vl);
    r->next_offset = offset + 1;
    char msg[512];
    msg[0] = '\0'; /* not "= \"\"": that would clear 512 bytes per record */
    rv_err_t err = deserialize(sn->key_serde, &r->key, &r->key_len, &r->key_borrowed, topic, key,
                               key ? kl : -1, msg, sizeof msg);
    if (!err)
        err = deserialize(sn->value_serde, &r->value, &r->value_len, &r->value_borrowed, topic,
                          value, value ? vl : -1, msg, sizeof msg);
    if (err) {
        qrec_free(t, q, r);
        if (t->deser_continue) {
            rv__log_warn(FAC,
                         "Exception caught during Deserialization, taskId: %s, topic: %s, "
                         "partition: %" PRId32 ", offset: %" PRId64 ": %s. Skipping record "
                         "(LogAndContinueExceptionHandler)",
                         t->id, topic, partition, offset, msg);
            skip_offset(q, offset);
            return 0;
        }
        return task_fail(t, err, errstr, errstr_size,
                         "Deserialization exception handler is set to fail upon a "
                         "deserialization error. If you would rather have the streaming pipeline "
                         "continue after a deserialization error, please set the "
                         "default.deserialization.exception.handler appropriately. Exception "
                         "caught during Deserialization, taskId: %s, topic: %s, partition: "
                         "%" PRId32 ", offset: %" PRId64 ": %s",
                         t->id, topic, partition, offset, msg);
    }
    msg[0] = '\0';
    err = sn->extractor(&r->ts, raw, q->partition_time, sn->extractor_opaque, msg, sizeof msg);
    if (!err && r->ts < 0) {
        rv__log_warn(FAC,
                     "Skipping record due to negative extracted timestamp. topic=[%s] "
                     "partition=[%" PRId32 "] offset=[%" PRId64 "] extractedTimestamp=[%" PRId64
                     "] extractor=[%s]",
                     topic, partition, offset, r->ts,
                     sn->tn->source.timestamp_extractor ? "user-supplied" : "default");
    }
    if (err || r->ts < 0) {
        qrec_free(t, q, r);
        if (err)
            return task_fail(
                t, err, errstr, errstr_size,
                "Timestamp extractor of source %s failed on %s-%" PRId32 " offset %" PRId64 ": %s",
                sn->tn->name, topic, partition, offset, msg[0] ? msg : rv_err_str(err));
        skip_offset(q, offset);
        return 0;
    }
    if (r->ts > q->partition_time)
        q->partition_time = r->ts;
    q->v[q->cnt++] = *r;
    t->queued++;
    return 0;
}

/* The queue for a new record of topic/partition, with room at its tail. */
static rv_err_t queue_for(rv__task_t *t, const char *topic, int32_t partition, rv__queue_t **out,
                          char *errstr, size_t errstr_size) {
    if (t->failed || t->closed)
        return refuse(t, errstr, errstr_size);
    size_t src;
    rv__queue_t *q = get_queue(t, topic, partition, &src);
    if (!q && src == SIZE_MAX) {
        rv__errstr_set(errstr, errstr_size, "Task %s reads no topic %s", t->id, topic);
        return RV_ERR__INVALID_ARG;
    }
    if (!q || queue_reserve(q))
        return RV_ERR__NOMEM;
    *out = q;
    return 0;
}

rv_err_t rv__task_add_record(rv__task_t *t, const char *topic, int32_t partition, int64_t offset,
                             int64_t timestamp, const void *key, int32_t key_len, const void *value,
                             int32_t value_len, const rv_header_t *headers, size_t header_cnt,
                             char *errstr, size_t errstr_size) {
    rv__queue_t *q = NULL;
    rv_err_t err = queue_for(t, topic, partition, &q, errstr, errstr_size);
    if (err)
        return err;
    rv__qrec_t r;
    memset(&r, 0, sizeof r);
    err = copy_record(&r.own, topic, partition, offset, timestamp, key, key_len, value, value_len,
                      headers, header_cnt);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "Cannot queue a record of %s-%" PRId32 ": %s", topic,
                       partition, rv_err_str(err));
        return err;
    }
    r.raw = rv_records_get(r.own, 0);
    return enqueue(t, q, &r, errstr, errstr_size);
}

rv_err_t rv__task_add_consumed(rv__task_t *t, const rv_record_t *rec, char *errstr,
                               size_t errstr_size) {
    size_t hc = rv_record_header_count(rec);
    rv_header_t hs[64];
    rv_header_t *h = hc <= 64 ? hs : malloc(hc * sizeof *h);
    if (!h)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < hc; i++)
        rv_record_header(rec, i, &h[i].key, &h[i].value, &h[i].value_len);
    int32_t kl, vl;
    const void *k = rv_record_key(rec, &kl);
    const void *v = rv_record_value(rec, &vl);
    rv_err_t err = rv__task_add_record(t, rv_record_topic(rec), rv_record_partition(rec),
                                       rv_record_offset(rec), rv_record_timestamp(rec), k, kl, v,
                                       vl, h, hc, errstr, errstr_size);
    if (h != hs)
        free(h);
    return err;
}

rv_err_t rv__task_add_shared(rv__task_t *t, rv__shared_records_t *sr, size_t i, char *errstr,
                             size_t errstr_size) {
    const rv_record_t *rec = rv_records_get(sr->rs, i);
    if (!rec) {
        rv__errstr_set(errstr, errstr_size, "No record %zu in the container", i);
        return RV_ERR__INVALID_ARG;
    }
    rv__queue_t *q = NULL;
    rv_err_t err =
        queue_for(t, rv_record_topic(rec), rv_record_partition(rec), &q, errstr, errstr_size);
    if (err)
        return err;
    rv__qrec_t r;
    memset(&r, 0, sizeof r);
    r.raw = rec;
    r.shared = sr;
    sr->refs++;
    return enqueue(t, q, &r, errstr, errstr_size);
}

/* ---- Processing ---- */

/* The bytes serde is the identity: the record's bytes go to the collector
 * as they are (borrowed for the send). Every other serde runs as usual;
 * the message for a negative length is the bytes serializer's. */
static rv_err_t serialize(const rv_serde_t *serde, void **out, int32_t *out_len, bool *borrowed,
                          const char *topic, const void *data, int32_t len, char *msg,
                          size_t msg_size) {
    *borrowed = false;
    if (serde != rv_serde_bytes())
        return rv_serde_serialize(serde, out, out_len, topic, data, len, msg, msg_size);
    *out = NULL;
    *out_len = -1;
    if (!data)
        return 0;
    if (len < 0) {
        rv__errstr_set(msg, msg_size, "Negative length %d for bytes", len);
        return RV_ERR__SERIALIZATION;
    }
    *borrowed = true;
    *out = (void *)data;
    *out_len = len;
    return 0;
}

/* Runs a sink: picks the topic, serializes, partitions, sends. */
static rv_err_t run_sink(rv__task_t *t, rv__task_node_t *n, const rv_processor_record_t *rec) {
    const rv__tnode_t *tn = n->tn;
    char xtopic[512];
    const char *topic = n->sink_topic;
    if (tn->extractor) {
        const char *x = tn->extractor(rec, tn->extractor_opaque);
        if (!x)
            return task_fail(t, RV_ERR__FAIL, NULL, 0,
                             "Topic name extractor of sink %s returned no topic", tn->name);
        snprintf(xtopic, sizeof xtopic, "%s", x);
        topic = xtopic;
    } else if (!n->sink_topic_ok) {
        return task_fail(t, RV_ERR__INVALID_ARG, NULL, 0, "Topic name of sink %s is too long",
                         tn->name);
    }
    void *kb = NULL, *vb = NULL;
    int32_t kl = -1, vl = -1;
    bool kborrowed = false, vborrowed = false;
    char msg[512];
    msg[0] = '\0'; /* per record: no 512-byte clear */
    rv_err_t err = serialize(n->key_serde, &kb, &kl, &kborrowed, topic, rec->key, rec->key_len, msg,
                             sizeof msg);
    if (!err)
        err = serialize(n->value_serde, &vb, &vl, &vborrowed, topic, rec->value, rec->value_len,
                        msg, sizeof msg);
    if (err) {
        if (!kborrowed)
            rv_serde_free(n->key_serde, kb);
        return task_fail(t, err, NULL, 0,
                         "Error serializing a record for topic %s in sink %s of task %s: %s "
                         "(check the sink's serdes or default.key.serde / default.value.serde)",
                         topic, tn->name, t->id, msg);
    }
    int32_t partition = RV_PARTITION_ANY;
    if (tn->sink.partitioner) {
        int32_t cnt = t->coll.partition_count ? t->coll.partition_count(t->coll.opaque, topic) : 0;
        if (cnt <= 0) {
            if (!kborrowed)
                rv_serde_free(n->key_serde, kb);
            if (!vborrowed)
                rv_serde_free(n->value_serde, vb);
            return task_fail(t, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, NULL, 0,
                             "Could not get partition information for topic %s for task %s", topic,
                             t->id);
        }
        partition = tn->sink.partitioner(topic, rec->key, rec->key_len, rec->value, rec->value_len,
                                         cnt, tn->sink.partitioner_opaque);
    }
    err = t->coll.send(t->coll.opaque, topic, partition, kb, kl, vb, vl, rec->timestamp,
                       rec->headers, rec->header_cnt, msg, sizeof msg);
    if (!kborrowed)
        rv_serde_free(n->key_serde, kb);
    if (!vborrowed)
        rv_serde_free(n->value_serde, vb);
    if (err)
        return task_fail(t, err, NULL, 0,
                         "Error encountered sending record to topic %s for task %s due to: %s",
                         topic, t->id, msg);
    return 0;
}

/* Delivers rec to task node `to`: a processor's process(), or a sink. The
 * record context's timestamp and headers follow the record, as Kafka's
 * forward() sets them for the child. */
static rv_err_t deliver(rv__task_t *t, size_t to, const rv_processor_record_t *rec) {
    rv__task_node_t *n = &t->nodes[to];
    if (n->tn->kind == RV__TNODE_SINK)
        return run_sink(t, n, rec);
    if (n->tn->kind != RV__TNODE_PROCESSOR)
        return 0;
    rv__rec_ctx_t saved = t->rc;
    t->rc.timestamp = rec->timestamp;
    t->rc.headers = rec->headers;
    t->rc.header_cnt = rec->header_cnt;
    rv_err_t err = n->proc.process(&n->ctx, rec, n->proc.state);
    t->rc = saved;
    if (err && !t->failed)
        task_fail(t, err, NULL, 0,
                  "Exception caught in process. taskId=%s, processor=%s, topic=%s, "
                  "partition=%" PRId32 ", offset=%" PRId64 ": %s%s%s",
                  t->id, n->tn->name, saved.topic ? saved.topic : "null", saved.partition,
                  saved.offset, rv_err_str(err), t->ctx_err[0] ? ": " : "", t->ctx_err);
    return err;
}

rv_err_t rv__task_forward(rv__task_t *t, size_t from, const rv_processor_record_t *rec,
                          const char *child) {
    rv__task_node_t *n = &t->nodes[from];
    if (child) {
        for (size_t i = 0; i < n->child_cnt; i++)
            if (!strcmp(t->nodes[n->children[i]].tn->name, child))
                return deliver(t, n->children[i], rec);
        snprintf(t->ctx_err, sizeof t->ctx_err,
                 "Unknown downstream node: %s either does not exist or is not connected to this "
                 "processor.",
                 child);
        return RV_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < n->child_cnt; i++) {
        rv_err_t err = deliver(t, n->children[i], rec);
        if (err)
            return err;
    }
    return 0;
}

rv_err_t rv__task_process(rv__task_t *t, int *processed, char *errstr, size_t errstr_size) {
    *processed = 0;
    if (t->failed || t->closed)
        return refuse(t, errstr, errstr_size);
    if (!t->inited) {
        rv__errstr_set(errstr, errstr_size, "Task %s is not initialized", t->id);
        return RV_ERR__STATE;
    }
    rv__queue_t *best = NULL;
    for (size_t i = 0; i < t->queue_cnt; i++) {
        rv__queue_t *q = &t->queues[i];
        if (q->head < q->cnt && (!best || q->v[q->head].ts < best->v[best->head].ts))
            best = q;
    }
    if (!best)
        return 0;
    rv__qrec_t r = best->v[best->head++];
    if (best->head == best->cnt)
        best->head = best->cnt = 0;
    t->queued--;
    if (r.ts > t->stream_time)
        t->stream_time = r.ts;
    const rv_record_t *raw = r.raw;
    size_t hc = rv_record_header_count(raw);
    rv_header_t *hs = hc ? calloc(hc, sizeof *hs) : NULL;
    if (hc && !hs) {
        qrec_free(t, best, &r);
        return task_fail(t, RV_ERR__NOMEM, errstr, errstr_size, "Out of memory");
    }
    for (size_t i = 0; i < hc; i++)
        rv_record_header(raw, i, &hs[i].key, &hs[i].value, &hs[i].value_len);
    rv_processor_record_t rec = {r.key, r.key_len, r.value, r.value_len, r.ts, hc ? hs : NULL, hc};
    t->rc.has_meta = true;
    t->rc.topic = best->topic;
    t->rc.partition = best->partition;
    t->rc.offset = rv_record_offset(raw);
    t->rc.timestamp = r.ts;
    t->rc.headers = rec.headers;
    t->rc.header_cnt = hc;
    t->ctx_err[0] = '\0';
    rv_err_t err = rv__task_forward(t, best->source, &rec, NULL);
    t->rc.has_meta = false;
    t->rc.topic = NULL;
    t->rc.partition = -1;
    t->rc.offset = -1;
    t->rc.timestamp = -1;
    t->rc.headers = NULL;
    t->rc.header_cnt = 0;
    best->committable = r.next_offset;
    free(hs);
    /* A processor cannot add records, so `best` is still valid here. */
    qrec_free(t, best, &r);
    *processed = 1;
    if (err)
        return task_fail(t, err, errstr, errstr_size, "%s", t->err);
    return 0;
}

/* ---- Punctuation ---- */

/* Kafka's PunctuationQueue.mayPunctuate(): fires every schedule of `type`
 * due at or before `now`, earliest first, with `now`. */
static rv_err_t may_punctuate(rv__task_t *t, int64_t now, rv_punctuation_type_t type,
                              int *punctuated, char *errstr, size_t errstr_size) {
    if (punctuated)
        *punctuated = 0;
    if (t->failed || t->closed)
        return refuse(t, errstr, errstr_size);
    for (;;) {
        rv_cancellable_t *top = NULL;
        for (size_t i = 0; i < t->punct_cnt; i++) {
            rv_cancellable_t *c = t->puncts[i];
            if (c->cancelled || c->type != type || c->next > now)
                continue;
            if (!top || c->next < top->next || (c->next == top->next && c->seq < top->seq))
                top = c;
        }
        if (!top)
            return 0;
        rv__task_node_t *n = &t->nodes[top->node];
        t->rc.has_meta = false;
        t->rc.timestamp = now;
        t->rc.headers = NULL;
        t->rc.header_cnt = 0;
        t->ctx_err[0] = '\0';
        rv_err_t err = top->cb(&n->ctx, now, top->opaque);
        t->rc.timestamp = -1;
        if (punctuated)
            *punctuated = 1;
        if (err)
            return task_fail(t, err, errstr, errstr_size,
                             "Exception caught while punctuating processor %s of task %s "
                             "(%s, time %" PRId64 "): %s%s%s",
                             n->tn->name, t->id,
                             type == RV_PUNCTUATION_TYPE_STREAM_TIME ? "STREAM_TIME"
                                                                     : "WALL_CLOCK_TIME",
                             now, rv_err_str(err), t->ctx_err[0] ? ": " : "", t->ctx_err);
        if (t->failed)
            return task_fail(t, RV_ERR__FAIL, errstr, errstr_size, "%s", t->err);
        if (!top->cancelled) {
            /* PunctuationSchedule.next(now) */
            int64_t next = top->next + top->interval;
            if (now >= next) {
                int64_t missed = (now - top->next) / top->interval;
                next = top->next + (missed + 1) * top->interval;
            }
            top->next = next;
            top->seq = ++t->punct_seq;
        }
    }
}

rv_err_t rv__task_punctuate_stream_time(rv__task_t *t, int *punctuated, char *errstr,
                                        size_t errstr_size) {
    if (punctuated)
        *punctuated = 0;
    if (t->stream_time < 0 && !t->failed && !t->closed)
        return 0; /* Kafka's RecordQueue.UNKNOWN: nothing processed yet */
    return may_punctuate(t, t->stream_time, RV_PUNCTUATION_TYPE_STREAM_TIME, punctuated, errstr,
                         errstr_size);
}

rv_err_t rv__task_punctuate_wall_clock(rv__task_t *t, int64_t now_ms, int *punctuated, char *errstr,
                                       size_t errstr_size) {
    return may_punctuate(t, now_ms, RV_PUNCTUATION_TYPE_WALL_CLOCK_TIME, punctuated, errstr,
                         errstr_size);
}

/* ---- Commit and close ---- */

static rv_err_t write_checkpoint(rv__task_t *t, bool enforce, char *errstr, size_t errstr_size) {
    if (!t->task_dir)
        return 0;
    rv__checkpoint_entry_t e[64];
    size_t cnt = 0;
    bool due = enforce;
    for (size_t i = 0; i < t->store_cnt && cnt < 64; i++) {
        rv__task_store_t *s = &t->stores[i];
        if (!s->changelog || !s->persistent)
            continue;
        int64_t off = t->coll.last_offset(t->coll.opaque, s->changelog, t->partition);
        if (off < 0)
            off = s->ckpt_offset;
        if (off < 0)
            continue;
        if (off - (s->ckpt_offset < 0 ? 0 : s->ckpt_offset) > CHECKPOINT_DELTA)
            due = true;
        e[cnt].topic = s->changelog;
        e[cnt].partition = t->partition;
        e[cnt].offset = off;
        cnt++;
    }
    if (!due || !cnt)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", t->task_dir, RV__CHECKPOINT_FILE);
    rv_err_t err = rv__checkpoint_write(path, e, cnt, errstr, errstr_size);
    if (err)
        return err;
    for (size_t i = 0, k = 0; i < t->store_cnt && k < cnt; i++)
        if (t->stores[i].changelog && !strcmp(t->stores[i].changelog, e[k].topic))
            t->stores[i].ckpt_offset = e[k++].offset;
    return 0;
}

rv_err_t rv__task_commit(rv__task_t *t, bool enforce_checkpoint, const rv__task_offset_t **offsets,
                         size_t *cnt, char *errstr, size_t errstr_size) {
    if (offsets)
        *offsets = NULL;
    if (cnt)
        *cnt = 0;
    if (t->failed || t->closed)
        return refuse(t, errstr, errstr_size);
    for (size_t i = 0; i < t->store_cnt; i++) {
        rv_err_t err = rv_kv_store_flush(t->stores[i].store);
        if (err)
            return task_fail(t, err, errstr, errstr_size, "Failed to flush state store %s: %s%s%s",
                             t->stores[i].ts->name, rv_err_str(err), t->err[0] ? ": " : "", t->err);
    }
    char msg[512] = "";
    rv_err_t err = t->coll.flush(t->coll.opaque, msg, sizeof msg);
    if (err)
        return task_fail(t, err, errstr, errstr_size, "Failed to flush the records of task %s: %s",
                         t->id, msg);
    err = write_checkpoint(t, enforce_checkpoint, msg, sizeof msg);
    if (err)
        return task_fail(t, err, errstr, errstr_size,
                         "Failed to write the checkpoint of task %s: %s", t->id, msg);
    t->commit_requested = false;
    rv__task_offset_t *o = realloc(t->offsets, (t->queue_cnt ? t->queue_cnt : 1) * sizeof *o);
    if (!o)
        return RV_ERR__NOMEM;
    t->offsets = o;
    for (size_t i = 0; i < t->offset_meta_cnt; i++)
        free(t->offset_meta[i]);
    t->offset_meta_cnt = 0;
    char **om = realloc(t->offset_meta, (t->queue_cnt ? t->queue_cnt : 1) * sizeof *om);
    if (!om)
        return RV_ERR__NOMEM;
    t->offset_meta = om;
    size_t n = 0;
    for (size_t i = 0; i < t->queue_cnt; i++) {
        if (t->queues[i].committable < 0)
            continue;
        o[n].topic = t->queues[i].topic;
        o[n].partition = t->queues[i].partition;
        o[n].offset = t->queues[i].committable;
        o[n].metadata = NULL;
        /* Kafka's StreamTask.findOffsetsAndMetadata: the partition time
         * and the task's processor metadata go with the offset. */
        if (t->queues[i].partition_time >= 0) {
            char *m = encode_metadata(t, t->queues[i].partition_time);
            if (!m)
                return RV_ERR__NOMEM;
            om[t->offset_meta_cnt++] = m;
            o[n].metadata = m;
        }
        n++;
    }
    if (offsets)
        *offsets = o;
    if (cnt)
        *cnt = n;
    return 0;
}

rv_err_t rv__task_close(rv__task_t *t, bool clean, char *errstr, size_t errstr_size) {
    if (t->closed)
        return 0;
    rv_err_t err = 0;
    if (clean && !t->failed)
        err = rv__task_commit(t, true, NULL, NULL, errstr, errstr_size);
    /* Processors first, parents before children, while the stores are
     * still open (a close() may read them), as Kafka's closeTopology(). */
    t->rc.has_meta = false;
    for (size_t i = 0; i < t->node_cnt; i++) {
        rv__task_node_t *n = &t->nodes[i];
        if (n->got && n->proc.close)
            n->proc.close(n->proc.state);
        n->got = false;
    }
    t->closed = true;
    /* A task closed without a commit (lost, failed, stopped mid-restore)
     * drops what its caches hold: the next owner reprocesses it from the
     * last commit, and flushing it here would write this task's stale
     * values to the changelog after the new owner's. */
    bool committed = clean && !t->failed && !err;
    for (size_t i = 0; i < t->store_cnt; i++) {
        if (!committed && t->stores[i].cached && t->stores[i].store)
            rv__cache_discard(t->stores[i].store);
        rv_kv_store_destroy(t->stores[i].store);
        t->stores[i].store = NULL;
    }
    if (t->locked) {
        rv__state_dir_unlock_task(t->sd, t->id, t);
        t->locked = false;
    }
    free_queues(t);
    return err;
}

void rv__task_destroy(rv__task_t *t) {
    if (!t)
        return;
    rv__task_close(t, false, NULL, 0);
    task_free(t);
}
