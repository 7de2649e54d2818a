/* kv_cmd_ranges.c - string commands on parts of a value: GETRANGE (SUBSTR),
 * SETRANGE, GETBIT, SETBIT, BITCOUNT, BITPOS and LCS, with Redis 7's index
 * rules (negative indexes count from the end, ranges are clamped), replies
 * and errors.  Bits are numbered from the most significant bit of byte 0. */
#include "kv_cmd.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char OFFSET_RANGE[] = "ERR offset is out of range";
static const char TOO_BIG[] = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
static const char BIT_OFFSET[] = "ERR bit offset is not an integer or out of range";

static kv_entry *lookup(kv_call *k, size_t i) {
    return kv_find(k->argv[i], k->argl[i], kv_now_ms);
}

/* Clamps [*start, *end] (may be negative: from the end) to a length of len;
 * returns 0 when the range is empty. */
static int clamp_range(long long *start, long long *end, long long len) {
    if (*start < 0 && *end < 0 && *start > *end)
        return 0;
    if (*start < 0)
        *start += len;
    if (*end < 0)
        *end += len;
    if (*start < 0)
        *start = 0;
    if (*end < 0)
        *end = 0;
    if (*end >= len)
        *end = len - 1;
    return len > 0 && *start <= *end;
}

void cmd_getrange(kv_call *k) {
    long long start, end;
    if (arg_ll(k, 2, &start) != 0 || arg_ll(k, 3, &end) != 0 || !key_type_ok(k, 1, KV_T_STRING))
        return;
    kv_entry *e = lookup(k, 1);
    if (e == NULL || !clamp_range(&start, &end, (long long)e->vlen)) {
        reply_bulk(k, "", 0);
        return;
    }
    reply_bulk(k, e->val + start, (size_t)(end - start + 1));
}

/* The entry of argv[1] for a write of `need` bytes in all, created when
 * missing; NULL after replying the error. */
static kv_entry *for_write(kv_call *k, long long need, int *created) {
    if (need > (long long)KV_MAX_VALUE_BYTES) {
        reply_error(k, "%s", TOO_BIG);
        return NULL;
    }
    int err;
    kv_entry *e = kv_find_or_create(k->argv[1], k->argl[1], kv_now_ms, created, &err);
    if (e == NULL) {
        reply_store_error(k, err);
        return NULL;
    }
    err = kv_grow_value(e, (size_t)need);
    if (err != KV_OK) {
        if (*created)
            kv_delete_entry(e);
        reply_store_error(k, err);
        return NULL;
    }
    return e;
}

void cmd_setrange(kv_call *k) {
    long long offset;
    if (arg_ll(k, 2, &offset) != 0)
        return;
    if (offset < 0) {
        reply_error(k, "%s", OFFSET_RANGE);
        return;
    }
    if (!key_type_ok(k, 1, KV_T_STRING))
        return;
    size_t vlen = k->argl[3];
    kv_entry *e = lookup(k, 1);
    if (vlen == 0) {
        /* Nothing to write: no key is created, an existing one is unchanged. */
        reply_int(k, e == NULL ? 0 : (long long)e->vlen);
        return;
    }
    if (offset > KV_PROTO_MAX_BULK - (long long)vlen) { /* not offset + vlen: that overflows */
        reply_error(k, "%s", TOO_BIG);
        return;
    }
    int created;
    e = for_write(k, offset + (long long)vlen, &created);
    if (e == NULL)
        return;
    memcpy(e->val + offset, k->argv[3], vlen);
    reply_int(k, (long long)e->vlen);
}

/* A bit offset argument as Redis checks it; -1 after replying the error. */
static long long bit_offset(kv_call *k, size_t i) {
    long long off;
    if (resp_parse_ll(k->argv[i], k->argl[i], &off) != 0 || off < 0 || (off >> 3) >= KV_PROTO_MAX_BULK) {
        reply_error(k, "%s", BIT_OFFSET);
        return -1;
    }
    return off;
}

void cmd_getbit(kv_call *k) {
    long long off = bit_offset(k, 2);
    if (off < 0 || !key_type_ok(k, 1, KV_T_STRING))
        return;
    kv_entry *e = lookup(k, 1);
    size_t byte = (size_t)(off >> 3);
    if (e == NULL || byte >= e->vlen) {
        reply_int(k, 0);
        return;
    }
    reply_int(k, ((unsigned char)e->val[byte] >> (7 - (off & 7))) & 1);
}

