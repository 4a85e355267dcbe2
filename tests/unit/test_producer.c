/* tests/unit/test_producer.c: client/producer.c on a broker in a
 * temporary folder: delivery callbacks and send_sync, linger batching,
 * buffer.memory with max.block.ms, acks 0/1/all, per-partition order, the
 * default, sticky and user partitioners, unknown topics and partitions,
 * idempotent batches, a partition's batches appended as one run (with a
 * failed write), compression, close, and configuration errors.
 * bootstrap.servers comes from rvt_bootstrap(): the embedded backend, or
 * (test_producer_kafka) the kafka backend through a Kafka protocol server
 * on the same folder. Either way the test reads what was written straight
 * from the folder's broker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "broker/topics.h"
#include "client/producer_internal.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/record_batch.h"
#include "rivulet/broker.h"
#include "rivulet/producer.h"

typedef rvt_client_fx_t fixture_t;

static int setup(void **state) {
    rvt_client_fx_setup(state);
    fixture_t *f = *state;
    char errstr[512];
    if (rv__topics_create(rv__broker_topics(f->broker), "t", 4, 1, NULL, NULL, 0, errstr,
                          sizeof errstr) ||
        rv__topics_create(rv__broker_topics(f->broker), "one", 1, 1, NULL, NULL, 0, errstr,
                          sizeof errstr))
        return -1;
    return 0;
}

/* A producer with bootstrap.servers and the given name=value pairs
 * (NULL-terminated). */
static rv_producer_t *producer(fixture_t *f, ...) {
    char errstr[512];
    va_list ap;
    va_start(ap, f);
    rv_conf_t *conf = rvt_conf_va(f->bs, ap);
    va_end(ap);
    rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
    if (!p)
        fail_msg("producer: %s", errstr);
    return p;
}

/* Fails to make a producer; returns the message. */
static void producer_fails(fixture_t *f, const char *n1, const char *v1, const char *n2,
                           const char *v2, const char *expect) {
    rv_conf_t *conf = rv_conf_new();
    char errstr[512];
    if (f)
        assert_int_equal(rv_conf_set(conf, "bootstrap.servers", f->bs, errstr, sizeof errstr), 0);
    if (n1)
        assert_int_equal(rv_conf_set(conf, n1, v1, errstr, sizeof errstr), 0);
    if (n2)
        assert_int_equal(rv_conf_set(conf, n2, v2, errstr, sizeof errstr), 0);
    errstr[0] = '\0';
    assert_null(rv_producer_new(conf, errstr, sizeof errstr));
    rvt_assert_contains(errstr, expect);
    rv_conf_destroy(conf);
}

typedef struct report_s {
    rv_err_t err;
    char msg[256];
    int32_t partition;
    int64_t offset, timestamp;
    int called;
} report_t;

static void report_cb(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                      int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p, (void)topic;
    report_t *r = opaque;
    r->err = err;
    snprintf(r->msg, sizeof r->msg, "%s", errmsg ? errmsg : "");
    r->partition = partition;
    r->offset = offset;
    r->timestamp = timestamp;
    r->called++;
}

static rv_producer_record_t rec(const char *topic, const char *key, const char *value) {
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.key = key;
    r.key_len = key ? (int32_t)strlen(key) : -1;
    r.value = value;
    r.value_len = value ? (int32_t)strlen(value) : -1;
    return r;
}

/* Reads a partition's batches: the count of batches and records, and the
 * header of the last batch. */
static int count_batches(fixture_t *f, const char *topic, int32_t part, int *records,
                         rv__batch_hdr_t *last) {
    void *data;
    size_t len;
    assert_int_equal(
        rv_broker_fetch(f->broker, topic, part, 0, 1 << 24, &data, &len, NULL, NULL, 0), 0);
    int n = 0, recs = 0;
    for (size_t pos = 0; pos < len;) {
        rv__batch_hdr_t h;
        assert_int_equal(rv__batch_parse_header(&h, (uint8_t *)data + pos, len - pos), 0);
        pos += rv__batch_size(&h);
        n++;
        recs += h.records_count;
        if (last)
            *last = h;
    }
    rv_free(data);
    if (records)
        *records = recs;
    return n;
}

