/* kv_store.c - see kv_store.h. */
#define _GNU_SOURCE /* memmem */
#include "kv_store.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 4
/* malloc's own bookkeeping per allocation, as charged against the limit. */
#define ALLOC_OVERHEAD 16
/* Buckets moved per rehash step, and empty buckets looked at per moved one. */
#define REHASH_BUCKETS 1
#define REHASH_EMPTY_VISITS 10

typedef struct {
    kv_entry **b;
    size_t size, mask, used;
} table;

static table ht[2];
static long rehash_idx = -1; /* next bucket of ht[0] to move; -1: not rehashing */
static size_t n_volatile, mem_used, mem_limit;
static uint64_t sip_k0, sip_k1;
static uint64_t sweep_cursor;

/* ---- SipHash-2-4 ----------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
    do {                                                                       \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);              \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                 \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                 \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);              \
    } while (0)

static uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t siphash(const char *data, size_t len) {
    const uint8_t *in = (const uint8_t *)data;
    uint64_t v0 = sip_k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = sip_k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = sip_k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = sip_k1 ^ 0x7465646279746573ULL;
    const uint8_t *end = in + (len & ~(size_t)7);
    for (; in != end; in += 8) {
        uint64_t m = load64(in);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- memory accounting ----------------------------------------------- */

uint64_t kv_hash_bytes(const char *data, size_t len) { return siphash(data, len); }

static uint64_t last_version;

void kv_touch(kv_entry *e) { e->version = ++last_version; }

static size_t entry_bytes(size_t klen) {
    return sizeof(kv_entry) + klen + 1 + ALLOC_OVERHEAD;
}

static size_t value_bytes(size_t vcap) {
    return vcap == 0 ? 0 : vcap + ALLOC_OVERHEAD;
}

/* Moves the charge from old_bytes to new_bytes, or KV_EFULL. */
static int recharge(size_t old_bytes, size_t new_bytes) {
    if (new_bytes > old_bytes && new_bytes - old_bytes > mem_limit - mem_used)
        return KV_EFULL;
    mem_used = mem_used - old_bytes + new_bytes;
    return KV_OK;
}

size_t kv_count(void) { return ht[0].used + ht[1].used; }
size_t kv_count_volatile(void) { return n_volatile; }
size_t kv_memory_used(void) { return mem_used; }
size_t kv_entry_charge(const kv_entry *e) { return entry_bytes(e->klen) + value_bytes(e->vcap) + e->obj_bytes; }
size_t kv_memory_limit(void) { return mem_limit; }

/* ---- tables and rehashing -------------------------------------------- */

static int table_alloc(table *t, size_t size) {
    kv_entry **b = calloc(size, sizeof *b);
    if (b == NULL)
        return -1;
    t->b = b;
    t->size = size;
    t->mask = size - 1;
    t->used = 0;
    return 0;
}

/* Starts a rehash into a table of the power of two >= want (at least
 * MIN_BUCKETS). Without memory the table simply stays as it is. */
static void resize(size_t want) {
    size_t size = MIN_BUCKETS;
    while (size < want && size < ((size_t)1 << 30))
        size *= 2;
    if (rehash_idx >= 0 || size == ht[0].size)
        return;
    if (table_alloc(&ht[1], size) == 0)
        rehash_idx = 0;
}

static void move_bucket(size_t i) {
    kv_entry *e = ht[0].b[i];
    while (e != NULL) {
        kv_entry *next = e->next;
        size_t j = e->hash & ht[1].mask;
        e->next = ht[1].b[j];
        ht[1].b[j] = e;
        ht[0].used--;
        ht[1].used++;
        e = next;
    }
    ht[0].b[i] = NULL;
}

static void finish_rehash(void) {
    free(ht[0].b);
    ht[0] = ht[1];
    memset(&ht[1], 0, sizeof ht[1]);
    rehash_idx = -1;
}

