/* state/window_store.c: the typed window and session store API of
 * rivulet/store.h (Kafka's RocksDBWindowStore / RocksDBSessionStore and
 * their in-memory twins) over a stack of key-value stores whose bottom is
 * a segmented store (state/segmented_store.c).
 *
 * DESIGN
 * Keys: Kafka's byte layouts, so the changelog the wrappers write is
 * Kafka's. Window (WindowKeySchema.toStoreKeyBinary):
 *   [key][8-byte BE window start][4-byte BE sequence number]
 * the sequence number being 0, or with retain_duplicates 1, 2, ... per put
 * (masked to 31 bits). Session (SessionKeySchema.toBinary):
 *   [key][8-byte BE session end][8-byte BE session start].
 * Big-endian non-negative timestamps sort as numbers, so within one key
 * the byte order is window start (session end, then start) order.
 *
 * Reads go through the whole stack (cache, changelog wrapper, store), so a
 * cached write is seen. They go segment by segment as Kafka's
 * SegmentIterator: the candidate segments are those the store has open
 * plus those a write still in a cache may land in (between stream time -
 * retention and stream time, a handful), each read by a key-value iterator
 * scoped to that segment and opened when the fetch is made. Byte ranges
 * cannot select by time exactly (keys have variable lengths), so every
 * entry is checked against the key and time bounds, and against its
 * segment's time span, since a cache above the store holds the entries of
 * all segments. Range bounds over several keys are Kafka's
 * (OrderedBytes.lowerRange / upperRange): the lower bound is the key from,
 * the upper bound the key to's leading bytes that cannot be confused with
 * a timestamp's first byte, followed by 0xff bytes.
 *
 * Retention for reads is Kafka's getActualFrom(): nothing older than
 * stream time - retention + 1 is returned, whichever segment holds it. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/logger.h"
#include "state/store_internal.h"

typedef struct scan_s {
    rv__key_schema_t schema;
    size_t sl;        /* key suffix length */
    int64_t interval; /* segment interval */
    int64_t win_size; /* window size (window stores) */
    uint8_t *kfrom, *kto;
    size_t kfl, ktl;
    int has_kfrom, has_kto;
    int64_t t_lo, t_hi; /* window: start in [lo, hi]; session: end >= lo, start <= hi */
    rv_kv_iter_t **its; /* one per candidate segment, in reading order */
    int64_t *ids;
    size_t n, pos;
    const void *key, *value;
    size_t key_len, value_len;
    int64_t start, end;
    int err; /* sticky error, or 1 at the end */
} scan_t;

struct rv_window_iter_s {
    scan_t s;
};
struct rv_session_iter_s {
    scan_t s;
};

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}
static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

/* The segmented store under `store`, when it has the right schema. */
static rv__segmented_t *typed_store(rv_kv_store_t *store, rv__key_schema_t schema, const char *fn) {
    rv__segmented_t *ss = store ? rv__segmented_of(store) : NULL;
    if (!ss || rv__segmented_conf(ss)->schema != schema) {
        rv__log_err("STORE", "%s: store %s is not a %s store", fn,
                    store ? rv_kv_store_name(store) : "(null)",
                    schema == RV__SCHEMA_WINDOW ? "window" : "session");
        return NULL;
    }
    return ss;
}

/* [key][a: 8 bytes][b: 4 (window) or 8 (session) bytes] */
static rv_err_t make_key(rv__buf_t *b, rv__key_schema_t schema, const void *key, size_t key_len,
                         int64_t a, int64_t bval) {
    b->len = 0;
    if ((key_len && rv__buf_append(b, key, key_len)) || rv__buf_put_be64(b, (uint64_t)a))
        return RV_ERR__NOMEM;
    if (schema == RV__SCHEMA_WINDOW)
        return rv__buf_put_be32(b, (uint32_t)bval);
    return rv__buf_put_be64(b, (uint64_t)bval);
}

