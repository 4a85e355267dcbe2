/* common/fileio.c: the file I/O layer (common/fileio.h) with fault
 * injection.
 *
 * All writes, fsyncs and renames of durable state pass through here, so a
 * test can arm rv__io_fail_nth() and make exactly one of them fail, then
 * check what survives. A failed write first writes half its bytes, which is
 * what a crash or a full disk leaves behind: a torn tail that recovery must
 * cut off. The fault counters are global (a test drives one scenario at a
 * time) and protected by a mutex, so concurrent I/O threads each see a
 * well-defined Nth call. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static int fault_n[RV__IO_OP_CNT];
static int fault_err[RV__IO_OP_CNT];
/* Fast path: no lock taken while nothing is armed. */
static atomic_int fault_armed;
/* rv__io_short_writes: the most bytes one write call asks for; 0: all. */
static atomic_size_t short_cap;

void rv__io_short_writes(size_t max_bytes) {
    atomic_store(&short_cap, max_bytes);
}

void rv__io_fail_nth(rv__io_op_t op, int n, int err) {
    if (op < 0 || op >= RV__IO_OP_CNT)
        return;
    pthread_mutex_lock(&fault_lock);
    fault_n[op] = n > 0 ? n : 0;
    fault_err[op] = err ? err : EIO;
    int armed = 0;
    for (int i = 0; i < RV__IO_OP_CNT; i++)
        armed |= fault_n[i] > 0;
    atomic_store(&fault_armed, armed);
    pthread_mutex_unlock(&fault_lock);
}

/* Counts one call of `op`; returns the errno to fail with, or 0. */
static int fault_hit(rv__io_op_t op) {
    if (!atomic_load_explicit(&fault_armed, memory_order_relaxed))
        return 0;
    int err = 0;
    pthread_mutex_lock(&fault_lock);
    if (fault_n[op] > 0 && --fault_n[op] == 0)
        err = fault_err[op];
    pthread_mutex_unlock(&fault_lock);
    return err;
}

/* One write(2)-family call of the cnt buffers of v. */
static ssize_t write_call(int fd, const struct iovec *v, int cnt, off_t off, int positional) {
    size_t cap = atomic_load_explicit(&short_cap, memory_order_relaxed);
    struct iovec tmp[IOV_MAX];
    if (cap) {
        /* A test's cap (rv__io_short_writes): ask for at most cap bytes,
         * as a kernel may write fewer than asked. */
        int n = 0;
        for (; n < cnt && cap; n++) {
            tmp[n] = v[n];
            if (tmp[n].iov_len > cap)
                tmp[n].iov_len = cap;
            cap -= tmp[n].iov_len;
        }
        v = tmp;
        cnt = n;
    }
    return positional ? pwritev(fd, v, cnt, off) : writev(fd, v, cnt);
}

/* Writes the iovcnt buffers of iov one after the other (at `off` when
 * positional), retrying short writes and EINTR; iov is not changed. A
 * call takes at most IOV_MAX buffers and may write fewer bytes than asked:
 * the loop goes on from where it stopped, with the rest of a cut buffer
 * alone (`cut`). */
static int writev_loop(int fd, const struct iovec *iov, int iovcnt, off_t off, int positional) {
    int i = 0;
    struct iovec cut = {NULL, 0};
    for (;;) {
        const struct iovec *v = &cut;
        int cnt = 1;
        if (!cut.iov_len) {
            while (i < iovcnt && iov[i].iov_len == 0)
                i++;
            if (i == iovcnt)
                return 0;
            v = iov + i;
            cnt = iovcnt - i < IOV_MAX ? iovcnt - i : IOV_MAX;
        }
        ssize_t w = write_call(fd, v, cnt, off, positional);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        off += w;
        size_t left = (size_t)w;
        if (cut.iov_len) {
            cut.iov_base = (uint8_t *)cut.iov_base + left;
            cut.iov_len -= left;
            continue;
        }
        while (i < iovcnt && left >= iov[i].iov_len)
            left -= iov[i++].iov_len;
        if (left > 0) {
            cut = (struct iovec){(uint8_t *)iov[i].iov_base + left, iov[i].iov_len - left};
            i++;
        }
    }
}

