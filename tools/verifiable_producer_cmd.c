/* tools/verifiable_producer_cmd.c: `rivulet verifiable-producer`, Apache
 * Kafka's VerifiableProducer (the system-test producer): sends the
 * increasing integers 0, 1, 2, ... as string values (optionally
 * "PREFIX.N", with keys 0..R-1 repeating when --repeating-keys R is given)
 * and prints one JSON object per line on standard output for every event,
 * with Kafka's event names and fields in Kafka's order:
 *
 *   {"timestamp":T,"name":"startup_complete"}
 *   {"timestamp":T,"name":"producer_send_success","key":null,"value":"0",
 *    "topic":"t","partition":0,"offset":0}
 *   {"timestamp":T,"name":"producer_send_error","key":null,"value":"1",
 *    "topic":"t","exception":"UNKNOWN_TOPIC_OR_PARTITION","message":"..."}
 *   {"timestamp":T,"name":"shutdown_complete"}
 *   {"timestamp":T,"name":"tool_data","sent":N,"acked":N,
 *    "target_throughput":-1,"avg_throughput":1234.5}
 *
 * "exception" holds the error's name where Kafka prints the Java exception
 * class. As Kafka's tool the producer runs with retries=0 and the given
 * acks; --max-messages -1 sends until SIGINT or SIGTERM, and either signal
 * also ends a bounded run early with the same closing lines. The exit
 * status is 0 unless the arguments or the producer's configuration are
 * wrong (send errors are events, as in Kafka). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t vp_opts[] = {
    {"acks", RV__OPT_INT, false, "ACKS",
     "Acks required on each produced message: 0, 1 or -1 (all). (default: -1)"},
    {"bootstrap-server", RV__OPT_STRING, false, "HOST1:PORT1[,HOST2:PORT2[...]]",
     "REQUIRED: The server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"command-config", RV__OPT_STRING, false, "CONFIG-FILE",
     "Config properties file (config options shared with command line parameters will be "
     "overridden)."},
    {"max-messages", RV__OPT_INT, false, "MAX-MESSAGES",
     "Produce this many messages. If -1, produce messages until the process is killed "
     "externally. (default: -1)"},
    {"message-create-time", RV__OPT_STRING, false, "CREATE-TIME",
     "Send messages with creation time starting at the arguments value, in milliseconds since "
     "epoch"},
    {"producer.config", RV__OPT_STRING, false, "CONFIG-FILE",
     "Producer config properties file (the older name of --command-config)."},
    {"repeating-keys", RV__OPT_INT, false, "REPEATING-KEYS",
     "If specified, each produced record will have a key starting at 0 increment by 1 up to "
     "the number specified (exclusive), then the key is set to 0 again"},
    {"throughput", RV__OPT_INT, false, "THROUGHPUT",
     "If set >= 0, throttle maximum message throughput to *approximately* THROUGHPUT "
     "messages/sec. (default: -1)"},
    {"topic", RV__OPT_STRING, false, "TOPIC", "REQUIRED: Produce messages to this topic."},
    {"value-prefix", RV__OPT_INT, false, "VALUE-PREFIX",
     "If specified, each produced value will have this prefix with a dot separator"},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

typedef struct vp_s {
    const char *topic;
    long long sent, acked;
} vp_t;

/* What one send's callback prints: the key and value as sent. */
typedef struct vp_rec_s {
    vp_t *vp;
    char key[16];
    bool has_key;
    char value[48];
} vp_rec_t;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes s as a JSON string. */
static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p == '\r')
            fputs("\\r", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void print_event(const char *name) {
    printf("{\"timestamp\":%lld,\"name\":\"%s\"}\n", now_ms(), name);
    fflush(stdout);
}

static void print_key_value(const vp_rec_t *r) {
    if (r->has_key)
        printf("\"key\":\"%s\"", r->key);
    else
        printf("\"key\":null");
    printf(",\"value\":\"%s\"", r->value);
}

static void print_error(const vp_rec_t *r, const char *topic, rv_err_t err, const char *msg) {
    printf("{\"timestamp\":%lld,\"name\":\"producer_send_error\",", now_ms());
    print_key_value(r);
    printf(",\"topic\":");
    json_str(stdout, topic);
    printf(",\"exception\":\"%s\",\"message\":", rv_err_name(err));
    json_str(stdout, msg && *msg ? msg : rv_err_str(err));
    printf("}\n");
}

static void on_delivery(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                        int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p;
    (void)timestamp;
    vp_rec_t *r = opaque;
    if (err) {
        print_error(r, topic, err, errmsg);
    } else {
        r->vp->acked++;
        printf("{\"timestamp\":%lld,\"name\":\"producer_send_success\",", now_ms());
        print_key_value(r);
        printf(",\"topic\":");
        json_str(stdout, topic);
        printf(",\"partition\":%d,\"offset\":%lld}\n", partition, (long long)offset);
    }
    free(r);
}

/* Kafka's VerifiableProducer properties: bootstrap, acks, retries=0, then
 * the config file on top. */
static rv_conf_t *build_conf(const rv__args_t *a, char *errstr, size_t errstr_size) {
    rv_conf_t *conf = rv_conf_new();
    char acks[16];
    int32_t ack = rv__args_has(a, "acks") ? rv__args_int(a, "acks") : -1;
    snprintf(acks, sizeof acks, "%d", ack);
    if (!conf) {
        snprintf(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    if (rv__tool_conf_put(conf, "bootstrap.servers", rv__args_str(a, "bootstrap-server"), errstr,
                          errstr_size) < 0 ||
        rv__tool_conf_put(conf, "acks", acks, errstr, errstr_size) < 0 ||
        rv__tool_conf_put(conf, "retries", "0", errstr, errstr_size) < 0 ||
        rv__tool_conf_put(conf, "client.id", "verifiable-producer", errstr, errstr_size) < 0)
        goto bad;
    /* Kafka's producer drops idempotence by itself when retries is 0 and
     * the user did not ask for it; rivulet's wants it said. A config file
     * may still turn it on. */
    if (rv__tool_conf_put(conf, "enable.idempotence", "false", errstr, errstr_size) < 0)
        goto bad;
    const char *file = rv__args_str(a, "command-config");
    if (!file)
        file = rv__args_str(a, "producer.config");
    if (file) {
        errstr[0] = '\0';
        if (rv_conf_load_file(conf, file, errstr, errstr_size) != RV_CONF_OK) {
            if (!errstr[0])
                snprintf(errstr, errstr_size, "%s: cannot load properties file", file);
            goto bad;
        }
    }
    return conf;
bad:
    rv_conf_destroy(conf);
    return NULL;
}

/* Kafka's ThroughputThrottler: after `sent` sends since start_ms, sleeps
 * long enough that the rate stays at or below `throughput` per second
 * (0 means send nothing more until stopped). */
static void throttle(int32_t throughput, long long sent, long long start_ms) {
    if (throughput < 0)
        return;
    if (throughput == 0) {
        while (!stop_requested) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        return;
    }
    long long due = start_ms + sent * 1000 / throughput;
    long long wait = due - mono_ms();
    if (wait > 0) {
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int rv__cmd_verifiable_producer(int argc, char **argv) {
    const char *about = "This tool produces increasing integers to the specified topic and prints "
                        "JSON metadata to stdout on each \"send\" request, making externally "
                        "visible which messages have been acked and which have not.";
    rv__args_t a;
    char errstr[1024];
    if (argc == 0) {
        /* Kafka prints the help and exits 0 here. */
        fprintf(stderr, "%s\n", about);
        rv__args_usage(stderr, vp_opts);
        return 0;
    }
    if (rv__args_parse(&a, vp_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        rv__args_usage_error(vp_opts, errstr);
        return 1;
    }
    int rc = 0;
    rv_producer_t *p = NULL;
    if (a.help || a.version) {
        if (a.version)
            printf("%s\n", RV_TOOL_VERSION);
        else {
            fprintf(stderr, "%s\n", about);
            rv__args_usage(stderr, vp_opts);
        }
        goto out;
    }
    const char *missing = !rv__args_has(&a, "topic")              ? "topic"
                          : !rv__args_has(&a, "bootstrap-server") ? "bootstrap-server"
                                                                  : NULL;
    if (missing) {
        snprintf(errstr, sizeof errstr, "Missing required argument \"[%s]\"", missing);
        rv__args_usage_error(vp_opts, errstr);
        rc = 1;
        goto out;
    }
    if (rv__args_has(&a, "command-config") && rv__args_has(&a, "producer.config")) {
        rv__args_usage_error(vp_opts, "Options --producer.config and --command-config are mutually "
                                      "exclusive.");
        rc = 1;
        goto out;
    }
    int32_t acks = rv__args_has(&a, "acks") ? rv__args_int(&a, "acks") : -1;
    if (acks != 0 && acks != 1 && acks != -1) {
        snprintf(errstr, sizeof errstr,
                 "argument --acks: invalid choice: '%d' (choose from 0, 1, -1)", acks);
        rv__args_usage_error(vp_opts, errstr);
        rc = 1;
        goto out;
    }
    int64_t create_time = -1;
    const char *ct = rv__args_str(&a, "message-create-time");
    if (ct && rv__args_parse_int64(ct, &create_time) < 0) {
        snprintf(errstr, sizeof errstr,
                 "argument --message-create-time: could not convert '%s' to Long", ct);
        rv__args_usage_error(vp_opts, errstr);
        rc = 1;
        goto out;
    }
    int32_t repeating = rv__args_has(&a, "repeating-keys") ? rv__args_int(&a, "repeating-keys") : 0;
    if (rv__args_has(&a, "repeating-keys") && repeating <= 0) {
        rv__args_usage_error(vp_opts, "argument --repeating-keys: must be positive");
        rc = 1;
        goto out;
    }
    rv_conf_t *conf = build_conf(&a, errstr, sizeof errstr);
    if (!conf) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    errstr[0] = '\0';
    p = rv_producer_new(conf, errstr, sizeof errstr);
    if (!p) {
        rv_conf_destroy(conf);
        rc = rv__tool_fail(errstr[0] ? errstr : "Failed to create the producer");
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    vp_t vp = {rv__args_str(&a, "topic"), 0, 0};
    int64_t max = rv__args_has(&a, "max-messages") ? rv__args_int(&a, "max-messages") : -1;
    int32_t throughput = rv__args_has(&a, "throughput") ? rv__args_int(&a, "throughput") : -1;
    bool prefixed = rv__args_has(&a, "value-prefix");
    int32_t prefix = rv__args_int(&a, "value-prefix");
    long long start_wall = now_ms(), start = mono_ms();
    int32_t key_counter = 0;
    print_event("startup_complete");
    for (int64_t i = 0; (max < 0 || i < max) && !stop_requested; i++) {
        vp_rec_t *r = calloc(1, sizeof *r);
        if (!r) {
            rc = rv__tool_fail("Out of memory");
            break;
        }
        r->vp = &vp;
        if (prefixed)
            snprintf(r->value, sizeof r->value, "%d.%lld", prefix, (long long)i);
        else
            snprintf(r->value, sizeof r->value, "%lld", (long long)i);
        if (repeating > 0) {
            snprintf(r->key, sizeof r->key, "%d", key_counter);
            r->has_key = true;
            if (++key_counter == repeating)
                key_counter = 0;
        }
        rv_producer_record_t rec = RV_PRODUCER_RECORD_INIT;
        rec.topic = vp.topic;
        rec.value = r->value;
        rec.value_len = (int32_t)strlen(r->value);
        if (r->has_key) {
            rec.key = r->key;
            rec.key_len = (int32_t)strlen(r->key);
        }
        if (create_time >= 0) {
            /* As Kafka's tool: the given time, advanced by the time the
             * run has taken so far. */
            rec.timestamp = create_time;
            create_time += now_ms() - start_wall;
        }
        vp.sent++;
        char es[512] = "";
        rv_err_t err = rv_producer_send(p, &rec, on_delivery, r, es, sizeof es);
        if (err) {
            print_error(r, vp.topic, err, es);
            free(r);
        }
        rv_producer_poll(p, 0);
        throttle(throughput, i + 1, start);
    }
    rv_producer_flush(p, -1);
    rv_producer_close(p, -1);
    print_event("shutdown_complete");
    long long elapsed = mono_ms() - start;
    double avg = 1000.0 * (double)vp.acked / (double)(elapsed > 0 ? elapsed : 1);
    printf("{\"timestamp\":%lld,\"name\":\"tool_data\",\"sent\":%lld,\"acked\":%lld,"
           "\"target_throughput\":%d,\"avg_throughput\":%.3f}\n",
           now_ms(), vp.sent, vp.acked, throughput, avg);
out:
    rv_producer_destroy(p);
    rv__args_free(&a);
    return rc;
}
