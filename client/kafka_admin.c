/* client/kafka_admin.c: the kafka backend of the admin client
 * (rivulet/admin.h through client/kafka_admin.h): every operation as a
 * librdkafka admin request to a Kafka cluster or a `rivulet broker`.
 *
 * DESIGN
 *
 * One rd_kafka_t per admin client, of consumer type without a group.id:
 * the admin API works on any client type, and a consumer instance takes
 * isolation.level (ListOffsets then reports the high watermark, not the
 * last stable offset) and never asks the broker to auto-create topics.
 * librdkafka's log goes to rivulet's logger (common/logger.h).
 *
 * Each call is synchronous: it makes a temporary queue, issues the
 * asynchronous librdkafka request with request.timeout.ms as its request
 * (and operation) timeout, and waits on that queue for the one result
 * event. Calls share nothing else, so several threads may call at once.
 *
 * Mapping (request versions as librdkafka 2.0.2 sends them against the
 * ranges of docs/reference kafka-protocol.md 1.3):
 *   create/delete topic, create partitions   CreateTopics v4, DeleteTopics
 *                                             v1, CreatePartitions v0
 *   list topics, describe topic               Metadata v4 for all topics
 *                                             (never auto-creates), then
 *                                             ListOffsets v2 per partition
 *                                             and DescribeConfigs v1
 *   describe configs                          DescribeConfigs v1
 *   alter configs                             DescribeConfigs v1, then
 *                                             AlterConfigs v0 with the
 *                                             whole new set (below)
 *   delete records                            DeleteRecords v1
 *   list / describe / delete groups           ListGroups v2, DescribeGroups
 *                                             v2, DeleteGroups v1
 *   list / alter group offsets                OffsetFetch v5, OffsetCommit
 *                                             v7 (generation -1)
 *
 * Where librdkafka 2.0.2 cannot do what the public API promises:
 *   - It has no IncrementalAlterConfigs, so an incremental alter reads the
 *     topic's own configs (source DYNAMIC_TOPIC_CONFIG), applies the sets
 *     and deletes, and sends the complete result with AlterConfigs, which
 *     replaces the topic's configs atomically. A concurrent alter by
 *     someone else between the two requests can be lost.
 *   - Metadata v4 carries no topic id: descriptions report Kafka's zero
 *     id, "AAAAAAAAAAAAAAAAAAAAAA".
 *   - ListGroups v2 carries no state: when states are asked for, the
 *     groups are described too.
 * Error codes are Kafka's; when the broker sends no message (or
 * librdkafka answers locally) the message is the embedded backend's for
 * the same situation. */
#include "client/kafka_admin.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kafka_conf.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"

/* Kafka's Uuid.ZERO_UUID as Kafka prints it: the id of a topic whose
 * broker does not say. */
#define ZERO_TOPIC_ID "AAAAAAAAAAAAAAAAAAAAAA"
/* How long past the request timeout a call still waits for librdkafka's
 * own timeout result before giving up itself. */
#define RESULT_GRACE_MS 5000

struct rv__kadmin_s {
    rd_kafka_t *rk;
    int timeout_ms; /* request.timeout.ms */
};

/* librdkafka's log lines (any librdkafka thread) into rivulet's logger:
 * both use syslog levels. Connection failures ("FAIL") and client-wide
 * errors ("ERROR", such as "all brokers are down", logged because no
 * error_cb is set: nobody would poll for it) are only info: every call
 * that needed the connection returns the failure itself, and a tool must
 * print that as its only error. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    if ((!strcmp(fac, "FAIL") || !strcmp(fac, "ERROR")) && level < RV_LOG_INFO)
        level = RV_LOG_INFO;
    rv__log(level, "RDKAFKA", "%s: %s", fac, buf);
}

static bool rdconf_set(rd_kafka_conf_t *rc, const char *name, const char *value, char *errstr,
                       size_t errstr_size) {
    char why[256];
    if (rd_kafka_conf_set(rc, name, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return true;
    rv__errstr_set(errstr, errstr_size, "%s", why);
    return false;
}

rv__kadmin_t *rv__kadmin_new(const rv_conf_t *conf, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *full = rv__kafka_conf_new(conf, RV__KAFKA_ADMIN, errstr, errstr_size);
    if (!full)
        return NULL;
    /* retry.backoff.ms is a producer property in librdkafka 2.0.2: a
     * consumer instance would warn about it on every start. */
    static const char *producer_only[] = {"retry.backoff.ms"};
    rd_kafka_conf_t *rc = rd_kafka_conf_dup_filter(full, 1, producer_only);
    rd_kafka_conf_destroy(full);
    if (!rc)
        return NULL;
    if (!rdconf_set(rc, "isolation.level", "read_uncommitted", errstr, errstr_size) ||
        !rdconf_set(rc, "allow.auto.create.topics", "false", errstr, errstr_size) ||
        !rdconf_set(rc, "log.connection.close", "false", errstr, errstr_size)) {
        rd_kafka_conf_destroy(rc);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(rc, log_cb);
    rv__kadmin_t *k = calloc(1, sizeof *k);
    if (!k) {
        rd_kafka_conf_destroy(rc);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    int64_t tmo = rv__conf_get_int64(conf, "request.timeout.ms", 30000);
    k->timeout_ms = tmo > 0 && tmo < 0x7fffffff - RESULT_GRACE_MS ? (int)tmo : 30000;
    char why[512];
    if (!(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rc, why, sizeof why))) {
        rd_kafka_conf_destroy(rc); /* not taken on failure */
        free(k);
        rv__errstr_set(errstr, errstr_size, "Cannot create the Kafka admin client: %s", why);
        return NULL;
    }
    return k;
}

