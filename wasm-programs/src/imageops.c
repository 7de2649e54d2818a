/* imageops.c - see imageops.h; also the image.h helpers. */
#include "imageops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- image.h ----------------------------------------------------------- */

int img_fail(img_err *e, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    e->status = status;
    return -1;
}

int image_alloc(image_t *img, uint32_t width, uint32_t height,
                uint32_t channels, uint64_t max_pixels, img_err *e) {
    uint64_t pixels = (uint64_t)width * height;
    memset(img, 0, sizeof *img);
    if (pixels > max_pixels)
        return img_fail(e, 413, "a %ux%u image has %llu pixels, the limit is %llu",
                        width, height, (unsigned long long)pixels,
                        (unsigned long long)max_pixels);
    uint64_t bytes = pixels * channels;
    if (bytes > SIZE_MAX / 2 || (img->px = malloc((size_t)bytes)) == NULL)
        return img_fail(e, 413, "not enough memory for a %ux%u image", width,
                        height);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return 0;
}

void image_free(image_t *img) {
    free(img->px);
    img->px = NULL;
}

/* Replaces *img by *next. */
static int replace(image_t *img, image_t *next) {
    image_free(img);
    *img = *next;
    return 0;
}

static unsigned color_channels(const image_t *img) {
    return img->channels == 2 || img->channels == 4 ? img->channels - 1
                                                    : img->channels;
}

/* ---- grayscale, invert, flip, rotate, crop ------------------------------- */

static int op_grayscale(const image_op *op, image_t *img, uint64_t max,
                        img_err *e) {
    (void)op;
    if (img->channels < 3)
        return 0;
    image_t out;
    if (image_alloc(&out, img->width, img->height, img->channels - 2, max, e))
        return -1;
    size_t n = (size_t)img->width * img->height;
    const uint8_t *s = img->px;
    uint8_t *d = out.px;
    int alpha = img->channels == 4;
    for (size_t i = 0; i < n; i++) {
        *d++ = (uint8_t)((77u * s[0] + 150u * s[1] + 29u * s[2] + 128) >> 8);
        if (alpha)
            *d++ = s[3];
        s += img->channels;
    }
    return replace(img, &out);
}

static int op_invert(const image_op *op, image_t *img, uint64_t max,
                     img_err *e) {
    (void)op, (void)max, (void)e;
    size_t n = (size_t)img->width * img->height * img->channels;
    uint8_t *p = img->px;
    if (color_channels(img) == img->channels) {
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(255 - p[i]);
        return 0;
    }
    for (size_t i = 0; i < n; i += img->channels) { /* alpha last, kept */
        p[i] = (uint8_t)(255 - p[i]);
        if (img->channels == 4) {
            p[i + 1] = (uint8_t)(255 - p[i + 1]);
            p[i + 2] = (uint8_t)(255 - p[i + 2]);
        }
    }
    return 0;
}

/* One pixel of ch (1..4) samples; not memcpy, whose call costs more than
 * the copy. */
static inline void copy_px(uint8_t *d, const uint8_t *s, size_t ch) {
    d[0] = s[0];
    if (ch > 1)
        d[1] = s[1];
    if (ch > 2)
        d[2] = s[2];
    if (ch > 3)
        d[3] = s[3];
}

static int op_flip(const image_op *op, image_t *img, uint64_t max,
                   img_err *e) {
    (void)max, (void)e;
    size_t stride = image_stride(img), ch = img->channels;
    uint32_t w = img->width, h = img->height;
    uint8_t t[4];
    if (op->arg[0] == 'v') {
        uint8_t *row = malloc(stride);
        if (row == NULL)
            return img_fail(e, 413, "not enough memory to flip");
        for (uint32_t y = 0; y < h / 2; y++) {
            uint8_t *a = img->px + y * stride, *b = img->px + (h - 1 - y) * stride;
            memcpy(row, a, stride);
            memcpy(a, b, stride);
            memcpy(b, row, stride);
        }
        free(row);
        return 0;
    }
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *a = img->px + y * stride, *b = a + (w - 1) * ch;
        for (; a < b; a += ch, b -= ch) {
            copy_px(t, a, ch);
            copy_px(a, b, ch);
            copy_px(b, t, ch);
        }
    }
    return 0;
}

