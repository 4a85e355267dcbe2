/* tests/unit/test_kafka_limits.c: what bounds the work one client can make
 * the network broker do, through rv__kapi_call on a real broker: a Fetch
 * response never holds more than fetch.max.bytes (but always one whole
 * batch), whatever the client asks; and requests naming very many topics
 * (each a candidate duplicate of the others) are answered correctly, one
 * result per distinct name, with repeats reported as Kafka does. Also the
 * shape Produce accepts: one RecordBatch v2 per partition from v3 on (the
 * idempotence checks rely on it), and magic 2 only at every version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/kafka/api.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"

typedef rvt_kapi_t fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    rvt_kapi_open(fx);
    fx->ctx.cluster_id = "limits";
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    rvt_kapi_close(*state);
    free(*state);
    return 0;
}

static void header(rv__kw_t *w, int16_t key, int16_t version) {
    rvt_kreq_begin(w, key, version, 42, "limits-test");
}

/* Sums the record bytes of a Fetch v4 response for one partition. */
static size_t fetched_bytes(const rv__kw_t *resp, int64_t *hwm) {
    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    rv__kr_init(&r, resp->b.data, resp->b.len, &arena);
    (void)rv__kr_i32(&r); /* throttle */
    assert_int_equal(rv__kr_array(&r, 0), 1);
    (void)rv__kr_str(&r);
    assert_int_equal(rv__kr_array(&r, 0), 1);
    (void)rv__kr_i32(&r);                /* partition */
    assert_int_equal(rv__kr_i16(&r), 0); /* error */
    *hwm = rv__kr_i64(&r);               /* high watermark */
    (void)rv__kr_i64(&r);                /* last stable offset */
    (void)rv__kr_array(&r, 0);           /* aborted transactions (null) */
    size_t len;
    (void)rv__kr_bytes(&r, &len);
    assert_false(r.err);
    rv__karena_free(&arena);
    return len;
}

static void test_fetch_max_bytes_caps_the_response(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    char bs[4200];
    snprintf(bs, sizeof bs, "embedded:%s", fx->dir);
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(rv_admin_create_topic(a, "big", 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_admin_destroy(a);
    size_t one = 0;
    for (int i = 0; i < 5; i++) {
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, 10, "k", 100, 1700000000000LL);
        one = batch.len;
        assert_int_equal(rv_broker_produce(fx->broker, "big", 0, batch.data, batch.len, 1, NULL,
                                           errstr, sizeof errstr),
                         0);
        rv__buf_free(&batch);
    }
    /* The broker allows a bit more than two batches per response. */
    fx->ctx.fetch_max_bytes = (int32_t)(2 * one + one / 2);
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: the client asks for everything; pass 1: for less than
         * one batch, which still gets the first batch whole (KIP-74). */
        int32_t ask = pass == 0 ? INT32_MAX : 10;
        rv__kw_t w, resp;
        header(&w, RV__KAPI_FETCH, 4);
        rv__kw_i32(&w, -1); /* replica */
        rv__kw_i32(&w, 0);  /* max wait */
        rv__kw_i32(&w, 1);  /* min bytes */
        rv__kw_i32(&w, ask);
        rv__kw_i8(&w, 0);
        rv__kw_i32(&w, 1);
        rv__kw_str(&w, "big");
        rv__kw_i32(&w, 1);
        rv__kw_i32(&w, 0);
        rv__kw_i64(&w, 0);
        rv__kw_i32(&w, ask);
        assert_int_equal(rv__kapi_call(&fx->ctx, w.b.data, w.b.len, &resp), RV__KAPI_DONE);
        int64_t hwm;
        size_t got = fetched_bytes(&resp, &hwm);
        assert_int_equal(hwm, 50);
        assert_int_equal(got, pass == 0 ? 2 * one : one);
        rv__kw_free(&w);
        rv__kw_free(&resp);
    }
}

