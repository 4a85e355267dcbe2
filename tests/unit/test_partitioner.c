/* tests/unit/test_partitioner.c: client/partitioner.c: keys land in the
 * partition a Java producer picks (pairs from Kafka's own partitioner
 * tests, see the reference notes), and the sticky choice for null keys
 * moves to another partition. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "client/producer_internal.h"
#include "rivulet/producer.h"

static int32_t part(const char *key, int32_t cnt) {
    return rv_partitioner_murmur2(key, (int32_t)strlen(key), cnt);
}

static void test_java_pairs(void **state) {
    (void)state;
    assert_int_equal(part("foobar", 12), 6);
    assert_int_equal(part("foobar", 10), 6);
    assert_int_equal(part("foobar", 3), 0);
    assert_int_equal(part("abc", 12), 3);
    assert_int_equal(part("abc", 10), 7);
    assert_int_equal(part("a-little-bit-long-string", 12), 8);
    /* The empty key is a key, not null. */
    assert_true(part("", 7) >= 0);
    assert_int_equal(rv_partitioner_murmur2(NULL, -1, 12), -1);
    assert_int_equal(rv_partitioner_murmur2("a", 1, 0), -1);
}

static void test_sticky_moves(void **state) {
    (void)state;
    uint32_t rng = 12345;
    int seen[5] = {0};
    int32_t prev = rv__sticky_next(-1, 5, &rng);
    assert_true(prev >= 0 && prev < 5);
    for (int i = 0; i < 500; i++) {
        int32_t p = rv__sticky_next(prev, 5, &rng);
        assert_true(p >= 0 && p < 5);
        assert_int_not_equal(p, prev);
        seen[p]++;
        prev = p;
    }
    for (int i = 0; i < 5; i++)
        assert_true(seen[i] > 50);
    assert_int_equal(rv__sticky_next(0, 1, &rng), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_java_pairs),
        cmocka_unit_test(test_sticky_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
