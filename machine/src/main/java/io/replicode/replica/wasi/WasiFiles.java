package io.replicode.replica.wasi;

import io.replicode.replica.wasi.fs.DirEntry;
import io.replicode.replica.wasi.fs.DirectoryNode;
import io.replicode.replica.wasi.fs.FileNode;
import io.replicode.replica.wasi.fs.FileStat;
import io.replicode.replica.wasi.fs.FsLimits;
import io.replicode.replica.wasi.fs.Node;
import io.replicode.replica.wasi.fs.Preopen;
import io.replicode.replica.wasi.fs.VirtualFileSystem;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The filesystem half of WASI preview 1: {@code fd_*} calls on files and directories and every
 * {@code path_*} call, over the guest's {@link VirtualFileSystem}.
 */
public final class WasiFiles {
    private static final int WHENCE_SET = 0;
    private static final int WHENCE_CUR = 1;
    private static final int WHENCE_END = 2;
    private static final int PREOPENTYPE_DIR = 0;
    /** Tag reported for preopened sockets: not a directory, so wasi-libc's preopen scan skips them and goes on. */
    private static final int PREOPENTYPE_SOCKET = 1;

    private final WasiHost host;
    private VirtualFileSystem fs;

    WasiFiles(WasiHost host) {
        this.host = host;
        var l = host.config.limits();
        this.fs = new VirtualFileSystem(host.preopens,
                new FsLimits(l.fsQuotaBytes(), l.fsMaxInodes(), FsLimits.MAX_FILE_SIZE),
                host::frameTimeNs);
    }

    public VirtualFileSystem fileSystem() {
        return fs;
    }

    /** Installs the preopened directories from {@code firstFd} on, in declared order. */
    void preopen(int firstFd) {
        int fd = firstFd;
        for (Preopen p : fs.preopens()) {
            fs.retain(p.root());
            host.fds.put(fd++, new Descriptor.Directory(p.root(), p.name(), Descriptor.Rights.ALL_FS,
                    Descriptor.Rights.ALL_FS, 0));
        }
    }

