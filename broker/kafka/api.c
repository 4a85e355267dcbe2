/* broker/kafka/api.c: the API table, request headers, running a handler
 * (with the version check), the synchronous runner used by tests, and the
 * ApiVersions handler, which answers from the table itself so the broker
 * advertises exactly the APIs it serves (broker/kafka/api.h). */
#include "broker/kafka/api.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/logger.h"
#include "rivulet/error.h"

static rv__kapi_status_t handle_api_versions(rv__kreq_t *req);

/* ApiVersions 0-3: v3 is the only flexible version the broker answers;
 * librdkafka sends it first and falls back when refused. */
static const rv__kapi_def_t api_versions_def = {RV__KAPI_API_VERSIONS, 0, 3, "ApiVersions",
                                                handle_api_versions};

static const rv__kapi_def_t *const tables[] = {rv__kapi_core_defs, rv__kapi_group_defs,
                                               rv__kapi_admin_defs};

const rv__kapi_def_t *rv__kapi_find(int16_t key) {
    if (key == RV__KAPI_API_VERSIONS)
        return &api_versions_def;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const rv__kapi_def_t *d = tables[t]; d->fn; d++)
            if (d->key == key)
                return d;
    return NULL;
}

/* Kafka's API keys are small numbers; every served key is below this. */
#define MAX_API_KEY 100

void rv__kapi_foreach(void (*fn)(const rv__kapi_def_t *def, void *opaque), void *opaque) {
    for (int16_t key = 0; key < MAX_API_KEY; key++) {
        const rv__kapi_def_t *d = rv__kapi_find(key);
        if (d)
            fn(d, opaque);
    }
}

/* ---- requests ---- */

rv__kreq_t *rv__kreq_parse(const rv__kctx_t *ctx, const uint8_t *frame, size_t len,
                           const char *client_host) {
    rv__kreq_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->frame = malloc(len ? len : 1);
    if (!req->frame) {
        free(req);
        return NULL;
    }
    if (len)
        memcpy(req->frame, frame, len);
    req->ctx = ctx;
    req->client_host = client_host;
    req->received_ms = rv__mono_ms();
    rv__kw_init(&req->resp);
    rv__kr_init(&req->body, req->frame, len, &req->hdr_arena);
    req->api_key = rv__kr_i16(&req->body);
    req->api_version = rv__kr_i16(&req->body);
    req->correlation_id = rv__kr_i32(&req->body);
    const char *client_id = rv__kr_str(&req->body);
    /* Request header v2 (flexible versions) adds a tag section; of the
     * flexible versions only ApiVersions v3+ is ever parsed (others are
     * refused by version before their body is read). */
    if (req->api_key == RV__KAPI_API_VERSIONS && req->api_version >= 3)
        rv__kr_skip_tags(&req->body);
    if (req->body.err || req->api_version < 0) {
        rv__kreq_free(req);
        return NULL;
    }
    req->client_id = client_id ? client_id : "";
    req->body_pos = req->body.s.pos;
    req->body.arena = &req->arena;
    return req;
}

void rv__kreq_free(rv__kreq_t *req) {
    if (!req)
        return;
    rv__kw_free(&req->resp);
    rv__karena_free(&req->arena);
    rv__karena_free(&req->hdr_arena);
    free(req->frame);
    free(req);
}

void rv__kreq_complete(rv__kreq_t *req) {
    req->on_complete(req);
}

/* ---- ApiVersions ---- */

typedef struct versions_ctx_s {
    rv__kw_t *w;
    bool flexible;
    int32_t cnt;
} versions_ctx_t;

static void count_api(const rv__kapi_def_t *def, void *opaque) {
    (void)def;
    ((versions_ctx_t *)opaque)->cnt++;
}

static void write_api(const rv__kapi_def_t *def, void *opaque) {
    versions_ctx_t *vc = opaque;
    rv__kw_i16(vc->w, def->key);
    rv__kw_i16(vc->w, def->min_version);
    rv__kw_i16(vc->w, def->max_version);
    if (vc->flexible)
        rv__kw_uvarint(vc->w, 0); /* no tagged fields */
}

/* The body of every version: error code, the API list, then (v1+) the
 * throttle time. v3 is flexible: compact array (count + 1 as uvarint) and
 * tag sections. The response header stays v0 even for v3, as Kafka's. */
