/* dsl/stream_join.c: stream-stream joins (rivulet/dsl.h, "Stream-stream
 * joins"): rv_kstream_join(), rv_kstream_left_join() and
 * rv_kstream_outer_join(), as Kafka Streams' KStreamImplJoin,
 * KStreamJoinWindow, KStreamKStreamJoin and its Left/RightSide build and
 * run them. Repartitioning before the join reuses dsl/builder.c; the
 * window stores are state/window_store.c's.
 *
 * A join adds, in Kafka's order and with Kafka's names:
 *
 *   KSTREAM-WINDOWED-<a>   (this side)   puts each record in the this-store
 *   KSTREAM-WINDOWED-<b>   (other side)  puts each record in the other-store
 *   KSTREAM-JOINTHIS-<c>   reads the other-store  (OUTERTHIS when the other
 *                          side is outer: outer join)
 *   KSTREAM-JOINOTHER-<d>  reads the this-store   (OUTEROTHER when this
 *                          side is outer: left and outer joins)
 *   KSTREAM-MERGE-<e>      the joined stream
 *
 * Stores: "<JOINTHIS name>-store" and "<JOINOTHER name>-store" (or
 * "<store_name>-this-join-store" / "-other-join-store", with "outer-" in
 * front of this/other as the processor names have it), RocksDB window
 * stores retaining duplicates, window size = before + after, retention =
 * before + after + grace, changelogged with cleanup.policy=delete. A left
 * or outer join adds the shared outer store "KSTREAM-OUTERSHARED-<c>-store"
 * ("<store_name>-left-shared-join-store" / "-outer-shared-join-store"),
 * connected to both join processors.
 *
 * With a user name (StreamJoined.withName) the processors are
 * "<name>-this-windowed", "<name>-other-windowed", "<name>-this-join" (or
 * "-outer-this-join"), "<name>-other-join" (or "-outer-other-join") and
 * "<name>-merge"; the indexes are burnt all the same. A side whose key
 * changed goes through "<name>-left-repartition" / "<name>-right-
 * repartition", or with a generated name through the stream node's own
 * "<node>-repartition", shared with later joins of that stream.
 *
 * DESIGN
 *
 * Join window. A this-side record at t joins the other side's records at
 * t' in [t - before, t + after]; the other side's processor sees the
 * window mirrored ([t - after, t + before]). The joiner always gets
 * (left value, right value): the other side's processor swaps the
 * arguments back (Kafka's reverseJoinerWithKey). The result has the larger
 * of the two timestamps.
 *
 * Outer store (Kafka's KAFKA-10847 fix). A record of an outer side that
 * finds no match is not emitted at once: it waits in the outer store until
 * stream time passes t + after (left records) or t + before (right
 * records) + grace; a match that arrives before then deletes it. Layout as
 * Kafka's, so its changelog is Kafka's:
 *   key   = [8-byte big-endian timestamp][1 byte: 1 left, 0 right][key bytes]
 *           (TimestampedKeyAndJoinSideSerializer)
 *   value = Kafka's ListSerde of byte arrays: [0x01 VARIABLE_SIZE][4-byte
 *           count] then per element [4-byte length][1 byte: 1 left, 0
 *           right][value bytes] (ListValueStore of LeftOrRightValue)
 * so keys iterate by timestamp, and a scan stops once both sides reach a
 * window that is still open. A record that is already late when it
 * arrives (its window end before stream time) is emitted at once, as
 * Kafka's.
 *
 * Time tracker. The two join processors of one task share stream time,
 * the smallest buffered timestamp and the throttle (Kafka's TimeTracker),
 * kept per task id in a registry of the join's configuration. The scan
 * of the outer store runs when a record reaches stream time, only if
 * something may have expired, and at most once per
 * __emit.interval.ms.kstreams.outer.join.spurious.results.fix__ of wall-clock
 * time (default 1000; the test driver sets 0). Sums are computed with
 * Java's wrap-around, so a tracker that restarts with minTime = MAX (after
 * a restore) scans at once, as Kafka's does.
 *
 * Null keys and values (KIP-962): a null-key record with a value on an
 * outer side is joined with null and forwarded at once; every other record
 * with a null key or value is skipped with Kafka's warning. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "dsl/dsl_internal.h"

#define NAME_LEN 512
#define EMIT_INTERVAL_CONFIG "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__"
#define EMIT_INTERVAL_DEFAULT 1000
#define LIST_VARIABLE_SIZE 1 /* Kafka's ListSerde SerializationStrategy.VARIABLE_SIZE */

/* Java's long addition: wraps around instead of overflowing. */
static int64_t jadd(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static void be64_put(unsigned char *p, int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)u;
}

static int64_t be64_get(const unsigned char *p) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
}

