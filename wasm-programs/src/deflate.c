/* deflate.c - zlib / deflate encoder (see flate.h).
 *
 * LZ77 with hash chains over a 32 KiB window and one-step lazy matching
 * (zlib's "level 6" idea: a match is only taken if the next position does
 * not start a longer one).  Symbols are collected into blocks of
 * BLOCK_SYMS; each block is written as whichever of dynamic Huffman, fixed
 * Huffman or stored is smallest.  Dynamic code lengths come from a plain
 * Huffman construction (two queues over the sorted frequencies); when a
 * code would be longer than deflate allows, the frequencies are halved and
 * the tree is built again. */
#include "flate.h"

#include <stdlib.h>
#include <string.h>

#define WSIZE 32768
#define WMASK (WSIZE - 1)
#define HASH_BITS 16
#define HASH_LEN 4 /* bytes hashed: 3-byte matches are rarely worth it in
                      images, and 4 bytes give far fewer false candidates */
#define HASH_MASK ((1u << HASH_BITS) - 1)
#define MIN_MATCH 3
#define MAX_MATCH 258
#define MAX_CHAIN 8   /* candidates per position (64: photos 1-2% smaller,
                         4-6 times the fuel) */
#define GOOD_LEN 8    /* previous match this long: look at a quarter */
#define NICE_LEN 128  /* a match this long ends the search */
#define LAZY_LEN 32   /* previous match this long: take it, no lazy look */
#define TOO_FAR 4096  /* 3-byte matches farther away cost more than literals */
#define BLOCK_SYMS 16384
#define NUM_LL 286
#define NUM_FIXED_LL 288 /* the fixed code has two unused symbols, which count
                          in its canonical order */
#define NUM_D 30
#define NUM_CL 19

typedef struct {
    const uint8_t *in;
    size_t len;
    int32_t *head; /* HASH_MASK + 1 most recent positions, -1 if none */
    int32_t *prev; /* prev[pos & WMASK]: the position before pos in its chain */
    uint16_t *sym_ll;   /* literal byte, or match length */
    uint16_t *sym_dist; /* 0 for a literal, else the match distance */
    size_t nsyms;
    size_t block_start; /* input offset of the current block's first byte */
    uint32_t freq_ll[NUM_LL], freq_d[NUM_D];
    bytebuf *out;
    uint64_t bits;
    unsigned nbits;
} deflater;

/* A Huffman code: lengths and bit-reversed codes, ready to write LSB first. */
typedef struct {
    uint8_t len[NUM_FIXED_LL];
    uint16_t code[NUM_FIXED_LL];
} hcode;

static uint8_t len_sym[MAX_MATCH + 1];      /* length -> index 0..28 */
static uint8_t dist_sym_lo[256], dist_sym_hi[256];
static hcode fixed_ll, fixed_d;
static int tables_ready;

/* ---- bit output ------------------------------------------------------ */

/* Fuel is charged per instruction of a loop body whether or not it runs,
 * so hot loops stay small and everything else is a call. */
#define COLD __attribute__((noinline))

static COLD void put_word(deflater *z) {
    uint8_t le[4] = {(uint8_t)z->bits, (uint8_t)(z->bits >> 8),
                     (uint8_t)(z->bits >> 16), (uint8_t)(z->bits >> 24)};
    bb_put(z->out, le, 4);
    z->bits >>= 32;
    z->nbits -= 32;
}

static inline void put_bits(deflater *z, uint32_t v, unsigned n) {
    z->bits |= (uint64_t)v << z->nbits;
    z->nbits += n;
    if (z->nbits >= 32)
        put_word(z);
}

/* Writes out every whole byte, then pads the last partial one with zeros. */
static void align_bytes(deflater *z) {
    while (z->nbits > 0) {
        bb_byte(z->out, (uint8_t)z->bits);
        z->bits >>= 8;
        z->nbits = z->nbits > 8 ? z->nbits - 8 : 0;
    }
}

/* ---- Huffman codes --------------------------------------------------- */

static unsigned reverse_bits(unsigned code, unsigned len) {
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++) {
        r = (r << 1) | (code & 1);
        code >>= 1;
    }
    return r;
}

