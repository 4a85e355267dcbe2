/* tests/unit/test_dsl_suppress.c: KTable.suppress() (dsl/suppress.c)
 * through the test driver: every case of Kafka Streams'
 * SuppressScenarioTest (but shouldWorkWithCogrouped: rivulet has no
 * cogroup) with the same inputs and outputs, the cases of
 * KTableSuppressProcessorTest restated with a KTable node that forwards
 * the Changes the input records spell, SuppressTopologyTest's describe()
 * strings, full buffers (emit early, shut down with Kafka's message), the
 * buffer's changelog records in Kafka's version-3 layout, the builder's
 * errors; and on the embedded broker, a crash and a restart on a fresh
 * state folder that still emits the final result the crashed instance
 * had buffered. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "common/buf.h"
#include "common/clock.h"
#include "dsl/dsl_internal.h"
#include "rivulet/rivulet.h"
#include "runtime/streams_internal.h"

/* ---- Helpers ---- */

static rv_conf_t *mkconf(const char *app, const char *cache_bytes) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_non_null(c);
    assert_int_equal(rv_conf_set(c, "application.id", app, err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", err, sizeof err), 0);
    if (cache_bytes)
        assert_int_equal(rv_conf_set(c, "cache.max.bytes.buffering", cache_bytes, err, sizeof err),
                         0);
    return c;
}

static rv_topology_t *build(rv_streams_builder_t *b) {
    char err[1024];
    rv_topology_t *t = NULL;
    if (rv_streams_builder_build(&t, b, err, sizeof err))
        fail_msg("build: %s", err);
    rv_streams_builder_destroy(b);
    return t;
}

static rv_test_driver_t *start_cache(rv_topology_t *t, const char *app, const char *cache) {
    char err[1024];
    rv_test_driver_t *d = rv_test_driver_new(t, mkconf(app, cache), 0, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    return d;
}

static rv_test_driver_t *start(rv_topology_t *t, const char *app) {
    return start_cache(t, app, NULL);
}

static rv_err_t pipe_h(rv_test_driver_t *d, const char *topic, const char *k, const char *v,
                       int64_t ts, const rv_header_t *h, size_t hc) {
    return rv_test_driver_pipe_input(d, topic, k, k ? (int32_t)strlen(k) : -1, v,
                                     v ? (int32_t)strlen(v) : -1, ts, h, hc);
}

static void pipe_s(rv_test_driver_t *d, const char *topic, const char *k, const char *v,
                   int64_t ts) {
    if (pipe_h(d, topic, k, v, ts, NULL, 0))
        fail_msg("pipe: %s", rv_test_driver_last_error(d));
}

/* Every record written to topic as "key=value@ts " (int64 values when
 * `longs`, null values "null"). */
static char *drain(rv_test_driver_t *d, const char *topic, int longs) {
    static char out[8192];
    out[0] = '\0';
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, topic) == 0) {
        int32_t kl, vl;
        const char *k = rv_test_record_key(r, &kl);
        const void *v = rv_test_record_value(r, &vl);
        char val[256];
        if (!v) {
            snprintf(val, sizeof val, "null");
        } else if (longs) {
            int64_t n = 0;
            assert_int_equal(rv_serde_int64_read(&n, v, vl), 0);
            snprintf(val, sizeof val, "%" PRId64, n);
        } else {
            snprintf(val, sizeof val, "%.*s", (int)vl, (const char *)v);
        }
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%.*s=%s@%" PRId64 " ", k ? (int)kl : 4, k ? k : "null",
                 val, rv_test_record_timestamp(r));
        rv_test_record_destroy(r);
    }
    return out;
}

/* Windowed<String>.toString(): "[k1@0/2]"; the value passes. */
static rv_err_t windowed_to_string(rv_out_t *out, const void *key, int32_t key_len,
                                   const void *value, int32_t value_len, void *opaque) {
    (void)opaque;
    assert_int_equal(key_len, (int32_t)sizeof(rv_windowed_t));
    const rv_windowed_t *w = key;
    char s[256];
    snprintf(s, sizeof s, "[%.*s@%" PRId64 "/%" PRId64 "]", (int)w->key_len, (const char *)w->key,
             w->start, w->end);
    rv_err_t err = rv_out_key(out, s, -1);
    return err ? err : rv_out_value(out, value, value ? value_len : -1);
}

static rv_err_t swap_kv(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                        int32_t value_len, void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, value, value_len);
    return err ? err : rv_out_value(out, key, key_len);
}

static rv_err_t same_kv(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                        int32_t value_len, void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, key, key_len);
    return err ? err : rv_out_value(out, value, value_len);
}

static rv_err_t key_as_is(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                          int32_t value_len, void *opaque) {
    (void)opaque;
    (void)value;
    (void)value_len;
    return rv_out_key(out, key, key_len);
}

static const rv_consumed_t *consumed_strings(void) {
    static rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_string();
    return &c;
}

static const rv_produced_t *produced_longs(void) {
    static rv_produced_t p = RV_PRODUCED_INIT;
    p.key_serde = rv_serde_string();
    p.value_serde = rv_serde_int64();
    return &p;
}

static const rv_grouped_t *grouped_strings(void) {
    static rv_grouped_t g = RV_GROUPED_INIT;
    g.key_serde = rv_serde_string();
    g.value_serde = rv_serde_string();
    return &g;
}

static rv_suppressed_t until_time_limit(int64_t ms) {
    rv_suppressed_t s = RV_SUPPRESSED_INIT;
    s.kind = RV_SUPPRESS_UNTIL_TIME_LIMIT;
    s.time_limit_ms = ms;
    return s;
}

static rv_suppressed_t until_window_closes(void) {
    rv_suppressed_t s = RV_SUPPRESSED_INIT;
    return s;
}

/* SuppressScenarioTest's valueCounts: input table grouped by value and
 * counted, suppressed into output-suppressed, raw into output-raw. */
static rv_topology_t *value_counts(const rv_suppressed_t *s, bool count_serdes) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.key_serde = rv_serde_string();
    m.value_serde = rv_serde_string();
    m.caching_disabled = 1;
    m.logging_disabled = 1;
    rv_ktable_t *t = rv_streams_builder_table(b, "input", consumed_strings(), &m);
    rv_materialized_t cm = RV_MATERIALIZED_INIT;
    cm.key_serde = rv_serde_string();
    cm.value_serde = rv_serde_int64();
    rv_ktable_t *counts = rv_kgrouped_table_count(
        rv_ktable_group_by(t, swap_kv, NULL, grouped_strings()), NULL, count_serdes ? &cm : NULL);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(rv_ktable_suppress(counts, s), NULL),
                                   "output-suppressed", produced_longs()),
                     0);
    assert_int_equal(
        rv_kstream_to(rv_ktable_to_stream(counts, NULL), "output-raw", produced_longs()), 0);
    return build(b);
}

