/* tools/console_consumer_cmd.c: `rivulet console-consumer`, Apache Kafka's
 * kafka-console-consumer.sh (ConsoleConsumer with its
 * DefaultMessageFormatter): reads a topic through the consumer of
 * rivulet/consumer.h and prints each record's value on a line, optionally
 * with its timestamp, partition, offset, headers and key (--property
 * print.timestamp / print.partition / print.offset / print.headers /
 * print.key / print.value, key.separator, line.separator,
 * headers.separator, null.literal), in Kafka's layout. key.deserializer
 * and value.deserializer (Kafka's class names or the built-in serdes'
 * names) print keys and values as Kafka's formatter does, through
 * toString(): numbers as numbers, and the windowed keys of
 * TimeWindowedDeserializer / SessionWindowedDeserializer (configured by
 * key.deserializer.window.size.ms and
 * key.deserializer.windowed.inner.class.serde) as Windowed.toString()
 * "[key@start/end]".
 *
 * Two modes, as Kafka's:
 *  - --topic with a consumer group (--group, or group.id from the consumer
 *    properties, or a generated "console-consumer-NNNNN" group that then
 *    does not commit): the group assigns partitions; --from-beginning sets
 *    auto.offset.reset=earliest, otherwise latest.
 *  - --topic with --partition: reads that one partition from --offset
 *    (earliest, latest or a number; earliest with --from-beginning) with no
 *    group.
 *
 * The command ends after --max-messages records, after --timeout-ms without
 * a record, or on SIGINT/SIGTERM, and then prints "Processed a total of N
 * messages" on standard error, as Kafka's does. Exit status 0, or 1 for bad
 * arguments or a consumer error. */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t cc_opts[] = {
    {"bootstrap-server", RV__OPT_STRING, false, "server to connect to",
     "REQUIRED: The server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"consumer-property", RV__OPT_STRING, true, "consumer_prop",
     "A mechanism to pass user-defined properties in the form key=value to the consumer."},
    {"consumer.config", RV__OPT_STRING, false, "config file",
     "Consumer config properties file. Note that [consumer-property] takes precedence over "
     "this config."},
    {"from-beginning", RV__OPT_FLAG, false, NULL,
     "If the consumer does not already have an established offset to consume from, start with "
     "the earliest message present in the log rather than the latest message."},
    {"group", RV__OPT_STRING, false, "consumer group id", "The consumer group id of the consumer."},
    {"isolation-level", RV__OPT_STRING, false, "String",
     "Set to read_committed in order to filter out transactional messages which are not "
     "committed. Set to read_uncommitted to read all messages. (default: read_uncommitted)"},
    {"max-messages", RV__OPT_INT, false, "num_messages",
     "The maximum number of messages to consume before exiting. If not set, consumption is "
     "continual."},
    {"offset", RV__OPT_STRING, false, "consume offset",
     "The offset to consume from (a non-negative number), or 'earliest' which means from "
     "beginning, or 'latest' which means from end (default: latest)"},
    {"partition", RV__OPT_INT, false, "partition",
     "The partition to consume from. Consumption starts from the end of the partition unless "
     "'--offset' is specified."},
    {"property", RV__OPT_STRING, true, "prop",
     "The properties to initialize the message formatter. Default properties include:\n "
     "print.timestamp=true|false\n print.key=true|false\n print.offset=true|false\n "
     "print.partition=true|false\n print.headers=true|false\n print.value=true|false\n "
     "key.separator=<key.separator>\n line.separator=<line.separator>\n "
     "headers.separator=<line.separator>\n null.literal=<null.literal>"},
    {"skip-message-on-error", RV__OPT_FLAG, false, NULL,
     "If there is an error when processing a message, skip it instead of halt."},
    {"timeout-ms", RV__OPT_STRING, false, "timeout_ms",
     "If specified, exit if no message is available for consumption for the specified "
     "interval."},
    {"topic", RV__OPT_STRING, false, "topic", "The topic to consume on."},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* DefaultMessageFormatter's settings. Strings are copies in `store`. */
/* A deserializer of key.deserializer / value.deserializer: a built-in
 * serde, or a windowed one over a built-in inner serde. */
typedef struct deser_s {
    const rv_serde_t *serde; /* NULL: print the bytes */
    const rv_serde_t *inner; /* windowed: the inner serde */
    rv_serde_t *owned;       /* windowed: serde, owned */
} deser_t;

typedef struct fmt_s {
    bool ts, key, value, partition, offset, headers;
    const char *key_sep, *line_sep, *headers_sep, *null_literal;
    deser_t key_de, value_de;
} fmt_t;

static int usage_fail(const char *msg) {
    rv__args_usage_error(cc_opts, msg);
    return 1;
}

/* The built-in serde a Kafka class name (a Deserializer or a Serde) or a
 * built-in name stands for; NULL when none. */
static const rv_serde_t *builtin_serde(const char *name) {
    static const struct {
        const char *suffix;
        const char *serde;
    } map[] = {{"StringDeserializer", "string"},   {"Serdes$StringSerde", "string"},
               {"LongDeserializer", "int64"},      {"Serdes$LongSerde", "int64"},
               {"IntegerDeserializer", "int32"},   {"Serdes$IntegerSerde", "int32"},
               {"DoubleDeserializer", "double"},   {"Serdes$DoubleSerde", "double"},
               {"ByteArrayDeserializer", "bytes"}, {"Serdes$ByteArraySerde", "bytes"},
               {"BytesDeserializer", "bytes"},     {"Serdes$BytesSerde", "bytes"}};
    const rv_serde_t *s = rv_serde_by_name(name);
    if (s)
        return s;
    const char *prefix = "org.apache.kafka.common.serialization.";
    if (strncmp(name, prefix, strlen(prefix)))
        return NULL;
    name += strlen(prefix);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(name, map[i].suffix))
            return rv_serde_by_name(map[i].serde);
    return NULL;
}

