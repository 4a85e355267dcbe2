/* common/crc32c.h: CRC-32C (Castagnoli), as used by Kafka's RecordBatch v2.
 *
 * rv__crc32c() uses the SSE4.2 crc32 instruction when the CPU has it
 * (checked once at first use) and a slicing-by-8 table otherwise; both give
 * the same results. Thread-safe. */
#ifndef RV_COMMON_CRC32C_H
#define RV_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** CRC-32C of p[0..n) continuing from `crc` (start with 0). */
uint32_t rv__crc32c(uint32_t crc, const void *p, size_t n);
/** The table implementation, for tests and CPUs without the instruction. */
uint32_t rv__crc32c_sw(uint32_t crc, const void *p, size_t n);
/** True when rv__crc32c() uses the hardware instruction. */
int rv__crc32c_hw_available(void);

#endif
