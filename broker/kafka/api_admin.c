/* broker/kafka/api_admin.c: the handlers of the admin APIs of the Kafka
 * protocol server (broker/kafka/api.h): CreateTopics, DeleteTopics,
 * CreatePartitions, DescribeConfigs, AlterConfigs and DeleteRecords, on
 * top of the topic registry (broker/topics.h) and the topic config table
 * (broker/topic_config.h). Field layouts are those of Kafka 3.x's message
 * schemas in their non-flexible versions.
 *
 * DESIGN
 *   Every handler first parses the whole request body into arena structs
 *   and only then acts, so a malformed body (RV__KAPI_CLOSE) never leaves
 *   half of a request applied. Errors are then per resource, as in Kafka:
 *   one bad topic never fails its neighbours.
 *
 *   validate_only runs the same checks as a real request, in Kafka's order
 *   and with Kafka's messages, and stops before the registry is touched.
 *   The registry repeats its own checks under its admin lock, so a topic
 *   created by someone else between the check and the change still gets
 *   the right error; only the message may then be the registry's.
 *
 *   The server is a single node (ctx->node_id): replication factors other
 *   than 1 are refused as a one-broker Kafka cluster refuses them, and
 *   manual replica assignments are accepted only when every replica is
 *   this node.
 *
 *   Kafka's AlterConfigs (not the incremental one) replaces a topic's
 *   whole set of overrides. The registry only offers an incremental alter,
 *   so the handler reads the current overrides and deletes those the
 *   request does not name, in one registry call. Two replacing alters of
 *   the same topic racing each other may therefore keep an override of the
 *   other one; incremental changes in between are simply ordered after.
 *
 *   DescribeConfigs reports every topic config of the table: the topic's
 *   value with source DYNAMIC_TOPIC_CONFIG (1) when set on it, else the
 *   default with source DEFAULT_CONFIG (5); synonyms, when asked for, name
 *   the override and then the broker-level setting Kafka would fall back
 *   to (log.retention.hours for retention.ms, ...). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/kafka/api.h"
#include "broker/kafka/api_util.h"
#include "broker/topic_config.h"
#include "broker/topics.h"
#include "common/config.h"
#include "common/errstr.h"
#include "common/logger.h"

/* ConfigResource.Type ids. */
#define RES_TOPIC 2
#define RES_BROKER 4

/* DescribeConfigsResponse ConfigSource values. */
#define SRC_DYNAMIC_TOPIC 1
#define SRC_STATIC_BROKER 4
#define SRC_DEFAULT 5

#define ERRSTR_SIZE 512

/* ---- helpers ---- */

static rv__topics_t *req_topics(const rv__kreq_t *req) {
    return rv__broker_topics(req->ctx->broker);
}

/* A STRING field that the schema says is not nullable: a null marks the
 * request malformed, as Kafka's generated parsers reject it. Borrowed:
 * valid until the request is freed (it lives in the request's arena). */
static const char *read_str(rv__kr_t *r) {
    const char *s = rv__kr_str(r);
    if (!s)
        r->err = true;
    return r->err ? "" : s;
}

/* A non-nullable ARRAY count; a null (-1) marks the request malformed. */
static int32_t read_count(rv__kr_t *r, size_t min_elem_size) {
    int32_t n = rv__kr_array(r, min_elem_size);
    if (n < 0)
        r->err = true;
    return r->err ? 0 : n;
}

static bool is_internal_topic(const char *name) {
    return !strcmp(name, "__consumer_offsets") || !strcmp(name, "__transaction_state");
}

