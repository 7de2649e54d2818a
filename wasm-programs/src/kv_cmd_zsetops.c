/* kv_cmd_zsetops.c - sorted set algebra: ZUNION ZINTER ZDIFF, their STORE
 * forms, and ZINTERCARD, with Redis 7.0's options (WEIGHTS, AGGREGATE
 * SUM|MIN|MAX, WITHSCORES, LIMIT), replies and errors.  Sets are inputs too,
 * every member scored 1, as in Redis.
 *
 * A score sums in the order redis-server adds it (floating point addition
 * does not associate): ZUNION and ZINTER take the inputs from the smallest
 * to the largest, a stable order for equal sizes (glibc's qsort merge sorts
 * such small arrays); ZINTER walks the smallest input.  A weighted score or
 * a sum that is NaN (inf * 0, inf + -inf) counts as 0, as in Redis.  The
 * result is sorted by (score, member) before it is replied or stored, so its
 * order is the sorted set's own. */
#include "kv_cmd.h"
#include "kv_config.h"
#include "kv_hash.h"
#include "kv_set.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

/* One input: a sorted set's items (borrowed), or a set's members scored 1
 * (an array of its own pointing into the set); a missing key is empty. */
typedef struct {
    kv_entry *e;
    kv_zitem *items;
    size_t n;
    int owned;
    double weight;
} zsrc;

typedef struct {
    int op;
    size_t numkeys_at;  /* argv index of numkeys */
    int store;          /* argv[1] is the destination */
    int card_only;      /* ZINTERCARD */
    zsrc *src;
    long long nsrc;
    int aggregate;
    int withscores;
    long long limit;    /* ZINTERCARD's LIMIT, 0: none */
} zop;

static void free_sources(zop *o) {
    for (long long i = 0; o->src != NULL && i < o->nsrc; i++)
        if (o->src[i].owned)
            free(o->src[i].items);
    free(o->src);
}

