/* kv_cmd_zset.c - sorted set commands: ZADD (NX XX GT LT CH INCR) ZINCRBY
 * ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANGE (BYSCORE
 * BYLEX REV LIMIT WITHSCORES) ZRANGESTORE ZREVRANGE ZRANGEBYSCORE
 * ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP
 * ZREMRANGEBYRANK ZREMRANGEBYSCORE ZSCAN ZRANDMEMBER, with Redis 7.0's replies (scores printed "%.17g",
 * infinities "inf"/"-inf") and errors.  A sorted set whose last member goes
 * is deleted. */
#include "kv_cmd.h"
#include "kv_config.h"
#include "kv_zset.h"

#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kv_zset *zset_at(kv_call *k, size_t i, kv_entry **ep) {
    kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
    *ep = e;
    return e == NULL || e->type != KV_T_ZSET ? NULL : e->obj;
}

static void settle(kv_entry *e, kv_zset *z) {
    if (z->len == 0)
        kv_delete_entry(e);
    else
        kv_charge_object(e, kv_zset_bytes_used(z));
}

void zset_store(kv_call *k, size_t dst, kv_zset *z) {
    if (z->len == 0) {
        kv_zset_free(z);
        kv_delete(k->argv[dst], k->argl[dst], kv_now_ms);
        reply_int(k, 0);
        return;
    }
    int created, err;
    kv_entry *d = kv_find_or_create(k->argv[dst], k->argl[dst], kv_now_ms, &created, &err);
    if (d == NULL) {
        kv_zset_free(z);
        reply_store_error(k, err);
        return;
    }
    kv_set_object(d, KV_T_ZSET, z);
    kv_set_expire(d, KV_NO_EXPIRE);
    kv_charge_object(d, kv_zset_bytes_used(z));
    kv_keys_ready = 1;
    reply_int(k, (long long)z->len);
}

void reply_score(kv_call *k, double d) {
    if (isinf(d)) {
        reply_cstr(k, d > 0 ? "inf" : "-inf");
        return;
    }
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.17g", d);
    reply_bulk(k, buf, (size_t)n);
}

int kv_parse_double(const char *s, size_t n, double *out) {
    char buf[512];
    if (n == 0 || n >= sizeof buf || isspace((unsigned char)s[0]))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if ((size_t)(end - buf) != n || isnan(v) ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)))
        return -1;
    *out = v;
    return 0;
}

static int arg_double(kv_call *k, size_t i, double *out) {
    if (kv_parse_double(k->argv[i], k->argl[i], out) == 0)
        return 0;
    reply_error(k, "ERR value is not a valid float");
    return -1;
}

/* ---- ZADD, ZINCRBY, ZREM ------------------------------------------------- */

enum { Z_NX = 1, Z_XX = 2, Z_GT = 4, Z_LT = 8, Z_CH = 16, Z_INCR = 32 };

