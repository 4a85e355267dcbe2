/* tests/unit/test_codec.c: common/codec.c: round trips for every codec over
 * empty, small, large and random data; the framing Kafka's clients expect;
 * batches compressed by a real Kafka client (kafka-python 2.0.2, bytes
 * captured once and embedded below) read back record by record; garbage,
 * truncated and bit-flipped input refused with CORRUPT_MESSAGE; and
 * decompression bombs stopped at max_out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/codec.h"
#include "common/record_batch.h"
#include "rivulet/record.h"

/* The batches below were built by kafka-python's DefaultRecordBatchBuilder
 * (the producer's batch code) with four records:
 *   offset 0 ts 1700000000000 key "k0" value "value-0 " x 8, header h=v
 *   offset 1 ts +10 key null value "x" x 100
 *   offset 2 ts +20 key "k2" value null
 *   offset 3 ts +30 key "k0" value "hello hello hello hello", header a=null
 * gzip is GzipFile level 9, snappy xerial framing, lz4 lz4.frame with
 * independent blocks and the content size stored, zstd zstandard's frame. */
/* kafka-python 2.0.2 DefaultRecordBatchBuilder, compression gzip */
static const uint8_t kp_batch_gzip[146] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x86, 0x00, 0x00, 0x00,
    0x00, 0x02, 0xf5, 0xbe, 0x05, 0x16, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01,
    0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x1e, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x04, 0x1f, 0x8b, 0x08, 0x00, 0xf4, 0x01, 0x06, 0x6b, 0x02, 0xff, 0x9b, 0xc5, 0xc8, 0xc0,
    0xc0, 0xc0, 0x92, 0x6d, 0xd0, 0xc0, 0x58, 0x96, 0x98, 0x53, 0x9a, 0xaa, 0x6b, 0xa0, 0x40,
    0x2e, 0xcd, 0xc4, 0x94, 0xc1, 0x54, 0x76, 0x8d, 0x91, 0x41, 0x84, 0x89, 0xf1, 0x04, 0x63,
    0x05, 0x1d, 0x00, 0x83, 0x00, 0x83, 0x06, 0x0b, 0x4b, 0xb6, 0x11, 0x23, 0x83, 0x0b, 0x83,
    0x0d, 0x1b, 0xd0, 0x0f, 0x7a, 0x19, 0xa9, 0x39, 0x39, 0xf9, 0x0a, 0x18, 0x24, 0x13, 0x53,
    0x22, 0x23, 0x00, 0xd1, 0x43, 0xfd, 0x3c, 0xe8, 0x00, 0x00, 0x00,
};
/* kafka-python 2.0.2 DefaultRecordBatchBuilder, compression snappy */
static const uint8_t kp_batch_snappy[159] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x00, 0x00, 0x00, 0x00,
    0x02, 0xc9, 0x87, 0xe8, 0xba, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x1e, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x04, 0x82, 0x53, 0x4e,
    0x41, 0x50, 0x50, 0x59, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x4e, 0xe8, 0x01, 0x44, 0x9a, 0x01, 0x00, 0x00, 0x00, 0x04, 0x6b, 0x30, 0x80, 0x01, 0x76, 0x61,
    0x6c, 0x75, 0x65, 0x2d, 0x30, 0x20, 0xde, 0x08, 0x00, 0x34, 0x02, 0x02, 0x68, 0x02, 0x76, 0xd6,
    0x01, 0x00, 0x14, 0x02, 0x01, 0xc8, 0x01, 0x78, 0xfe, 0x01, 0x00, 0x8a, 0x01, 0x00, 0x5c, 0x00,
    0x10, 0x00, 0x28, 0x04, 0x04, 0x6b, 0x32, 0x01, 0x00, 0x44, 0x00, 0x3c, 0x06, 0x04, 0x6b, 0x30,
    0x2e, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x42, 0x06, 0x00, 0x0c, 0x02, 0x02, 0x61, 0x01,
};
/* kafka-python 2.0.2 DefaultRecordBatchBuilder, compression lz4 */
static const uint8_t kp_batch_lz4[159] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x93, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x2a, 0xe8, 0x30, 0x74, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x1e, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x04, 0x04, 0x22, 0x4d,
    0x18, 0x68, 0x40, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4a, 0x4b, 0x00, 0x00, 0x00,
    0xff, 0x03, 0x9a, 0x01, 0x00, 0x00, 0x00, 0x04, 0x6b, 0x30, 0x80, 0x01, 0x76, 0x61, 0x6c, 0x75,
    0x65, 0x2d, 0x30, 0x20, 0x08, 0x00, 0x25, 0xef, 0x02, 0x02, 0x68, 0x02, 0x76, 0xd6, 0x01, 0x00,
    0x14, 0x02, 0x01, 0xc8, 0x01, 0x78, 0x01, 0x00, 0x50, 0xfc, 0x09, 0x00, 0x10, 0x00, 0x28, 0x04,
    0x04, 0x6b, 0x32, 0x01, 0x00, 0x44, 0x00, 0x3c, 0x06, 0x04, 0x6b, 0x30, 0x2e, 0x68, 0x65, 0x6c,
    0x6c, 0x6f, 0x20, 0x06, 0x00, 0x50, 0x6f, 0x02, 0x02, 0x61, 0x01, 0x00, 0x00, 0x00, 0x00,
};
/* kafka-python 2.0.2 DefaultRecordBatchBuilder, compression zstd */
static const uint8_t kp_batch_zstd[143] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x83, 0x00, 0x00, 0x00, 0x00,
    0x02, 0xb0, 0x59, 0x9a, 0x2d, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x1e, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x04, 0x28, 0xb5, 0x2f,
    0xfd, 0x20, 0xe8, 0x4d, 0x02, 0x00, 0xc4, 0x03, 0x9a, 0x01, 0x00, 0x00, 0x00, 0x04, 0x6b, 0x30,
    0x80, 0x01, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x2d, 0x30, 0x20, 0x02, 0x02, 0x68, 0x02, 0x76, 0xd6,
    0x01, 0x00, 0x14, 0x02, 0x01, 0xc8, 0x01, 0x78, 0x00, 0x10, 0x00, 0x28, 0x04, 0x04, 0x6b, 0x32,
    0x01, 0x00, 0x44, 0x00, 0x3c, 0x06, 0x04, 0x6b, 0x30, 0x2e, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20,
    0x02, 0x02, 0x61, 0x01, 0x03, 0x00, 0xa4, 0xcc, 0x23, 0xc0, 0xa5, 0x4a, 0x77, 0x96, 0x30,
};
/* python-snappy raw block of "raw snappy block, ..." */
static const uint8_t raw_snappy[25] = {
    0x35, 0x44, 0x72, 0x61, 0x77, 0x20, 0x73, 0x6e, 0x61, 0x70, 0x70, 0x79, 0x20,
    0x62, 0x6c, 0x6f, 0x63, 0x6b, 0x2c, 0x20, 0x86, 0x12, 0x00, 0x00, 0x21,
};

