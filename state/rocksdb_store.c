/* state/rocksdb_store.c: the persistent key-value store
 * (Stores.persistentKeyValueStore), one RocksDB database per store per
 * task, opened and tuned as Kafka Streams' RocksDBStore opens it.
 *
 * DESIGN
 * Tuning (RocksDBStore.openDB): a 50 MiB LRU block cache, 4 KiB blocks and
 * a full bloom filter (10 bits per key) in block-based tables, filters
 * optimized for hits, 16 MiB write buffers with at most 3 of them, no
 * compression, universal compaction, parallelism max(#cpus, 2), info log at
 * ERROR level. Beyond Kafka's settings, two that change no data, only
 * how fast a key is found, since a store is read key by key on every
 * record (a count reads before it writes): data blocks carry a hash index
 * beside their binary-search index (data_block_index_type
 * kDataBlockBinaryAndHash, hash ratio 0.75), and the memtables keep a
 * bloom filter of whole keys (memtable_whole_key_filtering, 10% of the
 * write buffer), so a read of a key the memtables lack skips their skip
 * lists. A batch of writes (put_all) is applied in key order, which makes
 * its memtable inserts much cheaper and changes nothing else, the batch
 * being atomic. Writes skip the write-ahead log: the changelog topic is the
 * store's durability, and the runtime flushes the store (memtables to SST
 * files, waiting for the flush) at every commit before it writes the
 * checkpoint, so the checkpoint never claims more than the files hold.
 *
 * Iterators are RocksDB iterators, each a consistent point-in-time view of
 * the database (it pins the memtables and files it started with), so
 * writes made while an iterator is open are not seen by it. Bounds are
 * checked by key comparison: forward ranges Seek(from) and stop after `to`,
 * reverse ranges SeekForPrev(to) and stop before `from`.
 *
 * Open errors are returned, never fatal: RocksDB's LOCK file held by
 * another process gives RV_ERR__LOCKED, corrupt files RV_ERR__BAD_MSG. */
#include <errno.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errstr.h"
#include "common/fileio.h"
#include "state/store_internal.h"

#define RV__ROCKSDB_BLOCK_CACHE_SIZE (50ull * 1024 * 1024)
#define RV__ROCKSDB_BLOCK_SIZE 4096
#define RV__ROCKSDB_WRITE_BUFFER_SIZE (16ull * 1024 * 1024)
#define RV__ROCKSDB_MAX_WRITE_BUFFERS 3
#define RV__ROCKSDB_BLOOM_BITS_PER_KEY 10
#define RV__ROCKSDB_INFO_LOG_ERROR 3
#define RV__ROCKSDB_DATA_BLOCK_HASH_RATIO 0.75
#define RV__ROCKSDB_MEMTABLE_BLOOM_RATIO 0.1

typedef struct rdb_store_s {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_flushoptions_t *fopts;
    char *path;
} rdb_store_t;

typedef struct rdb_iter_s {
    rocksdb_iterator_t *it;
    void *bound; /* copy of the far bound (to, or from when reverse) */
    size_t bound_len;
    int has_bound, reverse, started;
    void *from; /* copy of the start bound */
    size_t from_len;
    int has_from;
} rdb_iter_t;

static rv_err_t rdb_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    rdb_store_t *rs = opaque;
    char *err = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get(rs->db, rs->ropts, key, key_len, &vlen, &err);
    if (err) {
        rocksdb_free(err);
        free(v);
        return RV_ERR__IO;
    }
    if (!v)
        return RV_ERR__NOENT;
    if (vlen == 0) {
        /* An empty value still has a non-NULL data pointer. */
        free(v);
        v = malloc(1);
        if (!v)
            return RV_ERR__NOMEM;
    }
    out->data = v;
    out->len = vlen;
    return RV_ERR_NO_ERROR;
}

static rv_err_t rdb_put(void *opaque, const void *key, size_t key_len, const void *value,
                        size_t value_len) {
    rdb_store_t *rs = opaque;
    char *err = NULL;
    if (value)
        rocksdb_put(rs->db, rs->wopts, key, key_len, value, value_len, &err);
    else
        rocksdb_delete(rs->db, rs->wopts, key, key_len, &err);
    if (err) {
        rocksdb_free(err);
        return RV_ERR__IO;
    }
    return RV_ERR_NO_ERROR;
}

