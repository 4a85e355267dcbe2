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
#include <time.h>

#include "common/clock.h"
#include "rivulet/rivulet.h"

#define KEYS 10000
#define WINDOW_MS 60000
#define SPAN_MS (10 * WINDOW_MS)
#define MAX_WINDOWS 16
#define VALUE_BYTES 100
#define BATCH_BYTES (16 * 1024)

static atomic_llong g_done; /* sum of the latest counts */
static int64_t g_counts[KEYS][MAX_WINDOWS];
static int64_t g_base; /* the first window's start */

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_windowed_count: %s: %s\n", what, msg);
    exit(1);
}

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
    char errstr[1024];
    rv_topology_t *topo;
    if (rv_streams_builder_build(&topo, b, errstr, sizeof errstr))
        die("build", errstr);
    rv_streams_builder_destroy(b);
    return topo;
}

/* A multiplicative spread, so consecutive records hit far apart keys. */
static int spread(int64_t i) {
    return (int)(((uint64_t)i * 2654435761u) % KEYS);
}

static void produce(rv_broker_t *broker, int64_t n, int64_t t0) {
    char errstr[512], key[32], value[VALUE_BYTES + 1];
    memset(value, 'v', VALUE_BYTES);
    value[VALUE_BYTES] = '\0';
    rv_batch_builder_t *b = rv_batch_builder_new();
    int64_t done = 0;
    while (done < n) {
        rv_batch_builder_reset(b);
        size_t bytes = 61;
        while (done < n && bytes + 200 <= BATCH_BYTES) {
            int kl = snprintf(key, sizeof key, "k%05d", spread(done));
            int64_t ts = t0 + (int64_t)((double)done * SPAN_MS / (double)n);
            rv_batch_builder_add(b, key, kl, value, VALUE_BYTES, ts);
            bytes += (size_t)kl + VALUE_BYTES + 16;
            done++;
        }
        const void *data;
        size_t len;
        if (rv_batch_builder_finish(b, &data, &len) ||
            rv_broker_produce(broker, "events", 0, data, len, 1, NULL, errstr, sizeof errstr))
            die("produce", errstr);
    }
    rv_batch_builder_destroy(b);
}

int main(int argc, char **argv) {
    int64_t records = 10000000;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
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
    char dir[4096], data[4200], state[4200], bs[4300], errstr[1024];
    snprintf(dir, sizeof dir, "%s/rv-bench-windows-XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(bs, sizeof bs, "embedded:%s", data);
    rv_broker_t *broker;
    if (rv_broker_open(&broker, data, errstr, sizeof errstr))
        die("broker", errstr);
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bs, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr);
    const char *cn[] = {"retention.ms"}, *cv[] = {"-1"};
    if (!admin || rv_admin_create_topic(admin, "events", 1, 1, cn, cv, 1, errstr, sizeof errstr))
        die("create topic", errstr);
    rv_admin_destroy(admin);

    /* Timestamps start on a window boundary an hour ago and rise over ten
     * minutes: eleven windows at most per key. */
    int64_t t0 = (rv__now_ms() - 3600000) / WINDOW_MS * WINDOW_MS;
    g_base = t0;
    printf("bench_windowed_count: %" PRId64 " records of %d bytes, %d keys, 1-minute tumbling "
           "windows, one stream thread, embedded broker\n",
           records, VALUE_BYTES, KEYS);
    produce(broker, records, t0);

    conf = rv_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bs},
                           {"application.id", "bench-windows"},
                           {"state.dir", state},
                           {"default.key.serde", "string"},
                           {"default.value.serde", "string"},
                           {"commit.interval.ms", "1000"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RV_CONF_OK)
            die("conf", errstr);
    rv_topology_t *t = topology();
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        die("streams", errstr);
    int64_t start = rv__mono_us(), last_change = start;
    long long last = 0;
    if (rv_streams_start(s, errstr, sizeof errstr))
        die("start", errstr);
    while (atomic_load(&g_done) < records) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        long long now_done = atomic_load(&g_done);
        int64_t now = rv__mono_us();
        if (now_done != last) {
            last = now_done;
            last_change = now;
        } else if (now - last_change > 60 * 1000000LL) {
            die("run", rv_streams_last_error(s) ? rv_streams_last_error(s) : "stalled");
        }
    }
    double secs = (double)(rv__mono_us() - start) / 1e6;
    printf("tumbling-window count (10 K keys, 1-minute windows): %" PRId64
           " records in %.2f s: %.0f records/s\n",
           records, secs, (double)records / secs);
    fflush(stdout);
    rv_streams_close(s, 60000);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
    rv_broker_close(broker);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_windowed_count: could not remove %s\n", dir);
    return 0;
}