static const int codecs[] = {RV__CODEC_GZIP, RV__CODEC_SNAPPY, RV__CODEC_LZ4, RV__CODEC_ZSTD};
#define NCODECS 4

/* Deterministic pseudo-random bytes (xorshift64). */
static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

/* Text-like bytes that compress well but not trivially. */
static void fill_text(uint8_t *p, size_t n) {
    static const char *words[] = {"kafka ", "stream ", "record ", "batch ", "offset ", "key "};
    size_t i = 0, w = 0;
    while (i < n) {
        const char *s = words[(w * 7 + w / 3) % 6];
        for (; *s && i < n; s++)
            p[i++] = (uint8_t)*s;
        w++;
    }
}

static void test_names(void **state) {
    (void)state;
    static const char *names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(rv__codec_name(i), names[i]);
        assert_int_equal(rv__codec_by_name(names[i]), i);
        assert_true(rv__codec_valid(i));
    }
    assert_null(rv__codec_name(5));
    assert_null(rv__codec_name(-1));
    assert_false(rv__codec_valid(5));
    assert_int_equal(rv__codec_by_name("GZIP"), -1); /* Kafka's names are lower-case */
    assert_int_equal(rv__codec_by_name("producer"), -1);
    assert_int_equal(rv__codec_by_name(""), -1);
    assert_int_equal(rv__codec_by_name(NULL), -1);
}

