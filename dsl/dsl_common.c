/* dsl/dsl_common.c: small helpers the operator files of the DSL share
 * (aggregate.c, ktable.c, suppress.c, the windowed files): the builder and
 * argument checks every operator starts with, in Kafka's words; reading
 * the value a user function set; making a processor instance; failing or
 * skipping a record with Kafka's messages; adding a store to the
 * topology. Contract: dsl/dsl_internal.h ("Helpers of the operators"). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "dsl/dsl_internal.h"
#include "runtime/context_internal.h"

#define FAC "dsl"

bool rv__dsl_builder_ok(rv_streams_builder_t *b) {
    if (b->err)
        return false;
    if (!b->topo) {
        rv__dsl_fail(b, RV_ERR__STATE,
                     "The builder was built already: rv_streams_builder_build() hands the "
                     "topology over");
        return false;
    }
    return true;
}

bool rv__dsl_require(rv_streams_builder_t *b, bool present, const char *what) {
    if (!present)
        rv__dsl_fail(b, RV_ERR__INVALID_ARG, "%s can't be null", what);
    return present;
}

void rv__out_value_get(const rv_out_t *out, const void **v, int32_t *len) {
    if (out->value_set && out->cnt > 0 && out->items[0].value) {
        *v = out->items[0].value;
        *len = out->items[0].value_len;
    } else {
        *v = NULL;
        *len = -1;
    }
}

void rv__dsl_log_skipped(rv_processor_context_t *ctx, const char *why) {
    const char *topic;
    int32_t partition;
    int64_t offset;
    if (rv_processor_context_record_metadata(ctx, &topic, &partition, &offset))
        rv__log_warn(FAC,
                     "Skipping record due to %s. topic=[%s] partition=[%" PRId32
                     "] offset=[%" PRId64 "]",
                     why, topic, partition, offset);
    else
        rv__log_warn(FAC, "Skipping record due to %s. Topic, partition, and offset not known.",
                     why);
}

rv_err_t rv__dsl_add_store(rv_streams_builder_t *b, rv_store_builder_t *sb, const char *proc) {
    if (!sb)
        return rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
    char errstr[512] = "";
    rv_err_t err = rv_topology_add_state_store(b->topo, sb, &proc, 1, errstr, sizeof errstr);
    if (err) {
        rv_store_builder_destroy(sb);
        return rv__dsl_topology_fail(b, err, errstr[0] ? errstr : "Out of memory");
    }
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__dsl_add_store_as(rv_streams_builder_t *b, const char *store, rv_store_builder_t *sb,
                              bool logging, const char *const *configs, size_t config_cnt,
                              const char *proc) {
    char errstr[512] = "";
    if (rv_store_name_validate(store, errstr, sizeof errstr)) {
        rv_store_builder_destroy(sb);
        return rv__dsl_fail(b, RV_ERR__INVALID_ARG, "Invalid topology: %s", errstr);
    }
    if (!sb)
        return rv__dsl_fail(b, RV_ERR__NOMEM, "Out of memory");
    if (!logging) {
        rv_store_builder_with_logging_disabled(sb);
    } else {
        rv_err_t err = rv_store_builder_with_logging_enabled(sb, configs, config_cnt);
        if (err) {
            rv_store_builder_destroy(sb);
            return rv__dsl_fail(b, err, "Out of memory");
        }
    }
    return rv__dsl_add_store(b, sb, proc);
}

rv_err_t rv__dsl_processor_new(rv_processor_t *out, size_t state_size, const void *cfg,
                               rv_processor_init_cb_t *init, rv_processor_process_cb_t *process,
                               rv_processor_close_cb_t *close) {
    void *state = calloc(1, state_size);
    if (!state)
        return RV_ERR__NOMEM;
    /* The state's first member is a pointer to its configuration: copied
     * as bytes, which is how it is then read through its own type. */
    memcpy(state, &cfg, sizeof cfg);
    out->init = init;
    out->process = process;
    out->close = close;
    out->state = state;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__dsl_fail_record(rv_processor_context_t *ctx, rv_err_t err, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rv__context_set_error(ctx, "%s", msg);
    rv__log_err(FAC, "%s", msg);
    return err;
}

char *rv__dsl_app_topic(rv_processor_context_t *ctx, const char *topic) {
    const char *app = rv_processor_context_application_id(ctx);
    size_t n = strlen(app) + 1 + strlen(topic) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s-%s", app, topic);
    return s;
}
