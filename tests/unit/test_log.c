/* tests/unit/test_log.c: broker/log/log.c on real files: append and read
 * round trips across many segments, rolls by size and time, index and time
 * lookups, range errors, validation of appended batches, LogAppendTime,
 * restart, write fault injection, and flush.messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "broker/log/log_internal.h"
#include "common/fileio.h"
#include "common/clock.h"
#include "common/record_batch.h"

typedef struct fx_s {
    char *dir;
    rv__log_config_t cfg;
    rv__log_t *log;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char *base = rvt_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/orders-0", base);
    free(base);
    fx->dir = strdup(path);
    rv__log_config_defaults(&fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rv__log_close(fx->log);
    char *slash = strrchr(fx->dir, '/');
    *slash = 0;
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void open_log(fx_t *fx, int64_t recovery_point, int64_t lso) {
    char errstr[512] = "";
    rv_err_t err =
        rv__log_open(&fx->log, fx->dir, &fx->cfg, recovery_point, lso, errstr, sizeof errstr);
    if (err)
        fail_msg("open: %s: %s", rv_err_name(err), errstr);
}

static void reopen(fx_t *fx) {
    int64_t rp = rv__log_recovery_point(fx->log), lso = rv__log_start_offset(fx->log);
    rv__log_close(fx->log);
    fx->log = NULL;
    open_log(fx, rp, lso);
}

/* Appends one batch of n records; returns its base offset. */
static int64_t append_n(fx_t *fx, int n, const char *keys, size_t vsize, int64_t ts0, int flags) {
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, n, keys, vsize, ts0);
    rv__append_info_t info;
    char errstr[512] = "";
    rv_err_t err = rv__log_append(fx->log, b.data, b.len, flags, &info, errstr, sizeof errstr);
    if (err)
        fail_msg("append: %s: %s", rv_err_name(err), errstr);
    assert_int_equal(info.last_offset - info.base_offset + 1, n);
    rv__buf_free(&b);
    return info.base_offset;
}

/* Reads everything from `from` to the HW, checking each batch validates and
 * offsets run without gaps; returns the record count. */
static int64_t read_all(rv__log_t *log, int64_t from, size_t max_bytes) {
    int64_t next = from, records = 0;
    int64_t hw = rv__log_high_watermark(log);
    while (next < hw) {
        rv__buf_t out = RV__BUF_INIT;
        rv__read_info_t ri;
        char errstr[512] = "";
        rv_err_t err = rv__log_read(log, next, max_bytes, &out, &ri, errstr, sizeof errstr);
        if (err)
            fail_msg("read at %lld: %s", (long long)next, errstr);
        assert_true(out.len > 0);
        size_t pos = 0;
        while (pos < out.len) {
            rv__batch_hdr_t h;
            assert_int_equal(rv__batch_validate(&h, out.data + pos, out.len - pos), 0);
            if (pos == 0)
                assert_true(h.base_offset <= next && rv__batch_last_offset(&h) >= next);
            else
                assert_int_equal(h.base_offset, next);
            records +=
                h.base_offset >= next ? h.records_count : rv__batch_last_offset(&h) + 1 - next;
            next = rv__batch_last_offset(&h) + 1;
            pos += rv__batch_size(&h);
        }
        assert_int_equal(ri.next_offset, next);
        assert_int_equal(ri.high_watermark, hw);
        rv__buf_free(&out);
    }
    return records;
}

static void test_append_read_many_segments(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 8192;
    open_log(fx, 0, -1);
    assert_int_equal(rv__log_end_offset(fx->log), 0);
    int64_t expect = 0;
    for (int i = 0; i < 100; i++) {
        int n = 1 + i % 7;
        assert_int_equal(append_n(fx, n, "k", 100, 1000 + i, 0), expect);
        expect += n;
    }
    assert_int_equal(rv__log_end_offset(fx->log), expect);
    assert_int_equal(rv__log_high_watermark(fx->log), expect);
    assert_true(rv__log_segment_count(fx->log) > 5);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), expect);
    assert_int_equal(read_all(fx->log, 0, 1), expect); /* one batch per read */
    assert_int_equal(read_all(fx->log, 0, 3000), expect);
    /* Segment files are named by 20-digit base offsets. */
    char path[4096];
    snprintf(path, sizeof path, "%s/00000000000000000000.log", fx->dir);
    assert_true(rvt_file_size(path) > 0);
    assert_true(rvt_file_size(path) <= 8192);
    reopen(fx);
    assert_int_equal(rv__log_end_offset(fx->log), expect);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), expect);
    /* Appends continue after a restart at the same LEO. */
    assert_int_equal(append_n(fx, 3, "k", 10, 5000, 0), expect);
}

