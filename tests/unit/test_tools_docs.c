/* tests/unit/test_tools_docs.c: the tools' documentation is true.
 * docs/CONFIGURATION.md must equal `rivulet config-docs`, and every
 * ```console block of docs/TOOLS.md is run: each "$ command" line goes
 * through /bin/sh (with "rivulet" meaning the program under test and
 * /tmp/rivulet-demo a fresh temporary folder), and its standard output and
 * standard error together must equal the lines under it. Topic ids are
 * random, so the 22 characters after "TopicId: " are not compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "testutil.h"

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    rv__buf_t b = RV__BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        assert_int_equal(rv__buf_append(&b, tmp, n), 0);
    fclose(f);
    assert_int_equal(rv__buf_append(&b, "", 1), 0);
    return (char *)b.data;
}

static char *src_path(const char *rel) {
    const char *src = getenv("RV_SRC");
    assert_non_null(src);
    size_t n = strlen(src) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", src, rel);
    return p;
}

/* Replaces every occurrence of `from` in s by `to`. Caller frees. */
static char *replace_all(const char *s, const char *from, const char *to) {
    rv__buf_t b = RV__BUF_INIT;
    size_t fl = strlen(from);
    const char *p;
    while ((p = strstr(s, from)) != NULL) {
        assert_int_equal(rv__buf_append(&b, s, (size_t)(p - s)), 0);
        assert_int_equal(rv__buf_append(&b, to, strlen(to)), 0);
        s = p + fl;
    }
    assert_int_equal(rv__buf_append(&b, s, strlen(s) + 1), 0);
    return (char *)b.data;
}

/* Blanks the value after each "TopicId: " in place. */
static void mask_ids(char *s) {
    char *p = s;
    while ((p = strstr(p, "TopicId: ")) != NULL) {
        p += 9;
        for (; *p && *p != '\t' && *p != '\n'; p++)
            *p = '*';
    }
}

static void test_configuration_md(void **state) {
    (void)state;
    rv__buf_t out = RV__BUF_INIT;
    assert_int_equal(rvt_cli(&out, NULL, "config-docs"), 0);
    char *path = src_path("docs/CONFIGURATION.md");
    char *file = read_all(path);
    if (strcmp(file, (const char *)out.data) != 0)
        fail_msg("docs/CONFIGURATION.md differs from `rivulet config-docs`; regenerate it with "
                 "`rivulet config-docs > docs/CONFIGURATION.md`");
    /* Both tables are there, with a row of each. */
    assert_non_null(strstr(file, "\n## Client and application properties\n"));
    assert_non_null(strstr(file, "\n## Topic configs\n"));
    assert_non_null(strstr(file, "bootstrap.servers"));
    assert_non_null(strstr(file, "segment.bytes"));
    assert_int_equal(rvt_cli(NULL, NULL, "config-docs --bogus"), 1);
    free(file);
    free(path);
    rv__buf_free(&out);
}

/* Runs one documented command and compares its output: 0 when equal, -1
 * after printing both. */
static int run_example(const char *dir, const char *cmd, const char *expected, int *count) {
    const char *bin = getenv("RV_BIN");
    assert_non_null(bin);
    char *c = replace_all(cmd, "/tmp/rivulet-demo", dir);
    char *want = replace_all(expected, "/tmp/rivulet-demo", dir);
    rv__buf_t sh = RV__BUF_INIT;
    assert_int_equal(strncmp(c, "rivulet ", 8) == 0 || strncmp(c, "echo ", 5) == 0, 1);
    if (strncmp(c, "rivulet ", 8) == 0)
        rv__buf_printf(&sh, "cd '%s' && ('%s' %s) 2>&1", dir, bin, c + 8);
    else
        rv__buf_printf(&sh, "cd '%s' && (%s) 2>&1", dir, c);
    FILE *p = popen((const char *)sh.data, "r");
    assert_non_null(p);
    rv__buf_t got = RV__BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
        assert_int_equal(rv__buf_append(&got, tmp, n), 0);
    pclose(p);
    assert_int_equal(rv__buf_append(&got, "", 1), 0);
    mask_ids((char *)got.data);
    mask_ids(want);
    int rc = 0;
    if (strcmp((const char *)got.data, want) != 0) {
        print_error("docs/TOOLS.md example `%s`:\n--- documented\n%s--- actual\n%s", cmd, want,
                    (const char *)got.data);
        rc = -1;
    }
    (*count)++;
    rv__buf_free(&got);
    rv__buf_free(&sh);
    free(c);
    free(want);
    return rc;
}

static void test_tools_md_examples(void **state) {
    (void)state;
    char *path = src_path("docs/TOOLS.md");
    char *doc = read_all(path);
    char *dir = rvt_tmpdir();
    int count = 0;
    bool in_block = false;
    char *cmd = NULL;
    rv__buf_t expected = RV__BUF_INIT;
    char *line = doc;
    int failed = 0;
    while (*line && !failed) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *l = strndup(line, len);
        assert_non_null(l);
        if (!in_block) {
            in_block = strcmp(l, "```console") == 0;
        } else if (strcmp(l, "```") == 0 || strncmp(l, "$ ", 2) == 0) {
            if (cmd) {
                assert_int_equal(rv__buf_append(&expected, "", 1), 0);
                failed = run_example(dir, cmd, (const char *)expected.data, &count);
                free(cmd);
                cmd = NULL;
                expected.len = 0;
            }
            if (strcmp(l, "```") == 0)
                in_block = false;
            else
                cmd = strdup(l + 2);
        } else {
            assert_non_null(cmd); /* output lines follow a command */
            assert_int_equal(rv__buf_append(&expected, l, len), 0);
            assert_int_equal(rv__buf_append(&expected, "\n", 1), 0);
        }
        free(l);
        line += len + (nl ? 1 : 0);
    }
    free(cmd);
    rv__buf_free(&expected);
    /* The folder goes before any check can fail and skip the cleanup. */
    rvt_rmtree(dir);
    free(dir);
    free(doc);
    free(path);
    assert_int_equal(failed, 0);
    assert_false(in_block);
    /* The page documents each command with several examples. */
    assert_true(count >= 20);
}

/* Every command's --help works and names its options. */
static void test_help(void **state) {
    (void)state;
    rv__buf_t err = RV__BUF_INIT;
    static const char *const cmds[] = {"topics", "configs", "delete-records"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(rvt_cli(NULL, &err, "%s --help", cmds[i]), 0);
        assert_non_null(strstr((const char *)err.data, "--bootstrap-server <String: "));
        assert_int_equal(rvt_cli(NULL, &err, "help %s", cmds[i]), 0);
        assert_non_null(strstr((const char *)err.data, "--bootstrap-server <String: "));
    }
    rv__buf_free(&err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configuration_md),
        cmocka_unit_test(test_tools_md_examples),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
