/* client/kafka_producer.h: the kafka backend of the producer, used by
 * client/producer.c when bootstrap.servers is a host:port list. Each
 * function implements the public function of the same name in
 * include/rivulet/producer.h (same arguments, threads and errors), after
 * client/producer.c has checked the configuration and the record. */
#ifndef RV_CLIENT_KAFKA_PRODUCER_H
#define RV_CLIENT_KAFKA_PRODUCER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "rivulet/conf.h"
#include "rivulet/producer.h"

typedef struct rv__kproducer_s rv__kproducer_t;

/** A librdkafka producer for `conf`. `owner` is the public handle handed
 *  to delivery callbacks (borrowed: it must outlive the backend).
 *  `idempotent` is the outcome of client/producer.c's checks (Kafka 3.x
 *  turns idempotence off silently when acks or retries conflict with it).
 *  conf is borrowed for the call. Caller owns the result; free with
 *  rv__kproducer_destroy(). NULL with a message in errstr on failure. */
rv__kproducer_t *rv__kproducer_new(rv_producer_t *owner, const rv_conf_t *conf, bool idempotent,
                                   char *errstr, size_t errstr_size);

/** rv_producer_set_partitioner(): before the first send. */
void rv__kproducer_set_partitioner(rv__kproducer_t *kp, rv_partitioner_cb_t *cb, void *opaque);

/** rv_producer_send() for a record that passed client/producer.c's
 *  checks; `size` is the record's estimated size those checks computed.
 *  Thread-safe. */
rv_err_t rv__kproducer_send(rv__kproducer_t *kp, const rv_producer_record_t *r, size_t size,
                            rv_delivery_cb_t *cb, void *opaque, char *errstr, size_t errstr_size);

/** The wait of rv_producer_send_sync() (client/producer.c), after the
 *  record was sent: sends what lingers at once and serves reports until
 *  *done, which the record's delivery callback sets, is non-zero. `done`
 *  is borrowed during the call. Thread-safe. */
void rv__kproducer_sync_wait(rv__kproducer_t *kp, const atomic_int *done);

/** rv_producer_poll(), rv_producer_flush(), rv_producer_in_flight().
 *  Thread-safe. */
int rv__kproducer_poll(rv__kproducer_t *kp, int timeout_ms);
rv_err_t rv__kproducer_flush(rv__kproducer_t *kp, int timeout_ms);
size_t rv__kproducer_in_flight(rv__kproducer_t *kp);

/** rv_producer_close(): closing twice does nothing. */
rv_err_t rv__kproducer_close(rv__kproducer_t *kp, int timeout_ms);

/** Closes with timeout 0 when not closed, then frees. NULL does nothing. */
void rv__kproducer_destroy(rv__kproducer_t *kp);

/** Tests: stops (true) or restarts the thread that collects librdkafka's
 *  delivery reports. While it is stopped, records stay counted in
 *  librdkafka's queue (buffer.memory) and no report reaches poll, flush or
 *  send_sync; close restarts it. Thread-safe. */
void rv__kproducer_pause(rv__kproducer_t *kp, bool paused);

#endif