/* A windowed count of "input" grouped by key, suppressed until its windows
 * close into output-suppressed, raw into output-raw, keys as
 * "[key@start/end]". kind: 0 time windows, 1 sliding, 2 sessions. */
static rv_topology_t *windowed_counts(int kind, int64_t a, int64_t grace) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_kgrouped_stream_t *g = rv_kstream_group_by(
        rv_streams_builder_stream(b, (const char *[]){"input"}, 1, consumed_strings()), key_as_is,
        NULL, grouped_strings());
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "counts";
    m.caching_disabled = 1;
    m.key_serde = rv_serde_string();
    rv_ktable_t *counts;
    if (kind == 2) {
        rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(a, grace);
        counts = rv_session_windowed_kstream_count(rv_kgrouped_stream_windowed_by_session(g, &w),
                                                   NULL, &m);
    } else if (kind == 1) {
        rv_sliding_windows_t w = RV_SLIDING_WINDOWS_INIT(a, grace);
        counts =
            rv_time_windowed_kstream_count(rv_kgrouped_stream_windowed_by_sliding(g, &w), NULL, &m);
    } else {
        rv_time_windows_t w = RV_TIME_WINDOWS_INIT(a, grace);
        counts = rv_time_windowed_kstream_count(rv_kgrouped_stream_windowed_by(g, &w), NULL, &m);
    }
    rv_suppressed_t s = until_window_closes();
    rv_kstream_t *sup = rv_ktable_to_stream(rv_ktable_suppress(counts, &s), NULL);
    assert_int_equal(rv_kstream_to(rv_kstream_map(sup, windowed_to_string, NULL, NULL),
                                   "output-suppressed", produced_longs()),
                     0);
    rv_kstream_t *raw = rv_ktable_to_stream(counts, NULL);
    assert_int_equal(rv_kstream_to(rv_kstream_map(raw, windowed_to_string, NULL, NULL),
                                   "output-raw", produced_longs()),
                     0);
    return build(b);
}

