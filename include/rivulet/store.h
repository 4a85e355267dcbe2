/* rivulet/store.h: key-value state stores and the builders that describe
 * them, as Kafka Streams' KeyValueStore and Stores.
 *
 * A store maps byte-string keys to byte-string values; serdes sit above, in
 * the processors and the DSL. Keys are ordered byte-wise (lexicographic
 * unsigned bytes, shorter first on a common prefix), as RocksDB's default
 * comparator and Kafka's Bytes comparator order them, so range() and all()
 * give the same order whatever the store kind.
 *
 * A store builder (rv_store_builder_t) describes a store that the runtime
 * creates once per task: its name, its kind (RocksDB, in-memory or
 * user-supplied), and whether it is logged to a changelog topic and cached.
 * A processor reaches the task's opened store through its context.
 *
 * Threads: a store, its iterators and a builder are not thread-safe; a store
 * belongs to the stream thread that runs its task. */
#ifndef RIVULET_STORE_H
#define RIVULET_STORE_H

#include <stddef.h>

#include "common.h"
#include "error.h"

RV_BEGIN_DECLS

typedef struct rv_kv_store_s rv_kv_store_t;
typedef struct rv_kv_iter_s rv_kv_iter_t;
typedef struct rv_store_builder_s rv_store_builder_t;

/** A byte string returned to the caller. `data` is NULL when there is no
 *  value; an empty value has a non-NULL `data` and `len` 0. */
typedef struct rv_bytes_s {
    void *data;
    size_t len;
} rv_bytes_t;

/** Frees b->data (allocated by the store with malloc()) and zeroes *b.
 *  NULL or an empty rv_bytes_t does nothing. */
RV_EXTERN void rv_bytes_free(rv_bytes_t *b);

/** One entry for rv_kv_store_put_all(): borrowed key and value; a NULL value
 *  deletes the key. */
typedef struct rv_kv_entry_s {
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
} rv_kv_entry_t;

/* ---- Reading and writing ---- */

/** Looks up `key`; out must not be NULL. RV_ERR_NO_ERROR with *out filled
 *  (caller owns out->data; free with rv_bytes_free()), RV_ERR__NOENT when
 *  the key has no value (*out zeroed), or another error (RV_ERR__IO,
 *  RV_ERR__NOMEM). */
RV_EXTERN rv_err_t rv_kv_store_get(rv_bytes_t *out, rv_kv_store_t *store, const void *key,
                                   size_t key_len);

/** Sets `key` to `value` (both copied). A NULL value deletes the key, as
 *  Kafka's put(key, null). */
RV_EXTERN rv_err_t rv_kv_store_put(rv_kv_store_t *store, const void *key, size_t key_len,
                                   const void *value, size_t value_len);

/** Puts `value` only when `key` has no value. *existing (when not NULL)
 *  receives the value already there, which the caller owns (free with
 *  rv_bytes_free()), or is zeroed when the put happened. */
RV_EXTERN rv_err_t rv_kv_store_put_if_absent(rv_bytes_t *existing, rv_kv_store_t *store,
                                             const void *key, size_t key_len, const void *value,
                                             size_t value_len);

/** Deletes `key`. *old (when not NULL) receives the value it had, which the
 *  caller owns (free with rv_bytes_free()), or is zeroed when it had none. */
RV_EXTERN rv_err_t rv_kv_store_delete(rv_bytes_t *old, rv_kv_store_t *store, const void *key,
                                      size_t key_len);

/** Applies `cnt` puts in order (a NULL value deletes); RocksDB stores write
 *  them as one batch. Entries are borrowed for the call. */
RV_EXTERN rv_err_t rv_kv_store_put_all(rv_kv_store_t *store, const rv_kv_entry_t *entries,
                                       size_t cnt);

