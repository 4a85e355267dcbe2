/* tests/unit/test_consumer.c: the consumer (client/consumer.c) and its
 * records (client/records.c) on a real embedded broker in a temporary
 * folder: topic-partition lists, manual assignment, per-partition order,
 * headers, auto.offset.reset, seek/position/committed/pause/resume,
 * commits (sync, async, auto on close), control and compressed batches,
 * the empty batches compaction leaves, wakeup from another thread, a
 * one-member subscription, and the pool that hands a released fetch
 * buffer to the next fetch. Test data is
 * produced with rv_broker_produce and the batch builder. The consumers
 * reach the folder through rvt_bootstrap(): the embedded backend, or with
 * RVT_BACKEND=kafka the kafka backend over a local Kafka-protocol server;
 * topics are created through the embedded admin client either way. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "client/consumer_records.h"
#include "common/clock.h"
#include "broker/log/log.h"
#include "broker/topics.h"
#include "client/consumer_internal.h"
#include "common/record_batch.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"

/* Timestamps of the test records: recent ones, since the broker's
 * housekeeping applies retention.ms (7 days) to record timestamps as
 * Kafka does. */
static int64_t g_ts0;

typedef rvt_client_fx_t fx_t;

static int setup(void **state) {
    g_ts0 = rv__now_ms();
    return rvt_client_fx_setup(state);
}

static void create_topic(fx_t *fx, const char *topic, int32_t partitions) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(
        rv_admin_create_topic(a, topic, partitions, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
}

/* Produces n records "<topic>-<partition>-<i>" (i from first) in batches
 * of `per_batch`; record i has key "k<i>", a header "i" = "<i>" and
 * timestamp g_ts0 + i. */
static void produce(fx_t *fx, const char *topic, int32_t partition, int first, int n,
                    int per_batch) {
    char errstr[512], v[64], k[32];
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = first; i < first + n;) {
        rv_batch_builder_reset(b);
        for (int j = 0; j < per_batch && i < first + n; j++, i++) {
            int vl = snprintf(v, sizeof v, "%s-%d-%d", topic, partition, i);
            int kl = snprintf(k, sizeof k, "k%d", i);
            assert_int_equal(rv_batch_builder_add(b, k, kl, v, vl, g_ts0 + i), 0);
            assert_int_equal(rv_batch_builder_add_header(b, "i", k + 1, kl - 1), 0);
        }
        const void *data;
        size_t len;
        assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
        assert_int_equal(rv_broker_produce(fx->broker, topic, partition, data, len, 1, NULL, errstr,
                                           sizeof errstr),
                         0);
    }
    rv_batch_builder_destroy(b);
}

/* A consumer on fx's folder with extra "name", "value" pairs (NULL-ended). */
static rv_consumer_t *consumer(fx_t *fx, ...) {
    char errstr[512];
    va_list ap;
    va_start(ap, fx);
    rv_conf_t *conf = rvt_conf_va(fx->bs, ap);
    va_end(ap);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        fail_msg("consumer: %s", errstr);
    return c;
}

static void assign1(rv_consumer_t *c, const char *topic, int32_t partition, int64_t offset) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, partition), offset);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
}

/* Polls until `want` records arrived or 10 s passed; checks each record's
 * value against its partition and offset (value index = offset + base). */
static int poll_n(rv_consumer_t *c, int want, int64_t *next_offset, int32_t nparts) {
    int got = 0;
    int64_t until = rv__mono_ms() + 10000;
    while (got < want && rv__mono_ms() < until) {
        rv_records_t *rs;
        rv_err_t err = rv_consumer_poll(c, 50, &rs);
        if (err)
            fail_msg("poll: %s: %s", rv_err_name(err), rv_consumer_last_error(c));
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t p = rv_record_partition(r);
            assert_true(p >= 0 && p < nparts);
            assert_int_equal(rv_record_offset(r), next_offset[p]); /* per-partition order */
            char want_v[64];
            int wl = snprintf(want_v, sizeof want_v, "%s-%d-%lld", rv_record_topic(r), p,
                              (long long)rv_record_offset(r));
            int32_t vl;
            const void *v = rv_record_value(r, &vl);
            assert_int_equal(vl, wl);
            assert_memory_equal(v, want_v, (size_t)wl);
            next_offset[p]++;
            got++;
        }
        rv_records_destroy(rs);
    }
    return got;
}

