/* tests/unit/test_kafka_server.c: the Kafka protocol server
 * (broker/kafka/server.c) and the core handlers (broker/kafka/api_core.c)
 * over real TCP sockets: requests are encoded by hand here and sent to a
 * server on 127.0.0.1 with an OS-picked port; then librdkafka's own
 * producer and consumer, and kcat against the `rivulet broker` program. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "broker/kafka/api.h"
#include "broker/kafka/proto.h"
#include "broker/kafka/server.h"
#include "broker/topics.h"
#include "common/clock.h"
#include "rivulet/broker.h"
#include "rivulet/log.h"
#include "rivulet/producer.h"

typedef rvt_kserver_t fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.max_request_bytes = 1 << 20;
    rvt_kserver_start(f, &cfg);
    *state = f;
    return 0;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void create_topic(fixture_t *f, const char *name, int32_t parts) {
    char errstr[512];
    if (rv__topics_create(rv__broker_topics(f->broker), name, parts, 1, NULL, NULL, 0, errstr,
                          sizeof errstr))
        fail_msg("create %s: %s", name, errstr);
}

/* ---- a raw Kafka client ---- */

/* Every byte must go out: the server closes only on errors. */
static void send_all(int fd, const void *p, size_t n) {
    assert_int_equal(rvt_ksend_all(fd, p, n), 0);
}

/* Appends a whole request frame (size, header v1 or v2, body) to out. */
static void frame(rv__buf_t *out, int16_t key, int16_t ver, int32_t corr, const rv__kw_t *body) {
    rv__kw_t h;
    rvt_kreq_begin(&h, key, ver, corr, "rvtest");
    size_t blen = body ? body->b.len : 0;
    assert_int_equal(rv__buf_put_be32(out, (uint32_t)(h.b.len + blen)), 0);
    assert_int_equal(rv__buf_append(out, h.b.data, h.b.len), 0);
    if (blen)
        assert_int_equal(rv__buf_append(out, body->b.data, blen), 0);
    rv__kw_free(&h);
}

static void send_req(int fd, int16_t key, int16_t ver, int32_t corr, const rv__kw_t *body) {
    rv__buf_t b = RV__BUF_INIT;
    frame(&b, key, ver, corr, body);
    send_all(fd, b.data, b.len);
    rv__buf_free(&b);
}

static int recv_n(int fd, void *p, size_t n) {
    uint8_t *b = p;
    while (n) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Reads one response: returns its correlation id and leaves the body in
 * *out (reset first). Fails the test on EOF or timeout. */
static int32_t recv_resp(int fd, rv__buf_t *out) {
    uint8_t hdr[8];
    if (recv_n(fd, hdr, 8))
        fail_msg("no response (connection closed or timed out)");
    uint32_t size = rv__be32(hdr);
    assert_true(size >= 4);
    out->len = 0;
    uint8_t *p;
    assert_int_equal(rv__buf_extend(out, size - 4 ? size - 4 : 0, &p), 0);
    if (size > 4)
        assert_int_equal(recv_n(fd, p, size - 4), 0);
    return (int32_t)rv__be32(hdr + 4);
}

/* True when the server closed the connection (EOF within 5 s). */
static bool closed_by_server(int fd) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int64_t end = rv__mono_ms() + 5000;
    while (rv__mono_ms() < end) {
        if (poll(&pfd, 1, 100) > 0) {
            char c;
            ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno == ECONNRESET))
                return true;
            if (r > 0)
                return false; /* data: not closed */
        }
    }
    return false;
}

typedef struct resp_s {
    rv__buf_t buf;
    rv__karena_t arena;
    rv__kr_t r;
} resp_t;

static void resp_open(resp_t *rs, const rv__buf_t *b) {
    rs->arena = (rv__karena_t)RV__KARENA_INIT;
    rv__kr_init(&rs->r, b->data, b->len, &rs->arena);
}

static void resp_close(resp_t *rs) {
    rvt_kresp_end(&rs->r);
    rv__karena_free(&rs->arena);
}

/* ---- request bodies ---- */

static void produce_body(rv__kw_t *w, int16_t acks, const char *topic, int32_t partition,
                         const rv__buf_t *batch) {
    rv__kw_init(w);
    rv__kw_str(w, NULL); /* transactional_id */
    rv__kw_i16(w, acks);
    rv__kw_i32(w, 30000);
    rv__kw_i32(w, 1);
    rv__kw_str(w, topic);
    rv__kw_i32(w, 1);
    rv__kw_i32(w, partition);
    rv__kw_bytes(w, batch->data, batch->len);
}

static void fetch_body(rv__kw_t *w, int16_t v, int32_t max_wait, int32_t min_bytes,
                       int32_t max_bytes, const char *topic, int32_t partition, int64_t offset,
                       int32_t pmax) {
    rv__kw_init(w);
    rv__kw_i32(w, -1);
    rv__kw_i32(w, max_wait);
    rv__kw_i32(w, min_bytes);
    rv__kw_i32(w, max_bytes);
    rv__kw_i8(w, 0);
    if (v >= 7) {
        rv__kw_i32(w, 0);
        rv__kw_i32(w, -1);
    }
    rv__kw_i32(w, 1);
    rv__kw_str(w, topic);
    rv__kw_i32(w, 1);
    rv__kw_i32(w, partition);
    if (v >= 9)
        rv__kw_i32(w, -1);
    rv__kw_i64(w, offset);
    if (v >= 5)
        rv__kw_i64(w, -1);
    rv__kw_i32(w, pmax);
    if (v >= 7)
        rv__kw_i32(w, 0);
    if (v >= 11)
        rv__kw_str(w, "");
}

typedef struct fetch_res_s {
    int16_t err;
    int64_t hw, lso, log_start;
    rv__buf_t records;
} fetch_res_t;

/* Parses a one-partition Fetch response. */
static void parse_fetch(const rv__buf_t *b, int16_t v, const char *topic, fetch_res_t *out) {
    resp_t rs;
    resp_open(&rs, b);
    rv__kr_t *r = &rs.r;
    assert_int_equal(rv__kr_i32(r), 0); /* throttle */
    if (v >= 7) {
        assert_int_equal(rv__kr_i16(r), 0);
        assert_int_equal(rv__kr_i32(r), 0); /* session id */
    }
    assert_int_equal(rv__kr_array(r, 0), 1);
    assert_string_equal(rv__kr_str(r), topic);
    assert_int_equal(rv__kr_array(r, 0), 1);
    (void)rv__kr_i32(r);
    out->err = rv__kr_i16(r);
    out->hw = rv__kr_i64(r);
    out->lso = rv__kr_i64(r);
    out->log_start = v >= 5 ? rv__kr_i64(r) : -1;
    assert_int_equal(rv__kr_array(r, 16), -1); /* aborted: null (read_uncommitted) */
    if (v >= 11)
        assert_int_equal(rv__kr_i32(r), -1);
    size_t n;
    const uint8_t *p = rv__kr_bytes(r, &n);
    out->records.len = 0;
    if (n)
        assert_int_equal(rv__buf_append(&out->records, p, n), 0);
    resp_close(&rs);
}

typedef struct produce_res_s {
    int16_t err;
    int64_t base, append_time, log_start;
} produce_res_t;

static void parse_produce(const rv__buf_t *b, int16_t v, produce_res_t *out) {
    resp_t rs;
    resp_open(&rs, b);
    rv__kr_t *r = &rs.r;
    assert_int_equal(rv__kr_array(r, 0), 1);
    (void)rv__kr_str(r);
    assert_int_equal(rv__kr_array(r, 0), 1);
    (void)rv__kr_i32(r);
    out->err = rv__kr_i16(r);
    out->base = rv__kr_i64(r);
    out->append_time = rv__kr_i64(r);
    out->log_start = v >= 5 ? rv__kr_i64(r) : -2;
    assert_int_equal(rv__kr_i32(r), 0); /* throttle */
    resp_close(&rs);
}

