/* broker/log/log.c: one partition's log: the ordered list of segments in
 * the folder `<topic>-<partition>/`, offset assignment and validation on
 * append, reads up to the high watermark, group-commit fsync,
 * flush.messages / flush.ms, rolling by size, time and index space,
 * retention by time and size, delete-records, and recovery when the folder
 * is opened. One segment's files are broker/log/segment.c; compaction is
 * broker/log/cleaner.c; the on-disk format is described for users in
 * docs/LOG_FORMAT.md.
 *
 * DESIGN
 * State (struct rv__log_s in log_internal.h): segments sorted by base
 * offset, the last one active; log start offset <= HW = LEO once an append
 * returns (single replica); flushed_offset is the recovery point.
 *
 * Append: batches are validated (header, CRC-32C, size, keys on compacted
 * topics) before any lock is taken, so the CRC pass runs in parallel with
 * other appenders. Under append_lock the log rolls if needed, writes the
 * LEO into each base_offset, and writes the whole request with one
 * pwrite(2) at the end of the active segment. Only then, under the short
 * state lock, do the segment size, the in-memory index entries, the LEO
 * and the HW move: a reader that snapshots (segment, size) under that lock
 * can never see a partial batch or one past the HW.
 *
 * Group commit (rv__log_sync): one thread at a time is the syncer. It
 * notes the LEO as its target, takes references to the segments with
 * unsynced bytes or index entries, drops the lock, fdatasyncs them (and
 * writes their index entries; inactive segments get complete, fsync'd
 * index files), fsyncs the folder if segments came or went, then sets
 * flushed_offset = target and wakes every waiter. Waiters whose offset is
 * covered return; the others elect the next syncer. Appends continue
 * during the fsync. A roll records the new segment's base offset in
 * roll_flush_offset; the next rv__log_flush_if_due (the broker's
 * housekeeping thread) fsyncs up to it, as Kafka schedules the flush of a
 * rolled segment, so an appender never waits for a segment's fsync. The
 * recovery point only moves after that fsync.
 *
 * Removal of segments (retention, delete-records, cleaner) takes them out
 * of the list under both locks and renames their files to *.deleted; the
 * files are unlinked and the descriptor closed when the last reader drops
 * its reference.
 *
 * Recovery on open: leftovers of an interrupted compaction are finished
 * (*.swap) or removed (*.cleaned), *.deleted files and orphan indexes are
 * removed, then segments are opened in order. Every segment that may hold
 * offsets at or past the recovery point, and always the last one, is
 * validated batch by batch; at the first bad batch the file is cut and
 * every later segment deleted. Other segments trust their index files
 * after a sanity check (else they are recovered too). Empty segments
 * between others are removed; the first segment stays even when empty,
 * so only retention and delete-records move the log start offset. */
#include "broker/log/log_internal.h"

#include <dirent.h>
#include <errno.h>
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
#include "common/record_batch.h"

size_t rv__log_idx_cap(const rv__log_config_t *cfg) {
    int64_t per = (int64_t)cfg->index_interval_bytes + 1;
    if (per < RV__BATCH_HEADER_SIZE)
        per = RV__BATCH_HEADER_SIZE;
    int64_t by_size = cfg->segment_bytes / per + 2;
    int64_t by_cfg = cfg->segment_index_bytes / RV__INDEX_ENTRY_SIZE;
    int64_t cap = by_size < by_cfg ? by_size : by_cfg;
    return cap < 2 ? 2 : (size_t)cap;
}

/* The last generation handed out (rv__log_generation). */
static atomic_uint_fast64_t generations;

uint64_t rv__log_fsync_count(rv__log_t *log) {
    return atomic_load(&log->fsync_count);
}

static rv__segment_t *active(const rv__log_t *log) {
    return log->segs[log->seg_cnt - 1];
}

/* Adds a segment at the end of the list. Caller holds both locks. */
static rv_err_t push_segment(rv__log_t *log, rv__segment_t *seg) {
    if (log->seg_cnt == log->seg_cap) {
        int cap = log->seg_cap ? log->seg_cap * 2 : 16;
        rv__segment_t **n = realloc(log->segs, (size_t)cap * sizeof *n);
        if (!n)
            return RV_ERR__NOMEM;
        log->segs = n;
        log->seg_cap = cap;
    }
    log->segs[log->seg_cnt++] = seg;
    return RV_ERR_NO_ERROR;
}

/* Takes the first k segments out of the list and moves the log start
 * offset up to the new first segment. Caller holds both locks; the caller
 * then calls drop_segments() on the returned array outside the state lock. */
static rv__segment_t **take_prefix(rv__log_t *log, int k) {
    rv__segment_t **gone = malloc((size_t)k * sizeof *gone);
    if (!gone)
        return NULL;
    memcpy(gone, log->segs, (size_t)k * sizeof *gone);
    memmove(log->segs, log->segs + k, (size_t)(log->seg_cnt - k) * sizeof *gone);
    log->seg_cnt -= k;
    if (log->segs[0]->base_offset > log->log_start_offset)
        log->log_start_offset = log->segs[0]->base_offset;
    log->dir_dirty = true;
    return gone;
}

static void drop_segments(rv__segment_t **gone, int k) {
    for (int i = 0; i < k; i++) {
        rv__segment_mark_deleted(gone[i]);
        rv__segment_unref(gone[i]);
    }
    free(gone);
}

/* Starts a new active segment at the LEO; no-op when the active one is
 * empty. Caller holds append_lock (not lock). */
static rv_err_t roll_locked(rv__log_t *log, const rv__log_config_t *cfg, int64_t now_ms,
                            bool *rolled, char *errstr, size_t errstr_size) {
    rv__segment_t *old = active(log);
    *rolled = false;
    if (old->size == 0)
        return RV_ERR_NO_ERROR;
    rv__segment_t *seg;
    rv_err_t err = rv__segment_create(&seg, log->dir, log->leo, rv__log_idx_cap(cfg), now_ms,
                                      errstr, errstr_size);
    if (err)
        return err;
    pthread_mutex_lock(&log->lock);
    err = push_segment(log, seg);
    if (!err) {
        rv__segment_seal(old);
        log->dir_dirty = true;
    }
    pthread_mutex_unlock(&log->lock);
    if (err) {
        rv__segment_mark_deleted(seg);
        rv__segment_unref(seg);
        return err;
    }
    rv__log_info("LOG",
                 "%s: rolled new segment at offset %" PRId64 " (previous: %" PRId64
                 " bytes from offset %" PRId64 ")",
                 log->name, log->leo, old->size, old->base_offset);
    *rolled = true;
    return RV_ERR_NO_ERROR;
}

