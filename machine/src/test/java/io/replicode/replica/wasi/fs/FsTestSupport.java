package io.replicode.replica.wasi.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.wasi.WasiException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.function.Executable;

/** Helpers shared by the filesystem tests: a steppable clock, errno assertions, snapshots, invariants. */
final class FsTestSupport {
    static final int CREAT = VirtualFileSystem.OFLAG_CREAT;
    static final int DIRECTORY = VirtualFileSystem.OFLAG_DIRECTORY;
    static final int EXCL = VirtualFileSystem.OFLAG_EXCL;
    static final int TRUNC = VirtualFileSystem.OFLAG_TRUNC;
    static final int FOLLOW = VirtualFileSystem.LOOKUP_SYMLINK_FOLLOW;

    private FsTestSupport() {}

    /** Frame time as a test sets it. */
    static final class Clock implements LongSupplier {
        long nowNs = 1_000;

        @Override
        public long getAsLong() {
            return nowNs;
        }

        long advance(long ns) {
            nowNs += ns;
            return nowNs;
        }
    }

    static VirtualFileSystem newFs(Clock clock) {
        return new VirtualFileSystem(List.of("/data", "/tmp"), new FsLimits(1 << 20, 1000, 1 << 16), clock);
    }

    static void assertErrno(int errno, Executable call) {
        WasiException e = assertThrows(WasiException.class, call);
        assertEquals(errno, e.errno(), () -> "errno of: " + e.getMessage());
    }

    static FileNode createFile(VirtualFileSystem fs, DirectoryNode dir, String path, String content) {
        FileNode file = (FileNode) fs.open(dir, 0, path, CREAT | EXCL, true);
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        fs.write(file, 0, bytes, 0, bytes.length);
        fs.close(file);
        return file;
    }

    static String readAll(VirtualFileSystem fs, FileNode file) {
        byte[] buf = new byte[(int) file.size()];
        int n = fs.read(file, 0, buf, 0, buf.length);
        return new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    static String readPath(VirtualFileSystem fs, DirectoryNode dir, String path) {
        FileNode file = (FileNode) fs.open(dir, FOLLOW, path, 0, false);
        try {
            return readAll(fs, file);
        } finally {
            fs.close(file);
        }
    }

    static byte[] snapshot(VirtualFileSystem fs) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            fs.writeTo(out);
        }
        return bytes.toByteArray();
    }

    static VirtualFileSystem restore(byte[] snapshot, LongSupplier clock) throws IOException {
        return VirtualFileSystem.readFrom(new DataInputStream(new ByteArrayInputStream(snapshot)), clock);
    }

    /**
     * Checks the structure the filesystem promises: parent pointers, link counts, the byte and inode totals,
     * and that exactly the reachable and the open nodes are live.
     */
    static void assertInvariants(VirtualFileSystem fs) {
        Map<Node, Integer> names = new IdentityHashMap<>();
        Set<Node> reachable = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Preopen preopen : fs.preopens()) {
            assertTrue(preopen.root().parent == null, "a preopen root has no parent");
            collect(preopen.root(), names, reachable);
        }
        long bytes = 0;
        for (Node node : fs.liveNodes().values()) {
            assertTrue(!node.released, "live node " + node.ino + " marked released");
            assertTrue(reachable.contains(node) || (node.nlink == 0 && node.openCount > 0),
                    "live node " + node.ino + " is neither reachable nor open");
            if (node instanceof FileNode file) {
                bytes += file.size();
            }
        }
        for (Node node : reachable) {
            assertTrue(fs.liveNodes().get(node.ino) == node, "reachable node " + node.ino + " is not live");
            if (node instanceof DirectoryNode dir) {
                long subdirs = dir.children.values().stream().filter(c -> c instanceof DirectoryNode).count();
                assertEquals(2 + subdirs, dir.nlink, "nlink of directory " + dir.ino);
            } else {
                assertEquals(names.getOrDefault(node, 0), node.nlink, "nlink of inode " + node.ino);
            }
        }
        assertEquals(bytes, fs.usedBytes(), "usedBytes is the sum of live file sizes");
        assertEquals(fs.liveNodes().size(), fs.usedInodes());
        assertTrue(fs.usedBytes() <= fs.limits().maxBytes(), "within the byte quota");
        assertTrue(fs.usedInodes() <= fs.limits().maxInodes(), "within the inode limit");
    }

    private static void collect(DirectoryNode dir, Map<Node, Integer> names, Set<Node> reachable) {
        reachable.add(dir);
        for (Node child : dir.children.values()) {
            if (child instanceof DirectoryNode sub) {
                assertTrue(sub.parent == dir, "parent pointer of directory " + sub.ino);
                collect(sub, names, reachable);
            } else {
                names.merge(child, 1, Integer::sum);
                reachable.add(child);
            }
        }
    }
}
