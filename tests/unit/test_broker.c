/* tests/unit/test_broker.c: the embedded broker handle (broker/broker.c):
 * sharing within a process, the folder lock against a second process,
 * produce/fetch/offset lookups, a topic deleted under concurrent producers
 * and fetchers, and housekeeping applying retention.ms on its own. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/topics.h"
#include "common/clock.h"
#include "rivulet/broker.h"
#include "rivulet/record.h"

typedef struct fixture_s {
    char *dir;
    rv_broker_t *b;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = rvt_tmpdir();
    char errstr[512];
    if (rv_broker_open(&f->b, f->dir, errstr, sizeof errstr)) {
        fprintf(stderr, "open: %s\n", errstr);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    rv_broker_close(f->b);
    rvt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void create(rv_broker_t *b, const char *name, int32_t parts, const char *const *n,
                   const char *const *v, size_t cnt) {
    char errstr[512];
    rv_err_t err =
        rv__topics_create(rv__broker_topics(b), name, parts, 1, n, v, cnt, errstr, sizeof errstr);
    if (err)
        fail_msg("create %s: %s", name, errstr);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_shared_in_process(void **state) {
    fixture_t *f = *state;
    char errstr[512], other[4200];
    rv_broker_t *b2, *b3;
    assert_int_equal(rv_broker_open(&b2, f->dir, errstr, sizeof errstr), 0);
    assert_ptr_equal(b2, f->b);
    /* Another spelling of the same folder is the same broker. */
    snprintf(other, sizeof other, "%s/./", f->dir);
    assert_int_equal(rv_broker_open(&b3, other, errstr, sizeof errstr), 0);
    assert_ptr_equal(b3, f->b);
    rv_broker_close(b2);
    rv_broker_close(b3);
    /* Still open: the fixture's reference remains. */
    create(f->b, "t", 1, NULL, NULL, 0);
    rv_broker_close(NULL);
}