static void finish(rv_test_driver_t *d, rv_topology_t *t) {
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

/* ---- SuppressScenarioTest ---- */

static void test_zero_emit_after(void **state) {
    (void)state;
    rv_suppressed_t s = until_time_limit(0);
    rv_topology_t *t = value_counts(&s, false);
    rv_test_driver_t *d = start(t, "suppress-zero");
    pipe_s(d, "input", "k1", "v1", 0);
    pipe_s(d, "input", "k1", "v2", 1);
    pipe_s(d, "input", "k2", "v1", 2);
    assert_string_equal(drain(d, "output-raw", 1), "v1=1@0 v1=0@1 v2=1@1 v1=1@2 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "v1=1@0 v1=0@1 v2=1@1 v1=1@2 ");
    pipe_s(d, "input", "x", "x", 3);
    assert_string_equal(drain(d, "output-raw", 1), "x=1@3 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "x=1@3 ");
    pipe_s(d, "input", "x", "y", 4);
    assert_string_equal(drain(d, "output-raw", 1), "x=0@4 y=1@4 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "x=0@4 y=1@4 ");
    finish(d, t);
}

static void test_time_limit(void **state) {
    (void)state;
    rv_suppressed_t s = until_time_limit(2);
    rv_topology_t *t = value_counts(&s, false);
    rv_test_driver_t *d = start(t, "suppress-time");
    pipe_s(d, "input", "k1", "v1", 0);
    pipe_s(d, "input", "k1", "v2", 1);
    pipe_s(d, "input", "k2", "v1", 2);
    assert_string_equal(drain(d, "output-raw", 1), "v1=1@0 v1=0@1 v2=1@1 v1=1@2 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "v1=1@2 ");
    /* a dummy "tick" record just to advance stream time */
    pipe_s(d, "input", "tick", "tick", 3);
    assert_string_equal(drain(d, "output-raw", 1), "tick=1@3 ");
    /* stream time is now 3: time to emit v2 */
    assert_string_equal(drain(d, "output-suppressed", 1), "v2=1@1 ");
    pipe_s(d, "input", "tick", "tock", 4);
    assert_string_equal(drain(d, "output-raw", 1), "tick=0@4 tock=1@4 ");
    /* tick is still buffered: first inserted at 3, and it is only 4 */
    assert_string_equal(drain(d, "output-suppressed", 1), "");
    finish(d, t);
}

static void limit_case(const rv_suppressed_t *s, bool count_serdes, const char *app,
                       const char *cache) {
    rv_topology_t *t = value_counts(s, count_serdes);
    rv_test_driver_t *d = start_cache(t, app, cache);
    pipe_s(d, "input", "k1", "v1", 0);
    pipe_s(d, "input", "k1", "v2", 1);
    pipe_s(d, "input", "k2", "v1", 2);
    assert_string_equal(drain(d, "output-raw", 1), "v1=1@0 v1=0@1 v2=1@1 v1=1@2 ");
    /* consecutive updates to v1 get suppressed into only the latter; the
     * last update waits until another key comes along */
    assert_string_equal(drain(d, "output-suppressed", 1), "v1=0@1 v2=1@1 ");
    pipe_s(d, "input", "x", "x", 3);
    assert_string_equal(drain(d, "output-raw", 1), "x=1@3 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "v1=1@2 ");
    finish(d, t);
}

static void test_record_limit(void **state) {
    (void)state;
    rv_suppressed_t s = until_time_limit(INT64_MAX);
    s.max_records = 1;
    s.when_full = RV_BUFFER_FULL_EMIT_EARLY;
    limit_case(&s, true, "suppress-records", NULL);
}

static void test_bytes_limit(void **state) {
    (void)state;
    /* An entry is a little over 100 bytes here (104: the record context
     * holds the repartition topic's name), as in Kafka's test. Kafka's
     * cache keeps each entry's record context for its flush; rivulet's
     * forwards a flushed entry with no input record, so the count runs
     * uncached here to give the suppression its record's context. */
    rv_suppressed_t s = until_time_limit(INT64_MAX);
    s.max_bytes = 200;
    s.when_full = RV_BUFFER_FULL_EMIT_EARLY;
    limit_case(&s, false, "suppress-bytes", "0");
}

static void test_final_time_windows(void **state) {
    (void)state;
    rv_topology_t *t = windowed_counts(0, 2, 1);
    rv_test_driver_t *d = start(t, "suppress-final");
    int64_t ts[] = {0, 1, 2, 1, 0, 5, 0};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        pipe_s(d, "input", "k1", "v1", ts[i]); /* the last one is out of grace */
    assert_string_equal(drain(d, "output-raw", 1), "[k1@0/2]=1@0 [k1@0/2]=2@1 [k1@2/4]=1@2 "
                                                   "[k1@0/2]=3@1 [k1@0/2]=4@1 [k1@4/6]=1@5 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "[k1@0/2]=4@1 [k1@2/4]=1@2 ");
    finish(d, t);
}

static void test_final_time_windows_large_jump(void **state) {
    (void)state;
    rv_topology_t *t = windowed_counts(0, 2, 2);
    rv_test_driver_t *d = start(t, "suppress-jump");
    int64_t ts[] = {0, 1, 2, 0, 3, 0, 4, 0, 30};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        pipe_s(d, "input", "k1", "v1", ts[i]);
    assert_string_equal(drain(d, "output-raw", 1),
                        "[k1@0/2]=1@0 [k1@0/2]=2@1 [k1@2/4]=1@2 [k1@0/2]=3@1 [k1@2/4]=2@3 "
                        "[k1@0/2]=4@1 [k1@4/6]=1@4 [k1@30/32]=1@30 ");
    assert_string_equal(drain(d, "output-suppressed", 1),
                        "[k1@0/2]=4@1 [k1@2/4]=2@3 [k1@4/6]=1@4 ");
    finish(d, t);
}

/* Sorts the "key=value@ts " items of s by key, then timestamp (stable),
 * as the test's comparator. */
static void sort_items(char *s) {
    char *items[64];
    size_t n = 0;
    for (char *p = strtok(s, " "); p && n < 64; p = strtok(NULL, " "))
        items[n++] = strdup(p);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            char *a = items[j - 1], *b = items[j];
            size_t ka = strcspn(a, "="), kb = strcspn(b, "=");
            int c = strncmp(a, b, ka < kb ? ka : kb);
            if (!c)
                c = ka < kb ? -1 : ka > kb ? 1 : 0;
            if (!c) {
                long long ta = atoll(strrchr(a, '@') + 1), tb = atoll(strrchr(b, '@') + 1);
                c = ta < tb ? -1 : ta > tb ? 1 : 0;
            }
            if (c <= 0)
                break;
            items[j - 1] = b;
            items[j] = a;
        }
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(s, items[i]);
        strcat(s, " ");
        free(items[i]);
    }
}

static void test_final_sliding_windows(void **state) {
    (void)state;
    rv_topology_t *t = windowed_counts(1, 5, 15);
    rv_test_driver_t *d = start(t, "suppress-sliding");
    int64_t ts[] = {10, 11, 10, 13, 10, 24, 5, 7, 90};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        pipe_s(d, "input", "k1", "v1", ts[i]);
    char raw[8192];
    snprintf(raw, sizeof raw, "%s", drain(d, "output-raw", 1));
    sort_items(raw);
    assert_string_equal(raw, "[k1@11/16]=1@11 [k1@11/16]=2@13 [k1@12/17]=1@13 [k1@19/24]=1@24 "
                             "[k1@5/10]=1@10 [k1@5/10]=2@10 [k1@5/10]=3@10 [k1@5/10]=4@10 "
                             "[k1@5/10]=5@10 [k1@6/11]=2@11 [k1@6/11]=3@11 [k1@6/11]=4@11 "
                             "[k1@6/11]=5@11 [k1@8/13]=4@13 [k1@8/13]=5@13 [k1@85/90]=1@90 ");
    assert_string_equal(drain(d, "output-suppressed", 1),
                        "[k1@5/10]=5@10 [k1@6/11]=5@11 [k1@8/13]=5@13 [k1@11/16]=2@13 "
                        "[k1@12/17]=1@13 [k1@19/24]=1@24 ");
    finish(d, t);
}

static void test_final_session_windows(void **state) {
    (void)state;
    rv_topology_t *t = windowed_counts(2, 5, 0);
    rv_test_driver_t *d = start(t, "suppress-session");
    pipe_s(d, "input", "k1", "v1", 0);
    pipe_s(d, "input", "k1", "v1", 5);
    /* disordered records are admitted until stream time > window end + grace */
    pipe_s(d, "input", "k1", "v1", 1);
    /* any key advances stream time */
    pipe_s(d, "input", "k2", "v1", 11);
    /* late for the first window, which is closed now: dropped everywhere */
    pipe_s(d, "input", "k1", "v1", 5);
    pipe_s(d, "input", "k1", "v1", 30);
    assert_string_equal(drain(d, "output-raw", 1),
                        "[k1@0/0]=1@0 [k1@0/0]=null@0 [k1@0/5]=2@5 [k1@0/5]=null@5 "
                        "[k1@0/5]=3@5 [k2@11/11]=1@11 [k1@30/30]=1@30 ");
    assert_string_equal(drain(d, "output-suppressed", 1), "[k1@0/5]=3@5 [k2@11/11]=1@11 ");
    finish(d, t);
}

static void test_before_group_by(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_ktable_t *t = rv_streams_builder_table(b, "topic", consumed_strings(), NULL);
    rv_suppressed_t s = until_time_limit(10);
    rv_ktable_t *c = rv_kgrouped_table_count(
        rv_ktable_group_by(rv_ktable_suppress(t, &s), same_kv, NULL, grouped_strings()), NULL,
        NULL);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(c, NULL), "output", produced_longs()), 0);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = start(topo, "suppress-groupby");
    pipe_s(d, "topic", "A", "a", 0);
    pipe_s(d, "topic", "tick", "tick", 10);
    assert_string_equal(drain(d, "output", 1), "A=1@0 ");
    finish(d, topo);
}

static rv_err_t pair_joiner(rv_out_t *out, const void *key, int32_t key_len, const void *l,
                            int32_t ll, const void *r, int32_t rl, void *opaque) {
    (void)key;
    (void)key_len;
    (void)opaque;
    char s[256];
    snprintf(s, sizeof s, "(%.*s,%.*s)", l ? (int)ll : 4, l ? (const char *)l : "null",
             r ? (int)rl : 4, r ? (const char *)r : "null");
    return rv_out_value(out, s, -1);
}

/* shouldWorkBeforeJoinRight / Left: `sup` names the suppressed side. */
static void join_case(const char *sup, const char *app) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_suppressed_t s = until_time_limit(10);
    rv_ktable_t *left = rv_streams_builder_table(b, "left", consumed_strings(), NULL);
    if (!strcmp(sup, "left"))
        left = rv_ktable_suppress(left, &s);
    rv_ktable_t *right = rv_streams_builder_table(b, "right", consumed_strings(), NULL);
    if (!strcmp(sup, "right"))
        right = rv_ktable_suppress(right, &s);
    rv_ktable_t *j = rv_ktable_outer_join(left, right, pair_joiner, NULL, NULL, NULL);
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(j, NULL), "output", NULL), 0);
    rv_topology_t *topo = build(b);
    rv_test_driver_t *d = start(topo, app);
    const char *other = !strcmp(sup, "left") ? "right" : "left";
    bool r = !strcmp(sup, "right");
    pipe_s(d, sup, "B", "1", 0);
    pipe_s(d, sup, "A", "1", 0);
    assert_string_equal(drain(d, "output", 0), ""); /* buffered */
    pipe_s(d, sup, "tick", "tick", 10);
    /* flush buffer */
    assert_string_equal(drain(d, "output", 0),
                        r ? "A=(null,1)@0 B=(null,1)@0 " : "A=(1,null)@0 B=(1,null)@0 ");
    pipe_s(d, sup, "A", "2", 11);
    assert_string_equal(drain(d, "output", 0), ""); /* buffered */
    /* joins with the previously emitted side */
    pipe_s(d, other, "A", r ? "a" : "a", 12);
    assert_string_equal(drain(d, "output", 0), r ? "A=(a,1)@12 " : "A=(1,a)@12 ");
    /* B is no longer buffered: views through to the parent table */
    pipe_s(d, other, "B", "b", 12);
    assert_string_equal(drain(d, "output", 0), r ? "B=(b,1)@12 " : "B=(1,b)@12 ");
    pipe_s(d, other, "A", "b", 13);
    assert_string_equal(drain(d, "output", 0), r ? "A=(b,1)@13 " : "A=(1,b)@13 ");
    pipe_s(d, sup, "tick", "tick1", 21);
    assert_string_equal(drain(d, "output", 0), r ? "tick=(null,tick1)@21 A=(b,2)@13 "
                                                 : "tick=(tick1,null)@21 A=(2,b)@13 ");
    finish(d, topo);
}

