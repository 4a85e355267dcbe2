/* broker/producer_state.h: idempotent producers on the embedded broker:
 * producer ids, and per partition the state that lets the broker drop a
 * retried batch and reject a gap in the sequence numbers (Kafka's
 * ProducerStateManager and ProducerIdManager).
 *
 * Threads: every function is thread-safe unless its comment says
 * otherwise. */
#ifndef RV_BROKER_PRODUCER_STATE_H
#define RV_BROKER_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log/log.h"
#include "rivulet/broker.h"
#include "rivulet/error.h"

/* Kafka keeps the metadata of this many recent batches per producer and
 * partition (ProducerStateEntry.NUM_BATCHES_TO_RETAIN), which is also why a
 * producer may have at most 5 requests in flight per connection. */
#define RV__PSTATE_BATCHES 5

/* Kafka's producer.id.expiration.ms default: a producer that has not
 * written to a partition for a day is forgotten there. */
#define RV__PSTATE_EXPIRATION_MS RV__PRODUCER_ID_EXPIRATION_MS
/* Kafka's producer.id.expiration.check.interval.ms: 10 minutes. */
#define RV__PSTATE_EXPIRATION_CHECK_MS 600000

/* The producer id counter file in the data folder (beside the
 * checkpoints: the topic registry owns __meta and removes files it does
 * not know there). */
#define RV__PRODUCER_ID_FILE "producer-id-block"
/* Ids are handed out in blocks, as Kafka's ProducerIdManager does, so the
 * counter file is written once per block and not once per producer. */
#define RV__PRODUCER_ID_BLOCK 1000

/* ---- one partition's state (pure data structure, not locked) ---- */

typedef struct rv__pstate_batch_s {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
    int64_t timestamp; /* max timestamp of the batch */
} rv__pstate_batch_t;

typedef struct rv__pstate_entry_s {
    int64_t producer_id;
    int16_t epoch;
    int nbatches;                                   /* valid entries in batches */
    rv__pstate_batch_t batches[RV__PSTATE_BATCHES]; /* oldest first */
    int64_t last_used_ms;                           /* wall clock of the last append or rebuild */
} rv__pstate_entry_t;

typedef struct rv__pstate_s {
    rv__pstate_entry_t *entries;
    size_t cnt, cap;
    /* Hash index of entries by producer id: open addressing, slot_cap a
     * power of two (0 before the first entry), each slot an index + 1
     * (0 = empty). */
    uint32_t *slots;
    size_t slot_cap;
    int64_t next_expiry_check_ms; /* wall clock of the next sweep */
} rv__pstate_t;

void rv__pstate_init(rv__pstate_t *s);
void rv__pstate_clear(rv__pstate_t *s);

/** Checks a batch of producer `pid` with epoch `epoch` and sequences
 *  first_seq..last_seq against the state, as Kafka's ProducerAppendInfo:
 *  - the same sequences as one of the producer's last 5 batches: a
 *    retry of a batch already written: returns RV_ERR_DUPLICATE_SEQUENCE_NUMBER
 *    and *dup (borrowed until the state changes) holds its offsets;
 *  - an epoch below the known one: RV_ERR_INVALID_PRODUCER_EPOCH;
 *  - a new (higher) epoch must start at sequence 0, and a known epoch must
 *    continue at last_seq + 1 (wrapping at INT32_MAX to 0), otherwise
 *    RV_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
 *  - an unknown producer may start at any sequence (its state may have
 *    expired or been removed with old segments, as in Kafka).
 *  0 when the batch may be appended. errstr gets Kafka's message. */
rv_err_t rv__pstate_check(const rv__pstate_t *s, int64_t pid, int16_t epoch, int32_t first_seq,
                          int32_t last_seq, const rv__pstate_batch_t **dup, char *errstr,
                          size_t errstr_size);

/** Records an appended batch (after rv__pstate_check allowed it, or while
 *  rebuilding from the log). A new epoch resets the producer's batches.
 *  Producers idle for more than RV__PSTATE_EXPIRATION_MS before now_ms are
 *  dropped, in a sweep at most every RV__PSTATE_EXPIRATION_CHECK_MS (as
 *  Kafka's producer.id.expiration.check.interval.ms). now_ms is the wall clock (the time of the
 * rebuild while rebuilding), never a record timestamp. RV_ERR__NOMEM when out of memory (the state
 * is unchanged). */
rv_err_t rv__pstate_record(rv__pstate_t *s, int64_t pid, int16_t epoch, const rv__pstate_batch_t *b,
                           int64_t now_ms);

/* ---- the broker's registry ---- */

typedef struct rv__pstates_s rv__pstates_t;

/** A registry for the data folder `data_dir` (the producer id counter
 *  lives there). Caller owns *out; free with
 *  rv__pstates_destroy(). */
rv_err_t rv__pstates_new(rv__pstates_t **out, const char *data_dir, char *errstr,
                         size_t errstr_size);
/** Frees the registry. No call may be running. NULL does nothing. */
void rv__pstates_destroy(rv__pstates_t *ps);

