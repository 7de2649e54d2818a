package io.replicode.replica.wasi.fs;

import static io.replicode.replica.wasi.fs.FsTestSupport.CREAT;
import static io.replicode.replica.wasi.fs.FsTestSupport.EXCL;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertInvariants;
import static io.replicode.replica.wasi.fs.FsTestSupport.restore;
import static io.replicode.replica.wasi.fs.FsTestSupport.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.wasi.Errno;
import io.replicode.replica.wasi.WasiException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Drives the filesystem with seeded random operations and compares every outcome (errno or success) and
 * the whole resulting state with a plain model: a map from path to node. Small limits make the quota
 * paths common. A failure names the seed and step, which reproduce it.
 */
class RandomOperationsTest {
    private static final List<String> NAMES = List.of("a", "b", "c");
    private static final List<String> PATHS = new ArrayList<>();
    private static final long MAX_BYTES = 64;
    private static final int MAX_INODES = 10;
    private static final long MAX_FILE_SIZE = 48;

    static {
        PATHS.addAll(NAMES);
        for (String dir : NAMES) {
            for (String name : NAMES) {
                PATHS.add(dir + "/" + name);
            }
        }
    }

    /** A model node; hard links are two paths mapping to the same object. */
    private static final class MNode {
        final boolean dir;
        byte[] content = new byte[0];

        MNode(boolean dir) {
            this.dir = dir;
        }
    }

    private record Held(FileNode handle, MNode model) {}

    @Test
    void random_operations_match_the_model() throws IOException {
        for (long seed = 1; seed <= 40; seed++) {
            new Run(seed).steps(400);
        }
    }

    @Test
    void same_seed_gives_identical_snapshots() throws IOException {
        assertArrayEquals(new Run(7).steps(300), new Run(7).steps(300));
    }

    private static final class Run {
        final long seed;
        final Random random;
        final FsTestSupport.Clock clock = new FsTestSupport.Clock();
        VirtualFileSystem fs;
        final TreeMap<String, MNode> model = new TreeMap<>();
        final List<Held> held = new ArrayList<>();
        int step;
        String op;

        Run(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
            this.fs = new VirtualFileSystem(List.of("/data"), new FsLimits(MAX_BYTES, MAX_INODES, MAX_FILE_SIZE),
                    clock);
        }

        DirectoryNode root() {
            return fs.preopen("/data");
        }

        byte[] steps(int count) throws IOException {
            for (step = 0; step < count; step++) {
                clock.advance(random.nextInt(1000));
                one();
                compareWithModel();
                if (step % 50 == 49) {
                    roundTrip();
                }
            }
            return snapshot(fs);
        }

        private void one() {
            String p = pick();
            String q = pick();
            switch (random.nextInt(11)) {
                case 0 -> check("mkdir " + p, expectCreate(p), () -> fs.createDirectory(root(), p),
                        () -> model.put(p, new MNode(true)));
                case 1 -> check("create " + p, expectCreate(p), () -> {
                    fs.close(fs.open(root(), 0, p, CREAT | EXCL, true));
                }, () -> model.put(p, new MNode(false)));
                case 2 -> {
                    long offset = random.nextInt(56);
                    byte[] bytes = randomBytes(random.nextInt(20));
                    check("write " + p + " @" + offset + " +" + bytes.length, expectWrite(p, offset, bytes.length),
                            () -> {
                                FileNode f = (FileNode) fs.open(root(), 0, p, 0, true);
                                try {
                                    fs.write(f, offset, bytes, 0, bytes.length);
                                } finally {
                                    fs.close(f);
                                }
                            }, () -> model.get(p).content = written(model.get(p).content, offset, bytes));
                }
                case 3 -> {
                    long size = random.nextInt(56);
                    check("truncate " + p + " to " + size, expectResize(p, size), () -> {
                        FileNode f = (FileNode) fs.open(root(), 0, p, 0, true);
                        try {
                            fs.setSize(f, size);
                        } finally {
                            fs.close(f);
                        }
                    }, () -> model.get(p).content = Arrays.copyOf(model.get(p).content, (int) size));
                }
                case 4 -> check("unlink " + p, expectUnlink(p), () -> fs.unlinkFile(root(), p), () -> model.remove(p));
                case 5 -> check("rmdir " + p, expectRmdir(p), () -> fs.removeDirectory(root(), p), () -> model.remove(p));
                case 6, 7 -> check("rename " + p + " " + q, expectRename(p, q), () -> fs.rename(root(), p, root(), q),
                        () -> modelRename(p, q));
                case 8 -> check("link " + p + " " + q, expectLink(p, q), () -> fs.link(root(), 0, p, root(), q),
                        () -> model.put(q, model.get(p)));
                case 9 -> holdOrRelease(p);
                default -> writeHeld();
            }
        }