/* ---- Iterators ----
 *
 * An iterator stays valid while the store is written meanwhile. What it
 * sees of those writes depends on the store:
 *  - RocksDB: a point-in-time view taken when the iterator was created (a
 *    RocksDB iterator pins its snapshot); later writes are not seen.
 *  - In-memory, as Kafka's InMemoryKeyValueStore: the set of keys is copied
 *    when the iterator is created, values are read as each key is reached,
 *    and keys deleted meanwhile are skipped.
 *  - Cached (a DSL store or a builder with caching enabled): the cache's
 *    entries are copied when the iterator is created and merged with an
 *    iterator of the store under the cache. Over RocksDB the whole is a
 *    point-in-time view. Over the in-memory store it is not: keys held only
 *    by the store under the cache behave as the in-memory store's above, so
 *    a cache flush or eviction made while the iterator is open shows
 *    through (new values, deleted keys skipped).
 *  - User-supplied: whatever its iter_open/iter_next do.
 * Destroying a store closes its open iterators: their next() then returns
 * RV_ERR__STATE, their key and value are NULL with length 0, and they still
 * have to be destroyed. */

/** Keys from `from` to `to`, both inclusive, ascending; a NULL bound is
 *  open. from > to gives an empty iterator (as Kafka, which also logs a
 *  warning). Caller owns *out; free with rv_kv_iter_destroy(). */
RV_EXTERN rv_err_t rv_kv_store_range(rv_kv_iter_t **out, rv_kv_store_t *store, const void *from,
                                     size_t from_len, const void *to, size_t to_len);
/** As rv_kv_store_range(), descending (from `to` down to `from`). */
RV_EXTERN rv_err_t rv_kv_store_reverse_range(rv_kv_iter_t **out, rv_kv_store_t *store,
                                             const void *from, size_t from_len, const void *to,
                                             size_t to_len);
/** Every entry, ascending / descending. Caller owns *out; free with
 *  rv_kv_iter_destroy(). */
RV_EXTERN rv_err_t rv_kv_store_all(rv_kv_iter_t **out, rv_kv_store_t *store);
RV_EXTERN rv_err_t rv_kv_store_reverse_all(rv_kv_iter_t **out, rv_kv_store_t *store);

/** Moves to the next entry: 1 when there is one, 0 at the end, or a negative
 *  rv_err_t (sticky). */
RV_EXTERN int rv_kv_iter_next(rv_kv_iter_t *it);
/** The current entry's key / value, never NULL while rv_kv_iter_next() last
 *  returned 1 (an empty key or value has length 0); NULL with *len 0
 *  before the first next(), after the end or an error, and once the store
 *  was destroyed. Borrowed: valid until the next call of rv_kv_iter_next(),
 *  rv_kv_iter_destroy() or rv_kv_store_destroy() of its store. */
RV_EXTERN const void *rv_kv_iter_key(const rv_kv_iter_t *it, size_t *len);
RV_EXTERN const void *rv_kv_iter_value(const rv_kv_iter_t *it, size_t *len);
RV_EXTERN void rv_kv_iter_destroy(rv_kv_iter_t *it);

/* ---- The store itself ---- */

/** An estimate of the number of entries (RocksDB's "rocksdb.estimate-num-keys",
 *  exact for the in-memory store), or -1 on error. */
RV_EXTERN int64_t rv_kv_store_approximate_num_entries(rv_kv_store_t *store);

/** Makes what was written durable in the store's own files (RocksDB
 *  memtables to SST files; a cache flushes its dirty entries first). The
 *  runtime calls it at every commit, before writing the checkpoint. */
RV_EXTERN rv_err_t rv_kv_store_flush(rv_kv_store_t *store);

/** The store's name. Borrowed: valid until the store is destroyed. */
RV_EXTERN const char *rv_kv_store_name(const rv_kv_store_t *store);
/** 1 when the store keeps its data on disk across restarts (RocksDB). */
RV_EXTERN int rv_kv_store_persistent(const rv_kv_store_t *store);

/** Closes the store (Kafka's close()): closes its open iterators and frees
 *  it. NULL does nothing. */
RV_EXTERN void rv_kv_store_destroy(rv_kv_store_t *store);

/* ---- User-supplied stores ---- */

#define RV_KV_STORE_OPS_VERSION 1

/** The operations of a user-supplied store. Every operation receives the
 *  opaque given to rv_kv_store_new_custom(). Keys and values passed in are
 *  borrowed for the call. Optional operations may be NULL. */