/** A new producer id, unique in this data folder for ever (the counter is
 *  on disk, fsync'd, before an id of a new block is handed out), with epoch
 *  0, as Kafka's InitProducerId without a transactional.id. */
rv_err_t rv__pstates_init_producer_id(rv__pstates_t *ps, int64_t *producer_id, int16_t *epoch,
                                      char *errstr, size_t errstr_size);

/** Appends data[0..len) (RecordBatch v2, rewritten in place as
 *  rv__log_append does) to `log`, the log of topic-partition `topic`/
 *  `partition`, applying the idempotence checks when the first batch has a
 *  producer id (>= 0); other batches go straight to the log. An
 *  idempotent append must be exactly one batch (INVALID_RECORD otherwise).
 *  A duplicate returns success with the original batch's offsets in *info
 *  and writes nothing. acks -1 waits for the fsync (group commit) after
 *  the partition's producer lock is released. The caller holds a
 *  reference on the topic (rv__topics_acquire). */
rv_err_t rv__pstates_append(rv__pstates_t *ps, const char *topic, int32_t partition, rv__log_t *log,
                            uint8_t *data, size_t len, int acks, rv__append_info_t *info,
                            char *errstr, size_t errstr_size);

/** rv__pstates_append() of several batches as one write: iov[i] holds
 *  exactly one batch, all from one producer and epoch, each sequence
 *  running on from the one before (the producer's batches for one
 *  partition, in order). They are checked, written with one vectored write
 *  (rv__log_appendv) and recorded together; *info spans them all and each
 *  batch's own offsets are in its rewritten header. Nothing is written on
 *  an error before the write (only acks -1's fsync comes after it).
 *  RV_ERR_DUPLICATE_SEQUENCE_NUMBER says the first batch is one of the
 *  producer's last 5 batches (a retry): append the batches one at a time
 *  with rv__pstates_append() to get each one's original offsets. */
rv_err_t rv__pstates_appendv(rv__pstates_t *ps, const char *topic, int32_t partition,
                             rv__log_t *log, const struct iovec *iov, int iovcnt, int acks,
                             rv__append_info_t *info, char *errstr, size_t errstr_size);

/* ---- implemented in broker/broker.c ---- */

/** rv_broker_produce() without the copy: `data` is rewritten in place
 *  (offsets). *info gets the assigned offsets. Thread-safe. */
rv_err_t rv__broker_append(rv_broker_t *broker, const char *topic, int32_t partition, uint8_t *data,
                           size_t len, int acks, rv__append_info_t *info, char *errstr,
                           size_t errstr_size);

/** rv__broker_append() of one producer's consecutive batches for one
 *  partition, one batch per buffer, in one write (rv__pstates_appendv,
 *  whose contract applies). Thread-safe. */
rv_err_t rv__broker_appendv(rv_broker_t *broker, const char *topic, int32_t partition,
                            const struct iovec *iov, int iovcnt, int acks, rv__append_info_t *info,
                            char *errstr, size_t errstr_size);

/** Returns once every offset of the partition below `offset` is fsync'd
 *  (the log's group commit), for producers that append several batches
 *  with acks=1 and then make them durable at once (acks=all). */
rv_err_t rv__broker_sync(rv_broker_t *broker, const char *topic, int32_t partition, int64_t offset,
                         char *errstr, size_t errstr_size);

/* Called after every successful append to any partition of the broker,
 * on the appending thread, with no broker lock held but the hook lock:
 * must return quickly and must not call rv__broker_*_append_hook. */
typedef void(rv__broker_append_hook_t)(const char *topic, int32_t partition, void *opaque);
#define RV__BROKER_MAX_APPEND_HOOKS 8

/** Registers an append hook (the network server wakes waiting Fetch
 *  requests with it). Returns its id, or -1 when all slots are taken. */
int rv__broker_add_append_hook(rv_broker_t *broker, rv__broker_append_hook_t *fn, void *opaque);
/** Unregisters; once this returns the hook is never called again. */
void rv__broker_remove_append_hook(rv_broker_t *broker, int id);

/** Whether partition `partition` of `topic` still exists with the log of
 *  generation `log_gen` (rv__log_generation). */
typedef bool rv__pstates_live_fn(void *opaque, const char *topic, int32_t partition,
                                 uint64_t log_gen);

/** Forgets the partitions for which `live` says no (topics deleted, or
 *  made again since the state was built), so deleted topics do not keep
 *  their producers' state in memory until the broker closes. `live` is
 *  called without the registry's locks held. Any thread. */
void rv__pstates_prune(rv__pstates_t *ps, rv__pstates_live_fn *live, void *opaque);

/** How many partitions the registry holds state for. Any thread. */
size_t rv__pstates_partition_count(rv__pstates_t *ps);

/** The broker's registry. Borrowed: valid until rv_broker_close(). */
rv__pstates_t *rv__broker_pstates(rv_broker_t *broker);

/** rv__pstates_init_producer_id() on the broker's registry. */
rv_err_t rv__broker_init_producer_id(rv_broker_t *broker, int64_t *producer_id, int16_t *epoch,
                                     char *errstr, size_t errstr_size);

#endif
