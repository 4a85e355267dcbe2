/* client/kafka_admin.h: the admin client's kafka backend (librdkafka),
 * chosen by client/admin.c when bootstrap.servers is a host:port list, and
 * the builders through which it fills the public description objects that
 * client/admin.c defines.
 *
 * Every operation has the meaning, arguments and ownership of the public
 * function of the same name in rivulet/admin.h (arguments are already
 * checked). They may be called from several threads at once: each call
 * waits for its own result on its own librdkafka queue. */
#ifndef RV_CLIENT_KAFKA_ADMIN_H
#define RV_CLIENT_KAFKA_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "rivulet/admin.h"

typedef struct rv__kadmin_s rv__kadmin_t;

/** A kafka backend for `conf` (read, not kept). NULL with a message in
 *  errstr when librdkafka refuses the configuration. Caller owns the
 *  result; free with rv__kadmin_destroy(). No connection is made yet. */
rv__kadmin_t *rv__kadmin_new(const rv_conf_t *conf, char *errstr, size_t errstr_size);
/** NULL does nothing. */
void rv__kadmin_destroy(rv__kadmin_t *k);

rv_err_t rv__kadmin_create_topic(rv__kadmin_t *k, const char *topic, int32_t partitions, int16_t rf,
                                 const char *const *names, const char *const *values, size_t cnt,
                                 char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_delete_topic(rv__kadmin_t *k, const char *topic, char *errstr,
                                 size_t errstr_size);
rv_err_t rv__kadmin_list_topics(rv__kadmin_t *k, bool include_internal, char ***names, size_t *cnt,
                                char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_describe_topic(rv__kadmin_t *k, const char *topic, rv_topic_description_t **out,
                                   char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_create_partitions(rv__kadmin_t *k, const char *topic, int32_t total,
                                      char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_describe_configs(rv__kadmin_t *k, const char *topic, rv_config_list_t **out,
                                     char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_alter_configs(rv__kadmin_t *k, const char *topic, const char *const *set_names,
                                  const char *const *set_values, size_t set_cnt,
                                  const char *const *del_names, size_t del_cnt, char *errstr,
                                  size_t errstr_size);
rv_err_t rv__kadmin_delete_records(rv__kadmin_t *k, const char *topic, int32_t partition,
                                   int64_t offset, int64_t *low_watermark, char *errstr,
                                   size_t errstr_size);
rv_err_t rv__kadmin_list_groups(rv__kadmin_t *k, char ***groups, char ***states, size_t *cnt,
                                char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_describe_group(rv__kadmin_t *k, const char *group, rv_group_description_t **out,
                                   char *errstr, size_t errstr_size);
rv_err_t rv__kadmin_list_group_offsets(rv__kadmin_t *k, const char *group,
                                       rv_topic_partition_list_t **out, char *errstr,
                                       size_t errstr_size);
rv_err_t rv__kadmin_alter_group_offsets(rv__kadmin_t *k, const char *group,
                                        rv_topic_partition_list_t *offsets, char *errstr,
                                        size_t errstr_size);
rv_err_t rv__kadmin_delete_group(rv__kadmin_t *k, const char *group, char *errstr,
                                 size_t errstr_size);

/* ---- Builders, implemented in client/admin.c. Each returns NULL or an
 * error only when out of memory. ---- */

/** An empty config list. Caller owns the result; free with
 *  rv_config_list_destroy(). */
rv_config_list_t *rv__config_list_new(void);
/** Appends an entry; name and value (NULL allowed: a sensitive or unset
 *  value) are copied. */
rv_err_t rv__config_list_add(rv_config_list_t *l, const char *name, const char *value,
                             bool is_default);
/** Sorts the entries by name, as the public API promises. */
void rv__config_list_sort(rv_config_list_t *l);

/** A topic description with `partition_cnt` partitions whose leaders and
 *  offsets are all -1; name and id (22 characters) are copied. Caller owns
 *  the result; free with rv_topic_description_destroy(). */
rv_topic_description_t *rv__topic_description_new(const char *name, const char *id,
                                                  int32_t partition_cnt, int16_t rf);
/** Sets partition i (0 <= i < count). */
void rv__topic_description_set_partition(rv_topic_description_t *d, int32_t i, int32_t leader,
                                         int64_t log_start_offset, int64_t end_offset);
/** Takes ownership of configs. */
void rv__topic_description_set_configs(rv_topic_description_t *d, rv_config_list_t *configs);

/** A group description without members; strings are copied. Caller owns
 *  the result; free with rv_group_description_destroy(). */
rv_group_description_t *rv__group_description_new(const char *group_id, const char *state,
                                                  const char *assignor, int32_t coordinator,
                                                  size_t member_cap);
/** Appends one of at most member_cap members; strings are copied
 *  (instance_id may be NULL). Takes ownership of assignment, also on
 *  failure. */
rv_err_t rv__group_description_add_member(rv_group_description_t *d, const char *member_id,
                                          const char *client_id, const char *host,
                                          const char *instance_id,
                                          rv_topic_partition_list_t *assignment);

#endif
