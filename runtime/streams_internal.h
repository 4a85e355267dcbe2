/* runtime/streams_internal.h: what the stream threads (runtime/
 * stream_thread.c) share with the application object (runtime/streams.c,
 * public side rivulet/streams.h).
 *
 * The app owns the configuration, the topology (borrowed from the user),
 * the state directory, the routing table from broker topic names to
 * sub-topologies, and the threads. Everything it computes in
 * rv_streams_start() before the threads start is read-only afterwards, so
 * threads read it without a lock; what changes later (state, the partition
 * count cache, the admin client) is behind the app's locks. */
#ifndef RV_RUNTIME_STREAMS_INTERNAL_H
#define RV_RUNTIME_STREAMS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rivulet/admin.h"
#include "rivulet/store.h"
#include "rivulet/streams.h"
#include "runtime/topology_internal.h"
#include "state/state_dir.h"

typedef struct rv__stream_thread_s rv__stream_thread_t;
typedef struct rv__global_thread_s rv__global_thread_t;

/* A topic the app consumes: its broker name and the sub-topology whose
 * source reads it. */
typedef struct rv__streams_route_s {
    char *topic;
    int subtopology;
} rv__streams_route_t;

/* The routing table topic -> sub-topology, which is also the stream
 * threads' subscription. Immutable once published: when a pattern source
 * matches a new topic, rv__streams_refresh_patterns() publishes a copy
 * with the topic added and a higher version, and keeps the older tables
 * chained until the app is destroyed, so a thread may go on reading the
 * table it loaded. */
typedef struct rv__route_table_s {
    struct rv__route_table_s *older;
    uint64_t version;
    size_t cnt;
    rv__streams_route_t *routes; /* topics owned */
    const char **subscription;   /* routes[i].topic */
} rv__route_table_t;

/* A cached partition count of a topic the app writes to. */
typedef struct rv__streams_pcount_s {
    char *topic;
    int32_t count;
} rv__streams_pcount_t;

struct rv_streams_s {
    rv_topology_t *topo; /* borrowed */
    rv_conf_t *conf;     /* owned */
    const char *app_id;  /* borrowed from conf */
    /* Kafka Streams' client id: client.id when set, else
     * "<application.id>-<process uuid>"; threads are "<id>-StreamThread-N"
     * and their clients "<thread>-consumer" etc., unique per instance. */
    char client_id[400];
    int thread_cnt;
    int64_t commit_interval_ms;
    int64_t purge_interval_ms;      /* repartition.purge.interval.ms */
    int64_t max_task_idle_ms;       /* max.task.idle.ms */
    int64_t buffered_per_partition; /* buffered.records.per.partition */

    _Atomic int state;          /* rv_streams_state_t */
    pthread_mutex_t trans_lock; /* serializes transitions and listener calls */
    rv_streams_state_cb_t *state_cb;
    void *state_opaque;
    rv_streams_uncaught_error_cb_t *error_cb;
    void *error_opaque;
    rv_state_restore_listener_t restore;
    bool has_restore;

    /* Fixed in rv_streams_start() before the threads start. */
    rv__state_dir_t *sd;
    _Atomic(rv__route_table_t *) rtab; /* see rv__route_table_t */
    bool has_patterns;                 /* a stream source reads a pattern */
    int64_t pattern_refresh_ms;        /* metadata.max.age.ms */
    int64_t last_pattern_refresh;      /* monotonic ms, under lock */
    bool pattern_refreshing;           /* a thread is refreshing, under lock */
    int32_t *sub_partitions;           /* partition count per sub-topology id */
    size_t sub_cnt;

    pthread_mutex_t lock; /* pcounts, alive, err, pattern refresh (admin is thread-safe) */
    pthread_cond_t cond;  /* signalled when a thread exits */
    rv_admin_t *admin;
    rv__streams_pcount_t *pcounts;
    size_t pcount_cnt;
    rv__stream_thread_t **threads;
    int started_threads;
    int alive;         /* stream threads started and not yet returned */
    bool global_alive; /* the global thread started and not yet returned */
    bool closing;      /* rv_streams_close() began: start no more threads */
    /* SHUTDOWN_APPLICATION: the stream threads ask the group to shut down
     * every instance on their way out (under lock). */
    bool app_shutdown;
    bool joined;
    char err[2048];

