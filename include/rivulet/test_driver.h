/* rivulet/test_driver.h: runs a topology in the calling thread with no
 * broker and no threads, as Kafka Streams' TopologyTestDriver, for unit
 * tests of topologies and processors.
 *
 *   rv_test_driver_new()              builds the topology's tasks (one per
 *                                     sub-topology, partition 0) and inits
 *                                     their processors
 *   rv_test_driver_pipe_input()       processes one input record at once
 *   rv_test_driver_advance_wall_clock()  moves the mocked wall clock and
 *                                     fires wall-clock punctuators
 *   rv_test_driver_read_output()      the records the topology wrote to a
 *                                     topic, in order
 *   rv_test_driver_get_kv_store()     a store of the topology, to inspect
 *   rv_test_driver_destroy()          closes everything
 *
 * As Kafka's driver, it commits after every input record (so caches never
 * merge updates of different input records), feeds records written to a
 * topic that the topology also reads (repartition topics) back in at once,
 * and captures everything written: sink output, and the changelog records
 * of logged stores on "<application.id>-<store>-changelog". Stream time of
 * each task is the highest timestamp piped into it. Records piped into the
 * topic of a global store are processed at once by its global processor,
 * and every processor can read the global store.
 *
 * State stores live under state.dir when the configuration sets it
 * (<state.dir>/<application.id>/<task id>; the task folders are removed on
 * destroy, as Kafka's driver cleans its state directory), else in a new
 * temporary folder under $TMPDIR (or /tmp) that destroy removes. RocksDB
 * and in-memory stores both work.
 *
 * Not thread-safe: one thread uses a driver. */
#ifndef RIVULET_TEST_DRIVER_H
#define RIVULET_TEST_DRIVER_H

#include "common.h"
#include "conf.h"
#include "error.h"
#include "record.h"
#include "store.h"
#include "topology.h"

RV_BEGIN_DECLS

typedef struct rv_test_driver_s rv_test_driver_t;
typedef struct rv_test_record_s rv_test_record_t;

/** A driver running `topology` (built here if it is not yet), with the
 *  app configuration `conf` (application.id defaults to
 *  "dummy-topology-test-driver-app-id" as in Kafka's driver; may be NULL)
 *  and the mocked wall clock at initial_wall_clock_ms. `topology` is
 *  borrowed: it must outlive the driver. Takes ownership of `conf` on
 *  success. Caller owns the result; free with rv_test_driver_destroy().
 *  NULL on error with the reason in errstr (an invalid topology, a store
 *  that does not open, a failing init(), processing.guarantee
 *  exactly_once_v2, ...). */
RV_EXTERN rv_test_driver_t *rv_test_driver_new(rv_topology_t *topology, rv_conf_t *conf,
                                               int64_t initial_wall_clock_ms, char *errstr,
                                               size_t errstr_size);

/** Closes the tasks cleanly (a last commit, processors closed, then
 *  stores), removes the driver's state and frees it. NULL does nothing. */
RV_EXTERN void rv_test_driver_destroy(rv_test_driver_t *d);

/** Pipes one record into `topic` (partition 0, the next offset of that
 *  topic) and processes it, and everything it causes, before returning:
 *  deserialization, timestamp extraction, the processors, stream-time
 *  punctuation, a commit. Key, value (NULL with -1 = null) and headers are
 *  serialized bytes, borrowed for the call. RV_ERR__INVALID_ARG when no
 *  source reads `topic`; another error when the task failed (then the
 *  driver refuses further input; rv_test_driver_last_error() says why). */
RV_EXTERN rv_err_t rv_test_driver_pipe_input(rv_test_driver_t *d, const char *topic,
                                             const void *key, int32_t key_len, const void *value,
                                             int32_t value_len, int64_t timestamp,
                                             const rv_header_t *headers, size_t header_cnt);

/** Moves the mocked wall clock forward by advance_ms, fires the wall-clock
 *  punctuators that are due and processes what they cause. */
RV_EXTERN rv_err_t rv_test_driver_advance_wall_clock(rv_test_driver_t *d, int64_t advance_ms);

/** The mocked wall-clock time. */
RV_EXTERN int64_t rv_test_driver_wall_clock(const rv_test_driver_t *d);

/** Takes the next record written to `topic` that was not read yet. Caller
 *  owns *out; free with rv_test_record_destroy(). RV_ERR__NOENT (and *out
 *  NULL) when there is none. */
RV_EXTERN rv_err_t rv_test_driver_read_output(rv_test_record_t **out, rv_test_driver_t *d,
                                              const char *topic);

/** 1 when every record written to `topic` was read (or none was written). */
RV_EXTERN int rv_test_driver_is_empty(const rv_test_driver_t *d, const char *topic);

/** The topology's key-value store `name` (of the first task that has it).
 *  Borrowed: valid until the driver is destroyed; do not destroy it. NULL
 *  when there is none. */
RV_EXTERN rv_kv_store_t *rv_test_driver_get_kv_store(rv_test_driver_t *d, const char *name);

/** Why the last call failed, "" when it did not. Borrowed: valid until the
 *  next call. */
RV_EXTERN const char *rv_test_driver_last_error(const rv_test_driver_t *d);

/* An output record: the serialized bytes as the topology wrote them. */

RV_EXTERN const char *rv_test_record_topic(const rv_test_record_t *r);
/** The partition the sink chose (-1 when it left it to the producer). */
RV_EXTERN int32_t rv_test_record_partition(const rv_test_record_t *r);
/** Key / value bytes and length; NULL and -1 when null. Borrowed from r. */
RV_EXTERN const void *rv_test_record_key(const rv_test_record_t *r, int32_t *len);
RV_EXTERN const void *rv_test_record_value(const rv_test_record_t *r, int32_t *len);
RV_EXTERN int64_t rv_test_record_timestamp(const rv_test_record_t *r);
RV_EXTERN size_t rv_test_record_header_count(const rv_test_record_t *r);
/** Header i: key (NUL-terminated) and value (NULL, -1 when null). Borrowed
 *  from r. RV_ERR__NOENT when i is out of range. */
RV_EXTERN rv_err_t rv_test_record_header(const rv_test_record_t *r, size_t i, const char **key,
                                         const void **value, int32_t *value_len);
RV_EXTERN void rv_test_record_destroy(rv_test_record_t *r);

RV_END_DECLS

#endif
