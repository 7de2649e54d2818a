/* kv_store.h - the kv server's one keyspace: binary-safe string keys and
 * values with optional expiry times, in a chained hash table that grows and
 * shrinks by incremental rehash (Redis's dict design: two tables while
 * rehashing, a few buckets moved per operation, so no single command pays
 * for a whole resize).
 *
 * Keys are hashed with SipHash-2-4 under a 128-bit key given at start (the
 * kv server draws it from getentropy, which Replicode derives from the app's
 * genesis seed: every replica has the same table layout, and clients cannot
 * precompute collisions).
 *
 * Times are milliseconds of the guest clock (CLOCK_REALTIME, which Replicode
 * sets to the frame's time); a key expires when now > expire_ms, as in
 * Redis.  Lookups with kv_find() delete
 * an expired key and report it missing (lazy expiry); kv_sweep() removes
 * expired keys in the background (active expiry).
 *
 * Memory: every entry is charged (its allocation plus a malloc overhead
 * estimate) against a limit; a write that would pass it gets KV_EFULL, a
 * failing malloc KV_ENOMEM.  Nothing aborts.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#define KV_NO_EXPIRE INT64_MIN

enum { KV_OK = 0, KV_ENOMEM = -1, KV_EFULL = -2 };

/* The type of a key's value: a string (val, vlen) or an object (obj) of a
 * collection type, whose module frees it through kv_object_free(). */
enum { KV_T_STRING = 0, KV_T_HASH = 1, KV_T_LIST = 2, KV_T_SET = 3, KV_T_ZSET = 4 };

typedef struct kv_entry {
    struct kv_entry *next; /* bucket chain */
    uint64_t hash;
    int64_t expire_ms;     /* KV_NO_EXPIRE or the absolute expiry time */
    unsigned char modified; /* 1: changed in place (APPEND, SETRANGE, SETBIT): OBJECT ENCODING says raw;
                               2: made from a float (INCRBYFLOAT): never int; as Redis */
    unsigned char type;    /* KV_T_STRING or a collection type */
    void *obj;             /* the collection, for any other type */
    size_t obj_bytes;      /* what the collection is charged */
    uint64_t version;      /* a fresh stamp at every change: WATCH compares it */
    size_t vlen, vcap;
    char *val;             /* vcap bytes (NULL when vcap == 0) */
    size_t klen;
    char key[];            /* klen bytes, then a NUL */
} kv_entry;

/* seed: 16 bytes of hash key. memory_limit: bytes all entries may use. */
void kv_init(const uint8_t seed[16], size_t memory_limit);

/* Stamps e as changed (WATCH sees it); the store's own writes do it. */
void kv_touch(kv_entry *e);

/* SipHash-2-4 of data under the store's key: for the collections' own tables. */
uint64_t kv_hash_bytes(const char *data, size_t len);

/* The live entry for key, or NULL (an expired one is deleted first). */
kv_entry *kv_find(const char *key, size_t klen, int64_t now_ms);
/* Like kv_find, but creates an empty value (no expiry) when missing.
 * *created tells which; NULL with *err = KV_ENOMEM / KV_EFULL on failure. */
kv_entry *kv_find_or_create(const char *key, size_t klen, int64_t now_ms,
                            int *created, int *err);
/* Replaces the value (keeps the expiry time). KV_OK, KV_ENOMEM or KV_EFULL;
 * on failure the old value is kept. */
int kv_set_value(kv_entry *e, const char *val, size_t vlen);
/* KV_OK if a value of vlen bytes fits under the memory limit as the value of
 * `old` (or of a new key of klen bytes when old is NULL), else KV_EFULL. */
int kv_fits(size_t klen, size_t vlen, const kv_entry *old);
/* Appends to the value (capacity grows geometrically). */
int kv_append(kv_entry *e, const char *val, size_t vlen);
/* Grows the value to vlen bytes, the new ones zero (SETRANGE, SETBIT); a
 * shorter vlen changes nothing. KV_OK, KV_ENOMEM or KV_EFULL. */
