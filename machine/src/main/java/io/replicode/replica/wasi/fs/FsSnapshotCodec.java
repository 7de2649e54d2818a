package io.replicode.replica.wasi.fs;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * Encodes a {@link VirtualFileSystem} canonically and decodes it defensively.
 *
 * <pre>
 * Format version 1; integers big-endian as DataOutputStream writes them.
 *
 *   u32   magic        0x52564653 ("RVFS")
 *   u16   version      1
 *   i64   maxBytes     } the FsLimits the filesystem was created with
 *   i32   maxInodes    }
 *   i64   maxFileSize  }
 *   i64   nextIno      inode number of the next node to be created
 *   i32   preopenCount
 *   preopenCount x { str name; node }      declared order (it fixes the preopen fd numbers)
 *   i32   orphanCount  unlinked nodes kept alive by open handles
 *   orphanCount x node                      ascending inode number; FILE, or DIR with no entries
 *   u32   endMagic     0x454E4421 ("END!")
 *
 *   node   = u8 tag, then by tag:
 *     1 DIR      header; i32 entryCount; entryCount x { str name; node }   names in UTF-8 byte order
 *     2 FILE     header; i32 size; size bytes of content
 *     3 SYMLINK  header; str target
 *     4 LINK     i64 ino: one more name of a FILE or SYMLINK written earlier (hard links)
 *   header = i64 ino; i32 nlink; i32 openCount; i64 atimNs; i64 mtimNs; i64 ctimNs
 *   str    = u16 length; length bytes of UTF-8
 * </pre>
 *
 * <p>Directories are written depth first, entries in name order, so one state has one encoding whatever
 * the history behind it (insertion order, array capacities and released nodes leave no trace). Both walks
 * are iterative: a guest may build a tree deeper than the Java stack.
 */
final class FsSnapshotCodec {
    static final int MAGIC = 0x52564653;
    static final int END_MAGIC = 0x454E4421;
    static final int VERSION = 1;

    private static final int TAG_DIR = 1;
    private static final int TAG_FILE = 2;
    private static final int TAG_SYMLINK = 3;
    private static final int TAG_LINK = 4;

    private FsSnapshotCodec() {}

    // ---- Writing ---------------------------------------------------------------------------------

    static void write(VirtualFileSystem fs, DataOutputStream out) throws IOException {
        out.writeInt(MAGIC);
        out.writeShort(VERSION);
        FsLimits limits = fs.limits();
        out.writeLong(limits.maxBytes());
        out.writeInt(limits.maxInodes());
        out.writeLong(limits.maxFileSize());
        out.writeLong(fs.nextIno());

        Set<Long> written = new HashSet<>();
        out.writeInt(fs.preopenMap().size());
        for (Map.Entry<String, DirectoryNode> preopen : fs.preopenMap().entrySet()) {
            writeString(out, preopen.getKey());
            writeTree(out, preopen.getValue(), written);
        }

        List<Node> orphans = new ArrayList<>();
        for (Node node : fs.liveNodes().values()) { // ascending inode
            if (!node.isLinked()) {
                orphans.add(node);
            }
        }
        out.writeInt(orphans.size());
        for (Node orphan : orphans) {
            writeTree(out, orphan, written);
        }
        out.writeInt(END_MAGIC);
    }

    private static void writeTree(DataOutputStream out, Node top, Set<Long> written) throws IOException {
        Deque<Iterator<Map.Entry<String, Node>>> open = new ArrayDeque<>();
        writeNode(out, top, written, open);
        while (!open.isEmpty()) {
            Iterator<Map.Entry<String, Node>> entries = open.peek();
            if (!entries.hasNext()) {
                open.pop();
                continue;
            }
            Map.Entry<String, Node> entry = entries.next();
            writeString(out, entry.getKey());
            writeNode(out, entry.getValue(), written, open);
        }
    }

