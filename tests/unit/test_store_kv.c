/* tests/unit/test_store_kv.c: the key-value store interface (state/store.c)
 * on every store kind through the same test code: RocksDB in a temporary
 * folder (state/rocksdb_store.c), in-memory (state/memory_store.c), a
 * user-supplied store (rv_kv_store_new_custom), and the wrapped stacks the
 * runtime builds (changelog, cache). Also the builders, RocksDB reopen and
 * open errors, and a randomized comparison of all kinds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#include "common/fileio.h"
#include "rivulet/store.h"
#include "state/store_internal.h"

typedef enum { K_MEMORY, K_ROCKSDB, K_CUSTOM, K_LOGGED, K_CACHED, K_CACHED_TINY } kind_t;

typedef struct fx_s {
    kind_t kind;
    char *dir;
    rv_kv_store_t *s;
    int changes; /* changelog callbacks seen */
} fx_t;

/* ---- A user-supplied store: forwards to an in-memory store ---- */

static rv_err_t cu_get(void *o, rv_bytes_t *out, const void *k, size_t kl) {
    return rv_kv_store_get(out, o, k, kl);
}
static rv_err_t cu_put(void *o, const void *k, size_t kl, const void *v, size_t vl) {
    return rv_kv_store_put(o, k, kl, v, vl);
}
static rv_err_t cu_iter_open(void *o, void **iter, const void *f, size_t fl, const void *t,
                             size_t tl, int reverse) {
    rv_kv_iter_t *it;
    rv_err_t err = reverse ? rv_kv_store_reverse_range(&it, o, f, fl, t, tl)
                           : rv_kv_store_range(&it, o, f, fl, t, tl);
    if (!err)
        *iter = it;
    return err;
}
static int cu_iter_next(void *iter, const void **k, size_t *kl, const void **v, size_t *vl) {
    int r = rv_kv_iter_next(iter);
    if (r == 1) {
        *k = rv_kv_iter_key(iter, kl);
        *v = rv_kv_iter_value(iter, vl);
    }
    return r;
}
static void cu_iter_close(void *iter) {
    rv_kv_iter_destroy(iter);
}
static void cu_close(void *o) {
    rv_kv_store_destroy(o);
}
static const rv_kv_store_ops_t custom_ops = {
    .version = RV_KV_STORE_OPS_VERSION,
    .get = cu_get,
    .put = cu_put,
    .iter_open = cu_iter_open,
    .iter_next = cu_iter_next,
    .iter_close = cu_iter_close,
    .close = cu_close,
};

static rv_err_t count_change(const void *k, size_t kl, const void *v, size_t vl, void *opaque) {
    (void)k, (void)kl, (void)v, (void)vl;
    ((fx_t *)opaque)->changes++;
    return RV_ERR_NO_ERROR;
}

static rv_kv_store_t *open_kind(fx_t *fx, const char *name) {
    rv_kv_store_t *s = NULL, *inner = NULL;
    char err[512] = "";
    switch (fx->kind) {
    case K_ROCKSDB: {
        char path[4200];
        snprintf(path, sizeof path, "%s/rocksdb/%s", fx->dir, name);
        assert_int_equal(rv__rocksdb_store_open(&s, name, path, err, sizeof err), 0);
        break;
    }
    case K_CUSTOM: {
        assert_int_equal(rv__memory_store_new(&inner, name), 0);
        assert_int_equal(rv_kv_store_new_custom(&s, &custom_ops, inner, name), 0);
        break;
    }
    case K_LOGGED:
        assert_int_equal(rv__memory_store_new(&inner, name), 0);
        assert_int_equal(rv__changelog_wrap(&s, inner, count_change, fx), 0);
        break;
    case K_CACHED:
    case K_CACHED_TINY: {
        /* cache over changelog over RocksDB: the runtime's full stack */
        char path[4200];
        rv_kv_store_t *logged;
        snprintf(path, sizeof path, "%s/rocksdb/%s", fx->dir, name);
        assert_int_equal(rv__rocksdb_store_open(&inner, name, path, err, sizeof err), 0);
        assert_int_equal(rv__changelog_wrap(&logged, inner, count_change, fx), 0);
        assert_int_equal(
            rv__cache_wrap(&s, logged, fx->kind == K_CACHED ? 1 << 20 : 200, NULL, NULL), 0);
        break;
    }
    case K_MEMORY:
    default:
        assert_int_equal(rv__memory_store_new(&s, name), 0);
        break;
    }
    return s;
}