static void be32_put(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t be32_get(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- Time trackers, one per task, shared by the two join processors ---- */

typedef struct tracker_s {
    struct tracker_s *next;
    int refs;
    int64_t stream_time;       /* highest timestamp either side saw; -1 none */
    int64_t min_time;          /* lowest timestamp maybe in the outer store */
    int64_t next_time_to_emit; /* wall clock */
    int64_t emit_interval_ms;
    char task[];
} tracker_t;

typedef struct trackers_s {
    pthread_mutex_t lock; /* tasks of several threads open and close trackers */
    tracker_t *head;
} trackers_t;

static void trackers_free(void *p) {
    trackers_t *ts = p;
    while (ts->head) {
        tracker_t *n = ts->head->next;
        free(ts->head);
        ts->head = n;
    }
    pthread_mutex_destroy(&ts->lock);
    free(ts);
}

static tracker_t *tracker_get(trackers_t *ts, const char *task) {
    pthread_mutex_lock(&ts->lock);
    tracker_t *t = ts->head;
    while (t && strcmp(t->task, task))
        t = t->next;
    if (!t) {
        size_t len = strlen(task);
        t = calloc(1, sizeof *t + len + 1);
        if (t) {
            memcpy(t->task, task, len + 1);
            t->stream_time = -1;
            t->min_time = INT64_MAX;
            t->emit_interval_ms = EMIT_INTERVAL_DEFAULT;
            t->next = ts->head;
            ts->head = t;
        }
    }
    if (t)
        t->refs++;
    pthread_mutex_unlock(&ts->lock);
    return t;
}

static void tracker_put(trackers_t *ts, tracker_t *t) {
    if (!t)
        return;
    pthread_mutex_lock(&ts->lock);
    if (--t->refs == 0) {
        for (tracker_t **pp = &ts->head; *pp; pp = &(*pp)->next)
            if (*pp == t) {
                *pp = t->next;
                break;
            }
        free(t);
    }
    pthread_mutex_unlock(&ts->lock);
}

/* ---- Configurations (the builder's shared memory) ---- */

typedef struct join_s {
    const char *this_store, *other_store;
    const char *outer_store; /* NULL for an inner join */
    int64_t before_ms, after_ms, grace_ms;
    rv_value_joiner_cb_t *joiner;
    void *opaque;
    const rv_serde_t *key_serde, *this_serde, *other_serde; /* NULL: the app's defaults */
    trackers_t *trackers;
} join_t;

typedef struct side_cfg_s {
    const join_t *j;
    bool left;  /* the processor of the this (left) stream */
    bool outer; /* this side's unmatched records are emitted */
} side_cfg_t;

typedef struct window_cfg_s {
    const char *store;
    const rv_serde_t *key_serde, *value_serde;
} window_cfg_t;

/* Kafka's "Skipping record due to null key or value" warning. */
static void warn_skip(rv_processor_context_t *ctx) {
    const char *topic = NULL;
    int32_t partition = -1;
    int64_t offset = -1;
    if (rv_processor_context_record_metadata(ctx, &topic, &partition, &offset))
        rv__log_warn("dsl",
                     "Skipping record due to null key or value. topic=[%s] partition=[%d] "
                     "offset=[%lld]",
                     topic ? topic : "", (int)partition, (long long)offset);
    else
        rv__log_warn("dsl",
                     "Skipping record due to null key or value. Topic, partition, and offset not "
                     "known.");
}

static rv_kv_store_t *open_store(rv_processor_context_t *ctx, const char *name) {
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, name);
    if (!s)
        rv__log_err("dsl", "Stream-stream join: cannot open store %s: %s", name,
                    rv_processor_context_last_error(ctx));
    return s;
}

static rv_err_t serialize(void **out, int32_t *out_len, const rv_serde_t *serde, const char *topic,
                          const void *data, int32_t len) {
    char errstr[256] = "";
    rv_err_t err = rv_serde_serialize(serde, out, out_len, topic, data, len, errstr, sizeof errstr);
    if (err)
        rv__log_err("dsl", "Stream-stream join: cannot serialize for %s: %s", topic, errstr);
    return err;
}

static rv_err_t deserialize(void **out, int32_t *out_len, const rv_serde_t *serde,
                            const char *topic, const void *bytes, size_t len) {
    char errstr[256] = "";
    if (len > INT32_MAX)
        return RV_ERR__DESERIALIZATION;
    rv_err_t err = rv_serde_deserialize(serde, out, out_len, topic, bytes, (int32_t)len, errstr,
                                        sizeof errstr);
    if (err)
        rv__log_err("dsl", "Stream-stream join: cannot deserialize from %s: %s", topic, errstr);
    return err;
}

/* ---- KSTREAM-WINDOWED: Kafka's KStreamJoinWindow ---- */

typedef struct window_proc_s {
    const window_cfg_t *c;
    rv_kv_store_t *store;
    const rv_serde_t *ks, *vs;
} window_proc_t;

static rv_err_t window_init(rv_processor_context_t *ctx, void *state) {
    window_proc_t *p = state;
    p->store = open_store(ctx, p->c->store);
    p->ks = rv__dsl_serde(p->c->key_serde, ctx, true);
    p->vs = rv__dsl_serde(p->c->value_serde, ctx, false);
    if (!p->store)
        return RV_ERR__STATE;
    if (!p->ks || !p->vs) {
        rv__log_err("dsl",
                    "Stream-stream join: no serde for store %s (set default.key.serde / "
                    "default.value.serde or the StreamJoined serdes)",
                    p->c->store);
        return RV_ERR__INVALID_ARG;
    }
    return 0;
}

static rv_err_t window_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                               void *state) {
    window_proc_t *p = state;
    rv_err_t err = rv_processor_context_forward(ctx, rec);
    /* A null key never joins, and a null value is no record to join with
     * (a store retaining duplicates ignores it anyway). */
    if (err || !rec->key || !rec->value)
        return err;
    void *kb = NULL, *vb = NULL;
    int32_t kl, vl;
    if (!(err = serialize(&kb, &kl, p->ks, p->c->store, rec->key, rec->key_len)) &&
        !(err = serialize(&vb, &vl, p->vs, p->c->store, rec->value, rec->value_len)))
        err = rv_window_store_put(p->store, kb, (size_t)kl, vb, (size_t)vl, rec->timestamp);
    rv_serde_free(p->ks, kb);
    rv_serde_free(p->vs, vb);
    return err;
}

