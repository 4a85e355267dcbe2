/* common/conf.c: rv_conf_t (rivulet/conf.h), a small map of Kafka-named
 * string properties checked against rv__conf_props (common/conf_props.c),
 * and the Java-properties file loader.
 *
 * A conf holds a few dozen entries at most and is read at construction
 * time, so a flat array with linear lookup is simpler and faster than a
 * hash. Values are stored trimmed, as Kafka's ConfigDef parses them, so
 * every later reader sees the same text the checker accepted. */
#include "rivulet/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

typedef struct conf_ent_s {
    char *name;
    char *value;
} conf_ent_t;

struct rv_conf_s {
    conf_ent_t *ents;
    size_t cnt, cap;
};

rv_conf_t *rv_conf_new(void) {
    return calloc(1, sizeof(rv_conf_t));
}

void rv_conf_destroy(rv_conf_t *conf) {
    if (!conf)
        return;
    for (size_t i = 0; i < conf->cnt; i++) {
        free(conf->ents[i].name);
        free(conf->ents[i].value);
    }
    free(conf->ents);
    free(conf);
}

rv_conf_t *rv_conf_dup(const rv_conf_t *conf) {
    rv_conf_t *d = rv_conf_new();
    if (!d || !conf)
        return d;
    if (conf->cnt) {
        d->ents = calloc(conf->cnt, sizeof *d->ents);
        if (!d->ents)
            goto fail;
        d->cap = conf->cnt;
    }
    for (size_t i = 0; i < conf->cnt; i++) {
        d->ents[i].name = strdup(conf->ents[i].name);
        d->ents[i].value = strdup(conf->ents[i].value);
        d->cnt++;
        if (!d->ents[i].name || !d->ents[i].value)
            goto fail;
    }
    return d;
fail:
    rv_conf_destroy(d);
    return NULL;
}

static conf_ent_t *ent_find(const rv_conf_t *conf, const char *name) {
    for (size_t i = 0; i < conf->cnt; i++)
        if (!strcmp(conf->ents[i].name, name))
            return &conf->ents[i];
    return NULL;
}

static char *trimmed(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                 s[n - 1] == '\f' || s[n - 1] == '\v'))
        n--;
    return strndup(s, n);
}

rv_conf_res_t rv_conf_set(rv_conf_t *conf, const char *name, const char *value, char *errstr,
                          size_t errstr_size) {
    const rv__prop_t *prop = rv__prop_find(rv__conf_props, name);
    if (!prop) {
        if (errstr_size)
            snprintf(errstr, errstr_size, "No such configuration property: \"%s\"",
                     name ? name : "(null)");
        return RV_CONF_UNKNOWN;
    }
    conf_ent_t *e = ent_find(conf, name);
    if (!value) {
        /* NULL unsets: the default applies again. */
        if (e) {
            free(e->name);
            free(e->value);
            *e = conf->ents[--conf->cnt];
        }
        return RV_CONF_OK;
    }
    rv_conf_res_t res = rv__prop_check(prop, value, errstr, errstr_size);
    if (res != RV_CONF_OK)
        return res;
    char *v = trimmed(value);
    if (!v)
        goto nomem;
    if (e) {
        free(e->value);
        e->value = v;
        return RV_CONF_OK;
    }
    if (conf->cnt == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 8;
        conf_ent_t *ents = realloc(conf->ents, cap * sizeof *ents);
        if (!ents) {
            free(v);
            goto nomem;
        }
        conf->ents = ents;
        conf->cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        free(v);
        goto nomem;
    }
    conf->ents[conf->cnt].name = n;
    conf->ents[conf->cnt].value = v;
    conf->cnt++;
    return RV_CONF_OK;

nomem:
    if (errstr_size)
        snprintf(errstr, errstr_size, "Out of memory setting %s", name);
    return RV_CONF_INVALID;
}

const char *rv_conf_get(const rv_conf_t *conf, const char *name) {
    if (!name)
        return NULL;
    if (conf) {
        const conf_ent_t *e = ent_find(conf, name);
        if (e)
            return e->value;
    }
    const rv__prop_t *prop = rv__prop_find(rv__conf_props, name);
    return prop ? prop->dflt : NULL;
}

int rv__conf_is_set(const rv_conf_t *conf, const char *name) {
    return conf && name && ent_find(conf, name) != NULL;
}

int64_t rv__conf_get_int64(const rv_conf_t *conf, const char *name, int64_t dflt) {
    int64_t v;
    const char *s = rv_conf_get(conf, name);
    return s && rv__parse_int64(s, &v) == 0 ? v : dflt;
}

bool rv__conf_get_bool(const rv_conf_t *conf, const char *name, bool dflt) {
    bool v;
    const char *s = rv_conf_get(conf, name);
    return s && rv__parse_bool(s, &v) == 0 ? v : dflt;
}

rv_conf_res_t rv_conf_load_file(rv_conf_t *conf, const char *path, char *errstr,
                                size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errstr_size)
            snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return RV_CONF_INVALID;
    }
    rv_conf_res_t res = RV_CONF_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\f')
            p++;
        if (!*p || *p == '#' || *p == '!')
            continue;
        char *name, *value;
        if (rv__parse_kv(p, &name, &value) < 0) {
            if (errstr_size)
                snprintf(errstr, errstr_size, "%s:%d: Expected key=value, not \"%s\"", path, lineno,
                         p);
            res = RV_CONF_INVALID;
            break;
        }
        char msg[512];
        res = rv_conf_set(conf, name, value, msg, sizeof msg);
        free(name);
        free(value);
        if (res != RV_CONF_OK) {
            if (errstr_size)
                snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno, msg);
            break;
        }
    }
    if (res == RV_CONF_OK && ferror(f)) {
        if (errstr_size)
            snprintf(errstr, errstr_size, "%s: read error", path);
        res = RV_CONF_INVALID;
    }
    free(line);
    fclose(f);
    return res;
}
