/*
 * rc_lines: a line server written against RepliCode's socket interface, the way
 * RepliCode's own programs are: it opens and listens on its socket itself, serves
 * one client at a time with blocking sock_accept/sock_recv, and keeps its data in
 * files with relative names (its working directory) and under /tmp.
 *
 *   SET key value   -> OK          (writes the file "key.val" in the working directory)
 *   GET key         -> VALUE v | NIL
 *   NOTE text       -> NOTED n     (appends to /tmp/notes.txt; n = bytes in it)
 *   FETCH a.b.c.d port line
 *                   -> what the upstream answered, or ERR connect <errno>
 *                      (sock_connect with a sockaddr_in)
 *   RAWGET key      -> as GET, opening "key.val\n" (a newline in the name, as RepliCode's image_server passes
 *                      names it read from a request line: RepliCode's runtime trimmed it)
 *   BIG n           -> n bytes 'x' and a newline, in one sock_send (RepliCode's runtime sent a whole buffer)
 *   QUIT            -> BYE, and the connection is closed
 *
 * Built like RepliCode's programs: clang --target=wasm32-wasi -Wl,--allow-undefined.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WASI(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

WASI("sock_open") int sock_open(int domain, int socktype, int protocol, int *sock_fd_out);
WASI("sock_listen") int sock_listen(int sock_fd, int backlog);
WASI("sock_accept") int sock_accept(int sock_fd, int flags, int *sock_fd_out);
WASI("sock_recv") int sock_recv(int sock_fd, void *buf, int len, int flags, int *received, int *out_flags);
WASI("sock_send") int sock_send(int sock_fd, const void *buf, int len, int flags, int *sent);
WASI("sock_shutdown") int sock_shutdown(int sock_fd, int how);
WASI("sock_close") int sock_close(int sock_fd);
WASI("sock_connect") int sock_connect(int sock_fd, const void *addr, int addr_len);

struct rc_sockaddr_in {
    uint16_t family;
    uint16_t port_be;
    uint8_t addr[4];
    uint8_t zero[8];
};

static int send_all(int fd, const char *s, int len) {
    while (len > 0) {
        int sent = 0;
        int ret = sock_send(fd, s, len, 0, &sent);
        if (ret != 0) {
            return ret;
        }
        s += sent;
        len -= sent;
    }
    return 0;
}

static int reply(int fd, const char *s) {
    return send_all(fd, s, (int)strlen(s));
}

/* Reads one line (without its newline) one byte at a time, as RepliCode's servers do; -1 at the end. */
static int read_line(int fd, char *line, int max) {
    int n = 0;
    for (;;) {
        char c;
        int got = 0;
        int ret = sock_recv(fd, &c, 1, 0, &got, NULL);
        if (ret != 0 || got == 0) {
            return n > 0 ? n : -1;
        }
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

static void set_key(int fd, const char *key, const char *value) {
    char name[160];
    snprintf(name, sizeof name, "%s.val", key);
    FILE *f = fopen(name, "w");
    if (f == NULL) {
        char msg[200];
        snprintf(msg, sizeof msg, "ERR cannot write %s: errno %d\n", name, errno);
        reply(fd, msg);
        return;
    }
    fputs(value, f);
    fclose(f);
    reply(fd, "OK\n");
}

static void get_key(int fd, const char *key, const char *suffix) {
    char name[160];
    char value[1024];
    snprintf(name, sizeof name, "%s.val%s", key, suffix);
    FILE *f = fopen(name, "r");
    if (f == NULL) {
        reply(fd, "NIL\n");
        return;
    }
    size_t n = fread(value, 1, sizeof value - 1, f);
    fclose(f);
    value[n] = 0;
    char msg[1100];
    snprintf(msg, sizeof msg, "VALUE %s\n", value);
    reply(fd, msg);
}

static void note(int fd, const char *text) {
    FILE *f = fopen("/tmp/notes.txt", "a");
    if (f == NULL) {
        reply(fd, "ERR cannot open /tmp/notes.txt\n");
        return;
    }
    fprintf(f, "%s\n", text);
    long size = ftell(f);
    fclose(f);
    char msg[64];
    snprintf(msg, sizeof msg, "NOTED %ld\n", size);
    reply(fd, msg);
}

static void fetch(int fd, const char *args) {
    unsigned a, b, c, d, port;
    int used = 0;
    if (sscanf(args, "%u.%u.%u.%u %u %n", &a, &b, &c, &d, &port, &used) < 5 || used == 0) {
        reply(fd, "ERR usage: FETCH a.b.c.d port line\n");
        return;
    }
    int up;
    if (sock_open(2, 1, 0, &up) != 0) {
        reply(fd, "ERR sock_open\n");
        return;
    }
    struct rc_sockaddr_in sa = {2, (uint16_t)(((port & 0xFF) << 8) | ((port >> 8) & 0xFF)), {a, b, c, d}, {0}};
    int ret = sock_connect(up, &sa, sizeof sa);
    if (ret != 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "ERR connect %d\n", ret);
        reply(fd, msg);
        sock_close(up);
        return;
    }
    char line[1100];
    snprintf(line, sizeof line, "%s\n", args + used);
    send_all(up, line, (int)strlen(line));
    sock_shutdown(up, 1); /* SHUT_WR */
    char buf[512];
    for (;;) {
        int got = 0;
        ret = sock_recv(up, buf, sizeof buf, 0, &got, NULL);
        if (ret != 0 || got == 0) {
            break;
        }
        send_all(fd, buf, got);
    }
    sock_close(up);
}

static void big(int fd, int n) {
    if (n < 0 || n > (1 << 24)) {
        reply(fd, "ERR size\n");
        return;
    }
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL) {
        reply(fd, "ERR memory\n");
        return;
    }
    memset(buf, 'x', (size_t)n);
    buf[n] = '\n';
    int sent = 0;
    int ret = sock_send(fd, buf, n + 1, 0, &sent);
    if (ret != 0 || sent != n + 1) {
        printf("[rc_lines] sock_send failed (ret=%d, sent=%d/%d)\n", ret, sent, n + 1);
        fflush(stdout);
    }
    free(buf);
}

