/* broker/log/cleaner.c: log compaction for cleanup.policy=compact, as
 * Kafka's LogCleaner: keep only the latest record per key in the inactive
 * segments, keeping offsets (gaps appear), and drop tombstones once their
 * delete horizon has passed. The partition's state and locks are in
 * broker/log/log_internal.h; the file layout in docs/LOG_FORMAT.md.
 *
 * DESIGN
 * A pass (rv__log_clean):
 *  1. Under the lock, pick the cleanable range: the inactive segments up to
 *     the first one whose newest record is younger than
 *     min.compaction.lag.ms. Its dirty part starts at the cleaner
 *     checkpoint (first offset not yet cleaned, kept in the log and in the
 *     file `cleaner-offset-checkpoint`). Skip the pass when
 *     dirty bytes / all bytes < min.cleanable.dirty.ratio (unless forced).
 *  2. Build the offset map: key -> offset of its latest record, over the
 *     dirty segments (keys compared in full, not by hash alone).
 *  3. Rewrite each cleanable segment into `<base>.log.cleaned` (plus
 *     .index.cleaned / .timeindex.cleaned, built with the same sparse rule
 *     as appends): a record stays when the map has no newer offset for its
 *     key. A batch whose records all stay is copied byte for byte; a batch
 *     that lost records is rebuilt with its original base offset,
 *     last_offset_delta, producer id/epoch, base sequence and leader
 *     epoch, so its offset and sequence ranges do not change. Control
 *     batches are kept whole. Compressed batches are decompressed to read their keys;
 *     one that lost records is rebuilt compressed with its own codec
 *     (Kafka recompresses with the topic's compression.type; keeping the
 *     producer's codec needs no topic config here and reads the same).
 *  4. Tombstones follow KIP-534: the first pass that keeps a tombstone
 *     writes its batch with attribute RV__ATTR_DELETE_HORIZON and
 *     base_timestamp = now + delete.retention.ms (record timestamp deltas
 *     are relative to it, so record timestamps do not change); a later pass
 *     after that horizon drops the tombstone.
 *  5. A batch that keeps no records goes, except the last batch of an
 *     idempotent producer (producer id >= 0) in the cleanable range: it
 *     holds the producer's last sequence and epoch, which the broker's
 *     producer state is rebuilt from after a restart, so it stays as an
 *     empty batch (header only, records_count 0, its offsets, producer id,
 *     epoch and sequences unchanged), as Kafka's cleaner keeps the last
 *     batch of an active producer (BatchRetention.RETAIN_EMPTY). Without
 *     it a restarted broker forgets the producer and writes its retry a
 *     second time. The pass that empties the batch marks it with
 *     RV__ATTR_DELETE_HORIZON and base_timestamp = now +
 *     producer.id.expiration.ms (RV__PRODUCER_ID_EXPIRATION_MS): the
 *     producer had not written since that pass, so after that time it has
 *     expired here as it would in memory, and a later pass drops the empty
 *     batch (Kafka keeps one only while its producer is active, and times
 *     the removal of transaction markers with the same field). The last
 *     batch is found by a pass over the headers of the whole cleanable
 *     range, before the rewrite; one whose producer wrote again past the
 *     cleanable range is kept until a pass covers the newer batch.
 *  6. Swap (crash-safe): fsync the .cleaned files, rename them to .swap with
 *     the .log last (its .log.swap is the commit point), then rename the
 *     .swap files over the live names, .log last, and fsync the folder.
 *     Recovery completes a swap whose .log.swap exists and removes
 *     .cleaned files and uncommitted index swaps, so a crash leaves either
 *     the old or the new segment. The in-memory segment is replaced under
 *     both locks; readers still holding the old one keep reading its (now
 *     unlinked) file.
 * Appends and reads go on during a pass; only the swap takes the locks. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/log_internal.h"
#include "common/fileio.h"
#include "common/logger.h"
#include "common/record_batch.h"

#define READ_CHUNK (1u << 20)

/* ---- offset map: key -> latest offset ---- */

typedef struct omap_slot_s {
    uint64_t hash; /* 0 = empty */
    size_t koff;   /* key bytes at keys.data + koff */
    int32_t klen;
    int64_t offset;
} omap_slot_t;

