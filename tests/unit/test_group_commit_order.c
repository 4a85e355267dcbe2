/* tests/unit/test_group_commit_order.c: the group coordinator checks a
 * commit's member and generation under its lock and writes it to
 * __consumer_offsets after releasing that lock (so heartbeats never wait
 * for an fsync). A member removed between its check and its write must
 * not overwrite what the next generation committed: the coordinator takes
 * the store's lock before releasing its own, so commits land in the order
 * of their checks.
 *
 * The window is held open with the linker's --wrap on rv__offsets_lock
 * (tests/CMakeLists.txt adds it for this program): the first commit stops
 * where it takes the store's lock, which a real one may wait for behind
 * another group's fsync. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "broker/offsets.h"
#include "rivulet/broker.h"

void __real_rv__offsets_lock(rv__offsets_t *o);

static sem_t g_in_window, g_release;
static int g_hold_next; /* the next commit waits in the window */

/* A commit takes the store's lock right after its checks passed: the first
 * one flagged waits here until the test releases it. */
void __wrap_rv__offsets_lock(rv__offsets_t *o) {
    if (__atomic_exchange_n(&g_hold_next, 0, __ATOMIC_SEQ_CST)) {
        sem_post(&g_in_window);
        sem_wait(&g_release);
    }
    __real_rv__offsets_lock(o);
}

typedef struct res_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    rv_err_t err;
    int32_t gen;
    char member[256];
} res_t;

static void join_cb(const rv__group_join_result_t *jr, void *opaque) {
    res_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->err = jr->err;
    r->gen = jr->generation_id;
    snprintf(r->member, sizeof r->member, "%s", jr->member_id);
    r->done = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void sync_cb(rv_err_t err, const void *a, size_t len, void *opaque) {
    (void)a, (void)len;
    res_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->err = err;
    r->done = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void res_wait(res_t *r) {
    pthread_mutex_lock(&r->lock);
    while (!r->done)
        pthread_cond_wait(&r->cond, &r->lock);
    r->done = 0;
    pthread_mutex_unlock(&r->lock);
    assert_int_equal(r->err, 0);
}

/* A new member joins the (empty) group, syncs and is Stable. */
static void member_up(rv__group_coordinator_t *gc, res_t *r) {
    rv__group_protocol_t p = {"range", "meta", 4};
    rv__group_join_req_t req;
    memset(&req, 0, sizeof req);
    req.group_id = "g";
    req.client_id = "client";
    req.client_host = "/127.0.0.1";
    req.session_timeout_ms = 10000;
    req.rebalance_timeout_ms = 10000;
    req.protocol_type = "consumer";
    req.protocols = &p;
    req.protocol_cnt = 1;
    rv__group_join(gc, &req, join_cb, r);
    res_wait(r);
    rv__group_assignment_t a = {r->member, "A", 1};
    rv__group_sync(gc, "g", r->gen, r->member, NULL, &a, 1, sync_cb, r);
    res_wait(r);
}

typedef struct zombie_s {
    rv__group_coordinator_t *gc;
    res_t *m;
    rv_err_t err;
} zombie_t;

static void *zombie_commit(void *arg) {
    zombie_t *z = arg;
    rv__group_offset_t o = {"t", 0, 5, -1, NULL, 0};
    z->err = rv__group_commit_offsets(z->gc, "g", z->m->gen, z->m->member, NULL, &o, 1, NULL, 0);
    return NULL;
}

typedef struct next_gen_s {
    rv__group_coordinator_t *gc;
    res_t *old, *m;
    rv_err_t err;
} next_gen_t;

static void *next_generation(void *arg) {
    next_gen_t *n = arg;
    n->err = rv__group_leave(n->gc, "g", n->old->member);
    if (!n->err) {
        member_up(n->gc, n->m);
        rv__group_offset_t o = {"t", 0, 10, -1, NULL, 0};
        n->err =
            rv__group_commit_offsets(n->gc, "g", n->m->gen, n->m->member, NULL, &o, 1, NULL, 0);
    }
    return NULL;
}

static int64_t committed(rv__group_coordinator_t *gc) {
    rv__group_tp_t tp = {"t", 0};
    rv__group_committed_t *out = NULL;
    size_t n = 0;
    assert_int_equal(rv__group_fetch_offsets(gc, "g", &tp, 1, &out, &n), 0);
    int64_t off = out[0].offset;
    rv__group_committed_free(out, n);
    return off;
}

static void test_removed_member_commit_cannot_land_after_next_generation(void **state) {
    (void)state;
    char es[256];
    char *dir = rvt_tmpdir();
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, dir, es, sizeof es), 0);
    rv__group_coordinator_t *gc = rv__broker_group_coordinator(b);
    rv__group_config_t cfg;
    rv__group_config_default(&cfg);
    cfg.initial_rebalance_delay_ms = 0;
    cfg.offsets_partitions = 1;
    rv__group_coordinator_set_config(gc, &cfg);
    sem_init(&g_in_window, 0, 0);
    sem_init(&g_release, 0, 0);

    res_t a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, ""};
    res_t bm = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, ""};
    member_up(gc, &a); /* A owns t-0 in generation 1 */

    /* A commits offset 5 at generation 1: the check passes, the write
     * waits. */
    zombie_t z = {gc, &a, -1};
    pthread_t th;
    g_hold_next = 1;
    pthread_create(&th, NULL, zombie_commit, &z);
    sem_wait(&g_in_window);

    /* Meanwhile A is removed (session timeout, join deadline, max poll),
     * B joins, owns t-0 in a later generation and commits 10 - on its own
     * thread, since that commit now waits for A's. */
    next_gen_t n = {gc, &a, &bm, -1};
    pthread_t nth;
    pthread_create(&nth, NULL, next_generation, &n);
    struct timespec pause = {0, 300 * 1000000L};
    nanosleep(&pause, NULL);

    sem_post(&g_release);
    pthread_join(th, NULL);
    pthread_join(nth, NULL);
    assert_int_equal(n.err, 0);
    int64_t after = committed(gc);
    fprintf(stderr,
            "removed member (gen %d) commit returned %s; B (gen %d) committed 10; now %lld\n",
            a.gen, rv_err_name(z.err), bm.gen, (long long)after);
    rv_broker_close(b);
    rvt_rmtree(dir);
    free(dir);
    assert_int_equal(after, 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removed_member_commit_cannot_land_after_next_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