static void test_before_join_right(void **state) {
    (void)state;
    join_case("right", "suppress-join-right");
}

static void test_before_join_left(void **state) {
    (void)state;
    join_case("left", "suppress-join-left");
}

/* ---- SuppressTopologyTest ---- */

static char *describe(rv_streams_builder_t *b) {
    rv_topology_t *t = build(b);
    char *s = rv_topology_describe(t);
    assert_non_null(s);
    rv_topology_destroy(t);
    return s;
}

static rv_ktable_t *session_counts(rv_streams_builder_t *b) {
    rv_kgrouped_stream_t *g = rv_kstream_group_by(
        rv_streams_builder_stream(b, (const char *[]){"input"}, 1, consumed_strings()), key_as_is,
        NULL, grouped_strings());
    rv_session_windows_t w = RV_SESSION_WINDOWS_INIT(5, 5);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "counts";
    m.caching_disabled = 1;
    return rv_session_windowed_kstream_count(rv_kgrouped_stream_windowed_by_session(g, &w), NULL,
                                             &m);
}

static void final_topology(const char *name, const char *want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_suppressed_t s = until_window_closes();
    s.name = name;
    rv_kstream_t *out = rv_ktable_to_stream(rv_ktable_suppress(session_counts(b), &s), NULL);
    assert_int_equal(rv_kstream_to(rv_kstream_map(out, windowed_to_string, NULL, NULL),
                                   "output-suppressed", produced_longs()),
                     0);
    char *got = describe(b);
    assert_string_equal(got, want);
    free(got);
}

static void test_topology_final(void **state) {
    (void)state;
    const char *head = "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n"
                       "      --> KSTREAM-KEY-SELECT-0000000001\n"
                       "    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n"
                       "      --> counts-repartition-filter\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Processor: counts-repartition-filter (stores: [])\n"
                       "      --> counts-repartition-sink\n"
                       "      <-- KSTREAM-KEY-SELECT-0000000001\n"
                       "    Sink: counts-repartition-sink (topic: counts-repartition)\n"
                       "      <-- counts-repartition-filter\n"
                       "\n"
                       "  Sub-topology: 1\n"
                       "    Source: counts-repartition-source (topics: [counts-repartition])\n"
                       "      --> KSTREAM-AGGREGATE-0000000002\n"
                       "    Processor: KSTREAM-AGGREGATE-0000000002 (stores: [counts])\n";
    char want[4096];
    snprintf(want, sizeof want,
             "%s"
             "      --> KTABLE-SUPPRESS-0000000006\n"
             "      <-- counts-repartition-source\n"
             "    Processor: KTABLE-SUPPRESS-0000000006 (stores: "
             "[KTABLE-SUPPRESS-STATE-STORE-0000000007])\n"
             "      --> KTABLE-TOSTREAM-0000000008\n"
             "      <-- KSTREAM-AGGREGATE-0000000002\n"
             "    Processor: KTABLE-TOSTREAM-0000000008 (stores: [])\n"
             "      --> KSTREAM-MAP-0000000009\n"
             "      <-- KTABLE-SUPPRESS-0000000006\n"
             "    Processor: KSTREAM-MAP-0000000009 (stores: [])\n"
             "      --> KSTREAM-SINK-0000000010\n"
             "      <-- KTABLE-TOSTREAM-0000000008\n"
             "    Sink: KSTREAM-SINK-0000000010 (topic: output-suppressed)\n"
             "      <-- KSTREAM-MAP-0000000009\n"
             "\n",
             head);
    final_topology(NULL, want);
    snprintf(want, sizeof want,
             "%s"
             "      --> myname\n"
             "      <-- counts-repartition-source\n"
             "    Processor: myname (stores: [myname-store])\n"
             "      --> KTABLE-TOSTREAM-0000000006\n"
             "      <-- KSTREAM-AGGREGATE-0000000002\n"
             "    Processor: KTABLE-TOSTREAM-0000000006 (stores: [])\n"
             "      --> KSTREAM-MAP-0000000007\n"
             "      <-- myname\n"
             "    Processor: KSTREAM-MAP-0000000007 (stores: [])\n"
             "      --> KSTREAM-SINK-0000000008\n"
             "      <-- KTABLE-TOSTREAM-0000000006\n"
             "    Sink: KSTREAM-SINK-0000000008 (topic: output-suppressed)\n"
             "      <-- KSTREAM-MAP-0000000007\n"
             "\n",
             head);
    final_topology("myname", want);
}

static void intermediate_topology(const char *name, const char *want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_ktable_t *c = rv_kgrouped_stream_count(
        rv_kstream_group_by_key(
            rv_streams_builder_stream(b, (const char *[]){"input"}, 1, consumed_strings()), NULL),
        NULL, NULL);
    rv_suppressed_t s = until_time_limit(1000);
    s.name = name;
    assert_int_equal(rv_kstream_to(rv_ktable_to_stream(rv_ktable_suppress(c, &s), NULL), "output",
                                   produced_longs()),
                     0);
    char *got = describe(b);
    assert_string_equal(got, want);
    free(got);
}

