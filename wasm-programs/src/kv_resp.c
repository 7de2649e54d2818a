/* kv_resp.c - the RESP front of the kv server: reads commands with resp.c,
 * checks them against the command table (arity, key sizes, memory), runs
 * their handlers, and writes RESP2 replies. */
#include "kv_cmd.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the command table ----------------------------------------------- */

#define F_WRITE 1  /* may grow the store: refused when memory is full */
#define F_STRING 2 /* its keys, when they exist, must hold strings (WRONGTYPE otherwise) */
#define F_HASH 4   /* its key, when it exists, must hold a hash */
#define F_LIST 8   /* its key, when it exists, must hold a list */
#define F_SET 16   /* its keys, when they exist, must hold sets */
#define F_ZSET 32  /* its key, when it exists, must hold a sorted set */

typedef struct {
    const char *name;
    int arity;     /* > 0: exactly; < 0: at least -arity (with the name) */
    int first_key; /* argv index of the first key, 0: none */
    int last_key;  /* argv index of the last key, -1: the last argument */
    int key_step;
    int flags;
    kv_handler fn;
} command;

static void cmd_multi(kv_call *k);
static void cmd_exec(kv_call *k);
static void cmd_discard(kv_call *k);
static void cmd_watch(kv_call *k);
static void cmd_unwatch(kv_call *k);