/* Compresses and decompresses `in`, each time after some bytes already in
 * the output buffer, which must survive. */
static void round_trip(int codec, const uint8_t *in, size_t len) {
    rv__buf_t z = RV__BUF_INIT, out = RV__BUF_INIT;
    assert_int_equal(rv__buf_append(&z, "pre", 3), 0);
    assert_int_equal(rv__codec_compress(codec, in, len, &z), 0);
    assert_memory_equal(z.data, "pre", 3);
    assert_true(z.len > 3);
    assert_int_equal(rv__buf_append(&out, "xy", 2), 0);
    assert_int_equal(rv__codec_decompress(codec, z.data + 3, z.len - 3, &out, len), 0);
    assert_int_equal(out.len, len + 2);
    assert_memory_equal(out.data, "xy", 2);
    if (len)
        assert_memory_equal(out.data + 2, in, len);
    rv__buf_free(&z);
    rv__buf_free(&out);
}

static void test_round_trips(void **state) {
    (void)state;
    const size_t big = 300 * 1024; /* several lz4 (64 KiB) and snappy (32 KiB) blocks */
    uint8_t *rnd = malloc(big), *txt = malloc(big), *zero = calloc(1, big);
    assert_non_null(rnd);
    assert_non_null(txt);
    assert_non_null(zero);
    fill_random(rnd, big, 1);
    fill_text(txt, big);
    static const size_t sizes[] = {0, 1, 2, 17, 1000, 32 * 1024, 32 * 1024 + 1, 65536, 65537};
    for (int c = 0; c < NCODECS; c++) {
        round_trip(codecs[c], NULL, 0);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            round_trip(codecs[c], rnd, sizes[s]);
            round_trip(codecs[c], txt, sizes[s]);
            round_trip(codecs[c], zero, sizes[s]);
        }
        round_trip(codecs[c], rnd, big);
        round_trip(codecs[c], txt, big);
        round_trip(codecs[c], zero, big);
    }
    free(rnd);
    free(txt);
    free(zero);
}

