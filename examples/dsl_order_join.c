/* examples/dsl_order_join.c: the seed's join written with the Streams DSL
 * (docs/DSL.md): orders (a stream keyed by customer name) joined with the
 * customers' addresses (a table keyed by name) give "<order> send to
 * <address>" on topic order_join. An order of a customer without an
 * address is dropped (an inner join); an address update alone emits
 * nothing; an order sees the address its customer has when it comes.
 *
 *   dsl_order_join [--global] [DIR]
 *   dsl_order_join --tables
 *
 * By default the addresses are a KTable (rv_streams_builder_table()): the
 * orders and addresses topics must be co-partitioned. With --global they
 * are a GlobalKTable (rv_streams_builder_global_table()): every instance
 * holds every address, the join looks the address up through a key
 * selector, and no co-partitioning is needed. The program prints the
 * topology's description, runs it through the test driver, and given a
 * folder, runs it again as an app on an embedded broker in DIR; both runs
 * print what reached order_join.
 *
 * --tables shows the KTable operators through the test driver: the
 * addresses upper-cased for labels (map_values), and each customer's
 * contact card, the address left-joined with the phone when it is a
 * mobile number (filter, a table-table left join, to_stream). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ctype.h>

#include "rivulet/rivulet.h"

/* The value joiner: the order and the customer's address. */
static rv_err_t send_to(rv_out_t *out, const void *key, int32_t key_len, const void *order,
                        int32_t order_len, const void *address, int32_t address_len, void *opaque) {
    (void)key, (void)key_len, (void)order_len, (void)address_len, (void)opaque;
    char text[256];
    snprintf(text, sizeof text, "%s send to %s", (const char *)order, (const char *)address);
    return rv_out_value(out, text, -1);
}

/* The key selector of the global join: the address of an order is the
 * one of its customer, the order's key. */
static rv_err_t customer_of(rv_out_t *out, const void *key, int32_t key_len, const void *order,
                            int32_t order_len, void *opaque) {
    (void)order, (void)order_len, (void)opaque;
    return rv_out_key(out, key, key_len);
}

static rv_topology_t *build_table_join(void) {
    char errstr[512];
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_consumed_t strings = RV_CONSUMED_INIT;
    strings.key_serde = rv_serde_string();
    strings.value_serde = rv_serde_string();
    const char *order_topics[] = {"orders"};
    rv_kstream_t *orders = rv_streams_builder_stream(builder, order_topics, 1, &strings);
    rv_materialized_t by_name = RV_MATERIALIZED_INIT;
    by_name.store_name = "addresses-store";
    rv_ktable_t *addresses = rv_streams_builder_table(builder, "addresses", &strings, &by_name);
    rv_kstream_t *shipped = rv_kstream_join_table(orders, addresses, send_to, NULL, NULL);
    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_string(); /* a join's values have no serde of their own */
    rv_kstream_to(shipped, "order_join", &produced);
    rv_topology_t *topology = NULL;
    if (rv_streams_builder_build(&topology, builder, errstr, sizeof errstr))
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
    rv_streams_builder_destroy(builder);
    return topology;
}

