/* examples/dsl_route.c: routing records with the Streams DSL (docs/DSL.md).
 *
 * Log events arrive on topic `events`, keyed by host, valued
 * "<level>: <text>". The app sends each event two ways:
 *   - to the topic its value names (route by value: KStream.to with a
 *     TopicNameExtractor): events-error, events-warn or events-info;
 *   - through a split into named branches (KStream.split): errors go to
 *     branch "urgent", everything else to the default branch "routine",
 *     each branch written to its own topic, priority-urgent and
 *     priority-routine.
 *
 * The test driver runs the topology first; given a folder (`dsl_route
 * DIR`), the program then runs it as a real app on an embedded broker in
 * DIR. Both runs print every output topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

/* The topic of an event, from its value. Returns a constant, so it is
 * thread-safe and the name outlives the call. */
static const char *topic_by_level(const rv_processor_record_t *record, void *opaque) {
    (void)opaque;
    const char *value = record->value;
    if (value && !strncmp(value, "error:", 6))
        return "events-error";
    if (value && !strncmp(value, "warn:", 5))
        return "events-warn";
    return "events-info";
}

static int is_error(const void *key, int32_t key_len, const void *value, int32_t value_len,
                    void *opaque) {
    (void)key, (void)key_len, (void)value_len, (void)opaque;
    return value != NULL && !strncmp(value, "error:", 6);
}

static rv_topology_t *build(void) {
    char errstr[512];
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_consumed_t consumed = RV_CONSUMED_INIT;
    consumed.key_serde = rv_serde_string();
    consumed.value_serde = rv_serde_string();
    const char *topics[] = {"events"};
    rv_kstream_t *events = rv_streams_builder_stream(builder, topics, 1, &consumed);

    /* Route by value: the extractor picks the topic of each record. */
    rv_kstream_to_extractor(events, topic_by_level, NULL, "topic_by_level", NULL);

    /* Split into named branches, each written to its own topic. */
    rv_branched_kstream_t *split = rv_kstream_split(events, "priority-");
    rv_branched_kstream_branch(split, is_error, NULL, "urgent");
    rv_branched_kstream_default_branch(split, "routine");
    rv_kstream_to(rv_branched_kstream_get(split, "priority-urgent"), "priority-urgent", NULL);
    rv_kstream_to(rv_branched_kstream_get(split, "priority-routine"), "priority-routine", NULL);

    rv_topology_t *topology = NULL;
    if (rv_streams_builder_build(&topology, builder, errstr, sizeof errstr))
        fprintf(stderr, "dsl_route: %s\n", errstr);
    rv_streams_builder_destroy(builder);
    return topology;
}

static const char *const HOSTS[] = {"web1", "db1", "web2", "db1", "web1"};
static const char *const EVENTS[] = {"info: started", "error: disk full", "warn: slow response",
                                     "info: compaction done", "error: out of memory"};
#define EVENT_CNT 5

static const char *const OUTPUTS[] = {"events-error", "events-warn", "events-info",
                                      "priority-urgent", "priority-routine"};
#define OUTPUT_CNT 5

static const char *const EXPECTED =
    "events-error: db1=error: disk full@1001, web1=error: out of memory@1004\n"
    "events-warn: web2=warn: slow response@1002\n"
    "events-info: web1=info: started@1000, db1=info: compaction done@1003\n"
    "priority-urgent: db1=error: disk full@1001, web1=error: out of memory@1004\n"
    "priority-routine: web1=info: started@1000, web2=warn: slow response@1002, db1=info: "
    "compaction done@1003\n";

/* Appends "key=value@ts" to line, comma-separated. */
static void add_record(char *line, size_t size, const char *k, int32_t klen, const char *v,
                       int32_t vlen, int64_t ts) {
    size_t at = strlen(line);
    snprintf(line + at, size - at, "%s%.*s=%.*s@%lld", line[at - 1] == ' ' ? "" : ", ", (int)klen,
             k, (int)vlen, v, (long long)ts);
}

