/* fuzz/fuzz_record_batch.c: libFuzzer target for the RecordBatch v2 decoders
 * (common/record_batch.h) and the public batch reader
 * (include/rivulet/record.h) over arbitrary bytes.
 *
 * The input is treated as back-to-back batches, as a fetch response or a
 * segment file holds them. Each run decodes it twice: as given, and with
 * every batch's CRC-32C recomputed (fuzz/fuzzutil.h), because a mutation
 * almost never keeps the checksum right and the record decoders behind it
 * would otherwise see only the seeds' records.
 *
 * Besides "no crash, no sanitizer report", the target checks what the
 * headers promise: a parsed batch lies inside the input, a validated one
 * has a matching CRC, every record's key, value and headers point inside
 * its batch, the header walk finds exactly header_cnt entries, and the
 * public reader returns the same records and the same final result as an
 * independent walk with the internal iterator, with sticky errors.
 *
 * Compressed batches are decompressed (common/codec.h) and their records
 * checked against the decompressed bytes; the input is also fed to each
 * codec's decoder as a bare compressed stream, and whatever decodes must
 * survive a compress/decompress round trip unchanged. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/record_batch.h"
#include "fuzz/fuzzutil.h"
#include "rivulet/record.h"

/* The public reader's header accessor walks the section from the start on
 * every call; a few per record are enough to exercise it. */
#define MAX_HEADERS_READ 8
/* Decompression bound for the internal walks: keeps bombs cheap while
 * still far above what a small input decodes to legitimately. */
#define FUZZ_MAX_OUT ((size_t)1 << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    rvf_quiet_logs();
    return 0;
}

static bool inside(const uint8_t *lo, size_t len, const uint8_t *p, int32_t n) {
    if (n <= 0)
        return true;
    return p >= lo && p <= lo + len && (size_t)n <= (size_t)(lo + len - p);
}

/* Checks one record against the batch it came from. */
static void check_record(const uint8_t *batch, size_t bsize, const rv__record_t *rec) {
    rvf_check(rec->key_len >= -1 && rec->value_len >= -1 && rec->header_cnt >= 0);
    rvf_check(rec->key_len != -1 || rec->key == NULL);
    rvf_check(rec->value_len != -1 || rec->value == NULL);
    rvf_check(inside(batch, bsize, rec->key, rec->key_len));
    rvf_check(inside(batch, bsize, rec->value, rec->value_len));
    rvf_check(rec->headers_len <= bsize &&
              inside(batch, bsize, rec->headers, (int32_t)rec->headers_len));
    rv__slice_t s;
    rv__slice_init(&s, rec->headers, rec->headers_len);
    int32_t n = 0;
    int rc;
    const uint8_t *k, *v;
    int32_t kl, vl;
    while ((rc = rv__record_header_next(&s, &k, &kl, &v, &vl)) == 1) {
        rvf_check(kl >= 0 && vl >= -1);
        rvf_check(inside(rec->headers, rec->headers_len, k, kl));
        rvf_check(inside(rec->headers, rec->headers_len, v, vl));
        n++;
    }
    /* The iterator validated the section: exactly header_cnt entries. */
    rvf_check(rc == 0 && n == rec->header_cnt);
}

/* What rv_batch_reader_next() must do with p[0..len), computed with the
 * internal decoders: the number of records it hands out before it stops,
 * and its final result (0 or a negative rv_err_t). */
static int expected_reader(const uint8_t *p, size_t len, long *records, bool *compressed,
                           rv__buf_t *scratch) {
    *records = 0;
    *compressed = false;
    size_t pos = 0;
    while (pos < len) {
        rv__batch_hdr_t h;
        rv_err_t err = rv__batch_parse_header(&h, p + pos, len - pos);
        if (err == RV_ERR__PARTIAL)
            return 0;
        if (err)
            return RV_ERR__BAD_MSG;
        size_t bsize = rv__batch_size(&h);
        rvf_check(bsize >= RV__BATCH_HEADER_SIZE && bsize <= len - pos);
        err = rv__batch_validate(&h, p + pos, len - pos);
        if (err)
            return RV_ERR__CRC;
        rvf_check(rv__batch_compute_crc(p + pos, bsize) == h.crc);
        if (!(h.attributes & RV__ATTR_CONTROL)) {
            rv__record_iter_t it;
            /* The same bound as the public reader. */
            err = rv__record_iter_init2(&it, p + pos, bsize, scratch);
            if (err == RV_ERR_UNSUPPORTED_COMPRESSION_TYPE)
                return RV_ERR__NOT_IMPLEMENTED;
            if (err == RV_ERR__NOMEM)
                return err;
            int codec = h.attributes & RV__ATTR_COMPRESSION_MASK;
            if (codec) {
                *compressed = true;
                if (err)
                    return RV_ERR__BAD_MSG;
            }
            rvf_check(err == RV_ERR_NO_ERROR);
            const uint8_t *recs = codec ? scratch->data : p + pos;
            size_t recs_len = codec ? scratch->len : bsize;
            rv__record_t rec;
            int rc;
            while ((rc = rv__record_iter_next(&it, &rec)) == 1) {
                check_record(recs, recs_len, &rec);
                (*records)++;
            }
            if (rc < 0)
                return RV_ERR__BAD_MSG;
        }
        pos += bsize;
    }
    return 0;
}

/* Every batch's records through the internal iterator, CRC or not (the
 * iterator does not look at it), until the first bad header. */