static void rehash_step(void) {
    if (rehash_idx < 0)
        return;
    size_t empty_left = REHASH_BUCKETS * REHASH_EMPTY_VISITS;
    for (int n = 0; n < REHASH_BUCKETS && ht[0].used > 0; n++) {
        while (ht[0].b[rehash_idx] == NULL) {
            rehash_idx++;
            if (--empty_left == 0)
                return;
        }
        move_bucket((size_t)rehash_idx++);
    }
    if (ht[0].used == 0)
        finish_rehash();
}

static void grow_if_needed(void) {
    if (rehash_idx < 0 && ht[0].used >= ht[0].size)
        resize(ht[0].used + 1);
}

static void shrink_if_needed(void) {
    if (rehash_idx < 0 && ht[0].size > MIN_BUCKETS &&
        ht[0].used * 8 < ht[0].size)
        resize(ht[0].used);
}

void kv_init(const uint8_t seed[16], size_t memory_limit) {
    sip_k0 = load64(seed);
    sip_k1 = load64(seed + 8);
    mem_limit = memory_limit;
    kv_flush();
}

/* ---- lookups ----------------------------------------------------------- */

/* The link that points at key's entry (or at the NULL ending its chain in
 * the table where a new entry would go), and the table it is in. */
static kv_entry **find_link(const char *key, size_t klen, uint64_t h,
                            int *in_table) {
    static kv_entry *none; /* no table at all (out of memory) */
    kv_entry **link = &none;
    *in_table = 0;
    if (ht[0].b == NULL)
        return link;
    for (int t = 0; t <= (rehash_idx >= 0 ? 1 : 0); t++) {
        link = &ht[t].b[h & ht[t].mask];
        *in_table = t;
        for (; *link != NULL; link = &(*link)->next) {
            kv_entry *e = *link;
            if (e->hash == h && e->klen == klen &&
                memcmp(e->key, key, klen) == 0)
                return link;
        }
    }
    return link;
}

int kv_expired(const kv_entry *e, int64_t now_ms) {
    return e->expire_ms != KV_NO_EXPIRE && now_ms > e->expire_ms;
}

/* Frees an entry and its value, string or collection, and uncharges them. */
static void release(kv_entry *e) {
    mem_used -= entry_bytes(e->klen) + value_bytes(e->vcap) + e->obj_bytes;
    free(e->val);
    if (e->obj != NULL)
        kv_object_free(e->type, e->obj);
    free(e);
}

static void free_entry(kv_entry *e) {
    if (e->expire_ms != KV_NO_EXPIRE)
        n_volatile--;
    release(e);
}

static void unlink_entry(kv_entry **link, int t) {
    kv_entry *e = *link;
    *link = e->next;
    ht[t].used--;
    free_entry(e);
    shrink_if_needed();
}

uint64_t kv_stat_expired_keys;

kv_entry *kv_find(const char *key, size_t klen, int64_t now_ms) {
    rehash_step();
    int t;
    kv_entry **link = find_link(key, klen, siphash(key, klen), &t);
    kv_entry *e = *link;
    if (e != NULL && kv_expired(e, now_ms)) {
        unlink_entry(link, t);
        kv_stat_expired_keys++;
        return NULL;
    }
    return e;
}

static kv_entry *create(const char *key, size_t klen, uint64_t h, int *err) {
    if (recharge(0, entry_bytes(klen)) != KV_OK) {
        *err = KV_EFULL;
        return NULL;
    }
    kv_entry *e = malloc(sizeof *e + klen + 1);
    if (e == NULL) {
        mem_used -= entry_bytes(klen);
        *err = KV_ENOMEM;
        return NULL;
    }
    if (ht[0].b == NULL && table_alloc(&ht[0], MIN_BUCKETS) != 0) {
        free(e);
        mem_used -= entry_bytes(klen);
        *err = KV_ENOMEM;
        return NULL;
    }
    memset(e, 0, sizeof *e);
    kv_touch(e);
    e->hash = h;
    e->expire_ms = KV_NO_EXPIRE;
    e->klen = klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    grow_if_needed();
    table *t = &ht[rehash_idx >= 0 ? 1 : 0];
    size_t i = h & t->mask;
    e->next = t->b[i];
    t->b[i] = e;
    t->used++;
    return e;
}

