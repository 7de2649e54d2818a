/* kv_cmd_list.c - list commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN
 * LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP, with Redis 7's
 * replies, errors and index rules.  A list whose last element goes is
 * deleted.  Type checks happen where redis-server makes them: before the
 * arguments are read for some commands (the dispatcher's F_LIST), after for
 * others (key_type_ok here). */
#include "kv_cmd.h"
#include "kv_list.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kv_rank_range(long long *start, long long *end, long long len) {
    if (*start < 0)
        *start += len;
    if (*end < 0)
        *end += len;
    if (*start < 0)
        *start = 0;
    if (*start > *end || *start >= len)
        return 0;
    if (*end >= len)
        *end = len - 1;
    return 1;
}

int list_sides(kv_call *k, size_t at, int sides[2]) {
    for (int i = 0; i < 2; i++) {
        if (arg_is(k, at + (size_t)i, "left")) {
            sides[i] = 1;
        } else if (arg_is(k, at + (size_t)i, "right")) {
            sides[i] = 0;
        } else {
            reply_syntax_error(k);
            return -1;
        }
    }
    return 0;
}

int mpop_args(kv_call *k, size_t at, const char *first_word, const char *second_word, long long *nkeys, int *first,
              long long *count) {
    if (resp_parse_ll(k->argv[at], k->argl[at], nkeys) != 0 || *nkeys < 1) {
        reply_error(k, "ERR numkeys should be greater than 0");
        return -1;
    }
    if (*nkeys >= (long long)(k->argc - at - 1)) {
        reply_syntax_error(k); /* no room for the side after the keys */
        return -1;
    }
    size_t side = at + 1 + (size_t)*nkeys;
    if (arg_is(k, side, first_word) || arg_is(k, side, second_word)) {
        *first = arg_is(k, side, first_word);
    } else {
        reply_syntax_error(k);
        return -1;
    }
    *count = -1;
    for (size_t j = side + 1; j < k->argc; j++) {
        if (*count == -1 && arg_is(k, j, "count") && j + 1 < k->argc) {
            j++;
            if (resp_parse_ll(k->argv[j], k->argl[j], count) != 0 || *count < 1) {
                reply_error(k, "ERR count should be greater than 0");
                return -1;
            }
        } else {
            reply_syntax_error(k);
            return -1;
        }
    }
    if (*count == -1)
        *count = 1;
    return 0;
}

static kv_list *list_at(kv_call *k, size_t i, kv_entry **ep) {
    kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
    *ep = e;
    return e == NULL ? NULL : e->obj;
}

/* The list of argv[i] for a push, created when missing; NULL after replying. */
static kv_list *list_for_write(kv_call *k, size_t i, kv_entry **ep) {
    int created, err;
    kv_entry *e = kv_find_or_create(k->argv[i], k->argl[i], kv_now_ms, &created, &err);
    if (e == NULL) {
        reply_store_error(k, err);
        return NULL;
    }
    if (created) {
        kv_list *l = kv_list_new();
        if (l == NULL) {
            kv_delete_entry(e);
            reply_store_error(k, KV_ENOMEM);
            return NULL;
        }
        kv_set_object(e, KV_T_LIST, l);
    }
    *ep = e;
    return e->obj;
}

/* After a change: charge the list's size, or delete the key when it is empty. */
static void settle(kv_entry *e, kv_list *l) {
    if (l->len == 0)
        kv_delete_entry(e);
    else
        kv_charge_object(e, kv_list_bytes_used(l));
}

static void push_generic(kv_call *k, int left, int only_existing) {
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL && only_existing) {
        reply_int(k, 0);
        return;
    }
    if (l == NULL && (l = list_for_write(k, 1, &e)) == NULL)
        return;
    for (size_t i = 2; i < k->argc; i++) {
        if (kv_list_push(l, left, k->argv[i], k->argl[i]) != 0) {
            settle(e, l);
            reply_store_error(k, KV_ENOMEM);
            return;
        }
    }
    long long len = (long long)l->len;
    settle(e, l);
    kv_keys_ready = 1;
    reply_int(k, len);
}

/* Replies an array of up to `count` elements popped from the LEFT or RIGHT of
 * e's list (LPOP/RPOP with a count, LMPOP, BLMPOP). */
static void pop_elements(kv_call *k, kv_entry *e, int left, long long count) {
    kv_list *l = e->obj;
    size_t n = (unsigned long long)count < l->len ? (size_t)count : l->len;
    reply_array(k, n);
    for (size_t i = 0; i < n; i++) {
        kv_elem out;
        kv_list_pop(l, left, &out);
        reply_bulk(k, out.p, out.n);
        free(out.p);
    }
    settle(e, l);
}

void cmd_lpush(kv_call *k) { push_generic(k, 1, 0); }
void cmd_rpush(kv_call *k) { push_generic(k, 0, 0); }
void cmd_lpushx(kv_call *k) { push_generic(k, 1, 1); }
void cmd_rpushx(kv_call *k) { push_generic(k, 0, 1); }

