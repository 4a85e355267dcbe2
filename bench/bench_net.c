/* bench/bench_net.c: produce and consume throughput over loopback TCP with
 * a librdkafka client against the Kafka-protocol server of rivulet.
 *
 * By default the program opens a broker on a temporary folder and starts
 * the network server in the same process on 127.0.0.1 (a port the OS
 * picks); --bootstrap HOST:PORT measures a running `rivulet broker` (or
 * any Kafka cluster) instead. It creates two topics of --partitions
 * partitions, produces --records records of 100-byte values (8-byte keys)
 * to each, once with acks=1 and once with acks=all, then consumes the
 * acks=1 topic from the beginning with assign(), taking messages in
 * batches (rd_kafka_consume_batch_queue). Prints records/s and MB/s
 * of each phase; the targets are >= 800 K records/s produced and >= 1 M
 * records/s consumed. bench/bench_clients.sh prints Redis Streams' figures
 * of the same run beside them.
 *
 *   bench_net [--records N] [--partitions P] [--bootstrap HOST:PORT]
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kafka/server.h"
#include "common/clock.h"
#include "rivulet/broker.h"

#define VALUE_SIZE 100
#define KEY_SIZE 8

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_net: %s: %s\n", what, msg);
    exit(1);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char errstr[512];
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        die(k, errstr);
}

static int64_t delivery_errors;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err && delivery_errors++ == 0)
        fprintf(stderr, "bench_net: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

static void create_topic(const char *bootstrap, const char *topic, int partitions) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", bootstrap);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
    if (!rk)
        die("admin client", errstr);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev)
        die("create topic", "timed out");
    size_t cnt;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    if (rd_kafka_event_error(ev) || cnt != 1 || rd_kafka_topic_result_error(res[0]))
        die("create topic", cnt == 1 ? rd_kafka_topic_result_error_string(res[0])
                                     : rd_kafka_event_error_string(ev));
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

static void report(const char *what, int64_t records, int64_t us) {
    double secs = (double)us / 1e6;
    printf("%-24s %" PRId64 " records in %.2f s: %.0f records/s (%.1f MB/s of values)\n", what,
           records, secs, (double)records / secs, (double)records * VALUE_SIZE / secs / 1e6);
    fflush(stdout);
}

static void produce(const char *bootstrap, const char *topic, const char *acks, int64_t records) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", bootstrap);
    set(c, "acks", acks);
    set(c, "linger.ms", "5");
    set(c, "batch.num.messages", "100000");
    set(c, "queue.buffering.max.messages", "2000000");
    set(c, "partitioner", "murmur2_random");
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
    if (!rk)
        die("producer", errstr);
    char value[VALUE_SIZE];
    memset(value, 'v', sizeof value);
    delivery_errors = 0;
    int64_t t0 = rv__mono_us();
    for (int64_t i = 0; i < records; i++) {
        char key[KEY_SIZE + 1];
        snprintf(key, sizeof key, "%08" PRId64, i % 100000000);
        for (;;) {
            rd_kafka_resp_err_t err =
                rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, KEY_SIZE),
                                  RD_KAFKA_V_VALUE(value, sizeof value),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (!err)
                break;
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                die("produce", rd_kafka_err2str(err));
            rd_kafka_poll(rk, 1);
        }
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000))
        die("flush", "timed out");
    int64_t us = rv__mono_us() - t0;
    if (delivery_errors)
        die("produce", "some records were not delivered");
    char what[64];
    snprintf(what, sizeof what, "net produce acks=%s:", acks);
    report(what, records, us);
    rd_kafka_destroy(rk);
}

static void consume(const char *bootstrap, const char *topic, int partitions, int64_t records) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", bootstrap);
    set(c, "group.id", "bench-net");
    set(c, "enable.auto.commit", "false");
    set(c, "enable.partition.eof", "false");
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof errstr);
    if (!rk)
        die("consumer", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    /* Batches of messages per call: one rd_kafka_consumer_poll per message
     * would measure librdkafka's queue locking rather than the broker. */
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *msgs[10000];
    int64_t got = 0, bytes = 0;
    int64_t t0 = rv__mono_us(), last = t0;
    while (got < records) {
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, msgs, sizeof msgs / sizeof msgs[0]);
        int64_t now = rv__mono_us();
        if (n <= 0) {
            if (now - last > 30 * 1000000)
                die("consume", "no records for 30 s");
            continue;
        }
        last = now;
        for (ssize_t i = 0; i < n; i++) {
            if (msgs[i]->err)
                die("consume", rd_kafka_message_errstr(msgs[i]));
            got++;
            bytes += (int64_t)msgs[i]->len;
            rd_kafka_message_destroy(msgs[i]);
        }
    }
    rd_kafka_queue_destroy(q);
    int64_t us = rv__mono_us() - t0;
    if (bytes != records * VALUE_SIZE)
        die("consume", "wrong byte count");
    report("net consume:", records, us);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

int main(int argc, char **argv) {
    int64_t records = 5000000;
    int partitions = 4;
    const char *bootstrap = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc)
            partitions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bootstrap") == 0 && i + 1 < argc)
            bootstrap = argv[++i];
        else {
            fprintf(stderr,
                    "usage: bench_net [--records N] [--partitions P] [--bootstrap HOST:PORT]\n");
            return 2;
        }
    }
    if (records <= 0 || partitions <= 0) {
        fprintf(stderr, "bench_net: --records and --partitions must be positive\n");
        return 2;
    }
    char dir[4096] = "", errstr[512], address[128];
    rv_broker_t *broker = NULL;
    rv__kserver_t *server = NULL;
    if (!bootstrap) {
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(dir, sizeof dir, "%s/rv-bench-net-XXXXXX", base);
        if (!mkdtemp(dir))
            die("mkdtemp", dir);
        if (rv_broker_open(&broker, dir, errstr, sizeof errstr))
            die("broker", errstr);
        rv__kserver_config_t cfg;
        rv__kserver_config_default(&cfg);
        cfg.listen_port = 0;
        if (rv__kserver_start(&server, broker, &cfg, errstr, sizeof errstr))
            die("server", errstr);
        snprintf(address, sizeof address, "127.0.0.1:%d", rv__kserver_port(server));
        bootstrap = address;
    }
    printf("bench_net: %" PRId64 " records of %d bytes, %d partitions, broker %s%s\n", records,
           VALUE_SIZE, partitions, bootstrap, server ? " (in this process)" : "");
    create_topic(bootstrap, "bench-net-1", partitions);
    create_topic(bootstrap, "bench-net-all", partitions);
    produce(bootstrap, "bench-net-1", "1", records);
    produce(bootstrap, "bench-net-all", "all", records);
    consume(bootstrap, "bench-net-1", partitions, records);
    if (server) {
        rv__kserver_stop(server);
        rv_broker_close(broker);
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_net: could not remove %s\n", dir);
    }
    return 0;
}
