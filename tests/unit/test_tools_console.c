/* tests/unit/test_tools_console.c: `rivulet console-producer` and
 * `rivulet console-consumer` run as programs on a temporary data folder:
 * round trips with keys, headers, null markers and compression, the
 * formatter's properties, the two consumer modes (group and
 * --partition/--offset), --max-messages and --timeout-ms, and every error
 * path with Kafka's messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/producer.h"
#include "testutil.h"

typedef rvt_cli_fx_t fx_t;

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)

static int setup(void **state) {
    rvt_cli_fx_setup(state);
    fx_t *f = *state;
    if (rvt_cli(&f->out, &f->err, "topics %s --create --topic t --partitions 2", f->bs) != 0) {
        print_error("setup: %s%s\n", OUT(f), ERR(f));
        rvt_cli_fx_teardown(state);
        return -1;
    }
    return 0;
}

/* Writes `input` to the scratch file and runs console-producer on it with
 * the extra arguments. */
static int produce(fx_t *f, const char *input, const char *args) {
    rvt_write_file(f->file, input, strlen(input));
    return rvt_cli(&f->out, &f->err, "console-producer %s %s < '%s'", f->bs, args, f->file);
}

/* The log end offset of t-p, from `topics --describe`. */
static long end_offset(fx_t *f, const char *topic, int p) {
    assert_int_equal(rvt_cli(&f->out, NULL, "topics %s --describe --topic %s", f->bs, topic), 0);
    char needle[64];
    snprintf(needle, sizeof needle, "Partition: %d\t", p);
    const char *row = strstr(OUT(f), needle);
    assert_non_null(row);
    const char *e = strstr(row, "EndOffset: ");
    assert_non_null(e);
    return strtol(e + 11, NULL, 10);
}

static void test_round_trip_with_keys(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "k1:v1\nk2:v2\nk3:v3\nk4:v4\nk5:v5\nk6:v6\n",
                             "--topic t --property parse.key=true --property key.separator=:"),
                     0);
    assert_string_equal(OUT(f), "");
    assert_string_equal(ERR(f), "");
    assert_int_equal(end_offset(f, "t", 0) + end_offset(f, "t", 1), 6);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --from-beginning --group g "
                             "--property print.key=true --property key.separator=- --property "
                             "print.partition=true --max-messages 6 --timeout-ms 10000",
                             f->bs),
                     0);
    assert_string_equal(ERR(f), "Processed a total of 6 messages\n");
    /* Every record once, each in the partition Java's partitioner picks. */
    for (int i = 1; i <= 6; i++) {
        char key[8], line[64];
        snprintf(key, sizeof key, "k%d", i);
        int p = rv_partitioner_murmur2(key, 2, 2);
        snprintf(line, sizeof line, "Partition:%d-k%d-v%d\n", p, i, i);
        const char *hit = strstr(OUT(f), line);
        if (!hit)
            fail_msg("missing \"%s\" in:\n%s", line, OUT(f));
        assert_null(strstr(hit + 1, line));
    }
    /* The group committed on close: a second run reads nothing new. */
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --group g --timeout-ms 300", f->bs),
                     0);
    assert_string_equal(OUT(f), "");
    assert_string_equal(ERR(f), "Processed a total of 0 messages\n");
}

static void test_default_tab_and_values_only(void **state) {
    fx_t *f = *state;
    /* Without parse.key a whole line is the value, separators included; with
     * it, the default separator is a tab. Java's readLine drops "\r\n". */
    assert_int_equal(produce(f, "a:b\r\nplain\n", "--topic t --sync"), 0);
    assert_int_equal(produce(f, "key\tvalue\n", "--topic t --property parse.key=true"), 0);
    /* Null keys (no partition chosen by key) land anywhere: read both. */
    rv__buf_t all = RV__BUF_INIT;
    for (int p = 0; p < 2; p++) {
        assert_int_equal(rvt_cli(&f->out, NULL,
                                 "console-consumer %s --topic t --partition %d --from-beginning "
                                 "--property print.key=true --timeout-ms 300",
                                 f->bs, p),
                         0);
        rv__buf_append(&all, f->out.data, f->out.len);
    }
    rv__buf_append(&all, "", 1);
    rvt_assert_contains((const char *)all.data, "null\ta:b\n");
    rvt_assert_contains((const char *)all.data, "null\tplain\n");
    rvt_assert_contains((const char *)all.data, "key\tvalue\n");
    rv__buf_free(&all);
}

