/* state/state_dir.h: the state directory of an application, as Kafka
 * Streams' StateDirectory lays it out:
 *
 *     <state.dir>/<application.id>/<task id>/     one folder per task, "0_1"
 *         .lock                                   the task's lock file
 *         .checkpoint                             state/checkpoint.h
 *         rocksdb/<store>/                        one RocksDB per store
 *
 * A task folder is used only by the owner that holds its lock. Locks are
 * file locks (flock), so two processes pointed at one state.dir never share
 * a task folder, and two owners (stream threads) in one process never do
 * either. Thread-safe: stream threads share one rv__state_dir_t. */
#ifndef RV_STATE_STATE_DIR_H
#define RV_STATE_STATE_DIR_H

#include <stddef.h>

#include "rivulet/error.h"

typedef struct rv__state_dir_s rv__state_dir_t;

/** The lock file in each task folder. */
#define RV__STATE_DIR_LOCK_FILE ".lock"

/** Opens (creating it when missing) <state_dir>/<application_id>. Caller
 *  owns *out; free with rv__state_dir_destroy(), which releases every lock
 *  still held. */
rv_err_t rv__state_dir_open(rv__state_dir_t **out, const char *state_dir,
                            const char *application_id, char *errstr, size_t errstr_size);
void rv__state_dir_destroy(rv__state_dir_t *sd);

/** <state.dir>/<application.id>. Borrowed: valid until destroy. */
const char *rv__state_dir_path(const rv__state_dir_t *sd);

/** The folder of task_id (not created). Caller owns the string (free());
 *  NULL when out of memory or task_id is not a valid folder name. */
char *rv__state_dir_task_path(const rv__state_dir_t *sd, const char *task_id);

/** Takes the lock of task_id for `owner` (any pointer that identifies the
 *  holder, such as the stream thread), creating the task folder. Taking a
 *  lock the owner already holds succeeds (as Kafka's lock(taskId) for the
 *  same thread). RV_ERR__LOCKED when another owner in this process or
 *  another process holds it; errstr says which. */
rv_err_t rv__state_dir_lock_task(rv__state_dir_t *sd, const char *task_id, const void *owner,
                                 char *errstr, size_t errstr_size);
/** Releases the lock; RV_ERR__STATE when `owner` does not hold it. */
rv_err_t rv__state_dir_unlock_task(rv__state_dir_t *sd, const char *task_id, const void *owner);
/** 1 when `owner` holds the lock of task_id in this process. */
int rv__state_dir_holds_lock(rv__state_dir_t *sd, const char *task_id, const void *owner);

/** The task folders present (names that parse as a task id
 *  "<subtopology>_<partition>"), sorted. Caller owns *out; free with
 *  rv__state_dir_free_list(). */
rv_err_t rv__state_dir_list_tasks(rv__state_dir_t *sd, char ***out, size_t *cnt);
void rv__state_dir_free_list(char **names, size_t cnt);

/** Deletes the task's state (stores, checkpoint), keeping the folder and
 *  its lock file, as Kafka wipes a task whose state is corrupt or stale.
 *  The checkpoint is deleted first and the folder fsync'd before any store
 *  is touched, so a crash never leaves a checkpoint beside a half-deleted
 *  store. The owner must hold the lock (RV_ERR__STATE otherwise);
 *  RV_ERR__IO with a message in errstr when a delete or fsync fails. */
rv_err_t rv__state_dir_wipe_task(rv__state_dir_t *sd, const char *task_id, const void *owner,
                                 char *errstr, size_t errstr_size);

#endif