static void test_list(void **state) {
    (void)state;
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(0);
    assert_non_null(rv_topic_partition_list_add(l, "b", 1));
    rv_topic_partition_t *tp = rv_topic_partition_list_add(l, "a", 2);
    rv_topic_partition_set_offset(tp, 42);
    assert_int_equal(rv_topic_partition_set_metadata(tp, "meta"), 0);
    assert_non_null(rv_topic_partition_list_add(l, "a", 0));
    assert_int_equal(rv_topic_partition_list_count(l), 3);
    assert_null(rv_topic_partition_list_find(l, "a", 1));
    tp = rv_topic_partition_list_find(l, "a", 2);
    assert_int_equal(rv_topic_partition_offset(tp), 42);
    assert_string_equal(rv_topic_partition_metadata(tp), "meta");
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_find(l, "b", 1)),
                     RV_OFFSET_INVALID);
    rv_topic_partition_list_t *c = rv_topic_partition_list_copy(l);
    rv_topic_partition_list_sort(c);
    assert_string_equal(rv_topic_partition_topic(rv_topic_partition_list_get(c, 0)), "a");
    assert_int_equal(rv_topic_partition_partition(rv_topic_partition_list_get(c, 0)), 0);
    assert_int_equal(rv_topic_partition_partition(rv_topic_partition_list_get(c, 1)), 2);
    assert_string_equal(rv_topic_partition_metadata(rv_topic_partition_list_get(c, 1)), "meta");
    assert_string_equal(rv_topic_partition_topic(rv_topic_partition_list_get(c, 2)), "b");
    assert_null(rv_topic_partition_list_get(c, 3));
    rv_topic_partition_list_destroy(l);
    rv_topic_partition_list_destroy(c);
    rv_topic_partition_list_destroy(NULL);
}

static void test_bad_config(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_null(rv_consumer_new(conf, errstr, sizeof errstr));
    rvt_assert_contains(errstr, "bootstrap.servers");
    /* A host:port list picks the kafka backend; librdkafka refuses what it
     * cannot accept, and the conf stays the caller's. */
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", "127.0.0.1:9", errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "heartbeat.interval.ms", "50000", errstr, sizeof errstr), 0);
    assert_null(rv_consumer_new(conf, errstr, sizeof errstr));
    rvt_assert_contains(errstr, "heartbeat.interval.ms");
    rv_conf_destroy(conf);
    conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", "smallest", errstr, sizeof errstr),
                     RV_CONF_INVALID);
    assert_int_equal(rv_conf_set(conf, "partition.assignment.strategy",
                                 "org.apache.kafka.clients.consumer.RoundRobinAssignor, range",
                                 errstr, sizeof errstr),
                     RV_CONF_OK);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr); /* takes conf */
    assert_non_null(c);
    /* subscribe needs group.id */
    const char *t = "t";
    assert_int_equal(rv_consumer_subscribe(c, &t, 1, NULL), RV_ERR__INVALID_ARG);
    rvt_assert_contains(rv_consumer_last_error(c), "group.id");
    rv_consumer_destroy(c);
    rv_consumer_destroy(NULL);
}

static void test_assign_order_and_headers(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "t", 3);
    for (int p = 0; p < 3; p++)
        produce(fx, "t", p, 0, 700, 64);
    rv_consumer_t *c = consumer(fx, "max.poll.records", "100", NULL);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "t", p), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);

    /* One poll: at most max.poll.records, headers decoded. */
    rv_records_t *rs;
    assert_int_equal(rv_consumer_poll(c, 1000, &rs), 0);
    assert_int_equal(rv_records_count(rs), 100);
    const rv_record_t *r = rv_records_get(rs, 7);
    int32_t kl;
    const char *k = rv_record_key(r, &kl);
    char want[32];
    snprintf(want, sizeof want, "k%lld", (long long)rv_record_offset(r));
    assert_int_equal(kl, (int32_t)strlen(want));
    assert_memory_equal(k, want, (size_t)kl);
    assert_int_equal(rv_record_timestamp(r), g_ts0 + rv_record_offset(r));
    assert_int_equal(rv_record_timestamp_type(r), RV_TIMESTAMP_CREATE_TIME);
    assert_int_equal(rv_record_header_count(r), 1);
    const char *hk;
    const void *hv;
    int32_t hvl;
    assert_int_equal(rv_record_header(r, 0, &hk, &hv, &hvl), 0);
    assert_string_equal(hk, "i");
    assert_memory_equal(hv, want + 1, (size_t)hvl);
    assert_int_equal(rv_record_header_last(r, "i", &hv, &hvl), 0);
    assert_int_equal(rv_record_header_last(r, "nope", &hv, &hvl), RV_ERR__NOENT);
    assert_int_equal(rv_record_header(r, 1, &hk, &hv, &hvl), RV_ERR__NOENT);
    assert_null(rv_records_get(rs, 100));
    int64_t next[3] = {0, 0, 0};
    for (size_t i = 0; i < rv_records_count(rs); i++) {
        const rv_record_t *x = rv_records_get(rs, i);
        assert_int_equal(rv_record_offset(x), next[rv_record_partition(x)]++);
    }
    /* Records stay valid after the consumer is gone. */
    rv_records_t *keep = rs;
    assert_int_equal(poll_n(c, 2000, next, 3), 2000);
    assert_int_equal(next[0] + next[1] + next[2], 2100);
    for (int p = 0; p < 3; p++)
        assert_int_equal(next[p], 700);
    rv_consumer_destroy(c);
    assert_string_equal(rv_record_topic(rv_records_get(keep, 99)), "t");
    rv_records_destroy(keep);
}

