/* broker/topics.c: the topic registry of one data folder, the embedded
 * broker's log manager. It keeps every topic's metadata (name, id,
 * partition count, explicitly set configs) on disk and in memory, owns the
 * partition logs (broker/log/log.h), writes Kafka's offset checkpoint files
 * and implements the topic admin operations that client/admin.c exposes.
 * broker/broker.c owns the registry, the folder lock and the housekeeping
 * thread that calls rv__topics_housekeep().
 *
 * DESIGN
 *
 * Data folder layout (as Kafka's log.dirs, plus a metadata folder):
 *
 *   DIR/.lock                              held by the owning process (broker.c)
 *   DIR/<topic>-<partition>/               one partition log (broker/log)
 *   DIR/recovery-point-offset-checkpoint   Kafka's OffsetCheckpointFile
 *   DIR/log-start-offset-checkpoint        Kafka's OffsetCheckpointFile
 *   DIR/__meta/<topic-id>.meta             one file per topic (msgpack)
 *
 * "__meta" cannot be a partition folder (no "-<partition>" suffix). Metadata
 * files are named by topic id rather than by name so that the temporary
 * file of an atomic write ("<id>.meta.tmp") can never be another topic's
 * file and the name stays within NAME_MAX for 249-character topic names.
 *
 * A metadata file is a msgpack map:
 *   {"version": 1, "name": str, "id": bin(16), "partitions": int,
 *    "replication_factor": 1, "configs": {name: value, ...}}
 * holding only the explicitly set configs; defaults come from the table in
 * broker/topic_config.c, so a changed default applies to existing topics
 * as in Kafka. Files are replaced with rv__io_write_file_atomic() (temp
 * file, fsync, rename, fsync of the folder).
 *
 * Checkpoint files are Kafka's text format: a line "0" (version), a line
 * with the entry count, then one "topic partition offset" line per entry.
 * recovery-point-offset-checkpoint says below which offset each log was
 * fsync'd, so recovery only validates the tail; log-start-offset-checkpoint
 * keeps delete-records and retention effective across restarts. Missing
 * entries mean recovery point 0 (validate everything) and log start -1
 * (the first segment's base offset).
 *
 * Ordering (crash safety):
 * - create: partition folders first, metadata file last. The metadata file
 *   is the commit point: a crash before it leaves folders without metadata,
 *   which the next open removes as orphans.
 * - delete: metadata first, then the folders (again, orphans otherwise).
 * - create partitions: new folders, then the metadata with the new count;
 *   folders past the persisted count are orphans on the next open.
 * - alter configs: metadata first, then the live logs.
 * - delete-records: the log start checkpoint is written before returning.
 * - Folders named "*-delete" (Kafka's deferred deletion) are removed on
 *   open.
 *
 * Concurrency: `lock` guards the sorted topic array, each topic's mutable
 * fields (partition count, logs array, configs) and refcounts. Admin
 * operations are serialised by `admin_lock` (taken before `lock` and before
 * `ckpt_lock`), so an admin operation may read a topic's fields without
 * `lock`; it takes `lock` only to change them. The data path and the
 * housekeeping take a reference on the topic under `lock` and then use the
 * log without it (the log is thread-safe). A log pointer never changes
 * while its topic lives; the logs array may be reallocated (create
 * partitions), so readers copy pointers out under `lock`. Deleting a topic
 * unlinks it from the array (no new references), then waits on `released`
 * until only its own reference remains before removing the logs. Lock
 * order: admin_lock -> ckpt_lock -> lock -> a log's own locks. */
#include "broker/topics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/topic_config.h"
#include "common/errstr.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/logger.h"

#define TOPIC_MAX_NAME_LEN 249
#define META_VERSION 1
#define META_SUFFIX ".meta"

struct rv__topic_s {
    char *name;
    uint8_t id[16];
    char id_str[23];
    int32_t partition_cnt; /* under lock */
    rv__log_t **logs;      /* [partition_cnt]; the array under lock */
    size_t config_cnt;     /* explicitly set configs, under lock */
    char **cfg_names;
    char **cfg_values;
    rv__log_config_t log_cfg; /* under lock */
    int refcnt;               /* under lock; the registry holds one */
    bool deleted;
};

struct rv__topics_s {
    char *dir;
    pthread_mutex_t admin_lock;
    pthread_mutex_t ckpt_lock;
    pthread_mutex_t lock;
    pthread_cond_t released;
    rv__topic_t **topics; /* sorted by name */
    size_t cnt, cap;
    rv__buf_t last_rp; /* last checkpoint contents written, under ckpt_lock */
    rv__buf_t last_ls;
};

