/* tests/unit/test_dsl_kstream.c: the builder (dsl/builder.c) and KStream's
 * operators (dsl/kstream.c) run through the test driver with the inputs and
 * outputs of Kafka Streams' own tests (KStreamFilterTest, KStreamMapTest,
 * KStreamMapValuesTest, KStreamFlatMapTest, KStreamFlatMapValuesTest,
 * KStreamSelectKeyTest, KStreamPeekTest, KStreamForeachTest,
 * KStreamSplitTest, StreamsBuilderTest's merge and repartition cases,
 * KStreamRepartitionTest), describe() compared byte for byte with what
 * Kafka Streams prints for the same programs, the builder's sticky errors,
 * and one app with a map and a repartition on the embedded broker. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "rivulet/rivulet.h"
#include "testutil.h"

/* ---- Helpers ---- */

/* What a capture processor saw: "key:value@ts" lines (Kafka's
 * MockApiProcessor.processed()). */
static char g_seen[8192];
static int g_seen_cnt;

/* How to print a key or value: 'i' int32, 's' string. */
typedef struct fmt_s {
    char key, value;
} fmt_t;

static void put_field(char *line, size_t size, char kind, const void *p, int32_t len) {
    size_t at = strlen(line);
    if (!p) {
        snprintf(line + at, size - at, "null");
    } else if (kind == 'i') {
        int32_t v;
        memcpy(&v, p, sizeof v);
        snprintf(line + at, size - at, "%d", (int)v);
    } else {
        snprintf(line + at, size - at, "%.*s", (int)len, (const char *)p);
    }
}

static rv_err_t capture_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                void *state) {
    (void)ctx;
    const fmt_t *f = state;
    char line[256] = "";
    put_field(line, sizeof line, f->key, r->key, r->key_len);
    strcat(line, ":");
    put_field(line, sizeof line, f->value, r->value, r->value_len);
    size_t at = strlen(line);
    snprintf(line + at, sizeof line - at, "@%lld\n", (long long)r->timestamp);
    strncat(g_seen, line, sizeof g_seen - strlen(g_seen) - 1);
    g_seen_cnt++;
    return 0;
}

static rv_err_t capture_get(rv_processor_t *out, void *opaque) {
    out->process = capture_process;
    out->state = opaque; /* static fmt_t; nothing to free */
    return 0;
}

static fmt_t g_fmt_is = {'i', 's'}, g_fmt_si = {'s', 'i'}, g_fmt_ii = {'i', 'i'},
             g_fmt_ss = {'s', 's'};

/* stream.process(MockApiProcessorSupplier) */
static void capture(rv_kstream_t *s, fmt_t *f) {
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = capture_get;
    sup.opaque = f;
    assert_non_null(rv_kstream_process(s, &sup, NULL, 0, NULL));
}

static rv_consumed_t consumed(const rv_serde_t *k, const rv_serde_t *v) {
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = k;
    c.value_serde = v;
    return c;
}

static rv_topology_t *build(rv_streams_builder_t *b) {
    char errstr[1024];
    rv_topology_t *t = NULL;
    rv_err_t err = rv_streams_builder_build(&t, b, errstr, sizeof errstr);
    if (err)
        fail_msg("build: %s", errstr);
    rv_streams_builder_destroy(b);
    return t;
}

static rv_test_driver_t *driver(rv_topology_t *t) {
    char errstr[1024];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "dsl-kstream-test", errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, errstr, sizeof errstr);
    if (!d)
        fail_msg("driver: %s", errstr);
    g_seen[0] = '\0';
    g_seen_cnt = 0;
    return d;
}

static void pipe_is(rv_test_driver_t *d, const char *topic, int32_t key, const char *value,
                    int64_t ts) {
    uint8_t k[4];
    rv_serde_int32_write(k, key);
    rv_err_t err = rv_test_driver_pipe_input(d, topic, k, 4, value,
                                             value ? (int32_t)strlen(value) : -1, ts, NULL, 0);
    if (err)
        fail_msg("pipe: %s", rv_test_driver_last_error(d));
}

static void pipe_ss(rv_test_driver_t *d, const char *topic, const char *key, const char *value,
                    int64_t ts) {
    rv_err_t err = rv_test_driver_pipe_input(d, topic, key, key ? (int32_t)strlen(key) : -1, value,
                                             value ? (int32_t)strlen(value) : -1, ts, NULL, 0);
    if (err)
        fail_msg("pipe: %s", rv_test_driver_last_error(d));
}

/* The values written to topic, as "v1,v2,..." (readValuesToList). */
static void read_values(rv_test_driver_t *d, const char *topic, char *out, size_t size) {
    out[0] = '\0';
    rv_test_record_t *r;
    while (rv_test_driver_read_output(&r, d, topic) == 0) {
        int32_t vl;
        const char *v = rv_test_record_value(r, &vl);
        size_t at = strlen(out);
        snprintf(out + at, size - at, "%s%.*s", at ? "," : "", v ? (int)vl : 4, v ? v : "null");
        rv_test_record_destroy(r);
    }
}

static void finish(rv_test_driver_t *d, rv_topology_t *t) {
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static int int_key(const void *key) {
    int32_t k;
    memcpy(&k, key, 4);
    return k;
}

/* ---- KStreamFilterTest ---- */

static int is_multiple_of_three(const void *key, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)kl, (void)v, (void)vl, (void)o;
    return int_key(key) % 3 == 0;
}

static void run_filter(int negate, int want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    s = negate ? rv_kstream_filter_not(s, is_multiple_of_three, NULL, NULL)
               : rv_kstream_filter(s, is_multiple_of_three, NULL, NULL);
    capture(s, &g_fmt_is);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    for (int k = 1; k <= 7; k++) {
        char v[8];
        snprintf(v, sizeof v, "V%d", k);
        pipe_is(d, "topic", k, v, 0);
    }
    assert_int_equal(g_seen_cnt, want);
    finish(d, t);
}