static void window_close(void *state) {
    free(state);
}

static rv_err_t window_get(rv_processor_t *out, void *config) {
    window_proc_t *p = calloc(1, sizeof *p);
    if (!p)
        return RV_ERR__NOMEM;
    p->c = config;
    out->init = window_init;
    out->process = window_process;
    out->close = window_close;
    out->state = p;
    return 0;
}

/* ---- KSTREAM-JOINTHIS / JOINOTHER: Kafka's KStreamKStreamJoin ---- */

typedef struct join_proc_s {
    const side_cfg_t *c;
    rv_processor_context_t *ctx;
    rv_kv_store_t *other, *outer;
    const rv_serde_t *ks, *this_vs, *other_vs;
    tracker_t *tr;
    int64_t join_before, join_after; /* the window as this side sees it */
    rv_out_t out;
    unsigned char *kbuf; /* outer store keys */
    size_t kbuf_cap;
} join_proc_t;

static rv_err_t join_init(rv_processor_context_t *ctx, void *state) {
    join_proc_t *p = state;
    const join_t *j = p->c->j;
    p->ctx = ctx;
    p->other = open_store(ctx, p->c->left ? j->other_store : j->this_store);
    if (!p->other)
        return RV_ERR__STATE;
    if (j->outer_store && !(p->outer = open_store(ctx, j->outer_store)))
        return RV_ERR__STATE;
    p->ks = rv__dsl_serde(j->key_serde, ctx, true);
    const rv_serde_t *ls = rv__dsl_serde(j->this_serde, ctx, false);
    const rv_serde_t *rs = rv__dsl_serde(j->other_serde, ctx, false);
    p->this_vs = p->c->left ? ls : rs;
    p->other_vs = p->c->left ? rs : ls;
    if (!p->ks || !ls || !rs) {
        rv__log_err("dsl",
                    "Stream-stream join: no serde for store %s (set default.key.serde / "
                    "default.value.serde or the StreamJoined serdes)",
                    j->this_store);
        return RV_ERR__INVALID_ARG;
    }
    p->join_before = p->c->left ? j->before_ms : j->after_ms;
    p->join_after = p->c->left ? j->after_ms : j->before_ms;
    p->tr = tracker_get(j->trackers, rv_processor_context_task_id(ctx));
    if (!p->tr)
        return RV_ERR__NOMEM;
    if (p->outer) {
        const char *v = rv_conf_get(rv_processor_context_app_configs(ctx), EMIT_INTERVAL_CONFIG);
        int64_t iv = EMIT_INTERVAL_DEFAULT;
        if (v) {
            char *end;
            long long n = strtoll(v, &end, 10);
            if (end != v && !*end && n >= 0)
                iv = n;
        }
        p->tr->emit_interval_ms = iv;
    }
    return 0;
}

static void join_close(void *state) {
    join_proc_t *p = state;
    tracker_put(p->c->j->trackers, p->tr);
    rv__out_free(&p->out);
    free(p->kbuf);
    free(p);
}

/* Calls the user's joiner with (left, right) whichever side this is and
 * forwards the result with key and timestamp ts (rec's headers). */