/* The value of property `key` among props (the last one), or NULL. */
static const char *prop_get(const char *const *props, char **store, size_t n, const char *key) {
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(key);
        if (!strncmp(props[i], key, kl) && props[i][kl] == '=')
            v = store[i];
    }
    return v;
}

/* Kafka's getDeserializerProperty(): `which` is "key.deserializer" or
 * "value.deserializer"; its "<which>." properties configure it. */
static int deser_configure(deser_t *d, const char *which, const char *const *props, char **store,
                           size_t n, char *errstr, size_t errstr_size) {
    const char *name = prop_get(props, store, n, which);
    if (!name)
        return 0;
    if ((d->serde = builtin_serde(name)))
        return 0;
    bool time = !strcmp(name, "org.apache.kafka.streams.kstream.TimeWindowedDeserializer");
    bool session = !strcmp(name, "org.apache.kafka.streams.kstream.SessionWindowedDeserializer");
    if (!time && !session) {
        snprintf(errstr, errstr_size, "Unable to instantiate a deserializer from %s", name);
        return -1;
    }
    char key[256];
    snprintf(key, sizeof key, "%s.windowed.inner.class.serde", which);
    const char *inner = prop_get(props, store, n, key);
    if (!inner) {
        snprintf(errstr, errstr_size,
                 "Inner class deserializer should be set either via constructor or via the "
                 "windowed.inner.class.serde config");
        return -1;
    }
    if (!(d->inner = builtin_serde(inner))) {
        snprintf(errstr, errstr_size, "Serde class %s could not be found.", inner);
        return -1;
    }
    int64_t size = 0;
    if (time) {
        snprintf(key, sizeof key, "%s.window.size.ms", which);
        const char *ws = prop_get(props, store, n, key);
        if (!ws) {
            snprintf(errstr, errstr_size,
                     "Window size needs to be set either through the time windowed deserializer "
                     "constructor or the window.size.ms config but not both");
            return -1;
        }
        if (rv__args_parse_int64(ws, &size) < 0 || size < 0) {
            snprintf(errstr, errstr_size, "Invalid value %s for window.size.ms", ws);
            return -1;
        }
    }
    d->owned =
        time ? rv_serde_time_windowed_new(d->inner, size) : rv_serde_session_windowed_new(d->inner);
    if (!d->owned) {
        snprintf(errstr, errstr_size, "Out of memory");
        return -1;
    }
    d->serde = d->owned;
    return 0;
}

