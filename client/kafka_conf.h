/* client/kafka_conf.h: what the three clients' kafka backends share: the
 * translation of a rivulet configuration (Kafka's property names) into a
 * librdkafka one, and of librdkafka's error codes into rivulet's.
 *
 * bootstrap.servers chooses the backend: "embedded:DIR" is the in-process
 * broker, anything else a host:port list for librdkafka. */
#ifndef RV_CLIENT_KAFKA_CONF_H
#define RV_CLIENT_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "rivulet/conf.h"
#include "rivulet/error.h"

typedef enum rv__kafka_role_e {
    RV__KAFKA_PRODUCER,
    RV__KAFKA_CONSUMER,
    RV__KAFKA_ADMIN
} rv__kafka_role_t;

/** True when bootstrap.servers names a Kafka cluster (host:port list)
 *  rather than "embedded:DIR". NULL or "" is not remote. */
bool rv__kafka_is_remote(const char *bootstrap_servers);

/** A librdkafka configuration carrying every property of `conf` (set, or
 *  its default) that librdkafka has for `role`, under librdkafka's name
 *  (e.g. buffer.memory -> queue.buffering.max.kbytes), plus
 *  partitioner=murmur2_random for producers so a key lands where a Java
 *  producer puts it. Properties rivulet implements itself
 *  (max.poll.records, max.block.ms) are left out. NULL with a message in
 *  errstr when librdkafka refuses a value. Caller owns the result: pass it
 *  to rd_kafka_new() (which takes it on success) or free it with
 *  rd_kafka_conf_destroy(). */
rd_kafka_conf_t *rv__kafka_conf_new(const rv_conf_t *conf, rv__kafka_role_t role, char *errstr,
                                    size_t errstr_size);

/** rivulet's code for a librdkafka error: Kafka's codes keep their
 *  number; librdkafka's local codes map to the rivulet code of the same
 *  meaning (unknown topic or partition to UNKNOWN_TOPIC_OR_PARTITION), any
 *  other to RV_ERR__FAIL. */
rv_err_t rv__kafka_err(rd_kafka_resp_err_t err);

#endif
