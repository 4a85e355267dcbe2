/* tests/unit/test_topics.c: the topic registry (broker/topics.c) on real
 * folders: Kafka's name rules and messages, create/list/describe/delete,
 * partitions, the on-disk layout (metadata files, checkpoints), orphan
 * cleanup and reloading. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/topics.h"
#include "common/fileio.h"
#include "rivulet/log.h"

typedef struct fixture_s {
    char *dir;
    rv__topics_t *t;
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = rvt_tmpdir();
    char errstr[512];
    if (rv__topics_open(&f->t, f->dir, errstr, sizeof errstr)) {
        fprintf(stderr, "open: %s\n", errstr);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    rv__topics_close(f->t);
    rvt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void reopen(fixture_t *f) {
    char errstr[512];
    rv__topics_close(f->t);
    f->t = NULL;
    if (rv__topics_open(&f->t, f->dir, errstr, sizeof errstr))
        fail_msg("reopen: %s", errstr);
}

static bool exists(const char *dir, const char *name) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void create_ok(rv__topics_t *t, const char *name, int32_t parts) {
    char errstr[512] = "";
    rv_err_t err = rv__topics_create(t, name, parts, 1, NULL, NULL, 0, errstr, sizeof errstr);
    if (err)
        fail_msg("create %s: %s: %s", name, rv_err_name(err), errstr);
}

static void expect_create(rv__topics_t *t, const char *name, int32_t parts, int16_t rf,
                          rv_err_t want, const char *msg) {
    char errstr[1024] = "";
    assert_int_equal(rv__topics_create(t, name, parts, rf, NULL, NULL, 0, errstr, sizeof errstr),
                     want);
    if (msg)
        assert_string_equal(errstr, msg);
}

static void append_records(rv__topics_t *t, const char *name, int32_t p, int n) {
    rv__buf_t b = RV__BUF_INIT;
    rvt_make_batch(&b, n, "k", 10, 1000);
    rv__topic_t *tp;
    rv__log_t *log;
    char errstr[512];
    assert_int_equal(rv__topics_acquire(t, name, p, &tp, &log, errstr, sizeof errstr), 0);
    rv__append_info_t info;
    assert_int_equal(rv__log_append(log, b.data, b.len, 0, &info, errstr, sizeof errstr), 0);
    rv__topics_release(t, tp);
    rv__buf_free(&b);
}

/* ---- names ---- */

static char warnings[4096];
static void log_cb(int level, const char *fac, const char *msg, void *opaque) {
    (void)fac;
    (void)opaque;
    if (level <= RV_LOG_WARNING)
        snprintf(warnings + strlen(warnings), sizeof warnings - strlen(warnings), "%s\n", msg);
}

