/* broker/producer_state.c: idempotent producers on the embedded broker
 * (broker/producer_state.h): the producer id counter of a data folder and,
 * per partition, the last batches of every producer, so that a retried
 * batch is answered with its original offsets instead of being written
 * twice and a gap in the sequence numbers is rejected. broker/broker.c
 * routes every produce through rv__pstates_append().
 *
 * DESIGN
 *
 * Producer ids: the file DIR/producer-id-block holds the first id of the
 * next unused block of RV__PRODUCER_ID_BLOCK ids, as decimal text. The
 * registry reserves a block by writing the file (write-temp, fsync, rename,
 * fsync folder) before handing out any id of it, so after a crash at most
 * the rest of a block is skipped and no id is ever given twice. Epochs
 * start at 0; without transactions nothing bumps them on this broker, but
 * the state honours a higher epoch from a client (which resets its
 * sequences, as Kafka does).
 *
 * Per partition: an rv__pstate_t maps producer id -> (epoch, the metadata
 * of its last 5 batches: first/last sequence, first/last offset): an
 * array with a hash index by producer id, so an append costs the same
 * however many producers wrote in the last producer.id.expiration.ms (one
 * day); a sweep every 10 minutes, as Kafka's, drops the idle ones and
 * rebuilds the index.
 *
 * Serialisation: the log's append lock lives inside rv__log_append(), so
 * the check "is this the next sequence?", the append and the recording of
 * the new batch are made atomic by a per-partition mutex held here around
 * all three. Only batches with a producer id take it; other producers'
 * appends go straight to the log. The fsync of acks=all happens after the
 * mutex is released (rv__log_sync), so idempotent producers still share
 * the log's group commit.
 *
 * The partition entries live in a hash table keyed by topic name and
 * partition, created on first idempotent append; the broker's
 * housekeeping prunes those of deleted topics (rv__pstates_prune), and an
 * append holds its entry (users) so a prune never frees it under it. An entry remembers the
 * generation of the log it was built from (rv__log_generation), never its address: when a topic is
 * deleted and made again, the new log may well be allocated where the old one was, and state keyed
 * by address would answer the new topic's first batches as duplicates of the old topic's. A new
 * generation makes the state be rebuilt from the new log.
 *
 * Restart: there are no snapshot files. The first idempotent append to a
 * partition after the broker opened scans that partition's log once from
 * its start offset to the high watermark, reading only batch headers
 * (producer id, epoch, base sequence, offsets), and replays them into the
 * state. The cost is one sequential read of the partition, once per broker
 * lifetime and only for partitions that receive idempotent writes; Kafka
 * bounds the same work with producer snapshots, which can be added here
 * later without changing the protocol. Compaction keeps what the replay
 * needs (broker/log/cleaner.c): a rebuilt batch keeps its offset and
 * sequence range, and a producer's last batch stays, emptied of its
 * records if need be, until the producer would have expired. */
#include "broker/producer_state.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/topics.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/fileio.h"
#include "common/logger.h"
#include "common/record_batch.h"

#define BUCKETS 256
/* Bytes read per step while rebuilding a partition's state from its log. */
#define REBUILD_READ_BYTES (1024 * 1024)

/* ---- sequences ---- */

/* Sequence numbers are int32 and wrap from INT32_MAX to 0 (Kafka's
 * DefaultRecordBatch.incrementSequence). */
static int32_t seq_add(int32_t seq, int32_t n) {
    int64_t r = (int64_t)seq + n;
    if (r > INT32_MAX)
        r -= (int64_t)INT32_MAX + 1;
    return (int32_t)r;
}

static bool in_sequence(int32_t last_seq, int32_t next_seq) {
    return next_seq == seq_add(last_seq, 1);
}

/* ---- one partition ---- */

void rv__pstate_init(rv__pstate_t *s) {
    memset(s, 0, sizeof *s);
}

void rv__pstate_clear(rv__pstate_t *s) {
    free(s->entries);
    free(s->slots);
    rv__pstate_init(s);
}

/* The first slot to probe for pid (Fibonacci hashing). */
static size_t slot_of(const rv__pstate_t *s, int64_t pid) {
    return (size_t)(((uint64_t)pid * 0x9E3779B97F4A7C15ULL) >> 32) & (s->slot_cap - 1);
}

