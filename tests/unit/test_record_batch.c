/* tests/unit/test_record_batch.c: common/record_batch.c: RecordBatch v2
 * bytes against a hand-written encoding, build/parse/iterate round trips,
 * and rejection of corrupt, truncated and malformed batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/crc32c.h"
#include "common/record_batch.h"

/* One record, key "k", value "v", timestamp 1000, offset 0, no producer id,
 * written out field by field from Kafka's DefaultRecordBatch layout. The CRC
 * was computed independently (bitwise CRC-32C of bytes 21..69). */
static const uint8_t known_batch[70] = {
    0,    0,    0,    0,    0,    0,    0,    0,    /* base_offset 0 */
    0,    0,    0,    58,                           /* batch_length 70 - 12 */
    0xff, 0xff, 0xff, 0xff,                         /* partition_leader_epoch -1 */
    2,                                              /* magic */
    0x71, 0x6a, 0x61, 0x89,                         /* crc */
    0,    0,                                        /* attributes */
    0,    0,    0,    0,                            /* last_offset_delta 0 */
    0,    0,    0,    0,    0,    0,    0x03, 0xe8, /* base_timestamp 1000 */
    0,    0,    0,    0,    0,    0,    0x03, 0xe8, /* max_timestamp 1000 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer_id -1 */
    0xff, 0xff,                                     /* producer_epoch -1 */
    0xff, 0xff, 0xff, 0xff,                         /* base_sequence -1 */
    0,    0,    0,    1,                            /* records_count 1 */
    0x10,                                           /* record length 8 (zigzag 16) */
    0,                                              /* attributes */
    0,                                              /* timestampDelta 0 */
    0,                                              /* offsetDelta 0 */
    0x02, 'k',                                      /* keyLength 1, key */
    0x02, 'v',                                      /* valueLength 1, value */
    0,                                              /* headers count 0 */
};

static void test_known_encoding(void **state) {
    (void)state;
    rv__buf_t out = RV__BUF_INIT;
    rv__batch_builder_t b;
    assert_int_equal(rv__batch_builder_begin(&b, &out, 0, 0, INT64_MIN, -1, -1, -1, -1), 0);
    assert_int_equal(rv__batch_builder_add(&b, 0, 1000, "k", 1, "v", 1, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
    assert_int_equal(out.len, sizeof known_batch);
    assert_memory_equal(out.data, known_batch, sizeof known_batch);

    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, known_batch, sizeof known_batch), 0);
    assert_int_equal(h.crc, 0x716a6189u);
    assert_int_equal(rv__batch_size(&h), 70);
    assert_int_equal(h.records_count, 1);
    assert_int_equal(h.base_timestamp, 1000);
    assert_int_equal(h.producer_id, -1);
    assert_int_equal(h.producer_epoch, -1);
    assert_int_equal(h.base_sequence, -1);
    assert_int_equal(h.partition_leader_epoch, -1);
    rv__buf_free(&out);
}

struct rec {
    int64_t offset, ts;
    const char *key; /* NULL = null */
    const char *value;
    int nhdr;
};

