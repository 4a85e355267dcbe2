/* common/codec.c: gzip, snappy, lz4 and zstd as Kafka frames them in the
 * records section of a compressed RecordBatch (see common/codec.h for the
 * contract, docs/LOG_FORMAT.md for where compressed batches live).
 *
 * DESIGN
 * Framings follow the Java client's CompressionType implementations, so a
 * batch compressed here decompresses in a Java or librdkafka consumer and
 * the other way round:
 *  - gzip: java.util.zip.GZIPOutputStream, i.e. an RFC 1952 member at the
 *    default level. Readers accept concatenated members and, like
 *    GZIPInputStream, stop at trailing bytes that do not start a member.
 *  - snappy: snappy-java's SnappyOutputStream ("xerial" framing): a 16-byte
 *    header (magic "\x82SNAPPY\0", int32 version 1, int32 compatible
 *    version 1) and blocks of at most 32 KiB input, each an int32
 *    big-endian compressed length and a raw snappy block. Readers also take
 *    a bare raw snappy block (what some non-Java clients send) and a new
 *    header between blocks (snappy-java concatenates streams that way).
 *  - lz4: KafkaLZ4BlockOutputStream, a standard LZ4 frame with independent
 *    64 KiB blocks, no content size and no content checksum. Since magic 2
 *    the frame header checksum is the correct one, so no legacy fix-up is
 *    needed (librdkafka applies it only to magic 0/1 message sets).
 *  - zstd: a single zstd frame at level 3 (Kafka's default level); readers
 *    stream, so frames without a content size are fine.
 *
 * Decompression bombs: every decoder writes into a buffer that is never
 * allowed to exceed max_out + 1 bytes, grown geometrically as output
 * appears; producing the extra byte is the proof that the input expands
 * past max_out, and the call fails with CORRUPT_MESSAGE. Any decoder error
 * is CORRUPT_MESSAGE too; the caller's buffer is restored on every error. */
#include "common/codec.h"

#include <limits.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

const char *rv__codec_name(int codec) {
    return rv__codec_valid(codec) ? codec_names[codec] : NULL;
}

int rv__codec_by_name(const char *name) {
    if (!name)
        return -1;
    for (int i = 0; i < (int)(sizeof codec_names / sizeof codec_names[0]); i++)
        if (strcmp(codec_names[i], name) == 0)
            return i;
    return -1;
}

int rv__codec_valid(int codec) {
    return codec >= RV__CODEC_NONE && codec <= RV__CODEC_ZSTD;
}

/* ---- output window with a hard limit ---- */

/* Tracks the decompressor's output in `out` starting at `start`, limited
 * to `limit` (= max_out + 1) bytes in all. */
typedef struct outwin_s {
    rv__buf_t *out;
    size_t start;
    size_t limit;
    size_t hint; /* size of the first reservation */
} outwin_t;

static void outwin_init(outwin_t *w, rv__buf_t *out, size_t in_len, size_t max_out) {
    w->out = out;
    w->start = out->len;
    w->limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
    /* Records compress 2-5x typically; guessing 4x saves most regrowths. */
    w->hint = in_len < (SIZE_MAX - 4096) / 4 ? in_len * 4 + 4096 : SIZE_MAX;
}

static size_t outwin_produced(const outwin_t *w) {
    return w->out->len - w->start;
}

/* Makes room for more output: *room is set to the free bytes after
 * out->len, never more than the limit allows. RV_ERR_CORRUPT_MESSAGE when
 * the limit is reached (the input expands beyond max_out). */
static rv_err_t outwin_room(outwin_t *w, size_t *room) {
    size_t produced = outwin_produced(w);
    if (produced >= w->limit)
        return RV_ERR_CORRUPT_MESSAGE;
    size_t allowed = w->limit - produced;
    size_t free_now = w->out->data ? w->out->cap - w->out->len : 0;
    if (free_now < 1024 && free_now < allowed) {
        size_t want = produced ? produced : w->hint;
        if (want < 4096)
            want = 4096;
        if (want > allowed)
            want = allowed;
        rv_err_t err = rv__buf_reserve(w->out, want);
        if (err)
            return err;
        free_now = w->out->cap - w->out->len;
    }
    *room = free_now < allowed ? free_now : allowed;
    return RV_ERR_NO_ERROR;
}

