/* tools/tool.c: helpers shared by the `rivulet` subcommands (see tool.h):
 * building the admin client's configuration from --command-config and
 * --bootstrap-server, error texts, and Kafka's topic name rules. */
#include "tools/tool.h"

#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "rivulet/conf.h"

rv_admin_t *rv__tool_admin_open(const char *bootstrap, const char *command_config, char *errstr,
                                size_t errstr_size) {
    rv_conf_t *conf = rv_conf_new();
    if (!conf) {
        snprintf(errstr, errstr_size, "Out of memory");
        return NULL;
    }
    errstr[0] = '\0';
    /* As Kafka's tools: the properties file first, then --bootstrap-server
     * overrides whatever bootstrap.servers the file had. */
    if (command_config &&
        rv_conf_load_file(conf, command_config, errstr, errstr_size) != RV_CONF_OK) {
        if (!errstr[0])
            snprintf(errstr, errstr_size, "%s: cannot load properties file", command_config);
        rv_conf_destroy(conf);
        return NULL;
    }
    if (bootstrap &&
        rv_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errstr_size) != RV_CONF_OK) {
        if (!errstr[0])
            snprintf(errstr, errstr_size, "Invalid value %s for configuration bootstrap.servers",
                     bootstrap);
        rv_conf_destroy(conf);
        return NULL;
    }
    rv_admin_t *admin = rv_admin_new(conf, errstr, errstr_size);
    if (!admin) {
        if (!errstr[0])
            snprintf(errstr, errstr_size, "Failed to create the admin client");
        rv_conf_destroy(conf);
        return NULL;
    }
    return admin;
}

const char *rv__tool_errmsg(rv_err_t err, const char *errstr) {
    return errstr && errstr[0] ? errstr : rv_err_str(err);
}

int rv__tool_topic_validate(const char *name, char *errstr, size_t errstr_size) {
    size_t len = strlen(name);
    if (len == 0) {
        snprintf(errstr, errstr_size, "Topic name is illegal, it can't be empty");
        return -1;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        snprintf(errstr, errstr_size, "Topic name cannot be \".\" or \"..\"");
        return -1;
    }
    if (len > 249) {
        snprintf(errstr, errstr_size,
                 "Topic name is illegal, it can't be longer than 249 characters, topic name: %s",
                 name);
        return -1;
    }
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            snprintf(errstr, errstr_size,
                     "Topic name \"%s\" is illegal, it contains a character other than ASCII "
                     "alphanumerics, '.', '_' and '-'",
                     name);
            return -1;
        }
    }
    return 0;
}

int rv__tool_topic_has_collision_chars(const char *name) {
    return strchr(name, '.') != NULL || strchr(name, '_') != NULL;
}

int rv__tool_fail(const char *msg) {
    fflush(stdout);
    fprintf(stderr, "%s\n", msg);
    return 1;
}

int rv__tool_split_kv(const char *arg, char *key, size_t ksz, char *val, size_t vsz) {
    const char *eq = strchr(arg, '=');
    size_t end = strlen(arg);
    while (end > 0 && arg[end - 1] == '=')
        end--; /* trailing empties dropped */
    if (eq && (size_t)(eq - arg) < end && memchr(eq + 1, '=', end - (size_t)(eq - arg) - 1))
        return -1;
    if (!eq || (size_t)(eq - arg) >= end) {
        snprintf(key, ksz, "%.*s", (int)end, arg);
        val[0] = '\0';
    } else {
        snprintf(key, ksz, "%.*s", (int)(eq - arg), arg);
        snprintf(val, vsz, "%.*s", (int)(end - (size_t)(eq - arg) - 1), eq + 1);
    }
    return 0;
}

bool rv__tool_is_true(const char *v) {
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == 4 && strncasecmp(v, "true", 4) == 0;
}

int rv__tool_conf_put(rv_conf_t *conf, const char *name, const char *value, char *errstr,
                      size_t errstr_size) {
    errstr[0] = '\0';
    if (rv_conf_set(conf, name, value, errstr, errstr_size) == RV_CONF_OK)
        return 0;
    if (!errstr[0])
        snprintf(errstr, errstr_size, "Invalid value %.300s for configuration %.200s", value, name);
    return -1;
}
