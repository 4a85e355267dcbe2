/* state/skiplist.h: an ordered map from byte-string keys to a pointer,
 * kept in a skip list, for the in-memory store and the record cache.
 *
 * Keys are copied into the nodes and ordered by rv__key_cmp() (byte-wise).
 * Lookups, inserts and removals take O(log n) expected time; walking the
 * level-0 links gives the keys in order. Not thread-safe. */
#ifndef RV_STATE_SKIPLIST_H
#define RV_STATE_SKIPLIST_H

#include <stddef.h>
#include <stdint.h>

#include "rivulet/error.h"

#define RV__SKL_MAX_LEVEL 24

typedef struct rv__skl_node_s {
    void *val; /* the user's; the list never frees it */
    size_t key_len;
    uint8_t *key; /* points into the node's own allocation */
    int level;
    struct rv__skl_node_s *next[]; /* `level` links */
} rv__skl_node_t;

typedef struct rv__skl_s {
    rv__skl_node_t *head; /* sentinel with RV__SKL_MAX_LEVEL links */
    int level;
    size_t count;
    uint64_t rng;
} rv__skl_t;

rv_err_t rv__skl_init(rv__skl_t *l);
/** Frees the nodes (not their val; free those first by walking the list). */
void rv__skl_free(rv__skl_t *l);
/** The node of exactly `key`, or NULL. Borrowed. */
rv__skl_node_t *rv__skl_find(const rv__skl_t *l, const void *key, size_t key_len);
/** The first node with a key >= key (NULL key: the first node), or NULL. */
rv__skl_node_t *rv__skl_seek(const rv__skl_t *l, const void *key, size_t key_len);
/** The node of `key`, created (val NULL) when missing; *created says which.
 *  Borrowed: valid until the key is removed. */
rv_err_t rv__skl_upsert(rv__skl_t *l, const void *key, size_t key_len, rv__skl_node_t **out,
                        int *created);
/** Removes `key`; returns its val (NULL when absent, or when val was NULL). */
void *rv__skl_remove(rv__skl_t *l, const void *key, size_t key_len);
/** The first node, or NULL. */
static inline rv__skl_node_t *rv__skl_first(const rv__skl_t *l) {
    return l->head->next[0];
}

#endif
