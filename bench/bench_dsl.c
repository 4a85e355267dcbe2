/* bench/bench_dsl.c: throughput of DSL programs on one stream thread and
 * the embedded broker.
 *
 *   word count   lines of 10 words from 10 K distinct words ->
 *                flat_map_values (split) -> group_by (word: through the
 *                repartition topic) -> count (RocksDB store, record cache
 *                on, changelogged) -> to_stream -> foreach. N words (N/10
 *                lines); timed from start until the table's last counts
 *                add up to N (the final cache flush included). Prints
 *                words/s.
 *   stream-table join  a 10 K-key table topic, then N stream records over
 *                those keys -> left_join_table (RocksDB table store) ->
 *                peek -> topic "joined"; timed until N joined records
 *                passed the peek (a left join, so a record the task reads
 *                before its table row still counts). Prints records/s.
 * Targets: word count >= 1 M words/s; join >= 500 K records/s.
 *
 *   bench_dsl [--records N] [--mode all|wordcount|join] [--dir DIR]
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/util/bench_util.h"
#include "common/clock.h"
#include "rivulet/rivulet.h"

#define WORDS 10000
#define WORDS_PER_LINE 10

static atomic_llong g_done; /* words counted / records joined */

/* ---- word count ---- */

static rv_err_t split_words(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                            int32_t value_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    const char *s = value;
    int32_t i = 0;
    while (i < value_len) {
        while (i < value_len && s[i] == ' ')
            i++;
        int32_t st = i;
        while (i < value_len && s[i] != ' ')
            i++;
        if (i > st) {
            rv_err_t err = rv_out_value(out, s + st, i - st);
            if (err)
                return err;
        }
    }
    return RV_ERR_NO_ERROR;
}

static rv_err_t word_as_key(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                            int32_t value_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    return rv_out_key(out, value, value_len);
}

/* Keeps each word's latest count; g_done is their sum, N once every word
 * was counted. Runs on the one stream thread. */
static int64_t g_counts[WORDS];

static rv_err_t track_count(const void *key, int32_t key_len, const void *value, int32_t value_len,
                            void *opaque) {
    (void)opaque, (void)value_len;
    if (!key || !value || key_len != 5)
        return RV_ERR_NO_ERROR;
    int w = atoi((const char *)key + 1);
    if (w < 0 || w >= WORDS)
        return RV_ERR_NO_ERROR;
    int64_t n = *(const int64_t *)value;
    atomic_fetch_add_explicit(&g_done, n - g_counts[w], memory_order_relaxed);
    g_counts[w] = n;
    return RV_ERR_NO_ERROR;
}

static rv_topology_t *word_count_topology(void) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"lines"};
    rv_kstream_t *words = rv_kstream_flat_map_values(rv_streams_builder_stream(b, topics, 1, NULL),
                                                     split_words, NULL, NULL);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "counts-store";
    rv_ktable_t *counts =
        rv_kgrouped_stream_count(rv_kstream_group_by(words, word_as_key, NULL, NULL), NULL, &m);
    rv_kstream_foreach(rv_ktable_to_stream(counts, NULL), track_count, NULL, NULL);
    return bench_build(b, "word count topology");
}

/* ---- stream-table join ---- */

static rv_err_t join_values(rv_out_t *out, const void *key, int32_t key_len, const void *left,
                            int32_t left_len, const void *right, int32_t right_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    char buf[256];
    int32_t n = left_len + 1 + right_len;
    if (n > (int32_t)sizeof buf)
        n = (int32_t)sizeof buf;
    if (right_len < 0) /* no table row yet */
        n = left_len;
    memcpy(buf, left, (size_t)(left_len < n ? left_len : n));
    if (left_len < n) {
        buf[left_len] = '+';
        memcpy(buf + left_len + 1, right, (size_t)(n - left_len - 1));
    }
    return rv_out_value(out, buf, n);
}

static rv_err_t count_joined(const void *key, int32_t key_len, const void *value, int32_t value_len,
                             void *opaque) {
    (void)key, (void)key_len, (void)value, (void)value_len, (void)opaque;
    atomic_fetch_add_explicit(&g_done, 1, memory_order_relaxed);
    return RV_ERR_NO_ERROR;
}

static rv_topology_t *join_topology(void) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"orders"};
    rv_kstream_t *orders = rv_streams_builder_stream(b, topics, 1, NULL);
    rv_ktable_t *customers = rv_streams_builder_table(b, "customers", NULL, NULL);
    rv_kstream_t *joined = rv_kstream_left_join_table(orders, customers, join_values, NULL, NULL);
    rv_kstream_to(rv_kstream_peek(joined, count_joined, NULL, NULL), "joined", NULL);
    return bench_build(b, "join topology");
}

