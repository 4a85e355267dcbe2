/* tests/unit/test_tools_delete_records.c: `rivulet delete-records` run as a
 * program against a temporary data folder holding real records: Kafka's
 * report lines, -1 for the high watermark, per-partition errors, and every
 * way the offset JSON file can be wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/broker.h"
#include "testutil.h"

typedef rvt_cli_fx_t fx_t;

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)

/* Runs delete-records with the offset file holding `json`. */
static int run(fx_t *f, const char *json) {
    rvt_write_file(f->file, json, strlen(json));
    return rvt_cli(&f->out, &f->err, "delete-records %s --offset-json-file %s", f->bs, f->file);
}

/* A failing setup gets no teardown from cmocka, so it removes the folder
 * itself before reporting. */
static int setup_fail(void **state, const char *what, const char *errstr) {
    fx_t *f = *state;
    print_error("setup: %s: %s%s%s\n", what, errstr, f->out.data ? (const char *)f->out.data : "",
                f->err.data ? (const char *)f->err.data : "");
    rvt_cli_fx_teardown(state);
    return -1;
}

static int setup(void **state) {
    rvt_cli_fx_setup(state);
    fx_t *f = *state;
    char errstr[512] = "";
    if (rvt_cli(&f->out, &f->err, "topics %s --create --topic t --partitions 2", f->bs) != 0)
        return setup_fail(state, "create topic", errstr);
    /* 10 records in t-0, 4 in t-1; the broker is closed before the tool
     * opens the folder. */
    rv_broker_t *b = NULL;
    if (rv_broker_open(&b, f->dir, errstr, sizeof errstr) != 0)
        return setup_fail(state, "open broker", errstr);
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 10, "k", 16, 1000);
    int bad = rv_broker_produce(b, "t", 0, batch.data, batch.len, -1, NULL, errstr, sizeof errstr);
    batch.len = 0;
    rvt_make_batch(&batch, 4, "k", 16, 1000);
    if (!bad)
        bad = rv_broker_produce(b, "t", 1, batch.data, batch.len, -1, NULL, errstr, sizeof errstr);
    rv__buf_free(&batch);
    rv_broker_close(b);
    if (bad)
        return setup_fail(state, "produce", errstr);
    return 0;
}

static void test_delete_records(void **state) {
    fx_t *f = *state;
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":3},"
                            "{\"topic\":\"t\",\"partition\":1,\"offset\":-1}],\"version\":1}"),
                     0);
    assert_string_equal(OUT(f), "Executing records delete operation\n"
                                "Records delete operation completed:\n"
                                "partition: t-0\tlow_watermark: 3\n"
                                "partition: t-1\tlow_watermark: 4\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics %s --describe --topic t", f->bs), 0);
    assert_non_null(strstr(OUT(f), "\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: "
                                   "0\tLogStartOffset: 3\tEndOffset: 10\n"));
    assert_non_null(strstr(OUT(f), "\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: "
                                   "0\tLogStartOffset: 4\tEndOffset: 4\n"));

    /* "version" may be left out (1); whitespace and key order are free. */
    assert_int_equal(run(f, " {\n  \"partitions\" : [ { \"offset\" : 10, \"partition\" : 0,"
                            " \"topic\" : \"t\" } ]\n}\n"),
                     0);
    assert_string_equal(OUT(f), "Executing records delete operation\n"
                                "Records delete operation completed:\n"
                                "partition: t-0\tlow_watermark: 10\n");
    /* An empty list does nothing. */
    assert_int_equal(run(f, "{\"partitions\":[],\"version\":1}"), 0);
    assert_string_equal(OUT(f), "Executing records delete operation\n"
                                "Records delete operation completed:\n");
}

static void test_partition_errors(void **state) {
    fx_t *f = *state;
    /* Past the end, an unknown partition and an unknown topic fail one by
     * one; the good entry is still applied, and the status says failure. */
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":99},"
                            "{\"topic\":\"t\",\"partition\":1,\"offset\":2},"
                            "{\"topic\":\"t\",\"partition\":7,\"offset\":0},"
                            "{\"topic\":\"nope\",\"partition\":0,\"offset\":0}],\"version\":1}"),
                     1);
    rvt_assert_prefix(OUT(f), "Executing records delete operation\n"
                              "Records delete operation completed:\n"
                              "partition: t-0\terror: ");
    assert_non_null(strstr(OUT(f), "\npartition: t-1\tlow_watermark: 2\npartition: t-7\terror: "));
    assert_non_null(strstr(OUT(f), "\npartition: nope-0\terror: "));
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics %s --describe --topic t", f->bs), 0);
    assert_non_null(strstr(OUT(f), "\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: "
                                   "0\tLogStartOffset: 0\tEndOffset: 10\n"));
}

