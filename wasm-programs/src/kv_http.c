/* kv_http.c - the HTTP/1.1 front of the kv server (keep-alive, pipelining):
 *
 *   GET /<key>            200 the value (application/octet-stream), 404
 *   HEAD /<key>           the same head, no body
 *   PUT|POST /<key>       the body becomes the value: 201 new key, 204
 *                         replaced; 411 without Content-Length or chunked
 *   DELETE /<key>         204, or 404
 *   GET|HEAD /[?prefix=p] 200 JSON array of the live keys (starting with p),
 *                         sorted bytewise, at most KV_HTTP_MAX_LIST_KEYS
 *                         (`X-Truncated: true` when there were more);
 *                         503 on a store of more than KV_HTTP_MAX_LIST_SCAN
 *                         keys (a sorted listing looks at every key)
 *   other methods         405 with Allow
 *
 * The key is the percent-decoded path without its leading '/' (binary safe,
 * up to KV_MAX_KEY_BYTES, else 400); a PUT on / is 405. Parse errors and
 * limits come from http.c: 400, 413 (value over KV_MAX_VALUE_BYTES), 431
 * (head over KV_HTTP_MAX_HEADER_BYTES), 501, 505, each followed by a close.
 * A full store answers 507. Every reply has Content-Type and, except 204,
 * Content-Length; `Connection: close` (or HTTP/1.0 without keep-alive) is
 * honoured after the reply.
 */
#include "kv.h"
#include "kv_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT "text/plain; charset=utf-8"

/* Writes a reply; extra: more header lines ("Name: value\r\n") or "". */
static void respond(conn_t *c, const http_request *r, int status,
                    const char *type, const char *body, size_t len,
                    const char *extra) {
    int head_only = r != NULL && strcmp(r->method, "HEAD") == 0;
    int keep_alive = r != NULL && r->keep_alive;
    char head[512];
    size_t n = http_format_head(head, sizeof head, status, type, len, keep_alive);
    if (n < 2 || n >= sizeof head)
        return;
    conn_write(c, head, n - 2); /* without the final empty line */
    conn_puts(c, extra);
    conn_write(c, "\r\n", 2);
    if (!head_only && status != 204)
        conn_write(c, body, len);
}

/* A short text reply: "<status> <reason phrase>[: detail]\n". */
static void respond_text(conn_t *c, const http_request *r, int status,
                         const char *detail, const char *extra) {
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s%s%s\n", status,
                     http_status_text(status), *detail ? ": " : "", detail);
    if (n < 0 || (size_t)n >= sizeof body)
        n = (int)strlen(body);
    respond(c, r, status, TEXT, body, (size_t)n, extra);
}

/* ---- the key listing ------------------------------------------------- */

typedef struct {
    entry_list list;
    const char *prefix;
    size_t plen;
} prefix_filter;

static void collect_prefixed(kv_entry *e, void *arg) {
    prefix_filter *f = arg;
    if (!kv_expired(e, kv_now_ms) && e->klen >= f->plen &&
        memcmp(e->key, f->prefix, f->plen) == 0)
        entry_list_push(&f->list, e);
}

static int compare_keys(const kv_entry *x, const kv_entry *y) {
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int d = memcmp(x->key, y->key, n);
    if (d != 0)
        return d;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static void sift_down(kv_entry **h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && compare_keys(h[l], h[m]) > 0)
            m = l;
        if (r < n && compare_keys(h[r], h[m]) > 0)
            m = r;
        if (m == i)
            return;
        kv_entry *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Moves the k smallest keys of a[0, n), sorted, to a[0, k) (k <= n): a
 * max-heap of k keys over the others, then a heap sort of those k, so a
 * listing of a million keys costs about a million comparisons, not a full
 * sort (a frame's fuel is bounded). */
static void smallest_sorted(kv_entry **a, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;)
        sift_down(a, k, i);
    for (size_t i = k; i < n; i++) {
        if (compare_keys(a[i], a[0]) < 0) {
            a[0] = a[i];
            sift_down(a, k, 0);
        }
    }
    for (size_t end = k; end > 1; end--) {
        kv_entry *t = a[0];
        a[0] = a[end - 1];
        a[end - 1] = t;
        sift_down(a, end - 1, 0);
    }
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t len = s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate, or beyond U+10FFFF */
    return len;
}

/* A JSON string of the key's bytes: UTF-8 passes, other bytes are escaped
 * as \u00XX (their Latin-1 reading). Returns the length written; out needs
 * 6 * klen + 2 bytes. */
static size_t json_string(char *out, const char *key, size_t klen) {
    const unsigned char *s = (const unsigned char *)key;
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < klen;) {
        size_t u = s[i] >= 0x80 ? utf8_len(s + i, klen - i) : 1;
        if (s[i] == '"' || s[i] == '\\') {
            out[o++] = '\\';
            out[o++] = (char)s[i++];
        } else if (s[i] < 0x20 || u == 0) {
            o += (size_t)sprintf(out + o, "\\u%04x", s[i++]);
        } else {
            memcpy(out + o, s + i, u);
            o += u;
            i += u;
        }
    }
    out[o++] = '"';
    return o;
}

static char *json_array(entry_list *l, size_t count, size_t *len) {
    size_t cap = 4;
    for (size_t i = 0; i < count; i++)
        cap += 6 * l->items[i]->klen + 3;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    out[o++] = '[';
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            out[o++] = ',';
        o += json_string(out + o, l->items[i]->key, l->items[i]->klen);
    }
    out[o++] = ']';
    out[o++] = '\n';
    *len = o;
    return out;
}

