/* tests/unit/test_tools_consumer_groups.c: `rivulet consumer-groups` run as
 * a program on a temporary data folder holding real records and committed
 * offsets (--list, --describe with lag, --reset-offsets in every mode with
 * --dry-run and --execute, --delete, and the usage errors with Kafka's
 * messages), plus the consumer-group calls of rivulet/admin.h against a
 * live group in this process (a running member cannot share the folder
 * with the program: the broker locks it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"
#include "testutil.h"

typedef rvt_cli_fx_t fx_t;

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)

#define HEADER                                                                                    \
    "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             " \
    "CONSUMER-ID     HOST            CLIENT-ID"

/* Topic t with 2 partitions of 5 records each; the broker is closed before
 * the program opens the folder. */
static int setup(void **state) {
    rvt_cli_fx_setup(state);
    fx_t *f = *state;
    char errstr[512] = "";
    int bad = rvt_cli(&f->out, &f->err, "topics %s --create --topic t --partitions 2", f->bs);
    rv_broker_t *b = NULL;
    if (!bad)
        bad = rv_broker_open(&b, f->dir, errstr, sizeof errstr);
    for (int p = 0; p < 2 && !bad; p++) {
        rv__buf_t batch = RV__BUF_INIT;
        rvt_make_batch(&batch, 5, "k", 8, 1000);
        bad = rv_broker_produce(b, "t", p, batch.data, batch.len, -1, NULL, errstr, sizeof errstr);
        rv__buf_free(&batch);
    }
    rv_broker_close(b);
    if (bad) {
        print_error("setup: %s %s %s\n", errstr, f->out.data ? OUT(f) : "",
                    f->err.data ? ERR(f) : "");
        rvt_cli_fx_teardown(state);
        return -1;
    }
    return 0;
}

static int cg(fx_t *f, const char *args) {
    return rvt_cli(&f->out, &f->err, "consumer-groups %s %s", f->bs, args);
}

/* The CURRENT-OFFSET, LOG-END-OFFSET and LAG columns of partition p of t
 * in the last describe output ("-" gives -1). */
static void row_of(fx_t *f, int p, long *cur, long *end, long *lag) {
    const char *line = OUT(f);
    while ((line = strchr(line, '\n')) != NULL) {
        line++;
        char g[64], t[64], c[32], e[32], l[32];
        int part;
        if (sscanf(line, "%63s %63s %d %31s %31s %31s", g, t, &part, c, e, l) == 6 &&
            !strcmp(t, "t") && part == p) {
            *cur = strcmp(c, "-") ? strtol(c, NULL, 10) : -1;
            *end = strcmp(e, "-") ? strtol(e, NULL, 10) : -1;
            *lag = strcmp(l, "-") ? strtol(l, NULL, 10) : -1;
            return;
        }
    }
    fail_msg("no row for t-%d in:\n%s", p, OUT(f));
}

static void test_list_and_describe_after_consuming(void **state) {
    fx_t *f = *state;
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "");
    /* Consume 3 of the 10 records in group g; the tool commits exactly
     * what it consumed. */
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "verifiable-consumer %s --topic t --group-id g --max-messages 3",
                             f->bs),
                     0);
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "g\n");
    assert_int_equal(cg(f, "--list --state"), 0);
    assert_string_equal(OUT(f), "GROUP                     STATE               \n"
                                "g                         Empty               \n");
    assert_int_equal(cg(f, "--describe --group g"), 0);
    assert_string_equal(ERR(f), "\nConsumer group 'g' has no active members.\n");
    rvt_assert_prefix(OUT(f), "\n" HEADER "\n");
    long total_cur = 0, total_lag = 0;
    for (int p = 0; p < 2; p++) {
        long cur = -1, end = -1, lag = -1;
        if (strstr(OUT(f), p ? "t               1" : "t               0")) {
            row_of(f, p, &cur, &end, &lag);
            assert_int_equal(end, 5);
            assert_int_equal(lag, end - cur);
            total_cur += cur;
            total_lag += lag;
        } else {
            total_lag += 5; /* nothing consumed there: no committed row */
        }
    }
    assert_int_equal(total_cur, 3);
    assert_int_equal(total_lag, 7);
    /* --members and --state of an empty group. */
    assert_int_equal(cg(f, "--describe --group g --members"), 0);
    assert_string_equal(OUT(f), "");
    assert_string_equal(ERR(f), "\nConsumer group 'g' has no active members.\n");
    assert_int_equal(cg(f, "--describe --group g --state"), 0);
    assert_string_equal(OUT(f), "\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  "
                                "STATE                #MEMBERS"
                                "\ng               embedded  (0)             -                    "
                                "Empty                0\n");
    /* An unknown group, as Kafka 3's tool reports it. */
    assert_int_equal(cg(f, "--describe --group nope"), 1);
    assert_string_equal(OUT(f), "\nError: Consumer group 'nope' does not exist.\n");
}

