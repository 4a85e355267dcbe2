/* examples/dsl_word_count.c: grouping and aggregations with the DSL
 * (docs/DSL.md), as Kafka Streams' WordCountDemo.
 *
 * Word count: lines from streams-plaintext-input are split into lower-case
 * words (flat_map_values), grouped by word (group_by: the word becomes the
 * key, so the records go through the repartition topic
 * "<app>-counts-store-repartition"), counted into the RocksDB store
 * "counts-store" and every new count goes to streams-wordcount-output as
 * an int64. Run through the test driver it prints every update; given a
 * folder (`dsl_word_count DIR`) it runs the same topology as an app on an
 * embedded broker in DIR and prints each word's last count.
 *
 * Two more topologies run through the test driver: users per region (a
 * KTable re-grouped by value and counted: moving a user retracts it from
 * the old region) and the spend per user (KGroupedStream.aggregate with an
 * initializer and an aggregator into int64 values). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rivulet/rivulet.h"

/* ---- Word count ---- */

/* Splits a line into lower-case words, one value per word. */
static rv_err_t split_words(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                            int32_t value_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    const char *line = value;
    char word[256];
    int32_t i = 0;
    while (i < value_len) {
        int32_t n = 0;
        while (i < value_len && line[i] == ' ')
            i++;
        while (i < value_len && line[i] != ' ') {
            char c = line[i++];
            if (n < (int32_t)sizeof word)
                word[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        if (n > 0) {
            rv_err_t err = rv_out_value(out, word, n);
            if (err)
                return err;
        }
    }
    return RV_ERR_NO_ERROR;
}

/* The word becomes the record's key. */
static rv_err_t word_as_key(rv_out_t *out, const void *key, int32_t key_len, const void *value,
                            int32_t value_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    return rv_out_key(out, value, value_len);
}

static rv_topology_t *word_count_topology(char *errstr, size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    const char *topics[] = {"streams-plaintext-input"};
    rv_kstream_t *lines = rv_streams_builder_stream(builder, topics, 1, NULL);
    rv_kstream_t *words = rv_kstream_flat_map_values(lines, split_words, NULL, NULL);
    rv_kgrouped_stream_t *by_word = rv_kstream_group_by(words, word_as_key, NULL, NULL);

    rv_materialized_t store = RV_MATERIALIZED_INIT;
    store.store_name = "counts-store";
    store.store_type = RV_STORE_TYPE_ROCKSDB;
    rv_ktable_t *counts = rv_kgrouped_stream_count(by_word, NULL, &store);

    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_int64();
    rv_kstream_to(rv_ktable_to_stream(counts, NULL), "streams-wordcount-output", &produced);

    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

static const char *const g_lines[] = {"all streams lead to Kafka", "hello kafka streams",
                                      "join kafka summit"};

/* The app configuration both runs share: string keys and values unless an
 * operator names its serde. */
static rv_conf_t *app_conf(const char *bootstrap, const char *state_dir) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "streams-wordcount", errstr, sizeof errstr) ||
        rv_conf_set(conf, "default.key.serde", "string", errstr, sizeof errstr) ||
        rv_conf_set(conf, "default.value.serde", "string", errstr, sizeof errstr) ||
        (bootstrap && rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr)) ||
        (state_dir && rv_conf_set(conf, "state.dir", state_dir, errstr, sizeof errstr)) ||
        (bootstrap && rv_conf_set(conf, "commit.interval.ms", "100", errstr, sizeof errstr))) {
        fprintf(stderr, "dsl_word_count: %s\n", errstr);
        rv_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Appends what the driver wrote to `topic` as "key=value@ts" lines; int64
 * values when `counts`, else strings. */
static void read_driver(rv_test_driver_t *d, const char *topic, int counts, char *got,
                        size_t got_size) {
    rv_test_record_t *rec;
    while (rv_test_driver_read_output(&rec, d, topic) == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const void *v = rv_test_record_value(rec, &vlen);
        char line[256];
        int64_t n = -1;
        if (counts)
            rv_serde_int64_read(&n, v, vlen);
        if (counts)
            snprintf(line, sizeof line, "%.*s=%" PRId64 "@%" PRId64 "\n", (int)klen, k, n,
                     rv_test_record_timestamp(rec));
        else
            snprintf(line, sizeof line, "%.*s=%.*s@%" PRId64 "\n", (int)klen, k, (int)vlen,
                     (const char *)v, rv_test_record_timestamp(rec));
        strncat(got, line, got_size - strlen(got) - 1);
        rv_test_record_destroy(rec);
    }
}

static int word_count_driver(rv_topology_t *topology) {
    char errstr[512];
    rv_conf_t *conf = app_conf(NULL, NULL);
    rv_test_driver_t *d =
        conf ? rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr) : NULL;
    if (!d) {
        fprintf(stderr, "dsl_word_count: %s\n", conf ? errstr : "no configuration");
        rv_conf_destroy(conf);
        return -1;
    }
    for (int i = 0; i < 3; i++)
        if (rv_test_driver_pipe_input(d, "streams-plaintext-input", NULL, -1, g_lines[i],
                                      (int32_t)strlen(g_lines[i]), 1000 * (i + 1), NULL, 0)) {
            fprintf(stderr, "dsl_word_count: %s\n", rv_test_driver_last_error(d));
            rv_test_driver_destroy(d);
            return -1;
        }
    char got[2048] = "";
    read_driver(d, "streams-wordcount-output", 1, got, sizeof got);
    rv_test_driver_destroy(d);
    printf("%s", got);
    const char *want = "all=1@1000\nstreams=1@1000\nlead=1@1000\nto=1@1000\nkafka=1@1000\n"
                       "hello=1@2000\nkafka=2@2000\nstreams=2@2000\n"
                       "join=1@3000\nkafka=3@3000\nsummit=1@3000\n";
    if (strcmp(got, want)) {
        fprintf(stderr, "dsl_word_count: unexpected output\n");
        return -1;
    }
    return 0;
}

