/* tools/topics_cmd.c: `rivulet topics`, Apache Kafka's kafka-topics.sh
 * (TopicCommand) over the admin API of rivulet/admin.h: --create, --list,
 * --describe, --alter (add partitions) and --delete, with Kafka's flags,
 * argument checks, output lines and error messages.
 *
 * As in Kafka, usage errors go to stderr followed by the usage table, and
 * a failed operation prints "Error while executing topic command : <message>"
 * to stdout; both exit with status 1. --topic accepts a regular expression
 * (except with --create), which Kafka matches against the whole name; here
 * it is a POSIX extended regular expression. The --describe partition lines
 * end with the partition's log start and end offsets, which Kafka's tool
 * does not print. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/args.h"
#include "tools/tool.h"

#define CONFIGS_TOOL_HINT \
    " (To alter topic configurations, the rivulet configs command can be used.)"

static const rv__opt_t topics_opts[] = {
    {"alter", RV__OPT_FLAG, false, NULL,
     "Alter the number of partitions and replica assignment." CONFIGS_TOOL_HINT},
    {"at-min-isr-partitions", RV__OPT_FLAG, false, NULL,
     "If set when describing topics, only show partitions whose isr count is equal to the "
     "configured minimum."},
    {"bootstrap-server", RV__OPT_STRING, false, "server to connect to",
     "REQUIRED: The Kafka server to connect to: embedded:DIR opens the data folder DIR in "
     "process, host:port connects over the network."},
    {"command-config", RV__OPT_STRING, false, "command config property file",
     "Property file containing configs to be passed to Admin Client."},
    {"config", RV__OPT_STRING, true, "name=value",
     "A topic configuration override for the topic being created. See `rivulet config-docs` "
     "for the topic configs. It is supported only in combination with --create." CONFIGS_TOOL_HINT},
    {"create", RV__OPT_FLAG, false, NULL, "Create a new topic."},
    {"delete", RV__OPT_FLAG, false, NULL, "Delete a topic."},
    {"describe", RV__OPT_FLAG, false, NULL, "List details for the given topics."},
    {"exclude-internal", RV__OPT_FLAG, false, NULL,
     "Exclude internal topics when listing or describing topics. By default, the internal "
     "topics are included."},
    {"if-exists", RV__OPT_FLAG, false, NULL,
     "If set when altering or deleting or describing topics, the action will only execute if "
     "the topic exists."},
    {"if-not-exists", RV__OPT_FLAG, false, NULL,
     "If set when creating topics, the action will only execute if the topic does not already "
     "exist."},
    {"list", RV__OPT_FLAG, false, NULL, "List all available topics."},
    {"partition-size-limit-per-response", RV__OPT_INT, false,
     "maximum number of partitions per response",
     "The maximum partition size to be included in one DescribeTopicPartitions response."},
    {"partitions", RV__OPT_INT, false, "# of partitions",
     "The number of partitions for the topic being created or altered. If not supplied with "
     "--create, the topic uses the cluster default. (WARNING: If partitions are increased for a "
     "topic that has a key, the partition logic or ordering of the messages will be affected)."},
    {"replica-assignment", RV__OPT_STRING, false,
     "broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
     "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...",
     "A list of manual partition-to-broker assignments for the topic being created or altered."},
    {"replication-factor", RV__OPT_INT, false, "replication factor",
     "The replication factor for each partition in the topic being created. If not supplied, "
     "the topic uses the cluster default."},
    {"topic", RV__OPT_STRING, false, "topic",
     "The topic to create, alter, describe or delete. It also accepts a regular expression, "
     "except for --create option. Put topic name in double quotes and use the '\\' prefix to "
     "escape regular expression symbols; e.g. \"test\\.topic\"."},
    {"topic-id", RV__OPT_STRING, false, "topic-id", "The topic-id to describe."},
    {"topics-with-overrides", RV__OPT_FLAG, false, NULL,
     "If set when describing topics, only show topics that have overridden configs."},
    {"unavailable-partitions", RV__OPT_FLAG, false, NULL,
     "If set when describing topics, only show partitions whose leader is not available."},
    {"under-min-isr-partitions", RV__OPT_FLAG, false, NULL,
     "If set when describing topics, only show partitions whose isr count is less than the "
     "configured minimum."},
    {"under-replicated-partitions", RV__OPT_FLAG, false, NULL,
     "If set when describing topics, only show under-replicated partitions."},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

/* The embedded broker is a single node with id 0. */
#define BROKER_ID 0

