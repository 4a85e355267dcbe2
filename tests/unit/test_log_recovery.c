/* tests/unit/test_log_recovery.c: recovery of a partition log when it is
 * opened: torn tails, garbage after the last batch, a flipped byte in the
 * last or an earlier segment, missing, short, long or corrupt index files,
 * empty segment files (an emptied first segment keeping the log start
 * offset), and leftovers of an interrupted compaction (.cleaned, .swap,
 * .deleted) or unrelated files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "common/fileio.h"
#include "common/record_batch.h"
#include "rivulet/log.h"

typedef struct fx_s {
    char *base;
    char dir[2048];
    rv__log_config_t cfg;
    rv__log_t *log;
} fx_t;

static char warnings[8192];

static void capture(int level, const char *fac, const char *msg, void *opaque) {
    (void)opaque;
    if (level <= RV_LOG_WARNING) {
        size_t n = strlen(warnings);
        snprintf(warnings + n, sizeof warnings - n, "%s: %s\n", fac, msg);
    }
}

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    fx->base = rvt_tmpdir();
    snprintf(fx->dir, sizeof fx->dir, "%s/events-3", fx->base);
    rv__log_config_defaults(&fx->cfg);
    warnings[0] = 0;
    rv_log_set_callback(capture, NULL);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rv_log_set_callback(NULL, NULL);
    rv__log_close(fx->log);
    rvt_rmtree(fx->base);
    free(fx->base);
    free(fx);
    return 0;
}

static void open_log(fx_t *fx, int64_t rp) {
    char errstr[512] = "";
    rv_err_t err = rv__log_open(&fx->log, fx->dir, &fx->cfg, rp, -1, errstr, sizeof errstr);
    if (err)
        fail_msg("open: %s: %s", rv_err_name(err), errstr);
}

static void close_log(fx_t *fx) {
    rv__log_close(fx->log);
    fx->log = NULL;
}

/* Appends `batches` batches of 10 records (offsets 10*i..); returns the
 * size of one batch. */
static size_t fill(fx_t *fx, int batches) {
    rv__buf_t b = RV__BUF_INIT;
    size_t size = 0;
    for (int i = 0; i < batches; i++) {
        b.len = 0;
        rvt_make_batch(&b, 10, "key", 60, 1000 * i);
        size = b.len;
        assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, NULL, 0), 0);
    }
    rv__buf_free(&b);
    return size;
}

static void seg_path(char *buf, size_t n, fx_t *fx, int64_t base, const char *ext) {
    snprintf(buf, n, "%s/%020lld%s", fx->dir, (long long)base, ext);
}

/* Reads every batch from 0 and checks each validates; returns the LEO seen. */
static int64_t check_all(fx_t *fx) {
    int64_t next = 0, hw = rv__log_high_watermark(fx->log);
    while (next < hw) {
        rv__buf_t out = RV__BUF_INIT;
        rv__read_info_t ri;
        assert_int_equal(rv__log_read(fx->log, next, 1 << 20, &out, &ri, NULL, 0), 0);
        assert_true(out.len > 0);
        for (size_t pos = 0; pos < out.len;) {
            rv__batch_hdr_t h;
            assert_int_equal(rv__batch_validate(&h, out.data + pos, out.len - pos), 0);
            pos += rv__batch_size(&h);
        }
        next = ri.next_offset;
        rv__buf_free(&out);
    }
    return next;
}