static void strv_free(char **v, size_t n) {
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Whether topic `name` exists, and (when `collide` is given) the name of
 * an existing topic it would collide with ('.' vs '_'), copied into the
 * caller's buffer ("" when none). All arguments borrowed. */
static rv_err_t topic_lookup(rv__topics_t *t, const char *name, bool *exists, char *collide,
                             size_t collide_size) {
    char **names = NULL;
    size_t cnt = 0;
    rv_err_t err = rv__topics_list(t, true, &names, &cnt);
    if (err)
        return err;
    *exists = false;
    if (collide && collide_size)
        collide[0] = '\0';
    for (size_t i = 0; i < cnt; i++) {
        if (!strcmp(names[i], name))
            *exists = true;
        else if (collide && !collide[0] && rv__topic_names_collide(name, names[i]))
            snprintf(collide, collide_size, "%s", names[i]);
    }
    strv_free(names, cnt);
    return RV_ERR_NO_ERROR;
}

/* Names of ConfigResource.Type ids, for messages. */
static const char *resource_type_name(int8_t type) {
    switch (type) {
    case RES_TOPIC:
        return "TOPIC";
    case RES_BROKER:
        return "BROKER";
    case 8:
        return "BROKER_LOGGER";
    case 16:
        return "CLIENT_METRICS";
    case 32:
        return "GROUP";
    default:
        return "UNKNOWN";
    }
}

/* ---- CreateTopics (key 19) v0-4 ---- */

typedef struct ct_assign_s {
    int32_t partition;
    int32_t broker_cnt;
    int32_t *brokers;
} ct_assign_t;

typedef struct ct_topic_s {
    const char *name;
    int32_t partitions;
    int16_t replication_factor;
    int32_t assign_cnt;
    ct_assign_t *assigns;
    int32_t config_cnt;
    const char **cfg_names;
    const char **cfg_values; /* entries may be NULL (nullable on the wire) */
} ct_topic_t;

/* Checks one topic of a CreateTopics request as Kafka does before it
 * creates anything; *partitions and *rf get the resolved counts. */
static rv_err_t create_check(rv__kreq_t *req, const ct_topic_t *tp, int32_t *partitions,
                             int16_t *rf, char *errstr, size_t errstr_size) {
    rv__topics_t *t = req_topics(req);
    rv_err_t err = rv__topic_name_validate(tp->name, errstr, errstr_size);
    if (err)
        return err;
    char collide[256];
    bool exists;
    if ((err = topic_lookup(t, tp->name, &exists, collide, sizeof collide))) {
        rv__errstr_set(errstr, errstr_size, "Cannot list topics: %s", rv_err_str(err));
        return err;
    }
    if (exists) {
        rv__errstr_set(errstr, errstr_size, "Topic '%s' already exists.", tp->name);
        return RV_ERR_TOPIC_ALREADY_EXISTS;
    }

    rv__buf_t nulls = RV__BUF_INIT;
    for (int32_t i = 0; i < tp->config_cnt; i++)
        if (!tp->cfg_values[i])
            rv__buf_printf(&nulls, "%s%s", nulls.len ? "," : "", tp->cfg_names[i]);
    if (nulls.len) {
        rv__errstr_set(errstr, errstr_size, "Null value not supported for topic configs: %s",
                       (const char *)nulls.data);
        rv__buf_free(&nulls);
        return RV_ERR_INVALID_CONFIG;
    }
    rv__buf_free(&nulls);

    if (tp->assign_cnt > 0) {
        if (tp->partitions != -1 || tp->replication_factor != -1) {
            rv__errstr_set(errstr, errstr_size,
                           "Both numPartitions or replicationFactor and replicasAssignments were "
                           "set. Both cannot be used at the same time.");
            return RV_ERR_INVALID_REQUEST;
        }
        /* Partition indexes must be exactly 0..n-1, each once. */
        int32_t *idx = rv__kreq_array(req, (size_t)tp->assign_cnt, sizeof *idx);
        bool *seen = rv__kreq_array(req, (size_t)tp->assign_cnt, sizeof *seen);
        if (!idx || !seen) {
            rv__errstr_set(errstr, errstr_size, "Out of memory");
            return RV_ERR__NOMEM;
        }
        for (int32_t i = 0; i < tp->assign_cnt; i++)
            idx[i] = tp->assigns[i].partition;
        if (!rv__kapi_is_index_set(idx, tp->assign_cnt, seen)) {
            rv__errstr_set(errstr, errstr_size,
                           "partitions should be a consecutive 0-based integer sequence");
            return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t i = 0; i < tp->assign_cnt; i++) {
            const ct_assign_t *a = &tp->assigns[i];
            if (a->broker_cnt == 0) {
                rv__errstr_set(errstr, errstr_size,
                               "The manual partition assignment includes an empty replica list.");
                return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
            for (int32_t j = 0; j < a->broker_cnt; j++) {
                if (a->brokers[j] != req->ctx->node_id) {
                    rv__errstr_set(errstr, errstr_size,
                                   "Unknown broker(s) in replica assignment: %" PRId32 ".",
                                   a->brokers[j]);
                    return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
                }
            }
            if (a->broker_cnt > 1) {
                rv__errstr_set(errstr, errstr_size,
                               "Duplicate replica assignment found for partition %" PRId32
                               ": broker %" PRId32 " is listed %" PRId32 " times",
                               a->partition, req->ctx->node_id, a->broker_cnt);
                return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
        *partitions = tp->assign_cnt;
        *rf = 1;
    } else {
        *partitions = tp->partitions;
        *rf = tp->replication_factor;
        /* KIP-464: -1 takes the broker's num.partitions and
         * default.replication.factor. */
        if (*partitions == -1)
            *partitions = req->ctx->num_partitions > 0 ? req->ctx->num_partitions : 1;
        if (*rf == -1)
            *rf = 1;
        if (*partitions < 1) {
            rv__errstr_set(errstr, errstr_size,
                           "Number of partitions was set to an invalid non-positive value.");
            return RV_ERR_INVALID_PARTITIONS;
        }
        if (*rf < 1) {
            rv__errstr_set(
                errstr, errstr_size,
                "Replication factor must be larger than 0, or -1 to use the default value.");
            return RV_ERR_INVALID_REPLICATION_FACTOR;
        }
        if (*rf > 1) {
            rv__errstr_set(errstr, errstr_size,
                           "Replication factor: %d larger than available brokers: 1.", (int)*rf);
            return RV_ERR_INVALID_REPLICATION_FACTOR;
        }
    }

    if (collide[0]) {
        rv__errstr_set(errstr, errstr_size, "Topic '%s' collides with existing topics: %s",
                       tp->name, collide);
        return RV_ERR_INVALID_TOPIC_EXCEPTION;
    }
    for (int32_t i = 0; i < tp->config_cnt; i++)
        if ((err =
                 rv__topic_config_check(tp->cfg_names[i], tp->cfg_values[i], errstr, errstr_size)))
            return err;
    return RV_ERR_NO_ERROR;
}

static rv__kapi_status_t handle_create_topics(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    int32_t n = read_count(r, 16);
    ct_topic_t *tps = rv__kreq_array(req, (size_t)n, sizeof *tps);
    for (int32_t i = 0; i < n && !r->err; i++) {
        ct_topic_t *tp = &tps[i];
        tp->name = read_str(r);
        tp->partitions = rv__kr_i32(r);
        tp->replication_factor = rv__kr_i16(r);
        tp->assign_cnt = read_count(r, 8);
        tp->assigns = rv__kreq_array(req, (size_t)tp->assign_cnt, sizeof *tp->assigns);
        for (int32_t j = 0; j < tp->assign_cnt && !r->err; j++) {
            ct_assign_t *a = &tp->assigns[j];
            a->partition = rv__kr_i32(r);
            a->broker_cnt = read_count(r, 4);
            a->brokers = rv__kreq_array(req, (size_t)a->broker_cnt, sizeof *a->brokers);
            for (int32_t k = 0; k < a->broker_cnt && !r->err; k++)
                a->brokers[k] = rv__kr_i32(r);
        }
        tp->config_cnt = read_count(r, 4);
        tp->cfg_names = rv__kreq_array(req, (size_t)tp->config_cnt, sizeof *tp->cfg_names);
        tp->cfg_values = rv__kreq_array(req, (size_t)tp->config_cnt, sizeof *tp->cfg_values);
        for (int32_t j = 0; j < tp->config_cnt && !r->err; j++) {
            tp->cfg_names[j] = read_str(r);
            tp->cfg_values[j] = rv__kr_str(r);
        }
    }
    (void)rv__kr_i32(r); /* timeout_ms: creation is synchronous here */
    bool validate_only = v >= 1 ? rv__kr_bool(r) : false;
    if (r->err)
        return RV__KAPI_CLOSE;
    const char **names = rv__kreq_array(req, (size_t)n, sizeof *names);
    bool *first = rv__kreq_array(req, (size_t)n, sizeof *first);
    int32_t *dups = rv__kreq_array(req, (size_t)n, sizeof *dups);
    if (!names || !first || !dups)
        return RV__KAPI_CLOSE;
    for (int32_t i = 0; i < n; i++)
        names[i] = tps[i].name;
    if (rv__kapi_find_repeats(req, names, n, first, dups) < 0)
        return RV__KAPI_CLOSE;

    rv__kw_t *w = &req->resp;
    if (v >= 2)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        const ct_topic_t *tp = &tps[i];
        char errstr[ERRSTR_SIZE] = "";
        rv_err_t err = RV_ERR_NO_ERROR;
        if (dups[i] > 1) {
            rv__errstr_set(errstr, sizeof errstr, "Found multiple entries for this topic.");
            err = RV_ERR_INVALID_REQUEST;
        } else {
            int32_t partitions = 0;
            int16_t rf = 0;
            err = create_check(req, tp, &partitions, &rf, errstr, sizeof errstr);
            if (!err && !validate_only)
                err = rv__topics_create(req_topics(req), tp->name, partitions, rf, tp->cfg_names,
                                        (const char *const *)tp->cfg_values, (size_t)tp->config_cnt,
                                        errstr, sizeof errstr);
        }
        rv__kw_str(w, tp->name);
        rv__kw_i16(w, rv__kapi_wire_err(err));
        if (v >= 1)
            rv__kw_str(w, err ? errstr : NULL);
    }
    return RV__KAPI_DONE;
}

/* ---- DeleteTopics (key 20) v0-3 ---- */

static rv__kapi_status_t handle_delete_topics(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int32_t n = read_count(r, 2);
    const char **names = rv__kreq_array(req, (size_t)n, sizeof *names);
    for (int32_t i = 0; i < n && !r->err; i++)
        names[i] = read_str(r);
    (void)rv__kr_i32(r); /* timeout_ms */
    if (r->err)
        return RV__KAPI_CLOSE;

    /* One result per distinct name: Kafka's results are keyed by name. */
    bool *first = rv__kreq_array(req, (size_t)n, sizeof *first);
    int32_t distinct = first ? rv__kapi_find_repeats(req, names, n, first, NULL) : -1;
    if (distinct < 0)
        return RV__KAPI_CLOSE;

    rv__kw_t *w = &req->resp;
    if (req->api_version >= 1)
        rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, distinct);
    for (int32_t i = 0; i < n; i++) {
        if (!first[i])
            continue;
        char errstr[ERRSTR_SIZE];
        rv_err_t err = rv__topics_delete(req_topics(req), names[i], errstr, sizeof errstr);
        if (err && err != RV_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            rv__log_warn("KAFKA", "DeleteTopics %s: %s", names[i], errstr);
        rv__kw_str(w, names[i]);
        rv__kw_i16(w, rv__kapi_wire_err(err));
    }
    return RV__KAPI_DONE;
}

/* ---- CreatePartitions (key 37) v0-1 ---- */

typedef struct cp_topic_s {
    const char *name;
    int32_t count;
    int32_t assign_cnt; /* -1: null, the broker places the new partitions */
    int32_t *broker_cnts;
    int32_t **brokers;
} cp_topic_t;

static rv_err_t create_partitions_check(const rv__kreq_t *req, const cp_topic_t *tp, char *errstr,
                                        size_t errstr_size) {
    rv__topic_info_t info;
    char derr[ERRSTR_SIZE];
    rv_err_t err = rv__topics_describe(req_topics(req), tp->name, &info, derr, sizeof derr);
    if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        rv__errstr_set(errstr, errstr_size, "The topic '%s' does not exist.", tp->name);
        return err;
    }
    if (err) {
        rv__errstr_set(errstr, errstr_size, "%s", derr);
        return err;
    }
    int32_t cur = info.partition_cnt;
    rv__topic_info_clear(&info);
    int32_t incr = tp->count - cur;
    if (incr < 0) {
        rv__errstr_set(errstr, errstr_size,
                       "Topic currently has %" PRId32 " partitions, which is higher than the "
                       "requested %" PRId32 ".",
                       cur, tp->count);
        return RV_ERR_INVALID_PARTITIONS;
    }
    if (incr == 0) {
        rv__errstr_set(errstr, errstr_size, "Topic already has %" PRId32 " partitions.", cur);
        return RV_ERR_INVALID_PARTITIONS;
    }
    if (tp->assign_cnt < 0)
        return RV_ERR_NO_ERROR;
    for (int32_t i = 0; i < tp->assign_cnt; i++) {
        for (int32_t j = 0; j < tp->broker_cnts[i]; j++) {
            if (tp->brokers[i][j] != req->ctx->node_id) {
                rv__errstr_set(errstr, errstr_size,
                               "Unknown broker(s) in replica assignment: %" PRId32 ".",
                               tp->brokers[i][j]);
                return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
        }
    }
    if (tp->assign_cnt != incr) {
        rv__errstr_set(errstr, errstr_size,
                       "Increasing the number of partitions by %" PRId32 " but %" PRId32
                       " assignments provided.",
                       incr, tp->assign_cnt);
        return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    /* Every existing partition has the one replica this node is. */
    for (int32_t i = 0; i < tp->assign_cnt; i++) {
        if (tp->broker_cnts[i] != 1) {
            rv__errstr_set(errstr, errstr_size,
                           "Inconsistent replication factor between partitions, partition 0 has "
                           "1 while partitions [%" PRId32 "] have replication factors [%" PRId32
                           "], respectively.",
                           cur + i, tp->broker_cnts[i]);
            return RV_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    return RV_ERR_NO_ERROR;
}

static rv__kapi_status_t handle_create_partitions(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int32_t n = read_count(r, 10);
    cp_topic_t *tps = rv__kreq_array(req, (size_t)n, sizeof *tps);
    for (int32_t i = 0; i < n && !r->err; i++) {
        cp_topic_t *tp = &tps[i];
        tp->name = read_str(r);
        tp->count = rv__kr_i32(r);
        tp->assign_cnt = rv__kr_array(r, 4); /* nullable */
        if (tp->assign_cnt <= 0)
            continue;
        tp->broker_cnts = rv__kreq_array(req, (size_t)tp->assign_cnt, sizeof *tp->broker_cnts);
        tp->brokers = rv__kreq_array(req, (size_t)tp->assign_cnt, sizeof *tp->brokers);
        for (int32_t j = 0; j < tp->assign_cnt && !r->err; j++) {
            tp->broker_cnts[j] = read_count(r, 4);
            tp->brokers[j] = rv__kreq_array(req, (size_t)tp->broker_cnts[j], sizeof **tp->brokers);
            for (int32_t k = 0; k < tp->broker_cnts[j] && !r->err; k++)
                tp->brokers[j][k] = rv__kr_i32(r);
        }
    }
    (void)rv__kr_i32(r); /* timeout_ms */
    bool validate_only = rv__kr_bool(r);
    if (r->err)
        return RV__KAPI_CLOSE;

    bool *first = rv__kreq_array(req, (size_t)n, sizeof *first);
    int32_t *count = rv__kreq_array(req, (size_t)n, sizeof *count);
    const char **names = rv__kreq_array(req, (size_t)n, sizeof *names);
    if (!first || !count || !names)
        return RV__KAPI_CLOSE;
    for (int32_t i = 0; i < n; i++)
        names[i] = tps[i].name;
    int32_t distinct = rv__kapi_find_repeats(req, names, n, first, count);
    if (distinct < 0)
        return RV__KAPI_CLOSE;

    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, distinct);
    for (int32_t i = 0; i < n; i++) {
        if (!first[i])
            continue;
        const cp_topic_t *tp = &tps[i];
        char errstr[ERRSTR_SIZE] = "";
        rv_err_t err = RV_ERR_NO_ERROR;
        if (count[i] > 1) {
            rv__errstr_set(errstr, sizeof errstr, "Duplicate topic in request.");
            err = RV_ERR_INVALID_REQUEST;
        } else {
            err = create_partitions_check(req, tp, errstr, sizeof errstr);
            if (!err && !validate_only)
                err = rv__topics_create_partitions(req_topics(req), tp->name, tp->count, errstr,
                                                   sizeof errstr);
        }
        rv__kw_str(w, tp->name);
        rv__kw_i16(w, rv__kapi_wire_err(err));
        rv__kw_str(w, err ? errstr : NULL);
    }
    return RV__KAPI_DONE;
}

/* ---- DescribeConfigs (key 32) v0-2 ---- */

/* The broker setting Kafka falls back to for each topic config, with its
 * Kafka default (LogConfig's synonyms; where Kafka's first synonym has no
 * default, as log.retention.ms, the one that has it). */
static const struct {
    const char *topic_name;
    const char *broker_name;
    const char *broker_default;
} synonyms[] = {
    {"cleanup.policy", "log.cleanup.policy", "delete"},
    {"compression.type", "compression.type", "producer"},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms", "86400000"},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms", "60000"},
    {"flush.messages", "log.flush.interval.messages", "9223372036854775807"},
    {"flush.ms", "log.flush.scheduler.interval.ms", "9223372036854775807"},
    {"index.interval.bytes", "log.index.interval.bytes", "4096"},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "9223372036854775807"},
    {"max.message.bytes", "message.max.bytes", "1048588"},
    {"message.downconversion.enable", "log.message.downconversion.enable", "true"},
    {"message.timestamp.type", "log.message.timestamp.type", "CreateTime"},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", "0.5"},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", "0"},
    {"min.insync.replicas", "min.insync.replicas", "1"},
    {"preallocate", "log.preallocate", "false"},
    {"retention.bytes", "log.retention.bytes", "-1"},
    {"retention.ms", "log.retention.hours", "168"},
    {"segment.bytes", "log.segment.bytes", "1073741824"},
    {"segment.index.bytes", "log.index.size.max.bytes", "10485760"},
    {"segment.jitter.ms", "log.roll.jitter.hours", "0"},
    {"segment.ms", "log.roll.hours", "168"},
    {"unclean.leader.election.enable", "unclean.leader.election.enable", "false"},
};

/* Whether `name` passes the request's configuration_keys filter (NULL =
 * every config). */
static bool key_wanted(const char *name, const char *const *keys, int32_t key_cnt) {
    if (key_cnt < 0)
        return true;
    for (int32_t i = 0; i < key_cnt; i++)
        if (!strcmp(keys[i], name))
            return true;
    return false;
}

/* One DescribeConfigsResourceResult config entry. `source` is written as
 * is_default (v0) or config_source (v1+). */
static void write_config(rv__kw_t *w, int16_t v, const char *name, const char *value,
                         bool read_only, int8_t source, bool include_synonyms,
                         const char *topic_value, const char *broker_name,
                         const char *broker_value) {
    rv__kw_str(w, name);
    rv__kw_str(w, value);
    rv__kw_bool(w, read_only);
    if (v == 0)
        rv__kw_bool(w, source == SRC_DEFAULT);
    else
        rv__kw_i8(w, source);
    rv__kw_bool(w, false); /* is_sensitive */
    if (v < 1)
        return;
    if (!include_synonyms) {
        rv__kw_i32(w, 0);
        return;
    }
    rv__kw_i32(w, (topic_value ? 1 : 0) + (broker_name ? 1 : 0));
    if (topic_value) {
        rv__kw_str(w, name);
        rv__kw_str(w, topic_value);
        rv__kw_i8(w, SRC_DYNAMIC_TOPIC);
    }
    if (broker_name) {
        rv__kw_str(w, broker_name);
        rv__kw_str(w, broker_value);
        rv__kw_i8(w, source == SRC_STATIC_BROKER ? SRC_STATIC_BROKER : SRC_DEFAULT);
    }
}

/* The configs of a topic resource; the caller wrote the error fields. */
static void describe_topic_configs(rv__kw_t *w, int16_t v, const rv__topic_info_t *info,
                                   const char *const *keys, int32_t key_cnt,
                                   bool include_synonyms) {
    size_t pos = rv__kw_reserve_i32(w);
    int32_t cnt = 0;
    for (const rv__prop_t *p = rv__topic_config_props; p->name; p++) {
        if (!key_wanted(p->name, keys, key_cnt))
            continue;
        const char *set = NULL;
        for (size_t i = 0; i < info->config_cnt; i++)
            if (!strcmp(info->config_names[i], p->name))
                set = info->config_values[i];
        const char *bname = NULL, *bvalue = NULL;
        for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++) {
            if (!strcmp(synonyms[i].topic_name, p->name)) {
                bname = synonyms[i].broker_name;
                bvalue = synonyms[i].broker_default;
            }
        }
        write_config(w, v, p->name, set ? set : p->dflt, false,
                     set ? SRC_DYNAMIC_TOPIC : SRC_DEFAULT, include_synonyms, set, bname, bvalue);
        cnt++;
    }
    /* Overrides persisted under names this table does not know are still
     * set on the topic, so they are shown. */
    for (size_t i = 0; i < info->config_cnt; i++) {
        if (rv__prop_find(rv__topic_config_props, info->config_names[i]) ||
            !key_wanted(info->config_names[i], keys, key_cnt))
            continue;
        write_config(w, v, info->config_names[i], info->config_values[i], false, SRC_DYNAMIC_TOPIC,
                     include_synonyms, info->config_values[i], NULL, NULL);
        cnt++;
    }
    rv__kw_patch_i32(w, pos, cnt);
}

/* The broker settings this server can name, all static (no dynamic
 * broker configs): the node's id and the defaults of new topics. */
static void describe_broker_configs(rv__kw_t *w, int16_t v, const rv__kctx_t *ctx,
                                    const char *const *keys, int32_t key_cnt,
                                    bool include_synonyms) {
    char node_id[16], num_partitions[16];
    snprintf(node_id, sizeof node_id, "%" PRId32, ctx->node_id);
    snprintf(num_partitions, sizeof num_partitions, "%" PRId32,
             ctx->num_partitions > 0 ? ctx->num_partitions : 1);
    const struct {
        const char *name, *value;
        int8_t source;
    } rows[] = {
        {"auto.create.topics.enable", ctx->auto_create_topics ? "true" : "false",
         ctx->auto_create_topics ? SRC_DEFAULT : SRC_STATIC_BROKER},
        {"broker.id", node_id, SRC_STATIC_BROKER},
        {"default.replication.factor", "1", SRC_DEFAULT},
        {"node.id", node_id, SRC_STATIC_BROKER},
        {"num.partitions", num_partitions,
         ctx->num_partitions > 1 ? SRC_STATIC_BROKER : SRC_DEFAULT},
    };
    size_t pos = rv__kw_reserve_i32(w);
    int32_t cnt = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!key_wanted(rows[i].name, keys, key_cnt))
            continue;
        write_config(w, v, rows[i].name, rows[i].value, true, rows[i].source, include_synonyms,
                     NULL, rows[i].name, rows[i].value);
        cnt++;
    }
    for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++) {
        const char *name = synonyms[i].broker_name;
        bool seen = false;
        for (size_t j = 0; j < sizeof rows / sizeof rows[0] && !seen; j++)
            seen = !strcmp(rows[j].name, name);
        if (seen || !key_wanted(name, keys, key_cnt))
            continue;
        write_config(w, v, name, synonyms[i].broker_default, true, SRC_DEFAULT, include_synonyms,
                     NULL, name, synonyms[i].broker_default);
        cnt++;
    }
    rv__kw_patch_i32(w, pos, cnt);
}

