/* common/config.c: property tables (common/config.h): lookup, value
 * checking with Kafka's error messages, strict number parsing, and the
 * Markdown reference generator behind docs/CONFIGURATION.md.
 *
 * The checker mirrors Kafka's ConfigDef: the value is trimmed, parsed by
 * type (Integer.parseInt, Long.parseLong, Double.parseDouble, true/false in
 * any case, a comma-separated list), then checked by the validator (Range,
 * ValidString, ValidList). A failure becomes a ConfigException message,
 * "Invalid value V for configuration N: REASON", with Kafka's REASON texts,
 * so operators see the words they know from Kafka. */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const rv__prop_t *rv__prop_find(const rv__prop_t *table, const char *name) {
    if (!table || !name)
        return NULL;
    for (const rv__prop_t *p = table; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

int rv__parse_int64(const char *s, int64_t *out) {
    if (!s)
        return -1;
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return -1;
    /* Accumulate negatively so INT64_MIN parses without overflow. */
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        int d = *p - '0';
        if (v < (INT64_MIN + d) / 10)
            return -1;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return -1;
        v = -v;
    }
    *out = v;
    return 0;
}

int rv__parse_int32(const char *s, int32_t *out) {
    int64_t v;
    if (rv__parse_int64(s, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

int rv__parse_double(const char *s, double *out) {
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    /* Java spells the special values NaN and Infinity; C's inf/nan/hex
     * forms are not numbers to Double.parseDouble (hex needs a p exponent),
     * so only plain decimal notation goes to strtod. */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!strcmp(p, "Infinity")) {
        *out = *s == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    if (!strcmp(p, "NaN")) {
        *out = NAN;
        return 0;
    }
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q) && !strchr(".eE+-", *q))
            return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int rv__parse_bool(const char *s, bool *out) {
    if (!s)
        return -1;
    if (!strcasecmp(s, "true")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "false")) {
        *out = false;
        return 0;
    }
    return -1;
}

/* A trimmed copy of [p, p+n) as Java's String.trim() does it. */
static char *trim_dup(const char *p, size_t n) {
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return strndup(p, n);
}

int rv__parse_kv(const char *text, char **name, char **value) {
    const char *eq = strchr(text, '=');
    if (!eq)
        return -1;
    char *n = trim_dup(text, (size_t)(eq - text));
    char *v = trim_dup(eq + 1, strlen(eq + 1));
    if (!n || !v || !*n) {
        free(n);
        free(v);
        return -1;
    }
    *name = n;
    *value = v;
    return 0;
}

/* Java prints an Integer/Long bound without a fraction and a Double with
 * one; the tables hold whole numbers for INT/LONG ranges, so print whole
 * values as integers and others in shortest form. */
static void fmt_num(char *buf, size_t size, double v) {
    if (v == floor(v) && fabs(v) < 1e18)
        snprintf(buf, size, "%lld", (long long)v);
    else
        snprintf(buf, size, "%g", v);
}

static void values_join(char *buf, size_t size, const char *const *values) {
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; values && values[i]; i++) {
        int n = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", values[i]);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
}

static bool in_values(const char *const *values, const char *s) {
    for (int i = 0; values[i]; i++)
        if (!strcmp(values[i], s))
            return true;
    return false;
}

static bool has_range(const rv__prop_t *prop) {
    return prop->min <= prop->max;
}

/* Kafka's Range validator. Returns 0 or writes the reason. */
static int range_check(const rv__prop_t *prop, double v, char *reason, size_t size) {
    if (!has_range(prop))
        return 0;
    char num[64];
    if (v < prop->min) {
        fmt_num(num, sizeof num, prop->min);
        snprintf(reason, size, "Value must be at least %s", num);
        return -1;
    }
    if (v > prop->max) {
        fmt_num(num, sizeof num, prop->max);
        snprintf(reason, size, "Value must be no more than %s", num);
        return -1;
    }
    return 0;
}

rv_conf_res_t rv__prop_check(const rv__prop_t *prop, const char *value, char *errstr,
                             size_t errstr_size) {
    char reason[512];
    const char *shown = value; /* the value the message names */
    char *v = trim_dup(value ? value : "", value ? strlen(value) : 0);
    char *elem = NULL;
    if (!v) {
        snprintf(reason, sizeof reason, "Out of memory");
        goto invalid;
    }
    reason[0] = '\0';
    switch (prop->type) {
    case RV__PROP_STRING:
        break;
    case RV__PROP_INT: {
        int32_t i;
        if (rv__parse_int32(v, &i) < 0) {
            snprintf(reason, sizeof reason, "Not a number of type INT");
            goto invalid;
        }
        if (range_check(prop, (double)i, reason, sizeof reason) < 0)
            goto invalid;
        break;
    }
    case RV__PROP_LONG: {
        int64_t l;
        if (rv__parse_int64(v, &l) < 0) {
            snprintf(reason, sizeof reason, "Not a number of type LONG");
            goto invalid;
        }
        /* Bounds in the tables are small whole numbers or infinite, so the
         * comparison in double is exact where it matters. */
        if (range_check(prop, (double)l, reason, sizeof reason) < 0)
            goto invalid;
        break;
    }
    case RV__PROP_DOUBLE: {
        double d;
        if (rv__parse_double(v, &d) < 0) {
            snprintf(reason, sizeof reason, "Not a number of type DOUBLE");
            goto invalid;
        }
        if (range_check(prop, d, reason, sizeof reason) < 0)
            goto invalid;
        break;
    }
    case RV__PROP_BOOLEAN: {
        bool b;
        if (rv__parse_bool(v, &b) < 0) {
            snprintf(reason, sizeof reason, "Expected value to be either true or false");
            goto invalid;
        }
        break;
    }
    case RV__PROP_ENUM:
        if (prop->values && !in_values(prop->values, v)) {
            char list[384];
            values_join(list, sizeof list, prop->values);
            snprintf(reason, sizeof reason, "String must be one of: %s", list);
            goto invalid;
        }
        break;
    case RV__PROP_LIST: {
        if (!prop->values || !*v)
            break;
        /* Kafka splits on commas with spaces around them trimmed and checks
         * each element; the message names the bad element. */
        const char *p = v;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            elem = trim_dup(p, n);
            if (!elem) {
                snprintf(reason, sizeof reason, "Out of memory");
                goto invalid;
            }
            if (!in_values(prop->values, elem)) {
                char list[384];
                values_join(list, sizeof list, prop->values);
                snprintf(reason, sizeof reason, "String must be one of: %s", list);
                shown = elem;
                goto invalid;
            }
            free(elem);
            elem = NULL;
            if (!comma)
                break;
            p = comma + 1;
        }
        break;
    }
    }
    free(v);
    return RV_CONF_OK;

invalid:
    if (errstr_size)
        snprintf(errstr, errstr_size, "Invalid value %s for configuration %s: %s",
                 shown ? shown : "null", prop->name, reason);
    free(elem);
    free(v);
    return RV_CONF_INVALID;
}

static const char *type_name(rv__prop_type_t t) {
    switch (t) {
    case RV__PROP_STRING:
    case RV__PROP_ENUM:
        return "string";
    case RV__PROP_INT:
        return "int";
    case RV__PROP_LONG:
        return "long";
    case RV__PROP_DOUBLE:
        return "double";
    case RV__PROP_BOOLEAN:
        return "boolean";
    case RV__PROP_LIST:
        return "list";
    }
    return "?";
}

/* Kafka's documentation text for a validator: "[14,...]", "[0,...,1]",
 * "[compact, delete]". */
static void valid_values(char *buf, size_t size, const rv__prop_t *prop) {
    buf[0] = '\0';
    if ((prop->type == RV__PROP_ENUM || prop->type == RV__PROP_LIST) && prop->values) {
        char list[384];
        values_join(list, sizeof list, prop->values);
        snprintf(buf, size, "[%s]", list);
    } else if ((prop->type == RV__PROP_INT || prop->type == RV__PROP_LONG ||
                prop->type == RV__PROP_DOUBLE) &&
               has_range(prop)) {
        char lo[64], hi[64];
        fmt_num(lo, sizeof lo, prop->min);
        fmt_num(hi, sizeof hi, prop->max);
        if (isinf(prop->min) && isinf(prop->max))
            snprintf(buf, size, "[...]");
        else if (isinf(prop->max))
            snprintf(buf, size, "[%s,...]", lo);
        else if (isinf(prop->min))
            snprintf(buf, size, "[...,%s]", hi);
        else
            snprintf(buf, size, "[%s,...,%s]", lo, hi);
    }
}

/* Table cells may not hold a raw '|' or newline. */
static rv_err_t md_cell(rv__buf_t *out, const char *s) {
    rv_err_t err = RV_ERR_NO_ERROR;
    for (; s && *s && !err; s++) {
        if (*s == '|')
            err = rv__buf_append(out, "\\|", 2);
        else if (*s == '\n')
            err = rv__buf_append(out, " ", 1);
        else
            err = rv__buf_append(out, s, 1);
    }
    return err;
}

rv_err_t rv__prop_table_markdown(rv__buf_t *out, const rv__prop_t *table, const char *title) {
    rv_err_t err = rv__buf_printf(out,
                                  "## %s\n\n"
                                  "| Name | Type | Default | Valid values | Description |\n"
                                  "|------|------|---------|--------------|-------------|\n",
                                  title);
    for (const rv__prop_t *p = table; p->name && !err; p++) {
        char vv[512];
        valid_values(vv, sizeof vv, p);
        err = rv__buf_printf(out, "| `%s` | %s | ", p->name, type_name(p->type));
        if (!err) {
            if (!p->dflt)
                err = rv__buf_printf(out, "null");
            else if (!*p->dflt)
                err = rv__buf_printf(out, "\"\"");
            else {
                err = rv__buf_printf(out, "`");
                if (!err)
                    err = md_cell(out, p->dflt);
                if (!err)
                    err = rv__buf_printf(out, "`");
            }
        }
        if (!err)
            err = rv__buf_printf(out, " | ");
        if (!err)
            err = md_cell(out, vv);
        if (!err)
            err = rv__buf_printf(out, " | ");
        if (!err)
            err = md_cell(out, p->doc);
        if (!err)
            err = rv__buf_printf(out, " |\n");
    }
    if (!err)
        err = rv__buf_printf(out, "\n");
    return err;
}