static int setup_kind(void **state, kind_t kind) {
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->kind = kind;
    fx->dir = rvt_tmpdir();
    fx->s = open_kind(fx, "store");
    *state = fx;
    return 0;
}
static int setup_memory(void **state) {
    return setup_kind(state, K_MEMORY);
}
static int setup_rocksdb(void **state) {
    return setup_kind(state, K_ROCKSDB);
}
static int setup_custom(void **state) {
    return setup_kind(state, K_CUSTOM);
}
static int setup_logged(void **state) {
    return setup_kind(state, K_LOGGED);
}
static int setup_cached(void **state) {
    return setup_kind(state, K_CACHED);
}
static int setup_cached_tiny(void **state) {
    return setup_kind(state, K_CACHED_TINY);
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rv_kv_store_destroy(fx->s);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void put_s(rv_kv_store_t *s, const char *k, const char *v) {
    assert_int_equal(rv_kv_store_put(s, k, strlen(k), v, v ? strlen(v) : 0), 0);
}

/* Fails unless key k holds v (NULL: no value). */
static void expect_get(rv_kv_store_t *s, const char *k, const char *v) {
    rv_bytes_t b;
    rv_err_t err = rv_kv_store_get(&b, s, k, strlen(k));
    if (!v) {
        assert_int_equal(err, RV_ERR__NOENT);
        assert_null(b.data);
        return;
    }
    assert_int_equal(err, 0);
    assert_non_null(b.data);
    assert_int_equal(b.len, strlen(v));
    assert_memory_equal(b.data, v, b.len);
    rv_bytes_free(&b);
}

/* Concatenates "key=value;" of what the iterator gives, then destroys it. */
static char *drain(rv_kv_iter_t *it) {
    rv__buf_t b = RV__BUF_INIT;
    int r;
    while ((r = rv_kv_iter_next(it)) == 1) {
        size_t kl, vl;
        const void *k = rv_kv_iter_key(it, &kl), *v = rv_kv_iter_value(it, &vl);
        assert_non_null(v);
        rv__buf_append(&b, k, kl);
        rv__buf_append(&b, "=", 1);
        rv__buf_append(&b, v, vl);
        rv__buf_append(&b, ";", 1);
    }
    assert_int_equal(r, 0);
    assert_int_equal(rv_kv_iter_next(it), 0); /* the end is sticky */
    rv_kv_iter_destroy(it);
    rv__buf_put_u8(&b, 0);
    return (char *)b.data;
}

static void expect_scan(rv_kv_iter_t *it, const char *want) {
    char *got = drain(it);
    assert_string_equal(got, want);
    free(got);
}

static void test_get_put_delete(void **state) {
    fx_t *fx = *state;
    rv_kv_store_t *s = fx->s;
    assert_string_equal(rv_kv_store_name(s), "store");
    assert_int_equal(rv_kv_store_persistent(s),
                     fx->kind == K_ROCKSDB || fx->kind == K_CACHED || fx->kind == K_CACHED_TINY);
    expect_get(s, "a", NULL);
    put_s(s, "a", "1");
    expect_get(s, "a", "1");
    put_s(s, "a", "22");
    expect_get(s, "a", "22");

    /* an empty value is a value, not a delete */
    assert_int_equal(rv_kv_store_put(s, "e", 1, "", 0), 0);
    rv_bytes_t b;
    assert_int_equal(rv_kv_store_get(&b, s, "e", 1), 0);
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    rv_bytes_free(&b);

    /* delete returns the old value; deleting again returns none */
    assert_int_equal(rv_kv_store_delete(&b, s, "a", 1), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "22", 2);
    rv_bytes_free(&b);
    expect_get(s, "a", NULL);
    assert_int_equal(rv_kv_store_delete(&b, s, "a", 1), 0);
    assert_null(b.data);
    assert_int_equal(rv_kv_store_delete(NULL, s, "zz", 2), 0);

    /* put(key, NULL) deletes, as Kafka's put(key, null) */
    put_s(s, "n", "x");
    put_s(s, "n", NULL);
    expect_get(s, "n", NULL);

    /* binary keys and values with NUL bytes */
    const char bk[] = {'k', 0, 'x'}, bv[] = {0, 1, 0, 2};
    assert_int_equal(rv_kv_store_put(s, bk, sizeof bk, bv, sizeof bv), 0);
    assert_int_equal(rv_kv_store_get(&b, s, bk, sizeof bk), 0);
    assert_int_equal(b.len, sizeof bv);
    assert_memory_equal(b.data, bv, sizeof bv);
    rv_bytes_free(&b);
    expect_get(s, "k", NULL);
}

static void test_put_if_absent_put_all(void **state) {
    fx_t *fx = *state;
    rv_kv_store_t *s = fx->s;
    rv_bytes_t b;
    assert_int_equal(rv_kv_store_put_if_absent(&b, s, "k", 1, "v1", 2), 0);
    assert_null(b.data);
    expect_get(s, "k", "v1");
    assert_int_equal(rv_kv_store_put_if_absent(&b, s, "k", 1, "v2", 2), 0);
    assert_non_null(b.data);
    assert_memory_equal(b.data, "v1", 2);
    rv_bytes_free(&b);
    expect_get(s, "k", "v1");
    assert_int_equal(rv_kv_store_put_if_absent(NULL, s, "k", 1, "v3", 2), 0);
    expect_get(s, "k", "v1");

    rv_kv_entry_t e[] = {
        {"a", 1, "1", 1}, {"b", 1, "2", 1}, {"k", 1, NULL, 0}, {"a", 1, "3", 1}, {"c", 1, "", 0},
    };
    assert_int_equal(rv_kv_store_put_all(s, e, 5), 0);
    expect_get(s, "a", "3"); /* applied in order */
    expect_get(s, "b", "2");
    expect_get(s, "k", NULL);
    expect_get(s, "c", "");
    assert_int_equal(rv_kv_store_put_all(s, NULL, 0), 0);
}

/* A batch larger than any small-batch path, keys out of order and
 * repeated, puts and deletes mixed: the last write of each key wins
 * (RocksDB sorts the batch by key before applying it). */
static void test_put_all_unordered(void **state) {
    fx_t *fx = *state;
    rv_kv_store_t *s = fx->s;
    enum { N = 300, KEYS = 100 };
    static char keys[N][8], vals[N][8];
    rv_kv_entry_t e[N];
    int last[KEYS];
    for (int i = 0; i < N; i++) {
        int k = (i * 7) % KEYS;
        snprintf(keys[i], sizeof keys[i], "key%03d", k);
        snprintf(vals[i], sizeof vals[i], "%d", i);
        e[i].key = keys[i];
        e[i].key_len = strlen(keys[i]);
        e[i].value = i % 11 == 0 ? NULL : vals[i];
        e[i].value_len = i % 11 == 0 ? 0 : strlen(vals[i]);
        last[k] = i;
    }
    assert_int_equal(rv_kv_store_put_all(s, e, N), 0);
    for (int k = 0; k < KEYS; k++) {
        char key[8];
        snprintf(key, sizeof key, "key%03d", k);
        expect_get(s, key, e[last[k]].value ? vals[last[k]] : NULL);
    }
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_range(&it, s, "key010", 6, "key012", 6), 0);
    char want[64] = "", part[24];
    for (int k = 10; k <= 12; k++)
        if (e[last[k]].value) {
            snprintf(part, sizeof part, "key%03d=%s;", k, vals[last[k]]);
            strcat(want, part);
        }
    expect_scan(it, want);
}

