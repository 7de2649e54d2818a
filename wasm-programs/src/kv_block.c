/* kv_block.c - BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP:
 * a client whose keys are all empty waits (its later commands wait behind it,
 * as in Redis) until a write gives one of its keys elements of the type it
 * waits for (a push, ZADD, a STORE, RENAME), served in the order clients
 * blocked, or until its timeout (guest time, which a poll timeout asks the
 * sequencer to bring as a frame) answers a null array.  Inside MULTI they do
 * not block: they answer as at a timeout (BLMOVE a nil). */
#include "kv_cmd.h"
#include "kv_list.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a client waits for: list elements to pop or to move, sorted set members to pop. */
enum { B_LIST, B_MOVE, B_ZSET };

typedef struct kv_blocked {
    conn_t *c;
    session *s;
    int kind;
    int left;         /* pop from the head, or the lowest scores */
    long long count;  /* BLMPOP/BZMPOP: up to count, answered nested; 0: one (BLPOP, BZPOPMIN) */
    int move;         /* BLMOVE / BRPOPLPUSH: push onto dst */
    int to_left;
    char **keys;
    size_t *klens;
    size_t nkeys;
    char *dst;
    size_t dlen;
    int64_t deadline; /* 0: none */
    struct kv_blocked *next;
} kv_blocked;

static kv_blocked *first, *last;
int kv_keys_ready;

static void free_blocked(kv_blocked *b) {
    for (size_t i = 0; i < b->nkeys; i++)
        free(b->keys[i]);
    free(b->keys);
    free(b->klens);
    free(b->dst);
    free(b);
}

void kv_unblock(session *s) {
    kv_blocked **link = &first, *prev = NULL;
    for (; *link != NULL; prev = *link, link = &(*link)->next) {
        if ((*link)->s == s) {
            kv_blocked *b = *link;
            *link = b->next;
            if (last == b)
                last = prev;
            free_blocked(b);
            break;
        }
    }
    s->blocked = NULL;
}

/* Whether key holds what b waits for (collections are never empty). */
static int ready(const kv_blocked *b, const char *key, size_t klen) {
    kv_entry *e = kv_find(key, klen, kv_now_ms);
    return e != NULL && e->type == (b->kind == B_ZSET ? KV_T_ZSET : KV_T_LIST);
}

/* Pops from key's list and answers c: [key, element], or for a move the
 * element pushed onto dst. 0, or -1 when dst holds another type (answered). */
static int serve(conn_t *c, session *s, const char *key, size_t klen, int left, int move, const char *dst, size_t dlen,
                 int to_left) {
    kv_call k = {c, s, 0, NULL, NULL, move ? "blmove" : left ? "blpop" : "brpop"};
    kv_entry *e = kv_find(key, klen, kv_now_ms);
    kv_list *l = e->obj;
    if (move) {
        kv_entry *d = kv_find(dst, dlen, kv_now_ms);
        if (d != NULL && d->type != KV_T_LIST) {
            reply_wrong_type(&k);
            return -1;
        }
    }
    kv_elem el;
    kv_list_pop(l, left, &el);
    if (move) {
        int created, err;
        kv_entry *d = kv_find_or_create(dst, dlen, kv_now_ms, &created, &err);
        if (d != NULL && created) {
            kv_list *nl = kv_list_new();
            if (nl == NULL) {
                kv_delete_entry(d);
                d = NULL;
            } else {
                kv_set_object(d, KV_T_LIST, nl);
            }
        }
        if (d == NULL || kv_list_push(d->obj, to_left, el.p, el.n) != 0) {
            kv_list_push(l, left, el.p, el.n);
            free(el.p);
            reply_store_error(&k, KV_ENOMEM);
            return -1;
        }
        kv_charge_object(d, kv_list_bytes_used(d->obj));
        kv_keys_ready = 1;
        reply_bulk(&k, el.p, el.n);
    } else {
        reply_array(&k, 2);
        reply_bulk(&k, key, klen);
        reply_bulk(&k, el.p, el.n);
    }
    free(el.p);
    e = kv_find(key, klen, kv_now_ms);
    if (e != NULL && e->type == KV_T_LIST) {
        if (((kv_list *)e->obj)->len == 0)
            kv_delete_entry(e);
        else
            kv_charge_object(e, kv_list_bytes_used(e->obj));
    }
    return 0;
}