static void test_second_process_locked(void **state) {
    fixture_t *f = *state;
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char errstr[512] = "", want[4200];
        rv_broker_t *b = NULL;
        rv_err_t err = rv_broker_open(&b, f->dir, errstr, sizeof errstr);
        snprintf(want, sizeof want, "data folder %s is locked by process %ld", f->dir,
                 (long)parent);
        if (err != RV_ERR__LOCKED)
            _exit(1);
        if (strcmp(errstr, want)) {
            fprintf(stderr, "got \"%s\"\n", errstr);
            _exit(2);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* Once closed, another process may take the folder. */
    rv_broker_close(f->b);
    f->b = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char errstr[512];
        rv_broker_t *b = NULL;
        if (rv_broker_open(&b, f->dir, errstr, sizeof errstr))
            _exit(1);
        rv_broker_close(b);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char errstr[512];
    assert_int_equal(rv_broker_open(&f->b, f->dir, errstr, sizeof errstr), 0);
}

static void test_produce_fetch(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    create(f->b, "events", 2, NULL, NULL, 0);

    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 5, "key", 20, 1000);
    uint8_t *orig = malloc(batch.len);
    memcpy(orig, batch.data, batch.len);
    int64_t base = -1;
    assert_int_equal(rv_broker_produce(f->b, "events", 1, batch.data, batch.len, -1, &base, errstr,
                                       sizeof errstr),
                     0);
    assert_int_equal(base, 0);
    assert_int_equal(rv_broker_produce(f->b, "events", 1, batch.data, batch.len, 1, &base, errstr,
                                       sizeof errstr),
                     0);
    assert_int_equal(base, 5);
    assert_int_equal(
        rv_broker_produce(f->b, "events", 1, batch.data, batch.len, 0, NULL, errstr, sizeof errstr),
        0);
    /* The caller's bytes are not rewritten with the assigned offsets. */
    assert_memory_equal(batch.data, orig, batch.len);
    free(orig);

    assert_int_equal(
        rv_broker_produce(f->b, "events", 1, batch.data, batch.len, 2, NULL, errstr, sizeof errstr),
        RV_ERR_INVALID_REQUIRED_ACKS);
    assert_int_equal(
        rv_broker_produce(f->b, "nope", 0, batch.data, batch.len, 1, NULL, errstr, sizeof errstr),
        RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(
        rv_broker_produce(f->b, "events", 2, batch.data, batch.len, 1, NULL, errstr, sizeof errstr),
        RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(rv_broker_produce(f->b, "events", -1, batch.data, batch.len, 1, NULL, errstr,
                                       sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* A damaged batch is refused whole. */
    batch.data[batch.len - 1] ^= 0x55;
    assert_int_equal(
        rv_broker_produce(f->b, "events", 1, batch.data, batch.len, 1, NULL, errstr, sizeof errstr),
        RV_ERR_CORRUPT_MESSAGE);
    rv__buf_free(&batch);

    void *data;
    size_t len;
    int64_t hw = -1;
    assert_int_equal(
        rv_broker_fetch(f->b, "events", 1, 0, 1 << 20, &data, &len, &hw, errstr, sizeof errstr), 0);
    assert_int_equal(hw, 15);
    assert_non_null(data);
    rv_batch_reader_t *r = rv_batch_reader_new(data, len);
    int64_t expect = 0;
    while (rv_batch_reader_next(r) == 1) {
        assert_int_equal(rv_batch_reader_offset(r), expect);
        assert_int_equal(rv_batch_reader_timestamp(r), 1000 + expect % 5);
        int32_t klen;
        const char *k = rv_batch_reader_key(r, &klen);
        char want[16];
        snprintf(want, sizeof want, "key%d", (int)(expect % 5));
        assert_int_equal(klen, (int32_t)strlen(want));
        assert_memory_equal(k, want, (size_t)klen);
        expect++;
    }
    assert_int_equal(expect, 15);
    rv_batch_reader_destroy(r);
    rv_free(data);

    /* Reading at the HW returns nothing; past it is out of range. */
    assert_int_equal(
        rv_broker_fetch(f->b, "events", 1, 15, 1 << 20, &data, &len, &hw, errstr, sizeof errstr),
        0);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_int_equal(
        rv_broker_fetch(f->b, "events", 1, 16, 1 << 20, &data, &len, &hw, errstr, sizeof errstr),
        RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(
        rv_broker_fetch(f->b, "events", 0, 0, 100, &data, &len, &hw, errstr, sizeof errstr), 0);
    assert_int_equal(hw, 0);
    assert_int_equal(
        rv_broker_fetch(f->b, "zzz", 0, 0, 100, &data, &len, &hw, errstr, sizeof errstr),
        RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);

    int64_t off;
    assert_int_equal(
        rv_broker_offset_for_time(f->b, "events", 1, 1003, &off, errstr, sizeof errstr), 0);
    assert_int_equal(off, 3);
    assert_int_equal(
        rv_broker_offset_for_time(f->b, "events", 1, 99999, &off, errstr, sizeof errstr), 0);
    assert_int_equal(off, -1);
    assert_int_equal(rv_broker_offset_for_time(f->b, "events", 1, -1, &off, errstr, sizeof errstr),
                     0);
    assert_int_equal(off, 15);
    assert_int_equal(rv_broker_offset_for_time(f->b, "events", 1, -2, &off, errstr, sizeof errstr),
                     0);
    assert_int_equal(off, 0);
    assert_int_equal(rv_broker_offset_for_time(f->b, "nope", 1, 0, &off, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}

/* ---- a topic deleted under load ---- */

typedef struct worker_s {
    rv_broker_t *b;
    bool fetcher;
    atomic_int *go;
    int ok, gone, other;
    rv_err_t last_other;
} worker_t;

static void *worker_main(void *arg) {
    worker_t *w = arg;
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 3, "k", 50, 1);
    char errstr[512];
    while (atomic_load(w->go)) {
        rv_err_t err;
        if (w->fetcher) {
            void *data;
            size_t len;
            err = rv_broker_fetch(w->b, "doomed", 0, 0, 4096, &data, &len, NULL, errstr,
                                  sizeof errstr);
            rv_free(data);
        } else {
            err = rv_broker_produce(w->b, "doomed", 0, batch.data, batch.len, 1, NULL, errstr,
                                    sizeof errstr);
        }
        if (!err)
            w->ok++;
        else if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            w->gone++;
        else {
            w->other++;
            w->last_other = err;
        }
    }
    rv__buf_free(&batch);
    return NULL;
}

static void test_delete_under_load(void **state) {
    fixture_t *f = *state;
    for (int round = 0; round < 3; round++) {
        create(f->b, "doomed", 1, NULL, NULL, 0);
        atomic_int go;
        atomic_init(&go, 1);
        worker_t w[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            memset(&w[i], 0, sizeof w[i]);
            w[i].b = f->b;
            w[i].fetcher = i >= 2;
            w[i].go = &go;
            assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
        }
        sleep_ms(30);
        char errstr[512];
        assert_int_equal(
            rv__topics_delete(rv__broker_topics(f->b), "doomed", errstr, sizeof errstr), 0);
        sleep_ms(20);
        atomic_store(&go, 0);
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(w[i].other, 0);
            assert_true(w[i].gone > 0); /* every worker saw the topic vanish */
        }
        assert_true(w[0].ok + w[1].ok > 0);
    }
}

/* ---- housekeeping ---- */

static void test_housekeeping_retention(void **state) {
    fixture_t *f = *state;
    /* Small segments, a short retention, records an hour old: the
     * housekeeping thread must delete them without being asked. */
    const char *n[] = {"segment.bytes", "retention.ms"};
    const char *v[] = {"1024", "60000"};
    create(f->b, "old", 1, n, v, 2);
    create(f->b, "keep", 1, NULL, NULL, 0);
    char errstr[512];
    int64_t ts0 = rv__now_ms() - 3600 * 1000;
    for (int i = 0; i < 20; i++) {
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, 4, "k", 100, ts0 + i * 10);
        assert_int_equal(rv_broker_produce(f->b, "old", 0, batch.data, batch.len, 1, NULL, errstr,
                                           sizeof errstr),
                         0);
        assert_int_equal(rv_broker_produce(f->b, "keep", 0, batch.data, batch.len, 1, NULL, errstr,
                                           sizeof errstr),
                         0);
        rv__buf_free(&batch);
    }
    int64_t start = -1, deadline = rv__mono_ms() + 5000;
    rv__topic_info_t info;
    while (rv__mono_ms() < deadline) {
        assert_int_equal(
            rv__topics_describe(rv__broker_topics(f->b), "old", &info, errstr, sizeof errstr), 0);
        start = info.log_start_offsets[0];
        rv__topic_info_clear(&info);
        if (start == 80)
            break;
        sleep_ms(100);
    }
    assert_int_equal(start, 80);
    void *data;
    size_t len;
    assert_int_equal(
        rv_broker_fetch(f->b, "old", 0, 0, 4096, &data, &len, NULL, errstr, sizeof errstr),
        RV_ERR_OFFSET_OUT_OF_RANGE);
    /* The default retention (7 days) keeps the other topic whole. */
    assert_int_equal(
        rv__topics_describe(rv__broker_topics(f->b), "keep", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.log_start_offsets[0], 0);
    assert_int_equal(info.end_offsets[0], 80);
    rv__topic_info_clear(&info);

    /* The moved log start reaches the checkpoint and survives a restart. */
    rv_broker_close(f->b);
    assert_int_equal(rv_broker_open(&f->b, f->dir, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv__topics_describe(rv__broker_topics(f->b), "old", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.log_start_offsets[0], 80);
    assert_int_equal(info.end_offsets[0], 80);
    rv__topic_info_clear(&info);
}

static int segment_count(rv_broker_t *b, const char *topic) {
    rv__topic_t *tp;
    rv__log_t *log;
    char errstr[512];
    assert_int_equal(
        rv__topics_acquire(rv__broker_topics(b), topic, 0, &tp, &log, errstr, sizeof errstr), 0);
    int n = rv__log_segment_count(log);
    rv__topics_release(rv__broker_topics(b), tp);
    return n;
}

static void test_housekeeping_segment_ms(void **state) {
    fixture_t *f = *state;
    const char *n[] = {"segment.ms"};
    const char *v[] = {"100"};
    create(f->b, "rolling", 1, n, v, 1);
    create(f->b, "steady", 1, NULL, NULL, 0);
    char errstr[512];
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 2, "k", 10, rv__now_ms());
    assert_int_equal(rv_broker_produce(f->b, "rolling", 0, batch.data, batch.len, 1, NULL, errstr,
                                       sizeof errstr),
                     0);
    assert_int_equal(
        rv_broker_produce(f->b, "steady", 0, batch.data, batch.len, 1, NULL, errstr, sizeof errstr),
        0);
    rv__buf_free(&batch);
    /* The non-empty active segment is older than segment.ms soon: the
     * housekeeping thread rolls it with no further append. */
    int64_t deadline = rv__mono_ms() + 3000;
    while (segment_count(f->b, "rolling") < 2 && rv__mono_ms() < deadline)
        sleep_ms(50);
    assert_int_equal(segment_count(f->b, "rolling"), 2);
    assert_int_equal(segment_count(f->b, "steady"), 1);
}

/* Counts the records from the log start and checks every key's latest
 * value is the one produced last. */
static int count_records(rv_broker_t *b, const char *topic, int rounds) {
    char errstr[512];
    rv__topic_info_t info;
    assert_int_equal(rv__topics_describe(rv__broker_topics(b), topic, &info, errstr, sizeof errstr),
                     0);
    int64_t pos = info.log_start_offsets[0], end = info.end_offsets[0];
    rv__topic_info_clear(&info);
    int n = 0;
    int64_t last_ts[4] = {-1, -1, -1, -1};
    while (pos < end) {
        void *data;
        size_t len;
        assert_int_equal(
            rv_broker_fetch(b, topic, 0, pos, 1 << 20, &data, &len, NULL, errstr, sizeof errstr),
            0);
        rv_batch_reader_t *r = rv_batch_reader_new(data, len);
        while (rv_batch_reader_next(r) == 1) {
            int32_t klen;
            const char *k = rv_batch_reader_key(r, &klen);
            int key = k[klen - 1] - '0';
            last_ts[key] = rv_batch_reader_timestamp(r);
            pos = rv_batch_reader_offset(r) + 1;
            n++;
        }
        rv_batch_reader_destroy(r);
        rv_free(data);
    }
    for (int k = 0; k < 4; k++)
        assert_int_equal(last_ts[k], (int64_t)(rounds - 1) * 10 + k);
    return n;
}

static void test_housekeeping_compaction(void **state) {
    fixture_t *f = *state;
    const char *n[] = {"cleanup.policy", "segment.bytes", "min.cleanable.dirty.ratio"};
    const char *v[] = {"compact", "1024", "0.01"};
    create(f->b, "table", 1, n, v, 3);
    char errstr[512];
    const int rounds = 30;
    for (int i = 0; i < rounds; i++) {
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, 4, "key", 60, (int64_t)i * 10); /* keys key0..key3 */
        assert_int_equal(rv_broker_produce(f->b, "table", 0, batch.data, batch.len, 1, NULL, errstr,
                                           sizeof errstr),
                         0);
        rv__buf_free(&batch);
    }
    assert_int_equal(count_records(f->b, "table", rounds), rounds * 4);
    /* The housekeeping thread compacts the inactive segments by itself. */
    int64_t deadline = rv__mono_ms() + 5000;
    int left = rounds * 4;
    while (left == rounds * 4 && rv__mono_ms() < deadline) {
        sleep_ms(100);
        left = count_records(f->b, "table", rounds);
    }
    assert_true(left < rounds * 4);
}

static void test_close_is_prompt(void **state) {
    fixture_t *f = *state;
    create(f->b, "t", 4, NULL, NULL, 0);
    sleep_ms(50);
    int64_t t0 = rv__mono_ms();
    rv_broker_close(f->b);
    f->b = NULL;
    assert_true(rv__mono_ms() - t0 < 1000);
    char errstr[512];
    assert_int_equal(rv_broker_open(&f->b, f->dir, errstr, sizeof errstr), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shared_in_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_process_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_housekeeping_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_housekeeping_segment_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_housekeeping_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_is_prompt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
