/* common/fileio.h: the file I/O layer under segments, indexes, checkpoints
 * and metadata, with fault injection for tests.
 *
 * Every write, fsync and rename the broker does goes through here so a test
 * can make the Nth one fail (rv__io_fail_nth) and check that nothing
 * acknowledged is lost. Functions return 0 on success or -1 with errno set,
 * unless they return rv_err_t (then errstr, when given, says what failed on
 * which path). Thread-safe. */
#ifndef RV_COMMON_FILEIO_H
#define RV_COMMON_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/buf.h"

typedef enum rv__io_op_e {
    RV__IO_WRITE = 0, /* rv__io_write_all, rv__io_pwrite_all, rv__io_pwritev_all */
    RV__IO_FSYNC,     /* rv__io_fsync, rv__io_fsync_dir */
    RV__IO_RENAME,    /* rv__io_rename */
    RV__IO_OP_CNT
} rv__io_op_t;

/** Arms a fault: the nth call of `op` from now (1 = the next one) fails with
 *  errno `err` (a write fails after writing half its bytes, to leave a torn
 *  tail). n = 0 disarms. For tests only. */
void rv__io_fail_nth(rv__io_op_t op, int n, int err);

/** Makes every write call from now on ask the kernel for at most
 *  max_bytes, so the write loops meet short writes as a kernel may make
 *  them. 0 lifts the cap. For tests only. */
void rv__io_short_writes(size_t max_bytes);

/** Writes all n bytes at the file position / at offset off, retrying short
 *  writes and EINTR. */
int rv__io_write_all(int fd, const void *p, size_t n);
int rv__io_pwrite_all(int fd, const void *p, size_t n, off_t off);
/** Writes the iovcnt buffers of iov one after the other at offset off with
 *  as few pwritev(2) calls as the kernel allows, retrying short writes and
 *  EINTR. iov itself is not changed. */
int rv__io_pwritev_all(int fd, const struct iovec *iov, int iovcnt, off_t off);
/** Reads exactly n bytes at off; -1 with errno EIO when the file is shorter. */
int rv__io_pread_all(int fd, void *p, size_t n, off_t off);
/** fdatasync(2) of a file / fsync(2) of a directory by path. */
int rv__io_fsync(int fd);
int rv__io_fsync_dir(const char *dir);
int rv__io_rename(const char *from, const char *to);

/** mkdir -p; existing folders are fine. */
int rv__io_mkdirs(const char *path, mode_t mode);
/** rm -rf; a missing path is fine. */
int rv__io_rmtree(const char *path);

/** Replaces `path` atomically and durably: writes path.tmp, fsyncs it,
 *  renames it over path, fsyncs the folder. */
rv_err_t rv__io_write_file_atomic(const char *path, const void *p, size_t n, char *errstr,
                                  size_t errstr_size);
/** Reads a whole file into out (appended). RV_ERR__NOENT when missing. */
rv_err_t rv__io_read_file(const char *path, rv__buf_t *out, char *errstr, size_t errstr_size);

#endif
