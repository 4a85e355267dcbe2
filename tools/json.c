/* tools/json.c: the strict JSON parser of json.h. A recursive-descent
 * parser over a bounded buffer: it never reads past `len`, refuses what RFC
 * 8259 refuses (trailing commas, comments, single quotes, leading zeros,
 * control characters in strings, lone surrogates, trailing garbage) and
 * limits nesting to RV__JSON_MAX_DEPTH. Errors carry the line and column of
 * the offending character (1-based, columns in bytes). */
#include "tools/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser_s {
    const char *p, *end, *start;
    char *errstr;
    size_t errstr_size;
    bool failed;
} parser_t;

static void json_fail(parser_t *ps, const char *at, const char *msg) {
    if (ps->failed)
        return;
    ps->failed = true;
    int line = 1, col = 1;
    for (const char *q = ps->start; q < at && q < ps->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(ps->errstr, ps->errstr_size, "line %d, column %d: %s", line, col, msg);
}

static void skip_ws(parser_t *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static rv__json_t *new_value(parser_t *ps, rv__json_type_t t) {
    rv__json_t *v = calloc(1, sizeof *v);
    if (!v)
        json_fail(ps, ps->p, "out of memory");
    else
        v->type = t;
    return v;
}

void rv__json_free(rv__json_t *v) {
    if (!v)
        return;
    free(v->text);
    for (size_t i = 0; i < v->cnt; i++) {
        rv__json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v);
}

static rv__json_t *parse_value(parser_t *ps, int depth);

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting at the opening quote. The decoded text is never
 * longer than the escaped one, so one allocation of the raw length fits. */
static char *parse_string(parser_t *ps, size_t *len_out) {
    const char *q = ps->p + 1;
    const char *close = q;
    while (close < ps->end && *close != '"') {
        if (*close == '\\' && close + 1 < ps->end)
            close++;
        close++;
    }
    if (close >= ps->end) {
        json_fail(ps, ps->p, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(close - q) + 1);
    if (!out) {
        json_fail(ps, ps->p, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (q < close) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20) {
            json_fail(ps, q, "control character in string (must be escaped)");
            goto bad;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            q++;
            continue;
        }
        q++; /* q < close: an escape always has its next character */
        switch (*q) {
        case '"':
            out[n++] = '"';
            break;
        case '\\':
            out[n++] = '\\';
            break;
        case '/':
            out[n++] = '/';
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp;
            if (close - q < 5 || hex4(q + 1, &cp) < 0) {
                json_fail(ps, q - 1, "bad \\u escape (needs 4 hex digits)");
                goto bad;
            }
            q += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                json_fail(ps, q - 5, "lone low surrogate in \\u escape");
                goto bad;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (close - q < 7 || q[1] != '\\' || q[2] != 'u' || hex4(q + 3, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    json_fail(ps, q - 5, "high surrogate not followed by a low surrogate");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            }
            /* A \u escape of k >= 6 raw bytes decodes to at most 4 bytes. */
            n += utf8_put(out + n, cp);
            break;
        }
        default:
            json_fail(ps, q - 1, "bad escape in string");
            goto bad;
        }
        q++;
    }
    out[n] = '\0';
    *len_out = n;
    ps->p = close + 1;
    return out;
bad:
    free(out);
    return NULL;
}

static rv__json_t *parse_number(parser_t *ps) {
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || *q < '0' || *q > '9') {
        json_fail(ps, q, "bad number");
        return NULL;
    }
    if (*q == '0') {
        q++;
        if (q < ps->end && *q >= '0' && *q <= '9') {
            json_fail(ps, s, "leading zeros are not allowed in numbers");
            return NULL;
        }
    } else {
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') {
            json_fail(ps, q, "bad number: digits expected after '.'");
            return NULL;
        }
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9') {
            json_fail(ps, q, "bad number: digits expected in exponent");
            return NULL;
        }
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    rv__json_t *v = new_value(ps, RV__JSON_NUMBER);
    if (!v)
        return NULL;
    v->text = malloc((size_t)(q - s) + 1);
    if (!v->text) {
        free(v);
        json_fail(ps, s, "out of memory");
        return NULL;
    }
    memcpy(v->text, s, (size_t)(q - s));
    v->text[q - s] = '\0';
    ps->p = q;
    return v;
}

static int push(parser_t *ps, rv__json_t *c, rv__json_t *item, char *key) {
    rv__json_t **ni = realloc(c->items, sizeof *ni * (c->cnt + 1));
    if (!ni)
        goto oom;
    c->items = ni;
    if (c->type == RV__JSON_OBJECT) {
        char **nk = realloc(c->keys, sizeof *nk * (c->cnt + 1));
        if (!nk)
            goto oom;
        c->keys = nk;
        c->keys[c->cnt] = key;
    }
    c->items[c->cnt++] = item;
    return 0;
oom:
    json_fail(ps, ps->p, "out of memory");
    rv__json_free(item);
    free(key);
    return -1;
}

static rv__json_t *parse_container(parser_t *ps, int depth, bool object) {
    const char *open = ps->p;
    if (depth >= RV__JSON_MAX_DEPTH) {
        json_fail(ps, open, "nesting too deep");
        return NULL;
    }
    rv__json_t *c = new_value(ps, object ? RV__JSON_OBJECT : RV__JSON_ARRAY);
    if (!c)
        return NULL;
    char closer = object ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == closer) {
        ps->p++;
        return c;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (object) {
            size_t klen;
            if (ps->p >= ps->end || *ps->p != '"') {
                json_fail(ps, ps->p, "expected a string key in object");
                goto bad;
            }
            key = parse_string(ps, &klen);
            if (!key)
                goto bad;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                json_fail(ps, ps->p, "expected ':' after object key");
                goto bad;
            }
            ps->p++;
        }
        rv__json_t *item = parse_value(ps, depth + 1);
        if (!item) {
            free(key);
            goto bad;
        }
        if (push(ps, c, item, key) < 0)
            goto bad;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == closer) {
                json_fail(ps, ps->p,
                          object ? "trailing comma in object" : "trailing comma in array");
                goto bad;
            }
            continue;
        }
        if (ps->p < ps->end && *ps->p == closer) {
            ps->p++;
            return c;
        }
        if (ps->p >= ps->end)
            json_fail(ps, ps->p, object ? "unterminated object" : "unterminated array");
        else
            json_fail(ps, ps->p,
                      object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
        goto bad;
    }