static produce_res_t produce(int fd, int16_t v, int32_t corr, const char *topic, int32_t part,
                             const rv__buf_t *batch) {
    rv__kw_t w;
    produce_body(&w, -1, topic, part, batch);
    send_req(fd, RV__KAPI_PRODUCE, v, corr, &w);
    rv__kw_free(&w);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(recv_resp(fd, &b), corr);
    produce_res_t pr;
    parse_produce(&b, v, &pr);
    rv__buf_free(&b);
    return pr;
}

/* ---- ApiVersions ---- */

static void check_range(int16_t key, int16_t min, int16_t max) {
    switch (key) {
    case RV__KAPI_PRODUCE:
        assert_true(min <= 3 && max >= 7);
        break;
    case RV__KAPI_FETCH:
        assert_true(min <= 4 && max >= 11);
        break;
    case RV__KAPI_LIST_OFFSETS:
        assert_true(min == 0 && max >= 3);
        break;
    case RV__KAPI_METADATA:
        assert_true(min == 0 && max >= 5);
        break;
    case RV__KAPI_API_VERSIONS:
        assert_true(min == 0 && max == 3);
        break;
    default:
        break;
    }
}

static void test_api_versions(void **state) {
    fixture_t *f = *state;
    int fd = rvt_kdial(f->port);
    rv__buf_t b = RV__BUF_INIT;
    /* v0: error, [key, min, max]. */
    send_req(fd, RV__KAPI_API_VERSIONS, 0, 7, NULL);
    assert_int_equal(recv_resp(fd, &b), 7);
    resp_t rs;
    resp_open(&rs, &b);
    assert_int_equal(rv__kr_i16(&rs.r), 0);
    int32_t n = rv__kr_array(&rs.r, 6);
    assert_true(n >= 5);
    int seen = 0;
    for (int32_t i = 0; i < n; i++) {
        int16_t key = rv__kr_i16(&rs.r), min = rv__kr_i16(&rs.r), max = rv__kr_i16(&rs.r);
        check_range(key, min, max);
        seen += key == RV__KAPI_PRODUCE || key == RV__KAPI_FETCH || key == RV__KAPI_METADATA ||
                key == RV__KAPI_LIST_OFFSETS || key == RV__KAPI_INIT_PRODUCER_ID;
    }
    assert_int_equal(seen, 5);
    resp_close(&rs);

    /* v3: flexible body (compact array, tags), response header still v0. */
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_uvarint(&w, 8); /* client_software_name "rvtest!" as a compact string */
    rv__kw_raw(&w, "rvtest!", 7);
    rv__kw_uvarint(&w, 4);
    rv__kw_raw(&w, "1.0", 3);
    rv__kw_uvarint(&w, 0);
    send_req(fd, RV__KAPI_API_VERSIONS, 3, 8, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 8);
    resp_open(&rs, &b);
    assert_int_equal(rv__kr_i16(&rs.r), 0);
    uint64_t cnt1;
    assert_int_equal(rv__slice_uvarint(&rs.r.s, &cnt1), 0);
    assert_true(cnt1 >= 6);
    for (uint64_t i = 0; i + 1 < cnt1; i++) {
        int16_t key = rv__kr_i16(&rs.r), min = rv__kr_i16(&rs.r), max = rv__kr_i16(&rs.r);
        check_range(key, min, max);
        rv__kr_skip_tags(&rs.r);
    }
    assert_int_equal(rv__kr_i32(&rs.r), 0); /* throttle */
    rv__kr_skip_tags(&rs.r);
    resp_close(&rs);
    rv__buf_free(&b);
    close(fd);
}

/* ---- Metadata ---- */

typedef struct md_topic_s {
    int16_t err;
    char name[64];
    bool internal;
    int32_t partitions;
} md_topic_t;

/* Parses a Metadata response; returns the topic count (up to max). */
static int parse_metadata(const rv__buf_t *b, int16_t v, int port, md_topic_t *topics, int max) {
    resp_t rs;
    resp_open(&rs, b);
    rv__kr_t *r = &rs.r;
    if (v >= 3)
        assert_int_equal(rv__kr_i32(r), 0);
    assert_int_equal(rv__kr_array(r, 0), 1);
    assert_int_equal(rv__kr_i32(r), 1);
    assert_string_equal(rv__kr_str(r), "127.0.0.1");
    assert_int_equal(rv__kr_i32(r), port);
    if (v >= 1)
        assert_null(rv__kr_str(r)); /* rack */
    if (v >= 2)
        assert_string_equal(rv__kr_str(r), RV__KSERVER_DEFAULT_CLUSTER_ID);
    if (v >= 1)
        assert_int_equal(rv__kr_i32(r), 1); /* controller */
    int32_t n = rv__kr_array(r, 0);
    assert_true(n <= max);
    for (int32_t i = 0; i < n; i++) {
        topics[i].err = rv__kr_i16(r);
        snprintf(topics[i].name, sizeof topics[i].name, "%s", rv__kr_str(r));
        topics[i].internal = v >= 1 ? rv__kr_bool(r) : false;
        topics[i].partitions = rv__kr_array(r, 0);
        for (int32_t p = 0; p < topics[i].partitions; p++) {
            assert_int_equal(rv__kr_i16(r), 0);
            assert_int_equal(rv__kr_i32(r), p);
            assert_int_equal(rv__kr_i32(r), 1); /* leader */
            assert_int_equal(rv__kr_array(r, 0), 1);
            assert_int_equal(rv__kr_i32(r), 1);
            assert_int_equal(rv__kr_array(r, 0), 1);
            assert_int_equal(rv__kr_i32(r), 1);
            if (v >= 5)
                assert_int_equal(rv__kr_array(r, 0), 0);
        }
    }
    resp_close(&rs);
    return n;
}

static void metadata_req(int fd, int16_t v, int32_t corr, const char *const *names, int n,
                         bool allow) {
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_i32(&w, n);
    for (int i = 0; i < n; i++)
        rv__kw_str(&w, names[i]);
    if (v >= 4)
        rv__kw_bool(&w, allow);
    send_req(fd, RV__KAPI_METADATA, v, corr, &w);
    rv__kw_free(&w);
}

