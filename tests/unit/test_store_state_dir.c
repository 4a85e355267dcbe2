/* tests/unit/test_store_state_dir.c: the state directory (state/state_dir.c):
 * layout, per-task locks between owners in one process and between
 * processes (a forked child), listing task folders, wiping a task. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "common/fileio.h"
#include "state/checkpoint.h"
#include "state/state_dir.h"

static int setup(void **state) {
    *state = rvt_tmpdir();
    return 0;
}
static int teardown(void **state) {
    rvt_rmtree(*state);
    free(*state);
    return 0;
}

static int exists(const char *dir, const char *rel) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_layout_and_locks(void **state) {
    const char *dir = *state;
    rv__state_dir_t *sd;
    char err[512];
    int t1, t2;
    assert_int_equal(rv__state_dir_open(&sd, dir, "../x", err, sizeof err), RV_ERR__INVALID_ARG);
    assert_int_equal(rv__state_dir_open(&sd, dir, "app", err, sizeof err), 0);
    assert_true(exists(dir, "app"));
    char want[4200];
    snprintf(want, sizeof want, "%s/app", dir);
    assert_string_equal(rv__state_dir_path(sd), want);
    char *tp = rv__state_dir_task_path(sd, "0_1");
    snprintf(want, sizeof want, "%s/app/0_1", dir);
    assert_string_equal(tp, want);
    free(tp);
    assert_null(rv__state_dir_task_path(sd, ".."));
    assert_null(rv__state_dir_task_path(sd, "a/b"));

    assert_int_equal(rv__state_dir_lock_task(sd, "0_1", &t1, err, sizeof err), 0);
    assert_true(exists(dir, "app/0_1/.lock"));
    assert_int_equal(rv__state_dir_lock_task(sd, "0_1", &t1, err, sizeof err), 0); /* again */
    assert_true(rv__state_dir_holds_lock(sd, "0_1", &t1));
    assert_false(rv__state_dir_holds_lock(sd, "0_1", &t2));
    err[0] = 0;
    assert_int_equal(rv__state_dir_lock_task(sd, "0_1", &t2, err, sizeof err), RV_ERR__LOCKED);
    rvt_assert_contains(err, "0_1");
    assert_int_equal(rv__state_dir_unlock_task(sd, "0_1", &t2), RV_ERR__STATE);

    /* a second handle in this process conflicts like another process */
    rv__state_dir_t *sd2;
    assert_int_equal(rv__state_dir_open(&sd2, dir, "app", err, sizeof err), 0);
    assert_int_equal(rv__state_dir_lock_task(sd2, "0_1", &t2, err, sizeof err), RV_ERR__LOCKED);
    assert_int_equal(rv__state_dir_lock_task(sd2, "1_0", &t2, err, sizeof err), 0);

    assert_int_equal(rv__state_dir_unlock_task(sd, "0_1", &t1), 0);
    assert_int_equal(rv__state_dir_unlock_task(sd, "0_1", &t1), RV_ERR__STATE);
    assert_int_equal(rv__state_dir_lock_task(sd2, "0_1", &t2, err, sizeof err), 0);
    /* destroy releases every lock */
    rv__state_dir_destroy(sd2);
    assert_int_equal(rv__state_dir_lock_task(sd, "0_1", &t1, err, sizeof err), 0);
    assert_int_equal(rv__state_dir_lock_task(sd, "1_0", &t1, err, sizeof err), 0);
    rv__state_dir_destroy(sd);
    rv__state_dir_destroy(NULL);
}

/* The child reports through its exit status: 0 = lock refused as LOCKED,
 * 10 = lock taken, other = failure. */
static int child_try_lock(const char *dir, const char *task) {
    rv__state_dir_t *sd;
    int me;
    if (rv__state_dir_open(&sd, dir, "app", NULL, 0))
        return 2;
    rv_err_t err = rv__state_dir_lock_task(sd, task, &me, NULL, 0);
    rv__state_dir_destroy(sd);
    return err == RV_ERR__LOCKED ? 0 : err == 0 ? 10 : 3;
}

static int run_child(const char *dir, const char *task) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_try_lock(dir, task));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_lock_across_processes(void **state) {
    const char *dir = *state;
    rv__state_dir_t *sd;
    int owner;
    char err[512];
    assert_int_equal(rv__state_dir_open(&sd, dir, "app", err, sizeof err), 0);
    assert_int_equal(rv__state_dir_lock_task(sd, "0_0", &owner, err, sizeof err), 0);
    assert_int_equal(run_child(dir, "0_0"), 0);  /* held here: refused there */
    assert_int_equal(run_child(dir, "0_1"), 10); /* another task is free */
    assert_int_equal(rv__state_dir_unlock_task(sd, "0_0", &owner), 0);
    assert_int_equal(run_child(dir, "0_0"), 10); /* released: the child gets it */
    rv__state_dir_destroy(sd);
}

