/* tests/unit/test_dsl_stream_join.c: stream-stream joins (dsl/stream_join.c)
 * through the test driver, with the inputs and outputs of Kafka Streams'
 * KStreamKStreamJoinTest, KStreamKStreamLeftJoinTest and
 * KStreamKStreamOuterJoinTest (every case that runs records through
 * TopologyTestDriver; the deprecated JoinWindows.of() cases that turn the
 * spurious-result fix off, and the custom store supplier cases, have no
 * counterpart in rivulet's API), the describe() strings of those tests and
 * of TopologyTest, the outer store's layout, the wall-clock throttle, and
 * on the embedded broker: a left join whose buffered unmatched record
 * survives a restart (RocksDB window and outer stores restored from their
 * changelogs) and comes out once its window closed.
 *
 * The Kafka cases are written as Kafka's: keys are int32, topic1 carries
 * strings and topic2 strings or int64 (as the Kafka test has it), the
 * joiner is MockValueJoiner.TOSTRING_JOINER, and each check lists the
 * records the join forwarded since the last check as "key:value@ts". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/rivulet.h"

#define EMIT_INTERVAL "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__"

typedef enum jkind_e { J_INNER, J_LEFT, J_OUTER } jkind_t;

/* One join under test: builder, topology, driver. */
typedef struct fx_s {
    rv_streams_builder_t *b;
    rv_topology_t *topo;
    rv_test_driver_t *d;
    bool right_long; /* topic2 carries int64 values */
} fx_t;

static rv_topology_t *build(rv_streams_builder_t *b) {
    char errstr[1024];
    rv_topology_t *t = NULL;
    if (rv_streams_builder_build(&t, b, errstr, sizeof errstr))
        fail_msg("rv_streams_builder_build: %s", errstr);
    return t;
}

/* The driver's configuration; emit_interval < 0 leaves the throttle at
 * whatever the driver sets. */
static rv_test_driver_t *driver(rv_topology_t *t, int64_t emit_interval) {
    char errstr[1024];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "stream-join", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.key.serde", "int32", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "default.value.serde", "string", errstr, sizeof errstr), 0);
    if (emit_interval >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%" PRId64, emit_interval);
        assert_int_equal(rv_conf_set(c, EMIT_INTERVAL, v, errstr, sizeof errstr), 0);
    }
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, errstr, sizeof errstr);
    if (!d)
        fail_msg("rv_test_driver_new: %s", errstr);
    return d;
}

/* Kafka's MockValueJoiner.TOSTRING_JOINER: left + "+" + right, null as
 * "null"; the right value is an int64 when the fixture says so. */
static rv_err_t tostring_joiner(rv_out_t *out, const void *k, int32_t kl, const void *left,
                                int32_t ll, const void *right, int32_t rl, void *opaque) {
    (void)k, (void)kl, (void)ll, (void)rl;
    const fx_t *f = opaque;
    char r[64], buf[512];
    if (!right)
        snprintf(r, sizeof r, "null");
    else if (f && f->right_long)
        snprintf(r, sizeof r, "%" PRId64, *(const int64_t *)right);
    else
        snprintf(r, sizeof r, "%s", (const char *)right);
    snprintf(buf, sizeof buf, "%s+%s", left ? (const char *)left : "null", r);
    return rv_out_value(out, buf, -1);
}

static rv_kstream_t *do_join(jkind_t kind, rv_kstream_t *s1, rv_kstream_t *s2, void *opaque,
                             const rv_join_windows_t *w, const rv_stream_joined_t *sj) {
    switch (kind) {
    case J_LEFT:
        return rv_kstream_left_join(s1, s2, tostring_joiner, opaque, w, sj);
    case J_OUTER:
        return rv_kstream_outer_join(s1, s2, tostring_joiner, opaque, w, sj);
    default:
        return rv_kstream_join(s1, s2, tostring_joiner, opaque, w, sj);
    }
}

/* stream(topic1).<kind>Join(stream(topic2), TOSTRING_JOINER,
 * JoinWindows(before, after, grace), StreamJoined.with(Integer, String,
 * String or Long)).to("out") */
static fx_t *fx_new_interval(jkind_t kind, int64_t before, int64_t after, int64_t grace,
                             bool right_long, int64_t emit_interval) {
    fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->right_long = right_long;
    f->b = rv_streams_builder_new();
    rv_consumed_t c1 = RV_CONSUMED_INIT, c2 = RV_CONSUMED_INIT;
    c1.key_serde = c2.key_serde = rv_serde_int32();
    c1.value_serde = rv_serde_string();
    c2.value_serde = right_long ? rv_serde_int64() : rv_serde_string();
    const char *t1[] = {"topic1"}, *t2[] = {"topic2"};
    rv_kstream_t *s1 = rv_streams_builder_stream(f->b, t1, 1, &c1);
    rv_kstream_t *s2 = rv_streams_builder_stream(f->b, t2, 1, &c2);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(0, grace);
    w.before_ms = before;
    w.after_ms = after;
    rv_stream_joined_t sj = RV_STREAM_JOINED_INIT;
    sj.key_serde = rv_serde_int32();
    sj.value_serde = rv_serde_string();
    sj.other_value_serde = c2.value_serde;
    rv_kstream_t *j = do_join(kind, s1, s2, f, &w, &sj);
    rv_produced_t p = RV_PRODUCED_INIT;
    p.key_serde = rv_serde_int32();
    p.value_serde = rv_serde_string();
    assert_int_equal(rv_kstream_to(j, "out", &p), 0);
    f->topo = build(f->b);
    f->d = driver(f->topo, emit_interval);
    return f;
}

static fx_t *fx_new(jkind_t kind, int64_t before, int64_t after, int64_t grace, bool right_long) {
    return fx_new_interval(kind, before, after, grace, right_long, 0);
}

static void fx_free(fx_t *f) {
    rv_test_driver_destroy(f->d);
    rv_topology_destroy(f->topo);
    rv_streams_builder_destroy(f->b);
    free(f);
}

static void pipe_raw(fx_t *f, const char *topic, const int *key, const void *v, int32_t vl,
                     int64_t ts, const rv_header_t *h, size_t hc) {
    unsigned char kb[4];
    if (key)
        rv_serde_int32_write(kb, *key);
    if (rv_test_driver_pipe_input(f->d, topic, key ? kb : NULL, key ? 4 : -1, v, vl, ts, h, hc))
        fail_msg("pipe_input: %s", rv_test_driver_last_error(f->d));
}

static void pin_s(fx_t *f, const char *topic, int key, const char *v, int64_t ts) {
    pipe_raw(f, topic, &key, v, v ? (int32_t)strlen(v) : -1, ts, NULL, 0);
}

static void pin_l(fx_t *f, const char *topic, int key, int64_t v, int64_t ts) {
    unsigned char vb[8];
    rv_serde_int64_write(vb, v);
    pipe_raw(f, topic, &key, vb, 8, ts, NULL, 0);
}

/* pipeInput(key, value, ts): a string or an int64 value. */
#define pin(f, topic, key, v, ts) \
    _Generic((v), char * : pin_s, const char * : pin_s, default : pin_l)(f, topic, key, v, ts)

/* Java's "A" + key. */
static const char *sv(const char *prefix, int64_t k) {
    static char ring[64][64];
    static int next;
    char *s = ring[next++ % 64];
    snprintf(s, 64, "%s%" PRId64, prefix, k);
    return s;
}

/* new KeyValueTimestamp<>(k, v, ts) as "k:v@ts" (caller frees; chk()
 * does). */
#define KNULL INT32_MIN /* a null key in kvt() */

static char *kvt(int k, const char *v, int64_t ts) {
    char buf[256], kb[16] = "null";
    if (k != KNULL)
        snprintf(kb, sizeof kb, "%d", k);
    snprintf(buf, sizeof buf, "%s:%s@%" PRId64, kb, v ? v : "null", ts);
    char *s = strdup(buf);
    assert_non_null(s);
    return s;
}

/* Every record the join wrote since the last call, "k:v@ts" joined by
 * spaces (headers as "{h=N}" after the timestamp when with_headers). */
static char *outputs_h(fx_t *f, const char *topic, bool with_headers) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    rv_test_record_t *r;
    while (!rv_test_driver_read_output(&r, f->d, topic)) {
        int32_t kl, vl;
        const unsigned char *k = rv_test_record_key(r, &kl);
        const char *v = rv_test_record_value(r, &vl);
        char line[512], kbuf[32] = "null";
        if (k && kl == 4)
            snprintf(
                kbuf, sizeof kbuf, "%d",
                (int)((uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3]));
        int n = snprintf(line, sizeof line, "%s%s:%.*s@%" PRId64, len ? " " : "", kbuf,
                         v ? (int)vl : 4, v ? v : "null", rv_test_record_timestamp(r));
        for (size_t i = 0; with_headers && i < rv_test_record_header_count(r); i++) {
            const char *hk;
            const void *hv;
            int32_t hl;
            assert_int_equal(rv_test_record_header(r, i, &hk, &hv, &hl), 0);
            n += snprintf(line + n, sizeof line - (size_t)n, "{%s=%d}", hk,
                          hv && hl > 0 ? *(const unsigned char *)hv : -1);
        }
        if (len + (size_t)n + 1 > cap)
            fail_msg("too much output");
        memcpy(buf + len, line, (size_t)n + 1);
        len += (size_t)n;
        rv_test_record_destroy(r);
    }
    return buf;
}

static char *outputs(fx_t *f) {
    return outputs_h(f, "out", false);
}

/* processor.checkAndClearProcessResult(expected...): NULL-terminated. */
static void chk(fx_t *f, char **expected) {
    size_t cap = 1 << 16, len = 0;
    char *want = malloc(cap);
    assert_non_null(want);
    want[0] = '\0';
    for (size_t i = 0; expected && expected[i]; i++) {
        len += (size_t)snprintf(want + len, cap - len, "%s%s", i ? " " : "", expected[i]);
        free(expected[i]);
    }
    char *got = outputs(f);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

#define CHK(f, ...) chk(f, (char *[]){__VA_ARGS__, NULL})

/* for (final int v : arr) */
#define FOREACH(v, arr)                                                              \
    for (int v##_i = 0, v = (arr)[0]; v##_i < (int)(sizeof(arr) / sizeof((arr)[0])); \
         v##_i++, v = v##_i < (int)(sizeof(arr) / sizeof((arr)[0])) ? (arr)[v##_i] : 0)

/* ======================================================================
 * Kafka's cases
 * ====================================================================== */

/* KStreamKStreamJoinTest.testJoin */
static void test_inner_join(void **state) {
    (void)state;
    fx_t *f = fx_new(J_INNER, 100, 100, 0, false);
    int keys[] = {0, 1, 2, 3};
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), 0);
    }
    chk(f, NULL);

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], sv("a", keys[i]), 0);
    }
    CHK(f, kvt(0, "A0+a0", 0), kvt(1, "A1+a1", 0));

    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("B", key), 0);
    }
    CHK(f, kvt(0, "B0+a0", 0), kvt(1, "B1+a1", 0));

    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), 0);
    }
    CHK(f, kvt(0, "A0+b0", 0), kvt(0, "B0+b0", 0), kvt(1, "A1+b1", 0), kvt(1, "B1+b1", 0),
        kvt(2, "B2+b2", 0), kvt(3, "B3+b3", 0));

    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), 0);
    }
    CHK(f, kvt(0, "C0+a0", 0), kvt(0, "C0+b0", 0), kvt(1, "C1+a1", 0), kvt(1, "C1+b1", 0),
        kvt(2, "C2+b2", 0), kvt(3, "C3+b3", 0));

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], sv("c", keys[i]), 0);
    }
    CHK(f, kvt(0, "A0+c0", 0), kvt(0, "B0+c0", 0), kvt(0, "C0+c0", 0), kvt(1, "A1+c1", 0),
        kvt(1, "B1+c1", 0), kvt(1, "C1+c1", 0));
    fx_free(f);
}

