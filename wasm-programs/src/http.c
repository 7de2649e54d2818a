/* http.c - see http.h. */
#include "http.h"
#include "inbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parser states. Offsets in the parser count from p->start. */
enum {
    HP_HEAD,       /* looking for the empty line that ends the head */
    HP_BODY,       /* Content-Length body (possibly empty) */
    HP_CHUNK_SIZE, /* chunked: a chunk-size line */
    HP_CHUNK_DATA, /* chunked: chunk bytes */
    HP_CHUNK_CRLF, /* chunked: the line end after chunk bytes */
    HP_TRAILER,    /* chunked: trailer fields up to the empty line */
    HP_DONE,       /* a request was returned; drop it on the next call */
    HP_ERROR
};

/* Internal result of a body step: progress made, go on. */
#define STEP 3

/* Longest chunk-size line (size plus extensions). */
#define MAX_CHUNK_LINE 1024

static int fail(http_parser *p, int status, const char *reason) {
    p->state = HP_ERROR;
    p->status = status;
    p->reason = reason;
    return HTTP_ERROR;
}

void http_parser_init(http_parser *p, size_t max_header_bytes,
                      size_t max_body_bytes) {
    memset(p, 0, sizeof *p);
    p->max_header_bytes = max_header_bytes;
    p->max_body_bytes = max_body_bytes;
    p->state = HP_HEAD;
}

void http_parser_free(http_parser *p) {
    free(p->buf);
    p->buf = NULL;
    p->start = p->len = p->cap = 0;
}

int http_parser_error(const http_parser *p) { return p->status; }

const char *http_parser_reason(const http_parser *p) {
    return p->reason != NULL ? p->reason : "";
}

/* Forgets the request returned last and starts on the next one. */
static void drop_consumed(http_parser *p) {
    p->start += p->consumed;
    p->consumed = 0;
    p->state = HP_HEAD;
    p->scan = p->raw = p->head_end = p->body_len = 0;
    p->chunk_left = p->content_length = 0;
    p->continue_sent = 0;
    memset(&p->req, 0, sizeof p->req);
    if (p->start == p->len)
        p->start = p->len = 0;
}

int http_parser_has_partial(const http_parser *p) {
    size_t live = p->len - p->start;
    if (p->state == HP_DONE)
        live -= p->consumed;
    return live > 0;
}

static int make_room(http_parser *p, size_t more) {
    return inbuf_make_room(&p->buf, &p->start, &p->len, &p->cap, more);
}

int http_parser_feed(http_parser *p, const void *data, size_t len) {
    if (p->state == HP_ERROR || len == 0)
        return 0;
    if (p->state == HP_DONE)
        drop_consumed(p);
    if (make_room(p, len) != 0) {
        fail(p, 503, "out of memory");
        return -1;
    }
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    return 0;
}

/* ---- small text helpers ---------------------------------------------- */

static int is_tchar(unsigned char c) {
    if (c >= '0' && c <= '9')
        return 1;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long http_percent_decode(char *dst, const char *src, size_t len,
                         int plus_is_space) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hex_value((unsigned char)src[i + 1]);
            int lo = hex_value((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        dst[o++] = c;
    }
    return (long)o;
}

/* Does the comma-separated list `v` contain `token` (case-insensitive)? */
static int has_token(const char *v, const char *token) {
    size_t tl = strlen(token);
    while (*v != '\0') {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *e = v;
        while (*e != '\0' && *e != ',')
            e++;
        const char *t = e;
        while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - v) == tl && strncasecmp(v, token, tl) == 0)
            return 1;
        v = e;
    }
    return 0;
}

/* ---- the head -------------------------------------------------------- */

/* Line [s, e) without its '\n'; returns the end without a trailing '\r'. */
static char *line_end(char *s, char *nl) {
    if (nl > s && nl[-1] == '\r')
        return nl - 1;
    return nl;
}

