/* examples/count_processor.c: a stateful processor (docs/PROCESSOR_API.md),
 * run through the test driver.
 *
 * The processor counts records per key in a RocksDB store ("Counts") and,
 * every 10 seconds of stream time, forwards every key's count through a
 * STREAM_TIME punctuator, as Kafka Streams' WordCountProcessor demo does.
 * Stream-time punctuation is aligned to 0 and fires on data: the first
 * record fires it at once, and a jump over several intervals fires it once.
 * The counts go to topic counts (string key, int64 value); every store
 * write also goes to the changelog topic count-example-Counts-changelog.
 *
 * Given a folder (`count_processor DIR`), it then runs the same topology
 * as a real app (rivulet/streams.h) on an embedded broker in DIR: the same
 * records produced to words give the same counts on topic counts, and the
 * changelog topic, which the app creates, holds the same 7 records. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

typedef struct count_state_s {
    rv_kv_store_t *counts;
} count_state_t;

/* Forwards (key, count) for every key, in key order. */
static rv_err_t emit_counts(rv_processor_context_t *ctx, int64_t timestamp, void *opaque) {
    count_state_t *st = opaque;
    rv_kv_iter_t *it;
    rv_err_t err = rv_kv_store_all(&it, st->counts);
    if (err)
        return err;
    int more;
    while ((more = rv_kv_iter_next(it)) == 1) {
        size_t klen, vlen;
        const void *key = rv_kv_iter_key(it, &klen);
        const void *value = rv_kv_iter_value(it, &vlen);
        int64_t count;
        if ((err = rv_serde_int64_read(&count, value, (int32_t)vlen)))
            break;
        rv_processor_record_t out = {key, (int32_t)klen, &count, 8, timestamp, NULL, 0};
        if ((err = rv_processor_context_forward(ctx, &out)))
            break;
    }
    rv_kv_iter_destroy(it);
    return err ? err : (rv_err_t)(more < 0 ? more : 0);
}

static rv_err_t count_init(rv_processor_context_t *ctx, void *state) {
    count_state_t *st = state;
    st->counts = rv_processor_context_get_state_store(ctx, "Counts");
    if (!st->counts)
        return RV_ERR__STATE;
    return rv_processor_context_schedule(NULL, ctx, 10000, RV_PUNCTUATION_TYPE_STREAM_TIME,
                                         emit_counts, st);
}

static rv_err_t count_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                              void *state) {
    count_state_t *st = state;
    (void)ctx;
    if (!record->key)
        return RV_ERR_NO_ERROR; /* no key, nothing to count */
    rv_bytes_t old;
    int64_t count = 0;
    rv_err_t err = rv_kv_store_get(&old, st->counts, record->key, (size_t)record->key_len);
    if (err == RV_ERR_NO_ERROR) {
        err = rv_serde_int64_read(&count, old.data, (int32_t)old.len);
        rv_bytes_free(&old);
        if (err)
            return err;
    } else if (err != RV_ERR__NOENT) {
        return err;
    }
    unsigned char bytes[8];
    rv_serde_int64_write(bytes, count + 1);
    return rv_kv_store_put(st->counts, record->key, (size_t)record->key_len, bytes, 8);
}

static void count_close(void *state) {
    free(state);
}

static rv_err_t count_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->init = count_init;
    out->process = count_process;
    out->close = count_close;
    out->state = calloc(1, sizeof(count_state_t));
    return out->state ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

static int build(rv_topology_t *topology) {
    char errstr[512];
    rv_processor_supplier_t counter = RV_PROCESSOR_SUPPLIER_INIT;
    counter.get = count_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_bytes();
    out.value_serializer = rv_serde_int64();

    const char *topics[] = {"words"};
    const char *source[] = {"Source"};
    const char *process[] = {"Count"};
    rv_store_builder_t *counts = rv_store_builder_persistent_kv("Counts");
    if (!counts)
        return -1;
    if (rv_topology_add_source(topology, "Source", topics, 1, &in, errstr, sizeof errstr) ||
        rv_topology_add_processor(topology, "Count", &counter, source, 1, errstr, sizeof errstr) ||
        rv_topology_add_state_store(topology, counts, process, 1, errstr, sizeof errstr) ||
        rv_topology_add_sink(topology, "Sink", "counts", &out, process, 1, errstr, sizeof errstr)) {
        fprintf(stderr, "count_processor: %s\n", errstr);
        return -1;
    }
    return 0;
}

