/* bytebuf.h - a growable byte buffer for encoders.
 *
 * Running out of memory is sticky: the buffer sets `oom`, ignores further
 * writes, and the caller checks `oom` once at the end. */
#ifndef BYTEBUF_H
#define BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len, cap;
    int oom;
} bytebuf;

/* Makes room for `extra` more bytes; 0 on success, -1 (and oom) if not. */
int bb_reserve(bytebuf *b, size_t extra);
void bb_put(bytebuf *b, const void *data, size_t len);
void bb_byte(bytebuf *b, uint8_t v);
void bb_be32(bytebuf *b, uint32_t v);
void bb_free(bytebuf *b);

#endif
