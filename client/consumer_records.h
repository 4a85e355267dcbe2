/* client/consumer_records.h: how the consumer fills the rv_records_t
 * containers that rv_consumer_poll() returns (client/records.c).
 *
 * Records borrow the fetched bytes instead of copying each record: a fetch
 * lands in one refcounted chunk, and a container holds a reference on every
 * chunk its records point into, so a chunk lives until the consumer has
 * moved past it and every container using it is destroyed. The topic name
 * lives in the chunk too, so records stay valid after the consumer is
 * gone.
 *
 * Threads: a chunk's reference count is atomic (containers may be freed on
 * any thread); everything else is used by one thread at a time. */
#ifndef RV_CLIENT_CONSUMER_RECORDS_H
#define RV_CLIENT_CONSUMER_RECORDS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/record_batch.h"
#include "rivulet/record.h"

typedef struct rv__chunk_pool_s rv__chunk_pool_t;

/* Fetched batch bytes of one partition. */
typedef struct rv__chunk_s {
    atomic_int refcnt;
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;             /* allocated bytes at data */
    rv__chunk_pool_t *pool; /* where data goes back to; NULL: freed */
    char topic[];           /* NUL-terminated */
} rv__chunk_t;

/** A chunk with one reference that takes over buf's memory (buf is left
 *  empty) and copies `topic`. NULL when out of memory (buf unchanged). */
rv__chunk_t *rv__chunk_new(rv__buf_t *buf, const char *topic);
/** The same, and when its last reference goes, its memory is kept in
 *  `pool` (which it references meanwhile) for rv__chunk_pool_take(). */
rv__chunk_t *rv__chunk_new_pooled(rv__buf_t *buf, const char *topic, rv__chunk_pool_t *pool);
void rv__chunk_ref(rv__chunk_t *c);
/** Drops a reference; the last one frees the chunk. NULL does nothing. */
void rv__chunk_unref(rv__chunk_t *c);

/* A one-slot pool of fetch buffers: a consumer reads its next fetch into
 * the memory of a chunk its application has finished with, instead of
 * fresh memory that the allocator would have to fault in page by page
 * (a fetch is up to max.partition.fetch.bytes). The slot is atomic, since
 * the last reference to a chunk may go on any thread; the pool is
 * reference-counted, since chunks may outlive their consumer. */

/** An empty pool with one reference. NULL when out of memory. */
rv__chunk_pool_t *rv__chunk_pool_new(void);
/** Drops a reference; the last one frees the pool and its buffer. NULL
 *  does nothing. */
void rv__chunk_pool_unref(rv__chunk_pool_t *pool);
/** Moves the pooled memory, if any, into the empty `buf` (len 0, its
 *  capacity kept). Any thread. */
void rv__chunk_pool_take(rv__chunk_pool_t *pool, rv__buf_t *buf);

/** An empty container with room for `cap` records. Caller owns it; free
 *  with rv_records_destroy(). NULL when out of memory. */
rv_records_t *rv__records_new(size_t cap);

/** Appends a record read from a batch of `chunk` (partition, timestamp
 *  type from the batch). The container takes a reference on the chunk the
 *  first time one of its records is added (chunks must be added in runs:
 *  all records of a chunk before the next one). Headers are decoded here:
 *  their keys are copied NUL-terminated, values stay borrowed. */
rv_err_t rv__records_add(rv_records_t *rs, rv__chunk_t *chunk, int32_t partition,
                         rv_timestamp_type_t ts_type, const rv__record_t *rec);

/** Makes header pointers final; call once when done adding. */
void rv__records_finish(rv_records_t *rs);

#endif
