/* inflate.c - zlib / deflate decoder (see flate.h).
 *
 * Huffman codes are decoded with a 10-bit lookup table; longer codes (rare)
 * fall back to the canonical walk over the code-length counts.  Bits are
 * read LSB first from a 64-bit accumulator. */
#include "flate.h"

#include <string.h>

#define FAST_BITS 10
#define FAST_MASK ((1u << FAST_BITS) - 1)
#define MAX_BITS 15
#define NUM_LITLEN 288
#define NUM_DIST 30

/* fast[] entry: symbol | length << 9; 0 if the code is longer than
 * FAST_BITS (or unused). */
typedef struct {
    uint16_t fast[1u << FAST_BITS];
    uint16_t count[MAX_BITS + 1];
    uint16_t symbol[NUM_LITLEN];
} huff;

typedef struct {
    const uint8_t *in;
    size_t in_len, in_pos;
    uint64_t bits;
    unsigned nbits;
    uint8_t *out;
    size_t out_cap, out_pos;
    const char *err;
} inflater;

const uint16_t flate_len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,
                                      11, 13, 15, 17,  19,  23,  27,  31,
                                      35, 43, 51, 59,  67,  83,  99,  115,
                                      131, 163, 195, 227, 258};
const uint8_t flate_len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1,
                                      1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                      4, 4, 4, 4, 5, 5, 5, 5, 0};
