/* tests/unit/test_record.c: common/record.c: the public batch builder and
 * reader (rivulet/record.h), and that their bytes are RecordBatch v2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/clock.h"
#include "common/record_batch.h"
#include "rivulet/broker.h"
#include "rivulet/record.h"

static void test_build_and_read(void **state) {
    (void)state;
    rv_batch_builder_t *b = rv_batch_builder_new();
    assert_non_null(b);
    assert_int_equal(rv_batch_builder_add_header(b, "h", "v", 1), RV_ERR__STATE);
    const void *data;
    size_t len;
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), RV_ERR__STATE);

    int64_t before = rv__now_ms();
    assert_int_equal(rv_batch_builder_add(b, "k1", 2, "v1", 2, 1000), 0);
    assert_int_equal(rv_batch_builder_add_header(b, "trace", "abc", 3), 0);
    assert_int_equal(rv_batch_builder_add_header(b, "nullh", NULL, -1), 0);
    assert_int_equal(rv_batch_builder_add(b, NULL, -1, "no key", 6, -1), 0); /* now */
    assert_int_equal(rv_batch_builder_add(b, "gone", 4, NULL, -1, 3000), 0); /* tombstone */
    assert_int_equal(rv_batch_builder_add(b, "", 0, "", 0, 4000), 0);
    assert_int_equal(rv_batch_builder_add_header(b, "", "", 0), 0);
    assert_int_equal(rv_batch_builder_add(b, NULL, -2, NULL, -1, 0), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_batch_builder_count(b), 4);
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    int64_t after = rv__now_ms();
    /* Finishing again gives the same bytes; adding needs a reset. */
    const void *data2;
    size_t len2;
    assert_int_equal(rv_batch_builder_finish(b, &data2, &len2), 0);
    assert_ptr_equal(data, data2);
    assert_int_equal(len, len2);
    assert_int_equal(rv_batch_builder_add(b, "x", 1, "y", 1, 0), RV_ERR__STATE);

    /* The bytes are a valid v2 batch. */
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, data, len), 0);
    assert_int_equal(rv__batch_size(&h), len);
    assert_int_equal(h.records_count, 4);
    assert_int_equal(h.base_offset, 0);
    assert_int_equal(h.last_offset_delta, 3);
    assert_int_equal(h.producer_id, -1);

    rv_batch_reader_t *r = rv_batch_reader_new(data, len);
    int32_t kl, vl;
    const char *hk;
    const void *hv;
    int32_t hkl, hvl;

    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_offset(r), 0);
    assert_int_equal(rv_batch_reader_timestamp(r), 1000);
    assert_memory_equal(rv_batch_reader_key(r, &kl), "k1", 2);
    assert_int_equal(kl, 2);
    assert_memory_equal(rv_batch_reader_value(r, &vl), "v1", 2);
    assert_int_equal(vl, 2);
    assert_int_equal(rv_batch_reader_header_count(r), 2);
    assert_int_equal(rv_batch_reader_header(r, 0, &hk, &hkl, &hv, &hvl), 0);
    assert_int_equal(hkl, 5);
    assert_memory_equal(hk, "trace", 5);
    assert_int_equal(hvl, 3);
    assert_memory_equal(hv, "abc", 3);
    assert_int_equal(rv_batch_reader_header(r, 1, &hk, &hkl, &hv, &hvl), 0);
    assert_memory_equal(hk, "nullh", 5);
    assert_int_equal(hvl, -1);
    assert_null(hv);
    assert_int_equal(rv_batch_reader_header(r, 2, &hk, &hkl, &hv, &hvl), RV_ERR__NOENT);
    assert_int_equal(rv_batch_reader_header(r, -1, &hk, &hkl, &hv, &hvl), RV_ERR__NOENT);

    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_offset(r), 1);
    int64_t ts = rv_batch_reader_timestamp(r);
    assert_true(ts >= before && ts <= after);
    assert_null(rv_batch_reader_key(r, &kl));
    assert_int_equal(kl, -1);
    assert_memory_equal(rv_batch_reader_value(r, &vl), "no key", 6);
    assert_int_equal(rv_batch_reader_header_count(r), 0);

    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_offset(r), 2);
    assert_memory_equal(rv_batch_reader_key(r, &kl), "gone", 4);
    assert_null(rv_batch_reader_value(r, &vl));
    assert_int_equal(vl, -1);

    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_offset(r), 3);
    assert_non_null(rv_batch_reader_key(r, &kl)); /* empty, not null */
    assert_int_equal(kl, 0);
    assert_non_null(rv_batch_reader_value(r, &vl));
    assert_int_equal(vl, 0);
    assert_int_equal(rv_batch_reader_header(r, 0, &hk, &hkl, &hv, &hvl), 0);
    assert_int_equal(hkl, 0);
    assert_int_equal(hvl, 0);
    assert_non_null(hv);

    assert_int_equal(rv_batch_reader_next(r), 0);
    assert_int_equal(rv_batch_reader_next(r), 0);
    rv_batch_reader_destroy(r);

    /* Reset and reuse. */
    rv_batch_builder_reset(b);
    assert_int_equal(rv_batch_builder_count(b), 0);
    assert_int_equal(rv_batch_builder_add(b, "a", 1, "b", 1, 5), 0);
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    assert_int_equal(rv__batch_validate(&h, data, len), 0);
    assert_int_equal(h.records_count, 1);
    rv_batch_builder_destroy(b);
    rv_batch_builder_destroy(NULL);
}

