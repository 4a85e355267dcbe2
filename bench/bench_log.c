/* bench/bench_log.c: append and read throughput of one partition's log.
 *
 * Appends 100-byte records in 16 KiB batches to one partition (page cache,
 * no fsync per append, as Kafka's default flush settings), reads them all
 * back, and then measures durable appends (RV__APPEND_SYNC, group commit)
 * from several threads. Prints records/s and MB/s beside the machine's
 * sequential write bandwidth measured the same way in the same folder
 * (1 MiB write(2) calls, buffered), so the ratio is comparable from run to
 * run.
 *
 *   bench_log [--records N] [--dir DIR] [--sync-threads T] [--sync-seconds S]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/util/bench_util.h"
#include "broker/log/log.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/record_batch.h"

#define RECORD_SIZE 100
#define BATCH_BYTES (16 * 1024)

static double secs_since(int64_t t0_us) {
    return (double)(rv__mono_us() - t0_us) / 1e6;
}

/* One 16 KiB batch of 100-byte values with 8-byte keys. */
static void make_batch(rv__buf_t *out, int *records) {
    rv__batch_builder_t b;
    char value[RECORD_SIZE];
    memset(value, 'v', sizeof value);
    rv__batch_builder_begin(&b, out, 0, 0, INT64_MIN, -1, -1, -1, -1);
    int n = 0;
    int64_t now = rv__now_ms();
    while (out->len + 2 * (RECORD_SIZE + 16) < BATCH_BYTES) {
        char key[16];
        int klen = snprintf(key, sizeof key, "k%07d", n);
        rv__batch_builder_add(&b, n, now, key, klen, value, RECORD_SIZE, 0, NULL, 0);
        n++;
    }
    rv__batch_builder_finish(&b, -1);
    *records = n;
}

struct sync_arg {
    rv__log_t *log;
    const rv__buf_t *batch;
    double seconds;
    int64_t appends;
};

static void *sync_appender(void *p) {
    struct sync_arg *a = p;
    uint8_t *copy = malloc(a->batch->len);
    int64_t t0 = rv__mono_us();
    char err[256];
    while (secs_since(t0) < a->seconds) {
        memcpy(copy, a->batch->data, a->batch->len);
        rv__append_info_t info;
        if (rv__log_append(a->log, copy, a->batch->len, RV__APPEND_SYNC, &info, err, sizeof err)) {
            fprintf(stderr, "append: %s\n", err);
            exit(1);
        }
        a->appends++;
    }
    free(copy);
    return NULL;
}

