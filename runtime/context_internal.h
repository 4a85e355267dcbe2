/* runtime/context_internal.h: what the DSL's processors (dsl/) may ask of
 * their processor context beyond rivulet/processor.h, so that they need
 * not reach into the task (runtime/task.h). Implemented in
 * runtime/context.c. Like the rest of the context, these run on the stream
 * thread that owns the context's task. */
#ifndef RV_RUNTIME_CONTEXT_INTERNAL_H
#define RV_RUNTIME_CONTEXT_INTERNAL_H

#include "rivulet/processor.h"

/** Sets, printf-style, the message rv_processor_context_last_error()
 *  returns and the task's failure reports when the processor then fails
 *  (Kafka's exception text where Kafka throws one). A longer message is
 *  cut to the context's buffer. */
void rv__context_set_error(rv_processor_context_t *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** The store `name` of ctx's task whether or not it is connected to ctx's
 *  processor; NULL, with the context's last error set, when the task has
 *  none by that name. Borrowed: valid until the task closes its stores.
 *  For a processor that answers reads of another node's store on behalf
 *  of the processors reading its own store: the suppression buffer's view
 *  of its parent's store (dsl/suppress.c). Kafka connects that store to
 *  the reading processors, not to the suppress node, and its describe()
 *  shows it so; connecting it to the suppress node would change
 *  describe(). */
rv_kv_store_t *rv__context_task_store(rv_processor_context_t *ctx, const char *name);

/** The processor metadata of ctx's task (Kafka's
 *  InternalProcessorContext.processorMetadataForKey / addProcessorMetadataKeyValue):
 *  task-wide key/value pairs committed in the metadata of the task's input
 *  offsets and read back when the task is created again, so a processor
 *  can keep progress across restarts (emit on window close keeps its last
 *  emitted close time under its store's name). In the test driver they
 *  live in memory for the driver's life. get: 1 and *out when key has a
 *  value, else 0. put: copies key; RV_ERR__NOMEM on failure. */
int rv__context_processor_metadata_get(const rv_processor_context_t *ctx, const char *key,
                                       int64_t *out);
rv_err_t rv__context_processor_metadata_put(rv_processor_context_t *ctx, const char *key,
                                            int64_t value);

#endif