/* Several batches in a row, as a fetch returns them, with a control batch
 * between them and a partial batch at the end. */
static void test_reader_stream(void **state) {
    (void)state;
    rv__buf_t all = RV__BUF_INIT;
    rvt_make_batch(&all, 3, "a", 4, 100);
    rv__batch_set_base_offset(all.data, 10);

    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, &all, 13,
                                             RV__ATTR_CONTROL | RV__ATTR_TRANSACTIONAL, INT64_MIN,
                                             5, 0, -1, -1),
                     0);
    const uint8_t key[] = {0, 0, 0, 1}, val[] = {0, 0, 0, 0, 0, 0};
    assert_int_equal(rv__batch_builder_add(&bb, 13, 200, key, 4, val, 6, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);

    size_t second = all.len;
    rvt_make_batch(&all, 2, NULL, 1, 300);
    rv__batch_set_base_offset(all.data + second, 14);
    rvt_make_batch(&all, 2, "t", 1, 400);

    rv_batch_reader_t *r = rv_batch_reader_new(all.data, all.len - 5);
    int64_t want[] = {10, 11, 12, 14, 15};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rv_batch_reader_next(r), 1);
        assert_int_equal(rv_batch_reader_offset(r), want[i]);
    }
    assert_int_equal(rv_batch_reader_next(r), 0);
    rv_batch_reader_destroy(r);

    r = rv_batch_reader_new(NULL, 0);
    assert_int_equal(rv_batch_reader_next(r), 0);
    assert_int_equal(rv_batch_reader_offset(r), -1);
    rv_batch_reader_destroy(r);
    rv__buf_free(&all);
}

static void test_reader_errors(void **state) {
    (void)state;
    rv__buf_t all = RV__BUF_INIT;
    rvt_make_batch(&all, 2, "a", 4, 100);
    size_t first = all.len;
    rvt_make_batch(&all, 2, "b", 4, 100);

    /* Bad CRC in the second batch: the first one's records still come. */
    all.data[all.len - 1] ^= 0xff;
    rv_batch_reader_t *r = rv_batch_reader_new(all.data, all.len);
    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_next(r), RV_ERR__CRC);
    assert_int_equal(rv_batch_reader_next(r), RV_ERR__CRC); /* sticky */
    assert_null(rv_batch_reader_key(r, NULL));
    rv_batch_reader_destroy(r);
    all.data[all.len - 1] ^= 0xff;

    /* Bad magic. */
    all.data[first + RV__BATCH_OFF_MAGIC] = 1;
    r = rv_batch_reader_new(all.data, all.len);
    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_next(r), RV_ERR__BAD_MSG);
    rv_batch_reader_destroy(r);
    all.data[first + RV__BATCH_OFF_MAGIC] = 2;

    /* A record count that does not match, with a correct CRC. */
    rv__wbe32(all.data + RV__BATCH_OFF_RECORDS_COUNT, 3);
    rv__wbe32(all.data + RV__BATCH_OFF_CRC, rv__batch_compute_crc(all.data, first));
    r = rv_batch_reader_new(all.data, all.len);
    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_next(r), 1);
    assert_int_equal(rv_batch_reader_next(r), RV_ERR__BAD_MSG);
    rv_batch_reader_destroy(r);

    /* A batch claiming zstd whose records are not a zstd frame. */
    rv__wbe32(all.data + RV__BATCH_OFF_RECORDS_COUNT, 2);
    rv__wbe16(all.data + RV__BATCH_OFF_ATTRIBUTES, 4); /* zstd */
    rv__wbe32(all.data + RV__BATCH_OFF_CRC, rv__batch_compute_crc(all.data, first));
    r = rv_batch_reader_new(all.data, all.len);
    assert_int_equal(rv_batch_reader_next(r), RV_ERR__BAD_MSG);
    rv_batch_reader_destroy(r);

    /* A codec id Kafka does not define. */
    rv__wbe16(all.data + RV__BATCH_OFF_ATTRIBUTES, 5);
    rv__wbe32(all.data + RV__BATCH_OFF_CRC, rv__batch_compute_crc(all.data, first));
    r = rv_batch_reader_new(all.data, all.len);
    assert_int_equal(rv_batch_reader_next(r), RV_ERR__NOT_IMPLEMENTED);
    rv_batch_reader_destroy(r);
    rv__buf_free(&all);
}