static void test_topology_intermediate(void **state) {
    (void)state;
    intermediate_topology(NULL, "Topologies:\n"
                                "   Sub-topology: 0\n"
                                "    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n"
                                "      --> KSTREAM-AGGREGATE-0000000002\n"
                                "    Processor: KSTREAM-AGGREGATE-0000000002 (stores: "
                                "[KSTREAM-AGGREGATE-STATE-STORE-0000000001])\n"
                                "      --> KTABLE-SUPPRESS-0000000003\n"
                                "      <-- KSTREAM-SOURCE-0000000000\n"
                                "    Processor: KTABLE-SUPPRESS-0000000003 (stores: "
                                "[KTABLE-SUPPRESS-STATE-STORE-0000000004])\n"
                                "      --> KTABLE-TOSTREAM-0000000005\n"
                                "      <-- KSTREAM-AGGREGATE-0000000002\n"
                                "    Processor: KTABLE-TOSTREAM-0000000005 (stores: [])\n"
                                "      --> KSTREAM-SINK-0000000006\n"
                                "      <-- KTABLE-SUPPRESS-0000000003\n"
                                "    Sink: KSTREAM-SINK-0000000006 (topic: output)\n"
                                "      <-- KTABLE-TOSTREAM-0000000005\n"
                                "\n");
    intermediate_topology("asdf", "Topologies:\n"
                                  "   Sub-topology: 0\n"
                                  "    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n"
                                  "      --> KSTREAM-AGGREGATE-0000000002\n"
                                  "    Processor: KSTREAM-AGGREGATE-0000000002 (stores: "
                                  "[KSTREAM-AGGREGATE-STATE-STORE-0000000001])\n"
                                  "      --> asdf\n"
                                  "      <-- KSTREAM-SOURCE-0000000000\n"
                                  "    Processor: asdf (stores: [asdf-store])\n"
                                  "      --> KTABLE-TOSTREAM-0000000003\n"
                                  "      <-- KSTREAM-AGGREGATE-0000000002\n"
                                  "    Processor: KTABLE-TOSTREAM-0000000003 (stores: [])\n"
                                  "      --> KSTREAM-SINK-0000000004\n"
                                  "      <-- asdf\n"
                                  "    Sink: KSTREAM-SINK-0000000004 (topic: output)\n"
                                  "      <-- KTABLE-TOSTREAM-0000000003\n"
                                  "\n");
}

/* ---- KTableSuppressProcessorTest, through a node spelling Changes ----
 *
 * CHANGES forwards, for an input record with value "<new>,<old>" (int64
 * or "null"), the Change {new, old}; its key is the record's, or for a
 * windowed table "<key>@<start>/<end>" made into an rv_windowed_t. CAPTURE,
 * a child of the suppression, writes what it receives to g_seen as
 * "key(new,old)@ts{header=value}". */

typedef struct chg_cfg_s {
    int window_kind;
} chg_cfg_t;

static char g_seen[4096];

static rv_err_t parse_long(int64_t *out, const char *s, size_t n) {
    if (n == 4 && !strncmp(s, "null", 4))
        return RV_ERR__NOENT;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.*s", (int)n, s);
    *out = strtoll(tmp, NULL, 10);
    return 0;
}

static rv_err_t chg_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                            void *state) {
    const chg_cfg_t *c = state;
    const char *v = rec->value;
    const char *comma = memchr(v, ',', (size_t)rec->value_len);
    assert_non_null(comma);
    int64_t nv = 0, ov = 0;
    bool has_new = !parse_long(&nv, v, (size_t)(comma - v));
    bool has_old = !parse_long(&ov, comma + 1, (size_t)(v + rec->value_len - comma - 1));
    rv__change_t ch = {has_new ? &nv : NULL, has_new ? 8 : -1, has_old ? &ov : NULL,
                       has_old ? 8 : -1};
    rv_processor_record_t fwd = *rec;
    rv_windowed_t w;
    if (c->window_kind != RV__WINDOW_NONE) {
        const char *k = rec->key, *at = memchr(k, '@', (size_t)rec->key_len);
        assert_non_null(at);
        w.key = k;
        w.key_len = (int32_t)(at - k);
        long long s = 0, e = 0;
        assert_int_equal(sscanf(at + 1, "%lld/%lld", &s, &e), 2);
        w.start = s;
        w.end = e;
        fwd.key = &w;
        fwd.key_len = (int32_t)sizeof w;
    }
    fwd.value = &ch;
    fwd.value_len = (int32_t)sizeof ch;
    return rv_processor_context_forward(ctx, &fwd);
}

static rv_err_t chg_get(rv_processor_t *out, void *cfg) {
    out->process = chg_process;
    out->state = cfg;
    return 0;
}

static rv_err_t capture_process(rv_processor_context_t *ctx, const rv_processor_record_t *rec,
                                void *state) {
    (void)ctx;
    const int *windowed = state;
    const rv__change_t *ch = rec->value;
    char k[128], nv[32], ov[32];
    if (*windowed) {
        const rv_windowed_t *w = rec->key;
        snprintf(k, sizeof k, "[%.*s@%" PRId64 "/%" PRId64 "]", (int)w->key_len,
                 (const char *)w->key, w->start, w->end);
    } else {
        snprintf(k, sizeof k, "%.*s", (int)rec->key_len, (const char *)rec->key);
    }
    if (ch->new_value)
        snprintf(nv, sizeof nv, "%" PRId64, *(const int64_t *)ch->new_value);
    else
        snprintf(nv, sizeof nv, "null");
    if (ch->old_value)
        snprintf(ov, sizeof ov, "%" PRId64, *(const int64_t *)ch->old_value);
    else
        snprintf(ov, sizeof ov, "null");
    size_t n = strlen(g_seen);
    n += (size_t)snprintf(g_seen + n, sizeof g_seen - n, "%s(%s,%s)@%" PRId64, k, nv, ov,
                          rec->timestamp);
    for (size_t i = 0; i < rec->header_cnt; i++)
        n += (size_t)snprintf(g_seen + n, sizeof g_seen - n, "{%s=%.*s}", rec->headers[i].key,
                              (int)rec->headers[i].value_len, (const char *)rec->headers[i].value);
    snprintf(g_seen + n, sizeof g_seen - n, " ");
    return 0;
}

static rv_err_t capture_get(rv_processor_t *out, void *cfg) {
    out->process = capture_process;
    out->state = cfg;
    return 0;
}

typedef struct harness_s {
    rv_topology_t *topo;
    rv_test_driver_t *d;
    rv_serde_t *key_serde; /* windowed serde, when the test gives one */
} harness_t;

/* A topology "changes" -> CHANGES (a table with int64 values, windowed as
 * window_kind with size/grace) -> suppression `s` -> CAPTURE. With
 * explicit_serde, a windowed table carries Kafka's windowed key serde;
 * else the suppression wraps the default (string) one itself. */