        private String pick() {
            return PATHS.get(random.nextInt(PATHS.size()));
        }

        private byte[] randomBytes(int n) {
            byte[] b = new byte[n];
            random.nextBytes(b);
            return b;
        }

        private void check(String what, int expected, Runnable real, Runnable modelEffect) {
            op = what;
            int actual = 0;
            try {
                real.run();
            } catch (WasiException e) {
                actual = e.errno();
            }
            assertEquals(expected, actual, this::where);
            if (expected == 0) {
                modelEffect.run();
            }
        }

        private String where() {
            return "seed " + seed + " step " + step + ": " + op;
        }

        // ---- What the model expects ----------------------------------------------------------------

        /** 0 if every directory above {@code p} exists, else the errno resolution gives. */
        private int parentErrno(String p) {
            int slash = p.lastIndexOf('/');
            if (slash < 0) {
                return 0;
            }
            MNode parent = model.get(p.substring(0, slash));
            if (parent == null) {
                return Errno.NOENT;
            }
            return parent.dir ? 0 : Errno.NOTDIR;
        }

        private int expectCreate(String p) {
            int e = parentErrno(p);
            if (e != 0) {
                return e;
            }
            if (model.containsKey(p)) {
                return Errno.EXIST;
            }
            int inodes = liveModelNodes().size() + 1; // + the preopen root
            return inodes >= MAX_INODES ? Errno.DQUOT : 0;
        }

        private int expectOpenFileForWrite(String p) {
            int e = parentErrno(p);
            if (e != 0) {
                return e;
            }
            MNode n = model.get(p);
            if (n == null) {
                return Errno.NOENT;
            }
            return n.dir ? Errno.ISDIR : 0;
        }

        private int expectGrowth(byte[] content, long newSize) {
            if (newSize > MAX_FILE_SIZE) {
                return Errno.FBIG;
            }
            return modelBytes() + Math.max(0, newSize - content.length) > MAX_BYTES ? Errno.NOSPC : 0;
        }

        private int expectWrite(String p, long offset, int length) {
            int e = expectOpenFileForWrite(p);
            if (e != 0 || length == 0) {
                return e;
            }
            return expectGrowth(model.get(p).content, offset + length);
        }

        private int expectResize(String p, long size) {
            int e = expectOpenFileForWrite(p);
            return e != 0 ? e : expectGrowth(model.get(p).content, size);
        }

        private int expectUnlink(String p) {
            int e = parentErrno(p);
            if (e != 0) {
                return e;
            }
            MNode n = model.get(p);
            if (n == null) {
                return Errno.NOENT;
            }
            return n.dir ? Errno.ISDIR : 0;
        }

        private int expectRmdir(String p) {
            int e = parentErrno(p);
            if (e != 0) {
                return e;
            }
            MNode n = model.get(p);
            if (n == null) {
                return Errno.NOENT;
            }
            if (!n.dir) {
                return Errno.NOTDIR;
            }
            return model.subMap(p + "/", p + "0").isEmpty() ? 0 : Errno.NOTEMPTY; // '0' follows '/'
        }

        private int expectRename(String p, String q) {
            int e = parentErrno(p);
            if (e != 0) {
                return e;
            }
            e = parentErrno(q);
            if (e != 0) {
                return e;
            }
            MNode from = model.get(p);
            if (from == null) {
                return Errno.NOENT;
            }
            MNode to = model.get(q);
            if (to == from) {
                return 0;
            }
            if (from.dir) {
                if (q.startsWith(p + "/")) {
                    return Errno.INVAL;
                }
                if (to != null && !to.dir) {
                    return Errno.NOTDIR;
                }
                if (to != null && !model.subMap(q + "/", q + "0").isEmpty()) {
                    return Errno.NOTEMPTY;
                }
                return 0;
            }
            return to != null && to.dir ? Errno.ISDIR : 0;
        }

        private void modelRename(String p, String q) {
            MNode from = model.get(p);
            if (model.get(q) == from) {
                return;
            }
            model.remove(q);
            Map<String, MNode> moved = new TreeMap<>(model.subMap(p + "/", p + "0"));
            model.subMap(p + "/", p + "0").clear();
            model.remove(p);
            model.put(q, from);
            moved.forEach((path, node) -> model.put(q + path.substring(p.length()), node));
        }

        private int expectLink(String p, String q) {
            int e = parentErrno(p);
            if (e != 0) {
                return e;
            }
            MNode from = model.get(p);
            if (from == null) {
                return Errno.NOENT;
            }
            if (from.dir) {
                return Errno.PERM;
            }
            e = parentErrno(q);
            if (e != 0) {
                return e;
            }
            return model.containsKey(q) ? Errno.EXIST : 0;
        }

        // ---- Handles kept open across operations ---------------------------------------------------

