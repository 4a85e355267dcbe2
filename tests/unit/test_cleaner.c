/* tests/unit/test_cleaner.c: broker/log/cleaner.c on real files: latest
 * record per key kept with its offset (gaps appear), the active segment
 * untouched, control batches kept, tombstones dropped only after their
 * delete horizon, min.cleanable.dirty.ratio and min.compaction.lag.ms
 * honoured, a crash (failed rename) at each step of the swap leaving
 * valid data after reopen, compressed batches compacted record by
 * record, rebuilt batches keeping their offset range, and an idempotent
 * producer's emptied last batch kept as a header until it expires. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/log/log.h"
#include "common/fileio.h"
#include "common/record_batch.h"

#define NKEYS 8

typedef struct fx_s {
    char *base;
    char dir[2048];
    rv__log_config_t cfg;
    rv__log_t *log;
    int64_t latest[NKEYS]; /* offset of each key's newest record, -1 none */
    int64_t ts;
    int codec; /* compression of the batches put() appends */
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    fx->base = rvt_tmpdir();
    snprintf(fx->dir, sizeof fx->dir, "%s/users-0", fx->base);
    rv__log_config_defaults(&fx->cfg);
    fx->cfg.cleanup_compact = true;
    fx->cfg.cleanup_delete = false;
    fx->cfg.segment_bytes = 2048;
    fx->cfg.index_interval_bytes = 256;
    for (int i = 0; i < NKEYS; i++)
        fx->latest[i] = -1;
    fx->ts = 1000;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rv__io_fail_nth(RV__IO_RENAME, 0, 0);
    rv__log_close(fx->log);
    rvt_rmtree(fx->base);
    free(fx->base);
    free(fx);
    return 0;
}

static void open_log(fx_t *fx) {
    char errstr[512] = "";
    if (rv__log_open(&fx->log, fx->dir, &fx->cfg, 0, -1, errstr, sizeof errstr))
        fail_msg("open: %s", errstr);
}

static void reopen(fx_t *fx) {
    rv__log_close(fx->log);
    fx->log = NULL;
    open_log(fx);
}

/* Appends one batch of producer pid (-1: none) starting at sequence seq:
 * records for keys[0..n) ("key<k>"), value "v<offset>" or a tombstone when
 * tomb[i]. */
static void put_from(fx_t *fx, int64_t pid, int32_t seq, int n, const int *keys, const bool *tomb) {
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    int64_t base = rv__log_end_offset(fx->log);
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, (int16_t)fx->codec, INT64_MIN, pid,
                                             pid >= 0 ? 1 : -1, pid >= 0 ? seq : -1, -1),
                     0);
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        int kl = snprintf(k, sizeof k, "key%d", keys[i]);
        int vl =
            snprintf(v, sizeof v, "v%lld-%s", (long long)(base + i), "padding-padding-padding");
        bool t = tomb && tomb[i];
        assert_int_equal(
            rv__batch_builder_add(&bb, i, fx->ts++, k, kl, t ? NULL : v, t ? -1 : vl, 0, NULL, 0),
            0);
        fx->latest[keys[i]] = base + i;
    }
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, NULL, 0), 0);
    rv__buf_free(&b);
}

/* put_from() as producer 7, every batch at sequence 0. */
static void put(fx_t *fx, int n, const int *keys, const bool *tomb) {
    put_from(fx, 7, 0, n, keys, tomb);
}

/* A transaction marker (control batch): must survive cleaning. */
static int64_t put_control(fx_t *fx) {
    rv__buf_t b = RV__BUF_INIT;
    rv__batch_builder_t bb;
    int64_t off = rv__log_end_offset(fx->log);
    assert_int_equal(rv__batch_builder_begin(&bb, &b, 0, RV__ATTR_CONTROL | RV__ATTR_TRANSACTIONAL,
                                             INT64_MIN, 7, 1, -1, -1),
                     0);
    const uint8_t key[4] = {0, 0, 0, 1}, val[6] = {0};
    assert_int_equal(rv__batch_builder_add(&bb, 0, fx->ts++, key, 4, val, 6, 0, NULL, 0), 0);
    assert_int_equal(rv__batch_builder_finish(&bb, -1), 0);
    assert_int_equal(rv__log_append(fx->log, b.data, b.len, 0, NULL, NULL, 0), 0);
    rv__buf_free(&b);
    return off;
}

