/* tests/unit/test_tools_topics.c: `rivulet topics` run as a program against
 * a temporary data folder: every action's exact output, and every usage
 * and operation error with Kafka's text and exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"
#include "testutil.h"

typedef rvt_cli_fx_t fx_t;

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)

/* Runs `rivulet topics <bootstrap> ARGS`. */
#define TOPICS(f, ...) rvt_cli(&(f)->out, &(f)->err, "topics %s " __VA_ARGS__)

/* Replaces the 22-character topic id after "TopicId: " with "ID" so that
 * describe output compares exactly. */
static char *mask_ids(const char *s) {
    char *r = strdup(s);
    assert_non_null(r);
    char *p = r;
    while ((p = strstr(p, "TopicId: ")) != NULL) {
        p += 9;
        size_t n = strcspn(p, "\t\n");
        assert_int_equal(n, 22);
        memcpy(p, "ID", 2);
        memmove(p + 2, p + n, strlen(p + n) + 1);
    }
    return r;
}

static void create_ok(fx_t *f, const char *topic, const char *extra) {
    assert_int_equal(TOPICS(f, "--create --topic %s %s", f->bs, topic, extra), 0);
    char want[512];
    snprintf(want, sizeof want, "Created topic %s.\n", topic);
    assert_string_equal(OUT(f), want);
}

static void test_create_list_delete(void **state) {
    fx_t *f = *state;
    /* An empty broker lists as one empty line, as Kafka's println does. */
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
    assert_string_equal(OUT(f), "\n");

    create_ok(f, "orders", "--partitions 3 --replication-factor 1");
    create_ok(f, "clicks", "");
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
    assert_string_equal(OUT(f), "clicks\norders\n");
    assert_int_equal(TOPICS(f, "--list --exclude-internal", f->bs), 0);
    assert_string_equal(OUT(f), "clicks\norders\n");
    /* --topic is a regular expression matched against whole names. */
    assert_int_equal(TOPICS(f, "--list --topic 'ord.*'", f->bs), 0);
    assert_string_equal(OUT(f), "orders\n");
    assert_int_equal(TOPICS(f, "--list --topic ord", f->bs), 0);
    assert_string_equal(OUT(f), "\n");
    assert_int_equal(TOPICS(f, "--list --topic 'orders,clicks'", f->bs), 0);
    assert_string_equal(OUT(f), "clicks\norders\n");

    assert_int_equal(TOPICS(f, "--delete --topic orders", f->bs), 0);
    assert_string_equal(OUT(f), "");
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
    assert_string_equal(OUT(f), "clicks\n");

    assert_int_equal(TOPICS(f, "--delete --topic orders", f->bs), 1);
    assert_string_equal(OUT(f),
                        "Error while executing topic command : Topic 'orders' does not exist as "
                        "expected\n");
    assert_int_equal(TOPICS(f, "--delete --topic orders --if-exists", f->bs), 0);
    assert_string_equal(OUT(f), "");
}

