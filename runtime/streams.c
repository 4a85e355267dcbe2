/* runtime/streams.c: the running stream application (rivulet/streams.h),
 * Kafka Streams' KafkaStreams: the state machine, the setup that start()
 * does before any thread runs, and the bookkeeping the stream threads
 * (runtime/stream_thread.c) report to.
 *
 * DESIGN
 *
 * Setup, in rv_streams_start(), through the admin client only (so it runs
 * unchanged on the embedded and the kafka backend):
 *   1. Every source of every sub-topology is resolved to broker topic
 *      names: static topics (internal ones prefixed "<application.id>-"),
 *      and for pattern sources the existing topics matching the pattern.
 *      The result is the routing table topic -> sub-topology, which is
 *      also the consumer subscription. As Kafka's consumer re-matches a
 *      pattern at each metadata refresh, the stream threads call
 *      rv__streams_refresh_patterns() in their loop: every
 *      metadata.max.age.ms it lists the topics again, publishes a new
 *      table with the new matches, and each thread subscribes to it
 *      (a rebalance hands out the new partitions).
 *   2. Partition counts: a sub-topology's count is the common count of
 *      its external source topics; different counts there fail with
 *      Kafka's "Topics not co-partitioned" message naming every topic and
 *      its count. A repartition topic gets the count of the sub-topology
 *      reading it when that one has external sources (Kafka's
 *      CopartitionedTopicsEnforcer), else the count of the sub-topology
 *      writing it; the counts propagate until nothing changes. An existing
 *      internal topic keeps its count.
 *   3. Missing internal topics are created: repartition topics with
 *      Kafka's configs (cleanup.policy=delete, segment.bytes=52428800,
 *      retention.ms=-1), changelogs "<application.id>-<store>-changelog"
 *      with cleanup.policy=compact plus the builder's logging configs and
 *      the sub-topology's partition count. TOPIC_ALREADY_EXISTS is fine.
 *
 * State: one atomic value, changed only by rv__streams_transition() under
 * trans_lock, which also calls the listener, so listeners see transitions
 * in order and each exactly once. Threads report their own progress;
 * rv__streams_thread_changed() derives RUNNING (every live thread has its
 * tasks ready) or REBALANCING (some thread is starting or rebalancing),
 * as KafkaStreams' StreamStateListener does. A failed thread asks the
 * uncaught error handler; SHUTDOWN_* moves the app to PENDING_ERROR and
 * stops the other threads, and the last thread out moves it to ERROR.
 *
 * Global stores (runtime/global_thread.c). With a global store the app
 * has one global stream thread besides the stream threads. start() starts
 * it first and waits until it bootstrapped the global stores (as Kafka's
 * start() blocks in GlobalStreamThread.start()); only then do the stream
 * threads start, so a stream task never sees a half-filled global store.
 * The global topics are not routed to the stream threads (and take no
 * part in co-partitioning); a topology of global stores only runs no
 * stream thread at all (Kafka overrides num.stream.threads to 0). The app
 * is RUNNING when the global thread and every stream thread are.
 * Shutdown order is Kafka's: the stream threads first (they read the
 * global stores), then the global thread, which flushes its stores and
 * writes its checkpoint. When a stream thread failure stops the client
 * the last stream thread out stops the global thread; when the global
 * thread fails it stops the stream threads and closes its stores once
 * they returned. s->alive counts stream threads, s->global_alive the
 * global one; the app reaches ERROR when neither is left. */
#include <regex.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errstr.h"
#include "common/logger.h"
#include "rivulet/admin.h"
#include "rivulet/store.h"
#include "rivulet/streams.h"
#include "runtime/streams_internal.h"
#include "runtime/topology_internal.h"

#define FAC "STREAMS"

static const char *const state_names[] = {
    "CREATED",     "REBALANCING",   "RUNNING", "PENDING_SHUTDOWN",
    "NOT_RUNNING", "PENDING_ERROR", "ERROR"};

const char *rv_streams_state_name(rv_streams_state_t state) {
    if ((int)state < 0 || (size_t)state >= sizeof state_names / sizeof *state_names)
        return "UNKNOWN";
    return state_names[state];
}

/* KafkaStreams.State.isValidTransition(). */
static bool valid_transition(rv_streams_state_t from, rv_streams_state_t to) {
    switch (from) {
    case RV_STREAMS_CREATED:
        return to == RV_STREAMS_REBALANCING || to == RV_STREAMS_PENDING_SHUTDOWN;
    case RV_STREAMS_REBALANCING:
        return to == RV_STREAMS_RUNNING || to == RV_STREAMS_PENDING_SHUTDOWN ||
               to == RV_STREAMS_PENDING_ERROR;
    case RV_STREAMS_RUNNING:
        return to == RV_STREAMS_REBALANCING || to == RV_STREAMS_PENDING_SHUTDOWN ||
               to == RV_STREAMS_PENDING_ERROR;
    case RV_STREAMS_PENDING_SHUTDOWN:
        return to == RV_STREAMS_NOT_RUNNING;
    case RV_STREAMS_PENDING_ERROR:
        return to == RV_STREAMS_ERROR;
    default:
        return false;
    }
}

bool rv__streams_transition(rv_streams_t *s, rv_streams_state_t to) {
    pthread_mutex_lock(&s->trans_lock);
    rv_streams_state_t from = (rv_streams_state_t)atomic_load(&s->state);
    bool ok = valid_transition(from, to);
    if (ok) {
        atomic_store(&s->state, (int)to);
        rv__log_info(FAC, "stream-client [%s] State transition from %s to %s", s->app_id,
                     rv_streams_state_name(from), rv_streams_state_name(to));
        if (s->state_cb)
            s->state_cb(to, from, s->state_opaque);
    }
    pthread_mutex_unlock(&s->trans_lock);
    return ok;
}