/* Kafka's getActualFrom(): nothing older than stream time - retention + 1. */
static int64_t actual_from(const rv__segmented_t *ss, int64_t from) {
    int64_t observed = rv__segmented_observed(ss);
    int64_t r = from;
    if (observed >= 0)
        r = max64(r, observed - rv__segmented_conf(ss)->retention_ms + 1);
    return max64(r, 0);
}

/* ---- Scans ---- */

static void scan_free(scan_t *sc) {
    for (size_t i = 0; i < sc->n; i++)
        rv_kv_iter_destroy(sc->its[i]);
    free(sc->its);
    free(sc->ids);
    free(sc->kfrom);
    free(sc->kto);
}

static int dup_bytes(uint8_t **dst, size_t *dst_len, int *has, const void *src, size_t len) {
    if (!src)
        return 0;
    *dst = malloc(len ? len : 1);
    if (!*dst)
        return -1;
    if (len)
        memcpy(*dst, src, len);
    *dst_len = len;
    *has = 1;
    return 0;
}

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Kafka's OrderedBytes.upperRange(): the first byte, then the bytes that
 * are >= a timestamp's largest first byte (0x7f), then 0xff bytes. */
static rv_err_t upper_range(rv__buf_t *b, const uint8_t *k, size_t len, size_t sl) {
    size_t i = 0;
    while (i < len && (i < 1 || k[i] >= 0x7f))
        i++;
    b->len = 0;
    if (rv__buf_append(b, k, i) || rv__buf_reserve(b, sl))
        return RV_ERR__NOMEM;
    memset(b->data + b->len, 0xff, sl);
    b->len += sl;
    return RV_ERR_NO_ERROR;
}

/* Opens the per-segment iterators of a scan. single: kfrom == kto is one
 * key and bounds may use its exact timestamps. */