/* The last count of each word in `topic`, read until every word of
 * `want` has its count (or 20 s passed), as sorted "word=n" lines. */
static int read_last_counts(const char *bootstrap, const char *topic, const char *want, char *got,
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
    char words[16][32];
    int64_t counts[16];
    int nw = 0;
    for (int polls = 0; polls < 200; polls++) {
        /* Sorted "word=n" lines of what came so far. */
        int order[16];
        for (int j = 0; j < nw; j++) {
            int at = j;
            while (at > 0 && strcmp(words[order[at - 1]], words[j]) > 0) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = j;
        }
        got[0] = '\0';
        for (int j = 0; j < nw; j++) {
            char line[64];
            snprintf(line, sizeof line, "%s=%" PRId64 "\n", words[order[j]], counts[order[j]]);
            strncat(got, line, got_size - strlen(got) - 1);
        }
        if (!strcmp(got, want))
            break;
        rv_records_t *records = NULL;
        if (rv_consumer_poll(consumer, 100, &records))
            continue;
        for (size_t i = 0; i < rv_records_count(records); i++) {
            const rv_record_t *r = rv_records_get(records, i);
            int32_t klen, vlen;
            const char *k = rv_record_key(r, &klen);
            const void *v = rv_record_value(r, &vlen);
            int j;
            for (j = 0; j < nw; j++)
                if ((int32_t)strlen(words[j]) == klen && !memcmp(words[j], k, (size_t)klen))
                    break;
            if (j == nw && nw < 16)
                snprintf(words[nw++], sizeof words[0], "%.*s", (int)klen, k);
            if (j < 16)
                rv_serde_int64_read(&counts[j], v, vlen);
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
    return 0;
}

/* The same topology as a running app on an embedded broker in data_dir. */
static int word_count_app(const char *data_dir, rv_topology_t *topology) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_word_count: %s\n", errstr);
        return -1;
    }
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    if (!admin || !producer ||
        rv_admin_create_topic(admin, "streams-plaintext-input", 1, -1, names, values, 1, errstr,
                              sizeof errstr) ||
        rv_admin_create_topic(admin, "streams-wordcount-output", 1, -1, names, values, 1, errstr,
                              sizeof errstr)) {
        fprintf(stderr, "dsl_word_count: %s\n", errstr);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "streams-plaintext-input";
        r.value = g_lines[i];
        r.value_len = (int32_t)strlen(g_lines[i]);
        r.timestamp = 1000 * (i + 1);
        if (rv_producer_send(producer, &r, NULL, NULL, errstr, sizeof errstr)) {
            fprintf(stderr, "dsl_word_count: %s\n", errstr);
            return -1;
        }
    }
    rv_producer_flush(producer, -1);
    rv_producer_destroy(producer);
    rv_admin_destroy(admin);

    rv_conf_t *conf2 = app_conf(bootstrap, state_dir);
    rv_streams_t *app = conf2 ? rv_streams_new(topology, conf2, errstr, sizeof errstr) : NULL;
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_word_count: %s\n", errstr);
        rv_streams_destroy(app);
        return -1;
    }
    const char *want = "all=1\nhello=1\njoin=1\nkafka=3\nlead=1\nstreams=2\nsummit=1\nto=1\n";
    char got[1024] = "";
    read_last_counts(bootstrap, "streams-wordcount-output", want, got, sizeof got);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    rv_broker_close(broker);
    printf("broker:\n%s", got);
    if (strcmp(got, want)) {
        fprintf(stderr, "dsl_word_count: unexpected output from the app\n");
        return -1;
    }
    return 0;
}

/* ---- Users per region: a KTable re-grouped and counted ---- */

/* (user, region) becomes (region, user). */
static rv_err_t region_of_user(rv_out_t *out, const void *user, int32_t user_len,
                               const void *region, int32_t region_len, void *opaque) {
    (void)opaque;
    rv_err_t err = rv_out_key(out, region, region_len);
    return err ? err : rv_out_value(out, user, user_len);
}