static const command commands[] = {
    {"get", 2, 1, 1, 1, F_STRING, cmd_get},
    {"set", -3, 1, 1, 1, F_WRITE, cmd_set},
    {"setnx", 3, 1, 1, 1, F_WRITE, cmd_setnx},
    {"setex", 4, 1, 1, 1, F_WRITE, cmd_setex},
    {"psetex", 4, 1, 1, 1, F_WRITE, cmd_psetex},
    {"getset", 3, 1, 1, 1, F_WRITE | F_STRING, cmd_getset},
    {"getdel", 2, 1, 1, 1, F_STRING, cmd_getdel},
    {"mset", -3, 1, -1, 2, F_WRITE, cmd_mset},
    {"mget", -2, 1, -1, 1, 0, cmd_mget},
    {"incr", 2, 1, 1, 1, F_WRITE | F_STRING, cmd_incr},
    {"decr", 2, 1, 1, 1, F_WRITE | F_STRING, cmd_decr},
    {"incrby", 3, 1, 1, 1, F_WRITE, cmd_incrby},
    {"decrby", 3, 1, 1, 1, F_WRITE, cmd_decrby},
    {"append", 3, 1, 1, 1, F_WRITE | F_STRING, cmd_append},
    {"strlen", 2, 1, 1, 1, F_STRING, cmd_strlen},
    {"getex", -2, 1, 1, 1, 0, cmd_getex},
    {"msetnx", -3, 1, -1, 2, F_WRITE, cmd_msetnx},
    {"incrbyfloat", 3, 1, 1, 1, F_WRITE | F_STRING, cmd_incrbyfloat},
    {"getrange", 4, 1, 1, 1, 0, cmd_getrange},
    {"substr", 4, 1, 1, 1, 0, cmd_getrange},
    {"setrange", 4, 1, 1, 1, F_WRITE, cmd_setrange},
    {"getbit", 3, 1, 1, 1, 0, cmd_getbit},
    {"setbit", 4, 1, 1, 1, F_WRITE, cmd_setbit},
    {"bitcount", -2, 1, 1, 1, F_STRING, cmd_bitcount},
    {"bitpos", -3, 1, 1, 1, 0, cmd_bitpos},
    {"lcs", -3, 1, 2, 1, 0, cmd_lcs},
    {"del", -2, 1, -1, 1, 0, cmd_del},
    {"unlink", -2, 1, -1, 1, 0, cmd_del},
    {"exists", -2, 1, -1, 1, 0, cmd_exists},
    {"keys", 2, 0, 0, 0, 0, cmd_keys},
    {"scan", -2, 0, 0, 0, 0, cmd_scan},
    {"dbsize", 1, 0, 0, 0, 0, cmd_dbsize},
    {"flushdb", -1, 0, 0, 0, 0, cmd_flushdb},
    {"flushall", -1, 0, 0, 0, 0, cmd_flushdb},
    {"expire", -3, 1, 1, 1, 0, cmd_expire},
    {"pexpire", -3, 1, 1, 1, 0, cmd_pexpire},
    {"expireat", -3, 1, 1, 1, 0, cmd_expireat},
    {"pexpireat", -3, 1, 1, 1, 0, cmd_pexpireat},
    {"ttl", 2, 1, 1, 1, 0, cmd_ttl},
    {"pttl", 2, 1, 1, 1, 0, cmd_pttl},
    {"persist", 2, 1, 1, 1, 0, cmd_persist},
    {"type", 2, 1, 1, 1, 0, cmd_type},
    {"hset", -4, 1, 1, 1, F_WRITE | F_HASH, cmd_hset},
    {"hmset", -4, 1, 1, 1, F_WRITE | F_HASH, cmd_hmset},
    {"hsetnx", 4, 1, 1, 1, F_WRITE | F_HASH, cmd_hsetnx},
    {"hget", 3, 1, 1, 1, F_HASH, cmd_hget},
    {"hmget", -3, 1, 1, 1, F_HASH, cmd_hmget},
    {"hdel", -3, 1, 1, 1, F_HASH, cmd_hdel},
    {"hexists", 3, 1, 1, 1, F_HASH, cmd_hexists},
    {"hlen", 2, 1, 1, 1, F_HASH, cmd_hlen},
    {"hstrlen", 3, 1, 1, 1, F_HASH, cmd_hstrlen},
    {"hkeys", 2, 1, 1, 1, F_HASH, cmd_hkeys},
    {"hvals", 2, 1, 1, 1, F_HASH, cmd_hvals},
    {"hgetall", 2, 1, 1, 1, F_HASH, cmd_hgetall},
    {"hincrby", 4, 1, 1, 1, F_WRITE, cmd_hincrby},
    {"hincrbyfloat", 4, 1, 1, 1, F_WRITE, cmd_hincrbyfloat},
    {"hrandfield", -2, 1, 1, 1, F_HASH, cmd_hrandfield},
    {"hscan", -3, 1, 1, 1, 0, cmd_hscan},
    {"lpush", -3, 1, 1, 1, F_WRITE | F_LIST, cmd_lpush},
    {"rpush", -3, 1, 1, 1, F_WRITE | F_LIST, cmd_rpush},
    {"lpushx", -3, 1, 1, 1, F_WRITE | F_LIST, cmd_lpushx},
    {"rpushx", -3, 1, 1, 1, F_WRITE | F_LIST, cmd_rpushx},
    {"lpop", -2, 1, 1, 1, 0, cmd_lpop},
    {"rpop", -2, 1, 1, 1, 0, cmd_rpop},
    {"llen", 2, 1, 1, 1, F_LIST, cmd_llen},
    {"lindex", 3, 1, 1, 1, F_LIST, cmd_lindex},
    {"lset", 4, 1, 1, 1, F_WRITE | F_LIST, cmd_lset},
    {"lrange", 4, 1, 1, 1, 0, cmd_lrange},
    {"ltrim", 4, 1, 1, 1, 0, cmd_ltrim},
    {"linsert", 5, 1, 1, 1, F_WRITE, cmd_linsert},
    {"lrem", 4, 1, 1, 1, 0, cmd_lrem},
    {"lpos", -3, 1, 1, 1, 0, cmd_lpos},
    {"lmove", 5, 1, 2, 1, F_WRITE, cmd_lmove},
    {"rpoplpush", 3, 1, 2, 1, F_WRITE, cmd_rpoplpush},
    {"blpop", -3, 1, -1, 1, 0, cmd_blpop},
    {"brpop", -3, 1, -1, 1, 0, cmd_brpop},
    {"brpoplpush", 4, 1, 2, 1, F_WRITE, cmd_brpoplpush},
    {"blmove", 6, 1, 2, 1, F_WRITE, cmd_blmove},
    {"lmpop", -4, 0, 0, 0, 0, cmd_lmpop},
    {"blmpop", -5, 0, 0, 0, 0, cmd_blmpop},
    {"sadd", -3, 1, 1, 1, F_WRITE | F_SET, cmd_sadd},
    {"srem", -3, 1, 1, 1, F_SET, cmd_srem},
    {"smembers", 2, 1, 1, 1, F_SET, cmd_smembers},
    {"sismember", 3, 1, 1, 1, F_SET, cmd_sismember},
    {"smismember", -3, 1, 1, 1, F_SET, cmd_smismember},
    {"scard", 2, 1, 1, 1, F_SET, cmd_scard},
    {"spop", -2, 1, 1, 1, 0, cmd_spop},
    {"srandmember", -2, 1, 1, 1, 0, cmd_srandmember},
    {"smove", 4, 1, 2, 1, F_WRITE, cmd_smove},
    {"sinter", -2, 1, -1, 1, 0, cmd_sinter},
    {"sunion", -2, 1, -1, 1, 0, cmd_sunion},
    {"sdiff", -2, 1, -1, 1, 0, cmd_sdiff},
    {"sinterstore", -3, 1, -1, 1, F_WRITE, cmd_sinterstore},
    {"sunionstore", -3, 1, -1, 1, F_WRITE, cmd_sunionstore},
    {"sdiffstore", -3, 1, -1, 1, F_WRITE, cmd_sdiffstore},
    {"sintercard", -3, 0, 0, 0, 0, cmd_sintercard},
    {"sscan", -3, 1, 1, 1, 0, cmd_sscan},
    {"zadd", -4, 1, 1, 1, F_WRITE, cmd_zadd},
    {"zincrby", 4, 1, 1, 1, F_WRITE, cmd_zincrby},
    {"zrem", -3, 1, 1, 1, F_ZSET, cmd_zrem},
    {"zscore", 3, 1, 1, 1, F_ZSET, cmd_zscore},
    {"zmscore", -3, 1, 1, 1, F_ZSET, cmd_zmscore},
    {"zcard", 2, 1, 1, 1, F_ZSET, cmd_zcard},
    {"zcount", 4, 1, 1, 1, 0, cmd_zcount},
    {"zlexcount", 4, 1, 1, 1, 0, cmd_zlexcount},
    {"zrank", 3, 1, 1, 1, F_ZSET, cmd_zrank},
    {"zrevrank", 3, 1, 1, 1, F_ZSET, cmd_zrevrank},
    {"zrange", -4, 1, 1, 1, 0, cmd_zrange},
    {"zrevrange", -4, 1, 1, 1, 0, cmd_zrevrange},
    {"zrangebyscore", -4, 1, 1, 1, 0, cmd_zrangebyscore},
    {"zrevrangebyscore", -4, 1, 1, 1, 0, cmd_zrevrangebyscore},
    {"zrangebylex", -4, 1, 1, 1, 0, cmd_zrangebylex},
    {"zrevrangebylex", -4, 1, 1, 1, 0, cmd_zrevrangebylex},
    {"zpopmin", -2, 1, 1, 1, 0, cmd_zpopmin},
    {"zpopmax", -2, 1, 1, 1, 0, cmd_zpopmax},
    {"zremrangebyrank", 4, 1, 1, 1, 0, cmd_zremrangebyrank},
    {"zremrangebyscore", 4, 1, 1, 1, 0, cmd_zremrangebyscore},
    {"zrangestore", -5, 1, 2, 1, F_WRITE, cmd_zrangestore},
    {"zscan", -3, 1, 1, 1, 0, cmd_zscan},
    {"zrandmember", -2, 1, 1, 1, 0, cmd_zrandmember},
    {"zmpop", -4, 0, 0, 0, 0, cmd_zmpop},
    {"bzpopmin", -3, 1, -1, 1, 0, cmd_bzpopmin},
    {"bzpopmax", -3, 1, -1, 1, 0, cmd_bzpopmax},
    {"bzmpop", -5, 0, 0, 0, 0, cmd_bzmpop},
    {"zunionstore", -4, 1, 1, 1, F_WRITE, cmd_zunionstore},
    {"zinterstore", -4, 1, 1, 1, F_WRITE, cmd_zinterstore},
    {"zdiffstore", -4, 1, 1, 1, F_WRITE, cmd_zdiffstore},
    {"zunion", -3, 0, 0, 0, 0, cmd_zunion},
    {"zinter", -3, 0, 0, 0, 0, cmd_zinter},
    {"zdiff", -3, 0, 0, 0, 0, cmd_zdiff},
    {"zintercard", -3, 0, 0, 0, 0, cmd_zintercard},
    {"expiretime", 2, 1, 1, 1, 0, cmd_expiretime},
    {"pexpiretime", 2, 1, 1, 1, 0, cmd_pexpiretime},
    {"rename", 3, 1, 2, 1, F_WRITE, cmd_rename},
    {"renamenx", 3, 1, 2, 1, F_WRITE, cmd_renamenx},
    {"copy", -3, 1, 2, 1, F_WRITE, cmd_copy},
    {"object", -2, 0, 0, 0, 0, cmd_object},
    {"memory", -2, 0, 0, 0, 0, cmd_memory},
    {"randomkey", 1, 0, 0, 0, 0, cmd_randomkey},
    {"multi", 1, 0, 0, 0, 0, cmd_multi},
    {"exec", 1, 0, 0, 0, 0, cmd_exec},
    {"discard", 1, 0, 0, 0, 0, cmd_discard},
    {"watch", -2, 1, -1, 1, 0, cmd_watch},
    {"unwatch", 1, 0, 0, 0, 0, cmd_unwatch},
    {"function", -2, 0, 0, 0, 0, cmd_function},
    {"ping", -1, 0, 0, 0, 0, cmd_ping},
    {"echo", 2, 0, 0, 0, 0, cmd_echo},
    {"select", 2, 0, 0, 0, 0, cmd_select},
    {"quit", -1, 0, 0, 0, 0, cmd_quit},
    {"time", 1, 0, 0, 0, 0, cmd_time},
    {"auth", -2, 0, 0, 0, 0, cmd_auth},
    {"config", -2, 0, 0, 0, 0, cmd_config},
    {"command", -1, 0, 0, 0, 0, cmd_command},
    {"client", -2, 0, 0, 0, 0, cmd_client},
    {"info", -1, 0, 0, 0, 0, cmd_info},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])