/* ---- sync ---- */

typedef struct sync_item_s {
    rv__segment_t *seg;
    int64_t size;
    size_t idx_cnt, tidx_cnt;
    bool inactive;
} sync_item_t;

rv_err_t rv__log_sync(rv__log_t *log, int64_t offset) {
    pthread_mutex_lock(&log->lock);
    for (;;) {
        if (log->offline) {
            pthread_mutex_unlock(&log->lock);
            return RV_ERR__IO;
        }
        if (offset > log->leo)
            offset = log->leo;
        if (log->flushed_offset >= offset && !log->dir_dirty) {
            pthread_mutex_unlock(&log->lock);
            return RV_ERR_NO_ERROR;
        }
        if (!log->syncing)
            break;
        pthread_cond_wait(&log->sync_cond, &log->lock);
    }
    /* This thread is the syncer. */
    log->syncing = true;
    int64_t target = log->leo;
    bool dir = log->dir_dirty;
    log->dir_dirty = false;
    sync_item_t *items = malloc((size_t)log->seg_cnt * sizeof *items);
    int n = 0;
    if (items) {
        for (int i = 0; i < log->seg_cnt; i++) {
            rv__segment_t *s = log->segs[i];
            bool inactive = i < log->seg_cnt - 1;
            if (s->synced_size >= s->size && s->idx_written >= s->idx_cnt &&
                s->tidx_written >= s->tidx_cnt && (!inactive || s->indexes_synced))
                continue;
            rv__segment_ref(s);
            items[n++] = (sync_item_t){s, s->size, s->idx_cnt, s->tidx_cnt, inactive};
        }
    }
    pthread_mutex_unlock(&log->lock);

    rv_err_t err = items ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    for (int i = 0; i < n && !err; i++) {
        rv__segment_t *s = items[i].seg;
        if (s->synced_size < items[i].size) {
            atomic_fetch_add(&log->fsync_count, 1);
            if (rv__io_fsync(s->fd) < 0) {
                rv__log_err("LOG", "%s: fsync of %s.log failed: %s", log->name, s->path,
                            strerror(errno));
                err = RV_ERR__IO;
                break;
            }
        }
        if (atomic_load(&s->fate) == RV__SEG_LIVE &&
            rv__segment_write_indexes(s, items[i].idx_cnt, items[i].tidx_cnt, items[i].inactive) <
                0) {
            rv__log_err("LOG", "%s: writing the indexes of %s failed: %s", log->name, s->path,
                        strerror(errno));
            err = RV_ERR__IO;
        }
    }
    if (!err && dir && rv__io_fsync_dir(log->dir) < 0) {
        rv__log_err("LOG", "%s: fsync of folder %s failed: %s", log->name, log->dir,
                    strerror(errno));
        err = RV_ERR__IO;
    }

    pthread_mutex_lock(&log->lock);
    if (!err) {
        for (int i = 0; i < n; i++) {
            if (items[i].seg->synced_size < items[i].size)
                items[i].seg->synced_size = items[i].size;
            if (items[i].inactive)
                items[i].seg->indexes_synced = true;
        }
        if (target > log->flushed_offset)
            log->flushed_offset = target;
        log->last_flush_ms = rv__now_ms();
    } else if (err == RV_ERR__IO) {
        log->offline = true;
        rv__log_err("LOG",
                    "%s: partition is offline after a failed fsync; reopen the data folder to "
                    "recover it",
                    log->name);
    }
    log->syncing = false;
    pthread_cond_broadcast(&log->sync_cond);
    pthread_mutex_unlock(&log->lock);
    for (int i = 0; i < n; i++)
        rv__segment_unref(items[i].seg);
    free(items);
    return err;
}

/* ---- open / close ---- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* "<20 digits><suffix>": returns the base offset and points *suffix past
 * the digits, or -1. */
