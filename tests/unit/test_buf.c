/* tests/unit/test_buf.c: common/buf.c: buffers, big-endian helpers, and
 * Kafka varints (zigzag, boundaries, truncated and overlong input). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "common/buf.h"

static void test_append_and_grow(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < 10000; i++)
        assert_int_equal(rv__buf_put_u8(&b, (uint8_t)i), 0);
    assert_int_equal(b.len, 10000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(b.data[i], (uint8_t)i);
    uint8_t *p;
    assert_int_equal(rv__buf_extend(&b, 5, &p), 0);
    assert_ptr_equal(p, b.data + 10000);
    assert_int_equal(b.len, 10005);
    rv__buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    /* Reusable after free. */
    assert_int_equal(rv__buf_append(&b, "abc", 3), 0);
    assert_memory_equal(b.data, "abc", 3);
    rv__buf_free(&b);
}

static void test_big_endian(void **state) {
    (void)state;
    rv__buf_t b;
    rv__buf_init(&b);
    assert_int_equal(rv__buf_put_be16(&b, 0x0102), 0);
    assert_int_equal(rv__buf_put_be32(&b, 0x03040506), 0);
    assert_int_equal(rv__buf_put_be64(&b, 0x0708090a0b0c0d0eULL), 0);
    const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);

    rv__slice_t s;
    rv__slice_init(&s, b.data, b.len);
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;
    assert_int_equal(rv__slice_be16(&s, &v16), 0);
    assert_int_equal(v16, 0x0102);
    assert_int_equal(rv__slice_be32(&s, &v32), 0);
    assert_int_equal(v32, 0x03040506);
    assert_int_equal(rv__slice_be64(&s, &v64), 0);
    assert_true(v64 == 0x0708090a0b0c0d0eULL);
    assert_int_equal(rv__slice_left(&s), 0);
    uint8_t u8;
    assert_int_equal(rv__slice_u8(&s, &u8), -1);
    assert_int_equal(rv__slice_be16(&s, &v16), -1);
    rv__buf_free(&b);

    /* Short reads leave the cursor where it was. */
    const uint8_t three[] = {1, 2, 3};
    rv__slice_init(&s, three, 3);
    assert_int_equal(rv__slice_be32(&s, &v32), -1);
    assert_int_equal(rv__slice_be64(&s, &v64), -1);
    assert_int_equal(s.pos, 0);
    const uint8_t *p;
    assert_int_equal(rv__slice_bytes(&s, 4, &p), -1);
    assert_int_equal(rv__slice_bytes(&s, 3, &p), 0);
    assert_ptr_equal(p, three);
}

