/* kv_cmd_strings.c - string commands: GET SET SETNX SETEX PSETEX GETSET
 * GETDEL GETEX MSET MSETNX MGET INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND
 * STRLEN, with Redis 7's replies and error wordings. */
#include "kv_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kv_entry *find_arg(kv_call *k, size_t i) {
    return kv_find(k->argv[i], k->argl[i], kv_now_ms);
}

static void reply_value(kv_call *k, const kv_entry *e) {
    if (e == NULL || e->type != KV_T_STRING) /* MGET answers nil for a key of another type */
        reply_nil(k);
    else
        reply_bulk(k, e->val, e->vlen);
}

void cmd_get(kv_call *k) { reply_value(k, find_arg(k, 1)); }

void cmd_strlen(kv_call *k) {
    kv_entry *e = find_arg(k, 1);
    reply_int(k, e != NULL ? (long long)e->vlen : 0);
}

/* Stores argv[vi] under argv[ki] with the given expiry (KV_NO_EXPIRE: none,
 * or keep the old one when keep_ttl). Returns KV_OK or an error (replied
 * unless `replied`: a command that already answered with the old value
 * checked kv_fits() first, so only a failing malloc gets here). */
static int store_as(kv_call *k, size_t ki, size_t vi, int64_t expire_ms,
                    int keep_ttl, int replied) {
    int created, err;
    kv_entry *e = kv_find_or_create(k->argv[ki], k->argl[ki], kv_now_ms,
                                    &created, &err);
    if (e != NULL)
        err = kv_set_value(e, k->argv[vi], k->argl[vi]);
    if (err != KV_OK) {
        if (e != NULL && created)
            kv_delete_entry(e);
        if (!replied)
            reply_store_error(k, err);
        return err;
    }
    if (!keep_ttl)
        kv_set_expire(e, expire_ms);
    return KV_OK;
}

static int store(kv_call *k, size_t ki, size_t vi, int64_t expire_ms,
                 int keep_ttl) {
    return store_as(k, ki, vi, expire_ms, keep_ttl, 0);
}

/* Replies the store error and returns 0 if argv[vi] cannot be stored under
 * argv[ki] (whose entry is old, or NULL). */
static int fits(kv_call *k, size_t ki, size_t vi, const kv_entry *old) {
    int err = kv_fits(k->argl[ki], k->argl[vi], old);
    if (err == KV_OK)
        return 1;
    reply_store_error(k, err);
    return 0;
}

/* ---- SET and its options --------------------------------------------- */

typedef struct {
    int nx, xx, get, keep_ttl;
    int expire_arg;  /* argv index of the EX/PX/EXAT/PXAT value, 0: none */
    int unit_ms;     /* 1000 for seconds, 1 for milliseconds */
    int absolute;    /* EXAT/PXAT */
} set_options;

static int expire_option(const kv_call *k, size_t j, set_options *o) {
    static const struct { const char *word; int unit_ms, absolute; } opts[] = {
        {"ex", 1000, 0}, {"px", 1, 0}, {"exat", 1000, 1}, {"pxat", 1, 1}};
    for (size_t i = 0; i < 4; i++) {
        if (!arg_is(k, j, opts[i].word))
            continue;
        if (o->keep_ttl || (o->expire_arg && (o->unit_ms != opts[i].unit_ms ||
                                              o->absolute != opts[i].absolute)))
            return 0;
        if (j + 1 >= k->argc)
            return 0;
        o->expire_arg = (int)j + 1;
        o->unit_ms = opts[i].unit_ms;
        o->absolute = opts[i].absolute;
        return 1;
    }
    return 0;
}

/* Parses argv[from..]; replies "syntax error" and returns -1 when wrong. */
static int parse_set_options(kv_call *k, size_t from, set_options *o) {
    memset(o, 0, sizeof *o);
    for (size_t j = from; j < k->argc; j++) {
        if (arg_is(k, j, "nx") && !o->xx) {
            o->nx = 1;
        } else if (arg_is(k, j, "xx") && !o->nx) {
            o->xx = 1;
        } else if (arg_is(k, j, "get")) {
            o->get = 1;
        } else if (arg_is(k, j, "keepttl") && !o->expire_arg) {
            o->keep_ttl = 1;
        } else if (expire_option(k, j, o)) {
            j++;
        } else {
            reply_syntax_error(k);
            return -1;
        }
    }
    return 0;
}

/* Absolute expiry time from a relative or absolute amount, as Redis checks
 * it; replies "invalid expire time" and returns -1 when out of range. */
static int expire_time(kv_call *k, long long amount, int unit_ms, int absolute,
                       int64_t *out) {
    if (amount <= 0 || (unit_ms == 1000 && amount > LLONG_MAX / 1000))
        goto invalid;
    amount *= unit_ms;
    if (!absolute) {
        if (amount > LLONG_MAX - kv_now_ms)
            goto invalid;
        amount += kv_now_ms;
    }
    *out = amount;
    return 0;
invalid:
    reply_error(k, "ERR invalid expire time in '%s' command", k->name);
    return -1;
}