static void test_delivery_callback(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, NULL);
    report_t r[3];
    memset(r, 0, sizeof r);
    char errstr[512];
    rv_header_t hdr = {"h", "hv", 2};
    for (int i = 0; i < 3; i++) {
        rv_producer_record_t x = rec("one", "k", "value");
        x.timestamp = 1000 + i;
        x.headers = &hdr;
        x.header_cnt = 1;
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    assert_int_equal(rv_producer_in_flight(p), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].called, 1);
        assert_int_equal(r[i].err, 0);
        assert_int_equal(r[i].partition, 0);
        assert_int_equal(r[i].offset, i);
        assert_int_equal(r[i].timestamp, 1000 + i);
    }
    /* The records are in the log with key, value and header. */
    void *data;
    size_t len;
    assert_int_equal(rv_broker_fetch(f->broker, "one", 0, 0, 1 << 20, &data, &len, NULL, NULL, 0),
                     0);
    rv_batch_reader_t *rd = rv_batch_reader_new(data, len);
    assert_int_equal(rv_batch_reader_next(rd), 1);
    int32_t kl, vl;
    const void *k = rv_batch_reader_key(rd, &kl);
    const void *v = rv_batch_reader_value(rd, &vl);
    assert_int_equal(kl, 1);
    assert_memory_equal(k, "k", 1);
    assert_int_equal(vl, 5);
    assert_memory_equal(v, "value", 5);
    assert_int_equal(rv_batch_reader_header_count(rd), 1);
    rv_batch_reader_destroy(rd);
    rv_free(data);
    rv_producer_destroy(p);
}

static void test_send_sync_and_poll(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "linger.ms", "60000", NULL);
    char errstr[512];
    int32_t part = -1;
    int64_t off = -1, ts = -1;
    int64_t before = rv__now_ms();
    rv_producer_record_t x = rec("one", NULL, "v");
    /* linger.ms is long, but send_sync does not wait for it. */
    int64_t t0 = rv__mono_ms();
    assert_int_equal(rv_producer_send_sync(p, &x, &part, &off, &ts, errstr, sizeof errstr), 0);
    assert_true(rv__mono_ms() - t0 < 5000);
    assert_int_equal(part, 0);
    assert_int_equal(off, 0);
    assert_true(ts >= before && ts <= rv__now_ms());
    assert_int_equal(rv_producer_send_sync(p, &x, &part, &off, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(off, 1);
    /* Nothing due: poll returns 0 at once. */
    assert_int_equal(rv_producer_poll(p, 0), 0);
    /* An error through send_sync. */
    x.topic = "missing";
    assert_int_equal(rv_producer_send_sync(p, &x, &part, &off, NULL, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rvt_assert_contains(errstr, "missing");
    rv_producer_destroy(p);
}

static void test_linger_batches(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "linger.ms", "60000", NULL);
    char errstr[512];
    report_t r[10];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 10; i++) {
        rv_producer_record_t x = rec("one", "k", "v");
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
    }
    /* Lingering: nothing reported yet. */
    assert_int_equal(rv_producer_poll(p, 100), 0);
    assert_int_equal(rv_producer_in_flight(p), 10);
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    int recs;
    assert_int_equal(count_batches(f, "one", 0, &recs, NULL), 1);
    assert_int_equal(recs, 10);
    rv_producer_destroy(p);

    /* A short linger sends on its own. */
    p = producer(f, "linger.ms", "20", NULL);
    rv_producer_record_t x = rec("one", "k", "v");
    memset(r, 0, sizeof r);
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r[0], errstr, sizeof errstr), 0);
    int64_t t0 = rv__mono_ms();
    while (!r[0].called && rv__mono_ms() - t0 < 5000)
        rv_producer_poll(p, 50);
    assert_int_equal(r[0].called, 1);
    assert_int_equal(r[0].offset, 10);
    rv_producer_destroy(p);

    /* batch.size splits batches. */
    p = producer(f, "linger.ms", "60000", "batch.size", "200", NULL);
    for (int i = 0; i < 20; i++) {
        rv_producer_record_t y = rec("one", "key", "0123456789012345678901234567890123456789");
        assert_int_equal(rv_producer_send(p, &y, NULL, NULL, errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    int n = count_batches(f, "one", 0, &recs, NULL);
    assert_int_equal(recs, 31);
    assert_true(n >= 2 + 4);
    rv_producer_destroy(p);
}

static void test_buffer_full_blocks_then_fails(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "buffer.memory", "1000", "max.block.ms", "200", NULL);
    char errstr[512];
    rv__producer_pause_sender(p, true);
    char value[101];
    memset(value, 'x', 100);
    value[100] = '\0';
    rv_producer_record_t x = rec("one", NULL, value);
    int sent = 0;
    rv_err_t err;
    int64_t t0 = 0;
    for (;;) {
        t0 = rv__mono_ms();
        if ((err = rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr)))
            break;
        sent++;
        assert_true(sent < 100);
    }
    assert_int_equal(err, RV_ERR__QUEUE_FULL);
    assert_true(rv__mono_ms() - t0 >= 190);
    rvt_assert_contains(errstr, "Failed to allocate memory within the configured max blocking "
                                "time 200 ms.");
    assert_true(sent >= 5);
    /* Once the sender runs, the records go and room comes back. */
    rv__producer_pause_sender(p, false);
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    int recs;
    count_batches(f, "one", 0, &recs, NULL);
    assert_int_equal(recs, sent + 1);
    /* Bigger than the whole buffer: refused at once. */
    char big[2000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    x = rec("one", NULL, big);
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr),
                     RV_ERR_MESSAGE_TOO_LARGE);
    rvt_assert_contains(errstr, "buffer.memory");
    rv_producer_destroy(p);
}

