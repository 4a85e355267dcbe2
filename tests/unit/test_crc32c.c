/* tests/unit/test_crc32c.c: common/crc32c.c: known CRC-32C vectors, the
 * hardware and table paths agreeing on every length and alignment, and
 * incremental use. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "common/clock.h"
#include "common/crc32c.h"

static void test_known_vectors(void **state) {
    (void)state;
    assert_int_equal(rv__crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rv__crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rv__crc32c(0, "", 0), 0);
    assert_int_equal(rv__crc32c(0, NULL, 0), 0);
    /* RFC 3720 (iSCSI) B.4 test patterns. */
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    assert_int_equal(rv__crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(rv__crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(rv__crc32c(0, buf, 32), 0x46DD794Eu);
    assert_int_equal(rv__crc32c_sw(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(rv__crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void test_hw_equals_sw(void **state) {
    (void)state;
    enum { MAXLEN = 300 };
    uint8_t *mem = malloc(MAXLEN + 16);
    assert_non_null(mem);
    srand(12345);
    for (int i = 0; i < MAXLEN + 16; i++)
        mem[i] = (uint8_t)rand();
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= MAXLEN; len++) {
            const uint8_t *p = mem + align;
            uint32_t hw = rv__crc32c(0, p, len);
            uint32_t sw = rv__crc32c_sw(0, p, len);
            if (hw != sw)
                fail_msg("align %zu len %zu: hw %08x sw %08x", align, len, hw, sw);
            /* A non-zero starting value too. */
            assert_int_equal(rv__crc32c(0xdeadbeef, p, len), rv__crc32c_sw(0xdeadbeef, p, len));
        }
    }
    free(mem);

    /* Long buffers take the three-stream path with its shift tables: cover
     * the block boundaries (3 x 256, 3 x 8192) and odd sizes around them. */
    size_t big = 100000;
    mem = malloc(big + 16);
    assert_non_null(mem);
    for (size_t i = 0; i < big + 16; i++)
        mem[i] = (uint8_t)rand();
    const size_t edges[] = {767, 768, 769, 1535, 1536, 1537, 24575, 24576, 24577, 25344, 49152};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        for (size_t align = 0; align < 9; align++)
            assert_int_equal(rv__crc32c(0, mem + align, edges[i]),
                             rv__crc32c_sw(0, mem + align, edges[i]));
    for (int i = 0; i < 200; i++) {
        size_t len = (size_t)rand() % big, align = (size_t)rand() % 16;
        assert_int_equal(rv__crc32c(7, mem + align, len), rv__crc32c_sw(7, mem + align, len));
    }
    free(mem);
    printf("# hardware crc32c: %s\n", rv__crc32c_hw_available() ? "yes" : "no");
}

static void test_incremental(void **state) {
    (void)state;
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    uint32_t whole = rv__crc32c(0, buf, sizeof buf);
    for (size_t split = 0; split <= sizeof buf; split += 37) {
        uint32_t c = rv__crc32c(0, buf, split);
        c = rv__crc32c(c, buf + split, sizeof buf - split);
        assert_int_equal(c, whole);
        uint32_t s = rv__crc32c_sw(0, buf, split);
        s = rv__crc32c_sw(s, buf + split, sizeof buf - split);
        assert_int_equal(s, whole);
    }
    /* Any flipped bit changes the checksum. */
    for (size_t i = 0; i < sizeof buf; i += 13) {
        buf[i] ^= 0x10;
        assert_int_not_equal(rv__crc32c(0, buf, sizeof buf), whole);
        buf[i] ^= 0x10;
    }
}

/* Not a benchmark, a tripwire: the hardware path must not be slow. */
static void test_throughput(void **state) {
    (void)state;
    if (!rv__crc32c_hw_available())
        skip();
    size_t n = 1 << 20;
    uint8_t *buf = calloc(1, n);
    assert_non_null(buf);
    uint32_t c = 0;
    int64_t t0 = rv__mono_us();
    for (int i = 0; i < 64; i++)
        c = rv__crc32c(c, buf, n);
    int64_t us = rv__mono_us() - t0;
    double gbs = 64.0 * (double)n / ((double)(us ? us : 1) * 1000.0);
    printf("# crc32c hw: %.2f GB/s (crc %08x)\n", gbs, c);
    /* Generous: even a loaded shared machine does well over 1 GB/s. */
    assert_true(gbs > 0.5);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_hw_equals_sw),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
