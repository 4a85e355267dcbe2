/* dsl/table_store.c: the store of a materialized KTable node (KTable
 * sources, filters and joins that are materialized, aggregation results):
 * rows in Kafka's timestamped layout and the forwarding of their Changes,
 * as Kafka Streams' TimestampedKeyValueStore plus TimestampedTupleForwarder
 * and TimestampedCacheFlushListener do it. The contract is in
 * dsl/dsl_internal.h.
 *
 * DESIGN
 *
 * Layout. Key: the key serialized with the key serde. Value: the 8-byte
 * big-endian timestamp of the row, then the value serialized with the
 * value serde (Kafka's ValueAndTimestampSerializer). A deleted row has no
 * entry.
 *
 * Forwarding. Without a record cache every put forwards its Change at once.
 * With one, the put only reaches the cache, and the cache's flush listener
 * (runtime/flush_listener.h) forwards the Change when the entry is flushed
 * (commit) or evicted: the new row with its own timestamp, the old row
 * from the wrapped store when old values are wanted. A cached delete keeps
 * no value, so its timestamp (the deleting record's, which Kafka keeps in
 * the cache entry's record context) waits in `pending_deletes` until the
 * delete is flushed. */
#include <stdlib.h>
#include <string.h>

#include "common/errstr.h"
#include "common/logger.h"
#include "dsl/dsl_internal.h"
#include "state/skiplist.h"
#include "state/store_internal.h"