static void fill(rv_kv_store_t *s) {
    /* inserted out of order; byte-wise order is: "" < a < a\0 < ab < b < \xff */
    const char *keys[] = {"b", "ab", "\xff", "a"};
    for (int i = 0; i < 4; i++)
        put_s(s, keys[i], keys[i][0] == '\xff' ? "ff" : keys[i]);
    assert_int_equal(rv_kv_store_put(s, "a\0", 2, "a0", 2), 0);
}

static void test_range_order(void **state) {
    fx_t *fx = *state;
    rv_kv_store_t *s = fx->s;
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, s), 0);
    expect_scan(it, ""); /* empty store */
    fill(s);
    assert_int_equal(rv_kv_store_all(&it, s), 0);
    char *got = drain(it);
    assert_int_equal(memcmp(got, "a=a;a\0=a0;ab=ab;b=b;\xff=ff;", 25), 0);
    free(got);
    assert_int_equal(rv_kv_store_reverse_all(&it, s), 0);
    got = drain(it);
    assert_int_equal(memcmp(got, "\xff=ff;b=b;ab=ab;a\0=a0;a=a;", 25), 0);
    free(got);

    /* inclusive bounds */
    assert_int_equal(rv_kv_store_range(&it, s, "ab", 2, "b", 1), 0);
    expect_scan(it, "ab=ab;b=b;");
    assert_int_equal(rv_kv_store_reverse_range(&it, s, "ab", 2, "b", 1), 0);
    expect_scan(it, "b=b;ab=ab;");
    /* bounds that are not keys */
    assert_int_equal(rv_kv_store_range(&it, s, "aa", 2, "az", 2), 0);
    expect_scan(it, "ab=ab;");
    assert_int_equal(rv_kv_store_reverse_range(&it, s, "aa", 2, "az", 2), 0);
    expect_scan(it, "ab=ab;");
    /* open bounds */
    assert_int_equal(rv_kv_store_range(&it, s, "b", 1, NULL, 0), 0);
    expect_scan(it, "b=b;\xff=ff;");
    assert_int_equal(rv_kv_store_range(&it, s, NULL, 0, "a", 1), 0);
    expect_scan(it, "a=a;");
    assert_int_equal(rv_kv_store_reverse_range(&it, s, NULL, 0, "a\0", 2), 0);
    got = drain(it);
    assert_int_equal(memcmp(got, "a\0=a0;a=a;", 10), 0);
    free(got);
    assert_int_equal(rv_kv_store_reverse_range(&it, s, "b", 1, NULL, 0), 0);
    expect_scan(it, "\xff=ff;b=b;");
    /* from > to is empty, both directions */
    assert_int_equal(rv_kv_store_range(&it, s, "b", 1, "a", 1), 0);
    expect_scan(it, "");
    assert_int_equal(rv_kv_store_reverse_range(&it, s, "b", 1, "a", 1), 0);
    expect_scan(it, "");
    /* a single key */
    assert_int_equal(rv_kv_store_range(&it, s, "b", 1, "b", 1), 0);
    expect_scan(it, "b=b;");

    int64_t n = rv_kv_store_approximate_num_entries(s);
    if (fx->kind == K_ROCKSDB || fx->kind == K_CACHED || fx->kind == K_CACHED_TINY) {
        assert_int_equal(rv_kv_store_flush(s), 0);
        n = rv_kv_store_approximate_num_entries(s);
        assert_true(n >= 4 && n <= 6);
    } else {
        assert_int_equal(n, 5);
    }
}