static rv_err_t join_forward(join_proc_t *p, const rv_processor_record_t *rec, const void *key,
                             int32_t key_len, const void *left, int32_t left_len, const void *right,
                             int32_t right_len, int64_t ts) {
    const join_t *j = p->c->j;
    rv__out_reset(&p->out, RV__OUT_VALUE);
    rv_err_t err = j->joiner(&p->out, key, key ? key_len : -1, left, left ? left_len : -1, right,
                             right ? right_len : -1, j->opaque);
    if (err)
        return err;
    rv_processor_record_t fwd = *rec;
    fwd.key = key;
    fwd.key_len = key ? key_len : -1;
    fwd.value = NULL;
    fwd.value_len = -1;
    if (p->out.cnt > 0 && p->out.items[0].value) {
        fwd.value = p->out.items[0].value;
        fwd.value_len = p->out.items[0].value_len;
    }
    fwd.timestamp = ts;
    return rv_processor_context_forward(p->ctx, &fwd);
}

/* Joins this side's value with `other` (NULL: unmatched) in the right
 * argument order. */
static rv_err_t join_this(join_proc_t *p, const rv_processor_record_t *rec, const void *other,
                          int32_t other_len, int64_t ts) {
    if (p->c->left)
        return join_forward(p, rec, rec->key, rec->key_len, rec->value, rec->value_len, other,
                            other_len, ts);
    return join_forward(p, rec, rec->key, rec->key_len, other, other_len, rec->value,
                        rec->value_len, ts);
}

/* The outer store key of (ts, side, key bytes) in p->kbuf. */
static rv_err_t outer_key(join_proc_t *p, int64_t ts, bool left, const void *kb, size_t kl,
                          size_t *len) {
    size_t need = 9 + kl;
    if (need > p->kbuf_cap) {
        unsigned char *n = realloc(p->kbuf, need);
        if (!n)
            return RV_ERR__NOMEM;
        p->kbuf = n;
        p->kbuf_cap = need;
    }
    be64_put(p->kbuf, ts);
    p->kbuf[8] = left ? 1 : 0;
    if (kl)
        memcpy(p->kbuf + 9, kb, kl);
    *len = need;
    return 0;
}

/* Kafka's ListValueStore.put: appends one LeftOrRightValue to the key's
 * list. */
static rv_err_t outer_append(join_proc_t *p, const void *key, size_t key_len, bool left,
                             const void *vb, int32_t vl) {
    rv_bytes_t old = {0};
    rv_err_t err = rv_kv_store_get(&old, p->outer, key, key_len);
    if (err && err != RV_ERR__NOENT)
        return err;
    size_t base = old.data && old.len >= 5 ? old.len : 5;
    size_t len = base + 4 + 1 + (size_t)vl;
    unsigned char *n = malloc(len);
    if (!n) {
        rv_bytes_free(&old);
        return RV_ERR__NOMEM;
    }
    uint32_t cnt = 0;
    if (old.data && old.len >= 5) {
        memcpy(n, old.data, old.len);
        cnt = be32_get(n + 1);
    }
    n[0] = LIST_VARIABLE_SIZE;
    be32_put(n + 1, cnt + 1);
    be32_put(n + base, (uint32_t)(1 + vl));
    n[base + 4] = left ? 1 : 0;
    if (vl > 0)
        memcpy(n + base + 5, vb, (size_t)vl);
    rv_bytes_free(&old);
    err = rv_kv_store_put(p->outer, key, key_len, n, len);
    free(n);
    return err;
}

/* Forwards every element of one expired outer store entry: (left, null)
 * or (null, right), with the entry's key and timestamp. */
static rv_err_t emit_entry(join_proc_t *p, const rv_processor_record_t *rec, const unsigned char *k,
                           size_t kl, const unsigned char *v, size_t vl) {
    const join_t *j = p->c->j;
    int64_t ts = be64_get(k);
    void *key = NULL;
    int32_t key_len = -1;
    rv_err_t err = deserialize(&key, &key_len, p->ks, j->outer_store, k + 9, kl - 9);
    if (err)
        return err;
    if (vl < 5 || v[0] != LIST_VARIABLE_SIZE) {
        rv_serde_free(p->ks, key);
        rv__log_err("dsl", "Stream-stream join: corrupt value in store %s", j->outer_store);
        return RV_ERR__DESERIALIZATION;
    }
    uint32_t cnt = be32_get(v + 1);
    size_t at = 5;
    const rv_serde_t *ls = p->c->left ? p->this_vs : p->other_vs;
    const rv_serde_t *rs = p->c->left ? p->other_vs : p->this_vs;
    for (uint32_t i = 0; !err && i < cnt; i++) {
        if (at + 4 > vl) {
            err = RV_ERR__DESERIALIZATION;
            break;
        }
        uint32_t el = be32_get(v + at);
        at += 4;
        if (el == UINT32_MAX) /* Kafka's null entry; the join never writes one */
            continue;
        if (el < 1 || at + el > vl) {
            err = RV_ERR__DESERIALIZATION;
            break;
        }
        bool left = v[at] == 1;
        const rv_serde_t *vs = left ? ls : rs;
        void *val = NULL;
        int32_t val_len = -1;
        err = deserialize(&val, &val_len, vs, j->outer_store, v + at + 1, el - 1);
        if (!err) {
            if (left)
                err = join_forward(p, rec, key, key_len, val, val_len, NULL, -1, ts);
            else
                err = join_forward(p, rec, key, key_len, NULL, -1, val, val_len, ts);
            rv_serde_free(vs, val);
        }
        at += el;
    }
    if (err == RV_ERR__DESERIALIZATION)
        rv__log_err("dsl", "Stream-stream join: corrupt value in store %s", j->outer_store);
    rv_serde_free(p->ks, key);
    return err;
}