typedef struct dc_resource_s {
    int8_t type;
    const char *name;
    int32_t key_cnt; /* -1: null, every config */
    const char **keys;
} dc_resource_t;

static void write_resource_error(rv__kw_t *w, const dc_resource_t *res, rv_err_t err,
                                 const char *errstr) {
    rv__kw_i16(w, rv__kapi_wire_err(err));
    rv__kw_str(w, errstr);
    rv__kw_i8(w, res->type);
    rv__kw_str(w, res->name);
    rv__kw_i32(w, 0); /* configs */
}

static rv__kapi_status_t handle_describe_configs(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int16_t v = req->api_version;
    int32_t n = read_count(r, 7);
    dc_resource_t *res = rv__kreq_array(req, (size_t)n, sizeof *res);
    for (int32_t i = 0; i < n && !r->err; i++) {
        res[i].type = rv__kr_i8(r);
        res[i].name = read_str(r);
        res[i].key_cnt = rv__kr_array(r, 2); /* nullable */
        if (res[i].key_cnt <= 0)
            continue;
        res[i].keys = rv__kreq_array(req, (size_t)res[i].key_cnt, sizeof *res[i].keys);
        for (int32_t j = 0; j < res[i].key_cnt && !r->err; j++)
            res[i].keys[j] = read_str(r);
    }
    bool include_synonyms = v >= 1 ? rv__kr_bool(r) : false;
    if (r->err)
        return RV__KAPI_CLOSE;

    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        const dc_resource_t *rs = &res[i];
        char errstr[ERRSTR_SIZE];
        if (rs->type == RES_TOPIC) {
            rv__topic_info_t info;
            rv_err_t err = rv__topic_name_validate(rs->name, errstr, sizeof errstr);
            if (!err)
                err = rv__topics_describe(req_topics(req), rs->name, &info, errstr, sizeof errstr);
            if (err) {
                write_resource_error(w, rs, err, errstr);
                continue;
            }
            rv__kw_i16(w, 0);
            rv__kw_str(w, NULL);
            rv__kw_i8(w, rs->type);
            rv__kw_str(w, rs->name);
            describe_topic_configs(w, v, &info, rs->keys, rs->key_cnt, include_synonyms);
            rv__topic_info_clear(&info);
        } else if (rs->type == RES_BROKER) {
            /* "" names the cluster-wide dynamic defaults: there are none. */
            int32_t id = 0;
            if (*rs->name && rv__parse_int32(rs->name, &id)) {
                rv__errstr_set(errstr, sizeof errstr, "Broker id must be an integer, but it is: %s",
                               rs->name);
                write_resource_error(w, rs, RV_ERR_INVALID_REQUEST, errstr);
                continue;
            }
            if (*rs->name && id != req->ctx->node_id) {
                rv__errstr_set(errstr, sizeof errstr,
                               "Unexpected broker id, expected %" PRId32
                               " or empty string, but received %s",
                               req->ctx->node_id, rs->name);
                write_resource_error(w, rs, RV_ERR_INVALID_REQUEST, errstr);
                continue;
            }
            rv__kw_i16(w, 0);
            rv__kw_str(w, NULL);
            rv__kw_i8(w, rs->type);
            rv__kw_str(w, rs->name);
            if (*rs->name)
                describe_broker_configs(w, v, req->ctx, rs->keys, rs->key_cnt, include_synonyms);
            else
                rv__kw_i32(w, 0);
        } else {
            rv__errstr_set(errstr, sizeof errstr, "Unsupported resource type: %s",
                           resource_type_name(rs->type));
            write_resource_error(w, rs, RV_ERR_INVALID_REQUEST, errstr);
        }
    }
    return RV__KAPI_DONE;
}