/* Source row y goes to a line of the output that starts at *start and
 * steps by *step bytes per source pixel. */
static void rotate_line(uint32_t deg, const image_t *img, const image_t *out,
                        uint32_t y, size_t *start, ptrdiff_t *step) {
    size_t ch = img->channels, ostride = image_stride(out);
    uint32_t w = img->width, h = img->height;
    if (deg == 90) { /* (x, y) -> (h - 1 - y, x) */
        *start = (h - 1 - y) * ch;
        *step = (ptrdiff_t)ostride;
    } else if (deg == 180) { /* (x, y) -> (w - 1 - x, h - 1 - y) */
        *start = (h - 1 - y) * ostride + (w - 1) * ch;
        *step = -(ptrdiff_t)ch;
    } else { /* 270: (x, y) -> (y, w - 1 - x) */
        *start = (w - 1) * ostride + y * ch;
        *step = -(ptrdiff_t)ostride;
    }
}

static int op_rotate(const image_op *op, image_t *img, uint64_t max,
                     img_err *e) {
    uint32_t deg = op->arg[0], w = img->width, h = img->height;
    int quarter = deg != 180;
    image_t out;
    if (image_alloc(&out, quarter ? h : w, quarter ? w : h, img->channels, max,
                    e))
        return -1;
    size_t ch = img->channels;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *s = img->px + y * image_stride(img);
        size_t start;
        ptrdiff_t step;
        rotate_line(deg, img, &out, y, &start, &step);
        uint8_t *d = out.px + start;
        for (uint32_t x = 0; x < w; x++, s += ch, d += step)
            copy_px(d, s, ch);
    }
    return replace(img, &out);
}

static int op_crop(const image_op *op, image_t *img, uint64_t max,
                   img_err *e) {
    uint64_t x = op->arg[0], y = op->arg[1], w = op->arg[2], h = op->arg[3];
    if (x + w > img->width || y + h > img->height)
        return img_fail(e, 400, "crop=%u,%u,%u,%u is outside the %ux%u image",
                        op->arg[0], op->arg[1], op->arg[2], op->arg[3],
                        img->width, img->height);
    image_t out;
    if (image_alloc(&out, (uint32_t)w, (uint32_t)h, img->channels, max, e))
        return -1;
    size_t ch = img->channels;
    for (uint64_t r = 0; r < h; r++)
        memcpy(out.px + r * image_stride(&out),
               img->px + (y + r) * image_stride(img) + x * ch,
               image_stride(&out));
    return replace(img, &out);
}

/* ---- resize (bilinear) --------------------------------------------------- */

typedef struct {
    uint32_t i0, i1, f; /* f/256 of i1, (256 - f)/256 of i0 */
} tap;

static tap *bilinear_taps(uint32_t src, uint32_t dst) {
    tap *t = malloc((size_t)dst * sizeof *t);
    for (uint32_t d = 0; t != NULL && d < dst; d++) {
        int64_t num = (int64_t)(2 * (int64_t)d + 1) * src - dst;
        uint64_t pos = num <= 0 ? 0 : (uint64_t)num * 256 / (2 * (uint64_t)dst);
        uint32_t i0 = (uint32_t)(pos >> 8), f = (uint32_t)(pos & 255);
        if (i0 >= src - 1) {
            i0 = src - 1;
            f = 0;
        }
        t[d] = (tap){i0, i0 + 1 < src ? i0 + 1 : i0, f};
    }
    return t;
}

