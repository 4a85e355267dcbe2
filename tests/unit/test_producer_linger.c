/* tests/unit/test_producer_linger.c: records sent with linger.ms > 0 to
 * an idle producer are sent once they have lingered, without a flush (a
 * send that opens a batch wakes the sender thread to wait for its linger
 * deadline), and a record sent from a delivery callback during a flush is
 * covered by that flush. Runs on both backends (rvt_bootstrap()). */
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

static rv_producer_t *producer(fixture_t *f, const char *linger) {
    rv_conf_t *conf = rv_conf_new();
    char errstr[512];
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", f->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "linger.ms", linger, errstr, sizeof errstr), 0);
    rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
    if (!p)
        fail_msg("producer: %s", errstr);
    return p;
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linger_record_sent_without_flush, setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_flush_covers_send_from_callback, setup,
                                        rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
