/* examples/dsl_filter.c: the seed's filter written with the Streams DSL
 * (docs/DSL.md): keep the values of topic stream_log longer than 5
 * characters and write them to stream_log_filter.
 *
 * The builder makes the same three-node topology that
 * examples/filter_processor.c writes by hand with the Processor API, with
 * Kafka Streams' generated names, and prints its description. The test
 * driver runs it first; given a folder (`dsl_filter DIR`), the program then
 * runs the same topology as a real app on an embedded broker in DIR and
 * reads stream_log_filter back with a consumer. Both runs print what
 * reached the output topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

/* The predicate: values longer than 5 characters. The string serde gives
 * a NUL-terminated value and its length; a null value is NULL. */
static int longer_than_5(const void *key, int32_t key_len, const void *value, int32_t value_len,
                         void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    return value != NULL && value_len > 5;
}

static rv_topology_t *build(void) {
    char errstr[512];
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_consumed_t consumed = RV_CONSUMED_INIT;
    consumed.key_serde = rv_serde_string();
    consumed.value_serde = rv_serde_string();
    const char *topics[] = {"stream_log"};
    rv_kstream_t *lines = rv_streams_builder_stream(builder, topics, 1, &consumed);
    rv_kstream_t *long_lines = rv_kstream_filter(lines, longer_than_5, NULL, NULL);
    rv_kstream_to(long_lines, "stream_log_filter", NULL);
    /* One check for the whole chain: the builder keeps the first error. */
    rv_topology_t *topology = NULL;
    if (rv_streams_builder_build(&topology, builder, errstr, sizeof errstr))
        fprintf(stderr, "dsl_filter: %s\n", errstr);
    rv_streams_builder_destroy(builder);
    return topology;
}

static const char *const VALUES[] = {"short", "a longer line", "tiny", "another long one"};
static const char *const EXPECTED = "k1=a longer line@1001\nk3=another long one@1003\n";

/* Reads `topic` partition 0 from the beginning until `want` records came
 * (or 15 s passed), appending "key=value@timestamp" lines to got. */
static int read_topic(const char *bootstrap, const char *topic, int want, char *got,
                      size_t got_size) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_consumer_t *consumer = NULL;
    if (!conf || rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        !(consumer = rv_consumer_new(conf, errstr, sizeof errstr))) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_topic_partition_list_t *parts = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(parts, topic, 0),
                                  RV_OFFSET_BEGINNING);
    rv_consumer_assign(consumer, parts);
    rv_topic_partition_list_destroy(parts);
    int n = 0;
    for (int polls = 0; n < want && polls < 150; polls++) {
        rv_records_t *records = NULL;
        if (rv_consumer_poll(consumer, 100, &records))
            continue;
        for (size_t i = 0; i < rv_records_count(records); i++, n++) {
            const rv_record_t *r = rv_records_get(records, i);
            int32_t klen, vlen;
            const char *k = rv_record_key(r, &klen);
            const char *v = rv_record_value(r, &vlen);
            char line[128];
            snprintf(line, sizeof line, "%.*s=%.*s@%lld\n", (int)klen, k, (int)vlen, v,
                     (long long)rv_record_timestamp(r));
            strncat(got, line, got_size - strlen(got) - 1);
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
    return n;
}

/* The same topology as a running app on an embedded broker in data_dir. */
static int run_app(const char *data_dir, rv_topology_t *topology) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_filter: %s\n", errstr);
        return -1;
    }

    /* The topics keep records forever: the example's timestamps are small. */
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    if (!admin || !producer ||
        rv_admin_create_topic(admin, "stream_log", 1, -1, names, values, 1, errstr,
                              sizeof errstr) ||
        rv_admin_create_topic(admin, "stream_log_filter", 1, -1, names, values, 1, errstr,
                              sizeof errstr)) {
        fprintf(stderr, "dsl_filter: %s\n", errstr);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "stream_log";
        r.key = key;
        r.key_len = (int32_t)strlen(key);
        r.value = VALUES[i];
        r.value_len = (int32_t)strlen(VALUES[i]);
        r.timestamp = 1000 + i;
        if (rv_producer_send(producer, &r, NULL, NULL, errstr, sizeof errstr)) {
            fprintf(stderr, "dsl_filter: %s\n", errstr);
            return -1;
        }
    }
    rv_producer_flush(producer, -1);
    rv_producer_destroy(producer);
    rv_admin_destroy(admin);

    rv_conf_t *app_conf = rv_conf_new();
    if (rv_conf_set(app_conf, "application.id", "dsl-filter-example", errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "state.dir", state_dir, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "commit.interval.ms", "100", errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_filter: %s\n", errstr);
        return -1;
    }
    rv_streams_t *app = rv_streams_new(topology, app_conf, errstr, sizeof errstr);
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_filter: %s\n", errstr);
        rv_streams_destroy(app);
        return -1;
    }
    char got[512] = "";
    int n = read_topic(bootstrap, "stream_log_filter", 2, got, sizeof got);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    rv_broker_close(broker);
    printf("broker:\n%s", got);
    if (n != 2 || strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_filter: unexpected output from the app\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    rv_topology_t *topology = build();
    if (!topology)
        return 1;
    char *description = rv_topology_describe(topology);
    if (description)
        printf("%s", description);
    free(description);

    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "dsl-filter-example", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "dsl_filter: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        if (rv_test_driver_pipe_input(driver, "stream_log", key, (int32_t)strlen(key), VALUES[i],
                                      (int32_t)strlen(VALUES[i]), 1000 + i, NULL, 0)) {
            fprintf(stderr, "dsl_filter: %s\n", rv_test_driver_last_error(driver));
            return 1;
        }
    }
    char got[512] = "";
    rv_test_record_t *rec;
    while (rv_test_driver_read_output(&rec, driver, "stream_log_filter") == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const char *v = rv_test_record_value(rec, &vlen);
        char line[128];
        snprintf(line, sizeof line, "%.*s=%.*s@%lld\n", (int)klen, k, (int)vlen, v,
                 (long long)rv_test_record_timestamp(rec));
        strncat(got, line, sizeof got - strlen(got) - 1);
        rv_test_record_destroy(rec);
    }
    printf("test driver:\n%s", got);
    rv_test_driver_destroy(driver);
    if (strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_filter: unexpected output\n");
        rv_topology_destroy(topology);
        return 1;
    }
    if (argc > 1 && run_app(argv[1], topology)) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);
    printf("dsl filter: ok\n");
    return 0;
}
