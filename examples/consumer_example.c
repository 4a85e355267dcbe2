/* examples/consumer_example.c: the code of docs/CONSUMER.md, as one
 * program the tests build and run. Every ```c block of the consumer guide
 * appears here line for line (test_docs_snippets checks it).
 *
 * It creates a topic on an embedded broker, writes a few records, reads
 * them with a consumer-group member that commits in its rebalance
 * listener, then re-reads a partition with a manually assigned consumer.
 *
 *   consumer_example DATA_DIR
 */
#include <rivulet/rivulet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const char *errstr) {
    fprintf(stderr, "consumer_example: %s: %s\n", what, errstr);
    exit(1);
}

/* Writes `n` records "order-<i>" to each partition of "orders". */
static void write_orders(rv_broker_t *broker, int n) {
    char errstr[512], value[32];
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int32_t p = 0; p < 3; p++) {
        rv_batch_builder_reset(b);
        for (int i = 0; i < n; i++) {
            int len = snprintf(value, sizeof value, "order-%d", i);
            rv_batch_builder_add(b, NULL, -1, value, len, -1);
        }
        const void *data;
        size_t len;
        rv_batch_builder_finish(b, &data, &len);
        if (rv_broker_produce(broker, "orders", p, data, len, 1, NULL, errstr, sizeof errstr))
            fail("produce", errstr);
    }
    rv_batch_builder_destroy(b);
}

/* CONSUMER 3. Rebalance listener */
static void on_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *partitions,
                       void *opaque) {
    (void)partitions;
    (void)opaque;
    char errstr[512];
    /* Commit what was processed before another member takes over. */
    if (rv_consumer_commit_sync(c, NULL, errstr, sizeof errstr))
        fprintf(stderr, "commit failed: %s\n", errstr);
}

static void on_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *partitions,
                        void *opaque) {
    (void)c;
    (void)opaque;
    for (size_t i = 0; i < rv_topic_partition_list_count(partitions); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(partitions, i);
        printf("assigned %s-%d\n", rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: consumer_example DATA_DIR\n");
        return 2;
    }
    char bootstrap[4200], errstr[512];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", argv[1]);
    rv_broker_t *broker;
    if (rv_broker_open(&broker, argv[1], errstr, sizeof errstr))
        fail("broker", errstr);
    rv_conf_t *aconf = rv_conf_new();
    rv_conf_set(aconf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(aconf, errstr, sizeof errstr);
    if (!admin ||
        rv_admin_create_topic(admin, "orders", 3, 1, NULL, NULL, 0, errstr, sizeof errstr))
        fail("create topic", errstr);
    rv_admin_destroy(admin);
    write_orders(broker, 5);

    /* CONSUMER 2. Creating a consumer */
    rv_conf_t *conf = rv_conf_new();
    if (rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(conf, "group.id", "billing", errstr, sizeof errstr) ||
        rv_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr) ||
        rv_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr))
        fail("conf", errstr);
    rv_consumer_t *consumer = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!consumer) {
        rv_conf_destroy(conf); /* still ours when the constructor fails */
        fail("consumer", errstr);
    }

    /* CONSUMER 3. Subscribing */
    rv_rebalance_listener_t listener = RV_REBALANCE_LISTENER_INIT;
    listener.revoked = on_revoked;
    listener.assigned = on_assigned;
    const char *topics[] = {"orders"};
    if (rv_consumer_subscribe(consumer, topics, 1, &listener))
        fail("subscribe", rv_consumer_last_error(consumer));

    /* CONSUMER 4. The poll loop */
    int seen = 0;
    while (seen < 15) {
        rv_records_t *records;
        rv_err_t err = rv_consumer_poll(consumer, 1000, &records);
        if (err == RV_ERR__WAKEUP)
            break; /* another thread called rv_consumer_wakeup() */
        if (err)
            fail("poll", rv_consumer_last_error(consumer));
        for (size_t i = 0; i < rv_records_count(records); i++) {
            const rv_record_t *r = rv_records_get(records, i);
            int32_t len;
            const char *value = rv_record_value(r, &len);
            printf("%s-%d@%lld: %.*s\n", rv_record_topic(r), rv_record_partition(r),
                   (long long)rv_record_offset(r), (int)len, value);
            seen++;
        }
        rv_records_destroy(records);
        if (rv_consumer_commit_sync(consumer, NULL, errstr, sizeof errstr))
            fail("commit", errstr);
    }

    /* CONSUMER 6. Closing */
    rv_consumer_close(consumer);
    rv_consumer_destroy(consumer);

    /* CONSUMER 5. Manual assignment and positions */
    rv_conf_t *conf2 = rv_conf_new();
    rv_conf_set(conf2, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_conf_set(conf2, "group.id", "billing", errstr, sizeof errstr);
    rv_consumer_t *reader = rv_consumer_new(conf2, errstr, sizeof errstr);
    if (!reader)
        fail("consumer", errstr);
    rv_topic_partition_list_t *parts = rv_topic_partition_list_new(1);
    rv_topic_partition_t *tp = rv_topic_partition_list_add(parts, "orders", 1);
    rv_topic_partition_set_offset(tp, RV_OFFSET_BEGINNING);
    rv_consumer_assign(reader, parts);
    rv_consumer_seek(reader, "orders", 1, 3); /* start at offset 3 instead */
    rv_consumer_committed(reader, parts, 5000);
    printf("committed offset of orders-1: %lld\n",
           (long long)rv_topic_partition_offset(rv_topic_partition_list_get(parts, 0)));
    rv_records_t *records;
    if (rv_consumer_poll(reader, 1000, &records) == RV_ERR_NO_ERROR) {
        printf("re-read %zu records from offset 3\n", rv_records_count(records));
        rv_records_destroy(records);
    }
    rv_topic_partition_list_destroy(parts);
    rv_consumer_destroy(reader);

    if (seen != 15)
        fail("check", "not every record was read");
    rv_broker_close(broker);
    printf("consumer_example: ok\n");
    return 0;
}