static void test_acks(void **state) {
    fixture_t *f = *state;
    const char *acks[] = {"0", "1", "all", "-1"};
    int64_t expect = 0;
    for (int i = 0; i < 4; i++) {
        rv_producer_t *p = producer(f, "acks", acks[i], NULL);
        report_t r;
        memset(&r, 0, sizeof r);
        char errstr[512];
        rv_producer_record_t x = rec("one", "k", "v");
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
        assert_int_equal(rv_producer_flush(p, 5000), 0);
        assert_int_equal(r.called, 1);
        assert_int_equal(r.err, 0);
        /* acks=0 gives no offset; the record is written all the same. */
        assert_int_equal(r.offset, i == 0 ? -1 : expect);
        expect++;
        /* Idempotence is on by default, off when acks conflicts: the
         * batch carries a producer id or not. */
        rv__batch_hdr_t last;
        int recs = 0;
        /* With acks=0 over the network, the report comes before the write. */
        for (int64_t t0 = rv__mono_ms(); recs < expect && rv__mono_ms() - t0 < 5000;)
            count_batches(f, "one", 0, &recs, &last);
        assert_int_equal(recs, expect);
        assert_true((last.producer_id >= 0) == (i >= 2));
        if (!rvt_kafka_backend())
            assert_true((rv__producer_id(p, NULL) >= 0) == (i >= 2));
        rv_producer_destroy(p);
    }
}

#define ORDER_N 2000
typedef struct order_s {
    int64_t last_offset[4];
    int32_t part_of[ORDER_N];
    int bad;
    int unsynced; /* reports of offsets the log had not fsync'd yet */
    int called;
    rv_broker_t *broker; /* embedded: checks the log's recovery point */
} order_t;

static void order_cb(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                     int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p, (void)errmsg, (void)topic, (void)timestamp;
    order_t *o = *(order_t **)opaque;
    int i = (int)(((intptr_t)opaque - (intptr_t)o) / (intptr_t)sizeof(order_t *));
    (void)i;
    if (err || offset <= o->last_offset[partition])
        o->bad++;
    o->last_offset[partition] = offset;
    /* acks=all (the default): the syncer thread reports a batch only
     * after the fsync covering it. */
    rv__topic_t *t;
    rv__log_t *log;
    rv__topics_t *topics = o->broker ? rv__broker_topics(o->broker) : NULL;
    if (topics &&
        rv__topics_acquire(topics, topic, partition, &t, &log, NULL, 0) == RV_ERR_NO_ERROR) {
        if (rv__log_recovery_point(log) <= offset)
            o->unsynced++;
        rv__topics_release(topics, t);
    }
    o->called++;
}

/* Sends n records to "t" with values "0".."n-1" and keys over 37 values,
 * reported to order_cb in `o` (reset here; broker: see order_t); polls
 * every poll_every records (0: never). */
static void send_numbered(rv_producer_t *p, order_t *o, rv_broker_t *broker, order_t **ptrs, int n,
                          int poll_every) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < 4; i++)
        o->last_offset[i] = -1;
    o->broker = broker;
    char errstr[512];
    for (int i = 0; i < n; i++) {
        char key[16], val[16];
        snprintf(key, sizeof key, "key%d", i % 37);
        snprintf(val, sizeof val, "%d", i);
        ptrs[i] = o;
        rv_producer_record_t x = rec("t", key, val);
        assert_int_equal(rv_producer_send(p, &x, order_cb, &ptrs[i], errstr, sizeof errstr), 0);
        if (poll_every && i % poll_every == 0)
            rv_producer_poll(p, 0);
    }
}

