/* broker/kafka/api.h: Kafka request handlers and how they are run.
 *
 * A handler turns one request (header already parsed, body in req->body)
 * into a response body (req->resp; the server adds the size and the
 * correlation id). Handlers run on worker threads, never on the network
 * loop, so they may block on disk (an fsync for acks=all, a commit). They
 * return:
 *   RV__KAPI_DONE         the response is in req->resp
 *   RV__KAPI_NO_RESPONSE  nothing is sent (Produce with acks=0)
 *   RV__KAPI_PENDING      the answer comes later: the handler handed req to
 *                         something that calls rv__kreq_complete(req) exactly
 *                         once, from any thread, after filling req->resp
 *                         (JoinGroup, SyncGroup wait for other members)
 *   RV__KAPI_WAIT         not enough data yet (Fetch below min_bytes): the
 *                         runner calls the handler again, from the start
 *                         with the body rewound and resp emptied, after any
 *                         append to the broker or once req->wait_ms have
 *                         passed since the request arrived; on that last run
 *                         req->wait_expired is true and the handler must
 *                         answer
 *   RV__KAPI_CLOSE        the request is malformed: close the connection
 *                         (nothing is sent; req->resp is ignored)
 *
 * One connection has at most one request in its handler at a time, so
 * responses leave in request order (Kafka mutes a channel the same way).
 *
 * The API table (rv__kapi_defs) lists every API the broker answers with the
 * version range it advertises in ApiVersions. Each handler file contributes
 * its rows: broker/kafka/api_core.c (ApiVersions, Metadata, Produce, Fetch,
 * ListOffsets, InitProducerId), api_groups.c (FindCoordinator and the group
 * and offset APIs), api_admin.c (topics, configs, records). */
#ifndef RV_BROKER_KAFKA_API_H
#define RV_BROKER_KAFKA_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/kafka/proto.h"
#include "broker/topics.h"
#include "rivulet/broker.h"

/* Kafka's API keys. */
enum {
    RV__KAPI_PRODUCE = 0,
    RV__KAPI_FETCH = 1,
    RV__KAPI_LIST_OFFSETS = 2,
    RV__KAPI_METADATA = 3,
    RV__KAPI_OFFSET_COMMIT = 8,
    RV__KAPI_OFFSET_FETCH = 9,
    RV__KAPI_FIND_COORDINATOR = 10,
    RV__KAPI_JOIN_GROUP = 11,
    RV__KAPI_HEARTBEAT = 12,
    RV__KAPI_LEAVE_GROUP = 13,
    RV__KAPI_SYNC_GROUP = 14,
    RV__KAPI_DESCRIBE_GROUPS = 15,
    RV__KAPI_LIST_GROUPS = 16,
    RV__KAPI_API_VERSIONS = 18,
    RV__KAPI_CREATE_TOPICS = 19,
    RV__KAPI_DELETE_TOPICS = 20,
    RV__KAPI_DELETE_RECORDS = 21,
    RV__KAPI_INIT_PRODUCER_ID = 22,
    RV__KAPI_DESCRIBE_CONFIGS = 32,
    RV__KAPI_ALTER_CONFIGS = 33,
    RV__KAPI_CREATE_PARTITIONS = 37,
    RV__KAPI_DELETE_GROUPS = 42,
    RV__KAPI_OFFSET_DELETE = 47
};

typedef enum rv__kapi_status_e {
    RV__KAPI_DONE,
    RV__KAPI_NO_RESPONSE,
    RV__KAPI_PENDING,
    RV__KAPI_WAIT,
    RV__KAPI_CLOSE
} rv__kapi_status_t;

/* What the handlers know of the server (broker/kafka/server.c fills it
 * from its settings; tests fill it by hand). Read-only while requests run. */
typedef struct rv__kctx_s {
    rv_broker_t *broker; /* borrowed */
    int32_t node_id;
    const char *advertised_host; /* what Metadata and FindCoordinator return */
    int32_t advertised_port;
    const char *cluster_id;
    bool auto_create_topics; /* auto.create.topics.enable (Kafka: true) */
    int32_t num_partitions;  /* num.partitions for auto-created topics (Kafka: 1) */
    /* fetch.max.bytes: the most a Fetch response carries whatever the
     * client asks (Kafka: 57671680); <= 0 means that default. */
    int32_t fetch_max_bytes;
} rv__kctx_t;

/* The partitions a waiting request (a long-polling Fetch) waits on, as a
 * small bit set: an append to partition P wakes the requests whose set has
 * rv__kwake_bit(P). Two partitions may share a bit; that only wakes a
 * request early, to wait again. */
#define RV__KWAKE_BITS 1024
#define RV__KWAKE_WORDS (RV__KWAKE_BITS / 64)

