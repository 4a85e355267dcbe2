/* broker/topic_config.h: topic-level configs (Kafka's names, types,
 * defaults and ranges) and their mapping onto rv__log_config_t. */
#ifndef RV_BROKER_TOPIC_CONFIG_H
#define RV_BROKER_TOPIC_CONFIG_H

#include <stddef.h>

#include "broker/log/log_config.h"
#include "common/config.h"

/** Every topic config Kafka's tools accept here: cleanup.policy,
 *  compression.type, delete.retention.ms, file.delete.delay.ms,
 *  flush.messages, flush.ms, index.interval.bytes, max.message.bytes,
 *  message.timestamp.type, min.cleanable.dirty.ratio,
 *  min.compaction.lag.ms, retention.bytes, retention.ms, segment.bytes,
 *  segment.index.bytes, segment.ms, ... NULL-name terminated. */
extern const rv__prop_t rv__topic_config_props[];

/** Checks one name/value. RV_ERR_INVALID_CONFIG with Kafka's message
 *  ("Unknown topic config name: x", "Invalid value x for configuration
 *  y: ...") in errstr. */
rv_err_t rv__topic_config_check(const char *name, const char *value, char *errstr,
                                size_t errstr_size);

/** Builds the log settings from defaults overlaid with `cnt` checked
 *  name/value pairs. */
void rv__topic_config_to_log(rv__log_config_t *cfg, const char *const *names,
                             const char *const *values, size_t cnt);

#endif