kv_entry *kv_find_or_create(const char *key, size_t klen, int64_t now_ms,
                            int *created, int *err) {
    kv_entry *e = kv_find(key, klen, now_ms);
    *created = 0;
    *err = KV_OK;
    if (e != NULL)
        return e;
    e = create(key, klen, siphash(key, klen), err);
    *created = e != NULL;
    return e;
}

int kv_delete(const char *key, size_t klen, int64_t now_ms) {
    rehash_step();
    int t;
    kv_entry **link = find_link(key, klen, siphash(key, klen), &t);
    if (*link == NULL)
        return 0;
    int live = !kv_expired(*link, now_ms);
    unlink_entry(link, t);
    if (!live)
        kv_stat_expired_keys++;
    return live;
}

void kv_delete_entry(kv_entry *e) {
    for (int t = 0; t <= (rehash_idx >= 0 ? 1 : 0); t++) {
        kv_entry **link = &ht[t].b[e->hash & ht[t].mask];
        for (; *link != NULL; link = &(*link)->next) {
            if (*link == e) {
                unlink_entry(link, t);
                return;
            }
        }
    }
}

/* ---- values ---------------------------------------------------------- */

static int set_capacity(kv_entry *e, size_t cap) {
    if (recharge(value_bytes(e->vcap), value_bytes(cap)) != KV_OK)
        return KV_EFULL;
    if (cap == 0) {
        free(e->val);
        e->val = NULL;
        e->vcap = 0;
        return KV_OK;
    }
    char *v = realloc(e->val, cap);
    if (v == NULL) {
        recharge(value_bytes(cap), value_bytes(e->vcap));
        return KV_ENOMEM;
    }
    e->val = v;
    e->vcap = cap;
    return KV_OK;
}

int kv_fits(size_t klen, size_t vlen, const kv_entry *old) {
    size_t before = old != NULL ? value_bytes(old->vcap) : 0;
    size_t after = value_bytes(vlen) + (old != NULL ? 0 : entry_bytes(klen));
    return after <= before || after - before <= mem_limit - mem_used ? KV_OK
                                                                     : KV_EFULL;
}

/* A collection value goes: e holds an empty string. */
static void drop_object(kv_entry *e) {
    if (e->obj != NULL) {
        kv_object_free(e->type, e->obj);
        mem_used -= e->obj_bytes;
    }
    e->obj = NULL;
    e->obj_bytes = 0;
    e->type = KV_T_STRING;
}

void kv_set_object(kv_entry *e, int type, void *obj) {
    kv_touch(e);
    drop_object(e);
    free(e->val);
    mem_used -= value_bytes(e->vcap);
    e->val = NULL;
    e->vlen = e->vcap = 0;
    e->type = (unsigned char)type;
    e->obj = obj;
}

int kv_charge_object(kv_entry *e, size_t bytes) {
    kv_touch(e); /* every change to a collection ends with its charge */
    if (recharge(e->obj_bytes, bytes) != KV_OK)
        return KV_EFULL;
    e->obj_bytes = bytes;
    return KV_OK;
}

int kv_set_value(kv_entry *e, const char *val, size_t vlen) {
    kv_touch(e);
    if (e->type != KV_T_STRING)
        drop_object(e);
    /* Keep the buffer unless it is too small or far too big. */
    if (vlen > e->vcap || e->vcap > 2 * vlen + 64) {
        int rc = set_capacity(e, vlen);
        if (rc != KV_OK)
            return rc;
    }
    if (vlen > 0)
        memcpy(e->val, val, vlen);
    e->vlen = vlen;
    e->modified = 0;
    return KV_OK;
}

int kv_append(kv_entry *e, const char *val, size_t vlen) {
    kv_touch(e);
    size_t need = e->vlen + vlen;
    if (need > e->vcap) {
        size_t cap = need < (1u << 20) ? need * 2 : need + (1u << 20);
        int rc = set_capacity(e, cap);
        if (rc != KV_OK)
            rc = set_capacity(e, need); /* no room to spare: exact fit */
        if (rc != KV_OK)
            return rc;
    }
    memcpy(e->val + e->vlen, val, vlen);
    e->vlen = need;
    e->modified = 1;
    return KV_OK;
}

