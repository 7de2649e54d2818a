/* kv_cmd.h - the RESP commands of the kv server: the call a handler gets,
 * the reply writers, and the handlers (kv_cmd_strings.c, kv_cmd_keys.c,
 * kv_cmd_server.c), dispatched through the table in kv_resp.c. */
#ifndef KV_CMD_H
#define KV_CMD_H

#include <stddef.h>

#include "kv.h"
#include "kv_store.h"
#include "kv_zset.h"

/* One command being run. */
typedef struct {
    conn_t *c;
    session *s;
    size_t argc;
    char **argv;        /* NUL-terminated, may hold NULs: use argl */
    const size_t *argl;
    const char *name;   /* the command's lower-case name, for errors */
} kv_call;

typedef void (*kv_handler)(kv_call *k);

/* ---- replies (RESP2) ------------------------------------------------- */
void reply_raw(kv_call *k, const char *s);       /* bytes as they are */
void reply_status(kv_call *k, const char *s);    /* +s\r\n */
void reply_help(kv_call *k, const char *const *lines, size_t n); /* a HELP subcommand: n status lines */
void reply_ok(kv_call *k);                       /* +OK\r\n */
void reply_error(kv_call *k, const char *fmt, ...) /* -fmt\r\n */
    __attribute__((format(printf, 2, 3)));
void reply_int(kv_call *k, long long v);         /* :v\r\n */
void reply_bulk(kv_call *k, const char *p, size_t n);
void reply_cstr(kv_call *k, const char *s);      /* bulk of a C string */
void reply_nil(kv_call *k);                      /* $-1\r\n */
void reply_array(kv_call *k, size_t n);          /* *n\r\n, n items follow */

/* Redis's wordings. */
void reply_syntax_error(kv_call *k);
void reply_not_integer(kv_call *k);
void reply_arity(kv_call *k, const char *name);  /* wrong number of arguments */
void reply_store_error(kv_call *k, int err);     /* KV_EFULL / KV_ENOMEM */
void reply_unknown_subcommand(kv_call *k, const char *cmd);

/* ---- arguments ------------------------------------------------------- */
/* argv[i] as a long long, or replies "value is not an integer" and -1. */
int arg_ll(kv_call *k, size_t i, long long *out);
/* argv[i] equals word, ASCII case-insensitively. */
int arg_is(const kv_call *k, size_t i, const char *word);


/* Redis's float arguments (string2ld): 0, or -1 when not a valid float. */
int kv_parse_long_double(const char *s, size_t n, long double *out);
/* v rounded to x87 extended precision, as redis-server computes on x86-64. */
long double kv_x87(long double v);
/* *v += by as INCRBYFLOAT and HINCRBYFLOAT add (kv_x87); -1 after replying
 * Redis's error when the sum is NaN or infinite. */
int kv_float_sum(kv_call *k, long double *v, long double by);
/* A long double as Redis prints it (ld2string, human mode); its length or -1. */
int kv_format_long_double(char *buf, size_t cap, long double v);
/* A number in [0, n) from the guest's deterministic random stream. */
size_t kv_random_below(size_t n);
/* Whether argv[i] is missing or holds a value of `type`; replies WRONGTYPE
 * and returns 0 otherwise (for commands that check their arguments first). */
int key_type_ok(kv_call *k, size_t i, int type);
/* LRANGE's index rule (also LTRIM, ZRANGE by rank, ZREMRANGEBYRANK): negative
 * indexes count from the end, then clamp to a length of len; 0 when empty. */
int kv_rank_range(long long *start, long long *end, long long len);
/* LMOVE's and BLMOVE's LEFT|RIGHT pair at argv[at], argv[at + 1] (1 for
 * LEFT); -1 after a syntax error. */
int list_sides(kv_call *k, size_t at, int sides[2]);
/* Replies WRONGTYPE. */
void reply_wrong_type(kv_call *k);

/* The first of the keys argv[from, from + n) that exists, their types
 * checked in Redis's order (only up to it, as the blocking and MPOP pops
 * do): its entry; NULL when none exists, or (with *wrong set) after replying
 * WRONGTYPE. */
kv_entry *first_existing(kv_call *k, size_t from, size_t n, int type, int *wrong);
/* LMPOP's and ZMPOP's "numkeys key [key ...] <side> [COUNT count]" from
 * argv[at] (the numkeys), side one of the two words (*first: 1 for the
 * first, LEFT or MIN); *count 1 when not given.  0, or -1 after replying. */
int mpop_args(kv_call *k, size_t at, const char *first_word, const char *second_word, long long *nkeys, int *first,
              long long *count);

