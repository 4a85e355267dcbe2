/* tests/integration/0001_log_restart.c: a broker is opened on a fresh data
 * folder, topics are created with configs, records produced and some
 * deleted; after close and reopen every topic, id, config, partition count,
 * offset and byte of data is the same, and producing continues at the
 * right offsets. Runs the real broker, admin client and logs on disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/conf.h"

#define NTOPICS 3

static const struct {
    const char *name;
    int32_t partitions;
    const char *cfg_name;
    const char *cfg_value;
} topics[NTOPICS] = {
    {"orders", 3, "retention.ms", "86400000"},
    {"users.v1", 1, "cleanup.policy", "compact"},
    {"metrics_raw", 2, "segment.bytes", "4096"},
};

typedef struct state_s {
    char id[NTOPICS][23];
    int64_t start[NTOPICS][3];
    int64_t end[NTOPICS][3];
    rv__buf_t data[NTOPICS][3];
    size_t config_cnt[NTOPICS];
    char configs[NTOPICS][4096];
} state_t;

static rv_admin_t *admin_for(const char *dir) {
    char bs[4200], errstr[512];
    snprintf(bs, sizeof bs, "embedded:%s", dir);
    rv_conf_t *conf = rv_conf_new();
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    if (!a)
        fail_msg("admin: %s", errstr);
    return a;
}

static void capture(rv_admin_t *a, rv_broker_t *b, state_t *s) {
    char errstr[512];
    memset(s, 0, sizeof *s);
    for (int t = 0; t < NTOPICS; t++) {
        rv_topic_description_t *d;
        assert_int_equal(rv_admin_describe_topic(a, topics[t].name, &d, errstr, sizeof errstr), 0);
        snprintf(s->id[t], sizeof s->id[t], "%s", rv_topic_description_id(d));
        assert_int_equal(rv_topic_description_partition_count(d), topics[t].partitions);
        const rv_config_list_t *l = rv_topic_description_configs(d);
        size_t off = 0;
        for (size_t i = 0; i < rv_config_list_count(l); i++)
            off += (size_t)snprintf(s->configs[t] + off, sizeof s->configs[t] - off, "%s=%s%s;",
                                    rv_config_list_name(l, i), rv_config_list_value(l, i),
                                    rv_config_list_is_default(l, i) ? "" : "(set)");
        s->config_cnt[t] = rv_config_list_count(l);
        for (int32_t p = 0; p < topics[t].partitions; p++) {
            s->start[t][p] = rv_topic_description_log_start_offset(d, p);
            s->end[t][p] = rv_topic_description_end_offset(d, p);
            /* Every byte from the log start to the end. */
            int64_t pos = s->start[t][p];
            while (pos < s->end[t][p]) {
                void *data;
                size_t len;
                int64_t hw;
                assert_int_equal(rv_broker_fetch(b, topics[t].name, p, pos, 1 << 20, &data, &len,
                                                 &hw, errstr, sizeof errstr),
                                 0);
                assert_non_null(data);
                rv__buf_append(&s->data[t][p], data, len);
                /* Next offset: last offset of the last batch + 1. */
                size_t o = 0;
                int64_t next = pos;
                while (o + 61 <= len) {
                    const uint8_t *q = (const uint8_t *)data + o;
                    int64_t base = (int64_t)rv__be64(q);
                    int32_t blen = (int32_t)rv__be32(q + 8);
                    int32_t delta = (int32_t)rv__be32(q + 23);
                    next = base + delta + 1;
                    o += (size_t)blen + 12;
                }
                rv_free(data);
                assert_true(next > pos);
                pos = next;
            }
        }
        rv_topic_description_destroy(d);
    }
}

static void compare(state_t *a, state_t *b) {
    for (int t = 0; t < NTOPICS; t++) {
        assert_string_equal(a->id[t], b->id[t]);
        assert_string_equal(a->configs[t], b->configs[t]);
        for (int32_t p = 0; p < topics[t].partitions; p++) {
            assert_int_equal(a->start[t][p], b->start[t][p]);
            assert_int_equal(a->end[t][p], b->end[t][p]);
            assert_int_equal(a->data[t][p].len, b->data[t][p].len);
            if (a->data[t][p].len)
                assert_memory_equal(a->data[t][p].data, b->data[t][p].data, a->data[t][p].len);
        }
    }
}

static void state_free(state_t *s) {
    for (int t = 0; t < NTOPICS; t++)
        for (int p = 0; p < 3; p++)
            rv__buf_free(&s->data[t][p]);
}

static void produce(rv_broker_t *b, const char *topic, int32_t p, int batches, int acks) {
    char errstr[512];
    for (int i = 0; i < batches; i++) {
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, 1 + i % 4, "key-", 64 + (size_t)i, 1700000000000LL + i);
        assert_int_equal(rv_broker_produce(b, topic, p, batch.data, batch.len, acks, NULL, errstr,
                                           sizeof errstr),
                         0);
        rv__buf_free(&batch);
    }
}

static void test_restart_keeps_everything(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char errstr[512];
    rv_admin_t *a = admin_for(dir);
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    for (int t = 0; t < NTOPICS; t++) {
        const char *n[] = {topics[t].cfg_name};
        const char *v[] = {topics[t].cfg_value};
        assert_int_equal(rv_admin_create_topic(a, topics[t].name, topics[t].partitions, 1, n, v, 1,
                                               errstr, sizeof errstr),
                         0);
    }
    produce(b, "orders", 0, 10, -1);
    produce(b, "orders", 2, 3, 1);
    produce(b, "users.v1", 0, 7, 1);
    produce(b, "metrics_raw", 1, 60, 0); /* several 4 KiB segments */
    int64_t low;
    assert_int_equal(rv_admin_delete_records(a, "orders", 0, 6, &low, errstr, sizeof errstr), 0);
    const char *sn[] = {"flush.messages"};
    const char *sv[] = {"1000"};
    assert_int_equal(
        rv_admin_alter_configs(a, "metrics_raw", sn, sv, 1, NULL, 0, errstr, sizeof errstr), 0);

    state_t *before = calloc(1, sizeof *before), *after = calloc(1, sizeof *after);
    capture(a, b, before);
    assert_int_equal(before->start[0][0], 6);
    assert_true(before->end[2][1] > 60);

    rv_broker_close(b);
    rv_admin_destroy(a);

    a = admin_for(dir);
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    capture(a, b, after);
    compare(before, after);
    char **names;
    size_t cnt;
    assert_int_equal(rv_admin_list_topics(a, true, &names, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 3);
    assert_string_equal(names[0], "metrics_raw");
    assert_string_equal(names[1], "orders");
    assert_string_equal(names[2], "users.v1");
    rv_strv_free(names, cnt);

    /* Producing goes on where it stopped. */
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 2, "k", 8, 1);
    int64_t base;
    assert_int_equal(
        rv_broker_produce(b, "orders", 0, batch.data, batch.len, -1, &base, errstr, sizeof errstr),
        0);
    assert_int_equal(base, before->end[0][0]);
    rv__buf_free(&batch);

    /* And a second restart after more writes still agrees. */
    state_free(before);
    capture(a, b, before);
    rv_broker_close(b);
    rv_admin_destroy(a);
    a = admin_for(dir);
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    state_free(after);
    capture(a, b, after);
    compare(before, after);

    state_free(before);
    state_free(after);
    free(before);
    free(after);
    rv_broker_close(b);
    rv_admin_destroy(a);
    rvt_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
