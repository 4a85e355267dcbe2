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
 * Beside the count over K keys it prints the count's RocksDB work alone
 * (store_only(): the same gets and batched puts straight to the store, no
 * broker, cache or changelog), the most a stream thread that reads
 * RocksDB for every record could reach.
 * The input is synced to disk before each timed run. Prints records/s of
 * each, and the CPU time all threads of the process (stream thread,
 * producer sender, RocksDB's background work, the broker) spent per record
 * meanwhile. bench/bench_streams.sh prints db_bench's
 * fillrandom (--disable_wal=1) from ../shared/peers beside them, measured in
 * the same run. Targets: pass-through >= 5 M records/s; counting over 1 M
 * keys >= db_bench fillrandom; counting over 10 K keys >= 1 M records/s.
 *
 *   bench_streams [--records N] [--keys K] [--mode all|passthrough|count] [--dir DIR]
 *                 [--cache BYTES] [--commit-ms MS] [--repeat R] [--cold]
 *
 * The pass-through runs R times (default 3), each on fresh topics, and
 * prints every run and their median: it lasts about two seconds and is
 * bound by writing its output into the page cache.
 *
 * Warm pages. On a virtual machine whose free memory goes back to the host
 * (virtio-balloon free page reporting), the first touch of a page the host
 * took back faults in the host too: the page cache then fills at a few
 * hundred MB/s instead of several GB/s, and a run measures the hypervisor.
 * A broker that has run for a while has its memory full of page cache,
 * and its appends reuse pages the host backs. So before each timed run the
 * program writes and removes a scratch file the size of the run's output,
 * which leaves that many backed pages on the kernel's free lists; --cold
 * skips that and measures the first touch. The first line printed is the
 * page cache's write rate into fresh pages and, at once again, into the
 * pages just freed: far apart, the machine is in that slow mode. The next
 * is the disk's write rate (as many bytes and one fdatasync): the stream
 * thread's producer uses acks=all, so the output is fsync'd while the run
 * goes on, and a slow disk slows the run (on a VM the virtual disk's rate
 * varies several-fold from one minute to the next).
 *
 * --cache sets cache.max.bytes.buffering (Kafka's default, 10 MiB, when
 * not given); --commit-ms sets commit.interval.ms (default 1000 here).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/util/bench_util.h"
#include "common/clock.h"
#include "state/store_internal.h"
#include "rivulet/rivulet.h"

#define RECORD_SIZE 100

static atomic_llong processed;

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

/* cache.max.bytes.buffering and commit.interval.ms of the apps. */
static const char *g_cache_bytes = NULL;
static const char *g_commit_ms = "1000";

/* The input: keys over `keys`, one timestamp, RECORD_SIZE bytes of 'v'. */
typedef struct input_s {
    int64_t keys;
    int64_t timestamp;
    char value[RECORD_SIZE];
} input_t;

static void make_input(bench_record_t *r, int64_t i, void *opaque) {
    const input_t *in = opaque;
    snprintf(r->key_buf, sizeof r->key_buf, "%08" PRId64, bench_spread(i, in->keys));
    r->key = r->key_buf;
    r->key_len = 8;
    r->value = in->value;
    r->value_len = RECORD_SIZE;
    r->timestamp = in->timestamp;
}

/* Runs the app until `records` were processed; returns the seconds and
 * the CPU seconds every thread of the process used meanwhile (*cpu). */
static double run(const bench_env_t *env, const char *app_id, rv_topology_t *t, int64_t records,
                  double *cpu) {
    char errstr[1024];
    rv_conf_t *conf = bench_app_conf(env, app_id, "bytes");
    if (rv_conf_set(conf, "commit.interval.ms", g_commit_ms, errstr, sizeof errstr) != RV_CONF_OK)
        bench_die("conf", errstr);
    if (g_cache_bytes && rv_conf_set(conf, "cache.max.bytes.buffering", g_cache_bytes, errstr,
                                     sizeof errstr) != RV_CONF_OK)
        bench_die("conf", errstr);
    return bench_run(conf, t, &processed, records, cpu);
}

static rv_topology_t *topology(bool count) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t sup = RV_PROCESSOR_SUPPLIER_INIT;
    sup.get = count ? count_get : pass_get;
    const char *topics[] = {"in"}, *source[] = {"Source"}, *proc[] = {"Process"};
    if (rv_topology_add_source(t, "Source", topics, 1, NULL, errstr, sizeof errstr) ||
        rv_topology_add_processor(t, "Process", &sup, source, 1, errstr, sizeof errstr))
        bench_die("topology", errstr);
    if (count) {
        rv_store_builder_t *b = rv_store_builder_persistent_kv("Counts");
        rv_store_builder_with_caching_enabled(b);
        if (rv_topology_add_state_store(t, b, proc, 1, errstr, sizeof errstr))
            bench_die("topology", errstr);
    } else if (rv_topology_add_sink(t, "Sink", "out", NULL, proc, 1, errstr, sizeof errstr)) {
        bench_die("topology", errstr);
    }
    if (rv_topology_build(t, errstr, sizeof errstr))
        bench_die("topology", errstr);
    return t;
}

