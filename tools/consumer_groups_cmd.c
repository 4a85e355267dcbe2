/* tools/consumer_groups_cmd.c: `rivulet consumer-groups`, Apache Kafka's
 * kafka-consumer-groups.sh (ConsumerGroupCommand with its
 * GroupOffsetsResetter) over the consumer-group calls of rivulet/admin.h:
 *
 *   --list [--state]                       group ids (and states)
 *   --describe --group G | --all-groups    offsets and lag per partition
 *       [--offsets | --members | --state]  (the default is --offsets)
 *   --delete --group G | --all-groups
 *   --reset-offsets --group G | --all-groups
 *       --topic T[:P,P...] | --all-topics
 *       --to-earliest | --to-latest | --to-current | --to-offset N | --shift-by N
 *       [--dry-run | --execute]
 *
 * Tables, messages and the order of checks are Kafka's: columns padded to
 * the widest value (at least 15), each table preceded by an empty line, the
 * "has no active members" and "is rebalancing" notes on standard error,
 * errors as "\nError: ..." on standard output. Offsets asked for outside a
 * partition's log are moved to its log start or end offset, as Kafka's
 * tool does. Without --execute, --reset-offsets only shows the plan.
 *
 * Unlike Kafka's tool, whose status is 0 after most failures, the exit
 * status is 1 whenever an error was printed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/args.h"
#include "tools/tool.h"

static const rv__opt_t cg_opts[] = {
    {"all-groups", RV__OPT_FLAG, false, NULL, "Apply to all consumer groups."},
    {"all-topics", RV__OPT_FLAG, false, NULL,
     "Consider all topics assigned to a group in the `reset-offsets` process."},
    {"bootstrap-server", RV__OPT_STRING, false, "server to connect to",
     "REQUIRED: The server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"command-config", RV__OPT_STRING, false, "command config property file",
     "Property file containing configs to be passed to Admin Client."},
    {"delete", RV__OPT_FLAG, false, NULL,
     "Pass in groups to delete topic partition offsets and ownership information over the "
     "entire consumer group. For instance --group g1 --group g2"},
    {"describe", RV__OPT_FLAG, false, NULL,
     "Describe consumer group and list offset lag (number of messages not yet processed) "
     "related to given group."},
    {"dry-run", RV__OPT_FLAG, false, NULL,
     "Only show results without executing changes on Consumer Groups. Supported operations: "
     "reset-offsets."},
    {"execute", RV__OPT_FLAG, false, NULL,
     "Execute operation. Supported operations: reset-offsets."},
    {"group", RV__OPT_STRING, true, "consumer group", "The consumer group we wish to act on."},
    {"list", RV__OPT_FLAG, false, NULL, "List all consumer groups."},
    {"members", RV__OPT_FLAG, false, NULL,
     "Describe members of the group. This option may be used with '--describe' and "
     "'--bootstrap-server' options only.\nExample: --bootstrap-server localhost:9092 "
     "--describe --group group1 --members"},
    {"offsets", RV__OPT_FLAG, false, NULL,
     "Describe the group and list all topic partitions in the group along with their offset "
     "lag. This is the default sub-action of and may be used with '--describe' and "
     "'--bootstrap-server' options only."},
    {"reset-offsets", RV__OPT_FLAG, false, NULL,
     "Reset offsets of consumer group. Supports one consumer group at the time, and instances "
     "should be inactive\nHas 2 execution options: --dry-run (the default) to plan which "
     "offsets to reset, and --execute to update the offsets.\nYou must choose one of the "
     "following reset specifications: --to-earliest, --to-latest, --to-current, --to-offset, "
     "--shift-by.\nTo define the scope use --all-topics or --topic. One scope must be "
     "specified."},
    {"shift-by", RV__OPT_STRING, false, "number-of-offsets",
     "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative."},
    {"state", RV__OPT_FLAG, false, NULL,
     "When specified with '--describe', includes the state of the group.\nWhen specified with "
     "'--list', it displays the state of all groups."},
    {"timeout", RV__OPT_STRING, false, "timeout (ms)",
     "The timeout that can be set for some use cases. (default: 5000)"},
    {"to-current", RV__OPT_FLAG, false, NULL, "Reset offsets to current offset."},
    {"to-earliest", RV__OPT_FLAG, false, NULL, "Reset offsets to earliest offset."},
    {"to-latest", RV__OPT_FLAG, false, NULL, "Reset offsets to latest offset."},
    {"to-offset", RV__OPT_STRING, false, "offset", "Reset offsets to a specific offset."},
    {"topic", RV__OPT_STRING, true, "topic",
     "The topic whose consumer group information should be deleted or topic whose should be "
     "included in the reset offset process. In `reset-offsets` case, partitions can be "
     "specified using this format: `topic1:0,1,2`, where 0,1,2 are the partition to be "
     "included in the process. Reset-offsets also supports multiple topic inputs."},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

#define MISSING "-"

static int usage_fail(const char *msg) {
    rv__args_usage_error(cg_opts, msg);
    return 1;
}

/* ConsumerGroupCommand.printError: on standard output, after an empty
 * line. */
