/* kv_cmd_set.c - set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD
 * SPOP SRANDMEMBER SMOVE SINTER SUNION SDIFF (and their STORE forms)
 * SINTERCARD SSCAN, with Redis 7's replies.  Members are listed as kv_set.h
 * says (ascending for sets redis-server keeps as intsets); SPOP and
 * SRANDMEMBER draw from the guest's deterministic random stream.  A set whose
 * last member goes is deleted. */
#include "kv_cmd.h"
#include "kv_set.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kv_set *set_at(kv_call *k, size_t i, kv_entry **ep) {
    kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
    *ep = e;
    return e == NULL || e->type != KV_T_SET ? NULL : e->obj;
}

/* A new set under argv[i] (replacing any value); NULL after replying. */
static kv_set *new_set_at(kv_call *k, size_t i, kv_entry **ep) {
    int created, err;
    kv_entry *e = kv_find_or_create(k->argv[i], k->argl[i], kv_now_ms, &created, &err);
    if (e == NULL) {
        reply_store_error(k, err);
        return NULL;
    }
    kv_set *s = kv_set_new();
    if (s == NULL) {
        if (created)
            kv_delete_entry(e);
        reply_store_error(k, KV_ENOMEM);
        return NULL;
    }
    kv_set_object(e, KV_T_SET, s);
    kv_set_expire(e, KV_NO_EXPIRE);
    *ep = e;
    return s;
}

static void settle(kv_entry *e, kv_set *s) {
    if (kv_set_card(s) == 0)
        kv_delete_entry(e);
    else
        kv_charge_object(e, kv_set_bytes_used(s));
}

static int member_too_large(kv_call *k, size_t i) {
    if (k->argl[i] <= KV_MAX_KEY_BYTES)
        return 0;
    reply_error(k, "ERR member too large (limit %d bytes)", KV_MAX_KEY_BYTES);
    return 1;
}

void cmd_sadd(kv_call *k) {
    for (size_t i = 2; i < k->argc; i++)
        if (member_too_large(k, i))
            return;
    kv_entry *e;
    kv_set *s = set_at(k, 1, &e);
    if (s == NULL && (s = new_set_at(k, 1, &e)) == NULL)
        return;
    long long added = 0;
    for (size_t i = 2; i < k->argc; i++) {
        int r = kv_set_add(s, k->argv[i], k->argl[i]);
        if (r < 0) {
            settle(e, s);
            reply_store_error(k, KV_ENOMEM);
            return;
        }
        added += r;
    }
    settle(e, s);
    reply_int(k, added);
}

void cmd_srem(kv_call *k) {
    kv_entry *e;
    kv_set *s = set_at(k, 1, &e);
    long long n = 0;
    for (size_t i = 2; s != NULL && i < k->argc; i++)
        n += kv_set_rem(s, k->argv[i], k->argl[i]);
    if (s != NULL && n > 0)
        settle(e, s);
    reply_int(k, n);
}