static void fmt_free(fmt_t *f) {
    rv_serde_destroy(f->key_de.owned);
    rv_serde_destroy(f->value_de.owned);
}

static int fmt_configure(fmt_t *f, const char *const *props, size_t n, char **store, char *errstr,
                         size_t errstr_size) {
    memset(f, 0, sizeof *f);
    f->value = true;
    f->key_sep = "\t";
    f->line_sep = "\n";
    f->headers_sep = ",";
    f->null_literal = "null";
    for (size_t i = 0; i < n; i++) {
        char key[256], val[1024];
        if (rv__tool_split_kv(props[i], key, sizeof key, val, sizeof val) < 0) {
            snprintf(errstr, errstr_size, "Invalid command line properties: %s", props[i]);
            return -1;
        }
        if (!(store[i] = strdup(val))) {
            snprintf(errstr, errstr_size, "Out of memory");
            return -1;
        }
        const char *v = store[i];
        if (!strcmp(key, "print.timestamp"))
            f->ts = rv__tool_is_true(v);
        else if (!strcmp(key, "print.key"))
            f->key = rv__tool_is_true(v);
        else if (!strcmp(key, "print.value"))
            f->value = rv__tool_is_true(v);
        else if (!strcmp(key, "print.partition"))
            f->partition = rv__tool_is_true(v);
        else if (!strcmp(key, "print.offset"))
            f->offset = rv__tool_is_true(v);
        else if (!strcmp(key, "print.headers"))
            f->headers = rv__tool_is_true(v);
        else if (!strcmp(key, "key.separator"))
            f->key_sep = v;
        else if (!strcmp(key, "line.separator"))
            f->line_sep = v;
        else if (!strcmp(key, "headers.separator"))
            f->headers_sep = v;
        else if (!strcmp(key, "null.literal"))
            f->null_literal = v;
        /* Other names configure the deserializers (below) or are ignored. */
    }
    if (deser_configure(&f->key_de, "key.deserializer", props, store, n, errstr, errstr_size) < 0 ||
        deser_configure(&f->value_de, "value.deserializer", props, store, n, errstr, errstr_size) <
            0)
        return -1;
    return 0;
}

/* Java's Double.toString(): the shortest digits that read back the same,
 * with ".0" on whole numbers and E notation outside [1e-3, 1e7). */
static void print_double(double v) {
    if (isnan(v)) {
        fputs("NaN", stdout);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "Infinity" : "-Infinity", stdout);
        return;
    }
    double a = fabs(v);
    bool sci = a != 0 && (a < 1e-3 || a >= 1e7);
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, sci ? "%.*E" : "%.*g", sci ? prec - 1 : prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (sci) {
        /* "1.5E+10" -> "1.5E10", "1E10" -> "1.0E10" */
        char *e = strchr(buf, 'E');
        char mant[64], exp[16];
        snprintf(mant, sizeof mant, "%.*s", (int)(e - buf), buf);
        int x = atoi(e + 1);
        snprintf(exp, sizeof exp, "%d", x);
        printf("%s%sE%s", mant, strchr(mant, '.') ? "" : ".0", exp);
        return;
    }
    printf("%s%s", buf, strchr(buf, '.') || strchr(buf, 'e') ? "" : ".0");
}

/* Prints a value `serde` deserialized, as its Java object's toString(). */
static void print_value(const rv_serde_t *serde, const void *v, int32_t len) {
    if (serde == rv_serde_int64())
        printf("%" PRId64, *(const int64_t *)v);
    else if (serde == rv_serde_int32())
        printf("%" PRId32, *(const int32_t *)v);
    else if (serde == rv_serde_double())
        print_double(*(const double *)v);
    else
        fwrite(v, 1, (size_t)len, stdout);
}

static void write_bytes(const fmt_t *f, const void *p, int32_t len);

/* Writes the key or value through its deserializer, as Kafka's formatter
 * does: toString() of what it made (Windowed.toString() for windowed
 * keys). Bytes that do not deserialize are printed as they are. */
