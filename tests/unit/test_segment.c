/* tests/unit/test_segment.c: broker/log/segment.c on real files: file
 * names, sparse index entries and their on-disk encoding, position and
 * time lookups, header scans, reload and rebuild of indexes, recovery of
 * one segment, and deferred deletion while a reference is held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/log/segment.h"
#include "common/fileio.h"
#include "common/record_batch.h"

typedef struct fx_s {
    char *dir;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    fx->dir = rvt_tmpdir();
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Writes `n` batches of 5 records (timestamps 100*i..) at offsets from
 * base; returns the batch size. */
static size_t write_batches(rv__segment_t *seg, int n, int32_t interval) {
    rv__buf_t b = RV__BUF_INIT;
    size_t size = 0;
    for (int i = 0; i < n; i++) {
        b.len = 0;
        rvt_make_batch(&b, 5, "k", 50, 100 * i);
        int64_t base = seg->next_offset;
        rv__batch_set_base_offset(b.data, base);
        int64_t pos = seg->size;
        assert_int_equal(rv__segment_write(seg, &(struct iovec){b.data, b.len}, 1, NULL, 0), 0);
        rv__segment_account_batch(seg, pos, (int64_t)b.len, base + 4, 100 * i + 4, interval);
        size = b.len;
    }
    rv__buf_free(&b);
    return size;
}

static void test_file_name(void **state) {
    (void)state;
    char buf[256];
    rv__segment_file_name(buf, sizeof buf, "/d/t-0", 1234, ".timeindex");
    assert_string_equal(buf, "/d/t-0/00000000000000001234.timeindex");
    rv__segment_file_name(buf, sizeof buf, "x", INT64_MAX, ".log");
    assert_string_equal(buf, "x/09223372036854775807.log");
}

static void test_index_entries_and_lookup(void **state) {
    fx_t *fx = *state;
    rv__segment_t *seg;
    assert_int_equal(rv__segment_create(&seg, fx->dir, 1000, 1000, 0, NULL, 0), 0);
    size_t bs = write_batches(seg, 20, 1000);
    assert_int_equal(seg->next_offset, 1100);
    assert_int_equal(seg->size, (int64_t)(20 * bs));
    assert_int_equal(seg->max_timestamp, 1904);
    assert_int_equal(seg->first_batch_timestamp, 4);
    /* An entry after more than 1000 bytes since the last one, pointing at
     * the start of the batch, with the batch's last offset. */
    size_t per = 1000 / bs + 1; /* batches between entries */
    assert_true(seg->idx_cnt >= 2);
    for (size_t i = 0; i < seg->idx_cnt; i++) {
        size_t batch = per * (i + 1);
        assert_int_equal(seg->idx[i].pos, (int32_t)(batch * bs));
        assert_int_equal(seg->idx[i].rel, (int32_t)(batch * 5 + 4));
    }
    assert_int_equal(seg->tidx_cnt, seg->idx_cnt);
    /* Lookups give a batch start at or before the offset; scans finish it. */
    for (int64_t off = 1000; off < 1100; off++) {
        int64_t pos = rv__segment_index_lookup(seg, seg->idx_cnt, off), bpos;
        assert_true(pos <= (int64_t)((size_t)(off - 1000) / 5 * bs));
        rv__batch_hdr_t h;
        assert_int_equal(rv__segment_find_batch(seg, off, pos, seg->size, &bpos, &h), 1);
        assert_int_equal(bpos, (int64_t)((size_t)(off - 1000) / 5 * bs));
        assert_true(h.base_offset <= off && h.base_offset + 4 >= off);
    }
    int64_t bpos;
    rv__batch_hdr_t h;
    assert_int_equal(rv__segment_find_batch(seg, 1100, 0, seg->size, &bpos, &h), 0);
    /* Time lookup never starts after the first batch with a timestamp >= ts. */
    for (int64_t ts = 0; ts < 2000; ts += 37) {
        int64_t pos = rv__segment_time_lookup(seg, seg->idx_cnt, seg->tidx_cnt, ts);
        int64_t first = ts <= 4 ? 0 : (ts - 4 + 99) / 100;
        if (first > 19)
            first = 19;
        assert_true(pos <= first * (int64_t)bs);
    }
    /* Index files on disk: big-endian entries. */
    rv__segment_seal(seg);
    assert_int_equal(rv__segment_write_indexes(seg, seg->idx_cnt, seg->tidx_cnt, true), 0);
    char path[4096];
    rv__buf_t f = RV__BUF_INIT;
    rv__segment_file_name(path, sizeof path, fx->dir, 1000, ".index");
    assert_int_equal(rv__io_read_file(path, &f, NULL, 0), 0);
    assert_int_equal(f.len, seg->idx_cnt * 8);
    assert_int_equal(rv__be32(f.data), (uint32_t)seg->idx[0].rel);
    assert_int_equal(rv__be32(f.data + 4), (uint32_t)seg->idx[0].pos);
    f.len = 0;
    rv__segment_file_name(path, sizeof path, fx->dir, 1000, ".timeindex");
    assert_int_equal(rv__io_read_file(path, &f, NULL, 0), 0);
    assert_int_equal(f.len, seg->tidx_cnt * 12);
    /* The final entry holds the segment's largest timestamp. */
    assert_int_equal(rv__be64(f.data + f.len - 12), 1904);
    assert_int_equal(rv__be32(f.data + f.len - 4), 99);
    rv__buf_free(&f);

    /* Reload: the same state from the index files, or rebuilt by recovery. */
    for (int rec = 0; rec < 2; rec++) {
        rv__segment_t *s2;
        int64_t cut = -1;
        assert_int_equal(
            rv__segment_open(&s2, fx->dir, 1000, rec, 1000, 10, INT64_MAX, &cut, NULL, 0), 0);
        assert_int_equal(cut, 0);
        assert_int_equal(s2->size, seg->size);
        assert_int_equal(s2->next_offset, 1100);
        assert_int_equal(s2->max_timestamp, 1904);
        assert_int_equal(s2->first_batch_timestamp, 4);
        assert_int_equal(s2->idx_cnt, seg->idx_cnt);
        assert_memory_equal(s2->idx, seg->idx, seg->idx_cnt * sizeof *seg->idx);
        rv__segment_unref(s2);
    }
    rv__segment_unref(seg);
}