static rv_err_t scan_open(scan_t *sc, rv_kv_store_t *store, rv__segmented_t *ss, int single,
                          int reverse) {
    const rv__segmented_conf_t *conf = rv__segmented_conf(ss);
    sc->schema = conf->schema;
    sc->sl = conf->schema == RV__SCHEMA_WINDOW ? RV__WINDOW_SUFFIX_LEN : RV__SESSION_SUFFIX_LEN;
    sc->interval = conf->segment_interval_ms;
    sc->win_size = conf->window_size_ms;
    sc->t_lo = actual_from(ss, sc->t_lo);
    if ((sc->schema == RV__SCHEMA_WINDOW && sc->t_hi < sc->t_lo) || sc->t_hi < 0 ||
        (sc->has_kfrom && sc->has_kto && rv__key_cmp(sc->kfrom, sc->kfl, sc->kto, sc->ktl) > 0)) {
        if (sc->has_kfrom && sc->has_kto && rv__key_cmp(sc->kfrom, sc->kfl, sc->kto, sc->ktl) > 0)
            rv__log_warn("STORE",
                         "Returning empty iterator for fetch with invalid key range: from > to. "
                         "This may be due to range arguments set in the wrong order, or serdes "
                         "that don't preserve ordering when lexicographically comparing the "
                         "serialized bytes.");
        sc->err = 1;
        return RV_ERR_NO_ERROR;
    }
    /* Candidate segments: window starts (session ends) from t_lo up to t_hi
     * (window) or without bound (session). */
    int64_t id_lo = sc->t_lo / sc->interval;
    int64_t id_hi = sc->schema == RV__SCHEMA_WINDOW ? sc->t_hi / sc->interval : INT64_MAX;
    size_t open_cnt = rv__segmented_ids(ss, NULL, 0);
    int64_t observed = rv__segmented_observed(ss);
    int64_t obs_lo = 0, obs_hi = -1;
    if (observed >= 0) {
        obs_lo = max64(id_lo, max64(0, observed - conf->retention_ms) / sc->interval);
        obs_hi = min64(id_hi, observed / sc->interval);
    }
    size_t cap = open_cnt + (obs_hi >= obs_lo ? (size_t)(obs_hi - obs_lo + 1) : 0);
    int64_t *all = malloc((cap ? cap : 1) * sizeof(*all));
    if (!all)
        return RV_ERR__NOMEM;
    rv__segmented_ids(ss, all, open_cnt);
    size_t m = 0;
    for (size_t i = 0; i < open_cnt; i++)
        if (all[i] >= id_lo && all[i] <= id_hi)
            all[m++] = all[i];
    for (int64_t id = obs_lo; id <= obs_hi; id++)
        all[m++] = id;
    qsort(all, m, sizeof(*all), cmp_id);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (!u || all[u - 1] != all[i])
            all[u++] = all[i];
    sc->ids = all;
    sc->its = calloc(u ? u : 1, sizeof(*sc->its));
    if (!sc->its)
        return RV_ERR__NOMEM;
    if (reverse)
        for (size_t i = 0; i < u / 2; i++) {
            int64_t t = all[i];
            all[i] = all[u - 1 - i];
            all[u - 1 - i] = t;
        }

    rv__buf_t from = RV__BUF_INIT, to = RV__BUF_INIT;
    rv_err_t err = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < u && !err; i++) {
        int64_t seg_lo = all[i] * sc->interval;
        int64_t seg_hi = seg_lo > INT64_MAX - sc->interval ? INT64_MAX : seg_lo + sc->interval - 1;
        int64_t lo = max64(sc->t_lo, seg_lo), hi = seg_hi;
        if (sc->schema == RV__SCHEMA_WINDOW)
            hi = min64(hi, sc->t_hi);
        const void *f = NULL, *t = NULL;
        size_t fl = 0, tl = 0;
        if (single) {
            /* Kafka's lowerRangeFixedSize / upperRangeFixedSize. */
            err = make_key(&from, sc->schema, sc->kfrom, sc->kfl, lo, 0);
            if (!err)
                err = make_key(&to, sc->schema, sc->kfrom, sc->kfl, hi,
                               sc->schema == RV__SCHEMA_WINDOW ? (int64_t)0xffffffff : INT64_MAX);
            f = from.data, fl = from.len, t = to.data, tl = to.len;
        } else {
            if (sc->has_kfrom)
                f = sc->kfrom, fl = sc->kfl;
            if (sc->has_kto) {
                err = upper_range(&to, sc->kto, sc->ktl, sc->sl);
                t = to.data, tl = to.len;
            }
        }
        if (err)
            break;
        rv__segmented_scope(ss, all[i]);
        err = reverse ? rv_kv_store_reverse_range(&sc->its[sc->n], store, f, fl, t, tl)
                      : rv_kv_store_range(&sc->its[sc->n], store, f, fl, t, tl);
        rv__segmented_scope(ss, -1);
        if (!err)
            sc->n++;
    }
    rv__buf_free(&from);
    rv__buf_free(&to);
    return err;
}

static int scan_next(scan_t *sc) {
    sc->key = sc->value = NULL;
    sc->key_len = sc->value_len = 0;
    if (sc->err)
        return sc->err == 1 ? 0 : sc->err;
    while (sc->pos < sc->n) {
        rv_kv_iter_t *it = sc->its[sc->pos];
        int r = rv_kv_iter_next(it);
        if (r < 0) {
            sc->err = r;
            return r;
        }
        if (r == 0) {
            sc->pos++;
            continue;
        }
        size_t kl, vl;
        const uint8_t *k = rv_kv_iter_key(it, &kl);
        const void *v = rv_kv_iter_value(it, &vl);
        if (kl < sc->sl)
            continue;
        size_t ukl = kl - sc->sl;
        if (sc->has_kfrom && rv__key_cmp(k, ukl, sc->kfrom, sc->kfl) < 0)
            continue;
        if (sc->has_kto && rv__key_cmp(k, ukl, sc->kto, sc->ktl) > 0)
            continue;
        int64_t seg_lo = sc->ids[sc->pos] * sc->interval;
        int64_t seg_hi = seg_lo > INT64_MAX - sc->interval ? INT64_MAX : seg_lo + sc->interval - 1;
        int64_t a = (int64_t)rv__be64(k + ukl);
        if (a < seg_lo || a > seg_hi || a < sc->t_lo)
            continue;
        if (sc->schema == RV__SCHEMA_WINDOW) {
            if (a > sc->t_hi)
                continue;
            sc->start = a;
            sc->end = a > INT64_MAX - sc->win_size ? INT64_MAX : a + sc->win_size;
        } else {
            int64_t start = (int64_t)rv__be64(k + ukl + 8);
            if (start > sc->t_hi)
                continue;
            sc->start = start;
            sc->end = a;
        }
        sc->key = k;
        sc->key_len = ukl;
        sc->value = v;
        sc->value_len = vl;
        return 1;
    }
    sc->err = 1;
    return 0;
}

