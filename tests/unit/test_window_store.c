/* tests/unit/test_window_store.c: window stores (state/window_store.c over
 * state/segmented_store.c), persistent in a temporary folder, in memory,
 * and under the changelog and cache wrappers the runtime stacks on them:
 * put / fetch / backward fetch / key ranges / all, segments rolled and
 * dropped by retention (folders removed), expired puts skipped, retained
 * duplicates, byte-exact keys of the changelog, restoration from those
 * records, builder defaults, and the store used from a processor through
 * the test driver (caching on and off) and from a running app whose state
 * folder is wiped and restored from the changelog. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#include "common/buf.h"
#include "common/clock.h"
#include "rivulet/rivulet.h"
#include "state/store_internal.h"

typedef enum { K_ROCKSDB, K_MEMORY, K_STACKED } kind_t;

/* Changelog records captured by the wrapper of K_STACKED stores. */
typedef struct cap_s {
    rv__buf_t keys[64], values[64];
    int tomb[64];
    int n;
} cap_t;

typedef struct fx_s {
    kind_t kind;
    char *dir;
    rv_kv_store_t *s;
    cap_t cap;
} fx_t;

static rv_err_t capture(const void *k, size_t kl, const void *v, size_t vl, void *opaque) {
    cap_t *c = opaque;
    if (c->n >= 64)
        return RV_ERR_NO_ERROR;
    rv__buf_init(&c->keys[c->n]);
    rv__buf_init(&c->values[c->n]);
    rv__buf_append(&c->keys[c->n], k, kl);
    if (v)
        rv__buf_append(&c->values[c->n], v, vl);
    c->tomb[c->n] = v == NULL;
    c->n++;
    return RV_ERR_NO_ERROR;
}

static void cap_free(cap_t *c) {
    for (int i = 0; i < c->n; i++) {
        rv__buf_free(&c->keys[i]);
        rv__buf_free(&c->values[i]);
    }
    c->n = 0;
}

/* Opens builder b's store the way `kind` says: K_STACKED is RocksDB under
 * a changelog wrapper (capturing into fx->cap) and a record cache. */
static rv_kv_store_t *open_store(fx_t *fx, rv_store_builder_t *b) {
    char err[1024] = "";
    rv_kv_store_t *s = NULL;
    if (rv_store_builder_build(&s, b, fx->dir, err, sizeof err))
        fail_msg("build: %s", err);
    if (fx->kind == K_STACKED) {
        rv_kv_store_t *w;
        assert_int_equal(rv__changelog_wrap(&w, s, capture, &fx->cap), 0);
        assert_int_equal(rv__cache_wrap(&s, w, 1 << 20, NULL, NULL), 0);
    }
    return s;
}

static rv_store_builder_t *window_builder(fx_t *fx, const char *name, int64_t retention,
                                          int64_t size, int dups) {
    return fx->kind == K_MEMORY ? rv_store_builder_in_memory_window(name, retention, size, dups)
                                : rv_store_builder_persistent_window(name, retention, size, dups);
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
    cap_free(&fx->cap);
    rvt_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void put(rv_kv_store_t *s, const char *k, int64_t ts, const char *v) {
    assert_int_equal(rv_window_store_put(s, k, strlen(k), v, v ? strlen(v) : 0, ts), 0);
}

/* "key@start=value " for every window of the iterator; destroys it. */
static void drain(char *out, size_t size, rv_window_iter_t *it) {
    out[0] = '\0';
    int r;
    while ((r = rv_window_iter_next(it)) == 1) {
        size_t kl, vl;
        const char *k = rv_window_iter_key(it, &kl);
        const char *v = rv_window_iter_value(it, &vl);
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%.*s@%" PRId64 "=%.*s ", (int)kl, k,
                 rv_window_iter_window_start(it), (int)vl, v);
    }
    assert_int_equal(r, 0);
    rv_window_iter_destroy(it);
}

static void fetch_s(char *out, size_t size, rv_kv_store_t *s, const char *k, int64_t from,
                    int64_t to, int backward) {
    rv_window_iter_t *it;
    if (backward)
        assert_int_equal(rv_window_store_backward_fetch(&it, s, k, strlen(k), from, to), 0);
    else
        assert_int_equal(rv_window_store_fetch(&it, s, k, strlen(k), from, to), 0);
    drain(out, size, it);
}