static void test_recover_cuts_and_bounds(void **state) {
    fx_t *fx = *state;
    rv__segment_t *seg;
    assert_int_equal(rv__segment_create(&seg, fx->dir, 0, 1000, 0, NULL, 0), 0);
    size_t bs = write_batches(seg, 10, 100);
    rv__segment_unref(seg);
    /* max_offset (the next segment's base) bounds the offsets kept: a batch
     * reaching offset 30 does not belong before a segment at 30. */
    int64_t cut;
    assert_int_equal(rv__segment_open(&seg, fx->dir, 0, true, 100, 10, 30, &cut, NULL, 0), 0);
    assert_int_equal(seg->next_offset, 30);
    assert_int_equal(cut, (int64_t)(4 * bs));
    assert_int_equal(seg->size, (int64_t)(6 * bs));
    char path[4096];
    rv__segment_file_name(path, sizeof path, fx->dir, 0, ".log");
    assert_int_equal(rvt_file_size(path), (long long)(6 * bs));
    rv__segment_unref(seg);
}

static void test_deferred_delete(void **state) {
    fx_t *fx = *state;
    rv__segment_t *seg;
    assert_int_equal(rv__segment_create(&seg, fx->dir, 0, 100, 0, NULL, 0), 0);
    size_t bs = write_batches(seg, 3, 100);
    rv__segment_ref(seg); /* a reader */
    rv__segment_mark_deleted(seg);
    rv__segment_unref(seg); /* the log's reference */
    char path[4096], del[4200];
    rv__segment_file_name(path, sizeof path, fx->dir, 0, ".log");
    snprintf(del, sizeof del, "%s.deleted", path);
    assert_int_equal(rvt_file_size(path), -1);
    assert_int_equal(rvt_file_size(del), (long long)(3 * bs));
    /* The reader can still scan. */
    int64_t bpos;
    rv__batch_hdr_t h;
    assert_int_equal(rv__segment_find_batch(seg, 12, 0, seg->size, &bpos, &h), 1);
    assert_int_equal(h.base_offset, 10);
    rv__segment_unref(seg);
    assert_int_equal(rvt_file_size(del), -1);
}

/* base_offset lies outside the CRC, so a batch from disk can carry any
 * value: recovery must refuse one whose last offset would pass INT64_MAX
 * (computing it used to overflow and let the batch in). */
static void test_recover_huge_base_offset(void **state) {
    fx_t *fx = *state;
    rv__segment_t *seg;
    assert_int_equal(rv__segment_create(&seg, fx->dir, 0, 1000, 0, NULL, 0), 0);
    size_t bs = write_batches(seg, 1, 100);
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, 5, "k", 50, 0);
    rv__batch_set_base_offset(b.data, INT64_MAX - 1);
    assert_int_equal(rv__segment_write(seg, &(struct iovec){b.data, b.len}, 1, NULL, 0), 0);
    rv__segment_unref(seg);
    int64_t cut;
    assert_int_equal(rv__segment_open(&seg, fx->dir, 0, true, 100, 10, INT64_MAX, &cut, NULL, 0),
                     0);
    assert_int_equal(cut, (int64_t)b.len);
    assert_int_equal(seg->size, (int64_t)bs);
    assert_int_equal(seg->next_offset, 5);
    rv__segment_unref(seg);
    rv__buf_free(&b);
}

/* A scan never returns a batch that crosses its limit (a batch boundary):
 * that happens only when it started mid-batch, and callers allocate by the
 * returned batch's length. */
static void test_find_batch_stays_below_limit(void **state) {
    fx_t *fx = *state;
    rv__segment_t *seg;
    assert_int_equal(rv__segment_create(&seg, fx->dir, 0, 1000, 0, NULL, 0), 0);
    size_t bs = write_batches(seg, 3, 100);
    int64_t bpos;
    rv__batch_hdr_t h;
    assert_int_equal(rv__segment_find_batch(seg, 12, 0, (int64_t)(3 * bs), &bpos, &h), 1);
    assert_int_equal(bpos, (int64_t)(2 * bs));
    assert_int_equal(rv__segment_find_batch(seg, 12, 0, (int64_t)(3 * bs) - 1, &bpos, &h), -1);
    rv__segment_unref(seg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_name),
        cmocka_unit_test_setup_teardown(test_index_entries_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_cuts_and_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_huge_base_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_batch_stays_below_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
