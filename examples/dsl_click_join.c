/* examples/dsl_click_join.c: a stream-stream join written with the Streams
 * DSL (docs/WINDOWS.md). Ad impressions and ad clicks, both keyed by
 * the ad id, are joined when the click comes at most 5 s before or after
 * the impression (a late record may still arrive 1 s after that):
 *
 *   clicked_impressions   impressions join clicks: "<impression> clicked
 *                         <click>" for every pair inside the window
 *   impression_outcomes   impressions left-join clicks: the same pairs, and
 *                         "<impression> not clicked" for an impression no
 *                         click matched, once its window has closed
 *
 *   dsl_click_join [DIR]
 *
 * The program runs the topology through the test driver, and given a
 * folder, again as an app on an embedded broker in DIR; both runs print
 * what reached the two topics, with timestamps relative to the first
 * impression. Both streams have one partition here: an unmatched
 * impression comes out when the stream time of its task passes the end of
 * its window, and a task only sees the records of its own partitions. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rivulet/rivulet.h"

/* The joiner: an impression and the click that matched it, or NULL when
 * the left join found none. */
static rv_err_t describe_click(rv_out_t *out, const void *ad, int32_t ad_len,
                               const void *impression, int32_t impression_len, const void *click,
                               int32_t click_len, void *opaque) {
    (void)ad, (void)ad_len, (void)impression_len, (void)click_len, (void)opaque;
    char text[256];
    if (click)
        snprintf(text, sizeof text, "%s clicked %s", (const char *)impression, (const char *)click);
    else
        snprintf(text, sizeof text, "%s not clicked", (const char *)impression);
    return rv_out_value(out, text, -1);
}

static rv_topology_t *build_click_join(void) {
    char errstr[512];
    rv_streams_builder_t *builder = rv_streams_builder_new();
    if (!builder)
        return NULL;
    rv_consumed_t strings = RV_CONSUMED_INIT;
    strings.key_serde = rv_serde_string();
    strings.value_serde = rv_serde_string();
    const char *impression_topics[] = {"impressions"}, *click_topics[] = {"clicks"};
    rv_kstream_t *impressions = rv_streams_builder_stream(builder, impression_topics, 1, &strings);
    rv_kstream_t *clicks = rv_streams_builder_stream(builder, click_topics, 1, &strings);

    /* A click within 5 s of the impression, either way; 1 s of grace. */
    rv_join_windows_t window = RV_JOIN_WINDOWS_INIT(5000, 1000);
    rv_stream_joined_t joined = RV_STREAM_JOINED_INIT;
    joined.key_serde = rv_serde_string();
    joined.value_serde = rv_serde_string();
    joined.other_value_serde = rv_serde_string();
    rv_kstream_t *clicked =
        rv_kstream_join(impressions, clicks, describe_click, NULL, &window, &joined);
    rv_kstream_t *outcomes =
        rv_kstream_left_join(impressions, clicks, describe_click, NULL, &window, &joined);

    rv_produced_t produced = RV_PRODUCED_INIT;
    produced.value_serde = rv_serde_string(); /* a join's values have no serde of their own */
    rv_kstream_to(clicked, "clicked_impressions", &produced);
    rv_kstream_to(outcomes, "impression_outcomes", &produced);
    rv_topology_t *topology = NULL;
    if (rv_streams_builder_build(&topology, builder, errstr, sizeof errstr))
        fprintf(stderr, "dsl_click_join: %s\n", errstr);
    rv_streams_builder_destroy(builder);
    return topology;
}

/* The input, at milliseconds after the first impression. The phone banner
 * is never clicked; carol's click comes 9 s after the shoes banner, too
 * late to match it, and its timestamp moves stream time past the phone
 * banner's window (1000 + 5000 + 1000 grace). */
typedef struct event_s {
    const char *topic, *ad, *text;
    int64_t at;
} event_t;

static const event_t EVENTS[] = {
    {"impressions", "ad-1", "shoes banner", 0},   {"impressions", "ad-2", "phone banner", 1000},
    {"impressions", "ad-3", "tent banner", 2000}, {"clicks", "ad-1", "click from alice", 3000},
    {"clicks", "ad-3", "click from bob", 4000},   {"clicks", "ad-1", "click from carol", 9000},
};
#define EVENT_CNT (sizeof EVENTS / sizeof EVENTS[0])

