/* broker/kafka/server.c: the Kafka wire-protocol TCP server
 * (broker/kafka/server.h). It frames requests, hands each to the handlers
 * of broker/kafka/api.h (parsing and the API table live in api.c, the
 * handlers in api_core.c, api_groups.c and api_admin.c) and writes the
 * responses back. Framing: every request and response is an int32 size
 * followed by that many bytes; a response body is prefixed with the
 * request's correlation id (response header v0: the server advertises no
 * flexible version but ApiVersions v3, whose response keeps header v0).
 *
 * DESIGN
 *
 * Threads. One libuv loop thread does all socket I/O, timers and
 * bookkeeping; nothing on it blocks. Handlers run on libuv's thread pool
 * (uv_queue_work; UV_THREADPOOL_SIZE threads, 4 by default, shared by the
 * process). That pool is enough because no handler waits for another
 * request: a Fetch that needs more data returns RV__KAPI_WAIT and gives
 * its worker back, a JoinGroup or SyncGroup that waits for other members
 * returns RV__KAPI_PENDING, so a worker is only held by disk work (an
 * append, an fsync for acks=all, a read). after_work callbacks run on the
 * loop thread, which keeps every connection's state single-threaded.
 *
 * Connections. Bytes are read into conn->in; complete frames are parsed
 * (rv__kreq_parse copies each) and queued on the connection. A size below
 * 8 or above socket.request.max.bytes, or a header the parser rejects,
 * closes that connection only. One request per connection is "in service"
 * at a time (conn->head), from the start of its handler until its response
 * has been handed to the socket, so responses leave in request order, as
 * Kafka's muted channels do.
 *
 * Back-pressure. A queued request costs more than its frame (the job, the
 * request, the frame's copy, arena chunks), so each counts its frame plus
 * REQUEST_OVERHEAD, and at most MAX_QUEUED requests wait behind the head
 * (Kafka reads no further request from a muted channel at all). When the
 * queue is full, frames stay unparsed in conn->in and the connection is
 * not read (TCP pushes back on the client); reading resumes, after the
 * frames already read are queued, once the queue is down to RESUME_QUEUED
 * requests and RESUME_BYTES. So a client that parks its head (a long-poll
 * Fetch) and pipelines tiny requests behind it holds a bounded amount of
 * the broker's memory, not one allocation set per frame it sent.
 *
 * The head's life: RUNNING (on a worker) -> by the handler's status:
 * DONE -> WRITING (uv_write of size, correlation id and body) -> freed, the
 * next request starts; NO_RESPONSE -> freed; CLOSE -> the connection
 * closes; PENDING -> parked until rv__kreq_complete() (any thread) puts it
 * on the server's done list (g_done_lock) and wakes the loop with
 * uv_async_send; WAIT -> WAITING, parked until the deadline
 * (received_ms + wait_ms, the connection's timer) or an append to the
 * broker, then RUNNING again (with wait_expired on the deadline run).
 * A completion may arrive before after_work has seen PENDING; `completed`
 * (under g_done_lock) tells after_work to answer at once.
 *
 * Wake-ups. The broker append hook only bumps s->append_seq, sets the
 * partition's bit in s->appended (rv__kwake_bit) and calls uv_async_send.
 * The loop compares the sequence with the value it saw last, takes the
 * bits (clearing them) and re-runs the WAITING heads whose partitions
 * (req->wake_bits, set by the Fetch handler) have a bit in them, or every
 * one that named none. A head records the sequence before it runs; if the
 * sequence moved while its handler ran, WAIT re-runs it at once, so an
 * append racing with the handler's read is never missed. Two partitions
 * may share a bit: a re-run that still finds too little data waits again.
 *
 * Lifetimes. A connection counts references: its two handles (socket,
 * timer) and its head. It is freed when all are gone, so a worker or a
 * write in flight never sees freed memory. A PENDING head whose
 * connection closes is "orphaned" under g_done_lock: the completion, which
 * the group coordinator delivers later (at the latest when the broker
 * closes), then frees it without touching the server, which may be gone.
 * g_done_lock is global so it outlives any server. A request borrows
 * its connection's address (req->client_host); an orphaned one is pointed
 * at a static "/?" instead, and its ctx points into the server, so a
 * handler's completion must read neither (none does: they only encode the
 * result into req->resp; the group coordinator copies the address while
 * the handler runs).
 *
 * Stop. rv__kserver_stop() removes the append hook, then asks the loop to
 * stop: the listener closes, queued requests are dropped, a WAITING head
 * re-runs at once as expired (so the Fetch answers with what it has), other
 * heads finish and are answered, then each connection closes; after
 * RV__KSERVER_STOP_WAIT_MS the remaining connections are closed anyway.
 * When the last connection is freed the loop's own handles close and
 * uv_run returns. */