static void bilinear_row(const image_t *img, const tap *tx, const tap *ty,
                         uint32_t dw, uint8_t *out) {
    size_t ch = img->channels;
    const uint8_t *r0 = img->px + ty->i0 * image_stride(img);
    const uint8_t *r1 = img->px + ty->i1 * image_stride(img);
    uint32_t fy = ty->f;
    for (uint32_t x = 0; x < dw; x++) {
        const tap *t = &tx[x];
        for (size_t c = 0; c < ch; c++) {
            uint32_t top = r0[t->i0 * ch + c] * (256 - t->f) + r0[t->i1 * ch + c] * t->f;
            uint32_t bot = r1[t->i0 * ch + c] * (256 - t->f) + r1[t->i1 * ch + c] * t->f;
            *out++ = (uint8_t)((top * (256 - fy) + bot * fy + 32768) >> 16);
        }
    }
}

static int op_resize(const image_op *op, image_t *img, uint64_t max,
                     img_err *e) {
    uint32_t dw = op->arg[0], dh = op->arg[1];
    image_t out;
    if (image_alloc(&out, dw, dh, img->channels, max, e))
        return -1;
    tap *tx = bilinear_taps(img->width, dw), *ty = bilinear_taps(img->height, dh);
    if (tx == NULL || ty == NULL) {
        free(tx);
        free(ty);
        image_free(&out);
        return img_fail(e, 413, "not enough memory to resize");
    }
    for (uint32_t y = 0; y < dh; y++)
        bilinear_row(img, tx, &ty[y], dw, out.px + y * image_stride(&out));
    free(tx);
    free(ty);
    return replace(img, &out);
}

/* ---- thumbnail (area average) -------------------------------------------- */

/* Overlap weights of source pixels with each destination pixel along one
 * axis: destination d covers [d * src, (d + 1) * src) and source i covers
 * [i * dst, (i + 1) * dst), in units of 1/(src * dst) of the axis; the
 * weights of one destination pixel add up to src. */
typedef struct {
    uint32_t *first, *count, *at; /* per destination pixel */
    uint32_t *weight;             /* all weights, destination by destination */
} area_axis;

static void area_free(area_axis *a) {
    free(a->first);
    free(a->count);
    free(a->at);
    free(a->weight);
}

static int area_init(area_axis *a, uint32_t src, uint32_t dst) {
    a->first = malloc(dst * sizeof *a->first);
    a->count = malloc(dst * sizeof *a->count);
    a->at = malloc(dst * sizeof *a->at);
    a->weight = malloc(((size_t)src + dst) * sizeof *a->weight);
    if (!a->first || !a->count || !a->at || !a->weight)
        return -1;
    uint32_t k = 0;
    for (uint32_t d = 0; d < dst; d++) {
        uint64_t s = (uint64_t)d * src, end = s + src;
        uint32_t i = (uint32_t)(s / dst);
        a->first[d] = i;
        a->at[d] = k;
        for (; (uint64_t)i * dst < end; i++) {
            uint64_t lo = (uint64_t)i * dst > s ? (uint64_t)i * dst : s;
            uint64_t hi = (uint64_t)(i + 1) * dst < end ? (uint64_t)(i + 1) * dst : end;
            a->weight[k++] = (uint32_t)(hi - lo);
        }
        a->count[d] = k - a->at[d];
    }
    return 0;
}

/* acc[x * ch + c] += wy * (horizontal weighted sum of source row `row`). */
static void area_add_row(const image_t *img, const area_axis *ax, uint32_t dw,
                         const uint8_t *row, uint64_t wy, uint64_t *acc) {
    size_t ch = img->channels;
    for (uint32_t x = 0; x < dw; x++) {
        const uint8_t *p = row + (size_t)ax->first[x] * ch;
        const uint32_t *w = ax->weight + ax->at[x];
        for (size_t c = 0; c < ch; c++) {
            uint64_t sum = 0;
            for (uint32_t k = 0; k < ax->count[x]; k++)
                sum += (uint64_t)w[k] * p[k * ch + c];
            acc[x * ch + c] += wy * sum;
        }
    }
}