static void pop_generic(kv_call *k, int left) {
    long long count = 0;
    int has_count = k->argc == 3;
    if (k->argc > 3) {
        reply_arity(k, k->name);
        return;
    }
    if (has_count && (resp_parse_ll(k->argv[2], k->argl[2], &count) != 0 || count < 0)) {
        reply_error(k, "ERR value is out of range, must be positive");
        return;
    }
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (e == NULL) {
        reply_raw(k, has_count ? "*-1\r\n" : "$-1\r\n");
        return;
    }
    if (e->type != KV_T_LIST) {
        reply_wrong_type(k);
        return;
    }
    if (!has_count) {
        kv_elem out;
        kv_list_pop(l, left, &out);
        reply_bulk(k, out.p, out.n);
        free(out.p);
        settle(e, l);
        return;
    }
    if (count == 0) {
        reply_array(k, 0);
        return;
    }
    pop_elements(k, e, left, count);
}

void list_pop_reply(kv_call *k, kv_entry *e, int left, long long count) {
    reply_array(k, 2);
    reply_bulk(k, e->key, e->klen);
    pop_elements(k, e, left, count);
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first
 * key that exists (a null array when none does). */
void cmd_lmpop(kv_call *k) {
    long long nkeys, count;
    int left, wrong;
    if (mpop_args(k, 1, "left", "right", &nkeys, &left, &count) != 0)
        return;
    kv_entry *e = first_existing(k, 2, (size_t)nkeys, KV_T_LIST, &wrong);
    if (e != NULL)
        list_pop_reply(k, e, left, count);
    else if (!wrong)
        reply_raw(k, "*-1\r\n");
}

void cmd_lpop(kv_call *k) { pop_generic(k, 1); }
void cmd_rpop(kv_call *k) { pop_generic(k, 0); }

void cmd_llen(kv_call *k) {
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    reply_int(k, l == NULL ? 0 : (long long)l->len);
}

void cmd_lindex(kv_call *k) {
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL) {
        reply_nil(k);
        return;
    }
    long long i;
    if (arg_ll(k, 2, &i) != 0)
        return;
    if (i < 0)
        i += (long long)l->len;
    if (i < 0 || i >= (long long)l->len) {
        reply_nil(k);
        return;
    }
    kv_elem *el = kv_list_at(l, (size_t)i);
    reply_bulk(k, el->p, el->n);
}

void cmd_lset(kv_call *k) {
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL) {
        reply_error(k, "ERR no such key");
        return;
    }
    long long i;
    if (arg_ll(k, 2, &i) != 0)
        return;
    if (i < 0)
        i += (long long)l->len;
    if (i < 0 || i >= (long long)l->len) {
        reply_error(k, "ERR index out of range");
        return;
    }
    if (kv_list_set(l, (size_t)i, k->argv[3], k->argl[3]) != 0) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    settle(e, l);
    reply_ok(k);
}

void cmd_lrange(kv_call *k) {
    long long start, end;
    if (arg_ll(k, 2, &start) != 0 || arg_ll(k, 3, &end) != 0 || !key_type_ok(k, 1, KV_T_LIST))
        return;
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL || !kv_rank_range(&start, &end, (long long)l->len)) {
        reply_array(k, 0);
        return;
    }
    reply_array(k, (size_t)(end - start + 1));
    for (long long i = start; i <= end; i++) {
        kv_elem *el = kv_list_at(l, (size_t)i);
        reply_bulk(k, el->p, el->n);
    }
}

void cmd_ltrim(kv_call *k) {
    long long start, end;
    if (arg_ll(k, 2, &start) != 0 || arg_ll(k, 3, &end) != 0 || !key_type_ok(k, 1, KV_T_LIST))
        return;
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL) {
        reply_ok(k);
        return;
    }
    if (kv_rank_range(&start, &end, (long long)l->len))
        kv_list_trim(l, (size_t)start, (size_t)end, 1);
    else
        kv_list_trim(l, 0, 0, 0);
    settle(e, l);
    reply_ok(k);
}

static int same(const kv_elem *el, const char *p, size_t n) {
    return el->n == n && memcmp(el->p, p, n) == 0;
}

void cmd_linsert(kv_call *k) {
    int after;
    if (arg_is(k, 2, "after")) {
        after = 1;
    } else if (arg_is(k, 2, "before")) {
        after = 0;
    } else {
        reply_syntax_error(k);
        return;
    }
    if (!key_type_ok(k, 1, KV_T_LIST))
        return;
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL) {
        reply_int(k, 0);
        return;
    }
    for (size_t i = 0; i < l->len; i++) {
        if (same(kv_list_at(l, i), k->argv[3], k->argl[3])) {
            if (kv_list_insert(l, i + (size_t)after, k->argv[4], k->argl[4]) != 0) {
                reply_store_error(k, KV_ENOMEM);
                return;
            }
            settle(e, l);
            kv_keys_ready = 1;
            reply_int(k, (long long)l->len);
            return;
        }
    }
    reply_int(k, -1);
}