static void handle_client(int fd) {
    char line[1024];
    while (read_line(fd, line, sizeof line) >= 0) {
        char *arg = strchr(line, ' ');
        if (arg != NULL) {
            *arg++ = 0;
        }
        if (strcmp(line, "SET") == 0 && arg != NULL && strchr(arg, ' ') != NULL) {
            char *value = strchr(arg, ' ');
            *value++ = 0;
            set_key(fd, arg, value);
        } else if (strcmp(line, "GET") == 0 && arg != NULL) {
            get_key(fd, arg, "");
        } else if (strcmp(line, "RAWGET") == 0 && arg != NULL) {
            get_key(fd, arg, "\n");
        } else if (strcmp(line, "BIG") == 0 && arg != NULL) {
            big(fd, atoi(arg));
        } else if (strcmp(line, "NOTE") == 0 && arg != NULL) {
            note(fd, arg);
        } else if (strcmp(line, "FETCH") == 0 && arg != NULL) {
            fetch(fd, arg);
        } else if (strcmp(line, "QUIT") == 0) {
            reply(fd, "BYE\n");
            break;
        } else {
            char msg[1100];
            snprintf(msg, sizeof msg, "ERR unknown command '%s'\n", line);
            reply(fd, msg);
        }
    }
    sock_shutdown(fd, 1); /* SHUT_WR */
    sock_close(fd);
}

int main(void) {
    int server_fd, client_fd;
    printf("[rc_lines] starting\n");
    fflush(stdout);
    if (sock_open(2, 1, 0, &server_fd) != 0) {
        printf("[rc_lines] sock_open failed\n");
        return 1;
    }
    if (sock_listen(server_fd, 5) != 0) {
        printf("[rc_lines] sock_listen failed\n");
        return 1;
    }
    printf("[rc_lines] listening on fd %d\n", server_fd);
    fflush(stdout);
    for (;;) {
        int ret = sock_accept(server_fd, 0, &client_fd);
        if (ret == 13) { /* CONNABORTED: the listener hung up (an upgrade) */
            printf("[rc_lines] listener hung up, exiting\n");
            return 0;
        }
        if (ret != 0) {
            continue;
        }
        handle_client(client_fd);
    }
}