static void write_deserialized(const fmt_t *f, const deser_t *d, const char *topic, const void *p,
                               int32_t len) {
    if (!d->serde || !p || len < 0) {
        write_bytes(f, p, len);
        return;
    }
    void *v = NULL;
    int32_t vl = -1;
    char errstr[256];
    if (rv_serde_deserialize(d->serde, &v, &vl, topic, p, len, errstr, sizeof errstr)) {
        fprintf(stderr, "Error deserializing record of topic %s: %s\n", topic, errstr);
        write_bytes(f, p, len);
        return;
    }
    if (d->owned) {
        const rv_windowed_t *w = v;
        fputc('[', stdout);
        print_value(d->inner, w->key, w->key_len);
        printf("@%" PRId64 "/%" PRId64 "]", w->start, w->end);
    } else {
        print_value(d->serde, v, vl);
    }
    rv_serde_free(d->serde, v);
}

static void write_sep(const fmt_t *f, bool column) {
    fputs(column ? f->key_sep : f->line_sep, stdout);
}

static void write_bytes(const fmt_t *f, const void *p, int32_t len) {
    if (!p || len < 0)
        fputs(f->null_literal, stdout);
    else
        fwrite(p, 1, (size_t)len, stdout);
}

/* DefaultMessageFormatter.writeTo. */
static void format_record(const fmt_t *f, const rv_record_t *r) {
    if (f->ts) {
        rv_timestamp_type_t tt = rv_record_timestamp_type(r);
        if (tt == RV_TIMESTAMP_NONE)
            fputs("NO_TIMESTAMP", stdout);
        else
            printf("%s:%lld", tt == RV_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime",
                   (long long)rv_record_timestamp(r));
        write_sep(f, f->partition || f->offset || f->headers || f->key || f->value);
    }
    if (f->partition) {
        printf("Partition:%d", rv_record_partition(r));
        write_sep(f, f->offset || f->headers || f->key || f->value);
    }
    if (f->offset) {
        printf("Offset:%lld", (long long)rv_record_offset(r));
        write_sep(f, f->headers || f->key || f->value);
    }
    if (f->headers) {
        size_t n = rv_record_header_count(r);
        if (n == 0)
            fputs("NO_HEADERS", stdout);
        for (size_t i = 0; i < n; i++) {
            const char *k = NULL;
            const void *v = NULL;
            int32_t vlen = -1;
            if (rv_record_header(r, i, &k, &v, &vlen) != RV_ERR_NO_ERROR)
                continue;
            printf("%s:", k);
            write_bytes(f, v, vlen);
            if (i + 1 < n)
                fputs(f->headers_sep, stdout);
        }
        write_sep(f, f->key || f->value);
    }
    if (f->key) {
        int32_t len;
        const void *k = rv_record_key(r, &len);
        write_deserialized(f, &f->key_de, rv_record_topic(r), k, len);
        write_sep(f, f->value);
    }
    if (f->value) {
        int32_t len;
        const void *v = rv_record_value(r, &len);
        write_deserialized(f, &f->value_de, rv_record_topic(r), v, len);
        fputs(f->line_sep, stdout);
    }
}

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Builds the consumer's properties as Kafka's ConsoleConsumer: the file,
 * then --consumer-property, then the group, offset reset, bootstrap and
 * isolation level from the flags. Returns NULL after printing a usage
 * error (*usage set) or with a message in errstr. */
/* Moves the position of each partition with records in rs[from..] back
 * to the first of them, so that what the consumer commits when it closes
 * (auto commit of the positions) covers only the records printed. */
static void rewind_unprinted(rv_consumer_t *c, const rv_records_t *rs, size_t from) {
    size_t n = rv_records_count(rs);
    for (size_t i = from; i < n; i++) {
        const rv_record_t *r = rv_records_get(rs, i);
        bool first = true; /* the partition's first record at or after `from` */
        for (size_t j = from; first && j < i; j++) {
            const rv_record_t *q = rv_records_get(rs, j);
            first = rv_record_partition(q) != rv_record_partition(r) ||
                    strcmp(rv_record_topic(q), rv_record_topic(r)) != 0;
        }
        if (first)
            rv_consumer_seek(c, rv_record_topic(r), rv_record_partition(r), rv_record_offset(r));
    }
}