static const char *const EXPECTED = "clicked_impressions:\n"
                                    "ad-1=shoes banner clicked click from alice@+3000\n"
                                    "ad-3=tent banner clicked click from bob@+4000\n"
                                    "impression_outcomes:\n"
                                    "ad-1=shoes banner clicked click from alice@+3000\n"
                                    "ad-3=tent banner clicked click from bob@+4000\n"
                                    "ad-2=phone banner not clicked@+1000\n";

static void add_line(char *got, size_t got_size, const char *k, int32_t klen, const char *v,
                     int32_t vlen, int64_t ts, int64_t t0) {
    char line[256];
    snprintf(line, sizeof line, "%.*s=%.*s@+%" PRId64 "\n", (int)klen, k, v ? (int)vlen : 4,
             v ? v : "null", ts - t0);
    strncat(got, line, got_size - strlen(got) - 1);
}

/* ---- The test driver ---- */

static void drain(rv_test_driver_t *driver, const char *topic, int64_t t0, char *got,
                  size_t got_size) {
    rv_test_record_t *rec;
    strncat(got, topic, got_size - strlen(got) - 1);
    strncat(got, ":\n", got_size - strlen(got) - 1);
    while (rv_test_driver_read_output(&rec, driver, topic) == RV_ERR_NO_ERROR) {
        int32_t klen, vlen;
        const char *k = rv_test_record_key(rec, &klen);
        const char *v = rv_test_record_value(rec, &vlen);
        add_line(got, got_size, k, klen, v, vlen, rv_test_record_timestamp(rec), t0);
        rv_test_record_destroy(rec);
    }
}

static int run_test_driver(rv_topology_t *topology) {
    char errstr[512];
    const int64_t t0 = 1767225600000; /* 2026-01-01T00:00:00Z */
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "application.id", "click-join", errstr, sizeof errstr)) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_test_driver_t *driver = rv_test_driver_new(topology, conf, 0, errstr, sizeof errstr);
    if (!driver) {
        fprintf(stderr, "dsl_click_join: %s\n", errstr);
        rv_conf_destroy(conf);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < EVENT_CNT && !rc; i++) {
        const event_t *e = &EVENTS[i];
        if (rv_test_driver_pipe_input(driver, e->topic, e->ad, (int32_t)strlen(e->ad), e->text,
                                      (int32_t)strlen(e->text), t0 + e->at, NULL, 0)) {
            fprintf(stderr, "dsl_click_join: %s\n", rv_test_driver_last_error(driver));
            rc = -1;
        }
    }
    char got[2048] = "";
    drain(driver, "clicked_impressions", t0, got, sizeof got);
    drain(driver, "impression_outcomes", t0, got, sizeof got);
    rv_test_driver_destroy(driver);
    printf("test driver:\n%s", got);
    if (!rc && strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_click_join: unexpected output\n");
        rc = -1;
    }
    return rc;
}

/* ---- On an embedded broker ---- */

/* Reads `topic` from the beginning until `want` records came (or 15 s
 * passed), as "key=value@+ms" lines. */
static int read_topic(const char *bootstrap, const char *topic, int want, int64_t t0, char *got,
                      size_t got_size) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    rv_consumer_t *consumer = NULL;
    if (!conf || rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        !(consumer = rv_consumer_new(conf, errstr, sizeof errstr))) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_topic_partition_list_t *parts = rv_topic_partition_list_new(1);
    rv_topic_partition_set_offset(rv_topic_partition_list_add(parts, topic, 0),
                                  RV_OFFSET_BEGINNING);
    rv_consumer_assign(consumer, parts);
    rv_topic_partition_list_destroy(parts);
    int n = 0;
    char lines[2048] = "";
    for (int polls = 0; n < want && polls < 150; polls++) {
        rv_records_t *records = NULL;
        if (rv_consumer_poll(consumer, 100, &records))
            continue;
        for (size_t i = 0; i < rv_records_count(records); i++, n++) {
            const rv_record_t *r = rv_records_get(records, i);
            int32_t klen, vlen;
            const char *k = rv_record_key(r, &klen);
            const char *v = rv_record_value(r, &vlen);
            add_line(lines, sizeof lines, k, klen, v, vlen, rv_record_timestamp(r), t0);
        }
        rv_records_destroy(records);
    }
    rv_consumer_destroy(consumer);
    strncat(got, topic, got_size - strlen(got) - 1);
    strncat(got, ":\n", got_size - strlen(got) - 1);
    strncat(got, lines, got_size - strlen(got) - 1);
    return n;
}