/* Open-addressing index over the names (a power of two > 2 * N_COMMANDS). */
#define INDEX_SIZE 512

static short index_slots[INDEX_SIZE]; /* command number + 1, 0: empty */
static int index_built;

size_t kv_command_count(void) { return N_COMMANDS; }

const char *kv_command_name(size_t i) {
    return i < N_COMMANDS ? commands[i].name : NULL;
}

/* FNV-1a over the lower-cased name. */
static unsigned name_hash(const char *s, size_t n) {
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        h = (h ^ c) * 16777619u;
    }
    return h;
}

static void build_index(void) {
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *n = commands[i].name;
        unsigned h = name_hash(n, strlen(n)) & (INDEX_SIZE - 1);
        while (index_slots[h] != 0)
            h = (h + 1) & (INDEX_SIZE - 1);
        index_slots[h] = (short)(i + 1);
    }
    index_built = 1;
}

static const command *lookup(const char *name, size_t n) {
    if (!index_built)
        build_index();
    unsigned h = name_hash(name, n) & (INDEX_SIZE - 1);
    for (; index_slots[h] != 0; h = (h + 1) & (INDEX_SIZE - 1)) {
        const command *c = &commands[index_slots[h] - 1];
        if (strlen(c->name) == n && strncasecmp(c->name, name, n) == 0)
            return c;
    }
    return NULL;
}