typedef struct seen_s {
    int64_t count;
    int64_t control_at;
    int64_t has[NKEYS]; /* offset of each key's newest record seen */
    int64_t tombstones;
    int64_t horizon_batches;
    int64_t compressed_batches;
} seen_t;

/* Reads the whole log, validating every batch. */
static void scan(fx_t *fx, seen_t *s) {
    memset(s, 0, sizeof *s);
    s->control_at = -1;
    for (int i = 0; i < NKEYS; i++)
        s->has[i] = -1;
    int64_t next = rv__log_start_offset(fx->log), hw = rv__log_high_watermark(fx->log);
    int64_t prev_offset = -1;
    rv__buf_t scratch = RV__BUF_INIT;
    while (next < hw) {
        rv__buf_t out = RV__BUF_INIT;
        rv__read_info_t ri;
        assert_int_equal(rv__log_read(fx->log, next, 1 << 20, &out, &ri, NULL, 0), 0);
        if (!out.len)
            break;
        for (size_t pos = 0; pos < out.len;) {
            rv__record_iter_t it;
            rv__batch_hdr_t h;
            assert_int_equal(rv__batch_validate(&h, out.data + pos, out.len - pos), 0);
            assert_int_equal(
                rv__record_iter_init2(&it, out.data + pos, rv__batch_size(&h), &scratch), 0);
            if (h.attributes & RV__ATTR_DELETE_HORIZON)
                s->horizon_batches++;
            if (h.attributes & RV__ATTR_COMPRESSION_MASK)
                s->compressed_batches++;
            rv__record_t rec;
            int r;
            while ((r = rv__record_iter_next(&it, &rec)) == 1) {
                assert_true(rec.offset > prev_offset);
                prev_offset = rec.offset;
                s->count++;
                if (h.attributes & RV__ATTR_CONTROL) {
                    s->control_at = rec.offset;
                    continue;
                }
                int k = rec.key_len == 4 ? rec.key[3] - '0' : -1;
                assert_true(k >= 0 && k < NKEYS);
                s->has[k] = rec.offset;
                if (rec.value_len < 0) {
                    s->tombstones++;
                } else {
                    char want[32];
                    snprintf(want, sizeof want, "v%lld-", (long long)rec.offset);
                    assert_memory_equal(rec.value, want, strlen(want));
                }
            }
            assert_int_equal(r, 0);
            pos += rv__batch_size(&h);
        }
        next = ri.next_offset;
        rv__buf_free(&out);
    }
    rv__buf_free(&scratch);
}

/* Fills several segments with overwrites of NKEYS keys, then rolls. */
static void fill(fx_t *fx, int batches) {
    for (int i = 0; i < batches; i++) {
        int keys[5];
        int n = 1 + i % 5;
        for (int j = 0; j < n; j++)
            keys[j] = (i * 3 + j) % NKEYS;
        put(fx, n, keys, NULL);
    }
}

