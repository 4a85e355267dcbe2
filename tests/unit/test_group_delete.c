/* tests/unit/test_group_delete.c: DeleteGroups racing a standalone
 * OffsetCommit (broker/group_coordinator.c with broker/offsets.c). The
 * delete writes its tombstones under the coordinator's lock, so every
 * outcome matches a serial order: an acknowledged commit is never erased
 * by a delete it did not precede. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "broker/group_coordinator.h"
#include "rivulet/broker.h"

typedef struct race_s {
    rv__group_coordinator_t *gc;
    char group[32];
    pthread_barrier_t *bar;
    rv_err_t err;
} race_t;

static rv_err_t commit1(rv__group_coordinator_t *gc, const char *group, int64_t offset) {
    char es[256];
    rv__group_offset_t o;
    memset(&o, 0, sizeof o);
    o.topic = "t";
    o.partition = 0;
    o.offset = offset;
    o.leader_epoch = -1;
    o.metadata = "";
    return rv__group_commit_offsets(gc, group, -1, NULL, NULL, &o, 1, es, sizeof es);
}

static void *deleter(void *arg) {
    race_t *r = arg;
    char es[256];
    pthread_barrier_wait(r->bar);
    r->err = rv__group_delete(r->gc, r->group, es, sizeof es);
    return NULL;
}

static void *committer(void *arg) {
    race_t *r = arg;
    pthread_barrier_wait(r->bar);
    r->err = commit1(r->gc, r->group, 2);
    return NULL;
}

/* Commits to another group all the time: the offsets store has one lock,
 * held across each write, so the delete and the racing commit both queue
 * for it and either may get it first. */
static atomic_int bg_stop;

static void *background(void *arg) {
    rv__group_coordinator_t *gc = arg;
    for (int64_t k = 0; !atomic_load(&bg_stop); k++)
        commit1(gc, "background", k);
    return NULL;
}

static void test_commit_racing_delete_group(void **state) {
    (void)state;
    char *dir = rvt_tmpdir();
    char errstr[512];
    rv_broker_t *b;
    assert_int_equal(rv_broker_open(&b, dir, errstr, sizeof errstr), 0);
    rv__group_coordinator_t *gc = rv__broker_group_coordinator(b);
    int lost = 0, after = 0, iters = 0;
    atomic_store(&bg_stop, 0);
    pthread_t bg;
    pthread_create(&bg, NULL, background, gc);
    for (int i = 0; i < 300 && !lost; i++, iters++) {
        race_t d, c;
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        memset(&d, 0, sizeof d);
        memset(&c, 0, sizeof c);
        d.gc = c.gc = gc;
        d.bar = c.bar = &bar;
        snprintf(d.group, sizeof d.group, "g%d", i);
        snprintf(c.group, sizeof c.group, "g%d", i);
        assert_int_equal(commit1(gc, d.group, 1), 0);
        pthread_t td, tc;
        pthread_create(&td, NULL, deleter, &d);
        pthread_create(&tc, NULL, committer, &c);
        pthread_join(td, NULL);
        pthread_join(tc, NULL);
        pthread_barrier_destroy(&bar);
        assert_int_equal(d.err, 0);
        assert_int_equal(c.err, 0);
        /* The group exists now only if the commit came after the delete
         * unlinked it; then its offset must be there. */
        rv__group_description_t desc;
        memset(&desc, 0, sizeof desc);
        if (rv__group_describe(gc, d.group, &desc) != 0)
            continue;
        rv__group_description_clear(&desc);
        after++;
        rv__group_tp_t tp = {"t", 0};
        rv__group_committed_t *out = NULL;
        size_t n = 0;
        assert_int_equal(rv__group_fetch_offsets(gc, d.group, &tp, 1, &out, &n), 0);
        assert_int_equal(n, 1);
        if (out[0].offset != 2) {
            print_error("iteration %d: commit of 2 succeeded after the delete (it created group "
                        "%s again) but the committed offset is %lld\n",
                        i, d.group, (long long)out[0].offset);
            lost = 1;
        }
        rv__group_committed_free(out, n);
    }
    atomic_store(&bg_stop, 1);
    pthread_join(bg, NULL);
    rv_broker_close(b);
    rvt_rmtree(dir);
    free(dir);
    print_message("%d iteration(s), %d with the commit after the delete\n", iters, after);
    assert_int_equal(lost, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_racing_delete_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
