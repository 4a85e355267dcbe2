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
#include <time.h>

#include "common/clock.h"
#include "rivulet/rivulet.h"

#define KEYS 10000
#define BATCH_BYTES (16 * 1024)

static atomic_llong g_done; /* joined records */

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_stream_join: %s: %s\n", what, msg);
    exit(1);
}

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
    char errstr[1024];
    rv_streams_builder_t *b = rv_streams_builder_new();
    const char *ti[] = {"impressions"}, *tc[] = {"clicks"};
    rv_kstream_t *impressions = rv_streams_builder_stream(b, ti, 1, NULL);
    rv_kstream_t *clicks = rv_streams_builder_stream(b, tc, 1, NULL);
    rv_join_windows_t w = RV_JOIN_WINDOWS_INIT(1000, 0);
    rv_kstream_t *joined =
        left ? rv_kstream_left_join(impressions, clicks, join_values, NULL, &w, NULL)
             : rv_kstream_join(impressions, clicks, join_values, NULL, &w, NULL);
    rv_kstream_to(rv_kstream_peek(joined, count_joined, NULL, NULL), "clicked", NULL);
    rv_topology_t *t;
    if (rv_streams_builder_build(&t, b, errstr, sizeof errstr))
        die("topology", errstr);
    rv_streams_builder_destroy(b);
    return t;
}

/* A multiplicative spread, so consecutive records hit far apart keys. */
static int spread(int64_t i) {
    return (int)(((uint64_t)i * 2654435761u) % KEYS);
}

/* Appends n records to partition 0 of topic: key "ad<spread(i)>", value
 * "<prefix><i>", timestamp ts0 + i. */
static void produce(rv_broker_t *broker, const char *topic, const char *prefix, int64_t n,
                    int64_t ts0) {
    char errstr[512], key[32], value[64];
    rv_batch_builder_t *b = rv_batch_builder_new();
    int64_t done = 0;
    while (done < n) {
        rv_batch_builder_reset(b);
        size_t bytes = 61;
        while (done < n && bytes + 200 <= BATCH_BYTES) {
            int kl = snprintf(key, sizeof key, "ad%04d", spread(done));
            int vl = snprintf(value, sizeof value, "%s%010" PRId64, prefix, done);
            rv_batch_builder_add(b, key, kl, value, vl, ts0 + done);
            bytes += (size_t)(kl + vl) + 16;
            done++;
        }
        const void *data;
        size_t len;
        if (rv_batch_builder_finish(b, &data, &len) ||
            rv_broker_produce(broker, topic, 0, data, len, 1, NULL, errstr, sizeof errstr))
            die("produce", errstr);
    }
    rv_batch_builder_destroy(b);
}

static void create_topic(const char *bootstrap, const char *topic) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr);
    if (!admin || rv_admin_create_topic(admin, topic, 1, 1, NULL, NULL, 0, errstr, sizeof errstr))
        die("create topic", errstr);
    rv_admin_destroy(admin);
}

/* Runs the app until g_done reaches `want`; returns the seconds. */
static double run(const char *bootstrap, const char *state_dir, rv_topology_t *t, int64_t want) {
    char errstr[1024];
    rv_conf_t *conf = rv_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bootstrap},  {"application.id", "bench-join"},
                           {"state.dir", state_dir},          {"default.key.serde", "string"},
                           {"default.value.serde", "string"}, {"commit.interval.ms", "1000"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RV_CONF_OK)
            die("conf", errstr);
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        die("streams", errstr);
    atomic_store(&g_done, 0);
    int64_t t0 = rv__mono_us(), last_change = t0;
    long long last = 0;
    if (rv_streams_start(s, errstr, sizeof errstr))
        die("start", errstr);
    while (atomic_load(&g_done) < want) {
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
    double secs = (double)(rv__mono_us() - t0) / 1e6;
    rv_streams_close(s, 60000);
    rv_streams_destroy(s);
    return secs;
}

int main(int argc, char **argv) {
    int64_t records = 10000000;
    bool left = false;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
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
    char dir[4096], data[4200], state[4200], bs[4300], errstr[512];
    snprintf(dir, sizeof dir, "%s/rv-bench-sjoin-XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(bs, sizeof bs, "embedded:%s", data);
    rv_broker_t *broker;
    if (rv_broker_open(&broker, data, errstr, sizeof errstr))
        die("broker", errstr);
    /* Recent timestamps: the window stores' changelogs delete by time. */
    int64_t ts0 = rv__now_ms() - half;
    create_topic(bs, "impressions");
    create_topic(bs, "clicks");
    create_topic(bs, "clicked");
    produce(broker, "impressions", "imp-", half, ts0);
    produce(broker, "clicks", "clk-", half, ts0);
    rv_topology_t *t = join_topology(left);
    double secs = run(bs, state, t, half);
    printf("stream-stream %s join (10 K keys, 1 s window): %" PRId64
           " records in %.2f s: %.0f records/s\n",
           left ? "left" : "inner", records, secs, (double)records / secs);
    fflush(stdout);
    rv_topology_destroy(t);
    rv_broker_close(broker);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_stream_join: could not remove %s\n", dir);
    return 0;
}
