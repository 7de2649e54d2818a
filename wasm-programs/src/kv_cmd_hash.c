/* kv_cmd_hash.c - hash commands: HSET HMSET HSETNX HGET HMGET HDEL HEXISTS
 * HLEN HSTRLEN HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN,
 * with Redis 7's replies.  Fields are listed in the order they were first set,
 * as redis-server lists the small hashes it keeps as listpacks.  A hash whose
 * last field goes is deleted.  The dispatcher has checked that the key holds a
 * hash or nothing (WRONGTYPE otherwise). */
#include "kv_cmd.h"
#include "kv_hash.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kv_hash *hash_at(kv_call *k, kv_entry **ep) {
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    *ep = e;
    return e == NULL ? NULL : e->obj;
}

/* The hash of argv[1] for a write, created (empty) when missing; NULL after
 * replying an error. */
static kv_hash *hash_for_write(kv_call *k, kv_entry **ep, int *created) {
    int err;
    kv_entry *e = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms, created, &err);
    if (e == NULL) {
        reply_store_error(k, err);
        return NULL;
    }
    if (*created) {
        kv_hash *h = kv_hash_new();
        if (h == NULL) {
            kv_delete_entry(e);
            reply_store_error(k, KV_ENOMEM);
            return NULL;
        }
        kv_set_object(e, KV_T_HASH, h);
    }
    *ep = e;
    return e->obj;
}

/* After a change: charge the hash's size, or delete the key when it is empty. */
static void settle(kv_entry *e, kv_hash *h) {
    if (h->live == 0)
        kv_delete_entry(e);
    else
        kv_charge_object(e, kv_hash_bytes_used(h));
}

static int field_too_large(kv_call *k, size_t i) {
    if (k->argl[i] <= KV_MAX_KEY_BYTES)
        return 0;
    reply_error(k, "ERR field too large (limit %d bytes)", KV_MAX_KEY_BYTES);
    return 1;
}

static void hset_generic(kv_call *k, int reply_count) {
    if (k->argc % 2 != 0) {
        reply_arity(k, k->name);
        return;
    }
    for (size_t i = 2; i < k->argc; i += 2)
        if (field_too_large(k, i))
            return;
    kv_entry *e;
    int created;
    kv_hash *h = hash_for_write(k, &e, &created);
    if (h == NULL)
        return;
    long long added = 0;
    for (size_t i = 2; i < k->argc; i += 2) {
        int r = kv_hash_set(h, k->argv[i], k->argl[i], k->argv[i + 1], k->argl[i + 1]);
        if (r < 0) {
            settle(e, h);
            reply_store_error(k, KV_ENOMEM);
            return;
        }
        added += r;
    }
    settle(e, h);
    if (reply_count)
        reply_int(k, added);
    else
        reply_ok(k);
}

void cmd_hset(kv_call *k) { hset_generic(k, 1); }
void cmd_hmset(kv_call *k) { hset_generic(k, 0); }

void cmd_hsetnx(kv_call *k) {
    if (field_too_large(k, 2))
        return;
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    if (h != NULL && kv_hash_get(h, k->argv[2], k->argl[2]) != NULL) {
        reply_int(k, 0);
        return;
    }
    int created;
    h = hash_for_write(k, &e, &created);
    if (h == NULL)
        return;
    if (kv_hash_set(h, k->argv[2], k->argl[2], k->argv[3], k->argl[3]) < 0) {
        settle(e, h);
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    settle(e, h);
    reply_int(k, 1);
}

void cmd_hget(kv_call *k) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    kv_hfield *f = h == NULL ? NULL : kv_hash_get(h, k->argv[2], k->argl[2]);
    if (f == NULL)
        reply_nil(k);
    else
        reply_bulk(k, f->value, f->vlen);
}

void cmd_hmget(kv_call *k) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    reply_array(k, k->argc - 2);
    for (size_t i = 2; i < k->argc; i++) {
        kv_hfield *f = h == NULL ? NULL : kv_hash_get(h, k->argv[i], k->argl[i]);
        if (f == NULL)
            reply_nil(k);
        else
            reply_bulk(k, f->value, f->vlen);
    }
}

void cmd_hdel(kv_call *k) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    long long n = 0;
    for (size_t i = 2; h != NULL && i < k->argc; i++)
        n += kv_hash_del(h, k->argv[i], k->argl[i]);
    if (h != NULL && n > 0)
        settle(e, h);
    reply_int(k, n);
}

void cmd_hexists(kv_call *k) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    reply_int(k, h != NULL && kv_hash_get(h, k->argv[2], k->argl[2]) != NULL);
}

void cmd_hlen(kv_call *k) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    reply_int(k, h == NULL ? 0 : (long long)h->live);
}

void cmd_hstrlen(kv_call *k) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    kv_hfield *f = h == NULL ? NULL : kv_hash_get(h, k->argv[2], k->argl[2]);
    reply_int(k, f == NULL ? 0 : (long long)f->vlen);
}

/* HKEYS (1), HVALS (2), HGETALL (3). */
static void hlist(kv_call *k, int what) {
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    if (h == NULL) {
        reply_array(k, 0);
        return;
    }
    reply_array(k, h->live * (what == 3 ? 2 : 1));
    size_t slot = 0;
    for (kv_hfield *f; (f = kv_hash_next(h, &slot)) != NULL;) {
        if (what & 1)
            reply_bulk(k, f->field, f->flen);
        if (what & 2)
            reply_bulk(k, f->value, f->vlen);
    }
}

void cmd_hkeys(kv_call *k) { hlist(k, 1); }
void cmd_hvals(kv_call *k) { hlist(k, 2); }
void cmd_hgetall(kv_call *k) { hlist(k, 3); }

