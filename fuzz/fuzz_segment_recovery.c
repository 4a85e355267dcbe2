/* fuzz/fuzz_segment_recovery.c: libFuzzer target for log recovery
 * (broker/log/log.c, broker/log/segment.c): the input becomes the segment
 * file 00000000000000000000.log of a partition folder, which is opened
 * with rv__log_open(), read to the high watermark, appended to, closed
 * and reopened.
 *
 * Input layout (an empty input is an empty segment):
 *   byte 0      flags, below
 *   [INDEX_FILES] u16 BE index length, u16 BE time index length, then the
 *               bytes of 00000000000000000000.index and .timeindex
 *   the rest    the .log file (with FIX_CRCS, every batch's CRC-32C is
 *               recomputed first so mutations get past the checksum)
 *
 * Without TRUSTED the recovery point is 0, so every batch is validated and
 * the target checks recovery's promise: each batch a read returns below
 * the HW passes rv__batch_validate(), offsets only grow, reads make
 * progress, a valid append then succeeds at the HW, and a reopen after the
 * clean close keeps everything. With TRUSTED an empty second segment at
 * TRUST_BASE follows and the recovery point is TRUST_BASE, so the first
 * segment is loaded through its index files and a header walk instead of
 * a full check (Kafka's behaviour for flushed segments): then only memory
 * safety and "no crash" are checked, because unflushed-style corruption in
 * a flushed region is by design not detected there. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/log.h"
#include "broker/log/log_config.h"
#include "common/fileio.h"
#include "common/record_batch.h"
#include "fuzz/fuzzutil.h"

#define F_INDEX_FILES 0x01 /* write .index/.timeindex from the input */
#define F_TRUSTED 0x02     /* second segment + recovery point past the first */
#define F_FIX_CRCS 0x04    /* recompute batch CRCs in the .log bytes */
#define F_DENSE_INDEX 0x08 /* index.interval.bytes=0: an index entry per batch */
#define F_SMALL_INDEX 0x10 /* segment.index.bytes=64: the index fills up */
#define F_COMPACT 0x20     /* cleanup.policy=compact: appends need keys */
#define F_APPEND_TIME 0x40 /* message.timestamp.type=LogAppendTime */

#define TRUST_BASE INT64_C(1000000)
#define READ_MAX_BYTES 4096
#define MAX_READS 100000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    rvf_quiet_logs();
    return 0;
}

static size_t take_u16(const uint8_t **p, size_t *left) {
    if (*left < 2) {
        *left = 0;
        return 0;
    }
    size_t v = (size_t)((*p)[0] << 8 | (*p)[1]);
    *p += 2;
    *left -= 2;
    return v;
}

/* Reads [lso, hw) in READ_MAX_BYTES steps. With `strict`, checks every
 * batch as recovery promises. Returns the number of batches seen. */
static long read_all(rv__log_t *log, bool strict) {
    int64_t lso = rv__log_start_offset(log), hw = rv__log_high_watermark(log);
    rvf_check(lso <= hw && hw == rv__log_end_offset(log));
    rv__buf_t out = RV__BUF_INIT;
    int64_t off = lso, last_seen = -1;
    long batches = 0;
    char errstr[512];
    for (int i = 0; i < MAX_READS && off < hw; i++) {
        rv__read_info_t info;
        out.len = 0;
        rv_err_t err = rv__log_read(log, off, READ_MAX_BYTES, &out, &info, errstr, sizeof errstr);
        if (strict)
            rvf_check(err == RV_ERR_NO_ERROR);
        if (err)
            break;
        rvf_check(info.high_watermark == hw && info.log_start_offset == lso);
        if (out.len == 0) {
            /* Below the HW of a recovered log something is always there. */
            if (strict)
                rvf_check(!"read below the high watermark returned nothing");
            break;
        }
        size_t pos = 0;
        while (pos < out.len) {
            rv__batch_hdr_t h;
            rv_err_t verr = rv__batch_validate(&h, out.data + pos, out.len - pos);
            if (strict)
                rvf_check(verr == RV_ERR_NO_ERROR);
            if (verr) {
                /* A trusted segment may hold bad CRCs; layout is checked. */
                rvf_check(rv__batch_parse_header(&h, out.data + pos, out.len - pos) ==
                          RV_ERR_NO_ERROR);
            }
            int64_t last = h.base_offset + h.last_offset_delta;
            if (strict) {
                rvf_check(h.base_offset > last_seen && last < hw);
                rvf_check(pos > 0 || last >= off);
            }
            last_seen = last;
            rv__record_iter_t it;
            if (rv__record_iter_init(&it, out.data + pos, rv__batch_size(&h)) == RV_ERR_NO_ERROR) {
                rv__record_t rec;
                while (rv__record_iter_next(&it, &rec) == 1)
                    ;
            }
            pos += rv__batch_size(&h);
            batches++;
        }
        rvf_check(pos == out.len);
        if (strict)
            rvf_check(info.next_offset == last_seen + 1);
        if (info.next_offset <= off)
            break;
        off = info.next_offset;
    }
    rv__buf_free(&out);
    return batches;
}