static void test_order_and_keys(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "linger.ms", "5", "batch.size", "1000", NULL);
    static order_t o;
    static order_t *ptrs[ORDER_N];
    send_numbered(p, &o, rvt_kafka_backend() ? NULL : f->broker, ptrs, ORDER_N, 100);
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    assert_int_equal(o.called, ORDER_N);
    assert_int_equal(o.bad, 0);
    assert_int_equal(o.unsynced, 0);
    /* Each partition holds its records in send order, and every record
     * sits in the partition of its key (Java's murmur2). */
    for (int32_t part = 0; part < 4; part++) {
        void *data;
        size_t len;
        assert_int_equal(
            rv_broker_fetch(f->broker, "t", part, 0, 1 << 24, &data, &len, NULL, NULL, 0), 0);
        rv_batch_reader_t *rd = rv_batch_reader_new(data, len);
        int prev = -1;
        while (rv_batch_reader_next(rd) == 1) {
            int32_t kl, vl;
            const char *k = rv_batch_reader_key(rd, &kl);
            const char *v = rv_batch_reader_value(rd, &vl);
            char vb[16];
            snprintf(vb, sizeof vb, "%.*s", (int)vl, v);
            int n = atoi(vb);
            assert_true(n > prev);
            prev = n;
            assert_int_equal(rv_partitioner_murmur2(k, kl, 4), part);
        }
        rv_batch_reader_destroy(rd);
        rv_free(data);
    }
    rv_producer_destroy(p);
}

/* Runs: the sender appends a partition's waiting batches with one write
 * (rv__broker_appendv). With the sender held while dozens of batches pile up
 * over 4 partitions, every record is reported at its offset, in order per
 * partition, and each partition's batches carry running sequence numbers.
 * The first write after the sender resumes fails: that run was not
 * written, so its batches go again one at a time and nothing is lost (a
 * sender writing batch by batch would fail the first batch instead).
 * Embedded only: the kafka backend sends one batch per request. */
#define RUN_N 400
static void test_batch_runs(void **state) {
    fixture_t *f = *state;
    if (rvt_kafka_backend())
        skip();
    rv_producer_t *p = producer(f, "linger.ms", "60000", "batch.size", "200", NULL);
    static order_t o;
    static order_t *ptrs[RUN_N];
    rv__producer_pause_sender(p, true);
    send_numbered(p, &o, f->broker, ptrs, RUN_N, 0);
    rv__io_fail_nth(RV__IO_WRITE, 1, ENOSPC);
    rv__producer_pause_sender(p, false);
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    rv__io_fail_nth(RV__IO_WRITE, 0, 0);
    assert_int_equal(o.called, RUN_N);
    assert_int_equal(o.bad, 0);
    assert_int_equal(o.unsynced, 0);
    int total = 0;
    for (int32_t part = 0; part < 4; part++) {
        void *data;
        size_t len;
        assert_int_equal(
            rv_broker_fetch(f->broker, "t", part, 0, 1 << 24, &data, &len, NULL, NULL, 0), 0);
        int prev = -1, batches = 0, records = 0;
        for (size_t pos = 0; pos < len;) {
            rv__batch_hdr_t h;
            assert_int_equal(rv__batch_parse_header(&h, (uint8_t *)data + pos, len - pos), 0);
            assert_int_equal(h.base_sequence, records);
            assert_int_equal(h.base_offset, records);
            rv_batch_reader_t *rd = rv_batch_reader_new((uint8_t *)data + pos, rv__batch_size(&h));
            while (rv_batch_reader_next(rd) == 1) {
                int32_t vl;
                const char *v = rv_batch_reader_value(rd, &vl);
                char vb[16];
                snprintf(vb, sizeof vb, "%.*s", (int)vl, v);
                assert_true(atoi(vb) > prev);
                prev = atoi(vb);
            }
            rv_batch_reader_destroy(rd);
            pos += rv__batch_size(&h);
            records += h.records_count;
            batches++;
        }
        assert_int_equal(o.last_offset[part], records - 1);
        assert_true(batches >= 5);
        total += records;
        rv_free(data);
    }
    assert_int_equal(total, RUN_N);
    rv_producer_destroy(p);
}

