/* client/kafka_consumer.h: the kafka backend of the consumer
 * (client/kafka_consumer.c), chosen by rv_consumer_new() when
 * bootstrap.servers is a host:port list. client/consumer.c owns the public
 * rv_consumer_t and forwards every call here; each function below has the
 * meaning, ownership and errors of the public function of the same name in
 * rivulet/consumer.h. Callbacks receive the public consumer (`owner`).
 *
 * client/consumer.c checks the arguments and the state both backends share
 * (closed, group.id, subscription versus manual assignment, the offsets
 * given) before it calls here, and clears the error message; the functions
 * below assume those checks passed. It also keeps the subscription list
 * and the message rv_consumer_last_error() returns: the backend writes its
 * messages into that buffer.
 *
 * Threads: as the public API. rv__kconsumer_wakeup() is the only function
 * any thread may call. */
#ifndef RV_CLIENT_KAFKA_CONSUMER_H
#define RV_CLIENT_KAFKA_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "rivulet/conf.h"
#include "rivulet/consumer.h"

typedef struct rv__kconsumer_s rv__kconsumer_t;

/** A consumer on the Kafka cluster named by conf's bootstrap.servers.
 *  `conf` is borrowed (read during the call only); `owner` is borrowed and
 *  must outlive the result: it is what listener and commit callbacks get.
 *  `errmsg` (errmsg_size bytes) is borrowed for the life of the result: the
 *  owner's last-error buffer, where the backend writes its messages.
 *  NULL with a message in errstr when the configuration is refused. Caller
 *  owns the result; free with rv__kconsumer_destroy(). */
rv__kconsumer_t *rv__kconsumer_new(rv_consumer_t *owner, const rv_conf_t *conf, char *errmsg,
                                   size_t errmsg_size, char *errstr, size_t errstr_size);
rv_err_t rv__kconsumer_close(rv__kconsumer_t *kc);
/** Closes first when needed. NULL does nothing. */
void rv__kconsumer_destroy(rv__kconsumer_t *kc);

/** `topics` are non-empty and distinct (checked by the caller); borrowed
 *  during the call only. */
rv_err_t rv__kconsumer_subscribe(rv__kconsumer_t *kc, const char *const *topics, size_t topic_cnt,
                                 const rv_rebalance_listener_t *listener);
/** Called only while subscribed. */
rv_err_t rv__kconsumer_unsubscribe(rv__kconsumer_t *kc);
rv_err_t rv__kconsumer_assign(rv__kconsumer_t *kc, const rv_topic_partition_list_t *partitions);
rv_err_t rv__kconsumer_assignment(rv__kconsumer_t *kc, rv_topic_partition_list_t **out);

rv_err_t rv__kconsumer_poll(rv__kconsumer_t *kc, int timeout_ms, rv_records_t **out);
void rv__kconsumer_wakeup(rv__kconsumer_t *kc);

/** 1 when topic-partition is in the current assignment, else 0. */
int rv__kconsumer_is_assigned(rv__kconsumer_t *kc, const char *topic, int32_t partition);
/** The partition is assigned and the offset valid (checked by the caller). */
rv_err_t rv__kconsumer_seek(rv__kconsumer_t *kc, const char *topic, int32_t partition,
                            int64_t offset);
/** seek_to_beginning (where = RV_OFFSET_BEGINNING) / seek_to_end
 *  (RV_OFFSET_END) of the whole assignment. */
rv_err_t rv__kconsumer_seek_assignment(rv__kconsumer_t *kc, int64_t where);
rv_err_t rv__kconsumer_position(rv__kconsumer_t *kc, rv_topic_partition_list_t *partitions);
/** rv__consumer_fetched_lag(): librdkafka's cached high watermark (from
 *  its last fetch response) minus the position; -1 when either is unknown. */
int64_t rv__kconsumer_fetched_lag(rv__kconsumer_t *kc, const char *topic, int32_t partition);
rv_err_t rv__kconsumer_committed(rv__kconsumer_t *kc, rv_topic_partition_list_t *partitions,
                                 int timeout_ms);
rv_err_t rv__kconsumer_set_paused(rv__kconsumer_t *kc, const rv_topic_partition_list_t *partitions,
                                  int paused);

rv_err_t rv__kconsumer_commit_sync(rv__kconsumer_t *kc, const rv_topic_partition_list_t *offsets,
                                   char *errstr, size_t errstr_size);
rv_err_t rv__kconsumer_commit_async(rv__kconsumer_t *kc, const rv_topic_partition_list_t *offsets,
                                    rv_commit_cb_t *cb, void *opaque);

const char *rv__kconsumer_member_id(const rv__kconsumer_t *kc);
int32_t rv__kconsumer_generation(const rv__kconsumer_t *kc);

/** Tests: close and destroy neither commit nor leave the group, so the
 *  coordinator only notices through session.timeout.ms (heartbeats go on
 *  until destroy, unlike the embedded backend's). */
void rv__kconsumer_simulate_crash(rv__kconsumer_t *kc);

#endif