static rv_err_t unknown_topic(char *errstr, size_t errstr_size, const char *name) {
    rv__errstr_set(errstr, errstr_size, "Topic '%s' does not exist.", name);
    return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

/* ---- names and ids ---- */

rv_err_t rv__topic_name_validate(const char *name, char *errstr, size_t errstr_size) {
    if (!name || !*name) {
        rv__errstr_set(errstr, errstr_size, "Topic name is illegal, it can't be empty");
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        rv__errstr_set(errstr, errstr_size, "Topic name cannot be \".\" or \"..\"");
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (strlen(name) > TOPIC_MAX_NAME_LEN) {
        rv__errstr_set(
            errstr, errstr_size,
            "Topic name is illegal, it can't be longer than %d characters, topic name: %s",
            TOPIC_MAX_NAME_LEN, name);
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    }
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            rv__errstr_set(errstr, errstr_size,
                           "Topic name \"%s\" is illegal, it contains a character other than ASCII "
                           "alphanumerics, '.', '_' and '-'",
                           name);
            return RV_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    return RV_ERR_NO_ERROR;
}

bool rv__topic_names_collide(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

void rv__topic_id_to_str(const uint8_t id[16], char out[23]) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id[i] << 16;
        size_t n = 16 - i >= 3 ? 3 : 16 - i;
        if (n > 1)
            v |= (uint32_t)id[i + 1] << 8;
        if (n > 2)
            v |= id[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (n > 1)
            out[o++] = b64[(v >> 6) & 63];
        if (n > 2)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
}

static int random_bytes(uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return 0;
    /* Kernels without getrandom(2): fall back to the device. */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

/* Kafka's Uuid.randomUuid(): a version 4 UUID, never the zero id nor one
 * whose text starts with '-' (it would look like a command-line flag). */
static int new_topic_id(uint8_t id[16], char str[23]) {
    for (;;) {
        if (random_bytes(id, 16))
            return -1;
        id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
        id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
        rv__topic_id_to_str(id, str);
        if (str[0] != '-')
            return 0;
    }
}

/* ---- topic objects ---- */

static void strv_free(char **v, size_t n) {
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void topic_free(rv__topic_t *tp) {
    if (!tp)
        return;
    free(tp->name);
    free(tp->logs);
    strv_free(tp->cfg_names, tp->config_cnt);
    strv_free(tp->cfg_values, tp->config_cnt);
    free(tp);
}

/* Index of `name` in the sorted array, or where it would go (*found 0). */
static size_t find_pos(const rv__topics_t *t, const char *name, bool *found) {
    size_t lo = 0, hi = t->cnt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->topics[mid]->name, name);
        if (c == 0) {
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

static rv__topic_t *find_topic(const rv__topics_t *t, const char *name) {
    bool found;
    size_t i = find_pos(t, name, &found);
    return found ? t->topics[i] : NULL;
}

/* Inserts under lock; the array must have room (ensure_room). */
static void insert_topic(rv__topics_t *t, rv__topic_t *tp) {
    bool found;
    size_t i = find_pos(t, tp->name, &found);
    rv_assert(!found && t->cnt < t->cap);
    memmove(&t->topics[i + 1], &t->topics[i], (t->cnt - i) * sizeof *t->topics);
    t->topics[i] = tp;
    t->cnt++;
}

static rv_err_t ensure_room(rv__topics_t *t) {
    if (t->cnt < t->cap)
        return RV_ERR_NO_ERROR;
    size_t cap = t->cap ? t->cap * 2 : 16;
    rv__topic_t **n = realloc(t->topics, cap * sizeof *n);
    if (!n)
        return RV_ERR__NOMEM;
    t->topics = n;
    t->cap = cap;
    return RV_ERR_NO_ERROR;
}

static int path_fmt(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int path_fmt(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Copies n strings (NULL entries become NULL). */
static char **strv_dup(const char *const *v, size_t n) {
    char **o = calloc(n ? n : 1, sizeof *o);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i] && !(o[i] = strdup(v[i]))) {
            strv_free(o, n);
            return NULL;
        }
    }
    return o;
}

/* A copy of s without surrounding whitespace: values are stored as the
 * checker understood them (it trims, as Kafka's ConfigDef does). */
static char *strdup_trim(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return strndup(s, n);
}

/* ---- metadata files ---- */

static int pack_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

static rv_err_t meta_write(rv__topics_t *t, const char *name, const uint8_t id[16],
                           const char *id_str, int32_t partitions, char *const *cfg_names,
                           char *const *cfg_values, size_t cfg_cnt, char *errstr,
                           size_t errstr_size) {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int bad = msgpack_pack_map(&pk, 6);
    bad = bad || pack_str(&pk, "version") || msgpack_pack_int32(&pk, META_VERSION);
    bad = bad || pack_str(&pk, "name") || pack_str(&pk, name);
    bad = bad || pack_str(&pk, "id") || msgpack_pack_bin(&pk, 16) ||
          msgpack_pack_bin_body(&pk, id, 16);
    bad = bad || pack_str(&pk, "partitions") || msgpack_pack_int32(&pk, partitions);
    bad = bad || pack_str(&pk, "replication_factor") || msgpack_pack_int32(&pk, 1);
    bad = bad || pack_str(&pk, "configs") || msgpack_pack_map(&pk, cfg_cnt);
    for (size_t i = 0; !bad && i < cfg_cnt; i++)
        bad = pack_str(&pk, cfg_names[i]) || pack_str(&pk, cfg_values[i]);
    rv_err_t err;
    char path[PATH_MAX];
    if (bad) {
        rv__errstr_set(errstr, errstr_size, "Out of memory encoding the metadata of topic %s",
                       name);
        err = RV_ERR__NOMEM;
    } else if (path_fmt(path, sizeof path, "%s/%s/%s%s", t->dir, RV__TOPICS_META_DIR, id_str,
                        META_SUFFIX)) {
        rv__errstr_set(errstr, errstr_size, "Path too long in data folder %s", t->dir);
        err = RV_ERR__INVALID_ARG;
    } else {
        err = rv__io_write_file_atomic(path, sb.data, sb.size, errstr, errstr_size);
    }
    msgpack_sbuffer_destroy(&sb);
    return err;
}

static bool obj_is_str(const msgpack_object *o, const char *s) {
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           !memcmp(o->via.str.ptr, s, o->via.str.size);
}

static char *obj_strdup(const msgpack_object *o) {
    if (o->type != MSGPACK_OBJECT_STR)
        return NULL;
    char *s = malloc(o->via.str.size + 1);
    if (!s)
        return NULL;
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    return s;
}

/* Decodes one metadata file into a new topic (no logs yet). */
static rv_err_t meta_decode(rv__topic_t **out, const uint8_t *data, size_t len, const char *path,
                            char *errstr, size_t errstr_size) {
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    rv_err_t err = RV_ERR__BAD_MSG;
    rv__topic_t *tp = calloc(1, sizeof *tp);
    if (!tp) {
        msgpack_unpacked_destroy(&up);
        return RV_ERR__NOMEM;
    }
    tp->refcnt = 1;
    bool have_id = false;
    int64_t parts = -1;
    if (msgpack_unpack_next(&up, (const char *)data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP)
        goto bad;
    const msgpack_object_map *m = &up.data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        if (obj_is_str(k, "version")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != META_VERSION)
                goto bad;
        } else if (obj_is_str(k, "name")) {
            free(tp->name);
            if (!(tp->name = obj_strdup(v)))
                goto bad;
        } else if (obj_is_str(k, "id")) {
            if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != 16)
                goto bad;
            memcpy(tp->id, v->via.bin.ptr, 16);
            have_id = true;
        } else if (obj_is_str(k, "partitions")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 < 1 ||
                v->via.u64 > INT32_MAX)
                goto bad;
            parts = (int64_t)v->via.u64;
        } else if (obj_is_str(k, "configs")) {
            if (v->type != MSGPACK_OBJECT_MAP || tp->cfg_names)
                goto bad;
            const msgpack_object_map *cm = &v->via.map;
            size_t n = cm->size;
            tp->cfg_names = calloc(n ? n : 1, sizeof(char *));
            tp->cfg_values = calloc(n ? n : 1, sizeof(char *));
            if (!tp->cfg_names || !tp->cfg_values)
                goto bad;
            tp->config_cnt = n;
            for (size_t j = 0; j < n; j++) {
                tp->cfg_names[j] = obj_strdup(&cm->ptr[j].key);
                tp->cfg_values[j] = obj_strdup(&cm->ptr[j].val);
                if (!tp->cfg_names[j] || !tp->cfg_values[j])
                    goto bad;
            }
        }
        /* Other keys (replication_factor, later additions) are ignored. */
    }
    if (!tp->name || !have_id || parts < 1 || rv__topic_name_validate(tp->name, NULL, 0))
        goto bad;
    tp->partition_cnt = (int32_t)parts;
    rv__topic_id_to_str(tp->id, tp->id_str);
    rv__topic_config_to_log(&tp->log_cfg, (const char *const *)tp->cfg_names,
                            (const char *const *)tp->cfg_values, tp->config_cnt);
    msgpack_unpacked_destroy(&up);
    *out = tp;
    return RV_ERR_NO_ERROR;
bad:
    rv__errstr_set(errstr, errstr_size, "Topic metadata file %s is not valid", path);
    msgpack_unpacked_destroy(&up);
    topic_free(tp);
    return err;
}

/* ---- checkpoint files ---- */

typedef struct ckpt_entry_s {
    char *topic;
    int32_t partition;
    int64_t offset;
} ckpt_entry_t;

typedef struct ckpt_s {
    ckpt_entry_t *v;
    size_t cnt;
} ckpt_t;

static void ckpt_free(ckpt_t *c) {
    for (size_t i = 0; i < c->cnt; i++)
        free(c->v[i].topic);
    free(c->v);
    c->v = NULL;
    c->cnt = 0;
}

static int64_t ckpt_get(const ckpt_t *c, const char *topic, int32_t partition, int64_t dflt) {
    for (size_t i = 0; i < c->cnt; i++)
        if (c->v[i].partition == partition && !strcmp(c->v[i].topic, topic))
            return c->v[i].offset;
    return dflt;
}

/* Reads a Kafka OffsetCheckpointFile. A missing file is empty; a malformed
 * one is logged and treated as missing (the safe defaults: recover
 * everything, start at the first segment). */
static rv_err_t ckpt_read(rv__topics_t *t, const char *file, ckpt_t *c, char *errstr,
                          size_t errstr_size) {
    char path[PATH_MAX];
    memset(c, 0, sizeof *c);
    if (path_fmt(path, sizeof path, "%s/%s", t->dir, file)) {
        rv__errstr_set(errstr, errstr_size, "Path too long in data folder %s", t->dir);
        return RV_ERR__INVALID_ARG;
    }
    rv__buf_t b = RV__BUF_INIT;
    rv_err_t err = rv__io_read_file(path, &b, errstr, errstr_size);
    if (err == RV_ERR__NOENT) {
        rv__buf_free(&b);
        return RV_ERR_NO_ERROR;
    }
    if (err) {
        rv__buf_free(&b);
        return err;
    }
    if (rv__buf_append(&b, "", 1)) { /* NUL-terminate for parsing */
        rv__buf_free(&b);
        return RV_ERR__NOMEM;
    }
    char *s = (char *)b.data, *save = NULL;
    char *line = strtok_r(s, "\n", &save);
    long long version = -1, count = -1;
    bool ok = line && sscanf(line, "%lld", &version) == 1 && version == 0;
    line = ok ? strtok_r(NULL, "\n", &save) : NULL;
    /* Each entry takes a line, so a count past the file's size is corrupt:
     * refuse it before allocating by it. */
    ok = ok && line && sscanf(line, "%lld", &count) == 1 && count >= 0 && count < 100000000 &&
         (size_t)count <= b.len;
    if (ok && count > 0 && !(c->v = calloc((size_t)count, sizeof *c->v))) {
        rv__buf_free(&b);
        return RV_ERR__NOMEM;
    }
    for (long long i = 0; ok && i < count; i++) {
        line = strtok_r(NULL, "\n", &save);
        char name[TOPIC_MAX_NAME_LEN + 2];
        int part;
        long long offset;
        if (!line || sscanf(line, "%250s %d %lld", name, &part, &offset) != 3 ||
            strlen(name) > TOPIC_MAX_NAME_LEN) {
            ok = false;
            break;
        }
        if (!(c->v[c->cnt].topic = strdup(name))) {
            ckpt_free(c);
            rv__buf_free(&b);
            return RV_ERR__NOMEM;
        }
        c->v[c->cnt].partition = part;
        c->v[c->cnt].offset = offset;
        c->cnt++;
    }
    if (!ok) {
        rv__log_warn("TOPIC", "Ignoring malformed checkpoint file %s", path);
        ckpt_free(c);
    }
    rv__buf_free(&b);
    return RV_ERR_NO_ERROR;
}

/* ---- snapshots of the registry for the data path and housekeeping ---- */

typedef struct snap_topic_s {
    rv__topic_t *tp; /* referenced */
    rv__log_t **logs;
    int32_t cnt;
    bool compact, del;
} snap_topic_t;

typedef struct snap_s {
    snap_topic_t *v;
    size_t cnt;
} snap_t;

static void snap_release(rv__topics_t *t, snap_t *s) {
    for (size_t i = 0; i < s->cnt; i++) {
        rv__topics_release(t, s->v[i].tp);
        free(s->v[i].logs);
    }
    free(s->v);
    s->v = NULL;
    s->cnt = 0;
}

/* References every topic and copies its log pointers. */
static rv_err_t snap_take(rv__topics_t *t, snap_t *s) {
    s->v = NULL;
    s->cnt = 0;
    pthread_mutex_lock(&t->lock);
    if (t->cnt && !(s->v = calloc(t->cnt, sizeof *s->v))) {
        pthread_mutex_unlock(&t->lock);
        return RV_ERR__NOMEM;
    }
    for (size_t i = 0; i < t->cnt; i++) {
        rv__topic_t *tp = t->topics[i];
        snap_topic_t *st = &s->v[s->cnt];
        st->logs = malloc((size_t)tp->partition_cnt * sizeof *st->logs);
        if (!st->logs) {
            pthread_mutex_unlock(&t->lock);
            snap_release(t, s);
            return RV_ERR__NOMEM;
        }
        memcpy(st->logs, tp->logs, (size_t)tp->partition_cnt * sizeof *st->logs);
        st->cnt = tp->partition_cnt;
        st->compact = tp->log_cfg.cleanup_compact;
        st->del = tp->log_cfg.cleanup_delete;
        st->tp = tp;
        tp->refcnt++;
        s->cnt++;
    }
    pthread_mutex_unlock(&t->lock);
    return RV_ERR_NO_ERROR;
}

/* ---- checkpoint writing ---- */

static rv_err_t ckpt_write_one(rv__topics_t *t, const char *file, rv__buf_t *text, rv__buf_t *last,
                               char *errstr, size_t errstr_size) {
    if (last->data && last->len == text->len && !memcmp(last->data, text->data, text->len))
        return RV_ERR_NO_ERROR;
    char path[PATH_MAX];
    if (path_fmt(path, sizeof path, "%s/%s", t->dir, file)) {
        rv__errstr_set(errstr, errstr_size, "Path too long in data folder %s", t->dir);
        return RV_ERR__INVALID_ARG;
    }
    rv_err_t err = rv__io_write_file_atomic(path, text->data, text->len, errstr, errstr_size);
    if (err)
        return err;
    /* Remember what is on disk so an unchanged state is not rewritten. */
    rv__buf_t tmp = *last;
    *last = *text;
    *text = tmp;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__topics_checkpoint(rv__topics_t *t, char *errstr, size_t errstr_size) {
    rv__buf_t rp = RV__BUF_INIT, ls = RV__BUF_INIT;
    snap_t s;
    pthread_mutex_lock(&t->ckpt_lock);
    rv_err_t err = snap_take(t, &s);
    if (err) {
        pthread_mutex_unlock(&t->ckpt_lock);
        return err;
    }
    size_t n = 0;
    for (size_t i = 0; i < s.cnt; i++)
        n += (size_t)s.v[i].cnt;
    err = rv__buf_printf(&rp, "0\n%zu\n", n);
    if (!err)
        err = rv__buf_printf(&ls, "0\n%zu\n", n);
    for (size_t i = 0; !err && i < s.cnt; i++) {
        for (int32_t p = 0; !err && p < s.v[i].cnt; p++) {
            err = rv__buf_printf(&rp, "%s %d %lld\n", s.v[i].tp->name, p,
                                 (long long)rv__log_recovery_point(s.v[i].logs[p]));
            if (!err)
                err = rv__buf_printf(&ls, "%s %d %lld\n", s.v[i].tp->name, p,
                                     (long long)rv__log_start_offset(s.v[i].logs[p]));
        }
    }
    snap_release(t, &s);
    if (err)
        rv__errstr_set(errstr, errstr_size, "Out of memory writing checkpoints");
    if (!err)
        err =
            ckpt_write_one(t, RV__RECOVERY_POINT_CHECKPOINT, &rp, &t->last_rp, errstr, errstr_size);
    if (!err)
        err = ckpt_write_one(t, RV__LOG_START_CHECKPOINT, &ls, &t->last_ls, errstr, errstr_size);
    pthread_mutex_unlock(&t->ckpt_lock);
    rv__buf_free(&rp);
    rv__buf_free(&ls);
    return err;
}

/* ---- open / close ---- */

static void close_logs(rv__log_t **logs, int32_t from, int32_t to, bool remove) {
    for (int32_t p = from; p < to; p++) {
        if (!logs[p])
            continue;
        if (remove)
            rv__log_delete(logs[p]);
        else
            rv__log_close(logs[p]);
        logs[p] = NULL;
    }
}

/* Opens partitions [from, to) of tp into logs[]. Existing folders are kept
 * (`fresh` false: open at start-up) or first removed as leftovers of a
 * failed operation (`fresh` true: a new partition). */
static rv_err_t open_logs(rv__topics_t *t, rv__topic_t *tp, rv__log_t **logs, int32_t from,
                          int32_t to, bool fresh, const ckpt_t *rp, const ckpt_t *ls, char *errstr,
                          size_t errstr_size) {
    for (int32_t p = from; p < to; p++) {
        char path[PATH_MAX];
        if (path_fmt(path, sizeof path, "%s/%s-%d", t->dir, tp->name, p)) {
            rv__errstr_set(errstr, errstr_size, "Path too long in data folder %s", t->dir);
            close_logs(logs, from, p, fresh);
            return RV_ERR__INVALID_ARG;
        }
        if (fresh)
            rv__io_rmtree(path);
        int64_t recovery = rp ? ckpt_get(rp, tp->name, p, 0) : 0;
        int64_t start = ls ? ckpt_get(ls, tp->name, p, -1) : -1;
        rv_err_t err =
            rv__log_open(&logs[p], path, &tp->log_cfg, recovery, start, errstr, errstr_size);
        if (err) {
            logs[p] = NULL;
            close_logs(logs, from, p, fresh);
            return err;
        }
    }
    return RV_ERR_NO_ERROR;
}

static bool is_dir(const char *dir, const struct dirent *de) {
    if (de->d_type == DT_DIR)
        return true;
    if (de->d_type != DT_UNKNOWN)
        return false;
    char path[PATH_MAX];
    struct stat st;
    return !path_fmt(path, sizeof path, "%s/%s", dir, de->d_name) && !stat(path, &st) &&
           S_ISDIR(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Loads every __meta/<id>.meta file; leftover temporary files go. */
static rv_err_t load_meta(rv__topics_t *t, char *errstr, size_t errstr_size) {
    char mdir[PATH_MAX];
    if (path_fmt(mdir, sizeof mdir, "%s/%s", t->dir, RV__TOPICS_META_DIR)) {
        rv__errstr_set(errstr, errstr_size, "Path too long in data folder %s", t->dir);
        return RV_ERR__INVALID_ARG;
    }
    if (rv__io_mkdirs(mdir, 0755)) {
        rv__errstr_set(errstr, errstr_size, "Cannot create %s: %s", mdir, strerror(errno));
        return RV_ERR__IO;
    }
    DIR *d = opendir(mdir);
    if (!d) {
        rv__errstr_set(errstr, errstr_size, "Cannot read %s: %s", mdir, strerror(errno));
        return RV_ERR__IO;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    struct dirent *de;
    while (!err && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (path_fmt(path, sizeof path, "%s/%s", mdir, de->d_name))
            continue;
        if (!ends_with(de->d_name, META_SUFFIX)) {
            /* A temporary file of an interrupted atomic write: the old file
             * (or none, for an uncommitted create) is the truth. */
            rv__log_info("TOPIC", "Removing leftover file %s", path);
            unlink(path);
            continue;
        }
        rv__buf_t b = RV__BUF_INIT;
        rv__topic_t *tp = NULL;
        err = rv__io_read_file(path, &b, errstr, errstr_size);
        if (!err)
            err = meta_decode(&tp, b.data, b.len, path, errstr, errstr_size);
        rv__buf_free(&b);
        if (err)
            break;
        size_t idlen = strlen(tp->id_str);
        if (strncmp(de->d_name, tp->id_str, idlen) || strcmp(de->d_name + idlen, META_SUFFIX)) {
            rv__errstr_set(errstr, errstr_size, "Topic metadata file %s holds topic %s with id %s",
                           path, tp->name, tp->id_str);
            err = RV_ERR__BAD_MSG;
        } else if (find_topic(t, tp->name)) {
            rv__errstr_set(errstr, errstr_size, "Topic %s is defined twice in %s", tp->name, mdir);
            err = RV_ERR__BAD_MSG;
        } else if (!(err = ensure_room(t))) {
            insert_topic(t, tp);
            tp = NULL;
        }
        topic_free(tp);
    }
    closedir(d);
    return err;
}

/* Parses "<topic>-<partition>"; returns the partition or -1. */
static int32_t parse_partition_dir(const char *name, char *topic, size_t topic_size) {
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1])
        return -1;
    int64_t p = 0;
    for (const char *c = dash + 1; *c; c++) {
        if (*c < '0' || *c > '9' || p > INT32_MAX / 10)
            return -1;
        p = p * 10 + (*c - '0');
    }
    if (p > INT32_MAX || (size_t)(dash - name) >= topic_size)
        return -1;
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = '\0';
    return (int32_t)p;
}

/* Removes partition folders no committed metadata accounts for and folders
 * left by a deferred deletion. */
static void remove_orphans(rv__topics_t *t) {
    DIR *d = opendir(t->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, RV__TOPICS_META_DIR) || !is_dir(t->dir, de))
            continue;
        char path[PATH_MAX];
        if (path_fmt(path, sizeof path, "%s/%s", t->dir, de->d_name))
            continue;
        if (ends_with(de->d_name, "-delete")) {
            rv__log_info("TOPIC", "Removing %s (deleted topic partition)", path);
            rv__io_rmtree(path);
            continue;
        }
        char topic[PATH_MAX];
        int32_t p = parse_partition_dir(de->d_name, topic, sizeof topic);
        if (p < 0 || rv__topic_name_validate(topic, NULL, 0))
            continue; /* not ours: leave foreign folders alone */
        rv__topic_t *tp = find_topic(t, topic);
        if (tp && p < tp->partition_cnt)
            continue;
        rv__log_warn("TOPIC",
                     "Removing orphan partition folder %s (%s): an interrupted create, delete or "
                     "create-partitions left it",
                     path, tp ? "partition past the topic's count" : "no topic metadata");
        rv__io_rmtree(path);
    }
    closedir(d);
}

static void topics_free(rv__topics_t *t) {
    pthread_mutex_destroy(&t->admin_lock);
    pthread_mutex_destroy(&t->ckpt_lock);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->released);
    for (size_t i = 0; i < t->cnt; i++) {
        rv__topic_t *tp = t->topics[i];
        if (tp->logs)
            close_logs(tp->logs, 0, tp->partition_cnt, false);
        topic_free(tp);
    }
    free(t->topics);
    rv__buf_free(&t->last_rp);
    rv__buf_free(&t->last_ls);
    free(t->dir);
    free(t);
}

rv_err_t rv__topics_open(rv__topics_t **out, const char *dir, char *errstr, size_t errstr_size) {
    rv__topics_t *t = calloc(1, sizeof *t);
    if (!t || !(t->dir = strdup(dir))) {
        free(t);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    pthread_mutex_init(&t->admin_lock, NULL);
    pthread_mutex_init(&t->ckpt_lock, NULL);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->released, NULL);

    ckpt_t rp = {0}, ls = {0};
    rv_err_t err = load_meta(t, errstr, errstr_size);
    if (!err)
        err = ckpt_read(t, RV__RECOVERY_POINT_CHECKPOINT, &rp, errstr, errstr_size);
    if (!err)
        err = ckpt_read(t, RV__LOG_START_CHECKPOINT, &ls, errstr, errstr_size);
    if (!err)
        remove_orphans(t);
    for (size_t i = 0; !err && i < t->cnt; i++) {
        rv__topic_t *tp = t->topics[i];
        if (!(tp->logs = calloc((size_t)tp->partition_cnt, sizeof *tp->logs))) {
            rv__errstr_set(errstr, errstr_size, "Out of memory");
            err = RV_ERR__NOMEM;
            break;
        }
        err =
            open_logs(t, tp, tp->logs, 0, tp->partition_cnt, false, &rp, &ls, errstr, errstr_size);
    }
    ckpt_free(&rp);
    ckpt_free(&ls);
    /* Rewrite both checkpoints now: entries of topics that no longer exist
     * (a crash during a delete) must be gone before a topic of the same
     * name can be created, or the next open would give its new logs the
     * old log start offset and recovery point. */
    if (!err)
        err = rv__topics_checkpoint(t, errstr, errstr_size);
    if (err) {
        topics_free(t);
        return err;
    }
    rv__log_info("TOPIC", "Loaded %zu topic(s) from %s", t->cnt, dir);
    *out = t;
    return RV_ERR_NO_ERROR;
}

void rv__topics_close(rv__topics_t *t) {
    if (!t)
        return;
    /* Make everything durable first so the recovery points written next
     * cover the whole log and the next open validates nothing. */
    for (size_t i = 0; i < t->cnt; i++) {
        rv__topic_t *tp = t->topics[i];
        for (int32_t p = 0; p < tp->partition_cnt; p++) {
            rv_err_t err = rv__log_sync(tp->logs[p], rv__log_end_offset(tp->logs[p]));
            if (err)
                rv__log_err("TOPIC", "Flushing %s-%d on close failed: %s", tp->name, p,
                            rv_err_str(err));
        }
    }
    char errstr[512];
    if (rv__topics_checkpoint(t, errstr, sizeof errstr))
        rv__log_err("TOPIC", "Writing checkpoints on close failed: %s", errstr);
    topics_free(t);
}

/* ---- data path ---- */

rv_err_t rv__topics_acquire(rv__topics_t *t, const char *name, int32_t partition,
                            rv__topic_t **topic, rv__log_t **log, char *errstr,
                            size_t errstr_size) {
    pthread_mutex_lock(&t->lock);
    rv__topic_t *tp = name ? find_topic(t, name) : NULL;
    if (!tp || partition < 0 || partition >= tp->partition_cnt) {
        pthread_mutex_unlock(&t->lock);
        rv__errstr_set(errstr, errstr_size, "This server does not host this topic-partition: %s-%d",
                       name ? name : "(null)", partition);
        return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    tp->refcnt++;
    *log = tp->logs[partition];
    *topic = tp;
    pthread_mutex_unlock(&t->lock);
    return RV_ERR_NO_ERROR;
}

void rv__topics_release(rv__topics_t *t, rv__topic_t *tp) {
    if (!tp)
        return;
    pthread_mutex_lock(&t->lock);
    rv_assert(tp->refcnt > 1);
    tp->refcnt--;
    if (tp->deleted)
        pthread_cond_broadcast(&t->released);
    pthread_mutex_unlock(&t->lock);
}

/* ---- admin operations ---- */

static rv_err_t check_configs(const char *const *names, const char *const *values, size_t cnt,
                              char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < cnt; i++) {
        if (!names[i]) {
            rv__errstr_set(errstr, errstr_size, "Config name is null");
            return RV_ERR_INVALID_CONFIG;
        }
        rv_err_t err =
            rv__topic_config_check(names[i], values ? values[i] : NULL, errstr, errstr_size);
        if (err)
            return err;
    }
    return RV_ERR_NO_ERROR;
}

/* The set configs with duplicates removed (the last value of a name
 * wins), as new arrays. */
static rv_err_t dedup_configs(const char *const *names, const char *const *values, size_t cnt,
                              char ***out_names, char ***out_values, size_t *out_cnt) {
    char **n = calloc(cnt ? cnt : 1, sizeof *n), **v = calloc(cnt ? cnt : 1, sizeof *v);
    size_t k = 0;
    if (!n || !v)
        goto oom;
    for (size_t i = 0; i < cnt; i++) {
        bool later = false;
        for (size_t j = i + 1; j < cnt && !later; j++)
            later = !strcmp(names[i], names[j]);
        if (later)
            continue;
        if (!(n[k] = strdup(names[i])) || !(v[k] = strdup_trim(values[i]))) {
            free(n[k]);
            goto oom;
        }
        k++;
    }
    *out_names = n;
    *out_values = v;
    *out_cnt = k;
    return RV_ERR_NO_ERROR;
oom:
    strv_free(n, k);
    strv_free(v, k);
    return RV_ERR__NOMEM;
}

/* Kafka's controller refuses to make more than 10 000 partitions in one
 * request (ReplicationControlManager's "excessively large" check); here
 * each is a folder and two files made one at a time, so a count near
 * INT32_MAX would run until the disk is full. */
static rv_err_t too_many_partitions(char *errstr, size_t errstr_size) {
    rv__errstr_set(errstr, errstr_size,
                   "Excessively large number of partitions per request (at most %d).",
                   RV__MAX_PARTITIONS_PER_REQUEST);
    return RV_ERR_POLICY_VIOLATION;
}

rv_err_t rv__topics_create(rv__topics_t *t, const char *name, int32_t partitions,
                           int16_t replication_factor, const char *const *names,
                           const char *const *values, size_t config_cnt, char *errstr,
                           size_t errstr_size) {
    rv_err_t err = rv__topic_name_validate(name, errstr, errstr_size);
    if (err)
        return err;

    pthread_mutex_lock(&t->admin_lock);
    if (find_topic(t, name)) {
        rv__errstr_set(errstr, errstr_size, "Topic '%s' already exists.", name);
        err = RV_ERR_TOPIC_ALREADY_EXISTS;
        goto out;
    }
    /* Names equal up to '.' vs '_' would share metric names in Kafka. */
    rv__buf_t coll = RV__BUF_INIT;
    for (size_t i = 0; i < t->cnt; i++)
        if (rv__topic_names_collide(name, t->topics[i]->name))
            rv__buf_printf(&coll, "%s%s", coll.len ? ", " : "", t->topics[i]->name);
    if (coll.len) {
        rv__errstr_set(errstr, errstr_size, "Topic '%s' collides with existing topics: %s", name,
                       (char *)coll.data);
        rv__buf_free(&coll);
        err = RV_ERR_INVALID_TOPIC_EXCEPTION;
        goto out;
    }
    rv__buf_free(&coll);

    if (partitions == -1)
        partitions = 1; /* num.partitions */
    if (partitions < 1) {
        rv__errstr_set(errstr, errstr_size,
                       "Number of partitions was set to an invalid non-positive value.");
        err = RV_ERR_INVALID_PARTITIONS;
        goto out;
    }
    if (partitions > RV__MAX_PARTITIONS_PER_REQUEST) {
        err = too_many_partitions(errstr, errstr_size);
        goto out;
    }
    if (replication_factor == -1)
        replication_factor = 1; /* default.replication.factor */
    if (replication_factor < 1) {
        rv__errstr_set(errstr, errstr_size,
                       "Replication factor must be larger than 0, or -1 to use the default value.");
        err = RV_ERR_INVALID_REPLICATION_FACTOR;
        goto out;
    }
    if (replication_factor > 1) {
        rv__errstr_set(
            errstr, errstr_size,
            "Unable to replicate the partition %d time(s): the embedded broker has a single "
            "replica, so the replication factor must be 1. For replication use the kafka "
            "backend (bootstrap.servers=host:port of a Kafka cluster).",
            replication_factor);
        err = RV_ERR_INVALID_REPLICATION_FACTOR;
        goto out;
    }
    if ((err = check_configs(names, values, config_cnt, errstr, errstr_size)))
        goto out;

    if (strchr(name, '.') && strchr(name, '_'))
        rv__log_warn("TOPIC",
                     "Due to limitations in metric names, topics with a period ('.') or "
                     "underscore ('_') could collide. To avoid issues it is best to use either, "
                     "but not both.");

    rv__topic_t *tp = calloc(1, sizeof *tp);
    if (!tp || !(tp->name = strdup(name)) ||
        !(tp->logs = calloc((size_t)partitions, sizeof *tp->logs)) ||
        dedup_configs(names, values, config_cnt, &tp->cfg_names, &tp->cfg_values,
                      &tp->config_cnt) ||
        ensure_room(t)) {
        topic_free(tp);
        rv__errstr_set(errstr, errstr_size, "Out of memory creating topic %s", name);
        err = RV_ERR__NOMEM;
        goto out;
    }
    tp->refcnt = 1;
    tp->partition_cnt = partitions;
    if (new_topic_id(tp->id, tp->id_str)) {
        topic_free(tp);
        rv__errstr_set(errstr, errstr_size, "Cannot read random bytes for the topic id: %s",
                       strerror(errno));
        err = RV_ERR__IO;
        goto out;
    }
    rv__topic_config_to_log(&tp->log_cfg, (const char *const *)tp->cfg_names,
                            (const char *const *)tp->cfg_values, tp->config_cnt);

    /* Folders first, metadata last: the metadata file commits the topic. */
    err = open_logs(t, tp, tp->logs, 0, partitions, true, NULL, NULL, errstr, errstr_size);
    if (!err) {
        err = meta_write(t, tp->name, tp->id, tp->id_str, partitions, tp->cfg_names, tp->cfg_values,
                         tp->config_cnt, errstr, errstr_size);
        if (err)
            close_logs(tp->logs, 0, partitions, true);
    }
    if (err) {
        topic_free(tp);
        goto out;
    }
    pthread_mutex_lock(&t->lock);
    insert_topic(t, tp);
    pthread_mutex_unlock(&t->lock);
    rv__log_info("TOPIC", "Created topic %s (id %s) with %d partition(s)", name, tp->id_str,
                 partitions);
out:
    pthread_mutex_unlock(&t->admin_lock);
    return err;
}

rv_err_t rv__topics_delete(rv__topics_t *t, const char *name, char *errstr, size_t errstr_size) {
    rv_err_t err = RV_ERR_NO_ERROR;
    pthread_mutex_lock(&t->admin_lock);
    rv__topic_t *tp = name ? find_topic(t, name) : NULL;
    if (!tp) {
        err = unknown_topic(errstr, errstr_size, name ? name : "(null)");
        goto out;
    }
    char path[PATH_MAX], mdir[PATH_MAX];
    if (path_fmt(mdir, sizeof mdir, "%s/%s", t->dir, RV__TOPICS_META_DIR) ||
        path_fmt(path, sizeof path, "%s/%s%s", mdir, tp->id_str, META_SUFFIX)) {
        rv__errstr_set(errstr, errstr_size, "Path too long in data folder %s", t->dir);
        err = RV_ERR__INVALID_ARG;
        goto out;
    }
    /* Removing the metadata commits the deletion; the folders are orphans
     * from here on should anything below fail or the process die. */
    if ((unlink(path) && errno != ENOENT) || rv__io_fsync_dir(mdir)) {
        rv__errstr_set(errstr, errstr_size, "Cannot remove %s: %s", path, strerror(errno));
        err = RV_ERR__IO;
        goto out;
    }
    pthread_mutex_lock(&t->lock);
    bool found;
    size_t i = find_pos(t, name, &found);
    rv_assert(found && t->topics[i] == tp);
    memmove(&t->topics[i], &t->topics[i + 1], (t->cnt - i - 1) * sizeof *t->topics);
    t->cnt--;
    tp->deleted = true;
    /* Producers, fetchers and housekeeping finish their call on the log
     * before it goes; new ones no longer find the topic. */
    while (tp->refcnt > 1)
        pthread_cond_wait(&t->released, &t->lock);
    pthread_mutex_unlock(&t->lock);

    for (int32_t p = 0; p < tp->partition_cnt; p++) {
        if (rv__log_delete(tp->logs[p]))
            rv__log_warn("TOPIC", "Removing the folder of %s-%d failed; it goes on next open", name,
                         p);
        tp->logs[p] = NULL;
    }
    rv__log_info("TOPIC", "Deleted topic %s (id %s)", name, tp->id_str);
    topic_free(tp);
    char cerr[512];
    if (rv__topics_checkpoint(t, cerr, sizeof cerr))
        rv__log_warn("TOPIC", "Writing checkpoints after deleting %s failed: %s", name, cerr);
out:
    pthread_mutex_unlock(&t->admin_lock);
    return err;
}

rv_err_t rv__topics_create_partitions(rv__topics_t *t, const char *name, int32_t total,
                                      char *errstr, size_t errstr_size) {
    rv_err_t err = RV_ERR_NO_ERROR;
    rv__log_t **logs = NULL;
    pthread_mutex_lock(&t->admin_lock);
    rv__topic_t *tp = name ? find_topic(t, name) : NULL;
    if (!tp) {
        err = unknown_topic(errstr, errstr_size, name ? name : "(null)");
        goto out;
    }
    int32_t cur = tp->partition_cnt;
    if (total == cur) {
        rv__errstr_set(errstr, errstr_size, "Topic already has %d partition(s).", cur);
        err = RV_ERR_INVALID_PARTITIONS;
        goto out;
    }
    if (total < cur) {
        rv__errstr_set(errstr, errstr_size,
                       "Topic currently has %d partitions, which is higher than the requested %d.",
                       cur, total);
        err = RV_ERR_INVALID_PARTITIONS;
        goto out;
    }
    if (total - cur > RV__MAX_PARTITIONS_PER_REQUEST) {
        err = too_many_partitions(errstr, errstr_size);
        goto out;
    }
    if (!(logs = calloc((size_t)total, sizeof *logs))) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        err = RV_ERR__NOMEM;
        goto out;
    }
    memcpy(logs, tp->logs, (size_t)cur * sizeof *logs);
    if ((err = open_logs(t, tp, logs, cur, total, true, NULL, NULL, errstr, errstr_size)))
        goto out;
    err = meta_write(t, tp->name, tp->id, tp->id_str, total, tp->cfg_names, tp->cfg_values,
                     tp->config_cnt, errstr, errstr_size);
    if (err) {
        close_logs(logs, cur, total, true);
        goto out;
    }
    pthread_mutex_lock(&t->lock);
    rv__log_t **old = tp->logs;
    tp->logs = logs;
    tp->partition_cnt = total;
    pthread_mutex_unlock(&t->lock);
    logs = old; /* freed below; readers copy pointers under lock only */
    rv__log_info("TOPIC", "Topic %s now has %d partitions (was %d)", name, total, cur);
out:
    free(logs);
    pthread_mutex_unlock(&t->admin_lock);
    return err;
}

