/* tests/unit/test_tools_verifiable.c: `rivulet verifiable-producer` and
 * `rivulet verifiable-consumer` run as programs on a temporary data folder.
 * Every output line must be a JSON object with Kafka's event name and
 * fields in Kafka's order (timestamp, name, then the event's own), and the
 * events must carry the right counts, partitions and offsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tools/json.c"

typedef rvt_cli_fx_t fx_t;

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)

static int setup(void **state) {
    rvt_cli_fx_setup(state);
    fx_t *f = *state;
    if (rvt_cli(&f->out, &f->err, "topics %s --create --topic t --partitions 2", f->bs) != 0) {
        print_error("setup: %s%s\n", OUT(f), ERR(f));
        rvt_cli_fx_teardown(state);
        return -1;
    }
    return 0;
}

/* The output's lines parsed as JSON; each must be an object starting with
 * "timestamp" (an integer) and "name". */
typedef struct events_s {
    rv__json_t **v;
    size_t cnt;
} events_t;

static void events_parse(events_t *e, const char *out) {
    memset(e, 0, sizeof *e);
    const char *line = out;
    while (*line) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        char errstr[256];
        rv__json_t *j = rv__json_parse(line, (size_t)(nl - line), errstr, sizeof errstr);
        if (!j)
            fail_msg("not JSON (%s): %.*s", errstr, (int)(nl - line), line);
        assert_int_equal(j->type, RV__JSON_OBJECT);
        assert_true(j->cnt >= 2);
        assert_string_equal(j->keys[0], "timestamp");
        assert_string_equal(j->keys[1], "name");
        int64_t ts;
        assert_int_equal(rv__json_int(j->items[0], 0, INT64_MAX, &ts), 0);
        assert_true(ts > 1600000000000LL);
        e->v = realloc(e->v, (e->cnt + 1) * sizeof *e->v);
        assert_non_null(e->v);
        e->v[e->cnt++] = j;
        line = nl + 1;
    }
}

static void events_free(events_t *e) {
    for (size_t i = 0; i < e->cnt; i++)
        rv__json_free(e->v[i]);
    free(e->v);
}

static const char *ev_name(const events_t *e, size_t i) {
    return rv__json_get(e->v[i], "name")->text;
}

static int64_t ev_int(const rv__json_t *o, const char *key) {
    int64_t x = 0;
    const rv__json_t *v = rv__json_get(o, key);
    if (!v || rv__json_int(v, INT64_MIN, INT64_MAX, &x) < 0)
        fail_msg("no integer \"%s\"", key);
    return x;
}

static const char *ev_str(const rv__json_t *o, const char *key) {
    const rv__json_t *v = rv__json_get(o, key);
    assert_non_null(v);
    return v->type == RV__JSON_STRING ? v->text : NULL;
}

/* Checks the key order of an object against `keys` (NULL-terminated). */
static void assert_keys(const rv__json_t *o, const char *const *keys) {
    size_t n = 0;
    for (; keys[n]; n++) {
        if (n >= o->cnt || strcmp(o->keys[n], keys[n]) != 0)
            fail_msg("field %zu: expected \"%s\"", n, keys[n]);
    }
    assert_int_equal(o->cnt, n);
}