static void test_offset_reset(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "r", 1);
    produce(fx, "r", 0, 0, 10, 10);
    int64_t next[1];

    /* latest (the default): only records produced later */
    rv_consumer_t *c = consumer(fx, "group.id", "g-latest", NULL);
    assign1(c, "r", 0, RV_OFFSET_INVALID);
    rv_records_t *rs;
    assert_int_equal(rv_consumer_poll(c, 20, &rs), 0);
    assert_int_equal(rv_records_count(rs), 0);
    rv_records_destroy(rs);
    produce(fx, "r", 0, 10, 5, 5);
    next[0] = 10;
    assert_int_equal(poll_n(c, 5, next, 1), 5);
    rv_consumer_destroy(c);

    /* earliest */
    c = consumer(fx, "group.id", "g-earliest", "auto.offset.reset", "earliest", NULL);
    assign1(c, "r", 0, RV_OFFSET_INVALID);
    next[0] = 0;
    assert_int_equal(poll_n(c, 15, next, 1), 15);
    rv_consumer_destroy(c);

    /* none: an error naming the partition, as Kafka's
     * NoOffsetForPartitionException; fine once an offset is committed. */
    c = consumer(fx, "group.id", "g-none", "auto.offset.reset", "none", NULL);
    assign1(c, "r", 0, RV_OFFSET_STORED);
    assert_int_equal(rv_consumer_poll(c, 20, &rs), RV_ERR__NO_OFFSET);
    assert_null(rs);
    assert_string_equal(rv_consumer_last_error(c),
                        "Undefined offset with no reset policy for partitions: [r-0]");
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "r", 0), 12);
    char errstr[256];
    assert_int_equal(rv_consumer_commit_sync(c, l, errstr, sizeof errstr), 0);
    rv_topic_partition_list_destroy(l);
    next[0] = 12;
    assert_int_equal(poll_n(c, 3, next, 1), 3);
    rv_consumer_destroy(c);
}

static void test_seek_position_pause(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "s", 2);
    produce(fx, "s", 0, 0, 50, 7);
    produce(fx, "s", 1, 0, 30, 7);
    rv_consumer_t *c = consumer(fx, "group.id", "g-seek", "auto.offset.reset", "earliest", NULL);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(2);
    rv_topic_partition_list_add(l, "s", 0);
    rv_topic_partition_list_add(l, "s", 1);
    assert_int_equal(rv_consumer_assign(c, l), 0);

    assert_int_equal(rv_consumer_position(c, l), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 0)), 0);

    /* seek inside a batch: the records before it are skipped */
    assert_int_equal(rv_consumer_seek(c, "s", 0, 23), 0);
    assert_int_equal(rv_consumer_seek(c, "s", 9, 0), RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rv_consumer_seek_to_end(c, NULL);
    int64_t next[2] = {23, 30};
    assert_int_equal(rv_consumer_seek(c, "s", 0, 23), 0);
    assert_int_equal(poll_n(c, 27, next, 2), 27);
    assert_int_equal(rv_consumer_position(c, l), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 0)), 50);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 1)), 30);

    /* pause s-0: only s-1 records come */
    rv_topic_partition_list_t *p0 = rv_topic_partition_list_new(1);
    rv_topic_partition_list_add(p0, "s", 0);
    assert_int_equal(rv_consumer_pause(c, p0), 0);
    assert_int_equal(rv_consumer_seek_to_beginning(c, NULL), 0);
    next[1] = 0;
    assert_int_equal(poll_n(c, 30, next, 2), 30);
    rv_records_t *rs;
    assert_int_equal(rv_consumer_poll(c, 30, &rs), 0);
    assert_int_equal(rv_records_count(rs), 0);
    rv_records_destroy(rs);
    assert_int_equal(rv_consumer_resume(c, p0), 0);
    next[0] = 0;
    assert_int_equal(poll_n(c, 50, next, 2), 50);

    /* committed: nothing yet, then what commit_sync(NULL) stored */
    assert_int_equal(rv_consumer_committed(c, l, 1000), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 0)),
                     RV_OFFSET_INVALID);
    char errstr[256];
    assert_int_equal(rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(rv_consumer_committed(c, l, 1000), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 0)), 50);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 1)), 30);
    rv_topic_partition_list_destroy(p0);
    rv_topic_partition_list_destroy(l);
    rv_consumer_destroy(c);
}