/* Canonical codes (RFC 1951 3.2.2) for h->len[0, n), bit-reversed. */
static void assign_codes(hcode *h, unsigned n) {
    unsigned count[16] = {0}, next[16];
    for (unsigned s = 0; s < n; s++)
        count[h->len[s]]++;
    count[0] = 0;
    unsigned code = 0;
    for (unsigned l = 1; l < 16; l++) {
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    for (unsigned s = 0; s < n; s++)
        h->code[s] = h->len[s] ? (uint16_t)reverse_bits(next[h->len[s]]++, h->len[s]) : 0;
}

/* Sorts leaf[0, m) by (freq, symbol); m is at most NUM_LL. */
static void sort_leaves(uint16_t *leaf, unsigned m, const uint32_t *freq) {
    for (unsigned i = 1; i < m; i++) {
        uint16_t s = leaf[i];
        unsigned j = i;
        while (j > 0 && freq[leaf[j - 1]] > freq[s]) {
            leaf[j] = leaf[j - 1];
            j--;
        }
        leaf[j] = s;
    }
}

/* One Huffman construction; returns the longest code length. m >= 2. */
static unsigned build_tree(const uint32_t *freq, unsigned n, uint8_t *len) {
    uint16_t leaf[NUM_LL];
    uint32_t weight[2 * NUM_LL];
    uint16_t parent[2 * NUM_LL];
    uint8_t depth[2 * NUM_LL];
    unsigned m = 0;
    for (unsigned s = 0; s < n; s++)
        if (freq[s] != 0)
            leaf[m++] = (uint16_t)s;
    sort_leaves(leaf, m, freq);
    for (unsigned i = 0; i < m; i++)
        weight[i] = freq[leaf[i]];
    unsigned li = 0, qi = m, next = m;
    while (next < 2 * m - 1) {
        unsigned pick[2];
        for (int k = 0; k < 2; k++)
            pick[k] = (li < m && (qi >= next || weight[li] <= weight[qi])) ? li++ : qi++;
        weight[next] = weight[pick[0]] + weight[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)next;
        next++;
    }
    unsigned maxd = 0;
    depth[2 * m - 2] = 0;
    for (unsigned i = 2 * m - 2; i-- > 0;) {
        depth[i] = (uint8_t)(depth[parent[i]] + 1);
        if (depth[i] > maxd)
            maxd = depth[i];
    }
    memset(len, 0, n);
    for (unsigned i = 0; i < m; i++)
        len[leaf[i]] = depth[i];
    return maxd;
}

/* Code lengths for freq[0, n), none longer than limit; at least two
 * symbols get a code (a one-code tree upsets some decoders). */
static void huff_lengths(const uint32_t *freq_in, unsigned n, unsigned limit,
                         hcode *h) {
    uint32_t freq[NUM_LL];
    unsigned used = 0;
    for (unsigned s = 0; s < n; s++) {
        freq[s] = freq_in[s];
        used += freq[s] != 0;
    }
    for (unsigned s = 0; s < n && used < 2; s++)
        if (freq[s] == 0) {
            freq[s] = 1;
            used++;
        }
    while (build_tree(freq, n, h->len) > limit)
        for (unsigned s = 0; s < n; s++)
            freq[s] = freq[s] == 0 ? 0 : (freq[s] + 1) / 2;
    assign_codes(h, n);
}

/* ---- static tables --------------------------------------------------- */

static void init_tables(void) {
    for (unsigned i = 0; i < 28; i++) {
        unsigned end = flate_len_base[i] + (1u << flate_len_extra[i]);
        for (unsigned l = flate_len_base[i]; l < end && l < MAX_MATCH; l++)
            len_sym[l] = (uint8_t)i;
    }
    len_sym[MAX_MATCH] = 28; /* 258 has a code of its own */
    for (unsigned i = 0; i < NUM_D; i++) {
        unsigned lo = flate_dist_base[i] - 1u;
        unsigned hi = lo + (1u << flate_dist_extra[i]);
        for (unsigned d = lo; d < hi; d++) {
            if (d < 256)
                dist_sym_lo[d] = (uint8_t)i;
            else
                dist_sym_hi[d >> 7] = (uint8_t)i;
        }
    }
    unsigned s = 0;
    for (; s < 144; s++)
        fixed_ll.len[s] = 8;
    for (; s < 256; s++)
        fixed_ll.len[s] = 9;
    for (; s < 280; s++)
        fixed_ll.len[s] = 7;
    for (; s < NUM_FIXED_LL; s++)
        fixed_ll.len[s] = 8;
    assign_codes(&fixed_ll, NUM_FIXED_LL);
    for (s = 0; s < NUM_D; s++)
        fixed_d.len[s] = 5;
    assign_codes(&fixed_d, NUM_D);
    tables_ready = 1;
}

/* dist 1..32768 -> symbol 0..29 */
static unsigned dist_sym(unsigned dist) {
    unsigned d = dist - 1;
    return d < 256 ? dist_sym_lo[d] : dist_sym_hi[d >> 7];
}

/* ---- blocks ---------------------------------------------------------- */

/* Bits of the block's symbols (end of block included) under ll and d. */
static uint64_t data_bits(const deflater *z, const hcode *ll, const hcode *d) {
    uint64_t bits = 0;
    for (unsigned s = 0; s < NUM_LL; s++) {
        uint64_t extra = s > 256 ? flate_len_extra[s - 257] : 0;
        bits += (uint64_t)z->freq_ll[s] * (ll->len[s] + extra);
    }
    for (unsigned s = 0; s < NUM_D; s++)
        bits += (uint64_t)z->freq_d[s] * (d->len[s] + flate_dist_extra[s]);
    return bits;
}

static COLD void write_match(deflater *z, unsigned len, unsigned dist,
                             const hcode *ll, const hcode *d) {
    unsigned ls = len_sym[len];
    put_bits(z, ll->code[257 + ls], ll->len[257 + ls]);
    put_bits(z, len - flate_len_base[ls], flate_len_extra[ls]);
    unsigned ds = dist_sym(dist);
    put_bits(z, d->code[ds], d->len[ds]);
    put_bits(z, dist - flate_dist_base[ds], flate_dist_extra[ds]);
}

static void write_symbols(deflater *z, const hcode *ll, const hcode *d) {
    for (size_t i = 0; i < z->nsyms; i++) {
        unsigned v = z->sym_ll[i], dist = z->sym_dist[i];
        if (dist == 0)
            put_bits(z, ll->code[v], ll->len[v]);
        else
            write_match(z, v, dist, ll, d);
    }
    put_bits(z, ll->code[256], ll->len[256]);
}

/* The code lengths of a dynamic block, run-length coded (symbols 0..18). */
typedef struct {
    unsigned hlit, hdist, hclen, n;
    uint8_t sym[NUM_LL + NUM_D], extra[NUM_LL + NUM_D];
    hcode cl;
} dyn_header;

static void rle_push(dyn_header *h, unsigned sym, unsigned extra) {
    h->sym[h->n] = (uint8_t)sym;
    h->extra[h->n++] = (uint8_t)extra;
}

static void rle_run(dyn_header *h, unsigned v, unsigned run) {
    if (v == 0) {
        while (run >= 11) {
            unsigned r = run < 138 ? run : 138;
            rle_push(h, 18, r - 11);
            run -= r;
        }
        if (run >= 3) {
            rle_push(h, 17, run - 3);
            run = 0;
        }
    } else {
        rle_push(h, v, 0);
        run--;
        while (run >= 3) {
            unsigned r = run < 6 ? run : 6;
            rle_push(h, 16, r - 3);
            run -= r;
        }
    }
    while (run-- > 0)
        rle_push(h, v, 0);
}

static const uint8_t cl_order[NUM_CL] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                         11, 4,  12, 3, 13, 2, 14, 1, 15};

