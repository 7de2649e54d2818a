/* resp.c - see resp.h. */
#include "resp.h"
#include "inbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Internal: progress made, go on parsing. */
#define STEP 3

void resp_init(resp_parser *p, const resp_limits *limits) {
    memset(p, 0, sizeof *p);
    p->limits = *limits;
    p->bulk_len = -1;
}

void resp_free(resp_parser *p) {
    free(p->buf);
    free(p->arg_off);
    free(p->arg_len);
    free(p->argv);
    memset(p, 0, sizeof *p);
}

const char *resp_reason(const resp_parser *p) {
    return p->reason != NULL ? p->reason : "";
}

static int fail(resp_parser *p, const char *reason) {
    p->reason = reason;
    return RESP_ERROR;
}

int resp_has_partial(const resp_parser *p) {
    return p->len - p->start > p->consumed || p->dropping || p->mbulk_left > 0;
}

static int make_room(resp_parser *p, size_t more) {
    return inbuf_make_room(&p->buf, &p->start, &p->len, &p->cap, more);
}

int resp_feed(resp_parser *p, const char *data, size_t len) {
    if (len == 0)
        return 0;
    /* The last command's arguments are no longer needed: drop them before
     * moving the buffer. */
    p->start += p->consumed;
    p->consumed = 0;
    if (make_room(p, len) != 0)
        return -1;
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    return 0;
}