static void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void print_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("\nError: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static size_t max_sz(size_t a, size_t b) {
    return a > b ? a : b;
}

/* ---- topic offsets ---- */

/* Log start and end offsets of the topics the command touches, described
 * once each. */
typedef struct topic_cache_s {
    rv_admin_t *admin;
    size_t cnt;
    char **names;
    rv_topic_description_t **descs; /* NULL when the topic does not exist */
} topic_cache_t;

static const rv_topic_description_t *topic_get(topic_cache_t *tc, const char *topic) {
    for (size_t i = 0; i < tc->cnt; i++)
        if (!strcmp(tc->names[i], topic))
            return tc->descs[i];
    char **nn = realloc(tc->names, (tc->cnt + 1) * sizeof *nn);
    if (!nn)
        return NULL;
    tc->names = nn;
    rv_topic_description_t **nd = realloc(tc->descs, (tc->cnt + 1) * sizeof *nd);
    if (!nd)
        return NULL;
    tc->descs = nd;
    char *name = strdup(topic);
    if (!name)
        return NULL;
    char es[512];
    rv_topic_description_t *d = NULL;
    if (rv_admin_describe_topic(tc->admin, topic, &d, es, sizeof es) != RV_ERR_NO_ERROR)
        d = NULL;
    tc->names[tc->cnt] = name;
    tc->descs[tc->cnt] = d;
    tc->cnt++;
    return d;
}

static void topic_cache_free(topic_cache_t *tc) {
    for (size_t i = 0; i < tc->cnt; i++) {
        free(tc->names[i]);
        rv_topic_description_destroy(tc->descs[i]);
    }
    free(tc->names);
    free(tc->descs);
}

/* The log end (end=true) or start offset of a partition, or -1 when
 * unknown. */
static int64_t log_offset(topic_cache_t *tc, const char *topic, int32_t partition, bool end) {
    const rv_topic_description_t *d = topic_get(tc, topic);
    if (!d || partition < 0 || partition >= rv_topic_description_partition_count(d))
        return -1;
    return end ? rv_topic_description_end_offset(d, partition)
               : rv_topic_description_log_start_offset(d, partition);
}

/* ---- --list ---- */

static int do_list(rv_admin_t *admin, const rv__args_t *a) {
    char **groups = NULL, **states = NULL;
    size_t cnt = 0;
    char es[1024] = "";
    bool with_state = rv__args_has(a, "state");
    rv_err_t err =
        rv_admin_list_groups(admin, &groups, with_state ? &states : NULL, &cnt, es, sizeof es);
    if (err) {
        print_error("Executing consumer group command failed due to %s", rv__tool_errmsg(err, es));
        return 1;
    }
    if (!with_state) {
        for (size_t i = 0; i < cnt; i++)
            printf("%s\n", groups[i]);
    } else {
        /* printGroupInfo: the group column is 10 wider than the longest id
         * (at least 15). */
        size_t w = 15;
        for (size_t i = 0; i < cnt; i++)
            w = max_sz(w, strlen(groups[i]));
        w += 10;
        printf("%-*s %-20s\n", (int)w, "GROUP", "STATE");
        for (size_t i = 0; i < cnt; i++)
            printf("%-*s %-20s\n", (int)w, groups[i], states[i]);
    }
    rv_strv_free(groups, cnt);
    rv_strv_free(states, cnt);
    return 0;
}

/* ---- --describe ---- */

/* One row of the offsets table. Strings borrowed from the description
 * or the committed list. */
typedef struct row_s {
    const char *topic;
    int32_t partition;
    int64_t offset; /* -1: none committed */
    int64_t end;    /* -1: unknown */
    const char *consumer_id, *host, *client_id;
} row_t;

static int row_cmp(const void *pa, const void *pb) {
    const row_t *a = pa, *b = pb;
    int c = strcmp(a->topic, b->topic);
    if (c)
        return c;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

/* shouldPrintMemberState: the note for the group's state. Returns true
 * when the table should follow. */
static bool print_member_state(const char *group, const char *state, size_t rows) {
    if (!strcmp(state, "Empty"))
        fprintf(stderr, "\nConsumer group '%s' has no active members.\n", group);
    else if (!strcmp(state, "PreparingRebalance") || !strcmp(state, "CompletingRebalance"))
        fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
    fflush(stderr);
    return rows > 0;
}

/* Members sorted by the number of partitions assigned, most first (the
 * order of equal ones kept), as Kafka lists them. */
static size_t *members_by_size(const rv_group_description_t *d) {
    size_t n = rv_group_description_member_count(d);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i], j = i;
        size_t sz = rv_topic_partition_list_count(rv_group_description_member_assignment(d, v));
        while (j > 0 && rv_topic_partition_list_count(
                            rv_group_description_member_assignment(d, idx[j - 1])) < sz) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    return idx;
}

