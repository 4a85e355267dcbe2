/* tests/unit/test_streams_outage.c: a stream app on the kafka backend
 * while its broker goes away and comes back.
 *
 * The broker's data folder stays open in this process; only its Kafka
 * protocol server is stopped (rv__kserver_stop) and started again on the
 * same port, so the app's librdkafka clients see every connection drop and
 * nothing listening until the restart. Input is produced through the
 * embedded backend (the same broker, no network), so it keeps arriving
 * while the server is down.
 *
 *  - test_outage_short / test_outage_long, test_broker_restart_short /
 *    _long: a counting app survives an outage shorter / longer than
 *    session.timeout.ms (of the server, or of the whole broker, whose
 *    group coordinator then forgets the members): it is RUNNING again,
 *    every input record is counted, no key's count ever goes down in the
 *    output, and close returns in time.
 *  - test_close_during_outage: rv_streams_close() with a timeout while the
 *    broker is down returns within (about) that timeout; a new instance
 *    started once the broker is back loses nothing.
 *  - test_outage_during_restore(_past_request_timeout): the broker goes
 *    away while a new task restores; the lookups the restore needs are
 *    tried again (task.timeout.ms), so the app recovers even when they
 *    time out meanwhile.
 *  - test_close_while_restore_waits_for_broker: rv_streams_close() keeps
 *    its timeout while a stream thread waits for the broker inside a
 *    restore's lookup (no app lock is held across network calls). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/rivulet.h"
#include "runtime/streams_internal.h"

#define NKEYS 4

typedef struct fx_s {
    char *dir;
    rv_broker_t *broker;
    rv__kserver_t *srv;
    int port;
    char bs[64];    /* 127.0.0.1:PORT: the app's bootstrap.servers */
    char ebs[4200]; /* embedded:DIR: the test's producer and reader */
    char state[4200];
    rv_producer_t *prod; /* embedded */
    int produced[NKEYS];
} fx_t;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void srv_start(fx_t *fx) {
    char errstr[512];
    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.listen_port = fx->port; /* 0 the first time, then the same port */
    int64_t until = rv__mono_ms() + 10000;
    rv_err_t err;
    while ((err = rv__kserver_start(&fx->srv, fx->broker, &cfg, errstr, sizeof errstr)) &&
           rv__mono_ms() < until)
        sleep_ms(100); /* the old listener's port may linger a moment */
    if (err)
        fail_msg("rv__kserver_start on port %d: %s", fx->port, errstr);
    fx->port = rv__kserver_port(fx->srv);
    snprintf(fx->bs, sizeof fx->bs, "127.0.0.1:%d", fx->port);
}

static void srv_stop(fx_t *fx) {
    rv__kserver_stop(fx->srv);
    fx->srv = NULL;
}

/* A whole broker restart: the server and the broker itself (its group
 * coordinator forgets the members; the data folder stays). */
static void broker_down(fx_t *fx) {
    srv_stop(fx);
    rv_producer_destroy(fx->prod); /* it holds the embedded broker open */
    fx->prod = NULL;
    rv_broker_close(fx->broker);
    fx->broker = NULL;
}

static rv_conf_t *conf_for(const char *bs);

static void broker_up(fx_t *fx) {
    char errstr[512];
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    fx->prod = rv_producer_new(conf_for(fx->ebs), errstr, sizeof errstr);
    assert_non_null(fx->prod);
    srv_start(fx);
}