typedef struct rv_kv_store_ops_s {
    int version; /* RV_KV_STORE_OPS_VERSION */
    /** 1 when the store survives a restart on disk. */
    int persistent;
    /** Required. Fills *out with a value allocated with malloc() (the store
     *  hands it to its caller), or returns RV_ERR__NOENT. */
    rv_err_t (*get)(void *opaque, rv_bytes_t *out, const void *key, size_t key_len);
    /** Required. A NULL value deletes the key. */
    rv_err_t (*put)(void *opaque, const void *key, size_t key_len, const void *value,
                    size_t value_len);
    /** Optional: applies entries in order; NULL makes the store call put()
     *  for each. */
    rv_err_t (*put_all)(void *opaque, const rv_kv_entry_t *entries, size_t cnt);
    /** Required. Opens an iterator over [from, to] (NULL = open bound),
     *  descending when `reverse`, and stores its state in *iter. */
    rv_err_t (*iter_open)(void *opaque, void **iter, const void *from, size_t from_len,
                          const void *to, size_t to_len, int reverse);
    /** Required. 1 with the entry in *key and *value (borrowed until the next
     *  call on that iterator), 0 at the end, or a negative rv_err_t. */
    int (*iter_next)(void *iter, const void **key, size_t *key_len, const void **value,
                     size_t *value_len);
    /** Required. Frees the iterator state. */
    void (*iter_close)(void *iter);
    /** Optional: NULL counts the entries with a full scan. */
    int64_t (*approximate_num_entries)(void *opaque);
    /** Optional: NULL means there is nothing to flush. */
    rv_err_t (*flush)(void *opaque);
    /** Optional: called once when the store is destroyed, after its
     *  iterators were closed; frees the opaque. */
    void (*close)(void *opaque);
} rv_kv_store_ops_t;

/** A store whose operations are `ops` on `opaque`. `ops` is borrowed: it
 *  must outlive the store (a static const struct is the usual choice); name
 *  is copied. Takes ownership of opaque on success (ops->close frees it).
 *  Caller owns *out; free with rv_kv_store_destroy(). RV_ERR__INVALID_ARG
 *  when a required operation is missing or the version is unknown. */
RV_EXTERN rv_err_t rv_kv_store_new_custom(rv_kv_store_t **out, const rv_kv_store_ops_t *ops,
                                          void *opaque, const char *name);

/* ---- Store builders (Kafka's Stores) ---- */

/** Checks a store name: 1 to 249 characters among ASCII alphanumerics,
 *  '.', '_' and '-', and not "." or "..", the characters Kafka allows in
 *  topic names (the name becomes part of the changelog topic and the
 *  RocksDB folder <task dir>/rocksdb/<name>). RV_ERR_NO_ERROR, or
 *  RV_ERR__INVALID_ARG with Kafka's message naming the store in errstr. */
RV_EXTERN rv_err_t rv_store_name_validate(const char *name, char *errstr, size_t errstr_size);

/** Opens a user-supplied store for one task: `task_dir` is the task's state
 *  folder (state.dir/<application.id>/<task id>), where a persistent store
 *  keeps its files. Fills *out (ownership passes to the caller) or returns
 *  an error with a message in errstr. */
typedef rv_err_t (*rv_store_open_fn)(rv_kv_store_t **out, const char *name, const char *task_dir,
                                     void *opaque, char *errstr, size_t errstr_size);

/** A builder of a RocksDB key-value store (Stores.persistentKeyValueStore),
 *  kept in <task dir>/rocksdb/<name>. Logging enabled, caching disabled.
 *  Caller owns the builder; free with rv_store_builder_destroy(); NULL when
 *  out of memory or name is NULL or not a legal store name (see
 *  rv_store_name_validate(), which says why; the reason is also logged). */
RV_EXTERN rv_store_builder_t *rv_store_builder_persistent_kv(const char *name);
/** A builder of an in-memory key-value store (Stores.inMemoryKeyValueStore).
 *  Ownership as rv_store_builder_persistent_kv(). */
RV_EXTERN rv_store_builder_t *rv_store_builder_in_memory_kv(const char *name);
/** A builder of a user-supplied store, opened by open_fn(opaque). `opaque`
 *  is borrowed: it must outlive the builder and every store opened from it.
 *  Ownership as rv_store_builder_persistent_kv(). */
