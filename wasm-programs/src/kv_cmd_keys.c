/* kv_cmd_keys.c - keyspace commands: DEL UNLINK EXISTS KEYS SCAN DBSIZE
 * FLUSHDB FLUSHALL EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL PERSIST TYPE. */
#include "kv_cmd.h"

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

void cmd_type(kv_call *k) {
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    reply_status(k, e != NULL ? "string" : "none");
}

/* ---- KEYS and SCAN --------------------------------------------------- */

typedef struct {
    entry_list list;
    const char *pat; /* NULL: every key */
    size_t plen;
    size_t visited;  /* entries looked at, kept or not */
} key_filter;

static void collect_live(kv_entry *e, void *arg) {
    key_filter *f = arg;
    f->visited++;
    if (kv_expired(e, kv_now_ms))
        return;
    if (f->pat != NULL && !kv_glob_match(f->pat, f->plen, e->key, e->klen, 0))
        return;
    entry_list_push(&f->list, e);
}

static void reply_keys(kv_call *k, entry_list *l) {
    reply_array(k, l->n);
    for (size_t i = 0; i < l->n; i++)
        reply_bulk(k, l->items[i]->key, l->items[i]->klen);
}

void cmd_keys(kv_call *k) {
    key_filter f = {{0}, k->argv[1], k->argl[1], 0};
    if (f.plen == 1 && f.pat[0] == '*')
        f.pat = NULL;
    uint64_t cursor = 0;
    do {
        cursor = kv_scan(cursor, collect_live, &f);
    } while (cursor != 0 && !f.list.failed);
    if (f.list.failed)
        reply_error(k, "ERR out of memory");
    else
        reply_keys(k, &f.list);
    entry_list_free(&f.list);
}

typedef struct {
    uint64_t cursor;
    long long count;
    const char *pat;
    size_t plen;
    int no_match; /* TYPE other than string */
} scan_args;

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static int parse_scan(kv_call *k, scan_args *a) {
    char *end;
    errno = 0;
    memset(a, 0, sizeof *a);
    a->count = 10;
    a->cursor = strtoull(k->argv[1], &end, 10);
    if (k->argl[1] == 0 || *end != '\0' || errno == ERANGE ||
        k->argv[1][0] == '-' || k->argv[1][0] == ' ' || k->argv[1][0] == '+') {
        reply_error(k, "ERR invalid cursor");
        return -1;
    }
    for (size_t j = 2; j < k->argc; j += 2) {
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
        } else if (arg_is(k, j, "type")) {
            a->no_match = !arg_is(k, j + 1, "string");
        } else {
            reply_syntax_error(k);
            return -1;
        }
    }
    return 0;
}

void cmd_scan(kv_call *k) {
    scan_args a;
    if (parse_scan(k, &a) != 0)
        return;
    key_filter f = {{0}, a.pat, a.plen, 0};
    if (f.plen == 1 && f.pat[0] == '*')
        f.pat = NULL;
    /* As Redis: visit buckets until COUNT keys were looked at (or 10x COUNT
     * buckets were), keeping the live ones that match. */
    long long max_buckets = a.count > LLONG_MAX / 10 ? LLONG_MAX : a.count * 10;
    uint64_t cursor = a.cursor;
    do {
        cursor = kv_scan(cursor, collect_live, &f);
    } while (cursor != 0 && --max_buckets > 0 &&
             (long long)f.visited < a.count && !f.list.failed);
    if (a.no_match)
        f.list.n = 0;
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
