/* memory_hog - for memory limits:
 *
 *   hog N   malloc(1 MiB) and touch every byte, up to N times, stopping at
 *           the first NULL; replies "allocated <k> MiB" (k blocks this time).
 *
 * Blocks are never freed (they are chained from a global list, so the
 * compiler cannot drop them): repeated commands accumulate.
 */
#include "netloop.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK (1024 * 1024)

struct block {
    struct block *next;
};

static struct block *volatile blocks;

static unsigned long hog(unsigned long n) {
    unsigned long k;
    for (k = 0; k < n; k++) {
        struct block *b = malloc(BLOCK);
        if (b == NULL)
            break;
        memset(b, (int)(0x40 + (k & 0x3f)), BLOCK);
        b->next = blocks;
        blocks = b;
    }
    return k;
}

static void handle_line(conn_t *c, char *line, size_t len) {
    (void)len;
    if (strncmp(line, "hog ", 4) == 0) {
        char *end;
        unsigned long n = strtoul(line + 4, &end, 10);
        if (end == line + 4 || *end != '\0') {
            conn_puts(c, "ERR usage: hog N\n");
            return;
        }
        conn_printf(c, "allocated %lu MiB\n", hog(n));
    } else if (*line != '\0') {
        conn_printf(c, "ERR unknown command %s\n", line);
    }
}

int main(void) { netloop_run_lines("memory_hog", handle_line); }
