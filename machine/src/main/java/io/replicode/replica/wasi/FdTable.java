package io.replicode.replica.wasi;

import io.replicode.replica.wasi.fs.DirectoryNode;
import io.replicode.replica.wasi.fs.FileNode;
import io.replicode.replica.wasi.net.ListenerSocket;
import io.replicode.replica.wasi.net.StreamSocket;
import io.replicode.replica.wasi.net.VirtualNetwork;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The guest's descriptor table: numbers to descriptors (stdio, listeners, connections, directories, files), the
 * lowest free number first as in POSIX, at most the app's {@code maxOpenFds}. Kept in number order, so a snapshot
 * of the same table is the same bytes.
 */
final class FdTable {
    private static final int KIND_STDIO = 0;
    private static final int KIND_LISTENER = 1;
    private static final int KIND_SOCKET = 2;
    private static final int KIND_DIRECTORY = 3;
    private static final int KIND_FILE = 4;
    /** A socket the guest opened that neither listens nor connects yet: its bound port. */
    private static final int KIND_OPENED = 5;
    /** A listener the guest claimed with its own socket: the listener's name and the port it bound. */
    private static final int KIND_CLAIMED_LISTENER = 6;

    private final TreeMap<Integer, Descriptor> fds = new TreeMap<>();
    /**
     * The same descriptors indexed by number, for the lookups every socket call and every poll subscription makes
     * (a TreeMap lookup boxes the number and walks the tree: about 6% of the kv guest's time per Redis request).
     * Numbers outside 0 .. {@link #INDEXED} - 1 (none is made today: descriptors are numbered from 0, lowest free first)
     * are found in {@link #fds} alone.
     */
    private Descriptor[] byNumber = new Descriptor[16];
    private static final int INDEXED = 1 << 16;
    private final int max;

    FdTable(int maxOpenFds) {
        this.max = maxOpenFds;
    }

    /** The descriptor at {@code fd}; {@code BADF} when none is open there. */
    Descriptor get(int fd) {
        Descriptor d = find(fd);
        if (d == null) {
            throw new WasiException(Errno.BADF, "fd " + fd + " is not open");
        }
        return d;
    }

    /** The descriptor at {@code fd}, or null. */
    Descriptor find(int fd) {
        if (fd >= 0 && fd < byNumber.length) {
            return byNumber[fd];
        }
        // Between the array's end and INDEXED nothing is open (installing there grows the array).
        return fd >= 0 && fd < INDEXED ? null : fds.get(fd);
    }

    private void index(int fd, Descriptor d) {
        if (fd < 0 || fd >= INDEXED) {
            return;
        }
        if (fd >= byNumber.length) {
            if (d == null) {
                return;
            }
            byNumber = Arrays.copyOf(byNumber, Math.min(INDEXED, Math.max(fd + 1, byNumber.length * 2)));
        }
        byNumber[fd] = d;
    }

    private void reindex() {
        Arrays.fill(byNumber, null);
        for (Map.Entry<Integer, Descriptor> e : fds.entrySet()) {
            index(e.getKey(), e.getValue());
        }
    }

    /** True when no further descriptor may be opened. */
    boolean full() {
        return fds.size() >= max;
    }

    /** Installs {@code d} at the lowest free number; {@code MFILE} at the limit. */
    int allocate(Descriptor d) {
        if (full()) {
            throw new WasiException(Errno.MFILE, "open descriptor limit " + max + " reached");
        }
        int fd = 0;
        for (int used : fds.keySet()) {
            if (used != fd) {
                break;
            }
            fd++;
        }
        fds.put(fd, d);
        index(fd, d);
        return fd;
    }

    /** Installs {@code d} at {@code fd} (stdio, listeners and preopens at start; renumbering). */
    void put(int fd, Descriptor d) {
        fds.put(fd, d);
        index(fd, d);
    }

    Descriptor remove(int fd) {
        index(fd, null);
        return fds.remove(fd);
    }

    int size() {
        return fds.size();
    }

    Iterable<Descriptor> all() {
        return fds.values();
    }

    void removeIf(Predicate<Descriptor> which) {
        if (fds.values().removeIf(which)) {
            reindex();
        }
    }

    void clear() {
        fds.clear();
        Arrays.fill(byNumber, null);
    }

