/* tests/unit/test_session_store.c: session stores (state/window_store.c
 * over state/segmented_store.c), persistent in a temporary folder, in
 * memory, and under the changelog and cache wrappers: Kafka's
 * findSessions semantics (the cases of AbstractSessionBytesStoreTest),
 * fetch, fetchSession, remove, backward reads, retention by session end
 * with segment folders removed, the byte-exact SessionKeySchema layout of
 * the changelog, restoration, and a processor merging sessions through the
 * test driver with caching on and off. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#include "common/buf.h"
#include "rivulet/rivulet.h"
#include "state/store_internal.h"

typedef enum { K_ROCKSDB, K_MEMORY, K_STACKED } kind_t;

typedef struct fx_s {
    kind_t kind;
    char *dir;
    rv_kv_store_t *s;
    rv__buf_t log_keys[32], log_values[32];
    int log_tomb[32];
    int logged;
} fx_t;

static rv_err_t capture(const void *k, size_t kl, const void *v, size_t vl, void *opaque) {
    fx_t *fx = opaque;
    if (fx->logged >= 32)
        return RV_ERR_NO_ERROR;
    rv__buf_init(&fx->log_keys[fx->logged]);
    rv__buf_init(&fx->log_values[fx->logged]);
    rv__buf_append(&fx->log_keys[fx->logged], k, kl);
    if (v)
        rv__buf_append(&fx->log_values[fx->logged], v, vl);
    fx->log_tomb[fx->logged++] = v == NULL;
    return RV_ERR_NO_ERROR;
}

static rv_store_builder_t *session_builder(fx_t *fx, int64_t retention) {
    return fx->kind == K_MEMORY ? rv_store_builder_in_memory_session("S", retention)
                                : rv_store_builder_persistent_session("S", retention);
}

static rv_kv_store_t *open_store(fx_t *fx, int64_t retention) {
    char err[1024] = "";
    rv_store_builder_t *b = session_builder(fx, retention);
    rv_kv_store_t *s = NULL;
    if (rv_store_builder_build(&s, b, fx->dir, err, sizeof err))
        fail_msg("build: %s", err);
    rv_store_builder_destroy(b);
    if (fx->kind == K_STACKED) {
        rv_kv_store_t *w;
        assert_int_equal(rv__changelog_wrap(&w, s, capture, fx), 0);
        assert_int_equal(rv__cache_wrap(&s, w, 1 << 20, NULL, NULL), 0);
    }
    return s;
}

static int setup_kind(void **state, kind_t kind) {
    fx_t *fx = calloc(1, sizeof *fx);
    fx->kind = kind;
    fx->dir = rvt_tmpdir();
    *state = fx;
    return 0;
}
static int setup_rocksdb(void **state) {
    return setup_kind(state, K_ROCKSDB);
}
static int setup_memory(void **state) {
    return setup_kind(state, K_MEMORY);
}
static int setup_stacked(void **state) {
    return setup_kind(state, K_STACKED);
}
static int teardown(void **state) {
    fx_t *fx = *state;
    rv_kv_store_destroy(fx->s);
    for (int i = 0; i < fx->logged; i++) {
        rv__buf_free(&fx->log_keys[i]);
        rv__buf_free(&fx->log_values[i]);
    }
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void put(rv_kv_store_t *s, const char *k, int64_t start, int64_t end, const char *v) {
    assert_int_equal(rv_session_store_put(s, k, strlen(k), start, end, v, v ? strlen(v) : 0), 0);
}

/* "key[start,end]=value " per session; destroys the iterator. */
static void drain(char *out, size_t size, rv_session_iter_t *it) {
    out[0] = '\0';
    int r;
    while ((r = rv_session_iter_next(it)) == 1) {
        size_t kl, vl;
        const char *k = rv_session_iter_key(it, &kl);
        const char *v = rv_session_iter_value(it, &vl);
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%.*s[%" PRId64 ",%" PRId64 "]=%.*s ", (int)kl, k,
                 rv_session_iter_start(it), rv_session_iter_end(it), (int)vl, v);
    }
    assert_int_equal(r, 0);
    rv_session_iter_destroy(it);
}

static void find(char *out, size_t size, rv_kv_store_t *s, const char *k, int64_t earliest_end,
                 int64_t latest_start, int backward) {
    rv_session_iter_t *it;
    if (backward)
        assert_int_equal(rv_session_store_backward_find_sessions(&it, s, k, strlen(k), earliest_end,
                                                                 latest_start),
                         0);
    else
        assert_int_equal(
            rv_session_store_find_sessions(&it, s, k, strlen(k), earliest_end, latest_start), 0);
    drain(out, size, it);
}