static void test_producer_events(void **state) {
    fx_t *f = *state;
    assert_int_equal(
        rvt_cli(&f->out, &f->err, "verifiable-producer %s --topic t --max-messages 20", f->bs), 0);
    assert_string_equal(ERR(f), "");
    events_t e;
    events_parse(&e, OUT(f));
    assert_int_equal(e.cnt, 23);
    assert_string_equal(ev_name(&e, 0), "startup_complete");
    assert_int_equal(e.v[0]->cnt, 2);
    static const char *const success_keys[] = {"timestamp", "name",      "key",    "value",
                                               "topic",     "partition", "offset", NULL};
    bool seen[20] = {false};
    int64_t next[2] = {0, 0};
    for (size_t i = 1; i <= 20; i++) {
        const rv__json_t *o = e.v[i];
        assert_string_equal(ev_name(&e, i), "producer_send_success");
        assert_keys(o, success_keys);
        assert_int_equal(rv__json_get(o, "key")->type, RV__JSON_NULL);
        int v = atoi(ev_str(o, "value"));
        assert_true(v >= 0 && v < 20 && !seen[v]);
        seen[v] = true;
        assert_string_equal(ev_str(o, "topic"), "t");
        int64_t p = ev_int(o, "partition");
        assert_true(p == 0 || p == 1);
        /* Each partition's offsets are dense and increasing. */
        assert_int_equal(ev_int(o, "offset"), next[p]++);
    }
    assert_int_equal(next[0] + next[1], 20);
    assert_string_equal(ev_name(&e, 21), "shutdown_complete");
    assert_string_equal(ev_name(&e, 22), "tool_data");
    static const char *const tool_keys[] = {"timestamp",         "name",           "sent", "acked",
                                            "target_throughput", "avg_throughput", NULL};
    assert_keys(e.v[22], tool_keys);
    assert_int_equal(ev_int(e.v[22], "sent"), 20);
    assert_int_equal(ev_int(e.v[22], "acked"), 20);
    assert_int_equal(ev_int(e.v[22], "target_throughput"), -1);
    assert_int_equal(rv__json_get(e.v[22], "avg_throughput")->type, RV__JSON_NUMBER);
    events_free(&e);
}

static void test_producer_keys_prefix_time(void **state) {
    fx_t *f = *state;
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-producer %s --topic t --max-messages 6 --repeating-keys 3 "
                             "--value-prefix 7 --message-create-time 1000 --acks 1 "
                             "--throughput 1000",
                             f->bs),
                     0);
    events_t e;
    events_parse(&e, OUT(f));
    assert_int_equal(e.cnt, 9);
    int64_t part_of_key[3] = {-1, -1, -1};
    int values = 0;
    for (size_t i = 1; i <= 6; i++) {
        const rv__json_t *o = e.v[i];
        assert_string_equal(ev_name(&e, i), "producer_send_success");
        const char *k = ev_str(o, "key"), *v = ev_str(o, "value");
        assert_non_null(k);
        int n = atoi(v + 2);
        assert_memory_equal(v, "7.", 2);
        /* Keys repeat 0, 1, 2 in send order; the same key always lands in
         * the same partition. */
        assert_int_equal(atoi(k), n % 3);
        int64_t p = ev_int(o, "partition");
        if (part_of_key[n % 3] >= 0)
            assert_int_equal(part_of_key[n % 3], p);
        part_of_key[n % 3] = p;
        values |= 1 << n;
    }
    assert_int_equal(values, 0x3f);
    assert_int_equal(ev_int(e.v[8], "target_throughput"), 1000);
    events_free(&e);
    /* The records carry the given create time (advanced by the run's
     * time so far, as Kafka's tool does). */
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --partition %lld --offset 0 "
                             "--max-messages 1 --property print.timestamp=true",
                             f->bs, (long long)part_of_key[0]),
                     0);
    rvt_assert_prefix(OUT(f), "CreateTime:1");
    long long ts = strtoll(OUT(f) + 11, NULL, 10);
    assert_true(ts >= 1000 && ts < 100000);
}

