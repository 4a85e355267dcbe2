/* bench/bench_streams.c: stream-processing throughput of one stream thread
 * on the embedded broker.
 *
 * Pre-produces N records (100-byte values, 8-byte keys) to one partition of
 * topic "in" with the batch builder, then runs a stream app over them and
 * times it from start until the last record was processed:
 *   passthrough  source -> a processor forwarding every record -> sink "out"
 *   count        source -> a processor counting per key in a RocksDB store
 *                (record cache on, changelogged) - over K keys spread
 *                uniformly (--keys, default 1 M) and over 10 K hot keys.
 *                The keys come in a fixed cycle that visits every key once
 *                per K records, so between two visits of a key K - 1 other
 *                keys pass: with K larger than the cache holds, every read
 *                misses the cache and goes to RocksDB.
 * The input is synced to disk before each timed run. Prints records/s of
 * each, and the CPU time all threads of the process (stream thread,
 * producer sender, RocksDB's background work, the broker) spent per record
 * meanwhile. bench/bench_streams.sh prints db_bench's
 * fillrandom (--disable_wal=1) from ../shared/peers beside them, measured in
 * the same run. Targets: pass-through >= 5 M records/s; counting over 1 M
 * keys >= db_bench fillrandom; counting over 10 K keys >= 1 M records/s.
 *
 *   bench_streams [--records N] [--keys K] [--mode all|passthrough|count] [--dir DIR]
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "rivulet/rivulet.h"

#define RECORD_SIZE 100
#define BATCH_BYTES (16 * 1024)

static atomic_llong processed;

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_streams: %s: %s\n", what, msg);
    exit(1);
}

/* ---- the processors ---- */

static rv_err_t pass_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                             void *state) {
    (void)state;
    atomic_fetch_add_explicit(&processed, 1, memory_order_relaxed);
    return rv_processor_context_forward(ctx, record);
}

typedef struct count_state_s {
    rv_kv_store_t *counts;
} count_state_t;

static rv_err_t count_init(rv_processor_context_t *ctx, void *state) {
    count_state_t *st = state;
    st->counts = rv_processor_context_get_state_store(ctx, "Counts");
    return st->counts ? RV_ERR_NO_ERROR : RV_ERR__STATE;
}

static rv_err_t count_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                              void *state) {
    (void)ctx;
    count_state_t *st = state;
    rv_bytes_t old;
    int64_t count = 0;
    rv_err_t err = rv_kv_store_get(&old, st->counts, record->key, (size_t)record->key_len);
    if (err == RV_ERR_NO_ERROR) {
        rv_serde_int64_read(&count, old.data, (int32_t)old.len);
        rv_bytes_free(&old);
    } else if (err != RV_ERR__NOENT) {
        return err;
    }
    unsigned char bytes[8];
    rv_serde_int64_write(bytes, count + 1);
    err = rv_kv_store_put(st->counts, record->key, (size_t)record->key_len, bytes, 8);
    atomic_fetch_add_explicit(&processed, 1, memory_order_relaxed);
    return err;
}

static void state_free(void *state) {
    free(state);
}

static rv_err_t pass_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = pass_process;
    out->close = state_free;
    out->state = NULL;
    return RV_ERR_NO_ERROR;
}

static rv_err_t count_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->init = count_init;
    out->process = count_process;
    out->close = state_free;
    out->state = calloc(1, sizeof(count_state_t));
    return out->state ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

/* ---- setup ---- */

