/* tests/unit/test_store_cache.c: the record cache (state/cache.c): updates
 * collapse between flushes, reads come from the cache first, deletes hide
 * the wrapped store's value, LRU eviction within the byte budget, flush
 * order and the flush listener, merged ranges, close flushing. The wrapped
 * store is a real RocksDB store or the in-memory store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "rivulet/store.h"
#include "state/store_internal.h"

typedef struct fx_s {
    char *dir;
    rv_kv_store_t *inner; /* borrowed view of the wrapped store */
    rv_kv_store_t *cache;
    rv__buf_t flushed; /* "key=new/old;" per listener call */
    int calls;
    rv_err_t listener_put_err;
} fx_t;

static rv_err_t listener(const void *k, size_t kl, const void *nv, size_t nl, const void *ov,
                         size_t ol, void *opaque) {
    fx_t *fx = opaque;
    fx->calls++;
    rv__buf_append(&fx->flushed, k, kl);
    rv__buf_append(&fx->flushed, "=", 1);
    if (nv)
        rv__buf_append(&fx->flushed, nv, nl);
    else
        rv__buf_append(&fx->flushed, "<null>", 6);
    rv__buf_append(&fx->flushed, "/", 1);
    if (ov)
        rv__buf_append(&fx->flushed, ov, ol);
    else
        rv__buf_append(&fx->flushed, "<null>", 6);
    rv__buf_append(&fx->flushed, ";", 1);
    rv__buf_put_u8(&fx->flushed, 0);
    fx->flushed.len--;
    /* writing to the cached store from the listener is refused */
    fx->listener_put_err = rv_kv_store_put(fx->cache, "x", 1, "y", 1);
    return RV_ERR_NO_ERROR;
}

static void open_fx(fx_t *fx, int rocksdb, size_t max_bytes) {
    char err[512];
    if (rocksdb) {
        char path[4200];
        snprintf(path, sizeof path, "%s/rocksdb/c", fx->dir);
        assert_int_equal(rv__rocksdb_store_open(&fx->inner, "c", path, err, sizeof err), 0);
    } else {
        assert_int_equal(rv__memory_store_new(&fx->inner, "c"), 0);
    }
    assert_int_equal(rv__cache_wrap(&fx->cache, fx->inner, max_bytes, listener, fx), 0);
    assert_int_equal(rv__store_kind(fx->cache), RV__STORE_CACHE);
    assert_ptr_equal(rv__store_inner(fx->cache), fx->inner);
}