static int usage_fail(const char *msg) {
    rv__args_usage_error(topics_opts, msg);
    return 1;
}

static int cmd_error(const char *msg) {
    printf("Error while executing topic command : %s\n", msg);
    return 1;
}

/* CommandLineUtils.checkInvalidArgs: `used` excludes each of `bad`. */
static int check_invalid(const rv__args_t *a, const char *used, const char *const *bad) {
    if (!rv__args_has(a, used))
        return 0;
    for (; *bad; bad++)
        if (rv__args_has(a, *bad)) {
            char msg[256];
            snprintf(msg, sizeof msg, "Option \"[%s]\" can't be used with option \"[%s]\"", used,
                     *bad);
            return usage_fail(msg);
        }
    return 0;
}

/* TopicCommandOptions.checkArgs, in Kafka's order. Returns 0 or the exit
 * status. */
static int check_args(const rv__args_t *a) {
    static const char *const actions[] = {"create", "list", "alter", "describe", "delete"};
    int n = 0;
    for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
        n += rv__args_has(a, actions[i]);
    if (n != 1)
        return usage_fail("Command must include exactly one action: --list, --describe, --create, "
                          "--alter or --delete");
    if (!rv__args_has(a, "bootstrap-server"))
        return usage_fail("--bootstrap-server must be specified");
    if (rv__args_has(a, "describe") && rv__args_has(a, "if-exists")) {
        if (!rv__args_has(a, "topic") && !rv__args_has(a, "topic-id"))
            return usage_fail("--topic or --topic-id is required to describe a topic");
        if (rv__args_has(a, "topic") && rv__args_has(a, "topic-id"))
            printf("Only topic id will be used when both --topic and --topic-id are specified "
                   "and topicId is not Uuid.ZERO_UUID\n");
    }
    if (!rv__args_has(a, "list") && !rv__args_has(a, "describe") && !rv__args_has(a, "topic"))
        return usage_fail("Missing required argument \"[topic]\"");
    if (rv__args_has(a, "alter")) {
        if (rv__args_has(a, "config"))
            return usage_fail("Option combination \"[[bootstrap-server], [config]]\" can't be used "
                              "with option \"[alter]\"" CONFIGS_TOOL_HINT);
        if (!rv__args_has(a, "partitions"))
            return usage_fail("Missing required argument \"[partitions]\"");
    }

    static const char *const all_but_alter_create[] = {"describe", "list", "delete", NULL};
    static const char *const all_but_create[] = {"alter", "describe", "list", "delete", NULL};
    static const char *const report_bad[] = {
        "alter", "create", "list", "delete", "topics-with-overrides", NULL};
    static const char *const overrides_bad[] = {"alter",
                                                "create",
                                                "list",
                                                "delete",
                                                "under-replicated-partitions",
                                                "under-min-isr-partitions",
                                                "at-min-isr-partitions",
                                                "unavailable-partitions",
                                                NULL};
    static const char *const if_exists_bad[] = {"create", "list", NULL};
    static const char *const exclude_bad[] = {"alter", "create", "delete", NULL};
    static const char *const assignment_bad[] = {"partitions", "replication-factor", NULL};
    int rc;
    if ((rc = check_invalid(a, "config", all_but_alter_create)) ||
        (rc = check_invalid(a, "partitions", all_but_alter_create)) ||
        (rc = check_invalid(a, "replication-factor", all_but_create)) ||
        (rc = check_invalid(a, "replica-assignment", all_but_alter_create)))
        return rc;
    if (rv__args_has(a, "create") && (rc = check_invalid(a, "replica-assignment", assignment_bad)))
        return rc;
    if ((rc = check_invalid(a, "under-replicated-partitions", report_bad)) ||
        (rc = check_invalid(a, "under-min-isr-partitions", report_bad)) ||
        (rc = check_invalid(a, "at-min-isr-partitions", report_bad)) ||
        (rc = check_invalid(a, "unavailable-partitions", report_bad)) ||
        (rc = check_invalid(a, "topics-with-overrides", overrides_bad)) ||
        (rc = check_invalid(a, "if-exists", if_exists_bad)) ||
        (rc = check_invalid(a, "if-not-exists", all_but_create)) ||
        (rc = check_invalid(a, "exclude-internal", exclude_bad)))
        return rc;
    return 0;
}