typedef struct omap_s {
    omap_slot_t *slots;
    size_t cap, cnt;
    rv__buf_t keys;
} omap_t;

static uint64_t key_hash(const uint8_t *k, int32_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (int32_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static omap_slot_t *omap_find(omap_t *m, uint64_t h, const uint8_t *k, int32_t n) {
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        omap_slot_t *s = &m->slots[i];
        if (!s->hash ||
            (s->hash == h && s->klen == n && (!n || !memcmp(m->keys.data + s->koff, k, (size_t)n))))
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

static rv_err_t omap_grow(omap_t *m) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    omap_slot_t *old = m->slots;
    size_t ocap = m->cap;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) {
        m->slots = old;
        return RV_ERR__NOMEM;
    }
    m->cap = cap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].hash)
            continue;
        size_t j = (size_t)old[i].hash & (cap - 1);
        while (m->slots[j].hash)
            j = (j + 1) & (cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
    return RV_ERR_NO_ERROR;
}

static rv_err_t omap_put(omap_t *m, const uint8_t *k, int32_t n, int64_t offset) {
    if ((m->cnt + 1) * 2 > m->cap) {
        rv_err_t err = omap_grow(m);
        if (err)
            return err;
    }
    uint64_t h = key_hash(k, n);
    omap_slot_t *s = omap_find(m, h, k, n);
    if (!s->hash) {
        size_t koff = m->keys.len;
        if (n > 0 && rv__buf_append(&m->keys, k, (size_t)n))
            return RV_ERR__NOMEM;
        s->hash = h;
        s->koff = koff;
        s->klen = n;
        m->cnt++;
    }
    s->offset = offset;
    return RV_ERR_NO_ERROR;
}

static int64_t omap_get(omap_t *m, const uint8_t *k, int32_t n) {
    if (!m->cap)
        return -1;
    omap_slot_t *s = omap_find(m, key_hash(k, n), k, n);
    return s->hash ? s->offset : -1;
}

static void omap_free(omap_t *m) {
    free(m->slots);
    rv__buf_free(&m->keys);
}

/* ---- reading a segment batch by batch ---- */

typedef struct breader_s {
    int fd;
    int64_t size, pos;
    uint8_t *buf;
    size_t cap, blen;
    int64_t bstart;
} breader_t;

/* 1 with *p and *len set to the next whole batch, 0 at the end, -1 on error. */
static int breader_next(breader_t *r, const uint8_t **p, size_t *len, rv__batch_hdr_t *h) {
    if (r->pos + RV__BATCH_HEADER_SIZE > r->size)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t have = r->bstart + (int64_t)r->blen - r->pos;
        if (r->pos >= r->bstart && have >= RV__BATCH_HEADER_SIZE) {
            const uint8_t *q = r->buf + (r->pos - r->bstart);
            if (rv__batch_read_header(h, q, (size_t)have))
                return -1;
            size_t sz = rv__batch_size(h);
            if ((int64_t)sz <= have) {
                *p = q;
                *len = sz;
                r->pos += (int64_t)sz;
                return 1;
            }
            if (r->pos + (int64_t)sz > r->size)
                return -1;
            if (sz > r->cap) {
                uint8_t *nb = realloc(r->buf, sz);
                if (!nb)
                    return -1;
                r->buf = nb;
                r->cap = sz;
            }
        }
        size_t want = (size_t)(r->size - r->pos) < r->cap ? (size_t)(r->size - r->pos) : r->cap;
        if (rv__io_pread_all(r->fd, r->buf, want, (off_t)r->pos) < 0)
            return -1;
        r->bstart = r->pos;
        r->blen = want;
    }
    return -1;
}

static int breader_init(breader_t *r, int fd, int64_t size) {
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->size = size;
    r->cap = READ_CHUNK;
    r->buf = malloc(r->cap);
    return r->buf ? 0 : -1;
}

/* ---- one segment's rewrite ---- */

typedef struct out_seg_s {
    int fd;
    int64_t size;
    int64_t bytes_since_index;
    int64_t max_ts, offset_of_max;
    int64_t last_tidx_ts;
    rv__buf_t idx, tidx;
} out_seg_t;