void rv__kadmin_destroy(rv__kadmin_t *k) {
    if (!k)
        return;
    rd_kafka_destroy(k->rk);
    free(k);
}

/* ---- errors ---- */

static rv_err_t nomem(char *errstr, size_t errstr_size) {
    rv__errstr_set(errstr, errstr_size, "Out of memory");
    return RV_ERR__NOMEM;
}

/* rivulet's code for a librdkafka result: librdkafka's local "unknown
 * topic / partition" (it found none in its metadata) is Kafka's
 * UNKNOWN_TOPIC_OR_PARTITION, as the embedded backend reports it. */
static rv_err_t map_err(rd_kafka_resp_err_t rerr) {
    if (rerr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || rerr == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return rv__kafka_err(rerr);
}

/* Sets errstr for a failed result and returns the code. `msg` is what
 * librdkafka reports: the broker's own message, or when the broker sent
 * none librdkafka's description of the code; then `fallback` (the
 * embedded backend's message; NULL for the code's description) is used.
 * A librdkafka code rivulet has no name for keeps librdkafka's text. */
static rv_err_t fail(rd_kafka_resp_err_t rerr, const char *msg, const char *fallback, char *errstr,
                     size_t errstr_size) {
    rv_err_t err = map_err(rerr);
    if (err == RV_ERR__FAIL && rerr != RD_KAFKA_RESP_ERR__FAIL && !fallback)
        rv__errstr_set(errstr, errstr_size, "%s", msg && *msg ? msg : rd_kafka_err2str(rerr));
    else if (msg && *msg && strcmp(msg, rd_kafka_err2str(rerr)) != 0)
        rv__errstr_set(errstr, errstr_size, "%s", msg);
    else if (fallback)
        rv__errstr_set(errstr, errstr_size, "%s", fallback);
    else
        rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
    return err;
}

/* The embedded backend's message for an unknown topic. */
static const char *unknown_topic_msg(char *buf, size_t size, const char *topic) {
    snprintf(buf, size, "Topic '%s' does not exist.", topic);
    return buf;
}

/* ---- one request: a queue, options, and the wait for the result ---- */

typedef struct call_s {
    rv__kadmin_t *k;
    rd_kafka_queue_t *q;
    rd_kafka_AdminOptions_t *opts;
} call_t;

static void call_end(call_t *c) {
    if (c->opts)
        rd_kafka_AdminOptions_destroy(c->opts);
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    c->opts = NULL;
    c->q = NULL;
}

/* Prepares a request of kind `op`. with_op_timeout: the broker waits up to
 * the timeout for the operation too (topic creation and the like). */
static rv_err_t call_begin(call_t *c, rv__kadmin_t *k, rd_kafka_admin_op_t op, bool with_op_timeout,
                           char *errstr, size_t errstr_size) {
    c->k = k;
    c->q = rd_kafka_queue_new(k->rk);
    c->opts = rd_kafka_AdminOptions_new(k->rk, op);
    if (!c->q || !c->opts) {
        call_end(c);
        return nomem(errstr, errstr_size);
    }
    char why[256];
    if (rd_kafka_AdminOptions_set_request_timeout(c->opts, k->timeout_ms, why, sizeof why) ||
        (with_op_timeout &&
         rd_kafka_AdminOptions_set_operation_timeout(c->opts, k->timeout_ms, why, sizeof why))) {
        call_end(c);
        rv__errstr_set(errstr, errstr_size, "%s", why);
        return RV_ERR__INVALID_ARG;
    }
    return RV_ERR_NO_ERROR;
}

/* Waits for the result event of type `type`. NULL with *err and errstr
 * set when the request as a whole failed or no result came in time.
 * Caller owns the event; free with rd_kafka_event_destroy(). */
static rd_kafka_event_t *call_wait(call_t *c, rd_kafka_event_type_t type, rv_err_t *err,
                                   char *errstr, size_t errstr_size) {
    int left = c->k->timeout_ms + RESULT_GRACE_MS;
    while (left > 0) {
        int slice = left < 100 ? left : 100;
        rd_kafka_event_t *ev = rd_kafka_queue_poll(c->q, slice);
        left -= slice;
        if (!ev)
            continue;
        if (rd_kafka_event_type(ev) != type) {
            rd_kafka_event_destroy(ev);
            continue;
        }
        rd_kafka_resp_err_t rerr = rd_kafka_event_error(ev);
        if (rerr) {
            *err = fail(rerr, rd_kafka_event_error_string(ev), NULL, errstr, errstr_size);
            rd_kafka_event_destroy(ev);
            return NULL;
        }
        return ev;
    }
    *err = RV_ERR__TIMED_OUT;
    rv__errstr_set(errstr, errstr_size, "Timed out waiting for the broker after %d ms",
                   c->k->timeout_ms);
    return NULL;
}

/* The error of a single-topic result. */
static rv_err_t topic_result(const rd_kafka_topic_result_t **res, size_t cnt, const char *topic,
                             char *errstr, size_t errstr_size) {
    if (cnt < 1) {
        rv__errstr_set(errstr, errstr_size, "The broker returned no result for topic %s", topic);
        return RV_ERR__FAIL;
    }
    rd_kafka_resp_err_t rerr = rd_kafka_topic_result_error(res[0]);
    if (!rerr)
        return RV_ERR_NO_ERROR;
    char buf[400];
    const char *fallback = NULL;
    if (rerr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(buf, sizeof buf, "Topic '%s' already exists.", topic);
        fallback = buf;
    } else if (rerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        fallback = unknown_topic_msg(buf, sizeof buf, topic);
    }
    return fail(rerr, rd_kafka_topic_result_error_string(res[0]), fallback, errstr, errstr_size);
}

/* ---- topics ---- */

rv_err_t rv__kadmin_create_topic(rv__kadmin_t *k, const char *topic, int32_t partitions, int16_t rf,
                                 const char *const *names, const char *const *values, size_t cnt,
                                 char *errstr, size_t errstr_size) {
    /* librdkafka refuses these locally; answer as the broker would. */
    if (!*topic) {
        rv__errstr_set(errstr, errstr_size, "Topic name is illegal, it can't be empty");
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (partitions == 0 || partitions < -1) {
        rv__errstr_set(errstr, errstr_size,
                       "Number of partitions was set to an invalid non-positive value.");
        return RV_ERR_INVALID_PARTITIONS;
    }
    if (rf == 0 || rf < -1) {
        rv__errstr_set(errstr, errstr_size,
                       "Replication factor must be larger than 0, or -1 to use the default value.");
        return RV_ERR_INVALID_REPLICATION_FACTOR;
    }
    char why[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, rf, why, sizeof why);
    if (!nt) {
        rv__errstr_set(errstr, errstr_size, "%s", why);
        return RV_ERR_INVALID_REQUEST;
    }
    for (size_t i = 0; i < cnt; i++) {
        if (!names[i] || !values[i]) {
            rd_kafka_NewTopic_destroy(nt);
            rv__errstr_set(errstr, errstr_size, "Invalid value null for configuration %s",
                           names[i] ? names[i] : "null");
            return RV_ERR_INVALID_CONFIG;
        }
        if (rd_kafka_NewTopic_set_config(nt, names[i], values[i])) {
            rd_kafka_NewTopic_destroy(nt);
            return nomem(errstr, errstr_size);
        }
    }
    call_t c;
    rv_err_t err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_CREATETOPICS, true, errstr, errstr_size);
    if (err) {
        rd_kafka_NewTopic_destroy(nt);
        return err;
    }
    rd_kafka_CreateTopics(k->rk, &nt, 1, c.opts, c.q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_CREATETOPICS_RESULT, &err, errstr, errstr_size);
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        err = topic_result(res, n, topic, errstr, errstr_size);
        rd_kafka_event_destroy(ev);
    }
    call_end(&c);
    return err;
}