rv_err_t rv__vt_encode(void **out, size_t *out_len, const rv_serde_t *serde, const char *topic,
                       const void *value, int32_t value_len, int64_t timestamp, char *errstr,
                       size_t errstr_size) {
    *out = NULL;
    *out_len = 0;
    if (!value)
        return RV_ERR_NO_ERROR;
    void *bytes = NULL;
    int32_t len = 0;
    rv_err_t err =
        rv_serde_serialize(serde, &bytes, &len, topic, value, value_len, errstr, errstr_size);
    if (err)
        return err;
    if (len < 0) /* a serializer that made null of a value: store it empty */
        len = 0;
    uint8_t *p = malloc(8 + (size_t)len);
    if (!p) {
        rv_serde_free(serde, bytes);
        return RV_ERR__NOMEM;
    }
    rv_serde_int64_write(p, timestamp);
    if (len)
        memcpy(p + 8, bytes, (size_t)len);
    rv_serde_free(serde, bytes);
    *out = p;
    *out_len = 8 + (size_t)len;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__vt_decode(void **value, int32_t *value_len, int64_t *timestamp,
                       const rv_serde_t *serde, const char *topic, const void *stored,
                       size_t stored_len, char *errstr, size_t errstr_size) {
    *value = NULL;
    *value_len = -1;
    *timestamp = -1;
    if (stored_len < 8 || stored_len - 8 > INT32_MAX) {
        rv__errstr_set(errstr, errstr_size,
                       "A table store value of %zu bytes is shorter than its 8-byte timestamp",
                       stored_len);
        return RV_ERR__DESERIALIZATION;
    }
    rv_serde_int64_read(timestamp, stored, 8);
    return rv_serde_deserialize(serde, value, value_len, topic, (const uint8_t *)stored + 8,
                                (int32_t)(stored_len - 8), errstr, errstr_size);
}

/* Forwards Change{new, old} for key with timestamp from the processor of
 * ts->ctx. */
static rv_err_t forward_change(rv__table_store_t *ts, const void *key, int32_t key_len,
                               const void *new_value, int32_t new_len, const void *old_value,
                               int32_t old_len, int64_t timestamp) {
    rv__change_t change = {new_value, new_len, NULL, -1};
    if (ts->send_old_values) {
        change.old_value = old_value;
        change.old_len = old_value ? old_len : -1;
    }
    rv_processor_record_t rec = {key, key_len, &change, (int32_t)sizeof change, timestamp, NULL, 0};
    return rv_processor_context_forward(ts->ctx, &rec);
}

/* ---- Deletes waiting in the cache ---- */

static rv__skl_t *pending(rv__table_store_t *ts) {
    return ts->pending_deletes;
}

static rv_err_t pending_put(rv__table_store_t *ts, const void *kb, size_t kl, int64_t timestamp) {
    rv__skl_node_t *n;
    int created;
    rv_err_t err = rv__skl_upsert(pending(ts), kb, kl, &n, &created);
    if (err)
        return err;
    if (created && !(n->val = malloc(sizeof(int64_t)))) {
        rv__skl_remove(pending(ts), kb, kl);
        return RV_ERR__NOMEM;
    }
    *(int64_t *)n->val = timestamp;
    return RV_ERR_NO_ERROR;
}

/* The timestamp of the cached delete of kb, forgotten; -1 when none. */
static int64_t pending_take(rv__table_store_t *ts, const void *kb, size_t kl) {
    int64_t *p = rv__skl_remove(pending(ts), kb, kl);
    int64_t v = p ? *p : -1;
    free(p);
    return v;
}

/* Whether the store under the cache holds kb: only the flush of such a
 * key's delete calls the listener. That store changes only by this
 * cache's own flushes, so the answer holds until the delete is flushed. */
static rv_err_t wrapped_has(bool *has, rv__table_store_t *ts, const void *kb, size_t kl) {
    *has = false;
    rv_kv_store_t *inner = rv__store_inner(ts->binding.cache);
    if (!inner) {
        *has = true; /* cannot tell: keep the timestamp */
        return RV_ERR_NO_ERROR;
    }
    rv_bytes_t v = {0};
    rv_err_t err = rv_kv_store_get(&v, inner, kb, kl);
    if (err == RV_ERR__NOENT)
        return RV_ERR_NO_ERROR;
    if (err)
        return err;
    rv_bytes_free(&v);
    *has = true;
    return RV_ERR_NO_ERROR;
}

/* A put that overwrites a cached delete makes its timestamp moot. */
static void pending_drop(rv__table_store_t *ts, const void *kb, size_t kl) {
    if (pending(ts)->count)
        free(rv__skl_remove(pending(ts), kb, kl));
}

/* ---- The flush listener ---- */

static rv_err_t on_flush(rv_processor_context_t *ctx, const void *kb, size_t kl,
                         const void *new_stored, size_t new_len, const void *old_stored,
                         size_t old_len, void *opaque) {
    rv__table_store_t *ts = opaque;
    (void)ctx;
    char msg[512] = "";
    void *key = NULL, *nv = NULL, *ov = NULL;
    int32_t key_len = -1, nl = -1, ol = -1;
    int64_t timestamp = -1, old_ts;
    rv_err_t err = kl > INT32_MAX ? RV_ERR__DESERIALIZATION
                                  : rv_serde_deserialize(ts->key_serde, &key, &key_len, NULL, kb,
                                                         (int32_t)kl, msg, sizeof msg);
    if (!err && new_stored)
        err = rv__vt_decode(&nv, &nl, &timestamp, ts->value_serde, NULL, new_stored, new_len, msg,
                            sizeof msg);
    else if (!err)
        timestamp = pending_take(ts, kb, kl);
    if (timestamp < 0)
        timestamp = rv_processor_context_current_stream_time_ms(ts->ctx);
    if (!err && old_stored && ts->send_old_values)
        err = rv__vt_decode(&ov, &ol, &old_ts, ts->value_serde, NULL, old_stored, old_len, msg,
                            sizeof msg);
    if (!err)
        err = forward_change(ts, key, key_len, nv, nl, ov, ol, timestamp);
    else
        rv__log_err("dsl", "Failed to read a flushed row of a table store: %s",
                    msg[0] ? msg : rv_err_str(err));
    rv_serde_free(ts->key_serde, key);
    rv_serde_free(ts->value_serde, nv);
    rv_serde_free(ts->value_serde, ov);
    return err;
}

/* ---- The table store ---- */

rv_err_t rv__table_store_init(rv__table_store_t *ts, rv_processor_context_t *ctx,
                              const char *store_name, const rv_serde_t *key_serde,
                              const rv_serde_t *value_serde, bool send_old_values) {
    ts->ctx = ctx;
    ts->store = rv_processor_context_get_state_store(ctx, store_name);
    if (!ts->store)
        return RV_ERR__INVALID_ARG;
    ts->key_serde = rv__dsl_serde(key_serde, ctx, true);
    ts->value_serde = rv__dsl_serde(value_serde, ctx, false);
    if (!ts->key_serde || !ts->value_serde) {
        rv__log_err("dsl",
                    "Store %s has no serde: set one in the DSL call or default.key.serde / "
                    "default.value.serde",
                    store_name);
        return RV_ERR__INVALID_ARG;
    }
    ts->send_old_values = send_old_values;
    rv__skl_t *p = calloc(1, sizeof *p);
    if (!p || rv__skl_init(p)) {
        free(p);
        return RV_ERR__NOMEM;
    }
    ts->pending_deletes = p;
    return rv__flush_listener_set(&ts->cached, &ts->binding, ctx, store_name, send_old_values,
                                  on_flush, ts);
}

/* Serializes key with the key serde into *kb (caller frees with
 * rv_serde_free(ts->key_serde, *kb)); logs a failure. */
static rv_err_t key_bytes(rv__table_store_t *ts, void **kb, int32_t *kl, const void *key,
                          int32_t key_len) {
    char msg[512] = "";
    rv_err_t err = rv_serde_serialize(ts->key_serde, kb, kl, NULL, key, key_len, msg, sizeof msg);
    if (!err && !*kb) {
        rv__errstr_set(msg, sizeof msg, "a null key has no row");
        err = RV_ERR__INVALID_ARG;
    }
    if (err)
        rv__log_err("dsl", "Failed to serialize the key of a table store row: %s",
                    msg[0] ? msg : rv_err_str(err));
    return err;
}

rv_err_t rv__table_store_get(rv__table_store_t *ts, void **value, int32_t *value_len,
                             int64_t *timestamp, const void *key, int32_t key_len) {
    *value = NULL;
    *value_len = -1;
    *timestamp = -1;
    void *kb;
    int32_t kl;
    rv_err_t err = key_bytes(ts, &kb, &kl, key, key_len);
    if (err)
        return err;
    rv_bytes_t stored = {0};
    err = rv_kv_store_get(&stored, ts->store, kb, (size_t)kl);
    rv_serde_free(ts->key_serde, kb);
    if (err == RV_ERR__NOENT)
        return RV_ERR_NO_ERROR;
    if (err)
        return err;
    char msg[512] = "";
    err = rv__vt_decode(value, value_len, timestamp, ts->value_serde, NULL, stored.data, stored.len,
                        msg, sizeof msg);
    if (err)
        rv__log_err("dsl", "Failed to read a row of table store %s: %s",
                    rv_kv_store_name(ts->store), msg);
    rv_bytes_free(&stored);
    return err;
}

rv_err_t rv__table_store_put(rv__table_store_t *ts, const void *key, int32_t key_len,
                             const void *value, int32_t value_len, int64_t timestamp,
                             const void *old_value, int32_t old_len) {
    void *kb;
    int32_t kl;
    rv_err_t err = key_bytes(ts, &kb, &kl, key, key_len);
    if (err)
        return err;
    if (!value) {
        /* The timestamp waits before the delete: a full cache may evict
         * (and so flush) the delete inside the call. Only a delete of a
         * key the wrapped store holds reaches the listener (the cache
         * drops the others, as Kafka's does), so only such a delete keeps
         * one; any other would never be taken and pile up. */
        bool wait = false;
        if (ts->cached)
            err = wrapped_has(&wait, ts, kb, (size_t)kl);
        if (!err && wait)
            err = pending_put(ts, kb, (size_t)kl, timestamp);
        if (!err)
            err = rv_kv_store_delete(NULL, ts->store, kb, (size_t)kl);
        if (err && ts->cached)
            pending_drop(ts, kb, (size_t)kl);
    } else {
        void *stored;
        size_t stored_len;
        char msg[512] = "";
        err = rv__vt_encode(&stored, &stored_len, ts->value_serde, NULL, value, value_len,
                            timestamp, msg, sizeof msg);
        if (err)
            rv__log_err("dsl", "Failed to serialize a row of table store %s: %s",
                        rv_kv_store_name(ts->store), msg[0] ? msg : rv_err_str(err));
        else
            err = rv_kv_store_put(ts->store, kb, (size_t)kl, stored, stored_len);
        free(stored);
        if (!err && ts->cached)
            pending_drop(ts, kb, (size_t)kl);
    }
    rv_serde_free(ts->key_serde, kb);
    if (err || ts->cached)
        return err;
    return forward_change(ts, key, key_len, value, value ? value_len : -1, old_value, old_len,
                          timestamp);
}

void rv__table_store_close(rv__table_store_t *ts) {
    rv__flush_listener_clear(&ts->binding);
    rv__skl_t *p = ts->pending_deletes;
    if (p) {
        for (rv__skl_node_t *n = rv__skl_first(p); n; n = n->next[0])
            free(n->val);
        rv__skl_free(p);
        free(p);
    }
    ts->pending_deletes = NULL;
}
