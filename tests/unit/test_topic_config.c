/* tests/unit/test_topic_config.c: the topic config table
 * (broker/topic_config.c): Kafka's names, defaults and ranges, the
 * checker's messages, and the mapping onto the log settings. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#include "broker/topic_config.h"

static void check_ok(const char *name, const char *value) {
    char errstr[512] = "";
    rv_err_t err = rv__topic_config_check(name, value, errstr, sizeof errstr);
    if (err)
        fail_msg("%s=%s rejected: %s", name, value, errstr);
}

static void check_bad(const char *name, const char *value, const char *msg) {
    char errstr[512] = "";
    assert_int_equal(rv__topic_config_check(name, value, errstr, sizeof errstr),
                     RV_ERR_INVALID_CONFIG);
    if (msg)
        assert_string_equal(errstr, msg);
}

static void test_defaults(void **state) {
    (void)state;
    static const struct {
        const char *name, *dflt;
    } want[] = {
        {"cleanup.policy", "delete"},
        {"compression.type", "producer"},
        {"delete.retention.ms", "86400000"},
        {"file.delete.delay.ms", "60000"},
        {"flush.messages", "9223372036854775807"},
        {"flush.ms", "9223372036854775807"},
        {"index.interval.bytes", "4096"},
        {"max.compaction.lag.ms", "9223372036854775807"},
        {"max.message.bytes", "1048588"},
        {"message.downconversion.enable", "true"},
        {"message.timestamp.type", "CreateTime"},
        {"min.cleanable.dirty.ratio", "0.5"},
        {"min.compaction.lag.ms", "0"},
        {"min.insync.replicas", "1"},
        {"preallocate", "false"},
        {"retention.bytes", "-1"},
        {"retention.ms", "604800000"},
        {"segment.bytes", "1073741824"},
        {"segment.index.bytes", "10485760"},
        {"segment.jitter.ms", "0"},
        {"segment.ms", "604800000"},
        {"unclean.leader.election.enable", "false"},
    };
    size_t rows = 0;
    for (const rv__prop_t *p = rv__topic_config_props; p->name; p++) {
        rows++;
        assert_non_null(p->doc);
    }
    assert_int_equal(rows, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const rv__prop_t *p = rv__prop_find(rv__topic_config_props, want[i].name);
        if (!p)
            fail_msg("missing %s", want[i].name);
        assert_string_equal(p->dflt, want[i].dflt);
        /* Every default passes its own check. */
        check_ok(p->name, p->dflt);
    }
}