static void test_headers_null_marker_and_layout(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "h1:x,h2:y|K|V\nNIL|NIL|W\n",
                             "--topic t --property parse.headers=true --property "
                             "'headers.delimiter=|' --property parse.key=true --property "
                             "'key.separator=|' --property null.marker=NIL --sync"),
                     0);
    rv__buf_t all = RV__BUF_INIT;
    for (int p = 0; p < 2; p++) {
        assert_int_equal(
            rvt_cli(&f->out, &f->err,
                    "console-consumer %s --topic t --partition %d --offset earliest --property "
                    "print.timestamp=true --property print.offset=true --property "
                    "print.headers=true --property print.key=true --property key.separator=' ' "
                    "--property null.literal=NULL --timeout-ms 300",
                    f->bs, p),
            0);
        rv__buf_append(&all, f->out.data, f->out.len);
    }
    rv__buf_append(&all, "", 1);
    const char *s = (const char *)all.data;
    /* Kafka's layout: type:timestamp, offset, headers, key, value. */
    rvt_assert_contains(s, "CreateTime:");
    rvt_assert_contains(s, " Offset:0 h1:x,h2:y K V\n");
    rvt_assert_contains(s, " NO_HEADERS NULL W\n");
    rv__buf_free(&all);
}

static void test_partition_offset_and_print_value(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "a|1\na|2\na|3\na|4\n",
                             "--topic t --property parse.key=true --property 'key.separator=|'"),
                     0);
    int p = rv_partitioner_murmur2("a", 1, 2);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --partition %d --offset 2 "
                             "--property print.offset=true --property print.value=false "
                             "--timeout-ms 300",
                             f->bs, p),
                     0);
    assert_string_equal(OUT(f), "Offset:2\nOffset:3\n");
    assert_string_equal(ERR(f), "Processed a total of 2 messages\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --partition %d --offset latest "
                             "--timeout-ms 200",
                             f->bs, p),
                     0);
    assert_string_equal(OUT(f), "");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --partition %d --from-beginning "
                             "--max-messages 1 --property line.separator=';'",
                             f->bs, p),
                     0);
    assert_string_equal(OUT(f), "1;");
    assert_string_equal(ERR(f), "Processed a total of 1 messages\n");
}

static void test_compression(void **state) {
    fx_t *f = *state;
    /* --compression-codec without a value means gzip, as in Kafka. */
    assert_int_equal(produce(f, "x1\nx2\nx3\n", "--topic t --compression-codec"), 0);
    assert_string_equal(ERR(f), "");
    assert_int_equal(produce(f, "y1\n", "--topic t --compression-codec lz4 --sync"), 0);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --from-beginning --group c "
                             "--max-messages 4 --timeout-ms 10000",
                             f->bs),
                     0);
    for (int i = 1; i <= 3; i++) {
        char line[8];
        snprintf(line, sizeof line, "x%d\n", i);
        rvt_assert_contains(OUT(f), line);
    }
    rvt_assert_contains(OUT(f), "y1\n");
    assert_int_equal(produce(f, "z\n", "--topic t --compression-codec brotli"), 1);
    rvt_assert_contains(ERR(f), "compression.type");
}