/* Puts entries[i] into the index, which has a free slot. */
static void slot_put(rv__pstate_t *s, size_t i) {
    size_t k = slot_of(s, s->entries[i].producer_id);
    while (s->slots[k])
        k = (k + 1) & (s->slot_cap - 1);
    s->slots[k] = (uint32_t)(i + 1);
}

/* Fills the index again from entries[0, cnt), in place. */
static void slots_reindex(rv__pstate_t *s) {
    memset(s->slots, 0, s->slot_cap * sizeof *s->slots);
    for (size_t i = 0; i < s->cnt; i++)
        slot_put(s, i);
}

/* Makes the index twice as large as it must be for `want` entries, so
 * probes stay short. */
static rv_err_t slots_reserve(rv__pstate_t *s, size_t want) {
    if (2 * want <= s->slot_cap)
        return RV_ERR_NO_ERROR;
    size_t cap = s->slot_cap ? s->slot_cap : 16;
    while (cap < 2 * want)
        cap *= 2;
    uint32_t *n = calloc(cap, sizeof *n);
    if (!n)
        return RV_ERR__NOMEM;
    free(s->slots);
    s->slots = n;
    s->slot_cap = cap;
    slots_reindex(s);
    return RV_ERR_NO_ERROR;
}

static rv__pstate_entry_t *entry_find(const rv__pstate_t *s, int64_t pid) {
    if (!s->slot_cap)
        return NULL;
    for (size_t k = slot_of(s, pid); s->slots[k]; k = (k + 1) & (s->slot_cap - 1))
        if (s->entries[s->slots[k] - 1].producer_id == pid)
            return &s->entries[s->slots[k] - 1];
    return NULL;
}