static void test_latest_per_key(void **state) {
    fx_t *fx = *state;
    open_log(fx);
    fill(fx, 30);
    int64_t ctl = put_control(fx);
    fill(fx, 10);
    assert_int_equal(rv__log_roll(fx->log), 0);
    /* The active segment gets writes that cleaning must not touch. */
    int keys[2] = {0, 1};
    put(fx, 2, keys, NULL);
    int64_t leo = rv__log_end_offset(fx->log);
    seen_t before;
    scan(fx, &before);
    assert_true(rv__log_segment_count(fx->log) > 3);
    assert_true(rv__log_dirty_ratio(fx->log) == 1.0);

    rv__clean_stats_t st;
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 0, &st), 0);
    assert_true(st.segments_cleaned >= 1);
    assert_true(st.records_kept < st.records_read);
    assert_true(st.bytes_after < st.bytes_before);
    assert_int_equal(rv__log_end_offset(fx->log), leo);
    seen_t after;
    scan(fx, &after);
    /* Each key's newest record is there, at its own offset; older ones gone. */
    for (int k = 0; k < NKEYS; k++)
        assert_int_equal(after.has[k], fx->latest[k]);
    assert_int_equal(after.control_at, ctl);
    assert_int_equal(st.records_kept, NKEYS + 1);
    /* The newest record of each key in the inactive part (the map does not
     * cover the active segment, as in Kafka), the 2 active records and the
     * marker. */
    assert_int_equal(after.count, NKEYS + 2 + 1);
    assert_true(after.count < before.count);
    assert_true(rv__log_dirty_ratio(fx->log) == 0.0);
    /* Gaps: a read at offset 0 returns the first batch left. */
    rv__buf_t out = RV__BUF_INIT;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &out, NULL, NULL, 0), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_true(h.base_offset > 0 || h.records_count < 5);
    assert_int_equal(h.producer_id, 7);
    rv__buf_free(&out);
    /* The result survives a restart, with the checkpoint. */
    reopen(fx);
    seen_t again;
    scan(fx, &again);
    assert_int_equal(again.count, after.count);
    assert_memory_equal(again.has, after.has, sizeof after.has);
    assert_true(rv__log_dirty_ratio(fx->log) == 0.0);
    char path[4096];
    snprintf(path, sizeof path, "%s/cleaner-offset-checkpoint", fx->dir);
    assert_true(rvt_file_size(path) > 0);
}

static void test_tombstones_after_horizon(void **state) {
    fx_t *fx = *state;
    fx->cfg.delete_retention_ms = 10000;
    open_log(fx);
    int ab[2] = {0, 1};
    put(fx, 2, ab, NULL);
    bool tomb[1] = {true};
    int a[1] = {0};
    put(fx, 1, a, tomb);
    int c[1] = {2};
    put(fx, 1, c, NULL);
    assert_int_equal(rv__log_roll(fx->log), 0);
    int64_t now = 5000000;
    rv__clean_stats_t st;
    assert_int_equal(rv__log_clean(fx->log, now, 1, &st), 0);
    seen_t s;
    scan(fx, &s);
    assert_int_equal(s.tombstones, 1);
    assert_int_equal(s.horizon_batches, 1);
    assert_int_equal(s.has[0], 2); /* the tombstone, at its offset */
    assert_int_equal(st.tombstones_dropped, 0);
    /* The horizon is in the batch: base_timestamp = now + delete.retention.ms,
     * while the record keeps its own timestamp. */
    rv__buf_t out = RV__BUF_INIT;
    assert_int_equal(rv__log_read(fx->log, 2, 1, &out, NULL, NULL, 0), 0);
    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init(&it, out.data, out.len), 0);
    assert_true(it.hdr.attributes & RV__ATTR_DELETE_HORIZON);
    assert_int_equal(it.hdr.base_timestamp, now + 10000);
    rv__record_t rec;
    assert_int_equal(rv__record_iter_next(&it, &rec), 1);
    assert_int_equal(rec.timestamp, 1002);
    rv__buf_free(&out);
    /* Before the horizon: still there. */
    assert_int_equal(rv__log_clean(fx->log, now + 9999, 1, &st), 0);
    scan(fx, &s);
    assert_int_equal(s.tombstones, 1);
    /* After it: dropped. */
    assert_int_equal(rv__log_clean(fx->log, now + 10001, 1, &st), 0);
    assert_int_equal(st.tombstones_dropped, 1);
    scan(fx, &s);
    assert_int_equal(s.tombstones, 0);
    assert_int_equal(s.has[0], -1);
    assert_int_equal(s.has[1], 1);
    assert_int_equal(s.has[2], 3);
}