static rv_topology_t *build_global_join(void) {
    char errstr[512];
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_consumed_t strings = RV_CONSUMED_INIT;
    strings.key_serde = rv_serde_string();
    strings.value_serde = rv_serde_string();
    const char *order_topics[] = {"orders"};
    rv_kstream_t *orders = rv_streams_builder_stream(builder, order_topics, 1, &strings);
    rv_global_ktable_t *addresses =
        rv_streams_builder_global_table(builder, "addresses", &strings, NULL);
    rv_kstream_t *shipped =
        rv_kstream_join_global(orders, addresses, customer_of, NULL, send_to, NULL, NULL);
    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_string();
    rv_kstream_to(shipped, "order_join", &produced);
    rv_topology_t *topology = NULL;
    if (rv_streams_builder_build(&topology, builder, errstr, sizeof errstr))
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* ---- The KTable operators (--tables) ---- */

/* Mobile numbers start with "07". */
static int is_mobile(const void *key, int32_t key_len, const void *phone, int32_t phone_len,
                     void *opaque) {
    (void)key, (void)key_len, (void)phone_len, (void)opaque;
    return strncmp(phone, "07", 2) == 0;
}

/* The address in capitals, for the labels. */
static rv_err_t to_label(rv_out_t *out, const void *key, int32_t key_len, const void *address,
                         int32_t address_len, void *opaque) {
    (void)key, (void)key_len, (void)opaque;
    char label[128];
    int32_t i = 0;
    for (; i < address_len && i < (int32_t)sizeof label - 1; i++)
        label[i] = (char)toupper(((const unsigned char *)address)[i]);
    label[i] = '\0';
    return rv_out_value(out, label, -1);
}

/* The table-table joiner: phone is NULL when the left join found none. */
static rv_err_t contact_card(rv_out_t *out, const void *key, int32_t key_len, const void *address,
                             int32_t address_len, const void *phone, int32_t phone_len,
                             void *opaque) {
    (void)key, (void)key_len, (void)address_len, (void)phone_len, (void)opaque;
    char card[256];
    if (phone)
        snprintf(card, sizeof card, "%s, mobile %s", (const char *)address, (const char *)phone);
    else
        snprintf(card, sizeof card, "%s, no mobile", (const char *)address);
    return rv_out_value(out, card, -1);
}

static rv_topology_t *build_table_operators(void) {
    char errstr[512];
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_consumed_t strings = RV_CONSUMED_INIT;
    strings.key_serde = rv_serde_string();
    strings.value_serde = rv_serde_string();
    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_string();
    rv_ktable_t *addresses = rv_streams_builder_table(builder, "addresses", &strings, NULL);
    rv_ktable_t *labels = rv_ktable_map_values(addresses, to_label, NULL, NULL, NULL);
    rv_kstream_to(rv_ktable_to_stream(labels, NULL), "labels", &produced);
    rv_ktable_t *phones = rv_streams_builder_table(builder, "phones", &strings, NULL);
    rv_ktable_t *mobiles = rv_ktable_filter(phones, is_mobile, NULL, NULL, NULL);
    rv_ktable_t *contacts = rv_ktable_left_join(addresses, mobiles, contact_card, NULL, NULL, NULL);
    rv_kstream_to(rv_ktable_to_stream(contacts, NULL), "contacts", &produced);
    rv_topology_t *topology = NULL;
    if (rv_streams_builder_build(&topology, builder, errstr, sizeof errstr))
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* The input: addresses first, then orders (carol has no address). */
static const char *const ADDRESSES[][2] = {{"alice", "1 Main St"}, {"bob", "22 Oak Ave"}};
static const char *const ORDERS[][2] = {
    {"alice", "book"}, {"carol", "pen"}, {"bob", "lamp"}, {"alice", "tea"}};
/* bob moves before his second order. */
static const char *const MOVE[2] = {"bob", "9 Elm Rd"};
static const char *const LAST_ORDER[2] = {"bob", "chair"};
static const char *const EXPECTED = "alice=book send to 1 Main St@2000\n"
                                    "bob=lamp send to 22 Oak Ave@2002\n"
                                    "alice=tea send to 1 Main St@2003\n"
                                    "bob=chair send to 9 Elm Rd@2005\n";

/* ---- The test driver ---- */

static int pipe_in(rv_test_driver_t *driver, const char *topic, const char *const kv[2],
                   int64_t ts) {
    if (rv_test_driver_pipe_input(driver, topic, kv[0], (int32_t)strlen(kv[0]), kv[1],
                                  (int32_t)strlen(kv[1]), ts, NULL, 0)) {
        fprintf(stderr, "dsl_order_join: %s\n", rv_test_driver_last_error(driver));
        return -1;
    }
    return 0;
}

static int run_test_driver(rv_topology_t *topology) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "order-join", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
        rv_conf_destroy(conf);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < 2 && !rc; i++)
        rc = pipe_in(driver, "addresses", ADDRESSES[i], 1000 + i);
    for (int i = 0; i < 4 && !rc; i++)
        rc = pipe_in(driver, "orders", ORDERS[i], 2000 + i);
    if (!rc)
        rc = pipe_in(driver, "addresses", MOVE, 2004);
    if (!rc)
        rc = pipe_in(driver, "orders", LAST_ORDER, 2005);
    char got[1024] = "";
    rv_test_record_t *rec;
    while (rv_test_driver_read_output(&rec, driver, "order_join") == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const char *v = rv_test_record_value(rec, &vlen);
        char line[160];
        snprintf(line, sizeof line, "%.*s=%.*s@%lld\n", (int)klen, k, (int)vlen, v,
                 (long long)rv_test_record_timestamp(rec));
        strncat(got, line, sizeof got - strlen(got) - 1);
        rv_test_record_destroy(rec);
    }
    rv_test_driver_destroy(driver);
    printf("test driver:\n%s", got);
    if (!rc && strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_order_join: unexpected output\n");
        rc = -1;
    }
    return rc;
}

