/* examples/producer_example.c: the producer guide's code (docs/PRODUCER.md)
 * as one program. It creates a topic on an embedded broker, sends records
 * asynchronously with a delivery callback, sends one synchronously, uses
 * the serdes for typed keys and values, and closes the producer.
 *
 *   producer_example DATA_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivulet/rivulet.h>

/* Called once per record inside rv_producer_poll(), rv_producer_flush()
 * or rv_producer_close(), on the thread that called them. */
static void on_delivery(rv_producer_t *producer, rv_err_t err, const char *errmsg,
                        const char *topic, int32_t partition, int64_t offset, int64_t timestamp,
                        void *opaque) {
    (void)producer, (void)timestamp;
    int *delivered = opaque;
    if (err) {
        fprintf(stderr, "delivery to %s failed: %s\n", topic, errmsg);
        return;
    }
    (*delivered)++;
    printf("delivered to %s-%d at offset %lld\n", topic, (int)partition, (long long)offset);
}

static int create_topic(const char *bootstrap) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr);
    if (!admin) {
        fprintf(stderr, "producer_example: %s\n", errstr);
        rv_conf_destroy(conf);
        return 1;
    }
    rv_err_t err =
        rv_admin_create_topic(admin, "orders", 3, 1, NULL, NULL, 0, errstr, sizeof errstr);
    rv_admin_destroy(admin);
    if (err && err != RV_ERR_TOPIC_ALREADY_EXISTS) {
        fprintf(stderr, "producer_example: %s\n", errstr);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: producer_example DATA_DIR\n");
        return 2;
    }
    char bootstrap[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", argv[1]);
    if (create_topic(bootstrap))
        return 1;

    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr);
    rv_conf_set(conf, "compression.type", "none", errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    if (!producer) {
        fprintf(stderr, "producer_example: %s\n", errstr);
        rv_conf_destroy(conf); /* not taken: the constructor failed */
        return 1;
    }

    int delivered = 0;
    const char *customers[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 9; i++) {
        char value[64];
        rv_producer_record_t rec = RV_PRODUCER_RECORD_INIT;
        rec.topic = "orders";
        rec.key = customers[i % 3];
        rec.key_len = (int32_t)strlen(rec.key);
        rec.value = value;
        rec.value_len = snprintf(value, sizeof value, "order-%d", i);
        rv_header_t source = {"source", "example", 7};
        rec.headers = &source;
        rec.header_cnt = 1;
        if (rv_producer_send(producer, &rec, on_delivery, &delivered, errstr, sizeof errstr))
            fprintf(stderr, "send failed: %s\n", errstr);
        rv_producer_poll(producer, 0); /* serve the callbacks that are due */
    }
    if (rv_producer_flush(producer, 10000))
        fprintf(stderr, "some records are still outstanding\n");

    rv_producer_record_t audit = RV_PRODUCER_RECORD_INIT;
    audit.topic = "orders";
    audit.partition = 0;
    audit.value = "audit";
    audit.value_len = 5;
    int32_t partition;
    int64_t offset;
    if (rv_producer_send_sync(producer, &audit, &partition, &offset, NULL, errstr, sizeof errstr) ==
        RV_ERR_NO_ERROR)
        printf("audit record at %d/%lld\n", (int)partition, (long long)offset);

    int64_t amount = 1250;
    void *bytes;
    int32_t len;
    rv_serde_serialize(rv_serde_int64(), &bytes, &len, "orders", &amount, 8, errstr, sizeof errstr);
    rv_producer_record_t typed = RV_PRODUCER_RECORD_INIT;
    typed.topic = "orders";
    typed.key = "alice";
    typed.key_len = 5;
    typed.value = bytes; /* 8 bytes big-endian, as Java's LongSerializer */
    typed.value_len = len;
    rv_err_t err = rv_producer_send_sync(producer, &typed, NULL, NULL, NULL, errstr, sizeof errstr);
    rv_serde_free(rv_serde_int64(), bytes);

    rv_producer_close(producer, 10000);
    rv_producer_destroy(producer);
    if (err || delivered != 9) {
        fprintf(stderr, "producer_example: %d of 9 delivered\n", delivered);
        return 1;
    }
    printf("producer example: ok\n");
    return 0;
}