void cmd_set(kv_call *k) {
    set_options o;
    int64_t expire_ms = KV_NO_EXPIRE;
    long long amount;
    if (parse_set_options(k, 3, &o) != 0)
        return;
    if (o.expire_arg) {
        if (arg_ll(k, (size_t)o.expire_arg, &amount) != 0 ||
            expire_time(k, amount, o.unit_ms, o.absolute, &expire_ms) != 0)
            return;
    }
    kv_entry *old = find_arg(k, 1);
    if (o.get && old != NULL && old->type != KV_T_STRING) {
        reply_wrong_type(k);
        return;
    }
    if ((o.nx && old != NULL) || (o.xx && old == NULL)) {
        if (o.get)
            reply_value(k, old);
        else
            reply_nil(k);
        return;
    }
    if (o.get) {
        if (!fits(k, 1, 2, old))
            return;
        reply_value(k, old);
    }
    if (store_as(k, 1, 2, expire_ms, o.keep_ttl, o.get) == KV_OK && !o.get)
        reply_ok(k);
}

void cmd_setnx(kv_call *k) {
    if (find_arg(k, 1) != NULL) {
        reply_int(k, 0);
        return;
    }
    if (store(k, 1, 2, KV_NO_EXPIRE, 0) == KV_OK)
        reply_int(k, 1);
}

static void set_with_ttl(kv_call *k, int unit_ms) {
    long long amount;
    int64_t expire_ms;
    if (arg_ll(k, 2, &amount) != 0 ||
        expire_time(k, amount, unit_ms, 0, &expire_ms) != 0)
        return;
    if (store(k, 1, 3, expire_ms, 0) == KV_OK)
        reply_ok(k);
}

void cmd_setex(kv_call *k) { set_with_ttl(k, 1000); }
void cmd_psetex(kv_call *k) { set_with_ttl(k, 1); }

void cmd_getset(kv_call *k) {
    kv_entry *old = find_arg(k, 1);
    if (!fits(k, 1, 2, old))
        return;
    reply_value(k, old);
    store_as(k, 1, 2, KV_NO_EXPIRE, 0, 1);
}

void cmd_getdel(kv_call *k) {
    kv_entry *e = find_arg(k, 1);
    reply_value(k, e);
    if (e != NULL)
        kv_delete_entry(e);
}

void cmd_mset(kv_call *k) {
    if (k->argc % 2 != 1) {
        reply_arity(k, "mset");
        return;
    }
    for (size_t i = 1; i < k->argc; i += 2)
        if (store(k, i, i + 1, KV_NO_EXPIRE, 0) != KV_OK)
            return;
    reply_ok(k);
}

void cmd_mget(kv_call *k) {
    reply_array(k, k->argc - 1);
    for (size_t i = 1; i < k->argc; i++)
        reply_value(k, find_arg(k, i));
}

/* ---- counters -------------------------------------------------------- */