#include "broker/kafka/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "broker/kafka/api.h"
#include "broker/producer_state.h"
#include "broker/topics.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/errstr.h"
#include "common/fileio.h"
#include "common/logger.h"

/* Read granularity, and the queue sizes that pause and resume reading. */
#define READ_CHUNK 65536
#define PAUSE_BYTES (4u << 20)
#define RESUME_BYTES (1u << 20)
#define MAX_QUEUED 64
#define RESUME_QUEUED 32
/* What a queued request costs besides its frame: the job, the request and
 * the arena chunk its header strings may take (proto.c's ARENA_CHUNK). */
#define REQUEST_OVERHEAD (sizeof(job_t) + sizeof(rv__kreq_t) + 4096)
/* An idle connection's input buffer is given back above this size. */
#define KEEP_IN_BYTES (1u << 20)

typedef enum job_state_e {
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_PENDING,
    JOB_WAITING,
    JOB_WRITING
} job_state_t;

typedef struct conn_s conn_t;
typedef struct job_s job_t;

struct job_s {
    uv_work_t work;
    uv_write_t wreq;
    conn_t *c; /* NULL once orphaned */
    rv__kreq_t *req;
    size_t frame_len;
    rv__kapi_status_t st;
    job_state_t state;
    uint64_t seq;   /* s->append_seq before the last run */
    bool completed; /* PENDING answered (under g_done_lock) */
    bool orphaned;  /* the connection is gone (under g_done_lock) */
    uint8_t hdr[8]; /* response size and correlation id */
    job_t *next;    /* the connection's queue or the server's done list */
};

struct conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    rv__kserver_t *s;
    char peer[INET6_ADDRSTRLEN + 16]; /* "127.0.0.1:53412", for logs */
    char host[INET6_ADDRSTRLEN + 2];  /* "/127.0.0.1", as Kafka shows clients */
    rv__buf_t in;                     /* bytes read, not yet framed */
    job_t *head;                      /* in service */
    job_t *qhead, *qtail;             /* received, not started */
    size_t queued_bytes;              /* frames + REQUEST_OVERHEAD each */
    int nqueued;
    int refs;
    bool reading, closing;
    conn_t *prev, *next;
};

struct rv__kserver_s {
    rv_broker_t *broker; /* borrowed */
    rv__kctx_t ctx;
    char *advertised_host, *cluster_id; /* owned; ctx points at them */
    char address[300];
    int32_t max_request_bytes;
    int port;
    int hook_id;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t async;
    uv_timer_t stop_timer;
    uv_thread_t thread;
    atomic_uint_fast64_t append_seq;
    atomic_uint_fast64_t
        appended[RV__KWAKE_WORDS]; /* partitions appended to since the loop looked */
    atomic_long wakeups;           /* rv__kserver_wakeups() */
    atomic_bool stop_requested;
    atomic_int queued_peak; /* rv__kserver_queued_peak() */
    /* Loop thread only. */
    uint64_t seen_seq;
    bool stopping, finished;
    conn_t *conns;
    int nconns;
    /* Under g_done_lock. */
    job_t *done_head, *done_tail;
};

static pthread_mutex_t g_done_lock = PTHREAD_MUTEX_INITIALIZER;

/* The address an orphaned request is left with: its connection's is gone. */
static const char ORPHAN_HOST[] = "/?";

static void conn_close(conn_t *c, const char *reason);
static void start_next(conn_t *c);
static void run_job(job_t *job);
static void maybe_finish(rv__kserver_t *s);

static void job_free(job_t *job) {
    rv__kreq_free(job->req);
    free(job);
}

/* ---- connection lifetime ---- */

static void conn_unref(conn_t *c) {
    if (--c->refs > 0)
        return;
    rv__kserver_t *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    rv__buf_free(&c->in);
    free(c);
    maybe_finish(s);
}

static void on_conn_handle_closed(uv_handle_t *h) {
    conn_unref(h->data);
}

