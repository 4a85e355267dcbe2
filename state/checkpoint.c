/* state/checkpoint.c: reading and writing Kafka Streams' OffsetCheckpoint
 * files (state/checkpoint.h).
 *
 * DESIGN
 * The format is Kafka's, byte for byte, so a state folder means the same to
 * both:
 *
 *     0                         version line
 *     2                         number of entries
 *     app-store-changelog 0 42  "topic partition offset", one per line
 *     app-store-changelog 1 7
 *
 * Fields are separated by whitespace; lines end with "\n". A file is
 * replaced atomically (rv__io_write_file_atomic: temp file, fsync, rename,
 * folder fsync), so a crash leaves either the old or the new checkpoint,
 * never a torn one; a file that is torn anyway (another writer, a disk
 * error) is reported as RV_ERR__BAD_MSG and the runtime then restores from
 * scratch, as Kafka does when it cannot read a checkpoint. Deleting the
 * file (an empty write) fsyncs the folder too, so a wipe that deletes the
 * checkpoint before the stores cannot have the deletion undone by a crash.
 *
 * Reading trusts nothing in the file: the entry array grows as lines
 * arrive (the count line alone allocates nothing), a topic-partition listed
 * twice makes the file corrupt (Kafka's map would hold fewer entries than
 * the count), and only a regular file is read, opened without blocking, so
 * a FIFO or device in its place cannot hang the task. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errstr.h"
#include "common/fileio.h"
#include "common/logger.h"
#include "state/checkpoint.h"

#define CHECKPOINT_VERSION 0

void rv__checkpoint_free(rv__checkpoint_entry_t *entries, size_t cnt) {
    if (!entries)
        return;
    for (size_t i = 0; i < cnt; i++)
        free(entries[i].topic);
    free(entries);
}

static int topic_ok(const char *t) {
    if (!t || !*t)
        return 0;
    for (; *t; t++)
        if (isspace((unsigned char)*t))
            return 0;
    return 1;
}

/* fsyncs the folder holding path, so an unlink in it is durable. */
static rv_err_t fsync_parent(const char *path, char *errstr, size_t errstr_size) {
    const char *slash = strrchr(path, '/');
    char *dir = !slash          ? strdup(".")
                : slash == path ? strdup("/")
                                : strndup(path, (size_t)(slash - path));
    if (!dir)
        return RV_ERR__NOMEM;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (rv__io_fsync_dir(dir) != 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to fsync folder %s: %s", dir, strerror(errno));
        err = RV_ERR__IO;
    }
    free(dir);
    return err;
}

rv_err_t rv__checkpoint_write(const char *path, const rv__checkpoint_entry_t *entries, size_t cnt,
                              char *errstr, size_t errstr_size) {
    if (cnt == 0) {
        /* Kafka skips writing an empty checkpoint and deletes the old one
         * (whatever it is: a folder in its place goes too, so a task
         * wiping a corrupt checkpoint gets past it). */
        struct stat st;
        if (lstat(path, &st) != 0 && errno == ENOENT)
            return RV_ERR_NO_ERROR;
        if (rv__io_rmtree(path) != 0) {
            rv__errstr_set(errstr, errstr_size, "cannot delete checkpoint %s: %s", path,
                           strerror(errno));
            return RV_ERR__IO;
        }
        return fsync_parent(path, errstr, errstr_size);
    }
    rv__buf_t b = RV__BUF_INIT;
    rv_err_t err = rv__buf_printf(&b, "%d\n%zu\n", CHECKPOINT_VERSION, cnt);
    for (size_t i = 0; !err && i < cnt; i++) {
        if (!topic_ok(entries[i].topic) || entries[i].partition < 0 || entries[i].offset < 0) {
            rv__errstr_set(errstr, errstr_size,
                           "invalid checkpoint entry %s %" PRId32 " %" PRId64 " for %s",
                           entries[i].topic ? entries[i].topic : "(null)", entries[i].partition,
                           entries[i].offset, path);
            rv__buf_free(&b);
            return RV_ERR__INVALID_ARG;
        }
        err = rv__buf_printf(&b, "%s %" PRId32 " %" PRId64 "\n", entries[i].topic,
                             entries[i].partition, entries[i].offset);
    }
    if (!err)
        err = rv__io_write_file_atomic(path, b.data, b.len, errstr, errstr_size);
    rv__buf_free(&b);
    return err;
}

