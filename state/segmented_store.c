/* state/segmented_store.c: the inner store of window and session stores,
 * Kafka Streams' segmented bytes store (AbstractRocksDBSegmentedBytesStore
 * over KeyValueSegments), with RocksDB or in-memory segments.
 *
 * Keys are Kafka's binary window or session keys (state/window_store.c
 * builds them); the timestamp at a fixed distance from the key's end (the
 * window start, or the session end) chooses the segment. The store is an
 * ordinary rv_kv_store_t, so the changelog and cache wrappers and
 * restoration (rv__store_restore_batch) use it unchanged.
 *
 * DESIGN
 * Segments: segment id = timestamp / segment interval, the interval being
 * max(retention / 2, 60000) as Kafka's suppliers choose it. A segment is a
 * key-value store of its own: RocksDB in <dir>/<name>.<id * interval>
 * (Kafka's segment name; dir is <task dir>/<name>) or an in-memory store.
 * They sit in an array sorted by id; there are few of them (retention /
 * interval <= 2, plus the one being filled), so lookups scan it.
 *
 * Retention: observed stream time is the highest segment timestamp written
 * (puts, deletes and restored records alike, as Kafka). A segment whose id
 * is below segmentId(observed - retention) is dropped: closed and, on
 * disk, its folder removed. A write into such a segment is skipped with
 * Kafka's warning. The in-memory variant also skips a write whose
 * timestamp is <= observed - retention (InMemoryWindowStore's rule).
 * Reopening finds the segment folders already there; observed time starts
 * at -1 again, as in Kafka, until the next write.
 *
 * Iteration: a range walks every segment at once and merges them by key
 * bytes, so the store looks like one ordered key-value store (the record
 * cache merges its entries with the store under it by key order). The
 * typed API reads segment by segment, Kafka's order, by scoping the next
 * iterator to one segment (rv__segmented_scope()). Each entry handed out
 * is copied, because a put may drop a segment between two next() calls;
 * the iterators of a dropped segment end there.
 *
 * The typed API's own state lives here too, in the innermost store, so it
 * belongs to the task: the sequence number of stores that retain
 * duplicates and the highest timestamp put through it (writes may wait in
 * a cache above, out of this store's sight). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/errstr.h"
#include "common/fileio.h"
#include "common/logger.h"
#include "state/store_internal.h"

typedef struct segment_s {
    int64_t id;
    rv_kv_store_t *kv; /* owned */
} segment_t;

struct rv__segmented_s {
    char *name;
    char *dir; /* <task dir>/<name>; NULL in memory */
    rv__segmented_conf_t conf;
    segment_t *segs; /* ascending ids */
    size_t cnt, cap;
    int64_t observed; /* highest segment timestamp written; -1 */
    int64_t scope;    /* segment the next iterator reads, when has_scope */
    int has_scope;
    int32_t seqnum;   /* typed API: last sequence number used */
    int64_t put_time; /* typed API: highest timestamp put; -1 */
};

int64_t rv__segment_interval(int64_t retention_ms) {
    int64_t half = retention_ms / 2;
    return half > 60000 ? half : 60000;
}

static size_t suffix_len(const rv__segmented_t *ss) {
    return ss->conf.schema == RV__SCHEMA_WINDOW ? RV__WINDOW_SUFFIX_LEN : RV__SESSION_SUFFIX_LEN;
}

/* The segment timestamp of a key (window start, session end); -1 when the
 * key is too short to be a window or session key. */
static int64_t key_timestamp(const rv__segmented_t *ss, const void *key, size_t len) {
    size_t sl = suffix_len(ss);
    if (len < sl)
        return -1;
    return (int64_t)rv__be64((const uint8_t *)key + len - sl);
}

static int64_t segment_id(const rv__segmented_t *ss, int64_t ts) {
    /* Java's division truncates toward zero as C's does, so ids of
     * negative times (observed - retention early on) match Kafka's. */
    return ts / ss->conf.segment_interval_ms;
}

static segment_t *find_segment(rv__segmented_t *ss, int64_t id) {
    for (size_t i = 0; i < ss->cnt; i++)
        if (ss->segs[i].id == id)
            return &ss->segs[i];
    return NULL;
}