static void test_rv_free(void **state) {
    (void)state;
    rv_free(NULL);
    rv_free(malloc(10));
}

/* The public builder compresses with every Kafka codec, and the reader
 * reads compressed and plain batches mixed in one stream. */
static void test_compression(void **state) {
    (void)state;
    static const char *types[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    rv_batch_builder_t *b = rv_batch_builder_new();
    assert_non_null(b);
    assert_int_equal(rv_batch_builder_set_compression(b, "brotli"), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_batch_builder_set_compression(b, NULL), RV_ERR__INVALID_ARG);
    rv__buf_t all = RV__BUF_INIT;
    char value[100];
    memset(value, 'q', sizeof value);
    for (int t = 0; t < 5; t++) {
        rv_batch_builder_reset(b);
        assert_int_equal(rv_batch_builder_set_compression(b, types[t]), 0);
        for (int i = 0; i < 20; i++) {
            assert_int_equal(rv_batch_builder_add(b, "key", 3, value, (int32_t)sizeof value, 77),
                             0);
            assert_int_equal(rv_batch_builder_add_header(b, "n", &i, (int32_t)sizeof i), 0);
        }
        /* Too late to change the codec of this batch. */
        assert_int_equal(rv_batch_builder_set_compression(b, "gzip"), RV_ERR__STATE);
        const void *data;
        size_t len;
        assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
        rv__batch_hdr_t h;
        assert_int_equal(rv__batch_validate(&h, data, len), 0);
        assert_int_equal(h.attributes & RV__ATTR_COMPRESSION_MASK, t);
        if (t)
            assert_true(len < 20 * sizeof value);
        size_t at = all.len;
        assert_int_equal(rv__buf_append(&all, data, len), 0);
        rv__batch_set_base_offset(all.data + at, 20 * t);
    }
    /* The setting survives a reset. */
    rv_batch_builder_reset(b);
    assert_int_equal(rv_batch_builder_add(b, NULL, -1, "v", 1, 1), 0);
    const void *data;
    size_t len;
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    assert_int_equal(((const uint8_t *)data)[RV__BATCH_OFF_ATTRIBUTES + 1] & 7, 4);
    rv_batch_builder_destroy(b);

    rv_batch_reader_t *r = rv_batch_reader_new(all.data, all.len);
    int n = 0;
    while (rv_batch_reader_next(r) == 1) {
        assert_int_equal(rv_batch_reader_offset(r), n);
        assert_int_equal(rv_batch_reader_timestamp(r), 77);
        int32_t kl, vl;
        const void *k = rv_batch_reader_key(r, &kl);
        assert_int_equal(kl, 3);
        assert_memory_equal(k, "key", 3);
        const void *v = rv_batch_reader_value(r, &vl);
        assert_int_equal(vl, sizeof value);
        assert_memory_equal(v, value, sizeof value);
        assert_int_equal(rv_batch_reader_header_count(r), 1);
        const char *hk;
        const void *hv;
        int32_t hkl, hvl;
        assert_int_equal(rv_batch_reader_header(r, 0, &hk, &hkl, &hv, &hvl), 0);
        assert_int_equal(hvl, sizeof(int));
        int got;
        memcpy(&got, hv, sizeof got);
        assert_int_equal(got, n % 20);
        n++;
    }
    assert_int_equal(n, 100);
    assert_int_equal(rv_batch_reader_next(r), 0);
    rv_batch_reader_destroy(r);
    rv__buf_free(&all);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_read), cmocka_unit_test(test_reader_stream),
        cmocka_unit_test(test_reader_errors),  cmocka_unit_test(test_rv_free),
        cmocka_unit_test(test_compression),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