static int setup_mem(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->dir = rvt_tmpdir();
    open_fx(fx, 0, 1 << 20);
    *state = fx;
    return 0;
}
static int setup_rocks(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->dir = rvt_tmpdir();
    open_fx(fx, 1, 1 << 20);
    *state = fx;
    return 0;
}
static int teardown(void **state) {
    fx_t *fx = *state;
    rv_kv_store_destroy(fx->cache);
    rv__buf_free(&fx->flushed);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void put_s(rv_kv_store_t *s, const char *k, const char *v) {
    assert_int_equal(rv_kv_store_put(s, k, strlen(k), v, v ? strlen(v) : 0), 0);
}
static void expect_get(rv_kv_store_t *s, const char *k, const char *v) {
    rv_bytes_t b;
    rv_err_t err = rv_kv_store_get(&b, s, k, strlen(k));
    if (!v) {
        assert_int_equal(err, RV_ERR__NOENT);
        return;
    }
    assert_int_equal(err, 0);
    assert_int_equal(b.len, strlen(v));
    assert_memory_equal(b.data, v, b.len);
    rv_bytes_free(&b);
}
static void expect_flushed(fx_t *fx, const char *want) {
    rv__buf_put_u8(&fx->flushed, 0);
    assert_string_equal((char *)fx->flushed.data, want);
    fx->flushed.len = 0;
}
static void expect_scan(rv_kv_iter_t *it, const char *want) {
    rv__buf_t b = RV__BUF_INIT;
    while (rv_kv_iter_next(it) == 1) {
        size_t kl, vl;
        const void *k = rv_kv_iter_key(it, &kl), *v = rv_kv_iter_value(it, &vl);
        rv__buf_append(&b, k, kl);
        rv__buf_append(&b, "=", 1);
        rv__buf_append(&b, v, vl);
        rv__buf_append(&b, ";", 1);
    }
    rv_kv_iter_destroy(it);
    rv__buf_put_u8(&b, 0);
    assert_string_equal((char *)b.data, want);
    rv__buf_free(&b);
}

static void test_collapse_and_read_through(void **state) {
    fx_t *fx = *state;
    put_s(fx->cache, "k", "1");
    put_s(fx->cache, "k", "2");
    put_s(fx->cache, "k", "3");
    expect_get(fx->cache, "k", "3");
    expect_get(fx->inner, "k", NULL); /* not written through yet */
    rv__cache_stats_t st;
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.dirty, 1);
    assert_int_equal(st.overwrites, 2);
    assert_int_equal(st.bytes, 1 + 1 + RV__CACHE_ENTRY_OVERHEAD);
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    expect_flushed(fx, "k=3/<null>;"); /* one update for three puts */
    assert_int_equal(fx->calls, 1);
    assert_int_equal(fx->listener_put_err, RV_ERR__STATE);
    expect_get(fx->inner, "k", "3");
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.dirty, 0);
    assert_int_equal(st.entries, 1); /* kept clean for reads */
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    assert_int_equal(fx->calls, 1); /* nothing dirty: no call */

    /* a read miss is served by the wrapped store and then cached */
    put_s(fx->inner, "only-inner", "v");
    expect_get(fx->cache, "only-inner", "v");
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.dirty, 0);
    assert_true(st.misses >= 1);
    expect_get(fx->cache, "nowhere", NULL);
}

static void test_delete_hides_and_flushes(void **state) {
    fx_t *fx = *state;
    put_s(fx->inner, "a", "old-a");
    put_s(fx->inner, "b", "old-b");
    put_s(fx->inner, "c", "old-c");
    rv_bytes_t old;
    assert_int_equal(rv_kv_store_delete(&old, fx->cache, "b", 1), 0);
    assert_memory_equal(old.data, "old-b", 5);
    rv_bytes_free(&old);
    expect_get(fx->cache, "b", NULL);
    expect_get(fx->inner, "b", "old-b");
    put_s(fx->cache, "a", "new-a");
    put_s(fx->cache, "d", "new-d");
    /* delete of a key that exists nowhere: flushed but not forwarded */
    assert_int_equal(rv_kv_store_delete(NULL, fx->cache, "zz", 2), 0);

    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
    expect_scan(it, "a=new-a;c=old-c;d=new-d;");
    assert_int_equal(rv_kv_store_reverse_all(&it, fx->cache), 0);
    expect_scan(it, "d=new-d;c=old-c;a=new-a;");
    assert_int_equal(rv_kv_store_range(&it, fx->cache, "b", 1, "c", 1), 0);
    expect_scan(it, "c=old-c;");
    assert_int_equal(rv_kv_store_reverse_range(&it, fx->cache, "a", 1, "b", 1), 0);
    expect_scan(it, "a=new-a;");

    assert_int_equal(rv__cache_flush(fx->cache), 0);
    /* order of last update: b (delete, with its old value), a, d */
    expect_flushed(fx, "b=<null>/old-b;a=new-a/<null>;d=new-d/<null>;");
    expect_get(fx->inner, "b", NULL);
    expect_get(fx->inner, "a", "new-a");
    rv__cache_stats_t st;
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 2); /* tombstones dropped after the flush */
    assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
    expect_scan(it, "a=new-a;c=old-c;d=new-d;");
}

static void test_flush_order_and_old_values(void **state) {
    fx_t *fx = *state;
    rv__cache_set_send_old_values(fx->cache, true);
    put_s(fx->inner, "y", "y0");
    put_s(fx->cache, "x", "1");
    put_s(fx->cache, "y", "1");
    put_s(fx->cache, "z", "1");
    put_s(fx->cache, "x", "2"); /* moves x behind z */
    assert_int_equal(rv_kv_store_flush(fx->cache), 0);
    expect_flushed(fx, "y=1/y0;z=1/<null>;x=2/<null>;");
    put_s(fx->cache, "y", "2");
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    expect_flushed(fx, "y=2/1;");
}