const uint16_t flate_dist_base[30] = {
    1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
    33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
const uint8_t flate_dist_extra[30] = {0, 0, 0, 0, 1, 1, 2,  2,  3,  3,
                                       4, 4, 5, 5, 6, 6, 7,  7,  8,  8,
                                       9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

uint32_t adler32(uint32_t adler, const uint8_t *data, size_t len) {
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (len > 0) {
        size_t n = len < 5552 ? len : 5552; /* no overflow before the mod */
        len -= n;
        while (n--) {
            a += *data++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

/* ---- bits ------------------------------------------------------------ */

/* Fuel is charged per instruction of a loop body whether or not it runs,
 * so the hot loop (codes) stays small and everything rare is a call. */
#define COLD __attribute__((noinline))

/* Bits above nbits may hold input bytes not yet counted (see literals());
 * OR-ing the same bytes in again leaves them as they are. */
static COLD void refill(inflater *s) {
    while (s->nbits <= 56 && s->in_pos < s->in_len) {
        s->bits |= (uint64_t)s->in[s->in_pos++] << s->nbits;
        s->nbits += 8;
    }
}

/* n <= 32 bits; -1 if the input ended. */
static long getbits(inflater *s, unsigned n) {
    if (s->nbits < n)
        refill(s);
    if (s->nbits < n) {
        s->err = "truncated deflate stream";
        return -1;
    }
    long v = (long)(s->bits & ((1ull << n) - 1));
    s->bits >>= n;
    s->nbits -= n;
    return v;
}

/* ---- Huffman tables -------------------------------------------------- */

static unsigned reverse_bits(unsigned code, unsigned len) {
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++) {
        r = (r << 1) | (code & 1);
        code >>= 1;
    }
    return r;
}

static void fill_fast(huff *h, const uint8_t *lengths, unsigned n) {
    unsigned next[MAX_BITS + 2];
    unsigned code = 0;
    next[0] = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        code = (code + h->count[len - 1]) << 1;
        next[len] = code;
    }
    memset(h->fast, 0, sizeof h->fast);
    for (unsigned sym = 0; sym < n; sym++) {
        unsigned len = lengths[sym];
        if (len == 0)
            continue;
        unsigned c = next[len]++;
        if (len > FAST_BITS)
            continue;
        uint16_t entry = (uint16_t)(sym | len << 9);
        for (unsigned i = reverse_bits(c, len); i <= FAST_MASK; i += 1u << len)
            h->fast[i] = entry;
    }
}

/* Builds the decoding table for code lengths[0, n). An over-subscribed set
 * of lengths is an error; an incomplete one is allowed (its unused codes
 * are errors when met). */
static int build_huff(huff *h, const uint8_t *lengths, unsigned n) {
    uint16_t offs[MAX_BITS + 1];
    memset(h->count, 0, sizeof h->count);
    for (unsigned sym = 0; sym < n; sym++)
        h->count[lengths[sym]]++;
    h->count[0] = 0;
    int left = 1;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        left = (left << 1) - h->count[len];
        if (left < 0)
            return -1;
    }
    offs[1] = 0;
    for (unsigned len = 1; len < MAX_BITS; len++)
        offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    for (unsigned sym = 0; sym < n; sym++)
        if (lengths[sym] != 0)
            h->symbol[offs[lengths[sym]]++] = (uint16_t)sym;
    fill_fast(h, lengths, n);
    return 0;
}

/* Canonical decode, one bit at a time: for codes longer than FAST_BITS.
 * Returns the symbol, -1 if the input ended, -2 for an unused code. */
static int decode_slow(const huff *h, uint64_t bits, unsigned nbits,
                       unsigned *used) {
    int code = 0, first = 0, index = 0;
    for (unsigned len = 1; len <= MAX_BITS; len++) {
        if (len > nbits)
            return -1;
        code |= (int)((bits >> (len - 1)) & 1);
        int count = h->count[len];
        if (code - first < count) {
            *used = len;
            return h->symbol[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -2;
}

/* A code longer than FAST_BITS, or the input is about to end. */
static COLD int decode_sym_slow(inflater *s, const huff *h) {
    refill(s);
    unsigned e = h->fast[s->bits & FAST_MASK];
    unsigned used = e >> 9;
    int sym = (int)(e & 511);
    if (e == 0 || used > s->nbits)
        sym = decode_slow(h, s->bits, s->nbits, &used);
    if (sym < 0) {
        s->err = sym == -1 ? "truncated deflate stream" : "invalid Huffman code";
        return -1;
    }
    s->bits >>= used;
    s->nbits -= used;
    return sym;
}

static int decode_sym(inflater *s, const huff *h) {
    if (s->nbits < MAX_BITS)
        refill(s);
    unsigned e = h->fast[s->bits & FAST_MASK];
    if (e == 0 || (e >> 9) > s->nbits)
        return decode_sym_slow(s, h);
    s->bits >>= e >> 9;
    s->nbits -= e >> 9;
    return (int)(e & 511);
}

static COLD int too_much(inflater *s) {
    s->err = "inflated data larger than expected";
    return -1;
}

/* ---- blocks ---------------------------------------------------------- */

static int stored_block(inflater *s) {
    s->bits >>= s->nbits & 7; /* to a byte boundary */
    s->nbits -= s->nbits & 7;
    long len = getbits(s, 16), nlen = getbits(s, 16);
    if (len < 0 || nlen < 0)
        return -1;
    if ((len ^ 0xffff) != nlen) {
        s->err = "stored block length check failed";
        return -1;
    }
    if ((size_t)len > s->out_cap - s->out_pos) {
        s->err = "inflated data larger than expected";
        return -1;
    }
    while (len > 0 && s->nbits >= 8) { /* bytes already in the accumulator */
        s->out[s->out_pos++] = (uint8_t)s->bits;
        s->bits >>= 8;
        s->nbits -= 8;
        len--;
    }
    if (len == 0)
        return 0;
    s->bits = 0; /* nbits is 0: drop uncounted bytes, in_pos jumps */
    if ((size_t)len > s->in_len - s->in_pos) {
        s->err = "truncated deflate stream";
        return -1;
    }
    memcpy(s->out + s->out_pos, s->in + s->in_pos, (size_t)len);
    s->out_pos += (size_t)len;
    s->in_pos += (size_t)len;
    return 0;
}

/* A length/distance pair: copies from earlier output. */
static COLD int copy_match(inflater *s, int sym, const huff *dist) {
    sym -= 257;
    if (sym >= 29) {
        s->err = "invalid length symbol";
        return -1;
    }
    long extra = getbits(s, flate_len_extra[sym]);
    int dsym = extra < 0 ? -1 : decode_sym(s, dist);
    if (dsym < 0)
        return -1;
    if (dsym >= NUM_DIST) {
        s->err = "invalid distance symbol";
        return -1;
    }
    long dextra = getbits(s, flate_dist_extra[dsym]);
    if (dextra < 0)
        return -1;
    size_t len = flate_len_base[sym] + (size_t)extra;
    size_t d = flate_dist_base[dsym] + (size_t)dextra;
    if (d > s->out_pos) {
        s->err = "invalid distance (before the start of the data)";
        return -1;
    }
    if (len > s->out_cap - s->out_pos)
        return too_much(s);
    uint8_t *o = s->out + s->out_pos;
    for (size_t i = 0; i < len; i++)
        o[i] = o[(ptrdiff_t)i - (ptrdiff_t)d];
    s->out_pos += len;
    return 0;
}

/* The common case in a tight loop with the state in locals: literals
 * found in the fast table, while at least 8 input bytes remain.  One
 * 64-bit load refills the bit buffer to 56+ bits (the bytes it reads past
 * what it counts are read again, to the same bits, by the next refill),
 * enough for 5 codes of up to FAST_BITS, so the refill is paid once per 5
 * literals.  Stops at anything else and leaves it to codes(). */
static void literals(inflater *s, const huff *litlen) {
    uint64_t bits = s->bits;
    unsigned nbits = s->nbits;
    size_t in_pos = s->in_pos, pos = s->out_pos;
    size_t room = s->out_cap - pos;
    uint8_t *out = s->out;
    while (room >= 5 && s->in_len - in_pos >= 8) {
        uint64_t v;
        memcpy(&v, s->in + in_pos, 8); /* little-endian, as wasm */
        bits |= v << nbits;
        in_pos += (63 - nbits) >> 3;
        nbits |= 56;
        for (int k = 0; k < 5; k++) {
            unsigned e = litlen->fast[bits & FAST_MASK];
            if (e == 0 || (e & 511) > 255)
                goto done;
            bits >>= e >> 9;
            nbits -= e >> 9;
            out[pos++] = (uint8_t)e;
        }
        room -= 5;
    }
done:
    s->bits = bits;
    s->nbits = nbits;
    s->in_pos = in_pos;
    s->out_pos = pos;
}

static int codes(inflater *s, const huff *litlen, const huff *dist) {
    for (;;) {
        literals(s, litlen);
        int sym = decode_sym(s, litlen);
        if (sym < 256) {
            if (sym < 0)
                return -1;
            if (s->out_pos == s->out_cap)
                return too_much(s);
            s->out[s->out_pos++] = (uint8_t)sym;
        } else if (sym == 256) {
            return 0;
        } else if (copy_match(s, sym, dist) != 0) {
            return -1;
        }
    }
}

static huff fixed_litlen, fixed_dist;
static int fixed_ready;

static void build_fixed(void) {
    uint8_t l[NUM_LITLEN];
    unsigned i = 0;
    for (; i < 144; i++)
        l[i] = 8;
    for (; i < 256; i++)
        l[i] = 9;
    for (; i < 280; i++)
        l[i] = 7;
    for (; i < NUM_LITLEN; i++)
        l[i] = 8;
    build_huff(&fixed_litlen, l, NUM_LITLEN);
    for (i = 0; i < NUM_DIST; i++)
        l[i] = 5;
    build_huff(&fixed_dist, l, NUM_DIST);
    fixed_ready = 1;
}

static int fixed_block(inflater *s) {
    if (!fixed_ready)
        build_fixed();
    return codes(s, &fixed_litlen, &fixed_dist);
}

/* Reads the code lengths of a dynamic block (after the code-length code). */
static int read_lengths(inflater *s, const huff *cl, uint8_t *lengths,
                        unsigned n) {
    unsigned i = 0;
    while (i < n) {
        int sym = decode_sym(s, cl);
        if (sym < 0)
            return -1;
        if (sym < 16) {
            lengths[i++] = (uint8_t)sym;
            continue;
        }
        unsigned value = 0;
        long rep;
        if (sym == 16) {
            if (i == 0) {
                s->err = "repeat of a code length with none before it";
                return -1;
            }
            value = lengths[i - 1];
            rep = getbits(s, 2) + 3;
        } else if (sym == 17) {
            rep = getbits(s, 3) + 3;
        } else {
            rep = getbits(s, 7) + 11;
        }
        if (rep < 3)
            return -1; /* getbits failed */
        if ((unsigned)rep > n - i) {
            s->err = "code lengths overflow the table";
            return -1;
        }
        while (rep--)
            lengths[i++] = (uint8_t)value;
    }
    return 0;
}

static int dynamic_block(inflater *s) {
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    huff litlen, dist, cl;
    uint8_t lengths[NUM_LITLEN + NUM_DIST];
    long hlit = getbits(s, 5), hdist = getbits(s, 5), hclen = getbits(s, 4);
    if (hlit < 0 || hdist < 0 || hclen < 0)
        return -1;
    hlit += 257;
    hdist += 1;
    hclen += 4;
    if (hlit > 286 || hdist > NUM_DIST) {
        s->err = "too many length or distance codes";
        return -1;
    }
    memset(lengths, 0, 19);
    for (long i = 0; i < hclen; i++) {
        long v = getbits(s, 3);
        if (v < 0)
            return -1;
        lengths[order[i]] = (uint8_t)v;
    }
    if (build_huff(&cl, lengths, 19) != 0) {
        s->err = "invalid code-length code";
        return -1;
    }
    if (read_lengths(s, &cl, lengths, (unsigned)(hlit + hdist)) != 0)
        return -1;
    if (lengths[256] == 0) {
        s->err = "no end-of-block code";
        return -1;
    }
    if (build_huff(&litlen, lengths, (unsigned)hlit) != 0 ||
        build_huff(&dist, lengths + hlit, (unsigned)hdist) != 0) {
        s->err = "invalid (over-subscribed) Huffman code";
        return -1;
    }
    return codes(s, &litlen, &dist);
}

static int zlib_header(inflater *s) {
    if (s->in_len < 2) {
        s->err = "truncated zlib header";
        return -1;
    }
    unsigned cmf = s->in[0], flg = s->in[1];
    if ((cmf & 15) != 8 || (cmf >> 4) > 7) {
        s->err = "not a deflate zlib stream";
        return -1;
    }
    if ((cmf * 256 + flg) % 31 != 0) {
        s->err = "zlib header check failed";
        return -1;
    }
    if (flg & 0x20) {
        s->err = "zlib preset dictionary not allowed";
        return -1;
    }
    s->in_pos = 2;
    return 0;
}

static int zlib_trailer(inflater *s) {
    s->bits >>= s->nbits & 7;
    s->nbits -= s->nbits & 7;
    uint32_t want = 0;
    for (int i = 0; i < 4; i++) {
        long b = getbits(s, 8);
        if (b < 0) {
            s->err = "truncated zlib stream (no Adler-32)";
            return -1;
        }
        want = want << 8 | (uint32_t)b;
    }
    if (adler32(1, s->out, s->out_pos) != want) {
        s->err = "zlib Adler-32 checksum mismatch";
        return -1;
    }
    return 0;
}

long zlib_inflate(const uint8_t *in, size_t in_len, uint8_t *out,
                  size_t out_cap, const char **err) {
    inflater s;
    memset(&s, 0, sizeof s);
    s.in = in;
    s.in_len = in_len;
    s.out = out;
    s.out_cap = out_cap;
    int rc = zlib_header(&s);
    long last = 0;
    uint64_t blocks = 0, max_blocks = FLATE_MAX_BLOCKS(in_len);
    while (rc == 0 && !last) {
        if (++blocks > max_blocks) {
            *err = "more deflate blocks than the stream's size allows";
            return FLATE_TOO_COSTLY;
        }
        last = getbits(&s, 1);
        long type = last < 0 ? -1 : getbits(&s, 2);
        if (type == 0)
            rc = stored_block(&s);
        else if (type == 1)
            rc = fixed_block(&s);
        else if (type == 2)
            rc = dynamic_block(&s);
        else {
            if (type == 3)
                s.err = "invalid deflate block type";
            rc = -1;
        }
    }
    if (rc == 0)
        rc = zlib_trailer(&s);
    if (rc != 0) {
        *err = s.err ? s.err : "truncated deflate stream";
        return -1;
    }
    return (long)s.out_pos;
}
