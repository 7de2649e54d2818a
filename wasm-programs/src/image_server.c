/* image_server - an HTTP image service and the original RepliCode file
 * protocol, over the listeners named `http` and `files` (LISTEN_FDNAMES;
 * without names, fd 3 is http and fd 4 files).
 *
 * HTTP/1.1 (keep-alive, pipelining, Content-Length or chunked bodies):
 *
 *   GET    /                    a short usage text
 *   GET    /images              JSON array of {name, bytes, width, height,
 *                               format}, sorted by name
 *   PUT    /images/<name>       store a PNG, PGM (P5) or PPM (P6) body:
 *                               201 (new) or 200 (replaced) with its JSON
 *   GET    /images/<name>[?ops] the stored bytes, or the result of the
 *                               operations, applied left to right
 *   HEAD   the same as GET, without the body
 *   DELETE /images/<name>       204
 *
 *   ops: grayscale, invert, flip=h|v, rotate=90|180|270, crop=x,y,w,h,
 *        resize=WxH, thumbnail=N, blur=R (see imageops.h), and
 *        format=png|ppm (ppm gives P5 for gray images; default: the stored
 *        format).  At most MAX_OPS operations.
 *
 *   Errors have a text/plain reason: 400 bad request, image, name or
 *   operation (an unknown operation is named); 404; 405; 413 over a limit;
 *   415 interlaced PNG or a netpbm format other than P5/P6; 507 when the
 *   filesystem quota is full.
 *
 * Images live in /data/images/<name>; names are 1..128 of [A-Za-z0-9._-],
 * not starting with '.'.
 *
 * Files protocol (binary-safe; /data/files/<name>, same name rules):
 *
 *   SEND <name>\n <4-byte big-endian size> <bytes>   ->  OK\n
 *   GET <name>\n                                     ->  <4-byte size> <bytes>
 *                                                       or ERROR: File not found\n
 *   A SEND that cannot be stored still reads its bytes, then answers
 *   ERROR: <reason>\n; an unknown command gets ERROR: Unknown command\n.
 *
 * Limits (environment; decimal; defaults in parentheses):
 *   IMAGE_MAX_BYTES   (16 MiB)  largest PUT body                   -> 413
 *   IMAGE_MAX_PIXELS  (4 Mi)    largest width x height of a stored image
 *                               and of every intermediate result   -> 413
 *   IMAGE_WORK_LIMIT  (10^9)    image work per frame, in estimated wasm
 *                               instructions (fuel): a request that needs
 *                               more gets 413; one that does not fit in
 *                               what the frame's earlier requests left
 *                               waits, in arrival order, for a timer frame
 *                               1 ms later.  Keep it at most half of the
 *                               app's fuelPerFrame (default 2 * 10^9),
 *                               which stops the app when exceeded.
 *   FILES_MAX_BYTES   (16 MiB)  largest file on the files listener
 *
 * Work estimates per sample (one channel of one pixel), measured on the
 * built module with headroom: PNG decode COST_PNG_DECODE, encode
 * COST_PNG_ENCODE, PGM/PPM COST_PNM, plus COST_PER_BYTE per stored byte
 * and COST_DEFLATE_BLOCK per deflate block a PNG of that size may have;
 * operations: imageop_cost().  A 640x480 RGB photo takes about 1.2 * 10^8
 * to upload or thumbnail and 5 * 10^8 to re-encode at full size.
 */
#include "bytebuf.h"
#include "flate.h"
#include "http.h"
#include "imageops.h"
#include "netloop.h"
#include "png.h"
#include "pnm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IMAGE_DIR "/data/images"
#define FILES_DIR "/data/files"
#define MAX_NAME 128
#define MAX_OPS 16
#define MAX_HEADER_BYTES (16 * 1024)
#define MAX_CMD_LINE 512 /* files protocol command line */
#define PEEK_BYTES 4096  /* enough of a file to read its width and height */

/* Estimated fuel, see the top of the file. */
#define COST_PNG_DECODE 160
#define COST_PNG_ENCODE 540
#define COST_PNM 25
#define COST_PER_BYTE 10
#define COST_DEFLATE_BLOCK 80000 /* header + three Huffman tables: 69,000 measured */

static size_t max_image_bytes = 16u << 20;
static uint64_t max_pixels = 4u << 20;
static uint64_t work_limit = 1000000000u;
static uint32_t max_file_bytes = 16u << 20;

/* ---- small helpers ----------------------------------------------------- */

static void env_limit(const char *name, uint64_t lo, uint64_t hi,
                      uint64_t *value) {
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr, "image: ignoring %s=%s (expected %llu..%llu), using "
                        "%llu\n", name, s, (unsigned long long)lo,
                (unsigned long long)hi, (unsigned long long)*value);
        return;
    }
    *value = v;
}

