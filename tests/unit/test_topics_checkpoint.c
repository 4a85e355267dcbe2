/* tests/unit/test_topics_checkpoint.c: the topic registry's checkpoint
 * files (broker/topics.c) after an interrupted delete. Checkpoint entries
 * are keyed by topic name: a delete cut short after its commit point (the
 * metadata file gone, the checkpoints not yet rewritten) leaves the old
 * topic's entries behind. Opening the folder must drop them before a topic
 * of the same name can be created, or that topic would inherit the old
 * log start offset on the next open and lose its acknowledged records. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "broker/topics.h"

static rv__topics_t *open_topics(const char *dir) {
    rv__topics_t *t;
    char errstr[512];
    if (rv__topics_open(&t, dir, errstr, sizeof errstr))
        fail_msg("open: %s", errstr);
    return t;
}

static void produce(rv__topics_t *t, const char *topic, int batches) {
    rv__topic_t *tp;
    rv__log_t *log;
    assert_int_equal(rv__topics_acquire(t, topic, 0, &tp, &log, NULL, 0), 0);
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < batches; i++) {
        b.len = 0;
        rvt_make_batch(&b, 10, "k", 20, 1000);
        assert_int_equal(rv__log_append(log, b.data, b.len, RV__APPEND_SYNC, NULL, NULL, 0), 0);
    }
    rv__buf_free(&b);
    rv__topics_release(t, tp);
}

/* Removes the only __meta/<id>.meta file: the state a crash leaves right
 * after rv__topics_delete's commit point. */
static void remove_meta(const char *dir) {
    char mdir[4200], path[4500];
    snprintf(mdir, sizeof mdir, "%s/%s", dir, RV__TOPICS_META_DIR);
    DIR *d = opendir(mdir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 5 && !strcmp(de->d_name + len - 5, ".meta")) {
            snprintf(path, sizeof path, "%s/%s", mdir, de->d_name);
            assert_int_equal(unlink(path), 0);
            n++;
        }
    }
    closedir(d);
    assert_int_equal(n, 1);
}

static void test_recreated_topic_ignores_stale_checkpoint_entries(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char errstr[512];
    rv__topics_t *t = open_topics(dir);
    assert_int_equal(rv__topics_create(t, "orders", 1, 1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    produce(t, "orders", 5);
    int64_t low;
    assert_int_equal(rv__topics_delete_records(t, "orders", 0, 40, &low, errstr, sizeof errstr), 0);
    rv__topics_close(t);

    /* The process dies inside rv__topics_delete("orders") just after the
     * metadata file is gone. */
    remove_meta(dir);

    /* Restart, create "orders" again, produce 20 records with acks=all,
     * and die before anything writes the checkpoints again. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        rv__topics_t *c;
        if (rv__topics_open(&c, dir, NULL, 0) ||
            rv__topics_create(c, "orders", 1, 1, NULL, NULL, 0, NULL, 0))
            _exit(2);
        rv__topic_t *tp;
        rv__log_t *log;
        if (rv__topics_acquire(c, "orders", 0, &tp, &log, NULL, 0))
            _exit(3);
        rv__buf_t b = RV__BUF_INIT;
        for (int i = 0; i < 2; i++) {
            b.len = 0;
            rvt_make_batch(&b, 10, "k", 20, 1000);
            if (rv__log_append(log, b.data, b.len, RV__APPEND_SYNC, NULL, NULL, 0))
                _exit(4);
        }
        _exit(0); /* acknowledged; then the crash */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    t = open_topics(dir);
    rv__topic_info_t info;
    assert_int_equal(rv__topics_describe(t, "orders", &info, errstr, sizeof errstr), 0);
    int64_t start = info.log_start_offsets[0], end = info.end_offsets[0];
    rv__topic_info_clear(&info);
    rv__topics_close(t);
    rvt_rmtree(dir);
    free(dir);
    /* The new topic's 20 acknowledged records are all still there. */
    assert_int_equal(start, 0);
    assert_int_equal(end, 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recreated_topic_ignores_stale_checkpoint_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
