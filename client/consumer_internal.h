/* client/consumer_internal.h: consumer internals for tests. */
#ifndef RV_CLIENT_CONSUMER_INTERNAL_H
#define RV_CLIENT_CONSUMER_INTERNAL_H

#include "rivulet/consumer.h"

/** Makes the consumer behave like a crashed process: its heartbeat thread
 *  stops sending, and close/destroy neither commit nor leave the group, so
 *  the coordinator only notices through session.timeout.ms. Application
 *  thread only. */
void rv__consumer_simulate_crash(rv_consumer_t *c);

#endif