/* Splits the next line off *p (NUL-terminating it in place); NULL at the
 * end of the text. */
static char *next_line(char **p) {
    char *s = *p;
    if (!s || !*s)
        return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* Reads the whole file at path into out. RV_ERR__NOENT when it is missing;
 * RV_ERR__BAD_MSG when it is not a regular file. O_NONBLOCK keeps the open
 * of a FIFO from waiting for a writer; regular files ignore it. */
static rv_err_t read_regular_file(const char *path, rv__buf_t *out, char *errstr,
                                  size_t errstr_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int saved = errno;
        if (saved == ENOENT)
            return RV_ERR__NOENT;
        rv__errstr_set(errstr, errstr_size, "Failed to open %s: %s", path, strerror(saved));
        return RV_ERR__IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to stat %s: %s", path, strerror(errno));
        close(fd);
        return RV_ERR__IO;
    }
    if (!S_ISREG(st.st_mode)) {
        rv__errstr_set(errstr, errstr_size, "malformed checkpoint %s: not a regular file", path);
        close(fd);
        return RV_ERR__BAD_MSG;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    for (;;) {
        if ((err = rv__buf_reserve(out, 65536))) {
            rv__errstr_set(errstr, errstr_size, "Out of memory reading %s", path);
            break;
        }
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rv__errstr_set(errstr, errstr_size, "Failed to read %s: %s", path, strerror(errno));
            err = RV_ERR__IO;
            break;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
    }
    close(fd);
    return err;
}

/* Orders entries by topic, then partition, to find duplicates. */
static int cmp_tp(const void *a, const void *b) {
    const rv__checkpoint_entry_t *x = *(const rv__checkpoint_entry_t *const *)a;
    const rv__checkpoint_entry_t *y = *(const rv__checkpoint_entry_t *const *)b;
    int c = strcmp(x->topic, y->topic);
    if (c)
        return c;
    return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* Reports the first topic-partition listed twice in ents. */
static rv_err_t check_duplicates(const rv__checkpoint_entry_t *ents, size_t n, const char *path,
                                 char *errstr, size_t errstr_size) {
    if (n < 2)
        return RV_ERR_NO_ERROR;
    const rv__checkpoint_entry_t **v = malloc(n * sizeof(*v));
    if (!v)
        return RV_ERR__NOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = &ents[i];
    qsort(v, n, sizeof(*v), cmp_tp);
    rv_err_t err = RV_ERR_NO_ERROR;
    for (size_t i = 1; i < n && !err; i++)
        if (cmp_tp(&v[i - 1], &v[i]) == 0) {
            rv__errstr_set(errstr, errstr_size,
                           "malformed checkpoint %s: %s-%" PRId32 " is listed more than once", path,
                           v[i]->topic, v[i]->partition);
            err = RV_ERR__BAD_MSG;
        }
    free(v);
    return err;
}

static int parse_i64(const char *s, int64_t *out) {
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_int_line(const char *line, int64_t *out) {
    char buf[32];
    if (!line)
        return -1;
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1]))
        n--;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    return parse_i64(buf, out);
}

