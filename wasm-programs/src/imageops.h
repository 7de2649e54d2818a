/* imageops.h - the image operations of the image server's query string.
 *
 * Integer arithmetic only (the results are bit-identical everywhere); every
 * operation works on all four channel layouts of image.h.  Definitions
 * (the Java tests mirror them exactly):
 *
 *   grayscale      RGB(A) -> gray(+alpha): (77 R + 150 G + 29 B + 128) >> 8
 *   invert         v -> 255 - v on color samples; alpha kept
 *   flip=h|v       mirror left-right | top-bottom
 *   rotate=90|180|270   clockwise
 *   crop=x,y,w,h   the w x h rectangle at (x, y); it must lie inside the image
 *   resize=WxH     bilinear, pixel centers aligned: source position
 *                  (d + 1/2) * src / dst - 1/2 in 1/256 steps, clamped to the
 *                  edge; each sample ((a (256-fx) + b fx)(256-fy) +
 *                  (c (256-fx) + d fx) fy + 32768) >> 16
 *   thumbnail=N    fit within N x N keeping the aspect ratio (the long side
 *                  becomes N, the short one round(short * N / long), at
 *                  least 1), by area averaging: every source pixel counts
 *                  with the exact area it shares with the destination pixel,
 *                  rounded to nearest; an image already within N x N is left
 *                  as it is
 *   blur=R         box blur, (2R+1) x (2R+1) mean, edges repeated, rounded to
 *                  nearest; R = 0..IMAGEOPS_MAX_BLUR; alpha is blurred too
 *
 * Resampling and blur treat alpha as one more channel (not premultiplied). */
#ifndef IMAGEOPS_H
#define IMAGEOPS_H

#include "image.h"

#define IMAGEOPS_MAX_BLUR 64
#define IMAGEOPS_MAX_SIDE 65535 /* resize and thumbnail sizes */

typedef struct {
    int kind; /* index into the table in imageops.c */
    uint32_t arg[4];
} image_op;

/* Parses one query field (name, and value which may be empty) into *op.
 * 400 naming the operation if it is unknown or its value is bad. */
int imageop_parse(const char *name, size_t name_len, const char *value,
                  size_t value_len, image_op *op, img_err *e);

/* Applies op to *img, replacing it; 400 if the operation does not fit the
 * image (crop outside it), 413 if the result has more than max_pixels
 * pixels or memory runs out.  On error *img is unchanged. */
int imageop_apply(const image_op *op, image_t *img, uint64_t max_pixels,
                  img_err *e);

/* Shape of op's result on a *width x *height x *channels image (before
 * any pixel work, to check limits). */
void imageop_output_shape(const image_op *op, uint32_t *width,
                          uint32_t *height, uint32_t *channels);

/* About how many wasm instructions (fuel) op spends on a width x height x
 * channels image: measured on the built module, plus headroom.  The server
 * adds these up to keep a frame's work within its fuel. */
uint64_t imageop_cost(const image_op *op, uint32_t width, uint32_t height,
                      uint32_t channels);

#endif
