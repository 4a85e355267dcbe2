/* tests/integration/0003_idempotent_retry.c: an idempotent producer's
 * retry after a lost acknowledgement leaves no duplicate. A real producer
 * writes through the embedded broker; then the last batch it wrote is sent
 * again byte for byte (what the producer does when the answer to its
 * append is lost), before and after a broker restart, and the log must
 * hold every record exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/topics.h"
#include "common/record_batch.h"
#include "rivulet/broker.h"
#include "rivulet/producer.h"

#define N 500

/* The bytes of the last batch in partition 0, and the record count. */
static int read_log(rv_broker_t *b, rv__buf_t *last) {
    void *data;
    size_t len;
    assert_int_equal(rv_broker_fetch(b, "t", 0, 0, 1 << 24, &data, &len, NULL, NULL, 0), 0);
    int recs = 0;
    for (size_t pos = 0; pos < len;) {
        rv__batch_hdr_t h;
        assert_int_equal(rv__batch_parse_header(&h, (uint8_t *)data + pos, len - pos), 0);
        assert_true(h.producer_id >= 0);
        if (last) {
            last->len = 0;
            rv__buf_append(last, (uint8_t *)data + pos, rv__batch_size(&h));
        }
        pos += rv__batch_size(&h);
        recs += h.records_count;
    }
    /* And every value once, in order. */
    rv_batch_reader_t *rd = rv_batch_reader_new(data, len);
    int i = 0;
    while (rv_batch_reader_next(rd) == 1) {
        int32_t vl;
        const char *v = rv_batch_reader_value(rd, &vl);
        char want[16];
        int n = snprintf(want, sizeof want, "%d", i++);
        assert_int_equal(vl, n);
        assert_memory_equal(v, want, (size_t)n);
    }
    rv_batch_reader_destroy(rd);
    rv_free(data);
    return recs;
}

static void test_retry_leaves_no_duplicate(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char errstr[512], bs[4200];
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    assert_int_equal(rv__topics_create(rv__broker_topics(b), "t", 1, 1, NULL, NULL, 0, errstr, 512),
                     0);
    snprintf(bs, sizeof bs, "embedded:%s", dir);
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bs, errstr, 512), 0);
    assert_int_equal(rv_conf_set(conf, "batch.size", "2000", errstr, 512), 0);
    rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        char v[16];
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "t";
        r.value = v;
        r.value_len = snprintf(v, sizeof v, "%d", i);
        assert_int_equal(rv_producer_send(p, &r, NULL, NULL, errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, 10000), 0);
    rv__buf_t last = RV__BUF_INIT;
    assert_int_equal(read_log(b, &last), N);

    /* The retry of the last batch: same producer id, epoch and sequence. */
    int64_t off = -1, first_off = -1;
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_parse_header(&h, last.data, last.len), 0);
    first_off = h.base_offset;
    assert_int_equal(rv_broker_produce(b, "t", 0, last.data, last.len, -1, &off, errstr, 512), 0);
    assert_int_equal(off, first_off);
    assert_int_equal(read_log(b, NULL), N);

    /* The producer goes on after the retry as if nothing happened. */
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    char v[16];
    r.topic = "t";
    r.value = v;
    r.value_len = snprintf(v, sizeof v, "%d", N);
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, &off, NULL, errstr, sizeof errstr), 0);
    assert_int_equal(off, N);
    rv_producer_destroy(p);

    /* After a restart the broker still knows the batch. */
    rv_broker_close(b);
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    assert_int_equal(rv_broker_produce(b, "t", 0, last.data, last.len, -1, &off, errstr, 512), 0);
    assert_int_equal(off, first_off);
    assert_int_equal(read_log(b, NULL), N + 1);

    rv__buf_free(&last);
    rv_broker_close(b);
    rvt_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_leaves_no_duplicate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
