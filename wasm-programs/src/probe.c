/* probe - line commands that show what the guest sees of clocks, randomness,
 * arguments, environment and the filesystem. One reply line per command:
 *
 *   clock        realtime <ns> monotonic <ns> res <ns>
 *   random N     N (0..256) random bytes as lowercase hex
 *   args         argv[0..argc) joined by single spaces
 *   env NAME     the value of NAME, or "(unset)"
 *   files        files <content> <entries of /data> ino <ino> mtime <ns>
 *   sleep MS     poll(NULL, 0, MS), then: slept monotonic <ns>
 *   quota N      wrote <bytes> errno <ENAME|OK>   (N bytes to /data/big.bin)
 *
 * Errors: "ERR <what>".
 */
#include "errname.h"
#include "netloop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int g_argc;
static char **g_argv;

static long long ts_ns(const struct timespec *ts) {
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* Parses a whole decimal argument into *out; returns 0 on success. */
static int parse_ull(const char *s, unsigned long long max,
                     unsigned long long *out) {
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static void cmd_clock(conn_t *c) {
    struct timespec rt, mono, res;
    if (clock_gettime(CLOCK_REALTIME, &rt) != 0 ||
        clock_gettime(CLOCK_MONOTONIC, &mono) != 0 ||
        clock_getres(CLOCK_MONOTONIC, &res) != 0) {
        conn_printf(c, "ERR clock %s\n", errname(errno));
        return;
    }
    conn_printf(c, "realtime %lld monotonic %lld res %lld\n", ts_ns(&rt),
                ts_ns(&mono), ts_ns(&res));
}

static void cmd_random(conn_t *c, const char *arg) {
    unsigned long long n;
    if (parse_ull(arg, 256, &n) != 0) {
        conn_puts(c, "ERR usage: random N (0..256)\n");
        return;
    }
    unsigned char bytes[256];
    if (n > 0 && getentropy(bytes, (size_t)n) != 0) {
        conn_printf(c, "ERR random %s\n", errname(errno));
        return;
    }
    static const char hex[] = "0123456789abcdef";
    char text[2 * 256 + 2];
    for (size_t i = 0; i < n; i++) {
        text[2 * i] = hex[bytes[i] >> 4];
        text[2 * i + 1] = hex[bytes[i] & 15];
    }
    text[2 * n] = '\n';
    conn_write(c, text, 2 * (size_t)n + 1);
}

static void cmd_args(conn_t *c) {
    for (int i = 0; i < g_argc; i++) {
        if (i > 0)
            conn_puts(c, " ");
        conn_puts(c, g_argv[i]);
    }
    conn_puts(c, "\n");
}

static void cmd_env(conn_t *c, const char *name) {
    if (name == NULL || *name == '\0') {
        conn_puts(c, "ERR usage: env NAME\n");
        return;
    }
    const char *v = getenv(name);
    conn_printf(c, "%s\n", v ? v : "(unset)");
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    size_t len = strlen(text);
    int werr = fwrite(text, 1, len, f) == len ? 0 : errno;
    if (fclose(f) != 0) /* fclose flushes: the fd_write happens here */
        return -1;
    errno = werr;
    return werr ? -1 : 0;
}

static int read_file(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    int bad = ferror(f);
    fclose(f);
    buf[n] = '\0';
    return bad ? -1 : 0;
}

/* Appends " name" for each entry of dir except "." and ".." to out. */
static int list_dir(const char *dir, char *out, size_t size) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    size_t used = strlen(out);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int n = snprintf(out + used, size - used, " %s", e->d_name);
        if (n < 0 || (size_t)n >= size - used)
            break; /* truncated */
        used += (size_t)n;
    }
    closedir(d);
    return 0;
}

/* Runs the steps of "files"; returns NULL or the name of the failed step. */
static const char *files_steps(char *content, size_t size, char *listing,
                               size_t lsize, struct stat *st) {
    if (write_file("/data/probe.txt", "hello\n") != 0)
        return "write /data/probe.txt";
    if (read_file("/data/probe.txt", content, size) != 0)
        return "read /data/probe.txt";
    content[strcspn(content, "\n")] = '\0';
    if (mkdir("/data/dir", 0755) != 0 && errno != EEXIST)
        return "mkdir /data/dir";
    if (write_file("/data/b.txt", "b\n") != 0)
        return "write /data/b.txt";
    if (write_file("/data/a.txt", "a\n") != 0)
        return "write /data/a.txt";
    listing[0] = '\0';
    if (list_dir("/data", listing, lsize) != 0)
        return "opendir /data";
    if (stat("/data/probe.txt", st) != 0)
        return "stat /data/probe.txt";
    return NULL;
}

static void cmd_files(conn_t *c) {
    static char listing[2048];
    char content[64];
    struct stat st;
    const char *failed =
        files_steps(content, sizeof content, listing, sizeof listing, &st);
    if (failed != NULL) {
        conn_printf(c, "ERR files %s %s\n", failed, errname(errno));
        return;
    }
    conn_printf(c, "files %s%s ino %llu mtime %lld\n", content, listing,
                (unsigned long long)st.st_ino, ts_ns(&st.st_mtim));
}

static void cmd_sleep(conn_t *c, const char *arg) {
    unsigned long long ms;
    if (parse_ull(arg, 0x7fffffff, &ms) != 0) {
        conn_puts(c, "ERR usage: sleep MS\n");
        return;
    }
    if (poll(NULL, 0, (int)ms) < 0) {
        conn_printf(c, "ERR sleep %s\n", errname(errno));
        return;
    }
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    conn_printf(c, "slept monotonic %lld\n", ts_ns(&mono));
}

static void cmd_quota(conn_t *c, const char *arg) {
    static char chunk[64 * 1024];
    unsigned long long n, wrote = 0;
    int err = 0;
    if (parse_ull(arg, ~0ULL, &n) != 0) {
        conn_puts(c, "ERR usage: quota N\n");
        return;
    }
    memset(chunk, 'q', sizeof chunk);
    int fd = open("/data/big.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        conn_printf(c, "wrote 0 errno %s\n", errname(errno));
        return;
    }
    while (wrote < n) {
        size_t want = n - wrote < sizeof chunk ? (size_t)(n - wrote)
                                               : sizeof chunk;
        ssize_t w = write(fd, chunk, want);
        if (w < 0) {
            err = errno;
            break;
        }
        if (w == 0) {
            err = ENOSPC; /* no progress and no error: report as full */
            break;
        }
        wrote += (unsigned long long)w;
    }
    close(fd);
    conn_printf(c, "wrote %llu errno %s\n", wrote, errname(err));
}

static void handle_line(conn_t *c, char *line, size_t len) {
    (void)len;
    char *arg = strchr(line, ' ');
    if (arg != NULL)
        *arg++ = '\0';
    if (*line == '\0' && arg == NULL)
        return; /* empty line */
    if (strcmp(line, "clock") == 0)
        cmd_clock(c);
    else if (strcmp(line, "random") == 0)
        cmd_random(c, arg);
    else if (strcmp(line, "args") == 0)
        cmd_args(c);
    else if (strcmp(line, "env") == 0)
        cmd_env(c, arg);
    else if (strcmp(line, "files") == 0)
        cmd_files(c);
    else if (strcmp(line, "sleep") == 0)
        cmd_sleep(c, arg);
    else if (strcmp(line, "quota") == 0)
        cmd_quota(c, arg);
    else
        conn_printf(c, "ERR unknown command %s\n", line);
}

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    netloop_run_lines("probe", handle_line);
}
