/* common/codec.h: Kafka's record batch compression codecs.
 *
 * The compressed bytes are the records section of a RecordBatch v2 (what
 * follows records_count), framed exactly as Kafka's Java clients frame it,
 * so batches are readable by Kafka clients and vice versa:
 *   1 gzip   an RFC 1952 gzip stream (several members accepted on input);
 *   2 snappy snappy-java's stream: "\x82SNAPPY\0", int32 version 1, int32
 *            compatible version 1, then blocks of int32 big-endian length +
 *            raw snappy block; on input a bare raw snappy block is accepted
 *            too (some clients send that);
 *   3 lz4    the LZ4 frame format (magic 0x184D2204);
 *   4 zstd   a zstd frame (content size unknown on input is fine).
 * The codec id is the value of the batch attributes' low three bits. */
#ifndef RV_COMMON_CODEC_H
#define RV_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "rivulet/error.h"

typedef enum rv__codec_e {
    RV__CODEC_NONE = 0,
    RV__CODEC_GZIP = 1,
    RV__CODEC_SNAPPY = 2,
    RV__CODEC_LZ4 = 3,
    RV__CODEC_ZSTD = 4,
} rv__codec_t;

/* Upper bound on the decompressed records section of one batch, used by
 * readers that have no better bound: Kafka's largest message.max.bytes is
 * an int32, and a batch can hardly expand beyond that. */
#define RV__CODEC_MAX_DECOMPRESSED ((size_t)INT32_MAX)

/** Kafka's compression.type name of a codec id ("none", "gzip", "snappy",
 *  "lz4", "zstd"), or NULL for an unknown id. Borrowed: a static string. */
const char *rv__codec_name(int codec);

/** Codec id of a compression.type name (exact, lower-case as Kafka), or -1
 *  when the name is unknown. */
int rv__codec_by_name(const char *name);

/** True for the ids 0..4. */
int rv__codec_valid(int codec);

/** Compresses in[0..len) with `codec` (1..4) and appends the framed result
 *  to `out` (out's existing bytes are kept). in may be NULL when len is 0.
 *  RV_ERR_UNSUPPORTED_COMPRESSION_TYPE for an unknown codec or NONE,
 *  RV_ERR__NOMEM on allocation failure (out is then restored to its
 *  previous length). Caller owns out. Thread-safe (no shared state). */
rv_err_t rv__codec_compress(int codec, const void *in, size_t len, rv__buf_t *out);

/** Decompresses in[0..len) framed by `codec` (1..4) and appends the result
 *  to `out` (out's existing bytes are kept). At most max_out bytes are
 *  produced: more is refused as a decompression bomb.
 *  RV_ERR_CORRUPT_MESSAGE on any malformed input or when the output would
 *  exceed max_out, RV_ERR_UNSUPPORTED_COMPRESSION_TYPE for an unknown codec
 *  or NONE, RV_ERR__NOMEM on allocation failure. On error out is restored
 *  to its previous length. Caller owns out. Thread-safe. */
rv_err_t rv__codec_decompress(int codec, const void *in, size_t len, rv__buf_t *out,
                              size_t max_out);

#endif