/* ---- put, fetch, ranges ---- */

static void test_put_fetch(void **state) {
    fx_t *fx = *state;
    rv_store_builder_t *b = window_builder(fx, "W", 600000, 10, 0);
    fx->s = open_store(fx, b);
    rv_store_builder_destroy(b);
    rv_kv_store_t *s = fx->s;
    char got[1024];
    put(s, "a", 20, "a20");
    put(s, "a", 0, "a0");
    put(s, "a", 10, "a10");
    /* "a\0..." and "ab" share bytes with "a"'s keys: never confused. */
    assert_int_equal(rv_window_store_put(s, "a\0\0\0\0\0\0\0\x0f", 9, "z", 1, 5), 0);
    put(s, "ab", 5, "ab5");
    put(s, "b", 15, "b15");
    put(s, "c", 0, "c0");

    fetch_s(got, sizeof got, s, "a", 0, 20, 0);
    assert_string_equal(got, "a@0=a0 a@10=a10 a@20=a20 ");
    fetch_s(got, sizeof got, s, "a", 5, 15, 0);
    assert_string_equal(got, "a@10=a10 ");
    fetch_s(got, sizeof got, s, "a", 0, 100, 1);
    assert_string_equal(got, "a@20=a20 a@10=a10 a@0=a0 ");
    fetch_s(got, sizeof got, s, "zz", 0, 100, 0);
    assert_string_equal(got, "");
    fetch_s(got, sizeof got, s, "a", 30, 20, 0); /* to < from */
    assert_string_equal(got, "");

    rv_bytes_t v;
    assert_int_equal(rv_window_store_fetch_value(&v, s, "a", 1, 10), 0);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.data, "a10", 3);
    rv_bytes_free(&v);
    assert_int_equal(rv_window_store_fetch_value(&v, s, "a", 1, 11), RV_ERR__NOENT);

    rv_window_iter_t *it;
    assert_int_equal(rv_window_store_fetch_range(&it, s, "a", 1, "b", 1, 0, 15), 0);
    int n = 0;
    const char *want_keys[] = {"a", "a", "a\0\0\0\0\0\0\0\x0f", "ab", "b"};
    size_t want_len[] = {1, 1, 9, 2, 1};
    int64_t want_ts[] = {0, 10, 5, 5, 15};
    while (rv_window_iter_next(it) == 1) {
        size_t kl;
        const void *k = rv_window_iter_key(it, &kl);
        assert_true(n < 5);
        assert_int_equal(kl, want_len[n]);
        assert_memory_equal(k, want_keys[n], kl);
        assert_int_equal(rv_window_iter_window_start(it), want_ts[n]);
        n++;
    }
    assert_int_equal(n, 5);
    rv_window_iter_destroy(it);

    assert_int_equal(rv_window_store_fetch_range(&it, s, "ab", 2, "c", 1, 0, 100), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "ab@5=ab5 b@15=b15 c@0=c0 ");
    assert_int_equal(rv_window_store_fetch_range(&it, s, "c", 1, "a", 1, 0, 100), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, ""); /* from > to */
    assert_int_equal(rv_window_store_fetch_range(&it, s, NULL, 0, "ab", 2, 5, 10), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "a@10=a10 a@5=z ab@5=ab5 "); /* %.*s stops at the NUL */

    assert_int_equal(rv_window_store_fetch_all(&it, s, 5, 10), 0);
    n = 0;
    while (rv_window_iter_next(it) == 1)
        n++;
    rv_window_iter_destroy(it);
    assert_int_equal(n, 3); /* a@10, a\0..@5, ab@5 */
    assert_int_equal(rv_window_store_all(&it, s), 0);
    n = 0;
    while (rv_window_iter_next(it) == 1)
        n++;
    rv_window_iter_destroy(it);
    assert_int_equal(n, 7);

    /* A NULL value deletes the window. */
    put(s, "a", 10, NULL);
    fetch_s(got, sizeof got, s, "a", 0, 20, 0);
    assert_string_equal(got, "a@0=a0 a@20=a20 ");
    /* An update replaces the window's value. */
    put(s, "a", 20, "new");
    fetch_s(got, sizeof got, s, "a", 0, 20, 0);
    assert_string_equal(got, "a@0=a0 a@20=new ");
}