/* KStreamKStreamJoinTest.testOuterJoin */
static void test_inner_outer_join(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 86400000, false);
    int keys[] = {0, 1, 2, 3};
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), 0);
    }
    chk(f, NULL);

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], sv("a", keys[i]), 0);
    }
    CHK(f, kvt(0, "A0+a0", 0), kvt(1, "A1+a1", 0));

    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("B", key), 0);
    }
    CHK(f, kvt(0, "B0+a0", 0), kvt(1, "B1+a1", 0));

    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), 0);
    }
    CHK(f, kvt(0, "A0+b0", 0), kvt(0, "B0+b0", 0), kvt(1, "A1+b1", 0), kvt(1, "B1+b1", 0),
        kvt(2, "B2+b2", 0), kvt(3, "B3+b3", 0));

    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), 0);
    }
    CHK(f, kvt(0, "C0+a0", 0), kvt(0, "C0+b0", 0), kvt(1, "C1+a1", 0), kvt(1, "C1+b1", 0),
        kvt(2, "C2+b2", 0), kvt(3, "C3+b3", 0));

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], sv("c", keys[i]), 0);
    }
    CHK(f, kvt(0, "A0+c0", 0), kvt(0, "B0+c0", 0), kvt(0, "C0+c0", 0), kvt(1, "A1+c1", 0),
        kvt(1, "B1+c1", 0), kvt(1, "C1+c1", 0));
    fx_free(f);
}

/* KStreamKStreamJoinTest.testWindowing */
static void test_inner_windowing(void **state) {
    (void)state;
    fx_t *f = fx_new(J_INNER, 100, 100, 0, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time);
    }
    chk(f, NULL);

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], sv("a", keys[i]), time);
    }
    CHK(f, kvt(0, "A0+a0", 0), kvt(1, "A1+a1", 0));

    time = 1000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic1", keys[i], sv("B", keys[i]), time + i);
    }
    chk(f, NULL);

    time += 100;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), time);
    }
    CHK(f, kvt(0, "B0+b0", 1100), kvt(1, "B1+b1", 1100), kvt(2, "B2+b2", 1100),
        kvt(3, "B3+b3", 1100));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("c", key), time);
    }
    CHK(f, kvt(1, "B1+c1", 1101), kvt(2, "B2+c2", 1101), kvt(3, "B3+c3", 1101));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("d", key), time);
    }
    CHK(f, kvt(2, "B2+d2", 1102), kvt(3, "B3+d3", 1102));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("e", key), time);
    }
    CHK(f, kvt(3, "B3+e3", 1103));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("f", key), time);
    }
    chk(f, NULL);

    time = 1000 - 100 - 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("g", key), time);
    }
    chk(f, NULL);

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("h", key), time);
    }
    CHK(f, kvt(0, "B0+h0", 1000));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("i", key), time);
    }
    CHK(f, kvt(0, "B0+i0", 1000), kvt(1, "B1+i1", 1001));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("j", key), time);
    }
    CHK(f, kvt(0, "B0+j0", 1000), kvt(1, "B1+j1", 1001), kvt(2, "B2+j2", 1002));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("k", key), time);
    }
    CHK(f, kvt(0, "B0+k0", 1000), kvt(1, "B1+k1", 1001), kvt(2, "B2+k2", 1002),
        kvt(3, "B3+k3", 1003));

    time = 2000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic2", keys[i], sv("l", keys[i]), time + i);
    }
    chk(f, NULL);

    time = 2000 + 100;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), time);
    }
    CHK(f, kvt(0, "C0+l0", 2100), kvt(1, "C1+l1", 2100), kvt(2, "C2+l2", 2100),
        kvt(3, "C3+l3", 2100));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("D", key), time);
    }
    CHK(f, kvt(1, "D1+l1", 2101), kvt(2, "D2+l2", 2101), kvt(3, "D3+l3", 2101));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("E", key), time);
    }
    CHK(f, kvt(2, "E2+l2", 2102), kvt(3, "E3+l3", 2102));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("F", key), time);
    }
    CHK(f, kvt(3, "F3+l3", 2103));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("G", key), time);
    }
    chk(f, NULL);

    time = 2000 - 100 - 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("H", key), time);
    }
    chk(f, NULL);

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("I", key), time);
    }
    CHK(f, kvt(0, "I0+l0", 2000));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("J", key), time);
    }
    CHK(f, kvt(0, "J0+l0", 2000), kvt(1, "J1+l1", 2001));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("K", key), time);
    }
    CHK(f, kvt(0, "K0+l0", 2000), kvt(1, "K1+l1", 2001), kvt(2, "K2+l2", 2002));
    fx_free(f);
}

/* KStreamKStreamJoinTest.testAsymmetricWindowingAfter */
static void test_inner_asymmetric_windowing_after(void **state) {
    (void)state;
    fx_t *f = fx_new(J_INNER, 0, 100, 0, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 1000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time + i);
    }
    chk(f, NULL);

    time = 1000 - 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("a", key), time);
    }
    chk(f, NULL);

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), time);
    }
    CHK(f, kvt(0, "A0+b0", 1000));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("c", key), time);
    }
    CHK(f, kvt(0, "A0+c0", 1001), kvt(1, "A1+c1", 1001));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("d", key), time);
    }
    CHK(f, kvt(0, "A0+d0", 1002), kvt(1, "A1+d1", 1002), kvt(2, "A2+d2", 1002));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("e", key), time);
    }
    CHK(f, kvt(0, "A0+e0", 1003), kvt(1, "A1+e1", 1003), kvt(2, "A2+e2", 1003),
        kvt(3, "A3+e3", 1003));

    time = 1000 + 100;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("f", key), time);
    }
    CHK(f, kvt(0, "A0+f0", 1100), kvt(1, "A1+f1", 1100), kvt(2, "A2+f2", 1100),
        kvt(3, "A3+f3", 1100));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("g", key), time);
    }
    CHK(f, kvt(1, "A1+g1", 1101), kvt(2, "A2+g2", 1101), kvt(3, "A3+g3", 1101));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("h", key), time);
    }
    CHK(f, kvt(2, "A2+h2", 1102), kvt(3, "A3+h3", 1102));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("i", key), time);
    }
    CHK(f, kvt(3, "A3+i3", 1103));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("j", key), time);
    }
    chk(f, NULL);
    fx_free(f);
}

/* KStreamKStreamJoinTest.testAsymmetricWindowingBefore */
static void test_inner_asymmetric_windowing_before(void **state) {
    (void)state;
    fx_t *f = fx_new(J_INNER, 100, 0, 0, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 1000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time + i);
    }
    chk(f, NULL);

    time = 1000 - 100 - 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("a", key), time);
    }
    chk(f, NULL);

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), time);
    }
    CHK(f, kvt(0, "A0+b0", 1000));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("c", key), time);
    }
    CHK(f, kvt(0, "A0+c0", 1000), kvt(1, "A1+c1", 1001));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("d", key), time);
    }
    CHK(f, kvt(0, "A0+d0", 1000), kvt(1, "A1+d1", 1001), kvt(2, "A2+d2", 1002));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("e", key), time);
    }
    CHK(f, kvt(0, "A0+e0", 1000), kvt(1, "A1+e1", 1001), kvt(2, "A2+e2", 1002),
        kvt(3, "A3+e3", 1003));

    time = 1000;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("f", key), time);
    }
    CHK(f, kvt(0, "A0+f0", 1000), kvt(1, "A1+f1", 1001), kvt(2, "A2+f2", 1002),
        kvt(3, "A3+f3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("g", key), time);
    }
    CHK(f, kvt(1, "A1+g1", 1001), kvt(2, "A2+g2", 1002), kvt(3, "A3+g3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("h", key), time);
    }
    CHK(f, kvt(2, "A2+h2", 1002), kvt(3, "A3+h3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("i", key), time);
    }
    CHK(f, kvt(3, "A3+i3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("j", key), time);
    }
    chk(f, NULL);
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testUpperWindowBound */
static void left_upper_window_bound(fx_t *f) {
    int keys[] = {0, 1, 2, 3};
    int64_t time;
    time = 1000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic2", keys[i], sv("b", keys[i]), time + i);
    }
    chk(f, NULL);

    time = 1000 + 100;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("B", key), time);
    }
    CHK(f, kvt(0, "B0+b0", 1100), kvt(1, "B1+b1", 1100), kvt(2, "B2+b2", 1100),
        kvt(3, "B3+b3", 1100));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), time);
    }
    CHK(f, kvt(1, "C1+b1", 1101), kvt(2, "C2+b2", 1101), kvt(3, "C3+b3", 1101));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("D", key), time);
    }
    CHK(f, kvt(2, "D2+b2", 1102), kvt(3, "D3+b3", 1102));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("E", key), time);
    }
    CHK(f, kvt(3, "E3+b3", 1103));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("F", key), time);
    }
    chk(f, NULL);

    time += 301;
    pin(f, "topic1", 0, "dummy", time);
    CHK(f, kvt(0, "C0+null", 1101), kvt(0, "D0+null", 1102), kvt(1, "D1+null", 1102),
        kvt(0, "E0+null", 1103), kvt(1, "E1+null", 1103), kvt(2, "E2+null", 1103),
        kvt(0, "F0+null", 1104), kvt(1, "F1+null", 1104), kvt(2, "F2+null", 1104),
        kvt(3, "F3+null", 1104));
}