rv_err_t rv__kadmin_delete_topic(rv__kadmin_t *k, const char *topic, char *errstr,
                                 size_t errstr_size) {
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    if (!dt)
        return nomem(errstr, errstr_size);
    call_t c;
    rv_err_t err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_DELETETOPICS, true, errstr, errstr_size);
    if (err) {
        rd_kafka_DeleteTopic_destroy(dt);
        return err;
    }
    rd_kafka_DeleteTopics(k->rk, &dt, 1, c.opts, c.q);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_DELETETOPICS_RESULT, &err, errstr, errstr_size);
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        err = topic_result(res, n, topic, errstr, errstr_size);
        rd_kafka_event_destroy(ev);
    }
    call_end(&c);
    return err;
}

/* Metadata of every topic: asking for all (topics = null) never makes the
 * broker auto-create one. Caller owns *md; free with
 * rd_kafka_metadata_destroy(). */
static rv_err_t all_metadata(rv__kadmin_t *k, const struct rd_kafka_metadata **md, char *errstr,
                             size_t errstr_size) {
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(k->rk, 1, NULL, md, k->timeout_ms);
    if (rerr) {
        *md = NULL;
        rv_err_t err = map_err(rerr);
        rv__errstr_set(errstr, errstr_size, "Cannot read the cluster metadata: %s",
                       rd_kafka_err2str(rerr));
        return err;
    }
    return RV_ERR_NO_ERROR;
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rv_err_t rv__kadmin_list_topics(rv__kadmin_t *k, bool include_internal, char ***names, size_t *cnt,
                                char *errstr, size_t errstr_size) {
    const struct rd_kafka_metadata *md;
    rv_err_t err = all_metadata(k, &md, errstr, errstr_size);
    if (err)
        return err;
    int n = md->topic_cnt;
    char **v = calloc(n > 0 ? (size_t)n : 1, sizeof *v);
    size_t m = 0;
    for (int i = 0; v && i < n; i++) {
        const char *t = md->topics[i].topic;
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            (!include_internal && !strncmp(t, "__", 2)))
            continue;
        if (!(v[m] = strdup(t))) {
            rv_strv_free(v, m);
            v = NULL;
            break;
        }
        m++;
    }
    rd_kafka_metadata_destroy(md);
    if (!v)
        return nomem(errstr, errstr_size);
    qsort(v, m, sizeof *v, str_cmp);
    *names = v;
    *cnt = m;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__kadmin_describe_topic(rv__kadmin_t *k, const char *topic, rv_topic_description_t **out,
                                   char *errstr, size_t errstr_size) {
    const struct rd_kafka_metadata *md;
    rv_err_t err = all_metadata(k, &md, errstr, errstr_size);
    if (err)
        return err;
    const struct rd_kafka_metadata_topic *mt = NULL;
    for (int i = 0; i < md->topic_cnt && !mt; i++)
        if (!strcmp(md->topics[i].topic, topic))
            mt = &md->topics[i];
    char buf[400];
    if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        rd_kafka_metadata_destroy(md);
        rv__errstr_set(errstr, errstr_size, "%s", unknown_topic_msg(buf, sizeof buf, topic));
        return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    int16_t rf = mt->partition_cnt > 0 ? (int16_t)mt->partitions[0].replica_cnt : 0;
    rv_topic_description_t *d =
        rv__topic_description_new(topic, ZERO_TOPIC_ID, mt->partition_cnt, rf);
    if (!d) {
        rd_kafka_metadata_destroy(md);
        return nomem(errstr, errstr_size);
    }
    /* Partitions come in any order; the description is indexed by id. */
    for (int i = 0; i < mt->partition_cnt && !err; i++) {
        const struct rd_kafka_metadata_partition *p = &mt->partitions[i];
        int64_t lo = -1, hi = -1;
        if (p->leader >= 0) {
            rd_kafka_resp_err_t rerr =
                rd_kafka_query_watermark_offsets(k->rk, topic, p->id, &lo, &hi, k->timeout_ms);
            if (rerr) {
                err = map_err(rerr);
                rv__errstr_set(errstr, errstr_size, "Cannot read the offsets of %s-%d: %s", topic,
                               (int)p->id, rd_kafka_err2str(rerr));
            }
        }
        rv__topic_description_set_partition(d, p->id, p->leader, lo, hi);
    }
    rd_kafka_metadata_destroy(md);
    rv_config_list_t *configs = NULL;
    if (!err)
        err = rv__kadmin_describe_configs(k, topic, &configs, errstr, errstr_size);
    if (err) {
        rv_topic_description_destroy(d);
        return err;
    }
    rv__topic_description_set_configs(d, configs);
    *out = d;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__kadmin_create_partitions(rv__kadmin_t *k, const char *topic, int32_t total,
                                      char *errstr, size_t errstr_size) {
    char why[512];
    rd_kafka_NewPartitions_t *np =
        total >= 1 ? rd_kafka_NewPartitions_new(topic, (size_t)total, why, sizeof why) : NULL;
    if (!np) {
        rv__errstr_set(errstr, errstr_size,
                       "Number of partitions must be larger than 0 and at most 100000, not %d.",
                       (int)total);
        return RV_ERR_INVALID_PARTITIONS;
    }
    call_t c;
    rv_err_t err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, true, errstr, errstr_size);
    if (err) {
        rd_kafka_NewPartitions_destroy(np);
        return err;
    }
    rd_kafka_CreatePartitions(k->rk, &np, 1, c.opts, c.q);
    rd_kafka_NewPartitions_destroy(np);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, &err, errstr, errstr_size);
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        err = topic_result(res, n, topic, errstr, errstr_size);
        rd_kafka_event_destroy(ev);
    }
    call_end(&c);
    return err;
}