int kv_grow_value(kv_entry *e, size_t vlen);
/* Makes e's value the collection obj of the given type (the string value,
 * or an earlier collection, is released). */
void kv_set_object(kv_entry *e, int type, void *obj);
/* Charges e's collection `bytes` in all, instead of what it was charged:
 * KV_OK, or KV_EFULL (nothing changed) when that passes the limit. */
int kv_charge_object(kv_entry *e, size_t bytes);
/* Frees a collection of the given type (kv_types.c). */
void kv_object_free(int type, void *obj);
/* Sets or clears (KV_NO_EXPIRE) the expiry time. */
void kv_set_expire(kv_entry *e, int64_t expire_ms);
/* Deletes the entry (e must be live in the table). */
void kv_delete_entry(kv_entry *e);
/* Deletes key if present and live; returns 1 if it was. */
int kv_delete(const char *key, size_t klen, int64_t now_ms);
/* Removes every key at once; their memory is freed later, in steps of
 * kv_lazy_free() (and stays charged against the limit until then). */
void kv_flush(void);
/* Frees up to max_work entries or buckets of flushed tables; returns
 * nonzero while some are left. */
size_t kv_lazy_free(size_t max_work);

/* Keys in the table (expired ones not yet removed included, as Redis's
 * DBSIZE), keys with an expiry time, and bytes charged. */
size_t kv_count(void);
size_t kv_count_volatile(void);
size_t kv_memory_used(void);
/* What e is charged against the memory limit: its entry, key, value and collection (MEMORY USAGE). */
size_t kv_entry_charge(const kv_entry *e);
size_t kv_memory_limit(void);

/* One step of a full scan (Redis's reverse-binary cursor): calls fn on every
 * entry of the bucket(s) at cursor and returns the next cursor, 0 when the
 * scan is complete. Every key present for the whole scan is seen at least
 * once, even while the table grows, shrinks or rehashes. fn must not change
 * the table. */
typedef void (*kv_visit_fn)(kv_entry *e, void *arg);
uint64_t kv_scan(uint64_t cursor, kv_visit_fn fn, void *arg);

/* A list of entries collected by a scan (KEYS, SCAN, the HTTP listing).
 * The table must not change while it is used. */
typedef struct {
    kv_entry **items;
    size_t n, cap;
    int failed; /* out of memory while collecting: the list is incomplete */
} entry_list;
void entry_list_push(entry_list *l, kv_entry *e);
void entry_list_free(entry_list *l);

/* Active expiry: examines up to max_buckets buckets from a cursor kept
 * across calls, deleting expired keys. Returns how many it deleted. */
size_t kv_sweep(int64_t now_ms, size_t max_buckets);

/* 1 if e has expired at now_ms. */
int kv_expired(const kv_entry *e, int64_t now_ms);

/* Glob match (Redis KEYS/SCAN MATCH syntax: * ? [abc] [^a-z] \x), binary
 * safe, never recursive.  A pattern is compiled once per command (O(its
 * length)); a match then checks the parts before the first and after the
 * last '*' in place, and finds the segments between at their leftmost
 * place, which is quadratic at worst (key bytes x segment bytes), so it
 * counts its steps. */
typedef struct {
    const char *pat;
    size_t plen;
    int has_star;
    size_t pre_end, pre_atoms; /* pat[0, pre_end): before the first '*' */
    size_t suf_start, suf_atoms; /* pat[suf_start, plen): after the last */
    size_t min_len;            /* bytes a matching key has at least */
} kv_glob;
void kv_glob_compile(kv_glob *g, const char *pat, size_t plen);
/* 1 match, 0 no match, -1 when *steps would pass max_steps (undecided).
 * Adds the steps taken to *steps. nocase: ASCII case-insensitive. */
int kv_glob_run(const kv_glob *g, const char *s, size_t slen, int nocase,
                uint64_t *steps, uint64_t max_steps);
/* Compile and run without a step bound: for short, trusted strings. */
int kv_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                  int nocase);

#endif
