/* tests/unit/test_conf.c: common/conf.c: rv_conf_t set/get/dup with
 * defaults and Kafka's messages, and the properties-file loader. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "common/config.h"
#include "rivulet/conf.h"

static int setup(void **state) {
    *state = rvt_tmpdir();
    return 0;
}

static int teardown(void **state) {
    rvt_rmtree(*state);
    free(*state);
    return 0;
}

static void test_set_get(void **state) {
    (void)state;
    char err[256];
    rv_conf_t *c = rv_conf_new();
    assert_non_null(c);
    /* Defaults come from the table. */
    assert_string_equal(rv_conf_get(c, "client.id"), "rivulet");
    assert_string_equal(rv_conf_get(c, "request.timeout.ms"), "30000");
    assert_null(rv_conf_get(c, "bootstrap.servers"));
    assert_null(rv_conf_get(c, "no.such.thing"));
    assert_true(rv__conf_get_int64(c, "request.timeout.ms", -5) == 30000);
    assert_true(rv__conf_get_int64(c, "bootstrap.servers", -5) == -5);

    assert_int_equal(rv_conf_set(c, "bootstrap.servers", "embedded:/tmp/x", err, sizeof err),
                     RV_CONF_OK);
    assert_string_equal(rv_conf_get(c, "bootstrap.servers"), "embedded:/tmp/x");
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", "h1:9092,h2:9092", err, sizeof err),
                     RV_CONF_OK);
    assert_string_equal(rv_conf_get(c, "bootstrap.servers"), "h1:9092,h2:9092");
    assert_int_equal(rv_conf_set(c, "request.timeout.ms", " 5000 ", err, sizeof err), RV_CONF_OK);
    assert_string_equal(rv_conf_get(c, "request.timeout.ms"), "5000");
    assert_true(rv__conf_get_int64(c, "request.timeout.ms", 0) == 5000);

    assert_int_equal(rv_conf_set(c, "no.such.thing", "1", err, sizeof err), RV_CONF_UNKNOWN);
    assert_string_equal(err, "No such configuration property: \"no.such.thing\"");

    assert_int_equal(rv_conf_set(c, "request.timeout.ms", "soon", err, sizeof err),
                     RV_CONF_INVALID);
    assert_string_equal(err, "Invalid value soon for configuration request.timeout.ms: Not a "
                             "number of type INT");
    assert_int_equal(rv_conf_set(c, "request.timeout.ms", "-1", err, sizeof err), RV_CONF_INVALID);
    assert_string_equal(err, "Invalid value -1 for configuration request.timeout.ms: Value must "
                             "be at least 0");
    /* A failed set leaves the old value. */
    assert_string_equal(rv_conf_get(c, "request.timeout.ms"), "5000");

    /* NULL unsets: back to the default. */
    assert_int_equal(rv_conf_set(c, "request.timeout.ms", NULL, err, sizeof err), RV_CONF_OK);
    assert_string_equal(rv_conf_get(c, "request.timeout.ms"), "30000");
    rv_conf_destroy(c);
    rv_conf_destroy(NULL);
}

static void test_dup(void **state) {
    (void)state;
    char err[256];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "client.id", "app-1", err, sizeof err), RV_CONF_OK);
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", "embedded:d", err, sizeof err),
                     RV_CONF_OK);
    rv_conf_t *d = rv_conf_dup(c);
    assert_non_null(d);
    assert_int_equal(rv_conf_set(c, "client.id", "changed", err, sizeof err), RV_CONF_OK);
    assert_string_equal(rv_conf_get(d, "client.id"), "app-1");
    assert_string_equal(rv_conf_get(d, "bootstrap.servers"), "embedded:d");
    assert_string_equal(rv_conf_get(c, "client.id"), "changed");
    rv_conf_destroy(c);
    assert_string_equal(rv_conf_get(d, "client.id"), "app-1");
    rv_conf_destroy(d);

    rv_conf_t *e = rv_conf_new();
    rv_conf_t *f = rv_conf_dup(e);
    assert_non_null(f);
    assert_string_equal(rv_conf_get(f, "client.id"), "rivulet");
    rv_conf_destroy(e);
    rv_conf_destroy(f);
}

/* Every row of the table is well-formed and its default passes its own
 * checker. */
static void test_table_defaults_valid(void **state) {
    (void)state;
    for (const rv__prop_t *p = rv__conf_props; p->name; p++) {
        assert_non_null(p->doc);
        if (p->dflt) {
            char err[256];
            if (rv__prop_check(p, p->dflt, err, sizeof err) != RV_CONF_OK)
                fail_msg("default of %s invalid: %s", p->name, err);
        }
        if (p[1].name)
            assert_true(strcmp(p->name, p[1].name) < 0); /* sorted, unique */
    }
}

static char *write_props(const char *dir, const char *text) {
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/app.properties", dir);
    rvt_write_file(path, text, strlen(text));
    return path;
}

static void test_load_file(void **state) {
    char err[512];
    char *path = write_props(*state, "# a comment\n"
                                     "! another comment\n"
                                     "\n"
                                     "   \t\n"
                                     "bootstrap.servers = embedded:/var/lib/app\r\n"
                                     "  client.id=my-app\n"
                                     "request.timeout.ms=1234");
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_load_file(c, path, err, sizeof err), RV_CONF_OK);
    assert_string_equal(rv_conf_get(c, "bootstrap.servers"), "embedded:/var/lib/app");
    assert_string_equal(rv_conf_get(c, "client.id"), "my-app");
    assert_string_equal(rv_conf_get(c, "request.timeout.ms"), "1234");
    rv_conf_destroy(c);
    free(path);
}

static void test_load_file_errors(void **state) {
    char err[512], want[1024];
    char *path = write_props(*state, "client.id=first\n"
                                     "# ok so far\n"
                                     "request.timeout.ms=abc\n"
                                     "bootstrap.servers=never-set\n");
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_load_file(c, path, err, sizeof err), RV_CONF_INVALID);
    snprintf(want, sizeof want,
             "%s:3: Invalid value abc for configuration request.timeout.ms: Not a number of "
             "type INT",
             path);
    assert_string_equal(err, want);
    /* Lines before the bad one stay set, lines after it are not read. */
    assert_string_equal(rv_conf_get(c, "client.id"), "first");
    assert_null(rv_conf_get(c, "bootstrap.servers"));
    free(path);

    path = write_props(*state, "\nfoo.bar=1\n");
    assert_int_equal(rv_conf_load_file(c, path, err, sizeof err), RV_CONF_UNKNOWN);
    snprintf(want, sizeof want, "%s:2: No such configuration property: \"foo.bar\"", path);
    assert_string_equal(err, want);
    free(path);

    path = write_props(*state, "client.id=x\njust some words\n");
    assert_int_equal(rv_conf_load_file(c, path, err, sizeof err), RV_CONF_INVALID);
    snprintf(want, sizeof want, "%s:2:", path);
    assert_memory_equal(err, want, strlen(want));
    free(path);

    char missing[4096];
    snprintf(missing, sizeof missing, "%s/missing.properties", (char *)*state);
    assert_int_equal(rv_conf_load_file(c, missing, err, sizeof err), RV_CONF_INVALID);
    assert_non_null(strstr(err, missing));
    rv_conf_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get),
        cmocka_unit_test(test_dup),
        cmocka_unit_test(test_table_defaults_valid),
        cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_file_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
