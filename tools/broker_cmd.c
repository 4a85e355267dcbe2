/* tools/broker_cmd.c: `rivulet broker`, a single-node Kafka-compatible
 * broker (Kafka's kafka-server-start.sh): opens the data folder, serves the
 * Kafka wire protocol on --listen (broker/kafka/server.c) until SIGINT or
 * SIGTERM, then closes the server and the broker cleanly and exits 0.
 *
 * Broker settings come from an optional Java properties file (--config),
 * with Kafka's names and defaults; an unknown key is refused, so a typo
 * never silently keeps a default. The command-line options win over the
 * file. The data folder's cluster id lives in DIR/meta.properties, as in
 * Kafka's log directories.
 *
 * Signals: SIGINT and SIGTERM are blocked before any thread starts (every
 * thread inherits the mask) and the main thread waits for them with
 * sigwait(), so no handler runs on an arbitrary thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group_coordinator.h"
#include "broker/kafka/server.h"
#include "common/config.h"
#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t broker_opts[] = {
    {"advertised-listener", RV__OPT_STRING, false, "host:port",
     "The host:port clients are told to connect to (Metadata, FindCoordinator). Default: the "
     "listen address."},
    {"config", RV__OPT_STRING, false, "server.properties",
     "A properties file of broker settings: auto.create.topics.enable, num.partitions, "
     "node.id, socket.request.max.bytes, fetch.max.bytes, group.initial.rebalance.delay.ms, "
     "group.min.session.timeout.ms, group.max.session.timeout.ms."},
    {"data-dir", RV__OPT_STRING, false, "folder",
     "REQUIRED: The data folder (Kafka's log.dirs); created when missing."},
    {"listen", RV__OPT_STRING, false, "host:port",
     "The address to listen on (default: 127.0.0.1:9092; port 0 picks a free one)."},
    {"node-id", RV__OPT_INT, false, "id", "The broker's node.id (default: 1)."},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

/* The settings, with Kafka's defaults. */
typedef struct settings_s {
    bool auto_create;
    int32_t num_partitions;
    int32_t node_id;
    int32_t max_request_bytes;
    int32_t fetch_max_bytes;
    int32_t initial_rebalance_delay_ms;
    int32_t min_session_timeout_ms;
    int32_t max_session_timeout_ms;
} settings_t;

typedef struct int_prop_s {
    const char *name;
    size_t field; /* offset in settings_t */
    int32_t min;
} int_prop_t;

static const int_prop_t int_props[] = {
    {"num.partitions", offsetof(settings_t, num_partitions), 1},
    {"node.id", offsetof(settings_t, node_id), 0},
    {"socket.request.max.bytes", offsetof(settings_t, max_request_bytes), 1},
    {"fetch.max.bytes", offsetof(settings_t, fetch_max_bytes), 0},
    {"group.initial.rebalance.delay.ms", offsetof(settings_t, initial_rebalance_delay_ms), 0},
    {"group.min.session.timeout.ms", offsetof(settings_t, min_session_timeout_ms), 0},
    {"group.max.session.timeout.ms", offsetof(settings_t, max_session_timeout_ms), 0},
    {NULL, 0, 0}};

/* One "key=value" setting; -1 with a message (Kafka's ConfigException
 * wording) when the key is unknown or the value invalid. */
static int apply_setting(settings_t *st, const char *key, const char *val, char *errstr,
                         size_t errstr_size) {
    if (!strcmp(key, "auto.create.topics.enable")) {
        if (rv__parse_bool(val, &st->auto_create)) {
            snprintf(errstr, errstr_size,
                     "Invalid value %s for configuration %s: Expected value to be either true "
                     "or false",
                     val, key);
            return -1;
        }
        return 0;
    }
    for (const int_prop_t *p = int_props; p->name; p++) {
        if (strcmp(key, p->name))
            continue;
        int32_t v;
        if (rv__parse_int32(val, &v)) {
            snprintf(errstr, errstr_size,
                     "Invalid value %s for configuration %s: Not a number of type INT", val, key);
            return -1;
        }
        if (v < p->min) {
            snprintf(errstr, errstr_size,
                     "Invalid value %s for configuration %s: Value must be at least %d", val, key,
                     (int)p->min);
            return -1;
        }
        *(int32_t *)(void *)((char *)st + p->field) = v;
        return 0;
    }
    snprintf(errstr, errstr_size,
             "Unknown broker property '%s' (known: auto.create.topics.enable, num.partitions, "
             "node.id, socket.request.max.bytes, fetch.max.bytes, "
             "group.initial.rebalance.delay.ms, group.min.session.timeout.ms, "
             "group.max.session.timeout.ms)",
             key);
    return -1;
}

/* Reads a Java properties file: "key=value" or "key: value" lines, '#'
 * and '!' comments, blank lines. Errors name FILE:LINE. */