static void out_add_tidx(out_seg_t *o, int64_t base) {
    uint8_t *q;
    if (rv__buf_extend(&o->tidx, RV__TIMEINDEX_ENTRY_SIZE, &q) == 0) {
        rv__wbe64(q, (uint64_t)o->max_ts);
        rv__wbe32(q + 8, (uint32_t)(o->offset_of_max - base));
        o->last_tidx_ts = o->max_ts;
    }
}

/* Writes one batch and applies the append path's sparse index rule. */
static int out_write(out_seg_t *o, int64_t seg_base, const uint8_t *p, size_t len,
                     int32_t interval) {
    rv__batch_hdr_t h;
    if (rv__batch_read_header(&h, p, len) || rv__io_write_all(o->fd, p, len) < 0)
        return -1;
    int64_t last = h.base_offset + h.last_offset_delta;
    if (h.max_timestamp > o->max_ts) {
        o->max_ts = h.max_timestamp;
        o->offset_of_max = last;
    }
    if (o->bytes_since_index > interval) {
        uint8_t *q;
        if (rv__buf_extend(&o->idx, RV__INDEX_ENTRY_SIZE, &q) == 0) {
            rv__wbe32(q, (uint32_t)(last - seg_base));
            rv__wbe32(q + 4, (uint32_t)o->size);
        }
        if (o->max_ts >= 0 && o->max_ts > o->last_tidx_ts)
            out_add_tidx(o, seg_base);
        o->bytes_since_index = 0;
    }
    o->bytes_since_index += (int64_t)len;
    o->size += (int64_t)len;
    return 0;
}

static int write_file_synced(const char *path, const rv__buf_t *b) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = (b->len ? rv__io_write_all(fd, b->data, b->len) : 0) < 0 || rv__io_fsync(fd) < 0;
    close(fd);
    return rc ? -1 : 0;
}

typedef struct pass_s {
    rv__log_t *log;
    rv__log_config_t cfg;
    int64_t now;
    omap_t map;
    omap_t producers; /* producer id (8 bytes) -> last offset of its last batch */
    rv__clean_stats_t *st;
    rv__buf_t rebuilt;
    rv__buf_t scratch; /* decompressed records of the current batch */
} pass_t;

/* The key of producer id `pid` in pass_t.producers. */
static void producer_key(uint8_t key[8], int64_t pid) {
    rv__wbe64(key, (uint64_t)pid);
}

/* Notes a batch of the cleanable range in pass_t.producers: batches come
 * in offset order, so the last one noted per producer is its last. */
static rv_err_t note_producer(pass_t *ps, const rv__batch_hdr_t *h) {
    if (h->producer_id < 0 || (h->attributes & RV__ATTR_CONTROL))
        return RV_ERR_NO_ERROR;
    uint8_t key[8];
    producer_key(key, h->producer_id);
    return omap_put(&ps->producers, key, 8, rv__batch_last_offset(h));
}

/* True when the batch left without records stays as an empty batch (see
 * DESIGN step 5): it is its producer's last one in the cleanable range
 * and, if it is already empty, the expiry in its delete horizon has not
 * passed. */
static bool keep_empty(pass_t *ps, const rv__batch_hdr_t *h) {
    if (h->producer_id < 0)
        return false;
    uint8_t key[8];
    producer_key(key, h->producer_id);
    if (omap_get(&ps->producers, key, 8) != rv__batch_last_offset(h))
        return false;
    return !(h->records_count == 0 && (h->attributes & RV__ATTR_DELETE_HORIZON) &&
             h->base_timestamp <= ps->now);
}

/* Writes the header of batch p alone, as an empty batch (see DESIGN step
 * 5): no records and no codec, the same offsets, producer id, epoch,
 * sequences and maxTimestamp, and as delete horizon the time its producer
 * expires. */
