/* tests/testutil.h: helpers shared by the cmocka test programs: temporary
 * folders, record batches, running the `rivulet` program, and the fixtures
 * of the Kafka protocol tests (a broker with a server on 127.0.0.1, or a
 * broker answering requests in-process; request frames; sockets). */
#ifndef RV_TESTUTIL_H
#define RV_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "broker/kafka/api.h"
#include "broker/kafka/proto.h"
#include "broker/kafka/server.h"
#include "common/buf.h"
#include "rivulet/broker.h"
#include "rivulet/conf.h"
#include "rivulet/streams.h"

/** A new empty folder under $TMPDIR (or /tmp). Caller frees the string and
 *  removes the folder with rvt_rmtree(), which first stops a server that
 *  rvt_bootstrap() started on it. Fails the test on error. */
char *rvt_tmpdir(void);
void rvt_rmtree(const char *path);

/** Appends to `out` one uncompressed batch of n records: key
 *  "<key_prefix><i>" (NULL prefix = null keys), a value of value_size bytes
 *  (deterministic content from i), timestamps ts0 + i. */
void rvt_make_batch(rv__buf_t *out, int n, const char *key_prefix, size_t value_size, int64_t ts0);

/** Runs `rivulet ARGS` (the program named by $RV_BIN) through /bin/sh with
 *  the argument string as given, capturing stdout and stderr (NUL
 *  terminated; either may be NULL to discard). Returns the exit status, or
 *  -1 if it did not exit normally. */
