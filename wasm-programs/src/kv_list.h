/* kv_list.h - the kv server's list values: a deque of binary-safe elements in
 * one array with room at both ends, so pushes and pops at either end are O(1)
 * amortized and an index is O(1). */
#ifndef KV_LIST_H
#define KV_LIST_H

#include <stddef.h>

typedef struct {
    char *p;
    size_t n;
} kv_elem;

typedef struct {
    kv_elem *a;     /* slots [head, head + len) are the list */
    size_t head, len, cap;
    size_t bytes;   /* element bytes, for the charge */
} kv_list;

kv_list *kv_list_new(void);
void kv_list_free(kv_list *l);
kv_list *kv_list_copy(const kv_list *l);
size_t kv_list_bytes_used(const kv_list *l);
/* Pushes a copy at the head (left) or tail; 0, or -1 out of memory. */
int kv_list_push(kv_list *l, int left, const char *p, size_t n);
/* Pops from the head or tail into *out (the caller frees out->p); 0, or -1 when empty. */
int kv_list_pop(kv_list *l, int left, kv_elem *out);
/* The element at index i (0 <= i < len). */
kv_elem *kv_list_at(const kv_list *l, size_t i);
/* Inserts a copy before index i (0..len); 0, or -1 out of memory. */
int kv_list_insert(kv_list *l, size_t i, const char *p, size_t n);
/* Removes the element at index i. */
void kv_list_remove(kv_list *l, size_t i);
/* Replaces element i with a copy; 0, or -1 out of memory. */
int kv_list_set(kv_list *l, size_t i, const char *p, size_t n);
/* Keeps only [start, end] (valid indexes, start <= end), or empties the list when keep is 0. */
void kv_list_trim(kv_list *l, size_t start, size_t end, int keep);

#endif
