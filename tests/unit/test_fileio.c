/* tests/unit/test_fileio.c: common/fileio.c: atomic replacement, reads,
 * vectored writes, mkdirs/rmtree, and fault injection of the Nth write,
 * fsync and rename. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "common/fileio.h"

static int setup(void **state) {
    *state = rvt_tmpdir();
    return 0;
}

static int teardown(void **state) {
    for (int op = 0; op < RV__IO_OP_CNT; op++)
        rv__io_fail_nth((rv__io_op_t)op, 0, 0);
    rv__io_short_writes(0);
    rvt_rmtree(*state);
    free(*state);
    return 0;
}

static char *path_in(const char *dir, const char *name) {
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void assert_file(const char *path, const char *content) {
    rv__buf_t b = RV__BUF_INIT;
    char err[256];
    assert_int_equal(rv__io_read_file(path, &b, err, sizeof err), 0);
    assert_int_equal(b.len, strlen(content));
    if (b.len)
        assert_memory_equal(b.data, content, b.len);
    rv__buf_free(&b);
}

static void test_atomic_write_and_read(void **state) {
    char *f = path_in(*state, "meta.json");
    char err[256];
    assert_int_equal(rv__io_write_file_atomic(f, "first", 5, err, sizeof err), 0);
    assert_file(f, "first");
    assert_int_equal(rv__io_write_file_atomic(f, "second!", 7, err, sizeof err), 0);
    assert_file(f, "second!");
    assert_int_equal(rv__io_write_file_atomic(f, "", 0, err, sizeof err), 0);
    assert_file(f, "");
    char *tmp = path_in(*state, "meta.json.tmp");
    assert_int_equal(access(tmp, F_OK), -1);

    /* A large file, read back in one piece, appended after existing data. */
    size_t n = 300000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31);
    assert_int_equal(rv__io_write_file_atomic(f, big, n, err, sizeof err), 0);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(rv__buf_append(&b, "xy", 2), 0);
    assert_int_equal(rv__io_read_file(f, &b, err, sizeof err), 0);
    assert_int_equal(b.len, n + 2);
    assert_memory_equal(b.data + 2, big, n);
    rv__buf_free(&b);
    free(big);

    char *missing = path_in(*state, "nope");
    assert_int_equal(rv__io_read_file(missing, &b, err, sizeof err), RV_ERR__NOENT);
    assert_non_null(strstr(err, missing));
    /* A folder that does not exist. */
    char *bad = path_in(missing, "file");
    assert_int_equal(rv__io_write_file_atomic(bad, "x", 1, err, sizeof err), RV_ERR__IO);
    assert_non_null(strstr(err, "nope"));
    free(bad);
    free(missing);
    free(tmp);
    free(f);
}

/* Each fault leaves the old content in place and no temp file behind. */
static void test_atomic_write_faults(void **state) {
    char *f = path_in(*state, "cp");
    char *tmp = path_in(*state, "cp.tmp");
    char err[256];
    assert_int_equal(rv__io_write_file_atomic(f, "old", 3, err, sizeof err), 0);

    rv__io_fail_nth(RV__IO_WRITE, 1, ENOSPC);
    assert_int_equal(rv__io_write_file_atomic(f, "new-content", 11, err, sizeof err), RV_ERR__IO);
    assert_non_null(strstr(err, "write"));
    assert_non_null(strstr(err, strerror(ENOSPC)));
    assert_file(f, "old");
    assert_int_equal(access(tmp, F_OK), -1);

    rv__io_fail_nth(RV__IO_FSYNC, 1, EIO);
    assert_int_equal(rv__io_write_file_atomic(f, "new-content", 11, err, sizeof err), RV_ERR__IO);
    assert_non_null(strstr(err, "fsync"));
    assert_file(f, "old");
    assert_int_equal(access(tmp, F_OK), -1);

    rv__io_fail_nth(RV__IO_RENAME, 1, EXDEV);
    assert_int_equal(rv__io_write_file_atomic(f, "new-content", 11, err, sizeof err), RV_ERR__IO);
    assert_non_null(strstr(err, "rename"));
    assert_file(f, "old");
    assert_int_equal(access(tmp, F_OK), -1);

    /* Faults fire once: the next attempt works. */
    assert_int_equal(rv__io_write_file_atomic(f, "new-content", 11, err, sizeof err), 0);
    assert_file(f, "new-content");

    /* The second fsync is the folder's: the file is replaced but the call
     * reports the failure. */
    rv__io_fail_nth(RV__IO_FSYNC, 2, EIO);
    assert_int_equal(rv__io_write_file_atomic(f, "third", 5, err, sizeof err), RV_ERR__IO);
    assert_non_null(strstr(err, "folder"));
    free(tmp);
    free(f);
}

