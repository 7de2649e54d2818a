/* kv_cmd_keys.c - keyspace commands: DEL UNLINK EXISTS KEYS SCAN DBSIZE
 * FLUSHDB FLUSHALL EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST TYPE. */
#include "kv_cmd.h"
#include "kv_hash.h"
#include "kv_list.h"
#include "kv_set.h"
#include "kv_zset.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cmd_del(kv_call *k) {
    long long n = 0;
    for (size_t i = 1; i < k->argc; i++)
        n += kv_delete(k->argv[i], k->argl[i], kv_now_ms);
    reply_int(k, n);
}

void cmd_exists(kv_call *k) {
    long long n = 0;
    for (size_t i = 1; i < k->argc; i++)
        n += kv_find(k->argv[i], k->argl[i], kv_now_ms) != NULL;
    reply_int(k, n);
}

void cmd_dbsize(kv_call *k) { reply_int(k, (long long)kv_count()); }

void cmd_flushdb(kv_call *k) {
    if (k->argc > 2 || (k->argc == 2 && !arg_is(k, 1, "async") &&
                        !arg_is(k, 1, "sync"))) {
        reply_syntax_error(k);
        return;
    }
    kv_flush();
    reply_ok(k);
}

/* The name TYPE gives a value's type. */
static const char *type_name(const kv_entry *e) {
    return e->type == KV_T_HASH ? "hash" : e->type == KV_T_LIST ? "list" : e->type == KV_T_SET ? "set"
           : e->type == KV_T_ZSET ? "zset" : "string";
}

void cmd_type(kv_call *k) {
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    reply_status(k, e != NULL ? type_name(e) : "none");
}

/* ---- KEYS and SCAN --------------------------------------------------- */

/* Both are bounded: KEYS refuses a keyspace of more than KV_KEYS_MAX_KEYS
 * keys, one SCAN call looks at no more than KV_SCAN_MAX_EXAMINED keys, and
 * pattern matching counts its steps (KV_MATCH_MAX_STEPS per key and per
 * call), so neither can run a frame out of fuel. */

typedef struct {
    entry_list list;
    kv_glob glob;
    int all;         /* no pattern, or "*" */
    size_t visited;  /* entries looked at, kept or not */
    uint64_t steps;  /* glob steps */
    int too_costly;  /* one key's match passed KV_MATCH_MAX_STEPS */
} key_filter;

static void filter_init(key_filter *f, const char *pat, size_t plen) {
    memset(f, 0, sizeof *f);
    f->all = pat == NULL || (plen == 1 && pat[0] == '*');
    if (!f->all)
        kv_glob_compile(&f->glob, pat, plen);
}

static void collect_live(kv_entry *e, void *arg) {
    key_filter *f = arg;
    f->visited++;
    if (f->too_costly || kv_expired(e, kv_now_ms))
        return;
    if (!f->all) {
        int m = kv_glob_run(&f->glob, e->key, e->klen, 0, &f->steps,
                            f->steps + KV_MATCH_MAX_STEPS);
        if (m < 0)
            f->too_costly = 1;
        if (m != 1)
            return;
    }
    entry_list_push(&f->list, e);
}

static void reply_keys(kv_call *k, entry_list *l) {
    reply_array(k, l->n);
    for (size_t i = 0; i < l->n; i++)
        reply_bulk(k, l->items[i]->key, l->items[i]->klen);
}

static void reply_too_costly(kv_call *k) {
    reply_error(k, "ERR pattern too costly: more than %d match steps on one "
                "key. Fix: use fewer '*' between literal parts",
                KV_MATCH_MAX_STEPS);
}

void cmd_keys(kv_call *k) {
    if (kv_count() > KV_KEYS_MAX_KEYS) {
        reply_error(k, "ERR KEYS would examine %zu keys, more than %d; use SCAN",
                    kv_count(), KV_KEYS_MAX_KEYS);
        return;
    }
    key_filter f;
    filter_init(&f, k->argv[1], k->argl[1]);
    uint64_t cursor = 0;
    do {
        cursor = kv_scan(cursor, collect_live, &f);
    } while (cursor != 0 && !f.list.failed && !f.too_costly &&
             f.steps <= KV_MATCH_MAX_STEPS);
    if (f.too_costly)
        reply_too_costly(k);
    else if (cursor != 0 && !f.list.failed)
        reply_error(k, "ERR KEYS pattern needs more than %d match steps over "
                    "the keyspace; use SCAN", KV_MATCH_MAX_STEPS);
    else if (f.list.failed)
        reply_error(k, "ERR out of memory");
    else
        reply_keys(k, &f.list);
    entry_list_free(&f.list);
}

