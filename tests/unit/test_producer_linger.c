/* tests/unit/test_producer_linger.c: records sent with linger.ms > 0 to
 * an idle producer are sent once they have lingered, without a flush (a
 * send that opens a batch wakes the sender thread to wait for its linger
 * deadline), also while the producer is busy with other partitions; a
 * batch that fills goes at once whatever linger.ms says; a record sent
 * from a delivery callback during a flush is covered by that flush. Runs
 * on both backends (rvt_bootstrap()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/topics.h"
#include "common/clock.h"
#include "rivulet/broker.h"
#include "rivulet/producer.h"

typedef rvt_client_fx_t fixture_t;

static int setup(void **state) {
    rvt_client_fx_setup(state);
    fixture_t *f = *state;
    char errstr[512];
    if (rv__topics_create(rv__broker_topics(f->broker), "one", 1, 1, NULL, NULL, 0, errstr,
                          sizeof errstr))
        return -1;
    return 0;
}

static rv_producer_t *producer_bs(fixture_t *f, const char *linger, const char *batch_size) {
    rv_conf_t *conf = rv_conf_new();
    char errstr[512];
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", f->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "linger.ms", linger, errstr, sizeof errstr), 0);
    if (batch_size)
        assert_int_equal(rv_conf_set(conf, "batch.size", batch_size, errstr, sizeof errstr), 0);
    rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
    if (!p)
        fail_msg("producer: %s", errstr);
    return p;
}

static rv_producer_t *producer(fixture_t *f, const char *linger) {
    return producer_bs(f, linger, NULL);
}

typedef struct report_s {
    rv_err_t err;
    int64_t offset;
    int called;
} report_t;

static void report_cb(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                      int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p, (void)errmsg, (void)topic, (void)partition, (void)timestamp;
    report_t *r = opaque;
    r->err = err;
    r->offset = offset;
    r->called++;
}

static rv_producer_record_t rec(const char *value) {
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = "one";
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    return r;
}

/* linger.ms=20: a record sent once the sender thread sleeps must be
 * appended about 20 ms later and reported by poll, as Kafka's sender does
 * on its own. The sender went to sleep with no open batch (no deadline),
 * and rv_producer_send() only signals it when linger.ms is 0, so the record
 * stays in the accumulator for ever. */
static void test_linger_record_sent_without_flush(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "20");
    usleep(200 * 1000); /* let the sender thread reach its idle wait */
    char errstr[512];
    report_t r = {0};
    rv_producer_record_t x = rec("v");
    assert_int_equal(rv_producer_send(p, &x, report_cb, &r, errstr, sizeof errstr), 0);
    int64_t t0 = rv__mono_ms();
    while (!r.called && rv__mono_ms() - t0 < 3000)
        rv_producer_poll(p, 50);
    size_t left = rv_producer_in_flight(p);
    rv_producer_destroy(p);
    assert_int_equal(left, 0);
    assert_int_equal(r.called, 1);
    assert_int_equal(r.err, RV_ERR_NO_ERROR);
    assert_int_equal(r.offset, 0);
}

/* The same through flush: a delivery callback may call rv_producer_send()
 * (producer.h), and flush waits for records sent meanwhile, so the record
 * sent from the callback must be sealed and delivered before flush
 * returns, not left lingering in a fresh batch until flush times out. */
typedef struct chain_s {
    report_t second;
    int sent;
} chain_t;

static void send_again_cb(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                          int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)err, (void)errmsg, (void)topic, (void)partition, (void)offset, (void)timestamp;
    chain_t *c = opaque;
    char errstr[256];
    rv_producer_record_t x = rec("second");
    if (rv_producer_send(p, &x, report_cb, &c->second, errstr, sizeof errstr) == 0)
        c->sent = 1;
}

static void test_flush_covers_send_from_callback(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer(f, "5");
    char errstr[512];
    chain_t c;
    memset(&c, 0, sizeof c);
    rv_producer_record_t x = rec("first");
    assert_int_equal(rv_producer_send(p, &x, send_again_cb, &c, errstr, sizeof errstr), 0);
    rv_err_t err = rv_producer_flush(p, 3000);
    rv_producer_destroy(p);
    assert_int_equal(c.sent, 1);
    assert_int_equal(err, RV_ERR_NO_ERROR);
    assert_int_equal(c.second.called, 1);
    assert_int_equal(c.second.err, RV_ERR_NO_ERROR);
}

