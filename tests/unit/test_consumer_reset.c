/* tests/unit/test_consumer_reset.c: a position past the high watermark
 * (a committed offset that outlived its topic, or a seek past the end) is
 * out of range for the consumer, as Kafka's fetch answers
 * OFFSET_OUT_OF_RANGE: auto.offset.reset applies, or with
 * auto.offset.reset=none the poll fails, instead of waiting until the log
 * grows that far and skipping every record below it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"

typedef rvt_client_fx_t fx_t;

static rv_admin_t *admin(fx_t *fx) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    return a;
}

static void create_topic(fx_t *fx, const char *topic) {
    char errstr[512];
    rv_admin_t *a = admin(fx);
    assert_int_equal(rv_admin_create_topic(a, topic, 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_admin_destroy(a);
}

static void delete_topic(fx_t *fx, const char *topic) {
    char errstr[512];
    rv_admin_t *a = admin(fx);
    assert_int_equal(rv_admin_delete_topic(a, topic, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
}

/* n records with values "0".."n-1" to partition 0, one batch. */
static void produce(fx_t *fx, const char *topic, int n) {
    char errstr[512], v[16];
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = 0; i < n; i++) {
        int vl = snprintf(v, sizeof v, "%d", i);
        assert_int_equal(rv_batch_builder_add(b, NULL, -1, v, vl, rv__now_ms()), 0);
    }
    const void *data;
    size_t len;
    assert_int_equal(rv_batch_builder_finish(b, &data, &len), 0);
    assert_int_equal(
        rv_broker_produce(fx->broker, topic, 0, data, len, 1, NULL, errstr, sizeof errstr), 0);
    rv_batch_builder_destroy(b);
}

static rv_consumer_t *consumer(fx_t *fx, const char *reset) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "group.id", "g", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", reset, errstr, sizeof errstr), 0);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        fail_msg("consumer: %s", errstr);
    return c;
}

static void assign1(rv_consumer_t *c, const char *topic, int64_t offset) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, 0), offset);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
}

/* Polls for up to `ms`; returns the records seen and the first offset. */
static int poll_for(rv_consumer_t *c, int ms, int64_t *first, rv_err_t *last_err) {
    int got = 0;
    *first = -1;
    *last_err = RV_ERR_NO_ERROR;
    int64_t until = rv__mono_ms() + ms;
    while (rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        rv_err_t err = rv_consumer_poll(c, 50, &rs);
        if (err) {
            *last_err = err;
            return got;
        }
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            if (*first < 0)
                *first = rv_record_offset(rv_records_get(rs, i));
            got++;
        }
        rv_records_destroy(rs);
    }
    return got;
}

/* Group g committed 50 on "t"; the topic is deleted and created again and
 * gets 10 records. Kafka's consumer fetches at 50, gets
 * OFFSET_OUT_OF_RANGE (50 > the log end offset 10) and resets to the
 * earliest offset, so records 0..9 are read. This consumer instead waits
 * at 50: the 10 records, and the next 40, are never delivered. */
static void test_committed_offset_past_end_is_reset(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    create_topic(fx, "t");
    produce(fx, "t", 50);
    rv_consumer_t *c = consumer(fx, "earliest");
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "t", 0), 50);
    assert_int_equal(rv_consumer_commit_sync(c, l, errstr, sizeof errstr), 0);
    rv_topic_partition_list_destroy(l);
    rv_consumer_destroy(c);

    delete_topic(fx, "t");
    create_topic(fx, "t");
    produce(fx, "t", 10);

    c = consumer(fx, "earliest");
    assign1(c, "t", RV_OFFSET_STORED);
    int64_t first;
    rv_err_t err;
    /* Over the network the reset takes a few round trips (and a Fetch
     * waits up to fetch.max.wait.ms before another request is answered). */
    int got = poll_for(c, rvt_kafka_backend() ? 3000 : 500, &first, &err);
    rv_consumer_destroy(c);
    assert_int_equal(err, RV_ERR_NO_ERROR);
    assert_int_equal(got, 10);
    assert_int_equal(first, 0);
}

/* consumer.h: poll fails with RV_ERR_OFFSET_OUT_OF_RANGE when
 * auto.offset.reset=none and the position is outside the log. A position
 * of 50 in a log of 10 records (valid fetch offsets 0..10) is outside it,
 * yet poll returns empty containers; once the log reaches 60 records the
 * consumer returns 50..59 and has skipped 10..49 without any error. */
static void test_position_past_end_with_reset_none(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "t");
    produce(fx, "t", 10);
    rv_consumer_t *c = consumer(fx, "none");
    assign1(c, "t", 50);
    int64_t first;
    rv_err_t err;
    int got = poll_for(c, 300, &first, &err);
    if (err == RV_ERR_NO_ERROR) {
        produce(fx, "t", 50); /* offsets 10..59 */
        got += poll_for(c, 300, &first, &err);
    }
    rv_consumer_destroy(c);
    if (err == RV_ERR_NO_ERROR)
        fail_msg("no OFFSET_OUT_OF_RANGE for position 50 past the end (10); then got %d "
                 "record(s) from offset %lld, skipping 10..49",
                 got, (long long)first);
    assert_int_equal(err, RV_ERR_OFFSET_OUT_OF_RANGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_committed_offset_past_end_is_reset,
                                        rvt_client_fx_setup, rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_position_past_end_with_reset_none, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