static void test_many_topic_names(void **state) {
    fx_t *fx = *state;
    enum { N = 20000 };
    rv__kw_t w, resp;
    header(&w, RV__KAPI_DELETE_TOPICS, 1);
    /* N names, the last 100 repeating earlier ones: N - 100 results. */
    rv__kw_i32(&w, N);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "t-%d", i < N - 100 ? i : i - (N - 100));
        rv__kw_str(&w, name);
    }
    rv__kw_i32(&w, 1000);
    assert_int_equal(rv__kapi_call(&fx->ctx, w.b.data, w.b.len, &resp), RV__KAPI_DONE);
    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    rv__kr_init(&r, resp.b.data, resp.b.len, &arena);
    (void)rv__kr_i32(&r);
    assert_int_equal(rv__kr_array(&r, 0), N - 100);
    for (int i = 0; i < N - 100; i++) {
        const char *name = rv__kr_str(&r);
        assert_non_null(name);
        assert_int_equal(rv__kr_i16(&r), RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    }
    assert_false(r.err);
    rv__karena_free(&arena);
    rv__kw_free(&w);
    rv__kw_free(&resp);

    /* CreateTopics reports every entry of a repeated name as a duplicate. */
    header(&w, RV__KAPI_CREATE_TOPICS, 1);
    rv__kw_i32(&w, 3);
    const char *names[3] = {"dup", "solo", "dup"};
    for (int i = 0; i < 3; i++) {
        rv__kw_str(&w, names[i]);
        rv__kw_i32(&w, 1);
        rv__kw_i16(&w, 1);
        rv__kw_i32(&w, 0); /* assignments */
        rv__kw_i32(&w, 0); /* configs */
    }
    rv__kw_i32(&w, 1000);
    rv__kw_bool(&w, true); /* validate only */
    assert_int_equal(rv__kapi_call(&fx->ctx, w.b.data, w.b.len, &resp), RV__KAPI_DONE);
    rv__kr_init(&r, resp.b.data, resp.b.len, &arena);
    assert_int_equal(rv__kr_array(&r, 0), 3);
    int16_t want[3] = {RV_ERR_INVALID_REQUEST, 0, RV_ERR_INVALID_REQUEST};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(rv__kr_str(&r), names[i]);
        assert_int_equal(rv__kr_i16(&r), want[i]);
        (void)rv__kr_str(&r); /* message */
    }
    assert_false(r.err);
    rv__karena_free(&arena);
    rv__kw_free(&w);
    rv__kw_free(&resp);
}

/* Produces `data` to p-0 with Produce `version` (acks 1); returns the
 * partition's error code and sets *base_offset. */
static int16_t produce(fx_t *fx, int16_t version, const void *data, size_t len,
                       int64_t *base_offset) {
    rv__kw_t w, resp;
    header(&w, RV__KAPI_PRODUCE, version);
    if (version >= 3)
        rv__kw_str(&w, NULL); /* transactional id */
    rv__kw_i16(&w, 1);
    rv__kw_i32(&w, 1000);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "p");
    rv__kw_i32(&w, 1);
    rv__kw_i32(&w, 0);
    rv__kw_bytes(&w, data, len);
    assert_int_equal(rv__kapi_call(&fx->ctx, w.b.data, w.b.len, &resp), RV__KAPI_DONE);
    rv__karena_t arena = RV__KARENA_INIT;
    rv__kr_t r;
    rv__kr_init(&r, resp.b.data, resp.b.len, &arena);
    assert_int_equal(rv__kr_array(&r, 0), 1);
    assert_string_equal(rv__kr_str(&r), "p");
    assert_int_equal(rv__kr_array(&r, 0), 1);
    assert_int_equal(rv__kr_i32(&r), 0);
    int16_t err = rv__kr_i16(&r);
    *base_offset = rv__kr_i64(&r);
    (void)rv__kr_i64(&r); /* log append time (v2+) */
    if (version >= 5)
        (void)rv__kr_i64(&r); /* log start offset */
    (void)rv__kr_i32(&r);     /* throttle */
    rvt_kresp_end(&r);
    rv__karena_free(&arena);
    rv__kw_free(&w);
    rv__kw_free(&resp);
    return err;
}

static void test_produce_batch_rules(void **state) {
    fx_t *fx = *state;
    fx->ctx.auto_create_topics = true;
    rv__buf_t two = RV__BUF_INIT;
    rvt_make_batch(&two, 3, "k", 10, 1700000000000LL);
    size_t one = two.len;
    rvt_make_batch(&two, 3, "k", 10, 1700000000000LL);
    int64_t base = -2;
    /* Two batches in one partition: Kafka's INVALID_RECORD from v3 on. */
    assert_int_equal(produce(fx, 3, two.data, two.len, &base), RV_ERR_INVALID_RECORD);
    assert_int_equal(produce(fx, 7, two.data, two.len, &base), RV_ERR_INVALID_RECORD);
    /* One batch is taken, at v3 and with the older v2 request layout. */
    assert_int_equal(produce(fx, 3, two.data, one, &base), 0);
    assert_int_equal(base, 0);
    assert_int_equal(produce(fx, 2, two.data, one, &base), 0);
    assert_int_equal(base, 3);
    /* A message set of magic 1 (what Produce v0-2 clients once sent). */
    two.data[16] = 1;
    assert_int_equal(produce(fx, 2, two.data, one, &base), RV_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT);
    rv__buf_free(&two);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_max_bytes_caps_the_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_topic_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce_batch_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
