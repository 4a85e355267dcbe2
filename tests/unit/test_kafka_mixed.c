/* tests/unit/test_kafka_mixed.c: one data folder, two kinds of client.
 * kcat (librdkafka 2.0.2, a client the project did not write) talks to the
 * Kafka-protocol server of a broker this test opens, while rivulet's
 * embedded producer and consumer use the same broker in-process
 * (bootstrap.servers=embedded:DIR shares it). Records written by kcat are
 * read by the embedded consumer, and records written by the embedded
 * producer are read by kcat, byte for byte: keys (and null keys), values,
 * headers, timestamps and offsets. And one consumer group has an embedded
 * member and a network member (rivulet's kafka backend, librdkafka) at
 * once: the coordinator is the same, so they split the partitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/kafka/server.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"
#include "rivulet/producer.h"

#define KCAT "/usr/bin/kcat"
#define N 20

typedef rvt_kserver_t fx_t;

static rv_conf_t *embedded_conf(fx_t *fx) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", fx->ebs, errstr, sizeof errstr), 0);
    return conf;
}

static void create_topic(fx_t *fx, const char *topic) {
    char errstr[512];
    rv_admin_t *a = rv_admin_new(embedded_conf(fx), errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(rv_admin_create_topic(a, topic, 1, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_admin_destroy(a);
}

/* One record as kcat prints it with -f '%o|%K|%k|%S|%s|%h|%T\n'. */
typedef struct row_s {
    long long offset, ts;
    int key_len, value_len;
    char key[64], value[64], headers[128];
} row_t;

static int kcat_read(fx_t *fx, const char *topic, row_t *rows, int max) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             KCAT " -b %s -C -t %s -o beginning -e -q -f '%%o|%%K|%%k|%%S|%%s|%%h|%%T\\n'", fx->bs,
             topic);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        row_t *r = &rows[n++];
        memset(r, 0, sizeof *r);
        /* strsep keeps empty fields (a null key prints nothing). */
        char *rest = line, *fld[7];
        for (int j = 0; j < 7; j++)
            fld[j] = strsep(&rest, j < 6 ? "|" : "\n");
        assert_non_null(fld[6]);
        char *f0 = fld[0], *f1 = fld[1], *f2 = fld[2], *f3 = fld[3], *f4 = fld[4], *f5 = fld[5],
             *f6 = fld[6];
        r->offset = atoll(f0);
        r->key_len = atoi(f1);
        snprintf(r->key, sizeof r->key, "%s", f2);
        r->value_len = atoi(f3);
        snprintf(r->value, sizeof r->value, "%s", f4);
        snprintf(r->headers, sizeof r->headers, "%s", f5);
        r->ts = atoll(f6);
    }
    assert_int_equal(pclose(f), 0);
    return n;
}

/* Reads `n` records of topic-0 from the beginning with the embedded
 * consumer. Caller owns the result. */
static rv_records_t *embedded_read(fx_t *fx, const char *topic, size_t n) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(embedded_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, 0), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    rv_records_t *rs = NULL;
    for (int i = 0; i < 100 && !rs; i++) {
        assert_int_equal(rv_consumer_poll(c, 100, &rs), 0);
        if (rs && rv_records_count(rs) < n) {
            /* One poll returns everything here (one batch, under
             * max.poll.records); anything else is a failure below. */
            break;
        }
    }
    assert_non_null(rs);
    assert_int_equal(rv_records_count(rs), n);
    rv_consumer_close(c);
    rv_consumer_destroy(c);
    return rs;
}

static void test_kcat_to_embedded(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "from-kcat");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             KCAT " -b %s -P -t from-kcat -p 0 -K: -H origin=kcat -H seq=x -X linger.ms=0", fx->bs);
    FILE *f = popen(cmd, "w");
    assert_non_null(f);
    for (int i = 0; i < N; i++)
        fprintf(f, "key-%d:value %d\n", i, i);
    assert_int_equal(pclose(f), 0);

    rv_records_t *rs = embedded_read(fx, "from-kcat", N);
    row_t rows[N + 1];
    assert_int_equal(kcat_read(fx, "from-kcat", rows, N + 1), N);
    for (int i = 0; i < N; i++) {
        const rv_record_t *r = rv_records_get(rs, (size_t)i);
        char want_key[32], want_value[32];
        snprintf(want_key, sizeof want_key, "key-%d", i);
        snprintf(want_value, sizeof want_value, "value %d", i);
        int32_t klen, vlen;
        const char *k = rv_record_key(r, &klen), *v = rv_record_value(r, &vlen);
        assert_int_equal(rv_record_offset(r), i);
        assert_int_equal(klen, (int32_t)strlen(want_key));
        assert_memory_equal(k, want_key, (size_t)klen);
        assert_int_equal(vlen, (int32_t)strlen(want_value));
        assert_memory_equal(v, want_value, (size_t)vlen);
        assert_int_equal(rv_record_header_count(r), 2);
        const char *hk;
        const void *hv;
        int32_t hlen;
        assert_int_equal(rv_record_header(r, 0, &hk, &hv, &hlen), 0);
        assert_string_equal(hk, "origin");
        assert_int_equal(hlen, 4);
        assert_memory_equal(hv, "kcat", 4);
        assert_int_equal(rv_record_header(r, 1, &hk, &hv, &hlen), 0);
        assert_string_equal(hk, "seq");
        /* What kcat reads back is what the embedded consumer saw. */
        assert_int_equal(rows[i].offset, i);
        assert_string_equal(rows[i].key, want_key);
        assert_string_equal(rows[i].value, want_value);
        assert_string_equal(rows[i].headers, "origin=kcat,seq=x");
        assert_int_equal(rows[i].ts, rv_record_timestamp(r));
        assert_true(rv_record_timestamp(r) > 1600000000000LL);
    }
    rv_records_destroy(rs);
}