static int64_t committed_of(const rv_topic_partition_list_t *committed, const char *topic,
                            int32_t partition) {
    const rv_topic_partition_t *tp = rv_topic_partition_list_find(committed, topic, partition);
    return tp ? rv_topic_partition_offset(tp) : -1;
}

static int describe_offsets(rv_admin_t *admin, topic_cache_t *tc, const rv_group_description_t *d,
                            const rv_topic_partition_list_t *committed) {
    (void)admin;
    const char *group = rv_group_description_group_id(d);
    size_t nm = rv_group_description_member_count(d);
    size_t cap = rv_topic_partition_list_count(committed);
    for (size_t i = 0; i < nm; i++)
        cap += rv_topic_partition_list_count(rv_group_description_member_assignment(d, i));
    row_t *rows = calloc(cap ? cap : 1, sizeof *rows);
    size_t *order = members_by_size(d);
    if (!rows || !order) {
        free(rows);
        free(order);
        print_error("Out of memory");
        return 1;
    }
    size_t n = 0;
    for (size_t k = 0; k < nm; k++) {
        size_t m = order[k];
        const rv_topic_partition_list_t *asg = rv_group_description_member_assignment(d, m);
        size_t first = n;
        for (size_t j = 0; j < rv_topic_partition_list_count(asg); j++) {
            const rv_topic_partition_t *tp = rv_topic_partition_list_get(asg, j);
            row_t *r = &rows[n++];
            r->topic = rv_topic_partition_topic(tp);
            r->partition = rv_topic_partition_partition(tp);
            r->offset = committed_of(committed, r->topic, r->partition);
            r->end = log_offset(tc, r->topic, r->partition, true);
            r->consumer_id = rv_group_description_member_id(d, m);
            r->host = rv_group_description_member_host(d, m);
            r->client_id = rv_group_description_member_client_id(d, m);
        }
        qsort(rows + first, n - first, sizeof *rows, row_cmp);
    }
    /* Committed partitions that no member holds. */
    size_t first = n;
    for (size_t j = 0; j < rv_topic_partition_list_count(committed); j++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(committed, j);
        const char *topic = rv_topic_partition_topic(tp);
        int32_t part = rv_topic_partition_partition(tp);
        bool assigned = false;
        for (size_t i = 0; i < first && !assigned; i++)
            assigned = !strcmp(rows[i].topic, topic) && rows[i].partition == part;
        if (assigned)
            continue;
        row_t *r = &rows[n++];
        r->topic = topic;
        r->partition = part;
        r->offset = rv_topic_partition_offset(tp);
        r->end = log_offset(tc, topic, part, true);
        r->consumer_id = r->host = r->client_id = MISSING;
    }
    qsort(rows + first, n - first, sizeof *rows, row_cmp);
    free(order);
    if (print_member_state(group, rv_group_description_state(d), n)) {
        size_t gw = max_sz(15, strlen(group)), tw = 15, cw = 15, hw = 15;
        for (size_t i = 0; i < n; i++) {
            tw = max_sz(tw, strlen(rows[i].topic));
            cw = max_sz(cw, strlen(rows[i].consumer_id));
            hw = max_sz(hw, strlen(rows[i].host));
        }
        printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", (int)gw, "GROUP", (int)tw,
               "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", (int)cw,
               "CONSUMER-ID", (int)hw, "HOST", "CLIENT-ID");
        for (size_t i = 0; i < n; i++) {
            const row_t *r = &rows[i];
            char off[24] = MISSING, end[24] = MISSING, lag[24] = MISSING;
            if (r->offset >= 0)
                snprintf(off, sizeof off, "%lld", (long long)r->offset);
            if (r->end >= 0)
                snprintf(end, sizeof end, "%lld", (long long)r->end);
            if (r->offset >= 0 && r->end >= 0)
                snprintf(lag, sizeof lag, "%lld", (long long)(r->end - r->offset));
            printf("\n%-*s %-*s %-10d %-15s %-15s %-15s %-*s %-*s %s", (int)gw, group, (int)tw,
                   r->topic, r->partition, off, end, lag, (int)cw, r->consumer_id, (int)hw, r->host,
                   r->client_id);
        }
        printf("\n");
    }
    free(rows);
    return 0;
}