rv_err_t rv__checkpoint_read(const char *path, rv__checkpoint_entry_t **out, size_t *cnt,
                             char *errstr, size_t errstr_size) {
    *out = NULL;
    *cnt = 0;
    rv__buf_t b = RV__BUF_INIT;
    if (errstr && errstr_size)
        errstr[0] = '\0';
    rv_err_t err = read_regular_file(path, &b, errstr, errstr_size);
    if (err == RV_ERR__NOENT) {
        rv__buf_free(&b);
        return RV_ERR_NO_ERROR;
    }
    if (err) {
        rv__buf_free(&b);
        return err;
    }
    if (rv__buf_put_u8(&b, 0)) {
        rv__buf_free(&b);
        return RV_ERR__NOMEM;
    }
    if (memchr(b.data, '\0', b.len - 1)) {
        rv__errstr_set(errstr, errstr_size, "malformed checkpoint %s: NUL byte", path);
        rv__buf_free(&b);
        return RV_ERR__BAD_MSG;
    }
    char *p = (char *)b.data;
    int64_t version, expected;
    rv__checkpoint_entry_t *ents = NULL;
    size_t n = 0, cap = 0, found = 0;
    if (parse_int_line(next_line(&p), &version)) {
        rv__errstr_set(errstr, errstr_size, "malformed checkpoint %s: no version line", path);
        err = RV_ERR__BAD_MSG;
        goto fail;
    }
    if (version != CHECKPOINT_VERSION) {
        rv__errstr_set(errstr, errstr_size, "Unknown offset checkpoint version: %" PRId64 " in %s",
                       version, path);
        err = RV_ERR__BAD_MSG;
        goto fail;
    }
    if (parse_int_line(next_line(&p), &expected) || expected < 0 || expected > (1 << 24)) {
        rv__errstr_set(errstr, errstr_size, "malformed checkpoint %s: bad entry count", path);
        err = RV_ERR__BAD_MSG;
        goto fail;
    }
    char *line;
    while ((line = next_line(&p))) {
        char *save = NULL;
        char *f[4];
        int nf = 0;
        for (char *tok = strtok_r(line, " \t\r\f\v", &save); tok && nf < 4;
             tok = strtok_r(NULL, " \t\r\f\v", &save))
            f[nf++] = tok;
        if (nf == 0 && !*p)
            break; /* a trailing empty line */
        int64_t part, off;
        if (nf != 3 || parse_i64(f[1], &part) || parse_i64(f[2], &off) || part < 0 ||
            part > INT32_MAX) {
            rv__errstr_set(errstr, errstr_size, "Malformed line in offset checkpoint file %s",
                           path);
            err = RV_ERR__BAD_MSG;
            goto fail;
        }
        found++;
        if (found > (size_t)expected)
            continue; /* reported below */
        if (off < 0) {
            rv__log_warn("CHECKPOINT",
                         "Read offset=%" PRId64 " from checkpoint file %s for %s-%" PRId64
                         "; skipping it",
                         off, path, f[0], part);
            continue;
        }
        if (n == cap) {
            /* Grown as lines arrive: the count line is not trusted. */
            size_t ncap = cap ? 2 * cap : 16;
            rv__checkpoint_entry_t *ne = realloc(ents, ncap * sizeof(*ne));
            if (!ne) {
                err = RV_ERR__NOMEM;
                goto fail;
            }
            ents = ne;
            cap = ncap;
        }
        ents[n].topic = strdup(f[0]);
        if (!ents[n].topic) {
            err = RV_ERR__NOMEM;
            goto fail;
        }
        ents[n].partition = (int32_t)part;
        ents[n].offset = off;
        n++;
    }
    if (found != (size_t)expected) {
        rv__errstr_set(errstr, errstr_size, "Expected %" PRId64 " entries but found %zu in %s",
                       expected, found, path);
        err = RV_ERR__BAD_MSG;
        goto fail;
    }
    if ((err = check_duplicates(ents, n, path, errstr, errstr_size)))
        goto fail;
    rv__buf_free(&b);
    *out = ents;
    *cnt = n;
    return RV_ERR_NO_ERROR;
fail:
    rv__checkpoint_free(ents, n);
    rv__buf_free(&b);
    return err;
}