/* ---- configs ---- */

/* The error of a single-resource config result. */
static rv_err_t resource_result(const rd_kafka_ConfigResource_t **res, size_t cnt,
                                const char *topic, char *errstr, size_t errstr_size) {
    if (cnt < 1) {
        rv__errstr_set(errstr, errstr_size, "The broker returned no result for topic %s", topic);
        return RV_ERR__FAIL;
    }
    rd_kafka_resp_err_t rerr = rd_kafka_ConfigResource_error(res[0]);
    if (!rerr)
        return RV_ERR_NO_ERROR;
    char buf[400];
    return fail(rerr, rd_kafka_ConfigResource_error_string(res[0]),
                rerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                    ? unknown_topic_msg(buf, sizeof buf, topic)
                    : NULL,
                errstr, errstr_size);
}

rv_err_t rv__kadmin_describe_configs(rv__kadmin_t *k, const char *topic, rv_config_list_t **out,
                                     char *errstr, size_t errstr_size) {
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    if (!cr)
        return nomem(errstr, errstr_size);
    call_t c;
    rv_err_t err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, false, errstr, errstr_size);
    if (err) {
        rd_kafka_ConfigResource_destroy(cr);
        return err;
    }
    rd_kafka_DescribeConfigs(k->rk, &cr, 1, c.opts, c.q);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!ev)
        return err;
    size_t n = 0;
    const rd_kafka_ConfigResource_t **res =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    err = resource_result(res, n, topic, errstr, errstr_size);
    rv_config_list_t *l = NULL;
    if (!err && !(l = rv__config_list_new()))
        err = nomem(errstr, errstr_size);
    size_t ecnt = 0;
    const rd_kafka_ConfigEntry_t **ents =
        err ? NULL : rd_kafka_ConfigResource_configs(res[0], &ecnt);
    for (size_t i = 0; !err && i < ecnt; i++) {
        const rd_kafka_ConfigEntry_t *e = ents[i];
        if (rd_kafka_ConfigEntry_is_synonym(e) == 1)
            continue;
        /* "Default" in the public API means "not set on the topic"; the
         * config source says exactly that (DescribeConfigs v1+), the
         * is_default flag of v0 nearly so. */
        rd_kafka_ConfigSource_t src = rd_kafka_ConfigEntry_source(e);
        bool dflt = src == RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG
                        ? rd_kafka_ConfigEntry_is_default(e) == 1
                        : src != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
        if (rv__config_list_add(l, rd_kafka_ConfigEntry_name(e), rd_kafka_ConfigEntry_value(e),
                                dflt))
            err = nomem(errstr, errstr_size);
    }
    rd_kafka_event_destroy(ev);
    if (err) {
        rv_config_list_destroy(l);
        return err;
    }
    rv__config_list_sort(l);
    *out = l;
    return RV_ERR_NO_ERROR;
}

static bool in_list(const char *name, const char *const *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], name))
            return true;
    return false;
}

