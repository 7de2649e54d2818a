package io.replicode.replica.wasi.fs;

import static io.replicode.replica.wasi.fs.FsTestSupport.CREAT;
import static io.replicode.replica.wasi.fs.FsTestSupport.DIRECTORY;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertInvariants;
import static io.replicode.replica.wasi.fs.FsTestSupport.createFile;
import static io.replicode.replica.wasi.fs.FsTestSupport.readAll;
import static io.replicode.replica.wasi.fs.FsTestSupport.readPath;
import static io.replicode.replica.wasi.fs.FsTestSupport.restore;
import static io.replicode.replica.wasi.fs.FsTestSupport.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FsSnapshotCodecTest {
    private final FsTestSupport.Clock clock = new FsTestSupport.Clock();

    /** A tree with every kind of node, a hard link, and an unlinked file kept open. */
    private VirtualFileSystem sample() {
        VirtualFileSystem fs = FsTestSupport.newFs(clock);
        DirectoryNode data = fs.preopen("/data");
        fs.createDirectory(data, "images");
        createFile(fs, data, "images/cat.ppm", "P6 1 1 255 xyz");
        fs.link(data, 0, "images/cat.ppm", data, "latest");
        fs.symlink("images", data, "img");
        FileNode scratch = (FileNode) fs.open(fs.preopen("/tmp"), 0, "scratch", CREAT, true);
        fs.write(scratch, 0, "temp".getBytes(StandardCharsets.UTF_8), 0, 4);
        fs.unlinkFile(fs.preopen("/tmp"), "scratch");
        return fs;
    }

    @Test
    void snapshot_roundtrip_restores_the_same_state() throws IOException {
        VirtualFileSystem fs = sample();
        byte[] bytes = snapshot(fs);
        VirtualFileSystem copy = restore(bytes, clock);
        assertArrayEquals(bytes, snapshot(copy));
        assertInvariants(copy);
        DirectoryNode data = copy.preopen("/data");
        assertEquals("P6 1 1 255 xyz", readPath(copy, data, "img/cat.ppm"));
        assertEquals(fs.stat(fs.preopen("/data"), 0, "latest"), copy.stat(data, 0, "latest"));
        assertEquals(2, copy.stat(data, 0, "latest").nlink());
        assertEquals(fs.usedBytes(), copy.usedBytes());
        assertEquals(fs.usedInodes(), copy.usedInodes());
        // New inodes continue where the original left off.
        assertEquals(fs.nextIno(), createFile(copy, data, "new", "").ino());
    }

    @Test
    void unlinked_open_file_survives_a_snapshot_and_is_found_by_inode() throws IOException {
        VirtualFileSystem fs = sample();
        long scratchIno = fs.nextIno() - 1;
        VirtualFileSystem copy = restore(snapshot(fs), clock);
        FileNode scratch = (FileNode) copy.nodeByIno(scratchIno).orElseThrow();
        assertFalse(scratch.isLinked());
        assertEquals("temp", readAll(copy, scratch));
        long before = copy.usedBytes();
        copy.close(scratch); // the handle count came with the snapshot
        assertEquals(before - 4, copy.usedBytes());
        assertTrue(copy.nodeByIno(scratchIno).isEmpty());
        assertInvariants(copy);
    }

    @Test
    void snapshot_roundtrip_is_canonical() throws IOException {
        // Both reach the same tree, inode numbers and times at one frozen frame time, by different
        // histories: insertion order, overwrites, growth and shrinking, renames.
        clock.nowNs = 42;
        VirtualFileSystem direct = new VirtualFileSystem(List.of("/data"), FsLimits.defaults(), clock);
        DirectoryNode d1 = direct.preopen("/data");
        direct.createDirectory(d1, "b");     // ino 2
        createFile(direct, d1, "a", "hello"); // ino 3
        direct.createDirectory(d1, "c");     // ino 4

        VirtualFileSystem winding = new VirtualFileSystem(List.of("/data"), FsLimits.defaults(), clock);
        DirectoryNode d2 = winding.preopen("/data");
        winding.createDirectory(d2, "tmpdir");                  // ino 2, renamed to b below
        FileNode f = (FileNode) winding.open(d2, 0, "z", CREAT, true); // ino 3
        winding.write(f, 0, new byte[5000], 0, 5000);           // grows the array far beyond 5 bytes
        winding.setSize(f, 0);
        winding.write(f, 3, "lo".getBytes(StandardCharsets.UTF_8), 0, 2);
        winding.write(f, 0, "hel".getBytes(StandardCharsets.UTF_8), 0, 3);
        winding.close(f);
        winding.createDirectory(d2, "c");                       // ino 4
        winding.rename(d2, "z", d2, "a");
        winding.rename(d2, "tmpdir", d2, "b");

        assertArrayEquals(snapshot(direct), snapshot(winding));
    }

    @Test
    void deep_tree_round_trips_without_recursion() throws IOException {
        VirtualFileSystem fs = new VirtualFileSystem(List.of("/data"), new FsLimits(1 << 20, 20_000, 1 << 20), clock);
        DirectoryNode dir = fs.preopen("/data");
        for (int i = 0; i < 10_000; i++) {
            fs.createDirectory(dir, "d");
            DirectoryNode next = (DirectoryNode) fs.open(dir, 0, "d", DIRECTORY, false);
            if (i > 0) {
                fs.close(dir);
            }
            dir = next;
        }
        fs.close(dir);
        byte[] bytes = snapshot(fs);
        assertArrayEquals(bytes, snapshot(restore(bytes, clock)));
    }

    @Test
    void truncated_snapshot_rejected_with_clear_error() throws IOException {
        byte[] bytes = snapshot(sample());
        for (int cut : new int[] {0, 3, 10, bytes.length / 2, bytes.length - 1}) {
            IOException e = assertThrows(IOException.class, () -> restore(Arrays.copyOf(bytes, cut), clock));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
            assertTrue(e.getMessage().contains("at byte " + cut), e.getMessage());
        }
    }

    @Test
    void corrupted_magic_rejected() throws IOException {
        byte[] bytes = snapshot(sample());
        bytes[0] ^= 1;
        IOException e = assertThrows(IOException.class, () -> restore(bytes, clock));
        assertTrue(e.getMessage().contains("bad magic"), e.getMessage());
    }

    @Test
    void every_single_byte_corruption_is_rejected_or_restores_a_consistent_filesystem() throws IOException {
        byte[] bytes = snapshot(sample());
        for (int i = 0; i < bytes.length; i++) {
            for (int bit : new int[] {0x01, 0x80}) {
                byte[] bad = bytes.clone();
                bad[i] ^= (byte) bit;
                try {
                    // Content and timestamp bytes may change without breaking the structure.
                    assertInvariants(restore(bad, clock));
                } catch (IOException expected) {
                    assertTrue(expected.getMessage().startsWith("virtual filesystem snapshot rejected at byte"),
                            expected.getMessage());
                }
            }
        }
    }

    @Test
    void huge_claimed_file_size_fails_on_missing_bytes_not_memory() throws IOException {
        // A stream that claims the largest file and the largest quota, then ends.
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(raw);
        out.writeInt(FsSnapshotCodec.MAGIC);
        out.writeShort(FsSnapshotCodec.VERSION);
        out.writeLong(Long.MAX_VALUE);
        out.writeInt(Integer.MAX_VALUE);
        out.writeLong(FsLimits.MAX_FILE_SIZE);
        out.writeLong(10);               // nextIno
        out.writeInt(1);                 // one preopen
        out.writeShort(1);
        out.write('/');
        out.writeByte(1);                // DIR
        out.writeLong(1);
        out.writeInt(2);
        out.writeInt(0);
        out.writeLong(0);
        out.writeLong(0);
        out.writeLong(0);
        out.writeInt(1);                 // one entry
        out.writeShort(1);
        out.write('f');
        out.writeByte(2);                // FILE
        out.writeLong(2);
        out.writeInt(1);
        out.writeInt(0);
        out.writeLong(0);
        out.writeLong(0);
        out.writeLong(0);
        out.writeInt((int) FsLimits.MAX_FILE_SIZE);
        out.write(new byte[100]);        // ...but only 100 bytes follow
        IOException e = assertThrows(IOException.class, () -> restore(raw.toByteArray(), clock));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void link_count_that_disagrees_with_the_tree_is_rejected() throws IOException {
        VirtualFileSystem fs = new VirtualFileSystem(List.of("/data"), FsLimits.defaults(), clock);
        createFile(fs, fs.preopen("/data"), "f", "");
        byte[] bytes = snapshot(fs);
        // The file's header follows: magic 4, version 2, limits 20, nextIno 8, count 4, name 2+5,
        // root tag 1 + header 40 + count 4, entry name 2+1, tag 1, ino 8: then its nlink.
        int nlinkAt = 4 + 2 + 20 + 8 + 4 + 7 + 1 + 40 + 4 + 3 + 1 + 8;
        assertEquals(1, ByteBuffer.wrap(bytes, nlinkAt, 4).getInt());
        ByteBuffer.wrap(bytes).putInt(nlinkAt, 2);
        IOException e = assertThrows(IOException.class, () -> restore(bytes, clock));
        assertTrue(e.getMessage().contains("declares nlink 2 but the tree gives 1"), e.getMessage());
    }

    @Test
    void reader_consumes_exactly_the_snapshot() throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(raw);
        sample().writeTo(out);
        out.writeUTF("next section");
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(raw.toByteArray()));
        VirtualFileSystem.readFrom(in, clock);
        assertEquals("next section", in.readUTF());
    }
}
