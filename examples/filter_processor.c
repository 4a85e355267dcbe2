/* examples/filter_processor.c: the seed's filter processor, run through the
 * test driver (docs/PROCESSOR_API.md).
 *
 * The topology keeps the values longer than 5 characters of topic
 * stream_log and writes them to stream_log_filter: a source, one processor
 * that forwards what it keeps through its context, and a sink. The test
 * driver runs it in this thread with no broker; the program pipes four
 * records in, prints what reached stream_log_filter and checks it.
 *
 * Running the same topology against a broker (embedded:DIR or host:port)
 * needs the streams application runtime (rv_streams_*), which builds on the
 * same tasks; this program will grow a "--bootstrap-servers" mode then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

static rv_err_t filter_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                               void *state) {
    (void)state;
    /* The string deserializer gave a NUL-terminated copy and its length. */
    if (record->value && record->value_len > 5)
        return rv_processor_context_forward(ctx, record);
    return RV_ERR_NO_ERROR;
}

static rv_err_t filter_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = filter_process;
    return RV_ERR_NO_ERROR;
}

static int build(rv_topology_t *topology) {
    char errstr[512];
    rv_processor_supplier_t filter = RV_PROCESSOR_SUPPLIER_INIT;
    filter.get = filter_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_string();
    out.value_serializer = rv_serde_string();
    const char *topics[] = {"stream_log"};
    const char *source[] = {"Source"};
    const char *process[] = {"Process"};
    if (rv_topology_add_source(topology, "Source", topics, 1, &in, errstr, sizeof errstr) ||
        rv_topology_add_processor(topology, "Process", &filter, source, 1, errstr, sizeof errstr) ||
        rv_topology_add_sink(topology, "Sink", "stream_log_filter", &out, process, 1, errstr,
                             sizeof errstr)) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        return -1;
    }
    return 0;
}

int main(void) {
    rv_topology_t *topology = rv_topology_new();
    if (!topology || build(topology)) {
        rv_topology_destroy(topology);
        return 1;
    }

    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "filter-example", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "filter_processor: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return 1;
    }

    const char *values[] = {"short", "a longer line", "tiny", "another long one"};
    for (int i = 0; i < 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        if (rv_test_driver_pipe_input(driver, "stream_log", key, (int32_t)strlen(key), values[i],
                                      (int32_t)strlen(values[i]), 1000 + i, NULL, 0)) {
            fprintf(stderr, "filter_processor: %s\n", rv_test_driver_last_error(driver));
            return 1;
        }
    }

    /* What reached the output topic, in order. */
    char got[512] = "";
    rv_test_record_t *rec;
    while (rv_test_driver_read_output(&rec, driver, "stream_log_filter") == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const char *v = rv_test_record_value(rec, &vlen);
        char line[128];
        snprintf(line, sizeof line, "%.*s=%.*s@%lld\n", (int)klen, k, (int)vlen, v,
                 (long long)rv_test_record_timestamp(rec));
        strncat(got, line, sizeof got - strlen(got) - 1);
        rv_test_record_destroy(rec);
    }
    printf("%s", got);

    rv_test_driver_destroy(driver);
    rv_topology_destroy(topology);
    if (strcmp(got, "k1=a longer line@1001\nk3=another long one@1003\n")) {
        fprintf(stderr, "filter_processor: unexpected output\n");
        return 1;
    }
    printf("filter processor: ok\n");
    return 0;
}