static void flip_byte(const char *path, long long at) {
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_torn_tail(void **state) {
    fx_t *fx = *state;
    open_log(fx, 0);
    size_t bs = fill(fx, 20);
    int64_t rp = rv__log_recovery_point(fx->log);
    close_log(fx);
    char path[4096];
    seg_path(path, sizeof path, fx, 0, ".log");
    assert_int_equal(rvt_file_size(path), (long long)(20 * bs));
    assert_int_equal(truncate(path, (off_t)(20 * bs - bs / 2)), 0);
    open_log(fx, rp);
    assert_int_equal(rv__log_end_offset(fx->log), 190);
    assert_int_equal(rvt_file_size(path), (long long)(19 * bs));
    assert_int_equal(check_all(fx), 190);
    /* The warning says which file, where, and how much was dropped. */
    char want[256];
    snprintf(want, sizeof want, "at byte %zu", 19 * bs);
    assert_non_null(strstr(warnings, "00000000000000000000.log"));
    assert_non_null(strstr(warnings, want));
    snprintf(want, sizeof want, "truncating %zu bytes", bs - bs / 2);
    assert_non_null(strstr(warnings, want));
    /* Appends go on from the cut. */
    fill(fx, 1);
    assert_int_equal(rv__log_end_offset(fx->log), 200);
    close_log(fx);
    open_log(fx, 0);
    assert_int_equal(check_all(fx), 200);
}

static void test_garbage_tail(void **state) {
    fx_t *fx = *state;
    open_log(fx, 0);
    size_t bs = fill(fx, 5);
    close_log(fx);
    char path[4096];
    seg_path(path, sizeof path, fx, 0, ".log");
    int fd = open(path, O_WRONLY | O_APPEND);
    char junk[333];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    /* Also a zero-filled tail, as a crash after a size update leaves. */
    char zeros[4096] = {0};
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    open_log(fx, 50);
    assert_int_equal(rv__log_end_offset(fx->log), 50);
    assert_int_equal(rvt_file_size(path), (long long)(5 * bs));
    assert_int_equal(check_all(fx), 50);
}

static void test_flipped_byte_last_segment(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 10 * 1024;
    open_log(fx, 0);
    size_t bs = fill(fx, 40);
    int per = (int)(10 * 1024 / bs), batches = 40;
    while (batches % per < 3) { /* at least 3 batches in the last segment */
        fill(fx, 1);
        batches++;
    }
    int segs = rv__log_segment_count(fx->log);
    assert_true(segs >= 3);
    int64_t leo = rv__log_end_offset(fx->log);
    close_log(fx);
    int64_t last_base = (int64_t)(segs - 1) * per * 10;
    char path[4096];
    seg_path(path, sizeof path, fx, last_base, ".log");
    long long size = rvt_file_size(path);
    assert_true(size >= (long long)(3 * bs));
    /* Flip a byte inside the third batch of the last segment. */
    flip_byte(path, (long long)(2 * bs + bs / 2));
    open_log(fx, leo); /* the last segment is always checked */
    assert_int_equal(rv__log_end_offset(fx->log), last_base + 20);
    assert_int_equal(rvt_file_size(path), (long long)(2 * bs));
    assert_int_equal(check_all(fx), last_base + 20);
    assert_non_null(strstr(warnings, "CRC"));
}

static void test_flipped_byte_earlier_segment(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 10 * 1024;
    open_log(fx, 0);
    size_t bs = fill(fx, 40);
    int segs = rv__log_segment_count(fx->log);
    close_log(fx);
    int per = (int)(10 * 1024 / bs);
    char path[4096];
    seg_path(path, sizeof path, fx, (int64_t)per * 10, ".log"); /* second segment */
    flip_byte(path, (long long)(bs + 70));
    /* Recovery point 0 (unclean shutdown, nothing checkpointed): all checked;
     * the segments after the bad batch are removed. */
    open_log(fx, 0);
    assert_int_equal(rv__log_end_offset(fx->log), (int64_t)per * 10 + 10);
    assert_int_equal(rv__log_segment_count(fx->log), 2);
    assert_int_equal(check_all(fx), (int64_t)per * 10 + 10);
    seg_path(path, sizeof path, fx, (int64_t)per * 20, ".log");
    assert_int_equal(rvt_file_size(path), -1);
    assert_true(segs > 2);
}

static void test_index_rebuild(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 20 * 1024;
    fx->cfg.index_interval_bytes = 500;
    open_log(fx, 0);
    fill(fx, 60);
    int64_t leo = rv__log_end_offset(fx->log);
    close_log(fx);
    char idx[4096], tidx[4096];
    seg_path(idx, sizeof idx, fx, 0, ".index");
    seg_path(tidx, sizeof tidx, fx, 0, ".timeindex");
    rv__buf_t orig = RV__BUF_INIT, torig = RV__BUF_INIT, now = RV__BUF_INIT;
    assert_int_equal(rv__io_read_file(idx, &orig, NULL, 0), 0);
    assert_int_equal(rv__io_read_file(tidx, &torig, NULL, 0), 0);
    assert_true(orig.len >= 8 * 10);
    assert_int_equal(orig.len % 8, 0);
    assert_int_equal(torig.len % 12, 0);
    /* Entries: relative offset and position, increasing, at batch starts. */
    assert_int_equal(rv__be32(orig.data) % 10, 9);

    const char *cases[] = {"missing", "short", "long", "garbage"};
    for (int c = 0; c < 4; c++) {
        if (c == 0) {
            unlink(idx);
            unlink(tidx);
        } else if (c == 1) {
            assert_int_equal(truncate(idx, (off_t)orig.len - 3), 0);
        } else if (c == 2) {
            int fd = open(idx, O_WRONLY | O_APPEND);
            char z[8] = {0};
            assert_int_equal(write(fd, z, 8), 8);
            close(fd);
        } else {
            rv__buf_t g = RV__BUF_INIT;
            rv__buf_append(&g, orig.data, orig.len);
            memset(g.data + 8, 0xff, 8);
            rvt_write_file(idx, g.data, g.len);
            rv__buf_free(&g);
        }
        open_log(fx, leo); /* first segment is below the recovery point */
        assert_int_equal(rv__log_end_offset(fx->log), leo);
        assert_int_equal(check_all(fx), leo);
        int64_t off, ts;
        assert_int_equal(rv__log_offset_for_timestamp(fx->log, 7005, &off, &ts), 0);
        assert_int_equal(off, 75);
        close_log(fx);
        now.len = 0;
        assert_int_equal(rv__io_read_file(idx, &now, NULL, 0), 0);
        if (now.len != orig.len || memcmp(now.data, orig.data, orig.len))
            fail_msg("index not rebuilt identically (%s)", cases[c]);
        now.len = 0;
        assert_int_equal(rv__io_read_file(tidx, &now, NULL, 0), 0);
        assert_int_equal(now.len, torig.len);
        assert_memory_equal(now.data, torig.data, torig.len);
    }
    rv__buf_free(&orig);
    rv__buf_free(&torig);
    rv__buf_free(&now);
}

static void test_empty_and_stray_files(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 10 * 1024;
    open_log(fx, 0);
    fill(fx, 30);
    int64_t leo = rv__log_end_offset(fx->log);
    int segs = rv__log_segment_count(fx->log);
    close_log(fx);
    char path[4096];
    /* An empty segment at the LEO (crash right after a roll). */
    seg_path(path, sizeof path, fx, leo, ".log");
    rvt_write_file(path, "", 0);
    /* Leftovers of an interrupted compaction and deletion. */
    seg_path(path, sizeof path, fx, 0, ".log.cleaned");
    rvt_write_file(path, "junk", 4);
    seg_path(path, sizeof path, fx, 0, ".index.cleaned");
    rvt_write_file(path, "junk", 4);
    seg_path(path, sizeof path, fx, 0, ".timeindex.swap"); /* no .log.swap: not committed */
    rvt_write_file(path, "junk", 4);
    seg_path(path, sizeof path, fx, 0, ".log.deleted");
    rvt_write_file(path, "junk", 4);
    /* An index without a .log. */
    seg_path(path, sizeof path, fx, 99999, ".index");
    rvt_write_file(path, "", 0);
    /* Not ours at all. */
    snprintf(path, sizeof path, "%s/notes.txt", fx->dir);
    rvt_write_file(path, "hello", 5);

    open_log(fx, leo);
    assert_int_equal(rv__log_end_offset(fx->log), leo);
    assert_int_equal(rv__log_segment_count(fx->log), segs + 1);
    assert_int_equal(check_all(fx), leo);
    seg_path(path, sizeof path, fx, 0, ".log.cleaned");
    assert_int_equal(rvt_file_size(path), -1);
    seg_path(path, sizeof path, fx, 0, ".index.cleaned");
    assert_int_equal(rvt_file_size(path), -1);
    seg_path(path, sizeof path, fx, 0, ".timeindex.swap");
    assert_int_equal(rvt_file_size(path), -1);
    seg_path(path, sizeof path, fx, 0, ".log.deleted");
    assert_int_equal(rvt_file_size(path), -1);
    seg_path(path, sizeof path, fx, 99999, ".index");
    assert_int_equal(rvt_file_size(path), -1);
    snprintf(path, sizeof path, "%s/notes.txt", fx->dir);
    assert_int_equal(rvt_file_size(path), 5);
    assert_non_null(strstr(warnings, "notes.txt"));
    /* Appends go into the empty segment. */
    fill(fx, 1);
    assert_int_equal(rv__log_segment_count(fx->log), segs + 1);
}

static void test_committed_swap_completed(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 10 * 1024;
    open_log(fx, 0);
    size_t bs = fill(fx, 30);
    int64_t leo = rv__log_end_offset(fx->log);
    close_log(fx);
    /* A cleaned copy of segment 0 that kept only its odd batches, renamed to
     * .swap (the commit point), then a crash. */
    char path[4096];
    seg_path(path, sizeof path, fx, 0, ".log");
    rv__buf_t all = RV__BUF_INIT, kept = RV__BUF_INIT;
    assert_int_equal(rv__io_read_file(path, &all, NULL, 0), 0);
    for (size_t pos = bs; pos < all.len; pos += 2 * bs)
        rv__buf_append(&kept, all.data + pos, bs);
    seg_path(path, sizeof path, fx, 0, ".log.swap");
    rvt_write_file(path, kept.data, kept.len);
    open_log(fx, leo);
    seg_path(path, sizeof path, fx, 0, ".log.swap");
    assert_int_equal(rvt_file_size(path), -1);
    seg_path(path, sizeof path, fx, 0, ".log");
    assert_int_equal(rvt_file_size(path), (long long)kept.len);
    assert_int_equal(rv__log_end_offset(fx->log), leo);
    /* Offset 0..9 is gone: a read there returns the batch at 10. */
    rv__buf_t out = RV__BUF_INIT;
    rv__read_info_t ri;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &out, &ri, NULL, 0), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_offset, 10);
    assert_int_equal(check_all(fx), leo);
    rv__buf_free(&out);
    rv__buf_free(&all);
    rv__buf_free(&kept);
}