static void test_metadata(void **state) {
    fixture_t *f = *state;
    create_topic(f, "alpha", 3);
    create_topic(f, "__consumer_offsets", 2);
    int fd = rvt_kdial(f->port);
    rv__buf_t b = RV__BUF_INIT;
    md_topic_t t[8];

    /* v0: [] = every topic, internal ones included. */
    metadata_req(fd, 0, 1, NULL, 0, true);
    assert_int_equal(recv_resp(fd, &b), 1);
    assert_int_equal(parse_metadata(&b, 0, f->port, t, 8), 2);
    assert_string_equal(t[0].name, "__consumer_offsets");
    assert_string_equal(t[1].name, "alpha");
    assert_int_equal(t[1].partitions, 3);

    /* v1: null = every topic, with is_internal; [] = none. */
    metadata_req(fd, 1, 2, NULL, -1, true);
    assert_int_equal(recv_resp(fd, &b), 2);
    assert_int_equal(parse_metadata(&b, 1, f->port, t, 8), 2);
    assert_true(t[0].internal);
    assert_false(t[1].internal);
    metadata_req(fd, 1, 3, NULL, 0, true);
    assert_int_equal(recv_resp(fd, &b), 3);
    assert_int_equal(parse_metadata(&b, 1, f->port, t, 8), 0);

    /* v4: allow_auto_topic_creation false -> UNKNOWN_TOPIC_OR_PARTITION,
     * true -> created with num.partitions (1). */
    const char *names[] = {"beta"};
    metadata_req(fd, 4, 4, names, 1, false);
    assert_int_equal(recv_resp(fd, &b), 4);
    assert_int_equal(parse_metadata(&b, 4, f->port, t, 8), 1);
    assert_int_equal(t[0].err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(t[0].partitions, 0);
    metadata_req(fd, 4, 5, names, 1, true);
    assert_int_equal(recv_resp(fd, &b), 5);
    assert_int_equal(parse_metadata(&b, 4, f->port, t, 8), 1);
    assert_int_equal(t[0].err, 0);
    assert_int_equal(t[0].partitions, 1);

    /* v1 (before v4) auto-creates; an invalid name gets INVALID_TOPIC_EXCEPTION. */
    const char *names2[] = {"gamma", "bad/name"};
    metadata_req(fd, 1, 6, names2, 2, true);
    assert_int_equal(recv_resp(fd, &b), 6);
    assert_int_equal(parse_metadata(&b, 1, f->port, t, 8), 2);
    assert_int_equal(t[0].err, 0);
    assert_int_equal(t[1].err, RV_ERR_INVALID_TOPIC_EXCEPTION);

    /* v5 has offline replicas and a throttle time. */
    metadata_req(fd, 5, 7, names, 1, false);
    assert_int_equal(recv_resp(fd, &b), 7);
    assert_int_equal(parse_metadata(&b, 5, f->port, t, 8), 1);
    assert_int_equal(t[0].partitions, 1);
    rv__buf_free(&b);
    close(fd);
}

/* A Metadata request that auto-creates __consumer_offsets gets it as the
 * group coordinator needs it (Kafka's AutoTopicCreationManager): compacted,
 * with offsets.topic.num.partitions partitions, never an ordinary topic
 * whose retention would delete committed offsets. __transaction_state
 * (no transaction coordinator here) is not created. */
static void test_metadata_creates_internal_topics_as_their_owner(void **state) {
    fixture_t *f = *state;
    int fd = rvt_kdial(f->port);
    rv__buf_t b = RV__BUF_INIT;
    md_topic_t t[4];
    const char *names[] = {"__consumer_offsets", "__transaction_state"};
    metadata_req(fd, 1, 1, names, 2, true);
    assert_int_equal(recv_resp(fd, &b), 1);
    assert_int_equal(parse_metadata(&b, 1, f->port, t, 4), 2);
    assert_int_equal(t[0].err, 0);
    assert_true(t[0].internal);
    rv__group_config_t gcfg;
    rv__group_config_default(&gcfg);
    assert_int_equal(t[0].partitions, gcfg.offsets_partitions);
    assert_int_equal(t[1].err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rv__topic_info_t info;
    memset(&info, 0, sizeof info);
    assert_int_equal(
        rv__topics_describe(rv__broker_topics(f->broker), "__consumer_offsets", &info, NULL, 0), 0);
    const char *policy = NULL;
    for (size_t i = 0; i < info.config_cnt; i++)
        if (!strcmp(info.config_names[i], "cleanup.policy"))
            policy = info.config_values[i];
    assert_non_null(policy);
    assert_string_equal(policy, "compact");
    rv__topic_info_clear(&info);
    rv__buf_free(&b);
    close(fd);
}

/* ---- Produce and Fetch ---- */

static void test_produce_fetch(void **state) {
    fixture_t *f = *state;
    create_topic(f, "pf", 1);
    int fd = rvt_kdial(f->port);
    rv__buf_t b1 = RV__BUF_INIT, b2 = RV__BUF_INIT, b = RV__BUF_INIT;
    rvt_make_batch(&b1, 3, "k", 20, rv__now_ms());
    rvt_make_batch(&b2, 4, "j", 30, rv__now_ms());

    produce_res_t pr = produce(fd, 3, 11, "pf", 0, &b1);
    assert_int_equal(pr.err, 0);
    assert_int_equal(pr.base, 0);
    assert_int_equal(pr.append_time, -1);
    pr = produce(fd, 7, 12, "pf", 0, &b2);
    assert_int_equal(pr.err, 0);
    assert_int_equal(pr.base, 3);
    assert_int_equal(pr.log_start, 0);

    /* The stored batches come back byte for byte, with base offsets set. */
    uint8_t off[8];
    rv__wbe64(off, 3);
    memcpy(b2.data, off, 8);
    for (int16_t v = 4; v <= 11; v += 7) {
        rv__kw_t w;
        fetch_body(&w, v, 100, 1, 1 << 20, "pf", 0, 0, 1 << 20);
        send_req(fd, RV__KAPI_FETCH, v, 20 + v, &w);
        rv__kw_free(&w);
        assert_int_equal(recv_resp(fd, &b), 20 + v);
        fetch_res_t fr = {0};
        parse_fetch(&b, v, "pf", &fr);
        assert_int_equal(fr.err, 0);
        assert_int_equal(fr.hw, 7);
        assert_int_equal(fr.lso, 7);
        if (v >= 5)
            assert_int_equal(fr.log_start, 0);
        assert_int_equal(fr.records.len, b1.len + b2.len);
        assert_memory_equal(fr.records.data, b1.data, b1.len);
        assert_memory_equal(fr.records.data + b1.len, b2.data, b2.len);
        rv__buf_free(&fr.records);
    }

    /* From offset 4 (inside the second batch): that batch, whole. A
     * partition limit of 1 byte still returns one batch (KIP-74). */
    rv__kw_t w;
    fetch_body(&w, 11, 0, 0, 1, "pf", 0, 4, 1);
    send_req(fd, RV__KAPI_FETCH, 11, 30, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 30);
    fetch_res_t fr = {0};
    parse_fetch(&b, 11, "pf", &fr);
    assert_int_equal(fr.records.len, b2.len);
    assert_memory_equal(fr.records.data, b2.data, b2.len);

    /* Past the high watermark: OFFSET_OUT_OF_RANGE at once, no long poll. */
    fetch_body(&w, 11, 5000, 1, 1 << 20, "pf", 0, 8, 1 << 20);
    int64_t t0 = rv__mono_ms();
    send_req(fd, RV__KAPI_FETCH, 11, 31, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 31);
    parse_fetch(&b, 11, "pf", &fr);
    assert_int_equal(fr.err, RV_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(fr.records.len, 0);
    assert_true(rv__mono_ms() - t0 < 2000);

    /* Unknown topic: produce gets UNKNOWN_TOPIC_OR_PARTITION for a
     * partition past the count; fetch as well. */
    pr = produce(fd, 7, 32, "pf", 5, &b1);
    assert_int_equal(pr.err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(pr.base, -1);
    fetch_body(&w, 4, 0, 0, 1 << 20, "nope", 0, 0, 1 << 20);
    send_req(fd, RV__KAPI_FETCH, 4, 33, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 33);
    parse_fetch(&b, 4, "nope", &fr);
    assert_int_equal(fr.err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);

    /* Produce to an unknown topic creates it (auto.create.topics.enable). */
    pr = produce(fd, 7, 34, "made-by-produce", 0, &b1);
    assert_int_equal(pr.err, 0);
    assert_int_equal(pr.base, 0);

    /* A corrupt batch (bad CRC) is refused with CORRUPT_MESSAGE. */
    rv__buf_t bad = RV__BUF_INIT;
    rvt_make_batch(&bad, 2, "x", 10, 0);
    bad.data[bad.len - 1] ^= 0xff;
    pr = produce(fd, 7, 35, "pf", 0, &bad);
    assert_int_equal(pr.err, RV_ERR_CORRUPT_MESSAGE);
    rv__buf_free(&bad);

    rv__buf_free(&fr.records);
    rv__buf_free(&b);
    rv__buf_free(&b1);
    rv__buf_free(&b2);
    close(fd);
}

/* The response limit: the first partition's batch is whole even when
 * larger than max_bytes, a later partition gets nothing once the limit is
 * used up. */
static void test_fetch_max_bytes(void **state) {
    fixture_t *f = *state;
    create_topic(f, "mb", 2);
    rv__buf_t b1 = RV__BUF_INIT, b = RV__BUF_INIT;
    rvt_make_batch(&b1, 5, "k", 200, rv__now_ms());
    char errstr[256];
    for (int p = 0; p < 2; p++)
        assert_int_equal(
            rv_broker_produce(f->broker, "mb", p, b1.data, b1.len, 1, NULL, errstr, sizeof errstr),
            0);
    int fd = rvt_kdial(f->port);
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_i32(&w, -1);
    rv__kw_i32(&w, 0);
    rv__kw_i32(&w, 0);
    rv__kw_i32(&w, 100); /* max_bytes, below one batch */
    rv__kw_i8(&w, 0);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, "mb");
    rv__kw_i32(&w, 2);
    for (int p = 0; p < 2; p++) {
        rv__kw_i32(&w, p);
        rv__kw_i64(&w, 0);
        rv__kw_i32(&w, 1 << 20);
    }
    send_req(fd, RV__KAPI_FETCH, 4, 1, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 1);
    resp_t rs;
    resp_open(&rs, &b);
    rv__kr_t *r = &rs.r;
    (void)rv__kr_i32(r);
    assert_int_equal(rv__kr_array(r, 0), 1);
    (void)rv__kr_str(r);
    assert_int_equal(rv__kr_array(r, 0), 2);
    for (int p = 0; p < 2; p++) {
        assert_int_equal(rv__kr_i32(r), p);
        assert_int_equal(rv__kr_i16(r), 0);
        assert_int_equal(rv__kr_i64(r), 5);
        assert_int_equal(rv__kr_i64(r), 5);
        assert_int_equal(rv__kr_array(r, 0), -1);
        size_t n;
        (void)rv__kr_bytes(r, &n);
        assert_int_equal(n, p == 0 ? b1.len : 0);
    }
    resp_close(&rs);
    rv__buf_free(&b);
    rv__buf_free(&b1);
    close(fd);
}

/* ---- long polling ---- */

typedef struct appender_s {
    rv_broker_t *b;
    int delay_ms;
    rv__buf_t batch;
} appender_t;

static void *append_later(void *arg) {
    appender_t *a = arg;
    sleep_ms(a->delay_ms);
    char errstr[256];
    rv_err_t err = rv_broker_produce(a->b, "lp", 0, a->batch.data, a->batch.len, 1, NULL, errstr,
                                     sizeof errstr);
    if (err)
        fprintf(stderr, "append: %s\n", errstr);
    return NULL;
}

static void test_fetch_long_poll(void **state) {
    fixture_t *f = *state;
    create_topic(f, "lp", 1);
    int fd = rvt_kdial(f->port);
    appender_t a = {f->broker, 300, RV__BUF_INIT};
    /* Current timestamps: retention.ms would delete records from 1970. */
    rvt_make_batch(&a.batch, 2, "k", 10, rv__now_ms());
    pthread_t th;
    int64_t t0 = rv__mono_ms();
    rv__kw_t w;
    fetch_body(&w, 11, 8000, 1, 1 << 20, "lp", 0, 0, 1 << 20);
    send_req(fd, RV__KAPI_FETCH, 11, 5, &w);
    rv__kw_free(&w);
    assert_int_equal(pthread_create(&th, NULL, append_later, &a), 0);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(recv_resp(fd, &b), 5);
    int64_t took = rv__mono_ms() - t0;
    pthread_join(th, NULL);
    fetch_res_t fr = {0};
    parse_fetch(&b, 11, "lp", &fr);
    assert_int_equal(fr.err, 0);
    assert_int_equal(fr.hw, 2);
    assert_int_equal(fr.records.len, a.batch.len);
    assert_true(took >= 250); /* it did wait for the append */
    assert_true(took < 4000); /* and was woken by it, not by max_wait */

    /* No append: answered empty when max_wait_ms passes. */
    fetch_body(&w, 4, 400, 1, 1 << 20, "lp", 0, 2, 1 << 20);
    t0 = rv__mono_ms();
    send_req(fd, RV__KAPI_FETCH, 4, 6, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 6);
    took = rv__mono_ms() - t0;
    parse_fetch(&b, 4, "lp", &fr);
    assert_int_equal(fr.err, 0);
    assert_int_equal(fr.records.len, 0);
    assert_true(took >= 350);
    assert_true(took < 3000);

    /* min_bytes larger than one append: still waiting after the first. */
    a.delay_ms = 100;
    fetch_body(&w, 11, 700, 100000, 1 << 20, "lp", 0, 2, 1 << 20);
    t0 = rv__mono_ms();
    send_req(fd, RV__KAPI_FETCH, 11, 7, &w);
    rv__kw_free(&w);
    assert_int_equal(pthread_create(&th, NULL, append_later, &a), 0);
    assert_int_equal(recv_resp(fd, &b), 7);
    took = rv__mono_ms() - t0;
    pthread_join(th, NULL);
    parse_fetch(&b, 11, "lp", &fr);
    assert_int_equal(fr.records.len, a.batch.len);
    assert_true(took >= 600);
    rv__buf_free(&fr.records);
    rv__buf_free(&a.batch);
    rv__buf_free(&b);
    close(fd);
}

/* A waiting Fetch is re-run by appends to its partitions only: appends to
 * other topics leave it parked (with many long-polling consumers, each
 * append would otherwise re-run every one of them), and one to its own
 * partition answers it at once. */
static void test_fetch_woken_by_its_partitions_only(void **state) {
    fixture_t *f = *state;
    create_topic(f, "quiet", 1);
    create_topic(f, "busy", 2);
    /* Different wake bits (else the test would prove nothing). */
    assert_int_not_equal(rv__kwake_bit("quiet", 0), rv__kwake_bit("busy", 0));
    assert_int_not_equal(rv__kwake_bit("quiet", 0), rv__kwake_bit("busy", 1));
    int fd = rvt_kdial(f->port);
    rv__kw_t w;
    fetch_body(&w, 11, 5000, 1, 1 << 20, "quiet", 0, 0, 1 << 20);
    int64_t t0 = rv__mono_ms();
    send_req(fd, RV__KAPI_FETCH, 11, 9, &w);
    rv__kw_free(&w);
    sleep_ms(100); /* parked */
    long before = rv__kserver_wakeups(f->server);
    rv__buf_t batch = RV__BUF_INIT;
    rvt_make_batch(&batch, 1, "k", 10, rv__now_ms());
    char errstr[256];
    for (int i = 0; i < 200; i++)
        assert_int_equal(rv_broker_produce(f->broker, "busy", i % 2, batch.data, batch.len, 1, NULL,
                                           errstr, sizeof errstr),
                         0);
    sleep_ms(100);
    assert_int_equal(rv__kserver_wakeups(f->server), before);
    assert_int_equal(rv_broker_produce(f->broker, "quiet", 0, batch.data, batch.len, 1, NULL,
                                       errstr, sizeof errstr),
                     0);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(recv_resp(fd, &b), 9);
    assert_true(rv__mono_ms() - t0 < 4000); /* woken by the append, not max_wait */
    assert_true(rv__kserver_wakeups(f->server) > before);
    fetch_res_t fr = {0};
    parse_fetch(&b, 11, "quiet", &fr);
    assert_int_equal(fr.err, 0);
    assert_int_equal(fr.records.len, batch.len);
    rv__buf_free(&fr.records);
    rv__buf_free(&batch);
    rv__buf_free(&b);
    close(fd);
}

/* ---- ListOffsets ---- */

static void list_offsets_req(int fd, int16_t v, int32_t corr, const char *topic, int64_t ts) {
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_i32(&w, -1);
    if (v >= 2)
        rv__kw_i8(&w, 0);
    rv__kw_i32(&w, 1);
    rv__kw_str(&w, topic);
    rv__kw_i32(&w, 1);
    rv__kw_i32(&w, 0);
    rv__kw_i64(&w, ts);
    if (v == 0)
        rv__kw_i32(&w, 1);
    send_req(fd, RV__KAPI_LIST_OFFSETS, v, corr, &w);
    rv__kw_free(&w);
}

/* Sends and parses: v0 gives the first old-style offset (or -100 when
 * none), v1+ the offset and *ts. */
static int64_t list_offsets(int fd, int16_t v, const char *topic, int64_t ts, int16_t *err,
                            int64_t *found_ts) {
    list_offsets_req(fd, v, 99, topic, ts);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(recv_resp(fd, &b), 99);
    resp_t rs;
    resp_open(&rs, &b);
    rv__kr_t *r = &rs.r;
    if (v >= 2)
        assert_int_equal(rv__kr_i32(r), 0);
    assert_int_equal(rv__kr_array(r, 0), 1);
    assert_string_equal(rv__kr_str(r), topic);
    assert_int_equal(rv__kr_array(r, 0), 1);
    assert_int_equal(rv__kr_i32(r), 0);
    *err = rv__kr_i16(r);
    int64_t off = -100;
    if (v == 0) {
        int32_t n = rv__kr_array(r, 8);
        if (n == 1)
            off = rv__kr_i64(r);
        else
            assert_int_equal(n, 0);
    } else {
        *found_ts = rv__kr_i64(r);
        off = rv__kr_i64(r);
    }
    resp_close(&rs);
    rv__buf_free(&b);
    return off;
}

static void test_list_offsets(void **state) {
    fixture_t *f = *state;
    create_topic(f, "lo", 1);
    rv__buf_t b1 = RV__BUF_INIT;
    int64_t t0 = rv__now_ms();
    rvt_make_batch(&b1, 5, "k", 10, t0);
    char errstr[256];
    assert_int_equal(
        rv_broker_produce(f->broker, "lo", 0, b1.data, b1.len, 1, NULL, errstr, sizeof errstr), 0);
    int fd = rvt_kdial(f->port);
    int16_t err;
    int64_t ts = 0;
    assert_int_equal(list_offsets(fd, 0, "lo", -1, &err, &ts), 5);
    assert_int_equal(err, 0);
    assert_int_equal(list_offsets(fd, 0, "lo", -2, &err, &ts), 0);
    assert_int_equal(list_offsets(fd, 1, "lo", -1, &err, &ts), 5);
    assert_int_equal(ts, -1);
    assert_int_equal(list_offsets(fd, 1, "lo", t0 + 2, &err, &ts), 2);
    assert_int_equal(ts, t0 + 2);
    assert_int_equal(list_offsets(fd, 2, "lo", t0 + 100000, &err, &ts), -1);
    assert_int_equal(ts, -1);
    assert_int_equal(list_offsets(fd, 3, "lo", -2, &err, &ts), 0);
    assert_int_equal(list_offsets(fd, 1, "missing", -1, &err, &ts), -1);
    assert_int_equal(err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(list_offsets(fd, 0, "missing", -1, &err, &ts), -100);
    assert_int_equal(err, RV_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    rv__buf_free(&b1);
    close(fd);
}

/* ---- InitProducerId ---- */

static void test_init_producer_id(void **state) {
    fixture_t *f = *state;
    int fd = rvt_kdial(f->port);
    rv__buf_t b = RV__BUF_INIT;
    int64_t pids[2];
    for (int i = 0; i < 3; i++) {
        rv__kw_t w;
        rv__kw_init(&w);
        rv__kw_str(&w, i == 2 ? "txn-1" : NULL);
        rv__kw_i32(&w, 60000);
        send_req(fd, RV__KAPI_INIT_PRODUCER_ID, (int16_t)(i % 2), 40 + i, &w);
        rv__kw_free(&w);
        assert_int_equal(recv_resp(fd, &b), 40 + i);
        resp_t rs;
        resp_open(&rs, &b);
        assert_int_equal(rv__kr_i32(&rs.r), 0);
        int16_t err = rv__kr_i16(&rs.r);
        int64_t pid = rv__kr_i64(&rs.r);
        int16_t epoch = rv__kr_i16(&rs.r);
        resp_close(&rs);
        if (i < 2) {
            assert_int_equal(err, 0);
            assert_true(pid >= 0);
            assert_int_equal(epoch, 0);
            pids[i] = pid;
        } else {
            /* Transactions are not served. */
            assert_int_equal(err, RV_ERR_UNSUPPORTED_VERSION);
            assert_int_equal(pid, -1);
        }
    }
    assert_true(pids[0] != pids[1]);
    rv__buf_free(&b);
    close(fd);
}

/* ---- connection behaviour ---- */

static void test_pipelined_in_order(void **state) {
    fixture_t *f = *state;
    create_topic(f, "pipe", 1);
    int fd = rvt_kdial(f->port);
    /* One write: a long-polling Fetch first, then quick requests: their
     * answers must wait for the Fetch (responses in request order). */
    rv__buf_t all = RV__BUF_INIT;
    rv__kw_t w;
    fetch_body(&w, 11, 300, 1, 1 << 20, "pipe", 0, 0, 1 << 20);
    frame(&all, RV__KAPI_FETCH, 11, 100, &w);
    rv__kw_free(&w);
    frame(&all, RV__KAPI_API_VERSIONS, 0, 101, NULL);
    rv__kw_init(&w);
    rv__kw_i32(&w, -1);
    rv__kw_bool(&w, false);
    frame(&all, RV__KAPI_METADATA, 4, 102, &w);
    rv__kw_free(&w);
    for (int i = 0; i < 20; i++)
        frame(&all, RV__KAPI_API_VERSIONS, 1, 103 + i, NULL);
    send_all(fd, all.data, all.len);
    rv__buf_free(&all);
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < 23; i++)
        assert_int_equal(recv_resp(fd, &b), 100 + i);
    rv__buf_free(&b);
    close(fd);
}

static void test_acks0_no_response(void **state) {
    fixture_t *f = *state;
    create_topic(f, "a0", 1);
    int fd = rvt_kdial(f->port);
    rv__buf_t batch = RV__BUF_INIT, b = RV__BUF_INIT;
    rvt_make_batch(&batch, 3, "k", 10, rv__now_ms());
    rv__kw_t w;
    produce_body(&w, 0, "a0", 0, &batch);
    send_req(fd, RV__KAPI_PRODUCE, 7, 1, &w);
    rv__kw_free(&w);
    send_req(fd, RV__KAPI_API_VERSIONS, 0, 2, NULL);
    assert_int_equal(recv_resp(fd, &b), 2); /* the produce had no answer */
    int16_t err;
    int64_t ts;
    assert_int_equal(list_offsets(fd, 1, "a0", -1, &err, &ts), 3);
    /* acks=0 with an error: Kafka closes the connection. */
    produce_body(&w, 0, "a0", 9, &batch);
    send_req(fd, RV__KAPI_PRODUCE, 7, 3, &w);
    rv__kw_free(&w);
    assert_true(closed_by_server(fd));
    close(fd);
    /* Invalid acks: INVALID_REQUIRED_ACKS. */
    fd = rvt_kdial(f->port);
    produce_body(&w, 2, "a0", 0, &batch);
    send_req(fd, RV__KAPI_PRODUCE, 7, 4, &w);
    rv__kw_free(&w);
    assert_int_equal(recv_resp(fd, &b), 4);
    produce_res_t pr;
    parse_produce(&b, 7, &pr);
    assert_int_equal(pr.err, RV_ERR_INVALID_REQUIRED_ACKS);
    rv__buf_free(&batch);
    rv__buf_free(&b);
    close(fd);
}

/* Each bad input closes its own connection; the other keeps working. */
static void test_bad_frames_close_one_connection(void **state) {
    fixture_t *f = *state;
    int good = rvt_kdial(f->port);
    rv__buf_t b = RV__BUF_INIT;
    struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } cases[] = {
        {"size below 8", {0, 0, 0, 4, 0, 18, 0, 0}, 8},
        {"negative size", {0xff, 0xff, 0xff, 0xf0}, 4},
        {"size above socket.request.max.bytes", {0x10, 0, 0, 0}, 4},
        {"unknown API key", {0, 0, 0, 10, 0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, 14},
        {"unadvertised version", {0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff}, 14},
        {"truncated header", {0, 0, 0, 9, 0, 18, 0, 0, 0, 0, 0, 1, 0x00}, 13},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = rvt_kdial(f->port);
        send_all(fd, cases[i].bytes, cases[i].len);
        if (!closed_by_server(fd))
            fail_msg("connection not closed after: %s", cases[i].what);
        close(fd);
        send_req(good, RV__KAPI_API_VERSIONS, 0, (int32_t)i, NULL);
        assert_int_equal(recv_resp(good, &b), (int32_t)i);
    }
    /* A body the handler finds malformed (Metadata with a huge array
     * count) also closes the connection. */
    int fd = rvt_kdial(f->port);
    rv__kw_t w;
    rv__kw_init(&w);
    rv__kw_i32(&w, 1000000);
    send_req(fd, RV__KAPI_METADATA, 1, 1, &w);
    rv__kw_free(&w);
    assert_true(closed_by_server(fd));
    close(fd);
    send_req(good, RV__KAPI_API_VERSIONS, 0, 77, NULL);
    assert_int_equal(recv_resp(good, &b), 77);
    rv__buf_free(&b);
    close(good);
}

/* A client that sends far more than the queue limit before reading a
 * single response: big Produce requests interleaved with Fetches whose
 * big responses fill the socket, so requests pile up on the server. The
 * server stops reading (seen in its debug log), resumes as it catches up,
 * and answers every request in order. */
typedef struct flood_s {
    int fd;
    int n;
    rv__buf_t batch;
} flood_t;

static void *flood_send(void *arg) {
    flood_t *fl = arg;
    for (int i = 0; i < fl->n; i++) {
        rv__kw_t w;
        rv__buf_t b = RV__BUF_INIT;
        if (i % 2 == 0) {
            produce_body(&w, 1, "flood", 0, &fl->batch);
            frame(&b, RV__KAPI_PRODUCE, 7, 1000 + i, &w);
        } else {
            fetch_body(&w, 4, 0, 0, 1, "flood", 0, 0, 1); /* one batch (KIP-74) */
            frame(&b, RV__KAPI_FETCH, 4, 1000 + i, &w);
        }
        send_all(fl->fd, b.data, b.len);
        rv__buf_free(&b);
        rv__kw_free(&w);
    }
    return NULL;
}

static atomic_int g_paused, g_resumed;

static void capture_log(int level, const char *fac, const char *msg, void *opaque) {
    (void)level;
    (void)fac;
    (void)opaque;
    if (strstr(msg, "Pausing reads from"))
        atomic_fetch_add(&g_paused, 1);
    if (strstr(msg, "Resuming reads from"))
        atomic_fetch_add(&g_resumed, 1);
}

static void test_backpressure(void **state) {
    fixture_t *f = *state;
    create_topic(f, "flood", 1);
    flood_t fl = {rvt_kdial(f->port), 160, RV__BUF_INIT};
    rvt_make_batch(&fl.batch, 10, "k", 50000, rv__now_ms()); /* ~500 KB */
    int level = rv_log_get_level();
    rv_log_set_level(RV_LOG_DEBUG);
    rv_log_set_callback(capture_log, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flood_send, &fl), 0);
    sleep_ms(500); /* let the server's queue fill and reading pause */
    rv__buf_t b = RV__BUF_INIT;
    for (int i = 0; i < fl.n; i++) {
        assert_int_equal(recv_resp(fl.fd, &b), 1000 + i);
        if (i % 2 == 0) {
            produce_res_t pr;
            parse_produce(&b, 7, &pr);
            assert_int_equal(pr.err, 0);
            assert_int_equal(pr.base, (int64_t)i / 2 * 10);
        }
    }
    pthread_join(th, NULL);
    rv_log_set_callback(NULL, NULL);
    rv_log_set_level(level);
    assert_true(atomic_load(&g_paused) > 0);
    assert_true(atomic_load(&g_resumed) > 0);
    rv__buf_free(&b);
    rv__buf_free(&fl.batch);
    close(fl.fd);
}

/* A client that parks its connection with a long-poll Fetch and then
 * pipelines tiny requests as fast as it can: the server queues at most
 * its limit of requests behind the Fetch (the rest wait in the socket),
 * and still answers them all, in order, once the Fetch has answered. */
typedef struct drain_s {
    int fd;
    atomic_long expected; /* -1 until the sender knows */
    long got;
    bool in_order;
} drain_t;

static void *drain_responses(void *arg) {
    drain_t *d = arg;
    rv__buf_t b = RV__BUF_INIT;
    d->in_order = recv_resp(d->fd, &b) == 1; /* the Fetch */
    while (d->in_order) {
        long want = atomic_load(&d->expected);
        if (want >= 0 && d->got >= want)
            break;
        if (recv_resp(d->fd, &b) != 2 + (int32_t)(d->got % 1000))
            d->in_order = false;
        else
            d->got++;
    }
    rv__buf_free(&b);
    return NULL;
}

static void test_queue_bound(void **state) {
    fixture_t *f = *state;
    create_topic(f, "parked", 1);
    int fd = rvt_kdial(f->port);
    rv__kw_t w;
    fetch_body(&w, 4, 1500, 1, 1 << 20, "parked", 0, 0, 1 << 20);
    send_req(fd, RV__KAPI_FETCH, 4, 1, &w);
    rv__kw_free(&w);
    sleep_ms(100); /* the Fetch is parked */
    /* 1000 ApiVersions v0 frames at a time. */
    rv__buf_t many = RV__BUF_INIT;
    for (int i = 0; i < 1000; i++)
        frame(&many, RV__KAPI_API_VERSIONS, 0, 2 + i, NULL);
    size_t one = many.len / 1000;
    drain_t d = {.fd = fd, .expected = -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, drain_responses, &d), 0);
    size_t sent = 0;
    int64_t until = rv__mono_ms() + 500;
    int peak = 0;
    /* Send for a while, then finish the frame under way. */
    while (rv__mono_ms() < until || sent % one) {
        size_t at = sent % many.len;
        size_t n = many.len - at;
        if (rv__mono_ms() >= until)
            n = one - sent % one;
        ssize_t k = send(fd, many.data + at, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0)
            sent += (size_t)k;
        else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail_msg("send: %s", strerror(errno));
        else
            sleep_ms(5);
        if (rv__mono_ms() < until)
            peak = rv__kserver_queued_peak(f->server); /* before the Fetch answers */
    }
    long frames = (long)(sent / one);
    assert_true(frames > 10000); /* far more than the server may queue */
    assert_true(peak > 0);
    assert_true(peak <= 64);
    atomic_store(&d.expected, frames);
    pthread_join(th, NULL);
    assert_true(d.in_order);
    assert_int_equal(d.got, frames);
    assert_true(rv__kserver_queued_peak(f->server) <= 64);
    rv__buf_free(&many);
    close(fd);
}

/* Clients that go away while the broker still owes them answers: it gets
 * EPIPE or ECONNRESET from the socket, never a SIGPIPE (which would kill
 * the process it runs in: this test runs with the signal's default
 * action), and goes on serving the others. */
static void test_client_gone_no_sigpipe(void **state) {
    fixture_t *f = *state;
    create_topic(f, "gone", 1);
    void (*was)(int) = signal(SIGPIPE, SIG_DFL);
    rv__buf_t many = RV__BUF_INIT;
    rv__kw_t w;
    fetch_body(&w, 4, 200, 1, 1 << 20, "gone", 0, 0, 1 << 20);
    frame(&many, RV__KAPI_FETCH, 4, 1, &w);
    rv__kw_free(&w);
    for (int i = 0; i < 200; i++)
        frame(&many, RV__KAPI_API_VERSIONS, 0, 2 + i, NULL);
    for (int round = 0; round < 10; round++) {
        int fds[8];
        for (int i = 0; i < 8; i++) {
            fds[i] = rvt_kdial(f->port);
            assert_int_equal(rvt_ksend_all(fds[i], many.data, many.len), 0);
        }
        sleep_ms(round % 2 ? 250 : 50); /* before or after the Fetch answers */
        for (int i = 0; i < 8; i++) {
            if (i % 2) { /* half of them reset the connection */
                struct linger l = {1, 0};
                setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof l);
            }
            close(fds[i]);
        }
    }
    sleep_ms(500);
    rv__buf_free(&many);
    int fd = rvt_kdial(f->port);
    send_req(fd, RV__KAPI_API_VERSIONS, 0, 7, NULL);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(recv_resp(fd, &b), 7);
    rv__buf_free(&b);
    close(fd);
    signal(SIGPIPE, was);
}

/* Stopping answers the in-flight long poll and closes the connection. */
static void test_stop_with_open_connection(void **state) {
    fixture_t *f = *state;
    create_topic(f, "st", 1);
    int fd = rvt_kdial(f->port);
    int idle = rvt_kdial(f->port);
    rv__kw_t w;
    fetch_body(&w, 11, 30000, 1, 1 << 20, "st", 0, 0, 1 << 20);
    send_req(fd, RV__KAPI_FETCH, 11, 9, &w);
    rv__kw_free(&w);
    sleep_ms(200); /* the fetch is parked */
    int64_t t0 = rv__mono_ms();
    rv__kserver_stop(f->server);
    f->server = NULL;
    assert_true(rv__mono_ms() - t0 < 3000);
    rv__buf_t b = RV__BUF_INIT;
    assert_int_equal(recv_resp(fd, &b), 9);
    fetch_res_t fr = {0};
    parse_fetch(&b, 11, "st", &fr);
    assert_int_equal(fr.records.len, 0);
    assert_true(closed_by_server(fd));
    assert_true(closed_by_server(idle));
    close(fd);
    close(idle);
    rv__buf_free(&b);
    rv__buf_free(&fr.records);
    /* Nothing listens on the port any more. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)f->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_not_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    close(s);
}

/* ---- librdkafka ---- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    int *failed = opaque;
    if (m->err) {
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        (*failed)++;
    }
}

static void test_librdkafka_produce_consume(void **state) {
    fixture_t *f = *state;
    create_topic(f, "keyed", 3);
    char bs[64], errstr[512];
    snprintf(bs, sizeof bs, "127.0.0.1:%d", f->port);
    int failed = 0;

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(pc, "bootstrap.servers", bs, errstr, sizeof errstr), 0);
    assert_int_equal(rd_kafka_conf_set(pc, "partitioner", "murmur2_random", errstr, sizeof errstr),
                     0);
    assert_int_equal(rd_kafka_conf_set(pc, "linger.ms", "5", errstr, sizeof errstr), 0);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    rd_kafka_conf_set_opaque(pc, &failed);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof errstr);
    assert_non_null(p);
    enum { N = 1000 };
    for (int i = 0; i < N; i++) {
        char key[32], val[32];
        int kl = snprintf(key, sizeof key, "key-%d", i);
        int vl = snprintf(val, sizeof val, "value-%d", i);
        rd_kafka_resp_err_t err =
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC("keyed"), RD_KAFKA_V_KEY(key, (size_t)kl),
                              RD_KAFKA_V_VALUE(val, (size_t)vl),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(err, 0);
        rd_kafka_poll(p, 0);
    }
    assert_int_equal(rd_kafka_flush(p, 20000), 0);
    assert_int_equal(failed, 0);
    rd_kafka_destroy(p);

    /* A plain (group-less) consumer reads every partition back. */
    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(cc, "bootstrap.servers", bs, errstr, sizeof errstr), 0);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, sizeof errstr);
    assert_non_null(c);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c, "keyed", NULL);
    assert_non_null(rkt);
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    int got = 0;
    for (int32_t part = 0; part < 3; part++) {
        assert_int_equal(rd_kafka_consume_start(rkt, part, RD_KAFKA_OFFSET_BEGINNING), 0);
        int64_t hw = 0, lo = 0;
        assert_int_equal(rd_kafka_query_watermark_offsets(c, "keyed", part, &lo, &hw, 10000), 0);
        int64_t next = 0;
        int64_t deadline = rv__mono_ms() + 20000;
        while (next < hw && rv__mono_ms() < deadline) {
            rd_kafka_message_t *m = rd_kafka_consume(rkt, part, 1000);
            if (!m)
                continue;
            if (m->err) {
                assert_int_equal(m->err, RD_KAFKA_RESP_ERR__PARTITION_EOF);
                rd_kafka_message_destroy(m);
                continue;
            }
            assert_int_equal(m->offset, next);
            next = m->offset + 1;
            assert_int_equal(m->partition, part);
            assert_int_equal(rv_partitioner_murmur2(m->key, (int32_t)m->key_len, 3), part);
            int i = atoi((const char *)m->key + 4);
            assert_true(i >= 0 && i < N);
            char val[32];
            int vl = snprintf(val, sizeof val, "value-%d", i);
            assert_int_equal(m->len, (size_t)vl);
            assert_memory_equal(m->payload, val, (size_t)vl);
            assert_false(seen[i]);
            seen[i] = true;
            got++;
            rd_kafka_message_destroy(m);
        }
        assert_int_equal(next, hw);
        rd_kafka_consume_stop(rkt, part);
    }
    assert_int_equal(got, N);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(c);
}