static void test_iter_during_writes(void **state) {
    fx_t *fx = *state;
    rv_kv_store_t *s = fx->s;
    put_s(s, "k1", "v1");
    put_s(s, "k2", "v2");
    put_s(s, "k3", "v3");
    rv_kv_iter_t *it, *it2;
    assert_int_equal(rv_kv_store_all(&it, s), 0);
    assert_int_equal(rv_kv_store_reverse_all(&it2, s), 0);
    assert_int_equal(rv_kv_iter_next(it), 1);
    size_t kl;
    assert_memory_equal(rv_kv_iter_key(it, &kl), "k1", 2);
    /* writes while both iterators are open */
    put_s(s, "k0", "new");
    put_s(s, "k25", "new");
    put_s(s, "k2", "v2b");
    put_s(s, "k3", NULL);
    for (int i = 0; i < 300; i++) { /* enough to evict from the tiny cache */
        char k[16];
        snprintf(k, sizeof k, "z%03d", i);
        put_s(s, k, "filler-value");
    }
    char *rest = drain(it);
    char *rev = drain(it2);
    if (fx->kind == K_MEMORY || fx->kind == K_CUSTOM || fx->kind == K_LOGGED) {
        /* Kafka's in-memory store: keys fixed at creation, values read
         * when reached, deleted keys skipped */
        assert_string_equal(rest, "k2=v2b;");
        assert_string_equal(rev, "k2=v2b;k1=v1;");
    } else {
        /* point-in-time view */
        assert_string_equal(rest, "k2=v2;k3=v3;");
        assert_string_equal(rev, "k3=v3;k2=v2;k1=v1;");
    }
    free(rest);
    free(rev);
    assert_int_equal(rv_kv_store_range(&it, s, "k", 1, "k9", 2), 0);
    expect_scan(it, "k0=new;k1=v1;k2=v2b;k25=new;");
}