rv_err_t rv__kadmin_alter_configs(rv__kadmin_t *k, const char *topic, const char *const *set_names,
                                  const char *const *set_values, size_t set_cnt,
                                  const char *const *del_names, size_t del_cnt, char *errstr,
                                  size_t errstr_size) {
    for (size_t i = 0; i < set_cnt; i++) {
        if (!set_names[i] || !set_values[i]) {
            rv__errstr_set(errstr, errstr_size, "Invalid value null for configuration %s",
                           set_names[i] ? set_names[i] : "null");
            return RV_ERR_INVALID_CONFIG;
        }
    }
    for (size_t i = 0; i < del_cnt; i++) {
        if (!del_names[i]) {
            rv__errstr_set(errstr, errstr_size, "Unknown topic config name: null");
            return RV_ERR_INVALID_CONFIG;
        }
    }
    /* Kafka rejects a request naming one config twice. */
    for (size_t i = 0; i < set_cnt + del_cnt; i++) {
        const char *a = i < set_cnt ? set_names[i] : del_names[i - set_cnt];
        for (size_t j = i + 1; j < set_cnt + del_cnt; j++) {
            const char *b = j < set_cnt ? set_names[j] : del_names[j - set_cnt];
            if (!strcmp(a, b)) {
                rv__errstr_set(errstr, errstr_size, "Error due to duplicate config keys: %s", a);
                return RV_ERR_INVALID_REQUEST;
            }
        }
    }
    /* The topic's own configs now, to carry over what is not altered. */
    rv_config_list_t *cur = NULL;
    rv_err_t err = rv__kadmin_describe_configs(k, topic, &cur, errstr, errstr_size);
    if (err)
        return err;
    for (size_t i = 0; i < del_cnt; i++) {
        if (!rv_config_list_get(cur, del_names[i]) && !in_list(del_names[i], set_names, set_cnt)) {
            /* Not a config the broker has for topics at all. */
            bool known = false;
            for (size_t j = 0; j < rv_config_list_count(cur) && !known; j++)
                known = !strcmp(rv_config_list_name(cur, j), del_names[i]);
            if (!known) {
                rv_config_list_destroy(cur);
                rv__errstr_set(errstr, errstr_size, "Unknown topic config name: %s", del_names[i]);
                return RV_ERR_INVALID_CONFIG;
            }
        }
    }
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    bool oom = !cr;
    for (size_t i = 0; !oom && i < rv_config_list_count(cur); i++) {
        const char *name = rv_config_list_name(cur, i);
        const char *value = rv_config_list_value(cur, i);
        if (rv_config_list_is_default(cur, i) || !value || in_list(name, set_names, set_cnt) ||
            in_list(name, del_names, del_cnt))
            continue;
        oom = rd_kafka_ConfigResource_set_config(cr, name, value) != RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    for (size_t i = 0; !oom && i < set_cnt; i++)
        oom = rd_kafka_ConfigResource_set_config(cr, set_names[i], set_values[i]) !=
              RD_KAFKA_RESP_ERR_NO_ERROR;
    rv_config_list_destroy(cur);
    if (oom) {
        if (cr)
            rd_kafka_ConfigResource_destroy(cr);
        return nomem(errstr, errstr_size);
    }
    call_t c;
    if ((err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, false, errstr, errstr_size))) {
        rd_kafka_ConfigResource_destroy(cr);
        return err;
    }
    rd_kafka_AlterConfigs(k->rk, &cr, 1, c.opts, c.q);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, &err, errstr, errstr_size);
    if (ev) {
        size_t n = 0;
        const rd_kafka_ConfigResource_t **res =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
        err = resource_result(res, n, topic, errstr, errstr_size);
        rd_kafka_event_destroy(ev);
    }
    call_end(&c);
    if (err && errstr && errstr_size) {
        /* Kafka's broker puts the resource before the reason; the embedded
         * backend (and so the tools' output) gives the reason alone. */
        char prefix[400];
        int pn = snprintf(prefix, sizeof prefix,
                          "Invalid config value for resource ConfigResource(type=TOPIC, "
                          "name='%s'): ",
                          topic);
        if (pn > 0 && (size_t)pn < sizeof prefix && !strncmp(errstr, prefix, (size_t)pn))
            memmove(errstr, errstr + pn, strlen(errstr + pn) + 1);
    }
    return err;
}

/* ---- records ---- */

rv_err_t rv__kadmin_delete_records(rv__kadmin_t *k, const char *topic, int32_t partition,
                                   int64_t offset, int64_t *low_watermark, char *errstr,
                                   size_t errstr_size) {
    if (offset < -1) {
        rv__errstr_set(errstr, errstr_size, "Cannot delete records of %s-%d below offset %lld",
                       topic, (int)partition, (long long)offset);
        return RV_ERR_OFFSET_OUT_OF_RANGE;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    if (!parts)
        return nomem(errstr, errstr_size);
    /* -1 is RD_KAFKA_OFFSET_END: the high watermark, as in the API. */
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = offset;
    rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (!dr)
        return nomem(errstr, errstr_size);
    call_t c;
    rv_err_t err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_DELETERECORDS, true, errstr, errstr_size);
    if (err) {
        rd_kafka_DeleteRecords_destroy(dr);
        return err;
    }
    rd_kafka_DeleteRecords(k->rk, &dr, 1, c.opts, c.q);
    rd_kafka_DeleteRecords_destroy(dr);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_DELETERECORDS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!ev && err == RV_ERR__NOENT) {
        /* librdkafka found no leader for the partition in the metadata:
         * the broker has no such partition. */
        rv__errstr_set(errstr, errstr_size, "This server does not host this topic-partition: %s-%d",
                       topic, (int)partition);
        return RV_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (!ev)
        return err;
    const rd_kafka_topic_partition_list_t *res =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    if (!res || res->cnt < 1) {
        rd_kafka_event_destroy(ev);
        rv__errstr_set(errstr, errstr_size, "The broker returned no result for %s-%d", topic,
                       (int)partition);
        return RV_ERR__FAIL;
    }
    rd_kafka_resp_err_t rerr = res->elems[0].err;
    int64_t low = res->elems[0].offset;
    rd_kafka_event_destroy(ev);
    if (!rerr) {
        if (low_watermark)
            *low_watermark = low;
        return RV_ERR_NO_ERROR;
    }
    char buf[512];
    const char *fallback = NULL;
    int64_t lo, hi;
    if (map_err(rerr) == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        snprintf(buf, sizeof buf, "This server does not host this topic-partition: %s-%d", topic,
                 (int)partition);
        fallback = buf;
    } else if (rerr == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE &&
               !rd_kafka_query_watermark_offsets(k->rk, topic, partition, &lo, &hi,
                                                 k->timeout_ms)) {
        snprintf(buf, sizeof buf,
                 "Cannot delete records of partition %s-%d up to offset %lld since it is "
                 "larger than the high watermark %lld",
                 topic, (int)partition, (long long)offset, (long long)hi);
        fallback = buf;
    }
    return fail(rerr, NULL, fallback, errstr, errstr_size);
}