static void test_list_and_wipe(void **state) {
    const char *dir = *state;
    rv__state_dir_t *sd;
    int owner, other;
    char err[512];
    assert_int_equal(rv__state_dir_open(&sd, dir, "app", err, sizeof err), 0);
    char **names;
    size_t n;
    assert_int_equal(rv__state_dir_list_tasks(sd, &names, &n), 0);
    assert_int_equal(n, 0);
    rv__state_dir_free_list(names, n);
    const char *tasks[] = {"1_2", "0_10", "0_1"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(rv__state_dir_lock_task(sd, tasks[i], &owner, err, sizeof err), 0);
    char p[4400];
    snprintf(p, sizeof p, "%s/app/not-a-task", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/app/kafka-streams-process-metadata", dir);
    rvt_write_file(p, "{}", 2);
    assert_int_equal(rv__state_dir_list_tasks(sd, &names, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "0_1");
    assert_string_equal(names[1], "0_10");
    assert_string_equal(names[2], "1_2");
    rv__state_dir_free_list(names, n);

    /* a task's state: a store folder and a checkpoint */
    char deep[4500];
    snprintf(p, sizeof p, "%s/app/0_1/rocksdb", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(deep, sizeof deep, "%s/counts", p);
    assert_int_equal(mkdir(deep, 0755), 0);
    snprintf(deep, sizeof deep, "%s/counts/000001.sst", p);
    rvt_write_file(deep, "data", 4);
    snprintf(p, sizeof p, "%s/app/0_1/%s", dir, RV__CHECKPOINT_FILE);
    rv__checkpoint_entry_t e = {"app-counts-changelog", 1, 5};
    assert_int_equal(rv__checkpoint_write(p, &e, 1, err, sizeof err), 0);

    assert_int_equal(rv__state_dir_wipe_task(sd, "0_1", &other, err, sizeof err), RV_ERR__STATE);
    assert_true(exists(dir, "app/0_1/rocksdb/counts/000001.sst"));
    assert_int_equal(rv__state_dir_wipe_task(sd, "0_1", &owner, err, sizeof err), 0);
    assert_false(exists(dir, "app/0_1/rocksdb"));
    assert_false(exists(dir, "app/0_1/.checkpoint"));
    assert_true(exists(dir, "app/0_1/.lock"));
    assert_true(rv__state_dir_holds_lock(sd, "0_1", &owner));
    /* the lock still works after the wipe */
    assert_int_equal(run_child(dir, "0_1"), 0);
    rv__state_dir_destroy(sd);
}

/* Builds a task's state: rocksdb/counts/000001.sst and a checkpoint. */
static void make_task_state(const char *dir, const char *task) {
    char p[4400], err[512];
    snprintf(p, sizeof p, "%s/app/%s/rocksdb/counts", dir, task);
    assert_int_equal(rv__io_mkdirs(p, 0755), 0);
    snprintf(p, sizeof p, "%s/app/%s/rocksdb/counts/000001.sst", dir, task);
    rvt_write_file(p, "data", 4);
    snprintf(p, sizeof p, "%s/app/%s/%s", dir, task, RV__CHECKPOINT_FILE);
    rv__checkpoint_entry_t e = {"app-counts-changelog", 1, 5};
    assert_int_equal(rv__checkpoint_write(p, &e, 1, err, sizeof err), 0);
}

/* Wiping deletes the checkpoint durably (unlink, folder fsync) before it
 * touches a store: when that fsync fails the stores are still all there
 * and the checkpoint is gone; never a checkpoint beside emptied stores. */
static void test_wipe_checkpoint_first(void **state) {
    const char *dir = *state;
    rv__state_dir_t *sd;
    int owner;
    char err[512];
    assert_int_equal(rv__state_dir_open(&sd, dir, "app", err, sizeof err), 0);
    assert_int_equal(rv__state_dir_lock_task(sd, "0_1", &owner, err, sizeof err), 0);
    make_task_state(dir, "0_1");

    rv__io_fail_nth(RV__IO_FSYNC, 1, EIO); /* the fsync after the unlink */
    err[0] = 0;
    assert_int_equal(rv__state_dir_wipe_task(sd, "0_1", &owner, err, sizeof err), RV_ERR__IO);
    rv__io_fail_nth(RV__IO_FSYNC, 0, 0);
    rvt_assert_contains(err, "fsync");
    assert_false(exists(dir, "app/0_1/.checkpoint"));
    assert_true(exists(dir, "app/0_1/rocksdb/counts/000001.sst"));

    /* the fsync after the stores are deleted: a message, not silence */
    make_task_state(dir, "0_1");
    rv__io_fail_nth(RV__IO_FSYNC, 2, EIO);
    err[0] = 0;
    assert_int_equal(rv__state_dir_wipe_task(sd, "0_1", &owner, err, sizeof err), RV_ERR__IO);
    rv__io_fail_nth(RV__IO_FSYNC, 0, 0);
    rvt_assert_contains(err, "Failed to fsync folder");
    rvt_assert_contains(err, "0_1");
    assert_false(exists(dir, "app/0_1/.checkpoint"));
    assert_false(exists(dir, "app/0_1/rocksdb"));

    /* and a wipe that works */
    make_task_state(dir, "0_1");
    assert_int_equal(rv__state_dir_wipe_task(sd, "0_1", &owner, err, sizeof err), 0);
    assert_false(exists(dir, "app/0_1/.checkpoint"));
    assert_false(exists(dir, "app/0_1/rocksdb"));
    assert_true(exists(dir, "app/0_1/.lock"));
    rv__state_dir_destroy(sd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_and_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wipe_checkpoint_first, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