static rv_err_t open_segment(rv__segmented_t *ss, int64_t id, segment_t **out, char *errstr,
                             size_t errstr_size) {
    *out = NULL;
    if (ss->cnt == ss->cap) {
        size_t ncap = ss->cap ? 2 * ss->cap : 4;
        segment_t *n = realloc(ss->segs, ncap * sizeof(*n));
        if (!n)
            return RV_ERR__NOMEM;
        ss->segs = n;
        ss->cap = ncap;
    }
    rv__buf_t segname = RV__BUF_INIT, path = RV__BUF_INIT;
    rv_kv_store_t *kv = NULL;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (rv__buf_printf(&segname, "%s.%" PRId64, ss->name, id * ss->conf.segment_interval_ms))
        err = RV_ERR__NOMEM;
    else if (ss->dir) {
        if (rv__buf_printf(&path, "%s/%s", ss->dir, (const char *)segname.data))
            err = RV_ERR__NOMEM;
        else
            err = rv__rocksdb_store_open(&kv, (const char *)segname.data, (const char *)path.data,
                                         errstr, errstr_size);
    } else {
        err = rv__memory_store_new(&kv, (const char *)segname.data);
    }
    rv__buf_free(&segname);
    rv__buf_free(&path);
    if (err)
        return err;
    size_t pos = 0;
    while (pos < ss->cnt && ss->segs[pos].id < id)
        pos++;
    memmove(&ss->segs[pos + 1], &ss->segs[pos], (ss->cnt - pos) * sizeof(*ss->segs));
    ss->segs[pos].id = id;
    ss->segs[pos].kv = kv;
    ss->cnt++;
    *out = &ss->segs[pos];
    return RV_ERR_NO_ERROR;
}

/* Closes and destroys the segments below segmentId(observed - retention),
 * as Kafka's cleanupExpiredSegments. */
static void drop_expired(rv__segmented_t *ss) {
    int64_t min_live = segment_id(ss, ss->observed - ss->conf.retention_ms);
    size_t n = 0;
    while (n < ss->cnt && ss->segs[n].id < min_live)
        n++;
    for (size_t i = 0; i < n; i++) {
        segment_t *sg = &ss->segs[i];
        rv__log_debug("STORE", "store %s: dropping segment %" PRId64 " (stream time %" PRId64 ")",
                      ss->name, sg->id, ss->observed);
        rv_kv_store_destroy(sg->kv);
        if (ss->dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.%" PRId64, ss->dir, ss->name,
                     sg->id * ss->conf.segment_interval_ms);
            if (rv__io_rmtree(path) != 0)
                rv__log_err("STORE", "store %s: error destroying segment %s: %s", ss->name, path,
                            strerror(errno));
        }
    }
    memmove(ss->segs, ss->segs + n, (ss->cnt - n) * sizeof(*ss->segs));
    ss->cnt -= n;
}

/* Where a write of timestamp ts goes once observed time includes it:
 * *seg (NULL when the segment does not exist and `create` is 0), or
 * *expired when it must be skipped. */
