/* state/state_dir.c: the application's state directory and per-task locks
 * (state/state_dir.h; Kafka Streams' StateDirectory).
 *
 * DESIGN
 * A lock is an flock(LOCK_EX | LOCK_NB) on <task>/.lock, held through an
 * open file description this object keeps, plus a row (task id, owner, fd)
 * in a table guarded by a mutex. flock belongs to the open file
 * description, not to the process, so a second open of the same file in
 * this process conflicts as another process would; the table answers
 * "which owner" and makes re-locking by the same owner succeed. The lock
 * file is never deleted (wiping keeps it): deleting it while locked would
 * let another process lock a new file of the same name. A crashed process
 * loses its locks with its file descriptors, so nothing is left stale.
 *
 * Wiping a task deletes its checkpoint first and fsyncs the folder, and
 * only then deletes the stores: the checkpoint claims the stores hold data
 * up to its offsets, so a crash in the middle must leave at worst stores
 * without a checkpoint (restored from scratch), never a checkpoint beside
 * an emptied store (restoration would skip what the store lost). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errstr.h"
#include "common/fileio.h"
#include "state/checkpoint.h"
#include "state/state_dir.h"

typedef struct task_lock_s {
    char *task_id;
    const void *owner;
    int fd;
} task_lock_t;

struct rv__state_dir_s {
    char *path; /* state.dir/application.id */
    pthread_mutex_t lock;
    task_lock_t *locks;
    size_t nlocks, cap;
};

/* A task folder name must stay inside the application folder. */
static int task_id_ok(const char *id) {
    return id && *id && !strchr(id, '/') && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* "<digits>_<digits>", the names TaskId.parse accepts. */
static int looks_like_task(const char *name) {
    const char *p = name;
    if (!(*p >= '0' && *p <= '9'))
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '_' || !(*p >= '0' && *p <= '9'))
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '\0';
}

rv_err_t rv__state_dir_open(rv__state_dir_t **out, const char *state_dir,
                            const char *application_id, char *errstr, size_t errstr_size) {
    *out = NULL;
    if (!state_dir || !*state_dir || !task_id_ok(application_id)) {
        rv__errstr_set(errstr, errstr_size, "invalid state.dir or application.id");
        return RV_ERR__INVALID_ARG;
    }
    rv__state_dir_t *sd = calloc(1, sizeof(*sd));
    if (!sd)
        return RV_ERR__NOMEM;
    rv__buf_t p = RV__BUF_INIT;
    if (rv__buf_printf(&p, "%s/%s", state_dir, application_id)) {
        free(sd);
        return RV_ERR__NOMEM;
    }
    sd->path = (char *)p.data;
    if (rv__io_mkdirs(sd->path, 0755) != 0) {
        rv__errstr_set(errstr, errstr_size, "cannot create state directory %s: %s", sd->path,
                       strerror(errno));
        free(sd->path);
        free(sd);
        return RV_ERR__IO;
    }
    pthread_mutex_init(&sd->lock, NULL);
    *out = sd;
    return RV_ERR_NO_ERROR;
}

void rv__state_dir_destroy(rv__state_dir_t *sd) {
    if (!sd)
        return;
    for (size_t i = 0; i < sd->nlocks; i++) {
        close(sd->locks[i].fd); /* releases the flock */
        free(sd->locks[i].task_id);
    }
    free(sd->locks);
    pthread_mutex_destroy(&sd->lock);
    free(sd->path);
    free(sd);
}

const char *rv__state_dir_path(const rv__state_dir_t *sd) {
    return sd->path;
}

char *rv__state_dir_task_path(const rv__state_dir_t *sd, const char *task_id) {
    if (!task_id_ok(task_id))
        return NULL;
    rv__buf_t p = RV__BUF_INIT;
    if (rv__buf_printf(&p, "%s/%s", sd->path, task_id)) {
        rv__buf_free(&p);
        return NULL;
    }
    return (char *)p.data;
}

static task_lock_t *find_lock(rv__state_dir_t *sd, const char *task_id) {
    for (size_t i = 0; i < sd->nlocks; i++)
        if (strcmp(sd->locks[i].task_id, task_id) == 0)
            return &sd->locks[i];
    return NULL;
}

