/* tests/unit/test_serde.c: client/serde.c: the built-in serdes write
 * Kafka's byte formats (checked against bytes Java's serializers produce),
 * nulls pass through, wrong sizes fail as Kafka's deserializers do, and a
 * user-defined serde runs its callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "rivulet/serde.h"

static void roundtrip(const rv_serde_t *s, const void *data, int32_t len, const void *expect,
                      int32_t expect_len) {
    void *out;
    int32_t out_len;
    char errstr[256];
    assert_int_equal(rv_serde_serialize(s, &out, &out_len, "t", data, len, errstr, 256), 0);
    assert_int_equal(out_len, expect_len);
    assert_memory_equal(out, expect, (size_t)expect_len);
    void *back;
    int32_t back_len;
    assert_int_equal(rv_serde_deserialize(s, &back, &back_len, "t", out, out_len, errstr, 256), 0);
    rv_serde_free(s, out);
    rv_serde_free(s, back);
}

static void test_java_formats(void **state) {
    (void)state;
    /* IntegerSerializer: 4 bytes big-endian. */
    int32_t i = -2;
    roundtrip(rv_serde_int32(), &i, 4, "\xff\xff\xff\xfe", 4);
    int32_t i2 = 0x01020304;
    roundtrip(rv_serde_int32(), &i2, 4, "\x01\x02\x03\x04", 4);
    /* LongSerializer. */
    int64_t l = 0x0102030405060708LL;
    roundtrip(rv_serde_int64(), &l, 8, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    /* DoubleSerializer: doubleToLongBits(1.5) = 0x3FF8000000000000. */
    double d = 1.5;
    roundtrip(rv_serde_double(), &d, 8, "\x3f\xf8\x00\x00\x00\x00\x00\x00", 8);
    double nd = -2.0;
    roundtrip(rv_serde_double(), &nd, 8, "\xc0\x00\x00\x00\x00\x00\x00\x00", 8);
    /* StringSerializer: UTF-8, no terminator. */
    roundtrip(rv_serde_string(), "h\xc3\xa9", -1, "h\xc3\xa9", 3);
    roundtrip(rv_serde_bytes(), "\x00\x01", 2, "\x00\x01", 2);
    roundtrip(rv_serde_bytes(), "", 0, "", 0);
    assert_string_equal(rv_serde_name(rv_serde_int64()), "int64");
}

static void test_values_back(void **state) {
    (void)state;
    char errstr[256];
    void *v;
    int32_t n;
    assert_int_equal(
        rv_serde_deserialize(rv_serde_string(), &v, &n, "t", "abc", 3, errstr, sizeof errstr), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(n, 3);
    rv_serde_free(rv_serde_string(), v);
    assert_int_equal(rv_serde_deserialize(rv_serde_double(), &v, &n, "t",
                                          "\x40\x09\x21\xfb\x54\x44\x2d\x18", 8, errstr, 256),
                     0);
    assert_true(*(double *)v == 3.141592653589793);
    rv_serde_free(rv_serde_double(), v);
    int64_t l;
    assert_int_equal(rv_serde_int64_read(&l, "\xff\xff\xff\xff\xff\xff\xff\xff", 8), 0);
    assert_int_equal(l, -1);
    uint8_t b[8];
    rv_serde_int32_write(b, 258);
    assert_memory_equal(b, "\x00\x00\x01\x02", 4);
}

static void test_nulls_and_errors(void **state) {
    (void)state;
    char errstr[256];
    void *v = (void *)1;
    int32_t n = 5;
    assert_int_equal(rv_serde_serialize(rv_serde_int32(), &v, &n, "t", NULL, -1, errstr, 256), 0);
    assert_null(v);
    assert_int_equal(n, -1);
    assert_int_equal(rv_serde_deserialize(rv_serde_string(), &v, &n, "t", NULL, -1, errstr, 256),
                     0);
    assert_null(v);
    assert_int_equal(
        rv_serde_deserialize(rv_serde_int32(), &v, &n, "t", "\x01\x02\x03", 3, errstr, 256),
        RV_ERR__DESERIALIZATION);
    assert_string_equal(errstr, "Size of data received by IntegerDeserializer is not 4");
    assert_int_equal(rv_serde_deserialize(rv_serde_int64(), &v, &n, "t", "\x01", 1, errstr, 256),
                     RV_ERR__DESERIALIZATION);
    assert_string_equal(errstr, "Size of data received by LongDeserializer is not 8");
    int32_t i;
    assert_int_equal(rv_serde_int32_read(&i, "\x01", 1), RV_ERR__DESERIALIZATION);
    rv_serde_destroy(rv_serde_int32()); /* a built-in: nothing happens */
}

/* A user serde: upper-cases on the way out, counts calls. */
static rv_err_t upper_ser(void **out, int32_t *out_len, const char *topic, const void *data,
                          int32_t data_len, void *opaque, char *errstr, size_t errstr_size) {
    (void)topic, (void)errstr, (void)errstr_size;
    (*(int *)opaque)++;
    size_t n = data_len < 0 ? strlen(data) : (size_t)data_len;
    if (n == 0) {
        snprintf(errstr, errstr_size, "empty");
        return RV_ERR__SERIALIZATION;
    }
    char *c = malloc(n);
    for (size_t i = 0; i < n; i++)
        c[i] = (char)(((const char *)data)[i] & ~0x20);
    *out = c;
    *out_len = (int32_t)n;
    return RV_ERR_NO_ERROR;
}

static int freed;
static void counting_free(void *p, void *opaque) {
    (void)opaque;
    freed++;
    free(p);
}

static void test_user_serde(void **state) {
    (void)state;
    int calls = 0;
    rv_serde_t *s = rv_serde_new("upper", upper_ser, NULL, counting_free, &calls);
    assert_non_null(s);
    assert_string_equal(rv_serde_name(s), "upper");
    char errstr[256];
    void *out;
    int32_t n;
    assert_int_equal(rv_serde_serialize(s, &out, &n, "t", "abc", -1, errstr, 256), 0);
    assert_memory_equal(out, "ABC", 3);
    rv_serde_free(s, out);
    assert_int_equal(freed, 1);
    assert_int_equal(rv_serde_serialize(s, &out, &n, "t", "", -1, errstr, 256),
                     RV_ERR__SERIALIZATION);
    assert_string_equal(errstr, "empty");
    assert_null(out);
    /* Nulls never reach the callback. */
    assert_int_equal(rv_serde_serialize(s, &out, &n, "t", NULL, -1, errstr, 256), 0);
    assert_int_equal(calls, 2);
    /* No deserializer. */
    assert_int_equal(rv_serde_deserialize(s, &out, &n, "t", "x", 1, errstr, 256), RV_ERR__STATE);
    rv_serde_destroy(s);
    assert_null(rv_serde_new(NULL, upper_ser, NULL, NULL, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_java_formats),
        cmocka_unit_test(test_values_back),
        cmocka_unit_test(test_nulls_and_errors),
        cmocka_unit_test(test_user_serde),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