/* ---- AlterConfigs (key 33) v0-1 ---- */

typedef struct ac_resource_s {
    int8_t type;
    const char *name;
    int32_t cnt;
    const char **names;
    const char **values; /* entries may be NULL */
} ac_resource_t;

/* Replaces the overrides of one topic, or only checks that it could. */
static rv_err_t alter_topic(rv__kreq_t *req, const ac_resource_t *rs, bool validate_only,
                            char *errstr, size_t errstr_size) {
    rv__buf_t nulls = RV__BUF_INIT;
    for (int32_t i = 0; i < rs->cnt; i++)
        if (!rs->values[i])
            rv__buf_printf(&nulls, "%s%s", nulls.len ? "," : "", rs->names[i]);
    if (nulls.len) {
        rv__errstr_set(errstr, errstr_size, "Null value not supported for : %s",
                       (const char *)nulls.data);
        rv__buf_free(&nulls);
        return RV_ERR_INVALID_REQUEST;
    }
    rv__buf_free(&nulls);
    rv_err_t err = rv__topic_name_validate(rs->name, errstr, errstr_size);
    if (err)
        return err;
    rv__topic_info_t info;
    char derr[ERRSTR_SIZE];
    if ((err = rv__topics_describe(req_topics(req), rs->name, &info, derr, sizeof derr))) {
        if (err == RV_ERR_UNKNOWN_TOPIC_OR_PARTITION)
            rv__errstr_set(errstr, errstr_size, "Topic %s does not exist.", rs->name);
        else
            rv__errstr_set(errstr, errstr_size, "%s", derr);
        return err;
    }

    /* As Java's Properties: the last value of a repeated name wins. */
    const char **set_names = rv__kreq_array(req, (size_t)rs->cnt, sizeof *set_names);
    const char **set_values = rv__kreq_array(req, (size_t)rs->cnt, sizeof *set_values);
    const char **del_names = rv__kreq_array(req, info.config_cnt, sizeof *del_names);
    size_t set_cnt = 0, del_cnt = 0;
    if (!set_names || !set_values || !del_names) {
        rv__topic_info_clear(&info);
        rv__errstr_set(errstr, errstr_size, "Out of memory");
        return RV_ERR__NOMEM;
    }
    for (int32_t i = 0; i < rs->cnt; i++) {
        bool later = false;
        for (int32_t j = i + 1; j < rs->cnt && !later; j++)
            later = !strcmp(rs->names[i], rs->names[j]);
        if (later)
            continue;
        char cerr[ERRSTR_SIZE];
        if (!rv__prop_find(rv__topic_config_props, rs->names[i])) {
            rv__topic_info_clear(&info);
            rv__errstr_set(errstr, errstr_size, "Unknown topic config name: %s", rs->names[i]);
            return RV_ERR_INVALID_CONFIG;
        }
        if ((err = rv__topic_config_check(rs->names[i], rs->values[i], cerr, sizeof cerr))) {
            rv__topic_info_clear(&info);
            rv__errstr_set(errstr, errstr_size,
                           "Invalid config value for resource ConfigResource(type=TOPIC, "
                           "name='%s'): %s",
                           rs->name, cerr);
            return err;
        }
        set_names[set_cnt] = rs->names[i];
        set_values[set_cnt++] = rs->values[i];
    }
    for (size_t i = 0; i < info.config_cnt; i++) {
        bool kept = false;
        for (size_t j = 0; j < set_cnt && !kept; j++)
            kept = !strcmp(info.config_names[i], set_names[j]);
        /* The arena copy outlives info. */
        if (!kept && !(del_names[del_cnt++] = rv__karena_strndup(&req->arena, info.config_names[i],
                                                                 strlen(info.config_names[i])))) {
            rv__topic_info_clear(&info);
            rv__errstr_set(errstr, errstr_size, "Out of memory");
            return RV_ERR__NOMEM;
        }
    }
    rv__topic_info_clear(&info);
    if (validate_only)
        return RV_ERR_NO_ERROR;
    return rv__topics_alter_configs(req_topics(req), rs->name, set_names, set_values, set_cnt,
                                    del_names, del_cnt, errstr, errstr_size);
}

