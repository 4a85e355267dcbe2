/* rivulet/admin.h: topics, configs and records administration.
 *
 * The admin client is backend-neutral, chosen by bootstrap.servers:
 * "embedded:DIR" opens the in-process broker on data folder DIR; a
 * host:port list uses the kafka backend (librdkafka), which talks to
 * `rivulet broker` or any Kafka cluster. Calls are synchronous and wait at
 * most request.timeout.ms (default 30000) per request they make (a kafka
 * describe of a topic makes several: Metadata, ListOffsets per partition,
 * DescribeConfigs).
 *
 * Where the kafka backend differs (librdkafka 2.0.2 has no
 * IncrementalAlterConfigs, and Metadata v4 no topic ids), the function
 * says so below; see also docs/TOOLS.md, "A network broker".
 *
 * Errors are Kafka's codes with a message in errstr:
 * TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION,
 * INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_CONFIG,
 * OFFSET_OUT_OF_RANGE.
 *
 * Thread-safety: an rv_admin_t may be used from several threads at once.
 * Description objects are not thread-safe. */
#ifndef RIVULET_ADMIN_H
#define RIVULET_ADMIN_H

#include <stdbool.h>

#include "common.h"
#include "conf.h"
#include "consumer.h"
#include "error.h"

RV_BEGIN_DECLS

typedef struct rv_admin_s rv_admin_t;
typedef struct rv_topic_description_s rv_topic_description_t;
typedef struct rv_config_list_s rv_config_list_t;

/** Creates an admin client from `conf` (needs bootstrap.servers). Takes
 *  ownership of conf on success only. NULL with a message in errstr on
 *  failure (bad bootstrap.servers, data folder locked by another process,
 *  a value librdkafka refuses). With a host:port list nothing is connected
 *  yet, as with Kafka's AdminClient: an unreachable broker shows in the
 *  first call (a timeout or transport error). */
RV_EXTERN rv_admin_t *rv_admin_new(rv_conf_t *conf, char *errstr, size_t errstr_size);

/** Closes the client. NULL does nothing. */
RV_EXTERN void rv_admin_destroy(rv_admin_t *admin);

/** Creates a topic. Name rules are Kafka's: [a-zA-Z0-9._-], 1..249
 *  characters, not "." or ".."; a name mixing '.' and '_' is accepted with
 *  a warning in the log (they collide in metric names). partitions >= 1, or
 *  -1 for num.partitions (1). replication_factor must be 1 or -1 on the
 *  embedded broker. configs: `config_cnt` pairs of topic config names and
 *  values (`names[i]`, `values[i]`), each checked; all borrowed. */
RV_EXTERN rv_err_t rv_admin_create_topic(rv_admin_t *admin, const char *topic, int32_t partitions,
                                         int16_t replication_factor, const char *const *names,
                                         const char *const *values, size_t config_cnt, char *errstr,
                                         size_t errstr_size);

/** Deletes a topic and its data. */
RV_EXTERN rv_err_t rv_admin_delete_topic(rv_admin_t *admin, const char *topic, char *errstr,
                                         size_t errstr_size);

/** Names of all topics, sorted; internal ones (starting with "__") only
 *  when include_internal. Caller owns *names (an array of *cnt strings);
 *  free with rv_strv_free(*names, *cnt). */
RV_EXTERN rv_err_t rv_admin_list_topics(rv_admin_t *admin, bool include_internal, char ***names,
                                        size_t *cnt, char *errstr, size_t errstr_size);

/** Frees an array of n strings as returned by the library. */
RV_EXTERN void rv_strv_free(char **v, size_t n);

/** Describes a topic: id, partitions with leader, log start and end
 *  offsets, and configs. Caller owns *out; free with
 *  rv_topic_description_destroy(). */
RV_EXTERN rv_err_t rv_admin_describe_topic(rv_admin_t *admin, const char *topic,
                                           rv_topic_description_t **out, char *errstr,
                                           size_t errstr_size);

/** Raises the partition count to `total`. INVALID_PARTITIONS when total is
 *  not above the current count (Kafka never decreases partitions). */
RV_EXTERN rv_err_t rv_admin_create_partitions(rv_admin_t *admin, const char *topic, int32_t total,
                                              char *errstr, size_t errstr_size);

