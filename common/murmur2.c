/* common/murmur2.c: Kafka's murmur2 hash (org.apache.kafka.common.utils.
 * Utils.murmur2) and the default partitioner's key mapping.
 *
 * Matching Java bit for bit is what lets a rivulet producer put a key in the
 * same partition as a Java producer would, so this follows the Java code
 * literally: seed 0x9747b28c, little-endian 4-byte words, unsigned shifts
 * (Java's >>>), and toPositive(n) = n & 0x7fffffff rather than abs(). */
#include "common/murmur2.h"

int32_t rv__murmur2(const void *data, size_t len) {
    const uint8_t *d = data;
    const uint32_t seed = 0x9747b28cu, m = 0x5bd1e995u;
    const int r = 24;
    /* Java takes the length as an int; keys are far below 2 GiB. */
    uint32_t h = seed ^ (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)d[i] | ((uint32_t)d[i + 1] << 8) | ((uint32_t)d[i + 2] << 16) |
                     ((uint32_t)d[i + 3] << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)d[i + 2] << 16;
        /* fallthrough */
    case 2:
        h ^= (uint32_t)d[i + 1] << 8;
        /* fallthrough */
    case 1:
        h ^= (uint32_t)d[i];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t rv__murmur2_partition(const void *key, size_t len, int32_t partition_cnt) {
    uint32_t h = (uint32_t)rv__murmur2(key, len) & 0x7fffffffu;
    return (int32_t)(h % (uint32_t)partition_cnt);
}