static void area_rows(const image_t *img, const area_axis *ax,
                      const area_axis *ay, image_t *out, uint64_t *acc) {
    size_t n = image_stride(out);
    uint64_t total = (uint64_t)img->width * img->height, half = total / 2;
    for (uint32_t y = 0; y < out->height; y++) {
        memset(acc, 0, n * sizeof *acc);
        for (uint32_t k = 0; k < ay->count[y]; k++) {
            uint32_t sy = ay->first[y] + k;
            area_add_row(img, ax, out->width, img->px + sy * image_stride(img),
                         ay->weight[ay->at[y] + k], acc);
        }
        uint8_t *o = out->px + y * n;
        for (size_t i = 0; i < n; i++)
            o[i] = (uint8_t)((acc[i] + half) / total);
    }
}

static void thumbnail_size(uint32_t n, uint32_t w, uint32_t h, uint32_t *tw,
                           uint32_t *th) {
    *tw = w;
    *th = h;
    if (w <= n && h <= n)
        return;
    uint64_t longer = w >= h ? w : h, shorter = w >= h ? h : w;
    uint32_t s = (uint32_t)((shorter * n + longer / 2) / longer);
    if (s == 0)
        s = 1;
    *tw = w >= h ? n : s;
    *th = w >= h ? s : n;
}

static int op_thumbnail(const image_op *op, image_t *img, uint64_t max,
                        img_err *e) {
    uint32_t dw, dh;
    thumbnail_size(op->arg[0], img->width, img->height, &dw, &dh);
    if (dw == img->width && dh == img->height)
        return 0;
    image_t out;
    if (image_alloc(&out, dw, dh, img->channels, max, e))
        return -1;
    area_axis ax = {0}, ay = {0};
    uint64_t *acc = malloc(image_stride(&out) * sizeof *acc);
    int rc = 0;
    if (acc == NULL || area_init(&ax, img->width, dw) != 0 ||
        area_init(&ay, img->height, dh) != 0)
        rc = img_fail(e, 413, "not enough memory for the thumbnail");
    else
        area_rows(img, &ax, &ay, &out, acc);
    free(acc);
    area_free(&ax);
    area_free(&ay);
    if (rc != 0) {
        image_free(&out);
        return rc;
    }
    return replace(img, &out);
}

/* ---- blur (box) ------------------------------------------------------------- */

/* pad[(i + r) * ch + c] = row[clamp(i, 0, w - 1)][c] for i in [-r, w + r). */
static void pad_row(const uint8_t *row, uint32_t w, size_t ch, uint32_t r,
                    uint8_t *pad) {
    for (uint32_t i = 0; i < r; i++) {
        copy_px(pad + i * ch, row, ch);
        copy_px(pad + (r + w + i) * ch, row + (w - 1) * ch, ch);
    }
    memcpy(pad + r * ch, row, w * ch);
}

/* sums[x * ch + c] = sum over k = -r..r of row[clamp(x + k)][c], with a
 * sliding window over the padded row. */
static void box_row(const uint8_t *pad, uint32_t w, size_t ch, uint32_t r,
                    uint32_t *sums) {
    size_t win = (2 * (size_t)r + 1) * ch, n = (size_t)w * ch;
    for (size_t c = 0; c < ch; c++) {
        uint32_t s = 0;
        for (size_t i = c; i < win; i += ch)
            s += pad[i];
        sums[c] = s;
    }
    for (size_t i = ch; i < n; i++)
        sums[i] = sums[i - ch] + pad[i + win - ch] - pad[i - ch];
}

typedef struct {
    const image_t *img;
    uint32_t r;
    uint8_t *pad;  /* (w + 2r) * ch */
    uint32_t *tmp; /* w * ch */
    uint32_t *cols;
} box;

/* cols += sign * (horizontal box sums of source row clamp(y)). */
static void box_add(box *b, int64_t y, int sign) {
    const image_t *img = b->img;
    size_t n = image_stride(img);
    uint32_t row = y < 0 ? 0 : y >= img->height ? img->height - 1 : (uint32_t)y;
    pad_row(img->px + row * n, img->width, img->channels, b->r, b->pad);
    box_row(b->pad, img->width, img->channels, b->r, b->tmp);
    if (sign > 0)
        for (size_t i = 0; i < n; i++)
            b->cols[i] += b->tmp[i];
    else
        for (size_t i = 0; i < n; i++)
            b->cols[i] -= b->tmp[i];
}

