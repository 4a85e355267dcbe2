/* common/record.c: the public batch builder and reader (rivulet/record.h),
 * thin wrappers over the RecordBatch v2 code in common/record_batch.c, and
 * rv_free() (rivulet/broker.h).
 *
 * Headers may be added to the record added last, but the internal builder
 * writes a record's bytes in one go, headers included. So the public
 * builder keeps the last record pending (its key, value and headers copied
 * into scratch buffers) and writes it out when the next record arrives or
 * the batch is finished. Records get offsets 0, 1, 2... relative to the
 * batch; the log assigns the real base offset on append.
 *
 * Compression (rv_batch_builder_set_compression) is left to the internal
 * builder, which compresses the records section when the batch is
 * finished. The reader decompresses each compressed batch into a buffer
 * it owns, so the records of such a batch borrow from the reader rather
 * than from the caller's data. */
#include "rivulet/record.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/codec.h"
#include "common/record_batch.h"
#include "rivulet/broker.h"

struct rv_batch_builder_s {
    rv__buf_t out;          /* the batch being built */
    rv__batch_builder_t bb; /* valid once begun */
    bool begun, finished;
    int count; /* records added, the pending one included */
    /* The pending record: key and value bytes in kv, headers raw. */
    bool pending;
    rv__buf_t kv;
    int32_t klen, vlen;
    int64_t ts;
    rv__buf_t hdrs;
    int32_t hdr_cnt;
    int codec;    /* compression.type id, kept across resets */
    rv__buf_t zb; /* compression scratch */
};

rv_batch_builder_t *rv_batch_builder_new(void) {
    return calloc(1, sizeof(rv_batch_builder_t));
}

void rv_batch_builder_destroy(rv_batch_builder_t *b) {
    if (!b)
        return;
    rv__buf_free(&b->out);
    rv__buf_free(&b->kv);
    rv__buf_free(&b->hdrs);
    rv__buf_free(&b->zb);
    free(b);
}

void rv_batch_builder_reset(rv_batch_builder_t *b) {
    b->out.len = 0;
    b->kv.len = 0;
    b->hdrs.len = 0;
    b->begun = b->finished = b->pending = false;
    b->count = 0;
}

rv_err_t rv_batch_builder_set_compression(rv_batch_builder_t *b, const char *type) {
    int codec = rv__codec_by_name(type);
    if (codec < 0)
        return RV_ERR__INVALID_ARG;
    if (b->count > 0 || b->finished)
        return RV_ERR__STATE;
    b->codec = codec;
    return RV_ERR_NO_ERROR;
}

int rv_batch_builder_count(const rv_batch_builder_t *b) {
    return b->count;
}