static void make_header(dyn_header *h, const hcode *ll, const hcode *d) {
    uint8_t lens[NUM_LL + NUM_D];
    h->hlit = NUM_LL;
    while (h->hlit > 257 && ll->len[h->hlit - 1] == 0)
        h->hlit--;
    h->hdist = NUM_D;
    while (h->hdist > 1 && d->len[h->hdist - 1] == 0)
        h->hdist--;
    memcpy(lens, ll->len, h->hlit);
    memcpy(lens + h->hlit, d->len, h->hdist);
    unsigned total = h->hlit + h->hdist;
    h->n = 0;
    for (unsigned i = 0; i < total;) {
        unsigned run = 1;
        while (i + run < total && lens[i + run] == lens[i])
            run++;
        rle_run(h, lens[i], run);
        i += run;
    }
    uint32_t freq[NUM_CL] = {0};
    for (unsigned i = 0; i < h->n; i++)
        freq[h->sym[i]]++;
    huff_lengths(freq, NUM_CL, 7, &h->cl);
    h->hclen = NUM_CL;
    while (h->hclen > 4 && h->cl.len[cl_order[h->hclen - 1]] == 0)
        h->hclen--;
}

static uint64_t header_bits(const dyn_header *h) {
    static const uint8_t rle_extra_bits[3] = {2, 3, 7};
    uint64_t bits = 5 + 5 + 4 + 3 * (uint64_t)h->hclen;
    for (unsigned i = 0; i < h->n; i++) {
        unsigned s = h->sym[i];
        bits += (uint64_t)h->cl.len[s] + (s >= 16 ? rle_extra_bits[s - 16] : 0u);
    }
    return bits;
}

