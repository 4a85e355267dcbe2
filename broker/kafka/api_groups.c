/* broker/kafka/api_groups.c: the handlers of FindCoordinator and the group
 * and offset APIs (broker/kafka/api.h): JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups,
 * DeleteGroups and OffsetDelete. Each one decodes its request (Appendix A
 * of the protocol notes), calls the group coordinator
 * (broker/group_coordinator.h), whose calls map one-to-one onto these
 * requests, and encodes Kafka's response for the version asked. The group
 * state machine itself lives in broker/group_coordinator.c.
 *
 * DESIGN
 *
 * - A single node is the coordinator of every group (and has no
 *   transaction coordinator): FindCoordinator always names this node.
 * - JoinGroup and SyncGroup wait for other members. Their handlers pass
 *   the request itself as the coordinator's callback opaque and return
 *   RV__KAPI_PENDING; the callback, which may run on another thread or
 *   before rv__group_join / rv__group_sync has returned, encodes the
 *   response into req->resp and hands the request back with
 *   rv__kreq_complete(). So once the coordinator has been called the
 *   handler touches the request no more: it may already be answered and
 *   freed. Everything the callback needs (the API version) is read from
 *   the request, which stays alive until rv__kreq_complete().
 * - KIP-394: JoinGroup v4+ asks the coordinator to require a known member
 *   id (MEMBER_ID_REQUIRED with the new id); v0-3 clients (kafka-python
 *   sends v2) never see that error.
 * - Local errors (out of memory, I/O) never go on the wire: they become
 *   UNKNOWN_SERVER_ERROR, or COORDINATOR_NOT_AVAILABLE where the
 *   coordinator already maps storage failures to it.
 * - A malformed body (a read past its end, a negative length, a null
 *   where the version allows none) returns RV__KAPI_CLOSE before the
 *   coordinator is called. Request arrays are parsed into the request's
 *   arena; rv__kr_array bounds every count by the bytes left, so a hostile
 *   count never makes the handler allocate much. */
#include <stdlib.h>
#include <string.h>

#include "broker/group_coordinator.h"
#include "broker/kafka/api.h"
#include "broker/kafka/api_util.h"
#include "broker/topics.h"
#include "common/logger.h"

#define FAC "KAFKA"

/* Kafka's key types in FindCoordinator v1+. */
#define KEY_TYPE_GROUP 0
#define KEY_TYPE_TRANSACTION 1

/* Smallest encoded sizes, the bound rv__kr_array puts on counts. */
#define MIN_STR 2   /* int16 length */
#define MIN_BYTES 4 /* int32 length */
#define MIN_ARRAY 4 /* int32 count */

static rv__group_coordinator_t *coordinator(const rv__kreq_t *req) {
    return rv__broker_group_coordinator(req->ctx->broker);
}

/* True when the partition exists, as Kafka's metadata-cache check before
 * OffsetCommit and OffsetDelete. */
static bool partition_exists(rv__topics_t *topics, const char *topic, int32_t partition) {
    rv__topic_t *tp;
    rv__log_t *log;
    if (!topic || !*topic || partition < 0)
        return false;
    if (rv__topics_acquire(topics, topic, partition, &tp, &log, NULL, 0))
        return false;
    rv__topics_release(topics, tp);
    return true;
}

/* ---- FindCoordinator ---- */