/* ---- segments and retention ---- */

static int exists(const char *dir, const char *sub) {
    char p[4400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    return stat(p, &st) == 0;
}

static void test_segments_retention(void **state) {
    fx_t *fx = *state;
    /* retention 120000: segment interval max(60000, 60000) = 60000. */
    rv_store_builder_t *b = window_builder(fx, "W", 120000, 1000, 0);
    fx->s = open_store(fx, b);
    rv_kv_store_t *s = fx->s;
    char got[1024];
    put(s, "a", 0, "0");
    put(s, "a", 60000, "60000");
    put(s, "a", 120000, "120000");
    if (fx->kind == K_STACKED)
        assert_int_equal(rv_kv_store_flush(s), 0); /* cache -> segments */
    if (fx->kind != K_MEMORY) {
        assert_true(exists(fx->dir, "W/W.0"));
        assert_true(exists(fx->dir, "W/W.60000"));
        assert_true(exists(fx->dir, "W/W.120000"));
    }
    /* Stream time 120000: window 0 is older than 120000 - 120000 + 1, so
     * reads skip it although its segment is still there. */
    fetch_s(got, sizeof got, s, "a", 0, INT64_MAX, 0);
    assert_string_equal(got, "a@60000=60000 a@120000=120000 ");

    /* Stream time 180000: segment 0 ends before 180000 - 120000 and goes;
     * reads start at 180000 - 120000 + 1 (Kafka's getActualFrom). */
    put(s, "a", 180000, "180000");
    if (fx->kind == K_STACKED)
        assert_int_equal(rv_kv_store_flush(s), 0);
    if (fx->kind != K_MEMORY) {
        assert_false(exists(fx->dir, "W/W.0"));
        assert_true(exists(fx->dir, "W/W.60000"));
        assert_true(exists(fx->dir, "W/W.180000"));
    }
    fetch_s(got, sizeof got, s, "a", 0, INT64_MAX, 0);
    assert_string_equal(got, "a@120000=120000 a@180000=180000 ");
    fetch_s(got, sizeof got, s, "a", 0, INT64_MAX, 1);
    assert_string_equal(got, "a@180000=180000 a@120000=120000 ");
    rv_bytes_t v;
    assert_int_equal(rv_window_store_fetch_value(&v, s, "a", 1, 60000), RV_ERR__NOENT);

    /* A put into the dropped segment is skipped and creates nothing. */
    put(s, "b", 30000, "old");
    if (fx->kind == K_STACKED)
        assert_int_equal(rv_kv_store_flush(s), 0);
    if (fx->kind != K_MEMORY)
        assert_false(exists(fx->dir, "W/W.0"));
    rv_window_iter_t *it;
    assert_int_equal(rv_window_store_all(&it, s), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "a@120000=120000 a@180000=180000 ");
    int64_t cnt = rv_kv_store_approximate_num_entries(s);
    if (fx->kind == K_MEMORY)
        assert_int_equal(cnt, 3); /* 60000, 120000, 180000 still held */

    /* The in-memory store also skips a put at <= stream time - retention
     * inside a live segment, as Kafka's InMemoryWindowStore. */
    put(s, "c", 60000, "edge");
    if (fx->kind == K_STACKED)
        assert_int_equal(rv_kv_store_flush(s), 0);
    assert_int_equal(rv_kv_store_approximate_num_entries(s), cnt + (fx->kind == K_MEMORY ? 0 : 1));

    if (fx->kind == K_ROCKSDB) {
        /* Reopen: the segment folders come back; stream time starts over at
         * -1 (Kafka), so every window still on disk is read. */
        rv_kv_store_destroy(fx->s);
        fx->s = s = open_store(fx, b);
        fetch_s(got, sizeof got, s, "a", 0, INT64_MAX, 0);
        assert_string_equal(got, "a@60000=60000 a@120000=120000 a@180000=180000 ");
        put(s, "a", 300000, "300000"); /* drops 60000 and 120000 */
        assert_false(exists(fx->dir, "W/W.60000"));
        assert_false(exists(fx->dir, "W/W.120000"));
        assert_true(exists(fx->dir, "W/W.180000"));
        fetch_s(got, sizeof got, s, "a", 0, INT64_MAX, 0);
        assert_string_equal(got, "a@300000=300000 "); /* 180000 < 300000 - 120000 + 1 */
    }
    rv_store_builder_destroy(b);
}

/* Multi-key reads go segment by segment (Kafka's RocksDB order). */
static void test_segment_order(void **state) {
    fx_t *fx = *state;
    rv_store_builder_t *b = window_builder(fx, "W", 120000, 1000, 0);
    fx->s = open_store(fx, b);
    rv_store_builder_destroy(b);
    put(fx->s, "b", 1000, "1");
    put(fx->s, "a", 61000, "2");
    put(fx->s, "b", 62000, "3");
    put(fx->s, "a", 2000, "4");
    char got[512];
    rv_window_iter_t *it;
    assert_int_equal(rv_window_store_all(&it, fx->s), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "a@2000=4 b@1000=1 a@61000=2 b@62000=3 ");
    assert_int_equal(rv_window_store_fetch_all(&it, fx->s, 1500, 61500), 0);
    drain(got, sizeof got, it);
    assert_string_equal(got, "a@2000=4 a@61000=2 ");
    fetch_s(got, sizeof got, fx->s, "b", 0, 100000, 0);
    assert_string_equal(got, "b@1000=1 b@62000=3 ");
}

/* ---- duplicates ---- */

static void test_retain_duplicates(void **state) {
    fx_t *fx = *state;
    rv_store_builder_t *b = window_builder(fx, "D", 600000, 100, 1);
    rv_store_builder_with_caching_enabled(b); /* refused, as Kafka */
    assert_int_equal(rv_store_builder_caching_enabled(b), 0);
    fx->s = open_store(fx, b);
    rv_store_builder_destroy(b);
    rv_kv_store_t *s = fx->s;
    put(s, "a", 0, "one");
    put(s, "a", 0, "two");
    put(s, "a", 0, NULL); /* a no-op */
    put(s, "a", 0, "two");
    char got[512];
    fetch_s(got, sizeof got, s, "a", 0, 0, 0);
    assert_string_equal(got, "a@0=one a@0=two a@0=two ");
    /* Sequence numbers 1, 2, 3 in the keys. */
    rv_kv_iter_t *ki;
    assert_int_equal(rv_kv_store_all(&ki, s), 0);
    uint32_t seq = 0;
    while (rv_kv_iter_next(ki) == 1) {
        size_t kl;
        const uint8_t *k = rv_kv_iter_key(ki, &kl);
        assert_int_equal(kl, 13);
        assert_int_equal(rv__be32(k + 9), ++seq);
    }
    rv_kv_iter_destroy(ki);
    assert_int_equal(seq, 3);
    if (fx->kind == K_STACKED) {
        /* Every put was logged (the keys differ, so the cache merges
         * nothing), none was a delete. */
        assert_int_equal(rv_kv_store_flush(s), 0);
        assert_int_equal(fx->cap.n, 3);
        for (int i = 0; i < 3; i++)
            assert_false(fx->cap.tomb[i]);
    }
}

/* ---- layouts, changelog, restoration ---- */

static void test_key_layout_and_restore(void **state) {
    fx_t *fx = *state; /* K_STACKED */
    rv_store_builder_t *b = window_builder(fx, "W", 100000000, 100, 0);
    fx->s = open_store(fx, b);
    put(fx->s, "key", 0x01020304, "v1");
    put(fx->s, "k2", 7, "v2");
    put(fx->s, "k2", 7, NULL);
    put(fx->s, "k2", 9, "v3");
    assert_int_equal(rv_kv_store_flush(fx->s), 0); /* the cache logs on flush */
    assert_int_equal(fx->cap.n, 3);                /* k2@7 collapsed in the cache */
    /* Kafka's WindowKeySchema.toStoreKeyBinary: key, BE start, BE seqnum. */
    static const uint8_t k0[] = {'k', 'e', 'y', 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0};
    int found = 0;
    for (int i = 0; i < fx->cap.n; i++) {
        if (fx->cap.keys[i].len == sizeof k0 && !memcmp(fx->cap.keys[i].data, k0, sizeof k0)) {
            found = 1;
            assert_memory_equal(fx->cap.values[i].data, "v1", 2);
        }
        /* Decode each key as a reader of the changelog would. */
        size_t kl = fx->cap.keys[i].len;
        assert_true(kl >= 12);
        int64_t ts = (int64_t)rv__be64(fx->cap.keys[i].data + kl - 12);
        assert_true(ts == 0x01020304 || ts == 7 || ts == 9);
        assert_int_equal(rv__be32(fx->cap.keys[i].data + kl - 4), 0);
    }
    assert_true(found);

    /* Restore the captured records into a fresh store of the same builder,
     * as the runtime does: straight into the innermost store. */
    char dir2[4400];
    snprintf(dir2, sizeof dir2, "%s/other", fx->dir);
    rv_kv_store_t *r = NULL;
    char err[512];
    assert_int_equal(rv_store_builder_build(&r, b, dir2, err, sizeof err), 0);
    rv_kv_entry_t e[64];
    for (int i = 0; i < fx->cap.n; i++) {
        e[i].key = fx->cap.keys[i].data;
        e[i].key_len = fx->cap.keys[i].len;
        e[i].value =
            fx->cap.tomb[i] ? NULL : (fx->cap.values[i].data ? (void *)fx->cap.values[i].data : "");
        e[i].value_len = fx->cap.values[i].len;
    }
    assert_int_equal(rv__store_restore_batch(r, e, (size_t)fx->cap.n), 0);
    char got[512];
    fetch_s(got, sizeof got, r, "k2", 0, 100, 0);
    assert_string_equal(got, "k2@9=v3 ");
    fetch_s(got, sizeof got, r, "key", 0, INT64_MAX, 0);
    assert_string_equal(got, "key@16909060=v1 ");
    rv_kv_store_destroy(r);
    rv_store_builder_destroy(b);
}

/* ---- builders and misuse ---- */

static const char *cfg_get(const rv_store_builder_t *b, const char *name) {
    size_t n;
    const char *const *c = rv_store_builder_logging_config(b, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(c[2 * i], name))
            return c[2 * i + 1];
    return NULL;
}

static void test_builders(void **state) {
    fx_t *fx = *state;
    rv_store_builder_t *b = rv_store_builder_persistent_window("W", 3600000, 60000, 0);
    assert_non_null(b);
    assert_int_equal(rv_store_builder_persistent(b), 1);
    assert_int_equal(rv_store_builder_logging_enabled(b), 1);
    assert_int_equal(rv_store_builder_caching_enabled(b), 0);
    assert_string_equal(cfg_get(b, "cleanup.policy"), "compact,delete");
    assert_string_equal(cfg_get(b, "retention.ms"), "90000000");
    /* The caller's configs override those keys only. */
    const char *cfg[] = {"retention.ms", "5", "segment.bytes", "1048576"};
    assert_int_equal(rv_store_builder_with_logging_enabled(b, cfg, 2), 0);
    assert_string_equal(cfg_get(b, "retention.ms"), "5");
    assert_string_equal(cfg_get(b, "segment.bytes"), "1048576");
    assert_string_equal(cfg_get(b, "cleanup.policy"), "compact,delete");
    rv_store_builder_with_caching_enabled(b);
    assert_int_equal(rv_store_builder_caching_enabled(b), 1);
    rv_store_builder_destroy(b);

    b = rv_store_builder_in_memory_window("D", 1000, 10, 1);
    assert_int_equal(rv_store_builder_persistent(b), 0);
    assert_string_equal(cfg_get(b, "cleanup.policy"), "delete");
    assert_string_equal(cfg_get(b, "retention.ms"), "86401000");
    rv_store_builder_destroy(b);
    b = rv_store_builder_persistent_session("S", 0);
    assert_string_equal(cfg_get(b, "retention.ms"), "86400000");
    rv_store_builder_destroy(b);

    assert_null(rv_store_builder_persistent_window("W", 10, 11, 0)); /* size > retention */
    assert_null(rv_store_builder_persistent_window("W", -1, 0, 0));
    assert_null(rv_store_builder_in_memory_window("W", 10, -1, 0));
    assert_null(rv_store_builder_persistent_window("bad/name", 10, 1, 0));
    assert_null(rv_store_builder_in_memory_session("S", -5));

    /* Window functions on a key-value store or a session store. */
    char err[512];
    rv_store_builder_t *kvb = rv_store_builder_in_memory_kv("KV");
    rv_kv_store_t *kv;
    assert_int_equal(rv_store_builder_build(&kv, kvb, fx->dir, err, sizeof err), 0);
    assert_int_equal(rv_window_store_put(kv, "a", 1, "v", 1, 0), RV_ERR__INVALID_ARG);
    rv_window_iter_t *it = (void *)1;
    assert_int_equal(rv_window_store_all(&it, kv), RV_ERR__INVALID_ARG);
    assert_null(it);
    rv_kv_store_destroy(kv);
    rv_store_builder_destroy(kvb);
    rv_store_builder_t *sb = rv_store_builder_in_memory_session("S", 1000);
    assert_int_equal(rv_store_builder_build(&kv, sb, fx->dir, err, sizeof err), 0);
    assert_int_equal(rv_window_store_put(kv, "a", 1, "v", 1, 0), RV_ERR__INVALID_ARG);
    rv_kv_store_destroy(kv);
    rv_store_builder_destroy(sb);

    /* Negative window starts are refused; a closed store ends iterators. */
    b = rv_store_builder_in_memory_window("W", 1000, 10, 0);
    assert_int_equal(rv_store_builder_build(&kv, b, fx->dir, err, sizeof err), 0);
    assert_int_equal(rv_window_store_put(kv, "a", 1, "v", 1, -1), RV_ERR__INVALID_ARG);
    put(kv, "a", 1, "v");
    assert_int_equal(rv_window_store_fetch(&it, kv, "a", 1, 0, 10), 0);
    rv_kv_store_destroy(kv);
    assert_int_equal(rv_window_iter_next(it), RV_ERR__STATE);
    rv_window_iter_destroy(it);
    rv_store_builder_destroy(b);
}

/* ---- Processor API through the test driver ---- */

/* Puts each record in window [ts - ts % 100, +100) of store "W"; a value
 * "?" instead forwards the key's windows as "start=value;..." */
static rv_err_t win_process(rv_processor_context_t *ctx, const rv_processor_record_t *r,
                            void *state) {
    (void)state;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, "W");
    if (!s)
        return RV_ERR__STATE;
    char out[1024] = "";
    if (r->value_len == 1 && !memcmp(r->value, "?", 1)) {
        rv_window_iter_t *it;
        rv_err_t err = rv_window_store_fetch(&it, s, r->key, (size_t)r->key_len, 0, r->timestamp);
        if (err)
            return err;
        while (rv_window_iter_next(it) == 1) {
            size_t vl, used = strlen(out);
            const char *v = rv_window_iter_value(it, &vl);
            snprintf(out + used, sizeof out - used, "%" PRId64 "=%.*s;",
                     rv_window_iter_window_start(it), (int)vl, v);
        }
        rv_window_iter_destroy(it);
    } else {
        int64_t start = r->timestamp - r->timestamp % 100;
        rv_err_t err = rv_window_store_put(s, r->key, (size_t)r->key_len, r->value,
                                           (size_t)r->value_len, start);
        if (err)
            return err;
        /* Read back at once: with caching, the window is only in the cache. */
        rv_bytes_t v;
        err = rv_window_store_fetch_value(&v, s, r->key, (size_t)r->key_len, start);
        if (err)
            return err;
        snprintf(out, sizeof out, "put %" PRId64 "=%.*s", start, (int)v.len, (char *)v.data);
        rv_bytes_free(&v);
    }
    rv_processor_record_t o = {r->key,       r->key_len, out, (int32_t)strlen(out),
                               r->timestamp, NULL,       0};
    return rv_processor_context_forward(ctx, &o);
}