static void write_header(deflater *z, const dyn_header *h) {
    static const uint8_t rle_extra_bits[3] = {2, 3, 7};
    put_bits(z, h->hlit - 257, 5);
    put_bits(z, h->hdist - 1, 5);
    put_bits(z, h->hclen - 4, 4);
    for (unsigned i = 0; i < h->hclen; i++)
        put_bits(z, h->cl.len[cl_order[i]], 3);
    for (unsigned i = 0; i < h->n; i++) {
        unsigned s = h->sym[i];
        put_bits(z, h->cl.code[s], h->cl.len[s]);
        if (s >= 16)
            put_bits(z, h->extra[i], rle_extra_bits[s - 16]);
    }
}

static void write_stored(deflater *z, size_t start, size_t end, int last) {
    do {
        size_t n = end - start < 65535 ? end - start : 65535;
        int final = last && start + n == end;
        put_bits(z, (uint32_t)final, 1);
        put_bits(z, 0, 2);
        align_bytes(z);
        put_bits(z, (uint32_t)n, 16);
        put_bits(z, (uint32_t)n ^ 0xffff, 16);
        align_bytes(z);
        bb_put(z->out, z->in + start, n);
        start += n;
    } while (start < end);
}

/* Writes the collected symbols, covering input [block_start, end). */
static COLD void flush_block(deflater *z, size_t end, int last) {
    static hcode ll, d; /* large: kept off the C stack */
    static dyn_header h;
    z->freq_ll[256]++;
    huff_lengths(z->freq_ll, NUM_LL, 15, &ll);
    huff_lengths(z->freq_d, NUM_D, 15, &d);
    make_header(&h, &ll, &d);
    uint64_t dyn = 3 + header_bits(&h) + data_bits(z, &ll, &d);
    uint64_t fix = 3 + data_bits(z, &fixed_ll, &fixed_d);
    size_t raw = end - z->block_start;
    uint64_t chunks = raw / 65535 + 1;
    uint64_t stored = chunks * (3 + 7 + 32) + 8 * (uint64_t)raw;
    if (stored < dyn && stored < fix) {
        write_stored(z, z->block_start, end, last);
    } else if (fix <= dyn) {
        put_bits(z, (uint32_t)last, 1);
        put_bits(z, 1, 2);
        write_symbols(z, &fixed_ll, &fixed_d);
    } else {
        put_bits(z, (uint32_t)last, 1);
        put_bits(z, 2, 2);
        write_header(z, &h);
        write_symbols(z, &ll, &d);
    }
    memset(z->freq_ll, 0, sizeof z->freq_ll);
    memset(z->freq_d, 0, sizeof z->freq_d);
    z->nsyms = 0;
    z->block_start = end;
}

/* ---- LZ77 ------------------------------------------------------------ */

/* Adds pos to the chain of its first HASH_LEN bytes; returns the previous
 * head (-1: none). */
static int32_t insert(deflater *z, size_t pos) {
    if (pos + HASH_LEN > z->len)
        return -1;
    const uint8_t *p = z->in + pos;
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    unsigned h = (v * 2654435761u) >> (32 - HASH_BITS);
    int32_t cand = z->head[h];
    z->prev[pos & WMASK] = cand;
    z->head[h] = (int32_t)pos;
    return cand;
}