int kv_grow_value(kv_entry *e, size_t vlen) {
    kv_touch(e);
    e->modified = 1;
    if (vlen <= e->vlen)
        return KV_OK;
    if (vlen > e->vcap) {
        size_t cap = vlen < (1u << 20) ? vlen * 2 : vlen + (1u << 20);
        int rc = set_capacity(e, cap);
        if (rc != KV_OK)
            rc = set_capacity(e, vlen);
        if (rc != KV_OK)
            return rc;
    }
    memset(e->val + e->vlen, 0, vlen - e->vlen);
    e->vlen = vlen;
    return KV_OK;
}

void kv_set_expire(kv_entry *e, int64_t expire_ms) {
    kv_touch(e);
    if (e->expire_ms == KV_NO_EXPIRE && expire_ms != KV_NO_EXPIRE)
        n_volatile++;
    else if (e->expire_ms != KV_NO_EXPIRE && expire_ms == KV_NO_EXPIRE)
        n_volatile--;
    e->expire_ms = expire_ms;
}

/* Tables emptied by kv_flush(), freed a bounded number of entries at a
 * time by kv_lazy_free() (like Redis's lazyfree): freeing a million entries
 * costs more than a frame's fuel. Their bytes stay charged until freed. */
typedef struct {
    kv_entry **b;
    size_t size, next; /* buckets [next, size) are still to free */
} dead_table;
static dead_table *dead;
static size_t n_dead, dead_cap;

static int bury(const table *t) {
    if (n_dead == dead_cap) {
        size_t cap = dead_cap ? dead_cap * 2 : 4;
        dead_table *d = realloc(dead, cap * sizeof *d);
        if (d == NULL)
            return -1;
        dead = d;
        dead_cap = cap;
    }
    dead[n_dead++] = (dead_table){t->b, t->size, 0};
    return 0;
}

size_t kv_lazy_free(size_t max_work) {
    for (size_t work = 0; n_dead > 0 && work < max_work; work++) {
        dead_table *d = &dead[n_dead - 1];
        if (d->next == d->size) {
            free(d->b);
            n_dead--;
            continue;
        }
        kv_entry *e = d->b[d->next];
        if (e == NULL) {
            d->next++;
            continue;
        }
        d->b[d->next] = e->next;
        release(e);
    }
    return n_dead;
}

void kv_flush(void) {
    for (int t = 0; t < 2; t++) {
        if (ht[t].used > 0 && bury(&ht[t]) == 0) {
            memset(&ht[t], 0, sizeof ht[t]);
            continue;
        }
        /* Empty, or no memory to defer it: free it now. */
        for (size_t i = 0; i < ht[t].size; i++) {
            kv_entry *e = ht[t].b[i];
            while (e != NULL) {
                kv_entry *next = e->next;
                release(e);
                e = next;
            }
        }
        free(ht[t].b);
        memset(&ht[t], 0, sizeof ht[t]);
    }
    rehash_idx = -1;
    sweep_cursor = 0;
    n_volatile = 0;
    if (table_alloc(&ht[0], MIN_BUCKETS) != 0)
        ht[0].size = 0; /* retried by the next insert */
}

/* ---- scanning -------------------------------------------------------- */

