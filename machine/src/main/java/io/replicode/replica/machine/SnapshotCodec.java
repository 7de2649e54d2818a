package io.replicode.replica.machine;

import com.dylibso.chicory.runtime.GlobalInstance;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.zip.CRC32C;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The guest snapshot format.
 *
 * <pre>
 * header (24 bytes, big-endian):
 *   0  magic      8 bytes  "RPLCSNAP"
 *   8  version    u16      5 (versions 1 to 4 are still read)
 *  10  flags      u16      bit 0: body is deflate-compressed
 *  12  rawLength  u32      length of the uncompressed body
 *  16  crc32c     u32      CRC32C of the uncompressed body
 *  20  length     u32      length of the stored body that follows
 * body (DataOutputStream encoding):
 *   module sha256 (UTF), app (UTF), machine state (u8), stop reason (UTF), last seq (i64),
 *   asyncify buffer start and end (i32, i32),
 *   memory: pages (i32), then for each non-zero 4 KiB chunk its index (i32) and 4096 bytes, then -1,
 *   globals: count (i32), each low and high 64 bits,
 *   tables: count (i32), each size (i32) and function references (i32 each),
 *   host state: clock, fuel, waits, random generator, virtual network (connections with buffered
 *   bytes, backlogs), virtual filesystem, descriptors; since version 5 the network also has outbound connections
 *   (an outbound flag after each connection id, then epoch, connect outcome, target and resolved address in place of
 *   the listener name; after the consumed count, the bytes of a whole-buffer send in progress), a claimed flag per
 *   listener, and the refused connects and outbound count at its end,
 *   since version 2, duplicate batches: table count (u32), then for each gateway in increasing order its
 *   id (u32) and last applied batchSeq (i64); skipping the current batch (u8, 0 or 1); duplicate
 *   batches dropped (i64); events dropped with them (i64),
 *   since version 3, supervision: faults, restarts, rollbacks, connections cut (i64 each), last fault (UTF),
 *   recent restart faults: count (u32) and their frames (i64 each, increasing),
 *   since version 4, an upgrade in progress: present (u8, 0 or 1), then the new module's SHA-256 (UTF), frames of
 *   grace left and given (i32 each).
 * </pre>
 * A version-1 body ends after the descriptors and restores with an empty table, not skipping, counters 0; a
 * version-2 body ends after the duplicate counters and restores with no faults recorded; a version-3 body ends after
 * the supervision record and restores with no upgrade in progress.
 * The digest of a machine is SHA-256 of the uncompressed body, so it does not depend on compression.
 */
final class SnapshotCodec {
    static final String ASYNCIFY_FIX = "wasm-opt -O2 --asyncify --pass-arg=asyncify-imports@"
            + "wasi_snapshot_preview1.poll_oneoff,wasi_snapshot_preview1.sock_accept,"
            + "wasi_snapshot_preview1.sock_recv,wasi_snapshot_preview1.sock_send,"
            + "wasi_snapshot_preview1.fd_read,wasi_snapshot_preview1.fd_write,wasi_snapshot_preview1.sock_connect"
            + " in.wasm -o out.wasm";

    private static final byte[] MAGIC = {'R', 'P', 'L', 'C', 'S', 'N', 'A', 'P'};
    /** The version written; every version from {@link #OLDEST_VERSION} up to it is read. */
    static final int VERSION = 5;
    static final int OLDEST_VERSION = 1;
    private static final int FLAG_DEFLATE = 1;
    private static final int HEADER = 24;
    private static final int CHUNK = 4096;
    private static final byte[] ZERO_CHUNK = new byte[CHUNK];

    interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    interface Reader {
        /** Reads a body of snapshot format {@code version}. */
        void read(DataInputStream in, int version) throws IOException;
    }

    private SnapshotCodec() {}

    static byte[] encode(Writer writer, boolean compress) {
        return encode(writer, compress, 1 << 16);
    }

