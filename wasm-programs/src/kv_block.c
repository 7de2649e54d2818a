/* kv_block.c - BLPOP BRPOP BLMOVE BRPOPLPUSH: a client whose lists are all
 * empty waits (its later commands wait behind it, as in Redis) until a push
 * gives one of its keys an element, served in the order clients blocked, or
 * until its timeout (guest time, which a poll timeout asks the sequencer to
 * bring as a frame) answers nil.  Inside MULTI they do not block. */
#include "kv_cmd.h"
#include "kv_list.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kv_blocked {
    conn_t *c;
    session *s;
    int left;         /* pop from the head */
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
int kv_lists_pushed;

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

/* A list key holding elements, or NULL. */
static kv_list *nonempty(const char *key, size_t klen) {
    kv_entry *e = kv_find(key, klen, kv_now_ms);
    return e != NULL && e->type == KV_T_LIST && ((kv_list *)e->obj)->len > 0 ? e->obj : NULL;
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
        kv_lists_pushed = 1;
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

/* Runs what a client that was blocked has buffered since. */
static void resume(conn_t *c, session *s) { resp_front_run(c, s); }

void kv_serve_blocked(void) {
    static int serving;
    if (serving)
        return;
    serving = 1;
    while (kv_lists_pushed) {
        kv_lists_pushed = 0;
        for (kv_blocked *b = first, *next; b != NULL; b = next) {
            next = b->next;
            for (size_t i = 0; i < b->nkeys; i++) {
                if (nonempty(b->keys[i], b->klens[i]) == NULL)
                    continue;
                conn_t *c = b->c;
                session *s = b->s;
                serve(c, s, b->keys[i], b->klens[i], b->left, b->move, b->dst, b->dlen, b->to_left);
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
            reply_raw(&k, b->move ? "$-1\r\n" : "*-1\r\n");
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

/* Blocks the client on argv[first..last]; replies an error when out of memory. */
static void block(kv_call *k, size_t from, size_t to, int left, int move, const char *dst, size_t dlen, int to_left,
                  int64_t deadline) {
    kv_blocked *b = calloc(1, sizeof *b);
    size_t n = to - from + 1;
    if (b != NULL) {
        b->keys = calloc(n, sizeof *b->keys);
        b->klens = calloc(n, sizeof *b->klens);
        b->dst = move ? dup_key(dst, dlen) : NULL;
    }
    int failed = b == NULL || b->keys == NULL || b->klens == NULL || (move && b->dst == NULL);
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
    b->left = left;
    b->move = move;
    b->to_left = to_left;
    b->dlen = dlen;
    b->deadline = deadline;
    if (last == NULL)
        first = b;
    else
        last->next = b;
    last = b;
    k->s->blocked = b;
}

static void bpop(kv_call *k, int left) {
    int64_t deadline;
    if (timeout_arg(k, k->argc - 1, &deadline) != 0)
        return;
    for (size_t i = 1; i + 1 < k->argc; i++)
        if (!key_type_ok(k, i, KV_T_LIST))
            return;
    for (size_t i = 1; i + 1 < k->argc; i++) {
        if (nonempty(k->argv[i], k->argl[i]) != NULL) {
            serve(k->c, k->s, k->argv[i], k->argl[i], left, 0, NULL, 0, 0);
            return;
        }
    }
    if (k->s->in_exec) {
        reply_raw(k, "*-1\r\n");
        return;
    }
    block(k, 1, k->argc - 2, left, 0, NULL, 0, 0, deadline);
}

void cmd_blpop(kv_call *k) { bpop(k, 1); }
void cmd_brpop(kv_call *k) { bpop(k, 0); }

static void bmove(kv_call *k, int from_left, int to_left, size_t timeout_at) {
    int64_t deadline;
    if (timeout_arg(k, timeout_at, &deadline) != 0)
        return;
    if (!key_type_ok(k, 1, KV_T_LIST))
        return;
    if (nonempty(k->argv[1], k->argl[1]) != NULL) {
        serve(k->c, k->s, k->argv[1], k->argl[1], from_left, 1, k->argv[2], k->argl[2], to_left);
        return;
    }
    if (k->s->in_exec) {
        reply_nil(k);
        return;
    }
    block(k, 1, 1, from_left, 1, k->argv[2], k->argl[2], to_left, deadline);
}

void cmd_brpoplpush(kv_call *k) { bmove(k, 0, 1, 3); }

void cmd_blmove(kv_call *k) {
    int sides[2];
    if (list_sides(k, 3, sides) == 0)
        bmove(k, sides[0], sides[1], 5);
}