static bool in_list(const char *name, const char *const *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], name))
            return true;
    return false;
}

rv_err_t rv__topics_alter_configs(rv__topics_t *t, const char *name, const char *const *set_names,
                                  const char *const *set_values, size_t set_cnt,
                                  const char *const *del_names, size_t del_cnt, char *errstr,
                                  size_t errstr_size) {
    rv_err_t err = check_configs(set_names, set_values, set_cnt, errstr, errstr_size);
    if (err)
        return err;
    for (size_t i = 0; i < del_cnt; i++) {
        if (!del_names[i] || !rv__prop_find(rv__topic_config_props, del_names[i])) {
            rv__errstr_set(errstr, errstr_size, "Unknown topic config name: %s",
                           del_names[i] ? del_names[i] : "null");
            return RV_ERR_INVALID_CONFIG;
        }
    }
    /* Kafka rejects a request naming one config twice. */
    for (size_t i = 0; i < set_cnt + del_cnt; i++) {
        const char *a = i < set_cnt ? set_names[i] : del_names[i - set_cnt];
        for (size_t j = i + 1; j < set_cnt + del_cnt; j++) {
            const char *b = j < set_cnt ? set_names[j] : del_names[j - set_cnt];
            if (!strcmp(a, b)) {
                rv__errstr_set(errstr, errstr_size, "Error due to duplicate config keys: %s", a);
                return RV_ERR_INVALID_REQUEST;
            }
        }
    }

    pthread_mutex_lock(&t->admin_lock);
    char **nn = NULL, **nv = NULL, **onames = NULL, **ovalues = NULL;
    size_t k = 0, ocnt = 0;
    rv__log_t **logs = NULL;
    rv__topic_t *tp = name ? find_topic(t, name) : NULL;
    if (!tp) {
        err = unknown_topic(errstr, errstr_size, name ? name : "(null)");
        goto out;
    }
    size_t max = tp->config_cnt + set_cnt;
    nn = calloc(max ? max : 1, sizeof *nn);
    nv = calloc(max ? max : 1, sizeof *nv);
    if (!nn || !nv)
        goto oom;
    for (size_t i = 0; i < tp->config_cnt; i++) {
        if (in_list(tp->cfg_names[i], set_names, set_cnt) ||
            in_list(tp->cfg_names[i], del_names, del_cnt))
            continue;
        if (!(nn[k] = strdup(tp->cfg_names[i])) || !(nv[k] = strdup(tp->cfg_values[i]))) {
            free(nn[k]);
            goto oom;
        }
        k++;
    }
    for (size_t i = 0; i < set_cnt; i++) {
        if (!(nn[k] = strdup(set_names[i])) || !(nv[k] = strdup_trim(set_values[i]))) {
            free(nn[k]);
            goto oom;
        }
        k++;
    }
    logs = malloc((size_t)tp->partition_cnt * sizeof *logs);
    if (!logs)
        goto oom;
    memcpy(logs, tp->logs, (size_t)tp->partition_cnt * sizeof *logs);
    rv__log_config_t cfg;
    rv__topic_config_to_log(&cfg, (const char *const *)nn, (const char *const *)nv, k);
    if ((err = meta_write(t, tp->name, tp->id, tp->id_str, tp->partition_cnt, nn, nv, k, errstr,
                          errstr_size)))
        goto out;
    pthread_mutex_lock(&t->lock);
    onames = tp->cfg_names;
    ovalues = tp->cfg_values;
    ocnt = tp->config_cnt;
    tp->cfg_names = nn;
    tp->cfg_values = nv;
    tp->config_cnt = k;
    tp->log_cfg = cfg;
    pthread_mutex_unlock(&t->lock);
    nn = nv = NULL;
    /* The admin lock keeps the topic (and so its logs) alive here. */
    for (int32_t p = 0; p < tp->partition_cnt; p++)
        rv__log_set_config(logs[p], &cfg);
    rv__log_info("TOPIC", "Altered the configs of topic %s", name);
    goto out;
oom:
    rv__errstr_set(errstr, errstr_size, "Out of memory");
    err = RV_ERR__NOMEM;
out:
    pthread_mutex_unlock(&t->admin_lock);
    strv_free(nn, k);
    strv_free(nv, k);
    strv_free(onames, ocnt);
    strv_free(ovalues, ocnt);
    free(logs);
    return err;
}