    /**
     * A snapshot of the state {@code writer} writes; {@code sizeHint} is about how many bytes it writes (a machine's
     * memory size). The state is written once, into a buffer of that size, with room for the header in front: no
     * buffer doubling its way up to tens of MB and no copies after (each such array is a humongous allocation for
     * G1, and every one started a garbage collection under load).
     */
    static byte[] encode(Writer writer, boolean compress, int sizeHint) {
        StateBuffer out = new StateBuffer(HEADER + Math.max(0, sizeHint));
        out.write(new byte[HEADER], 0, HEADER);
        try (DataOutputStream d = new DataOutputStream(out)) {
            writer.write(d);
        } catch (IOException e) {
            throw new IllegalStateException("encoding in-memory state failed", e);
        }
        int rawLength = out.size() - HEADER;
        CRC32C crc = new CRC32C();
        crc.update(out.array(), HEADER, rawLength);
        if (compress) {
            return deflated(out.array(), rawLength, (int) crc.getValue(), (short) VERSION, (short) 0);
        }
        header(out.array(), (short) VERSION, (short) 0, rawLength, (int) crc.getValue(), rawLength);
        return out.bytes();
    }

    /**
     * The compressed form of an uncompressed snapshot ({@code encode(writer, false)}): the same bytes
     * {@code encode(writer, true)} would have given. A compressed one is returned as it is. Pure, any thread: the guest
     * thread only copies the state out, and the deflate (the slow part: about a second for 37 MB here) runs elsewhere.
     */
    static byte[] compress(byte[] snapshot) {
        ByteBuffer h = ByteBuffer.wrap(snapshot);
        if (snapshot.length < HEADER || (h.getShort(10) & FLAG_DEFLATE) != 0) {
            return snapshot;
        }
        int rawLength = h.getInt(12);
        if (h.getInt(20) != rawLength || snapshot.length != HEADER + rawLength) {
            throw new SnapshotException("uncompressed snapshot of " + snapshot.length + " bytes has a header for " + rawLength);
        }
        return deflated(snapshot, rawLength, h.getInt(16), h.getShort(8), h.getShort(10));
    }

    /** A compressed snapshot of the {@code rawLength} body bytes after the header in {@code src}. */
    private static byte[] deflated(byte[] src, int rawLength, int crc, short version, short flags) {
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        try {
            deflater.setInput(src, HEADER, rawLength);
            deflater.finish();
            StateBuffer out = new StateBuffer(HEADER + Math.max(64, rawLength / 4));
            out.write(new byte[HEADER], 0, HEADER);
            byte[] piece = new byte[1 << 16];
            while (!deflater.finished()) {
                out.write(piece, 0, deflater.deflate(piece));
            }
            header(out.array(), version, (short) (flags | FLAG_DEFLATE), rawLength, crc, out.size() - HEADER);
            return out.bytes();
        } finally {
            deflater.end();
        }
    }

    private static void header(byte[] into, short version, short flags, int rawLength, int crc, int storedLength) {
        ByteBuffer.wrap(into, 0, HEADER).put(MAGIC).putShort(version).putShort(flags)
                .putInt(rawLength).putInt(crc).putInt(storedLength);
    }

    /**
     * A growing byte buffer that lends its array: what state copies are written into, sized ahead, so that tens of MB
     * are neither grown by doubling (every step a new humongous array) nor copied out again.
     */
    static final class StateBuffer extends ByteArrayOutputStream {
        StateBuffer(int size) {
            super(size);
        }

        byte[] array() {
            return buf;
        }

