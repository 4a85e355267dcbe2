/* tests/unit/test_log_retention.c: retention by time and by size (with an
 * explicit clock), expiry of the active segment, retention and compact
 * policy, and delete-records (start offset, reads below it, restart). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    snprintf(fx->dir, sizeof fx->dir, "%s/clicks-1", fx->base);
    rv__log_config_defaults(&fx->cfg);
    fx->cfg.segment_bytes = 4096;
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

static void open_log(fx_t *fx, int64_t lso) {
    char errstr[512] = "";
    if (rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, lso, errstr, sizeof errstr))
        fail_msg("open: %s", errstr);
}

/* Appends batches of 10 records with timestamps ts..ts+9; about 1 KiB each. */
static void fill(fx_t *fx, int batches, int64_t ts) {
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < batches; i++) {
        b.len = 0;
        rvt_make_batch(&b, 10, "k", 80, ts);
        assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, NULL, 0), 0);
    }
    rv__buf_free(&b);
}

static rv_err_t read_at(fx_t *fx, int64_t off, char *errstr, size_t n) {
    rv__buf_t out = RV__BUF_INIT;
    rv_err_t err = rv__log_read(fx->log, off, 1 << 20, &out, NULL, errstr, n);
    rv__buf_free(&out);
    return err;
}

static void test_retention_by_time(void **state) {
    fx_t *fx = *state;
    fx->cfg.retention_ms = 10000;
    open_log(fx, -1);
    int64_t t0 = 1700000000000;
    fill(fx, 8, t0);         /* 2 segments' worth, old */
    fill(fx, 8, t0 + 50000); /* newer */
    int segs = rv__log_segment_count(fx->log);
    assert_true(segs >= 4);
    /* Nothing is past retention yet. */
    assert_int_equal(rv__log_retention(fx->log, t0 + 10009), 0);
    /* The old segments (newest record t0+9) expire after t0+10009. */
    int deleted = rv__log_retention(fx->log, t0 + 10010);
    assert_true(deleted >= 1);
    assert_int_equal(rv__log_segment_count(fx->log), segs - deleted);
    int64_t lso = rv__log_start_offset(fx->log);
    assert_true(lso > 0);
    char errstr[512];
    assert_int_equal(read_at(fx, lso - 1, errstr, sizeof errstr), RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_non_null(strstr(errstr, "log start offset"));
    assert_int_equal(read_at(fx, lso, errstr, sizeof errstr), 0);
    /* Segments deleted from disk (renamed, then removed once unreferenced). */
    char path[4096];
    snprintf(path, sizeof path, "%s/00000000000000000000.log", fx->dir);
    assert_int_equal(rvt_file_size(path), -1);
    snprintf(path, sizeof path, "%s/00000000000000000000.log.deleted", fx->dir);
    assert_int_equal(rvt_file_size(path), -1);
    /* Everything expired, the active segment too: a new empty one is rolled. */
    int64_t leo = rv__log_end_offset(fx->log);
    assert_true(rv__log_retention(fx->log, t0 + 100000) >= 1);
    assert_int_equal(rv__log_segment_count(fx->log), 1);
    assert_int_equal(rv__log_start_offset(fx->log), leo);
    assert_int_equal(rv__log_end_offset(fx->log), leo);
    assert_int_equal(rv__log_size_bytes(fx->log), 0);
    /* An empty active segment is never deleted. */
    assert_int_equal(rv__log_retention(fx->log, t0 + 900000), 0);
    fill(fx, 1, t0 + 900000);
    assert_int_equal(rv__log_end_offset(fx->log), leo + 10);
    /* retention.ms = -1 keeps everything. */
    fx->cfg.retention_ms = -1;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_retention(fx->log, INT64_MAX / 2), 0);
}

static void test_retention_by_size(void **state) {
    fx_t *fx = *state;
    open_log(fx, -1);
    fill(fx, 20, 0);
    int segs = rv__log_segment_count(fx->log);
    int64_t total = rv__log_size_bytes(fx->log);
    /* Below the limit: nothing. */
    fx->cfg.retention_bytes = total;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_retention(fx->log, 0), 0);
    /* One byte over: only whole segments that fit in the excess go, so
     * nothing until the excess covers the oldest segment. */
    fx->cfg.retention_bytes = total - 1;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_retention(fx->log, 0), 0);
    fx->cfg.retention_bytes = 5000;
    rv__log_set_config(fx->log, &fx->cfg);
    int deleted = rv__log_retention(fx->log, 0);
    assert_true(deleted >= 1);
    assert_true(rv__log_size_bytes(fx->log) <= 5000 + 4096);
    assert_true(rv__log_size_bytes(fx->log) >= 5000);
    assert_int_equal(rv__log_segment_count(fx->log), segs - deleted);
    /* Compact-only topics are not subject to retention. */
    fx->cfg.cleanup_delete = false;
    fx->cfg.cleanup_compact = true;
    fx->cfg.retention_bytes = 0;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_retention(fx->log, 0), 0);
}

static void test_delete_records(void **state) {
    fx_t *fx = *state;
    open_log(fx, -1);
    fill(fx, 20, 0);
    int segs = rv__log_segment_count(fx->log);
    int64_t lw = -5;
    char errstr[512] = "";
    assert_int_equal(rv__log_delete_records(fx->log, 201, &lw, errstr, sizeof errstr),
                     RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_non_null(strstr(errstr, "high watermark"));
    assert_int_equal(rv__log_delete_records(fx->log, 95, &lw, NULL, 0), 0);
    assert_int_equal(lw, 95);
    assert_int_equal(rv__log_start_offset(fx->log), 95);
    assert_true(rv__log_segment_count(fx->log) < segs);
    assert_int_equal(read_at(fx, 94, errstr, sizeof errstr), RV_ERR_OFFSET_OUT_OF_RANGE);
    /* A read at the start offset returns the batch that holds it. */
    rv__buf_t out = RV__BUF_INIT;
    rv__read_info_t ri;
    assert_int_equal(rv__log_read(fx->log, 95, 1, &out, &ri, NULL, 0), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_offset, 90);
    assert_int_equal(ri.log_start_offset, 95);
    rv__buf_free(&out);
    /* Lower offsets leave it unchanged. */
    assert_int_equal(rv__log_delete_records(fx->log, 10, &lw, NULL, 0), 0);
    assert_int_equal(lw, 95);
    /* Timestamps below the start offset are not answered. */
    int64_t off, ts;
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 0, &off, &ts), 0);
    assert_int_equal(off, 95);
    /* A restart with the returned start offset keeps it. */
    rv__log_close(fx->log);
    fx->log = NULL;
    open_log(fx, lw);
    assert_int_equal(rv__log_start_offset(fx->log), 95);
    assert_int_equal(read_at(fx, 94, NULL, 0), RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(read_at(fx, 150, NULL, 0), 0);
    /* -1 means the high watermark: everything goes but the active segment. */
    assert_int_equal(rv__log_delete_records(fx->log, -1, &lw, NULL, 0), 0);
    assert_int_equal(lw, 200);
    assert_int_equal(rv__log_segment_count(fx->log), 1);
    assert_int_equal(read_at(fx, 200, NULL, 0), 0);
    assert_int_equal(read_at(fx, 199, NULL, 0), RV_ERR_OFFSET_OUT_OF_RANGE);
    /* Retention removes whole segments below the start offset. */
    fill(fx, 10, 0);
    assert_int_equal(rv__log_delete_records(fx->log, -1, &lw, NULL, 0), 0);
    assert_int_equal(rv__log_segment_count(fx->log), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retention_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
