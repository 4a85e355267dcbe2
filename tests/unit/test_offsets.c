/* tests/unit/test_offsets.c: broker/offsets.c: Kafka's __consumer_offsets
 * key and value bytes checked against hand-built bytes, the partition of a
 * group (Java's String.hashCode), commits and fetches through the
 * coordinator, the records really on the topic, survival across a broker
 * close and reopen, and tombstones for deleted groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "broker/offsets.h"
#include "rivulet/broker.h"
#include "rivulet/record.h"

static void test_partition_for(void **state) {
    (void)state;
    /* Values from Kafka (GroupMetadataManager.partitionFor with 50). */
    assert_int_equal(rv__offsets_partition_for("my-group", 50), 12);
    assert_int_equal(rv__offsets_partition_for("test", 50), 48);
    assert_int_equal(rv__offsets_partition_for("console-consumer-12345", 50), 6);
    assert_int_equal(rv__java_string_hash(""), 0);
    assert_int_equal(rv__java_string_hash("test"), 3556498);
    assert_int_equal(rv__java_string_hash("\xc3\xa9"), 0xe9); /* é: one UTF-16 unit */
    /* U+1F600 is the surrogate pair D83D DE00 in Java. */
    assert_int_equal(rv__java_string_hash("\xf0\x9f\x98\x80"), 0xd83d * 31 + 0xde00);
    /* "polygenelubricants".hashCode() is Integer.MIN_VALUE: Utils.abs
     * makes it 0. */
    assert_int_equal(rv__java_string_hash("polygenelubricants"), INT32_MIN);
    assert_int_equal(rv__offsets_partition_for("polygenelubricants", 50), 0);
}

static void test_formats(void **state) {
    (void)state;
    rv__buf_t b = RV__BUF_INIT;
    /* OffsetCommitKey v1: version, group, topic, partition. */
    static const uint8_t key[] = {0, 1, 0, 2, 'g', '1', 0, 3, 'f', 'o', 'o', 0, 0, 0, 7};
    assert_int_equal(rv__offset_commit_key_encode(&b, "g1", "foo", 7), 0);
    assert_int_equal(b.len, sizeof key);
    assert_memory_equal(b.data, key, sizeof key);

    /* OffsetCommitValue v3: version, offset, leader epoch, metadata,
     * commit timestamp. */
    b.len = 0;
    static const uint8_t val[] = {0,    3,                                         /* version */
                                  0,    0,    0,    0,    0,    0,    0x01, 0x00,  /* offset 256 */
                                  0xff, 0xff, 0xff, 0xff,                          /* epoch -1 */
                                  0,    2,    'm',  'd',                           /* metadata */
                                  0,    0,    0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00}; /* ts */
    assert_int_equal(rv__offset_commit_value_encode(&b, 256, -1, "md", 1700000000000LL), 0);
    assert_int_equal(b.len, sizeof val);
    assert_memory_equal(b.data, val, sizeof val);
    b.len = 0;
    assert_int_equal(rv__offset_commit_value_encode(&b, 1, 5, NULL, 0), 0);
    assert_int_equal(b.len, 2 + 8 + 4 + 2 + 8);
    assert_int_equal(b.data[14], 0);
    assert_int_equal(b.data[15], 0); /* null metadata is "" */

    /* GroupMetadataKey v2. */
    b.len = 0;
    static const uint8_t gkey[] = {0, 2, 0, 2, 'g', '1'};
    assert_int_equal(rv__group_metadata_key_encode(&b, "g1"), 0);
    assert_memory_equal(b.data, gkey, sizeof gkey);
    assert_int_equal(b.len, sizeof gkey);

    /* GroupMetadataValue v1 with one member. */
    b.len = 0;
    rv__group_md_member_t m = {"m1", "c", "/h", 300, 100, "S", 1, "AS", 2};
    rv__group_md_t md = {"consumer", 3, "range", "m1", &m, 1};
    static const uint8_t gval[] = {
        0, 1,                                                 /* version */
        0, 8, 'c',  'o',  'n', 's', 'u', 'm', 'e', 'r',       /* protocol_type */
        0, 0, 0,    3,                                        /* generation */
        0, 5, 'r',  'a',  'n', 'g', 'e',                      /* protocol */
        0, 2, 'm',  '1',                                      /* leader */
        0, 0, 0,    1,                                        /* members */
        0, 2, 'm',  '1',  0,   1,   'c', 0,   2,   '/', 'h',  /* id, client id, host */
        0, 0, 0x01, 0x2c, 0,   0,   0,   100,                 /* rebalance, session */
        0, 0, 0,    1,    'S', 0,   0,   0,   2,   'A', 'S'}; /* subscription, assignment */
    assert_int_equal(rv__group_metadata_value_encode(&b, &md), 0);
    assert_int_equal(b.len, sizeof gval);
    assert_memory_equal(b.data, gval, sizeof gval);

    /* An empty group: null protocol and leader, no members. */
    b.len = 0;
    rv__group_md_t empty = {"consumer", 4, NULL, NULL, NULL, 0};
    static const uint8_t eval[] = {0, 1, 0, 8, 'c',  'o',  'n',  's',  'u', 'm', 'e', 'r',
                                   0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, 0,   0,   0,   0};
    assert_int_equal(rv__group_metadata_value_encode(&b, &empty), 0);
    assert_int_equal(b.len, sizeof eval);
    assert_memory_equal(b.data, eval, sizeof eval);
    rv__buf_free(&b);
}

