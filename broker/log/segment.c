/* broker/log/segment.c: one log segment: the .log file of RecordBatch v2,
 * its sparse offset and time indexes, recovery of a single segment, and
 * the header scans that turn an offset or a timestamp into a file
 * position. The partition (broker/log/log.c) decides when to roll,
 * flush and delete; this file only knows its own three files.
 *
 * DESIGN
 * Files (all big-endian, as Kafka writes them):
 *   <base>.log        batches back to back, exactly as received (base
 *                     offset rewritten by the log); no other framing.
 *   <base>.index      8-byte entries: relative offset i32 | position i32.
 *   <base>.timeindex  12-byte entries: timestamp i64 | relative offset i32.
 * <base> is the segment's first offset, zero-padded to 20 digits.
 *
 * Index rule (Kafka's LogSegment.append): after a batch is written, when
 * more than index.interval.bytes were appended since the last entry, the
 * offset index gets (last offset of this batch, position of this batch)
 * and, if the largest timestamp so far grew past the last time index
 * entry, the time index gets (largest timestamp so far, offset of the
 * batch that holds it). So there is at most one entry per batch, entries
 * point at batch starts, and both indexes are strictly increasing. When
 * the segment stops being active, one last time index entry records its
 * largest timestamp, so a loaded segment knows it without a scan.
 *
 * Invariants:
 *  - size is at a batch boundary; bytes past it are garbage from a failed
 *    write and are overwritten by the next append (pwrite at size).
 *  - idx/tidx never move (allocated at full capacity); entries below
 *    idx_cnt/tidx_cnt never change, so a reader may search a count it
 *    read under the log's lock without holding it.
 *  - the index files hold a prefix of the in-memory entries
 *    (idx_written/tidx_written); for inactive segments written out in full
 *    at the flush that follows the roll.
 *
 * Recovery (rv__segment_open with recover): walk the file from byte 0,
 * reading in large chunks; each batch must have a whole 61-byte header,
 * magic 2, a length inside the file, a matching CRC-32C, offsets above the
 * previous batch and below the next segment's base. The file is cut at
 * the first batch that fails, and the indexes are rebuilt from the walk. */
#include "broker/log/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errstr.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/logger.h"

#define RECOVERY_CHUNK (1u << 20)
#define HDR_CHUNK 8192

void rv__segment_file_name(char *buf, size_t size, const char *dir, int64_t base, const char *ext) {
    snprintf(buf, size, "%s/%020" PRId64 "%s", dir, base, ext);
}

static void ext_name(char *buf, size_t size, const rv__segment_t *seg, const char *ext) {
    snprintf(buf, size, "%s%s", seg->path, ext);
}

static rv__segment_t *seg_alloc(const char *dir, int64_t base, size_t idx_cap) {
    rv__segment_t *seg = calloc(1, sizeof *seg);
    if (!seg)
        return NULL;
    char name[4096];
    rv__segment_file_name(name, sizeof name, dir, base, "");
    seg->path = strdup(name);
    if (idx_cap < 1)
        idx_cap = 1;
    seg->idx_cap = idx_cap;
    /* One spare time index slot so the final entry at seal always fits. */
    seg->tidx_cap = idx_cap + 1;
    seg->idx = malloc(seg->idx_cap * sizeof *seg->idx);
    seg->tidx = malloc(seg->tidx_cap * sizeof *seg->tidx);
    if (!seg->path || !seg->idx || !seg->tidx) {
        free(seg->path);
        free(seg->idx);
        free(seg->tidx);
        free(seg);
        return NULL;
    }
    seg->fd = -1;
    seg->base_offset = base;
    seg->next_offset = base;
    seg->max_timestamp = -1;
    seg->offset_of_max_timestamp = -1;
    seg->first_batch_timestamp = -1;
    seg->created_ms = rv__now_ms();
    atomic_init(&seg->refcnt, 1);
    atomic_init(&seg->fate, RV__SEG_LIVE);
    return seg;
}

static void seg_free(rv__segment_t *seg) {
    if (seg->fd >= 0)
        close(seg->fd);
    free(seg->path);
    free(seg->idx);
    free(seg->tidx);
    free(seg);
}

