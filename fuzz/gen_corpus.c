/* fuzz/gen_corpus.c: writes the seed inputs of the fuzz targets into
 * <dir>/<target>/ (the committed fuzz/corpus/ is its output). Seeds are
 * small valid inputs made with the project's own encoders — the batch
 * builder, a real partition log, msgpack as broker/topics.c writes it — so
 * the fuzzers start from inputs that reach deep into each decoder.
 * Usage: fuzz_gen_corpus DIR */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kafka/api.h"
#include "broker/kafka/proto.h"
#include "broker/log/log.h"
#include "broker/topics.h"
#include "common/fileio.h"
#include "common/record_batch.h"
#include "fuzz/fuzzutil.h"

static const char *out_dir;

static void seed(const char *target, const char *name, const void *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (rv__io_mkdirs(path, 0755) < 0) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    rvf_write_file(path, p, n);
}

static void seed_str(const char *target, const char *name, const char *s) {
    seed(target, name, s, strlen(s));
}

static void put_u16(rv__buf_t *b, size_t v) {
    rv__buf_put_be16(b, (uint16_t)v);
}

/* A batch of special records: null key, null value, empty key, headers. */
static void odd_batch(rv__buf_t *out, int16_t attributes, int64_t base) {
    rv__batch_builder_t b;
    rv__buf_t h = RV__BUF_INIT;
    rv__headers_encode(&h, "trace", 5, NULL, -1);
    rv__headers_encode(&h, "", 0, "", 0);
    rv__batch_builder_begin(&b, out, base, attributes, INT64_MIN, 42, 1, 7, 3);
    rv__batch_builder_add(&b, base, 1700000000000, NULL, -1, "v", 1, 0, NULL, 0);
    rv__batch_builder_add(&b, base + 1, 1700000000005, "k", 1, NULL, -1, 2, h.data, h.len);
    rv__batch_builder_add(&b, base + 3, 1699999999999, "", 0, "", 0, 0, NULL, 0);
    rv__batch_builder_finish(&b, -1);
    rv__buf_free(&h);
}

static void record_batch_seeds(void) {
    const char *t = "fuzz_record_batch";
    rv__buf_t b = RV__BUF_INIT;
    rvf_make_batch(&b, 3, 1700000000000);
    seed(t, "batch3", b.data, b.len);
    size_t one = b.len;
    odd_batch(&b, 0, 3);
    seed(t, "two_batches", b.data, b.len);
    seed(t, "torn_tail", b.data, one + 30);
    b.len = 0;
    odd_batch(&b, RV__ATTR_CONTROL | RV__ATTR_TRANSACTIONAL, 0);
    rvf_make_batch(&b, 1, 5);
    seed(t, "control_then_data", b.data, b.len);
    b.len = 0;
    rvf_make_batch(&b, 2, 10);
    rv__batch_set_log_append_time(b.data, b.len, 1700000001234);
    seed(t, "log_append_time", b.data, b.len);
    rv__buf_free(&b);
}

static size_t read_into(rv__buf_t *b, const char *path) {
    size_t before = b->len;
    if (rv__io_read_file(path, b, NULL, 0)) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    return b->len - before;
}

/* A real partition folder after some appends: its .log, .index and
 * .timeindex, written by the log itself. */
static void real_segment(rv__buf_t *logf, rv__buf_t *idxf, rv__buf_t *tidxf, int batches) {
    char *root = rvf_tmpdir();
    char dir[4200], path[4300], errstr[512];
    snprintf(dir, sizeof dir, "%s/t-0", root);
    rv__log_config_t cfg;
    rv__log_config_defaults(&cfg);
    cfg.index_interval_bytes = 0;
    rv__log_t *log;
    if (rv__log_open(&log, dir, &cfg, 0, -1, errstr, sizeof errstr)) {
        fprintf(stderr, "%s\n", errstr);
        exit(1);
    }
    for (int i = 0; i < batches; i++) {
        rv__buf_t b = RV__BUF_INIT;
        rvf_make_batch(&b, 1 + i % 3, 1700000000000 + i * 10);
        if (rv__log_append(log, b.data, b.len, 0, NULL, errstr, sizeof errstr)) {
            fprintf(stderr, "%s\n", errstr);
            exit(1);
        }
        rv__buf_free(&b);
    }
    int64_t next = rv__log_end_offset(log);
    rv__log_close(log);
    snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
    read_into(logf, path);
    /* Then a batch with an offset gap inside, as compaction leaves them
     * (appends refuse such batches, recovery must keep them). */
    odd_batch(logf, 0, next);
    snprintf(path, sizeof path, "%s/%020d.index", dir, 0);
    read_into(idxf, path);
    snprintf(path, sizeof path, "%s/%020d.timeindex", dir, 0);
    read_into(tidxf, path);
    rvf_rmtree(root);
    free(root);
}