static int write_common(int fd, const struct iovec *iov, int iovcnt, off_t off, int positional) {
    int ferr = fault_hit(RV__IO_WRITE);
    if (ferr) {
        /* Leave a torn write behind (half the bytes), as a crash mid-write
         * would. */
        size_t half = 0;
        for (int i = 0; i < iovcnt; i++)
            half += iov[i].iov_len;
        half /= 2;
        for (int i = 0; i < iovcnt && half; i++) {
            struct iovec part = {iov[i].iov_base, iov[i].iov_len < half ? iov[i].iov_len : half};
            (void)writev_loop(fd, &part, 1, off, positional);
            off += (off_t)part.iov_len;
            half -= part.iov_len;
        }
        errno = ferr;
        return -1;
    }
    return writev_loop(fd, iov, iovcnt, off, positional);
}

int rv__io_write_all(int fd, const void *p, size_t n) {
    struct iovec iov = {(void *)p, n};
    return write_common(fd, &iov, 1, 0, 0);
}

int rv__io_pwrite_all(int fd, const void *p, size_t n, off_t off) {
    struct iovec iov = {(void *)p, n};
    return write_common(fd, &iov, 1, off, 1);
}

int rv__io_pwritev_all(int fd, const struct iovec *iov, int iovcnt, off_t off) {
    return write_common(fd, iov, iovcnt, off, 1);
}

int rv__io_pread_all(int fd, void *buf, size_t n, off_t off) {
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int rv__io_fsync(int fd) {
    int ferr = fault_hit(RV__IO_FSYNC);
    if (ferr) {
        errno = ferr;
        return -1;
    }
    /* fdatasync: file size changes are still flushed, mtime is not needed. */
    while (fdatasync(fd) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

int rv__io_fsync_dir(const char *dir) {
    int ferr = fault_hit(RV__IO_FSYNC);
    if (ferr) {
        errno = ferr;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r;
    while ((r = fsync(fd)) < 0 && errno == EINTR)
        ;
    int saved = errno;
    close(fd);
    errno = saved;
    return r < 0 ? -1 : 0;
}

int rv__io_rename(const char *from, const char *to) {
    int ferr = fault_hit(RV__IO_RENAME);
    if (ferr) {
        errno = ferr;
        return -1;
    }
    return rename(from, to);
}

int rv__io_mkdirs(const char *path, mode_t mode) {
    size_t len = strlen(path);
    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    char *tmp = malloc(len + 1);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
                int saved = errno;
                free(tmp);
                errno = saved;
                return -1;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    free(tmp);
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    return (r < 0 && errno != ENOENT) ? -1 : 0;
}

int rv__io_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Folder part of path ("." when there is none); caller frees. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

rv_err_t rv__io_write_file_atomic(const char *path, const void *p, size_t n, char *errstr,
                                  size_t errstr_size) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    char *dir = dir_of(path);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        if (errstr_size)
            snprintf(errstr, errstr_size, "Out of memory writing %s", path);
        return RV_ERR__NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    const char *what;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        what = "create";
        goto fail;
    }
    if (rv__io_write_all(fd, p, n) < 0) {
        what = "write";
        goto fail;
    }
    if (rv__io_fsync(fd) < 0) {
        what = "fsync";
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        what = "close";
        goto fail;
    }
    fd = -1;
    if (rv__io_rename(tmp, path) < 0) {
        what = "rename";
        goto fail;
    }
    /* The new name is only durable once the folder is synced. */
    if (rv__io_fsync_dir(dir) < 0) {
        int saved = errno;
        if (errstr_size)
            snprintf(errstr, errstr_size, "Failed to fsync folder %s: %s", dir, strerror(saved));
        free(tmp);
        free(dir);
        return RV_ERR__IO;
    }
    free(tmp);
    free(dir);
    return RV_ERR_NO_ERROR;

fail:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    if (errstr_size)
        snprintf(errstr, errstr_size, "Failed to %s %s: %s", what, tmp, strerror(saved));
    free(tmp);
    free(dir);
    return RV_ERR__IO;
}

rv_err_t rv__io_read_file(const char *path, rv__buf_t *out, char *errstr, size_t errstr_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        if (errstr_size)
            snprintf(errstr, errstr_size, "Failed to open %s: %s", path, strerror(saved));
        return saved == ENOENT ? RV_ERR__NOENT : RV_ERR__IO;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    for (;;) {
        if ((err = rv__buf_reserve(out, 65536)))
            break;
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errstr_size)
                snprintf(errstr, errstr_size, "Failed to read %s: %s", path, strerror(errno));
            err = RV_ERR__IO;
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    if (err == RV_ERR__NOMEM && errstr_size)
        snprintf(errstr, errstr_size, "Out of memory reading %s", path);
    close(fd);
    return err;
}