void cmd_lrem(kv_call *k) {
    long long count;
    if (arg_ll(k, 2, &count) != 0 || !key_type_ok(k, 1, KV_T_LIST))
        return;
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    if (l == NULL) {
        reply_int(k, 0);
        return;
    }
    long long removed = 0;
    if (count >= 0) {
        for (size_t i = 0; i < l->len && (count == 0 || removed < count);) {
            if (same(kv_list_at(l, i), k->argv[3], k->argl[3])) {
                kv_list_remove(l, i);
                removed++;
            } else {
                i++;
            }
        }
    } else {
        for (size_t i = l->len; i > 0 && removed < -count; i--) {
            if (same(kv_list_at(l, i - 1), k->argv[3], k->argl[3])) {
                kv_list_remove(l, i - 1);
                removed++;
            }
        }
    }
    if (removed > 0)
        settle(e, l);
    reply_int(k, removed);
}

/* LPOS's COUNT and MAXLEN value at argv[i]: an integer, not negative; -1 after
 * replying Redis's error. */
static int nonnegative_arg(kv_call *k, size_t i, const char *what, long long *out) {
    if (arg_ll(k, i, out) != 0)
        return -1;
    if (*out < 0) {
        reply_error(k, "ERR %s can't be negative", what);
        return -1;
    }
    return 0;
}

void cmd_lpos(kv_call *k) {
    long long rank = 1, count = -1, maxlen = 0;
    for (size_t j = 3; j < k->argc; j += 2) {
        if (j + 1 >= k->argc) {
            reply_syntax_error(k);
            return;
        }
        if (arg_is(k, j, "rank")) {
            if (arg_ll(k, j + 1, &rank) != 0)
                return;
            if (rank == 0) {
                reply_error(k, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                               "or use negative to start from the end of the list");
                return;
            }
            if (rank == LLONG_MIN) {
                reply_error(k, "ERR value is out of range");
                return;
            }
        } else if (arg_is(k, j, "count")) {
            if (nonnegative_arg(k, j + 1, "COUNT", &count) != 0)
                return;
        } else if (arg_is(k, j, "maxlen")) {
            if (nonnegative_arg(k, j + 1, "MAXLEN", &maxlen) != 0)
                return;
        } else {
            reply_syntax_error(k);
            return;
        }
    }
    if (!key_type_ok(k, 1, KV_T_LIST))
        return;
    kv_entry *e;
    kv_list *l = list_at(k, 1, &e);
    int want_array = count != -1;
    if (l == NULL) {
        if (want_array)
            reply_array(k, 0);
        else
            reply_nil(k);
        return;
    }
    /* Matches in order from the chosen end: skip rank - 1, then take count (0: all). */
    size_t len = l->len, found = 0;
    long long *at = want_array ? malloc((len ? len : 1) * sizeof *at) : NULL;
    if (want_array && at == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    long long skip = (rank > 0 ? rank : -rank) - 1, first = -1;
    for (size_t step = 0; step < len && (maxlen == 0 || (long long)step < maxlen); step++) {
        size_t i = rank > 0 ? step : len - 1 - step;
        if (!same(kv_list_at(l, i), k->argv[2], k->argl[2]))
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        if (!want_array) {
            first = (long long)i;
            break;
        }
        at[found++] = (long long)i;
        if (count != 0 && (long long)found == count)
            break;
    }
    if (!want_array) {
        if (first < 0)
            reply_nil(k);
        else
            reply_int(k, first);
        return;
    }
    reply_array(k, found);
    for (size_t i = 0; i < found; i++)
        reply_int(k, at[i]);
    free(at);
}

/* LMOVE and RPOPLPUSH: pops from src's `from` end, pushes at dst's `to` end. */
static void move_generic(kv_call *k, int from_left, int to_left) {
    kv_entry *se;
    kv_list *src = list_at(k, 1, &se);
    if (se == NULL) {
        reply_nil(k);
        return;
    }
    if (se->type != KV_T_LIST || !key_type_ok(k, 2, KV_T_LIST)) {
        if (se->type != KV_T_LIST)
            reply_wrong_type(k);
        return;
    }
    kv_elem el;
    kv_list_pop(src, from_left, &el);
    int same_key = k->argl[1] == k->argl[2] && memcmp(k->argv[1], k->argv[2], k->argl[1]) == 0;
    kv_entry *de;
    kv_list *dst = same_key ? src : list_at(k, 2, &de);
    if (same_key)
        de = se;
    if (dst == NULL && (dst = list_for_write(k, 2, &de)) == NULL) {
        kv_list_push(src, from_left, el.p, el.n); /* put it back */
        free(el.p);
        return;
    }
    if (kv_list_push(dst, to_left, el.p, el.n) != 0) {
        kv_list_push(src, from_left, el.p, el.n);
        free(el.p);
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    reply_bulk(k, el.p, el.n);
    free(el.p);
    if (!same_key)
        settle(se, src);
    settle(de, dst);
    kv_keys_ready = 1;
}

void cmd_rpoplpush(kv_call *k) { move_generic(k, 0, 1); }

void cmd_lmove(kv_call *k) {
    int sides[2];
    if (list_sides(k, 3, sides) == 0)
        move_generic(k, sides[0], sides[1]);
}