static void test_roundtrip(void **state) {
    (void)state;
    const struct rec recs[] = {
        {100, 5000, "alpha", "one", 0},
        {101, 4000, NULL, "null key, earlier timestamp", 2},
        {105, 9000, "tomb", NULL, 0}, /* tombstone, offset gap */
        {106, 9000, "", "", 1},       /* empty, not null */
        {107, 1LL << 40, "far", "future", 0},
    };
    const int n = (int)(sizeof recs / sizeof recs[0]);
    rv__buf_t out = RV__BUF_INIT;
    /* Something before the batch, to check it is appended at the end. */
    assert_int_equal(rv__buf_append(&out, "junk", 4), 0);
    rv__batch_builder_t b;
    assert_int_equal(rv__batch_builder_begin(&b, &out, 100, 0, INT64_MIN, 77, 3, 12, 9), 0);
    for (int i = 0; i < n; i++) {
        rv__buf_t hdrs = RV__BUF_INIT;
        for (int j = 0; j < recs[i].nhdr; j++) {
            char hk[16];
            int hkl = snprintf(hk, sizeof hk, "h%d", j);
            if (j == 1)
                assert_int_equal(rv__headers_encode(&hdrs, hk, hkl, NULL, -1), 0);
            else
                assert_int_equal(rv__headers_encode(&hdrs, hk, hkl, "hv", 2), 0);
        }
        const char *k = recs[i].key, *v = recs[i].value;
        assert_int_equal(
            rv__batch_builder_add(&b, recs[i].offset, recs[i].ts, k, k ? (int32_t)strlen(k) : -1, v,
                                  v ? (int32_t)strlen(v) : -1, recs[i].nhdr, hdrs.data, hdrs.len),
            0);
        rv__buf_free(&hdrs);
    }
    /* Offsets must increase. */
    assert_int_equal(rv__batch_builder_add(&b, 107, 0, NULL, -1, NULL, -1, 0, NULL, 0),
                     RV_ERR__INVALID_ARG);
    assert_int_equal(rv__batch_builder_finish(&b, -1), 0);

    const uint8_t *p = out.data + 4;
    size_t len = out.len - 4;
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, p, len), 0);
    assert_int_equal(rv__batch_size(&h), len);
    assert_int_equal(h.base_offset, 100);
    assert_int_equal(h.last_offset_delta, 7);
    assert_int_equal(rv__batch_last_offset(&h), 107);
    assert_int_equal(h.records_count, n);
    assert_int_equal(h.base_timestamp, 5000);
    assert_true(h.max_timestamp == (1LL << 40));
    assert_int_equal(h.producer_id, 77);
    assert_int_equal(h.producer_epoch, 3);
    assert_int_equal(h.base_sequence, 12);
    assert_int_equal(h.partition_leader_epoch, 9);
    assert_int_equal(h.attributes, 0);

    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init(&it, p, len), 0);
    rv__record_t r;
    for (int i = 0; i < n; i++) {
        assert_int_equal(rv__record_iter_next(&it, &r), 1);
        assert_int_equal(r.offset, recs[i].offset);
        assert_true(r.timestamp == recs[i].ts);
        if (recs[i].key) {
            assert_int_equal(r.key_len, (int32_t)strlen(recs[i].key));
            assert_memory_equal(r.key, recs[i].key, (size_t)r.key_len);
        } else {
            assert_int_equal(r.key_len, -1);
            assert_null(r.key);
        }
        if (recs[i].value) {
            assert_int_equal(r.value_len, (int32_t)strlen(recs[i].value));
            assert_memory_equal(r.value, recs[i].value, (size_t)r.value_len);
        } else {
            assert_int_equal(r.value_len, -1);
            assert_null(r.value);
        }
        assert_int_equal(r.header_cnt, recs[i].nhdr);
        rv__slice_t hs;
        rv__slice_init(&hs, r.headers, r.headers_len);
        for (int j = 0; j < recs[i].nhdr; j++) {
            const uint8_t *hk, *hv;
            int32_t hkl, hvl;
            assert_int_equal(rv__record_header_next(&hs, &hk, &hkl, &hv, &hvl), 1);
            char want[16];
            snprintf(want, sizeof want, "h%d", j);
            assert_int_equal(hkl, (int32_t)strlen(want));
            assert_memory_equal(hk, want, (size_t)hkl);
            if (j == 1) {
                assert_int_equal(hvl, -1);
                assert_null(hv);
            } else {
                assert_int_equal(hvl, 2);
                assert_memory_equal(hv, "hv", 2);
            }
        }
        const uint8_t *hk, *hv;
        int32_t hkl, hvl;
        assert_int_equal(rv__record_header_next(&hs, &hk, &hkl, &hv, &hvl), 0);
    }
    assert_int_equal(rv__record_iter_next(&it, &r), 0);
    assert_int_equal(rv__record_iter_next(&it, &r), 0);

    /* Assigning offsets leaves the CRC valid and shifts every record. */
    rv__batch_set_base_offset(out.data + 4, 1000);
    assert_int_equal(rv__batch_validate(&h, p, len), 0);
    assert_int_equal(rv__record_iter_init(&it, p, len), 0);
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 1000);
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 1001);

    /* LogAppendTime: every record takes the batch's max_timestamp. */
    rv__batch_set_log_append_time(out.data + 4, len, 123456);
    assert_int_equal(rv__batch_validate(&h, p, len), 0);
    assert_int_equal(h.attributes & RV__ATTR_LOG_APPEND_TIME, RV__ATTR_LOG_APPEND_TIME);
    assert_int_equal(h.max_timestamp, 123456);
    assert_int_equal(rv__record_iter_init(&it, p, len), 0);
    while (rv__record_iter_next(&it, &r) == 1)
        assert_int_equal(r.timestamp, 123456);
    rv__buf_free(&out);
}

