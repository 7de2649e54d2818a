/* netloop.h - the connection and poll-loop plumbing shared by the test guests.
 *
 * Listening sockets are preopened by the host at fds 3, 4, ... (systemd
 * convention): LISTEN_FDS is their number (default 1, i.e. fd 3 only) and
 * LISTEN_FDNAMES their colon-separated names.  Every socket is switched to
 * O_NONBLOCK and served from a single poll() loop:
 *
 *   - at most REPLICODE_MAX_CONNECTIONS connections (environment; the
 *     launcher sets it from the app's maxConnections; default
 *     NETLOOP_DEFAULT_CONNS, at most NETLOOP_MAX_CONNS); further ones are
 *     accepted and closed at once;
 *   - line mode: input is split at '\n' (a trailing '\r' is dropped) and each
 *     line is handed to the guest's handle_line(); a line longer than
 *     NETLOOP_MAX_LINE bytes gets "ERR line too long\n" and the connection is
 *     closed;
 *   - raw mode: every chunk received is handed to the guest as it comes;
 *   - output is queued per connection and sent when the socket is writable;
 *   - when the peer half-closes (recv() == 0), a last unterminated line is
 *     still handled, pending output is flushed, then the connection is closed
 *     (raw mode with an on_eof hook: the guest decides when to close);
 *   - a connection with NETLOOP_OUT_HIGH_WATER bytes of output pending is not
 *     read from until its peer reads;
 *   - a connection the loop waits on for nothing (no input wanted, no output
 *     pending: e.g. half-closed, its last request waiting for the guest's
 *     next work budget) is left out of poll(), and a poll() error is logged
 *     with its errno name and retried after a 1 ms wait (a timer frame in
 *     Replicode), never an exit.
 */
#ifndef NETLOOP_H
#define NETLOOP_H

#include <stddef.h>

#define NETLOOP_DEFAULT_CONNS 256
#define NETLOOP_MAX_CONNS 4096 /* ceiling of REPLICODE_MAX_CONNECTIONS */
#define NETLOOP_MAX_LINE 4096
#define NETLOOP_MAX_LISTENERS 16
/* Stop reading from a peer that does not read its replies. */
#define NETLOOP_OUT_HIGH_WATER (256 * 1024)

typedef struct conn conn_t;

/* line: NUL-terminated at line[len], without "\n" / "\r\n"; may be modified. */
typedef void (*netloop_line_fn)(conn_t *c, char *line, size_t len);
typedef void (*netloop_data_fn)(conn_t *c, const char *data, size_t len);

/* Queue bytes for the peer (sent as soon as the socket is writable). */
void conn_write(conn_t *c, const void *data, size_t len);
void conn_puts(conn_t *c, const char *s);
void conn_printf(conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Close after the queued output is flushed; no further input is handled. */
void conn_close(conn_t *c);
/* Connections served at once (REPLICODE_MAX_CONNECTIONS, see above). */
int netloop_max_conns(void);
/* Index (0 = fd 3) of the listening socket that accepted this connection. */
int conn_listener(const conn_t *c);
/* Name of listening socket i from LISTEN_FDNAMES, or "" if none. */
const char *netloop_listener_name(int i);

/* Per-connection data of the guest: NULL when a connection opens. */
void conn_set_data(conn_t *c, void *data);
void *conn_data(const conn_t *c);
/* on_close(c) runs just before connection c is closed and its slot reused,
 * so the guest can free what conn_data(c) points to. */
typedef void (*netloop_close_fn)(conn_t *c);
void netloop_on_close(netloop_close_fn on_close);

/* Hooks for raw-mode servers that buffer input and answer it in parts. */
typedef void (*netloop_conn_fn)(conn_t *c);
/* Bytes queued for c and not yet sent. */
size_t conn_pending(const conn_t *c);
/* on_eof(c) runs when the peer half-closes (recv() == 0), instead of the
 * close-after-flush: c is no longer read from, and the guest calls
 * conn_close(c) once it has answered what it buffered. */
void netloop_on_eof(netloop_conn_fn on_eof);
/* on_drain(c) runs after c's output was sent while it is below
 * NETLOOP_OUT_HIGH_WATER (and c is not closing), and again as long as it
 * queues more: a guest that stopped answering buffered requests because
 * conn_pending(c) was high goes on from there. */
void netloop_on_drain(netloop_conn_fn on_drain);
/* on_tick() runs before every poll() and returns its timeout in ms (-1: wait
 * for I/O only); a guest does its timed work there. */
typedef int (*netloop_tick_fn)(void);
void netloop_on_tick(netloop_tick_fn on_tick);
/* refusal(listener) gives the bytes (a C string, or NULL for none) sent to a
 * connection accepted over netloop_max_conns() before it is closed. */
typedef const char *(*netloop_refusal_fn)(int listener);
void netloop_on_refusal(netloop_refusal_fn refusal);

/* The stop convention: when the host hangs up the listening sockets (poll()
 * reports POLLHUP on a listener; Replicode does this when the app is being
 * upgraded), the loop answers what else that poll() reported ready, then
 * stops serving: on_stop() runs (the guest saves what it must keep under
 * /data), then the program exits with status 0. The host
 * then starts the new module on the same files. */
typedef void (*netloop_stop_fn)(void);
void netloop_on_stop(netloop_stop_fn on_stop);

/* Serve forever; `name` prefixes the stderr messages
 * ("<name>: listening on fd 3"). */
_Noreturn void netloop_run_lines(const char *name, netloop_line_fn on_line);
_Noreturn void netloop_run_raw(const char *name, netloop_data_fn on_data);

#endif
