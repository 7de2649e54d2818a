/* kv_dump - the kv store written to /data when the server is told to stop
 * (an upgrade in Replicode: the listeners hang up) and read back when it
 * starts, so a new version of the module starts with the old one's keys.
 *
 * File KV_DUMP_FILE, little-endian:
 *   magic "RPLCKVDM" (8 bytes) | version u32 (2; 1 is still read) | count u64
 *   count entries: type u8 (version 2: 0 string, 1 hash, 2 list, 3 set, 4 zset) | klen u32 |
 *                  vlen u32 (a hash: its field count; a list: its length; a set, a zset: its members) |
 *                  expire_ms i64 (KV_NO_EXPIRE, or the absolute expiry time in
 *                  ms of guest time) | key | value (a hash: per field, in order,
 *                  flen u32 | vlen u32 | field | value; a list: per element,
 *                  head first, len u32 | bytes; a set: per member, in the
 *                  order added, len u32 | bytes | whether it is an intset u8 after the last;
 *                  a zset: per member, in order, len u32 | bytes | score f64)
 *   crc u32: CRC-32 (IEEE) of every byte before it
 *
 * It is written to a temporary name and renamed, so a crash leaves the old
 * file or the new one. At start the whole file is checked (magic, version,
 * lengths against the store's limits, CRC) before a key is loaded; a damaged
 * dump is said on stderr, renamed to KV_DUMP_FILE ".bad", and the server
 * starts empty rather than with half a keyspace. A dump loaded is removed:
 * from then on the keys live in memory, as before. */
#include "kv.h"
#include "kv_store.h"
#include "kv_hash.h"
#include "kv_list.h"
#include "kv_set.h"
#include "kv_zset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_DUMP_FILE "/data/kv.dump"
#define KV_DUMP_TMP "/data/kv.dump.tmp"
#define KV_DUMP_VERSION 2u
static const char magic[8] = {'R', 'P', 'L', 'C', 'K', 'V', 'D', 'M'};

/* CRC-32 (IEEE 802.3, reflected), one table. */
static uint32_t crc_table[256];

static uint32_t crc32_update(uint32_t crc, const void *data, size_t len) {
    if (crc_table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            crc_table[i] = c;
        }
    }
    const uint8_t *p = data;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

typedef struct {
    FILE *f;
    uint32_t crc;
    int failed;
} dump_writer;