/* Accounts `n` bytes written after out->len; CORRUPT_MESSAGE past max_out. */
static rv_err_t outwin_commit(outwin_t *w, size_t n) {
    w->out->len += n;
    return outwin_produced(w) >= w->limit ? RV_ERR_CORRUPT_MESSAGE : RV_ERR_NO_ERROR;
}

/* ---- gzip ---- */

static rv_err_t gzip_compress(const uint8_t *in, size_t len, rv__buf_t *out) {
    if (len > UINT_MAX)
        return RV_ERR_MESSAGE_TOO_LARGE;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16 selects the gzip wrapper; level and memLevel are
     * Deflater's defaults, as GZIPOutputStream uses them. */
    int rc = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return RV_ERR__NOMEM;
    size_t bound = deflateBound(&zs, (uLong)len);
    rv_err_t err = rv__buf_reserve(out, bound);
    if (err) {
        deflateEnd(&zs);
        return err;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out->data + out->len;
    zs.avail_out = bound > UINT_MAX ? UINT_MAX : (uInt)bound;
    rc = deflate(&zs, Z_FINISH);
    size_t produced = (size_t)zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        return RV_ERR__NOMEM; /* deflateBound was too small: cannot happen */
    out->len += produced;
    return RV_ERR_NO_ERROR;
}

static rv_err_t gzip_decompress(const uint8_t *in, size_t len, outwin_t *w) {
    if (len == 0 || len > UINT_MAX)
        return RV_ERR_CORRUPT_MESSAGE;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return RV_ERR__NOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    rv_err_t err = RV_ERR_NO_ERROR;
    for (;;) {
        size_t room;
        if ((err = outwin_room(w, &room)))
            break;
        uInt avail = room > UINT_MAX ? UINT_MAX : (uInt)room;
        zs.next_out = w->out->data + w->out->len;
        zs.avail_out = avail;
        int rc = inflate(&zs, Z_NO_FLUSH);
        if ((err = outwin_commit(w, avail - zs.avail_out)))
            break;
        if (rc == Z_STREAM_END) {
            /* Another member follows, or trailing bytes GZIPInputStream
             * would ignore. */
            if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                if (inflateReset(&zs) != Z_OK) {
                    err = RV_ERR_CORRUPT_MESSAGE;
                    break;
                }
                continue;
            }
            break;
        }
        if (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_out == 0))
            continue; /* progress made, or only out of room */
        err = rc == Z_MEM_ERROR ? RV_ERR__NOMEM : RV_ERR_CORRUPT_MESSAGE;
        break;
    }
    inflateEnd(&zs);
    return err;
}

/* ---- snappy (xerial framing) ---- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_SIZE 16
/* SnappyOutputStream's default block size. */
#define XERIAL_BLOCK_SIZE (32 * 1024)

static int is_xerial_header(const uint8_t *p, size_t len) {
    return len >= XERIAL_HEADER_SIZE && memcmp(p, xerial_magic, sizeof xerial_magic) == 0;
}

static rv_err_t snappy_xerial_compress(const uint8_t *in, size_t len, rv__buf_t *out) {
    uint8_t *p;
    rv_err_t err = rv__buf_extend(out, XERIAL_HEADER_SIZE, &p);
    if (err)
        return err;
    memcpy(p, xerial_magic, sizeof xerial_magic);
    rv__wbe32(p + 8, 1);  /* version */
    rv__wbe32(p + 12, 1); /* compatible version */
    for (size_t pos = 0; pos < len; pos += XERIAL_BLOCK_SIZE) {
        size_t n = len - pos < XERIAL_BLOCK_SIZE ? len - pos : XERIAL_BLOCK_SIZE;
        size_t bound = snappy_max_compressed_length(n);
        if ((err = rv__buf_reserve(out, 4 + bound)))
            return err;
        size_t clen = bound;
        uint8_t *blk = out->data + out->len;
        if (snappy_compress((const char *)in + pos, n, (char *)blk + 4, &clen) != SNAPPY_OK)
            return RV_ERR__NOMEM;
        rv__wbe32(blk, (uint32_t)clen);
        out->len += 4 + clen;
    }
    return RV_ERR_NO_ERROR;
}

