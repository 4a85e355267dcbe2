/* bench/bench_produce.c: producer throughput on the embedded broker.
 *
 * One producer thread sends N records with 8-byte keys and 100-byte values
 * to a one-partition topic in a temporary data folder, with acks=1 (the
 * log's page cache) and then acks=all (fsync'd, group commit), serving
 * delivery callbacks with rv_producer_poll(p, 0) as a librdkafka
 * application does, and flushing at the end. Prints records/s and MB/s
 * of values for each.
 *
 *   bench_produce [--records N] [--dir DIR] [--linger-ms MS] [--batch-size B]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/topics.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "rivulet/broker.h"
#include "rivulet/producer.h"

#define VALUE_SIZE 100

/* "k" and 7 digits, without snprintf's cost in the timed loop. */
static int format_key(char *key, long long v) {
    key[0] = 'k';
    for (int d = 7; d >= 1; d--, v /= 10)
        key[d] = (char)('0' + v % 10);
    key[8] = '\0';
    return 8;
}

static long long g_delivered, g_failed;

static void on_delivery(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                        int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p, (void)errmsg, (void)topic, (void)partition, (void)offset, (void)timestamp;
    (void)opaque;
    if (err)
        g_failed++;
    else
        g_delivered++;
}

static int run(const char *dir, const char *topic, const char *acks, long long n,
               const char *linger, const char *batch) {
    char errstr[512], bs[4200];
    snprintf(bs, sizeof bs, "embedded:%s", dir);
    rv_conf_t *conf = rv_conf_new();
    if (rv_conf_set(conf, "bootstrap.servers", bs, errstr, sizeof errstr) ||
        rv_conf_set(conf, "acks", acks, errstr, sizeof errstr) ||
        rv_conf_set(conf, "linger.ms", linger, errstr, sizeof errstr) ||
        rv_conf_set(conf, "batch.size", batch, errstr, sizeof errstr)) {
        fprintf(stderr, "bench_produce: %s\n", errstr);
        return 1;
    }
    rv_producer_t *p = rv_producer_new(conf, errstr, sizeof errstr);
    if (!p) {
        fprintf(stderr, "bench_produce: %s\n", errstr);
        rv_conf_destroy(conf);
        return 1;
    }
    char value[VALUE_SIZE];
    memset(value, 'v', sizeof value);
    char key[16];
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.key = key;
    r.value = value;
    r.value_len = VALUE_SIZE;
    g_delivered = g_failed = 0;
    int64_t t0 = rv__mono_us();
    for (long long i = 0; i < n; i++) {
        r.key_len = format_key(key, i % 10000000);
        rv_err_t err = rv_producer_send(p, &r, on_delivery, NULL, errstr, sizeof errstr);
        if (err) {
            fprintf(stderr, "bench_produce: send: %s\n", errstr);
            break;
        }
        if ((i & 1023) == 0)
            rv_producer_poll(p, 0);
    }
    rv_err_t err = rv_producer_flush(p, -1);
    double s = (double)(rv__mono_us() - t0) / 1e6;
    rv_producer_destroy(p);
    if (err || g_failed || g_delivered != n) {
        fprintf(stderr, "bench_produce: %lld delivered, %lld failed of %lld\n", g_delivered,
                g_failed, n);
        return 1;
    }
    printf("produce acks=%-3s %lld records of %d bytes: %.2f s, %.0f records/s, %.1f MB/s\n", acks,
           n, VALUE_SIZE, s, (double)n / s, (double)n * VALUE_SIZE / s / 1e6);
    return 0;
}

int main(int argc, char **argv) {
    long long n = 10000000;
    const char *dir = NULL, *linger = "0", *batch = "16384";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc)
            n = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--linger-ms") && i + 1 < argc)
            linger = argv[++i];
        else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc)
            batch = argv[++i];
        else {
            fprintf(stderr, "usage: bench_produce [--records N] [--dir DIR] [--linger-ms MS] "
                            "[--batch-size B]\n");
            return 2;
        }
    }
    char tmpl[4096];
    bool own = !dir;
    if (own) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpl, sizeof tmpl, "%s/bench_produce.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmpl;
    }
    rv_broker_t *b;
    char errstr[512];
    if (rv_broker_open(&b, dir, errstr, sizeof errstr)) {
        fprintf(stderr, "bench_produce: %s\n", errstr);
        return 1;
    }
    int rc = 0;
    const char *acks[] = {"1", "all"};
    const char *topics[] = {"bench-acks1", "bench-acksall"};
    for (int i = 0; i < 2 && !rc; i++) {
        if (rv__topics_create(rv__broker_topics(b), topics[i], 1, 1, NULL, NULL, 0, errstr,
                              sizeof errstr)) {
            fprintf(stderr, "bench_produce: %s\n", errstr);
            rc = 1;
            break;
        }
        rc = run(dir, topics[i], acks[i], n, linger, batch);
    }
    rv_broker_close(b);
    if (own)
        rv__io_rmtree(dir);
    return rc;
}