static void produce_input(rv_broker_t *broker, const char *topic, int64_t records, int64_t keys) {
    char errstr[512], key[16], value[RECORD_SIZE];
    memset(value, 'v', sizeof value);
    rv_batch_builder_t *b = rv_batch_builder_new();
    int64_t done = 0, now = rv__now_ms();
    while (done < records) {
        rv_batch_builder_reset(b);
        size_t bytes = 61;
        while (done < records && bytes + RECORD_SIZE + 20 <= BATCH_BYTES) {
            /* A multiplicative spread so consecutive records hit far apart keys. */
            int64_t k = (int64_t)(((uint64_t)done * 2654435761u) % (uint64_t)keys);
            snprintf(key, sizeof key, "%08" PRId64, k);
            rv_batch_builder_add(b, key, 8, value, RECORD_SIZE, now);
            bytes += RECORD_SIZE + 8 + 10;
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

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the app until `records` were processed; returns the seconds and
 * the CPU seconds every thread of the process used meanwhile (*cpu). */
static double run(const char *bootstrap, const char *state_dir, const char *app_id,
                  rv_topology_t *t, int64_t records, double *cpu) {
    char errstr[1024];
    rv_conf_t *conf = rv_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bootstrap}, {"application.id", app_id},
                           {"state.dir", state_dir},         {"default.key.serde", "bytes"},
                           {"default.value.serde", "bytes"}, {"commit.interval.ms", "1000"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RV_CONF_OK)
            die("conf", errstr);
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        die("streams", errstr);
    atomic_store(&processed, 0);
    double cpu0 = cpu_seconds();
    int64_t t0 = rv__mono_us(), last_change = t0;
    long long last = 0;
    if (rv_streams_start(s, errstr, sizeof errstr))
        die("start", errstr);
    while (atomic_load(&processed) < records) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        long long now_count = atomic_load(&processed);
        int64_t now = rv__mono_us();
        if (now_count != last) {
            last = now_count;
            last_change = now;
        } else if (now - last_change > 60 * 1000000LL) {
            die("run", rv_streams_last_error(s) ? rv_streams_last_error(s) : "stalled");
        }
    }
    double secs = (double)(rv__mono_us() - t0) / 1e6;
    *cpu = cpu_seconds() - cpu0;
    rv_streams_close(s, 60000);
    rv_streams_destroy(s);
    return secs;
}

static rv_topology_t *topology(bool count) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = count ? count_get : pass_get;
    const char *topics[] = {"in"}, *source[] = {"Source"}, *proc[] = {"Process"};
    if (rv_topology_add_source(t, "Source", topics, 1, NULL, errstr, sizeof errstr) ||
        rv_topology_add_processor(t, "Process", &sup, source, 1, errstr, sizeof errstr))
        die("topology", errstr);
    if (count) {
        rv_store_builder_t *b = rv_store_builder_persistent_kv("Counts");
        rv_store_builder_with_caching_enabled(b);
        if (rv_topology_add_state_store(t, b, proc, 1, errstr, sizeof errstr))
            die("topology", errstr);
    } else if (rv_topology_add_sink(t, "Sink", "out", NULL, proc, 1, errstr, sizeof errstr)) {
        die("topology", errstr);
    }
    if (rv_topology_build(t, errstr, sizeof errstr))
        die("topology", errstr);
    return t;
}

static void report(const char *what, int64_t records, double secs, double cpu) {
    printf("%-34s %" PRId64 " records in %.2f s: %.0f records/s (%.0f ns CPU/record)\n", what,
           records, secs, (double)records / secs, cpu * 1e9 / (double)records);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int64_t records = 10000000, keys = 1000000;
    const char *mode = "all";
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            keys = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else {
            fprintf(stderr, "usage: bench_streams [--records N] [--keys K] "
                            "[--mode all|passthrough|count] [--dir DIR]\n");
            return 2;
        }
    }
    if (records <= 0 || keys <= 0) {
        fprintf(stderr, "bench_streams: --records and --keys must be positive\n");
        return 2;
    }
    bool pass = !strcmp(mode, "all") || !strcmp(mode, "passthrough");
    bool count = !strcmp(mode, "all") || !strcmp(mode, "count");
    printf("bench_streams: %" PRId64 " records of %d bytes, one stream thread, embedded broker\n",
           records, RECORD_SIZE);
    struct {
        bool on, count;
        int64_t keys;
        const char *label;
    } runs[] = {{pass, false, 1, "pass-through:"},
                {count, true, keys, "count per key (uniform keys):"},
                {count, true, 10000, "count per key (10 K hot keys):"}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        if (!runs[r].on)
            continue;
        char dir[4096], data[4200], state[4200], bs[4300], errstr[512], label[128];
        snprintf(dir, sizeof dir, "%s/rv-bench-streams-XXXXXX", base);
        if (!mkdtemp(dir))
            die("mkdtemp", dir);
        snprintf(data, sizeof data, "%s/data", dir);
        snprintf(state, sizeof state, "%s/state", dir);
        snprintf(bs, sizeof bs, "embedded:%s", data);
        rv_broker_t *broker;
        if (rv_broker_open(&broker, data, errstr, sizeof errstr))
            die("broker", errstr);
        create_topic(bs, "in");
        if (!runs[r].count)
            create_topic(bs, "out");
        produce_input(broker, "in", records, runs[r].keys);
        /* The input's pages reach the disk before the clock starts, so the
         * app's own durable writes (acks=all: fsync) do not queue behind
         * the write-back of the setup. */
        sync();
        rv_topology_t *t = topology(runs[r].count);
        double cpu = 0;
        double secs =
            run(bs, state, runs[r].count ? "bench-count" : "bench-pass", t, records, &cpu);
        if (runs[r].count)
            snprintf(label, sizeof label, "count per key (%" PRId64 " keys):", runs[r].keys);
        else
            snprintf(label, sizeof label, "%s", runs[r].label);
        report(label, records, secs, cpu);
        rv_topology_destroy(t);
        rv_broker_close(broker);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_streams: could not remove %s\n", dir);
    }
    return 0;
}