static void list_keys(conn_t *c, const http_request *r) {
    static char prefix[KV_MAX_KEY_BYTES + 1];
    long plen = http_query_param(r, "prefix", prefix, sizeof prefix);
    if (plen == -2) {
        respond_text(c, r, 400, "bad prefix parameter", "");
        return;
    }
    if (kv_count() > KV_HTTP_MAX_LIST_SCAN) {
        /* The listing is sorted, so it looks at every key in one frame. */
        char why[200];
        snprintf(why, sizeof why, "listing refused: the store has %zu keys, "
                 "more than the %d one listing may examine. Fix: use SCAN "
                 "on the RESP listener", kv_count(), KV_HTTP_MAX_LIST_SCAN);
        respond_text(c, r, 503, why, "");
        return;
    }
    prefix_filter f = {{0}, prefix, plen < 0 ? 0 : (size_t)plen};
    uint64_t cursor = 0;
    do {
        cursor = kv_scan(cursor, collect_prefixed, &f);
    } while (cursor != 0 && !f.list.failed);
    size_t count = f.list.n < KV_HTTP_MAX_LIST_KEYS ? f.list.n : KV_HTTP_MAX_LIST_KEYS;
    smallest_sorted(f.list.items, f.list.n, count);
    size_t len;
    char *json = f.list.failed ? NULL : json_array(&f.list, count, &len);
    if (json == NULL)
        respond_text(c, r, 503, "out of memory", "");
    else
        respond(c, r, 200, "application/json", json, len,
                count < f.list.n ? "X-Truncated: true\r\n" : "");
    free(json);
    entry_list_free(&f.list);
}

/* ---- one key --------------------------------------------------------- */

static void get_key(conn_t *c, const http_request *r, const char *key, size_t klen) {
    kv_entry *e = kv_find(key, klen, kv_now_ms);
    if (e == NULL)
        respond_text(c, r, 404, "no such key", "");
    else
        respond(c, r, 200, "application/octet-stream", e->val, e->vlen, "");
}

static void put_key(conn_t *c, const http_request *r, const char *key, size_t klen) {
    if (!r->has_length) {
        respond_text(c, r, 411, "send Content-Length or a chunked body", "");
        return;
    }
    int created, err;
    kv_entry *e = kv_find_or_create(key, klen, kv_now_ms, &created, &err);
    if (e != NULL)
        err = kv_set_value(e, r->body, r->body_len);
    if (err != KV_OK) {
        if (e != NULL && created)
            kv_delete_entry(e);
        respond_text(c, r, 507, err == KV_EFULL ? "store full" : "out of memory", "");
        return;
    }
    kv_set_expire(e, KV_NO_EXPIRE);
    respond(c, r, created ? 201 : 204, TEXT, "", 0, "");
}

static void delete_key(conn_t *c, const http_request *r, const char *key, size_t klen) {
    if (kv_delete(key, klen, kv_now_ms))
        respond(c, r, 204, TEXT, "", 0, "");
    else
        respond_text(c, r, 404, "no such key", "");
}

typedef void (*key_handler)(conn_t *c, const http_request *r, const char *key,
                            size_t klen);

static const struct {
    const char *method;
    key_handler fn;
} routes[] = {{"GET", get_key}, {"HEAD", get_key}, {"PUT", put_key},
              {"POST", put_key}, {"DELETE", delete_key}};

static void handle(conn_t *c, const http_request *r) {
    key_handler fn = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(r->method, routes[i].method) == 0)
            fn = routes[i].fn;
    if (fn == NULL) {
        respond_text(c, r, 405, "", "Allow: GET, HEAD, PUT, POST, DELETE\r\n");
    } else if (r->path[0] != '/') {
        respond_text(c, r, 400, "the target must be a path", "");
    } else if (r->path_len == 1 && fn == get_key) {
        list_keys(c, r);
    } else if (r->path_len == 1) {
        respond_text(c, r, 405, "", "Allow: GET, HEAD\r\n");
    } else if (r->path_len - 1 > KV_MAX_KEY_BYTES) {
        respond_text(c, r, 400, "key too large", "");
    } else {
        fn(c, r, r->path + 1, r->path_len - 1);
    }
}

/* ---- the front ------------------------------------------------------- */

int http_front_start(session *s) {
    http_parser_init(&s->u.http, KV_HTTP_MAX_HEADER_BYTES, KV_MAX_VALUE_BYTES);
    return 0;
}

int http_front_feed(session *s, const char *data, size_t len) {
    return http_parser_feed(&s->u.http, data, len);
}

void http_front_run(conn_t *c, session *s) {
    int rc = HTTP_NEED_MORE;
    while (!s->closed && conn_pending(c) < NETLOOP_OUT_HIGH_WATER) {
        http_request r;
        rc = http_parser_next(&s->u.http, &r);
        if (rc == HTTP_NEED_MORE)
            break;
        if (rc == HTTP_CONTINUE) {
            conn_puts(c, "HTTP/1.1 100 Continue\r\n\r\n");
        } else if (rc == HTTP_ERROR) {
            respond_text(c, NULL, http_parser_error(&s->u.http),
                         http_parser_reason(&s->u.http), "");
            kv_close(c, s);
        } else {
            handle(c, &r);
            if (!r.keep_alive)
                kv_close(c, s);
        }
    }
    if (s->eof && !s->closed && rc == HTTP_NEED_MORE)
        kv_close(c, s); /* a request cut short by the peer is dropped */
}

void http_front_stop(session *s) { http_parser_free(&s->u.http); }