static void test_roll_by_size(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 4096;
    open_log(fx, 0, -1);
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 10, "k", 100, 0);
    size_t bsize = b.len; /* about 1.2 KiB */
    rv__buf_free(&b);
    int per_seg = (int)(4096 / bsize);
    for (int i = 0; i < per_seg * 3; i++)
        append_n(fx, 10, "k", 100, 0, 0);
    assert_int_equal(rv__log_segment_count(fx->log), 3);
    assert_int_equal(rv__log_size_bytes(fx->log), (int64_t)(bsize * (size_t)per_seg * 3));
    append_n(fx, 10, "k", 100, 0, 0);
    assert_int_equal(rv__log_segment_count(fx->log), 4);
    /* The new segment is named after the LEO at the roll. */
    char path[4096];
    snprintf(path, sizeof path, "%s/%020lld.log", fx->dir, (long long)(per_seg * 3 * 10));
    assert_int_equal(rvt_file_size(path), (long long)bsize);
    snprintf(path, sizeof path, "%s/%020lld.index", fx->dir, (long long)(per_seg * 3 * 10));
    assert_true(rvt_file_size(path) >= 0);
    /* A forced roll of a non-empty active segment, then a no-op roll. */
    assert_int_equal(rv__log_roll(fx->log), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 5);
    assert_int_equal(rv__log_roll(fx->log), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 5);
}

static void test_roll_by_time(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_ms = 1000;
    open_log(fx, 0, -1);
    int64_t t0 = 1700000000000;
    append_n(fx, 2, "k", 10, t0, 0);
    append_n(fx, 2, "k", 10, t0 + 999, 0); /* max ts t0+1000: not past segment.ms */
    assert_int_equal(rv__log_segment_count(fx->log), 1);
    append_n(fx, 2, "k", 10, t0 + 1001, 0); /* max ts t0+1002: 1001 past the first */
    assert_int_equal(rv__log_segment_count(fx->log), 2);
    /* rv__log_roll_if_due uses the first batch's timestamp of the active segment. */
    assert_int_equal(rv__log_roll_if_due(fx->log, t0 + 1500), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 2);
    assert_int_equal(rv__log_roll_if_due(fx->log, t0 + 3000), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 3);
    /* An empty active segment never rolls. */
    assert_int_equal(rv__log_roll_if_due(fx->log, t0 + 100000), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 3);
}

