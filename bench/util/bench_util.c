/* bench/util/bench_util.c: the setup, input and timing code the streams
 * benchmarks share (bench/util/bench_util.h). Linked into every program
 * of bench/ (CMakeLists.txt). */
#include "bench/util/bench_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"

/* Kafka's batch header (61 bytes) plus records up to this size. */
#define BATCH_BYTES (16 * 1024)
#define BATCH_HEADER 61
/* A record's framing in a batch, at most (lengths, deltas, attributes). */
#define RECORD_OVERHEAD 16
/* No progress for this long means the app is stuck. */
#define STALL_US (60 * 1000000LL)

static const char *g_program = "bench";

void bench_set_program(const char *program) {
    g_program = program;
}

void bench_die(const char *what, const char *msg) {
    fprintf(stderr, "%s: %s: %s\n", g_program, what, msg);
    exit(1);
}

rv_topology_t *bench_build(rv_streams_builder_t *b, const char *what) {
    char errstr[1024];
    rv_topology_t *t;
    if (rv_streams_builder_build(&t, b, errstr, sizeof errstr))
        bench_die(what, errstr);
    rv_streams_builder_destroy(b);
    return t;
}

void bench_env_open(bench_env_t *env, const char *base, const char *tag) {
    char errstr[512];
    snprintf(env->dir, sizeof env->dir, "%s/rv-bench-%s-XXXXXX", base, tag);
    if (!mkdtemp(env->dir))
        bench_die("mkdtemp", env->dir);
    snprintf(env->data, sizeof env->data, "%s/data", env->dir);
    snprintf(env->state, sizeof env->state, "%s/state", env->dir);
    snprintf(env->bootstrap, sizeof env->bootstrap, "embedded:%s", env->data);
    if (rv_broker_open(&env->broker, env->data, errstr, sizeof errstr))
        bench_die("broker", errstr);
}

void bench_env_close(bench_env_t *env) {
    rv_broker_close(env->broker);
    env->broker = NULL;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", env->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", g_program, env->dir);
}

void bench_create_topic(const bench_env_t *env, const char *topic, bool keep_forever) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", env->bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    if (!admin || rv_admin_create_topic(admin, topic, 1, 1, keep_forever ? names : NULL,
                                        keep_forever ? values : NULL, keep_forever ? 1 : 0, errstr,
                                        sizeof errstr))
        bench_die("create topic", errstr);
    rv_admin_destroy(admin);
}

static void produce_batch(const bench_env_t *env, const char *topic, rv_batch_builder_t *b) {
    char errstr[512] = "";
    const void *data;
    size_t len;
    if (rv_batch_builder_finish(b, &data, &len) ||
        rv_broker_produce(env->broker, topic, 0, data, len, 1, NULL, errstr, sizeof errstr))
        bench_die("produce", errstr);
    rv_batch_builder_reset(b);
}

void bench_produce(const bench_env_t *env, const char *topic, int64_t n, bench_make_fn *make,
                   void *opaque) {
    rv_batch_builder_t *b = rv_batch_builder_new();
    if (!b)
        bench_die("produce", "Out of memory");
    bench_record_t r;
    size_t bytes = BATCH_HEADER, cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        make(&r, i, opaque);
        size_t need = (size_t)r.key_len + (size_t)r.value_len + RECORD_OVERHEAD;
        if (cnt > 0 && bytes + need > BATCH_BYTES) {
            produce_batch(env, topic, b);
            bytes = BATCH_HEADER;
            cnt = 0;
        }
        rv_batch_builder_add(b, r.key, r.key_len, r.value, r.value_len, r.timestamp);
        bytes += need;
        cnt++;
    }
    if (cnt > 0)
        produce_batch(env, topic, b);
    rv_batch_builder_destroy(b);
}

int64_t bench_spread(int64_t i, int64_t keys) {
    return (int64_t)(((uint64_t)i * 2654435761u) % (uint64_t)keys);
}

rv_conf_t *bench_app_conf(const bench_env_t *env, const char *app_id, const char *serde) {
    char errstr[1024];
    rv_conf_t *conf = rv_conf_new();
    if (!conf)
        bench_die("conf", "Out of memory");
    const char *kv[][2] = {{"bootstrap.servers", env->bootstrap},
                           {"application.id", app_id},
                           {"state.dir", env->state},
                           {"default.key.serde", serde},
                           {"default.value.serde", serde},
                           {"commit.interval.ms", "1000"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RV_CONF_OK)
            bench_die("conf", errstr);
    return conf;
}

double bench_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_run(rv_conf_t *conf, rv_topology_t *t, atomic_llong *done, int64_t want, double *cpu) {
    char errstr[1024];
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        bench_die("streams", errstr);
    atomic_store(done, 0);
    double cpu0 = bench_cpu_seconds();
    int64_t t0 = rv__mono_us(), last_change = t0;
    long long last = 0;
    if (rv_streams_start(s, errstr, sizeof errstr))
        bench_die("start", errstr);
    while (atomic_load(done) < want) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        long long now_done = atomic_load(done);
        int64_t now = rv__mono_us();
        if (now_done != last) {
            last = now_done;
            last_change = now;
        } else if (now - last_change > STALL_US) {
            const char *why = rv_streams_last_error(s);
            bench_die("run", why ? why : "stalled");
        }
    }
    double secs = (double)(rv__mono_us() - t0) / 1e6;
    if (cpu)
        *cpu = bench_cpu_seconds() - cpu0;
    rv_streams_close(s, 60000);
    rv_streams_destroy(s);
    rv_topology_destroy(t);
    return secs;
}

double bench_seq_write_mbps(const char *dir, size_t total, size_t chunk, bool sync) {
    char path[4200];
    if (snprintf(path, sizeof path, "%s/seqwrite.bin", dir) >= (int)sizeof path)
        bench_die("sequential write", "folder name too long");
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        bench_die("sequential write", path);
    char *buf = malloc(chunk);
    if (!buf)
        bench_die("sequential write", "out of memory");
    memset(buf, 'x', chunk);
    int64_t t0 = rv__mono_us();
    for (size_t done = 0; done < total; done += chunk)
        if (rv__io_write_all(fd, buf, chunk) != 0)
            bench_die("sequential write", path);
    if (sync && rv__io_fsync(fd) != 0)
        bench_die("sequential write", path);
    double s = (double)(rv__mono_us() - t0) / 1e6;
    close(fd);
    unlink(path);
    free(buf);
    return (double)total / s / 1e6;
}