static void write_api_versions(rv__kw_t *w, int16_t version, rv_err_t err) {
    versions_ctx_t vc = {w, version >= 3, 0};
    rv__kapi_foreach(count_api, &vc);
    rv__kw_i16(w, (int16_t)err);
    if (vc.flexible)
        rv__kw_uvarint(w, (uint64_t)vc.cnt + 1);
    else
        rv__kw_i32(w, vc.cnt);
    rv__kapi_foreach(write_api, &vc);
    if (version >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    if (vc.flexible)
        rv__kw_uvarint(w, 0);
}

/* The request body (v3: client software name and version) carries nothing
 * the answer depends on, so it is not read. */
static rv__kapi_status_t handle_api_versions(rv__kreq_t *req) {
    write_api_versions(&req->resp, req->api_version, RV_ERR_NO_ERROR);
    return RV__KAPI_DONE;
}

/* ---- running handlers ---- */

rv__kapi_status_t rv__kapi_run(rv__kreq_t *req) {
    rv__karena_free(&req->arena);
    req->body.s.pos = req->body_pos;
    req->body.err = false;
    req->resp.b.len = 0;
    req->resp.err = false;
    const rv__kapi_def_t *def = rv__kapi_find(req->api_key);
    if (!def) {
        rv__log_info("KAFKA", "Closing connection from %s (client %s): unknown API key %d",
                     req->client_host ? req->client_host : "?", req->client_id, (int)req->api_key);
        return RV__KAPI_CLOSE;
    }
    if (req->api_version < def->min_version || req->api_version > def->max_version) {
        if (req->api_key == RV__KAPI_API_VERSIONS) {
            /* Kafka answers a too-new ApiVersions with a v0 body carrying
             * UNSUPPORTED_VERSION and its list; clients retry with a
             * version from that list. */
            write_api_versions(&req->resp, 0, RV_ERR_UNSUPPORTED_VERSION);
            return req->resp.err ? RV__KAPI_CLOSE : RV__KAPI_DONE;
        }
        rv__log_info("KAFKA",
                     "Closing connection from %s (client %s): %s version %d is not supported "
                     "(versions %d to %d are)",
                     req->client_host ? req->client_host : "?", req->client_id, def->name,
                     (int)req->api_version, (int)def->min_version, (int)def->max_version);
        return RV__KAPI_CLOSE;
    }
    rv__kapi_status_t st = def->fn(req);
    if (st == RV__KAPI_DONE && req->resp.err) {
        rv__log_warn("KAFKA", "Out of memory answering %s from %s", def->name,
                     req->client_host ? req->client_host : "?");
        return RV__KAPI_CLOSE;
    }
    if (st == RV__KAPI_CLOSE)
        rv__log_info("KAFKA",
                     "Closing connection from %s (client %s) after a %s v%d request it could "
                     "not answer (malformed, or a failed produce with acks=0)",
                     req->client_host ? req->client_host : "?", req->client_id, def->name,
                     (int)req->api_version);
    return st;
}

/* ---- the synchronous runner ---- */

typedef struct call_wait_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} call_wait_t;

static void call_complete(rv__kreq_t *req) {
    call_wait_t *cw = req->runner_opaque;
    pthread_mutex_lock(&cw->lock);
    cw->done = true;
    pthread_cond_broadcast(&cw->cond);
    pthread_mutex_unlock(&cw->lock);
}

rv__kapi_status_t rv__kapi_call(const rv__kctx_t *ctx, const uint8_t *frame, size_t len,
                                rv__kw_t *resp) {
    rv__kw_init(resp);
    rv__kreq_t *req = rv__kreq_parse(ctx, frame, len, "/127.0.0.1");
    if (!req)
        return RV__KAPI_CLOSE;
    call_wait_t cw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    req->on_complete = call_complete;
    req->runner_opaque = &cw;
    rv__kapi_status_t st;
    for (;;) {
        st = rv__kapi_run(req);
        if (st == RV__KAPI_WAIT && req->wait_expired)
            st = RV__KAPI_CLOSE; /* a handler must answer its last run */
        if (st != RV__KAPI_WAIT)
            break;
        /* Poll, as a test runner: the server is woken by appends instead. */
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (rv__mono_ms() - req->received_ms >= req->wait_ms)
            req->wait_expired = true;
    }
    if (st == RV__KAPI_PENDING) {
        pthread_mutex_lock(&cw.lock);
        while (!cw.done)
            pthread_cond_wait(&cw.cond, &cw.lock);
        pthread_mutex_unlock(&cw.lock);
        st = RV__KAPI_DONE;
    }
    if (st == RV__KAPI_DONE) {
        *resp = req->resp;
        rv__kw_init(&req->resp);
    }
    rv__kreq_free(req);
    return st;
}
