/* bench/util/bench_util.h: what the streams benchmarks (bench_dsl,
 * bench_stream_join, bench_streams, bench_windowed_count) share: a scratch
 * directory holding an embedded broker and the apps' state, topics, the
 * input written straight into the broker's log before the clock starts,
 * and an app run until a counter its topology advances reaches a target,
 * timed. Everything dies with "<program>: <what>: <message>" on failure:
 * a benchmark that cannot set itself up has nothing to measure. */
#ifndef RV_BENCH_UTIL_H
#define RV_BENCH_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rivulet/rivulet.h"

/** Names the program in bench_die()'s messages. Call first in main(). */
void bench_set_program(const char *program);

/** Prints "<program>: <what>: <msg>" to stderr and exits with status 1. */
void bench_die(const char *what, const char *msg)
#if defined(__GNUC__)
    __attribute__((noreturn))
#endif
    ;

/** The topology builder b made; destroys b. Dies with "<what>: <error>"
 *  when the build fails. Caller owns the result (rv_topology_destroy()). */
rv_topology_t *bench_build(rv_streams_builder_t *b, const char *what);

/* A scratch directory "<base>/rv-bench-<tag>-XXXXXX" with the broker's
 * data in data/ and the apps' state.dir in state/. */
typedef struct bench_env_s {
    char dir[4096];
    char data[4200];
    char state[4200];
    char bootstrap[4300]; /* "embedded:<data>" */
    rv_broker_t *broker;
} bench_env_t;

/** Buffered sequential write bandwidth of folder `dir` in MB/s: `total`
 *  bytes in `chunk`-byte write(2) calls to a new file, removed afterwards;
 *  with `sync`, the time includes one fdatasync(2) at the end (the disk's
 *  rate). Exits on an I/O error. */
double bench_seq_write_mbps(const char *dir, size_t total, size_t chunk, bool sync);

/** Makes env's directory under `base` and opens its embedded broker. */
void bench_env_open(bench_env_t *env, const char *base, const char *tag);

/** Closes the broker and removes the directory (a failure to remove it is
 *  reported, not fatal). */
void bench_env_close(bench_env_t *env);

/** Creates `topic` with one partition; with keep_forever, retention.ms=-1
 *  (records whose timestamps lie far in the past survive housekeeping). */
void bench_create_topic(const bench_env_t *env, const char *topic, bool keep_forever);

/* One input record: make() points key and value at its bytes (the
 * scratch buffers here or its own constant data) and sets the timestamp. */
typedef struct bench_record_s {
    const void *key;
    int32_t key_len;
    const void *value;
    int32_t value_len;
    int64_t timestamp;
    char key_buf[64];
    char value_buf[512];
} bench_record_t;

typedef void bench_make_fn(bench_record_t *r, int64_t i, void *opaque);

/** Appends records 0..n-1, made by make(r, i, opaque), to partition 0 of
 *  `topic` in batches of about 16 KiB (acks=all). */
void bench_produce(const bench_env_t *env, const char *topic, int64_t n, bench_make_fn *make,
                   void *opaque);

/** A multiplicative spread of i over [0, keys), so that consecutive
 *  records hit far apart keys. */
int64_t bench_spread(int64_t i, int64_t keys);

/** The configuration of an app on env: bootstrap.servers, application.id,
 *  state.dir, `serde` ("string", "bytes") as default.key.serde and
 *  default.value.serde, commit.interval.ms=1000. Caller owns the result;
 *  more settings may be added before bench_run(). */
rv_conf_t *bench_app_conf(const bench_env_t *env, const char *app_id, const char *serde);

/** CPU seconds every thread of the process used so far. */
double bench_cpu_seconds(void);

/** Sets *done to 0, runs an app of t with conf until *done reaches `want`,
 *  closes it and returns the seconds from its start until then (takes
 *  conf and t: both are gone afterwards);
 *  *cpu (may be NULL) gets the CPU seconds every thread of the process used
 *  meanwhile. Dies when *done stands still for 60 s, with the app's last
 *  error. */
double bench_run(rv_conf_t *conf, rv_topology_t *t, atomic_llong *done, int64_t want, double *cpu);

#endif
