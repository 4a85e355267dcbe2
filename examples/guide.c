/* examples/guide.c: the code of docs/GUIDE.md, as one program the tests
 * build and run. Every ```c block of the guide appears here line for line
 * (test_docs_snippets checks it), so the guide's code always compiles and
 * works.
 *
 *   guide DATA_DIR
 */
#include <rivulet/rivulet.h>

#include <stdio.h>
#include <stdlib.h>

static void fail(const char *what, const char *errstr) {
    fprintf(stderr, "guide: %s: %s\n", what, errstr);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: guide DATA_DIR\n");
        return 2;
    }
    const char *data_dir = argv[1];
    char bootstrap[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);

    /* GUIDE 2. The data folder */
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) != RV_CONF_OK)
        fail("bootstrap.servers", errstr);
    rv_admin_t *admin = rv_admin_new(conf, errstr, sizeof errstr); /* takes conf on success */
    if (!admin)
        fail("admin", errstr);

    /* GUIDE 3. Topics */
    const char *names[] = {"cleanup.policy", "segment.bytes"};
    const char *values[] = {"compact", "1048576"};
    if (rv_admin_create_topic(admin, "orders", 3, 1, names, values, 2, errstr, sizeof errstr))
        fail("create topic", errstr);

    /* GUIDE 4. Writing and reading records */
    rv_broker_t *broker;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr))
        fail("open", errstr);

    rv_batch_builder_t *b = rv_batch_builder_new();
    rv_batch_builder_add(b, "order-1", 7, "placed", 6, -1 /* now */);
    rv_batch_builder_add(b, "order-2", 7, "placed", 6, -1);
    const void *data;
    size_t len;
    int64_t base;
    rv_batch_builder_finish(b, &data, &len);
    if (rv_broker_produce(broker, "orders", 0, data, len, -1 /* acks=all */, &base, errstr,
                          sizeof errstr))
        fail("produce", errstr);

    void *out;
    size_t out_len;
    int64_t hw;
    if (rv_broker_fetch(broker, "orders", 0, 0, 1 << 20, &out, &out_len, &hw, errstr,
                        sizeof errstr))
        fail("fetch", errstr);
    rv_batch_reader_t *r = rv_batch_reader_new(out, out_len);
    while (rv_batch_reader_next(r) == 1) {
        int32_t klen, vlen;
        const char *k = rv_batch_reader_key(r, &klen), *v = rv_batch_reader_value(r, &vlen);
        printf("%lld %.*s=%.*s\n", (long long)rv_batch_reader_offset(r), klen, k, vlen, v);
    }
    rv_batch_reader_destroy(r);
    rv_free(out);

    if (hw != 2)
        fail("fetch", "expected a high watermark of 2");
    rv_batch_builder_destroy(b);
    rv_broker_close(broker);
    rv_admin_destroy(admin);
    printf("guide: ok\n");
    return 0;
}