static int write_empty(pass_t *ps, out_seg_t *o, int64_t seg_base, const uint8_t *p,
                       const rv__batch_hdr_t *h, int32_t interval) {
    uint8_t e[RV__BATCH_HEADER_SIZE];
    memcpy(e, p, sizeof e);
    uint16_t attrs =
        (uint16_t)((h->attributes & ~RV__ATTR_COMPRESSION_MASK) | RV__ATTR_DELETE_HORIZON);
    rv__wbe32(e + RV__BATCH_OFF_LENGTH, RV__BATCH_HEADER_SIZE - RV__BATCH_LOG_OVERHEAD);
    rv__wbe16(e + RV__BATCH_OFF_ATTRIBUTES, attrs);
    rv__wbe64(e + RV__BATCH_OFF_BASE_TIMESTAMP,
              (uint64_t)(ps->now + RV__PRODUCER_ID_EXPIRATION_MS));
    rv__wbe32(e + RV__BATCH_OFF_RECORDS_COUNT, 0);
    rv__wbe32(e + RV__BATCH_OFF_CRC, rv__batch_compute_crc(e, sizeof e));
    return out_write(o, seg_base, e, sizeof e, interval);
}

/* Filters one batch into o. Returns 0, -1 on I/O error. */
static int clean_batch(pass_t *ps, out_seg_t *o, int64_t seg_base, const uint8_t *p, size_t len,
                       const rv__batch_hdr_t *h, bool *changed) {
    int32_t interval = ps->cfg.index_interval_bytes;
    rv__record_iter_t it;
    if ((h->attributes & RV__ATTR_CONTROL) || rv__record_iter_init2(&it, p, len, &ps->scratch)) {
        /* Control batches, and batches whose records cannot be decoded,
         * stay whole. */
        ps->st->records_read += h->records_count;
        ps->st->records_kept += h->records_count;
        return out_write(o, seg_base, p, len, interval);
    }
    bool had_horizon = (h->attributes & RV__ATTR_DELETE_HORIZON) != 0;
    int64_t horizon = had_horizon ? h->base_timestamp : ps->now + ps->cfg.delete_retention_ms;
    /* First pass over the records: decide, without writing. The copy
     * restarts the walk for the second pass without decompressing again. */
    rv__record_iter_t again = it;
    int32_t kept = 0, tombstones = 0, total = 0;
    rv__record_t rec;
    int r;
    while ((r = rv__record_iter_next(&it, &rec)) == 1) {
        total++;
        int64_t latest = rec.key_len >= 0 ? omap_get(&ps->map, rec.key, rec.key_len) : -1;
        bool keep = latest < 0 || rec.offset >= latest;
        if (keep && rec.value_len < 0) {
            if (had_horizon && horizon <= ps->now) {
                keep = false;
                ps->st->tombstones_dropped++;
            } else {
                tombstones++;
            }
        }
        kept += keep;
    }
    ps->st->records_read += total;
    ps->st->records_kept += kept;
    if (r < 0)
        return out_write(o, seg_base, p, len, interval); /* unreadable: keep as is */
    if (kept == 0) {
        if (!keep_empty(ps, h)) {
            *changed = true;
            return 0;
        }
        if (h->records_count == 0)
            return out_write(o, seg_base, p, len, interval); /* empty already */
        *changed = true;
        return write_empty(ps, o, seg_base, p, h, interval);
    }
    if (kept == total && (tombstones == 0 || had_horizon))
        return out_write(o, seg_base, p, len, interval);
    *changed = true;
    /* Rebuild with the survivors. */
    int16_t attrs = (int16_t)(h->attributes & ~RV__ATTR_DELETE_HORIZON);
    if (tombstones)
        attrs |= RV__ATTR_DELETE_HORIZON;
    ps->rebuilt.len = 0;
    rv__batch_builder_t b;
    if (rv__batch_builder_begin(&b, &ps->rebuilt, h->base_offset, attrs,
                                tombstones ? horizon : INT64_MIN, h->producer_id, h->producer_epoch,
                                h->base_sequence, h->partition_leader_epoch))
        return -1;
    it = again;
    while (rv__record_iter_next(&it, &rec) == 1) {
        int64_t latest = rec.key_len >= 0 ? omap_get(&ps->map, rec.key, rec.key_len) : -1;
        bool keep = latest < 0 || rec.offset >= latest;
        if (keep && rec.value_len < 0 && had_horizon && horizon <= ps->now)
            keep = false;
        if (keep &&
            rv__batch_builder_add(&b, rec.offset, rec.timestamp, rec.key, rec.key_len, rec.value,
                                  rec.value_len, rec.header_cnt, rec.headers, rec.headers_len))
            return -1;
    }
    /* The batch keeps its whole offset range even when its last record
     * went, as Kafka's filter keeps the batch's last offset: the producer
     * state rebuilt from the log reads the batch's last sequence as
     * base sequence + lastOffsetDelta, and a shorter delta would make the
     * producer's next batch look out of order. */
    if (rv__batch_builder_finish(&b, h->last_offset_delta))
        return -1;
    return out_write(o, seg_base, ps->rebuilt.data, ps->rebuilt.len, interval);
}

