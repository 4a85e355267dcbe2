/* tests/unit/test_kafka_proto.c: the Kafka protocol codec
 * (broker/kafka/proto.c) and request header parsing (broker/kafka/api.c):
 * writer/reader round trips with Kafka's byte layouts, every short read
 * setting the sticky error, hostile lengths and array counts, the arena. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/kafka/api.h"
#include "broker/kafka/proto.h"

static void test_round_trip(void **state) {
    (void)state;
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_i8(&w, -5);
    rv__kw_i16(&w, -12345);
    rv__kw_i32(&w, 0x12345678);
    rv__kw_i64(&w, INT64_MIN + 7);
    rv__kw_bool(&w, true);
    rv__kw_bool(&w, false);
    rv__kw_str(&w, "topic-1");
    rv__kw_str(&w, NULL);
    rv__kw_str(&w, "");
    rv__kw_bytes(&w, "\x00\x01\x02", 3);
    rv__kw_bytes(&w, NULL, 0);
    size_t pos = rv__kw_reserve_i32(&w);
    rv__kw_raw(&w, "xy", 2);
    rv__kw_patch_i32(&w, pos, 42);
    assert_false(w.err);

    /* The exact bytes of a few fields: big-endian, int16 string length,
     * -1 for null. */
    assert_memory_equal(w.b.data, "\xfb\xcf\xc7\x12\x34\x56\x78", 7);
    static const uint8_t str_bytes[] = {0, 7, 't', 'o', 'p', 'i', 'c', '-', '1', 0xff, 0xff, 0, 0};
    assert_memory_equal(w.b.data + 7 + 8 + 2, str_bytes, sizeof str_bytes);

    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    rv__kr_init(&r, w.b.data, w.b.len, &arena);
    assert_int_equal(rv__kr_i8(&r), -5);
    assert_int_equal(rv__kr_i16(&r), -12345);
    assert_int_equal(rv__kr_i32(&r), 0x12345678);
    assert_true(rv__kr_i64(&r) == INT64_MIN + 7);
    assert_true(rv__kr_bool(&r));
    assert_false(rv__kr_bool(&r));
    assert_string_equal(rv__kr_str(&r), "topic-1");
    assert_null(rv__kr_str(&r));
    assert_string_equal(rv__kr_str(&r), "");
    size_t n;
    const uint8_t *p = rv__kr_bytes(&r, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "\x00\x01\x02", 3);
    assert_null(rv__kr_bytes(&r, &n));
    assert_int_equal(n, 0);
    assert_int_equal(rv__kr_i32(&r), 42);
    rv__kr_skip(&r, 2);
    assert_false(r.err);
    assert_int_equal(rv__slice_left(&r.s), 0);
    rv__karena_free(&arena);
    rv__kw_free(&w);
}

static void test_uvarint_and_tags(void **state) {
    (void)state;
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_uvarint(&w, 0);
    rv__kw_uvarint(&w, 300);
    /* A tag section: 2 fields (tag 0 with 3 bytes, tag 5 with 0 bytes). */
    rv__kw_uvarint(&w, 2);
    rv__kw_uvarint(&w, 0);
    rv__kw_uvarint(&w, 3);
    rv__kw_raw(&w, "abc", 3);
    rv__kw_uvarint(&w, 5);
    rv__kw_uvarint(&w, 0);
    rv__kw_i16(&w, 7);
    assert_memory_equal(w.b.data, "\x00\xac\x02", 3);
    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    rv__kr_init(&r, w.b.data + 3, w.b.len - 3, &arena);
    rv__kr_skip_tags(&r);
    assert_false(r.err);
    assert_int_equal(rv__kr_i16(&r), 7);
    /* A tag whose size runs past the end. */
    static const uint8_t bad[] = {1, 0, 9, 'a'};
    rv__kr_init(&r, bad, sizeof bad, &arena);
    rv__kr_skip_tags(&r);
    assert_true(r.err);
    rv__karena_free(&arena);
    rv__kw_free(&w);
}

