#include "inbuf.h"

#include <stdlib.h>
#include <string.h>

int inbuf_make_room(char **buf, size_t *start, size_t *len, size_t *cap, size_t more) {
    if (*len + more <= *cap)
        return 0;
    if (*start > 0) {
        memmove(*buf, *buf + *start, *len - *start);
        *len -= *start;
        *start = 0;
    }
    if (*len + more <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < *len + more)
        n *= 2;
    char *b = realloc(*buf, n);
    if (b == NULL)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}
