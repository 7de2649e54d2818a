/* kv_list.c - list values (see kv_list.h). */
#include "kv_list.h"

#include <stdlib.h>
#include <string.h>

#define ELEM_OVERHEAD 16 /* malloc's share per element, as kv_store estimates */

kv_list *kv_list_new(void) { return calloc(1, sizeof(kv_list)); }

void kv_list_free(kv_list *l) {
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->len; i++)
        free(l->a[l->head + i].p);
    free(l->a);
    free(l);
}

size_t kv_list_bytes_used(const kv_list *l) {
    return sizeof *l + l->cap * sizeof(kv_elem) + l->bytes + l->len * ELEM_OVERHEAD;
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

/* Room for one more element at the given end, re-centring or growing the array. */
static int room(kv_list *l, int left) {
    if (left ? l->head > 0 : l->head + l->len < l->cap)
        return 0;
    if (l->len * 2 < l->cap) {
        /* Half empty: centre the elements instead of growing. */
        size_t head = (l->cap - l->len) / 2;
        memmove(l->a + head, l->a + l->head, l->len * sizeof *l->a);
        l->head = head;
        return 0;
    }
    size_t cap = l->cap ? l->cap * 2 : 8;
    kv_elem *a = malloc(cap * sizeof *a);
    if (a == NULL)
        return -1;
    size_t head = (cap - l->len) / 2;
    if (l->len > 0)
        memcpy(a + head, l->a + l->head, l->len * sizeof *a);
    free(l->a);
    l->a = a;
    l->cap = cap;
    l->head = head;
    return 0;
}

int kv_list_push(kv_list *l, int left, const char *p, size_t n) {
    if (room(l, left) != 0)
        return -1;
    char *d = dup_bytes(p, n);
    if (d == NULL)
        return -1;
    if (left)
        l->a[--l->head] = (kv_elem){d, n};
    else
        l->a[l->head + l->len] = (kv_elem){d, n};
    l->len++;
    l->bytes += n;
    return 0;
}

int kv_list_pop(kv_list *l, int left, kv_elem *out) {
    if (l->len == 0)
        return -1;
    *out = left ? l->a[l->head++] : l->a[l->head + l->len - 1];
    l->len--;
    l->bytes -= out->n;
    if (l->len == 0)
        l->head = l->cap / 2;
    return 0;
}

kv_elem *kv_list_at(const kv_list *l, size_t i) { return &l->a[l->head + i]; }

int kv_list_insert(kv_list *l, size_t i, const char *p, size_t n) {
    int left = i < l->len / 2;
    if (room(l, left) != 0)
        return -1;
    char *d = dup_bytes(p, n);
    if (d == NULL)
        return -1;
    if (left) {
        memmove(l->a + l->head - 1, l->a + l->head, i * sizeof *l->a);
        l->head--;
    } else {
        memmove(l->a + l->head + i + 1, l->a + l->head + i, (l->len - i) * sizeof *l->a);
    }
    l->a[l->head + i] = (kv_elem){d, n};
    l->len++;
    l->bytes += n;
    return 0;
}

void kv_list_remove(kv_list *l, size_t i) {
    kv_elem *e = &l->a[l->head + i];
    l->bytes -= e->n;
    free(e->p);
    if (i < l->len / 2) {
        memmove(l->a + l->head + 1, l->a + l->head, i * sizeof *l->a);
        l->head++;
    } else {
        memmove(l->a + l->head + i, l->a + l->head + i + 1, (l->len - i - 1) * sizeof *l->a);
    }
    l->len--;
}

int kv_list_set(kv_list *l, size_t i, const char *p, size_t n) {
    char *d = dup_bytes(p, n);
    if (d == NULL)
        return -1;
    kv_elem *e = &l->a[l->head + i];
    l->bytes = l->bytes - e->n + n;
    free(e->p);
    *e = (kv_elem){d, n};
    return 0;
}

void kv_list_trim(kv_list *l, size_t start, size_t end, int keep) {
    size_t from = keep ? start : l->len, to = keep ? end + 1 : l->len;
    for (size_t i = 0; i < l->len; i++) {
        if (i < from || i >= to) {
            l->bytes -= l->a[l->head + i].n;
            free(l->a[l->head + i].p);
        }
    }
    if (!keep) {
        l->len = 0;
        l->head = l->cap / 2;
        return;
    }
    l->head += from;
    l->len = to - from;
}

kv_list *kv_list_copy(const kv_list *l) {
    kv_list *c = kv_list_new();
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < l->len; i++) {
        kv_elem *e = kv_list_at(l, i);
        if (kv_list_push(c, 0, e->p, e->n) != 0) {
            kv_list_free(c);
            return NULL;
        }
    }
    return c;
}