static int load_properties(settings_t *st, const char *path, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "Cannot read the config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[8192];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
            p[--n] = '\0';
        if (!*p || *p == '#' || *p == '!')
            continue;
        char *sep = strpbrk(p, "=:");
        if (!sep) {
            snprintf(errstr, errstr_size, "%s:%d: expected key=value, found '%s'", path, lineno, p);
            rc = -1;
            break;
        }
        char *end = sep;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        char *val = sep + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        char msg[900];
        if (apply_setting(st, p, val, msg, sizeof msg)) {
            snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, msg);
            rc = -1;
            break;
        }
    }
    if (!rc && ferror(f)) {
        snprintf(errstr, errstr_size, "Cannot read the config file %s: %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* "host:port", "[v6]:port" or Kafka's "PLAINTEXT://host:port" into host
 * and port. -1 with a message when it does not parse. */
static int parse_hostport(const char *opt, const char *s, char *host, size_t hsz, int *port,
                          char *errstr, size_t errstr_size) {
    const char *in = s;
    if (!strncmp(s, "PLAINTEXT://", 12))
        s += 12;
    const char *colon = strrchr(s, ':');
    const char *h = s, *he = colon;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (rb && rb[1] == ':') {
            h = s + 1;
            he = rb;
            colon = rb + 1;
        }
    }
    int32_t p;
    if (!colon || rv__args_parse_int32(colon + 1, &p) || p < 0 || p > 65535 ||
        (size_t)(he - h) >= hsz) {
        snprintf(errstr, errstr_size,
                 "Invalid value %s for option %s: expected host:port with a port from 0 to 65535",
                 in, opt);
        return -1;
    }
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    *port = p;
    return 0;
}

int rv__cmd_broker(int argc, char **argv) {
    rv__args_t a;
    char errstr[1024];
    if (rv__args_parse(&a, broker_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        rv__args_usage_error(broker_opts, errstr);
        return 1;
    }
    int rc = 0;
    rv_broker_t *broker = NULL;
    rv__kserver_t *server = NULL;
    if (argc == 0 || a.help) {
        const char *msg = "Runs a single-node broker that serves the Kafka protocol on a data "
                          "folder (kafka-server-start.sh).";
        if (argc == 0) {
            rv__args_usage_error(broker_opts, msg);
            rc = 1;
        } else {
            fprintf(stderr, "%s\n", msg);
            rv__args_usage(stderr, broker_opts);
        }
        goto out;
    }
    if (a.version) {
        printf("%s\n", RV_TOOL_VERSION);
        goto out;
    }
    if (!rv__args_has(&a, "data-dir")) {
        rv__args_usage_error(broker_opts, "Missing required argument \"[data-dir]\"");
        rc = 1;
        goto out;
    }
    settings_t st = {true, 1, 1, 104857600, 57671680, 3000, 6000, 1800000};
    const char *cfg_path = rv__args_str(&a, "config");
    if (cfg_path && load_properties(&st, cfg_path, errstr, sizeof errstr)) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    if (rv__args_has(&a, "node-id")) {
        st.node_id = rv__args_int(&a, "node-id");
        if (st.node_id < 0) {
            rc = rv__tool_fail("Invalid value for option node-id: must be at least 0");
            goto out;
        }
    }
    if (st.min_session_timeout_ms > st.max_session_timeout_ms) {
        rc = rv__tool_fail("group.min.session.timeout.ms must not be greater than "
                           "group.max.session.timeout.ms");
        goto out;
    }
    char listen_host[256] = "127.0.0.1", adv_host[256] = "";
    int listen_port = 9092, adv_port = 0;
    const char *v;
    if ((v = rv__args_str(&a, "listen")) &&
        parse_hostport("listen", v, listen_host, sizeof listen_host, &listen_port, errstr,
                       sizeof errstr)) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    if ((v = rv__args_str(&a, "advertised-listener")) &&
        parse_hostport("advertised-listener", v, adv_host, sizeof adv_host, &adv_port, errstr,
                       sizeof errstr)) {
        rc = rv__tool_fail(errstr);
        goto out;
    }

    /* A broker is a server: its connection and topic log lines are part of
     * its output unless RV_LOG_LEVEL says otherwise. */
    if (!getenv("RV_LOG_LEVEL"))
        rv_log_set_level(RV_LOG_INFO);
    /* A shell starts background jobs with SIGINT ignored, and an ignored
     * signal is discarded even while blocked: restore the default first
     * (harmless, since the signals stay blocked until sigwait). */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    const char *dir = rv__args_str(&a, "data-dir");
    rv_err_t err = rv_broker_open(&broker, dir, errstr, sizeof errstr);
    if (err) {
        rc = rv__tool_fail(rv__tool_errmsg(err, errstr));
        goto out;
    }
    char cluster_id[64];
    err = rv__kserver_cluster_id(dir, cluster_id, sizeof cluster_id, errstr, sizeof errstr);
    if (err) {
        rc = rv__tool_fail(rv__tool_errmsg(err, errstr));
        goto out;
    }
    rv__group_config_t gc;
    rv__group_config_default(&gc);
    gc.initial_rebalance_delay_ms = st.initial_rebalance_delay_ms;
    gc.min_session_timeout_ms = st.min_session_timeout_ms;
    gc.max_session_timeout_ms = st.max_session_timeout_ms;
    rv__group_coordinator_set_config(rv__broker_group_coordinator(broker), &gc);

    rv__kserver_config_t kc;
    rv__kserver_config_default(&kc);
    kc.listen_host = listen_host;
    kc.listen_port = listen_port;
    kc.advertised_host = adv_host[0] ? adv_host : NULL;
    kc.advertised_port = adv_port;
    kc.node_id = st.node_id;
    kc.auto_create_topics = st.auto_create;
    kc.num_partitions = st.num_partitions;
    kc.max_request_bytes = st.max_request_bytes;
    kc.fetch_max_bytes = st.fetch_max_bytes;
    kc.cluster_id = cluster_id;
    err = rv__kserver_start(&server, broker, &kc, errstr, sizeof errstr);
    if (err) {
        rc = rv__tool_fail(rv__tool_errmsg(err, errstr));
        goto out;
    }
    printf(strchr(listen_host, ':') ? "rivulet broker listening on [%s]:%d (node %d, data %s)\n"
                                    : "rivulet broker listening on %s:%d (node %d, data %s)\n",
           listen_host, rv__kserver_port(server), (int)st.node_id, dir);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "rivulet broker: %s received, shutting down\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
out:
    rv__kserver_stop(server);
    rv_broker_close(broker);
    rv__args_free(&a);
    return rc;
}