static void test_none_and_unknown(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(rv__codec_compress(RV__CODEC_NONE, "a", 1, &b),
                     RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(rv__codec_compress(5, "a", 1, &b), RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(rv__codec_decompress(RV__CODEC_NONE, "a", 1, &b, 10),
                     RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(rv__codec_decompress(7, "a", 1, &b, 10), RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(b.len, 0);
    /* Empty input is no stream at all, for every codec. */
    for (int c = 0; c < NCODECS; c++)
        assert_int_equal(rv__codec_decompress(codecs[c], NULL, 0, &b, 10), RV_ERR_CORRUPT_MESSAGE);
    rv__buf_free(&b);
}

/* The framing bytes Kafka's Java classes write and read. */
static void test_framing(void **state) {
    (void)state;
    uint8_t txt[70000];
    fill_text(txt, sizeof txt);
    rv__buf_t z = RV__BUF_INIT;

    /* gzip: RFC 1952 magic, deflate, as GZIPOutputStream. */
    assert_int_equal(rv__codec_compress(RV__CODEC_GZIP, txt, sizeof txt, &z), 0);
    assert_int_equal(z.data[0], 0x1f);
    assert_int_equal(z.data[1], 0x8b);
    assert_int_equal(z.data[2], 8);
    /* The trailer holds ISIZE, the input length mod 2^32, little-endian. */
    uint32_t isize = (uint32_t)z.data[z.len - 4] | (uint32_t)z.data[z.len - 3] << 8 |
                     (uint32_t)z.data[z.len - 2] << 16 | (uint32_t)z.data[z.len - 1] << 24;
    assert_int_equal(isize, sizeof txt);

    /* snappy: snappy-java's header, then 32 KiB blocks each with a length. */
    z.len = 0;
    assert_int_equal(rv__codec_compress(RV__CODEC_SNAPPY, txt, sizeof txt, &z), 0);
    static const uint8_t xerial[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                       0,    0,   0,   1,   0,   0,   0,   1};
    assert_memory_equal(z.data, xerial, 16);
    size_t pos = 16;
    int blocks = 0;
    while (pos < z.len) {
        assert_true(pos + 4 <= z.len);
        pos += 4 + rv__be32(z.data + pos);
        blocks++;
    }
    assert_int_equal(pos, z.len);
    assert_int_equal(blocks, 3); /* 32768 + 32768 + 4464 */

    /* lz4: frame magic; FLG version 01 + independent blocks, no checksums
     * or content size; BD 64 KiB blocks (KafkaLZ4BlockOutputStream). */
    z.len = 0;
    assert_int_equal(rv__codec_compress(RV__CODEC_LZ4, txt, sizeof txt, &z), 0);
    static const uint8_t lz4magic[4] = {0x04, 0x22, 0x4d, 0x18};
    assert_memory_equal(z.data, lz4magic, 4);
    assert_int_equal(z.data[4], 0x60);
    assert_int_equal(z.data[5], 0x40);
    static const uint8_t endmark[4] = {0, 0, 0, 0};
    assert_memory_equal(z.data + z.len - 4, endmark, 4);

    /* zstd: frame magic 0xFD2FB528 little-endian. */
    z.len = 0;
    assert_int_equal(rv__codec_compress(RV__CODEC_ZSTD, txt, sizeof txt, &z), 0);
    static const uint8_t zmagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    assert_memory_equal(z.data, zmagic, 4);
    rv__buf_free(&z);
}

/* Checks the four records every kafka-python batch above holds. */
static void check_kp_records(const uint8_t *batch, size_t len, int codec) {
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, batch, len), 0);
    assert_int_equal(h.attributes & RV__ATTR_COMPRESSION_MASK, codec);
    assert_int_equal(h.records_count, 4);
    assert_int_equal(h.last_offset_delta, 3);

    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init(&it, batch, len), RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    rv__buf_t scratch = RV__BUF_INIT;
    assert_int_equal(rv__record_iter_init2(&it, batch, len, &scratch), 0);
    rv__record_t r;
    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 0);
    assert_int_equal(r.timestamp, 1700000000000);
    assert_int_equal(r.key_len, 2);
    assert_memory_equal(r.key, "k0", 2);
    assert_int_equal(r.value_len, 64);
    assert_memory_equal(r.value, "value-0 value-0 ", 16);
    assert_int_equal(r.header_cnt, 1);
    rv__slice_t hs;
    rv__slice_init(&hs, r.headers, r.headers_len);
    const uint8_t *hk, *hv;
    int32_t hkl, hvl;
    assert_int_equal(rv__record_header_next(&hs, &hk, &hkl, &hv, &hvl), 1);
    assert_int_equal(hkl, 1);
    assert_memory_equal(hk, "h", 1);
    assert_int_equal(hvl, 1);
    assert_memory_equal(hv, "v", 1);

    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 1);
    assert_int_equal(r.timestamp, 1700000000010);
    assert_int_equal(r.key_len, -1);
    assert_int_equal(r.value_len, 100);
    assert_int_equal(r.value[99], 'x');

    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 2);
    assert_memory_equal(r.key, "k2", 2);
    assert_int_equal(r.value_len, -1);

    assert_int_equal(rv__record_iter_next(&it, &r), 1);
    assert_int_equal(r.offset, 3);
    assert_int_equal(r.timestamp, 1700000000030);
    assert_int_equal(r.value_len, 23);
    assert_memory_equal(r.value, "hello hello hello hello", 23);
    assert_int_equal(r.header_cnt, 1);
    assert_int_equal(rv__record_iter_next(&it, &r), 0);
    rv__buf_free(&scratch);

    /* The public reader reads them too. */
    rv_batch_reader_t *rd = rv_batch_reader_new(batch, len);
    assert_non_null(rd);
    int n = 0;
    while (rv_batch_reader_next(rd) == 1) {
        assert_int_equal(rv_batch_reader_offset(rd), n);
        n++;
    }
    assert_int_equal(n, 4);
    int32_t vl;
    assert_int_equal(rv_batch_reader_next(rd), 0);
    assert_null(rv_batch_reader_value(rd, &vl));
    rv_batch_reader_destroy(rd);
}