    /** Writes one node; a directory's entries follow, driven by the iterator pushed onto {@code open}. */
    private static void writeNode(DataOutputStream out, Node node, Set<Long> written,
                                  Deque<Iterator<Map.Entry<String, Node>>> open) throws IOException {
        if (!written.add(node.ino)) {
            out.writeByte(TAG_LINK);
            out.writeLong(node.ino);
            return;
        }
        out.writeByte(node instanceof DirectoryNode ? TAG_DIR : node instanceof FileNode ? TAG_FILE : TAG_SYMLINK);
        out.writeLong(node.ino);
        out.writeInt(node.nlink);
        out.writeInt(node.openCount);
        out.writeLong(node.atimNs);
        out.writeLong(node.mtimNs);
        out.writeLong(node.ctimNs);
        if (node instanceof DirectoryNode dir) {
            out.writeInt(dir.children.size());
            open.push(dir.children.entrySet().iterator());
        } else if (node instanceof FileNode file) {
            out.writeInt((int) file.size());
            file.writeContent(out);
        } else if (node instanceof SymlinkNode link) {
            writeString(out, link.target);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] bytes = Utf8.encode(s);
        out.writeShort(bytes.length); // names, targets and preopen names are all under 4096 bytes
        out.write(bytes);
    }

    // ---- Reading ---------------------------------------------------------------------------------

    static VirtualFileSystem read(DataInputStream source, LongSupplier nowNs) throws IOException {
        Reader reader = new Reader(source);
        try {
            return reader.read(nowNs);
        } catch (EOFException e) {
            throw reader.malformed("the stream ends early (truncated snapshot)");
        }
    }

    /** One decoding pass; knows its byte offset so that every error can say where. */
    private static final class Reader {
        private final CountingInputStream counter;
        private final DataInputStream in;
        private FsLimits limits;
        private long nextIno;
        private final TreeMap<Long, Node> live = new TreeMap<>();
        /** Entries seen per file or symlink inode, checked against the nlink each one declares. */
        private final Map<Long, Integer> linksSeen = new HashMap<>();
        private long usedBytes;

        Reader(DataInputStream source) {
            this.counter = new CountingInputStream(source);
            this.in = new DataInputStream(counter);
        }

        IOException malformed(String what) {
            return new IOException("virtual filesystem snapshot rejected at byte " + counter.position + ": "
                    + what + ". Fix: restore from an intact snapshot, or replay the log from genesis.");
        }

        VirtualFileSystem read(LongSupplier nowNs) throws IOException {
            int magic = in.readInt();
            if (magic != MAGIC) {
                throw malformed("bad magic 0x" + Integer.toHexString(magic) + ", expected 0x"
                        + Integer.toHexString(MAGIC) + " (not a filesystem snapshot)");
            }
            int version = in.readUnsignedShort();
            if (version != VERSION) {
                throw malformed("format version " + version + ", this build reads version " + VERSION);
            }
            long maxBytes = in.readLong();
            int maxInodes = in.readInt();
            long maxFileSize = in.readLong();
            try {
                limits = new FsLimits(maxBytes, maxInodes, maxFileSize);
            } catch (IllegalArgumentException e) {
                throw malformed("invalid limits: " + e.getMessage());
            }
            nextIno = in.readLong();
            if (nextIno < 1) {
                throw malformed("next inode number " + nextIno + " is not positive");
            }

            int preopenCount = in.readInt();
            if (preopenCount < 0 || preopenCount > limits.maxInodes()) {
                throw malformed(preopenCount + " preopens (limit " + limits.maxInodes() + " inodes)");
            }
            Map<String, DirectoryNode> preopens = new LinkedHashMap<>();
            for (int i = 0; i < preopenCount; i++) {
                String name = readString(PathResolver.MAX_PATH_BYTES, "preopen name");
                try {
                    VirtualFileSystem.checkPreopenName(name);
                } catch (IllegalArgumentException e) {
                    throw malformed(e.getMessage());
                }
                if (preopens.containsKey(name)) {
                    throw malformed("preopen '" + name + "' appears twice");
                }
                Node root = readTree(false);
                if (!(root instanceof DirectoryNode dir)) {
                    throw malformed("preopen '" + name + "' is not a directory");
                }
                preopens.put(name, dir);
            }

            int orphanCount = in.readInt();
            if (orphanCount < 0 || orphanCount > limits.maxInodes() - live.size()) {
                throw malformed(orphanCount + " open unlinked nodes do not fit the inode limit");
            }
            long previous = 0;
            for (int i = 0; i < orphanCount; i++) {
                Node orphan = readTree(true);
                if (orphan.ino <= previous) {
                    throw malformed("open unlinked nodes out of inode order at inode " + orphan.ino);
                }
                previous = orphan.ino;
            }
            int end = in.readInt();
            if (end != END_MAGIC) {
                throw malformed("bad end marker 0x" + Integer.toHexString(end) + " (trailing data or corruption)");
            }
            checkLinkCounts();
            return new VirtualFileSystem(limits, nowNs, preopens, live, nextIno, usedBytes);
        }

