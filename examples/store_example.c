/* examples/store_example.c: the state store guide's code
 * (docs/STATE_STORES.md) as one program. It builds a RocksDB store and an
 * in-memory store from builders, counts words in both through the same
 * code, reads them back with get, range and reverse range, shows that an
 * iterator survives writes, reopens the RocksDB store to show its data
 * persisted, and wraps a store in a user-supplied one.
 *
 *   store_example DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rivulet/rivulet.h>

/* Adds 1 to the count of `word` (counts are 8-byte big-endian, as the
 * int64 serde writes them). */
static rv_err_t count_word(rv_kv_store_t *store, const char *word) {
    rv_bytes_t old;
    int64_t n = 0;
    rv_err_t err = rv_kv_store_get(&old, store, word, strlen(word));
    if (err == RV_ERR_NO_ERROR) {
        const unsigned char *p = old.data;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | p[i];
        rv_bytes_free(&old);
    } else if (err != RV_ERR__NOENT) {
        return err;
    }
    n++;
    unsigned char buf[8];
    for (int i = 7; i >= 0; i--, n >>= 8)
        buf[i] = (unsigned char)(n & 0xff);
    return rv_kv_store_put(store, word, strlen(word), buf, sizeof buf);
}

static int64_t decode_count(const void *value) {
    const unsigned char *p = value;
    int64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = (n << 8) | p[i];
    return n;
}

/* Prints every entry an iterator gives, then frees it. */
static void print_entries(const char *title, rv_kv_iter_t *it) {
    printf("%s:", title);
    while (rv_kv_iter_next(it) == 1) {
        size_t key_len;
        const char *key = rv_kv_iter_key(it, &key_len);
        printf(" %.*s=%lld", (int)key_len, key,
               (long long)decode_count(rv_kv_iter_value(it, NULL)));
    }
    printf("\n");
    rv_kv_iter_destroy(it);
}