static void harness_start(harness_t *h, const rv_suppressed_t *s, int window_kind, int64_t size,
                          int64_t grace, bool explicit_serde) {
    memset(h, 0, sizeof *h);
    g_seen[0] = '\0';
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_kstream_t *in =
        rv_streams_builder_stream(b, (const char *[]){"changes"}, 1, consumed_strings());
    assert_non_null(in);
    chg_cfg_t *cfg = rv__dsl_alloc(b, sizeof *cfg);
    rv__ktable_flags_t *flags = rv__dsl_alloc(b, sizeof *flags);
    int *windowed = rv__dsl_alloc(b, sizeof *windowed);
    cfg->window_kind = window_kind;
    *windowed = window_kind != RV__WINDOW_NONE;
    const char *parents[] = {in->node};
    assert_int_equal(rv__dsl_add_processor(b, "CHANGES", chg_get, cfg, parents, 1), 0);
    if (window_kind != RV__WINDOW_NONE && explicit_serde)
        h->key_serde = window_kind == RV__WINDOW_SESSION
                           ? rv_serde_session_windowed_new(rv_serde_string())
                           : rv_serde_time_windowed_new(rv_serde_string(), size);
    rv_ktable_t *t = rv__ktable_new(b, "CHANGES", h->key_serde ? h->key_serde : NULL,
                                    rv_serde_int64(), NULL, NULL, flags, NULL);
    assert_non_null(t);
    t->window_kind = window_kind;
    t->window_size_ms = size;
    t->window_grace_ms = grace;
    rv_ktable_t *sup = rv_ktable_suppress(t, s);
    assert_non_null(sup);
    const char *cap_parents[] = {sup->node};
    assert_int_equal(rv__dsl_add_processor(b, "CAPTURE", capture_get, windowed, cap_parents, 1), 0);
    h->topo = build(b);
    h->d = start(h->topo, "suppress-processor");
}

static void harness_stop(harness_t *h) {
    finish(h->d, h->topo);
    rv_serde_destroy(h->key_serde);
}

static void test_zero_time_limit_emits(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_time_limit(0);
    harness_start(&h, &s, RV__WINDOW_NONE, 0, 0, false);
    pipe_s(h.d, "changes", "hey", "7,14", 5);
    assert_string_equal(g_seen, "hey(7,14)@5 ");
    harness_stop(&h);
    /* windowedZeroTimeLimitShouldImmediatelyEmit */
    harness_start(&h, &s, RV__WINDOW_TIME, 100, 0, true);
    pipe_s(h.d, "changes", "hey@0/100", "7,14", 5);
    assert_string_equal(g_seen, "[hey@0/100](7,14)@5 ");
    harness_stop(&h);
}

static void test_intermediate_buffers(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_time_limit(1);
    harness_start(&h, &s, RV__WINDOW_NONE, 0, 0, false);
    pipe_s(h.d, "changes", "hey", "null,1", 0);
    assert_string_equal(g_seen, "");
    pipe_s(h.d, "changes", "tick", "null,null", 1);
    assert_string_equal(g_seen, "hey(null,1)@0 ");
    harness_stop(&h);
}

static void test_final_results_at_grace_expiration(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_window_closes();
    for (int explicit_serde = 0; explicit_serde < 2; explicit_serde++) {
        harness_start(&h, &s, RV__WINDOW_TIME, 1, 1, explicit_serde);
        pipe_s(h.d, "changes", "hey@99/100", "7,14", 99);
        assert_string_equal(g_seen, "");
        /* stream time is 100, but "hey" waits 1 ms past its window end */
        pipe_s(h.d, "changes", "dummyKey1@100/101", "7,14", 100);
        assert_string_equal(g_seen, "");
        pipe_s(h.d, "changes", "dummyKey2@101/102", "7,14", 101);
        assert_string_equal(g_seen, "[hey@99/100](7,14)@99 ");
        harness_stop(&h);
    }
}

static void test_final_results_zero_grace(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_window_closes();
    /* the record is in the past but its window ends in the future */
    harness_start(&h, &s, RV__WINDOW_TIME, 100, 0, true);
    pipe_s(h.d, "changes", "hey@0/100", "7,14", 5);
    assert_string_equal(g_seen, "");
    pipe_s(h.d, "changes", "dummyKey@100/200", "7,14", 100);
    assert_string_equal(g_seen, "[hey@0/100](7,14)@5 ");
    harness_stop(&h);
    /* finalResultsWithZeroGraceAtWindowEndShouldImmediatelyEmit */
    harness_start(&h, &s, RV__WINDOW_TIME, 100, 0, true);
    pipe_s(h.d, "changes", "hey@0/100", "7,14", 100);
    assert_string_equal(g_seen, "[hey@0/100](7,14)@100 ");
    harness_stop(&h);
}

static void test_final_results_drop_tombstones(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_window_closes();
    harness_start(&h, &s, RV__WINDOW_TIME, 100, 0, true);
    pipe_s(h.d, "changes", "hey@0/100", "null,5", 100);
    assert_string_equal(g_seen, "");
    harness_stop(&h);
    harness_start(&h, &s, RV__WINDOW_SESSION, 0, 0, true);
    pipe_s(h.d, "changes", "hey@0/0", "null,5", 100);
    assert_string_equal(g_seen, "");
    harness_stop(&h);
}

static void test_suppress_keeps_tombstones(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_time_limit(0);
    rv_header_t hd = {"k", "v", 1};
    harness_start(&h, &s, RV__WINDOW_TIME, 100, 0, true);
    assert_int_equal(pipe_h(h.d, "changes", "hey@0/100", "null,5", 100, &hd, 1), 0);
    assert_string_equal(g_seen, "[hey@0/100](null,5)@100{k=v} ");
    harness_stop(&h);
    harness_start(&h, &s, RV__WINDOW_SESSION, 0, 0, false);
    pipe_s(h.d, "changes", "hey@0/0", "null,5", 100);
    assert_string_equal(g_seen, "[hey@0/0](null,5)@100 ");
    harness_stop(&h);
    harness_start(&h, &s, RV__WINDOW_NONE, 0, 0, false);
    pipe_s(h.d, "changes", "hey", "null,5", 100);
    assert_string_equal(g_seen, "hey(null,5)@100 ");
    harness_stop(&h);
}

static void test_emit_when_over_capacity(void **state) {
    (void)state;
    harness_t h;
    for (int bytes = 0; bytes < 2; bytes++) {
        rv_suppressed_t s = until_time_limit(100LL * 24 * 3600 * 1000);
        s.when_full = RV_BUFFER_FULL_EMIT_EARLY;
        if (bytes)
            s.max_bytes = 60;
        else
            s.max_records = 1;
        harness_start(&h, &s, RV__WINDOW_NONE, 0, 0, false);
        pipe_s(h.d, "changes", "hey", "null,5", 100);
        assert_string_equal(g_seen, "");
        pipe_s(h.d, "changes", "dummyKey", "null,5", 101);
        assert_string_equal(g_seen, "hey(null,5)@100 ");
        harness_stop(&h);
    }
}