static rv_topology_t *region_topology(char *errstr, size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_ktable_t *user_regions = rv_streams_builder_table(builder, "user-regions", NULL, NULL);
    rv_kgrouped_table_t *by_region = rv_ktable_group_by(user_regions, region_of_user, NULL, NULL);
    rv_ktable_t *users_per_region = rv_kgrouped_table_count(by_region, NULL, NULL);

    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_int64();
    rv_kstream_to(rv_ktable_to_stream(users_per_region, NULL), "users-per-region", &produced);
    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* ---- Spend per user: KGroupedStream.aggregate ---- */

static rv_err_t zero_spend(rv_out_t *out, void *opaque) {
    (void)opaque;
    int64_t zero = 0;
    return rv_out_value(out, &zero, sizeof zero);
}

/* Adds an amount ("12" as a string value) to the user's int64 total. */
static rv_err_t add_spend(rv_out_t *out, const void *user, int32_t user_len, const void *amount,
                          int32_t amount_len, const void *total, int32_t total_len, void *opaque) {
    (void)user, (void)user_len, (void)amount_len, (void)total_len, (void)opaque;
    int64_t sum = *(const int64_t *)total + strtoll(amount, NULL, 10);
    return rv_out_value(out, &sum, sizeof sum);
}

static rv_topology_t *spend_topology(char *errstr, size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    const char *topics[] = {"purchases"};
    rv_kstream_t *purchases = rv_streams_builder_stream(builder, topics, 1, NULL);
    rv_kgrouped_stream_t *by_user = rv_kstream_group_by_key(purchases, NULL);
    rv_materialized_t totals = RV_MATERIALIZED_INIT;
    totals.store_name = "spend-per-user";
    totals.value_serde = rv_serde_int64();
    rv_ktable_t *spend =
        rv_kgrouped_stream_aggregate(by_user, zero_spend, NULL, add_spend, NULL, NULL, &totals);

    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_int64();
    rv_kstream_to(rv_ktable_to_stream(spend, NULL), "spend", &produced);
    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* Pipes (key, value) records at timestamps 1, 2, ... into `topic` and
 * checks what `out_topic` got. */
static int run_driver(rv_topology_t *topology, const char *topic, const char *const (*input)[2],
                      size_t n, const char *out_topic, const char *want) {
    char errstr[512];
    rv_conf_t *conf = app_conf(NULL, NULL);
    rv_test_driver_t *d =
        conf ? rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr) : NULL;
    if (!d) {
        fprintf(stderr, "dsl_word_count: %s\n", conf ? errstr : "no configuration");
        rv_conf_destroy(conf);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = input[i][0], *v = input[i][1];
        if (rv_test_driver_pipe_input(d, topic, k, (int32_t)strlen(k), v,
                                      v ? (int32_t)strlen(v) : -1, (int64_t)i + 1, NULL, 0)) {
            fprintf(stderr, "dsl_word_count: %s\n", rv_test_driver_last_error(d));
            rv_test_driver_destroy(d);
            return -1;
        }
    }
    char got[1024] = "";
    read_driver(d, out_topic, 1, got, sizeof got);
    rv_test_driver_destroy(d);
    printf("%s:\n%s", out_topic, got);
    if (strcmp(got, want)) {
        fprintf(stderr, "dsl_word_count: unexpected %s\n", out_topic);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    char errstr[1024];
    rv_topology_t *topology = word_count_topology(errstr, sizeof errstr);
    if (!topology) {
        fprintf(stderr, "dsl_word_count: %s\n", errstr);
        return 1;
    }
    char *description = rv_topology_describe(topology);
    printf("%s", description ? description : "");
    free(description);
    int rc = word_count_driver(topology);
    if (!rc && argc > 1)
        rc = word_count_app(argv[1], topology);
    rv_topology_destroy(topology);
    if (rc)
        return 1;

    /* alice moves from europe to asia: europe loses her (a retraction),
     * asia gains her; deleting bob removes him from europe. */
    const char *const regions[][2] = {
        {"alice", "europe"}, {"bob", "europe"}, {"alice", "asia"}, {"bob", NULL}};
    if (!(topology = region_topology(errstr, sizeof errstr)) ||
        run_driver(topology, "user-regions", regions, 4, "users-per-region",
                   "europe=1@1\neurope=2@2\neurope=1@3\nasia=1@3\neurope=0@4\n")) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);

    const char *const purchases[][2] = {{"alice", "12"}, {"bob", "5"}, {"alice", "30"}};
    if (!(topology = spend_topology(errstr, sizeof errstr)) ||
        run_driver(topology, "purchases", purchases, 3, "spend",
                   "alice=12@1\nbob=5@2\nalice=42@3\n")) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);
    printf("dsl word count: ok\n");
    return 0;
}
