/* examples/window_store.c: the window and session store section of the
 * state store guide (docs/STATE_STORES.md) as one program. It counts page
 * views per user in one-minute windows of a RocksDB window store, reads
 * them back for one user and for every user, shows a window dropped by
 * retention, then keeps user sessions (30 s of inactivity) in an
 * in-memory session store and merges them as a session aggregation does.
 *
 *   window_store DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rivulet/rivulet.h>

/* Adds 1 to the count of `user` in the window that starts at
 * window_start (counts are one byte here, to keep the example short). */
static rv_err_t count_view(rv_kv_store_t *store, const char *user, int64_t window_start) {
    rv_bytes_t old;
    unsigned char n = 0;
    rv_err_t err = rv_window_store_fetch_value(&old, store, user, strlen(user), window_start);
    if (err == RV_ERR_NO_ERROR) {
        n = *(unsigned char *)old.data;
        rv_bytes_free(&old);
    } else if (err != RV_ERR__NOENT) {
        return err;
    }
    n++;
    return rv_window_store_put(store, user, strlen(user), &n, 1, window_start);
}

static int window_example(const char *dir) {
    char errstr[512];
    /* one-minute windows kept for ten minutes */
    rv_store_builder_t *b = rv_store_builder_persistent_window("views", 600000, 60000, 0);
    rv_kv_store_t *store;
    if (rv_store_builder_build(&store, b, dir, errstr, sizeof errstr)) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    const struct {
        const char *user;
        int64_t ts;
    } views[] = {
        {"alice", 1000}, {"bob", 2000}, {"alice", 59000}, {"alice", 61000}, {"bob", 125000}};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        int64_t window_start = views[i].ts - views[i].ts % 60000;
        if (count_view(store, views[i].user, window_start))
            return 1;
    }

    /* alice's windows from 0 to 2 minutes, oldest first */
    rv_window_iter_t *it;
    rv_window_store_fetch(&it, store, "alice", 5, 0, 120000);
    while (rv_window_iter_next(it) == 1) {
        size_t len;
        const unsigned char *count = rv_window_iter_value(it, &len);
        printf("alice @%" PRId64 ": %d\n", rv_window_iter_window_start(it), count[0]);
    }
    rv_window_iter_destroy(it);

    /* every user's windows */
    rv_window_store_all(&it, store);
    while (rv_window_iter_next(it) == 1) {
        size_t key_len, len;
        const char *user = rv_window_iter_key(it, &key_len);
        const unsigned char *count = rv_window_iter_value(it, &len);
        printf("%.*s @%" PRId64 ": %d\n", (int)key_len, user, rv_window_iter_window_start(it),
               count[0]);
    }
    rv_window_iter_destroy(it);

    /* stream time moves to 11 minutes: the windows before 1 minute expire */
    count_view(store, "carol", 660000);
    rv_bytes_t v;
    rv_err_t err = rv_window_store_fetch_value(&v, store, "alice", 5, 0);
    printf("alice @0 after retention: %s\n", err == RV_ERR__NOENT ? "expired" : "still there");
    rv_bytes_free(&v);

    rv_kv_store_destroy(store);
    rv_store_builder_destroy(b);
    return err == RV_ERR__NOENT ? 0 : 1;
}

/* Puts an event at `ts` into the sessions of `user` (30 s gap): the
 * sessions it touches are removed and merged into one, whose value is the
 * number of events. */
static rv_err_t add_event(rv_kv_store_t *store, const char *user, int64_t ts) {
    const int64_t gap = 30000;
    int64_t start = ts, end = ts;
    unsigned char events = 1;
    rv_session_iter_t *it;
    rv_err_t err =
        rv_session_store_find_sessions(&it, store, user, strlen(user), ts - gap, ts + gap);
    if (err)
        return err;
    while (rv_session_iter_next(it) == 1) {
        size_t len;
        const unsigned char *n = rv_session_iter_value(it, &len);
        events += n[0];
        if (rv_session_iter_start(it) < start)
            start = rv_session_iter_start(it);
        if (rv_session_iter_end(it) > end)
            end = rv_session_iter_end(it);
        rv_session_store_remove(store, user, strlen(user), rv_session_iter_start(it),
                                rv_session_iter_end(it));
    }
    rv_session_iter_destroy(it);
    return rv_session_store_put(store, user, strlen(user), start, end, &events, 1);
}

static int session_example(const char *dir) {
    char errstr[512];
    rv_store_builder_t *b = rv_store_builder_in_memory_session("sessions", 3600000);
    rv_kv_store_t *store;
    if (rv_store_builder_build(&store, b, dir, errstr, sizeof errstr)) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    int64_t events[] = {0, 10000, 100000, 35000};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        if (add_event(store, "alice", events[i]))
            return 1;

    rv_session_iter_t *it;
    rv_session_store_fetch(&it, store, "alice", 5);
    int sessions = 0;
    while (rv_session_iter_next(it) == 1) {
        size_t len;
        const unsigned char *n = rv_session_iter_value(it, &len);
        printf("alice session [%" PRId64 ", %" PRId64 "]: %d events\n", rv_session_iter_start(it),
               rv_session_iter_end(it), n[0]);
        sessions++;
    }
    rv_session_iter_destroy(it);
    rv_kv_store_destroy(store);
    rv_store_builder_destroy(b);
    return sessions == 2 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    if (window_example(argv[1]) || session_example(argv[1]))
        return 1;
    printf("window store example: ok\n");
    return 0;
}