/* ---- sorted sets shared with the blocking pops (kv_cmd_zset.c) -------- */
/* A score as redis-server replies one ("%.17g", "inf", "-inf"). */
void reply_score(kv_call *k, double d);
/* A float argument as Redis reads one (getDoubleFromObject): 0, or -1. */
int kv_parse_double(const char *s, size_t n, double *out);
/* Puts z under the key argv[dst] (replacing its value and expiry) and replies
 * its size; an empty z deletes the key instead and replies 0.  Takes z. */
void zset_store(kv_call *k, size_t dst, kv_zset *z);
/* The shapes of a pop's reply: ZPOPMIN's flat pairs, BZPOPMIN's key then one
 * pair, ZMPOP's key then an array of pairs. */
enum { ZPOP_FLAT, ZPOP_KEYED, ZPOP_NESTED };
/* Pops up to count (>= 1) members from e's lowest (or highest) end and replies
 * them in `shape`; deletes the key when it empties. */
void zset_pop_reply(kv_call *k, kv_entry *e, int max, long long count, int shape);
/* LMPOP's pop: up to count elements from e's head (or tail), replied as the
 * key then an array; deletes the key when it empties (kv_cmd_list.c). */
void list_pop_reply(kv_call *k, kv_entry *e, int left, long long count);

/* ---- SCAN and the collections' HSCAN SSCAN ZSCAN (kv_cmd_keys.c) ------ */
typedef struct {
    uint64_t cursor;
    long long count;
    const char *pat;    /* MATCH, or NULL */
    size_t plen;
    kv_glob glob;       /* pat compiled */
    int type;           /* SCAN's TYPE: the type to keep; -1 any; -2 a name of no type here */
} scan_args;
/* HSCAN/SSCAN/ZSCAN key cursor [MATCH p] [COUNT n], read in Redis's order:
 * the cursor, the key (a missing one answers an empty scan, whatever the
 * options), its type, then the options.  The key's entry, or NULL after
 * replying. */
kv_entry *collection_scan_start(kv_call *k, int type, scan_args *a);
/* Whether an item is kept: no MATCH, or it matches. */
int scan_matches(const scan_args *a, const char *s, size_t n);
/* The positions [from, to) of `total` one call visits: all of them when the
 * collection is compact (redis-server answers listpacks and intsets whole),
 * else COUNT from the cursor.  Returns the next cursor (0: done). */
size_t scan_window(const scan_args *a, size_t total, int whole, size_t *from, size_t *to);
/* *2, the next cursor, and the head of an array of `items` that follow. */
void reply_scan_head(kv_call *k, size_t next, size_t items);