rv_err_t rv__state_dir_lock_task(rv__state_dir_t *sd, const char *task_id, const void *owner,
                                 char *errstr, size_t errstr_size) {
    char *dir = rv__state_dir_task_path(sd, task_id);
    if (!dir) {
        rv__errstr_set(errstr, errstr_size, "invalid task id");
        return task_id_ok(task_id) ? RV_ERR__NOMEM : RV_ERR__INVALID_ARG;
    }
    rv_err_t err = RV_ERR_NO_ERROR;
    rv__buf_t lp = RV__BUF_INIT;
    int fd = -1;
    pthread_mutex_lock(&sd->lock);
    task_lock_t *held = find_lock(sd, task_id);
    if (held) {
        if (held->owner != owner) {
            rv__errstr_set(errstr, errstr_size,
                           "task %s's state directory %s is locked by another stream thread",
                           task_id, dir);
            err = RV_ERR__LOCKED;
        }
        goto out;
    }
    if (rv__io_mkdirs(dir, 0755) != 0) {
        rv__errstr_set(errstr, errstr_size, "cannot create task directory %s: %s", dir,
                       strerror(errno));
        err = RV_ERR__IO;
        goto out;
    }
    if (rv__buf_printf(&lp, "%s/%s", dir, RV__STATE_DIR_LOCK_FILE)) {
        err = RV_ERR__NOMEM;
        goto out;
    }
    fd = open((const char *)lp.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rv__errstr_set(errstr, errstr_size, "cannot open lock file %s: %s", (const char *)lp.data,
                       strerror(errno));
        err = RV_ERR__IO;
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        rv__errstr_set(errstr, errstr_size, "task %s's state directory %s is locked%s: %s", task_id,
                       dir, e == EWOULDBLOCK ? " by another process" : "", strerror(e));
        err = e == EWOULDBLOCK ? RV_ERR__LOCKED : RV_ERR__IO;
        goto out;
    }
    if (sd->nlocks == sd->cap) {
        size_t ncap = sd->cap ? 2 * sd->cap : 8;
        task_lock_t *l = realloc(sd->locks, ncap * sizeof(*l));
        if (!l) {
            err = RV_ERR__NOMEM;
            goto out;
        }
        sd->locks = l;
        sd->cap = ncap;
    }
    char *id = strdup(task_id);
    if (!id) {
        err = RV_ERR__NOMEM;
        goto out;
    }
    sd->locks[sd->nlocks].task_id = id;
    sd->locks[sd->nlocks].owner = owner;
    sd->locks[sd->nlocks].fd = fd;
    sd->nlocks++;
    fd = -1;
out:
    pthread_mutex_unlock(&sd->lock);
    if (fd >= 0)
        close(fd);
    rv__buf_free(&lp);
    free(dir);
    return err;
}

rv_err_t rv__state_dir_unlock_task(rv__state_dir_t *sd, const char *task_id, const void *owner) {
    rv_err_t err = RV_ERR__STATE;
    pthread_mutex_lock(&sd->lock);
    task_lock_t *l = task_id ? find_lock(sd, task_id) : NULL;
    if (l && l->owner == owner) {
        close(l->fd);
        free(l->task_id);
        *l = sd->locks[--sd->nlocks];
        err = RV_ERR_NO_ERROR;
    }
    pthread_mutex_unlock(&sd->lock);
    return err;
}

int rv__state_dir_holds_lock(rv__state_dir_t *sd, const char *task_id, const void *owner) {
    pthread_mutex_lock(&sd->lock);
    task_lock_t *l = task_id ? find_lock(sd, task_id) : NULL;
    int r = l && l->owner == owner;
    pthread_mutex_unlock(&sd->lock);
    return r;
}

void rv__state_dir_free_list(char **names, size_t cnt) {
    for (size_t i = 0; names && i < cnt; i++)
        free(names[i]);
    free(names);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rv_err_t rv__state_dir_list_tasks(rv__state_dir_t *sd, char ***out, size_t *cnt) {
    *out = NULL;
    *cnt = 0;
    DIR *d = opendir(sd->path);
    if (!d)
        return errno == ENOENT ? RV_ERR_NO_ERROR : RV_ERR__IO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    rv_err_t err = RV_ERR_NO_ERROR;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!looks_like_task(de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn) {
                err = RV_ERR__NOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            err = RV_ERR__NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (err) {
        rv__state_dir_free_list(names, n);
        return err;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    *out = names;
    *cnt = n;
    return RV_ERR_NO_ERROR;
}

rv_err_t rv__state_dir_wipe_task(rv__state_dir_t *sd, const char *task_id, const void *owner,
                                 char *errstr, size_t errstr_size) {
    if (!rv__state_dir_holds_lock(sd, task_id, owner)) {
        rv__errstr_set(errstr, errstr_size, "task %s: wiping state needs the task's lock",
                       task_id ? task_id : "(null)");
        return RV_ERR__STATE;
    }
    char *dir = rv__state_dir_task_path(sd, task_id);
    if (!dir)
        return RV_ERR__NOMEM;
    rv__buf_t p = RV__BUF_INIT;
    if (rv__buf_printf(&p, "%s/%s", dir, RV__CHECKPOINT_FILE)) {
        rv__buf_free(&p);
        free(dir);
        return RV_ERR__NOMEM;
    }
    /* The checkpoint goes first, durably (an empty write unlinks it and
     * fsyncs the folder): see DESIGN. */
    rv_err_t err = rv__checkpoint_write((const char *)p.data, NULL, 0, errstr, errstr_size);
    if (err) {
        rv__buf_free(&p);
        free(dir);
        return err;
    }
    DIR *d = opendir(dir);
    if (!d) {
        rv__errstr_set(errstr, errstr_size, "cannot read task directory %s: %s", dir,
                       strerror(errno));
        rv__buf_free(&p);
        free(dir);
        return RV_ERR__IO;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !strcmp(de->d_name, RV__STATE_DIR_LOCK_FILE))
            continue;
        p.len = 0;
        if (rv__buf_printf(&p, "%s/%s", dir, de->d_name)) {
            err = RV_ERR__NOMEM;
            break;
        }
        if (rv__io_rmtree((const char *)p.data) != 0) {
            rv__errstr_set(errstr, errstr_size, "cannot delete %s: %s", (const char *)p.data,
                           strerror(errno));
            err = RV_ERR__IO;
            break;
        }
    }
    closedir(d);
    if (!err && rv__io_fsync_dir(dir) != 0) {
        rv__errstr_set(errstr, errstr_size, "Failed to fsync folder %s: %s", dir, strerror(errno));
        err = RV_ERR__IO;
    }
    rv__buf_free(&p);
    free(dir);
    return err;
}
