/* endless_loop - for instruction budgets (fuel):
 *
 *   spin    for (;;) counter++;   never replies, never returns
 *   count   replies "count <counter>"
 *
 * `counter` is a global volatile uint64_t in linear memory, so every
 * iteration is a load and a store, and its value is part of the memory image.
 */
#include "netloop.h"

#include <stdint.h>
#include <string.h>

volatile uint64_t counter;

__attribute__((noinline)) static void spin(void) {
    for (;;)
        counter++;
}

static void handle_line(conn_t *c, char *line, size_t len) {
    (void)len;
    if (strcmp(line, "spin") == 0)
        spin();
    else if (strcmp(line, "count") == 0)
        conn_printf(c, "count %llu\n", (unsigned long long)counter);
    else if (*line != '\0')
        conn_printf(c, "ERR unknown command %s\n", line);
}

int main(void) { netloop_run_lines("endless_loop", handle_line); }