/* The head is done (answered, dropped or failed): frees it and starts the
 * next request. Loop thread. */
static void job_finish(conn_t *c, job_t *job) {
    rv_assert(c->head == job);
    job_free(job);
    c->head = NULL;
    if (!c->closing) {
        if (c->s->stopping)
            conn_close(c, "broker shutting down");
        else
            start_next(c);
    }
    conn_unref(c);
}

static void drop_queued(conn_t *c) {
    while (c->qhead) {
        job_t *j = c->qhead;
        c->qhead = j->next;
        job_free(j);
    }
    c->qtail = NULL;
    c->queued_bytes = 0;
    c->nqueued = 0;
}

/* Closes a connection (idempotent). A head on a worker or being written
 * finishes through its callback; a waiting one is freed here; a pending
 * one is orphaned. Loop thread. */
static void conn_close(conn_t *c, const char *reason) {
    if (c->closing)
        return;
    c->closing = true;
    rv__log_info("KAFKA", "Closed connection from %s (%s)", c->peer, reason);
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    drop_queued(c);
    job_t *job = c->head;
    if (job && job->state == JOB_WAITING) {
        uv_timer_stop(&c->timer);
        job_finish(c, job);
    } else if (job && job->state == JOB_PENDING) {
        bool orphan = false;
        pthread_mutex_lock(&g_done_lock);
        if (!job->completed) {
            /* The completion frees it; until then nobody may touch c. */
            job->orphaned = true;
            job->c = NULL;
            job->req->client_host = ORPHAN_HOST;
            orphan = true;
        }
        pthread_mutex_unlock(&g_done_lock);
        if (orphan) {
            c->head = NULL;
            conn_unref(c);
        }
        /* else it is on the done list, which finishes it. */
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* ---- responses ---- */

static void on_write(uv_write_t *w, int status) {
    job_t *job = w->data;
    conn_t *c = job->c;
    if (status < 0 && !c->closing)
        conn_close(c, uv_strerror(status));
    job_finish(c, job);
}

/* Writes the head's response: int32 size, int32 correlation id, body. */
static void send_response(job_t *job) {
    conn_t *c = job->c;
    rv__kreq_t *req = job->req;
    if (req->resp.err || req->resp.b.len > (size_t)INT32_MAX - 4) {
        conn_close(c, "out of memory building a response");
        job_finish(c, job);
        return;
    }
    rv__wbe32(job->hdr, (uint32_t)(req->resp.b.len + 4));
    rv__wbe32(job->hdr + 4, (uint32_t)req->correlation_id);
    uv_buf_t bufs[2] = {uv_buf_init((char *)job->hdr, sizeof job->hdr),
                        uv_buf_init((char *)req->resp.b.data, (unsigned)req->resp.b.len)};
    job->state = JOB_WRITING;
    job->wreq.data = job;
    int rc = uv_write(&job->wreq, (uv_stream_t *)&c->tcp, bufs, req->resp.b.len ? 2 : 1, on_write);
    if (rc < 0) {
        conn_close(c, uv_strerror(rc));
        job_finish(c, job);
    }
}

/* ---- running handlers ---- */

static void on_wait_timer(uv_timer_t *t) {
    conn_t *c = t->data;
    job_t *job = c->head;
    if (job && job->state == JOB_WAITING && !c->closing) {
        job->req->wait_expired = true;
        run_job(job);
    }
}

/* The handler asked to wait: park until the deadline or an append. */
static void job_wait(job_t *job) {
    conn_t *c = job->c;
    rv__kserver_t *s = c->s;
    int64_t left = job->req->received_ms + job->req->wait_ms - rv__mono_ms();
    if (s->stopping || left <= 0) {
        job->req->wait_expired = true;
        run_job(job);
    } else if (atomic_load(&s->append_seq) != job->seq) {
        run_job(job); /* an append raced with the handler's read */
    } else {
        job->state = JOB_WAITING;
        uv_timer_start(&c->timer, on_wait_timer, (uint64_t)left, 0);
    }
}

static void work_cb(uv_work_t *w) {
    job_t *job = w->data;
    job->st = rv__kapi_run(job->req);
}

static void after_work_cb(uv_work_t *w, int status) {
    job_t *job = w->data;
    conn_t *c = job->c;
    if (status < 0) {
        job_finish(c, job);
        return;
    }
    if (job->st == RV__KAPI_PENDING) {
        /* Whoever holds the request will complete it, even if the
         * connection closed meanwhile. */
        bool done, orphan = false;
        pthread_mutex_lock(&g_done_lock);
        done = job->completed;
        if (!done && c->closing) {
            job->orphaned = true;
            job->c = NULL;
            job->req->client_host = ORPHAN_HOST;
            orphan = true;
        } else if (!done) {
            job->state = JOB_PENDING;
        }
        pthread_mutex_unlock(&g_done_lock);
        if (orphan) {
            c->head = NULL;
            conn_unref(c);
        } else if (done && c->closing) {
            job_finish(c, job);
        } else if (done) {
            send_response(job);
        }
        return;
    }
    if (c->closing) {
        job_finish(c, job);
        return;
    }
    switch (job->st) {
    case RV__KAPI_DONE:
        send_response(job);
        break;
    case RV__KAPI_NO_RESPONSE:
        job_finish(c, job);
        break;
    case RV__KAPI_WAIT:
        if (job->req->wait_expired) {
            rv__log_warn("KAFKA", "Closing connection from %s: API %d did not answer its last run",
                         c->peer, (int)job->req->api_key);
            conn_close(c, "handler error");
            job_finish(c, job);
            break;
        }
        job_wait(job);
        break;
    case RV__KAPI_CLOSE:
    default:
        conn_close(c, "request refused");
        job_finish(c, job);
        break;
    }
}

static void run_job(job_t *job) {
    conn_t *c = job->c;
    job->state = JOB_RUNNING;
    job->seq = atomic_load(&c->s->append_seq);
    job->work.data = job;
    int rc = uv_queue_work(&c->s->loop, &job->work, work_cb, after_work_cb);
    if (rc < 0) {
        conn_close(c, uv_strerror(rc));
        job_finish(c, job);
    }
}

/* Called by rv__kreq_complete() on any thread for a PENDING request. */
static void on_complete(rv__kreq_t *req) {
    job_t *job = req->runner_opaque;
    pthread_mutex_lock(&g_done_lock);
    job->completed = true;
    if (job->orphaned) {
        pthread_mutex_unlock(&g_done_lock);
        job_free(job);
        return;
    }
    if (job->state == JOB_PENDING) {
        rv__kserver_t *s = job->c->s;
        job->next = NULL;
        if (s->done_tail)
            s->done_tail->next = job;
        else
            s->done_head = job;
        s->done_tail = job;
        uv_async_send(&s->async);
    }
    /* else after_work has not run yet and answers it itself. */
    pthread_mutex_unlock(&g_done_lock);
}

static void resume_reading(conn_t *c);

static void start_next(conn_t *c) {
    if (c->closing || c->head || c->s->stopping)
        return;
    if (!c->qhead)
        resume_reading(c); /* queues the frames read while paused */
    if (c->closing || !c->qhead)
        return;
    job_t *job = c->qhead;
    c->qhead = job->next;
    if (!c->qhead)
        c->qtail = NULL;
    job->next = NULL;
    c->queued_bytes -= job->frame_len + REQUEST_OVERHEAD;
    c->nqueued--;
    c->head = job;
    c->refs++;
    resume_reading(c);
    if (c->closing) { /* a frame read earlier was refused */
        job_finish(c, job);
        return;
    }
    run_job(job);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    conn_t *c = h->data;
    size_t need = READ_CHUNK;
    if (c->in.len >= 4) {
        /* A frame's size is known (and was checked): room for all of it. */
        size_t frame = 4 + (size_t)rv__be32(c->in.data);
        if (frame > c->in.len && frame - c->in.len > need)
            need = frame - c->in.len;
    }
    if (rv__buf_reserve(&c->in, need)) {
        *buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static bool queue_full(const conn_t *c) {
    return c->nqueued >= MAX_QUEUED || c->queued_bytes > PAUSE_BYTES;
}

/* Queues the complete frames of conn->in until the queue is full; the
 * rest stay in conn->in. Returns false when a frame closed the
 * connection. Loop thread. */
static bool queue_frames(conn_t *c) {
    rv__kserver_t *s = c->s;
    size_t pos = 0;
    bool ok = true;
    while (c->in.len - pos >= 4 && !queue_full(c)) {
        int32_t size = (int32_t)rv__be32(c->in.data + pos);
        if (size < 8 || size > s->max_request_bytes) {
            char why[128];
            snprintf(why, sizeof why,
                     "request size %d out of range 8 to %d (socket.request.max.bytes)", size,
                     s->max_request_bytes);
            conn_close(c, why);
            ok = false;
            break;
        }
        if (c->in.len - pos - 4 < (size_t)size)
            break;
        /* The request borrows c->host: see "Lifetimes" for orphans. */
        rv__kreq_t *req = rv__kreq_parse(&s->ctx, c->in.data + pos + 4, (size_t)size, c->host);
        job_t *job = req ? calloc(1, sizeof *job) : NULL;
        if (!job) {
            conn_close(c, req ? "out of memory" : "malformed request header");
            rv__kreq_free(req);
            ok = false;
            break;
        }
        job->req = req;
        job->c = c;
        job->frame_len = (size_t)size;
        job->state = JOB_QUEUED;
        req->on_complete = on_complete;
        req->runner_opaque = job;
        if (c->qtail)
            c->qtail->next = job;
        else
            c->qhead = job;
        c->qtail = job;
        c->queued_bytes += (size_t)size + REQUEST_OVERHEAD;
        c->nqueued++;
        if (c->nqueued > atomic_load_explicit(&s->queued_peak, memory_order_relaxed))
            atomic_store_explicit(&s->queued_peak, c->nqueued, memory_order_relaxed);
        pos += 4 + (size_t)size;
    }
    if (!ok) {
        c->in.len = 0;
        return false;
    }
    if (pos) {
        memmove(c->in.data, c->in.data + pos, c->in.len - pos);
        c->in.len -= pos;
    }
    if (c->in.len == 0 && c->in.cap > KEEP_IN_BYTES)
        rv__buf_free(&c->in);
    return true;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    conn_t *c = stream->data;
    if (nread < 0) {
        conn_close(c, nread == UV_EOF ? "closed by the client" : uv_strerror((int)nread));
        return;
    }
    c->in.len += (size_t)nread;
    if (!queue_frames(c))
        return;
    if (queue_full(c) && c->reading) {
        rv__log_debug("KAFKA", "Pausing reads from %s: %d requests (%zu bytes) queued", c->peer,
                      c->nqueued, c->queued_bytes);
        uv_read_stop(stream);
        c->reading = false;
    }
    start_next(c);
}

/* Starts reading again once the queue has drained enough, after queuing
 * the frames already read. Loop thread. */
static void resume_reading(conn_t *c) {
    if (c->reading || c->closing || c->s->stopping || c->queued_bytes > RESUME_BYTES ||
        c->nqueued > RESUME_QUEUED)
        return;
    if (!queue_frames(c) || queue_full(c))
        return;
    if (c->nqueued)
        rv__log_debug("KAFKA", "Resuming reads from %s: %d requests (%zu bytes) queued", c->peer,
                      c->nqueued, c->queued_bytes);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

/* ---- accepting ---- */

static void on_connection(uv_stream_t *server, int status) {
    rv__kserver_t *s = server->data;
    if (status < 0) {
        rv__log_warn("KAFKA", "Accepting a connection failed: %s", uv_strerror(status));
        return;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        rv__log_warn("KAFKA", "Out of memory accepting a connection");
        return;
    }
    c->s = s;
    rv__buf_init(&c->in);
    uv_tcp_init(&s->loop, &c->tcp);
    uv_timer_init(&s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->refs = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    snprintf(c->peer, sizeof c->peer, "?");
    snprintf(c->host, sizeof c->host, "/?");
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc < 0) {
        conn_close(c, uv_strerror(rc));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            uv_ip4_name(a, ip, sizeof ip);
            port = ntohs(a->sin_port);
            snprintf(c->peer, sizeof c->peer, "%s:%d", ip, port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, ip, sizeof ip);
            port = ntohs(a->sin6_port);
            snprintf(c->peer, sizeof c->peer, "[%s]:%d", ip, port);
        }
        snprintf(c->host, sizeof c->host, "/%s", ip);
    }
    rv__log_info("KAFKA", "Accepted connection from %s", c->peer);
    if (s->stopping) {
        conn_close(c, "broker shutting down");
        return;
    }
    resume_reading(c);
}

/* ---- loop-level events ---- */

static void on_stop_timer(uv_timer_t *t) {
    rv__kserver_t *s = t->data;
    for (conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c, "broker shutting down; request not finished in time");
    }
}

static void begin_stop(rv__kserver_t *s) {
    s->stopping = true;
    uv_close((uv_handle_t *)&s->listener, NULL);
    for (conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (c->reading)
            uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        drop_queued(c);
        if (!c->head) {
            conn_close(c, "broker shutting down");
        } else if (c->head->state == JOB_WAITING) {
            uv_timer_stop(&c->timer);
            c->head->req->wait_expired = true;
            run_job(c->head);
        }
    }
    uv_timer_start(&s->stop_timer, on_stop_timer, RV__KSERVER_STOP_WAIT_MS, 0);
    maybe_finish(s);
}

static void maybe_finish(rv__kserver_t *s) {
    if (!s->stopping || s->nconns > 0 || s->finished)
        return;
    s->finished = true;
    uv_close((uv_handle_t *)&s->async, NULL);
    uv_close((uv_handle_t *)&s->stop_timer, NULL);
}

static void on_async(uv_async_t *a) {
    rv__kserver_t *s = a->data;
    pthread_mutex_lock(&g_done_lock);
    job_t *done = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&g_done_lock);
    while (done) {
        job_t *job = done;
        done = job->next;
        job->next = NULL;
        if (job->c->closing)
            job_finish(job->c, job);
        else
            send_response(job);
    }
    if (s->finished)
        return;
    uint64_t seq = atomic_load(&s->append_seq);
    if (seq != s->seen_seq) {
        s->seen_seq = seq;
        uint64_t bits[RV__KWAKE_WORDS];
        for (int i = 0; i < RV__KWAKE_WORDS; i++)
            bits[i] = atomic_exchange(&s->appended[i], 0);
        for (conn_t *c = s->conns; c; c = c->next) {
            if (c->closing || !c->head || c->head->state != JOB_WAITING)
                continue;
            const rv__kreq_t *req = c->head->req;
            bool hit = !req->wake_set;
            for (int i = 0; !hit && i < RV__KWAKE_WORDS; i++)
                hit = (bits[i] & req->wake_bits[i]) != 0;
            if (hit) {
                atomic_fetch_add_explicit(&s->wakeups, 1, memory_order_relaxed);
                uv_timer_stop(&c->timer);
                run_job(c->head);
            }
        }
    }
    if (atomic_load(&s->stop_requested) && !s->stopping)
        begin_stop(s);
}

/* The broker's append hook: any appending thread, under the hook lock. */
static void on_append(const char *topic, int32_t partition, void *opaque) {
    rv__kserver_t *s = opaque;
    unsigned bit = rv__kwake_bit(topic, partition);
    atomic_fetch_or(&s->appended[bit / 64], (uint_fast64_t)1 << (bit % 64));
    atomic_fetch_add(&s->append_seq, 1);
    uv_async_send(&s->async);
}

static void loop_thread(void *arg) {
    rv__kserver_t *s = arg;
    /* A write to a connection whose client has gone fails with EPIPE, and
     * the kernel also raises SIGPIPE, whose default action ends the whole
     * process the broker runs in. libuv writes with writev(), which has no
     * MSG_NOSIGNAL, so the signal is blocked on this thread, the only one
     * that writes to the sockets: it stays pending here, never delivered,
     * and the application's own disposition of SIGPIPE is left alone. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
}

/* ---- public ---- */

void rv__kserver_config_default(rv__kserver_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->listen_host = "127.0.0.1";
    cfg->listen_port = 9092;
    cfg->node_id = 1;
    cfg->auto_create_topics = true;
    cfg->num_partitions = 1;
    cfg->max_request_bytes = 104857600;
    cfg->fetch_max_bytes = 57671680;
}

static bool is_wildcard(const char *host) {
    return !*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
}

static void free_server(rv__kserver_t *s) {
    free(s->advertised_host);
    free(s->cluster_id);
    free(s);
}

/* Closes the loop's handles after a failed start and frees. */
static void abort_start(rv__kserver_t *s, bool listener, bool async) {
    if (listener)
        uv_close((uv_handle_t *)&s->listener, NULL);
    if (async) {
        uv_close((uv_handle_t *)&s->async, NULL);
        uv_close((uv_handle_t *)&s->stop_timer, NULL);
    }
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    free_server(s);
}

rv_err_t rv__kserver_start(rv__kserver_t **out, rv_broker_t *broker,
                           const rv__kserver_config_t *cfg, char *errstr, size_t errstr_size) {
    *out = NULL;
    if (!broker || !cfg || !cfg->listen_host || cfg->listen_port < 0 || cfg->listen_port > 65535 ||
        cfg->advertised_port < 0 || cfg->advertised_port > 65535 || cfg->max_request_bytes < 8 ||
        cfg->num_partitions < 1) {
        rv__errstr_set(errstr, errstr_size, "Invalid server configuration");
        return RV_ERR__INVALID_ARG;
    }
    rv__kserver_t *s = calloc(1, sizeof *s);
    if (!s) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    s->broker = broker;
    s->max_request_bytes = cfg->max_request_bytes;
    s->hook_id = -1;
    atomic_init(&s->append_seq, 0);
    for (int i = 0; i < RV__KWAKE_WORDS; i++)
        atomic_init(&s->appended[i], 0);
    atomic_init(&s->wakeups, 0);
    atomic_init(&s->stop_requested, false);
    int rc = uv_loop_init(&s->loop);
    if (rc < 0) {
        rv__errstr_set(errstr, errstr_size, "Cannot start the network loop: %s", uv_strerror(rc));
        free(s);
        return RV_ERR__FAIL;
    }

    /* Resolve and bind in the caller's thread so errors come back here. */
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai =
        getaddrinfo(is_wildcard(cfg->listen_host) && !*cfg->listen_host ? NULL : cfg->listen_host,
                    NULL, &hints, &ai);
    if (gai != 0 || !ai) {
        rv__errstr_set(errstr, errstr_size, "Cannot resolve listener host %s: %s", cfg->listen_host,
                       gai_strerror(gai));
        abort_start(s, false, false);
        return RV_ERR__INVALID_ARG;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)cfg->listen_port);
    else
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)cfg->listen_port);
    uv_tcp_init(&s->loop, &s->listener);
    s->listener.data = s;
    rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc < 0) {
        rv__errstr_set(errstr, errstr_size, "Cannot listen on %s:%d: %s", cfg->listen_host,
                       cfg->listen_port, uv_strerror(rc));
        abort_start(s, true, false);
        return RV_ERR__IO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    uv_async_init(&s->loop, &s->async, on_async);
    s->async.data = s;
    uv_timer_init(&s->loop, &s->stop_timer);
    s->stop_timer.data = s;

    /* What the handlers see. */
    char hostname[256];
    const char *adv = cfg->advertised_host;
    if (!adv || !*adv) {
        adv = cfg->listen_host;
        if (is_wildcard(adv)) {
            if (gethostname(hostname, sizeof hostname) != 0)
                snprintf(hostname, sizeof hostname, "localhost");
            hostname[sizeof hostname - 1] = '\0';
            adv = hostname;
        }
    }
    s->advertised_host = strdup(adv);
    s->cluster_id = strdup(cfg->cluster_id ? cfg->cluster_id : RV__KSERVER_DEFAULT_CLUSTER_ID);
    if (!s->advertised_host || !s->cluster_id) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        abort_start(s, true, true);
        return RV_ERR__NOMEM;
    }
    s->ctx.broker = broker;
    s->ctx.node_id = cfg->node_id;
    s->ctx.advertised_host = s->advertised_host;
    s->ctx.advertised_port = cfg->advertised_port ? cfg->advertised_port : s->port;
    s->ctx.cluster_id = s->cluster_id;
    s->ctx.auto_create_topics = cfg->auto_create_topics;
    s->ctx.num_partitions = cfg->num_partitions;
    s->ctx.fetch_max_bytes = cfg->fetch_max_bytes;
    snprintf(s->address, sizeof s->address, strchr(adv, ':') ? "[%s]:%d" : "%s:%d", adv,
             (int)s->ctx.advertised_port);

    s->hook_id = rv__broker_add_append_hook(broker, on_append, s);
    if (s->hook_id < 0) {
        rv__errstr_set(errstr, errstr_size,
                       "Cannot register with the broker: too many servers on one data folder");
        abort_start(s, true, true);
        return RV_ERR__STATE;
    }
    rc = uv_thread_create(&s->thread, loop_thread, s);
    if (rc < 0) {
        rv__broker_remove_append_hook(broker, s->hook_id);
        rv__errstr_set(errstr, errstr_size, "Cannot start the network thread: %s", uv_strerror(rc));
        abort_start(s, true, true);
        return RV_ERR__FAIL;
    }
    rv__log_info("KAFKA", "Listening on %s:%d (advertised as %s, node %d)", cfg->listen_host,
                 s->port, s->address, (int)cfg->node_id);
    *out = s;
    return RV_ERR_NO_ERROR;
}

