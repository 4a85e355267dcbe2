/* tests/unit/test_log_concurrency.c: the log under several threads: group
 * commit (durable appends share fsyncs, offsets distinct and contiguous),
 * and appenders racing readers and delete-records (readers only ever see
 * whole, valid batches below the high watermark). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "broker/log/log_internal.h"
#include "common/record_batch.h"

#define THREADS 4
#define APPENDS 40

typedef struct fx_s {
    char *base;
    char dir[2048];
    rv__log_config_t cfg;
    rv__log_t *log;
    atomic_int stop;
    atomic_int failures;
    int64_t firsts[THREADS][APPENDS];
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    fx->base = rvt_tmpdir();
    snprintf(fx->dir, sizeof fx->dir, "%s/t-0", fx->base);
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

typedef struct arg_s {
    fx_t *fx;
    int id;
} arg_t;

static void *sync_appender(void *p) {
    arg_t *a = p;
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < APPENDS; i++) {
        b.len = 0;
        rvt_make_batch(&b, 3, "k", 20, i);
        rv__append_info_t info;
        if (rv__log_append(a->fx->log, b.data, b.len, RV__APPEND_SYNC, &info, NULL, 0) ||
            info.last_offset - info.base_offset != 2 ||
            rv__log_recovery_point(a->fx->log) <= info.last_offset)
            atomic_fetch_add(&a->fx->failures, 1);
        a->fx->firsts[a->id][i] = info.base_offset;
    }
    rv__buf_free(&b);
    return NULL;
}

static int cmp64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_group_commit(void **state) {
    fx_t *fx = *state;
    assert_int_equal(rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, -1, NULL, 0), 0);
    uint64_t f0 = rv__log_fsync_count(fx->log);
    pthread_t th[THREADS];
    arg_t args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (arg_t){fx, i};
        pthread_create(&th[i], NULL, sync_appender, &args[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&fx->failures), 0);
    /* Every batch got its own 3 offsets, with no gap and no overlap. */
    int64_t all[THREADS * APPENDS];
    memcpy(all, fx->firsts, sizeof all);
    qsort(all, THREADS * APPENDS, sizeof all[0], cmp64);
    for (int i = 0; i < THREADS * APPENDS; i++)
        assert_int_equal(all[i], 3 * i);
    assert_int_equal(rv__log_end_offset(fx->log), 3 * THREADS * APPENDS);
    assert_int_equal(rv__log_recovery_point(fx->log), 3 * THREADS * APPENDS);
    uint64_t syncs = rv__log_fsync_count(fx->log) - f0;
    printf("# %d durable appends, %llu fsyncs\n", THREADS * APPENDS, (unsigned long long)syncs);
    assert_true(syncs >= 1);
    assert_true(syncs < THREADS * APPENDS);
}

static void *appender(void *p) {
    arg_t *a = p;
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < 300; i++) {
        b.len = 0;
        rvt_make_batch(&b, 1 + (i + a->id) % 9, "key", 10 + (size_t)(i * 37 % 400), i);
        if (rv__log_append(a->fx->log, b.data, b.len, 0, NULL, NULL, 0))
            atomic_fetch_add(&a->fx->failures, 1);
    }
    rv__buf_free(&b);
    return NULL;
}

static void *reader(void *p) {
    arg_t *a = p;
    fx_t *fx = a->fx;
    int64_t next = 0;
    rv__buf_t out = RV__BUF_INIT;
    while (!atomic_load(&fx->stop) || next < rv__log_high_watermark(fx->log)) {
        out.len = 0;
        rv__read_info_t ri;
        rv_err_t err = rv__log_read(fx->log, next, 3000, &out, &ri, NULL, 0);
        if (err == RV_ERR_OFFSET_OUT_OF_RANGE && next < ri.log_start_offset) {
            next = ri.log_start_offset; /* delete-records overtook us */
            continue;
        }
        if (err) {
            atomic_fetch_add(&fx->failures, 1);
            break;
        }
        for (size_t pos = 0; pos < out.len;) {
            rv__batch_hdr_t h;
            if (rv__batch_validate(&h, out.data + pos, out.len - pos) ||
                rv__batch_last_offset(&h) >= ri.high_watermark ||
                (pos > 0 && h.base_offset != next) || rv__batch_last_offset(&h) < next) {
                atomic_fetch_add(&fx->failures, 1);
                atomic_store(&fx->stop, 1);
                break;
            }
            next = rv__batch_last_offset(&h) + 1;
            pos += rv__batch_size(&h);
        }
    }
    rv__buf_free(&out);
    return NULL;
}

static void *deleter(void *p) {
    fx_t *fx = p;
    while (!atomic_load(&fx->stop)) {
        int64_t hw = rv__log_high_watermark(fx->log), lw;
        if (rv__log_delete_records(fx->log, hw / 2, &lw, NULL, 0))
            atomic_fetch_add(&fx->failures, 1);
        rv__log_retention(fx->log, 0);
        rv__log_sync(fx->log, hw);
    }
    return NULL;
}

static void test_appenders_and_readers(void **state) {
    fx_t *fx = *state;
    fx->cfg.segment_bytes = 16 * 1024; /* many rolls */
    fx->cfg.index_interval_bytes = 512;
    assert_int_equal(rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, -1, NULL, 0), 0);
    pthread_t ap[2], rd[2], del;
    arg_t args[4];
    for (int i = 0; i < 2; i++) {
        args[i] = (arg_t){fx, i};
        args[2 + i] = (arg_t){fx, 2 + i};
        pthread_create(&rd[i], NULL, reader, &args[2 + i]);
        pthread_create(&ap[i], NULL, appender, &args[i]);
    }
    pthread_create(&del, NULL, deleter, fx);
    for (int i = 0; i < 2; i++)
        pthread_join(ap[i], NULL);
    atomic_store(&fx->stop, 1);
    pthread_join(del, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(rd[i], NULL);
    assert_int_equal(atomic_load(&fx->failures), 0);
    assert_int_equal(rv__log_high_watermark(fx->log), rv__log_end_offset(fx->log));
    /* Reopening checks every byte written while readers and deletions ran. */
    int64_t leo = rv__log_end_offset(fx->log), lso = rv__log_start_offset(fx->log);
    rv__log_close(fx->log);
    fx->log = NULL;
    assert_int_equal(rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, lso, NULL, 0), 0);
    assert_int_equal(rv__log_end_offset(fx->log), leo);
    assert_int_equal(rv__log_start_offset(fx->log), lso);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appenders_and_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
