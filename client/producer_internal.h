/* client/producer_internal.h: the producer's internals shared between
 * client/producer.c, client/partitioner.c and the tests. */
#ifndef RV_CLIENT_PRODUCER_INTERNAL_H
#define RV_CLIENT_PRODUCER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "rivulet/producer.h"

/** The sticky partitioner's next partition for null keys: random, and not
 *  `prev` when partition_cnt > 1 (prev -1: none yet). *rng is the
 *  caller's random state (not thread-safe: guard it). */
int32_t rv__sticky_next(int32_t prev, int32_t partition_cnt, uint32_t *rng);

/** Tests: stops (true) or restarts the sender thread from appending, so
 *  records stay buffered (buffer.memory, linger). Thread-safe. */
void rv__producer_pause_sender(rv_producer_t *p, bool paused);

/** Tests: the producer id and epoch (-1 when idempotence is off). */
int64_t rv__producer_id(rv_producer_t *p, int16_t *epoch);

#endif
