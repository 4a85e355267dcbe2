/* tests/testutil.c: see testutil.h. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/kafka/server.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/record_batch.h"
#include "rivulet/admin.h"
#include "rivulet/broker.h"
#include "rivulet/serde.h"
#include "rivulet/store.h"
#include "rivulet/topology.h"

/* Data folders rvt_bootstrap() was asked for, with their servers. */
typedef struct rvt_srv_s {
    char *dir;
    rv_broker_t *broker; /* NULL for the embedded backend */
    rv__kserver_t *server;
    char bs[4200];
    struct rvt_srv_s *next;
} rvt_srv_t;

static pthread_mutex_t g_srv_lock = PTHREAD_MUTEX_INITIALIZER;
static rvt_srv_t *g_srvs;
static int g_atexit_done;

static void srv_free(rvt_srv_t *e) {
    rv__kserver_stop(e->server);
    rv_broker_close(e->broker);
    free(e->dir);
    free(e);
}

int rvt_kafka_backend(void) {
    const char *b = getenv("RVT_BACKEND");
    return b && !strcmp(b, "kafka");
}

void rvt_bootstrap_cleanup(void) {
    pthread_mutex_lock(&g_srv_lock);
    rvt_srv_t *list = g_srvs;
    g_srvs = NULL;
    pthread_mutex_unlock(&g_srv_lock);
    while (list) {
        rvt_srv_t *e = list;
        list = e->next;
        srv_free(e);
    }
}

