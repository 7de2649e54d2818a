/* image.h - the in-memory image shared by the codecs and the operations.
 *
 * Samples are 8 bits, interleaved, rows top to bottom, no padding:
 * channels 1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA.  Decoders check
 * the pixel limit before allocating anything. */
#ifndef IMAGE_H
#define IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t width, height, channels;
    uint8_t *px;
} image_t;

/* Why an image could not be read or transformed: an HTTP status (400 bad
 * input, 413 too large, 415 unsupported) and a reason for the client. */
typedef struct {
    int status;
    char reason[200];
} img_err;

/* Sets *e and returns -1. */
int img_fail(img_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocates a width x height image of `channels`: 413 if it has more than
 * max_pixels pixels or memory runs out.  Returns 0 or -1. */
int image_alloc(image_t *img, uint32_t width, uint32_t height,
                uint32_t channels, uint64_t max_pixels, img_err *e);
void image_free(image_t *img);

static inline size_t image_stride(const image_t *img) {
    return (size_t)img->width * img->channels;
}

#endif