static void walk_internal(const uint8_t *p, size_t len, rv__buf_t *scratch) {
    size_t pos = 0;
    while (pos < len) {
        rv__batch_hdr_t h, h2;
        rv_err_t rerr = rv__batch_read_header(&h2, p + pos, len - pos);
        rv_err_t err = rv__batch_parse_header(&h, p + pos, len - pos);
        /* parse = read + "the whole batch is there". */
        rvf_check(rerr == err || (rerr == RV_ERR_NO_ERROR && err == RV_ERR__PARTIAL));
        if (err)
            return;
        size_t bsize = rv__batch_size(&h);
        rvf_check(h.magic == RV__BATCH_MAGIC && h.records_count >= 0 && h.last_offset_delta >= 0 &&
                  bsize >= RV__BATCH_HEADER_SIZE && bsize <= len - pos);
        rv__record_iter_t it;
        int codec = h.attributes & RV__ATTR_COMPRESSION_MASK;
        rv_err_t ierr = rv__record_iter_init(&it, p + pos, bsize);
        rvf_check(codec ? ierr == RV_ERR_UNSUPPORTED_COMPRESSION_TYPE : ierr == RV_ERR_NO_ERROR);
        if (rv__record_iter_init_max(&it, p + pos, bsize, scratch, FUZZ_MAX_OUT) ==
            RV_ERR_NO_ERROR) {
            const uint8_t *recs = codec ? scratch->data : p + pos;
            size_t recs_len = codec ? scratch->len : bsize;
            rvf_check(!codec || recs_len <= FUZZ_MAX_OUT);
            rv__record_t rec;
            int32_t got = 0;
            int rc;
            while ((rc = rv__record_iter_next(&it, &rec)) == 1) {
                check_record(recs, recs_len, &rec);
                got++;
            }
            rvf_check(rc == -1 || got == h.records_count);
        }
        pos += bsize;
    }
}

static void run_reader(const uint8_t *p, size_t len, rv__buf_t *scratch) {
    long want_records;
    bool compressed;
    int want = expected_reader(p, len, &want_records, &compressed, scratch);
    rv_batch_reader_t *r = rv_batch_reader_new(p, len);
    if (!r)
        return;
    long got = 0;
    int rc;
    while ((rc = rv_batch_reader_next(r)) == 1) {
        got++;
        int32_t kl, vl;
        const void *k = rv_batch_reader_key(r, &kl);
        const void *v = rv_batch_reader_value(r, &vl);
        rvf_check((kl == -1) == (k == NULL) && (vl == -1) == (v == NULL));
        /* Records of compressed batches live in the reader's buffer. */
        rvf_check(compressed || (inside(p, len, k, kl) && inside(p, len, v, vl)));
        (void)rv_batch_reader_offset(r);
        (void)rv_batch_reader_timestamp(r);
        int hc = rv_batch_reader_header_count(r);
        rvf_check(hc >= 0);
        for (int i = 0; i < hc && i < MAX_HEADERS_READ; i++) {
            const char *hk;
            const void *hv;
            int32_t hkl, hvl;
            rvf_check(rv_batch_reader_header(r, i, &hk, &hkl, &hv, &hvl) == RV_ERR_NO_ERROR);
            rvf_check(hk != NULL && hkl >= 0 && (hvl == -1) == (hv == NULL));
            rvf_check(compressed ||
                      (inside(p, len, (const uint8_t *)hk, hkl) && inside(p, len, hv, hvl)));
        }
        const char *hk;
        const void *hv;
        int32_t hkl, hvl;
        rvf_check(rv_batch_reader_header(r, hc, &hk, &hkl, &hv, &hvl) == RV_ERR__NOENT);
    }
    rvf_check(want == RV_ERR__NOMEM || (rc == want && got == want_records));
    /* The end, and any error, are sticky. */
    rvf_check(rv_batch_reader_next(r) == rc);
    rvf_check(rv_batch_reader_offset(r) == -1);
    rv_batch_reader_destroy(r);
}

/* The input as a bare stream of each codec: decoding fails cleanly or
 * yields bytes that round-trip through that codec. */
static void run_codecs(const uint8_t *p, size_t len, rv__buf_t *a, rv__buf_t *b) {
    for (int codec = RV__CODEC_GZIP; codec <= RV__CODEC_ZSTD; codec++) {
        a->len = 0;
        rv_err_t err = rv__codec_decompress(codec, p, len, a, FUZZ_MAX_OUT);
        if (err) {
            rvf_check(err == RV_ERR_CORRUPT_MESSAGE || err == RV_ERR__NOMEM);
            rvf_check(a->len == 0);
            continue;
        }
        rvf_check(a->len <= FUZZ_MAX_OUT);
        b->len = 0;
        if (rv__codec_compress(codec, a->data, a->len, b))
            continue;
        size_t n = a->len;
        rv_err_t err2 = rv__codec_decompress(codec, b->data, b->len, a, FUZZ_MAX_OUT);
        rvf_check(err2 == RV_ERR_NO_ERROR || err2 == RV_ERR__NOMEM);
        if (!err2)
            rvf_check(a->len == 2 * n && memcmp(a->data, a->data + n, n) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rv__buf_t scratch = RV__BUF_INIT, other = RV__BUF_INIT;
    walk_internal(data, size, &scratch);
    run_reader(data, size, &scratch);
    run_codecs(data, size, &scratch, &other);

    uint8_t *fixed = malloc(size ? size : 1);
    if (fixed) {
        memcpy(fixed, data, size);
        rvf_fix_crcs(fixed, size);
        walk_internal(fixed, size, &scratch);
        run_reader(fixed, size, &scratch);
        free(fixed);
    }
    rv__buf_free(&scratch);
    rv__buf_free(&other);
    return 0;
}