    /** Writes the table in number order: same table, same bytes. */
    void writeTo(DataOutputStream d) throws IOException {
        d.writeInt(fds.size());
        for (Map.Entry<Integer, Descriptor> e : fds.entrySet()) {
            Descriptor desc = e.getValue();
            d.writeInt(e.getKey());
            d.writeInt(desc.fdflags);
            d.writeLong(desc.rightsBase);
            d.writeLong(desc.rightsInheriting);
            if (desc instanceof Descriptor.Stdio s) {
                d.writeByte(KIND_STDIO);
                d.writeByte(s.which);
            } else if (desc instanceof Descriptor.Listener l && l.claimed) {
                d.writeByte(KIND_CLAIMED_LISTENER);
                d.writeUTF(l.socket.name());
                d.writeInt(l.boundPort);
            } else if (desc instanceof Descriptor.Listener l) {
                d.writeByte(KIND_LISTENER);
                d.writeUTF(l.socket.name());
            } else if (desc instanceof Descriptor.Opened o) {
                d.writeByte(KIND_OPENED);
                d.writeInt(o.boundPort);
            } else if (desc instanceof Descriptor.Socket s) {
                d.writeByte(KIND_SOCKET);
                d.writeLong(s.socket.connection());
            } else if (desc instanceof Descriptor.Directory dir) {
                d.writeByte(KIND_DIRECTORY);
                d.writeLong(dir.node.ino());
                d.writeUTF(dir.preopenName == null ? "" : dir.preopenName);
            } else if (desc instanceof Descriptor.RegularFile f) {
                d.writeByte(KIND_FILE);
                d.writeLong(f.node.ino());
                d.writeLong(f.position);
            }
        }
    }

    /**
     * Replaces the table with one written by {@link #writeTo}, its descriptors attached to {@code network}'s
     * listeners and connections and {@code files}' nodes (restored before it: the filesystem snapshot carries its
     * nodes' open counts, so no new handles are taken).
     */
    void readFrom(DataInputStream d, VirtualNetwork network, WasiFiles files) throws IOException {
        int count = d.readInt();
        if (count < 0 || count > max) {
            throw new IOException("snapshot has " + count + " descriptors; the limit is " + max);
        }
        clear();
        try {
            for (int i = 0; i < count; i++) {
                int fd = d.readInt();
                int flags = d.readInt();
                long base = d.readLong();
                long inheriting = d.readLong();
                Descriptor desc = read(d, fd, flags, base, inheriting, network, files);
                desc.fdflags = flags;
                desc.rightsBase = base;
                desc.rightsInheriting = inheriting;
                if (fds.put(fd, desc) != null) {
                    throw new IOException("snapshot lists fd " + fd + " twice");
                }
            }
        } finally {
            reindex();
        }
    }

    private static int checkedPort(int port, int fd) throws IOException {
        if (port < -1 || port > 65535) {
            throw new IOException("snapshot fd " + fd + " has port " + port + ", outside -1..65535");
        }
        return port;
    }

    private static Descriptor read(DataInputStream d, int fd, int flags, long base, long inheriting, VirtualNetwork network,
                                   WasiFiles files) throws IOException {
        int kind = d.readByte();
        switch (kind) {
            case KIND_STDIO:
                return new Descriptor.Stdio(d.readByte());
            case KIND_LISTENER: {
                String name = d.readUTF();
                ListenerSocket l = network.listener(name);
                if (l == null) {
                    throw new IOException("snapshot fd " + fd + " names unknown listener '" + name + "'");
                }
                return new Descriptor.Listener(l, flags);
            }
            case KIND_CLAIMED_LISTENER: {
                String name = d.readUTF();
                ListenerSocket l = network.listener(name);
                if (l == null || !l.claimed()) {
                    throw new IOException("snapshot fd " + fd + " holds listener '" + name + "', which is unknown or not claimed");
                }
                return new Descriptor.Listener(l, flags, true, checkedPort(d.readInt(), fd));
            }
            case KIND_OPENED:
                return new Descriptor.Opened(checkedPort(d.readInt(), fd));
            case KIND_SOCKET: {
                long conn = d.readLong();
                StreamSocket s = network.connection(conn);
                if (s == null) {
                    throw new IOException("snapshot fd " + fd + " names unknown connection " + conn);
                }
                return new Descriptor.Socket(s, flags);
            }
            case KIND_DIRECTORY: {
                var node = files.nodeByIno(d.readLong());
                String pre = d.readUTF();
                if (!(node instanceof DirectoryNode dn)) {
                    throw new IOException("snapshot fd " + fd + " is a directory but its inode is not");
                }
                return new Descriptor.Directory(dn, pre.isEmpty() ? null : pre, base, inheriting, flags);
            }
            case KIND_FILE: {
                var node = files.nodeByIno(d.readLong());
                long pos = d.readLong();
                if (!(node instanceof FileNode fn)) {
                    throw new IOException("snapshot fd " + fd + " is a file but its inode is not");
                }
                Descriptor.RegularFile f = new Descriptor.RegularFile(fn, base, inheriting, flags);
                f.position = pos;
                return f;
            }
            default:
                throw new IOException("snapshot fd " + fd + " has unknown kind " + kind);
        }
    }
}
