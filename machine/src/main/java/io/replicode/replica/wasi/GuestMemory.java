package io.replicode.replica.wasi;

import com.dylibso.chicory.runtime.Memory;
import java.util.ArrayList;
import java.util.List;

/**
 * Bounds-checked access to guest linear memory for host calls: a bad guest pointer becomes
 * {@code EFAULT} instead of a trap inside the host.
 */
final class GuestMemory {
    private final Memory memory;

    GuestMemory(Memory memory) {
        this.memory = memory;
    }

    private void check(long addr, long len) {
        long size = (long) memory.pages() * io.replicode.replica.GuestLimits.WASM_PAGE_BYTES;
        if (addr < 0 || len < 0 || addr + len > size) {
            throw new WasiException(Errno.FAULT, "pointer " + addr + "+" + len + " outside guest memory of " + size + " bytes");
        }
    }

    int u32(long addr) {
        check(addr, 4);
        return memory.readInt((int) addr);
    }

    void u32(long addr, long v) {
        check(addr, 4);
        memory.writeI32((int) addr, (int) v);
    }

    long u64(long addr) {
        check(addr, 8);
        return memory.readLong((int) addr);
    }

    void u64(long addr, long v) {
        check(addr, 8);
        memory.writeLong((int) addr, v);
    }

    int u8(long addr) {
        check(addr, 1);
        return memory.read((int) addr) & 0xFF;
    }

    void u8(long addr, int v) {
        check(addr, 1);
        memory.writeByte((int) addr, (byte) v);
    }

    void u16(long addr, int v) {
        check(addr, 2);
        memory.writeShort((int) addr, (short) v);
    }

    int u16(long addr) {
        check(addr, 2);
        return memory.readShort((int) addr) & 0xFFFF;
    }

    /** Checks that {@code [addr, addr + len)} lies in memory (EFAULT otherwise) without reading it. */
    void checkRange(long addr, long len) {
        check(addr, len);
    }

    byte[] read(long addr, long len) {
        check(addr, len);
        return memory.readBytes((int) addr, (int) len);
    }

    void write(long addr, byte[] data, int off, int len) {
        check(addr, len);
        memory.write((int) addr, data, off, len);
    }

    void write(long addr, byte[] data) {
        write(addr, data, 0, data.length);
    }

    /** A guest-supplied path or name: UTF-8, bounded. */
    String string(long addr, long len) {
        if (len > io.replicode.replica.GuestLimits.MAX_PATH_BYTES) {
            throw new WasiException(Errno.NAMETOOLONG, "path of " + len + " bytes");
        }
        byte[] b = read(addr, len);
        for (byte x : b) {
            if (x == 0) {
                throw new WasiException(Errno.INVAL, "path contains a NUL byte");
            }
        }
        var decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder();
        try {
            return decoder.decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new WasiException(Errno.ILSEQ, "path is not valid UTF-8");
        }
    }

    /** An iovec array as (address, length) pairs, checked against memory. */
    List<long[]> iovecs(long iovs, long count) {
        if (count < 0 || count > 1024) {
            throw new WasiException(Errno.INVAL, "iovec count " + count + " (IOV_MAX is 1024)");
        }
        List<long[]> out = new ArrayList<>((int) count);
        long total = 0;
        for (int i = 0; i < count; i++) {
            long buf = Integer.toUnsignedLong(u32(iovs + 8L * i));
            long len = Integer.toUnsignedLong(u32(iovs + 8L * i + 4));
            check(buf, len);
            total += len;
            out.add(new long[] {buf, len});
        }
        if (total > Integer.MAX_VALUE) {
            throw new WasiException(Errno.INVAL, "iovecs total " + total + " bytes");
        }
        return out;
    }

    /** Concatenates the bytes of an iovec list (for writes). */
    /**
     * The first {@code limit} bytes of an iovec list (for a socket's send: no more than its window takes, so a reply
     * of tens of MB sent a window at a time is not copied whole out of guest memory for every window).
     */
    byte[] gather(List<long[]> iovs, int limit) {
        byte[] out = new byte[(int) Math.min(limit, total(iovs))];
        int pos = 0;
        for (long[] v : iovs) {
            if (pos >= out.length) {
                break;
            }
            int n = (int) Math.min(v[1], out.length - pos);
            System.arraycopy(memory.readBytes((int) v[0], n), 0, out, pos, n);
            pos += n;
        }
        return out;
    }

    byte[] gather(List<long[]> iovs) {
        int total = 0;
        for (long[] v : iovs) {
            total += (int) v[1];
        }
        byte[] out = new byte[total];
        int pos = 0;
        for (long[] v : iovs) {
            byte[] part = memory.readBytes((int) v[0], (int) v[1]);
            System.arraycopy(part, 0, out, pos, part.length);
            pos += part.length;
        }
        return out;
    }

    /** Spreads {@code data} over an iovec list (for reads); returns the bytes placed. */
    int scatter(List<long[]> iovs, byte[] data) {
        int pos = 0;
        for (long[] v : iovs) {
            if (pos >= data.length) {
                break;
            }
            int n = (int) Math.min(v[1], data.length - pos);
            memory.write((int) v[0], data, pos, n);
            pos += n;
        }
        return pos;
    }

    static long total(List<long[]> iovs) {
        long t = 0;
        for (long[] v : iovs) {
            t += v[1];
        }
        return t;
    }
}