static int create_empty(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

rv_err_t rv__segment_create(rv__segment_t **out, const char *dir, int64_t base, size_t idx_cap,
                            int64_t now_ms, char *errstr, size_t errstr_size) {
    *out = NULL;
    rv__segment_t *seg = seg_alloc(dir, base, idx_cap);
    if (!seg)
        return RV_ERR__NOMEM;
    seg->created_ms = now_ms;
    char name[4096];
    ext_name(name, sizeof name, seg, ".log");
    seg->fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (seg->fd < 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to create segment %s: %s", name,
                       strerror(errno));
        seg_free(seg);
        return RV_ERR__IO;
    }
    const char *exts[] = {".index", ".timeindex"};
    for (int i = 0; i < 2; i++) {
        ext_name(name, sizeof name, seg, exts[i]);
        if (create_empty(name) < 0) {
            rv__errstr_set(errstr, errstr_size, "Failed to create index %s: %s", name,
                           strerror(errno));
            ext_name(name, sizeof name, seg, ".log");
            unlink(name);
            seg_free(seg);
            return RV_ERR__IO;
        }
    }
    *out = seg;
    return RV_ERR_NO_ERROR;
}

void rv__segment_account_batch(rv__segment_t *seg, int64_t pos, int64_t size, int64_t last_offset,
                               int64_t max_timestamp, int32_t index_interval) {
    if (pos == 0)
        seg->first_batch_timestamp = max_timestamp;
    if (max_timestamp > seg->max_timestamp) {
        seg->max_timestamp = max_timestamp;
        seg->offset_of_max_timestamp = last_offset;
    }
    if (seg->bytes_since_index > index_interval) {
        if (seg->idx_cnt < seg->idx_cap) {
            seg->idx[seg->idx_cnt].rel = (int32_t)(last_offset - seg->base_offset);
            seg->idx[seg->idx_cnt].pos = (int32_t)pos;
            seg->idx_cnt++;
        }
        if (seg->max_timestamp >= 0 && seg->tidx_cnt + 1 < seg->tidx_cap &&
            (seg->tidx_cnt == 0 || seg->tidx[seg->tidx_cnt - 1].ts < seg->max_timestamp)) {
            seg->tidx[seg->tidx_cnt].ts = seg->max_timestamp;
            seg->tidx[seg->tidx_cnt].rel =
                (int32_t)(seg->offset_of_max_timestamp - seg->base_offset);
            seg->tidx_cnt++;
        }
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += size;
    seg->size = pos + size;
    seg->next_offset = last_offset + 1;
}

void rv__segment_seal(rv__segment_t *seg) {
    if (seg->max_timestamp >= 0 && seg->tidx_cnt < seg->tidx_cap &&
        (seg->tidx_cnt == 0 || seg->tidx[seg->tidx_cnt - 1].ts < seg->max_timestamp)) {
        seg->tidx[seg->tidx_cnt].ts = seg->max_timestamp;
        seg->tidx[seg->tidx_cnt].rel = (int32_t)(seg->offset_of_max_timestamp - seg->base_offset);
        seg->tidx_cnt++;
    }
}

bool rv__segment_index_room(const rv__segment_t *seg, size_t entries) {
    /* The time index keeps one slot for the entry rv__segment_seal adds. */
    return seg->idx_cnt + entries <= seg->idx_cap && seg->tidx_cnt + entries < seg->tidx_cap;
}

rv_err_t rv__segment_write(rv__segment_t *seg, const struct iovec *iov, int iovcnt, char *errstr,
                           size_t errstr_size) {
    if (rv__io_pwritev_all(seg->fd, iov, iovcnt, (off_t)seg->size) == 0)
        return RV_ERR_NO_ERROR;
    int e = errno;
    size_t len = 0;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    /* Cut the torn bytes so the file ends on a batch boundary again; if that
     * fails too, the next append overwrites them and recovery would cut
     * whatever is left past the last good batch. */
    if (ftruncate(seg->fd, (off_t)seg->size) < 0)
        rv__log_warn("LOG", "%s.log: cannot cut a failed write back to %" PRId64 " bytes: %s",
                     seg->path, seg->size, strerror(errno));
    rv__errstr_set(errstr, errstr_size, "Write of %zu bytes to %s.log failed: %s", len, seg->path,
                   strerror(e));
    return RV_ERR__IO;
}

int64_t rv__segment_index_lookup(const rv__segment_t *seg, size_t idx_cnt, int64_t offset) {
    int64_t rel = offset - seg->base_offset;
    if (idx_cnt == 0 || rel < seg->idx[0].rel)
        return 0;
    size_t lo = 0, hi = idx_cnt; /* find the last entry with entry.rel <= rel */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->idx[mid].rel <= rel)
            lo = mid;
        else
            hi = mid;
    }
    return seg->idx[lo].pos;
}