static void lookups(rv__log_t *log) {
    int64_t lso = rv__log_start_offset(log), hw = rv__log_high_watermark(log);
    const int64_t probes[] = {INT64_MIN, -1, 0, 1, 1700000000000, INT64_MAX};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int64_t off, ts;
        /* The answer is a readable offset: at or above the log start, below
         * the HW (a record whose delta points past its batch is skipped). */
        if (rv__log_offset_for_timestamp(log, probes[i], &off, &ts) == RV_ERR_NO_ERROR)
            rvf_check(off == -1 || (off >= lso && off < hw));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t flags = size ? data[0] : 0;
    const uint8_t *p = size ? data + 1 : data;
    size_t left = size ? size - 1 : 0;
    const uint8_t *idx = NULL, *tidx = NULL;
    size_t idx_len = 0, tidx_len = 0;
    if (flags & F_INDEX_FILES) {
        idx_len = take_u16(&p, &left);
        tidx_len = take_u16(&p, &left);
        idx_len = idx_len < left ? idx_len : left;
        idx = p;
        p += idx_len;
        left -= idx_len;
        tidx_len = tidx_len < left ? tidx_len : left;
        tidx = p;
        p += tidx_len;
        left -= tidx_len;
    }
    bool strict = !(flags & F_TRUSTED);

    char *root = rvf_tmpdir();
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/t-0", root);
    if (rv__io_mkdirs(dir, 0755) < 0)
        abort();

    uint8_t *log_bytes = malloc(left ? left : 1);
    if (!log_bytes)
        abort();
    memcpy(log_bytes, p, left);
    if (flags & F_FIX_CRCS)
        rvf_fix_crcs(log_bytes, left);
    snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
    rvf_write_file(path, log_bytes, left);
    free(log_bytes);
    if (flags & F_INDEX_FILES) {
        snprintf(path, sizeof path, "%s/%020d.index", dir, 0);
        rvf_write_file(path, idx, idx_len);
        snprintf(path, sizeof path, "%s/%020d.timeindex", dir, 0);
        rvf_write_file(path, tidx, tidx_len);
    }
    int64_t recovery_point = 0;
    if (flags & F_TRUSTED) {
        snprintf(path, sizeof path, "%s/%020" PRId64 ".log", dir, TRUST_BASE);
        rvf_write_file(path, NULL, 0);
        recovery_point = TRUST_BASE;
    }

    rv__log_config_t cfg;
    rv__log_config_defaults(&cfg);
    if (flags & F_DENSE_INDEX)
        cfg.index_interval_bytes = 0;
    if (flags & F_SMALL_INDEX)
        cfg.segment_index_bytes = 64;
    if (flags & F_COMPACT) {
        cfg.cleanup_compact = true;
        cfg.cleanup_delete = false;
    }
    cfg.log_append_time = (flags & F_APPEND_TIME) != 0;

    char errstr[512];
    rv__log_t *log = NULL;
    rv_err_t err = rv__log_open(&log, dir, &cfg, recovery_point, -1, errstr, sizeof errstr);
    /* Whatever the files hold, recovery cuts it down to something that
     * opens: a broker must not refuse to start over a corrupt segment. */
    if (err)
        fprintf(stderr, "rv__log_open: %s: %s\n", rv_err_name(err), errstr);
    rvf_check(err == RV_ERR_NO_ERROR);
    read_all(log, strict);
    lookups(log);

    /* An append at the end of what recovery kept. */
    int64_t hw = rv__log_high_watermark(log);
    rv__buf_t batch = RV__BUF_INIT;
    rvf_check(rvf_make_batch(&batch, 3, 1700000000000) == 0);
    rv__append_info_t info;
    err = rv__log_append(log, batch.data, batch.len, 0, &info, errstr, sizeof errstr);
    if (strict && hw < INT64_MAX / 2) {
        if (err)
            fprintf(stderr, "rv__log_append: %s: %s\n", rv_err_name(err), errstr);
        rvf_check(err == RV_ERR_NO_ERROR && info.base_offset == hw && info.last_offset == hw + 2);
        rvf_check(rv__log_high_watermark(log) == hw + 3);
    }
    rv__buf_free(&batch);
    long batches = read_all(log, strict);
    int64_t hw_closed = rv__log_high_watermark(log);
    rv__log_close(log);

    if (strict) {
        /* Everything a clean close left must survive a full recovery. */
        log = NULL;
        err = rv__log_open(&log, dir, &cfg, 0, -1, errstr, sizeof errstr);
        rvf_check(err == RV_ERR_NO_ERROR);
        rvf_check(rv__log_high_watermark(log) == hw_closed);
        rvf_check(read_all(log, true) == batches);
        rv__log_close(log);
    }

    rvf_rmtree(root);
    free(root);
    return 0;
}