typedef struct fx_s {
    char *dir;
    rv_broker_t *b;
    rv__group_coordinator_t *gc;
} fx_t;

static void fx_open(fx_t *f) {
    char es[256];
    assert_int_equal(rv_broker_open(&f->b, f->dir, es, sizeof es), 0);
    f->gc = rv__broker_group_coordinator(f->b);
    rv__group_config_t cfg;
    rv__group_config_default(&cfg);
    cfg.offsets_partitions = 5;
    rv__group_coordinator_set_config(f->gc, &cfg);
}

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    f->dir = rvt_tmpdir();
    fx_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    rv_broker_close(f->b);
    rvt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void commit(fx_t *f, const char *group, const char *topic, int32_t part, int64_t off,
                   const char *md) {
    rv__group_offset_t o = {topic, part, off, -1, md, 0};
    char es[256];
    assert_int_equal(rv__group_commit_offsets(f->gc, group, -1, NULL, NULL, &o, 1, es, sizeof es),
                     0);
    assert_int_equal(o.err, 0);
}

static int64_t committed(fx_t *f, const char *group, const char *topic, int32_t part) {
    rv__group_tp_t tp = {topic, part};
    rv__group_committed_t *c;
    size_t n;
    assert_int_equal(rv__group_fetch_offsets(f->gc, group, &tp, 1, &c, &n), 0);
    assert_int_equal(n, 1);
    int64_t off = c[0].offset;
    rv__group_committed_free(c, n);
    return off;
}

/* Every record of one partition of __consumer_offsets, as "key|value"
 * pairs of hex-free raw bytes appended to keys/values arrays. */
typedef struct rec_s {
    uint8_t key[256];
    int32_t key_len;
    uint8_t value[256];
    int32_t value_len;
} rec_t;

static size_t read_topic(fx_t *f, int32_t part, rec_t *out, size_t max) {
    void *data;
    size_t len;
    int64_t hw;
    char es[256];
    assert_int_equal(
        rv_broker_fetch(f->b, RV__OFFSETS_TOPIC, part, 0, 1 << 20, &data, &len, &hw, es, sizeof es),
        0);
    rv_batch_reader_t *r = rv_batch_reader_new(data, len);
    size_t n = 0;
    while (rv_batch_reader_next(r) == 1 && n < max) {
        int32_t kl, vl;
        const void *k = rv_batch_reader_key(r, &kl);
        const void *v = rv_batch_reader_value(r, &vl);
        out[n].key_len = kl;
        out[n].value_len = vl;
        if (kl > 0)
            memcpy(out[n].key, k, (size_t)kl);
        if (vl > 0)
            memcpy(out[n].value, v, (size_t)vl);
        n++;
    }
    rv_batch_reader_destroy(r);
    rv_free(data);
    return n;
}