static int64_t parse_segment_name(const char *name, const char **suffix) {
    int64_t v = 0;
    for (int i = 0; i < RV__SEGMENT_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    *suffix = name + RV__SEGMENT_NAME_DIGITS;
    return v;
}

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static void unlink_in(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (unlink(path) < 0 && errno != ENOENT)
        rv__log_warn("RECOVERY", "cannot remove %s: %s", path, strerror(errno));
}

static void unlink_segment_files(const char *dir, int64_t base) {
    const char *exts[] = {".log", ".index", ".timeindex"};
    char path[4096];
    for (int i = 0; i < 3; i++) {
        rv__segment_file_name(path, sizeof path, dir, base, exts[i]);
        unlink(path);
    }
}

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Finishes a compaction swap that reached its commit point (the .log.swap
 * exists): the swap files replace the segment's files. */
static int complete_swap(const char *dir, int64_t base) {
    const char *exts[] = {".index", ".timeindex", ".log"};
    char from[4200], to[4096];
    for (int i = 0; i < 3; i++) {
        rv__segment_file_name(to, sizeof to, dir, base, exts[i]);
        snprintf(from, sizeof from, "%s.swap", to);
        if (file_exists(from) && rv__io_rename(from, to) < 0)
            return -1;
    }
    rv__log_warn("RECOVERY", "%s/%020" PRId64 ".log: completed an interrupted compaction swap", dir,
                 base);
    return 0;
}

typedef struct dir_scan_s {
    int64_t *bases;
    int cnt, cap;
    int64_t *swaps;
    int swap_cnt, swap_cap;
    bool changed;
} dir_scan_t;

static int add_i64(int64_t **arr, int *cnt, int *cap, int64_t v) {
    if (*cnt == *cap) {
        int c = *cap ? *cap * 2 : 16;
        int64_t *n = realloc(*arr, (size_t)c * sizeof *n);
        if (!n)
            return -1;
        *arr = n;
        *cap = c;
    }
    (*arr)[(*cnt)++] = v;
    return 0;
}

/* Classifies the folder's entries; removes leftovers. */
static rv_err_t scan_dir(const char *dir, dir_scan_t *sc, char *errstr, size_t errstr_size) {
    DIR *d = opendir(dir);
    if (!d) {
        rv__errstr_set(errstr, errstr_size, "Failed to open log folder %s: %s", dir,
                       strerror(errno));
        return RV_ERR__IO;
    }
    struct dirent *de;
    rv_err_t err = RV_ERR_NO_ERROR;
    /* Swap bases with a .log.swap (commit point reached), and bases with
     * only index swaps (not reached: drop them). */
    while ((de = readdir(d))) {
        const char *n = de->d_name, *suf;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        int64_t base = parse_segment_name(n, &suf);
        if (base < 0) {
            if (!strcmp(n, RV__CLEANER_CHECKPOINT_FILE) || !strcmp(n, "leader-epoch-checkpoint") ||
                !strcmp(n, "partition.metadata"))
                continue;
            if (has_suffix(n, ".tmp")) {
                unlink_in(dir, n);
                continue;
            }
            rv__log_warn("RECOVERY", "%s/%s is not a segment file: ignored", dir, n);
            continue;
        }
        if (!strcmp(suf, ".log")) {
            if (add_i64(&sc->bases, &sc->cnt, &sc->cap, base) < 0)
                err = RV_ERR__NOMEM;
        } else if (!strcmp(suf, ".index") || !strcmp(suf, ".timeindex")) {
            /* checked against the .log files below */
        } else if (has_suffix(suf, ".deleted") || has_suffix(suf, ".cleaned")) {
            unlink_in(dir, n);
            sc->changed = true;
        } else if (!strcmp(suf, ".log.swap")) {
            if (add_i64(&sc->swaps, &sc->swap_cnt, &sc->swap_cap, base) < 0)
                err = RV_ERR__NOMEM;
        } else if (!strcmp(suf, ".index.swap") || !strcmp(suf, ".timeindex.swap")) {
            /* handled with the .log.swap, or removed below */
        } else {
            rv__log_warn("RECOVERY", "%s/%s is not a segment file: ignored", dir, n);
        }
    }
    closedir(d);
    if (err)
        return err;
    for (int i = 0; i < sc->swap_cnt; i++) {
        if (complete_swap(dir, sc->swaps[i]) < 0) {
            rv__errstr_set(errstr, errstr_size,
                           "Failed to complete the swap of segment %020" PRId64 " in %s: %s",
                           sc->swaps[i], dir, strerror(errno));
            return RV_ERR__IO;
        }
        sc->changed = true;
        bool known = false;
        for (int j = 0; j < sc->cnt; j++)
            known |= sc->bases[j] == sc->swaps[i];
        if (!known && add_i64(&sc->bases, &sc->cnt, &sc->cap, sc->swaps[i]) < 0)
            return RV_ERR__NOMEM;
    }
    /* Second pass: index swaps without a committed .log.swap, and indexes
     * without a .log. */
    d = opendir(dir);
    if (!d)
        return RV_ERR_NO_ERROR;
    while ((de = readdir(d))) {
        const char *n = de->d_name, *suf;
        int64_t base = parse_segment_name(n, &suf);
        if (base < 0)
            continue;
        bool idx_swap = !strcmp(suf, ".index.swap") || !strcmp(suf, ".timeindex.swap");
        bool idx = !strcmp(suf, ".index") || !strcmp(suf, ".timeindex");
        if (!idx_swap && !idx)
            continue;
        bool has_log = false;
        for (int j = 0; j < sc->cnt; j++)
            has_log |= sc->bases[j] == base;
        if (idx_swap || !has_log) {
            unlink_in(dir, n);
            sc->changed = true;
        }
    }
    closedir(d);
    if (sc->cnt > 1)
        qsort(sc->bases, (size_t)sc->cnt, sizeof *sc->bases, cmp_i64);
    return RV_ERR_NO_ERROR;
}

static int64_t read_cleaner_checkpoint(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, RV__CLEANER_CHECKPOINT_FILE);
    rv__buf_t b = RV__BUF_INIT;
    int64_t off = -1;
    if (rv__io_read_file(path, &b, NULL, 0) == RV_ERR_NO_ERROR && rv__buf_append(&b, "", 1) == 0) {
        /* Kafka's checkpoint layout: version, entry count, then
         * "<topic> <partition> <offset>" lines; ours has one entry. */
        const char *last = strrchr((const char *)b.data, ' ');
        long long v;
        if (last && sscanf(last + 1, "%lld", &v) == 1 && v >= 0)
            off = v;
    }
    rv__buf_free(&b);
    return off;
}

rv_err_t rv__log_write_cleaner_checkpoint(rv__log_t *log, int64_t offset) {
    /* The folder name is "<topic>-<partition>"; split at the last dash. */
    char topic[1024] = "-", line[1200];
    const char *dash = strrchr(log->name, '-');
    const char *part = dash ? dash + 1 : "0";
    if (dash)
        snprintf(topic, sizeof topic, "%.*s", (int)(dash - log->name), log->name);
    int n = snprintf(line, sizeof line, "0\n1\n%s %s %" PRId64 "\n", topic, part, offset);
    char path[4096], errstr[512];
    snprintf(path, sizeof path, "%s/%s", log->dir, RV__CLEANER_CHECKPOINT_FILE);
    rv_err_t err = rv__io_write_file_atomic(path, line, (size_t)n, errstr, sizeof errstr);
    if (err)
        rv__log_warn("CLEANER", "%s: %s", log->name, errstr);
    return err;
}

static void log_free(rv__log_t *log) {
    for (int i = 0; i < log->seg_cnt; i++)
        rv__segment_unref(log->segs[i]);
    free(log->segs);
    pthread_mutex_destroy(&log->append_lock);
    pthread_mutex_destroy(&log->lock);
    pthread_mutex_destroy(&log->clean_lock);
    pthread_cond_destroy(&log->sync_cond);
    free(log->dir);
    free(log->name);
    free(log);
}

