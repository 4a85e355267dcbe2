/* broker/kafka/api_util.c: the helpers of broker/kafka/api_util.h, shared
 * by the request handlers in broker/kafka/api_*.c. */
#include "broker/kafka/api_util.h"

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

int16_t rv__kapi_wire_err(rv_err_t err) {
    return err < 0 ? (int16_t)RV_ERR_UNKNOWN_SERVER_ERROR : (int16_t)err;
}
