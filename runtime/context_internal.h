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

#endif
