/* tools/console_producer_cmd.c: `rivulet console-producer`, Apache Kafka's
 * kafka-console-producer.sh (ConsoleProducer with its LineMessageReader):
 * reads standard input line by line and sends each line as one record,
 * through the producer of rivulet/producer.h.
 *
 * The reader's properties (--property) are LineMessageReader's: parse.key
 * and key.separator (default a tab) split a key off the front of the line,
 * parse.headers with headers.delimiter, headers.separator and
 * headers.key.separator take headers off the front before the key,
 * null.marker turns a key, value or header value equal to it into null, and
 * ignore.error keeps lines that lack a separator instead of stopping.
 * headers.separator is a plain string here, where Kafka compiles it as a
 * Java regular expression.
 *
 * The producer's properties come, as in Kafka, from --producer.config, then
 * the dedicated flags (--request-required-acks, --compression-codec,
 * --timeout as linger.ms, ...), then --producer-property on top.
 *
 * Exit status: 0 when every line was sent and acknowledged. A line the
 * reader rejects stops the command with Kafka's message ("No key separator
 * found on line number 3: 'foo'") after the lines before it are delivered;
 * a record the broker or producer failed is reported as Kafka's
 * ErrorLoggingCallback does, and the command goes on but exits 1 (Kafka
 * exits 0 there; scripts here can tell). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t cp_opts[] = {
    {"batch-size", RV__OPT_INT, false, "size",
     "Number of bytes of records batched per partition before they are sent (batch.size)."},
    {"bootstrap-server", RV__OPT_STRING, false, "server to connect to",
     "REQUIRED: The server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"compression-codec", RV__OPT_STRING, false, "[compression-codec]",
     "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified "
     "without value, then it defaults to 'gzip'"},
    {"max-block-ms", RV__OPT_STRING, false, "max block on send",
     "The max time that the producer will block for during a send request. (default: 60000)"},
    {"max-memory-bytes", RV__OPT_STRING, false, "total memory in bytes",
     "The total memory used by the producer to buffer records waiting to be sent to the "
     "server. (default: 33554432)"},
    {"message-send-max-retries", RV__OPT_INT, false, "Integer",
     "How many times a failed append is retried before the record is given up (retries). "
     "(default: 3)"},
    {"producer-property", RV__OPT_STRING, true, "producer_prop",
     "A mechanism to pass user-defined properties in the form key=value to the producer."},
    {"producer.config", RV__OPT_STRING, false, "config file",
     "Producer config properties file. Note that [producer-property] takes precedence over "
     "this config."},
    {"property", RV__OPT_STRING, true, "prop",
     "A mechanism to pass user-defined properties in the form key=value to the message reader. "
     "This allows custom configuration for a user-defined message reader.\nDefault properties "
     "include:\n parse.key=false\n parse.headers=false\n ignore.error=false\n "
     "key.separator=\\t\n headers.delimiter=\\t\n headers.separator=,\n "
     "headers.key.separator=:\n null.marker=   When set, any fields (key, value and headers) "
     "equal to this will be replaced by null\nDefault parsing pattern when:\n "
     "parse.headers=true and parse.key=true:\n  \"h1:v1,h2:v2...\\tkey\\tvalue\"\n "
     "parse.key=true:\n  \"key\\tvalue\"\n parse.headers=true:\n  \"h1:v1,h2:v2...\\tvalue\""},
    {"request-required-acks", RV__OPT_STRING, false, "request required acks",
     "The required `acks` of the producer requests (default: -1)"},
    {"request-timeout-ms", RV__OPT_INT, false, "request timeout ms",
     "The ack timeout of the producer requests. Value must be non-negative and non-zero. "
     "(default: 1500)"},
    {"sync", RV__OPT_FLAG, false, NULL,
     "If set message send requests to the brokers are synchronously, one at a time as they "
     "arrive."},
    {"timeout", RV__OPT_STRING, false, "timeout_ms",
     "If set and the producer is running in asynchronous mode, this gives the maximum amount "
     "of time a message will queue awaiting sufficient batch size. The value is given in ms. "
     "This is the option to control `linger.ms` in producer configs. (default: 1000)"},
    {"topic", RV__OPT_STRING, false, "topic", "REQUIRED: The topic id to produce messages to."},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

/* LineMessageReader's settings. Strings point into argv. */
typedef struct reader_s {
    bool parse_key, parse_headers, ignore_error;
    const char *key_sep, *headers_delim, *headers_sep, *headers_key_sep;
    const char *null_marker; /* NULL when not set */
    long line_no;
} reader_t;