int64_t rv__segment_time_lookup(const rv__segment_t *seg, size_t idx_cnt, size_t tidx_cnt,
                                int64_t ts) {
    /* The last entry with a timestamp strictly below ts: every record up to
     * its offset is older than ts, so the search may start at that batch.
     * (Kafka uses <=, which can skip an earlier record with exactly ts.) */
    if (tidx_cnt == 0 || seg->tidx[0].ts >= ts)
        return 0;
    size_t lo = 0, hi = tidx_cnt;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg->tidx[mid].ts < ts)
            lo = mid;
        else
            hi = mid;
    }
    return rv__segment_index_lookup(seg, idx_cnt, seg->base_offset + seg->tidx[lo].rel);
}

/* A small read-ahead window over the file for header scans. */
typedef struct hdr_reader_s {
    int fd;
    int64_t start; /* file position of buf[0] */
    size_t len;
    uint8_t buf[HDR_CHUNK];
} hdr_reader_t;

/* Makes [pos, pos+61) available; returns a pointer or NULL (errno / short). */
static const uint8_t *hdr_at(hdr_reader_t *r, int64_t pos, int64_t limit) {
    if (pos + RV__BATCH_HEADER_SIZE > limit)
        return NULL;
    if (pos >= r->start && pos + RV__BATCH_HEADER_SIZE <= r->start + (int64_t)r->len)
        return r->buf + (pos - r->start);
    size_t want = (size_t)(limit - pos < HDR_CHUNK ? limit - pos : HDR_CHUNK);
    ssize_t n;
    do
        n = pread(r->fd, r->buf, want, (off_t)pos);
    while (n < 0 && errno == EINTR);
    if (n < RV__BATCH_HEADER_SIZE) {
        r->len = 0;
        return NULL;
    }
    r->start = pos;
    r->len = (size_t)n;
    return r->buf;
}

int rv__segment_find_batch(const rv__segment_t *seg, int64_t offset, int64_t pos, int64_t limit,
                           int64_t *bpos, rv__batch_hdr_t *hdr) {
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r)
        return -1;
    r->fd = seg->fd;
    r->start = 0;
    r->len = 0;
    int rc = 0;
    while (pos < limit) {
        const uint8_t *p = hdr_at(r, pos, limit);
        /* limit is a batch boundary: a batch crossing it means the scan
         * started mid-batch (a corrupt index entry), and its length must
         * not reach callers that allocate by it. */
        if (!p || rv__batch_read_header(hdr, p, RV__BATCH_HEADER_SIZE) ||
            (int64_t)rv__batch_size(hdr) > limit - pos) {
            rc = -1;
            break;
        }
        if (hdr->base_offset + hdr->last_offset_delta >= offset) {
            *bpos = pos;
            rc = 1;
            break;
        }
        pos += (int64_t)rv__batch_size(hdr);
    }
    free(r);
    return rc;
}

