/* tests/unit/test_broker_lock.c: the per-process broker registry and the
 * folder lock (broker/broker.c) under a close racing an open of the same
 * folder. POSIX record locks belong to the process, so an open that locked
 * the folder while the last close was still tearing down would lose the
 * lock when that close shut its descriptor of .lock, leaving the folder
 * open but unlocked for other processes. The test checks from a child
 * process that the folder stays locked through many close/open rounds. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/topics.h"
#include "rivulet/broker.h"

static void *close_thread(void *arg) {
    rv_broker_close(arg);
    return NULL;
}

/* 1 when some other process holds a lock on DIR/.lock. */
static int locked_by_other(const char *dir) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/.lock", dir);
        int fd = open(path, O_RDWR);
        if (fd < 0)
            _exit(2);
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        _exit(fcntl(fd, F_SETLK, &fl) < 0 ? 1 : 0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st) == 1;
}

static void test_close_open_race_keeps_folder_locked(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char errstr[512];
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    /* Some partitions, so that closing takes a moment. */
    assert_int_equal(
        rv__topics_create(rv__broker_topics(b), "t", 16, 1, NULL, NULL, 0, errstr, sizeof errstr),
        0);
    assert_true(locked_by_other(dir)); /* the check itself works */
    int lost = 0, iters = 0;
    for (int i = 0; i < 200 && !lost; i++, iters++) {
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, close_thread, b), 0);
        /* Land at different points of the close. */
        struct timespec ts = {0, (long)(i % 40) * 25000L};
        nanosleep(&ts, NULL);
        rv_broker_t *b2;
        assert_int_equal(rv_broker_open(&b2, dir, errstr, sizeof errstr), 0);
        pthread_join(th, NULL);
        /* b2 is open now (the only reference): the folder must be locked
         * against other processes. */
        if (!locked_by_other(dir))
            lost = 1;
        b = b2;
    }
    rv_broker_close(b);
    rvt_rmtree(dir);
    free(dir);
    if (lost)
        fail_msg("after %d close/open rounds the open broker no longer holds the folder lock",
                 iters);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_open_race_keeps_folder_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