/* What the delivery callback needs to report a failure as Kafka's
 * ErrorLoggingCallback does. */
typedef struct run_s {
    long failed; /* records the producer did not deliver */
} run_t;

typedef struct sent_s {
    run_t *run;
    int32_t key_len, value_len;
} sent_t;

static int usage_fail(const char *msg) {
    rv__args_usage_error(cp_opts, msg);
    return 1;
}

static bool str_eq(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

/* Applies the --property values to the reader. The strings kept are
 * copies owned by `store` (freed by the caller). Returns 0, or -1 with a
 * message. */
static int reader_configure(reader_t *r, const char *const *props, size_t n, char **store,
                            char *errstr, size_t errstr_size) {
    memset(r, 0, sizeof *r);
    r->key_sep = "\t";
    r->headers_delim = "\t";
    r->headers_sep = ",";
    r->headers_key_sep = ":";
    for (size_t i = 0; i < n; i++) {
        char key[256], val[1024];
        if (rv__tool_split_kv(props[i], key, sizeof key, val, sizeof val) < 0) {
            snprintf(errstr, errstr_size, "Invalid command line properties: %s", props[i]);
            return -1;
        }
        char *copy = strdup(val);
        if (!copy) {
            snprintf(errstr, errstr_size, "Out of memory");
            return -1;
        }
        store[i] = copy;
        if (!strcmp(key, "parse.key"))
            r->parse_key = rv__tool_is_true(copy);
        else if (!strcmp(key, "key.separator"))
            r->key_sep = copy;
        else if (!strcmp(key, "parse.headers"))
            r->parse_headers = rv__tool_is_true(copy);
        else if (!strcmp(key, "headers.delimiter"))
            r->headers_delim = copy;
        else if (!strcmp(key, "headers.separator"))
            r->headers_sep = copy;
        else if (!strcmp(key, "headers.key.separator"))
            r->headers_key_sep = copy;
        else if (!strcmp(key, "ignore.error"))
            r->ignore_error = rv__tool_is_true(copy);
        else if (!strcmp(key, "null.marker"))
            r->null_marker = copy;
        /* Other names are for a user-defined reader in Kafka; ignored. */
    }
    /* LineMessageReader.configure's checks, in its order. */
    static const struct {
        size_t a, b;
        const char *msg;
    } clashes[] = {
        {1, 2, "headers.delimiter and headers.separator may not be equal"},
        {1, 3, "headers.delimiter and headers.key.separator may not be equal"},
        {2, 3, "headers.separator and headers.key.separator may not be equal"},
        {0, 4, "null.marker and key.separator may not be equal"},
        {2, 4, "null.marker and headers.separator may not be equal"},
        {1, 4, "null.marker and headers.delimiter may not be equal"},
        {3, 4, "null.marker and headers.key.separator may not be equal"},
    };
    const char *vals[5] = {r->key_sep, r->headers_delim, r->headers_sep, r->headers_key_sep,
                           r->null_marker};
    for (size_t i = 0; i < sizeof clashes / sizeof clashes[0]; i++)
        if (str_eq(vals[clashes[i].a], vals[clashes[i].b])) {
            snprintf(errstr, errstr_size, "%s", clashes[i].msg);
            return -1;
        }
    if (!r->key_sep[0] || !r->headers_delim[0] || !r->headers_sep[0] || !r->headers_key_sep[0]) {
        snprintf(errstr, errstr_size, "Separators may not be empty");
        return -1;
    }
    return 0;
}

static void on_delivery(rv_producer_t *p, rv_err_t err, const char *errmsg, const char *topic,
                        int32_t partition, int64_t offset, int64_t timestamp, void *opaque) {
    (void)p;
    (void)partition;
    (void)offset;
    (void)timestamp;
    sent_t *s = opaque;
    if (err) {
        char k[32] = "null", v[32] = "null";
        if (s && s->key_len >= 0)
            snprintf(k, sizeof k, "%d bytes", s->key_len);
        if (s && s->value_len >= 0)
            snprintf(v, sizeof v, "%d bytes", s->value_len);
        fprintf(stderr,
                "ERROR Error when sending message to topic %s with key: %s, value: %s with "
                "error: %s\n",
                topic, k, v, errmsg && *errmsg ? errmsg : rv_err_str(err));
        if (s)
            s->run->failed++;
    }
    free(s);
}

/* The first `needle` in line[from..len), or -1. */
static long find(const char *line, size_t len, size_t from, const char *needle) {
    size_t n = strlen(needle);
    if (n == 0 || from > len)
        return -1;
    for (size_t i = from; i + n <= len; i++)
        if (memcmp(line + i, needle, n) == 0)
            return (long)i;
    return -1;
}

/* One parsed line: slices of the line buffer (len -1 = null). */
typedef struct slice_s {
    const char *p;
    int32_t len;
} slice_t;

/* LineMessageReader.parse: the text from `from` up to the demarcation.
 * Returns 1 with *out set, 0 when not enabled or ignored, -1 on error. */
static int parse_part(const reader_t *r, bool enabled, const char *line, size_t len, size_t from,
                      const char *demarcation, const char *name, slice_t *out, char *errstr,
                      size_t errstr_size) {
    if (!enabled)
        return 0;
    long idx = find(line, len, from, demarcation);
    if (idx < 0) {
        if (r->ignore_error)
            return 0;
        snprintf(errstr, errstr_size, "No %s found on line number %ld: '%.*s'", name, r->line_no,
                 (int)len, line);
        return -1;
    }
    out->p = line + from;
    out->len = (int32_t)((size_t)idx - from);
    return 1;
}

static bool is_null_marker(const reader_t *r, const char *p, size_t len) {
    return r->null_marker && strlen(r->null_marker) == len && memcmp(p, r->null_marker, len) == 0;
}

/* Splits the headers part into hdrs (at most max; each key a NUL-terminated
 * copy in keybuf, each value a slice of the line). Returns the count or -1
 * with a message. */
static long split_headers(const reader_t *r, const char *h, size_t hlen, rv_header_t *hdrs,
                          size_t max, char *keybuf, size_t keybuf_size, char *errstr,
                          size_t errstr_size) {
    size_t n = 0, kb = 0, pos = 0;
    size_t seplen = strlen(r->headers_sep);
    /* Java's String.split drops trailing empty strings. */
    size_t end = hlen;
    while (end >= seplen && end > 0 && memcmp(h + end - seplen, r->headers_sep, seplen) == 0)
        end -= seplen;
    if (end == 0 && hlen > 0)
        return 0;
    while (pos <= end) {
        long next = find(h, end, pos, r->headers_sep);
        size_t plen = (next < 0 ? end : (size_t)next) - pos;
        const char *pair = h + pos;
        long i = find(pair, plen, 0, r->headers_key_sep);
        size_t klen = i < 0 ? plen : (size_t)i;
        if (i < 0 && !r->ignore_error) {
            snprintf(errstr, errstr_size,
                     "No header key separator found in pair '%.*s' on line number %ld", (int)plen,
                     pair, r->line_no);
            return -1;
        }
        if (is_null_marker(r, pair, klen)) {
            snprintf(errstr, errstr_size,
                     "Header keys should not be equal to the null marker '%s' as they can't be "
                     "null",
                     r->null_marker);
            return -1;
        }
        if (n == max || kb + klen + 1 > keybuf_size) {
            snprintf(errstr, errstr_size, "Too many headers on line number %ld", r->line_no);
            return -1;
        }
        memcpy(keybuf + kb, pair, klen);
        keybuf[kb + klen] = '\0';
        hdrs[n].key = keybuf + kb;
        kb += klen + 1;
        if (i < 0) {
            hdrs[n].value = NULL;
            hdrs[n].value_len = -1;
        } else {
            const char *v = pair + i + strlen(r->headers_key_sep);
            size_t vlen = plen - (size_t)i - strlen(r->headers_key_sep);
            bool null = is_null_marker(r, v, vlen);
            hdrs[n].value = null ? NULL : v;
            hdrs[n].value_len = null ? -1 : (int32_t)vlen;
        }
        n++;
        if (next < 0)
            break;
        pos = (size_t)next + seplen;
    }
    return (long)n;
}

#define MAX_HEADERS 256

/* Sends one line. Returns 0, or -1 after a reader error (message in
 * errstr): the command then stops. */
static int send_line(rv_producer_t *p, run_t *run, const reader_t *r, const char *topic, bool sync,
                     const char *line, size_t len, char *errstr, size_t errstr_size) {
    slice_t headers = {NULL, -1}, key = {NULL, -1};
    int hr = parse_part(r, r->parse_headers, line, len, 0, r->headers_delim, "headers delimiter",
                        &headers, errstr, errstr_size);
    if (hr < 0)
        return -1;
    size_t hoff = hr ? (size_t)headers.len + strlen(r->headers_delim) : 0;
    int kr = parse_part(r, r->parse_key, line, len, hoff, r->key_sep, "key separator", &key, errstr,
                        errstr_size);
    if (kr < 0)
        return -1;
    size_t koff = kr ? (size_t)key.len + strlen(r->key_sep) : 0;
    rv_producer_record_t rec = RV_PRODUCER_RECORD_INIT;
    rec.topic = topic;
    if (kr && !is_null_marker(r, key.p, (size_t)key.len)) {
        rec.key = key.p;
        rec.key_len = key.len;
    }
    const char *v = line + hoff + koff;
    size_t vlen = len - hoff - koff;
    if (!is_null_marker(r, v, vlen)) {
        rec.value = v;
        rec.value_len = (int32_t)vlen;
    }
    rv_header_t hdrs[MAX_HEADERS];
    static char keybuf[1 << 16];
    if (hr && !is_null_marker(r, headers.p, (size_t)headers.len)) {
        long n = split_headers(r, headers.p, (size_t)headers.len, hdrs, MAX_HEADERS, keybuf,
                               sizeof keybuf, errstr, errstr_size);
        if (n < 0)
            return -1;
        rec.headers = hdrs;
        rec.header_cnt = (size_t)n;
    }
    sent_t *s = malloc(sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "Out of memory");
        return -1;
    }
    s->run = run;
    s->key_len = rec.key_len;
    s->value_len = rec.value_len;
    char es[512] = "";
    rv_err_t err;
    if (sync) {
        err = rv_producer_send_sync(p, &rec, NULL, NULL, NULL, es, sizeof es);
        if (err)
            on_delivery(p, err, es, topic, -1, -1, -1, s);
        else
            free(s);
        return 0;
    }
    err = rv_producer_send(p, &rec, on_delivery, s, es, sizeof es);
    if (err) /* not accepted: no callback will run */
        on_delivery(p, err, es, topic, -1, -1, -1, s);
    rv_producer_poll(p, 0);
    return 0;
}

