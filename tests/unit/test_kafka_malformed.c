/* tests/unit/test_kafka_malformed.c: the network broker under bad input.
 * Replays the request corpus of the fuzz target (fuzz/corpus/
 * fuzz_kafka_request/: a valid frame of each API) over real TCP
 * connections, each frame as sent and in deterministic corruptions: cut
 * short, bytes flipped, a size prefix that lies (too small, negative,
 * larger than socket.request.max.bytes). For every frame the broker must
 * either answer it (with the request's correlation id) or close that
 * connection (or, for a request that legitimately gets no answer, say
 * nothing); and after each one a connection opened before the replay must
 * still get ApiVersions answered. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

#include "broker/kafka/server.h"
#include "common/buf.h"
#include "rivulet/broker.h"

#define MAX_REQUEST (1 << 20)

typedef rvt_kserver_t fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    rv__kserver_config_t cfg;
    rv__kserver_config_default(&cfg);
    cfg.max_request_bytes = MAX_REQUEST;
    rvt_kserver_start(fx, &cfg);
    *state = fx;
    return 0;
}

/* The broker may close the connection mid-frame: also a legal outcome. */
static void send_all(int fd, const void *p, size_t n) {
    (void)rvt_ksend_all(fd, p, n);
}

/* Reads up to n bytes within timeout_ms. Returns the count read; stops
 * early at EOF or on a reset (the broker dropped the connection). */
static size_t recv_some(int fd, uint8_t *p, size_t n, int timeout_ms, bool *closed) {
    size_t got = 0;
    *closed = false;
    while (got < n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, timeout_ms);
        if (r <= 0)
            break;
        ssize_t k = recv(fd, p + got, n - got, 0);
        if (k <= 0) {
            *closed = true;
            break;
        }
        got += (size_t)k;
    }
    return got;
}

/* ApiVersions v0 on the control connection must be answered. */
static void check_alive(int fd, int32_t corr) {
    uint8_t req[4 + 10];
    rv__wbe32(req, 10);
    rv__wbe16(req + 4, 18);
    rv__wbe16(req + 6, 0);
    rv__wbe32(req + 8, (uint32_t)corr);
    rv__wbe16(req + 12, 0); /* client id "" */
    send_all(fd, req, sizeof req);
    uint8_t hdr[8];
    bool closed;
    assert_int_equal(recv_some(fd, hdr, 8, 5000, &closed), 8);
    uint32_t size = rv__be32(hdr);
    assert_int_equal((int32_t)rv__be32(hdr + 4), corr);
    assert_true(size >= 4 + 6 && size < 4096);
    uint8_t body[4096];
    assert_int_equal(recv_some(fd, body, size - 4, 5000, &closed), size - 4);
    assert_int_equal(rv__be16(body), 0); /* error code */
}

/* Sends one frame with the given size prefix and checks the outcome. */
static void replay(int port, const uint8_t *frame, size_t len, int32_t size_prefix) {
    int fd = rvt_kdial(port);
    uint8_t pre[4];
    rv__wbe32(pre, (uint32_t)size_prefix);
    send_all(fd, pre, 4);
    send_all(fd, frame, len);
    uint8_t hdr[8];
    bool closed;
    size_t got = recv_some(fd, hdr, 8, 300, &closed);
    if (got == 8 && len >= 8 && size_prefix == (int32_t)len) {
        /* An answer carries this request's correlation id. */
        assert_int_equal(rv__be32(hdr + 4), rv__be32(frame + 4));
        assert_true(rv__be32(hdr) >= 4);
    }
    /* got 0 and !closed: no answer (acks=0, or a join waiting for a
     * rebalance) - also legal. */
    close(fd);
}

static uint32_t rng = 0x2545f491u;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_corpus_replay(void **state) {
    fx_t *fx = *state;
    const char *src = getenv("RV_SRC");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/fuzz/corpus/fuzz_kafka_request", src);
    DIR *d = opendir(path);
    assert_non_null(d);
    int control = rvt_kdial(fx->port);
    int32_t corr = 1000;
    check_alive(control, corr++);
    int seeds = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[8192];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        FILE *f = fopen(file, "rb");
        assert_non_null(f);
        uint8_t frame[65536];
        size_t len = fread(frame, 1, sizeof frame, f);
        fclose(f);
        assert_true(len >= 8);
        seeds++;
        /* As sent; cut short (the prefix promises more, then EOF); the
         * body cut but the prefix honest; prefixes that lie. */
        replay(fx->port, frame, len, (int32_t)len);
        replay(fx->port, frame, len / 2, (int32_t)len);
        for (size_t cut = 8; cut < len; cut += (len / 4 > 0 ? len / 4 : 1))
            replay(fx->port, frame, cut, (int32_t)cut);
        replay(fx->port, frame, len, 3);
        replay(fx->port, frame, len, -1);
        replay(fx->port, frame, len, MAX_REQUEST + 1);
        /* Flipped bytes in the body (the header stays, so the handler's
         * decoder sees the damage) and in the header. */
        for (int k = 0; k < 12; k++) {
            uint8_t copy[65536];
            memcpy(copy, frame, len);
            size_t at = k < 10 && len > 10 ? 10 + next_rand() % (len - 10) : next_rand() % len;
            copy[at] ^= (uint8_t)(1u << (next_rand() % 8)) | (k % 3 == 0 ? 0x80 : 0);
            if (k % 4 == 0 && at + 4 <= len)
                rv__wbe32(copy + at, 0x7ffffff0u); /* a hostile length or count */
            replay(fx->port, copy, len, (int32_t)len);
        }
        check_alive(control, corr++);
    }
    closedir(d);
    assert_true(seeds >= 10);
    /* A fresh connection is served too. */
    int fresh = rvt_kdial(fx->port);
    check_alive(fresh, corr++);
    close(fresh);
    check_alive(control, corr++);
    close(control);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corpus_replay, setup, rvt_kserver_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
