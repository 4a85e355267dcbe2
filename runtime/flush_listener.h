/* runtime/flush_listener.h: lets a processor hear what the record cache of
 * one of its stores flushes (Kafka's CachedStateStore.setFlushListener,
 * used by the DSL's KTable and aggregation processors to emit on flush,
 * as TimestampedCacheFlushListener does).
 *
 * The listener runs on the task's stream thread, from a put or get that
 * evicts (inside the processor's own process()) or from the commit that
 * flushes the caches. It receives the processor's context, so what it
 * forwards goes to that processor's children. */
#ifndef RV_RUNTIME_FLUSH_LISTENER_H
#define RV_RUNTIME_FLUSH_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

#include "rivulet/processor.h"

/** Called for each entry the cache writes through: new_value NULL is a
 *  delete; old_value the store's previous value (NULL when none, or when
 *  old values were not asked for and the entry is not a delete). All
 *  borrowed for the call. An error fails the task at its next commit. */
typedef rv_err_t rv__flush_listener_fn(rv_processor_context_t *ctx, const void *key, size_t key_len,
                                       const void *new_value, size_t new_len, const void *old_value,
                                       size_t old_len, void *opaque);

/* Caller-owned storage of one registration; must stay valid (not move)
 * until rv__flush_listener_clear(). */
typedef struct rv__flush_binding_s {
    rv_processor_context_t *ctx;
    rv__flush_listener_fn *fn;
    void *opaque;
    rv_kv_store_t *cache; /* the cache layer, NULL when the store has none */
} rv__flush_binding_t;

/** Registers fn(ctx, ..., opaque) as the flush listener of store
 *  `store_name` (connected to ctx's processor), reading old values for
 *  updates when send_old_values. Sets *cached: false when the store has no
 *  cache, in which case nothing is registered and the processor must
 *  forward its updates itself. Call from init(). Returns
 *  RV_ERR__INVALID_ARG when the store is not reachable from ctx (the
 *  context's last error says why). */
rv_err_t rv__flush_listener_set(bool *cached, rv__flush_binding_t *binding,
                                rv_processor_context_t *ctx, const char *store_name,
                                bool send_old_values, rv__flush_listener_fn *fn, void *opaque);

/** Unregisters (call from close(), before freeing the binding). Does
 *  nothing when nothing was registered. */
void rv__flush_listener_clear(rv__flush_binding_t *binding);

#endif