    /* The global stream thread (runtime/global_thread.c) when the
     * topology has global stores, else NULL; set in rv_streams_start()
     * before any stream thread exists. */
    rv__global_thread_t *global;
};

/** Moves the app to `to` when Kafka allows it from the current state,
 *  calling the state listener; returns false (and changes nothing)
 *  otherwise. Any thread. */
bool rv__streams_transition(rv_streams_t *s, rv_streams_state_t to);

/** A thread's assignment changed (running = it has its tasks ready):
 *  recomputes RUNNING / REBALANCING from every thread. Any thread. */
void rv__streams_thread_changed(rv_streams_t *s);

/** The partition count of `topic` and, per partition, its log start and
 *  end offsets, through the admin client. Caller owns *starts and *ends
 *  (free()). An error (UNKNOWN_TOPIC_OR_PARTITION for a missing topic)
 *  with a message in errstr. Any thread. */
rv_err_t rv__streams_topic_offsets(rv_streams_t *s, const char *topic, int32_t *count,
                                   int64_t **starts, int64_t **ends, char *errstr,
                                   size_t errstr_size);

/** The sub-topology reading broker topic `topic`, -1 when none. Any
 *  thread after start. */
int rv__streams_route(const rv_streams_t *s, const char *topic);

/** The current routing table (the subscription). Borrowed: valid until the
 *  app is destroyed. Any thread after start. */
const rv__route_table_t *rv__streams_routes(const rv_streams_t *s);

/** As Kafka's consumer re-matching a pattern subscription at each metadata
 *  refresh: at most every metadata.max.age.ms, lists the broker's topics
 *  and routes every new topic a pattern source of a sub-topology matches
 *  (not the app's internal topics) to that sub-topology, in a new routing
 *  table; the threads then subscribe to it. A new topic whose partition
 *  count differs from the sub-topology's is not routed (a warning says
 *  why). No-op without pattern sources. Any stream thread. */
void rv__streams_refresh_patterns(rv_streams_t *s);

/** The partition count of `topic` (asked once through the admin client,
 *  then cached); <= 0 when unknown. Any thread. */
int32_t rv__streams_partition_count(rv_streams_t *s, const char *topic);

/** The end offset (high watermark) of topic/partition, asked through the
 *  admin client so both backends answer at once; -1 with the error in
 *  *err and a message in errstr on failure. Any thread. */
int64_t rv__streams_end_offset(rv_streams_t *s, const char *topic, int32_t partition, rv_err_t *err,
                               char *errstr, size_t errstr_size);

/* Kafka Streams' task.timeout.ms default (KIP-572): how long a task's
 * work may wait for a cluster that is out of reach before the thread
 * fails. */
#define RV__TASK_TIMEOUT_MS 300000

/** A stream thread failed with err/message: records it and returns the
 *  uncaught error handler's response. For SHUTDOWN_* also moves the app
 *  to PENDING_ERROR and stops the other threads; for
 *  SHUTDOWN_APPLICATION the threads also ask the group to shut down (see
 *  rv__streams_app_shutdown()). Called on the failing thread. */
rv_streams_uncaught_response_t rv__streams_thread_failed(rv_streams_t *s, rv__stream_thread_t *th,
                                                         rv_err_t err, const char *message);

/** The thread is about to return: the last one out moves an app in
 *  PENDING_ERROR to ERROR. */
void rv__streams_thread_exited(rv_streams_t *s);

/** The global thread failed after bootstrapping (Kafka 3.x consults the
 *  uncaught error handler, where REPLACE_THREAD becomes SHUTDOWN_CLIENT
 *  since the global thread cannot be replaced): records the message,
 *  moves the app to PENDING_ERROR and stops the stream threads. Called on
 *  the global thread. */
void rv__streams_global_failed(rv_streams_t *s, const char *thread_name, rv_err_t err,
                               const char *message);

/** Another instance asked the group to shut down the application (a
 *  stream thread's assignment said so): the client stops as on an error,
 *  its threads committing cleanly, and ends in ERROR. Any thread. */
void rv__streams_shutdown_requested(rv_streams_t *s, const char *thread_name);

/** True once rv_streams_close() began. Any thread. */
bool rv__streams_closing(rv_streams_t *s);