static void test_sticky_null_keys(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "linger.ms", "60000", NULL);
    char errstr[512];
    report_t r[20];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 10; i++) {
        rv_producer_record_t x = rec("t", NULL, "v");
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    for (int i = 1; i < 10; i++)
        assert_int_equal(r[i].partition, r[0].partition);
    /* The batch was sent: the next null-key records move elsewhere. */
    for (int i = 10; i < 20; i++) {
        rv_producer_record_t x = rec("t", NULL, "v");
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    for (int i = 11; i < 20; i++)
        assert_int_equal(r[i].partition, r[10].partition);
    assert_int_not_equal(r[10].partition, r[0].partition);
    /* An explicit partition wins over everything. */
    rv_producer_record_t x = rec("t", "foobar", "v");
    x.partition = 3;
    int32_t part;
    assert_int_equal(rv_producer_send_sync(p, &x, &part, NULL, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(part, 3);
    rv_producer_destroy(p);
}

static int32_t fixed_partitioner(const char *topic, const void *key, int32_t key_len,
                                 const void *value, int32_t value_len, int32_t partition_cnt,
                                 void *opaque) {
    (void)topic, (void)key, (void)key_len, (void)value, (void)value_len;
    int *calls = opaque;
    (*calls)++;
    assert_int_equal(partition_cnt, 4);
    return *calls > 3 ? 9 : 2;
}

static void test_user_partitioner(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, NULL);
    int calls = 0;
    rv_producer_set_partitioner(p, fixed_partitioner, &calls);
    char errstr[512];
    int32_t part;
    for (int i = 0; i < 3; i++) {
        rv_producer_record_t x = rec("t", i ? "k" : NULL, "v");
        assert_int_equal(rv_producer_send_sync(p, &x, &part, NULL, NULL, errstr, sizeof errstr), 0);
        assert_int_equal(part, 2);
    }
    /* Out of range: the record fails. */
    rv_producer_record_t x = rec("t", "k", "v");
    assert_int_equal(rv_producer_send_sync(p, &x, &part, NULL, NULL, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(calls, 4);
    rv_producer_destroy(p);
}

static void test_unknown_topic_and_partition(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, NULL);
    char errstr[512];
    report_t r[2];
    memset(r, 0, sizeof r);
    rv_producer_record_t x = rec("nope", "k", "v");
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r[0], errstr, sizeof errstr), 0);
    x = rec("t", "k", "v");
    x.partition = 4;
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r[1], errstr, sizeof errstr), 0);
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    assert_int_equal(r[0].err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(r[0].offset, -1);
    assert_int_equal(r[1].err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rvt_assert_contains(r[1].msg, "Partition 4");
    /* Created later, the topic works without a new producer. */
    assert_int_equal(
        rv__topics_create(rv__broker_topics(f->broker), "nope", 1, 1, NULL, NULL, 0, errstr, 512),
        0);
    x = rec("nope", "k", "v");
    assert_int_equal(rv_producer_send_sync(p, &x, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    /* Bad records are refused by send itself. */
    x = rec(NULL, "k", "v");
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr),
                     RV_ERR__INVALID_ARG);
    x = rec("t", "k", "v");
    x.version = 0;
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr),
                     RV_ERR__INVALID_ARG);
    x = rec("t", NULL, "v");
    x.key_len = 3;
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr),
                     RV_ERR__INVALID_ARG);
    rv_producer_destroy(p);
}