static void test_destroy_closes_iterators(void **state) {
    fx_t *fx = *state;
    fill(fx->s);
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, fx->s), 0);
    assert_int_equal(rv_kv_iter_next(it), 1);
    rv_kv_store_destroy(fx->s);
    fx->s = NULL;
    /* the current entry was borrowed from the closed iterator: gone too */
    size_t kl = 99, vl = 99;
    assert_null(rv_kv_iter_key(it, &kl));
    assert_null(rv_kv_iter_value(it, &vl));
    assert_int_equal(kl, 0);
    assert_int_equal(vl, 0);
    assert_int_equal(rv_kv_iter_next(it), RV_ERR__STATE);
    assert_null(rv_kv_iter_key(it, NULL));
    rv_kv_iter_destroy(it);
    rv_kv_iter_destroy(NULL);
    rv_kv_store_destroy(NULL);
}

/* An empty key (and an empty value) is a valid pointer with length 0. */
static void test_empty_key(void **state) {
    fx_t *fx = *state;
    assert_int_equal(rv_kv_store_put(fx->s, "", 0, "v", 1), 0);
    assert_int_equal(rv_kv_store_put(fx->s, "e", 1, "", 0), 0);
    for (int reverse = 0; reverse < 2; reverse++) {
        rv_kv_iter_t *it;
        assert_int_equal(
            reverse ? rv_kv_store_reverse_all(&it, fx->s) : rv_kv_store_all(&it, fx->s), 0);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(rv_kv_iter_next(it), 1);
            size_t kl = 99, vl = 99;
            const char *k = rv_kv_iter_key(it, &kl), *v = rv_kv_iter_value(it, &vl);
            assert_non_null(k);
            assert_non_null(v);
            int empty_key = (i == 0) != reverse;
            assert_int_equal(kl, empty_key ? 0 : 1);
            assert_int_equal(vl, empty_key ? 1 : 0);
        }
        assert_int_equal(rv_kv_iter_next(it), 0);
        rv_kv_iter_destroy(it);
    }
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_range(&it, fx->s, "", 0, "", 0), 0);
    assert_int_equal(rv_kv_iter_next(it), 1);
    size_t kl = 99;
    assert_non_null(rv_kv_iter_key(it, &kl));
    assert_int_equal(kl, 0);
    assert_int_equal(rv_kv_iter_next(it), 0);
    rv_kv_iter_destroy(it);
}

/* Random operations applied to every kind at once must leave every kind
 * with the same contents, scanned in both directions and by range. */
static void test_randomized_all_kinds(void **state) {
    (void)state;
    fx_t fx[6];
    memset(fx, 0, sizeof fx);
    char *dir = rvt_tmpdir();
    for (int k = 0; k < 6; k++) {
        fx[k].kind = (kind_t)k;
        fx[k].dir = dir;
        char name[16];
        snprintf(name, sizeof name, "s%d", k);
        fx[k].s = open_kind(&fx[k], name);
    }
    unsigned seed = 12345;
    for (int op = 0; op < 3000; op++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 8;
        char key[16], val[32];
        snprintf(key, sizeof key, "key%03u", r % 200);
        snprintf(val, sizeof val, "v%u", r % 100000);
        int what = (int)(r % 10);
        for (int k = 0; k < 6; k++) {
            if (what < 6) {
                put_s(fx[k].s, key, val);
            } else if (what < 8) {
                assert_int_equal(rv_kv_store_delete(NULL, fx[k].s, key, strlen(key)), 0);
            } else if (what < 9) {
                assert_int_equal(
                    rv_kv_store_put_if_absent(NULL, fx[k].s, key, strlen(key), val, strlen(val)),
                    0);
            } else {
                rv_bytes_t b;
                rv_err_t e = rv_kv_store_get(&b, fx[k].s, key, strlen(key));
                assert_true(e == 0 || e == RV_ERR__NOENT);
                rv_bytes_free(&b);
            }
        }
        if (op % 500 == 499) {
            rv_kv_iter_t *it;
            char *want = NULL;
            for (int k = 0; k < 6; k++) {
                for (int dirn = 0; dirn < 3; dirn++) {
                    if (dirn == 0)
                        assert_int_equal(rv_kv_store_all(&it, fx[k].s), 0);
                    else if (dirn == 1)
                        assert_int_equal(rv_kv_store_reverse_all(&it, fx[k].s), 0);
                    else
                        assert_int_equal(rv_kv_store_range(&it, fx[k].s, "key050", 6, "key150", 6),
                                         0);
                    char *got = drain(it);
                    if (k == 0 && dirn == 0) {
                        want = got;
                        continue;
                    }
                    if (dirn == 0)
                        assert_string_equal(got, want);
                    free(got);
                }
            }
            free(want);
        }
    }
    for (int k = 0; k < 6; k++)
        rv_kv_store_destroy(fx[k].s);
    rvt_rmtree(dir);
    free(dir);
}