static rv_err_t win_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = win_process;
    return 0;
}

static rv_topology_t *win_topology(rv_store_builder_t *b) {
    char err[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = win_get;
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
    return t;
}

static void read_value(char *buf, size_t size, rv_test_driver_t *d, const char *topic) {
    rv_test_record_t *r;
    buf[0] = '\0';
    if (rv_test_driver_read_output(&r, d, topic))
        return;
    int32_t vl;
    const char *v = rv_test_record_value(r, &vl);
    snprintf(buf, size, "%.*s", vl < 0 ? 0 : (int)vl, v ? v : "");
    rv_test_record_destroy(r);
}

static void run_driver(int persistent, int caching) {
    char err[1024], buf[1024];
    rv_store_builder_t *b = persistent ? rv_store_builder_persistent_window("W", 600000, 100, 0)
                                       : rv_store_builder_in_memory_window("W", 600000, 100, 0);
    if (caching)
        rv_store_builder_with_caching_enabled(b);
    rv_topology_t *t = win_topology(b);
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "application.id", "wapp", err, sizeof err), 0);
    rv_test_driver_t *d = rv_test_driver_new(t, c, 0, err, sizeof err);
    if (!d)
        fail_msg("driver: %s", err);
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "k", 1, "x", 1, 150, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "k", 1, "y", 1, 170, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "k", 1, "z", 1, 420, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "j", 1, "w", 1, 430, NULL, 0), 0);
    assert_int_equal(rv_test_driver_pipe_input(d, "in", "k", 1, "?", 1, 500, NULL, 0), 0);
    read_value(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "put 100=x");
    read_value(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "put 100=y");
    read_value(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "put 400=z");
    read_value(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "put 400=w");
    read_value(buf, sizeof buf, d, "out");
    assert_string_equal(buf, "100=y;400=z;");

    /* The changelog holds Kafka's window keys. */
    rv_test_record_t *r;
    assert_int_equal(rv_test_driver_read_output(&r, d, "wapp-W-changelog"), 0);
    int32_t kl, vl;
    const uint8_t *k = rv_test_record_key(r, &kl);
    const char *v = rv_test_record_value(r, &vl);
    assert_int_equal(kl, 13);
    assert_int_equal(k[0], 'k');
    assert_int_equal(rv__be64(k + 1), 100);
    assert_int_equal(rv__be32(k + 9), 0);
    assert_int_equal(vl, 1);
    assert_memory_equal(v, "x", 1);
    assert_int_equal(rv_test_record_timestamp(r), 150);
    rv_test_record_destroy(r);

    /* The store as the driver shows it reads the same. */
    rv_kv_store_t *s = rv_test_driver_get_kv_store(d, "W");
    assert_non_null(s);
    rv_window_iter_t *it;
    assert_int_equal(rv_window_store_fetch_all(&it, s, 0, 1000), 0);
    drain(buf, sizeof buf, it);
    assert_string_equal(buf, "j@400=w k@100=y k@400=z ");
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
static void test_driver_memory_cached(void **state) {
    (void)state;
    run_driver(0, 1);
}