/* Allocates an iterator (window or session: same layout), fills its
 * bounds and opens it. */
static rv_err_t scan_new(scan_t **out, size_t size, rv_kv_store_t *store, rv__segmented_t *ss,
                         const void *kfrom, size_t kfl, const void *kto, size_t ktl, int single,
                         int64_t t_lo, int64_t t_hi, int reverse) {
    *out = NULL;
    scan_t *sc = calloc(1, size);
    if (!sc)
        return RV_ERR__NOMEM;
    sc->t_lo = t_lo;
    sc->t_hi = t_hi;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (dup_bytes(&sc->kfrom, &sc->kfl, &sc->has_kfrom, kfrom, kfl) ||
        dup_bytes(&sc->kto, &sc->ktl, &sc->has_kto, kto, ktl))
        err = RV_ERR__NOMEM;
    if (!err)
        err = scan_open(sc, store, ss, single, reverse);
    if (err) {
        scan_free(sc);
        free(sc);
        return err;
    }
    *out = sc;
    return RV_ERR_NO_ERROR;
}

/* A key given as NULL with length 0 is the empty key. */
static const void *key_ptr(const void *key, size_t len) {
    return key ? key : (len ? NULL : "");
}

/* ---- Window stores ---- */

rv_err_t rv_window_store_put(rv_kv_store_t *store, const void *key, size_t key_len,
                             const void *value, size_t value_len, int64_t window_start) {
    rv__segmented_t *ss = typed_store(store, RV__SCHEMA_WINDOW, "rv_window_store_put");
    if (!ss || !key_ptr(key, key_len) || window_start < 0)
        return RV_ERR__INVALID_ARG;
    const rv__segmented_conf_t *conf = rv__segmented_conf(ss);
    /* Kafka: deleting in a store of duplicates is a no-op (no key names
     * one of them). */
    if (!value && conf->retain_duplicates)
        return RV_ERR_NO_ERROR;
    int32_t seq = conf->retain_duplicates ? rv__segmented_next_seqnum(ss) : 0;
    rv__buf_t k = RV__BUF_INIT;
    rv_err_t err = make_key(&k, RV__SCHEMA_WINDOW, key, key_len, window_start, seq);
    if (!err) {
        rv__segmented_note_put(ss, window_start);
        err = rv_kv_store_put(store, k.data, k.len, value, value ? value_len : 0);
    }
    rv__buf_free(&k);
    return err;
}

rv_err_t rv_window_store_fetch_value(rv_bytes_t *out, rv_kv_store_t *store, const void *key,
                                     size_t key_len, int64_t window_start) {
    out->data = NULL;
    out->len = 0;
    rv__segmented_t *ss = typed_store(store, RV__SCHEMA_WINDOW, "rv_window_store_fetch_value");
    if (!ss || !key_ptr(key, key_len))
        return RV_ERR__INVALID_ARG;
    if (window_start < 0 || window_start < actual_from(ss, 0))
        return RV_ERR__NOENT;
    rv__buf_t k = RV__BUF_INIT;
    rv_err_t err = make_key(&k, RV__SCHEMA_WINDOW, key, key_len, window_start, 0);
    if (!err)
        err = rv_kv_store_get(out, store, k.data, k.len);
    rv__buf_free(&k);
    return err;
}

