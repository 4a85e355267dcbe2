/* broker/kafka/api_util.h: small helpers the request handlers of
 * broker/kafka/api_*.c share: arena arrays that fail the request when
 * memory runs out, repeat checks that stay O(n log n) on requests naming
 * hundreds of thousands of items, and the error code that goes on the wire
 * for a local result. The arena and the reader themselves are broker/kafka/proto.h's. */
#ifndef RV_BROKER_KAFKA_API_UTIL_H
#define RV_BROKER_KAFKA_API_UTIL_H

#include <stdbool.h>
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

/** Finds repeated names among names[0..n) in O(n log n) (a request may
 *  name hundreds of thousands of topics): first[i] gets whether names[i]
 *  is the first occurrence of its name, count[i] (when count is not NULL)
 *  how often names[i] occurs; both have room for n. Scratch space comes
 *  from the request's arena. Returns the number of distinct names, -1
 *  (the reader's error set) when out of memory. */
int32_t rv__kapi_find_repeats(rv__kreq_t *req, const char *const *names, int32_t n, bool *first,
                              int32_t *count);

/** Whether idx[0..n) holds each of 0..n-1 exactly once (Kafka's
 *  "consecutive 0-based integer sequence" of partition indexes), in O(n).
 *  `seen` is the caller's scratch room for n flags. */
bool rv__kapi_is_index_set(const int32_t *idx, int32_t n, bool *seen);

/** The error code a response carries for `err`: Kafka's codes as they
 *  are; local (negative) codes, which mean nothing to a Kafka client,
 *  become UNKNOWN_SERVER_ERROR. */
int16_t rv__kapi_wire_err(rv_err_t err);

#endif
