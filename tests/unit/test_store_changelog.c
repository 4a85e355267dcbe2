/* tests/unit/test_store_changelog.c: the logging wrapper (state/changelog.c)
 * and restoration (rv__store_restore_batch in state/store.c): every put and
 * delete reaches the change callback after it is applied, in order;
 * callback errors come back; restored records go to the inner store
 * without being logged again, on RocksDB and in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "rivulet/store.h"
#include "state/store_internal.h"

typedef struct fx_s {
    char *dir;
    rv_kv_store_t *inner, *logged;
    rv__buf_t log;     /* "key=value;" per change, "key=<null>;" per delete */
    int seen_in_inner; /* the change was applied before the callback */
    rv_err_t fail_with;
} fx_t;

static rv_err_t on_change(const void *k, size_t kl, const void *v, size_t vl, void *opaque) {
    fx_t *fx = opaque;
    rv_bytes_t b;
    rv_err_t err = rv_kv_store_get(&b, fx->inner, k, kl);
    if ((v && err == 0 && b.len == vl && !memcmp(b.data, v, vl)) || (!v && err == RV_ERR__NOENT))
        fx->seen_in_inner++;
    rv_bytes_free(&b);
    rv__buf_append(&fx->log, k, kl);
    rv__buf_append(&fx->log, "=", 1);
    if (v)
        rv__buf_append(&fx->log, v, vl);
    else
        rv__buf_append(&fx->log, "<null>", 6);
    rv__buf_append(&fx->log, ";", 1);
    return fx->fail_with;
}

static int setup_kind(void **state, int rocksdb) {
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->dir = rvt_tmpdir();
    char err[512], path[4200];
    snprintf(path, sizeof path, "%s/rocksdb/s", fx->dir);
    if (rocksdb)
        assert_int_equal(rv__rocksdb_store_open(&fx->inner, "s", path, err, sizeof err), 0);
    else
        assert_int_equal(rv__memory_store_new(&fx->inner, "s"), 0);
    assert_int_equal(rv__changelog_wrap(&fx->logged, fx->inner, on_change, fx), 0);
    assert_int_equal(rv__store_kind(fx->logged), RV__STORE_CHANGELOG);
    assert_string_equal(rv_kv_store_name(fx->logged), "s");
    assert_int_equal(rv_kv_store_persistent(fx->logged), rocksdb);
    *state = fx;
    return 0;
}
static int setup_mem(void **state) {
    return setup_kind(state, 0);
}
static int setup_rocks(void **state) {
    return setup_kind(state, 1);
}
static int teardown(void **state) {
    fx_t *fx = *state;
    rv_kv_store_destroy(fx->logged);
    rv__buf_free(&fx->log);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void expect_log(fx_t *fx, const char *want) {
    rv__buf_put_u8(&fx->log, 0);
    assert_string_equal((char *)fx->log.data, want);
    fx->log.len = 0;
}

static void test_callback_order(void **state) {
    fx_t *fx = *state;
    rv_kv_store_t *s = fx->logged;
    assert_int_equal(rv_kv_store_put(s, "a", 1, "1", 1), 0);
    assert_int_equal(rv_kv_store_put(s, "b", 1, "2", 1), 0);
    assert_int_equal(rv_kv_store_put(s, "a", 1, "3", 1), 0);
    assert_int_equal(rv_kv_store_delete(NULL, s, "b", 1), 0);
    assert_int_equal(rv_kv_store_delete(NULL, s, "never", 5), 0); /* logged anyway */
    assert_int_equal(rv_kv_store_put(s, "c", 1, NULL, 0), 0);
    /* put_if_absent logs only when it puts */
    assert_int_equal(rv_kv_store_put_if_absent(NULL, s, "a", 1, "x", 1), 0);
    assert_int_equal(rv_kv_store_put_if_absent(NULL, s, "d", 1, "4", 1), 0);
    rv_kv_entry_t e[] = {{"e", 1, "5", 1}, {"a", 1, NULL, 0}, {"e", 1, "6", 1}};
    assert_int_equal(rv_kv_store_put_all(s, e, 3), 0);
    expect_log(fx, "a=1;b=2;a=3;b=<null>;never=<null>;c=<null>;d=4;e=5;a=<null>;e=6;");
    /* for single writes the callback ran after the write was applied */
    assert_true(fx->seen_in_inner >= 7);

    /* reads and scans pass through without logging */
    rv_bytes_t b;
    assert_int_equal(rv_kv_store_get(&b, s, "e", 1), 0);
    assert_memory_equal(b.data, "6", 1);
    rv_bytes_free(&b);
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_reverse_all(&it, s), 0);
    assert_int_equal(rv_kv_iter_next(it), 1);
    size_t kl;
    assert_memory_equal(rv_kv_iter_key(it, &kl), "e", 1);
    assert_int_equal(rv_kv_iter_next(it), 1);
    assert_memory_equal(rv_kv_iter_key(it, &kl), "d", 1);
    assert_int_equal(rv_kv_iter_next(it), 0);
    rv_kv_iter_destroy(it);
    assert_int_equal(rv_kv_store_approximate_num_entries(s) >= 0, 1);
    assert_int_equal(rv_kv_store_flush(s), 0);
    expect_log(fx, "");
}

static void test_callback_error(void **state) {
    fx_t *fx = *state;
    fx->fail_with = RV_ERR__QUEUE_FULL;
    assert_int_equal(rv_kv_store_put(fx->logged, "k", 1, "v", 1), RV_ERR__QUEUE_FULL);
    fx->fail_with = RV_ERR_NO_ERROR;
    /* the write itself stays applied */
    rv_bytes_t b;
    assert_int_equal(rv_kv_store_get(&b, fx->logged, "k", 1), 0);
    rv_bytes_free(&b);
}

static void test_restore(void **state) {
    fx_t *fx = *state;
    assert_int_equal(rv_kv_store_put(fx->logged, "gone", 4, "x", 1), 0);
    fx->log.len = 0;
    /* changelog records as a consumer returns them: null values delete */
    rv_kv_entry_t rec[200];
    char keys[200][8];
    for (int i = 0; i < 200; i++) {
        snprintf(keys[i], sizeof keys[i], "k%03d", i % 150);
        rec[i].key = keys[i];
        rec[i].key_len = strlen(keys[i]);
        rec[i].value = i >= 150 && i % 2 ? NULL : keys[i];
        rec[i].value_len = strlen(keys[i]);
    }
    rv_kv_entry_t del = {"gone", 4, NULL, 0};
    assert_int_equal(rv__store_restore_batch(fx->logged, rec, 200), 0);
    assert_int_equal(rv__store_restore_batch(fx->logged, &del, 1), 0);
    assert_int_equal(rv__store_restore_batch(fx->logged, NULL, 0), 0);
    expect_log(fx, ""); /* nothing logged again */
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, fx->logged), 0);
    int n = 0;
    while (rv_kv_iter_next(it) == 1)
        n++;
    rv_kv_iter_destroy(it);
    assert_int_equal(n, 150 - 25); /* 25 of k000..k049 deleted by the tail */
    rv_bytes_t b;
    assert_int_equal(rv_kv_store_get(&b, fx->logged, "k001", 4), RV_ERR__NOENT);
    assert_int_equal(rv_kv_store_get(&b, fx->logged, "k002", 4), 0);
    rv_bytes_free(&b);
    assert_int_equal(rv_kv_store_get(&b, fx->logged, "gone", 4), RV_ERR__NOENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_callback_order, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_callback_order, setup_rocks, teardown),
        cmocka_unit_test_setup_teardown(test_callback_error, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_restore, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_restore, setup_rocks, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
