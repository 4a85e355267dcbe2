/* examples/dsl_windowed_suppress.c: count the page views of each user per
 * 10 minutes, and publish one final count per user and window, with
 * suppress(until_window_closes) (docs/WINDOWS.md).
 *
 * Page views arrive on "page-views" keyed by user. They are grouped by
 * user, counted in tumbling 10-minute windows that accept late records for
 * 2 minutes (grace), and the counts are held back by suppress() until
 * their window closes: stream time >= window end + grace. Then exactly one
 * record per user and window goes to "views-per-10min", its key written
 * as "user@HH:MM/HH:MM" (window start and end, UTC). A record later than
 * the grace is dropped ("Skipping record for expired window").
 *
 * The topology first runs through the test driver, which prints every
 * update of the windowed count and then the final results; given a folder
 * (`dsl_windowed_suppress DIR`) the same topology runs as an app on an
 * embedded broker in DIR, which prints the final results it published.
 * Both must match the expected output exactly. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rivulet/rivulet.h"

/* 2024-01-01T10:00:00Z: the input's timeline starts here. */
#define T0 1704103200000LL
#define AT(min, sec) (T0 + ((min)*60 + (sec)) * 1000LL)

/* The page views: (user, page, timestamp), in the order they arrive. */
static const struct {
    const char *user, *page;
    int64_t ts;
} g_views[] = {
    {"alice", "/home", AT(1, 0)},  {"bob", "/home", AT(3, 0)},  {"alice", "/cart", AT(7, 0)},
    {"alice", "/pay", AT(9, 30)},  {"bob", "/news", AT(11, 0)}, /* stream time 10:11: [10:00,10:10)
                                                                   still open */
    {"alice", "/faq", AT(9, 59)},  /* late, but within the grace: counted */
    {"alice", "/home", AT(12, 0)}, /* 10:12 = 10:10 + grace: [10:00,10:10) closes */
    {"alice", "/cart", AT(5, 0)},  /* too late: its window closed, dropped */
    {"bob", "/home", AT(25, 0)},   /* 10:25: [10:10,10:20) closes */
};
#define VIEW_CNT (sizeof g_views / sizeof g_views[0])

static const char *g_want_final = "alice@10:00/10:10=4 (at 10:09:59)\n"
                                  "bob@10:00/10:10=1 (at 10:03:00)\n"
                                  "alice@10:10/10:20=1 (at 10:12:00)\n"
                                  "bob@10:10/10:20=1 (at 10:11:00)\n";

/* HH:MM (or HH:MM:SS) of a timestamp, UTC. */
static void clock_of(char *out, size_t size, int64_t ts, int seconds) {
    time_t s = (time_t)(ts / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, size, seconds ? "%H:%M:%S" : "%H:%M", &tm);
}

/* The windowed key as "user@HH:MM/HH:MM"; the count passes unchanged. */
static rv_err_t window_key_to_text(rv_out_t *out, const void *key, int32_t key_len,
                                   const void *value, int32_t value_len, void *opaque) {
    (void)key_len, (void)opaque;
    const rv_windowed_t *w = key;
    char start[16], end[16], text[256];
    clock_of(start, sizeof start, w->start, 0);
    clock_of(end, sizeof end, w->end, 0);
    snprintf(text, sizeof text, "%.*s@%s/%s", (int)w->key_len, (const char *)w->key, start, end);
    rv_err_t err = rv_out_key(out, text, -1);
    return err ? err : rv_out_value(out, value, value_len);
}

