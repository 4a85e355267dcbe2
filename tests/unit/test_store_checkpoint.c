/* tests/unit/test_store_checkpoint.c: OffsetCheckpoint files
 * (state/checkpoint.c): Kafka's exact text format, round trips, empty and
 * missing files, corrupt files, and a failed rename that must leave the
 * previous checkpoint intact. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "common/fileio.h"
#include "state/checkpoint.h"

static int setup(void **state) {
    *state = rvt_tmpdir();
    return 0;
}
static int teardown(void **state) {
    rv__io_fail_nth(RV__IO_RENAME, 0, 0);
    rvt_rmtree(*state);
    free(*state);
    return 0;
}

static char *cp_path(const char *dir) {
    char *p = malloc(strlen(dir) + 32);
    sprintf(p, "%s/%s", dir, RV__CHECKPOINT_FILE);
    return p;
}

static void read_text(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void test_round_trip_format(void **state) {
    char *path = cp_path(*state);
    rv__checkpoint_entry_t in[] = {
        {"app-counts-changelog", 0, 42},
        {"app-counts-changelog", 3, 0},
        {"app-other-changelog", 1, 9007199254740993LL},
    };
    char err[512];
    assert_int_equal(rv__checkpoint_write(path, in, 3, err, sizeof err), 0);
    char text[512];
    read_text(path, text, sizeof text);
    assert_string_equal(text, "0\n3\napp-counts-changelog 0 42\napp-counts-changelog 3 0\n"
                              "app-other-changelog 1 9007199254740993\n");
    rv__checkpoint_entry_t *out;
    size_t n;
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(out[i].topic, in[i].topic);
        assert_int_equal(out[i].partition, in[i].partition);
        assert_int_equal(out[i].offset, in[i].offset);
    }
    rv__checkpoint_free(out, n);
    /* the temporary file is gone */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct stat st;
    assert_int_not_equal(stat(tmp, &st), 0);

    /* no entries: the file is removed; a missing file reads as empty */
    assert_int_equal(rv__checkpoint_write(path, NULL, 0, err, sizeof err), 0);
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_null(out);
    assert_int_equal(rv__checkpoint_write(path, NULL, 0, err, sizeof err), 0);
    free(path);
}

static void test_read_kafka_written(void **state) {
    /* as Java writes it, with extra whitespace tolerated by its split("\\s+") */
    char *path = cp_path(*state);
    const char *text = "0\n2\nt 0 5\nt  1\t-1\n";
    rvt_write_file(path, text, strlen(text));
    rv__checkpoint_entry_t *out;
    size_t n;
    char err[512];
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 1); /* the negative offset is skipped */
    assert_string_equal(out[0].topic, "t");
    assert_int_equal(out[0].offset, 5);
    rv__checkpoint_free(out, n);
    free(path);
}

static void expect_bad(const char *dir, const char *text, const char *msg) {
    char *path = cp_path(dir);
    rvt_write_file(path, text, strlen(text));
    rv__checkpoint_entry_t *out = (void *)1;
    size_t n = 7;
    char err[512] = "";
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), RV_ERR__BAD_MSG);
    assert_null(out);
    assert_int_equal(n, 0);
    rvt_assert_contains(err, msg);
    free(path);
}

static void test_corrupt(void **state) {
    const char *dir = *state;
    expect_bad(dir, "", "no version");
    expect_bad(dir, "1\n1\nt 0 1\n", "Unknown offset checkpoint version: 1");
    expect_bad(dir, "x\n", "no version");
    expect_bad(dir, "0\n", "bad entry count");
    expect_bad(dir, "0\n-1\n", "bad entry count");
    expect_bad(dir, "0\n2\nt 0 1\n", "Expected 2 entries but found 1");
    expect_bad(dir, "0\n1\nt 0 1\nt 1 2\n", "Expected 1 entries but found 2");
    expect_bad(dir, "0\n1\nt 0\n", "Malformed line");
    expect_bad(dir, "0\n1\nt 0 1 2\n", "Malformed line");
    expect_bad(dir, "0\n1\nt x 1\n", "Malformed line");
    expect_bad(dir, "0\n1\nt 0 1z\n", "Malformed line");
    const char nul[] = "0\n1\nt\0 0 1\n";
    char *path = cp_path(dir);
    rvt_write_file(path, nul, sizeof nul - 1);
    rv__checkpoint_entry_t *out;
    size_t n;
    assert_int_equal(rv__checkpoint_read(path, &out, &n, NULL, 0), RV_ERR__BAD_MSG);
    free(path);
}

