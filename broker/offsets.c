/* broker/offsets.c: the __consumer_offsets store (broker/offsets.h):
 * Kafka's OffsetCommit and GroupMetadata record formats, the group's
 * partition of the topic (GroupMetadataManager.partitionFor), the writes,
 * and the in-memory cache rebuilt by replaying the topic at open. The group
 * state machine that decides what to write is in
 * broker/group_coordinator.c.
 *
 * DESIGN
 *
 * On disk: the compacted internal topic __consumer_offsets, created on the
 * first write (as Kafka creates it on first use) with
 * offsets.topic.num.partitions partitions. A group's records all go to
 * partition abs(javaStringHashCode(group)) % partitions, so one partition
 * holds the whole history of a group and the order of its records is the
 * order of the writes. Keys are unique per (group, topic, partition) for
 * offsets and per group for metadata, so compaction keeps exactly the
 * latest value of each, and a tombstone (null value) deletes it; the cleaner
 * drops tombstones after delete.retention.ms.
 *
 * Every write is one uncompressed RecordBatch v2 (producer id/epoch/sequence
 * -1, timestamps = the commit time) appended with fsync before the call
 * returns: a commit that returned survives a crash.
 *
 * In memory: groups sorted by id; each group holds its committed offsets
 * sorted by (topic, partition) and the protocol type and generation of its
 * last GroupMetadata record. One mutex guards the cache and is held across
 * the append, so the cache changes in exactly the order of the log: a
 * replay after a restart rebuilds the same state.
 *
 * Replay (open): every partition is read from its log start to its high
 * watermark; records apply in offset order. Records with an unknown key
 * version, and batches that cannot be read (compressed ones, which we never
 * write), are logged and skipped rather than failing the broker. */
#include "broker/offsets.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errstr.h"
#include "common/logger.h"
#include "common/record_batch.h"

#define FAC "OFFSETS"
/* How much of a partition the replay reads per step. */
#define REPLAY_CHUNK (1024 * 1024)

typedef struct ofs_s {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_timestamp;
} ofs_t;

typedef struct ogroup_s {
    char *id;
    bool has_md;
    char *protocol_type;
    int32_t generation;
    ofs_t *offs;
    size_t cnt, cap;
} ogroup_t;

struct rv__offsets_s {
    pthread_mutex_t lock;
    rv__topics_t *topics;
    int32_t cfg_partitions;
    int32_t cfg_segment_bytes;
    int32_t partitions; /* of the existing topic; 0 = not known yet */
    ogroup_t **groups;
    size_t cnt, cap;
};

/* ---- Java's hashCode and partitionFor ---- */

/* Next code point of UTF-8 text; malformed bytes give U+FFFD as Java's
 * decoder does. */
static uint32_t utf8_next(const unsigned char **pp) {
    const unsigned char *p = *pp;
    uint32_t c = *p++;
    int n = 0;
    if (c < 0x80) {
        *pp = p;
        return c;
    } else if ((c & 0xe0) == 0xc0) {
        c &= 0x1f;
        n = 1;
    } else if ((c & 0xf0) == 0xe0) {
        c &= 0x0f;
        n = 2;
    } else if ((c & 0xf8) == 0xf0) {
        c &= 0x07;
        n = 3;
    } else {
        *pp = p;
        return 0xfffd;
    }
    for (int i = 0; i < n; i++) {
        if ((*p & 0xc0) != 0x80) {
            *pp = p;
            return 0xfffd;
        }
        c = (c << 6) | (*p++ & 0x3f);
    }
    *pp = p;
    return c > 0x10ffff ? 0xfffd : c;
}

int32_t rv__java_string_hash(const char *s) {
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = utf8_next(&p);
        if (c >= 0x10000) { /* a surrogate pair in UTF-16 */
            c -= 0x10000;
            h = 31 * h + (0xd800 + (c >> 10));
            h = 31 * h + (0xdc00 + (c & 0x3ff));
        } else {
            h = 31 * h + c;
        }
    }
    return (int32_t)h;
}