static void test_dirty_ratio_and_lag(void **state) {
    fx_t *fx = *state;
    fx->cfg.min_cleanable_dirty_ratio = 0.5;
    open_log(fx);
    fill(fx, 30);
    assert_int_equal(rv__log_roll(fx->log), 0);
    rv__clean_stats_t st;
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 0, &st), 0);
    assert_true(st.segments_cleaned > 0);
    int64_t clean_bytes = rv__log_size_bytes(fx->log);
    /* A little new data: dirty ratio below 0.5, so no pass without force. */
    int k[1] = {3};
    put(fx, 1, k, NULL);
    assert_int_equal(rv__log_roll(fx->log), 0);
    double r = rv__log_dirty_ratio(fx->log);
    assert_true(r > 0.0 && r < 0.5);
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 0, &st), 0);
    assert_int_equal(st.segments_cleaned, 0);
    assert_int_equal(st.records_read, 0);
    assert_true(rv__log_dirty_ratio(fx->log) == r);
    /* min.compaction.lag.ms keeps recent segments out of the pass. */
    fx->cfg.min_compaction_lag_ms = 1000000;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 1, &st), 0);
    assert_int_equal(st.segments_cleaned, 0);
    /* Forced and without lag: the old key-3 record goes. */
    fx->cfg.min_compaction_lag_ms = 0;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 1, &st), 0);
    assert_true(st.segments_cleaned >= 1);
    assert_true(rv__log_size_bytes(fx->log) <= clean_bytes + 200);
    seen_t s;
    scan(fx, &s);
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(s.has[i], fx->latest[i]);
    assert_int_equal(s.count, NKEYS);
    /* Delete-policy only topics are not compacted. */
    fx->cfg.cleanup_compact = false;
    rv__log_set_config(fx->log, &fx->cfg);
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 1, &st), 0);
    assert_int_equal(st.records_read, 0);
}

static void test_crash_during_swap(void **state) {
    fx_t *fx = *state;
    /* Each swap renames 3 files to .swap then 3 into place; fail each one
     * in turn. Whatever happened, the reopened log must hold valid batches
     * with every key's latest record. */
    for (int fail = 1; fail <= 7; fail++) {
        if (fx->log) {
            rv__log_close(fx->log);
            fx->log = NULL;
        }
        rvt_rmtree(fx->dir);
        for (int i = 0; i < NKEYS; i++)
            fx->latest[i] = -1;
        open_log(fx);
        fill(fx, 12);
        assert_int_equal(rv__log_roll(fx->log), 0);
        int64_t leo = rv__log_end_offset(fx->log);
        seen_t before;
        scan(fx, &before);
        rv__io_fail_nth(RV__IO_RENAME, fail, EIO);
        rv__clean_stats_t st;
        rv_err_t err = rv__log_clean(fx->log, fx->ts, 1, &st);
        rv__io_fail_nth(RV__IO_RENAME, 0, 0);
        assert_true(err == RV_ERR_NO_ERROR || err == RV_ERR__IO);
        /* The live log stays readable either way. */
        seen_t s;
        scan(fx, &s);
        for (int i = 0; i < NKEYS; i++)
            assert_int_equal(s.has[i], fx->latest[i]);
        reopen(fx);
        assert_int_equal(rv__log_end_offset(fx->log), leo);
        scan(fx, &s);
        for (int i = 0; i < NKEYS; i++)
            assert_int_equal(s.has[i], fx->latest[i]);
        assert_true(s.count <= before.count);
        /* No leftovers of the swap after the reopen. */
        char path[4096];
        snprintf(path, sizeof path, "%s/00000000000000000000.log.swap", fx->dir);
        assert_int_equal(rvt_file_size(path), -1);
        snprintf(path, sizeof path, "%s/00000000000000000000.log.cleaned", fx->dir);
        assert_int_equal(rvt_file_size(path), -1);
        /* And a second pass finishes the job. */
        assert_int_equal(rv__log_clean(fx->log, fx->ts, 1, &st), 0);
        scan(fx, &s);
        assert_int_equal(s.count, NKEYS);
    }
}

/* Compressed batches (every codec, mixed with plain ones) are compacted
 * record by record, rebuilt with their own codec, and their tombstones
 * follow the same horizon rule. */