static int produce(rv_producer_t *producer, const event_t *e, int64_t t0) {
    char errstr[512];
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = e->topic;
    r.key = e->ad;
    r.key_len = (int32_t)strlen(e->ad);
    r.value = e->text;
    r.value_len = (int32_t)strlen(e->text);
    r.timestamp = t0 + e->at;
    if (rv_producer_send_sync(producer, &r, NULL, NULL, NULL, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_click_join: %s\n", errstr);
        return -1;
    }
    return 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int run_app(const char *data_dir, rv_topology_t *topology) {
    char errstr[512], bootstrap[4200], state_dir[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", data_dir);
    snprintf(state_dir, sizeof state_dir, "%s/streams-state", data_dir);
    /* Today's time: the join's window stores log to changelogs that delete
     * records older than their retention plus one day. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const int64_t t0 = (int64_t)now.tv_sec * 1000;
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, data_dir, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_click_join: %s\n", errstr);
        return -1;
    }
    rv_conf_t *conf = rv_conf_new();
    rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr);
    rv_admin_t *admin = rv_admin_new(rv_conf_dup(conf), errstr, sizeof errstr);
    rv_producer_t *producer = rv_producer_new(conf, errstr, sizeof errstr);
    const char *topics[] = {"impressions", "clicks", "clicked_impressions", "impression_outcomes"};
    for (int i = 0; i < 4; i++)
        if (!admin || !producer ||
            rv_admin_create_topic(admin, topics[i], 1, -1, NULL, NULL, 0, errstr, sizeof errstr)) {
            fprintf(stderr, "dsl_click_join: %s\n", errstr);
            return -1;
        }
    rv_admin_destroy(admin);

    rv_conf_t *app_conf = rv_conf_new();
    if (rv_conf_set(app_conf, "application.id", "click-join", errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "state.dir", state_dir, errstr, sizeof errstr) ||
        rv_conf_set(app_conf, "commit.interval.ms", "100", errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_click_join: %s\n", errstr);
        return -1;
    }
    rv_streams_t *app = rv_streams_new(topology, app_conf, errstr, sizeof errstr);
    if (!app || rv_streams_start(app, errstr, sizeof errstr)) {
        fprintf(stderr, "dsl_click_join: %s\n", errstr);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i + 1 < EVENT_CNT && !rc; i++)
        rc = produce(producer, &EVENTS[i], t0);
    /* Unmatched results are looked for at most once a second of wall-clock
     * time (Kafka's throttle): once the matches are out, wait a second
     * before the click that closes the phone banner's window. */
    char got[2048] = "";
    if (!rc && read_topic(bootstrap, "clicked_impressions", 2, t0, got, sizeof got) != 2)
        rc = -1;
    sleep_ms(1100);
    if (!rc)
        rc = produce(producer, &EVENTS[EVENT_CNT - 1], t0);
    if (!rc && read_topic(bootstrap, "impression_outcomes", 3, t0, got, sizeof got) != 3)
        rc = -1;
    printf("broker:\n%s", got);
    rv_streams_close(app, 10000);
    rv_streams_destroy(app);
    rv_producer_destroy(producer);
    rv_broker_close(broker);
    if (!rc && strcmp(got, EXPECTED)) {
        fprintf(stderr, "dsl_click_join: unexpected output\n");
        rc = -1;
    }
    return rc;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : NULL;
    rv_topology_t *topology = build_click_join();
    if (!topology)
        return 1;
    int rc = run_test_driver(topology);
    rv_topology_destroy(topology);
    if (!rc && dir) {
        topology = build_click_join();
        rc = topology ? run_app(dir, topology) : -1;
        rv_topology_destroy(topology);
    }
    if (!rc)
        printf("dsl click join: ok\n");
    return rc ? 1 : 0;
}