/* ---- handlers -------------------------------------------------------- */
/* strings */
void cmd_get(kv_call *k);
void cmd_set(kv_call *k);
void cmd_setnx(kv_call *k);
void cmd_setex(kv_call *k);
void cmd_psetex(kv_call *k);
void cmd_getset(kv_call *k);
void cmd_getdel(kv_call *k);
void cmd_mset(kv_call *k);
void cmd_mget(kv_call *k);
void cmd_incr(kv_call *k);
void cmd_decr(kv_call *k);
void cmd_incrby(kv_call *k);
void cmd_decrby(kv_call *k);
void cmd_append(kv_call *k);
void cmd_strlen(kv_call *k);
void cmd_getex(kv_call *k);
void cmd_msetnx(kv_call *k);
void cmd_incrbyfloat(kv_call *k);
/* parts of strings (kv_cmd_ranges.c) */
void cmd_getrange(kv_call *k);
void cmd_setrange(kv_call *k);
void cmd_getbit(kv_call *k);
void cmd_setbit(kv_call *k);
void cmd_bitcount(kv_call *k);
void cmd_bitpos(kv_call *k);
void cmd_lcs(kv_call *k);
/* hashes (kv_cmd_hash.c) */
void cmd_hset(kv_call *k);
void cmd_hmset(kv_call *k);
void cmd_hsetnx(kv_call *k);
void cmd_hget(kv_call *k);
void cmd_hmget(kv_call *k);
void cmd_hdel(kv_call *k);
void cmd_hexists(kv_call *k);
void cmd_hlen(kv_call *k);
void cmd_hstrlen(kv_call *k);
void cmd_hkeys(kv_call *k);
void cmd_hvals(kv_call *k);
void cmd_hgetall(kv_call *k);
void cmd_hincrby(kv_call *k);
void cmd_hincrbyfloat(kv_call *k);
void cmd_hrandfield(kv_call *k);
void cmd_hscan(kv_call *k);
/* lists (kv_cmd_list.c) */
void cmd_lpush(kv_call *k);
void cmd_rpush(kv_call *k);
void cmd_lpushx(kv_call *k);
void cmd_rpushx(kv_call *k);
void cmd_lpop(kv_call *k);
void cmd_rpop(kv_call *k);
void cmd_llen(kv_call *k);
void cmd_lindex(kv_call *k);
void cmd_lset(kv_call *k);
void cmd_lrange(kv_call *k);
void cmd_ltrim(kv_call *k);
void cmd_linsert(kv_call *k);
void cmd_lrem(kv_call *k);
void cmd_lpos(kv_call *k);
void cmd_lmove(kv_call *k);
void cmd_rpoplpush(kv_call *k);
void cmd_lmpop(kv_call *k);
/* blocking (kv_block.c) */
void cmd_blpop(kv_call *k);
void cmd_brpop(kv_call *k);
void cmd_brpoplpush(kv_call *k);
void cmd_blmove(kv_call *k);
void cmd_blmpop(kv_call *k);
void cmd_bzpopmin(kv_call *k);
void cmd_bzpopmax(kv_call *k);
void cmd_bzmpop(kv_call *k);
/* sets (kv_cmd_set.c) */
void cmd_sadd(kv_call *k);
void cmd_srem(kv_call *k);
void cmd_smembers(kv_call *k);
void cmd_sismember(kv_call *k);
void cmd_smismember(kv_call *k);
void cmd_scard(kv_call *k);
void cmd_spop(kv_call *k);
void cmd_srandmember(kv_call *k);
void cmd_smove(kv_call *k);
void cmd_sinter(kv_call *k);
void cmd_sunion(kv_call *k);
void cmd_sdiff(kv_call *k);
void cmd_sinterstore(kv_call *k);
void cmd_sunionstore(kv_call *k);
void cmd_sdiffstore(kv_call *k);
void cmd_sintercard(kv_call *k);
void cmd_sscan(kv_call *k);
/* sorted sets (kv_cmd_zset.c) */
void cmd_zadd(kv_call *k);
void cmd_zincrby(kv_call *k);
void cmd_zrem(kv_call *k);
void cmd_zscore(kv_call *k);
void cmd_zmscore(kv_call *k);
void cmd_zcard(kv_call *k);
void cmd_zcount(kv_call *k);
void cmd_zlexcount(kv_call *k);
void cmd_zrank(kv_call *k);
void cmd_zrevrank(kv_call *k);
void cmd_zrange(kv_call *k);
void cmd_zrevrange(kv_call *k);
void cmd_zrangebyscore(kv_call *k);
void cmd_zrevrangebyscore(kv_call *k);
void cmd_zrangebylex(kv_call *k);
void cmd_zrevrangebylex(kv_call *k);
void cmd_zpopmin(kv_call *k);
void cmd_zpopmax(kv_call *k);
void cmd_zremrangebyrank(kv_call *k);
void cmd_zremrangebyscore(kv_call *k);
void cmd_zrangestore(kv_call *k);
void cmd_zscan(kv_call *k);
void cmd_zrandmember(kv_call *k);
void cmd_zmpop(kv_call *k);
/* sorted set algebra (kv_cmd_zsetops.c) */
void cmd_zunionstore(kv_call *k);
void cmd_zinterstore(kv_call *k);
void cmd_zdiffstore(kv_call *k);
void cmd_zunion(kv_call *k);
void cmd_zinter(kv_call *k);
void cmd_zdiff(kv_call *k);
void cmd_zintercard(kv_call *k);
/* keyspace */
void cmd_del(kv_call *k);
void cmd_exists(kv_call *k);
void cmd_keys(kv_call *k);
void cmd_scan(kv_call *k);
void cmd_dbsize(kv_call *k);
void cmd_flushdb(kv_call *k);
void cmd_expire(kv_call *k);
void cmd_pexpire(kv_call *k);
void cmd_expireat(kv_call *k);
void cmd_pexpireat(kv_call *k);
void cmd_ttl(kv_call *k);
void cmd_pttl(kv_call *k);
void cmd_persist(kv_call *k);
void cmd_type(kv_call *k);
void cmd_expiretime(kv_call *k);
void cmd_pexpiretime(kv_call *k);
void cmd_rename(kv_call *k);
void cmd_renamenx(kv_call *k);
void cmd_copy(kv_call *k);
void cmd_object(kv_call *k);
void cmd_memory(kv_call *k);
void cmd_randomkey(kv_call *k);
/* connection and server */
void cmd_ping(kv_call *k);
void cmd_echo(kv_call *k);
void cmd_select(kv_call *k);
void cmd_quit(kv_call *k);
void cmd_time(kv_call *k);
void cmd_auth(kv_call *k);
void cmd_config(kv_call *k);
void cmd_command(kv_call *k);
void cmd_client(kv_call *k);
void cmd_info(kv_call *k);
void cmd_function(kv_call *k);

/* Names of all commands in the table (COMMAND COUNT / LIST). */
size_t kv_command_count(void);
const char *kv_command_name(size_t i);

#endif
