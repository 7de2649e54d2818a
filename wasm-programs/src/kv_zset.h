/* kv_zset.h - the kv server's sorted sets: members with double scores, kept
 * in one array ordered by (score, member bytes), with a kv_hash from member
 * to score for lookups.  Inserts and removals move the array's tail (O(n)),
 * ranks and score ranges are binary searches. */
#ifndef KV_ZSET_H
#define KV_ZSET_H

#include <stddef.h>

#include "kv_hash.h"

typedef struct {
    double score;
    char *m;
    size_t n;
} kv_zitem;

typedef struct {
    kv_zitem *a;
    size_t len, cap;
    kv_hash *index; /* member -> score (8 bytes) */
    size_t bytes;
    int skiplist;   /* redis-server would no longer keep it as a listpack (sticky) */
} kv_zset;

kv_zset *kv_zset_new(void);
void kv_zset_free(kv_zset *z);
kv_zset *kv_zset_copy(const kv_zset *z);
size_t kv_zset_bytes_used(const kv_zset *z);
/* 1 and *score when the member is there. */
int kv_zset_score(const kv_zset *z, const char *m, size_t n, double *score);
/* Sets a member's score: 1 added, 0 updated, -1 out of memory. */
int kv_zset_set(kv_zset *z, const char *m, size_t n, double score);
/* 1 removed, 0 not there. */
int kv_zset_remove(kv_zset *z, const char *m, size_t n);
/* The position of a member (0-based, ascending), -1 when missing. */
long long kv_zset_rank(const kv_zset *z, const char *m, size_t n);
/* First position whose score is >= (or > when excl) min. */
size_t kv_zset_score_lower(const kv_zset *z, double min, int excl);
/* First position whose member is >= (or > when excl) m (lexicographic ranges). */
size_t kv_zset_lex_lower(const kv_zset *z, const char *m, size_t n, int excl);
/* qsort's order for kv_zitems: the sorted set's own, by score then member bytes. */
int kv_zitem_cmp(const void *a, const void *b);
/* Removes positions [from, to). */
void kv_zset_remove_range(kv_zset *z, size_t from, size_t to);

#endif
