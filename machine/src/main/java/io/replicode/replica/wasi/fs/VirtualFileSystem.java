package io.replicode.replica.wasi.fs;

import io.replicode.replica.wasi.Errno;
import io.replicode.replica.wasi.WasiException;
import io.replicode.replica.wasi.fs.PathResolver.Kind;
import io.replicode.replica.wasi.fs.PathResolver.Location;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * One guest's in-memory filesystem, behind WASI preview 1's {@code fd_*} and {@code path_*} calls.
 *
 * <p>Everything observable is a function of the calls made and the clock values passed in: inode numbers
 * count up from 1 in creation order, listings are sorted by the UTF-8 bytes of names, timestamps come from
 * {@code nowNs} (the frame time), and nothing touches the JVM's files or wall clock. Reads do not update
 * {@code atim} (like mounting with {@code noatime}): a read would otherwise be a state change, and every
 * replica would pay for it in snapshots.
 *
 * <p>Handles: {@link #open} returns a node with one more handle on it; the fd layer keeps that node as its
 * fd and calls {@link #close} when the fd goes. A file whose last link is removed stays readable and
 * writable through its handles, and its bytes leave the quota when the last handle closes. Preopen roots
 * come from {@link #preopens()}; the fd layer calls {@link #retain} for each fd it makes of one.
 *
 * <p>Failures are {@link WasiException}s carrying the errno Linux (and so wasmtime) gives; messages name
 * the WASI call and the path. Not thread-safe: one guest, one thread.
 */
public final class VirtualFileSystem {
    /** The {@code dev} of every node: one filesystem. */
    public static final long DEV = 1;

    /** {@code lookupflags}: follow a symlink in the last component. */
    public static final int LOOKUP_SYMLINK_FOLLOW = 1;

    /** {@code oflags} of {@code path_open}. */
    public static final int OFLAG_CREAT = 1;
    public static final int OFLAG_DIRECTORY = 2;
    public static final int OFLAG_EXCL = 4;
    public static final int OFLAG_TRUNC = 8;

    /** {@code fstflags} of {@code *_filestat_set_times}. */
    public static final int FST_ATIM = 1;
    public static final int FST_ATIM_NOW = 2;
    public static final int FST_MTIM = 4;
    public static final int FST_MTIM_NOW = 8;

    /** ext4's limit on hard links to one inode; more gives {@code MLINK}. */
    static final int MAX_LINKS = 65_000;

    private final FsLimits limits;
    private final LongSupplier nowNs;
    private final Map<String, DirectoryNode> preopens = new LinkedHashMap<>();
    /** Every node not yet released, linked or only open: for lookup by inode and the inode count. */
    private final TreeMap<Long, Node> live = new TreeMap<>();
    private long nextIno = 1;
    private long usedBytes;

    /**
     * A filesystem with one empty directory per preopen name, in the given order (the fd layer numbers the
     * preopen fds in this order).
     */
    public VirtualFileSystem(List<String> preopenNames, FsLimits limits, LongSupplier nowNs) {
        this.limits = limits;
        this.nowNs = nowNs;
        if (preopenNames.size() > limits.maxInodes()) {
            throw new IllegalArgumentException(preopenNames.size() + " preopens need more inodes than the limit of "
                    + limits.maxInodes());
        }
        long now = nowNs.getAsLong();
        for (String name : preopenNames) {
            checkPreopenName(name);
            DirectoryNode root = new DirectoryNode(nextIno++, now, null);
            if (preopens.putIfAbsent(name, root) != null) {
                throw new IllegalArgumentException("preopen '" + name + "' declared twice");
            }
            live.put(root.ino, root);
        }
    }

    /** Rebuilds a filesystem from decoded snapshot parts; {@link FsSnapshotCodec} has validated them. */
    VirtualFileSystem(FsLimits limits, LongSupplier nowNs, Map<String, DirectoryNode> preopens,
                      TreeMap<Long, Node> live, long nextIno, long usedBytes) {
        this.limits = limits;
        this.nowNs = nowNs;
        this.preopens.putAll(preopens);
        this.live.putAll(live);
        this.nextIno = nextIno;
        this.usedBytes = usedBytes;
    }

    static void checkPreopenName(String name) {
        int bytes = Utf8.length(name);
        if (name.isEmpty() || bytes < 0 || bytes > PathResolver.MAX_PATH_BYTES || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("preopen name must be 1.." + PathResolver.MAX_PATH_BYTES
                    + " bytes of Unicode without NUL, got '" + name + "'");
        }
    }

    // ---- Configuration and usage -------------------------------------------------------------------

    public FsLimits limits() {
        return limits;
    }

    /** Bytes held by regular files, including unlinked files that are still open. */
    public long usedBytes() {
        return usedBytes;
    }

    /** Live nodes: preopen roots, linked nodes, and unlinked nodes that are still open. */
    public int usedInodes() {
        return live.size();
    }

    /** The preopens in declared order. */
    public List<Preopen> preopens() {
        List<Preopen> list = new ArrayList<>();
        preopens.forEach((name, root) -> list.add(new Preopen(name, root)));
        return list;
    }

    /**
     * Adds an empty preopened directory {@code name} unless there is one: a module of another socket interface, after
     * an upgrade, may be owed directories its predecessor was not given (RepliCode's /tmp and working directory).
     */
    public void ensurePreopen(String name) {
        if (preopens.containsKey(name)) {
            return;
        }
        checkPreopenName(name);
        if (live.size() >= limits.maxInodes()) {
            throw new WasiException(Errno.DQUOT, "no inode left for the preopen '" + name + "'");
        }
        DirectoryNode root = new DirectoryNode(nextIno++, nowNs.getAsLong(), null);
        preopens.put(name, root);
        live.put(root.ino, root);
    }

    /** The root of the preopen called {@code name}. */
    public DirectoryNode preopen(String name) {
        DirectoryNode root = preopens.get(name);
        if (root == null) {
            throw new IllegalArgumentException("no preopen named '" + name + "'; have " + preopens.keySet());
        }
        return root;
    }

    /**
     * The live node with inode {@code ino}, linked or only open: how the fd layer finds its handles again
     * after {@link #readFrom} (handles and their counts are part of the snapshot; do not retain again).
     */
    public Optional<Node> nodeByIno(long ino) {
        return Optional.ofNullable(live.get(ino));
    }

    // ---- Handles ---------------------------------------------------------------------------------

    /**
     * {@code path_open}: opens (and with {@code OFLAG_CREAT} creates) what {@code path} names, and returns
     * it with one more handle on it.
     *
     * @param write whether the fd may write (its rights include writing); a directory cannot be opened so
     */
    public Node open(DirectoryNode dir, int lookupFlags, String path, int oflags, boolean write) {
        String op = "path_open";
        boolean follow = followFlag(lookupFlags, op);
        if ((oflags & ~(OFLAG_CREAT | OFLAG_DIRECTORY | OFLAG_EXCL | OFLAG_TRUNC)) != 0) {
            throw new WasiException(Errno.INVAL, op + ": unknown oflags 0x" + Integer.toHexString(oflags));
        }
        if ((oflags & OFLAG_DIRECTORY) != 0 && (oflags & (OFLAG_CREAT | OFLAG_EXCL | OFLAG_TRUNC)) != 0) {
            // wasmtime refuses these combinations before touching the filesystem.
            throw new WasiException(Errno.INVAL, op + ": '" + path + "': DIRECTORY with CREAT, EXCL or TRUNC");
        }
        boolean creat = (oflags & OFLAG_CREAT) != 0;
        boolean excl = creat && (oflags & OFLAG_EXCL) != 0;
        Node node;
        if (creat) {
            // O_CREAT|O_EXCL never follows a final symlink: an existing link is EXIST, as on Linux.
            Location at = locate(dir, path, follow && !excl, op);
            if (at.kind() != Kind.NAMED) {
                throw new WasiException(excl ? Errno.EXIST : Errno.ISDIR, op + ": '" + path + "' is a directory");
            }
            if (at.mustBeDir()) {
                // Linux refuses O_CREAT on a name ending in '/' before looking at what is there.
                throw new WasiException(Errno.ISDIR, op + ": cannot create a file named '" + path + "'");
            }
            node = at.node();
            if (node != null && excl) {
                throw new WasiException(Errno.EXIST, op + ": '" + path + "' exists (EXCL)");
            }
            if (node == null) {
                node = createFile(at, op, path);
            }
        } else {
            node = lookup(dir, path, follow, op);
        }
        if (node instanceof SymlinkNode) {
            // A final symlink not followed: Linux's O_NOFOLLOW answer.
            throw new WasiException(Errno.LOOP, op + ": '" + path + "' is a symlink and SYMLINK_FOLLOW is not set");
        }
        if ((oflags & OFLAG_DIRECTORY) != 0 && !(node instanceof DirectoryNode)) {
            throw new WasiException(Errno.NOTDIR, op + ": '" + path + "' is not a directory");
        }
        if (node instanceof DirectoryNode && (write || (oflags & OFLAG_TRUNC) != 0 || creat)) {
            throw new WasiException(Errno.ISDIR, op + ": '" + path + "' is a directory; cannot open it for writing");
        }
        if (node instanceof FileNode file && (oflags & OFLAG_TRUNC) != 0) {
            truncate(file, 0, nowNs.getAsLong());
        }
        node.openCount++;
        return node;
    }

    /** Adds a handle to a live node (for fds the fd layer makes without {@link #open}, e.g. preopens). */
    public Node retain(Node node) {
        checkLive(node, "retain");
        node.openCount++;
        return node;
    }

    /** Drops a handle; an unlinked node whose last handle this was is released (its bytes leave the quota). */
    public void close(Node node) {
        checkLive(node, "close");
        if (node.openCount <= 0) {
            throw new IllegalStateException("close of inode " + node.ino + " which has no open handle");
        }
        node.openCount--;
        releaseIfUnreferenced(node);
    }

    // ---- Namespace -------------------------------------------------------------------------------

    /** {@code path_create_directory}. A trailing slash is allowed. */
    public void createDirectory(DirectoryNode dir, String path) {
        String op = "path_create_directory";
        Location at = locate(dir, path, false, op);
        if (at.kind() != Kind.NAMED || at.node() != null) {
            throw new WasiException(Errno.EXIST, op + ": '" + path + "' exists");
        }
        DirectoryNode parent = writableParent(at, op, path);
        long now = nowNs.getAsLong();
        DirectoryNode created = new DirectoryNode(allocateIno(op, path), now, parent);
        live.put(created.ino, created);
        parent.children.put(at.name(), created);
        parent.nlink++;
        parent.touchModified(now);
    }

    /** {@code path_remove_directory}: removes an empty directory. */
    public void removeDirectory(DirectoryNode dir, String path) {
        String op = "path_remove_directory";
        Location at = locate(dir, path, false, op);
        switch (at.kind()) {
            case DOT -> throw new WasiException(Errno.INVAL, op + ": '" + path + "' ends in '.'");
            case DOTDOT -> throw new WasiException(Errno.NOTEMPTY, op + ": '" + path + "' ends in '..'");
            default -> { }
        }
        if (at.node() == null) {
            throw new WasiException(Errno.NOENT, op + ": '" + path + "' does not exist");
        }
        if (!(at.node() instanceof DirectoryNode victim)) {
            throw new WasiException(Errno.NOTDIR, op + ": '" + path + "' is not a directory");
        }
        if (!victim.children.isEmpty()) {
            throw new WasiException(Errno.NOTEMPTY, op + ": '" + path + "' is not empty");
        }
        long now = nowNs.getAsLong();
        at.parent().children.remove(at.name());
        at.parent().touchModified(now);
        detachDirectory(victim, now);
    }

    /** {@code path_unlink_file}: removes a name of a file or symlink (not a directory). */
    public void unlinkFile(DirectoryNode dir, String path) {
        String op = "path_unlink_file";
        Location at = locate(dir, path, false, op);
        if (at.kind() != Kind.NAMED || at.node() instanceof DirectoryNode) {
            throw new WasiException(Errno.ISDIR, op + ": '" + path + "' is a directory");
        }
        if (at.node() == null) {
            throw new WasiException(Errno.NOENT, op + ": '" + path + "' does not exist");
        }
        if (at.mustBeDir()) {
            throw new WasiException(Errno.NOTDIR, op + ": '" + path + "' is not a directory (trailing slash)");
        }
        long now = nowNs.getAsLong();
        at.parent().children.remove(at.name());
        at.parent().touchModified(now);
        dropLink(at.node(), now);
    }

    /**
     * {@code path_rename}. Replaces a file or symlink, or an empty directory with a directory; renaming a
     * name onto itself or onto another link of the same node does nothing.
     */
    public void rename(DirectoryNode oldDir, String oldPath, DirectoryNode newDir, String newPath) {
        String op = "path_rename";
        String both = "'" + oldPath + "' -> '" + newPath + "'";
        Location from = locate(oldDir, oldPath, false, op);
        Location to = locate(newDir, newPath, false, op);
        if (from.kind() != Kind.NAMED || to.kind() != Kind.NAMED) {
            throw new WasiException(Errno.BUSY, op + ": " + both + ": cannot rename '.' or '..'");
        }
        Node moving = from.node();
        if (moving == null) {
            throw new WasiException(Errno.NOENT, op + ": '" + oldPath + "' does not exist");
        }
        boolean movingDir = moving instanceof DirectoryNode;
        if (!movingDir && (from.mustBeDir() || to.mustBeDir())) {
            throw new WasiException(Errno.NOTDIR, op + ": " + both + ": trailing slash on a non-directory");
        }
        Node replaced = to.node();
        if (replaced == moving) {
            return;
        }
        DirectoryNode target = writableParent(to, op, newPath);
        if (movingDir) {
            for (DirectoryNode d = target; d != null; d = d.parent) {
                if (d == moving) {
                    throw new WasiException(Errno.INVAL, op + ": " + both + ": cannot move a directory into itself");
                }
            }
            if (replaced != null && !(replaced instanceof DirectoryNode)) {
                throw new WasiException(Errno.NOTDIR, op + ": " + both + ": target is not a directory");
            }
            if (replaced instanceof DirectoryNode d && !d.children.isEmpty()) {
                throw new WasiException(Errno.NOTEMPTY, op + ": " + both + ": target directory is not empty");
            }
        } else if (replaced instanceof DirectoryNode) {
            throw new WasiException(Errno.ISDIR, op + ": " + both + ": target is a directory");
        }

        long now = nowNs.getAsLong();
        from.parent().children.remove(from.name());
        from.parent().touchModified(now);
        if (replaced instanceof DirectoryNode d) {
            detachDirectory(d, now);
        } else if (replaced != null) {
            dropLink(replaced, now);
        }
        target.children.put(to.name(), moving);
        target.touchModified(now);
        moving.ctimNs = now;
        if (moving instanceof DirectoryNode d) {
            d.parent.nlink--;
            d.parent = target;
            target.nlink++;
        }
    }

    /**
     * {@code path_link}: a new name for a file or symlink. With {@code SYMLINK_FOLLOW} a final symlink of
     * the old path is followed (Linux's {@code AT_SYMLINK_FOLLOW}).
     */
    public void link(DirectoryNode oldDir, int lookupFlags, String oldPath, DirectoryNode newDir, String newPath) {
        String op = "path_link";
        Node node = lookup(oldDir, oldPath, followFlag(lookupFlags, op), op);
        if (node instanceof DirectoryNode) {
            throw new WasiException(Errno.PERM, op + ": '" + oldPath + "' is a directory; cannot hard-link it");
        }
        Location to = locate(newDir, newPath, false, op);
        if (to.kind() != Kind.NAMED || to.node() != null) {
            throw new WasiException(Errno.EXIST, op + ": '" + newPath + "' exists");
        }
        if (to.mustBeDir()) {
            throw new WasiException(Errno.NOENT, op + ": '" + newPath + "': a link to a file cannot end in '/'");
        }
        if (node.nlink >= MAX_LINKS) {
            throw new WasiException(Errno.MLINK, op + ": '" + oldPath + "' already has " + node.nlink + " links");
        }
        DirectoryNode parent = writableParent(to, op, newPath);
        long now = nowNs.getAsLong();
        parent.children.put(to.name(), node);
        parent.touchModified(now);
        node.nlink++;
        node.ctimNs = now;
    }

    /**
     * {@code path_symlink}: creates {@code path} as a symlink to {@code target}. Absolute targets are
     * refused ({@code NOTCAPABLE}) as wasmtime refuses them: they could never be followed here.
     */
    public void symlink(String target, DirectoryNode dir, String path) {
        String op = "path_symlink";
        if (target.isEmpty()) {
            throw new WasiException(Errno.NOENT, op + ": empty symlink target for '" + path + "'");
        }
        PathResolver.checkPath(target, op, target);
        Location at = locate(dir, path, false, op);
        if (at.node() instanceof FileNode && at.mustBeDir()) {
            throw new WasiException(Errno.NOTDIR, op + ": '" + path + "' is a file, not a directory");
        }
        if (at.kind() != Kind.NAMED || at.node() != null) {
            throw new WasiException(Errno.EXIST, op + ": '" + path + "' exists");
        }
        if (at.mustBeDir()) {
            throw new WasiException(Errno.NOENT, op + ": '" + path + "': a symlink name cannot end in '/'");
        }
        DirectoryNode parent = writableParent(at, op, path);
        long now = nowNs.getAsLong();
        SymlinkNode link = new SymlinkNode(allocateIno(op, path), now, target);
        link.nlink = 1;
        live.put(link.ino, link);
        parent.children.put(at.name(), link);
        parent.touchModified(now);
    }

    /** {@code path_readlink}: the target of the symlink {@code path} names ({@code INVAL} if not a symlink). */
    public String readlink(DirectoryNode dir, String path) {
        String op = "path_readlink";
        Node node = lookup(dir, path, false, op);
        if (!(node instanceof SymlinkNode link)) {
            throw new WasiException(Errno.INVAL, op + ": '" + path + "' is not a symlink");
        }
        return link.target;
    }

    /**
     * The entries of {@code dir} from position {@code cookie} on, at most {@code maxEntries}: "." and ".."
     * first, then the names in UTF-8 byte order. An entry's {@code next} is the cookie after it. A removed
     * directory lists nothing, as on Linux. The WASI layer serialises as many as fit the guest's buffer.
     */
    public List<DirEntry> readdir(DirectoryNode dir, long cookie, int maxEntries) {
        checkLive(dir, "fd_readdir");
        List<DirEntry> out = new ArrayList<>();
        if (!dir.isLinked() || cookie < 0 || maxEntries <= 0) {
            return out;
        }
        long position = cookie;
        if (position == 0) {
            out.add(new DirEntry(1, dir.ino, ".", Filetype.DIRECTORY));
            position = 1;
        }
        if (position == 1 && out.size() < maxEntries) {
            // A preopen root's parent is outside the sandbox; like "/" on Linux, it is its own "..".
            long parentIno = dir.parent == null ? dir.ino : dir.parent.ino;
            out.add(new DirEntry(2, parentIno, "..", Filetype.DIRECTORY));
            position = 2;
        }
        if (position - 2 >= dir.children.size()) {
            return out;
        }
        Iterator<Map.Entry<String, Node>> it = dir.children.entrySet().iterator();
        for (long skip = position - 2; skip > 0; skip--) {
            it.next();
        }
        while (it.hasNext() && out.size() < maxEntries) {
            Map.Entry<String, Node> e = it.next();
            position++;
            out.add(new DirEntry(position, e.getValue().ino, e.getKey(), e.getValue().filetype()));
        }
        return out;
    }

    // ---- Metadata --------------------------------------------------------------------------------

    /** {@code fd_filestat_get}. */
    public FileStat stat(Node node) {
        checkLive(node, "fd_filestat_get");
        return new FileStat(DEV, node.ino, node.filetype(), node.nlink, node.size(), node.atimNs, node.mtimNs,
                node.ctimNs);
    }

    /** {@code path_filestat_get}. */
    public FileStat stat(DirectoryNode dir, int lookupFlags, String path) {
        String op = "path_filestat_get";
        return stat(lookup(dir, path, followFlag(lookupFlags, op), op));
    }

    /**
     * {@code fd_filestat_set_times}: {@code FST_ATIM} sets {@code atim} to {@code atimNs}, {@code
     * FST_ATIM_NOW} to the clock (likewise for {@code mtim}); both for one time is {@code INVAL}. Any change
     * sets {@code ctim} to the clock, as utimensat(2) does.
     */
    public void setTimes(Node node, long atimNs, long mtimNs, int fstflags) {
        String op = "fd_filestat_set_times";
        checkLive(node, op);
        checkFstFlags(fstflags, op, "inode " + node.ino);
        applyTimes(node, atimNs, mtimNs, fstflags);
    }

    /** {@code path_filestat_set_times}. */
    public void setTimes(DirectoryNode dir, int lookupFlags, String path, long atimNs, long mtimNs, int fstflags) {
        String op = "path_filestat_set_times";
        checkFstFlags(fstflags, op, "'" + path + "'");
        applyTimes(lookup(dir, path, followFlag(lookupFlags, op), op), atimNs, mtimNs, fstflags);
    }

    private void applyTimes(Node node, long atimNs, long mtimNs, int fstflags) {
        if (fstflags == 0) {
            return;
        }
        long now = nowNs.getAsLong();
        if ((fstflags & FST_ATIM) != 0) {
            node.atimNs = atimNs;
        } else if ((fstflags & FST_ATIM_NOW) != 0) {
            node.atimNs = now;
        }
        if ((fstflags & FST_MTIM) != 0) {
            node.mtimNs = mtimNs;
        } else if ((fstflags & FST_MTIM_NOW) != 0) {
            node.mtimNs = now;
        }
        node.ctimNs = now;
    }

    private static void checkFstFlags(int fstflags, String op, String what) {
        if ((fstflags & ~(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW)) != 0) {
            throw new WasiException(Errno.INVAL, op + ": " + what + ": unknown fstflags 0x"
                    + Integer.toHexString(fstflags));
        }
        if ((fstflags & (FST_ATIM | FST_ATIM_NOW)) == (FST_ATIM | FST_ATIM_NOW)
                || (fstflags & (FST_MTIM | FST_MTIM_NOW)) == (FST_MTIM | FST_MTIM_NOW)) {
            throw new WasiException(Errno.INVAL, op + ": " + what + ": a time given both explicitly and as NOW");
        }
    }

    // ---- File content ----------------------------------------------------------------------------

    /** {@code fd_read}/{@code fd_pread}: up to {@code length} bytes at {@code offset}; 0 at the end. */
    public int read(FileNode file, long offset, byte[] dst, int dstOffset, int length) {
        checkLive(file, "fd_read");
        if (offset < 0) {
            throw new WasiException(Errno.INVAL, "fd_read: inode " + file.ino + ": negative offset " + offset);
        }
        return file.read(offset, dst, dstOffset, length);
    }

    /**
     * {@code fd_write}/{@code fd_pwrite}: all {@code length} bytes at {@code offset}, or nothing. Writing
     * past the end zero-fills the gap. Beyond the file size limit: {@code FBIG}; beyond the byte quota:
     * {@code NOSPC}. For append mode the fd layer passes {@link FileNode#size()} as the offset.
     *
     * @return {@code length}
     */
    public int write(FileNode file, long offset, byte[] src, int srcOffset, int length) {
        String op = "fd_write";
        checkLive(file, op);
        if (offset < 0) {
            throw new WasiException(Errno.INVAL, op + ": inode " + file.ino + ": negative offset " + offset);
        }
        if (length == 0) {
            return 0; // like write(2) of nothing: no timestamps change
        }
        long end = offset + length;
        checkGrowth(file, end, op);
        usedBytes += Math.max(0, end - file.size());
        file.write((int) offset, src, srcOffset, length);
        file.touchModified(nowNs.getAsLong());
        return length;
    }

    /** {@code fd_filestat_set_size}: truncates, or extends with zeros. */
    public void setSize(FileNode file, long size) {
        String op = "fd_filestat_set_size";
        checkLive(file, op);
        if (size < 0) {
            throw new WasiException(Errno.INVAL, op + ": inode " + file.ino + ": negative size " + size);
        }
        checkGrowth(file, size, op);
        truncate(file, (int) size, nowNs.getAsLong());
    }

    /** {@code fd_allocate}: extends the file with zeros to {@code offset + length} if it is shorter. */
    public void allocate(FileNode file, long offset, long length) {
        String op = "fd_allocate";
        checkLive(file, op);
        if (offset < 0 || length <= 0) {
            throw new WasiException(Errno.INVAL, op + ": inode " + file.ino + ": offset " + offset
                    + " and length " + length + " (length must be > 0)");
        }
        long end = offset + length;
        if (end < 0) {
            throw new WasiException(Errno.FBIG, op + ": inode " + file.ino + ": offset + length overflows");
        }
        if (end > file.size()) {
            checkGrowth(file, end, op);
            truncate(file, (int) end, nowNs.getAsLong());
        }
    }

    // ---- Snapshot --------------------------------------------------------------------------------

    /**
     * Writes the whole filesystem (limits, tree, inode numbers, link structure, handle counts, contents,
     * the next inode number) in a canonical form: the same state gives the same bytes whatever history led
     * to it. Format in {@link FsSnapshotCodec}.
     */
    public void writeTo(DataOutputStream out) throws IOException {
        FsSnapshotCodec.write(this, out);
    }

    /**
     * Reads what {@link #writeTo} wrote, checking every count and length before acting on it; a malformed
     * or truncated stream is an {@link IOException} that says what and where.
     */
    public static VirtualFileSystem readFrom(DataInputStream in, LongSupplier nowNs) throws IOException {
        return FsSnapshotCodec.read(in, nowNs);
    }

    // ---- Internals shared with the codec and the tests --------------------------------------------

    Map<String, DirectoryNode> preopenMap() {
        return preopens;
    }

    TreeMap<Long, Node> liveNodes() {
        return live;
    }

    long nextIno() {
        return nextIno;
    }

    // ---- Helpers ---------------------------------------------------------------------------------

    private static Location locate(DirectoryNode dir, String path, boolean followLast, String op) {
        checkLive(dir, op);
        return PathResolver.locate(dir, path, followLast, op);
    }

    private static Node lookup(DirectoryNode dir, String path, boolean follow, String op) {
        checkLive(dir, op);
        return PathResolver.lookup(dir, path, follow, op);
    }

    private FileNode createFile(Location at, String op, String path) {
        DirectoryNode parent = writableParent(at, op, path);
        long now = nowNs.getAsLong();
        FileNode file = new FileNode(allocateIno(op, path), now);
        file.nlink = 1;
        live.put(file.ino, file);
        parent.children.put(at.name(), file);
        parent.touchModified(now);
        return file;
    }

    /** The directory a new entry goes into; a removed directory takes no new entries. */
    private static DirectoryNode writableParent(Location at, String op, String path) {
        if (!at.parent().isLinked()) {
            throw new WasiException(Errno.NOENT, op + ": '" + path + "': its directory has been removed");
        }
        return at.parent();
    }

    private long allocateIno(String op, String path) {
        if (live.size() >= limits.maxInodes()) {
            throw new WasiException(Errno.DQUOT, op + ": '" + path + "': inode limit of " + limits.maxInodes()
                    + " reached");
        }
        return nextIno++;
    }

    /** Refuses to grow {@code file} to {@code newSize} beyond the file size limit or the byte quota. */
    private void checkGrowth(FileNode file, long newSize, String op) {
        if (newSize < 0 || newSize > limits.maxFileSize()) { // < 0: offset + length overflowed
            throw new WasiException(Errno.FBIG, op + ": inode " + file.ino + ": size " + newSize
                    + " exceeds the file size limit of " + limits.maxFileSize());
        }
        long growth = newSize - file.size();
        if (growth > 0 && usedBytes + growth > limits.maxBytes()) {
            throw new WasiException(Errno.NOSPC, op + ": inode " + file.ino + ": " + growth
                    + " more bytes exceed the quota of " + limits.maxBytes() + " (" + usedBytes + " used)");
        }
    }

    private void truncate(FileNode file, int newSize, long now) {
        usedBytes += newSize - file.size();
        file.resize(newSize);
        file.touchModified(now);
    }

    /** Removes one link of a file or symlink; releases it if that was the last reference. */
    private void dropLink(Node node, long now) {
        node.nlink--;
        node.ctimNs = now;
        releaseIfUnreferenced(node);
    }

    /** Takes a directory that has just lost its entry out of the tree. */
    private void detachDirectory(DirectoryNode dir, long now) {
        assert dir.children.isEmpty();
        dir.parent.nlink--;
        dir.parent = null;
        dir.nlink = 0;
        dir.ctimNs = now;
        releaseIfUnreferenced(dir);
    }

    private void releaseIfUnreferenced(Node node) {
        if (node.nlink == 0 && node.openCount == 0) {
            live.remove(node.ino);
            node.released = true;
            if (node instanceof FileNode file) {
                usedBytes -= file.size();
                file.clear();
            }
        }
    }

    private static boolean followFlag(int lookupFlags, String op) {
        if ((lookupFlags & ~LOOKUP_SYMLINK_FOLLOW) != 0) {
            throw new WasiException(Errno.INVAL, op + ": unknown lookupflags 0x" + Integer.toHexString(lookupFlags));
        }
        return lookupFlags != 0;
    }

    private static void checkLive(Node node, String op) {
        if (node.released) {
            throw new IllegalStateException(op + ": inode " + node.ino + " was released; its handle is stale");
        }
    }
}
