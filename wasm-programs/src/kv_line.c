/* kv_line.c - the original RepliCode line protocol, byte for byte:
 *
 *   SET <key> <value>\n  ->  OK\n          (the value is the rest of the line)
 *   GET <key>\n          ->  VALUE <value>\n, or ERR: Key not found\n
 *   DEL <key>\n          ->  OK\n
 *   QUIT\n               ->  BYE\n, then the connection is closed
 *   anything else        ->  ERR: Unknown command\n
 *
 * "\r\n" is accepted for "\n". Beyond the protocol, limits answer
 * ERR: Key too large\n, ERR: Value too large\n, ERR: Out of memory\n, and a
 * line longer than KV_MAX_LINE gets ERR: Line too long\n and a close. A last
 * line without "\n" before the peer half-closes is still answered.
 */
#include "kv.h"
#include "kv_store.h"

#include <stdlib.h>
#include <string.h>

int line_front_start(session *s) {
    memset(&s->u.line, 0, sizeof s->u.line);
    return 0;
}

void line_front_stop(session *s) { free(s->u.line.buf); }

int line_front_feed(session *s, const char *data, size_t len) {
    line_buffer *l = &s->u.line;
    if (l->len + len > l->cap && l->start > 0) {
        memmove(l->buf, l->buf + l->start, l->len - l->start);
        l->len -= l->start;
        l->searched -= l->start;
        l->start = 0;
    }
    if (l->len + len > l->cap) {
        size_t cap = l->cap ? l->cap : 1024;
        while (cap < l->len + len)
            cap *= 2;
        char *b = realloc(l->buf, cap);
        if (b == NULL)
            return -1;
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, data, len);
    l->len += len;
    return 0;
}

static void line_set(conn_t *c, const char *args, size_t n) {
    const char *sp = memchr(args, ' ', n);
    if (sp == NULL || sp == args) {
        conn_puts(c, "ERR: Unknown command\n");
        return;
    }
    size_t klen = (size_t)(sp - args), vlen = n - klen - 1;
    if (klen > KV_MAX_KEY_BYTES) {
        conn_puts(c, "ERR: Key too large\n");
        return;
    }
    if (vlen > KV_MAX_LINE_VALUE_BYTES || vlen > KV_MAX_VALUE_BYTES) {
        conn_puts(c, "ERR: Value too large\n");
        return;
    }
    int created, err;
    kv_entry *e = kv_find_or_create(args, klen, kv_now_ms, &created, &err);
    if (e != NULL)
        err = kv_set_value(e, sp + 1, vlen);
    if (err != KV_OK) {
        if (e != NULL && created)
            kv_delete_entry(e);
        conn_puts(c, "ERR: Out of memory\n");
        return;
    }
    kv_set_expire(e, KV_NO_EXPIRE);
    conn_puts(c, "OK\n");
}

static void line_get(conn_t *c, const char *key, size_t n) {
    kv_entry *e = n > 0 ? kv_find(key, n, kv_now_ms) : NULL;
    if (e == NULL) {
        conn_puts(c, n > 0 ? "ERR: Key not found\n" : "ERR: Unknown command\n");
        return;
    }
    conn_write(c, "VALUE ", 6);
    conn_write(c, e->val, e->vlen);
    conn_write(c, "\n", 1);
}

static void line_del(conn_t *c, const char *key, size_t n) {
    if (n == 0) {
        conn_puts(c, "ERR: Unknown command\n");
        return;
    }
    kv_delete(key, n, kv_now_ms);
    conn_puts(c, "OK\n");
}

static void handle_line(conn_t *c, session *s, char *line, size_t n) {
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (n == 4 && memcmp(line, "QUIT", 4) == 0) {
        conn_puts(c, "BYE\n");
        kv_close(c, s);
    } else if (n > 4 && memcmp(line, "SET ", 4) == 0) {
        line_set(c, line + 4, n - 4);
    } else if (n > 4 && memcmp(line, "GET ", 4) == 0) {
        line_get(c, line + 4, n - 4);
    } else if (n > 4 && memcmp(line, "DEL ", 4) == 0) {
        line_del(c, line + 4, n - 4);
    } else {
        conn_puts(c, "ERR: Unknown command\n");
    }
}

void line_front_run(conn_t *c, session *s) {
    line_buffer *l = &s->u.line;
    while (!s->closed && conn_pending(c) < NETLOOP_OUT_HIGH_WATER) {
        char *b = l->buf + l->start;
        size_t n = l->len - l->start;
        /* Search only the new bytes: a long line arriving in small pieces
         * would otherwise be searched again from its start each time. */
        if (l->searched < l->start)
            l->searched = l->start;
        char *nl = l->len > l->searched
                       ? memchr(l->buf + l->searched, '\n', l->len - l->searched)
                       : NULL;
        l->searched = nl != NULL ? (size_t)(nl - l->buf) : l->len;
        size_t len = nl != NULL ? (size_t)(nl - b) : n;
        if (len > KV_MAX_LINE) {
            conn_puts(c, "ERR: Line too long\n");
            kv_close(c, s);
            break;
        }
        if (nl == NULL) {
            if (s->eof) {
                if (n > 0)
                    handle_line(c, s, b, n); /* the last line, unterminated */
                l->start = l->len;
                if (!s->closed)
                    kv_close(c, s);
            }
            break;
        }
        handle_line(c, s, b, len);
        l->start += len + 1;
    }
    if (l->start == l->len)
        l->start = l->len = l->searched = 0;
}
