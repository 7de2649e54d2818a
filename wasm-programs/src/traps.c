/* traps - line commands that stop the guest in every way WebAssembly can:
 *
 *   ok           replies "ok"
 *   unreachable  executes `unreachable`
 *   oob          loads 4 bytes at address 0xFFFFFFF0 (out of bounds)
 *   div0         i32.div_s by zero
 *   overflow     INT_MIN / -1 (i32.div_s overflow)
 *   exit N       exit(N) -> proc_exit(N)
 *   indirect     call_indirect with a mismatching function type
 *
 * Operands come from volatile variables and the helpers are noinline, so the
 * compiler can neither fold nor drop the trapping instructions.
 */
#include "netloop.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile uintptr_t bad_address = 0xFFFFFFF0u;
static volatile int zero = 0;
static volatile int one = 1;
static volatile int minus_one = -1;
static volatile int int_min = INT_MIN;

__attribute__((noinline)) static void trap_unreachable(void) {
    __builtin_trap();
}

__attribute__((noinline)) static int trap_oob(void) {
    volatile int *p = (volatile int *)bad_address;
    return *p;
}

/* Both operands volatile: with a constant dividend, clang turns 1 / x into
 * a compare-and-select (division by zero being undefined) and nothing traps. */
__attribute__((noinline)) static int trap_div0(void) { return one / zero; }

__attribute__((noinline)) static int trap_overflow(void) {
    return int_min / minus_one;
}

/* The target takes no argument and returns nothing; it is called as
 * int(int, int). The pointer is read from a volatile variable, so the call
 * stays a call_indirect and the runtime's signature check must trap. */
__attribute__((noinline)) static void indirect_target(void) { zero = 0; }
static void (*volatile indirect_ptr)(void) = indirect_target;

__attribute__((noinline)) static int trap_indirect(void) {
    int (*f)(int, int) = (int (*)(int, int))(uintptr_t)indirect_ptr;
    return f(1, 2);
}

static void handle_line(conn_t *c, char *line, size_t len) {
    (void)len;
    if (strcmp(line, "ok") == 0) {
        conn_puts(c, "ok\n");
    } else if (strcmp(line, "unreachable") == 0) {
        trap_unreachable();
    } else if (strcmp(line, "oob") == 0) {
        conn_printf(c, "oob read %d\n", trap_oob());
    } else if (strcmp(line, "div0") == 0) {
        conn_printf(c, "div0 gave %d\n", trap_div0());
    } else if (strcmp(line, "overflow") == 0) {
        conn_printf(c, "overflow gave %d\n", trap_overflow());
    } else if (strncmp(line, "exit ", 5) == 0) {
        exit(atoi(line + 5));
    } else if (strcmp(line, "indirect") == 0) {
        conn_printf(c, "indirect gave %d\n", trap_indirect());
    } else if (*line != '\0') {
        conn_printf(c, "ERR unknown command %s\n", line);
    }
}

int main(void) { netloop_run_lines("traps", handle_line); }
