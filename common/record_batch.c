/* common/record_batch.c: Kafka RecordBatch v2 (magic 2): header parsing and
 * validation, record iteration, and a batch builder, for plain and
 * compressed batches.
 *
 * DESIGN
 * The byte layout is documented in common/record_batch.h and matches
 * DefaultRecordBatch/DefaultRecord in Apache Kafka. Batches are kept in
 * wire form everywhere (client, log segment, fetch response), so this file
 * never converts a batch into another representation: the parser fills a
 * rv__batch_hdr_t from the 61 header bytes, and the iterator hands out
 * records whose key, value and headers point into the batch bytes.
 *
 * Invariants the reader enforces, so that bytes from disk or the network can
 * never make it read out of bounds:
 *  - a batch is at least 61 bytes and batch_length + 12 bytes long;
 *  - every record's length prefix fits in what is left of the batch, and the
 *    record's fields use exactly that many bytes;
 *  - key, value and header lengths are >= -1 (null) and fit in the record;
 *  - the batch holds exactly records_count records, nothing after them.
 *
 * Compressed batches (codec in attributes bits 0-2) keep the 61-byte
 * header plain and compress only the records section, as Kafka does. The
 * iterator decompresses that section into a caller's scratch buffer, so
 * the record pointers it hands out then point there; the record-level
 * checks above apply unchanged to the decompressed bytes.
 *
 * The builder writes the 61-byte header as a placeholder, appends records,
 * compresses them in finish when a codec is set, then fills in count,
 * timestamps, last_offset_delta, batch_length and the CRC-32C (over bytes
 * 21..end, so over the compressed bytes). */
#include "common/record_batch.h"

#include "common/codec.h"
#include "common/crc32c.h"