/* ---- replies --------------------------------------------------------- */

void reply_raw(kv_call *k, const char *s) { conn_puts(k->c, s); }

void reply_status(kv_call *k, const char *s) {
    conn_printf(k->c, "+%s\r\n", s);
}

void reply_help(kv_call *k, const char *const *lines, size_t n) {
    reply_array(k, n);
    for (size_t i = 0; i < n; i++)
        reply_status(k, lines[i]);
}

void reply_ok(kv_call *k) { conn_write(k->c, "+OK\r\n", 5); }

/* Error text with CR and LF replaced by spaces, as Redis does. */
void reply_error(kv_call *k, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    for (int i = 0; i < n; i++)
        if (buf[i] == '\r' || buf[i] == '\n')
            buf[i] = ' ';
    conn_write(k->c, "-", 1);
    conn_write(k->c, buf, (size_t)n);
    conn_write(k->c, "\r\n", 2);
}

/* "<type><v>\r\n" without printf: vsnprintf costs about 20,000 fuel per
 * call (fuel charges each loop's whole body), and KEYS, SCAN and MGET write
 * one head per key. */
static void reply_head(kv_call *k, char type, int negative,
                       unsigned long long v) {
    char buf[24];
    size_t i = sizeof buf;
    buf[--i] = '\n';
    buf[--i] = '\r';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (negative)
        buf[--i] = '-';
    buf[--i] = type;
    conn_write(k->c, buf + i, sizeof buf - i);
}