int rv__kserver_port(const rv__kserver_t *s) {
    return s->port;
}

int rv__kserver_queued_peak(const rv__kserver_t *s) {
    return atomic_load_explicit(&s->queued_peak, memory_order_relaxed);
}

long rv__kserver_wakeups(const rv__kserver_t *s) {
    return atomic_load_explicit(&s->wakeups, memory_order_relaxed);
}

const char *rv__kserver_address(const rv__kserver_t *s) {
    return s->address;
}

void rv__kserver_stop(rv__kserver_t *s) {
    if (!s)
        return;
    /* No append hook may run once the loop's handles are closed. */
    rv__broker_remove_append_hook(s->broker, s->hook_id);
    atomic_store(&s->stop_requested, true);
    uv_async_send(&s->async);
    uv_thread_join(&s->thread);
    if (uv_loop_close(&s->loop) != 0)
        rv__log_warn("KAFKA", "Network loop of %s closed with handles still open", s->address);
    rv__log_info("KAFKA", "Stopped listening on port %d (advertised as %s)", s->port, s->address);
    free_server(s);
}

/* ---- cluster id ---- */

/* The value of `key` in Java properties text (simple lines only). */
static bool props_get(const char *text, size_t len, const char *key, char *out, size_t out_size) {
    size_t klen = strlen(key);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(eol - p) > klen && !memcmp(p, key, klen)) {
            const char *v = p + klen;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            if (v < eol && (*v == '=' || *v == ':')) {
                v++;
                while (v < eol && (*v == ' ' || *v == '\t'))
                    v++;
                const char *ve = eol;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                    ve--;
                if ((size_t)(ve - v) >= out_size)
                    return false;
                memcpy(out, v, (size_t)(ve - v));
                out[ve - v] = '\0';
                return true;
            }
        }
        p = eol + 1;
    }
    return false;
}

