package io.replicode.replica.wasi;

import io.replicode.replica.wasi.net.StreamSocket;
import java.util.List;

/**
 * The socket calls of WASI preview 1 ({@code sock_accept}, {@code sock_recv}, {@code sock_send},
 * {@code sock_shutdown}) and reads and writes of connected sockets through {@code fd_read}/{@code fd_write}, over
 * the app's {@link io.replicode.replica.wasi.net.VirtualNetwork}. A call that would block parks through
 * {@link WasiHost#blocking} until a frame brings what it waits for.
 */
final class WasiSockets {
    private static final int RIFLAGS_RECV_PEEK = 1;
    private static final int RIFLAGS_RECV_WAITALL = 2;
    private static final int SDFLAGS_RD = 1;
    private static final int SDFLAGS_WR = 2;

    private final WasiHost host;

    WasiSockets(WasiHost host) {
        this.host = host;
    }

    int accept(int fd, int flags, long resultFdPtr) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.Listener l)) {
            return d instanceof Descriptor.Socket ? Errno.INVAL : Errno.NOTSOCK;
        }
        if ((flags & ~Descriptor.FDFLAG_NONBLOCK) != 0) {
            return Errno.INVAL;
        }
        if (host.fds.full()) {
            return Errno.MFILE;
        }
        return host.blocking(l.nonblocking(), () -> {
            StreamSocket s = host.network.accept(l.socket);
            int newFd = host.fds.allocate(new Descriptor.Socket(s, flags & Descriptor.FDFLAG_NONBLOCK));
            host.memory.u32(resultFdPtr, newFd);
            return Errno.SUCCESS;
        });
    }

    int recv(int fd, long iovs, long iovsLen, int riFlags, long nreadPtr, long roFlagsPtr) {
        Descriptor.Socket s = connected(fd);
        if ((riFlags & ~(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL)) != 0) {
            return Errno.INVAL;
        }
        GuestMemory memory = host.memory;
        List<long[]> vecs = memory.iovecs(iovs, iovsLen);
        int max = (int) GuestMemory.total(vecs);
        return host.blocking(s.nonblocking(), () -> {
            byte[] b = (riFlags & RIFLAGS_RECV_PEEK) != 0 ? host.network.peek(s.socket, max) : host.network.receive(s.socket, max);
            int n = memory.scatter(vecs, b);
            memory.u32(nreadPtr, n);
            memory.u16(roFlagsPtr, 0);
            return Errno.SUCCESS;
        });
    }

    int send(int fd, long iovs, long iovsLen, int siFlags, long nwrittenPtr) {
        Descriptor.Socket s = connected(fd);
        if (siFlags != 0) {
            return Errno.INVAL;
        }
        byte[] data = host.memory.gather(host.memory.iovecs(iovs, iovsLen));
        return write(s, data, nwrittenPtr);
    }

    /** {@code sock_send} and {@code fd_write} on a connected socket. */
    int write(Descriptor.Socket s, byte[] data, long nwrittenPtr) {
        return host.blocking(s.nonblocking(), () -> {
            int n = host.network.send(s.socket, data, data.length);
            host.memory.u32(nwrittenPtr, n);
            return Errno.SUCCESS;
        });
    }

    /** {@code fd_read} on a connected socket. */
    int read(Descriptor.Socket s, List<long[]> vecs, long nreadPtr) {
        int max = (int) GuestMemory.total(vecs);
        return host.blocking(s.nonblocking(), () -> {
            byte[] b = host.network.receive(s.socket, max);
            host.memory.u32(nreadPtr, host.memory.scatter(vecs, b));
            return Errno.SUCCESS;
        });
    }

    int shutdown(int fd, int how) {
        Descriptor.Socket s = connected(fd);
        if (how == 0 || (how & ~(SDFLAGS_RD | SDFLAGS_WR)) != 0) {
            return Errno.INVAL;
        }
        host.network.shutdown(s.socket, (how & SDFLAGS_RD) != 0, (how & SDFLAGS_WR) != 0);
        return Errno.SUCCESS;
    }

    private Descriptor.Socket connected(int fd) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Socket s) {
            return s;
        }
        throw new WasiException(d instanceof Descriptor.Listener ? Errno.NOTCONN : Errno.NOTSOCK,
                "fd " + fd + " is not a connected socket");
    }
}