rv_err_t rv__batch_read_header(rv__batch_hdr_t *h, const uint8_t *p, size_t len) {
    if (len < RV__BATCH_HEADER_SIZE)
        return RV_ERR__PARTIAL;
    h->magic = (int8_t)p[RV__BATCH_OFF_MAGIC];
    if (h->magic != RV__BATCH_MAGIC)
        return RV_ERR_CORRUPT_MESSAGE;
    h->base_offset = (int64_t)rv__be64(p + RV__BATCH_OFF_BASE_OFFSET);
    h->batch_length = (int32_t)rv__be32(p + RV__BATCH_OFF_LENGTH);
    if (h->batch_length < RV__BATCH_HEADER_SIZE - RV__BATCH_LOG_OVERHEAD)
        return RV_ERR_CORRUPT_MESSAGE;
    h->partition_leader_epoch = (int32_t)rv__be32(p + RV__BATCH_OFF_LEADER_EPOCH);
    h->crc = rv__be32(p + RV__BATCH_OFF_CRC);
    h->attributes = (int16_t)rv__be16(p + RV__BATCH_OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)rv__be32(p + RV__BATCH_OFF_LAST_OFFSET_DELTA);
    h->base_timestamp = (int64_t)rv__be64(p + RV__BATCH_OFF_BASE_TIMESTAMP);
    h->max_timestamp = (int64_t)rv__be64(p + RV__BATCH_OFF_MAX_TIMESTAMP);
    h->producer_id = (int64_t)rv__be64(p + RV__BATCH_OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)rv__be16(p + RV__BATCH_OFF_PRODUCER_EPOCH);
    h->base_sequence = (int32_t)rv__be32(p + RV__BATCH_OFF_BASE_SEQUENCE);
    h->records_count = (int32_t)rv__be32(p + RV__BATCH_OFF_RECORDS_COUNT);
    if (h->records_count < 0 || h->last_offset_delta < 0)
        return RV_ERR_CORRUPT_MESSAGE;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__batch_parse_header(rv__batch_hdr_t *h, const uint8_t *p, size_t len) {
    rv_err_t err = rv__batch_read_header(h, p, len);
    if (!err && rv__batch_size(h) > len)
        err = RV_ERR__PARTIAL;
    return err;
}

uint32_t rv__batch_compute_crc(const uint8_t *p, size_t size) {
    return rv__crc32c(0, p + RV__BATCH_OFF_ATTRIBUTES, size - RV__BATCH_OFF_ATTRIBUTES);
}

rv_err_t rv__batch_validate(rv__batch_hdr_t *h, const uint8_t *p, size_t len) {
    rv_err_t err = rv__batch_parse_header(h, p, len);
    if (err)
        return err;
    if (rv__batch_compute_crc(p, rv__batch_size(h)) != h->crc)
        return RV_ERR_CORRUPT_MESSAGE;
    return RV_ERR_NO_ERROR;
}

void rv__batch_set_log_append_time(uint8_t *p, size_t size, int64_t ts) {
    uint16_t attr = rv__be16(p + RV__BATCH_OFF_ATTRIBUTES);
    rv__wbe16(p + RV__BATCH_OFF_ATTRIBUTES, (uint16_t)(attr | RV__ATTR_LOG_APPEND_TIME));
    rv__wbe64(p + RV__BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
    rv__wbe32(p + RV__BATCH_OFF_CRC, rv__batch_compute_crc(p, size));
}

/* ---- reading records ---- */

rv_err_t rv__record_iter_init(rv__record_iter_t *it, const uint8_t *p, size_t size) {
    return rv__record_iter_init_max(it, p, size, NULL, 0);
}

rv_err_t rv__record_iter_init2(rv__record_iter_t *it, const uint8_t *p, size_t size,
                               rv__buf_t *scratch) {
    return rv__record_iter_init_max(it, p, size, scratch, RV__BATCH_MAX_DECOMPRESSED);
}

rv_err_t rv__record_iter_init_max(rv__record_iter_t *it, const uint8_t *p, size_t size,
                                  rv__buf_t *scratch, size_t max_out) {
    rv_err_t err = rv__batch_parse_header(&it->hdr, p, size);
    if (err)
        return err;
    size_t bsize = rv__batch_size(&it->hdr);
    const uint8_t *rec = p + RV__BATCH_HEADER_SIZE;
    size_t rec_len = bsize - RV__BATCH_HEADER_SIZE;
    int codec = it->hdr.attributes & RV__ATTR_COMPRESSION_MASK;
    if (codec) {
        if (!scratch || !rv__codec_valid(codec))
            return RV_ERR_UNSUPPORTED_COMPRESSION_TYPE;
        scratch->len = 0;
        if ((err = rv__codec_decompress(codec, rec, rec_len, scratch, max_out)))
            return err;
        rec = scratch->data;
        rec_len = scratch->len;
    }
    rv__slice_init(&it->s, rec, rec_len);
    it->left = it->hdr.records_count;
    return RV_ERR_NO_ERROR;
}

/* Reads a varint length (>= -1) and the bytes it covers. */
static int read_nullable(rv__slice_t *s, const uint8_t **p, int32_t *len) {
    if (rv__slice_varint32(s, len) < 0 || *len < -1)
        return -1;
    if (*len == -1) {
        *p = NULL;
        return 0;
    }
    return rv__slice_bytes(s, (size_t)*len, p);
}

int rv__record_header_next(rv__slice_t *s, const uint8_t **key, int32_t *key_len,
                           const uint8_t **value, int32_t *value_len) {
    if (rv__slice_left(s) == 0)
        return 0;
    /* Header keys are Strings in Kafka and may not be null. */
    if (read_nullable(s, key, key_len) < 0 || *key_len < 0)
        return -1;
    if (read_nullable(s, value, value_len) < 0)
        return -1;
    return 1;
}

int rv__record_iter_next(rv__record_iter_t *it, rv__record_t *rec) {
    if (it->left == 0)
        return rv__slice_left(&it->s) == 0 ? 0 : -1; /* bytes after the last record */
    int32_t len;
    const uint8_t *body;
    if (rv__slice_varint32(&it->s, &len) < 0 || len < 0 ||
        rv__slice_bytes(&it->s, (size_t)len, &body) < 0)
        return -1;

    rv__slice_t r;
    rv__slice_init(&r, body, (size_t)len);
    uint8_t attr;
    int64_t ts_delta;
    int32_t off_delta;
    if (rv__slice_u8(&r, &attr) < 0 || rv__slice_varint64(&r, &ts_delta) < 0 ||
        rv__slice_varint32(&r, &off_delta) < 0)
        return -1;
    if (read_nullable(&r, &rec->key, &rec->key_len) < 0 ||
        read_nullable(&r, &rec->value, &rec->value_len) < 0)
        return -1;
    if (rv__slice_varint32(&r, &rec->header_cnt) < 0 || rec->header_cnt < 0)
        return -1;
    rec->headers = r.p + r.pos;
    rec->headers_len = rv__slice_left(&r);
    /* Walk the headers once so callers can trust the section. */
    for (int32_t i = 0; i < rec->header_cnt; i++) {
        const uint8_t *hk, *hv;
        int32_t hkl, hvl;
        if (rv__record_header_next(&r, &hk, &hkl, &hv, &hvl) != 1)
            return -1;
    }
    if (rv__slice_left(&r) != 0)
        return -1;

    /* Both sums wrap like Java's long addition rather than being undefined:
     * base_offset is outside the CRC and comes from the sender unchecked. */
    rec->offset = (int64_t)((uint64_t)it->hdr.base_offset + (uint64_t)(int64_t)off_delta);
    if (it->hdr.attributes & RV__ATTR_LOG_APPEND_TIME)
        rec->timestamp = it->hdr.max_timestamp;
    else
        rec->timestamp = (int64_t)((uint64_t)it->hdr.base_timestamp + (uint64_t)ts_delta);
    it->left--;
    return 1;
}

/* ---- building ---- */

rv_err_t rv__batch_builder_begin(rv__batch_builder_t *b, rv__buf_t *out, int64_t base_offset,
                                 int16_t attributes, int64_t base_timestamp, int64_t producer_id,
                                 int16_t producer_epoch, int32_t base_sequence,
                                 int32_t partition_leader_epoch) {
    int codec = attributes & RV__ATTR_COMPRESSION_MASK;
    if (!rv__codec_valid(codec))
        return RV_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    uint8_t *h;
    rv_err_t err = rv__buf_extend(out, RV__BATCH_HEADER_SIZE, &h);
    if (err)
        return err;
    memset(h, 0, RV__BATCH_HEADER_SIZE);
    rv__wbe64(h + RV__BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
    rv__wbe32(h + RV__BATCH_OFF_LEADER_EPOCH, (uint32_t)partition_leader_epoch);
    h[RV__BATCH_OFF_MAGIC] = RV__BATCH_MAGIC;
    rv__wbe16(h + RV__BATCH_OFF_ATTRIBUTES, (uint16_t)attributes);
    rv__wbe64(h + RV__BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id);
    rv__wbe16(h + RV__BATCH_OFF_PRODUCER_EPOCH, (uint16_t)producer_epoch);
    rv__wbe32(h + RV__BATCH_OFF_BASE_SEQUENCE, (uint32_t)base_sequence);
    b->out = out;
    b->start = out->len - RV__BATCH_HEADER_SIZE;
    b->base_offset = base_offset;
    b->base_timestamp = base_timestamp;
    /* Kafka's MemoryRecordsBuilder starts maxTimestamp at NO_TIMESTAMP. */
    b->max_timestamp = -1;
    b->count = 0;
    b->last_offset = base_offset - 1;
    b->codec = codec;
    b->compressed = false;
    b->scratch = NULL;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__batch_builder_add(rv__batch_builder_t *b, int64_t offset, int64_t timestamp,
                               const void *key, int32_t key_len, const void *value,
                               int32_t value_len, int32_t header_cnt, const void *headers,
                               size_t headers_len) {
    if (b->compressed)
        return RV_ERR__STATE; /* the records section is already compressed */
    if (offset <= b->last_offset || offset - b->base_offset > INT32_MAX)
        return RV_ERR__INVALID_ARG;
    if (key_len < -1 || (key_len > 0 && !key) || value_len < -1 || (value_len > 0 && !value) ||
        header_cnt < 0 || (headers_len && !headers) || b->count == INT32_MAX)
        return RV_ERR__INVALID_ARG;
    /* The first record sets base_timestamp unless begin() was given one. */
    int64_t base_ts = b->base_timestamp == INT64_MIN ? timestamp : b->base_timestamp;
    int64_t ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)base_ts);
    int32_t off_delta = (int32_t)(offset - b->base_offset);
    size_t klen = key_len > 0 ? (size_t)key_len : 0;
    size_t vlen = value_len > 0 ? (size_t)value_len : 0;
    size_t body = 1 + rv__varint_size(ts_delta) + rv__varint_size(off_delta) +
                  rv__varint_size(key_len) + klen + rv__varint_size(value_len) + vlen +
                  rv__varint_size(header_cnt) + headers_len;
    if (body > INT32_MAX)
        return RV_ERR_MESSAGE_TOO_LARGE;

    uint8_t *p;
    rv_err_t err = rv__buf_extend(b->out, rv__varint_size((int64_t)body) + body, &p);
    if (err)
        return err;
    p += rv__uvarint_encode(p, rv__zigzag64((int64_t)body));
    *p++ = 0; /* record attributes: unused */
    p += rv__uvarint_encode(p, rv__zigzag64(ts_delta));
    p += rv__uvarint_encode(p, rv__zigzag64(off_delta));
    p += rv__uvarint_encode(p, rv__zigzag64(key_len));
    if (klen) {
        memcpy(p, key, klen);
        p += klen;
    }
    p += rv__uvarint_encode(p, rv__zigzag64(value_len));
    if (vlen) {
        memcpy(p, value, vlen);
        p += vlen;
    }
    p += rv__uvarint_encode(p, rv__zigzag64(header_cnt));
    if (headers_len)
        memcpy(p, headers, headers_len);

    b->base_timestamp = base_ts;
    if (timestamp > b->max_timestamp)
        b->max_timestamp = timestamp;
    b->last_offset = offset;
    b->count++;
    return RV_ERR_NO_ERROR;
}

/* Replaces the records section (everything after the header) with its
 * compressed form. */
static rv_err_t compress_records(rv__batch_builder_t *b) {
    rv__buf_t tmp = RV__BUF_INIT;
    rv__buf_t *z = b->scratch ? b->scratch : &tmp;
    size_t recs = b->start + RV__BATCH_HEADER_SIZE;
    z->len = 0;
    size_t plain = b->out->len - recs;
    rv_err_t err = rv__codec_compress(b->codec, b->out->data + recs, plain, z);
    /* Compressed output can exceed its input (tiny or random records): make
     * room first, so a failure leaves the plain records in place. */
    if (!err && z->len > plain)
        err = rv__buf_reserve(b->out, z->len - plain);
    if (!err) {
        memcpy(b->out->data + recs, z->data, z->len);
        b->out->len = recs + z->len;
        b->compressed = true;
    }
    rv__buf_free(&tmp);
    return err;
}

rv_err_t rv__batch_builder_finish(rv__batch_builder_t *b, int32_t last_offset_delta) {
    /* Compress once: a repeated finish only rewrites the header. */
    if (b->codec && !b->compressed) {
        rv_err_t err = compress_records(b);
        if (err)
            return err;
    }
    size_t size = b->out->len - b->start;
    if (size - RV__BATCH_LOG_OVERHEAD > INT32_MAX)
        return RV_ERR_MESSAGE_TOO_LARGE;
    uint8_t *h = b->out->data + b->start;
    if (last_offset_delta < 0)
        last_offset_delta = b->count ? (int32_t)(b->last_offset - b->base_offset) : 0;
    int64_t base_ts = b->base_timestamp == INT64_MIN ? -1 : b->base_timestamp;
    rv__wbe32(h + RV__BATCH_OFF_LENGTH, (uint32_t)(size - RV__BATCH_LOG_OVERHEAD));
    rv__wbe32(h + RV__BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)last_offset_delta);
    rv__wbe64(h + RV__BATCH_OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
    rv__wbe64(h + RV__BATCH_OFF_MAX_TIMESTAMP, (uint64_t)b->max_timestamp);
    rv__wbe32(h + RV__BATCH_OFF_RECORDS_COUNT, (uint32_t)b->count);
    rv__wbe32(h + RV__BATCH_OFF_CRC, rv__batch_compute_crc(h, size));
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__headers_encode(rv__buf_t *out, const void *key, int32_t key_len, const void *value,
                            int32_t value_len) {
    if (key_len < 0 || (key_len > 0 && !key) || value_len < -1 || (value_len > 0 && !value))
        return RV_ERR__INVALID_ARG;
    size_t vlen = value_len > 0 ? (size_t)value_len : 0;
    size_t need = rv__varint_size(key_len) + (size_t)key_len + rv__varint_size(value_len) + vlen;
    uint8_t *p;
    rv_err_t err = rv__buf_extend(out, need, &p);
    if (err)
        return err;
    p += rv__uvarint_encode(p, rv__zigzag64(key_len));
    if (key_len) {
        memcpy(p, key, (size_t)key_len);
        p += key_len;
    }
    p += rv__uvarint_encode(p, rv__zigzag64(value_len));
    if (vlen)
        memcpy(p, value, vlen);
    return RV_ERR_NO_ERROR;
}