        /** The bytes written, exactly: the array itself when it is exactly full, else a copy. */
        byte[] bytes() {
            return count == buf.length ? buf : Arrays.copyOf(buf, count);
        }
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    static byte[] digest(Writer writer) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            DataOutputStream d = new DataOutputStream(new OutputStream() {
                @Override
                public void write(int b) {
                    sha.update((byte) b);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    sha.update(b, off, len);
                }
            });
            writer.write(d);
            d.flush();
            return sha.digest();
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new IllegalStateException("digest of in-memory state failed", e);
        }
    }

    /**
     * Checks and decodes a snapshot; every malformed input gives a {@link SnapshotException} naming the
     * field, before anything larger than {@code maxRawBytes} is allocated. Returns the SHA-256 of the body when it is
     * of the {@link #VERSION} written today (the digest the machine had when the snapshot was taken), or null for an
     * older version, whose body a machine of this build writes differently.
     */
    static byte[] decode(byte[] snapshot, long maxRawBytes, Reader reader) {
        if (snapshot.length < HEADER) {
            throw new SnapshotException("snapshot is " + snapshot.length + " bytes, shorter than its 24-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(snapshot);
        byte[] magic = new byte[8];
        b.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new SnapshotException("snapshot header mismatch: not a Replicode guest snapshot (bad magic)");
        }
        int version = b.getShort() & 0xFFFF;
        if (version < OLDEST_VERSION || version > VERSION) {
            throw new SnapshotException("snapshot version " + version + " is not supported (this build reads "
                    + OLDEST_VERSION + ".." + VERSION + ")");
        }
        int flags = b.getShort() & 0xFFFF;
        if ((flags & ~FLAG_DEFLATE) != 0) {
            throw new SnapshotException("snapshot has unknown flags 0x" + Integer.toHexString(flags));
        }
        long rawLength = Integer.toUnsignedLong(b.getInt());
        int crc = b.getInt();
        long length = Integer.toUnsignedLong(b.getInt());
        if (rawLength > maxRawBytes) {
            throw new SnapshotException("snapshot body of " + rawLength + " bytes exceeds what this app's limits allow ("
                    + maxRawBytes + ")");
        }
        if (length != snapshot.length - HEADER) {
            throw new SnapshotException("snapshot body is " + (snapshot.length - HEADER) + " bytes, header says " + length
                    + " (truncated or padded)");
        }
        byte[] raw;
        if ((flags & FLAG_DEFLATE) != 0 && rawLength > 1032L * length + 1024) {
            // Deflate expands at most ~1032:1; a larger claim cannot be honest, so refuse before allocating it.
            throw new SnapshotException("snapshot claims " + rawLength + " bytes from " + length
                    + " compressed bytes, more than deflate can produce");
        }
        if ((flags & FLAG_DEFLATE) != 0) {
            raw = inflate(snapshot, HEADER, (int) length, (int) rawLength);
        } else {
            if (length != rawLength) {
                throw new SnapshotException("uncompressed snapshot body length " + length + " != " + rawLength);
            }
            raw = Arrays.copyOfRange(snapshot, HEADER, snapshot.length);
        }
        CRC32C c = new CRC32C();
        c.update(raw);
        if ((int) c.getValue() != crc) {
            throw new SnapshotException("snapshot checksum mismatch: the body is corrupt");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(raw))) {
            reader.read(in, version);
            if (in.available() != 0) {
                throw new SnapshotException("snapshot has " + in.available() + " trailing bytes");
            }
            return version == VERSION ? sha256(raw) : null;
        } catch (EOFException e) {
            throw new SnapshotException("snapshot body ends early");
        } catch (IOException e) {
            throw new SnapshotException("snapshot is inconsistent: " + e.getMessage());
        }
    }

    /** Largest table a snapshot may restore (entries): a bound before anything is grown. */
    private static final int MAX_TABLE_ENTRIES = 10_000_000;

    /** The WebAssembly instance's state: memory, then globals (both 64-bit halves), then every table's entries. */
    static void writeInstance(DataOutputStream d, Instance instance) throws IOException {
        writeMemory(d, instance.memory());
        int globals = instance.globalCount();
        d.writeInt(globals);
        for (int i = 0; i < globals; i++) {
            GlobalInstance g = instance.global(i);
            d.writeLong(g.getValueLow());
            d.writeLong(g.getValueHigh());
        }
        int tables = instance.tableCount();
        d.writeInt(tables);
        for (int t = 0; t < tables; t++) {
            var table = instance.table(t);
            d.writeInt(table.size());
            for (int i = 0; i < table.size(); i++) {
                d.writeInt(table.ref(i));
            }
        }
    }

    /** Restores what {@link #writeInstance} wrote into a fresh instance of the same module. */
    static void readInstance(DataInputStream d, Instance instance, int maxPages) throws IOException {
        readMemory(d, instance.memory(), maxPages);
        int globals = d.readInt();
        if (globals != instance.globalCount()) {
            throw new IOException("snapshot has " + globals + " globals, the module has " + instance.globalCount());
        }
        for (int i = 0; i < globals; i++) {
            GlobalInstance g = instance.global(i);
            g.setValueLow(d.readLong());
            g.setValueHigh(d.readLong());
        }
        int tables = d.readInt();
        if (tables != instance.tableCount()) {
            throw new IOException("snapshot has " + tables + " tables, the module has " + instance.tableCount());
        }
        for (int t = 0; t < tables; t++) {
            var table = instance.table(t);
            int size = d.readInt();
            if (size < 0 || size > MAX_TABLE_ENTRIES) {
                throw new IOException("snapshot table " + t + " has size " + size);
            }
            if (size > table.size() && table.grow(size - table.size(), -1, instance) < 0) {
                throw new IOException("snapshot table " + t + " has size " + size + ", beyond the module's maximum");
            }
            for (int i = 0; i < size; i++) {
                table.setRef(i, d.readInt(), instance);
            }
        }
    }

    static void writeMemory(DataOutputStream d, Memory memory) throws IOException {
        int pages = memory.pages();
        d.writeInt(pages);
        int chunks = pages * (io.replicode.replica.GuestLimits.WASM_PAGE_BYTES / CHUNK);
        for (int i = 0; i < chunks; i++) {
            byte[] chunk = memory.readBytes(i * CHUNK, CHUNK);
            if (!Arrays.equals(chunk, ZERO_CHUNK)) {
                d.writeInt(i);
                d.write(chunk);
            }
        }
        d.writeInt(-1);
    }

    static void readMemory(DataInputStream d, Memory memory, int maxPages) throws IOException {
        int pages = d.readInt();
        if (pages < memory.pages() || pages > maxPages) {
            throw new IOException("snapshot memory of " + pages + " pages is outside " + memory.pages() + ".." + maxPages);
        }
        if (pages > memory.pages() && memory.grow(pages - memory.pages()) < 0) {
            throw new IOException("cannot grow memory to the snapshot's " + pages + " pages");
        }
        int chunks = pages * (io.replicode.replica.GuestLimits.WASM_PAGE_BYTES / CHUNK);
        int next = 0;
        byte[] chunk = new byte[CHUNK];
        int idx = d.readInt();
        while (idx != -1) {
            if (idx < next || idx >= chunks) {
                throw new IOException("snapshot memory chunk " + idx + " out of order or beyond " + chunks);
            }
            for (; next < idx; next++) {
                memory.write(next * CHUNK, ZERO_CHUNK);
            }
            d.readFully(chunk);
            memory.write(idx * CHUNK, chunk);
            next = idx + 1;
            idx = d.readInt();
        }
        for (; next < chunks; next++) {
            memory.write(next * CHUNK, ZERO_CHUNK);
        }
    }

    private static byte[] inflate(byte[] src, int off, int len, int rawLength) {
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(src, off, len);
            byte[] out = new byte[rawLength];
            int n = 0;
            while (n < rawLength) {
                int r = inflater.inflate(out, n, rawLength - n);
                if (r == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                n += r;
            }
            if (n == rawLength && !inflater.finished() && inflater.inflate(new byte[1]) > 0) {
                n++; // more than the header states (or the end of an empty body, which inflating 0 bytes never reads)
            }
            if (n != rawLength || !inflater.finished()) {
                throw new SnapshotException("snapshot body does not inflate to the " + rawLength + " bytes its header states");
            }
            return out;
        } catch (DataFormatException e) {
            throw new SnapshotException("snapshot body is not valid deflate data: " + e.getMessage());
        } finally {
            inflater.end();
        }
    }
}
