/* common/crc32c.c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78),
 * the checksum of Kafka's RecordBatch v2 (java.util.zip.CRC32C).
 *
 * Two implementations give identical results:
 *  - x86-64 with SSE4.2: the crc32 instruction, 8 bytes per step. Every
 *    appended and fetched batch is checksummed, so this is on the hot path.
 *    The instruction has a latency of 3 cycles but a throughput of one per
 *    cycle, so long buffers are cut into three interleaved streams whose
 *    CRCs are computed side by side and then combined: a stream's CRC is
 *    "shifted" over the bytes that follow it with a precomputed table for
 *    the GF(2) operator that appends that many zero bytes (the method of
 *    Mark Adler's crc32c.c).
 *  - elsewhere: slicing-by-8 (eight 256-entry tables, 8 bytes per step),
 *    built once on first use.
 * The choice is made once, on first use, from cpuid. The interface follows
 * zlib's crc32(): pass the previous result (0 to start) to continue. */
#include "common/crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__)
#define RV_CRC32C_X86 1
#include <nmmintrin.h>
#endif

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

#ifdef RV_CRC32C_X86
/* Block sizes of the three-stream hardware loop, and the tables that shift
 * a CRC over LONG_BLOCK / SHORT_BLOCK zero bytes. */
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* Multiplies the 32x32 GF(2) matrix mat by the vector vec. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1)
            sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++)
        square[n] = gf2_times(mat, mat[n]);
}

/* The operator that feeds len zero bytes through the (reflected) CRC. */
static void zeros_op(uint32_t *even, size_t len) {
    uint32_t odd[32];
    /* The operator for one zero bit. */
    odd[0] = POLY;
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd); /* two zero bits */
    gf2_square(odd, even); /* four zero bits */
    /* Square to 8 bits (one byte), 16, ...; len has a single bit set for
     * both block sizes used here, so the last square is the answer. */
    do {
        gf2_square(even, odd);
        len >>= 1;
        if (len == 0)
            return;
        gf2_square(odd, even);
        len >>= 1;
    } while (len);
    for (int n = 0; n < 32; n++)
        even[n] = odd[n];
}

static void zeros_table(uint32_t zeros[4][256], size_t len) {
    uint32_t op[32];
    zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_times(op, n);
        zeros[1][n] = gf2_times(op, n << 8);
        zeros[2][n] = gf2_times(op, n << 16);
        zeros[3][n] = gf2_times(op, n << 24);
    }
}

static void shift_build(void) {
    zeros_table(shift_long, LONG_BLOCK);
    zeros_table(shift_short, SHORT_BLOCK);
}

static inline uint32_t crc_shift(uint32_t zeros[4][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^
           zeros[3][crc >> 24];
}
#endif

static void table_build(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][n] = c;
        }
    }
}

static inline uint64_t load_le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t rv__crc32c_sw(uint32_t crc, const void *buf, size_t n) {
    const uint8_t *p = buf;
    pthread_once(&table_once, table_build);
    crc = ~crc;
    /* Bytewise until 8-aligned, so the main loop's loads are aligned. */
    while (n && ((uintptr_t)p & 7)) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t w = load_le64(p) ^ crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#ifdef RV_CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *buf,
                                                            size_t n) {
    const uint8_t *p = buf;
    uint64_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    /* Three streams side by side: each crc32 depends only on its own
     * stream, so the CPU overlaps them. c1 and c2 start from 0 (no
     * pre-inversion) and are merged into c by shifting c over the block
     * that follows it, which works because the CRC is linear. */
    if (n >= 3 * SHORT_BLOCK) {
        pthread_once(&shift_once, shift_build);
        while (n >= 3 * LONG_BLOCK) {
            uint64_t c1 = 0, c2 = 0;
            const uint8_t *end = p + LONG_BLOCK;
            do {
                uint64_t w0, w1, w2;
                memcpy(&w0, p, 8);
                memcpy(&w1, p + LONG_BLOCK, 8);
                memcpy(&w2, p + 2 * LONG_BLOCK, 8);
                c = _mm_crc32_u64(c, w0);
                c1 = _mm_crc32_u64(c1, w1);
                c2 = _mm_crc32_u64(c2, w2);
                p += 8;
            } while (p < end);
            c = crc_shift(shift_long, (uint32_t)c) ^ (uint32_t)c1;
            c = crc_shift(shift_long, (uint32_t)c) ^ (uint32_t)c2;
            p += 2 * LONG_BLOCK;
            n -= 3 * LONG_BLOCK;
        }
        while (n >= 3 * SHORT_BLOCK) {
            uint64_t c1 = 0, c2 = 0;
            const uint8_t *end = p + SHORT_BLOCK;
            do {
                uint64_t w0, w1, w2;
                memcpy(&w0, p, 8);
                memcpy(&w1, p + SHORT_BLOCK, 8);
                memcpy(&w2, p + 2 * SHORT_BLOCK, 8);
                c = _mm_crc32_u64(c, w0);
                c1 = _mm_crc32_u64(c1, w1);
                c2 = _mm_crc32_u64(c2, w2);
                p += 8;
            } while (p < end);
            c = crc_shift(shift_short, (uint32_t)c) ^ (uint32_t)c1;
            c = crc_shift(shift_short, (uint32_t)c) ^ (uint32_t)c2;
            p += 2 * SHORT_BLOCK;
            n -= 3 * SHORT_BLOCK;
        }
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#endif

/* -1 unknown, 0 software, 1 hardware. Racing first callers compute the same
 * answer, so a relaxed store is enough. */
static atomic_int hw_state = -1;

int rv__crc32c_hw_available(void) {
    int s = atomic_load_explicit(&hw_state, memory_order_relaxed);
    if (s < 0) {
#ifdef RV_CRC32C_X86
        __builtin_cpu_init();
        s = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
        s = 0;
#endif
        atomic_store_explicit(&hw_state, s, memory_order_relaxed);
    }
    return s;
}

uint32_t rv__crc32c(uint32_t crc, const void *p, size_t n) {
#ifdef RV_CRC32C_X86
    if (rv__crc32c_hw_available())
        return crc32c_hw(crc, p, n);
#endif
    return rv__crc32c_sw(crc, p, n);
}