static rv__kapi_status_t handle_alter_configs(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int32_t n = read_count(r, 7);
    ac_resource_t *res = rv__kreq_array(req, (size_t)n, sizeof *res);
    for (int32_t i = 0; i < n && !r->err; i++) {
        ac_resource_t *rs = &res[i];
        rs->type = rv__kr_i8(r);
        rs->name = read_str(r);
        rs->cnt = read_count(r, 4);
        rs->names = rv__kreq_array(req, (size_t)rs->cnt, sizeof *rs->names);
        rs->values = rv__kreq_array(req, (size_t)rs->cnt, sizeof *rs->values);
        for (int32_t j = 0; j < rs->cnt && !r->err; j++) {
            rs->names[j] = read_str(r);
            rs->values[j] = rv__kr_str(r);
        }
    }
    bool validate_only = rv__kr_bool(r);
    if (r->err)
        return RV__KAPI_CLOSE;

    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        const ac_resource_t *rs = &res[i];
        char errstr[ERRSTR_SIZE] = "";
        rv_err_t err;
        if (rs->type == RES_TOPIC) {
            err = alter_topic(req, rs, validate_only, errstr, sizeof errstr);
        } else if (rs->type == RES_BROKER) {
            rv__errstr_set(errstr, sizeof errstr,
                           "Dynamic broker configs are not supported: this broker reads its "
                           "settings only at start-up; restart it with the new settings.");
            err = RV_ERR_INVALID_REQUEST;
        } else {
            rv__errstr_set(errstr, sizeof errstr,
                           "AlterConfigs is only supported for topics and brokers, but resource "
                           "type is %s",
                           resource_type_name(rs->type));
            err = RV_ERR_INVALID_REQUEST;
        }
        rv__kw_i16(w, rv__kapi_wire_err(err));
        rv__kw_str(w, err ? errstr : NULL);
        rv__kw_i8(w, rs->type);
        rv__kw_str(w, rs->name);
    }
    return RV__KAPI_DONE;
}

