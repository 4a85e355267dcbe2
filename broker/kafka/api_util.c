/* broker/kafka/api_util.c: the helpers of broker/kafka/api_util.h, shared
 * by the request handlers in broker/kafka/api_*.c. */
#include "broker/kafka/api_util.h"

#include <stdlib.h>
#include <string.h>

void *rv__kreq_array(rv__kreq_t *req, size_t n, size_t size) {
    void *p = rv__karena_alloc(&req->arena, n ? n * size : 1);
    if (!p)
        req->body.err = true;
    return p;
}

void *rv__kreq_array_grow(rv__kreq_t *req, void *v, size_t cnt, size_t *cap, size_t need,
                          size_t size) {
    if (need <= *cap)
        return v;
    /* Doubling keeps the copies (the arena frees nothing before the
     * request ends) to about twice the final size. */
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *n = rv__kreq_array(req, ncap, size);
    if (!n)
        return NULL;
    if (cnt)
        memcpy(n, v, cnt * size);
    *cap = ncap;
    return n;
}

typedef struct name_ref_s {
    const char *name;
    int32_t index;
} name_ref_t;

static int name_ref_cmp(const void *a, const void *b) {
    const name_ref_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

int32_t rv__kapi_find_repeats(rv__kreq_t *req, const char *const *names, int32_t n, bool *first,
                              int32_t *count) {
    name_ref_t *refs = rv__kreq_array(req, (size_t)n, sizeof *refs);
    if (!refs)
        return -1;
    for (int32_t i = 0; i < n; i++)
        refs[i] = (name_ref_t){names[i], i};
    qsort(refs, (size_t)n, sizeof *refs, name_ref_cmp);
    int32_t distinct = 0;
    for (int32_t i = 0; i < n;) {
        int32_t j = i;
        while (j < n && !strcmp(refs[j].name, refs[i].name))
            j++;
        for (int32_t k = i; k < j; k++) {
            first[refs[k].index] = k == i;
            if (count)
                count[refs[k].index] = j - i;
        }
        distinct++;
        i = j;
    }
    return distinct;
}

bool rv__kapi_is_index_set(const int32_t *idx, int32_t n, bool *seen) {
    if (n > 0)
        memset(seen, 0, (size_t)n * sizeof *seen);
    for (int32_t i = 0; i < n; i++) {
        /* n distinct values in [0, n) are exactly 0..n-1. */
        if (idx[i] < 0 || idx[i] >= n || seen[idx[i]])
            return false;
        seen[idx[i]] = true;
    }
    return true;
}

int16_t rv__kapi_wire_err(rv_err_t err) {
    return err < 0 ? (int16_t)RV_ERR_UNKNOWN_SERVER_ERROR : (int16_t)err;
}