/* ---- kcat against `rivulet broker` ---- */

static void test_kcat_against_rivulet_broker(void **state) {
    (void)state;
    const char *bin = getenv("RV_BIN");
    if (!bin || access("/usr/bin/kcat", X_OK) != 0)
        skip();
    char *dir = rvt_tmpdir();
    char outpath[4200];
    snprintf(outpath, sizeof outpath, "%s/broker.out", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char datadir[4200];
        snprintf(datadir, sizeof datadir, "%s/data", dir);
        FILE *o = freopen(outpath, "w", stdout);
        (void)o;
        freopen("/dev/null", "w", stderr);
        execl(bin, bin, "broker", "--data-dir", datadir, "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 100 && !port; i++) {
        sleep_ms(50);
        FILE *fo = fopen(outpath, "r");
        char line[512];
        if (fo && fgets(line, sizeof line, fo)) {
            const char *p = strstr(line, "127.0.0.1:");
            if (p)
                port = atoi(p + 10);
        }
        if (fo)
            fclose(fo);
    }
    assert_true(port > 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "printf 'a:one\\nb:two\\nc:three\\n' | timeout 20 kcat -b 127.0.0.1:%d -P -t "
             "kc -K: -X partitioner=murmur2_random",
             port);
    assert_int_equal(system(cmd), 0);
    rv__buf_t out = RV__BUF_INIT;
    snprintf(cmd, sizeof cmd,
             "timeout 20 kcat -b 127.0.0.1:%d -C -t kc -e -q -f '%%k=%%s@%%o\\n' > %s/c.out; "
             "timeout 20 kcat -b 127.0.0.1:%d -L -t kc > %s/l.out",
             port, dir, port, dir);
    assert_int_equal(system(cmd), 0);
    char path[4300];
    snprintf(path, sizeof path, "%s/c.out", dir);
    FILE *fc = fopen(path, "r");
    assert_non_null(fc);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, fc);
    buf[n] = '\0';
    fclose(fc);
    assert_string_equal(buf, "a=one@0\nb=two@1\nc=three@2\n");
    snprintf(path, sizeof path, "%s/l.out", dir);
    fc = fopen(path, "r");
    assert_non_null(fc);
    n = fread(buf, 1, sizeof buf - 1, fc);
    buf[n] = '\0';
    fclose(fc);
    rvt_assert_contains(buf, "1 brokers:");
    rvt_assert_contains(buf, "topic \"kc\" with 1 partitions:");
    rvt_assert_contains(buf, "partition 0, leader 1, replicas: 1, isrs: 1");
    /* A second broker on the same folder is refused (the folder lock). */
    rv__buf_t err = RV__BUF_INIT;
    assert_int_equal(rvt_cli(NULL, &err, "broker --data-dir '%s/data' --listen 127.0.0.1:0", dir),
                     1);
    rvt_assert_contains((const char *)err.data, "lock");
    rv__buf_free(&err);
    /* SIGTERM: a clean stop, exit status 0. */
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    rv__buf_free(&out);
    rvt_rmtree(dir);
    free(dir);
}