rv_streams_state_t rv_streams_state(const rv_streams_t *s) {
    return (rv_streams_state_t)atomic_load(&((rv_streams_t *)s)->state);
}

const char *rv_streams_last_error(const rv_streams_t *s) {
    return s->err;
}

void rv__streams_thread_changed(rv_streams_t *s) {
    /* The decision and the transition happen under trans_lock so two
     * threads reporting at once cannot apply a stale decision last. */
    pthread_mutex_lock(&s->trans_lock);
    rv_streams_state_t cur = (rv_streams_state_t)atomic_load(&s->state);
    if (cur != RV_STREAMS_RUNNING && cur != RV_STREAMS_REBALANCING) {
        pthread_mutex_unlock(&s->trans_lock);
        return;
    }
    bool all_running = true;
    pthread_mutex_lock(&s->lock); /* order: trans_lock, then lock */
    if (s->started_threads < s->thread_cnt)
        all_running = false; /* start() has not started them all yet */
    if (s->global && !rv__global_thread_running(s->global))
        all_running = false;
    for (int i = 0; i < s->started_threads; i++) {
        rv__stream_thread_t *th = s->threads[i];
        if (!rv__stream_thread_dead(th) && !rv__stream_thread_running(th))
            all_running = false;
    }
    pthread_mutex_unlock(&s->lock);
    rv_streams_state_t to = all_running ? RV_STREAMS_RUNNING : RV_STREAMS_REBALANCING;
    pthread_mutex_unlock(&s->trans_lock);
    /* trans_lock is not recursive; a concurrent report may slip in here,
     * and then decides again from the newer thread states itself. */
    if (to != cur)
        rv__streams_transition(s, to);
}

/* Frees rt and every older table. */
static void route_table_free(rv__route_table_t *rt) {
    while (rt) {
        rv__route_table_t *older = rt->older;
        for (size_t i = 0; i < rt->cnt; i++)
            free(rt->routes[i].topic);
        free(rt->routes);
        free(rt->subscription);
        free(rt);
        rt = older;
    }
}

const rv__route_table_t *rv__streams_routes(const rv_streams_t *s) {
    return atomic_load_explicit(&((rv_streams_t *)s)->rtab, memory_order_acquire);
}

int rv__streams_route(const rv_streams_t *s, const char *topic) {
    const rv__route_table_t *rt = rv__streams_routes(s);
    for (size_t i = 0; rt && i < rt->cnt; i++)
        if (!strcmp(rt->routes[i].topic, topic))
            return rt->routes[i].subtopology;
    return -1;
}

/* A table of `cnt` routes (topics copied), `older` chained. NULL when out
 * of memory. */
static rv__route_table_t *route_table_new(const rv__streams_route_t *routes, size_t cnt,
                                          rv__route_table_t *older) {
    rv__route_table_t *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->routes = calloc(cnt ? cnt : 1, sizeof *rt->routes);
    rt->subscription = calloc(cnt ? cnt : 1, sizeof *rt->subscription);
    if (!rt->routes || !rt->subscription) {
        free(rt->routes);
        free(rt->subscription);
        free(rt);
        return NULL;
    }
    for (size_t i = 0; i < cnt; i++) {
        rt->routes[i].subtopology = routes[i].subtopology;
        if (!(rt->routes[i].topic = strdup(routes[i].topic))) {
            rt->cnt = i;
            rt->older = NULL;
            route_table_free(rt);
            return NULL;
        }
        rt->subscription[i] = rt->routes[i].topic;
    }
    rt->cnt = cnt;
    rt->older = older;
    rt->version = older ? older->version + 1 : 1;
    return rt;
}

/* The admin client is thread-safe and lives until rv_streams_destroy():
 * its calls, which may wait for the network, run without the app lock,
 * so that close, state changes and the other threads never wait on them. */

static int32_t cached_partition_count(rv_streams_t *s, const char *topic) {
    for (size_t i = 0; i < s->pcount_cnt; i++)
        if (!strcmp(s->pcounts[i].topic, topic))
            return s->pcounts[i].count;
    return -1;
}