rv_err_t rv__pstate_check(const rv__pstate_t *s, int64_t pid, int16_t epoch, int32_t first_seq,
                          int32_t last_seq, const rv__pstate_batch_t **dup, char *errstr,
                          size_t errstr_size) {
    *dup = NULL;
    const rv__pstate_entry_t *e = entry_find(s, pid);
    if (!e)
        return RV_ERR_NO_ERROR;
    if (epoch < e->epoch) {
        rv__errstr_set(errstr, errstr_size,
                       "Epoch of producer %" PRId64 " is %d, which is smaller than the last seen "
                       "epoch %d",
                       pid, epoch, e->epoch);
        return RV_ERR_INVALID_PRODUCER_EPOCH;
    }
    if (epoch > e->epoch) {
        if (first_seq != 0) {
            rv__errstr_set(errstr, errstr_size,
                           "Invalid sequence number for new epoch of producer %" PRId64
                           ": %d (request epoch), %d (seq. number), %d (current producer epoch)",
                           pid, epoch, first_seq, e->epoch);
            return RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
        return RV_ERR_NO_ERROR;
    }
    for (int i = 0; i < e->nbatches; i++) {
        if (e->batches[i].first_seq == first_seq && e->batches[i].last_seq == last_seq) {
            *dup = &e->batches[i];
            return RV_ERR_DUPLICATE_SEQUENCE_NUMBER;
        }
    }
    if (e->nbatches == 0)
        return RV_ERR_NO_ERROR;
    int32_t current = e->batches[e->nbatches - 1].last_seq;
    if (!in_sequence(current, first_seq)) {
        rv__errstr_set(errstr, errstr_size,
                       "Out of order sequence number for producer %" PRId64
                       ": %d (incoming seq. number), %d (current end sequence number)",
                       pid, first_seq, current);
        return RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__pstate_record(rv__pstate_t *s, int64_t pid, int16_t epoch, const rv__pstate_batch_t *b,
                           int64_t now_ms) {
    /* Expire idle producers now and then, so the array does not grow for
     * ever with the ids of producers that are long gone. */
    if (now_ms >= s->next_expiry_check_ms && s->cnt) {
        size_t kept = s->cnt;
        for (size_t i = 0; i < kept;) {
            if (s->entries[i].producer_id != pid &&
                now_ms - s->entries[i].last_used_ms > RV__PSTATE_EXPIRATION_MS)
                s->entries[i] = s->entries[--kept];
            else
                i++;
        }
        if (kept != s->cnt) {
            s->cnt = kept;
            slots_reindex(s);
        }
        s->next_expiry_check_ms = now_ms + RV__PSTATE_EXPIRATION_CHECK_MS;
    }
    rv__pstate_entry_t *e = entry_find(s, pid);
    if (!e) {
        if (s->cnt == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 4;
            rv__pstate_entry_t *n = realloc(s->entries, cap * sizeof *n);
            if (!n)
                return RV_ERR__NOMEM;
            s->entries = n;
            s->cap = cap;
        }
        if (slots_reserve(s, s->cnt + 1))
            return RV_ERR__NOMEM;
        e = &s->entries[s->cnt];
        memset(e, 0, sizeof *e);
        e->producer_id = pid;
        e->epoch = epoch;
        slot_put(s, s->cnt++);
    }
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->nbatches = 0;
    }
    if (e->nbatches == RV__PSTATE_BATCHES) {
        memmove(&e->batches[0], &e->batches[1], (RV__PSTATE_BATCHES - 1) * sizeof e->batches[0]);
        e->nbatches--;
    }
    e->batches[e->nbatches++] = *b;
    e->last_used_ms = now_ms;
    return RV_ERR_NO_ERROR;
}

/* ---- the registry ---- */

typedef struct ps_part_s {
    struct ps_part_s *next;
    char *topic;
    int32_t partition;
    int users;            /* appends holding it (under the registry's lock) */
    pthread_mutex_t lock; /* serialises check + append + record */
    uint64_t log_gen;     /* generation of the log the state was built from, 0 until built */
    rv__pstate_t st;
} ps_part_t;

struct rv__pstates_s {
    char *id_path;
    pthread_mutex_t id_lock;
    int64_t next_id;   /* next id to hand out */
    int64_t block_end; /* first id past the reserved block; 0 = none yet */

    pthread_mutex_t lock; /* guards the buckets */
    ps_part_t *buckets[BUCKETS];
};

rv_err_t rv__pstates_new(rv__pstates_t **out, const char *data_dir, char *errstr,
                         size_t errstr_size) {
    *out = NULL;
    rv__pstates_t *ps = calloc(1, sizeof *ps);
    size_t n = strlen(data_dir) + sizeof RV__PRODUCER_ID_FILE + 2;
    if (!ps || !(ps->id_path = malloc(n))) {
        free(ps);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    snprintf(ps->id_path, n, "%s/%s", data_dir, RV__PRODUCER_ID_FILE);
    pthread_mutex_init(&ps->id_lock, NULL);
    pthread_mutex_init(&ps->lock, NULL);
    *out = ps;
    return RV_ERR_NO_ERROR;
}

static void part_free(ps_part_t *p) {
    rv__pstate_clear(&p->st);
    pthread_mutex_destroy(&p->lock);
    free(p->topic);
    free(p);
}

void rv__pstates_destroy(rv__pstates_t *ps) {
    if (!ps)
        return;
    for (int i = 0; i < BUCKETS; i++) {
        for (ps_part_t *p = ps->buckets[i], *nx; p; p = nx) {
            nx = p->next;
            part_free(p);
        }
    }
    pthread_mutex_destroy(&ps->id_lock);
    pthread_mutex_destroy(&ps->lock);
    free(ps->id_path);
    free(ps);
}

/* Reserves the next block: reads the counter file (missing = 0), writes
 * it advanced by one block durably, and only then uses the block. */
static rv_err_t reserve_block(rv__pstates_t *ps, char *errstr, size_t errstr_size) {
    int64_t start = 0;
    rv__buf_t b = RV__BUF_INIT;
    rv_err_t err = rv__io_read_file(ps->id_path, &b, errstr, errstr_size);
    if (err && err != RV_ERR__NOENT) {
        rv__buf_free(&b);
        return err;
    }
    if (!err) {
        char text[32];
        size_t n = b.len < sizeof text - 1 ? b.len : sizeof text - 1;
        memcpy(text, b.data, n);
        text[n] = '\0';
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
            text[--n] = '\0';
        if (rv__parse_int64(text, &start) != 0 || start < 0) {
            rv__buf_free(&b);
            rv__errstr_set(errstr, errstr_size, "Corrupt producer id counter file %s", ps->id_path);
            return RV_ERR__BAD_MSG;
        }
    }
    rv__buf_free(&b);
    if (start < ps->block_end)
        start = ps->block_end;
    char text[32];
    int len = snprintf(text, sizeof text, "%" PRId64 "\n", start + RV__PRODUCER_ID_BLOCK);
    err = rv__io_write_file_atomic(ps->id_path, text, (size_t)len, errstr, errstr_size);
    if (err)
        return err;
    ps->next_id = start;
    ps->block_end = start + RV__PRODUCER_ID_BLOCK;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__pstates_init_producer_id(rv__pstates_t *ps, int64_t *producer_id, int16_t *epoch,
                                      char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&ps->id_lock);
    rv_err_t err = RV_ERR_NO_ERROR;
    if (ps->next_id >= ps->block_end)
        err = reserve_block(ps, errstr, errstr_size);
    if (!err) {
        *producer_id = ps->next_id++;
        *epoch = 0;
    }
    pthread_mutex_unlock(&ps->id_lock);
    return err;
}

static unsigned part_hash(const char *topic, int32_t partition) {
    return rv__topic_partition_hash(topic, partition) % BUCKETS;
}

/* The partition's entry, made if need be, held until part_put(); NULL
 * when out of memory. */
static ps_part_t *part_get(rv__pstates_t *ps, const char *topic, int32_t partition) {
    unsigned h = part_hash(topic, partition);
    pthread_mutex_lock(&ps->lock);
    ps_part_t *p = ps->buckets[h];
    while (p && (p->partition != partition || strcmp(p->topic, topic) != 0))
        p = p->next;
    if (!p && (p = calloc(1, sizeof *p)) != NULL) {
        if (!(p->topic = strdup(topic))) {
            free(p);
            p = NULL;
        } else {
            p->partition = partition;
            pthread_mutex_init(&p->lock, NULL);
            rv__pstate_init(&p->st);
            p->next = ps->buckets[h];
            ps->buckets[h] = p;
        }
    }
    if (p)
        p->users++;
    pthread_mutex_unlock(&ps->lock);
    return p;
}

size_t rv__pstates_partition_count(rv__pstates_t *ps) {
    size_t n = 0;
    pthread_mutex_lock(&ps->lock);
    for (int h = 0; h < BUCKETS; h++)
        for (ps_part_t *p = ps->buckets[h]; p; p = p->next)
            n++;
    pthread_mutex_unlock(&ps->lock);
    return n;
}

static void part_put(rv__pstates_t *ps, ps_part_t *p) {
    pthread_mutex_lock(&ps->lock);
    p->users--;
    pthread_mutex_unlock(&ps->lock);
}

void rv__pstates_prune(rv__pstates_t *ps, rv__pstates_live_fn *live, void *opaque) {
    /* Which partitions to ask about, copied out: `live` takes the topics'
     * locks, which are never taken inside this registry's lock. */
    typedef struct key_s {
        char *topic;
        int32_t partition;
        uint64_t gen;
        bool gone;
    } key_t;
    key_t *keys = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&ps->lock);
    for (int h = 0; h < BUCKETS; h++)
        for (ps_part_t *p = ps->buckets[h]; p; p = p->next) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                key_t *nk = realloc(keys, ncap * sizeof *nk);
                if (!nk)
                    goto collected; /* out of memory: prune what fits */
                keys = nk;
                cap = ncap;
            }
            if (!(keys[n].topic = strdup(p->topic)))
                goto collected;
            keys[n].partition = p->partition;
            keys[n].gen = p->log_gen;
            keys[n].gone = false;
            n++;
        }
collected:
    pthread_mutex_unlock(&ps->lock);
    for (size_t i = 0; i < n; i++)
        keys[i].gone = !live(opaque, keys[i].topic, keys[i].partition, keys[i].gen);
    /* An entry still unused and as it was when asked about goes; an append
     * since (to a topic made again) keeps it, or rebuilds it later. */
    pthread_mutex_lock(&ps->lock);
    for (size_t i = 0; i < n; i++) {
        if (!keys[i].gone)
            continue;
        ps_part_t **pp = &ps->buckets[part_hash(keys[i].topic, keys[i].partition)];
        while (*pp &&
               ((*pp)->partition != keys[i].partition || strcmp((*pp)->topic, keys[i].topic)))
            pp = &(*pp)->next;
        ps_part_t *p = *pp;
        if (p && p->users == 0 && p->log_gen == keys[i].gen) {
            *pp = p->next;
            part_free(p);
        }
    }
    pthread_mutex_unlock(&ps->lock);
    for (size_t i = 0; i < n; i++)
        free(keys[i].topic);
    free(keys);
}