static rv_err_t window_scan(rv_window_iter_t **out, rv_kv_store_t *store, const char *fn,
                            const void *kfrom, size_t kfl, const void *kto, size_t ktl, int single,
                            int64_t t_lo, int64_t t_hi, int reverse) {
    if (out)
        *out = NULL;
    rv__segmented_t *ss = typed_store(store, RV__SCHEMA_WINDOW, fn);
    if (!ss || !out)
        return RV_ERR__INVALID_ARG;
    scan_t *sc;
    rv_err_t err = scan_new(&sc, sizeof(rv_window_iter_t), store, ss, kfrom, kfl, kto, ktl, single,
                            t_lo, t_hi, reverse);
    if (!err)
        *out = (rv_window_iter_t *)sc;
    return err;
}

rv_err_t rv_window_store_fetch(rv_window_iter_t **out, rv_kv_store_t *store, const void *key,
                               size_t key_len, int64_t time_from, int64_t time_to) {
    const void *k = key_ptr(key, key_len);
    if (!k)
        return RV_ERR__INVALID_ARG;
    return window_scan(out, store, "rv_window_store_fetch", k, key_len, k, key_len, 1, time_from,
                       time_to, 0);
}

rv_err_t rv_window_store_backward_fetch(rv_window_iter_t **out, rv_kv_store_t *store,
                                        const void *key, size_t key_len, int64_t time_from,
                                        int64_t time_to) {
    const void *k = key_ptr(key, key_len);
    if (!k)
        return RV_ERR__INVALID_ARG;
    return window_scan(out, store, "rv_window_store_backward_fetch", k, key_len, k, key_len, 1,
                       time_from, time_to, 1);
}

rv_err_t rv_window_store_fetch_range(rv_window_iter_t **out, rv_kv_store_t *store,
                                     const void *key_from, size_t key_from_len, const void *key_to,
                                     size_t key_to_len, int64_t time_from, int64_t time_to) {
    return window_scan(out, store, "rv_window_store_fetch_range", key_from, key_from_len, key_to,
                       key_to_len, 0, time_from, time_to, 0);
}

rv_err_t rv_window_store_all(rv_window_iter_t **out, rv_kv_store_t *store) {
    return window_scan(out, store, "rv_window_store_all", NULL, 0, NULL, 0, 0, 0, INT64_MAX, 0);
}

rv_err_t rv_window_store_fetch_all(rv_window_iter_t **out, rv_kv_store_t *store, int64_t time_from,
                                   int64_t time_to) {
    return window_scan(out, store, "rv_window_store_fetch_all", NULL, 0, NULL, 0, 0, time_from,
                       time_to, 0);
}

int rv_window_iter_next(rv_window_iter_t *it) {
    return scan_next(&it->s);
}
const void *rv_window_iter_key(const rv_window_iter_t *it, size_t *len) {
    if (len)
        *len = it->s.key_len;
    return it->s.key;
}
const void *rv_window_iter_value(const rv_window_iter_t *it, size_t *len) {
    if (len)
        *len = it->s.value_len;
    return it->s.value;
}
int64_t rv_window_iter_window_start(const rv_window_iter_t *it) {
    return it->s.start;
}
void rv_window_iter_destroy(rv_window_iter_t *it) {
    if (!it)
        return;
    scan_free(&it->s);
    free(it);
}

/* ---- Session stores ---- */

rv_err_t rv_session_store_put(rv_kv_store_t *store, const void *key, size_t key_len, int64_t start,
                              int64_t end, const void *value, size_t value_len) {
    rv__segmented_t *ss = typed_store(store, RV__SCHEMA_SESSION, "rv_session_store_put");
    if (!ss || !key_ptr(key, key_len) || start < 0 || end < start)
        return RV_ERR__INVALID_ARG;
    rv__buf_t k = RV__BUF_INIT;
    rv_err_t err = make_key(&k, RV__SCHEMA_SESSION, key, key_len, end, start);
    if (!err) {
        rv__segmented_note_put(ss, end);
        err = rv_kv_store_put(store, k.data, k.len, value, value ? value_len : 0);
    }
    rv__buf_free(&k);
    return err;
}