static rv_conf_t *conf_for(const char *bs) {
    char errstr[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", bs, errstr, sizeof errstr), 0);
    return c;
}

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char errstr[512];
    fx->dir = rvt_tmpdir();
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    snprintf(fx->ebs, sizeof fx->ebs, "embedded:%s", fx->dir);
    snprintf(fx->state, sizeof fx->state, "%s/state", fx->dir);
    srv_start(fx);
    fx->prod = rv_producer_new(conf_for(fx->ebs), errstr, sizeof errstr);
    assert_non_null(fx->prod);
    rvt_create_topic_kept(fx->ebs, "words", 2);
    rvt_create_topic_kept(fx->ebs, "counts", 2);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    if (!fx->broker)
        broker_up(fx);
    rv_producer_destroy(fx->prod);
    srv_stop(fx);
    rv_broker_close(fx->broker);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* n records, round robin over keys k0..k3 (key i in partition i % 2). */
static void produce_words(fx_t *fx, int n) {
    char errstr[512];
    static int64_t ts = 1;
    for (int i = 0; i < n; i++) {
        int k = i % NKEYS;
        char key[8];
        snprintf(key, sizeof key, "k%d", k);
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "words";
        r.partition = k % 2;
        r.key = key;
        r.key_len = (int32_t)strlen(key);
        r.value = "x";
        r.value_len = 1;
        r.timestamp = ts++;
        assert_int_equal(
            rv_producer_send_sync(fx->prod, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
        fx->produced[k]++;
    }
}

static rv_conf_t *app_conf(fx_t *fx, const char *state_sub, const char *commit_ms) {
    char errstr[512], sd[4400];
    rv_conf_t *c = conf_for(fx->bs);
    snprintf(sd, sizeof sd, "%s/%s", fx->state, state_sub);
    assert_int_equal(rv_conf_set(c, "application.id", "outage-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", commit_ms, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "6000", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "500", errstr, sizeof errstr), 0);
    return c;
}

static rv_streams_t *start_app(rv_topology_t *t, rv_conf_t *conf) {
    char errstr[1024];
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    return s;
}

/* Reads "counts" from the beginning (embedded) until every key's latest
 * count reached what was produced for it, or timeout_ms passed. Fails the
 * test when a key's count ever went down in the output (state rolled
 * back) or when a key stays below its input count (records skipped). */
static void check_counts(fx_t *fx, int timeout_ms, const char *when) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(conf_for(fx->ebs), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(2);
    for (int32_t p = 0; p < 2; p++)
        rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "counts", p),
                                      RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    int64_t last[NKEYS] = {0}, outputs = 0;
    int drops = 0;
    char drop_msg[1024] = "";
    int64_t until = rv__mono_ms() + timeout_ms;
    for (;;) {
        int done = 1;
        for (int k = 0; k < NKEYS; k++)
            done = done && last[k] >= fx->produced[k];
        if (done || rv__mono_ms() >= until)
            break;
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 100, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *key = rv_record_key(r, &kl);
            const void *v = rv_record_value(r, &vl);
            int64_t n = -1;
            rv_serde_int64_read(&n, v, vl);
            int k = key && kl == 2 && key[0] == 'k' ? key[1] - '0' : -1;
            assert_true(k >= 0 && k < NKEYS);
            outputs++;
            if (n < last[k]) {
                if (!drops++)
                    snprintf(drop_msg, sizeof drop_msg,
                             "k%d went from %" PRId64 " down to %" PRId64 " at counts-%d@%" PRId64,
                             k, last[k], n, rv_record_partition(r), rv_record_offset(r));
            }
            last[k] = n;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    fprintf(stderr, "[%s] %" PRId64 " outputs; per key latest/produced:", when, outputs);
    for (int k = 0; k < NKEYS; k++)
        fprintf(stderr, " k%d=%" PRId64 "/%d", k, last[k], fx->produced[k]);
    fprintf(stderr, "\n");
    if (drops)
        fail_msg("[%s] a count went down %d time(s): first %s", when, drops, drop_msg);
    for (int k = 0; k < NKEYS; k++)
        if (last[k] < fx->produced[k])
            fail_msg("[%s] key k%d counted %" PRId64 " of %d input records", when, k, last[k],
                     fx->produced[k]);
}

static void wait_state(rv_streams_t *s, rv_streams_state_t want, int timeout_ms, const char *when) {
    int64_t until = rv__mono_ms() + timeout_ms;
    while (rv_streams_state(s) != want && rv__mono_ms() < until &&
           rv_streams_state(s) != RV_STREAMS_ERROR) /* ERROR is final */
        sleep_ms(20);
    if (rv_streams_state(s) != want)
        fail_msg("[%s] the app is %s, not %s, after %d ms", when,
                 rv_streams_state_name(rv_streams_state(s)), rv_streams_state_name(want),
                 timeout_ms);
}

static void timed_close(rv_streams_t *s, int timeout_ms, int slack_ms, const char *when) {
    int64_t t0 = rv__mono_ms();
    rv_err_t err = rv_streams_close(s, timeout_ms);
    int64_t took = rv__mono_ms() - t0;
    fprintf(stderr, "[%s] rv_streams_close(%d) = %s after %" PRId64 " ms\n", when, timeout_ms,
            rv_err_name(err), took);
    if (took > timeout_ms + slack_ms)
        fail_msg("[%s] rv_streams_close(%d) took %" PRId64 " ms (%s)", when, timeout_ms, took,
                 rv_err_name(err));
}

/* The app runs, the broker goes away for outage_ms while input keeps
 * coming, and comes back on the same port. */
static void run_outage(fx_t *fx, int outage_ms, const char *sub, bool whole_broker) {
    rv_topology_t *t = rvt_count_topology(NULL);
    rv_streams_t *s = start_app(t, app_conf(fx, sub, "100"));
    wait_state(s, RV_STREAMS_RUNNING, 30000, "start");
    produce_words(fx, 20);
    check_counts(fx, 30000, "before the outage");

    if (whole_broker) {
        broker_down(fx);
        fprintf(stderr, "[outage] broker closed for %d ms (app %s)\n", outage_ms,
                rv_streams_state_name(rv_streams_state(s)));
        sleep_ms(outage_ms);
        broker_up(fx);
        produce_words(fx, 20);
    } else {
        srv_stop(fx);
        fprintf(stderr, "[outage] server stopped for %d ms (app %s)\n", outage_ms,
                rv_streams_state_name(rv_streams_state(s)));
        produce_words(fx, 20);
        sleep_ms(outage_ms);
        fprintf(stderr, "[outage] restarting the server on port %d (app %s)\n", fx->port,
                rv_streams_state_name(rv_streams_state(s)));
        srv_start(fx);
    }
    produce_words(fx, 20);

    wait_state(s, RV_STREAMS_RUNNING, 60000, "after the outage");
    check_counts(fx, 60000, "after the outage");
    /* Still processing new input: past the highest count so far. */
    produce_words(fx, 8 * NKEYS);
    check_counts(fx, 30000, "after the outage, new input");
    assert_string_equal(rv_streams_state_name(rv_streams_state(s)), "RUNNING");
    timed_close(s, 10000, 1000, "close after the outage");
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

static void test_outage_short(void **state) {
    run_outage(*state, 2000, "short", false); /* < session.timeout.ms (6000) */
}

static void test_broker_restart_short(void **state) {
    run_outage(*state, 2000, "short", true);
}

static void test_broker_restart_long(void **state) {
    run_outage(*state, 8000, "long", true);
}

static void test_outage_long(void **state) {
    run_outage(*state, 8000, "long", false); /* > session.timeout.ms (6000) */
}

/* Closed while the broker is down, with processed but uncommitted work. */
static void test_close_during_outage(void **state) {
    fx_t *fx = *state;
    rv_topology_t *t = rvt_count_topology(NULL);
    rv_streams_t *s = start_app(t, app_conf(fx, "a", "100"));
    wait_state(s, RV_STREAMS_RUNNING, 30000, "start");
    produce_words(fx, 20);
    check_counts(fx, 30000, "before the outage");

    srv_stop(fx);
    produce_words(fx, 20); /* the app cannot see these */
    sleep_ms(500);
    timed_close(s, 5000, 1500, "close while the broker is down");
    /* Give the broker back so whatever is still running can finish, then
     * destroy (which waits for the threads). */
    srv_start(fx);
    int64_t t0 = rv__mono_ms();
    rv_streams_destroy(s);
    fprintf(stderr, "[close during outage] destroy took %" PRId64 " ms\n", rv__mono_ms() - t0);

    /* A new instance with the broker up loses nothing. */
    s = start_app(t, app_conf(fx, "a", "100"));
    wait_state(s, RV_STREAMS_RUNNING, 30000, "restart");
    produce_words(fx, 8);
    check_counts(fx, 60000, "after the restart");
    timed_close(s, 10000, 1000, "final close");
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

/* ---- close() while a restore waits for the broker ---- */

static _Atomic int g_end_calls;
static _Atomic int g_stop_req; /* the restore listener asks the test to stop the server */
static _Atomic int g_stopped;  /* the test did */

static void r_end(const char *topic, int32_t partition, const char *store, int64_t total,
                  void *opaque) {
    (void)topic;
    (void)partition;
    (void)store;
    (void)total;
    (void)opaque;
    if (atomic_fetch_add(&g_end_calls, 1) != 0)
        return;
    /* The first task restored: the broker goes away before the second
     * task's restore asks it for its changelog's end offset. */
    atomic_store(&g_stop_req, 1);
    int64_t until = rv__mono_ms() + 15000;
    while (!atomic_load(&g_stopped) && rv__mono_ms() < until)
        sleep_ms(10);
}

/* Starts the count app (state folder `sub`, request.timeout.ms when
 * given) and stops the server once its first task is restored, before the
 * second one asks for its changelog's end offset. */
static rv_streams_t *start_and_stop_server_in_restore(fx_t *fx, rv_topology_t *t, const char *sub,
                                                      const char *request_timeout_ms) {
    char errstr[1024];
    atomic_store(&g_end_calls, 0);
    atomic_store(&g_stop_req, 0);
    atomic_store(&g_stopped, 0);
    rv_conf_t *c = app_conf(fx, sub, "100");
    if (request_timeout_ms)
        assert_int_equal(
            rv_conf_set(c, "request.timeout.ms", request_timeout_ms, errstr, sizeof errstr), 0);
    rv_streams_t *s = rv_streams_new(t, c, errstr, sizeof errstr);
    assert_non_null(s);
    rv_state_restore_listener_t l = RV_STATE_RESTORE_LISTENER_INIT;
    l.on_end = r_end;
    assert_int_equal(rv_streams_set_restore_listener(s, &l), 0);
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);
    int64_t until = rv__mono_ms() + 30000;
    while (!atomic_load(&g_stop_req) && rv__mono_ms() < until)
        sleep_ms(10);
    assert_true(atomic_load(&g_stop_req));
    srv_stop(fx);
    atomic_store(&g_stopped, 1);
    return s;
}

static void test_close_while_restore_waits_for_broker(void **state) {
    fx_t *fx = *state;
    rv_topology_t *t = rvt_count_topology(NULL);
    rv_streams_t *s = start_and_stop_server_in_restore(fx, t, "r", "15000");
    sleep_ms(500); /* the stream thread is in the second task's restore now */
    fprintf(stderr, "[restore] app is %s\n", rv_streams_state_name(rv_streams_state(s)));
    int64_t t0 = rv__mono_ms();
    rv_err_t err = rv_streams_close(s, 2000);
    int64_t took = rv__mono_ms() - t0;
    fprintf(stderr, "[restore] rv_streams_close(2000) = %s after %" PRId64 " ms\n",
            rv_err_name(err), took);
    srv_start(fx);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
    if (took > 3500)
        fail_msg("rv_streams_close(2000) took %" PRId64 " ms while a restore waited for the "
                 "broker",
                 took);
}

/* The broker goes away for a moment while a new task restores (its
 * changelog's end offset is asked for with the broker down), then comes
 * back: the app recovers, as from any other outage of that length. */
static void outage_during_restore(fx_t *fx, int outage_ms, const char *request_timeout_ms) {
    rv_topology_t *t = rvt_count_topology(NULL);
    produce_words(fx, 20);
    rv_streams_t *s = start_and_stop_server_in_restore(fx, t, "d", request_timeout_ms);
    sleep_ms(outage_ms); /* shorter than session.timeout.ms (6000) */
    srv_start(fx);
    fprintf(stderr, "[restore outage] server back after %d ms; app is %s\n", outage_ms,
            rv_streams_state_name(rv_streams_state(s)));
    wait_state(s, RV_STREAMS_RUNNING, 60000, "after an outage during a restore");
    produce_words(fx, 8);
    check_counts(fx, 60000, "after an outage during a restore");
    timed_close(s, 10000, 1000, "close");
    rv_streams_destroy(s);
    rv_topology_destroy(t);
}

static void test_outage_during_restore(void **state) {
    outage_during_restore(*state, 2000, NULL);
}

/* The same, with the outage (5 s, still shorter than session.timeout.ms)
 * longer than request.timeout.ms (3 s): the restore's end-offset lookup
 * times out and is tried again, as a RUNNING app survives a longer outage
 * (test_outage_long). */
static void test_outage_during_restore_past_request_timeout(void **state) {
    outage_during_restore(*state, 5000, "3000");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outage_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_during_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_during_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_during_restore_past_request_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_while_restore_waits_for_broker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
