/* examples/dsl_session_count.c: session windows with the DSL
 * (docs/WINDOWS.md), as Kafka Streams' SessionWindows examples.
 *
 * Clicks arrive on user-clicks keyed by user. Each user's clicks are
 * grouped into sessions: clicks less than 5 minutes apart belong to one
 * session, and a click that falls between two sessions merges them. The
 * count per session is printed as the aggregation emits it:
 *   - on every update (the default), with the sessions a merge removed
 *     printed as "removed" (the KTable's tombstones);
 *   - on window close, one final count per session once stream time has
 *     passed the session's end + gap + grace.
 * A click whose session would already be closed is dropped, and the
 * library logs why ("Skipping record for expired window. ..."); the
 * example prints that line too. Everything runs through the test driver,
 * so the output is always the same. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivulet/rivulet.h"

#define MINUTE (60 * 1000LL)

/* What the example prints, collected so it comes out in one piece. */
static char g_out[4096];

static void out_line(const char *line) {
    strncat(g_out, line, sizeof g_out - strlen(g_out) - 1);
}

/* "HH:MM" of a timestamp in ms since midnight. */
static const char *hhmm(int64_t ms, char *buf, size_t size) {
    snprintf(buf, size, "%02d:%02d", (int)(ms / (60 * MINUTE)), (int)(ms / MINUTE % 60));
    return buf;
}

/* Prints one session of the table: "<user> <start>..<end> count=<n>", or
 * "removed" for a session a merge replaced. */
static rv_err_t print_session(const void *key, int32_t key_len, const void *value,
                              int32_t value_len, void *opaque) {
    (void)key_len, (void)value_len, (void)opaque;
    const rv_windowed_t *session = key;
    char line[128], from[8], to[8];
    int n = snprintf(line, sizeof line, "%.*s %s..%s ", (int)session->key_len,
                     (const char *)session->key, hhmm(session->start, from, sizeof from),
                     hhmm(session->end, to, sizeof to));
    if (value)
        snprintf(line + n, sizeof line - (size_t)n, "count=%" PRId64 "\n", *(const int64_t *)value);
    else
        snprintf(line + n, sizeof line - (size_t)n, "removed\n");
    out_line(line);
    return RV_ERR_NO_ERROR;
}

/* The dropped click's log line, printed with the rest. */
static void on_log(int level, const char *fac, const char *msg, void *opaque) {
    (void)level, (void)fac, (void)opaque;
    if (strstr(msg, "expired window")) {
        out_line(msg);
        out_line("\n");
    }
}

static rv_topology_t *session_count_topology(rv_emit_strategy_t emit, char *errstr,
                                             size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    const char *topics[] = {"user-clicks"};
    rv_kstream_t *clicks = rv_streams_builder_stream(builder, topics, 1, NULL);

    /* Sessions end after 5 minutes without a click; a click may arrive up
     * to 3 minutes late. */
    rv_session_windows_t windows = RV_SESSION_WINDOWS_INIT(5 * MINUTE, 3 * MINUTE);
    rv_session_windowed_kstream_t *sessions =
        rv_kgrouped_stream_windowed_by_session(rv_kstream_group_by_key(clicks, NULL), &windows);
    rv_session_windowed_kstream_emit_strategy(sessions, emit);

    rv_materialized_t materialized = RV_MATERIALIZED_INIT;
    materialized.store_name = "click-sessions";
    /* Keep sessions for an hour: the default retention (gap + grace)
     * forgets a session about when it closes, so a late click could no
     * longer find it to merge into. */
    materialized.retention_ms = 60 * MINUTE;
    rv_ktable_t *counts = rv_session_windowed_kstream_count(sessions, NULL, &materialized);
    rv_kstream_foreach(rv_ktable_to_stream(counts, NULL), print_session, NULL, NULL);

    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* The clicks: user and minute. */
static const struct {
    const char *user;
    int64_t minute;
} g_clicks[] = {
    {"alice", 0},  /* alice's first session */
    {"alice", 2},  /* 2 minutes later: the same session */
    {"bob", 3},    /* bob's first session */
    {"alice", 10}, /* 8 minutes after 00:02: a new session */
    {"alice", 6},  /* late, within 5 minutes of both: merges them */
    {"bob", 20},   /* stream time 00:20: sessions ending before 00:12 close */
    {"bob", 7},    /* would extend bob's closed 00:03 session: dropped */
};

static int run(rv_emit_strategy_t emit) {
    char errstr[512];
    rv_topology_t *topology = session_count_topology(emit, errstr, sizeof errstr);
    rv_conf_t *conf = rv_conf_new();
    if (!topology || !conf ||
        rv_conf_set(conf, "application.id", "session-count", errstr, sizeof errstr) ||
        rv_conf_set(conf, "default.key.serde", "string", errstr, sizeof errstr) ||
        rv_conf_set(conf, "default.value.serde", "string", errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_session_count: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return -1;
    }
    rv_test_driver_t *d = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!d) {
        fprintf(stderr, "dsl_session_count: %s\n", errstr);
        rv_conf_destroy(conf);
        rv_topology_destroy(topology);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof g_clicks / sizeof g_clicks[0] && !rc; i++) {
        const char *user = g_clicks[i].user;
        if (rv_test_driver_pipe_input(d, "user-clicks", user, (int32_t)strlen(user), "click", 5,
                                      g_clicks[i].minute * MINUTE, NULL, 0)) {
            fprintf(stderr, "dsl_session_count: %s\n", rv_test_driver_last_error(d));
            rc = -1;
        }
    }
    rv_test_driver_destroy(d);
    rv_topology_destroy(topology);
    return rc;
}

int main(void) {
    rv_log_set_callback(on_log, NULL);
    out_line("on window update:\n");
    int rc = run(RV_EMIT_ON_WINDOW_UPDATE);
    out_line("on window close:\n");
    if (!rc)
        rc = run(RV_EMIT_ON_WINDOW_CLOSE);
    rv_log_set_callback(NULL, NULL);
    printf("%s", g_out);
    const char *skip = "Skipping record for expired window. topic=[user-clicks] partition=[0] "
                       "offset=[6] timestamp=[420000] window=[180000,420000] "
                       "expiration=[720000] streamTime=[1200000]\n";
    char want[2048];
    snprintf(want, sizeof want,
             "on window update:\n"
             "alice 00:00..00:00 count=1\n"
             "alice 00:00..00:00 removed\n"
             "alice 00:00..00:02 count=2\n"
             "bob 00:03..00:03 count=1\n"
             "alice 00:10..00:10 count=1\n"
             "alice 00:00..00:02 removed\n"
             "alice 00:10..00:10 removed\n"
             "alice 00:00..00:10 count=4\n"
             "bob 00:20..00:20 count=1\n"
             "%s"
             "on window close:\n"
             "bob 00:03..00:03 count=1\n"
             "alice 00:00..00:10 count=4\n"
             "%s",
             skip, skip);
    if (rc || strcmp(g_out, want)) {
        fprintf(stderr, "dsl_session_count: unexpected output\n");
        return 1;
    }
    printf("dsl session count: ok\n");
    return 0;
}