/* ---- DeleteRecords (key 21) v0-1 ---- */

typedef struct dr_topic_s {
    const char *name;
    int32_t cnt;
    int32_t *partitions;
    int64_t *offsets;
} dr_topic_t;

static rv__kapi_status_t handle_delete_records(rv__kreq_t *req) {
    rv__kr_t *r = &req->body;
    int32_t n = read_count(r, 6);
    dr_topic_t *tps = rv__kreq_array(req, (size_t)n, sizeof *tps);
    for (int32_t i = 0; i < n && !r->err; i++) {
        dr_topic_t *tp = &tps[i];
        tp->name = read_str(r);
        tp->cnt = read_count(r, 12);
        tp->partitions = rv__kreq_array(req, (size_t)tp->cnt, sizeof *tp->partitions);
        tp->offsets = rv__kreq_array(req, (size_t)tp->cnt, sizeof *tp->offsets);
        for (int32_t j = 0; j < tp->cnt && !r->err; j++) {
            tp->partitions[j] = rv__kr_i32(r);
            tp->offsets[j] = rv__kr_i64(r);
        }
    }
    (void)rv__kr_i32(r); /* timeout_ms */
    if (r->err)
        return RV__KAPI_CLOSE;

    rv__kw_t *w = &req->resp;
    rv__kw_i32(w, 0); /* throttle_time_ms */
    rv__kw_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        const dr_topic_t *tp = &tps[i];
        rv__kw_str(w, tp->name);
        rv__kw_i32(w, tp->cnt);
        for (int32_t j = 0; j < tp->cnt; j++) {
            char errstr[ERRSTR_SIZE];
            int64_t low = -1;
            rv_err_t err;
            /* Kafka refuses to cut the internal topics its coordinators
             * replay on start. */
            if (is_internal_topic(tp->name))
                err = RV_ERR_INVALID_TOPIC_EXCEPTION;
            else
                err = rv__topics_delete_records(req_topics(req), tp->name, tp->partitions[j],
                                                tp->offsets[j], &low, errstr, sizeof errstr);
            if (err)
                low = -1;
            if (err && err != RV_ERR_UNKNOWN_TOPIC_OR_PARTITION &&
                err != RV_ERR_OFFSET_OUT_OF_RANGE && err != RV_ERR_INVALID_TOPIC_EXCEPTION)
                rv__log_warn("KAFKA", "DeleteRecords %s-%" PRId32 ": %s", tp->name,
                             tp->partitions[j], errstr);
            rv__kw_i32(w, tp->partitions[j]);
            rv__kw_i64(w, low);
            rv__kw_i16(w, rv__kapi_wire_err(err));
        }
    }
    return RV__KAPI_DONE;
}

/* Versions as Kafka 2.3 advertised them (the last release before flexible
 * encodings), plus CreateTopics v4 for KIP-464 defaults. */
const rv__kapi_def_t rv__kapi_admin_defs[] = {
    {RV__KAPI_CREATE_TOPICS, 0, 4, "CreateTopics", handle_create_topics},
    {RV__KAPI_DELETE_TOPICS, 0, 3, "DeleteTopics", handle_delete_topics},
    {RV__KAPI_DELETE_RECORDS, 0, 1, "DeleteRecords", handle_delete_records},
    {RV__KAPI_DESCRIBE_CONFIGS, 0, 2, "DescribeConfigs", handle_describe_configs},
    {RV__KAPI_ALTER_CONFIGS, 0, 1, "AlterConfigs", handle_alter_configs},
    {RV__KAPI_CREATE_PARTITIONS, 0, 1, "CreatePartitions", handle_create_partitions},
    {0, 0, 0, NULL, NULL},
};