static void test_rocksdb_reopen_and_errors(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/db", dir);
    rv_kv_store_t *s, *s2;
    assert_int_equal(rv__rocksdb_store_open(&s, "db", path, err, sizeof err), 0);
    put_s(s, "persist", "yes");
    assert_int_equal(rv_kv_store_flush(s), 0);

    /* a second open of an open store: RocksDB's LOCK file */
    err[0] = 0;
    assert_int_equal(rv__rocksdb_store_open(&s2, "db", path, err, sizeof err), RV_ERR__LOCKED);
    assert_null(s2);
    rvt_assert_contains(err, path);
    rv_kv_store_destroy(s);

    assert_int_equal(rv__rocksdb_store_open(&s, "db", path, err, sizeof err), 0);
    expect_get(s, "persist", "yes");
    rv_kv_store_destroy(s);

    /* corrupt files: a clear error, no abort */
    char cur[4300];
    snprintf(cur, sizeof cur, "%s/CURRENT", path);
    rvt_write_file(cur, "garbage-without-newline", 23);
    err[0] = 0;
    rv_err_t e = rv__rocksdb_store_open(&s, "db", path, err, sizeof err);
    assert_int_not_equal(e, 0);
    assert_null(s);
    rvt_assert_contains(err, "cannot open RocksDB");

    /* a path that is a file */
    snprintf(cur, sizeof cur, "%s/afile", dir);
    rvt_write_file(cur, "x", 1);
    assert_int_not_equal(rv__rocksdb_store_open(&s, "f", cur, err, sizeof err), 0);
    assert_null(s);
    rvt_rmtree(dir);
    free(dir);
}

/* Open errors are classified by RocksDB's status text only, never by the
 * folder path in its message: a folder named LOCK... or ...corrupt... that
 * fails to open for another reason (CURRENT is a folder) is an I/O error. */
static void test_rocksdb_error_classes(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    const char *names[] = {"LOCKtest", "corrupt_x", "Corruption", "plain"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[4200], cur[4300], err[1024] = "";
        snprintf(path, sizeof path, "%s/%s/db", dir, names[i]);
        snprintf(cur, sizeof cur, "%s/CURRENT", path);
        assert_int_equal(rv__io_mkdirs(cur, 0755), 0);
        rv_kv_store_t *s;
        assert_int_equal(rv__rocksdb_store_open(&s, "s", path, err, sizeof err), RV_ERR__IO);
        assert_null(s);
        rvt_assert_contains(err, path);
    }
    /* the real lock failure and real corruption, in such folders */
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/LOCK-corrupt/db", dir);
    rv_kv_store_t *s, *s2;
    assert_int_equal(rv__rocksdb_store_open(&s, "s", path, err, sizeof err), 0);
    assert_int_equal(rv__rocksdb_store_open(&s2, "s", path, err, sizeof err), RV_ERR__LOCKED);
    rv_kv_store_destroy(s);
    char cur[4300];
    snprintf(cur, sizeof cur, "%s/CURRENT", path);
    /* RocksDB: "Corruption: CURRENT file does not end with newline" */
    rvt_write_file(cur, "garbage-without-newline", 23);
    assert_int_equal(rv__rocksdb_store_open(&s, "s", path, err, sizeof err), RV_ERR__BAD_MSG);
    assert_null(s);
    rvt_assert_contains(err, "Corruption: ");
    rvt_rmtree(dir);
    free(dir);
}

/* Store names follow Kafka's topic name rules; nothing can lead a store's
 * folder out of the task's folder. */