RV_EXTERN rv_store_builder_t *rv_store_builder_custom(const char *name, rv_store_open_fn open_fn,
                                                      void *opaque);
RV_EXTERN void rv_store_builder_destroy(rv_store_builder_t *b);

/** Logs every change to the compacted topic
 *  <application.id>-<name>-changelog, created with the `cnt` topic configs
 *  given as name/value pairs (configs[2*i], configs[2*i+1]); they replace
 *  earlier ones and are copied. The default for every builder. */
RV_EXTERN rv_err_t rv_store_builder_with_logging_enabled(rv_store_builder_t *b,
                                                         const char *const *configs, size_t cnt);
/** No changelog: the store is not restored when its task moves. */
RV_EXTERN void rv_store_builder_with_logging_disabled(rv_store_builder_t *b);
/** Puts the record cache (cache.max.bytes.buffering) in front of the store,
 *  so repeated updates of a key between commits collapse. Builders start
 *  with caching disabled, as Kafka's Stores; the DSL enables it. */
RV_EXTERN void rv_store_builder_with_caching_enabled(rv_store_builder_t *b);
RV_EXTERN void rv_store_builder_with_caching_disabled(rv_store_builder_t *b);

/** Opens the bare store `b` describes (StoreBuilder.build()), without the
 *  changelog and cache the runtime adds: a RocksDB store in
 *  <dir>/rocksdb/<name>, an in-memory store, or the custom store's
 *  open_fn(dir). For using a store outside a topology (tools, tests); the
 *  runtime opens each task's stores itself, under the task's folder.
 *  Caller owns *out; free with rv_kv_store_destroy(). On error errstr says
 *  what failed (RV_ERR__LOCKED: the RocksDB folder is open elsewhere). */
RV_EXTERN rv_err_t rv_store_builder_build(rv_kv_store_t **out, const rv_store_builder_t *b,
                                          const char *dir, char *errstr, size_t errstr_size);

/** Borrowed: valid until the builder is destroyed. */
RV_EXTERN const char *rv_store_builder_name(const rv_store_builder_t *b);
RV_EXTERN int rv_store_builder_logging_enabled(const rv_store_builder_t *b);
RV_EXTERN int rv_store_builder_caching_enabled(const rv_store_builder_t *b);
/** 1 for a RocksDB builder, 0 for in-memory, -1 for a custom one (known
 *  only once opened). */
RV_EXTERN int rv_store_builder_persistent(const rv_store_builder_t *b);
/** The changelog topic configs as name/value pairs: *cnt pairs at
 *  [2*i], [2*i+1]. Borrowed: valid until the builder changes or is
 *  destroyed. */
RV_EXTERN const char *const *rv_store_builder_logging_config(const rv_store_builder_t *b,
                                                             size_t *cnt);

/* ---- Window and session stores (Kafka's WindowStore and SessionStore) ----
 *
 * A window or session store is an rv_kv_store_t like any other (the
 * runtime logs, caches and restores it as a key-value store), whose keys
 * are Kafka Streams' binary window and session keys:
 *
 *   window:  [key bytes][8-byte big-endian window start][4-byte big-endian
 *            sequence number]                    (Kafka's WindowKeySchema)
 *   session: [key bytes][8-byte big-endian session end][8-byte big-endian
 *            session start]                      (Kafka's SessionKeySchema)
 *
 * so its changelog records are Kafka's. Read and write it through the
 * typed functions below, which take the key BYTES (already serialized, as
 * Kafka's bytes stores) and build those keys; they fail with
 * RV_ERR__INVALID_ARG on a store that no window / session builder made.
 *
 * Retention: the store keeps data in segments of
 * max(retention / 2, 60000) ms of window start (session end), each a
 * RocksDB database <task dir>/<store>/<store>.<segment start> for the
 * persistent stores, as Kafka's segmented stores. Stream time is the
 * highest timestamp put; a segment that ends before stream time -
 * retention is dropped (its folder removed), puts into it are skipped
 * ("Skipping record for expired segment."), and reads return nothing older
 * than stream time - retention + 1. The in-memory stores skip a put whose
 * timestamp is <= stream time - retention, as Kafka's InMemoryWindowStore.
 * Timestamps must not be negative.
 *
 * Order: a fetch of one key gives its windows in window start order
 * (backward fetches the reverse). Fetches over several keys go segment by
 * segment and, within a segment, by key bytes then window start, as
 * Kafka's RocksDB window store (the in-memory stores use the same order).
 * Segments are read through iterators opened when the fetch is made. */