static int describe_members(const rv_group_description_t *d) {
    const char *group = rv_group_description_group_id(d);
    size_t n = rv_group_description_member_count(d);
    if (!print_member_state(group, rv_group_description_state(d), n))
        return 0;
    size_t gw = max_sz(15, strlen(group)), cw = 15, hw = 15, lw = 15;
    for (size_t i = 0; i < n; i++) {
        cw = max_sz(cw, strlen(rv_group_description_member_id(d, i)));
        hw = max_sz(hw, strlen(rv_group_description_member_host(d, i)));
        lw = max_sz(lw, strlen(rv_group_description_member_client_id(d, i)));
    }
    printf("\n%-*s %-*s %-*s %-*s %-15s \n", (int)gw, "GROUP", (int)cw, "CONSUMER-ID", (int)hw,
           "HOST", (int)lw, "CLIENT-ID", "#PARTITIONS");
    for (size_t i = 0; i < n; i++) {
        char np[24];
        snprintf(np, sizeof np, "%zu",
                 rv_topic_partition_list_count(rv_group_description_member_assignment(d, i)));
        printf("%-*s %-*s %-*s %-*s %-15s \n", (int)gw, group, (int)cw,
               rv_group_description_member_id(d, i), (int)hw,
               rv_group_description_member_host(d, i), (int)lw,
               rv_group_description_member_client_id(d, i), np);
    }
    return 0;
}

static int describe_state(const rv_group_description_t *d) {
    const char *group = rv_group_description_group_id(d);
    if (!print_member_state(group, rv_group_description_state(d), 1))
        return 0;
    char coord[64];
    snprintf(coord, sizeof coord, "embedded  (%d)", rv_group_description_coordinator(d));
    size_t cw = max_sz(25, strlen(coord)), gw = max_sz(15, strlen(group));
    const char *strategy = rv_group_description_partition_assignor(d);
    char members[24];
    snprintf(members, sizeof members, "%zu", rv_group_description_member_count(d));
    printf("\n%-*s %-*s %-20s %-20s %s", (int)gw, "GROUP", (int)cw, "COORDINATOR (ID)",
           "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS");
    printf("\n%-*s %-*s %-20s %-20s %s\n", (int)gw, group, (int)cw, coord,
           *strategy ? strategy : MISSING, rv_group_description_state(d), members);
    return 0;
}

/* The groups named with --group, or every group with --all-groups. Caller
 * frees with rv_strv_free(). */
static int selected_groups(rv_admin_t *admin, const rv__args_t *a, char ***out, size_t *cnt) {
    char es[1024] = "";
    if (rv__args_has(a, "all-groups")) {
        rv_err_t err = rv_admin_list_groups(admin, out, NULL, cnt, es, sizeof es);
        if (err) {
            print_error("Executing consumer group command failed due to %s",
                        rv__tool_errmsg(err, es));
            return -1;
        }
        return 0;
    }
    size_t n = 0;
    const char *const *g = rv__args_strs(a, "group", &n);
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(g[i]))) {
            rv_strv_free(v, i);
            return -1;
        }
    *out = v;
    *cnt = n;
    return 0;
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_describe(rv_admin_t *admin, const rv__args_t *a) {
    char **groups = NULL;
    size_t cnt = 0;
    if (selected_groups(admin, a, &groups, &cnt) < 0)
        return 1;
    /* Kafka collects the groups in a TreeMap: sorted, each once. */
    qsort(groups, cnt, sizeof *groups, str_cmp);
    topic_cache_t tc = {admin, 0, NULL, NULL};
    int rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (i > 0 && !strcmp(groups[i], groups[i - 1]))
            continue;
        char es[1024] = "";
        rv_group_description_t *d = NULL;
        rv_err_t err = rv_admin_describe_group(admin, groups[i], &d, es, sizeof es);
        if (err == RV_ERR_GROUP_ID_NOT_FOUND) {
            /* Kafka 3's describe answers Dead for an unknown group. */
            print_error("Consumer group '%s' does not exist.", groups[i]);
            rc = 1;
            continue;
        }
        if (err) {
            print_error("Executing consumer group command failed due to %s",
                        rv__tool_errmsg(err, es));
            rc = 1;
            continue;
        }
        if (rv__args_has(a, "members")) {
            rc |= describe_members(d);
        } else if (rv__args_has(a, "state")) {
            rc |= describe_state(d);
        } else {
            rv_topic_partition_list_t *committed = NULL;
            err = rv_admin_list_group_offsets(admin, groups[i], &committed, es, sizeof es);
            if (err) {
                print_error("Executing consumer group command failed due to %s",
                            rv__tool_errmsg(err, es));
                rc = 1;
            } else {
                rc |= describe_offsets(admin, &tc, d, committed);
            }
            rv_topic_partition_list_destroy(committed);
        }
        rv_group_description_destroy(d);
    }
    topic_cache_free(&tc);
    rv_strv_free(groups, cnt);
    return rc;
}

/* ---- --delete ---- */