static void test_eviction(void **state) {
    fx_t *fx = *state;
    rv_kv_store_destroy(fx->cache);
    /* room for three 1-byte keys with 2-byte values */
    size_t each = 1 + 2 + RV__CACHE_ENTRY_OVERHEAD;
    open_fx(fx, 1, 3 * each);
    put_s(fx->cache, "a", "a1");
    put_s(fx->cache, "b", "b1");
    put_s(fx->cache, "c", "c1");
    assert_int_equal(fx->calls, 0);
    put_s(fx->cache, "b", "b2");      /* b is dirty-last and most recent */
    expect_get(fx->cache, "a", "a1"); /* a becomes most recently used */
    put_s(fx->cache, "d", "d1");      /* over budget: LRU tail c is dirty */
    /* evicting a dirty entry flushes every dirty entry, in update order,
     * the new one included (NamedCache.evict) */
    expect_flushed(fx, "a=a1/<null>;c=c1/<null>;b=b2/<null>;d=d1/<null>;");
    rv__cache_stats_t st;
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 3);
    assert_true(st.bytes <= 3 * each);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.dirty, 0);
    expect_get(fx->inner, "c", "c1");
    expect_get(fx->cache, "c", "c1"); /* a miss now, read from RocksDB */
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.evictions, 2);

    /* max 0: every put is written through at once */
    rv_kv_store_destroy(fx->cache);
    fx->flushed.len = 0;
    open_fx(fx, 1, 0);
    put_s(fx->cache, "p", "1");
    expect_flushed(fx, "p=1/<null>;");
    put_s(fx->cache, "p", "2");
    expect_flushed(fx, "p=2/<null>;");
    expect_get(fx->inner, "p", "2");
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
}

static void test_close_flushes(void **state) {
    fx_t *fx = *state;
    put_s(fx->cache, "k", "v");
    rv_kv_store_destroy(fx->cache); /* also closes RocksDB */
    fx->cache = NULL;
    expect_flushed(fx, "k=v/<null>;");
    char err[512], path[4200];
    snprintf(path, sizeof path, "%s/rocksdb/c", fx->dir);
    rv_kv_store_t *s;
    assert_int_equal(rv__rocksdb_store_open(&s, "c", path, err, sizeof err), 0);
    expect_get(s, "k", "v");
    rv_kv_store_destroy(s);
}

static void test_iterator_snapshot(void **state) {
    fx_t *fx = *state;
    put_s(fx->inner, "a", "ia");
    put_s(fx->cache, "b", "cb");
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
    put_s(fx->cache, "a", NULL);
    put_s(fx->cache, "c", "cc");
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    expect_scan(it, "a=ia;b=cb;");
    assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
    expect_scan(it, "b=cb;c=cc;");
}

/* The ordered index is built lazily: entries put between iterators, and
 * entries removed while indexed or not yet indexed (tombstones flushed,
 * keys dropped, LRU evictions), all leave ranges exact and in key order. */