/* KStreamKStreamLeftJoinTest.testLowerWindowBound */
static void left_lower_window_bound(fx_t *f) {
    int keys[] = {0, 1, 2, 3};
    int64_t time;
    time = 1000 - 100 - 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("G", key), time);
    }
    CHK(f, kvt(0, "G0+null", 899), kvt(1, "G1+null", 899), kvt(2, "G2+null", 899),
        kvt(3, "G3+null", 899));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("H", key), time);
    }
    CHK(f, kvt(0, "H0+b0", 1000), kvt(1, "H1+null", 900), kvt(2, "H2+null", 900),
        kvt(3, "H3+null", 900));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("I", key), time);
    }
    CHK(f, kvt(0, "I0+b0", 1000), kvt(1, "I1+b1", 1001), kvt(2, "I2+null", 901),
        kvt(3, "I3+null", 901));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("J", key), time);
    }
    CHK(f, kvt(0, "J0+b0", 1000), kvt(1, "J1+b1", 1001), kvt(2, "J2+b2", 1002),
        kvt(3, "J3+null", 902));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("K", key), time);
    }
    CHK(f, kvt(0, "K0+b0", 1000), kvt(1, "K1+b1", 1001), kvt(2, "K2+b2", 1002),
        kvt(3, "K3+b3", 1003));

    pin(f, "topic1", 0, "dummy", time + 300);
    CHK(f, kvt(0, "dummy+null", 1203));
}

/* KStreamKStreamLeftJoinTest.testLeftJoinDuplicates */
static void test_left_left_join_duplicates(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 10, false);
    pin(f, "topic1", 0, "A0", 0);
    pin(f, "topic1", 0, "A0-0", 0);
    pin(f, "topic2", 1, "a0", 111);
    pin(f, "topic2", 2, "dummy", 500);
    CHK(f, kvt(0, "A0+null", 0), kvt(0, "A0-0+null", 0));

    pin(f, "topic1", 2, "A2", 1000);
    pin(f, "topic1", 2, "A2-0", 1000);
    pin(f, "topic2", 2, "a2", 1001);
    CHK(f, kvt(2, "A2+a2", 1001), kvt(2, "A2-0+a2", 1001));

    pin(f, "topic2", 3, "a3", 315);
    chk(f, NULL);
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testLeftExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor */
static void
test_left_left_expired_non_joined_records_are_emitted_by_the_left_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    int64_t window_start = 0;
    pin(f, "topic1", 0, "A0", window_start + 1);
    pin(f, "topic1", 1, "A1", window_start + 2);
    pin(f, "topic1", 0, "A0-0", window_start + 3);
    chk(f, NULL);

    pin(f, "topic2", 1, "a1", window_start + 3);
    CHK(f, kvt(1, "A1+a1", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 401);
    CHK(f, kvt(0, "A0+null", window_start + 1), kvt(0, "A0-0+null", window_start + 3));

    pin(f, "topic2", 2, "dummy", window_start + 401);
    CHK(f, kvt(2, "dummy+dummy", window_start + 401));
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testLeftExpiredNonJoinedRecordsAreEmittedByTheRightProcessor */
static void
test_left_left_expired_non_joined_records_are_emitted_by_the_right_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    int64_t window_start = 0;
    pin(f, "topic1", 0, "A0", window_start + 1);
    pin(f, "topic1", 1, "A1", window_start + 2);
    pin(f, "topic1", 0, "A0-0", window_start + 3);
    chk(f, NULL);

    pin(f, "topic2", 1, "a1", window_start + 3);
    CHK(f, kvt(1, "A1+a1", window_start + 3));

    pin(f, "topic2", 2, "dummy", window_start + 401);
    CHK(f, kvt(0, "A0+null", window_start + 1), kvt(0, "A0-0+null", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 402);
    CHK(f, kvt(2, "dummy+dummy", window_start + 402));
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testRightNonJoinedRecordsAreNeverEmittedByTheLeftProcessor */
static void
test_left_right_non_joined_records_are_never_emitted_by_the_left_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    int64_t window_start = 0;
    pin(f, "topic2", 0, "A0", window_start + 1);
    pin(f, "topic2", 1, "A1", window_start + 2);
    pin(f, "topic2", 0, "A0-0", window_start + 3);
    chk(f, NULL);

    pin(f, "topic1", 1, "a1", window_start + 3);
    CHK(f, kvt(1, "a1+A1", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 401);
    chk(f, NULL);

    pin(f, "topic2", 2, "dummy", window_start + 402);
    CHK(f, kvt(2, "dummy+dummy", window_start + 402));
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testRightNonJoinedRecordsAreNeverEmittedByTheRightProcessor */
static void
test_left_right_non_joined_records_are_never_emitted_by_the_right_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    int64_t window_start = 0;
    pin(f, "topic2", 0, "A0", window_start + 1);
    pin(f, "topic2", 1, "A1", window_start + 2);
    pin(f, "topic2", 0, "A0-0", window_start + 3);
    chk(f, NULL);

    pin(f, "topic1", 1, "a1", window_start + 3);
    CHK(f, kvt(1, "a1+A1", window_start + 3));

    pin(f, "topic2", 2, "dummy", window_start + 401);
    chk(f, NULL);

    pin(f, "topic1", 2, "dummy", window_start + 402);
    CHK(f, kvt(2, "dummy+dummy", window_start + 402));
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testLeftJoinedRecordsWithZeroAfterAreEmitted */
static void test_left_left_joined_records_with_zero_after_are_emitted(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 0, 0, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 1000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time + i);
    }
    CHK(f, kvt(0, "A0+null", 1000), kvt(1, "A1+null", 1001), kvt(2, "A2+null", 1002));

    time = 1000 - 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("a", key), time);
    }
    CHK(f, kvt(0, "A0+a0", 1000), kvt(1, "A1+a1", 1001), kvt(2, "A2+a2", 1002),
        kvt(3, "A3+a3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), time);
    }
    CHK(f, kvt(0, "A0+b0", 1000), kvt(1, "A1+b1", 1001), kvt(2, "A2+b2", 1002),
        kvt(3, "A3+b3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("c", key), time);
    }
    CHK(f, kvt(1, "A1+c1", 1001), kvt(2, "A2+c2", 1002), kvt(3, "A3+c3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("d", key), time);
    }
    CHK(f, kvt(2, "A2+d2", 1002), kvt(3, "A3+d3", 1003));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("e", key), time);
    }
    CHK(f, kvt(3, "A3+e3", 1003));

    time = 1000 + 100;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("f", key), time);
    }
    chk(f, NULL);
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.runLeftJoin */
static void test_left_run_left_join(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    int keys[] = {0, 1, 2, 3};
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), 0);
    }
    chk(f, NULL);

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], sv("a", keys[i]), 0);
    }
    CHK(f, kvt(0, "A0+a0", 0), kvt(1, "A1+a1", 0));

    for (int i = 0; i < 3; i++) {
        pin(f, "topic1", keys[i], sv("B", keys[i]), 0);
    }
    CHK(f, kvt(0, "B0+a0", 0), kvt(1, "B1+a1", 0));

    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("b", key), 0);
    }
    CHK(f, kvt(0, "A0+b0", 0), kvt(0, "B0+b0", 0), kvt(1, "A1+b1", 0), kvt(1, "B1+b1", 0),
        kvt(2, "B2+b2", 0));

    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), 0);
    }
    CHK(f, kvt(0, "C0+a0", 0), kvt(0, "C0+b0", 0), kvt(1, "C1+a1", 0), kvt(1, "C1+b1", 0),
        kvt(2, "C2+b2", 0), kvt(3, "C3+b3", 0));

    pin(f, "topic1", 0, "dummy", 1000);
    chk(f, NULL);
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testOrdering */
static void test_left_ordering(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    pin(f, "topic1", 0, "A0", 0);
    pin(f, "topic1", 1, "A1", 100);
    chk(f, NULL);

    pin(f, "topic2", 1, "a1", 110);
    CHK(f, kvt(0, "A0+null", 0), kvt(1, "A1+a1", 110));
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testGracePeriod */
static void test_left_grace_period(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 10, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time);
    }
    chk(f, NULL);

    time += 101;
    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("a", key), time);
    }
    chk(f, NULL);

    time += 1100;
    pin(f, "topic2", 0, "dummy", time);
    CHK(f, kvt(0, "A0+null", 0), kvt(1, "A1+null", 0));
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.testWindowing */
static void test_left_windowing(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time);
    }
    chk(f, NULL);

    FOREACH(key, keys) {
        pin(f, "topic2", key, sv("a", key), time);
    }
    CHK(f, kvt(0, "A0+a0", 0), kvt(1, "A1+a1", 0));

    left_upper_window_bound(f);
    left_lower_window_bound(f);
    fx_free(f);
}

/* KStreamKStreamLeftJoinTest.shouldNotEmitLeftJoinResultForAsymmetricWindow */
static void test_left_should_not_emit_left_join_result_for_asymmetric_window(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 0, 100, 0, false);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time + i);
    }
    chk(f, NULL);

    time += 100;
    pin(f, "topic2", keys[0], sv("a", keys[0]), time);
    CHK(f, kvt(0, "A0+a0", 100));

    time += 2;
    pin(f, "topic2", keys[1], sv("a", keys[1]), time);
    CHK(f, kvt(1, "A1+null", 1));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testUpperWindowBound */
static void outer_upper_window_bound(fx_t *f) {
    int keys[] = {0, 1, 2, 3};
    int64_t time;
    time = 1000;
    for (int i = 0; i < 4; i++) {
        pin(f, "topic2", keys[i], (int64_t)keys[i] + 20, time + i);
    }
    CHK(f, kvt(2, "null+12", 0), kvt(3, "null+13", 0));

    time = 1000 + 100;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("B", key), time);
    }
    CHK(f, kvt(0, "B0+20", 1100), kvt(1, "B1+21", 1100), kvt(2, "B2+22", 1100),
        kvt(3, "B3+23", 1100));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), time);
    }
    CHK(f, kvt(1, "C1+21", 1101), kvt(2, "C2+22", 1101), kvt(3, "C3+23", 1101));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("D", key), time);
    }
    CHK(f, kvt(2, "D2+22", 1102), kvt(3, "D3+23", 1102));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("E", key), time);
    }
    CHK(f, kvt(3, "E3+23", 1103));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("F", key), time);
    }
    chk(f, NULL);

    time += 301;
    pin(f, "topic1", 0, "dummy", time);
    CHK(f, kvt(0, "C0+null", 1101), kvt(0, "D0+null", 1102), kvt(1, "D1+null", 1102),
        kvt(0, "E0+null", 1103), kvt(1, "E1+null", 1103), kvt(2, "E2+null", 1103),
        kvt(0, "F0+null", 1104), kvt(1, "F1+null", 1104), kvt(2, "F2+null", 1104),
        kvt(3, "F3+null", 1104));
}