/* Kafka prints the exception: its Java class, then the error's message. */
static const char *exception_name(rv_err_t err) {
    switch (err) {
    case RV_ERR_GROUP_ID_NOT_FOUND:
        return "org.apache.kafka.common.errors.GroupIdNotFoundException";
    case RV_ERR_NON_EMPTY_GROUP:
        return "org.apache.kafka.common.errors.GroupNotEmptyException";
    case RV_ERR_INVALID_GROUP_ID:
        return "org.apache.kafka.common.errors.InvalidGroupIdException";
    default:
        return "org.apache.kafka.common.KafkaException";
    }
}

/* The exception's message: Kafka's text for the group errors it names,
 * else what the library said. */
static const char *exception_message(rv_err_t err, const char *msg) {
    if (err == RV_ERR_GROUP_ID_NOT_FOUND || err == RV_ERR_NON_EMPTY_GROUP ||
        err == RV_ERR_INVALID_GROUP_ID || !msg)
        return rv_err_str(err);
    return msg;
}

static int do_delete(rv_admin_t *admin, const rv__args_t *a) {
    char **groups = NULL;
    size_t cnt = 0;
    if (selected_groups(admin, a, &groups, &cnt) < 0)
        return 1;
    rv_err_t *errs = calloc(cnt ? cnt : 1, sizeof *errs);
    char **msgs = calloc(cnt ? cnt : 1, sizeof *msgs);
    if (!errs || !msgs) {
        free(errs);
        free(msgs);
        rv_strv_free(groups, cnt);
        print_error("Out of memory");
        return 1;
    }
    size_t failed = 0;
    for (size_t i = 0; i < cnt; i++) {
        char es[1024] = "";
        errs[i] = rv_admin_delete_group(admin, groups[i], es, sizeof es);
        if (errs[i]) {
            failed++;
            msgs[i] = strdup(rv__tool_errmsg(errs[i], es));
        }
    }
    if (!failed) {
        printf("Deletion of requested consumer groups (");
        for (size_t i = 0; i < cnt; i++)
            printf("%s'%s'", i ? ", " : "", groups[i]);
        printf(") was successful.\n");
    } else {
        print_error("Deletion of some consumer groups failed:");
        for (size_t i = 0; i < cnt; i++)
            if (errs[i])
                printf("* Group '%s' could not be deleted due to: %s: %s\n", groups[i],
                       exception_name(errs[i]), exception_message(errs[i], msgs[i]));
        if (failed < cnt) {
            printf("\nThese consumer groups were deleted successfully: ");
            size_t k = 0;
            for (size_t i = 0; i < cnt; i++)
                if (!errs[i])
                    printf("%s'%s'", k++ ? ", " : "", groups[i]);
            printf("\n");
        }
    }
    for (size_t i = 0; i < cnt; i++)
        free(msgs[i]);
    free(msgs);
    free(errs);
    rv_strv_free(groups, cnt);
    return failed ? 1 : 0;
}

/* ---- --reset-offsets ---- */

/* The partitions to reset: the committed ones with --all-topics, else each
 * --topic (all its partitions, or "topic:0,1" those). NULL after printing
 * an error. */
static rv_topic_partition_list_t *partitions_to_reset(rv_admin_t *admin, topic_cache_t *tc,
                                                      const rv__args_t *a, const char *group) {
    char es[1024] = "";
    if (rv__args_has(a, "all-topics")) {
        rv_topic_partition_list_t *l = NULL;
        rv_err_t err = rv_admin_list_group_offsets(admin, group, &l, es, sizeof es);
        if (err) {
            print_error("Executing consumer group command failed due to %s",
                        rv__tool_errmsg(err, es));
            return NULL;
        }
        return l;
    }
    size_t n = 0;
    const char *const *topics = rv__args_strs(a, "topic", &n);
    rv_topic_partition_list_t *l = rv_topic_partition_list_new(n);
    if (!l) {
        print_error("Out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *arg = topics[i];
        const char *colon = strchr(arg, ':');
        if (colon) {
            if (strchr(colon + 1, ':') || colon == arg || !colon[1]) {
                print_error("Executing consumer group command failed due to Invalid topic arg "
                            "'%s', expected topic name and partitions",
                            arg);
                goto bad;
            }
            char topic[256];
            snprintf(topic, sizeof topic, "%.*s", (int)(colon - arg), arg);
            const char *p = colon + 1;
            while (*p) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                char num[32];
                int32_t part;
                snprintf(num, sizeof num, "%.*s", (int)(len < 31 ? len : 31), p);
                if (len == 0 || len > 30 || rv__args_parse_int32(num, &part) < 0) {
                    print_error("Executing consumer group command failed due to Invalid "
                                "partition '%.*s' specified in topic arg '%s''",
                                (int)len, p, arg);
                    goto bad;
                }
                if (!rv_topic_partition_list_find(l, topic, part) &&
                    !rv_topic_partition_list_add(l, topic, part)) {
                    print_error("Out of memory");
                    goto bad;
                }
                p += len + (comma ? 1 : 0);
                if (comma && !*p)
                    break;
            }
        } else {
            const rv_topic_description_t *d = topic_get(tc, arg);
            if (!d) {
                print_error("Executing consumer group command failed due to "
                            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
                            "%s",
                            rv_err_str(RV_ERR_UNKNOWN_TOPIC_OR_PARTITION));
                goto bad;
            }
            for (int32_t p = 0; p < rv_topic_description_partition_count(d); p++)
                if (!rv_topic_partition_list_find(l, arg, p) &&
                    !rv_topic_partition_list_add(l, arg, p)) {
                    print_error("Out of memory");
                    goto bad;
                }
        }
    }
    return l;
bad:
    rv_topic_partition_list_destroy(l);
    return NULL;
}

