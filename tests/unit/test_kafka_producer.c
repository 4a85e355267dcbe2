/* tests/unit/test_kafka_producer.c: what only the kafka backend of the
 * producer (client/kafka_producer.c) has to show, against a rivulet Kafka
 * protocol server on 127.0.0.1 (rvt_bootstrap() with RVT_BACKEND=kafka):
 * keyed records land where Java puts them, delivery callbacks run only on
 * the thread that polls, a user partitioner sees keys and values, room in
 * buffer.memory comes back when the broker answers (not when the
 * application polls), record contents and timestamps arrive intact,
 * several threads can send and poll at once, and an unreachable cluster
 * ends in timeouts and RV_ERR__DESTROY. The rest of the
 * producer's behaviour is checked on both backends by test_producer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include <librdkafka/rdkafka.h>

#include "broker/topics.h"
#include "client/producer_internal.h"
#include "common/clock.h"
#include "rivulet/broker.h"
#include "rivulet/producer.h"

typedef rvt_client_fx_t fixture_t;

/* The librdkafka handle the producer made last (tests/CMakeLists.txt links
 * this program with --wrap=rd_kafka_new), for librdkafka's test hooks. */
rd_kafka_t *__real_rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                                size_t errstr_size);
static rd_kafka_t *last_rk;
rd_kafka_t *__wrap_rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                                size_t errstr_size) {
    rd_kafka_t *rk = __real_rd_kafka_new(type, conf, errstr, errstr_size);
    if (rk)
        last_rk = rk;
    return rk;
}

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

/* A producer on bootstrap `bs` with name=value pairs (NULL-terminated). */
static rv_producer_t *producer(const char *bs, ...) {
    char errstr[512];
    va_list ap;
    va_start(ap, bs);
    rv_conf_t *conf = rvt_conf_va(bs, ap);
    va_end(ap);
    rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
    if (!p)
        fail_msg("producer: %s", errstr);
    return p;
}

typedef struct report_s {
    rv_err_t err;
    char msg[256];
    int32_t partition;
    int64_t offset, timestamp;
    int called;
    pthread_t thread;
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
    r->thread = pthread_self();
    r->called++;
}

static rv_producer_record_t rec(const char *topic, const void *key, int32_t key_len,
                                const char *value) {
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.key = key;
    r.key_len = key ? key_len : -1;
    r.value = value;
    r.value_len = value ? (int32_t)strlen(value) : -1;
    return r;
}

#define KEYS 300

/* Keyed records go to murmur2(key) positive-modulo the partition count,
 * the partition Java's producer picks, including empty and binary keys. */
static void test_keyed_partition_is_java(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f->bs, "linger.ms", "5", NULL);
    static report_t r[KEYS];
    static unsigned char keys[KEYS][8];
    memset(r, 0, sizeof r);
    char errstr[512];
    for (int i = 0; i < KEYS; i++) {
        int32_t len = i % 8; /* i % 8 == 0: the empty (not null) key */
        for (int j = 0; j < len; j++)
            keys[i][j] = (unsigned char)(i * 31 + j * 7);
        rv_producer_record_t x = rec("t", keys[i], len, "v");
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    for (int i = 0; i < KEYS; i++) {
        assert_int_equal(r[i].called, 1);
        assert_int_equal(r[i].err, 0);
        assert_int_equal(r[i].partition, rv_partitioner_murmur2(keys[i], i % 8, 4));
    }
    rv_producer_destroy(p);
}

/* Callbacks never run on a library thread: records delivered while nobody
 * polls wait, counted in flight, until poll runs them on its caller. */
static void test_callbacks_on_calling_thread(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f->bs, NULL);
    report_t r[5];
    memset(r, 0, sizeof r);
    char errstr[512];
    for (int i = 0; i < 5; i++) {
        rv_producer_record_t x = rec("one", "k", 1, "v");
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
    }
    /* Written long before this returns (linger.ms=0), but not reported. */
    void *data;
    size_t len;
    int64_t t0 = rv__mono_ms();
    for (;;) {
        assert_int_equal(
            rv_broker_fetch(f->broker, "one", 0, 0, 1 << 20, &data, &len, NULL, NULL, 0), 0);
        rv_free(data);
        if (len > 0 || rv__mono_ms() - t0 > 5000)
            break;
        usleep(10 * 1000);
    }
    assert_true(len > 0);
    usleep(100 * 1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r[i].called, 0);
    assert_int_equal(rv_producer_in_flight(p), 5);
    int n = 0;
    for (t0 = rv__mono_ms(); n < 5 && rv__mono_ms() - t0 < 5000;)
        n += rv_producer_poll(p, 100);
    assert_int_equal(n, 5);
    assert_int_equal(rv_producer_in_flight(p), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].called, 1);
        assert_int_equal(r[i].offset, i);
        assert_true(pthread_equal(r[i].thread, pthread_self()));
    }
    rv_producer_destroy(p);
}

typedef struct seen_s {
    pthread_mutex_t lock;
    int calls, null_keys;
    int32_t last_key_len, last_value_len;
} seen_t;