/* Replays the producer fields of every batch in the log into p->st.
 * Called with p->lock held, so no idempotent append to this partition
 * runs meanwhile and every earlier one is below the high watermark.
 *
 * Every replayed producer counts as used now, at load. The log does not
 * say when a batch was appended: its timestamps are the producer's
 * (CreateTime), and Kafka Streams forwards event times that may be days
 * old, so taking them for the last use would expire, right after a
 * restart, producers that wrote seconds before it, and their retries
 * would be written twice. Nothing expires during the replay either: all
 * entries share the one load time. (Kafka takes the batch's max timestamp
 * as the last use, while running and on a rebuild alike; this broker uses
 * the wall clock while running, and the rebuild has to agree with it. A
 * producer that was already idle before the restart is remembered a day
 * longer, which costs memory, not correctness.) */
static rv_err_t part_rebuild(ps_part_t *p, rv__log_t *log, char *errstr, size_t errstr_size) {
    rv__pstate_clear(&p->st);
    int64_t now = rv__now_ms();
    int64_t off = rv__log_start_offset(log);
    int64_t hw = rv__log_high_watermark(log);
    int64_t batches = 0;
    rv__buf_t b = RV__BUF_INIT;
    while (off < hw) {
        rv__read_info_t ri;
        b.len = 0;
        rv_err_t err = rv__log_read(log, off, REBUILD_READ_BYTES, &b, &ri, errstr, errstr_size);
        if (err == RV_ERR_OFFSET_OUT_OF_RANGE && ri.log_start_offset > off) {
            off = ri.log_start_offset; /* retention moved the start meanwhile */
            continue;
        }
        if (err) {
            rv__buf_free(&b);
            return err;
        }
        if (!b.len)
            break;
        size_t pos = 0;
        while (pos < b.len) {
            rv__batch_hdr_t h;
            if (rv__batch_parse_header(&h, b.data + pos, b.len - pos) != RV_ERR_NO_ERROR)
                break;
            pos += rv__batch_size(&h);
            off = rv__batch_last_offset(&h) + 1;
            if (h.producer_id < 0 || (h.attributes & RV__ATTR_CONTROL))
                continue;
            rv__pstate_batch_t pb = {h.base_sequence, seq_add(h.base_sequence, h.last_offset_delta),
                                     h.base_offset, rv__batch_last_offset(&h), h.max_timestamp};
            if (rv__pstate_record(&p->st, h.producer_id, h.producer_epoch, &pb, now) !=
                RV_ERR_NO_ERROR) {
                rv__buf_free(&b);
                rv__errstr_set(errstr, errstr_size, "Out of memory");
                return RV_ERR__NOMEM;
            }
            batches++;
        }
        if (ri.next_offset > off)
            off = ri.next_offset;
    }
    rv__buf_free(&b);
    if (batches)
        rv__log_debug("PSTATE", "%s-%d: producer state rebuilt from %" PRId64 " batches", p->topic,
                      p->partition, batches);
    p->log_gen = rv__log_generation(log);
    return RV_ERR_NO_ERROR;
}

