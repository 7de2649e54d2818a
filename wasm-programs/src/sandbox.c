/* sandbox - tries to leave its preopened directory /data in every usual way
 * and prints one line per attempt to stdout, "<what>: <result>", where
 * result is "ok" or the errno name; then exits 0. No socket is used.
 */
#include "errname.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *what, int ok) {
    printf("%s: %s\n", what, ok ? "ok" : errname(errno));
}

static void try_open(const char *what, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    report(what, fd >= 0);
    if (fd >= 0)
        close(fd);
}

static void try_symlink(const char *what, const char *target,
                        const char *path) {
    report(what, symlink(target, path) == 0);
}

static void try_opendir(const char *what, const char *path) {
    DIR *d = opendir(path);
    report(what, d != NULL);
    if (d != NULL)
        closedir(d);
}

static void try_stat(const char *what, const char *path) {
    struct stat st;
    report(what, stat(path, &st) == 0);
}

int main(void) {
    try_open("open /data/../etc/passwd", "/data/../etc/passwd", O_RDONLY);
    try_open("open /etc/passwd", "/etc/passwd", O_RDONLY);
    try_open("open ../x", "../x", O_RDONLY);
    try_open("create /data/./ok.txt", "/data/./ok.txt", O_CREAT | O_WRONLY);
    try_symlink("symlink /data/abs -> /etc", "/etc", "/data/abs");
    try_open("open /data/abs/passwd", "/data/abs/passwd", O_RDONLY);
    try_symlink("symlink /data/up -> ../..", "../..", "/data/up");
    try_open("open /data/up/x", "/data/up/x", O_RDONLY);
    try_symlink("symlink /data/rel -> ok.txt", "ok.txt", "/data/rel");
    try_open("open /data/rel", "/data/rel", O_RDONLY);
    report("mkdir /data/../escape", mkdir("/data/../escape", 0755) == 0);
    report("rename /data/ok.txt /data/../moved",
           rename("/data/ok.txt", "/data/../moved") == 0);
    report("link /data/ok.txt /data/hard",
           link("/data/ok.txt", "/data/hard") == 0);
    try_opendir("opendir /", "/");
    try_stat("stat /data/..", "/data/..");
    return 0;
}
