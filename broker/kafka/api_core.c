/* broker/kafka/api_core.c: the handlers of Metadata, Produce, Fetch,
 * ListOffsets and InitProducerId (broker/kafka/api.h), at the versions of
 * the advertised table below (non-flexible only; ApiVersions is answered
 * by broker/kafka/api.c from the same tables). Field layouts follow
 * Kafka 3.x's message schemas. Produce reads its whole request before it
 * appends anything, so a malformed body closes the connection without a
 * partial write.
 *
 * The data path stays byte-for-byte: Produce hands the client's
 * RecordBatches to the broker (which only rewrites base offsets, and the
 * timestamp of LogAppendTime topics), and Fetch copies stored batches from
 * the log straight into the response.
 *
 * Auto-creation (auto.create.topics.enable, num.partitions): Metadata
 * creates unknown topics it is asked for (v0-3 always, v4+ when the client
 * allows it), as Kafka does; the topic is created synchronously, so it is
 * returned with its partitions at once instead of LEADER_NOT_AVAILABLE.
 * Produce to an unknown topic creates it too (Kafka only creates through
 * Metadata, but every client asks Metadata first, so only hand-made
 * requests see the difference).
 *
 * Errors of the broker map to Kafka's codes one to one (rv_err_t keeps
 * Kafka's numbers); local failures become KAFKA_STORAGE_ERROR (56) for
 * I/O, as Kafka's log layer reports it, and UNKNOWN_SERVER_ERROR (-1)
 * otherwise. */
#include "broker/kafka/api.h"

#include <stdlib.h>
#include <string.h>

#include "broker/group_coordinator.h"
#include "broker/log/log.h"
#include "broker/producer_state.h"
#include "broker/topics.h"
#include "common/logger.h"
#include "rivulet/admin.h"
#include "rivulet/error.h"

/* Kafka's KAFKA_STORAGE_ERROR: rv_err_t has no such code. */
#define KAFKA_STORAGE_ERROR 56
/* The internal topic of committed offsets (group coordinator). */
#define OFFSETS_TOPIC "__consumer_offsets"
/* Kafka's minimum sizes of array elements, so hostile counts are refused
 * by rv__kr_array before anything is allocated: a STRING is at least 2
 * bytes, an INT32 4, ... */
#define MIN_STR 2

static int16_t kerr(rv_err_t err) {
    if (err >= 0)
        return (int16_t)err;
    return err == RV_ERR__IO ? KAFKA_STORAGE_ERROR : (int16_t)RV_ERR_UNKNOWN_SERVER_ERROR;
}

static bool is_internal(const char *topic) {
    return !strcmp(topic, OFFSETS_TOPIC) || !strcmp(topic, "__transaction_state");
}

/* Creates `topic` with num.partitions when auto-creation is on. 0 when it
 * exists afterwards (created here or concurrently). */
static rv_err_t auto_create(const rv__kreq_t *req, const char *topic) {
    const rv__kctx_t *ctx = req->ctx;
    char errstr[256];
    rv_err_t err = rv__topic_name_validate(topic, errstr, sizeof errstr);
    if (err)
        return err;
    if (is_internal(topic)) {
        /* An internal topic is created as its owner needs it (Kafka's
         * AutoTopicCreationManager): __consumer_offsets compacted, with
         * offsets.topic.num.partitions, never as an ordinary topic whose
         * retention would delete committed offsets. There is no
         * transaction coordinator, so __transaction_state is not made. */
        if (strcmp(topic, OFFSETS_TOPIC))
            return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        err = rv__group_coordinator_create_offsets_topic(rv__broker_group_coordinator(ctx->broker),
                                                         errstr, sizeof errstr);
        if (err)
            rv__log_warn("KAFKA", "Creating %s failed: %s", topic, errstr);
        return err;
    }
    err = rv__topics_create(rv__broker_topics(ctx->broker), topic, ctx->num_partitions, 1, NULL,
                            NULL, 0, errstr, sizeof errstr);
    if (err == RV_ERR_TOPIC_ALREADY_EXISTS)
        return RV_ERR_NO_ERROR;
    if (err)
        rv__log_warn("KAFKA", "Auto-creating topic %s failed: %s", topic, errstr);
    else
        rv__log_info("KAFKA",
                     "Created topic %s with %d partition(s) (auto.create.topics.enable, "
                     "requested by %s)",
                     topic, (int)ctx->num_partitions, req->client_host ? req->client_host : "?");
    return err;
}