static void test_reset_offsets(void **state) {
    fx_t *f = *state;
    /* A dry run changes nothing, even for a group that does not exist yet. */
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t --to-earliest --dry-run"), 0);
    assert_string_equal(OUT(f), "\nGROUP           TOPIC           PARTITION  NEW-OFFSET"
                                "\ng               t               0          0"
                                "\ng               t               1          0\n");
    assert_string_equal(ERR(f), "");
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "");
    /* Without --execute or --dry-run: Kafka's warning, and a dry run. */
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t --to-latest"), 0);
    rvt_assert_prefix(ERR(f), "WARN: No action will be performed as the --execute option is "
                              "missing.");
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "");

    /* --execute: one partition at a time with topic:partition. */
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t:0 --to-offset 2 --execute"), 0);
    assert_string_equal(OUT(f), "\nGROUP           TOPIC           PARTITION  NEW-OFFSET"
                                "\ng               t               0          2\n");
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t:1 --to-offset 4 --execute"), 0);
    assert_int_equal(cg(f, "--describe --group g"), 0);
    assert_string_equal(OUT(f), "\n" HEADER
                                "\ng               t               0          2               5    "
                                "           3               -               -               -"
                                "\ng               t               1          4               5    "
                                "           1               -               -               -\n");
    assert_string_equal(ERR(f), "\nConsumer group 'g' has no active members.\n");

    long cur, end, lag;
    /* Offsets past the log are moved to its end, below it to its start. */
    assert_int_equal(cg(f, "--reset-offsets --group g --all-topics --to-offset 99 --execute"), 0);
    rvt_assert_contains(OUT(f), "g               t               0          5\n");
    assert_int_equal(cg(f, "--reset-offsets --group g --all-topics --to-offset -3 --execute"), 0);
    rvt_assert_contains(OUT(f), "g               t               1          0\n");
    /* --shift-by from the committed offsets, clamped too. */
    assert_int_equal(cg(f, "--reset-offsets --group g --all-topics --shift-by 3 --execute"), 0);
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t:0 --shift-by -1 --execute"), 0);
    assert_int_equal(cg(f, "--describe --group g"), 0);
    row_of(f, 0, &cur, &end, &lag);
    assert_int_equal(cur, 2);
    row_of(f, 1, &cur, &end, &lag);
    assert_int_equal(cur, 3);
    assert_int_equal(lag, 2);
    /* --to-current keeps them; --to-latest moves them to the end. */
    assert_int_equal(cg(f, "--reset-offsets --group g --all-topics --to-current --dry-run"), 0);
    assert_string_equal(OUT(f), "\nGROUP           TOPIC           PARTITION  NEW-OFFSET"
                                "\ng               t               0          2"
                                "\ng               t               1          3\n");
    assert_int_equal(cg(f, "--reset-offsets --group g --all-topics --to-latest --execute"), 0);
    assert_int_equal(cg(f, "--describe --group g"), 0);
    row_of(f, 0, &cur, &end, &lag);
    assert_int_equal(lag, 0);
    row_of(f, 1, &cur, &end, &lag);
    assert_int_equal(lag, 0);

    /* Errors: unknown topic and partition, shifting without offsets. */
    assert_int_equal(cg(f, "--reset-offsets --group g --topic nope --to-earliest --execute"), 1);
    rvt_assert_prefix(OUT(f), "\nError: Executing consumer group command failed due to ");
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t:7 --to-earliest --execute"), 1);
    assert_string_equal(OUT(f), "\nError: Executing consumer group command failed due to The "
                                "partitions \"t-7\" do not exist\n");
    assert_int_equal(cg(f, "--reset-offsets --group h --topic t --shift-by 1 --execute"), 1);
    assert_string_equal(OUT(f), "\nError: Executing consumer group command failed due to Cannot "
                                "shift offset for partition t-0 since there is no current "
                                "committed offset\n");
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t:x --to-earliest"), 1);
    rvt_assert_contains(OUT(f), "Invalid partition 'x' specified in topic arg 't:x'");
}

