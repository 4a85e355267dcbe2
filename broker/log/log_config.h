/* broker/log/log_config.h: the per-partition settings a log obeys, parsed
 * from the topic's configs (broker/topic_config.c maps Kafka's names to
 * these fields and holds the defaults). */
#ifndef RV_BROKER_LOG_CONFIG_H
#define RV_BROKER_LOG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rv__log_config_s {
    int64_t segment_bytes;            /* segment.bytes, 1073741824 */
    int64_t segment_ms;               /* segment.ms, 604800000 */
    int64_t retention_ms;             /* retention.ms, 604800000; -1 = forever */
    int64_t retention_bytes;          /* retention.bytes, -1 = unlimited */
    bool cleanup_delete;              /* cleanup.policy contains "delete" */
    bool cleanup_compact;             /* cleanup.policy contains "compact" */
    double min_cleanable_dirty_ratio; /* min.cleanable.dirty.ratio, 0.5 */
    int64_t delete_retention_ms;      /* delete.retention.ms, 86400000 */
    int64_t min_compaction_lag_ms;    /* min.compaction.lag.ms, 0 */
    int64_t flush_messages;           /* flush.messages, INT64_MAX */
    int64_t flush_ms;                 /* flush.ms, INT64_MAX */
    bool log_append_time;             /* message.timestamp.type=LogAppendTime */
    int32_t max_message_bytes;        /* max.message.bytes, 1048588 */
    int32_t index_interval_bytes;     /* index.interval.bytes, 4096 */
    int32_t segment_index_bytes;      /* segment.index.bytes, 10485760 */
} rv__log_config_t;

/* Kafka's producer.id.expiration.ms default (a broker setting, not a
 * topic's): a producer that has not written to a partition for this long
 * is forgotten there. The producer state (broker/producer_state.c) drops
 * it from memory after that much idle time; the cleaner keeps a
 * producer's emptied last batch for that long after the pass that emptied
 * it (broker/log/cleaner.c). */
#define RV__PRODUCER_ID_EXPIRATION_MS 86400000

/** Kafka's defaults for every field. */
void rv__log_config_defaults(rv__log_config_t *cfg);

#endif