static int write_entries(const char *path, const uint8_t *p, size_t n, size_t at, size_t total,
                         bool final) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = 0;
    if (n && rv__io_pwrite_all(fd, p, n, (off_t)at) < 0)
        rc = -1;
    if (!rc && final) {
        if (ftruncate(fd, (off_t)total) < 0 || rv__io_fsync(fd) < 0)
            rc = -1;
    }
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int rv__segment_write_indexes(rv__segment_t *seg, size_t idx_cnt, size_t tidx_cnt, bool final) {
    size_t ifrom = seg->idx_written <= idx_cnt ? seg->idx_written : 0;
    size_t tfrom = seg->tidx_written <= tidx_cnt ? seg->tidx_written : 0;
    size_t in = (idx_cnt - ifrom) * RV__INDEX_ENTRY_SIZE;
    size_t tn = (tidx_cnt - tfrom) * RV__TIMEINDEX_ENTRY_SIZE;
    if (!in && !tn && !final)
        return 0;
    uint8_t *buf = malloc(in + tn + 1);
    if (!buf)
        return -1;
    uint8_t *p = buf;
    for (size_t i = ifrom; i < idx_cnt; i++, p += RV__INDEX_ENTRY_SIZE) {
        rv__wbe32(p, (uint32_t)seg->idx[i].rel);
        rv__wbe32(p + 4, (uint32_t)seg->idx[i].pos);
    }
    for (size_t i = tfrom; i < tidx_cnt; i++, p += RV__TIMEINDEX_ENTRY_SIZE) {
        rv__wbe64(p, (uint64_t)seg->tidx[i].ts);
        rv__wbe32(p + 8, (uint32_t)seg->tidx[i].rel);
    }
    char name[4096];
    int rc = 0;
    ext_name(name, sizeof name, seg, ".index");
    if (write_entries(name, buf, in, ifrom * RV__INDEX_ENTRY_SIZE, idx_cnt * RV__INDEX_ENTRY_SIZE,
                      final) < 0)
        rc = -1;
    ext_name(name, sizeof name, seg, ".timeindex");
    if (!rc && write_entries(name, buf + in, tn, tfrom * RV__TIMEINDEX_ENTRY_SIZE,
                             tidx_cnt * RV__TIMEINDEX_ENTRY_SIZE, final) < 0)
        rc = -1;
    free(buf);
    if (!rc) {
        seg->idx_written = idx_cnt;
        seg->tidx_written = tidx_cnt;
    }
    return rc;
}

/* Loads both index files; returns 0 when they look sane for a log file of
 * `log_size` bytes, -1 when they must be rebuilt. */
static int load_indexes(rv__segment_t *seg, int64_t log_size) {
    char name[4096];
    rv__buf_t b = RV__BUF_INIT, tb = RV__BUF_INIT;
    int rc = -1;
    ext_name(name, sizeof name, seg, ".index");
    if (rv__io_read_file(name, &b, NULL, 0))
        goto out;
    ext_name(name, sizeof name, seg, ".timeindex");
    if (rv__io_read_file(name, &tb, NULL, 0))
        goto out;
    if (b.len % RV__INDEX_ENTRY_SIZE || tb.len % RV__TIMEINDEX_ENTRY_SIZE)
        goto out;
    size_t n = b.len / RV__INDEX_ENTRY_SIZE, tn = tb.len / RV__TIMEINDEX_ENTRY_SIZE;
    if (n > seg->idx_cap || tn + 1 > seg->tidx_cap)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int32_t rel = (int32_t)rv__be32(b.data + i * 8),
                pos = (int32_t)rv__be32(b.data + i * 8 + 4);
        if (rel < 0 || pos < 0 || pos >= log_size ||
            (i && (rel <= seg->idx[i - 1].rel || pos <= seg->idx[i - 1].pos)))
            goto out;
        seg->idx[i].rel = rel;
        seg->idx[i].pos = pos;
    }
    for (size_t i = 0; i < tn; i++) {
        int64_t ts = (int64_t)rv__be64(tb.data + i * 12);
        int32_t rel = (int32_t)rv__be32(tb.data + i * 12 + 8);
        if (rel < 0 || (i && (ts <= seg->tidx[i - 1].ts || rel < seg->tidx[i - 1].rel)))
            goto out;
        seg->tidx[i].ts = ts;
        seg->tidx[i].rel = rel;
    }
    seg->idx_cnt = seg->idx_written = n;
    seg->tidx_cnt = seg->tidx_written = tn;
    rc = 0;
out:
    rv__buf_free(&b);
    rv__buf_free(&tb);
    return rc;
}

/* Finds the end of a segment whose indexes were loaded: walks headers from
 * the last offset index entry. Returns 0, or -1 when a header is bad (the
 * caller then recovers the segment). */