typedef struct async_res_s {
    int calls;
    rv_err_t err;
    int64_t offset;
} async_res_t;

static void on_commit(rv_consumer_t *c, rv_err_t err, const rv_topic_partition_list_t *offsets,
                      void *opaque) {
    (void)c;
    async_res_t *r = opaque;
    r->calls++;
    r->err = err;
    r->offset = rv_topic_partition_offset(rv_topic_partition_list_get(offsets, 0));
}

static void test_commits(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "c", 1);
    produce(fx, "c", 0, 0, 40, 10);
    /* async: the callback runs in a later poll, not in the call */
    rv_consumer_t *c = consumer(fx, "group.id", "g-commit", "auto.offset.reset", "earliest",
                                "enable.auto.commit", "false", "max.poll.records", "10", NULL);
    assign1(c, "c", 0, RV_OFFSET_STORED);
    int64_t next[1] = {0};
    assert_int_equal(poll_n(c, 10, next, 1), 10);
    async_res_t res = {0, RV_ERR__FAIL, -5};
    assert_int_equal(rv_consumer_commit_async(c, NULL, on_commit, &res), 0);
    assert_int_equal(res.calls, 0);
    /* The callback runs inside a later poll (over the network: once the
     * coordinator answered). */
    int64_t until = rv__mono_ms() + 10000;
    while (res.calls == 0 && rv__mono_ms() < until) {
        rv_records_t *rs;
        assert_int_equal(rv_consumer_poll(c, 0, &rs), 0);
        next[0] += (int64_t)rv_records_count(rs);
        rv_records_destroy(rs);
        if (res.calls == 0)
            usleep(2000);
    }
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.err, 0);
    assert_int_equal(res.offset, 10);
    int more = (int)(40 - next[0]);
    assert_int_equal(poll_n(c, more, next, 1), more);
    rv_consumer_destroy(c); /* no auto commit: 10 stays committed */

    c = consumer(fx, "group.id", "g-commit", NULL);
    assign1(c, "c", 0, RV_OFFSET_STORED);
    next[0] = 10;
    assert_int_equal(poll_n(c, 30, next, 1), 30);
    /* auto commit on close */
    rv_consumer_destroy(c);
    c = consumer(fx, "group.id", "g-commit", NULL);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_list_add(l, "c", 0);
    assert_int_equal(rv_consumer_committed(c, l, 1000), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 0)), 40);
    rv_topic_partition_list_destroy(l);
    rv_consumer_destroy(c);

    /* no group.id: commits are refused */
    c = consumer(fx, NULL);
    char errstr[256];
    assert_int_equal(rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    rv_consumer_destroy(c);
}

/* A control batch (a transaction marker) is skipped; a compressed batch is
 * an error, never skipped silently. */
/* Appends a transaction marker (a control batch) straight to the log of
 * topic/partition: producers may not write control batches. */