/* Answers b's client from e, which holds what it waits for. */
static void answer(const kv_blocked *b, kv_entry *e) {
    kv_call k = {b->c, b->s, 0, NULL, NULL, b->kind == B_ZSET ? "bzpopmin" : "blpop"};
    if (b->kind == B_ZSET)
        zset_pop_reply(&k, e, !b->left, b->count > 0 ? b->count : 1, b->count > 0 ? ZPOP_NESTED : ZPOP_KEYED);
    else if (b->kind == B_LIST && b->count > 0)
        list_pop_reply(&k, e, b->left, b->count);
    else
        serve(b->c, b->s, e->key, e->klen, b->left, b->move, b->dst, b->dlen, b->to_left);
}

/* Runs what a client that was blocked has buffered since. */
static void resume(conn_t *c, session *s) { resp_front_run(c, s); }

void kv_serve_blocked(void) {
    static int serving;
    if (serving)
        return;
    serving = 1;
    while (kv_keys_ready) {
        kv_keys_ready = 0;
        for (kv_blocked *b = first, *next; b != NULL; b = next) {
            next = b->next;
            for (size_t i = 0; i < b->nkeys; i++) {
                if (!ready(b, b->keys[i], b->klens[i]))
                    continue;
                conn_t *c = b->c;
                session *s = b->s;
                answer(b, kv_find(b->keys[i], b->klens[i], kv_now_ms));
                kv_unblock(s);
                resume(c, s);
                next = first; /* the list may have changed under us: start over */
                break;
            }
        }
    }
    serving = 0;
}