void reply_int(kv_call *k, long long v) {
    reply_head(k, ':', v < 0, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
}

void reply_bulk(kv_call *k, const char *p, size_t n) {
    reply_head(k, '$', 0, n);
    conn_write(k->c, p, n);
    conn_write(k->c, "\r\n", 2);
}

void reply_cstr(kv_call *k, const char *s) { reply_bulk(k, s, strlen(s)); }

void reply_nil(kv_call *k) { conn_write(k->c, "$-1\r\n", 5); }

void reply_array(kv_call *k, size_t n) { reply_head(k, '*', 0, n); }

void reply_syntax_error(kv_call *k) { reply_error(k, "ERR syntax error"); }

void reply_not_integer(kv_call *k) {
    reply_error(k, "ERR value is not an integer or out of range");
}

void reply_arity(kv_call *k, const char *name) {
    reply_error(k, "ERR wrong number of arguments for '%s' command", name);
}

void reply_store_error(kv_call *k, int err) {
    if (err == KV_EFULL)
        reply_error(k, "OOM command not allowed when used memory > 'maxmemory'.");
    else
        reply_error(k, "ERR out of memory");
}

void reply_unknown_subcommand(kv_call *k, const char *cmd) {
    reply_error(k, "ERR unknown subcommand '%.128s'. Try %s HELP.", k->argv[1], cmd);
}

int arg_ll(kv_call *k, size_t i, long long *out) {
    if (resp_parse_ll(k->argv[i], k->argl[i], out) == 0)
        return 0;
    reply_not_integer(k);
    return -1;
}

int arg_is(const kv_call *k, size_t i, const char *word) {
    size_t n = strlen(word);
    return i < k->argc && k->argl[i] == n && strncasecmp(k->argv[i], word, n) == 0;
}

/* ---- running a command ----------------------------------------------- */

/* Redis 7: -ERR unknown command 'foo', with args beginning with: 'a' 'b' */
static void reply_unknown(kv_call *k) {
    char args[160] = "";
    size_t n = 0;
    for (size_t i = 1; i < k->argc && n < 128; i++) {
        int w = snprintf(args + n, sizeof args - n, "'%.*s' ", (int)(128 - n),
                         k->argv[i]);
        if (w < 0 || (size_t)w >= sizeof args - n)
            break;
        n += (size_t)w;
    }
    reply_error(k, "ERR unknown command '%.128s', with args beginning with: %s",
                k->argv[0], args);
}

static int arity_ok(const command *cmd, size_t argc) {
    return cmd->arity > 0 ? argc == (size_t)cmd->arity
                          : argc >= (size_t)-cmd->arity;
}

static int keys_ok(kv_call *k, const command *cmd) {
    if (cmd->first_key == 0)
        return 1;
    size_t last = cmd->last_key < 0 ? k->argc - 1 : (size_t)cmd->last_key;
    for (size_t i = (size_t)cmd->first_key; i <= last; i += (size_t)cmd->key_step) {
        if (k->argl[i] > KV_MAX_KEY_BYTES) {
            reply_error(k, "ERR key too large (limit %d bytes)", KV_MAX_KEY_BYTES);
            return 0;
        }
    }
    int want = cmd->flags & F_STRING ? KV_T_STRING : cmd->flags & F_HASH ? KV_T_HASH
               : cmd->flags & F_LIST ? KV_T_LIST : cmd->flags & F_SET ? KV_T_SET
               : cmd->flags & F_ZSET ? KV_T_ZSET : -1;
    for (size_t i = (size_t)cmd->first_key; want >= 0 && i <= last; i += (size_t)cmd->key_step) {
        kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
        if (e != NULL && e->type != want) {
            reply_wrong_type(k);
            return 0;
        }
    }
    return 1;
}

int key_type_ok(kv_call *k, size_t i, int type) {
    kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
    if (e != NULL && e->type != type) {
        reply_wrong_type(k);
        return 0;
    }
    return 1;
}

kv_entry *first_existing(kv_call *k, size_t from, size_t n, int type, int *wrong) {
    *wrong = 0;
    for (size_t i = from; i < from + n; i++) {
        kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
        if (e == NULL)
            continue;
        if (e->type != type) {
            *wrong = 1;
            reply_wrong_type(k);
            return NULL;
        }
        return e;
    }
    return NULL;
}

void reply_wrong_type(kv_call *k) {
    reply_error(k, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

size_t kv_random_below(size_t n) {
    return n <= 1 ? 0 : (size_t)arc4random_uniform((uint32_t)(n > UINT32_MAX ? UINT32_MAX : n));
}

/* ---- transactions: MULTI EXEC DISCARD WATCH UNWATCH --------------------
 * One guest thread runs every command, so a transaction is simply its queue
 * run at once; WATCH keeps each key's version (kv_touch), and EXEC runs
 * nothing when one changed (a key that appeared, went or was written). */

typedef struct kv_multi {
    size_t n, cap;
    struct queued {
        size_t argc;
        char **argv;
        size_t *argl;
    } *q;
    int dirty; /* a command was refused while queueing: EXEC aborts */
} kv_multi;

typedef struct kv_watch {
    size_t n, cap;
    struct watched {
        char *key;
        size_t klen;
        int existed;
        uint64_t version;
    } *keys;
} kv_watch;

static void multi_free(session *s) {
    kv_multi *m = s->multi;
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = 0; j < m->q[i].argc; j++)
            free(m->q[i].argv[j]);
        free(m->q[i].argv);
        free(m->q[i].argl);
    }
    free(m->q);
    free(m);
    s->multi = NULL;
}

static void unwatch(session *s) {
    kv_watch *w = s->watch;
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->keys[i].key);
    free(w->keys);
    free(w);
    s->watch = NULL;
}