/* A set's members as items of score 1 (listing order); -1 out of memory. */
static int set_items(zsrc *s) {
    const kv_set *set = s->e->obj;
    size_t n = kv_set_card(set);
    kv_hfield **all = kv_set_members(set);
    s->items = malloc(n * sizeof *s->items);
    if (all == NULL || s->items == NULL) {
        free(all);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        s->items[i] = (kv_zitem){1.0, all[i]->field, all[i]->flen};
    free(all);
    s->n = n;
    s->owned = 1;
    return 0;
}

/* numkeys and the keys, as Redis reads them: a key of another type than a
 * sorted set or a set is refused before any option is read.  0, or -1. */
static int read_sources(kv_call *k, zop *o) {
    if (arg_ll(k, o->numkeys_at, &o->nsrc) != 0)
        return -1;
    if (o->nsrc < 1) {
        reply_error(k, "ERR at least 1 input key is needed for '%s' command", k->name);
        return -1;
    }
    if (o->nsrc > (long long)(k->argc - o->numkeys_at - 1)) {
        reply_syntax_error(k);
        return -1;
    }
    o->src = calloc((size_t)o->nsrc, sizeof *o->src);
    if (o->src == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return -1;
    }
    for (long long i = 0; i < o->nsrc; i++) {
        size_t at = o->numkeys_at + 1 + (size_t)i;
        zsrc *s = &o->src[i];
        s->weight = 1.0;
        s->e = kv_find(k->argv[at], k->argl[at], kv_now_ms);
        if (s->e == NULL)
            continue;
        if (s->e->type != KV_T_ZSET && s->e->type != KV_T_SET) {
            reply_wrong_type(k);
            return -1;
        }
        if (s->e->type == KV_T_ZSET) {
            s->items = ((kv_zset *)s->e->obj)->a;
            s->n = ((kv_zset *)s->e->obj)->len;
        } else if (set_items(s) != 0) {
            reply_store_error(k, KV_ENOMEM);
            return -1;
        }
    }
    return 0;
}

/* WEIGHTS, AGGREGATE, WITHSCORES and LIMIT, each where Redis takes it. */
static int read_options(kv_call *k, zop *o) {
    size_t j = o->numkeys_at + 1 + (size_t)o->nsrc;
    int algebra = o->op != OP_DIFF && !o->card_only;
    while (j < k->argc) {
        size_t left = k->argc - j;
        if (algebra && left >= (size_t)o->nsrc + 1 && arg_is(k, j, "weights")) {
            j++;
            for (long long i = 0; i < o->nsrc; i++, j++) {
                if (kv_parse_double(k->argv[j], k->argl[j], &o->src[i].weight) != 0) {
                    reply_error(k, "ERR weight value is not a float");
                    return -1;
                }
            }
        } else if (algebra && left >= 2 && arg_is(k, j, "aggregate")) {
            if (arg_is(k, j + 1, "sum")) {
                o->aggregate = AGG_SUM;
            } else if (arg_is(k, j + 1, "min")) {
                o->aggregate = AGG_MIN;
            } else if (arg_is(k, j + 1, "max")) {
                o->aggregate = AGG_MAX;
            } else {
                reply_syntax_error(k);
                return -1;
            }
            j += 2;
        } else if (!o->store && !o->card_only && arg_is(k, j, "withscores")) {
            o->withscores = 1;
            j++;
        } else if (o->card_only && left >= 2 && arg_is(k, j, "limit")) {
            long long limit;
            if (resp_parse_ll(k->argv[j + 1], k->argl[j + 1], &limit) != 0 || limit < 0) {
                reply_error(k, "ERR LIMIT can't be negative");
                return -1;
            }
            o->limit = limit;
            j += 2;
        } else {
            reply_syntax_error(k);
            return -1;
        }
    }
    return 0;
}

static void aggregate(double *into, double v, int how) {
    if (how == AGG_SUM) {
        *into += v;
        if (isnan(*into))
            *into = 0.0; /* inf + -inf */
    } else if (how == AGG_MIN) {
        *into = v < *into ? v : *into;
    } else {
        *into = v > *into ? v : *into;
    }
}

static double weighted(double score, double weight) {
    double v = score * weight;
    return isnan(v) ? 0.0 : v;
}

/* A member's score in an input: 1 and *score when it is there. */
static int src_score(const zsrc *s, const char *m, size_t n, double *score) {
    if (s->e == NULL)
        return 0;
    if (s->e->type == KV_T_ZSET)
        return kv_zset_score(s->e->obj, m, n, score);
    *score = 1.0;
    return kv_set_has(s->e->obj, m, n);
}

/* Inputs from the smallest to the largest, equal sizes kept in order. */
static void sort_by_size(zop *o) {
    for (long long i = 1; i < o->nsrc; i++) {
        zsrc t = o->src[i];
        long long j = i;
        for (; j > 0 && o->src[j - 1].n > t.n; j--)
            o->src[j] = o->src[j - 1];
        o->src[j] = t;
    }
}

/* The result's items (members borrowed from the inputs or from acc) in
 * *out, *n of them; ZINTERCARD only counts.  0, or -1 out of memory. */
static int inter(zop *o, kv_zitem *out, size_t *n) {
    const zsrc *first = &o->src[0];
    for (size_t i = 0; i < first->n; i++) {
        const kv_zitem *it = &first->items[i];
        double score = weighted(it->score, first->weight), v;
        long long j = 1;
        for (; j < o->nsrc && src_score(&o->src[j], it->m, it->n, &v); j++)
            aggregate(&score, v * o->src[j].weight, o->aggregate);
        if (j < o->nsrc)
            continue;
        if (out != NULL)
            out[*n] = (kv_zitem){score, it->m, it->n};
        ++*n;
        if (o->card_only && o->limit > 0 && (long long)*n >= o->limit)
            break;
    }
    return 0;
}

static int diff(zop *o, kv_zitem *out, size_t *n) {
    const zsrc *first = &o->src[0];
    for (size_t i = 0; i < first->n; i++) {
        const kv_zitem *it = &first->items[i];
        double v;
        long long j = 1;
        while (j < o->nsrc && !src_score(&o->src[j], it->m, it->n, &v))
            j++;
        if (j == o->nsrc)
            out[(*n)++] = *it;
    }
    return 0;
}

/* Scores gathered per member in acc (member -> double), then listed. */
static int union_of(zop *o, kv_hash *acc, kv_zitem **out, size_t *n) {
    for (long long j = 0; j < o->nsrc; j++) {
        const zsrc *s = &o->src[j];
        for (size_t i = 0; i < s->n; i++) {
            double score = weighted(s->items[i].score, s->weight), have;
            kv_hfield *f = kv_hash_get(acc, s->items[i].m, s->items[i].n);
            if (f != NULL) {
                memcpy(&have, f->value, sizeof have);
                aggregate(&have, score, o->aggregate);
                memcpy(f->value, &have, sizeof have);
            } else if (kv_hash_set(acc, s->items[i].m, s->items[i].n, (const char *)&score, sizeof score) < 0) {
                return -1;
            }
        }
    }
    *out = malloc((acc->live ? acc->live : 1) * sizeof **out);
    if (*out == NULL)
        return -1;
    size_t slot = 0;
    for (kv_hfield *f; (f = kv_hash_next(acc, &slot)) != NULL;) {
        double score;
        memcpy(&score, f->value, sizeof score);
        (*out)[(*n)++] = (kv_zitem){score, f->field, f->flen};
    }
    return 0;
}

/* The sorted result as a new sorted set (for a STORE); NULL out of memory.
 * Its encoding is decided on the whole result, as redis-server converts its
 * result once at the end (a -0 score stays -0 in a skiplist). */
static kv_zset *as_zset(const kv_zitem *items, size_t n) {
    kv_zset *z = kv_zset_new();
    for (size_t i = 0; z != NULL && i < n; i++)
        if ((long long)items[i].n > kv_cfg_zset_max_value)
            z->skiplist = 1;
    if (z != NULL && (long long)n > kv_cfg_zset_max_entries)
        z->skiplist = 1;
    for (size_t i = 0; z != NULL && i < n; i++) {
        if (kv_zset_set(z, items[i].m, items[i].n, items[i].score) < 0) {
            kv_zset_free(z);
            z = NULL;
        }
    }
    return z;
}

static void reply_items(kv_call *k, const kv_zitem *items, size_t n, int withscores) {
    reply_array(k, n * (withscores ? 2 : 1));
    for (size_t i = 0; i < n; i++) {
        reply_bulk(k, items[i].m, items[i].n);
        if (withscores)
            reply_score(k, items[i].score);
    }
}

/* Computes and answers (or stores) the result of o's inputs. */
static void answer(kv_call *k, zop *o) {
    if (o->op != OP_DIFF)
        sort_by_size(o);
    kv_hash *acc = NULL;
    kv_zitem *items = NULL;
    size_t n = 0;
    int failed;
    if (o->op == OP_UNION) {
        failed = (acc = kv_hash_new()) == NULL || union_of(o, acc, &items, &n) != 0;
    } else if (o->card_only) {
        failed = inter(o, NULL, &n) != 0;
    } else {
        items = malloc((o->src[0].n ? o->src[0].n : 1) * sizeof *items);
        failed = items == NULL || (o->op == OP_INTER ? inter(o, items, &n) : diff(o, items, &n)) != 0;
    }
    if (failed) {
        reply_store_error(k, KV_ENOMEM);
    } else if (o->card_only) {
        reply_int(k, (long long)n);
    } else {
        qsort(items, n, sizeof *items, kv_zitem_cmp);
        if (!o->store) {
            reply_items(k, items, n, o->withscores);
        } else {
            kv_zset *z = as_zset(items, n);
            if (z == NULL)
                reply_store_error(k, KV_ENOMEM);
            else
                zset_store(k, 1, z);
        }
    }
    free(items);
    kv_hash_free(acc);
}

static void zop_generic(kv_call *k, int op, int store, int card_only) {
    zop o = {op, store ? 2 : 1, store, card_only, NULL, 0, AGG_SUM, 0, 0};
    if (read_sources(k, &o) == 0 && read_options(k, &o) == 0)
        answer(k, &o);
    free_sources(&o);
}

void cmd_zunionstore(kv_call *k) { zop_generic(k, OP_UNION, 1, 0); }
void cmd_zinterstore(kv_call *k) { zop_generic(k, OP_INTER, 1, 0); }
void cmd_zdiffstore(kv_call *k) { zop_generic(k, OP_DIFF, 1, 0); }
void cmd_zunion(kv_call *k) { zop_generic(k, OP_UNION, 0, 0); }
void cmd_zinter(kv_call *k) { zop_generic(k, OP_INTER, 0, 0); }
void cmd_zdiff(kv_call *k) { zop_generic(k, OP_DIFF, 0, 0); }
void cmd_zintercard(kv_call *k) { zop_generic(k, OP_INTER, 0, 1); }
