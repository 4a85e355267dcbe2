/* examples/shutdown_application.c: an uncaught error handler that stops
 * every instance of an application (docs/PROCESSOR_API.md).
 *
 * Two instances of the app "orders-check" run in this process on an
 * embedded broker in DIR (`shutdown_application DIR`), sharing the two
 * partitions of topic "orders". Its processor fails on the value
 * "poison". When that record arrives, the instance that owns its
 * partition fails, and its handler answers
 * RV_STREAMS_SHUTDOWN_APPLICATION: the group tells the other instance,
 * which never failed, and both end in ERROR. The program prints each
 * instance's state and last error. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rivulet/rivulet.h"

#define INSTANCES 2

static rv_err_t check_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                              void *state) {
    (void)ctx;
    (void)state;
    if (record->value && strcmp(record->value, "poison") == 0)
        return RV_ERR__FAIL; /* the thread fails; the handler decides */
    return RV_ERR_NO_ERROR;
}

static rv_err_t check_get(rv_processor_t *out, void *opaque) {
    (void)opaque;
    out->process = check_process;
    return RV_ERR_NO_ERROR;
}

static rv_streams_uncaught_response_t on_error(rv_err_t err, const char *message,
                                               const char *thread_name, void *opaque) {
    (void)err, (void)message, (void)thread_name, (void)opaque;
    return RV_STREAMS_SHUTDOWN_APPLICATION; /* stop every instance */
}

static rv_topology_t *build(char *errstr, size_t errstr_size) {
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t check = RV_PROCESSOR_SUPPLIER_INIT;
    check.get = check_get;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    const char *topics[] = {"orders"}, *source[] = {"Source"};
    if (!t || rv_topology_add_source(t, "Source", topics, 1, &in, errstr, errstr_size) ||
        rv_topology_add_processor(t, "Check", &check, source, 1, errstr, errstr_size) ||
        rv_topology_build(t, errstr, errstr_size)) {
        rv_topology_destroy(t);
        return NULL;
    }
    return t;
}

/* Waits up to 15 s for `want` on every instance. */
static int wait_all(rv_streams_t **apps, rv_streams_state_t want) {
    for (int tries = 0; tries < 1500; tries++) {
        int n = 0;
        for (int i = 0; i < INSTANCES; i++)
            n += rv_streams_state(apps[i]) == want;
        if (n == INSTANCES)
            return 0;
        struct timespec pause = {0, 10 * 1000000L};
        nanosleep(&pause, NULL);
    }
    return -1;
}

static int produce(const char *bootstrap, const char *value, char *errstr, size_t errstr_size) {
    rv_conf_t *conf = rv_conf_new();
    if (!conf || rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errstr_size)) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_producer_t *producer = rv_producer_new(conf, errstr, errstr_size);
    if (!producer) {
        rv_conf_destroy(conf);
        return -1;
    }
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = "orders";
    r.value = value;
    r.value_len = (int32_t)strlen(value);
    int rc = rv_producer_send(producer, &r, NULL, NULL, errstr, errstr_size) ? -1 : 0;
    if (!rc && rv_producer_flush(producer, 10000))
        rc = -1;
    rv_producer_destroy(producer);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: shutdown_application DIR\n");
        return 2;
    }
    char errstr[512], bootstrap[4200];
    snprintf(bootstrap, sizeof bootstrap, "embedded:%s", argv[1]);
    rv_broker_t *broker = NULL;
    if (rv_broker_open(&broker, argv[1], errstr, sizeof errstr)) {
        fprintf(stderr, "shutdown_application: %s\n", errstr);
        return 1;
    }
    rv_conf_t *aconf = rv_conf_new();
    rv_admin_t *admin = NULL;
    if (!aconf || rv_conf_set(aconf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        !(admin = rv_admin_new(aconf, errstr, sizeof errstr)) ||
        rv_admin_create_topic(admin, "orders", 2, -1, NULL, NULL, 0, errstr, sizeof errstr)) {
        fprintf(stderr, "shutdown_application: %s\n", errstr);
        if (admin)
            rv_admin_destroy(admin);
        else
            rv_conf_destroy(aconf);
        rv_broker_close(broker);
        return 1;
    }
    rv_admin_destroy(admin);

    rv_topology_t *topology = build(errstr, sizeof errstr);
    if (!topology) {
        fprintf(stderr, "shutdown_application: %s\n", errstr);
        rv_broker_close(broker);
        return 1;
    }
    rv_streams_t *apps[INSTANCES] = {NULL};
    int rc = 0;
    for (int i = 0; i < INSTANCES && !rc; i++) {
        char state_dir[4300];
        snprintf(state_dir, sizeof state_dir, "%s/state-%d", argv[1], i);
        rv_conf_t *conf = rv_conf_new();
        if (!conf || rv_conf_set(conf, "application.id", "orders-check", errstr, sizeof errstr) ||
            rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
            rv_conf_set(conf, "state.dir", state_dir, errstr, sizeof errstr) ||
            !(apps[i] = rv_streams_new(topology, conf, errstr, sizeof errstr))) {
            rv_conf_destroy(conf);
            rc = -1;
            break;
        }
        /* before rv_streams_start(): */
        rv_streams_set_uncaught_error_handler(apps[i], on_error, NULL);
        if (rv_streams_start(apps[i], errstr, sizeof errstr))
            rc = -1;
    }
    if (!rc && wait_all(apps, RV_STREAMS_RUNNING)) {
        snprintf(errstr, sizeof errstr, "the instances did not start running");
        rc = -1;
    }
    if (!rc)
        rc = produce(bootstrap, "poison", errstr, sizeof errstr);
    if (!rc && wait_all(apps, RV_STREAMS_ERROR)) {
        snprintf(errstr, sizeof errstr, "not every instance stopped");
        rc = -1;
    }
    int failed = 0, told = 0;
    for (int i = 0; i < INSTANCES && apps[i]; i++) {
        const char *last = rv_streams_last_error(apps[i]);
        failed += strstr(last, "Exception caught in process") != NULL;
        told += strstr(last, "Shutdown requested by an instance of the application") != NULL;
    }
    if (!rc)
        printf("instances in ERROR: %d (failed: %d, told by the group: %d)\n", INSTANCES, failed,
               told);
    for (int i = 0; i < INSTANCES; i++) {
        if (apps[i])
            rv_streams_close(apps[i], 10000);
        rv_streams_destroy(apps[i]);
    }
    rv_topology_destroy(topology);
    rv_broker_close(broker);
    if (rc || failed != 1 || told != 1) {
        fprintf(stderr, "shutdown_application: %s\n", rc ? errstr : "unexpected errors");
        return 1;
    }
    printf("shutdown application example: ok\n");
    return 0;
}