static rv__kapi_status_t find_coordinator(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    (void)rv__kr_str(r); /* the key: this node coordinates every group */
    int8_t key_type = v >= 1 ? rv__kr_i8(r) : KEY_TYPE_GROUP;
    if (r->err)
        return RV__KAPI_CLOSE;
    rv_err_t err = RV_ERR_NO_ERROR;
    if (key_type == KEY_TYPE_TRANSACTION) {
        /* No transaction coordinator: the broker has no transactions, so
         * a transactional producer is told, as Kafka tells it while no
         * coordinator is up, to try again later. */
        err = RV_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if (key_type != KEY_TYPE_GROUP) {
        err = RV_ERR_INVALID_REQUEST; /* Kafka: "Unknown coordinator type" */
    }
    rv__kw_t *w = &req->resp;
    if (v >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i16(w, rv__kapi_wire_err(err));
    if (v >= 1)
        rv__kw_str(w, err ? rv_err_str(err) : NULL);
    if (err) {
        /* Kafka's Node.noNode() */
        rv__kw_i32(w, -1);
        rv__kw_str(w, "");
        rv__kw_i32(w, -1);
    } else {
        rv__kw_i32(w, req->ctx->node_id);
        rv__kw_str(w, req->ctx->advertised_host ? req->ctx->advertised_host : "");
        rv__kw_i32(w, req->ctx->advertised_port);
    }
    return RV__KAPI_DONE;
}

/* ---- JoinGroup ---- */

/* Runs once per join, on any thread: encodes the response and hands the
 * request back. */
static void join_done(const rv__group_join_result_t *res, void *opaque) {
    rv__kreq_t *req = opaque;
    int16_t v = req->api_version;
    rv__kw_t *w = &req->resp;
    if (v >= 2)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i16(w, rv__kapi_wire_err(res->err));
    rv__kw_i32(w, res->err ? -1 : res->generation_id);
    /* ProtocolName, Leader and MemberId are not nullable before v7. */
    rv__kw_str(w, res->protocol_name ? res->protocol_name : "");
    rv__kw_str(w, res->leader_id ? res->leader_id : "");
    rv__kw_str(w, res->member_id ? res->member_id : "");
    rv__kw_i32(w, (int32_t)res->member_cnt);
    for (size_t i = 0; i < res->member_cnt; i++) {
        const rv__group_member_meta_t *m = &res->members[i];
        rv__kw_str(w, m->member_id);
        if (v >= 5)
            rv__kw_str(w, m->group_instance_id);
        rv__kw_bytes(w, m->metadata ? m->metadata : "", m->metadata_len);
    }
    rv__kreq_complete(req);
}

static rv__kapi_status_t join_group(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    rv__group_join_req_t jr;
    memset(&jr, 0, sizeof jr);
    jr.group_id = rv__kr_str(r);
    jr.session_timeout_ms = rv__kr_i32(r);
    /* v0 has no rebalance timeout: the session timeout serves as one. */
    jr.rebalance_timeout_ms = v >= 1 ? rv__kr_i32(r) : -1;
    jr.member_id = rv__kr_str(r);
    jr.group_instance_id = v >= 5 ? rv__kr_str(r) : NULL;
    jr.protocol_type = rv__kr_str(r);
    int32_t n = rv__kr_array(r, MIN_STR + MIN_BYTES);
    if (n < 0 || r->err || !jr.group_id || !jr.member_id || !jr.protocol_type)
        return RV__KAPI_CLOSE;
    rv__group_protocol_t *protos = rv__kreq_array(req, (size_t)n, sizeof *protos);
    for (int32_t i = 0; protos && i < n && !r->err; i++) {
        protos[i].name = rv__kr_str(r);
        protos[i].metadata = rv__kr_bytes(r, &protos[i].metadata_len);
        if (!protos[i].name)
            r->err = true;
    }
    if (r->err)
        return RV__KAPI_CLOSE;
    jr.protocols = protos;
    jr.protocol_cnt = (size_t)n;
    jr.client_id = req->client_id ? req->client_id : "";
    jr.client_host = req->client_host ? req->client_host : "";
    jr.require_known_member_id = v >= 4;
    /* From here on join_done owns the request: it may complete (and the
     * runner free) it before rv__group_join returns. */
    rv__group_join(coordinator(req), &jr, join_done, req);
    return RV__KAPI_PENDING;
}

/* ---- SyncGroup ---- */

static void sync_done(rv_err_t err, const void *assignment, size_t assignment_len, void *opaque) {
    rv__kreq_t *req = opaque;
    rv__kw_t *w = &req->resp;
    if (req->api_version >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i16(w, rv__kapi_wire_err(err));
    /* An error carries an empty assignment, as Kafka's. */
    if (err || !assignment)
        rv__kw_bytes(w, "", 0);
    else
        rv__kw_bytes(w, assignment, assignment_len);
    rv__kreq_complete(req);
}

static rv__kapi_status_t sync_group(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    const char *group_id = rv__kr_str(r);
    int32_t generation = rv__kr_i32(r);
    const char *member_id = rv__kr_str(r);
    const char *instance_id = v >= 3 ? rv__kr_str(r) : NULL;
    int32_t n = rv__kr_array(r, MIN_STR + MIN_BYTES);
    if (n < 0 || r->err || !group_id || !member_id)
        return RV__KAPI_CLOSE;
    rv__group_assignment_t *as = rv__kreq_array(req, (size_t)n, sizeof *as);
    for (int32_t i = 0; as && i < n && !r->err; i++) {
        as[i].member_id = rv__kr_str(r);
        as[i].assignment = rv__kr_bytes(r, &as[i].assignment_len);
        if (!as[i].member_id)
            r->err = true;
    }
    if (r->err)
        return RV__KAPI_CLOSE;
    /* As with JoinGroup, sync_done owns the request from here on. */
    rv__group_sync(coordinator(req), group_id, generation, member_id, instance_id, as, (size_t)n,
                   sync_done, req);
    return RV__KAPI_PENDING;
}

/* ---- Heartbeat, LeaveGroup ---- */

static rv__kapi_status_t heartbeat(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    const char *group_id = rv__kr_str(r);
    int32_t generation = rv__kr_i32(r);
    const char *member_id = rv__kr_str(r);
    const char *instance_id = v >= 3 ? rv__kr_str(r) : NULL;
    if (r->err || !group_id || !member_id)
        return RV__KAPI_CLOSE;
    rv_err_t err =
        rv__group_heartbeat(coordinator(req), group_id, generation, member_id, instance_id);
    if (v >= 1)
        rv__kw_i32(&req->resp, 0); /* throttle_time_ms */
    rv__kw_i16(&req->resp, rv__kapi_wire_err(err));
    return RV__KAPI_DONE;
}

static rv__kapi_status_t leave_group(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    const char *group_id = rv__kr_str(r);
    const char *member_id = rv__kr_str(r);
    if (r->err || !group_id || !member_id)
        return RV__KAPI_CLOSE;
    rv_err_t err = rv__group_leave(coordinator(req), group_id, member_id);
    if (req->api_version >= 1)
        rv__kw_i32(&req->resp, 0); /* throttle_time_ms */
    rv__kw_i16(&req->resp, rv__kapi_wire_err(err));
    return RV__KAPI_DONE;
}

/* ---- request topics: [topic [partition ...]] ---- */

/* A request's topics as sent, so a response can list its partitions in
 * the same order: topic i owns entries [first, first + cnt) of a flat
 * per-partition array. */
typedef struct rtopic_s {
    const char *name;
    size_t first, cnt;
} rtopic_t;

/* Reads the fields of one partition into `entry`, an element of the flat
 * array, for a request of version v; `topic` is the topic's name. */
typedef void(read_part_fn)(rv__kr_t *r, int16_t v, const char *topic, void *entry);

/* Reads the tn topics of a request (allocated in topics[]; NULL reads
 * nothing), each a name and an array of partitions of at least min_part
 * bytes each, and returns the flat array of `size`-byte entries, *cnt of
 * them, that read_part filled. Borrowed: owned by the request's arena.
 * A malformed request or a lack of memory sets the reader's error. */
static void *read_topics(rv__kreq_t *req, rtopic_t *topics, int32_t tn, size_t min_part,
                         size_t size, read_part_fn *read_part, size_t *cnt) {
    rv__kr_t *r = &req->body;
    /* The bytes left bound the total, so the flat array grows by doubling. */
    char *v = NULL;
    size_t cap = 0;
    *cnt = 0;
    for (int32_t i = 0; topics && i < tn && !r->err; i++) {
        topics[i].name = rv__kr_str(r);
        int32_t pn = rv__kr_array(r, min_part);
        if (!topics[i].name || pn < 0)
            r->err = true;
        topics[i].first = *cnt;
        topics[i].cnt = r->err ? 0 : (size_t)pn;
        if (r->err || !pn)
            continue;
        char *n = rv__kreq_array_grow(req, v, *cnt, &cap, *cnt + (size_t)pn, size);
        if (!n)
            break;
        v = n;
        for (int32_t j = 0; j < pn && !r->err; j++, (*cnt)++)
            read_part(r, req->api_version, topics[i].name, v + *cnt * size);
    }
    return v;
}

/* ---- OffsetCommit ---- */

static void read_commit_part(rv__kr_t *r, int16_t v, const char *topic, void *entry) {
    rv__group_offset_t *o = entry;
    o->topic = topic;
    o->partition = rv__kr_i32(r);
    o->offset = rv__kr_i64(r);
    o->leader_epoch = v >= 6 ? rv__kr_i32(r) : -1;
    o->metadata = rv__kr_str(r); /* nullable: NULL is stored as "" */
}

static rv__kapi_status_t offset_commit(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    const char *group_id = rv__kr_str(r);
    int32_t generation = rv__kr_i32(r);
    const char *member_id = rv__kr_str(r);
    const char *instance_id = v >= 7 ? rv__kr_str(r) : NULL;
    if (v <= 4)
        (void)rv__kr_i64(r); /* retention_time_ms: offsets.retention.minutes rules */
    int32_t tn = rv__kr_array(r, MIN_STR + MIN_ARRAY);
    if (tn < 0 || r->err || !group_id || !member_id)
        return RV__KAPI_CLOSE;
    rtopic_t *topics = rv__kreq_array(req, (size_t)tn, sizeof *topics);
    /* Each partition is at least index, offset and metadata length. */
    size_t cnt;
    size_t min_part = 4 + 8 + (v >= 6 ? 4 : 0) + MIN_STR;
    rv__group_offset_t *offs =
        read_topics(req, topics, tn, min_part, sizeof *offs, read_commit_part, &cnt);
    if (r->err)
        return RV__KAPI_CLOSE;

    /* Partitions that do not exist fail one by one, as in Kafka, where
     * they never reach the coordinator; the others are committed together
     * (compacted to the front of a second array, then spread back). */
    rv__topics_t *reg = rv__broker_topics(req->ctx->broker);
    rv__group_offset_t *valid = rv__kreq_array(req, cnt, sizeof *valid);
    size_t *where = rv__kreq_array(req, cnt, sizeof *where);
    if (!valid || !where)
        return RV__KAPI_CLOSE;
    size_t vn = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (partition_exists(reg, offs[i].topic, offs[i].partition)) {
            valid[vn] = offs[i];
            where[vn++] = i;
        } else {
            offs[i].err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    if (vn) {
        char errstr[256];
        rv_err_t err = rv__group_commit_offsets(coordinator(req), group_id, generation, member_id,
                                                instance_id, valid, vn, errstr, sizeof errstr);
        if (err)
            rv__log_debug(FAC, "OffsetCommit of group %s: %s", group_id, errstr);
        for (size_t i = 0; i < vn; i++)
            offs[where[i]].err = valid[i].err;
    }

    rv__kw_t *w = &req->resp;
    if (v >= 3)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, tn);
    for (int32_t i = 0; i < tn; i++) {
        rv__kw_str(w, topics[i].name);
        rv__kw_i32(w, (int32_t)topics[i].cnt);
        for (size_t j = topics[i].first; j < topics[i].first + topics[i].cnt; j++) {
            rv__kw_i32(w, offs[j].partition);
            rv__kw_i16(w, rv__kapi_wire_err(offs[j].err));
        }
    }
    return RV__KAPI_DONE;
}

/* ---- OffsetFetch ---- */

static void write_committed(rv__kw_t *w, int16_t v, const rv__group_committed_t *c, rv_err_t err) {
    rv__kw_i32(w, c->partition);
    rv__kw_i64(w, err ? -1 : c->offset);
    if (v >= 5)
        rv__kw_i32(w, err ? -1 : c->leader_epoch);
    rv__kw_str(w, err || !c->metadata ? "" : c->metadata);
    rv__kw_i16(w, rv__kapi_wire_err(err));
}

static void read_fetch_part(rv__kr_t *r, int16_t v, const char *topic, void *entry) {
    (void)v;
    rv__group_tp_t *tp = entry;
    tp->topic = topic;
    tp->partition = rv__kr_i32(r);
}

static rv__kapi_status_t offset_fetch(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    const char *group_id = rv__kr_str(r);
    int32_t tn = rv__kr_array(r, MIN_STR + MIN_ARRAY);
    /* topics null (all the group's partitions) is legal from v2 on. */
    if (r->err || !group_id || (tn < 0 && v < 2))
        return RV__KAPI_CLOSE;
    rtopic_t *topics = NULL;
    if (tn >= 0 && !(topics = rv__kreq_array(req, (size_t)tn, sizeof *topics)))
        return RV__KAPI_CLOSE;
    size_t cnt;
    rv__group_tp_t *tps = read_topics(req, topics, tn, 4, sizeof *tps, read_fetch_part, &cnt);
    if (r->err)
        return RV__KAPI_CLOSE;

    rv__group_committed_t *res = NULL;
    size_t res_cnt = 0;
    rv_err_t err = RV_ERR_NO_ERROR;
    /* Kafka accepts an empty group id here (it never has offsets). */
    if (*group_id && (tn < 0 || cnt))
        err = rv__group_fetch_offsets(coordinator(req), group_id, tn < 0 ? NULL : tps, cnt, &res,
                                      &res_cnt);

    rv__kw_t *w = &req->resp;
    if (v >= 3)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    if (tn >= 0) {
        /* The partitions asked, in the order asked (res follows tps). */
        rv__kw_i32(w, tn);
        for (int32_t i = 0; i < tn; i++) {
            rv__kw_str(w, topics[i].name);
            rv__kw_i32(w, (int32_t)topics[i].cnt);
            for (size_t j = topics[i].first; j < topics[i].first + topics[i].cnt; j++) {
                rv__group_committed_t none = {NULL, tps[j].partition, -1, -1, NULL, -1};
                write_committed(w, v, j < res_cnt ? &res[j] : &none, err);
            }
        }
    } else {
        /* Every committed partition, sorted by topic then partition: one
         * topic entry per run of the same topic. */
        size_t pos = rv__kw_reserve_i32(w);
        int32_t nt = 0;
        for (size_t i = 0; i < res_cnt;) {
            size_t j = i;
            while (j < res_cnt && !strcmp(res[j].topic, res[i].topic))
                j++;
            rv__kw_str(w, res[i].topic);
            rv__kw_i32(w, (int32_t)(j - i));
            for (; i < j; i++)
                write_committed(w, v, &res[i], RV_ERR_NO_ERROR);
            nt++;
        }
        rv__kw_patch_i32(w, pos, nt);
    }
    if (v >= 2)
        rv__kw_i16(w, rv__kapi_wire_err(err));
    rv__group_committed_free(res, res_cnt);
    return RV__KAPI_DONE;
}

/* ---- ListGroups, DescribeGroups, DeleteGroups ---- */

static rv__kapi_status_t list_groups(rv__kreq_t *req) {
    rv__group_listing_t *ls = NULL;
    size_t n = 0;
    rv_err_t err = rv__group_list(coordinator(req), &ls, &n);
    rv__kw_t *w = &req->resp;
    if (req->api_version >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i16(w, rv__kapi_wire_err(err));
    rv__kw_i32(w, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        rv__kw_str(w, ls[i].group_id);
        rv__kw_str(w, ls[i].protocol_type);
    }
    rv__group_listings_free(ls, n);
    return RV__KAPI_DONE;
}

/* Reads the non-nullable ARRAY of group ids of DescribeGroups and
 * DeleteGroups; *n gets the count. Borrowed: owned by the request's arena.
 * NULL when the request is malformed (or memory ran out): close it. */
static const char **read_group_ids(rv__kreq_t *req, int32_t *n) {
    rv__kr_t *r = &req->body;
    *n = rv__kr_array(r, MIN_STR);
    if (*n < 0 || r->err)
        return NULL;
    const char **ids = rv__kreq_array(req, (size_t)*n, sizeof *ids);
    for (int32_t i = 0; ids && i < *n && !r->err; i++)
        if (!(ids[i] = rv__kr_str(r)))
            r->err = true;
    return r->err ? NULL : ids;
}

static rv__kapi_status_t describe_groups(rv__kreq_t *req) {
    int32_t n;
    const char **ids = read_group_ids(req, &n);
    if (!ids)
        return RV__KAPI_CLOSE;
    rv__kw_t *w = &req->resp;
    if (req->api_version >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        rv__group_description_t d;
        rv_err_t err =
            *ids[i] ? rv__group_describe(coordinator(req), ids[i], &d) : RV_ERR_GROUP_ID_NOT_FOUND;
        if (err == RV_ERR_GROUP_ID_NOT_FOUND || err == RV_ERR_INVALID_GROUP_ID) {
            /* Kafka describes a group it does not know as Dead, with no
             * error (DescribeGroups v0-5). */
            rv__kw_i16(w, 0);
            rv__kw_str(w, ids[i]);
            rv__kw_str(w, "Dead");
            rv__kw_str(w, "");
            rv__kw_str(w, "");
            rv__kw_i32(w, 0);
            continue;
        }
        if (err) {
            rv__kw_i16(w, rv__kapi_wire_err(err));
            rv__kw_str(w, ids[i]);
            rv__kw_str(w, "");
            rv__kw_str(w, "");
            rv__kw_str(w, "");
            rv__kw_i32(w, 0);
            continue;
        }
        rv__kw_i16(w, 0);
        rv__kw_str(w, d.group_id);
        rv__kw_str(w, d.state);
        rv__kw_str(w, d.protocol_type);
        rv__kw_str(w, d.protocol);
        rv__kw_i32(w, (int32_t)d.member_cnt);
        for (size_t j = 0; j < d.member_cnt; j++) {
            const rv__group_member_desc_t *m = &d.members[j];
            rv__kw_str(w, m->member_id);
            rv__kw_str(w, m->client_id);
            rv__kw_str(w, m->client_host);
            rv__kw_bytes(w, m->metadata ? (const void *)m->metadata : "", m->metadata_len);
            rv__kw_bytes(w, m->assignment ? (const void *)m->assignment : "", m->assignment_len);
        }
        rv__group_description_clear(&d);
    }
    return RV__KAPI_DONE;
}

static rv__kapi_status_t delete_groups(rv__kreq_t *req) {
    int32_t n;
    const char **ids = read_group_ids(req, &n);
    if (!ids)
        return RV__KAPI_CLOSE;
    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        char errstr[256];
        /* Kafka accepts an empty id here and finds no such group. */
        rv_err_t err = *ids[i] ? rv__group_delete(coordinator(req), ids[i], errstr, sizeof errstr)
                               : RV_ERR_GROUP_ID_NOT_FOUND;
        if (err && *ids[i])
            rv__log_debug(FAC, "DeleteGroups %s: %s", ids[i], errstr);
        rv__kw_str(w, ids[i]);
        rv__kw_i16(w, rv__kapi_wire_err(err));
    }
    return RV__KAPI_DONE;
}

/* ---- OffsetDelete ---- */

static void read_delete_part(rv__kr_t *r, int16_t v, const char *topic, void *entry) {
    (void)v;
    rv__group_offset_t *o = entry;
    o->topic = topic;
    o->partition = rv__kr_i32(r);
    o->leader_epoch = -1;
}

static rv__kapi_status_t offset_delete(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    const char *group_id = rv__kr_str(r);
    int32_t tn = rv__kr_array(r, MIN_STR + MIN_ARRAY);
    if (tn < 0 || r->err || !group_id)
        return RV__KAPI_CLOSE;
    rtopic_t *topics = rv__kreq_array(req, (size_t)tn, sizeof *topics);
    size_t cnt;
    rv__group_offset_t *offs =
        read_topics(req, topics, tn, 4, sizeof *offs, read_delete_part, &cnt);
    if (r->err)
        return RV__KAPI_CLOSE;
    /* Partitions that do not exist fail on their own (Kafka checks its
     * metadata before the coordinator); the coordinator skips them. */
    rv__topics_t *reg = rv__broker_topics(req->ctx->broker);
    for (size_t i = 0; i < cnt; i++)
        if (!partition_exists(reg, offs[i].topic, offs[i].partition))
            offs[i].err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    char errstr[256];
    rv_err_t err = *group_id ? rv__group_delete_offsets(coordinator(req), group_id, offs, cnt,
                                                        errstr, sizeof errstr)
                             : RV_ERR_GROUP_ID_NOT_FOUND;
    if (err && *group_id)
        rv__log_debug(FAC, "OffsetDelete of group %s: %s", group_id, errstr);
    rv__kw_t *w = &req->resp;
    rv__kw_i16(w, rv__kapi_wire_err(err));
    rv__kw_i32(w, 0); /* throttle_time_ms */
    if (err) {
        /* A group-level error answers no partition, as Kafka. */
        rv__kw_i32(w, 0);
        return RV__KAPI_DONE;
    }
    rv__kw_i32(w, tn);
    for (int32_t i = 0; i < tn; i++) {
        rv__kw_str(w, topics[i].name);
        rv__kw_i32(w, (int32_t)topics[i].cnt);
        for (size_t j = topics[i].first; j < topics[i].first + topics[i].cnt; j++) {
            rv__kw_i32(w, offs[j].partition);
            rv__kw_i16(w, rv__kapi_wire_err(offs[j].err));
        }
    }
    return RV__KAPI_DONE;
}

/* Advertised ranges: the protocol notes' table 1.3, all below the first
 * flexible version of each API. */
const rv__kapi_def_t rv__kapi_group_defs[] = {
    {RV__KAPI_OFFSET_COMMIT, 2, 7, "OffsetCommit", offset_commit},
    {RV__KAPI_OFFSET_FETCH, 1, 5, "OffsetFetch", offset_fetch},
    {RV__KAPI_FIND_COORDINATOR, 0, 2, "FindCoordinator", find_coordinator},
    {RV__KAPI_JOIN_GROUP, 0, 5, "JoinGroup", join_group},
    {RV__KAPI_HEARTBEAT, 0, 3, "Heartbeat", heartbeat},
    {RV__KAPI_LEAVE_GROUP, 0, 1, "LeaveGroup", leave_group},
    {RV__KAPI_SYNC_GROUP, 0, 3, "SyncGroup", sync_group},
    {RV__KAPI_DESCRIBE_GROUPS, 0, 2, "DescribeGroups", describe_groups},
    {RV__KAPI_LIST_GROUPS, 0, 2, "ListGroups", list_groups},
    {RV__KAPI_DELETE_GROUPS, 0, 1, "DeleteGroups", delete_groups},
    {RV__KAPI_OFFSET_DELETE, 0, 0, "OffsetDelete", offset_delete},
    {0, 0, 0, NULL, NULL},
};
