/* tests/unit/test_producer_state.c: broker/producer_state.c: the
 * per-partition sequence checks (duplicates answered with the original
 * offsets, gaps and stale epochs rejected, wrap-around), the producer id
 * counter, the state surviving a broker restart (rebuilt from the log,
 * whatever the records' timestamps), a topic made again not inheriting
 * the producers of the deleted one, compaction keeping what the state is
 * rebuilt from, and vectored appends of several batches, through
 * rv_broker_produce / rv__broker_appendv on a real data folder. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/producer_state.h"
#include "broker/topics.h"
#include "common/clock.h"
#include "common/record_batch.h"
#include "rivulet/broker.h"

typedef struct fixture_s {
    char *dir;
    rv_broker_t *b;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = rvt_tmpdir();
    char errstr[512];
    if (rv_broker_open(&f->b, f->dir, errstr, sizeof errstr))
        return -1;
    if (rv__topics_create(rv__broker_topics(f->b), "t", 2, 1, NULL, NULL, 0, errstr, sizeof errstr))
        return -1;
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

/* One batch of n records from producer pid/epoch starting at seq, with
 * record timestamps ts, ts + 1, ... */
static void make_at(rv__buf_t *out, int n, int64_t pid, int16_t epoch, int32_t seq, int64_t ts) {
    out->len = 0;
    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, out, 0, 0, INT64_MIN, pid, epoch, seq, -1), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(rv__batch_builder_add(&bb, i, ts + i, "k", 1, "v", 1, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
}

static void make(rv__buf_t *out, int n, int64_t pid, int16_t epoch, int32_t seq) {
    make_at(out, n, pid, epoch, seq, 1000);
}

static rv_err_t produce(fixture_t *f, rv__buf_t *batch, int64_t *off, char *errstr) {
    return rv_broker_produce(f->b, "t", 0, batch->data, batch->len, -1, off, errstr, 512);
}

static int64_t end_offset(fixture_t *f) {
    int64_t off = -1;
    assert_int_equal(rv_broker_offset_for_time(f->b, "t", 0, -1, &off, NULL, 0), 0);
    return off;
}

/* Closes the broker and opens it again on the same folder. */
static void restart(fixture_t *f) {
    char errstr[512];
    rv_broker_close(f->b);
    assert_int_equal(rv_broker_open(&f->b, f->dir, errstr, sizeof errstr), 0);
}

static void test_pure_state(void **state) {
    (void)state;
    rv__pstate_t s;
    rv__pstate_init(&s);
    const rv__pstate_batch_t *dup;
    char errstr[256];
    /* Unknown producer: any first sequence. */
    assert_int_equal(rv__pstate_check(&s, 7, 0, 42, 44, &dup, errstr, sizeof errstr), 0);
    rv__pstate_batch_t b = {0, 2, 100, 102, 0};
    assert_int_equal(rv__pstate_record(&s, 7, 0, &b, 0), 0);
    assert_int_equal(rv__pstate_check(&s, 7, 0, 0, 2, &dup, errstr, sizeof errstr),
                     RV_ERR_DUPLICATE_SEQUENCE_NUMBER);
    assert_int_equal(dup->first_offset, 100);
    assert_int_equal(rv__pstate_check(&s, 7, 0, 3, 3, &dup, errstr, sizeof errstr), 0);
    assert_int_equal(rv__pstate_check(&s, 7, 0, 4, 4, &dup, errstr, sizeof errstr),
                     RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    rvt_assert_contains(errstr, "Out of order sequence number");
    /* Only the last 5 batches are remembered. */
    for (int i = 1; i <= 5; i++) {
        rv__pstate_batch_t n = {3 * i, 3 * i + 2, 100 + 3 * i, 102 + 3 * i, 0};
        assert_int_equal(rv__pstate_record(&s, 7, 0, &n, 0), 0);
    }
    assert_int_equal(rv__pstate_check(&s, 7, 0, 0, 2, &dup, errstr, sizeof errstr),
                     RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(rv__pstate_check(&s, 7, 0, 3, 5, &dup, errstr, sizeof errstr),
                     RV_ERR_DUPLICATE_SEQUENCE_NUMBER);
    /* Epochs: stale rejected, new must start at 0. */
    assert_int_equal(rv__pstate_check(&s, 7, -1, 18, 18, &dup, errstr, sizeof errstr),
                     RV_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(rv__pstate_check(&s, 7, 1, 5, 5, &dup, errstr, sizeof errstr),
                     RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(rv__pstate_check(&s, 7, 1, 0, 5, &dup, errstr, sizeof errstr), 0);
    /* Sequences wrap from INT32_MAX to 0. */
    rv__pstate_batch_t w = {INT32_MAX - 1, INT32_MAX, 500, 501, 0};
    assert_int_equal(rv__pstate_record(&s, 9, 0, &w, 0), 0);
    assert_int_equal(rv__pstate_check(&s, 9, 0, 0, 3, &dup, errstr, sizeof errstr), 0);
    /* Idle producers expire. */
    rv__pstate_batch_t x = {0, 0, 600, 600, 0};
    assert_int_equal(rv__pstate_record(&s, 11, 0, &x, (int64_t)RV__PSTATE_EXPIRATION_MS + 10), 0);
    assert_int_equal(s.cnt, 1);
    rv__pstate_clear(&s);
}

/* Many producers on one partition: each is found by its id (the index
 * holds however many wrote in the last day), and the sweep every
 * RV__PSTATE_EXPIRATION_CHECK_MS drops the idle ones and keeps finding
 * the rest, whose places in the array it moved. */
static void test_many_producers(void **state) {
    (void)state;
    enum { N = 50000 };
    rv__pstate_t s;
    rv__pstate_init(&s);
    const rv__pstate_batch_t *dup;
    char errstr[256];
    int64_t day = RV__PSTATE_EXPIRATION_MS;
    for (int64_t pid = 0; pid < N; pid++) {
        /* Odd ids write a day later than even ones. */
        rv__pstate_batch_t b = {0, 0, pid, pid, 0};
        assert_int_equal(rv__pstate_record(&s, pid * 4096, 0, &b, pid % 2 ? day : 0), 0);
    }
    assert_int_equal(s.cnt, N);
    for (int64_t pid = 0; pid < N; pid++) {
        assert_int_equal(rv__pstate_check(&s, pid * 4096, 0, 0, 0, &dup, errstr, sizeof errstr),
                         RV_ERR_DUPLICATE_SEQUENCE_NUMBER);
        assert_int_equal(dup->first_offset, pid);
    }
    assert_int_equal(rv__pstate_check(&s, 1, 0, 0, 0, &dup, errstr, sizeof errstr), 0);
    /* More than a day after the even ids wrote, but within the check
     * interval of the last sweep: nothing is dropped yet. */
    rv__pstate_batch_t x = {0, 0, -1, -1, 0};
    assert_int_equal(rv__pstate_record(&s, -5, 0, &x, day + 1), 0);
    assert_int_equal(s.cnt, N + 1);
    /* The next sweep drops them. */
    assert_int_equal(rv__pstate_record(&s, -5, 0, &x, day + RV__PSTATE_EXPIRATION_CHECK_MS), 0);
    assert_int_equal(s.cnt, N / 2 + 1);
    for (int64_t pid = 0; pid < N; pid++) {
        rv_err_t want = pid % 2 ? RV_ERR_DUPLICATE_SEQUENCE_NUMBER : RV_ERR_NO_ERROR;
        assert_int_equal(rv__pstate_check(&s, pid * 4096, 0, 0, 0, &dup, errstr, sizeof errstr),
                         want);
        if (want)
            assert_int_equal(dup->first_offset, pid);
    }
    rv__pstate_clear(&s);
}

static void test_duplicate_keeps_original_offsets(void **state) {
    fixture_t *f = *state;
    rv__buf_t b = RV__BUF_INIT, other = RV__BUF_INIT;
    char errstr[512];
    int64_t off1 = -1, off2 = -1, off3 = -1;
    make(&other, 2, -1, -1, -1); /* a non-idempotent writer in between */
    assert_int_equal(rv_broker_produce(f->b, "t", 0, other.data, other.len, 1, NULL, errstr, 512),
                     0);
    make(&b, 3, 1000, 0, 0);
    assert_int_equal(produce(f, &b, &off1, errstr), 0);
    assert_int_equal(off1, 2);
    make(&b, 3, 1000, 0, 0); /* the retry after a lost answer */
    assert_int_equal(produce(f, &b, &off2, errstr), 0);
    assert_int_equal(off2, off1);
    assert_int_equal(end_offset(f), 5);
    make(&b, 1, 1000, 0, 3);
    assert_int_equal(produce(f, &b, &off3, errstr), 0);
    assert_int_equal(off3, 5);
    /* A gap is rejected and nothing is written. */
    make(&b, 1, 1000, 0, 10);
    assert_int_equal(produce(f, &b, &off3, errstr), RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(end_offset(f), 6);
    /* A stale epoch is rejected once a newer one was seen. */
    make(&b, 1, 1000, 1, 0);
    assert_int_equal(produce(f, &b, &off3, errstr), 0);
    make(&b, 1, 1000, 0, 4);
    assert_int_equal(produce(f, &b, &off3, errstr), RV_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(end_offset(f), 7);
    /* Two batches in one idempotent request are refused. */
    make(&b, 1, 1000, 1, 1);
    rv__buf_append(&b, other.data, other.len);
    assert_int_equal(produce(f, &b, &off3, errstr), RV_ERR_INVALID_RECORD);
    rv__buf_free(&b);
    rv__buf_free(&other);
}

static void test_state_survives_restart(void **state) {
    fixture_t *f = *state;
    rv__buf_t b = RV__BUF_INIT;
    char errstr[512];
    int64_t off = -1;
    for (int i = 0; i < 4; i++) {
        make(&b, 2, 77, 0, 2 * i);
        assert_int_equal(produce(f, &b, &off, errstr), 0);
        assert_int_equal(off, 2 * i);
    }
    restart(f);
    /* The last batch again: a duplicate, answered with its offsets. */
    make(&b, 2, 77, 0, 6);
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    assert_int_equal(off, 6);
    assert_int_equal(end_offset(f), 8);
    /* The sequence goes on where it stopped; a gap is still a gap. */
    make(&b, 1, 77, 0, 9);
    assert_int_equal(produce(f, &b, &off, errstr), RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    make(&b, 1, 77, 0, 8);
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    assert_int_equal(off, 8);
    rv__buf_free(&b);
}

/* rv__broker_appendv: one producer's consecutive batches for a partition
 * in one write. Each batch gets its offsets and is remembered on its own
 * (a retry of any of them is a duplicate); a run whose first batch is a
 * retry, a run with a gap, a run of two producers, a run whose first
 * buffer is empty or torn, and a buffer holding two batches are refused
 * with nothing written. */
static void test_vectored_append(void **state) {
    fixture_t *f = *state;
    rv_broker_t *br = f->b;
    rv__buf_t b[4] = {RV__BUF_INIT, RV__BUF_INIT, RV__BUF_INIT, RV__BUF_INIT};
    struct iovec iov[4];
    char errstr[512] = "";
    rv__append_info_t info;
    int seq = 0;
    for (int i = 0; i < 3; i++) {
        make(&b[i], 2 + i, 500, 0, seq);
        seq += 2 + i;
        iov[i] = (struct iovec){b[i].data, b[i].len};
    }
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 3, -1, &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.base_offset, 0);
    assert_int_equal(info.last_offset, 8);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_parse_header(&h, b[1].data, b[1].len), 0);
    assert_int_equal(h.base_offset, 2);
    /* The middle batch again: a duplicate with its own offsets. */
    int64_t off = -1;
    make(&b[3], 3, 500, 0, 2);
    assert_int_equal(produce(f, &b[3], &off, errstr), 0);
    assert_int_equal(off, 2);
    assert_int_equal(end_offset(f), 9);
    /* The whole run again: refused as a duplicate, to go one at a time. */
    for (int i = 0; i < 3; i++) {
        make(&b[i], 2 + i, 500, 0, i == 0 ? 0 : i == 1 ? 2 : 5);
        iov[i] = (struct iovec){b[i].data, b[i].len};
    }
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 3, 1, &info, errstr, sizeof errstr),
                     RV_ERR_DUPLICATE_SEQUENCE_NUMBER);
    rvt_assert_contains(errstr, "one at a time");
    /* A gap inside the run. */
    make(&b[0], 1, 500, 0, 9);
    make(&b[1], 1, 500, 0, 11);
    for (int i = 0; i < 2; i++)
        iov[i] = (struct iovec){b[i].data, b[i].len};
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 2, 1, &info, errstr, sizeof errstr),
                     RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* Two producers in one run. */
    make(&b[1], 1, 501, 0, 0);
    iov[1] = (struct iovec){b[1].data, b[1].len};
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 2, 1, &info, errstr, sizeof errstr),
                     RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* An empty or torn first buffer does not let the run past the checks. */
    iov[0] = (struct iovec){b[0].data, 0};
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 2, 1, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    iov[0] = (struct iovec){b[0].data, 20};
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 2, 1, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    iov[0] = (struct iovec){b[0].data, b[0].len};
    /* A buffer holding two batches. */
    make(&b[1], 1, 500, 0, 10);
    make(&b[2], 1, 500, 0, 11);
    rv__buf_append(&b[1], b[2].data, b[2].len);
    iov[1] = (struct iovec){b[1].data, b[1].len};
    assert_int_equal(rv__broker_appendv(br, "t", 0, iov, 2, 1, &info, errstr, sizeof errstr),
                     RV_ERR_CORRUPT_MESSAGE);
    assert_int_equal(end_offset(f), 9);
    /* The sequence goes on after the run, also after a restart (rebuilt
     * from the log, batch by batch). */
    make(&b[0], 1, 500, 0, 9);
    assert_int_equal(produce(f, &b[0], &off, errstr), 0);
    assert_int_equal(off, 9);
    restart(f);
    make(&b[0], 3, 500, 0, 2);
    assert_int_equal(produce(f, &b[0], &off, errstr), 0);
    assert_int_equal(off, 2);
    make(&b[0], 1, 500, 0, 10);
    assert_int_equal(produce(f, &b[0], &off, errstr), 0);
    assert_int_equal(off, 10);
    /* Batches without a producer id go as one append too. */
    make(&b[0], 2, -1, -1, -1);
    make(&b[1], 2, -1, -1, -1);
    for (int i = 0; i < 2; i++)
        iov[i] = (struct iovec){b[i].data, b[i].len};
    assert_int_equal(rv__broker_appendv(f->b, "t", 0, iov, 2, 1, &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.base_offset, 11);
    assert_int_equal(end_offset(f), 15);
    for (int i = 0; i < 4; i++)
        rv__buf_free(&b[i]);
}

/* After a restart the state is rebuilt from the log, and every producer
 * found there counts as used at that moment. A batch's timestamps say
 * nothing about when it was appended: a producer that forwards event
 * times (as Kafka Streams does) writes records that may be days old, and
 * it must not be expired by the first append of another producer after
 * the restart, or its retry is written a second time. */
static void test_rebuild_keeps_producers_with_old_timestamps(void **state) {
    fixture_t *f = *state;
    rv__buf_t b = RV__BUF_INIT;
    char errstr[512];
    int64_t off = -1;
    int64_t now = rv__now_ms(), old = now - 3 * (int64_t)RV__PSTATE_EXPIRATION_MS;
    make_at(&b, 1, 1, 0, 0, now);
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    make_at(&b, 1, 2, 0, 0, old); /* written; its answer is lost */
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    assert_int_equal(off, 1);
    restart(f);
    /* The first append rebuilds the state and expires idle producers. */
    make_at(&b, 1, 1, 0, 1, now);
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    assert_int_equal(off, 2);
    /* Producer 2, which wrote seconds ago, retries: still a duplicate. */
    make_at(&b, 1, 2, 0, 0, old);
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    assert_int_equal(off, 1);
    assert_int_equal(end_offset(f), 3);
    rv__buf_free(&b);
}

/* A topic made again under the name of a deleted one does not inherit
 * its producers. The new topic starts with an empty log, which is often
 * allocated where the old one was; a batch whose sequence the old topic
 * had seen must be written to it, not answered as a duplicate of a record
 * that went with the old topic (acknowledged, and lost). */
static void test_recreated_topic_forgets_producers(void **state) {
    fixture_t *f = *state;
    rv__topics_t *topics = rv__broker_topics(f->b);
    rv__buf_t b = RV__BUF_INIT;
    char errstr[512];
    int64_t off = -1;
    assert_int_equal(rv__topics_create(topics, "r", 1, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    make(&b, 1, 77, 0, 0);
    assert_int_equal(rv_broker_produce(f->b, "r", 0, b.data, b.len, -1, &off, errstr, 512), 0);
    assert_int_equal(rv__topics_delete(topics, "r", errstr, sizeof errstr), 0);
    assert_int_equal(rv__topics_create(topics, "r", 1, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    make(&b, 1, 77, 0, 0);
    assert_int_equal(rv_broker_produce(f->b, "r", 0, b.data, b.len, -1, &off, errstr, 512), 0);
    assert_int_equal(off, 0);
    assert_int_equal(rv_broker_offset_for_time(f->b, "r", 0, -1, &off, NULL, 0), 0);
    assert_int_equal(off, 1);
    rv__buf_free(&b);
}

/* Appends one batch of n records (kv: key, value, key, value, ...) to
 * `topic`-0 as producer pid (-1: not idempotent) from sequence seq, and
 * returns its base offset; `copy`, when given, gets the batch's bytes (a
 * retry to send later). */
static int64_t append_kv(fixture_t *f, const char *topic, int64_t pid, int32_t seq,
                         const char *const *kv, int n, rv__buf_t *copy) {
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, 0, INT64_MIN, pid, pid < 0 ? -1 : 0,
                                             pid < 0 ? -1 : seq, -1),
                     0);
    for (int i = 0; i < n; i++)
        assert_int_equal(rv__batch_builder_add(&bb, i, 1000, kv[2 * i], strlen(kv[2 * i]),
                                               kv[2 * i + 1], strlen(kv[2 * i + 1]), 0, NULL, 0),
                         0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    if (copy)
        assert_int_equal(rv__buf_append(copy, b.data, b.len), 0);
    char errstr[512] = "";
    int64_t off = -1;
    assert_int_equal(rv_broker_produce(f->b, topic, 0, b.data, b.len, -1, &off, errstr, 512), 0);
    rv__buf_free(&b);
    return off;
}

/* Rolls the active segment of `topic`-0 and compacts the rest now. */
static void roll_and_clean(fixture_t *f, const char *topic) {
    rv__topics_t *topics = rv__broker_topics(f->b);
    rv__topic_t *tp;
    rv__log_t *log;
    char errstr[512];
    assert_int_equal(rv__topics_acquire(topics, topic, 0, &tp, &log, errstr, sizeof errstr), 0);
    assert_int_equal(rv__log_roll(log), 0);
    assert_int_equal(rv__log_clean(log, rv__now_ms(), 1, NULL), 0);
    rv__topics_release(topics, tp);
}

/* Compaction keeps what the producer state is rebuilt from. A batch
 * whose last record another writer superseded keeps its sequence range
 * (lastOffsetDelta), so after a restart the producer's next batch is
 * still in sequence. */
/* A deleted topic's producer state goes with it: the broker's
 * housekeeping prunes it (every second), so topics made and deleted do
 * not pile up state until the broker closes. */
static void test_deleted_topic_state_pruned(void **state) {
    fixture_t *f = *state;
    rv__topics_t *topics = rv__broker_topics(f->b);
    rv__pstates_t *ps = rv__broker_pstates(f->b);
    rv__buf_t b = RV__BUF_INIT;
    char errstr[512];
    int64_t off = -1;
    make(&b, 1, 5, 0, 0);
    assert_int_equal(produce(f, &b, &off, errstr), 0); /* t-0 stays */
    assert_int_equal(rv__topics_create(topics, "d", 2, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    for (int32_t p = 0; p < 2; p++)
        assert_int_equal(rv_broker_produce(f->b, "d", p, b.data, b.len, -1, &off, errstr, 512), 0);
    assert_int_equal(rv__pstates_partition_count(ps), 3);
    assert_int_equal(rv__topics_delete(topics, "d", errstr, sizeof errstr), 0);
    int64_t until = rv__mono_ms() + 10000;
    while (rv__pstates_partition_count(ps) > 1 && rv__mono_ms() < until) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
    }
    assert_int_equal(rv__pstates_partition_count(ps), 1);
    /* The live topic's producers are still known: a retry is a duplicate. */
    assert_int_equal(produce(f, &b, &off, errstr), 0);
    assert_int_equal(off, 0);
    assert_int_equal(end_offset(f), 1);
    rv__buf_free(&b);
}

/* Prunes again and again, saying every partition is gone. */
static bool never_live(void *opaque, const char *topic, int32_t partition, uint64_t gen) {
    (void)opaque, (void)topic, (void)partition, (void)gen;
    return false;
}

typedef struct pruner_s {
    rv__pstates_t *ps;
    int stop;
} pruner_t;

static void *prune_loop(void *arg) {
    pruner_t *pr = arg;
    while (!__atomic_load_n(&pr->stop, __ATOMIC_SEQ_CST))
        rv__pstates_prune(pr->ps, never_live, NULL);
    return NULL;
}

/* Prunes racing with appends never free an entry an append uses, and an
 * entry dropped under a live producer is rebuilt from the log: its
 * sequence goes on, and a retry is still answered as a duplicate. */
static void test_prune_races_appends(void **state) {
    fixture_t *f = *state;
    pruner_t pr = {rv__broker_pstates(f->b), 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, prune_loop, &pr), 0);
    rv__buf_t b = RV__BUF_INIT;
    char errstr[512];
    int64_t off = -1;
    for (int i = 0; i < 300; i++) {
        make(&b, 1, 9, 0, i);
        if (produce(f, &b, &off, errstr))
            fail_msg("append %d: %s", i, errstr);
        assert_int_equal(off, i);
    }
    __atomic_store_n(&pr.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    assert_int_equal(produce(f, &b, &off, errstr), 0); /* the last one again */
    assert_int_equal(off, 299);
    assert_int_equal(end_offset(f), 300);
    rv__buf_free(&b);
}

static void test_compaction_keeps_last_sequence(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    const char *n[] = {"cleanup.policy"}, *v[] = {"compact"};
    assert_int_equal(
        rv__topics_create(rv__broker_topics(f->b), "c", 1, 1, n, v, 1, errstr, sizeof errstr), 0);
    /* Producer 42 writes a and b (sequences 0..1), another writer b. */
    const char *ab[] = {"a", "a0", "b", "b0"}, *b1[] = {"b", "b1"}, *c0[] = {"c", "c0"};
    append_kv(f, "c", 42, 0, ab, 2, NULL);
    append_kv(f, "c", -1, -1, b1, 1, NULL);
    roll_and_clean(f, "c"); /* the first batch keeps only a */
    restart(f);
    /* Producer 42 goes on with sequence 2. */
    assert_int_equal(append_kv(f, "c", 42, 2, c0, 1, NULL), 3);
}

/* Compaction does not make a restarted broker forget a producer: when
 * every record of the producer's last batch was superseded, the batch
 * stays as an empty one with its sequences, and the producer's retry of
 * it after the restart is still a duplicate. Written again, its stale
 * value would become the key's latest. */
static void test_compaction_keeps_emptied_last_batch(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    int64_t off = -1;
    const char *n[] = {"cleanup.policy"}, *v[] = {"compact"};
    assert_int_equal(
        rv__topics_create(rv__broker_topics(f->b), "c", 1, 1, n, v, 1, errstr, sizeof errstr), 0);
    /* Producer 43 writes x=old (its answer is lost), another writer x=new. */
    const char *old[] = {"x", "old"}, *cur[] = {"x", "new"};
    rv__buf_t retry = RV__BUF_INIT;
    assert_int_equal(append_kv(f, "c", 43, 0, old, 1, &retry), 0);
    append_kv(f, "c", -1, -1, cur, 1, NULL);
    roll_and_clean(f, "c"); /* x=old goes */
    restart(f);
    /* The retry: answered with the original offset, nothing written. */
    assert_int_equal(rv_broker_produce(f->b, "c", 0, retry.data, retry.len, -1, &off, errstr, 512),
                     0);
    assert_int_equal(off, 0);
    assert_int_equal(rv_broker_offset_for_time(f->b, "c", 0, -1, &off, NULL, 0), 0);
    assert_int_equal(off, 2);
    rv__buf_free(&retry);
}

static void test_producer_ids_unique_across_restart(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    int64_t a, b, c;
    int16_t e;
    assert_int_equal(rv__broker_init_producer_id(f->b, &a, &e, errstr, sizeof errstr), 0);
    assert_int_equal(e, 0);
    assert_int_equal(rv__broker_init_producer_id(f->b, &b, &e, errstr, sizeof errstr), 0);
    assert_true(b > a);
    restart(f);
    assert_int_equal(rv__broker_init_producer_id(f->b, &c, &e, errstr, sizeof errstr), 0);
    assert_true(c > b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_state),
        cmocka_unit_test(test_many_producers),
        cmocka_unit_test_setup_teardown(test_duplicate_keeps_original_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vectored_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_producers_with_old_timestamps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recreated_topic_forgets_producers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_topic_state_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_races_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_keeps_last_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_keeps_emptied_last_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_producer_ids_unique_across_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
