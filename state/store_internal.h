/* state/store_internal.h: what the runtime needs from state/ beyond the
 * public rivulet/store.h: opening a builder's store for a task, the
 * changelog and cache wrappers, restoring from changelog records.
 *
 * Every store, whatever its kind, is an rv_kv_store_t running an
 * rv_kv_store_ops_t (the public ops of user-supplied stores), so the runtime
 * treats all stores alike. A task stacks its stores as Kafka Streams does,
 * outermost first:
 *
 *     cache (rv__cache_wrap)          when the builder enables caching
 *       changelog (rv__changelog_wrap) when the builder enables logging
 *         inner store                  rv__store_builder_open()
 *
 * so the cache collapses updates before they are logged, and a cache flush
 * writes through the changelog wrapper. A wrapper owns the store it wraps:
 * destroying the outermost store closes the whole stack.
 *
 * Threads: none of these functions is thread-safe; the stream thread that
 * owns the task calls them. */
#ifndef RV_STATE_STORE_INTERNAL_H
#define RV_STATE_STORE_INTERNAL_H

#include <stdbool.h>

#include "rivulet/store.h"

/** The layer a store is, for walking a stack. */
typedef enum rv__store_kind_e {
    RV__STORE_INNER = 0, /* RocksDB, in-memory or user-supplied */
    RV__STORE_CACHE,
    RV__STORE_CHANGELOG
} rv__store_kind_t;

/** Builds a store over `ops`/`opaque` (see rv_kv_store_new_custom()); for a
 *  wrapper, `inner` is the wrapped store (owned by the wrapper's opaque,
 *  recorded here so rv__store_restore_batch() can find the inner store).
 *  Takes ownership of opaque on success only. Caller owns *out. */
rv_err_t rv__kv_store_new(rv_kv_store_t **out, const rv_kv_store_ops_t *ops, void *opaque,
                          const char *name, rv__store_kind_t kind, rv_kv_store_t *inner);
/** The store's layer and the store it wraps (NULL for an inner store).
 *  Borrowed. */
rv__store_kind_t rv__store_kind(const rv_kv_store_t *s);
rv_kv_store_t *rv__store_inner(const rv_kv_store_t *s);
/** The opaque the store runs its ops on. Borrowed. */
void *rv__store_opaque(const rv_kv_store_t *s);

/** The ops the store runs (to recognise a kind of store). Borrowed. */
const rv_kv_store_ops_t *rv__store_ops(const rv_kv_store_t *s);

/** Byte-wise key order (RocksDB's BytewiseComparator): <0, 0, >0. */
int rv__key_cmp(const void *a, size_t alen, const void *b, size_t blen);

/* ---- Inner stores ---- */

/** An in-memory ordered store (state/memory_store.c). Caller owns *out. */
rv_err_t rv__memory_store_new(rv_kv_store_t **out, const char *name);

/** A RocksDB store in folder `path` (created when missing), tuned as Kafka
 *  Streams' RocksDBStore (state/rocksdb_store.c). RV_ERR__LOCKED when
 *  another process has it open, RV_ERR__BAD_MSG when its files are corrupt,
 *  RV_ERR__IO otherwise; errstr says which folder and what RocksDB said.
 *  Caller owns *out. */
rv_err_t rv__rocksdb_store_open(rv_kv_store_t **out, const char *name, const char *path,
                                char *errstr, size_t errstr_size);

/** Opens the store `b` describes for the task whose state folder is
 *  task_dir (state.dir/<application.id>/<task id>): a RocksDB store lives
 *  in task_dir/rocksdb/<name>; in-memory stores touch no file; a custom
 *  store gets task_dir as is. The store is bare: the runtime wraps it with
 *  rv__changelog_wrap() and rv__cache_wrap() as the builder says. Caller
 *  owns *out; free with rv_kv_store_destroy(). */
rv_err_t rv__store_builder_open(const rv_store_builder_t *b, const char *task_dir,
                                rv_kv_store_t **out, char *errstr, size_t errstr_size);

