/* client/partitioner.c: Kafka's default partitioning for the producer
 * (client/producer.c): keyed records by murmur2 as Java's
 * BuiltInPartitioner.partitionForKey, and the sticky choice for null keys
 * (Java's StickyPartitionCache before KIP-794: a random partition, another
 * one than the previous when there is a choice). */
#include "client/producer_internal.h"

#include "common/murmur2.h"
#include "rivulet/producer.h"

int32_t rv_partitioner_murmur2(const void *key, int32_t key_len, int32_t partition_cnt) {
    if (!key || key_len < 0 || partition_cnt < 1)
        return -1;
    return rv__murmur2_partition(key, (size_t)key_len, partition_cnt);
}

/* xorshift32: the sticky choice needs spread, not quality. */
static uint32_t next_rand(uint32_t *state) {
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

int32_t rv__sticky_next(int32_t prev, int32_t partition_cnt, uint32_t *rng) {
    if (partition_cnt <= 1)
        return 0;
    if (prev < 0 || prev >= partition_cnt)
        return (int32_t)(next_rand(rng) % (uint32_t)partition_cnt);
    /* Any partition but the previous one, uniformly. */
    int32_t p = (int32_t)(next_rand(rng) % (uint32_t)(partition_cnt - 1));
    return p >= prev ? p + 1 : p;
}