/* ---- setup ---- */

/* The input records: make(i, key, value) writes NUL-terminated strings
 * into the record's buffers; all share one timestamp. */
typedef struct input_s {
    void (*make)(int64_t i, char *key, char *value);
    int64_t timestamp;
} input_t;

static void make_input(bench_record_t *r, int64_t i, void *opaque) {
    const input_t *in = opaque;
    in->make(i, r->key_buf, r->value_buf);
    r->key = r->key_buf;
    r->key_len = (int32_t)strlen(r->key_buf);
    r->value = r->value_buf;
    r->value_len = (int32_t)strlen(r->value_buf);
    r->timestamp = in->timestamp;
}

/* Appends n records made by make() to partition 0 of topic, all with
 * timestamp ts. */
static void produce(const bench_env_t *env, const char *topic, int64_t n, int64_t ts,
                    void (*make)(int64_t i, char *key, char *value)) {
    input_t in = {make, ts};
    bench_produce(env, topic, n, make_input, &in);
}

static void make_line(int64_t i, char *key, char *value) {
    snprintf(key, 32, "line%" PRId64, i);
    char *p = value;
    for (int w = 0; w < WORDS_PER_LINE; w++)
        p += sprintf(p, "%sw%04d", w ? " " : "", (int)bench_spread(i * WORDS_PER_LINE + w, WORDS));
}

static void make_customer(int64_t i, char *key, char *value) {
    snprintf(key, 32, "c%04d", (int)i);
    snprintf(value, 256, "customer-%04d-of-the-benchmark", (int)i);
}

static void make_order(int64_t i, char *key, char *value) {
    snprintf(key, 32, "c%04d", (int)bench_spread(i, WORDS));
    snprintf(value, 256, "order-%010" PRId64, i);
}

/* Runs the app until g_done reaches `want`; returns the seconds. */
static double run(const bench_env_t *env, const char *app_id, rv_topology_t *t, int64_t want) {
    memset(g_counts, 0, sizeof g_counts);
    return bench_run(bench_app_conf(env, app_id, "string"), t, &g_done, want, NULL);
}

int main(int argc, char **argv) {
    int64_t records = 10000000;
    const char *mode = "all";
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    bench_set_program("bench_dsl");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else {
            fprintf(stderr, "usage: bench_dsl [--records N] [--mode all|wordcount|join] "
                            "[--dir DIR]\n");
            return 2;
        }
    }
    if (records < WORDS_PER_LINE) {
        fprintf(stderr, "bench_dsl: --records must be at least %d\n", WORDS_PER_LINE);
        return 2;
    }
    records -= records % WORDS_PER_LINE;
    bool wc = !strcmp(mode, "all") || !strcmp(mode, "wordcount");
    bool join = !strcmp(mode, "all") || !strcmp(mode, "join");
    printf("bench_dsl: %" PRId64 " records, one stream thread, embedded broker\n", records);
    for (int r = 0; r < 2; r++) {
        if ((r == 0 && !wc) || (r == 1 && !join))
            continue;
        bench_env_t env;
        bench_env_open(&env, base, "dsl");
        int64_t now = rv__now_ms();
        rv_topology_t *t;
        double secs;
        if (r == 0) {
            bench_create_topic(&env, "lines", false);
            produce(&env, "lines", records / WORDS_PER_LINE, now, make_line);
            t = word_count_topology();
            secs = run(&env, "bench-dsl-wordcount", t, records);
            printf("word count (10 K distinct words):  %" PRId64
                   " words in %.2f s: %.0f words/s (%.0f lines/s)\n",
                   records, secs, (double)records / secs, (double)records / WORDS_PER_LINE / secs);
        } else {
            bench_create_topic(&env, "customers", false);
            bench_create_topic(&env, "orders", false);
            bench_create_topic(&env, "joined", false);
            /* The table first: older timestamps, so the task reads it
             * before the orders. */
            produce(&env, "customers", WORDS, now - 1000, make_customer);
            produce(&env, "orders", records, now, make_order);
            t = join_topology();
            secs = run(&env, "bench-dsl-join", t, records);
            printf("stream-table join (10 K-key table): %" PRId64
                   " records in %.2f s: %.0f records/s\n",
                   records, secs, (double)records / secs);
        }
        fflush(stdout);
        bench_env_close(&env);
    }
    return 0;
}
