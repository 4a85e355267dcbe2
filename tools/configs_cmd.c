/* tools/configs_cmd.c: `rivulet configs`, Apache Kafka's kafka-configs.sh
 * (ConfigCommand) for topic configs: --describe [--all] and --alter with
 * --add-config / --add-config-file / --delete-config, entity selection by
 * --entity-type topics --entity-name T or by --topic T, and Kafka's
 * messages and exit statuses.
 *
 * Kafka's tool sorts errors into two kinds and so does this one: bad
 * arguments and invalid configs print their message to stderr; failures of
 * the operation print "Error while executing config command with args
 * '<args>'" and the cause to stderr. Both exit with status 1. Only the
 * topics entity type exists on the embedded broker; the synonyms column
 * names the topic config itself (DYNAMIC_TOPIC_CONFIG for a value set on the
 * topic, DEFAULT_CONFIG for a default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t configs_opts[] = {
    {"add-config", RV__OPT_STRING, false, "String",
     "Key Value pairs of configs to add. Square brackets can be used to group values which "
     "contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'. See `rivulet config-docs` for the topic "
     "configs."},
    {"add-config-file", RV__OPT_STRING, false, "String",
     "Path to a properties file with configs to add. See add-config for a list of valid "
     "configurations."},
    {"all", RV__OPT_FLAG, false, NULL,
     "List all configs for the given topic, the defaults included."},
    {"alter", RV__OPT_FLAG, false, NULL, "Alter the configuration for the entity."},
    {"bootstrap-server", RV__OPT_STRING, false, "server to connect to",
     "The Kafka server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"command-config", RV__OPT_STRING, false, "command config property file",
     "Property file containing configs to be passed to Admin Client."},
    {"delete-config", RV__OPT_STRING, true, "String", "config keys to remove 'k1,k2'"},
    {"describe", RV__OPT_FLAG, false, NULL, "List configs for the given entity."},
    {"entity-name", RV__OPT_STRING, true, "String", "Name of entity (topic name)"},
    {"entity-type", RV__OPT_STRING, true, "String", "Type of entity (topics)"},
    {"force", RV__OPT_FLAG, false, NULL, "Suppress console prompts"},
    {"topic", RV__OPT_STRING, false, "String",
     "The topic's name. Same as --entity-type topics --entity-name <topic>."},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

/* The command line as Kafka quotes it in its error line. */
static char g_argline[4096];

static int usage_fail(const char *msg) {
    rv__args_usage_error(configs_opts, msg);
    return 1;
}

/* IllegalArgumentException / InvalidConfigurationException: the message. */
static int arg_fail(const char *msg) {
    fflush(stdout);
    fprintf(stderr, "%s\n", msg);
    return 1;
}

/* Any other failure: Kafka's line naming the arguments, then the cause. */
static int op_fail(const char *msg) {
    fflush(stdout);
    fprintf(stderr, "Error while executing config command with args '%s'\n%s\n", g_argline, msg);
    return 1;
}

/* --- parsing --add-config ----------------------------------------------- */

/* Kafka splits --add-config with the lookahead (?=[^\]]*(?:\[|$)): a
 * separator counts only when the text after it reaches a '[' or the end
 * before any ']', i.e. when it is outside square brackets. */
static bool outside_brackets(const char *after) {
    for (; *after; after++) {
        if (*after == ']')
            return false;
        if (*after == '[')
            return true;
    }
    return true;
}

static char *dup_range(const char *s, const char *e) {
    char *r = malloc((size_t)(e - s) + 1);
    if (r) {
        memcpy(r, s, (size_t)(e - s));
        r[e - s] = '\0';
    }
    return r;
}

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* A growing list of name/value pairs; a later name replaces an earlier one
 * as in java.util.Properties. */
typedef struct kvlist_s {
    char **names, **values;
    size_t cnt;
} kvlist_t;

static void kv_free(kvlist_t *l) {
    for (size_t i = 0; i < l->cnt; i++) {
        free(l->names[i]);
        free(l->values[i]);
    }
    free(l->names);
    free(l->values);
    memset(l, 0, sizeof *l);
}