/* Usage and settings errors of `rivulet broker`: exit 1 with a message,
 * before anything listens. */
static void test_broker_cmd_errors(void **state) {
    (void)state;
    if (!getenv("RV_BIN"))
        skip();
    char *dir = rvt_tmpdir();
    char props[4200];
    snprintf(props, sizeof props, "%s/server.properties", dir);
    rv__buf_t out = RV__BUF_INIT, err = RV__BUF_INIT;
    assert_int_equal(rvt_cli(&out, &err, "broker --listen 127.0.0.1:0"), 1);
    rvt_assert_contains((const char *)err.data, "Missing required argument \"[data-dir]\"");
    assert_int_equal(rvt_cli(&out, &err, "broker --data-dir '%s/d' --listen nope", dir), 1);
    rvt_assert_contains((const char *)err.data, "Invalid value nope for option listen");
    static const char bad_key[] = "# broker\nnum.partitions=3\nlog.flush.everything=true\n";
    rvt_write_file(props, bad_key, sizeof bad_key - 1);
    assert_int_equal(rvt_cli(&out, &err, "broker --data-dir '%s/d' --config '%s'", dir, props), 1);
    rvt_assert_contains((const char *)err.data,
                        ":3: Unknown broker property 'log.flush.everything'");
    static const char bad_val[] = "num.partitions = zero\n";
    rvt_write_file(props, bad_val, sizeof bad_val - 1);
    assert_int_equal(rvt_cli(&out, &err, "broker --data-dir '%s/d' --config '%s'", dir, props), 1);
    rvt_assert_contains((const char *)err.data,
                        "Invalid value zero for configuration num.partitions: Not a number of "
                        "type INT");
    assert_int_equal(rvt_cli(&out, &err, "broker --help"), 0);
    rvt_assert_contains((const char *)err.data, "--advertised-listener");
    rv__buf_free(&out);
    rv__buf_free(&err);
    rvt_rmtree(dir);
    free(dir);
}

