/* runtime/test_driver.c: Kafka Streams' TopologyTestDriver for rivulet
 * (rivulet/test_driver.h): the tasks of runtime/task.c run in the calling
 * thread, fed by rv_test_driver_pipe_input(), with a record collector that
 * captures what they write instead of producing it.
 *
 * DESIGN
 *
 * One task per sub-topology, all on partition 0, created and initialized
 * in sub-topology order; a global store's sub-topology gets a "global"
 * task whose stores every other task's processors can read, and records
 * piped into a global topic are processed at once, as Kafka's driver does. Piping a record finds
 * the sub-topology whose source reads the topic, adds the record to that task (offset = the number
 * of records piped into the topic before) and then runs until nothing is left: one record of the
 * first task with queued records, then stream-time punctuation and a commit of that task (with a
 * checkpoint, as Kafka's driver calls postCommit(true)), then every record captured since on a
 * topic that some source reads is fed back in, as Kafka's
 * captureOutputsAndReEnqueueInternalResults(). Captured records stay
 * readable through rv_test_driver_read_output() whether or not they were
 * fed back. The collector's offsets are the positions in the captured
 * topics, so checkpoints record them.
 *
 * The mocked wall clock is the tasks' clock: the context's current system
 * time and wall-clock punctuation follow it. (The wall-clock timestamp
 * extractor reads the real clock, as in Kafka's driver.) */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/errstr.h"
#include "common/fileio.h"
#include "rivulet/test_driver.h"
#include "runtime/task.h"
#include "runtime/topology_internal.h"
#include "state/state_dir.h"

#define DUMMY_APP_ID "dummy-topology-test-driver-app-id"
#define DEFAULT_STATE_DIR "/tmp/kafka-streams"

struct rv_test_record_s {
    char *topic;
    int32_t partition;
    void *key, *value;
    int32_t key_len, value_len;
    int64_t timestamp;
    rv_header_t *headers; /* keys and values owned */
    size_t header_cnt;
};

typedef struct out_topic_s {
    char *name;
    rv_test_record_t **v;
    size_t cnt, cap;
    size_t read; /* next for read_output */
    size_t fed;  /* next to feed back in */
} out_topic_t;

typedef struct in_topic_s {
    char *name;
    int64_t next_offset;
} in_topic_t;

struct rv_test_driver_s {
    rv_topology_t *topo;
    rv_conf_t *conf;
    int64_t now;
    char *tmp_root; /* our own temporary state.dir, removed on destroy */
    char *app_dir;  /* <state.dir>/<application.id>, removed on destroy */
    rv__state_dir_t *sd;
    rv__task_t **tasks;
    int *task_sub; /* sub-topology id of each task */
    size_t task_cnt;
    out_topic_t *outs;
    size_t out_cnt;
    in_topic_t *ins;
    size_t in_cnt;
    bool failed;
    char err[4096];
};

/* ---- Output records ---- */

void rv_test_record_destroy(rv_test_record_t *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->header_cnt; i++) {
        free((void *)r->headers[i].key);
        free((void *)r->headers[i].value);
    }
    free(r->headers);
    free(r->topic);
    free(r->key);
    free(r->value);
    free(r);
}

static void *dup_bytes(const void *p, int32_t len, bool *oom) {
    if (!p || len < 0)
        return NULL;
    void *c = malloc(len ? (size_t)len : 1);
    if (!c) {
        *oom = true;
        return NULL;
    }
    memcpy(c, p, (size_t)len);
    return c;
}

static rv_test_record_t *record_new(const char *topic, int32_t partition, const void *key,
                                    int32_t key_len, const void *value, int32_t value_len,
                                    int64_t ts, const rv_header_t *headers, size_t header_cnt) {
    rv_test_record_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    bool oom = false;
    r->topic = strdup(topic);
    r->partition = partition;
    r->key = dup_bytes(key, key_len, &oom);
    r->key_len = key ? key_len : -1;
    r->value = dup_bytes(value, value_len, &oom);
    r->value_len = value ? value_len : -1;
    r->timestamp = ts;
    if (header_cnt) {
        r->headers = calloc(header_cnt, sizeof *r->headers);
        if (!r->headers)
            oom = true;
        for (size_t i = 0; r->headers && i < header_cnt; i++) {
            r->headers[i].key = strdup(headers[i].key);
            if (!r->headers[i].key)
                oom = true;
            r->headers[i].value = dup_bytes(headers[i].value, headers[i].value_len, &oom);
            r->headers[i].value_len = headers[i].value ? headers[i].value_len : -1;
            r->header_cnt = i + 1;
        }
    }
    if (oom || !r->topic) {
        rv_test_record_destroy(r);
        return NULL;
    }
    return r;
}