static void test_builder_options(void **state) {
    (void)state;
    rv__buf_t out = RV__BUF_INIT;
    rv__batch_builder_t b;
    /* A cleaner's rewrite: delete horizon as base timestamp, the original
     * last_offset_delta kept although the last records were removed. */
    assert_int_equal(
        rv__batch_builder_begin(&b, &out, 50, RV__ATTR_DELETE_HORIZON, 777, -1, -1, -1, 0), 0);
    assert_int_equal(rv__batch_builder_add(&b, 52, 800, "a", 1, "b", 1, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_add(&b, 53, 700, "c", 1, NULL, -1, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&b, 9), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_timestamp, 777);
    assert_int_equal(h.max_timestamp, 800);
    assert_int_equal(h.last_offset_delta, 9);
    assert_int_equal(h.attributes, RV__ATTR_DELETE_HORIZON);
    rv__record_iter_t it;
    rv__record_t r;
    assert_int_equal(rv__record_iter_init(&it, out.data, out.len), 0);
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 52);
    assert_int_equal(r.timestamp, 800);
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 53);
    assert_int_equal(r.timestamp, 700);
    assert_int_equal(rv__record_iter_next(&it, &r), 0);

    /* Bad arguments. */
    rv__buf_t o2 = RV__BUF_INIT;
    assert_int_equal(rv__batch_builder_begin(&b, &o2, 10, 0, INT64_MIN, -1, -1, -1, -1), 0);
    assert_int_equal(rv__batch_builder_add(&b, 9, 0, NULL, -1, NULL, -1, 0, NULL, 0),
                     RV_ERR__INVALID_ARG);
    assert_int_equal(rv__batch_builder_add(&b, 10, 0, NULL, -2, NULL, -1, 0, NULL, 0),
                     RV_ERR__INVALID_ARG);
    assert_int_equal(rv__batch_builder_add(&b, 10, 0, NULL, 3, NULL, -1, 0, NULL, 0),
                     RV_ERR__INVALID_ARG);
    assert_int_equal(rv__headers_encode(&o2, NULL, -1, "x", 1), RV_ERR__INVALID_ARG);
    rv__buf_free(&o2);
    rv__buf_free(&out);
}

static void make(rv__buf_t *out) {
    rv__buf_init(out);
    rvt_make_batch(out, 3, "key", 10, 1000);
}

static void test_crc_mismatch(void **state) {
    (void)state;
    rv__buf_t out;
    make(&out);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    /* Every byte covered by the CRC matters; bytes 0..16 are outside it. */
    for (size_t i = RV__BATCH_OFF_ATTRIBUTES; i < out.len; i++) {
        out.data[i] ^= 0x01;
        rv_err_t err = rv__batch_validate(&h, out.data, out.len);
        assert_int_equal(err, RV_ERR_CORRUPT_MESSAGE);
        out.data[i] ^= 0x01;
    }
    out.data[RV__BATCH_OFF_CRC + 2] ^= 0x40;
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), 0);
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), RV_ERR_CORRUPT_MESSAGE);
    rv__buf_free(&out);
}

static void test_truncated(void **state) {
    (void)state;
    rv__buf_t out;
    make(&out);
    rv__batch_hdr_t h;
    rv__record_iter_t it;
    for (size_t len = 0; len < out.len; len++) {
        /* A copy of exactly len bytes, so ASan catches any read past it. */
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, out.data, len);
        assert_int_equal(rv__batch_parse_header(&h, cut, len), RV_ERR__PARTIAL);
        assert_int_equal(rv__batch_validate(&h, cut, len), RV_ERR__PARTIAL);
        assert_int_equal(rv__record_iter_init(&it, cut, len), RV_ERR__PARTIAL);
        free(cut);
    }
    /* Extra bytes after the batch are not part of it. */
    assert_int_equal(rv__buf_append(&out, "more", 4), 0);
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(rv__batch_size(&h), out.len - 4);
    rv__buf_free(&out);
}

