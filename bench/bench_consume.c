/* bench/bench_consume.c: consumer throughput on the embedded broker.
 *
 * Pre-produces N records of 100-byte values (8-byte keys) to one partition
 * with rv_broker_produce in 16 KiB batches, then one consumer group member
 * (subscribe, default max.poll.records unless --max-poll-records) polls
 * them all, touching every value. Prints records/s and MB/s of the
 * consume phase; the target is >= 10 M records/s.
 *
 *   bench_consume [--records N] [--max-poll-records M] [--dir DIR]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/consumer.h"
#include "rivulet/record.h"

#define RECORD_SIZE 100
#define BATCH_BYTES (16 * 1024)

static void die(const char *what, const char *msg) {
    fprintf(stderr, "bench_consume: %s: %s\n", what, msg);
    exit(1);
}

int main(int argc, char **argv) {
    int64_t records = 10000000;
    const char *mpr = "500";
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            records = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--max-poll-records") == 0 && i + 1 < argc)
            mpr = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            base = argv[++i];
        else {
            fprintf(stderr, "usage: bench_consume [--records N] [--max-poll-records M] "
                            "[--dir DIR]\n");
            return 2;
        }
    }
    char dir[4096], bs[4200], errstr[512], cmd[4200];
    snprintf(dir, sizeof dir, "%s/rv-bench-consume-XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp", dir);
    snprintf(bs, sizeof bs, "embedded:%s", dir);

    rv_broker_t *broker;
    if (rv_broker_open(&broker, dir, errstr, sizeof errstr))
        die("broker", errstr);
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bs, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr);
    if (!admin || rv_admin_create_topic(admin, "bench", 1, 1, NULL, NULL, 0, errstr, sizeof errstr))
        die("create topic", errstr);
    rv_admin_destroy(admin);

    /* produce */
    char key[16], value[RECORD_SIZE];
    memset(value, 'v', sizeof value);
    rv_batch_builder_t *b = rv_batch_builder_new();
    int64_t t0 = rv__mono_us(), done = 0;
    int64_t now = rv__now_ms();
    while (done < records) {
        rv_batch_builder_reset(b);
        size_t bytes = 61;
        while (done < records && bytes + RECORD_SIZE + 20 <= BATCH_BYTES) {
            int kl = snprintf(key, sizeof key, "k%07" PRId64, done % 10000000);
            rv_batch_builder_add(b, key, kl, value, RECORD_SIZE, now);
            bytes += RECORD_SIZE + (size_t)kl + 10;
            done++;
        }
        const void *data;
        size_t len;
        if (rv_batch_builder_finish(b, &data, &len) ||
            rv_broker_produce(broker, "bench", 0, data, len, 1, NULL, errstr, sizeof errstr))
            die("produce", errstr);
    }
    rv_batch_builder_destroy(b);
    double produce_s = (double)(rv__mono_us() - t0) / 1e6;

    /* consume with one group member */
    conf = rv_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", bs},         {"group.id", "bench"},
                           {"auto.offset.reset", "earliest"}, {"max.poll.records", mpr},
                           {"heartbeat.interval.ms", "1000"}, {"session.timeout.ms", "10000"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rv_conf_set(conf, kv[i][0], kv[i][1], errstr, sizeof errstr) != RV_CONF_OK)
            die("conf", errstr);
    rv_consumer_t *c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c)
        die("consumer", errstr);
    const char *topics[] = {"bench"};
    rv_consumer_subscribe(c, topics, 1, NULL);
    /* Join first so the figure is the steady state. */
    int64_t got = 0, bytes = 0;
    uint64_t sum = 0;
    int64_t t_start = 0;
    while (got < records) {
        rv_records_t *rs;
        rv_err_t err = rv_consumer_poll(c, 1000, &rs);
        if (err)
            die("poll", rv_consumer_last_error(c));
        size_t n = rv_records_count(rs);
        if (n && !t_start)
            t_start = rv__mono_us();
        for (size_t i = 0; i < n; i++) {
            const rv_record_t *r = rv_records_get(rs, i);
            int32_t vl;
            const unsigned char *v = rv_record_value(r, &vl);
            sum += v[0] + (uint64_t)vl;
            bytes += vl;
        }
        got += (int64_t)n;
        rv_records_destroy(rs);
    }
    double s = (double)(rv__mono_us() - t_start) / 1e6;
    rv_consumer_destroy(c);
    rv_broker_close(broker);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_consume: could not remove %s\n", dir);

    printf("bench_consume: %" PRId64 " records of %d bytes, max.poll.records=%s "
           "(produced in %.2f s) checksum %" PRIu64 "\n",
           records, RECORD_SIZE, mpr, produce_s, sum);
    printf("consume (one group member): %10.0f records/s  %8.0f MB/s\n", (double)got / s,
           (double)bytes / s / 1e6);
    printf("target: consume >= 10000000 records/s\n");
    return 0;
}