static void test_printf(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(rv__buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 0);
    assert_string_equal((char *)b.data, "");
    assert_int_equal(rv__buf_printf(&b, "x=%d", 42), 0);
    assert_int_equal(rv__buf_printf(&b, ",y=%s", "z"), 0);
    assert_int_equal(b.len, 8);
    assert_string_equal((char *)b.data, "x=42,y=z");
    /* Longer than any internal scratch buffer. */
    char big[2000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(rv__buf_printf(&b, "%s!", big), 0);
    assert_int_equal(b.len, 8 + 1999 + 1);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(b.data[b.len - 1], '!');
    rv__buf_free(&b);
}

static void test_zigzag(void **state) {
    (void)state;
    assert_true(rv__zigzag64(0) == 0);
    assert_true(rv__zigzag64(-1) == 1);
    assert_true(rv__zigzag64(1) == 2);
    assert_true(rv__zigzag64(-2) == 3);
    assert_true(rv__zigzag64(INT32_MAX) == 4294967294ULL);
    assert_true(rv__zigzag64(INT32_MIN) == 4294967295ULL);
    assert_true(rv__zigzag64(INT64_MAX) == UINT64_MAX - 1);
    assert_true(rv__zigzag64(INT64_MIN) == UINT64_MAX);
    const int64_t vals[] = {0, 1, -1, 63, -64, 64, -65, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        assert_true(rv__unzigzag64(rv__zigzag64(vals[i])) == vals[i]);
}

/* Known encodings, as Kafka's ByteUtils writes them. */
static void test_varint_known_bytes(void **state) {
    (void)state;
    struct {
        int64_t v;
        uint8_t bytes[10];
        size_t n;
    } cases[] = {
        {0, {0x00}, 1},
        {-1, {0x01}, 1},
        {1, {0x02}, 1},
        {63, {0x7e}, 1},
        {-64, {0x7f}, 1},
        {64, {0x80, 0x01}, 2},
        {300, {0xd8, 0x04}, 2},
        {INT32_MAX, {0xfe, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT32_MIN, {0xff, 0xff, 0xff, 0xff, 0x0f}, 5},
        {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rv__buf_t b = RV__BUF_INIT;
        assert_int_equal(rv__buf_put_varint(&b, cases[i].v), 0);
        assert_int_equal(b.len, cases[i].n);
        assert_memory_equal(b.data, cases[i].bytes, cases[i].n);
        assert_int_equal(rv__varint_size(cases[i].v), cases[i].n);

        rv__slice_t s;
        int64_t v64;
        rv__slice_init(&s, b.data, b.len);
        assert_int_equal(rv__slice_varint64(&s, &v64), 0);
        assert_true(v64 == cases[i].v);
        assert_int_equal(s.pos, cases[i].n);
        if (cases[i].v >= INT32_MIN && cases[i].v <= INT32_MAX) {
            int32_t v32;
            rv__slice_init(&s, b.data, b.len);
            assert_int_equal(rv__slice_varint32(&s, &v32), 0);
            assert_int_equal(v32, (int32_t)cases[i].v);
        } else {
            /* Too wide for a 32-bit varint. */
            int32_t v32;
            rv__slice_init(&s, b.data, b.len);
            assert_int_equal(rv__slice_varint32(&s, &v32), -1);
            assert_int_equal(s.pos, 0);
        }
        rv__buf_free(&b);
    }
}

static void test_uvarint_roundtrip(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    uint64_t vals[200];
    size_t n = 0;
    for (int shift = 0; shift < 64; shift++) {
        uint64_t v = (uint64_t)1 << shift;
        vals[n++] = v - 1;
        vals[n++] = v;
        vals[n++] = v + 1;
    }
    vals[n++] = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rv__buf_put_uvarint(&b, vals[i]), 0);
        uint8_t tmp[10];
        assert_int_equal(rv__uvarint_encode(tmp, vals[i]), rv__uvarint_size(vals[i]));
    }
    assert_int_equal(rv__uvarint_size(UINT64_MAX), 10);
    assert_int_equal(rv__uvarint_size(127), 1);
    assert_int_equal(rv__uvarint_size(128), 2);
    rv__slice_t s;
    rv__slice_init(&s, b.data, b.len);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        assert_int_equal(rv__slice_uvarint(&s, &v), 0);
        assert_true(v == vals[i]);
    }
    assert_int_equal(rv__slice_left(&s), 0);
    rv__buf_free(&b);
}

static void test_varint_bad_input(void **state) {
    (void)state;
    uint64_t v;
    int32_t v32;
    int64_t v64;
    rv__slice_t s;

    /* Truncated: continuation bit on the last byte available. */
    const uint8_t trunc[] = {0x80, 0x80};
    assert_int_equal(rv__uvarint_decode(trunc, sizeof trunc, 10, &v), 0);
    assert_int_equal(rv__uvarint_decode(trunc, 0, 10, &v), 0);
    rv__slice_init(&s, trunc, sizeof trunc);
    assert_int_equal(rv__slice_varint32(&s, &v32), -1);
    assert_int_equal(rv__slice_varint64(&s, &v64), -1);
    assert_int_equal(s.pos, 0);

    /* Overlong: 6 bytes for a varint, 11 for a varlong. */
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(rv__uvarint_decode(six, sizeof six, 5, &v), 0);
    assert_int_equal(rv__uvarint_decode(six, sizeof six, 10, &v), 6);
    rv__slice_init(&s, six, sizeof six);
    assert_int_equal(rv__slice_varint32(&s, &v32), -1);
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(rv__uvarint_decode(eleven, sizeof eleven, 10, &v), 0);
    rv__slice_init(&s, eleven, sizeof eleven);
    assert_int_equal(rv__slice_varint64(&s, &v64), -1);
    assert_int_equal(rv__slice_uvarint(&s, &v), -1);

    /* Fifth byte carrying bits beyond 32: not a valid varint. */
    const uint8_t wide[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    assert_int_equal(rv__uvarint_decode(wide, sizeof wide, 5, &v), 0);
    assert_int_equal(rv__uvarint_decode(wide, sizeof wide, 10, &v), 5);
    /* Tenth byte above 1 overflows 64 bits. */
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(rv__uvarint_decode(over, sizeof over, 10, &v), 0);

    /* Non-minimal but in-range encodings are accepted, as Kafka does. */
    const uint8_t padded[] = {0x82, 0x80, 0x00};
    rv__slice_init(&s, padded, sizeof padded);
    assert_int_equal(rv__slice_varint32(&s, &v32), 0);
    assert_int_equal(v32, 1);
    assert_int_equal(s.pos, 3);
}

/* An empty window over a NULL pointer (an empty buffer, e.g. a compressed
 * batch that decompressed to nothing) reads nothing and stays defined. */
static void test_slice_over_null(void **state) {
    (void)state;
    rv__slice_t sl;
    rv__slice_init(&sl, NULL, 0);
    int32_t v32;
    int64_t v64;
    uint64_t u;
    const uint8_t *p;
    assert_int_equal(rv__slice_varint32(&sl, &v32), -1);
    assert_int_equal(rv__slice_varint64(&sl, &v64), -1);
    assert_int_equal(rv__slice_uvarint(&sl, &u), -1);
    assert_int_equal(rv__slice_bytes(&sl, 0, &p), 0);
    assert_int_equal(rv__slice_bytes(&sl, 1, &p), -1);
    assert_int_equal(rv__slice_left(&sl), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_over_null),
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_varint_known_bytes),
        cmocka_unit_test(test_uvarint_roundtrip),
        cmocka_unit_test(test_varint_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