rv_err_t rv_session_store_remove(rv_kv_store_t *store, const void *key, size_t key_len,
                                 int64_t start, int64_t end) {
    return rv_session_store_put(store, key, key_len, start, end, NULL, 0);
}

static rv_err_t session_scan(rv_session_iter_t **out, rv_kv_store_t *store, const char *fn,
                             const void *key, size_t key_len, int64_t earliest_end,
                             int64_t latest_start, int reverse) {
    if (out)
        *out = NULL;
    rv__segmented_t *ss = typed_store(store, RV__SCHEMA_SESSION, fn);
    const void *k = key_ptr(key, key_len);
    if (!ss || !out || !k)
        return RV_ERR__INVALID_ARG;
    scan_t *sc;
    rv_err_t err = scan_new(&sc, sizeof(rv_session_iter_t), store, ss, k, key_len, k, key_len, 1,
                            earliest_end, latest_start, reverse);
    if (!err)
        *out = (rv_session_iter_t *)sc;
    return err;
}

rv_err_t rv_session_store_find_sessions(rv_session_iter_t **out, rv_kv_store_t *store,
                                        const void *key, size_t key_len,
                                        int64_t earliest_session_end_time,
                                        int64_t latest_session_start_time) {
    return session_scan(out, store, "rv_session_store_find_sessions", key, key_len,
                        earliest_session_end_time, latest_session_start_time, 0);
}

rv_err_t rv_session_store_backward_find_sessions(rv_session_iter_t **out, rv_kv_store_t *store,
                                                 const void *key, size_t key_len,
                                                 int64_t earliest_session_end_time,
                                                 int64_t latest_session_start_time) {
    return session_scan(out, store, "rv_session_store_backward_find_sessions", key, key_len,
                        earliest_session_end_time, latest_session_start_time, 1);
}

rv_err_t rv_session_store_fetch(rv_session_iter_t **out, rv_kv_store_t *store, const void *key,
                                size_t key_len) {
    return session_scan(out, store, "rv_session_store_fetch", key, key_len, 0, INT64_MAX, 0);
}

rv_err_t rv_session_store_fetch_session(rv_bytes_t *out, rv_kv_store_t *store, const void *key,
                                        size_t key_len, int64_t start, int64_t end) {
    out->data = NULL;
    out->len = 0;
    rv__segmented_t *ss = typed_store(store, RV__SCHEMA_SESSION, "rv_session_store_fetch_session");
    if (!ss || !key_ptr(key, key_len))
        return RV_ERR__INVALID_ARG;
    if (start < 0 || end < start || end < actual_from(ss, 0))
        return RV_ERR__NOENT;
    rv__buf_t k = RV__BUF_INIT;
    rv_err_t err = make_key(&k, RV__SCHEMA_SESSION, key, key_len, end, start);
    if (!err)
        err = rv_kv_store_get(out, store, k.data, k.len);
    rv__buf_free(&k);
    return err;
}

int rv_session_iter_next(rv_session_iter_t *it) {
    return scan_next(&it->s);
}
const void *rv_session_iter_key(const rv_session_iter_t *it, size_t *len) {
    if (len)
        *len = it->s.key_len;
    return it->s.key;
}
const void *rv_session_iter_value(const rv_session_iter_t *it, size_t *len) {
    if (len)
        *len = it->s.value_len;
    return it->s.value;
}
int64_t rv_session_iter_start(const rv_session_iter_t *it) {
    return it->s.start;
}
int64_t rv_session_iter_end(const rv_session_iter_t *it) {
    return it->s.end;
}
void rv_session_iter_destroy(rv_session_iter_t *it) {
    if (!it)
        return;
    scan_free(&it->s);
    free(it);
}
