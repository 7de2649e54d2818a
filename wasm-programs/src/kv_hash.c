/* kv_hash.c - hash values (see kv_hash.h). */
#include "kv_hash.h"

#include <stdlib.h>
#include <string.h>

#include "kv_config.h"
#include "kv_store.h"

#define SLOT_OVERHEAD 16 /* malloc's share per field and value, as kv_store estimates */

kv_hash *kv_hash_new(void) { return calloc(1, sizeof(kv_hash)); }

void kv_hash_free(kv_hash *h) {
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->items[i].field);
        free(h->items[i].value);
    }
    free(h->items);
    free(h->index);
    free(h);
}

size_t kv_hash_bytes_used(const kv_hash *h) {
    return sizeof *h + h->cap * sizeof(kv_hfield) + h->index_size * sizeof(uint32_t) + h->bytes
           + h->live * 2 * SLOT_OVERHEAD;
}

static size_t bucket_of(const kv_hash *h, const char *f, size_t flen) {
    return (size_t)kv_hash_bytes(f, flen) & (h->index_size - 1);
}

#define DELETED UINT32_MAX /* an index bucket whose field was deleted: probing goes on past it */

/* The index bucket holding field f, or the empty bucket where it would go. */
static size_t find_bucket(const kv_hash *h, const char *f, size_t flen) {
    size_t b = bucket_of(h, f, flen);
    while (h->index[b] != 0) {
        if (h->index[b] != DELETED) {
            const kv_hfield *it = &h->items[h->index[b] - 1];
            if (it->flen == flen && memcmp(it->field, f, flen) == 0)
                return b;
        }
        b = (b + 1) & (h->index_size - 1);
    }
    return b;
}

/* Rebuilds the index for `size` buckets, closing the holes in the slots (in order). */
static int reindex(kv_hash *h, size_t size) {
    uint32_t *index = calloc(size, sizeof *index);
    if (index == NULL)
        return -1;
    size_t w = 0;
    for (size_t r = 0; r < h->n; r++) {
        if (h->items[r].field != NULL)
            h->items[w++] = h->items[r];
    }
    h->n = w;
    free(h->index);
    h->index = index;
    h->index_size = size;
    for (size_t i = 0; i < h->n; i++) {
        size_t b = bucket_of(h, h->items[i].field, h->items[i].flen);
        while (h->index[b] != 0)
            b = (b + 1) & (size - 1);
        h->index[b] = (uint32_t)(i + 1);
    }
    return 0;
}

kv_hfield *kv_hash_get(const kv_hash *h, const char *f, size_t flen) {
    if (h->index_size == 0)
        return NULL;
    size_t b = find_bucket(h, f, flen);
    return h->index[b] == 0 ? NULL : &h->items[h->index[b] - 1];
}

static char *dup_bytes(const char *p, size_t n) {
    char *d = malloc(n + 1);
    if (d != NULL) {
        if (n > 0)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

int kv_hash_set(kv_hash *h, const char *f, size_t flen, const char *v, size_t vlen) {
    kv_hfield *it = kv_hash_get(h, f, flen);
    if (it != NULL) {
        char *nv = dup_bytes(v, vlen);
        if (nv == NULL)
            return -1;
        h->bytes = h->bytes - it->vlen + vlen;
        if ((long long)vlen > kv_cfg_hash_max_value)
            h->big = 1;
        free(it->value);
        it->value = nv;
        it->vlen = vlen;
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4;
        kv_hfield *items = realloc(h->items, cap * sizeof *items);
        if (items == NULL)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    /* Every slot since the last rebuild holds an index bucket (live or deleted):
     * keep them at most half the index, rebuilding (and closing holes) when needed. */
    if ((h->n + 1) * 2 > h->index_size) {
        size_t size = h->index_size ? h->index_size : 8;
        while ((h->live + 1) * 2 > size)
            size *= 2;
        if (reindex(h, size) != 0)
            return -1;
    }
    char *nf = dup_bytes(f, flen), *nv = dup_bytes(v, vlen);
    if (nf == NULL || nv == NULL) {
        free(nf);
        free(nv);
        return -1;
    }
    size_t b = find_bucket(h, f, flen);
    if ((long long)h->live + 1 > kv_cfg_hash_max_entries || (long long)flen > kv_cfg_hash_max_value
        || (long long)vlen > kv_cfg_hash_max_value)
        h->big = 1;
    h->items[h->n] = (kv_hfield){nf, flen, nv, vlen};
    h->index[b] = (uint32_t)(h->n + 1);
    h->n++;
    h->live++;
    h->bytes += flen + vlen;
    return 1;
}

int kv_hash_del(kv_hash *h, const char *f, size_t flen) {
    if (h->index_size == 0)
        return 0;
    size_t b = find_bucket(h, f, flen);
    if (h->index[b] == 0)
        return 0;
    kv_hfield *it = &h->items[h->index[b] - 1];
    h->bytes -= it->flen + it->vlen;
    free(it->field);
    free(it->value);
    it->field = it->value = NULL;
    h->index[b] = DELETED;
    h->live--;
    if (h->index_size > 8 && h->live * 8 < h->index_size) {
        size_t size = h->index_size;
        while (size > 8 && h->live * 8 < size)
            size /= 2;
        reindex(h, size); /* no memory: the bigger index stays, still correct */
    }
    return 1;
}

kv_hfield *kv_hash_next(const kv_hash *h, size_t *slot) {
    while (*slot < h->n) {
        kv_hfield *it = &h->items[(*slot)++];
        if (it->field != NULL)
            return it;
    }
    return NULL;
}

kv_hash *kv_hash_copy(const kv_hash *h) {
    kv_hash *c = kv_hash_new();
    if (c == NULL)
        return NULL;
    c->big = h->big;
    size_t slot = 0;
    for (kv_hfield *it; (it = kv_hash_next(h, &slot)) != NULL;) {
        if (kv_hash_set(c, it->field, it->flen, it->value, it->vlen) < 0) {
            kv_hash_free(c);
            return NULL;
        }
    }
    return c;
}