static void test_producer_errors(void **state) {
    fx_t *f = *state;
    /* A send that fails is an event; the status stays 0 as in Kafka. */
    assert_int_equal(
        rvt_cli(&f->out, &f->err, "verifiable-producer %s --topic nope --max-messages 2", f->bs),
        0);
    events_t e;
    events_parse(&e, OUT(f));
    assert_int_equal(e.cnt, 5);
    static const char *const error_keys[] = {"timestamp", "name",      "key",     "value",
                                             "topic",     "exception", "message", NULL};
    for (size_t i = 1; i <= 2; i++) {
        assert_string_equal(ev_name(&e, i), "producer_send_error");
        assert_keys(e.v[i], error_keys);
        assert_string_equal(ev_str(e.v[i], "topic"), "nope");
        assert_string_equal(ev_str(e.v[i], "exception"), "UNKNOWN_TOPIC_OR_PARTITION");
    }
    assert_int_equal(ev_int(e.v[4], "sent"), 2);
    assert_int_equal(ev_int(e.v[4], "acked"), 0);
    events_free(&e);

    assert_int_equal(rvt_cli(&f->out, &f->err, "verifiable-producer %s --max-messages 2", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[topic]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "verifiable-producer %s --topic t --acks 2", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "argument --acks: invalid choice: '2' (choose from 0, 1, -1)\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-producer %s --topic t --message-create-time x", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "argument --message-create-time: could not convert 'x' to Long\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-producer %s --topic t --command-config a "
                             "--producer.config b",
                             f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Options --producer.config and --command-config are mutually "
                              "exclusive.\n");
    /* No arguments: the help, status 0, as Kafka's. */
    assert_int_equal(rvt_cli(&f->out, &f->err, "verifiable-producer"), 0);
    rvt_assert_prefix(ERR(f), "This tool produces increasing integers");
}

/* Checks a consumer run's events; returns the records consumed per
 * partition in cnt[] and the last committed offsets in committed[]. */
static void check_consumer_run(const events_t *e, bool commits, int64_t *cnt, int64_t *committed) {
    assert_string_equal(ev_name(e, 0), "startup_complete");
    assert_string_equal(ev_name(e, 1), "partitions_assigned");
    assert_string_equal(ev_name(e, e->cnt - 2), "partitions_revoked");
    assert_string_equal(ev_name(e, e->cnt - 1), "shutdown_complete");
    const rv__json_t *parts = rv__json_get(e->v[1], "partitions");
    assert_int_equal(parts->cnt, 2);
    static const char *const tp_keys[] = {"topic", "partition", NULL};
    assert_keys(parts->items[0], tp_keys);
    static const char *const consumed_keys[] = {"timestamp", "name", "count", "partitions", NULL};
    static const char *const summary_keys[] = {"topic",     "partition", "count",
                                               "minOffset", "maxOffset", NULL};
    static const char *const committed_keys[] = {"timestamp", "name", "offsets", "success", NULL};
    static const char *const offset_keys[] = {"topic", "partition", "offset", NULL};
    int64_t pos[2] = {committed[0], committed[1]};
    for (size_t i = 2; i + 2 < e->cnt; i++) {
        const rv__json_t *o = e->v[i];
        const char *name = ev_name(e, i);
        if (!strcmp(name, "records_consumed")) {
            assert_keys(o, consumed_keys);
            const rv__json_t *ps = rv__json_get(o, "partitions");
            int64_t sum = 0;
            for (size_t j = 0; j < ps->cnt; j++) {
                const rv__json_t *s = ps->items[j];
                assert_keys(s, summary_keys);
                int64_t p = ev_int(s, "partition"), c = ev_int(s, "count");
                int64_t lo = ev_int(s, "minOffset"), hi = ev_int(s, "maxOffset");
                /* Continues where the partition's committed offset was. */
                assert_int_equal(lo, pos[p]);
                assert_int_equal(hi - lo + 1, c);
                pos[p] = hi + 1;
                cnt[p] += c;
                sum += c;
            }
            assert_true(ev_int(o, "count") >= sum);
            if (commits) {
                const rv__json_t *c = e->v[++i];
                assert_string_equal(rv__json_get(c, "name")->text, "offsets_committed");
                assert_keys(c, committed_keys);
                assert_int_equal(rv__json_get(c, "success")->type, RV__JSON_BOOL);
                assert_true(rv__json_get(c, "success")->boolean);
                const rv__json_t *offs = rv__json_get(c, "offsets");
                assert_int_equal(offs->cnt, ps->cnt);
                for (size_t j = 0; j < offs->cnt; j++) {
                    assert_keys(offs->items[j], offset_keys);
                    int64_t p = ev_int(offs->items[j], "partition");
                    assert_int_equal(ev_int(offs->items[j], "offset"), pos[p]);
                    committed[p] = pos[p];
                }
            }
        } else if (!strcmp(name, "record_data")) {
            static const char *const data_keys[] = {"timestamp", "name",      "key",    "value",
                                                    "topic",     "partition", "offset", NULL};
            assert_keys(o, data_keys);
        } else {
            fail_msg("unexpected event %s", name);
        }
    }
}

static void test_consumer_events(void **state) {
    fx_t *f = *state;
    assert_int_equal(
        rvt_cli(&f->out, NULL, "verifiable-producer %s --topic t --max-messages 20", f->bs), 0);
    int64_t cnt[2] = {0, 0}, committed[2] = {0, 0};
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-consumer %s --topic t --group-id vg --max-messages 12",
                             f->bs),
                     0);
    events_t e;
    events_parse(&e, OUT(f));
    check_consumer_run(&e, true, cnt, committed);
    events_free(&e);
    assert_int_equal(cnt[0] + cnt[1], 12);
    /* The group's lag says the same. */
    assert_int_equal(rvt_cli(&f->out, &f->err, "consumer-groups %s --describe --group vg", f->bs),
                     0);
    for (int p = 0; p < 2; p++) {
        char row[128];
        snprintf(row, sizeof row, "vg              t               %d          %lld ", p,
                 (long long)committed[p]);
        if (committed[p] > 0)
            rvt_assert_contains(OUT(f), row);
    }
    /* A second member run goes on from the commits; --verbose adds one
     * record_data per record. */
    int64_t cnt2[2] = {0, 0};
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-consumer %s --topic t --group-id vg --max-messages 8 "
                             "--verbose",
                             f->bs),
                     0);
    events_parse(&e, OUT(f));
    check_consumer_run(&e, true, cnt2, committed);
    size_t data = 0;
    for (size_t i = 0; i < e.cnt; i++)
        if (!strcmp(ev_name(&e, i), "record_data")) {
            data++;
            assert_string_equal(ev_str(e.v[i], "topic"), "t");
            assert_non_null(ev_str(e.v[i], "value"));
        }
    events_free(&e);
    assert_int_equal(cnt2[0] + cnt2[1], 8);
    assert_int_equal(data, 8);
    assert_int_equal(committed[0] + committed[1], 20);
}