rv_err_t rv__log_open(rv__log_t **out, const char *dir, const rv__log_config_t *cfg,
                      int64_t recovery_point, int64_t log_start_offset, char *errstr,
                      size_t errstr_size) {
    *out = NULL;
    if (rv__io_mkdirs(dir, 0755) < 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to create log folder %s: %s", dir,
                       strerror(errno));
        return RV_ERR__IO;
    }
    rv__log_t *log = calloc(1, sizeof *log);
    if (!log)
        return RV_ERR__NOMEM;
    pthread_mutex_init(&log->append_lock, NULL);
    pthread_mutex_init(&log->lock, NULL);
    pthread_mutex_init(&log->clean_lock, NULL);
    pthread_cond_init(&log->sync_cond, NULL);
    atomic_init(&log->fsync_count, 0);
    log->generation = (uint64_t)atomic_fetch_add(&generations, 1) + 1;
    log->cfg = *cfg;
    log->dir = strdup(dir);
    const char *slash = strrchr(dir, '/');
    log->name = strdup(slash && slash[1] ? slash + 1 : dir);
    if (!log->dir || !log->name) {
        log_free(log);
        return RV_ERR__NOMEM;
    }

    dir_scan_t sc = {0};
    rv_err_t err = scan_dir(dir, &sc, errstr, errstr_size);
    bool changed = sc.changed;
    size_t cap = rv__log_idx_cap(cfg);
    for (int i = 0; !err && i < sc.cnt; i++) {
        bool last = i == sc.cnt - 1;
        int64_t max_off = last ? INT64_MAX : sc.bases[i + 1];
        bool swapped = false;
        for (int j = 0; j < sc.swap_cnt; j++)
            swapped |= sc.swaps[j] == sc.bases[i];
        bool recover = last || max_off > recovery_point || swapped;
        rv__segment_t *seg;
        int64_t cut = 0;
        err = rv__segment_open(&seg, dir, sc.bases[i], recover, cfg->index_interval_bytes, cap,
                               max_off, &cut, errstr, errstr_size);
        if (err)
            break;
        if (recover)
            seg->indexes_synced = true; /* rewritten and fsync'd by recovery */
        /* Everything after a bad batch is suspect (the tail of a crash), so
         * later segments go, also when the cut emptied this segment. */
        bool drop_later = cut > 0 && !last;
        if (seg->size == 0 && !last && !drop_later && log->seg_cnt > 0) {
            /* An empty segment between others holds nothing: drop it. The
             * first one stays even when empty: the log start offset comes
             * out below as max(checkpoint, first segment's base), and
             * compaction, which empties segments, never moves the start.
             * Without the segment a restart would move it past offsets
             * readers could ask for before, which would then fail with
             * OFFSET_OUT_OF_RANGE. */
            rv__log_warn("RECOVERY", "%s: removing empty segment %s.log", log->name, seg->path);
            rv__segment_unref(seg);
            unlink_segment_files(dir, sc.bases[i]);
            changed = true;
            continue;
        }
        err = push_segment(log, seg);
        if (err) {
            rv__segment_unref(seg);
            break;
        }
        if (drop_later) {
            for (int j = i + 1; j < sc.cnt; j++) {
                rv__log_warn("RECOVERY",
                             "%s: deleting segment %020" PRId64
                             ".log after the truncation point at offset %" PRId64,
                             log->name, sc.bases[j], seg->next_offset);
                unlink_segment_files(dir, sc.bases[j]);
            }
            changed = true;
            break;
        }
    }
    free(sc.bases);
    free(sc.swaps);
    if (err) {
        log_free(log);
        return err;
    }

    int64_t now = rv__now_ms();
    if (log->seg_cnt == 0) {
        rv__segment_t *seg;
        err = rv__segment_create(&seg, dir, log_start_offset > 0 ? log_start_offset : 0, cap, now,
                                 errstr, errstr_size);
        if (!err && (err = push_segment(log, seg)))
            rv__segment_unref(seg);
        changed = true;
        if (err) {
            log_free(log);
            return err;
        }
    }
    log->leo = active(log)->next_offset;
    int64_t first = log->segs[0]->base_offset;
    log->log_start_offset = log_start_offset < first ? first : log_start_offset;
    if (log->log_start_offset > log->leo) {
        /* The start offset is past everything kept (delete-records to the
         * end, then the tail was lost): start over at the start offset. */
        rv__segment_t *seg;
        err = rv__segment_create(&seg, dir, log->log_start_offset, cap, now, errstr, errstr_size);
        if (!err && (err = push_segment(log, seg)))
            rv__segment_unref(seg);
        if (err) {
            log_free(log);
            return err;
        }
        log->leo = log->log_start_offset;
    }
    /* Whole segments below the start offset are gone for readers. */
    int k = 0;
    while (k < log->seg_cnt - 1 && log->segs[k + 1]->base_offset <= log->log_start_offset)
        k++;
    if (k > 0) {
        rv__segment_t **gone = take_prefix(log, k);
        if (gone)
            drop_segments(gone, k);
    }
    log->hw = log->leo;
    log->flushed_offset = recovery_point < log->leo ? recovery_point : log->leo;
    if (log->flushed_offset < 0)
        log->flushed_offset = 0;
    log->last_flush_ms = now;
    log->dir_dirty = log->dir_dirty || changed;
    log->cleaner_checkpoint = read_cleaner_checkpoint(dir);
    if (log->cleaner_checkpoint < 0)
        log->cleaner_checkpoint = log->segs[0]->base_offset;

    /* Make what recovery kept durable, so the recovery point can be the LEO. */
    err = rv__log_sync(log, log->leo);
    if (err) {
        rv__errstr_set(errstr, errstr_size, "Failed to flush recovered log %s", dir);
        log_free(log);
        return err;
    }
    rv__log_debug("LOG", "%s: opened with %d segments, offsets %" PRId64 "..%" PRId64, log->name,
                  log->seg_cnt, log->log_start_offset, log->leo);
    *out = log;
    return RV_ERR_NO_ERROR;
}

void rv__log_close(rv__log_t *log) {
    if (!log)
        return;
    rv__log_sync(log, INT64_MAX);
    /* The active segment's index files are written out in full too, so a
     * clean shutdown leaves every segment with complete indexes. */
    rv__segment_t *a = active(log);
    if (rv__segment_write_indexes(a, a->idx_cnt, a->tidx_cnt, true) < 0)
        rv__log_warn("LOG", "%s: writing the indexes of %s failed: %s", log->name, a->path,
                     strerror(errno));
    log_free(log);
}

rv_err_t rv__log_delete(rv__log_t *log) {
    if (!log)
        return RV_ERR_NO_ERROR;
    char *dir = strdup(log->dir);
    log_free(log);
    if (!dir)
        return RV_ERR__NOMEM;
    int rc = rv__io_rmtree(dir);
    free(dir);
    return rc < 0 ? RV_ERR__IO : RV_ERR_NO_ERROR;
}

