/* client/consumer_internal.h: consumer internals for the stream runtime
 * and tests. */
#ifndef RV_CLIENT_CONSUMER_INTERNAL_H
#define RV_CLIENT_CONSUMER_INTERNAL_H

#include <stdbool.h>

#include "rivulet/consumer.h"

/** Asks every member of the consumer's group to shut down (Kafka
 *  Streams' SHUTDOWN_APPLICATION): the consumer rejoins at its next poll
 *  with a marker in its subscription's user data, and the leader then
 *  gives every member no partitions and the marker in its assignment
 *  user data; rv__consumer_shutdown_requested() turns true on each
 *  member that receives it. The consumer keeps the marker in its later
 *  subscriptions, as every member that received it does, so members
 *  joining later learn it too. The group's offsets are untouched.
 *  RV_ERR__STATE without a group subscription; RV_ERR__NOT_IMPLEMENTED on
 *  the kafka backend (its group protocol belongs to librdkafka, which
 *  carries no user data of ours). Application thread only. */
rv_err_t rv__consumer_request_shutdown(rv_consumer_t *c);

/** True once an assignment told this member that a member (itself
 *  included) asked the group to shut down: asking alone does not make it
 *  true. Always false on the kafka backend. Application thread only. */
bool rv__consumer_shutdown_requested(const rv_consumer_t *c);

/** Makes the consumer behave like a crashed process: its heartbeat thread
 *  stops sending, and close/destroy neither commit nor leave the group, so
 *  the coordinator only notices through session.timeout.ms. Application
 *  thread only. */
void rv__consumer_simulate_crash(rv_consumer_t *c);

/** The lag of an assigned partition as of the consumer's last fetch of it
 *  (Kafka's Consumer.currentLag): the high watermark that fetch saw minus
 *  the position (the next offset poll returns), at least 0. -1 when
 *  unknown: not assigned, no position yet, or not fetched yet.
 *  Application thread only. */
int64_t rv__consumer_fetched_lag(rv_consumer_t *c, const char *topic, int32_t partition);

#endif