static int load_tail(rv__segment_t *seg, int64_t log_size, int64_t max_offset) {
    hdr_reader_t *r = malloc(sizeof *r);
    if (!r)
        return -1;
    r->fd = seg->fd;
    r->start = 0;
    r->len = 0;
    int64_t pos = seg->idx_cnt ? seg->idx[seg->idx_cnt - 1].pos : 0;
    int rc = 0;
    rv__batch_hdr_t h;
    const uint8_t *p = hdr_at(r, 0, log_size);
    if (p && !rv__batch_read_header(&h, p, RV__BATCH_HEADER_SIZE))
        seg->first_batch_timestamp = h.max_timestamp;
    if (seg->tidx_cnt) {
        seg->max_timestamp = seg->tidx[seg->tidx_cnt - 1].ts;
        seg->offset_of_max_timestamp = seg->base_offset + seg->tidx[seg->tidx_cnt - 1].rel;
    }
    while (pos < log_size) {
        p = hdr_at(r, pos, log_size);
        if (!p || rv__batch_read_header(&h, p, RV__BATCH_HEADER_SIZE) ||
            pos + (int64_t)rv__batch_size(&h) > log_size || h.base_offset < seg->next_offset ||
            h.last_offset_delta >= max_offset - h.base_offset) {
            rc = -1;
            break;
        }
        if (h.max_timestamp > seg->max_timestamp) {
            seg->max_timestamp = h.max_timestamp;
            seg->offset_of_max_timestamp = h.base_offset + h.last_offset_delta;
        }
        seg->next_offset = h.base_offset + h.last_offset_delta + 1;
        pos += (int64_t)rv__batch_size(&h);
    }
    free(r);
    seg->size = pos;
    return rc;
}

/* Validates every batch from byte 0 and rebuilds the indexes; cuts the file
 * at the first bad batch. */