static void test_filter(void **state) {
    (void)state;
    run_filter(0, 2);
    assert_string_equal(g_seen, "3:V3@0\n6:V6@0\n");
}

static void test_filter_not(void **state) {
    (void)state;
    run_filter(1, 5);
    assert_string_equal(g_seen, "1:V1@0\n2:V2@0\n4:V4@0\n5:V5@0\n7:V7@0\n");
}

/* ---- KStreamMapTest ---- */

static rv_err_t swap(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)o;
    rv_err_t err = rv_out_key(out, v, vl);
    return err ? err : rv_out_value(out, k, kl);
}

static void test_map(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    capture(rv_kstream_map(rv_streams_builder_stream(b, topics, 1, &c), swap, NULL, NULL),
            &g_fmt_si);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    for (int k = 0; k < 4; k++) {
        char v[8];
        snprintf(v, sizeof v, "V%d", k);
        pipe_is(d, "topic", k, v, 10 - k);
    }
    assert_int_equal(g_seen_cnt, 4);
    assert_string_equal(g_seen, "V0:0@10\nV1:1@9\nV2:2@8\nV3:3@7\n");
    finish(d, t);
}

/* ---- KStreamMapValuesTest ---- */

static rv_err_t length_plus_key(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                                void *o) {
    (void)kl, (void)v;
    int32_t n = vl + (o ? int_key(k) : 0);
    return rv_out_value(out, &n, 4);
}

static void run_map_values(int with_key, const char *want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    capture(rv_kstream_map_values(rv_streams_builder_stream(b, topics, 1, &c), length_plus_key,
                                  with_key ? (void *)1 : NULL, NULL),
            &g_fmt_ii);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    int keys[] = {1, 10, 100, 1000};
    for (int i = 0; i < 4; i++) {
        char v[8];
        snprintf(v, sizeof v, "%d", keys[i]);
        pipe_is(d, "topic", keys[i], v, keys[i] / 2);
    }
    assert_string_equal(g_seen, want);
    finish(d, t);
}

static void test_map_values(void **state) {
    (void)state;
    run_map_values(0, "1:1@0\n10:2@5\n100:3@50\n1000:4@500\n");
    run_map_values(1, "1:2@0\n10:12@5\n100:103@50\n1000:1004@500\n");
}

/* ---- KStreamFlatMapTest ---- */

static rv_err_t flat_pairs(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           void *o) {
    (void)kl, (void)o;
    int key = int_key(k);
    for (int i = 0; i < key; i++) {
        char nk[16];
        snprintf(nk, sizeof nk, "%d", key * 10 + i);
        rv_err_t err = rv_out_pair(out, nk, -1, v, vl);
        if (err)
            return err;
    }
    return 0;
}

static void test_flat_map(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    capture(
        rv_kstream_flat_map(rv_streams_builder_stream(b, topics, 1, &c), flat_pairs, NULL, NULL),
        &g_fmt_ss);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    for (int k = 0; k < 4; k++) {
        char v[8];
        snprintf(v, sizeof v, "V%d", k);
        pipe_is(d, "topic", k, v, 0);
    }
    assert_int_equal(g_seen_cnt, 6);
    assert_string_equal(g_seen, "10:V1@0\n20:V2@0\n21:V2@0\n30:V3@0\n31:V3@0\n32:V3@0\n");
    finish(d, t);
}

/* ---- KStreamFlatMapValuesTest ---- */

static rv_err_t two_values(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                           void *o) {
    (void)kl, (void)vl;
    char a[16], z[16];
    snprintf(a, sizeof a, "v%d", int_key(v));
    if (o)
        snprintf(z, sizeof z, "k%d", int_key(k));
    else
        snprintf(z, sizeof z, "V%d", int_key(v));
    rv_err_t err = rv_out_value(out, a, -1);
    return err ? err : rv_out_value(out, z, -1);
}

static void run_flat_map_values(int with_key, const char *want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_int32());
    capture(rv_kstream_flat_map_values(rv_streams_builder_stream(b, topics, 1, &c), two_values,
                                       with_key ? (void *)1 : NULL, NULL),
            &g_fmt_is);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    for (int k = 0; k < 4; k++) {
        uint8_t kb[4];
        rv_serde_int32_write(kb, k);
        assert_int_equal(rv_test_driver_pipe_input(d, "topic", kb, 4, kb, 4, 0, NULL, 0), 0);
    }
    assert_string_equal(g_seen, want);
    finish(d, t);
}

static void test_flat_map_values(void **state) {
    (void)state;
    run_flat_map_values(0, "0:v0@0\n0:V0@0\n1:v1@0\n1:V1@0\n2:v2@0\n2:V2@0\n3:v3@0\n3:V3@0\n");
    run_flat_map_values(1, "0:v0@0\n0:k0@0\n1:v1@0\n1:k1@0\n2:v2@0\n2:k2@0\n3:v3@0\n3:k3@0\n");
}

/* ---- KStreamSelectKeyTest ---- */

static rv_err_t key_by_value(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                             void *o) {
    (void)k, (void)kl, (void)vl, (void)o;
    static const char *names[] = {NULL, "ONE", "TWO", "THREE"};
    int n = int_key(v);
    return rv_out_key(out, n >= 1 && n <= 3 ? names[n] : NULL, -1);
}

static void test_select_key(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic_key_select"};
    rv_consumed_t c = consumed(rv_serde_string(), rv_serde_int32());
    capture(rv_kstream_select_key(rv_streams_builder_stream(b, topics, 1, &c), key_by_value, NULL,
                                  NULL),
            &g_fmt_si);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    for (int v = 1; v <= 3; v++) {
        uint8_t vb[4];
        rv_serde_int32_write(vb, v);
        assert_int_equal(
            rv_test_driver_pipe_input(d, "topic_key_select", NULL, -1, vb, 4, 0, NULL, 0), 0);
    }
    assert_int_equal(g_seen_cnt, 3);
    assert_string_equal(g_seen, "ONE:1@0\nTWO:2@0\nTHREE:3@0\n");
    finish(d, t);
}

