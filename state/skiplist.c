/* state/skiplist.c: the ordered byte-key map of state/skiplist.h.
 *
 * A classic skip list (Pugh): each node gets a random level with p = 1/4,
 * drawn from a xorshift generator seeded per list, so the expected search
 * length is O(log n) without any rebalancing. The head is a sentinel with
 * every level. */
#include <stdlib.h>
#include <string.h>

#include "state/skiplist.h"
#include "state/store_internal.h"

static rv__skl_node_t *node_new(int level, const void *key, size_t key_len) {
    size_t links = sizeof(rv__skl_node_t *) * (size_t)level;
    rv__skl_node_t *n = malloc(sizeof(*n) + links + key_len + 1);
    if (!n)
        return NULL;
    n->val = NULL;
    n->level = level;
    n->key_len = key_len;
    n->key = (uint8_t *)n + sizeof(*n) + links;
    if (key_len)
        memcpy(n->key, key, key_len);
    n->key[key_len] = 0;
    for (int i = 0; i < level; i++)
        n->next[i] = NULL;
    return n;
}

rv_err_t rv__skl_init(rv__skl_t *l) {
    l->head = node_new(RV__SKL_MAX_LEVEL, NULL, 0);
    if (!l->head)
        return RV_ERR__NOMEM;
    l->level = 1;
    l->count = 0;
    l->rng = ((uint64_t)(uintptr_t)l * 0x9E3779B97F4A7C15ull) | 1;
    return RV_ERR_NO_ERROR;
}

void rv__skl_free(rv__skl_t *l) {
    if (!l->head)
        return;
    rv__skl_node_t *n = l->head->next[0];
    while (n) {
        rv__skl_node_t *next = n->next[0];
        free(n);
        n = next;
    }
    free(l->head);
    l->head = NULL;
    l->count = 0;
}

static int random_level(rv__skl_t *l) {
    uint64_t x = l->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    l->rng = x;
    int level = 1;
    while (level < RV__SKL_MAX_LEVEL && (x & 3) == 0) {
        level++;
        x >>= 2;
    }
    return level;
}

/* Fills update[i] with the last node at level i whose key is < key and
 * returns the node after update[0] (the first >= key). */
static rv__skl_node_t *find_ge(const rv__skl_t *l, const void *key, size_t key_len,
                               rv__skl_node_t **update) {
    rv__skl_node_t *x = l->head;
    for (int i = l->level - 1; i >= 0; i--) {
        while (x->next[i] && rv__key_cmp(x->next[i]->key, x->next[i]->key_len, key, key_len) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

rv__skl_node_t *rv__skl_find(const rv__skl_t *l, const void *key, size_t key_len) {
    rv__skl_node_t *n = find_ge(l, key, key_len, NULL);
    return n && rv__key_cmp(n->key, n->key_len, key, key_len) == 0 ? n : NULL;
}

rv__skl_node_t *rv__skl_seek(const rv__skl_t *l, const void *key, size_t key_len) {
    if (!key)
        return l->head->next[0];
    return find_ge(l, key, key_len, NULL);
}

rv_err_t rv__skl_upsert(rv__skl_t *l, const void *key, size_t key_len, rv__skl_node_t **out,
                        int *created) {
    rv__skl_node_t *update[RV__SKL_MAX_LEVEL];
    rv__skl_node_t *n = find_ge(l, key, key_len, update);
    if (n && rv__key_cmp(n->key, n->key_len, key, key_len) == 0) {
        *out = n;
        *created = 0;
        return RV_ERR_NO_ERROR;
    }
    int level = random_level(l);
    n = node_new(level, key, key_len);
    if (!n)
        return RV_ERR__NOMEM;
    for (int i = l->level; i < level; i++)
        update[i] = l->head;
    if (level > l->level)
        l->level = level;
    for (int i = 0; i < level; i++) {
        n->next[i] = update[i]->next[i];
        update[i]->next[i] = n;
    }
    l->count++;
    *out = n;
    *created = 1;
    return RV_ERR_NO_ERROR;
}

void *rv__skl_remove(rv__skl_t *l, const void *key, size_t key_len) {
    rv__skl_node_t *update[RV__SKL_MAX_LEVEL];
    rv__skl_node_t *n = find_ge(l, key, key_len, update);
    if (!n || rv__key_cmp(n->key, n->key_len, key, key_len) != 0)
        return NULL;
    for (int i = 0; i < n->level; i++)
        if (update[i]->next[i] == n)
            update[i]->next[i] = n->next[i];
    while (l->level > 1 && !l->head->next[l->level - 1])
        l->level--;
    void *val = n->val;
    free(n);
    l->count--;
    return val;
}
