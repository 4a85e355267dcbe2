/* examples/filter_processor.c: the seed's filter processor, run through the
 * test driver (docs/PROCESSOR_API.md).
 *
 * The topology keeps the values longer than 5 characters of topic
 * stream_log and writes them to stream_log_filter: a source, one processor
 * that forwards what it keeps through its context, and a sink. The test
 * driver runs it in this thread with no broker; the program pipes four
 * records in, prints what reached stream_log_filter and checks it.
 *
 * Given a folder (`filter_processor DIR`), it then runs the same topology
 * as a real app (rivulet/streams.h) on an embedded broker in DIR: it
 * creates the topics, produces the same four records, starts the app,
 * reads stream_log_filter with a consumer and checks the same output. A
 * host:port bootstrap.servers would run it unchanged on a Kafka broker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

static rv_err_t filter_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                               void *state) {
    (void)state;
    /* The string deserializer gave a NUL-terminated copy and its length. */
    if (record->value && record->value_len > 5)
        return rv_processor_context_forward(ctx, record);
    return RV_ERR_NO_ERROR;
}

static rv_err_t filter_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = filter_process;
    return RV_ERR_NO_ERROR;
}

static int build(rv_topology_t *topology) {
    char errstr[512];
    rv_processor_supplier_t filter = RV_PROCESSOR_SUPPLIER_INIT;
    filter.get = filter_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_string();
    out.value_serializer = rv_serde_string();
    const char *topics[] = {"stream_log"};
    const char *source[] = {"Source"};
    const char *process[] = {"Process"};
    if (rv_topology_add_source(topology, "Source", topics, 1, &in, errstr, sizeof errstr) ||
        rv_topology_add_processor(topology, "Process", &filter, source, 1, errstr, sizeof errstr) ||
        rv_topology_add_sink(topology, "Sink", "stream_log_filter", &out, process, 1, errstr,
                             sizeof errstr)) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        return -1;
    }
    return 0;
}

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
        fprintf(stderr, "filter_processor: %s\n", errstr);
        return -1;
    }

    /* The input and output topics, and the input records. */
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    if (!admin || !producer ||
        rv_admin_create_topic(admin, "stream_log", 1, -1, NULL, NULL, 0, errstr, sizeof errstr) ||
        rv_admin_create_topic(admin, "stream_log_filter", 1, -1, NULL, NULL, 0, errstr,
                              sizeof errstr)) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        return -1;
    }
    const char *values[] = {"short", "a longer line", "tiny", "another long one"};
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "stream_log";
        r.key = key;
        r.key_len = (int32_t)strlen(key);
        r.value = values[i];
        r.value_len = (int32_t)strlen(values[i]);
        r.timestamp = 1000 + i;
        if (rv_producer_send(producer, &r, NULL, NULL, errstr, sizeof errstr)) {
            fprintf(stderr, "filter_processor: %s\n", errstr);
            return -1;
        }
    }
    rv_producer_flush(producer, -1);
    rv_producer_destroy(producer);
    rv_admin_destroy(admin);

    /* The app: application.id names its consumer group and state folder. */
    rv_conf_t *app_conf = rv_conf_new();
    if (rv_conf_set(app_conf, "application.id", "filter-example", errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "state.dir", state_dir, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "commit.interval.ms", "100", errstr, sizeof errstr)) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        return -1;
    }
    rv_streams_t *app = rv_streams_new(topology, app_conf, errstr, sizeof errstr);
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        rv_streams_destroy(app);
        return -1;
    }

    char got[512] = "";
    int n = read_topic(bootstrap, "stream_log_filter", 2, got, sizeof got);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    rv_broker_close(broker);
    printf("broker:\n%s", got);
    if (n != 2 || strcmp(got, "k1=a longer line@1001\nk3=another long one@1003\n")) {
        fprintf(stderr, "filter_processor: unexpected output from the app\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    rv_topology_t *topology = rv_topology_new();
    if (!topology || build(topology)) {
        rv_topology_destroy(topology);
        return 1;
    }

    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "filter-example", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }

    const char *values[] = {"short", "a longer line", "tiny", "another long one"};
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        if (rv_test_driver_pipe_input(driver, "stream_log", key, (int32_t)strlen(key), values[i],
                                      (int32_t)strlen(values[i]), 1000 + i, NULL, 0)) {
            fprintf(stderr, "filter_processor: %s\n", rv_test_driver_last_error(driver));
            return 1;
        }
    }

    /* What reached the output topic, in order. */
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
    printf("%s", got);

    rv_test_driver_destroy(driver);
    if (strcmp(got, "k1=a longer line@1001\nk3=another long one@1003\n")) {
        fprintf(stderr, "filter_processor: unexpected output\n");
        rv_topology_destroy(topology);
        return 1;
    }
    if (argc > 1 && run_app(argv[1], topology)) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);
    printf("filter processor: ok\n");
    return 0;
}