static void append_marker(fx_t *fx, const char *topic, int32_t partition) {
    char errstr[512];
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    uint8_t marker[6] = {0, 0, 0, 0, 0, 0};
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, RV__ATTR_CONTROL | RV__ATTR_TRANSACTIONAL,
                                             INT64_MIN, 7, 0, -1, -1),
                     0);
    assert_int_equal(rv__batch_builder_add(&bb, 0, 5000, marker, 4, marker, 6, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    rv__topic_t *t;
    rv__log_t *log;
    rv__topics_t *topics = rv__broker_topics(fx->broker);
    assert_int_equal(rv__topics_acquire(topics, topic, partition, &t, &log, errstr, sizeof errstr),
                     0);
    rv__append_info_t info;
    assert_int_equal(rv__log_append(log, b.data, b.len, 0, &info, errstr, sizeof errstr), 0);
    rv__topics_release(topics, t);
    rv__buf_free(&b);
}

static void test_control_and_compressed(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    create_topic(fx, "x", 1);
    produce(fx, "x", 0, 0, 3, 3);
    append_marker(fx, "x", 0);
    produce(fx, "x", 0, 4, 2, 2);

    rv_consumer_t *c = consumer(fx, NULL);
    assign1(c, "x", 0, RV_OFFSET_BEGINNING);
    int64_t seen[8];
    int n = 0;
    int64_t until = rv__mono_ms() + 3000;
    while (n < 5 && rv__mono_ms() < until) {
        rv_records_t *rs;
        assert_int_equal(rv_consumer_poll(c, 50, &rs), 0);
        for (size_t i = 0; i < rv_records_count(rs); i++)
            seen[n++] = rv_record_offset(rv_records_get(rs, i));
        rv_records_destroy(rs);
    }
    assert_int_equal(n, 5);
    assert_int_equal(seen[2], 2);
    assert_int_equal(seen[3], 4); /* offset 3 is the marker */

    /* A batch flagged gzip whose records are not gzip: an error, never skipped. */
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, 1, INT64_MIN, -1, -1, -1, -1), 0);
    assert_int_equal(rv__batch_builder_add(&bb, 0, 5000, NULL, -1, "zz", 2, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    rv_err_t perr =
        rv_broker_produce(fx->broker, "x", 0, b.data, b.len, 1, NULL, errstr, sizeof errstr);
    rv__buf_free(&b);
    if (perr == 0) {
        rv_records_t *rs;
        rv_err_t err = rv_consumer_poll(c, 200, &rs);
        if (err == 0) {
            /* a codec engine decoded it (or rejected nothing): never silent */
            assert_true(rv_records_count(rs) <= 1);
            rv_records_destroy(rs);
        } else {
            assert_true(err == RV_ERR_UNSUPPORTED_COMPRESSION_TYPE ||
                        err == RV_ERR_CORRUPT_MESSAGE);
            rvt_assert_contains(rv_consumer_last_error(c), "x-0");
        }
    }
    rv_consumer_destroy(c);
}

static void *wake_later(void *arg) {
    usleep(100 * 1000);
    rv_consumer_wakeup(arg);
    return NULL;
}

static void test_wakeup(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "w", 1);
    rv_consumer_t *c = consumer(fx, NULL);
    assign1(c, "w", 0, RV_OFFSET_END);
    pthread_t th;
    int64_t t0 = rv__mono_ms();
    assert_int_equal(pthread_create(&th, NULL, wake_later, c), 0);
    rv_records_t *rs = (rv_records_t *)1;
    assert_int_equal(rv_consumer_poll(c, -1, &rs), RV_ERR__WAKEUP);
    assert_null(rs);
    assert_true(rv__mono_ms() - t0 < 3000);
    pthread_join(th, NULL);
    /* The wakeup is consumed: the next poll times out normally. */
    assert_int_equal(rv_consumer_poll(c, 10, &rs), 0);
    rv_records_destroy(rs);
    /* A wakeup before poll makes the next poll return at once. */
    rv_consumer_wakeup(c);
    assert_int_equal(rv_consumer_poll(c, 10000, &rs), RV_ERR__WAKEUP);
    rv_consumer_destroy(c);
}

typedef struct listen_s {
    int assigned, revoked;
    size_t last_cnt;
} listen_t;

static void on_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    (void)c;
    listen_t *ls = opaque;
    ls->assigned++;
    ls->last_cnt = rv_topic_partition_list_count(l);
}

static void on_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *l, void *opaque) {
    (void)c;
    (void)l;
    ((listen_t *)opaque)->revoked++;
}