typedef struct rv_window_iter_s rv_window_iter_t;
typedef struct rv_session_iter_s rv_session_iter_t;

/** A builder of a RocksDB window store (Stores.persistentWindowStore):
 *  windows of window_size_ms kept for retention_ms (>= window_size_ms,
 *  both >= 0). With retain_duplicates every put is kept, even for the same
 *  key and window (stream-stream joins), and caching stays disabled.
 *  Logging enabled with Kafka's windowed changelog configs:
 *  cleanup.policy=compact,delete (delete when retaining duplicates) and
 *  retention.ms = retention_ms + 86400000
 *  (windowstore.changelog.additional.retention.ms); configs given to
 *  rv_store_builder_with_logging_enabled() override those two keys only.
 *  Caller owns the builder; free with rv_store_builder_destroy(); NULL when
 *  out of memory or the name or a duration is illegal (the reason is
 *  logged). */
RV_EXTERN rv_store_builder_t *rv_store_builder_persistent_window(const char *name,
                                                                 int64_t retention_ms,
                                                                 int64_t window_size_ms,
                                                                 int retain_duplicates);
/** An in-memory window store (Stores.inMemoryWindowStore). Ownership and
 *  configs as rv_store_builder_persistent_window(). */
RV_EXTERN rv_store_builder_t *rv_store_builder_in_memory_window(const char *name,
                                                                int64_t retention_ms,
                                                                int64_t window_size_ms,
                                                                int retain_duplicates);
/** A RocksDB session store (Stores.persistentSessionStore) keeping
 *  sessions for retention_ms after their end. Ownership and changelog
 *  configs as rv_store_builder_persistent_window(). */
RV_EXTERN rv_store_builder_t *rv_store_builder_persistent_session(const char *name,
                                                                  int64_t retention_ms);
/** An in-memory session store (Stores.inMemorySessionStore). Ownership as
 *  rv_store_builder_persistent_window(). */
RV_EXTERN rv_store_builder_t *rv_store_builder_in_memory_session(const char *name,
                                                                 int64_t retention_ms);

/** Puts `value` for `key` in the window starting at window_start (key and
 *  value copied). A NULL value deletes the window (a no-op for a store
 *  that retains duplicates, as Kafka). With retain_duplicates each put
 *  gets the next sequence number, so none replaces another. */
RV_EXTERN rv_err_t rv_window_store_put(rv_kv_store_t *store, const void *key, size_t key_len,
                                       const void *value, size_t value_len, int64_t window_start);
/** The value of `key` in the window starting at window_start (Kafka's
 *  fetch(key, time); sequence number 0, so not for stores that retain
 *  duplicates). Caller owns out->data; free with rv_bytes_free().
 *  RV_ERR__NOENT when there is none or it has expired. */
RV_EXTERN rv_err_t rv_window_store_fetch_value(rv_bytes_t *out, rv_kv_store_t *store,
                                               const void *key, size_t key_len,
                                               int64_t window_start);
/** The windows of `key` that start in [time_from, time_to], oldest first
 *  / newest first. Caller owns *out; free with rv_window_iter_destroy(). */
RV_EXTERN rv_err_t rv_window_store_fetch(rv_window_iter_t **out, rv_kv_store_t *store,
                                         const void *key, size_t key_len, int64_t time_from,
                                         int64_t time_to);
RV_EXTERN rv_err_t rv_window_store_backward_fetch(rv_window_iter_t **out, rv_kv_store_t *store,
                                                  const void *key, size_t key_len,
                                                  int64_t time_from, int64_t time_to);
/** The windows starting in [time_from, time_to] of the keys in [key_from,
 *  key_to] (a NULL bound is open; from > to gives an empty iterator, as
 *  Kafka). Caller owns *out; free with rv_window_iter_destroy(). */
RV_EXTERN rv_err_t rv_window_store_fetch_range(rv_window_iter_t **out, rv_kv_store_t *store,
                                               const void *key_from, size_t key_from_len,
                                               const void *key_to, size_t key_to_len,
                                               int64_t time_from, int64_t time_to);