static void test_producer_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-producer %s", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[topic]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-producer --topic t"), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[bootstrap-server]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-producer"), 1);
    rvt_assert_prefix(ERR(f), "This tool helps to read data from standard input");
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-producer %s --topic t --bogus", f->bs), 1);
    rvt_assert_prefix(ERR(f), "bogus is not a recognized option\n");

    /* A line without the separator stops the command, naming the line; the
     * lines before it are delivered. */
    assert_int_equal(produce(f, "a:1\nb:2\nfoo\nc:3\n",
                             "--topic t --property parse.key=true --property key.separator=:"),
                     1);
    assert_string_equal(ERR(f), "No key separator found on line number 3: 'foo'\n");
    assert_int_equal(end_offset(f, "t", 0) + end_offset(f, "t", 1), 2);
    /* ignore.error keeps such lines, with a null key. */
    assert_int_equal(
        produce(f, "bar\n", "--topic t --property parse.key=true --property ignore.error=true"), 0);
    assert_int_equal(end_offset(f, "t", 0) + end_offset(f, "t", 1), 3);
    assert_int_equal(produce(f, "kv\n", "--topic t --property parse.headers=true"), 1);
    assert_string_equal(ERR(f), "No headers delimiter found on line number 1: 'kv'\n");
    assert_int_equal(produce(f, "h\tv\n",
                             "--topic t --property parse.headers=true "
                             "--property headers.delimiter=' '"),
                     1);
    rvt_assert_contains(ERR(f), "No headers delimiter found on line number 1");
    assert_int_equal(produce(f, "nokey\t1\n", "--topic t --property parse.headers=true"), 1);
    assert_string_equal(ERR(f), "No header key separator found in pair 'nokey' on line number 1\n");

    assert_int_equal(produce(f, "x\n", "--topic t --property a=b=c"), 1);
    assert_string_equal(ERR(f), "Invalid command line properties: a=b=c\n");
    assert_int_equal(produce(f, "x\n", "--topic t --property headers.delimiter=,"), 1);
    assert_string_equal(ERR(f), "headers.delimiter and headers.separator may not be equal\n");
    assert_int_equal(produce(f, "x\n", "--topic t --property null.marker=:"), 1);
    assert_string_equal(ERR(f), "null.marker and headers.key.separator may not be equal\n");
    assert_int_equal(produce(f, "x\n", "--topic t --producer-property no.such.thing=1"), 1);
    rvt_assert_contains(ERR(f), "no.such.thing");
    assert_int_equal(produce(f, "x\n", "--topic t --request-required-acks 7"), 1);
    rvt_assert_contains(ERR(f), "acks");
    assert_int_equal(produce(f, "x\n", "--topic t --producer.config /nonexistent/file"), 1);
    rvt_assert_contains(ERR(f), "/nonexistent/file");

    /* A record the producer could not deliver: Kafka's
     * ErrorLoggingCallback line, and exit status 1. */
    assert_int_equal(produce(f, "x\nyy\n", "--topic nope --timeout 0"), 1);
    rvt_assert_contains(ERR(f),
                        "Error when sending message to topic nope with key: null, value: 1 bytes");
    rvt_assert_contains(ERR(f),
                        "Error when sending message to topic nope with key: null, value: 2 bytes");
    /* acks=1 works without idempotence, as Kafka turns it off itself. */
    assert_int_equal(produce(f, "z\n", "--topic t --request-required-acks 1"), 0);
    assert_int_equal(end_offset(f, "t", 0) + end_offset(f, "t", 1), 4);
}

static void test_consumer_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-consumer %s", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Exactly one of include/topic is required.\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-consumer --topic t"), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[bootstrap-server]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-consumer %s --topic t --offset 3", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "The partition is required when offset is specified.\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --partition 0 --offset 1 "
                             "--from-beginning",
                             f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Options from-beginning and offset cannot be specified together.\n");
    assert_int_equal(
        rvt_cli(&f->out, &f->err, "console-consumer %s --topic t --partition 0 --group g", f->bs),
        1);
    rvt_assert_prefix(ERR(f), "Options group and partition cannot be specified together.\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --partition 0 --offset soon", f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "The provided offset value is incorrect. Valid values are "
                              "'earliest', 'latest', or a non-negative long.\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --group a --consumer-property "
                             "group.id=b",
                             f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "The group ids provided in different places (directly using "
                              "'--group', via '--consumer-property', or via '--consumer.config') "
                              "do not match. Detected group ids: 'a', 'b'\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --from-beginning --consumer-property "
                             "auto.offset.reset=latest",
                             f->bs),
                     1);
    rvt_assert_prefix(ERR(f), "Can't simultaneously specify --from-beginning and "
                              "'auto.offset.reset=latest'");
    assert_int_equal(
        rvt_cli(&f->out, &f->err, "console-consumer %s --topic t --timeout-ms soon", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Cannot parse argument 'soon' of option timeout-ms\n");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --property x=y=z --timeout-ms 1",
                             f->bs),
                     1);
    assert_string_equal(ERR(f), "Invalid command line properties: x=y=z\n");
    /* No records before the timeout: the total, status 0. */
    assert_int_equal(
        rvt_cli(&f->out, &f->err, "console-consumer %s --topic t --timeout-ms 200", f->bs), 0);
    assert_string_equal(OUT(f), "");
    assert_string_equal(ERR(f), "Processed a total of 0 messages\n");
}

