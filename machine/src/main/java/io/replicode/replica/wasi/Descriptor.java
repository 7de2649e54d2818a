package io.replicode.replica.wasi;

import io.replicode.replica.wasi.fs.Filetype;
import io.replicode.replica.wasi.net.ListenerSocket;
import io.replicode.replica.wasi.net.StreamSocket;

/** What a guest file descriptor refers to. */
public abstract class Descriptor {
    public static final int FDFLAG_APPEND = 1;
    public static final int FDFLAG_DSYNC = 2;
    public static final int FDFLAG_NONBLOCK = 4;
    public static final int FDFLAG_RSYNC = 8;
    public static final int FDFLAG_SYNC = 16;

    int fdflags;
    long rightsBase;
    long rightsInheriting;

    Descriptor(int fdflags, long rightsBase, long rightsInheriting) {
        this.fdflags = fdflags;
        this.rightsBase = rightsBase;
        this.rightsInheriting = rightsInheriting;
    }

    abstract int filetype();

    boolean nonblocking() {
        return (fdflags & FDFLAG_NONBLOCK) != 0;
    }

    /** Standard input, output or error. */
    static final class Stdio extends Descriptor {
        final int which;

        Stdio(int which) {
            super(0, which == 0 ? Rights.FD_READ | Rights.POLL : Rights.FD_WRITE | Rights.POLL, 0);
            this.which = which;
        }

        @Override
        int filetype() {
            return Filetype.CHARACTER_DEVICE;
        }
    }

    /**
     * A listening socket: preopened (WASI preview 1), or one of the app's listeners the guest claimed with a socket it
     * opened and listened on ({@code claimed}: closing it lets the listener go).
     */
    static final class Listener extends Descriptor {
        final ListenerSocket socket;
        final boolean claimed;
        /** The port the guest bound before listening, -1 when it did not bind. */
        final int boundPort;

        Listener(ListenerSocket socket, int fdflags) {
            this(socket, fdflags, false, -1);
        }

        Listener(ListenerSocket socket, int fdflags, boolean claimed, int boundPort) {
            super(fdflags, Rights.SOCK_ACCEPT | Rights.POLL | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET, 0);
            this.socket = socket;
            this.claimed = claimed;
            this.boundPort = boundPort;
        }

        @Override
        int filetype() {
            return Filetype.SOCKET_STREAM;
        }
    }

    /** A TCP socket the guest opened ({@code sock_open}) that does not listen or connect yet. */
    static final class Opened extends Descriptor {
        /** The port it was bound to ({@code sock_bind}), -1 when not bound. */
        int boundPort;

        Opened(int boundPort) {
            super(0, Rights.POLL | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET | Rights.SOCK_SHUTDOWN, 0);
            this.boundPort = boundPort;
        }

        @Override
        int filetype() {
            return Filetype.SOCKET_STREAM;
        }
    }

    /** An accepted connection, or one the guest opened to an upstream. */
    static final class Socket extends Descriptor {
        final StreamSocket socket;

        Socket(StreamSocket socket, int fdflags) {
            super(fdflags, Rights.FD_READ | Rights.FD_WRITE | Rights.POLL | Rights.SOCK_SHUTDOWN
                    | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET, 0);
            this.socket = socket;
        }

        @Override
        int filetype() {
            return Filetype.SOCKET_STREAM;
        }
    }

    /** A directory: a preopen (with its name) or one opened through a path. */
    static final class Directory extends Descriptor {
        final io.replicode.replica.wasi.fs.DirectoryNode node;
        final String preopenName;

        Directory(io.replicode.replica.wasi.fs.DirectoryNode node, String preopenName, long rightsBase, long rightsInheriting,
                  int fdflags) {
            super(fdflags, rightsBase, rightsInheriting);
            this.node = node;
            this.preopenName = preopenName;
        }

        @Override
        int filetype() {
            return Filetype.DIRECTORY;
        }
    }

    /** A regular file with its own position. */
    static final class RegularFile extends Descriptor {
        final io.replicode.replica.wasi.fs.FileNode node;
        long position;

        RegularFile(io.replicode.replica.wasi.fs.FileNode node, long rightsBase, long rightsInheriting, int fdflags) {
            super(fdflags, rightsBase, rightsInheriting);
            this.node = node;
        }

        @Override
        int filetype() {
            return Filetype.REGULAR_FILE;
        }
    }

    /** WASI rights bits used by the host. */
    public static final class Rights {
        public static final long FD_DATASYNC = 1L;
        public static final long FD_READ = 1L << 1;
        public static final long FD_SEEK = 1L << 2;
        public static final long FD_FDSTAT_SET_FLAGS = 1L << 3;
        public static final long FD_SYNC = 1L << 4;
        public static final long FD_TELL = 1L << 5;
        public static final long FD_WRITE = 1L << 6;
        public static final long FD_ADVISE = 1L << 7;
        public static final long FD_ALLOCATE = 1L << 8;
        public static final long FD_READDIR = 1L << 14;
        public static final long FD_FILESTAT_GET = 1L << 21;
        public static final long POLL = 1L << 27;
        public static final long SOCK_SHUTDOWN = 1L << 28;
        public static final long SOCK_ACCEPT = 1L << 29;
        /** Every right a directory or file can have (bits 0..28, like wasmtime's preopens). */
        public static final long ALL_FS = (1L << 29) - 1 & ~SOCK_SHUTDOWN;

        private Rights() {}
    }
}