static void test_read_middle_and_ranges(void **state) {
    fx_t *fx = *state;
    fx->cfg.index_interval_bytes = 100; /* an index entry almost every batch */
    open_log(fx, 0, -1);
    for (int i = 0; i < 50; i++)
        append_n(fx, 10, "k", 50, i * 10, 0);
    /* Offsets in the middle of a batch return the containing batch. */
    for (int64_t off = 0; off < 500; off += 7) {
        rv__buf_t out = RV__BUF_INIT;
        rv__read_info_t ri;
        assert_int_equal(rv__log_read(fx->log, off, 1, &out, &ri, NULL, 0), 0);
        rv__batch_hdr_t h;
        assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
        assert_int_equal(h.base_offset, off / 10 * 10);
        assert_int_equal(out.len, rv__batch_size(&h));
        assert_int_equal(ri.next_offset, off / 10 * 10 + 10);
        rv__buf_free(&out);
    }
    /* At the HW: nothing, no error. Past it and below the start: out of range. */
    rv__buf_t out = RV__BUF_INIT;
    rv__read_info_t ri;
    char errstr[512] = "";
    assert_int_equal(rv__log_read(fx->log, 500, 1000, &out, &ri, errstr, sizeof errstr), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(ri.next_offset, 500);
    assert_int_equal(ri.high_watermark, 500);
    assert_int_equal(rv__log_read(fx->log, 501, 1000, &out, &ri, errstr, sizeof errstr),
                     RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_non_null(strstr(errstr, "501"));
    assert_non_null(strstr(errstr, "out of range"));
    assert_non_null(strstr(errstr, "500 (high watermark)"));
    assert_int_equal(rv__log_read(fx->log, -1, 1000, &out, &ri, errstr, sizeof errstr),
                     RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(out.len, 0);
    /* max_bytes cuts at whole batches. */
    rv__buf_t one = RV__BUF_INIT;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &one, &ri, NULL, 0), 0);
    assert_int_equal(rv__log_read(fx->log, 0, one.len * 2 + one.len / 2, &out, &ri, NULL, 0), 0);
    assert_int_equal(out.len, one.len * 2);
    assert_int_equal(ri.next_offset, 20);
    rv__buf_free(&one);
    rv__buf_free(&out);
}

static void test_offset_for_timestamp(void **state) {
    fx_t *fx = *state;
    fx->cfg.index_interval_bytes = 200;
    fx->cfg.segment_bytes = 4000;
    open_log(fx, 0, -1);
    /* Batch i holds 10 records with timestamps 1000*i + 0..9. */
    for (int i = 0; i < 40; i++)
        append_n(fx, 10, "k", 40, 1000 * i, 0);
    assert_true(rv__log_segment_count(fx->log) > 2);
    int64_t off, ts;
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 0, &off, &ts), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, 0);
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 5005, &off, &ts), 0);
    assert_int_equal(off, 55);
    assert_int_equal(ts, 5005);
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 5010, &off, &ts), 0);
    assert_int_equal(off, 60); /* first record of the next batch */
    assert_int_equal(ts, 6000);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(rv__log_offset_for_timestamp(fx->log, 1000 * i + 3, &off, &ts), 0);
        assert_int_equal(off, 10 * i + 3);
    }
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 39010, &off, &ts), 0);
    assert_int_equal(off, -1);
    assert_int_equal(ts, -1);
    /* Same answers after a restart (indexes loaded from files). */
    reopen(fx);
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 17004, &off, &ts), 0);
    assert_int_equal(off, 174);
    assert_int_equal(ts, 17004);
}

static void test_validation(void **state) {
    fx_t *fx = *state;
    fx->cfg.max_message_bytes = 2000;
    open_log(fx, 0, -1);
    append_n(fx, 1, "k", 10, 0, 0);
    rv__buf_t b = RV__BUF_INIT;
    char errstr[512] = "";
    rv__append_info_t info;
    /* Bad CRC. */
    rvt_make_batch(&b, 3, "k", 10, 0);
    b.data[b.len - 1] ^= 1;
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    /* Truncated. */
    b.len = 0;
    rvt_make_batch(&b, 3, "k", 10, 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len - 1, 0, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    /* A good batch followed by a bad one: nothing is written. */
    size_t good = b.len;
    rvt_make_batch(&b, 3, "k", 10, 0);
    b.data[good + 16] = 1; /* magic */
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    assert_int_equal(rv__log_end_offset(fx->log), 1);
    /* Too large for max.message.bytes. */
    b.len = 0;
    rvt_make_batch(&b, 30, "k", 100, 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr),
                     RV_ERR_MESSAGE_TOO_LARGE);
    assert_non_null(strstr(errstr, "2000"));
    /* Larger than a segment. */
    fx->cfg.max_message_bytes = 1 << 20;
    fx->cfg.segment_bytes = 1000;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr),
                     RV_ERR_RECORD_LIST_TOO_LARGE);
    /* Compacted topics need keys. */
    fx->cfg.segment_bytes = 1 << 20;
    fx->cfg.cleanup_compact = true;
    rv__log_set_config(fx->log, &fx->cfg);
    b.len = 0;
    rvt_make_batch(&b, 3, NULL, 10, 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr),
                     RV_ERR_INVALID_RECORD);
    assert_non_null(strstr(errstr, "without key"));
    /* Compressed batches are decompressed on compacted topics to check the
     * keys, so records that do not decode are refused... */
    b.len = 0;
    rvt_make_batch(&b, 3, "k", 10, 0);
    b.data[RV__BATCH_OFF_ATTRIBUTES + 1] |= 1; /* gzip */
    rv__wbe32(b.data + RV__BATCH_OFF_CRC, rv__batch_compute_crc(b.data, b.len));
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    /* ...and accepted as opaque bytes on delete topics. */
    fx->cfg.cleanup_compact = false;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.base_offset, 1);
    assert_int_equal(rv__log_end_offset(fx->log), 4);
    /* Several batches in one append get consecutive offsets. */
    b.len = 0;
    rvt_make_batch(&b, 2, "k", 10, 0);
    rvt_make_batch(&b, 5, "k", 10, 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.base_offset, 4);
    assert_int_equal(info.last_offset, 10);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), 11);
    rv__buf_free(&b);
}