static void test_lazy_order_index(void **state) {
    fx_t *fx = *state;
    char k[16], v[16];
    /* Keys in a scrambled order, none indexed yet. */
    for (int i = 0; i < 500; i++) {
        int n = (i * 7919) % 500;
        snprintf(k, sizeof k, "k%03d", n);
        snprintf(v, sizeof v, "v%d", n);
        put_s(fx->cache, k, v);
    }
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_range(&it, fx->cache, "k100", 4, "k103", 4), 0);
    expect_scan(it, "k100=v100;k101=v101;k102=v102;k103=v103;");
    /* Now all indexed: mix indexed deletes with new unindexed keys. */
    put_s(fx->cache, "k101", NULL);
    put_s(fx->cache, "k1015", "new");
    rv__cache_drop_key(fx->cache, "k102", 4);
    put_s(fx->cache, "k1025", "new2");
    rv__cache_drop_key(fx->cache, "k1025", 5); /* dropped before being indexed */
    assert_int_equal(rv_kv_store_range(&it, fx->cache, "k100", 4, "k103", 4), 0);
    expect_scan(it, "k100=v100;k1015=new;k103=v103;");
    assert_int_equal(rv__cache_flush(fx->cache), 0); /* the tombstone leaves the cache */
    assert_int_equal(rv_kv_store_reverse_range(&it, fx->cache, "k100", 4, "k1015", 5), 0);
    expect_scan(it, "k1015=new;k100=v100;");
    rv__cache_stats_t st;
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 499); /* 500 - k101 - k102 + k1015 */
    expect_get(fx->cache, "k101", NULL);
    expect_get(fx->cache, "k102", NULL); /* dropped while dirty: never written */
    expect_get(fx->cache, "k499", "v499");

    /* A small cache over many keys: evictions remove both kinds. */
    rv_kv_store_destroy(fx->cache);
    fx->flushed.len = 0;
    open_fx(fx, 1, 40 * (4 + 2 + RV__CACHE_ENTRY_OVERHEAD));
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            snprintf(k, sizeof k, "e%03d", (i * 37) % 200);
            snprintf(v, sizeof v, "%d%d", round, i % 10);
            put_s(fx->cache, k, v);
            if (i % 50 == 0) { /* index what is cached now */
                assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
                rv_kv_iter_destroy(it);
            }
        }
    }
    rv__cache_stats(fx->cache, &st);
    assert_true(st.entries <= 40);
    assert_true(st.evictions > 0);
    assert_int_equal(rv_kv_store_range(&it, fx->cache, "e000", 4, "e002", 4), 0);
    expect_scan(it, "e000=20;e001=23;e002=26;");
}

/* An overwrite reuses the value's memory when the new value fits and
 * replaces it when it does not; the accounting follows the value size. */
static void test_overwrite_sizes(void **state) {
    fx_t *fx = *state;
    rv__cache_stats_t st;
    put_s(fx->cache, "k", "a-long-value");
    put_s(fx->cache, "k", "short");
    expect_get(fx->cache, "k", "short");
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.bytes, 1 + 5 + RV__CACHE_ENTRY_OVERHEAD);
    put_s(fx->cache, "k", "");
    expect_get(fx->cache, "k", "");
    put_s(fx->cache, "k", "a-longer-value-than-before");
    expect_get(fx->cache, "k", "a-longer-value-than-before");
    put_s(fx->cache, "k", NULL);
    expect_get(fx->cache, "k", NULL);
    put_s(fx->cache, "k", "back");
    expect_get(fx->cache, "k", "back");
    rv__cache_stats(fx->cache, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, 1 + 4 + RV__CACHE_ENTRY_OVERHEAD);
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    expect_flushed(fx, "k=back/<null>;");
    expect_get(fx->inner, "k", "back");
}

static void test_restore_drops_cached(void **state) {
    fx_t *fx = *state;
    put_s(fx->cache, "k", "cached");
    rv_kv_entry_t rec[] = {{"k", 1, "restored", 8}, {"j", 1, "r", 1}};
    assert_int_equal(rv__store_restore_batch(fx->cache, rec, 2), 0);
    expect_get(fx->cache, "k", "restored");
    expect_get(fx->inner, "j", "r");
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    assert_int_equal(fx->calls, 0); /* restored records are not forwarded */
}

static rv_err_t failing_listener(const void *k, size_t kl, const void *nv, size_t nl,
                                 const void *ov, size_t ol, void *opaque) {
    (void)k, (void)kl, (void)nv, (void)nl, (void)ov, (void)ol;
    (*(int *)opaque)++;
    return RV_ERR__IO;
}

/* A listener's error is not a write error: the put that evicted (and so
 * flushed) succeeds, the value is in the wrapped store, and the error comes
 * back once from the next explicit flush. */
