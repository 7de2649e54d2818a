/* png.h - PNG decoder and encoder (ISO/IEC 15948), on top of flate.h.
 *
 * Decodes non-interlaced PNGs of every color type and bit depth: gray (1,
 * 2, 4, 8, 16 bits), RGB (8, 16), palette (1, 2, 4, 8), gray + alpha and
 * RGBA (8, 16), with tRNS; 16-bit samples keep their high byte, low-depth
 * gray is scaled to 0..255.  Every chunk CRC and the zlib Adler-32 are
 * checked; ancillary chunks are skipped.  Errors: 400 malformed or
 * truncated, 413 over the pixel limit, 415 interlaced.
 *
 * Encodes 8-bit gray, gray + alpha, RGB or RGBA (from the image's
 * channels), choosing each row's filter by the minimum sum of absolute
 * differences, compressed by zlib_deflate. */
#ifndef PNG_H
#define PNG_H

#include "bytebuf.h"
#include "image.h"

/* 1 if data starts with the PNG signature. */
int png_is(const uint8_t *data, size_t len);
/* Width, height and channels (as decoded: tRNS adds alpha) from the
 * chunks before the image data, without decoding: 0, or -1. */
int png_peek(const uint8_t *data, size_t len, uint32_t *width,
             uint32_t *height, uint32_t *channels);
int png_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
               image_t *img, img_err *e);
/* Appends the PNG of img to out; 0, or -1 if memory ran out. */
int png_encode(const image_t *img, bytebuf *out);

uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif
