/* fuzz/fuzz_config.c: libFuzzer target for configuration parsing
 * (common/config.h, common/conf.c, broker/topic_config.h): Kafka-style
 * number and boolean parsing, "key=value" splitting, the value checker
 * against every row of the client and topic property tables, the mapping of
 * checked topic configs onto rv__log_config_t, and properties files read
 * with rv_conf_load_file().
 *
 * The input is used as a NUL-terminated string (cut at its first NUL byte)
 * for the in-memory parsers and written unchanged, NULs included, to a
 * properties file. Besides sanitizer reports the target checks the
 * parsers' promises: int32 parsing agrees with int64 parsing, a split key
 * is non-empty and trimmed, and a value the checker accepts can be set on
 * a conf and read back. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/log_config.h"
#include "broker/topic_config.h"
#include "common/config.h"
#include "fuzz/fuzzutil.h"
#include "rivulet/conf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    rvf_quiet_logs();
    return 0;
}

static bool trimmed(const char *s) {
    size_t n = strlen(s);
    return !n || (!isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]));
}

static void numbers(const char *s) {
    int64_t l = 0;
    int32_t i = 0;
    double d;
    bool b;
    int rl = rv__parse_int64(s, &l);
    int ri = rv__parse_int32(s, &i);
    rvf_check(ri < 0 || (rl == 0 && l == i));
    rvf_check(rl < 0 || ri == 0 || l < INT32_MIN || l > INT32_MAX);
    (void)rv__parse_double(s, &d);
    if (rv__parse_bool(s, &b) == 0)
        rvf_check(strlen(s) == (b ? 4u : 5u));
}

/* The input as the value of every property of `table`. */
static void check_table(const rv__prop_t *table, const char *value, bool topic) {
    char errstr[512], tiny[8] = "";
    for (const rv__prop_t *p = table; p->name; p++) {
        rv_conf_res_t res = rv__prop_check(p, value, errstr, sizeof errstr);
        rvf_check(res == RV_CONF_OK || res == RV_CONF_INVALID);
        /* The message is cut to the caller's buffer, or not written. */
        rvf_check(rv__prop_check(p, value, tiny, sizeof tiny) == res);
        rvf_check(strlen(tiny) < sizeof tiny);
        rvf_check(rv__prop_check(p, value, NULL, 0) == res);
        if (topic) {
            rv_err_t err = rv__topic_config_check(p->name, value, errstr, sizeof errstr);
            rvf_check((err == RV_ERR_NO_ERROR) == (res == RV_CONF_OK));
            if (!err) {
                rv__log_config_t cfg;
                const char *n = p->name;
                rv__topic_config_to_log(&cfg, &n, &value, 1);
            }
        } else if (res == RV_CONF_OK) {
            rv_conf_t *conf = rv_conf_new();
            if (!conf)
                continue;
            rvf_check(rv_conf_set(conf, p->name, value, errstr, sizeof errstr) == RV_CONF_OK);
            const char *got = rv_conf_get(conf, p->name);
            rvf_check(got != NULL && trimmed(got));
            rv_conf_destroy(conf);
        }
    }
}

static void kv(const char *s) {
    char *name = NULL, *value = NULL;
    if (rv__parse_kv(s, &name, &value) < 0)
        return;
    rvf_check(name && value && *name && trimmed(name) && trimmed(value));
    rvf_check(strchr(name, '=') == NULL);
    char errstr[512];
    (void)rv__topic_config_check(name, value, errstr, sizeof errstr);
    rv_conf_t *conf = rv_conf_new();
    if (conf) {
        rv_conf_res_t res = rv_conf_set(conf, name, value, errstr, sizeof errstr);
        rvf_check(res == RV_CONF_OK || res == RV_CONF_INVALID || res == RV_CONF_UNKNOWN);
        rv_conf_destroy(conf);
    }
    free(name);
    free(value);
}

static void load_file(const uint8_t *data, size_t size) {
    char *dir = rvf_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/client.properties", dir);
    rvf_write_file(path, data, size);
    rv_conf_t *conf = rv_conf_new();
    if (conf) {
        char errstr[512];
        rv_conf_res_t res = rv_conf_load_file(conf, path, errstr, sizeof errstr);
        rvf_check(res == RV_CONF_OK || res == RV_CONF_INVALID || res == RV_CONF_UNKNOWN);
        rv_conf_t *dup = rv_conf_dup(conf);
        for (const rv__prop_t *p = rv__conf_props; p->name; p++) {
            const char *v = rv_conf_get(conf, p->name);
            const char *w = dup ? rv_conf_get(dup, p->name) : v;
            rvf_check((v == NULL) == (w == NULL) && (!v || !strcmp(v, w)));
        }
        rv_conf_destroy(dup);
        rv_conf_destroy(conf);
    }
    rvf_rmtree(dir);
    free(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    numbers(s);
    kv(s);
    check_table(rv__conf_props, s, false);
    check_table(rv__topic_config_props, s, true);
    load_file(data, size);
    free(s);
    return 0;
}