/* linger.ms=60000 and batch.size=1024: the records that fill the first
 * batch must be appended and reported within a few seconds, without a
 * flush (Kafka's accumulator wakes the sender for a full batch); only the
 * last, partly filled batch lingers. A producer that leaves the sender
 * asleep until the linger deadline fails this. */
static void test_full_batch_sent_at_once(void **state) {
    fixture_t *f = *state;
    rv_producer_t *p = producer_bs(f, "60000", "1024");
    usleep(100 * 1000); /* the sender sleeps with nothing to do */
    char errstr[512];
    enum { N = 44 };
    report_t r[N];
    memset(r, 0, sizeof r);
    char value[100];
    memset(value, 'x', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < N; i++) {
        rv_producer_record_t x = rec(value);
        assert_int_equal(rv_producer_send(p, &x, report_cb, &r[i], errstr, sizeof errstr), 0);
        /* The first record's batch has its linger deadline; the sender
         * goes back to sleep until then before the batch fills. */
        if (i == 0)
            usleep(100 * 1000);
    }
    int64_t t0 = rv__mono_ms();
    while (!r[0].called && rv__mono_ms() - t0 < 5000)
        rv_producer_poll(p, 50);
    int first = r[0].called, last = r[N - 1].called;
    rv_err_t first_err = r[0].err;
    int64_t first_off = r[0].offset;
    /* The last record's batch is not full: it still lingers. */
    size_t left = rv_producer_in_flight(p);
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    int last_after_flush = r[N - 1].called;
    rv_producer_destroy(p);
    assert_int_equal(first, 1);
    assert_int_equal(first_err, RV_ERR_NO_ERROR);
    assert_int_equal(first_off, 0);
    /* How librdkafka cuts its batches is its own business. */
    if (!rvt_kafka_backend()) {
        assert_int_equal(last, 0);
        assert_true(left > 0 && left < N);
    }
    assert_int_equal(last_after_flush, 1);
}

/* linger.ms=50 while the producer keeps another partition's batches
 * going: a lone record on partition 1 must still be reported about
 * linger.ms after it was sent (well within a second), not when some other
 * event next makes the sender look at the lingering batches. */
static void test_linger_bounds_latency_while_busy(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    assert_int_equal(rv__topics_create(rv__broker_topics(f->broker), "two", 2, 1, NULL, NULL, 0,
                                       errstr, sizeof errstr),
                     0);
    rv_producer_t *p = producer_bs(f, "50", "1024");
    char value[200];
    memset(value, 'y', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    report_t lone = {0}, busy[100];
    memset(busy, 0, sizeof busy);
    int64_t worst = 0;
    for (int round = 0; round < 3; round++) {
        memset(&lone, 0, sizeof lone);
        rv_producer_record_t x = rec("lone");
        x.topic = "two";
        x.partition = 1;
        assert_int_equal(rv_producer_send(p, &x, report_cb, &lone, errstr, sizeof errstr), 0);
        int64_t t0 = rv__mono_ms();
        /* Full batches keep leaving on partition 0 meanwhile. */
        for (int i = 0; !lone.called && rv__mono_ms() - t0 < 5000; i++) {
            rv_producer_record_t y = rec(value);
            y.topic = "two";
            y.partition = 0;
            assert_int_equal(
                rv_producer_send(p, &y, report_cb, &busy[i % 100], errstr, sizeof errstr), 0);
            rv_producer_poll(p, 1);
        }
        int64_t waited = rv__mono_ms() - t0;
        assert_int_equal(lone.called, 1);
        assert_int_equal(lone.err, RV_ERR_NO_ERROR);
        if (waited > worst)
            worst = waited;
    }
    assert_int_equal(rv_producer_flush(p, 5000), 0);
    rv_producer_destroy(p);
    /* 50 ms of linger; the rest is slack for a loaded machine. */
    assert_true(worst < 1500);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linger_record_sent_without_flush, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_full_batch_sent_at_once, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_linger_bounds_latency_while_busy, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_flush_covers_send_from_callback, setup,
                                        rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
