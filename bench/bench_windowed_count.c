/* bench/bench_windowed_count.c: throughput of a tumbling-window count on
 * one stream thread and the embedded broker.
 *
 *   N records of 100-byte values over 10 K keys, timestamps rising evenly
 *   over ten minutes -> group_by_key -> windowed_by(tumbling 1-minute
 *   windows) -> count (RocksDB window store, record cache on,
 *   changelogged) -> to_stream -> foreach. Timed from start until the
 *   latest count of every (key, window) adds up to N (the final cache
 *   flush included). Prints records/s. Target: >= 500 K records/s.
 *
 *   bench_windowed_count [--records N] [--dir DIR]
 *
 * Build with -DCMAKE_BUILD_TYPE=Release for comparable figures
 * (bench/bench_windowed_count.sh). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/util/bench_util.h"
#include "common/clock.h"
#include "rivulet/rivulet.h"

#define KEYS 10000
#define WINDOW_MS 60000
#define SPAN_MS (10 * WINDOW_MS)
#define MAX_WINDOWS 16
#define VALUE_BYTES 100

static atomic_llong g_done; /* sum of the latest counts */
static int64_t g_counts[KEYS][MAX_WINDOWS];
static int64_t g_base; /* the first window's start */

/* Keeps the latest count of each (key, window); g_done is their sum. */
static rv_err_t track_count(const void *key, int32_t key_len, const void *value, int32_t value_len,
                            void *opaque) {
    (void)key_len, (void)value_len, (void)opaque;
    const rv_windowed_t *w = key;
    int k = atoi((const char *)w->key + 1);
    int64_t win = (w->start - g_base) / WINDOW_MS;
    if (k < 0 || k >= KEYS || win < 0 || win >= MAX_WINDOWS || !value)
        return RV_ERR_NO_ERROR;
    int64_t n = *(const int64_t *)value;
    atomic_fetch_add(&g_done, n - g_counts[k][win]);
    g_counts[k][win] = n;
    return RV_ERR_NO_ERROR;
}

static rv_topology_t *topology(void) {
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *topics[] = {"events"};
    rv_time_windows_t tw = RV_TIME_WINDOWS_INIT(WINDOW_MS, 0);
    rv_materialized_t m = RV_MATERIALIZED_INIT;
    m.store_name = "counts-per-minute";
    rv_ktable_t *t = rv_time_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by(
            rv_kstream_group_by_key(rv_streams_builder_stream(b, topics, 1, NULL), NULL), &tw),
        NULL, &m);
    rv_kstream_foreach(rv_ktable_to_stream(t, NULL), track_count, NULL, NULL);
    return bench_build(b, "build");
}

/* Record i: key "k<spread(i)>", VALUE_BYTES bytes of 'v', timestamps
 * rising evenly over SPAN_MS from t0 (n records in all). */
typedef struct input_s {
    int64_t n, t0;
    char value[VALUE_BYTES];
} input_t;

static void make_input(bench_record_t *r, int64_t i, void *opaque) {
    const input_t *in = opaque;
    r->key_len = snprintf(r->key_buf, sizeof r->key_buf, "k%05d", (int)bench_spread(i, KEYS));
    r->key = r->key_buf;
    r->value = in->value;
    r->value_len = VALUE_BYTES;
    r->timestamp = in->t0 + (int64_t)((double)i * SPAN_MS / (double)in->n);
}

int main(int argc, char **argv) {
    int64_t records = 10000000;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    bench_set_program("bench_windowed_count");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else {
            fprintf(stderr, "usage: bench_windowed_count [--records N] [--dir DIR]\n");
            return 2;
        }
    }
    if (records < 1) {
        fprintf(stderr, "bench_windowed_count: --records must be positive\n");
        return 2;
    }
    bench_env_t env;
    bench_env_open(&env, base, "windows");
    bench_create_topic(&env, "events", true);

    /* Timestamps start on a window boundary an hour ago and rise over ten
     * minutes: eleven windows at most per key. */
    int64_t t0 = (rv__now_ms() - 3600000) / WINDOW_MS * WINDOW_MS;
    g_base = t0;
    printf("bench_windowed_count: %" PRId64 " records of %d bytes, %d keys, 1-minute tumbling "
           "windows, one stream thread, embedded broker\n",
           records, VALUE_BYTES, KEYS);
    input_t in = {records, t0, {0}};
    memset(in.value, 'v', sizeof in.value);
    bench_produce(&env, "events", records, make_input, &in);

    rv_topology_t *t = topology();
    double secs =
        bench_run(bench_app_conf(&env, "bench-windows", "string"), t, &g_done, records, NULL);
    printf("tumbling-window count (10 K keys, 1-minute windows): %" PRId64
           " records in %.2f s: %.0f records/s\n",
           records, secs, (double)records / secs);
    fflush(stdout);
    bench_env_close(&env);
    return 0;
}