static void segment_seeds(void) {
    const char *t = "fuzz_segment_recovery";
    rv__buf_t logf = RV__BUF_INIT, idxf = RV__BUF_INIT, tidxf = RV__BUF_INIT;
    real_segment(&logf, &idxf, &tidxf, 4);
    rv__buf_t in = RV__BUF_INIT;

    rv__buf_put_u8(&in, 0x00);
    rv__buf_append(&in, logf.data, logf.len);
    seed(t, "recover", in.data, in.len);
    seed(t, "recover_torn", in.data, in.len - 17);

    in.len = 0;
    rv__buf_put_u8(&in, 0x04 | 0x08 | 0x20); /* fix CRCs, dense index, compact */
    rv__buf_append(&in, logf.data, logf.len);
    seed(t, "fixcrc_dense_compact", in.data, in.len);

    in.len = 0;
    rv__buf_put_u8(&in, 0x01 | 0x02); /* index files, trusted */
    put_u16(&in, idxf.len);
    put_u16(&in, tidxf.len);
    rv__buf_append(&in, idxf.data, idxf.len);
    rv__buf_append(&in, tidxf.data, tidxf.len);
    rv__buf_append(&in, logf.data, logf.len);
    seed(t, "trusted_with_indexes", in.data, in.len);

    in.len = 0;
    rv__buf_put_u8(&in, 0x10 | 0x40); /* small index, LogAppendTime */
    logf.len = idxf.len = tidxf.len = 0;
    real_segment(&logf, &idxf, &tidxf, 12);
    rv__buf_append(&in, logf.data, logf.len);
    seed(t, "small_index_append_time", in.data, in.len);

    rv__buf_free(&in);
    rv__buf_free(&logf);
    rv__buf_free(&idxf);
    rv__buf_free(&tidxf);
}

static void config_seeds(void) {
    const char *t = "fuzz_config";
    seed_str(t, "kv_segment_bytes", "segment.bytes=1048576");
    seed_str(t, "kv_cleanup_policy", " cleanup.policy = compact, delete ");
    seed_str(t, "double", "0.5e-1");
    seed_str(t, "long_min", "-9223372036854775808");
    seed_str(t, "infinity", "-Infinity");
    seed_str(t, "bool", "TRUE");
    seed_str(t, "enum", "LogAppendTime");
    seed_str(t, "properties",
             "# client settings\n"
             "bootstrap.servers=embedded:/tmp/data\n"
             "  client.id = app-1\n"
             "! another comment\n"
             "\n"
             "request.timeout.ms=+30000\r\n");
}

static void json_seeds(void) {
    const char *t = "fuzz_json";
    seed_str(t, "offsets",
             "{\"partitions\": [{\"topic\": \"orders\", \"partition\": 0, \"offset\": 5},\n"
             "                {\"topic\": \"orders\", \"partition\": 1, \"offset\": -1}],\n"
             " \"version\": 1}\n");
    seed_str(t, "scalars",
             "[\"caf\\u00e9 \\ud83d\\ude00\\n\\\"\", 1.5e-3, -0, 12345678901234567890,"
             " true, false, null, {}, []]");
    seed_str(t, "dup_keys", "{\"a\": 1, \"a\": {\"b\": [2]}, \"\\u0000x\": \"\"}");
    char deep[130];
    memset(deep, '[', 60);
    memset(deep + 60, ']', 60);
    deep[120] = '\0';
    seed_str(t, "deep", deep);
}

static int pack_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