/* Copies a command into the transaction's queue; 0, or -1 out of memory. */
static int queue(kv_multi *m, const resp_command *rc) {
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct queued *q = realloc(m->q, cap * sizeof *q);
        if (q == NULL)
            return -1;
        m->q = q;
        m->cap = cap;
    }
    struct queued *e = &m->q[m->n];
    e->argc = rc->argc;
    e->argv = calloc(rc->argc, sizeof *e->argv);
    e->argl = malloc(rc->argc * sizeof *e->argl);
    if (e->argv == NULL || e->argl == NULL) {
        free(e->argv);
        free(e->argl);
        return -1;
    }
    for (size_t i = 0; i < rc->argc; i++) {
        e->argl[i] = rc->argl[i];
        e->argv[i] = malloc(rc->argl[i] + 1);
        if (e->argv[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(e->argv[j]);
            free(e->argv);
            free(e->argl);
            return -1;
        }
        memcpy(e->argv[i], rc->argv[i], rc->argl[i]);
        e->argv[i][rc->argl[i]] = '\0';
    }
    m->n++;
    return 0;
}

static int watched_changed(const kv_watch *w) {
    for (size_t i = 0; w != NULL && i < w->n; i++) {
        kv_entry *e = kv_find(w->keys[i].key, w->keys[i].klen, kv_now_ms);
        if ((e != NULL) != w->keys[i].existed || (e != NULL && e->version != w->keys[i].version))
            return 1;
    }
    return 0;
}

