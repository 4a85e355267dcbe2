/* examples/dsl_windowed_count.c: windowed counts with the DSL
 * (docs/WINDOWS.md, "Time windows").
 *
 * Page views per user, keyed by user, counted in time windows through the
 * test driver:
 *  - tumbling windows of 10 s with 2 s of grace, emitting every update of
 *    a window (Kafka's default, emitStrategy(onWindowUpdate));
 *  - hopping windows of 10 s advancing by 5 s with 2 s of grace, emitting
 *    only the final count of each window once it closes
 *    (emitStrategy(onWindowClose)).
 * The same six views go to both. One of them (alice at 4 s) arrives when
 * stream time is already 16 s: its window [0 s, 10 s) closed at 12 s, so
 * it is dropped, and the library logs it (the example prints its log
 * lines on standard output to show them). Each result is printed as
 * Kafka's Windowed.toString(), "[key@start/end]", with the count and the
 * result's timestamp (the newest view in the window). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rivulet/rivulet.h"

/* Prints one windowed count: the key is an rv_windowed_t, the value the
 * int64 count. */
static rv_err_t print_window(const void *key, int32_t key_len, const void *value, int32_t value_len,
                             void *opaque) {
    (void)key_len, (void)value_len, (void)opaque;
    const rv_windowed_t *w = key;
    printf("[%.*s@%" PRId64 "/%" PRId64 "]=%" PRId64 "\n", (int)w->key_len, (const char *)w->key,
           w->start, w->end, *(const int64_t *)value);
    return RV_ERR_NO_ERROR;
}

static void print_log(int level, const char *fac, const char *msg, void *opaque) {
    (void)level, (void)fac, (void)opaque;
    printf("log: %s\n", msg);
}

/* Tumbling windows of 10 s with 2 s of grace; every update is emitted. */
static rv_topology_t *tumbling_count(char *errstr, size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    const char *topics[] = {"pageviews"};
    rv_consumed_t consumed = RV_CONSUMED_INIT;
    consumed.key_serde = rv_serde_string();
    consumed.value_serde = rv_serde_string();
    rv_kstream_t *views = rv_streams_builder_stream(builder, topics, 1, &consumed);

    rv_time_windows_t windows = RV_TIME_WINDOWS_INIT(10000, 2000);
    rv_time_windowed_kstream_t *windowed =
        rv_kgrouped_stream_windowed_by(rv_kstream_group_by_key(views, NULL), &windows);
    rv_ktable_t *counts = rv_time_windowed_kstream_count(windowed, NULL, NULL);
    rv_kstream_foreach(rv_ktable_to_stream(counts, NULL), print_window, NULL, NULL);

    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* Hopping windows of 10 s every 5 s with 2 s of grace; one final count
 * per window, once it closes. */
static rv_topology_t *hopping_final_count(char *errstr, size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    const char *topics[] = {"pageviews"};
    rv_consumed_t consumed = RV_CONSUMED_INIT;
    consumed.key_serde = rv_serde_string();
    consumed.value_serde = rv_serde_string();
    rv_kstream_t *views = rv_streams_builder_stream(builder, topics, 1, &consumed);

    rv_time_windows_t windows = RV_TIME_WINDOWS_INIT(10000, 2000);
    windows.advance_ms = 5000;
    rv_time_windowed_kstream_t *windowed =
        rv_kgrouped_stream_windowed_by(rv_kstream_group_by_key(views, NULL), &windows);
    rv_time_windowed_kstream_emit_strategy(windowed, RV_EMIT_ON_WINDOW_CLOSE);
    rv_materialized_t store = RV_MATERIALIZED_INIT;
    store.store_name = "views-per-window";
    rv_ktable_t *counts = rv_time_windowed_kstream_count(windowed, NULL, &store);
    rv_kstream_foreach(rv_ktable_to_stream(counts, NULL), print_window, NULL, NULL);

    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* The views: user and timestamp (ms). alice at 4000 comes late. */
static const struct {
    const char *user;
    int64_t ts;
} views[] = {{"alice", 1000}, {"bob", 3000},   {"alice", 7000}, {"alice", 12000},
             {"bob", 16000},  {"alice", 4000}, {"carol", 30000}};

static int run(const char *title, rv_topology_t *topology) {
    char errstr[512];
    printf("%s:\n", title);
    rv_test_driver_t *driver = rv_test_driver_new(topology, NULL, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        printf("view %s@%" PRId64 "\n", views[i].user, views[i].ts);
        if (rv_test_driver_pipe_input(driver, "pageviews", views[i].user,
                                      (int32_t)strlen(views[i].user), "/home", 5, views[i].ts, NULL,
                                      0)) {
            fprintf(stderr, "%s\n", rv_test_driver_last_error(driver));
            rv_test_driver_destroy(driver);
            return 1;
        }
    }
    rv_test_driver_destroy(driver);
    return 0;
}

int main(void) {
    char errstr[1024];
    rv_topology_t *tumbling = tumbling_count(errstr, sizeof errstr);
    rv_topology_t *hopping = tumbling ? hopping_final_count(errstr, sizeof errstr) : NULL;
    if (!tumbling || !hopping) {
        fprintf(stderr, "%s\n", errstr);
        rv_topology_destroy(tumbling);
        return 1;
    }
    rv_log_set_level(RV_LOG_WARNING);
    rv_log_set_callback(print_log, NULL);
    int rc = run("tumbling, every update", tumbling);
    if (!rc)
        rc = run("hopping, final results", hopping);
    rv_log_set_callback(NULL, NULL);
    rv_topology_destroy(tumbling);
    rv_topology_destroy(hopping);
    if (!rc)
        printf("dsl windowed count: ok\n");
    return rc;
}