static rv_topology_t *views_topology(char *errstr, size_t errstr_size) {
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    const char *topics[] = {"page-views"};
    rv_kstream_t *views = rv_streams_builder_stream(builder, topics, 1, NULL);
    rv_kgrouped_stream_t *by_user = rv_kstream_group_by_key(views, NULL);

    /* Tumbling 10-minute windows; records up to 2 minutes late still count. */
    rv_time_windows_t windows = RV_TIME_WINDOWS_INIT(10 * 60 * 1000, 2 * 60 * 1000);
    rv_ktable_t *counts = rv_time_windowed_kstream_count(
        rv_kgrouped_stream_windowed_by(by_user, &windows), NULL, NULL);

    /* One final count per user and window, once the window has closed. */
    rv_suppressed_t until_closed = RV_SUPPRESSED_INIT;
    until_closed.kind = RV_SUPPRESS_UNTIL_WINDOW_CLOSES;
    rv_ktable_t *final_counts = rv_ktable_suppress(counts, &until_closed);

    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.key_serde = rv_serde_string();
    produced.value_serde = rv_serde_int64();
    rv_kstream_t *out = rv_ktable_to_stream(final_counts, NULL);
    rv_kstream_to(rv_kstream_map(out, window_key_to_text, NULL, NULL), "views-per-10min",
                  &produced);

    /* Every update, for comparison (not suppressed). */
    rv_kstream_t *updates = rv_ktable_to_stream(counts, NULL);
    rv_kstream_to(rv_kstream_map(updates, window_key_to_text, NULL, NULL), "view-count-updates",
                  &produced);

    rv_topology_t *topology = NULL;
    rv_streams_builder_build(&topology, builder, errstr, errstr_size);
    rv_streams_builder_destroy(builder);
    return topology;
}

static rv_conf_t *app_conf(const char *bootstrap, const char *state_dir) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "views-per-10min", errstr, sizeof errstr) ||
        rv_conf_set(conf, "default.key.serde", "string", errstr, sizeof errstr) ||
        rv_conf_set(conf, "default.value.serde", "string", errstr, sizeof errstr) ||
        (bootstrap && rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr)) ||
        (state_dir && rv_conf_set(conf, "state.dir", state_dir, errstr, sizeof errstr)) ||
        (bootstrap && rv_conf_set(conf, "commit.interval.ms", "100", errstr, sizeof errstr))) {
        fprintf(stderr, "dsl_windowed_suppress: %s\n", errstr);
        rv_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* One output record as "key=count (at HH:MM:SS)\n", appended to got. */
static void append_line(char *got, size_t got_size, const void *k, int32_t klen, const void *v,
                        int32_t vlen, int64_t ts) {
    int64_t n = -1;
    if (v)
        rv_serde_int64_read(&n, v, vlen);
    char at[16], line[256];
    clock_of(at, sizeof at, ts, 1);
    snprintf(line, sizeof line, "%.*s=%" PRId64 " (at %s)\n", (int)klen, (const char *)k, n, at);
    strncat(got, line, got_size - strlen(got) - 1);
}

static void read_driver(rv_test_driver_t *d, const char *topic, char *got, size_t got_size) {
    rv_test_record_t *rec;
    got[0] = '\0';
    while (rv_test_driver_read_output(&rec, d, topic) == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const void *k = rv_test_record_key(rec, &klen);
        const void *v = rv_test_record_value(rec, &vlen);
        append_line(got, got_size, k, klen, v, vlen, rv_test_record_timestamp(rec));
        rv_test_record_destroy(rec);
    }
}

static int views_driver(rv_topology_t *topology) {
    char errstr[512];
    rv_conf_t *conf = app_conf(NULL, NULL);
    rv_test_driver_t *d =
        conf ? rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr) : NULL;
    if (!d) {
        fprintf(stderr, "dsl_windowed_suppress: %s\n", conf ? errstr : "no configuration");
        rv_conf_destroy(conf);
        return -1;
    }
    for (size_t i = 0; i < VIEW_CNT; i++)
        if (rv_test_driver_pipe_input(d, "page-views", g_views[i].user,
                                      (int32_t)strlen(g_views[i].user), g_views[i].page,
                                      (int32_t)strlen(g_views[i].page), g_views[i].ts, NULL, 0)) {
            fprintf(stderr, "dsl_windowed_suppress: %s\n", rv_test_driver_last_error(d));
            rv_test_driver_destroy(d);
            return -1;
        }
    char updates[2048], final[1024];
    read_driver(d, "view-count-updates", updates, sizeof updates);
    read_driver(d, "views-per-10min", final, sizeof final);
    rv_test_driver_destroy(d);
    printf("test driver, every update:\n%stest driver, final results:\n%s", updates, final);
    if (strcmp(final, g_want_final)) {
        fprintf(stderr, "dsl_windowed_suppress: unexpected final results from the test driver\n");
        return -1;
    }
    return 0;
}