/* Tools run from daemons and cron jobs may start with standard input and
 * output closed. The data folder's files must then not take descriptors 0
 * and 1: what the consumer prints would be written into a segment. */
static void test_consumer_closed_stdio_keeps_log(void **state) {
    fx_t *f = *state;
    /* A folder of its own with one single-partition topic, so that its
     * segment is the file the broker opens right after the lock. */
    char bs[4300];
    snprintf(bs, sizeof bs, "--bootstrap-server embedded:%s/solo", f->dir);
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics %s --create --topic A", bs), 0);
    rvt_write_file(f->file, "one\ntwo\nthree\n", 14);
    assert_int_equal(rvt_cli(&f->out, &f->err, "console-producer %s --topic A < '%s'", bs, f->file),
                     0);
    /* Its output cannot be written: an error, as any failed write. */
    assert_int_not_equal(rvt_cli(NULL, &f->err,
                                 "console-consumer %s --topic A --partition 0 --offset earliest "
                                 "--timeout-ms 500 <&- >&-",
                                 bs),
                         0);
    rvt_assert_contains(ERR(f), "Error writing the output");
    /* The records are all still there. */
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic A --partition 0 --offset earliest "
                             "--max-messages 3 --timeout-ms 3000",
                             bs),
                     0);
    assert_string_equal(OUT(f), "one\ntwo\nthree\n");
}

/* With standard input closed the producer has nothing to read: it must not
 * send the contents of whatever file the broker opened as descriptor 0. */
static void test_producer_closed_stdin_sends_nothing(void **state) {
    fx_t *f = *state;
    rvt_cli(&f->out, &f->err, "console-producer %s --topic t <&-", f->bs);
    assert_int_equal(end_offset(f, "t", 0) + end_offset(f, "t", 1), 0);
}

/* Output that cannot be written (a full disk) is an error: the records
 * were consumed (and committed for the group) but never delivered. */
static void test_consumer_stdout_write_error_fails(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "one\ntwo\nthree\n", "--topic t"), 0);
    int rc = rvt_cli(NULL, &f->err,
                     "console-consumer %s --topic t --group g --from-beginning "
                     "--timeout-ms 1000 > /dev/full",
                     f->bs);
    if (rc == 0)
        fail_msg("exit status 0 although stdout could not be written; stderr: %s", ERR(f));
}

/* TOOLS.md: "In a group it commits what it read when it stops". With
 * --max-messages the records past the limit were not printed, so they
 * must not be committed. */
static void test_consumer_max_messages_commits_what_it_read(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "--topic t"), 0);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --group g --from-beginning "
                             "--max-messages 3 --timeout-ms 5000",
                             f->bs),
                     0);
    assert_string_equal(OUT(f), "1\n2\n3\n");
    /* The next run of the group goes on with the fourth record. */
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --group g --max-messages 1 "
                             "--timeout-ms 2000",
                             f->bs),
                     0);
    assert_string_equal(OUT(f), "4\n");
}

/* --timeout-ms is a long in Kafka's ConsoleConsumerOptions; the largest
 * one means "wait forever", not an overflow of now + timeout (undefined
 * behaviour: the sanitizer build aborts). */
static void test_consumer_huge_timeout(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "one\ntwo\n", "--topic t"), 0);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic t --from-beginning --max-messages 2 "
                             "--timeout-ms 9223372036854775807",
                             f->bs),
                     0);
    assert_string_equal(ERR(f), "Processed a total of 2 messages\n");
}

/* Java's BufferedReader.readLine, which Kafka's LineMessageReader uses (and
 * read_line() claims to follow), ends a line at "\n", "\r\n" or a lone
 * "\r": "a\rb\n" is two records. */
static void test_producer_lone_cr_ends_line(void **state) {
    fx_t *f = *state;
    assert_int_equal(produce(f, "a\rb\n", "--topic t"), 0);
    assert_int_equal(end_offset(f, "t", 0) + end_offset(f, "t", 1), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_with_keys, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_default_tab_and_values_only, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_headers_null_marker_and_layout, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_partition_offset_and_print_value, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_compression, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_producer_errors, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_errors, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_closed_stdio_keeps_log, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_producer_closed_stdin_sends_nothing, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_stdout_write_error_fails, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_max_messages_commits_what_it_read, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_consumer_huge_timeout, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_producer_lone_cr_ends_line, setup,
                                        rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