/* ---- A running app restores its window store from the changelog ---- */

static rv_conf_t *app_conf(const char *bs, const char *state_dir) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", bs, err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "application.id", "wrestore", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", state_dir, err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "3000", err, sizeof err), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "200", err, sizeof err), 0);
    return c;
}

static void produce(const char *bs, const char *key, const char *value, int64_t ts) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", bs, err, sizeof err), 0);
    rv_producer_t *p = rv_producer_new(c, err, sizeof err);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = "in";
    r.partition = 0;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, err, sizeof err), 0);
    rv_producer_destroy(p);
}

/* Reads topic "out" from the start until `want` values arrived; the last
 * one into last. */
static int read_out(const char *bs, int want, char *last, size_t size) {
    char err[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", bs, err, sizeof err), 0);
    rv_consumer_t *cs = rv_consumer_new(c, err, sizeof err);
    assert_non_null(cs);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(l, "out", 0), RV_OFFSET_BEGINNING);
    assert_int_equal(rv_consumer_assign(cs, l), 0);
    rv_topic_partition_list_destroy(l);
    int got = 0;
    int64_t until = rv__mono_ms() + 15000;
    while (got < want && rv__mono_ms() < until) {
        rv_records_t *rs = NULL;
        if (rv_consumer_poll(cs, 50, &rs))
            continue;
        for (size_t i = 0; i < rv_records_count(rs); i++) {
            int32_t vl;
            const char *v = rv_record_value(rv_records_get(rs, i), &vl);
            snprintf(last, size, "%.*s", (int)vl, v);
            got++;
        }
        rv_records_destroy(rs);
    }
    rv_consumer_destroy(cs);
    return got;
}