/* ---- Metadata (v0-5) ---- */

static void write_topic_metadata(rv__kreq_t *req, const char *name, bool allow_create) {
    rv__kw_t *w = &req->resp;
    int16_t v = req->api_version;
    int32_t node = req->ctx->node_id;
    rv__topics_t *topics = rv__broker_topics(req->ctx->broker);
    rv__topic_info_t info;
    memset(&info, 0, sizeof info);
    rv_err_t err = rv__topics_describe(topics, name, &info, NULL, 0);
    if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION && allow_create) {
        err = auto_create(req, name);
        if (!err)
            err = rv__topics_describe(topics, name, &info, NULL, 0);
    }
    rv__kw_i16(w, kerr(err));
    rv__kw_str(w, name);
    if (v >= 1)
        rv__kw_bool(w, is_internal(name));
    if (err) {
        rv__kw_i32(w, 0);
        return;
    }
    rv__kw_i32(w, info.partition_cnt);
    for (int32_t p = 0; p < info.partition_cnt; p++) {
        rv__kw_i16(w, 0);
        rv__kw_i32(w, p);
        rv__kw_i32(w, node); /* leader */
        rv__kw_i32(w, 1);    /* replicas */
        rv__kw_i32(w, node);
        rv__kw_i32(w, 1); /* isr */
        rv__kw_i32(w, node);
        if (v >= 5)
            rv__kw_i32(w, 0); /* offline replicas */
    }
    rv__topic_info_clear(&info);
}

static rv__kapi_status_t handle_metadata(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    const rv__kctx_t *ctx = req->ctx;
    int32_t n = rv__kr_array(r, MIN_STR);
    /* v0: an empty list means every topic; v1+: null means every topic. */
    bool all = v == 0 ? n == 0 : n == -1;
    if (n == -1 && v == 0)
        return RV__KAPI_CLOSE;
    const char **names = NULL;
    if (n > 0) {
        names = rv__karena_alloc(&req->arena, (size_t)n * sizeof *names);
        if (!names)
            return RV__KAPI_CLOSE;
        for (int32_t i = 0; i < n; i++) {
            names[i] = rv__kr_str(r);
            if (!names[i])
                r->err = true;
        }
    }
    bool allow = true;
    if (v >= 4)
        allow = rv__kr_bool(r);
    if (r->err)
        return RV__KAPI_CLOSE;
    allow = allow && ctx->auto_create_topics;

    rv__kw_t *w = &req->resp;
    if (v >= 3)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, 1);     /* brokers: ourselves */
    rv__kw_i32(w, ctx->node_id);
    rv__kw_str(w, ctx->advertised_host);
    rv__kw_i32(w, ctx->advertised_port);
    if (v >= 1)
        rv__kw_str(w, NULL); /* rack */
    if (v >= 2)
        rv__kw_str(w, ctx->cluster_id);
    if (v >= 1)
        rv__kw_i32(w, ctx->node_id); /* controller */
    if (all) {
        char **list = NULL;
        size_t cnt = 0;
        if (rv__topics_list(rv__broker_topics(ctx->broker), true, &list, &cnt))
            return RV__KAPI_CLOSE;
        rv__kw_i32(w, (int32_t)cnt);
        for (size_t i = 0; i < cnt; i++)
            write_topic_metadata(req, list[i], false);
        rv_strv_free(list, cnt);
    } else {
        rv__kw_i32(w, n > 0 ? n : 0);
        for (int32_t i = 0; i < n; i++)
            write_topic_metadata(req, names[i], allow);
    }
    return RV__KAPI_DONE;
}

/* ---- Produce (v0-7) ---- */

typedef struct produce_part_s {
    int32_t index;
    const uint8_t *records;
    size_t len;
} produce_part_t;

typedef struct produce_topic_s {
    const char *name;
    int32_t cnt;
    produce_part_t *parts;
} produce_topic_t;