/* The cluster id lives in meta.properties: created once, then stable. */
static void test_cluster_id(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char id1[64], id2[64], errstr[256];
    assert_int_equal(rv__kserver_cluster_id(dir, id1, sizeof id1, errstr, sizeof errstr), 0);
    assert_int_equal(strlen(id1), 22);
    assert_true(id1[0] != '-');
    assert_int_equal(rv__kserver_cluster_id(dir, id2, sizeof id2, errstr, sizeof errstr), 0);
    assert_string_equal(id1, id2);
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.properties", dir);
    static const char mine[] = "# Kafka's own\nversion=1\ncluster.id = Abc-123_xyz\nnode.id=1\n";
    rvt_write_file(path, mine, sizeof mine - 1);
    assert_int_equal(rv__kserver_cluster_id(dir, id2, sizeof id2, errstr, sizeof errstr), 0);
    assert_string_equal(id2, "Abc-123_xyz");
    rvt_write_file(path, "version=1\n", 10);
    assert_int_equal(rv__kserver_cluster_id(dir, id2, sizeof id2, errstr, sizeof errstr),
                     RV_ERR__INVALID_ARG);
    rvt_assert_contains(errstr, "cluster.id");
    rvt_rmtree(dir);
    free(dir);
}

/* ---- rvt_bootstrap ---- */