static int entry_before(const rv_kv_entry_t *a, const rv_kv_entry_t *b) {
    return rv__key_cmp(a->key, a->key_len, b->key, b->key_len) <= 0;
}

/* Stable merge sort of entry pointers by key: equal keys keep their order,
 * so the later write of a key stays later in the batch and wins. */
static void sort_entries(const rv_kv_entry_t **v, const rv_kv_entry_t **tmp, size_t n) {
    if (n < 2)
        return;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++) {
            const rv_kv_entry_t *x = v[i];
            size_t j = i;
            while (j > 0 && !entry_before(v[j - 1], x)) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_entries(v, tmp, h);
    sort_entries(v + h, tmp, n - h);
    if (entry_before(v[h - 1], v[h]))
        return; /* already in order: the common case for sorted input */
    memcpy(tmp, v, h * sizeof *v);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        v[k++] = entry_before(tmp[i], v[j]) ? tmp[i++] : v[j++];
    while (i < h)
        v[k++] = tmp[i++];
}

static rv_err_t rdb_put_all(void *opaque, const rv_kv_entry_t *e, size_t cnt) {
    rdb_store_t *rs = opaque;
    /* The batch goes into the memtable, a skip list, in key order: each
     * insert then starts where the previous one ended instead of searching
     * from the top (RocksDB keeps that "splice" between inserts), which
     * makes a large batch of random keys several times cheaper. One batch
     * is applied atomically, so the order inside it changes nothing else.
     * Without memory for the sort the batch keeps the callers' order. */
    const rv_kv_entry_t **order = cnt > 1 ? malloc(2 * cnt * sizeof *order) : NULL;
    if (order) {
        for (size_t i = 0; i < cnt; i++)
            order[i] = &e[i];
        sort_entries(order, order + cnt, cnt);
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (!wb) {
        free(order);
        return RV_ERR__NOMEM;
    }
    for (size_t i = 0; i < cnt; i++) {
        const rv_kv_entry_t *x = order ? order[i] : &e[i];
        if (x->value)
            rocksdb_writebatch_put(wb, x->key, x->key_len, x->value, x->value_len);
        else
            rocksdb_writebatch_delete(wb, x->key, x->key_len);
    }
    free(order);
    char *err = NULL;
    rocksdb_write(rs->db, rs->wopts, wb, &err);
    rocksdb_writebatch_destroy(wb);
    if (err) {
        rocksdb_free(err);
        return RV_ERR__IO;
    }
    return RV_ERR_NO_ERROR;
}

static void rdb_iter_close(void *state) {
    rdb_iter_t *ri = state;
    if (ri->it)
        rocksdb_iter_destroy(ri->it);
    free(ri->bound);
    free(ri->from);
    free(ri);
}

static int copy_bound(void **dst, size_t *dst_len, int *has, const void *src, size_t len) {
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

static rv_err_t rdb_iter_open(void *opaque, void **iter, const void *from, size_t from_len,
                              const void *to, size_t to_len, int reverse) {
    rdb_store_t *rs = opaque;
    rdb_iter_t *ri = calloc(1, sizeof(*ri));
    if (!ri)
        return RV_ERR__NOMEM;
    ri->reverse = reverse;
    const void *start = reverse ? to : from, *far = reverse ? from : to;
    size_t start_len = reverse ? to_len : from_len, far_len = reverse ? from_len : to_len;
    if (copy_bound(&ri->from, &ri->from_len, &ri->has_from, start, start_len) ||
        copy_bound(&ri->bound, &ri->bound_len, &ri->has_bound, far, far_len)) {
        rdb_iter_close(ri);
        return RV_ERR__NOMEM;
    }
    ri->it = rocksdb_create_iterator(rs->db, rs->ropts);
    if (!ri->it) {
        rdb_iter_close(ri);
        return RV_ERR__NOMEM;
    }
    *iter = ri;
    return RV_ERR_NO_ERROR;
}

static int rdb_iter_next(void *state, const void **key, size_t *key_len, const void **value,
                         size_t *value_len) {
    rdb_iter_t *ri = state;
    if (!ri->started) {
        ri->started = 1;
        if (ri->reverse) {
            if (ri->has_from)
                rocksdb_iter_seek_for_prev(ri->it, ri->from, ri->from_len);
            else
                rocksdb_iter_seek_to_last(ri->it);
        } else {
            if (ri->has_from)
                rocksdb_iter_seek(ri->it, ri->from, ri->from_len);
            else
                rocksdb_iter_seek_to_first(ri->it);
        }
    } else if (ri->reverse) {
        rocksdb_iter_prev(ri->it);
    } else {
        rocksdb_iter_next(ri->it);
    }
    if (!rocksdb_iter_valid(ri->it)) {
        char *err = NULL;
        rocksdb_iter_get_error(ri->it, &err);
        if (err) {
            rocksdb_free(err);
            return RV_ERR__IO;
        }
        return 0;
    }
    size_t klen;
    const char *k = rocksdb_iter_key(ri->it, &klen);
    if (ri->has_bound) {
        int c = rv__key_cmp(k, klen, ri->bound, ri->bound_len);
        if (ri->reverse ? c < 0 : c > 0)
            return 0;
    }
    size_t vlen;
    const char *v = rocksdb_iter_value(ri->it, &vlen);
    *key = k;
    *key_len = klen;
    *value = v ? v : "";
    *value_len = vlen;
    return 1;
}

static int64_t rdb_count(void *opaque) {
    rdb_store_t *rs = opaque;
    char *v = rocksdb_property_value(rs->db, "rocksdb.estimate-num-keys");
    if (!v)
        return -1;
    int64_t n = strtoll(v, NULL, 10);
    rocksdb_free(v);
    return n < 0 ? 0 : n;
}

static rv_err_t rdb_flush(void *opaque) {
    rdb_store_t *rs = opaque;
    char *err = NULL;
    rocksdb_flush(rs->db, rs->fopts, &err);
    if (err) {
        rocksdb_free(err);
        return RV_ERR__IO;
    }
    return RV_ERR_NO_ERROR;
}

static void rdb_close(void *opaque) {
    rdb_store_t *rs = opaque;
    if (rs->db)
        rocksdb_close(rs->db);
    if (rs->opts)
        rocksdb_options_destroy(rs->opts);
    if (rs->table)
        rocksdb_block_based_options_destroy(rs->table);
    if (rs->cache)
        rocksdb_cache_destroy(rs->cache);
    if (rs->ropts)
        rocksdb_readoptions_destroy(rs->ropts);
    if (rs->wopts)
        rocksdb_writeoptions_destroy(rs->wopts);
    if (rs->fopts)
        rocksdb_flushoptions_destroy(rs->fopts);
    free(rs->path);
    free(rs);
}

static const rv_kv_store_ops_t rdb_ops = {
    .version = RV_KV_STORE_OPS_VERSION,
    .persistent = 1,
    .get = rdb_get,
    .put = rdb_put,
    .put_all = rdb_put_all,
    .iter_open = rdb_iter_open,
    .iter_next = rdb_iter_next,
    .iter_close = rdb_iter_close,
    .approximate_num_entries = rdb_count,
    .flush = rdb_flush,
    .close = rdb_close,
};

/* RocksDB reports failures as text made of a status prefix, a message and
 * often the file path; map them to codes by the status text alone, since a
 * folder name may contain any word ("LOCK", "corrupt"). The lock-file
 * failures are PosixEnv::LockFile's: "IO error: While lock file: <path>:
 * Resource temporarily unavailable" when another process holds the lock,
 * "IO error: lock hold by current process, ..." when this one does.
 * Status::Corruption always starts with "Corruption: ". */
static rv_err_t open_error_code(const char *msg) {
    static const char lock_other[] = "IO error: While lock file";
    static const char lock_self[] = "IO error: lock hold by current process";
    static const char corruption[] = "Corruption: ";
    if (strncmp(msg, lock_other, sizeof lock_other - 1) == 0 ||
        strncmp(msg, lock_self, sizeof lock_self - 1) == 0)
        return RV_ERR__LOCKED;
    if (strncmp(msg, corruption, sizeof corruption - 1) == 0)
        return RV_ERR__BAD_MSG;
    return RV_ERR__IO;
}

rv_err_t rv__rocksdb_store_open(rv_kv_store_t **out, const char *name, const char *path,
                                char *errstr, size_t errstr_size) {
    *out = NULL;
    if (rv__io_mkdirs(path, 0755) != 0) {
        rv__errstr_set(errstr, errstr_size, "store %s: cannot create folder %s: %s", name, path,
                       strerror(errno));
        return RV_ERR__IO;
    }
    rdb_store_t *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return RV_ERR__NOMEM;
    rs->path = strdup(path);
    rs->opts = rocksdb_options_create();
    rs->table = rocksdb_block_based_options_create();
    rs->cache = rocksdb_cache_create_lru(RV__ROCKSDB_BLOCK_CACHE_SIZE);
    rs->ropts = rocksdb_readoptions_create();
    rs->wopts = rocksdb_writeoptions_create();
    rs->fopts = rocksdb_flushoptions_create();
    rocksdb_filterpolicy_t *bloom =
        rocksdb_filterpolicy_create_bloom_full(RV__ROCKSDB_BLOOM_BITS_PER_KEY);
    if (!rs->path || !rs->opts || !rs->table || !rs->cache || !rs->ropts || !rs->wopts ||
        !rs->fopts || !bloom) {
        if (bloom)
            rocksdb_filterpolicy_destroy(bloom);
        rdb_close(rs);
        return RV_ERR__NOMEM;
    }

    rocksdb_block_based_options_set_block_cache(rs->table, rs->cache);
    rocksdb_block_based_options_set_block_size(rs->table, RV__ROCKSDB_BLOCK_SIZE);
    /* Point reads: a hash index inside each data block finds a key
     * without the binary search, and a bloom filter over the memtable's
     * whole keys answers most reads of keys the memtable lacks without
     * searching its skip list (see DESIGN). */
    rocksdb_block_based_options_set_data_block_index_type(
        rs->table, rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
    rocksdb_block_based_options_set_data_block_hash_ratio(rs->table,
                                                          RV__ROCKSDB_DATA_BLOCK_HASH_RATIO);
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(rs->opts,
                                                         RV__ROCKSDB_MEMTABLE_BLOOM_RATIO);
    rocksdb_options_set_memtable_whole_key_filtering(rs->opts, 1);
    /* The table options take ownership of the filter policy. */
    rocksdb_block_based_options_set_filter_policy(rs->table, bloom);
    rocksdb_options_set_optimize_filters_for_hits(rs->opts, 1);
    rocksdb_options_set_block_based_table_factory(rs->opts, rs->table);
    rocksdb_options_set_write_buffer_size(rs->opts, RV__ROCKSDB_WRITE_BUFFER_SIZE);
    rocksdb_options_set_compression(rs->opts, rocksdb_no_compression);
    rocksdb_options_set_compaction_style(rs->opts, rocksdb_universal_compaction);
    rocksdb_options_set_max_write_buffer_number(rs->opts, RV__ROCKSDB_MAX_WRITE_BUFFERS);
    rocksdb_options_set_create_if_missing(rs->opts, 1);
    rocksdb_options_set_error_if_exists(rs->opts, 0);
    rocksdb_options_set_info_log_level(rs->opts, RV__ROCKSDB_INFO_LOG_ERROR);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    rocksdb_options_increase_parallelism(rs->opts, cpus > 2 ? (int)cpus : 2);
    rocksdb_writeoptions_disable_WAL(rs->wopts, 1);
    rocksdb_flushoptions_set_wait(rs->fopts, 1);

    char *err = NULL;
    rs->db = rocksdb_open(rs->opts, path, &err);
    if (err || !rs->db) {
        const char *msg = err ? err : "unknown error";
        rv_err_t code = open_error_code(msg);
        rv__errstr_set(errstr, errstr_size, "store %s: cannot open RocksDB in %s: %s", name, path,
                       msg);
        rocksdb_free(err);
        if (rs->db) {
            rocksdb_close(rs->db);
            rs->db = NULL;
        }
        rdb_close(rs);
        return code;
    }
    rv_err_t e = rv__kv_store_new(out, &rdb_ops, rs, name, RV__STORE_INNER, NULL);
    if (e)
        rdb_close(rs);
    return e;
}
