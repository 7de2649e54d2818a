/* kv_zset.c - sorted sets (see kv_zset.h). */
#include "kv_zset.h"

#include "kv_config.h"

#include <stdlib.h>
#include <string.h>

#define ITEM_OVERHEAD 16

kv_zset *kv_zset_new(void) {
    kv_zset *z = calloc(1, sizeof *z);
    if (z != NULL && (z->index = kv_hash_new()) == NULL) {
        free(z);
        return NULL;
    }
    return z;
}

void kv_zset_free(kv_zset *z) {
    if (z == NULL)
        return;
    for (size_t i = 0; i < z->len; i++)
        free(z->a[i].m);
    free(z->a);
    kv_hash_free(z->index);
    free(z);
}

size_t kv_zset_bytes_used(const kv_zset *z) {
    return sizeof *z + z->cap * sizeof(kv_zitem) + z->bytes + z->len * ITEM_OVERHEAD + kv_hash_bytes_used(z->index);
}

static int member_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c != 0 ? c : (an > bn) - (an < bn);
}

/* Order of (score, member) pairs. */
static int item_cmp(double s, const char *m, size_t n, const kv_zitem *it) {
    if (s < it->score)
        return -1;
    if (s > it->score)
        return 1;
    return member_cmp(m, n, it->m, it->n);
}

int kv_zitem_cmp(const void *a, const void *b) {
    const kv_zitem *x = a;
    return item_cmp(x->score, x->m, x->n, b);
}

/* First position not below (s, m). */
static size_t lower(const kv_zset *z, double s, const char *m, size_t n) {
    size_t lo = 0, hi = z->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (item_cmp(s, m, n, &z->a[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int kv_zset_score(const kv_zset *z, const char *m, size_t n, double *score) {
    kv_hfield *f = kv_hash_get(z->index, m, n);
    if (f == NULL)
        return 0;
    memcpy(score, f->value, sizeof *score);
    return 1;
}

long long kv_zset_rank(const kv_zset *z, const char *m, size_t n) {
    double s;
    if (!kv_zset_score(z, m, n, &s))
        return -1;
    return (long long)lower(z, s, m, n);
}

static void remove_at(kv_zset *z, size_t i) {
    z->bytes -= z->a[i].n;
    free(z->a[i].m);
    memmove(z->a + i, z->a + i + 1, (z->len - i - 1) * sizeof *z->a);
    z->len--;
}

int kv_zset_remove(kv_zset *z, const char *m, size_t n) {
    double s;
    if (!kv_zset_score(z, m, n, &s))
        return 0;
    remove_at(z, lower(z, s, m, n));
    kv_hash_del(z->index, m, n);
    return 1;
}

int kv_zset_set(kv_zset *z, const char *m, size_t n, double score) {
    double old;
    int existed = kv_zset_score(z, m, n, &old);
    if (existed && old == score)
        return 0;
    if (!existed && ((long long)z->len + 1 > kv_cfg_zset_max_entries || (long long)n > kv_cfg_zset_max_value))
        z->skiplist = 1; /* converted before the member goes in, as redis-server converts */
    if (!z->skiplist && score == 0)
        score = 0.0; /* a listpack holds -0 as the integer 0 (zzlInsertAt), a skiplist keeps the sign */
    if (!existed && z->len == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 8;
        kv_zitem *a = realloc(z->a, cap * sizeof *a);
        if (a == NULL)
            return -1;
        z->a = a;
        z->cap = cap;
    }
    char sbuf[sizeof score];
    memcpy(sbuf, &score, sizeof score);
    if (kv_hash_set(z->index, m, n, sbuf, sizeof sbuf) < 0)
        return -1;
    char *copy;
    if (existed) {
        size_t at = lower(z, old, m, n);
        copy = z->a[at].m;
        memmove(z->a + at, z->a + at + 1, (z->len - at - 1) * sizeof *z->a);
        z->len--;
    } else {
        copy = malloc(n + 1);
        if (copy == NULL) {
            kv_hash_del(z->index, m, n);
            return -1;
        }
        memcpy(copy, m, n);
        copy[n] = '\0';
        z->bytes += n;
    }
    size_t at = lower(z, score, m, n);
    memmove(z->a + at + 1, z->a + at, (z->len - at) * sizeof *z->a);
    z->a[at] = (kv_zitem){score, copy, n};
    z->len++;
    return existed ? 0 : 1;
}

size_t kv_zset_score_lower(const kv_zset *z, double min, int excl) {
    size_t lo = 0, hi = z->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->a[mid].score < min || (excl && z->a[mid].score == min))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t kv_zset_lex_lower(const kv_zset *z, const char *m, size_t n, int excl) {
    size_t lo = 0, hi = z->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = member_cmp(z->a[mid].m, z->a[mid].n, m, n);
        if (c < 0 || (excl && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void kv_zset_remove_range(kv_zset *z, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        kv_hash_del(z->index, z->a[i].m, z->a[i].n);
        z->bytes -= z->a[i].n;
        free(z->a[i].m);
    }
    memmove(z->a + from, z->a + to, (z->len - to) * sizeof *z->a);
    z->len -= to - from;
}

kv_zset *kv_zset_copy(const kv_zset *z) {
    kv_zset *c = kv_zset_new();
    if (c == NULL)
        return NULL;
    c->skiplist = z->skiplist; /* first: a skiplist's -0 scores stay -0 */
    for (size_t i = 0; i < z->len; i++) {
        if (kv_zset_set(c, z->a[i].m, z->a[i].n, z->a[i].score) < 0) {
            kv_zset_free(c);
            return NULL;
        }
    }
    c->skiplist = z->skiplist;
    return c;
}
