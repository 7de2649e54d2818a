/* echo_server - echoes every byte it receives, on the same connection, in
 * the same order, as the bytes come (not line based). */
#include "netloop.h"

static void handle_data(conn_t *c, const char *data, size_t len) {
    conn_write(c, data, len);
}

int main(void) { netloop_run_raw("echo", handle_data); }