/* Writes the pending record into the batch. */
static rv_err_t flush_pending(rv_batch_builder_t *b) {
    if (!b->pending)
        return RV_ERR_NO_ERROR;
    rv_err_t err;
    if (!b->begun) {
        /* A plain producer batch: no producer id, sequence or leader epoch. */
        err = rv__batch_builder_begin(&b->bb, &b->out, 0, (int16_t)b->codec, INT64_MIN, -1, -1, -1,
                                      -1);
        if (err)
            return err;
        b->bb.scratch = &b->zb;
        b->begun = true;
    }
    /* kv holds the key bytes then the value bytes; a null key takes none. */
    size_t kl = b->klen > 0 ? (size_t)b->klen : 0;
    const uint8_t *k = b->klen >= 0 ? b->kv.data : NULL;
    const uint8_t *v = b->vlen >= 0 ? b->kv.data + kl : NULL;
    err = rv__batch_builder_add(&b->bb, b->bb.last_offset + 1, b->ts, k, b->klen, v, b->vlen,
                                b->hdr_cnt, b->hdrs.data, b->hdrs.len);
    if (err)
        return err;
    b->pending = false;
    b->kv.len = 0;
    b->hdrs.len = 0;
    b->hdr_cnt = 0;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_batch_builder_add(rv_batch_builder_t *b, const void *key, int32_t key_len,
                              const void *value, int32_t value_len, int64_t timestamp) {
    if (b->finished)
        return RV_ERR__STATE;
    if (key_len < -1 || (key_len > 0 && !key) || value_len < -1 || (value_len > 0 && !value))
        return RV_ERR__INVALID_ARG;
    if (b->count == INT32_MAX)
        return RV_ERR__INVALID_ARG;
    rv_err_t err = flush_pending(b);
    if (err)
        return err;
    size_t kl = key_len > 0 ? (size_t)key_len : 0, vl = value_len > 0 ? (size_t)value_len : 0;
    if ((err = rv__buf_reserve(&b->kv, kl + vl)))
        return err;
    if (kl)
        memcpy(b->kv.data, key, kl);
    if (vl)
        memcpy(b->kv.data + kl, value, vl);
    b->kv.len = kl + vl;
    b->klen = key_len;
    b->vlen = value_len;
    b->ts = timestamp == -1 ? rv__now_ms() : timestamp;
    b->pending = true;
    b->count++;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_batch_builder_add_header(rv_batch_builder_t *b, const char *key, const void *value,
                                     int32_t value_len) {
    if (!b->pending || b->finished)
        return RV_ERR__STATE;
    if (!key || value_len < -1 || (value_len > 0 && !value))
        return RV_ERR__INVALID_ARG;
    size_t kl = strlen(key);
    if (kl > INT32_MAX || b->hdr_cnt == INT32_MAX)
        return RV_ERR__INVALID_ARG;
    rv_err_t err = rv__headers_encode(&b->hdrs, key, (int32_t)kl, value, value_len);
    if (err)
        return err;
    b->hdr_cnt++;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv_batch_builder_finish(rv_batch_builder_t *b, const void **data, size_t *len) {
    if (!b->finished) {
        if (b->count == 0)
            return RV_ERR__STATE;
        rv_err_t err = flush_pending(b);
        if (!err)
            err = rv__batch_builder_finish(&b->bb, -1);
        if (err)
            return err;
        b->finished = true;
    }
    *data = b->out.data;
    *len = b->out.len;
    return RV_ERR_NO_ERROR;
}

/* ---- reader ---- */

struct rv_batch_reader_s {
    const uint8_t *data;
    size_t len;
    size_t next; /* start of the next batch */
    bool in_batch;
    bool has_rec;
    rv_err_t err; /* sticky */
    rv__record_iter_t it;
    rv__record_t rec;
    rv__buf_t scratch; /* the decompressed records of the current batch */
};

rv_batch_reader_t *rv_batch_reader_new(const void *data, size_t len) {
    rv_batch_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->data = data;
    r->len = data ? len : 0;
    return r;
}

void rv_batch_reader_destroy(rv_batch_reader_t *r) {
    if (!r)
        return;
    rv__buf_free(&r->scratch);
    free(r);
}

static int reader_fail(rv_batch_reader_t *r, rv_err_t err) {
    r->err = err;
    r->has_rec = false;
    return (int)err;
}

int rv_batch_reader_next(rv_batch_reader_t *r) {
    if (r->err)
        return (int)r->err;
    r->has_rec = false;
    for (;;) {
        if (r->in_batch) {
            int rc = rv__record_iter_next(&r->it, &r->rec);
            if (rc == 1) {
                r->has_rec = true;
                return 1;
            }
            if (rc < 0)
                return reader_fail(r, RV_ERR__BAD_MSG);
            r->in_batch = false;
        }
        if (r->next >= r->len)
            return 0;
        const uint8_t *p = r->data + r->next;
        size_t left = r->len - r->next;
        rv__batch_hdr_t h;
        rv_err_t err = rv__batch_parse_header(&h, p, left);
        if (err == RV_ERR__PARTIAL) {
            /* A fetch may end mid-batch; consumers ignore the tail. */
            r->next = r->len;
            return 0;
        }
        if (err)
            return reader_fail(r, RV_ERR__BAD_MSG);
        if (rv__batch_compute_crc(p, rv__batch_size(&h)) != h.crc)
            return reader_fail(r, RV_ERR__CRC);
        r->next += rv__batch_size(&h);
        /* Transaction markers occupy offsets but are not records. */
        if (h.attributes & RV__ATTR_CONTROL)
            continue;
        err = rv__record_iter_init2(&r->it, p, rv__batch_size(&h), &r->scratch);
        if (err == RV_ERR_UNSUPPORTED_COMPRESSION_TYPE)
            return reader_fail(r, RV_ERR__NOT_IMPLEMENTED);
        if (err == RV_ERR__NOMEM)
            return reader_fail(r, err);
        if (err)
            return reader_fail(r, RV_ERR__BAD_MSG);
        r->in_batch = true;
    }
}

int64_t rv_batch_reader_offset(const rv_batch_reader_t *r) {
    return r->has_rec ? r->rec.offset : -1;
}

int64_t rv_batch_reader_timestamp(const rv_batch_reader_t *r) {
    return r->has_rec ? r->rec.timestamp : -1;
}

const void *rv_batch_reader_key(const rv_batch_reader_t *r, int32_t *len) {
    if (!r->has_rec || r->rec.key_len < 0) {
        if (len)
            *len = -1;
        return NULL;
    }
    if (len)
        *len = r->rec.key_len;
    /* An empty key is not null: hand out a valid pointer. */
    return r->rec.key ? (const void *)r->rec.key : (const void *)"";
}

const void *rv_batch_reader_value(const rv_batch_reader_t *r, int32_t *len) {
    if (!r->has_rec || r->rec.value_len < 0) {
        if (len)
            *len = -1;
        return NULL;
    }
    if (len)
        *len = r->rec.value_len;
    return r->rec.value ? (const void *)r->rec.value : (const void *)"";
}

int rv_batch_reader_header_count(const rv_batch_reader_t *r) {
    return r->has_rec ? r->rec.header_cnt : 0;
}

rv_err_t rv_batch_reader_header(const rv_batch_reader_t *r, int i, const char **key,
                                int32_t *key_len, const void **value, int32_t *value_len) {
    if (!r->has_rec || i < 0 || i >= r->rec.header_cnt)
        return RV_ERR__NOENT;
    rv__slice_t s;
    rv__slice_init(&s, r->rec.headers, r->rec.headers_len);
    const uint8_t *k = NULL, *v = NULL;
    int32_t kl = 0, vl = -1;
    /* The iterator validated the headers section, so this walk succeeds. */
    for (int j = 0; j <= i; j++)
        if (rv__record_header_next(&s, &k, &kl, &v, &vl) != 1)
            return RV_ERR__BAD_MSG;
    *key = k ? (const char *)k : "";
    *key_len = kl;
    *value = vl >= 0 ? (v ? (const void *)v : (const void *)"") : NULL;
    *value_len = vl;
    return RV_ERR_NO_ERROR;
}

void rv_free(void *p) {
    free(p);
}