/* ---- KStreamPeekTest, KStreamForeachTest ---- */

static rv_err_t collect(const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)kl;
    char *into = o;
    size_t at = strlen(into);
    snprintf(into + at, 4096 - at, "%d=%.*s;", int_key(k), (int)vl, (const char *)v);
    return 0;
}

static void test_peek(void **state) {
    (void)state;
    static char peeked[4096], streamed[4096];
    peeked[0] = streamed[0] = '\0';
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    rv_kstream_t *s = rv_streams_builder_stream(b, topics, 1, &c);
    assert_int_equal(
        rv_kstream_foreach(rv_kstream_peek(s, collect, peeked, NULL), collect, streamed, NULL), 0);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    char want[4096] = "";
    for (int k = 0; k < 32; k++) {
        char v[8];
        snprintf(v, sizeof v, "V%d", k);
        pipe_is(d, "topic", k, v, 0);
        size_t at = strlen(want);
        snprintf(want + at, sizeof want - at, "%d=%s;", k, v);
    }
    assert_string_equal(peeked, want);
    assert_string_equal(streamed, want);
    finish(d, t);

    /* shouldNotAllowNullAction */
    b = rv_streams_builder_new();
    s = rv_streams_builder_stream(b, topics, 1, &c);
    assert_null(rv_kstream_peek(s, NULL, NULL, NULL));
    const char *msg;
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    assert_string_equal(msg, "action can't be null");
    rv_streams_builder_destroy(b);
}

static rv_err_t double_upper(const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)kl;
    char *into = o, up[32];
    int n = 0;
    for (; n < vl && n < 31; n++)
        up[n] = (char)(((const char *)v)[n] >= 'a' && ((const char *)v)[n] <= 'z'
                           ? ((const char *)v)[n] - 32
                           : ((const char *)v)[n]);
    up[n] = '\0';
    size_t at = strlen(into);
    snprintf(into + at, 4096 - at, "%d=%s;", int_key(k) * 2, up);
    return 0;
}

static void test_foreach(void **state) {
    (void)state;
    static char actual[4096];
    actual[0] = '\0';
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    assert_int_equal(
        rv_kstream_foreach(rv_streams_builder_stream(b, topics, 1, &c), double_upper, actual, NULL),
        0);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    const char *vals[] = {"zero", "one", "two", "three"};
    for (int k = 0; k < 4; k++)
        pipe_is(d, "topic", k, vals[k], 0);
    assert_string_equal(actual, "0=ZERO;2=ONE;4=TWO;6=THREE;");
    finish(d, t);
}

/* ---- KStreamSplitTest ---- */

static int is_even(const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)kl, (void)v, (void)vl, (void)o;
    return int_key(k) % 2 == 0;
}
static int mult_of(const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)kl, (void)v, (void)vl;
    return int_key(k) % (int)(intptr_t)o == 0;
}
static int is_negative(const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)kl, (void)v, (void)vl, (void)o;
    return int_key(k) < 0;
}

static void pipe_split_input(rv_test_driver_t *d) {
    for (int k = -1; k <= 7; k++) {
        char v[8];
        snprintf(v, sizeof v, "V%d", k);
        pipe_is(d, "topic", k, v, 0);
    }
}

static void test_split(void **state) {
    (void)state;
    /* testKStreamSplit: each branch to its own topic, no default. */
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    rv_kstream_t *src = rv_streams_builder_stream(b, topics, 1, &c);
    rv_branched_kstream_t *bs = rv_kstream_split(src, NULL);
    rv_branched_kstream_branch(bs, is_even, NULL, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)3, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)5, NULL);
    rv_branched_kstream_no_default_branch(bs);
    /* The unnamed split is KSTREAM-BRANCH-0000000001; its branches add
     * their position. */
    assert_int_equal(
        rv_kstream_to(rv_branched_kstream_get(bs, "KSTREAM-BRANCH-00000000011"), "x2", NULL), 0);
    assert_int_equal(
        rv_kstream_to(rv_branched_kstream_get(bs, "KSTREAM-BRANCH-00000000012"), "x3", NULL), 0);
    assert_int_equal(
        rv_kstream_to(rv_branched_kstream_get(bs, "KSTREAM-BRANCH-00000000013"), "x5", NULL), 0);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    pipe_split_input(d);
    char got[256];
    read_values(d, "x2", got, sizeof got);
    assert_string_equal(got, "V0,V2,V4,V6");
    read_values(d, "x3", got, sizeof got);
    assert_string_equal(got, "V3");
    read_values(d, "x5", got, sizeof got);
    assert_string_equal(got, "V5");
    finish(d, t);

    /* testResultingMap: split(Named.as("foo-")), named and positional
     * branches, default branch "0"; each to the topic of its name. */
    b = rv_streams_builder_new();
    src = rv_streams_builder_stream(b, topics, 1, &c);
    bs = rv_kstream_split(src, "foo-");
    rv_branched_kstream_branch(bs, is_even, NULL, "bar");
    rv_branched_kstream_branch(bs, mult_of, (void *)3, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)5, NULL);
    rv_branched_kstream_branch(bs, is_negative, NULL, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)7, NULL);
    assert_ptr_equal(rv_branched_kstream_default_branch(bs, NULL), bs);
    const char *names[] = {"foo-bar", "foo-4", "foo-5", "foo-0"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(rv_kstream_to(rv_branched_kstream_get(bs, names[i]), names[i], NULL), 0);
    assert_non_null(rv_branched_kstream_get(bs, "foo-2"));
    assert_null(rv_branched_kstream_get(bs, "foo-6"));
    /* The split is over: no more branches. */
    assert_null(rv_branched_kstream_branch(bs, is_even, NULL, "late"));
    assert_int_equal(rv_streams_builder_last_error(b, NULL), RV_ERR__STATE);
    char errstr[512];
    assert_int_not_equal(rv_streams_builder_build(&t, b, errstr, sizeof errstr), 0);
    rv_streams_builder_destroy(b);

    b = rv_streams_builder_new();
    src = rv_streams_builder_stream(b, topics, 1, &c);
    bs = rv_kstream_split(src, "foo-");
    rv_branched_kstream_branch(bs, is_even, NULL, "bar");
    rv_branched_kstream_branch(bs, mult_of, (void *)3, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)5, NULL);
    rv_branched_kstream_branch(bs, is_negative, NULL, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)7, NULL);
    rv_branched_kstream_default_branch(bs, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rv_kstream_to(rv_branched_kstream_get(bs, names[i]), names[i], NULL), 0);
    t = build(b);
    d = driver(t);
    pipe_split_input(d);
    read_values(d, "foo-bar", got, sizeof got);
    assert_string_equal(got, "V0,V2,V4,V6");
    read_values(d, "foo-4", got, sizeof got);
    assert_string_equal(got, "V-1");
    read_values(d, "foo-5", got, sizeof got);
    assert_string_equal(got, "V7");
    read_values(d, "foo-0", got, sizeof got);
    assert_string_equal(got, "V1");
    finish(d, t);

    /* testBranchingWithNoTerminalOperation: two branches to one topic. */
    b = rv_streams_builder_new();
    src = rv_streams_builder_stream(b, topics, 1, &c);
    bs = rv_kstream_split(src, NULL);
    rv_branched_kstream_branch(bs, is_even, NULL, NULL);
    rv_branched_kstream_branch(bs, mult_of, (void *)5, NULL);
    assert_int_equal(
        rv_kstream_to(rv_branched_kstream_get(bs, "KSTREAM-BRANCH-00000000011"), "output", NULL),
        0);
    assert_int_equal(
        rv_kstream_to(rv_branched_kstream_get(bs, "KSTREAM-BRANCH-00000000012"), "output", NULL),
        0);
    t = build(b);
    d = driver(t);
    pipe_split_input(d);
    read_values(d, "output", got, sizeof got);
    assert_string_equal(got, "V0,V2,V4,V5,V6");
    finish(d, t);
}

