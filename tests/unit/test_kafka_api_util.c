/* tests/unit/test_kafka_api_util.c: the repeat checks the admin handlers
 * share (broker/kafka/api_util.c): rv__kapi_find_repeats() on names with
 * and without repeats, and rv__kapi_is_index_set() on partition index
 * lists that are and are not 0..n-1, including large ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/kafka/api.h"
#include "broker/kafka/api_util.h"

static void test_find_repeats(void **state) {
    (void)state;
    rv__kreq_t req = {0};
    const char *names[] = {"b", "a", "c", "a", "b", "a", "d"};
    int32_t n = 7;
    bool first[7];
    int32_t count[7];
    assert_int_equal(rv__kapi_find_repeats(&req, names, n, first, count), 4);
    /* The first occurrence of each name, in request order. */
    static const bool want_first[] = {true, true, true, false, false, false, true};
    static const int32_t want_count[] = {2, 3, 1, 3, 2, 3, 1};
    for (int32_t i = 0; i < n; i++) {
        assert_int_equal(first[i], want_first[i]);
        assert_int_equal(count[i], want_count[i]);
    }
    /* count may be NULL; no names at all. */
    assert_int_equal(rv__kapi_find_repeats(&req, names, 3, first, NULL), 3);
    assert_true(first[0] && first[1] && first[2]);
    assert_int_equal(rv__kapi_find_repeats(&req, names, 0, first, NULL), 0);
    rv__karena_free(&req.arena);
}

static void test_find_repeats_large(void **state) {
    (void)state;
    rv__kreq_t req = {0};
    enum { N = 200000 };
    char(*buf)[16] = malloc((size_t)N * sizeof *buf);
    const char **names = malloc(N * sizeof *names);
    bool *first = malloc(N * sizeof *first);
    int32_t *count = malloc(N * sizeof *count);
    assert_non_null(buf);
    assert_non_null(names);
    assert_non_null(first);
    assert_non_null(count);
    /* All distinct, then the last one repeats the 1000th. */
    for (int32_t i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "t%d", (int)i);
        names[i] = buf[i];
    }
    assert_int_equal(rv__kapi_find_repeats(&req, names, N, first, count), N);
    for (int32_t i = 0; i < N; i++)
        assert_true(first[i] && count[i] == 1);
    names[N - 1] = names[999];
    assert_int_equal(rv__kapi_find_repeats(&req, names, N, first, count), N - 1);
    assert_true(first[999]);
    assert_false(first[N - 1]);
    assert_int_equal(count[999], 2);
    assert_int_equal(count[N - 1], 2);
    assert_int_equal(count[998], 1);
    rv__karena_free(&req.arena);
    free(count);
    free(first);
    free(names);
    free(buf);
}

static void test_is_index_set(void **state) {
    (void)state;
    bool seen[8];
    static const int32_t ok[] = {3, 0, 2, 1};
    assert_true(rv__kapi_is_index_set(ok, 4, seen));
    assert_true(rv__kapi_is_index_set(ok, 0, seen)); /* nothing to check */
    static const int32_t one[] = {0};
    assert_true(rv__kapi_is_index_set(one, 1, seen));
    static const int32_t dup[] = {0, 1, 1, 3};
    assert_false(rv__kapi_is_index_set(dup, 4, seen));
    static const int32_t dup_first[] = {2, 2, 0, 1};
    assert_false(rv__kapi_is_index_set(dup_first, 4, seen));
    static const int32_t high[] = {0, 1, 2, 4};
    assert_false(rv__kapi_is_index_set(high, 4, seen));
    static const int32_t neg[] = {0, -1, 2, 1};
    assert_false(rv__kapi_is_index_set(neg, 4, seen));
    static const int32_t not_zero[] = {1};
    assert_false(rv__kapi_is_index_set(not_zero, 1, seen));
    /* seen needs no clearing between calls. */
    assert_true(rv__kapi_is_index_set(ok, 4, seen));
}

static void test_is_index_set_large(void **state) {
    (void)state;
    enum { N = 200000 };
    int32_t *idx = malloc(N * sizeof *idx);
    bool *seen = malloc(N * sizeof *seen);
    assert_non_null(idx);
    assert_non_null(seen);
    for (int32_t i = 0; i < N; i++)
        idx[i] = N - 1 - i; /* reversed */
    assert_true(rv__kapi_is_index_set(idx, N, seen));
    idx[N / 2] = idx[N / 2 + 1]; /* one repeat, one gap */
    assert_false(rv__kapi_is_index_set(idx, N, seen));
    free(seen);
    free(idx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_repeats),
        cmocka_unit_test(test_find_repeats_large),
        cmocka_unit_test(test_is_index_set),
        cmocka_unit_test(test_is_index_set_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
