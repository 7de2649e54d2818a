/* kv_set.h - the kv server's set values: members in a kv_hash (empty
 * values), and whether redis-server would still keep the set as an intset
 * (every member a canonical 64-bit integer, at most set-max-intset-entries of them): such a set
 * lists its members in ascending numeric order, as an intset does; any other
 * set in the order members were added.  Once not an intset, never again. */
#ifndef KV_SET_H
#define KV_SET_H

#include <stddef.h>

#include "kv_hash.h"

typedef struct {
    kv_hash *h;
    int hashtable; /* no longer an intset */
} kv_set;

kv_set *kv_set_new(void);
void kv_set_free(kv_set *s);
kv_set *kv_set_copy(const kv_set *s);
size_t kv_set_bytes_used(const kv_set *s);
size_t kv_set_card(const kv_set *s);
int kv_set_has(const kv_set *s, const char *m, size_t n);
/* 1 added, 0 already there, -1 out of memory. */
int kv_set_add(kv_set *s, const char *m, size_t n);
/* 1 removed, 0 not there. */
int kv_set_rem(kv_set *s, const char *m, size_t n);
/* The members in listing order (ascending numbers for an intset); a malloc'd
 * array of card pointers into the set (free it, not them), NULL out of memory
 * or when empty. */
kv_hfield **kv_set_members(const kv_set *s);

#endif