/* ---- StreamsBuilderTest: merge, repartition ---- */

static void test_merge(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *t1[] = {"topic-1"}, *t2[] = {"topic-2"};
    rv_kstream_t *m = rv_kstream_merge(rv_streams_builder_stream(b, t1, 1, NULL),
                                       rv_streams_builder_stream(b, t2, 1, NULL), NULL);
    capture(m, &g_fmt_ss);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    pipe_ss(d, "topic-1", "A", "aa", 0);
    pipe_ss(d, "topic-2", "B", "bb", 0);
    pipe_ss(d, "topic-2", "C", "cc", 0);
    pipe_ss(d, "topic-1", "D", "dd", 0);
    assert_string_equal(g_seen, "A:aa@0\nB:bb@0\nC:cc@0\nD:dd@0\n");
    finish(d, t);
}

static void test_repartition_through(void **state) {
    (void)state;
    /* shouldProcessViaRepartitionTopic: the source and the stream read
     * back from the repartition topic both see the record. */
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"topic-source"};
    rv_kstream_t *src = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_kstream_t *through = rv_kstream_repartition(src, NULL);
    static fmt_t f1 = {'s', 's'}, f2 = {'s', 's'};
    capture(src, &f1);
    capture(through, &f2);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    pipe_ss(d, "topic-source", "A", "aa", 0);
    assert_string_equal(g_seen, "A:aa@0\nA:aa@0\n");
    finish(d, t);
}

static int g_partitioner_calls;

static int32_t to_one(const char *topic, const void *key, int32_t kl, const void *value, int32_t vl,
                      int32_t partition_count, void *opaque) {
    (void)topic, (void)key, (void)kl, (void)partition_count, (void)opaque;
    assert_true(vl == 2 && ((const char *)value)[0] == 'X');
    g_partitioner_calls++;
    return 0;
}

static void test_repartition_partitioner(void **state) {
    (void)state;
    /* KStreamRepartitionTest.shouldInvokePartitionerWhenSet */
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"input-topic"};
    rv_consumed_t c = consumed(rv_serde_int32(), rv_serde_string());
    rv_repartitioned_t r = RV_REPARTITIONED_INIT;
    r.name = "test";
    r.partitioner = to_one;
    assert_non_null(rv_kstream_repartition(rv_streams_builder_stream(b, topics, 1, &c), &r));
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    g_partitioner_calls = 0;
    pipe_is(d, "input-topic", 0, "X0", 10);
    pipe_is(d, "input-topic", 1, "X1", 11);
    assert_int_equal(g_partitioner_calls, 2);
    char want[2][32] = {"0:X0@10", "1:X1@11"};
    for (int i = 0; i < 2; i++) {
        rv_test_record_t *rec;
        assert_int_equal(rv_test_driver_read_output(&rec, d, "dsl-kstream-test-test-repartition"),
                         0);
        int32_t kl, vl;
        const void *k = rv_test_record_key(rec, &kl);
        const char *v = rv_test_record_value(rec, &vl);
        int32_t key = -1;
        assert_int_equal(rv_serde_int32_read(&key, k, kl), 0);
        char line[32];
        snprintf(line, sizeof line, "%d:%.*s@%lld", (int)key, (int)vl, v,
                 (long long)rv_test_record_timestamp(rec));
        assert_string_equal(line, want[i]);
        rv_test_record_destroy(rec);
    }
    assert_true(rv_test_driver_is_empty(d, "dsl-kstream-test-test-repartition"));
    finish(d, t);
}

/* ---- process with a store, same-topic sources ---- */

