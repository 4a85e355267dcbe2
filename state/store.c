/* state/store.c: the key-value store interface of rivulet/store.h over the
 * ops of each store kind, the store builders (Kafka's Stores), and
 * restoring changelog records into a store stack.
 *
 * Every store, inner or wrapper, runs an rv_kv_store_ops_t. This file adds
 * what is common to all of them: put_if_absent and delete built from get
 * and put (a store belongs to one thread, so get-then-put is atomic enough,
 * as in Kafka's RocksDBStore), the from > to rule of ranges, the list of
 * open iterators that closing a store closes first (Kafka's openIterators),
 * and counting entries by a scan for stores that cannot estimate. The kinds
 * live in memory_store.c, rocksdb_store.c, changelog.c and cache.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "state/store_internal.h"

struct rv_kv_store_s {
    char *name;
    const rv_kv_store_ops_t *ops;
    void *opaque;
    rv__store_kind_t kind;
    rv_kv_store_t *inner; /* borrowed: the wrapper's opaque owns it */
    rv_kv_iter_t *iters;  /* open iterators, closed before the store */
};

struct rv_kv_iter_s {
    rv_kv_store_t *store; /* NULL once the store closed the iterator */
    void *state;          /* ops iterator; NULL for an empty range */
    rv_kv_iter_t *prev, *next;
    const void *key, *value;
    size_t key_len, value_len;
    int err; /* sticky error, or 1 at the end */
};