static void test_write_rejects_and_rename_failure(void **state) {
    char *path = cp_path(*state);
    char err[512];
    rv__checkpoint_entry_t bad1 = {"t", 0, -1}, bad2 = {"a b", 0, 1}, bad3 = {"", 0, 1};
    assert_int_equal(rv__checkpoint_write(path, &bad1, 1, err, sizeof err), RV_ERR__INVALID_ARG);
    assert_int_equal(rv__checkpoint_write(path, &bad2, 1, err, sizeof err), RV_ERR__INVALID_ARG);
    assert_int_equal(rv__checkpoint_write(path, &bad3, 1, err, sizeof err), RV_ERR__INVALID_ARG);

    rv__checkpoint_entry_t v1 = {"t", 0, 10}, v2 = {"t", 0, 20};
    assert_int_equal(rv__checkpoint_write(path, &v1, 1, err, sizeof err), 0);
    rv__io_fail_nth(RV__IO_RENAME, 1, EIO);
    assert_int_not_equal(rv__checkpoint_write(path, &v2, 1, err, sizeof err), 0);
    rv__checkpoint_entry_t *out;
    size_t n;
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].offset, 10); /* the old checkpoint survived */
    rv__checkpoint_free(out, n);
    assert_int_equal(rv__checkpoint_write(path, &v2, 1, err, sizeof err), 0);
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(out[0].offset, 20);
    rv__checkpoint_free(out, n);
    free(path);
}

/* A topic-partition listed twice is a corrupt file, as Kafka (its map
 * would hold fewer entries than the count). */
static void test_duplicates(void **state) {
    const char *dir = *state;
    expect_bad(dir, "0\n2\nt 0 5\nt 0 100\n", "t-0 is listed more than once");
    expect_bad(dir, "0\n3\nt 0 5\nu 0 1\nt 0 6\n", "t-0 is listed more than once");
    /* the same topic on other partitions, or another topic, is fine */
    char *path = cp_path(dir);
    const char ok[] = "0\n3\nt 0 5\nt 1 6\nu 0 7\n";
    rvt_write_file(path, ok, sizeof ok - 1);
    rv__checkpoint_entry_t *out;
    size_t n;
    char err[512];
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    rv__checkpoint_free(out, n);
    free(path);
}

/* The address space of this process in bytes, from /proc/self/statm. */
static long long vm_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lld", &pages), 1);
    fclose(f);
    return pages * sysconf(_SC_PAGESIZE);
}

/* The count line allocates nothing by itself: a 2^24 count with no lines
 * is read with the address space capped 64 MiB above its current size
 * (an array for the count would need 400 MiB) and reported as corrupt. */
static void test_hostile_count(void **state) {
    char *path = cp_path(*state);
    const char text[] = "0\n16777216\n";
    rvt_write_file(path, text, sizeof text - 1);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(vm_bytes() + (64ll << 20));
    if (old.rlim_cur != RLIM_INFINITY && lim.rlim_cur > old.rlim_cur)
        lim.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
    rv__checkpoint_entry_t *out;
    size_t n;
    char err[512] = "";
    rv_err_t e = rv__checkpoint_read(path, &out, &n, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    assert_int_equal(e, RV_ERR__BAD_MSG);
    rvt_assert_contains(err, "Expected 16777216 entries but found 0");
    free(path);
}

/* A missing file is no entries and no message. */
static void test_missing(void **state) {
    const char *dir = *state;
    char *path = cp_path(dir);
    rv__checkpoint_entry_t *out;
    size_t n = 7;
    char err[512] = "junk";
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), 0);
    assert_null(out);
    assert_int_equal(n, 0);
    assert_string_equal(err, "");
    free(path);
}

/* A path that is not a regular file is refused at once (a FIFO with no
 * writer must not block: the alarm kills the test if it does). */
static void test_not_regular(void **state) {
    char *path = cp_path(*state);
    rv__checkpoint_entry_t *out;
    size_t n;
    char err[512] = "";
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), RV_ERR__BAD_MSG);
    alarm(0);
    rvt_assert_contains(err, "not a regular file");
    unlink(path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(rv__checkpoint_read(path, &out, &n, err, sizeof err), RV_ERR__BAD_MSG);
    rmdir(path);
    free(path);
}

/* Deleting the checkpoint (an empty write) fsyncs the folder, and says so
 * when that fails. */
static void test_delete_fsyncs_folder(void **state) {
    char *path = cp_path(*state);
    char err[512];
    rv__checkpoint_entry_t v = {"t", 0, 10};
    assert_int_equal(rv__checkpoint_write(path, &v, 1, err, sizeof err), 0);
    rv__io_fail_nth(RV__IO_FSYNC, 1, EIO);
    err[0] = 0;
    rv_err_t e = rv__checkpoint_write(path, NULL, 0, err, sizeof err);
    rv__io_fail_nth(RV__IO_FSYNC, 0, 0);
    assert_int_equal(e, RV_ERR__IO);
    rvt_assert_contains(err, "Failed to fsync folder");
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    /* deleting a checkpoint that is not there is fine */
    assert_int_equal(rv__checkpoint_write(path, NULL, 0, err, sizeof err), 0);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_kafka_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_rejects_and_rename_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_fsyncs_folder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