bad:
    rv__json_free(c);
    return NULL;
}

static bool literal(parser_t *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static rv__json_t *parse_value(parser_t *ps, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) {
        json_fail(ps, ps->p, "unexpected end of input, expected a value");
        return NULL;
    }
    char c = *ps->p;
    rv__json_t *v;
    switch (c) {
    case '{':
        return parse_container(ps, depth, true);
    case '[':
        return parse_container(ps, depth, false);
    case '"': {
        size_t len;
        const char *at = ps->p;
        char *s = parse_string(ps, &len);
        if (!s)
            return NULL;
        v = new_value(ps, RV__JSON_STRING);
        if (!v) {
            free(s);
            (void)at;
            return NULL;
        }
        v->text = s;
        v->len = len;
        return v;
    }
    case 't':
    case 'f':
    case 'n':
        if (literal(ps, "true") || literal(ps, "false")) {
            v = new_value(ps, RV__JSON_BOOL);
            if (v)
                v->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
            return v;
        }
        if (literal(ps, "null"))
            return new_value(ps, RV__JSON_NULL);
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(ps);
        break;
    }
    json_fail(ps, ps->p, "unexpected character, expected a value");
    return NULL;
}

rv__json_t *rv__json_parse(const char *text, size_t len, char *errstr, size_t errstr_size) {
    parser_t ps = {text, text + len, text, errstr, errstr_size, false};
    rv__json_t *v = parse_value(&ps, 0);
    if (!v)
        return NULL;
    skip_ws(&ps);
    if (ps.p < ps.end) {
        json_fail(&ps, ps.p, "unexpected data after the JSON value");
        rv__json_free(v);
        return NULL;
    }
    return v;
}

const rv__json_t *rv__json_get(const rv__json_t *v, const char *key) {
    if (!v || v->type != RV__JSON_OBJECT)
        return NULL;
    for (size_t i = v->cnt; i > 0; i--)
        if (strcmp(v->keys[i - 1], key) == 0)
            return v->items[i - 1];
    return NULL;
}

int rv__json_int(const rv__json_t *v, int64_t min, int64_t max, int64_t *out) {
    if (!v || v->type != RV__JSON_NUMBER)
        return -1;
    /* The grammar already holds (optional '-', digits, maybe a fraction or
     * exponent); an integer is digits only, accumulated with an overflow
     * check in the negative range, which is the larger one. */
    const char *p = v->text;
    bool neg = *p == '-';
    if (neg)
        p++;
    int64_t n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        int d = *p - '0';
        if (n < (INT64_MIN + d) / 10)
            return -1;
        n = n * 10 - d;
    }
    if (!neg) {
        if (n == INT64_MIN)
            return -1;
        n = -n;
    }
    if (n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

const char *rv__json_type_name(rv__json_type_t t) {
    switch (t) {
    case RV__JSON_NULL:
        return "null";
    case RV__JSON_BOOL:
        return "boolean";
    case RV__JSON_NUMBER:
        return "number";
    case RV__JSON_STRING:
        return "string";
    case RV__JSON_ARRAY:
        return "array";
    case RV__JSON_OBJECT:
        return "object";
    }
    return "value";
}