static void test_subscribe_one_member(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "sub", 4);
    for (int p = 0; p < 4; p++)
        produce(fx, "sub", p, 0, 25, 5);
    rv_consumer_t *c = consumer(fx, "group.id", "g-sub", "auto.offset.reset", "earliest",
                                "session.timeout.ms", "3000", "heartbeat.interval.ms", "100", NULL);
    listen_t ls = {0, 0, 0};
    rv_rebalance_listener_t rl = RV_REBALANCE_LISTENER_INIT;
    rl.assigned = on_assigned;
    rl.revoked = on_revoked;
    rl.opaque = &ls;
    const char *topics[] = {"sub"};
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, &rl), 0);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(0);
    assert_int_equal(rv_consumer_assign(c, l), RV_ERR__STATE);
    rv_topic_partition_list_destroy(l);
    int64_t next[4] = {0, 0, 0, 0};
    assert_int_equal(poll_n(c, 100, next, 4), 100);
    assert_int_equal(ls.assigned, 1);
    assert_int_equal(ls.last_cnt, 4);
    assert_true(rv_consumer_generation(c) >= 1);
    assert_true(strlen(rv_consumer_member_id(c)) > 0);
    char **subs;
    size_t nsubs;
    assert_int_equal(rv_consumer_subscription(c, &subs, &nsubs), 0);
    assert_int_equal(nsubs, 1);
    assert_string_equal(subs[0], "sub");
    rv_strv_free(subs, nsubs);
    assert_int_equal(rv_consumer_close(c), 0); /* auto commit, revoked, leave */
    assert_int_equal(ls.revoked, 1);
    rv_records_t *rs;
    assert_int_equal(rv_consumer_poll(c, 0, &rs), RV_ERR__STATE);
    rv_consumer_destroy(c);

    /* The next member of the group starts at the committed offsets. */
    produce(fx, "sub", 2, 25, 3, 3);
    c = consumer(fx, "group.id", "g-sub", "session.timeout.ms", "3000", "heartbeat.interval.ms",
                 "100", NULL);
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, NULL), 0);
    assert_int_equal(poll_n(c, 3, next, 4), 3);
    assert_int_equal(next[2], 28);
    rv_consumer_destroy(c);
}

/* The fetch-buffer pool (client/consumer_records.h): a chunk's memory goes
 * back to its pool when its last reference goes, and not before; the next
 * take hands that memory and its capacity out again; with the slot full a
 * released chunk is freed; chunks and pool may go in either order (the
 * sanitizer build checks for leaks and use after free). */
static void test_fetch_buffer_pool(void **state) {
    (void)state;
    rv__chunk_pool_t *pool = rv__chunk_pool_new();
    assert_non_null(pool);
    rv__buf_t buf = RV__BUF_INIT;
    assert_int_equal(rv__buf_append(&buf, "0123456789", 10), 0);
    assert_int_equal(rv__buf_reserve(&buf, 4096), 0);
    uint8_t *mem = buf.data;
    size_t cap = buf.cap;
    rv__chunk_t *a = rv__chunk_new_pooled(&buf, "topic-a", pool);
    assert_non_null(a);
    assert_null(buf.data);
    assert_int_equal(a->len, 10);

    rv__buf_t got = RV__BUF_INIT;
    rv__chunk_ref(a);
    rv__chunk_unref(a);
    rv__chunk_pool_take(pool, &got); /* a is still referenced */
    assert_null(got.data);
    rv__chunk_unref(a);
    rv__chunk_pool_take(pool, &got);
    assert_ptr_equal(got.data, mem);
    assert_int_equal(got.cap, cap);
    assert_int_equal(got.len, 0);
    rv__buf_t again = RV__BUF_INIT;
    rv__chunk_pool_take(pool, &again); /* taken once only */
    assert_null(again.data);

    /* Two released chunks: the slot keeps one, the other is freed. */
    assert_int_equal(rv__buf_append(&got, "x", 1), 0);
    rv__chunk_t *b = rv__chunk_new_pooled(&got, "topic-b", pool);
    assert_int_equal(rv__buf_append(&again, "y", 1), 0);
    rv__chunk_t *c = rv__chunk_new_pooled(&again, "topic-c", pool);
    assert_non_null(b);
    assert_non_null(c);
    rv__chunk_unref(b);
    rv__chunk_unref(c);

    /* The pool goes first: a chunk still out keeps it until it goes. */
    rv__buf_t last = RV__BUF_INIT;
    assert_int_equal(rv__buf_append(&last, "z", 1), 0);
    rv__chunk_t *d = rv__chunk_new_pooled(&last, "topic-d", pool);
    assert_non_null(d);
    rv__chunk_pool_unref(pool);
    assert_string_equal(d->topic, "topic-d");
    assert_int_equal(d->data[0], 'z');
    rv__chunk_unref(d);

    /* Without a pool a chunk is simply freed. */
    rv__buf_t plain = RV__BUF_INIT;
    assert_int_equal(rv__buf_append(&plain, "p", 1), 0);
    rv__chunk_t *e = rv__chunk_new(&plain, "topic-e");
    assert_non_null(e);
    assert_null(e->pool);
    rv__chunk_unref(e);
}