int32_t rv__streams_partition_count(rv_streams_t *s, const char *topic) {
    pthread_mutex_lock(&s->lock);
    int32_t n = cached_partition_count(s, topic);
    pthread_mutex_unlock(&s->lock);
    if (n >= 0 || !s->admin)
        return n;
    char errstr[512];
    rv_topic_description_t *d = NULL;
    if (rv_admin_describe_topic(s->admin, topic, &d, errstr, sizeof errstr))
        return -1;
    n = rv_topic_description_partition_count(d);
    rv_topic_description_destroy(d);
    pthread_mutex_lock(&s->lock);
    if (cached_partition_count(s, topic) < 0) { /* no other thread cached it meanwhile */
        rv__streams_pcount_t *nv = realloc(s->pcounts, (s->pcount_cnt + 1) * sizeof *nv);
        if (nv) {
            s->pcounts = nv;
            nv[s->pcount_cnt].topic = strdup(topic);
            nv[s->pcount_cnt].count = n;
            if (nv[s->pcount_cnt].topic)
                s->pcount_cnt++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

int64_t rv__streams_end_offset(rv_streams_t *s, const char *topic, int32_t partition, rv_err_t *err,
                               char *errstr, size_t errstr_size) {
    int64_t end = -1;
    rv_topic_description_t *d = NULL;
    if (!(*err = rv_admin_describe_topic(s->admin, topic, &d, errstr, errstr_size))) {
        if (partition < rv_topic_description_partition_count(d))
            end = rv_topic_description_end_offset(d, partition);
        if (end < 0) {
            rv__errstr_set(errstr, errstr_size, "Topic %s has no partition %d", topic,
                           (int)partition);
            *err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
        rv_topic_description_destroy(d);
    }
    return end;
}

rv_err_t rv__streams_topic_offsets(rv_streams_t *s, const char *topic, int32_t *count,
                                   int64_t **starts, int64_t **ends, char *errstr,
                                   size_t errstr_size) {
    *count = 0;
    *starts = *ends = NULL;
    rv_topic_description_t *d = NULL;
    rv_err_t err = rv_admin_describe_topic(s->admin, topic, &d, errstr, errstr_size);
    if (err)
        return err;
    int32_t n = rv_topic_description_partition_count(d);
    int64_t *a = calloc(n > 0 ? (size_t)n : 1, sizeof *a);
    int64_t *b = calloc(n > 0 ? (size_t)n : 1, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        rv_topic_description_destroy(d);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    for (int32_t i = 0; i < n; i++) {
        a[i] = rv_topic_description_log_start_offset(d, i);
        b[i] = rv_topic_description_end_offset(d, i);
    }
    rv_topic_description_destroy(d);
    *count = n;
    *starts = a;
    *ends = b;
    return 0;
}

/* The client stops on an error (Kafka's closeToError): the first message
 * is kept, the app moves to PENDING_ERROR and every stream thread stops,
 * cleanly (a final commit) unless it failed itself. The last thread out
 * moves it to ERROR. With `app` the threads also ask the group to shut
 * down every instance of the application on their way out. */
static void stop_to_error(rv_streams_t *s, const char *who, const char *message, bool app) {
    pthread_mutex_lock(&s->lock);
    if (!s->err[0])
        snprintf(s->err, sizeof s->err, "%s: %s", who, message);
    if (app)
        s->app_shutdown = true;
    pthread_mutex_unlock(&s->lock);
    rv__streams_transition(s, RV_STREAMS_PENDING_ERROR);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->started_threads; i++)
        rv__stream_thread_stop(s->threads[i]);
    pthread_mutex_unlock(&s->lock);
}

rv_streams_uncaught_response_t rv__streams_thread_failed(rv_streams_t *s, rv__stream_thread_t *th,
                                                         rv_err_t err, const char *message) {
    rv__log_err(FAC,
                "stream-thread [%s] Encountered the following exception during processing "
                "(the uncaught error handler decides what follows): %s: %s",
                rv__stream_thread_name(th), rv_err_name(err), message);
    rv_streams_uncaught_response_t r = RV_STREAMS_SHUTDOWN_CLIENT;
    if (s->error_cb)
        r = s->error_cb(err, message, rv__stream_thread_name(th), s->error_opaque);
    if (r == RV_STREAMS_REPLACE_THREAD) {
        rv_streams_state_t st = rv_streams_state(s);
        if (st == RV_STREAMS_PENDING_SHUTDOWN || st == RV_STREAMS_PENDING_ERROR)
            return RV_STREAMS_SHUTDOWN_CLIENT; /* nothing to replace: stopping */
        rv__log_info(FAC, "stream-thread [%s] Replacing the thread after: %s",
                     rv__stream_thread_name(th), message);
        return r;
    }
    if (r == RV_STREAMS_SHUTDOWN_APPLICATION)
        rv__log_err(FAC,
                    "stream-thread [%s] Encountered the following exception during processing "
                    "and sent shutdown request for the entire application: %s",
                    rv__stream_thread_name(th), message);
    stop_to_error(s, rv__stream_thread_name(th), message, r == RV_STREAMS_SHUTDOWN_APPLICATION);
    return r;
}

void rv__streams_thread_exited(rv_streams_t *s) {
    pthread_mutex_lock(&s->lock);
    int left = --s->alive;
    bool global = s->global_alive;
    pthread_cond_broadcast(&s->cond);
    if (left == 0 && global && rv_streams_state(s) == RV_STREAMS_PENDING_ERROR)
        /* The client is stopping on an error: the global thread goes
         * after the last stream thread (rv_streams_close() does the same
         * on a clean stop). */
        rv__global_thread_stop(s->global);
    pthread_mutex_unlock(&s->lock);
    if (left == 0 && !global && rv_streams_state(s) == RV_STREAMS_PENDING_ERROR)
        rv__streams_transition(s, RV_STREAMS_ERROR);
}

void rv__streams_global_failed(rv_streams_t *s, const char *thread_name, rv_err_t err,
                               const char *message) {
    rv_streams_uncaught_response_t r = RV_STREAMS_SHUTDOWN_CLIENT;
    if (s->error_cb)
        r = s->error_cb(err, message, thread_name, s->error_opaque);
    if (r == RV_STREAMS_REPLACE_THREAD)
        rv__log_warn(FAC,
                     "stream-client [%s] The global thread cannot be replaced. Reverting to "
                     "shutting down the client.",
                     s->app_id);
    rv__log_err(FAC,
                "stream-client [%s] Encountered the following exception during processing and "
                "the streams client is going to shut down now: %s: %s",
                s->app_id, rv_err_name(err), message);
    bool app = r == RV_STREAMS_SHUTDOWN_APPLICATION;
    if (app) {
        /* The stream threads carry the request to the group (Kafka: it
         * succeeds only if a stream thread of this client runs). */
        pthread_mutex_lock(&s->lock);
        app = s->alive > 0;
        pthread_mutex_unlock(&s->lock);
        if (!app)
            rv__log_warn(FAC,
                         "stream-client [%s] Exception in global thread caused the application "
                         "to attempt to shutdown. This action will succeed only if there is at "
                         "least one StreamThread running on this client. Currently there are no "
                         "running threads so will now close the client.",
                         s->app_id);
    }
    stop_to_error(s, thread_name, message, app);
}

void rv__streams_shutdown_requested(rv_streams_t *s, const char *thread_name) {
    rv__log_warn(FAC,
                 "stream-thread [%s] Detected that shutdown was requested. All clients in this "
                 "app will now begin to shutdown",
                 thread_name);
    stop_to_error(s, thread_name, "Shutdown requested by an instance of the application", false);
}

bool rv__streams_closing(rv_streams_t *s) {
    pthread_mutex_lock(&s->lock);
    bool closing = s->closing;
    pthread_mutex_unlock(&s->lock);
    return closing;
}

bool rv__streams_app_shutdown(rv_streams_t *s) {
    pthread_mutex_lock(&s->lock);
    bool app = s->app_shutdown;
    pthread_mutex_unlock(&s->lock);
    return app;
}

void rv__streams_global_exited(rv_streams_t *s) {
    pthread_mutex_lock(&s->lock);
    s->global_alive = false;
    int left = s->alive;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (left == 0 && rv_streams_state(s) == RV_STREAMS_PENDING_ERROR)
        rv__streams_transition(s, RV_STREAMS_ERROR);
}

/* ---- Creation ---- */

rv_streams_t *rv_streams_new(rv_topology_t *topology, rv_conf_t *conf, char *errstr,
                             size_t errstr_size) {
    if (!topology || !conf) {
        rv__errstr_set(errstr, errstr_size, "topology and conf must not be null");
        return NULL;
    }
    if (!rv__topology_is_built(topology)) {
        rv__errstr_set(errstr, errstr_size,
                       "The topology is not built: call rv_topology_build() first");
        return NULL;
    }
    const char *app = rv_conf_get(conf, "application.id");
    const char *bs = rv_conf_get(conf, "bootstrap.servers");
    if (!app || !*app) {
        rv__errstr_set(errstr, errstr_size,
                       "Missing required configuration \"application.id\" which has no "
                       "default value.");
        return NULL;
    }
    if (!bs || !*bs) {
        rv__errstr_set(errstr, errstr_size,
                       "Missing required configuration \"bootstrap.servers\" which has no "
                       "default value.");
        return NULL;
    }
    size_t subs = rv__topology_subtopology_count(topology), stream_subs = 0;
    for (size_t i = 0; i < subs; i++)
        if (!rv__topology_subtopology(topology, i)->global)
            stream_subs++;
    rv_streams_t *s = calloc(1, sizeof *s);
    if (!s) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    s->topo = topology;
    s->thread_cnt = atoi(rv_conf_get(conf, "num.stream.threads"));
    s->commit_interval_ms = atoll(rv_conf_get(conf, "commit.interval.ms"));
    s->purge_interval_ms = atoll(rv_conf_get(conf, "repartition.purge.interval.ms"));
    s->pattern_refresh_ms = atoll(rv_conf_get(conf, "metadata.max.age.ms"));
    s->max_task_idle_ms = atoll(rv_conf_get(conf, "max.task.idle.ms"));
    s->buffered_per_partition = atoll(rv_conf_get(conf, "buffered.records.per.partition"));
    if (s->thread_cnt < 1)
        s->thread_cnt = 1;
    if (stream_subs == 0 && subs > 0) {
        rv__log_info(FAC, "Overriding number of StreamThreads to zero for global-only topology");
        s->thread_cnt = 0;
    }
    atomic_init(&s->state, RV_STREAMS_CREATED);
    pthread_mutex_init(&s->trans_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->conf = conf;
    s->app_id = rv_conf_get(conf, "application.id");
    const char *cid = rv_conf_get(conf, "client.id");
    if (cid && *cid && strcmp(cid, "rivulet") != 0) {
        snprintf(s->client_id, sizeof s->client_id, "%s", cid);
    } else {
        /* A random (version 4) UUID, as Kafka Streams' processId. */
        unsigned char u[16] = {0};
        size_t got = 0;
        while (got < sizeof u) {
            ssize_t r = getrandom(u + got, sizeof u - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (got < sizeof u) {
            uint64_t t = (uint64_t)rv__mono_us() ^ (uint64_t)(uintptr_t)s;
            memcpy(u, &t, sizeof t);
        }
        u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
        u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
        snprintf(s->client_id, sizeof s->client_id,
                 "%s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 s->app_id, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                 u[11], u[12], u[13], u[14], u[15]);
    }
    return s;
}

rv_err_t rv_streams_set_state_listener(rv_streams_t *s, rv_streams_state_cb_t *cb, void *opaque) {
    if (rv_streams_state(s) != RV_STREAMS_CREATED)
        return RV_ERR__STATE;
    s->state_cb = cb;
    s->state_opaque = opaque;
    return 0;
}

rv_err_t rv_streams_set_uncaught_error_handler(rv_streams_t *s, rv_streams_uncaught_error_cb_t *cb,
                                               void *opaque) {
    if (rv_streams_state(s) != RV_STREAMS_CREATED)
        return RV_ERR__STATE;
    s->error_cb = cb;
    s->error_opaque = opaque;
    return 0;
}

rv_err_t rv_streams_set_restore_listener(rv_streams_t *s,
                                         const rv_state_restore_listener_t *listener) {
    if (rv_streams_state(s) != RV_STREAMS_CREATED)
        return RV_ERR__STATE;
    s->has_restore = listener != NULL;
    if (listener)
        s->restore = *listener;
    return 0;
}

/* ---- Setup ---- */

/* The topics being resolved in start(): broker name, reading sub-topology,
 * whether internal (repartition), partition count (-1 unknown), existing. */
typedef struct rtopic_s {
    char *name;
    int sub;
    bool internal, exists;
    int32_t count;
} rtopic_t;

typedef struct setup_s {
    rtopic_t *v;
    size_t cnt, cap;
} setup_t;

static rv_err_t add_rtopic(setup_t *su, const char *name, int sub, bool internal) {
    for (size_t i = 0; i < su->cnt; i++)
        if (!strcmp(su->v[i].name, name))
            return 0; /* the topology's validation gives each topic one source */
    if (su->cnt == su->cap) {
        size_t cap = su->cap ? su->cap * 2 : 8;
        rtopic_t *nv = realloc(su->v, cap * sizeof *nv);
        if (!nv)
            return RV_ERR__NOMEM;
        su->v = nv;
        su->cap = cap;
    }
    rtopic_t *t = &su->v[su->cnt];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name)
        return RV_ERR__NOMEM;
    t->sub = sub;
    t->internal = internal;
    t->count = -1;
    su->cnt++;
    return 0;
}

static int32_t describe_count(rv_admin_t *a, const char *topic, rv_err_t *err, char *errstr,
                              size_t errstr_size) {
    rv_topic_description_t *d = NULL;
    *err = rv_admin_describe_topic(a, topic, &d, errstr, errstr_size);
    if (*err)
        return -1;
    int32_t n = rv_topic_description_partition_count(d);
    rv_topic_description_destroy(d);
    return n;
}

/* The pattern source of a stream sub-topology that matches `topic`; its
 * sub-topology id in *sub. NULL when none. */
static const rv__tnode_t *pattern_source_for(const rv_streams_t *s, const char *topic, int *sub) {
    for (size_t i = 0; i < rv__topology_subtopology_count(s->topo); i++) {
        const rv__subtopology_t *st = rv__topology_subtopology(s->topo, i);
        if (st->global)
            continue;
        for (size_t k = 0; k < st->source_cnt; k++) {
            const rv__tnode_t *tn = rv__topology_node(s->topo, st->sources[k]);
            if (tn->pattern && rv__topology_source_matches(tn, topic)) {
                *sub = st->id;
                return tn;
            }
        }
    }
    return NULL;
}

void rv__streams_refresh_patterns(rv_streams_t *s) {
    if (!s->has_patterns)
        return;
    int64_t now = rv__mono_ms();
    /* One thread refreshes at a time; the admin calls (network round
     * trips on the kafka backend) run without the app lock. */
    pthread_mutex_lock(&s->lock);
    bool due = !s->pattern_refreshing && now - s->last_pattern_refresh >= s->pattern_refresh_ms;
    if (due) {
        s->pattern_refreshing = true;
        s->last_pattern_refresh = now;
    }
    pthread_mutex_unlock(&s->lock);
    if (!due)
        return;
    char errstr[512];
    char **names = NULL;
    size_t name_cnt = 0;
    rv_err_t err = rv_admin_list_topics(s->admin, false, &names, &name_cnt, errstr, sizeof errstr);
    if (err) {
        rv__log_warn(FAC, "stream-client [%s] Listing topics for the source patterns failed: %s",
                     s->client_id, errstr);
        pthread_mutex_lock(&s->lock);
        s->pattern_refreshing = false;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    rv__route_table_t *cur = atomic_load(&s->rtab);
    rv__streams_route_t *routes = calloc(cur->cnt + name_cnt + 1, sizeof *routes);
    size_t cnt = 0;
    for (size_t i = 0; routes && i < cur->cnt; i++)
        routes[cnt++] = cur->routes[i];
    size_t id_len = strlen(s->app_id);
    for (size_t j = 0; routes && j < name_cnt; j++) {
        const char *topic = names[j];
        int sub = -1;
        bool internal = !strncmp(topic, s->app_id, id_len) && topic[id_len] == '-';
        if (internal || rv__streams_route(s, topic) >= 0 || !pattern_source_for(s, topic, &sub))
            continue;
        int32_t n = describe_count(s->admin, topic, &err, errstr, sizeof errstr);
        if (n <= 0)
            continue; /* deleted meanwhile: the next refresh sees */
        if (n != s->sub_partitions[sub]) {
            rv__log_warn(FAC,
                         "stream-client [%s] Topic %s matches a source pattern of sub-topology "
                         "%d but has %d partitions where the sub-topology has %d: not read",
                         s->client_id, topic, sub, (int)n, (int)s->sub_partitions[sub]);
            continue;
        }
        rv__log_info(FAC,
                     "stream-client [%s] New topic %s matches a source pattern of "
                     "sub-topology %d: subscribing",
                     s->client_id, topic, sub);
        routes[cnt].topic = (char *)topic;
        routes[cnt++].subtopology = sub;
    }
    rv__route_table_t *rt = routes && cnt > cur->cnt ? route_table_new(routes, cnt, cur) : NULL;
    pthread_mutex_lock(&s->lock);
    if (rt) /* only this thread publishes now, so cur is still current */
        atomic_store_explicit(&s->rtab, rt, memory_order_release);
    s->pattern_refreshing = false;
    pthread_mutex_unlock(&s->lock);
    free(routes);
    rv_strv_free(names, name_cnt);
}

/* The sub-topology writing internal topic `name` (undecorated), -1. */
static int writer_of(const rv_topology_t *t, const char *undecorated) {
    size_t n = rv__topology_node_count(t);
    for (size_t i = 0; i < n; i++) {
        const rv__tnode_t *tn = rv__topology_node(t, i);
        if (tn->kind == RV__TNODE_SINK && tn->topic && tn->sink.internal &&
            !strcmp(tn->topic, undecorated))
            return tn->subtopology;
    }
    return -1;
}

static rv_err_t create_topic(rv_streams_t *s, const char *name, int32_t count,
                             const char *const *names, const char *const *values, size_t cfg_cnt,
                             char *errstr, size_t errstr_size) {
    rv_err_t err = rv_admin_create_topic(s->admin, name, count, -1, names, values, cfg_cnt, errstr,
                                         errstr_size);
    if (err == RV_ERR_TOPIC_ALREADY_EXISTS) {
        if (errstr && errstr_size)
            errstr[0] = '\0';
        return 0;
    }
    if (!err)
        rv__log_info(FAC, "stream-client [%s] Created internal topic %s with %d partitions",
                     s->app_id, name, (int)count);
    return err;
}

static rv_err_t setup(rv_streams_t *s, char *errstr, size_t errstr_size) {
    setup_t su = {0};
    rv_err_t err = 0;
    char **names = NULL;
    size_t name_cnt = 0;
    size_t subs = rv__topology_subtopology_count(s->topo);
    char buf[512];

    rv_conf_t *ac = rv_conf_dup(s->conf);
    if (!ac)
        return RV_ERR__NOMEM;
    s->admin = rv_admin_new(ac, errstr, errstr_size);
    if (!s->admin) {
        rv_conf_destroy(ac);
        return RV_ERR__INVALID_ARG;
    }
    err = rv_admin_list_topics(s->admin, false, &names, &name_cnt, errstr, errstr_size);
    s->sub_partitions = calloc(subs ? subs : 1, sizeof *s->sub_partitions);
    s->sub_cnt = subs;
    if (!err && !s->sub_partitions)
        err = RV_ERR__NOMEM;

    /* 1. Resolve the sources. */
    for (size_t i = 0; !err && i < subs; i++) {
        const rv__subtopology_t *st = rv__topology_subtopology(s->topo, i);
        s->sub_partitions[i] = -1;
        if (st->global)
            continue; /* read by the global thread, not routed to tasks */
        for (size_t k = 0; !err && k < st->source_cnt; k++) {
            const rv__tnode_t *tn = rv__topology_node(s->topo, st->sources[k]);
            for (size_t j = 0; !err && j < tn->topic_cnt; j++) {
                err = rv__topology_topic_name(buf, sizeof buf, s->app_id, tn->topics[j],
                                              tn->source.internal);
                if (!err)
                    err = add_rtopic(&su, buf, st->id, tn->source.internal != 0);
            }
            if (tn->pattern)
                s->has_patterns = true;
            for (size_t j = 0; !err && tn->pattern && j < name_cnt; j++)
                if (rv__topology_source_matches(tn, names[j]))
                    err = add_rtopic(&su, names[j], st->id, false);
        }
    }
    for (size_t i = 0; !err && i < su.cnt; i++)
        for (size_t j = 0; j < name_cnt; j++)
            if (!strcmp(names[j], su.v[i].name))
                su.v[i].exists = true;

    /* Missing external source topics: Kafka's MissingSourceTopicException. */
    if (!err) {
        char missing[1024] = "";
        for (size_t i = 0; i < su.cnt; i++)
            if (!su.v[i].internal && !su.v[i].exists)
                snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
                         missing[0] ? ", " : "", su.v[i].name);
        if (missing[0]) {
            rv__errstr_set(errstr, errstr_size,
                           "Missing source topics: [%s]. Create them before starting the app.",
                           missing);
            err = RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }

    /* 2. Partition counts and co-partitioning. */
    for (size_t i = 0; !err && i < su.cnt; i++)
        if (su.v[i].exists)
            su.v[i].count = describe_count(s->admin, su.v[i].name, &err, errstr, errstr_size);
    for (size_t i = 0; !err && i < subs; i++) {
        int32_t c = -1;
        bool mismatch = false;
        for (size_t k = 0; k < su.cnt; k++)
            if (su.v[k].sub == (int)i && !su.v[k].internal) {
                if (c >= 0 && su.v[k].count != c)
                    mismatch = true;
                if (su.v[k].count > c)
                    c = su.v[k].count;
            }
        if (mismatch) {
            char list[1024] = "";
            for (size_t k = 0; k < su.cnt; k++)
                if (su.v[k].sub == (int)i && !su.v[k].internal)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s=%d",
                             list[0] ? ", " : "", su.v[k].name, (int)su.v[k].count);
            rv__errstr_set(errstr, errstr_size,
                           "Invalid topology: Topics not co-partitioned: [%s] (sub-topology %d "
                           "reads them; every source topic of a sub-topology needs the same "
                           "partition count)",
                           list, (int)i);
            err = RV_ERR__INVALID_ARG;
        }
        s->sub_partitions[i] = c;
    }
    /* Repartition topics with a count of their own (Kafka's
     * Repartitioned.withNumberOfPartitions()): fixed before propagation,
     * which then gives the reading sub-topology that count. */
    for (size_t k = 0; !err && k < su.cnt; k++) {
        rtopic_t *t = &su.v[k];
        if (!t->internal || t->exists)
            continue;
        int32_t fixed = rv__topology_internal_partitions(s->topo, t->name + strlen(s->app_id) + 1);
        if (fixed > 0)
            t->count = fixed;
    }
    /* Repartition topics: propagate counts until stable. */
    for (size_t pass = 0; !err && pass <= subs; pass++) {
        bool changed = false;
        for (size_t k = 0; k < su.cnt; k++) {
            rtopic_t *t = &su.v[k];
            if (!t->internal || t->count > 0)
                continue;
            int32_t c = s->sub_partitions[t->sub];
            if (c <= 0) {
                const char *und = t->name + strlen(s->app_id) + 1;
                int w = writer_of(s->topo, und);
                if (w >= 0)
                    c = s->sub_partitions[w];
            }
            if (c > 0) {
                t->count = c;
                changed = true;
            }
        }
        for (size_t i = 0; i < subs; i++)
            for (size_t k = 0; k < su.cnt; k++)
                if (su.v[k].sub == (int)i && su.v[k].count > s->sub_partitions[i]) {
                    s->sub_partitions[i] = su.v[k].count;
                    changed = true;
                }
        if (!changed)
            break;
    }
    for (size_t i = 0; !err && i < subs; i++)
        if (s->sub_partitions[i] <= 0 && !rv__topology_subtopology(s->topo, i)->global) {
            rv__errstr_set(errstr, errstr_size,
                           "Cannot tell the partition count of sub-topology %d: none of its "
                           "sources has a known topic",
                           (int)i);
            err = RV_ERR__INVALID_ARG;
        }

    /* 3. Internal topics. */
    for (size_t k = 0; !err && k < su.cnt; k++) {
        if (!su.v[k].internal || su.v[k].exists)
            continue;
        const char *n[] = {"cleanup.policy", "segment.bytes", "retention.ms"};
        const char *v[] = {"delete", "52428800", "-1"};
        err = create_topic(s, su.v[k].name, su.v[k].count, n, v, 3, errstr, errstr_size);
    }
    for (size_t i = 0; !err && i < subs; i++) {
        const rv__subtopology_t *st = rv__topology_subtopology(s->topo, i);
        for (size_t k = 0; !err && k < st->store_cnt; k++) {
            const rv__tstore_t *ts = rv__topology_store(s->topo, st->stores[k]);
            if (!rv_store_builder_logging_enabled(ts->builder))
                continue;
            size_t cnt = 0;
            const char *const *cfg = rv_store_builder_logging_config(ts->builder, &cnt);
            const char **cn = calloc(cnt + 1, sizeof *cn), **cv = calloc(cnt + 1, sizeof *cv);
            if (!cn || !cv)
                err = RV_ERR__NOMEM;
            size_t m = 0;
            bool has_policy = false;
            for (size_t j = 0; !err && j < cnt; j++) {
                cn[m] = cfg[2 * j];
                cv[m++] = cfg[2 * j + 1];
                if (!strcmp(cfg[2 * j], "cleanup.policy"))
                    has_policy = true;
            }
            if (!err && !has_policy) {
                cn[m] = "cleanup.policy";
                cv[m++] = "compact";
            }
            char topic[512];
            if (!err && snprintf(topic, sizeof topic, "%s-%s-changelog", s->app_id, ts->name) >=
                            (int)sizeof topic)
                err = RV_ERR__INVALID_ARG;
            if (!err)
                err = create_topic(s, topic, s->sub_partitions[i], cn, cv, m, errstr, errstr_size);
            free(cn);
            free(cv);
        }
    }

    /* The routing table and the subscription. */
    if (!err) {
        rv__streams_route_t *routes = calloc(su.cnt ? su.cnt : 1, sizeof *routes);
        for (size_t k = 0; routes && k < su.cnt; k++) {
            routes[k].topic = su.v[k].name;
            routes[k].subtopology = su.v[k].sub;
        }
        rv__route_table_t *rt = routes ? route_table_new(routes, su.cnt, NULL) : NULL;
        free(routes);
        if (!rt)
            err = RV_ERR__NOMEM;
        atomic_store_explicit(&s->rtab, rt, memory_order_release);
        s->last_pattern_refresh = rv__mono_ms();
    }
    if (err == RV_ERR__NOMEM && errstr && errstr_size && !errstr[0])
        rv__errstr_set(errstr, errstr_size, "Out of memory");
    for (size_t k = 0; k < su.cnt; k++)
        free(su.v[k].name);
    free(su.v);
    rv_strv_free(names, name_cnt);
    return err;
}

/* Stops whatever start() started after a failure: PENDING_ERROR, then
 * ERROR once no thread is left (else the last one out moves it). */
static void start_failed(rv_streams_t *s, rv_err_t err, const char *errstr) {
    snprintf(s->err, sizeof s->err, "%s", errstr && *errstr ? errstr : rv_err_str(err));
    rv__log_err(FAC, "stream-client [%s] Start failed: %s", s->app_id, s->err);
    rv__streams_transition(s, RV_STREAMS_PENDING_ERROR);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->started_threads; i++)
        rv__stream_thread_stop(s->threads[i]);
    if (s->alive == 0 && s->global_alive)
        rv__global_thread_stop(s->global);
    bool none = s->alive == 0 && !s->global_alive;
    pthread_mutex_unlock(&s->lock);
    if (none)
        rv__streams_transition(s, RV_STREAMS_ERROR);
}

rv_err_t rv_streams_start(rv_streams_t *s, char *errstr, size_t errstr_size) {
    if (errstr && errstr_size)
        errstr[0] = '\0';
    if (!rv__streams_transition(s, RV_STREAMS_REBALANCING)) {
        rv__errstr_set(errstr, errstr_size,
                       "The app can only be started once, from CREATED (it is %s)",
                       rv_streams_state_name(rv_streams_state(s)));
        return RV_ERR__STATE;
    }
    rv__log_info(FAC, "stream-client [%s] Starting %d stream thread(s)", s->app_id, s->thread_cnt);
    rv_err_t err = setup(s, errstr, errstr_size);
    if (!err)
        err = rv__state_dir_open(&s->sd, rv_conf_get(s->conf, "state.dir"), s->app_id, errstr,
                                 errstr_size);
    bool has_global = false;
    for (size_t i = 0; i < rv__topology_subtopology_count(s->topo); i++)
        has_global = has_global || rv__topology_subtopology(s->topo, i)->global;
    if (!err && has_global) {
        rv__global_thread_t *gt = NULL;
        err = rv__global_thread_new(&gt, s);
        if (!err) {
            pthread_mutex_lock(&s->lock);
            s->global = gt;
            pthread_mutex_unlock(&s->lock);
            /* Blocks until the global stores are bootstrapped. */
            err = rv__global_thread_start(gt, errstr, errstr_size);
            pthread_mutex_lock(&s->lock);
            bool closing = s->closing;
            pthread_mutex_unlock(&s->lock);
            if (err && closing)
                return err; /* rv_streams_close() stopped it: not an app error */
        }
    }
    if (!err) {
        s->threads = calloc(s->thread_cnt > 0 ? (size_t)s->thread_cnt : 1, sizeof *s->threads);
        if (!s->threads)
            err = RV_ERR__NOMEM;
    }
    for (int i = 0; !err && i < s->thread_cnt; i++)
        err = rv__stream_thread_new(&s->threads[i], s, i);
    pthread_mutex_lock(&s->lock);
    if (!err && s->closing) {
        pthread_mutex_unlock(&s->lock);
        rv__errstr_set(errstr, errstr_size, "The app was closed while starting");
        return RV_ERR__STATE;
    }
    for (int i = 0; !err && i < s->thread_cnt; i++) {
        err = rv__stream_thread_start(s->threads[i], errstr, errstr_size);
        if (!err) {
            s->started_threads++;
            s->alive++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (err) {
        if (err == RV_ERR__NOMEM && errstr && errstr_size && !errstr[0])
            rv__errstr_set(errstr, errstr_size, "Out of memory");
        start_failed(s, err, errstr);
        return err;
    }
    /* Every thread may already run (or there is none: a topology of
     * global stores only). */
    rv__streams_thread_changed(s);
    return 0;
}

/* ---- Closing ---- */

rv_err_t rv_streams_close(rv_streams_t *s, int timeout_ms) {
    rv_streams_state_t st = rv_streams_state(s);
    if (st == RV_STREAMS_CREATED || st == RV_STREAMS_REBALANCING || st == RV_STREAMS_RUNNING)
        rv__streams_transition(s, RV_STREAMS_PENDING_SHUTDOWN);
    pthread_mutex_lock(&s->lock);
    s->closing = true;
    for (int i = 0; i < s->started_threads; i++)
        rv__stream_thread_stop(s->threads[i]);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    int rc = 0;
    while (s->alive > 0 && rc == 0)
        rc = timeout_ms < 0 ? pthread_cond_wait(&s->cond, &s->lock)
                            : pthread_cond_timedwait(&s->cond, &s->lock, &until);
    /* The global thread stops after the stream threads, which read its
     * stores (Kafka's close() order). */
    if (s->alive == 0 && s->global_alive)
        rv__global_thread_stop(s->global);
    while (s->global_alive && rc == 0)
        rc = timeout_ms < 0 ? pthread_cond_wait(&s->cond, &s->lock)
                            : pthread_cond_timedwait(&s->cond, &s->lock, &until);
    int alive = s->alive + (s->global_alive ? 1 : 0);
    bool join = !s->joined && alive == 0;
    if (join)
        s->joined = true;
    pthread_mutex_unlock(&s->lock);
    if (alive > 0)
        return RV_ERR__TIMED_OUT;
    if (join) {
        for (int i = 0; i < s->started_threads; i++)
            rv__stream_thread_join(s->threads[i]);
        rv__global_thread_join(s->global);
    }
    rv__streams_transition(s, RV_STREAMS_NOT_RUNNING);
    return 0;
}

void rv__streams_simulate_crash(rv_streams_t *s) {
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->started_threads; i++)
        rv__stream_thread_crash(s->threads[i]);
    if (s->global)
        rv__global_thread_crash(s->global);
    pthread_mutex_unlock(&s->lock);
    rv_streams_close(s, -1);
}

void rv_streams_destroy(rv_streams_t *s) {
    if (!s)
        return;
    rv_streams_close(s, -1);
    for (int i = 0; s->threads && i < s->thread_cnt; i++)
        rv__stream_thread_destroy(s->threads[i]);
    free(s->threads);
    /* After the stream tasks: they read the global stores' views. */
    rv__global_thread_destroy(s->global);
    rv_admin_destroy(s->admin);
    rv__state_dir_destroy(s->sd);
    route_table_free(atomic_load(&s->rtab));
    free(s->sub_partitions);
    for (size_t i = 0; i < s->pcount_cnt; i++)
        free(s->pcounts[i].topic);
    free(s->pcounts);
    pthread_mutex_destroy(&s->trans_lock);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    rv_conf_destroy(s->conf);
    free(s);
}