/* --- topic selection ----------------------------------------------------- */

/* Kafka's TopicFilter.IncludeList: the --topic value with ',' as '|',
 * spaces removed and surrounding quotes stripped, matched against whole
 * names. */
static int compile_filter(regex_t *re, const char *raw, char *errstr, size_t errstr_size) {
    size_t len = strlen(raw);
    char *norm = malloc(len + 1);
    char *pat = malloc(len + 8);
    if (!norm || !pat) {
        free(norm);
        free(pat);
        snprintf(errstr, errstr_size, "Out of memory");
        return -1;
    }
    size_t n = 0;
    for (const char *p = raw; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            continue; /* trim() and replace(" ", "") */
        norm[n++] = *p == ',' ? '|' : *p;
    }
    norm[n] = '\0';
    size_t s = 0, e = n;
    while (s < e && (norm[s] == '"' || norm[s] == '\''))
        s++;
    while (e > s && (norm[e - 1] == '"' || norm[e - 1] == '\''))
        e--;
    snprintf(pat, len + 8, "^(%.*s)$", (int)(e - s), norm + s);
    int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
    if (rc != 0)
        snprintf(errstr, errstr_size, "%.*s is an invalid regex.", (int)(e - s), norm + s);
    free(norm);
    free(pat);
    return rc == 0 ? 0 : -1;
}

/* TopicService.getTopics: sorted names, filtered by --topic when given.
 * Caller owns *names; free with rv_strv_free(). Returns 0 or an exit
 * status after printing the error. */
static int get_topics(rv_admin_t *admin, const char *filter, bool exclude_internal, char ***names,
                      size_t *cnt) {
    char errstr[512] = "";
    rv_err_t err =
        rv_admin_list_topics(admin, !exclude_internal, names, cnt, errstr, sizeof errstr);
    if (err)
        return cmd_error(rv__tool_errmsg(err, errstr));
    if (!filter)
        return 0;
    regex_t re;
    if (compile_filter(&re, filter, errstr, sizeof errstr) < 0) {
        rv_strv_free(*names, *cnt);
        *names = NULL;
        *cnt = 0;
        return cmd_error(errstr);
    }
    size_t kept = 0;
    for (size_t i = 0; i < *cnt; i++) {
        if (regexec(&re, (*names)[i], 0, NULL, 0) == 0)
            (*names)[kept++] = (*names)[i];
        else
            free((*names)[i]);
    }
    /* The dropped strings are freed; rv_strv_free only sees the kept ones. */
    *cnt = kept;
    regfree(&re);
    return 0;
}

/* ensureTopicExists: an empty selection for a named --topic is an error
 * unless --if-exists. */
static int ensure_exists(size_t found, const char *topic, bool if_exists) {
    if (topic && *topic && !if_exists && found == 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "Topic '%s' does not exist as expected", topic);
        return cmd_error(msg);
    }
    return 0;
}

/* --- create ---------------------------------------------------------------- */