/* A metadata file as broker/topics.c writes it. */
static void meta(msgpack_sbuffer *sb, const char *name, int partitions, int cfgs) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    const uint8_t id[16] = {0x5a, 0x1f, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    msgpack_pack_map(&pk, 6);
    pack_str(&pk, "version");
    msgpack_pack_int32(&pk, 1);
    pack_str(&pk, "name");
    pack_str(&pk, name);
    pack_str(&pk, "id");
    msgpack_pack_bin(&pk, 16);
    msgpack_pack_bin_body(&pk, id, 16);
    pack_str(&pk, "partitions");
    msgpack_pack_int32(&pk, partitions);
    pack_str(&pk, "replication_factor");
    msgpack_pack_int32(&pk, 1);
    pack_str(&pk, "configs");
    msgpack_pack_map(&pk, (size_t)cfgs);
    if (cfgs > 0) {
        pack_str(&pk, "cleanup.policy");
        pack_str(&pk, "compact,delete");
    }
    if (cfgs > 1) {
        pack_str(&pk, "segment.bytes");
        pack_str(&pk, "1048576");
    }
    if (cfgs > 2) {
        pack_str(&pk, "message.timestamp.type");
        pack_str(&pk, "LogAppendTime");
    }
}

static void topic_meta_seeds(void) {
    const char *t = "fuzz_topic_meta";
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    rv__buf_t in = RV__BUF_INIT;

    meta(&sb, "orders", 2, 3);
    rv__buf_put_u8(&in, 0x00);
    rv__buf_append(&in, sb.data, sb.size);
    seed(t, "meta_configs", in.data, in.len);

    msgpack_sbuffer_clear(&sb);
    meta(&sb, "a.b_c-1", 1, 0);
    const char *rp = "0\n2\na.b_c-1 0 0\nother 3 7\n";
    const char *ls = "0\n1\na.b_c-1 0 5\n";
    in.len = 0;
    rv__buf_put_u8(&in, 0x01);
    put_u16(&in, strlen(rp));
    put_u16(&in, strlen(ls));
    rv__buf_append(&in, rp, strlen(rp));
    rv__buf_append(&in, ls, strlen(ls));
    rv__buf_append(&in, sb.data, sb.size);
    seed(t, "meta_checkpoints", in.data, in.len);

    /* A checkpoint claiming 99999999 entries: read as missing, without an
     * allocation sized by the claim (a 2.4 GB calloc once). */
    msgpack_sbuffer_clear(&sb);
    meta(&sb, "orders", 2, 3);
    rp = "0\n99999999\n";
    in.len = 0;
    rv__buf_put_u8(&in, 0x01);
    put_u16(&in, strlen(rp));
    put_u16(&in, 0);
    rv__buf_append(&in, rp, strlen(rp));
    rv__buf_append(&in, sb.data, sb.size);
    seed(t, "ckpt_huge_count", in.data, in.len);

    msgpack_sbuffer_destroy(&sb);
    rv__buf_free(&in);
}

/* ---- fuzz_kafka_request: one request frame each (no size prefix) ---- */

static void req_header(rv__kw_t *w, int16_t key, int16_t version) {
    rv__kw_init(w);
    rv__kw_i16(w, key);
    rv__kw_i16(w, version);
    rv__kw_i32(w, 7);
    rv__kw_str(w, "fuzz");
}

static void req_seed(rv__kw_t *w, const char *name) {
    seed("fuzz_kafka_request", name, w->b.data, w->b.len);
    rv__kw_free(w);
}

/* An array of one topic with one partition (int32 index), as most
 * partition-level requests start. */
static void one_topic(rv__kw_t *w, const char *topic, int32_t partition) {
    rv__kw_i32(w, 1);
    rv__kw_str(w, topic);
    rv__kw_i32(w, 1);
    rv__kw_i32(w, partition);
}