/* Reads partition 0 of topic from the beginning until `want` records came
 * (or 15 s passed), appending them to line. */
static int read_topic(const char *bootstrap, const char *topic, int want, char *line, size_t size) {
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
            add_record(line, size, k, klen, v, vlen, rv_record_timestamp(r));
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
    return n;
}

static int run_app(const char *data_dir, rv_topology_t *topology) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_route: %s\n", errstr);
        return -1;
    }
    /* Every topic exists before the app starts, the extractor's too. */
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    int bad =
        !admin || !producer ||
        rv_admin_create_topic(admin, "events", 1, -1, names, values, 1, errstr, sizeof errstr);
    for (int i = 0; !bad && i < OUTPUT_CNT; i++)
        bad = rv_admin_create_topic(admin, OUTPUTS[i], 1, -1, names, values, 1, errstr,
                                    sizeof errstr) != 0;
    for (int i = 0; !bad && i < EVENT_CNT; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "events";
        r.key = HOSTS[i];
        r.key_len = (int32_t)strlen(HOSTS[i]);
        r.value = EVENTS[i];
        r.value_len = (int32_t)strlen(EVENTS[i]);
        r.timestamp = 1000 + i;
        bad = rv_producer_send(producer, &r, NULL, NULL, errstr, sizeof errstr) != 0;
    }
    if (bad) {
        fprintf(stderr, "dsl_route: %s\n", errstr);
        return -1;
    }
    rv_producer_flush(producer, -1);
    rv_producer_destroy(producer);
    rv_admin_destroy(admin);

    rv_conf_t *app_conf = rv_conf_new();
    if (rv_conf_set(app_conf, "application.id", "dsl-route-example", errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "state.dir", state_dir, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "commit.interval.ms", "100", errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_route: %s\n", errstr);
        return -1;
    }
    rv_streams_t *app = rv_streams_new(topology, app_conf, errstr, sizeof errstr);
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_route: %s\n", errstr);
        rv_streams_destroy(app);
        return -1;
    }
    static const int want[OUTPUT_CNT] = {2, 1, 2, 2, 3};
    char got[2048] = "";
    for (int i = 0; i < OUTPUT_CNT; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s: ", OUTPUTS[i]);
        read_topic(bootstrap, OUTPUTS[i], want[i], line, sizeof line);
        strncat(got, line, sizeof got - strlen(got) - 2);
        strcat(got, "\n");
    }
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    rv_broker_close(broker);
    printf("broker:\n%s", got);
    if (strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_route: unexpected output from the app\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    rv_topology_t *topology = build();
    if (!topology)
        return 1;
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "dsl-route-example", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "dsl_route: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    for (int i = 0; i < EVENT_CNT; i++)
        if (rv_test_driver_pipe_input(driver, "events", HOSTS[i], (int32_t)strlen(HOSTS[i]),
                                      EVENTS[i], (int32_t)strlen(EVENTS[i]), 1000 + i, NULL, 0)) {
            fprintf(stderr, "dsl_route: %s\n", rv_test_driver_last_error(driver));
            return 1;
        }
    char got[2048] = "";
    for (int i = 0; i < OUTPUT_CNT; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s: ", OUTPUTS[i]);
        rv_test_record_t *rec;
        while (rv_test_driver_read_output(&rec, driver, OUTPUTS[i]) == RV_ERR_NO_ERROR) {
            int32_t klen, vlen;
            const char *k = rv_test_record_key(rec, &klen);
            const char *v = rv_test_record_value(rec, &vlen);
            add_record(line, sizeof line, k, klen, v, vlen, rv_test_record_timestamp(rec));
            rv_test_record_destroy(rec);
        }
        strncat(got, line, sizeof got - strlen(got) - 2);
        strcat(got, "\n");
    }
    printf("test driver:\n%s", got);
    rv_test_driver_destroy(driver);
    if (strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_route: unexpected output\n");
        rv_topology_destroy(topology);
        return 1;
    }
    if (argc > 1 && run_app(argv[1], topology)) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);
    printf("dsl route: ok\n");
    return 0;
}