/* ---- consumer groups ---- */

/* The error of a group result (an rd_kafka_error_t, NULL = success). */
static rv_err_t group_error(const rd_kafka_error_t *e, const char *group, char *errstr,
                            size_t errstr_size) {
    if (!e)
        return RV_ERR_NO_ERROR;
    rd_kafka_resp_err_t rerr = rd_kafka_error_code(e);
    char buf[400];
    const char *fallback = NULL;
    if (rerr == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        snprintf(buf, sizeof buf, "Group %s does not exist", group);
        fallback = buf;
    } else if (rerr == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP) {
        snprintf(buf, sizeof buf, "Group %s is not empty", group);
        fallback = buf;
    }
    /* librdkafka prefixes the code's description with the request name
     * when the broker sent no message: that is no message either. */
    const char *msg = rd_kafka_error_string(e);
    if (msg && strstr(msg, rd_kafka_err2str(rerr)))
        msg = NULL;
    return fail(rerr, msg, fallback, errstr, errstr_size);
}

/* Describes `cnt` groups in one request. Caller owns *ev (the result
 * event, which owns the descriptions); free with rd_kafka_event_destroy(). */
static rv_err_t describe_groups(rv__kadmin_t *k, const char **groups, size_t cnt,
                                rd_kafka_event_t **ev,
                                const rd_kafka_ConsumerGroupDescription_t ***out, size_t *out_cnt,
                                char *errstr, size_t errstr_size) {
    call_t c;
    rv_err_t err =
        call_begin(&c, k, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, false, errstr, errstr_size);
    if (err)
        return err;
    rd_kafka_DescribeConsumerGroups(k->rk, groups, cnt, c.opts, c.q);
    *ev = call_wait(&c, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!*ev)
        return err;
    *out = rd_kafka_DescribeConsumerGroups_result_groups(
        rd_kafka_event_DescribeConsumerGroups_result(*ev), out_cnt);
    return RV_ERR_NO_ERROR;
}

typedef struct listing_s {
    char *group;
    char *state;
    bool state_known;
} listing_t;

static int listing_cmp(const void *a, const void *b) {
    return strcmp(((const listing_t *)a)->group, ((const listing_t *)b)->group);
}

rv_err_t rv__kadmin_list_groups(rv__kadmin_t *k, char ***groups, char ***states, size_t *cnt,
                                char *errstr, size_t errstr_size) {
    call_t c;
    rv_err_t err =
        call_begin(&c, k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, false, errstr, errstr_size);
    if (err)
        return err;
    rd_kafka_ListConsumerGroups(k->rk, c.opts, c.q);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!ev)
        return err;
    const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
    size_t ecnt = 0, n = 0;
    const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(res, &ecnt);
    if (ecnt) {
        /* A broker that did not answer: the list would be incomplete. */
        err = fail(rd_kafka_error_code(errs[0]), rd_kafka_error_string(errs[0]), NULL, errstr,
                   errstr_size);
        rd_kafka_event_destroy(ev);
        return err;
    }
    const rd_kafka_ConsumerGroupListing_t **ls = rd_kafka_ListConsumerGroups_result_valid(res, &n);
    listing_t *v = calloc(n ? n : 1, sizeof *v);
    bool oom = !v;
    size_t m = 0;
    for (size_t i = 0; !oom && i < n; i++, m++) {
        rd_kafka_consumer_group_state_t st = rd_kafka_ConsumerGroupListing_state(ls[i]);
        v[m].group = strdup(rd_kafka_ConsumerGroupListing_group_id(ls[i]));
        v[m].state = strdup(rd_kafka_consumer_group_state_name(st));
        v[m].state_known = st != RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN;
        oom = !v[m].group || !v[m].state;
    }
    rd_kafka_event_destroy(ev);
    /* ListGroups before v4 carries no state: ask the coordinators. */
    bool unknown = false;
    for (size_t i = 0; states && i < m; i++)
        unknown |= !v[i].state_known;
    if (!oom && unknown && m) {
        const char **ids = calloc(m, sizeof *ids);
        oom = !ids;
        for (size_t i = 0; ids && i < m; i++)
            ids[i] = v[i].group;
        const rd_kafka_ConsumerGroupDescription_t **ds = NULL;
        size_t dcnt = 0;
        rd_kafka_event_t *dev = NULL;
        if (ids)
            err = describe_groups(k, ids, m, &dev, &ds, &dcnt, errstr, errstr_size);
        for (size_t j = 0; !oom && !err && j < dcnt; j++) {
            const char *gid = rd_kafka_ConsumerGroupDescription_group_id(ds[j]);
            for (size_t i = 0; i < m; i++) {
                if (strcmp(v[i].group, gid) || rd_kafka_ConsumerGroupDescription_error(ds[j]))
                    continue;
                char *s = strdup(rd_kafka_consumer_group_state_name(
                    rd_kafka_ConsumerGroupDescription_state(ds[j])));
                if (!s) {
                    oom = true;
                    break;
                }
                free(v[i].state);
                v[i].state = s;
            }
        }
        if (dev)
            rd_kafka_event_destroy(dev);
        free(ids);
    }
    char **g = oom || err ? NULL : calloc(m ? m : 1, sizeof *g);
    char **s = oom || err || !states ? NULL : calloc(m ? m : 1, sizeof *s);
    if (!err && (!g || (states && !s)))
        oom = true;
    if (!oom && !err) {
        qsort(v, m, sizeof *v, listing_cmp);
        for (size_t i = 0; i < m; i++) {
            g[i] = v[i].group;
            if (s)
                s[i] = v[i].state;
            else
                free(v[i].state);
        }
        free(v);
        *groups = g;
        if (states)
            *states = s;
        *cnt = m;
        return RV_ERR_NO_ERROR;
    }
    for (size_t i = 0; v && i < m; i++) {
        free(v[i].group);
        free(v[i].state);
    }
    free(v);
    free(g);
    free(s);
    return err ? err : nomem(errstr, errstr_size);
}