void cmd_setbit(kv_call *k) {
    long long off = bit_offset(k, 2);
    if (off < 0)
        return;
    long long on;
    if (resp_parse_ll(k->argv[3], k->argl[3], &on) != 0 || (on != 0 && on != 1)) {
        reply_error(k, "ERR bit is not an integer or out of range");
        return;
    }
    if (!key_type_ok(k, 1, KV_T_STRING))
        return;
    int created;
    kv_entry *e = for_write(k, (off >> 3) + 1, &created);
    if (e == NULL)
        return;
    unsigned char *b = (unsigned char *)e->val + (off >> 3);
    int shift = 7 - (int)(off & 7);
    int old = (*b >> shift) & 1;
    *b = (unsigned char)((*b & ~(1 << shift)) | (on << shift));
    reply_int(k, old);
}

static int bit_at(const unsigned char *p, long long bit) {
    return (p[bit >> 3] >> (7 - (bit & 7))) & 1;
}

/* Bits of p set in the bit range [from, to]. */
static long long popcount_bits(const unsigned char *p, long long from, long long to) {
    long long n = 0;
    while (from <= to && (from & 7) != 0)
        n += bit_at(p, from++);
    while (from + 7 <= to) {
        n += __builtin_popcount(p[from >> 3]);
        from += 8;
    }
    while (from <= to)
        n += bit_at(p, from++);
    return n;
}

/* The optional BYTE|BIT word at argv[i]: 0 byte, 1 bit, -1 after a syntax error. */
static int unit_arg(kv_call *k, size_t i) {
    if (i >= k->argc || arg_is(k, i, "byte"))
        return 0;
    if (arg_is(k, i, "bit"))
        return 1;
    reply_syntax_error(k);
    return -1;
}

void cmd_bitcount(kv_call *k) {
    kv_entry *e = lookup(k, 1);
    if (e == NULL) {
        reply_int(k, 0);
        return;
    }
    const unsigned char *p = (const unsigned char *)e->val;
    long long len = (long long)e->vlen;
    if (k->argc == 2) {
        reply_int(k, len == 0 ? 0 : popcount_bits(p, 0, len * 8 - 1));
        return;
    }
    if (k->argc != 4 && k->argc != 5) {
        reply_syntax_error(k);
        return;
    }
    long long start, end;
    if (arg_ll(k, 2, &start) != 0 || arg_ll(k, 3, &end) != 0)
        return;
    if (start < 0 && end < 0 && start > end) {
        reply_int(k, 0);
        return;
    }
    int bits = unit_arg(k, 4);
    if (bits < 0)
        return;
    if (!clamp_range(&start, &end, bits ? len * 8 : len)) {
        reply_int(k, 0);
        return;
    }
    reply_int(k, bits ? popcount_bits(p, start, end) : popcount_bits(p, start * 8, end * 8 + 7));
}

void cmd_bitpos(kv_call *k) {
    long long want;
    if (arg_ll(k, 2, &want) != 0)
        return;
    if (want != 0 && want != 1) {
        reply_error(k, "ERR The bit argument must be 1 or 0.");
        return;
    }
    if (!key_type_ok(k, 1, KV_T_STRING))
        return;
    kv_entry *e = lookup(k, 1);
    if (e == NULL) {
        /* A missing key is an endless run of 0 bits. */
        reply_int(k, want ? -1 : 0);
        return;
    }
    const unsigned char *p = (const unsigned char *)e->val;
    long long len = (long long)e->vlen;
    long long start = 0, end = len - 1;
    int bits = 0, end_given = 0;
    if (k->argc >= 4 && k->argc <= 6) {
        if (arg_ll(k, 3, &start) != 0)
            return;
        if (k->argc == 6 && (bits = unit_arg(k, 5)) < 0)
            return;
        if (k->argc >= 5) {
            if (arg_ll(k, 4, &end) != 0)
                return;
            end_given = 1;
        } else {
            end = bits ? len * 8 - 1 : len - 1;
        }
        long long total = bits ? len * 8 : len;
        if (start < 0)
            start += total;
        if (end < 0)
            end += total;
        if (start < 0)
            start = 0;
        if (end < 0)
            end = 0;
        if (end >= total)
            end = total - 1;
    } else if (k->argc != 3) {
        reply_syntax_error(k);
        return;
    }
    if (start > end || len == 0) {
        reply_int(k, -1); /* an empty range holds neither a 0 nor a 1 */
        return;
    }
    long long from = bits ? start : start * 8, to = bits ? end : end * 8 + 7;
    unsigned char skip = want ? 0x00 : 0xFF; /* whole bytes that cannot hold the bit */
    for (long long b = from; b <= to;) {
        if ((b & 7) == 0 && b + 7 <= to && p[b >> 3] == skip) {
            b += 8;
            continue;
        }
        if (bit_at(p, b) == want) {
            reply_int(k, b);
            return;
        }
        b++;
    }
    /* Looking for a 0 past the given range's end finds the zero padding that
     * follows the string, unless the caller gave the end. */
    reply_int(k, want || end_given ? -1 : to + 1);
}

/* ---- LCS --------------------------------------------------------------- */

/* Largest a * b the dynamic programming table of LCS may have. */
#define LCS_MAX_CELLS (64LL * 1024 * 1024)

