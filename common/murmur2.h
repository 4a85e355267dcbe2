/* common/murmur2.h: Kafka's murmur2 (Utils.murmur2 in the Java client, seed
 * 0x9747b28c) and the default partitioner's key -> partition mapping.
 * Results are identical to Java's for the same bytes. */
#ifndef RV_COMMON_MURMUR2_H
#define RV_COMMON_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/** murmur2 of the bytes, as Java's int (signed). */
int32_t rv__murmur2(const void *data, size_t len);
/** Java's partitionForKey: toPositive(murmur2(key)) % partition_cnt, where
 *  toPositive(n) = n & 0x7fffffff. partition_cnt must be > 0. */
int32_t rv__murmur2_partition(const void *key, size_t len, int32_t partition_cnt);

#endif