        /** Reads a node and, for a directory, everything below it. */
        private Node readTree(boolean orphan) throws IOException {
            int tag = in.readUnsignedByte();
            if (tag == TAG_LINK) {
                throw malformed("a hard link where a preopen root or an open unlinked node belongs");
            }
            Node top = readNewNode(tag, orphan);
            if (orphan && (top instanceof SymlinkNode || top.openCount == 0)) {
                throw malformed("inode " + top.ino + " is listed as open and unlinked but has "
                        + top.openCount + " handles and type " + top.filetype());
            }
            if (top instanceof DirectoryNode root) {
                int count = readEntryCount(root);
                if (orphan && count != 0) {
                    throw malformed("removed directory inode " + root.ino + " has " + count + " entries");
                }
                readEntries(root, count);
            }
            return top;
        }

        private void readEntries(DirectoryNode top, int topCount) throws IOException {
            record Frame(DirectoryNode dir, int[] remaining, String[] lastName) {}
            Deque<Frame> open = new ArrayDeque<>();
            open.push(new Frame(top, new int[] {topCount}, new String[1]));
            while (!open.isEmpty()) {
                Frame frame = open.peek();
                if (frame.remaining[0] == 0) {
                    open.pop();
                    continue;
                }
                frame.remaining[0]--;
                String name = readName(frame.dir);
                if (frame.lastName[0] != null && Utf8.compare(frame.lastName[0], name) >= 0) {
                    throw malformed("entries of directory inode " + frame.dir.ino + " out of order at '" + name
                            + "' (duplicate or unsorted)");
                }
                frame.lastName[0] = name;
                int tag = in.readUnsignedByte();
                Node child = tag == TAG_LINK ? readLink() : readNewNode(tag, false);
                frame.dir.children.put(name, child);
                if (child instanceof DirectoryNode dir) {
                    dir.parent = frame.dir;
                    open.push(new Frame(dir, new int[] {readEntryCount(dir)}, new String[1]));
                } else {
                    linksSeen.merge(child.ino, 1, Integer::sum);
                }
            }
        }

        /** A node's first appearance; {@code orphan}: listed as unlinked, so nlink must be 0 (else >= 1). */
        private Node readNewNode(int tag, boolean orphan) throws IOException {
            if (tag != TAG_DIR && tag != TAG_FILE && tag != TAG_SYMLINK) {
                throw malformed("unknown node tag " + tag);
            }
            long ino = in.readLong();
            if (ino < 1 || ino >= nextIno) {
                throw malformed("inode " + ino + " outside 1.." + (nextIno - 1));
            }
            if (live.containsKey(ino)) {
                throw malformed("inode " + ino + " written twice as a node (a second name must be a LINK)");
            }
            if (live.size() >= limits.maxInodes()) {
                throw malformed("more nodes than the inode limit of " + limits.maxInodes());
            }
            int nlink = in.readInt();
            int openCount = in.readInt();
            if (nlink < 0 || openCount < 0 || (nlink == 0) != orphan) {
                throw malformed("inode " + ino + " has nlink " + nlink + " and " + openCount + " handles"
                        + (orphan ? " but is listed as unlinked" : " but is named in the tree"));
            }
            long atim = in.readLong();
            long mtim = in.readLong();
            long ctim = in.readLong();
            Node node = switch (tag) {
                case TAG_DIR -> new DirectoryNode(ino, 0, null);
                case TAG_FILE -> readFile(ino);
                default -> readSymlink(ino);
            };
            node.nlink = nlink;
            node.openCount = openCount;
            node.atimNs = atim;
            node.mtimNs = mtim;
            node.ctimNs = ctim;
            live.put(ino, node);
            return node;
        }