/* Routes by the value's first digit; "x" is out of range. */
static int32_t value_partitioner(const char *topic, const void *key, int32_t key_len,
                                 const void *value, int32_t value_len, int32_t partition_cnt,
                                 void *opaque) {
    seen_t *s = opaque;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    if (!key && key_len == -1)
        s->null_keys++;
    s->last_key_len = key_len;
    s->last_value_len = value_len;
    pthread_mutex_unlock(&s->lock);
    if (strcmp(topic, "t") || partition_cnt != 4 || !value || value_len < 1)
        return -1;
    const char *v = value;
    return v[0] == 'x' ? partition_cnt : v[0] - '0';
}

static void test_user_partitioner_sees_value(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f->bs, NULL);
    seen_t s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    rv_producer_set_partitioner(p, value_partitioner, &s);
    char errstr[512];
    int32_t part;
    const char *values[] = {"3abc", "1", "2xyz", "0"};
    for (int i = 0; i < 4; i++) {
        rv_producer_record_t x = rec("t", i % 2 ? "key" : NULL, 3, values[i]);
        assert_int_equal(rv_producer_send_sync(p, &x, &part, NULL, NULL, errstr, sizeof errstr), 0);
        assert_int_equal(part, values[i][0] - '0');
        pthread_mutex_lock(&s.lock);
        assert_int_equal(s.last_key_len, i % 2 ? 3 : -1);
        assert_int_equal(s.last_value_len, (int32_t)strlen(values[i]));
        pthread_mutex_unlock(&s.lock);
    }
    assert_int_equal(s.null_keys, 2);
    /* Out of range: the record fails through its callback. */
    report_t r;
    memset(&r, 0, sizeof r);
    rv_producer_record_t x = rec("t", "key", 3, "x");
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rvt_assert_contains(r.msg, "partitioner");
    rv_producer_destroy(p);
    pthread_mutex_destroy(&s.lock);
}

/* buffer.memory is freed when the broker answers, as Java's BufferPool
 * does, not when the application polls: a send that found the buffer
 * full succeeds later without any poll. */
static void test_buffer_room_comes_back_without_poll(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f->bs, "buffer.memory", "2048", "max.block.ms", "200", NULL);
    char errstr[512];
    char value[201];
    memset(value, 'x', 200);
    value[200] = '\0';
    rv_producer_record_t x = rec("one", NULL, -1, value);
    /* With reports held back, librdkafka's queue stays full. */
    rv__producer_pause_sender(p, true);
    int sent = 0;
    rv_err_t err;
    int64_t t0;
    for (;;) {
        t0 = rv__mono_ms();
        if ((err = rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr)))
            break;
        assert_true(++sent < 100);
    }
    assert_int_equal(err, RV_ERR__QUEUE_FULL);
    assert_true(rv__mono_ms() - t0 >= 190);
    rvt_assert_contains(errstr, "max blocking time 200 ms");
    assert_true(sent >= 2);
    /* Reports flow again; nobody polls, yet later sends find room. */
    rv__producer_pause_sender(p, false);
    for (int i = 0; i < 3 * sent; i++)
        assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr), 0);
    /* No callback ran: every record still counts as in flight. */
    assert_int_equal(rv_producer_in_flight(p), (size_t)(4 * sent));
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    assert_int_equal(rv_producer_in_flight(p), 0);
    rv_producer_destroy(p);
}

/* Null value and header value, an empty key and an explicit timestamp
 * arrive as sent; acks=0 reports offset -1. */
static void test_record_contents(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f->bs, NULL);
    char errstr[512];
    rv_header_t hdrs[2] = {{"a", NULL, -1}, {"b", "bv", 2}};
    rv_producer_record_t x = rec("one", "", 0, NULL);
    x.headers = hdrs;
    x.header_cnt = 2;
    x.timestamp = 1234567;
    int64_t off = -1, ts = -1;
    assert_int_equal(rv_producer_send_sync(p, &x, NULL, &off, &ts, errstr, sizeof errstr), 0);
    assert_int_equal(off, 0);
    assert_int_equal(ts, 1234567);
    rv_producer_destroy(p);
    void *data;
    size_t len;
    assert_int_equal(rv_broker_fetch(f->broker, "one", 0, 0, 1 << 20, &data, &len, NULL, NULL, 0),
                     0);
    rv_batch_reader_t *rd = rv_batch_reader_new(data, len);
    assert_int_equal(rv_batch_reader_next(rd), 1);
    int32_t kl, vl;
    assert_non_null(rv_batch_reader_key(rd, &kl));
    assert_int_equal(kl, 0);
    assert_null(rv_batch_reader_value(rd, &vl));
    assert_int_equal(vl, -1);
    assert_int_equal(rv_batch_reader_timestamp(rd), 1234567);
    assert_int_equal(rv_batch_reader_header_count(rd), 2);
    const char *hk;
    int32_t hkl, hvl;
    const void *hv;
    assert_int_equal(rv_batch_reader_header(rd, 0, &hk, &hkl, &hv, &hvl), 0);
    assert_int_equal(hkl, 1);
    assert_memory_equal(hk, "a", 1);
    assert_null(hv);
    assert_int_equal(hvl, -1);
    assert_int_equal(rv_batch_reader_header(rd, 1, &hk, &hkl, &hv, &hvl), 0);
    assert_int_equal(hvl, 2);
    assert_memory_equal(hv, "bv", 2);
    rv_batch_reader_destroy(rd);
    rv_free(data);
}

