/* examples/topology_example.c: the filter topology of docs/PROCESSOR_API.md.
 *
 * Builds the topology that keeps the values longer than 5 characters of
 * topic stream_log and writes them to stream_log_filter - a source, one
 * processor and a sink - checks it, and prints its description in Kafka
 * Streams' format. It then runs the processor's callbacks by hand on a few
 * values, the way a task runs them, to show a processor's life cycle:
 * supplier get(), process() per record, close(). Running the topology on a
 * broker is the job of the streams runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

/* The user state of one filter instance (one per task). */
typedef struct filter_state_s {
    long seen, kept;
} filter_state_t;

static rv_err_t filter_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                               void *state) {
    filter_state_t *st = state;
    (void)ctx;
    st->seen++;
    /* The source's string deserializer gave a NUL-terminated copy and its
     * length. A kept record would be forwarded through ctx. */
    if (record->value && record->value_len > 5)
        st->kept++;
    return 0;
}

static void filter_close(void *state) {
    free(state);
}

/* The supplier: a fresh instance with its own state for every task. */
static rv_err_t filter_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = filter_process;
    out->close = filter_close;
    out->state = calloc(1, sizeof(filter_state_t));
    return out->state ? RV_ERR_NO_ERROR : RV_ERR__NOMEM;
}

static int build_filter_topology(rv_topology_t *topology) {
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
                             sizeof errstr) ||
        rv_topology_build(topology, errstr, sizeof errstr)) {
        fprintf(stderr, "topology_example: %s\n", errstr);
        return -1;
    }

    char *description = rv_topology_describe(topology);
    if (!description)
        return -1;
    printf("%s", description);
    free(description);
    return 0;
}

/* Runs one processor instance over a few values, as a task would. */
static int run_filter_by_hand(void) {
    const char *values[] = {"short", "a longer line", "tiny", "another long one"};
    rv_processor_t proc = RV_PROCESSOR_INIT;
    if (filter_get(&proc, NULL) != RV_ERR_NO_ERROR)
        return -1;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        rv_processor_record_t r = {
            NULL, -1, values[i], (int32_t)strlen(values[i]), 1700000000000 + (int64_t)i, NULL, 0};
        if (proc.process(NULL, &r, proc.state) != RV_ERR_NO_ERROR)
            return -1;
    }
    filter_state_t *st = proc.state;
    printf("filter kept %ld of %ld values\n", st->kept, st->seen);
    proc.close(proc.state);
    return 0;
}

int main(void) {
    rv_topology_t *topology = rv_topology_new();
    if (!topology)
        return 1;
    int rc = build_filter_topology(topology);
    rv_topology_destroy(topology);
    if (rc == 0)
        rc = run_filter_by_hand();
    if (rc == 0)
        printf("topology example: ok\n");
    return rc == 0 ? 0 : 1;
}