/* Every read, on every prefix of a valid encoding shorter than it needs,
 * sets err and returns a zero value; later reads keep returning zeros. */
static void test_short_reads_set_err(void **state) {
    (void)state;
    static const uint8_t full[] = {0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f};
    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    for (size_t len = 0; len < 8; len++) {
        if (len < 1) {
            rv__kr_init(&r, full, len, &arena);
            assert_int_equal(rv__kr_i8(&r), 0);
            assert_true(r.err);
            rv__kr_init(&r, full, len, &arena);
            assert_false(rv__kr_bool(&r));
            assert_true(r.err);
        }
        if (len < 2) {
            rv__kr_init(&r, full, len, &arena);
            assert_int_equal(rv__kr_i16(&r), 0);
            assert_true(r.err);
        }
        if (len < 4) {
            rv__kr_init(&r, full, len, &arena);
            assert_int_equal(rv__kr_i32(&r), 0);
            assert_true(r.err);
            rv__kr_init(&r, full, len, &arena);
            assert_int_equal(rv__kr_array(&r, 0), 0);
            assert_true(r.err);
        }
        rv__kr_init(&r, full, len, &arena);
        assert_int_equal(rv__kr_i64(&r), 0);
        assert_true(r.err);
        /* Sticky: a read that would fit now still fails. */
        assert_int_equal(rv__kr_i8(&r), 0);
        assert_true(r.err);
    }
    /* A string or bytes whose length runs past the end. */
    static const uint8_t s5[] = {0, 5, 'a', 'b'};
    rv__kr_init(&r, s5, sizeof s5, &arena);
    assert_null(rv__kr_str(&r));
    assert_true(r.err);
    static const uint8_t b5[] = {0, 0, 0, 5, 'a', 'b'};
    size_t n = 99;
    rv__kr_init(&r, b5, sizeof b5, &arena);
    assert_null(rv__kr_bytes(&r, &n));
    assert_int_equal(n, 0);
    assert_true(r.err);
    /* A string length cut in half. */
    rv__kr_init(&r, s5, 1, &arena);
    assert_null(rv__kr_str(&r));
    assert_true(r.err);
    /* Skipping past the end. */
    rv__kr_init(&r, s5, sizeof s5, &arena);
    rv__kr_skip(&r, 5);
    assert_true(r.err);
    rv__karena_free(&arena);
}

