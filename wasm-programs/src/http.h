/* http.h - an incremental HTTP/1.1 request parser for servers, and a few
 * helpers to write replies.  Plain C, no I/O, no global state: one parser per
 * connection.
 *
 * Use:
 *
 *     http_parser p;
 *     http_parser_init(&p, 16 * 1024, 1024 * 1024);  // header / body limits
 *     ...for every chunk received on the connection:
 *     if (http_parser_feed(&p, data, len) != 0) { out of memory: close }
 *     http_request r;
 *     int rc;
 *     while ((rc = http_parser_next(&p, &r)) != HTTP_NEED_MORE) {
 *         if (rc == HTTP_CONTINUE) { send "HTTP/1.1 100 Continue\r\n\r\n"; continue; }
 *         if (rc == HTTP_ERROR) { reply http_parser_error(&p), then close; break; }
 *         handle r (rc == HTTP_REQUEST); if (!r.keep_alive) close after replying;
 *     }
 *     ...when the connection goes: http_parser_free(&p);
 *
 * What it accepts:
 *   - request line `METHOD SP target SP HTTP/1.x`; lines end in CRLF or bare
 *     LF; empty lines before a request line are skipped; target in origin form
 *     (`/path?query`), absolute form (`http://host/path?query`, the authority is
 *     dropped) or `*`;
 *   - header fields `Name: value` (value trimmed of spaces and tabs), at most
 *     HTTP_MAX_HEADERS of them; obsolete line folding is refused (400);
 *   - a body framed by `Content-Length` or `Transfer-Encoding: chunked` (chunk
 *     extensions and trailer fields are read and dropped); neither means no
 *     body (`has_length` is then 0, so a server may answer 411).
 *
 * Errors (HTTP_ERROR; http_parser_error() gives the status to answer, and
 * http_parser_reason() a short text; the parser stays in error: framing is
 * lost, so close the connection after replying):
 *   400  malformed request line, header, chunk or Content-Length, bad %-escape
 *        in the path, both Content-Length and Transfer-Encoding
 *   413  body larger than max_body_bytes (known from Content-Length before the
 *        body arrives, or while chunks come in)
 *   431  request line + header fields larger than max_header_bytes, or more
 *        than HTTP_MAX_HEADERS fields
 *   501  a transfer coding other than `chunked`
 *   505  an HTTP version other than 1.0 and 1.1
 *
 * Memory: the parser keeps the bytes fed and not yet returned (never more than
 * one request's head and decoded body plus what was fed after it).  A request
 * returned by http_parser_next() points into that buffer: it stays valid until
 * the next call to http_parser_next(), http_parser_feed() or
 * http_parser_free() on the same parser.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_METHOD 15

/* http_parser_next() results. */
#define HTTP_NEED_MORE 0 /* no complete request yet: feed more bytes */
#define HTTP_REQUEST 1   /* *req holds a complete request */
#define HTTP_CONTINUE 2  /* *req holds the head of a request that sent
                            `Expect: 100-continue` and whose body has not all
                            arrived: reply 100 (or a final status and close) */
#define HTTP_ERROR (-1)  /* malformed or over a limit: see http_parser_error */

typedef struct {
    const char *name;  /* NUL-terminated, as sent (compare case-insensitively) */
    const char *value; /* NUL-terminated, trimmed */
} http_header;

typedef struct {
    char method[HTTP_MAX_METHOD + 1]; /* "GET", "PUT", ... as sent */
    int version_minor;                /* 0: HTTP/1.0, 1: HTTP/1.1 */
    const char *path; /* percent-decoded ('+' stays '+'), NUL-terminated, may
                         hold NUL bytes itself: use path_len; starts with '/'
                         unless the target was `*` */
    size_t path_len;
    const char *query; /* raw, after '?' (not decoded), NUL-terminated, "" if none */
    size_t query_len;
    http_header headers[HTTP_MAX_HEADERS];
    size_t n_headers;
    const char *body; /* decoded body (chunks joined); not NUL-terminated */
    size_t body_len;
    int has_length;   /* 1 if the body was framed (Content-Length or chunked) */
    int chunked;      /* 1 if the body came chunked */
    int keep_alive;   /* HTTP/1.1 without `Connection: close`, or HTTP/1.0
                         with `Connection: keep-alive` */
    int expect_continue; /* `Expect: 100-continue` was sent */
} http_request;