/* Appends one partition's batches; fills *info. */
static rv_err_t produce_one(rv__kreq_t *req, const char *topic, const produce_part_t *pp, int acks,
                            rv__append_info_t *info) {
    char errstr[512];
    if (is_internal(topic))
        return RV_ERR_INVALID_TOPIC_EXCEPTION; /* only the broker writes there */
    if (!pp->records || pp->len == 0)
        return RV_ERR_CORRUPT_MESSAGE;
    /* The log stores RecordBatch v2 only; Produce v0-2 clients that send
     * the older message sets (magic 0/1) get Kafka's error for a format
     * the broker will not take. */
    if (pp->len > 16 && pp->records[16] != 2)
        return RV_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    /* Kafka takes exactly one batch per partition from Produce v3 on
     * (magic 2); the idempotence checks rely on it. */
    if (req->api_version >= 3 && pp->len >= 12 &&
        (uint64_t)rv__be32(pp->records + 8) + 12 < (uint64_t)pp->len)
        return RV_ERR_INVALID_RECORD;
    /* The broker rewrites base offsets in place; the request stays intact
     * (a retry of the handler must see the original bytes). */
    uint8_t *copy = malloc(pp->len);
    if (!copy)
        return RV_ERR__NOMEM;
    memcpy(copy, pp->records, pp->len);
    rv_broker_t *broker = req->ctx->broker;
    rv_err_t err = rv__broker_append(broker, topic, pp->index, copy, pp->len, acks, info, errstr,
                                     sizeof errstr);
    if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION && req->ctx->auto_create_topics) {
        rv__topic_info_t ti;
        memset(&ti, 0, sizeof ti);
        rv__topics_t *topics = rv__broker_topics(broker);
        if (rv__topics_describe(topics, topic, &ti, NULL, 0) == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION &&
            auto_create(req, topic) == RV_ERR_NO_ERROR) {
            memcpy(copy, pp->records, pp->len);
            err = rv__broker_append(broker, topic, pp->index, copy, pp->len, acks, info, errstr,
                                    sizeof errstr);
        }
        rv__topic_info_clear(&ti);
    }
    if (err && err != RV_ERR_UNKNOWN_TOPIC_OR_PARTITION)
        rv__log_debug("KAFKA", "Produce to %s-%d from %s refused: %s", topic, (int)pp->index,
                      req->client_host ? req->client_host : "?", errstr);
    free(copy);
    return err;
}

static rv__kapi_status_t handle_produce(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    if (v >= 3)
        (void)rv__kr_str(r); /* transactional_id: see handle_init_producer_id */
    int16_t acks = rv__kr_i16(r);
    (void)rv__kr_i32(r); /* timeout_ms: a single node never waits for replicas */
    int32_t nt = rv__kr_array(r, MIN_STR + 4);
    if (r->err || nt < 0)
        return RV__KAPI_CLOSE;
    produce_topic_t *topics = rv__karena_alloc(&req->arena, (size_t)nt * sizeof *topics + 1);
    if (!topics)
        return RV__KAPI_CLOSE;
    for (int32_t t = 0; t < nt && !r->err; t++) {
        topics[t].name = rv__kr_str(r);
        int32_t np = rv__kr_array(r, 8);
        if (!topics[t].name || np < 0) {
            r->err = true;
            break;
        }
        topics[t].cnt = np;
        topics[t].parts = rv__karena_alloc(&req->arena, (size_t)np * sizeof(produce_part_t) + 1);
        if (!topics[t].parts)
            return RV__KAPI_CLOSE;
        for (int32_t p = 0; p < np && !r->err; p++) {
            topics[t].parts[p].index = rv__kr_i32(r);
            topics[t].parts[p].records = rv__kr_bytes(r, &topics[t].parts[p].len);
        }
    }
    if (r->err)
        return RV__KAPI_CLOSE;

    bool valid_acks = acks == -1 || acks == 0 || acks == 1;
    bool any_error = false;
    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, nt);
    for (int32_t t = 0; t < nt; t++) {
        rv__kw_str(w, topics[t].name);
        rv__kw_i32(w, topics[t].cnt);
        for (int32_t p = 0; p < topics[t].cnt; p++) {
            const produce_part_t *pp = &topics[t].parts[p];
            rv__append_info_t info = {-1, -1, -1, -1};
            rv_err_t err = valid_acks ? produce_one(req, topics[t].name, pp, acks, &info)
                                      : RV_ERR_INVALID_REQUIRED_ACKS;
            if (err) {
                any_error = true;
                info.base_offset = -1;
                info.log_append_time = -1;
                info.log_start_offset = -1;
            }
            rv__kw_i32(w, pp->index);
            rv__kw_i16(w, kerr(err));
            rv__kw_i64(w, info.base_offset);
            if (v >= 2)
                rv__kw_i64(w, info.log_append_time);
            if (v >= 5)
                rv__kw_i64(w, info.log_start_offset);
        }
    }
    if (v >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    /* acks=0: no response; on an error Kafka closes the connection so the
     * producer notices (it refreshes metadata and reconnects). */
    if (acks == 0)
        return any_error ? RV__KAPI_CLOSE : RV__KAPI_NO_RESPONSE;
    return RV__KAPI_DONE;
}

