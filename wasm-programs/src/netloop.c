/* netloop.c - see netloop.h. */
#include "netloop.h"
#include "errname.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for a maximal line plus "\r\n", plus a NUL for the last line at EOF. */
#define INBUF_SIZE (NETLOOP_MAX_LINE + 2)
#define OUT_HIGH_WATER NETLOOP_OUT_HIGH_WATER
/* Connections accepted per listener readiness (then the others get a turn). */
#define ACCEPT_BATCH 64

struct conn {
    int fd;       /* -1: free slot */
    int listener; /* index of the accepting listener */
    int closing;  /* flush the output, then close; no more input */
    int dead;     /* close now, drop the output (socket error) */
    int eof;      /* the peer half-closed and on_eof ran: no more reading */
    char *in;     /* line mode: INBUF_SIZE + 1 bytes */
    size_t in_len;
    char *out;
    size_t out_off, out_len, out_cap;
    void *data; /* the guest's, see conn_set_data() */
};

static const char *loop_name = "netloop";
static netloop_line_fn line_fn;
static netloop_data_fn data_fn;
static netloop_close_fn close_fn;
static netloop_conn_fn eof_fn;
static netloop_conn_fn drain_fn;
static netloop_tick_fn tick_fn;
static netloop_refusal_fn refusal_fn;

static struct conn conns[NETLOOP_MAX_CONNS];
static int max_conns; /* 0 until read from the environment */
/* Slots from here up are free: each poll round looks at conns[0..top) only,
 * not at every slot up to max_conns (a round over 256 slots was most of the
 * kv guest's time per frame under redis-benchmark -c 50). */
static int conns_top;
static int listen_fds[NETLOOP_MAX_LISTENERS];
static int listen_nonblock[NETLOOP_MAX_LISTENERS];
static const char *listen_names[NETLOOP_MAX_LISTENERS];
static char listen_names_buf[256];
static int n_listeners;

static struct pollfd pfds[NETLOOP_MAX_LISTENERS + NETLOOP_MAX_CONNS];
static struct conn *pfd_conn[NETLOOP_MAX_LISTENERS + NETLOOP_MAX_CONNS];

static char raw_buf[16384];

/* ---- output ---------------------------------------------------------- */

static size_t pending(const struct conn *c) { return c->out_len - c->out_off; }

size_t conn_pending(const conn_t *c) { return pending(c); }