static void test_fail_nth_counts(void **state) {
    char *f = path_in(*state, "seg.log");
    int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);

    rv__io_fail_nth(RV__IO_WRITE, 3, ENOSPC);
    assert_int_equal(rv__io_write_all(fd, "aaaa", 4), 0);
    assert_int_equal(rv__io_pwrite_all(fd, "bbbb", 4, 4), 0);
    assert_int_equal(lseek(fd, 8, SEEK_SET), 8);
    errno = 0;
    assert_int_equal(rv__io_write_all(fd, "cccccccc", 8), -1);
    assert_int_equal(errno, ENOSPC);
    /* The failed write left half its bytes: a torn tail. */
    assert_int_equal(rvt_file_size(f), 12);
    assert_int_equal(rv__io_write_all(fd, "dd", 2), 0);
    assert_int_equal(rvt_file_size(f), 14);

    char buf[14];
    assert_int_equal(rv__io_pread_all(fd, buf, 14, 0), 0);
    assert_memory_equal(buf, "aaaabbbbccccdd", 14);
    errno = 0;
    assert_int_equal(rv__io_pread_all(fd, buf, 14, 1), -1);
    assert_int_equal(errno, EIO);

    rv__io_fail_nth(RV__IO_FSYNC, 2, EIO);
    assert_int_equal(rv__io_fsync(fd), 0);
    assert_int_equal(rv__io_fsync(fd), -1);
    assert_int_equal(errno, EIO);
    assert_int_equal(rv__io_fsync(fd), 0);
    assert_int_equal(rv__io_fsync_dir(*state), 0);

    /* Disarming works. */
    rv__io_fail_nth(RV__IO_FSYNC, 1, EIO);
    rv__io_fail_nth(RV__IO_FSYNC, 0, 0);
    assert_int_equal(rv__io_fsync(fd), 0);
    close(fd);

    char *g = path_in(*state, "seg2.log");
    rv__io_fail_nth(RV__IO_RENAME, 1, EACCES);
    assert_int_equal(rv__io_rename(f, g), -1);
    assert_int_equal(errno, EACCES);
    assert_int_equal(rvt_file_size(f), 14);
    assert_int_equal(rv__io_rename(f, g), 0);
    assert_int_equal(rvt_file_size(g), 14);
    assert_int_equal(rvt_file_size(f), -1);
    free(g);
    free(f);
}

/* Reads a whole file into a fresh buffer of *len bytes. */
static uint8_t *slurp(const char *path, size_t *len) {
    rv__buf_t b = RV__BUF_INIT;
    char err[256];
    assert_int_equal(rv__io_read_file(path, &b, err, sizeof err), 0);
    *len = b.len;
    return b.data;
}

/* rv__io_pwritev_all: more buffers than one pwritev takes (IOV_MAX), empty
 * ones among them, at an offset; short writes (rv__io_short_writes); a
 * torn write (half the bytes) when a fault is armed; and a write the
 * kernel cuts short inside a buffer (RLIMIT_FSIZE) followed by its
 * error. */