/* ---- Fetch (v4-11) ---- */

typedef struct fetch_part_s {
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
} fetch_part_t;

typedef struct fetch_topic_s {
    const char *name;
    int32_t cnt;
    fetch_part_t *parts;
} fetch_topic_t;

/* Drops the trailing batches of out[from..) that end past `limit` bytes
 * from `from` (whole batches only). */
static void trim_batches(rv__buf_t *out, size_t from, size_t limit) {
    size_t pos = from, keep = from;
    while (out->len - pos >= 12) {
        size_t blen = 12 + (size_t)rv__be32(out->data + pos + 8);
        if (blen > out->len - pos || pos + blen - from > limit)
            break;
        pos += blen;
        keep = pos;
    }
    out->len = keep;
}

static rv__kapi_status_t handle_fetch(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    (void)rv__kr_i32(r); /* replica_id */
    int32_t max_wait_ms = rv__kr_i32(r);
    int32_t min_bytes = rv__kr_i32(r);
    int32_t max_bytes = rv__kr_i32(r);
    /* The broker's fetch.max.bytes bounds what one response holds (and so
     * the memory a client can make the broker fill), as in Kafka. */
    int32_t cap = req->ctx->fetch_max_bytes > 0 ? req->ctx->fetch_max_bytes : 57671680;
    if (max_bytes > cap)
        max_bytes = cap;
    int8_t isolation = rv__kr_i8(r);
    if (v >= 7) {
        (void)rv__kr_i32(r); /* session_id: no fetch sessions (KIP-227), always full */
        (void)rv__kr_i32(r); /* session_epoch */
    }
    size_t part_min = 4 + (v >= 9 ? 4 : 0) + 8 + (v >= 5 ? 8 : 0) + 4;
    int32_t nt = rv__kr_array(r, MIN_STR + 4);
    if (r->err || nt < 0)
        return RV__KAPI_CLOSE;
    fetch_topic_t *topics = rv__karena_alloc(&req->arena, (size_t)nt * sizeof *topics + 1);
    if (!topics)
        return RV__KAPI_CLOSE;
    for (int32_t t = 0; t < nt && !r->err; t++) {
        topics[t].name = rv__kr_str(r);
        int32_t np = rv__kr_array(r, part_min);
        if (!topics[t].name || np < 0) {
            r->err = true;
            break;
        }
        topics[t].cnt = np;
        topics[t].parts = rv__karena_alloc(&req->arena, (size_t)np * sizeof(fetch_part_t) + 1);
        if (!topics[t].parts)
            return RV__KAPI_CLOSE;
        for (int32_t p = 0; p < np && !r->err; p++) {
            fetch_part_t *fp = &topics[t].parts[p];
            fp->partition = rv__kr_i32(r);
            if (v >= 9)
                (void)rv__kr_i32(r); /* current_leader_epoch */
            fp->offset = rv__kr_i64(r);
            if (v >= 5)
                (void)rv__kr_i64(r); /* the follower's log_start_offset */
            fp->max_bytes = rv__kr_i32(r);
        }
    }
    if (v >= 7) {
        int32_t nf = rv__kr_array(r, MIN_STR + 4);
        for (int32_t f = 0; f < nf && !r->err; f++) {
            (void)rv__kr_str(r);
            int32_t np = rv__kr_array(r, 4);
            rv__kr_skip(r, (size_t)(np > 0 ? np : 0) * 4);
        }
    }
    if (v >= 11)
        (void)rv__kr_str(r); /* rack_id */
    if (r->err)
        return RV__KAPI_CLOSE;

    rv__topics_t *reg = rv__broker_topics(req->ctx->broker);
    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    if (v >= 7) {
        rv__kw_i16(w, 0); /* error_code */
        rv__kw_i32(w, 0); /* session_id */
    }
    rv__kw_i32(w, nt);
    size_t total = 0;   /* record bytes in the response */
    bool error = false; /* Kafka answers at once when a partition failed */
    for (int32_t t = 0; t < nt; t++) {
        rv__kw_str(w, topics[t].name);
        rv__kw_i32(w, topics[t].cnt);
        for (int32_t p = 0; p < topics[t].cnt; p++) {
            const fetch_part_t *fp = &topics[t].parts[p];
            rv__topic_t *tp = NULL;
            rv__log_t *log = NULL;
            rv__read_info_t ri = {-1, -1, fp->offset};
            char errstr[256];
            rv__kw_i32(w, fp->partition);
            size_t err_pos = w->b.len;
            rv__kw_i16(w, 0);
            size_t hw_pos = w->b.len;
            rv__kw_i64(w, -1); /* high_watermark */
            rv__kw_i64(w, -1); /* last_stable_offset */
            if (v >= 5)
                rv__kw_i64(w, -1); /* log_start_offset */
            /* No transactions yet: nothing aborted. Kafka sends null for
             * read_uncommitted and an empty list for read_committed. */
            rv__kw_i32(w, isolation == 1 ? 0 : -1);
            if (v >= 11)
                rv__kw_i32(w, -1); /* preferred_read_replica */
            size_t len_pos = rv__kw_reserve_i32(w);
            if (w->err)
                return RV__KAPI_DONE; /* the runner closes on out of memory */
            size_t start = w->b.len;
            rv_err_t err = rv__topics_acquire(reg, topics[t].name, fp->partition, &tp, &log, errstr,
                                              sizeof errstr);
            if (!err) {
                /* KIP-74: the first batch of the response is whole even when
                 * bigger than the limits; after it, whole batches only while
                 * both the partition's and the response's limits allow. */
                int64_t room = max_bytes > 0 ? (int64_t)max_bytes - (int64_t)total : 0;
                int64_t limit = fp->max_bytes < room ? fp->max_bytes : room;
                if (limit < 0)
                    limit = 0;
                if (total == 0 || limit > 0) {
                    err = rv__log_read(log, fp->offset, (size_t)limit, &w->b, &ri, errstr,
                                       sizeof errstr);
                    if (!err && total > 0)
                        trim_batches(&w->b, start, (size_t)limit);
                } else {
                    ri.high_watermark = rv__log_high_watermark(log);
                    ri.log_start_offset = rv__log_start_offset(log);
                    if (fp->offset < ri.log_start_offset || fp->offset > ri.high_watermark)
                        err = RV_ERR_OFFSET_OUT_OF_RANGE;
                }
                rv__topics_release(reg, tp);
            }
            if (err) {
                error = true;
                w->b.len = start;
                ri.high_watermark = ri.log_start_offset = -1;
            }
            size_t n = w->b.len - start;
            total += n;
            rv__kw_patch_i32(w, len_pos, (int32_t)n);
            rv__wbe16(w->b.data + err_pos, (uint16_t)kerr(err));
            rv__wbe64(w->b.data + hw_pos, (uint64_t)ri.high_watermark);
            rv__wbe64(w->b.data + hw_pos + 8, (uint64_t)ri.high_watermark); /* LSO = HW */
            if (v >= 5)
                rv__wbe64(w->b.data + hw_pos + 16, (uint64_t)ri.log_start_offset);
        }
    }
    if (!error && !req->wait_expired && max_wait_ms > 0 && (int64_t)total < (int64_t)min_bytes) {
        req->wait_ms = max_wait_ms;
        /* Only appends to these partitions can bring what is missing. */
        memset(req->wake_bits, 0, sizeof req->wake_bits);
        for (int32_t t = 0; t < nt; t++)
            for (int32_t p = 0; p < topics[t].cnt; p++) {
                unsigned bit = rv__kwake_bit(topics[t].name, topics[t].parts[p].partition);
                req->wake_bits[bit / 64] |= (uint64_t)1 << (bit % 64);
            }
        req->wake_set = true;
        return RV__KAPI_WAIT;
    }
    return RV__KAPI_DONE;
}