static void report(const char *what, int64_t records, double secs, double cpu) {
    printf("%-34s %" PRId64 " records in %.2f s: %.0f records/s (%.0f ns CPU/record)\n", what,
           records, secs, (double)records / secs, cpu * 1e9 / (double)records);
    fflush(stdout);
}

/* The count's RocksDB work alone, beside the 1 M-key run: per record the
 * get and the put the count processor makes, the puts written as the
 * record cache's flushes write them - batches of as many entries as the
 * cache holds (cache.max.bytes.buffering over key, value and the cache's
 * per-entry bytes) - to a RocksDB store opened as the app opens its
 * stores. No broker, no cache, no changelog: what a stream thread that
 * reads RocksDB for every record could reach at most. Meaningful when
 * the keys outnumber a batch (a key then appears once per batch). */
static void store_only(const char *base, int64_t records, int64_t keys) {
    char errstr[512];
    size_t budget = g_cache_bytes ? (size_t)strtoull(g_cache_bytes, NULL, 10) : 10485760;
    size_t batch_max = budget / (8 + 8 + RV__CACHE_ENTRY_OVERHEAD);
    batch_max = batch_max ? batch_max : 1;
    if ((size_t)keys <= batch_max) {
        printf("%-34s not measured: the cache holds every key\n", "count's RocksDB work alone:");
        return;
    }
    bench_env_t env;
    bench_env_open(&env, base, "store");
    rv_kv_store_t *st = NULL;
    char path[4300];
    snprintf(path, sizeof path, "%s/counts", env.state);
    if (rv__rocksdb_store_open(&st, "Counts", path, errstr, sizeof errstr))
        bench_die("store", errstr);
    rv_kv_entry_t *batch = calloc(batch_max, sizeof *batch);
    char(*bytes)[32] = calloc(batch_max, sizeof *bytes); /* key, then the 8-byte count */
    if (!batch || !bytes)
        bench_die("store", "out of memory");
    size_t n = 0;
    double cpu0 = bench_cpu_seconds();
    int64_t t0 = rv__mono_us();
    for (int64_t i = 0; i < records; i++) {
        char *key = bytes[n];
        int kl = snprintf(key, 24, "%08" PRId64, bench_spread(i, keys));
        rv_bytes_t old;
        int64_t count = 0;
        rv_err_t err = rv_kv_store_get(&old, st, key, (size_t)kl);
        if (!err) {
            rv_serde_int64_read(&count, old.data, (int32_t)old.len);
            rv_bytes_free(&old);
        } else if (err != RV_ERR__NOENT) {
            bench_die("store get", rv_err_str(err));
        }
        rv_serde_int64_write(key + 24, count + 1);
        batch[n] = (rv_kv_entry_t){key, (size_t)kl, key + 24, 8};
        if (++n == batch_max || i + 1 == records) {
            if ((err = rv_kv_store_put_all(st, batch, n)))
                bench_die("store put_all", rv_err_str(err));
            n = 0;
        }
    }
    double secs = (double)(rv__mono_us() - t0) / 1e6;
    report("count's RocksDB work alone:", records, secs, bench_cpu_seconds() - cpu0);
    rv_kv_store_destroy(st);
    free(batch);
    free(bytes);
    bench_env_close(&env);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int64_t records = 10000000, keys = 1000000;
    int repeat = 3;
    bool cold = false;
    const char *mode = "all";
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    bench_set_program("bench_streams");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
            keys = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc)
            g_cache_bytes = argv[++i];
        else if (strcmp(argv[i], "--commit-ms") == 0 && i + 1 < argc)
            g_commit_ms = argv[++i];
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cold") == 0)
            cold = true;
        else {
            fprintf(stderr, "usage: bench_streams [--records N] [--keys K] "
                            "[--mode all|passthrough|count] [--dir DIR] [--cache BYTES] "
                            "[--commit-ms MS] [--repeat R] [--cold]\n");
            return 2;
        }
    }
    if (records <= 0 || keys <= 0 || repeat <= 0 || repeat > 99) {
        fprintf(stderr, "bench_streams: --records and --keys must be positive, --repeat 1..99\n");
        return 2;
    }
    bool pass = !strcmp(mode, "all") || !strcmp(mode, "passthrough");
    bool count = !strcmp(mode, "all") || !strcmp(mode, "count");
    printf("bench_streams: %" PRId64 " records of %d bytes, one stream thread, embedded broker\n",
           records, RECORD_SIZE);
    /* The ceiling under a log on disk, in the same run: the page cache's
     * write rate into fresh pages, and at once again into the pages just
     * freed (see "Warm pages" above). */
    size_t probe = (size_t)records * (RECORD_SIZE + 20); /* about the output's size */
    double fresh = bench_seq_write_mbps(base, probe, 16 * 1024, false);
    double reused = bench_seq_write_mbps(base, probe, 16 * 1024, false);
    printf("page cache, %zu MB in 16 KB writes: %.0f MB/s into fresh pages, %.0f MB/s into "
           "pages just freed\n",
           probe >> 20, fresh, reused);
    /* The stream thread's producer uses acks=all: its output is fsync'd
     * as it goes, so while the disk is slow, so is the pass-through. */
    double disk = bench_seq_write_mbps(base, probe, 1 << 20, true);
    printf("disk, %zu MB in 1 MB writes and one fdatasync: %.0f MB/s\n", probe >> 20, disk);
    printf("%s\n", cold ? "each run starts cold: its output goes to pages touched first"
                        : "each run starts warm: a scratch file the size of its output is "
                          "written and removed first");
    struct {
        bool on, count;
        int64_t keys;
        const char *label;
    } runs[] = {{pass, false, 1, "pass-through"},
                {count, true, keys, "count per key (uniform keys):"},
                {count, true, 10000, "count per key (10 K hot keys):"}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        if (!runs[r].on)
            continue;
        int times = runs[r].count ? 1 : repeat;
        double secs[99];
        for (int k = 0; k < times; k++) {
            char label[128];
            bench_env_t env;
            bench_env_open(&env, base, "streams");
            bench_create_topic(&env, "in", false);
            if (!runs[r].count)
                bench_create_topic(&env, "out", false);
            input_t in = {runs[r].keys, rv__now_ms(), {0}};
            memset(in.value, 'v', sizeof in.value);
            bench_produce(&env, "in", records, make_input, &in);
            if (!cold)
                (void)bench_seq_write_mbps(env.dir, probe, 1 << 20, false);
            /* The input's pages reach the disk before the clock starts, so
             * the app's own durable writes (acks=all: fsync) do not queue
             * behind the write-back of the setup. */
            sync();
            rv_topology_t *t = topology(runs[r].count);
            double cpu = 0;
            secs[k] = run(&env, runs[r].count ? "bench-count" : "bench-pass", t, records, &cpu);
            if (runs[r].count)
                snprintf(label, sizeof label, "count per key (%" PRId64 " keys):", runs[r].keys);
            else if (times > 1)
                snprintf(label, sizeof label, "%s, run %d/%d:", runs[r].label, k + 1, times);
            else
                snprintf(label, sizeof label, "%s:", runs[r].label);
            report(label, records, secs[k], cpu);
            bench_env_close(&env);
        }
        if (runs[r].count && runs[r].keys == keys)
            store_only(base, records, keys);
        if (times > 1) {
            qsort(secs, (size_t)times, sizeof secs[0], cmp_double);
            printf("%-34s %.0f records/s\n",
                   "pass-through (median):", (double)records / secs[times / 2]);
        }
    }
    return 0;
}