/* An rv list copy of librdkafka partitions (offsets RV_OFFSET_INVALID),
 * sorted. NULL when out of memory. */
static rv_topic_partition_list_t *copy_partitions(const rd_kafka_topic_partition_list_t *src) {
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(src ? (size_t)src->cnt : 0);
    for (int i = 0; l && src && i < src->cnt; i++) {
        if (!rv_topic_partition_list_add(l, src->elems[i].topic, src->elems[i].partition)) {
            rv_topic_partition_list_destroy(l);
            return NULL;
        }
    }
    if (l)
        rv_topic_partition_list_sort(l);
    return l;
}

rv_err_t rv__kadmin_describe_group(rv__kadmin_t *k, const char *group, rv_group_description_t **out,
                                   char *errstr, size_t errstr_size) {
    const rd_kafka_ConsumerGroupDescription_t **ds = NULL;
    size_t n = 0;
    rd_kafka_event_t *ev = NULL;
    rv_err_t err = describe_groups(k, &group, 1, &ev, &ds, &n, errstr, errstr_size);
    if (err)
        return err;
    if (n < 1) {
        rd_kafka_event_destroy(ev);
        rv__errstr_set(errstr, errstr_size, "The broker returned no result for group %s", group);
        return RV_ERR__FAIL;
    }
    const rd_kafka_ConsumerGroupDescription_t *gd = ds[0];
    const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(gd);
    /* Kafka's DescribeGroups answers an unknown group with state Dead. */
    if ((e && rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) ||
        (!e && rd_kafka_ConsumerGroupDescription_state(gd) == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD)) {
        rd_kafka_event_destroy(ev);
        rv__errstr_set(errstr, errstr_size, "Group %s not found.", group);
        return RV_ERR_GROUP_ID_NOT_FOUND;
    }
    if (e) {
        err = group_error(e, group, errstr, errstr_size);
        rd_kafka_event_destroy(ev);
        return err;
    }
    const rd_kafka_Node_t *node = rd_kafka_ConsumerGroupDescription_coordinator(gd);
    size_t mcnt = rd_kafka_ConsumerGroupDescription_member_count(gd);
    rv_group_description_t *d = rv__group_description_new(
        rd_kafka_ConsumerGroupDescription_group_id(gd),
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(gd)),
        rd_kafka_ConsumerGroupDescription_partition_assignor(gd),
        node ? rd_kafka_Node_id(node) : -1, mcnt);
    for (size_t i = 0; d && i < mcnt; i++) {
        const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(gd, i);
        const rd_kafka_MemberAssignment_t *a = rd_kafka_MemberDescription_assignment(m);
        const char *inst = rd_kafka_MemberDescription_group_instance_id(m);
        if (rv__group_description_add_member(
                d, rd_kafka_MemberDescription_consumer_id(m),
                rd_kafka_MemberDescription_client_id(m), rd_kafka_MemberDescription_host(m),
                inst && *inst ? inst : NULL,
                copy_partitions(a ? rd_kafka_MemberAssignment_partitions(a) : NULL))) {
            rv_group_description_destroy(d);
            d = NULL;
        }
    }
    rd_kafka_event_destroy(ev);
    if (!d)
        return nomem(errstr, errstr_size);
    *out = d;
    return RV_ERR_NO_ERROR;
}

/* The single group result of a group-offsets request. */
static const rd_kafka_group_result_t *one_group(const rd_kafka_group_result_t **res, size_t n,
                                                const char *group, rv_err_t *err, char *errstr,
                                                size_t errstr_size) {
    if (n < 1) {
        rv__errstr_set(errstr, errstr_size, "The broker returned no result for group %s", group);
        *err = RV_ERR__FAIL;
        return NULL;
    }
    *err = group_error(rd_kafka_group_result_error(res[0]), group, errstr, errstr_size);
    return *err ? NULL : res[0];
}

