/* kv.h - what the parts of the kv server share: its limits, the connection
 * session, and the three protocol fronts (RESP, HTTP, line) over the one
 * store of kv_store.h. */
#ifndef KV_H
#define KV_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "netloop.h"
#include "resp.h"

/* ---- limits (one place) ---------------------------------------------- */
#define KV_MAX_KEY_BYTES 16384
/* A string (SET, APPEND, SETRANGE, SETBIT) and a RESP bulk argument: the
 * environment's KV_MAX_VALUE_BYTES (1 KiB .. 512 MiB), else 64 MiB. A value
 * that size needs about three times it in guest memory while it is set and
 * read back (the request, the stored copy, the reply): the app's memoryPages
 * must allow it. */
#define KV_DEFAULT_MAX_VALUE_BYTES (64u * 1024 * 1024)
extern size_t kv_max_value_bytes;
#define KV_MAX_VALUE_BYTES kv_max_value_bytes
/* A value on the line protocol (one line holds the whole command). */
#define KV_MAX_LINE_VALUE_BYTES (1024 * 1024)
/* Redis's proto-max-bulk-len: SETRANGE and SETBIT offsets past it are refused
 * with Redis's errors; strings between KV_MAX_VALUE_BYTES and it with the
 * "exceeds maximum allowed size" error. */
#define KV_PROTO_MAX_BULK (512LL * 1024 * 1024)
/* One RESP command's arguments: at least 8 MiB, and a value at the limit with
 * its key and a few arguments. */
#define KV_MAX_REQUEST_BYTES \
    (KV_MAX_VALUE_BYTES + 1024 * 1024 > 8u * 1024 * 1024 ? KV_MAX_VALUE_BYTES + 1024 * 1024 : 8u * 1024 * 1024)
#define KV_MAX_ARGS 65536                      /* one RESP command */
#define KV_MAX_MEMORY (128u * 1024 * 1024)     /* keys + values, estimated */
#define KV_HTTP_MAX_HEADER_BYTES 32768
#define KV_HTTP_MAX_LIST_KEYS 10000            /* GET / */
#define KV_MAX_LINE (KV_MAX_KEY_BYTES + KV_MAX_LINE_VALUE_BYTES + 8) /* line protocol */
#define KV_SWEEP_INTERVAL_MS 1000              /* active expiry, while keys have a TTL */
#define KV_SWEEP_BUCKETS 16384                 /* buckets looked at per sweep */
/* Work one command may do, well within a frame's fuel (conf: fuelPerFrame
 * 2*10^9 for kv; see the measurements in KvBoundedWorkTest). */
#define KV_KEYS_MAX_KEYS 100000        /* KEYS on a bigger keyspace: use SCAN */
#define KV_SCAN_MAX_EXAMINED 10000     /* keys one SCAN call looks at, whatever COUNT */
#define KV_FREE_PER_TICK 200000       /* flushed entries freed per frame (~1,600 fuel each) */
#define KV_HTTP_MAX_LIST_SCAN 200000  /* GET / on a bigger keyspace: 503, use SCAN */
#define KV_MATCH_MAX_STEPS 1000000     /* glob steps (~280 fuel) per key, and per KEYS / SCAN call */
#define KV_MAX_RANDOM_PICKS 1000000LL  /* SRANDMEMBER / HRANDFIELD / ZRANDMEMBER with a negative count: members one call may answer */

enum kv_proto { KV_PROTO_NONE, KV_PROTO_RESP, KV_PROTO_HTTP, KV_PROTO_LINE };

/* Input of a line-protocol connection: unread bytes are buf[start, len). */
typedef struct {
    char *buf;
    size_t start, len, cap;
    size_t searched; /* buf[start, searched) holds no '\n' */
} line_buffer;

/* One connection's state: the parser of its protocol, and the RESP
 * client's name and id. */
typedef struct session {
    int proto;
    int eof;    /* the peer half-closed: answer what is buffered, then close */
    int closed; /* conn_close() was called */
    uint64_t id;
    char *name; /* CLIENT SETNAME */
    struct kv_multi *multi; /* MULTI: the queued commands; NULL outside a transaction */
    struct kv_watch *watch; /* WATCH: the keys and the versions they had; NULL for none */
    struct kv_blocked *blocked; /* BLPOP & co. waiting: its input waits too; NULL when not blocked */
    int in_exec;            /* running EXEC's queue: blocking commands do not block */
    union {
        resp_parser resp;
        http_parser http;
        line_buffer line;
    } u;
} session;

/* Guest time, read once per batch of input (it does not move within a
 * frame anyway). */
extern int64_t kv_now_ms;

/* The store across an upgrade (kv_dump.c): saved to /data when the
 * listeners hang up, loaded at start. kv_dump_save returns 0 or an errno. */
int kv_dump_save(void);
void kv_dump_load(void);
extern size_t kv_sessions_open;
/* INFO stats: connections accepted, commands run (past the arity and key
 * checks, as Redis counts calls), keys removed because their TTL ran out. */
extern uint64_t kv_stat_connections;
extern uint64_t kv_stat_commands;
extern uint64_t kv_stat_expired_keys;

/* Blocking pops (kv_block.c: lists and sorted sets): clients wait, served in
 * the order they blocked when a write gives one of their keys elements, or
 * answered a null array at their deadline (guest time). A command that gives
 * a list or a sorted set elements sets kv_keys_ready, and the blocked clients
 * are looked at after it. kv_block_tick serves the deadlines that passed and
 * returns the ms until the next one (-1: none). */
extern int kv_keys_ready;
void kv_serve_blocked(void);
int kv_block_tick(void);
void kv_unblock(session *s);

/* Marks the session closed and asks netloop to close after flushing. */
void kv_close(conn_t *c, session *s);

/* Fronts: start (allocate the parser), feed bytes (0, or -1 when out of
 * memory), run (answer buffered requests while output has room; close when
 * done after eof), stop (free). */
int resp_front_start(session *s);
int resp_front_feed(session *s, const char *data, size_t len);
void resp_front_run(conn_t *c, session *s);
void resp_front_stop(session *s);

int http_front_start(session *s);
int http_front_feed(session *s, const char *data, size_t len);
void http_front_run(conn_t *c, session *s);
void http_front_stop(session *s);

int line_front_start(session *s);
int line_front_feed(session *s, const char *data, size_t len);
void line_front_run(conn_t *c, session *s);
void line_front_stop(session *s);

#endif