static rv_conf_t *build_conf(const rv__args_t *a, bool partition_mode, bool *usage, char *errstr,
                             size_t errstr_size) {
    *usage = false;
    rv_conf_t *conf = rv_conf_new(), *file = rv_conf_new(), *fresh = rv_conf_new();
    char extra_group[256] = "", extra_reset[64] = "";
    bool extra_commit = false, file_commit = false;
    if (!conf || !file || !fresh) {
        snprintf(errstr, errstr_size, "Out of memory");
        goto bad;
    }
    if (rv__tool_conf_put(conf, "client.id", "console-consumer", errstr, errstr_size) < 0)
        goto bad;
    const char *cfg = rv__args_str(a, "consumer.config");
    if (cfg) {
        errstr[0] = '\0';
        if (rv_conf_load_file(conf, cfg, errstr, errstr_size) != RV_CONF_OK ||
            rv_conf_load_file(file, cfg, errstr, errstr_size) != RV_CONF_OK) {
            if (!errstr[0])
                snprintf(errstr, errstr_size, "%s: cannot load properties file", cfg);
            goto bad;
        }
        const char *fc = rv_conf_get(file, "enable.auto.commit");
        const char *dc = rv_conf_get(fresh, "enable.auto.commit");
        file_commit = fc && dc && strcmp(fc, dc) != 0;
    }
    size_t np = 0;
    const char *const *pp = rv__args_strs(a, "consumer-property", &np);
    for (size_t i = 0; i < np; i++) {
        char key[256], val[1024];
        if (rv__tool_split_kv(pp[i], key, sizeof key, val, sizeof val) < 0) {
            snprintf(errstr, errstr_size, "Invalid command line properties: %s", pp[i]);
            goto bad;
        }
        if (rv__tool_conf_put(conf, key, val, errstr, errstr_size) < 0)
            goto bad;
        if (!strcmp(key, "group.id"))
            snprintf(extra_group, sizeof extra_group, "%.255s", val);
        if (!strcmp(key, "auto.offset.reset"))
            snprintf(extra_reset, sizeof extra_reset, "%.63s", val);
        if (!strcmp(key, "enable.auto.commit"))
            extra_commit = true;
    }
    /* checkConsumerGroup: every group id given must be the same one. */
    const char *ids[3] = {rv__args_str(a, "group"), cfg ? rv_conf_get(file, "group.id") : NULL,
                          extra_group[0] ? extra_group : NULL};
    const char *gid = NULL;
    char detected[1024] = "";
    size_t dlen = 0;
    bool mismatch = false;
    for (size_t i = 0; i < 3; i++) {
        if (!ids[i] || !ids[i][0])
            continue;
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || (ids[j] && !strcmp(ids[j], ids[i]));
        if (seen)
            continue;
        if (gid)
            mismatch = true;
        else
            gid = ids[i];
        if (dlen < sizeof detected)
            dlen += (size_t)snprintf(detected + dlen, sizeof detected - dlen, "%s'%s'",
                                     dlen ? ", " : "", ids[i]);
    }
    if (mismatch) {
        snprintf(errstr, errstr_size,
                 "The group ids provided in different places (directly using '--group', via "
                 "'--consumer-property', or via '--consumer.config') do not match. Detected "
                 "group ids: %s",
                 detected);
        *usage = true;
        goto bad;
    }
    if (gid && partition_mode) {
        snprintf(errstr, errstr_size, "Options group and partition cannot be specified together.");
        *usage = true;
        goto bad;
    }
    if (!gid && !partition_mode) {
        /* A generated group, as Kafka's: it is not meant to be used again,
         * so it does not commit unless asked to. */
        char g[64];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        srand((unsigned)(ts.tv_nsec ^ ts.tv_sec));
        snprintf(g, sizeof g, "console-consumer-%d", rand() % 100000);
        if (rv__tool_conf_put(conf, "group.id", g, errstr, errstr_size) < 0)
            goto bad;
        if (!extra_commit && !file_commit &&
            rv__tool_conf_put(conf, "enable.auto.commit", "false", errstr, errstr_size) < 0)
            goto bad;
    } else if (gid && rv__tool_conf_put(conf, "group.id", gid, errstr, errstr_size) < 0) {
        goto bad;
    }
    /* auto.offset.reset: --from-beginning means earliest; a different value
     * set explicitly conflicts with it. */
    const char *reset =
        extra_reset[0] ? extra_reset : (cfg ? rv_conf_get(file, "auto.offset.reset") : NULL);
    const char *dreset = rv_conf_get(fresh, "auto.offset.reset");
    bool reset_set = extra_reset[0] || (reset && dreset && strcmp(reset, dreset) != 0);
    if (rv__args_has(a, "from-beginning")) {
        if (reset_set && strcmp(reset, "earliest") != 0) {
            snprintf(errstr, errstr_size,
                     "Can't simultaneously specify --from-beginning and 'auto.offset.reset=%s', "
                     "to specify auto.offset.reset, set it to 'earliest'.",
                     reset);
            *usage = true;
            goto bad;
        }
        if (rv__tool_conf_put(conf, "auto.offset.reset", "earliest", errstr, errstr_size) < 0)
            goto bad;
    } else if (!reset_set &&
               rv__tool_conf_put(conf, "auto.offset.reset", "latest", errstr, errstr_size) < 0) {
        goto bad;
    }
    if (rv__tool_conf_put(conf, "bootstrap.servers", rv__args_str(a, "bootstrap-server"), errstr,
                          errstr_size) < 0)
        goto bad;
    const char *iso = rv__args_str(a, "isolation-level");
    if (iso && rv__tool_conf_put(conf, "isolation.level", iso, errstr, errstr_size) < 0)
        goto bad;
    rv_conf_destroy(file);
    rv_conf_destroy(fresh);
    return conf;
bad:
    rv_conf_destroy(conf);
    rv_conf_destroy(file);
    rv_conf_destroy(fresh);
    return NULL;
}

