/* broker/topic_config.c: the topic-level config table (Kafka 3.x's
 * LogConfig: names, types, defaults, ranges, docs), the checker the admin
 * paths call before anything is persisted, and the mapping of a topic's
 * explicitly set configs onto the rv__log_config_t a partition log obeys.
 *
 * The table is the single source of truth: rv__log_config_defaults() and
 * describe-configs both take their defaults from it, and docs are generated
 * from it. Configs that only make sense on a replicated Kafka cluster
 * (min.insync.replicas, unclean.leader.election.enable) or that the
 * embedded log does not act on (preallocate, segment.jitter.ms, ...) are
 * still accepted and persisted, so a topic created here can be recreated
 * on Kafka with the same settings. */
#include "broker/topic_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/logger.h"

static const char *const cleanup_policies[] = {"compact", "delete", NULL};
static const char *const compression_types[] = {"uncompressed", "zstd",     "lz4",  "snappy",
                                                "gzip",         "producer", "none", NULL};
static const char *const timestamp_types[] = {"CreateTime", "LogAppendTime", NULL};

/* Kafka's "at least X" ranges have no upper bound. */
#define NOMAX INFINITY
/* min > max: no range check (retention.bytes accepts any long). */
#define NORANGE 1, 0

const rv__prop_t rv__topic_config_props[] = {
    {"cleanup.policy", RV__PROP_LIST, "delete", NORANGE, cleanup_policies,
     "The retention policy for old log segments: \"delete\" discards segments once their "
     "retention time or size limit is reached; \"compact\" keeps the latest value of every key. "
     "Both may be given (\"compact,delete\")."},
    {"compression.type", RV__PROP_ENUM, "producer", NORANGE, compression_types,
     "The final compression type of the topic: gzip, snappy, lz4, zstd, uncompressed (none), or "
     "producer to keep the codec the producer used."},
    {"delete.retention.ms", RV__PROP_LONG, "86400000", 0, NOMAX, NULL,
     "How long delete tombstone markers are kept on compacted topics, so a consumer that "
     "started from offset 0 sees them before they go."},
    {"file.delete.delay.ms", RV__PROP_LONG, "60000", 0, NOMAX, NULL,
     "The time to wait before deleting a file from the filesystem."},
    {"flush.messages", RV__PROP_LONG, "9223372036854775807", 1, NOMAX, NULL,
     "Force an fsync of the log after this many messages (the default leaves it to the "
     "operating system; acks=all producers still wait for an fsync)."},
    {"flush.ms", RV__PROP_LONG, "9223372036854775807", 0, NOMAX, NULL,
     "Force an fsync of the log when this much time has passed since the last one."},
    {"index.interval.bytes", RV__PROP_INT, "4096", 0, NOMAX, NULL,
     "How often an entry is added to the offset index: one entry per this many bytes of log."},
    {"max.compaction.lag.ms", RV__PROP_LONG, "9223372036854775807", 1, NOMAX, NULL,
     "The maximum time a message will remain ineligible for compaction in the log. Only "
     "applicable for logs that are being compacted."},
    {"max.message.bytes", RV__PROP_INT, "1048588", 0, NOMAX, NULL,
     "The largest record batch size allowed (after compression if compression is enabled)."},
    {"message.downconversion.enable", RV__PROP_BOOLEAN, "true", NORANGE, NULL,
     "Whether down-conversion of message formats is enabled to satisfy consume requests."},
    {"message.timestamp.type", RV__PROP_ENUM, "CreateTime", NORANGE, timestamp_types,
     "Whether the timestamp in the message is the producer's create time (CreateTime) or the "
     "broker's append time (LogAppendTime)."},
    {"min.cleanable.dirty.ratio", RV__PROP_DOUBLE, "0.5", 0, 1, NULL,
     "How dirty a compacted log must be before the cleaner compacts it: the ratio of bytes not "
     "yet cleaned to all bytes of the inactive segments."},
    {"min.compaction.lag.ms", RV__PROP_LONG, "0", 0, NOMAX, NULL,
     "The minimum time a message will remain uncompacted in the log. Only applicable for logs "
     "that are being compacted."},
    {"min.insync.replicas", RV__PROP_INT, "1", 1, NOMAX, NULL,
     "The minimum number of replicas that must acknowledge an acks=all write (the embedded "
     "broker has one replica)."},
    {"preallocate", RV__PROP_BOOLEAN, "false", NORANGE, NULL,
     "True if we should preallocate the file on disk when creating a new log segment."},
    {"retention.bytes", RV__PROP_LONG, "-1", NORANGE, NULL,
     "The size a partition may grow to before old segments are discarded under the \"delete\" "
     "policy; -1 means no size limit."},
    {"retention.ms", RV__PROP_LONG, "604800000", -1, NOMAX, NULL,
     "How long a log is kept before old segments are discarded under the \"delete\" policy; -1 "
     "means no time limit."},
    {"segment.bytes", RV__PROP_INT, "1073741824", 14, NOMAX, NULL,
     "The segment file size of the log. Retention and cleaning work a whole segment at a time, "
     "so smaller segments give finer control at the cost of more files."},
    {"segment.index.bytes", RV__PROP_INT, "10485760", 4, NOMAX, NULL,
     "The size of the index that maps offsets to file positions."},
    {"segment.jitter.ms", RV__PROP_LONG, "0", 0, NOMAX, NULL,
     "The maximum random jitter subtracted from the scheduled segment roll time to avoid "
     "thundering herds of segment rolling."},
    {"segment.ms", RV__PROP_LONG, "604800000", 1, NOMAX, NULL,
     "The time after which the log rolls a new segment even if the active one is not full, so "
     "retention can delete or compact old data."},
    {"unclean.leader.election.enable", RV__PROP_BOOLEAN, "false", NORANGE, NULL,
     "Whether replicas not in the ISR may be elected leader as a last resort (a Kafka cluster "
     "setting; the embedded broker has one replica)."},
    {NULL, RV__PROP_STRING, NULL, 0, 0, NULL, NULL},
};