rv_err_t rv__topics_delete_records(rv__topics_t *t, const char *name, int32_t partition,
                                   int64_t offset, int64_t *low_watermark, char *errstr,
                                   size_t errstr_size) {
    if (offset < -1) {
        rv__errstr_set(errstr, errstr_size, "Cannot delete records of %s-%d below offset %lld",
                       name ? name : "(null)", partition, (long long)offset);
        return RV_ERR_OFFSET_OUT_OF_RANGE;
    }
    pthread_mutex_lock(&t->admin_lock);
    rv__topic_t *tp;
    rv__log_t *log;
    int64_t low = -1;
    rv_err_t err = rv__topics_acquire(t, name, partition, &tp, &log, errstr, errstr_size);
    if (!err) {
        err = rv__log_delete_records(log, offset, &low, errstr, errstr_size);
        rv__topics_release(t, tp);
    }
    /* The new log start must survive a crash: a restart must not expose
     * deleted records again. */
    if (!err)
        err = rv__topics_checkpoint(t, errstr, errstr_size);
    pthread_mutex_unlock(&t->admin_lock);
    if (!err && low_watermark)
        *low_watermark = low;
    return err;
}

rv_err_t rv__topics_list(rv__topics_t *t, bool include_internal, char ***names, size_t *cnt) {
    pthread_mutex_lock(&t->lock);
    char **v = calloc(t->cnt ? t->cnt : 1, sizeof *v);
    size_t n = 0;
    if (!v) {
        pthread_mutex_unlock(&t->lock);
        return RV_ERR__NOMEM;
    }
    for (size_t i = 0; i < t->cnt; i++) {
        const char *nm = t->topics[i]->name;
        if (!include_internal && nm[0] == '_' && nm[1] == '_')
            continue;
        if (!(v[n] = strdup(nm))) {
            pthread_mutex_unlock(&t->lock);
            strv_free(v, n);
            return RV_ERR__NOMEM;
        }
        n++;
    }
    pthread_mutex_unlock(&t->lock);
    *names = v;
    *cnt = n;
    return RV_ERR_NO_ERROR;
}