static void test_bad_header(void **state) {
    (void)state;
    rv__buf_t out;
    make(&out);
    rv__batch_hdr_t h;
    for (int magic = 0; magic < 4; magic++) {
        if (magic == 2)
            continue;
        out.data[RV__BATCH_OFF_MAGIC] = (uint8_t)magic;
        assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), RV_ERR_CORRUPT_MESSAGE);
    }
    out.data[RV__BATCH_OFF_MAGIC] = 2;
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), 0);

    uint32_t saved = rv__be32(out.data + RV__BATCH_OFF_LENGTH);
    rv__wbe32(out.data + RV__BATCH_OFF_LENGTH, 48);
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), RV_ERR_CORRUPT_MESSAGE);
    rv__wbe32(out.data + RV__BATCH_OFF_LENGTH, 0xffffffffu);
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), RV_ERR_CORRUPT_MESSAGE);
    rv__wbe32(out.data + RV__BATCH_OFF_LENGTH, saved + 1); /* claims more than there is */
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), RV_ERR__PARTIAL);
    rv__wbe32(out.data + RV__BATCH_OFF_LENGTH, saved);

    rv__wbe32(out.data + RV__BATCH_OFF_RECORDS_COUNT, 0x80000000u);
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), RV_ERR_CORRUPT_MESSAGE);
    rv__wbe32(out.data + RV__BATCH_OFF_RECORDS_COUNT, 3);
    rv__wbe32(out.data + RV__BATCH_OFF_LAST_OFFSET_DELTA, 0xfffffffeu);
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), RV_ERR_CORRUPT_MESSAGE);
    rv__wbe32(out.data + RV__BATCH_OFF_LAST_OFFSET_DELTA, 2);
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);

    /* Compressed batches need the scratch iterator. */
    rv__wbe16(out.data + RV__BATCH_OFF_ATTRIBUTES, 1);
    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init(&it, out.data, out.len),
                     RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    rv__buf_free(&out);
}

static int iterate_all(const uint8_t *p, size_t len) {
    rv__record_iter_t it;
    if (rv__record_iter_init(&it, p, len))
        return -2;
    rv__record_t r;
    int n = 0, rc;
    while ((rc = rv__record_iter_next(&it, &r)) == 1) {
        rv__slice_t hs;
        rv__slice_init(&hs, r.headers, r.headers_len);
        const uint8_t *hk, *hv;
        int32_t hkl, hvl;
        while (rv__record_header_next(&hs, &hk, &hkl, &hv, &hvl) == 1)
            ;
        n++;
    }
    return rc < 0 ? -1 : n;
}

static void test_malformed_records(void **state) {
    (void)state;
    rv__buf_t out;
    make(&out);
    assert_int_equal(iterate_all(out.data, out.len), 3);

    /* Count says more records than there are. */
    rv__wbe32(out.data + RV__BATCH_OFF_RECORDS_COUNT, 4);
    assert_int_equal(iterate_all(out.data, out.len), -1);
    /* Count says fewer: the leftover bytes are an error too. */
    rv__wbe32(out.data + RV__BATCH_OFF_RECORDS_COUNT, 2);
    assert_int_equal(iterate_all(out.data, out.len), -1);
    rv__wbe32(out.data + RV__BATCH_OFF_RECORDS_COUNT, 3);

    /* First record's length running past the batch. */
    uint8_t saved = out.data[RV__BATCH_HEADER_SIZE];
    out.data[RV__BATCH_HEADER_SIZE] = 0x7e; /* 63 */
    assert_int_equal(iterate_all(out.data, out.len), -1);
    out.data[RV__BATCH_HEADER_SIZE] = 0x01; /* -1 */
    assert_int_equal(iterate_all(out.data, out.len), -1);
    out.data[RV__BATCH_HEADER_SIZE] = saved;
    assert_int_equal(iterate_all(out.data, out.len), 3);
    rv__buf_free(&out);

    /* Random corruption: never a crash or an out-of-bounds read (ASan). */
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, 0, INT64_MIN, -1, -1, -1, -1), 0);
    for (int i = 0; i < 5; i++) {
        rv__buf_t hdrs = RV__BUF_INIT;
        assert_int_equal(rv__headers_encode(&hdrs, "hk", 2, "hv", 2), 0);
        assert_int_equal(
            rv__batch_builder_add(&bb, i, i, "k", 1, "value", 5, 1, hdrs.data, hdrs.len), 0);
        rv__buf_free(&hdrs);
    }
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    uint8_t *copy = malloc(b.len);
    srand(7);
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(copy, b.data, b.len);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++) {
            size_t pos = RV__BATCH_HEADER_SIZE + (size_t)rand() % (b.len - RV__BATCH_HEADER_SIZE);
            copy[pos] = (uint8_t)rand();
        }
        (void)iterate_all(copy, b.len);
    }
    free(copy);
    rv__buf_free(&b);
}