rv_err_t rv__topic_config_check(const char *name, const char *value, char *errstr,
                                size_t errstr_size) {
    const rv__prop_t *prop = rv__prop_find(rv__topic_config_props, name);
    if (!prop) {
        snprintf(errstr, errstr_size, "Unknown topic config name: %s", name);
        return RV_ERR_INVALID_CONFIG;
    }
    if (!value) {
        snprintf(errstr, errstr_size, "Invalid value null for configuration %s", name);
        return RV_ERR_INVALID_CONFIG;
    }
    if (rv__prop_check(prop, value, errstr, errstr_size) != RV_CONF_OK)
        return RV_ERR_INVALID_CONFIG;
    return RV_ERR_NO_ERROR;
}

/* Sets the cleanup flags from a checked cleanup.policy list ("compact",
 * "delete", "compact,delete", with optional spaces). */
static void parse_cleanup_policy(rv__log_config_t *cfg, const char *v) {
    cfg->cleanup_delete = false;
    cfg->cleanup_compact = false;
    while (*v) {
        while (*v == ' ' || *v == ',')
            v++;
        size_t n = strcspn(v, ", ");
        if (n == 7 && !strncmp(v, "compact", n))
            cfg->cleanup_compact = true;
        else if (n == 6 && !strncmp(v, "delete", n))
            cfg->cleanup_delete = true;
        v += n;
    }
}

/* Applies one checked name/value to cfg; names the log does not act on are
 * ignored. Values were checked by rv__topic_config_check(), so a parse
 * failure here keeps the previous value rather than inventing one. */
static void apply_one(rv__log_config_t *cfg, const char *name, const char *value) {
    int64_t l;
    int32_t i;
    double d;
    if (!strcmp(name, "cleanup.policy")) {
        parse_cleanup_policy(cfg, value);
    } else if (!strcmp(name, "message.timestamp.type")) {
        cfg->log_append_time = !strcmp(value, "LogAppendTime");
    } else if (!strcmp(name, "min.cleanable.dirty.ratio")) {
        if (!rv__parse_double(value, &d))
            cfg->min_cleanable_dirty_ratio = d;
    } else if (!strcmp(name, "segment.bytes")) {
        if (!rv__parse_int64(value, &l))
            cfg->segment_bytes = l;
    } else if (!strcmp(name, "segment.ms")) {
        if (!rv__parse_int64(value, &l))
            cfg->segment_ms = l;
    } else if (!strcmp(name, "retention.ms")) {
        if (!rv__parse_int64(value, &l))
            cfg->retention_ms = l;
    } else if (!strcmp(name, "retention.bytes")) {
        if (!rv__parse_int64(value, &l))
            cfg->retention_bytes = l;
    } else if (!strcmp(name, "delete.retention.ms")) {
        if (!rv__parse_int64(value, &l))
            cfg->delete_retention_ms = l;
    } else if (!strcmp(name, "min.compaction.lag.ms")) {
        if (!rv__parse_int64(value, &l))
            cfg->min_compaction_lag_ms = l;
    } else if (!strcmp(name, "flush.messages")) {
        if (!rv__parse_int64(value, &l))
            cfg->flush_messages = l;
    } else if (!strcmp(name, "flush.ms")) {
        if (!rv__parse_int64(value, &l))
            cfg->flush_ms = l;
    } else if (!strcmp(name, "max.message.bytes")) {
        if (!rv__parse_int32(value, &i))
            cfg->max_message_bytes = i;
    } else if (!strcmp(name, "index.interval.bytes")) {
        if (!rv__parse_int32(value, &i))
            cfg->index_interval_bytes = i;
    } else if (!strcmp(name, "segment.index.bytes")) {
        if (!rv__parse_int32(value, &i))
            cfg->segment_index_bytes = i;
    }
}

void rv__log_config_defaults(rv__log_config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    /* Every field is set from the table's default text, so the table and
     * the log agree by construction. */
    for (const rv__prop_t *p = rv__topic_config_props; p->name; p++)
        if (p->dflt)
            apply_one(cfg, p->name, p->dflt);
}

void rv__topic_config_to_log(rv__log_config_t *cfg, const char *const *names,
                             const char *const *values, size_t cnt) {
    rv__log_config_defaults(cfg);
    for (size_t i = 0; i < cnt; i++)
        if (names[i] && values[i])
            apply_one(cfg, names[i], values[i]);
}