static void test_start_offset_past_end(void **state) {
    fx_t *fx = *state;
    open_log(fx, 0);
    fill(fx, 3);
    close_log(fx);
    char errstr[256];
    assert_int_equal(rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, 500, errstr, sizeof errstr), 0);
    assert_int_equal(rv__log_start_offset(fx->log), 500);
    assert_int_equal(rv__log_end_offset(fx->log), 500);
    fill(fx, 1);
    assert_int_equal(rv__log_end_offset(fx->log), 510);
    rv__buf_t out = RV__BUF_INIT;
    assert_int_equal(rv__log_read(fx->log, 499, 100, &out, NULL, NULL, 0),
                     RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(rv__log_read(fx->log, 500, 100, &out, NULL, NULL, 0), 0);
    assert_true(out.len > 0);
    rv__buf_free(&out);
}

/* Appends one record, key `key`, to a compacted log. */
static void put_key(fx_t *fx, const char *key) {
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, 0, INT64_MIN, -1, -1, -1, -1), 0);
    assert_int_equal(
        rv__batch_builder_add(&bb, 0, 1000, key, (int32_t)strlen(key), "v", 1, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, NULL, 0), 0);
    rv__buf_free(&b);
}

/* The base offset of the first batch a read at `offset` returns. */
static int64_t first_batch_at(fx_t *fx, int64_t offset) {
    rv__buf_t out = RV__BUF_INIT;
    char errstr[512] = "";
    rv_err_t err = rv__log_read(fx->log, offset, 1, &out, NULL, errstr, sizeof errstr);
    if (err)
        fail_msg("read at %lld: %s: %s", (long long)offset, rv_err_name(err), errstr);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    rv__buf_free(&out);
    return h.base_offset;
}