/* Fills each entry's offset with the new one. Returns 0, or -1 after
 * printing an error. */
static int prepare_offsets(topic_cache_t *tc, const rv__args_t *a, rv_admin_t *admin,
                           const char *group, rv_topic_partition_list_t *l) {
    /* GroupOffsetsResetter.checkAllTopicPartitionsValid. */
    char bad[1024] = "";
    size_t blen = 0;
    for (size_t i = 0; i < rv_topic_partition_list_count(l); i++) {
        const rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        if (log_offset(tc, rv_topic_partition_topic(tp), rv_topic_partition_partition(tp), true) <
                0 &&
            blen < sizeof bad)
            blen +=
                (size_t)snprintf(bad + blen, sizeof bad - blen, "%s%s-%d", blen ? "," : "",
                                 rv_topic_partition_topic(tp), rv_topic_partition_partition(tp));
    }
    if (blen) {
        print_error("Executing consumer group command failed due to The partitions \"%s\" do not "
                    "exist",
                    bad);
        return -1;
    }
    rv_topic_partition_list_t *current = NULL;
    bool shift = rv__args_has(a, "shift-by"), to_current = rv__args_has(a, "to-current");
    int64_t n = 0;
    if (shift && rv__args_parse_int64(rv__args_str(a, "shift-by"), &n) < 0)
        return -1; /* checked by the caller */
    if (rv__args_has(a, "to-offset") && rv__args_parse_int64(rv__args_str(a, "to-offset"), &n) < 0)
        return -1;
    if (shift || to_current) {
        char es[1024] = "";
        rv_err_t err = rv_admin_list_group_offsets(admin, group, &current, es, sizeof es);
        if (err) {
            print_error("Executing consumer group command failed due to %s",
                        rv__tool_errmsg(err, es));
            return -1;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < rv_topic_partition_list_count(l) && rc == 0; i++) {
        rv_topic_partition_t *tp = rv_topic_partition_list_get(l, i);
        const char *topic = rv_topic_partition_topic(tp);
        int32_t part = rv_topic_partition_partition(tp);
        int64_t start = log_offset(tc, topic, part, false), end = log_offset(tc, topic, part, true);
        int64_t off;
        if (rv__args_has(a, "to-earliest")) {
            off = start;
        } else if (rv__args_has(a, "to-latest")) {
            off = end;
        } else if (to_current) {
            int64_t c = committed_of(current, topic, part);
            off = c >= 0 ? c : end;
        } else {
            int64_t base = 0;
            if (shift) {
                base = committed_of(current, topic, part);
                if (base < 0) {
                    print_error("Executing consumer group command failed due to Cannot shift "
                                "offset for partition %s-%d since there is no current committed "
                                "offset",
                                topic, part);
                    rc = -1;
                    break;
                }
            }
            /* checkOffsetsRange: moved into [log start, log end]; a sum
             * past int64 is past either end. */
            if (n > 0 && base > INT64_MAX - n)
                off = INT64_MAX;
            else if (n < 0 && base < INT64_MIN - n)
                off = INT64_MIN;
            else
                off = base + n;
            if (off > end)
                off = end;
            else if (off < start)
                off = start;
        }
        rv_topic_partition_set_offset(tp, off);
    }
    rv_topic_partition_list_destroy(current);
    return rc;
}

static void print_reset_table(char **groups, rv_topic_partition_list_t **plans, size_t cnt) {
    size_t gw = 15, tw = 15;
    for (size_t i = 0; i < cnt; i++) {
        gw = max_sz(gw, strlen(groups[i]));
        for (size_t j = 0; j < rv_topic_partition_list_count(plans[i]); j++)
            tw = max_sz(tw,
                        strlen(rv_topic_partition_topic(rv_topic_partition_list_get(plans[i], j))));
    }
    if (cnt)
        printf("\n%-*s %-*s %-10s %s", (int)gw, "GROUP", (int)tw, "TOPIC", "PARTITION",
               "NEW-OFFSET");
    for (size_t i = 0; i < cnt; i++)
        for (size_t j = 0; j < rv_topic_partition_list_count(plans[i]); j++) {
            const rv_topic_partition_t *tp = rv_topic_partition_list_get(plans[i], j);
            printf("\n%-*s %-*s %-10d %lld", (int)gw, groups[i], (int)tw,
                   rv_topic_partition_topic(tp), rv_topic_partition_partition(tp),
                   (long long)rv_topic_partition_offset(tp));
        }
    printf("\n");
}

static int do_reset(rv_admin_t *admin, const rv__args_t *a) {
    char **groups = NULL;
    size_t cnt = 0;
    if (selected_groups(admin, a, &groups, &cnt) < 0)
        return 1;
    qsort(groups, cnt, sizeof *groups, str_cmp);
    rv_topic_partition_list_t **plans = calloc(cnt ? cnt : 1, sizeof *plans);
    if (!plans) {
        rv_strv_free(groups, cnt);
        print_error("Out of memory");
        return 1;
    }
    bool execute = rv__args_has(a, "execute");
    topic_cache_t tc = {admin, 0, NULL, NULL};
    int rc = 0;
    bool hard = false; /* an error that ends the command before the table */
    for (size_t i = 0; i < cnt && !hard; i++) {
        char es[1024] = "";
        rv_group_description_t *d = NULL;
        rv_err_t err = rv_admin_describe_group(admin, groups[i], &d, es, sizeof es);
        const char *state = err == RV_ERR_GROUP_ID_NOT_FOUND ? "Dead"
                            : err                            ? NULL
                                                             : rv_group_description_state(d);
        if (!state) {
            print_error("Executing consumer group command failed due to %s",
                        rv__tool_errmsg(err, es));
            rc = 1;
            hard = true;
            break;
        }
        if (strcmp(state, "Empty") != 0 && strcmp(state, "Dead") != 0) {
            print_error("Assignments can only be reset if the group '%s' is inactive, but the "
                        "current state is %s.",
                        groups[i], state);
            rv_group_description_destroy(d);
            plans[i] = rv_topic_partition_list_new(0);
            rc = 1;
            continue;
        }
        rv_group_description_destroy(d);
        plans[i] = partitions_to_reset(admin, &tc, a, groups[i]);
        if (!plans[i] || prepare_offsets(&tc, a, admin, groups[i], plans[i]) < 0) {
            rc = 1;
            hard = true;
            break;
        }
        rv_topic_partition_list_sort(plans[i]);
        if (execute && rv_topic_partition_list_count(plans[i]) > 0) {
            err = rv_admin_alter_group_offsets(admin, groups[i], plans[i], es, sizeof es);
            if (err) {
                print_error("Executing consumer group command failed due to %s",
                            rv__tool_errmsg(err, es));
                rc = 1;
                hard = true;
                break;
            }
        }
    }
    if (!hard)
        print_reset_table(groups, plans, cnt);
    for (size_t i = 0; i < cnt; i++)
        rv_topic_partition_list_destroy(plans[i]);
    free(plans);
    topic_cache_free(&tc);
    rv_strv_free(groups, cnt);
    return rc;
}

/* ---- argument checks ---- */

static int check_args(const rv__args_t *a) {
    static const char *const actions[] = {"list", "describe", "delete", "reset-offsets"};
    int nact = 0;
    for (size_t i = 0; i < 4; i++)
        nact += rv__args_has(a, actions[i]);
    if (nact != 1)
        return usage_fail("Command must include exactly one action: --list, --describe, --delete, "
                          "--reset-offsets");
    if (!rv__args_has(a, "bootstrap-server"))
        return usage_fail("Missing required argument \"[bootstrap-server]\"");
    bool describe = rv__args_has(a, "describe"), list = rv__args_has(a, "list");
    bool group_scope = rv__args_has(a, "group") || rv__args_has(a, "all-groups");
    static const char *const describe_only[] = {"members", "offsets"};
    for (size_t i = 0; i < 2; i++)
        if (rv__args_has(a, describe_only[i]) && !describe) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "Option(s) [%s] are unavailable given other options on the command line",
                     describe_only[i]);
            return usage_fail(msg);
        }
    if (rv__args_has(a, "state") && !describe && !list)
        return usage_fail(
            "Option(s) [state] are unavailable given other options on the command line");
    if (describe) {
        if (!group_scope)
            return usage_fail("Option [describe] takes one of these options: [all-groups], "
                              "[group]");
        int sub =
            rv__args_has(a, "members") + rv__args_has(a, "offsets") + rv__args_has(a, "state");
        if (sub > 1)
            return usage_fail("Option [describe] takes at most one of these options: [members], "
                              "[offsets], [state]");
    }
    if (rv__args_has(a, "delete")) {
        if (!group_scope)
            return usage_fail("Option [delete] takes one of these options: [all-groups], [group]");
        if (rv__args_has(a, "topic"))
            return usage_fail("The consumer does not support topic-specific offset deletion from "
                              "a consumer group.");
    }
    static const char *const scenarios[] = {"to-offset", "to-earliest", "to-latest", "to-current",
                                            "shift-by"};
    if (rv__args_has(a, "reset-offsets")) {
        if (rv__args_has(a, "dry-run") && rv__args_has(a, "execute"))
            return usage_fail("Option [reset-offsets] only accepts one of [execute] and "
                              "[dry-run]");
        if (!rv__args_has(a, "dry-run") && !rv__args_has(a, "execute")) {
            fprintf(stderr,
                    "WARN: No action will be performed as the --execute option is missing.In a "
                    "future major release, the default behavior of this command will be to "
                    "prompt the user before executing the reset rather than doing a dry run. "
                    "You should add the --dry-run option explicitly if you are scripting this "
                    "command and want to keep the current default behavior without "
                    "prompting.\n");
        }
        if (!group_scope)
            return usage_fail("Option [reset-offsets] takes one of these options: [all-groups], "
                              "[group]");
        for (size_t i = 0; i < 5; i++)
            for (size_t j = 0; j < 5; j++)
                if (i != j && rv__args_has(a, scenarios[i]) && rv__args_has(a, scenarios[j])) {
                    char msg[256];
                    snprintf(msg, sizeof msg, "Option \"[%s]\" can't be used with option \"[%s]\"",
                             scenarios[i], scenarios[j]);
                    return usage_fail(msg);
                }
    } else {
        for (size_t i = 0; i < 5; i++)
            if (rv__args_has(a, scenarios[i])) {
                char msg[256];
                snprintf(msg, sizeof msg,
                         "Option(s) [%s] are unavailable given other options on the command line",
                         scenarios[i]);
                return usage_fail(msg);
            }
    }
    if (rv__args_has(a, "group") && rv__args_has(a, "all-groups"))
        return usage_fail("Option \"[group]\" can't be used with option \"[all-groups]\"");
    if (rv__args_has(a, "group") && list)
        return usage_fail("Option \"[group]\" can't be used with option \"[list]\"");
    if (rv__args_has(a, "topic") && (list || describe))
        return usage_fail(list ? "Option \"[topic]\" can't be used with option \"[list]\""
                               : "Option \"[topic]\" can't be used with option \"[describe]\"");
    if (rv__args_has(a, "reset-offsets")) {
        bool any = false;
        for (size_t i = 0; i < 5; i++)
            any = any || rv__args_has(a, scenarios[i]);
        if (!any)
            return usage_fail("Option '[reset-offsets]' requires one of the following scenarios: "
                              "[to-offset], [to-earliest], [to-latest], [to-current], "
                              "[shift-by]");
        static const char *const longs[] = {"to-offset", "shift-by"};
        for (size_t i = 0; i < 2; i++) {
            const char *v = rv__args_str(a, longs[i]);
            int64_t x;
            if (v && rv__args_parse_int64(v, &x) < 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "Cannot parse argument '%.100s' of option %s", v,
                         longs[i]);
                return usage_fail(msg);
            }
        }
        if (!rv__args_has(a, "all-topics") && !rv__args_has(a, "topic"))
            return usage_fail("One of the reset scopes should be defined: --all-topics, --topic.");
        if (rv__args_has(a, "all-topics") && rv__args_has(a, "topic"))
            return usage_fail("Option \"[all-topics]\" can't be used with option \"[topic]\"");
    }
    const char *t = rv__args_str(a, "timeout");
    int64_t tmo;
    if (t && rv__args_parse_int64(t, &tmo) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "Cannot parse argument '%.100s' of option timeout", t);
        return usage_fail(msg);
    }
    return 0;
}

int rv__cmd_consumer_groups(int argc, char **argv) {
    const char *about = "This tool helps to list all consumer groups, describe a consumer group, "
                        "delete consumer group info, or reset consumer group offsets.";
    if (argc == 0)
        return usage_fail(about);
    rv__args_t a;
    char errstr[1024];
    if (rv__args_parse(&a, cg_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        return usage_fail(errstr);
    }
    int rc = 0;
    if (a.help) {
        fprintf(stderr, "%s\n", about);
        rv__args_usage(stderr, cg_opts);
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
        print_error("Executing consumer group command failed due to %s", errstr);
        rc = 1;
        goto out;
    }
    if (rv__args_has(&a, "list"))
        rc = do_list(admin, &a);
    else if (rv__args_has(&a, "describe"))
        rc = do_describe(admin, &a);
    else if (rv__args_has(&a, "delete"))
        rc = do_delete(admin, &a);
    else
        rc = do_reset(admin, &a);
    rv_admin_destroy(admin);
out:
    rv__args_free(&a);
    return rc;
}
