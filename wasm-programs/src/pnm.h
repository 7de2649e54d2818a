/* pnm.h - binary PGM (P5) and PPM (P6) decoder and encoder (netpbm).
 *
 * Decodes any maxval 1..65535 (two-byte samples above 255), scaling
 * samples to 0..255 with rounding: (v * 255 + maxval / 2) / maxval.  The
 * header may carry '#' comments.  Bytes after the raster are ignored.
 * Errors: 400 malformed or truncated, 413 over the pixel limit, 415 for
 * the other netpbm formats (P1-P4 plain/bitmap, P7).
 *
 * Encodes gray (and gray + alpha) as P5, RGB (and RGBA) as P6, maxval
 * 255; alpha is dropped, netpbm has none. */
#ifndef PNM_H
#define PNM_H

#include "bytebuf.h"
#include "image.h"

/* 1 if data starts like a netpbm file ("P1".."P7"). */
int pnm_is(const uint8_t *data, size_t len);
/* Width, height and channels from the header: 0, or -1. */
int pnm_peek(const uint8_t *data, size_t len, uint32_t *width,
             uint32_t *height, uint32_t *channels);
int pnm_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
               image_t *img, img_err *e);
/* Appends the P5/P6 file of img to out; 0, or -1 if memory ran out. */
int pnm_encode(const image_t *img, bytebuf *out);

#endif
