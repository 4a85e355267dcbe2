/* tests/unit/test_log_bounds.c: the partition log's bounds
 * (broker/log/log.c): recovery that cuts at a bad batch removes every
 * later segment, also when the cut empties a segment in the middle; and an
 * append whose batches claim an offset range other than their record count
 * is refused (Kafka's LogValidator), so no batch can push offsets past a
 * segment's 32-bit relative offsets. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "common/record_batch.h"

typedef struct fx_s {
    char *base;
    char dir[2048];
    rv__log_config_t cfg;
    rv__log_t *log;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    fx->base = rvt_tmpdir();
    snprintf(fx->dir, sizeof fx->dir, "%s/orders-0", fx->base);
    rv__log_config_defaults(&fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
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

static void flip_byte(const char *path, long long at) {
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* The first batch of a middle segment is bad: recovery cuts that segment
 * to nothing. log.h says "later segments are removed" and
 * docs/LOG_FORMAT.md "every later segment is deleted"; instead the
 * now-empty segment is dropped by the "empty segment" branch of
 * rv__log_open before the cut is looked at, so the segments after it stay
 * and the log silently skips the lost offsets. */
static void test_cut_at_first_batch_of_middle_segment_drops_later(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 10 * 1024;
    open_log(fx, 0);
    size_t bs = fill(fx, 40);
    close_log(fx);
    int per = (int)(10 * 1024 / bs);
    char path[4096];
    snprintf(path, sizeof path, "%s/%020lld.log", fx->dir, (long long)per * 10);
    flip_byte(path, 70); /* inside the CRC range of the segment's first batch */
    open_log(fx, 0);
    /* Same expectations as a bad batch later in a segment: everything from
     * the bad batch on is gone, and nothing after it is kept. */
    assert_int_equal(rv__log_end_offset(fx->log), (int64_t)per * 10);
    snprintf(path, sizeof path, "%s/%020lld.log", fx->dir, (long long)per * 20);
    assert_int_equal(rvt_file_size(path), -1);
}

/* One batch of one record whose lastOffsetDelta claims `delta` + 1
 * offsets. Kafka refuses such a batch ("Inner record count ... doesn't
 * match"); the log accepts it. */
static void make_wide_batch(rv__buf_t *out, int32_t delta) {
    rv__batch_builder_t b;
    assert_int_equal(rv__batch_builder_begin(&b, out, 0, 0, INT64_MIN, -1, -1, -1, -1), 0);
    assert_int_equal(rv__batch_builder_add(&b, 0, 1000, "k", 1, "v", 1, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&b, delta), 0);
}

/* Two batches of one record that each claim 2^31 offsets: Kafka refuses
 * such a produce ("Inconsistent batch offset range and record count"),
 * and so does the log, before writing anything. Accepting them would put
 * offsets beyond a segment's 32-bit relative offsets, which recovery then
 * cuts: acknowledged data lost. */
static void test_batch_offset_range_must_match_record_count(void **state) {
    fx_t *fx = *state;
    fx->cfg.index_interval_bytes = 0;
    open_log(fx, 0);
    rv__buf_t b = RV__BUF_INIT;
    make_wide_batch(&b, INT32_MAX);
    make_wide_batch(&b, INT32_MAX);
    rv__append_info_t info;
    char errstr[256] = "";
    rv_err_t err =
        rv__log_append(fx->log, b.data, b.len, RV__APPEND_SYNC, &info, errstr, sizeof errstr);
    rv__buf_free(&b);
    assert_int_equal(err, RV_ERR_INVALID_RECORD);
    assert_non_null(strstr(errstr, "Inconsistent batch offset range and record count"));
    assert_int_equal(rv__log_end_offset(fx->log), 0);
    close_log(fx);
    open_log(fx, 0);
    assert_int_equal(rv__log_end_offset(fx->log), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_at_first_batch_of_middle_segment_drops_later,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_offset_range_must_match_record_count, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