static void test_kafka_client_batches(void **state) {
    (void)state;
    check_kp_records(kp_batch_gzip, sizeof kp_batch_gzip, RV__CODEC_GZIP);
    check_kp_records(kp_batch_snappy, sizeof kp_batch_snappy, RV__CODEC_SNAPPY);
    check_kp_records(kp_batch_lz4, sizeof kp_batch_lz4, RV__CODEC_LZ4);
    check_kp_records(kp_batch_zstd, sizeof kp_batch_zstd, RV__CODEC_ZSTD);
}

/* A raw snappy block with no xerial framing, as some clients send. */
static void test_raw_snappy(void **state) {
    (void)state;
    rv__buf_t out = RV__BUF_INIT;
    const char *want = "raw snappy block, raw snappy block, raw snappy block!";
    assert_int_equal(
        rv__codec_decompress(RV__CODEC_SNAPPY, raw_snappy, sizeof raw_snappy, &out, 1000), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    /* The declared length is checked against max_out before anything. */
    out.len = 0;
    assert_int_equal(rv__codec_decompress(RV__CODEC_SNAPPY, raw_snappy, sizeof raw_snappy, &out,
                                          strlen(want) - 1),
                     RV_ERR_CORRUPT_MESSAGE);
    assert_int_equal(out.len, 0);
    rv__buf_free(&out);
}

/* Streams made of several members / frames / xerial streams decode whole. */
static void test_concatenated(void **state) {
    (void)state;
    uint8_t a[5000], b[3000];
    fill_text(a, sizeof a);
    fill_random(b, sizeof b, 7);
    for (int c = 0; c < NCODECS; c++) {
        rv__buf_t z = RV__BUF_INIT, out = RV__BUF_INIT;
        assert_int_equal(rv__codec_compress(codecs[c], a, sizeof a, &z), 0);
        assert_int_equal(rv__codec_compress(codecs[c], b, sizeof b, &z), 0);
        assert_int_equal(rv__codec_decompress(codecs[c], z.data, z.len, &out, 1 << 20), 0);
        assert_int_equal(out.len, sizeof a + sizeof b);
        assert_memory_equal(out.data, a, sizeof a);
        assert_memory_equal(out.data + sizeof a, b, sizeof b);
        rv__buf_free(&z);
        rv__buf_free(&out);
    }
}

/* Decoding must fail cleanly, never crash or read out of bounds (the ASan
 * run checks the latter), whatever the bytes. */
static void test_garbage(void **state) {
    (void)state;
    uint8_t txt[4000], noise[4096];
    fill_text(txt, sizeof txt);
    rv__buf_t z = RV__BUF_INIT, out = RV__BUF_INIT;
    for (int c = 0; c < NCODECS; c++) {
        /* Pure noise. */
        for (uint64_t seed = 1; seed < 40; seed++) {
            size_t n = (size_t)(seed * 97) % sizeof noise;
            fill_random(noise, sizeof noise, seed);
            out.len = 0;
            assert_int_equal(rv__buf_append(&out, "keep", 4), 0);
            rv_err_t err = rv__codec_decompress(codecs[c], noise, n, &out, 1 << 20);
            if (err) {
                assert_int_equal(err, RV_ERR_CORRUPT_MESSAGE);
                assert_int_equal(out.len, 4); /* restored */
            }
            assert_memory_equal(out.data, "keep", 4);
        }
        z.len = 0;
        assert_int_equal(rv__codec_compress(codecs[c], txt, sizeof txt, &z), 0);
        /* Every truncation. A xerial stream cut at a block boundary is a
         * shorter valid stream; anything else must be refused. */
        for (size_t cut = 0; cut < z.len; cut++) {
            out.len = 0;
            rv_err_t err = rv__codec_decompress(codecs[c], z.data, cut, &out, 1 << 20);
            if (codecs[c] == RV__CODEC_SNAPPY && err == 0)
                assert_true(out.len < sizeof txt);
            else
                assert_int_equal(err, RV_ERR_CORRUPT_MESSAGE);
        }
        /* Single bit flips: refused, or (in a literal) a different output of
         * the same length. */
        for (size_t i = 0; i < z.len; i += 3) {
            for (int bit = 0; bit < 8; bit += 3) {
                z.data[i] ^= (uint8_t)(1 << bit);
                out.len = 0;
                rv_err_t err = rv__codec_decompress(codecs[c], z.data, z.len, &out, 1 << 20);
                assert_true(err == RV_ERR_NO_ERROR || err == RV_ERR_CORRUPT_MESSAGE);
                z.data[i] ^= (uint8_t)(1 << bit);
            }
        }
        /* Trailing garbage after a complete stream. gzip stops at bytes
         * that are not a member (as GZIPInputStream); the others refuse. */
        assert_int_equal(rv__buf_append(&z, "\x01\x02\x03\x04\x05", 5), 0);
        out.len = 0;
        rv_err_t err = rv__codec_decompress(codecs[c], z.data, z.len, &out, 1 << 20);
        if (codecs[c] == RV__CODEC_GZIP) {
            assert_int_equal(err, 0);
            assert_int_equal(out.len, sizeof txt);
        } else {
            assert_int_equal(err, RV_ERR_CORRUPT_MESSAGE);
        }
    }
    rv__buf_free(&z);
    rv__buf_free(&out);
}

/* max_out is a hard limit: one byte more than allowed is refused, exactly
 * enough is fine, and a highly compressed bomb stops early. */
static void test_bombs(void **state) {
    (void)state;
    const size_t n = 8u << 20; /* 8 MiB of zeros compresses to a few KiB */
    uint8_t *zero = calloc(1, n);
    assert_non_null(zero);
    rv__buf_t z = RV__BUF_INIT, out = RV__BUF_INIT;
    for (int c = 0; c < NCODECS; c++) {
        z.len = 0;
        assert_int_equal(rv__codec_compress(codecs[c], zero, n, &z), 0);
        assert_true(z.len < n / 20);
        out.len = 0;
        assert_int_equal(rv__codec_decompress(codecs[c], z.data, z.len, &out, 1 << 20),
                         RV_ERR_CORRUPT_MESSAGE);
        assert_int_equal(out.len, 0);
        /* Memory stays near the limit rather than the bomb's size. */
        assert_true(out.cap <= (size_t)(4 << 20));
        rv__buf_free(&out);
        assert_int_equal(rv__codec_decompress(codecs[c], z.data, z.len, &out, n - 1),
                         RV_ERR_CORRUPT_MESSAGE);
        assert_int_equal(rv__codec_decompress(codecs[c], z.data, z.len, &out, n), 0);
        assert_int_equal(out.len, n);
        rv__buf_free(&out);
    }
    /* A raw snappy block that claims 4 GiB but holds nothing. */
    static const uint8_t liar[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    assert_int_equal(rv__codec_decompress(RV__CODEC_SNAPPY, liar, sizeof liar, &out, SIZE_MAX),
                     RV_ERR_CORRUPT_MESSAGE);
    assert_null(out.data); /* refused before allocating */
    rv__buf_free(&z);
    free(zero);
}

/* A compressed batch built here reads back; compressed bytes of a batch
 * whose CRC is valid but whose records section is garbage are refused. */
static void test_batch_builder_codecs(void **state) {
    (void)state;
    rv__buf_t out = RV__BUF_INIT, scratch = RV__BUF_INIT, zb = RV__BUF_INIT;
    char key[16], val[200];
    for (int c = 0; c < NCODECS; c++) {
        out.len = 0;
        rv__batch_builder_t b;
        assert_int_equal(
            rv__batch_builder_begin(&b, &out, 100, (int16_t)codecs[c], INT64_MIN, 5, 1, 0, 3), 0);
        if (c % 2)
            b.scratch = &zb; /* either way works */
        for (int i = 0; i < 500; i++) {
            int kl = snprintf(key, sizeof key, "key-%d", i % 50);
            memset(val, 'a' + i % 26, sizeof val);
            assert_int_equal(rv__batch_builder_add(&b, 100 + i, 1000 + i, key, kl, val,
                                                   i % 10 ? (int32_t)sizeof val : -1, 0, NULL, 0),
                             0);
        }
        assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
        /* Finishing again changes nothing; adding after is refused. */
        size_t done = out.len;
        assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
        assert_int_equal(out.len, done);
        assert_int_equal(rv__batch_builder_add(&b, 700, 0, NULL, -1, "x", 1, 0, NULL, 0),
                         RV_ERR__STATE);
        rv__batch_hdr_t h;
        assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
        assert_int_equal(rv__batch_size(&h), out.len);
        assert_int_equal(h.attributes, codecs[c]);
        assert_int_equal(h.records_count, 500);
        assert_int_equal(h.last_offset_delta, 499);
        assert_int_equal(h.base_timestamp, 1000);
        assert_int_equal(h.max_timestamp, 1499);
        assert_int_equal(h.producer_id, 5);
        assert_true(out.len < 500 * 200 / 5); /* it did compress */

        rv__record_iter_t it;
        assert_int_equal(rv__record_iter_init2(&it, out.data, out.len, &scratch), 0);
        rv__record_t r;
        int n = 0;
        while (rv__record_iter_next(&it, &r) == 1) {
            assert_int_equal(r.offset, 100 + n);
            assert_int_equal(r.timestamp, 1000 + n);
            int kl = snprintf(key, sizeof key, "key-%d", n % 50);
            assert_int_equal(r.key_len, kl);
            assert_memory_equal(r.key, key, (size_t)kl);
            assert_int_equal(r.value_len, n % 10 ? 200 : -1);
            n++;
        }
        assert_int_equal(n, 500);
        /* A limit below the records' size is a bomb. */
        assert_int_equal(rv__record_iter_init_max(&it, out.data, out.len, &scratch, 1000),
                         RV_ERR_CORRUPT_MESSAGE);

        /* Garbage in place of the compressed records, CRC fixed up. */
        memset(out.data + RV__BATCH_HEADER_SIZE, 0x5a, out.len - RV__BATCH_HEADER_SIZE);
        rv__wbe32(out.data + RV__BATCH_OFF_CRC, rv__batch_compute_crc(out.data, out.len));
        assert_int_equal(rv__record_iter_init2(&it, out.data, out.len, &scratch),
                         RV_ERR_CORRUPT_MESSAGE);
    }
    /* Codec ids Kafka does not define. */
    rv__batch_builder_t b;
    out.len = 0;
    assert_int_equal(rv__batch_builder_begin(&b, &out, 0, 5, INT64_MIN, -1, -1, -1, -1),
                     RV_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    rv__buf_free(&out);
    rv__buf_free(&scratch);
    rv__buf_free(&zb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_none_and_unknown),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_kafka_client_batches),
        cmocka_unit_test(test_raw_snappy),
        cmocka_unit_test(test_concatenated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_bombs),
        cmocka_unit_test(test_batch_builder_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
