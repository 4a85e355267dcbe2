/* bench/bench_stream_join.c: throughput of a stream-stream join on one
 * stream thread and the embedded broker.
 *
 *   N records: N/2 impressions and N/2 clicks over 10 K ad ids, one
 *   partition each, timestamps 1 ms apart on each topic (the click of
 *   record i has the key and timestamp of impression i, so each click
 *   meets exactly one impression inside the join window of +-1 s: other
 *   records of an ad are 10 s apart) -> join (JoinWindows 1 s, no grace;
 *   RocksDB window stores retaining duplicates, changelogged) -> peek ->
 *   topic "clicked". Timed from start until N/2 joined records passed the
 *   peek. Prints records/s (input records, both topics).
 *
 *   --left: the same with a left join (the outer store: every impression
 *   waits in it until its click comes).
 *
 *   bench_stream_join [--records N] [--left] [--dir DIR]
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/util/bench_util.h"
#include "common/clock.h"
#include "rivulet/rivulet.h"

#define KEYS 10000

static atomic_llong g_done; /* joined records */

static rv_err_t join_values(rv_out_t *out, const void *key, int32_t key_len, const void *left,
                            int32_t left_len, const void *right, int32_t right_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    char buf[256];
    if (left_len < 0 || right_len < 0 || left_len + right_len + 1 > (int32_t)sizeof buf)
        return rv_out_value(out, left ? left : right, left ? left_len : right_len);
    memcpy(buf, left, (size_t)left_len);
    buf[left_len] = '+';
    memcpy(buf + left_len + 1, right, (size_t)right_len);
    return rv_out_value(out, buf, left_len + 1 + right_len);
}

static rv_err_t count_joined(const void *key, int32_t key_len, const void *value, int32_t value_len,
                             void *opaque) {
    (void)key, (void)key_len, (void)value_len, (void)opaque;
    /* A left join's "impression+click" counts; an unmatched one does not. */
    if (value && memchr(value, '+', (size_t)value_len))
        atomic_fetch_add_explicit(&g_done, 1, memory_order_relaxed);
    return RV_ERR_NO_ERROR;
}

static rv_topology_t *join_topology(bool left) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *ti[] = {"impressions"}, *tc[] = {"clicks"};
    rv_kstream_t *impressions = rv_streams_builder_stream(b, ti, 1, NULL);
    rv_kstream_t *clicks = rv_streams_builder_stream(b, tc, 1, NULL);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(1000, 0);
    rv_kstream_t *joined =
        left ? rv_kstream_left_join(impressions, clicks, join_values, NULL, &w, NULL)
             : rv_kstream_join(impressions, clicks, join_values, NULL, &w, NULL);
    rv_kstream_to(rv_kstream_peek(joined, count_joined, NULL, NULL), "clicked", NULL);
    return bench_build(b, "topology");
}

/* The records of one topic: key "ad<spread(i)>", value "<prefix><i>",
 * timestamp ts0 + i. */
typedef struct input_s {
    const char *prefix;
    int64_t ts0;
} input_t;

static void make_input(bench_record_t *r, int64_t i, void *opaque) {
    const input_t *in = opaque;
    r->key_len = snprintf(r->key_buf, sizeof r->key_buf, "ad%04d", (int)bench_spread(i, KEYS));
    r->value_len = snprintf(r->value_buf, sizeof r->value_buf, "%s%010" PRId64, in->prefix, i);
    r->key = r->key_buf;
    r->value = r->value_buf;
    r->timestamp = in->ts0 + i;
}

static void produce(const bench_env_t *env, const char *topic, const char *prefix, int64_t n,
                    int64_t ts0) {
    input_t in = {prefix, ts0};
    bench_produce(env, topic, n, make_input, &in);
}

int main(int argc, char **argv) {
    int64_t records = 10000000;
    bool left = false;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    bench_set_program("bench_stream_join");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--left") == 0)
            left = true;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else {
            fprintf(stderr, "usage: bench_stream_join [--records N] [--left] [--dir DIR]\n");
            return 2;
        }
    }
    if (records < 2) {
        fprintf(stderr, "bench_stream_join: --records must be at least 2\n");
        return 2;
    }
    int64_t half = records / 2;
    records = half * 2;
    printf("bench_stream_join: %" PRId64 " records, one stream thread, embedded broker\n", records);
    bench_env_t env;
    bench_env_open(&env, base, "sjoin");
    /* Recent timestamps: the window stores' changelogs delete by time. */
    int64_t ts0 = rv__now_ms() - half;
    bench_create_topic(&env, "impressions", false);
    bench_create_topic(&env, "clicks", false);
    bench_create_topic(&env, "clicked", false);
    produce(&env, "impressions", "imp-", half, ts0);
    produce(&env, "clicks", "clk-", half, ts0);
    rv_topology_t *t = join_topology(left);
    double secs = bench_run(bench_app_conf(&env, "bench-join", "string"), t, &g_done, half, NULL);
    printf("stream-stream %s join (10 K keys, 1 s window): %" PRId64
           " records in %.2f s: %.0f records/s\n",
           left ? "left" : "inner", records, secs, (double)records / secs);
    fflush(stdout);
    bench_env_close(&env);
    return 0;
}