/** All configs of a topic with their values and whether each is a default.
 *  Caller owns *out; free with rv_config_list_destroy(). */
RV_EXTERN rv_err_t rv_admin_describe_configs(rv_admin_t *admin, const char *topic,
                                             rv_config_list_t **out, char *errstr,
                                             size_t errstr_size);

/** Incremental alter, as kafka-configs --add-config / --delete-config:
 *  sets set_cnt name/value pairs and reverts del_cnt names to their
 *  defaults, atomically (all or nothing; every name and value is checked
 *  first). Takes effect on the live logs. All arguments borrowed.
 *  Kafka backend: librdkafka 2.0.2 has only the replacing AlterConfigs, so
 *  the call reads the topic's overrides (DescribeConfigs), applies the
 *  change and sends the whole set; the replacement is atomic, but an alter
 *  by another client between the two requests can be undone. */
RV_EXTERN rv_err_t rv_admin_alter_configs(rv_admin_t *admin, const char *topic,
                                          const char *const *set_names,
                                          const char *const *set_values, size_t set_cnt,
                                          const char *const *del_names, size_t del_cnt,
                                          char *errstr, size_t errstr_size);

/** delete-records: moves a partition's log start offset to `offset`
 *  (-1 = the high watermark); reads below it then fail with
 *  OFFSET_OUT_OF_RANGE. *low_watermark gets the new log start offset.
 *  OFFSET_OUT_OF_RANGE when offset is past the high watermark. */
RV_EXTERN rv_err_t rv_admin_delete_records(rv_admin_t *admin, const char *topic, int32_t partition,
                                           int64_t offset, int64_t *low_watermark, char *errstr,
                                           size_t errstr_size);

/* Topic descriptions. All strings borrowed: valid until the description is
 * destroyed. */
RV_EXTERN void rv_topic_description_destroy(rv_topic_description_t *d);
RV_EXTERN const char *rv_topic_description_name(const rv_topic_description_t *d);
/** Kafka's topic id printed as Kafka does (URL-safe base64, 22 chars).
 *  The kafka backend reads Metadata v4, which has no ids: it reports
 *  Kafka's zero id, "AAAAAAAAAAAAAAAAAAAAAA". */
RV_EXTERN const char *rv_topic_description_id(const rv_topic_description_t *d);
RV_EXTERN int32_t rv_topic_description_partition_count(const rv_topic_description_t *d);
RV_EXTERN int16_t rv_topic_description_replication_factor(const rv_topic_description_t *d);
/** Per partition i (0..count-1): leader broker id, log start offset, log
 *  end offset (the high watermark). */
RV_EXTERN int32_t rv_topic_description_leader(const rv_topic_description_t *d, int32_t i);
RV_EXTERN int64_t rv_topic_description_log_start_offset(const rv_topic_description_t *d, int32_t i);
RV_EXTERN int64_t rv_topic_description_end_offset(const rv_topic_description_t *d, int32_t i);
/** The topic's configs (borrowed from d). */
RV_EXTERN const rv_config_list_t *rv_topic_description_configs(const rv_topic_description_t *d);

/* Config lists: every topic config, sorted by name. */
RV_EXTERN void rv_config_list_destroy(rv_config_list_t *l);
RV_EXTERN size_t rv_config_list_count(const rv_config_list_t *l);
RV_EXTERN const char *rv_config_list_name(const rv_config_list_t *l, size_t i);
RV_EXTERN const char *rv_config_list_value(const rv_config_list_t *l, size_t i);
/** True when entry i is the default (not set on the topic). */
RV_EXTERN bool rv_config_list_is_default(const rv_config_list_t *l, size_t i);
/** The value of `name`, or NULL when no such config. */
RV_EXTERN const char *rv_config_list_get(const rv_config_list_t *l, const char *name);

/* ---- Consumer groups (Kafka's Admin listConsumerGroups,
 * describeConsumerGroups, listConsumerGroupOffsets,
 * alterConsumerGroupOffsets, deleteConsumerGroups) ---- */

typedef struct rv_group_description_s rv_group_description_t;