void cmd_lcs(kv_call *k) {
    int want_len = 0, want_idx = 0, with_len = 0;
    long long min_len = 0;
    for (size_t j = 3; j < k->argc; j++) {
        if (arg_is(k, j, "len")) {
            want_len = 1;
        } else if (arg_is(k, j, "idx")) {
            want_idx = 1;
        } else if (arg_is(k, j, "withmatchlen")) {
            with_len = 1;
        } else if (arg_is(k, j, "minmatchlen") && j + 1 < k->argc) {
            if (arg_ll(k, ++j, &min_len) != 0)
                return;
            if (min_len < 0)
                min_len = 0;
        } else {
            reply_syntax_error(k);
            return;
        }
    }
    if (want_len && want_idx) {
        reply_error(k, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    kv_entry *ea = lookup(k, 1), *eb = lookup(k, 2);
    if ((ea != NULL && ea->type != KV_T_STRING) || (eb != NULL && eb->type != KV_T_STRING)) {
        reply_error(k, "ERR The specified keys must contain string values");
        return;
    }
    const char *a = ea ? ea->val : "", *b = eb ? eb->val : "";
    long long alen = ea ? (long long)ea->vlen : 0, blen = eb ? (long long)eb->vlen : 0;
    if ((alen + 1) * (blen + 1) > LCS_MAX_CELLS) {
        reply_error(k, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    uint32_t *dp = calloc((size_t)((alen + 1) * (blen + 1)), sizeof *dp);
    if (dp == NULL) {
        reply_error(k, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
#define DP(i, j) dp[(size_t)(j) * (size_t)(alen + 1) + (size_t)(i)]
    for (long long j = 1; j <= blen; j++)
        for (long long i = 1; i <= alen; i++)
            DP(i, j) = a[i - 1] == b[j - 1] ? DP(i - 1, j - 1) + 1
                       : (DP(i - 1, j) > DP(i, j - 1) ? DP(i - 1, j) : DP(i, j - 1));
    long long idx = DP(alen, blen);
    char *result = NULL;
    if (!want_len && !want_idx) {
        result = malloc((size_t)idx + 1);
        if (result == NULL) {
            free(dp);
            reply_error(k, "ERR Insufficient memory, failed allocating transient memory for LCS");
            return;
        }
    }
    /* Walk back from the end, as Redis does, collecting the matching ranges
     * (IDX lists them from the end of the strings). */
    size_t nmatches = 0, cap = 0;
    long long (*ranges)[5] = NULL; /* a_start a_end b_start b_end len */
    long long i = alen, j = blen, at = idx;
    long long arange_start = alen, arange_end = 0, brange_start = 0, brange_end = 0;
    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (result)
                result[--at] = a[i - 1];
            if (arange_start == alen) {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if (arange_start == i && brange_start == j) {
                arange_start--;
                brange_start--;
            } else {
                emit = 1;
            }
            if (arange_start == 0 || brange_start == 0)
                emit = 1;
            i--;
            j--;
        } else {
            if (DP(i - 1, j) > DP(i, j - 1))
                i--;
            else
                j--;
            if (arange_start != alen)
                emit = 1;
        }
        if (emit) {
            long long mlen = arange_end - arange_start + 1;
            if (want_idx && (min_len == 0 || mlen >= min_len)) {
                if (nmatches == cap) {
                    cap = cap ? cap * 2 : 16;
                    void *grown = realloc(ranges, cap * sizeof *ranges);
                    if (grown == NULL) {
                        free(ranges);
                        free(dp);
                        free(result);
                        reply_error(k, "ERR Insufficient memory, failed allocating transient memory for LCS");
                        return;
                    }
                    ranges = grown;
                }
                long long *r = ranges[nmatches++];
                r[0] = arange_start;
                r[1] = arange_end;
                r[2] = brange_start;
                r[3] = brange_end;
                r[4] = mlen;
            }
            arange_start = alen; /* no range in progress: the next match starts one */
        }
    }
#undef DP
    free(dp);
    if (result) {
        reply_bulk(k, result, (size_t)idx);
        free(result);
    } else if (want_len) {
        reply_int(k, idx);
    } else {
        reply_array(k, 4);
        reply_cstr(k, "matches");
        reply_array(k, nmatches);
        for (size_t m = 0; m < nmatches; m++) {
            reply_array(k, with_len ? 3 : 2);
            reply_array(k, 2);
            reply_int(k, ranges[m][0]);
            reply_int(k, ranges[m][1]);
            reply_array(k, 2);
            reply_int(k, ranges[m][2]);
            reply_int(k, ranges[m][3]);
            if (with_len)
                reply_int(k, ranges[m][4]);
        }
        reply_cstr(k, "len");
        reply_int(k, idx);
    }
    free(ranges);
}