static void test_commit_fetch_restart(void **state) {
    fx_t *f = *state;
    assert_int_equal(committed(f, "g1", "t", 0), -1); /* nothing yet, no error */
    commit(f, "g1", "t", 0, 10, "first");
    commit(f, "g1", "t", 0, 11, "second");
    commit(f, "g1", "t", 1, 20, NULL);
    commit(f, "g2", "t", 0, 99, NULL);
    assert_int_equal(committed(f, "g1", "t", 0), 11);
    assert_int_equal(committed(f, "g1", "t", 1), 20);
    assert_int_equal(committed(f, "g1", "u", 0), -1);
    assert_int_equal(committed(f, "g2", "t", 0), 99);

    /* The records are on the group's partition in Kafka's format. */
    int32_t part = rv__offsets_partition_for("g1", 5);
    rec_t recs[16];
    size_t n = read_topic(f, part, recs, 16);
    size_t found = 0;
    rv__buf_t k = RV__BUF_INIT, v = RV__BUF_INIT;
    assert_int_equal(rv__offset_commit_key_encode(&k, "g1", "t", 0), 0);
    for (size_t i = 0; i < n; i++) {
        if (recs[i].key_len == (int32_t)k.len && !memcmp(recs[i].key, k.data, k.len)) {
            found++;
            /* value v3: offset at bytes 2..9, metadata at 14.. */
            assert_int_equal(recs[i].value[1], 3);
            int64_t off = (int64_t)rv__be64(recs[i].value + 2);
            assert_int_equal(off, found == 1 ? 10 : 11);
        }
    }
    assert_int_equal(found, 2);
    rv__buf_free(&k);
    rv__buf_free(&v);

    /* All committed partitions of a group, sorted. */
    rv__group_committed_t *c;
    size_t cn;
    assert_int_equal(rv__group_fetch_offsets(f->gc, "g1", NULL, 0, &c, &cn), 0);
    assert_int_equal(cn, 2);
    assert_int_equal(c[0].partition, 0);
    assert_string_equal(c[0].metadata, "second");
    assert_true(c[0].commit_timestamp > 0);
    assert_int_equal(c[1].partition, 1);
    assert_int_equal(c[1].offset, 20);
    rv__group_committed_free(c, cn);

    /* Close and reopen: the cache comes back from the topic. */
    rv_broker_close(f->b);
    fx_open(f);
    assert_int_equal(committed(f, "g1", "t", 0), 11);
    assert_int_equal(committed(f, "g1", "t", 1), 20);
    assert_int_equal(committed(f, "g2", "t", 0), 99);
    rv__group_listing_t *ls;
    assert_int_equal(rv__group_list(f->gc, &ls, &cn), 0);
    assert_int_equal(cn, 2);
    assert_string_equal(ls[0].group_id, "g1");
    assert_string_equal(ls[0].state, "Empty");
    rv__group_listings_free(ls, cn);
    /* The partition count of the existing topic wins over the setting. */
    rv__group_config_t cfg;
    rv__group_config_default(&cfg);
    cfg.offsets_partitions = 7;
    rv__group_coordinator_set_config(f->gc, &cfg);
    commit(f, "g1", "t", 0, 12, NULL);
    rv_broker_close(f->b);
    fx_open(f);
    assert_int_equal(committed(f, "g1", "t", 0), 12);
}