static void test_delete(void **state) {
    fx_t *f = *state;
    assert_int_equal(cg(f, "--reset-offsets --group a --topic t --to-earliest --execute"), 0);
    assert_int_equal(cg(f, "--reset-offsets --group b --topic t --to-latest --execute"), 0);
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "a\nb\n");
    assert_int_equal(cg(f, "--delete --group a"), 0);
    assert_string_equal(OUT(f), "Deletion of requested consumer groups ('a') was successful.\n");
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "b\n");
    assert_int_equal(cg(f, "--describe --group a"), 1);
    /* One unknown, one deleted. */
    assert_int_equal(cg(f, "--delete --group a --group b"), 1);
    assert_string_equal(OUT(f),
                        "\nError: Deletion of some consumer groups failed:\n"
                        "* Group 'a' could not be deleted due to: "
                        "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id "
                        "does not exist.\n"
                        "\nThese consumer groups were deleted successfully: 'b'\n");
    assert_int_equal(cg(f, "--list"), 0);
    assert_string_equal(OUT(f), "");
    assert_int_equal(cg(f, "--reset-offsets --group c --topic t --to-latest --execute"), 0);
    assert_int_equal(cg(f, "--delete --all-groups"), 0);
    assert_string_equal(OUT(f), "Deletion of requested consumer groups ('c') was successful.\n");
}