/* A scan cursor as Redis reads one (parseScanCursorOrReply): 0, or -1 after
 * replying "invalid cursor". */
static int scan_cursor(kv_call *k, size_t i, uint64_t *cursor) {
    char *end;
    errno = 0;
    *cursor = strtoull(k->argv[i], &end, 10);
    if (k->argl[i] == 0 || *end != '\0' || errno == ERANGE ||
        k->argv[i][0] == '-' || k->argv[i][0] == ' ' || k->argv[i][0] == '+') {
        reply_error(k, "ERR invalid cursor");
        return -1;
    }
    return 0;
}

/* [MATCH pattern] [COUNT count] (and SCAN's [TYPE type]) from argv[from]. */
static int scan_options(kv_call *k, size_t from, int allow_type, scan_args *a) {
    a->count = 10;
    a->pat = NULL;
    a->plen = 0;
    a->type = -1;
    for (size_t j = from; j < k->argc; j += 2) {
        if (j + 1 >= k->argc) {
            reply_syntax_error(k);
            return -1;
        }
        if (arg_is(k, j, "count")) {
            if (arg_ll(k, j + 1, &a->count) != 0)
                return -1;
            if (a->count < 1) {
                reply_syntax_error(k);
                return -1;
            }
        } else if (arg_is(k, j, "match")) {
            a->pat = k->argv[j + 1];
            a->plen = k->argl[j + 1];
        } else if (allow_type && arg_is(k, j, "type")) {
            a->type = arg_is(k, j + 1, "string") ? KV_T_STRING : arg_is(k, j + 1, "hash") ? KV_T_HASH
                      : arg_is(k, j + 1, "list") ? KV_T_LIST : arg_is(k, j + 1, "set") ? KV_T_SET
                      : arg_is(k, j + 1, "zset") ? KV_T_ZSET : -2;
        } else {
            reply_syntax_error(k);
            return -1;
        }
    }
    if (a->pat != NULL)
        kv_glob_compile(&a->glob, a->pat, a->plen);
    return 0;
}

kv_entry *collection_scan_start(kv_call *k, int type, scan_args *a) {
    if (scan_cursor(k, 2, &a->cursor) != 0)
        return NULL;
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (e == NULL) {
        /* Redis answers a missing key before it reads the options. */
        reply_scan_head(k, 0, 0);
        return NULL;
    }
    if (e->type != type) {
        reply_wrong_type(k);
        return NULL;
    }
    return scan_options(k, 3, 0, a) == 0 ? e : NULL;
}

int scan_matches(const scan_args *a, const char *s, size_t n) {
    uint64_t steps = 0;
    return a->pat == NULL || kv_glob_run(&a->glob, s, n, 0, &steps, KV_MATCH_MAX_STEPS) == 1;
}

size_t scan_window(const scan_args *a, size_t total, int whole, size_t *from, size_t *to) {
    *from = whole ? 0 : a->cursor < total ? (size_t)a->cursor : total;
    *to = whole || (unsigned long long)a->count >= total - *from ? total : *from + (size_t)a->count;
    return *to >= total ? 0 : *to;
}

void reply_scan_head(kv_call *k, size_t next, size_t items) {
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%zu", next);
    reply_array(k, 2);
    reply_bulk(k, buf, (size_t)n);
    reply_array(k, items);
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static int parse_scan(kv_call *k, scan_args *a) {
    if (scan_cursor(k, 1, &a->cursor) != 0)
        return -1;
    return scan_options(k, 2, 1, a);
}

void cmd_scan(kv_call *k) {
    scan_args a;
    if (parse_scan(k, &a) != 0)
        return;
    key_filter f;
    filter_init(&f, a.pat, a.plen);
    /* As Redis: visit buckets until COUNT keys were looked at (or 10x COUNT
     * buckets were), keeping the live ones that match; and never more than
     * KV_SCAN_MAX_EXAMINED keys or KV_MATCH_MAX_STEPS match steps, whatever
     * COUNT says: the cursor tells the client where to go on. */
    long long count = a.count < KV_SCAN_MAX_EXAMINED ? a.count : KV_SCAN_MAX_EXAMINED;
    long long max_buckets = count * 10;
    uint64_t cursor = a.cursor;
    do {
        cursor = kv_scan(cursor, collect_live, &f);
    } while (cursor != 0 && --max_buckets > 0 && (long long)f.visited < count &&
             f.steps < KV_MATCH_MAX_STEPS && !f.list.failed && !f.too_costly);
    if (f.too_costly) {
        reply_too_costly(k);
        entry_list_free(&f.list);
        return;
    }
    if (a.type != -1) {
        size_t w = 0;
        for (size_t i = 0; i < f.list.n; i++)
            if (f.list.items[i]->type == a.type)
                f.list.items[w++] = f.list.items[i];
        f.list.n = w;
    }
    reply_array(k, 2);
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)cursor);
    reply_bulk(k, buf, (size_t)n);
    reply_keys(k, &f.list);
    entry_list_free(&f.list);
}