const char *rv_test_record_topic(const rv_test_record_t *r) {
    return r->topic;
}

int32_t rv_test_record_partition(const rv_test_record_t *r) {
    return r->partition;
}

const void *rv_test_record_key(const rv_test_record_t *r, int32_t *len) {
    if (len)
        *len = r->key_len;
    return r->key;
}

const void *rv_test_record_value(const rv_test_record_t *r, int32_t *len) {
    if (len)
        *len = r->value_len;
    return r->value;
}

int64_t rv_test_record_timestamp(const rv_test_record_t *r) {
    return r->timestamp;
}

size_t rv_test_record_header_count(const rv_test_record_t *r) {
    return r->header_cnt;
}

rv_err_t rv_test_record_header(const rv_test_record_t *r, size_t i, const char **key,
                               const void **value, int32_t *value_len) {
    if (i >= r->header_cnt)
        return RV_ERR__NOENT;
    if (key)
        *key = r->headers[i].key;
    if (value)
        *value = r->headers[i].value;
    if (value_len)
        *value_len = r->headers[i].value_len;
    return 0;
}

/* ---- The capturing record collector ---- */

static out_topic_t *out_topic(rv_test_driver_t *d, const char *name, bool create) {
    for (size_t i = 0; i < d->out_cnt; i++)
        if (!strcmp(d->outs[i].name, name))
            return &d->outs[i];
    if (!create)
        return NULL;
    out_topic_t *nv = realloc(d->outs, (d->out_cnt + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    d->outs = nv;
    out_topic_t *o = &nv[d->out_cnt];
    memset(o, 0, sizeof *o);
    o->name = strdup(name);
    if (!o->name)
        return NULL;
    d->out_cnt++;
    return o;
}

static rv_err_t coll_send(void *opaque, const char *topic, int32_t partition, const void *key,
                          int32_t key_len, const void *value, int32_t value_len, int64_t timestamp,
                          const rv_header_t *headers, size_t header_cnt, char *errstr,
                          size_t errstr_size) {
    rv_test_driver_t *d = opaque;
    out_topic_t *o = out_topic(d, topic, true);
    if (o && o->cnt == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        rv_test_record_t **nv = realloc(o->v, cap * sizeof *nv);
        if (!nv)
            o = NULL;
        else {
            o->v = nv;
            o->cap = cap;
        }
    }
    rv_test_record_t *r = o ? record_new(topic, partition, key, key_len, value, value_len,
                                         timestamp, headers, header_cnt)
                            : NULL;
    if (!r) {
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    o->v[o->cnt++] = r;
    return 0;
}

static int32_t coll_partition_count(void *opaque, const char *topic) {
    (void)opaque;
    (void)topic;
    return 1; /* the driver has one partition of every topic */
}

static rv_err_t coll_flush(void *opaque, char *errstr, size_t errstr_size) {
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    return 0; /* every send is complete when it returns */
}

static int64_t coll_last_offset(void *opaque, const char *topic, int32_t partition) {
    rv_test_driver_t *d = opaque;
    (void)partition;
    out_topic_t *o = out_topic(d, topic, false);
    return o && o->cnt ? (int64_t)o->cnt - 1 : -1;
}

static int64_t driver_clock(void *opaque) {
    return ((rv_test_driver_t *)opaque)->now;
}

/* ---- Running ---- */

static rv_err_t fail(rv_test_driver_t *d, rv_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rv_err_t fail(rv_test_driver_t *d, rv_err_t err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return err;
}

/* The task whose sub-topology reads `topic`, or NULL. */
static rv__task_t *task_for_topic(rv_test_driver_t *d, const char *topic) {
    const char *app = rv_conf_get(d->conf, "application.id");
    size_t n = rv__topology_node_count(d->topo);
    for (size_t i = 0; i < n; i++) {
        const rv__tnode_t *tn = rv__topology_node(d->topo, i);
        if (tn->kind != RV__TNODE_SOURCE)
            continue;
        int match = tn->pattern && rv__topology_source_matches(tn, topic);
        for (size_t k = 0; !match && k < tn->topic_cnt; k++) {
            char name[512];
            match = !rv__topology_topic_name(name, sizeof name, app, tn->topics[k],
                                             tn->source.internal) &&
                    !strcmp(name, topic);
        }
        if (!match)
            continue;
        for (size_t t = 0; t < d->task_cnt; t++)
            if (d->task_sub[t] == tn->subtopology)
                return d->tasks[t];
    }
    return NULL;
}

/* Feeds captured records of topics the topology reads back in. */
static rv_err_t refeed(rv_test_driver_t *d) {
    for (size_t i = 0; i < d->out_cnt; i++) {
        out_topic_t *o = &d->outs[i];
        if (o->fed == o->cnt)
            continue;
        rv__task_t *t = task_for_topic(d, o->name);
        if (!t) {
            o->fed = o->cnt;
            continue;
        }
        while (o->fed < o->cnt) {
            rv_test_record_t *r = o->v[o->fed];
            int64_t off = (int64_t)o->fed++;
            rv_err_t err =
                rv__task_add_record(t, r->topic, 0, off, r->timestamp, r->key, r->key_len, r->value,
                                    r->value_len, r->headers, r->header_cnt, d->err, sizeof d->err);
            if (err)
                return err;
        }
    }
    return 0;
}

/* Processes until every task's queue is empty. */
static rv_err_t run(rv_test_driver_t *d) {
    for (;;) {
        rv_err_t err = refeed(d);
        if (err)
            return err;
        rv__task_t *t = NULL;
        for (size_t i = 0; i < d->task_cnt && !t; i++)
            if (rv__task_queued(d->tasks[i]))
                t = d->tasks[i];
        if (!t)
            return 0;
        int processed = 0;
        err = rv__task_process(t, &processed, d->err, sizeof d->err);
        if (!err)
            err = rv__task_punctuate_stream_time(t, NULL, d->err, sizeof d->err);
        if (!err)
            err = rv__task_commit(t, true, NULL, NULL, d->err, sizeof d->err);
        if (err)
            return err;
    }
}

static rv_err_t guard(rv_test_driver_t *d) {
    if (d->failed)
        return RV_ERR__STATE; /* d->err still says why */
    d->err[0] = '\0';
    return 0;
}

rv_err_t rv_test_driver_pipe_input(rv_test_driver_t *d, const char *topic, const void *key,
                                   int32_t key_len, const void *value, int32_t value_len,
                                   int64_t timestamp, const rv_header_t *headers,
                                   size_t header_cnt) {
    rv_err_t err = guard(d);
    if (err)
        return err;
    rv__task_t *t = topic ? task_for_topic(d, topic) : NULL;
    if (!t)
        return fail(d, RV_ERR__INVALID_ARG,
                    "Unknown topic: %s. The topology has no source that reads it.",
                    topic ? topic : "null");
    in_topic_t *in = NULL;
    for (size_t i = 0; i < d->in_cnt && !in; i++)
        if (!strcmp(d->ins[i].name, topic))
            in = &d->ins[i];
    if (!in) {
        in_topic_t *nv = realloc(d->ins, (d->in_cnt + 1) * sizeof *nv);
        if (!nv)
            return fail(d, RV_ERR__NOMEM, "Out of memory");
        d->ins = nv;
        in = &nv[d->in_cnt];
        in->name = strdup(topic);
        in->next_offset = 0;
        if (!in->name)
            return fail(d, RV_ERR__NOMEM, "Out of memory");
        d->in_cnt++;
    }
    err = rv__task_add_record(t, topic, 0, in->next_offset++, timestamp, key, key_len, value,
                              value_len, headers, header_cnt, d->err, sizeof d->err);
    if (!err)
        err = run(d);
    if (err && rv__task_failed(t))
        d->failed = true;
    for (size_t i = 0; i < d->task_cnt; i++)
        if (rv__task_failed(d->tasks[i]))
            d->failed = true;
    return err;
}

rv_err_t rv_test_driver_advance_wall_clock(rv_test_driver_t *d, int64_t advance_ms) {
    rv_err_t err = guard(d);
    if (err)
        return err;
    if (advance_ms < 0)
        return fail(d, RV_ERR__INVALID_ARG, "advance must not be negative");
    d->now += advance_ms;
    for (size_t i = 0; i < d->task_cnt && !err; i++) {
        err = rv__task_punctuate_wall_clock(d->tasks[i], d->now, NULL, d->err, sizeof d->err);
        if (!err)
            err = rv__task_commit(d->tasks[i], true, NULL, NULL, d->err, sizeof d->err);
    }
    if (!err)
        err = run(d);
    for (size_t i = 0; i < d->task_cnt; i++)
        if (rv__task_failed(d->tasks[i]))
            d->failed = true;
    return err;
}

int64_t rv_test_driver_wall_clock(const rv_test_driver_t *d) {
    return d->now;
}

rv_err_t rv_test_driver_read_output(rv_test_record_t **out, rv_test_driver_t *d,
                                    const char *topic) {
    *out = NULL;
    out_topic_t *o = topic ? out_topic(d, topic, false) : NULL;
    if (!o || o->read == o->cnt)
        return RV_ERR__NOENT;
    /* The captured copy stays for feeding back and offsets; hand out a
     * copy the caller owns. */
    rv_test_record_t *r = o->v[o->read];
    *out = record_new(r->topic, r->partition, r->key, r->key_len, r->value, r->value_len,
                      r->timestamp, r->headers, r->header_cnt);
    if (!*out)
        return RV_ERR__NOMEM;
    o->read++;
    return 0;
}

int rv_test_driver_is_empty(const rv_test_driver_t *d, const char *topic) {
    for (size_t i = 0; topic && i < d->out_cnt; i++)
        if (!strcmp(d->outs[i].name, topic))
            return d->outs[i].read == d->outs[i].cnt;
    return 1;
}

rv_kv_store_t *rv_test_driver_get_kv_store(rv_test_driver_t *d, const char *name) {
    for (size_t i = 0; name && i < d->task_cnt; i++) {
        rv_kv_store_t *s = rv__task_store(d->tasks[i], name);
        if (s)
            return s;
    }
    return NULL;
}

const char *rv_test_driver_last_error(const rv_test_driver_t *d) {
    return d->err;
}

static rv_kv_store_t *global_store(void *opaque, const char *name) {
    rv_test_driver_t *d = opaque;
    for (size_t i = 0; i < d->task_cnt; i++) {
        const rv__subtopology_t *st = rv__topology_subtopology(d->topo, (size_t)d->task_sub[i]);
        rv_kv_store_t *s = st->global ? rv__task_store(d->tasks[i], name) : NULL;
        if (s)
            return s;
    }
    return NULL;
}

/* ---- Creation ---- */

static void driver_free(rv_test_driver_t *d) {
    for (size_t i = 0; i < d->task_cnt; i++) {
        if (!rv__task_failed(d->tasks[i]))
            rv__task_close(d->tasks[i], true, NULL, 0);
        rv__task_destroy(d->tasks[i]);
    }
    free(d->tasks);
    free(d->task_sub);
    rv__state_dir_destroy(d->sd);
    if (d->tmp_root)
        rv__io_rmtree(d->tmp_root);
    else if (d->app_dir)
        rv__io_rmtree(d->app_dir);
    free(d->tmp_root);
    free(d->app_dir);
    for (size_t i = 0; i < d->out_cnt; i++) {
        for (size_t j = 0; j < d->outs[i].cnt; j++)
            rv_test_record_destroy(d->outs[i].v[j]);
        free(d->outs[i].v);
        free(d->outs[i].name);
    }
    free(d->outs);
    for (size_t i = 0; i < d->in_cnt; i++)
        free(d->ins[i].name);
    free(d->ins);
}

void rv_test_driver_destroy(rv_test_driver_t *d) {
    if (!d)
        return;
    driver_free(d);
    rv_conf_destroy(d->conf);
    free(d);
}

rv_test_driver_t *rv_test_driver_new(rv_topology_t *topology, rv_conf_t *conf,
                                     int64_t initial_wall_clock_ms, char *errstr,
                                     size_t errstr_size) {
    if (!topology) {
        rv__errstr_set(errstr, errstr_size, "topology must not be null");
        return NULL;
    }
    if (!rv__topology_is_built(topology) && rv_topology_build(topology, errstr, errstr_size))
        return NULL;
    rv_test_driver_t *d = calloc(1, sizeof *d);
    /* Work on a copy, so a failure leaves the caller's conf untouched. */
    rv_conf_t *own = conf ? rv_conf_dup(conf) : rv_conf_new();
    if (!d || !own) {
        free(d);
        rv_conf_destroy(own);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    d->topo = topology;
    d->conf = own;
    d->now = initial_wall_clock_ms;
    rv_err_t err = 0;
    const char *app = rv_conf_get(own, "application.id");
    if (!app && rv_conf_set(own, "application.id", DUMMY_APP_ID, errstr, errstr_size))
        err = RV_ERR__INVALID_ARG;
    app = rv_conf_get(own, "application.id");
    /* Kafka's TopologyTestDriver emits throttled results at once: the
     * wall-clock emission intervals are 0 unless the app sets them (an
     * unset property reads as the table's own default string). */
    static const char *const emit_knobs[] = {
        "__emit.interval.ms.kstreams.windowed.aggregation__",
        "__emit.interval.ms.kstreams.outer.join.spurious.results.fix__"};
    for (size_t i = 0; !err && i < sizeof emit_knobs / sizeof emit_knobs[0]; i++) {
        const rv__prop_t *prop = rv__prop_find(rv__conf_props, emit_knobs[i]);
        if (prop && rv_conf_get(own, emit_knobs[i]) == prop->dflt &&
            rv_conf_set(own, emit_knobs[i], "0", errstr, errstr_size))
            err = RV_ERR__INVALID_ARG;
    }
    const char *sdir = rv_conf_get(own, "state.dir");
    if (!err && (!sdir || !strcmp(sdir, DEFAULT_STATE_DIR))) {
        const char *tmp = getenv("TMPDIR");
        char tmpl[4096];
        snprintf(tmpl, sizeof tmpl, "%s/rivulet-test-driver-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(tmpl)) {
            rv__errstr_set(errstr, errstr_size, "Cannot create a state folder %s: %m", tmpl);
            err = RV_ERR__IO;
        } else if (!(d->tmp_root = strdup(tmpl))) {
            rv__io_rmtree(tmpl);
            err = RV_ERR__NOMEM;
        }
        sdir = d->tmp_root;
    }
    if (!err)
        err = rv__state_dir_open(&d->sd, sdir, app, errstr, errstr_size);
    if (!err && !d->tmp_root && !(d->app_dir = strdup(rv__state_dir_path(d->sd))))
        err = RV_ERR__NOMEM;

    size_t subs = rv__topology_subtopology_count(topology);
    d->tasks = calloc(subs ? subs : 1, sizeof *d->tasks);
    d->task_sub = calloc(subs ? subs : 1, sizeof *d->task_sub);
    if (!err && (!d->tasks || !d->task_sub))
        err = RV_ERR__NOMEM;
    for (size_t i = 0; !err && i < subs; i++) {
        const rv__subtopology_t *st = rv__topology_subtopology(topology, i);
        rv__task_opts_t o;
        memset(&o, 0, sizeof o);
        o.topology = topology;
        o.subtopology = st->id;
        o.partition = 0;
        o.conf = own;
        o.state_dir = d->sd;
        o.collector.send = coll_send;
        o.collector.partition_count = coll_partition_count;
        o.collector.flush = coll_flush;
        o.collector.last_offset = coll_last_offset;
        o.collector.opaque = d;
        o.clock = driver_clock;
        o.clock_opaque = d;
        o.global_store = global_store;
        o.global_store_opaque = d;
        rv__task_t *t = NULL;
        err = rv__task_new(&t, &o, errstr, errstr_size);
        if (!err) {
            d->task_sub[d->task_cnt] = st->id;
            d->tasks[d->task_cnt++] = t;
        }
    }
    for (size_t i = 0; !err && i < d->task_cnt; i++)
        err = rv__task_init(d->tasks[i], errstr, errstr_size);
    if (!err) {
        err = run(d); /* records an init() forwarded or wrote */
        if (err)
            rv__errstr_set(errstr, errstr_size, "%s", d->err);
    }
    if (err) {
        if (err == RV_ERR__NOMEM && errstr && errstr_size && !*errstr)
            rv__errstr_set(errstr, errstr_size, "Out of memory");
        driver_free(d);
        rv_conf_destroy(own);
        free(d);
        return NULL;
    }
    rv_conf_destroy(conf);
    return d;
}