/* Takes ownership of name and value (both freed on failure). */
static int kv_put(kvlist_t *l, char *name, char *value) {
    if (!name || !value)
        goto fail;
    for (size_t i = 0; i < l->cnt; i++)
        if (strcmp(l->names[i], name) == 0) {
            free(l->values[i]);
            l->values[i] = value;
            free(name);
            return 0;
        }
    char **nn = realloc(l->names, sizeof *nn * (l->cnt + 1));
    if (!nn)
        goto fail;
    l->names = nn;
    char **nv = realloc(l->values, sizeof *nv * (l->cnt + 1));
    if (!nv)
        goto fail;
    l->values = nv;
    l->names[l->cnt] = name;
    l->values[l->cnt] = value;
    l->cnt++;
    return 0;
fail:
    free(name);
    free(value);
    return -1;
}

/* Trims whitespace in place: returns the first non-space, cuts the end. */
static char *trim_inplace(char *s) {
    while (is_ws(*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && is_ws(e[-1]))
        *--e = '\0';
    return s;
}

/* One "key=value" item of --add-config: split at every '=' outside
 * brackets (with the whitespace around it), which must give exactly two
 * parts; the value loses its brackets and surrounding whitespace. */
static int parse_pair(kvlist_t *out, const char *s, const char *e) {
    const char *eq = NULL;
    int n = 0;
    for (const char *p = s; p < e; p++)
        if (*p == '=') {
            /* The lookahead sees the rest of the whole --add-config value,
             * but within one item the next ']' or '[' decides the same way
             * unless brackets are unbalanced across items; `e` bounds the
             * scan to keep that simple rule. */
            char *rest = dup_range(p + 1, e);
            if (!rest)
                return -2;
            bool sep = outside_brackets(rest);
            free(rest);
            if (sep) {
                n++;
                if (!eq)
                    eq = p;
            }
        }
    if (n != 1)
        return -1;
    const char *ke = eq;
    while (ke > s && is_ws(ke[-1]))
        ke--;
    const char *vs = eq + 1;
    while (vs < e && is_ws(*vs))
        vs++;
    char *key = dup_range(s, ke);
    char *val = malloc((size_t)(e - vs) + 1);
    if (!key || !val) {
        free(key);
        free(val);
        return -2;
    }
    size_t vl = 0;
    for (const char *p = vs; p < e; p++)
        if (*p != '[' && *p != ']')
            val[vl++] = *p;
    val[vl] = '\0';
    char *k = trim_inplace(key), *v = trim_inplace(val);
    char *kc = strdup(k), *vc = strdup(v);
    free(key);
    free(val);
    return kv_put(out, kc, vc) < 0 ? -2 : 0;
}

/* Splits the whole --add-config value at commas outside brackets; empty
 * items at the end are dropped as Java's String.split does. */
static int parse_add_config(kvlist_t *out, const char *text) {
    const char *start = text;
    size_t items = 0;
    const char *bounds[2 * 1024];
    for (const char *p = text;; p++) {
        if (*p == '\0' || (*p == ',' && outside_brackets(p + 1))) {
            if (items >= sizeof bounds / sizeof *bounds / 2)
                return -1;
            bounds[2 * items] = start;
            bounds[2 * items + 1] = p;
            items++;
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    /* Java's split drops trailing empty items, except from an empty text,
     * which is one empty item (and so not "key=val"). */
    while (*text && items > 0 && bounds[2 * (items - 1)] == bounds[2 * (items - 1) + 1])
        items--;
    for (size_t i = 0; i < items; i++) {
        int rc = parse_pair(out, bounds[2 * i], bounds[2 * i + 1]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A Java properties file, as Utils.loadProps reads one: `key=value`,
 * `key: value` or `key value` lines; `#` and `!` start comments. */
static int load_props(kvlist_t *out, const char *path, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s (No such file or directory)", path);
        return -1;
    }
    char line[8192];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        char *s = trim_inplace(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        size_t klen = strcspn(s, "=: \t\f");
        char *v = s + klen;
        while (is_ws(*v))
            v++;
        if (*v == '=' || *v == ':')
            v++;
        while (is_ws(*v))
            v++;
        if (kv_put(out, dup_range(s, s + klen), strdup(v)) < 0) {
            snprintf(errstr, errstr_size, "Out of memory");
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

/* --- describe --------------------------------------------------------------- */

static int describe_one(rv_admin_t *admin, const char *topic, bool all) {
    printf("%s configs for topic %s are:\n", all ? "All" : "Dynamic", topic);
    char errstr[1024] = "";
    if (rv__tool_topic_validate(topic, errstr, sizeof errstr) < 0)
        return op_fail(errstr);
    rv_config_list_t *l = NULL;
    rv_err_t err = rv_admin_describe_configs(admin, topic, &l, errstr, sizeof errstr);
    if (err)
        return op_fail(rv__tool_errmsg(err, errstr));
    size_t n = rv_config_list_count(l);
    for (size_t i = 0; i < n; i++) {
        bool dflt = rv_config_list_is_default(l, i);
        if (dflt && !all)
            continue;
        const char *name = rv_config_list_name(l, i);
        const char *value = rv_config_list_value(l, i);
        if (!value)
            value = "null";
        printf("  %s=%s sensitive=false synonyms={%s:%s=%s}\n", name, value,
               dflt ? "DEFAULT_CONFIG" : "DYNAMIC_TOPIC_CONFIG", name, value);
    }
    rv_config_list_destroy(l);
    return 0;
}

static int do_describe(rv_admin_t *admin, const char *name, bool all) {
    if (name)
        return describe_one(admin, name, all);
    /* No name: every topic, internal ones included, as Kafka. */
    char **names = NULL;
    size_t cnt = 0;
    char errstr[1024] = "";
    rv_err_t err = rv_admin_list_topics(admin, true, &names, &cnt, errstr, sizeof errstr);
    if (err)
        return op_fail(rv__tool_errmsg(err, errstr));
    int rc = 0;
    for (size_t i = 0; i < cnt && rc == 0; i++)
        rc = describe_one(admin, names[i], all);
    rv_strv_free(names, cnt);
    return rc;
}

/* --- alter ------------------------------------------------------------------ */

static int do_alter(rv_admin_t *admin, const rv__args_t *a, const char *topic) {
    kvlist_t add = {0}, del = {0};
    char errstr[1024] = "";
    int rc = 0;
    const char *add_text = rv__args_str(a, "add-config");
    const char *add_file = rv__args_str(a, "add-config-file");
    if (add_text) {
        int prc = parse_add_config(&add, add_text);
        if (prc == -1) {
            rc = arg_fail("requirement failed: Invalid entity config: all configs to be added "
                          "must be in the format \"key=val\".");
            goto out;
        }
        if (prc < 0) {
            rc = arg_fail("Out of memory");
            goto out;
        }
    }
    if (add_file && load_props(&add, add_file, errstr, sizeof errstr) < 0) {
        rc = op_fail(errstr);
        goto out;
    }
    size_t ndel = 0;
    const char *const *dels = rv__args_strs(a, "delete-config", &ndel);
    for (size_t i = 0; i < ndel; i++) {
        /* withValuesSeparatedBy(','): each value is a comma list. */
        const char *p = dels[i];
        for (;;) {
            size_t len = strcspn(p, ",");
            char *item = dup_range(p, p + len);
            if (!item || kv_put(&del, strdup(trim_inplace(item)), strdup("")) < 0) {
                free(item);
                rc = arg_fail("Out of memory");
                goto out;
            }
            free(item);
            p += len;
            if (!*p)
                break;
            p++;
        }
    }

    /* Deleting a config that is not set on the topic is refused before
     * anything changes, as Kafka checks against the topic's dynamic
     * configs. */
    rv_config_list_t *cur = NULL;
    if (rv__tool_topic_validate(topic, errstr, sizeof errstr) < 0) {
        rc = op_fail(errstr);
        goto out;
    }
    rv_err_t err = rv_admin_describe_configs(admin, topic, &cur, errstr, sizeof errstr);
    if (err) {
        rc = op_fail(rv__tool_errmsg(err, errstr));
        goto out;
    }
    char invalid[1024] = "";
    size_t ilen = 0;
    for (size_t i = 0; i < del.cnt; i++) {
        bool set = false;
        for (size_t j = 0; j < rv_config_list_count(cur); j++)
            if (strcmp(rv_config_list_name(cur, j), del.names[i]) == 0 &&
                !rv_config_list_is_default(cur, j))
                set = true;
        if (!set && ilen < sizeof invalid)
            ilen += (size_t)snprintf(invalid + ilen, sizeof invalid - ilen, "%s%s", ilen ? "," : "",
                                     del.names[i]);
    }
    rv_config_list_destroy(cur);
    if (ilen) {
        char msg[1100];
        snprintf(msg, sizeof msg, "Invalid config(s): %s", invalid);
        rc = arg_fail(msg);
        goto out;
    }
    err = rv_admin_alter_configs(admin, topic, (const char *const *)add.names,
                                 (const char *const *)add.values, add.cnt,
                                 (const char *const *)del.names, del.cnt, errstr, sizeof errstr);
    if (err) {
        rc = op_fail(rv__tool_errmsg(err, errstr));
        goto out;
    }
    printf("Completed updating config for topic %s.\n", topic);
out:
    kv_free(&add);
    kv_free(&del);
    return rc;
}

/* ConfigCommandOptions.checkArgs for the topics entity type. On success
 * sets *name (NULL when describing every topic). Returns 0 or the exit
 * status. */
static int check_args(const rv__args_t *a, const char **name) {
    int actions = rv__args_has(a, "alter") + rv__args_has(a, "describe");
    if (actions != 1)
        return usage_fail("Command must include exactly one action: --describe, --alter");
    static const char *const describe_bad[] = {"alter", "add-config", "delete-config", NULL};
    if (rv__args_has(a, "describe"))
        for (const char *const *b = describe_bad; *b; b++)
            if (rv__args_has(a, *b)) {
                char msg[128];
                snprintf(msg, sizeof msg,
                         "Option \"[describe]\" can't be used with option \"[%s]\"", *b);
                return usage_fail(msg);
            }

    size_t ntypes = 0, nnames = 0;
    const char *const *types = rv__args_strs(a, "entity-type", &ntypes);
    const char *const *names = rv__args_strs(a, "entity-name", &nnames);
    bool by_flag = rv__args_has(a, "topic");
    if (by_flag && (ntypes || nnames))
        return arg_fail("--entity-{type,name,default} should not be used in conjunction with "
                        "specific entity flags");
    for (size_t i = 0; i < ntypes; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(types[i], types[j]) == 0) {
                char msg[512];
                snprintf(msg, sizeof msg, "Duplicate entity type(s) specified: %s", types[i]);
                return arg_fail(msg);
            }
    for (size_t i = 0; i < ntypes; i++)
        if (strcmp(types[i], "topics") != 0) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "Invalid entity-type %s, --entity-type must be one of topics with the "
                     "--bootstrap-server argument",
                     types[i]);
            return arg_fail(msg);
        }
    if (!by_flag && ntypes == 0)
        return arg_fail("At least one entity type must be specified");
    if (!rv__args_has(a, "bootstrap-server"))
        return arg_fail("The --bootstrap-server argument must be specified");
    *name = by_flag ? rv__args_str(a, "topic") : nnames ? names[0] : NULL;
    if (*name && !**name)
        return arg_fail("--entity-default is not supported for entity type topics: an entity "
                        "name must not be empty");
    if (rv__args_has(a, "alter")) {
        if (!*name)
            return arg_fail("an entity name must be specified with --alter of topics");
        bool add = rv__args_has(a, "add-config"), file = rv__args_has(a, "add-config-file");
        if (add && file)
            return arg_fail("Only one of --add-config or --add-config-file must be specified");
        if (!add && !file && !rv__args_has(a, "delete-config"))
            return arg_fail("At least one of --add-config, --add-config-file, or --delete-config "
                            "must be specified with --alter");
        if (!by_flag && ntypes != nnames)
            return arg_fail("An entity name must be specified for every entity type");
    }
    return 0;
}

int rv__cmd_configs(int argc, char **argv) {
    size_t off = 0;
    g_argline[0] = '\0';
    for (int i = 0; i < argc && off < sizeof g_argline; i++)
        off += (size_t)snprintf(g_argline + off, sizeof g_argline - off, "%s%s", i ? " " : "",
                                argv[i]);
    if (argc == 0) {
        rv__args_usage_error(configs_opts, "Add/Remove entity config for a topic, client, user or "
                                           "broker");
        return 1;
    }
    rv__args_t a;
    char errstr[1024];
    if (rv__args_parse(&a, configs_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        return usage_fail(errstr);
    }
    int rc = 0;
    const char *name = NULL;
    if (a.help) {
        fprintf(stderr, "This tool helps to manipulate and describe entity config for a topic, "
                        "client, user, broker or ip\n");
        rv__args_usage(stderr, configs_opts);
        goto out;
    }
    if (a.version) {
        printf("%s\n", RV_TOOL_VERSION);
        goto out;
    }
    if ((rc = check_args(&a, &name)))
        goto out;
    rv_admin_t *admin =
        rv__tool_admin_open(rv__args_str(&a, "bootstrap-server"),
                            rv__args_str(&a, "command-config"), errstr, sizeof errstr);
    if (!admin) {
        rc = op_fail(errstr);
        goto out;
    }
    if (rv__args_has(&a, "alter"))
        rc = do_alter(admin, &a, name);
    else
        rc = do_describe(admin, name, rv__args_has(&a, "all"));
    rv_admin_destroy(admin);
out:
    rv__args_free(&a);
    return rc;
}