/** Every window of every key / those starting in [time_from, time_to].
 *  Caller owns *out; free with rv_window_iter_destroy(). */
RV_EXTERN rv_err_t rv_window_store_all(rv_window_iter_t **out, rv_kv_store_t *store);
RV_EXTERN rv_err_t rv_window_store_fetch_all(rv_window_iter_t **out, rv_kv_store_t *store,
                                             int64_t time_from, int64_t time_to);

/** Moves to the next window: 1 when there is one, 0 at the end, or a
 *  negative rv_err_t (sticky; RV_ERR__STATE once the store was
 *  destroyed). */
RV_EXTERN int rv_window_iter_next(rv_window_iter_t *it);
/** The current window's key bytes / value. Borrowed: valid until the next
 *  call of rv_window_iter_next() or rv_window_iter_destroy(). */
RV_EXTERN const void *rv_window_iter_key(const rv_window_iter_t *it, size_t *len);
RV_EXTERN const void *rv_window_iter_value(const rv_window_iter_t *it, size_t *len);
/** The current window's start (end = start + the store's window size). */
RV_EXTERN int64_t rv_window_iter_window_start(const rv_window_iter_t *it);
RV_EXTERN void rv_window_iter_destroy(rv_window_iter_t *it);

/** Puts `value` for the session [start, end] of `key` (copied; start <=
 *  end). A NULL value removes the session. */
RV_EXTERN rv_err_t rv_session_store_put(rv_kv_store_t *store, const void *key, size_t key_len,
                                        int64_t start, int64_t end, const void *value,
                                        size_t value_len);
/** Removes the session [start, end] of `key`. */
RV_EXTERN rv_err_t rv_session_store_remove(rv_kv_store_t *store, const void *key, size_t key_len,
                                           int64_t start, int64_t end);
/** Kafka's findSessions: the sessions of `key` with end >=
 *  earliest_session_end_time and start <= latest_session_start_time, by
 *  end then start (backward: the reverse). Caller owns *out; free with
 *  rv_session_iter_destroy(). */
RV_EXTERN rv_err_t rv_session_store_find_sessions(rv_session_iter_t **out, rv_kv_store_t *store,
                                                  const void *key, size_t key_len,
                                                  int64_t earliest_session_end_time,
                                                  int64_t latest_session_start_time);
RV_EXTERN rv_err_t rv_session_store_backward_find_sessions(rv_session_iter_t **out,
                                                           rv_kv_store_t *store, const void *key,
                                                           size_t key_len,
                                                           int64_t earliest_session_end_time,
                                                           int64_t latest_session_start_time);
/** Every session of `key` (Kafka's fetch(key)). Caller owns *out; free
 *  with rv_session_iter_destroy(). */
RV_EXTERN rv_err_t rv_session_store_fetch(rv_session_iter_t **out, rv_kv_store_t *store,
                                          const void *key, size_t key_len);
/** The value of the session [start, end] of `key` (Kafka's fetchSession).
 *  Caller owns out->data; free with rv_bytes_free(). RV_ERR__NOENT when
 *  there is none. */
RV_EXTERN rv_err_t rv_session_store_fetch_session(rv_bytes_t *out, rv_kv_store_t *store,
                                                  const void *key, size_t key_len, int64_t start,
                                                  int64_t end);

/** As the window iterator: 1, 0 at the end, or a negative rv_err_t. */
RV_EXTERN int rv_session_iter_next(rv_session_iter_t *it);
/** The current session's key bytes / value. Borrowed: valid until the
 *  next call of rv_session_iter_next() or rv_session_iter_destroy(). */
RV_EXTERN const void *rv_session_iter_key(const rv_session_iter_t *it, size_t *len);
RV_EXTERN const void *rv_session_iter_value(const rv_session_iter_t *it, size_t *len);
RV_EXTERN int64_t rv_session_iter_start(const rv_session_iter_t *it);
RV_EXTERN int64_t rv_session_iter_end(const rv_session_iter_t *it);
RV_EXTERN void rv_session_iter_destroy(rv_session_iter_t *it);

RV_END_DECLS

#endif
