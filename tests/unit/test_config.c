/* tests/unit/test_config.c: common/config.c: strict parsing, the value
 * checker's Kafka messages for every type, and the Markdown generator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "common/config.h"

static const char *const policies[] = {"compact", "delete", NULL};
static const char *const ts_types[] = {"CreateTime", "LogAppendTime", NULL};

static const rv__prop_t props[] = {
    {"segment.bytes", RV__PROP_INT, "1073741824", 14, INFINITY, NULL, "Segment size."},
    {"retention.ms", RV__PROP_LONG, "604800000", -1, INFINITY, NULL, "Retention | time."},
    {"retention.bytes", RV__PROP_LONG, "-1", 1, 0, NULL, "Any long."},
    {"min.cleanable.dirty.ratio", RV__PROP_DOUBLE, "0.5", 0, 1, NULL, "Ratio."},
    {"preallocate", RV__PROP_BOOLEAN, "false", 1, 0, NULL, "Bool."},
    {"message.timestamp.type", RV__PROP_ENUM, "CreateTime", 1, 0, ts_types, "Enum."},
    {"cleanup.policy", RV__PROP_LIST, "delete", 1, 0, policies, "List."},
    {"some.string", RV__PROP_STRING, NULL, 1, 0, NULL, "String."},
    {"small.int", RV__PROP_INT, "5", 1, 10, NULL, "Bounded."},
    {NULL, RV__PROP_STRING, NULL, 1, 0, NULL, NULL},
};

static void test_parse_ints(void **state) {
    (void)state;
    int64_t l;
    int32_t i;
    assert_int_equal(rv__parse_int64("0", &l), 0);
    assert_true(l == 0);
    assert_int_equal(rv__parse_int64("9223372036854775807", &l), 0);
    assert_true(l == INT64_MAX);
    assert_int_equal(rv__parse_int64("-9223372036854775808", &l), 0);
    assert_true(l == INT64_MIN);
    assert_int_equal(rv__parse_int64("+42", &l), 0);
    assert_true(l == 42);
    assert_int_equal(rv__parse_int64("-007", &l), 0);
    assert_true(l == -7);
    const char *bad64[] = {"9223372036854775808",
                           "-9223372036854775809",
                           "",
                           "-",
                           "+",
                           " 1",
                           "1 ",
                           "1.0",
                           "0x10",
                           "1e3",
                           "12a",
                           "--1",
                           "99999999999999999999"};
    for (size_t k = 0; k < sizeof bad64 / sizeof bad64[0]; k++)
        if (rv__parse_int64(bad64[k], &l) == 0)
            fail_msg("parsed \"%s\"", bad64[k]);
    assert_int_equal(rv__parse_int64(NULL, &l), -1);

    assert_int_equal(rv__parse_int32("2147483647", &i), 0);
    assert_int_equal(i, INT32_MAX);
    assert_int_equal(rv__parse_int32("-2147483648", &i), 0);
    assert_int_equal(i, INT32_MIN);
    assert_int_equal(rv__parse_int32("2147483648", &i), -1);
    assert_int_equal(rv__parse_int32("-2147483649", &i), -1);
}

static void test_parse_double_bool(void **state) {
    (void)state;
    double d;
    assert_int_equal(rv__parse_double("0.5", &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(rv__parse_double("1e3", &d), 0);
    assert_true(d == 1000);
    assert_int_equal(rv__parse_double("-2", &d), 0);
    assert_true(d == -2);
    assert_int_equal(rv__parse_double(".25", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(rv__parse_double("-Infinity", &d), 0);
    assert_true(isinf(d) && d < 0);
    assert_int_equal(rv__parse_double("NaN", &d), 0);
    assert_true(isnan(d));
    const char *bad[] = {"", "abc", " 1", "1 ", "inf", "nan", "0x1p3", "1,5", "1e", "."};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        if (rv__parse_double(bad[k], &d) == 0)
            fail_msg("parsed \"%s\"", bad[k]);

    bool b;
    assert_int_equal(rv__parse_bool("true", &b), 0);
    assert_true(b);
    assert_int_equal(rv__parse_bool("FALSE", &b), 0);
    assert_false(b);
    assert_int_equal(rv__parse_bool("True", &b), 0);
    assert_true(b);
    assert_int_equal(rv__parse_bool("yes", &b), -1);
    assert_int_equal(rv__parse_bool("1", &b), -1);
    assert_int_equal(rv__parse_bool("", &b), -1);
}

static void test_parse_kv(void **state) {
    (void)state;
    char *n, *v;
    assert_int_equal(rv__parse_kv("  a.b = c d  ", &n, &v), 0);
    assert_string_equal(n, "a.b");
    assert_string_equal(v, "c d");
    free(n);
    free(v);
    assert_int_equal(rv__parse_kv("k=v=w", &n, &v), 0);
    assert_string_equal(n, "k");
    assert_string_equal(v, "v=w");
    free(n);
    free(v);
    assert_int_equal(rv__parse_kv("k=", &n, &v), 0);
    assert_string_equal(v, "");
    free(n);
    free(v);
    assert_int_equal(rv__parse_kv("=v", &n, &v), -1);
    assert_int_equal(rv__parse_kv("  =v", &n, &v), -1);
    assert_int_equal(rv__parse_kv("novalue", &n, &v), -1);
}

static void expect_invalid(const char *name, const char *value, const char *msg) {
    char err[512] = "";
    const rv__prop_t *p = rv__prop_find(props, name);
    assert_non_null(p);
    assert_int_equal(rv__prop_check(p, value, err, sizeof err), RV_CONF_INVALID);
    assert_string_equal(err, msg);
}

static void expect_ok(const char *name, const char *value) {
    char err[512] = "";
    const rv__prop_t *p = rv__prop_find(props, name);
    assert_non_null(p);
    if (rv__prop_check(p, value, err, sizeof err) != RV_CONF_OK)
        fail_msg("%s=%s rejected: %s", name, value, err);
}

static void test_find(void **state) {
    (void)state;
    assert_non_null(rv__prop_find(props, "cleanup.policy"));
    assert_string_equal(rv__prop_find(props, "segment.bytes")->dflt, "1073741824");
    assert_null(rv__prop_find(props, "cleanup"));
    assert_null(rv__prop_find(props, ""));
    assert_null(rv__prop_find(props, NULL));
}

static void test_check_messages(void **state) {
    (void)state;
    expect_ok("segment.bytes", "14");
    expect_ok("segment.bytes", " 1048576 "); /* Kafka trims */
    expect_invalid("segment.bytes", "abc",
                   "Invalid value abc for configuration segment.bytes: Not a number of type INT");
    expect_invalid("segment.bytes", "1",
                   "Invalid value 1 for configuration segment.bytes: Value must be at least 14");
    expect_invalid("segment.bytes", "2147483648",
                   "Invalid value 2147483648 for configuration segment.bytes: Not a number of "
                   "type INT");
    expect_invalid("small.int", "11",
                   "Invalid value 11 for configuration small.int: Value must be no more than 10");
    expect_ok("small.int", "10");

    expect_ok("retention.ms", "-1");
    expect_ok("retention.ms", "9223372036854775807");
    expect_invalid("retention.ms", "-2",
                   "Invalid value -2 for configuration retention.ms: Value must be at least -1");
    expect_invalid("retention.ms", "1h",
                   "Invalid value 1h for configuration retention.ms: Not a number of type LONG");
    expect_ok("retention.bytes", "-9223372036854775808");

    expect_ok("min.cleanable.dirty.ratio", "0.01");
    expect_ok("min.cleanable.dirty.ratio", "1");
    expect_invalid("min.cleanable.dirty.ratio", "1.5",
                   "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be "
                   "no more than 1");
    expect_invalid("min.cleanable.dirty.ratio", "half",
                   "Invalid value half for configuration min.cleanable.dirty.ratio: Not a number "
                   "of type DOUBLE");

    expect_ok("preallocate", "TRUE");
    expect_invalid("preallocate", "yes",
                   "Invalid value yes for configuration preallocate: Expected value to be either "
                   "true or false");

    expect_ok("message.timestamp.type", "LogAppendTime");
    expect_invalid("message.timestamp.type", "logappendtime",
                   "Invalid value logappendtime for configuration message.timestamp.type: String "
                   "must be one of: CreateTime, LogAppendTime");

    expect_ok("cleanup.policy", "compact");
    expect_ok("cleanup.policy", "compact,delete");
    expect_ok("cleanup.policy", "delete , compact");
    expect_ok("cleanup.policy", "");
    expect_invalid("cleanup.policy", "compact,foo",
                   "Invalid value foo for configuration cleanup.policy: String must be one of: "
                   "compact, delete");

    expect_ok("some.string", "anything at all");
    expect_ok("some.string", "");

    /* A tiny errstr is truncated, not overrun; size 0 writes nothing. */
    char small[8];
    assert_int_equal(
        rv__prop_check(rv__prop_find(props, "segment.bytes"), "x", small, sizeof small),
        RV_CONF_INVALID);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(rv__prop_check(rv__prop_find(props, "segment.bytes"), "x", NULL, 0),
                     RV_CONF_INVALID);
}