/* Polls (dropping records) until the fetched lag of topic/partition is
 * `want`, for at most 5 s; returns the last lag seen. */
static int64_t poll_until_lag(rv_consumer_t *c, const char *topic, int32_t partition,
                              int64_t want) {
    int64_t lag = rv__consumer_fetched_lag(c, topic, partition);
    for (int64_t until = rv__mono_ms() + 5000; lag != want && rv__mono_ms() < until;) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs) == RV_ERR_NO_ERROR)
            rv_records_destroy(rs);
        lag = rv__consumer_fetched_lag(c, topic, partition);
    }
    return lag;
}

/* rv__consumer_fetched_lag() (Kafka's Consumer.currentLag, which
 * max.task.idle.ms waits on): unknown before the first fetch, what the
 * broker holds past the position, and 0 once caught up - also when the
 * log ends in a transaction marker, which the consumer never returns, and
 * when compaction removed the log's last batches. */
static void test_fetched_lag(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "lag", 1);
    produce(fx, "lag", 0, 0, 3, 1);
    rv_consumer_t *c = consumer(fx, "max.poll.records", "1", NULL);
    assert_int_equal(rv__consumer_fetched_lag(c, "lag", 0), -1); /* not assigned */
    assign1(c, "lag", 0, RV_OFFSET_BEGINNING);
    assert_int_equal(rv__consumer_fetched_lag(c, "lag", 0), -1); /* not fetched */
    assert_int_equal(rv__consumer_fetched_lag(c, "other", 0), -1);
    /* One record per poll: the lag counts down to 0. */
    int64_t lag = poll_until_lag(c, "lag", 0, 2);
    assert_true(lag == 2 || lag == 1 || lag == 0);
    assert_int_equal(poll_until_lag(c, "lag", 0, 0), 0);
    /* A marker at the end: no record comes, the lag still reaches 0 once
     * the record before it was returned. */
    append_marker(fx, "lag", 0);
    produce(fx, "lag", 0, 4, 1, 1);
    append_marker(fx, "lag", 0);
    int64_t last = -1;
    for (int64_t until = rv__mono_ms() + 5000; last < 4 && rv__mono_ms() < until;) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs) != RV_ERR_NO_ERROR)
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++)
            last = rv_record_offset(rv_records_get(rs, i));
        rv_records_destroy(rs);
    }
    assert_int_equal(last, 4);
    assert_int_equal(poll_until_lag(c, "lag", 0, 0), 0);
    rv_consumer_destroy(c);
    if (rvt_kafka_backend())
        return;
    /* Compaction dropped the last batches (a tombstone past
     * delete.retention.ms, after a roll without appends): the position
     * moves over their offsets to the HW. */
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    const char *n[] = {"cleanup.policy", "delete.retention.ms", "min.compaction.lag.ms"};
    const char *v[] = {"compact", "0", "0"};
    assert_int_equal(rv_admin_create_topic(a, "gap", 1, 1, n, v, 3, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
    const char *keys[] = {"k1", "k2", "k2"}, *vals[] = {"v1", "v2", NULL};
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = 0; i < 3; i++) {
        const void *d;
        size_t len;
        rv_batch_builder_reset(b);
        assert_int_equal(
            rv_batch_builder_add(b, keys[i], 2, vals[i], vals[i] ? 2 : -1, rv__now_ms()), 0);
        assert_int_equal(rv_batch_builder_finish(b, &d, &len), 0);
        assert_int_equal(
            rv_broker_produce(fx->broker, "gap", 0, d, len, 1, NULL, errstr, sizeof errstr), 0);
    }
    rv_batch_builder_destroy(b);
    rv__topic_t *t;
    rv__log_t *log;
    rv__topics_t *topics = rv__broker_topics(fx->broker);
    assert_int_equal(rv__topics_acquire(topics, "gap", 0, &t, &log, errstr, sizeof errstr), 0);
    assert_int_equal(rv__log_roll(log), 0);
    rv__clean_stats_t st;
    memset(&st, 0, sizeof st);
    assert_int_equal(rv__log_clean(log, rv__now_ms(), 1, &st), 0);
    memset(&st, 0, sizeof st);
    assert_int_equal(rv__log_clean(log, rv__now_ms() + 1000, 1, &st), 0);
    assert_int_equal(rv__log_high_watermark(log), 3);
    rv__topics_release(topics, t);
    c = consumer(fx, NULL);
    assign1(c, "gap", 0, RV_OFFSET_BEGINNING);
    assert_int_equal(poll_until_lag(c, "gap", 0, 0), 0);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_list_add(l, "gap", 0);
    assert_int_equal(rv_consumer_position(c, l), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(l, 0)), 3);
    rv_topic_partition_list_destroy(l);
    rv_consumer_destroy(c);
}

