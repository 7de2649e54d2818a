/* recursion - for call-depth limits:
 *
 *   recurse N   recurses (not a tail call) to depth N; replies "depth <N> ok"
 *   forever     recurses without bound: never returns, must trap
 *   maxdepth    replies "maxdepth <deepest level reached so far>"
 *
 * Each level keeps a volatile local (in the shadow stack, in linear memory)
 * and adds to the callee's result, so the compiler cannot make it a loop.
 */
#include "netloop.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

volatile int max_depth;
static volatile int keep_going = 1;

__attribute__((noinline)) static int recurse(int depth, int n) {
    volatile int local = depth;
    if (depth > max_depth)
        max_depth = depth;
    if (n <= 0)
        return local;
    int below = recurse(depth + 1, n - 1);
    return below + local; /* volatile read after the call: not a tail call */
}

__attribute__((noinline)) static int forever(int depth) {
    volatile int local = depth;
    if (depth > max_depth)
        max_depth = depth;
    if (!keep_going) /* always 1: the recursion has no end */
        return local;
    int below = forever(depth + 1);
    return below + local;
}

static void handle_line(conn_t *c, char *line, size_t len) {
    (void)len;
    if (strncmp(line, "recurse ", 8) == 0) {
        char *end;
        long n = strtol(line + 8, &end, 10);
        if (end == line + 8 || *end != '\0' || n < 0 || n > INT_MAX) {
            conn_puts(c, "ERR usage: recurse N\n");
            return;
        }
        if (n > 0)
            recurse(1, (int)n - 1);
        conn_printf(c, "depth %ld ok\n", n);
    } else if (strcmp(line, "forever") == 0) {
        conn_printf(c, "forever returned %d\n", forever(1));
    } else if (strcmp(line, "maxdepth") == 0) {
        conn_printf(c, "maxdepth %d\n", max_depth);
    } else if (*line != '\0') {
        conn_printf(c, "ERR unknown command %s\n", line);
    }
}

int main(void) { netloop_run_lines("recursion", handle_line); }
