/* tests/unit/test_streams_recovery.c: the state a task leaves behind when
 * it stops without a clean commit, and what the next owner restores.
 *
 *  - test_restore_interrupted_by_close: rv_streams_close() while a store
 *    restores from its changelog writes no checkpoint claiming what was
 *    not restored; the next start restores the rest.
 *  - test_lost_task_drops_its_cache: a task lost after max.poll.interval.ms
 *    closes without a commit and drops its record cache: its stale values
 *    never reach the changelog after the new owner's, so a later restore
 *    does not roll the new owner's updates back.
 *  - test_corrupted_checkpoint_restores_from_scratch: a garbled checkpoint
 *    file, or a folder in its place, wipes the task's state, which restores
 *    from the changelog (as Kafka treats corrupted task state), instead of
 *    failing the task. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "common/clock.h"
#include "rivulet/rivulet.h"
#include "runtime/streams_internal.h"

/* The broker's folder; the apps' state folders go under <dir>/state. */
typedef rvt_client_fx_t fx_t;

static rv_conf_t *client_conf(fx_t *fx) {
    char errstr[512];
    rv_conf_t *c = rv_conf_new();
    assert_int_equal(rv_conf_set(c, "bootstrap.servers", fx->bs, errstr, sizeof errstr), 0);
    return c;
}