static void test_hostile_lengths(void **state) {
    (void)state;
    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    /* Negative lengths other than -1. */
    static const uint8_t neg_str[] = {0xff, 0xfe, 'a'};
    rv__kr_init(&r, neg_str, sizeof neg_str, &arena);
    assert_null(rv__kr_str(&r));
    assert_true(r.err);
    static const uint8_t neg_bytes[] = {0xff, 0xff, 0xff, 0xfe};
    size_t n;
    rv__kr_init(&r, neg_bytes, sizeof neg_bytes, &arena);
    assert_null(rv__kr_bytes(&r, &n));
    assert_true(r.err);
    /* Array counts: -1 is a null array (no error), -2 is an error, and a
     * count that cannot fit in the bytes left is refused before the
     * caller allocates anything. */
    static const uint8_t null_arr[] = {0xff, 0xff, 0xff, 0xff};
    rv__kr_init(&r, null_arr, sizeof null_arr, &arena);
    assert_int_equal(rv__kr_array(&r, 4), -1);
    assert_false(r.err);
    static const uint8_t neg_arr[] = {0xff, 0xff, 0xff, 0xfe};
    rv__kr_init(&r, neg_arr, sizeof neg_arr, &arena);
    assert_int_equal(rv__kr_array(&r, 4), 0);
    assert_true(r.err);
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    rv__kr_init(&r, huge, sizeof huge, &arena);
    assert_int_equal(rv__kr_array(&r, 4), 0);
    assert_true(r.err);
    static const uint8_t two[] = {0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
    rv__kr_init(&r, two, sizeof two, &arena);
    assert_int_equal(rv__kr_array(&r, 4), 2);
    assert_false(r.err);
    rv__kr_init(&r, two, sizeof two, &arena);
    assert_int_equal(rv__kr_array(&r, 5), 0); /* 2 x 5 bytes > 8 left */
    assert_true(r.err);
    /* An embedded NUL in a string. */
    static const uint8_t nul[] = {0, 3, 'a', 0, 'b'};
    rv__kr_init(&r, nul, sizeof nul, &arena);
    assert_null(rv__kr_str(&r));
    assert_true(r.err);
    /* An overlong varint in a tag section. */
    static const uint8_t vl[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    rv__kr_init(&r, vl, sizeof vl, &arena);
    rv__kr_skip_tags(&r);
    assert_true(r.err);
    rv__karena_free(&arena);
}

static void test_arena(void **state) {
    (void)state;
    rv__karena_t a = RV__KARENA_INIT;
    for (int i = 0; i < 2000; i++) {
        uint8_t *p = rv__karena_alloc(&a, (size_t)(i % 37) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        for (int j = 0; j < i % 37 + 1; j++)
            assert_int_equal(p[j], 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    uint8_t *big = rv__karena_alloc(&a, 100000);
    assert_non_null(big);
    big[99999] = 1;
    char *s = rv__karena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    rv__karena_free(&a);
    assert_null(a.head);
    assert_non_null(rv__karena_alloc(&a, 1)); /* reusable */
    rv__karena_free(&a);
}

/* Request headers: v1, v2 for ApiVersions v3, and malformed ones. */
static void test_request_header(void **state) {
    (void)state;
    rv__kctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_i16(&w, 3);
    rv__kw_i16(&w, 4);
    rv__kw_i32(&w, 1234);
    rv__kw_str(&w, "my-client");
    rv__kw_i32(&w, -1); /* body */
    rv__kreq_t *req = rv__kreq_parse(&ctx, w.b.data, w.b.len, "/1.2.3.4");
    assert_non_null(req);
    assert_int_equal(req->api_key, 3);
    assert_int_equal(req->api_version, 4);
    assert_int_equal(req->correlation_id, 1234);
    assert_string_equal(req->client_id, "my-client");
    assert_string_equal(req->client_host, "/1.2.3.4");
    assert_int_equal(rv__kr_i32(&req->body), -1);
    rv__kreq_free(req);
    /* Null client id reads as "". */
    w.b.len = 8;
    rv__kw_str(&w, NULL);
    req = rv__kreq_parse(&ctx, w.b.data, w.b.len, "/h");
    assert_non_null(req);
    assert_string_equal(req->client_id, "");
    rv__kreq_free(req);
    /* ApiVersions v3: a tag section follows the client id. */
    rv__kw_free(&w);
    rv__kw_init(&w);
    rv__kw_i16(&w, 18);
    rv__kw_i16(&w, 3);
    rv__kw_i32(&w, 5);
    rv__kw_str(&w, "c");
    rv__kw_uvarint(&w, 0);
    req = rv__kreq_parse(&ctx, w.b.data, w.b.len, "/h");
    assert_non_null(req);
    assert_int_equal(rv__slice_left(&req->body.s), 0);
    rv__kreq_free(req);
    /* Every truncation of it is refused, and so is a negative version. */
    for (size_t len = 0; len < w.b.len; len++)
        assert_null(rv__kreq_parse(&ctx, w.b.data, len, "/h"));
    w.b.data[2] = 0xff;
    assert_null(rv__kreq_parse(&ctx, w.b.data, w.b.len, "/h"));
    rv__kw_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_uvarint_and_tags),
        cmocka_unit_test(test_short_reads_set_err),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_request_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