/* ---- ListOffsets (v0-3) ---- */

static rv__kapi_status_t handle_list_offsets(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    (void)rv__kr_i32(r); /* replica_id */
    if (v >= 2)
        (void)rv__kr_i8(r); /* isolation_level: LSO = HW without transactions */
    size_t part_min = 4 + 8 + (v == 0 ? 4 : 0);
    int32_t nt = rv__kr_array(r, MIN_STR + 4);
    if (r->err || nt < 0)
        return RV__KAPI_CLOSE;
    /* The response is written while reading: a malformed tail still
     * closes the connection since the status is decided at the end. */
    rv__kw_t *w = &req->resp;
    if (v >= 2)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, nt);
    rv__topics_t *reg = rv__broker_topics(req->ctx->broker);
    for (int32_t t = 0; t < nt && !r->err; t++) {
        const char *name = rv__kr_str(r);
        int32_t np = rv__kr_array(r, part_min);
        if (!name || np < 0) {
            r->err = true;
            break;
        }
        rv__kw_str(w, name);
        rv__kw_i32(w, np);
        for (int32_t p = 0; p < np && !r->err; p++) {
            int32_t partition = rv__kr_i32(r);
            int64_t ts = rv__kr_i64(r);
            int32_t max_num = v == 0 ? rv__kr_i32(r) : 1;
            if (r->err)
                break;
            int64_t offset = -1, found_ts = -1;
            rv__topic_t *tp;
            rv__log_t *log;
            rv_err_t err = rv__topics_acquire(reg, name, partition, &tp, &log, NULL, 0);
            if (!err) {
                if (ts == -1) {
                    offset = rv__log_high_watermark(log);
                } else if (ts == -2) {
                    offset = rv__log_start_offset(log);
                } else if (ts >= 0) {
                    err = rv__log_offset_for_timestamp(log, ts, &offset, &found_ts);
                    if (offset < 0)
                        found_ts = -1;
                } else {
                    err = RV_ERR_INVALID_REQUEST; /* -3 (max timestamp) came with v7 */
                }
                rv__topics_release(reg, tp);
            }
            if (err)
                offset = found_ts = -1;
            rv__kw_i32(w, partition);
            rv__kw_i16(w, kerr(err));
            if (v == 0) {
                /* old_style_offsets: Burrow reads element 0. */
                bool one = !err && offset >= 0 && max_num > 0;
                rv__kw_i32(w, one ? 1 : 0);
                if (one)
                    rv__kw_i64(w, offset);
            } else {
                rv__kw_i64(w, ts >= 0 ? found_ts : -1);
                rv__kw_i64(w, offset);
            }
        }
    }
    return r->err ? RV__KAPI_CLOSE : RV__KAPI_DONE;
}