rv_err_t rv__kadmin_list_group_offsets(rv__kadmin_t *k, const char *group,
                                       rv_topic_partition_list_t **out, char *errstr,
                                       size_t errstr_size) {
    /* librdkafka 2.0.2 sends "no partitions" (meaning all of the group's)
     * as an empty topic array rather than null below OffsetFetch v6, so
     * the broker answers nothing; ask for every partition of every topic
     * instead. Offsets of topics deleted since are not listed. */
    const struct rd_kafka_metadata *md;
    rv_err_t err = all_metadata(k, &md, errstr, errstr_size);
    if (err)
        return err;
    rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(16);
    for (int i = 0; all && i < md->topic_cnt; i++)
        for (int j = 0; j < md->topics[i].partition_cnt; j++)
            rd_kafka_topic_partition_list_add(all, md->topics[i].topic,
                                              md->topics[i].partitions[j].id);
    rd_kafka_metadata_destroy(md);
    if (!all)
        return nomem(errstr, errstr_size);
    if (!all->cnt) {
        rd_kafka_topic_partition_list_destroy(all);
        if (!(*out = rv_topic_partition_list_new(0)))
            return nomem(errstr, errstr_size);
        return RV_ERR_NO_ERROR;
    }
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, all);
    rd_kafka_topic_partition_list_destroy(all);
    if (!req)
        return nomem(errstr, errstr_size);
    call_t c;
    err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, false, errstr, errstr_size);
    if (err) {
        rd_kafka_ListConsumerGroupOffsets_destroy(req);
        return err;
    }
    rd_kafka_ListConsumerGroupOffsets(k->rk, &req, 1, c.opts, c.q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!ev)
        return err;
    size_t n = 0;
    const rd_kafka_group_result_t **res = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    const rd_kafka_group_result_t *gr = one_group(res, n, group, &err, errstr, errstr_size);
    const rd_kafka_topic_partition_list_t *parts = gr ? rd_kafka_group_result_partitions(gr) : NULL;
    rv_topic_partition_list_t *l =
        gr ? rv_topic_partition_list_new(parts ? (size_t)parts->cnt : 0) : NULL;
    if (gr && !l)
        err = nomem(errstr, errstr_size);
    for (int i = 0; l && parts && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (p->err || p->offset < 0)
            continue; /* nothing committed */
        rv_topic_partition_t *tp = rv_topic_partition_list_add(l, p->topic, p->partition);
        char *md = NULL;
        if (tp && p->metadata_size) {
            /* The metadata travels as a string without its terminator. */
            if ((md = malloc(p->metadata_size + 1))) {
                memcpy(md, p->metadata, p->metadata_size);
                md[p->metadata_size] = '\0';
            }
        }
        if (!tp || (p->metadata_size && (!md || rv_topic_partition_set_metadata(tp, md)))) {
            free(md);
            rv_topic_partition_list_destroy(l);
            l = NULL;
            err = nomem(errstr, errstr_size);
            break;
        }
        free(md);
        rv_topic_partition_set_offset(tp, p->offset);
    }
    rd_kafka_event_destroy(ev);
    if (err)
        return err;
    rv_topic_partition_list_sort(l);
    *out = l;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__kadmin_alter_group_offsets(rv__kadmin_t *k, const char *group,
                                        rv_topic_partition_list_t *offsets, char *errstr,
                                        size_t errstr_size) {
    size_t n = rv_topic_partition_list_count(offsets);
    if (n == 0)
        return RV_ERR_NO_ERROR; /* nothing to change, as Java's and the embedded backend */
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new((int)n);
    if (!parts)
        return nomem(errstr, errstr_size);
    for (size_t i = 0; i < n; i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(offsets, i);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_add(
            parts, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
        p->offset = rv_topic_partition_offset(tp);
        const char *md = rv_topic_partition_metadata(tp);
        if (md && *md) {
            /* librdkafka frees the metadata with the list. */
            if (!(p->metadata = strdup(md))) {
                rd_kafka_topic_partition_list_destroy(parts);
                return nomem(errstr, errstr_size);
            }
            p->metadata_size = strlen(md);
        }
    }
    rd_kafka_AlterConsumerGroupOffsets_t *req =
        rd_kafka_AlterConsumerGroupOffsets_new(group, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (!req)
        return nomem(errstr, errstr_size);
    call_t c;
    rv_err_t err =
        call_begin(&c, k, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, false, errstr, errstr_size);
    if (err) {
        rd_kafka_AlterConsumerGroupOffsets_destroy(req);
        return err;
    }
    rd_kafka_AlterConsumerGroupOffsets(k->rk, &req, 1, c.opts, c.q);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!ev) {
        for (size_t i = 0; i < n; i++)
            rv_topic_partition_set_err(rv_topic_partition_list_get(offsets, i), err);
        return err;
    }
    size_t gn = 0;
    const rd_kafka_group_result_t **res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &gn);
    const rd_kafka_group_result_t *gr = one_group(res, gn, group, &err, errstr, errstr_size);
    const rd_kafka_topic_partition_list_t *out = gr ? rd_kafka_group_result_partitions(gr) : NULL;
    rv_err_t first = RV_ERR_NO_ERROR;
    for (size_t i = 0; i < n; i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_get(offsets, i);
        rv_err_t e = err;
        for (int j = 0; !err && out && j < out->cnt; j++) {
            if (out->elems[j].partition == rv_topic_partition_partition(tp) &&
                !strcmp(out->elems[j].topic, rv_topic_partition_topic(tp))) {
                e = map_err(out->elems[j].err);
                break;
            }
        }
        rv_topic_partition_set_err(tp, e);
        if (e && !first)
            first = e;
    }
    rd_kafka_event_destroy(ev);
    if (!err && first) {
        err = first;
        rv__errstr_set(errstr, errstr_size, "%s", rv_err_str(err));
    }
    return err;
}

rv_err_t rv__kadmin_delete_group(rv__kadmin_t *k, const char *group, char *errstr,
                                 size_t errstr_size) {
    rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(group);
    if (!dg)
        return nomem(errstr, errstr_size);
    call_t c;
    rv_err_t err = call_begin(&c, k, RD_KAFKA_ADMIN_OP_DELETEGROUPS, false, errstr, errstr_size);
    if (err) {
        rd_kafka_DeleteGroup_destroy(dg);
        return err;
    }
    rd_kafka_DeleteGroups(k->rk, &dg, 1, c.opts, c.q);
    rd_kafka_DeleteGroup_destroy(dg);
    rd_kafka_event_t *ev =
        call_wait(&c, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, &err, errstr, errstr_size);
    call_end(&c);
    if (!ev)
        return err;
    size_t n = 0;
    const rd_kafka_group_result_t **res =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    one_group(res, n, group, &err, errstr, errstr_size);
    rd_kafka_event_destroy(ev);
    return err;
}