static int use_store(rv_kv_store_t *store) {
    const char *words[] = {"kafka", "streams", "rocksdb", "kafka", "state", "kafka", "streams"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (count_word(store, words[i]) != RV_ERR_NO_ERROR)
            return 1;

    rv_kv_iter_t *it;
    rv_kv_store_all(&it, store);
    print_entries("all", it);
    /* both bounds are inclusive; NULL leaves a side open */
    rv_kv_store_range(&it, store, "r", 1, "t", 1);
    print_entries("range [r, t]", it);
    rv_kv_store_reverse_range(&it, store, NULL, 0, "rocksdb", 7);
    print_entries("reverse range [-, rocksdb]", it);

    /* an iterator stays valid while the store is written */
    rv_kv_store_all(&it, store);
    rv_kv_store_delete(NULL, store, "state", 5);
    count_word(store, "zookeeper");
    print_entries("all (opened before the writes)", it);

    rv_bytes_t existing;
    rv_kv_store_put_if_absent(&existing, store, "kafka", 5, "\0\0\0\0\0\0\0\0", 8);
    printf("kafka already counted: %lld\n", (long long)decode_count(existing.data));
    rv_bytes_free(&existing);
    printf("about %lld entries\n", (long long)rv_kv_store_approximate_num_entries(store));
    return rv_kv_store_flush(store) == RV_ERR_NO_ERROR ? 0 : 1;
}

/* A user-supplied store: counts the writes to the store it wraps. */
typedef struct counting_store_s {
    rv_kv_store_t *inner;
    int puts;
} counting_store_t;

static rv_err_t cs_get(void *opaque, rv_bytes_t *out, const void *key, size_t key_len) {
    counting_store_t *cs = opaque;
    return rv_kv_store_get(out, cs->inner, key, key_len);
}

static rv_err_t cs_put(void *opaque, const void *key, size_t key_len, const void *value,
                       size_t value_len) {
    counting_store_t *cs = opaque;
    cs->puts++;
    return rv_kv_store_put(cs->inner, key, key_len, value, value_len);
}

static rv_err_t cs_iter_open(void *opaque, void **iter, const void *from, size_t from_len,
                             const void *to, size_t to_len, int reverse) {
    counting_store_t *cs = opaque;
    rv_kv_iter_t *it;
    rv_err_t err = reverse ? rv_kv_store_reverse_range(&it, cs->inner, from, from_len, to, to_len)
                           : rv_kv_store_range(&it, cs->inner, from, from_len, to, to_len);
    *iter = it;
    return err;
}

static int cs_iter_next(void *iter, const void **key, size_t *key_len, const void **value,
                        size_t *value_len) {
    int r = rv_kv_iter_next(iter);
    if (r == 1) {
        *key = rv_kv_iter_key(iter, key_len);
        *value = rv_kv_iter_value(iter, value_len);
    }
    return r;
}

static void cs_iter_close(void *iter) {
    rv_kv_iter_destroy(iter);
}

static void cs_close(void *opaque) {
    counting_store_t *cs = opaque;
    printf("counting store saw %d puts\n", cs->puts);
    rv_kv_store_destroy(cs->inner);
    free(cs);
}

static const rv_kv_store_ops_t counting_ops = {
    .version = RV_KV_STORE_OPS_VERSION,
    .get = cs_get,
    .put = cs_put,
    .iter_open = cs_iter_open,
    .iter_next = cs_iter_next,
    .iter_close = cs_iter_close,
    .close = cs_close,
};

static rv_err_t open_counting(rv_kv_store_t **out, const char *name, const char *task_dir,
                              void *opaque, char *errstr, size_t errstr_size) {
    (void)task_dir, (void)opaque, (void)errstr, (void)errstr_size;
    counting_store_t *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return RV_ERR__NOMEM;
    rv_store_builder_t *mem = rv_store_builder_in_memory_kv(name);
    rv_err_t err = rv_store_builder_build(&cs->inner, mem, task_dir, errstr, errstr_size);
    rv_store_builder_destroy(mem);
    if (err == RV_ERR_NO_ERROR)
        err = rv_kv_store_new_custom(out, &counting_ops, cs, name);
    if (err != RV_ERR_NO_ERROR) {
        rv_kv_store_destroy(cs->inner);
        free(cs);
    }
    return err;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: store_example DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    char errstr[512];

    /* Kafka's Stores: logging on by default, caching off until asked. */
    rv_store_builder_t *persistent = rv_store_builder_persistent_kv("word-counts");
    const char *changelog_configs[] = {"min.compaction.lag.ms", "60000"};
    rv_store_builder_with_logging_enabled(persistent, changelog_configs, 1);
    rv_store_builder_with_caching_enabled(persistent);
    rv_store_builder_t *in_memory = rv_store_builder_in_memory_kv("word-counts-mem");
    rv_store_builder_with_logging_disabled(in_memory);

    rv_store_builder_t *builders[] = {persistent, in_memory};
    for (int i = 0; i < 2; i++) {
        rv_kv_store_t *store;
        if (rv_store_builder_build(&store, builders[i], dir, errstr, sizeof errstr)) {
            fprintf(stderr, "store_example: %s\n", errstr);
            return 1;
        }
        printf("-- %s (%s)\n", rv_kv_store_name(store),
               rv_kv_store_persistent(store) ? "RocksDB" : "in memory");
        int rc = use_store(store);
        rv_kv_store_destroy(store);
        if (rc) {
            fprintf(stderr, "store_example: store operations failed\n");
            return 1;
        }
    }

    /* The RocksDB store kept its data in DIR/rocksdb/word-counts. */
    rv_kv_store_t *reopened;
    if (rv_store_builder_build(&reopened, persistent, dir, errstr, sizeof errstr)) {
        fprintf(stderr, "store_example: %s\n", errstr);
        return 1;
    }
    rv_bytes_t kafka;
    if (rv_kv_store_get(&kafka, reopened, "kafka", 5) != RV_ERR_NO_ERROR ||
        decode_count(kafka.data) != 3) {
        fprintf(stderr, "store_example: the reopened store lost its data\n");
        return 1;
    }
    printf("after reopening: kafka=%lld\n", (long long)decode_count(kafka.data));
    rv_bytes_free(&kafka);
    rv_kv_store_destroy(reopened);

    rv_store_builder_t *custom = rv_store_builder_custom("counted", open_counting, NULL);
    rv_kv_store_t *counted;
    if (rv_store_builder_build(&counted, custom, dir, errstr, sizeof errstr)) {
        fprintf(stderr, "store_example: %s\n", errstr);
        return 1;
    }
    count_word(counted, "custom");
    count_word(counted, "custom");
    rv_kv_store_destroy(counted);

    rv_store_builder_destroy(custom);
    rv_store_builder_destroy(persistent);
    rv_store_builder_destroy(in_memory);
    printf("store example: ok\n");
    return 0;
}
