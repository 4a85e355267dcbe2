/* tests/testutil.h: helpers shared by the cmocka test programs: temporary
 * folders, record batches, and running the `rivulet` program. */
#ifndef RV_TESTUTIL_H
#define RV_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"

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

/** Writes a whole file (test setup). */
void rvt_write_file(const char *path, const void *p, size_t n);
/** Size of a file, or -1. */
long long rvt_file_size(const char *path);

#endif
