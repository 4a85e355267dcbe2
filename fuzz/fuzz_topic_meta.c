/* fuzz/fuzz_topic_meta.c: libFuzzer target for the topic registry's
 * on-disk state (broker/topics.c): the msgpack metadata file
 * __meta/<topic-id>.meta and Kafka's two offset checkpoint files, loaded by
 * rv__topics_open() from a fresh data folder. The decoder is static in
 * broker/topics.c, so the target goes through the files as the broker does.
 *
 * Input layout:
 *   byte 0      flags: 0x01 = checkpoint files follow
 *   [0x01]      u16 BE length of recovery-point-offset-checkpoint, u16 BE
 *               length of log-start-offset-checkpoint, then both texts
 *   the rest    the metadata file
 * The file is named after the "id" the input holds (when it holds a 16-byte
 * one), because the registry refuses a file whose name and id disagree and
 * the fuzzer cannot be expected to compute base64 names.
 *
 * A metadata file is trusted to name a sensible partition count: each
 * partition becomes a folder and an open log, so inputs claiming more than
 * MAX_PARTITIONS are skipped (that is resource use, not decoding). After a
 * successful open the target lists and describes every topic and checks
 * the descriptions agree with the listing, then closes the registry. */
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/topics.h"
#include "common/fileio.h"
#include "fuzz/fuzzutil.h"
#include "rivulet/admin.h"

#define F_CHECKPOINTS 0x01
#define MAX_PARTITIONS 4

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

/* True when no msgpack container in the first object of p[0..n) claims
 * more elements than the whole input could hold. msgpack-c allocates a
 * container's element array by its declared count before reading the
 * elements, so five bytes can ask for gigabytes; that is the library's
 * design (harmless where malloc overcommits, NOMEM elsewhere), not a
 * decoding bug, and such an input can never decode, so it is skipped. */
static bool plausible_msgpack(const uint8_t *p, size_t n) {
    size_t pos = 0, pending = 1, declared = 0;
    while (pending > 0 && pos < n) {
        uint8_t c = p[pos++];
        pending--;
        size_t cnt = 0, skip = 0, width = 0;
        bool container = false, is_map = false;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, booleans */
        } else if (c >= 0x80 && c <= 0x8f) {
            container = is_map = true;
            cnt = c & 0x0f;
        } else if (c >= 0x90 && c <= 0x9f) {
            container = true;
            cnt = c & 0x0f;
        } else if (c >= 0xa0 && c <= 0xbf) {
            skip = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4:
            case 0xd9:
                width = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                width = 2;
                break; /* bin16, str16 */
            case 0xc6:
            case 0xdb:
                width = 4;
                break; /* bin32, str32 */
            case 0xc7:
                width = 1;
                skip = 1;
                break; /* ext8: length, type */
            case 0xc8:
                width = 2;
                skip = 1;
                break;
            case 0xc9:
                width = 4;
                skip = 1;
                break;
            case 0xca:
                skip = 4;
                break;
            case 0xcb:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break; /* fixext1: type + data */
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                container = true;
                width = 2;
                break;
            case 0xdd:
                container = true;
                width = 4;
                break;
            case 0xde:
                container = is_map = true;
                width = 2;
                break;
            case 0xdf:
                container = is_map = true;
                width = 4;
                break;
            default:
                return false; /* 0xc1: never used */
            }
        }
        if (width) {
            if (n - pos < width)
                return true; /* truncated: fails without allocating */
            size_t v = 0;
            for (size_t i = 0; i < width; i++)
                v = v << 8 | p[pos + i];
            pos += width;
            if (container)
                cnt = v;
            else
                skip += v;
        }
        if (container) {
            if (is_map) {
                if (cnt > n)
                    return false;
                cnt *= 2;
            }
            declared += cnt;
            if (declared > n)
                return false;
            pending += cnt;
        }
        if (skip > n - pos)
            return true;
        pos += skip;
    }
    return true;
}

static bool key_is(const msgpack_object *k, const char *s) {
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(s) &&
           !memcmp(k->via.str.ptr, s, k->via.str.size);
}

/* Looks into the metadata for the file name it needs and for a partition
 * count too large to open. Returns false to skip the input. */
