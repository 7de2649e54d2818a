/* pnm.c - see pnm.h. */
#include "pnm.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    unsigned kind; /* 5 or 6 */
    uint32_t width, height, maxval;
    size_t raster; /* offset of the first sample */
} pnm_header;

static int is_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Skips whitespace and comments, then reads a decimal number <= max.
 * Returns 0, or -1 if there is none or it is too large. */
static int read_number(const uint8_t *d, size_t len, size_t *p, uint32_t max,
                       uint32_t *out) {
    while (*p < len && (is_space(d[*p]) || d[*p] == '#')) {
        if (d[*p] == '#')
            while (*p < len && d[*p] != '\n' && d[*p] != '\r')
                (*p)++;
        else
            (*p)++;
    }
    if (*p >= len || d[*p] < '0' || d[*p] > '9')
        return -1;
    uint64_t v = 0;
    while (*p < len && d[*p] >= '0' && d[*p] <= '9') {
        v = v * 10 + (uint64_t)(d[(*p)++] - '0');
        if (v > max)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_header(const uint8_t *d, size_t len, pnm_header *h,
                        img_err *e) {
    if (!pnm_is(d, len))
        return img_fail(e, 400, "not a PGM/PPM file");
    h->kind = (unsigned)(d[1] - '0');
    if (h->kind != 5 && h->kind != 6)
        return img_fail(e, 415, "netpbm format P%u is not supported; use binary "
                                "PGM (P5) or PPM (P6)", h->kind);
    size_t p = 2;
    if (read_number(d, len, &p, 0x7fffffffu, &h->width) != 0 ||
        read_number(d, len, &p, 0x7fffffffu, &h->height) != 0 ||
        read_number(d, len, &p, 65535, &h->maxval) != 0)
        return img_fail(e, 400, "bad P%u header: width, height and maxval "
                                "expected", h->kind);
    if (h->width == 0 || h->height == 0 || h->maxval == 0)
        return img_fail(e, 400, "bad P%u header: zero width, height or maxval",
                        h->kind);
    if (p >= len || !is_space(d[p]))
        return img_fail(e, 400, "truncated P%u file: no whitespace after the "
                                "header", h->kind);
    h->raster = p + 1;
    return 0;
}

static int read_samples(const pnm_header *h, const uint8_t *d, image_t *img,
                        img_err *e) {
    size_t n = (size_t)img->width * img->height * img->channels;
    if (h->maxval == 255) {
        memcpy(img->px, d, n);
        return 0;
    }
    int wide = h->maxval > 255;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = wide ? (uint32_t)d[2 * i] << 8 | d[2 * i + 1] : d[i];
        if (v > h->maxval)
            return img_fail(e, 400, "bad P%u raster: sample %u above maxval %u",
                            h->kind, v, h->maxval);
        img->px[i] = (uint8_t)((v * 255 + h->maxval / 2) / h->maxval);
    }
    return 0;
}

int pnm_is(const uint8_t *data, size_t len) {
    return len >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7';
}

int pnm_peek(const uint8_t *data, size_t len, uint32_t *width,
             uint32_t *height, uint32_t *channels) {
    pnm_header h;
    img_err e;
    if (parse_header(data, len, &h, &e) != 0)
        return -1;
    *width = h.width;
    *height = h.height;
    *channels = h.kind == 5 ? 1 : 3;
    return 0;
}

int pnm_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
               image_t *img, img_err *e) {
    memset(img, 0, sizeof *img);
    pnm_header h;
    if (parse_header(data, len, &h, e) != 0)
        return -1;
    uint64_t pixels = (uint64_t)h.width * h.height;
    if (pixels > max_pixels)
        return img_fail(e, 413, "image is %ux%u = %llu pixels, the limit is %llu",
                        h.width, h.height, (unsigned long long)pixels,
                        (unsigned long long)max_pixels);
    unsigned channels = h.kind == 5 ? 1 : 3;
    uint64_t need = pixels * channels * (h.maxval > 255 ? 2 : 1);
    if (need > len - h.raster)
        return img_fail(e, 400, "truncated P%u file: the raster has %zu of "
                                "%llu bytes", h.kind, len - h.raster,
                        (unsigned long long)need);
    if (image_alloc(img, h.width, h.height, channels, max_pixels, e) != 0)
        return -1;
    if (read_samples(&h, data + h.raster, img, e) != 0) {
        image_free(img);
        return -1;
    }
    return 0;
}

int pnm_encode(const image_t *img, bytebuf *out) {
    unsigned color = img->channels >= 3 ? 3 : 1;
    char head[64];
    int n = snprintf(head, sizeof head, "P%c\n%u %u\n255\n",
                     color == 3 ? '6' : '5', img->width, img->height);
    bb_put(out, head, (size_t)n);
    size_t pixels = (size_t)img->width * img->height;
    if (img->channels == color) {
        bb_put(out, img->px, pixels * color);
    } else if (bb_reserve(out, pixels * color) == 0) {
        uint8_t *o = out->data + out->len;
        const uint8_t *p = img->px;
        for (size_t i = 0; i < pixels; i++, p += img->channels) {
            *o++ = p[0]; /* no memcpy: its call costs more than 3 bytes */
            if (color == 3) {
                *o++ = p[1];
                *o++ = p[2];
            }
        }
        out->len += pixels * color;
    }
    return out->oom ? -1 : 0;
}
