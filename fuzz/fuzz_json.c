/* fuzz/fuzz_json.c: libFuzzer target for the tools' strict JSON parser
 * (tools/json.h; tools/json.c is compiled into this program because it
 * belongs to the `rivulet` program, not the library).
 *
 * Besides sanitizer reports the target checks the parser's promises on
 * every tree it returns: nesting within RV__JSON_MAX_DEPTH, strings
 * NUL-terminated at their decoded length, objects with a key per item and
 * rv__json_get() finding the last item of each key, integers converting
 * within the asked range; and that the tree written back out as JSON
 * parses again into the same tree. A failed parse must say where. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "fuzz/fuzzutil.h"
#include "tools/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_tree(const rv__json_t *v, int depth) {
    rvf_check(v != NULL && depth <= RV__JSON_MAX_DEPTH + 1);
    rvf_check(rv__json_type_name(v->type) != NULL);
    int64_t i;
    switch (v->type) {
    case RV__JSON_NULL:
    case RV__JSON_BOOL:
        rvf_check(rv__json_int(v, INT64_MIN, INT64_MAX, &i) == -1);
        break;
    case RV__JSON_NUMBER:
        rvf_check(v->text != NULL && *v->text);
        if (rv__json_int(v, INT64_MIN, INT64_MAX, &i) == 0) {
            int64_t j;
            rvf_check(rv__json_int(v, i, i, &j) == 0 && j == i);
            if (i > INT64_MIN)
                rvf_check(rv__json_int(v, INT64_MIN, i - 1, &j) == -1);
            if (i < INT64_MAX)
                rvf_check(rv__json_int(v, i + 1, INT64_MAX, &j) == -1);
        }
        break;
    case RV__JSON_STRING:
        rvf_check(v->text != NULL && v->text[v->len] == '\0');
        break;
    case RV__JSON_ARRAY:
        rvf_check(v->cnt == 0 || v->items != NULL);
        rvf_check(rv__json_get(v, "") == NULL);
        for (size_t k = 0; k < v->cnt; k++)
            check_tree(v->items[k], depth + 1);
        break;
    case RV__JSON_OBJECT:
        rvf_check(v->cnt == 0 || (v->items != NULL && v->keys != NULL));
        for (size_t k = 0; k < v->cnt; k++) {
            rvf_check(v->keys[k] != NULL);
            check_tree(v->items[k], depth + 1);
            /* rv__json_get compares C strings, so a key with a NUL byte
             * matches its prefix; only the last item of a key is found. */
            const rv__json_t *got = rv__json_get(v, v->keys[k]);
            rvf_check(got != NULL);
            size_t last = k;
            for (size_t m = k + 1; m < v->cnt; m++)
                if (!strcmp(v->keys[m], v->keys[k]))
                    last = m;
            rvf_check(got == v->items[last]);
        }
        break;
    }
}

static void put_string(rv__buf_t *b, const char *s, size_t n) {
    rv__buf_put_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\')
            rv__buf_printf(b, "\\u%04x", c);
        else
            rv__buf_put_u8(b, c);
    }
    rv__buf_put_u8(b, '"');
}

/* Writes v back as JSON (whitespace-free). Object keys are C strings in
 * the tree, so they are written up to their first NUL. */
static void write_json(rv__buf_t *b, const rv__json_t *v) {
    switch (v->type) {
    case RV__JSON_NULL:
        rv__buf_printf(b, "null");
        break;
    case RV__JSON_BOOL:
        rv__buf_printf(b, v->boolean ? "true" : "false");
        break;
    case RV__JSON_NUMBER:
        rv__buf_printf(b, "%s", v->text);
        break;
    case RV__JSON_STRING:
        put_string(b, v->text, v->len);
        break;
    case RV__JSON_ARRAY:
    case RV__JSON_OBJECT:
        rv__buf_put_u8(b, v->type == RV__JSON_ARRAY ? '[' : '{');
        for (size_t k = 0; k < v->cnt; k++) {
            if (k)
                rv__buf_put_u8(b, ',');
            if (v->type == RV__JSON_OBJECT) {
                put_string(b, v->keys[k], strlen(v->keys[k]));
                rv__buf_put_u8(b, ':');
            }
            write_json(b, v->items[k]);
        }
        rv__buf_put_u8(b, v->type == RV__JSON_ARRAY ? ']' : '}');
        break;
    }
}

static bool same(const rv__json_t *a, const rv__json_t *b) {
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case RV__JSON_NULL:
        return true;
    case RV__JSON_BOOL:
        return a->boolean == b->boolean;
    case RV__JSON_NUMBER:
        return !strcmp(a->text, b->text);
    case RV__JSON_STRING:
        return a->len == b->len && !memcmp(a->text, b->text, a->len);
    case RV__JSON_ARRAY:
    case RV__JSON_OBJECT:
        if (a->cnt != b->cnt)
            return false;
        for (size_t k = 0; k < a->cnt; k++) {
            if (a->type == RV__JSON_OBJECT && strcmp(a->keys[k], b->keys[k]))
                return false;
            if (!same(a->items[k], b->items[k]))
                return false;
        }
        return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char errstr[256] = "";
    rv__json_t *v = rv__json_parse((const char *)data, size, errstr, sizeof errstr);
    if (!v) {
        rvf_check(!strncmp(errstr, "line ", 5));
        return 0;
    }
    check_tree(v, 1);
    rv__buf_t out = RV__BUF_INIT;
    write_json(&out, v);
    rv__json_t *w = rv__json_parse((const char *)out.data, out.len, errstr, sizeof errstr);
    if (!w)
        fprintf(stderr, "re-parse of %.*s failed: %s\n", (int)(out.len < 200 ? out.len : 200),
                (const char *)out.data, errstr);
    rvf_check(w != NULL && same(v, w));
    rv__json_free(w);
    rv__buf_free(&out);
    rv__json_free(v);
    return 0;
}