void rv_bytes_free(rv_bytes_t *b) {
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

int rv__key_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

rv_err_t rv__kv_store_new(rv_kv_store_t **out, const rv_kv_store_ops_t *ops, void *opaque,
                          const char *name, rv__store_kind_t kind, rv_kv_store_t *inner) {
    *out = NULL;
    rv_kv_store_t *s = calloc(1, sizeof(*s));
    if (!s)
        return RV_ERR__NOMEM;
    s->name = strdup(name);
    if (!s->name) {
        free(s);
        return RV_ERR__NOMEM;
    }
    s->ops = ops;
    s->opaque = opaque;
    s->kind = kind;
    s->inner = inner;
    *out = s;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_kv_store_new_custom(rv_kv_store_t **out, const rv_kv_store_ops_t *ops, void *opaque,
                                const char *name) {
    if (out)
        *out = NULL;
    if (!out || !ops || !name || !*name || ops->version != RV_KV_STORE_OPS_VERSION || !ops->get ||
        !ops->put || !ops->iter_open || !ops->iter_next || !ops->iter_close)
        return RV_ERR__INVALID_ARG;
    return rv__kv_store_new(out, ops, opaque, name, RV__STORE_INNER, NULL);
}

rv__store_kind_t rv__store_kind(const rv_kv_store_t *s) {
    return s->kind;
}
rv_kv_store_t *rv__store_inner(const rv_kv_store_t *s) {
    return s->inner;
}
void *rv__store_opaque(const rv_kv_store_t *s) {
    return s->opaque;
}
const rv_kv_store_ops_t *rv__store_ops(const rv_kv_store_t *s) {
    return s->ops;
}
const char *rv_kv_store_name(const rv_kv_store_t *s) {
    return s->name;
}
int rv_kv_store_persistent(const rv_kv_store_t *s) {
    return s->ops->persistent ? 1 : 0;
}

static void iter_close_state(rv_kv_iter_t *it) {
    rv_kv_store_t *s = it->store;
    if (!s)
        return;
    if (it->state)
        s->ops->iter_close(it->state);
    it->state = NULL;
    if (it->prev)
        it->prev->next = it->next;
    else
        s->iters = it->next;
    if (it->next)
        it->next->prev = it->prev;
    it->prev = it->next = NULL;
    it->store = NULL;
    /* The current entry was borrowed from the state just closed: forget it
     * so rv_kv_iter_key/value never hand out a dangling pointer. */
    it->key = it->value = NULL;
    it->key_len = it->value_len = 0;
}

void rv_kv_store_destroy(rv_kv_store_t *s) {
    if (!s)
        return;
    while (s->iters) {
        rv_kv_iter_t *it = s->iters;
        iter_close_state(it);
        if (!it->err)
            it->err = RV_ERR__STATE;
    }
    if (s->ops->close)
        s->ops->close(s->opaque);
    free(s->name);
    free(s);
}

rv_err_t rv_kv_store_get(rv_bytes_t *out, rv_kv_store_t *s, const void *key, size_t key_len) {
    out->data = NULL;
    out->len = 0;
    rv_err_t err = s->ops->get(s->opaque, out, key, key_len);
    if (err) {
        free(out->data);
        out->data = NULL;
        out->len = 0;
    }
    return err;
}

rv_err_t rv_kv_store_put(rv_kv_store_t *s, const void *key, size_t key_len, const void *value,
                         size_t value_len) {
    return s->ops->put(s->opaque, key, key_len, value, value_len);
}

rv_err_t rv_kv_store_put_if_absent(rv_bytes_t *existing, rv_kv_store_t *s, const void *key,
                                   size_t key_len, const void *value, size_t value_len) {
    rv_bytes_t cur;
    rv_err_t err = rv_kv_store_get(&cur, s, key, key_len);
    if (existing) {
        existing->data = NULL;
        existing->len = 0;
    }
    if (err == RV_ERR_NO_ERROR) {
        if (existing)
            *existing = cur;
        else
            rv_bytes_free(&cur);
        return RV_ERR_NO_ERROR;
    }
    if (err != RV_ERR__NOENT)
        return err;
    return s->ops->put(s->opaque, key, key_len, value, value_len);
}

rv_err_t rv_kv_store_delete(rv_bytes_t *old, rv_kv_store_t *s, const void *key, size_t key_len) {
    rv_bytes_t cur = {NULL, 0};
    if (old) {
        old->data = NULL;
        old->len = 0;
        rv_err_t err = rv_kv_store_get(&cur, s, key, key_len);
        if (err && err != RV_ERR__NOENT)
            return err;
    }
    rv_err_t err = s->ops->put(s->opaque, key, key_len, NULL, 0);
    if (err) {
        rv_bytes_free(&cur);
        return err;
    }
    if (old)
        *old = cur;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_kv_store_put_all(rv_kv_store_t *s, const rv_kv_entry_t *entries, size_t cnt) {
    if (cnt == 0)
        return RV_ERR_NO_ERROR;
    if (s->ops->put_all)
        return s->ops->put_all(s->opaque, entries, cnt);
    for (size_t i = 0; i < cnt; i++) {
        rv_err_t err = s->ops->put(s->opaque, entries[i].key, entries[i].key_len, entries[i].value,
                                   entries[i].value_len);
        if (err)
            return err;
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t iter_open(rv_kv_iter_t **out, rv_kv_store_t *s, const void *from, size_t from_len,
                          const void *to, size_t to_len, int reverse) {
    *out = NULL;
    rv_kv_iter_t *it = calloc(1, sizeof(*it));
    if (!it)
        return RV_ERR__NOMEM;
    if (from && to && rv__key_cmp(from, from_len, to, to_len) > 0) {
        /* Kafka returns an empty iterator here and warns: the bounds are
         * probably swapped, or the serde does not keep order. */
        rv__log_warn("STORE",
                     "Returning empty iterator for range query on store %s: the "
                     "from key is bigger than the to key",
                     s->name);
        it->err = 1;
    } else {
        rv_err_t err =
            s->ops->iter_open(s->opaque, &it->state, from, from_len, to, to_len, reverse);
        if (err) {
            free(it);
            return err;
        }
    }
    it->store = s;
    it->next = s->iters;
    if (s->iters)
        s->iters->prev = it;
    s->iters = it;
    *out = it;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_kv_store_range(rv_kv_iter_t **out, rv_kv_store_t *s, const void *from, size_t from_len,
                           const void *to, size_t to_len) {
    return iter_open(out, s, from, from_len, to, to_len, 0);
}
rv_err_t rv_kv_store_reverse_range(rv_kv_iter_t **out, rv_kv_store_t *s, const void *from,
                                   size_t from_len, const void *to, size_t to_len) {
    return iter_open(out, s, from, from_len, to, to_len, 1);
}
rv_err_t rv_kv_store_all(rv_kv_iter_t **out, rv_kv_store_t *s) {
    return iter_open(out, s, NULL, 0, NULL, 0, 0);
}
rv_err_t rv_kv_store_reverse_all(rv_kv_iter_t **out, rv_kv_store_t *s) {
    return iter_open(out, s, NULL, 0, NULL, 0, 1);
}

int rv_kv_iter_next(rv_kv_iter_t *it) {
    it->key = it->value = NULL;
    it->key_len = it->value_len = 0;
    if (it->err)
        return it->err == 1 ? 0 : it->err;
    if (!it->store) {
        it->err = RV_ERR__STATE;
        return it->err;
    }
    int r =
        it->store->ops->iter_next(it->state, &it->key, &it->key_len, &it->value, &it->value_len);
    if (r == 1) {
        /* An empty key or value is a valid pointer with length 0, whatever
         * the store kind hands out. */
        if (!it->key) {
            it->key = "";
            it->key_len = 0;
        }
        if (!it->value) {
            it->value = "";
            it->value_len = 0;
        }
    } else if (r == 0) {
        it->err = 1;
    } else {
        it->err = r;
    }
    return r;
}

const void *rv_kv_iter_key(const rv_kv_iter_t *it, size_t *len) {
    if (len)
        *len = it->key_len;
    return it->key;
}
const void *rv_kv_iter_value(const rv_kv_iter_t *it, size_t *len) {
    if (len)
        *len = it->value_len;
    return it->value;
}

void rv_kv_iter_destroy(rv_kv_iter_t *it) {
    if (!it)
        return;
    iter_close_state(it);
    free(it);
}

int64_t rv_kv_store_approximate_num_entries(rv_kv_store_t *s) {
    if (s->ops->approximate_num_entries)
        return s->ops->approximate_num_entries(s->opaque);
    rv_kv_iter_t *it;
    if (rv_kv_store_all(&it, s))
        return -1;
    int64_t n = 0;
    int r;
    while ((r = rv_kv_iter_next(it)) == 1)
        n++;
    rv_kv_iter_destroy(it);
    return r < 0 ? -1 : n;
}

rv_err_t rv_kv_store_flush(rv_kv_store_t *s) {
    return s->ops->flush ? s->ops->flush(s->opaque) : RV_ERR_NO_ERROR;
}

/* ---- Restoration ---- */

rv_err_t rv__store_restore_batch(rv_kv_store_t *store, const rv_kv_entry_t *records, size_t cnt) {
    rv_kv_store_t *s = store;
    while (s->inner) {
        if (s->kind == RV__STORE_CACHE)
            for (size_t i = 0; i < cnt; i++)
                rv__cache_drop_key(s, records[i].key, records[i].key_len);
        s = s->inner;
    }
    return rv_kv_store_put_all(s, records, cnt);
}

/* ---- Builders ---- */

typedef enum {
    BUILDER_ROCKSDB,
    BUILDER_MEMORY,
    BUILDER_CUSTOM,
    BUILDER_WINDOW, /* window and session stores: see `window` */
    BUILDER_SESSION
} builder_kind_t;

struct rv_store_builder_s {
    char *name;
    builder_kind_t kind;
    rv_store_open_fn open_fn;
    void *opaque;
    int logging, caching;
    char **log_config; /* 2 * log_config_cnt strings */
    size_t log_config_cnt;
    rv__segmented_conf_t window; /* BUILDER_WINDOW, BUILDER_SESSION */
    int timestamped;             /* values start with an 8-byte timestamp */
};

/* A store's name becomes a folder (<task dir>/rocksdb/<name>) and part of a
 * topic (<application.id>-<name>-changelog), so it is held to Kafka's rules
 * for topic names and for the names Kafka Streams' Named.validate() accepts:
 * 1 to 249 of [a-zA-Z0-9._-], not "." nor "..". That also keeps it from
 * leaving the task's folder. The messages are Kafka's, with the name. */
#define RV__STORE_NAME_MAX 249

rv_err_t rv_store_name_validate(const char *name, char *errstr, size_t errstr_size) {
    if (!name || !*name) {
        rv__errstr_set(errstr, errstr_size, "Name is illegal, it can't be empty");
        return RV_ERR__INVALID_ARG;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        rv__errstr_set(errstr, errstr_size, "Name \"%s\" is illegal, it cannot be \".\" or \"..\"",
                       name);
        return RV_ERR__INVALID_ARG;
    }
    size_t len = strlen(name);
    if (len > RV__STORE_NAME_MAX) {
        rv__errstr_set(errstr, errstr_size,
                       "Name is illegal, it can't be longer than %d characters, name: %s",
                       RV__STORE_NAME_MAX, name);
        return RV_ERR__INVALID_ARG;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            rv__errstr_set(errstr, errstr_size,
                           "Name \"%s\" is illegal, it contains a character other than ASCII "
                           "alphanumerics, '.', '_' and '-'",
                           name);
            return RV_ERR__INVALID_ARG;
        }
    }
    return RV_ERR_NO_ERROR;
}

static rv_store_builder_t *builder_new(const char *name, builder_kind_t kind) {
    if (!name)
        return NULL;
    char why[512];
    if (rv_store_name_validate(name, why, sizeof why)) {
        /* The constructor has no errstr: say why in the log. */
        rv__log_warn("STORE", "cannot create a store builder: %s", why);
        return NULL;
    }
    rv_store_builder_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->name = strdup(name);
    if (!b->name) {
        free(b);
        return NULL;
    }
    b->kind = kind;
    b->logging = 1; /* Kafka's StoreBuilder default */
    b->caching = 0;
    return b;
}

rv_store_builder_t *rv_store_builder_persistent_kv(const char *name) {
    return builder_new(name, BUILDER_ROCKSDB);
}
rv_store_builder_t *rv_store_builder_in_memory_kv(const char *name) {
    return builder_new(name, BUILDER_MEMORY);
}
rv_store_builder_t *rv_store_builder_custom(const char *name, rv_store_open_fn open_fn,
                                            void *opaque) {
    if (!open_fn)
        return NULL;
    rv_store_builder_t *b = builder_new(name, BUILDER_CUSTOM);
    if (b) {
        b->open_fn = open_fn;
        b->opaque = opaque;
    }
    return b;
}

static void free_log_config(char **cfg, size_t cnt) {
    for (size_t i = 0; cfg && i < 2 * cnt; i++)
        free(cfg[i]);
    free(cfg);
}

void rv_store_builder_destroy(rv_store_builder_t *b) {
    if (!b)
        return;
    free_log_config(b->log_config, b->log_config_cnt);
    free(b->name);
    free(b);
}

static size_t windowed_log_defaults(const rv_store_builder_t *b, const char *const *configs,
                                    size_t cnt, const char *names[2], char values[2][32]);

rv_err_t rv_store_builder_with_logging_enabled(rv_store_builder_t *b, const char *const *configs,
                                               size_t cnt) {
    /* Window and session builders keep Kafka's windowed changelog defaults
     * (WindowedChangelogTopicConfig) for the keys `configs` leaves out. */
    const char *dn[2];
    char dv[2][32];
    size_t extra = windowed_log_defaults(b, configs, cnt, dn, dv);
    char **cfg = NULL;
    if (cnt + extra) {
        cfg = calloc(2 * (cnt + extra), sizeof(*cfg));
        if (!cfg)
            return RV_ERR__NOMEM;
        for (size_t i = 0; i < extra; i++) {
            cfg[2 * (cnt + i)] = strdup(dn[i]);
            cfg[2 * (cnt + i) + 1] = strdup(dv[i]);
            if (!cfg[2 * (cnt + i)] || !cfg[2 * (cnt + i) + 1]) {
                free_log_config(cfg, cnt + extra);
                return RV_ERR__NOMEM;
            }
        }
    }
    if (cnt) {
        for (size_t i = 0; i < 2 * cnt; i++) {
            if (!configs[i]) {
                free_log_config(cfg, cnt + extra);
                return RV_ERR__INVALID_ARG;
            }
            cfg[i] = strdup(configs[i]);
            if (!cfg[i]) {
                free_log_config(cfg, cnt + extra);
                return RV_ERR__NOMEM;
            }
        }
    }
    free_log_config(b->log_config, b->log_config_cnt);
    b->log_config = cfg;
    b->log_config_cnt = cnt + extra;
    b->logging = 1;
    return RV_ERR_NO_ERROR;
}

void rv_store_builder_with_logging_disabled(rv_store_builder_t *b) {
    b->logging = 0;
}
void rv_store_builder_with_caching_enabled(rv_store_builder_t *b) {
    if (b->kind == BUILDER_WINDOW && b->window.retain_duplicates) {
        /* As Kafka's WindowStoreBuilder: a cache would merge duplicates. */
        rv__log_warn("STORE",
                     "Disabling caching for %s since store was configured to retain "
                     "duplicates",
                     b->name);
        return;
    }
    b->caching = 1;
}
void rv_store_builder_with_caching_disabled(rv_store_builder_t *b) {
    b->caching = 0;
}
const char *rv_store_builder_name(const rv_store_builder_t *b) {
    return b->name;
}
int rv_store_builder_logging_enabled(const rv_store_builder_t *b) {
    return b->logging;
}
int rv_store_builder_caching_enabled(const rv_store_builder_t *b) {
    return b->caching;
}
int rv_store_builder_persistent(const rv_store_builder_t *b) {
    if (b->kind == BUILDER_WINDOW || b->kind == BUILDER_SESSION)
        return b->window.persistent ? 1 : 0;
    return b->kind == BUILDER_ROCKSDB ? 1 : b->kind == BUILDER_MEMORY ? 0 : -1;
}
void rv__store_builder_set_timestamped(rv_store_builder_t *b) {
    b->timestamped = 1;
}
int rv__store_builder_timestamped(const rv_store_builder_t *b) {
    return b->timestamped;
}
const char *const *rv_store_builder_logging_config(const rv_store_builder_t *b, size_t *cnt) {
    if (cnt)
        *cnt = b->log_config_cnt;
    return (const char *const *)b->log_config;
}

/* ---- Window and session builders (Stores.persistentWindowStore, ...) ---- */

/* Kafka's WindowedChangelogTopicConfig defaults, for the keys `configs`
 * does not set: cleanup.policy=compact,delete (delete alone when the store
 * retains duplicates, as Kafka's WindowStoreBuilder: unique keys leave
 * nothing to compact) and retention.ms = retention +
 * windowstore.changelog.additional.retention.ms. */
static size_t windowed_log_defaults(const rv_store_builder_t *b, const char *const *configs,
                                    size_t cnt, const char *names[2], char values[2][32]) {
    if (b->kind != BUILDER_WINDOW && b->kind != BUILDER_SESSION)
        return 0;
    int has_policy = 0, has_retention = 0;
    for (size_t i = 0; configs && i < cnt; i++) {
        if (configs[2 * i] && !strcmp(configs[2 * i], "cleanup.policy"))
            has_policy = 1;
        if (configs[2 * i] && !strcmp(configs[2 * i], "retention.ms"))
            has_retention = 1;
    }
    size_t n = 0;
    if (!has_policy) {
        names[n] = "cleanup.policy";
        snprintf(values[n++], 32, "%s", b->window.retain_duplicates ? "delete" : "compact,delete");
    }
    if (!has_retention) {
        names[n] = "retention.ms";
        snprintf(
            values[n++], 32, "%lld",
            (long long)(b->window.retention_ms + RV__WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS));
    }
    return n;
}

static rv_store_builder_t *windowed_builder_new(const char *name, builder_kind_t kind,
                                                int persistent, int64_t retention_ms,
                                                int64_t window_size_ms, int retain_duplicates) {
    /* Kafka's Stores checks, with its messages. */
    const char *why = NULL;
    char msg[512];
    if (retention_ms < 0)
        why = "retentionPeriod cannot be negative";
    else if (kind == BUILDER_WINDOW && window_size_ms < 0)
        why = "windowSize cannot be negative";
    else if (kind == BUILDER_WINDOW && window_size_ms > retention_ms) {
        snprintf(msg, sizeof msg,
                 "The retention period of the window store %s must be no smaller than its window "
                 "size. Got size=[%lld], retention=[%lld]",
                 name ? name : "", (long long)window_size_ms, (long long)retention_ms);
        why = msg;
    }
    if (why) {
        rv__log_warn("STORE", "cannot create a store builder: %s", why);
        return NULL;
    }
    rv_store_builder_t *b = builder_new(name, kind);
    if (!b)
        return NULL;
    b->window.schema = kind == BUILDER_WINDOW ? RV__SCHEMA_WINDOW : RV__SCHEMA_SESSION;
    b->window.retention_ms = retention_ms;
    b->window.segment_interval_ms = rv__segment_interval(retention_ms);
    b->window.window_size_ms = kind == BUILDER_WINDOW ? window_size_ms : 0;
    b->window.retain_duplicates = kind == BUILDER_WINDOW && retain_duplicates;
    b->window.persistent = persistent;
    if (rv_store_builder_with_logging_enabled(b, NULL, 0)) {
        rv_store_builder_destroy(b);
        return NULL;
    }
    return b;
}

rv_store_builder_t *rv_store_builder_persistent_window(const char *name, int64_t retention_ms,
                                                       int64_t window_size_ms,
                                                       int retain_duplicates) {
    return windowed_builder_new(name, BUILDER_WINDOW, 1, retention_ms, window_size_ms,
                                retain_duplicates);
}
rv_store_builder_t *rv_store_builder_in_memory_window(const char *name, int64_t retention_ms,
                                                      int64_t window_size_ms,
                                                      int retain_duplicates) {
    return windowed_builder_new(name, BUILDER_WINDOW, 0, retention_ms, window_size_ms,
                                retain_duplicates);
}
rv_store_builder_t *rv_store_builder_persistent_session(const char *name, int64_t retention_ms) {
    return windowed_builder_new(name, BUILDER_SESSION, 1, retention_ms, 0, 0);
}
rv_store_builder_t *rv_store_builder_in_memory_session(const char *name, int64_t retention_ms) {
    return windowed_builder_new(name, BUILDER_SESSION, 0, retention_ms, 0, 0);
}

rv_err_t rv__store_builder_open(const rv_store_builder_t *b, const char *task_dir,
                                rv_kv_store_t **out, char *errstr, size_t errstr_size) {
    *out = NULL;
    switch (b->kind) {
    case BUILDER_MEMORY: {
        rv_err_t err = rv__memory_store_new(out, b->name);
        if (err)
            rv__errstr_set(errstr, errstr_size, "store %s: %s", b->name, rv_err_str(err));
        return err;
    }
    case BUILDER_ROCKSDB: {
        /* As Kafka Streams: state.dir/<application.id>/<task>/rocksdb/<store>.
         * builder_new() checked the name; check again right where it
         * becomes a path, so nothing can lead it out of task_dir. */
        rv_err_t verr = rv_store_name_validate(b->name, errstr, errstr_size);
        if (verr)
            return verr;
        rv__buf_t path = RV__BUF_INIT;
        if (rv__buf_printf(&path, "%s/rocksdb/%s", task_dir, b->name)) {
            rv__buf_free(&path);
            return RV_ERR__NOMEM;
        }
        rv_err_t err =
            rv__rocksdb_store_open(out, b->name, (const char *)path.data, errstr, errstr_size);
        rv__buf_free(&path);
        return err;
    }
    case BUILDER_WINDOW:
    case BUILDER_SESSION: {
        /* As Kafka's segmented stores: <task dir>/<store>/<store>.<segment>. */
        rv_err_t verr = rv_store_name_validate(b->name, errstr, errstr_size);
        if (verr)
            return verr;
        rv__buf_t path = RV__BUF_INIT;
        if (rv__buf_printf(&path, "%s/%s", task_dir, b->name)) {
            rv__buf_free(&path);
            return RV_ERR__NOMEM;
        }
        rv_err_t err = rv__segmented_store_open(out, b->name, (const char *)path.data, &b->window,
                                                errstr, errstr_size);
        rv__buf_free(&path);
        return err;
    }
    case BUILDER_CUSTOM:
    default: {
        if (errstr && errstr_size)
            errstr[0] = '\0';
        rv_err_t err = b->open_fn(out, b->name, task_dir, b->opaque, errstr, errstr_size);
        if (err == RV_ERR_NO_ERROR && !*out)
            err = RV_ERR__FAIL;
        if (err) {
            if (*out) {
                rv_kv_store_destroy(*out);
                *out = NULL;
            }
            if (errstr && errstr_size && !errstr[0])
                rv__errstr_set(errstr, errstr_size, "store %s: open failed: %s", b->name,
                               rv_err_str(err));
        }
        return err;
    }
    }
}

rv_err_t rv_store_builder_build(rv_kv_store_t **out, const rv_store_builder_t *b, const char *dir,
                                char *errstr, size_t errstr_size) {
    if (out)
        *out = NULL;
    if (!out || !b || !dir || !*dir) {
        rv__errstr_set(errstr, errstr_size, "a store needs a builder and a folder");
        return RV_ERR__INVALID_ARG;
    }
    return rv__store_builder_open(b, dir, out, errstr, errstr_size);
}