/* ---- expiry ---------------------------------------------------------- */

enum { EX_NX = 1, EX_XX = 2, EX_GT = 4, EX_LT = 8 };

/* [NX | XX | GT | LT] after the time argument; replies and returns -1. */
static int parse_expire_flags(kv_call *k, int *flags) {
    *flags = 0;
    for (size_t j = 3; j < k->argc; j++) {
        if (arg_is(k, j, "nx"))
            *flags |= EX_NX;
        else if (arg_is(k, j, "xx"))
            *flags |= EX_XX;
        else if (arg_is(k, j, "gt"))
            *flags |= EX_GT;
        else if (arg_is(k, j, "lt"))
            *flags |= EX_LT;
        else {
            reply_error(k, "ERR Unsupported option %s", k->argv[j]);
            return -1;
        }
    }
    if ((*flags & EX_NX) && (*flags & (EX_XX | EX_GT | EX_LT))) {
        reply_error(k, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return -1;
    }
    if ((*flags & EX_GT) && (*flags & EX_LT)) {
        reply_error(k, "ERR GT and LT options at the same time are not compatible");
        return -1;
    }
    return 0;
}

/* Does the flag condition let `when` replace the entry's expiry? */
static int expire_allowed(const kv_entry *e, int flags, int64_t when) {
    int has_ttl = e->expire_ms != KV_NO_EXPIRE;
    if ((flags & EX_NX) && has_ttl)
        return 0;
    if ((flags & EX_XX) && !has_ttl)
        return 0;
    if ((flags & EX_GT) && (!has_ttl || when <= e->expire_ms))
        return 0;
    if ((flags & EX_LT) && has_ttl && when >= e->expire_ms)
        return 0;
    return 1;
}

static void expire_generic(kv_call *k, int unit_ms, int absolute) {
    int flags;
    long long when;
    if (parse_expire_flags(k, &flags) != 0 || arg_ll(k, 2, &when) != 0)
        return;
    if (unit_ms == 1000 && (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000))
        goto invalid;
    when *= unit_ms;
    if (!absolute) {
        if ((when > 0 && kv_now_ms > LLONG_MAX - when) ||
            (when < 0 && kv_now_ms < LLONG_MIN - when))
            goto invalid;
        when += kv_now_ms;
    }
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (e == NULL || !expire_allowed(e, flags, when)) {
        reply_int(k, 0);
        return;
    }
    if (when <= kv_now_ms)
        kv_delete_entry(e); /* already in the past */
    else
        kv_set_expire(e, when);
    reply_int(k, 1);
    return;
invalid:
    reply_error(k, "ERR invalid expire time in '%s' command", k->name);
}

void cmd_expire(kv_call *k) { expire_generic(k, 1000, 0); }
void cmd_pexpire(kv_call *k) { expire_generic(k, 1, 0); }
void cmd_expireat(kv_call *k) { expire_generic(k, 1000, 1); }
void cmd_pexpireat(kv_call *k) { expire_generic(k, 1, 1); }

static void ttl_generic(kv_call *k, int in_ms) {
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (e == NULL) {
        reply_int(k, -2);
        return;
    }
    if (e->expire_ms == KV_NO_EXPIRE) {
        reply_int(k, -1);
        return;
    }
    long long ttl = e->expire_ms - kv_now_ms;
    if (ttl < 0)
        ttl = 0;
    reply_int(k, in_ms ? ttl : (ttl + 500) / 1000);
}

void cmd_ttl(kv_call *k) { ttl_generic(k, 0); }
void cmd_pttl(kv_call *k) { ttl_generic(k, 1); }

void cmd_persist(kv_call *k) {
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (e == NULL || e->expire_ms == KV_NO_EXPIRE) {
        reply_int(k, 0);
        return;
    }
    kv_set_expire(e, KV_NO_EXPIRE);
    reply_int(k, 1);
}

/* ---- EXPIRETIME, RENAME, COPY, OBJECT ----------------------------------- */

static void expiretime_generic(kv_call *k, int in_ms) {
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (e == NULL)
        reply_int(k, -2);
    else if (e->expire_ms == KV_NO_EXPIRE)
        reply_int(k, -1);
    else
        reply_int(k, in_ms ? e->expire_ms : e->expire_ms / 1000);
}

void cmd_expiretime(kv_call *k) { expiretime_generic(k, 0); }
void cmd_pexpiretime(kv_call *k) { expiretime_generic(k, 1); }

/* Puts a copy of src's value and expiry under the key argv[to] (replacing
 * what is there). KV_OK or a store error (replied). */
static int put_copy(kv_call *k, size_t to, const kv_entry *src) {
    if (src->type != KV_T_STRING) {
        void *copy = src->type == KV_T_HASH ? (void *)kv_hash_copy(src->obj)
                     : src->type == KV_T_LIST ? (void *)kv_list_copy(src->obj)
                     : src->type == KV_T_SET ? (void *)kv_set_copy(src->obj) : (void *)kv_zset_copy(src->obj);
        int created, err = KV_ENOMEM;
        kv_entry *d = copy == NULL ? NULL : kv_find_or_create(k->argv[to], k->argl[to], kv_now_ms, &created, &err);
        if (d == NULL) {
            if (copy != NULL)
                kv_object_free(src->type, copy);
            reply_store_error(k, err);
            return err;
        }
        kv_set_object(d, src->type, copy);
        kv_charge_object(d, src->type == KV_T_HASH ? kv_hash_bytes_used(copy)
                            : src->type == KV_T_LIST ? kv_list_bytes_used(copy)
                            : src->type == KV_T_SET ? kv_set_bytes_used(copy) : kv_zset_bytes_used(copy));
        kv_set_expire(d, src->expire_ms);
        kv_keys_ready = 1; /* a list or sorted set renamed or copied onto a key clients wait on serves them, as in Redis */
        return KV_OK;
    }
    int err = kv_fits(k->argl[to], src->vlen, kv_find(k->argv[to], k->argl[to], kv_now_ms));
    if (err != KV_OK) {
        reply_store_error(k, err);
        return err;
    }
    int created;
    kv_entry *d = kv_find_or_create(k->argv[to], k->argl[to], kv_now_ms, &created, &err);
    if (d != NULL)
        err = kv_set_value(d, src->val, src->vlen);
    if (err != KV_OK) {
        if (d != NULL && created)
            kv_delete_entry(d);
        reply_store_error(k, err);
        return err;
    }
    kv_set_expire(d, src->expire_ms);
    d->modified = src->modified;
    return KV_OK;
}

static void rename_generic(kv_call *k, int nx) {
    kv_entry *src = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (src == NULL) {
        reply_error(k, "ERR no such key");
        return;
    }
    if (k->argl[1] == k->argl[2] && memcmp(k->argv[1], k->argv[2], k->argl[1]) == 0) {
        if (nx)
            reply_int(k, 0);
        else
            reply_ok(k);
        return;
    }
    if (nx && kv_find(k->argv[2], k->argl[2], kv_now_ms) != NULL) {
        reply_int(k, 0);
        return;
    }
    /* The source's value moves: copied under the new key, then the old key goes. The
     * copy may reuse the memory the destination's old value held. */
    if (put_copy(k, 2, src) != KV_OK)
        return;
    kv_delete(k->argv[1], k->argl[1], kv_now_ms);
    if (nx)
        reply_int(k, 1);
    else
        reply_ok(k);
}

void cmd_rename(kv_call *k) { rename_generic(k, 0); }
void cmd_renamenx(kv_call *k) { rename_generic(k, 1); }

void cmd_copy(kv_call *k) {
    int replace = 0;
    for (size_t j = 3; j < k->argc; j++) {
        if (arg_is(k, j, "replace")) {
            replace = 1;
        } else if (arg_is(k, j, "db") && j + 1 < k->argc) {
            long long db;
            if (arg_ll(k, ++j, &db) != 0)
                return;
            if (db != 0) {
                /* One database: any other is out of range (as SELECT says). */
                reply_error(k, "ERR DB index is out of range");
                return;
            }
        } else {
            reply_syntax_error(k);
            return;
        }
    }
    if (k->argl[1] == k->argl[2] && memcmp(k->argv[1], k->argv[2], k->argl[1]) == 0) {
        reply_error(k, "ERR source and destination objects are the same");
        return;
    }
    kv_entry *src = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (src == NULL) {
        reply_int(k, 0);
        return;
    }
    if (!replace && kv_find(k->argv[2], k->argl[2], kv_now_ms) != NULL) {
        reply_int(k, 0);
        return;
    }
    if (put_copy(k, 2, src) == KV_OK)
        reply_int(k, 1);
}

/* Redis's string encodings: "int" for a decimal long long of at most 20
 * characters, "embstr" up to 44 bytes, else "raw". */
static const char *string_encoding(const kv_entry *e) {
    long long v;
    if (e->type == KV_T_HASH)
        return kv_hash_listpack((const kv_hash *)e->obj) ? "listpack" : "hashtable";
    if (e->type == KV_T_LIST)
        return "quicklist"; /* Redis 7.0 keeps every list as a quicklist */
    if (e->type == KV_T_SET)
        return ((const kv_set *)e->obj)->hashtable ? "hashtable" : "intset";
    if (e->type == KV_T_ZSET)
        return ((const kv_zset *)e->obj)->skiplist ? "skiplist" : "listpack";
    if (e->modified == 1)
        return "raw";
    if (e->modified == 0 && e->vlen <= 20 && resp_parse_ll(e->val, e->vlen, &v) == 0)
        return "int";
    return e->vlen <= 44 ? "embstr" : "raw";
}

/* MEMORY USAGE key [SAMPLES count]: the bytes the key is charged against the store's limit (entry, key, value,
 * collection), the same on every replica; Redis's own figure counts its allocator's sizes instead, so only the
 * shape compares. Arguments are checked before the key is looked up, as Redis does. */
void cmd_memory(kv_call *k) {
    if (arg_is(k, 1, "help") && k->argc == 2) {
        static const char *const help[] = {
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help."};
        reply_help(k, help, sizeof help / sizeof help[0]);
        return;
    }
    if (!arg_is(k, 1, "usage")) {
        reply_unknown_subcommand(k, "MEMORY");
        return;
    }
    if (k->argc < 3) {
        reply_arity(k, "memory|usage");
        return;
    }
    for (size_t j = 3; j < k->argc; j += 2) { /* SAMPLES count pairs: checked, not needed (nothing is sampled) */
        long long samples;
        if (!arg_is(k, j, "samples") || j + 1 >= k->argc) {
            reply_error(k, "ERR syntax error");
            return;
        }
        if (arg_ll(k, j + 1, &samples) != 0)
            return;
        if (samples < 0) {
            reply_error(k, "ERR syntax error");
            return;
        }
    }
    kv_entry *e = kv_find(k->argv[2], k->argl[2], kv_now_ms);
    if (e == NULL)
        reply_nil(k);
    else
        reply_int(k, (long long)kv_entry_charge(e));
}

void cmd_object(kv_call *k) {
    if (arg_is(k, 1, "help") && k->argc == 2) {
        static const char *const help[] = {
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help."};
        reply_help(k, help, sizeof help / sizeof help[0]);
        return;
    }
    if (k->argc != 3) {
        reply_unknown_subcommand(k, "OBJECT");
        return;
    }
    kv_entry *e = kv_find(k->argv[2], k->argl[2], kv_now_ms);
    if (arg_is(k, 1, "encoding")) {
        if (e == NULL)
            reply_nil(k);
        else
            reply_cstr(k, string_encoding(e));
    } else if (arg_is(k, 1, "refcount")) {
        if (e == NULL)
            reply_nil(k);
        else
            reply_int(k, 1);
    } else if (arg_is(k, 1, "idletime")) {
        /* Access times are not kept (reads change no state): every key is as fresh as now. */
        if (e == NULL)
            reply_nil(k);
        else
            reply_int(k, 0);
    } else if (arg_is(k, 1, "freq")) {
        if (e == NULL)
            reply_nil(k);
        else
            reply_error(k, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                           "Please note that when switching between policies at runtime LRU and LFU data "
                           "will take some time to adjust.");
    } else {
        reply_unknown_subcommand(k, "OBJECT");
    }
}

/* ---- RANDOMKEY ------------------------------------------------------------ */

/* A live key drawn with the guest's deterministic random stream: a random
 * cursor, then buckets from there until one holds a live key, one of whose
 * keys is taken. Bounded: a keyspace of expired keys only answers nil. */
void cmd_randomkey(kv_call *k) {
    if (kv_count() == 0) {
        reply_nil(k);
        return;
    }
    key_filter f;
    filter_init(&f, NULL, 0);
    uint64_t cursor = ((uint64_t)arc4random() << 32) | arc4random();
    for (int steps = 0; steps < 4096 && f.list.n == 0 && !f.list.failed; steps++)
        cursor = kv_scan(cursor, collect_live, &f);
    if (f.list.n == 0) {
        reply_nil(k);
    } else {
        kv_entry *e = f.list.items[kv_random_below(f.list.n)];
        reply_bulk(k, e->key, e->klen);
    }
    entry_list_free(&f.list);
}