/* Compaction keeps an idempotent producer's last batch as an empty batch
 * (a header, no records) when every record in it was superseded
 * (broker/log/cleaner.c), as Kafka does. A consumer steps over such
 * batches, and one at the end of the log takes the embedded consumer's
 * position to the high watermark. */
static void test_compacted_empty_batches(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv__topics_t *topics = rv__broker_topics(fx->broker);
    const char *n[] = {"cleanup.policy", "delete.retention.ms"}, *v[] = {"compact", "1000"};
    assert_int_equal(rv__topics_create(topics, "e", 1, 1, n, v, 2, errstr, sizeof errstr), 0);
    /* 0: producer 9 writes a, 1: another writer a again, 2: producer 10
     * deletes b. */
    const int64_t pids[] = {9, -1, 10};
    const char *keys[] = {"a", "a", "b"}, *vals[] = {"a0", "a1", NULL};
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < 3; i++) {
        rv__batch_builder_t bb;
        b.len = 0;
        assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, 0, INT64_MIN, pids[i],
                                                 pids[i] >= 0 ? 0 : -1, pids[i] >= 0 ? 0 : -1, -1),
                         0);
        assert_int_equal(rv__batch_builder_add(&bb, 0, g_ts0 + i, keys[i], 1, vals[i],
                                               vals[i] ? 2 : -1, 0, NULL, 0),
                         0);
        assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
        assert_int_equal(
            rv_broker_produce(fx->broker, "e", 0, b.data, b.len, 1, NULL, errstr, sizeof errstr),
            0);
    }
    rv__buf_free(&b);
    /* The first pass empties batch 0, the second (past the tombstone's
     * delete horizon) batch 2. */
    rv__topic_t *t;
    rv__log_t *log;
    assert_int_equal(rv__topics_acquire(topics, "e", 0, &t, &log, errstr, sizeof errstr), 0);
    assert_int_equal(rv__log_roll(log), 0);
    int64_t now = rv__now_ms();
    assert_int_equal(rv__log_clean(log, now, 1, NULL), 0);
    assert_int_equal(rv__log_clean(log, now + 2000, 1, NULL), 0);
    rv__buf_t out = RV__BUF_INIT;
    assert_int_equal(rv__log_read(log, 0, 1 << 20, &out, NULL, NULL, 0), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_parse_header(&h, out.data, out.len), 0);
    assert_int_equal(h.records_count, 0); /* batch 0, emptied */
    rv__buf_free(&out);
    assert_int_equal(rv__log_high_watermark(log), 3);
    rv__topics_release(topics, t);

    rv_consumer_t *c = consumer(fx, NULL);
    assign1(c, "e", 0, RV_OFFSET_BEGINNING);
    /* The kafka backend's position follows the records it returned
     * (client/kafka_consumer.c), as after a marker at the end. */
    int64_t want = rvt_kafka_backend() ? 2 : 3;
    int got = 0;
    int64_t pos = -1;
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_list_add(l, "e", 0);
    for (int64_t until = rv__mono_ms() + 5000; (got < 1 || pos < want) && rv__mono_ms() < until;) {
        rv_records_t *rs = NULL;
        assert_int_equal(rv_consumer_poll(c, 50, &rs), 0);
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            assert_int_equal(rv_record_offset(r), 1);
            int32_t vl;
            const void *val = rv_record_value(r, &vl);
            assert_int_equal(vl, 2);
            assert_memory_equal(val, "a1", 2);
            got++;
        }
        rv_records_destroy(rs);
        assert_int_equal(rv_consumer_position(c, l), 0);
        pos = rv_topic_partition_offset(rv_topic_partition_list_get(l, 0));
    }
    assert_int_equal(got, 1);
    assert_int_equal(pos, want);
    rv_topic_partition_list_destroy(l);
    rv_consumer_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_fetch_buffer_pool),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_assign_order_and_headers, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_offset_reset, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_seek_position_pause, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_commits, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_control_and_compressed, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_fetched_lag, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_compacted_empty_batches, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_wakeup, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_one_member, setup, rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