/* How often the loop wakes to look at signals and the timeout. */
#define POLL_SLICE_MS 100

int rv__cmd_console_consumer(int argc, char **argv) {
    const char *about =
        "This tool helps to read data from Kafka topics and outputs it to standard output.";
    if (argc == 0)
        return usage_fail(about);
    rv__args_t a;
    char errstr[1024];
    if (rv__args_parse(&a, cc_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        return usage_fail(errstr);
    }
    int rc = 0;
    size_t nprops = 0;
    char **store = NULL;
    rv_consumer_t *c = NULL;
    rv_topic_partition_list_t *tpl = NULL;
    long long total = 0;
    bool started = false;
    fmt_t fmt;
    memset(&fmt, 0, sizeof fmt);
    if (a.help) {
        fprintf(stderr, "%s\n", about);
        rv__args_usage(stderr, cc_opts);
        goto out;
    }
    if (a.version) {
        printf("%s\n", RV_TOOL_VERSION);
        goto out;
    }
    if (!rv__args_has(&a, "topic")) {
        rc = usage_fail("Exactly one of include/topic is required.");
        goto out;
    }
    bool partition_mode = rv__args_has(&a, "partition");
    if (partition_mode) {
        if (rv__args_has(&a, "from-beginning") && rv__args_has(&a, "offset")) {
            rc = usage_fail("Options from-beginning and offset cannot be specified together.");
            goto out;
        }
    } else if (rv__args_has(&a, "offset")) {
        rc = usage_fail("The partition is required when offset is specified.");
        goto out;
    }
    if (!rv__args_has(&a, "bootstrap-server")) {
        rc = usage_fail("Missing required argument \"[bootstrap-server]\"");
        goto out;
    }
    int64_t start = rv__args_has(&a, "from-beginning") ? RV_OFFSET_BEGINNING : RV_OFFSET_END;
    const char *off = rv__args_str(&a, "offset");
    if (off) {
        if (!strcasecmp(off, "earliest"))
            start = RV_OFFSET_BEGINNING;
        else if (!strcasecmp(off, "latest"))
            start = RV_OFFSET_END;
        else if (rv__args_parse_int64(off, &start) < 0 || start < 0) {
            rc = usage_fail("The provided offset value is incorrect. Valid values are "
                            "'earliest', 'latest', or a non-negative long.");
            goto out;
        }
    }
    int64_t timeout_ms = -1;
    const char *tmo = rv__args_str(&a, "timeout-ms");
    if (tmo && rv__args_parse_int64(tmo, &timeout_ms) < 0) {
        snprintf(errstr, sizeof errstr, "Cannot parse argument '%.100s' of option timeout-ms", tmo);
        rc = usage_fail(errstr);
        goto out;
    }
    const char *const *props = rv__args_strs(&a, "property", &nprops);
    store = calloc(nprops + 1, sizeof *store);
    if (!store) {
        rc = rv__tool_fail("Out of memory");
        goto out;
    }
    if (fmt_configure(&fmt, props, nprops, store, errstr, sizeof errstr) < 0) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    bool usage;
    rv_conf_t *conf = build_conf(&a, partition_mode, &usage, errstr, sizeof errstr);
    if (!conf) {
        rc = usage ? usage_fail(errstr) : rv__tool_fail(errstr);
        goto out;
    }
    errstr[0] = '\0';
    c = rv_consumer_new(conf, errstr, sizeof errstr);
    if (!c) {
        rv_conf_destroy(conf);
        rc = rv__tool_fail(errstr[0] ? errstr : "Failed to create the consumer");
        goto out;
    }
    const char *topic = rv__args_str(&a, "topic");
    rv_err_t err;
    if (partition_mode) {
        tpl = rv_topic_partition_list_new(1);
        rv_topic_partition_t *tp =
            tpl ? rv_topic_partition_list_add(tpl, topic, rv__args_int(&a, "partition")) : NULL;
        if (!tp) {
            rc = rv__tool_fail("Out of memory");
            goto out;
        }
        rv_topic_partition_set_offset(tp, start);
        err = rv_consumer_assign(c, tpl);
    } else {
        err = rv_consumer_subscribe(c, &topic, 1, NULL);
    }
    if (err) {
        const char *m = rv_consumer_last_error(c);
        rc = rv__tool_fail(m && *m ? m : rv_err_str(err));
        goto out;
    }
    started = true;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int32_t max = rv__args_has(&a, "max-messages") ? rv__args_int(&a, "max-messages") : -1;
    long long idle_since = mono_ms();
    while (!stop_requested && (max < 0 || total < max)) {
        int slice = POLL_SLICE_MS;
        if (timeout_ms >= 0) {
            /* Elapsed time against the timeout: no sum that could overflow. */
            long long idle = mono_ms() - idle_since;
            if (idle >= timeout_ms)
                break; /* Kafka's TimeoutException: no record for timeout-ms */
            if (timeout_ms - idle < slice)
                slice = (int)(timeout_ms - idle);
        }
        rv_records_t *rs = NULL;
        err = rv_consumer_poll(c, slice, &rs);
        if (err == RV_ERR__WAKEUP)
            break;
        if (err) {
            const char *m = rv_consumer_last_error(c);
            fflush(stdout);
            fprintf(stderr, "ERROR Error processing message, terminating consumer process: %s\n",
                    m && *m ? m : rv_err_str(err));
            rc = 1;
            break;
        }
        size_t n = rv_records_count(rs), printed = 0;
        for (; printed < n && (max < 0 || total < max); printed++) {
            format_record(&fmt, rv_records_get(rs, printed));
            total++;
        }
        if (n > 0 && (fflush(stdout) != 0 || ferror(stdout))) {
            /* Not delivered: the group must not commit this poll's records. */
            int e = errno;
            rewind_unprinted(c, rs, 0);
            rv_records_destroy(rs);
            fprintf(stderr, "ERROR Error writing the output, terminating consumer process: %s\n",
                    strerror(e));
            rc = 1;
            break;
        }
        rewind_unprinted(c, rs, printed); /* past --max-messages */
        if (n > 0)
            idle_since = mono_ms();
        rv_records_destroy(rs);
    }
out:
    if (c)
        rv_consumer_close(c);
    rv_consumer_destroy(c);
    rv_topic_partition_list_destroy(tpl);
    if (started) {
        fflush(stdout);
        fprintf(stderr, "Processed a total of %lld messages\n", total);
    }
    fmt_free(&fmt);
    for (size_t i = 0; store && i < nprops; i++)
        free(store[i]);
    free(store);
    rv__args_free(&a);
    return rc;
}