/* KStreamKStreamOuterJoinTest.testLowerWindowBound */
static void outer_lower_window_bound(fx_t *f) {
    int keys[] = {0, 1, 2, 3};
    int64_t time;
    time = 1000 - 100 - 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("G", key), time);
    }
    CHK(f, kvt(0, "G0+null", 899), kvt(1, "G1+null", 899), kvt(2, "G2+null", 899),
        kvt(3, "G3+null", 899));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("H", key), time);
    }
    CHK(f, kvt(0, "H0+20", 1000), kvt(1, "H1+null", 900), kvt(2, "H2+null", 900),
        kvt(3, "H3+null", 900));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("I", key), time);
    }
    CHK(f, kvt(0, "I0+20", 1000), kvt(1, "I1+21", 1001), kvt(2, "I2+null", 901),
        kvt(3, "I3+null", 901));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("J", key), time);
    }
    CHK(f, kvt(0, "J0+20", 1000), kvt(1, "J1+21", 1001), kvt(2, "J2+22", 1002),
        kvt(3, "J3+null", 902));

    time += 1;
    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("K", key), time);
    }
    CHK(f, kvt(0, "K0+20", 1000), kvt(1, "K1+21", 1001), kvt(2, "K2+22", 1002),
        kvt(3, "K3+23", 1003));

    pin(f, "topic1", 0, "dummy", time + 200);
    CHK(f, kvt(0, "dummy+null", 1103));
}

/* KStreamKStreamOuterJoinTest.testOuterJoinDuplicates */
static void test_outer_outer_join_duplicates(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 10, true);
    pin(f, "topic1", 0, "A0", 0);
    pin(f, "topic1", 0, "A0-0", 0);
    pin(f, "topic2", 1, (int64_t)(11), 0);
    pin(f, "topic2", 1, (int64_t)(12), 0);
    pin(f, "topic2", 1, (int64_t)(10), 111);
    pin(f, "topic2", 3, (int64_t)(100), 211);
    CHK(f, kvt(1, "null+11", 0), kvt(1, "null+12", 0), kvt(0, "A0+null", 0),
        kvt(0, "A0-0+null", 0));

    pin(f, "topic1", 2, "A2", 200);
    pin(f, "topic1", 2, "A2-0", 200);
    pin(f, "topic2", 2, (int64_t)(13), 201);
    pin(f, "topic2", 2, (int64_t)(14), 201);
    CHK(f, kvt(2, "A2+13", 201), kvt(2, "A2-0+13", 201), kvt(2, "A2+14", 201),
        kvt(2, "A2-0+14", 201));

    pin(f, "topic2", 3, (int64_t)(100), 1500);
    CHK(f, kvt(1, "null+10", 111), kvt(3, "null+100", 211));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testLeftExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor */
static void
test_outer_left_expired_non_joined_records_are_emitted_by_the_left_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    int64_t window_start = 0;
    pin(f, "topic1", 0, "A0", window_start + 1);
    pin(f, "topic1", 1, "A1", window_start + 2);
    pin(f, "topic1", 0, "A0-0", window_start + 3);
    chk(f, NULL);

    pin(f, "topic2", 1, (int64_t)(11), window_start + 3);
    CHK(f, kvt(1, "A1+11", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 401);
    CHK(f, kvt(0, "A0+null", window_start + 1), kvt(0, "A0-0+null", window_start + 3));

    pin(f, "topic2", 2, (int64_t)(100), window_start + 401);
    CHK(f, kvt(2, "dummy+100", window_start + 401));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testLeftExpiredNonJoinedRecordsAreEmittedByTheRightProcessor */
static void
test_outer_left_expired_non_joined_records_are_emitted_by_the_right_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    int64_t window_start = 0;
    pin(f, "topic1", 0, "A0", window_start + 1);
    pin(f, "topic1", 1, "A1", window_start + 2);
    pin(f, "topic1", 0, "A0-0", window_start + 3);
    chk(f, NULL);

    pin(f, "topic2", 1, (int64_t)(11), window_start + 3);
    CHK(f, kvt(1, "A1+11", window_start + 3));

    pin(f, "topic2", 2, (int64_t)(100), window_start + 401);
    CHK(f, kvt(0, "A0+null", window_start + 1), kvt(0, "A0-0+null", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 402);
    CHK(f, kvt(2, "dummy+100", window_start + 402));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testRightExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor */
static void
test_outer_right_expired_non_joined_records_are_emitted_by_the_left_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    int64_t window_start = 0;
    pin(f, "topic2", 0, (int64_t)(10), window_start + 1);
    pin(f, "topic2", 1, (int64_t)(11), window_start + 2);
    pin(f, "topic2", 0, (int64_t)(12), window_start + 3);
    chk(f, NULL);

    pin(f, "topic1", 1, "A1", window_start + 3);
    CHK(f, kvt(1, "A1+11", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 401);
    CHK(f, kvt(0, "null+10", window_start + 1), kvt(0, "null+12", window_start + 3));

    pin(f, "topic2", 2, (int64_t)(100), window_start + 402);
    CHK(f, kvt(2, "dummy+100", window_start + 402));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testRightExpiredNonJoinedRecordsAreEmittedByTheRightProcessor */
static void
test_outer_right_expired_non_joined_records_are_emitted_by_the_right_processor(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    int64_t window_start = 0;
    pin(f, "topic2", 0, (int64_t)(10), window_start + 1);
    pin(f, "topic2", 1, (int64_t)(11), window_start + 2);
    pin(f, "topic2", 0, (int64_t)(12), window_start + 3);
    chk(f, NULL);

    pin(f, "topic1", 1, "A1", window_start + 3);
    CHK(f, kvt(1, "A1+11", window_start + 3));

    pin(f, "topic2", 2, (int64_t)(100), window_start + 401);
    CHK(f, kvt(0, "null+10", window_start + 1), kvt(0, "null+12", window_start + 3));

    pin(f, "topic1", 2, "dummy", window_start + 402);
    CHK(f, kvt(2, "dummy+100", window_start + 402));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testOrdering */
static void test_outer_ordering(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    pin(f, "topic1", 0, "A0", 0);
    pin(f, "topic1", 1, "A1", 100);
    chk(f, NULL);

    pin(f, "topic2", 1, (int64_t)(11), 110);
    CHK(f, kvt(0, "A0+null", 0), kvt(1, "A1+11", 110));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testGracePeriod */
static void test_outer_grace_period(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 10, true);
    pin(f, "topic1", 0, "A0", 0);
    pin(f, "topic2", 1, (int64_t)(11), 0);
    chk(f, NULL);

    pin(f, "topic1", 1, "A1", 101);
    pin(f, "topic2", 0, (int64_t)(10), 101);
    chk(f, NULL);

    pin(f, "topic2", 0, (int64_t)(100), 112);
    CHK(f, kvt(1, "null+11", 0), kvt(0, "A0+null", 0));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testEmitAllNonJoinedResultsForAsymmetricWindow */
static void test_outer_emit_all_non_joined_results_for_asymmetric_window(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 5, 20, 0, true);
    pin(f, "topic1", 0, "A0", 29);
    chk(f, NULL);

    pin(f, "topic1", 1, "A1", 30);
    chk(f, NULL);

    pin(f, "topic2", 2, (int64_t)(12), 31);
    chk(f, NULL);

    pin(f, "topic2", 3, (int64_t)(13), 36);
    chk(f, NULL);

    pin(f, "topic2", 4, (int64_t)(14), 37);
    CHK(f, kvt(2, "null+12", 31));

    pin(f, "topic2", 5, (int64_t)(15), 50);
    CHK(f, kvt(0, "A0+null", 29), kvt(3, "null+13", 36), kvt(4, "null+14", 37));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.runOuterJoin */
static void test_outer_run_outer_join(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    int keys[] = {0, 1, 2, 3};
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), 0);
    }
    chk(f, NULL);

    for (int i = 0; i < 2; i++) {
        pin(f, "topic2", keys[i], (int64_t)((int64_t)keys[i] + 10), 0);
    }
    CHK(f, kvt(0, "A0+10", 0), kvt(1, "A1+11", 0));

    for (int i = 0; i < 3; i++) {
        pin(f, "topic1", keys[i], sv("B", keys[i]), 0);
    }
    CHK(f, kvt(0, "B0+10", 0), kvt(1, "B1+11", 0));

    FOREACH(key, keys) {
        pin(f, "topic2", key, (int64_t)((int64_t)key + 20), 0);
    }
    CHK(f, kvt(0, "A0+20", 0), kvt(0, "B0+20", 0), kvt(1, "A1+21", 0), kvt(1, "B1+21", 0),
        kvt(2, "B2+22", 0));

    FOREACH(key, keys) {
        pin(f, "topic1", key, sv("C", key), 0);
    }
    CHK(f, kvt(0, "C0+10", 0), kvt(0, "C0+20", 0), kvt(1, "C1+11", 0), kvt(1, "C1+21", 0),
        kvt(2, "C2+22", 0), kvt(3, "C3+23", 0));

    pin(f, "topic1", 0, "dummy", 400);
    chk(f, NULL);
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testWindowing */
static void test_outer_windowing(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 0, true);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time);
    }
    chk(f, NULL);

    FOREACH(key, keys) {
        pin(f, "topic2", key, (int64_t)((int64_t)key + 10), time);
    }
    CHK(f, kvt(0, "A0+10", 0), kvt(1, "A1+11", 0));

    outer_upper_window_bound(f);
    outer_lower_window_bound(f);
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testShouldNotEmitLeftJoinResultForAsymmetricBeforeWindow */
static void test_outer_should_not_emit_left_join_result_for_asymmetric_before_window(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 0, 100, 0, true);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time + i);
    }
    chk(f, NULL);

    time += 100;
    pin(f, "topic2", keys[0], (int64_t)((int64_t)keys[0] + 10), time);
    CHK(f, kvt(0, "A0+10", 100));

    time += 2;
    pin(f, "topic2", keys[1], (int64_t)((int64_t)keys[1] + 10), time);
    CHK(f, kvt(1, "A1+null", 1));

    time += 1;
    pin(f, "topic2", keys[2], (int64_t)((int64_t)keys[2] + 10), time);
    CHK(f, kvt(1, "null+11", 102));

    pin(f, "topic1", keys[2], sv("A", keys[2]), time);
    CHK(f, kvt(2, "A2+12", 103));
    fx_free(f);
}

/* KStreamKStreamOuterJoinTest.testShouldNotEmitLeftJoinResultForAsymmetricAfterWindow */
static void test_outer_should_not_emit_left_join_result_for_asymmetric_after_window(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 0, 0, true);
    int keys[] = {0, 1, 2, 3};
    int64_t time = 0;
    for (int i = 0; i < 2; i++) {
        pin(f, "topic1", keys[i], sv("A", keys[i]), time + i);
    }
    CHK(f, kvt(0, "A0+null", 0));

    time += 1;
    pin(f, "topic2", keys[1], (int64_t)((int64_t)keys[1] + 10), time);
    CHK(f, kvt(1, "A1+11", 1));

    time += 100;
    pin(f, "topic2", keys[2], (int64_t)((int64_t)keys[2] + 10), time);
    chk(f, NULL);

    pin(f, "topic2", keys[3], (int64_t)((int64_t)keys[3] + 10), time);
    chk(f, NULL);

    time += 100;
    pin(f, "topic1", keys[2], sv("A", keys[2]), time);
    CHK(f, kvt(2, "A2+12", 201));
    fx_free(f);
}

