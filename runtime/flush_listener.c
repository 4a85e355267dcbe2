/* runtime/flush_listener.c: a processor's flush listener on the record
 * cache of one of its stores (see runtime/flush_listener.h). The cache
 * (state/cache.c) knows nothing of processors; this adapter gives its
 * listener the processor's context. */
#include "runtime/flush_listener.h"

#include "state/store_internal.h"

static rv_err_t adapter(const void *key, size_t key_len, const void *new_value, size_t new_len,
                        const void *old_value, size_t old_len, void *opaque) {
    rv__flush_binding_t *b = opaque;
    return b->fn(b->ctx, key, key_len, new_value, new_len, old_value, old_len, b->opaque);
}

rv_err_t rv__flush_listener_set(bool *cached, rv__flush_binding_t *binding,
                                rv_processor_context_t *ctx, const char *store_name,
                                bool send_old_values, rv__flush_listener_fn *fn, void *opaque) {
    *cached = false;
    binding->cache = NULL;
    rv_kv_store_t *s = rv_processor_context_get_state_store(ctx, store_name);
    if (!s)
        return RV_ERR__INVALID_ARG;
    if (rv__store_kind(s) != RV__STORE_CACHE)
        return RV_ERR_NO_ERROR;
    binding->ctx = ctx;
    binding->fn = fn;
    binding->opaque = opaque;
    binding->cache = s;
    rv__cache_set_send_old_values(s, send_old_values);
    rv__cache_set_listener(s, adapter, binding);
    *cached = true;
    return RV_ERR_NO_ERROR;
}

void rv__flush_listener_clear(rv__flush_binding_t *binding) {
    if (!binding->cache)
        return;
    rv__cache_set_listener(binding->cache, NULL, NULL);
    binding->cache = NULL;
}