/** Every consumer group the broker knows (with members, or with committed
 *  offsets), sorted by id. Caller owns *groups (an array of *cnt strings);
 *  free with rv_strv_free(*groups, *cnt). When `states` is not NULL,
 *  (*states)[i] is group i's state, as in describe; free it the same way. */
RV_EXTERN rv_err_t rv_admin_list_groups(rv_admin_t *admin, char ***groups, char ***states,
                                        size_t *cnt, char *errstr, size_t errstr_size);

/** Describes a group: its state, assignor and members with their
 *  assignments. GROUP_ID_NOT_FOUND when the broker knows no such group.
 *  Caller owns *out; free with rv_group_description_destroy(). */
RV_EXTERN rv_err_t rv_admin_describe_group(rv_admin_t *admin, const char *group,
                                           rv_group_description_t **out, char *errstr,
                                           size_t errstr_size);

/** The group's committed offsets, one entry per partition it has committed,
 *  sorted by topic and partition (offset and metadata set). An unknown
 *  group gives an empty list. Caller owns *out; free with
 *  rv_topic_partition_list_destroy(). Kafka backend: only partitions of
 *  topics that exist are listed (it asks for every partition by name, as
 *  librdkafka 2.0.2 cannot ask for "all" below OffsetFetch v6). */
RV_EXTERN rv_err_t rv_admin_list_group_offsets(rv_admin_t *admin, const char *group,
                                               rv_topic_partition_list_t **out, char *errstr,
                                               size_t errstr_size);

/** Commits `offsets` (each entry's offset and metadata) for the group as
 *  an outside admin (no member id, no generation), creating the group when
 *  unknown. As on Kafka's broker this is refused while the group has
 *  members: UNKNOWN_MEMBER_ID (callers that want Kafka's tool message
 *  check the state with rv_admin_describe_group() first). Each entry's err
 *  gets its partition's result. `offsets` is borrowed; only the err fields
 *  are written. */
RV_EXTERN rv_err_t rv_admin_alter_group_offsets(rv_admin_t *admin, const char *group,
                                                rv_topic_partition_list_t *offsets, char *errstr,
                                                size_t errstr_size);

/** Deletes an empty group with its committed offsets. NON_EMPTY_GROUP
 *  while it has members, GROUP_ID_NOT_FOUND when unknown. */
RV_EXTERN rv_err_t rv_admin_delete_group(rv_admin_t *admin, const char *group, char *errstr,
                                         size_t errstr_size);

/* Group descriptions. Everything is borrowed from the description: valid
 * until rv_group_description_destroy(). */
RV_EXTERN void rv_group_description_destroy(rv_group_description_t *d);
RV_EXTERN const char *rv_group_description_group_id(const rv_group_description_t *d);
/** Kafka's state names: "Stable", "Empty", "PreparingRebalance",
 *  "CompletingRebalance". */
RV_EXTERN const char *rv_group_description_state(const rv_group_description_t *d);
/** The assignor chosen in the last rebalance ("range", ...); "" unless the
 *  group is Stable, as Kafka's DescribeGroups. */
RV_EXTERN const char *rv_group_description_partition_assignor(const rv_group_description_t *d);
/** The broker id of the group's coordinator (the embedded broker is 0). */
RV_EXTERN int32_t rv_group_description_coordinator(const rv_group_description_t *d);
RV_EXTERN size_t rv_group_description_member_count(const rv_group_description_t *d);
/** Member i (0..count-1): member id (Kafka's CONSUMER-ID), client id,
 *  host ("/127.0.0.1" for in-process members) and group.instance.id
 *  (NULL when dynamic). NULL when i is out of range. */
RV_EXTERN const char *rv_group_description_member_id(const rv_group_description_t *d, size_t i);
RV_EXTERN const char *rv_group_description_member_client_id(const rv_group_description_t *d,
                                                            size_t i);
RV_EXTERN const char *rv_group_description_member_host(const rv_group_description_t *d, size_t i);
RV_EXTERN const char *rv_group_description_member_instance_id(const rv_group_description_t *d,
                                                              size_t i);
/** Member i's assigned partitions (offsets RV_OFFSET_INVALID), sorted;
 *  empty unless the group is Stable. */
RV_EXTERN const rv_topic_partition_list_t *
rv_group_description_member_assignment(const rv_group_description_t *d, size_t i);

RV_END_DECLS

#endif