static void test_name_rules(void **state) {
    fixture_t *f = *state;
    expect_create(f->t, "", 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION,
                  "Topic name is illegal, it can't be empty");
    expect_create(f->t, ".", 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION,
                  "Topic name cannot be \".\" or \"..\"");
    expect_create(f->t, "..", 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION,
                  "Topic name cannot be \".\" or \"..\"");
    char long_name[251];
    memset(long_name, 'a', 250);
    long_name[250] = '\0';
    char msg[1024];
    snprintf(msg, sizeof msg,
             "Topic name is illegal, it can't be longer than 249 characters, topic name: %s",
             long_name);
    expect_create(f->t, long_name, 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION, msg);
    long_name[249] = '\0'; /* 249 is fine */
    create_ok(f->t, long_name, 1);
    for (const char *const *bad =
             (const char *const[]){"a b", "a/b", "caf\xc3\xa9", "x*", "a:b", NULL};
         *bad; bad++) {
        snprintf(msg, sizeof msg,
                 "Topic name \"%s\" is illegal, it contains a character other than ASCII "
                 "alphanumerics, '.', '_' and '-'",
                 *bad);
        expect_create(f->t, *bad, 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION, msg);
    }
    create_ok(f->t, "Az09._-", 1);

    /* Mixing '.' and '_' works but warns. */
    warnings[0] = '\0';
    rv_log_set_callback(log_cb, NULL);
    create_ok(f->t, "mixed.name_here", 1);
    rv_log_set_callback(NULL, NULL);
    assert_non_null(strstr(warnings, "Due to limitations in metric names, topics with a "
                                     "period ('.') or underscore ('_') could collide. To avoid "
                                     "issues it is best to use either, but not both."));

    /* Collisions after mapping '.' to '_'. */
    create_ok(f->t, "a_b", 1);
    expect_create(f->t, "a.b", 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION,
                  "Topic 'a.b' collides with existing topics: a_b");
    create_ok(f->t, "x.y", 1);
    expect_create(f->t, "x_y", 1, 1, RV_ERR_INVALID_TOPIC_EXCEPTION,
                  "Topic 'x_y' collides with existing topics: x.y");
    assert_true(rv__topic_names_collide("a.b_c", "a_b.c"));
    assert_false(rv__topic_names_collide("ab", "a_b"));
    expect_create(f->t, "a_b", 1, 1, RV_ERR_TOPIC_ALREADY_EXISTS, "Topic 'a_b' already exists.");
}