static void test_consumer_autocommit_and_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(
        rvt_cli(&f->out, NULL, "verifiable-producer %s --topic t --max-messages 4", f->bs), 0);
    int64_t cnt[2] = {0, 0}, committed[2] = {0, 0};
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-consumer %s --topic t --group-id ac --max-messages 4 "
                             "--enable-autocommit --assignment-strategy roundrobin",
                             f->bs),
                     0);
    events_t e;
    events_parse(&e, OUT(f));
    check_consumer_run(&e, false, cnt, committed);
    events_free(&e);
    assert_int_equal(cnt[0] + cnt[1], 4);

    assert_int_equal(rvt_cli(&f->out, &f->err, "verifiable-consumer %s --topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[group-id]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-consumer %s --topic t --group-id g --group-protocol "
                             "consumer",
                             f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Group protocol consumer is not supported");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-consumer %s --topic t --group-id g --reset-policy soon",
                             f->bs),
                     1);
    rvt_assert_contains(ERR(f), "auto.offset.reset");
    assert_int_equal(rvt_cli(&f->out, &f->err, "verifiable-consumer"), 0);
    rvt_assert_prefix(ERR(f), "This tool consumes messages from a specific topic");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_producer_events, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_producer_keys_prefix_time, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_producer_errors, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_events, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_autocommit_and_errors, setup,
                                        rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
