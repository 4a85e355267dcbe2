/* tools/verifiable_consumer_cmd.c: `rivulet verifiable-consumer`, Apache
 * Kafka's VerifiableConsumer (the system-test consumer): joins a consumer
 * group on one topic and prints one JSON object per line on standard output
 * for every event, with Kafka's event names and fields in Kafka's order:
 *
 *   {"timestamp":T,"name":"startup_complete"}
 *   {"timestamp":T,"name":"partitions_assigned","partitions":[{"topic":"t","partition":0}]}
 *   {"timestamp":T,"name":"records_consumed","count":3,"partitions":[{"topic":"t",
 *    "partition":0,"count":3,"minOffset":0,"maxOffset":2}]}
 *   {"timestamp":T,"name":"record_data","key":null,"value":"0","topic":"t",
 *    "partition":0,"offset":0}                                  (--verbose)
 *   {"timestamp":T,"name":"offsets_committed","offsets":[{"topic":"t",
 *    "partition":0,"offset":3}],"success":true}   ("error":"..." before
 *    success when the commit failed)
 *   {"timestamp":T,"name":"partitions_revoked","partitions":[...]}
 *   {"timestamp":T,"name":"shutdown_complete"}
 *
 * Without --enable-autocommit every poll's records are committed
 * synchronously (offset = last consumed + 1, only up to --max-messages).
 * The run ends after --max-messages records (-1: never), or on SIGINT or
 * SIGTERM; the consumer then closes (revoking its partitions) and
 * shutdown_complete follows. A poll that returned no records prints
 * nothing (Kafka's tool polls without a timeout, so its polls only return
 * empty after a rebalance; it then prints an empty records_consumed and
 * offsets_committed pair that carries no information). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t vc_opts[] = {
    {"assignment-strategy", RV__OPT_STRING, false, "ASSIGNMENT-STRATEGY",
     "Set assignment strategy (e.g. org.apache.kafka.clients.consumer.RoundRobinAssignor, or "
     "range, roundrobin, cooperative-sticky). (default: "
     "org.apache.kafka.clients.consumer.RangeAssignor)"},
    {"bootstrap-server", RV__OPT_STRING, false, "HOST1:PORT1[,HOST2:PORT2[...]]",
     "REQUIRED: The server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"consumer.config", RV__OPT_STRING, false, "CONFIG_FILE",
     "Consumer config properties file (config options shared with command line parameters "
     "will be overridden)."},
    {"enable-autocommit", RV__OPT_FLAG, false, NULL, "Enable offset auto-commit on consumer"},
    {"group-id", RV__OPT_STRING, false, "GROUP_ID",
     "REQUIRED: The groupId shared among members of the consumer group"},
    {"group-instance-id", RV__OPT_STRING, false, "GROUP_INSTANCE_ID",
     "A unique identifier of the consumer instance"},
    {"group-protocol", RV__OPT_STRING, false, "GROUP_PROTOCOL",
     "Group protocol (must be one of CLASSIC, CONSUMER; only CLASSIC is supported) (default: "
     "classic)"},
    {"max-messages", RV__OPT_INT, false, "MAX-MESSAGES",
     "Consume this many messages. If -1 (the default), the consumer will consume until the "
     "process is killed externally"},
    {"reset-policy", RV__OPT_STRING, false, "RESET-POLICY",
     "Set reset policy (must be either 'earliest', 'latest', or 'none' (default: earliest)"},
    {"session-timeout", RV__OPT_INT, false, "TIMEOUT_MS",
     "Set the consumer's session timeout (default: 30000)"},
    {"topic", RV__OPT_STRING, false, "TOPIC", "REQUIRED: Consumes messages from this topic."},
    {"verbose", RV__OPT_FLAG, false, NULL, "Enable to log individual consumed records"},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes p[0..len) as a JSON string, or null. */
