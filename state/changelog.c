/* state/changelog.c: the logging wrapper of a store (Kafka Streams'
 * ChangeLoggingKeyValueBytesStore).
 *
 * Every put and delete is applied to the wrapped store first and then
 * passed to the change callback, in the order the calls were made; the
 * runtime turns each into a record of <application.id>-<store>-changelog
 * (a delete becomes a tombstone). Deletes are logged even when the key had
 * no value, as Kafka does, so a compacted changelog always ends in the
 * store's state. Reads, iterators, counting and flush go straight to the
 * wrapped store. Restoration writes under this wrapper
 * (rv__store_restore_batch() in state/store.c), so restored records are
 * never logged again. */
#include <stdlib.h>

#include "state/store_internal.h"

typedef struct changelog_s {
    rv_kv_store_t *inner; /* owned */
    rv__change_fn change;
    void *opaque;
} changelog_t;

static rv_err_t cl_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    changelog_t *cl = opaque;
    return rv_kv_store_get(out, cl->inner, key, key_len);
}

static rv_err_t cl_put(void *opaque, const void *key, size_t key_len, const void *value,
                       size_t value_len) {
    changelog_t *cl = opaque;
    rv_err_t err = rv_kv_store_put(cl->inner, key, key_len, value, value_len);
    if (err)
        return err;
    return cl->change(key, key_len, value, value ? value_len : 0, cl->opaque);
}

static rv_err_t cl_put_all(void *opaque, const rv_kv_entry_t *e, size_t cnt) {
    changelog_t *cl = opaque;
    rv_err_t err = rv_kv_store_put_all(cl->inner, e, cnt);
    if (err)
        return err;
    rv_err_t first = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < cnt; i++) {
        /* Log every entry even if one fails: the store holds them all. */
        err = cl->change(e[i].key, e[i].key_len, e[i].value, e[i].value ? e[i].value_len : 0,
                         cl->opaque);
        if (err && !first)
            first = err;
    }
    return first;
}

static rv_err_t fwd_open(void *opaque, void **iter, const void *from, size_t from_len,
                         const void *to, size_t to_len, int reverse) {
    changelog_t *cl = opaque;
    rv_kv_iter_t *it;
    rv_err_t err = reverse ? rv_kv_store_reverse_range(&it, cl->inner, from, from_len, to, to_len)
                           : rv_kv_store_range(&it, cl->inner, from, from_len, to, to_len);
    if (err)
        return err;
    *iter = it;
    return RV_ERR_NO_ERROR;
}

static int fwd_next(void *state, const void **key, size_t *key_len, const void **value,
                    size_t *value_len) {
    rv_kv_iter_t *it = state;
    int r = rv_kv_iter_next(it);
    if (r == 1) {
        *key = rv_kv_iter_key(it, key_len);
        *value = rv_kv_iter_value(it, value_len);
    }
    return r;
}

static void fwd_close(void *state) {
    rv_kv_iter_destroy(state);
}

static int64_t cl_count(void *opaque) {
    changelog_t *cl = opaque;
    return rv_kv_store_approximate_num_entries(cl->inner);
}

static rv_err_t cl_flush(void *opaque) {
    changelog_t *cl = opaque;
    return rv_kv_store_flush(cl->inner);
}

static void cl_close(void *opaque) {
    changelog_t *cl = opaque;
    rv_kv_store_destroy(cl->inner);
    free(cl);
}

static const rv_kv_store_ops_t cl_ops = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 0, /* replaced by the inner store's flag below */
    .get = cl_get,
    .put = cl_put,
    .put_all = cl_put_all,
    .iter_open = fwd_open,
    .iter_next = fwd_next,
    .iter_close = fwd_close,
    .approximate_num_entries = cl_count,
    .flush = cl_flush,
    .close = cl_close,
};

static const rv_kv_store_ops_t cl_ops_persistent = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 1,
    .get = cl_get,
    .put = cl_put,
    .put_all = cl_put_all,
    .iter_open = fwd_open,
    .iter_next = fwd_next,
    .iter_close = fwd_close,
    .approximate_num_entries = cl_count,
    .flush = cl_flush,
    .close = cl_close,
};

rv_err_t rv__changelog_wrap(rv_kv_store_t **out, rv_kv_store_t *inner, rv__change_fn change,
                            void *opaque) {
    *out = NULL;
    if (!inner || !change)
        return RV_ERR__INVALID_ARG;
    changelog_t *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return RV_ERR__NOMEM;
    cl->inner = inner;
    cl->change = change;
    cl->opaque = opaque;
    rv_err_t err =
        rv__kv_store_new(out, rv_kv_store_persistent(inner) ? &cl_ops_persistent : &cl_ops, cl,
                         rv_kv_store_name(inner), RV__STORE_CHANGELOG, inner);
    if (err)
        free(cl);
    return err;
}