/* AbstractSessionBytesStoreTest.shouldPutAndFindSessionsInRange and
 * friends. */
static void test_find_sessions(void **state) {
    fx_t *fx = *state;
    fx->s = open_store(fx, 600000);
    rv_kv_store_t *s = fx->s;
    char got[1024];
    put(s, "a", 0, 0, "1");
    put(s, "a", 10, 10, "2");
    put(s, "a", 500, 1000, "3");
    put(s, "a", 1500, 2000, "4");
    put(s, "a", 2500, 3000, "5");
    put(s, "aa", 0, 0, "x"); /* shares bytes with "a": never returned for "a" */
    put(s, "b", 0, 2000, "y");

    find(got, sizeof got, s, "a", 0, 1000, 0);
    assert_string_equal(got, "a[0,0]=1 a[10,10]=2 a[500,1000]=3 ");
    find(got, sizeof got, s, "a", 400, 600, 0);
    assert_string_equal(got, "a[500,1000]=3 ");
    find(got, sizeof got, s, "a", 0, 1000, 1);
    assert_string_equal(got, "a[500,1000]=3 a[10,10]=2 a[0,0]=1 ");
    /* shouldFindValuesWithinMergingSessionWindowRange */
    find(got, sizeof got, s, "a", 0, 0, 0);
    assert_string_equal(got, "a[0,0]=1 ");
    find(got, sizeof got, s, "a", 2001, 5000, 0);
    assert_string_equal(got, "a[2500,3000]=5 ");
    find(got, sizeof got, s, "c", 0, 5000, 0);
    assert_string_equal(got, "");
    find(got, sizeof got, s, "b", 1999, 0, 0);
    assert_string_equal(got, "b[0,2000]=y ");

    rv_session_iter_t *it;
    assert_int_equal(rv_session_store_fetch(&it, s, "a", 1), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "a[0,0]=1 a[10,10]=2 a[500,1000]=3 a[1500,2000]=4 a[2500,3000]=5 ");
    assert_int_equal(rv_session_store_fetch(&it, s, "aa", 2), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "aa[0,0]=x ");

    rv_bytes_t v;
    assert_int_equal(rv_session_store_fetch_session(&v, s, "a", 1, 500, 1000), 0);
    assert_int_equal(v.len, 1);
    assert_memory_equal(v.data, "3", 1);
    rv_bytes_free(&v);
    assert_int_equal(rv_session_store_fetch_session(&v, s, "a", 1, 500, 999), RV_ERR__NOENT);

    /* Remove, and an update of the same session. */
    assert_int_equal(rv_session_store_remove(s, "a", 1, 500, 1000), 0);
    assert_int_equal(rv_session_store_fetch_session(&v, s, "a", 1, 500, 1000), RV_ERR__NOENT);
    put(s, "a", 10, 10, "22");
    find(got, sizeof got, s, "a", 0, 1000, 0);
    assert_string_equal(got, "a[0,0]=1 a[10,10]=22 ");

    /* Misuse. */
    assert_int_equal(rv_session_store_put(s, "a", 1, 5, 4, "v", 1), RV_ERR__INVALID_ARG);
    assert_int_equal(rv_session_store_put(s, "a", 1, -1, 4, "v", 1), RV_ERR__INVALID_ARG);
    rv_window_iter_t *wi = NULL;
    assert_int_equal(rv_window_store_all(&wi, s), RV_ERR__INVALID_ARG);
}

/* Sessions expire by their end: segments of end time, dropped with their
 * folders. retention 60000 -> interval 60000. */
static void test_retention(void **state) {
    fx_t *fx = *state;
    fx->s = open_store(fx, 60000);
    rv_kv_store_t *s = fx->s;
    char got[512], p[4400];
    struct stat st;
    put(s, "a", 0, 10, "old");
    put(s, "a", 50000, 80000, "mid");
    if (fx->kind == K_STACKED)
        assert_int_equal(rv_kv_store_flush(s), 0);
    snprintf(p, sizeof p, "%s/S/S.0", fx->dir);
    if (fx->kind != K_MEMORY)
        assert_int_equal(stat(p, &st), 0);
    put(s, "a", 130000, 130000, "new"); /* min live segment: (130000 - 60000) / 60000 = 1 */
    if (fx->kind == K_STACKED)
        assert_int_equal(rv_kv_store_flush(s), 0);
    if (fx->kind != K_MEMORY) {
        assert_int_not_equal(stat(p, &st), 0);
        snprintf(p, sizeof p, "%s/S/S.60000", fx->dir);
        assert_int_equal(stat(p, &st), 0);
    }
    /* Ends before 130000 - 60000 + 1 are not returned. */
    find(got, sizeof got, s, "a", 0, INT64_MAX, 0);
    assert_string_equal(got, "a[50000,80000]=mid a[130000,130000]=new ");
    put(s, "a", 5, 20, "late"); /* into the dropped segment: skipped */
    rv_session_iter_t *it;
    assert_int_equal(rv_session_store_fetch(&it, s, "a", 1), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "a[50000,80000]=mid a[130000,130000]=new ");
}