static void test_compressed_batches(void **state) {
    fx_t *fx = *state;
    fx->cfg.delete_retention_ms = 10000;
    open_log(fx);
    for (int i = 0; i < 40; i++) {
        int keys[5];
        int n = 1 + i % 5;
        for (int j = 0; j < n; j++)
            keys[j] = (i * 3 + j) % NKEYS;
        fx->codec = i % 5;
        put(fx, n, keys, NULL);
    }
    /* A tombstone for key 0 inside a zstd batch that also holds key 1. */
    fx->codec = 4;
    int kk[2] = {0, 1};
    bool tomb[2] = {true, false};
    put(fx, 2, kk, tomb);
    assert_int_equal(rv__log_roll(fx->log), 0);
    seen_t before;
    scan(fx, &before);
    assert_true(before.compressed_batches >= 32);

    int64_t now = 5000000;
    rv__clean_stats_t st;
    assert_int_equal(rv__log_clean(fx->log, now, 1, &st), 0);
    assert_true(st.records_kept < st.records_read);
    seen_t after;
    scan(fx, &after);
    for (int k = 0; k < NKEYS; k++)
        assert_int_equal(after.has[k], fx->latest[k]);
    assert_int_equal(after.count, NKEYS);
    assert_int_equal(after.tombstones, 1);
    assert_int_equal(after.horizon_batches, 1);
    assert_true(after.compressed_batches > 0); /* rebuilt ones stay compressed */

    /* The tombstone's batch was rebuilt as zstd with the horizon. */
    rv__buf_t out = RV__BUF_INIT, scratch = RV__BUF_INIT;
    assert_int_equal(rv__log_read(fx->log, fx->latest[0], 1, &out, NULL, NULL, 0), 0);
    rv__record_iter_t it;
    assert_int_equal(rv__record_iter_init2(&it, out.data, out.len, &scratch), 0);
    assert_int_equal(it.hdr.attributes & RV__ATTR_COMPRESSION_MASK, 4);
    assert_true(it.hdr.attributes & RV__ATTR_DELETE_HORIZON);
    assert_int_equal(it.hdr.base_timestamp, now + 10000);
    rv__buf_free(&out);
    rv__buf_free(&scratch);

    /* After the horizon the tombstone goes; key 1 stays. */
    assert_int_equal(rv__log_clean(fx->log, now + 10001, 1, &st), 0);
    assert_int_equal(st.tombstones_dropped, 1);
    scan(fx, &after);
    assert_int_equal(after.tombstones, 0);
    assert_int_equal(after.has[0], -1);
    assert_int_equal(after.has[1], fx->latest[1]);
    assert_int_equal(after.count, NKEYS - 1);
    /* And all of it survives a restart. */
    reopen(fx);
    seen_t again;
    scan(fx, &again);
    assert_memory_equal(again.has, after.has, sizeof after.has);
}

/* A batch that loses its last record keeps its whole offset range
 * (lastOffsetDelta), as in Kafka: the broker rebuilds an idempotent
 * producer's last sequence from base sequence + lastOffsetDelta after a
 * restart, and a shorter range would refuse the producer's next batch as
 * out of order. */
static void test_rebuilt_batch_keeps_offset_range(void **state) {
    fx_t *fx = *state;
    open_log(fx);
    int abc[3] = {0, 1, 2};
    put(fx, 3, abc, NULL); /* offsets 0..2 */
    int bc[2] = {1, 2};
    put(fx, 2, bc, NULL); /* 3..4: the first batch keeps only offset 0 */
    assert_int_equal(rv__log_roll(fx->log), 0);
    rv__clean_stats_t st;
    assert_int_equal(rv__log_clean(fx->log, fx->ts, 1, &st), 0);
    assert_int_equal(st.records_kept, 3);
    rv__buf_t out = RV__BUF_INIT;
    rv__read_info_t ri;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &out, &ri, NULL, 0), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_offset, 0);
    assert_int_equal(h.records_count, 1);
    assert_int_equal(h.last_offset_delta, 2);
    assert_int_equal(h.producer_id, 7);
    assert_int_equal(h.base_sequence, 0);
    assert_int_equal(ri.next_offset, 3);
    rv__buf_free(&out);
    /* The same after a restart (recovery reads the range from the file). */
    reopen(fx);
    seen_t s;
    scan(fx, &s);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.has[0], 0);
    assert_int_equal(s.has[1], 3);
}

