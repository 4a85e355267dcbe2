/* fuzz/fuzzutil.c: helpers shared by the libFuzzer targets (see
 * fuzz/fuzzutil.h). Failures to set up a run abort rather than return: a
 * target that silently skips its work would report hours of fuzzing that
 * never happened. */
#include "fuzz/fuzzutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/record_batch.h"
#include "rivulet/log.h"

void rvf_check_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

static void drop_line(int level, const char *fac, const char *msg, void *opaque) {
    (void)level;
    (void)fac;
    (void)msg;
    (void)opaque;
}

void rvf_quiet_logs(void) {
    rv_log_set_callback(drop_line, NULL);
    rv_log_set_level(RV_LOG_DEBUG);
}

char *rvf_tmpdir(void) {
    /* fuzz/run.sh points RV_FUZZ_TMPDIR at a folder it removes afterwards,
     * so the folders of runs that crashed do not pile up. */
    const char *base = getenv("RV_FUZZ_TMPDIR");
    struct stat st;
    if (!base || !*base)
        base = "/dev/shm";
    if (stat(base, &st) < 0 || !S_ISDIR(st.st_mode) || access(base, W_OK) < 0) {
        base = getenv("TMPDIR");
        if (!base || !*base)
            base = "/tmp";
    }
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/rv-fuzz-XXXXXX", base);
    char *d = mkdtemp(tmpl);
    char *copy = d ? strdup(d) : NULL;
    if (!copy) {
        perror("rvf_tmpdir");
        abort();
    }
    return copy;
}

void rvf_rmtree(const char *path) {
    if (path)
        rv__io_rmtree(path);
}

void rvf_write_file(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (n && rv__io_write_all(fd, p, n) < 0)) {
        perror(path);
        abort();
    }
    close(fd);
}

void rvf_fix_crcs(uint8_t *p, size_t n) {
    size_t pos = 0;
    while (n - pos >= RV__BATCH_HEADER_SIZE) {
        uint8_t *b = p + pos;
        if (b[RV__BATCH_OFF_MAGIC] != RV__BATCH_MAGIC)
            return;
        int32_t blen = (int32_t)rv__be32(b + RV__BATCH_OFF_LENGTH);
        if (blen < RV__BATCH_HEADER_SIZE - RV__BATCH_LOG_OVERHEAD)
            return;
        size_t size = (size_t)blen + RV__BATCH_LOG_OVERHEAD;
        if (size > n - pos)
            return;
        rv__wbe32(b + RV__BATCH_OFF_CRC, rv__batch_compute_crc(b, size));
        pos += size;
    }
}

int rvf_make_batch(rv__buf_t *out, int cnt, int64_t ts0) {
    rv__batch_builder_t b;
    if (rv__batch_builder_begin(&b, out, 0, 0, INT64_MIN, -1, -1, -1, -1))
        return -1;
    rv__buf_t hdrs = RV__BUF_INIT;
    if (rv__headers_encode(&hdrs, "h", 1, "x", 1)) {
        rv__buf_free(&hdrs);
        return -1;
    }
    for (int i = 0; i < cnt; i++) {
        char key[32], val[32];
        int kl = snprintf(key, sizeof key, "k%d", i);
        int vl = snprintf(val, sizeof val, "v%d", i);
        if (rv__batch_builder_add(&b, i, ts0 + i, key, kl, val, vl, i == 0 ? 1 : 0,
                                  i == 0 ? hdrs.data : NULL, i == 0 ? hdrs.len : 0)) {
            rv__buf_free(&hdrs);
            return -1;
        }
    }
    rv__buf_free(&hdrs);
    return rv__batch_builder_finish(&b, -1) ? -1 : 0;
}