static void test_create_warning_and_if_not_exists(void **state) {
    fx_t *f = *state;
    assert_int_equal(TOPICS(f, "--create --topic my.topic", f->bs), 0);
    assert_string_equal(OUT(f), "WARNING: Due to limitations in metric names, topics with a period "
                                "('.') or underscore ('_') could collide. To avoid issues it is "
                                "best to use either, but not both.\nCreated topic my.topic.\n");
    /* Mixed '.' and '_': the library's own log line is not shown twice. */
    assert_int_equal(TOPICS(f, "--create --topic my.mixed_name", f->bs), 0);
    assert_string_equal(ERR(f), "");

    assert_int_equal(TOPICS(f, "--create --topic t1", f->bs), 0);
    assert_int_equal(TOPICS(f, "--create --topic t1", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    rvt_assert_contains(OUT(f), "t1");
    assert_int_equal(TOPICS(f, "--create --topic t1 --if-not-exists", f->bs), 0);
    assert_string_equal(OUT(f), "");
}

static void test_internal_topics(void **state) {
    fx_t *f = *state;
    assert_int_equal(TOPICS(f, "--create --topic __state", f->bs), 0);
    create_ok(f, "a", "");
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
    assert_string_equal(OUT(f), "__state\na\n");
    assert_int_equal(TOPICS(f, "--list --exclude-internal", f->bs), 0);
    assert_string_equal(OUT(f), "a\n");
    assert_int_equal(TOPICS(f, "--describe --exclude-internal", f->bs), 0);
    assert_null(strstr(OUT(f), "__state"));
    assert_non_null(strstr(OUT(f), "Topic: a\t"));
    assert_int_equal(TOPICS(f, "--describe", f->bs), 0);
    assert_non_null(strstr(OUT(f), "Topic: __state\t"));
}

static void test_describe(void **state) {
    fx_t *f = *state;
    create_ok(f, "orders",
              "--partitions 2 --config retention.ms=1000 --config "
              "'cleanup.policy = compact'");
    create_ok(f, "plain", "");

    assert_int_equal(TOPICS(f, "--describe --topic orders", f->bs), 0);
    char *got = mask_ids(OUT(f));
    assert_string_equal(got, "Topic: orders\tTopicId: ID\tPartitionCount: 2\tReplicationFactor: "
                             "1\tConfigs: cleanup.policy=compact,retention.ms=1000\n"
                             "\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: "
                             "0\tLogStartOffset: 0\tEndOffset: 0\n"
                             "\tTopic: orders\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: "
                             "0\tLogStartOffset: 0\tEndOffset: 0\n");
    free(got);

    /* Every topic when --topic is absent, in name order. */
    assert_int_equal(TOPICS(f, "--describe", f->bs), 0);
    got = mask_ids(OUT(f));
    assert_string_equal(got, "Topic: orders\tTopicId: ID\tPartitionCount: 2\tReplicationFactor: "
                             "1\tConfigs: cleanup.policy=compact,retention.ms=1000\n"
                             "\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: "
                             "0\tLogStartOffset: 0\tEndOffset: 0\n"
                             "\tTopic: orders\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: "
                             "0\tLogStartOffset: 0\tEndOffset: 0\n"
                             "Topic: plain\tTopicId: ID\tPartitionCount: 1\tReplicationFactor: "
                             "1\tConfigs: \n"
                             "\tTopic: plain\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: "
                             "0\tLogStartOffset: 0\tEndOffset: 0\n");
    free(got);

    /* Only topics with overrides, without partitions. */
    assert_int_equal(TOPICS(f, "--describe --topics-with-overrides", f->bs), 0);
    got = mask_ids(OUT(f));
    assert_string_equal(got, "Topic: orders\tTopicId: ID\tPartitionCount: 2\tReplicationFactor: "
                             "1\tConfigs: cleanup.policy=compact,retention.ms=1000\n");
    free(got);
    /* A single broker never has under-replicated or unavailable partitions. */
    assert_int_equal(TOPICS(f, "--describe --under-replicated-partitions", f->bs), 0);
    assert_string_equal(OUT(f), "");
    assert_int_equal(TOPICS(f, "--describe --unavailable-partitions", f->bs), 0);
    assert_string_equal(OUT(f), "");

    /* By topic id. */
    assert_int_equal(TOPICS(f, "--describe --topic plain", f->bs), 0);
    const char *idp = strstr(OUT(f), "TopicId: ");
    assert_non_null(idp);
    char id[23];
    memcpy(id, idp + 9, 22);
    id[22] = '\0';
    char *by_name = strdup(OUT(f));
    assert_int_equal(TOPICS(f, "--describe --topic-id %s", f->bs, id), 0);
    assert_string_equal(OUT(f), by_name);
    free(by_name);
    assert_int_equal(TOPICS(f, "--describe --topic-id AAAAAAAAAAAAAAAAAAAAAB", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : TopicId "
                                "'AAAAAAAAAAAAAAAAAAAAAB' does not exist as expected\n");

    assert_int_equal(TOPICS(f, "--describe --topic nope", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : Topic 'nope' does not "
                                "exist as expected\n");
    assert_int_equal(TOPICS(f, "--describe --topic nope --if-exists", f->bs), 0);
    assert_string_equal(OUT(f), "");
}

static void test_alter_partitions(void **state) {
    fx_t *f = *state;
    create_ok(f, "t", "--partitions 2");
    assert_int_equal(TOPICS(f, "--alter --topic t --partitions 4", f->bs), 0);
    assert_string_equal(OUT(f), "");
    assert_int_equal(TOPICS(f, "--describe --topic t", f->bs), 0);
    rvt_assert_contains(OUT(f), "\tPartitionCount: 4\t");
    rvt_assert_contains(OUT(f), "\tTopic: t\tPartition: 3\tLeader: 0\tReplicas: 0\tIsr: 0\t");

    assert_int_equal(TOPICS(f, "--alter --topic t --partitions 2", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : Topic currently has 4 "
                                "partitions, which is higher than the requested 2.\n");
    assert_int_equal(TOPICS(f, "--alter --topic t --partitions 4", f->bs), 1);
    assert_string_equal(OUT(f),
                        "Error while executing topic command : Topic already has 4 partitions.\n");
    assert_int_equal(TOPICS(f, "--alter --topic nope --partitions 4", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : Topic 'nope' does not "
                                "exist as expected\n");
    assert_int_equal(TOPICS(f, "--alter --topic nope --partitions 4 --if-exists", f->bs), 0);

    /* Changing configs is the configs command's job, as in Kafka. */
    assert_int_equal(TOPICS(f, "--alter --topic t --partitions 5 --config retention.ms=1", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Option combination \"[[bootstrap-server], [config]]\" can't be used "
                              "with option \"[alter]\" (To alter topic configurations, the rivulet "
                              "configs command can be used.)\nOption ");
    assert_int_equal(TOPICS(f, "--alter --topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[partitions]\"\n");
}

static void test_create_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(TOPICS(f, "--create --topic t --partitions abc", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Cannot parse argument 'abc' of option partitions\nOption ");
    assert_int_equal(TOPICS(f, "--create --topic t --partitions 99999999999", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Cannot parse argument '99999999999' of option partitions\n");
    assert_int_equal(TOPICS(f, "--create --topic t --partitions 0", f->bs), 1);
    assert_string_equal(
        OUT(f), "Error while executing topic command : The partitions must be greater than 0\n");
    assert_int_equal(TOPICS(f, "--create --topic t --replication-factor 0", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : The replication factor "
                                "must be between 1 and 32767 inclusive\n");
    assert_int_equal(TOPICS(f, "--create --topic t --replication-factor 3", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    assert_int_equal(TOPICS(f, "--create --topic t --config retention.ms", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : requirement failed: Invalid "
                                "topic config: all configs to be added must be in the format "
                                "\"key=val\".\n");
    assert_int_equal(TOPICS(f, "--create --topic t --config a=b=c", f->bs), 1);
    rvt_assert_contains(OUT(f), "must be in the format \"key=val\"");
    assert_int_equal(TOPICS(f, "--create --topic t --config foo.bar=1", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    rvt_assert_contains(OUT(f), "foo.bar");
    assert_int_equal(TOPICS(f, "--create --topic t --config segment.bytes=abc", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    rvt_assert_contains(OUT(f), "segment.bytes");
    assert_int_equal(TOPICS(f, "--create --topic 'bad name'", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    /* Nothing was created by the failures. */
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
    assert_string_equal(OUT(f), "\n");

    assert_int_equal(TOPICS(f, "--create --topic t --replica-assignment 0,0,0", f->bs), 0);
    assert_int_equal(TOPICS(f, "--describe --topic t", f->bs), 0);
    rvt_assert_contains(OUT(f), "\tPartitionCount: 3\tReplicationFactor: 1\t");
    assert_int_equal(TOPICS(f, "--create --topic u --replica-assignment 0,1", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : Unknown broker id 1");
    assert_int_equal(TOPICS(f, "--create --topic u --replica-assignment 0,x", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : For input string: \"x\"\n");
    assert_int_equal(TOPICS(f, "--create --topic u --replica-assignment 0 --partitions 2", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Option \"[replica-assignment]\" can't be used with option "
                              "\"[partitions]\"\n");
}

static void test_usage_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(TOPICS(f, "--create --topic t --bogus", f->bs), 1);
    rvt_assert_prefix(ERR(f),
                      "bogus is not a recognized option\nOption                                 "
                      "  Description\n------                                   -----------\n");
    rvt_assert_contains(ERR(f), "--bootstrap-server <String: server to");
    assert_string_equal(OUT(f), "");

    assert_int_equal(TOPICS(f, "--create", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[topic]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics --create --topic t"), 1);
    rvt_assert_prefix(ERR(f), "--bootstrap-server must be specified\n");
    assert_int_equal(TOPICS(f, "--create --list --topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f),
                      "Command must include exactly one action: --list, --describe, --create, "
                      "--alter or --delete\n");
    assert_int_equal(TOPICS(f, "--topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Command must include exactly one action");
    assert_int_equal(TOPICS(f, "--list --partitions 3", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option \"[partitions]\" can't be used with option \"[list]\"\n");
    assert_int_equal(TOPICS(f, "--describe --config a=b", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option \"[config]\" can't be used with option \"[describe]\"\n");
    assert_int_equal(TOPICS(f, "--delete --topic t --if-not-exists", f->bs), 1);
    rvt_assert_prefix(ERR(f),
                      "Option \"[if-not-exists]\" can't be used with option \"[delete]\"\n");
    assert_int_equal(TOPICS(f, "--create --topic t --exclude-internal", f->bs), 1);
    rvt_assert_prefix(ERR(f),
                      "Option \"[exclude-internal]\" can't be used with option \"[create]\"\n");
    assert_int_equal(TOPICS(f, "--describe --if-exists", f->bs), 1);
    rvt_assert_prefix(ERR(f), "--topic or --topic-id is required to describe a topic\n");
    assert_int_equal(TOPICS(f, "--create --topic", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option topic requires an argument\n");
    assert_int_equal(TOPICS(f, "--create --topic a --topic b", f->bs), 1);
    rvt_assert_prefix(ERR(f),
                      "Found multiple arguments for option topic, but you asked for only one\n");
    assert_int_equal(TOPICS(f, "--create --topic a stray", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Found non-option argument: stray\n");
    assert_int_equal(TOPICS(f, "--list=x", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option list does not take an argument\n");
    assert_int_equal(TOPICS(f, "--describe --topic '('", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : ( is an invalid regex.\n");

    assert_int_equal(rvt_cli(&f->out, &f->err, "topics"), 1);
    rvt_assert_prefix(ERR(f), "Create, delete, describe, or change a topic.\nOption ");
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics --help"), 0);
    rvt_assert_prefix(ERR(f), "This tool helps to create, delete, describe, or change a topic.\n");
    rvt_assert_contains(ERR(f),
                        "\n--version                                Display rivulet version.\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics --version"), 0);
    assert_string_equal(OUT(f), RV_VERSION_STR "\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "--version"), 0);
    assert_string_equal(OUT(f), RV_VERSION_STR "\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "nosuchcommand"), 1);
    rvt_assert_prefix(ERR(f), "Unknown command 'nosuchcommand'.\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "help"), 0);
    rvt_assert_contains(OUT(f), "  topics ");
    assert_int_equal(rvt_cli(&f->out, &f->err, "%s", ""), 1);
}

static void test_bootstrap_and_command_config(void **state) {
    fx_t *f = *state;
    /* A host:port list goes to the kafka backend; whatever it says (no
     * broker listens on port 1), the tool reports it as a command error.
     * The short timeout bounds the wait. */
    char path[4400];
    snprintf(path, sizeof path, "%s/admin.properties", f->dir);
    const char quick[] = "request.timeout.ms=1000\n";
    rvt_write_file(path, quick, sizeof quick - 1);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "topics --bootstrap-server 127.0.0.1:1 --command-config %s --list",
                             path),
                     1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");

    const char props[] = "# admin settings\nclient.id=tools-test\n\nrequest.timeout.ms=5000\n";
    rvt_write_file(path, props, sizeof props - 1);
    assert_int_equal(TOPICS(f, "--command-config %s --create --topic t", f->bs, path), 0);
    assert_string_equal(OUT(f), "Created topic t.\n");

    const char bad[] = "request.timeout.ms=soon\n";
    rvt_write_file(path, bad, sizeof bad - 1);
    assert_int_equal(TOPICS(f, "--command-config %s --list", f->bs, path), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    rvt_assert_contains(OUT(f), "request.timeout.ms");
    assert_int_equal(TOPICS(f, "--command-config %s/missing.properties --list", f->bs, f->dir), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
}

/* A folder held by another process is reported, not waited for. */
static void test_locked_folder(void **state) {
    fx_t *f = *state;
    rv_broker_t *b = NULL;
    char errstr[512];
    assert_int_equal(rv_broker_open(&b, f->dir, errstr, sizeof errstr), 0);
    assert_int_equal(TOPICS(f, "--list", f->bs), 1);
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    rv_broker_close(b);
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
}

/* Runs `rivulet topics <bootstrap> ARGS` killed after `secs` seconds (exit
 * status 137 then). */
static int topics_bounded(fx_t *f, int secs, const char *args) {
    return rvt_cli(&f->out, &f->err,
                   "topics %s %s & p=$!; (sleep %d; kill -9 $p) >/dev/null 2>&1 & w=$!; "
                   "wait $p; rc=$?; kill $w 2>/dev/null; exit $rc",
                   f->bs, args, secs);
}

/* A partition count no broker can hold is refused at once (Kafka's
 * controller refuses excessively large operations), not attempted one
 * folder at a time until the disk is full. */
static void test_create_huge_partition_count(void **state) {
    fx_t *f = *state;
    int rc = topics_bounded(f, 15, "--create --topic big --partitions 2147483647");
    if (rc != 1)
        fail_msg("exit status %d (137: still running after 15 s); stdout: %.200s", rc, OUT(f));
    rvt_assert_prefix(OUT(f), "Error while executing topic command : ");
    create_ok(f, "small", "--partitions 1");
    rc = topics_bounded(f, 15, "--alter --topic small --partitions 2147483647");
    if (rc != 1)
        fail_msg("alter: exit status %d (137: still running after 15 s); stdout: %.200s", rc,
                 OUT(f));
}

/* Kafka's parseReplicaAssignment("") fails (For input string: ""); an
 * empty --replica-assignment must not be dropped silently. */
static void test_create_empty_replica_assignment(void **state) {
    fx_t *f = *state;
    assert_int_equal(TOPICS(f, "--create --topic ra --replica-assignment ''", f->bs), 1);
    assert_string_equal(OUT(f), "Error while executing topic command : For input string: \"\"\n");
    assert_int_equal(TOPICS(f, "--list", f->bs), 0);
    assert_string_equal(OUT(f), "\n"); /* no topic made: Kafka's empty list */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_list_delete, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_warning_and_if_not_exists, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_internal_topics, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_describe, rvt_cli_fx_setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_alter_partitions, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, rvt_cli_fx_setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, rvt_cli_fx_setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap_and_command_config, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_locked_folder, rvt_cli_fx_setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_huge_partition_count, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_empty_replica_assignment, rvt_cli_fx_setup,
                                        rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