static void test_store_names(void **state) {
    (void)state;
    char err[512];
    const char *bad[] = {"../../escaped", "..", ".", "a/b", "a b", "st\xc3\xa9", "x\\y", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(rv_store_name_validate(bad[i], err, sizeof err), RV_ERR__INVALID_ARG);
        assert_true(err[0] != 0);
        if (*bad[i])
            rvt_assert_contains(err, bad[i]);
        assert_null(rv_store_builder_persistent_kv(bad[i]));
        assert_null(rv_store_builder_in_memory_kv(bad[i]));
    }
    assert_int_equal(rv_store_name_validate("../../escaped", err, sizeof err), RV_ERR__INVALID_ARG);
    assert_string_equal(err, "Name \"../../escaped\" is illegal, it contains a character other "
                             "than ASCII alphanumerics, '.', '_' and '-'");
    assert_int_equal(rv_store_name_validate(NULL, err, sizeof err), RV_ERR__INVALID_ARG);
    char longname[251];
    memset(longname, 'a', 250);
    longname[250] = 0;
    assert_int_equal(rv_store_name_validate(longname, err, sizeof err), RV_ERR__INVALID_ARG);
    rvt_assert_contains(err, "can't be longer than 249 characters");
    longname[249] = 0;
    assert_int_equal(rv_store_name_validate(longname, err, sizeof err), 0);
    assert_int_equal(rv_store_name_validate("KSTREAM-AGGREGATE-STATE-STORE_0.1", err, sizeof err),
                     0);
    assert_int_equal(rv_store_name_validate("...", err, sizeof err), 0);

    /* a legal name stays in <dir>/rocksdb/<name>; nothing is made above */
    char *dir = rvt_tmpdir();
    char task[4200], p[4800];
    snprintf(task, sizeof task, "%s/app/0_0", dir);
    rv_store_builder_t *b = rv_store_builder_persistent_kv(longname);
    assert_non_null(b);
    rv_kv_store_t *s;
    assert_int_equal(rv_store_builder_build(&s, b, task, err, sizeof err), 0);
    rv_kv_store_destroy(s);
    rv_store_builder_destroy(b);
    snprintf(p, sizeof p, "%s/rocksdb/%s/CURRENT", task, longname);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s/app/0_0/CURRENT", dir);
    assert_int_not_equal(stat(p, &st), 0);
    snprintf(p, sizeof p, "%s/escaped", dir);
    assert_int_not_equal(stat(p, &st), 0);
    rvt_rmtree(dir);
    free(dir);
}

static rv_err_t open_custom(rv_kv_store_t **out, const char *name, const char *task_dir,
                            void *opaque, char *errstr, size_t errstr_size) {
    (void)errstr, (void)errstr_size;
    assert_non_null(task_dir);
    (*(int *)opaque)++;
    rv_kv_store_t *inner;
    rv_err_t err = rv__memory_store_new(&inner, name);
    if (err)
        return err;
    return rv_kv_store_new_custom(out, &custom_ops, inner, name);
}

static rv_err_t open_fail(rv_kv_store_t **out, const char *name, const char *task_dir, void *opaque,
                          char *errstr, size_t errstr_size) {
    (void)out, (void)name, (void)task_dir, (void)opaque;
    snprintf(errstr, errstr_size, "no disk");
    return RV_ERR__IO;
}

