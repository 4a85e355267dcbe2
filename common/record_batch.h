/* common/record_batch.h: Kafka RecordBatch v2 (magic 2), byte for byte.
 *
 * Layout (all big-endian; the CRC-32C covers bytes 21..end):
 *   0 base_offset i64 | 8 batch_length i32 (bytes after this field)
 *   12 partition_leader_epoch i32 | 16 magic i8 = 2 | 17 crc u32
 *   21 attributes i16 | 23 last_offset_delta i32 | 27 base_timestamp i64
 *   35 max_timestamp i64 | 43 producer_id i64 | 51 producer_epoch i16
 *   53 base_sequence i32 | 57 records_count i32 | 61 records...
 * Record: length varint | attributes i8 | timestampDelta varlong |
 *   offsetDelta varint | keyLength varint (-1 null) | key | valueLength
 *   varint (-1 null) | value | headerCount varint | headers
 *   (keyLength varint, key, valueLength varint (-1 null), value).
 *
 * The log stores batches exactly in this form and only ever rewrites
 * base_offset (outside the CRC) and, for LogAppendTime, the attributes and
 * max_timestamp (then the CRC is recomputed). */
#ifndef RV_COMMON_RECORD_BATCH_H
#define RV_COMMON_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "rivulet/error.h"

#define RV__BATCH_HEADER_SIZE 61
/* base_offset + batch_length: the part of the header not counted in batch_length */
#define RV__BATCH_LOG_OVERHEAD 12
#define RV__BATCH_MAGIC 2

#define RV__ATTR_COMPRESSION_MASK 0x07
#define RV__ATTR_LOG_APPEND_TIME 0x08
#define RV__ATTR_TRANSACTIONAL 0x10
#define RV__ATTR_CONTROL 0x20
#define RV__ATTR_DELETE_HORIZON 0x40

/* Byte positions of header fields. */
#define RV__BATCH_OFF_BASE_OFFSET 0
#define RV__BATCH_OFF_LENGTH 8
#define RV__BATCH_OFF_LEADER_EPOCH 12
#define RV__BATCH_OFF_MAGIC 16
#define RV__BATCH_OFF_CRC 17
#define RV__BATCH_OFF_ATTRIBUTES 21
#define RV__BATCH_OFF_LAST_OFFSET_DELTA 23
#define RV__BATCH_OFF_BASE_TIMESTAMP 27
#define RV__BATCH_OFF_MAX_TIMESTAMP 35
#define RV__BATCH_OFF_PRODUCER_ID 43
#define RV__BATCH_OFF_PRODUCER_EPOCH 51
#define RV__BATCH_OFF_BASE_SEQUENCE 53
#define RV__BATCH_OFF_RECORDS_COUNT 57

typedef struct rv__batch_hdr_s {
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} rv__batch_hdr_t;

/** Whole size of the batch in bytes: batch_length + 12. */
static inline size_t rv__batch_size(const rv__batch_hdr_t *h) {
    return (size_t)h->batch_length + RV__BATCH_LOG_OVERHEAD;
}
static inline int64_t rv__batch_last_offset(const rv__batch_hdr_t *h) {
    return h->base_offset + h->last_offset_delta;
}

/** Parses the header of the batch at p[0..len).
 *  RV_ERR__PARTIAL: fewer than 61 bytes, or the batch's declared size goes
 *    past len (a torn tail).
 *  RV_ERR_CORRUPT_MESSAGE: magic is not 2, batch_length is below 49, the
 *    record count is negative, or last_offset_delta is negative.
 *  Does not check the CRC. */
rv_err_t rv__batch_parse_header(rv__batch_hdr_t *h, const uint8_t *p, size_t len);

/** Decodes and checks the 61-byte header alone, as rv__batch_parse_header
 *  but without requiring the rest of the batch in p[0..len) (for readers
 *  that fetch a header before the body). RV_ERR__PARTIAL only when len is
 *  below 61. */
rv_err_t rv__batch_read_header(rv__batch_hdr_t *h, const uint8_t *p, size_t len);

/** Parses the header and checks the CRC-32C. RV_ERR_CORRUPT_MESSAGE on a
 *  mismatch (or any rv__batch_parse_header error). */
rv_err_t rv__batch_validate(rv__batch_hdr_t *h, const uint8_t *p, size_t len);

/** CRC-32C of bytes 21..size of the batch at p. */
uint32_t rv__batch_compute_crc(const uint8_t *p, size_t size);

