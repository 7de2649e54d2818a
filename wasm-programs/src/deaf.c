/* deaf - a guest that never looks at its listening socket: it sleeps in
 * poll() a second at a time, forever. An upgrade's hang-up goes unheard, so
 * the host stops it when its grace is over (UpgradeTest). */
#include <poll.h>
#include <stdio.h>

int main(void) {
    fprintf(stderr, "deaf: sleeping\n");
    for (;;)
        (void)poll(NULL, 0, 1000);
}