static void test_shut_down_when_over_capacity(void **state) {
    (void)state;
    harness_t h;
    for (int bytes = 0; bytes < 2; bytes++) {
        rv_suppressed_t s = until_time_limit(100LL * 24 * 3600 * 1000);
        s.when_full = RV_BUFFER_FULL_SHUT_DOWN;
        if (bytes)
            s.max_bytes = 60;
        else
            s.max_records = 1;
        harness_start(&h, &s, RV__WINDOW_NONE, 0, 0, false);
        pipe_s(h.d, "changes", "hey", "null,5", 100);
        assert_int_not_equal(pipe_h(h.d, "changes", "dummyKey", "null,5", 100, NULL, 0), 0);
        const char *err = rv_test_driver_last_error(h.d);
        rvt_assert_contains(err, "KTABLE-SUPPRESS-0000000001 buffer exceeded its max capacity.");
        /* "hey": 8 + 3 key + 8 prior (old is the same) + context 8 + 8 + 7
         * ("changes") + 4 = 46 bytes; "dummyKey": 51. */
        rvt_assert_contains(err, bytes ? "Currently [2/9223372036854775807] records and [97/60] "
                                         "bytes."
                                       : "Currently [2/1] records and [97/9223372036854775807] "
                                         "bytes.");
        assert_string_equal(g_seen, "");
        harness_stop(&h);
    }
}

/* ---- The buffer's changelog ---- */

static void test_changelog_format(void **state) {
    (void)state;
    harness_t h;
    rv_suppressed_t s = until_time_limit(10);
    s.name = "buf";
    harness_start(&h, &s, RV__WINDOW_NONE, 0, 0, false);
    rv_header_t hd = {"h", "x", 1};
    assert_int_equal(pipe_h(h.d, "changes", "k", "7,14", 3, &hd, 1), 0);
    pipe_s(h.d, "changes", "k", "8,7", 4); /* an update keeps buffer time 3 and prior 14 */
    rv_test_record_t *r;
    const char *topic = "suppress-processor-buf-store-changelog";
    assert_int_equal(rv_test_driver_read_output(&r, h.d, topic), 0);
    rv_test_record_destroy(r);
    assert_int_equal(rv_test_driver_read_output(&r, h.d, topic), 0);
    int32_t kl, vl;
    const uint8_t *k = rv_test_record_key(r, &kl);
    const uint8_t *v = rv_test_record_value(r, &vl);
    assert_int_equal(kl, 1);
    assert_memory_equal(k, "k", 1);
    /* context: ts 4, offset 1, topic "changes", partition 0, no headers;
     * prior 14, old 7, new 8, buffer time 3 (Kafka's version 3) */
    rv__buf_t want;
    rv__buf_init(&want);
    rv__buf_put_be64(&want, 4);
    rv__buf_put_be64(&want, 1);
    rv__buf_put_be32(&want, 7);
    rv__buf_append(&want, "changes", 7);
    rv__buf_put_be32(&want, 0);
    rv__buf_put_be32(&want, 0);
    int64_t vals[] = {14, 7, 8};
    for (int i = 0; i < 3; i++) {
        rv__buf_put_be32(&want, 8);
        rv__buf_put_be64(&want, (uint64_t)vals[i]);
    }
    rv__buf_put_be64(&want, 3);
    assert_int_equal(vl, (int32_t)want.len);
    assert_memory_equal(v, want.data, want.len);
    rv__buf_free(&want);
    rv_test_record_destroy(r);
    /* Emitted at stream time 13: a tombstone follows. */
    pipe_s(h.d, "changes", "z", "1,null", 13);
    assert_string_equal(g_seen, "k(8,7)@4 ");
    int tombstones = 0;
    while (rv_test_driver_read_output(&r, h.d, topic) == 0) {
        k = rv_test_record_key(r, &kl);
        if (!rv_test_record_value(r, &vl) && kl == 1 && k[0] == 'k')
            tombstones++;
        rv_test_record_destroy(r);
    }
    assert_int_equal(tombstones, 1);
    /* The store answers the view: z is buffered with no prior value. */
    rv_kv_store_t *st = rv_test_driver_get_kv_store(h.d, "buf-store");
    assert_non_null(st);
    rv_bytes_t got = {0};
    assert_int_equal(rv_kv_store_get(&got, st, "z", 1), RV_ERR__NOENT);
    assert_int_equal(rv_kv_store_approximate_num_entries(st), 1);
    harness_stop(&h);
}

/* ---- Builder errors ---- */

static void test_builder_errors(void **state) {
    (void)state;
    const char *err = NULL;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_ktable_t *t = rv_streams_builder_table(b, "input", consumed_strings(), NULL);
    rv_suppressed_t s = until_window_closes();
    assert_null(rv_ktable_suppress(t, &s));
    assert_int_not_equal(rv_streams_builder_last_error(b, &err), 0);
    assert_string_equal(err, "Invalid topology: Window close time is only defined for windowed "
                             "computations. Got [KTABLE-SOURCE-0000000002].");
    rv_streams_builder_destroy(b);

    /* until_window_closes takes a strict buffer only. */
    b = rv_streams_builder_new();
    rv_kgrouped_stream_t *g = rv_kstream_group_by_key(
        rv_streams_builder_stream(b, (const char *[]){"input"}, 1, consumed_strings()), NULL);
    rv_time_windows_t w = RV_TIME_WINDOWS_INIT(10, 0);
    rv_ktable_t *c =
        rv_time_windowed_kstream_count(rv_kgrouped_stream_windowed_by(g, &w), NULL, NULL);
    s.max_records = 10;
    s.when_full = RV_BUFFER_FULL_EMIT_EARLY;
    assert_null(rv_ktable_suppress(c, &s));
    assert_int_not_equal(rv_streams_builder_last_error(b, &err), 0);
    rvt_assert_contains(err, "until_window_closes needs a strict buffer");
    rv_streams_builder_destroy(b);
}

/* ---- A crash on the embedded broker ---- */

typedef struct fx_s {
    char *dir;
    char bs[4200];
    rv_broker_t *broker;
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    char err[512];
    fx->dir = rvt_tmpdir();
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, err, sizeof err), 0);
    snprintf(fx->bs, sizeof fx->bs, "%s", rvt_bootstrap(fx->dir));
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rv_broker_close(fx->broker);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static rv_conf_t *client_conf(fx_t *fx) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", fx->bs, err, sizeof err), 0);
    return c;
}

static void create_topic(fx_t *fx, const char *name) {
    char err[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), err, sizeof err);
    assert_non_null(a);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    assert_int_equal(rv_admin_create_topic(a, name, 1, -1, names, values, 1, err, sizeof err), 0);
    rv_admin_destroy(a);
}

static void produce(fx_t *fx, const char *topic, const char *key, int64_t ts) {
    char err[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), err, sizeof err);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = 0;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = "click";
    r.value_len = 5;
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, err, sizeof err), 0);
    rv_producer_destroy(p);
}