/* Appends the unread records of topic to got as "key=value@ts" lines. */
static void drain(rv_test_driver_t *driver, const char *topic, char *got, size_t got_size) {
    rv_test_record_t *rec;
    while (rv_test_driver_read_output(&rec, driver, topic) == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const char *v = rv_test_record_value(rec, &vlen);
        char line[160];
        snprintf(line, sizeof line, "%.*s=%.*s@%lld\n", (int)klen, k, v ? (int)vlen : 4,
                 v ? v : "null", (long long)rv_test_record_timestamp(rec));
        strncat(got, line, got_size - strlen(got) - 1);
        rv_test_record_destroy(rec);
    }
}

static int run_table_operators(rv_topology_t *topology) {
    static const char *const EXPECTED_TABLES = "contacts:\n"
                                               "alice=1 Main St, no mobile@1000\n"
                                               "bob=22 Oak Ave, no mobile@1001\n"
                                               "alice=1 Main St, mobile 07700 900123@1002\n"
                                               "bob=22 Oak Ave, no mobile@1003\n"
                                               "alice=5 Pine Rd, mobile 07700 900123@1004\n"
                                               "alice=5 Pine Rd, no mobile@1005\n"
                                               "bob=null@1006\n"
                                               "labels:\n"
                                               "alice=1 MAIN ST@1000\n"
                                               "bob=22 OAK AVE@1001\n"
                                               "alice=5 PINE RD@1004\n"
                                               "bob=null@1006\n";
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "order-join", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
        rv_conf_destroy(conf);
        return -1;
    }
    static const char *const ALICE_MOBILE[2] = {"alice", "07700 900123"};
    static const char *const BOB_LANDLINE[2] = {"bob", "020 7946 0000"};
    static const char *const ALICE_MOVES[2] = {"alice", "5 Pine Rd"};
    int rc = pipe_in(driver, "addresses", ADDRESSES[0], 1000) ||
             pipe_in(driver, "addresses", ADDRESSES[1], 1001) ||
             pipe_in(driver, "phones", ALICE_MOBILE, 1002) ||
             pipe_in(driver, "phones", BOB_LANDLINE, 1003) ||
             pipe_in(driver, "addresses", ALICE_MOVES, 1004) ||
             rv_test_driver_pipe_input(driver, "phones", "alice", 5, NULL, -1, 1005, NULL, 0) ||
             rv_test_driver_pipe_input(driver, "addresses", "bob", 3, NULL, -1, 1006, NULL, 0);
    char got[2048] = "contacts:\n";
    drain(driver, "contacts", got, sizeof got);
    strncat(got, "labels:\n", sizeof got - strlen(got) - 1);
    drain(driver, "labels", got, sizeof got);
    rv_test_driver_destroy(driver);
    printf("test driver:\n%s", got);
    if (rc || strcmp(got, EXPECTED_TABLES)) {
        fprintf(stderr, "dsl_order_join: unexpected output\n");
        return -1;
    }
    return 0;
}

/* ---- On an embedded broker ---- */

/* Reads every partition of `topic` from the beginning until `want`
 * records came (or 15 s passed), as "key=value@timestamp" lines. */
static int read_topic(const char *bootstrap, const char *topic, int32_t partitions, int want,
                      char *got, size_t got_size) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_consumer_t *consumer = NULL;
    if (!conf || rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        !(consumer = rv_consumer_new(conf, errstr, sizeof errstr))) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_topic_partition_list_t *parts = rv_topic_partition_list_new(partitions);
    for (int32_t p = 0; p < partitions; p++)
        rv_topic_partition_set_offset(rv_topic_partition_list_add(parts, topic, p),
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
            char line[160];
            snprintf(line, sizeof line, "%.*s=%.*s@%lld\n", (int)klen, k, (int)vlen, v,
                     (long long)rv_record_timestamp(r));
            strncat(got, line, got_size - strlen(got) - 1);
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
    return n;
}

