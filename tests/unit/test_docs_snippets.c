/* tests/unit/test_docs_snippets.c: every ```c block in README.md and
 * the docs folder's .md files is part of a program in examples/ that the tests build and
 * run, so the documentation's code compiles and works. A block matches
 * when its non-blank lines, with surrounding whitespace trimmed, appear in
 * the same order, contiguously, in one example file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "testutil.h"

typedef struct lines_s {
    char **v;
    size_t n;
} lines_t;

/* Splits text into trimmed, non-blank lines (copies). */
static void split_lines(lines_t *out, const char *text, size_t len) {
    out->v = NULL;
    out->n = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t a = i, b = j;
        while (a < b && (text[a] == ' ' || text[a] == '\t'))
            a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
            b--;
        if (b > a) {
            out->v = realloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = strndup(text + a, b - a);
        }
        i = j + 1;
    }
}

static void free_lines(lines_t *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int contains_run(const lines_t *hay, const lines_t *needle) {
    for (size_t i = 0; i + needle->n <= hay->n; i++) {
        size_t k = 0;
        while (k < needle->n && !strcmp(hay->v[i + k], needle->v[k]))
            k++;
        if (k == needle->n)
            return 1;
    }
    return 0;
}

static void read_file(const char *path, rv__buf_t *b) {
    char err[256];
    b->len = 0;
    if (rv__io_read_file(path, b, err, sizeof err))
        fail_msg("%s", err);
}

static void test_c_blocks_are_compiled_examples(void **state) {
    (void)state;
    const char *src = getenv("RV_SRC");
    assert_non_null(src);
    char path[4096];

    /* The example programs. */
    lines_t examples[64];
    char *example_names[64];
    size_t ex_n = 0;
    snprintf(path, sizeof path, "%s/examples", src);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    rv__buf_t b = RV__BUF_INIT;
    while ((e = readdir(d)) && ex_n < 64) {
        size_t nl = strlen(e->d_name);
        if (nl < 3 || strcmp(e->d_name + nl - 2, ".c"))
            continue;
        snprintf(path, sizeof path, "%s/examples/%s", src, e->d_name);
        read_file(path, &b);
        split_lines(&examples[ex_n], (const char *)b.data, b.len);
        example_names[ex_n++] = strdup(e->d_name);
    }
    closedir(d);

    /* The documents: README.md and every .md file in docs/. */
    char *docs[64];
    size_t doc_n = 0;
    snprintf(path, sizeof path, "%s/README.md", src);
    docs[doc_n++] = strdup(path);
    snprintf(path, sizeof path, "%s/docs", src);
    d = opendir(path);
    assert_non_null(d);
    while ((e = readdir(d)) && doc_n < 64) {
        size_t nl = strlen(e->d_name);
        if (nl > 3 && !strcmp(e->d_name + nl - 3, ".md")) {
            snprintf(path, sizeof path, "%s/docs/%s", src, e->d_name);
            docs[doc_n++] = strdup(path);
        }
    }
    closedir(d);

    int blocks = 0;
    for (size_t di = 0; di < doc_n; di++) {
        read_file(docs[di], &b);
        rv__buf_append(&b, "", 1);
        const char *text = (const char *)b.data;
        const char *p = text;
        while ((p = strstr(p, "```c\n"))) {
            const char *start = p + 5;
            const char *end = strstr(start, "```");
            assert_non_null(end);
            lines_t block;
            split_lines(&block, start, (size_t)(end - start));
            int found = 0;
            for (size_t x = 0; x < ex_n && !found; x++)
                found = contains_run(&examples[x], &block);
            if (!found) {
                int line = 1;
                for (const char *q = text; q < start; q++)
                    line += *q == '\n';
                fail_msg("%s:%d: this ```c block is not part of any examples/*.c program", docs[di],
                         line);
            }
            blocks++;
            free_lines(&block);
            p = end + 3;
        }
        free(docs[di]);
    }
    assert_true(blocks >= 3); /* the guide has several */
    for (size_t x = 0; x < ex_n; x++) {
        free_lines(&examples[x]);
        free(example_names[x]);
    }
    rv__buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_blocks_are_compiled_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