/* Reads topic from the start until `want` records came (or 15 s), as
 * "key=count@ts " (values int64 when longs, else only counted). */
static int read_topic(fx_t *fx, const char *topic, int want, char *out, size_t out_size,
                      int longs) {
    char err[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), err, sizeof err);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, 0), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    out[0] = '\0';
    int got = 0;
    int64_t until = rv__mono_ms() + 15000;
    while (got < want && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const char *v = rv_record_value(r, &vl);
            int64_t n = -1;
            if (longs && v)
                rv_serde_int64_read(&n, v, vl);
            size_t o = strlen(out);
            snprintf(out + o, out_size - o, "%.*s=%" PRId64 "@%" PRId64 " ", k ? (int)kl : 0,
                     k ? k : "", n, rv_record_timestamp(r));
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    return got;
}

/* The offset group `group` committed on topic-0, -1 when none. */
static int64_t committed(fx_t *fx, const char *group, const char *topic) {
    char err[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), err, sizeof err);
    assert_non_null(a);
    rv_topic_partition_list_t *l = NULL;
    int64_t off = -1;
    if (!rv_admin_list_group_offsets(a, group, &l, err, sizeof err)) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_find(l, topic, 0);
        if (tp)
            off = rv_topic_partition_offset(tp);
        rv_topic_partition_list_destroy(l);
    }
    rv_admin_destroy(a);
    return off;
}

static int64_t g_restored; /* records restored into the buffer store */

static void r_batch(const char *topic, int32_t partition, const char *store, int64_t end, int64_t n,
                    void *opaque) {
    (void)topic;
    (void)partition;
    (void)end;
    (void)opaque;
    if (!strcmp(store, "final-store"))
        g_restored += n;
}

static rv_streams_t *start_app(fx_t *fx, rv_topology_t *t, const char *state_dir) {
    char err[1024];
    rv_conf_t *c = client_conf(fx);
    assert_int_equal(rv_conf_set(c, "application.id", "suppress-crash", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", state_dir, err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "1500", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "200", err, sizeof err), 0);
    rv_streams_t *s = rv_streams_new(t, c, err, sizeof err);
    if (!s)
        fail_msg("rv_streams_new: %s", err);
    rv_state_restore_listener_t l = RV_STATE_RESTORE_LISTENER_INIT;
    l.on_batch = r_batch;
    assert_int_equal(rv_streams_set_restore_listener(s, &l), 0);
    if (rv_streams_start(s, err, sizeof err))
        fail_msg("rv_streams_start: %s", err);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    return s;
}

static void test_crash_keeps_buffered_results(void **state) {
    fx_t *fx = *state;
    create_topic(fx, "clicks");
    create_topic(fx, "final");
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_kgrouped_stream_t *g = rv_kstream_group_by_key(
        rv_streams_builder_stream(b, (const char *[]){"clicks"}, 1, consumed_strings()), NULL);
    rv_time_windows_t w = RV_TIME_WINDOWS_INIT(10, 0);
    rv_ktable_t *c =
        rv_time_windowed_kstream_count(rv_kgrouped_stream_windowed_by(g, &w), NULL, NULL);
    rv_suppressed_t s = until_window_closes();
    s.name = "final";
    rv_kstream_t *out = rv_ktable_to_stream(rv_ktable_suppress(c, &s), NULL);
    assert_int_equal(rv_kstream_to(rv_kstream_map(out, windowed_to_string, NULL, NULL), "final",
                                   produced_longs()),
                     0);
    rv_topology_t *t = build(b);
    char sa[4400], sb[4400], got[4096];
    snprintf(sa, sizeof sa, "%s/state-a", fx->dir);
    snprintf(sb, sizeof sb, "%s/state-b", fx->dir);

    /* Timestamps near now: the window store's changelog keeps records for
     * its retention (+1 day) only, as Kafka's windowed changelogs. */
    int64_t base = rv__now_ms() / 10000 * 10000;
    rv_streams_t *a = start_app(fx, t, sa);
    produce(fx, "clicks", "k1", base + 1);
    produce(fx, "clicks", "k1", base + 2);
    produce(fx, "clicks", "k2", base + 5);
    /* The buffer reaches its changelog at a commit, with the input offsets
     * right after it. */
    int n = read_topic(fx, "suppress-crash-final-store-changelog", 2, got, sizeof got, 0);
    if (n != 2)
        fail_msg("changelog: %s", got);
    /* Wait for the input offsets too: then only the restored buffer can
     * give the result after the crash (nothing is processed again). */
    int64_t until = rv__mono_ms() + 15000;
    while (committed(fx, "suppress-crash", "clicks") < 3 && rv__mono_ms() < until) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
    }
    assert_int_equal(committed(fx, "suppress-crash", "clicks"), 3);
    rv__streams_simulate_crash(a);
    rv_streams_destroy(a);
    assert_int_equal(read_topic(fx, "final", 0, got, sizeof got, 1), 0);

    /* A new instance on an empty state folder restores the buffer and
     * emits the window's final result once stream time passes its end. */
    g_restored = 0;
    rv_streams_t *bi = start_app(fx, t, sb);
    assert_true(g_restored >= 2);
    produce(fx, "clicks", "k3", base + 15);
    assert_int_equal(read_topic(fx, "final", 2, got, sizeof got, 1), 2);
    char want[256];
    snprintf(want, sizeof want,
             "[k1@%" PRId64 "/%" PRId64 "]=2@%" PRId64 " [k2@%" PRId64 "/%" PRId64 "]=1@%" PRId64
             " ",
             base, base + 10, base + 2, base, base + 10, base + 5);
    assert_string_equal(got, want);
    assert_int_equal(rv_streams_close(bi, 10000), 0);
    rv_streams_destroy(bi);
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_emit_after),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_bytes_limit),
        cmocka_unit_test(test_final_time_windows),
        cmocka_unit_test(test_final_time_windows_large_jump),
        cmocka_unit_test(test_final_sliding_windows),
        cmocka_unit_test(test_final_session_windows),
        cmocka_unit_test(test_before_group_by),
        cmocka_unit_test(test_before_join_right),
        cmocka_unit_test(test_before_join_left),
        cmocka_unit_test(test_topology_final),
        cmocka_unit_test(test_topology_intermediate),
        cmocka_unit_test(test_zero_time_limit_emits),
        cmocka_unit_test(test_intermediate_buffers),
        cmocka_unit_test(test_final_results_at_grace_expiration),
        cmocka_unit_test(test_final_results_zero_grace),
        cmocka_unit_test(test_final_results_drop_tombstones),
        cmocka_unit_test(test_suppress_keeps_tombstones),
        cmocka_unit_test(test_emit_when_over_capacity),
        cmocka_unit_test(test_shut_down_when_over_capacity),
        cmocka_unit_test(test_changelog_format),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test_setup_teardown(test_crash_keeps_buffered_results, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