        private FileNode readFile(long ino) throws IOException {
            int size = in.readInt();
            if (size < 0 || size > limits.maxFileSize()) {
                throw malformed("file inode " + ino + " has size " + size + " (limit " + limits.maxFileSize() + ")");
            }
            if (usedBytes + size > limits.maxBytes()) {
                throw malformed("file inode " + ino + " of " + size + " bytes exceeds the quota of "
                        + limits.maxBytes() + " (" + usedBytes + " used before it)");
            }
            FileNode file = new FileNode(ino, 0);
            file.readContent(in, size);
            usedBytes += size;
            return file;
        }

        private SymlinkNode readSymlink(long ino) throws IOException {
            String target = readString(PathResolver.MAX_PATH_BYTES, "symlink target");
            if (target.isEmpty() || target.indexOf('\0') >= 0 || target.startsWith("/")) {
                throw malformed("symlink inode " + ino + " has an empty, NUL-holding or absolute target");
            }
            return new SymlinkNode(ino, 0, target);
        }

        private Node readLink() throws IOException {
            long ino = in.readLong();
            Node node = live.get(ino);
            if (node == null || node instanceof DirectoryNode) {
                throw malformed("hard link to inode " + ino + ", which is not a file or symlink written before");
            }
            if (linksSeen.getOrDefault(ino, 0) >= node.nlink) {
                throw malformed("inode " + ino + " has more names than its nlink of " + node.nlink);
            }
            return node;
        }

        private int readEntryCount(DirectoryNode dir) throws IOException {
            int count = in.readInt();
            // Each entry is at least a name and a tag; memory grows only as entries actually arrive.
            if (count < 0) {
                throw malformed("directory inode " + dir.ino + " has " + count + " entries");
            }
            return count;
        }

        private String readName(DirectoryNode dir) throws IOException {
            String name = readString(PathResolver.MAX_NAME_BYTES, "name in directory inode " + dir.ino);
            if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                    || name.indexOf('\0') >= 0) {
                throw malformed("invalid name '" + name + "' in directory inode " + dir.ino);
            }
            return name;
        }

        private String readString(int maxBytes, String what) throws IOException {
            int length = in.readUnsignedShort();
            if (length > maxBytes) {
                throw malformed(what + " of " + length + " bytes (limit " + maxBytes + ")");
            }
            byte[] bytes = new byte[length];
            in.readFully(bytes);
            try {
                return Utf8.decodeStrict(bytes, 0, length);
            } catch (CharacterCodingException e) {
                throw malformed(what + " is not valid UTF-8");
            }
        }

        /** Declared link counts must match the tree: 2 + subdirectories for a directory, names otherwise. */
        private void checkLinkCounts() throws IOException {
            for (Node node : live.values()) {
                int expected;
                if (node instanceof DirectoryNode dir) {
                    int subdirs = 0;
                    for (Node child : dir.children.values()) {
                        if (child instanceof DirectoryNode) {
                            subdirs++;
                        }
                    }
                    expected = dir.nlink == 0 ? 0 : 2 + subdirs; // nlink 0: a removed directory, still open
                } else {
                    expected = linksSeen.getOrDefault(node.ino, 0);
                }
                if (node.nlink != expected) {
                    throw malformed("inode " + node.ino + " declares nlink " + node.nlink + " but the tree gives "
                            + expected);
                }
            }
        }
    }

    /** Counts bytes read, for error messages; reads nothing ahead, so the caller's stream stays in place. */
    private static final class CountingInputStream extends FilterInputStream {
        long position;

        CountingInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                position++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                position += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            position += skipped;
            return skipped;
        }
    }
}