/** True once an uncaught error handler answered SHUTDOWN_APPLICATION on
 *  this client: each stream thread then asks the group to shut down
 *  before it returns. Any thread. */
bool rv__streams_app_shutdown(rv_streams_t *s);

/** The global thread is about to return: as rv__streams_thread_exited().
 */
void rv__streams_global_exited(rv_streams_t *s);

/** Test hook: makes every thread stop as a killed process would - no
 *  final commit, no checkpoint, consumers silent until session.timeout.ms
 *  (rv__consumer_simulate_crash) - then returns once they stopped. The app
 *  ends in NOT_RUNNING; destroy it as usual. Caller's thread. */
void rv__streams_simulate_crash(rv_streams_t *s);

/* ---- runtime/stream_thread.c ---- */

/** A stream thread named "<client id>-StreamThread-<idx+1>" of app
 *  `s`, not started. Caller owns *out; free with
 *  rv__stream_thread_destroy() after rv__stream_thread_join(). */
rv_err_t rv__stream_thread_new(rv__stream_thread_t **out, rv_streams_t *s, int idx);
rv_err_t rv__stream_thread_start(rv__stream_thread_t *th, char *errstr, size_t errstr_size);
/** Asks the thread to stop (clean: final commit) at its next loop turn.
 *  Any thread. */
void rv__stream_thread_stop(rv__stream_thread_t *th);
/** As stop, but the thread then exits as if killed (see
 *  rv__streams_simulate_crash). Any thread. */
void rv__stream_thread_crash(rv__stream_thread_t *th);
/** Waits for a started thread to return. */
void rv__stream_thread_join(rv__stream_thread_t *th);
void rv__stream_thread_destroy(rv__stream_thread_t *th);
/** 1 while the thread has its assignment's tasks created, restored and
 *  initialized (Kafka's StreamThread RUNNING); 0 while starting or
 *  rebalancing. Any thread. */
int rv__stream_thread_running(const rv__stream_thread_t *th);
/** 1 once the thread returned or is about to. Any thread. */
int rv__stream_thread_dead(const rv__stream_thread_t *th);
/** Records queued in the thread's tasks, as of its last poll. Any thread. */
size_t rv__stream_thread_buffered(const rv__stream_thread_t *th);
const char *rv__stream_thread_name(const rv__stream_thread_t *th);

/* ---- runtime/global_thread.c ---- */

/** The global stream thread "<client id>-GlobalStreamThread" of app `s`
 *  (Kafka Streams' GlobalStreamThread), not started. Caller owns *out;
 *  free with rv__global_thread_destroy() after rv__global_thread_join()
 *  and after every stream task is gone (they read its stores). */
rv_err_t rv__global_thread_new(rv__global_thread_t **out, rv_streams_t *s);
/** Starts the thread and waits until it bootstrapped the global stores
 *  (Kafka: GlobalStreamThread.start() blocks until RUNNING). Sets
 *  s->global_alive under s->lock once the thread runs. Returns 0 when the
 *  stores are ready; the bootstrap error with its message in errstr
 *  (the thread has then returned); or RV_ERR__STATE when the thread was
 *  stopped (rv_streams_close()) while bootstrapping. Caller's thread. */
rv_err_t rv__global_thread_start(rv__global_thread_t *gt, char *errstr, size_t errstr_size);
/** Asks the thread to stop: after a clean stop the stores are flushed and
 *  the checkpoint written. Any thread. */
void rv__global_thread_stop(rv__global_thread_t *gt);
/** As stop, but without the final flush and checkpoint (a killed
 *  process). Any thread. */
void rv__global_thread_crash(rv__global_thread_t *gt);
void rv__global_thread_join(rv__global_thread_t *gt);
void rv__global_thread_destroy(rv__global_thread_t *gt);
/** 1 once the stores are bootstrapped and until the thread stops. Any
 *  thread. */
int rv__global_thread_running(const rv__global_thread_t *gt);

/** The stream tasks' rv__task_opts_t.global_store (opaque = the app): the
 *  thread-safe, read-only view of global store `name`, NULL when none.
 *  Borrowed: valid until the app is destroyed. Any thread after start. */
rv_kv_store_t *rv__streams_global_store(void *opaque, const char *name);

#endif