static void test_embedded_to_kcat(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "from-rivulet");
    char errstr[512];
    rv_producer_t *p = rv_producer_new(embedded_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        char key[32], value[32], trace[32];
        snprintf(key, sizeof key, "ek-%d", i);
        snprintf(value, sizeof value, "embedded value %d", i);
        snprintf(trace, sizeof trace, "t%d", i);
        rv_header_t h[1] = {{"trace", trace, (int32_t)strlen(trace)}};
        rv_producer_record_t rec = RV_PRODUCER_RECORD_INIT;
        rec.topic = "from-rivulet";
        rec.partition = 0;
        if (i % 5 != 0) { /* every fifth record has a null key */
            rec.key = key;
            rec.key_len = (int32_t)strlen(key);
        }
        rec.value = value;
        rec.value_len = (int32_t)strlen(value);
        rec.timestamp = 1700000000000LL + i * 1000;
        rec.headers = h;
        rec.header_cnt = 1;
        int64_t offset = -1;
        assert_int_equal(rv_producer_send_sync(p, &rec, NULL, &offset, NULL, errstr, sizeof errstr),
                         0);
        assert_int_equal(offset, i);
    }
    rv_producer_destroy(p);

    row_t rows[N + 1];
    assert_int_equal(kcat_read(fx, "from-rivulet", rows, N + 1), N);
    for (int i = 0; i < N; i++) {
        char want[64];
        assert_int_equal(rows[i].offset, i);
        if (i % 5 == 0) {
            assert_int_equal(rows[i].key_len, -1);
        } else {
            snprintf(want, sizeof want, "ek-%d", i);
            assert_int_equal(rows[i].key_len, (int)strlen(want));
            assert_string_equal(rows[i].key, want);
        }
        snprintf(want, sizeof want, "embedded value %d", i);
        assert_int_equal(rows[i].value_len, (int)strlen(want));
        assert_string_equal(rows[i].value, want);
        snprintf(want, sizeof want, "trace=t%d", i);
        assert_string_equal(rows[i].headers, want);
        assert_int_equal(rows[i].ts, 1700000000000LL + i * 1000);
    }
}

static rv_consumer_t *group_member(const char *bootstrap) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "group.id", "mixed-group", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr), 0);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    assert_non_null(c);
    const char *topics[] = {"mixed"};
    assert_int_equal(rv_consumer_subscribe(c, topics, 1, NULL), 0);
    return c;
}

/* Partitions a member holds, as a bit set. */
static unsigned held(rv_consumer_t *c) {
    rv_topic_partition_list_t *l = NULL;
    assert_int_equal(rv_consumer_assignment(c, &l), 0);
    unsigned bits = 0;
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++)
        bits |= 1u << rv_topic_partition_partition(rv_topic_partition_list_get(l, i));
    rv_topic_partition_list_destroy(l);
    return bits;
}

static void test_mixed_group(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rv_admin_t *a = rv_admin_new(embedded_conf(fx), errstr, sizeof errstr);
    assert_non_null(a);
    assert_int_equal(rv_admin_create_topic(a, "mixed", 4, 1, NULL, NULL, 0, errstr, sizeof errstr),
                     0);
    rv_producer_t *p = rv_producer_new(embedded_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    for (int i = 0; i < 40; i++) {
        char v[16];
        snprintf(v, sizeof v, "m%d", i);
        rv_producer_record_t rec = RV_PRODUCER_RECORD_INIT;
        rec.topic = "mixed";
        rec.partition = i % 4;
        rec.value = v;
        rec.value_len = (int32_t)strlen(v);
        assert_int_equal(rv_producer_send_sync(p, &rec, NULL, NULL, NULL, errstr, sizeof errstr),
                         0);
    }
    rv_producer_destroy(p);

    rv_consumer_t *local = group_member(fx->ebs);
    rv_consumer_t *remote = group_member(fx->bs);
    int seen[40] = {0};
    int total = 0;
    unsigned hl = 0, hr = 0;
    /* Both poll until every record was read and the group settled with
     * both members holding partitions. */
    for (int round = 0; round < 300 && !(total >= 40 && hl && hr && (hl | hr) == 0xf); round++) {
        rv_consumer_t *cs[2] = {local, remote};
        for (int k = 0; k < 2; k++) {
            rv_records_t *rs = NULL;
            assert_int_equal(rv_consumer_poll(cs[k], 50, &rs), 0);
            for (size_t i = 0; rs && i < rv_records_count(rs); i++) {
                int32_t len;
                const char *v = rv_record_value(rv_records_get(rs, i), &len);
                int n = atoi(v + 1);
                assert_true(n >= 0 && n < 40);
                if (!seen[n]++)
                    total++;
            }
            rv_records_destroy(rs);
        }
        hl = held(local);
        hr = held(remote);
    }
    assert_int_equal(total, 40);
    assert_true(hl != 0 && hr != 0);
    assert_int_equal(hl & hr, 0);
    assert_int_equal(hl | hr, 0xf);
    assert_int_equal(rv_consumer_close(remote), 0);
    assert_int_equal(rv_consumer_close(local), 0);
    rv_consumer_destroy(remote);
    rv_consumer_destroy(local);
    rv_admin_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kcat_to_embedded, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_embedded_to_kcat, rvt_kserver_setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_mixed_group, rvt_kserver_setup, rvt_kserver_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