/** Marks a store as timestamped (Kafka's TimestampedKeyValueStore and
 *  TimestampedWindowStore): every value starts with the row's 8-byte
 *  big-endian timestamp. Its changelog then carries Kafka's format: the
 *  value without those 8 bytes, with the timestamp as the record's
 *  timestamp; restoration puts them back. */
void rv__store_builder_set_timestamped(rv_store_builder_t *b);
int rv__store_builder_timestamped(const rv_store_builder_t *b);

/* ---- Window and session stores (segmented_store.c, window_store.c) ----
 *
 * A window or session store is an inner store whose keys are Kafka's
 * binary window or session keys, so the changelog and cache wrappers and
 * restoration work on it unchanged. The typed API of rivulet/store.h
 * (window_store.c) builds those keys and finds the segmented store under
 * the wrappers to learn its retention and segments. */

/** Where a key keeps its timestamps (Kafka's WindowKeySchema and
 *  SessionKeySchema). */
typedef enum rv__key_schema_e {
    RV__SCHEMA_WINDOW = 0, /* [key][8-byte BE window start][4-byte BE seqnum] */
    RV__SCHEMA_SESSION     /* [key][8-byte BE end][8-byte BE start] */
} rv__key_schema_t;

#define RV__WINDOW_SUFFIX_LEN 12
#define RV__SESSION_SUFFIX_LEN 16
/** windowstore.changelog.additional.retention.ms's default (one day). */
#define RV__WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS 86400000LL

typedef struct rv__segmented_conf_s {
    rv__key_schema_t schema;
    int64_t retention_ms;
    int64_t segment_interval_ms; /* max(retention / 2, 60000) as Kafka */
    int64_t window_size_ms;      /* window stores */
    int retain_duplicates;       /* window stores */
    int persistent;              /* RocksDB segments, else in memory */
} rv__segmented_conf_t;

typedef struct rv__segmented_s rv__segmented_t;

/** Kafka's segment interval for a retention period: max(retention / 2,
 *  60000). */
int64_t rv__segment_interval(int64_t retention_ms);

/** Opens a segmented store: RocksDB segments in folder `dir`
 *  (<task dir>/<name>, each segment <dir>/<name>.<segment id * interval>,
 *  existing ones reopened), or in-memory segments when !conf->persistent
 *  (dir unused, may be NULL). Caller owns *out; free with
 *  rv_kv_store_destroy(). */
rv_err_t rv__segmented_store_open(rv_kv_store_t **out, const char *name, const char *dir,
                                  const rv__segmented_conf_t *conf, char *errstr,
                                  size_t errstr_size);
/** The segmented store at the bottom of the stack `store`, or NULL when
 *  the stack has none. Borrowed: valid while the stack is. */
rv__segmented_t *rv__segmented_of(const rv_kv_store_t *store);
const rv__segmented_conf_t *rv__segmented_conf(const rv__segmented_t *ss);
/** Stream time as the store saw it: the highest segment timestamp written
 *  to it, or through the typed API (rv__segmented_note_put()); -1 before
 *  any write. */
int64_t rv__segmented_observed(const rv__segmented_t *ss);
/** Records that the typed API wrote a key of timestamp ts (which may sit
 *  in a cache above the store for now). */
void rv__segmented_note_put(rv__segmented_t *ss, int64_t ts);
/** The next sequence number for a store that retains duplicates (1, 2,
 *  ..., wrapping to 0 after 0x7fffffff, as Kafka). */
int32_t rv__segmented_next_seqnum(rv__segmented_t *ss);
/** The ids of the segments open now, ascending, into ids (at most max);
 *  returns how many there are. */
size_t rv__segmented_ids(const rv__segmented_t *ss, int64_t *ids, size_t max);
/** Makes the next iterator opened on the segmented store (directly or
 *  through its wrappers, which open it at once) read segment `id` only; a
 *  negative id clears a scope no iterator used. */
void rv__segmented_scope(rv__segmented_t *ss, int64_t id);

/* ---- Changelog (state/changelog.c) ---- */

/** Called after every change was applied to the inner store: value NULL is
 *  a delete. Key and value are borrowed for the call. An error is returned
 *  by the put/delete that caused it (the change stays applied). */
typedef rv_err_t (*rv__change_fn)(const void *key, size_t key_len, const void *value,
                                  size_t value_len, void *opaque);