static void test_empty_batch(void **state) {
    (void)state;
    rv__buf_t out = RV__BUF_INIT;
    rv__batch_builder_t b;
    assert_int_equal(rv__batch_builder_begin(&b, &out, 5, 0, INT64_MIN, -1, -1, -1, -1), 0);
    assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
    assert_int_equal(out.len, RV__BATCH_HEADER_SIZE);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.records_count, 0);
    assert_int_equal(h.base_timestamp, -1);
    assert_int_equal(iterate_all(out.data, out.len), 0);
    rv__buf_free(&out);
}

static void test_read_header_alone(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 2, "k", 5, 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_read_header(&h, b.data, 60), RV_ERR__PARTIAL);
    assert_int_equal(rv__batch_read_header(&h, b.data, 61), 0);
    assert_int_equal(h.records_count, 2);
    b.data[RV__BATCH_OFF_MAGIC] = 1;
    assert_int_equal(rv__batch_read_header(&h, b.data, b.len), RV_ERR_CORRUPT_MESSAGE);
    b.data[RV__BATCH_OFF_MAGIC] = 2;
    rv__wbe32(b.data + RV__BATCH_OFF_LENGTH, 10);
    assert_int_equal(rv__batch_read_header(&h, b.data, b.len), RV_ERR_CORRUPT_MESSAGE);
    rv__buf_free(&b);
}

/* base_offset is outside the CRC and comes from the sender: a record's
 * offset past INT64_MAX wraps as Java's long addition does instead of
 * being undefined behaviour. */
static void test_record_offset_wraps(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 2, "k", 5, 0);
    rv__batch_set_base_offset(b.data, INT64_MAX);
    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init(&it, b.data, b.len), 0);
    rv__record_t r;
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_true(r.offset == INT64_MAX);
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_true(r.offset == INT64_MIN);
    assert_int_equal(rv__record_iter_next(&it, &r), 0);
    rv__buf_free(&b);
}

/* Builds the same records plain and with `codec` (1..4): the headers agree
 * field by field (codec bits, length and CRC aside) and the records read
 * back identically through the scratch iterator. */
static void build_pair(int codec, rv__buf_t *plain, rv__buf_t *z) {
    rv__buf_t hdrs = RV__BUF_INIT;
    assert_int_equal(rv__headers_encode(&hdrs, "trace", 5, "abc", 3), 0);
    for (int pass = 0; pass < 2; pass++) {
        rv__batch_builder_t b;
        rv__buf_t *out = pass ? z : plain;
        assert_int_equal(rv__batch_builder_begin(&b, out, 40, (int16_t)(pass ? codec : 0),
                                                 INT64_MIN, 9, 2, 17, 4),
                         0);
        for (int i = 0; i < 30; i++) {
            char k[8], v[64];
            int kl = snprintf(k, sizeof k, "k%d", i % 7);
            memset(v, 'a' + i % 3, sizeof v);
            assert_int_equal(rv__batch_builder_add(&b, 40 + 2 * i, 5000 - i, i % 5 ? k : NULL,
                                                   i % 5 ? kl : -1, i % 4 ? v : NULL,
                                                   i % 4 ? (int32_t)sizeof v : -1, i % 2,
                                                   i % 2 ? hdrs.data : NULL, i % 2 ? hdrs.len : 0),
                             0);
        }
        assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
    }
    rv__buf_free(&hdrs);
}