static void test_log_append_time(void **state) {
    fx_t *fx = *state;
    fx->cfg.log_append_time = true;
    open_log(fx, 0, -1);
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 3, "k", 10, 5);
    rv__append_info_t info;
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, &info, NULL, 0), 0);
    assert_true(info.log_append_time > 1600000000000LL);
    rv__buf_t out = RV__BUF_INIT;
    assert_int_equal(rv__log_read(fx->log, 0, 1 << 20, &out, NULL, NULL, 0), 0);
    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init(&it, out.data, out.len), 0);
    assert_true(it.hdr.attributes & RV__ATTR_LOG_APPEND_TIME);
    assert_int_equal(it.hdr.max_timestamp, info.log_append_time);
    rv__record_t rec;
    while (rv__record_iter_next(&it, &rec) == 1)
        assert_int_equal(rec.timestamp, info.log_append_time);
    rv__buf_free(&b);
    rv__buf_free(&out);
}

static void test_write_fault(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 3000;
    open_log(fx, 0, -1);
    for (int i = 0; i < 5; i++)
        append_n(fx, 5, "k", 100, i, 0);
    int64_t leo = rv__log_end_offset(fx->log);
    int64_t size = rv__log_size_bytes(fx->log);
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 5, "k", 100, 0);
    char errstr[512] = "";
    rv__io_fail_nth(RV__IO_WRITE, 1, ENOSPC);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, errstr, sizeof errstr),
                     RV_ERR__IO);
    rv__io_fail_nth(RV__IO_WRITE, 0, 0);
    assert_non_null(strstr(errstr, "No space"));
    assert_int_equal(rv__log_end_offset(fx->log), leo);
    assert_int_equal(rv__log_size_bytes(fx->log), size);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), leo);
    /* Still usable: the next append lands where the failed one would have. */
    assert_int_equal(append_n(fx, 5, "k", 100, 9, 0), leo);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), leo + 5);
    /* And consistent after a reopen that checks everything. */
    rv__log_close(fx->log);
    fx->log = NULL;
    open_log(fx, 0, -1);
    assert_int_equal(rv__log_end_offset(fx->log), leo + 5);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), leo + 5);
    /* A failed fsync is reported to a durable append, and takes the log
     * offline: the kernel may have dropped the pages, so a retried fsync
     * could not vouch for them. Appends and syncs fail until a reopen,
     * which recovers from the last recovery point. */
    int64_t rp = rv__log_recovery_point(fx->log);
    rv__io_fail_nth(RV__IO_FSYNC, 1, EIO);
    b.len = 0;
    rvt_make_batch(&b, 5, "k", 100, 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, RV__APPEND_SYNC, NULL, NULL, 0),
                     RV_ERR__IO);
    rv__io_fail_nth(RV__IO_FSYNC, 0, 0);
    assert_int_equal(rv__log_sync(fx->log, rv__log_end_offset(fx->log)), RV_ERR__IO);
    assert_int_equal(rv__log_recovery_point(fx->log), rp);
    b.len = 0;
    rvt_make_batch(&b, 5, "k", 100, 0);
    errstr[0] = '\0';
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, errstr, sizeof errstr),
                     RV_ERR__IO);
    assert_non_null(strstr(errstr, "offline after a failed fsync"));
    rv__log_close(fx->log);
    fx->log = NULL;
    open_log(fx, rp, -1);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), rv__log_end_offset(fx->log));
    int64_t base = append_n(fx, 5, "k", 100, 9, RV__APPEND_SYNC);
    assert_int_equal(base + 5, rv__log_end_offset(fx->log));
    assert_int_equal(rv__log_recovery_point(fx->log), base + 5);
    rv__buf_free(&b);
}