#define THREADS 4
#define PER_THREAD 400

typedef struct sender_s {
    rv_producer_t *p;
    int id;
    int sent;
    atomic_int *reported;
    pthread_t thread;
} sender_t;

static void count_cb(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                     int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p, (void)errmsg, (void)topic, (void)partition, (void)offset, (void)timestamp;
    if (!err)
        atomic_fetch_add((atomic_int *)opaque, 1);
}

static void *sender_main(void *arg) {
    sender_t *s = arg;
    char errstr[256], key[32];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(key, sizeof key, "t%d-%d", s->id, i % 13);
        rv_producer_record_t x = rec("t", key, (int32_t)strlen(key), "v");
        if (rv_producer_send(s->p, &x, count_cb, s->reported, errstr, sizeof errstr) == 0)
            s->sent++;
        if (i % 50 == 0)
            rv_producer_poll(s->p, 0);
    }
    return NULL;
}

/* send and poll from several threads at once, then one flush covers all. */
static void test_threads(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f->bs, "linger.ms", "2", NULL);
    atomic_int reported;
    atomic_init(&reported, 0);
    sender_t s[THREADS];
    memset(s, 0, sizeof s);
    for (int i = 0; i < THREADS; i++) {
        s[i].p = p;
        s[i].id = i;
        s[i].reported = &reported;
        assert_int_equal(pthread_create(&s[i].thread, NULL, sender_main, &s[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(s[i].thread, NULL);
        assert_int_equal(s[i].sent, PER_THREAD);
    }
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    assert_int_equal(atomic_load(&reported), THREADS * PER_THREAD);
    rv_producer_destroy(p);
    int64_t total = 0;
    for (int32_t part = 0; part < 4; part++) {
        void *data;
        size_t len;
        assert_int_equal(
            rv_broker_fetch(f->broker, "t", part, 0, 1 << 24, &data, &len, NULL, NULL, 0), 0);
        rv_batch_reader_t *rd = rv_batch_reader_new(data, len);
        while (rv_batch_reader_next(rd) == 1)
            total++;
        rv_batch_reader_destroy(rd);
        rv_free(data);
    }
    assert_int_equal(total, THREADS * PER_THREAD);
}

/* No broker answers: records time out after delivery.timeout.ms, and
 * close fails what is left with RV_ERR__DESTROY. */
static void test_unreachable_cluster(void **state) {
    (void)state;
    rv_producer_t *p = producer("127.0.0.1:1", "delivery.timeout.ms", "400", "request.timeout.ms",
                                "300", "enable.idempotence", "false", NULL);
    char errstr[512];
    report_t r;
    memset(&r, 0, sizeof r);
    rv_producer_record_t x = rec("one", "k", 1, "v");
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, RV_ERR__MSG_TIMED_OUT);
    assert_int_equal(r.offset, -1);
    memset(&r, 0, sizeof r);
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    assert_int_equal(rv_producer_close(p, 50), RV_ERR__TIMED_OUT);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, RV_ERR__DESTROY);
    assert_int_equal(rv_producer_in_flight(p), 0);
    assert_int_equal(rv_producer_send(p, &x, NULL, NULL, errstr, sizeof errstr), RV_ERR__STATE);
    rv_producer_destroy(p);
}

/* An idempotent producer hit by a fatal error (librdkafka raises one for
 * an OUT_OF_ORDER_SEQUENCE_NUMBER it cannot recover from, a fenced epoch,
 * ...) fails the records still queued with that error, as Java's does,
 * not as if the producer had been closed: librdkafka purges its queue and
 * reports them __PURGE_QUEUE. */
static void test_fatal_error_fails_queued_records_with_it(void **state) {
    fixture_t *f = *state;
    last_rk = NULL;
    rv_producer_t *p = producer(f->bs, "enable.idempotence", "true", "linger.ms", "20000",
                                "delivery.timeout.ms", "60000", NULL);
    assert_non_null(last_rk);
    char errstr[512];
    report_t r;
    memset(&r, 0, sizeof r);
    rv_producer_record_t x = rec("one", "k", 1, "v");
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    assert_int_equal(rd_kafka_test_fatal_error(last_rk,
                                               RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                               "injected by the test"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t until = rv__mono_ms() + 10000;
    while (!r.called && rv__mono_ms() < until)
        rv_producer_poll(p, 100);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    rvt_assert_contains(r.msg, "Fatal producer error");
    rv_producer_destroy(p);
}

int main(void) {
    /* This program checks the kafka backend only: always serve the test
     * folders over the Kafka protocol. */
    setenv("RVT_BACKEND", "kafka", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keyed_partition_is_java, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_on_calling_thread, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_user_partitioner_sees_value, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_buffer_room_comes_back_without_poll, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_record_contents, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_cluster, setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_fatal_error_fails_queued_records_with_it, setup,
                                        rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