static void kafka_request_seeds(void) {
    rv__kw_t w;
    for (int16_t v = 0; v <= 3; v++) {
        char name[32];
        req_header(&w, RV__KAPI_API_VERSIONS, v);
        if (v == 3) {
            rv__kw_uvarint(&w, 0); /* header tags */
            rv__kw_uvarint(&w, 5); /* compact "fuzz" */
            rv__kw_raw(&w, "fuzz", 4);
            rv__kw_uvarint(&w, 2);
            rv__kw_raw(&w, "1", 1);
            rv__kw_uvarint(&w, 0);
        }
        snprintf(name, sizeof name, "api_versions_v%d", v);
        req_seed(&w, name);
    }
    req_header(&w, RV__KAPI_METADATA, 0);
    rv__kw_i32(&w, 0);
    req_seed(&w, "metadata_v0_all");
    req_header(&w, RV__KAPI_METADATA, 4);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "t");
    rv__kw_bool(&w, true);
    req_seed(&w, "metadata_v4_autocreate");

    rv__buf_t batch = RV__BUF_INIT;
    rvf_make_batch(&batch, 3, 1700000000000);
    for (int16_t v = 3; v <= 7; v += 4) {
        req_header(&w, RV__KAPI_PRODUCE, v);
        rv__kw_str(&w, NULL); /* transactional id */
        rv__kw_i16(&w, 1);
        rv__kw_i32(&w, 1000);
        rv__kw_i32(&w, 1);
        rv__kw_str(&w, "t");
        rv__kw_i32(&w, 1);
        rv__kw_i32(&w, 0);
        rv__kw_bytes(&w, batch.data, batch.len);
        req_seed(&w, v == 3 ? "produce_v3" : "produce_v7");
    }
    rv__buf_free(&batch);

    req_header(&w, RV__KAPI_FETCH, 11);
    rv__kw_i32(&w, -1); /* replica */
    rv__kw_i32(&w, 0);  /* max wait */
    rv__kw_i32(&w, 1);  /* min bytes */
    rv__kw_i32(&w, 1 << 20);
    rv__kw_i8(&w, 0);   /* isolation */
    rv__kw_i32(&w, 0);  /* session id */
    rv__kw_i32(&w, -1); /* session epoch */
    one_topic(&w, "t", 0);
    rv__kw_i32(&w, -1); /* current leader epoch */
    rv__kw_i64(&w, 0);  /* fetch offset */
    rv__kw_i64(&w, -1); /* log start offset */
    rv__kw_i32(&w, 1 << 20);
    rv__kw_i32(&w, 0);  /* forgotten topics */
    rv__kw_str(&w, ""); /* rack */
    req_seed(&w, "fetch_v11");

    req_header(&w, RV__KAPI_LIST_OFFSETS, 1);
    rv__kw_i32(&w, -1);
    one_topic(&w, "t", 0);
    rv__kw_i64(&w, -2);
    req_seed(&w, "list_offsets_v1");

    req_header(&w, RV__KAPI_OFFSET_COMMIT, 2);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, -1);
    rv__kw_str(&w, "");
    rv__kw_i64(&w, -1);
    one_topic(&w, "t", 0);
    rv__kw_i64(&w, 1);
    rv__kw_str(&w, "m");
    req_seed(&w, "offset_commit_v2");

    req_header(&w, RV__KAPI_OFFSET_FETCH, 3);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, -1);
    req_seed(&w, "offset_fetch_v3_all");

    req_header(&w, RV__KAPI_FIND_COORDINATOR, 1);
    rv__kw_str(&w, "g");
    rv__kw_i8(&w, 0);
    req_seed(&w, "find_coordinator_v1");

    req_header(&w, RV__KAPI_HEARTBEAT, 1);
    rv__kw_str(&w, "g");
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "m");
    req_seed(&w, "heartbeat_v1");

    req_header(&w, RV__KAPI_LIST_GROUPS, 2);
    req_seed(&w, "list_groups_v2");

    req_header(&w, RV__KAPI_DESCRIBE_GROUPS, 2);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "g");
    req_seed(&w, "describe_groups_v2");

    req_header(&w, RV__KAPI_DESCRIBE_CONFIGS, 1);
    rv__kw_i32(&w, 1);
    rv__kw_i8(&w, 2);
    rv__kw_str(&w, "t");
    rv__kw_i32(&w, -1);
    rv__kw_bool(&w, true);
    req_seed(&w, "describe_configs_v1");

    req_header(&w, RV__KAPI_DELETE_RECORDS, 1);
    one_topic(&w, "t", 0);
    rv__kw_i64(&w, 1);
    rv__kw_i32(&w, 1000);
    req_seed(&w, "delete_records_v1");

    req_header(&w, RV__KAPI_INIT_PRODUCER_ID, 0);
    rv__kw_str(&w, NULL);
    rv__kw_i32(&w, 60000);
    req_seed(&w, "init_producer_id_v0");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    rvf_quiet_logs();
    record_batch_seeds();
    segment_seeds();
    config_seeds();
    json_seeds();
    topic_meta_seeds();
    kafka_request_seeds();
    return 0;
}
