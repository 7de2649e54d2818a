/* flate.h - zlib streams (RFC 1950) around deflate (RFC 1951), written for
 * the image server: a decoder into a buffer of known size (PNG knows how
 * many bytes its image data inflates to) and an encoder with LZ77 matching
 * and per-block choice of dynamic Huffman, fixed Huffman or stored blocks.
 * Integer arithmetic only: the same input gives the same bytes everywhere. */
#ifndef FLATE_H
#define FLATE_H

#include "bytebuf.h"

#include <stddef.h>
#include <stdint.h>

/* Adler-32 of data, continuing from `adler` (start with 1). */
uint32_t adler32(uint32_t adler, const uint8_t *data, size_t len);

/* Deflate blocks a zlib stream of n bytes may have: 16, plus one per 2 KiB.
 * Every block costs a header, and a dynamic one rebuilds three Huffman
 * tables (about 40,000 instructions) in ~11 bytes, so a stream of empty
 * blocks costs far more than its size suggests; encoders (zlib, ours) make
 * blocks of several KiB (zlib: 16 Ki symbols of at least a bit).  Callers charge this many blocks of work up front
 * and the decoder refuses a stream with more. */
#define FLATE_MAX_BLOCKS(n) (16 + (uint64_t)(n) / 2048)

/* Inflates the zlib stream in[0, in_len) into out[0, out_cap).
 * Returns the number of bytes produced (the Adler-32 trailer is checked),
 * or -1 with *err set to a short reason ("truncated deflate stream",
 * "invalid distance", "inflated data larger than expected", ...), or
 * FLATE_TOO_COSTLY when the stream has more than FLATE_MAX_BLOCKS(in_len)
 * blocks (the decoder stops there). */
#define FLATE_TOO_COSTLY (-2)
long zlib_inflate(const uint8_t *in, size_t in_len, uint8_t *out,
                  size_t out_cap, const char **err);

/* Appends the zlib stream of in[0, len) to out. Returns 0, or -1 if memory
 * ran out. */
int zlib_deflate(const uint8_t *in, size_t len, bytebuf *out);

/* RFC 1951 tables shared by inflate.c and deflate.c: base value and extra
 * bits of length symbols 257..285 (index 0..28) and distance symbols 0..29. */
extern const uint16_t flate_len_base[29];
extern const uint8_t flate_len_extra[29];
extern const uint16_t flate_dist_base[30];
extern const uint8_t flate_dist_extra[30];

#endif
