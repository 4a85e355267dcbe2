/* tools/args.h: command-line option parsing shared by the `rivulet`
 * subcommands, with the rules and messages of jopt-simple as Apache Kafka's
 * tools use it: long options only (`--name value` or `--name=value`), no
 * abbreviations, options sorted by name in the usage text, and the same
 * error texts ("foo is not a recognized option", "Missing required argument
 * \"[topic]\"", "Option \"[config]\" can't be used with option \"[list]\""). */
#ifndef RV_TOOLS_ARGS_H
#define RV_TOOLS_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How an option takes its argument. */
typedef enum rv__opt_kind_e {
    RV__OPT_FLAG,   /* no argument */
    RV__OPT_STRING, /* one argument, a string */
    RV__OPT_INT     /* one argument, a Java int (checked when parsed) */
} rv__opt_kind_t;

/* One option of a command. A table of these ends with a NULL name. */
typedef struct rv__opt_s {
    const char *name;    /* without the leading "--" */
    rv__opt_kind_t kind; /* flag or argument type */
    bool multi;          /* may be given several times (values accumulate) */
    const char *argdesc; /* the argument's description in the usage text */
    const char *desc;    /* the option's description */
} rv__opt_t;

/* The values seen for one option. */
typedef struct rv__optval_s {
    int count;         /* times the option was given */
    const char **vals; /* count values (borrowed from argv) for options with arguments */
    int32_t ival;      /* the value of an RV__OPT_INT option (the last one given) */
} rv__optval_t;

/* A parsed command line: one rv__optval_t per row of the table. */
typedef struct rv__args_s {
    const rv__opt_t *table;
    size_t cnt;
    rv__optval_t *v; /* owned, cnt entries */
    bool help;       /* --help was given */
    bool version;    /* --version was given */
} rv__args_t;

/** Parses argv[0..argc) against `table` (--help and --version are always
 *  accepted). On a usage error writes jopt-simple's message to errstr and
 *  returns -1; *a is then still valid to free. 0 on success. Caller owns *a;
 *  free with rv__args_free(). The values borrow from argv. */
int rv__args_parse(rv__args_t *a, const rv__opt_t *table, int argc, char **argv, char *errstr,
                   size_t errstr_size);

/** Frees what rv__args_parse() allocated. */
void rv__args_free(rv__args_t *a);

/** True when option `name` was given. `name` must be in the table. */
bool rv__args_has(const rv__args_t *a, const char *name);

/** The (last) value of `name`, or NULL when not given. Borrowed from argv. */
const char *rv__args_str(const rv__args_t *a, const char *name);

/** The values of `name` (*n of them). Borrowed: valid until rv__args_free(). */
const char *const *rv__args_strs(const rv__args_t *a, const char *name, size_t *n);

/** The int value of `name` (0 when not given). */
int32_t rv__args_int(const rv__args_t *a, const char *name);

/** Writes the jopt-simple style two-column usage table of `table` (plus
 *  --help and --version) to f. */
void rv__args_usage(FILE *f, const rv__opt_t *table);

/** Kafka's usage error: writes `msg`, a newline and the usage table to
 *  stderr. The caller then exits with status 1. */
void rv__args_usage_error(const rv__opt_t *table, const char *msg);

/** Strict Java Integer.parseInt / Long.parseLong: optional sign, decimal
 *  digits only, in range. 0 on success, -1 otherwise. */
int rv__args_parse_int32(const char *s, int32_t *out);
int rv__args_parse_int64(const char *s, int64_t *out);

#endif