/* Compaction that empties segments does not move the log start offset,
 * before a restart or after it: an emptied first segment stays (where the
 * log starts), with or without the start offset from the broker's
 * checkpoint, also after a second restart, while an emptied segment
 * between others is removed. A read at the start offset returns the first
 * batch left, as before the restart. */
static void test_emptied_segments_keep_start_offset(void **state) {
    fx_t *fx = *state;
    fx->cfg.cleanup_compact = true;
    fx->cfg.cleanup_delete = false;
    open_log(fx, 0);
    put_key(fx, "a");
    put_key(fx, "b");
    assert_int_equal(rv__log_roll(fx->log), 0); /* segment 0: offsets 0..1 */
    put_key(fx, "a");
    assert_int_equal(rv__log_roll(fx->log), 0); /* segment 2: offset 2 */
    put_key(fx, "a");
    put_key(fx, "b");
    put_key(fx, "c");
    assert_int_equal(rv__log_roll(fx->log), 0); /* segment 3: offsets 3..5 */
    assert_int_equal(rv__log_clean(fx->log, 5000, 1, NULL), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 4); /* 0 and 2 empty */
    assert_int_equal(rv__log_start_offset(fx->log), 0);
    assert_int_equal(first_batch_at(fx, 0), 3);
    for (int i = 0; i < 3; i++) {
        /* With the checkpointed start offset, twice, then without one. */
        int64_t lso = i < 2 ? rv__log_start_offset(fx->log) : -1;
        close_log(fx);
        char errstr[512] = "";
        assert_int_equal(rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, lso, errstr, sizeof errstr),
                         0);
        assert_int_equal(rv__log_start_offset(fx->log), 0);
        assert_int_equal(rv__log_segment_count(fx->log), 3); /* 0, 3, the active one */
        assert_int_equal(first_batch_at(fx, 0), 3);
        assert_int_equal(first_batch_at(fx, 2), 3);
        assert_int_equal(rv__log_end_offset(fx->log), 6);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_last_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_earlier_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_stray_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_committed_swap_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_offset_past_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emptied_segments_keep_start_offset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
