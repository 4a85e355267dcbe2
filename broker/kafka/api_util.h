/* broker/kafka/api_util.h: small helpers the request handlers of
 * broker/kafka/api_*.c share: arena arrays that fail the request when
 * memory runs out, and the error code that goes on the wire for a local
 * result. The arena and the reader themselves are broker/kafka/proto.h's. */
#ifndef RV_BROKER_KAFKA_API_UTIL_H
#define RV_BROKER_KAFKA_API_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "broker/kafka/api.h"
#include "rivulet/error.h"

/** Zeroed space for n elements of `size` bytes, n may be 0 (n is bounded
 *  by rv__kr_array() before). Borrowed: owned by the request's arena and
 *  freed with the request. NULL, with the reader's error set so the
 *  request is dropped, when out of memory. */
void *rv__kreq_array(rv__kreq_t *req, size_t n, size_t size);

/** Makes room for `need` elements of `size` bytes in an arena array `v`
 *  holding `cnt` of them with room for *cap: returns v when it is large
 *  enough, else a copy of its cnt elements in an array of twice the room
 *  (at least 8, at least need) and updates *cap. Borrowed as
 *  rv__kreq_array(); NULL, with the reader's error set, when out of
 *  memory (v is left as it was). */
void *rv__kreq_array_grow(rv__kreq_t *req, void *v, size_t cnt, size_t *cap, size_t need,
                          size_t size);

/** The error code a response carries for `err`: Kafka's codes as they
 *  are; local (negative) codes, which mean nothing to a Kafka client,
 *  become UNKNOWN_SERVER_ERROR. */
int16_t rv__kapi_wire_err(rv_err_t err);

#endif