static void zadd_generic(kv_call *k, int flags, size_t first) {
    size_t j = first;
    for (; j < k->argc; j++) {
        if (arg_is(k, j, "nx"))
            flags |= Z_NX;
        else if (arg_is(k, j, "xx"))
            flags |= Z_XX;
        else if (arg_is(k, j, "gt"))
            flags |= Z_GT;
        else if (arg_is(k, j, "lt"))
            flags |= Z_LT;
        else if (arg_is(k, j, "ch"))
            flags |= Z_CH;
        else if (arg_is(k, j, "incr"))
            flags |= Z_INCR;
        else
            break;
    }
    size_t pairs = k->argc - j;
    if (pairs == 0 || pairs % 2 != 0) {
        reply_syntax_error(k);
        return;
    }
    if ((flags & Z_NX) && (flags & Z_XX)) {
        reply_error(k, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if (((flags & Z_GT) && (flags & Z_NX)) || ((flags & Z_LT) && (flags & Z_NX)) || ((flags & Z_GT) && (flags & Z_LT))) {
        reply_error(k, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if ((flags & Z_INCR) && pairs > 2) {
        reply_error(k, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = malloc(pairs / 2 * sizeof *scores);
    if (scores == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    for (size_t p = 0; p < pairs / 2; p++) {
        if (arg_double(k, j + 2 * p, &scores[p]) != 0) {
            free(scores);
            return;
        }
        if (k->argl[j + 2 * p + 1] > KV_MAX_KEY_BYTES) {
            free(scores);
            reply_error(k, "ERR member too large (limit %d bytes)", KV_MAX_KEY_BYTES);
            return;
        }
    }
    if (!key_type_ok(k, 1, KV_T_ZSET)) {
        free(scores);
        return;
    }
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    if (z == NULL) {
        if (flags & Z_XX) {
            free(scores);
            if (flags & Z_INCR)
                reply_nil(k);
            else
                reply_int(k, 0);
            return;
        }
        int created, err;
        e = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms, &created, &err);
        if (e == NULL || (z = kv_zset_new()) == NULL) {
            if (e != NULL)
                kv_delete_entry(e);
            free(scores);
            reply_store_error(k, e == NULL ? err : KV_ENOMEM);
            return;
        }
        kv_set_object(e, KV_T_ZSET, z);
    }
    long long added = 0, changed = 0;
    double result = 0;
    int done = 0;
    for (size_t p = 0; p < pairs / 2; p++) {
        const char *m = k->argv[j + 2 * p + 1];
        size_t n = k->argl[j + 2 * p + 1];
        double old, score = scores[p];
        int exists = kv_zset_score(z, m, n, &old);
        if ((exists && (flags & Z_NX)) || (!exists && (flags & Z_XX)))
            continue;
        if (flags & Z_INCR) {
            score = exists ? old + score : score;
            if (isnan(score)) {
                settle(e, z);
                free(scores);
                reply_error(k, "ERR resulting score is not a number (NaN)");
                return;
            }
        }
        if (exists && (((flags & Z_GT) && score <= old) || ((flags & Z_LT) && score >= old)))
            continue;
        int r = kv_zset_set(z, m, n, score);
        if (r < 0) {
            settle(e, z);
            free(scores);
            reply_store_error(k, KV_ENOMEM);
            return;
        }
        added += r;
        changed += r || (exists && old != score);
        result = score;
        done = 1;
    }
    free(scores);
    settle(e, z);
    if (added > 0)
        kv_keys_ready = 1; /* clients blocked on the key (BZPOPMIN & co.) may be served */
    if (flags & Z_INCR) {
        if (done)
            reply_score(k, result);
        else
            reply_nil(k);
    } else {
        reply_int(k, (flags & Z_CH) ? changed : added);
    }
}

void cmd_zadd(kv_call *k) { zadd_generic(k, 0, 2); }

void cmd_zincrby(kv_call *k) {
    /* ZINCRBY key increment member is ZADD key INCR increment member. */
    char *argv[4] = {k->argv[0], k->argv[1], k->argv[2], k->argv[3]};
    size_t argl[4] = {k->argl[0], k->argl[1], k->argl[2], k->argl[3]};
    kv_call z = *k;
    z.argv = argv;
    z.argl = argl;
    zadd_generic(&z, Z_INCR, 2);
}

void cmd_zrem(kv_call *k) {
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    long long n = 0;
    for (size_t i = 2; z != NULL && i < k->argc; i++)
        n += kv_zset_remove(z, k->argv[i], k->argl[i]);
    if (z != NULL && n > 0)
        settle(e, z);
    reply_int(k, n);
}

/* ---- reads ---------------------------------------------------------------- */

void cmd_zscore(kv_call *k) {
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    double s;
    if (z == NULL || !kv_zset_score(z, k->argv[2], k->argl[2], &s))
        reply_nil(k);
    else
        reply_score(k, s);
}

void cmd_zmscore(kv_call *k) {
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    reply_array(k, k->argc - 2);
    for (size_t i = 2; i < k->argc; i++) {
        double s;
        if (z == NULL || !kv_zset_score(z, k->argv[i], k->argl[i], &s))
            reply_nil(k);
        else
            reply_score(k, s);
    }
}

void cmd_zcard(kv_call *k) {
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    reply_int(k, z == NULL ? 0 : (long long)z->len);
}

static void rank_generic(kv_call *k, int rev) {
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    long long r = z == NULL ? -1 : kv_zset_rank(z, k->argv[2], k->argl[2]);
    if (r < 0)
        reply_nil(k);
    else
        reply_int(k, rev ? (long long)z->len - 1 - r : r);
}

void cmd_zrank(kv_call *k) { rank_generic(k, 0); }
void cmd_zrevrank(kv_call *k) { rank_generic(k, 1); }

/* A score bound: "(x" exclusive, else inclusive; 0, or -1 when not a float. */
/* As Redis's zslParseRange reads one: strtod over the rest, anything but NaN. */
static int score_bound(const char *s, size_t n, double *v, int *excl) {
    char buf[512];
    *excl = n > 0 && s[0] == '(';
    s += *excl;
    n -= (size_t)*excl;
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    *v = strtod(buf, &end);
    return *end != '\0' || (size_t)(end - buf) != n || isnan(*v) ? -1 : 0;
}

/* A lex bound: "-" (lowest), "+" (highest), "[x" inclusive, "(x" exclusive. */
typedef struct {
    int kind; /* -1 lowest, 1 highest, 0 a member */
    const char *m;
    size_t n;
    int excl;
} lex_bound;

static int lex_bound_parse(const char *s, size_t n, lex_bound *b) {
    memset(b, 0, sizeof *b);
    if (n == 1 && s[0] == '-') {
        b->kind = -1;
    } else if (n == 1 && s[0] == '+') {
        b->kind = 1;
    } else if (n >= 1 && (s[0] == '[' || s[0] == '(')) {
        b->excl = s[0] == '(';
        b->m = s + 1;
        b->n = n - 1;
    } else {
        return -1;
    }
    return 0;
}

/* Positions [*from, *to) of members within [min, max] by score. */
static void score_span(const kv_zset *z, double min, int minx, double max, int maxx, size_t *from, size_t *to) {
    *from = kv_zset_score_lower(z, min, minx);
    *to = kv_zset_score_lower(z, max, !maxx);
    if (*to < *from)
        *to = *from;
}

static int lex_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c != 0 ? c : (an > bn) - (an < bn);
}

static int gte_min(const kv_zitem *it, const lex_bound *min) {
    if (min->kind != 0)
        return min->kind == -1;
    int c = lex_cmp(it->m, it->n, min->m, min->n);
    return min->excl ? c > 0 : c >= 0;
}

static int lte_max(const kv_zitem *it, const lex_bound *max) {
    if (max->kind != 0)
        return max->kind == 1;
    int c = lex_cmp(it->m, it->n, max->m, max->n);
    return max->excl ? c < 0 : c <= 0;
}

/* The positions of a lex range as redis-server finds them in a listpack: the
 * range must overlap [first, last]; forward, from the first member >= min
 * while members are <= max; reversed, from the last member <= max back while
 * members are >= min. (Members of equal score are in lex order, so this is the
 * plain range; with mixed scores it is what redis-server answers.) */
static void lex_span(const kv_zset *z, const lex_bound *min, const lex_bound *max, int rev, size_t *from, size_t *to) {
    *from = *to = 0;
    if (z->len == 0 || min->kind == 1 || max->kind == -1)
        return;
    if (min->kind == 0 && max->kind == 0) {
        int c = lex_cmp(min->m, min->n, max->m, max->n);
        if (c > 0 || (c == 0 && (min->excl || max->excl)))
            return;
    }
    if (!gte_min(&z->a[z->len - 1], min) || !lte_max(&z->a[0], max))
        return;
    if (!rev) {
        size_t i = 0;
        while (i < z->len && !gte_min(&z->a[i], min))
            i++;
        size_t j = i;
        while (j < z->len && lte_max(&z->a[j], max))
            j++;
        *from = i;
        *to = j;
    } else {
        size_t i = z->len;
        while (i > 0 && !lte_max(&z->a[i - 1], max))
            i--;
        size_t j = i;
        while (j > 0 && gte_min(&z->a[j - 1], min))
            j--;
        *from = j;
        *to = i;
    }
}

/* The min and max of ZCOUNT and ZREMRANGEBYSCORE (argv[2], argv[3]), then the
 * key's type, in redis-server's order; -1 after replying the error. */
static int score_range_args(kv_call *k, double *min, int *minx, double *max, int *maxx) {
    if (score_bound(k->argv[2], k->argl[2], min, minx) != 0 || score_bound(k->argv[3], k->argl[3], max, maxx) != 0) {
        reply_error(k, "ERR min or max is not a float");
        return -1;
    }
    return key_type_ok(k, 1, KV_T_ZSET) ? 0 : -1;
}

void cmd_zcount(kv_call *k) {
    double min, max;
    int minx, maxx;
    if (score_range_args(k, &min, &minx, &max, &maxx) != 0)
        return;
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    size_t from = 0, to = 0;
    if (z != NULL)
        score_span(z, min, minx, max, maxx, &from, &to);
    reply_int(k, (long long)(to - from));
}

void cmd_zlexcount(kv_call *k) {
    lex_bound min, max;
    if (lex_bound_parse(k->argv[2], k->argl[2], &min) != 0 || lex_bound_parse(k->argv[3], k->argl[3], &max) != 0) {
        reply_error(k, "ERR min or max not valid string range item");
        return;
    }
    if (!key_type_ok(k, 1, KV_T_ZSET))
        return;
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    size_t from = 0, to = 0;
    if (z != NULL)
        lex_span(z, &min, &max, 0, &from, &to);
    reply_int(k, (long long)(to - from));
}

/* ---- ranges ------------------------------------------------------------- */

enum { R_RANK, R_SCORE, R_LEX };

/* The positions a range takes from [from, to): skipping `offset` from its
 * start (the top when rev) and at most `limit` of them (-1: all); *first is
 * the lowest position taken.  The count taken. */
static size_t span_take(size_t from, size_t to, int rev, long long offset, long long limit, size_t *first) {
    size_t n = to - from;
    if (offset < 0 || (size_t)offset >= n)
        return 0;
    size_t take = n - (size_t)offset;
    if (limit >= 0 && (size_t)limit < take)
        take = (size_t)limit;
    *first = rev ? to - (size_t)offset - take : from + (size_t)offset;
    return take;
}

/* Replies `take` positions from `first` up, or walking down when rev. */
static void reply_span(kv_call *k, const kv_zset *z, size_t first, size_t take, int rev, int scores) {
    reply_array(k, take * (scores ? 2 : 1));
    for (size_t i = 0; i < take; i++) {
        const kv_zitem *it = &z->a[rev ? first + take - 1 - i : first + i];
        reply_bulk(k, it->m, it->n);
        if (scores)
            reply_score(k, it->score);
    }
}

/* ZRANGESTORE: positions [first, first + take) of z, copied under argv[dst].
 * A rank range knows its size first: past the listpack limit redis-server
 * makes a skiplist from the start (a -0 score stays -0). */
static void store_span(kv_call *k, size_t dst, const kv_zset *z, size_t first, size_t take, int rank) {
    kv_zset *r = kv_zset_new();
    if (r != NULL && rank && (long long)take > kv_cfg_zset_max_entries)
        r->skiplist = 1;
    for (size_t i = 0; r != NULL && i < take; i++) {
        if (kv_zset_set(r, z->a[first + i].m, z->a[first + i].n, z->a[first + i].score) < 0) {
            kv_zset_free(r);
            r = NULL;
        }
    }
    if (r == NULL)
        reply_store_error(k, KV_ENOMEM);
    else
        zset_store(k, dst, r);
}

/* ZRANGE and its older forms, and ZRANGESTORE (dst > 0: the destination's
 * argv index): the key at argv[at], min/max after it, options after them. */
static void range_generic(kv_call *k, size_t at, size_t dst, int type, int rev, int allow_options) {
    int scores = 0;
    long long offset = 0, limit = -1;
    for (size_t j = at + 3; j < k->argc; j++) {
        size_t left = k->argc - j - 1;
        if (dst == 0 && arg_is(k, j, "withscores")) {
            scores = 1;
        } else if (arg_is(k, j, "limit") && left >= 2) {
            if (arg_ll(k, j + 1, &offset) != 0 || arg_ll(k, j + 2, &limit) != 0)
                return;
            j += 2;
        } else if (allow_options && !rev && arg_is(k, j, "rev")) {
            rev = 1;
        } else if (allow_options && type == R_RANK && arg_is(k, j, "bylex")) {
            type = R_LEX;
        } else if (allow_options && type == R_RANK && arg_is(k, j, "byscore")) {
            type = R_SCORE;
        } else {
            reply_syntax_error(k);
            return;
        }
    }
    /* As Redis: a LIMIT whose count is -1 is no limit, so ranks accept it. */
    if (limit != -1 && type == R_RANK) {
        reply_error(k, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (scores && type == R_LEX) {
        reply_error(k, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    size_t lo = at + 1, hi = at + 2;
    if (rev && type != R_RANK) {
        lo = at + 2;
        hi = at + 1;
    }
    long long start = 0, end = 0;
    double min = 0, max = 0;
    int minx = 0, maxx = 0;
    lex_bound lmin, lmax;
    if (type == R_RANK) {
        if (arg_ll(k, lo, &start) != 0 || arg_ll(k, hi, &end) != 0)
            return;
    } else if (type == R_SCORE) {
        if (score_bound(k->argv[lo], k->argl[lo], &min, &minx) != 0 || score_bound(k->argv[hi], k->argl[hi], &max, &maxx) != 0) {
            reply_error(k, "ERR min or max is not a float");
            return;
        }
    } else if (lex_bound_parse(k->argv[lo], k->argl[lo], &lmin) != 0 ||
               lex_bound_parse(k->argv[hi], k->argl[hi], &lmax) != 0) {
        reply_error(k, "ERR min or max not valid string range item");
        return;
    }
    if (!key_type_ok(k, at, KV_T_ZSET))
        return;
    kv_entry *e;
    kv_zset *z = zset_at(k, at, &e);
    size_t from = 0, to = 0;
    if (z != NULL && type == R_RANK) {
        long long len = (long long)z->len;
        if (kv_rank_range(&start, &end, len)) {
            /* Ranks count from the highest when reversed. */
            from = rev ? (size_t)(len - 1 - end) : (size_t)start;
            to = rev ? (size_t)(len - start) : (size_t)end + 1;
        }
        offset = 0;
        limit = -1;
    } else if (z != NULL && type == R_SCORE) {
        score_span(z, min, minx, max, maxx, &from, &to);
    } else if (z != NULL) {
        lex_span(z, &lmin, &lmax, rev, &from, &to);
    }
    size_t first = 0, take = span_take(from, to, rev, offset, limit, &first);
    if (dst > 0)
        store_span(k, dst, z, first, take, type == R_RANK);
    else
        reply_span(k, z, first, take, rev, scores);
}

void cmd_zrange(kv_call *k) { range_generic(k, 1, 0, R_RANK, 0, 1); }
void cmd_zrangestore(kv_call *k) { range_generic(k, 2, 1, R_RANK, 0, 1); }
void cmd_zrevrange(kv_call *k) { range_generic(k, 1, 0, R_RANK, 1, 0); }
void cmd_zrangebyscore(kv_call *k) { range_generic(k, 1, 0, R_SCORE, 0, 0); }
void cmd_zrevrangebyscore(kv_call *k) { range_generic(k, 1, 0, R_SCORE, 1, 0); }
void cmd_zrangebylex(kv_call *k) { range_generic(k, 1, 0, R_LEX, 0, 0); }
void cmd_zrevrangebylex(kv_call *k) { range_generic(k, 1, 0, R_LEX, 1, 0); }

/* ---- ZPOPMIN, ZPOPMAX, ZREMRANGEBY* -------------------------------------- */

void zset_pop_reply(kv_call *k, kv_entry *e, int max, long long count, int shape) {
    kv_zset *z = e->obj;
    size_t n = (unsigned long long)count < z->len ? (size_t)count : z->len;
    if (shape == ZPOP_FLAT) {
        reply_array(k, n * 2);
    } else if (shape == ZPOP_KEYED) {
        reply_array(k, n * 2 + 1);
        reply_bulk(k, e->key, e->klen);
    } else {
        reply_array(k, 2);
        reply_bulk(k, e->key, e->klen);
        reply_array(k, n);
    }
    for (size_t i = 0; i < n; i++) {
        const kv_zitem *it = max ? &z->a[z->len - 1 - i] : &z->a[i];
        if (shape == ZPOP_NESTED)
            reply_array(k, 2);
        reply_bulk(k, it->m, it->n);
        reply_score(k, it->score);
    }
    if (max)
        kv_zset_remove_range(z, z->len - n, z->len);
    else
        kv_zset_remove_range(z, 0, n);
    settle(e, z);
}

static void pop_generic(kv_call *k, int max) {
    long long count = 1;
    int has_count = k->argc == 3;
    if (k->argc > 3) {
        reply_syntax_error(k);
        return;
    }
    if (has_count && (resp_parse_ll(k->argv[2], k->argl[2], &count) != 0 || count < 0)) {
        reply_error(k, "ERR value is out of range, must be positive");
        return;
    }
    if (!key_type_ok(k, 1, KV_T_ZSET))
        return;
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    if (z == NULL || count == 0)
        reply_array(k, 0);
    else
        zset_pop_reply(k, e, max, count, ZPOP_FLAT);
}

void cmd_zpopmin(kv_call *k) { pop_generic(k, 0); }
void cmd_zpopmax(kv_call *k) { pop_generic(k, 1); }

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first key
 * that exists (a null array when none does). */
void cmd_zmpop(kv_call *k) {
    long long nkeys, count;
    int min, wrong;
    if (mpop_args(k, 1, "min", "max", &nkeys, &min, &count) != 0)
        return;
    kv_entry *e = first_existing(k, 2, (size_t)nkeys, KV_T_ZSET, &wrong);
    if (e != NULL)
        zset_pop_reply(k, e, !min, count, ZPOP_NESTED);
    else if (!wrong)
        reply_raw(k, "*-1\r\n");
}

void cmd_zremrangebyrank(kv_call *k) {
    long long start, end;
    if (arg_ll(k, 2, &start) != 0 || arg_ll(k, 3, &end) != 0 || !key_type_ok(k, 1, KV_T_ZSET))
        return;
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    if (z == NULL) {
        reply_int(k, 0);
        return;
    }
    if (!kv_rank_range(&start, &end, (long long)z->len)) {
        reply_int(k, 0);
        return;
    }
    kv_zset_remove_range(z, (size_t)start, (size_t)end + 1);
    settle(e, z);
    reply_int(k, end - start + 1);
}

void cmd_zremrangebyscore(kv_call *k) {
    double min, max;
    int minx, maxx;
    if (score_range_args(k, &min, &minx, &max, &maxx) != 0)
        return;
    kv_entry *e;
    kv_zset *z = zset_at(k, 1, &e);
    if (z == NULL) {
        reply_int(k, 0);
        return;
    }
    size_t from, to;
    score_span(z, min, minx, max, maxx, &from, &to);
    kv_zset_remove_range(z, from, to);
    if (to > from)
        settle(e, z);
    reply_int(k, (long long)(to - from));
}

/* ---- ZSCAN, ZRANDMEMBER ---------------------------------------------------- */

/* A score as a listpack holds it (Redis's d2string): integral values within
 * +-2^62 as integers, others as reply_score prints them. */
static void reply_listpack_score(kv_call *k, double d) {
    if (d != 0 && !isinf(d) && d >= -4611686018427387903.0 && d <= 4611686018427387903.0 && d == (double)(long long)d) {
        char buf[24];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)d);
        reply_bulk(k, buf, (size_t)n);
        return;
    }
    reply_score(k, d);
}

/* ZSCAN key cursor [MATCH p] [COUNT n]: a sorted set redis-server keeps as a
 * listpack is answered whole, in order, its scores as the listpack holds
 * them; a bigger one in steps of COUNT positions (redis-server walks its
 * dict there, in an order of its own). */
void cmd_zscan(kv_call *k) {
    scan_args a;
    kv_entry *e = collection_scan_start(k, KV_T_ZSET, &a);
    if (e == NULL)
        return;
    kv_zset *z = e->obj;
    size_t from, to;
    size_t next = scan_window(&a, z->len, !z->skiplist, &from, &to);
    size_t matched = 0;
    for (size_t i = from; i < to; i++)
        matched += scan_matches(&a, z->a[i].m, z->a[i].n);
    reply_scan_head(k, next, matched * 2);
    for (size_t i = from; i < to; i++) {
        if (!scan_matches(&a, z->a[i].m, z->a[i].n))
            continue;
        reply_bulk(k, z->a[i].m, z->a[i].n);
        if (z->skiplist)
            reply_score(k, z->a[i].score);
        else
            reply_listpack_score(k, z->a[i].score);
    }
}

static void reply_member(kv_call *k, const kv_zitem *it, int withscores) {
    reply_bulk(k, it->m, it->n);
    if (withscores)
        reply_score(k, it->score);
}

/* ZRANDMEMBER key [count [WITHSCORES]]: members drawn from the guest's
 * deterministic random stream (the same on every replica); a negative count
 * may repeat them, and is bounded as SRANDMEMBER's. */
void cmd_zrandmember(kv_call *k) {
    long long count = 1;
    int withscores = 0, single = k->argc == 2;
    if (!single) {
        if (arg_ll(k, 2, &count) != 0)
            return;
        if (count == LLONG_MIN) {
            reply_error(k, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        if (k->argc > 4 || (k->argc == 4 && !arg_is(k, 3, "withscores"))) {
            reply_syntax_error(k);
            return;
        }
        withscores = k->argc == 4;
        if ((withscores && (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2)) || count < -KV_MAX_RANDOM_PICKS) {
            /* Redis's bound with WITHSCORES; past what one frame's work may answer, refused as SRANDMEMBER does. */
            reply_error(k, "ERR value is out of range");
            return;
        }
    }
    kv_entry *e = kv_find(k->argv[1], k->argl[1], kv_now_ms);
    if (e == NULL) {
        if (single)
            reply_nil(k);
        else
            reply_array(k, 0);
        return;
    }
    if (e->type != KV_T_ZSET) {
        reply_wrong_type(k);
        return;
    }
    kv_zset *z = e->obj;
    if (single) {
        reply_member(k, &z->a[kv_random_below(z->len)], 0);
        return;
    }
    if (count < 0) {
        size_t want = (size_t)(-count);
        reply_array(k, want * (withscores ? 2 : 1));
        for (size_t i = 0; i < want; i++)
            reply_member(k, &z->a[kv_random_below(z->len)], withscores);
        return;
    }
    /* Distinct members: a partial Fisher-Yates shuffle of the positions. */
    size_t want = (unsigned long long)count < z->len ? (size_t)count : z->len;
    size_t *pos = malloc((z->len ? z->len : 1) * sizeof *pos);
    if (pos == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    for (size_t i = 0; i < z->len; i++)
        pos[i] = i;
    reply_array(k, want * (withscores ? 2 : 1));
    for (size_t i = 0; i < want; i++) {
        size_t j = i + kv_random_below(z->len - i), t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
        reply_member(k, &z->a[pos[i]], withscores);
    }
    free(pos);
}