static inline unsigned rv__kwake_bit(const char *topic, int32_t partition) {
    return rv__topic_partition_hash(topic, partition) % RV__KWAKE_BITS;
}

typedef struct rv__kreq_s rv__kreq_t;

struct rv__kreq_s {
    /* request header */
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    const char *client_id;   /* "" when null; in hdr_arena */
    const char *client_host; /* "/127.0.0.1", as Kafka shows members */
    const rv__kctx_t *ctx;
    rv__kr_t body; /* positioned after the header */
    rv__kw_t resp; /* the response body, after the correlation id */
    /* Handlers' scratch (and the body's strings): emptied before every
     * run, so a Fetch re-run after RV__KAPI_WAIT does not pile up copies. */
    rv__karena_t arena;
    /* What lives as long as the request: client_id, and the client's
     * address the server copies in. */
    rv__karena_t hdr_arena;
    /* RV__KAPI_WAIT */
    int64_t received_ms; /* rv__mono_ms() when the request arrived */
    int32_t wait_ms;     /* set by the handler with RV__KAPI_WAIT */
    bool wait_expired;   /* set by the runner on the last run */
    /* Set by the handler with RV__KAPI_WAIT: wake_set says wake_bits holds
     * the partitions to wait on; otherwise any append wakes the request. */
    bool wake_set;
    uint64_t wake_bits[RV__KWAKE_WORDS];
    /* RV__KAPI_PENDING: set by the runner; handlers call rv__kreq_complete */
    void (*on_complete)(rv__kreq_t *req);
    void *runner_opaque;
    /* private to api.c */
    uint8_t *frame; /* the request's own copy of the frame */
    size_t body_pos;
};

/** Hands a pending request back to its runner once req->resp is filled.
 *  Exactly once per RV__KAPI_PENDING; any thread; must not be called with
 *  a lock held that the runner might take. It may run before the handler
 *  has returned RV__KAPI_PENDING: runners must accept both orders. */
void rv__kreq_complete(rv__kreq_t *req);

typedef rv__kapi_status_t(rv__kapi_fn)(rv__kreq_t *req);

typedef struct rv__kapi_def_s {
    int16_t key;
    int16_t min_version, max_version; /* advertised range */
    const char *name;                 /* "Produce", for logs */
    rv__kapi_fn *fn;
} rv__kapi_def_t;

/* Each handler file's rows, ending with a row whose fn is NULL. */
extern const rv__kapi_def_t rv__kapi_core_defs[];
extern const rv__kapi_def_t rv__kapi_group_defs[];
extern const rv__kapi_def_t rv__kapi_admin_defs[];

/** The row for an API key, NULL when the broker does not serve it. */
const rv__kapi_def_t *rv__kapi_find(int16_t key);
/** Calls fn(def, opaque) for every served API, by key order. */
void rv__kapi_foreach(void (*fn)(const rv__kapi_def_t *def, void *opaque), void *opaque);

/** Parses a request frame (without its 4-byte size) into a fresh request:
 *  header v1, or v2 (a tag section after client_id) for ApiVersions v3+.
 *  Returns NULL when the header is malformed (close the connection) or
 *  memory runs out. The frame is copied (req->body points into the copy);
 *  `ctx` and `client_host` are borrowed and must outlive the request.
 *  Caller owns the result; free with rv__kreq_free(). */
rv__kreq_t *rv__kreq_parse(const rv__kctx_t *ctx, const uint8_t *frame, size_t len,
                           const char *client_host);
void rv__kreq_free(rv__kreq_t *req);

/** Runs a parsed request's handler once: looks up the API, answers
 *  ApiVersions with an unsupported version by UNSUPPORTED_VERSION (a v0
 *  body, as Kafka), returns RV__KAPI_CLOSE (logged) for an unknown API key
 *  or another unadvertised version, a body the handler found malformed,
 *  or out of memory. Rewinds body, empties resp and the scratch arena
 *  first, so a runner may call it again after RV__KAPI_WAIT. */
rv__kapi_status_t rv__kapi_run(rv__kreq_t *req);

/** Runs one request frame to completion on the calling thread, waiting for
 *  PENDING and retrying WAIT (polling every few ms) as the server would:
 *  for tests of handlers without sockets. *resp gets the response body
 *  (caller owns; rv__kw_free) unless the status is NO_RESPONSE or CLOSE. */
rv__kapi_status_t rv__kapi_call(const rv__kctx_t *ctx, const uint8_t *frame, size_t len,
                                rv__kw_t *resp);

/* Broker appends wake waiting Fetch requests: the server registers a hook
 * with the broker (rv__broker_set_append_hook, broker/producer_state.h). */

#endif
