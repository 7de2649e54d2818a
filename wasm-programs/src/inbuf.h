/* inbuf.h - room in an input buffer whose live bytes are buf[start, len).
 *
 * Shared by the incremental parsers (http.c, resp.c): before growing, the
 * consumed prefix is dropped by moving the live bytes to the front; only then
 * does the buffer double (from 4 KiB) until `more` bytes fit. */
#ifndef INBUF_H
#define INBUF_H

#include <stddef.h>

/* 0 on success, -1 if memory ran out (the buffer is unchanged). */
int inbuf_make_room(char **buf, size_t *start, size_t *len, size_t *cap, size_t more);

#endif