/* Kafka's emitNonJoinedOuterRecords: emits and deletes the outer store's
 * records whose window closed, oldest first. */
static rv_err_t emit_non_joined(join_proc_t *p, const rv_processor_record_t *rec) {
    const join_t *j = p->c->j;
    tracker_t *tr = p->tr;
    /* Only when something may have expired. */
    if (jadd(jadd(tr->min_time, p->join_after), j->grace_ms) >= tr->stream_time)
        return 0;
    /* Throttled by wall-clock time: a performance knob, not semantics. */
    int64_t now = rv_processor_context_current_system_time_ms(p->ctx);
    if (now < tr->next_time_to_emit)
        return 0;
    tr->next_time_to_emit = jadd(now, tr->emit_interval_ms);
    tr->min_time = INT64_MAX;

    rv_kv_iter_t *it = NULL;
    rv_err_t err = rv_kv_store_all(&it, p->outer);
    if (err)
        return err;
    bool left_open = false, right_open = false;
    int r = 0;
    while ((r = rv_kv_iter_next(it)) == 1) {
        size_t kl, vl;
        const unsigned char *k = rv_kv_iter_key(it, &kl);
        const unsigned char *v = rv_kv_iter_value(it, &vl);
        if (kl < 9)
            continue;
        int64_t ts = be64_get(k);
        bool left = k[8] == 1;
        tr->min_time = ts;
        if (left_open && right_open)
            break; /* nothing later can have expired */
        /* A left record waits for right records up to `after` later, a
         * right record for left records up to `before` later. */
        int64_t look = left ? j->after_ms : j->before_ms;
        if (jadd(jadd(tr->min_time, look), j->grace_ms) >= tr->stream_time) {
            if (left)
                left_open = true;
            else
                right_open = true;
            continue;
        }
        if ((err = emit_entry(p, rec, k, kl, v, vl)))
            break;
        /* Deleted once emitted: a failure before this point emits it again
         * (at least once), never loses it. */
        if ((err = rv_kv_store_put(p->outer, k, kl, NULL, 0)))
            break;
    }
    if (!err && r < 0)
        err = (rv_err_t)r;
    rv_kv_iter_destroy(it);
    return err;
}

static rv_err_t join_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                             void *state) {
    join_proc_t *p = state;
    const side_cfg_t *c = p->c;
    const join_t *j = c->j;
    tracker_t *tr = p->tr;
    int64_t ts = rec->timestamp;
    if (ts > tr->stream_time)
        tr->stream_time = ts;

    /* KIP-962: an outer side forwards a null-key record with a value as
     * unmatched. */
    if (c->outer && !rec->key && rec->value)
        return join_this(p, rec, NULL, -1, ts);
    if (!rec->key || !rec->value) {
        warn_skip(ctx);
        return 0;
    }

    rv_err_t err;
    if (p->outer && ts == tr->stream_time && (err = emit_non_joined(p, rec)))
        return err;

    void *kb = NULL;
    int32_t kl;
    if ((err = serialize(&kb, &kl, p->ks, j->this_store, rec->key, rec->key_len)))
        return err;
    int64_t from = ts - p->join_before > 0 ? ts - p->join_before : 0;
    int64_t to = jadd(ts, p->join_after) > 0 ? jadd(ts, p->join_after) : 0;
    rv_window_iter_t *it = NULL;
    if ((err = rv_window_store_fetch(&it, p->other, kb, (size_t)kl, from, to))) {
        rv_serde_free(p->ks, kb);
        return err;
    }
    bool matched = false;
    int r = 0;
    while (!err && (r = rv_window_iter_next(it)) == 1) {
        matched = true;
        int64_t ots = rv_window_iter_window_start(it);
        size_t vl;
        const void *vb = rv_window_iter_value(it, &vl);
        if (p->outer) {
            /* The other record found a partner: it must never come out
             * as unmatched (Kafka's putIfAbsent(otherKey, null)). */
            size_t okl;
            if (!(err = outer_key(p, ots, !c->left, kb, (size_t)kl, &okl))) {
                rv_bytes_t cur = {0};
                err = rv_kv_store_get(&cur, p->outer, p->kbuf, okl);
                if (!err)
                    err = rv_kv_store_put(p->outer, p->kbuf, okl, NULL, 0);
                else if (err == RV_ERR__NOENT)
                    err = 0;
                rv_bytes_free(&cur);
            }
        }
        void *ov = NULL;
        int32_t ol = -1;
        if (!err && !(err = deserialize(&ov, &ol, p->other_vs, j->this_store, vb, vl))) {
            err = join_this(p, rec, ov, ol, ts > ots ? ts : ots);
            rv_serde_free(p->other_vs, ov);
        }
    }
    if (!err && r < 0)
        err = (rv_err_t)r;
    rv_window_iter_destroy(it);

    if (!err && c->outer && !matched) {
        /* A record whose window already ended (it came late) can no longer
         * be matched: it comes out at once. Any other waits in the outer
         * store for a partner or for its window to close. */
        if (!p->outer || to < tr->stream_time) {
            err = join_this(p, rec, NULL, -1, ts);
        } else {
            if (ts < tr->min_time)
                tr->min_time = ts;
            void *vb = NULL;
            int32_t vl;
            size_t okl;
            if (!(err = serialize(&vb, &vl, p->this_vs, j->outer_store, rec->value,
                                  rec->value_len)) &&
                !(err = outer_key(p, ts, c->left, kb, (size_t)kl, &okl)))
                err = outer_append(p, p->kbuf, okl, c->left, vb, vl);
            rv_serde_free(p->this_vs, vb);
        }
    }
    rv_serde_free(p->ks, kb);
    return err;
}