static void test_listener_error_deferred(void **state) {
    (void)state;
    int calls = 0;
    rv_kv_store_t *mem, *c;
    assert_int_equal(rv__memory_store_new(&mem, "m"), 0);
    /* max_bytes 0: every put writes through at once */
    assert_int_equal(rv__cache_wrap(&c, mem, 0, failing_listener, &calls), 0);
    assert_int_equal(rv_kv_store_put(c, "a", 1, "1", 1), 0);
    assert_int_equal(calls, 1);
    expect_get(mem, "a", "1");
    assert_int_equal(rv_kv_store_put(c, "b", 1, "2", 1), 0); /* first error is kept */
    assert_int_equal(calls, 2);
    assert_int_equal(rv__cache_flush(c), RV_ERR__IO);
    assert_int_equal(rv__cache_flush(c), 0); /* reported once */
    /* the store flush reports it too */
    assert_int_equal(rv_kv_store_put(c, "c", 1, "3", 1), 0);
    assert_int_equal(rv_kv_store_flush(c), RV_ERR__IO);
    assert_int_equal(rv_kv_store_flush(c), 0);
    /* an explicit flush whose own listener call fails reports it at once */
    rv_kv_store_destroy(c);

    calls = 0;
    assert_int_equal(rv__memory_store_new(&mem, "m"), 0);
    assert_int_equal(rv__cache_wrap(&c, mem, 1 << 20, failing_listener, &calls), 0);
    assert_int_equal(rv_kv_store_put(c, "a", 1, "1", 1), 0);
    assert_int_equal(calls, 0);
    assert_int_equal(rv__cache_flush(c), RV_ERR__IO);
    expect_get(mem, "a", "1");
    assert_int_equal(rv__cache_flush(c), 0);
    rv_kv_store_destroy(c);
}

/* What store.h promises for a cache over the in-memory store: not a
 * point-in-time view; keys only the in-memory store holds show later
 * flushed values and flushed deletes. */
static void test_iterator_over_memory(void **state) {
    fx_t *fx = *state;
    put_s(fx->cache, "a", "1");
    put_s(fx->cache, "b", "1");
    put_s(fx->cache, "c", "1");
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    rv__cache_drop_key(fx->cache, "a", 1); /* only the wrapped store has a, b */
    rv__cache_drop_key(fx->cache, "b", 1);
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
    put_s(fx->cache, "a", "2");
    put_s(fx->cache, "b", NULL);
    put_s(fx->cache, "c", "2"); /* cached when the iterator was made: copy wins */
    put_s(fx->cache, "d", "2"); /* a key added later is not seen */
    assert_int_equal(rv__cache_flush(fx->cache), 0);
    expect_scan(it, "a=2;c=1;");
}

/* An empty key is a valid pointer with length 0 through the cache, from
 * the cache's copy and from the wrapped store. */
static void test_empty_key(void **state) {
    fx_t *fx = *state;
    put_s(fx->cache, "", "v");
    for (int round = 0; round < 2; round++) {
        rv_kv_iter_t *it;
        assert_int_equal(rv_kv_store_all(&it, fx->cache), 0);
        assert_int_equal(rv_kv_iter_next(it), 1);
        size_t kl = 99;
        assert_non_null(rv_kv_iter_key(it, &kl));
        assert_int_equal(kl, 0);
        assert_int_equal(rv_kv_iter_next(it), 0);
        rv_kv_iter_destroy(it);
        assert_int_equal(rv__cache_flush(fx->cache), 0);
        rv__cache_drop_key(fx->cache, "", 0); /* round 2 reads the wrapped store */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_collapse_and_read_through, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_collapse_and_read_through, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_delete_hides_and_flushes, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_delete_hides_and_flushes, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_flush_order_and_old_values, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_flush_order_and_old_values, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_eviction, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_iterator_snapshot, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_restore_drops_cached, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_restore_drops_cached, setup_rocks, teardown),
        cmocka_unit_test(test_listener_error_deferred),
        cmocka_unit_test_setup_teardown(test_iterator_over_memory, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_empty_key, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_empty_key, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_order_index, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_order_index, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_sizes, setup_mem, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