void rv__log_set_config(rv__log_t *log, const rv__log_config_t *cfg) {
    pthread_mutex_lock(&log->lock);
    log->cfg = *cfg;
    pthread_mutex_unlock(&log->lock);
}

/* ---- append ---- */

/* Checks one batch against the topic's rules. */
static rv_err_t check_batch(const rv__log_t *log, const rv__log_config_t *cfg,
                            const rv__batch_hdr_t *h, const uint8_t *p, size_t at, char *errstr,
                            size_t errstr_size) {
    size_t size = rv__batch_size(h);
    if (size > (size_t)cfg->max_message_bytes) {
        rv__errstr_set(errstr, errstr_size,
                       "The record batch size in the append to %s is %zu bytes which exceeds the "
                       "maximum configured value of %d.",
                       log->name, size, cfg->max_message_bytes);
        return RV_ERR_MESSAGE_TOO_LARGE;
    }
    /* Kafka's LogValidator: the offset range a producer's batch claims must
     * match its record count, or offsets would be assigned for records that
     * do not exist (and one batch could claim 2^31 offsets). */
    if (h->records_count <= 0 || h->records_count != (int64_t)h->last_offset_delta + 1) {
        rv__errstr_set(errstr, errstr_size,
                       "Inconsistent batch offset range and record count in the append to %s: "
                       "lastOffsetDelta %d but %d records (batch at byte %zu).",
                       log->name, h->last_offset_delta, h->records_count, at);
        return RV_ERR_INVALID_RECORD;
    }
    if (!cfg->cleanup_compact || (h->attributes & RV__ATTR_CONTROL))
        return RV_ERR_NO_ERROR;
    /* Keys inside compressed batches are checked too, as Kafka's
     * LogValidator does: the batch is decompressed into a scratch buffer
     * and stored as sent. */
    rv__record_iter_t it;
    rv__buf_t scratch = RV__BUF_INIT;
    rv_err_t err = rv__record_iter_init2(&it, p, size, &scratch);
    if (err == RV_ERR_UNSUPPORTED_COMPRESSION_TYPE || err == RV_ERR__NOMEM) {
        rv__errstr_set(errstr, errstr_size,
                       "Record batch at byte %zu of the append to %s uses compression codec %d, "
                       "which is not supported.",
                       at, log->name, h->attributes & RV__ATTR_COMPRESSION_MASK);
        rv__buf_free(&scratch);
        return err;
    }
    if (err) {
        rv__errstr_set(errstr, errstr_size,
                       "Record batch at byte %zu of the append to %s is corrupt.", at, log->name);
        rv__buf_free(&scratch);
        return RV_ERR_CORRUPT_MESSAGE;
    }
    rv__record_t rec;
    int r;
    while ((r = rv__record_iter_next(&it, &rec)) == 1) {
        if (rec.key_len < 0) {
            rv__errstr_set(
                errstr, errstr_size,
                "Compacted topic cannot accept message without key in topic partition %s.",
                log->name);
            rv__buf_free(&scratch);
            return RV_ERR_INVALID_RECORD;
        }
    }
    rv__buf_free(&scratch);
    if (r < 0) {
        rv__errstr_set(errstr, errstr_size,
                       "Record batch at byte %zu of the append to %s is corrupt.", at, log->name);
        return RV_ERR_CORRUPT_MESSAGE;
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__log_append(rv__log_t *log, uint8_t *data, size_t len, int flags,
                        rv__append_info_t *info, char *errstr, size_t errstr_size) {
    struct iovec iov = {data, len};
    return rv__log_appendv(log, &iov, 1, flags, info, errstr, errstr_size);
}

rv_err_t rv__log_appendv(rv__log_t *log, const struct iovec *iov, int iovcnt, int flags,
                         rv__append_info_t *info, char *errstr, size_t errstr_size) {
    rv__log_config_t cfg;
    pthread_mutex_lock(&log->lock);
    cfg = log->cfg;
    bool offline = log->offline;
    pthread_mutex_unlock(&log->lock);
    if (offline) {
        rv__errstr_set(errstr, errstr_size,
                       "Partition %s is offline after a failed fsync; reopen the data folder to "
                       "recover it.",
                       log->name);
        return RV_ERR__IO;
    }

    /* Validate everything before writing anything (no lock held). `at` is
     * the byte position in the whole append, for the messages. */
    int64_t count = 0, max_ts = -1;
    size_t len = 0, batches = 0;
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *data = iov[i].iov_base;
        size_t n = iov[i].iov_len;
        for (size_t pos = 0; pos < n;) {
            size_t at = len + pos;
            rv__batch_hdr_t h;
            rv_err_t err = rv__batch_validate(&h, data + pos, n - pos);
            if (err) {
                rv__errstr_set(errstr, errstr_size,
                               err == RV_ERR__PARTIAL
                                   ? "Record batch at byte %zu of the append to %s is truncated."
                                   : "Record batch at byte %zu of the append to %s is corrupt "
                                     "(bad magic, length or CRC).",
                               at, log->name);
                return RV_ERR_CORRUPT_MESSAGE;
            }
            if ((err = check_batch(log, &cfg, &h, data + pos, at, errstr, errstr_size)))
                return err;
            count += (int64_t)h.last_offset_delta + 1;
            if (h.max_timestamp > max_ts)
                max_ts = h.max_timestamp;
            pos += rv__batch_size(&h);
            batches++;
        }
        len += n;
    }
    if ((int64_t)len > cfg.segment_bytes || len > INT32_MAX) {
        rv__errstr_set(
            errstr, errstr_size,
            "Message batch size is %zu bytes in append to partition %s which exceeds the "
            "maximum configured segment size of %" PRId64 ".",
            len, log->name, cfg.segment_bytes);
        return RV_ERR_RECORD_LIST_TOO_LARGE;
    }

    /* The index entries the append can add: one per batch at most, and one
     * per index.interval.bytes after the first (rv__segment_account_batch). */
    size_t entries = 1 + len / ((size_t)cfg.index_interval_bytes + 1);
    if (entries > batches)
        entries = batches;

    pthread_mutex_lock(&log->append_lock);
    int64_t now = rv__now_ms();
    if (cfg.log_append_time)
        max_ts = now;
    int64_t leo = log->leo;
    if (len == 0) {
        pthread_mutex_unlock(&log->append_lock);
        if (info)
            *info = (rv__append_info_t){leo, leo - 1, cfg.log_append_time ? now : -1,
                                        rv__log_start_offset(log)};
        return RV_ERR_NO_ERROR;
    }
    rv__segment_t *seg = active(log);
    bool rolled = false;
    if (seg->size > 0) {
        /* Kafka's LogSegment.shouldRoll without jitter. */
        int64_t waited = seg->first_batch_timestamp >= 0 ? max_ts - seg->first_batch_timestamp
                                                         : now - seg->created_ms;
        if (seg->size > cfg.segment_bytes - (int64_t)len ||
            seg->size > (int64_t)INT32_MAX - (int64_t)len || waited > cfg.segment_ms ||
            !rv__segment_index_room(seg, entries) ||
            leo + count - 1 - seg->base_offset > INT32_MAX) {
            rv_err_t err = roll_locked(log, &cfg, now, &rolled, errstr, errstr_size);
            if (err) {
                pthread_mutex_unlock(&log->append_lock);
                return err;
            }
            seg = active(log);
        }
    }
    if (!rv__segment_index_room(seg, entries)) {
        /* Even a new segment's indexes cannot take the append's entries. */
        pthread_mutex_unlock(&log->append_lock);
        rv__errstr_set(errstr, errstr_size,
                       "The append to %s may add %zu index entries (%zu batches), more than a "
                       "segment's index holds (segment.bytes %" PRId64
                       ", segment.index.bytes %d, index.interval.bytes %d).",
                       log->name, entries, batches, cfg.segment_bytes, cfg.segment_index_bytes,
                       cfg.index_interval_bytes);
        return RV_ERR_RECORD_LIST_TOO_LARGE;
    }
    /* Assign offsets in place: base_offset is outside the CRC. */
    int64_t off = leo;
    for (int i = 0; i < iovcnt; i++) {
        uint8_t *data = iov[i].iov_base;
        for (size_t pos = 0; pos < iov[i].iov_len;) {
            uint8_t *p = data + pos;
            size_t size = (size_t)rv__be32(p + RV__BATCH_OFF_LENGTH) + RV__BATCH_LOG_OVERHEAD;
            rv__batch_set_base_offset(p, off);
            if (cfg.log_append_time)
                rv__batch_set_log_append_time(p, size, now);
            off += (int64_t)rv__be32(p + RV__BATCH_OFF_LAST_OFFSET_DELTA) + 1;
            pos += size;
        }
    }
    rv_err_t err = rv__segment_write(seg, iov, iovcnt, errstr, errstr_size);
    if (err) {
        pthread_mutex_unlock(&log->append_lock);
        return err;
    }
    pthread_mutex_lock(&log->lock);
    int64_t fpos = seg->size;
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *data = iov[i].iov_base;
        for (size_t pos = 0; pos < iov[i].iov_len;) {
            const uint8_t *p = data + pos;
            int64_t size = (int64_t)rv__be32(p + RV__BATCH_OFF_LENGTH) + RV__BATCH_LOG_OVERHEAD;
            int64_t last =
                (int64_t)rv__be64(p) + (int64_t)rv__be32(p + RV__BATCH_OFF_LAST_OFFSET_DELTA);
            int64_t bts = (int64_t)rv__be64(p + RV__BATCH_OFF_MAX_TIMESTAMP);
            rv__segment_account_batch(seg, fpos, size, last, bts, cfg.index_interval_bytes);
            fpos += size;
            pos += (size_t)size;
        }
    }
    log->leo = off;
    log->hw = off;
    if (rolled && seg->base_offset > log->roll_flush_offset)
        log->roll_flush_offset = seg->base_offset;
    int64_t unflushed = off - log->flushed_offset;
    int64_t lso = log->log_start_offset;
    pthread_mutex_unlock(&log->lock);
    pthread_mutex_unlock(&log->append_lock);

    if (info) {
        info->base_offset = leo;
        info->last_offset = off - 1;
        info->log_append_time = cfg.log_append_time ? now : -1;
        info->log_start_offset = lso;
    }
    if (flags & RV__APPEND_SYNC)
        return rv__log_sync(log, off);
    if (unflushed >= cfg.flush_messages) {
        /* flush.messages: fsync once N messages are unflushed (inline, as
         * Kafka does). A roll's flush of the old segment is left to the
         * housekeeping thread (rv__log_flush_if_due), as Kafka schedules
         * it, so a producer never waits for a whole segment's fsync. */
        err = rv__log_sync(log, off);
        if (err)
            rv__log_warn("LOG", "%s: flush after append failed: %s", log->name, rv_err_name(err));
    }
    return RV_ERR_NO_ERROR;
}