static void produce(fx_t *fx, const char *topic, const char *key, const void *value,
                    int32_t value_len, int64_t ts) {
    char errstr[512];
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
    r.topic = topic;
    r.partition = 0;
    r.key = key;
    r.key_len = (int32_t)strlen(key);
    r.value = value;
    r.value_len = value_len;
    r.timestamp = ts;
    assert_int_equal(rv_producer_send_sync(p, &r, NULL, NULL, NULL, errstr, sizeof errstr), 0);
    rv_producer_destroy(p);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- The count topology: key -> int64 count in store "Counts" ---- */

static _Atomic int g_processed;
static _Atomic int64_t g_last_count; /* count computed for the last record */
static _Atomic int g_block_once;     /* the next "block" value blocks once */
static _Atomic int g_blocked;        /* a processor is blocked now */
static _Atomic int g_release;        /* lets the blocked processor go */

static _Atomic int g_blocked_inst = -1; /* which instance blocked */

static rv_err_t count_process(rv_processor_context_t *ctx, const rv_processor_record_t *record,
                              void *state) {
    rv_kv_store_t *st = rv_processor_context_get_state_store(ctx, "Counts");
    if (!st)
        return RV_ERR__STATE;
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
    g_last_count = n;
    g_processed++;
    if (record->value && !strcmp(record->value, "block") && atomic_exchange(&g_block_once, 0)) {
        /* Stall this stream thread past max.poll.interval.ms. */
        g_blocked_inst = (int)(intptr_t)state;
        g_blocked = 1;
        int64_t until = rv__mono_ms() + 60000;
        while (!g_release && rv__mono_ms() < until)
            sleep_ms(10);
        g_blocked = 0;
    }
    return 0;
}

static rv_err_t count_get(rv_processor_t *out, void *opaque) {
    out->process = count_process;
    out->state = opaque; /* the instance's index */
    return 0;
}

static rv_topology_t *count_topology(bool caching, intptr_t inst) {
    char errstr[512];
    rv_topology_t *t = rv_topology_new();
    rv_processor_supplier_t counter = RV_PROCESSOR_SUPPLIER_INIT;
    counter.get = count_get;
    counter.opaque = (void *)inst;
    rv_source_opts_t in = RV_SOURCE_OPTS_INIT;
    in.key_deserializer = rv_serde_string();
    in.value_deserializer = rv_serde_string();
    const char *topics[] = {"words"}, *source[] = {"Source"}, *process[] = {"Count"};
    rv_store_builder_t *b = rv_store_builder_persistent_kv("Counts");
    if (caching)
        rv_store_builder_with_caching_enabled(b);
    assert_int_equal(rv_topology_add_source(t, "Source", topics, 1, &in, errstr, sizeof errstr), 0);
    assert_int_equal(
        rv_topology_add_processor(t, "Count", &counter, source, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_add_state_store(t, b, process, 1, errstr, sizeof errstr), 0);
    assert_int_equal(rv_topology_build(t, errstr, sizeof errstr), 0);
    return t;
}

static rv_conf_t *app_conf(fx_t *fx, const char *state_sub) {
    char errstr[512], sd[4400];
    rv_conf_t *c = client_conf(fx);
    snprintf(sd, sizeof sd, "%s/state/%s", fx->dir, state_sub);
    assert_int_equal(rv_conf_set(c, "application.id", "count-app", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "state.dir", sd, errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "commit.interval.ms", "100", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "session.timeout.ms", "3000", errstr, sizeof errstr), 0);
    assert_int_equal(rv_conf_set(c, "heartbeat.interval.ms", "200", errstr, sizeof errstr), 0);
    return c;
}

typedef struct restored_s {
    _Atomic int64_t total, batches, ends, start_offset, end_offset;
    int slow_ms; /* each batch sleeps this long */
} restored_t;

static void r_start(const char *topic, int32_t partition, const char *store, int64_t from,
                    int64_t to, void *opaque) {
    restored_t *r = opaque;
    (void)topic, (void)partition, (void)store;
    r->start_offset = from;
    r->end_offset = to;
}

static void r_batch(const char *topic, int32_t partition, const char *store, int64_t end, int64_t n,
                    void *opaque) {
    restored_t *r = opaque;
    (void)topic, (void)partition, (void)store, (void)end;
    r->total += n;
    r->batches++;
    if (r->slow_ms)
        sleep_ms(r->slow_ms);
}

static void r_end(const char *topic, int32_t partition, const char *store, int64_t total,
                  void *opaque) {
    restored_t *r = opaque;
    (void)topic, (void)partition, (void)store, (void)total;
    r->ends++;
}

static rv_streams_t *start_app(rv_topology_t *t, rv_conf_t *conf, restored_t *r) {
    char errstr[1024];
    rv_streams_t *s = rv_streams_new(t, conf, errstr, sizeof errstr);
    if (!s)
        fail_msg("rv_streams_new: %s", errstr);
    if (r) {
        rv_state_restore_listener_t l = RV_STATE_RESTORE_LISTENER_INIT;
        l.on_start = r_start;
        l.on_batch = r_batch;
        l.on_end = r_end;
        l.opaque = r;
        assert_int_equal(rv_streams_set_restore_listener(s, &l), 0);
    }
    if (rv_streams_start(s, errstr, sizeof errstr))
        fail_msg("rv_streams_start: %s", errstr);
    return s;
}

static void wait_int(_Atomic int *v, int want, int timeout_ms) {
    int64_t until = rv__mono_ms() + timeout_ms;
    while (*v < want && rv__mono_ms() < until)
        sleep_ms(10);
    if (*v < want)
        fail_msg("waited for %d, have %d", want, *v);
}

/* ---- 1. A restore interrupted by close ---- */

static void test_restore_interrupted_by_close(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rvt_create_topic_kept(fx->bs, "words", 1);
    rvt_create_topic_kept(fx->bs, "count-app-Counts-changelog", 1);
    /* The changelog holds 3000 keys with count 1 (as an earlier owner left
     * it); this instance has no state yet. */
    rv_producer_t *p = rv_producer_new(client_conf(fx), errstr, sizeof errstr);
    assert_non_null(p);
    unsigned char one[8];
    rv_serde_int64_write(one, 1);
    for (int i = 0; i < 3000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        rv_producer_record_t r = RV_PRODUCER_RECORD_INIT;
        r.topic = "count-app-Counts-changelog";
        r.partition = 0;
        r.key = k;
        r.key_len = (int32_t)strlen(k);
        r.value = one;
        r.value_len = 8;
        r.timestamp = 1;
        assert_int_equal(rv_producer_send(p, &r, NULL, NULL, errstr, sizeof errstr), 0);
    }
    assert_int_equal(rv_producer_flush(p, -1), 0);
    rv_producer_destroy(p);

    rv_topology_t *t = count_topology(false, 0);
    /* Run 1: close while the restore is under way (a rolling restart). */
    restored_t r1 = {0};
    r1.slow_ms = 300;
    rv_conf_t *c1 = app_conf(fx, "a");
    assert_int_equal(rv_conf_set(c1, "max.poll.records", "100", errstr, sizeof errstr), 0);
    rv_streams_t *s = start_app(t, c1, &r1);
    int64_t until = rv__mono_ms() + 15000;
    while (r1.batches < 1 && rv__mono_ms() < until)
        sleep_ms(10);
    assert_true(r1.batches >= 1);
    assert_int_equal(rv_streams_close(s, 30000), 0);
    rv_streams_destroy(s);
    fprintf(stderr, "run 1 restored %" PRId64 " of 3000 records (ends=%" PRId64 ")\n",
            (int64_t)r1.total, (int64_t)r1.ends);
    assert_true(r1.total < 3000); /* the restore really was cut short */

    /* Run 2, same state folder: whatever run 1 did not restore must be
     * restored now. */
    restored_t r2 = {0};
    s = start_app(t, app_conf(fx, "a"), &r2);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    fprintf(stderr, "run 2 restored %" PRId64 " records from offset %" PRId64 "\n",
            (int64_t)r2.total, (int64_t)r2.start_offset);
    g_processed = 0;
    produce(fx, "words", "k2999", "x", 1, 10);
    wait_int(&g_processed, 1, 15000);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    /* k2999 had count 1 in the changelog: the store must say 2 now. */
    assert_int_equal((int64_t)g_last_count, 2);
    assert_true(r2.total > 0); /* the rest was restored */
    rv_topology_destroy(t);
}

/* ---- 2. A lost task's cache reaches the changelog ---- */

static void test_lost_task_drops_its_cache(void **state) {
    fx_t *fx = *state;
    char errstr[512];
    rvt_create_topic_kept(fx->bs, "words", 1);
    rv_topology_t *ts[2] = {count_topology(true, 0), count_topology(true, 1)}; /* cached */
    rv_streams_t *inst[2];
    for (int i = 0; i < 2; i++) {
        rv_conf_t *c = app_conf(fx, i ? "b" : "a");
        /* No periodic commit: the owner's cache stays dirty. */
        assert_int_equal(rv_conf_set(c, "commit.interval.ms", "600000", errstr, sizeof errstr), 0);
        assert_int_equal(rv_conf_set(c, "max.poll.interval.ms", "1500", errstr, sizeof errstr), 0);
        inst[i] = start_app(ts[i], c, NULL);
    }
    for (int i = 0; i < 2; i++)
        rvt_wait_streams_state(inst[i], RV_STREAMS_RUNNING, 15000);
    sleep_ms(500);
    for (int i = 0; i < 2; i++)
        rvt_wait_streams_state(inst[i], RV_STREAMS_RUNNING, 15000);

    g_processed = 0;
    g_release = 0;
    g_block_once = 1;
    /* The owner counts K to 3 (in its cache, uncommitted) and then stalls
     * on "block" past max.poll.interval.ms: it leaves the group. */
    produce(fx, "words", "K", "x", 1, 1);
    produce(fx, "words", "K", "x", 1, 2);
    produce(fx, "words", "K", "x", 1, 3);
    produce(fx, "words", "B", "block", 5, 4);
    wait_int(&g_blocked, 1, 15000);
    produce(fx, "words", "K", "x", 1, 5);
    produce(fx, "words", "K", "x", 1, 6);
    /* The other instance takes the task over, reprocesses from the
     * beginning: K=5, B=1 (4 + 6 records processed in all). */
    wait_int(&g_processed, 10, 30000);
    assert_int_equal((int64_t)g_last_count, 5);
    /* Close the new owner cleanly: its commit logs K=5 to the changelog and
     * commits all six input offsets. */
    int owner = g_blocked_inst;
    assert_true(owner == 0 || owner == 1);
    assert_int_equal(rv_streams_close(inst[1 - owner], 10000), 0);
    rv_streams_destroy(inst[1 - owner]);
    /* The stalled former owner wakes up: its poll reports the partitions
     * lost, and its tasks close without a commit. */
    g_release = 1;
    sleep_ms(4000);
    assert_int_equal(rv_streams_close(inst[owner], 15000), 0);
    rv_streams_destroy(inst[owner]);

    /* A fresh instance restores the store from the changelog and goes on
     * from the committed offsets (6): K must count on from 5. */
    g_processed = 0;
    restored_t rc = {0};
    rv_streams_t *c = start_app(ts[0], app_conf(fx, "c"), &rc);
    rvt_wait_streams_state(c, RV_STREAMS_RUNNING, 15000);
    produce(fx, "words", "K", "x", 1, 7);
    wait_int(&g_processed, 1, 15000);
    fprintf(stderr, "fresh instance: K=%" PRId64 " (processed %d), restored %" PRId64 "\n",
            (int64_t)g_last_count, (int)g_processed, (int64_t)rc.total);
    assert_int_equal(rv_streams_close(c, 10000), 0);
    rv_streams_destroy(c);
    assert_int_equal((int)g_processed, 1);      /* nothing reprocessed */
    assert_int_equal((int64_t)g_last_count, 6); /* K=5 restored, +1 */
    rv_topology_destroy(ts[0]);
    rv_topology_destroy(ts[1]);
}

/* ---- 3. A torn checkpoint ---- */

/* Two corrupt checkpoints: a file cut mid-line (written by hand or by a
 * damaged disk: the runtime writes it atomically), then a folder in its
 * place. Each time the task wipes its state and restores, and K counts
 * on from what the changelog holds. */
static void test_corrupted_checkpoint_restores_from_scratch(void **state) {
    fx_t *fx = *state;
    rvt_create_topic_kept(fx->bs, "words", 1);
    rv_topology_t *t = count_topology(false, 0);
    g_processed = 0;
    rv_streams_t *s = start_app(t, app_conf(fx, "a"), NULL);
    rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
    produce(fx, "words", "K", "x", 1, 1);
    wait_int(&g_processed, 1, 15000);
    assert_int_equal(rv_streams_close(s, 10000), 0);
    rv_streams_destroy(s);
    char path[4600];
    snprintf(path, sizeof path, "%s/state/a/count-app/0_0/.checkpoint", fx->dir);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(unlink(path), 0);
        if (round == 0) {
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            fputs("0\n1\ncount-app-Counts-changelog 0\n", f); /* torn mid-line */
            fclose(f);
        } else {
            assert_int_equal(mkdir(path, 0755), 0);
        }
        restored_t r = {0};
        s = start_app(t, app_conf(fx, "a"), &r);
        rvt_wait_streams_state(s, RV_STREAMS_RUNNING, 15000);
        assert_true(r.total > 0); /* from scratch */
        produce(fx, "words", "K", "x", 1, 2 + round);
        wait_int(&g_processed, 2 + round, 15000);
        assert_int_equal(rv_streams_close(s, 10000), 0);
        rv_streams_destroy(s);
        assert_int_equal((int64_t)g_last_count, 2 + round);
    }
    rv_topology_destroy(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restore_interrupted_by_close, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_lost_task_drops_its_cache, rvt_client_fx_setup,
                                        rvt_client_fx_teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_checkpoint_restores_from_scratch,
                                        rvt_client_fx_setup, rvt_client_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