static bool scan_meta(const uint8_t *p, size_t n, char name[23]) {
    strcpy(name, "AAAAAAAAAAAAAAAAAAAAAA");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    bool ok = true;
    if (msgpack_unpack_next(&up, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *m = &up.data.via.map;
        for (uint32_t i = 0; i < m->size; i++) {
            const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
            if (key_is(k, "id") && v->type == MSGPACK_OBJECT_BIN && v->via.bin.size == 16)
                rv__topic_id_to_str((const uint8_t *)v->via.bin.ptr, name);
            if (key_is(k, "partitions") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                v->via.u64 > MAX_PARTITIONS)
                ok = false;
        }
    }
    msgpack_unpacked_destroy(&up);
    return ok;
}

static void inspect(rv__topics_t *t) {
    char **names = NULL;
    size_t cnt = 0;
    if (rv__topics_list(t, true, &names, &cnt))
        return;
    char errstr[512];
    for (size_t i = 0; i < cnt; i++) {
        rvf_check(rv__topic_name_validate(names[i], NULL, 0) == RV_ERR_NO_ERROR);
        rv__topic_info_t info;
        memset(&info, 0, sizeof info);
        rv_err_t err = rv__topics_describe(t, names[i], &info, errstr, sizeof errstr);
        rvf_check(err == RV_ERR_NO_ERROR);
        rvf_check(!strcmp(info.name, names[i]) && strlen(info.id) == 22);
        rvf_check(info.partition_cnt >= 1 && info.partition_cnt <= MAX_PARTITIONS);
        for (int32_t p = 0; p < info.partition_cnt; p++) {
            rvf_check(info.log_start_offsets[p] <= info.end_offsets[p]);
            rv__topic_t *tp;
            rv__log_t *log;
            rvf_check(rv__topics_acquire(t, names[i], p, &tp, &log, errstr, sizeof errstr) ==
                      RV_ERR_NO_ERROR);
            rv__read_info_t ri;
            rv__buf_t out = RV__BUF_INIT;
            (void)rv__log_read(log, rv__log_start_offset(log), 1024, &out, &ri, errstr,
                               sizeof errstr);
            rv__buf_free(&out);
            rv__topics_release(t, tp);
        }
        for (size_t c = 0; c < info.config_cnt; c++)
            rvf_check(info.config_names[c] && info.config_values[c]);
        rv__topic_info_clear(&info);
    }
    rv_strv_free(names, cnt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t flags = size ? data[0] : 0;
    const uint8_t *p = size ? data + 1 : data;
    size_t left = size ? size - 1 : 0;
    const uint8_t *rp = NULL, *ls = NULL;
    size_t rp_len = 0, ls_len = 0;
    if (flags & F_CHECKPOINTS) {
        rp_len = take_u16(&p, &left);
        ls_len = take_u16(&p, &left);
        rp_len = rp_len < left ? rp_len : left;
        rp = p;
        p += rp_len;
        left -= rp_len;
        ls_len = ls_len < left ? ls_len : left;
        ls = p;
        p += ls_len;
        left -= ls_len;
    }
    char id[23];
    if (!plausible_msgpack(p, left) || !scan_meta(p, left, id))
        return 0;

    char *root = rvf_tmpdir();
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", root, RV__TOPICS_META_DIR);
    if (rv__io_mkdirs(path, 0755) < 0)
        abort();
    snprintf(path, sizeof path, "%s/%s/%s.meta", root, RV__TOPICS_META_DIR, id);
    rvf_write_file(path, p, left);
    if (flags & F_CHECKPOINTS) {
        snprintf(path, sizeof path, "%s/%s", root, RV__RECOVERY_POINT_CHECKPOINT);
        rvf_write_file(path, rp, rp_len);
        snprintf(path, sizeof path, "%s/%s", root, RV__LOG_START_CHECKPOINT);
        rvf_write_file(path, ls, ls_len);
    }

    rv__topics_t *t = NULL;
    char errstr[512];
    if (rv__topics_open(&t, root, errstr, sizeof errstr) == RV_ERR_NO_ERROR) {
        inspect(t);
        rv__topics_close(t);
    }
    rvf_rmtree(root);
    free(root);
    return 0;
}