static rv_err_t route(rv__segmented_t *ss, int64_t ts, int create, segment_t **seg, int *expired) {
    *seg = NULL;
    *expired = 0;
    int64_t id = segment_id(ss, ts);
    if (id < segment_id(ss, ss->observed - ss->conf.retention_ms) ||
        (!ss->conf.persistent && ts <= ss->observed - ss->conf.retention_ms)) {
        *expired = 1;
        return RV_ERR_NO_ERROR;
    }
    *seg = find_segment(ss, id);
    if (!*seg && create) {
        char msg[512];
        rv_err_t err = open_segment(ss, id, seg, msg, sizeof msg);
        if (err) {
            rv__log_err("STORE", "store %s: cannot open segment %" PRId64 ": %s", ss->name, id,
                        err == RV_ERR__NOMEM ? "out of memory" : msg);
            return err;
        }
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t check_key(rv__segmented_t *ss, const void *key, size_t key_len, int64_t *ts) {
    *ts = key_timestamp(ss, key, key_len);
    if (*ts < 0) {
        rv__log_err("STORE", "store %s: a key of %zu bytes is not a %s key", ss->name, key_len,
                    ss->conf.schema == RV__SCHEMA_WINDOW ? "window" : "session");
        return RV_ERR__INVALID_ARG;
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t seg_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    rv__segmented_t *ss = opaque;
    int64_t ts = key_timestamp(ss, key, key_len);
    if (ts < 0)
        return RV_ERR__NOENT;
    segment_t *sg = find_segment(ss, segment_id(ss, ts));
    if (!sg)
        return RV_ERR__NOENT;
    return rv_kv_store_get(out, sg->kv, key, key_len);
}

static rv_err_t seg_put(void *opaque, const void *key, size_t key_len, const void *value,
                        size_t value_len) {
    rv__segmented_t *ss = opaque;
    int64_t ts;
    rv_err_t err = check_key(ss, key, key_len, &ts);
    if (err)
        return err;
    if (ts > ss->observed)
        ss->observed = ts;
    segment_t *sg;
    int expired;
    err = route(ss, ts, value != NULL, &sg, &expired);
    if (err)
        return err;
    if (expired)
        rv__log_warn("STORE", "Skipping record for expired segment.");
    else if (sg)
        err = rv_kv_store_put(sg->kv, key, key_len, value, value_len);
    drop_expired(ss);
    return err;
}

/* Restoration: runs of consecutive records for one segment are written as
 * one batch (one RocksDB write each). */
static rv_err_t seg_put_all(void *opaque, const rv_kv_entry_t *e, size_t cnt) {
    rv__segmented_t *ss = opaque;
    rv_err_t err = RV_ERR_NO_ERROR;
    size_t run = 0, run_len = 0;
    int64_t run_id = 0;
#define FLUSH_RUN()                                                 \
    do {                                                            \
        segment_t *rs_ = run_len ? find_segment(ss, run_id) : NULL; \
        if (rs_)                                                    \
            err = rv_kv_store_put_all(rs_->kv, e + run, run_len);   \
        run_len = 0;                                                \
    } while (0)
    for (size_t i = 0; i < cnt && !err; i++) {
        int64_t ts;
        err = check_key(ss, e[i].key, e[i].key_len, &ts);
        if (err)
            break;
        if (ts > ss->observed)
            ss->observed = ts;
        segment_t *sg;
        int expired;
        err = route(ss, ts, e[i].value != NULL, &sg, &expired);
        if (err)
            break;
        if (expired || !sg) {
            /* Skipped (as Kafka's restore, silently): the run ends here. */
            FLUSH_RUN();
            continue;
        }
        if (run_len && sg->id != run_id)
            FLUSH_RUN();
        if (err)
            break;
        if (!run_len) {
            run = i;
            run_id = sg->id;
        }
        run_len++;
    }
    if (!err)
        FLUSH_RUN();
#undef FLUSH_RUN
    drop_expired(ss);
    return err;
}

/* ---- Merged iterators ---- */

typedef struct sub_s {
    rv_kv_iter_t *it;
    int valid; /* positioned on an entry */
} sub_t;

typedef struct miter_s {
    sub_t *subs;
    size_t n;
    int reverse, started;
    long last; /* sub whose entry was handed out last, or -1 */
    rv__buf_t key, value;
} miter_t;

static void miter_close(void *state) {
    miter_t *mi = state;
    for (size_t i = 0; i < mi->n; i++)
        rv_kv_iter_destroy(mi->subs[i].it);
    free(mi->subs);
    rv__buf_free(&mi->key);
    rv__buf_free(&mi->value);
    free(mi);
}

static rv_err_t seg_iter_open(void *opaque, void **iter, const void *from, size_t from_len,
                              const void *to, size_t to_len, int reverse) {
    rv__segmented_t *ss = opaque;
    int has_scope = ss->has_scope;
    int64_t scope = ss->scope;
    ss->has_scope = 0;
    miter_t *mi = calloc(1, sizeof(*mi));
    if (!mi)
        return RV_ERR__NOMEM;
    mi->reverse = reverse;
    mi->last = -1;
    if (rv__buf_reserve(&mi->key, 1) || rv__buf_reserve(&mi->value, 1) ||
        !(mi->subs = calloc(ss->cnt ? ss->cnt : 1, sizeof(*mi->subs)))) {
        miter_close(mi);
        return RV_ERR__NOMEM;
    }
    for (size_t i = 0; i < ss->cnt; i++) {
        if (has_scope && ss->segs[i].id != scope)
            continue;
        rv_err_t err = reverse ? rv_kv_store_reverse_range(&mi->subs[mi->n].it, ss->segs[i].kv,
                                                           from, from_len, to, to_len)
                               : rv_kv_store_range(&mi->subs[mi->n].it, ss->segs[i].kv, from,
                                                   from_len, to, to_len);
        if (err) {
            miter_close(mi);
            return err;
        }
        mi->n++;
    }
    *iter = mi;
    return RV_ERR_NO_ERROR;
}

/* Advances one sub-iterator. The iterators of a segment dropped meanwhile
 * report RV_ERR__STATE: that segment simply has nothing more. */
static int sub_advance(sub_t *s) {
    int r = rv_kv_iter_next(s->it);
    s->valid = r == 1;
    return r < 0 && r != RV_ERR__STATE ? r : 0;
}

static int seg_iter_next(void *state, const void **key, size_t *key_len, const void **value,
                         size_t *value_len) {
    miter_t *mi = state;
    if (!mi->started) {
        mi->started = 1;
        for (size_t i = 0; i < mi->n; i++) {
            int r = sub_advance(&mi->subs[i]);
            if (r < 0)
                return r;
        }
    } else if (mi->last >= 0 && mi->subs[mi->last].valid) {
        int r = sub_advance(&mi->subs[mi->last]);
        if (r < 0)
            return r;
    }
    mi->last = -1;
    const void *bk = NULL;
    size_t bkl = 0;
    for (size_t i = 0; i < mi->n; i++) {
        if (!mi->subs[i].valid)
            continue;
        size_t kl;
        const void *k = rv_kv_iter_key(mi->subs[i].it, &kl);
        if (!k) { /* its segment was dropped */
            mi->subs[i].valid = 0;
            continue;
        }
        int c = bk ? rv__key_cmp(k, kl, bk, bkl) : -1;
        if (mi->reverse ? c > 0 || !bk : c < 0) {
            bk = k;
            bkl = kl;
            mi->last = (long)i;
        }
    }
    if (mi->last < 0)
        return 0;
    size_t vl;
    const void *v = rv_kv_iter_value(mi->subs[mi->last].it, &vl);
    mi->key.len = mi->value.len = 0;
    if (rv__buf_reserve(&mi->key, bkl + 1) || rv__buf_reserve(&mi->value, vl + 1))
        return RV_ERR__NOMEM;
    memcpy(mi->key.data, bk, bkl);
    mi->key.len = bkl;
    if (vl)
        memcpy(mi->value.data, v, vl);
    mi->value.len = vl;
    *key = mi->key.data;
    *key_len = bkl;
    *value = mi->value.data;
    *value_len = vl;
    return 1;
}

static int64_t seg_count(void *opaque) {
    rv__segmented_t *ss = opaque;
    int64_t n = 0;
    for (size_t i = 0; i < ss->cnt; i++) {
        int64_t c = rv_kv_store_approximate_num_entries(ss->segs[i].kv);
        if (c < 0)
            return -1;
        n += c;
    }
    return n;
}

static rv_err_t seg_flush(void *opaque) {
    rv__segmented_t *ss = opaque;
    for (size_t i = 0; i < ss->cnt; i++) {
        rv_err_t err = rv_kv_store_flush(ss->segs[i].kv);
        if (err)
            return err;
    }
    return RV_ERR_NO_ERROR;
}

static void seg_close(void *opaque) {
    rv__segmented_t *ss = opaque;
    for (size_t i = 0; i < ss->cnt; i++)
        rv_kv_store_destroy(ss->segs[i].kv);
    free(ss->segs);
    free(ss->name);
    free(ss->dir);
    free(ss);
}

static const rv_kv_store_ops_t seg_ops_rocksdb = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 1,
    .get = seg_get,
    .put = seg_put,
    .put_all = seg_put_all,
    .iter_open = seg_iter_open,
    .iter_next = seg_iter_next,
    .iter_close = miter_close,
    .approximate_num_entries = seg_count,
    .flush = seg_flush,
    .close = seg_close,
};

static const rv_kv_store_ops_t seg_ops_memory = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 0,
    .get = seg_get,
    .put = seg_put,
    .put_all = seg_put_all,
    .iter_open = seg_iter_open,
    .iter_next = seg_iter_next,
    .iter_close = miter_close,
    .approximate_num_entries = seg_count,
    .flush = seg_flush,
    .close = seg_close,
};

/* Reopens the segment folders <dir>/<name>.<digits> already on disk. */
static rv_err_t open_existing(rv__segmented_t *ss, char *errstr, size_t errstr_size) {
    DIR *d = opendir(ss->dir);
    if (!d)
        return RV_ERR_NO_ERROR;
    size_t nl = strlen(ss->name);
    rv_err_t err = RV_ERR_NO_ERROR;
    struct dirent *de;
    while (!err && (de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strncmp(n, ss->name, nl) != 0 || n[nl] != '.' || !n[nl + 1])
            continue;
        const char *p = n + nl + 1;
        int digits = 1;
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9')
                digits = 0;
        if (!digits || strlen(p) > 18)
            continue;
        int64_t start = strtoll(p, NULL, 10);
        int64_t id = segment_id(ss, start);
        if (id * ss->conf.segment_interval_ms != start) {
            /* Kafka renames a folder of another interval; it is rare enough
             * (the retention changed) to leave it alone and say so. */
            rv__log_warn("STORE", "store %s: ignoring segment folder %s of another interval",
                         ss->name, n);
            continue;
        }
        segment_t *sg;
        if (!find_segment(ss, id))
            err = open_segment(ss, id, &sg, errstr, errstr_size);
    }
    closedir(d);
    return err;
}

rv_err_t rv__segmented_store_open(rv_kv_store_t **out, const char *name, const char *dir,
                                  const rv__segmented_conf_t *conf, char *errstr,
                                  size_t errstr_size) {
    *out = NULL;
    rv__segmented_t *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return RV_ERR__NOMEM;
    ss->conf = *conf;
    if (ss->conf.segment_interval_ms <= 0)
        ss->conf.segment_interval_ms = rv__segment_interval(conf->retention_ms);
    ss->observed = -1;
    ss->put_time = -1;
    ss->name = strdup(name);
    if (!ss->name || (conf->persistent && !(ss->dir = strdup(dir)))) {
        seg_close(ss);
        return RV_ERR__NOMEM;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    if (ss->dir) {
        if (rv__io_mkdirs(ss->dir, 0755) != 0) {
            rv__errstr_set(errstr, errstr_size, "store %s: cannot create folder %s: %s", name,
                           ss->dir, strerror(errno));
            err = RV_ERR__IO;
        } else {
            err = open_existing(ss, errstr, errstr_size);
        }
    }
    if (!err)
        err = rv__kv_store_new(out, conf->persistent ? &seg_ops_rocksdb : &seg_ops_memory, ss, name,
                               RV__STORE_INNER, NULL);
    if (err)
        seg_close(ss);
    return err;
}

rv__segmented_t *rv__segmented_of(const rv_kv_store_t *store) {
    const rv_kv_store_t *s = store;
    while (s && rv__store_inner(s))
        s = rv__store_inner(s);
    if (!s || rv__store_kind(s) != RV__STORE_INNER)
        return NULL;
    const rv_kv_store_ops_t *ops = rv__store_ops(s);
    if (ops != &seg_ops_rocksdb && ops != &seg_ops_memory)
        return NULL;
    return rv__store_opaque(s);
}

const rv__segmented_conf_t *rv__segmented_conf(const rv__segmented_t *ss) {
    return &ss->conf;
}

int64_t rv__segmented_observed(const rv__segmented_t *ss) {
    return ss->observed > ss->put_time ? ss->observed : ss->put_time;
}

void rv__segmented_note_put(rv__segmented_t *ss, int64_t ts) {
    if (ts > ss->put_time)
        ss->put_time = ts;
}

int32_t rv__segmented_next_seqnum(rv__segmented_t *ss) {
    ss->seqnum = (int32_t)(((uint32_t)ss->seqnum + 1) & 0x7fffffffu);
    return ss->seqnum;
}

size_t rv__segmented_ids(const rv__segmented_t *ss, int64_t *ids, size_t max) {
    for (size_t i = 0; i < ss->cnt && i < max; i++)
        ids[i] = ss->segs[i].id;
    return ss->cnt;
}

void rv__segmented_scope(rv__segmented_t *ss, int64_t id) {
    ss->scope = id;
    ss->has_scope = id >= 0;
}