/* TopologyTest.streamStreamJoinTopologyWithDefaultStoresNames */
static const char *DESC_JOIN_TOPOLOGY_WITH_DEFAULT_STORES_NAMES =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
    "      --> KSTREAM-WINDOWED-0000000002\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])\n"
    "      --> KSTREAM-JOINTHIS-0000000004\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-JOINOTHER-0000000005-store])\n"
    "      --> KSTREAM-JOINOTHER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-JOINOTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-JOINOTHER-0000000005-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000002\n"
    "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
    "      --> none\n"
    "      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-JOINOTHER-0000000005\n"
    "\n";

/* TopologyTest.streamStreamJoinTopologyWithCustomStoresNames */
static const char *DESC_JOIN_TOPOLOGY_WITH_CUSTOM_STORES_NAMES =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
    "      --> KSTREAM-WINDOWED-0000000002\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [custom-name-this-join-store])\n"
    "      --> KSTREAM-JOINTHIS-0000000004\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [custom-name-other-join-store])\n"
    "      --> KSTREAM-JOINOTHER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-JOINOTHER-0000000005 (stores: [custom-name-this-join-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [custom-name-other-join-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000002\n"
    "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
    "      --> none\n"
    "      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-JOINOTHER-0000000005\n"
    "\n";

/* TopologyTest.streamStreamLeftJoinTopologyWithDefaultStoresNames */
static const char *DESC_LEFT_JOIN_TOPOLOGY_WITH_DEFAULT_STORES_NAMES =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
    "      --> KSTREAM-WINDOWED-0000000002\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])\n"
    "      --> KSTREAM-JOINTHIS-0000000004\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-OUTEROTHER-0000000005-store])\n"
    "      --> KSTREAM-OUTEROTHER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, "
    "KSTREAM-OUTERSHARED-0000000004-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000002\n"
    "    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store, "
    "KSTREAM-OUTERSHARED-0000000004-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
    "      --> none\n"
    "      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005\n"
    "\n";

/* TopologyTest.streamStreamLeftJoinTopologyWithCustomStoresNames */
static const char *DESC_LEFT_JOIN_TOPOLOGY_WITH_CUSTOM_STORES_NAMES =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
    "      --> KSTREAM-WINDOWED-0000000002\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [custom-name-this-join-store])\n"
    "      --> KSTREAM-JOINTHIS-0000000004\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [custom-name-outer-other-join-store])\n"
    "      --> KSTREAM-OUTEROTHER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [custom-name-outer-other-join-store, "
    "custom-name-left-shared-join-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000002\n"
    "    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [custom-name-this-join-store, "
    "custom-name-left-shared-join-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
    "      --> none\n"
    "      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005\n"
    "\n";

/* TopologyTest.streamStreamOuterJoinTopologyWithDefaultStoresNames */
static const char *DESC_OUTER_JOIN_TOPOLOGY_WITH_DEFAULT_STORES_NAMES =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
    "      --> KSTREAM-WINDOWED-0000000002\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-OUTERTHIS-0000000004-store])\n"
    "      --> KSTREAM-OUTERTHIS-0000000004\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-OUTEROTHER-0000000005-store])\n"
    "      --> KSTREAM-OUTEROTHER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-OUTERTHIS-0000000004-store, "
    "KSTREAM-OUTERSHARED-0000000004-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-OUTERTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, "
    "KSTREAM-OUTERSHARED-0000000004-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000002\n"
    "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
    "      --> none\n"
    "      <-- KSTREAM-OUTERTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005\n"
    "\n";

/* TopologyTest.streamStreamOuterJoinTopologyWithCustomStoresNames */
static const char *DESC_OUTER_JOIN_TOPOLOGY_WITH_CUSTOM_STORES_NAMES =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])\n"
    "      --> KSTREAM-WINDOWED-0000000002\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-WINDOWED-0000000002 (stores: [custom-name-outer-this-join-store])\n"
    "      --> KSTREAM-OUTERTHIS-0000000004\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-WINDOWED-0000000003 (stores: [custom-name-outer-other-join-store])\n"
    "      --> KSTREAM-OUTEROTHER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [custom-name-outer-this-join-store, "
    "custom-name-outer-shared-join-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000003\n"
    "    Processor: KSTREAM-OUTERTHIS-0000000004 (stores: [custom-name-outer-other-join-store, "
    "custom-name-outer-shared-join-store])\n"
    "      --> KSTREAM-MERGE-0000000006\n"
    "      <-- KSTREAM-WINDOWED-0000000002\n"
    "    Processor: KSTREAM-MERGE-0000000006 (stores: [])\n"
    "      --> none\n"
    "      <-- KSTREAM-OUTERTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005\n"
    "\n";

/* KStreamKStreamJoinTest.expectedTopologyWithGeneratedRepartitionTopic */
static const char *DESC_EXPECTED_TOPOLOGY_WITH_GENERATED_REPARTITION_TOPIC =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [topic])\n"
    "      --> KSTREAM-MAP-0000000003\n"
    "    Processor: KSTREAM-MAP-0000000003 (stores: [])\n"
    "      --> KSTREAM-FILTER-0000000005\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n"
    "      --> KSTREAM-SINK-0000000004\n"
    "      <-- KSTREAM-MAP-0000000003\n"
    "    Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-MAP-0000000003-repartition)\n"
    "      <-- KSTREAM-FILTER-0000000005\n"
    "\n"
    "  Sub-topology: 1\n"
    "    Source: KSTREAM-SOURCE-0000000006 (topics: [KSTREAM-MAP-0000000003-repartition])\n"
    "      --> KSTREAM-WINDOWED-0000000007, KSTREAM-WINDOWED-0000000016\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [topic2])\n"
    "      --> KSTREAM-WINDOWED-0000000008\n"
    "    Source: KSTREAM-SOURCE-0000000002 (topics: [topic3])\n"
    "      --> KSTREAM-WINDOWED-0000000017\n"
    "    Processor: KSTREAM-WINDOWED-0000000007 (stores: [KSTREAM-JOINTHIS-0000000009-store])\n"
    "      --> KSTREAM-JOINTHIS-0000000009\n"
    "      <-- KSTREAM-SOURCE-0000000006\n"
    "    Processor: KSTREAM-WINDOWED-0000000008 (stores: [KSTREAM-JOINOTHER-0000000010-store])\n"
    "      --> KSTREAM-JOINOTHER-0000000010\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: KSTREAM-WINDOWED-0000000016 (stores: [KSTREAM-JOINTHIS-0000000018-store])\n"
    "      --> KSTREAM-JOINTHIS-0000000018\n"
    "      <-- KSTREAM-SOURCE-0000000006\n"
    "    Processor: KSTREAM-WINDOWED-0000000017 (stores: [KSTREAM-JOINOTHER-0000000019-store])\n"
    "      --> KSTREAM-JOINOTHER-0000000019\n"
    "      <-- KSTREAM-SOURCE-0000000002\n"
    "    Processor: KSTREAM-JOINOTHER-0000000010 (stores: [KSTREAM-JOINTHIS-0000000009-store])\n"
    "      --> KSTREAM-MERGE-0000000011\n"
    "      <-- KSTREAM-WINDOWED-0000000008\n"
    "    Processor: KSTREAM-JOINOTHER-0000000019 (stores: [KSTREAM-JOINTHIS-0000000018-store])\n"
    "      --> KSTREAM-MERGE-0000000020\n"
    "      <-- KSTREAM-WINDOWED-0000000017\n"
    "    Processor: KSTREAM-JOINTHIS-0000000009 (stores: [KSTREAM-JOINOTHER-0000000010-store])\n"
    "      --> KSTREAM-MERGE-0000000011\n"
    "      <-- KSTREAM-WINDOWED-0000000007\n"
    "    Processor: KSTREAM-JOINTHIS-0000000018 (stores: [KSTREAM-JOINOTHER-0000000019-store])\n"
    "      --> KSTREAM-MERGE-0000000020\n"
    "      <-- KSTREAM-WINDOWED-0000000016\n"
    "    Processor: KSTREAM-MERGE-0000000011 (stores: [])\n"
    "      --> KSTREAM-SINK-0000000012\n"
    "      <-- KSTREAM-JOINTHIS-0000000009, KSTREAM-JOINOTHER-0000000010\n"
    "    Processor: KSTREAM-MERGE-0000000020 (stores: [])\n"
    "      --> KSTREAM-SINK-0000000021\n"
    "      <-- KSTREAM-JOINTHIS-0000000018, KSTREAM-JOINOTHER-0000000019\n"
    "    Sink: KSTREAM-SINK-0000000012 (topic: out-one)\n"
    "      <-- KSTREAM-MERGE-0000000011\n"
    "    Sink: KSTREAM-SINK-0000000021 (topic: out-to)\n"
    "      <-- KSTREAM-MERGE-0000000020\n"
    "\n";