static void test_counts_and_replication(void **state) {
    fixture_t *f = *state;
    expect_create(f->t, "t", 0, 1, RV_ERR_INVALID_PARTITIONS,
                  "Number of partitions was set to an invalid non-positive value.");
    expect_create(f->t, "t", -5, 1, RV_ERR_INVALID_PARTITIONS, NULL);
    expect_create(f->t, "t", 1, 0, RV_ERR_INVALID_REPLICATION_FACTOR,
                  "Replication factor must be larger than 0, or -1 to use the default value.");
    char errstr[1024];
    assert_int_equal(rv__topics_create(f->t, "t", 1, 3, NULL, NULL, 0, errstr, sizeof errstr),
                     RV_ERR_INVALID_REPLICATION_FACTOR);
    assert_non_null(strstr(errstr, "Unable to replicate the partition 3 time(s)"));
    assert_non_null(strstr(errstr, "bootstrap.servers=host:port"));
    assert_false(exists(f->dir, "t-0")); /* nothing made for a rejected topic */

    /* -1 means the defaults: one partition, one replica. */
    assert_int_equal(rv__topics_create(f->t, "t", -1, -1, NULL, NULL, 0, errstr, sizeof errstr), 0);
    rv__topic_info_t info;
    assert_int_equal(rv__topics_describe(f->t, "t", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.partition_cnt, 1);
    assert_int_equal(info.replication_factor, 1);
    rv__topic_info_clear(&info);

    const char *n[] = {"segment.bytes"};
    const char *v[] = {"1"};
    assert_int_equal(rv__topics_create(f->t, "u", 1, 1, n, v, 1, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    assert_string_equal(
        errstr, "Invalid value 1 for configuration segment.bytes: Value must be at least 14");
    const char *n2[] = {"bogus"};
    assert_int_equal(rv__topics_create(f->t, "u", 1, 1, n2, v, 1, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    assert_string_equal(errstr, "Unknown topic config name: bogus");
    assert_false(exists(f->dir, "u-0"));
}

static void test_id_format(void **state) {
    (void)state;
    uint8_t id[16];
    char s[23];
    memset(id, 0, sizeof id);
    rv__topic_id_to_str(id, s);
    assert_string_equal(s, "AAAAAAAAAAAAAAAAAAAAAA");
    memset(id, 0xff, sizeof id);
    rv__topic_id_to_str(id, s);
    assert_string_equal(s, "_____________________w");
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(i * 17);
    rv__topic_id_to_str(id, s);
    /* base64url of 00 11 22 ... ff */
    assert_string_equal(s, "ABEiM0RVZneImaq7zN3u_w");
}

/* ---- lifecycle and layout ---- */

static void test_create_list_describe_delete(void **state) {
    fixture_t *f = *state;
    create_ok(f->t, "orders", 3);
    create_ok(f->t, "__internal", 1);
    create_ok(f->t, "alpha", 1);
    assert_true(exists(f->dir, "orders-0") && exists(f->dir, "orders-2"));
    assert_false(exists(f->dir, "orders-3"));

    char **names;
    size_t cnt;
    assert_int_equal(rv__topics_list(f->t, false, &names, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_string_equal(names[0], "alpha");
    assert_string_equal(names[1], "orders");
    for (size_t i = 0; i < cnt; i++)
        free(names[i]);
    free(names);
    assert_int_equal(rv__topics_list(f->t, true, &names, &cnt), 0);
    assert_int_equal(cnt, 3);
    assert_string_equal(names[0], "__internal");
    for (size_t i = 0; i < cnt; i++)
        free(names[i]);
    free(names);

    append_records(f->t, "orders", 1, 5);
    rv__topic_info_t info;
    char errstr[512];
    assert_int_equal(rv__topics_describe(f->t, "orders", &info, errstr, sizeof errstr), 0);
    assert_string_equal(info.name, "orders");
    assert_int_equal(strlen(info.id), 22);
    assert_int_equal(info.partition_cnt, 3);
    assert_int_equal(info.end_offsets[0], 0);
    assert_int_equal(info.end_offsets[1], 5);
    assert_int_equal(info.log_start_offsets[1], 0);
    assert_int_equal(info.config_cnt, 0);
    /* The metadata file is named by the topic id. */
    char meta[128];
    snprintf(meta, sizeof meta, "__meta/%s.meta", info.id);
    assert_true(exists(f->dir, meta));
    rv__topic_info_clear(&info);

    assert_int_equal(rv__topics_delete(f->t, "orders", errstr, sizeof errstr), 0);
    assert_false(exists(f->dir, meta));
    assert_false(exists(f->dir, "orders-0") || exists(f->dir, "orders-1"));
    assert_int_equal(rv__topics_describe(f->t, "orders", &info, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_string_equal(errstr, "Topic 'orders' does not exist.");
    assert_int_equal(rv__topics_delete(f->t, "orders", errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rv__topic_t *tp;
    rv__log_t *log;
    assert_int_equal(rv__topics_acquire(f->t, "orders", 0, &tp, &log, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);

    /* The name is free again, with a new id and empty logs. */
    create_ok(f->t, "orders", 1);
    assert_int_equal(rv__topics_describe(f->t, "orders", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.end_offsets[0], 0);
    rv__topic_info_clear(&info);
}

static void test_reload_and_checkpoints(void **state) {
    fixture_t *f = *state;
    const char *n[] = {"retention.ms", "cleanup.policy"};
    const char *v[] = {" 123456 ", "compact,delete"};
    char errstr[512];
    assert_int_equal(rv__topics_create(f->t, "b", 2, 1, n, v, 2, errstr, sizeof errstr), 0);
    create_ok(f->t, "a", 1);
    append_records(f->t, "b", 0, 4);
    append_records(f->t, "b", 0, 3);
    append_records(f->t, "a", 0, 2);
    rv__topic_info_t before;
    assert_int_equal(rv__topics_describe(f->t, "b", &before, errstr, sizeof errstr), 0);

    reopen(f);
    rv__topic_info_t after;
    assert_int_equal(rv__topics_describe(f->t, "b", &after, errstr, sizeof errstr), 0);
    assert_string_equal(after.id, before.id);
    assert_int_equal(after.partition_cnt, 2);
    assert_int_equal(after.end_offsets[0], 7);
    assert_int_equal(after.config_cnt, 2);
    /* Values are stored trimmed, as the checker read them. */
    for (size_t i = 0; i < after.config_cnt; i++) {
        if (!strcmp(after.config_names[i], "retention.ms"))
            assert_string_equal(after.config_values[i], "123456");
        else
            assert_string_equal(after.config_values[i], "compact,delete");
    }
    rv__topic_info_clear(&before);
    rv__topic_info_clear(&after);

    /* Kafka's checkpoint format, sorted by topic and partition; everything
     * was flushed on close. */
    char path[4096];
    rv__buf_t b = RV__BUF_INIT;
    snprintf(path, sizeof path, "%s/%s", f->dir, RV__RECOVERY_POINT_CHECKPOINT);
    assert_int_equal(rv__io_read_file(path, &b, errstr, sizeof errstr), 0);
    rv__buf_append(&b, "", 1);
    assert_string_equal((char *)b.data, "0\n3\na 0 2\nb 0 7\nb 1 0\n");
    rv__buf_free(&b);
    snprintf(path, sizeof path, "%s/%s", f->dir, RV__LOG_START_CHECKPOINT);
    assert_int_equal(rv__io_read_file(path, &b, errstr, sizeof errstr), 0);
    rv__buf_append(&b, "", 1);
    assert_string_equal((char *)b.data, "0\n3\na 0 0\nb 0 0\nb 1 0\n");
    rv__buf_free(&b);
}

static void test_create_partitions(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    create_ok(f->t, "p", 1);
    append_records(f->t, "p", 0, 3);
    assert_int_equal(rv__topics_create_partitions(f->t, "p", 3, errstr, sizeof errstr), 0);
    assert_true(exists(f->dir, "p-1") && exists(f->dir, "p-2"));
    assert_int_equal(rv__topics_create_partitions(f->t, "p", 2, errstr, sizeof errstr),
                     RV_ERR_INVALID_PARTITIONS);
    assert_string_equal(errstr,
                        "Topic currently has 3 partitions, which is higher than the requested 2.");
    assert_int_equal(rv__topics_create_partitions(f->t, "p", 3, errstr, sizeof errstr),
                     RV_ERR_INVALID_PARTITIONS);
    assert_string_equal(errstr, "Topic already has 3 partition(s).");
    assert_int_equal(rv__topics_create_partitions(f->t, "nope", 3, errstr, sizeof errstr),
                     RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    append_records(f->t, "p", 2, 1);
    reopen(f);
    rv__topic_info_t info;
    assert_int_equal(rv__topics_describe(f->t, "p", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.partition_cnt, 3);
    assert_int_equal(info.end_offsets[0], 3);
    assert_int_equal(info.end_offsets[1], 0);
    assert_int_equal(info.end_offsets[2], 1);
    rv__topic_info_clear(&info);
}

static void test_orphans_removed(void **state) {
    fixture_t *f = *state;
    create_ok(f->t, "t", 2);
    append_records(f->t, "t", 0, 2);
    rv__topics_close(f->t);
    f->t = NULL;

    /* What interrupted operations leave behind. */
    char path[4096];
    const char *dirs[] = {"ghost-0", "t-5", "t-0.0123abcd-delete", "notapartition", "x-y"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, dirs[i]);
        assert_int_equal(rv__io_mkdirs(path, 0755), 0);
    }
    snprintf(path, sizeof path, "%s/ghost-0/00000000000000000000.log", f->dir);
    rvt_write_file(path, "junk", 4);
    snprintf(path, sizeof path, "%s/__meta/AAAAAAAAAAAAAAAAAAAAAA.meta.tmp", f->dir);
    rvt_write_file(path, "partial", 7);

    char errstr[512];
    assert_int_equal(rv__topics_open(&f->t, f->dir, errstr, sizeof errstr), 0);
    assert_false(exists(f->dir, "ghost-0"));
    assert_false(exists(f->dir, "t-5"));
    assert_false(exists(f->dir, "t-0.0123abcd-delete"));
    assert_false(exists(f->dir, "__meta/AAAAAAAAAAAAAAAAAAAAAA.meta.tmp"));
    /* Folders that are no partition of anything are not ours to remove. */
    assert_true(exists(f->dir, "notapartition"));
    assert_true(exists(f->dir, "x-y"));
    assert_true(exists(f->dir, "t-0") && exists(f->dir, "t-1"));
    rv__topic_info_t info;
    assert_int_equal(rv__topics_describe(f->t, "t", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.end_offsets[0], 2);
    rv__topic_info_clear(&info);
}

static void test_bad_metadata_fails_open(void **state) {
    fixture_t *f = *state;
    create_ok(f->t, "t", 1);
    rv__topics_close(f->t);
    f->t = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/__meta/BBBBBBBBBBBBBBBBBBBBBB.meta", f->dir);
    rvt_write_file(path, "\x93\x01\x02", 3); /* a msgpack array, not a map */
    char errstr[512];
    assert_int_not_equal(rv__topics_open(&f->t, f->dir, errstr, sizeof errstr), 0);
    assert_non_null(strstr(errstr, "BBBBBBBBBBBBBBBBBBBBBB.meta"));
    /* The data of the good topic is untouched. */
    assert_true(exists(f->dir, "t-0"));
    unlink(path);
    assert_int_equal(rv__topics_open(&f->t, f->dir, errstr, sizeof errstr), 0);
}

static void test_alter_configs(void **state) {
    fixture_t *f = *state;
    char errstr[512];
    const char *n[] = {"retention.ms", "segment.bytes"};
    const char *v[] = {"1000", "4096"};
    assert_int_equal(rv__topics_create(f->t, "c", 1, 1, n, v, 2, errstr, sizeof errstr), 0);
    const char *sn[] = {"cleanup.policy"};
    const char *sv[] = {"compact"};
    const char *dn[] = {"retention.ms"};
    assert_int_equal(rv__topics_alter_configs(f->t, "c", sn, sv, 1, dn, 1, errstr, sizeof errstr),
                     0);
    const char *badv[] = {"nope"};
    assert_int_equal(
        rv__topics_alter_configs(f->t, "c", sn, badv, 1, NULL, 0, errstr, sizeof errstr),
        RV_ERR_INVALID_CONFIG);
    assert_string_equal(errstr, "Invalid value nope for configuration cleanup.policy: String "
                                "must be one of: compact, delete");
    const char *unk[] = {"nope.ms"};
    assert_int_equal(
        rv__topics_alter_configs(f->t, "c", NULL, NULL, 0, unk, 1, errstr, sizeof errstr),
        RV_ERR_INVALID_CONFIG);
    assert_string_equal(errstr, "Unknown topic config name: nope.ms");
    assert_int_equal(rv__topics_alter_configs(f->t, "c", sn, sv, 1, sn, 1, errstr, sizeof errstr),
                     RV_ERR_INVALID_REQUEST);
    assert_int_equal(
        rv__topics_alter_configs(f->t, "zz", sn, sv, 1, NULL, 0, errstr, sizeof errstr),
        RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    reopen(f);
    rv__topic_info_t info;
    assert_int_equal(rv__topics_describe(f->t, "c", &info, errstr, sizeof errstr), 0);
    assert_int_equal(info.config_cnt, 2);
    bool seg = false, pol = false;
    for (size_t i = 0; i < info.config_cnt; i++) {
        if (!strcmp(info.config_names[i], "segment.bytes"))
            seg = !strcmp(info.config_values[i], "4096");
        if (!strcmp(info.config_names[i], "cleanup.policy"))
            pol = !strcmp(info.config_values[i], "compact");
    }
    assert_true(seg && pol);
    rv__topic_info_clear(&info);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_name_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_and_replication, setup, teardown),
        cmocka_unit_test(test_id_format),
        cmocka_unit_test_setup_teardown(test_create_list_describe_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_and_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphans_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_metadata_fails_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alter_configs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