static void test_markdown(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(rv__prop_table_markdown(&b, props, "Topic configs"), 0);
    const char *md = (const char *)b.data;
    assert_non_null(strstr(md, "## Topic configs\n"));
    assert_non_null(strstr(md, "| Name | Type | Default | Valid values | Description |\n"));
    assert_non_null(
        strstr(md, "| `segment.bytes` | int | `1073741824` | [14,...] | Segment size. |\n"));
    assert_non_null(strstr(md, "| `retention.ms` | long | `604800000` | [-1,...] | Retention "
                               "\\| time. |\n"));
    assert_non_null(strstr(md, "| `retention.bytes` | long | `-1` |  | Any long. |\n"));
    assert_non_null(strstr(md, "| `min.cleanable.dirty.ratio` | double | `0.5` | [0,...,1] |"));
    assert_non_null(strstr(md, "| `cleanup.policy` | list | `delete` | [compact, delete] |"));
    assert_non_null(strstr(md, "| `some.string` | string | null |  | String. |\n"));
    /* One row per property. */
    int rows = 0;
    for (const char *p = md; (p = strstr(p, "\n| `")); p++)
        rows++;
    assert_int_equal(rows, 9);

    /* The client table renders too, and every row is well-formed. */
    rv__buf_t c = RV__BUF_INIT;
    assert_int_equal(rv__prop_table_markdown(&c, rv__conf_props, "Client configs"), 0);
    assert_non_null(strstr((const char *)c.data, "| `request.timeout.ms` | int | `30000` |"));
    rv__buf_free(&c);
    rv__buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ints),     cmocka_unit_test(test_parse_double_bool),
        cmocka_unit_test(test_parse_kv),       cmocka_unit_test(test_find),
        cmocka_unit_test(test_check_messages), cmocka_unit_test(test_markdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