        private void holdOrRelease(String p) {
            if (!held.isEmpty() && (held.size() >= 3 || random.nextBoolean())) {
                Held h = held.remove(random.nextInt(held.size()));
                op = "close held inode " + h.handle().ino();
                fs.close(h.handle());
                return;
            }
            MNode n = model.get(p);
            if (parentErrno(p) == 0 && n != null && !n.dir) {
                op = "hold " + p;
                FileNode handle = (FileNode) fs.open(root(), 0, p, 0, true);
                held.add(new Held(handle, n));
            }
        }

        private void writeHeld() {
            if (held.isEmpty()) {
                return;
            }
            Held h = held.get(random.nextInt(held.size()));
            long offset = random.nextInt(56);
            byte[] bytes = randomBytes(1 + random.nextInt(10));
            int expected = expectGrowth(h.model().content, offset + bytes.length);
            check("write held inode " + h.handle().ino() + " @" + offset + " +" + bytes.length, expected,
                    () -> fs.write(h.handle(), offset, bytes, 0, bytes.length),
                    () -> h.model().content = written(h.model().content, offset, bytes));
        }

        // ---- Comparing -----------------------------------------------------------------------------

        private Set<MNode> liveModelNodes() {
            Set<MNode> live = Collections.newSetFromMap(new IdentityHashMap<>());
            live.addAll(model.values());
            for (Held h : held) {
                live.add(h.model());
            }
            return live;
        }

        private long modelBytes() {
            long sum = 0;
            for (MNode n : liveModelNodes()) {
                sum += n.content.length;
            }
            return sum;
        }

        private void compareWithModel() {
            assertInvariants(fs);
            TreeMap<String, Node> real = new TreeMap<>();
            list(root(), "", real);
            assertEquals(model.keySet(), real.keySet(), this::where);
            Map<MNode, Node> same = new IdentityHashMap<>();
            for (Map.Entry<String, MNode> e : model.entrySet()) {
                Node node = real.get(e.getKey());
                MNode m = e.getValue();
                assertEquals(m.dir, node instanceof DirectoryNode, this::where);
                Node previous = same.putIfAbsent(m, node);
                if (previous != null) {
                    assertSame(previous, node, () -> where() + ": hard link structure at " + e.getKey());
                }
                if (node instanceof FileNode file) {
                    assertArrayEquals(m.content, content(file), () -> where() + ": content of " + e.getKey());
                }
            }
            Set<Node> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
            distinct.addAll(same.values());
            assertEquals(same.size(), distinct.size(), () -> where() + ": distinct model nodes are distinct inodes");
            for (Held h : held) {
                assertArrayEquals(h.model().content, content(h.handle()), this::where);
            }
            assertEquals(modelBytes(), fs.usedBytes(), this::where);
            assertEquals(liveModelNodes().size() + 1, fs.usedInodes(), this::where);
        }

        private byte[] content(FileNode file) {
            byte[] buf = new byte[(int) file.size()];
            assertEquals(buf.length, fs.read(file, 0, buf, 0, buf.length));
            return buf;
        }

        /** Walks the tree through readdir, checking the listing order on the way. */
        private void list(DirectoryNode dir, String prefix, Map<String, Node> out) {
            List<DirEntry> entries = fs.readdir(dir, 0, Integer.MAX_VALUE);
            assertEquals(".", entries.get(0).name());
            assertEquals("..", entries.get(1).name());
            for (int i = 3; i < entries.size(); i++) {
                assertTrue(Utf8.compare(entries.get(i - 1).name(), entries.get(i).name()) < 0, this::where);
            }
            for (DirEntry entry : entries.subList(2, entries.size())) {
                String path = prefix + entry.name();
                Node node = dir.children.get(entry.name());
                assertEquals(entry.ino(), node.ino(), this::where);
                out.put(path, node);
                if (node instanceof DirectoryNode sub) {
                    list(sub, path + "/", out);
                }
            }
        }

        /** Snapshot, restore, and carry on with the restored filesystem; handles are found by inode. */
        private void roundTrip() throws IOException {
            byte[] bytes = snapshot(fs);
            fs = restore(bytes, clock);
            assertArrayEquals(bytes, snapshot(fs), this::where);
            List<Held> rebound = new ArrayList<>();
            for (Held h : held) {
                rebound.add(new Held((FileNode) fs.nodeByIno(h.handle().ino()).orElseThrow(), h.model()));
            }
            held.clear();
            held.addAll(rebound);
            compareWithModel();
        }

        private static byte[] written(byte[] content, long offset, byte[] bytes) {
            if (bytes.length == 0) {
                return content; // write(2) of nothing does not extend the file
            }
            byte[] result = Arrays.copyOf(content, (int) Math.max(content.length, offset + bytes.length));
            System.arraycopy(bytes, 0, result, (int) offset, bytes.length);
            return result;
        }
    }
}