static void json_bytes(const void *p, int32_t len) {
    if (!p || len < 0) {
        fputs("null", stdout);
        return;
    }
    const unsigned char *s = p;
    putchar('"');
    for (int32_t i = 0; i < len; i++) {
        unsigned char ch = s[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch == '\t')
            fputs("\\t", stdout);
        else if (ch == '\r')
            fputs("\\r", stdout);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void json_str(const char *s) {
    json_bytes(s, s ? (int32_t)strlen(s) : -1);
}

static void print_event(const char *name) {
    printf("{\"timestamp\":%lld,\"name\":\"%s\"}\n", now_ms(), name);
    fflush(stdout);
}

static void print_partitions(const char *name, const rv_topic_partition_list_t *l) {
    printf("{\"timestamp\":%lld,\"name\":\"%s\",\"partitions\":[", now_ms(), name);
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        printf("%s{\"topic\":", i ? "," : "");
        json_str(rv_topic_partition_topic(tp));
        printf(",\"partition\":%d}", rv_topic_partition_partition(tp));
    }
    printf("]}\n");
    fflush(stdout);
}

static void on_assigned(rv_consumer_t *c, const rv_topic_partition_list_t *parts, void *opaque) {
    (void)c;
    (void)opaque;
    print_partitions("partitions_assigned", parts);
}

static void on_revoked(rv_consumer_t *c, const rv_topic_partition_list_t *parts, void *opaque) {
    (void)c;
    (void)opaque;
    print_partitions("partitions_revoked", parts);
}

static void print_committed(const rv_topic_partition_list_t *offsets, const char *error) {
    printf("{\"timestamp\":%lld,\"name\":\"offsets_committed\",\"offsets\":[", now_ms());
    for (size_t i = 0; i < rv_topic_partition_list_count(offsets); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(offsets, i);
        printf("%s{\"topic\":", i ? "," : "");
        json_str(rv_topic_partition_topic(tp));
        printf(",\"partition\":%d,\"offset\":%lld}", rv_topic_partition_partition(tp),
               (long long)rv_topic_partition_offset(tp));
    }
    printf("]");
    if (error) {
        printf(",\"error\":");
        json_str(error);
    }
    printf(",\"success\":%s}\n", error ? "false" : "true");
    fflush(stdout);
}

/* onRecordsReceived: prints the poll's summary (and each record when
 * verbose) up to the message limit, counts what was consumed and returns
 * the offsets to commit in *offsets (caller frees). */
static int records_received(rv_records_t *rs, bool verbose, int64_t max, int64_t *consumed,
                            rv_topic_partition_list_t **offsets) {
    size_t n = rv_records_count(rs);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(4);
    if (!l)
        return -1;
    /* The summaries are printed after the verbose records, so they are
     * gathered first. */
    char *summary = NULL;
    size_t slen = 0;
    FILE *sf = open_memstream(&summary, &slen);
    if (!sf) {
        rv_topic_partition_list_destroy(l);
        return -1;
    }
    size_t i = 0, k = 0;
    while (i < n && !(max >= 0 && *consumed >= max)) {
        const rv_record_t *first = rv_records_get(rs, i);
        const char *topic = rv_record_topic(first);
        int32_t part = rv_record_partition(first);
        size_t j = i;
        while (j < n && rv_record_partition(rv_records_get(rs, j)) == part &&
               !strcmp(rv_record_topic(rv_records_get(rs, j)), topic))
            j++;
        size_t cnt = j - i;
        if (max >= 0 && (int64_t)cnt > max - *consumed)
            cnt = (size_t)(max - *consumed);
        if (cnt == 0)
            break;
        int64_t min_off = rv_record_offset(first);
        int64_t max_off = rv_record_offset(rv_records_get(rs, i + cnt - 1));
        rv_topic_partition_t *tp = rv_topic_partition_list_add(l, topic, part);
        if (!tp) {
            fclose(sf);
            free(summary);
            rv_topic_partition_list_destroy(l);
            return -1;
        }
        rv_topic_partition_set_offset(tp, max_off + 1);
        /* Topic names need no JSON escaping: [a-zA-Z0-9._-]. */
        fprintf(sf, "%s{\"topic\":\"%s\"", k++ ? "," : "", topic);
        fprintf(sf, ",\"partition\":%d,\"count\":%zu,\"minOffset\":%lld,\"maxOffset\":%lld}", part,
                cnt, (long long)min_off, (long long)max_off);
        if (verbose)
            for (size_t r = i; r < i + cnt; r++) {
                const rv_record_t *rec = rv_records_get(rs, r);
                int32_t klen, vlen;
                const void *key = rv_record_key(rec, &klen);
                const void *val = rv_record_value(rec, &vlen);
                printf("{\"timestamp\":%lld,\"name\":\"record_data\",\"key\":", now_ms());
                json_bytes(key, klen);
                printf(",\"value\":");
                json_bytes(val, vlen);
                printf(",\"topic\":");
                json_str(topic);
                printf(",\"partition\":%d,\"offset\":%lld}\n", part,
                       (long long)rv_record_offset(rec));
            }
        *consumed += (int64_t)cnt;
        i = j;
    }
    fclose(sf);
    printf("{\"timestamp\":%lld,\"name\":\"records_consumed\",\"count\":%zu,\"partitions\":[%s]}\n",
           now_ms(), n, summary ? summary : "");
    fflush(stdout);
    free(summary);
    *offsets = l;
    return 0;
}

static rv_conf_t *build_conf(const rv__args_t *a, char *errstr, size_t errstr_size) {
    rv_conf_t *conf = rv_conf_new();
    if (!conf) {
        snprintf(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    const char *file = rv__args_str(a, "consumer.config");
    if (file) {
        errstr[0] = '\0';
        if (rv_conf_load_file(conf, file, errstr, errstr_size) != RV_CONF_OK) {
            if (!errstr[0])
                snprintf(errstr, errstr_size, "%s: cannot load properties file", file);
            goto bad;
        }
    }
    const char *strategy = rv__args_str(a, "assignment-strategy");
    const char *reset = rv__args_str(a, "reset-policy");
    char session[16];
    snprintf(session, sizeof session, "%d",
             rv__args_has(a, "session-timeout") ? rv__args_int(a, "session-timeout") : 30000);
    if (rv__tool_conf_put(conf, "partition.assignment.strategy",
                          strategy ? strategy : "org.apache.kafka.clients.consumer.RangeAssignor",
                          errstr, errstr_size) < 0 ||
        rv__tool_conf_put(conf, "group.id", rv__args_str(a, "group-id"), errstr, errstr_size) < 0 ||
        (rv__args_has(a, "group-instance-id") &&
         rv__tool_conf_put(conf, "group.instance.id", rv__args_str(a, "group-instance-id"), errstr,
                           errstr_size) < 0) ||
        rv__tool_conf_put(conf, "bootstrap.servers", rv__args_str(a, "bootstrap-server"), errstr,
                          errstr_size) < 0 ||
        rv__tool_conf_put(conf, "enable.auto.commit",
                          rv__args_has(a, "enable-autocommit") ? "true" : "false", errstr,
                          errstr_size) < 0 ||
        rv__tool_conf_put(conf, "auto.offset.reset", reset ? reset : "earliest", errstr,
                          errstr_size) < 0 ||
        rv__tool_conf_put(conf, "session.timeout.ms", session, errstr, errstr_size) < 0)
        goto bad;
    return conf;
bad:
    rv_conf_destroy(conf);
    return NULL;
}

#define POLL_SLICE_MS 100

int rv__cmd_verifiable_consumer(int argc, char **argv) {
    const char *about = "This tool consumes messages from a specific topic and emits consumer "
                        "events (e.g. group rebalances, received messages, and offsets "
                        "committed) as JSON objects to STDOUT.";
    if (argc == 0) {
        /* Kafka prints the help and exits 0 here. */
        fprintf(stderr, "%s\n", about);
        rv__args_usage(stderr, vc_opts);
        return 0;
    }
    rv__args_t a;
    char errstr[1024];
    if (rv__args_parse(&a, vc_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        rv__args_usage_error(vc_opts, errstr);
        return 1;
    }
    int rc = 0;
    rv_consumer_t *c = NULL;
    if (a.help || a.version) {
        if (a.version)
            printf("%s\n", RV_TOOL_VERSION);
        else {
            fprintf(stderr, "%s\n", about);
            rv__args_usage(stderr, vc_opts);
        }
        goto out;
    }
    static const char *const required[] = {"bootstrap-server", "topic", "group-id"};
    for (size_t i = 0; i < 3; i++)
        if (!rv__args_has(&a, required[i])) {
            snprintf(errstr, sizeof errstr, "Missing required argument \"[%s]\"", required[i]);
            rv__args_usage_error(vc_opts, errstr);
            rc = 1;
            goto out;
        }
    const char *proto = rv__args_str(&a, "group-protocol");
    if (proto && strcasecmp(proto, "classic") != 0) {
        snprintf(errstr, sizeof errstr,
                 "Group protocol %s is not supported: the embedded broker speaks the classic "
                 "protocol",
                 proto);
        rv__args_usage_error(vc_opts, errstr);
        rc = 1;
        goto out;
    }
    rv_conf_t *conf = build_conf(&a, errstr, sizeof errstr);
    if (!conf) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    errstr[0] = '\0';
    c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c) {
        rv_conf_destroy(conf);
        rc = rv__tool_fail(errstr[0] ? errstr : "Failed to create the consumer");
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    bool autocommit = rv__args_has(&a, "enable-autocommit");
    bool verbose = rv__args_has(&a, "verbose");
    int64_t max = rv__args_has(&a, "max-messages") ? rv__args_int(&a, "max-messages") : -1;
    int64_t consumed = 0;
    print_event("startup_complete");
    rv_rebalance_listener_t listener = RV_REBALANCE_LISTENER_INIT;
    listener.assigned = on_assigned;
    listener.revoked = on_revoked;
    const char *topic = rv__args_str(&a, "topic");
    rv_err_t err = rv_consumer_subscribe(c, &topic, 1, &listener);
    if (err) {
        const char *m = rv_consumer_last_error(c);
        fprintf(stderr, "Error during processing, terminating consumer process: %s\n",
                m && *m ? m : rv_err_str(err));
        rc = 1;
    }
    while (!err && !stop_requested && !(max >= 0 && consumed >= max)) {
        rv_records_t *rs = NULL;
        err = rv_consumer_poll(c, POLL_SLICE_MS, &rs);
        if (err == RV_ERR__WAKEUP)
            break;
        if (err) {
            /* Kafka logs this to its service log, not to stdout. */
            const char *m = rv_consumer_last_error(c);
            fprintf(stderr, "Error during processing, terminating consumer process: %s\n",
                    m && *m ? m : rv_err_str(err));
            rc = 1;
            break;
        }
        if (rv_records_count(rs) == 0) {
            rv_records_destroy(rs);
            continue;
        }
        rv_topic_partition_list_t *offsets = NULL;
        if (records_received(rs, verbose, max, &consumed, &offsets) < 0) {
            rv_records_destroy(rs);
            rc = rv__tool_fail("Out of memory");
            break;
        }
        rv_records_destroy(rs);
        if (!autocommit) {
            char es[512] = "";
            rv_err_t cerr = rv_consumer_commit_sync(c, offsets, es, sizeof es);
            print_committed(offsets, cerr ? (es[0] ? es : rv_err_str(cerr)) : NULL);
        }
        rv_topic_partition_list_destroy(offsets);
    }
    rv_consumer_close(c);
    print_event("shutdown_complete");
out:
    rv_consumer_destroy(c);
    rv__args_free(&a);
    return rc;
}
