/* kv_set.c - set values (see kv_set.h). */
#include "kv_set.h"

#include <stdlib.h>
#include <string.h>

#include "kv_config.h"
#include "resp.h"

kv_set *kv_set_new(void) {
    kv_set *s = calloc(1, sizeof *s);
    if (s != NULL && (s->h = kv_hash_new()) == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void kv_set_free(kv_set *s) {
    if (s != NULL) {
        kv_hash_free(s->h);
        free(s);
    }
}

kv_set *kv_set_copy(const kv_set *s) {
    kv_set *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->h = kv_hash_copy(s->h);
    if (c->h == NULL) {
        free(c);
        return NULL;
    }
    c->hashtable = s->hashtable;
    return c;
}

size_t kv_set_bytes_used(const kv_set *s) { return sizeof *s + kv_hash_bytes_used(s->h); }

size_t kv_set_card(const kv_set *s) { return s->h->live; }

int kv_set_has(const kv_set *s, const char *m, size_t n) { return kv_hash_get(s->h, m, n) != NULL; }

int kv_set_add(kv_set *s, const char *m, size_t n) {
    if (kv_hash_get(s->h, m, n) != NULL)
        return 0;
    long long v;
    if (resp_parse_ll(m, n, &v) != 0 || (long long)s->h->live + 1 > kv_cfg_set_max_intset)
        s->hashtable = 1;
    return kv_hash_set(s->h, m, n, "", 0);
}

int kv_set_rem(kv_set *s, const char *m, size_t n) { return kv_hash_del(s->h, m, n); }

static int by_number(const void *a, const void *b) {
    const kv_hfield *x = *(kv_hfield *const *)a, *y = *(kv_hfield *const *)b;
    long long u = 0, w = 0;
    resp_parse_ll(x->field, x->flen, &u);
    resp_parse_ll(y->field, y->flen, &w);
    return u < w ? -1 : u > w;
}

kv_hfield **kv_set_members(const kv_set *s) {
    size_t n = s->h->live;
    if (n == 0)
        return NULL;
    kv_hfield **all = malloc(n * sizeof *all);
    if (all == NULL)
        return NULL;
    size_t slot = 0, i = 0;
    for (kv_hfield *f; (f = kv_hash_next(s->h, &slot)) != NULL;)
        all[i++] = f;
    if (!s->hashtable)
        qsort(all, n, sizeof *all, by_number);
    return all;
}