/* The producer properties, with Kafka's precedence: the flags' defaults,
 * then --producer.config, then --producer-property, then the flags given
 * explicitly (CommandLineUtils.maybeMergeOptions). */
static rv_conf_t *build_conf(const rv__args_t *a, char *errstr, size_t errstr_size) {
    static const struct {
        const char *opt, *prop, *dflt;
    } flags[] = {
        {"request-required-acks", "acks", "-1"},
        {"timeout", "linger.ms", "1000"},
        {"message-send-max-retries", "retries", "3"},
        {"request-timeout-ms", "request.timeout.ms", "1500"},
        {"max-block-ms", "max.block.ms", "60000"},
        {"max-memory-bytes", "buffer.memory", "33554432"},
        {"batch-size", "batch.size", "16384"},
        {"compression-codec", "compression.type", NULL},
    };
    const size_t nflags = sizeof flags / sizeof flags[0];
    rv_conf_t *conf = rv_conf_new(), *file = rv_conf_new(), *dflt = rv_conf_new();
    if (!conf || !file || !dflt) {
        snprintf(errstr, errstr_size, "Out of memory");
        goto bad;
    }
    if (rv__tool_conf_put(conf, "client.id", "console-producer", errstr, errstr_size) < 0)
        goto bad;
    for (size_t i = 0; i < nflags; i++)
        if (flags[i].dflt &&
            rv__tool_conf_put(conf, flags[i].prop, flags[i].dflt, errstr, errstr_size) < 0)
            goto bad;
    const char *cfg = rv__args_str(a, "producer.config");
    if (cfg) {
        errstr[0] = '\0';
        if (rv_conf_load_file(conf, cfg, errstr, errstr_size) != RV_CONF_OK ||
            rv_conf_load_file(file, cfg, errstr, errstr_size) != RV_CONF_OK) {
            if (!errstr[0])
                snprintf(errstr, errstr_size, "%s: cannot load properties file", cfg);
            goto bad;
        }
    }
    size_t np = 0;
    const char *const *pp = rv__args_strs(a, "producer-property", &np);
    bool idem_given =
        cfg &&
        strcmp(rv_conf_get(file, "enable.idempotence") ? rv_conf_get(file, "enable.idempotence")
                                                       : "",
               rv_conf_get(dflt, "enable.idempotence") ? rv_conf_get(dflt, "enable.idempotence")
                                                       : "") != 0;
    for (size_t i = 0; i < np; i++) {
        char key[256], val[1024];
        if (rv__tool_split_kv(pp[i], key, sizeof key, val, sizeof val) < 0) {
            snprintf(errstr, errstr_size, "Invalid command line properties: %s", pp[i]);
            goto bad;
        }
        if (rv__tool_conf_put(conf, key, val, errstr, errstr_size) < 0)
            goto bad;
        if (!strcmp(key, "enable.idempotence"))
            idem_given = true;
    }
    for (size_t i = 0; i < nflags; i++) {
        const char *v = rv__args_str(a, flags[i].opt);
        if (v && rv__tool_conf_put(conf, flags[i].prop, v, errstr, errstr_size) < 0)
            goto bad;
    }
    if (rv__tool_conf_put(conf, "bootstrap.servers", rv__args_str(a, "bootstrap-server"), errstr,
                          errstr_size) < 0)
        goto bad;
    /* Kafka turns idempotence off by itself when acks is not all and the
     * user did not ask for it; rivulet's producer wants it said. */
    const char *acks = rv_conf_get(conf, "acks");
    if (!idem_given && acks && strcmp(acks, "all") != 0 && strcmp(acks, "-1") != 0 &&
        rv__tool_conf_put(conf, "enable.idempotence", "false", errstr, errstr_size) < 0)
        goto bad;
    rv_conf_destroy(file);
    rv_conf_destroy(dflt);
    return conf;
bad:
    rv_conf_destroy(conf);
    rv_conf_destroy(file);
    rv_conf_destroy(dflt);
    return NULL;
}