int rvt_cli(rv__buf_t *out, rv__buf_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The fixture of the tests that run the program: a temporary data folder,
 * its "--bootstrap-server embedded:DIR" flag, a scratch file path inside
 * it, and the captured output of the last run. */
typedef struct rvt_cli_fx_s {
    char *dir;
    char bs[4200];
    char file[4400]; /* DIR/input, for files a command reads */
    rv__buf_t out, err;
} rvt_cli_fx_t;

/** cmocka setup/teardown for an rvt_cli_fx_t in *state. */
int rvt_cli_fx_setup(void **state);
int rvt_cli_fx_teardown(void **state);

/** Fails the test unless s starts with prefix / contains needle. */
void rvt_assert_prefix(const char *s, const char *prefix);
void rvt_assert_contains(const char *s, const char *needle);

/** The bootstrap.servers that reaches the data folder `dir`: "embedded:DIR"
 *  normally; with RVT_BACKEND=kafka in the environment, opens the broker on
 *  DIR, starts a Kafka protocol server for it on 127.0.0.1 (a port the OS
 *  picks; once per DIR per process) and returns "127.0.0.1:PORT".
 *  Borrowed: valid until rvt_bootstrap_cleanup() or rvt_rmtree(dir).
 *  Servers still running at exit are stopped then. */
const char *rvt_bootstrap(const char *dir);
/** Stops every server rvt_bootstrap() started and closes their brokers. */
void rvt_bootstrap_cleanup(void);
/** True when RVT_BACKEND=kafka (the tests run over the network). */
int rvt_kafka_backend(void);

/* ---- client fixtures ---- */

/* The fixture of the client tests: a broker on a new temporary folder and
 * the bootstrap.servers that clients use to reach it. */
typedef struct rvt_client_fx_s {
    char *dir;
    rv_broker_t *broker;
    char bs[4200];  /* rvt_bootstrap(dir): embedded, or a server (kafka) */
    char ebs[4200]; /* "embedded:DIR", e.g. for an admin client */
} rvt_client_fx_t;

/** cmocka setup/teardown for an rvt_client_fx_t in *state. The teardown
 *  closes the broker and removes the folder (stopping its server). */
int rvt_client_fx_setup(void **state);
int rvt_client_fx_teardown(void **state);

/** Creates topic `name` with `partitions` partitions through an admin
 *  client on `bootstrap`, keeping its records forever (retention.ms=-1:
 *  stream tests use small timestamps, which retention would delete).
 *  Fails the test when the topic cannot be created. */
void rvt_create_topic_kept(const char *bootstrap, const char *name, int32_t partitions);

/** A configuration with bootstrap.servers and the "name", "value" pairs of
 *  `ap` (ended by a NULL name). Fails the test when a setting is refused.
 *  Caller owns the result (a client constructor takes it over). */
rv_conf_t *rvt_conf_va(const char *bootstrap, va_list ap);

/* ---- Kafka protocol fixtures ---- */

/* A broker on a new temporary folder and a Kafka protocol server for it on
 * 127.0.0.1, at a port the OS picked. */
typedef struct rvt_kserver_s {
    char *dir; /* the data folder (rvt_tmpdir()) */
    rv_broker_t *broker;
    rv__kserver_t *server;
    int port;
    char bs[64];    /* "127.0.0.1:PORT", for bootstrap.servers */
    char ebs[4200]; /* "embedded:DIR", the same data without the network */
} rvt_kserver_t;

/** Fills *ks: opens a broker on a new temporary folder and starts a server
 *  for it with the settings of `cfg` (NULL: the defaults), except that it
 *  always listens on 127.0.0.1 at a port the OS picks. `cfg` is borrowed
 *  for the call. Fails the test on error. Stop with rvt_kserver_stop(). */
void rvt_kserver_start(rvt_kserver_t *ks, const rv__kserver_config_t *cfg);
/** Stops the server, closes the broker and removes the folder. */
void rvt_kserver_stop(rvt_kserver_t *ks);
/** cmocka setup/teardown for an rvt_kserver_t (default settings) in
 *  *state. */
int rvt_kserver_setup(void **state);
int rvt_kserver_teardown(void **state);

/* A broker on a new temporary folder whose request handlers are called
 * in-process with rv__kapi_call(&ctx, ...), without a server. */
typedef struct rvt_kapi_s {
    char *dir;
    rv_broker_t *broker;
    rv__kctx_t ctx; /* node 1, advertised as 127.0.0.1:9092, one partition
                     * per created topic; the caller may change it */
} rvt_kapi_t;

/** Fills *ka (opens the broker, sets ctx). Fails the test on error. Close
 *  with rvt_kapi_close(), which also removes the folder. */
void rvt_kapi_open(rvt_kapi_t *ka);
void rvt_kapi_close(rvt_kapi_t *ka);

/** Starts a request frame in *w (initialised here; free with
 *  rv__kw_free()): request header v1 (api key, version, correlation id,
 *  client id), or v2 (an empty tag section after it) for the flexible
 *  ApiVersions v3. The body follows; a frame for a socket also needs the
 *  size prefix. */
void rvt_kreq_begin(rv__kw_t *w, int16_t key, int16_t version, int32_t correlation_id,
                    const char *client_id);

/** Asserts that a response was read to its last byte without error. */
void rvt_kresp_end(const rv__kr_t *r);

/** A TCP connection to 127.0.0.1:port, with TCP_NODELAY and a 10 s receive
 *  timeout. Fails the test when it cannot connect. Caller closes it. */
int rvt_kdial(int port);
/** Sends all n bytes: 0, or -1 when the peer closed the connection. */
int rvt_ksend_all(int fd, const void *p, size_t n);

/** Writes a whole file (test setup). */
void rvt_write_file(const char *path, const void *p, size_t n);
/** Size of a file, or -1. */
long long rvt_file_size(const char *path);

/** Waits up to timeout_ms for the app to reach `want`, then asserts it did
 *  (the failure names both states). */
void rvt_wait_streams_state(rv_streams_t *s, rv_streams_state_t want, int timeout_ms);

/* A built topology counting records per key: source "Source" reads
 * "words" (string serdes), processor "Count" keeps key -> int64 count in
 * the persistent store "Counts" and forwards key -> count (8 bytes) to
 * sink "Sink", which writes "counts". When `processed` is given, each
 * record processed adds one to it (atomically). The caller destroys it. */
rv_topology_t *rvt_count_topology(int *processed);

#endif