int resp_parse_ll(const char *s, size_t n, long long *out) {
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0;
    if (n == 0 || n > 20)
        return -1;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 0;
    }
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n || s[i] < '1' || s[i] > '9')
        return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned long long d = (unsigned long long)(s[i] - '0');
        if (v > (~0ULL - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg ? v > (1ULL << 63) : v > (1ULL << 63) - 1)
        return -1;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

static char *cur(const resp_parser *p) { return p->buf + p->start + p->pos; }

static size_t avail(const resp_parser *p) {
    return p->len - p->start - p->pos;
}

/* A "<type><number>\r\n" line at the parse position: the number, and the
 * line's length in *used. NEED_MORE, ERROR or STEP. */
static int count_line(resp_parser *p, long long *n, size_t *used,
                      const char *too_big, const char *invalid) {
    char *c = cur(p);
    size_t a = avail(p);
    char *cr = memchr(c, '\r', a);
    if (cr == NULL || cr + 1 == c + a)
        return a > RESP_MAX_INLINE ? fail(p, too_big) : RESP_NEED_MORE;
    if (cr[1] != '\n' || resp_parse_ll(c + 1, (size_t)(cr - c - 1), n) != 0)
        return fail(p, invalid);
    *used = (size_t)(cr + 2 - c);
    return STEP;
}

/* Drops everything of the current command parsed so far. */
static void start_dropping(resp_parser *p, const char *reason) {
    if (!p->dropping) {
        p->dropping = 1;
        p->reason = reason;
    }
    p->start += p->pos;
    p->pos = 0;
    p->argc = 0;
}

static int push_arg(resp_parser *p, size_t off, size_t len) {
    if (p->argc == p->arg_cap) {
        size_t cap = p->arg_cap ? p->arg_cap * 2 : 16;
        size_t *o = realloc(p->arg_off, cap * sizeof *o);
        if (o != NULL)
            p->arg_off = o;
        size_t *l = realloc(p->arg_len, cap * sizeof *l);
        if (l != NULL)
            p->arg_len = l;
        char **v = realloc(p->argv, cap * sizeof *v);
        if (v != NULL)
            p->argv = v;
        if (o == NULL || l == NULL || v == NULL)
            return fail(p, "out of memory");
        p->arg_cap = cap;
    }
    p->arg_off[p->argc] = off;
    p->arg_len[p->argc] = len;
    p->argc++;
    return STEP;
}

static int multibulk_header(resp_parser *p) {
    long long n;
    size_t used;
    int rc = count_line(p, &n, &used, "too big mbulk count string",
                        "invalid multibulk length");
    if (rc != STEP)
        return rc;
    if (n > RESP_MAX_MULTIBULK)
        return fail(p, "invalid multibulk length");
    p->pos += used;
    if (n <= 0) { /* an empty command: nothing to do */
        p->start += p->pos;
        p->pos = 0;
        return STEP;
    }
    p->mbulk_left = (long)n;
    p->total = 0;
    if ((size_t)n > p->limits.max_args) {
        snprintf(p->reason_buf, sizeof p->reason_buf,
                 "too many arguments (limit %zu)", p->limits.max_args);
        start_dropping(p, p->reason_buf);
    }
    return STEP;
}

static void over_limit(resp_parser *p, size_t n) {
    if (n > p->limits.max_arg_bytes)
        snprintf(p->reason_buf, sizeof p->reason_buf,
                 "argument too large (limit %zu bytes)", p->limits.max_arg_bytes);
    else
        snprintf(p->reason_buf, sizeof p->reason_buf,
                 "request too large (limit %zu bytes)",
                 p->limits.max_request_bytes);
    start_dropping(p, p->reason_buf);
}

static int bulk_header(resp_parser *p) {
    if (avail(p) == 0)
        return RESP_NEED_MORE;
    if (*cur(p) != '$') {
        snprintf(p->reason_buf, sizeof p->reason_buf, "expected '$', got '%c'",
                 *cur(p));
        return fail(p, p->reason_buf);
    }
    long long n;
    size_t used;
    int rc = count_line(p, &n, &used, "too big bulk count string",
                        "invalid bulk length");
    if (rc != STEP)
        return rc;
    if (n < 0 || n > RESP_MAX_BULK)
        return fail(p, "invalid bulk length");
    p->pos += used;
    p->bulk_len = (long)n;
    if (!p->dropping && ((size_t)n > p->limits.max_arg_bytes ||
                         (size_t)n > p->limits.max_request_bytes - p->total))
        over_limit(p, (size_t)n);
    if (p->dropping) { /* drop the header too */
        p->start += p->pos;
        p->pos = 0;
        p->skip = (size_t)n + 2;
    }
    return STEP;
}

static int bulk_data(resp_parser *p) {
    size_t n = (size_t)p->bulk_len;
    if (avail(p) < n + 2)
        return RESP_NEED_MORE;
    char *c = cur(p);
    if (c[n] != '\r' || c[n + 1] != '\n')
        return fail(p, "expected CRLF after bulk data");
    c[n] = '\0';
    if (push_arg(p, p->pos, n) == RESP_ERROR)
        return RESP_ERROR;
    p->pos += n + 2;
    p->total += n;
    p->bulk_len = -1;
    p->mbulk_left--;
    return p->mbulk_left == 0 ? RESP_COMMAND : STEP;
}

/* Dropping: discards bytes; TOO_BIG once the command's last bulk is gone. */
static int drop_step(resp_parser *p) {
    size_t k = avail(p) < p->skip ? avail(p) : p->skip;
    p->start += k;
    p->skip -= k;
    if (p->skip > 0)
        return RESP_NEED_MORE;
    if (p->bulk_len >= 0) {
        p->bulk_len = -1;
        p->mbulk_left--;
    }
    if (p->mbulk_left > 0)
        return STEP;
    p->dropping = 0;
    return RESP_TOO_BIG;
}

/* ---- inline commands ------------------------------------------------- */

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A backslash escape inside double quotes at *r (on the '\'). */
static char unescape(const char **r, const char *e) {
    const char *s = *r;
    if (s + 3 < e && s[1] == 'x' && hex_digit(s[2]) >= 0 && hex_digit(s[3]) >= 0) {
        *r = s + 4;
        return (char)(hex_digit(s[2]) * 16 + hex_digit(s[3]));
    }
    if (s + 1 >= e) {
        *r = s + 1;
        return '\\';
    }
    *r = s + 2;
    switch (s[1]) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return s[1];
    }
}

/* One argument starting at *r (not a space); written at *w, NUL-terminated.
 * Returns 0, or -1 for unbalanced quotes. */
static int inline_arg(const char **r, const char *e, char **w) {
    const char *s = *r;
    char *o = *w;
    int dq = 0, sq = 0;
    for (;;) {
        if (s >= e) {
            if (dq || sq)
                return -1;
            break;
        }
        if (dq) {
            if (*s == '\\') {
                *o++ = unescape(&s, e);
                continue;
            }
            if (*s == '"') {
                if (s + 1 < e && !is_space(s[1]))
                    return -1; /* closing quote must be followed by a space */
                s++;
                break;
            }
        } else if (sq) {
            if (*s == '\\' && s + 1 < e && s[1] == '\'') {
                *o++ = '\'';
                s += 2;
                continue;
            }
            if (*s == '\'') {
                if (s + 1 < e && !is_space(s[1]))
                    return -1;
                s++;
                break;
            }
        } else if (is_space(*s)) {
            s++; /* the NUL below may overwrite this separator */
            break;
        } else if (*s == '"' || *s == '\'') {
            dq = *s == '"';
            sq = *s == '\'';
            s++;
            continue;
        }
        *o++ = *s++;
    }
    *o++ = '\0';
    *r = s;
    *w = o;
    return 0;
}

static int inline_command(resp_parser *p) {
    char *c = cur(p);
    size_t a = avail(p);
    char *nl = memchr(c, '\n', a);
    if (nl == NULL)
        return a > RESP_MAX_INLINE ? fail(p, "too big inline request")
                                   : RESP_NEED_MORE;
    const char *r = c, *e = nl;
    char *w = c;
    char *base = p->buf + p->start;
    for (;;) {
        while (r < e && is_space(*r))
            r++;
        if (r >= e)
            break;
        char *arg = w;
        if (inline_arg(&r, e, &w) != 0)
            return fail(p, "unbalanced quotes in request");
        if (push_arg(p, (size_t)(arg - base), (size_t)(w - arg - 1)) == RESP_ERROR)
            return RESP_ERROR;
    }
    p->pos += (size_t)(nl + 1 - c);
    if (p->argc == 0) { /* an empty line */
        p->start += p->pos;
        p->pos = 0;
        return STEP;
    }
    return RESP_COMMAND;
}

/* ---- the loop -------------------------------------------------------- */

static int step(resp_parser *p) {
    if (p->dropping && p->bulk_len >= 0)
        return drop_step(p);
    if (p->mbulk_left == 0) {
        if (avail(p) == 0)
            return RESP_NEED_MORE;
        return *cur(p) == '*' ? multibulk_header(p) : inline_command(p);
    }
    if (p->bulk_len < 0)
        return bulk_header(p);
    return bulk_data(p);
}

/* A plain decimal at *s (no sign, no leading zero, at most max_digits
 * digits) followed by CRLF, all before e: its value, *s moved past the CRLF.
 * -1 for anything else, *s unchanged. */
static long long fast_count(const char **s, const char *e, int max_digits) {
    const char *c = *s;
    long long v = 0;
    int digits = 0;
    while (c < e && *c >= '0' && *c <= '9') {
        if (++digits > max_digits)
            return -1;
        v = v * 10 + (*c - '0');
        c++;
    }
    if (digits == 0 || (digits > 1 && **s == '0') || e - c < 2 || c[0] != '\r' ||
        c[1] != '\n')
        return -1;
    *s = c + 2;
    return v;
}

/* The common case: a whole multibulk command already in the buffer, within
 * every limit, parsed in one pass with its state in locals. The step machine
 * keeps its state in *p, and each byte it writes may alias *p, so it reloads
 * that state at every step; under Redis clients this path took a quarter of
 * the kv's time per request. Anything else (a command not all here, a number
 * with a sign or a leading zero, a limit reached, more arguments than the
 * argument arrays hold) returns 0 with *p untouched, and the step machine
 * parses it with its own errors. 1: the command is p->argc arguments, NUL
 * terminated in place, as the step machine leaves them. */
static int fast_command(resp_parser *p) {
    if (p->mbulk_left != 0 || p->dropping || p->pos != 0 || p->argc != 0)
        return 0;
    char *base = p->buf + p->start;
    const char *e = p->buf + p->len;
    const char *c = base;
    if (c == e || *c != '*')
        return 0;
    c++;
    long long n = fast_count(&c, e, 7);
    if (n <= 0 || n > RESP_MAX_MULTIBULK || (size_t)n > p->limits.max_args ||
        (size_t)n > p->arg_cap)
        return 0;
    size_t *off = p->arg_off, *len = p->arg_len;
    size_t total = 0;
    for (long long i = 0; i < n; i++) {
        if (c == e || *c != '$')
            return 0;
        c++;
        long long l = fast_count(&c, e, 10);
        if (l < 0 || l > RESP_MAX_BULK || (size_t)l > p->limits.max_arg_bytes ||
            (size_t)l > p->limits.max_request_bytes - total)
            return 0;
        if ((size_t)(e - c) < (size_t)l + 2 || c[l] != '\r' || c[l + 1] != '\n')
            return 0;
        off[i] = (size_t)(c - base);
        len[i] = (size_t)l;
        total += (size_t)l;
        c += l + 2;
    }
    for (long long i = 0; i < n; i++)
        base[off[i] + len[i]] = '\0';
    p->argc = (size_t)n;
    p->pos = (size_t)(c - base);
    return 1;
}

int resp_next(resp_parser *p, resp_command *cmd) {
    if (p->failed)
        return RESP_ERROR;
    p->start += p->consumed;
    p->consumed = 0;
    if (p->start == p->len)
        p->start = p->len = 0;
    if (!fast_command(p)) {
        int rc;
        do {
            rc = step(p);
        } while (rc == STEP);
        if (rc == RESP_ERROR) {
            p->failed = 1; /* framing is lost: stays in error */
            return rc;
        }
        if (rc != RESP_COMMAND)
            return rc;
    }
    char *base = p->buf + p->start;
    for (size_t i = 0; i < p->argc; i++)
        p->argv[i] = base + p->arg_off[i];
    cmd->argc = p->argc;
    cmd->argv = p->argv;
    cmd->argl = p->arg_len;
    p->consumed = p->pos;
    p->pos = 0;
    p->argc = 0;
    p->total = 0;
    return RESP_COMMAND;
}