static rv_err_t recover(rv__segment_t *seg, int64_t log_size, int32_t index_interval,
                        int64_t max_offset, int64_t *truncated, char *errstr, size_t errstr_size) {
    seg->idx_cnt = seg->tidx_cnt = seg->idx_written = seg->tidx_written = 0;
    seg->size = 0;
    seg->next_offset = seg->base_offset;
    seg->max_timestamp = seg->offset_of_max_timestamp = seg->first_batch_timestamp = -1;
    seg->bytes_since_index = 0;

    size_t cap = log_size < RECOVERY_CHUNK ? (size_t)log_size + 1 : RECOVERY_CHUNK;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return RV_ERR__NOMEM;
    int64_t bstart = 0; /* file position of buf[0] */
    size_t blen = 0;
    int64_t pos = 0;
    const char *why = NULL;
    rv_err_t err = RV_ERR_NO_ERROR;
    while (pos < log_size) {
        int64_t left = log_size - pos;
        if (left < RV__BATCH_HEADER_SIZE) {
            why = "incomplete batch header";
            break;
        }
        /* Refill when the header is not in the buffer. */
        if (pos + RV__BATCH_HEADER_SIZE > bstart + (int64_t)blen) {
            size_t want = left < (int64_t)cap ? (size_t)left : cap;
            if (rv__io_pread_all(seg->fd, buf, want, (off_t)pos) < 0) {
                rv__errstr_set(errstr, errstr_size, "Read of %s.log at %" PRId64 " failed: %s",
                               seg->path, pos, strerror(errno));
                err = RV_ERR__IO;
                break;
            }
            bstart = pos;
            blen = want;
        }
        rv__batch_hdr_t h;
        if (rv__batch_read_header(&h, buf + (pos - bstart), RV__BATCH_HEADER_SIZE)) {
            why = "bad magic or length";
            break;
        }
        int64_t size = (int64_t)rv__batch_size(&h);
        if (size > left) {
            why = "batch extends past the end of the file";
            break;
        }
        if (pos + size > bstart + (int64_t)blen) {
            if ((size_t)size > cap) {
                uint8_t *nb = realloc(buf, (size_t)size);
                if (!nb) {
                    err = RV_ERR__NOMEM;
                    break;
                }
                buf = nb;
                cap = (size_t)size;
            }
            size_t want = left < (int64_t)cap ? (size_t)left : cap;
            if (rv__io_pread_all(seg->fd, buf, want, (off_t)pos) < 0) {
                rv__errstr_set(errstr, errstr_size, "Read of %s.log at %" PRId64 " failed: %s",
                               seg->path, pos, strerror(errno));
                err = RV_ERR__IO;
                break;
            }
            bstart = pos;
            blen = want;
        }
        if (rv__batch_validate(&h, buf + (pos - bstart), (size_t)size)) {
            why = "CRC mismatch";
            break;
        }
        /* base_offset is outside the CRC; compare before adding so a huge
         * one cannot overflow (base_offset >= next_offset >= 0 here). */
        if (h.base_offset < seg->next_offset || h.last_offset_delta >= max_offset - h.base_offset ||
            h.base_offset + h.last_offset_delta - seg->base_offset > INT32_MAX) {
            why = "offsets out of order";
            break;
        }
        int64_t last = h.base_offset + h.last_offset_delta;
        /* The indexes have room for every batch the file can hold (see
         * rv__segment_open). */
        rv__segment_account_batch(seg, pos, size, last, h.max_timestamp, index_interval);
        pos += size;
    }
    free(buf);
    if (err)
        return err;
    *truncated = log_size - pos;
    if (pos < log_size) {
        rv__log_warn("RECOVERY",
                     "%s.log: invalid batch at byte %" PRId64 " (%s): truncating %" PRId64
                     " bytes; the segment now ends at offset %" PRId64,
                     seg->path, pos, why, log_size - pos, seg->next_offset);
        if (ftruncate(seg->fd, (off_t)pos) < 0) {
            rv__errstr_set(errstr, errstr_size,
                           "Failed to truncate %s.log to %" PRId64 " bytes: %s", seg->path, pos,
                           strerror(errno));
            return RV_ERR__IO;
        }
    }
    seg->size = pos;
    if (rv__segment_write_indexes(seg, seg->idx_cnt, seg->tidx_cnt, true) < 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to write the indexes of %s: %s", seg->path,
                       strerror(errno));
        return RV_ERR__IO;
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__segment_open(rv__segment_t **out, const char *dir, int64_t base, bool do_recover,
                          int32_t index_interval, size_t idx_cap, int64_t max_offset,
                          int64_t *truncated, char *errstr, size_t errstr_size) {
    *out = NULL;
    *truncated = 0;
    char name[4096];
    rv__segment_file_name(name, sizeof name, dir, base, ".log");
    int fd = open(name, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to open segment %s: %s", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return RV_ERR__IO;
    }
    int64_t log_size = (int64_t)st.st_size;
    /* Room for every entry the file can need: one per batch at most, and
     * batches are at least 61 bytes. */
    int64_t per = (int64_t)index_interval + 1 > RV__BATCH_HEADER_SIZE ? (int64_t)index_interval + 1
                                                                      : RV__BATCH_HEADER_SIZE;
    size_t need = (size_t)(log_size / per) + 2;
    rv__segment_t *seg = seg_alloc(dir, base, need > idx_cap ? need : idx_cap);
    if (!seg) {
        close(fd);
        return RV_ERR__NOMEM;
    }
    seg->fd = fd;
    seg->created_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;

    rv_err_t err = RV_ERR_NO_ERROR;
    if (!do_recover) {
        if (load_indexes(seg, log_size) < 0 || load_tail(seg, log_size, max_offset) < 0) {
            rv__log_warn("RECOVERY", "%s: index files missing or inconsistent: rebuilding",
                         seg->path);
            do_recover = true;
        } else {
            /* Indexes say nothing about bytes since the last entry; count
             * from it so a reopened segment indexes at the same pace. */
            seg->bytes_since_index =
                seg->size - (seg->idx_cnt ? seg->idx[seg->idx_cnt - 1].pos : 0);
            seg->synced_size = seg->size;
            seg->indexes_synced = true;
        }
    }
    if (do_recover)
        err = recover(seg, log_size, index_interval, max_offset, truncated, errstr, errstr_size);
    if (err) {
        seg_free(seg);
        return err;
    }
    *out = seg;
    return RV_ERR_NO_ERROR;
}

void rv__segment_ref(rv__segment_t *seg) {
    atomic_fetch_add(&seg->refcnt, 1);
}

void rv__segment_unref(rv__segment_t *seg) {
    if (!seg || atomic_fetch_sub(&seg->refcnt, 1) != 1)
        return;
    if (atomic_load(&seg->fate) == RV__SEG_DELETE) {
        const char *exts[] = {".log.deleted", ".index.deleted", ".timeindex.deleted"};
        char name[4096];
        for (int i = 0; i < 3; i++) {
            ext_name(name, sizeof name, seg, exts[i]);
            unlink(name);
        }
    }
    seg_free(seg);
}

void rv__segment_mark_deleted(rv__segment_t *seg) {
    const char *exts[] = {".log", ".index", ".timeindex"};
    char from[4096], to[4200];
    for (int i = 0; i < 3; i++) {
        ext_name(from, sizeof from, seg, exts[i]);
        snprintf(to, sizeof to, "%s.deleted", from);
        if (rv__io_rename(from, to) < 0 && errno != ENOENT)
            unlink(from);
    }
    atomic_store(&seg->fate, RV__SEG_DELETE);
}
