/* broker/kafka/server.h: the Kafka wire-protocol TCP server of a broker
 * (libuv). It accepts connections, cuts the byte stream into request
 * frames, runs the handlers of broker/kafka/api.h on worker threads and
 * writes the responses back in request order. `rivulet broker`
 * (tools/broker_cmd.c) and the tests start one per data folder.
 *
 * Threads: rv__kserver_start() and rv__kserver_stop() may be called from
 * any thread, but not concurrently for the same server; rv__kserver_port()
 * from any thread. The server's own threads never call back into the
 * caller. */
#ifndef RV_BROKER_KAFKA_SERVER_H
#define RV_BROKER_KAFKA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivulet/broker.h"
#include "rivulet/error.h"

typedef struct rv__kserver_s rv__kserver_t;

typedef struct rv__kserver_config_s {
    const char *listen_host;     /* the address to bind (name or IP literal) */
    int listen_port;             /* 0 = let the OS pick */
    const char *advertised_host; /* NULL = listen_host (the host name for a wildcard) */
    int advertised_port;         /* 0 = the bound port */
    int32_t node_id;             /* node.id; default 1 */
    bool auto_create_topics;     /* auto.create.topics.enable; default true */
    int32_t num_partitions;      /* num.partitions; default 1 */
    int32_t max_request_bytes;   /* socket.request.max.bytes; default 104857600 */
    int32_t fetch_max_bytes;     /* fetch.max.bytes: largest Fetch response; default 57671680 */
    /* The cluster id Metadata returns. NULL = RV__KSERVER_DEFAULT_CLUSTER_ID;
     * `rivulet broker` passes the one stored in the data folder
     * (rv__kserver_cluster_id()). */
    const char *cluster_id;
} rv__kserver_config_t;

/* The cluster id of a server configured without one (22 characters, the
 * shape of Kafka's base64 Uuid). */
#define RV__KSERVER_DEFAULT_CLUSTER_ID "cml2dWxldC1jbHVzdGVyAA"

/* How long rv__kserver_stop() lets requests already being handled finish
 * before it closes their connections anyway. */
#define RV__KSERVER_STOP_WAIT_MS 5000

/** Fills *cfg with the defaults: listen 127.0.0.1 port 9092, advertised =
 *  listen, node 1, auto-create on with 1 partition, 100 MiB requests. */
void rv__kserver_config_default(rv__kserver_config_t *cfg);

/** Binds the listener (errors such as EADDRINUSE are returned here, with a
 *  message) and starts the server's libuv loop on its own thread. `broker`
 *  is borrowed: it must stay open until rv__kserver_stop() returns. `cfg`
 *  and its strings are copied. Caller owns *out; free with
 *  rv__kserver_stop(). */
rv_err_t rv__kserver_start(rv__kserver_t **out, rv_broker_t *broker,
                           const rv__kserver_config_t *cfg, char *errstr, size_t errstr_size);

/** The bound port (useful with listen_port 0). */
int rv__kserver_port(const rv__kserver_t *s);

/** The most requests that have waited behind one connection's request in
 *  service since the server started (for tests of its back-pressure). */
int rv__kserver_queued_peak(const rv__kserver_t *s);

/** How many times an append has re-run a waiting request (a long-polling
 *  Fetch) since the server started (for tests of its wake-ups). */
long rv__kserver_wakeups(const rv__kserver_t *s);

/** The advertised "host:port". Borrowed: valid until rv__kserver_stop(). */
const char *rv__kserver_address(const rv__kserver_t *s);

/** Stops accepting, answers the requests already being handled (a waiting
 *  Fetch answers at once with what it has; at most RV__KSERVER_STOP_WAIT_MS
 *  for the rest), closes every connection, joins the loop thread and frees
 *  the server. Requests received but not started are dropped, as when a
 *  Kafka broker shuts down. NULL does nothing. */
void rv__kserver_stop(rv__kserver_t *s);

/** Reads the cluster id stored in `data_dir`/meta.properties (Kafka's
 *  file, key cluster.id), creating the file with a new random id (Kafka's
 *  Uuid format: 22 characters of URL-safe base64) when it is missing.
 *  out gets the NUL-terminated id. RV_ERR__IO with a message when the file
 *  cannot be read or written, RV_ERR__INVALID_ARG when it has no usable
 *  cluster.id. */
rv_err_t rv__kserver_cluster_id(const char *data_dir, char *out, size_t out_size, char *errstr,
                                size_t errstr_size);

#endif
