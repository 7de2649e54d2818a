package io.replicode.replica.module;

import java.nio.charset.StandardCharsets;

/** Cursor over a WebAssembly binary: LEB128 and byte reads with bounds checks that name the offset. */
final class WasmReader {
    private final byte[] bytes;
    private int pos;
    private final int limit;

    WasmReader(byte[] bytes, int from, int limit) {
        this.bytes = bytes;
        this.pos = from;
        this.limit = limit;
    }

    int pos() {
        return pos;
    }

    boolean atEnd() {
        return pos >= limit;
    }

    int u8() {
        if (pos >= limit) {
            throw malformed("unexpected end of section");
        }
        return bytes[pos++] & 0xFF;
    }

    long u32() {
        long result = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            int b = u8();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                if (result > 0xFFFFFFFFL) {
                    throw malformed("u32 out of range");
                }
                return result;
            }
        }
        throw malformed("u32 LEB128 longer than 5 bytes");
    }

    /** Reads a u32 that is used as a count or index; rejects values that cannot be a Java int. */
    int index() {
        long v = u32();
        if (v > Integer.MAX_VALUE) {
            throw malformed("index " + v + " too large");
        }
        return (int) v;
    }

    long sleb(int maxBits) {
        long result = 0;
        int shift = 0;
        int b;
        do {
            if (shift >= maxBits + 7) {
                throw malformed("signed LEB128 too long");
            }
            b = u8();
            result |= (long) (b & 0x7F) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0) {
            result |= -1L << shift;
        }
        return result;
    }

    void skip(int n) {
        if (n < 0 || pos + n > limit) {
            throw malformed("length " + n + " runs past the end");
        }
        pos += n;
    }

    String name() {
        int len = index();
        int start = pos;
        skip(len);
        return new String(bytes, start, len, StandardCharsets.UTF_8);
    }

    ModuleRejectedException malformed(String what) {
        return new ModuleRejectedException("malformed module at byte " + pos + ": " + what,
                "rebuild the module; it is not a valid WebAssembly binary");
    }
}