/* KStreamKStreamJoinTest.expectedTopologyWithUserNamedRepartitionTopics */
static const char *DESC_EXPECTED_TOPOLOGY_WITH_USER_NAMED_REPARTITION_TOPICS =
    "Topologies:\n"
    "   Sub-topology: 0\n"
    "    Source: KSTREAM-SOURCE-0000000000 (topics: [topic])\n"
    "      --> KSTREAM-MAP-0000000003\n"
    "    Processor: KSTREAM-MAP-0000000003 (stores: [])\n"
    "      --> second-join-left-repartition-filter, first-join-left-repartition-filter\n"
    "      <-- KSTREAM-SOURCE-0000000000\n"
    "    Processor: first-join-left-repartition-filter (stores: [])\n"
    "      --> first-join-left-repartition-sink\n"
    "      <-- KSTREAM-MAP-0000000003\n"
    "    Processor: second-join-left-repartition-filter (stores: [])\n"
    "      --> second-join-left-repartition-sink\n"
    "      <-- KSTREAM-MAP-0000000003\n"
    "    Sink: first-join-left-repartition-sink (topic: first-join-left-repartition)\n"
    "      <-- first-join-left-repartition-filter\n"
    "    Sink: second-join-left-repartition-sink (topic: second-join-left-repartition)\n"
    "      <-- second-join-left-repartition-filter\n"
    "\n"
    "  Sub-topology: 1\n"
    "    Source: KSTREAM-SOURCE-0000000001 (topics: [topic2])\n"
    "      --> first-join-other-windowed\n"
    "    Source: first-join-left-repartition-source (topics: [first-join-left-repartition])\n"
    "      --> first-join-this-windowed\n"
    "    Processor: first-join-other-windowed (stores: [KSTREAM-JOINOTHER-0000000010-store])\n"
    "      --> first-join-other-join\n"
    "      <-- KSTREAM-SOURCE-0000000001\n"
    "    Processor: first-join-this-windowed (stores: [KSTREAM-JOINTHIS-0000000009-store])\n"
    "      --> first-join-this-join\n"
    "      <-- first-join-left-repartition-source\n"
    "    Processor: first-join-other-join (stores: [KSTREAM-JOINTHIS-0000000009-store])\n"
    "      --> first-join-merge\n"
    "      <-- first-join-other-windowed\n"
    "    Processor: first-join-this-join (stores: [KSTREAM-JOINOTHER-0000000010-store])\n"
    "      --> first-join-merge\n"
    "      <-- first-join-this-windowed\n"
    "    Processor: first-join-merge (stores: [])\n"
    "      --> KSTREAM-SINK-0000000012\n"
    "      <-- first-join-this-join, first-join-other-join\n"
    "    Sink: KSTREAM-SINK-0000000012 (topic: out-one)\n"
    "      <-- first-join-merge\n"
    "\n"
    "  Sub-topology: 2\n"
    "    Source: KSTREAM-SOURCE-0000000002 (topics: [topic3])\n"
    "      --> second-join-other-windowed\n"
    "    Source: second-join-left-repartition-source (topics: [second-join-left-repartition])\n"
    "      --> second-join-this-windowed\n"
    "    Processor: second-join-other-windowed (stores: [KSTREAM-JOINOTHER-0000000019-store])\n"
    "      --> second-join-other-join\n"
    "      <-- KSTREAM-SOURCE-0000000002\n"
    "    Processor: second-join-this-windowed (stores: [KSTREAM-JOINTHIS-0000000018-store])\n"
    "      --> second-join-this-join\n"
    "      <-- second-join-left-repartition-source\n"
    "    Processor: second-join-other-join (stores: [KSTREAM-JOINTHIS-0000000018-store])\n"
    "      --> second-join-merge\n"
    "      <-- second-join-other-windowed\n"
    "    Processor: second-join-this-join (stores: [KSTREAM-JOINOTHER-0000000019-store])\n"
    "      --> second-join-merge\n"
    "      <-- second-join-this-windowed\n"
    "    Processor: second-join-merge (stores: [])\n"
    "      --> KSTREAM-SINK-0000000021\n"
    "      <-- second-join-this-join, second-join-other-join\n"
    "    Sink: KSTREAM-SINK-0000000021 (topic: out-two)\n"
    "      <-- second-join-merge\n"
    "\n";

#define KAFKA_CASES                                                                          \
    cmocka_unit_test(test_inner_join), cmocka_unit_test(test_inner_outer_join),              \
        cmocka_unit_test(test_inner_windowing),                                              \
        cmocka_unit_test(test_inner_asymmetric_windowing_after),                             \
        cmocka_unit_test(test_inner_asymmetric_windowing_before),                            \
        cmocka_unit_test(test_left_left_join_duplicates),                                    \
        cmocka_unit_test(                                                                    \
            test_left_left_expired_non_joined_records_are_emitted_by_the_left_processor),    \
        cmocka_unit_test(                                                                    \
            test_left_left_expired_non_joined_records_are_emitted_by_the_right_processor),   \
        cmocka_unit_test(                                                                    \
            test_left_right_non_joined_records_are_never_emitted_by_the_left_processor),     \
        cmocka_unit_test(                                                                    \
            test_left_right_non_joined_records_are_never_emitted_by_the_right_processor),    \
        cmocka_unit_test(test_left_left_joined_records_with_zero_after_are_emitted),         \
        cmocka_unit_test(test_left_run_left_join), cmocka_unit_test(test_left_ordering),     \
        cmocka_unit_test(test_left_grace_period), cmocka_unit_test(test_left_windowing),     \
        cmocka_unit_test(test_left_should_not_emit_left_join_result_for_asymmetric_window),  \
        cmocka_unit_test(test_outer_outer_join_duplicates),                                  \
        cmocka_unit_test(                                                                    \
            test_outer_left_expired_non_joined_records_are_emitted_by_the_left_processor),   \
        cmocka_unit_test(                                                                    \
            test_outer_left_expired_non_joined_records_are_emitted_by_the_right_processor),  \
        cmocka_unit_test(                                                                    \
            test_outer_right_expired_non_joined_records_are_emitted_by_the_left_processor),  \
        cmocka_unit_test(                                                                    \
            test_outer_right_expired_non_joined_records_are_emitted_by_the_right_processor), \
        cmocka_unit_test(test_outer_ordering), cmocka_unit_test(test_outer_grace_period),    \
        cmocka_unit_test(test_outer_emit_all_non_joined_results_for_asymmetric_window),      \
        cmocka_unit_test(test_outer_run_outer_join), cmocka_unit_test(test_outer_windowing), \
        cmocka_unit_test(                                                                    \
            test_outer_should_not_emit_left_join_result_for_asymmetric_before_window),       \
        cmocka_unit_test(test_outer_should_not_emit_left_join_result_for_asymmetric_after_window),

/* KStreamKStreamJoinTest.runJoin (shouldJoinWithCustomStoreSuppliers and
 * the store-supplier cases run it): Integer::sum over String keys. */
static rv_err_t sum_joiner(rv_out_t *out, const void *k, int32_t kl, const void *left, int32_t ll,
                           const void *right, int32_t rl, void *opaque) {
    (void)k, (void)kl, (void)ll, (void)rl, (void)opaque;
    int32_t s = *(const int32_t *)left + *(const int32_t *)right;
    return rv_out_value(out, &s, 4);
}

static void test_inner_run_join(void **state) {
    (void)state;
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_string();
    c.value_serde = rv_serde_int32();
    const char *tl[] = {"left"}, *tr[] = {"right"};
    rv_kstream_t *l = rv_streams_builder_stream(b, tl, 1, &c);
    rv_kstream_t *r = rv_streams_builder_stream(b, tr, 1, &c);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(50, 50);
    rv_stream_joined_t sj = RV_STREAM_JOINED_INIT;
    sj.key_serde = rv_serde_string();
    sj.value_serde = sj.other_value_serde = rv_serde_int32();
    rv_produced_t p = RV_PRODUCED_INIT;
    p.value_serde = rv_serde_int32();
    assert_int_equal(rv_kstream_to(rv_kstream_join(l, r, sum_joiner, NULL, &w, &sj), "out", &p), 0);
    rv_topology_t *t = build(b);
    rv_test_driver_t *d = driver(t, 0);
    unsigned char one[4], two[4];
    rv_serde_int32_write(one, 1);
    rv_serde_int32_write(two, 2);
    assert_int_equal(rv_test_driver_pipe_input(d, "left", "A", 1, one, 4, 1, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "left", "B", 1, one, 4, 2, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "right", "A", 1, one, 4, 1, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "right", "B", 1, two, 4, 2, NULL, 0), 0);
    char got[256] = "";
    rv_test_record_t *rec;
    while (!rv_test_driver_read_output(&rec, d, "out")) {
        int32_t kl, vl;
        const char *k = rv_test_record_key(rec, &kl);
        const void *v = rv_test_record_value(rec, &vl);
        int32_t x = 0;
        assert_int_equal(rv_serde_int32_read(&x, v, vl), 0);
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s:%d@%" PRId64,
                 got[0] ? " " : "", (int)kl, k, (int)x, rv_test_record_timestamp(rec));
        rv_test_record_destroy(rec);
    }
    assert_string_equal(got, "A:2@1 B:3@2");
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
    rv_streams_builder_destroy(b);
}

/* KStreamKStreamOuterJoinTest.testShouldForwardCurrentHeaders: expired
 * outer results carry the headers of the record that triggered them. */
static void test_outer_should_forward_current_headers(void **state) {
    (void)state;
    fx_t *f = fx_new(J_OUTER, 100, 100, 10, true);
    unsigned char hv[5] = {1, 2, 3, 4, 5};
    unsigned char v10[8], v100[8], v12[8];
    rv_serde_int64_write(v10, 10);
    rv_serde_int64_write(v100, 100);
    rv_serde_int64_write(v12, 12);
    rv_header_t h[5];
    for (int i = 0; i < 5; i++) {
        h[i].key = "h";
        h[i].value = &hv[i];
        h[i].value_len = 1;
    }
    int k0 = 0, k1 = 1, k2 = 2, k3 = 3;
    pipe_raw(f, "topic1", &k0, "A0", 2, 0, &h[0], 1);
    pipe_raw(f, "topic2", &k1, v10, 8, 0, &h[1], 1);
    /* bump stream-time to trigger outer-join results */
    pipe_raw(f, "topic2", &k3, v100, 8, 211, &h[2], 1);
    char *got = outputs_h(f, "out", true);
    assert_string_equal(got, "1:null+10@0{h=3} 0:A0+null@0{h=3}");
    free(got);
    /* verifies joined duplicates are emitted */
    pipe_raw(f, "topic1", &k2, "A2", 2, 200, &h[3], 1);
    pipe_raw(f, "topic2", &k2, v12, 8, 200, &h[4], 1);
    got = outputs_h(f, "out", true);
    assert_string_equal(got, "2:A2+12@200{h=5}");
    free(got);
    fx_free(f);
}

/* KStreamKStreamJoinTest.shouldThrottleEmitNonJoinedOuterRecordsEvenWhenClockDrift,
 * through the driver: the right side of an outer join, a 1000 ms window, the
 * throttle at 1000 ms of wall-clock time. The scan at wall clock 2500 is
 * throttled (two records stay buffered); the one at 4000 runs. */
static size_t store_entries(fx_t *f, const char *store) {
    rv_kv_store_t *s = rv_test_driver_get_kv_store(f->d, store);
    assert_non_null(s);
    rv_kv_iter_t *it;
    assert_int_equal(rv_kv_store_all(&it, s), 0);
    size_t n = 0;
    while (rv_kv_iter_next(it) == 1)
        n++;
    rv_kv_iter_destroy(it);
    return n;
}

static void test_inner_should_throttle_emit_non_joined_outer_records(void **state) {
    (void)state;
    fx_t *f = fx_new_interval(J_OUTER, 1000, 1000, 0, false, 1000);
    const char *store = "KSTREAM-OUTERSHARED-0000000004-store";
    assert_int_equal(rv_test_driver_advance_wall_clock(f->d, 1000), 0);
    pin(f, "topic2", 1, "value1", 10000);
    assert_int_equal(rv_test_driver_advance_wall_clock(f->d, 1100), 0); /* 2100 */
    pin(f, "topic2", 2, "value2", 13000);
    CHK(f, kvt(1, "null+value1", 10000));
    assert_int_equal(rv_test_driver_advance_wall_clock(f->d, 400), 0); /* 2500 */
    pin(f, "topic2", 3, "value3", 15000);
    /* being throttled, so the older value still exists */
    assert_int_equal(store_entries(f, store), 2);
    chk(f, NULL);
    assert_int_equal(rv_test_driver_advance_wall_clock(f->d, 1500), 0); /* 4000 */
    pin(f, "topic2", 4, "value4", 17000);
    assert_int_equal(store_entries(f, store), 1);
    CHK(f, kvt(2, "null+value2", 13000), kvt(3, "null+value3", 15000));
    fx_free(f);
}