/* Stops the servers of `dir` (before the folder is removed). */
static void bootstrap_forget(const char *dir) {
    pthread_mutex_lock(&g_srv_lock);
    rvt_srv_t *found = NULL;
    for (rvt_srv_t **pp = &g_srvs; *pp;) {
        if (!strcmp((*pp)->dir, dir)) {
            rvt_srv_t *e = *pp;
            *pp = e->next;
            e->next = found;
            found = e;
        } else {
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&g_srv_lock);
    while (found) {
        rvt_srv_t *e = found;
        found = e->next;
        srv_free(e);
    }
}

const char *rvt_bootstrap(const char *dir) {
    pthread_mutex_lock(&g_srv_lock);
    for (rvt_srv_t *e = g_srvs; e; e = e->next)
        if (!strcmp(e->dir, dir)) {
            pthread_mutex_unlock(&g_srv_lock);
            return e->bs;
        }
    rvt_srv_t *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->dir = strdup(dir);
    assert_non_null(e->dir);
    if (rvt_kafka_backend()) {
        char errstr[512];
        if (rv_broker_open(&e->broker, dir, errstr, sizeof errstr))
            fail_msg("rv_broker_open %s: %s", dir, errstr);
        rv__kserver_config_t cfg;
        rv__kserver_config_default(&cfg);
        cfg.listen_port = 0;
        if (rv__kserver_start(&e->server, e->broker, &cfg, errstr, sizeof errstr))
            fail_msg("rv__kserver_start: %s", errstr);
        snprintf(e->bs, sizeof e->bs, "127.0.0.1:%d", rv__kserver_port(e->server));
    } else {
        snprintf(e->bs, sizeof e->bs, "embedded:%s", dir);
    }
    e->next = g_srvs;
    g_srvs = e;
    if (!g_atexit_done) {
        g_atexit_done = 1;
        atexit(rvt_bootstrap_cleanup);
    }
    pthread_mutex_unlock(&g_srv_lock);
    return e->bs;
}

char *rvt_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/rvtest-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

void rvt_rmtree(const char *path) {
    if (!path)
        return;
    bootstrap_forget(path);
    rv__io_rmtree(path);
}

void rvt_make_batch(rv__buf_t *out, int n, const char *key_prefix, size_t value_size, int64_t ts0) {
    rv__batch_builder_t b;
    assert_int_equal(rv__batch_builder_begin(&b, out, 0, 0, INT64_MIN, -1, -1, -1, -1), 0);
    char *val = malloc(value_size + 1);
    assert_non_null(val);
    for (int i = 0; i < n; i++) {
        char key[128];
        int klen = -1;
        if (key_prefix)
            klen = snprintf(key, sizeof key, "%s%d", key_prefix, i);
        for (size_t j = 0; j < value_size; j++)
            val[j] = (char)('a' + (i + j) % 26);
        assert_int_equal(rv__batch_builder_add(&b, i, ts0 + i, key_prefix ? key : NULL, klen, val,
                                               (int32_t)value_size, 0, NULL, 0),
                         0);
    }
    free(val);
    assert_int_equal(rv__batch_builder_finish(&b, -1), 0);
}

static void slurp(int fd, rv__buf_t *b) {
    char tmp[4096];
    ssize_t r;
    while ((r = read(fd, tmp, sizeof tmp)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0 && b)
            rv__buf_append(b, tmp, (size_t)r);
}

int rvt_cli(rv__buf_t *out, rv__buf_t *err, const char *fmt, ...) {
    const char *bin = getenv("RV_BIN");
    assert_non_null(bin);
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", bin, args);

    char outpath[] = "/tmp/rvcli-out-XXXXXX", errpath[] = "/tmp/rvcli-err-XXXXXX";
    int ofd = mkstemp(outpath), efd = mkstemp(errpath);
    assert_true(ofd >= 0 && efd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int nullfd = open("/dev/null", O_RDONLY);
        dup2(nullfd, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lseek(ofd, 0, SEEK_SET);
    lseek(efd, 0, SEEK_SET);
    if (out) {
        out->len = 0;
        slurp(ofd, out);
        rv__buf_append(out, "", 1);
        out->len--;
    }
    if (err) {
        err->len = 0;
        slurp(efd, err);
        rv__buf_append(err, "", 1);
        err->len--;
    }
    close(ofd);
    close(efd);
    unlink(outpath);
    unlink(errpath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void rvt_write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

long long rvt_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int rvt_cli_fx_setup(void **state) {
    rvt_cli_fx_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = rvt_tmpdir();
    snprintf(f->bs, sizeof f->bs, "--bootstrap-server embedded:%s", f->dir);
    snprintf(f->file, sizeof f->file, "%s/input", f->dir);
    *state = f;
    return 0;
}

int rvt_cli_fx_teardown(void **state) {
    rvt_cli_fx_t *f = *state;
    rvt_rmtree(f->dir);
    free(f->dir);
    rv__buf_free(&f->out);
    rv__buf_free(&f->err);
    free(f);
    return 0;
}

void rvt_assert_prefix(const char *s, const char *prefix) {
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("expected prefix \"%s\" in \"%s\"", prefix, s);
}

void rvt_assert_contains(const char *s, const char *needle) {
    if (!strstr(s, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, s);
}

/* ---- client fixtures ---- */

int rvt_client_fx_setup(void **state) {
    rvt_client_fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    char errstr[512];
    fx->dir = rvt_tmpdir();
    snprintf(fx->ebs, sizeof fx->ebs, "embedded:%s", fx->dir);
    if (rv_broker_open(&fx->broker, fx->dir, errstr, sizeof errstr))
        fail_msg("rv_broker_open %s: %s", fx->dir, errstr);
    snprintf(fx->bs, sizeof fx->bs, "%s", rvt_bootstrap(fx->dir));
    *state = fx;
    return 0;
}

int rvt_client_fx_teardown(void **state) {
    rvt_client_fx_t *fx = *state;
    rv_broker_close(fx->broker);
    rvt_rmtree(fx->dir); /* stops the folder's server first, if any */
    free(fx->dir);
    free(fx);
    return 0;
}

rv_conf_t *rvt_conf_va(const char *bootstrap, va_list ap) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_non_null(conf);
    if (rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) != RV_CONF_OK)
        fail_msg("bootstrap.servers=%s: %s", bootstrap, errstr);
    const char *n;
    while ((n = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (rv_conf_set(conf, n, v, errstr, sizeof errstr) != RV_CONF_OK)
            fail_msg("%s=%s: %s", n, v, errstr);
    }
    return conf;
}

void rvt_create_topic_kept(const char *bootstrap, const char *name, int32_t partitions) {
    char errstr[512];
    rv_conf_t *conf = rv_conf_new();
    assert_non_null(conf);
    assert_int_equal(rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr), 0);
    rv_admin_t *a = rv_admin_new(conf, errstr, sizeof errstr);
    if (!a)
        fail_msg("admin client on %s: %s", bootstrap, errstr);
    const char *names[] = {"retention.ms"}, *values[] = {"-1"};
    if (rv_admin_create_topic(a, name, partitions, -1, names, values, 1, errstr, sizeof errstr))
        fail_msg("creating topic %s: %s", name, errstr);
    rv_admin_destroy(a);
}

/* ---- Kafka protocol fixtures ---- */

void rvt_kserver_start(rvt_kserver_t *ks, const rv__kserver_config_t *cfg) {
    memset(ks, 0, sizeof *ks);
    char errstr[512];
    ks->dir = rvt_tmpdir();
    snprintf(ks->ebs, sizeof ks->ebs, "embedded:%s", ks->dir);
    if (rv_broker_open(&ks->broker, ks->dir, errstr, sizeof errstr))
        fail_msg("rv_broker_open %s: %s", ks->dir, errstr);
    rv__kserver_config_t c;
    if (cfg)
        c = *cfg;
    else
        rv__kserver_config_default(&c);
    c.listen_host = "127.0.0.1";
    c.listen_port = 0;
    if (rv__kserver_start(&ks->server, ks->broker, &c, errstr, sizeof errstr))
        fail_msg("rv__kserver_start: %s", errstr);
    ks->port = rv__kserver_port(ks->server);
    snprintf(ks->bs, sizeof ks->bs, "127.0.0.1:%d", ks->port);
}

void rvt_kserver_stop(rvt_kserver_t *ks) {
    rv__kserver_stop(ks->server);
    rv_broker_close(ks->broker);
    rvt_rmtree(ks->dir);
    free(ks->dir);
    memset(ks, 0, sizeof *ks);
}

int rvt_kserver_setup(void **state) {
    rvt_kserver_t *ks = calloc(1, sizeof *ks);
    assert_non_null(ks);
    rvt_kserver_start(ks, NULL);
    *state = ks;
    return 0;
}

int rvt_kserver_teardown(void **state) {
    rvt_kserver_stop(*state);
    free(*state);
    return 0;
}

void rvt_kapi_open(rvt_kapi_t *ka) {
    memset(ka, 0, sizeof *ka);
    char errstr[512];
    ka->dir = rvt_tmpdir();
    if (rv_broker_open(&ka->broker, ka->dir, errstr, sizeof errstr))
        fail_msg("rv_broker_open %s: %s", ka->dir, errstr);
    ka->ctx.broker = ka->broker;
    ka->ctx.node_id = 1;
    ka->ctx.advertised_host = "127.0.0.1";
    ka->ctx.advertised_port = 9092;
    ka->ctx.num_partitions = 1;
}

void rvt_kapi_close(rvt_kapi_t *ka) {
    rv_broker_close(ka->broker);
    rvt_rmtree(ka->dir);
    free(ka->dir);
    memset(ka, 0, sizeof *ka);
}

void rvt_kreq_begin(rv__kw_t *w, int16_t key, int16_t version, int32_t correlation_id,
                    const char *client_id) {
    rv__kw_init(w);
    rv__kw_i16(w, key);
    rv__kw_i16(w, version);
    rv__kw_i32(w, correlation_id);
    rv__kw_str(w, client_id);
    if (key == RV__KAPI_API_VERSIONS && version >= 3)
        rv__kw_uvarint(w, 0);
}

void rvt_kresp_end(const rv__kr_t *r) {
    assert_false(r->err);
    assert_int_equal(rv__slice_left(&r->s), 0); /* every byte accounted for */
}

int rvt_kdial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int rvt_ksend_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

void rvt_wait_streams_state(rv_streams_t *s, rv_streams_state_t want, int timeout_ms) {
    int64_t until = rv__mono_ms() + timeout_ms;
    while (rv_streams_state(s) != want && rv__mono_ms() < until) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_string_equal(rv_streams_state_name(rv_streams_state(s)), rv_streams_state_name(want));
}

/* ---- The count topology ---- */

static rv_err_t count_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                              void *state) {
    rv_kv_store_t *st = rv_processor_context_get_state_store(ctx, "Counts");
    if (!st)
        return RV_ERR__STATE;
    if (state)
        __atomic_add_fetch((int *)state, 1, __ATOMIC_SEQ_CST);
    rv_bytes_t old;
    int64_t n = 0;
    rv_err_t err = rv_kv_store_get(&old, st, record->key, (size_t)record->key_len);
    if (!err) {
        rv_serde_int64_read(&n, old.data, (int32_t)old.len);
        rv_bytes_free(&old);
    } else if (err != RV_ERR__NOENT) {
        return err;
    }
    n++;
    unsigned char b[8];
    rv_serde_int64_write(b, n);
    if ((err = rv_kv_store_put(st, record->key, (size_t)record->key_len, b, 8)))
        return err;
    rv_processor_record_t out = {record->key, record->key_len, b, 8, record->timestamp, NULL, 0};
    return rv_processor_context_forward(ctx, &out);
}

static rv_err_t count_get(rv_processor_t *out, void *opaque) {
    out->process = count_process;
    out->state = opaque;
    return 0;
}

rv_topology_t *rvt_count_topology(int *processed) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t counter = RV_PROCESSOR_SUPPLIER_INIT;
    counter.get = count_get;
    counter.opaque = processed;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    rv_sink_opts_t out = RV_SINK_OPTS_INIT;
    out.key_serializer = rv_serde_bytes();
    out.value_serializer = rv_serde_bytes();
    const char *topics[] = {"words"}, *source[] = {"Source"}, *process[] = {"Count"};
    rv_store_builder_t *b = rv_store_builder_persistent_kv("Counts");
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_processor(t, "Count", &counter, source, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_state_store(t, b, process, 1, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_sink(t, "Sink", "counts", &out, process, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    return t;
}