/* SessionKeySchema: [key][8-byte BE end][8-byte BE start]; restored from
 * those records into a fresh store. */
static void test_key_layout_and_restore(void **state) {
    fx_t *fx = *state; /* K_STACKED */
    fx->s = open_store(fx, 600000);
    put(fx->s, "k", 0x0102, 0x0304, "v");
    put(fx->s, "k", 5, 6, "w");
    assert_int_equal(rv_session_store_remove(fx->s, "k", 1, 5, 6), 0);
    assert_int_equal(rv_kv_store_flush(fx->s), 0);
    assert_int_equal(fx->logged, 2);
    static const uint8_t want[] = {'k', 0, 0, 0, 0, 0, 0, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0x01, 0x02};
    int found = 0;
    for (int i = 0; i < fx->logged; i++) {
        if (fx->log_keys[i].len == sizeof want &&
            !memcmp(fx->log_keys[i].data, want, sizeof want)) {
            found = 1;
            assert_false(fx->log_tomb[i]);
        } else {
            assert_true(fx->log_tomb[i]); /* the removed session */
            assert_int_equal(rv__be64(fx->log_keys[i].data + 1), 6);
            assert_int_equal(rv__be64(fx->log_keys[i].data + 9), 5);
        }
    }
    assert_true(found);

    char dir2[4400], err[512];
    snprintf(dir2, sizeof dir2, "%s/other", fx->dir);
    rv_store_builder_t *b = rv_store_builder_persistent_session("S", 600000);
    rv_kv_store_t *r;
    assert_int_equal(rv_store_builder_build(&r, b, dir2, err, sizeof err), 0);
    rv_kv_entry_t e[32];
    for (int i = 0; i < fx->logged; i++) {
        e[i].key = fx->log_keys[i].data;
        e[i].key_len = fx->log_keys[i].len;
        e[i].value = fx->log_tomb[i] ? NULL : (const void *)fx->log_values[i].data;
        e[i].value_len = fx->log_values[i].len;
    }
    assert_int_equal(rv__store_restore_batch(r, e, (size_t)fx->logged), 0);
    char got[256];
    rv_session_iter_t *it;
    assert_int_equal(rv_session_store_fetch(&it, r, "k", 1), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "k[258,772]=v ");
    rv_kv_store_destroy(r);
    rv_store_builder_destroy(b);
}

/* ---- A session-merging processor through the test driver ---- */

/* Merges each record into the sessions of its key within a 200 ms gap
 * (as a session window aggregation would): the value is the list of
 * record values; forwards "[start,end]=values". */
static rv_err_t sess_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                             void *state) {
    (void)state;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, "S");
    if (!s)
        return RV_ERR__STATE;
    int64_t ts = r->timestamp, start = ts, end = ts;
    char agg[512] = "";
    rv_session_iter_t *it;
    rv_err_t err =
        rv_session_store_find_sessions(&it, s, r->key, (size_t)r->key_len, ts - 200, ts + 200);
    if (err)
        return err;
    while (rv_session_iter_next(it) == 1) {
        size_t vl;
        const char *v = rv_session_iter_value(it, &vl);
        int64_t ss = rv_session_iter_start(it), se = rv_session_iter_end(it);
        size_t used = strlen(agg);
        snprintf(agg + used, sizeof agg - used, "%.*s", (int)vl, v);
        start = ss < start ? ss : start;
        end = se > end ? se : end;
        err = rv_session_store_remove(s, r->key, (size_t)r->key_len, ss, se);
        if (err)
            break;
    }
    rv_session_iter_destroy(it);
    if (err)
        return err;
    size_t used = strlen(agg);
    snprintf(agg + used, sizeof agg - used, "%.*s", (int)r->value_len, (const char *)r->value);
    err = rv_session_store_put(s, r->key, (size_t)r->key_len, start, end, agg, strlen(agg));
    if (err)
        return err;
    char out[600];
    snprintf(out, sizeof out, "[%" PRId64 ",%" PRId64 "]=%s", start, end, agg);
    rv_processor_record_t o = {r->key, r->key_len, out, (int32_t)strlen(out), ts, NULL, 0};
    return rv_processor_context_forward(ctx, &o);
}