static uint64_t rev64(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

/* Increments the cursor's bits above `mask` in reverse-binary order. */
static uint64_t next_cursor(uint64_t v, uint64_t mask) {
    v |= ~mask;
    v = rev64(v);
    v++;
    return rev64(v);
}

static void visit_bucket(const table *t, uint64_t v, kv_visit_fn fn,
                         void *arg) {
    for (kv_entry *e = t->b[v & t->mask]; e != NULL;) {
        kv_entry *next = e->next;
        fn(e, arg);
        e = next;
    }
}

uint64_t kv_scan(uint64_t v, kv_visit_fn fn, void *arg) {
    if (kv_count() == 0 || ht[0].size == 0)
        return 0;
    if (rehash_idx < 0) {
        visit_bucket(&ht[0], v, fn, arg);
        return next_cursor(v, ht[0].mask);
    }
    const table *small = &ht[0], *big = &ht[1];
    if (small->size > big->size) {
        small = &ht[1];
        big = &ht[0];
    }
    visit_bucket(small, v, fn, arg);
    /* The buckets of the bigger table that expand the small one's bucket. */
    do {
        visit_bucket(big, v, fn, arg);
        v = next_cursor(v, big->mask);
    } while (v & (small->mask ^ big->mask));
    return v;
}

void entry_list_push(entry_list *l, kv_entry *e) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        kv_entry **items = realloc(l->items, cap * sizeof *items);
        if (items == NULL) {
            l->failed = 1;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = e;
}

void entry_list_free(entry_list *l) {
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int64_t sweep_now_ms;

static void collect_expired(kv_entry *e, void *arg) {
    if (kv_expired(e, sweep_now_ms))
        entry_list_push(arg, e); /* if that fails, a later sweep finds it */
}

size_t kv_sweep(int64_t now_ms, size_t max_buckets) {
    static entry_list list;
    size_t deleted = 0;
    sweep_now_ms = now_ms;
    for (size_t i = 0; i < max_buckets && n_volatile > 0; i++) {
        list.n = 0;
        sweep_cursor = kv_scan(sweep_cursor, collect_expired, &list);
        for (size_t k = 0; k < list.n; k++)
            kv_delete_entry(list.items[k]);
        deleted += list.n;
        kv_stat_expired_keys += list.n;
        if (sweep_cursor == 0)
            break; /* a whole pass: the rest waits for the next sweep */
    }
    return deleted;
}

/* ---- glob ------------------------------------------------------------ */

static unsigned char fold(unsigned char c, int nocase) {
    return nocase && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Class "[...]" at pat[p] (p on '['): its length, and whether c is in it. */
static size_t match_class(const char *pat, size_t plen, size_t p,
                          unsigned char c, int nocase, int *hit) {
    size_t i = p + 1;
    int negate = i < plen && pat[i] == '^';
    int match = 0;
    if (negate)
        i++;
    c = fold(c, nocase);
    for (; i < plen && pat[i] != ']'; i++) {
        if (pat[i] == '\\' && i + 1 < plen) {
            i++;
            match |= fold((unsigned char)pat[i], nocase) == c;
        } else if (i + 2 < plen && pat[i + 1] == '-') {
            unsigned char lo = fold((unsigned char)pat[i], nocase);
            unsigned char hi = fold((unsigned char)pat[i + 2], nocase);
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            match |= c >= lo && c <= hi;
            i += 2;
        } else {
            match |= fold((unsigned char)pat[i], nocase) == c;
        }
    }
    *hit = negate ? !match : match;
    return (i < plen ? i + 1 : plen) - p; /* unterminated: to the end */
}

/* Pattern bytes used if pat[p..] matches the single byte c, else 0. */
static size_t match_one(const char *pat, size_t plen, size_t p,
                        unsigned char c, int nocase) {
    unsigned char pc = (unsigned char)pat[p];
    if (pc == '?')
        return 1;
    if (pc == '[') {
        int hit;
        size_t n = match_class(pat, plen, p, c, nocase, &hit);
        return hit ? n : 0;
    }
    if (pc == '\\' && p + 1 < plen) {
        pc = (unsigned char)pat[p + 1];
        return fold(pc, nocase) == fold(c, nocase) ? 2 : 0;
    }
    return fold(pc, nocase) == fold(c, nocase) ? 1 : 0;
}

/* Bytes of the pattern element at pat[p]; each element matches one byte. */
static size_t atom_len(const char *pat, size_t plen, size_t p) {
    if (pat[p] == '[') {
        int hit;
        return match_class(pat, plen, p, 0, 0, &hit);
    }
    return pat[p] == '\\' && p + 1 < plen ? 2 : 1;
}

void kv_glob_compile(kv_glob *g, const char *pat, size_t plen) {
    memset(g, 0, sizeof *g);
    g->pat = pat;
    g->plen = plen;
    size_t atoms = 0;
    for (size_t p = 0; p < plen;) {
        if (pat[p] == '*') {
            if (!g->has_star) {
                g->has_star = 1;
                g->pre_end = p;
                g->pre_atoms = atoms;
            }
            while (p < plen && pat[p] == '*')
                p++;
            g->suf_start = p;
            g->suf_atoms = 0;
            continue;
        }
        p += atom_len(pat, plen, p);
        atoms++;
        g->suf_atoms++;
    }
    g->min_len = atoms;
    if (!g->has_star) {
        g->pre_end = plen;
        g->pre_atoms = atoms;
        g->suf_start = plen;
        g->suf_atoms = 0;
    }
}

/* Matches the star-free pattern bytes [p, end) against exactly the bytes
 * s[0, n) (n is their element count). */
static int match_fixed(const char *pat, size_t p, size_t end, const char *s,
                       size_t n, int nocase, uint64_t *steps) {
    *steps += n;
    for (size_t i = 0; i < n; i++) {
        size_t used = match_one(pat, end, p, (unsigned char)s[i], nocase);
        if (used == 0)
            return 0;
        p += used;
    }
    return 1;
}

/* memmem looks at about this many bytes for the cost of one matcher step. */
#define KV_GLOB_BYTES_PER_STEP 16

int kv_glob_run(const kv_glob *g, const char *s, size_t slen, int nocase,
                uint64_t *steps, uint64_t max_steps) {
    const char *pat = g->pat;
    *steps += 1;
    if (slen < g->min_len || (!g->has_star && slen != g->min_len))
        return 0;
    /* The parts before the first and after the last '*' are anchored. */
    if (!match_fixed(pat, 0, g->pre_end, s, g->pre_atoms, nocase, steps))
        return 0;
    if (!g->has_star)
        return 1;
    if (!match_fixed(pat, g->suf_start, g->plen, s + slen - g->suf_atoms,
                     g->suf_atoms, nocase, steps))
        return 0;
    /* Between them, "*seg*seg*...*": each segment at its leftmost place
     * (greedy is exact for globs), re-tried one byte further on a mismatch.
     * Quadratic at worst, so the steps are counted and bounded. */
    size_t pend = g->suf_start;
    size_t p = g->pre_end, i = g->pre_atoms, end = slen - g->suf_atoms;
    size_t star_p = 0, star_i = 0;
    for (;;) {
        if (++*steps > max_steps)
            return -1;
        if (p < pend && pat[p] == '*') {
            while (p < pend && pat[p] == '*')
                p++;
            if (p == pend)
                return 1; /* the last '*' takes the rest */
            size_t q = p;
            while (pat[q] != '*' && pat[q] != '?' && pat[q] != '[' &&
                   pat[q] != '\\')
                q++; /* stops at the '*' that ends the middle part, at worst */
            if (!nocase && pat[q] == '*') {
                /* A literal segment: memmem (two-way, linear) finds its
                 * leftmost place, and a later mismatch never needs to
                 * move it. */
                size_t m = q - p;
                *steps += (end - i + m) / KV_GLOB_BYTES_PER_STEP;
                const char *hit = memmem(s + i, end - i, pat + p, m);
                if (hit == NULL)
                    return 0;
                i = (size_t)(hit - s) + m;
                p = q;
                continue;
            }
            star_p = p;
            star_i = i;
            continue;
        }
        if (i == end)
            return 0; /* a segment is left and no bytes */
        size_t used = match_one(pat, pend, p, (unsigned char)s[i], nocase);
        if (used > 0) {
            p += used;
            i++;
            continue;
        }
        p = star_p; /* let the last '*' take one more byte */
        i = ++star_i;
    }
}

int kv_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                  int nocase) {
    kv_glob g;
    uint64_t steps = 0;
    kv_glob_compile(&g, pat, plen);
    return kv_glob_run(&g, s, slen, nocase, &steps, UINT64_MAX) == 1;
}