static void read_limits(void) {
    uint64_t bytes = max_image_bytes, files = max_file_bytes;
    env_limit("IMAGE_MAX_BYTES", 64, 1u << 30, &bytes);
    env_limit("IMAGE_MAX_PIXELS", 1, 1u << 28, &max_pixels);
    env_limit("IMAGE_WORK_LIMIT", 1000000, 1000000000000000ull, &work_limit);
    env_limit("FILES_MAX_BYTES", 0, 0xffffffffu, &files);
    max_image_bytes = (size_t)bytes;
    max_file_bytes = (uint32_t)files;
}

static int valid_name(const char *s, size_t len) {
    if (len == 0 || len > MAX_NAME || s[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Reads up to `limit` bytes of a file into out; returns 0 or an errno. */
static int read_file(const char *path, size_t limit, bytebuf *out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno;
    int err = 0;
    while (out->len < limit) {
        if (bb_reserve(out, 65536) != 0) {
            err = ENOMEM;
            break;
        }
        size_t room = out->cap - out->len;
        ssize_t n = read(fd, out->data + out->len,
                         room < limit - out->len ? room : limit - out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            break;
        }
        out->len += (size_t)n;
    }
    close(fd);
    return err;
}

static int write_all(int fd, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes data to dir/.upload then renames it to dir/name, so a failed
 * write never leaves half a file under the name.  0 or an errno. */
static int store_file(const char *dir, const char *name, const void *data,
                      size_t len) {
    char tmp[64], path[MAX_NAME + 64];
    snprintf(tmp, sizeof tmp, "%s/.upload", dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return errno;
    int err = write_all(fd, data, len);
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0)
        unlink(tmp);
    return err;
}

static const char *storage_error(int err) {
    if (err == ENOSPC)
        return "no space left: the filesystem quota is full";
    if (err == EDQUOT)
        return "no space left: too many files";
    return strerror(err);
}

/* ---- HTTP replies ------------------------------------------------------ */

/* http_format_head(), plus `extra` header lines ("Name: value\r\n"). */
static void send_head(conn_t *c, int keep_alive, int status, const char *type,
                      size_t len, const char *extra) {
    char head[1024];
    size_t n = http_format_head(head, sizeof head, status, type, len, keep_alive);
    if (n < 2 || n >= sizeof head)
        return; /* our own content types: never happens */
    conn_write(c, head, n - 2); /* all but the empty line */
    if (extra != NULL)
        conn_puts(c, extra);
    conn_puts(c, "\r\n");
}

typedef struct {
    conn_t *c;
    int keep_alive;
    int head_only; /* HEAD: no body */
} reply_to;

static void reply(const reply_to *to, int status, const char *type,
                  const void *body, size_t len, const char *extra) {
    send_head(to->c, to->keep_alive, status, type, len, extra);
    if (!to->head_only && status != 204)
        conn_write(to->c, body, len);
}

static void reply_text(const reply_to *to, int status, const char *text) {
    char body[320];
    int n = snprintf(body, sizeof body, "%s\n", text);
    reply(to, status, "text/plain; charset=utf-8", body,
          n < 0 ? 0 : (size_t)n < sizeof body ? (size_t)n : sizeof body - 1,
          NULL);
}

static void reply_error(const reply_to *to, const img_err *e) {
    reply_text(to, e->status, e->reason);
}

/* ---- formats ------------------------------------------------------------- */

typedef enum { FMT_NONE, FMT_PNG, FMT_PGM, FMT_PPM } image_format;

static image_format sniff(const uint8_t *d, size_t len) {
    if (png_is(d, len))
        return FMT_PNG;
    if (pnm_is(d, len))
        return d[1] == '5' ? FMT_PGM : FMT_PPM;
    return FMT_NONE;
}

static const char *format_name(image_format f) {
    static const char *names[] = {"unknown", "png", "pgm", "ppm"};
    return names[f];
}

static const char *content_type(image_format f) {
    static const char *types[] = {"application/octet-stream", "image/png",
                                  "image/x-portable-graymap",
                                  "image/x-portable-pixmap"};
    return types[f];
}

static int decode_image(const uint8_t *d, size_t len, image_t *img,
                        img_err *e) {
    if (png_is(d, len))
        return png_decode(d, len, max_pixels, img, e);
    if (pnm_is(d, len))
        return pnm_decode(d, len, max_pixels, img, e);
    return img_fail(e, 400, "not a PNG, PGM or PPM image");
}

/* What an image's header says, before any decoding. */
typedef struct {
    image_format format;
    uint32_t width, height, channels; /* 0 if the header is unreadable */
} image_shape;

static void peek_shape(const uint8_t *d, size_t len, image_shape *s) {
    memset(s, 0, sizeof *s);
    s->format = sniff(d, len);
    int rc = s->format == FMT_PNG ? png_peek(d, len, &s->width, &s->height, &s->channels)
             : s->format != FMT_NONE ? pnm_peek(d, len, &s->width, &s->height, &s->channels)
                                     : -1;
    if (rc != 0)
        s->width = s->height = s->channels = 0;
}

static void peek_file(const char *path, image_shape *s) {
    bytebuf b = {0};
    memset(s, 0, sizeof *s);
    if (read_file(path, PEEK_BYTES, &b) == 0)
        peek_shape(b.data, b.len, s);
    bb_free(&b);
}

static void image_json(bytebuf *out, const char *name, size_t bytes,
                       uint32_t w, uint32_t h, image_format f) {
    char item[MAX_NAME + 160];
    int n = snprintf(item, sizeof item,
                     "{\"name\":\"%s\",\"bytes\":%zu,\"width\":%u,\"height\":%u,"
                     "\"format\":\"%s\"}",
                     name, bytes, w, h, format_name(f));
    bb_put(out, item, (size_t)n);
}

/* ---- operations from the query ------------------------------------------- */

typedef struct {
    image_op ops[MAX_OPS];
    int n;
    image_format format; /* FMT_NONE: the stored format */
} op_plan;

/* Percent-decodes one query key or value into out (cap bytes). */
static long query_part(const char *s, size_t len, char *out, size_t cap) {
    if (len >= cap)
        return -1;
    return http_percent_decode(out, s, len, 1);
}

static int parse_format(const char *v, size_t len, op_plan *plan, img_err *e) {
    if (len == 3 && memcmp(v, "png", 3) == 0)
        plan->format = FMT_PNG;
    else if (len == 3 && memcmp(v, "ppm", 3) == 0)
        plan->format = FMT_PPM;
    else
        return img_fail(e, 400, "bad value '%.*s' for format: expected png or "
                                "ppm", (int)(len > 40 ? 40 : len), v);
    return 0;
}

static int parse_field(const char *k, size_t kl, const char *v, size_t vl,
                       op_plan *plan, img_err *e) {
    char key[32], value[64];
    long klen = query_part(k, kl, key, sizeof key);
    long vlen = query_part(v, vl, value, sizeof value);
    if (klen < 0 || vlen < 0)
        return img_fail(e, 400, "bad query field '%.*s'",
                        (int)(kl > 40 ? 40 : kl), k);
    if (klen == 6 && memcmp(key, "format", 6) == 0)
        return parse_format(value, (size_t)vlen, plan, e);
    if (plan->n == MAX_OPS)
        return img_fail(e, 400, "too many operations: at most %d", MAX_OPS);
    return imageop_parse(key, (size_t)klen, value, (size_t)vlen,
                         &plan->ops[plan->n++], e);
}

static int parse_plan(const http_request *r, op_plan *plan, img_err *e) {
    size_t pos = 0, kl, vl;
    const char *k, *v;
    memset(plan, 0, sizeof *plan);
    while (http_query_next(r, &pos, &k, &kl, &v, &vl))
        if (parse_field(k, kl, v, vl, plan, e) != 0)
            return -1;
    return 0;
}

/* ---- the work budget ------------------------------------------------------ */

/* charge_work() and the handlers return WAIT when a request must wait for
 * a later frame: it stays where it is and is answered from on_tick(). */
#define WAIT 1

static uint64_t work_used;        /* by this frame's requests so far */
static long long work_frame = -1; /* the frame: its time, the same all through */
static int waiting;               /* requests waiting for a later frame */
static int serving_waiters;       /* on_tick() is answering the oldest one */

/* Takes `cost` from this frame's budget: 0, 413 (-1) if it is more than
 * the whole budget, WAIT if this frame's earlier requests left too little
 * or older requests are waiting (they go first). */
static int charge_work(uint64_t cost, img_err *e) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (now != work_frame) {
        work_frame = now;
        work_used = 0;
    }
    if (cost > work_limit)
        return img_fail(e, 413, "this needs about %llu instructions of work, "
                                "more than IMAGE_WORK_LIMIT (%llu): use a "
                                "smaller image or fewer operations",
                        (unsigned long long)cost, (unsigned long long)work_limit);
    if ((waiting > 0 && !serving_waiters) || cost > work_limit - work_used)
        return WAIT;
    work_used += cost;
    return 0;
}

static uint64_t samples(uint32_t w, uint32_t h, uint32_t ch) {
    return (uint64_t)w * h * ch;
}

/* Decoding `bytes` bytes of an image of shape s. */
static uint64_t decode_cost(const image_shape *s, size_t bytes) {
    uint64_t per = s->format == FMT_PNG ? COST_PNG_DECODE : COST_PNM;
    /* A PNG's deflate blocks: as many as the decoder accepts for the size
     * (FLATE_MAX_BLOCKS), each at the price of a Huffman table rebuild. */
    uint64_t blocks = s->format == FMT_PNG
                          ? FLATE_MAX_BLOCKS(bytes) * COST_DEFLATE_BLOCK
                          : 0;
    return (uint64_t)bytes * COST_PER_BYTE + blocks +
           samples(s->width, s->height, s->channels) * per;
}

static uint64_t encode_cost(image_format f, uint32_t w, uint32_t h,
                            uint32_t ch) {
    return samples(w, h, ch) * (f == FMT_PNG ? COST_PNG_ENCODE : COST_PNM);
}

/* Walks the plan over the stored shape: every intermediate size against
 * the pixel limit, and the whole cost. */
static int plan_cost(const op_plan *plan, const image_shape *in, size_t bytes,
                     image_format out, uint64_t *cost, img_err *e) {
    uint32_t w = in->width, h = in->height, ch = in->channels;
    *cost = decode_cost(in, bytes);
    for (int i = 0; i < plan->n; i++) {
        *cost += imageop_cost(&plan->ops[i], w, h, ch);
        imageop_output_shape(&plan->ops[i], &w, &h, &ch);
        if ((uint64_t)w * h > max_pixels)
            return img_fail(e, 413, "operation %d would make a %ux%u image, "
                                    "more than the limit of %llu pixels "
                                    "(IMAGE_MAX_PIXELS)", i + 1, w, h,
                            (unsigned long long)max_pixels);
    }
    *cost += encode_cost(out, w, h, ch);
    return 0;
}

/* Decodes stored bytes, applies the plan and encodes the result. */
static int transform(const bytebuf *stored, const op_plan *plan,
                     image_format out_format, bytebuf *out, img_err *e) {
    image_t img;
    if (decode_image(stored->data, stored->len, &img, e) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < plan->n; i++)
        rc = imageop_apply(&plan->ops[i], &img, max_pixels, e);
    if (rc == 0) {
        int enc = out_format == FMT_PNG ? png_encode(&img, out)
                                        : pnm_encode(&img, out);
        if (enc != 0)
            rc = img_fail(e, 413, "not enough memory for the result");
    }
    image_free(&img);
    return rc;
}

/* Checks the plan's sizes and charges its work: 0, -1 (*e set) or WAIT.
 * An unreadable header is charged nothing: decoding fails at once. */
static int admit(const bytebuf *stored, const op_plan *plan,
                 image_format out_format, img_err *e) {
    image_shape shape;
    uint64_t cost;
    peek_shape(stored->data, stored->len, &shape);
    if (shape.width == 0 || (uint64_t)shape.width * shape.height > max_pixels)
        return 0;
    if (plan_cost(plan, &shape, stored->len, out_format, &cost, e) != 0)
        return -1;
    return charge_work(cost, e);
}

/* ---- HTTP handlers ------------------------------------------------------- */

static void image_path(char *path, size_t cap, const char *name) {
    snprintf(path, cap, "%s/%s", IMAGE_DIR, name);
}

static void handle_list(const reply_to *to) {
    DIR *dir = opendir(IMAGE_DIR);
    if (dir == NULL) {
        reply_text(to, 500, "cannot read " IMAGE_DIR);
        return;
    }
    bytebuf out = {0};
    bb_byte(&out, '[');
    int first = 1;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!valid_name(de->d_name, strlen(de->d_name)))
            continue; /* ".", "..", ".upload" */
        char path[MAX_NAME + 64];
        struct stat st;
        image_shape sh;
        image_path(path, sizeof path, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        peek_file(path, &sh);
        if (!first)
            bb_byte(&out, ',');
        first = 0;
        image_json(&out, de->d_name, (size_t)st.st_size, sh.width, sh.height,
                   sh.format);
    }
    closedir(dir);
    bb_put(&out, "]\n", 2);
    if (out.oom)
        reply_text(to, 503, "out of memory");
    else
        reply(to, 200, "application/json", out.data, out.len, NULL);
    bb_free(&out);
}

static int handle_put(const reply_to *to, const char *name,
                      const http_request *r) {
    const uint8_t *body = (const uint8_t *)r->body;
    image_t img;
    img_err e;
    image_shape shape;
    if (!r->has_length) {
        reply_text(to, 411, "a PUT needs Content-Length or a chunked body");
        return 0;
    }
    peek_shape(body, r->body_len, &shape);
    int rc = 0;
    if (shape.width != 0 && (uint64_t)shape.width * shape.height <= max_pixels)
        rc = charge_work(decode_cost(&shape, r->body_len), &e);
    if (rc == WAIT)
        return WAIT;
    if (rc != 0 || decode_image(body, r->body_len, &img, &e) != 0) {
        reply_error(to, &e);
        return 0;
    }
    char path[MAX_NAME + 64];
    struct stat st;
    image_path(path, sizeof path, name);
    int existed = stat(path, &st) == 0;
    int err = store_file(IMAGE_DIR, name, body, r->body_len);
    if (err != 0) {
        reply_text(to, err == ENOSPC || err == EDQUOT ? 507 : 500,
                   storage_error(err));
    } else {
        bytebuf json = {0};
        image_json(&json, name, r->body_len, img.width, img.height,
                   sniff(body, r->body_len));
        bb_byte(&json, '\n');
        reply(to, existed ? 200 : 201, "application/json", json.data, json.len,
              NULL);
        bb_free(&json);
    }
    image_free(&img);
    return 0;
}

/* The stored image, or the result of the query's operations. */
static int reply_image(const reply_to *to, const bytebuf *stored,
                       const op_plan *plan) {
    image_format have = sniff(stored->data, stored->len);
    image_format want = plan->format;
    if (want == FMT_NONE || (want == FMT_PPM && have != FMT_PNG))
        want = have; /* "ppm" means netpbm: P5 stays P5 */
    if (plan->n == 0 && want == have) {
        reply(to, 200, content_type(have), stored->data, stored->len, NULL);
        return 0;
    }
    img_err e;
    int rc = admit(stored, plan, want, &e);
    if (rc == WAIT)
        return WAIT;
    bytebuf out = {0};
    if (rc != 0 || transform(stored, plan, want, &out, &e) != 0)
        reply_error(to, &e);
    else
        reply(to, 200, content_type(sniff(out.data, out.len)), out.data,
              out.len, NULL);
    bb_free(&out);
    return 0;
}

static int handle_get(const reply_to *to, const char *name,
                      const http_request *r) {
    op_plan plan;
    img_err e;
    if (parse_plan(r, &plan, &e) != 0) {
        reply_error(to, &e);
        return 0;
    }
    char path[MAX_NAME + 64];
    bytebuf stored = {0};
    image_path(path, sizeof path, name);
    int err = read_file(path, SIZE_MAX, &stored);
    int rc = 0;
    if (err != 0)
        reply_text(to, err == ENOENT ? 404 : 500,
                   err == ENOENT ? "no such image" : strerror(err));
    else
        rc = reply_image(to, &stored, &plan);
    bb_free(&stored);
    return rc;
}

static void handle_delete(const reply_to *to, const char *name) {
    char path[MAX_NAME + 64];
    image_path(path, sizeof path, name);
    if (unlink(path) == 0)
        reply(to, 204, "text/plain; charset=utf-8", NULL, 0, NULL);
    else
        reply_text(to, errno == ENOENT ? 404 : 500,
                   errno == ENOENT ? "no such image" : strerror(errno));
}

static const char usage[] =
    "image server\n"
    "  GET    /images                 list (JSON)\n"
    "  PUT    /images/<name>          store a PNG, PGM (P5) or PPM (P6)\n"
    "  GET    /images/<name>?ops      fetch, operations applied left to right:\n"
    "         grayscale invert flip=h|v rotate=90|180|270 crop=x,y,w,h\n"
    "         resize=WxH thumbnail=N blur=R format=png|ppm\n"
    "  DELETE /images/<name>\n";

static int method_is(const http_request *r, const char *m) {
    return strcmp(r->method, m) == 0;
}

/* /images/<name>; 0 or WAIT. */
static int route_image(const reply_to *to, const char *name, size_t len,
                       const http_request *r) {
    if (!valid_name(name, len)) {
        reply_text(to, 400, "bad image name: use 1-128 letters, digits, '.', "
                            "'_' or '-', not starting with '.'");
        return 0;
    }
    if (method_is(r, "GET") || method_is(r, "HEAD"))
        return handle_get(to, name, r);
    if (method_is(r, "PUT"))
        return handle_put(to, name, r);
    if (method_is(r, "DELETE"))
        handle_delete(to, name);
    else
        send_head(to->c, to->keep_alive, 405, "text/plain; charset=utf-8", 0,
                  "Allow: GET, HEAD, PUT, DELETE\r\n");
    return 0;
}

/* Answers one request: 0, or WAIT (nothing was sent). */
static int route(conn_t *c, const http_request *r) {
    reply_to to = {c, r->keep_alive, method_is(r, "HEAD")};
    const char *p = r->path;
    size_t len = r->path_len;
    int readonly = method_is(r, "GET") || method_is(r, "HEAD");
    if (len > 8 && memcmp(p, "/images/", 8) == 0 && strlen(p) == len)
        return route_image(&to, p + 8, len - 8, r);
    if (len == 1 && p[0] == '/' && readonly)
        reply(&to, 200, "text/plain; charset=utf-8", usage, sizeof usage - 1,
              NULL);
    else if ((len == 7 || len == 8) && memcmp(p, "/images/", len) == 0 &&
             readonly)
        handle_list(&to);
    else if ((len == 1 && p[0] == '/') ||
             ((len == 7 || len == 8) && memcmp(p, "/images/", len) == 0))
        send_head(c, to.keep_alive, 405, "text/plain; charset=utf-8", 0,
                  "Allow: GET, HEAD\r\n");
    else
        reply_text(&to, 404, "not found; try GET /");
    return 0;
}

/* ---- sessions ----------------------------------------------------------- */

enum { PROTO_HTTP, PROTO_FILES };
enum { FS_LINE, FS_SIZE, FS_BODY };

typedef struct {
    int proto;
    int eof; /* the peer half-closed: close once everything is answered */
    /* HTTP */
    http_parser http;
    http_request req; /* being answered, while have_req */
    int have_req;
    int waiting;   /* req waits for a later frame (in the wait queue) */
    bytebuf stash; /* input that came while req waits: fed after it */
    /* files protocol */
    int state;
    char line[MAX_CMD_LINE + 1];
    size_t line_len;
    char name[MAX_NAME + 1];
    uint8_t size_be[4];
    size_t size_got;
    uint32_t left;   /* body bytes still to come */
    int fd;          /* temporary file of the body, -1 if none */
    char tmp[64];    /* its path */
    const char *err; /* the SEND fails with this once its bytes are read */
    int refused;     /* files: refused and closing, input is dropped */
} session;

static unsigned long tmp_counter;

/* Connections whose request waits for a later frame, oldest first. */
static conn_t *wait_queue[NETLOOP_MAX_CONNS];

static void wait_push(conn_t *c, int front) {
    session *s = conn_data(c);
    if (front)
        memmove(wait_queue + 1, wait_queue, (size_t)waiting * sizeof *wait_queue);
    wait_queue[front ? 0 : waiting] = c;
    waiting++;
    s->waiting = 1;
}

static void wait_remove(conn_t *c) {
    for (int i = 0; i < waiting; i++)
        if (wait_queue[i] == c) {
            memmove(wait_queue + i, wait_queue + i + 1,
                    (size_t)(waiting - i - 1) * sizeof *wait_queue);
            waiting--;
            break;
        }
    ((session *)conn_data(c))->waiting = 0;
}

static void http_error(conn_t *c, const http_parser *p) {
    reply_to to = {c, 0, 0};
    char why[160];
    int status = http_parser_error(p);
    if (status == 413)
        snprintf(why, sizeof why, "body larger than %zu bytes (IMAGE_MAX_BYTES)",
                 max_image_bytes);
    else
        snprintf(why, sizeof why, "%s", http_parser_reason(p));
    reply_text(&to, status, why);
    conn_close(c);
}

/* Takes the next request into s->req; 0 if there is none (yet). */
static int next_request(conn_t *c, session *s) {
    for (;;) {
        if (s->stash.len > 0) { /* what came while the last one waited */
            http_parser_feed(&s->http, s->stash.data, s->stash.len);
            s->stash.len = 0;
        }
        int rc = http_parser_next(&s->http, &s->req);
        if (rc == HTTP_REQUEST)
            return 1;
        if (rc == HTTP_CONTINUE) {
            conn_puts(c, "HTTP/1.1 100 Continue\r\n\r\n");
            continue;
        }
        if (rc == HTTP_ERROR)
            http_error(c, &s->http);
        else if (s->eof)
            conn_close(c); /* everything answered */
        return 0;
    }
}

/* Answers the buffered requests in order, until there is no complete one,
 * the client is not reading (on_drain goes on), or one must wait for a
 * later frame (on_tick goes on).  Returns WAIT in that last case. */
static int serve_http(conn_t *c, session *s) {
    while (s->have_req || conn_pending(c) < NETLOOP_OUT_HIGH_WATER) {
        if (!s->have_req && !(s->have_req = next_request(c, s)))
            return 0;
        if (route(c, &s->req) == WAIT)
            return WAIT;
        s->have_req = 0;
        if (!s->req.keep_alive) {
            conn_close(c);
            return 0;
        }
    }
    return 0;
}

static void http_data(conn_t *c, session *s, const char *data, size_t len) {
    if (s->have_req) { /* keep s->req's bytes where they are */
        if (s->stash.len + len > max_image_bytes + MAX_HEADER_BYTES) {
            conn_close(c); /* a client piling up requests: not answered */
            return;
        }
        bb_put(&s->stash, data, len);
        return;
    }
    http_parser_feed(&s->http, data, len);
    if (serve_http(c, s) == WAIT)
        wait_push(c, 0);
}

/* Before every poll: answers waiting requests, oldest first, as far as
 * this frame's work budget goes; then waits 1 ms (a timer frame) if some
 * are left. */
static int on_tick(void) {
    while (waiting > 0) {
        conn_t *c = wait_queue[0];
        session *s = conn_data(c);
        wait_remove(c);
        serving_waiters = 1;
        int rc = serve_http(c, s);
        serving_waiters = 0;
        if (rc == WAIT) {
            wait_push(c, 1);
            break;
        }
    }
    return waiting > 0 ? 1 : -1;
}

/* ---- files protocol --------------------------------------------------------- */

static void files_get(conn_t *c, const char *name) {
    char path[MAX_NAME + 64];
    bytebuf b = {0};
    snprintf(path, sizeof path, "%s/%s", FILES_DIR, name);
    int err = valid_name(name, strlen(name))
                  ? read_file(path, SIZE_MAX, &b)
                  : ENOENT;
    if (err != 0) {
        conn_puts(c, err == ENOENT ? "ERROR: File not found\n"
                                   : "ERROR: Cannot read the file\n");
    } else {
        uint8_t be[4] = {(uint8_t)(b.len >> 24), (uint8_t)(b.len >> 16),
                         (uint8_t)(b.len >> 8), (uint8_t)b.len};
        conn_write(c, be, 4);
        conn_write(c, b.data, b.len);
    }
    bb_free(&b);
}

/* A refusal the client cannot recover from in-band (the bytes it sends
 * next would be read as commands): say why, then close. */
static void files_refuse(conn_t *c, session *s, const char *why) {
    conn_printf(c, "ERROR: %s\n", why);
    s->err = NULL;
    s->state = FS_LINE;
    s->refused = 1;
    conn_close(c);
}

#define BAD_NAME "Bad file name. Fix: use 1 to 128 of A-Z a-z 0-9 . _ -, " \
                 "not starting with '.' (no NUL, no '/')"

/* The argument of a command at line[at]: valid_name, and no NUL inside
 * (the line is binary; a NUL would cut the name short). */
static int command_name_ok(const session *s, size_t at) {
    const char *name = s->line + at;
    size_t len = s->line_len - at;
    return memchr(name, '\0', len) == NULL && valid_name(name, len);
}

static void files_command(conn_t *c, session *s) {
    char *line = s->line;
    if (s->line_len > 0 && line[s->line_len - 1] == '\r')
        line[--s->line_len] = '\0';
    if (s->line_len >= 4 && memcmp(line, "GET ", 4) == 0) {
        /* A name that can never be stored is an error; any other invalid
         * one (".part-1") is simply not found, as before. */
        size_t len = s->line_len - 4;
        const char *name = line + 4;
        if (len == 0 || memchr(name, '\0', len) != NULL ||
            memchr(name, '/', len) != NULL || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
            conn_puts(c, "ERROR: " BAD_NAME "\n");
        else
            files_get(c, name);
    } else if (s->line_len >= 5 && memcmp(line, "SEND ", 5) == 0) {
        if (!command_name_ok(s, 5)) {
            files_refuse(c, s, BAD_NAME);
            s->line_len = 0;
            return;
        }
        snprintf(s->name, sizeof s->name, "%s", line + 5);
        s->err = NULL;
        s->state = FS_SIZE;
        s->size_got = 0;
    } else if (s->line_len > 0) {
        conn_puts(c, "ERROR: Unknown command\n");
    }
    s->line_len = 0;
}

/* 0, or -1 after refusing a declared size over FILES_MAX_BYTES at once
 * (waiting for its bytes would hold the connection for as long as the
 * client likes, and reading them is pointless). */
static int files_begin_body(conn_t *c, session *s) {
    s->left = (uint32_t)s->size_be[0] << 24 | (uint32_t)s->size_be[1] << 16 |
              (uint32_t)s->size_be[2] << 8 | s->size_be[3];
    if (s->left > max_file_bytes) {
        char why[160];
        snprintf(why, sizeof why, "File too large: %lu bytes declared, the "
                 "limit is %lu (FILES_MAX_BYTES)", (unsigned long)s->left,
                 (unsigned long)max_file_bytes);
        s->left = 0;
        files_refuse(c, s, why);
        return -1;
    }
    s->state = FS_BODY;
    if (s->err != NULL)
        return 0;
    snprintf(s->tmp, sizeof s->tmp, "%s/.part-%lu", FILES_DIR, ++tmp_counter);
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (s->fd < 0)
        s->err = storage_error(errno);
    return 0;
}

static void files_drop_tmp(session *s) {
    if (s->fd >= 0) {
        close(s->fd);
        unlink(s->tmp);
        s->fd = -1;
    }
}

static void files_end_body(conn_t *c, session *s) {
    char path[MAX_NAME + 64];
    snprintf(path, sizeof path, "%s/%s", FILES_DIR, s->name);
    if (s->err == NULL) {
        int fd = s->fd;
        s->fd = -1;
        if (close(fd) != 0)
            s->err = storage_error(errno);
        else if (rename(s->tmp, path) != 0)
            s->err = storage_error(errno);
        if (s->err != NULL)
            unlink(s->tmp);
    }
    if (s->err != NULL)
        conn_printf(c, "ERROR: %s\n", s->err);
    else
        conn_puts(c, "OK\n");
    s->err = NULL;
    s->state = FS_LINE;
}

/* Consumes body bytes; returns how many of data[0, len) it took. */
static size_t files_body(conn_t *c, session *s, const char *data, size_t len) {
    size_t n = len < s->left ? len : s->left;
    if (s->err == NULL) {
        int err = write_all(s->fd, data, n);
        if (err != 0) {
            s->err = storage_error(err);
            files_drop_tmp(s);
        }
    }
    s->left -= (uint32_t)n;
    if (s->left == 0)
        files_end_body(c, s);
    return n;
}

/* Takes bytes of a command line or of the size; returns how many. */
static size_t files_head(conn_t *c, session *s, const char *data, size_t len) {
    if (s->state == FS_SIZE) {
        size_t n = 4 - s->size_got < len ? 4 - s->size_got : len;
        memcpy(s->size_be + s->size_got, data, n);
        s->size_got += n;
        if (s->size_got == 4) {
            if (files_begin_body(c, s) != 0)
                return len; /* refused and closing: the rest is dropped */
            if (s->left == 0)
                files_end_body(c, s);
        }
        return n;
    }
    const char *nl = memchr(data, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - data) : len;
    if (s->line_len + n > MAX_CMD_LINE) {
        conn_puts(c, "ERROR: Command line too long\n");
        conn_close(c);
        return len;
    }
    memcpy(s->line + s->line_len, data, n);
    s->line_len += n;
    s->line[s->line_len] = '\0';
    if (nl == NULL)
        return n;
    files_command(c, s);
    return n + 1;
}

static void files_data(conn_t *c, session *s, const char *data, size_t len) {
    while (len > 0 && !s->refused) {
        size_t n = s->state == FS_BODY ? files_body(c, s, data, len)
                                       : files_head(c, s, data, len);
        data += n;
        len -= n;
    }
}

/* ---- connections -------------------------------------------------------- */

static session *new_session(conn_t *c) {
    session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    const char *name = netloop_listener_name(conn_listener(c));
    int files = *name != '\0' ? strcmp(name, "files") == 0
                              : conn_listener(c) == 1;
    s->proto = files ? PROTO_FILES : PROTO_HTTP;
    s->fd = -1;
    http_parser_init(&s->http, MAX_HEADER_BYTES, max_image_bytes);
    conn_set_data(c, s);
    return s;
}

static void on_data(conn_t *c, const char *data, size_t len) {
    session *s = conn_data(c);
    if (s == NULL && (s = new_session(c)) == NULL) {
        conn_close(c);
        return;
    }
    if (s->proto == PROTO_FILES)
        files_data(c, s, data, len);
    else
        http_data(c, s, data, len);
}

/* The peer half-closed: answer what is buffered, then close (from
 * next_request(), once there is nothing more to answer). */
static void on_eof(conn_t *c) {
    session *s = conn_data(c);
    if (s == NULL || s->proto == PROTO_FILES) {
        conn_close(c);
        return;
    }
    s->eof = 1;
    if (!s->waiting && serve_http(c, s) == WAIT)
        wait_push(c, 0);
}

/* The client read its replies: go on with its buffered requests. */
static void on_drain(conn_t *c) {
    session *s = conn_data(c);
    if (s != NULL && s->proto == PROTO_HTTP && !s->waiting &&
        serve_http(c, s) == WAIT)
        wait_push(c, 0);
}

static void on_close(conn_t *c) {
    session *s = conn_data(c);
    if (s == NULL)
        return;
    if (s->waiting)
        wait_remove(c);
    files_drop_tmp(s);
    http_parser_free(&s->http);
    bb_free(&s->stash);
    free(s);
    conn_set_data(c, NULL);
}

int main(void) {
    read_limits();
    mkdir("/data", 0755);
    if ((mkdir(IMAGE_DIR, 0755) != 0 && errno != EEXIST) ||
        (mkdir(FILES_DIR, 0755) != 0 && errno != EEXIST))
        fprintf(stderr, "image: cannot create %s and %s: %s\n", IMAGE_DIR,
                FILES_DIR, strerror(errno));
    netloop_on_close(on_close);
    netloop_on_eof(on_eof);
    netloop_on_drain(on_drain);
    netloop_on_tick(on_tick);
    netloop_run_raw("image", on_data);
}