static void test_bootstrap_helper(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    const char *bs = rvt_bootstrap(dir);
    assert_ptr_equal(rvt_bootstrap(dir), bs); /* once per folder */
    if (rvt_kafka_backend()) {
        rvt_assert_prefix(bs, "127.0.0.1:");
        int fd = rvt_kdial(atoi(bs + 10));
        send_req(fd, RV__KAPI_API_VERSIONS, 0, 1, NULL);
        rv__buf_t b = RV__BUF_INIT;
        assert_int_equal(recv_resp(fd, &b), 1);
        rv__buf_free(&b);
        close(fd);
    } else {
        char want[4200];
        snprintf(want, sizeof want, "embedded:%s", dir);
        assert_string_equal(bs, want);
    }
    rvt_rmtree(dir);
    free(dir);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_versions, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_metadata_creates_internal_topics_as_their_owner, setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_produce_fetch, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_max_bytes, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_long_poll, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_fetch_woken_by_its_partitions_only, setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_list_offsets, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_init_producer_id, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_no_sigpipe, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_acks0_no_response, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_close_one_connection, setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, setup, rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_open_connection, setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test_setup_teardown(test_librdkafka_produce_consume, setup,
                                        rvt_kserver_teardown),
        cmocka_unit_test(test_kcat_against_rivulet_broker),
        cmocka_unit_test(test_broker_cmd_errors),
        cmocka_unit_test(test_cluster_id),
        cmocka_unit_test(test_bootstrap_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
