/* tools/args.c: the option parser behind every `rivulet` subcommand (see
 * args.h). It follows jopt-simple as configured by Kafka's
 * CommandDefaultOptions: long options only, no abbreviations, an option
 * that takes an argument consumes the next word whatever it looks like
 * (so `--partitions --create` is "Cannot parse argument"), and the usage
 * text is jopt-simple's two-column table. */
#include "tools/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const rv__opt_t help_opt = {"help", RV__OPT_FLAG, false, NULL, "Print usage information."};
static const rv__opt_t version_opt = {"version", RV__OPT_FLAG, false, NULL,
                                      "Display rivulet version."};

static size_t table_len(const rv__opt_t *t) {
    size_t n = 0;
    while (t[n].name)
        n++;
    return n;
}

static long find(const rv__opt_t *t, const char *name, size_t namelen) {
    for (size_t i = 0; t[i].name; i++)
        if (strlen(t[i].name) == namelen && memcmp(t[i].name, name, namelen) == 0)
            return (long)i;
    return -1;
}

int rv__args_parse_int64(const char *s, int64_t *out) {
    if (!s || !*s)
        return -1;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (!*p)
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    /* Negating through uint64_t avoids the overflow of -(INT64_MIN). */
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int rv__args_parse_int32(const char *s, int32_t *out) {
    int64_t v;
    if (rv__args_parse_int64(s, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Records one value; returns -1 on allocation failure. */
static int add_value(rv__optval_t *ov, const char *val) {
    const char **nv = realloc(ov->vals, sizeof *nv * (size_t)(ov->count + 1));
    if (!nv)
        return -1;
    nv[ov->count] = val;
    ov->vals = nv;
    return 0;
}

int rv__args_parse(rv__args_t *a, const rv__opt_t *table, int argc, char **argv, char *errstr,
                   size_t errstr_size) {
    memset(a, 0, sizeof *a);
    a->table = table;
    a->cnt = table_len(table);
    a->v = calloc(a->cnt ? a->cnt : 1, sizeof *a->v);
    if (!a->v) {
        snprintf(errstr, errstr_size, "Out of memory");
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            /* jopt-simple would keep these as non-option arguments that no
             * Kafka tool reads; silently ignoring them hides typos such as
             * a missing "--", so they are refused. */
            snprintf(errstr, errstr_size, "Found non-option argument: %s", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
        long idx = find(table, name, namelen);
        if (idx < 0) {
            if (namelen == 4 && memcmp(name, "help", 4) == 0 && !eq) {
                a->help = true;
                continue;
            }
            if (namelen == 7 && memcmp(name, "version", 7) == 0 && !eq) {
                a->version = true;
                continue;
            }
            snprintf(errstr, errstr_size, "%.*s is not a recognized option", (int)namelen, name);
            return -1;
        }
        const rv__opt_t *o = &table[idx];
        rv__optval_t *ov = &a->v[idx];
        if (o->kind == RV__OPT_FLAG) {
            if (eq) {
                snprintf(errstr, errstr_size, "Option %s does not take an argument", o->name);
                return -1;
            }
            ov->count++;
            continue;
        }
        const char *val;
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(errstr, errstr_size, "Option %s requires an argument", o->name);
            return -1;
        }
        if (ov->count > 0 && !o->multi) {
            snprintf(errstr, errstr_size,
                     "Found multiple arguments for option %s, but you asked for only one", o->name);
            return -1;
        }
        if (o->kind == RV__OPT_INT && rv__args_parse_int32(val, &ov->ival) < 0) {
            snprintf(errstr, errstr_size, "Cannot parse argument '%s' of option %s", val, o->name);
            return -1;
        }
        if (add_value(ov, val) < 0) {
            snprintf(errstr, errstr_size, "Out of memory");
            return -1;
        }
        ov->count++;
    }
    return 0;
}

void rv__args_free(rv__args_t *a) {
    if (!a || !a->v)
        return;
    for (size_t i = 0; i < a->cnt; i++)
        free(a->v[i].vals);
    free(a->v);
    a->v = NULL;
}

static const rv__optval_t *lookup(const rv__args_t *a, const char *name) {
    long idx = find(a->table, name, strlen(name));
    return idx < 0 ? NULL : &a->v[idx];
}

bool rv__args_has(const rv__args_t *a, const char *name) {
    const rv__optval_t *ov = lookup(a, name);
    return ov && ov->count > 0;
}

const char *rv__args_str(const rv__args_t *a, const char *name) {
    const rv__optval_t *ov = lookup(a, name);
    return ov && ov->count > 0 && ov->vals ? ov->vals[ov->count - 1] : NULL;
}

const char *const *rv__args_strs(const rv__args_t *a, const char *name, size_t *n) {
    const rv__optval_t *ov = lookup(a, name);
    *n = ov && ov->vals ? (size_t)ov->count : 0;
    return ov ? ov->vals : NULL;
}

int32_t rv__args_int(const rv__args_t *a, const char *name) {
    const rv__optval_t *ov = lookup(a, name);
    return ov && ov->count > 0 ? ov->ival : 0;
}

/* --- usage ------------------------------------------------------------- */

/* Column geometry of jopt-simple's BuiltinHelpFormatter(80, 2) as Kafka's
 * tools print it: the option column is 41 characters wide, each column's
 * text wraps at 38 characters and continuation lines are indented by 2. */
#define COL_LEFT 41
#define WRAP 38

/* Splits `text` into lines of at most WRAP characters (continuation lines
 * count their 2-space indent), breaking at spaces and at hard newlines.
 * Returns the number of lines; lines[i] is malloc'd. */
static size_t wrap(const char *text, char ***lines_out) {
    char **lines = NULL;
    size_t n = 0;
    const char *p = text ? text : "";
    bool first = true;
    do {
        size_t width = first ? WRAP : WRAP - 2;
        size_t len = strcspn(p, "\n");
        size_t take = len;
        if (len > width) {
            /* Break at the last space within the width; a word longer than
             * the width is cut. */
            take = width;
            for (size_t k = width; k > 0; k--)
                if (p[k] == ' ') {
                    take = k;
                    break;
                }
        }
        char **nl = realloc(lines, sizeof *nl * (n + 1));
        if (!nl)
            break;
        lines = nl;
        lines[n] = malloc(take + 3);
        if (!lines[n])
            break;
        snprintf(lines[n], take + 3, "%s%.*s", first ? "" : "  ", (int)take, p);
        n++;
        p += take;
        while (*p == ' ')
            p++;
        if (*p == '\n' && take == len)
            p++;
        first = false;
    } while (*p);
    *lines_out = lines;
    return n;
}

static void usage_row(FILE *f, const char *left, const char *right) {
    char **l = NULL, **r = NULL;
    size_t nl = wrap(left, &l), nr = wrap(right, &r);
    size_t rows = nl > nr ? nl : nr;
    for (size_t i = 0; i < rows; i++) {
        const char *lt = i < nl ? l[i] : "";
        if (i < nr && *r[i])
            fprintf(f, "%-*s%s\n", COL_LEFT, lt, r[i]);
        else
            fprintf(f, "%s\n", lt);
    }
    for (size_t i = 0; i < nl; i++)
        free(l[i]);
    for (size_t i = 0; i < nr; i++)
        free(r[i]);
    free(l);
    free(r);
}

static int cmp_opt(const void *x, const void *y) {
    const rv__opt_t *a = *(const rv__opt_t *const *)x, *b = *(const rv__opt_t *const *)y;
    return strcmp(a->name, b->name);
}

void rv__args_usage(FILE *f, const rv__opt_t *table) {
    size_t n = table_len(table);
    const rv__opt_t **sorted = malloc(sizeof *sorted * (n + 2));
    if (!sorted)
        return;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &table[i];
    sorted[n++] = &help_opt;
    sorted[n++] = &version_opt;
    qsort(sorted, n, sizeof *sorted, cmp_opt);
    fprintf(f, "%-*s%s\n", COL_LEFT, "Option", "Description");
    fprintf(f, "%-*s%s\n", COL_LEFT, "------", "-----------");
    for (size_t i = 0; i < n; i++) {
        const rv__opt_t *o = sorted[i];
        char left[256];
        if (o->kind == RV__OPT_FLAG)
            snprintf(left, sizeof left, "--%s", o->name);
        else
            snprintf(left, sizeof left, "--%s <%s: %s>", o->name,
                     o->kind == RV__OPT_INT ? "Integer" : "String", o->argdesc ? o->argdesc : "");
        usage_row(f, left, o->desc);
    }
    free(sorted);
}

void rv__args_usage_error(const rv__opt_t *table, const char *msg) {
    fflush(stdout);
    fprintf(stderr, "%s\n", msg);
    rv__args_usage(stderr, table);
}