void conn_write(conn_t *c, const void *data, size_t len) {
    if (c->fd < 0 || c->dead || len == 0)
        return;
    if (c->out_off > 0 && c->out_len + len > c->out_cap) {
        memmove(c->out, c->out + c->out_off, pending(c));
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + len)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL) {
            c->dead = 1;
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

void conn_puts(conn_t *c, const char *s) { conn_write(c, s, strlen(s)); }

void conn_printf(conn_t *c, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        conn_write(c, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        c->dead = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    conn_write(c, big, (size_t)n);
    free(big);
}

void conn_close(conn_t *c) { c->closing = 1; }

int conn_listener(const conn_t *c) { return c->listener; }

void conn_set_data(conn_t *c, void *data) { c->data = data; }

void *conn_data(const conn_t *c) { return c->data; }

void netloop_on_close(netloop_close_fn on_close) { close_fn = on_close; }

void netloop_on_eof(netloop_conn_fn on_eof) { eof_fn = on_eof; }

void netloop_on_drain(netloop_conn_fn on_drain) { drain_fn = on_drain; }

void netloop_on_tick(netloop_tick_fn on_tick) { tick_fn = on_tick; }

void netloop_on_refusal(netloop_refusal_fn refusal) { refusal_fn = refusal; }

const char *netloop_listener_name(int i) {
    if (i < 0 || i >= n_listeners || listen_names[i] == NULL)
        return "";
    return listen_names[i];
}

/* Send queued output until it is gone or the socket would block.
 * Returns the number of bytes sent. */
static size_t flush(struct conn *c) {
    size_t sent = 0;
    while (!c->dead && pending(c) > 0) {
        ssize_t n = send(c->fd, c->out + c->out_off, pending(c), 0);
        if (n > 0) {
            c->out_off += (size_t)n;
            sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n == 0 || errno == EAGAIN) {
            break; /* wait for POLLOUT */
        } else {
            c->dead = 1; /* EPIPE, ECONNRESET, ... */
        }
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    return sent;
}

/* Flush, and while there is room let an on_drain guest queue more. */
static size_t pump(struct conn *c) {
    size_t sent = flush(c);
    while (drain_fn != NULL && !c->dead && !c->closing &&
           pending(c) < OUT_HIGH_WATER) {
        size_t before = c->out_len;
        drain_fn(c);
        if (c->out_len == before)
            break; /* nothing more to say */
        sent += flush(c);
    }
    return sent;
}

/* ---- connections ----------------------------------------------------- */

static int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    if (fl & O_NONBLOCK)
        return 0;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void close_conn(struct conn *c) {
    if (close_fn != NULL)
        close_fn(c);
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    while (conns_top > 0 && conns[conns_top - 1].fd < 0)
        conns_top--;
}

static struct conn *free_slot(void) {
    for (int i = 0; i < max_conns; i++)
        if (conns[i].fd < 0)
            return &conns[i];
    return NULL;
}

static void open_conn(int fd, int li) {
    static int warned;
    struct conn *c = free_slot();
    if (c == NULL) { /* over the limit: accept, say why, close */
        const char *why = refusal_fn != NULL ? refusal_fn(li) : NULL;
        if (why != NULL && set_nonblock(fd) == 0)
            (void)send(fd, why, strlen(why), 0);
        close(fd);
        return;
    }
    if (set_nonblock(fd) != 0 && !warned) {
        warned = 1; /* serve it anyway: poll() still says when to read */
        fprintf(stderr, "%s: fd %d: cannot set O_NONBLOCK: %s\n", loop_name,
                fd, strerror(errno));
    }
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->listener = li;
    if (c - conns >= conns_top)
        conns_top = (int)(c - conns) + 1;
    if (line_fn != NULL) {
        c->in = malloc(INBUF_SIZE + 1);
        if (c->in == NULL)
            close_conn(c);
    }
}

/* Errors after which the listener stays usable (try again later). */
static int accept_error_is_transient(int err) {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

static void accept_ready(int li) {
    int batch = listen_nonblock[li] ? ACCEPT_BATCH : 1;
    for (int k = 0; k < batch; k++) {
        /* This wasi-libc's accept() writes through addr/addrlen
         * unconditionally: never pass NULL. */
        struct sockaddr_storage addr;
        socklen_t addrlen = sizeof addr;
        int fd = accept(listen_fds[li], (struct sockaddr *)&addr, &addrlen);
        if (fd >= 0) {
            open_conn(fd, li);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue; /* that one connection is gone; take the next */
        if (errno == EAGAIN || accept_error_is_transient(errno))
            return;
        fprintf(stderr, "%s: accept on fd %d: %s; no longer listening\n",
                loop_name, listen_fds[li], strerror(errno));
        listen_fds[li] = -1;
        return;
    }
}

/* ---- input ----------------------------------------------------------- */

static void deliver_line(struct conn *c, char *line, size_t len) {
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > NETLOOP_MAX_LINE) {
        conn_puts(c, "ERR line too long\n");
        conn_close(c);
        return;
    }
    line[len] = '\0';
    line_fn(c, line, len);
}

static void process_lines(struct conn *c) {
    size_t start = 0;
    while (!c->closing && !c->dead) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - (c->in + start));
        deliver_line(c, c->in + start, len);
        start += len + 1;
    }
    if (c->closing || c->dead) {
        c->in_len = 0;
        return;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len >= INBUF_SIZE) { /* full, and still no '\n' */
        c->in_len = 0;
        conn_puts(c, "ERR line too long\n");
        conn_close(c);
    }
}

static void peer_eof(struct conn *c) {
    if (line_fn == NULL && eof_fn != NULL) {
        c->eof = 1;
        eof_fn(c);
        return;
    }
    if (line_fn != NULL && c->in_len > 0 && !c->closing) {
        size_t len = c->in_len;
        c->in_len = 0;
        deliver_line(c, c->in, len); /* c->in has room for the NUL */
    }
    c->closing = 1;
}

static void read_ready(struct conn *c) {
    char *buf = raw_buf;
    size_t room = sizeof raw_buf;
    if (line_fn != NULL) {
        buf = c->in + c->in_len;
        room = INBUF_SIZE - c->in_len;
    }
    ssize_t n = recv(c->fd, buf, room, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            c->dead = 1;
        return;
    }
    if (n == 0) {
        peer_eof(c);
        return;
    }
    if (line_fn != NULL) {
        c->in_len += (size_t)n;
        process_lines(c);
    } else {
        data_fn(c, buf, (size_t)n);
    }
}

static void conn_ready(struct conn *c, short revents) {
    if (revents & (POLLNVAL | POLLERR)) {
        c->dead = 1;
        return;
    }
    if (revents & POLLOUT)
        pump(c);
    if ((revents & (POLLIN | POLLHUP)) && !c->closing && !c->dead &&
        !c->eof && pending(c) < OUT_HIGH_WATER) {
        read_ready(c);
        pump(c);
        return;
    }
    /* Hang-up while only waiting to write: make progress or give up, so
     * that a stale POLLHUP cannot make the loop spin. */
    if ((revents & POLLHUP) && !(revents & POLLOUT) && pump(c) == 0 &&
        pending(c) > 0)
        c->dead = 1;
}

/* ---- the loop -------------------------------------------------------- */

static void parse_listen_names(void) {
    const char *names = getenv("LISTEN_FDNAMES");
    if (names == NULL)
        return;
    snprintf(listen_names_buf, sizeof listen_names_buf, "%s", names);
    char *p = listen_names_buf;
    for (int i = 0; i < n_listeners && p != NULL; i++) {
        listen_names[i] = p;
        p = strchr(p, ':');
        if (p != NULL)
            *p++ = '\0';
    }
}

static void setup_listeners(void) {
    netloop_max_conns();
    const char *s = getenv("LISTEN_FDS");
    long n = 1;
    if (s != NULL && *s != '\0') {
        char *end;
        n = strtol(s, &end, 10);
        if (*end != '\0' || n < 0) {
            fprintf(stderr, "%s: bad LISTEN_FDS=%s, using fd 3\n", loop_name,
                    s);
            n = 1;
        }
    }
    if (n > NETLOOP_MAX_LISTENERS) {
        fprintf(stderr, "%s: LISTEN_FDS=%ld, using the first %d\n", loop_name,
                n, NETLOOP_MAX_LISTENERS);
        n = NETLOOP_MAX_LISTENERS;
    }
    n_listeners = (int)n;
    parse_listen_names();
    for (int i = 0; i < n_listeners; i++) {
        listen_fds[i] = 3 + i;
        listen_nonblock[i] = set_nonblock(listen_fds[i]) == 0;
        if (!listen_nonblock[i])
            fprintf(stderr, "%s: fd %d: cannot set O_NONBLOCK: %s\n",
                    loop_name, listen_fds[i], strerror(errno));
        fprintf(stderr, "%s: listening on fd %d\n", loop_name, listen_fds[i]);
    }
    for (int i = 0; i < NETLOOP_MAX_CONNS; i++)
        conns[i].fd = -1;
}

int netloop_max_conns(void) {
    if (max_conns > 0)
        return max_conns;
    max_conns = NETLOOP_DEFAULT_CONNS;
    const char *s = getenv("REPLICODE_MAX_CONNECTIONS");
    if (s == NULL || *s == '\0')
        return max_conns;
    char *end;
    long n = strtol(s, &end, 10);
    if (*end != '\0' || n < 1) {
        fprintf(stderr, "%s: bad REPLICODE_MAX_CONNECTIONS=%s (want 1..%d), "
                "using %d\n", loop_name, s, NETLOOP_MAX_CONNS, max_conns);
    } else if (n > NETLOOP_MAX_CONNS) {
        fprintf(stderr, "%s: REPLICODE_MAX_CONNECTIONS=%ld is over this "
                "guest's ceiling, using %d\n", loop_name, n, NETLOOP_MAX_CONNS);
        max_conns = NETLOOP_MAX_CONNS;
    } else {
        max_conns = (int)n;
    }
    return max_conns;
}

static size_t build_pollfds(void) {
    size_t n = 0;
    for (int i = 0; i < n_listeners; i++) {
        if (listen_fds[i] < 0)
            continue;
        pfds[n] = (struct pollfd){.fd = listen_fds[i], .events = POLLIN};
        pfd_conn[n++] = NULL;
    }
    for (int i = 0; i < conns_top; i++) {
        struct conn *c = &conns[i];
        if (c->fd < 0)
            continue;
        if (c->dead || (c->closing && pending(c) == 0)) {
            close_conn(c);
            continue;
        }
        short events = 0;
        if (!c->closing && !c->eof && pending(c) < OUT_HIGH_WATER)
            events |= POLLIN;
        if (pending(c) > 0)
            events |= POLLOUT;
        /* wasi-libc's poll() fails the whole call with ENOSYS for an entry
         * asking for neither POLLIN nor POLLOUT (it cannot subscribe to
         * POLLHUP/POLLERR alone), so one connection waiting for nothing,
         * e.g. half-closed with its request waiting for the guest's next
         * work budget, would stop the loop. It is left out; whoever makes
         * it wait (on_tick) wakes it. */
        if (events == 0)
            continue;
        pfds[n] = (struct pollfd){.fd = c->fd, .events = events};
        pfd_conn[n++] = c;
    }
    return n;
}

static netloop_stop_fn stop_fn;

void netloop_on_stop(netloop_stop_fn on_stop) { stop_fn = on_stop; }

/* A listener hung up (the host stops this program, e.g. for an upgrade):
 * save, then exit 0. Connections still open are the host's to reset. */
static _Noreturn void stop_serving(int fd) {
    fprintf(stderr, "%s: listener fd %d hung up; stopping\n", loop_name, fd);
    if (stop_fn != NULL)
        stop_fn();
    exit(0);
}

static int listener_index(int fd) {
    for (int i = 0; i < n_listeners; i++)
        if (listen_fds[i] == fd)
            return i;
    return -1;
}

static _Noreturn void run(void) {
    setup_listeners();
    for (;;) {
        int timeout_ms = tick_fn != NULL ? tick_fn() : -1;
        size_t n = build_pollfds();
        if (n == 0) {
            fprintf(stderr, "%s: no listening socket left\n", loop_name);
            exit(1);
        }
        if (poll(pfds, n, timeout_ms) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            /* Never fatal: say it, wait 1 ms (a timer frame in Replicode, so
             * no spinning within a frame), and build the set again. */
            fprintf(stderr, "%s: poll on %zu fds: %s (%s); retrying in 1 ms\n",
                    loop_name, n, errname(errno), strerror(errno));
            (void)poll(NULL, 0, 1);
            continue;
        }
        /* A listener that hung up stops the loop, but only after the rest of
         * this round: requests that came with the hang-up are answered. */
        int hung_up = -1;
        for (size_t i = 0; i < n; i++) {
            short re = pfds[i].revents;
            if (re == 0)
                continue;
            if (pfd_conn[i] != NULL) {
                conn_ready(pfd_conn[i], re);
                continue;
            }
            int li = listener_index(pfds[i].fd);
            if (re & POLLHUP) {
                if (hung_up < 0)
                    hung_up = pfds[i].fd;
            } else if (re & POLLNVAL) {
                fprintf(stderr, "%s: fd %d is not open\n", loop_name,
                        pfds[i].fd);
                listen_fds[li] = -1;
            } else {
                accept_ready(li);
            }
        }
        if (hung_up >= 0)
            stop_serving(hung_up);
    }
}

_Noreturn void netloop_run_lines(const char *name, netloop_line_fn on_line) {
    loop_name = name;
    line_fn = on_line;
    run();
}

_Noreturn void netloop_run_raw(const char *name, netloop_data_fn on_data) {
    loop_name = name;
    data_fn = on_data;
    run();
}