static int produce(rv_producer_t *producer, const char *topic, const char *const kv[2],
                   int64_t ts) {
    char errstr[512];
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.key = kv[0];
    r.key_len = (int32_t)strlen(kv[0]);
    r.value = kv[1];
    r.value_len = (int32_t)strlen(kv[1]);
    r.timestamp = ts;
    if (rv_producer_send_sync(producer, &r, NULL, NULL, NULL, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
        return -1;
    }
    return 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sorts the lines of s (the partitions of the output interleave). */
static int cmp_lines(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void sort_lines(char *s) {
    char copy[1024], *lines[16];
    int n = 0;
    snprintf(copy, sizeof copy, "%s", s);
    for (char *l = strtok(copy, "\n"); l && n < 16; l = strtok(NULL, "\n"))
        lines[n++] = l;
    qsort(lines, (size_t)n, sizeof *lines, cmp_lines);
    s[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(strcat(s, lines[i]), "\n");
}

static int run_app(const char *data_dir, rv_topology_t *topology, int global) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
        return -1;
    }
    /* Two partitions each: the stream and the table are co-partitioned,
     * so an order and its customer's address meet in one task. The topics
     * keep records forever: the example's timestamps are small. */
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    const char *topics[] = {"orders", "addresses", "order_join"};
    for (int i = 0; i < 3; i++)
        if (!admin || !producer ||
            rv_admin_create_topic(admin, topics[i], 2, -1, names, values, 1, errstr,
                                  sizeof errstr)) {
            fprintf(stderr, "dsl_order_join: %s\n", errstr);
            return -1;
        }
    rv_admin_destroy(admin);
    for (int i = 0; i < 2; i++)
        if (produce(producer, "addresses", ADDRESSES[i], 1000 + i))
            return -1;

    rv_conf_t *app_conf = rv_conf_new();
    if (rv_conf_set(app_conf, "application.id", "order-join", errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "state.dir", state_dir, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "commit.interval.ms", "100", errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
        return -1;
    }
    rv_streams_t *app = rv_streams_new(topology, app_conf, errstr, sizeof errstr);
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_order_join: %s\n", errstr);
        rv_streams_destroy(app);
        return -1;
    }
    /* A global table is loaded before start() returns. A table is read by
     * the tasks like the orders; the orders wait until the addresses
     * reached the table's changelog, so none comes before its address. */
    char got[1024] = "";
    if (!global) {
        char logged[512] = "";
        read_topic(bootstrap, "order-join-addresses-store-changelog", 2, 2, logged, sizeof logged);
    }
    for (int i = 0; i < 4; i++)
        if (produce(producer, "orders", ORDERS[i], 2000 + i))
            return -1;
    int n = read_topic(bootstrap, "order_join", 2, 3, got, sizeof got);
    if (produce(producer, "addresses", MOVE, 2004))
        return -1;
    /* Let the move reach the table before bob's next order. */
    sleep_ms(1000);
    if (produce(producer, "orders", LAST_ORDER, 2005))
        return -1;
    got[0] = '\0';
    n = read_topic(bootstrap, "order_join", 2, 4, got, sizeof got);
    rv_producer_destroy(producer);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    rv_broker_close(broker);
    sort_lines(got);
    printf("broker:\n%s", got);
    char want[512];
    snprintf(want, sizeof want, "%s", EXPECTED);
    sort_lines(want);
    if (n != 4 || strcmp(got, want)) {
        fprintf(stderr, "dsl_order_join: unexpected output from the app\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--tables")) {
        rv_topology_t *topology = build_table_operators();
        if (!topology)
            return 1;
        char *description = rv_topology_describe(topology);
        if (description)
            printf("%s", description);
        free(description);
        int rc = run_table_operators(topology);
        rv_topology_destroy(topology);
        if (!rc)
            printf("dsl table operators: ok\n");
        return rc ? 1 : 0;
    }
    int global = argc > 1 && !strcmp(argv[1], "--global");
    const char *dir = argc > 1 + global ? argv[1 + global] : NULL;
    rv_topology_t *topology = global ? build_global_join() : build_table_join();
    if (!topology)
        return 1;
    char *description = rv_topology_describe(topology);
    if (description)
        printf("%s", description);
    free(description);
    if (run_test_driver(topology) || (dir && run_app(dir, topology, global))) {
        rv_topology_destroy(topology);
        return 1;
    }
    rv_topology_destroy(topology);
    printf("dsl order join%s: ok\n", global ? " (global table)" : "");
    return 0;
}