static rv_err_t counting_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                                 void *state) {
    (void)state;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, "counts");
    if (!s)
        return RV_ERR__STATE;
    rv_bytes_t old = {0};
    rv_err_t err = rv_kv_store_get(&old, s, r->key, (size_t)r->key_len);
    if (err && err != RV_ERR__NOENT)
        return err;
    int64_t n = 0;
    if (!err && old.data)
        rv_serde_int64_read(&n, old.data, (int32_t)old.len);
    rv_bytes_free(&old);
    uint8_t buf[8];
    rv_serde_int64_write(buf, n + 1);
    err = rv_kv_store_put(s, r->key, (size_t)r->key_len, buf, 8);
    if (err)
        return err;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)(n + 1));
    rv_processor_record_t out = *r;
    out.value = v;
    out.value_len = (int32_t)strlen(v);
    return rv_processor_context_forward(ctx, &out);
}

static rv_err_t counting_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = counting_process;
    return 0;
}

static void test_process_with_store(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_store_builder_t *sb = rv_store_builder_in_memory_kv("counts");
    rv_store_builder_with_logging_disabled(sb);
    assert_int_equal(rv_streams_builder_add_state_store(b, sb), 0);
    const char *topics[] = {"in"};
    /* Two streams of one topic read through one source, as Kafka merges
     * them. */
    rv_kstream_t *s1 = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_kstream_t *s2 = rv_streams_builder_stream(b, topics, 1, NULL);
    assert_non_null(s2);
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = counting_get;
    const char *stores[] = {"counts"};
    rv_kstream_t *counted = rv_kstream_process(s1, &sup, stores, 1, "counter");
    assert_int_equal(rv_kstream_to(counted, "out", NULL), 0);
    capture(s2, &g_fmt_ss);
    /* An unknown store is refused before the node is added. */
    const char *bad[] = {"nope"};
    assert_null(rv_kstream_process(s1, &sup, bad, 1, "other"));
    const char *msg;
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    assert_string_equal(msg, "Invalid topology: StateStore nope is not added yet.");
    char errstr[512];
    rv_topology_t *t = NULL;
    assert_int_equal(rv_streams_builder_build(&t, b, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    assert_null(t);
    assert_string_equal(errstr, "Invalid topology: StateStore nope is not added yet.");
    rv_streams_builder_destroy(b);

    b = rv_streams_builder_new();
    sb = rv_store_builder_in_memory_kv("counts");
    rv_store_builder_with_logging_disabled(sb);
    assert_int_equal(rv_streams_builder_add_state_store(b, sb), 0);
    s1 = rv_streams_builder_stream(b, topics, 1, NULL);
    s2 = rv_streams_builder_stream(b, topics, 1, NULL);
    assert_int_equal(rv_kstream_to(rv_kstream_process(s1, &sup, stores, 1, "counter"), "out", NULL),
                     0);
    capture(s2, &g_fmt_ss);
    t = build(b);
    char *desc = rv_topology_describe(t);
    assert_string_equal(desc, "Topologies:\n"
                              "   Sub-topology: 0\n"
                              "    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n"
                              "      --> counter, KSTREAM-PROCESSOR-0000000003\n"
                              "    Processor: counter (stores: [counts])\n"
                              "      --> KSTREAM-SINK-0000000002\n"
                              "      <-- KSTREAM-SOURCE-0000000000\n"
                              "    Processor: KSTREAM-PROCESSOR-0000000003 (stores: [])\n"
                              "      --> none\n"
                              "      <-- KSTREAM-SOURCE-0000000000\n"
                              "    Sink: KSTREAM-SINK-0000000002 (topic: out)\n"
                              "      <-- counter\n\n");
    free(desc);
    rv_test_driver_t *d = driver(t);
    pipe_ss(d, "in", "a", "x", 1);
    pipe_ss(d, "in", "a", "y", 2);
    pipe_ss(d, "in", "b", "z", 3);
    char got[256];
    read_values(d, "out", got, sizeof got);
    assert_string_equal(got, "1,2,1");
    assert_string_equal(g_seen, "a:x@1\na:y@2\nb:z@3\n");
    finish(d, t);
}

/* ---- describe() as Kafka Streams prints it ---- */

static int always(const void *k, int32_t kl, const void *v, int32_t vl, void *o) {
    (void)k, (void)kl, (void)v, (void)vl, (void)o;
    return 1;
}

static void assert_describe(rv_streams_builder_t *b, const char *want) {
    rv_topology_t *t = build(b);
    char *got = rv_topology_describe(t);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    rv_topology_destroy(t);
}

static const char *topic_of_key(const rv_processor_record_t *r, void *opaque) {
    (void)r, (void)opaque;
    return "x";
}

static void test_describe(void **state) {
    (void)state;
    const char *in[] = {"input-topic"};

    /* A filter chain. */
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_kstream_t *s = rv_streams_builder_stream(b, in, 1, NULL);
    rv_kstream_to(
        rv_kstream_filter_not(rv_kstream_filter(s, always, NULL, NULL), always, NULL, NULL),
        "output", NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                       "      --> KSTREAM-FILTER-0000000001\n"
                       "    Processor: KSTREAM-FILTER-0000000001 (stores: [])\n"
                       "      --> KSTREAM-FILTER-0000000002\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Processor: KSTREAM-FILTER-0000000002 (stores: [])\n"
                       "      --> KSTREAM-SINK-0000000003\n"
                       "      <-- KSTREAM-FILTER-0000000001\n"
                       "    Sink: KSTREAM-SINK-0000000003 (topic: output)\n"
                       "      <-- KSTREAM-FILTER-0000000002\n\n");

    /* TopologyTest.topologyWithDynamicRoutingShouldDescribeExtractorClass */
    b = rv_streams_builder_new();
    rv_kstream_to_extractor(rv_streams_builder_stream(b, in, 1, NULL), topic_of_key, NULL,
                            "anonymous topic name extractor. topic is "
                            "[recordContext.topic()]-[key]",
                            NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                       "      --> KSTREAM-SINK-0000000001\n"
                       "    Sink: KSTREAM-SINK-0000000001 (extractor class: anonymous topic name "
                       "extractor. topic is [recordContext.topic()]-[key])\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n\n");

    /* StreamsBuilderTest.shouldUseSpecifiedNameForMergeOperation, with a
     * sink: the named merge still burns index 2. */
    b = rv_streams_builder_new();
    const char *t1[] = {"topic-1"}, *t2[] = {"topic-2"};
    rv_kstream_t *s1 = rv_streams_builder_stream(b, t1, 1, NULL);
    rv_kstream_t *s2 = rv_streams_builder_stream(b, t2, 1, NULL);
    rv_kstream_to(rv_kstream_merge(s1, s2, "merge-processor"), "out", NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [topic-1])\n"
                       "      --> merge-processor\n"
                       "    Source: KSTREAM-SOURCE-0000000001 (topics: [topic-2])\n"
                       "      --> merge-processor\n"
                       "    Processor: merge-processor (stores: [])\n"
                       "      --> KSTREAM-SINK-0000000003\n"
                       "      <-- KSTREAM-SOURCE-0000000000, KSTREAM-SOURCE-0000000001\n"
                       "    Sink: KSTREAM-SINK-0000000003 (topic: out)\n"
                       "      <-- merge-processor\n\n");

    /* StreamsBuilderTest.shouldUseSpecifiedNameForSplitOperation, one
     * branch written out. */
    b = rv_streams_builder_new();
    rv_branched_kstream_t *bs =
        rv_kstream_split(rv_streams_builder_stream(b, in, 1, NULL), "branch-processor");
    rv_branched_kstream_branch(bs, always, NULL, "-1");
    rv_branched_kstream_branch(bs, always, NULL, "-2");
    rv_kstream_to(rv_branched_kstream_get(bs, "branch-processor-1"), "x1", NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                       "      --> branch-processor\n"
                       "    Processor: branch-processor (stores: [])\n"
                       "      --> branch-processor-1, branch-processor-2\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Processor: branch-processor-1 (stores: [])\n"
                       "      --> KSTREAM-SINK-0000000004\n"
                       "      <-- branch-processor\n"
                       "    Sink: KSTREAM-SINK-0000000004 (topic: x1)\n"
                       "      <-- branch-processor-1\n"
                       "    Processor: branch-processor-2 (stores: [])\n"
                       "      --> none\n"
                       "      <-- branch-processor\n\n");

    /* repartition(Repartitioned.as("test")): nodes named after the topic,
     * the three indexes still burned. */
    b = rv_streams_builder_new();
    rv_repartitioned_t r = RV_REPARTITIONED_INIT;
    r.name = "test";
    rv_kstream_to(rv_kstream_repartition(rv_streams_builder_stream(b, in, 1, NULL), &r), "out",
                  NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                       "      --> test-repartition-filter\n"
                       "    Processor: test-repartition-filter (stores: [])\n"
                       "      --> test-repartition-sink\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Sink: test-repartition-sink (topic: test-repartition)\n"
                       "      <-- test-repartition-filter\n"
                       "\n"
                       "  Sub-topology: 1\n"
                       "    Source: test-repartition-source (topics: [test-repartition])\n"
                       "      --> KSTREAM-SINK-0000000004\n"
                       "    Sink: KSTREAM-SINK-0000000004 (topic: out)\n"
                       "      <-- test-repartition-source\n\n");

    /* An unnamed repartition after a map: KSTREAM-REPARTITION-<n> names
     * the topic, the nodes keep generated names. */
    b = rv_streams_builder_new();
    rv_kstream_to(
        rv_kstream_repartition(
            rv_kstream_map(rv_streams_builder_stream(b, in, 1, NULL), swap, NULL, NULL), NULL),
        "out", NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n"
                       "      --> KSTREAM-MAP-0000000001\n"
                       "    Processor: KSTREAM-MAP-0000000001 (stores: [])\n"
                       "      --> KSTREAM-FILTER-0000000004\n"
                       "      <-- KSTREAM-SOURCE-0000000000\n"
                       "    Processor: KSTREAM-FILTER-0000000004 (stores: [])\n"
                       "      --> KSTREAM-SINK-0000000003\n"
                       "      <-- KSTREAM-MAP-0000000001\n"
                       "    Sink: KSTREAM-SINK-0000000003 (topic: "
                       "KSTREAM-REPARTITION-0000000002-repartition)\n"
                       "      <-- KSTREAM-FILTER-0000000004\n"
                       "\n"
                       "  Sub-topology: 1\n"
                       "    Source: KSTREAM-SOURCE-0000000005 (topics: "
                       "[KSTREAM-REPARTITION-0000000002-repartition])\n"
                       "      --> KSTREAM-SINK-0000000006\n"
                       "    Sink: KSTREAM-SINK-0000000006 (topic: out)\n"
                       "      <-- KSTREAM-SOURCE-0000000005\n\n");

    /* Named operators burn their index too (StreamsBuilderTest's
     * shouldUseSpecifiedNameFor*): source "source-node" takes 0, the
     * next generated name is 1. */
    b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.name = "source-node";
    rv_produced_t p = RV_PRODUCED_INIT;
    p.name = "sink-processor";
    s = rv_kstream_map_values(rv_streams_builder_stream(b, in, 1, &c), length_plus_key, NULL,
                              "mapper");
    rv_kstream_to(s, "a", &p);
    rv_kstream_to(s, "b", NULL);
    assert_describe(b, "Topologies:\n"
                       "   Sub-topology: 0\n"
                       "    Source: source-node (topics: [input-topic])\n"
                       "      --> mapper\n"
                       "    Processor: mapper (stores: [])\n"
                       "      --> KSTREAM-SINK-0000000003, sink-processor\n"
                       "      <-- source-node\n"
                       "    Sink: KSTREAM-SINK-0000000003 (topic: b)\n"
                       "      <-- mapper\n"
                       "    Sink: sink-processor (topic: a)\n"
                       "      <-- mapper\n\n");
}

/* ---- Sticky errors ---- */

static void test_errors(void **state) {
    (void)state;
    /* NULL handles: NULL at once, nothing recorded anywhere. */
    assert_null(rv_kstream_filter(NULL, always, NULL, NULL));
    assert_null(rv_kstream_map(NULL, swap, NULL, NULL));
    assert_null(rv_kstream_split(NULL, NULL));
    assert_null(rv_branched_kstream_branch(NULL, always, NULL, NULL));
    assert_null(rv_kstream_repartition(NULL, NULL));
    assert_int_not_equal(rv_kstream_to(NULL, "x", NULL), 0);
    assert_int_not_equal(rv_kstream_foreach(NULL, collect, NULL, NULL), 0);
    assert_null(rv_streams_builder_stream(NULL, NULL, 0, NULL));

    /* A duplicate name: the chain goes on, build() fails with Kafka's
     * message for the first error. */
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *in[] = {"input-topic"};
    rv_kstream_t *s = rv_streams_builder_stream(b, in, 1, NULL);
    rv_kstream_t *f = rv_kstream_filter(s, always, NULL, "dup");
    assert_non_null(f);
    rv_kstream_t *g = rv_kstream_filter(f, always, NULL, "dup");
    assert_null(g);
    assert_null(rv_kstream_map(g, swap, NULL, NULL)); /* NULL handle from the failure */
    assert_int_not_equal(rv_kstream_to(rv_kstream_filter(s, always, NULL, "bad name"), "x", NULL),
                         0);
    const char *msg;
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    assert_string_equal(msg, "Invalid topology: Processor dup is already added.");
    char errstr[512];
    rv_topology_t *t = (rv_topology_t *)1;
    assert_int_equal(rv_streams_builder_build(&t, b, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    assert_null(t);
    assert_string_equal(errstr, "Invalid topology: Processor dup is already added.");
    rv_streams_builder_destroy(b);

    /* Kafka's Named.validate() message. */
    b = rv_streams_builder_new();
    s = rv_streams_builder_stream(b, in, 1, NULL);
    assert_null(rv_kstream_peek(s, collect, NULL, "bad name"));
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    assert_string_equal(msg, "Invalid topology: Name \"bad name\" is illegal, it contains a "
                             "character other than ASCII alphanumerics, '.', '_' and '-'");
    rv_streams_builder_destroy(b);

    /* A topic read by two different sources. */
    b = rv_streams_builder_new();
    const char *two[] = {"input-topic", "other"};
    assert_non_null(rv_streams_builder_stream(b, in, 1, NULL));
    assert_null(rv_streams_builder_stream(b, two, 2, NULL));
    assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
    assert_string_equal(msg, "Invalid topology: Topic input-topic has already been registered by "
                             "another source.");
    rv_streams_builder_destroy(b);

    /* Build once; the handles stay usable for nothing afterwards, and
     * the topology outlives the builder. */
    b = rv_streams_builder_new();
    s = rv_streams_builder_stream(b, in, 1, NULL);
    assert_int_equal(rv_streams_builder_build(&t, b, errstr, sizeof errstr), 0);
    assert_int_equal(rv_streams_builder_last_error(b, NULL), 0);
    assert_null(rv_kstream_filter(s, always, NULL, NULL));
    assert_int_equal(rv_streams_builder_last_error(b, NULL), RV_ERR__STATE);
    rv_topology_t *t2 = NULL;
    assert_int_not_equal(rv_streams_builder_build(&t2, b, errstr, sizeof errstr), 0);
    assert_null(t2);
    rv_streams_builder_destroy(b);
    rv_topology_destroy(t);
    rv_streams_builder_destroy(NULL);
}

/* ---- rv_out_t rules ---- */

static rv_err_t misuse(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                       void *o) {
    (void)k, (void)kl, (void)o;
    /* map_values may set only a value. */
    if (rv_out_key(out, "k", -1) != RV_ERR__STATE)
        return RV_ERR__FAIL;
    if (rv_out_pair(out, "k", -1, "v", -1) != RV_ERR__STATE)
        return RV_ERR__FAIL;
    /* The last call wins; many calls move the arena. */
    for (int i = 0; i < 200; i++)
        if (rv_out_value(out, "0123456789abcdef0123456789abcdef", -1))
            return RV_ERR__FAIL;
    return rv_out_value(out, v, vl);
}

static rv_err_t fail_on_boom(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                             void *o) {
    (void)k, (void)kl, (void)o, (void)vl;
    if (!strcmp(v, "boom"))
        return RV_ERR__FAIL;
    return rv_out_value(out, NULL, -1); /* a null value */
}

static void test_out_rules(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *in[] = {"in"};
    rv_kstream_t *s = rv_streams_builder_stream(b, in, 1, NULL);
    capture(rv_kstream_map_values(s, misuse, NULL, NULL), &g_fmt_ss);
    rv_kstream_t *n = rv_kstream_map_values(s, fail_on_boom, NULL, NULL);
    static fmt_t f = {'s', 's'};
    capture(n, &f);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t);
    pipe_ss(d, "in", "k", "hello", 5);
    assert_string_equal(g_seen, "k:hello@5\nk:null@5\n");
    /* A failing user function fails the task. */
    assert_int_not_equal(rv_test_driver_pipe_input(d, "in", "k", 1, "boom", 4, 6, NULL, 0), 0);
    finish(d, t);
}

/* ---- On the embedded broker: map + repartition ---- */

static rv_err_t upper_key_from_value(rv_out_t *out, const void *k, int32_t kl, const void *v,
                                     int32_t vl, void *o) {
    (void)k, (void)kl, (void)o;
    /* key = first word of the value, value = the rest */
    const char *sp = memchr(v, ' ', (size_t)vl);
    int32_t kn = sp ? (int32_t)(sp - (const char *)v) : vl;
    rv_err_t err = rv_out_key(out, v, kn);
    return err ? err : rv_out_value(out, sp ? sp + 1 : "", -1);
}

static void test_app_map_repartition(void **state) {
    (void)state;
    char errstr[1024];
    char *dir = rvt_tmpdir();
    rv_broker_t *broker = NULL;
    assert_int_equal(rv_broker_open(&broker, dir, errstr, sizeof errstr), 0);
    char bs[4200], sd[4300];
    snprintf(bs, sizeof bs, "%s", rvt_bootstrap(dir));
    snprintf(sd, sizeof sd, "%s/state", dir);

    rv_conf_t *cc = rv_conf_new();
    assert_int_equal(rv_conf_set(cc, "bootstrap.servers", bs, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(rv_conf_dup(cc), errstr, sizeof errstr);
    assert_non_null(a);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    assert_int_equal(
        rv_admin_create_topic(a, "lines", 2, -1, names, values, 1, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_admin_create_topic(a, "by-word", 1, -1, names, values, 1, errstr, sizeof errstr), 0);
    rv_producer_t *p = rv_producer_new(rv_conf_dup(cc), errstr, sizeof errstr);
    assert_non_null(p);
    const char *lines[] = {"apple red", "pear green", "apple green"};
    for (int i = 0; i < 3; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "lines";
        r.partition = i % 2;
        r.key = "x";
        r.key_len = 1;
        r.value = lines[i];
        r.value_len = (int32_t)strlen(lines[i]);
        r.timestamp = 100 + i;
        assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    }
    rv_producer_destroy(p);

    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *in[] = {"lines"};
    rv_consumed_t c = consumed(rv_serde_string(), rv_serde_string());
    rv_repartitioned_t rp = RV_REPARTITIONED_INIT;
    rp.name = "words";
    rp.partitions = 3;
    rv_kstream_t *s = rv_kstream_repartition(
        rv_kstream_map(rv_streams_builder_stream(b, in, 1, &c), upper_key_from_value, NULL, NULL),
        &rp);
    rv_produced_t pr = RV_PRODUCED_INIT;
    pr.key_serde = rv_serde_string();
    pr.value_serde = rv_serde_string();
    assert_int_equal(rv_kstream_to(s, "by-word", &pr), 0);
    rv_topology_t *t = build(b);

    rv_conf_t *ac = rv_conf_dup(cc);
    assert_int_equal(rv_conf_set(ac, "application.id", "dsl-map-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "repartition.purge.interval.ms", "0", errstr, sizeof errstr),
                     0);
    assert_int_equal(rv_conf_set(ac, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(ac, "default.value.serde", "string", errstr, sizeof errstr), 0);
    rv_streams_t *app = rv_streams_new(t, ac, errstr, sizeof errstr);
    if (!app)
        fail_msg("rv_streams_new: %s", errstr);
    if (rv_streams_start(app, errstr, sizeof errstr))
        fail_msg("start: %s", errstr);

    rv_consumer_t *cons = rv_consumer_new(rv_conf_dup(cc), errstr, sizeof errstr);
    assert_non_null(cons);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "by-word", 0),
                                  RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(cons, l), 0);
    rv_topic_partition_list_destroy(l);
    char got[3][64];
    int n = 0;
    int64_t until = rv__mono_ms() + 20000;
    while (n < 3 && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(cons, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs) && n < 3; i++, n++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const char *v = rv_record_value(r, &vl);
            snprintf(got[n], sizeof got[n], "%.*s=%.*s@%lld", (int)kl, k, (int)vl, v,
                     (long long)rv_record_timestamp(r));
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(cons);
    assert_int_equal(n, 3);
    /* Records of one word keep their order (one repartition partition
     * each); across words the order depends on the partitions. */
    int apple_red = -1, apple_green = -1, pear = -1;
    for (int i = 0; i < 3; i++) {
        if (!strcmp(got[i], "apple=red@100"))
            apple_red = i;
        else if (!strcmp(got[i], "apple=green@102"))
            apple_green = i;
        else if (!strcmp(got[i], "pear=green@101"))
            pear = i;
        else
            fail_msg("unexpected record %s", got[i]);
    }
    assert_true(apple_red >= 0 && pear >= 0 && apple_green > apple_red);

    /* The repartition topic exists with the asked partition count and
     * held the three records; once their offsets are committed, the
     * purge (repartition.purge.interval.ms 0: after every commit) deletes
     * them. The app's input and output topics keep theirs. */
    rv_topic_description_t *td = NULL;
    int64_t purged = 0, written = 0;
    until = rv__mono_ms() + 20000;
    while (rv__mono_ms() < until) {
        assert_int_equal(
            rv_admin_describe_topic(a, "dsl-map-app-words-repartition", &td, errstr, sizeof errstr),
            0);
        assert_int_equal(rv_topic_description_partition_count(td), 3);
        purged = written = 0;
        for (int32_t i = 0; i < 3; i++) {
            purged += rv_topic_description_log_start_offset(td, i);
            written += rv_topic_description_end_offset(td, i);
        }
        rv_topic_description_destroy(td);
        if (purged == 3)
            break;
        usleep(20000);
    }
    assert_int_equal(written, 3);
    assert_int_equal(purged, 3);
    const char *kept[] = {"lines", "by-word"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(rv_admin_describe_topic(a, kept[k], &td, errstr, sizeof errstr), 0);
        for (int32_t i = 0; i < rv_topic_description_partition_count(td); i++)
            assert_int_equal(rv_topic_description_log_start_offset(td, i), 0);
        rv_topic_description_destroy(td);
    }

    assert_int_equal(rv_streams_close(app, 10000), 0);
    rv_streams_destroy(app);
    rv_topology_destroy(t);
    rv_admin_destroy(a);
    rv_conf_destroy(cc);
    rv_broker_close(broker);
    rvt_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_filter_not),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_map_values),
        cmocka_unit_test(test_flat_map),
        cmocka_unit_test(test_flat_map_values),
        cmocka_unit_test(test_select_key),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_repartition_through),
        cmocka_unit_test(test_repartition_partitioner),
        cmocka_unit_test(test_process_with_store),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_out_rules),
        cmocka_unit_test(test_app_map_repartition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
