/*
 * we_proxy: a line server written against WasmEdge's socket extension: it opens,
 * binds and listens on its own socket, serves one client at a time, and connects
 * out to the upstream named by the environment variable UPSTREAM (host:port),
 * resolving the host with sock_getaddrinfo.
 *
 *   WHO          -> PEER a.b.c.d:port LOCAL a.b.c.d:port   (sock_getpeeraddr, sock_getlocaladdr)
 *   ECHO text    -> text
 *   PROXY line   -> the upstream's answer to line (one connection per PROXY), or ERR <call> <errno>
 *   QUIT         -> BYE, and the connection is closed
 *
 * The listening port is argv[1] (default 7700): bind claims the app's listener with that gateway port.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WASI(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

typedef struct { uint8_t *buf; uint32_t buf_len; } we_address;
typedef struct { void *buf; uint32_t buf_len; } we_iovec;
typedef struct {
    uint8_t sa_family;
    uint32_t sa_data_len;
    uint8_t *sa_data;
} we_sockaddr;
typedef struct {
    uint16_t ai_flags;
    uint8_t ai_family;
    uint8_t ai_socktype;
    uint8_t ai_protocol;
    uint32_t ai_addrlen;
    we_sockaddr *ai_addr;
    char *ai_canonname;
    uint32_t ai_canonname_len;
    void *ai_next;
} we_addrinfo;

WASI("sock_open") int32_t we_sock_open(int32_t af, int32_t type, uint32_t *fd);
WASI("sock_bind") int32_t we_sock_bind(int32_t fd, we_address *addr, int32_t port);
WASI("sock_listen") int32_t we_sock_listen(int32_t fd, int32_t backlog);
WASI("sock_accept") int32_t we_sock_accept(int32_t fd, uint32_t *new_fd);
WASI("sock_connect") int32_t we_sock_connect(int32_t fd, we_address *addr, int32_t port);
WASI("sock_recv") int32_t we_sock_recv(int32_t fd, we_iovec *iovs, int32_t n, int32_t flags, uint32_t *nread, uint32_t *oflags);
WASI("sock_send") int32_t we_sock_send(int32_t fd, we_iovec *iovs, int32_t n, int32_t flags, uint32_t *nsent);
WASI("sock_shutdown") int32_t we_sock_shutdown(int32_t fd, int32_t how);
WASI("sock_getpeeraddr") int32_t we_sock_getpeeraddr(int32_t fd, we_address *addr, uint32_t *type, uint32_t *port);
WASI("sock_getlocaladdr") int32_t we_sock_getlocaladdr(int32_t fd, we_address *addr, uint32_t *type, uint32_t *port);
WASI("sock_setsockopt") int32_t we_sock_setsockopt(int32_t fd, int32_t level, int32_t name, int32_t *flag, int32_t size);
WASI("sock_getaddrinfo") int32_t we_sock_getaddrinfo(const char *node, uint32_t node_len, const char *service,
                                                     uint32_t service_len, we_addrinfo *hints, we_addrinfo **res,
                                                     uint32_t max, uint32_t *res_len);
WASI("fd_close") int32_t we_fd_close(int32_t fd);

enum { INET4 = 1, STREAM = 2, SHUT_WRITE = 2 };

static int send_all(int fd, const char *s, uint32_t len) {
    while (len > 0) {
        we_iovec v = {(void *)s, len};
        uint32_t sent = 0;
        int ret = we_sock_send(fd, &v, 1, 0, &sent);
        if (ret != 0) {
            return ret;
        }
        s += sent;
        len -= sent;
    }
    return 0;
}

static int reply(int fd, const char *s) {
    return send_all(fd, s, (uint32_t)strlen(s));
}

/* Buffered line reading from a socket. */
static char inbuf[4096];
static uint32_t in_len, in_pos;

static int read_line(int fd, char *line, int max) {
    int n = 0;
    for (;;) {
        if (in_pos == in_len) {
            we_iovec v = {inbuf, sizeof inbuf};
            uint32_t got = 0, oflags = 0;
            if (we_sock_recv(fd, &v, 1, 0, &got, &oflags) != 0 || got == 0) {
                return n > 0 ? n : -1;
            }
            in_len = got;
            in_pos = 0;
        }
        char c = inbuf[in_pos++];
        if (c == '\n') {
            if (n > 0 && line[n - 1] == '\r') {
                n--;
            }
            line[n] = 0;
            return n;
        }
        if (n < max - 1) {
            line[n++] = c;
        }
    }
}

static void format_address(char *out, size_t size, const char *what, int fd,
                           int32_t (*get)(int32_t, we_address *, uint32_t *, uint32_t *)) {
    uint8_t ip[4] = {0};
    we_address a = {ip, 4};
    uint32_t type = 0, port = 0;
    int ret = get(fd, &a, &type, &port);
    if (ret != 0) {
        snprintf(out, size, "%s ERR %d", what, ret);
    } else {
        snprintf(out, size, "%s %u.%u.%u.%u:%u", what, ip[0], ip[1], ip[2], ip[3], port);
    }
}