int32_t rv__offsets_partition_for(const char *group_id, int32_t partitions) {
    int32_t h = rv__java_string_hash(group_id);
    int32_t a = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return a % partitions;
}

/* ---- encoding ---- */

static rv_err_t put_str(rv__buf_t *b, const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n > INT16_MAX)
        return RV_ERR__INVALID_ARG;
    rv_err_t err = rv__buf_put_be16(b, (uint16_t)n);
    return err ? err : rv__buf_append(b, s, n);
}

static rv_err_t put_nstr(rv__buf_t *b, const char *s) {
    return s ? put_str(b, s) : rv__buf_put_be16(b, 0xffff);
}

static rv_err_t put_bytes(rv__buf_t *b, const void *p, size_t n) {
    if (n > INT32_MAX)
        return RV_ERR__INVALID_ARG;
    rv_err_t err = rv__buf_put_be32(b, (uint32_t)n);
    return err || !n ? err : rv__buf_append(b, p, n);
}

rv_err_t rv__offset_commit_key_encode(rv__buf_t *out, const char *group, const char *topic,
                                      int32_t partition) {
    rv_err_t err;
    if ((err = rv__buf_put_be16(out, 1)) || (err = put_str(out, group)) ||
        (err = put_str(out, topic)) || (err = rv__buf_put_be32(out, (uint32_t)partition)))
        return err;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__offset_commit_value_encode(rv__buf_t *out, int64_t offset, int32_t leader_epoch,
                                        const char *metadata, int64_t commit_timestamp) {
    rv_err_t err;
    if ((err = rv__buf_put_be16(out, 3)) || (err = rv__buf_put_be64(out, (uint64_t)offset)) ||
        (err = rv__buf_put_be32(out, (uint32_t)leader_epoch)) ||
        (err = put_str(out, metadata ? metadata : "")) ||
        (err = rv__buf_put_be64(out, (uint64_t)commit_timestamp)))
        return err;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__group_metadata_key_encode(rv__buf_t *out, const char *group) {
    rv_err_t err = rv__buf_put_be16(out, 2);
    return err ? err : put_str(out, group);
}

rv_err_t rv__group_metadata_value_encode(rv__buf_t *out, const rv__group_md_t *md) {
    rv_err_t err;
    if ((err = rv__buf_put_be16(out, 1)) || (err = put_str(out, md->protocol_type)) ||
        (err = rv__buf_put_be32(out, (uint32_t)md->generation)) ||
        (err = put_nstr(out, md->protocol)) || (err = put_nstr(out, md->leader)) ||
        (err = rv__buf_put_be32(out, (uint32_t)md->member_cnt)))
        return err;
    for (size_t i = 0; i < md->member_cnt; i++) {
        const rv__group_md_member_t *m = &md->members[i];
        if ((err = put_str(out, m->member_id)) || (err = put_str(out, m->client_id)) ||
            (err = put_str(out, m->client_host)) ||
            (err = rv__buf_put_be32(out, (uint32_t)m->rebalance_timeout_ms)) ||
            (err = rv__buf_put_be32(out, (uint32_t)m->session_timeout_ms)) ||
            (err = put_bytes(out, m->subscription, m->subscription_len)) ||
            (err = put_bytes(out, m->assignment, m->assignment_len)))
            return err;
    }
    return RV_ERR_NO_ERROR;
}

/* ---- decoding (replay) ---- */

/* A string into a fresh NUL-terminated copy; nullable strings give NULL
 * for -1. 0 or -1. */
static int get_str(rv__slice_t *s, char **out, bool nullable) {
    uint16_t n;
    const uint8_t *p;
    *out = NULL;
    if (rv__slice_be16(s, &n))
        return -1;
    if ((int16_t)n < 0)
        return nullable && (int16_t)n == -1 ? 0 : -1;
    if (rv__slice_bytes(s, n, &p) || !(*out = malloc((size_t)n + 1)))
        return -1;
    memcpy(*out, p, n);
    (*out)[n] = '\0';
    return 0;
}

/* ---- the cache ---- */

static void ogroup_free(ogroup_t *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->cnt; i++) {
        free(g->offs[i].topic);
        free(g->offs[i].metadata);
    }
    free(g->offs);
    free(g->protocol_type);
    free(g->id);
    free(g);
}

/* Index of the group or of where it would go; *found says which. */
static size_t group_pos(const rv__offsets_t *o, const char *id, bool *found) {
    size_t lo = 0, hi = o->cnt;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(o->groups[mid]->id, id);
        if (!c) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static ogroup_t *group_find(const rv__offsets_t *o, const char *id) {
    bool found;
    size_t i = group_pos(o, id, &found);
    return found ? o->groups[i] : NULL;
}

static ogroup_t *group_get(rv__offsets_t *o, const char *id) {
    bool found;
    size_t i = group_pos(o, id, &found);
    if (found)
        return o->groups[i];
    if (o->cnt == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        ogroup_t **n = realloc(o->groups, cap * sizeof *n);
        if (!n)
            return NULL;
        o->groups = n;
        o->cap = cap;
    }
    ogroup_t *g = calloc(1, sizeof *g);
    if (!g || !(g->id = strdup(id))) {
        free(g);
        return NULL;
    }
    memmove(&o->groups[i + 1], &o->groups[i], (o->cnt - i) * sizeof *o->groups);
    o->groups[i] = g;
    o->cnt++;
    return g;
}

static void group_drop(rv__offsets_t *o, const char *id) {
    bool found;
    size_t i = group_pos(o, id, &found);
    if (!found)
        return;
    ogroup_free(o->groups[i]);
    memmove(&o->groups[i], &o->groups[i + 1], (o->cnt - i - 1) * sizeof *o->groups);
    o->cnt--;
}

static int ofs_cmp(const char *topic, int32_t partition, const ofs_t *e) {
    int c = strcmp(topic, e->topic);
    if (c)
        return c;
    return partition < e->partition ? -1 : partition > e->partition;
}

static size_t ofs_pos(const ogroup_t *g, const char *topic, int32_t partition, bool *found) {
    size_t lo = 0, hi = g->cnt;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = ofs_cmp(topic, partition, &g->offs[mid]);
        if (!c) {
            *found = true;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Sets (value given) or removes (tombstone) one cached offset. */
static rv_err_t cache_set(rv__offsets_t *o, const char *group, const char *topic, int32_t partition,
                          bool tombstone, int64_t offset, int32_t epoch, const char *metadata,
                          int64_t ts) {
    ogroup_t *g = tombstone ? group_find(o, group) : group_get(o, group);
    if (!g)
        return tombstone ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    bool found;
    size_t i = ofs_pos(g, topic, partition, &found);
    if (tombstone) {
        if (found) {
            free(g->offs[i].topic);
            free(g->offs[i].metadata);
            memmove(&g->offs[i], &g->offs[i + 1], (g->cnt - i - 1) * sizeof *g->offs);
            g->cnt--;
        }
        if (!g->cnt && !g->has_md)
            group_drop(o, group);
        return RV_ERR_NO_ERROR;
    }
    char *md = strdup(metadata ? metadata : "");
    if (!md)
        return RV_ERR__NOMEM;
    if (!found) {
        if (g->cnt == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 8;
            ofs_t *n = realloc(g->offs, cap * sizeof *n);
            if (!n) {
                free(md);
                return RV_ERR__NOMEM;
            }
            g->offs = n;
            g->cap = cap;
        }
        char *t = strdup(topic);
        if (!t) {
            free(md);
            return RV_ERR__NOMEM;
        }
        memmove(&g->offs[i + 1], &g->offs[i], (g->cnt - i) * sizeof *g->offs);
        g->cnt++;
        g->offs[i].topic = t;
        g->offs[i].partition = partition;
        g->offs[i].metadata = NULL;
    }
    ofs_t *e = &g->offs[i];
    free(e->metadata);
    e->metadata = md;
    e->offset = offset;
    e->leader_epoch = epoch;
    e->commit_timestamp = ts;
    return RV_ERR_NO_ERROR;
}

static rv_err_t cache_set_group(rv__offsets_t *o, const char *group, const char *protocol_type,
                                int32_t generation) {
    if (!protocol_type) { /* tombstone */
        ogroup_t *g = group_find(o, group);
        if (g) {
            g->has_md = false;
            if (!g->cnt)
                group_drop(o, group);
        }
        return RV_ERR_NO_ERROR;
    }
    ogroup_t *g = group_get(o, group);
    char *pt = strdup(protocol_type);
    if (!g || !pt) {
        free(pt);
        return RV_ERR__NOMEM;
    }
    free(g->protocol_type);
    g->protocol_type = pt;
    g->generation = generation;
    g->has_md = true;
    return RV_ERR_NO_ERROR;
}

/* ---- replay ---- */

/* Applies one record of __consumer_offsets to the cache. */
static void apply_record(rv__offsets_t *o, const rv__record_t *r, int32_t partition) {
    rv__slice_t k;
    uint16_t kver;
    if (r->key_len < 2) {
        rv__log_warn(FAC, "%s-%d offset %lld: record without a key skipped", RV__OFFSETS_TOPIC,
                     partition, (long long)r->offset);
        return;
    }
    rv__slice_init(&k, r->key, (size_t)r->key_len);
    rv__slice_be16(&k, &kver);
    char *group = NULL, *topic = NULL, *md = NULL;
    if (kver == 0 || kver == 1) {
        uint32_t part;
        if (get_str(&k, &group, false) || get_str(&k, &topic, false) || rv__slice_be32(&k, &part))
            goto bad;
        if (r->value_len < 0) {
            cache_set(o, group, topic, (int32_t)part, true, 0, 0, NULL, 0);
        } else {
            rv__slice_t v;
            uint16_t vver;
            uint64_t off, ts = 0;
            uint32_t epoch = (uint32_t)-1;
            rv__slice_init(&v, r->value, (size_t)r->value_len);
            if (rv__slice_be16(&v, &vver) || rv__slice_be64(&v, &off))
                goto bad;
            if (vver >= 3 && rv__slice_be32(&v, &epoch))
                goto bad;
            /* v4 is v3 in the flexible encoding (compact strings): read
             * what v3 has; it never writes it, but Kafka 3.x can. */
            if (vver > 3) {
                uint64_t n;
                const uint8_t *p;
                if (rv__slice_uvarint(&v, &n) || !n || rv__slice_bytes(&v, n - 1, &p) ||
                    !(md = strndup((const char *)p, n - 1)))
                    goto bad;
            } else if (get_str(&v, &md, false)) {
                goto bad;
            }
            if (rv__slice_be64(&v, &ts))
                goto bad;
            cache_set(o, group, topic, (int32_t)part, false, (int64_t)off, (int32_t)epoch, md,
                      (int64_t)ts);
        }
    } else if (kver == 2) {
        if (get_str(&k, &group, false))
            goto bad;
        if (r->value_len < 0) {
            cache_set_group(o, group, NULL, 0);
        } else {
            rv__slice_t v;
            uint16_t vver;
            uint32_t gen;
            rv__slice_init(&v, r->value, (size_t)r->value_len);
            if (rv__slice_be16(&v, &vver) || vver > 3 || get_str(&v, &md, false) ||
                rv__slice_be32(&v, &gen))
                goto bad;
            cache_set_group(o, group, md, (int32_t)gen);
        }
    } else {
        rv__log_warn(FAC, "%s-%d offset %lld: unknown key version %u skipped", RV__OFFSETS_TOPIC,
                     partition, (long long)r->offset, kver);
    }
    free(group);
    free(topic);
    free(md);
    return;
bad:
    rv__log_warn(FAC, "%s-%d offset %lld: malformed record skipped", RV__OFFSETS_TOPIC, partition,
                 (long long)r->offset);
    free(group);
    free(topic);
    free(md);
}

static rv_err_t replay_partition(rv__offsets_t *o, int32_t partition, char *errstr,
                                 size_t errstr_size) {
    rv__topic_t *tp;
    rv__log_t *log;
    rv_err_t err =
        rv__topics_acquire(o->topics, RV__OFFSETS_TOPIC, partition, &tp, &log, errstr, errstr_size);
    if (err)
        return err;
    int64_t pos = rv__log_start_offset(log);
    rv__buf_t b = RV__BUF_INIT;
    for (;;) {
        rv__read_info_t info;
        b.len = 0;
        err = rv__log_read(log, pos, REPLAY_CHUNK, &b, &info, errstr, errstr_size);
        if (err || !b.len)
            break;
        size_t at = 0;
        while (at < b.len) {
            rv__batch_hdr_t h;
            if (rv__batch_parse_header(&h, b.data + at, b.len - at))
                break;
            size_t size = rv__batch_size(&h);
            rv__record_iter_t it;
            if (!(h.attributes & RV__ATTR_CONTROL) &&
                !rv__record_iter_init(&it, b.data + at, size)) {
                rv__record_t r;
                int rc;
                while ((rc = rv__record_iter_next(&it, &r)) == 1)
                    if (r.offset >= pos)
                        apply_record(o, &r, partition);
            } else if (!(h.attributes & RV__ATTR_CONTROL)) {
                rv__log_warn(FAC, "%s-%d: batch at offset %lld cannot be read; skipped",
                             RV__OFFSETS_TOPIC, partition, (long long)h.base_offset);
            }
            at += size;
        }
        if (info.next_offset <= pos)
            break;
        pos = info.next_offset;
    }
    rv__buf_free(&b);
    rv__topics_release(o->topics, tp);
    return err;
}

/* Learns the partition count of the existing topic; 0 when missing. */
static rv_err_t topic_partitions(rv__offsets_t *o, int32_t *n) {
    rv__topic_info_t info;
    char es[256];
    memset(&info, 0, sizeof info);
    rv_err_t err = rv__topics_describe(o->topics, RV__OFFSETS_TOPIC, &info, es, sizeof es);
    *n = 0;
    if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        return RV_ERR_NO_ERROR;
    if (err)
        return err;
    *n = info.partition_cnt;
    rv__topic_info_clear(&info);
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__offsets_open(rv__offsets_t **out, rv__topics_t *topics, int32_t partitions,
                          int32_t segment_bytes, char *errstr, size_t errstr_size) {
    rv__offsets_t *o = calloc(1, sizeof *o);
    if (!o) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    pthread_mutex_init(&o->lock, NULL);
    o->topics = topics;
    o->cfg_partitions = partitions > 0 ? partitions : 50;
    o->cfg_segment_bytes = segment_bytes > 0 ? segment_bytes : 104857600;
    rv_err_t err = topic_partitions(o, &o->partitions);
    for (int32_t p = 0; !err && p < o->partitions; p++)
        err = replay_partition(o, p, errstr, errstr_size);
    if (err) {
        rv__offsets_close(o);
        return err;
    }
    if (o->partitions)
        rv__log_info(FAC, "Loaded %zu group(s) from %s (%d partitions)", o->cnt, RV__OFFSETS_TOPIC,
                     o->partitions);
    *out = o;
    return RV_ERR_NO_ERROR;
}

void rv__offsets_close(rv__offsets_t *o) {
    if (!o)
        return;
    for (size_t i = 0; i < o->cnt; i++)
        ogroup_free(o->groups[i]);
    free(o->groups);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

void rv__offsets_set_topic_config(rv__offsets_t *o, int32_t partitions, int32_t segment_bytes) {
    pthread_mutex_lock(&o->lock);
    if (partitions > 0)
        o->cfg_partitions = partitions;
    if (segment_bytes > 0)
        o->cfg_segment_bytes = segment_bytes;
    pthread_mutex_unlock(&o->lock);
}

/* ---- writes ---- */

/* Creates the topic when missing. Called with the lock held. */
static rv_err_t ensure_topic(rv__offsets_t *o, char *errstr, size_t errstr_size) {
    if (o->partitions > 0)
        return RV_ERR_NO_ERROR;
    rv_err_t err = topic_partitions(o, &o->partitions);
    if (err || o->partitions > 0)
        return err;
    char seg[24];
    snprintf(seg, sizeof seg, "%d", o->cfg_segment_bytes);
    const char *names[] = {"cleanup.policy", "segment.bytes", "compression.type"};
    const char *values[] = {"compact", seg, "producer"};
    err = rv__topics_create(o->topics, RV__OFFSETS_TOPIC, o->cfg_partitions, 1, names, values, 3,
                            errstr, errstr_size);
    if (err && err != RV_ERR_TOPIC_ALREADY_EXISTS)
        return err;
    rv__log_info(FAC, "Created %s with %d partitions", RV__OFFSETS_TOPIC, o->cfg_partitions);
    err = topic_partitions(o, &o->partitions);
    if (!err && o->partitions <= 0) {
        rv__errstr_set(errstr, errstr_size, "%s vanished after its creation", RV__OFFSETS_TOPIC);
        err = RV_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    return err;
}

rv_err_t rv__offsets_create_topic(rv__offsets_t *o, char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&o->lock);
    rv_err_t err = ensure_topic(o, errstr, errstr_size);
    pthread_mutex_unlock(&o->lock);
    return err;
}

/* Appends one batch of records (values[i] NULL = tombstone) to the group's
 * partition and fsyncs. Called with the lock held. */
static rv_err_t write_records(rv__offsets_t *o, const char *group, const rv__buf_t *keys,
                              const rv__buf_t *values, const bool *tomb, size_t n, int64_t now_ms,
                              char *errstr, size_t errstr_size) {
    rv_err_t err = RV_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((err = ensure_topic(o, errstr, errstr_size)))
            return err;
        rv__buf_t batch = RV__BUF_INIT;
        rv__batch_builder_t bb;
        err = rv__batch_builder_begin(&bb, &batch, 0, 0, INT64_MIN, -1, -1, -1, -1);
        for (size_t i = 0; !err && i < n; i++)
            err = rv__batch_builder_add(&bb, (int64_t)i, now_ms, keys[i].data, (int32_t)keys[i].len,
                                        tomb[i] ? NULL : values[i].data,
                                        tomb[i] ? -1 : (int32_t)values[i].len, 0, NULL, 0);
        if (!err)
            err = rv__batch_builder_finish(&bb, -1);
        if (err) {
            rv__buf_free(&batch);
            rv__errstr_set(errstr, errstr_size, "Cannot build the %s batch: %s", RV__OFFSETS_TOPIC,
                           rv_err_str(err));
            return err;
        }
        int32_t part = rv__offsets_partition_for(group, o->partitions);
        rv__topic_t *tp;
        rv__log_t *log;
        err =
            rv__topics_acquire(o->topics, RV__OFFSETS_TOPIC, part, &tp, &log, errstr, errstr_size);
        if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION && !attempt) {
            /* Someone deleted the topic: create it again, as Kafka would. */
            o->partitions = 0;
            rv__buf_free(&batch);
            continue;
        }
        if (!err) {
            rv__append_info_t info;
            err = rv__log_append(log, batch.data, batch.len, RV__APPEND_SYNC, &info, errstr,
                                 errstr_size);
            rv__topics_release(o->topics, tp);
        }
        rv__buf_free(&batch);
        return err;
    }
    return err;
}

void rv__offsets_lock(rv__offsets_t *o) {
    pthread_mutex_lock(&o->lock);
}

void rv__offsets_unlock(rv__offsets_t *o) {
    pthread_mutex_unlock(&o->lock);
}

rv_err_t rv__offsets_commit_locked(rv__offsets_t *o, const char *group, rv__group_offset_t *offsets,
                                   size_t cnt, int64_t now_ms, char *errstr, size_t errstr_size) {
    rv__buf_t *keys = calloc(cnt ? cnt : 1, sizeof *keys);
    rv__buf_t *values = calloc(cnt ? cnt : 1, sizeof *values);
    bool *tomb = calloc(cnt ? cnt : 1, sizeof *tomb);
    size_t n = 0;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (!keys || !values || !tomb) {
        err = RV_ERR__NOMEM;
        goto done;
    }
    for (size_t i = 0; i < cnt && !err; i++) {
        if (offsets[i].err)
            continue;
        if ((err = rv__offset_commit_key_encode(&keys[n], group, offsets[i].topic,
                                                offsets[i].partition)) ||
            (err = rv__offset_commit_value_encode(&values[n], offsets[i].offset,
                                                  offsets[i].leader_epoch, offsets[i].metadata,
                                                  now_ms)))
            break;
        n++;
    }
    if (err || !n)
        goto done;
    err = write_records(o, group, keys, values, tomb, n, now_ms, errstr, errstr_size);
    for (size_t i = 0; !err && i < cnt; i++)
        if (!offsets[i].err)
            err =
                cache_set(o, group, offsets[i].topic, offsets[i].partition, false,
                          offsets[i].offset, offsets[i].leader_epoch, offsets[i].metadata, now_ms);
done:
    if (err == RV_ERR__NOMEM)
        rv__errstr_set(errstr, errstr_size, "Out of memory");
    for (size_t i = 0; keys && values && i < cnt; i++) {
        rv__buf_free(&keys[i]);
        rv__buf_free(&values[i]);
    }
    free(keys);
    free(values);
    free(tomb);
    return err;
}

rv_err_t rv__offsets_store_group(rv__offsets_t *o, const char *group, const rv__group_md_t *md,
                                 int64_t now_ms, char *errstr, size_t errstr_size) {
    rv__buf_t key = RV__BUF_INIT, value = RV__BUF_INIT;
    bool tomb = md == NULL;
    rv_err_t err = rv__group_metadata_key_encode(&key, group);
    if (!err && md)
        err = rv__group_metadata_value_encode(&value, md);
    if (!err) {
        pthread_mutex_lock(&o->lock);
        err = write_records(o, group, &key, &value, &tomb, 1, now_ms, errstr, errstr_size);
        if (!err)
            err =
                cache_set_group(o, group, md ? (md->protocol_type ? md->protocol_type : "") : NULL,
                                md ? md->generation : 0);
        pthread_mutex_unlock(&o->lock);
    }
    rv__buf_free(&key);
    rv__buf_free(&value);
    return err;
}

rv_err_t rv__offsets_delete_group(rv__offsets_t *o, const char *group, int64_t now_ms, char *errstr,
                                  size_t errstr_size) {
    pthread_mutex_lock(&o->lock);
    ogroup_t *g = group_find(o, group);
    if (!g) {
        pthread_mutex_unlock(&o->lock);
        return RV_ERR_NO_ERROR;
    }
    size_t n = g->cnt + 1;
    rv__buf_t *keys = calloc(n, sizeof *keys);
    rv__buf_t *values = calloc(n, sizeof *values);
    bool *tomb = calloc(n, sizeof *tomb);
    rv_err_t err = RV_ERR_NO_ERROR;
    if (!keys || !values || !tomb)
        err = RV_ERR__NOMEM;
    for (size_t i = 0; !err && i < g->cnt; i++) {
        tomb[i] = true;
        err = rv__offset_commit_key_encode(&keys[i], group, g->offs[i].topic, g->offs[i].partition);
    }
    if (!err) {
        tomb[n - 1] = true;
        err = rv__group_metadata_key_encode(&keys[n - 1], group);
    }
    if (!err)
        err = write_records(o, group, keys, values, tomb, n, now_ms, errstr, errstr_size);
    if (!err)
        group_drop(o, group);
    else if (err == RV_ERR__NOMEM)
        rv__errstr_set(errstr, errstr_size, "Out of memory");
    pthread_mutex_unlock(&o->lock);
    for (size_t i = 0; keys && i < n; i++)
        rv__buf_free(&keys[i]);
    free(keys);
    free(values);
    free(tomb);
    return err;
}

rv_err_t rv__offsets_delete_offsets(rv__offsets_t *o, const char *group,
                                    const rv__group_offset_t *offsets, size_t cnt, int64_t now_ms,
                                    char *errstr, size_t errstr_size) {
    rv__buf_t *keys = calloc(cnt ? cnt : 1, sizeof *keys);
    rv__buf_t *values = calloc(cnt ? cnt : 1, sizeof *values);
    bool *tomb = calloc(cnt ? cnt : 1, sizeof *tomb);
    size_t n = 0;
    bool locked = keys && values && tomb;
    rv_err_t err = locked ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    if (locked)
        pthread_mutex_lock(&o->lock);
    const ogroup_t *g = locked ? group_find(o, group) : NULL;
    /* Only offsets that exist get a tombstone (Kafka's removeOffsets);
     * the others are already gone. */
    for (size_t i = 0; g && !err && i < cnt; i++) {
        bool found;
        if (offsets[i].err || !offsets[i].topic)
            continue;
        (void)ofs_pos(g, offsets[i].topic, offsets[i].partition, &found);
        if (!found)
            continue;
        tomb[n] = true;
        err =
            rv__offset_commit_key_encode(&keys[n++], group, offsets[i].topic, offsets[i].partition);
    }
    if (!err && n)
        err = write_records(o, group, keys, values, tomb, n, now_ms, errstr, errstr_size);
    for (size_t i = 0; n && !err && i < cnt; i++)
        if (!offsets[i].err && offsets[i].topic)
            cache_set(o, group, offsets[i].topic, offsets[i].partition, true, -1, -1, NULL, now_ms);
    if (locked)
        pthread_mutex_unlock(&o->lock);
    if (err == RV_ERR__NOMEM)
        rv__errstr_set(errstr, errstr_size, "Out of memory");
    for (size_t i = 0; keys && i < n; i++)
        rv__buf_free(&keys[i]);
    free(keys);
    free(values);
    free(tomb);
    return err;
}

/* ---- reads ---- */

static rv_err_t committed_fill(rv__group_committed_t *c, const char *topic, int32_t partition,
                               const ofs_t *e) {
    c->topic = strdup(topic);
    c->partition = partition;
    c->offset = e ? e->offset : -1;
    c->leader_epoch = e ? e->leader_epoch : -1;
    c->metadata = strdup(e ? e->metadata : "");
    c->commit_timestamp = e ? e->commit_timestamp : -1;
    return c->topic && c->metadata ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

rv_err_t rv__offsets_fetch(rv__offsets_t *o, const char *group, const rv__group_tp_t *tps,
                           size_t tp_cnt, rv__group_committed_t **out, size_t *out_cnt) {
    *out = NULL;
    *out_cnt = 0;
    pthread_mutex_lock(&o->lock);
    const ogroup_t *g = group_find(o, group);
    size_t n = tps ? tp_cnt : (g ? g->cnt : 0);
    rv__group_committed_t *arr = calloc(n ? n : 1, sizeof *arr);
    rv_err_t err = arr ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
    for (size_t i = 0; !err && i < n; i++) {
        if (tps) {
            const ofs_t *e = NULL;
            bool found = false;
            size_t at = g ? ofs_pos(g, tps[i].topic, tps[i].partition, &found) : 0;
            if (found)
                e = &g->offs[at];
            err = committed_fill(&arr[i], tps[i].topic, tps[i].partition, e);
        } else {
            err = committed_fill(&arr[i], g->offs[i].topic, g->offs[i].partition, &g->offs[i]);
        }
    }
    pthread_mutex_unlock(&o->lock);
    if (err) {
        rv__group_committed_free(arr, n);
        return err;
    }
    *out = arr;
    *out_cnt = n;
    return RV_ERR_NO_ERROR;
}

void rv__offsets_foreach_group(rv__offsets_t *o, rv__offsets_group_cb *cb, void *opaque) {
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->cnt; i++) {
        const ogroup_t *g = o->groups[i];
        cb(g->id, g->has_md && g->protocol_type ? g->protocol_type : "",
           g->has_md ? g->generation : 0, opaque);
    }
    pthread_mutex_unlock(&o->lock);
}