static void execute(kv_call *k, const command *cmd);

static void cmd_multi(kv_call *k) {
    if (k->s->multi != NULL) {
        reply_error(k, "ERR MULTI calls can not be nested");
        return;
    }
    k->s->multi = calloc(1, sizeof(kv_multi));
    if (k->s->multi == NULL)
        reply_store_error(k, KV_ENOMEM);
    else
        reply_ok(k);
}

static void cmd_discard(kv_call *k) {
    if (k->s->multi == NULL) {
        reply_error(k, "ERR DISCARD without MULTI");
        return;
    }
    multi_free(k->s);
    unwatch(k->s);
    reply_ok(k);
}

static void cmd_exec(kv_call *k) {
    kv_multi *m = k->s->multi;
    if (m == NULL) {
        reply_error(k, "ERR EXEC without MULTI");
        return;
    }
    if (m->dirty) {
        reply_error(k, "EXECABORT Transaction discarded because of previous errors.");
    } else if (watched_changed(k->s->watch)) {
        reply_raw(k, "*-1\r\n");
    } else {
        k->s->multi = NULL; /* the queued commands run as commands, not queued again */
        k->s->in_exec = 1;
        reply_array(k, m->n);
        for (size_t i = 0; i < m->n; i++) {
            kv_call q = {k->c, k->s, m->q[i].argc, m->q[i].argv, m->q[i].argl, ""};
            execute(&q, lookup(q.argv[0], q.argl[0]));
        }
        k->s->in_exec = 0;
        k->s->multi = m;
    }
    multi_free(k->s);
    unwatch(k->s);
}

