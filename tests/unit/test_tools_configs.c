/* tests/unit/test_tools_configs.c: `rivulet configs` run as a program
 * against a temporary data folder: describe (dynamic and --all), alter with
 * --add-config (including Kafka's square brackets), --add-config-file and
 * --delete-config, the --topic shortcut, and every error path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef rvt_cli_fx_t fx_t;

/* Setup that can fail: a failing setup gets no teardown from cmocka, so
 * the folder is removed here first. */
static int setup_topic(void **state) {
    rvt_cli_fx_setup(state);
    fx_t *f = *state;
    if (rvt_cli(&f->out, &f->err, "topics %s --create --topic t", f->bs) != 0) {
        print_error("cannot create topic t: %s%s", (const char *)f->out.data,
                    (const char *)f->err.data);
        rvt_cli_fx_teardown(state);
        return -1;
    }
    return 0;
}

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)
#define CONFIGS(f, ...) rvt_cli(&(f)->out, &(f)->err, "configs %s " __VA_ARGS__)

static void test_describe_alter(void **state) {
    fx_t *f = *state;
    assert_int_equal(CONFIGS(f, "--describe --entity-type topics --entity-name t", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic t are:\n");

    assert_int_equal(CONFIGS(f,
                             "--alter --entity-type topics --entity-name t --add-config "
                             "'retention.ms=1000, cleanup.policy=[compact,delete]'",
                             f->bs),
                     0);
    assert_string_equal(OUT(f), "Completed updating config for topic t.\n");
    assert_int_equal(CONFIGS(f, "--describe --entity-type topics --entity-name t", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic t are:\n"
                                "  cleanup.policy=compact,delete sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete}\n"
                                "  retention.ms=1000 sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n");

    /* The topics command shows the same overrides. */
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics %s --describe --topic t", f->bs), 0);
    rvt_assert_contains(OUT(f), "\tConfigs: cleanup.policy=compact,delete,retention.ms=1000\n");

    /* --topic is the short form; set and delete in one go. */
    assert_int_equal(CONFIGS(f,
                             "--alter --topic t --add-config segment.ms=60000 --delete-config "
                             "retention.ms",
                             f->bs),
                     0);
    assert_string_equal(OUT(f), "Completed updating config for topic t.\n");
    assert_int_equal(CONFIGS(f, "--describe --topic t", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic t are:\n"
                                "  cleanup.policy=compact,delete sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete}\n"
                                "  segment.ms=60000 sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:segment.ms=60000}\n");

    assert_int_equal(
        CONFIGS(f, "--alter --topic t --delete-config cleanup.policy,segment.ms", f->bs), 0);
    assert_int_equal(CONFIGS(f, "--describe --topic t", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic t are:\n");
}

static void test_describe_all(void **state) {
    fx_t *f = *state;
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config retention.ms=1000", f->bs), 0);
    assert_int_equal(CONFIGS(f, "--describe --topic t --all", f->bs), 0);
    rvt_assert_prefix(OUT(f), "All configs for topic t are:\n  ");
    rvt_assert_contains(OUT(f), "\n  retention.ms=1000 sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n");
    rvt_assert_contains(OUT(f), "\n  segment.bytes=1073741824 sensitive=false "
                                "synonyms={DEFAULT_CONFIG:segment.bytes=1073741824}\n");
    rvt_assert_contains(OUT(f), "\n  cleanup.policy=delete sensitive=false "
                                "synonyms={DEFAULT_CONFIG:cleanup.policy=delete}\n");
    /* Sorted by name. */
    assert_true(strstr(OUT(f), "  cleanup.policy=") < strstr(OUT(f), "  segment.bytes="));

    /* No name: every topic. */
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics %s --create --topic a", f->bs), 0);
    assert_int_equal(CONFIGS(f, "--describe --entity-type topics", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic a are:\n"
                                "Dynamic configs for topic t are:\n"
                                "  retention.ms=1000 sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n");
}

static void test_add_config_file(void **state) {
    fx_t *f = *state;
    char path[4400];
    snprintf(path, sizeof path, "%s/topic.properties", f->dir);
    const char props[] = "# overrides\nretention.ms = 5000\n! other comment\n\nsegment.ms:70000\n";
    rvt_write_file(path, props, sizeof props - 1);
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config-file %s", f->bs, path), 0);
    assert_string_equal(OUT(f), "Completed updating config for topic t.\n");
    assert_int_equal(CONFIGS(f, "--describe --topic t", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic t are:\n"
                                "  retention.ms=5000 sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=5000}\n"
                                "  segment.ms=70000 sensitive=false "
                                "synonyms={DYNAMIC_TOPIC_CONFIG:segment.ms=70000}\n");
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config-file %s/none", f->bs, f->dir), 1);
    rvt_assert_prefix(ERR(f), "Error while executing config command with args '");
}

static void test_operation_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config foo.bar=1", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Error while executing config command with args '--bootstrap-server "
                              "embedded:");
    rvt_assert_contains(ERR(f), " --alter --topic t --add-config foo.bar=1'\n");
    rvt_assert_contains(ERR(f), "foo.bar");
    assert_string_equal(OUT(f), "");

    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config segment.bytes=abc", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Error while executing config command with args '");
    rvt_assert_contains(ERR(f), "segment.bytes");
    /* Nothing changed: alter is all or nothing. */
    assert_int_equal(
        CONFIGS(f, "--alter --topic t --add-config retention.ms=1,segment.ms=x", f->bs), 1);
    assert_int_equal(CONFIGS(f, "--describe --topic t", f->bs), 0);
    assert_string_equal(OUT(f), "Dynamic configs for topic t are:\n");

    assert_int_equal(CONFIGS(f, "--alter --topic t --delete-config retention.ms,segment.ms", f->bs),
                     1);
    assert_string_equal(ERR(f), "Invalid config(s): retention.ms,segment.ms\n");

    assert_int_equal(CONFIGS(f, "--describe --topic nope", f->bs), 1);
    assert_string_equal(OUT(f), "Dynamic configs for topic nope are:\n");
    rvt_assert_prefix(ERR(f), "Error while executing config command with args '");
    assert_int_equal(CONFIGS(f, "--alter --topic nope --add-config retention.ms=1", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Error while executing config command with args '");
    assert_int_equal(CONFIGS(f, "--describe --topic 'bad name'", f->bs), 1);
    rvt_assert_contains(ERR(f),
                        "is illegal, it contains a character other than ASCII alphanumerics");

    char path[4400];
    snprintf(path, sizeof path, "%s/admin.properties", f->dir);
    const char quick[] = "request.timeout.ms=1000\n";
    rvt_write_file(path, quick, sizeof quick - 1);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "configs --bootstrap-server 127.0.0.1:1 --command-config %s "
                             "--describe --topic t",
                             path),
                     1);
    rvt_assert_prefix(ERR(f), "Error while executing config command with args '");
}

static void test_usage_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(CONFIGS(f, "--topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f),
                      "Command must include exactly one action: --describe, --alter\nOption ");
    assert_int_equal(CONFIGS(f, "--describe --alter --topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Command must include exactly one action: --describe, --alter\n");
    assert_int_equal(CONFIGS(f, "--describe --topic t --add-config a=b", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option \"[describe]\" can't be used with option \"[add-config]\"\n");
    assert_int_equal(CONFIGS(f, "--describe --entity-type brokers --entity-name 0", f->bs), 1);
    assert_string_equal(ERR(f), "Invalid entity-type brokers, --entity-type must be one of topics "
                                "with the --bootstrap-server argument\n");
    assert_int_equal(CONFIGS(f, "--describe --entity-type topics --entity-type topics", f->bs), 1);
    assert_string_equal(ERR(f), "Duplicate entity type(s) specified: topics\n");
    assert_int_equal(CONFIGS(f, "--describe", f->bs), 1);
    assert_string_equal(ERR(f), "At least one entity type must be specified\n");
    assert_int_equal(CONFIGS(f, "--describe --topic t --entity-type topics", f->bs), 1);
    assert_string_equal(ERR(f), "--entity-{type,name,default} should not be used in conjunction "
                                "with specific entity flags\n");
    assert_int_equal(CONFIGS(f, "--alter --entity-type topics --add-config a=b", f->bs), 1);
    assert_string_equal(ERR(f), "an entity name must be specified with --alter of topics\n");
    assert_int_equal(CONFIGS(f, "--alter --topic t", f->bs), 1);
    assert_string_equal(ERR(f), "At least one of --add-config, --add-config-file, or "
                                "--delete-config must be specified with --alter\n");
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config a=b --add-config-file x", f->bs),
                     1);
    assert_string_equal(ERR(f),
                        "Only one of --add-config or --add-config-file must be specified\n");
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config retention.ms", f->bs), 1);
    assert_string_equal(ERR(f), "requirement failed: Invalid entity config: all configs to be "
                                "added must be in the format \"key=val\".\n");
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config a=b=c", f->bs), 1);
    rvt_assert_contains(ERR(f), "must be in the format \"key=val\"");
    assert_int_equal(rvt_cli(&f->out, &f->err, "configs --describe --topic t"), 1);
    assert_string_equal(ERR(f), "The --bootstrap-server argument must be specified\n");
    assert_int_equal(CONFIGS(f, "--describe --topic t --frobnicate", f->bs), 1);
    rvt_assert_prefix(ERR(f), "frobnicate is not a recognized option\nOption ");
    assert_int_equal(CONFIGS(f, "--describe --topic", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option topic requires an argument\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "configs"), 1);
    rvt_assert_prefix(ERR(f),
                      "Add/Remove entity config for a topic, client, user or broker\nOption ");
    assert_int_equal(rvt_cli(&f->out, &f->err, "configs --help"), 0);
    rvt_assert_contains(ERR(f), "--add-config <String: String>");
}

/* Kafka splits "" into one empty item, which is not "key=val": the
 * requirement fails and nothing is reported as updated. */
static void test_empty_add_config(void **state) {
    fx_t *f = *state;
    assert_int_equal(CONFIGS(f, "--alter --topic t --add-config ''", f->bs), 1);
    assert_string_equal(ERR(f), "requirement failed: Invalid entity config: all configs to be "
                                "added must be in the format \"key=val\".\n");
    assert_string_equal(OUT(f), "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_describe_alter, setup_topic, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_describe_all, setup_topic, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_add_config_file, setup_topic, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_operation_errors, setup_topic, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup_topic, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_add_config, setup_topic, rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