/** Writes base_offset into the batch (outside the CRC, so no recompute). */
static inline void rv__batch_set_base_offset(uint8_t *p, int64_t base_offset) {
    rv__wbe64(p + RV__BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

/** Marks the batch LogAppendTime with `ts` as max_timestamp and recomputes
 *  the CRC. */
void rv__batch_set_log_append_time(uint8_t *p, size_t size, int64_t ts);

/* One record of an uncompressed batch. Pointers are borrowed from the
 * batch bytes. */
typedef struct rv__record_s {
    int64_t offset;    /* base_offset + offsetDelta */
    int64_t timestamp; /* base_timestamp + timestampDelta, or max_timestamp
                        * for LogAppendTime batches */
    const uint8_t *key;
    int32_t key_len; /* -1 = null key */
    const uint8_t *value;
    int32_t value_len; /* -1 = null value (a tombstone) */
    int32_t header_cnt;
    const uint8_t *headers; /* raw headers section, header_cnt entries */
    size_t headers_len;
} rv__record_t;

typedef struct rv__record_iter_s {
    rv__batch_hdr_t hdr;
    rv__slice_t s; /* the records section */
    int32_t left;  /* records not yet returned */
} rv__record_iter_t;

/** Starts iterating the records of the batch at p[0..size) (header already
 *  validated by the caller or not: it is parsed again here).
 *  RV_ERR_UNSUPPORTED_COMPRESSION_TYPE for compressed batches (use
 *  rv__record_iter_init2 to read those), else parse errors. */
rv_err_t rv__record_iter_init(rv__record_iter_t *it, const uint8_t *p, size_t size);

/* Default bound on a compressed batch's decompressed records section, the
 * guard against decompression bombs: far above any batch Kafka's default
 * limits allow (message.max.bytes 1 MiB compressed), far below memory
 * trouble. */
#define RV__BATCH_MAX_DECOMPRESSED ((size_t)256 << 20)

/** As rv__record_iter_init, but also reads compressed batches: their
 *  records section is decompressed into `scratch` (its previous content is
 *  discarded; at most RV__BATCH_MAX_DECOMPRESSED bytes). Uncompressed
 *  batches leave scratch untouched. Borrowed: records point into p or into
 *  scratch, so both must stay unchanged while the records are used.
 *  RV_ERR_CORRUPT_MESSAGE when the compressed bytes do not decode (or
 *  expand too far), RV_ERR_UNSUPPORTED_COMPRESSION_TYPE for codec ids
 *  5..7, RV_ERR__NOMEM, else parse errors. */
rv_err_t rv__record_iter_init2(rv__record_iter_t *it, const uint8_t *p, size_t size,
                               rv__buf_t *scratch);

/** rv__record_iter_init2 with an explicit bound on the decompressed size. */
rv_err_t rv__record_iter_init_max(rv__record_iter_t *it, const uint8_t *p, size_t size,
                                  rv__buf_t *scratch, size_t max_out);

/** Next record: 1 when *rec was filled, 0 at the end, -1 when the records
 *  are malformed (lengths past the end, count mismatch, bad varints). */
int rv__record_iter_next(rv__record_iter_t *it, rv__record_t *rec);

/** Next header from a record's raw headers section: 1, 0 at end, -1 bad. */
int rv__record_header_next(rv__slice_t *s, const uint8_t **key, int32_t *key_len,
                           const uint8_t **value, int32_t *value_len);

/* Builds one batch by appending records. When the attributes name a codec,
 * the records are appended uncompressed and finish compresses them in
 * place (see common/codec.h). */
typedef struct rv__batch_builder_s {
    rv__buf_t *out; /* borrowed; the batch is appended here */
    size_t start;   /* position of the batch in out */
    int64_t base_offset;
    int64_t base_timestamp; /* INT64_MIN until set by begin or the first record */
    int64_t max_timestamp;
    int32_t count;
    int64_t last_offset;
    int codec;       /* attributes & RV__ATTR_COMPRESSION_MASK */
    bool compressed; /* finish has compressed the records */
    /* Optional, borrowed: where finish compresses to before copying back
     * (saves an allocation per batch); NULL = a temporary buffer. Set it
     * after begin. */
    rv__buf_t *scratch;
} rv__batch_builder_t;

/** Starts a batch at the end of `out`. base_timestamp INT64_MIN means "the
 *  first record's timestamp" (what producers do); the cleaner passes a
 *  delete horizon with RV__ATTR_DELETE_HORIZON in attributes. Compression
 *  bits in attributes (1 gzip .. 4 zstd) make finish compress the records;
 *  RV_ERR_UNSUPPORTED_COMPRESSION_TYPE for the ids 5..7. */
rv_err_t rv__batch_builder_begin(rv__batch_builder_t *b, rv__buf_t *out, int64_t base_offset,
                                 int16_t attributes, int64_t base_timestamp, int64_t producer_id,
                                 int16_t producer_epoch, int32_t base_sequence,
                                 int32_t partition_leader_epoch);

/** Appends one record. `offset` is absolute and must be above the previous
 *  record's; key/value NULL with len -1 mean null. `headers` is a raw
 *  headers section of header_cnt entries (see rv__headers_encode), or NULL
 *  with 0. RV_ERR__STATE after finish has compressed the batch. */
rv_err_t rv__batch_builder_add(rv__batch_builder_t *b, int64_t offset, int64_t timestamp,
                               const void *key, int32_t key_len, const void *value,
                               int32_t value_len, int32_t header_cnt, const void *headers,
                               size_t headers_len);

/** Finishes the header: record count, timestamps, last_offset_delta (the
 *  last record's delta, or `last_offset_delta` when >= 0, which the cleaner
 *  uses to keep the original), CRC. For a compressed batch the records
 *  section is compressed first (records_count and the header stay plain;
 *  the CRC covers the compressed bytes). The batch is then complete in
 *  out. */
rv_err_t rv__batch_builder_finish(rv__batch_builder_t *b, int32_t last_offset_delta);

/** Appends one header (key, key_len; value, value_len or -1 for null) in the
 *  raw record-header encoding to out. */
rv_err_t rv__headers_encode(rv__buf_t *out, const void *key, int32_t key_len, const void *value,
                            int32_t value_len);

#endif