static void run_app(rv_topology_t *t, const char *bs, const char *state_dir, int want, char *last,
                    size_t size) {
    char err[1024];
    rv_streams_t *s = rv_streams_new(t, app_conf(bs, state_dir), err, sizeof err);
    if (!s)
        fail_msg("rv_streams_new: %s", err);
    if (rv_streams_start(s, err, sizeof err))
        fail_msg("rv_streams_start: %s", err);
    assert_int_equal(read_out(bs, want, last, size), want);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
}

static void test_app_restore(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char err[512], sd[4400], last[1024];
    rv_broker_t *broker;
    assert_int_equal(rv_broker_open(&broker, dir, err, sizeof err), 0);
    const char *bs = rvt_bootstrap(dir);
    snprintf(sd, sizeof sd, "%s/state", dir);
    rv_conf_t *ac = rv_conf_new();
    assert_int_equal(rv_conf_set(ac, "bootstrap.servers", bs, err, sizeof err), 0);
    rv_admin_t *a = rv_admin_new(ac, err, sizeof err);
    const char *n[] = {"retention.ms"}, *v[] = {"-1"};
    assert_int_equal(rv_admin_create_topic(a, "in", 1, -1, n, v, 1, err, sizeof err), 0);
    assert_int_equal(rv_admin_create_topic(a, "out", 1, -1, n, v, 1, err, sizeof err), 0);

    /* Timestamps near now: the changelog keeps retention + one day. */
    int64_t base = rv__now_ms() / 100 * 100;
    rv_store_builder_t *b = rv_store_builder_persistent_window("W", 600000, 100, 0);
    rv_store_builder_with_caching_enabled(b);
    rv_topology_t *t = win_topology(b);
    produce(bs, "k", "x", base + 10);
    produce(bs, "k", "y", base + 220);
    produce(bs, "k", "z", base + 250);
    run_app(t, bs, sd, 3, last, sizeof last);

    /* The changelog topic has Kafka's windowed configs. */
    rv_config_list_t *cl = NULL;
    assert_int_equal(rv_admin_describe_configs(a, "wrestore-W-changelog", &cl, err, sizeof err), 0);
    assert_string_equal(rv_config_list_get(cl, "cleanup.policy"), "compact,delete");
    assert_string_equal(rv_config_list_get(cl, "retention.ms"), "87000000");
    rv_config_list_destroy(cl);

    /* Wipe the state folder: the windows come back from the changelog. */
    rvt_rmtree(sd);
    produce(bs, "k", "?", base + 300);
    run_app(t, bs, sd, 4, last, sizeof last);
    char want[256];
    snprintf(want, sizeof want, "%" PRId64 "=x;%" PRId64 "=z;", base, base + 200);
    assert_string_equal(last, want);
    /* A restart that keeps the state folder reopens the segments (and
     * replays only the changelog's tail after the checkpoint). */
    produce(bs, "k", "?", base + 310);
    run_app(t, bs, sd, 5, last, sizeof last);
    assert_string_equal(last, want);
    /* The segment folder is Kafka's: <task>/W/W.<segment start>. */
    char seg[4600];
    int64_t interval = 300000;
    snprintf(seg, sizeof seg, "%s/wrestore/0_0/W/W.%" PRId64, sd, base / interval * interval);
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);

    rv_admin_destroy(a);
    rv_topology_destroy(t);
    rv_broker_close(broker);
    rvt_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_fetch, setup_rocksdb, teardown),
        cmocka_unit_test_setup_teardown(test_put_fetch, setup_memory, teardown),
        cmocka_unit_test_setup_teardown(test_put_fetch, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_segments_retention, setup_rocksdb, teardown),
        cmocka_unit_test_setup_teardown(test_segments_retention, setup_memory, teardown),
        cmocka_unit_test_setup_teardown(test_segments_retention, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_segment_order, setup_rocksdb, teardown),
        cmocka_unit_test_setup_teardown(test_segment_order, setup_memory, teardown),
        cmocka_unit_test_setup_teardown(test_segment_order, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_retain_duplicates, setup_rocksdb, teardown),
        cmocka_unit_test_setup_teardown(test_retain_duplicates, setup_memory, teardown),
        cmocka_unit_test_setup_teardown(test_retain_duplicates, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_key_layout_and_restore, setup_stacked, teardown),
        cmocka_unit_test_setup_teardown(test_builders, setup_memory, teardown),
        cmocka_unit_test(test_driver_rocksdb),
        cmocka_unit_test(test_driver_rocksdb_cached),
        cmocka_unit_test(test_driver_memory_cached),
        cmocka_unit_test(test_app_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