static void test_builders(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char err[512];
    assert_null(rv_store_builder_persistent_kv(NULL));
    assert_null(rv_store_builder_in_memory_kv(""));
    assert_null(rv_store_builder_custom("x", NULL, NULL));

    rv_store_builder_t *b = rv_store_builder_persistent_kv("counts");
    assert_string_equal(rv_store_builder_name(b), "counts");
    assert_int_equal(rv_store_builder_logging_enabled(b), 1); /* Kafka's defaults */
    assert_int_equal(rv_store_builder_caching_enabled(b), 0);
    assert_int_equal(rv_store_builder_persistent(b), 1);
    size_t n = 99;
    rv_store_builder_logging_config(b, &n);
    assert_int_equal(n, 0);
    char k1[] = "min.insync.replicas", v1[] = "2";
    const char *cfg[] = {"segment.bytes", "1048576", k1, v1};
    assert_int_equal(rv_store_builder_with_logging_enabled(b, cfg, 2), 0);
    k1[0] = 'X'; /* copied */
    const char *const *got = rv_store_builder_logging_config(b, &n);
    assert_int_equal(n, 2);
    assert_string_equal(got[0], "segment.bytes");
    assert_string_equal(got[1], "1048576");
    assert_string_equal(got[2], "min.insync.replicas");
    assert_string_equal(got[3], "2");
    rv_store_builder_with_logging_disabled(b);
    assert_int_equal(rv_store_builder_logging_enabled(b), 0);
    assert_int_equal(rv_store_builder_with_logging_enabled(b, NULL, 0), 0);
    assert_int_equal(rv_store_builder_logging_enabled(b), 1);
    rv_store_builder_logging_config(b, &n);
    assert_int_equal(n, 0);
    rv_store_builder_with_caching_enabled(b);
    assert_int_equal(rv_store_builder_caching_enabled(b), 1);
    rv_store_builder_with_caching_disabled(b);
    assert_int_equal(rv_store_builder_caching_enabled(b), 0);

    /* a RocksDB store opens in <task dir>/rocksdb/<name> */
    char task[4200], p[4400];
    snprintf(task, sizeof task, "%s/app/0_1", dir);
    rv_kv_store_t *s;
    assert_int_equal(rv__store_builder_open(b, task, &s, err, sizeof err), 0);
    put_s(s, "k", "v");
    rv_kv_store_destroy(s);
    snprintf(p, sizeof p, "%s/rocksdb/counts/CURRENT", task);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    rv_store_builder_destroy(b);

    b = rv_store_builder_in_memory_kv("mem");
    assert_int_equal(rv_store_builder_persistent(b), 0);
    assert_int_equal(rv__store_builder_open(b, task, &s, err, sizeof err), 0);
    assert_int_equal(rv_kv_store_persistent(s), 0);
    assert_string_equal(rv_kv_store_name(s), "mem");
    rv_kv_store_destroy(s);
    rv_store_builder_destroy(b);

    int opened = 0;
    b = rv_store_builder_custom("mine", open_custom, &opened);
    assert_int_equal(rv_store_builder_persistent(b), -1);
    assert_int_equal(rv__store_builder_open(b, task, &s, err, sizeof err), 0);
    assert_int_equal(opened, 1);
    put_s(s, "k", "v");
    expect_get(s, "k", "v");
    rv_kv_store_destroy(s);
    rv_store_builder_destroy(b);

    b = rv_store_builder_custom("bad", open_fail, NULL);
    assert_int_equal(rv__store_builder_open(b, task, &s, err, sizeof err), RV_ERR__IO);
    assert_null(s);
    assert_string_equal(err, "no disk");
    rv_store_builder_destroy(b);
    rv_store_builder_destroy(NULL);

    /* custom ops are checked */
    rv_kv_store_ops_t bad = custom_ops;
    bad.version = 99;
    assert_int_equal(rv_kv_store_new_custom(&s, &bad, NULL, "x"), RV_ERR__INVALID_ARG);
    bad = custom_ops;
    bad.get = NULL;
    assert_int_equal(rv_kv_store_new_custom(&s, &bad, NULL, "x"), RV_ERR__INVALID_ARG);
    assert_null(s);
    rvt_rmtree(dir);
    free(dir);
}

#define KIND_TESTS(setup)                                                                \
    cmocka_unit_test_setup_teardown(test_get_put_delete, setup, teardown),               \
        cmocka_unit_test_setup_teardown(test_put_if_absent_put_all, setup, teardown),    \
        cmocka_unit_test_setup_teardown(test_put_all_unordered, setup, teardown),        \
        cmocka_unit_test_setup_teardown(test_range_order, setup, teardown),              \
        cmocka_unit_test_setup_teardown(test_iter_during_writes, setup, teardown),       \
        cmocka_unit_test_setup_teardown(test_destroy_closes_iterators, setup, teardown), \
        cmocka_unit_test_setup_teardown(test_empty_key, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        KIND_TESTS(setup_memory),
        KIND_TESTS(setup_rocksdb),
        KIND_TESTS(setup_custom),
        KIND_TESTS(setup_logged),
        KIND_TESTS(setup_cached),
        KIND_TESTS(setup_cached_tiny),
        cmocka_unit_test(test_randomized_all_kinds),
        cmocka_unit_test(test_rocksdb_reopen_and_errors),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_rocksdb_error_classes),
        cmocka_unit_test(test_store_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