/** Wraps `inner` so every put and delete, once applied, is passed to
 *  change(opaque), in the order they happened (the runtime sends them to
 *  <application.id>-<store>-changelog). Takes ownership of inner on
 *  success. Caller owns *out; the wrapper has inner's name. */
rv_err_t rv__changelog_wrap(rv_kv_store_t **out, rv_kv_store_t *inner, rv__change_fn change,
                            void *opaque);

/** Writes changelog records straight to the innermost store of the stack
 *  `store`, without logging them again (restoration). A NULL value deletes.
 *  Entries a cache in the stack holds for those keys are dropped, so reads
 *  see the restored values. RocksDB applies the batch as one write. */
rv_err_t rv__store_restore_batch(rv_kv_store_t *store, const rv_kv_entry_t *records, size_t cnt);

/* ---- Record cache (state/cache.c) ---- */

/** Called for each dirty entry a flush writes, in the order the entries
 *  were last updated, after the entry was written to the wrapped store:
 *  new_value NULL is a delete; old_value is the wrapped store's value before
 *  the write (NULL when it had none, or when old values are not wanted and
 *  the new value is not a delete). Borrowed for the call. The listener must
 *  not write to the cached store (RV_ERR__STATE). A delete of a key the
 *  wrapped store did not have is not passed on, as Kafka.
 *
 *  An error the listener returns does not fail the write that made the
 *  flush (a put or get that evicted: the entries are already in the wrapped
 *  store): the first one is kept and returned by the next explicit flush,
 *  rv__cache_flush() or rv_kv_store_flush() of the cache, which clears it.
 *  The flush goes on calling the listener for the remaining entries. */
typedef rv_err_t (*rv__cache_flush_fn)(const void *key, size_t key_len, const void *new_value,
                                       size_t new_len, const void *old_value, size_t old_len,
                                       void *opaque);

/** Bookkeeping bytes counted per entry on top of its key and value. */
#define RV__CACHE_ENTRY_OVERHEAD 64

/** Wraps `inner` with a record cache of at most max_bytes
 *  (cache.max.bytes.buffering for this store): see state/cache.c. listener
 *  may be NULL. Takes ownership of inner on success. Caller owns *out. */
rv_err_t rv__cache_wrap(rv_kv_store_t **out, rv_kv_store_t *inner, size_t max_bytes,
                        rv__cache_flush_fn listener, void *opaque);
/** Also read old values for updates (Kafka's sendOldValues). */
void rv__cache_set_send_old_values(rv_kv_store_t *cache, bool on);
/** Replaces the flush listener (NULL: none) and its opaque, for the
 *  entries flushed from now on (Kafka's setFlushListener). */
void rv__cache_set_listener(rv_kv_store_t *cache, rv__cache_flush_fn listener, void *opaque);
/** Writes every dirty entry to the wrapped store and the listener (the
 *  runtime calls it at commit, before rv_kv_store_flush() of the stack).
 *  Returns an error writing the wrapped store (the entries stay dirty), or
 *  else the first listener error since the last explicit flush (see
 *  rv__cache_flush_fn). `cache` must be a store made by rv__cache_wrap(). */
rv_err_t rv__cache_flush(rv_kv_store_t *cache);

/** Forgets every dirty entry without writing it anywhere, so closing the
 *  cache writes nothing (a task closed without a commit: its next owner
 *  reprocesses what they held). Clean entries stay. `cache` must be a
 *  store made by rv__cache_wrap(). */
void rv__cache_discard(rv_kv_store_t *cache);

/** Forgets the entry held for key, dirty or not (restoration writes under
 *  the cache). */
void rv__cache_drop_key(rv_kv_store_t *cache, const void *key, size_t key_len);

/** Counters of a cache, for tests and metrics. */
typedef struct rv__cache_stats_s {
    size_t bytes;   /* counted bytes held now */
    size_t entries; /* entries held now */
    size_t dirty;   /* dirty entries held now */
    uint64_t hits, misses, overwrites, evictions, flushes;
} rv__cache_stats_t;
void rv__cache_stats(const rv_kv_store_t *cache, rv__cache_stats_t *out);

#endif