/* The outer store holds Kafka's bytes: key [8-byte ts][1 = left][key],
 * value ListSerde [1][count][len][1 = left][value bytes]. A second record
 * of the same key and timestamp is appended to the list. */
static void test_left_outer_store_layout(void **state) {
    (void)state;
    fx_t *f = fx_new(J_LEFT, 100, 100, 0, false);
    pin(f, "topic1", 7, "A0", 5);
    pin(f, "topic1", 7, "A1", 5);
    chk(f, NULL);
    rv_kv_store_t *s = rv_test_driver_get_kv_store(f->d, "KSTREAM-OUTERSHARED-0000000004-store");
    assert_non_null(s);
    const unsigned char key[] = {0, 0, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0, 7};
    const unsigned char val[] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 'A', '0', 0, 0, 0, 3, 1, 'A', '1'};
    rv_bytes_t got = {0};
    assert_int_equal(rv_kv_store_get(&got, s, key, sizeof key), 0);
    assert_int_equal(got.len, sizeof val);
    assert_memory_equal(got.data, val, sizeof val);
    rv_bytes_free(&got);
    /* Its changelog carries the same bytes. */
    rv_test_record_t *r;
    int n = 0;
    while (!rv_test_driver_read_output(
        &r, f->d, "stream-join-KSTREAM-OUTERSHARED-0000000004-store-changelog")) {
        int32_t kl;
        const void *k = rv_test_record_key(r, &kl);
        assert_int_equal(kl, sizeof key);
        assert_memory_equal(k, key, sizeof key);
        rv_test_record_destroy(r);
        n++;
    }
    assert_int_equal(n, 2);
    /* Both come out once stream time passes 5 + 100. */
    pin(f, "topic2", 9, "x", 106);
    CHK(f, kvt(7, "A0+null", 5), kvt(7, "A1+null", 5));
    assert_int_equal(store_entries(f, "KSTREAM-OUTERSHARED-0000000004-store"), 0);
    fx_free(f);
}

/* KIP-962: on an outer side a null-key record with a value is joined with
 * null at once; elsewhere null keys and null values are skipped with
 * Kafka's warning (KStreamKStreamJoinTest.shouldLogAndMeterOnSkippedRecords...). */
static char g_log[8192];

static void capture_log(int level, const char *fac, const char *msg, void *opaque) {
    (void)level, (void)fac, (void)opaque;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

static void test_null_keys_and_values(void **state) {
    (void)state;
    fx_t *f = fx_new(J_INNER, 100, 100, 0, false);
    g_log[0] = '\0';
    rv_log_set_callback(capture_log, NULL);
    pipe_raw(f, "topic1", NULL, "A", 1, 1, NULL, 0);
    int k = 0;
    pipe_raw(f, "topic2", &k, NULL, -1, 1, NULL, 0);
    rv_log_set_callback(NULL, NULL);
    chk(f, NULL);
    rvt_assert_contains(g_log, "Skipping record due to null key or value. topic=[topic1] "
                               "partition=[0] offset=[0]");
    rvt_assert_contains(g_log, "Skipping record due to null key or value. topic=[topic2] "
                               "partition=[0] offset=[0]");
    fx_free(f);

    f = fx_new(J_LEFT, 100, 100, 0, false);
    pipe_raw(f, "topic1", NULL, "A", 1, 3, NULL, 0);
    pipe_raw(f, "topic2", NULL, "b", 1, 4, NULL, 0); /* the right side is not outer */
    CHK(f, kvt(KNULL, "A+null", 3));
    fx_free(f);

    f = fx_new(J_OUTER, 100, 100, 0, false);
    pipe_raw(f, "topic1", NULL, "A", 1, 3, NULL, 0);
    pipe_raw(f, "topic2", NULL, "b", 1, 4, NULL, 0);
    pipe_raw(f, "topic2", &k, NULL, -1, 5, NULL, 0); /* a null value is skipped */
    CHK(f, kvt(KNULL, "A+null", 3), kvt(KNULL, "null+b", 4));
    fx_free(f);
}

/* A side whose key changed goes through its repartition topic first (the
 * driver feeds it back), and the join still matches. */
static rv_err_t key_from_value(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                               void *opaque) {
    (void)k, (void)kl, (void)vl, (void)opaque;
    int32_t key = ((const char *)v)[1] - '0';
    return rv_out_key(out, &key, 4);
}

static void test_join_after_select_key(void **state) {
    (void)state;
    fx_t *f = calloc(1, sizeof *f);
    f->b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = rv_serde_int32();
    c.value_serde = rv_serde_string();
    const char *t1[] = {"topic1"}, *t2[] = {"topic2"};
    rv_kstream_t *s1 = rv_streams_builder_stream(f->b, t1, 1, &c);
    rv_kstream_t *s2 = rv_streams_builder_stream(f->b, t2, 1, &c);
    rv_kstream_t *m = rv_kstream_select_key(s1, key_from_value, NULL, NULL);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(100, 0);
    rv_stream_joined_t sj = RV_STREAM_JOINED_INIT;
    sj.key_serde = rv_serde_int32();
    rv_produced_t p = RV_PRODUCED_INIT;
    p.key_serde = rv_serde_int32();
    p.value_serde = rv_serde_string();
    assert_int_equal(
        rv_kstream_to(rv_kstream_join(m, s2, tostring_joiner, NULL, &w, &sj), "out", &p), 0);
    f->topo = build(f->b);
    char *desc = rv_topology_describe(f->topo);
    rvt_assert_contains(desc, "(topic: KSTREAM-KEY-SELECT-0000000002-repartition)");
    free(desc);
    f->d = driver(f->topo, 0);
    pin(f, "topic2", 4, "b4", 10);
    pin(f, "topic1", 99, "a4", 20); /* new key 4 */
    pin(f, "topic1", 98, "a7", 20); /* new key 7: no partner */
    CHK(f, kvt(4, "a4+b4", 20));
    fx_free(f);
}

/* Kafka's JoinWindows checks. */
static void test_invalid_windows(void **state) {
    (void)state;
    const char *msg;
    for (int i = 0; i < 2; i++) {
        rv_streams_builder_t *b = rv_streams_builder_new();
        const char *t1[] = {"a"}, *t2[] = {"b"};
        rv_kstream_t *s1 = rv_streams_builder_stream(b, t1, 1, NULL);
        rv_kstream_t *s2 = rv_streams_builder_stream(b, t2, 1, NULL);
        rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(10, 0);
        if (i == 0)
            w.grace_ms = -1;
        else
            w.before_ms = -20;
        assert_null(rv_kstream_join(s1, s2, tostring_joiner, NULL, &w, NULL));
        assert_int_equal(rv_streams_builder_last_error(b, &msg), RV_ERR__INVALID_ARG);
        assert_string_equal(msg, i == 0 ? "Grace period must not be negative."
                                        : "Window interval (ie, beforeMs+afterMs) must not be "
                                          "negative.");
        rv_streams_builder_destroy(b);
    }
}

/* KStreamKStreamJoinTest.shouldDisableLoggingOnStreamJoined and
 * shouldEnableLoggingWithCustomConfigOnStreamJoined: "store-this-join-store"
 * and "store-other-join-store" log to their changelogs unless disabled. */
static void test_logging_on_stream_joined(void **state) {
    (void)state;
    for (int disabled = 0; disabled < 2; disabled++) {
        rv_streams_builder_t *b = rv_streams_builder_new();
        rv_consumed_t c = RV_CONSUMED_INIT;
        c.key_serde = rv_serde_string();
        c.value_serde = rv_serde_int32();
        const char *tl[] = {"left"}, *tr[] = {"right"};
        rv_kstream_t *l = rv_streams_builder_stream(b, tl, 1, &c);
        rv_kstream_t *r = rv_streams_builder_stream(b, tr, 1, &c);
        rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(100, 50);
        rv_stream_joined_t sj = RV_STREAM_JOINED_INIT;
        sj.key_serde = rv_serde_string();
        sj.value_serde = sj.other_value_serde = rv_serde_int32();
        sj.store_name = "store";
        sj.logging_disabled = disabled;
        assert_non_null(rv_kstream_join(l, r, sum_joiner, NULL, &w, &sj));
        rv_topology_t *t = build(b);
        rv_test_driver_t *d = driver(t, 0);
        unsigned char one[4];
        rv_serde_int32_write(one, 1);
        assert_int_equal(rv_test_driver_pipe_input(d, "left", "A", 1, one, 4, 1, NULL, 0), 0);
        assert_int_equal(rv_test_driver_pipe_input(d, "right", "A", 1, one, 4, 1, NULL, 0), 0);
        assert_int_equal(rv_test_driver_is_empty(d, "stream-join-store-this-join-store-changelog"),
                         disabled);
        assert_int_equal(rv_test_driver_is_empty(d, "stream-join-store-other-join-store-changelog"),
                         disabled);
        assert_non_null(rv_test_driver_get_kv_store(d, "store-this-join-store"));
        assert_non_null(rv_test_driver_get_kv_store(d, "store-other-join-store"));
        rv_test_driver_destroy(d);
        rv_topology_destroy(t);
        rv_streams_builder_destroy(b);
    }
}

/* ---- describe() ---- */

static void assert_describe(rv_streams_builder_t *b, const char *want) {
    rv_topology_t *t = build(b);
    char *got = rv_topology_describe(t);
    assert_string_equal(got, want);
    free(got);
    rv_topology_destroy(t);
    rv_streams_builder_destroy(b);
}

/* TopologyTest.streamStream{,Left,Outer}JoinTopologyWith{Default,Custom}StoresNames */
static void describe_case(jkind_t kind, const char *store_name, const char *want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *t1[] = {"input-topic1"}, *t2[] = {"input-topic2"};
    rv_kstream_t *s1 = rv_streams_builder_stream(b, t1, 1, NULL);
    rv_kstream_t *s2 = rv_streams_builder_stream(b, t2, 1, NULL);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(100, 0);
    rv_stream_joined_t sj = RV_STREAM_JOINED_INIT;
    sj.key_serde = rv_serde_int32();
    sj.value_serde = sj.other_value_serde = rv_serde_string();
    sj.store_name = store_name;
    assert_non_null(do_join(kind, s1, s2, NULL, &w, &sj));
    assert_describe(b, want);
}

static void test_describe_topology_test(void **state) {
    (void)state;
    describe_case(J_INNER, NULL, DESC_JOIN_TOPOLOGY_WITH_DEFAULT_STORES_NAMES);
    describe_case(J_INNER, "custom-name", DESC_JOIN_TOPOLOGY_WITH_CUSTOM_STORES_NAMES);
    describe_case(J_LEFT, NULL, DESC_LEFT_JOIN_TOPOLOGY_WITH_DEFAULT_STORES_NAMES);
    describe_case(J_LEFT, "custom-name", DESC_LEFT_JOIN_TOPOLOGY_WITH_CUSTOM_STORES_NAMES);
    describe_case(J_OUTER, NULL, DESC_OUTER_JOIN_TOPOLOGY_WITH_DEFAULT_STORES_NAMES);
    describe_case(J_OUTER, "custom-name", DESC_OUTER_JOIN_TOPOLOGY_WITH_CUSTOM_STORES_NAMES);
}

static rv_err_t swap_mapper(rv_out_t *out, const void *k, int32_t kl, const void *v, int32_t vl,
                            void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, v, vl);
    return err ? err : rv_out_value(out, k, kl);
}