static void test_usage_errors(void **state) {
    fx_t *f = *state;
    static const struct {
        const char *args, *msg;
    } cases[] = {
        {"", "Command must include exactly one action: --list, --describe, --delete, "
             "--reset-offsets\n"},
        {"--list --describe --group g",
         "Command must include exactly one action: --list, --describe, --delete, "
         "--reset-offsets\n"},
        {"--describe", "Option [describe] takes one of these options: [all-groups], [group]\n"},
        {"--describe --group g --members --state",
         "Option [describe] takes at most one of these options: [members], [offsets], [state]\n"},
        {"--delete", "Option [delete] takes one of these options: [all-groups], [group]\n"},
        {"--delete --group g --topic t", "The consumer does not support topic-specific offset "
                                         "deletion from a consumer group.\n"},
        {"--reset-offsets --group g --topic t --to-earliest --dry-run --execute",
         "Option [reset-offsets] only accepts one of [execute] and [dry-run]\n"},
        {"--reset-offsets --topic t --to-earliest --execute",
         "Option [reset-offsets] takes one of these options: [all-groups], [group]\n"},
        {"--reset-offsets --group g --topic t --to-earliest --to-latest --execute",
         "Option \"[to-earliest]\" can't be used with option \"[to-latest]\"\n"},
        {"--reset-offsets --group g --topic t --execute",
         "Option '[reset-offsets]' requires one of the following scenarios: [to-offset], "
         "[to-earliest], [to-latest], [to-current], [shift-by]\n"},
        {"--reset-offsets --group g --to-earliest --execute",
         "One of the reset scopes should be defined: --all-topics, --topic.\n"},
        {"--reset-offsets --group g --topic t --to-offset x --execute",
         "Cannot parse argument 'x' of option to-offset\n"},
        {"--list --group g", "Option \"[group]\" can't be used with option \"[list]\"\n"},
        {"--describe --group g --all-groups",
         "Option \"[group]\" can't be used with option \"[all-groups]\"\n"},
        {"--describe --group g --topic t",
         "Option \"[topic]\" can't be used with option \"[describe]\"\n"},
        {"--list --members",
         "Option(s) [members] are unavailable given other options on the command line\n"},
        {"--list --to-earliest",
         "Option(s) [to-earliest] are unavailable given other options on the command line\n"},
        {"--list --bogus", "bogus is not a recognized option\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cg(f, cases[i].args) != 1)
            fail_msg("`%s` did not fail", cases[i].args);
        if (strncmp(ERR(f), cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("`%s`: expected \"%s\", got \"%s\"", cases[i].args, cases[i].msg, ERR(f));
        rvt_assert_contains(ERR(f), "--bootstrap-server <String: server to");
    }
    assert_int_equal(rvt_cli(&f->out, &f->err, "consumer-groups --list"), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[bootstrap-server]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "consumer-groups --help"), 0);
    rvt_assert_prefix(ERR(f), "This tool helps to list all consumer groups");
}

/* The admin calls against a group with a live member in this process. */
static void test_admin_live_group(void **state) {
    fx_t *f = *state;
    char errstr[512], bs[4200];
    snprintf(bs, sizeof bs, "embedded:%s", f->dir);
    rv_conf_t *cc = rv_conf_new();
    assert_int_equal(rv_conf_set(cc, "bootstrap.servers", bs, errstr, sizeof errstr), RV_CONF_OK);
    assert_int_equal(rv_conf_set(cc, "group.id", "live", errstr, sizeof errstr), RV_CONF_OK);
    assert_int_equal(rv_conf_set(cc, "client.id", "live-client", errstr, sizeof errstr),
                     RV_CONF_OK);
    assert_int_equal(rv_conf_set(cc, "auto.offset.reset", "earliest", errstr, sizeof errstr),
                     RV_CONF_OK);
    rv_consumer_t *c = rv_consumer_new(cc, errstr, sizeof errstr);
    if (!c)
        fail_msg("consumer: %s", errstr);
    const char *topic = "t";
    assert_int_equal(rv_consumer_subscribe(c, &topic, 1, NULL), 0);
    size_t got = 0;
    for (int i = 0; i < 100 && got < 10; i++) {
        rv_records_t *rs = NULL;
        assert_int_equal(rv_consumer_poll(c, 100, &rs), 0);
        got += rv_records_count(rs);
        rv_records_destroy(rs);
    }
    assert_int_equal(got, 10);
    assert_int_equal(rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr), 0);

    rv_conf_t *ac = rv_conf_new();
    assert_int_equal(rv_conf_set(ac, "bootstrap.servers", bs, errstr, sizeof errstr), RV_CONF_OK);
    rv_admin_t *admin = rv_admin_new(ac, errstr, sizeof errstr);
    assert_non_null(admin);

    char **groups = NULL, **states = NULL;
    size_t cnt = 0;
    assert_int_equal(rv_admin_list_groups(admin, &groups, &states, &cnt, errstr, sizeof errstr), 0);
    assert_int_equal(cnt, 1);
    assert_string_equal(groups[0], "live");
    assert_string_equal(states[0], "Stable");
    rv_strv_free(groups, cnt);
    rv_strv_free(states, cnt);

    rv_group_description_t *d = NULL;
    assert_int_equal(rv_admin_describe_group(admin, "live", &d, errstr, sizeof errstr), 0);
    assert_string_equal(rv_group_description_group_id(d), "live");
    assert_string_equal(rv_group_description_state(d), "Stable");
    assert_string_equal(rv_group_description_partition_assignor(d), "range");
    assert_int_equal(rv_group_description_coordinator(d), 0);
    assert_int_equal(rv_group_description_member_count(d), 1);
    assert_string_equal(rv_group_description_member_id(d, 0), rv_consumer_member_id(c));
    assert_string_equal(rv_group_description_member_client_id(d, 0), "live-client");
    assert_true(strlen(rv_group_description_member_host(d, 0)) > 0);
    assert_null(rv_group_description_member_instance_id(d, 0));
    assert_null(rv_group_description_member_id(d, 1));
    const rv_topic_partition_list_t *asg = rv_group_description_member_assignment(d, 0);
    assert_int_equal(rv_topic_partition_list_count(asg), 2);
    assert_string_equal(rv_topic_partition_topic(rv_topic_partition_list_get(asg, 0)), "t");
    assert_int_equal(rv_topic_partition_partition(rv_topic_partition_list_get(asg, 1)), 1);
    rv_group_description_destroy(d);

    rv_topic_partition_list_t *offs = NULL;
    assert_int_equal(rv_admin_list_group_offsets(admin, "live", &offs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_partition_list_count(offs), 2);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(offs, 0)), 5);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(offs, 1)), 5);
    /* An active group refuses outside commits and deletion, as Kafka. */
    rv_topic_partition_set_offset(rv_topic_partition_list_get(offs, 0), 0);
    assert_int_not_equal(rv_admin_alter_group_offsets(admin, "live", offs, errstr, sizeof errstr),
                         0);
    assert_int_not_equal(rv_topic_partition_err(rv_topic_partition_list_get(offs, 0)), 0);
    assert_int_equal(rv_admin_delete_group(admin, "live", errstr, sizeof errstr),
                     RV_ERR_NON_EMPTY_GROUP);

    /* Once the member has left: Empty, then offsets may be altered and the
     * group deleted. */
    rv_consumer_close(c);
    rv_consumer_destroy(c);
    assert_int_equal(rv_admin_describe_group(admin, "live", &d, errstr, sizeof errstr), 0);
    assert_string_equal(rv_group_description_state(d), "Empty");
    assert_int_equal(rv_group_description_member_count(d), 0);
    rv_group_description_destroy(d);
    assert_int_equal(rv_admin_alter_group_offsets(admin, "live", offs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_partition_err(rv_topic_partition_list_get(offs, 0)), 0);
    rv_topic_partition_list_destroy(offs);
    assert_int_equal(rv_admin_list_group_offsets(admin, "live", &offs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_partition_offset(rv_topic_partition_list_get(offs, 0)), 0);
    rv_topic_partition_list_destroy(offs);
    assert_int_equal(rv_admin_delete_group(admin, "live", errstr, sizeof errstr), 0);
    assert_int_equal(rv_admin_describe_group(admin, "live", &d, errstr, sizeof errstr),
                     RV_ERR_GROUP_ID_NOT_FOUND);
    assert_null(d);
    assert_int_equal(rv_admin_delete_group(admin, "live", errstr, sizeof errstr),
                     RV_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(rv_admin_delete_group(admin, "", errstr, sizeof errstr),
                     RV_ERR_INVALID_GROUP_ID);
    /* An unknown group has no offsets, which is no error. */
    assert_int_equal(rv_admin_list_group_offsets(admin, "none", &offs, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topic_partition_list_count(offs), 0);
    rv_topic_partition_list_destroy(offs);
    rv_admin_destroy(admin);
}

/* --shift-by with a huge positive count moves forward, to the log end:
 * committed + n must not overflow (signed overflow in C; it wraps to a
 * negative offset that is then "clamped" to the log start, moving the
 * group back over every record). */
static void test_reset_shift_by_huge(void **state) {
    fx_t *f = *state;
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t --to-offset 2 --execute"), 0);
    assert_int_equal(cg(f, "--reset-offsets --group g --topic t --shift-by 9223372036854775807 "
                           "--dry-run"),
                     0);
    assert_string_equal(OUT(f), "\nGROUP           TOPIC           PARTITION  NEW-OFFSET"
                                "\ng               t               0          5"
                                "\ng               t               1          5\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_and_describe_after_consuming, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_offsets, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_shift_by_huge, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_admin_live_group, setup, rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