static void test_idempotent_batches(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "linger.ms", "60000", NULL);
    char errstr[512];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++) {
            rv_producer_record_t x = rec("one", "k", "v");
            assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr), 0);
        }
        assert_int_equal(rv_producer_flush(p, 5000), 0);
    }
    rv__batch_hdr_t last;
    assert_int_equal(count_batches(f, "one", 0, NULL, &last), 3);
    int64_t pid = last.producer_id;
    assert_true(pid >= 0);
    assert_int_equal(last.producer_epoch, 0);
    assert_int_equal(last.base_sequence, 8);
    if (!rvt_kafka_backend()) {
        int16_t epoch;
        assert_int_equal(rv__producer_id(p, &epoch), pid);
        assert_int_equal(epoch, 0);
    }
    rv_producer_destroy(p);
    /* A second producer has another id. */
    p = producer(f, NULL);
    rv_producer_record_t x = rec("one", "k", "v");
    assert_int_equal(rv_producer_send_sync(p, &x, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    count_batches(f, "one", 0, NULL, &last);
    assert_true(last.producer_id > pid);
    assert_int_equal(last.base_sequence, 0);
    rv_producer_destroy(p);
}

static void test_compression(void **state) {
    fixture_t *f = *state;
    const char *codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    for (int c = 0; c < 4; c++) {
        rv_conf_t *conf = rv_conf_new();
        char errstr[512];
        assert_int_equal(rv_conf_set(conf, "bootstrap.servers", f->bs, errstr, 512), 0);
        assert_int_equal(rv_conf_set(conf, "compression.type", codecs[c], errstr, 512), 0);
        assert_int_equal(rv_conf_set(conf, "linger.ms", "60000", errstr, 512), 0);
        rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
        if (!p) {
            /* The codec is missing from this build: a clear error. */
            rvt_assert_contains(errstr, "compression.type");
            rv_conf_destroy(conf);
            continue;
        }
        for (int i = 0; i < 50; i++) {
            rv_producer_record_t x = rec("one", "key", "a value that compresses well, well");
            assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr), 0);
        }
        assert_int_equal(rv_producer_flush(p, 5000), 0);
        rv__batch_hdr_t last;
        count_batches(f, "one", 0, NULL, &last);
        assert_int_equal(last.attributes & RV__ATTR_COMPRESSION_MASK, c + 1);
        assert_int_equal(last.records_count, 50);
        rv_producer_destroy(p);
    }
}

static void test_close(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "linger.ms", "60000", NULL);
    rv__producer_pause_sender(p, true);
    char errstr[512];
    report_t r;
    memset(&r, 0, sizeof r);
    rv_producer_record_t x = rec("one", "k", "v");
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    /* The record lingers and close has no time to send it: close gives up
     * and fails the record. */
    assert_int_equal(rv_producer_close(p, 0), RV_ERR__TIMED_OUT);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, RV_ERR__DESTROY);
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr), RV_ERR__STATE);
    assert_int_equal(rv_producer_close(p, 100), 0);
    rv_producer_destroy(p);
    rv_producer_destroy(NULL);

    /* close flushes what it can. */
    p = producer(f, "linger.ms", "60000", NULL);
    memset(&r, 0, sizeof r);
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    assert_int_equal(rv_producer_close(p, 5000), 0);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, 0);
    rv_producer_destroy(p);
}

static void test_bad_config(void **state) {
    fixture_t *f = *state;
    producer_fails(NULL, NULL, NULL, NULL, NULL, "bootstrap.servers is not set");
    rv_conf_t *conf = rv_conf_new();
    char errstr[512];
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", "embedded:", errstr, 512), 0);
    assert_null(rv_producer_new(conf, errstr, sizeof errstr));
    rvt_assert_contains(errstr, "needs a data folder");
    rv_conf_destroy(conf);
    producer_fails(f, "acks", "1", "enable.idempotence", "true",
                   "Must set acks to all in order to use the idempotent producer");
    producer_fails(f, "retries", "0", "enable.idempotence", "true", "Must set retries to non-zero");
    producer_fails(f, "delivery.timeout.ms", "1000", NULL, NULL,
                   "delivery.timeout.ms should be equal to or larger than linger.ms + "
                   "request.timeout.ms");
    /* Values the table refuses. */
    conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "acks", "2", errstr, 512), RV_CONF_INVALID);
    assert_int_equal(rv_conf_set(conf, "compression.type", "brotli", errstr, 512), RV_CONF_INVALID);
    assert_int_equal(rv_conf_set(conf, "linger.ms", "-1", errstr, 512), RV_CONF_INVALID);
    rv_conf_destroy(conf);
    /* Too large for max.request.size (librdkafka's smallest is 1000). */
    rv_producer_t *p = producer(f, "max.request.size", "1000", NULL);
    char big[1100];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rv_producer_record_t x = rec("one", NULL, big);
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr),
                     RV_ERR_MESSAGE_TOO_LARGE);
    rvt_assert_contains(errstr, "max.request.size");
    rv_producer_destroy(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivery_callback, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_send_sync_and_poll, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_linger_batches, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffer_full_blocks_then_fails, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_acks, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_order_and_keys, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_runs, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_sticky_null_keys, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_user_partitioner, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_topic_and_partition, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_batches, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_compression, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_close, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