static void name_of(char *buf, size_t n, const rv__log_t *log, int64_t base, const char *ext) {
    rv__segment_file_name(buf, n, log->dir, base, ext);
}

static void remove_leftovers(const rv__log_t *log, int64_t base) {
    const char *exts[] = {".log.cleaned", ".index.cleaned", ".timeindex.cleaned", ".index.swap",
                          ".timeindex.swap"};
    char path[4096];
    for (int i = 0; i < 5; i++) {
        name_of(path, sizeof path, log, base, exts[i]);
        unlink(path);
    }
}

/* Renames the cleaned files into place (see DESIGN step 6) and replaces the
 * in-memory segment. Caller holds clean_lock only. */
static rv_err_t swap_in(rv__log_t *log, rv__segment_t *old, int64_t max_offset,
                        int32_t index_interval_bytes) {
    static const char *const exts[] = {".index", ".timeindex", ".log"};
    char a[4096], b[4096];
    rv_err_t err = RV_ERR_NO_ERROR;
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->lock);
    int j = -1;
    for (int i = 0; i < log->seg_cnt - 1; i++)
        if (log->segs[i] == old)
            j = i;
    pthread_mutex_unlock(&log->lock);
    if (j < 0) {
        /* Retention or delete-records removed it meanwhile. */
        pthread_mutex_unlock(&log->append_lock);
        remove_leftovers(log, old->base_offset);
        return RV_ERR_NO_ERROR;
    }
    for (int i = 0; i < 3 && !err; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "%s.cleaned", exts[i]);
        name_of(a, sizeof a, log, old->base_offset, ext);
        snprintf(ext, sizeof ext, "%s.swap", exts[i]);
        name_of(b, sizeof b, log, old->base_offset, ext);
        if (rv__io_rename(a, b) < 0)
            err = RV_ERR__IO;
    }
    if (err) {
        /* Before the commit point: the old segment stays. */
        remove_leftovers(log, old->base_offset);
        pthread_mutex_unlock(&log->append_lock);
        return err;
    }
    atomic_store(&old->fate, RV__SEG_REPLACED);
    for (int i = 0; i < 3 && !err; i++) {
        char ext[32];
        snprintf(ext, sizeof ext, "%s.swap", exts[i]);
        name_of(a, sizeof a, log, old->base_offset, ext);
        name_of(b, sizeof b, log, old->base_offset, exts[i]);
        if (rv__io_rename(a, b) < 0)
            err = RV_ERR__IO;
    }
    if (err) {
        /* Past the commit point: the next open completes the swap. Until
         * then the old segment keeps serving (its inode is still open). */
        atomic_store(&old->fate, RV__SEG_LIVE);
        pthread_mutex_unlock(&log->append_lock);
        return err;
    }
    rv__segment_t *ns;
    int64_t cut;
    char errstr[512];
    err = rv__segment_open(&ns, log->dir, old->base_offset, false, index_interval_bytes, 0,
                           max_offset, &cut, errstr, sizeof errstr);
    if (err) {
        rv__log_err("CLEANER", "%s: cannot open cleaned segment: %s", log->name, errstr);
        atomic_store(&old->fate, RV__SEG_LIVE);
        pthread_mutex_unlock(&log->append_lock);
        return err;
    }
    pthread_mutex_lock(&log->lock);
    log->segs[j] = ns;
    log->dir_dirty = true;
    pthread_mutex_unlock(&log->lock);
    pthread_mutex_unlock(&log->append_lock);
    rv__segment_unref(old); /* the list's reference */
    return RV_ERR_NO_ERROR;
}