static int parse_version(http_parser *p, const char *v, size_t len) {
    if (len != 8 || strncmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
        v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return fail(p, 400, "malformed request line");
    if (v[5] != '1' || v[7] > '1')
        return fail(p, 505, "HTTP version not supported");
    p->req.version_minor = v[7] - '0';
    return 0;
}

/* Target b[t0, t1), already NUL-terminated at t1. */
static int parse_target(http_parser *p, char *b, size_t t0, size_t t1) {
    char *t = b + t0;
    if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
        char *slash = strchr(t + (t[4] == ':' ? 7 : 8), '/');
        if (slash == NULL) { /* no path: reuse the authority's last byte */
            b[t1 - 1] = '/';
            slash = b + t1 - 1;
        }
        t = slash;
    } else if (!(t[0] == '/' || (t[0] == '*' && t1 - t0 == 1))) {
        return fail(p, 400, "malformed request target");
    }
    size_t plen = (size_t)(b + t1 - t);
    char *q = memchr(t, '?', plen);
    if (q != NULL) {
        *q = '\0';
        p->query_off = (size_t)(q + 1 - b);
        p->req.query_len = (size_t)(b + t1 - (q + 1));
        plen = (size_t)(q - t);
    } else {
        p->query_off = t1; /* the NUL: "" */
        p->req.query_len = 0;
    }
    long dl = http_percent_decode(t, t, plen, 0);
    if (dl < 0)
        return fail(p, 400, "bad percent-escape in the path");
    t[dl] = '\0';
    p->path_off = (size_t)(t - b);
    p->req.path_len = (size_t)dl;
    return 0;
}

/* Request line b[0, e). */
static int parse_request_line(http_parser *p, char *b, size_t e) {
    char *sp1 = memchr(b, ' ', e);
    if (sp1 == NULL)
        return fail(p, 400, "malformed request line");
    size_t mlen = (size_t)(sp1 - b);
    if (mlen == 0 || mlen > HTTP_MAX_METHOD)
        return fail(p, 400, "malformed request line");
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)b[i]))
            return fail(p, 400, "malformed request line");
    memcpy(p->req.method, b, mlen);
    p->req.method[mlen] = '\0';
    size_t t0 = mlen + 1;
    char *sp2 = memchr(b + t0, ' ', e - t0);
    if (sp2 == NULL || sp2 == b + t0)
        return fail(p, 400, "malformed request line");
    size_t t1 = (size_t)(sp2 - b);
    if (parse_version(p, sp2 + 1, e - t1 - 1) != 0)
        return HTTP_ERROR;
    b[t1] = '\0';
    return parse_target(p, b, t0, t1);
}

