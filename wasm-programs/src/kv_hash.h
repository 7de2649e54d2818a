/* kv_hash.h - the kv server's hash values: fields and values, binary safe,
 * kept in insertion order (what redis-server answers for the small hashes it
 * keeps as listpacks: HGETALL, HKEYS and HVALS list fields in the order they
 * were first set) with an open-addressing index for lookups.  A deleted field
 * leaves a hole that later compaction closes, in order.  Memory is reported by
 * kv_hash_bytes_used() for the store's accounting. */
#ifndef KV_HASH_H
#define KV_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *field;  /* NULL: a deleted slot */
    size_t flen;
    char *value;
    size_t vlen;
} kv_hfield;

typedef struct {
    kv_hfield *items; /* slots in insertion order, holes included */
    size_t n;         /* slots used, holes included */
    size_t live;      /* fields */
    size_t cap;
    uint32_t *index;  /* slot + 1 per bucket; 0 empty */
    size_t index_size;
    size_t bytes;     /* field and value bytes, for the charge */
    int big;          /* once more than 128 fields or one over 64 bytes: what redis-server
                         would keep as a hashtable (OBJECT ENCODING, HSCAN), for good */
} kv_hash;

/* Whether redis-server would still keep this hash as a listpack. */
#define kv_hash_listpack(h) (!(h)->big)

kv_hash *kv_hash_new(void);
void kv_hash_free(kv_hash *h);
/* The field, or NULL. */
kv_hfield *kv_hash_get(const kv_hash *h, const char *f, size_t flen);
/* Sets a field: 1 when it was new, 0 when replaced, -1 out of memory (nothing changed). */
int kv_hash_set(kv_hash *h, const char *f, size_t flen, const char *v, size_t vlen);
/* Deletes a field: 1 when it was there. */
int kv_hash_del(kv_hash *h, const char *f, size_t flen);
/* What the hash is charged against the store's limit (allocations estimated). */
size_t kv_hash_bytes_used(const kv_hash *h);
/* The i-th live field in order (0 <= i < live), for iteration in order use
 * kv_hash_next: starting at slot 0, returns the next live field at or after
 * *slot and advances *slot past it, or NULL at the end. */
kv_hfield *kv_hash_next(const kv_hash *h, size_t *slot);
/* A copy (COPY), or NULL out of memory. */
kv_hash *kv_hash_copy(const kv_hash *h);

#endif