/* Rewrites one segment and swaps the result in when anything changed. */
static rv_err_t clean_segment(pass_t *ps, rv__segment_t *seg, int64_t size, int64_t max_offset) {
    rv__log_t *log = ps->log;
    char path[4096];
    name_of(path, sizeof path, log, seg->base_offset, ".log.cleaned");
    out_seg_t o = {0};
    o.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    o.max_ts = -1;
    o.offset_of_max = -1;
    o.last_tidx_ts = -1;
    if (o.fd < 0)
        return RV_ERR__IO;
    breader_t r;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (breader_init(&r, seg->fd, size) < 0) {
        close(o.fd);
        return RV_ERR__NOMEM;
    }
    bool changed = false;
    const uint8_t *p;
    size_t len;
    rv__batch_hdr_t h;
    int rc;
    while ((rc = breader_next(&r, &p, &len, &h)) == 1) {
        if (clean_batch(ps, &o, seg->base_offset, p, len, &h, &changed) < 0) {
            err = RV_ERR__IO;
            break;
        }
    }
    if (rc < 0)
        err = RV_ERR__IO;
    free(r.buf);
    ps->st->bytes_before += size;
    if (!err && !changed) {
        /* Nothing to drop: keep the segment as it is. */
        close(o.fd);
        rv__buf_free(&o.idx);
        rv__buf_free(&o.tidx);
        remove_leftovers(log, seg->base_offset);
        ps->st->bytes_after += size;
        return RV_ERR_NO_ERROR;
    }
    if (!err && rv__io_fsync(o.fd) < 0)
        err = RV_ERR__IO;
    close(o.fd);
    if (!err) {
        if (o.max_ts >= 0 && o.max_ts > o.last_tidx_ts)
            out_add_tidx(&o, seg->base_offset); /* the seal entry */
        name_of(path, sizeof path, log, seg->base_offset, ".index.cleaned");
        if (write_file_synced(path, &o.idx) < 0)
            err = RV_ERR__IO;
        name_of(path, sizeof path, log, seg->base_offset, ".timeindex.cleaned");
        if (!err && write_file_synced(path, &o.tidx) < 0)
            err = RV_ERR__IO;
    }
    rv__buf_free(&o.idx);
    rv__buf_free(&o.tidx);
    if (err) {
        remove_leftovers(log, seg->base_offset);
        return err;
    }
    ps->st->bytes_after += o.size;
    ps->st->segments_cleaned++;
    /* The pass's config snapshot: log->cfg may change under log->lock. */
    return swap_in(log, seg, max_offset, ps->cfg.index_interval_bytes);
}

static void ratio_of(rv__log_t *log, int cnt, int64_t checkpoint, int64_t *dirty, int64_t *total) {
    *dirty = *total = 0;
    for (int i = 0; i < cnt; i++) {
        *total += log->segs[i]->size;
        if (log->segs[i]->base_offset >= checkpoint)
            *dirty += log->segs[i]->size;
    }
}

double rv__log_dirty_ratio(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int64_t dirty, total;
    ratio_of(log, log->seg_cnt - 1, log->cleaner_checkpoint, &dirty, &total);
    pthread_mutex_unlock(&log->lock);
    return total ? (double)dirty / (double)total : 0.0;
}