static COLD unsigned longest_match(const deflater *z, size_t pos, int32_t cand,
                              unsigned chain, unsigned *dist) {
    size_t max = z->len - pos < MAX_MATCH ? z->len - pos : MAX_MATCH;
    size_t limit = pos > WSIZE ? pos - WSIZE : 0;
    const uint8_t *p = z->in + pos;
    size_t best = 0;
    while (cand >= 0 && (size_t)cand >= limit && chain-- > 0) {
        const uint8_t *q = z->in + cand;
        if (q[best] == p[best] && q[0] == p[0] && q[1] == p[1]) {
            size_t l = 2;
            while (l < max && q[l] == p[l])
                l++;
            if (l > best) {
                best = l;
                *dist = (unsigned)(pos - (size_t)cand);
                if (l >= NICE_LEN || l == max)
                    break;
            }
        }
        int32_t next = z->prev[cand & WMASK];
        if (next >= cand)
            break; /* the slot was reused by a newer position */
        cand = next;
    }
    if (best < MIN_MATCH || (best == MIN_MATCH && *dist > TOO_FAR))
        return 0;
    return (unsigned)best;
}

static inline void record_literal(deflater *z, uint8_t v) {
    z->sym_ll[z->nsyms] = v;
    z->sym_dist[z->nsyms++] = 0;
    z->freq_ll[v]++;
}

/* Records the match of len found at pos - 1, hashes the positions it
 * covers, and returns the position after it. */
static COLD size_t take_match(deflater *z, size_t pos, unsigned len,
                              unsigned dist) {
    z->sym_ll[z->nsyms] = (uint16_t)len;
    z->sym_dist[z->nsyms++] = (uint16_t)dist;
    z->freq_ll[257 + len_sym[len]]++;
    z->freq_d[dist_sym(dist)]++;
    size_t end = pos - 1 + len;
    for (size_t k = pos + 1; k < end; k++)
        insert(z, k);
    return end;
}

/* The newest candidate must share its first 4 bytes, or the chain is not
 * searched at all: in photos most positions have no match, and this test
 * is much cheaper than the search (which costs fuel per instruction). */
static inline int same4(const uint8_t *a, const uint8_t *b) {
    uint32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return x == y;
}

/* Lazy matching: the match found at i - 1 (prev_len) is taken unless the
 * one at i is longer; every position is hashed once. */
static void lz77(deflater *z) {
    size_t i = 0;
    int have_prev = 0;
    unsigned prev_len = 0, prev_dist = 0;
    while (i < z->len) {
        unsigned cur_len = 0, cur_dist = 0;
        int32_t cand = insert(z, i);
        if (cand >= 0 && prev_len < LAZY_LEN && i - (size_t)cand <= WSIZE &&
            same4(z->in + cand, z->in + i))
            cur_len = longest_match(z, i, cand,
                                    prev_len >= GOOD_LEN ? MAX_CHAIN / 4
                                                         : MAX_CHAIN,
                                    &cur_dist);
        if (prev_len >= MIN_MATCH && cur_len <= prev_len) {
            i = take_match(z, i, prev_len, prev_dist);
            have_prev = 0;
            prev_len = 0;
        } else {
            if (have_prev)
                record_literal(z, z->in[i - 1]);
            have_prev = 1;
            prev_len = cur_len;
            prev_dist = cur_dist;
            i++;
        }
        if (z->nsyms >= BLOCK_SYMS)
            flush_block(z, have_prev ? i - 1 : i, 0);
    }
    if (have_prev)
        record_literal(z, z->in[z->len - 1]);
    flush_block(z, z->len, 1);
}

int zlib_deflate(const uint8_t *in, size_t len, bytebuf *out) {
    if (!tables_ready)
        init_tables();
    deflater z;
    memset(&z, 0, sizeof z);
    z.in = in;
    z.len = len;
    z.out = out;
    z.head = malloc((HASH_MASK + 1) * sizeof *z.head);
    z.prev = malloc(WSIZE * sizeof *z.prev);
    z.sym_ll = malloc(BLOCK_SYMS * sizeof *z.sym_ll);
    z.sym_dist = malloc(BLOCK_SYMS * sizeof *z.sym_dist);
    int rc = -1;
    if (z.head && z.prev && z.sym_ll && z.sym_dist) {
        memset(z.head, 0xff, (HASH_MASK + 1) * sizeof *z.head);
        bb_byte(out, 0x78); /* deflate, 32 KiB window */
        bb_byte(out, 0x9c); /* default level, check bits */
        lz77(&z);
        align_bytes(&z);
        bb_be32(out, adler32(1, in, len));
        rc = out->oom ? -1 : 0;
    }
    free(z.head);
    free(z.prev);
    free(z.sym_ll);
    free(z.sym_dist);
    return rc;
}