static void test_unknown_and_bad_values(void **state) {
    (void)state;
    check_bad("foo.bar", "1", "Unknown topic config name: foo.bar");
    check_bad("retention.msx", "1", "Unknown topic config name: retention.msx");
    check_bad("segment.bytes", "abc",
              "Invalid value abc for configuration segment.bytes: Not a number of type INT");
    check_bad("segment.bytes", "13",
              "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
    check_ok("segment.bytes", "14");
    check_bad("segment.bytes", "4294967296", NULL); /* past int32 */
    check_bad("retention.ms", "-2",
              "Invalid value -2 for configuration retention.ms: Value must be at least -1");
    check_ok("retention.ms", "-1");
    check_bad("segment.ms", "0",
              "Invalid value 0 for configuration segment.ms: Value must be at least 1");
    check_bad("min.cleanable.dirty.ratio", "1.5",
              "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no "
              "more than 1");
    check_ok("min.cleanable.dirty.ratio", "0");
    check_ok("min.cleanable.dirty.ratio", "1");
    check_bad("cleanup.policy", "remove", NULL);
    check_ok("cleanup.policy", "compact");
    check_ok("cleanup.policy", "compact,delete");
    check_ok("cleanup.policy", "delete, compact");
    check_bad("message.timestamp.type", "createtime", NULL);
    check_ok("message.timestamp.type", "LogAppendTime");
    for (const char *const *c = (const char *const[]){"producer", "none", "gzip", "snappy", "lz4",
                                                      "zstd", "uncompressed", NULL};
         *c; c++)
        check_ok("compression.type", *c);
    check_bad("compression.type", "brotli", NULL);
    check_bad("preallocate", "yes",
              "Invalid value yes for configuration preallocate: Expected value to be either "
              "true or false");
    check_ok("retention.bytes", "-5"); /* no range in Kafka */
    check_bad("flush.messages", "0", NULL);
    check_ok("flush.ms", "0");
    check_bad("min.insync.replicas", "0", NULL);
    check_ok("max.compaction.lag.ms", "1");
}

static void test_to_log(void **state) {
    (void)state;
    rv__log_config_t cfg;
    rv__log_config_defaults(&cfg);
    assert_int_equal(cfg.segment_bytes, 1073741824);
    assert_int_equal(cfg.segment_ms, 604800000);
    assert_int_equal(cfg.retention_ms, 604800000);
    assert_int_equal(cfg.retention_bytes, -1);
    assert_true(cfg.cleanup_delete);
    assert_false(cfg.cleanup_compact);
    assert_true(cfg.min_cleanable_dirty_ratio == 0.5);
    assert_int_equal(cfg.delete_retention_ms, 86400000);
    assert_int_equal(cfg.min_compaction_lag_ms, 0);
    assert_true(cfg.flush_messages == INT64_MAX);
    assert_true(cfg.flush_ms == INT64_MAX);
    assert_false(cfg.log_append_time);
    assert_int_equal(cfg.max_message_bytes, 1048588);
    assert_int_equal(cfg.index_interval_bytes, 4096);
    assert_int_equal(cfg.segment_index_bytes, 10485760);

    const char *names[] = {"segment.bytes",
                           "cleanup.policy",
                           "retention.ms",
                           "retention.bytes",
                           "message.timestamp.type",
                           "flush.messages",
                           "flush.ms",
                           "min.cleanable.dirty.ratio",
                           "delete.retention.ms",
                           "min.compaction.lag.ms",
                           "max.message.bytes",
                           "index.interval.bytes",
                           "segment.index.bytes",
                           "segment.ms",
                           "preallocate"};
    const char *values[] = {"1000",
                            "compact, delete",
                            "-1",
                            "5000",
                            "LogAppendTime",
                            "1",
                            "10",
                            "0.25",
                            "100",
                            "7",
                            "2048",
                            "128",
                            "4096",
                            "60000",
                            "true"};
    rv__topic_config_to_log(&cfg, names, values, sizeof names / sizeof names[0]);
    assert_int_equal(cfg.segment_bytes, 1000);
    assert_true(cfg.cleanup_compact);
    assert_true(cfg.cleanup_delete);
    assert_int_equal(cfg.retention_ms, -1);
    assert_int_equal(cfg.retention_bytes, 5000);
    assert_true(cfg.log_append_time);
    assert_int_equal(cfg.flush_messages, 1);
    assert_int_equal(cfg.flush_ms, 10);
    assert_true(cfg.min_cleanable_dirty_ratio == 0.25);
    assert_int_equal(cfg.delete_retention_ms, 100);
    assert_int_equal(cfg.min_compaction_lag_ms, 7);
    assert_int_equal(cfg.max_message_bytes, 2048);
    assert_int_equal(cfg.index_interval_bytes, 128);
    assert_int_equal(cfg.segment_index_bytes, 4096);
    assert_int_equal(cfg.segment_ms, 60000);

    const char *n2[] = {"cleanup.policy"};
    const char *v2[] = {"compact"};
    rv__topic_config_to_log(&cfg, n2, v2, 1);
    assert_true(cfg.cleanup_compact);
    assert_false(cfg.cleanup_delete);
    /* Everything else went back to the defaults. */
    assert_int_equal(cfg.segment_bytes, 1073741824);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_unknown_and_bad_values),
        cmocka_unit_test(test_to_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