/* rv__log_appendv: many buffers (more than one pwritev takes) are one
 * append: offsets run on across them, any bad batch fails it with nothing
 * written, a failed write is cut back whole, and the indexes find every
 * batch afterwards, also after a reopen. */
static void test_appendv(void **state) {
    fx_t *fx = *state;
    fx->cfg.index_interval_bytes = 1;
    open_log(fx, 0, -1);
    append_n(fx, 3, "k", 10, 0, 0);
    enum { N = 1500 }; /* above IOV_MAX (1024) */
    static rv__buf_t bufs[N];
    static struct iovec iov[N];
    for (int i = 0; i < N; i++) {
        bufs[i] = (rv__buf_t)RV__BUF_INIT;
        /* Each buffer one batch of 1 + i % 3 records, the last two at once. */
        rvt_make_batch(&bufs[i], 1 + i % 3, "v", 20, i);
        if (i == N - 1)
            rvt_make_batch(&bufs[i], 2, "w", 20, i);
        iov[i] = (struct iovec){bufs[i].data, bufs[i].len};
    }
    int64_t records = 0;
    for (int i = 0; i < N; i++)
        records += 1 + i % 3 + (i == N - 1 ? 2 : 0);

    /* A corrupt batch in the last buffer: nothing of the append is written. */
    char errstr[512] = "";
    bufs[N - 1].data[bufs[N - 1].len - 1] ^= 0xff;
    assert_int_equal(rv__log_appendv(fx->log, iov, N, 0, NULL, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    assert_non_null(strstr(errstr, "corrupt"));
    bufs[N - 1].data[bufs[N - 1].len - 1] ^= 0xff;
    assert_int_equal(rv__log_end_offset(fx->log), 3);
    int64_t size = rv__log_size_bytes(fx->log);

    /* A failed write leaves the log as it was, on disk too. */
    rv__io_fail_nth(RV__IO_WRITE, 1, ENOSPC);
    assert_int_equal(rv__log_appendv(fx->log, iov, N, 0, NULL, errstr, sizeof errstr), RV_ERR__IO);
    rv__io_fail_nth(RV__IO_WRITE, 0, 0);
    assert_int_equal(rv__log_end_offset(fx->log), 3);
    assert_int_equal(rv__log_size_bytes(fx->log), size);
    char path[4200];
    snprintf(path, sizeof path, "%s/%020d.log", fx->dir, 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, size);

    rv__append_info_t info;
    assert_int_equal(rv__log_appendv(fx->log, iov, N, 0, &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.base_offset, 3);
    assert_int_equal(info.last_offset, 3 + records - 1);
    /* Each batch got its own base offset, in order. */
    int64_t next = 3;
    for (int i = 0; i < N; i++) {
        rv__batch_hdr_t h;
        assert_int_equal(rv__batch_validate(&h, bufs[i].data, bufs[i].len), 0);
        assert_int_equal(h.base_offset, next);
        next = rv__batch_last_offset(&h) + 1;
    }
    assert_int_equal(read_all(fx->log, 0, 1 << 20), 3 + records);
    /* The index points at each batch: a read from the middle of the
     * append starts at the batch holding the offset. */
    int64_t mid = 3 + records / 2;
    assert_int_equal(read_all(fx->log, mid, 100), 3 + records - mid);
    reopen(fx);
    assert_int_equal(rv__log_end_offset(fx->log), 3 + records);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), 3 + records);
    for (int i = 0; i < N; i++)
        rv__buf_free(&bufs[i]);
}

/* An append of many batches rolls first when the active segment's indexes
 * lack one entry per batch, so no batch goes unindexed; an append of more
 * batches than a new segment's index holds is refused whole. */
static void test_appendv_index_room(void **state) {
    fx_t *fx = *state;
    fx->cfg.index_interval_bytes = 1;
    fx->cfg.segment_index_bytes = 10 * 8; /* 10 entries */
    open_log(fx, 0, -1);
    rv__buf_t bufs[11];
    struct iovec iov[11];
    for (int i = 0; i < 11; i++) {
        bufs[i] = (rv__buf_t)RV__BUF_INIT;
        rvt_make_batch(&bufs[i], 2, "k", 20, i);
        iov[i] = (struct iovec){bufs[i].data, bufs[i].len};
    }
    char errstr[512] = "";
    assert_int_equal(rv__log_appendv(fx->log, iov, 11, 0, NULL, errstr, sizeof errstr),
                     RV_ERR_RECORD_LIST_TOO_LARGE);
    rvt_assert_contains(errstr, "segment.index.bytes");
    assert_int_equal(rv__log_end_offset(fx->log), 0);
    for (int round = 0; round < 5; round++)
        assert_int_equal(rv__log_appendv(fx->log, iov, 4, 0, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(rv__log_end_offset(fx->log), 40);
    /* 4 batches per append, 10 index entries per segment: 2 appends fit. */
    assert_true(rv__log_segment_count(fx->log) >= 3);
    rv__log_close(fx->log);
    fx->log = NULL;
    open_log(fx, 0, -1); /* recovers every segment */
    assert_int_equal(rv__log_end_offset(fx->log), 40);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), 40);
    for (int i = 0; i < 11; i++)
        rv__buf_free(&bufs[i]);

    /* With the default sparse index an entry needs 4 KB: 300 small batches
     * in one append add a few entries and fit a segment indexing 257. */
    rv__log_close(fx->log);
    fx->log = NULL;
    rv__log_config_defaults(&fx->cfg);
    fx->cfg.segment_bytes = 1 << 20;
    open_log(fx, 0, -1);
    enum { M = 300 };
    static rv__buf_t many[M];
    static struct iovec miov[M];
    for (int i = 0; i < M; i++) {
        many[i] = (rv__buf_t)RV__BUF_INIT;
        rvt_make_batch(&many[i], 1, "m", 20, i);
        miov[i] = (struct iovec){many[i].data, many[i].len};
    }
    assert_int_equal(rv__log_appendv(fx->log, miov, M, 0, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(rv__log_end_offset(fx->log), 40 + M);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), 40 + M);
    for (int i = 0; i < M; i++)
        rv__buf_free(&many[i]);
}

static void test_flush_messages_and_sync(void **state) {
    fx_t *fx = *state;
    fx->cfg.flush_messages = 10;
    open_log(fx, 0, -1);
    uint64_t f0 = rv__log_fsync_count(fx->log);
    append_n(fx, 4, "k", 10, 0, 0);
    append_n(fx, 4, "k", 10, 0, 0);
    assert_int_equal(rv__log_fsync_count(fx->log), f0);
    assert_int_equal(rv__log_recovery_point(fx->log), 0);
    append_n(fx, 4, "k", 10, 0, 0); /* 12 unflushed >= 10 */
    assert_int_equal(rv__log_fsync_count(fx->log), f0 + 1);
    assert_int_equal(rv__log_recovery_point(fx->log), 12);
    /* RV__APPEND_SYNC returns with the data flushed. */
    append_n(fx, 1, "k", 10, 0, RV__APPEND_SYNC);
    assert_int_equal(rv__log_recovery_point(fx->log), 13);
    /* Sync of what is already flushed does nothing. */
    uint64_t f1 = rv__log_fsync_count(fx->log);
    assert_int_equal(rv__log_sync(fx->log, 13), 0);
    assert_int_equal(rv__log_fsync_count(fx->log), f1);
    /* flush.ms */
    fx->cfg.flush_messages = INT64_MAX;
    fx->cfg.flush_ms = 1000;
    rv__log_set_config(fx->log, &fx->cfg);
    append_n(fx, 1, "k", 10, 0, 0);
    assert_int_equal(rv__log_flush_if_due(fx->log, 0), 0); /* long before */
    assert_int_equal(rv__log_recovery_point(fx->log), 13);
    assert_int_equal(rv__log_flush_if_due(fx->log, INT64_MAX / 2), 0);
    assert_int_equal(rv__log_recovery_point(fx->log), 14);
}

static void test_perf_smoke(void **state) {
    /* Not a benchmark (bench/bench_log.c is): checks the append path stays
     * in the right order of magnitude even under sanitizers. */
    fx_t *fx = *state;
    open_log(fx, 0, -1);
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 140, "k", 100, 0);
    int n = 2000;
    for (int i = 0; i < n; i++) {
        rv__batch_set_base_offset(b.data, 0);
        assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, NULL, 0), 0);
    }
    assert_int_equal(rv__log_end_offset(fx->log), 140 * n);
    rv__buf_free(&b);
}

