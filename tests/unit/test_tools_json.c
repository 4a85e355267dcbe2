/* tests/unit/test_tools_json.c: the strict JSON parser of tools/json.c
 * (compiled into this test, as the tools' sources are not part of the
 * library): values, escapes, integer conversion, and every rejection with
 * its line and column. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tools/json.c"

static rv__json_t *ok(const char *text) {
    char errstr[256] = "";
    rv__json_t *v = rv__json_parse(text, strlen(text), errstr, sizeof errstr);
    if (!v)
        fail_msg("parse of %s failed: %s", text, errstr);
    return v;
}

static void bad(const char *text, const char *want) {
    char errstr[256] = "";
    rv__json_t *v = rv__json_parse(text, strlen(text), errstr, sizeof errstr);
    if (v)
        fail_msg("parse of %s should fail", text);
    assert_string_equal(errstr, want);
}

static void test_values(void **state) {
    (void)state;
    rv__json_t *v = ok(" {\"a\": [1, -2, 3.5e2, true, false, null, \"x\"], \"b\": {}} ");
    assert_int_equal(v->type, RV__JSON_OBJECT);
    assert_int_equal(v->cnt, 2);
    const rv__json_t *a = rv__json_get(v, "a");
    assert_non_null(a);
    assert_int_equal(a->type, RV__JSON_ARRAY);
    assert_int_equal(a->cnt, 7);
    int64_t n;
    assert_int_equal(rv__json_int(a->items[0], INT64_MIN, INT64_MAX, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rv__json_int(a->items[1], INT64_MIN, INT64_MAX, &n), 0);
    assert_int_equal(n, -2);
    assert_int_equal(rv__json_int(a->items[2], INT64_MIN, INT64_MAX, &n), -1);
    assert_string_equal(a->items[2]->text, "3.5e2");
    assert_int_equal(a->items[3]->type, RV__JSON_BOOL);
    assert_true(a->items[3]->boolean);
    assert_false(a->items[4]->boolean);
    assert_int_equal(a->items[5]->type, RV__JSON_NULL);
    assert_string_equal(a->items[6]->text, "x");
    assert_int_equal(rv__json_get(v, "b")->type, RV__JSON_OBJECT);
    assert_null(rv__json_get(v, "c"));
    assert_null(rv__json_get(a, "a"));
    assert_string_equal(rv__json_type_name(a->type), "array");
    rv__json_free(v);

    /* A repeated key: the last one wins, as Jackson. */
    v = ok("{\"k\":1,\"k\":2}");
    assert_int_equal(rv__json_int(rv__json_get(v, "k"), 0, 10, &n), 0);
    assert_int_equal(n, 2);
    rv__json_free(v);

    v = ok("0");
    rv__json_free(v);
    v = ok("[[[]]]");
    rv__json_free(v);
    rv__json_free(NULL);
}

static void test_strings(void **state) {
    (void)state;
    rv__json_t *v = ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"");
    assert_string_equal(v->text, "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_int_equal(v->len, strlen(v->text));
    rv__json_free(v);
    /* An escaped NUL is kept, with its length. */
    v = ok("\"a\\u0000b\"");
    assert_int_equal(v->len, 3);
    assert_int_equal(strlen(v->text), 1);
    rv__json_free(v);
}