static void box_rows(box *b, image_t *out) {
    const image_t *img = b->img;
    size_t n = image_stride(img);
    uint32_t r = b->r, area = (2 * r + 1) * (2 * r + 1);
    memset(b->cols, 0, n * sizeof *b->cols);
    for (int64_t k = -(int64_t)r; k <= (int64_t)r; k++)
        box_add(b, k, 1);
    for (uint32_t y = 0; y < img->height; y++) {
        if (y > 0) {
            box_add(b, (int64_t)y + r, 1);
            box_add(b, (int64_t)y - 1 - r, -1);
        }
        uint8_t *o = out->px + y * n;
        for (size_t i = 0; i < n; i++)
            o[i] = (uint8_t)((b->cols[i] + area / 2) / area);
    }
}

static int op_blur(const image_op *op, image_t *img, uint64_t max,
                   img_err *e) {
    uint32_t r = op->arg[0];
    if (r == 0)
        return 0;
    image_t out;
    if (image_alloc(&out, img->width, img->height, img->channels, max, e))
        return -1;
    size_t n = image_stride(img);
    box b = {img, r, malloc(((size_t)img->width + 2 * r) * img->channels),
             malloc(n * sizeof *b.tmp), malloc(n * sizeof *b.cols)};
    int ok = b.pad != NULL && b.tmp != NULL && b.cols != NULL;
    if (ok)
        box_rows(&b, &out);
    free(b.pad);
    free(b.tmp);
    free(b.cols);
    if (!ok) {
        image_free(&out);
        return img_fail(e, 413, "not enough memory to blur");
    }
    return replace(img, &out);
}

/* ---- parsing ------------------------------------------------------------------ */

/* A whole decimal number in [lo, hi] at s[0, len); its end in *end. */
static int parse_num(const char *s, size_t len, size_t *at, uint32_t lo,
                     uint32_t hi, uint32_t *out) {
    size_t i = *at;
    uint64_t v = 0;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > hi)
            return -1;
    }
    if (v < lo)
        return -1;
    *at = i;
    *out = (uint32_t)v;
    return 0;
}

/* Numbers in [lo, hi] separated by `sep`, exactly n of them. */
static int parse_list(const char *s, size_t len, char sep, unsigned n,
                      uint32_t lo, uint32_t hi, uint32_t *out) {
    size_t at = 0;
    for (unsigned k = 0; k < n; k++) {
        if (k > 0 && (at >= len || s[at++] != sep))
            return -1;
        if (parse_num(s, len, &at, lo, hi, &out[k]) != 0)
            return -1;
    }
    return at == len ? 0 : -1;
}

static int parse_none(const char *v, size_t len, image_op *op) {
    (void)v, (void)op;
    return len == 0 ? 0 : -1;
}

static int parse_flip(const char *v, size_t len, image_op *op) {
    if (len != 1 || (v[0] != 'h' && v[0] != 'v'))
        return -1;
    op->arg[0] = (uint32_t)v[0];
    return 0;
}

static int parse_rotate(const char *v, size_t len, image_op *op) {
    if (parse_list(v, len, ',', 1, 0, 360, op->arg) != 0)
        return -1;
    return op->arg[0] == 90 || op->arg[0] == 180 || op->arg[0] == 270 ? 0 : -1;
}

static int parse_crop(const char *v, size_t len, image_op *op) {
    if (parse_list(v, len, ',', 4, 0, 0x7fffffffu, op->arg) != 0)
        return -1;
    return op->arg[2] > 0 && op->arg[3] > 0 ? 0 : -1;
}

static int parse_resize(const char *v, size_t len, image_op *op) {
    return parse_list(v, len, 'x', 2, 1, IMAGEOPS_MAX_SIDE, op->arg);
}