int main(int argc, char **argv) {
    int64_t total_records = 10 * 1000 * 1000;
    const char *base = "/tmp";
    int sync_threads = 8;
    bench_set_program("bench_log");
    double sync_seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--records") && i + 1 < argc)
            total_records = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base = argv[++i];
        else if (!strcmp(argv[i], "--sync-threads") && i + 1 < argc)
            sync_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sync-seconds") && i + 1 < argc)
            sync_seconds = atof(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--records N] [--dir DIR] [--sync-threads T] [--sync-seconds S]\n",
                    argv[0]);
            return 2;
        }
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/rv-bench-log-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    rv__buf_t batch = RV__BUF_INIT;
    int per_batch;
    make_batch(&batch, &per_batch);
    int64_t batches = (total_records + per_batch - 1) / per_batch;
    total_records = batches * per_batch;
    double data_bytes = (double)batches * (double)batch.len;

    /* Every figure is the best of three runs: the page cache makes single
     * runs vary by several times (the first write into a cold cache is
     * often far slower). */
    double bw_1m = 0, bw_batch = 0;

    rv__log_config_t cfg;
    rv__log_config_defaults(&cfg);
    char pdir[4200], err[256];
    if (snprintf(pdir, sizeof pdir, "%s/bench-0", dir) >= (int)sizeof pdir) {
        fprintf(stderr, "bench_log: folder name too long\n");
        return 2;
    }
    rv__log_t *log = NULL;
    double append_s = 1e30;
    uint8_t *copy = malloc(batch.len);
    /* Rounds interleave the baseline and the log so both see the same
     * machine and page-cache conditions. */
    for (int run = 0; run < 3; run++) {
        double r = bench_seq_write_mbps(dir, (size_t)data_bytes, 1 << 20, false);
        bw_1m = r > bw_1m ? r : bw_1m;
        r = bench_seq_write_mbps(dir, (size_t)data_bytes, batch.len, false);
        bw_batch = r > bw_batch ? r : bw_batch;
        if (log) {
            rv__log_close(log);
            rv__io_rmtree(pdir);
        }
        if (rv__log_open(&log, pdir, &cfg, 0, -1, err, sizeof err)) {
            fprintf(stderr, "open: %s\n", err);
            return 1;
        }
        /* The copy mirrors what a broker does with a request buffer. */
        int64_t t0 = rv__mono_us();
        for (int64_t i = 0; i < batches; i++) {
            memcpy(copy, batch.data, batch.len);
            rv__append_info_t info;
            if (rv__log_append(log, copy, batch.len, 0, &info, err, sizeof err)) {
                fprintf(stderr, "append: %s\n", err);
                return 1;
            }
        }
        double s = secs_since(t0);
        append_s = s < append_s ? s : append_s;
    }
    free(copy);

    /* Read everything back in 1 MiB fetches, walking batch headers. */
    rv__buf_t out = RV__BUF_INIT;
    int64_t off = 0, records_read = 0;
    int64_t t0 = rv__mono_us();
    while (off < rv__log_high_watermark(log)) {
        rv__read_info_t ri;
        out.len = 0;
        if (rv__log_read(log, off, 1 << 20, &out, &ri, err, sizeof err)) {
            fprintf(stderr, "read: %s\n", err);
            return 1;
        }
        size_t pos = 0;
        while (pos < out.len) {
            rv__batch_hdr_t h;
            if (rv__batch_parse_header(&h, out.data + pos, out.len - pos))
                break;
            records_read += h.records_count;
            pos += rv__batch_size(&h);
        }
        off = ri.next_offset;
    }
    double read_s = secs_since(t0);

    double arate = (double)total_records / append_s, abw = data_bytes / append_s / 1e6;
    double rrate = (double)records_read / read_s, rbw = data_bytes / read_s / 1e6;
    printf("bench_log: %" PRId64 " records of %d bytes in %" PRId64
           " batches of %zu bytes (%d records)\n",
           total_records, RECORD_SIZE, batches, batch.len, per_batch);
    printf("sequential write, buffered, %zu-byte writes: %8.0f MB/s\n", batch.len, bw_batch);
    printf("sequential write, buffered, 1 MiB writes:    %8.0f MB/s\n", bw_1m);
    printf("append (no fsync):    %10.0f records/s  %8.0f MB/s  = %5.1f%% / %5.1f%% of those\n",
           arate, abw, 100.0 * abw / bw_batch, 100.0 * abw / bw_1m);
    printf("read (1 MiB fetches): %10.0f records/s  %8.0f MB/s\n", rrate, rbw);
    printf("targets: append >= 80%% of sequential write at the same write size (%s), "
           ">= 5 M records/s (%s)\n",
           abw >= 0.8 * bw_batch ? "met" : "NOT met", arate >= 5e6 ? "met" : "NOT met");

    /* Durable appends: T threads, each waiting for its fsync; group commit
     * lets one fsync cover every waiting thread. */
    if (sync_threads > 0) {
        rv__log_close(log);
        rv__io_rmtree(pdir);
        if (rv__log_open(&log, pdir, &cfg, 0, -1, err, sizeof err)) {
            fprintf(stderr, "open: %s\n", err);
            return 1;
        }
        pthread_t *th = calloc((size_t)sync_threads, sizeof *th);
        struct sync_arg *args = calloc((size_t)sync_threads, sizeof *args);
        t0 = rv__mono_us();
        for (int i = 0; i < sync_threads; i++) {
            args[i] = (struct sync_arg){log, &batch, sync_seconds, 0};
            pthread_create(&th[i], NULL, sync_appender, &args[i]);
        }
        int64_t appends = 0;
        for (int i = 0; i < sync_threads; i++) {
            pthread_join(th[i], NULL);
            appends += args[i].appends;
        }
        double s = secs_since(t0);
        printf("durable append (fsync, %d threads, group commit): %10.0f records/s  %8.0f MB/s  "
               "(%.0f batches/s)\n",
               sync_threads, (double)appends * per_batch / s, (double)appends * batch.len / s / 1e6,
               (double)appends / s);
        free(th);
        free(args);
    }

    rv__log_close(log);
    rv__io_rmtree(dir);
    rv__buf_free(&batch);
    rv__buf_free(&out);
    return 0;
}
