/* fuzz/fuzzutil.h: helpers shared by the libFuzzer targets in fuzz/: a
 * scratch folder per process on a memory-backed file system, whole-file
 * writes, silenced logging, CRC repair of record batches so mutations reach
 * past the checksum, and a check that reports a broken invariant as a
 * crash libFuzzer keeps. */
#ifndef RV_FUZZ_FUZZUTIL_H
#define RV_FUZZ_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/** Aborts with file:line and the expression when `expr` is false, so the
 *  fuzzer saves the input. For invariants the code under test promises. */
#define rvf_check(expr) ((expr) ? (void)0 : rvf_check_fail(#expr, __FILE__, __LINE__))
void rvf_check_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/** Routes the library's log lines (every level, so their formatting runs)
 *  to a callback that drops them. Call once, from LLVMFuzzerInitialize. */
void rvf_quiet_logs(void);

/** A new empty folder "rv-fuzz-XXXXXX" under $RV_FUZZ_TMPDIR when set, or
 *  /dev/shm when it is a writable folder (runs stay off the disk), else
 *  $TMPDIR or /tmp. Caller
 *  owns the string; free() it after removing the folder with
 *  rvf_rmtree(). Aborts when no folder can be made: a fuzzer that cannot
 *  run its target must not report success. */
char *rvf_tmpdir(void);

/** rm -rf `path`. */
void rvf_rmtree(const char *path);

/** Writes p[0..n) to `path` (created or truncated). Aborts on failure, for
 *  the same reason as rvf_tmpdir(). */
void rvf_write_file(const char *path, const void *p, size_t n);

/** Walks p[0..n) as back-to-back record batches (by their batch_length)
 *  and rewrites the CRC-32C of every whole batch with magic 2, so a
 *  mutated header or record section still passes the checksum and the
 *  decoders behind it get exercised. Stops at the first piece that does not
 *  look like a batch. */
void rvf_fix_crcs(uint8_t *p, size_t n);

/** Appends a valid uncompressed batch of `cnt` records (keys "k<i>",
 *  values "v<i>", one header on the first record, timestamps from ts0) to
 *  `out`. Returns 0 or -1 (out of memory). */
int rvf_make_batch(rv__buf_t *out, int cnt, int64_t ts0);

#endif
