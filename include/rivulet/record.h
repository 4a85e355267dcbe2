/* rivulet/record.h: building and reading Kafka RecordBatch v2 bytes.
 *
 * The log stores batches exactly as Kafka clients send them. These helpers
 * build a batch from records (plain, or compressed with one of Kafka's
 * codecs) and walk the records of the batches a fetch returned, compressed
 * or not. Neither is thread-safe; use one per thread. */
#ifndef RIVULET_RECORD_H
#define RIVULET_RECORD_H

#include "common.h"
#include "error.h"

RV_BEGIN_DECLS

typedef struct rv_batch_builder_s rv_batch_builder_t;
typedef struct rv_batch_reader_s rv_batch_reader_t;

/** A new empty builder. Caller owns it; free with rv_batch_builder_destroy(). */
RV_EXTERN rv_batch_builder_t *rv_batch_builder_new(void);
RV_EXTERN void rv_batch_builder_destroy(rv_batch_builder_t *b);

/** Adds a record; key/value are copied. NULL with len -1 is a null key or
 *  value (a null value is a tombstone). timestamp -1 means now. */
RV_EXTERN rv_err_t rv_batch_builder_add(rv_batch_builder_t *b, const void *key, int32_t key_len,
                                        const void *value, int32_t value_len, int64_t timestamp);

/** Adds a header to the record added last (value NULL with len -1 = null).
 *  RV_ERR__STATE when no record was added yet. */
RV_EXTERN rv_err_t rv_batch_builder_add_header(rv_batch_builder_t *b, const char *key,
                                               const void *value, int32_t value_len);

/** Compresses the batches built from now on with Kafka's
 *  compression.type `type`: "none" (the default), "gzip", "snappy", "lz4"
 *  or "zstd", framed as Kafka's clients frame them. The setting survives
 *  rv_batch_builder_reset(). RV_ERR__INVALID_ARG for another name,
 *  RV_ERR__STATE once records were added to the current batch. */
RV_EXTERN rv_err_t rv_batch_builder_set_compression(rv_batch_builder_t *b, const char *type);

/** Number of records added since the last reset. */
RV_EXTERN int rv_batch_builder_count(const rv_batch_builder_t *b);

/** Finishes the batch. Borrowed: the bytes stay valid until the next call
 *  on the builder. RV_ERR__STATE when empty. */
RV_EXTERN rv_err_t rv_batch_builder_finish(rv_batch_builder_t *b, const void **data, size_t *len);

/** Empties the builder for the next batch. */
RV_EXTERN void rv_batch_builder_reset(rv_batch_builder_t *b);

/** A reader over `len` bytes of concatenated batches, borrowed: they must
 *  outlive the reader. Compressed batches (gzip, snappy, lz4, zstd) are
 *  decompressed as they are reached. Caller owns the reader; free with
 *  rv_batch_reader_destroy(). */
RV_EXTERN rv_batch_reader_t *rv_batch_reader_new(const void *data, size_t len);
RV_EXTERN void rv_batch_reader_destroy(rv_batch_reader_t *r);

/** Moves to the next record: 1 when there is one, 0 at the end, or a
 *  negative rv_err_t: RV_ERR__CRC (a batch's CRC-32C does not match),
 *  RV_ERR__BAD_MSG (bad batch or record layout, or compressed bytes that do
 *  not decode: what Kafka reports as CORRUPT_MESSAGE),
 *  RV_ERR__NOT_IMPLEMENTED (an unknown codec id, 5..7), RV_ERR__NOMEM. An error
 *  is sticky: later calls return it again. A trailing partial batch ends the
 *  data as Kafka's consumers treat it. Control records are skipped. */
RV_EXTERN int rv_batch_reader_next(rv_batch_reader_t *r);

/* The current record. Pointers are borrowed from the data, or for a
 * compressed batch from the reader: valid until the reader moves past that
 * batch or is destroyed. */
RV_EXTERN int64_t rv_batch_reader_offset(const rv_batch_reader_t *r);
RV_EXTERN int64_t rv_batch_reader_timestamp(const rv_batch_reader_t *r);
/** Key / value bytes and length; NULL and -1 when null. */
RV_EXTERN const void *rv_batch_reader_key(const rv_batch_reader_t *r, int32_t *len);
RV_EXTERN const void *rv_batch_reader_value(const rv_batch_reader_t *r, int32_t *len);
RV_EXTERN int rv_batch_reader_header_count(const rv_batch_reader_t *r);
/** Header i of the current record: key (not NUL-terminated) and value. */
RV_EXTERN rv_err_t rv_batch_reader_header(const rv_batch_reader_t *r, int i, const char **key,
                                          int32_t *key_len, const void **value, int32_t *value_len);

/* ---- Records as the clients see them ---- */

/** Any partition (let the partitioner choose) / no offset yet. */
#define RV_PARTITION_ANY (-1)
#define RV_OFFSET_INVALID (-1001)

/** A record header as given to the producer: `key` a NUL-terminated
 *  string, `value` bytes (NULL with value_len -1 for a null value). All
 *  borrowed by the call that takes them. */
typedef struct rv_header_s {
    const char *key;
    const void *value;
    int32_t value_len;
} rv_header_t;

/** Timestamp types, as Kafka's TimestampType. */
typedef enum rv_timestamp_type_e {
    RV_TIMESTAMP_NONE = -1,
    RV_TIMESTAMP_CREATE_TIME = 0,
    RV_TIMESTAMP_LOG_APPEND_TIME = 1
} rv_timestamp_type_t;

/* A record received by a consumer. Records come in an rv_records_t from
 * rv_consumer_poll() and are borrowed from it: every pointer below is
 * valid until rv_records_destroy() of their container. */
typedef struct rv_record_s rv_record_t;
typedef struct rv_records_s rv_records_t;

/** Number of records in the container. */
RV_EXTERN size_t rv_records_count(const rv_records_t *rs);
/** Record i (0..count-1). Borrowed from rs. */
RV_EXTERN const rv_record_t *rv_records_get(const rv_records_t *rs, size_t i);
/** Frees the container and every record in it. NULL does nothing. */
RV_EXTERN void rv_records_destroy(rv_records_t *rs);

RV_EXTERN const char *rv_record_topic(const rv_record_t *r);
RV_EXTERN int32_t rv_record_partition(const rv_record_t *r);
RV_EXTERN int64_t rv_record_offset(const rv_record_t *r);
RV_EXTERN int64_t rv_record_timestamp(const rv_record_t *r);
RV_EXTERN rv_timestamp_type_t rv_record_timestamp_type(const rv_record_t *r);
/** Key / value bytes and length; NULL and -1 when null. */
RV_EXTERN const void *rv_record_key(const rv_record_t *r, int32_t *len);
RV_EXTERN const void *rv_record_value(const rv_record_t *r, int32_t *len);
RV_EXTERN size_t rv_record_header_count(const rv_record_t *r);
/** Header i: key (NUL-terminated, borrowed) and value (NULL, -1 when null). */
RV_EXTERN rv_err_t rv_record_header(const rv_record_t *r, size_t i, const char **key,
                                    const void **value, int32_t *value_len);
/** The value of the last header named `key` (Kafka's lastHeader);
 *  RV_ERR__NOENT when none. */
RV_EXTERN rv_err_t rv_record_header_last(const rv_record_t *r, const char *key, const void **value,
                                         int32_t *value_len);

RV_END_DECLS

#endif
