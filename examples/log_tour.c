/* examples/log_tour.c: a tour of the embedded broker's log.
 *
 * Creates a topic on a data folder, writes batches of records to its
 * partitions, reads them back, finds an offset by timestamp, deletes old
 * records, and describes the topic: the same steps `rivulet topics` and
 * friends take. Uses only the public API.
 *
 *   log_tour [DATA_DIR]     (default: a new folder under /tmp, removed after)
 */
#include <rivulet/rivulet.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(call)                                                                             \
    do {                                                                                        \
        rv_err_t err_ = (call);                                                                 \
        if (err_) {                                                                             \
            fprintf(stderr, "log_tour: %s failed: %s: %s\n", #call, rv_err_name(err_), errstr); \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

static char errstr[512];

/* Writes `n` records "order-<i>" -> "<what> #<i>" to one partition. */
static void write_orders(rv_broker_t *broker, int32_t partition, int first, int n, const char *what,
                         int64_t ts) {
    rv_batch_builder_t *b = rv_batch_builder_new();
    for (int i = first; i < first + n; i++) {
        char key[32], value[64];
        int klen = snprintf(key, sizeof key, "order-%d", i);
        int vlen = snprintf(value, sizeof value, "%s #%d", what, i);
        CHECK(rv_batch_builder_add(b, key, klen, value, vlen, ts + i));
        CHECK(rv_batch_builder_add_header(b, "source", "log_tour", 8));
    }
    const void *data;
    size_t len;
    int64_t base;
    CHECK(rv_batch_builder_finish(b, &data, &len));
    /* acks=-1: returns once the batch is fsync'd. */
    CHECK(rv_broker_produce(broker, "orders", partition, data, len, -1, &base, errstr,
                            sizeof errstr));
    printf("  wrote %d records (%zu bytes) to orders-%d at offsets %" PRId64 "..%" PRId64 "\n", n,
           len, partition, base, base + n - 1);
    rv_batch_builder_destroy(b);
}

static void read_partition(rv_broker_t *broker, int32_t partition, int64_t from) {
    void *data;
    size_t len;
    int64_t hw;
    CHECK(rv_broker_fetch(broker, "orders", partition, from, 1 << 20, &data, &len, &hw, errstr,
                          sizeof errstr));
    printf("  orders-%d from offset %" PRId64 " (high watermark %" PRId64 "):\n", partition, from,
           hw);
    rv_batch_reader_t *r = rv_batch_reader_new(data, len);
    int rc;
    while ((rc = rv_batch_reader_next(r)) == 1) {
        int64_t off = rv_batch_reader_offset(r);
        if (off < from)
            continue; /* a fetch returns whole batches */
        int32_t klen, vlen;
        const char *k = rv_batch_reader_key(r, &klen);
        const char *v = rv_batch_reader_value(r, &vlen);
        printf("    offset %" PRId64 "  ts %" PRId64 "  %.*s = %.*s  (%d header)\n", off,
               rv_batch_reader_timestamp(r), (int)klen, k, (int)vlen, v,
               rv_batch_reader_header_count(r));
    }
    if (rc < 0) {
        fprintf(stderr, "log_tour: corrupt data: %s\n", rv_err_name((rv_err_t)rc));
        exit(1);
    }
    rv_batch_reader_destroy(r);
    rv_free(data);
}

static void describe(rv_admin_t *admin) {
    rv_topic_description_t *d;
    CHECK(rv_admin_describe_topic(admin, "orders", &d, errstr, sizeof errstr));
    printf("  Topic: %s  TopicId: %s  PartitionCount: %d  ReplicationFactor: %d\n",
           rv_topic_description_name(d), rv_topic_description_id(d),
           rv_topic_description_partition_count(d), rv_topic_description_replication_factor(d));
    for (int32_t p = 0; p < rv_topic_description_partition_count(d); p++)
        printf("    Partition: %d  Leader: %d  LogStartOffset: %" PRId64 "  EndOffset: %" PRId64
               "\n",
               p, rv_topic_description_leader(d, p), rv_topic_description_log_start_offset(d, p),
               rv_topic_description_end_offset(d, p));
    const rv_config_list_t *cfg = rv_topic_description_configs(d);
    for (size_t i = 0; i < rv_config_list_count(cfg); i++)
        if (!rv_config_list_is_default(cfg, i))
            printf("    Config: %s=%s\n", rv_config_list_name(cfg, i),
                   rv_config_list_value(cfg, i));
    rv_topic_description_destroy(d);
}

int main(int argc, char **argv) {
    char dir[4096];
    int own_dir = argc < 2;
    if (own_dir) {
        snprintf(dir, sizeof dir, "/tmp/rivulet-demo-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    } else {
        snprintf(dir, sizeof dir, "%s", argv[1]);
    }
    printf("rivulet %s: the embedded log, in data folder %s\n\n", RV_VERSION_STR, dir);

    char bootstrap[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", dir);
    rv_conf_t *conf = rv_conf_new();
    if (rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) != RV_CONF_OK) {
        fprintf(stderr, "log_tour: %s\n", errstr);
        return 1;
    }
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr);
    if (!admin) {
        fprintf(stderr, "log_tour: %s\n", errstr);
        return 1;
    }

    printf("1. Create topic 'orders' with 2 partitions and segment.bytes=4096\n");
    const char *names[] = {"segment.bytes"}, *values[] = {"4096"};
    rv_err_t err =
        rv_admin_create_topic(admin, "orders", 2, 1, names, values, 1, errstr, sizeof errstr);
    if (err == RV_ERR_TOPIC_ALREADY_EXISTS)
        printf("  (already there from an earlier run)\n");
    else
        CHECK(err);

    rv_broker_t *broker;
    CHECK(rv_broker_open(&broker, dir, errstr, sizeof errstr));

    printf("\n2. Write records\n");
    int64_t t0 = 1700000000000;
    write_orders(broker, 0, 0, 3, "placed", t0);
    write_orders(broker, 0, 3, 2, "shipped", t0 + 1000);
    write_orders(broker, 1, 5, 2, "placed", t0 + 2000);

    printf("\n3. Read them back\n");
    read_partition(broker, 0, 0);
    read_partition(broker, 1, 0);

    printf("\n4. Find the first record at or after a timestamp\n");
    int64_t off;
    CHECK(rv_broker_offset_for_time(broker, "orders", 0, t0 + 1000, &off, errstr, sizeof errstr));
    printf("  orders-0: first offset with timestamp >= %" PRId64 " is %" PRId64 "\n", t0 + 1000,
           off);

    printf("\n5. Delete records before offset 3 of orders-0\n");
    int64_t low;
    CHECK(rv_admin_delete_records(admin, "orders", 0, 3, &low, errstr, sizeof errstr));
    printf("  low watermark is now %" PRId64 "\n", low);
    void *data;
    size_t len;
    err = rv_broker_fetch(broker, "orders", 0, 0, 4096, &data, &len, NULL, errstr, sizeof errstr);
    printf("  reading from offset 0 now fails: %s: %s\n", rv_err_name(err), errstr);
    read_partition(broker, 0, low);

    printf("\n6. Describe the topic\n");
    describe(admin);

    rv_broker_close(broker);
    rv_admin_destroy(admin);
    if (own_dir) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "log_tour: could not remove %s\n", dir);
    }
    if (own_dir)
        printf("\nDone.\n");
    else
        printf("\nDone. The data stays in %s; try\n  rivulet topics --bootstrap-server embedded:%s "
               "--describe\n",
               dir, dir);
    return 0;
}
