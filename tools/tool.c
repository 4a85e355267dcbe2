/* tools/tool.c: helpers shared by the `rivulet` subcommands (see tool.h):
 * building the admin client's configuration from --command-config and
 * --bootstrap-server, error texts, and Kafka's topic name rules. */
#include "tools/tool.h"

#include <stdio.h>
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
