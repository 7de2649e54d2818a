/* resp.h - incremental parser of RESP2 requests, as a Redis server reads
 * them: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline (`GET k\r\n`,
 * with Redis's quoting: "a b", 'c', \x41, \n ...) commands, any number of
 * them pipelined, fed in pieces of any size.
 *
 *     resp_parser p;
 *     resp_init(&p, &limits);
 *     resp_feed(&p, data, len);                 // -1: out of memory
 *     resp_command cmd;
 *     for (;;) switch (resp_next(&p, &cmd)) {
 *         case RESP_NEED_MORE: wait for more bytes
 *         case RESP_COMMAND:   run cmd.argv[0..argc) (lengths in cmd.argl)
 *         case RESP_TOO_BIG:   the whole command was read and dropped: reply
 *                              "-ERR " resp_reason(&p), then go on
 *         case RESP_ERROR:     reply "-ERR Protocol error: " resp_reason(&p)
 *                              and close (like Redis: framing is lost)
 *     }
 *     resp_free(&p);
 *
 * Limits (resp_limits): a bulk argument longer than max_arg_bytes, or a
 * command whose arguments add up to more than max_request_bytes, is read to
 * its end without being kept (RESP_TOO_BIG); a multibulk count above
 * max_args or beyond 1024*1024, a bulk length beyond 512 MB, an inline line
 * or a count line longer than 64 KiB is a protocol error, as in Redis.
 *
 * cmd.argv[i] points into the parser's buffer (each argument is followed by
 * a NUL, so text arguments can be used as C strings); it stays valid until
 * the next resp_next(), resp_feed() or resp_free().
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>

#define RESP_NEED_MORE 0
#define RESP_COMMAND 1
#define RESP_TOO_BIG 2
#define RESP_ERROR (-1)

/* Redis's own fixed limits. */
#define RESP_MAX_INLINE 65536
#define RESP_MAX_MULTIBULK (1024 * 1024)
#define RESP_MAX_BULK (512L * 1024 * 1024)

typedef struct {
    size_t max_arg_bytes;
    size_t max_request_bytes;
    size_t max_args;
} resp_limits;

typedef struct {
    size_t argc;
    char **argv;
    const size_t *argl;
} resp_command;

typedef struct {
    /* all private */
    resp_limits limits;
    char *buf;
    size_t start, len, cap; /* unparsed bytes are buf[start + pos, len) */
    size_t pos;             /* parse position within the current command */
    size_t consumed;        /* bytes of the command returned last */
    long mbulk_left;        /* bulks still to read; 0: at a command start */
    long bulk_len;          /* -1: reading a bulk header */
    size_t total;           /* argument bytes of this command so far */
    size_t skip;            /* dropping: bytes still to drop */
    int dropping;           /* this command is over a limit: drop it */
    int failed;             /* a protocol error happened */
    const char *reason;
    char reason_buf[64];
    size_t argc, arg_cap;
    size_t *arg_off, *arg_len;
    char **argv;
} resp_parser;

void resp_init(resp_parser *p, const resp_limits *limits);
void resp_free(resp_parser *p);
int resp_feed(resp_parser *p, const char *data, size_t len);
int resp_next(resp_parser *p, resp_command *cmd);
const char *resp_reason(const resp_parser *p);
/* 1 while part of a command is buffered (or being dropped). */
int resp_has_partial(const resp_parser *p);

/* Strict decimal integer as Redis reads one (string2ll): optional '-', no
 * '+', spaces or leading zeros, within long long. 0 on success, else -1. */
int resp_parse_ll(const char *s, size_t n, long long *out);

#endif
