/* tests/unit/test_error.c: common/error.c: names and descriptions from the
 * X-macro table, Kafka's numbers, and unknown codes. */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#include "rivulet/error.h"

static void test_names(void **state) {
    (void)state;
    assert_string_equal(rv_err_name(RV_ERR_NO_ERROR), "NO_ERROR");
    assert_string_equal(rv_err_name(RV_ERR_OFFSET_OUT_OF_RANGE), "OFFSET_OUT_OF_RANGE");
    assert_string_equal(rv_err_name(RV_ERR_UNKNOWN_TOPIC_OR_PARTITION),
                        "UNKNOWN_TOPIC_OR_PARTITION");
    assert_string_equal(rv_err_name(RV_ERR__IO), "_IO");
    assert_string_equal(rv_err_name(RV_ERR__PARTIAL), "_PARTIAL");
    assert_string_equal(rv_err_str(RV_ERR_NO_ERROR), "Success");
    assert_string_equal(rv_err_str(RV_ERR__IO), "Local: I/O error");
    assert_string_equal(rv_err_str(RV_ERR_CORRUPT_MESSAGE),
                        "The message contents do not match the message CRC or are invalid");
}

static void test_kafka_numbers(void **state) {
    (void)state;
    /* Kafka's Errors.java codes travel on the wire: they must not move. */
    assert_int_equal(RV_ERR_UNKNOWN_SERVER_ERROR, -1);
    assert_int_equal(RV_ERR_OFFSET_OUT_OF_RANGE, 1);
    assert_int_equal(RV_ERR_CORRUPT_MESSAGE, 2);
    assert_int_equal(RV_ERR_UNKNOWN_TOPIC_OR_PARTITION, 3);
    assert_int_equal(RV_ERR_MESSAGE_TOO_LARGE, 10);
    assert_int_equal(RV_ERR_TOPIC_ALREADY_EXISTS, 36);
    assert_int_equal(RV_ERR_INVALID_CONFIG, 40);
    assert_int_equal(RV_ERR_UNSUPPORTED_COMPRESSION_TYPE, 76);
    assert_int_equal(RV_ERR_INVALID_RECORD, 87);
}

/* Every table entry has a distinct number, a name and a description. */
static void test_table_consistent(void **state) {
    (void)state;
    static const int nums[] = {
#define X(name, num, desc) num,
        RV_ERRORS(X)
#undef X
    };
    static const char *names[] = {
#define X(name, num, desc) #name,
        RV_ERRORS(X)
#undef X
    };
    size_t n = sizeof nums / sizeof nums[0];
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(rv_err_name((rv_err_t)nums[i]), names[i]);
        assert_true(strlen(rv_err_str((rv_err_t)nums[i])) > 0);
        assert_null(strstr(rv_err_name((rv_err_t)nums[i]), "?"));
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(nums[i], nums[j]);
    }
}

static void test_unknown(void **state) {
    (void)state;
    assert_string_equal(rv_err_name((rv_err_t)12345), "ERR_12345?");
    assert_string_equal(rv_err_name((rv_err_t)-9999), "ERR_-9999?");
    assert_non_null(rv_err_str((rv_err_t)12345));
    assert_true(strlen(rv_err_str((rv_err_t)INT32_MIN)) > 0);
    assert_string_equal(rv_err_name((rv_err_t)INT32_MIN), "ERR_-2147483648?");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_kafka_numbers),
        cmocka_unit_test(test_table_consistent),
        cmocka_unit_test(test_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