/* ---- read ---- */

/* Index of the segment holding `offset` (the last with base <= offset).
 * Caller holds lock. */
static int seg_for_offset(const rv__log_t *log, int64_t offset) {
    int lo = 0, hi = log->seg_cnt;
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base_offset <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The first segment after `base` in the current list, or NULL. Caller
 * holds lock. */
static rv__segment_t *next_after(const rv__log_t *log, int64_t base) {
    for (int i = 0; i < log->seg_cnt; i++)
        if (log->segs[i]->base_offset > base)
            return log->segs[i];
    return NULL;
}

rv_err_t rv__log_read(rv__log_t *log, int64_t offset, size_t max_bytes, rv__buf_t *out,
                      rv__read_info_t *info, char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&log->lock);
    int64_t hw = log->hw, lso = log->log_start_offset;
    if (info) {
        info->high_watermark = hw;
        info->log_start_offset = lso;
        info->next_offset = offset;
    }
    if (offset < lso || offset > hw) {
        pthread_mutex_unlock(&log->lock);
        rv__errstr_set(errstr, errstr_size,
                       "Offset %" PRId64
                       " is out of range for partition %s: valid offsets are %" PRId64
                       " (log start offset) to %" PRId64 " (high watermark)",
                       offset, log->name, lso, hw);
        return RV_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (offset == hw) {
        pthread_mutex_unlock(&log->lock);
        return RV_ERR_NO_ERROR;
    }
    rv__segment_t *seg = log->segs[seg_for_offset(log, offset)];
    for (;;) {
        rv__segment_ref(seg);
        int64_t limit = seg->size;
        size_t idx_cnt = seg->idx_cnt;
        pthread_mutex_unlock(&log->lock);

        int64_t start = rv__segment_index_lookup(seg, idx_cnt, offset), bpos;
        rv__batch_hdr_t h;
        int rc = rv__segment_find_batch(seg, offset, start, limit, &bpos, &h);
        if (rc < 0) {
            rv__errstr_set(errstr, errstr_size, "Failed to read %s.log at offset %" PRId64 ": %s",
                           seg->path, offset, strerror(errno));
            rv__segment_unref(seg);
            return RV_ERR__IO;
        }
        if (rc == 1) {
            size_t first = rv__batch_size(&h);
            size_t want = (size_t)(limit - bpos);
            if (want > max_bytes)
                want = max_bytes > first ? max_bytes : first;
            rv_err_t err = rv__buf_reserve(out, want);
            if (err) {
                rv__segment_unref(seg);
                return err;
            }
            uint8_t *dst = out->data + out->len;
            if (rv__io_pread_all(seg->fd, dst, want, (off_t)bpos) < 0) {
                rv__errstr_set(errstr, errstr_size, "Failed to read %s.log at byte %" PRId64 ": %s",
                               seg->path, bpos, strerror(errno));
                rv__segment_unref(seg);
                return RV_ERR__IO;
            }
            rv__segment_unref(seg);
            /* Keep whole batches only. */
            size_t n = 0;
            int64_t next = offset;
            while (n + RV__BATCH_HEADER_SIZE <= want) {
                rv__batch_hdr_t bh;
                if (rv__batch_read_header(&bh, dst + n, want - n))
                    break;
                size_t sz = rv__batch_size(&bh);
                if (n + sz > want)
                    break;
                n += sz;
                next = bh.base_offset + bh.last_offset_delta + 1;
            }
            out->len += n;
            if (info)
                info->next_offset = next;
            return RV_ERR_NO_ERROR;
        }
        /* Nothing at or after `offset` in this segment (compaction removed
         * its tail): go on with the next one. */
        int64_t base = seg->base_offset;
        rv__segment_unref(seg);
        pthread_mutex_lock(&log->lock);
        seg = next_after(log, base);
        if (!seg) {
            pthread_mutex_unlock(&log->lock);
            return RV_ERR_NO_ERROR;
        }
    }
}

rv_err_t rv__log_offset_for_timestamp(rv__log_t *log, int64_t ts, int64_t *offset,
                                      int64_t *timestamp) {
    *offset = -1;
    *timestamp = -1;
    pthread_mutex_lock(&log->lock);
    int64_t lso = log->log_start_offset;
    /* Answers stay below the HW even when a segment that recovery trusted
     * (below the recovery point, not re-validated, as in Kafka) holds a
     * batch claiming offsets past the next segment. */
    int64_t hw = log->hw;
    int i = seg_for_offset(log, lso);
    for (; i < log->seg_cnt; i++) {
        rv__segment_t *seg = log->segs[i];
        if (seg->max_timestamp < ts)
            continue;
        rv__segment_ref(seg);
        int64_t limit = seg->size, base = seg->base_offset;
        size_t idx_cnt = seg->idx_cnt, tidx_cnt = seg->tidx_cnt;
        pthread_mutex_unlock(&log->lock);

        int64_t pos = rv__segment_time_lookup(seg, idx_cnt, tidx_cnt, ts);
        rv_err_t err = RV_ERR_NO_ERROR;
        bool found = false;
        rv__buf_t b = RV__BUF_INIT, scratch = RV__BUF_INIT;
        while (pos < limit && !found && !err) {
            rv__batch_hdr_t h;
            int64_t bpos;
            int rc = rv__segment_find_batch(seg, lso, pos, limit, &bpos, &h);
            if (rc <= 0) {
                err = rc < 0 ? RV_ERR__IO : RV_ERR_NO_ERROR;
                break;
            }
            size_t size = rv__batch_size(&h);
            pos = bpos + (int64_t)size;
            if (h.max_timestamp < ts)
                continue;
            b.len = 0;
            if ((err = rv__buf_reserve(&b, size)))
                break;
            if (rv__io_pread_all(seg->fd, b.data, size, (off_t)bpos) < 0) {
                err = RV_ERR__IO;
                break;
            }
            b.len = size;
            rv__record_iter_t it;
            if (rv__record_iter_init2(&it, b.data, size, &scratch)) {
                /* Undecodable: the batch is the finest grain we can give. */
                if (h.base_offset >= hw)
                    continue;
                *offset = h.base_offset > lso ? h.base_offset : lso;
                *timestamp = h.max_timestamp;
                found = true;
                break;
            }
            rv__record_t rec;
            /* A record's offset must lie within its batch's range: recovery
             * checks the CRC, not each record's offset delta, so a sender's
             * bad deltas must not yield an offset past the batch (and HW). */
            int64_t last = h.base_offset + h.last_offset_delta;
            if (last >= hw)
                last = hw - 1;
            while (rv__record_iter_next(&it, &rec) == 1) {
                if (rec.timestamp >= ts && rec.offset >= lso && rec.offset >= h.base_offset &&
                    rec.offset <= last) {
                    *offset = rec.offset;
                    *timestamp = rec.timestamp;
                    found = true;
                    break;
                }
            }
        }
        rv__buf_free(&b);
        rv__buf_free(&scratch);
        rv__segment_unref(seg);
        if (err || found)
            return err;
        pthread_mutex_lock(&log->lock);
        i = seg_for_offset(log, base); /* the list may have changed meanwhile */
        if (log->segs[i]->base_offset > base)
            i--;
    }
    pthread_mutex_unlock(&log->lock);
    return RV_ERR_NO_ERROR;
}

/* ---- accessors ---- */

int64_t rv__log_start_offset(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int64_t v = log->log_start_offset;
    pthread_mutex_unlock(&log->lock);
    return v;
}

uint64_t rv__log_generation(const rv__log_t *log) {
    return log->generation; /* set at open, never changed */
}

int64_t rv__log_high_watermark(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int64_t v = log->hw;
    pthread_mutex_unlock(&log->lock);
    return v;
}

int64_t rv__log_end_offset(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int64_t v = log->leo;
    pthread_mutex_unlock(&log->lock);
    return v;
}

int64_t rv__log_recovery_point(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int64_t v = log->flushed_offset;
    pthread_mutex_unlock(&log->lock);
    return v;
}

int64_t rv__log_size_bytes(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int64_t v = 0;
    for (int i = 0; i < log->seg_cnt; i++)
        v += log->segs[i]->size;
    pthread_mutex_unlock(&log->lock);
    return v;
}

int rv__log_segment_count(rv__log_t *log) {
    pthread_mutex_lock(&log->lock);
    int v = log->seg_cnt;
    pthread_mutex_unlock(&log->lock);
    return v;
}

/* ---- delete-records, retention, roll, flush ---- */

rv_err_t rv__log_delete_records(rv__log_t *log, int64_t offset, int64_t *low_watermark,
                                char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->lock);
    if (offset == -1)
        offset = log->hw;
    if (offset < 0 || offset > log->hw) {
        int64_t hw = log->hw;
        pthread_mutex_unlock(&log->lock);
        pthread_mutex_unlock(&log->append_lock);
        rv__errstr_set(errstr, errstr_size,
                       "Cannot delete records of partition %s up to offset %" PRId64
                       " since it is larger than the high watermark %" PRId64,
                       log->name, offset, hw);
        return RV_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (offset > log->log_start_offset)
        log->log_start_offset = offset;
    int k = 0;
    while (k < log->seg_cnt - 1 && log->segs[k + 1]->base_offset <= log->log_start_offset)
        k++;
    rv__segment_t **gone = k ? take_prefix(log, k) : NULL;
    if (low_watermark)
        *low_watermark = log->log_start_offset;
    pthread_mutex_unlock(&log->lock);
    if (gone)
        drop_segments(gone, k);
    pthread_mutex_unlock(&log->append_lock);
    return RV_ERR_NO_ERROR;
}

int rv__log_retention(rv__log_t *log, int64_t now_ms) {
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->lock);
    rv__log_config_t cfg = log->cfg;
    int n = log->seg_cnt, k = 0;
    /* Kafka runs three passes over the oldest segments, each deleting a
     * prefix: below the log start offset, past retention.ms, and while the
     * log is above retention.bytes. An empty active segment never goes. */
    while (k < n - 1 && log->segs[k + 1]->base_offset <= log->log_start_offset)
        k++;
    int by_start = k;
    if (cfg.cleanup_delete && cfg.retention_ms >= 0) {
        while (k < n) {
            rv__segment_t *s = log->segs[k];
            int64_t newest = s->max_timestamp >= 0 ? s->max_timestamp : s->created_ms;
            if ((k == n - 1 && s->size == 0) || now_ms - newest <= cfg.retention_ms)
                break;
            k++;
        }
    }
    int by_time = k - by_start;
    if (cfg.cleanup_delete && cfg.retention_bytes >= 0) {
        int64_t total = 0;
        for (int i = k; i < n; i++)
            total += log->segs[i]->size;
        int64_t diff = total - cfg.retention_bytes;
        while (k < n && !(k == n - 1 && log->segs[k]->size == 0) &&
               diff - log->segs[k]->size >= 0) {
            diff -= log->segs[k]->size;
            k++;
        }
    }
    int by_size = k - by_start - by_time;
    pthread_mutex_unlock(&log->lock);
    if (k == 0) {
        pthread_mutex_unlock(&log->append_lock);
        return 0;
    }
    if (k == n) {
        /* The active segment expired too: roll first, so the log keeps an
         * (empty) active segment at the LEO. */
        bool rolled;
        char errstr[512];
        if (roll_locked(log, &cfg, now_ms, &rolled, errstr, sizeof errstr)) {
            rv__log_warn("LOG", "%s: retention could not roll: %s", log->name, errstr);
            k = n - 1;
        }
    }
    pthread_mutex_lock(&log->lock);
    rv__segment_t **gone = k ? take_prefix(log, k) : NULL;
    if (gone && log->log_start_offset < log->segs[0]->base_offset)
        log->log_start_offset = log->segs[0]->base_offset;
    pthread_mutex_unlock(&log->lock);
    if (gone) {
        rv__log_info("LOG",
                     "%s: deleting %d segments (%d below the log start offset, %d past "
                     "retention.ms %" PRId64 ", %d past retention.bytes %" PRId64 ")",
                     log->name, k, by_start, by_time, cfg.retention_ms, by_size,
                     cfg.retention_bytes);
        drop_segments(gone, k);
    } else {
        k = 0;
    }
    pthread_mutex_unlock(&log->append_lock);
    if (k)
        rv__log_sync(log, 0); /* make the folder change durable */
    return k;
}