static void trim(char **s) {
    char *p = *s;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
        p++;
    char *e = p + strlen(p);
    while (e > p &&
           (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\f'))
        *--e = '\0';
    *s = p;
}

/* Splits one --config value as Kafka's `s.split("\\s*=\\s*")`: the parts
 * between '=' signs, trailing empty parts dropped; exactly two must remain.
 * `buf` is a writable copy of the value; *name and *value point into it. */
static int split_config(char *buf, char **name, char **value) {
    char *parts[3];
    int n = 0;
    char *p = buf;
    for (;;) {
        char *eq = strchr(p, '=');
        if (n == 3)
            return -1;
        parts[n++] = p;
        if (!eq)
            break;
        *eq = '\0';
        p = eq + 1;
    }
    for (int i = 0; i < n; i++)
        trim(&parts[i]);
    while (n > 0 && parts[n - 1][0] == '\0')
        n--;
    if (n != 2)
        return -1;
    *name = parts[0];
    *value = parts[1];
    return 0;
}

/* Parses --replica-assignment "0:0,0:0" into the partition count and the
 * replication factor; every broker id must be this broker's. */
static int parse_assignment(const char *text, int32_t *partitions, int32_t *rf, char *errstr,
                            size_t errstr_size) {
    int32_t parts = 0, first_rf = -1;
    const char *p = text;
    for (;;) {
        size_t plen = strcspn(p, ",");
        int32_t replicas = 0;
        const char *q = p;
        for (;;) {
            size_t blen = strcspn(q, ":,");
            char id[32];
            const char *s = q, *e = q + blen;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            int32_t bid;
            if ((size_t)(e - s) >= sizeof id) {
                snprintf(errstr, errstr_size, "For input string: \"%.*s\"", (int)(e - s), s);
                return -1;
            }
            memcpy(id, s, (size_t)(e - s));
            id[e - s] = '\0';
            if (rv__args_parse_int32(id, &bid) < 0) {
                snprintf(errstr, errstr_size, "For input string: \"%s\"", id);
                return -1;
            }
            if (bid != BROKER_ID) {
                snprintf(errstr, errstr_size,
                         "Unknown broker id %d in the replica assignment: the embedded broker's "
                         "id is %d",
                         bid, BROKER_ID);
                return -1;
            }
            replicas++;
            q += blen;
            if (*q != ':')
                break;
            q++;
        }
        if (first_rf < 0)
            first_rf = replicas;
        else if (replicas != first_rf) {
            snprintf(errstr, errstr_size, "Partition %d has different replication factor: %.*s",
                     parts, (int)plen, p);
            return -1;
        }
        parts++;
        p += plen;
        if (*p != ',')
            break;
        p++;
    }
    *partitions = parts;
    *rf = first_rf;
    return 0;
}

static int do_create(rv_admin_t *admin, const rv__args_t *a) {
    const char *topic = rv__args_str(a, "topic");
    size_t ncfg = 0;
    const char *const *cfgs = rv__args_strs(a, "config", &ncfg);
    char **bufs = calloc(ncfg ? ncfg : 1, sizeof *bufs);
    const char **names = calloc(ncfg ? ncfg : 1, sizeof *names);
    const char **values = calloc(ncfg ? ncfg : 1, sizeof *values);
    int rc = 0;
    if (!bufs || !names || !values) {
        rc = cmd_error("Out of memory");
        goto out;
    }
    for (size_t i = 0; i < ncfg; i++) {
        bufs[i] = strdup(cfgs[i]);
        if (!bufs[i]) {
            rc = cmd_error("Out of memory");
            goto out;
        }
        char *n, *v;
        if (split_config(bufs[i], &n, &v) < 0) {
            rc = cmd_error("requirement failed: Invalid topic config: all configs to be added "
                           "must be in the format \"key=val\".");
            goto out;
        }
        names[i] = n;
        values[i] = v;
    }
    int32_t partitions = rv__args_has(a, "partitions") ? rv__args_int(a, "partitions") : -1;
    int32_t rf = rv__args_has(a, "replication-factor") ? rv__args_int(a, "replication-factor") : -1;
    const char *assignment = rv__args_str(a, "replica-assignment");
    if (assignment && !*assignment) {
        rc = cmd_error("For input string: \"\""); /* Kafka's parseReplicaAssignment("") */
        goto out;
    }
    if (assignment) {
        char errstr[512];
        if (parse_assignment(assignment, &partitions, &rf, errstr, sizeof errstr) < 0) {
            rc = cmd_error(errstr);
            goto out;
        }
    }
    if (rv__tool_topic_has_collision_chars(topic))
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or "
               "underscore ('_') could collide. To avoid issues it is best to use either, but "
               "not both.\n");
    if (rv__args_has(a, "replication-factor") && (rf > 32767 || rf < 1)) {
        rc = cmd_error("The replication factor must be between 1 and 32767 inclusive");
        goto out;
    }
    if (rv__args_has(a, "partitions") && partitions < 1) {
        rc = cmd_error("The partitions must be greater than 0");
        goto out;
    }
    char errstr[1024] = "";
    /* The broker logs the '.'/'_' warning for API users; the line above
     * already told the user, so keep the library quiet during the call. */
    int log_level = rv_log_get_level();
    rv_log_set_level(RV_LOG_ERR);
    rv_err_t err = rv_admin_create_topic(admin, topic, partitions, (int16_t)rf, names, values, ncfg,
                                         errstr, sizeof errstr);
    rv_log_set_level(log_level);
    if (err == RV_ERR_TOPIC_ALREADY_EXISTS && rv__args_has(a, "if-not-exists"))
        goto out;
    if (err) {
        rc = cmd_error(rv__tool_errmsg(err, errstr));
        goto out;
    }
    printf("Created topic %s.\n", topic);
out:
    if (bufs)
        for (size_t i = 0; i < ncfg; i++)
            free(bufs[i]);
    free(bufs);
    free(names);
    free(values);
    return rc;
}

/* --- list -------------------------------------------------------------------- */

static int do_list(rv_admin_t *admin, const rv__args_t *a) {
    char **names = NULL;
    size_t cnt = 0;
    int rc = get_topics(admin, rv__args_str(a, "topic"), rv__args_has(a, "exclude-internal"),
                        &names, &cnt);
    if (rc)
        return rc;
    /* Kafka prints the names joined by newlines with println, so an empty
     * cluster gives one empty line. */
    for (size_t i = 0; i < cnt; i++)
        printf("%s%s", i ? "\n" : "", names[i]);
    printf("\n");
    rv_strv_free(names, cnt);
    return 0;
}

/* --- describe ---------------------------------------------------------------- */

static bool has_overrides(const rv_config_list_t *l) {
    size_t n = l ? rv_config_list_count(l) : 0;
    for (size_t i = 0; i < n; i++)
        if (!rv_config_list_is_default(l, i))
            return true;
    return false;
}

static int32_t min_isr(const rv_config_list_t *l) {
    const char *v = l ? rv_config_list_get(l, "min.insync.replicas") : NULL;
    int32_t n;
    return v && rv__args_parse_int32(v, &n) == 0 ? n : 1;
}

static void print_description(const rv_topic_description_t *d, const rv__args_t *a) {
    const char *name = rv_topic_description_name(d);
    const rv_config_list_t *cl = rv_topic_description_configs(d);
    int32_t pcount = rv_topic_description_partition_count(d);
    bool under_rep = rv__args_has(a, "under-replicated-partitions");
    bool unavailable = rv__args_has(a, "unavailable-partitions");
    bool under_min = rv__args_has(a, "under-min-isr-partitions");
    bool at_min = rv__args_has(a, "at-min-isr-partitions");
    bool overrides = rv__args_has(a, "topics-with-overrides");
    bool describe_configs = !under_rep && !unavailable && !under_min && !at_min;

    if (describe_configs && (!overrides || has_overrides(cl))) {
        const char *id = rv_topic_description_id(d);
        printf("Topic: %s", name);
        if (id && *id && strcmp(id, "AAAAAAAAAAAAAAAAAAAAAA") != 0)
            printf("\tTopicId: %s", id);
        printf("\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", pcount,
               rv_topic_description_replication_factor(d));
        size_t n = cl ? rv_config_list_count(cl) : 0, shown = 0;
        for (size_t i = 0; i < n; i++)
            if (!rv_config_list_is_default(cl, i))
                printf("%s%s=%s", shown++ ? "," : "", rv_config_list_name(cl, i),
                       rv_config_list_value(cl, i));
        printf("\n");
    }
    if (overrides)
        return;
    int32_t min = min_isr(cl);
    for (int32_t p = 0; p < pcount; p++) {
        int32_t leader = rv_topic_description_leader(d, p);
        int isr = leader >= 0 ? 1 : 0;
        /* One replica per partition on the single embedded broker: a
         * partition is never under-replicated while it has a leader. */
        bool show = describe_configs || (under_rep && leader < 0) || (unavailable && leader < 0) ||
                    (under_min && isr < min) || (at_min && isr == min);
        if (!show)
            continue;
        printf("\tTopic: %s\tPartition: %d\tLeader: ", name, p);
        if (leader >= 0)
            printf("%d", leader);
        else
            printf("none");
        /* The one replica is the leader (node 1 on a network broker). */
        printf("\tReplicas: %d\tIsr: ", leader >= 0 ? leader : BROKER_ID);
        if (leader >= 0)
            printf("%d", leader);
        printf("\tLogStartOffset: %lld\tEndOffset: %lld\n",
               (long long)rv_topic_description_log_start_offset(d, p),
               (long long)rv_topic_description_end_offset(d, p));
    }
}

static int do_describe(rv_admin_t *admin, const rv__args_t *a) {
    char **names = NULL;
    size_t cnt = 0;
    char errstr[1024] = "";
    bool exclude = rv__args_has(a, "exclude-internal");
    bool if_exists = rv__args_has(a, "if-exists");
    const char *topic_id = rv__args_str(a, "topic-id");
    int rc;
    if (topic_id && *topic_id && strcmp(topic_id, "AAAAAAAAAAAAAAAAAAAAAA") != 0) {
        /* By id: the ids come with the descriptions, so find the one topic
         * whose id matches. */
        if ((rc = get_topics(admin, NULL, exclude, &names, &cnt)))
            return rc;
        rv_topic_description_t *found = NULL;
        for (size_t i = 0; i < cnt && !found; i++) {
            rv_topic_description_t *d = NULL;
            if (rv_admin_describe_topic(admin, names[i], &d, errstr, sizeof errstr) != 0)
                continue; /* deleted meanwhile */
            if (strcmp(rv_topic_description_id(d), topic_id) == 0)
                found = d;
            else
                rv_topic_description_destroy(d);
        }
        rv_strv_free(names, cnt);
        if (!found) {
            if (if_exists)
                return 0;
            char msg[512];
            snprintf(msg, sizeof msg, "TopicId '%s' does not exist as expected", topic_id);
            return cmd_error(msg);
        }
        print_description(found, a);
        rv_topic_description_destroy(found);
        return 0;
    }
    const char *topic = rv__args_str(a, "topic");
    if ((rc = get_topics(admin, topic, exclude, &names, &cnt)))
        return rc;
    if ((rc = ensure_exists(cnt, topic, if_exists))) {
        rv_strv_free(names, cnt);
        return rc;
    }
    /* Describe everything first so that a failure prints nothing partial,
     * as Kafka waits for all descriptions before printing. */
    rv_topic_description_t **ds = calloc(cnt ? cnt : 1, sizeof *ds);
    if (!ds) {
        rv_strv_free(names, cnt);
        return cmd_error("Out of memory");
    }
    for (size_t i = 0; i < cnt && rc == 0; i++) {
        rv_err_t err = rv_admin_describe_topic(admin, names[i], &ds[i], errstr, sizeof errstr);
        if (err)
            rc = cmd_error(rv__tool_errmsg(err, errstr));
    }
    for (size_t i = 0; i < cnt; i++) {
        if (rc == 0)
            print_description(ds[i], a);
        rv_topic_description_destroy(ds[i]);
    }
    free(ds);
    rv_strv_free(names, cnt);
    return rc;
}

/* --- alter ------------------------------------------------------------------- */

static int do_alter(rv_admin_t *admin, const rv__args_t *a) {
    char **names = NULL;
    size_t cnt = 0;
    const char *topic = rv__args_str(a, "topic");
    int32_t total = rv__args_int(a, "partitions");
    int rc = get_topics(admin, topic, rv__args_has(a, "exclude-internal"), &names, &cnt);
    if (rc)
        return rc;
    if ((rc = ensure_exists(cnt, topic, rv__args_has(a, "if-exists")))) {
        rv_strv_free(names, cnt);
        return rc;
    }
    for (size_t i = 0; i < cnt && rc == 0; i++) {
        char errstr[1024] = "";
        rv_topic_description_t *d = NULL;
        rv_err_t err = rv_admin_describe_topic(admin, names[i], &d, errstr, sizeof errstr);
        if (err) {
            rc = cmd_error(rv__tool_errmsg(err, errstr));
            break;
        }
        int32_t cur = rv_topic_description_partition_count(d);
        rv_topic_description_destroy(d);
        /* The broker's InvalidPartitionsException texts. */
        if (total < cur) {
            snprintf(errstr, sizeof errstr,
                     "Topic currently has %d partitions, which is higher than the requested %d.",
                     cur, total);
            rc = cmd_error(errstr);
        } else if (total == cur) {
            snprintf(errstr, sizeof errstr, "Topic already has %d partitions.", cur);
            rc = cmd_error(errstr);
        } else if ((err = rv_admin_create_partitions(admin, names[i], total, errstr,
                                                     sizeof errstr))) {
            rc = cmd_error(rv__tool_errmsg(err, errstr));
        }
    }
    rv_strv_free(names, cnt);
    return rc;
}

/* --- delete ------------------------------------------------------------------ */

static int do_delete(rv_admin_t *admin, const rv__args_t *a) {
    char **names = NULL;
    size_t cnt = 0;
    const char *topic = rv__args_str(a, "topic");
    int rc = get_topics(admin, topic, rv__args_has(a, "exclude-internal"), &names, &cnt);
    if (rc)
        return rc;
    if ((rc = ensure_exists(cnt, topic, rv__args_has(a, "if-exists")))) {
        rv_strv_free(names, cnt);
        return rc;
    }
    for (size_t i = 0; i < cnt && rc == 0; i++) {
        char errstr[1024] = "";
        rv_err_t err = rv_admin_delete_topic(admin, names[i], errstr, sizeof errstr);
        if (err)
            rc = cmd_error(rv__tool_errmsg(err, errstr));
    }
    rv_strv_free(names, cnt);
    return rc;
}

int rv__cmd_topics(int argc, char **argv) {
    rv__args_t a;
    char errstr[1024];
    if (argc == 0) {
        rv__args_usage_error(topics_opts, "Create, delete, describe, or change a topic.");
        return 1;
    }
    if (rv__args_parse(&a, topics_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        return usage_fail(errstr);
    }
    int rc = 0;
    if (a.help) {
        fprintf(stderr, "This tool helps to create, delete, describe, or change a topic.\n");
        rv__args_usage(stderr, topics_opts);
        goto out;
    }
    if (a.version) {
        printf("%s\n", RV_TOOL_VERSION);
        goto out;
    }
    if ((rc = check_args(&a)))
        goto out;
    rv_admin_t *admin =
        rv__tool_admin_open(rv__args_str(&a, "bootstrap-server"),
                            rv__args_str(&a, "command-config"), errstr, sizeof errstr);
    if (!admin) {
        rc = cmd_error(errstr);
        goto out;
    }
    if (rv__args_has(&a, "create"))
        rc = do_create(admin, &a);
    else if (rv__args_has(&a, "alter"))
        rc = do_alter(admin, &a);
    else if (rv__args_has(&a, "list"))
        rc = do_list(admin, &a);
    else if (rv__args_has(&a, "describe"))
        rc = do_describe(admin, &a);
    else
        rc = do_delete(admin, &a);
    rv_admin_destroy(admin);
out:
    rv__args_free(&a);
    return rc;
}