/* The append path of both public functions: n buffers, and when n > 1
 * each exactly one batch of one producer with running sequences. A
 * duplicate single batch is answered with its original offsets; a run
 * whose first batch is a duplicate is refused (see rv__pstates_appendv). */
static rv_err_t append_batches(rv__pstates_t *ps, const char *topic, int32_t partition,
                               rv__log_t *log, const struct iovec *iov, int n, int acks,
                               rv__append_info_t *info, char *errstr, size_t errstr_size) {
    rv__batch_hdr_t first, h;
    memset(&first, 0, sizeof first);
    bool first_parsed =
        n >= 1 && rv__batch_parse_header(&first, iov[0].iov_base, iov[0].iov_len) == 0;
    if (n < 1 || (n == 1 && (!first_parsed || first.producer_id < 0)))
        /* Not idempotent (or empty, or malformed: the log reports why). */
        return rv__log_appendv(log, iov, n, acks == -1 ? RV__APPEND_SYNC : 0, info, errstr,
                               errstr_size);
    int32_t last_seq = 0;
    for (int i = 0; i < n; i++) {
        h = first;
        bool parsed = i == 0 ? first_parsed
                             : rv__batch_parse_header(&h, iov[i].iov_base, iov[i].iov_len) == 0;
        if (!parsed || rv__batch_size(&h) != iov[i].iov_len) {
            if (n == 1) {
                rv__errstr_set(errstr, errstr_size,
                               "Produce requests from an idempotent producer must contain "
                               "exactly one record batch");
                return RV_ERR_INVALID_RECORD;
            }
            rv__errstr_set(errstr, errstr_size,
                           "Buffer %d of a vectored append to %s-%d is not one whole record batch",
                           i, topic, partition);
            return RV_ERR_CORRUPT_MESSAGE;
        }
        if (i > 0 &&
            (h.producer_id != first.producer_id || h.producer_epoch != first.producer_epoch ||
             (first.producer_id >= 0 && !in_sequence(last_seq, h.base_sequence)))) {
            rv__errstr_set(errstr, errstr_size,
                           "Batch %d of a vectored append to %s-%d does not continue the "
                           "producer's sequence",
                           i, topic, partition);
            return RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
        last_seq = seq_add(h.base_sequence, h.last_offset_delta);
    }
    if (first.producer_id < 0)
        return rv__log_appendv(log, iov, n, acks == -1 ? RV__APPEND_SYNC : 0, info, errstr,
                               errstr_size);
    if (first.base_sequence < 0) {
        rv__errstr_set(errstr, errstr_size,
                       "Invalid base sequence %d for producer %" PRId64 " in %s-%d",
                       first.base_sequence, first.producer_id, topic, partition);
        return RV_ERR_INVALID_RECORD;
    }
    ps_part_t *p = part_get(ps, topic, partition);
    if (!p) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    int32_t first_seq = first.base_sequence;
    int32_t first_last = seq_add(first_seq, first.last_offset_delta);
    rv_err_t err = RV_ERR_NO_ERROR;
    int64_t sync_to = -1;
    pthread_mutex_lock(&p->lock);
    if (p->log_gen != rv__log_generation(log))
        err = part_rebuild(p, log, errstr, errstr_size);
    const rv__pstate_batch_t *dup = NULL;
    if (!err)
        err = rv__pstate_check(&p->st, first.producer_id, first.producer_epoch, first_seq,
                               first_last, &dup, errstr, errstr_size);
    if (err == RV_ERR_DUPLICATE_SEQUENCE_NUMBER && n == 1) {
        /* A retry of a batch already in the log: answer as the first time. */
        memset(info, 0, sizeof *info);
        info->base_offset = dup->first_offset;
        info->last_offset = dup->last_offset;
        info->log_append_time = -1;
        info->log_start_offset = rv__log_start_offset(log);
        sync_to = dup->last_offset + 1;
        err = RV_ERR_NO_ERROR;
        rv__log_debug("PSTATE", "%s-%d: duplicate batch of producer %" PRId64 " seq %d..%d dropped",
                      topic, partition, first.producer_id, first_seq, first_last);
    } else if (err == RV_ERR_DUPLICATE_SEQUENCE_NUMBER) {
        rv__errstr_set(errstr, errstr_size,
                       "The first batch of a vectored append to %s-%d is a duplicate: append the "
                       "batches one at a time",
                       topic, partition);
    } else if (!err) {
        err = rv__log_appendv(log, iov, n, 0, info, errstr, errstr_size);
        if (!err) {
            int64_t now = rv__now_ms();
            for (int i = 0; i < n; i++) {
                /* The log wrote the assigned offsets into the batches. */
                rv__batch_parse_header(&h, iov[i].iov_base, iov[i].iov_len);
                rv__pstate_batch_t pb = {h.base_sequence,
                                         seq_add(h.base_sequence, h.last_offset_delta),
                                         h.base_offset, rv__batch_last_offset(&h), h.max_timestamp};
                if (rv__pstate_record(&p->st, h.producer_id, h.producer_epoch, &pb, now))
                    /* The batch is written; only the memory of it is lost,
                     * so rebuild from the log on the next append. */
                    p->log_gen = 0;
            }
            sync_to = info->last_offset + 1;
        }
    }
    pthread_mutex_unlock(&p->lock);
    part_put(ps, p);
    if (!err && acks == -1 && sync_to >= 0)
        err = rv__log_sync(log, sync_to);
    return err;
}

rv_err_t rv__pstates_append(rv__pstates_t *ps, const char *topic, int32_t partition, rv__log_t *log,
                            uint8_t *data, size_t len, int acks, rv__append_info_t *info,
                            char *errstr, size_t errstr_size) {
    struct iovec iov = {data, len};
    return append_batches(ps, topic, partition, log, &iov, 1, acks, info, errstr, errstr_size);
}

rv_err_t rv__pstates_appendv(rv__pstates_t *ps, const char *topic, int32_t partition,
                             rv__log_t *log, const struct iovec *iov, int iovcnt, int acks,
                             rv__append_info_t *info, char *errstr, size_t errstr_size) {
    return append_batches(ps, topic, partition, log, iov, iovcnt, acks, info, errstr, errstr_size);
}