/* ---- InitProducerId (v0-1) ---- */

/* Without a transactional id: a new idempotent producer id, epoch 0. With
 * one: transactions are not implemented, and the answer is
 * UNSUPPORTED_VERSION, what Kafka gives a client for a feature the broker
 * cannot serve; it is not retriable, so librdkafka's init_transactions()
 * and kafkajs fail at once with a clear error instead of retrying. */
static rv__kapi_status_t handle_init_producer_id(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    const char *txn_id = rv__kr_str(r);
    (void)rv__kr_i32(r); /* transaction_timeout_ms */
    if (r->err)
        return RV__KAPI_CLOSE;
    int64_t pid = -1;
    int16_t epoch = -1;
    rv_err_t err;
    if (txn_id) {
        err = RV_ERR_UNSUPPORTED_VERSION;
    } else {
        char errstr[256];
        err = rv__broker_init_producer_id(req->ctx->broker, &pid, &epoch, errstr, sizeof errstr);
        if (err) {
            rv__log_warn("KAFKA", "InitProducerId failed: %s", errstr);
            pid = -1;
            epoch = -1;
        }
    }
    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i16(w, kerr(err));
    rv__kw_i64(w, pid);
    rv__kw_i16(w, epoch);
    return RV__KAPI_DONE;
}

const rv__kapi_def_t rv__kapi_core_defs[] = {
    /* Produce 0 is librdkafka 2.0.2's probe for gzip, snappy and lz4 (its
     * feature map needs the exact version in the range; v0-2 requests with
     * magic 0/1 message sets are refused per partition), Produce 3 and
     * Fetch 4 its MsgVer2 probes, Produce 7 and Fetch 10 its ZSTD probes; ListOffsets 0 is what
     * Burrow sends and 1 librdkafka's OffsetTime probe; Metadata 0 is kafka-python's first request.
     */
    {RV__KAPI_PRODUCE, 0, 7, "Produce", handle_produce},
    {RV__KAPI_FETCH, 4, 11, "Fetch", handle_fetch},
    {RV__KAPI_LIST_OFFSETS, 0, 3, "ListOffsets", handle_list_offsets},
    {RV__KAPI_METADATA, 0, 5, "Metadata", handle_metadata},
    {RV__KAPI_INIT_PRODUCER_ID, 0, 1, "InitProducerId", handle_init_producer_id},
    {0, 0, 0, NULL, NULL},
};
