/* client/consumer_internal.h: consumer internals for the stream runtime
 * and tests. */
#ifndef RV_CLIENT_CONSUMER_INTERNAL_H
#define RV_CLIENT_CONSUMER_INTERNAL_H

#include "rivulet/consumer.h"

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