static void test_integers(void **state) {
    (void)state;
    int64_t n;
    rv__json_t *v = ok("[9223372036854775807, -9223372036854775808, 9223372036854775808, "
                       "-9223372036854775809, 2147483648, 1e3, 1.0, -0]");
    assert_int_equal(rv__json_int(v->items[0], INT64_MIN, INT64_MAX, &n), 0);
    assert_true(n == INT64_MAX);
    assert_int_equal(rv__json_int(v->items[1], INT64_MIN, INT64_MAX, &n), 0);
    assert_true(n == INT64_MIN);
    assert_int_equal(rv__json_int(v->items[2], INT64_MIN, INT64_MAX, &n), -1);
    assert_int_equal(rv__json_int(v->items[3], INT64_MIN, INT64_MAX, &n), -1);
    assert_int_equal(rv__json_int(v->items[4], INT32_MIN, INT32_MAX, &n), -1);
    assert_int_equal(rv__json_int(v->items[4], INT64_MIN, INT64_MAX, &n), 0);
    assert_int_equal(rv__json_int(v->items[5], INT64_MIN, INT64_MAX, &n), -1);
    assert_int_equal(rv__json_int(v->items[6], INT64_MIN, INT64_MAX, &n), -1);
    assert_int_equal(rv__json_int(v->items[7], INT64_MIN, INT64_MAX, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(rv__json_int(v, INT64_MIN, INT64_MAX, &n), -1);
    assert_int_equal(rv__json_int(NULL, INT64_MIN, INT64_MAX, &n), -1);
    rv__json_free(v);
}

static void test_errors(void **state) {
    (void)state;
    bad("", "line 1, column 1: unexpected end of input, expected a value");
    bad("   \n  ", "line 2, column 3: unexpected end of input, expected a value");
    bad("{\"a\":1,}", "line 1, column 8: trailing comma in object");
    bad("[1,]", "line 1, column 4: trailing comma in array");
    bad("[1 2]", "line 1, column 4: expected ',' or ']' in array");
    bad("{\"a\" 1}", "line 1, column 6: expected ':' after object key");
    bad("{a:1}", "line 1, column 2: expected a string key in object");
    bad("{\"a\":1", "line 1, column 7: unterminated object");
    bad("[1", "line 1, column 3: unterminated array");
    bad("\"abc", "line 1, column 1: unterminated string");
    bad("\"a\nb\"", "line 1, column 3: control character in string (must be escaped)");
    bad("\"\\x\"", "line 1, column 2: bad escape in string");
    bad("\"\\u12\"", "line 1, column 2: bad \\u escape (needs 4 hex digits)");
    bad("\"\\ud800\"", "line 1, column 2: high surrogate not followed by a low surrogate");
    bad("\"\\udc00\"", "line 1, column 2: lone low surrogate in \\u escape");
    bad("01", "line 1, column 1: leading zeros are not allowed in numbers");
    bad("-", "line 1, column 2: bad number");
    bad("1.", "line 1, column 3: bad number: digits expected after '.'");
    bad("1e", "line 1, column 3: bad number: digits expected in exponent");
    bad("tru", "line 1, column 1: unexpected character, expected a value");
    bad("'a'", "line 1, column 1: unexpected character, expected a value");
    bad("{} x", "line 1, column 4: unexpected data after the JSON value");
    bad("// c\n{}", "line 1, column 1: unexpected character, expected a value");
    bad("{\"a\":\n\n  ]}", "line 3, column 3: unexpected character, expected a value");

    /* Deep nesting is refused rather than exhausting the stack. */
    char deep[RV__JSON_MAX_DEPTH + 2];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    char errstr[128];
    assert_null(rv__json_parse(deep, strlen(deep), errstr, sizeof errstr));
    assert_non_null(strstr(errstr, "nesting too deep"));

    /* The length bounds the parse: a NUL byte or bytes past len are never
     * read as JSON. */
    assert_null(rv__json_parse("{}\0{}", 5, errstr, sizeof errstr));
    rv__json_t *v = rv__json_parse("[1]xyz", 3, errstr, sizeof errstr);
    assert_non_null(v);
    rv__json_free(v);
}

/* Every prefix of a valid document, and every single-byte corruption, is
 * handled without a crash or leak (the sanitizer build checks). */
static void test_no_crash(void **state) {
    (void)state;
    const char doc[] = "{\"partitions\":[{\"topic\":\"t\\u00e9\",\"partition\":0,\"offset\":-1}],"
                       "\"version\":1}";
    size_t n = sizeof doc - 1;
    char errstr[128];
    char *copy = malloc(n);
    assert_non_null(copy);
    for (size_t len = 0; len <= n; len++) {
        memcpy(copy, doc, len);
        rv__json_free(rv__json_parse(copy, len, errstr, sizeof errstr));
    }
    static const char bytes[] = "{}[]\",:\\u0 -e.x\n\x01\xff";
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < sizeof bytes - 1; b++) {
            memcpy(copy, doc, n);
            copy[i] = bytes[b];
            rv__json_free(rv__json_parse(copy, n, errstr, sizeof errstr));
        }
    free(copy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),   cmocka_unit_test(test_strings),
        cmocka_unit_test(test_integers), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_no_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
