package io.replicode.replica.wasi;

import io.replicode.nat.ConnectionIds;
import io.replicode.replica.Upstream;
import io.replicode.replica.wasi.net.StreamSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The socket calls of WASI preview 1 ({@code sock_accept}, {@code sock_recv}, {@code sock_send},
 * {@code sock_shutdown}) and reads and writes of connected sockets through {@code fd_read}/{@code fd_write}, over
 * the app's {@link io.replicode.replica.wasi.net.VirtualNetwork}, and the calls of the interfaces whose guests open
 * their own sockets ({@link SocketAbi#REPLICODE}, {@link SocketAbi#WASMEDGE}): open, bind, listen (which claims one
 * of the app's declared listeners), connect (to one of the app's upstreams), addresses, options and name lookup. A
 * call that would block parks through {@link WasiHost#blocking} until a frame brings what it waits for.
 *
 * <p>Addresses a guest sees are virtual and the same on every replica: its own end is 127.0.0.1 (the port it bound,
 * else the gateway port of its listener), a client is 10.g.c.c (from the connection id), an upstream is its listed
 * IPv4 address or the virtual one its name was given ({@link io.replicode.replica.Upstream}).
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
        return receive(s, host.memory.iovecs(iovs, iovsLen), riFlags, nreadPtr, roFlagsPtr, 2);
    }

    /**
     * A receive into {@code vecs}: the count goes to {@code nreadPtr}, and zero out-flags of {@code flagBytes} (2 in
     * preview 1, 4 in RepliCode's runtime) to {@code roFlagsPtr} unless it is 0 with 4-byte flags (RepliCode's NULL).
     */
    private int receive(Descriptor.Socket s, List<long[]> vecs, int riFlags, long nreadPtr, long roFlagsPtr, int flagBytes) {
        if ((riFlags & ~(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL)) != 0) {
            return Errno.INVAL;
        }
        GuestMemory memory = host.memory;
        int max = (int) GuestMemory.total(vecs);
        return host.blocking(s.nonblocking(), () -> {
            byte[] b = (riFlags & RIFLAGS_RECV_PEEK) != 0 ? host.network.peek(s.socket, max) : host.network.receive(s.socket, max);
            int n = memory.scatter(vecs, b);
            memory.u32(nreadPtr, n);
            if (flagBytes == 2) {
                memory.u16(roFlagsPtr, 0);
            } else if (roFlagsPtr != 0) {
                memory.u32(roFlagsPtr, 0);
            }
            return Errno.SUCCESS;
        });
    }

    int send(int fd, long iovs, long iovsLen, int siFlags, long nwrittenPtr) {
        Descriptor.Socket s = connected(fd);
        if (siFlags != 0) {
            return Errno.INVAL;
        }
        return write(s, host.memory.iovecs(iovs, iovsLen), nwrittenPtr);
    }

    /**
     * {@code sock_send} and {@code fd_write} on a connected socket. Only what the window takes is copied out of guest
     * memory (at least a byte, to learn that it is closed): a 60 MB reply sent 256 KiB a frame was copied whole every
     * frame, on every replica, and a GET of it took 70 s.
     */
    int write(Descriptor.Socket s, List<long[]> vecs, long nwrittenPtr) {
        long total = GuestMemory.total(vecs);
        return host.blocking(s.nonblocking(), () -> {
            int room = (int) Math.min(total, Math.max(1, Math.min(Integer.MAX_VALUE, s.socket.sendCredit())));
            byte[] data = host.memory.gather(vecs, room);
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

    // ---- sockets the guest opens: shared by the RepliCode and WasmEdge interfaces ----

    private static final int LOCALHOST = 0x7F000001;
    private static final int POSIX_AF_INET = 2;
    private static final int POSIX_SOCK_STREAM = 1;
    private static final int IPPROTO_TCP = 6;
    private static final int WASMEDGE_INET4 = 1;
    private static final int WASMEDGE_INET6 = 2;
    private static final int WASMEDGE_DGRAM = 1;
    private static final int WASMEDGE_STREAM = 2;
    /** WasmEdge's getaddrinfo errors (its extension of the errno list). */
    private static final int EAI_NONAME = 84;
    private static final int EAI_SERVICE = 85;
    private static final int EAI_FAMILY = 81;

    /** {@code sock_open} of RepliCode's interface: POSIX numbers, AF_INET and SOCK_STREAM only (TCP). */
    int openPosix(int domain, int type, int protocol, long fdPtr) {
        if (domain != POSIX_AF_INET) {
            return Errno.AFNOSUPPORT;
        }
        if (type != POSIX_SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP)) {
            return Errno.PROTONOSUPPORT;
        }
        return open(fdPtr);
    }

    /** {@code sock_open} of WasmEdge's interface: INET4 = 1, STREAM = 2; no IPv6 and no datagrams here. */
    int openWasmEdge(int family, int type, long fdPtr) {
        if (family == WASMEDGE_INET6 || family == 3) {
            return Errno.AFNOSUPPORT;
        }
        if (family != WASMEDGE_INET4 || (type != WASMEDGE_STREAM && type != WASMEDGE_DGRAM)) {
            return Errno.INVAL;
        }
        if (type == WASMEDGE_DGRAM) {
            return Errno.PROTONOSUPPORT;
        }
        return open(fdPtr);
    }

    private int open(long fdPtr) {
        host.memory.read(fdPtr, 4);
        if (host.fds.full()) {
            return Errno.MFILE;
        }
        host.memory.u32(fdPtr, host.fds.allocate(new Descriptor.Opened(-1)));
        return Errno.SUCCESS;
    }

    /** WasmEdge's {@code sock_bind(fd, *address, port)}: the port decides which listener a later listen claims. */
    int bind(int fd, long addressPtr, int port) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.Opened o)) {
            return d instanceof Descriptor.Listener || d instanceof Descriptor.Socket ? Errno.INVAL : Errno.NOTSOCK;
        }
        readWasmEdgeAddress(addressPtr);
        if (o.boundPort >= 0) {
            return Errno.INVAL;
        }
        o.boundPort = port & 0xFFFF;
        return Errno.SUCCESS;
    }

    /**
     * {@code sock_listen}: the socket claims one of the app's declared listeners, the one whose gateway port it bound
     * when there is one, else the next free one in declared order (ADDRINUSE when none is left). The backlog is the
     * app's ({@code listenBacklog}), whatever the guest asks.
     */
    int listen(int fd, int backlog) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Listener) {
            return Errno.SUCCESS;
        }
        if (!(d instanceof Descriptor.Opened o)) {
            return d instanceof Descriptor.Socket ? Errno.INVAL : Errno.NOTSOCK;
        }
        var l = host.network.claim(o.boundPort);
        Descriptor.Listener listener = new Descriptor.Listener(l, 0, true, o.boundPort);
        listener.fdflags = o.fdflags;
        host.fds.remove(fd);
        host.fds.put(fd, listener);
        return Errno.SUCCESS;
    }

    /** WasmEdge's two-argument {@code sock_accept(fd, *fd)} (its first interface). */
    int accept(int fd, long resultFdPtr) {
        return accept(fd, 0, resultFdPtr);
    }

    /**
     * RepliCode's {@code sock_connect(fd, addr, n)}: {@code addr} is an IPv4 {@code sockaddr_in} of {@code n} = 16
     * bytes (family 2, port big-endian, address), or, as RepliCode's netcat calls it, a NUL-terminated host (dotted
     * IPv4 or an upstream's name) with {@code n} the port.
     */
    int connectPosix(int fd, long addr, int n) {
        GuestMemory m = host.memory;
        if (n == 16 && m.u16(addr) == POSIX_AF_INET) {
            int port = ((m.u8(addr + 2) & 0xFF) << 8) | (m.u8(addr + 3) & 0xFF);
            return connect(fd, bigEndianInt(m, addr + 4), port);
        }
        String hostName = cString(addr, 256);
        if (n < 1 || n > 65535) {
            return Errno.INVAL;
        }
        Integer address = resolve(hostName);
        if (address == null) {
            throw host.network.refused(hostName + ":" + n);
        }
        return connect(fd, address, n);
    }

    /** WasmEdge's {@code sock_connect(fd, *address, port)}. */
    int connectWasmEdge(int fd, long addressPtr, int port) {
        return connect(fd, readWasmEdgeAddress(addressPtr), port & 0xFFFF);
    }

    /**
     * Connects {@code fd} to {@code address:port}: refused at once (counted) unless an upstream is reached by it; else
     * the connector beside the sequencer connects, and a blocking socket waits for the frame that says how it went
     * (a non-blocking one gets INPROGRESS and polls for writing).
     */
    private int connect(int fd, int address, int port) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Socket s) {
            // Connected already, or the same blocking connect entered again after the guest resumed: its outcome once.
            if (!s.socket.outbound()) {
                return Errno.ISCONN;
            }
            if (s.socket.connectErrno() < 0 && s.nonblocking()) {
                return Errno.ALREADY;
            }
            return host.blocking(s.nonblocking(), () -> host.network.connectOutcome(s.socket));
        }
        if (!(d instanceof Descriptor.Opened o)) {
            return d instanceof Descriptor.Listener ? Errno.INVAL : Errno.NOTSOCK;
        }
        if (host.fds.full()) {
            return Errno.MFILE;
        }
        StreamSocket socket = host.network.connect(address, port, host.frameEpoch);
        Descriptor.Socket connected = new Descriptor.Socket(socket, o.fdflags);
        host.fds.remove(fd);
        host.fds.put(fd, connected);
        if (connected.nonblocking()) {
            return Errno.INPROGRESS;
        }
        return host.blocking(false, () -> host.network.connectOutcome(socket));
    }

    /** RepliCode's {@code sock_recv(fd, buf, len, flags, *received, *out_flags)}: a plain buffer; out_flags may be 0. */
    int recvPlain(int fd, long buf, long len, int riFlags, long nreadPtr, long roFlagsPtr) {
        Descriptor.Socket s = connected(fd);
        return receive(s, List.<long[]>of(new long[] {buf, len}), riFlags, nreadPtr, roFlagsPtr, 4);
    }

    /**
     * RepliCode's {@code sock_send(fd, buf, len, flags, *sent)}: a plain buffer. On a blocking socket the whole buffer
     * is sent before it returns, as RepliCode's runtime did (its programs take a short count for a failure): it parks
     * while the window is closed, and the bytes already sent are kept with the connection across the wait.
     */
    int sendPlain(int fd, long buf, long len, int siFlags, long sentPtr) {
        Descriptor.Socket s = connected(fd);
        if (siFlags != 0) {
            return Errno.INVAL;
        }
        host.memory.checkRange(buf, len);
        if (s.nonblocking()) {
            return write(s, List.of(new long[] {buf, len}), sentPtr);
        }
        return host.blocking(false, () -> {
            StreamSocket socket = s.socket;
            try {
                while (socket.wholeSendDone() < len) {
                    long done = socket.wholeSendDone();
                    // What the window takes of the rest, read from guest memory now (see write).
                    int room = (int) Math.min(len - done, Math.max(1, Math.min(Integer.MAX_VALUE, socket.sendCredit())));
                    byte[] part = host.memory.read(buf + done, room);
                    socket.wholeSendDone(done + host.network.send(socket, part, part.length));
                }
            } catch (WasiException e) {
                if (e.errno() != Errno.AGAIN) {
                    socket.wholeSendDone(0);
                }
                throw e;
            }
            socket.wholeSendDone(0);
            host.memory.u32(sentPtr, len);
            return Errno.SUCCESS;
        });
    }

    /** RepliCode's {@code sock_shutdown(fd, how)} with POSIX's numbers: 0 reading, 1 writing, 2 both (3 also both). */
    int shutdownPosix(int fd, int how) {
        return switch (how) {
            case 0 -> shutdown(fd, SDFLAGS_RD);
            case 1 -> shutdown(fd, SDFLAGS_WR);
            case 2, 3 -> shutdown(fd, SDFLAGS_RD | SDFLAGS_WR);
            default -> Errno.INVAL;
        };
    }

    /** RepliCode's {@code sock_close(fd)}: as {@code fd_close}, for sockets only. */
    int close(int fd) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.Socket || d instanceof Descriptor.Listener || d instanceof Descriptor.Opened)) {
            return Errno.NOTSOCK;
        }
        return host.fdClose(fd);
    }

    /**
     * WasmEdge's {@code sock_getlocaladdr}/{@code sock_getpeeraddr}: with {@code typePtr} (its first interface) the
     * address buffer takes 4 raw bytes and the type is 4 (IPv4); without (its second) the buffer is 128 bytes, family
     * 1 at 0 and the address from 2. The port is written as a u32 in host order.
     */
    int address(int fd, boolean peer, long addressPtr, long typePtr, long portPtr) {
        Descriptor d = host.fds.get(fd);
        int address;
        int port;
        if (d instanceof Descriptor.Socket s) {
            StreamSocket ss = s.socket;
            if (peer) {
                int[] ap = peer(d);
                address = ap[0];
                port = ap[1];
            } else {
                address = LOCALHOST;
                port = ss.outbound() ? 49_152 + (int) (ConnectionIds.counter(ss.connection()) % 16_384)
                        : host.network.portOf(host.network.listener(ss.listener()));
            }
        } else if (d instanceof Descriptor.Listener l) {
            if (peer) {
                return Errno.NOTCONN;
            }
            address = LOCALHOST;
            port = l.boundPort >= 0 ? l.boundPort : host.network.portOf(l.socket);
        } else if (d instanceof Descriptor.Opened o) {
            if (peer) {
                return Errno.NOTCONN;
            }
            address = 0;
            port = Math.max(o.boundPort, 0);
        } else {
            return Errno.NOTSOCK;
        }
        GuestMemory m = host.memory;
        long len = m.u32(addressPtr + 4) & 0xFFFFFFFFL;
        if (typePtr != 0 ? len != 4 && len != 16 : len != 128) {
            return Errno.INVAL;
        }
        writeAddress(addressPtr, address);
        if (typePtr != 0) {
            m.u32(typePtr, 4);
        }
        m.u32(portPtr, port);
        return Errno.SUCCESS;
    }

    /** Writes an IPv4 address into a WasmEdge {@code {buf, buf_len}}: 4 raw bytes, or the 128-byte form. */
    private void writeAddress(long addressPtr, int address) {
        GuestMemory m = host.memory;
        long buf = m.u32(addressPtr) & 0xFFFFFFFFL;
        long len = m.u32(addressPtr + 4) & 0xFFFFFFFFL;
        if (len == 128) {
            byte[] storage = new byte[128];
            storage[0] = WASMEDGE_INET4;
            System.arraycopy(ipv4Bytes(address), 0, storage, 2, 4);
            m.write(buf, storage);
        } else if (len >= 4) {
            m.write(buf, ipv4Bytes(address));
        } else {
            throw new WasiException(Errno.INVAL, "address buffer of " + len + " bytes");
        }
    }

    /**
     * WasmEdge's {@code sock_setsockopt}: SOL_SOCKET (0) only. SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER and the buffer
     * sizes are accepted and change nothing: the virtual network has no TIME_WAIT, the gateway keeps connections alive,
     * and buffers are the app's limits. Timeouts and broadcast are not supported (NOPROTOOPT).
     */
    int setsockopt(int fd, int level, int name, long flagPtr, int size) {
        socketDescriptor(fd);
        if (level != 0) {
            return Errno.NOPROTOOPT;
        }
        host.memory.read(flagPtr, size);
        return switch (name) {
            case 0, 5, 6, 7, 9 -> Errno.SUCCESS; // SO_REUSEADDR, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_LINGER
            default -> Errno.NOPROTOOPT;
        };
    }

    /**
     * WasmEdge's {@code sock_getsockopt}: SO_TYPE (stream, 2), SO_ERROR (a failed connect's errno, then 0),
     * SO_ACCEPTCONN, SO_RCVBUF and SO_SNDBUF (the app's limits), SO_REUSEADDR and SO_KEEPALIVE (0); each a 4-byte int.
     */
    int getsockopt(int fd, int level, int name, long flagPtr, long sizePtr) {
        Descriptor d = socketDescriptor(fd);
        if (level != 0) {
            return Errno.NOPROTOOPT;
        }
        int value;
        switch (name) {
            case 1 -> value = WASMEDGE_STREAM;
            case 2 -> value = d instanceof Descriptor.Socket s && s.socket.outbound() && s.socket.connectErrno() > 0
                    ? s.socket.connectErrno() : 0;
            case 13 -> value = d instanceof Descriptor.Listener ? 1 : 0;
            case 5 -> value = (int) Math.min(Integer.MAX_VALUE, host.config.limits().sendWindowBytes());
            case 6 -> value = host.config.limits().receiveBufferBytes();
            case 0, 7 -> value = 0;
            default -> {
                return Errno.NOPROTOOPT;
            }
        }
        if (host.memory.u32(sizePtr) < 4) {
            return Errno.INVAL;
        }
        host.memory.u32(flagPtr, value);
        host.memory.u32(sizePtr, 4);
        return Errno.SUCCESS;
    }

    /**
     * WasmEdge's {@code sock_getaddrinfo}: a dotted IPv4 address is itself; a name is known only when it is one of the
     * app's upstreams, and gets that upstream's virtual address (the real lookup happens on the host at connect and is
     * recorded in the frame). The service is a port number. One result is written into the guest's first
     * preallocated addrinfo.
     */
    int getaddrinfo(long node, long nodeLen, long service, long serviceLen, long hints, long resPtr, long maxResults,
                    long resLenPtr) {
        GuestMemory m = host.memory;
        String name = trimNul(new String(m.read(node, nodeLen), StandardCharsets.UTF_8));
        String svc = trimNul(new String(m.read(service, serviceLen), StandardCharsets.UTF_8));
        if (maxResults < 1) {
            return 82; // AIMEMORY
        }
        if (hints != 0) {
            int family = m.u8(hints + 2) & 0xFF;
            if (family == WASMEDGE_INET6) {
                return EAI_FAMILY;
            }
        }
        int port = 0;
        if (!svc.isEmpty()) {
            try {
                port = Integer.parseInt(svc);
            } catch (NumberFormatException e) {
                return EAI_SERVICE;
            }
            if (port < 0 || port > 65535) {
                return EAI_SERVICE;
            }
        }
        Integer address = name.isEmpty() ? Integer.valueOf(0) : resolve(name);
        if (address == null) {
            return EAI_NONAME;
        }
        long info = m.u32(resPtr) & 0xFFFFFFFFL;
        long sockaddr = m.u32(info + 12) & 0xFFFFFFFFL;
        long data = m.u32(sockaddr + 8) & 0xFFFFFFFFL;
        m.u16(info, 0);
        m.u8(info + 2, WASMEDGE_INET4);
        m.u8(info + 3, WASMEDGE_STREAM);
        m.u8(info + 4, 1); // IPPROTO_TCP in WasmEdge's numbering
        m.u32(info + 8, 16);
        m.u32(info + 20, 0);
        m.u8(sockaddr, WASMEDGE_INET4);
        m.u32(sockaddr + 4, 14);
        byte[] sa = new byte[14];
        sa[0] = (byte) (port >>> 8);
        sa[1] = (byte) port;
        System.arraycopy(ipv4Bytes(address), 0, sa, 2, 4);
        m.write(data, sa);
        m.u32(resLenPtr, 1);
        return Errno.SUCCESS;
    }

    /**
     * WasmEdge's {@code sock_recv_from} on a stream socket: a receive, and the peer's address (and port, as a u16, when
     * {@code portPtr} is given: its second interface).
     */
    int recvFrom(int fd, long iovs, long iovsLen, long addressPtr, int riFlags, long portPtr, long nreadPtr, long roFlagsPtr) {
        int r = recv(fd, iovs, iovsLen, riFlags, nreadPtr, roFlagsPtr);
        if (r != Errno.SUCCESS) {
            return r;
        }
        int[] peer = peer(host.fds.get(fd));
        if (addressPtr != 0 && peer != null) {
            writeAddress(addressPtr, peer[0]);
        }
        if (portPtr != 0) {
            host.memory.u16(portPtr, peer == null ? 0 : peer[1]);
        }
        return r;
    }

    /** WasmEdge's {@code sock_send_to} on a connected stream socket: the address is ignored, as TCP does. */
    int sendTo(int fd, long iovs, long iovsLen, long addressPtr, int port, int siFlags, long nwrittenPtr) {
        return send(fd, iovs, iovsLen, siFlags, nwrittenPtr);
    }

    // ---- helpers ----

    /** The guest-visible address and port of a connection's other end, or null for a descriptor that is not one. */
    private int[] peer(Descriptor d) {
        if (!(d instanceof Descriptor.Socket s)) {
            return null;
        }
        StreamSocket ss = s.socket;
        if (ss.outbound()) {
            return upstreamAddress(ss);
        }
        long c = ConnectionIds.counter(ss.connection());
        int address = (10 << 24) | ((ConnectionIds.gateway(ss.connection()) & 0xFF) << 16) | (int) (c & 0xFFFF);
        return new int[] {address, 1024 + (int) (c % 64_000)};
    }

    private Descriptor socketDescriptor(int fd) {
        Descriptor d = host.fds.get(fd);
        if (!(d instanceof Descriptor.Socket || d instanceof Descriptor.Listener || d instanceof Descriptor.Opened)) {
            throw new WasiException(Errno.NOTSOCK, "fd " + fd + " is not a socket");
        }
        return d;
    }

    /** The IPv4 address in a WasmEdge {@code {buf, buf_len}}: 4 raw bytes, or 128 with family 1 at 0 and the address at 2. */
    private int readWasmEdgeAddress(long addressPtr) {
        GuestMemory m = host.memory;
        long buf = m.u32(addressPtr) & 0xFFFFFFFFL;
        long len = m.u32(addressPtr + 4) & 0xFFFFFFFFL;
        if (len == 4) {
            return bigEndianInt(m, buf);
        }
        if (len == 128) {
            int family = m.u16(buf);
            if (family != WASMEDGE_INET4) {
                throw new WasiException(Errno.AFNOSUPPORT, "address family " + family + ": only IPv4 (1) is served");
            }
            return bigEndianInt(m, buf + 2);
        }
        if (len == 16) {
            throw new WasiException(Errno.AFNOSUPPORT, "IPv6 addresses are not served; use IPv4");
        }
        throw new WasiException(Errno.INVAL, "address buffer of " + len + " bytes (4, 16 or 128 expected)");
    }

    /** A guest-visible address for a host name: an IPv4 literal is itself, an upstream's name its virtual address. */
    private Integer resolve(String name) {
        String[] parts = name.split("\\.", -1);
        if (parts.length == 4) {
            int a = 0;
            for (String p : parts) {
                if (!p.matches("\\d{1,3}") || Integer.parseInt(p) > 255) {
                    return Upstream.addressOf(host.network.upstreams(), name);
                }
                a = (a << 8) | Integer.parseInt(p);
            }
            return a;
        }
        return name.isEmpty() ? null : Upstream.addressOf(host.network.upstreams(), name);
    }

    /** The guest-visible address and port of an outbound connection's upstream. */
    private int[] upstreamAddress(StreamSocket s) {
        Upstream u = Upstream.parse(s.target());
        List<Upstream> all = host.network.upstreams();
        return new int[] {Upstream.virtualAddress(all, all.indexOf(u)), u.port()};
    }

    private static int bigEndianInt(GuestMemory m, long at) {
        byte[] b = m.read(at, 4);
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    private static byte[] ipv4Bytes(int a) {
        return new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a};
    }

    private String cString(long at, int max) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < max; i++) {
            int c = host.memory.u8(at + i) & 0xFF;
            if (c == 0) {
                return s.toString();
            }
            s.append((char) c);
        }
        throw new WasiException(Errno.NAMETOOLONG, "connect: host name longer than " + max + " bytes");
    }

    private static String trimNul(String s) {
        int end = s.length();
        while (end > 0 && s.charAt(end - 1) == 0) {
            end--;
        }
        return s.substring(0, end);
    }

    private Descriptor.Socket connected(int fd) {
        Descriptor d = host.fds.get(fd);
        if (d instanceof Descriptor.Socket s) {
            return s;
        }
        throw new WasiException(d instanceof Descriptor.Listener || d instanceof Descriptor.Opened ? Errno.NOTCONN
                : Errno.NOTSOCK, "fd " + fd + " is not a connected socket");
    }
}