static void incr_by(kv_call *k, long long by) {
    int created, err;
    kv_entry *e = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms,
                                    &created, &err);
    if (e == NULL) {
        reply_store_error(k, err);
        return;
    }
    long long v = 0;
    if (!created && resp_parse_ll(e->val, e->vlen, &v) != 0) {
        reply_not_integer(k);
        return;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) ||
        (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        reply_error(k, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    err = kv_set_value(e, buf, (size_t)n); /* the expiry time stays */
    if (err != KV_OK) {
        if (created)
            kv_delete_entry(e);
        reply_store_error(k, err);
        return;
    }
    reply_int(k, v);
}

void cmd_incr(kv_call *k) { incr_by(k, 1); }
void cmd_decr(kv_call *k) { incr_by(k, -1); }

void cmd_incrby(kv_call *k) {
    long long by;
    if (arg_ll(k, 2, &by) == 0 && key_type_ok(k, 1, KV_T_STRING))
        incr_by(k, by);
}

void cmd_decrby(kv_call *k) {
    long long by;
    if (arg_ll(k, 2, &by) != 0)
        return;
    if (by == LLONG_MIN) {
        reply_error(k, "ERR decrement would overflow");
        return;
    }
    if (key_type_ok(k, 1, KV_T_STRING))
        incr_by(k, -by);
}

void cmd_append(kv_call *k) {
    int created, err;
    kv_entry *e = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms,
                                    &created, &err);
    if (e == NULL) {
        reply_store_error(k, err);
        return;
    }
    if (e->vlen + k->argl[2] > KV_MAX_VALUE_BYTES) {
        if (created)
            kv_delete_entry(e);
        reply_error(k, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    /* A new key takes the argument as its value (Redis stores it as it came: OBJECT ENCODING may say int or embstr). */
    err = created ? kv_set_value(e, k->argv[2], k->argl[2]) : kv_append(e, k->argv[2], k->argl[2]);
    if (err != KV_OK) {
        if (created)
            kv_delete_entry(e);
        reply_store_error(k, err);
        return;
    }
    reply_int(k, (long long)e->vlen);
}

/* ---- GETEX, MSETNX, INCRBYFLOAT ----------------------------------------- */

void cmd_getex(kv_call *k) {
    int64_t expire_ms = KV_NO_EXPIRE;
    int persist = 0, expire_arg = 0, unit_ms = 0, absolute = 0;
    static const struct { const char *word; int unit_ms, absolute; } opts[] = {
        {"ex", 1000, 0}, {"px", 1, 0}, {"exat", 1000, 1}, {"pxat", 1, 1}};
    for (size_t j = 2; j < k->argc; j++) {
        int matched = 0;
        for (size_t i = 0; i < 4 && !matched; i++) {
            if (arg_is(k, j, opts[i].word) && !expire_arg && !persist && j + 1 < k->argc) {
                expire_arg = (int)++j;
                unit_ms = opts[i].unit_ms;
                absolute = opts[i].absolute;
                matched = 1;
            }
        }
        if (matched)
            continue;
        if (arg_is(k, j, "persist") && !expire_arg && !persist) {
            persist = 1;
        } else {
            reply_syntax_error(k);
            return;
        }
    }
    long long amount;
    if (expire_arg && (arg_ll(k, (size_t)expire_arg, &amount) != 0 ||
                       expire_time(k, amount, unit_ms, absolute, &expire_ms) != 0))
        return;
    if (!key_type_ok(k, 1, KV_T_STRING))
        return;
    kv_entry *e = find_arg(k, 1);
    reply_value(k, e);
    if (e == NULL)
        return;
    if (expire_arg && expire_ms <= kv_now_ms)
        kv_delete_entry(e); /* an expiry time already past deletes the key, as Redis does */
    else if (expire_arg)
        kv_set_expire(e, expire_ms);
    else if (persist)
        kv_set_expire(e, KV_NO_EXPIRE);
}

void cmd_msetnx(kv_call *k) {
    if (k->argc % 2 != 1) {
        reply_arity(k, "msetnx");
        return;
    }
    for (size_t i = 1; i < k->argc; i += 2) {
        if (find_arg(k, i) != NULL) {
            reply_int(k, 0);
            return;
        }
    }
    for (size_t i = 1; i < k->argc; i += 2)
        if (store(k, i, i + 1, KV_NO_EXPIRE, 0) != KV_OK)
            return;
    reply_int(k, 1);
}

/* A Redis float argument: strtold over the whole string, no spaces, no NaN
 * (Redis's string2ld). */
int kv_parse_long_double(const char *s, size_t n, long double *out) {
    char buf[5120];
    if (n == 0 || n >= sizeof buf || isspace((unsigned char)s[0]))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if ((size_t)(end - buf) != n || (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) || isnan(v))
        return -1;
    *out = v;
    return 0;
}

/* Formats v as Redis's ld2string in its human mode: 17 digits after the
 * point, then trailing zeros (and a bare point) dropped; never "-0". */
int kv_format_long_double(char *buf, size_t cap, long double v) {
    if (v == 0)
        v = 0; /* no negative zero */
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n <= 0 || (size_t)n >= cap)
        return -1;
    if (strchr(buf, '.') != NULL) {
        while (n > 0 && buf[n - 1] == '0')
            n--;
        if (n > 0 && buf[n - 1] == '.')
            n--;
        buf[n] = '\0';
    }
    if (strcmp(buf, "-0") == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    return n;
}

/* v rounded to the 64-bit significand of the x87 extended precision that
 * Redis's long double has on x86-64 (wasm32's long double is IEEE quad):
 * the same inputs give the same digits as redis-server. */
long double kv_x87(long double v) {
    if (v == 0 || isnan(v) || isinf(v))
        return v;
    int e;
    long double m = frexpl(v, &e); /* v = m * 2^e, 0.5 <= |m| < 1 */
    return ldexpl(rintl(ldexpl(m, 64)), e - 64);
}

int kv_float_sum(kv_call *k, long double *v, long double by) {
    *v = kv_x87(kv_x87(*v) + kv_x87(by));
    if (isnan(*v) || isinf(*v)) {
        reply_error(k, "ERR increment would produce NaN or Infinity");
        return -1;
    }
    return 0;
}

void cmd_incrbyfloat(kv_call *k) {
    long double by, v = 0;
    if (kv_parse_long_double(k->argv[2], k->argl[2], &by) != 0) {
        reply_error(k, "ERR value is not a valid float");
        return;
    }
    kv_entry *e = find_arg(k, 1);
    if (e != NULL && kv_parse_long_double(e->val, e->vlen, &v) != 0) {
        reply_error(k, "ERR value is not a valid float");
        return;
    }
    if (kv_float_sum(k, &v, by) != 0)
        return;
    char buf[5200];
    int n = kv_format_long_double(buf, sizeof buf, v);
    if (n < 0) {
        reply_error(k, "ERR value is not a valid float");
        return;
    }
    int created, err;
    e = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms, &created, &err);
    if (e != NULL)
        err = kv_set_value(e, buf, (size_t)n); /* the expiry time stays */
    if (err != KV_OK) {
        if (e != NULL && created)
            kv_delete_entry(e);
        reply_store_error(k, err);
        return;
    }
    e->modified = 2; /* redis-server stores the result as a string object, never an int */
    reply_bulk(k, buf, (size_t)n);
}