/* Decodes one raw snappy block into the window. */
static rv_err_t snappy_raw_block(const uint8_t *in, size_t len, outwin_t *w) {
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK)
        return RV_ERR_CORRUPT_MESSAGE;
    if (ulen >= w->limit - outwin_produced(w))
        return RV_ERR_CORRUPT_MESSAGE; /* would pass max_out */
    /* The declared length is only trusted once the block validates, so a
     * forged length cannot make us allocate. */
    if (snappy_validate_compressed_buffer((const char *)in, len) != SNAPPY_OK)
        return RV_ERR_CORRUPT_MESSAGE;
    rv_err_t err = rv__buf_reserve(w->out, ulen);
    if (err)
        return err;
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, len, (char *)w->out->data + w->out->len, &got) !=
            SNAPPY_OK ||
        got != ulen)
        return RV_ERR_CORRUPT_MESSAGE;
    return outwin_commit(w, got);
}

static rv_err_t snappy_decompress(const uint8_t *in, size_t len, outwin_t *w) {
    if (len == 0)
        return RV_ERR_CORRUPT_MESSAGE;
    if (!is_xerial_header(in, len))
        return snappy_raw_block(in, len, w);
    size_t pos = 0;
    while (pos < len) {
        if (is_xerial_header(in + pos, len - pos)) {
            /* snappy-java refuses streams whose compatible version is
             * below 1; versions are otherwise informational. */
            if ((int32_t)rv__be32(in + pos + 12) < 1)
                return RV_ERR_CORRUPT_MESSAGE;
            pos += XERIAL_HEADER_SIZE;
            continue;
        }
        if (len - pos < 4)
            return RV_ERR_CORRUPT_MESSAGE;
        uint32_t clen = rv__be32(in + pos);
        pos += 4;
        if (clen > len - pos)
            return RV_ERR_CORRUPT_MESSAGE;
        rv_err_t err = snappy_raw_block(in + pos, clen, w);
        if (err)
            return err;
        pos += clen;
    }
    return RV_ERR_NO_ERROR;
}

/* ---- lz4 (frame) ---- */

static rv_err_t lz4_compress(const uint8_t *in, size_t len, rv__buf_t *out) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    /* KafkaLZ4BlockOutputStream: 64 KiB independent blocks, no checksums
     * beyond the header's, no content size. */
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    rv_err_t err = rv__buf_reserve(out, bound);
    if (err)
        return err;
    size_t n = LZ4F_compressFrame(out->data + out->len, bound, in, len, &prefs);
    if (LZ4F_isError(n))
        return RV_ERR__NOMEM;
    out->len += n;
    return RV_ERR_NO_ERROR;
}

static rv_err_t lz4_decompress(const uint8_t *in, size_t len, outwin_t *w) {
    if (len == 0)
        return RV_ERR_CORRUPT_MESSAGE;
    LZ4F_dctx *dctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return RV_ERR__NOMEM;
    rv_err_t err = RV_ERR_NO_ERROR;
    size_t pos = 0, hint = 1;
    while (pos < len) {
        size_t room;
        if ((err = outwin_room(w, &room)))
            break;
        size_t src = len - pos, dst = room;
        hint = LZ4F_decompress(dctx, w->out->data + w->out->len, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(hint)) {
            err = RV_ERR_CORRUPT_MESSAGE;
            break;
        }
        pos += src;
        if ((err = outwin_commit(w, dst)))
            break;
        /* A full output buffer may hide buffered output: drain it before
         * concluding anything from the input being consumed. */
        while (!err && pos == len && hint != 0 && dst == room) {
            if ((err = outwin_room(w, &room)))
                break;
            src = 0;
            dst = room;
            hint = LZ4F_decompress(dctx, w->out->data + w->out->len, &dst, in + pos, &src, NULL);
            if (LZ4F_isError(hint)) {
                err = RV_ERR_CORRUPT_MESSAGE;
                break;
            }
            err = outwin_commit(w, dst);
        }
        if (err)
            break;
    }
    /* hint 0 means the last frame ended exactly: anything else is a
     * truncated frame. */
    if (!err && hint != 0)
        err = RV_ERR_CORRUPT_MESSAGE;
    LZ4F_freeDecompressionContext(dctx);
    return err;
}