/* A batch that keeps no records goes, unless it is the last batch of an
 * idempotent producer: that one stays as an empty batch with its offsets
 * and sequences, so the producer state rebuilt from the log after a
 * restart still knows the producer (Kafka's cleaner keeps it too). It is
 * marked to expire producer.id.expiration.ms after the pass that emptied
 * it, and a pass after that drops it. */
static void test_producer_last_batch_kept_empty(void **state) {
    fx_t *fx = *state;
    open_log(fx);
    int k0[1] = {0}, k1[1] = {1}, k01[2] = {0, 1}, k2[1] = {2};
    put_from(fx, 9, 0, 1, k0, NULL);   /* 0: producer 9, seq 0 */
    put_from(fx, 9, 1, 1, k1, NULL);   /* 1: producer 9's last batch, seq 1 */
    put_from(fx, 10, 0, 2, k01, NULL); /* 2..3: producer 10 supersedes both */
    put_from(fx, -1, -1, 1, k2, NULL); /* 4: no producer id */
    put_from(fx, 10, 2, 1, k2, NULL);  /* 5: supersedes 4 */
    assert_int_equal(rv__log_roll(fx->log), 0);
    int64_t now = 5000000;
    rv__clean_stats_t st;
    assert_int_equal(rv__log_clean(fx->log, now, 1, &st), 0);
    assert_int_equal(st.records_kept, 3);
    /* Batch 0 (producer 9 wrote again) and batch 4 are gone; batch 1 is
     * a header alone. */
    rv__buf_t out = RV__BUF_INIT;
    rv__read_info_t ri;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &out, &ri, NULL, 0), 0);
    rv__batch_hdr_t h;
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(out.len, RV__BATCH_HEADER_SIZE);
    assert_int_equal(h.base_offset, 1);
    assert_int_equal(h.last_offset_delta, 0);
    assert_int_equal(h.records_count, 0);
    assert_int_equal(h.producer_id, 9);
    assert_int_equal(h.producer_epoch, 1);
    assert_int_equal(h.base_sequence, 1);
    assert_int_equal(h.max_timestamp, 1001);
    assert_true(h.attributes & RV__ATTR_DELETE_HORIZON);
    assert_int_equal(h.base_timestamp, now + RV__PRODUCER_ID_EXPIRATION_MS);
    assert_int_equal(ri.next_offset, 2);
    out.len = 0;
    assert_int_equal(rv__log_read(fx->log, 4, 1 << 20, &out, NULL, NULL, 0), 0);
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_offset, 5);
    /* Readers step over it: the scan, a time lookup, recovery. */
    seen_t s;
    scan(fx, &s);
    assert_int_equal(s.count, 3);
    int64_t off, ts;
    assert_int_equal(rv__log_offset_for_timestamp(fx->log, 1000, &off, &ts), 0);
    assert_int_equal(off, 2);
    reopen(fx);
    scan(fx, &s);
    assert_int_equal(s.count, 3);
    /* Kept by passes before its expiry, dropped by one after it. */
    assert_int_equal(rv__log_clean(fx->log, now + RV__PRODUCER_ID_EXPIRATION_MS - 1, 1, &st), 0);
    assert_int_equal(st.segments_cleaned, 0);
    out.len = 0;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &out, NULL, NULL, 0), 0);
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_offset, 1);
    assert_int_equal(rv__log_clean(fx->log, now + RV__PRODUCER_ID_EXPIRATION_MS + 1, 1, &st), 0);
    out.len = 0;
    assert_int_equal(rv__log_read(fx->log, 0, 1, &out, NULL, NULL, 0), 0);
    assert_int_equal(rv__batch_validate(&h, out.data, out.len), 0);
    assert_int_equal(h.base_offset, 2);
    rv__buf_free(&out);
    scan(fx, &s);
    assert_int_equal(s.count, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latest_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstones_after_horizon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirty_ratio_and_lag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_during_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuilt_batch_keeps_offset_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_producer_last_batch_kept_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