void rv__topic_info_clear(rv__topic_info_t *info) {
    free(info->name);
    free(info->log_start_offsets);
    free(info->end_offsets);
    strv_free(info->config_names, info->config_cnt);
    strv_free(info->config_values, info->config_cnt);
    memset(info, 0, sizeof *info);
}

rv_err_t rv__topics_describe(rv__topics_t *t, const char *name, rv__topic_info_t *info,
                             char *errstr, size_t errstr_size) {
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&t->lock);
    rv__topic_t *tp = name ? find_topic(t, name) : NULL;
    if (!tp) {
        pthread_mutex_unlock(&t->lock);
        return unknown_topic(errstr, errstr_size, name ? name : "(null)");
    }
    int32_t n = tp->partition_cnt;
    rv__log_t **logs = malloc((size_t)n * sizeof *logs);
    info->name = strdup(tp->name);
    info->log_start_offsets = calloc((size_t)n, sizeof(int64_t));
    info->end_offsets = calloc((size_t)n, sizeof(int64_t));
    info->config_names = strv_dup((const char *const *)tp->cfg_names, tp->config_cnt);
    info->config_values = strv_dup((const char *const *)tp->cfg_values, tp->config_cnt);
    info->config_cnt = tp->config_cnt;
    bool oom = !logs || !info->name || !info->log_start_offsets || !info->end_offsets ||
               !info->config_names || !info->config_values;
    if (oom) {
        pthread_mutex_unlock(&t->lock);
        rv__topic_info_clear(info);
        free(logs);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    memcpy(info->id, tp->id_str, sizeof info->id);
    info->partition_cnt = n;
    info->replication_factor = 1;
    memcpy(logs, tp->logs, (size_t)n * sizeof *logs);
    tp->refcnt++;
    pthread_mutex_unlock(&t->lock);
    /* Offsets are read outside the registry lock: a log may be busy with
     * an fsync and must not stall every other lookup. */
    for (int32_t p = 0; p < n; p++) {
        info->log_start_offsets[p] = rv__log_start_offset(logs[p]);
        info->end_offsets[p] = rv__log_high_watermark(logs[p]);
    }
    free(logs);
    rv__topics_release(t, tp);
    return RV_ERR_NO_ERROR;
}