static int parse_side(const char *v, size_t len, image_op *op) {
    return parse_list(v, len, ',', 1, 1, IMAGEOPS_MAX_SIDE, op->arg);
}

static int parse_radius(const char *v, size_t len, image_op *op) {
    return parse_list(v, len, ',', 1, 0, IMAGEOPS_MAX_BLUR, op->arg);
}

typedef int (*parse_fn)(const char *v, size_t len, image_op *op);
typedef int (*apply_fn)(const image_op *op, image_t *img, uint64_t max,
                        img_err *e);

/* cost_in, cost_out: fuel per sample of the input and of the output. */
static const struct {
    const char *name;
    parse_fn parse;
    apply_fn apply;
    uint16_t cost_in, cost_out;
    const char *expected; /* for the error message */
} ops[] = {
    {"grayscale", parse_none, op_grayscale, 15, 0, "no value"},
    {"invert", parse_none, op_invert, 30, 0, "no value"},
    {"flip", parse_flip, op_flip, 90, 0, "flip=h or flip=v"},
    {"rotate", parse_rotate, op_rotate, 70, 0, "rotate=90, 180 or 270"},
    {"crop", parse_crop, op_crop, 0, 10, "crop=x,y,w,h with w and h at least 1"},
    {"resize", parse_resize, op_resize, 0, 140, "resize=WxH, 1..65535 each"},
    {"thumbnail", parse_side, op_thumbnail, 50, 20, "thumbnail=N, 1..65535"},
    {"blur", parse_radius, op_blur, 150, 0, "blur=R, 0..64"},
};

int imageop_parse(const char *name, size_t name_len, const char *value,
                  size_t value_len, image_op *op, img_err *e) {
    memset(op, 0, sizeof *op);
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        if (strlen(ops[i].name) != name_len ||
            memcmp(ops[i].name, name, name_len) != 0)
            continue;
        op->kind = (int)i;
        if (ops[i].parse(value, value_len, op) != 0)
            return img_fail(e, 400, "bad value '%.*s' for %s: expected %s",
                            (int)(value_len > 40 ? 40 : value_len), value,
                            ops[i].name, ops[i].expected);
        return 0;
    }
    return img_fail(e, 400, "unknown operation '%.*s'; known: grayscale, "
                            "invert, flip, rotate, crop, resize, thumbnail, "
                            "blur, format",
                    (int)(name_len > 40 ? 40 : name_len), name);
}

int imageop_apply(const image_op *op, image_t *img, uint64_t max_pixels,
                  img_err *e) {
    return ops[op->kind].apply(op, img, max_pixels, e);
}

void imageop_output_shape(const image_op *op, uint32_t *width,
                          uint32_t *height, uint32_t *channels) {
    apply_fn f = ops[op->kind].apply;
    uint32_t w = *width, h = *height;
    if (f == op_grayscale && *channels >= 3) {
        *channels -= 2;
    } else if (f == op_rotate && op->arg[0] != 180) {
        *width = h;
        *height = w;
    } else if (f == op_crop) {
        *width = op->arg[2];
        *height = op->arg[3];
    } else if (f == op_resize) {
        *width = op->arg[0];
        *height = op->arg[1];
    } else if (f == op_thumbnail) {
        thumbnail_size(op->arg[0], w, h, width, height);
    }
}

uint64_t imageop_cost(const image_op *op, uint32_t width, uint32_t height,
                      uint32_t channels) {
    uint32_t w = width, h = height, ch = channels;
    imageop_output_shape(op, &w, &h, &ch);
    uint64_t in = (uint64_t)width * height * channels;
    uint64_t out = (uint64_t)w * h * ch;
    uint64_t cost = in * ops[op->kind].cost_in + out * ops[op->kind].cost_out;
    if (ops[op->kind].apply == op_blur) /* the first window of rows */
        cost += 130 * (2 * (uint64_t)op->arg[0] + 1) * width * channels;
    return cost;
}