rv_err_t rv__log_flush_if_due(rv__log_t *log, int64_t now_ms) {
    pthread_mutex_lock(&log->lock);
    bool due = log->leo > log->flushed_offset && now_ms - log->last_flush_ms >= log->cfg.flush_ms;
    int64_t upto = due ? log->leo : log->roll_flush_offset;
    due = due || log->roll_flush_offset > log->flushed_offset;
    pthread_mutex_unlock(&log->lock);
    return due ? rv__log_sync(log, upto) : RV_ERR_NO_ERROR;
}

static rv_err_t roll_if(rv__log_t *log, int64_t now_ms, bool only_if_due) {
    pthread_mutex_lock(&log->append_lock);
    pthread_mutex_lock(&log->lock);
    rv__log_config_t cfg = log->cfg;
    pthread_mutex_unlock(&log->lock);
    rv__segment_t *seg = active(log);
    bool due = true;
    if (only_if_due) {
        int64_t since =
            seg->first_batch_timestamp >= 0 ? seg->first_batch_timestamp : seg->created_ms;
        due = seg->size > 0 && now_ms - since > cfg.segment_ms;
    }
    bool rolled = false;
    rv_err_t err = RV_ERR_NO_ERROR;
    char errstr[512];
    if (due && (err = roll_locked(log, &cfg, now_ms, &rolled, errstr, sizeof errstr)))
        rv__log_warn("LOG", "%s: roll failed: %s", log->name, errstr);
    pthread_mutex_unlock(&log->append_lock);
    if (rolled)
        err = rv__log_sync(log, INT64_MAX);
    return err;
}

rv_err_t rv__log_roll_if_due(rv__log_t *log, int64_t now_ms) {
    return roll_if(log, now_ms, true);
}

rv_err_t rv__log_roll(rv__log_t *log) {
    return roll_if(log, rv__now_ms(), false);
}