static void test_delete_tombstones(void **state) {
    fx_t *f = *state;
    commit(f, "gone", "t", 0, 5, NULL);
    commit(f, "gone", "t", 1, 6, NULL);
    commit(f, "kept", "t", 0, 7, NULL);
    char es[256];
    assert_int_equal(rv__group_delete(f->gc, "gone", es, sizeof es), 0);
    assert_int_equal(committed(f, "gone", "t", 0), -1);

    /* Tombstones: null values for both offset keys and the group key. */
    int32_t part = rv__offsets_partition_for("gone", 5);
    rec_t recs[16];
    size_t n = read_topic(f, part, recs, 16);
    rv__buf_t gk = RV__BUF_INIT;
    assert_int_equal(rv__group_metadata_key_encode(&gk, "gone"), 0);
    size_t tomb = 0, group_tomb = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].value_len == -1) {
            tomb++;
            if (recs[i].key_len == (int32_t)gk.len && !memcmp(recs[i].key, gk.data, gk.len))
                group_tomb++;
        }
    }
    rv__buf_free(&gk);
    assert_int_equal(tomb, 3);
    assert_int_equal(group_tomb, 1);

    rv_broker_close(f->b);
    fx_open(f);
    assert_int_equal(committed(f, "gone", "t", 0), -1);
    assert_int_equal(committed(f, "gone", "t", 1), -1);
    assert_int_equal(committed(f, "kept", "t", 0), 7);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "gone", &d), RV_ERR_GROUP_ID_NOT_FOUND);
}

/* A rebalance writes a GroupMetadata record that a restart reads back. */
static void join_cb(const rv__group_join_result_t *r, void *opaque) {
    char *out = opaque;
    assert_int_equal(r->err, 0);
    snprintf(out, 256, "%s", r->member_id);
}
static void sync_cb(rv_err_t err, const void *a, size_t len, void *opaque) {
    (void)a;
    (void)len;
    *(int *)opaque = err == 0 ? 1 : -1;
}

static void test_group_metadata_record(void **state) {
    fx_t *f = *state;
    rv__group_config_t cfg;
    rv__group_config_default(&cfg);
    cfg.initial_rebalance_delay_ms = 0;
    cfg.offsets_partitions = 5;
    rv__group_coordinator_set_config(f->gc, &cfg);
    rv__group_protocol_t p = {"range", "S", 1};
    rv__group_join_req_t req;
    memset(&req, 0, sizeof req);
    req.group_id = "meta";
    req.client_id = "c";
    req.client_host = "/h";
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 300;
    req.protocol_type = "consumer";
    req.protocols = &p;
    req.protocol_cnt = 1;
    char member[256] = "";
    rv__group_join(f->gc, &req, join_cb, member); /* completes at once: no delay */
    assert_true(member[0]);
    int synced = 0;
    rv__group_assignment_t a = {member, "AS", 2};
    rv__group_sync(f->gc, "meta", 1, member, NULL, &a, 1, sync_cb, &synced);
    assert_int_equal(synced, 1);

    int32_t part = rv__offsets_partition_for("meta", 5);
    rec_t recs[16];
    size_t n = read_topic(f, part, recs, 16);
    assert_int_equal(n, 1);
    rv__buf_t want = RV__BUF_INIT;
    rv__group_md_member_t m = {member, "c", "/h", 300, 10000, "S", 1, "AS", 2};
    rv__group_md_t md = {"consumer", 1, "range", member, &m, 1};
    assert_int_equal(rv__group_metadata_value_encode(&want, &md), 0);
    assert_int_equal(recs[0].value_len, (int32_t)want.len);
    assert_memory_equal(recs[0].value, want.data, want.len);
    rv__buf_free(&want);

    rv_broker_close(f->b);
    fx_open(f);
    rv__group_description_t d;
    assert_int_equal(rv__group_describe(f->gc, "meta", &d), 0);
    assert_int_equal(d.generation_id, 1);
    assert_string_equal(d.protocol_type, "consumer");
    assert_string_equal(d.state, "Empty");
    rv__group_description_clear(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_for),
        cmocka_unit_test(test_formats),
        cmocka_unit_test_setup_teardown(test_commit_fetch_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_metadata_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