/* A roll does not make the appender wait for the old segment's fsync: the
 * recovery point moves when housekeeping calls rv__log_flush_if_due, even
 * though flush.ms is far from due. */
static void test_roll_flush_is_deferred(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 4096;
    open_log(fx, 0, -1);
    for (int i = 0; i < 6; i++)
        append_n(fx, 10, "k", 100, 1000, 0);
    assert_true(rv__log_segment_count(fx->log) > 1);
    assert_int_equal(rv__log_recovery_point(fx->log), 0);
    uint64_t fsyncs = rv__log_fsync_count(fx->log);
    assert_int_equal(rv__log_flush_if_due(fx->log, rv__now_ms()), 0);
    assert_true(rv__log_fsync_count(fx->log) > fsyncs);
    assert_true(rv__log_recovery_point(fx->log) > 0);
    assert_true(rv__log_recovery_point(fx->log) <= rv__log_end_offset(fx->log));
}

/* Appends one batch of n records compressed with `codec`, keys "<keys><i>"
 * (NULL = null keys), timestamps ts0 + i; returns the append's result. */
static rv_err_t append_compressed(fx_t *fx, int codec, int n, const char *keys, int64_t ts0,
                                  char *errstr, size_t errstr_size) {
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, (int16_t)codec, INT64_MIN, -1, -1, -1, -1),
                     0);
    for (int i = 0; i < n; i++) {
        char key[32], value[64];
        int kl = snprintf(key, sizeof key, "%s%d", keys ? keys : "", i);
        memset(value, 'v', sizeof value);
        assert_int_equal(rv__batch_builder_add(&bb, i, ts0 + i, keys ? key : NULL, keys ? kl : -1,
                                               value, (int32_t)sizeof value, 0, NULL, 0),
                         0);
    }
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    rv__append_info_t info;
    rv_err_t err = rv__log_append(fx->log, b.data, b.len, 0, &info, errstr, errstr_size);
    rv__buf_free(&b);
    return err;
}