/* KStreamKStreamJoinTest.shouldReuseRepartitionTopicWithGeneratedName and
 * shouldCreateRepartitionTopicsWithUserProvidedName. */
static void repartition_case(bool named, const char *want) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    rv_consumed_t c = RV_CONSUMED_INIT;
    c.key_serde = c.value_serde = rv_serde_string();
    const char *t1[] = {"topic"}, *t2[] = {"topic2"}, *t3[] = {"topic3"};
    rv_kstream_t *s1 = rv_streams_builder_stream(b, t1, 1, &c);
    rv_kstream_t *s2 = rv_streams_builder_stream(b, t2, 1, &c);
    rv_kstream_t *s3 = rv_streams_builder_stream(b, t3, 1, &c);
    rv_kstream_t *m = rv_kstream_map(s1, swap_mapper, NULL, NULL);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(100, 0);
    rv_stream_joined_t sj = RV_STREAM_JOINED_INIT;
    sj.key_serde = sj.value_serde = sj.other_value_serde = rv_serde_string();
    sj.name = named ? "first-join" : NULL;
    assert_int_equal(
        rv_kstream_to(rv_kstream_join(m, s2, tostring_joiner, NULL, &w, named ? &sj : NULL),
                      "out-one", NULL),
        0);
    sj.name = named ? "second-join" : NULL;
    assert_int_equal(
        rv_kstream_to(rv_kstream_join(m, s3, tostring_joiner, NULL, &w, named ? &sj : NULL),
                      named ? "out-two" : "out-to", NULL),
        0);
    assert_describe(b, want);
}

static void test_describe_repartition(void **state) {
    (void)state;
    repartition_case(false, DESC_EXPECTED_TOPOLOGY_WITH_GENERATED_REPARTITION_TOPIC);
    repartition_case(true, DESC_EXPECTED_TOPOLOGY_WITH_USER_NAMED_REPARTITION_TOPICS);
}

/* ======================================================================
 * On the embedded broker
 * ====================================================================== */

typedef struct bfx_s {
    char *dir;
    char bs[4200];
    rv_broker_t *broker;
} bfx_t;

static int setup(void **state) {
    bfx_t *fx = calloc(1, sizeof *fx);
    char errstr[512];
    fx->dir = rvt_tmpdir();
    assert_int_equal(rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr), 0);
    snprintf(fx->bs, sizeof fx->bs, "%s", rvt_bootstrap(fx->dir));
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    bfx_t *fx = *state;
    rv_broker_close(fx->broker);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static rv_conf_t *client_conf(bfx_t *fx) {
    char errstr[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    return c;
}

static void create_topic(bfx_t *fx, const char *name, int32_t partitions) {
    char errstr[512];
    rv_admin_t *a = rv_admin_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(a);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    assert_int_equal(
        rv_admin_create_topic(a, name, partitions, -1, names, values, 1, errstr, sizeof errstr), 0);
    rv_admin_destroy(a);
}

static void produce(bfx_t *fx, const char *topic, const char *key, const char *value, int64_t ts) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = -1;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

/* Reads topic (one partition) from the beginning until want records came
 * or timeout_ms passed; "key:value@ts" joined by spaces into out. */
static int consume(bfx_t *fx, const char *topic, int want, int timeout_ms, char *out,
                   size_t out_size) {
    char errstr[512];
    rv_consumer_t *c = rv_consumer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(c);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, topic, 0), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(c, l), 0);
    rv_topic_partition_list_destroy(l);
    int got = 0;
    out[0] = '\0';
    int64_t until = rv__mono_ms() + timeout_ms;
    while (got < want && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(c, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t kl, vl;
            const char *k = rv_record_key(r, &kl);
            const char *v = rv_record_value(r, &vl);
            size_t n = strlen(out);
            snprintf(out + n, out_size - n, "%s%.*s:%.*s@%" PRId64, n ? " " : "", k ? (int)kl : 4,
                     k ? k : "null", v ? (int)vl : 4, v ? v : "null", rv_record_timestamp(r));
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(c);
    return got;
}

static rv_err_t concat_joiner(rv_out_t *out, const void *k, int32_t kl, const void *left,
                              int32_t ll, const void *right, int32_t rl, void *opaque) {
    (void)opaque;
    return tostring_joiner(out, k, kl, left, ll, right, rl, NULL);
}

/* One run of the app: impressions leftJoin clicks within 100 ms, no grace,
 * RocksDB window stores and outer store. */
static rv_streams_t *start_app(bfx_t *fx, rv_topology_t **topo) {
    char errstr[1024], sd[4400];
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *ti[] = {"impressions"}, *tc[] = {"clicks"};
    rv_kstream_t *i = rv_streams_builder_stream(b, ti, 1, NULL);
    rv_kstream_t *c = rv_streams_builder_stream(b, tc, 1, NULL);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(100, 0);
    assert_int_equal(
        rv_kstream_to(rv_kstream_left_join(i, c, concat_joiner, NULL, &w, NULL), "joined", NULL),
        0);
    *topo = build(b);
    rv_streams_builder_destroy(b);
    rv_conf_t *conf = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    assert_int_equal(rv_conf_set(conf, "application.id", "sj-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "default.key.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, "default.value.serde", "string", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(conf, EMIT_INTERVAL, "0", errstr, sizeof errstr), 0);
    rv_streams_t *app = rv_streams_new(*topo, conf, errstr, sizeof errstr);
    assert_non_null(app);
    if (rv_streams_start(app, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    return app;
}

static void stop_app(rv_streams_t *app, rv_topology_t *topo) {
    assert_int_equal(rv_streams_close(app, 10000), 0);
    rv_streams_destroy(app);
    rv_topology_destroy(topo);
}

/* The buffered unmatched impression i1 and the click c2 in the window
 * store survive a restart that lost the local state (both restored from
 * their changelogs): after it, a late impression still joins c2, and i1
 * comes out as "i1+null" once stream time passes 1000 + 100. */
static void test_left_join_restart_restores_buffers(void **state) {
    bfx_t *fx = *state;
    char out[4096], sd[4400], want[512], ts[8][32];
    /* Today's timestamps: the changelogs of the window stores delete by
     * time (retention + 1 day), so 1970 records would be cleaned away. */
    int64_t t0 = rv__now_ms() / 1000 * 1000;
    const int64_t off[] = {0, 50, 60, 1000};
    for (int i = 0; i < 4; i++)
        snprintf(ts[i], sizeof ts[i], "%" PRId64, t0 + off[i]);
    create_topic(fx, "impressions", 1);
    create_topic(fx, "clicks", 1);
    create_topic(fx, "joined", 1);
    rv_topology_t *topo;
    rv_streams_t *app = start_app(fx, &topo);
    produce(fx, "impressions", "ad1", "i1", t0);
    produce(fx, "impressions", "ad2", "i2", t0);
    produce(fx, "clicks", "ad2", "c2", t0 + 50);
    assert_int_equal(consume(fx, "joined", 1, 20000, out, sizeof out), 1);
    snprintf(want, sizeof want, "ad2:i2+c2@%s", ts[1]);
    assert_string_equal(out, want);
    /* The outer store's changelog has i1 (and i2, and i2's delete). */
    assert_true(consume(fx, "sj-app-KSTREAM-OUTERSHARED-0000000004-store-changelog", 1, 10000, out,
                        sizeof out) >= 1);
    stop_app(app, topo);

    snprintf(sd, sizeof sd, "%s/state", fx->dir);
    rvt_rmtree(sd);
    app = start_app(fx, &topo);
    produce(fx, "impressions", "ad2", "i2b", t0 + 60); /* joins the restored c2 */
    /* Only then move stream time: processed first, c3 would expire c2
     * (there is no max.task.idle.ms to wait for the other partition). */
    assert_int_equal(consume(fx, "joined", 2, 20000, out, sizeof out), 2);
    produce(fx, "clicks", "ad3", "c3", t0 + 1000); /* closes i1's window */
    assert_int_equal(consume(fx, "joined", 3, 20000, out, sizeof out), 3);
    snprintf(want, sizeof want, "ad2:i2+c2@%s ad2:i2b+c2@%s ad1:i1+null@%s", ts[1], ts[2], ts[0]);
    assert_string_equal(out, want);
    /* Nothing more: i2 was matched, c3 is on the inner side. */
    assert_int_equal(consume(fx, "joined", 4, 1500, out, sizeof out), 3);
    stop_app(app, topo);
}

/* The two sides of a join must be co-partitioned. */
static void test_copartitioning_error(void **state) {
    bfx_t *fx = *state;
    char errstr[1024];
    create_topic(fx, "views", 2);
    create_topic(fx, "buys", 3);
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *t1[] = {"views"}, *t2[] = {"buys"};
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(100, 0);
    rv_kstream_to(rv_kstream_join(rv_streams_builder_stream(b, t1, 1, NULL),
                                  rv_streams_builder_stream(b, t2, 1, NULL), concat_joiner, NULL,
                                  &w, NULL),
                  "out", NULL);
    rv_topology_t *topo = build(b);
    rv_conf_t *conf = client_conf(fx);
    assert_int_equal(rv_conf_set(conf, "application.id", "sj-copart", errstr, sizeof errstr), 0);
    rv_streams_t *app = rv_streams_new(topo, conf, errstr, sizeof errstr);
    assert_non_null(app);
    assert_int_equal(rv_streams_start(app, errstr, sizeof errstr), RV_ERR__INVALID_ARG);
    rvt_assert_contains(errstr, "Topics not co-partitioned");
    rvt_assert_contains(errstr, "views=2");
    rvt_assert_contains(errstr, "buys=3");
    rv_streams_close(app, 1000);
    rv_streams_destroy(app);
    rv_topology_destroy(topo);
    rv_streams_builder_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        KAFKA_CASES cmocka_unit_test(test_inner_run_join),
        cmocka_unit_test(test_outer_should_forward_current_headers),
        cmocka_unit_test(test_inner_should_throttle_emit_non_joined_outer_records),
        cmocka_unit_test(test_left_outer_store_layout),
        cmocka_unit_test(test_null_keys_and_values),
        cmocka_unit_test(test_join_after_select_key),
        cmocka_unit_test(test_invalid_windows),
        cmocka_unit_test(test_logging_on_stream_joined),
        cmocka_unit_test(test_describe_topology_test),
        cmocka_unit_test(test_describe_repartition),
        cmocka_unit_test_setup_teardown(test_left_join_restart_restores_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copartitioning_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
