/* tests/unit/test_murmur2.c: common/murmur2.c against the Java client's
 * Utils.murmur2 vectors and the default partitioner's choices. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "common/murmur2.h"

static void test_java_vectors(void **state) {
    (void)state;
    /* Kafka UtilsTest.testMurmur2 and the reference notes. */
    static const struct {
        const char *key;
        int32_t hash;
    } v[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
        {"", 275646681},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int32_t h = rv__murmur2(v[i].key, strlen(v[i].key));
        if (h != v[i].hash)
            fail_msg("murmur2(\"%s\") = %d, want %d", v[i].key, h, v[i].hash);
    }
    /* Kafka UtilsTest: the byte array {'a','b','c'} equals the string. */
    const uint8_t abc[] = {0x61, 0x62, 0x63};
    assert_int_equal(rv__murmur2(abc, 3), 479470107);
}

static void test_partitions(void **state) {
    (void)state;
    assert_int_equal(rv__murmur2_partition("foobar", 6, 12), 6);
    assert_int_equal(rv__murmur2_partition("foobar", 6, 10), 6);
    assert_int_equal(rv__murmur2_partition("foobar", 6, 3), 0);
    assert_int_equal(rv__murmur2_partition("abc", 3, 12), 3);
    assert_int_equal(rv__murmur2_partition("abc", 3, 10), 7);
    assert_int_equal(rv__murmur2_partition("a-little-bit-long-string", 24, 12), 8);
    assert_int_equal(rv__murmur2_partition("anything", 8, 1), 0);
    /* toPositive is a mask, not abs(): INT32_MIN-like hashes stay in range. */
    for (int i = 0; i < 10000; i++) {
        char k[16];
        int n = snprintf(k, sizeof k, "key-%d", i);
        int32_t p = rv__murmur2_partition(k, (size_t)n, 7);
        assert_true(p >= 0 && p < 7);
        assert_int_equal(p, (int32_t)(((uint32_t)rv__murmur2(k, (size_t)n) & 0x7fffffffu) % 7));
    }
}

/* All tail lengths (len % 4) go through the fall-through switch. */
static void test_tails_differ(void **state) {
    (void)state;
    const char *s = "0123456789";
    int32_t seen[11];
    for (size_t len = 0; len <= 10; len++) {
        seen[len] = rv__murmur2(s, len);
        for (size_t j = 0; j < len; j++)
            assert_int_not_equal(seen[j], seen[len]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_java_vectors),
        cmocka_unit_test(test_partitions),
        cmocka_unit_test(test_tails_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