static void cmd_watch(kv_call *k) {
    if (k->s->multi != NULL) {
        reply_error(k, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    kv_watch *w = k->s->watch;
    if (w == NULL && (w = k->s->watch = calloc(1, sizeof *w)) == NULL) {
        reply_store_error(k, KV_ENOMEM);
        return;
    }
    for (size_t i = 1; i < k->argc; i++) {
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 8;
            struct watched *keys = realloc(w->keys, cap * sizeof *keys);
            if (keys == NULL) {
                reply_store_error(k, KV_ENOMEM);
                return;
            }
            w->keys = keys;
            w->cap = cap;
        }
        char *key = malloc(k->argl[i] + 1);
        if (key == NULL) {
            reply_store_error(k, KV_ENOMEM);
            return;
        }
        memcpy(key, k->argv[i], k->argl[i]);
        kv_entry *e = kv_find(k->argv[i], k->argl[i], kv_now_ms);
        w->keys[w->n++] = (struct watched){key, k->argl[i], e != NULL, e != NULL ? e->version : 0};
    }
    reply_ok(k);
}

static void cmd_unwatch(kv_call *k) {
    unwatch(k->s);
    reply_ok(k);
}

/* Runs a checked command (NULL: unknown): arity, keys, memory, then the handler. */
static void execute(kv_call *k, const command *cmd) {
    if (cmd == NULL) {
        reply_unknown(k);
        return;
    }
    k->name = cmd->name;
    if (!arity_ok(cmd, k->argc)) {
        reply_arity(k, cmd->name);
        return;
    }
    if (!keys_ok(k, cmd))
        return;
    if ((cmd->flags & F_WRITE) && kv_memory_used() >= kv_memory_limit()) {
        reply_store_error(k, KV_EFULL);
        return;
    }
    cmd->fn(k);
    kv_stat_commands++; /* after the call, as Redis counts: INFO does not count itself */
}

static void run_command(conn_t *c, session *s, const resp_command *rc) {
    kv_call k = {c, s, rc->argc, rc->argv, rc->argl, ""};
    const command *cmd = lookup(rc->argv[0], rc->argl[0]);
    if (s->multi != NULL && (cmd == NULL || (cmd->fn != cmd_exec && cmd->fn != cmd_discard && cmd->fn != cmd_multi
                                             && cmd->fn != cmd_watch && cmd->fn != cmd_quit))) {
        /* Inside MULTI: checked now (an unknown command, a wrong arity or a
         * full store refuses it and dooms the transaction), run at EXEC. */
        if (cmd == NULL) {
            reply_unknown(&k);
            s->multi->dirty = 1;
        } else if (!arity_ok(cmd, k.argc)) {
            k.name = cmd->name;
            reply_arity(&k, cmd->name);
            s->multi->dirty = 1;
        } else if ((cmd->flags & F_WRITE) && kv_memory_used() >= kv_memory_limit()) {
            reply_store_error(&k, KV_EFULL);
            s->multi->dirty = 1;
        } else if (queue(s->multi, rc) != 0) {
            reply_store_error(&k, KV_ENOMEM);
            s->multi->dirty = 1;
        } else {
            reply_raw(&k, "+QUEUED\r\n");
        }
        return;
    }
    execute(&k, cmd);
}

/* ---- the front ------------------------------------------------------- */

int resp_front_start(session *s) {
    resp_limits limits = {KV_MAX_VALUE_BYTES, KV_MAX_REQUEST_BYTES, KV_MAX_ARGS};
    resp_init(&s->u.resp, &limits);
    return 0;
}

int resp_front_feed(session *s, const char *data, size_t len) {
    return resp_feed(&s->u.resp, data, len);
}

void resp_front_run(conn_t *c, session *s) {
    int rc = RESP_NEED_MORE;
    while (!s->closed && s->blocked == NULL && conn_pending(c) < NETLOOP_OUT_HIGH_WATER) {
        resp_command cmd;
        rc = resp_next(&s->u.resp, &cmd);
        if (rc == RESP_NEED_MORE)
            break;
        if (rc == RESP_COMMAND) {
            run_command(c, s, &cmd);
            if (kv_keys_ready)
                kv_serve_blocked();
        } else if (rc == RESP_TOO_BIG) {
            conn_printf(c, "-ERR %s\r\n", resp_reason(&s->u.resp));
        } else {
            conn_printf(c, "-ERR Protocol error: %s\r\n", resp_reason(&s->u.resp));
            kv_close(c, s);
        }
    }
    if (s->eof && !s->closed && s->blocked == NULL && rc == RESP_NEED_MORE)
        kv_close(c, s); /* a partial last command is dropped, as Redis does */
}

void resp_front_stop(session *s) {
    if (s->blocked != NULL)
        kv_unblock(s);
    multi_free(s);
    unwatch(s);
    resp_free(&s->u.resp);
}