/* Reads `topic` from the start until `want` came (or 20 s passed). */
static void read_final(const char *bootstrap, const char *topic, const char *want, char *got,
                       size_t got_size) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_consumer_t *consumer = NULL;
    got[0] = '\0';
    if (!conf || rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        !(consumer = rv_consumer_new(conf, errstr, sizeof errstr))) {
        rv_conf_destroy(conf);
        return;
    }
    rv_topic_partition_list_t *parts = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(parts, topic, 0),
                                  RV_OFFSET_BEGINNING);
    rv_consumer_assign(consumer, parts);
    rv_topic_partition_list_destroy(parts);
    for (int polls = 0; polls < 200 && strlen(got) < strlen(want); polls++) {
        rv_records_t *records = NULL;
        if (rv_consumer_poll(consumer, 100, &records))
            continue;
        for (size_t i = 0; i < rv_records_count(records); i++) {
            const rv_record_t *r = rv_records_get(records, i);
            int32_t klen, vlen;
            const void *k = rv_record_key(r, &klen);
            const void *v = rv_record_value(r, &vlen);
            append_line(got, got_size, k, klen, v, vlen, rv_record_timestamp(r));
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
}

/* The same topology as a running app on an embedded broker in data_dir. */
static int views_app(const char *data_dir, rv_topology_t *topology) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_windowed_suppress: %s\n", errstr);
        return -1;
    }
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    /* The timeline is in the past: keep the records whatever their age. */
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    int rc = -1;
    if (!admin || !producer ||
        rv_admin_create_topic(admin, "page-views", 1, -1, names, values, 1, errstr,
                              sizeof errstr) ||
        rv_admin_create_topic(admin, "views-per-10min", 1, -1, names, values, 1, errstr,
                              sizeof errstr) ||
        rv_admin_create_topic(admin, "view-count-updates", 1, -1, names, values, 1, errstr,
                              sizeof errstr)) {
        fprintf(stderr, "dsl_windowed_suppress: %s\n", errstr);
        goto out;
    }
    for (size_t i = 0; i < VIEW_CNT; i++) {
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "page-views";
        r.key = g_views[i].user;
        r.key_len = (int32_t)strlen(g_views[i].user);
        r.value = g_views[i].page;
        r.value_len = (int32_t)strlen(g_views[i].page);
        r.timestamp = g_views[i].ts;
        if (rv_producer_send(producer, &r, NULL, NULL, errstr, sizeof errstr)) {
            fprintf(stderr, "dsl_windowed_suppress: %s\n", errstr);
            goto out;
        }
    }
    rv_producer_flush(producer, -1);
    rv_conf_t *app_config = app_conf(bootstrap, state_dir);
    rv_streams_t *app =
        app_config ? rv_streams_new(topology, app_config, errstr, sizeof errstr) : NULL;
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_windowed_suppress: %s\n", errstr);
        rv_streams_destroy(app);
        goto out;
    }
    char got[1024];
    read_final(bootstrap, "views-per-10min", g_want_final, got, sizeof got);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    printf("broker, final results:\n%s", got);
    if (strcmp(got, g_want_final))
        fprintf(stderr, "dsl_windowed_suppress: unexpected final results from the app\n");
    else
        rc = 0;
out:
    rv_producer_destroy(producer);
    rv_admin_destroy(admin);
    rv_broker_close(broker);
    return rc;
}

int main(int argc, char **argv) {
    char errstr[1024];
    rv_topology_t *topology = views_topology(errstr, sizeof errstr);
    if (!topology) {
        fprintf(stderr, "dsl_windowed_suppress: %s\n", errstr);
        return 1;
    }
    int rc = views_driver(topology);
    if (!rc && argc > 1)
        rc = views_app(argv[1], topology);
    rv_topology_destroy(topology);
    if (rc)
        return 1;
    printf("dsl windowed suppress: ok\n");
    return 0;
}