/* ---- zstd ---- */

static rv_err_t zstd_compress(const uint8_t *in, size_t len, rv__buf_t *out) {
    size_t bound = ZSTD_compressBound(len);
    rv_err_t err = rv__buf_reserve(out, bound);
    if (err)
        return err;
    size_t n = ZSTD_compress(out->data + out->len, bound, in, len, 3);
    if (ZSTD_isError(n))
        return RV_ERR__NOMEM;
    out->len += n;
    return RV_ERR_NO_ERROR;
}

static rv_err_t zstd_decompress(const uint8_t *in, size_t len, outwin_t *w) {
    if (len == 0)
        return RV_ERR_CORRUPT_MESSAGE;
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return RV_ERR__NOMEM;
    /* The default window limit (128 MiB) bounds the decoder's own memory. */
    ZSTD_inBuffer ib = {in, len, 0};
    rv_err_t err = RV_ERR_NO_ERROR;
    size_t ret = 1;
    for (;;) {
        size_t room;
        if ((err = outwin_room(w, &room)))
            break;
        ZSTD_outBuffer ob = {w->out->data + w->out->len, room, 0};
        ret = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(ret)) {
            err = ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ? RV_ERR__NOMEM
                                                                         : RV_ERR_CORRUPT_MESSAGE;
            break;
        }
        if ((err = outwin_commit(w, ob.pos)))
            break;
        if (ib.pos == ib.size && ob.pos < ob.size)
            break; /* all input used and all output flushed */
    }
    /* ret 0: the last frame is complete; otherwise it was cut short. */
    if (!err && ret != 0)
        err = RV_ERR_CORRUPT_MESSAGE;
    ZSTD_freeDStream(ds);
    return err;
}

/* ---- entry points ---- */

rv_err_t rv__codec_compress(int codec, const void *in, size_t len, rv__buf_t *out) {
    static const uint8_t empty;
    const uint8_t *src = len ? in : &empty;
    size_t start = out->len;
    rv_err_t err;
    switch (codec) {
    case RV__CODEC_GZIP:
        err = gzip_compress(src, len, out);
        break;
    case RV__CODEC_SNAPPY:
        err = snappy_xerial_compress(src, len, out);
        break;
    case RV__CODEC_LZ4:
        err = lz4_compress(src, len, out);
        break;
    case RV__CODEC_ZSTD:
        err = zstd_compress(src, len, out);
        break;
    default:
        return RV_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (err)
        out->len = start;
    return err;
}

rv_err_t rv__codec_decompress(int codec, const void *in, size_t len, rv__buf_t *out,
                              size_t max_out) {
    if (codec <= RV__CODEC_NONE || codec > RV__CODEC_ZSTD)
        return RV_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    if (!in && len)
        return RV_ERR__INVALID_ARG;
    outwin_t w;
    outwin_init(&w, out, len, max_out);
    const uint8_t *src = in;
    rv_err_t err;
    switch (codec) {
    case RV__CODEC_GZIP:
        err = gzip_decompress(src, len, &w);
        break;
    case RV__CODEC_SNAPPY:
        err = snappy_decompress(src, len, &w);
        break;
    case RV__CODEC_LZ4:
        err = lz4_decompress(src, len, &w);
        break;
    default:
        err = zstd_decompress(src, len, &w);
        break;
    }
    if (err)
        out->len = w.start;
    return err;
}