static int random_bytes(uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

rv_err_t rv__kserver_cluster_id(const char *data_dir, char *out, size_t out_size, char *errstr,
                                size_t errstr_size) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/meta.properties", data_dir) >= sizeof path) {
        rv__errstr_set(errstr, errstr_size, "Data folder path too long");
        return RV_ERR__INVALID_ARG;
    }
    rv__buf_t b = RV__BUF_INIT;
    rv_err_t err = rv__io_read_file(path, &b, errstr, errstr_size);
    if (!err) {
        bool ok = props_get((const char *)b.data, b.len, "cluster.id", out, out_size) && *out;
        rv__buf_free(&b);
        if (!ok) {
            rv__errstr_set(errstr, errstr_size, "%s has no cluster.id", path);
            return RV_ERR__INVALID_ARG;
        }
        return RV_ERR_NO_ERROR;
    }
    rv__buf_free(&b);
    if (err != RV_ERR__NOENT)
        return err;
    /* A new id as Kafka's Uuid.randomUuid(): a version 4 UUID, never one
     * whose text starts with '-' (it would read as a command-line flag). */
    char id[23];
    do {
        uint8_t raw[16];
        if (random_bytes(raw, sizeof raw)) {
            rv__errstr_set(errstr, errstr_size, "Cannot get random bytes: %s", strerror(errno));
            return RV_ERR__IO;
        }
        raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x40);
        raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80);
        rv__topic_id_to_str(raw, id);
    } while (id[0] == '-');
    if (strlen(id) >= out_size) {
        rv__errstr_set(errstr, errstr_size, "Cluster id buffer too small");
        return RV_ERR__INVALID_ARG;
    }
    char text[256];
    int n = snprintf(text, sizeof text,
                     "#\n# The cluster this data folder belongs to (written on first start).\n"
                     "cluster.id=%s\nversion=1\n",
                     id);
    err = rv__io_write_file_atomic(path, text, (size_t)n, errstr, errstr_size);
    if (err)
        return err;
    memcpy(out, id, strlen(id) + 1);
    return RV_ERR_NO_ERROR;
}