static rv_err_t sess_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = sess_process;
    return 0;
}

static void read_value(char *buf, size_t size, rv_test_driver_t *d) {
    rv_test_record_t *r;
    buf[0] = '\0';
    if (rv_test_driver_read_output(&r, d, "out"))
        return;
    int32_t vl;
    const char *v = rv_test_record_value(r, &vl);
    snprintf(buf, size, "%.*s", vl < 0 ? 0 : (int)vl, v ? v : "");
    rv_test_record_destroy(r);
}

static void run_driver(int persistent, int caching) {
    char err[1024], buf[1024];
    rv_store_builder_t *b = persistent ? rv_store_builder_persistent_session("S", 600000)
                                       : rv_store_builder_in_memory_session("S", 600000);
    if (caching)
        rv_store_builder_with_caching_enabled(b);
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = sess_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_bytes();
    in.value_deserializer = rv_serde_bytes();
    rv_sink_opts_t o = RV_SINK_OPTS_INIT;
    o.key_serializer = rv_serde_bytes();
    o.value_serializer = rv_serde_bytes();
    const char *topics[] = {"in"}, *src[] = {"Source"}, *proc[] = {"P"};
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, err, sizeof err), 0);
    assert_int_equal(rv_topology_add_processor(t, "P", &sup, src, 1, err, sizeof err), 0);
    assert_int_equal(rv_topology_add_state_store(t, b, proc, 1, err, sizeof err), 0);
    assert_int_equal(rv_topology_add_sink(t, "Sink", "out", &o, proc, 1, err, sizeof err), 0);
    assert_int_equal(rv_topology_build(t, err, sizeof err), 0);
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "sapp", err, sizeof err), 0);
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    static const struct {
        const char *k, *v;
        int64_t ts;
        const char *want;
    } steps[] = {
        {"k", "a", 1000, "[1000,1000]=a"},    {"k", "b", 1050, "[1000,1050]=ab"},
        {"k", "c", 1300, "[1300,1300]=c"},    {"j", "x", 1100, "[1100,1100]=x"},
        {"k", "d", 1200, "[1000,1300]=abcd"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        assert_int_equal(
            rv_test_driver_pipe_input(d, "in", steps[i].k, 1, steps[i].v, 1, steps[i].ts, NULL, 0),
            0);
        read_value(buf, sizeof buf, d);
        assert_string_equal(buf, steps[i].want);
    }
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, "S");
    rv_session_iter_t *it;
    assert_int_equal(rv_session_store_fetch(&it, s, "k", 1), 0);
    drain(buf, sizeof buf, it);
    assert_string_equal(buf, "k[1000,1300]=abcd ");
    /* The changelog: the merged sessions removed (tombstones of Kafka's
     * session keys), the merged one put. */
    int tombstones = 0, n = 0;
    rv_test_record_t *r;
    while (!rv_test_driver_read_output(&r, d, "sapp-S-changelog")) {
        int32_t kl, vl;
        const uint8_t *k = rv_test_record_key(r, &kl);
        rv_test_record_value(r, &vl);
        assert_int_equal(kl, 17);
        assert_true(rv__be64(k + 1) >= rv__be64(k + 9)); /* end >= start */
        tombstones += vl < 0;
        n++;
        rv_test_record_destroy(r);
    }
    assert_int_equal(n, 8);
    assert_int_equal(tombstones, 3);
    rv_test_driver_destroy(d);
    rv_topology_destroy(t);
}

static void test_driver_rocksdb(void **state) {
    (void)state;
    run_driver(1, 0);
}
static void test_driver_rocksdb_cached(void **state) {
    (void)state;
    run_driver(1, 1);
}
static void test_driver_memory(void **state) {
    (void)state;
    run_driver(0, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_sessions, setup_rocksdb, teardown),
        cmocka_unit_test_setup_teardown(test_find_sessions, setup_memory, teardown),
        cmocka_unit_test_setup_teardown(test_find_sessions, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup_rocksdb, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup_memory, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_key_layout_and_restore, setup_stacked, teardown),
        cmocka_unit_test(test_driver_rocksdb),
        cmocka_unit_test(test_driver_rocksdb_cached),
        cmocka_unit_test(test_driver_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
