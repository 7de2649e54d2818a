/* bytebuf.c - see bytebuf.h. */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

int bb_reserve(bytebuf *b, size_t extra) {
    if (b->oom)
        return -1;
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void bb_put(bytebuf *b, const void *data, size_t len) {
    if (len == 0 || bb_reserve(b, len) != 0)
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void bb_byte(bytebuf *b, uint8_t v) {
    if (b->len < b->cap && !b->oom) {
        b->data[b->len++] = v;
        return;
    }
    bb_put(b, &v, 1);
}

void bb_be32(bytebuf *b, uint32_t v) {
    uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                     (uint8_t)v};
    bb_put(b, be, 4);
}

void bb_free(bytebuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