/* ---- housekeeping ---- */

void rv__topics_housekeep(rv__topics_t *t, int64_t now_ms, bool retention, const atomic_int *stop) {
    snap_t s;
    if (snap_take(t, &s))
        return;
    for (size_t i = 0; i < s.cnt && !(stop && atomic_load(stop)); i++) {
        snap_topic_t *st = &s.v[i];
        for (int32_t p = 0; p < st->cnt && !(stop && atomic_load(stop)); p++) {
            rv__log_t *log = st->logs[p];
            rv_err_t err;
            if ((err = rv__log_roll_if_due(log, now_ms)))
                rv__log_warn("TOPIC", "Rolling %s-%d failed: %s", st->tp->name, p, rv_err_str(err));
            if ((err = rv__log_flush_if_due(log, now_ms)))
                rv__log_warn("TOPIC", "Flushing %s-%d failed: %s", st->tp->name, p,
                             rv_err_str(err));
            if (!retention)
                continue;
            if (st->del) {
                int n = rv__log_retention(log, now_ms);
                if (n > 0)
                    rv__log_info("TOPIC", "Retention deleted %d segment(s) of %s-%d", n,
                                 st->tp->name, p);
            }
            if (st->compact) {
                rv__clean_stats_t cs;
                memset(&cs, 0, sizeof cs);
                if ((err = rv__log_clean(log, now_ms, 0, &cs)))
                    rv__log_warn("TOPIC", "Cleaning %s-%d failed: %s", st->tp->name, p,
                                 rv_err_str(err));
            }
        }
    }
    snap_release(t, &s);
    if (retention && !(stop && atomic_load(stop))) {
        char errstr[512];
        if (rv__topics_checkpoint(t, errstr, sizeof errstr))
            rv__log_warn("TOPIC", "Writing checkpoints failed: %s", errstr);
    }
}