static void reply_members(kv_call *k, const kv_set *s) {
    if (s == NULL || kv_set_card(s) == 0) {
        reply_array(k, 0);
        return;
    }
    kv_hfield **all = kv_set_members(s);
    if (all == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    reply_array(k, kv_set_card(s));
    for (size_t i = 0; i < kv_set_card(s); i++)
        reply_bulk(k, all[i]->field, all[i]->flen);
    free(all);
}

void cmd_smembers(kv_call *k) {
    kv_entry *e;
    reply_members(k, set_at(k, 1, &e));
}

void cmd_sismember(kv_call *k) {
    kv_entry *e;
    kv_set *s = set_at(k, 1, &e);
    reply_int(k, s != NULL && kv_set_has(s, k->argv[2], k->argl[2]));
}

void cmd_smismember(kv_call *k) {
    kv_entry *e;
    kv_set *s = set_at(k, 1, &e);
    reply_array(k, k->argc - 2);
    for (size_t i = 2; i < k->argc; i++)
        reply_int(k, s != NULL && kv_set_has(s, k->argv[i], k->argl[i]));
}

void cmd_scard(kv_call *k) {
    kv_entry *e;
    kv_set *s = set_at(k, 1, &e);
    reply_int(k, s == NULL ? 0 : (long long)kv_set_card(s));
}

/* SPOP (pop) and SRANDMEMBER: one member, or count of them (SRANDMEMBER with a
 * negative count may repeat). */
static void random_members(kv_call *k, int pop) {
    long long count = 1;
    int single = k->argc == 2;
    if (k->argc > 3) {
        reply_syntax_error(k);
        return;
    }
    if (!single) {
        if (arg_ll(k, 2, &count) != 0)
            return;
        if (pop && count < 0) {
            reply_error(k, "ERR value is out of range, must be positive");
            return;
        }
        /* Redis refuses LLONG_MIN; a count of repeats past what one frame's work may answer is refused too
         * (redis-server would try to send billions of members). */
        if (count == LLONG_MIN) {
            reply_error(k, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        if (count < -KV_MAX_RANDOM_PICKS) {
            reply_error(k, "ERR value is out of range");
            return;
        }
    }
    if (!key_type_ok(k, 1, KV_T_SET))
        return;
    kv_entry *e;
    kv_set *s = set_at(k, 1, &e);
    if (s == NULL) {
        if (single)
            reply_nil(k);
        else
            reply_array(k, 0);
        return;
    }
    size_t card = kv_set_card(s);
    kv_hfield **all = kv_set_members(s);
    if (all == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    if (single) {
        kv_hfield *f = all[kv_random_below(card)];
        reply_bulk(k, f->field, f->flen);
        if (pop) {
            kv_set_rem(s, f->field, f->flen);
            settle(e, s);
        }
        free(all);
        return;
    }
    if (count < 0) {
        size_t want = (size_t)(-count);
        reply_array(k, want);
        for (size_t i = 0; i < want; i++) {
            kv_hfield *f = all[kv_random_below(card)];
            reply_bulk(k, f->field, f->flen);
        }
        free(all);
        return;
    }
    size_t want = (size_t)count < card ? (size_t)count : card;
    reply_array(k, want);
    for (size_t i = 0; i < want; i++) {
        size_t j = i + kv_random_below(card - i);
        kv_hfield *t = all[i];
        all[i] = all[j];
        all[j] = t;
        reply_bulk(k, all[i]->field, all[i]->flen);
    }
    if (pop) {
        /* Copies first: removing a member frees the bytes the pointers name. */
        char **names = malloc(want * sizeof *names);
        size_t *lens = malloc(want * sizeof *lens);
        for (size_t i = 0; names != NULL && lens != NULL && i < want; i++) {
            lens[i] = all[i]->flen;
            names[i] = malloc(lens[i] + 1);
            if (names[i] != NULL)
                memcpy(names[i], all[i]->field, lens[i]);
        }
        for (size_t i = 0; names != NULL && lens != NULL && i < want; i++) {
            if (names[i] != NULL)
                kv_set_rem(s, names[i], lens[i]);
            free(names[i]);
        }
        free(names);
        free(lens);
        settle(e, s);
    }
    free(all);
}

void cmd_spop(kv_call *k) { random_members(k, 1); }
void cmd_srandmember(kv_call *k) { random_members(k, 0); }

void cmd_smove(kv_call *k) {
    kv_entry *se, *de;
    if (kv_find(k->argv[1], k->argl[1], kv_now_ms) == NULL) {
        reply_int(k, 0); /* a missing source answers 0 before any type is checked, as redis-server does */
        return;
    }
    if (!key_type_ok(k, 1, KV_T_SET) || !key_type_ok(k, 2, KV_T_SET))
        return;
    kv_set *src = set_at(k, 1, &se), *dst = set_at(k, 2, &de);
    if (!kv_set_has(src, k->argv[3], k->argl[3])) {
        reply_int(k, 0);
        return;
    }
    if (src == dst) {
        reply_int(k, 1);
        return;
    }
    if (dst == NULL && (dst = new_set_at(k, 2, &de)) == NULL)
        return;
    if (kv_set_add(dst, k->argv[3], k->argl[3]) < 0) {
        settle(de, dst);
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    kv_set_rem(src, k->argv[3], k->argl[3]);
    settle(de, dst);
    settle(se, src);
    reply_int(k, 1);
}

enum { OP_INTER, OP_UNION, OP_DIFF };

/* The result of op over the sets at argv[first..last] (missing keys are empty
 * sets), as a new set; NULL after replying an error. */
static kv_set *combine(kv_call *k, int op, size_t first, size_t last) {
    for (size_t i = first; i <= last; i++)
        if (!key_type_ok(k, i, KV_T_SET))
            return NULL;
    kv_set *r = kv_set_new();
    if (r == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return NULL;
    }
    kv_entry *e;
    kv_set *base = set_at(k, first, &e);
    if (op == OP_UNION) {
        for (size_t i = first; i <= last; i++) {
            kv_set *s = set_at(k, i, &e);
            kv_hfield **all = s == NULL ? NULL : kv_set_members(s);
            for (size_t j = 0; all != NULL && j < kv_set_card(s); j++)
                kv_set_add(r, all[j]->field, all[j]->flen);
            free(all);
        }
        return r;
    }
    kv_hfield **all = base == NULL ? NULL : kv_set_members(base);
    for (size_t j = 0; all != NULL && j < kv_set_card(base); j++) {
        int keep = 1;
        for (size_t i = first + 1; i <= last && keep; i++) {
            kv_set *s = set_at(k, i, &e);
            int has = s != NULL && kv_set_has(s, all[j]->field, all[j]->flen);
            keep = op == OP_INTER ? has : !has;
        }
        if (op == OP_INTER && base == NULL)
            keep = 0;
        if (keep)
            kv_set_add(r, all[j]->field, all[j]->flen);
    }
    free(all);
    return r;
}

static void set_op(kv_call *k, int op) {
    kv_set *r = combine(k, op, 1, k->argc - 1);
    if (r != NULL) {
        reply_members(k, r);
        kv_set_free(r);
    }
}

static void set_op_store(kv_call *k, int op) {
    kv_set *r = combine(k, op, 2, k->argc - 1);
    if (r == NULL)
        return;
    long long n = (long long)kv_set_card(r);
    if (n == 0) {
        kv_set_free(r);
        kv_delete(k->argv[1], k->argl[1], kv_now_ms);
        reply_int(k, 0);
        return;
    }
    int created, err;
    kv_entry *d = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms, &created, &err);
    if (d == NULL) {
        kv_set_free(r);
        reply_store_error(k, err);
        return;
    }
    kv_set_object(d, KV_T_SET, r);
    kv_set_expire(d, KV_NO_EXPIRE);
    kv_charge_object(d, kv_set_bytes_used(r));
    reply_int(k, n);
}

void cmd_sinter(kv_call *k) { set_op(k, OP_INTER); }
void cmd_sunion(kv_call *k) { set_op(k, OP_UNION); }
void cmd_sdiff(kv_call *k) { set_op(k, OP_DIFF); }
void cmd_sinterstore(kv_call *k) { set_op_store(k, OP_INTER); }
void cmd_sunionstore(kv_call *k) { set_op_store(k, OP_UNION); }
void cmd_sdiffstore(kv_call *k) { set_op_store(k, OP_DIFF); }

void cmd_sintercard(kv_call *k) {
    long long numkeys, limit = 0;
    if (resp_parse_ll(k->argv[1], k->argl[1], &numkeys) != 0 || numkeys <= 0) {
        reply_error(k, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > (long long)k->argc - 2) {
        reply_error(k, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (size_t j = 2 + (size_t)numkeys; j < k->argc; j += 2) {
        if (arg_is(k, j, "limit") && j + 1 < k->argc) {
            /* Redis 7.0 answers a LIMIT that is not a number as it answers a negative one. */
            if (resp_parse_ll(k->argv[j + 1], k->argl[j + 1], &limit) != 0 || limit < 0) {
                reply_error(k, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_syntax_error(k);
            return;
        }
    }
    kv_set *r = combine(k, OP_INTER, 2, 1 + (size_t)numkeys);
    if (r == NULL)
        return;
    long long n = (long long)kv_set_card(r);
    kv_set_free(r);
    reply_int(k, limit > 0 && n > limit ? limit : n);
}

/* SSCAN key cursor [MATCH p] [COUNT n]: an intset is listed in one call, as
 * redis-server does; a bigger set in steps of COUNT slots. */
void cmd_sscan(kv_call *k) {
    scan_args a;
    kv_entry *e = collection_scan_start(k, KV_T_SET, &a);
    if (e == NULL)
        return;
    kv_set *s = e->obj;
    size_t card = kv_set_card(s);
    kv_hfield **all = kv_set_members(s);
    if (all == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    size_t from, to;
    size_t next = scan_window(&a, card, !s->hashtable, &from, &to);
    size_t matched = 0;
    for (size_t i = from; i < to; i++)
        if (scan_matches(&a, all[i]->field, all[i]->flen))
            all[matched++] = all[i];
    reply_scan_head(k, next, matched);
    for (size_t i = 0; i < matched; i++)
        reply_bulk(k, all[i]->field, all[i]->flen);
    free(all);
}