void cmd_hincrby(kv_call *k) {
    long long by;
    if (arg_ll(k, 3, &by) != 0 || field_too_large(k, 2) || !key_type_ok(k, 1, KV_T_HASH))
        return;
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    kv_hfield *f = h == NULL ? NULL : kv_hash_get(h, k->argv[2], k->argl[2]);
    long long v = 0;
    if (f != NULL && resp_parse_ll(f->value, f->vlen, &v) != 0) {
        reply_error(k, "ERR hash value is not an integer");
        return;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        reply_error(k, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    int created;
    h = hash_for_write(k, &e, &created);
    if (h == NULL)
        return;
    if (kv_hash_set(h, k->argv[2], k->argl[2], buf, (size_t)n) < 0) {
        settle(e, h);
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    settle(e, h);
    reply_int(k, v);
}

void cmd_hincrbyfloat(kv_call *k) {
    long double by, v = 0;
    if (kv_parse_long_double(k->argv[3], k->argl[3], &by) != 0) {
        reply_error(k, "ERR value is not a valid float");
        return;
    }
    if (isnan(by) || isinf(by)) {
        reply_error(k, "ERR value is NaN or Infinity");
        return;
    }
    if (field_too_large(k, 2) || !key_type_ok(k, 1, KV_T_HASH))
        return;
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    kv_hfield *f = h == NULL ? NULL : kv_hash_get(h, k->argv[2], k->argl[2]);
    if (f != NULL && kv_parse_long_double(f->value, f->vlen, &v) != 0) {
        reply_error(k, "ERR hash value is not a float");
        return;
    }
    if (kv_float_sum(k, &v, by) != 0)
        return;
    char buf[5200];
    int n = kv_format_long_double(buf, sizeof buf, v);
    int created;
    h = hash_for_write(k, &e, &created);
    if (h == NULL)
        return;
    if (n < 0 || kv_hash_set(h, k->argv[2], k->argl[2], buf, (size_t)n) < 0) {
        settle(e, h);
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    settle(e, h);
    reply_bulk(k, buf, (size_t)n);
}

/* HRANDFIELD key [count [WITHVALUES]]: fields drawn from the guest's
 * deterministic random stream (the same on every replica). */
void cmd_hrandfield(kv_call *k) {
    long long count = 1;
    int with_values = 0, single = k->argc == 2;
    if (k->argc >= 3 && arg_ll(k, 2, &count) != 0)
        return;
    if (k->argc == 4) {
        if (!arg_is(k, 3, "withvalues")) {
            reply_syntax_error(k);
            return;
        }
        with_values = 1;
    } else if (k->argc > 4) {
        reply_syntax_error(k);
        return;
    }
    kv_entry *e;
    kv_hash *h = hash_at(k, &e);
    if (h == NULL) {
        if (single)
            reply_nil(k);
        else
            reply_array(k, 0);
        return;
    }
    if (count < -KV_MAX_RANDOM_PICKS || count > LONG_MAX / 2) {
        /* Redis refuses below -LONG_MAX/2; a count of repeats past what one frame's work may answer is refused too. */
        reply_error(k, "ERR value is out of range");
        return;
    }
    /* The live fields in order, to pick from. */
    kv_hfield **all = malloc(h->live * sizeof *all);
    if (all == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    size_t slot = 0, n = 0;
    for (kv_hfield *f; (f = kv_hash_next(h, &slot)) != NULL;)
        all[n++] = f;
    if (single) {
        kv_hfield *f = all[kv_random_below(n)];
        reply_bulk(k, f->field, f->flen);
        free(all);
        return;
    }
    size_t want;
    if (count < 0) {
        /* Repeats allowed: -count picks. */
        want = (size_t)(-count);
        reply_array(k, want * (with_values ? 2 : 1));
        for (size_t i = 0; i < want; i++) {
            kv_hfield *f = all[kv_random_below(n)];
            reply_bulk(k, f->field, f->flen);
            if (with_values)
                reply_bulk(k, f->value, f->vlen);
        }
    } else {
        /* Distinct fields: a partial Fisher-Yates shuffle. */
        want = (size_t)count < n ? (size_t)count : n;
        reply_array(k, want * (with_values ? 2 : 1));
        for (size_t i = 0; i < want; i++) {
            size_t j = i + kv_random_below(n - i);
            kv_hfield *t = all[i];
            all[i] = all[j];
            all[j] = t;
            reply_bulk(k, all[i]->field, all[i]->flen);
            if (with_values)
                reply_bulk(k, all[i]->value, all[i]->vlen);
        }
    }
    free(all);
}

/* HSCAN key cursor [MATCH pattern] [COUNT n]: the hash is small enough to be
 * listed in one call (cursor 0 back), as redis-server does for its listpacks;
 * a big one in steps of COUNT slots. */
void cmd_hscan(kv_call *k) {
    scan_args a;
    kv_entry *e = collection_scan_start(k, KV_T_HASH, &a);
    if (e == NULL)
        return;
    kv_hash *h = e->obj;
    size_t from, to;
    size_t next = scan_window(&a, h->n, kv_hash_listpack(h), &from, &to);
    /* Collect first: the reply's length comes before its items. */
    size_t matched = 0;
    kv_hfield **found = malloc((to > from ? to - from : 1) * sizeof *found);
    if (found == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    for (size_t s = from; s < to; s++) {
        kv_hfield *f = &h->items[s];
        if (f->field != NULL && scan_matches(&a, f->field, f->flen))
            found[matched++] = f;
    }
    reply_scan_head(k, next, matched * 2);
    for (size_t i = 0; i < matched; i++) {
        reply_bulk(k, found[i]->field, found[i]->flen);
        reply_bulk(k, found[i]->value, found[i]->vlen);
    }
    free(found);
}