static rv_err_t join_get(rv_processor_t *out, void *config) {
    join_proc_t *p = calloc(1, sizeof *p);
    if (!p)
        return RV_ERR__NOMEM;
    p->c = config;
    out->init = join_init;
    out->process = join_process;
    out->close = join_close;
    out->state = p;
    return 0;
}

/* ---- KSTREAM-MERGE: Kafka's PassThrough ---- */

static rv_err_t merge_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                              void *state) {
    (void)state;
    return rv_processor_context_forward(ctx, rec);
}

static rv_err_t merge_get(rv_processor_t *out, void *config) {
    (void)config;
    out->process = merge_process;
    return 0;
}

/* ======================================================================
 * Builder side: KStreamImpl.doJoin and KStreamImplJoin.join
 * ====================================================================== */

/* Kafka's repartitionForJoin for one side: a generated name reuses the
 * stream's earlier join repartition topic (burning the indexes all the
 * same); a user name makes "<name>-left|right-repartition". */
static rv_kstream_t *repartition_side(rv_kstream_t *s, const char *name, const char *suffix,
                                      const rv_serde_t *key_serde, const rv_serde_t *value_serde) {
    rv_streams_builder_t *b = s->b;
    if (!s->repartition_required)
        return s;
    const rv_serde_t *ks = key_serde ? key_serde : s->key_serde;
    const rv_serde_t *vs = value_serde ? value_serde : s->value_serde;
    if (!name && s->join_repartition_source) {
        char burn[NAME_LEN];
        rv__dsl_name(b, NULL, "KSTREAM-SINK-", burn, sizeof burn);
        rv__dsl_name(b, NULL, "KSTREAM-FILTER-", burn, sizeof burn);
        rv__dsl_name(b, NULL, "KSTREAM-SOURCE-", burn, sizeof burn);
        return rv__kstream_new(b, s->join_repartition_source, ks, vs, false);
    }
    char base[NAME_LEN];
    if (name)
        snprintf(base, sizeof base, "%s%s", name, suffix);
    else
        snprintf(base, sizeof base, "%s", s->node);
    rv_kstream_t *in = rv__kstream_repartition_for(s, base, name == NULL, ks, vs);
    if (in && !name)
        s->join_repartition_source = in->node;
    return in;
}

/* NamedInternal.suffixWithOrElseGet(suffix, builder, prefix): always burns
 * an index; a user name gets the suffix. */
static void join_name(rv_streams_builder_t *b, const char *name, const char *suffix,
                      const char *prefix, char *buf, size_t size) {
    rv__dsl_name(b, NULL, prefix, buf, size);
    if (name) {
        snprintf(buf, size, "%s%s", name, suffix);
        rv__dsl_check_name(b, buf);
    }
}

static rv_store_builder_t *window_store_builder(rv_streams_builder_t *b, const char *name,
                                                const rv_join_windows_t *w, bool logging) {
    char errstr[512] = "";
    if (rv_store_name_validate(name, errstr, sizeof errstr)) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Invalid topology: %s", errstr);
        return NULL;
    }
    int64_t size = w->before_ms + w->after_ms;
    rv_store_builder_t *sb = rv_store_builder_persistent_window(name, size + w->grace_ms, size, 1);
    if (!sb) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    if (!logging)
        rv_store_builder_with_logging_disabled(sb);
    return sb;
}

static rv_err_t add_store(rv_streams_builder_t *b, rv_store_builder_t *sb, const char *processor) {
    char errstr[512] = "";
    rv_err_t err = rv_topology_add_state_store(b->topo, sb, &processor, 1, errstr, sizeof errstr);
    if (err) {
        rv_store_builder_destroy(sb);
        return rv__dsl_topology_fail(b, err, errstr);
    }
    return 0;
}