/* One header line b[s, e) (e without "\r\n"). */
static int parse_header(http_parser *p, char *b, size_t s, size_t e) {
    if (b[s] == ' ' || b[s] == '\t')
        return fail(p, 400, "obsolete header line folding");
    char *colon = memchr(b + s, ':', e - s);
    if (colon == NULL || colon == b + s)
        return fail(p, 400, "malformed header field");
    for (char *c = b + s; c < colon; c++)
        if (!is_tchar((unsigned char)*c))
            return fail(p, 400, "malformed header field");
    if (p->req.n_headers == HTTP_MAX_HEADERS)
        return fail(p, 431, "too many header fields");
    size_t v = (size_t)(colon + 1 - b);
    while (v < e && (b[v] == ' ' || b[v] == '\t'))
        v++;
    size_t ve = e;
    while (ve > v && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
        ve--;
    *colon = '\0';
    b[ve] = '\0';
    size_t i = p->req.n_headers++;
    p->name_off[i] = s;
    p->value_off[i] = v;
    return 0;
}

/* Content-Length: digits only; over the body limit is 413 straight away. */
static int parse_content_length(http_parser *p, const char *v, int seen) {
    size_t n = 0;
    if (*v == '\0')
        return fail(p, 400, "malformed Content-Length");
    for (const char *c = v; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return fail(p, 400, "malformed Content-Length");
        if (n > p->max_body_bytes)
            break; /* already too big; do not overflow */
        n = n * 10 + (size_t)(*c - '0');
    }
    if (seen && n != p->content_length)
        return fail(p, 400, "conflicting Content-Length fields");
    p->content_length = n;
    return 0;
}

static int framing_header(http_parser *p, const char *name, const char *value,
                          int *conn_close, int *conn_keep) {
    if (strcasecmp(name, "Content-Length") == 0) {
        int seen = p->req.has_length && !p->req.chunked;
        if (parse_content_length(p, value, seen) != 0)
            return HTTP_ERROR;
        if (p->req.chunked)
            return fail(p, 400, "both Content-Length and Transfer-Encoding");
        p->req.has_length = 1;
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        if (strcasecmp(value, "chunked") != 0)
            return fail(p, 501, "transfer coding not implemented");
        if (p->req.has_length && !p->req.chunked)
            return fail(p, 400, "both Content-Length and Transfer-Encoding");
        p->req.chunked = p->req.has_length = 1;
    } else if (strcasecmp(name, "Connection") == 0) {
        *conn_close |= has_token(value, "close");
        *conn_keep |= has_token(value, "keep-alive");
    } else if (strcasecmp(name, "Expect") == 0) {
        p->req.expect_continue = strcasecmp(value, "100-continue") == 0;
    }
    return 0;
}

static int apply_framing(http_parser *p, const char *b) {
    int conn_close = 0, conn_keep = 0;
    for (size_t i = 0; i < p->req.n_headers; i++)
        if (framing_header(p, b + p->name_off[i], b + p->value_off[i],
                           &conn_close, &conn_keep) != 0)
            return HTTP_ERROR;
    if (p->req.has_length && !p->req.chunked &&
        p->content_length > p->max_body_bytes)
        return fail(p, 413, "body too large");
    if (p->req.version_minor == 0)
        p->req.expect_continue = 0;
    p->req.keep_alive =
        !conn_close && (p->req.version_minor == 1 || conn_keep);
    p->state = p->req.chunked ? HP_CHUNK_SIZE : HP_BODY;
    p->raw = p->head_end;
    return 0;
}

/* The whole head b[0, head_end) is here: parse it (in place). */
static int parse_head(http_parser *p, char *b) {
    size_t s = 0;
    char *nl = memchr(b, '\n', p->head_end);
    if (parse_request_line(p, b, (size_t)(line_end(b, nl) - b)) != 0)
        return HTTP_ERROR;
    for (s = (size_t)(nl + 1 - b); s < p->head_end; s = (size_t)(nl + 1 - b)) {
        nl = memchr(b + s, '\n', p->head_end - s);
        size_t e = (size_t)(line_end(b + s, nl) - b);
        if (e == s)
            break; /* the empty line */
        if (parse_header(p, b, s, e) != 0)
            return HTTP_ERROR;
    }
    return apply_framing(p, b);
}

/* Finds the end of the head. Returns 1 when the head was parsed, else
 * HTTP_NEED_MORE or HTTP_ERROR. p->scan is the start of the current line,
 * p->raw how far that line was searched for '\n'. */
static int scan_head(http_parser *p) {
    for (;;) {
        char *b = p->buf + p->start;
        size_t n = p->len - p->start;
        char *nl = memchr(b + p->raw, '\n', n - p->raw);
        if (nl == NULL) {
            p->raw = n;
            if (n > p->max_header_bytes)
                return fail(p, 431, "header fields too large");
            return HTTP_NEED_MORE;
        }
        size_t next = (size_t)(nl + 1 - b);
        int empty = line_end(b + p->scan, nl) == b + p->scan;
        if (empty && p->scan == 0) { /* empty line before a request: skip */
            p->start += next;
            p->raw = 0;
            continue;
        }
        if (next > p->max_header_bytes)
            return fail(p, 431, "header fields too large");
        p->scan = p->raw = next;
        if (empty) {
            p->head_end = next;
            return parse_head(p, b) == 0 ? 1 : HTTP_ERROR;
        }
    }
}

/* ---- the body -------------------------------------------------------- */

static int chunk_size_line(http_parser *p, char *b, size_t n) {
    char *nl = memchr(b + p->raw, '\n', n - p->raw);
    if (nl == NULL)
        return n - p->raw > MAX_CHUNK_LINE
                   ? fail(p, 400, "chunk size line too long")
                   : HTTP_NEED_MORE;
    char *c = b + p->raw;
    char *e = line_end(c, nl);
    size_t size = 0;
    int digits = 0;
    for (; c < e && hex_value((unsigned char)*c) >= 0; c++, digits++) {
        size = size * 16 + (size_t)hex_value((unsigned char)*c);
        if (size > p->max_body_bytes - p->body_len)
            return fail(p, 413, "body too large");
    }
    while (c < e && (*c == ' ' || *c == '\t'))
        c++;
    if (digits == 0 || (c < e && *c != ';'))
        return fail(p, 400, "malformed chunk size");
    p->raw = (size_t)(nl + 1 - b);
    p->chunk_left = size;
    p->state = size == 0 ? HP_TRAILER : HP_CHUNK_DATA;
    return STEP;
}

static int chunk_data(http_parser *p, char *b, size_t n) {
    size_t k = n - p->raw;
    if (k > p->chunk_left)
        k = p->chunk_left;
    memmove(b + p->head_end + p->body_len, b + p->raw, k);
    p->body_len += k;
    p->raw += k;
    p->chunk_left -= k;
    if (p->chunk_left > 0)
        return HTTP_NEED_MORE;
    p->state = HP_CHUNK_CRLF;
    return STEP;
}

static int chunk_crlf(http_parser *p, char *b, size_t n) {
    size_t avail = n - p->raw;
    if (avail == 0)
        return HTTP_NEED_MORE;
    if (b[p->raw] == '\n') {
        p->raw += 1;
    } else if (b[p->raw] == '\r') {
        if (avail < 2)
            return HTTP_NEED_MORE;
        if (b[p->raw + 1] != '\n')
            return fail(p, 400, "malformed chunk");
        p->raw += 2;
    } else {
        return fail(p, 400, "malformed chunk");
    }
    p->state = HP_CHUNK_SIZE;
    return STEP;
}

/* Trailer fields are read and dropped; 1 once the empty line is read. */
static int trailer_line(http_parser *p, char *b, size_t n) {
    char *nl = memchr(b + p->raw, '\n', n - p->raw);
    if (nl == NULL)
        return n - p->raw > p->max_header_bytes
                   ? fail(p, 431, "trailer fields too large")
                   : HTTP_NEED_MORE;
    int empty = line_end(b + p->raw, nl) == b + p->raw;
    p->raw = (size_t)(nl + 1 - b);
    return empty ? 1 : STEP;
}

/* Returns 1 when the body is complete (p->raw is then the request's end). */
static int body_step(http_parser *p) {
    char *b = p->buf + p->start;
    size_t n = p->len - p->start;
    if (p->state == HP_BODY) {
        if (n - p->head_end < p->content_length)
            return HTTP_NEED_MORE;
        p->body_len = p->content_length;
        p->raw = p->head_end + p->content_length;
        return 1;
    }
    for (;;) {
        int rc;
        switch (p->state) {
        case HP_CHUNK_SIZE: rc = chunk_size_line(p, b, n); break;
        case HP_CHUNK_DATA: rc = chunk_data(p, b, n); break;
        case HP_CHUNK_CRLF: rc = chunk_crlf(p, b, n); break;
        default: rc = trailer_line(p, b, n); break;
        }
        if (rc != STEP)
            return rc;
    }
}

/* ---- returning requests ---------------------------------------------- */

static void fill(const http_parser *p, http_request *req, int with_body) {
    const char *b = p->buf + p->start;
    *req = p->req;
    req->path = b + p->path_off;
    req->query = b + p->query_off;
    for (size_t i = 0; i < req->n_headers; i++) {
        req->headers[i].name = b + p->name_off[i];
        req->headers[i].value = b + p->value_off[i];
    }
    req->body = b + p->head_end;
    req->body_len = with_body ? p->body_len : 0;
}

int http_parser_next(http_parser *p, http_request *req) {
    if (p->state == HP_ERROR)
        return HTTP_ERROR;
    if (p->state == HP_DONE)
        drop_consumed(p);
    if (p->state == HP_HEAD) {
        int rc = scan_head(p);
        if (rc != 1)
            return rc;
    }
    int rc = body_step(p);
    if (rc == HTTP_ERROR)
        return rc;
    if (rc == HTTP_NEED_MORE) {
        if (!p->req.expect_continue || p->continue_sent)
            return HTTP_NEED_MORE;
        p->continue_sent = 1;
        fill(p, req, 0);
        return HTTP_CONTINUE;
    }
    fill(p, req, 1);
    p->consumed = p->raw;
    p->state = HP_DONE;
    return HTTP_REQUEST;
}

/* ---- lookups --------------------------------------------------------- */

const char *http_header_get(const http_request *r, const char *name) {
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

int http_query_next(const http_request *r, size_t *pos, const char **key,
                    size_t *key_len, const char **value, size_t *value_len) {
    const char *q = r->query;
    size_t n = r->query_len;
    while (*pos < n && q[*pos] == '&')
        (*pos)++;
    if (*pos >= n)
        return 0;
    const char *s = q + *pos;
    const char *amp = memchr(s, '&', n - *pos);
    const char *e = amp != NULL ? amp : q + n;
    const char *eq = memchr(s, '=', (size_t)(e - s));
    *key = s;
    *key_len = (size_t)((eq != NULL ? eq : e) - s);
    *value = eq != NULL ? eq + 1 : "";
    *value_len = eq != NULL ? (size_t)(e - eq - 1) : 0;
    *pos = (size_t)(e - q);
    return 1;
}

long http_query_param(const http_request *r, const char *name, char *out,
                      size_t cap) {
    size_t pos = 0, kl, vl;
    const char *k, *v;
    size_t nl = strlen(name);
    while (http_query_next(r, &pos, &k, &kl, &v, &vl)) {
        if (kl != nl || memcmp(k, name, nl) != 0)
            continue;
        if (cap == 0 || vl > cap - 1)
            return -2;
        long dl = http_percent_decode(out, v, vl, 1);
        if (dl < 0)
            return -2;
        out[dl] = '\0';
        return dl;
    }
    return -1;
}

/* ---- replies --------------------------------------------------------- */

const char *http_status_text(int status) {
    static const struct { int status; const char *text; } texts[] = {
        {100, "Continue"}, {200, "OK"}, {201, "Created"},
        {204, "No Content"}, {400, "Bad Request"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {409, "Conflict"},
        {411, "Length Required"}, {413, "Content Too Large"},
        {415, "Unsupported Media Type"}, {422, "Unprocessable Content"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"}, {501, "Not Implemented"},
        {503, "Service Unavailable"}, {505, "HTTP Version Not Supported"},
        {507, "Insufficient Storage"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].status == status)
            return texts[i].text;
    return "Unknown";
}

/* Appends s to out as snprintf would: *n counts every byte, those past cap - 1
 * are dropped. */
static void head_put(char *out, size_t cap, size_t *n, const char *s) {
    for (; *s != '\0'; s++, (*n)++)
        if (*n + 1 < cap)
            out[*n] = *s;
}

static void head_put_number(char *out, size_t cap, size_t *n, size_t v) {
    char digits[24];
    size_t i = sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    head_put(out, cap, n, digits + i);
}

/* Written out by hand, not with snprintf: under Replicode every replica runs
 * this for every reply, and printf's machinery was a fifth of the kv guest's
 * time serving HTTP PUTs (profiled under load). Same bytes and the same
 * return value (the full length; the text is cut at cap - 1 and terminated). */
size_t http_format_head(char *out, size_t cap, int status,
                        const char *content_type, size_t content_length,
                        int keep_alive) {
    /* RFC 9110 8.6: no Content-Length in a 1xx or 204 reply. */
    int no_length = status < 200 || status == 204;
    size_t n = 0;
    head_put(out, cap, &n, "HTTP/1.1 ");
    if (status < 0)
        head_put(out, cap, &n, "-");
    head_put_number(out, cap, &n, status < 0 ? (size_t)0 - (size_t)(long)status : (size_t)status);
    head_put(out, cap, &n, " ");
    head_put(out, cap, &n, http_status_text(status));
    head_put(out, cap, &n, "\r\nContent-Type: ");
    head_put(out, cap, &n, content_type);
    head_put(out, cap, &n, "\r\n");
    if (!no_length) {
        head_put(out, cap, &n, "Content-Length: ");
        head_put_number(out, cap, &n, content_length);
        head_put(out, cap, &n, "\r\n");
    }
    if (!keep_alive)
        head_put(out, cap, &n, "Connection: close\r\n");
    head_put(out, cap, &n, "\r\n");
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}