static void test_compressed_batches(void **state) {
    (void)state;
    rv__buf_t scratch = RV__BUF_INIT;
    for (int codec = 1; codec <= 4; codec++) {
        rv__buf_t plain = RV__BUF_INIT, z = RV__BUF_INIT;
        build_pair(codec, &plain, &z);
        rv__batch_hdr_t hp, hz;
        assert_int_equal(rv__batch_validate(&hp, plain.data, plain.len), 0);
        assert_int_equal(rv__batch_validate(&hz, z.data, z.len), 0);
        assert_int_equal(hz.attributes, codec);
        assert_true(z.len < plain.len);
        /* Header fields stay plain and equal. */
        assert_int_equal(hz.base_offset, hp.base_offset);
        assert_int_equal(hz.records_count, hp.records_count);
        assert_int_equal(hz.last_offset_delta, hp.last_offset_delta);
        assert_int_equal(hz.base_timestamp, hp.base_timestamp);
        assert_int_equal(hz.max_timestamp, hp.max_timestamp);
        assert_int_equal(hz.producer_id, hp.producer_id);
        assert_int_equal(hz.producer_epoch, hp.producer_epoch);
        assert_int_equal(hz.base_sequence, hp.base_sequence);
        assert_int_equal(hz.partition_leader_epoch, hp.partition_leader_epoch);

        rv__record_iter_t ip, iz;
        /* Without a scratch buffer compressed batches stay unreadable. */
        assert_int_equal(rv__record_iter_init(&iz, z.data, z.len),
                         RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
        /* The scratch path reads plain batches in place. */
        assert_int_equal(rv__record_iter_init2(&ip, plain.data, plain.len, &scratch), 0);
        assert_int_equal(rv__record_iter_init2(&iz, z.data, z.len, &scratch), 0);
        /* The decompressed section is the plain batch's records section. */
        assert_int_equal(scratch.len, plain.len - RV__BATCH_HEADER_SIZE);
        assert_memory_equal(scratch.data, plain.data + RV__BATCH_HEADER_SIZE, scratch.len);
        rv__record_t a, b;
        int n = 0, ra, rb;
        while ((ra = rv__record_iter_next(&ip, &a)) == 1) {
            rb = rv__record_iter_next(&iz, &b);
            assert_int_equal(rb, 1);
            assert_int_equal(a.offset, b.offset);
            assert_int_equal(a.timestamp, b.timestamp);
            assert_int_equal(a.key_len, b.key_len);
            assert_int_equal(a.value_len, b.value_len);
            assert_int_equal(a.header_cnt, b.header_cnt);
            assert_int_equal(a.headers_len, b.headers_len);
            if (a.key_len > 0)
                assert_memory_equal(a.key, b.key, (size_t)a.key_len);
            if (a.value_len > 0)
                assert_memory_equal(a.value, b.value, (size_t)a.value_len);
            n++;
        }
        assert_int_equal(ra, 0);
        assert_int_equal(rv__record_iter_next(&iz, &b), 0);
        assert_int_equal(n, 30);

        /* A record count above what the compressed section holds. */
        rv__wbe32(z.data + RV__BATCH_OFF_RECORDS_COUNT, 31);
        assert_int_equal(rv__record_iter_init2(&iz, z.data, z.len, &scratch), 0);
        while ((rb = rv__record_iter_next(&iz, &b)) == 1)
            ;
        assert_int_equal(rb, -1);
        rv__buf_free(&plain);
        rv__buf_free(&z);
    }
    /* Codec ids 5..7 are not Kafka's. */
    rv__buf_t out = RV__BUF_INIT;
    rvt_make_batch(&out, 2, "k", 4, 0);
    rv__wbe16(out.data + RV__BATCH_OFF_ATTRIBUTES, 6);
    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init2(&it, out.data, out.len, &scratch),
                     RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    rv__buf_free(&out);
    rv__buf_free(&scratch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_header_alone),  cmocka_unit_test(test_known_encoding),
        cmocka_unit_test(test_roundtrip),          cmocka_unit_test(test_builder_options),
        cmocka_unit_test(test_crc_mismatch),       cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_header),         cmocka_unit_test(test_malformed_records),
        cmocka_unit_test(test_empty_batch),        cmocka_unit_test(test_record_offset_wraps),
        cmocka_unit_test(test_compressed_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