rv_err_t rv__log_clean(rv__log_t *log, int64_t now_ms, int force, rv__clean_stats_t *stats) {
    rv__clean_stats_t local;
    rv__clean_stats_t *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&log->clean_lock);
    /* Inactive segments must have their final indexes on disk before their
     * files can be swapped (the syncer must not write to them afterwards). */
    rv_err_t err = rv__log_sync(log, INT64_MAX);
    pthread_mutex_lock(&log->lock);
    pass_t ps = {.log = log, .cfg = log->cfg, .now = now_ms, .st = st};
    int n = log->seg_cnt - 1, e = 0;
    /* Stop at the first segment within min.compaction.lag.ms, and at one
     * rolled after the sync above (its index files are not final yet). */
    while (e < n && log->segs[e]->indexes_synced &&
           !(ps.cfg.min_compaction_lag_ms > 0 &&
             log->segs[e]->max_timestamp > now_ms - ps.cfg.min_compaction_lag_ms))
        e++;
    int64_t checkpoint = log->cleaner_checkpoint, dirty, total;
    ratio_of(log, e, checkpoint, &dirty, &total);
    double ratio = total ? (double)dirty / (double)total : 0.0;
    if (err || !ps.cfg.cleanup_compact || e == 0 ||
        (!force && (dirty == 0 || ratio < ps.cfg.min_cleanable_dirty_ratio))) {
        pthread_mutex_unlock(&log->lock);
        pthread_mutex_unlock(&log->clean_lock);
        return err;
    }
    rv__segment_t **segs = malloc((size_t)e * sizeof *segs);
    int64_t *sizes = malloc((size_t)(e + 1) * sizeof *sizes);
    if (!segs || !sizes) {
        pthread_mutex_unlock(&log->lock);
        pthread_mutex_unlock(&log->clean_lock);
        free(segs);
        free(sizes);
        return RV_ERR__NOMEM;
    }
    for (int i = 0; i < e; i++) {
        segs[i] = log->segs[i];
        sizes[i] = segs[i]->size;
        rv__segment_ref(segs[i]);
    }
    int64_t end_offset = log->segs[e]->base_offset;
    pthread_mutex_unlock(&log->lock);

    /* The offset map over the dirty segments, and the last batch of each
     * producer over all cleanable ones (headers only below the
     * checkpoint). */
    for (int i = 0; i < e && !err; i++) {
        bool dirty = segs[i]->base_offset >= checkpoint;
        breader_t r;
        if (breader_init(&r, segs[i]->fd, sizes[i]) < 0) {
            err = RV_ERR__NOMEM;
            break;
        }
        const uint8_t *p;
        size_t len;
        rv__batch_hdr_t h;
        int rc;
        while (!err && (rc = breader_next(&r, &p, &len, &h)) == 1) {
            rv__record_iter_t it;
            if ((err = note_producer(&ps, &h)) || !dirty || (h.attributes & RV__ATTR_CONTROL) ||
                rv__record_iter_init2(&it, p, len, &ps.scratch))
                continue;
            rv__record_t rec;
            while (!err && rv__record_iter_next(&it, &rec) == 1)
                if (rec.key_len >= 0)
                    err = omap_put(&ps.map, rec.key, rec.key_len, rec.offset);
        }
        if (!err && rc < 0)
            err = RV_ERR__IO;
        free(r.buf);
    }
    for (int i = 0; i < e && !err; i++) {
        int64_t max_offset = i + 1 < e ? segs[i + 1]->base_offset : end_offset;
        err = clean_segment(&ps, segs[i], sizes[i], max_offset);
    }
    for (int i = 0; i < e; i++)
        rv__segment_unref(segs[i]);
    free(segs);
    free(sizes);
    omap_free(&ps.map);
    omap_free(&ps.producers);
    rv__buf_free(&ps.rebuilt);
    rv__buf_free(&ps.scratch);
    if (!err) {
        pthread_mutex_lock(&log->lock);
        if (end_offset > log->cleaner_checkpoint)
            log->cleaner_checkpoint = end_offset;
        pthread_mutex_unlock(&log->lock);
        rv__log_write_cleaner_checkpoint(log, end_offset);
        err = rv__log_sync(log, 0); /* the folder's renames */
        rv__log_info("CLEANER",
                     "%s: cleaned %d segments up to offset %" PRId64 ": %" PRId64 " of %" PRId64
                     " records kept, %" PRId64 " -> %" PRId64 " bytes, %" PRId64
                     " tombstones dropped",
                     log->name, st->segments_cleaned, end_offset, st->records_kept,
                     st->records_read, st->bytes_before, st->bytes_after, st->tombstones_dropped);
    } else {
        rv__log_warn("CLEANER", "%s: cleaning stopped: %s", log->name, rv_err_name(err));
    }
    pthread_mutex_unlock(&log->clean_lock);
    return err;
}