static rv_err_t connect_stores(rv_streams_builder_t *b, const char *processor,
                               const char *const *stores, size_t cnt) {
    char errstr[512] = "";
    rv_err_t err = rv_topology_connect_processor_and_state_stores(b->topo, processor, stores, cnt,
                                                                  errstr, sizeof errstr);
    return err ? rv__dsl_topology_fail(b, err, errstr) : 0;
}

static rv_kstream_t *do_join(rv_kstream_t *s, rv_kstream_t *other, rv_value_joiner_cb_t *joiner,
                             void *opaque, const rv_join_windows_t *windows,
                             const rv_stream_joined_t *joined, bool left_outer, bool right_outer) {
    if (!s)
        return NULL;
    rv_streams_builder_t *b = s->b;
    if (b->err)
        return NULL;
    if (!other) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "otherStream can't be null");
        return NULL;
    }
    if (other->b != b) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "The two streams of a join must come from one builder");
        return NULL;
    }
    if (!joiner) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "joiner can't be null");
        return NULL;
    }
    if (!windows) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "windows can't be null");
        return NULL;
    }
    if (windows->version != RV_JOIN_WINDOWS_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_join_windows_t version %d",
                     windows->version);
        return NULL;
    }
    if (windows->before_ms + windows->after_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG,
                     "Window interval (ie, beforeMs+afterMs) must not be negative.");
        return NULL;
    }
    if (windows->grace_ms < 0) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Grace period must not be negative.");
        return NULL;
    }
    if (joined && joined->version != RV_STREAM_JOINED_VERSION) {
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Unsupported rv_stream_joined_t version %d",
                     joined->version);
        return NULL;
    }
    const char *name = joined ? joined->name : NULL;
    const char *store_name = joined ? joined->store_name : NULL;
    const rv_serde_t *jks = joined ? joined->key_serde : NULL;
    const rv_serde_t *jvs = joined ? joined->value_serde : NULL;
    const rv_serde_t *jos = joined ? joined->other_value_serde : NULL;
    bool logging = !(joined && joined->logging_disabled);

    rv_kstream_t *lhs = repartition_side(s, name, "-left", jks, jvs);
    if (!lhs)
        return NULL;
    rv_kstream_t *rhs = repartition_side(other, name, "-right", jks, jos);
    if (!rhs)
        return NULL;

    /* Names, in the order Kafka's KStreamImplJoin takes its indexes. */
    const char *this_suffix = right_outer ? "-outer-this-join" : "-this-join";
    const char *other_suffix = left_outer ? "-outer-other-join" : "-other-join";
    char this_win[NAME_LEN], other_win[NAME_LEN], this_gen[NAME_LEN], other_gen[NAME_LEN];
    char this_name[NAME_LEN], other_name[NAME_LEN], merge[NAME_LEN];
    join_name(b, name, "-this-windowed", "KSTREAM-WINDOWED-", this_win, sizeof this_win);
    join_name(b, name, "-other-windowed", "KSTREAM-WINDOWED-", other_win, sizeof other_win);
    rv__dsl_name(b, NULL, right_outer ? "KSTREAM-OUTERTHIS-" : "KSTREAM-JOINTHIS-", this_gen,
                 sizeof this_gen);
    rv__dsl_name(b, NULL, left_outer ? "KSTREAM-OUTEROTHER-" : "KSTREAM-JOINOTHER-", other_gen,
                 sizeof other_gen);
    snprintf(this_name, sizeof this_name, "%s%s", name ? name : this_gen, name ? this_suffix : "");
    snprintf(other_name, sizeof other_name, "%s%s", name ? name : other_gen,
             name ? other_suffix : "");
    join_name(b, name, "-merge", "KSTREAM-MERGE-", merge, sizeof merge);

    char this_store[NAME_LEN + 64], other_store[NAME_LEN + 64], outer_store[NAME_LEN + 64];
    if (store_name) {
        snprintf(this_store, sizeof this_store, "%s%s-store", store_name, this_suffix);
        snprintf(other_store, sizeof other_store, "%s%s-store", store_name, other_suffix);
        snprintf(outer_store, sizeof outer_store, "%s%s-store", store_name,
                 right_outer ? "-outer-shared-join" : "-left-shared-join");
    } else {
        snprintf(this_store, sizeof this_store, "%s-store", this_gen);
        snprintf(other_store, sizeof other_store, "%s-store", other_gen);
        /* KSTREAM-OUTERSHARED- plus the JOINTHIS / OUTERTHIS index. */
        snprintf(outer_store, sizeof outer_store, "KSTREAM-OUTERSHARED-%s-store",
                 this_gen + strlen(right_outer ? "KSTREAM-OUTERTHIS-" : "KSTREAM-JOINTHIS-"));
    }
    if (b->err)
        return NULL;

    join_t *j = rv__dsl_alloc(b, sizeof *j);
    window_cfg_t *twc = rv__dsl_alloc(b, sizeof *twc);
    window_cfg_t *owc = rv__dsl_alloc(b, sizeof *owc);
    side_cfg_t *tsc = rv__dsl_alloc(b, sizeof *tsc);
    side_cfg_t *osc = rv__dsl_alloc(b, sizeof *osc);
    if (!j || !twc || !owc || !tsc || !osc)
        return NULL;
    trackers_t *trs = calloc(1, sizeof *trs);
    if (!trs) {
        rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
        return NULL;
    }
    pthread_mutex_init(&trs->lock, NULL);
    if (!rv__dsl_keep(b, trs, trackers_free))
        return NULL;
    j->this_store = rv__dsl_strdup(b, this_store);
    j->other_store = rv__dsl_strdup(b, other_store);
    j->outer_store = left_outer ? rv__dsl_strdup(b, outer_store) : NULL;
    if (!j->this_store || !j->other_store || (left_outer && !j->outer_store))
        return NULL;
    j->before_ms = windows->before_ms;
    j->after_ms = windows->after_ms;
    j->grace_ms = windows->grace_ms;
    j->joiner = joiner;
    j->opaque = opaque;
    j->key_serde = jks ? jks : lhs->key_serde ? lhs->key_serde : rhs->key_serde;
    j->this_serde = jvs ? jvs : lhs->value_serde;
    j->other_serde = jos ? jos : rhs->value_serde;
    j->trackers = trs;
    *twc = (window_cfg_t){j->this_store, j->key_serde, j->this_serde};
    *owc = (window_cfg_t){j->other_store, j->key_serde, j->other_serde};
    *tsc = (side_cfg_t){j, true, left_outer};
    *osc = (side_cfg_t){j, false, right_outer};

    /* The nodes and stores, as Kafka's StreamStreamJoinNode writes them. */
    const char *p1[] = {lhs->node};
    if (rv__dsl_add_processor(b, this_win, window_get, twc, p1, 1))
        return NULL;
    rv_store_builder_t *sb = window_store_builder(b, this_store, windows, logging);
    if (!sb || add_store(b, sb, this_win))
        return NULL;
    const char *p2[] = {rhs->node};
    if (rv__dsl_add_processor(b, other_win, window_get, owc, p2, 1))
        return NULL;
    sb = window_store_builder(b, other_store, windows, logging);
    if (!sb || add_store(b, sb, other_win))
        return NULL;

    const char *p3[] = {this_win};
    const char *s3[] = {other_store};
    if (rv__dsl_add_processor(b, this_name, join_get, tsc, p3, 1) ||
        connect_stores(b, this_name, s3, 1))
        return NULL;
    if (left_outer) {
        char errstr[512] = "";
        if (rv_store_name_validate(outer_store, errstr, sizeof errstr)) {
            rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Invalid topology: %s", errstr);
            return NULL;
        }
        /* A plain key-value store without cache, logged unless StreamJoined
         * turns logging off (Kafka's OuterStreamJoinStoreFactory). */
        sb = rv_store_builder_persistent_kv(outer_store);
        if (!sb) {
            rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
            return NULL;
        }
        if (!logging)
            rv_store_builder_with_logging_disabled(sb);
        if (add_store(b, sb, this_name))
            return NULL;
    }
    const char *p4[] = {other_win};
    const char *s4[] = {this_store, outer_store};
    if (rv__dsl_add_processor(b, other_name, join_get, osc, p4, 1) ||
        connect_stores(b, other_name, s4, left_outer ? 2 : 1))
        return NULL;
    const char *p5[] = {this_name, other_name};
    if (rv__dsl_add_processor(b, merge, merge_get, NULL, p5, 2))
        return NULL;
    /* No serde stands for the joined values, and the key serde is
     * StreamJoined's only: the two streams' may differ (as Kafka). */
    return rv__kstream_new(b, merge, jks, NULL, false);
}

rv_kstream_t *rv_kstream_join(rv_kstream_t *s, rv_kstream_t *other, rv_value_joiner_cb_t *joiner,
                              void *opaque, const rv_join_windows_t *windows,
                              const rv_stream_joined_t *joined) {
    return do_join(s, other, joiner, opaque, windows, joined, false, false);
}

rv_kstream_t *rv_kstream_left_join(rv_kstream_t *s, rv_kstream_t *other,
                                   rv_value_joiner_cb_t *joiner, void *opaque,
                                   const rv_join_windows_t *windows,
                                   const rv_stream_joined_t *joined) {
    return do_join(s, other, joiner, opaque, windows, joined, true, false);
}

rv_kstream_t *rv_kstream_outer_join(rv_kstream_t *s, rv_kstream_t *other,
                                    rv_value_joiner_cb_t *joiner, void *opaque,
                                    const rv_join_windows_t *windows,
                                    const rv_stream_joined_t *joined) {
    return do_join(s, other, joiner, opaque, windows, joined, true, true);
}
