/* tests/unit/test_logger.c: common/logger.c: level filtering, the callback,
 * the stderr line format, and logging from several threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

#include "common/logger.h"

struct capture {
    pthread_mutex_t lock;
    int count;
    int last_level;
    char last_fac[32];
    char last_msg[4096];
};

static void capture_cb(int level, const char *fac, const char *msg, void *opaque) {
    struct capture *c = opaque;
    pthread_mutex_lock(&c->lock);
    c->count++;
    c->last_level = level;
    snprintf(c->last_fac, sizeof c->last_fac, "%s", fac);
    snprintf(c->last_msg, sizeof c->last_msg, "%s", msg);
    pthread_mutex_unlock(&c->lock);
}

static struct capture cap = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int teardown(void **state) {
    (void)state;
    rv_log_set_callback(NULL, NULL);
    rv_log_set_level(RV_LOG_WARNING);
    return 0;
}

static void test_default_level(void **state) {
    (void)state;
    /* ctest does not set RV_LOG_LEVEL, so the default applies. */
    if (getenv("RV_LOG_LEVEL"))
        skip();
    assert_true(rv__log_enabled(RV_LOG_WARNING));
    assert_true(rv__log_enabled(RV_LOG_ERR));
    assert_false(rv__log_enabled(RV_LOG_NOTICE));
    assert_false(rv__log_enabled(RV_LOG_DEBUG));
}

static void test_callback_and_level(void **state) {
    (void)state;
    cap.count = 0;
    rv_log_set_callback(capture_cb, &cap);
    rv_log_set_level(RV_LOG_INFO);
    assert_int_equal(rv_log_get_level(), RV_LOG_INFO);
    rv__log_info("LOG", "opened %s at offset %d", "t-0", 42);
    assert_int_equal(cap.count, 1);
    assert_int_equal(cap.last_level, RV_LOG_INFO);
    assert_string_equal(cap.last_fac, "LOG");
    assert_string_equal(cap.last_msg, "opened t-0 at offset 42");
    rv__log_debug("LOG", "dropped");
    assert_int_equal(cap.count, 1);
    rv_log_set_level(RV_LOG_DEBUG);
    rv__log_debug("CLEANER", "kept\n");
    assert_int_equal(cap.count, 2);
    assert_string_equal(cap.last_msg, "kept"); /* trailing newline stripped */
    rv_log_set_level(RV_LOG_ERR);
    rv__log_warn("X", "dropped");
    assert_int_equal(cap.count, 2);
    rv__log_err("X", "kept");
    assert_int_equal(cap.count, 3);

    /* Long lines are not truncated. */
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rv__log_err("BIG", "%s", big);
    assert_int_equal(strlen(cap.last_msg), sizeof big - 1);
}

static void test_stderr_format(void **state) {
    (void)state;
    char path[] = "/tmp/rvlog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    rv__log_warn("RECOVERY", "truncated %d bytes", 17);
    rv__log_info("RECOVERY", "not shown");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[256] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    assert_string_equal(buf, "%rivulet WARNING RECOVERY: truncated 17 bytes\n");
}

/* Runs this program again with RV_LOG_LEVEL set; in that mode it prints
 * the lowest-priority enabled level (see main). */
static int child_level(const char *env) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "RV_LOG_LEVEL='%s' /proc/%d/exe --print-level", env, (int)getpid());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int lvl = -100;
    assert_int_equal(fscanf(p, "%d", &lvl), 1);
    pclose(p);
    return lvl;
}

static void test_env_level(void **state) {
    (void)state;
    assert_int_equal(child_level("7"), RV_LOG_DEBUG);
    assert_int_equal(child_level("0"), RV_LOG_EMERG);
    assert_int_equal(child_level("6"), RV_LOG_INFO);
    /* Nonsense is ignored: the default applies. */
    assert_int_equal(child_level("loud"), RV_LOG_WARNING);
    assert_int_equal(child_level("9"), RV_LOG_WARNING);
    assert_int_equal(child_level(""), RV_LOG_WARNING);
}

static void *log_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++)
        rv__log_warn("T", "line %d", i);
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    cap.count = 0;
    rv_log_set_callback(capture_cb, &cap);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_thread, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(cap.count, 8000);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--print-level")) {
        int lvl = -1;
        while (lvl < RV_LOG_DEBUG && rv__log_enabled(lvl + 1))
            lvl++;
        printf("%d\n", lvl);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_env_level, teardown),
        cmocka_unit_test_teardown(test_default_level, teardown),
        cmocka_unit_test_teardown(test_callback_and_level, teardown),
        cmocka_unit_test_teardown(test_stderr_format, teardown),
        cmocka_unit_test_teardown(test_threads, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
