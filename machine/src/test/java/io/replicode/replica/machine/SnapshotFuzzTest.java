package io.replicode.replica.machine;

import io.replicode.fuzz.Fuzz;
import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.open;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.nat.IngressEvent;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.wasi.fs.DirectoryNode;
import io.replicode.replica.wasi.fs.FileNode;
import io.replicode.replica.wasi.fs.FsLimits;
import io.replicode.replica.wasi.fs.VirtualFileSystem;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded fuzzing of the snapshot readers: the snapshot codec (header, lengths, checksum, inflate) over a
 * million mutated snapshots, the virtual filesystem's reader over 400,000, and real echo-guest snapshots
 * restored into fresh machines over ten thousand times after structure-aware damage to their body (every
 * field of the machine, memory index, table, network and descriptor state, with the checksum recomputed so
 * that the damage reaches the reader). Nothing may hang, allocate beyond the caller's cap or throw anything
 * but the documented error ({@link SnapshotException}; {@link IOException} for the filesystem), and what
 * restores snapshots again to the same digest. {@code -Dreplicode.fuzz.seed=N} reruns with another seed.
 */
class SnapshotFuzzTest {
    private static final long SEED = Long.getLong("replicode.fuzz.seed", 0x5EED_0003L);
    private static final long MAX_RAW = 1 << 20;

