/* png.c - see png.h. */
#include "png.h"

#include "flate.h"

#include <stdlib.h>
#include <string.h>

#define IDAT_CHUNK 65536 /* bytes of zlib data per IDAT chunk written */

static const uint8_t png_sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};

/* ---- CRC-32 (ISO 3309, as zlib) --------------------------------------- */

/* Slicing by 4: crc_table[k][b] is the CRC of byte b followed by k zero
 * bytes, so four bytes take four lookups. */
static uint32_t crc_table[4][256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 4; k++)
            crc_table[k][n] = crc_table[0][crc_table[k - 1][n] & 0xff] ^
                              (crc_table[k - 1][n] >> 8);
    crc_ready = 1;
}

uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t len) {
    if (!crc_ready)
        crc_init();
    crc = ~crc;
    for (; len >= 4; len -= 4, data += 4) {
        crc ^= (uint32_t)data[0] | (uint32_t)data[1] << 8 |
               (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
        crc = crc_table[3][crc & 0xff] ^ crc_table[2][(crc >> 8) & 0xff] ^
              crc_table[1][(crc >> 16) & 0xff] ^ crc_table[0][crc >> 24];
    }
    while (len--)
        crc = crc_table[0][(crc ^ *data++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* ---- filters ----------------------------------------------------------- */

/* The Paeth predictor, with p - a = b - c, p - b = a - c, p - c = both. */
static inline int paeth(int a, int b, int c) {
    int pa = b - c, pb = a - c;
    int pc = abs(pa + pb);
    pa = abs(pa);
    pb = abs(pb);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo one row's filter in place; prev is the row above (zeros for row 0). */
typedef void (*unfilter_fn)(uint8_t *row, const uint8_t *prev, size_t n,
                            size_t bpp);

static void unfilter_none(uint8_t *row, const uint8_t *prev, size_t n,
                          size_t bpp) {
    (void)row, (void)prev, (void)n, (void)bpp;
}

static void unfilter_sub(uint8_t *row, const uint8_t *prev, size_t n,
                         size_t bpp) {
    (void)prev;
    for (size_t i = bpp; i < n; i++)
        row[i] = (uint8_t)(row[i] + row[i - bpp]);
}

static void unfilter_up(uint8_t *row, const uint8_t *prev, size_t n,
                        size_t bpp) {
    (void)bpp;
    for (size_t i = 0; i < n; i++)
        row[i] = (uint8_t)(row[i] + prev[i]);
}

static void unfilter_avg(uint8_t *row, const uint8_t *prev, size_t n,
                         size_t bpp) {
    size_t i = 0;
    for (; i < bpp && i < n; i++)
        row[i] = (uint8_t)(row[i] + (prev[i] >> 1));
    for (; i < n; i++)
        row[i] = (uint8_t)(row[i] + ((row[i - bpp] + prev[i]) >> 1));
}

static void unfilter_paeth(uint8_t *row, const uint8_t *prev, size_t n,
                           size_t bpp) {
    size_t i = 0;
    for (; i < bpp && i < n; i++)
        row[i] = (uint8_t)(row[i] + prev[i]);
    for (; i < n; i++)
        row[i] = (uint8_t)(row[i] + paeth(row[i - bpp], prev[i], prev[i - bpp]));
}

static const unfilter_fn unfilters[5] = {unfilter_none, unfilter_sub,
                                         unfilter_up, unfilter_avg,
                                         unfilter_paeth};

/* Filter one row into out. */
typedef void (*filter_fn)(uint8_t *out, const uint8_t *cur, const uint8_t *prev,
                          size_t n, size_t bpp);

static void filter_none(uint8_t *out, const uint8_t *cur, const uint8_t *prev,
                        size_t n, size_t bpp) {
    (void)prev, (void)bpp;
    memcpy(out, cur, n);
}

static void filter_sub(uint8_t *out, const uint8_t *cur, const uint8_t *prev,
                       size_t n, size_t bpp) {
    (void)prev;
    memcpy(out, cur, bpp);
    for (size_t i = bpp; i < n; i++)
        out[i] = (uint8_t)(cur[i] - cur[i - bpp]);
}

static void filter_up(uint8_t *out, const uint8_t *cur, const uint8_t *prev,
                      size_t n, size_t bpp) {
    (void)bpp;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(cur[i] - prev[i]);
}

static void filter_avg(uint8_t *out, const uint8_t *cur, const uint8_t *prev,
                       size_t n, size_t bpp) {
    for (size_t i = 0; i < bpp; i++)
        out[i] = (uint8_t)(cur[i] - (prev[i] >> 1));
    for (size_t i = bpp; i < n; i++)
        out[i] = (uint8_t)(cur[i] - ((cur[i - bpp] + prev[i]) >> 1));
}

static void filter_paeth(uint8_t *out, const uint8_t *cur, const uint8_t *prev,
                         size_t n, size_t bpp) {
    for (size_t i = 0; i < bpp; i++)
        out[i] = (uint8_t)(cur[i] - prev[i]);
    for (size_t i = bpp; i < n; i++)
        out[i] = (uint8_t)(cur[i] - paeth(cur[i - bpp], prev[i], prev[i - bpp]));
}

static const filter_fn filters[5] = {filter_none, filter_sub, filter_up,
                                     filter_avg, filter_paeth};

/* |v| of a filtered byte read as a signed one. */
static inline uint32_t cost(int v) {
    v = (int8_t)v;
    return (uint32_t)(v < 0 ? -v : v);
}

/* The usual heuristic: the filter whose output has the smallest sum of
 * absolute values, estimated on every FILTER_SAMPLE-th byte of the row
 * (skipping the first bpp, which have no left neighbour).  A step prime to
 * 2, 3 and 4 visits every channel. */
#define FILTER_SAMPLE 5
static unsigned choose_filter(const uint8_t *cur, const uint8_t *prev, size_t n,
                              size_t bpp) {
    uint32_t sum[5] = {0};
    for (size_t i = bpp; i < n; i += FILTER_SAMPLE) {
        int x = cur[i], a = cur[i - bpp], b = prev[i], c = prev[i - bpp];
        sum[0] += cost(x);
        sum[1] += cost(x - a);
        sum[2] += cost(x - b);
        sum[3] += cost(x - ((a + b) >> 1));
        sum[4] += cost(x - paeth(a, b, c));
    }
    unsigned best = 0;
    for (unsigned f = 1; f < 5; f++)
        if (sum[f] < sum[best])
            best = f;
    return best;
}

/* ---- chunks ------------------------------------------------------------ */

typedef struct {
    uint32_t width, height;
    unsigned depth, color, spp; /* spp: samples per pixel */
    uint8_t palette[256][4];
    unsigned palette_len;
    int has_trns;
    unsigned trns_key[3]; /* gray or RGB key, at full depth */
    int seen_ihdr, seen_idat, idat_done, seen_iend;
    uint64_t max_pixels;
    bytebuf idat;
} png_info;

typedef int (*chunk_fn)(png_info *pi, const uint8_t *d, uint32_t len,
                        img_err *e);

/* Bit depths allowed per color type, as a mask of (1 << depth). */
static const uint32_t depth_masks[7] = {
    1u << 1 | 1u << 2 | 1u << 4 | 1u << 8 | 1u << 16, 0, 1u << 8 | 1u << 16,
    1u << 1 | 1u << 2 | 1u << 4 | 1u << 8, 1u << 8 | 1u << 16, 0,
    1u << 8 | 1u << 16};
static const uint8_t samples_per_pixel[7] = {1, 0, 3, 1, 2, 0, 4};

static int on_ihdr(png_info *pi, const uint8_t *d, uint32_t len, img_err *e) {
    if (pi->seen_ihdr || len != 13)
        return img_fail(e, 400, "bad PNG: IHDR chunk repeated or not 13 bytes");
    pi->seen_ihdr = 1;
    pi->width = be32(d);
    pi->height = be32(d + 4);
    pi->depth = d[8];
    pi->color = d[9];
    if (pi->width == 0 || pi->height == 0 || pi->width > 0x7fffffffu ||
        pi->height > 0x7fffffffu)
        return img_fail(e, 400, "bad PNG: size %ux%u", pi->width, pi->height);
    if (pi->color > 6 || pi->depth > 16 ||
        !(depth_masks[pi->color] >> pi->depth & 1))
        return img_fail(e, 400, "bad PNG: bit depth %u with color type %u",
                        pi->depth, pi->color);
    if (d[10] != 0 || d[11] != 0 || d[12] > 1)
        return img_fail(e, 400, "bad PNG: unknown compression, filter or "
                                "interlace method");
    if (d[12] == 1)
        return img_fail(e, 415, "interlaced (Adam7) PNG is not supported; "
                                "save the image without interlacing");
    if ((uint64_t)pi->width * pi->height > pi->max_pixels)
        return img_fail(e, 413, "image is %ux%u = %llu pixels, the limit is %llu",
                        pi->width, pi->height,
                        (unsigned long long)pi->width * pi->height,
                        (unsigned long long)pi->max_pixels);
    pi->spp = samples_per_pixel[pi->color];
    return 0;
}

static int on_plte(png_info *pi, const uint8_t *d, uint32_t len, img_err *e) {
    if (pi->color == 0 || pi->color == 4 || pi->seen_idat || pi->palette_len)
        return img_fail(e, 400, "bad PNG: PLTE chunk not allowed here");
    unsigned n = len / 3;
    if (len % 3 != 0 || n == 0 || n > 256 ||
        (pi->color == 3 && n > 1u << pi->depth))
        return img_fail(e, 400, "bad PNG: PLTE chunk of %u bytes", len);
    for (unsigned i = 0; i < n; i++) {
        memcpy(pi->palette[i], d + 3 * i, 3);
        pi->palette[i][3] = 255;
    }
    pi->palette_len = n;
    return 0;
}

static int on_trns(png_info *pi, const uint8_t *d, uint32_t len, img_err *e) {
    if (pi->seen_idat)
        return 0; /* too late to matter; ignored as libpng does */
    if (pi->color == 3) {
        if (pi->palette_len == 0 || len > pi->palette_len)
            return img_fail(e, 400, "bad PNG: tRNS chunk before PLTE or "
                                    "longer than the palette");
        for (uint32_t i = 0; i < len; i++)
            pi->palette[i][3] = d[i];
    } else if ((pi->color == 0 && len == 2) || (pi->color == 2 && len == 6)) {
        for (unsigned s = 0; s < pi->spp; s++)
            pi->trns_key[s] = (unsigned)d[2 * s] << 8 | d[2 * s + 1];
    } else {
        return img_fail(e, 400, "bad PNG: tRNS chunk of %u bytes with color "
                                "type %u", len, pi->color);
    }
    pi->has_trns = 1;
    return 0;
}

static int on_idat(png_info *pi, const uint8_t *d, uint32_t len, img_err *e) {
    if (pi->idat_done)
        return img_fail(e, 400, "bad PNG: IDAT chunks are not consecutive");
    pi->seen_idat = 1;
    bb_put(&pi->idat, d, len);
    if (pi->idat.oom)
        return img_fail(e, 413, "not enough memory for the image data");
    return 0;
}

static int on_iend(png_info *pi, const uint8_t *d, uint32_t len, img_err *e) {
    (void)d, (void)len, (void)e;
    pi->seen_iend = 1;
    return 0;
}

static const struct {
    char type[5];
    chunk_fn fn;
} chunk_handlers[] = {{"IHDR", on_ihdr}, {"PLTE", on_plte}, {"tRNS", on_trns},
                      {"IDAT", on_idat}, {"IEND", on_iend}};

static int handle_chunk(png_info *pi, const uint8_t *type, const uint8_t *d,
                        uint32_t len, img_err *e) {
    if (!pi->seen_ihdr && memcmp(type, "IHDR", 4) != 0)
        return img_fail(e, 400, "bad PNG: the first chunk is not IHDR");
    if (pi->seen_idat && memcmp(type, "IDAT", 4) != 0)
        pi->idat_done = 1;
    for (size_t i = 0; i < sizeof chunk_handlers / sizeof *chunk_handlers; i++)
        if (memcmp(type, chunk_handlers[i].type, 4) == 0)
            return chunk_handlers[i].fn(pi, d, len, e);
    if (!(type[0] & 0x20)) /* critical: we must understand it */
        return img_fail(e, 400, "bad PNG: unknown critical chunk '%.4s'",
                        (const char *)type);
    return 0;
}

/* Walks the chunks up to IEND, checking lengths and CRCs. */
static int read_chunks(png_info *pi, const uint8_t *data, size_t len,
                       img_err *e) {
    size_t p = 8;
    while (!pi->seen_iend) {
        if (len - p < 12)
            return img_fail(e, 400, "truncated PNG: it ends at byte %zu "
                                    "without an IEND chunk", len);
        uint32_t n = be32(data + p);
        const uint8_t *type = data + p + 4;
        if (n > 0x7fffffffu)
            return img_fail(e, 400, "bad PNG: chunk length %u at byte %zu", n, p);
        if (len - p - 12 < n)
            return img_fail(e, 400, "truncated PNG: chunk '%.4s' at byte %zu "
                                    "needs %u bytes, %zu remain", (const char *)type,
                            p, n, len - p - 12);
        if (crc32_update(0, type, (size_t)n + 4) != be32(data + p + 8 + n))
            return img_fail(e, 400, "bad PNG: CRC mismatch in chunk '%.4s' at "
                                    "byte %zu", (const char *)type, p);
        if (handle_chunk(pi, type, data + p + 8, n, e) != 0)
            return -1;
        p += (size_t)n + 12;
    }
    if (!pi->seen_idat)
        return img_fail(e, 400, "bad PNG: no IDAT chunk");
    if (pi->color == 3 && pi->palette_len == 0)
        return img_fail(e, 400, "bad PNG: palette image without PLTE chunk");
    return 0;
}

/* ---- pixels -------------------------------------------------------------- */

/* Sample i of a row of `depth`-bit samples (packed MSB first below 8). */
static unsigned sample_at(const uint8_t *row, size_t i, unsigned depth) {
    if (depth == 8)
        return row[i];
    if (depth == 16)
        return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    size_t bit = i * depth;
    unsigned shift = 8 - depth - (unsigned)(bit & 7);
    return (row[bit >> 3] >> shift) & ((1u << depth) - 1);
}

static uint8_t to8(unsigned v, unsigned depth) {
    if (depth == 16)
        return (uint8_t)(v >> 8);
    return (uint8_t)(v * 255 / ((1u << depth) - 1));
}

static int expand_palette(const png_info *pi, const uint8_t *row, uint8_t *out,
                          img_err *e) {
    unsigned ch = pi->has_trns ? 4 : 3;
    for (uint32_t x = 0; x < pi->width; x++) {
        unsigned idx = sample_at(row, x, pi->depth);
        if (idx >= pi->palette_len)
            return img_fail(e, 400, "bad PNG: palette index %u, the palette "
                                    "has %u entries", idx, pi->palette_len);
        memcpy(out + (size_t)x * ch, pi->palette[idx], ch);
    }
    return 0;
}

static void expand_samples(const png_info *pi, const uint8_t *row,
                           uint8_t *out) {
    size_t k = 0;
    for (uint32_t x = 0; x < pi->width; x++) {
        int key = pi->has_trns;
        for (unsigned s = 0; s < pi->spp; s++) {
            unsigned v = sample_at(row, (size_t)x * pi->spp + s, pi->depth);
            key &= v == pi->trns_key[s];
            out[k++] = to8(v, pi->depth);
        }
        if (pi->has_trns)
            out[k++] = key ? 0 : 255;
    }
}

static int expand_row(const png_info *pi, const uint8_t *row, uint8_t *out,
                      size_t out_len, img_err *e) {
    if (pi->color == 3)
        return expand_palette(pi, row, out, e);
    if (pi->depth == 8 && !pi->has_trns)
        memcpy(out, row, out_len);
    else
        expand_samples(pi, row, out);
    return 0;
}

static unsigned out_channels(const png_info *pi) {
    static const uint8_t ch[7] = {1, 0, 3, 3, 2, 0, 4};
    unsigned c = ch[pi->color];
    return pi->has_trns && (c == 1 || c == 3) ? c + 1 : c;
}

/* Unfilters raw (h rows of 1 + stride bytes) and expands it into img. */
static int decode_rows(const png_info *pi, uint8_t *raw, size_t stride,
                       image_t *img, img_err *e) {
    size_t bits = (size_t)pi->depth * pi->spp;
    size_t bpp = bits < 8 ? 1 : bits / 8;
    uint8_t *zero = calloc(stride, 1);
    if (zero == NULL)
        return img_fail(e, 413, "not enough memory for the image");
    const uint8_t *prev = zero;
    int rc = 0;
    for (uint32_t y = 0; y < pi->height && rc == 0; y++) {
        uint8_t *row = raw + (size_t)y * (stride + 1);
        if (row[0] > 4) {
            rc = img_fail(e, 400, "bad PNG: filter type %u on row %u", row[0], y);
            break;
        }
        unfilters[row[0]](row + 1, prev, stride, bpp);
        rc = expand_row(pi, row + 1, img->px + (size_t)y * image_stride(img),
                        image_stride(img), e);
        prev = row + 1;
    }
    free(zero);
    return rc;
}

static int decode_pixels(const png_info *pi, image_t *img, img_err *e) {
    uint64_t stride = ((uint64_t)pi->width * pi->depth * pi->spp + 7) / 8;
    uint64_t raw_len = (stride + 1) * pi->height;
    if (raw_len > SIZE_MAX / 2)
        return img_fail(e, 413, "image data of %llu bytes is too large",
                        (unsigned long long)raw_len);
    uint8_t *raw = malloc((size_t)raw_len);
    if (raw == NULL)
        return img_fail(e, 413, "not enough memory for %llu bytes of image data",
                        (unsigned long long)raw_len);
    const char *why = NULL;
    long got = zlib_inflate(pi->idat.data, pi->idat.len, raw, (size_t)raw_len, &why);
    int rc = 0;
    if (got == FLATE_TOO_COSTLY)
        rc = img_fail(e, 413, "PNG image data of %zu bytes has more than %llu "
                      "deflate blocks (16 + 1 per 2 KiB), each with its own "
                      "Huffman tables: too costly to decode. Fix: re-encode "
                      "the image with a standard encoder",
                      pi->idat.len, (unsigned long long)FLATE_MAX_BLOCKS(pi->idat.len));
    else if (got < 0)
        rc = img_fail(e, 400, "bad PNG: image data: %s", why);
    else if ((uint64_t)got != raw_len)
        rc = img_fail(e, 400, "bad PNG: image data has %ld bytes, %llu expected",
                      got, (unsigned long long)raw_len);
    if (rc == 0)
        rc = image_alloc(img, pi->width, pi->height, out_channels(pi),
                         pi->max_pixels, e);
    if (rc == 0)
        rc = decode_rows(pi, raw, (size_t)stride, img, e);
    free(raw);
    if (rc != 0)
        image_free(img);
    return rc;
}

int png_is(const uint8_t *data, size_t len) {
    return len >= 8 && memcmp(data, png_sig, 8) == 0;
}

int png_peek(const uint8_t *data, size_t len, uint32_t *width,
             uint32_t *height, uint32_t *channels) {
    static const uint8_t ch[7] = {1, 0, 3, 3, 2, 0, 4};
    if (!png_is(data, len) || len < 8 + 8 + 13 ||
        memcmp(data + 12, "IHDR", 4) != 0 || data[25] > 6 || ch[data[25]] == 0)
        return -1;
    *width = be32(data + 16);
    *height = be32(data + 20);
    *channels = ch[data[25]];
    /* A tRNS chunk before the image data adds alpha to gray, RGB, palette. */
    for (size_t p = 8; len - p >= 12; p += (size_t)be32(data + p) + 12) {
        if (memcmp(data + p + 4, "IDAT", 4) == 0 || be32(data + p) > len - p - 12)
            break;
        if (memcmp(data + p + 4, "tRNS", 4) == 0 && (*channels & 1))
            (*channels)++;
    }
    return 0;
}

int png_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
               image_t *img, img_err *e) {
    memset(img, 0, sizeof *img);
    if (!png_is(data, len))
        return img_fail(e, 400, "not a PNG file (no PNG signature)");
    png_info *pi = calloc(1, sizeof *pi);
    if (pi == NULL)
        return img_fail(e, 413, "not enough memory");
    pi->max_pixels = max_pixels;
    int rc = read_chunks(pi, data, len, e);
    if (rc == 0)
        rc = decode_pixels(pi, img, e);
    bb_free(&pi->idat);
    free(pi);
    return rc;
}

/* ---- encoding ------------------------------------------------------------ */

static void write_chunk(bytebuf *out, const char *type, const uint8_t *data,
                        size_t len) {
    bb_be32(out, (uint32_t)len);
    size_t at = out->len;
    bb_put(out, type, 4);
    bb_put(out, data, len);
    if (!out->oom)
        bb_be32(out, crc32_update(0, out->data + at, len + 4));
}

/* Filters every row with the filter choose_filter() picks. */
static int filter_image(const image_t *img, uint8_t *raw) {
    size_t stride = image_stride(img), bpp = img->channels;
    uint8_t *zero = calloc(stride, 1);
    if (zero == NULL)
        return -1;
    const uint8_t *prev = zero;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *cur = img->px + (size_t)y * stride;
        uint8_t *row = raw + (size_t)y * (stride + 1);
        unsigned f = choose_filter(cur, prev, stride, bpp);
        row[0] = (uint8_t)f;
        filters[f](row + 1, cur, prev, stride, bpp);
        prev = cur;
    }
    free(zero);
    return 0;
}

int png_encode(const image_t *img, bytebuf *out) {
    static const uint8_t color_type[5] = {0, 0, 4, 2, 6};
    size_t raw_len = (image_stride(img) + 1) * img->height;
    uint8_t *raw = malloc(raw_len);
    bytebuf z = {0};
    int rc = -1;
    if (raw != NULL && filter_image(img, raw) == 0 &&
        zlib_deflate(raw, raw_len, &z) == 0) {
        uint8_t ihdr[13] = {0};
        for (int i = 0; i < 4; i++) {
            ihdr[i] = (uint8_t)(img->width >> (24 - 8 * i));
            ihdr[4 + i] = (uint8_t)(img->height >> (24 - 8 * i));
        }
        ihdr[8] = 8;
        ihdr[9] = color_type[img->channels];
        bb_put(out, png_sig, 8);
        write_chunk(out, "IHDR", ihdr, 13);
        for (size_t at = 0; at < z.len; at += IDAT_CHUNK)
            write_chunk(out, "IDAT", z.data + at,
                        z.len - at < IDAT_CHUNK ? z.len - at : IDAT_CHUNK);
        write_chunk(out, "IEND", NULL, 0);
        rc = out->oom ? -1 : 0;
    }
    free(raw);
    bb_free(&z);
    return rc;
}