static void test_pwritev_all(void **state) {
    enum { N = 3000 };
    static uint8_t data[N * 7];
    static struct iovec iov[N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(i % 7); /* 0..6 bytes, so some are empty */
        iov[i] = (struct iovec){data + total, len};
        for (size_t k = 0; k < len; k++)
            data[total + k] = (uint8_t)(i * 7 + k);
        total += len;
    }
    char *path = path_in(*state, "v.bin");
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rv__io_pwritev_all(fd, iov, N, 100), 0);
    size_t len;
    uint8_t *got = slurp(path, &len);
    assert_int_equal(len, 100 + total);
    for (int i = 0; i < 100; i++)
        assert_int_equal(got[i], 0);
    assert_memory_equal(got + 100, data, total);
    free(got);
    /* Short writes (at most 5 bytes a call, so buffers are cut and later
     * calls take several at once) still write every byte in place, also
     * through the write(2) path of rv__io_write_all. */
    assert_int_equal(ftruncate(fd, 0), 0);
    rv__io_short_writes(5);
    assert_int_equal(rv__io_pwritev_all(fd, iov, N, 3), 0);
    char *path2 = path_in(*state, "w.bin");
    int fd2 = open(path2, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd2 >= 0);
    assert_int_equal(rv__io_write_all(fd2, data, total), 0);
    close(fd2);
    rv__io_short_writes(0);
    got = slurp(path, &len);
    assert_int_equal(len, 3 + total);
    assert_memory_equal(got + 3, data, total);
    free(got);
    got = slurp(path2, &len);
    assert_int_equal(len, total);
    assert_memory_equal(got, data, total);
    free(got);
    free(path2);
    /* Nothing but empty buffers writes nothing. */
    assert_int_equal(rv__io_pwritev_all(fd, iov, 1, 0), 0);
    assert_int_equal(ftruncate(fd, 0), 0);
    rv__io_fail_nth(RV__IO_WRITE, 1, ENOSPC);
    assert_int_equal(rv__io_pwritev_all(fd, iov, N, 0), -1);
    assert_int_equal(errno, ENOSPC);
    got = slurp(path, &len);
    assert_int_equal(len, total / 2);
    assert_memory_equal(got, data, total / 2);
    free(got);
    /* Cut short at byte 1001, inside a buffer: the rest of that buffer is
     * tried alone and fails with the kernel's error. */
    assert_int_equal(ftruncate(fd, 0), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1001;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = rv__io_pwritev_all(fd, iov, N, 0);
    int e = errno;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_int_equal(e, EFBIG);
    got = slurp(path, &len);
    assert_int_equal(len, 1001);
    assert_memory_equal(got, data, 1001);
    free(got);
    close(fd);
    free(path);
}

static void test_mkdirs_rmtree(void **state) {
    char *deep = path_in(*state, "a/b/c/d");
    assert_int_equal(rv__io_mkdirs(deep, 0755), 0);
    assert_int_equal(rv__io_mkdirs(deep, 0755), 0); /* exists: fine */
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    char *file = path_in(deep, "x.log");
    rvt_write_file(file, "x", 1);
    /* A file in the way. */
    char *under_file = path_in(file, "sub");
    assert_int_equal(rv__io_mkdirs(under_file, 0755), -1);

    assert_int_equal(rv__io_mkdirs("", 0755), -1);
    /* A trailing slash is fine. */
    char *slash = path_in(*state, "e/f/");
    assert_int_equal(rv__io_mkdirs(slash, 0755), 0);
    free(slash);

    char *top = path_in(*state, "a");
    assert_int_equal(rv__io_rmtree(top), 0);
    assert_int_equal(stat(top, &st), -1);
    assert_int_equal(rv__io_rmtree(top), 0); /* missing: fine */
    free(top);
    free(under_file);
    free(file);
    free(deep);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_write_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_nth_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pwritev_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs_rmtree, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