    /**
     * However the state buffer was sized ahead (too small, exactly, too large), a snapshot is the same bytes, and
     * compressing an uncompressed one later gives what compressing at once gives.
     */
    @Test
    void the_size_hint_and_later_compression_do_not_change_a_snapshot() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (int size : new int[] {0, 1, 4095, 70_000, 300_001}) {
            byte[] body = new byte[size];
            for (int i = 0; i < size; i++) {
                body[i] = (byte) (r.nextInt(4) == 0 ? r.nextInt() : i / 7);
            }
            byte[] plain = SnapshotCodec.encode(out -> out.write(body), false);
            byte[] packed = SnapshotCodec.encode(out -> out.write(body), true);
            for (int hint : new int[] {0, size / 2, size, size + 24, 2 * size + 100}) {
                assertArrayEquals(plain, SnapshotCodec.encode(out -> out.write(body), false, hint), "size " + size + ", hint " + hint);
                assertArrayEquals(packed, SnapshotCodec.encode(out -> out.write(body), true, hint), "size " + size + ", hint " + hint);
            }
            assertArrayEquals(packed, SnapshotCodec.compress(plain), "size " + size);
            for (byte[] snapshot : List.of(plain, packed)) {
                byte[][] seen = new byte[1][];
                SnapshotCodec.decode(snapshot, MAX_RAW, (in, version) -> seen[0] = in.readAllBytes());
                assertArrayEquals(body, seen[0], "size " + size);
            }
        }
    }

    /** Header, lengths, flags, checksum and deflate stream: checked before the reader sees a byte. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void snapshot_codec_gives_snapshot_errors_or_round_trips() {
        SplittableRandom r = new SplittableRandom(SEED);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            byte[] body = smallBody(r);
            corpus.add(SnapshotCodec.encode(out -> out.write(body), r.nextBoolean()));
        }
        // The cap is the caller's: a header may claim up to MAX_RAW bytes, and inflating allocates them.
        Fuzz.run("SnapshotCodec.decode", SEED, 1_000_000, corpus, len -> MAX_RAW + 64L * len, input -> {
            byte[][] seen = new byte[1][];
            try {
                SnapshotCodec.decode(input, MAX_RAW, (in, version) -> seen[0] = readSmallBody(in));
            } catch (SnapshotException e) {
                assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
                return;
            }
            boolean compressed = (input[11] & 1) != 0;
            byte[] again = SnapshotCodec.encode(out -> out.write(seen[0]), compressed);
            if (!compressed) {
                // An older version the reader accepts is written back as the current one.
                byte[] expected = input.clone();
                ByteBuffer.wrap(expected).putShort(8, (short) SnapshotCodec.VERSION);
                assertArrayEquals(expected, again, "re-encoding gives the decoded bytes");
            }
            assertEquals(ByteBuffer.wrap(input, 16, 4).getInt(), ByteBuffer.wrap(again, 16, 4).getInt(), "checksum");
        });
    }

    /** The filesystem part of a snapshot, read on its own: damage is an IOException, anything read is canonical. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void filesystem_reader_gives_io_errors_or_reads_a_canonical_tree() throws IOException {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        List<byte[]> corpus = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            corpus.add(fsBytes(randomFs(r)));
        }
        // A file's content arrives in chunks of up to 64 KiB, each allocated before its bytes are read.
        Fuzz.run("VirtualFileSystem.readFrom", SEED + 1, 400_000, corpus, len -> 80_000 + 64L * len, input -> {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(input));
            VirtualFileSystem fs;
            try {
                fs = VirtualFileSystem.readFrom(in, () -> 7);
            } catch (IOException e) {
                assertTrue(e.getMessage().startsWith("virtual filesystem snapshot rejected at byte"), e.getMessage());
                return;
            }
            assertTrue(fs.usedBytes() <= fs.limits().maxBytes() && fs.usedInodes() <= fs.limits().maxInodes());
            byte[] consumed = Arrays.copyOf(input, input.length - in.available());
            assertArrayEquals(consumed, fsBytes(fs), "what was read writes back to the same bytes");
        });
    }

    /**
     * Real snapshots of the echo guest (parked with a buffered connection), damaged field by field and region
     * by region, then re-checksummed and restored into fresh machines.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void damaged_guest_snapshots_are_refused_or_restore_consistently() throws IOException {
        restoreRounds(Engine.INTERPRETER, SEED + 2, Integer.getInteger("replicode.fuzz.restoreRounds", 12_000));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void damaged_guest_snapshots_are_refused_by_compiled_machines_too() throws IOException {
        restoreRounds(Engine.COMPILER, SEED + 3, 2_000);
    }

    /**
     * The restore invariant: a restored machine's digest is the snapshot's. This snapshot is well formed and passes
     * every structural check (its CRC is right), but names one all-zero memory chunk that the writer would leave out,
     * so the state it restores re-encodes to other bytes than the snapshot holds. Restore refuses it rather than run a
     * replica whose digests can no longer be compared with the snapshot it came from.
     */
    @Test
    void a_snapshot_that_does_not_restore_to_its_own_digest_is_refused() throws IOException {
        GuestModule module = Guests.module("echo_server", Engine.INTERPRETER);
        byte[] snapshot;
        try (GuestMachine a = GuestMachine.create(module, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(open(1, "echo"), data(1, "hello")));
            snapshot = a.snapshot();
        }
        byte[][] raw = new byte[1][];
        SnapshotCodec.decode(snapshot, Long.MAX_VALUE, (in, version) -> raw[0] = in.readAllBytes());
        Layout layout = Layout.of(raw[0]);
        ByteBuffer b = ByteBuffer.wrap(layout.body);
        int insertAt = layout.memoryContentStart;
        int zeroChunk = 0;
        while (b.getInt(insertAt) == zeroChunk) { // chunks are listed in increasing order: find the first one left out
            insertAt += 4 + 4096;
            zeroChunk++;
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(layout.body, 0, insertAt);
        body.write(ByteBuffer.allocate(4).putInt(zeroChunk).array());
        body.write(new byte[4096]);
        body.write(layout.body, insertAt, layout.body.length - insertAt);
        byte[] padded = SnapshotCodec.encode(out -> out.write(body.toByteArray()), true);

        try (GuestMachine b2 = GuestMachine.create(module, config("echo", "echo"))) {
            SnapshotException e = org.junit.jupiter.api.Assertions.assertThrows(SnapshotException.class, () -> b2.restore(padded));
            assertTrue(e.getMessage().contains("at frame 2 restores to state digest"), e.getMessage());
            assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
        }
        try (GuestMachine c = GuestMachine.create(module, config("echo", "echo"))) {
            c.restore(snapshot);
            assertEquals(2, c.lastSeq(), "the snapshot as written restores");
        }
    }

    /** A body written today (format 5, no outbound connection) as format 4 wrote it, to build older snapshots from. */
    static byte[] version4Body(byte[] body) {
        try {
            return Layout.of(body).version4();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void restoreRounds(Engine engine, long seed, int rounds) throws IOException {
        GuestModule module = Guests.module("echo_server", engine);
        byte[] snapshot;
        try (GuestMachine a = GuestMachine.create(module, config("echo", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            a.apply(s.next(new IngressEvent.Batch(3, 1), open(1, "echo"), data(1, "buffered bytes")));
            // Two gateways in the batch table, and a duplicate batch still open (skipping) at the cut.
            a.apply(s.next(new IngressEvent.Batch(5, 2), open(2, "echo"), new IngressEvent.Batch(3, 1)));
            snapshot = a.snapshot();
        }
        byte[][] raw = new byte[1][];
        SnapshotCodec.decode(snapshot, Long.MAX_VALUE, (in, version) -> raw[0] = in.readAllBytes());
        Layout layout = Layout.of(raw[0]);
        SplittableRandom r = new SplittableRandom(seed);
        List<byte[]> sweep = new ArrayList<>();
        List<String> swept = new ArrayList<>();
        for (int[] field : layout.fields) {
            for (long v : Fuzz.FIELDS) {
                byte[] b = layout.body.clone();
                Fuzz.put(b, field[0], field[1], v);
                sweep.add(b);
                swept.add("body field at byte " + field[0] + " (" + field[1] + " bytes) set to " + v);
            }
        }
        int restored = 0;
        for (int round = 0; round < rounds; round++) {
            byte[] input;
            String what;
            if (round < sweep.size()) {
                byte[] body = sweep.get(round);
                input = SnapshotCodec.encode(out -> out.write(body), true);
                what = swept.get(round);
            } else {
                int kind = r.nextInt(10);
                if (kind == 0) {
                    input = Fuzz.mutate(snapshot, snapshot, r);
                    what = "raw snapshot mutated";
                } else {
                    byte[] body = kind < 6 ? layout.mutateFields(r) : layout.mutateRegion(r);
                    input = SnapshotCodec.encode(out -> out.write(body), r.nextBoolean());
                    what = kind < 6 ? "fields mutated" : "region mutated";
                }
            }
            try (GuestMachine b = GuestMachine.create(module, config("echo", "echo"))) {
                try {
                    b.restore(input);
                } catch (SnapshotException e) {
                    assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
                    continue;
                }
                restored++;
                try (GuestMachine c = GuestMachine.create(module, config("echo", "echo"))) {
                    c.restore(b.snapshot());
                    assertArrayEquals(b.digest(), c.digest(), "a restored state snapshots to the same digest");
                }
            } catch (Throwable t) {
                throw new AssertionError(engine + " restore round " + round + " of seed " + seed + " (" + what
                        + ") failed: " + t, t);
            }
        }
        assertTrue(restored > rounds / 50 && restored < rounds - rounds / 50, "restored " + restored + " of " + rounds);
        System.out.printf("GuestMachine.restore (%s): %,d damaged snapshots (%,d fields swept), %,d restored%n",
                engine, rounds, layout.fields.size(), restored);
    }

    /**
     * A snapshot body (GuestMachine.writeState) with the offset and width of each fixed-size field, and where
     * its memory chunks and its filesystem lie: lets mutations aim at structure rather than at guest bytes.
     */
    private record Layout(byte[] body, List<int[]> fields, int memoryContentStart, int memoryEnd, int fsStart, int fsEnd,
                          List<int[]> version5Only) {
        static Layout of(byte[] body) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(body);
            List<int[]> fields = new ArrayList<>();
            List<int[]> v5 = new ArrayList<>();
            utf(b, fields); // module sha256
            utf(b, fields); // app
            field(b, fields, 1); // machine state
            utf(b, fields); // stop reason
            field(b, fields, 8); // last seq
            field(b, fields, 4); // asyncify buffer start
            field(b, fields, 4); // and end
            field(b, fields, 4); // memory pages
            int memoryContentStart = b.position();
            while ((int) field(b, fields, 4) != -1) { // chunk index
                b.position(b.position() + 4096);
            }
            int memoryEnd = b.position();
            long globals = field(b, fields, 4);
            for (int i = 0; i < 2 * globals; i++) {
                field(b, fields, 8);
            }
            long tables = field(b, fields, 4);
            for (int t = 0; t < tables; t++) {
                long size = field(b, fields, 4);
                for (int i = 0; i < size; i++) {
                    field(b, fields, 4);
                }
            }
            for (int i = 0; i < 5; i++) { // clock, fuel, wait, timer, dropped log bytes
                field(b, fields, 8);
            }
            b.position(b.position() + 32); // random key
            field(b, fields, 8); // random counter
            for (int i = 0; i < 3; i++) { // network counters
                field(b, fields, 8);
            }
            long connections = field(b, fields, 4);
            for (int i = 0; i < connections; i++) {
                field(b, fields, 8);
                v5.add(new int[] {b.position(), 1});
                if (field(b, fields, 1) != 0) { // outbound: epoch, connect outcome, target, resolved address
                    field(b, fields, 8);
                    field(b, fields, 4);
                    utf(b, fields);
                    utf(b, fields);
                } else {
                    utf(b, fields);
                }
                for (int k = 0; k < 3; k++) {
                    field(b, fields, 8);
                }
                v5.add(new int[] {b.position(), 8});
                field(b, fields, 8); // bytes of a whole-buffer send done
                field(b, fields, 1);
                long buffered = field(b, fields, 4);
                b.position(b.position() + (int) buffered);
            }
            long listeners = field(b, fields, 4);
            for (int i = 0; i < listeners; i++) {
                utf(b, fields);
                v5.add(new int[] {b.position(), 1});
                field(b, fields, 1); // claimed
                long pending = field(b, fields, 4);
                for (int k = 0; k < pending; k++) {
                    field(b, fields, 8);
                }
            }
            v5.add(new int[] {b.position(), 16});
            field(b, fields, 8); // refused connects
            field(b, fields, 8); // outbound connections made
            int fsStart = b.position();
            DataInputStream fs = new DataInputStream(new ByteArrayInputStream(body, fsStart, body.length - fsStart));
            VirtualFileSystem.readFrom(fs, () -> 0);
            b.position(body.length - fs.available());
            int fsEnd = b.position();
            long fds = field(b, fields, 4);
            for (int i = 0; i < fds; i++) {
                field(b, fields, 4); // fd
                field(b, fields, 4); // flags
                field(b, fields, 8); // rights
                field(b, fields, 8); // inheriting rights
                long kind = field(b, fields, 1);
                switch ((int) kind) {
                    case 0 -> field(b, fields, 1);
                    case 1 -> utf(b, fields);
                    case 2 -> field(b, fields, 8);
                    case 3 -> {
                        field(b, fields, 8);
                        utf(b, fields);
                    }
                    case 5 -> field(b, fields, 4);
                    case 6 -> {
                        utf(b, fields);
                        field(b, fields, 4);
                    }
                    default -> {
                        field(b, fields, 8);
                        field(b, fields, 8);
                    }
                }
            }
            long gateways = field(b, fields, 4); // duplicate batches: table
            for (int i = 0; i < gateways; i++) {
                field(b, fields, 4);
                field(b, fields, 8);
            }
            field(b, fields, 1); // skipping
            field(b, fields, 8); // duplicate batches dropped
            field(b, fields, 8); // events dropped
            for (int i = 0; i < 4; i++) { // faults, restarts, rollbacks, connections cut
                field(b, fields, 8);
            }
            utf(b, fields); // last fault
            long recent = field(b, fields, 4); // recent restart faults
            for (int i = 0; i < recent; i++) {
                field(b, fields, 8);
            }
            if (field(b, fields, 1) != 0) { // an upgrade in progress: new module, frames of grace left and given
                utf(b, fields);
                field(b, fields, 4);
                field(b, fields, 4);
            }
            assertEquals(body.length, b.position(), "the layout accounts for every byte of the body");
            return new Layout(body, fields, memoryContentStart, memoryEnd, fsStart, fsEnd, v5);
        }

        /** The body as snapshot format 4 wrote it: without the network's version-5 fields (no outbound connections). */
        byte[] version4() {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            int at = 0;
            for (int[] r : version5Only) {
                out.write(body, at, r[0] - at);
                at = r[0] + r[1];
            }
            out.write(body, at, body.length - at);
            return out.toByteArray();
        }

        private static long field(ByteBuffer b, List<int[]> fields, int width) {
            fields.add(new int[] {b.position(), width});
            return switch (width) {
                case 1 -> b.get();
                case 2 -> b.getShort() & 0xFFFF;
                case 4 -> b.getInt();
                default -> b.getLong();
            };
        }

        private static void utf(ByteBuffer b, List<int[]> fields) {
            long len = field(b, fields, 2);
            b.position(b.position() + (int) len);
        }

        /** One to three fields set to a boundary value, a neighbour of their own value, or random bits. */
        byte[] mutateFields(SplittableRandom r) {
            byte[] b = body.clone();
            int n = 1 + (r.nextInt(4) == 0 ? r.nextInt(3) : 0);
            for (int i = 0; i < n; i++) {
                int[] f = fields.get(r.nextInt(fields.size()));
                long v = switch (r.nextInt(3)) {
                    case 0 -> Fuzz.FIELDS[r.nextInt(Fuzz.FIELDS.length)];
                    case 1 -> Fuzz.get(b, f[0], f[1]) + r.nextInt(33) - 16;
                    default -> r.nextLong();
                };
                Fuzz.put(b, f[0], f[1], v);
            }
            return b;
        }

        /** Generic mutations inside one region: machine header, memory index, host state, filesystem, descriptors. */
        byte[] mutateRegion(SplittableRandom r) {
            int[][] regions = {{0, memoryContentStart}, {memoryEnd, fsStart}, {fsStart, fsEnd}, {fsEnd, body.length},
                    {0, body.length}};
            int[] region = regions[r.nextInt(regions.length)];
            byte[] part = Arrays.copyOfRange(body, region[0], region[1]);
            byte[] mutated = Fuzz.mutate(part, part, r);
            byte[] out = new byte[body.length - part.length + mutated.length];
            System.arraycopy(body, 0, out, 0, region[0]);
            System.arraycopy(mutated, 0, out, region[0], mutated.length);
            System.arraycopy(body, region[1], out, region[0] + mutated.length, body.length - region[1]);
            return out;
        }
    }

    private static byte[] smallBody(SplittableRandom r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(r.nextBoolean() ? "echo" : "é".repeat(r.nextInt(20)));
            int n = r.nextInt(r.nextBoolean() ? 4 : 40);
            out.writeInt(n);
            for (int i = 0; i < n; i++) {
                out.writeLong(r.nextInt(4) == 0 ? 0 : r.nextLong());
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bytes.toByteArray();
    }

    /** Reads what {@link #smallBody} writes, as a machine reads its state: counts checked before use. */
    private static byte[] readSmallBody(DataInputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeUTF(in.readUTF());
        int n = in.readInt();
        if (n < 0 || n > 1000) {
            throw new IOException("count " + n);
        }
        out.writeInt(n);
        for (int i = 0; i < n; i++) {
            out.writeLong(in.readLong());
        }
        return bytes.toByteArray();
    }

    /** A filesystem with nested directories, files, a hard link, a symlink and an open unlinked file. */
    private static VirtualFileSystem randomFs(SplittableRandom r) {
        VirtualFileSystem fs = new VirtualFileSystem(List.of("/data", "/tmp"), new FsLimits(1 << 20, 1000, 1 << 16), () -> 5);
        DirectoryNode data = fs.preopen("/data");
        int dirs = r.nextInt(4);
        String path = "";
        for (int i = 0; i < dirs; i++) {
            path += (i == 0 ? "" : "/") + "d" + i;
            fs.createDirectory(data, path);
        }
        String dir = path.isEmpty() ? "" : path + "/";
        int files = 1 + r.nextInt(4);
        for (int i = 0; i < files; i++) {
            FileNode f = (FileNode) fs.open(data, 0, dir + "f" + i + (i % 2 == 0 ? "" : "-ü"), VirtualFileSystem.OFLAG_CREAT, true);
            byte[] content = new byte[r.nextInt(r.nextBoolean() ? 8 : 200)];
            r.nextBytes(content);
            fs.write(f, 0, content, 0, content.length);
            fs.close(f);
        }
        if (r.nextBoolean()) {
            fs.link(data, 0, dir + "f0", data, "hard");
        }
        if (r.nextBoolean()) {
            fs.symlink(dir.isEmpty() ? "f0" : dir + "f0", data, "soft");
        }
        if (r.nextBoolean()) {
            DirectoryNode tmp = fs.preopen("/tmp");
            FileNode scratch = (FileNode) fs.open(tmp, 0, "scratch", VirtualFileSystem.OFLAG_CREAT, true);
            fs.write(scratch, 0, "temp".getBytes(StandardCharsets.UTF_8), 0, 4);
            fs.unlinkFile(tmp, "scratch");
        }
        return fs;
    }

    private static byte[] fsBytes(VirtualFileSystem fs) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            fs.writeTo(out);
        }
        return bytes.toByteArray();
    }

}