/* jopt-simple's optional argument: "--compression-codec" followed by
 * nothing or by another option means gzip, as Kafka's flag. args.h only
 * knows required arguments, so the value is filled in here. Caller frees
 * the returned vector (its strings borrow argv or a literal). */
static char **fill_optional_codec(int argc, char **argv, int *out_argc) {
    static char codec_flag[] = "--compression-codec", gzip[] = "gzip";
    char **v = calloc((size_t)argc * 2 + 1, sizeof *v);
    if (!v)
        return NULL;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        v[n++] = argv[i];
        if (strcmp(argv[i], codec_flag) == 0 &&
            (i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0))
            v[n++] = gzip;
    }
    *out_argc = n;
    return v;
}

/* Reads one line of any length, as Java's readLine: a line ends at "\n",
 * "\r\n" or a lone "\r", which are not part of it. Returns its length, -1
 * at the end of input, or -2 when out of memory. */
static long read_line(FILE *f, char **buf, size_t *cap) {
    size_t n = 0;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF && ch != '\n' && ch != '\r') {
        if (n + 1 >= *cap) {
            size_t ncap = *cap ? *cap * 2 : 256;
            char *nb = realloc(*buf, ncap);
            if (!nb)
                return -2;
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[n++] = (char)ch;
    }
    if (ch == EOF && n == 0)
        return -1;
    if (ch == '\r' && (ch = getc_unlocked(f)) != '\n' && ch != EOF)
        ungetc(ch, f);
    if (!*buf && !(*buf = malloc(*cap = 256)))
        return -2;
    (*buf)[n] = '\0';
    return (long)n;
}