int kv_block_tick(void) {
    int64_t soonest = 0;
    for (kv_blocked *b = first, *next; b != NULL; b = next) {
        next = b->next;
        if (b->deadline == 0)
            continue;
        if (kv_now_ms >= b->deadline) {
            conn_t *c = b->c;
            session *s = b->s;
            kv_call k = {c, s, 0, NULL, NULL, ""};
            reply_raw(&k, "*-1\r\n"); /* Redis 7.0 answers every blocking pop's timeout so, BLMOVE's too */
            kv_unblock(s);
            resume(c, s);
            next = first;
            soonest = 0;
            continue;
        }
        if (soonest == 0 || b->deadline < soonest)
            soonest = b->deadline;
    }
    if (soonest == 0)
        return -1;
    int64_t wait = soonest - kv_now_ms;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Redis's timeout argument: seconds, a float; *ms 0 for none. */
static int timeout_arg(kv_call *k, size_t i, int64_t *deadline) {
    char buf[64];
    if (k->argl[i] == 0 || k->argl[i] >= sizeof buf) {
        reply_error(k, "ERR timeout is not a float or out of range");
        return -1;
    }
    memcpy(buf, k->argv[i], k->argl[i]);
    buf[k->argl[i]] = '\0';
    char *end;
    errno = 0;
    long double t = strtold(buf, &end);
    if (*end != '\0' || isnan(t) || isinf(t) || errno == ERANGE || t * 1000 > (long double)LLONG_MAX / 2) {
        reply_error(k, "ERR timeout is not a float or out of range");
        return -1;
    }
    if (t < 0) {
        reply_error(k, "ERR timeout is negative");
        return -1;
    }
    long long ms = (long long)(t * 1000);
    *deadline = ms == 0 && t == 0 ? 0 : kv_now_ms + (ms > 0 ? ms : 1);
    return 0;
}

static char *dup_key(const char *p, size_t n) {
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Blocks the client on argv[from, from + n), waiting as `how` says (its kind,
 * sides, count, and BLMOVE's destination); replies an error when out of memory. */
static void block(kv_call *k, size_t from, size_t n, const kv_blocked *how, int64_t deadline) {
    kv_blocked *b = calloc(1, sizeof *b);
    if (b != NULL) {
        *b = *how;
        b->keys = calloc(n, sizeof *b->keys);
        b->klens = calloc(n, sizeof *b->klens);
        b->dst = how->dst != NULL ? dup_key(how->dst, how->dlen) : NULL;
    }
    int failed = b == NULL || b->keys == NULL || b->klens == NULL || (how->dst != NULL && b->dst == NULL);
    for (size_t i = 0; !failed && i < n; i++) {
        b->keys[i] = dup_key(k->argv[from + i], k->argl[from + i]);
        b->klens[i] = k->argl[from + i];
        b->nkeys = i + 1;
        failed = b->keys[i] == NULL;
    }
    if (failed) {
        if (b != NULL)
            free_blocked(b);
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    b->c = k->c;
    b->s = k->s;
    b->deadline = deadline;
    b->next = NULL;
    if (last == NULL)
        first = b;
    else
        last->next = b;
    last = b;
    k->s->blocked = b;
}

/* Every blocking pop: served at once from the first of its keys that exists
 * (types checked only up to it, as redis-server does), else answered as at a
 * timeout inside MULTI, else blocked. */
static void pop_or_block(kv_call *k, size_t from, size_t n, kv_blocked *how, int64_t deadline) {
    int wrong;
    kv_entry *e = first_existing(k, from, n, how->kind == B_ZSET ? KV_T_ZSET : KV_T_LIST, &wrong);
    if (wrong)
        return;
    if (e != NULL) {
        how->c = k->c;
        how->s = k->s;
        answer(how, e);
    } else if (k->s->in_exec) {
        reply_raw(k, how->kind == B_MOVE ? "$-1\r\n" : "*-1\r\n");
    } else {
        block(k, from, n, how, deadline);
    }
}

static void bpop(kv_call *k, int left) {
    int64_t deadline;
    kv_blocked how = {.kind = B_LIST, .left = left};
    if (timeout_arg(k, k->argc - 1, &deadline) == 0)
        pop_or_block(k, 1, k->argc - 2, &how, deadline);
}

void cmd_blpop(kv_call *k) { bpop(k, 1); }
void cmd_brpop(kv_call *k) { bpop(k, 0); }

static void bmove(kv_call *k, int from_left, int to_left, size_t timeout_at) {
    int64_t deadline;
    kv_blocked how = {.kind = B_MOVE, .left = from_left, .move = 1, .to_left = to_left,
                      .dst = k->argv[2], .dlen = k->argl[2]};
    if (timeout_arg(k, timeout_at, &deadline) == 0)
        pop_or_block(k, 1, 1, &how, deadline);
}

void cmd_brpoplpush(kv_call *k) { bmove(k, 0, 1, 3); }

void cmd_blmove(kv_call *k) {
    int sides[2];
    if (list_sides(k, 3, sides) == 0)
        bmove(k, sides[0], sides[1], 5);
}

/* BLMPOP and BZMPOP: timeout numkeys key [key ...] <side> [COUNT count]; the
 * timeout is read after the rest, as redis-server reads it. */
static void bmpop(kv_call *k, int kind, const char *first_word, const char *second_word) {
    long long nkeys, count;
    int side;
    int64_t deadline;
    if (mpop_args(k, 2, first_word, second_word, &nkeys, &side, &count) != 0 || timeout_arg(k, 1, &deadline) != 0)
        return;
    kv_blocked how = {.kind = kind, .left = side, .count = count};
    pop_or_block(k, 3, (size_t)nkeys, &how, deadline);
}

void cmd_blmpop(kv_call *k) { bmpop(k, B_LIST, "left", "right"); }
void cmd_bzmpop(kv_call *k) { bmpop(k, B_ZSET, "min", "max"); }

static void bzpop(kv_call *k, int min) {
    int64_t deadline;
    kv_blocked how = {.kind = B_ZSET, .left = min};
    if (timeout_arg(k, k->argc - 1, &deadline) == 0)
        pop_or_block(k, 1, k->argc - 2, &how, deadline);
}

void cmd_bzpopmin(kv_call *k) { bzpop(k, 1); }
void cmd_bzpopmax(kv_call *k) { bzpop(k, 0); }