/* Compressed batches: keys checked inside them on compacted topics, and
 * timestamp lookups resolve to the exact record inside them. */
static void test_compressed_batches(void **state) {
    fx_t *fx = *state;
    fx->cfg.cleanup_compact = true;
    open_log(fx, 0, -1);
    char errstr[512] = "";
    for (int codec = 1; codec <= 4; codec++) {
        assert_int_equal(append_compressed(fx, codec, 10, "k", 1000 * codec, errstr, sizeof errstr),
                         0);
        assert_int_equal(append_compressed(fx, codec, 10, NULL, 0, errstr, sizeof errstr),
                         RV_ERR_INVALID_RECORD);
        assert_non_null(strstr(errstr, "without key"));
    }
    assert_int_equal(rv__log_end_offset(fx->log), 40);
    assert_int_equal(read_all(fx->log, 0, 1 << 20), 40);
    int64_t off, ts;
    for (int codec = 1; codec <= 4; codec++) {
        assert_int_equal(rv__log_offset_for_timestamp(fx->log, 1000 * codec + 7, &off, &ts), 0);
        assert_int_equal(off, 10 * (codec - 1) + 7);
        assert_int_equal(ts, 1000 * codec + 7);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_read_many_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_flush_is_deferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_middle_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offset_for_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_append_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appendv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appendv_index_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_messages_and_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perf_smoke, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