static void test_bad_files(void **state) {
    fx_t *f = *state;
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\" \"partition\":0}]}"), 1);
    assert_string_equal(ERR(f), "The input string is not a valid JSON: line 1, column 29: "
                                "expected ',' or '}' in object\n");
    assert_string_equal(OUT(f), "");
    assert_int_equal(run(f, "{\"partitions\":[\n{\"topic\":\"t\",\"partition\":0,\"offset\":1,}]}"),
                     1);
    assert_string_equal(ERR(f), "The input string is not a valid JSON: line 2, column 39: "
                                "trailing comma in object\n");
    assert_int_equal(run(f, ""), 1);
    assert_string_equal(ERR(f), "The input string is not a valid JSON: line 1, column 1: "
                                "unexpected end of input, expected a value\n");
    assert_int_equal(run(f, "[]"), 1);
    assert_string_equal(ERR(f), "Invalid offset json: expected an object at the top level, found "
                                "array\n");
    assert_int_equal(run(f, "{\"version\":1}"), 1);
    assert_string_equal(ERR(f), "Missing partitions field\n");
    assert_int_equal(run(f, "{\"partitions\":[],\"version\":2}"), 1);
    assert_string_equal(ERR(f), "Not supported version field value 2\n");
    assert_int_equal(run(f, "{\"partitions\":{}}"), 1);
    assert_string_equal(ERR(f), "Invalid offset json: \"partitions\" must be an array, found "
                                "object\n");
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\",\"offset\":1}]}"), 1);
    assert_string_equal(ERR(f), "Invalid offset json: partitions[0]: No such field exists: "
                                "`partition`\n");
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\",\"partition\":0.5,\"offset\":1}]}"),
                     1);
    assert_string_equal(ERR(f), "Invalid offset json: partitions[0]: `partition` must be an "
                                "integer (int32)\n");
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\",\"partition\":0,"
                            "\"offset\":99999999999999999999}]}"),
                     1);
    assert_string_equal(ERR(f), "Invalid offset json: partitions[0]: `offset` must be an integer "
                                "(int64)\n");
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":5,\"partition\":0,\"offset\":1}]}"), 1);
    assert_string_equal(ERR(f), "Invalid offset json: partitions[0]: `topic` must be a string\n");
    assert_int_equal(
        run(f, "{\"partitions\":[{\"topic\":\"t\\u0000\",\"partition\":0,\"offset\":1}]}"), 1);
    assert_string_equal(ERR(f), "Invalid offset json: partitions[0]: `topic` must not contain NUL "
                                "characters\n");
    assert_int_equal(run(f, "{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":1},"
                            "{\"topic\":\"t\",\"partition\":0,\"offset\":2}]}"),
                     1);
    assert_string_equal(ERR(f), "Offset json file contains duplicate topic partitions: t-0\n");
    /* Nothing was deleted by any of these. */
    assert_int_equal(rvt_cli(&f->out, &f->err, "topics %s --describe --topic t", f->bs), 0);
    assert_non_null(strstr(OUT(f), "\tLogStartOffset: 0\tEndOffset: 10\n"));

    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "delete-records %s --offset-json-file %s/missing.json", f->bs, f->dir),
                     1);
    char want[4600];
    snprintf(want, sizeof want,
             "Cannot read the offset json file %s/missing.json: No such file or directory\n",
             f->dir);
    assert_string_equal(ERR(f), want);
}

static void test_usage_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(rvt_cli(&f->out, &f->err, "delete-records %s", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[offset-json-file]\"\nOption ");
    assert_int_equal(rvt_cli(&f->out, &f->err, "delete-records --offset-json-file x"), 1);
    rvt_assert_prefix(ERR(f), "Missing required argument \"[bootstrap-server]\"\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "delete-records %s --offset-json-file", f->bs), 1);
    rvt_assert_prefix(ERR(f), "Option offset-json-file requires an argument\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "delete-records %s --topic t", f->bs), 1);
    rvt_assert_prefix(ERR(f), "topic is not a recognized option\n");
    assert_int_equal(rvt_cli(&f->out, &f->err, "delete-records"), 1);
    rvt_assert_prefix(ERR(f),
                      "This tool helps to delete records of the given partitions down to the "
                      "specified offset.\nOption ");
    assert_int_equal(rvt_cli(&f->out, &f->err, "delete-records --help"), 0);
    assert_non_null(strstr(ERR(f), "--offset-json-file <String: Offset       REQUIRED"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_records, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_partition_errors, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
