/* tests/unit/test_tools_console_windowed.c: `rivulet console-consumer`
 * with Kafka's key.deserializer / value.deserializer properties: built-in
 * names and Kafka's class names print numbers as numbers, and
 * TimeWindowedDeserializer / SessionWindowedDeserializer print windowed
 * keys as Kafka's Windowed.toString() "[key@start/end]"; the errors of a
 * deserializer that cannot be made. Records are written with the
 * windowed serdes of rivulet/dsl.h, so the bytes are Kafka's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"
#include "testutil.h"

typedef rvt_cli_fx_t fx_t;

#define OUT(f) ((const char *)(f)->out.data)
#define ERR(f) ((const char *)(f)->err.data)

static int setup(void **state) {
    rvt_cli_fx_setup(state);
    fx_t *f = *state;
    if (rvt_cli(&f->out, &f->err, "topics %s --create --topic w --partitions 1", f->bs) != 0) {
        print_error("setup: %s%s\n", OUT(f), ERR(f));
        rvt_cli_fx_teardown(state);
        return -1;
    }
    return 0;
}

/* Sends key/value (serialized with ks/vs) to w-0, then closes the
 * embedded broker again so the program can open the folder. */
static void send(fx_t *f, const rv_serde_t *ks, const void *k, int32_t kl, const rv_serde_t *vs,
                 const void *v, int32_t vl) {
    char errstr[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", f->bs + strlen("--bootstrap-server "),
                                 errstr, sizeof errstr),
                     0);
    rv_producer_t *p = rv_producer_new(c, errstr, sizeof errstr);
    assert_non_null(p);
    void *kb, *vb;
    int32_t kbl, vbl;
    assert_int_equal(rv_serde_serialize(ks, &kb, &kbl, "w", k, kl, errstr, sizeof errstr), 0);
    assert_int_equal(rv_serde_serialize(vs, &vb, &vbl, "w", v, vl, errstr, sizeof errstr), 0);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = "w";
    r.partition = 0;
    r.key = kb;
    r.key_len = kbl;
    r.value = vb;
    r.value_len = vbl;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_serde_free(ks, kb);
    rv_serde_free(vs, vb);
    rv_producer_destroy(p);
}

static void test_time_windowed_keys(void **state) {
    fx_t *f = *state;
    rv_serde_t *tw = rv_serde_time_windowed_new(rv_serde_string(), 60000);
    rv_windowed_t w1 = {"alice", 5, 0, 60000}, w2 = {"bob", 3, 60000, 120000};
    int64_t n1 = 2, n2 = 7;
    send(f, tw, &w1, sizeof w1, rv_serde_int64(), &n1, 8);
    send(f, tw, &w2, sizeof w2, rv_serde_int64(), &n2, 8);
    rv_serde_destroy(tw);
    /* Kafka's own spelling. */
    assert_int_equal(
        rvt_cli(&f->out, &f->err,
                "console-consumer %s --topic w --from-beginning --timeout-ms 2000 "
                "--property print.key=true "
                "--property key.deserializer=org.apache.kafka.streams.kstream."
                "TimeWindowedDeserializer "
                "--property key.deserializer.window.size.ms=60000 "
                "--property 'key.deserializer.windowed.inner.class.serde=org.apache.kafka."
                "common.serialization.Serdes$StringSerde' "
                "--property value.deserializer=org.apache.kafka.common.serialization."
                "LongDeserializer",
                f->bs),
        0);
    assert_string_equal(OUT(f), "[alice@0/60000]\t2\n[bob@60000/120000]\t7\n");
    assert_string_equal(ERR(f), "Processed a total of 2 messages\n");
    /* The built-in names work too; without a value deserializer the value
     * is its bytes. */
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic w --from-beginning --timeout-ms 2000 "
                             "--property print.key=true --property print.value=false "
                             "--property key.deserializer=org.apache.kafka.streams.kstream."
                             "TimeWindowedDeserializer "
                             "--property key.deserializer.window.size.ms=1000 "
                             "--property key.deserializer.windowed.inner.class.serde=string",
                             f->bs),
                     0);
    assert_string_equal(OUT(f), "[alice@0/1000]\n[bob@60000/61000]\n");
}

static void test_session_windowed_and_numbers(void **state) {
    fx_t *f = *state;
    rv_serde_t *sw = rv_serde_session_windowed_new(rv_serde_int32());
    int32_t k = 42;
    rv_windowed_t w = {&k, 4, 1000, 1500};
    double d = 1.5;
    send(f, sw, &w, sizeof w, rv_serde_double(), &d, 8);
    rv_serde_destroy(sw);
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic w --from-beginning --timeout-ms 2000 "
                             "--property print.key=true --property key.separator=' -> ' "
                             "--property key.deserializer=org.apache.kafka.streams.kstream."
                             "SessionWindowedDeserializer "
                             "--property key.deserializer.windowed.inner.class.serde=int32 "
                             "--property value.deserializer=double",
                             f->bs),
                     0);
    assert_string_equal(OUT(f), "[42@1000/1500] -> 1.5\n");
}

static void test_deserializer_errors(void **state) {
    fx_t *f = *state;
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic w --timeout-ms 1 "
                             "--property key.deserializer=com.example.Nope",
                             f->bs),
                     1);
    rvt_assert_contains(ERR(f), "Unable to instantiate a deserializer from com.example.Nope");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic w --timeout-ms 1 "
                             "--property key.deserializer=org.apache.kafka.streams.kstream."
                             "TimeWindowedDeserializer "
                             "--property key.deserializer.windowed.inner.class.serde=string",
                             f->bs),
                     1);
    rvt_assert_contains(ERR(f), "Window size needs to be set either through the time windowed "
                                "deserializer constructor or the window.size.ms config");
    assert_int_equal(rvt_cli(&f->out, &f->err,
                             "console-consumer %s --topic w --timeout-ms 1 "
                             "--property key.deserializer=org.apache.kafka.streams.kstream."
                             "SessionWindowedDeserializer "
                             "--property key.deserializer.windowed.inner.class.serde=x.Y",
                             f->bs),
                     1);
    rvt_assert_contains(ERR(f), "Serde class x.Y could not be found.");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_windowed_keys, setup, rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_windowed_and_numbers, setup,
                                        rvt_cli_fx_teardown),
        cmocka_unit_test_setup_teardown(test_deserializer_errors, setup, rvt_cli_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