int rv__cmd_console_producer(int argc, char **argv) {
    const char *about = "This tool helps to read data from standard input and publish it to Kafka.";
    if (argc == 0)
        return usage_fail(about);
    int vargc = 0;
    char **vargv = fill_optional_codec(argc, argv, &vargc);
    if (!vargv)
        return rv__tool_fail("Out of memory");
    rv__args_t a;
    char errstr[1024];
    int rc = 0;
    size_t nprops = 0;
    char **store = NULL;
    rv_producer_t *p = NULL;
    char *line = NULL;
    size_t cap = 0;
    if (rv__args_parse(&a, cp_opts, vargc, vargv, errstr, sizeof errstr) < 0) {
        rc = usage_fail(errstr);
        goto out;
    }
    if (a.help) {
        fprintf(stderr, "%s\n", about);
        rv__args_usage(stderr, cp_opts);
        goto out;
    }
    if (a.version) {
        printf("%s\n", RV_TOOL_VERSION);
        goto out;
    }
    if (!rv__args_has(&a, "topic")) {
        rc = usage_fail("Missing required argument \"[topic]\"");
        goto out;
    }
    if (!rv__args_has(&a, "bootstrap-server")) {
        rc = usage_fail("Missing required argument \"[bootstrap-server]\"");
        goto out;
    }
    const char *const *props = rv__args_strs(&a, "property", &nprops);
    store = calloc(nprops + 1, sizeof *store);
    if (!store) {
        rc = rv__tool_fail("Out of memory");
        goto out;
    }
    reader_t r;
    if (reader_configure(&r, props, nprops, store, errstr, sizeof errstr) < 0) {
        rc = rv__tool_fail(errstr);
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
    const char *topic = rv__args_str(&a, "topic");
    bool sync = rv__args_has(&a, "sync");
    /* As Java's System.console(): a prompt only when both ends are a
     * terminal. */
    bool prompt = isatty(0) && isatty(1);
    run_t run = {0};
    long n;
    for (;;) {
        r.line_no++;
        if (prompt) {
            fputs(">", stdout);
            fflush(stdout);
        }
        if ((n = read_line(stdin, &line, &cap)) < 0) {
            if (n == -2)
                rc = rv__tool_fail("Out of memory reading a line");
            break;
        }
        if (send_line(p, &run, &r, topic, sync, line, (size_t)n, errstr, sizeof errstr) < 0) {
            /* The lines before this one are still delivered. */
            rv_producer_flush(p, -1);
            rc = rv__tool_fail(errstr);
            break;
        }
    }
    if (ferror(stdin) && rc == 0)
        rc = rv__tool_fail(strerror(errno));
    rv_producer_flush(p, -1);
    rv_producer_close(p, -1);
    if (run.failed)
        rc = 1;
out:
    rv_producer_destroy(p);
    free(line);
    for (size_t i = 0; store && i < nprops; i++)
        free(store[i]);
    free(store);
    rv__args_free(&a);
    free(vargv);
    return rc;
}