    /**
     * Takes over {@code old}'s filesystem (whose descriptors are all closed) in place of this one's empty one, with
     * the preopened directories at fds {@code firstFd}.. again: a restarted process finds the files it left.
     */
    void adopt(WasiFiles old, int firstFd) {
        try {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            old.fs.writeTo(out);
            out.flush();
            host.fds.removeIf(d -> d instanceof Descriptor.Directory);
            fs = VirtualFileSystem.readFrom(new DataInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray())),
                    host::frameTimeNs);
            for (String name : host.preopens) {
                fs.ensurePreopen(name);
            }
        } catch (IOException e) {
            throw new IllegalStateException("the files of app '" + host.config.app() + "' could not be carried over", e);
        }
        preopen(firstFd);
    }

    void close(Descriptor d) {
        if (d instanceof Descriptor.Directory dir) {
            fs.close(dir.node);
        } else if (d instanceof Descriptor.RegularFile f) {
            fs.close(f.node);
        }
    }

    private Descriptor.Directory dir(int fd) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Directory dir) {
            return dir;
        }
        throw new WasiException(Errno.NOTDIR, "fd " + fd + " is not a directory");
    }

    private Descriptor.RegularFile file(int fd, long right) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.RegularFile f) {
            if ((f.rightsBase & right) == 0) {
                throw new WasiException(Errno.BADF, "fd " + fd + " was not opened for this operation");
            }
            return f;
        }
        if (d instanceof Descriptor.Directory) {
            throw new WasiException(Errno.ISDIR, "fd " + fd + " is a directory");
        }
        if (d instanceof Descriptor.Socket || d instanceof Descriptor.Listener) {
            throw new WasiException(Errno.SPIPE, "fd " + fd + " is a socket");
        }
        throw new WasiException(Errno.BADF, "fd " + fd + " is not a regular file");
    }

    private Node node(Descriptor d) {
        if (d instanceof Descriptor.Directory dir) {
            return dir.node;
        }
        if (d instanceof Descriptor.RegularFile f) {
            return f.node;
        }
        throw new WasiException(Errno.BADF, "not a file or directory");
    }

    // ---- fd calls ----

    int prestatGet(int fd, long ptr) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Directory dir && dir.preopenName != null) {
            host.memory.u8(ptr, PREOPENTYPE_DIR);
            host.memory.u32(ptr + 4, dir.preopenName.getBytes(StandardCharsets.UTF_8).length);
            return Errno.SUCCESS;
        }
        if (d instanceof Descriptor.Listener) {
            host.memory.u8(ptr, PREOPENTYPE_SOCKET);
            host.memory.u32(ptr + 4, 0);
            return Errno.SUCCESS;
        }
        return Errno.BADF;
    }

    int prestatDirName(int fd, long ptr, long len) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.Directory dir) || dir.preopenName == null) {
            return Errno.BADF;
        }
        byte[] name = dir.preopenName.getBytes(StandardCharsets.UTF_8);
        if (len < name.length) {
            return Errno.NAMETOOLONG;
        }
        host.memory.write(ptr, name);
        return Errno.SUCCESS;
    }

    int read(Descriptor d, List<long[]> vecs, long nreadPtr) {
        if (d instanceof Descriptor.Directory) {
            return Errno.ISDIR;
        }
        Descriptor.RegularFile f = (Descriptor.RegularFile) d;
        if ((f.rightsBase & Descriptor.Rights.FD_READ) == 0) {
            return Errno.BADF;
        }
        int n = readAt(f, vecs, f.position);
        f.position += n;
        host.memory.u32(nreadPtr, n);
        return Errno.SUCCESS;
    }

    private int readAt(Descriptor.RegularFile f, List<long[]> vecs, long offset) {
        int total = (int) GuestMemory.total(vecs);
        byte[] buf = new byte[(int) Math.max(0, Math.min(total, f.node.size() - offset))];
        int n = buf.length == 0 ? 0 : fs.read(f.node, offset, buf, 0, buf.length);
        byte[] data = n == buf.length ? buf : java.util.Arrays.copyOf(buf, n);
        return host.memory.scatter(vecs, data);
    }

    int write(Descriptor d, List<long[]> vecs, long nwrittenPtr) {
        if (d instanceof Descriptor.Directory) {
            return Errno.ISDIR;
        }
        Descriptor.RegularFile f = (Descriptor.RegularFile) d;
        if ((f.rightsBase & Descriptor.Rights.FD_WRITE) == 0) {
            return Errno.BADF;
        }
        byte[] data = host.memory.gather(vecs);
        long at = (f.fdflags & Descriptor.FDFLAG_APPEND) != 0 ? f.node.size() : f.position;
        int n = fs.write(f.node, at, data, 0, data.length);
        f.position = at + n;
        host.memory.u32(nwrittenPtr, n);
        return Errno.SUCCESS;
    }

    int pread(int fd, long iovs, long iovsLen, long offset, long nreadPtr) {
        Descriptor.RegularFile f = file(fd, Descriptor.Rights.FD_READ);
        if (offset < 0) {
            return Errno.INVAL;
        }
        host.memory.u32(nreadPtr, readAt(f, host.memory.iovecs(iovs, iovsLen), offset));
        return Errno.SUCCESS;
    }

    int pwrite(int fd, long iovs, long iovsLen, long offset, long nwrittenPtr) {
        Descriptor.RegularFile f = file(fd, Descriptor.Rights.FD_WRITE);
        if (offset < 0) {
            return Errno.INVAL;
        }
        byte[] data = host.memory.gather(host.memory.iovecs(iovs, iovsLen));
        host.memory.u32(nwrittenPtr, fs.write(f.node, offset, data, 0, data.length));
        return Errno.SUCCESS;
    }

    int seek(int fd, long offset, int whence, long resultPtr) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Socket || d instanceof Descriptor.Listener || d instanceof Descriptor.Stdio) {
            return Errno.SPIPE;
        }
        if (d instanceof Descriptor.Directory) {
            return Errno.ISDIR;
        }
        Descriptor.RegularFile f = (Descriptor.RegularFile) d;
        long base;
        switch (whence) {
            case WHENCE_SET -> base = 0;
            case WHENCE_CUR -> base = f.position;
            case WHENCE_END -> base = f.node.size();
            default -> {
                return Errno.INVAL;
            }
        }
        long pos = base + offset;
        if (pos < 0 || (offset > 0 && pos < base)) {
            return Errno.INVAL;
        }
        f.position = pos;
        host.memory.u64(resultPtr, pos);
        return Errno.SUCCESS;
    }

    int tell(int fd, long resultPtr) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.RegularFile f)) {
            return d instanceof Descriptor.Directory ? Errno.ISDIR : Errno.SPIPE;
        }
        host.memory.u64(resultPtr, f.position);
        return Errno.SUCCESS;
    }

    long readableBytes(Descriptor d) {
        if (d instanceof Descriptor.RegularFile f) {
            return Math.max(0, f.node.size() - f.position);
        }
        return 0;
    }

    int advise(int fd, long offset, long len, int advice) {
        file(fd, Descriptor.Rights.FD_READ | Descriptor.Rights.FD_WRITE);
        if (offset < 0 || len < 0 || advice < 0 || advice > 5) {
            return Errno.INVAL;
        }
        // Advice only tunes caching, and an in-memory file has no cache to tune: accepted, as POSIX allows.
        return Errno.SUCCESS;
    }

    int allocate(int fd, long offset, long len) {
        Descriptor.RegularFile f = file(fd, Descriptor.Rights.FD_WRITE);
        if (offset < 0 || len <= 0) {
            return Errno.INVAL;
        }
        fs.allocate(f.node, offset, len);
        return Errno.SUCCESS;
    }

    int sync(int fd, long right) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.RegularFile) && !(d instanceof Descriptor.Directory)) {
            return Errno.INVAL;
        }
        // Writes land in the guest's state at once and become durable with the frame that caused them.
        return Errno.SUCCESS;
    }

    int setSize(int fd, long size) {
        Descriptor.RegularFile f = file(fd, Descriptor.Rights.FD_WRITE);
        if (size < 0) {
            return Errno.INVAL;
        }
        fs.setSize(f.node, size);
        return Errno.SUCCESS;
    }

    int setTimes(int fd, long atim, long mtim, int fstFlags) {
        fs.setTimes(node(host.fds.get(fd)), atim, mtim, fstFlags);
        return Errno.SUCCESS;
    }

    int filestat(Descriptor d, long ptr) {
        writeStat(fs.stat(node(d)), ptr);
        return Errno.SUCCESS;
    }

    private void writeStat(FileStat st, long ptr) {
        GuestMemory m = host.memory;
        m.u64(ptr, st.dev());
        m.u64(ptr + 8, st.ino());
        m.u64(ptr + 16, 0);
        m.u8(ptr + 16, st.filetype());
        m.u64(ptr + 24, st.nlink());
        m.u64(ptr + 32, st.size());
        m.u64(ptr + 40, st.atimNs());
        m.u64(ptr + 48, st.mtimNs());
        m.u64(ptr + 56, st.ctimNs());
    }

    int readdir(int fd, long buf, long bufLen, long cookie, long usedPtr) {
        Descriptor.Directory dir = dir(fd);
        if (cookie < 0) {
            return Errno.INVAL;
        }
        long used = 0;
        long next = cookie;
        // Entries are fetched in small batches; the last one may be cut off by the buffer's end, as WASI allows.
        while (used < bufLen) {
            List<DirEntry> entries = fs.readdir(dir.node, next, 64);
            if (entries.isEmpty()) {
                break;
            }
            for (DirEntry e : entries) {
                byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                byte[] rec = new byte[24 + name.length];
                putLong(rec, 0, e.next());
                putLong(rec, 8, e.ino());
                putInt(rec, 16, name.length);
                rec[20] = (byte) e.filetype();
                System.arraycopy(name, 0, rec, 24, name.length);
                int n = (int) Math.min(rec.length, bufLen - used);
                host.memory.write(buf + used, rec, 0, n);
                used += n;
                next = e.next();
                if (used >= bufLen) {
                    break;
                }
            }
        }
        host.memory.u32(usedPtr, used);
        return Errno.SUCCESS;
    }

    private static void putLong(byte[] b, int at, long v) {
        for (int i = 0; i < 8; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    private static void putInt(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    // ---- path calls ----

    private String path(long ptr, long len) {
        String p = host.memory.string(ptr, len);
        // RepliCode's runtime trimmed the whitespace around every path its programs named (its image_server opens the
        // name it read from a request line, newline included): a program of that interface gets the same.
        return host.abi == SocketAbi.REPLICODE ? trimAsciiWhitespace(p) : p;
    }

    private static String trimAsciiWhitespace(String p) {
        int from = 0;
        int to = p.length();
        while (from < to && " \t\r\n\u000B\f".indexOf(p.charAt(from)) >= 0) {
            from++;
        }
        while (to > from && " \t\r\n\u000B\f".indexOf(p.charAt(to - 1)) >= 0) {
            to--;
        }
        return p.substring(from, to);
    }

    int open(int dirFd, int lookupFlags, long pathPtr, long pathLen, int oflags, long rightsBase,
             long rightsInheriting, int fdflags, long fdPtr) {
        Descriptor.Directory dir = dir(dirFd);
        String path = path(pathPtr, pathLen);
        if (host.fds.full()) {
            return Errno.MFILE;
        }
        // Rights can only shrink through open, as in WASI: intersect with what the directory may hand out.
        long base = rightsBase & dir.rightsInheriting;
        long inheriting = rightsInheriting & dir.rightsInheriting;
        boolean write = (base & (Descriptor.Rights.FD_WRITE | Descriptor.Rights.FD_ALLOCATE | (1L << 22))) != 0
                || (fdflags & Descriptor.FDFLAG_APPEND) != 0;
        Node node = fs.open(dir.node, lookupFlags, path, oflags, write);
        Descriptor d;
        if (node instanceof DirectoryNode dn) {
            d = new Descriptor.Directory(dn, null, base, inheriting, fdflags);
        } else if (node instanceof FileNode fn) {
            d = new Descriptor.RegularFile(fn, base, inheriting, fdflags);
        } else {
            fs.close(node);
            return Errno.LOOP;
        }
        int fd = host.fds.allocate(d);
        host.memory.u32(fdPtr, fd);
        return Errno.SUCCESS;
    }

    int createDirectory(int fd, long p, long len) {
        fs.createDirectory(dir(fd).node, path(p, len));
        return Errno.SUCCESS;
    }

    int removeDirectory(int fd, long p, long len) {
        fs.removeDirectory(dir(fd).node, path(p, len));
        return Errno.SUCCESS;
    }

    int unlink(int fd, long p, long len) {
        fs.unlinkFile(dir(fd).node, path(p, len));
        return Errno.SUCCESS;
    }

    int pathFilestat(int fd, int lookupFlags, long p, long len, long statPtr) {
        writeStat(fs.stat(dir(fd).node, lookupFlags, path(p, len)), statPtr);
        return Errno.SUCCESS;
    }

    int pathSetTimes(int fd, int lookupFlags, long p, long len, long atim, long mtim, int fstFlags) {
        fs.setTimes(dir(fd).node, lookupFlags, path(p, len), atim, mtim, fstFlags);
        return Errno.SUCCESS;
    }

    int link(int oldFd, int lookupFlags, long oldP, long oldLen, int newFd, long newP, long newLen) {
        fs.link(dir(oldFd).node, lookupFlags, path(oldP, oldLen), dir(newFd).node, path(newP, newLen));
        return Errno.SUCCESS;
    }

    int rename(int oldFd, long oldP, long oldLen, int newFd, long newP, long newLen) {
        fs.rename(dir(oldFd).node, path(oldP, oldLen), dir(newFd).node, path(newP, newLen));
        return Errno.SUCCESS;
    }

    int symlink(long targetP, long targetLen, int fd, long p, long len) {
        fs.symlink(path(targetP, targetLen), dir(fd).node, path(p, len));
        return Errno.SUCCESS;
    }

    int readlink(int fd, long p, long len, long buf, long bufLen, long usedPtr) {
        byte[] target = fs.readlink(dir(fd).node, path(p, len)).getBytes(StandardCharsets.UTF_8);
        int n = (int) Math.min(target.length, bufLen);
        host.memory.write(buf, target, 0, n);
        host.memory.u32(usedPtr, n);
        return Errno.SUCCESS;
    }

    // ---- snapshot ----

    /** Writes the filesystem and every file or directory descriptor (by inode) in fd order. */
    void writeTo(DataOutputStream d) throws IOException {
        fs.writeTo(d);
    }

    void readFrom(DataInputStream d) throws IOException {
        fs = VirtualFileSystem.readFrom(d, host::frameTimeNs);
    }

    Node nodeByIno(long ino) throws IOException {
        return fs.nodeByIno(ino).orElseThrow(() -> new IOException("snapshot descriptor names inode " + ino
                + ", which the snapshot's filesystem does not have"));
    }
}