/* Reads `topic` partition 0 from the beginning until `want` records came
 * (or 15 s passed); with `got`, appends "key=count@timestamp" lines. */
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
            const void *v = rv_record_value(r, &vlen);
            int64_t count = -1;
            rv_serde_int64_read(&count, v, vlen);
            char line[128];
            snprintf(line, sizeof line, "%.*s=%" PRId64 "@%" PRId64 "\n", (int)klen, k, count,
                     rv_record_timestamp(r));
            if (got)
                strncat(got, line, got_size - strlen(got) - 1);
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
    return n;
}

/* The same topology as a running app on an embedded broker in data_dir. */
static int run_app(const char *data_dir, rv_topology_t *topology, const char *want) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "count_processor: %s\n", errstr);
        return -1;
    }
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    if (!admin || !producer ||
        rv_admin_create_topic(admin, "words", 1, -1, NULL, NULL, 0, errstr, sizeof errstr) ||
        rv_admin_create_topic(admin, "counts", 1, -1, NULL, NULL, 0, errstr, sizeof errstr)) {
        fprintf(stderr, "count_processor: %s\n", errstr);
        return -1;
    }
    const char *keys = "abacabb";
    const int64_t ts[] = {0, 1000, 5000, 9000, 10000, 12000, 25000};
    for (int i = 0; i < 7; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "words";
        r.key = &keys[i];
        r.key_len = 1;
        r.value = "x";
        r.value_len = 1;
        r.timestamp = ts[i];
        if (rv_producer_send(producer, &r, NULL, NULL, errstr, sizeof errstr)) {
            fprintf(stderr, "count_processor: %s\n", errstr);
            return -1;
        }
    }
    rv_producer_flush(producer, -1);
    rv_producer_destroy(producer);
    rv_admin_destroy(admin);

    rv_conf_t *app_conf = rv_conf_new();
    if (rv_conf_set(app_conf, "application.id", "count-example", errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "state.dir", state_dir, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "commit.interval.ms", "100", errstr, sizeof errstr)) {
        fprintf(stderr, "count_processor: %s\n", errstr);
        return -1;
    }
    rv_streams_t *app = rv_streams_new(topology, app_conf, errstr, sizeof errstr);
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "count_processor: %s\n", errstr);
        rv_streams_destroy(app);
        return -1;
    }
    char got[1024] = "";
    int n = read_topic(bootstrap, "counts", 7, got, sizeof got);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    int changelog = read_topic(bootstrap, "count-example-Counts-changelog", 7, NULL, 0);
    rv_broker_close(broker);
    printf("broker:\n%schangelog records: %d\n", got, changelog);
    if (n != 7 || strcmp(got, want) || changelog != 7) {
        fprintf(stderr, "count_processor: unexpected output from the app\n");
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
    if (!conf || rv_conf_set(conf, "application.id", "count-example", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "count_processor: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }

    /* key@timestamp: stream time reaches 0, 10000 and 25000, so the
     * punctuator fires three times (the one due at 20000 is folded into
     * the call at 25000). */
    struct {
        const char *key;
        int64_t ts;
    } input[] = {{"a", 0},     {"b", 1000},  {"a", 5000}, {"c", 9000},
                 {"a", 10000}, {"b", 12000}, {"b", 25000}};
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) {
        if (rv_test_driver_pipe_input(driver, "words", input[i].key, 1, "x", 1, input[i].ts, NULL,
                                      0)) {
            fprintf(stderr, "count_processor: %s\n", rv_test_driver_last_error(driver));
            return 1;
        }
    }

    char got[1024] = "";
    rv_test_record_t *rec;
    while (rv_test_driver_read_output(&rec, driver, "counts") == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const void *v = rv_test_record_value(rec, &vlen);
        int64_t count = -1;
        rv_serde_int64_read(&count, v, vlen);
        char line[128];
        snprintf(line, sizeof line, "%.*s=%" PRId64 "@%" PRId64 "\n", (int)klen, k, count,
                 rv_test_record_timestamp(rec));
        strncat(got, line, sizeof got - strlen(got) - 1);
        rv_test_record_destroy(rec);
    }
    printf("%s", got);
    int changelog = 0;
    while (rv_test_driver_read_output(&rec, driver, "count-example-Counts-changelog") == 0) {
        changelog++;
        rv_test_record_destroy(rec);
    }
    printf("changelog records: %d\n", changelog);

    rv_test_driver_destroy(driver);
    const char *want = "a=1@0\n"
                       "a=3@10000\nb=1@10000\nc=1@10000\n"
                       "a=3@25000\nb=3@25000\nc=1@25000\n";
    if (strcmp(got, want) || changelog != 7) {
        fprintf(stderr, "count_processor: unexpected output\n");
        rv_topology_destroy(topology);
        return 1;
    }
    if (argc > 1 && run_app(argv[1], topology, want)) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);
    printf("count processor: ok\n");
    return 0;
}