typedef struct {
    /* all private */
    char *buf;
    size_t start, len, cap;   /* live bytes are buf[start, len) */
    size_t max_header_bytes, max_body_bytes;
    int state;                /* HP_* in http.c */
    int status;               /* error status once in error */
    const char *reason;
    size_t scan;              /* head: next byte to look at for '\n' */
    size_t head_end;          /* offset (from start) of the first body byte */
    size_t body_len;          /* decoded body bytes so far */
    size_t raw;               /* chunked: next raw byte to parse (from start) */
    size_t content_length;
    size_t chunk_left;        /* bytes left in the current chunk */
    int continue_sent;
    size_t consumed;          /* bytes of the last returned request (dropped on next call) */
    http_request req;         /* scalars; pointers are rebuilt from the offsets */
    size_t path_off, query_off;
    size_t name_off[HTTP_MAX_HEADERS], value_off[HTTP_MAX_HEADERS];
} http_parser;

void http_parser_init(http_parser *p, size_t max_header_bytes,
                      size_t max_body_bytes);
void http_parser_free(http_parser *p);
/* Appends bytes. Returns 0, or -1 if memory ran out (the parser is then in
 * error with status 503). */
int http_parser_feed(http_parser *p, const void *data, size_t len);
/* Returns HTTP_NEED_MORE, HTTP_REQUEST, HTTP_CONTINUE or HTTP_ERROR. */
int http_parser_next(http_parser *p, http_request *req);
/* Status to answer once http_parser_next() returned HTTP_ERROR. */
int http_parser_error(const http_parser *p);
/* Short reason for that error ("header fields too large", ...). */
const char *http_parser_reason(const http_parser *p);
/* 1 if bytes were fed that no returned request covers (e.g. a request cut
 * short by the end of input). */
int http_parser_has_partial(const http_parser *p);

/* Value of the first header field named `name` (case-insensitive), or NULL. */
const char *http_header_get(const http_request *r, const char *name);

/* Query iteration in order: `a=1&b&c=x%20y`. Start with *pos = 0; each call
 * gives the next field's raw key and value (value_len 0 and value pointing at
 * "" when there is no '='). Returns 0 after the last one. */
int http_query_next(const http_request *r, size_t *pos, const char **key,
                    size_t *key_len, const char **value, size_t *value_len);
/* Decoded value of query parameter `name` into out (NUL-terminated), '+' as a
 * space. Returns its length, -1 if absent, -2 if it does not fit in cap-1
 * bytes or has a bad %-escape. */
long http_query_param(const http_request *r, const char *name, char *out,
                      size_t cap);
/* Percent-decodes src[0, len) into dst (which may be src itself); '+'
 * becomes a space when plus_is_space. Returns the decoded length, or -1 on
 * a bad escape. */
long http_percent_decode(char *dst, const char *src, size_t len,
                         int plus_is_space);

/* Reason phrase of a status ("OK", "Not Found", ...; "Unknown" otherwise). */
const char *http_status_text(int status);
/* Writes a status line and headers, ending with the empty line:
 *   HTTP/1.1 <status> <text>\r\n
 *   Content-Type: <content_type>\r\n
 *   Content-Length: <content_length>\r\n
 *   [Connection: close\r\n]   when !keep_alive
 *   \r\n
 * into out. Returns the length written, or the length needed (>= cap, like
 * snprintf) if it does not fit. */
size_t http_format_head(char *out, size_t cap, int status,
                        const char *content_type, size_t content_length,
                        int keep_alive);

#endif