static void put(dump_writer *w, const void *p, size_t n) {
    if (w->failed || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->failed = errno ? errno : EIO;
    w->crc = crc32_update(w->crc, p, n);
}

static void put_u32(dump_writer *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put_u64(dump_writer *w, uint64_t v) {
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

typedef struct {
    dump_writer *w;
    uint64_t count;
    int write; /* 0: count the live keys, 1: write them */
} dump_pass;

static void visit(kv_entry *e, void *arg) {
    dump_pass *p = arg;
    if (kv_expired(e, kv_now_ms))
        return;
    p->count++;
    if (!p->write)
        return;
    uint8_t type = e->type;
    put(p->w, &type, 1);
    put_u32(p->w, (uint32_t)e->klen);
    put_u32(p->w, (uint32_t)(e->type == KV_T_HASH ? ((kv_hash *)e->obj)->live
                             : e->type == KV_T_LIST ? ((kv_list *)e->obj)->len
                             : e->type == KV_T_SET ? kv_set_card(e->obj)
                             : e->type == KV_T_ZSET ? ((kv_zset *)e->obj)->len : e->vlen));
    put_u64(p->w, (uint64_t)e->expire_ms);
    put(p->w, e->key, e->klen);
    if (e->type == KV_T_HASH) {
        size_t slot = 0;
        for (kv_hfield *f; (f = kv_hash_next(e->obj, &slot)) != NULL;) {
            put_u32(p->w, (uint32_t)f->flen);
            put_u32(p->w, (uint32_t)f->vlen);
            put(p->w, f->field, f->flen);
            put(p->w, f->value, f->vlen);
        }
    } else if (e->type == KV_T_ZSET) {
        kv_zset *z = e->obj;
        for (size_t i = 0; i < z->len; i++) {
            put_u32(p->w, (uint32_t)z->a[i].n);
            put(p->w, z->a[i].m, z->a[i].n);
            uint64_t bits;
            memcpy(&bits, &z->a[i].score, sizeof bits);
            put_u64(p->w, bits);
        }
    } else if (e->type == KV_T_SET) {
        kv_set *set = e->obj;
        size_t slot = 0;
        for (kv_hfield *f; (f = kv_hash_next(set->h, &slot)) != NULL;) {
            put_u32(p->w, (uint32_t)f->flen);
            put(p->w, f->field, f->flen);
        }
        uint8_t hashtable = (uint8_t)set->hashtable;
        put(p->w, &hashtable, 1);
    } else if (e->type == KV_T_LIST) {
        kv_list *l = e->obj;
        for (size_t i = 0; i < l->len; i++) {
            kv_elem *el = kv_list_at(l, i);
            put_u32(p->w, (uint32_t)el->n);
            put(p->w, el->p, el->n);
        }
    } else {
        put(p->w, e->val, e->vlen);
    }
}

/* Writes every live key; 0 on success, else an errno (said on stderr). */
int kv_dump_save(void) {
    dump_pass counting = {NULL, 0, 0};
    uint64_t cursor = 0;
    do
        cursor = kv_scan(cursor, visit, &counting);
    while (cursor != 0);

    dump_writer w = {fopen(KV_DUMP_TMP, "wb"), 0, 0};
    if (w.f == NULL) {
        fprintf(stderr, "kv: cannot write %s: %s; the keys are not saved\n",
                KV_DUMP_TMP, strerror(errno));
        return errno ? errno : EIO;
    }
    put(&w, magic, sizeof magic);
    put_u32(&w, KV_DUMP_VERSION);
    put_u64(&w, counting.count);
    dump_pass writing = {&w, 0, 1};
    do
        cursor = kv_scan(cursor, visit, &writing);
    while (cursor != 0);
    uint32_t crc = w.crc;
    put_u32(&w, crc);
    if (fclose(w.f) != 0 && !w.failed)
        w.failed = errno ? errno : EIO;
    if (!w.failed && rename(KV_DUMP_TMP, KV_DUMP_FILE) != 0)
        w.failed = errno ? errno : EIO;
    if (w.failed) {
        fprintf(stderr, "kv: writing %s failed: %s; the keys are not saved\n",
                KV_DUMP_FILE, strerror(w.failed));
        remove(KV_DUMP_TMP);
        return w.failed;
    }
    fprintf(stderr, "kv: saved %llu keys to %s\n",
            (unsigned long long)counting.count, KV_DUMP_FILE);
    return 0;
}

typedef struct {
    FILE *f;
    uint32_t crc;
    const char *problem; /* the first thing wrong, or NULL */
} dump_reader;

static int get(dump_reader *r, void *p, size_t n) {
    if (r->problem != NULL)
        return -1;
    if (n > 0 && fread(p, 1, n, r->f) != n) {
        r->problem = "it ends early";
        return -1;
    }
    r->crc = crc32_update(r->crc, p, n);
    return 0;
}

static uint32_t get_u32(dump_reader *r) {
    uint8_t b[4] = {0};
    get(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static uint64_t get_u64(dump_reader *r) {
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

/* Bytes of a string value read at a time while the file is checked (a string's goes straight into the store when
 * loading). */
#define KV_DUMP_CHUNK (64 * 1024)

/* The buffer hash values and list elements are read into: it grows to the largest one read. A buffer of the largest
 * value allowed (64 MiB by default) grew every upgraded kv's memory by that much for good (wasm memory never shrinks):
 * 23 pages before an upgrade, 1,047 after. */
typedef struct {
    char *p;
    size_t cap;
} value_buf;

/* Room for n bytes in b (NULL, with the reader's problem set, when there is no memory). */
static char *value_room(dump_reader *r, value_buf *b, size_t n) {
    if (n > b->cap) {
        size_t cap = b->cap * 2 > n ? b->cap * 2 : n;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            if (r->problem == NULL)
                r->problem = "no memory to read it";
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p;
}

/* One pass over the file: check only (load == 0) or load the keys. Returns
 * the number of keys; r->problem says what is wrong, if anything. */
static uint64_t read_pass(dump_reader *r, int load, char *key, value_buf *val) {
    char m[8];
    if (get(r, m, sizeof m) == 0 && memcmp(m, magic, sizeof m) != 0)
        r->problem = "it is not a kv dump (bad magic)";
    uint32_t version = get_u32(r);
    if (r->problem == NULL && version != 1 && version != KV_DUMP_VERSION)
        r->problem = "its version is not 1 or 2";
    uint64_t count = get_u64(r);
    for (uint64_t i = 0; i < count && r->problem == NULL; i++) {
        uint8_t type = KV_T_STRING;
        if (version >= 2)
            get(r, &type, 1);
        uint32_t klen = get_u32(r), vlen = get_u32(r);
        int64_t expire = (int64_t)get_u64(r);
        if (r->problem == NULL && type != KV_T_STRING && type != KV_T_HASH && type != KV_T_LIST && type != KV_T_SET
            && type != KV_T_ZSET)
            r->problem = "an entry has an unknown type";
        if (r->problem == NULL &&
            (klen > KV_MAX_KEY_BYTES || (type == KV_T_STRING && vlen > KV_MAX_VALUE_BYTES))) {
            r->problem = "a key or value is longer than the store allows";
            break;
        }
        get(r, key, klen);
        kv_entry *e = NULL;
        kv_hash *h = NULL;
        if (load && r->problem == NULL) {
            int created = 0, err = 0;
            e = kv_find_or_create(key, klen, kv_now_ms, &created, &err);
            if (e == NULL || kv_set_value(e, "", 0) != KV_OK) {
                r->problem = "the store is full";
                break;
            }
        }
        if (type == KV_T_HASH) {
            if (e != NULL) {
                h = kv_hash_new();
                if (h == NULL) {
                    r->problem = "no memory for a hash";
                    break;
                }
                kv_set_object(e, KV_T_HASH, h);
            }
            for (uint32_t f = 0; f < vlen && r->problem == NULL; f++) {
                uint32_t fl = get_u32(r), vl = get_u32(r);
                if (r->problem == NULL && (fl > KV_MAX_KEY_BYTES || vl > KV_MAX_VALUE_BYTES)) {
                    r->problem = "a hash field or value is longer than the store allows";
                    break;
                }
                get(r, key, fl);
                get(r, value_room(r, val, vl), vl);
                if (h != NULL && r->problem == NULL && kv_hash_set(h, key, fl, val->p, vl) < 0)
                    r->problem = "no memory for a hash field";
            }
            if (e != NULL && r->problem == NULL)
                kv_charge_object(e, kv_hash_bytes_used(h));
        } else if (type == KV_T_ZSET) {
            kv_zset *z = NULL;
            if (e != NULL) {
                z = kv_zset_new();
                if (z == NULL) {
                    r->problem = "no memory for a sorted set";
                    break;
                }
                kv_set_object(e, KV_T_ZSET, z);
            }
            for (uint32_t i = 0; i < vlen && r->problem == NULL; i++) {
                uint32_t n = get_u32(r);
                if (r->problem == NULL && n > KV_MAX_KEY_BYTES) {
                    r->problem = "a sorted set member is longer than the store allows";
                    break;
                }
                get(r, key, n);
                uint64_t bits = get_u64(r);
                double score;
                memcpy(&score, &bits, sizeof score);
                if (z != NULL && r->problem == NULL && kv_zset_set(z, key, n, score) < 0)
                    r->problem = "no memory for a sorted set member";
            }
            if (z != NULL && r->problem == NULL)
                kv_charge_object(e, kv_zset_bytes_used(z));
        } else if (type == KV_T_SET) {
            kv_set *set = NULL;
            if (e != NULL) {
                set = kv_set_new();
                if (set == NULL) {
                    r->problem = "no memory for a set";
                    break;
                }
                kv_set_object(e, KV_T_SET, set);
            }
            for (uint32_t i = 0; i < vlen && r->problem == NULL; i++) {
                uint32_t n = get_u32(r);
                if (r->problem == NULL && n > KV_MAX_KEY_BYTES) {
                    r->problem = "a set member is longer than the store allows";
                    break;
                }
                get(r, key, n);
                if (set != NULL && r->problem == NULL && kv_set_add(set, key, n) < 0)
                    r->problem = "no memory for a set member";
            }
            uint8_t hashtable = 0;
            get(r, &hashtable, 1);
            if (set != NULL && r->problem == NULL) {
                set->hashtable |= hashtable;
                kv_charge_object(e, kv_set_bytes_used(set));
            }
        } else if (type == KV_T_LIST) {
            kv_list *l = NULL;
            if (e != NULL) {
                l = kv_list_new();
                if (l == NULL) {
                    r->problem = "no memory for a list";
                    break;
                }
                kv_set_object(e, KV_T_LIST, l);
            }
            for (uint32_t i = 0; i < vlen && r->problem == NULL; i++) {
                uint32_t n = get_u32(r);
                if (r->problem == NULL && n > KV_MAX_VALUE_BYTES) {
                    r->problem = "a list element is longer than the store allows";
                    break;
                }
                get(r, value_room(r, val, n), n);
                if (l != NULL && r->problem == NULL && kv_list_push(l, 0, val->p, n) != 0)
                    r->problem = "no memory for a list element";
            }
            if (e != NULL && r->problem == NULL)
                kv_charge_object(e, kv_list_bytes_used(l));
        } else if (!load || r->problem != NULL) {
            /* Checking only: the value passes through a chunk, into the checksum. */
            for (uint32_t left = vlen; left > 0 && r->problem == NULL;) {
                uint32_t n = left < KV_DUMP_CHUNK ? left : KV_DUMP_CHUNK;
                get(r, value_room(r, val, n), n);
                left -= n;
            }
        } else {
            if (kv_grow_value(e, vlen) != KV_OK) {
                r->problem = "the store is full";
                break;
            }
            get(r, e->val, vlen); /* straight into the value: no second copy of a large one */
            e->modified = 0;
        }
        if (e != NULL && r->problem == NULL)
            kv_set_expire(e, expire);
    }
    uint32_t want = r->crc;
    uint32_t crc = get_u32(r);
    if (r->problem == NULL && crc != want)
        r->problem = "its checksum does not match";
    if (r->problem == NULL && fgetc(r->f) != EOF)
        r->problem = "bytes follow its checksum";
    return count;
}

/* Loads KV_DUMP_FILE if there is one (see the top of this file). */
void kv_dump_load(void) {
    FILE *f = fopen(KV_DUMP_FILE, "rb");
    if (f == NULL)
        return;
    char *key = malloc(KV_MAX_KEY_BYTES + 1);
    value_buf val = {NULL, 0};
    dump_reader r = {f, 0, NULL};
    if (key == NULL || value_room(&r, &val, KV_DUMP_CHUNK) == NULL)
        r.problem = "no memory to read it";
    uint64_t count = read_pass(&r, 0, key, &val);
    if (r.problem == NULL) {
        rewind(f);
        r.crc = 0;
        count = read_pass(&r, 1, key, &val);
    }
    fclose(f);
    free(key);
    free(val.p);
    if (r.problem != NULL) {
        fprintf(stderr, "kv: %s is damaged (%s); starting empty, the file is "
                "kept as %s.bad\n", KV_DUMP_FILE, r.problem, KV_DUMP_FILE);
        kv_flush();
        rename(KV_DUMP_FILE, KV_DUMP_FILE ".bad");
        return;
    }
    remove(KV_DUMP_FILE);
    fprintf(stderr, "kv: loaded %llu keys from %s\n", (unsigned long long)count,
            KV_DUMP_FILE);
}
