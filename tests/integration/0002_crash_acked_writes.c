/* tests/integration/0002_crash_acked_writes.c: no acknowledged write is
 * lost when the process dies.
 *
 * A child process opens a data folder and produces batches with acks=all
 * from several threads; after each acknowledgement it reports the offset
 * and the batch's identity through a pipe. The parent kills it with SIGKILL
 * mid-stream (no clean shutdown: no checkpoints, no final flush), reopens
 * the folder, and checks that every acknowledged batch is there, whole and
 * at the offset it was acknowledged with, and that the log accepts new
 * writes after recovery. Repeated a few times on the same folder so
 * recovery also runs over earlier recovered tails. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/record_batch.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/record.h"

#define THREADS 4
#define ROUNDS 3

struct ack {
    int64_t offset;
    int32_t thread;
    int32_t seq;
};

static int ack_fd;
static pthread_mutex_t ack_lock = PTHREAD_MUTEX_INITIALIZER;
static rv_broker_t *child_broker;

/* Producer thread in the child: batch i of thread t holds 5 records whose
 * values say "t:i:r". */
static void *child_producer(void *arg) {
    int32_t t = (int32_t)(intptr_t)arg;
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int32_t i = 0;; i++) {
        rv_batch_builder_reset(b);
        for (int r = 0; r < 5; r++) {
            char v[64];
            int n = snprintf(v, sizeof v, "%d:%d:%d", t, i, r);
            rv_batch_builder_add(b, "k", 1, v, n, -1);
        }
        const void *data;
        size_t len;
        int64_t base;
        char err[256];
        if (rv_batch_builder_finish(b, &data, &len) ||
            rv_broker_produce(child_broker, "acked", 0, data, len, -1, &base, err, sizeof err)) {
            fprintf(stderr, "child: produce failed: %s\n", err);
            _exit(3);
        }
        struct ack a = {base, t, i};
        pthread_mutex_lock(&ack_lock);
        if (write(ack_fd, &a, sizeof a) != sizeof a)
            _exit(4);
        pthread_mutex_unlock(&ack_lock);
    }
    return NULL;
}

static void child_main(const char *dir, int fd) {
    char err[256];
    ack_fd = fd;
    if (rv_broker_open(&child_broker, dir, err, sizeof err)) {
        fprintf(stderr, "child: open: %s\n", err);
        _exit(2);
    }
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, child_producer, (void *)(intptr_t)t);
    for (;;)
        pause();
}

/* Reads every acknowledged batch back and checks its records. */
static void check_acks(rv_broker_t *broker, const struct ack *acks, size_t n) {
    char err[256];
    for (size_t i = 0; i < n; i++) {
        void *data;
        size_t len;
        int64_t hw;
        assert_int_equal(rv_broker_fetch(broker, "acked", 0, acks[i].offset, 1, &data, &len, &hw,
                                         err, sizeof err),
                         0);
        rv_batch_reader_t *r = rv_batch_reader_new(data, len);
        for (int rec = 0; rec < 5; rec++) {
            assert_int_equal(rv_batch_reader_next(r), 1);
            assert_int_equal(rv_batch_reader_offset(r), acks[i].offset + rec);
            char want[64];
            int wn = snprintf(want, sizeof want, "%d:%d:%d", acks[i].thread, acks[i].seq, rec);
            int32_t vlen;
            const char *v = rv_batch_reader_value(r, &vlen);
            assert_int_equal(vlen, wn);
            assert_memory_equal(v, want, (size_t)wn);
        }
        rv_batch_reader_destroy(r);
        rv_free(data);
    }
}

static void test_killed_producer_loses_no_acked_write(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char err[512], bootstrap[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", dir);
    {
        rv_conf_t *conf = rv_conf_new();
        assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err), 0);
        rv_admin_t *admin = rv_admin_new(conf, err, sizeof err);
        assert_non_null(admin);
        /* Small segments so the kill often lands near a roll. */
        const char *names[] = {"segment.bytes"}, *values[] = {"65536"};
        assert_int_equal(
            rv_admin_create_topic(admin, "acked", 1, 1, names, values, 1, err, sizeof err), 0);
        rv_admin_destroy(admin);
    }

    size_t cap = 1 << 16, n = 0;
    struct ack *acks = malloc(cap * sizeof *acks);
    for (int round = 0; round < ROUNDS; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child_main(dir, pfd[1]);
        }
        close(pfd[1]);
        /* Let it run for a while, reading acks, then kill it mid-stream. */
        int64_t until = rv__mono_ms() + 300 + 150 * round;
        struct ack a;
        while (rv__mono_ms() < until && read(pfd[0], &a, sizeof a) == sizeof a) {
            if (n == cap)
                acks = realloc(acks, (cap *= 2) * sizeof *acks);
            acks[n++] = a;
        }
        kill(pid, SIGKILL);
        /* Acks already in the pipe were given before the kill: keep them. */
        while (read(pfd[0], &a, sizeof a) == sizeof a) {
            if (n == cap)
                acks = realloc(acks, (cap *= 2) * sizeof *acks);
            acks[n++] = a;
        }
        close(pfd[0]);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));

        rv_broker_t *broker;
        assert_int_equal(rv_broker_open(&broker, dir, err, sizeof err), 0);
        check_acks(broker, acks, n);
        /* The recovered log takes new writes after its end. */
        rv_batch_builder_t *b = rv_batch_builder_new();
        rv_batch_builder_add(b, "after", 5, "crash", 5, -1);
        const void *data;
        size_t len;
        int64_t base;
        assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
        assert_int_equal(
            rv_broker_produce(broker, "acked", 0, data, len, -1, &base, err, sizeof err), 0);
        for (size_t i = 0; i < n; i++)
            assert_true(base > acks[i].offset);
        rv_batch_builder_destroy(b);
        rv_broker_close(broker);
    }
    assert_true(n > 0);
    free(acks);
    rvt_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_producer_loses_no_acked_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
