/* tools/delete_records_cmd.c: `rivulet delete-records`, Apache Kafka's
 * kafka-delete-records.sh (DeleteRecordsCommand): reads the offset JSON
 * file ({"partitions":[{"topic":"t","partition":0,"offset":3}],"version":1};
 * offset -1 means the high watermark), moves each partition's log start
 * offset and prints Kafka's report, one line per partition in file order.
 *
 * Unlike Kafka's tool, which exits 0 whatever the partitions' results, the
 * exit status is 1 when any partition failed, so scripts can tell. A file
 * that cannot be read or is not valid offset JSON prints a message naming
 * the problem (with line and column for bad JSON) to stderr and exits 1
 * before anything is deleted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/args.h"
#include "tools/json.h"
#include "tools/tool.h"

static const rv__opt_t dr_opts[] = {
    {"bootstrap-server", RV__OPT_STRING, false, "server(s) to use for bootstrapping",
     "REQUIRED: The server to connect to: embedded:DIR opens the data folder DIR in process, "
     "host:port connects over the network."},
    {"command-config", RV__OPT_STRING, false, "command config property file path",
     "A property file containing configs to be passed to Admin Client."},
    {"offset-json-file", RV__OPT_STRING, false, "Offset json file path",
     "REQUIRED: The JSON file with offset per partition. The format to use is:\n"
     "{\"partitions\":\n  [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}],\n"
     " \"version\":1\n}"},
    {NULL, RV__OPT_FLAG, false, NULL, NULL}};

/* Offset files are small; a bound keeps a wrong path (a device, a huge
 * log) from being read into memory. */
#define MAX_FILE_BYTES (64u << 20)

typedef struct entry_s {
    const char *topic; /* borrowed from the JSON tree */
    int32_t partition;
    int64_t offset;
} entry_t;