static void who(int fd) {
    char peer[64], local[64], msg[160];
    format_address(peer, sizeof peer, "PEER", fd, we_sock_getpeeraddr);
    format_address(local, sizeof local, "LOCAL", fd, we_sock_getlocaladdr);
    snprintf(msg, sizeof msg, "%s %s\n", peer, local);
    reply(fd, msg);
}

static void proxy(int fd, const char *line) {
    const char *upstream = getenv("UPSTREAM");
    char host[256], msg[300];
    const char *colon = upstream == NULL ? NULL : strrchr(upstream, ':');
    if (colon == NULL || (size_t)(colon - upstream) >= sizeof host) {
        reply(fd, "ERR UPSTREAM is not host:port\n");
        return;
    }
    memcpy(host, upstream, (size_t)(colon - upstream));
    host[colon - upstream] = 0;
    const char *service = colon + 1;

    uint8_t data[26];
    we_sockaddr sa = {0, sizeof data, data};
    we_addrinfo result = {0};
    result.ai_addr = &sa;
    we_addrinfo hints = {0};
    hints.ai_family = INET4;
    hints.ai_socktype = STREAM;
    we_addrinfo *res = &result;
    uint32_t count = 0;
    int ret = we_sock_getaddrinfo(host, (uint32_t)strlen(host), service, (uint32_t)strlen(service), &hints, &res, 1, &count);
    if (ret != 0 || count < 1) {
        snprintf(msg, sizeof msg, "ERR getaddrinfo %d\n", ret);
        reply(fd, msg);
        return;
    }
    uint32_t up;
    if ((ret = we_sock_open(INET4, STREAM, &up)) != 0) {
        snprintf(msg, sizeof msg, "ERR sock_open %d\n", ret);
        reply(fd, msg);
        return;
    }
    uint32_t port = ((uint32_t)data[0] << 8) | data[1];
    we_address addr = {data + 2, 4};
    if ((ret = we_sock_connect((int32_t)up, &addr, (int32_t)port)) != 0) {
        snprintf(msg, sizeof msg, "ERR connect %d\n", ret);
        reply(fd, msg);
        we_fd_close((int32_t)up);
        return;
    }
    snprintf(msg, sizeof msg, "%s\n", line);
    send_all((int)up, msg, (uint32_t)strlen(msg));
    we_sock_shutdown((int32_t)up, SHUT_WRITE);
    char buf[512];
    for (;;) {
        we_iovec v = {buf, sizeof buf};
        uint32_t got = 0, oflags = 0;
        if (we_sock_recv((int32_t)up, &v, 1, 0, &got, &oflags) != 0 || got == 0) {
            break;
        }
        send_all(fd, buf, got);
    }
    we_fd_close((int32_t)up);
}

static void serve(int fd) {
    char line[1024];
    in_len = in_pos = 0;
    while (read_line(fd, line, sizeof line) >= 0) {
        if (strcmp(line, "WHO") == 0) {
            who(fd);
        } else if (strncmp(line, "ECHO ", 5) == 0) {
            char msg[1100];
            snprintf(msg, sizeof msg, "%s\n", line + 5);
            reply(fd, msg);
        } else if (strncmp(line, "PROXY ", 6) == 0) {
            proxy(fd, line + 6);
        } else if (strcmp(line, "QUIT") == 0) {
            reply(fd, "BYE\n");
            break;
        } else {
            char msg[1100];
            snprintf(msg, sizeof msg, "ERR unknown command '%s'\n", line);
            reply(fd, msg);
        }
    }
    we_sock_shutdown(fd, 3);
    we_fd_close(fd);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7700;
    uint32_t fd;
    int ret;
    if ((ret = we_sock_open(INET4, STREAM, &fd)) != 0) {
        printf("[we_proxy] sock_open: %d\n", ret);
        return 1;
    }
    int32_t one = 1;
    we_sock_setsockopt((int32_t)fd, 0, 0, &one, sizeof one); /* SOL_SOCKET, SO_REUSEADDR */
    uint8_t any[4] = {0, 0, 0, 0};
    we_address addr = {any, 4};
    if ((ret = we_sock_bind((int32_t)fd, &addr, port)) != 0 || (ret = we_sock_listen((int32_t)fd, 128)) != 0) {
        printf("[we_proxy] bind/listen on %d: %d\n", port, ret);
        return 1;
    }
    printf("[we_proxy] listening on port %d\n", port);
    fflush(stdout);
    for (;;) {
        uint32_t client;
        ret = we_sock_accept((int32_t)fd, &client);
        if (ret == 13) { /* CONNABORTED: the listener hung up (an upgrade) */
            return 0;
        }
        if (ret == 0) {
            serve((int)client);
        }
    }
}