static int read_file(const char *path, char **out, size_t *len, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "Cannot read the offset json file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                snprintf(errstr, errstr_size, "The offset json file %s is larger than %u bytes",
                         path, MAX_FILE_BYTES);
                rc = -1;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                snprintf(errstr, errstr_size, "Cannot read the offset json file %s: %s", path,
                         strerror(errno));
                rc = -1;
            }
            break;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(errstr, errstr_size, "Out of memory");
        return -1;
    }
    if (rc < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* DeleteRecordsCommand.parseOffsetJsonStringWithoutDedup with the
 * duplicate check. Fills *entries (caller frees the array; strings borrow
 * from root). Returns 0 or -1 with a message. */
static int parse_offsets(const rv__json_t *root, entry_t **entries, size_t *cnt, char *errstr,
                         size_t errstr_size) {
    if (root->type != RV__JSON_OBJECT) {
        snprintf(errstr, errstr_size,
                 "Invalid offset json: expected an object at the top level, "
                 "found %s",
                 rv__json_type_name(root->type));
        return -1;
    }
    const rv__json_t *ver = rv__json_get(root, "version");
    int64_t version = 1;
    if (ver && rv__json_int(ver, INT32_MIN, INT32_MAX, &version) < 0) {
        snprintf(errstr, errstr_size, "Invalid offset json: \"version\" must be an integer");
        return -1;
    }
    if (version != 1) {
        snprintf(errstr, errstr_size, "Not supported version field value %lld", (long long)version);
        return -1;
    }
    const rv__json_t *parts = rv__json_get(root, "partitions");
    if (!parts) {
        snprintf(errstr, errstr_size, "Missing partitions field");
        return -1;
    }
    if (parts->type != RV__JSON_ARRAY) {
        snprintf(errstr, errstr_size,
                 "Invalid offset json: \"partitions\" must be an array, found %s",
                 rv__json_type_name(parts->type));
        return -1;
    }
    entry_t *e = calloc(parts->cnt ? parts->cnt : 1, sizeof *e);
    if (!e) {
        snprintf(errstr, errstr_size, "Out of memory");
        return -1;
    }
    for (size_t i = 0; i < parts->cnt; i++) {
        const rv__json_t *p = parts->items[i];
        if (p->type != RV__JSON_OBJECT) {
            snprintf(errstr, errstr_size,
                     "Invalid offset json: partitions[%zu] must be an object, found %s", i,
                     rv__json_type_name(p->type));
            goto bad;
        }
        static const char *const fields[] = {"topic", "partition", "offset"};
        for (size_t f = 0; f < 3; f++)
            if (!rv__json_get(p, fields[f])) {
                snprintf(errstr, errstr_size,
                         "Invalid offset json: partitions[%zu]: No such field "
                         "exists: `%s`",
                         i, fields[f]);
                goto bad;
            }
        const rv__json_t *t = rv__json_get(p, "topic");
        int64_t part, off;
        if (t->type == RV__JSON_STRING && strlen(t->text) != t->len) {
            snprintf(errstr, errstr_size,
                     "Invalid offset json: partitions[%zu]: `topic` must not contain NUL "
                     "characters",
                     i);
            goto bad;
        }
        if (t->type != RV__JSON_STRING) {
            snprintf(errstr, errstr_size,
                     "Invalid offset json: partitions[%zu]: `topic` must be a "
                     "string",
                     i);
            goto bad;
        }
        if (rv__json_int(rv__json_get(p, "partition"), INT32_MIN, INT32_MAX, &part) < 0) {
            snprintf(errstr, errstr_size,
                     "Invalid offset json: partitions[%zu]: `partition` must be "
                     "an integer (int32)",
                     i);
            goto bad;
        }
        if (rv__json_int(rv__json_get(p, "offset"), INT64_MIN, INT64_MAX, &off) < 0) {
            snprintf(errstr, errstr_size,
                     "Invalid offset json: partitions[%zu]: `offset` must be an "
                     "integer (int64)",
                     i);
            goto bad;
        }
        e[i].topic = t->text;
        e[i].partition = (int32_t)part;
        e[i].offset = off;
    }
    /* Kafka refuses a file naming a partition twice, listing each once. */
    size_t dlen = 0;
    char dups[1024] = "";
    for (size_t i = 0; i < parts->cnt; i++) {
        bool dup = false, seen_before = false;
        for (size_t j = 0; j < parts->cnt; j++) {
            if (j == i || strcmp(e[i].topic, e[j].topic) != 0 || e[i].partition != e[j].partition)
                continue;
            dup = true;
            if (j < i)
                seen_before = true;
        }
        if (dup && !seen_before && dlen < sizeof dups)
            dlen += (size_t)snprintf(dups + dlen, sizeof dups - dlen, "%s%s-%d", dlen ? "," : "",
                                     e[i].topic, e[i].partition);
    }
    if (dlen) {
        snprintf(errstr, errstr_size, "Offset json file contains duplicate topic partitions: %s",
                 dups);
        goto bad;
    }
    *entries = e;
    *cnt = parts->cnt;
    return 0;
bad:
    free(e);
    return -1;
}

int rv__cmd_delete_records(int argc, char **argv) {
    rv__args_t a;
    char errstr[1024];
    if (rv__args_parse(&a, dr_opts, argc, argv, errstr, sizeof errstr) < 0) {
        rv__args_free(&a);
        rv__args_usage_error(dr_opts, errstr);
        return 1;
    }
    int rc = 0;
    char *text = NULL;
    size_t len = 0;
    rv__json_t *root = NULL;
    entry_t *entries = NULL;
    size_t cnt = 0;
    rv_admin_t *admin = NULL;
    if (argc == 0 || a.help) {
        const char *msg = "This tool helps to delete records of the given partitions down to the "
                          "specified offset.";
        if (argc == 0) {
            rv__args_usage_error(dr_opts, msg);
            rc = 1;
        } else {
            fprintf(stderr, "%s\n", msg);
            rv__args_usage(stderr, dr_opts);
        }
        goto out;
    }
    if (a.version) {
        printf("%s\n", RV_TOOL_VERSION);
        goto out;
    }
    if (!rv__args_has(&a, "bootstrap-server")) {
        rv__args_usage_error(dr_opts, "Missing required argument \"[bootstrap-server]\"");
        rc = 1;
        goto out;
    }
    if (!rv__args_has(&a, "offset-json-file")) {
        rv__args_usage_error(dr_opts, "Missing required argument \"[offset-json-file]\"");
        rc = 1;
        goto out;
    }
    /* Everything about the file is checked before the broker is touched. */
    if (read_file(rv__args_str(&a, "offset-json-file"), &text, &len, errstr, sizeof errstr) < 0) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    root = rv__json_parse(text, len, errstr, sizeof errstr);
    if (!root) {
        char msg[1200];
        snprintf(msg, sizeof msg, "The input string is not a valid JSON: %s", errstr);
        rc = rv__tool_fail(msg);
        goto out;
    }
    if (parse_offsets(root, &entries, &cnt, errstr, sizeof errstr) < 0) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    admin = rv__tool_admin_open(rv__args_str(&a, "bootstrap-server"),
                                rv__args_str(&a, "command-config"), errstr, sizeof errstr);
    if (!admin) {
        rc = rv__tool_fail(errstr);
        goto out;
    }
    printf("Executing records delete operation\n");
    fflush(stdout);
    /* Kafka prints the header, then each partition's outcome as its future
     * completes; the calls here are synchronous, so results are gathered
     * first and printed after the second header. */
    int64_t *low = calloc(cnt ? cnt : 1, sizeof *low);
    char **msgs = calloc(cnt ? cnt : 1, sizeof *msgs);
    if (!low || !msgs) {
        free(low);
        free(msgs);
        rc = rv__tool_fail("Out of memory");
        goto out;
    }
    for (size_t i = 0; i < cnt; i++) {
        char es[1024] = "";
        rv_err_t err = rv_admin_delete_records(admin, entries[i].topic, entries[i].partition,
                                               entries[i].offset, &low[i], es, sizeof es);
        if (err) {
            low[i] = -1;
            msgs[i] = strdup(rv__tool_errmsg(err, es));
            if (!msgs[i])
                msgs[i] = strdup("Out of memory");
        }
    }
    printf("Records delete operation completed:\n");
    for (size_t i = 0; i < cnt; i++) {
        if (msgs[i] || low[i] < 0) {
            printf("partition: %s-%d\terror: %s\n", entries[i].topic, entries[i].partition,
                   msgs[i] ? msgs[i] : "Out of memory");
            rc = 1;
        } else {
            printf("partition: %s-%d\tlow_watermark: %lld\n", entries[i].topic,
                   entries[i].partition, (long long)low[i]);
        }
        free(msgs[i]);
    }
    free(low);
    free(msgs);
out:
    rv_admin_destroy(admin);
    free(entries);
    rv__json_free(root);
    free(text);
    rv__args_free(&a);
    return rc;
}
