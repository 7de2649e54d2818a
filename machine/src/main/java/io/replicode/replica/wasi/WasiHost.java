package io.replicode.replica.wasi;

import io.replicode.nat.Output;
import io.replicode.replica.wasi.net.ListenerSocket;
import io.replicode.replica.wasi.net.StreamSocket;
import io.replicode.replica.wasi.net.VirtualNetwork;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The state behind our WASI preview 1: descriptors, virtual network, files, clock and randomness, and
 * the implementation of every call except the filesystem ones, which live in {@link WasiFiles}.
 *
 * <p>Everything a call returns is derived from frames and the app's genesis. Calls that must wait
 * (accept, recv, send, read, write on sockets, poll) go through {@link #blocking}, which parks the guest
 * until the next frame through the machine's {@link Parking}.
 */
public final class WasiHost {
    /** Returned by a blocking call that started an asyncify unwind; the guest ignores it while unwinding. */
    static final int UNWOUND = 0;

    public static final int CLOCK_REALTIME = 0;
    public static final int CLOCK_MONOTONIC = 1;
    public static final int CLOCK_PROCESS_CPUTIME = 2;
    public static final int CLOCK_THREAD_CPUTIME = 3;

    /** How a host call that cannot proceed waits for the next frame. */
    public interface Parking {
        /** Called on entry of a blocking import: completes a rewind in progress. */
        void enter();

        /**
         * Nothing to do until the next frame. Returns true when the guest is unwinding (the call must
         * return at once and will be re-entered), false when the thread resumed on a new frame.
         */
        boolean waitForNextFrame();

        /** Called on entry of every import: an import running while the guest unwinds is a build error. */
        void checkNotUnwinding(String importName);
    }

    final io.replicode.replica.GuestConfig config;
    final OutputBuffer out;
    final VirtualNetwork network;
    final GuestRandom random;
    final TreeMap<Integer, Descriptor> fds = new TreeMap<>();
    final WasiFiles files;
    GuestMemory memory;
    Parking parking;

    long frameTimeNs;
    long fuelConsumedNs;
    /** Frame time at which the current blocking call first had to wait, or -1. */
    long blockedSinceNs = -1;
    /** The last timer requested from the sequencer during the current wait, or -1. */
    long requestedTimerNs = -1;

    public WasiHost(io.replicode.replica.GuestConfig config) {
        this.config = config;
        this.out = new OutputBuffer(config.limits().maxLogBytesPerFrame());
        this.network = new VirtualNetwork(config.listeners(), config.limits().listenBacklog(),
                config.limits().receiveBufferBytes(), config.limits().sendWindowBytes(), out);
        this.random = new GuestRandom(config.genesisSeed());
        this.frameTimeNs = config.genesisTimeNs();
        fds.put(0, new Descriptor.Stdio(0));
        fds.put(1, new Descriptor.Stdio(1));
        fds.put(2, new Descriptor.Stdio(2));
        int fd = 3;
        for (ListenerSocket l : network.listeners()) {
            fds.put(fd++, new Descriptor.Listener(l, 0));
        }
        this.files = new WasiFiles(this);
        files.preopen(fd);
    }

    public VirtualNetwork network() {
        return network;
    }

    public OutputBuffer outputs() {
        return out;
    }

    public WasiFiles files() {
        return files;
    }

    /** Binds the host to an instance's memory and the machine's way of waiting. */
    public void bind(com.dylibso.chicory.runtime.Memory memory, Parking parking) {
        this.memory = new GuestMemory(memory);
        this.parking = parking;
    }

    /** Starts a frame: its time (never decreasing) and entropy. */
    public void beginFrame(long seq, long timeNs, byte[] entropy) {
        frameTimeNs = Math.max(frameTimeNs, timeNs);
        random.reseed(seq, entropy);
    }

    public long frameTimeNs() {
        return frameTimeNs;
    }

    public long fuelConsumed() {
        return fuelConsumedNs;
    }

    public void addFuelConsumed(long units) {
        fuelConsumedNs += units;
    }

    /** Number of open descriptors, including stdio. */
    public int openDescriptors() {
        return fds.size();
    }

    // ---- descriptors ----

    Descriptor descriptor(int fd) {
        Descriptor d = fds.get(fd);
        if (d == null) {
            throw new WasiException(Errno.BADF, "fd " + fd + " is not open");
        }
        return d;
    }

    /** Installs {@code d} at the lowest free descriptor number, like POSIX. */
    int allocate(Descriptor d) {
        if (fds.size() >= config.limits().maxOpenFds()) {
            throw new WasiException(Errno.MFILE, "open descriptor limit " + config.limits().maxOpenFds() + " reached");
        }
        int fd = 0;
        for (int used : fds.keySet()) {
            if (used != fd) {
                break;
            }
            fd++;
        }
        fds.put(fd, d);
        return fd;
    }

    /**
     * A host for a new process of the same app, as when a supervisor restarts a crashed server: the files, the
     * clock, the random stream and the fuel count of {@code old} carry over; connections and descriptors do not.
     * Every descriptor of {@code old} is closed (so files unlinked while open are released) and every connection
     * it had is reset; {@code old} is not used again.
     */
    public static WasiHost restartedFrom(WasiHost old) {
        WasiHost h = new WasiHost(old.config);
        old.appStopped();
        for (Descriptor d : old.fds.values()) {
            old.files.close(d);
        }
        old.fds.clear();
        h.frameTimeNs = old.frameTimeNs;
        h.fuelConsumedNs = old.fuelConsumedNs;
        try {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
            old.random.writeTo(out);
            out.flush();
            h.random.readFrom(new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray())));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("copying the random stream of app '" + old.config.app() + "' failed", e);
        }
        h.files.adopt(old.files, 3 + h.network.listeners().size());
        return h;
    }

    /** The app stopped: every connection is reset and the guest's socket descriptors are gone with it. */
    public void appStopped() {
        network.resetAll();
        fds.values().removeIf(d -> d instanceof Descriptor.Socket);
    }

    // ---- args, environment ----

    int argsSizesGet(long argcPtr, long bufSizePtr) {
        return sizes(config.args(), argcPtr, bufSizePtr);
    }

    int argsGet(long argv, long buf) {
        return strings(config.args(), argv, buf);
    }

    int environSizesGet(long countPtr, long bufSizePtr) {
        return sizes(environ(), countPtr, bufSizePtr);
    }

    int environGet(long environ, long buf) {
        return strings(environ(), environ, buf);
    }

    private List<String> environ() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : config.environment().entrySet()) {
            out.add(e.getKey() + "=" + e.getValue());
        }
        return out;
    }

    private int sizes(List<String> values, long countPtr, long sizePtr) {
        long size = 0;
        for (String v : values) {
            size += v.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        memory.u32(countPtr, values.size());
        memory.u32(sizePtr, size);
        return Errno.SUCCESS;
    }

    private int strings(List<String> values, long ptrs, long buf) {
        long pos = buf;
        for (int i = 0; i < values.size(); i++) {
            byte[] b = values.get(i).getBytes(StandardCharsets.UTF_8);
            memory.u32(ptrs + 4L * i, pos);
            memory.write(pos, b);
            memory.u8(pos + b.length, 0);
            pos += b.length + 1;
        }
        return Errno.SUCCESS;
    }

    // ---- clocks and randomness ----

    long clockNow(int id) {
        switch (id) {
            case CLOCK_REALTIME:
                return frameTimeNs;
            case CLOCK_MONOTONIC:
                return frameTimeNs - config.genesisTimeNs();
            case CLOCK_PROCESS_CPUTIME:
            case CLOCK_THREAD_CPUTIME:
                // Deterministic CPU time: one fuel unit counts as one nanosecond.
                return fuelConsumedNs;
            default:
                throw new WasiException(Errno.INVAL, "unknown clock id " + id);
        }
    }

    int clockResGet(int id, long resultPtr) {
        clockNow(id);
        memory.u64(resultPtr, 1);
        return Errno.SUCCESS;
    }

    int clockTimeGet(int id, long resultPtr) {
        memory.u64(resultPtr, clockNow(id));
        return Errno.SUCCESS;
    }

    int randomGet(long buf, long len) {
        if (len < 0 || len > (1 << 26)) {
            throw new WasiException(Errno.INVAL, "random_get of " + len + " bytes");
        }
        byte[] b = new byte[(int) len];
        random.fill(b);
        memory.write(buf, b);
        return Errno.SUCCESS;
    }

    // ---- blocking ----

    /** A call that may have to wait; it throws {@code AGAIN} when it would block. */
    interface Attempt {
        int run();
    }

    /**
     * Runs {@code attempt}; when it would block on a blocking descriptor, parks until the next frame and
     * retries. Non-blocking descriptors get {@code AGAIN}.
     */
    int blocking(boolean nonblocking, Attempt attempt) {
        parking.enter();
        while (true) {
            try {
                int r = attempt.run();
                endWait();
                return r;
            } catch (WasiException e) {
                if (e.errno() != Errno.AGAIN || nonblocking) {
                    endWait();
                    return e.errno();
                }
            }
            if (blockedSinceNs < 0) {
                blockedSinceNs = frameTimeNs;
            }
            if (parking.waitForNextFrame()) {
                return UNWOUND;
            }
        }
    }

    private void endWait() {
        blockedSinceNs = -1;
        requestedTimerNs = -1;
    }

    // ---- sockets ----

    int sockAccept(int fd, int flags, long resultFdPtr) {
        Descriptor d = descriptor(fd);
        if (!(d instanceof Descriptor.Listener l)) {
            return d instanceof Descriptor.Socket ? Errno.INVAL : Errno.NOTSOCK;
        }
        if ((flags & ~Descriptor.FDFLAG_NONBLOCK) != 0) {
            return Errno.INVAL;
        }
        if (fds.size() >= config.limits().maxOpenFds()) {
            return Errno.MFILE;
        }
        return blocking(l.nonblocking(), () -> {
            StreamSocket s = network.accept(l.socket);
            int newFd = allocate(new Descriptor.Socket(s, flags & Descriptor.FDFLAG_NONBLOCK));
            memory.u32(resultFdPtr, newFd);
            return Errno.SUCCESS;
        });
    }

    private static final int RIFLAGS_RECV_PEEK = 1;
    private static final int RIFLAGS_RECV_WAITALL = 2;

    int sockRecv(int fd, long iovs, long iovsLen, int riFlags, long nreadPtr, long roFlagsPtr) {
        Descriptor.Socket s = socket(fd);
        if ((riFlags & ~(RIFLAGS_RECV_PEEK | RIFLAGS_RECV_WAITALL)) != 0) {
            return Errno.INVAL;
        }
        List<long[]> vecs = memory.iovecs(iovs, iovsLen);
        int max = (int) GuestMemory.total(vecs);
        return blocking(s.nonblocking(), () -> {
            byte[] b = (riFlags & RIFLAGS_RECV_PEEK) != 0 ? network.peek(s.socket, max) : network.receive(s.socket, max);
            int n = memory.scatter(vecs, b);
            memory.u32(nreadPtr, n);
            memory.u16(roFlagsPtr, 0);
            return Errno.SUCCESS;
        });
    }

    int sockSend(int fd, long iovs, long iovsLen, int siFlags, long nwrittenPtr) {
        Descriptor.Socket s = socket(fd);
        if (siFlags != 0) {
            return Errno.INVAL;
        }
        byte[] data = memory.gather(memory.iovecs(iovs, iovsLen));
        return socketWrite(s, data, nwrittenPtr);
    }

    int socketWrite(Descriptor.Socket s, byte[] data, long nwrittenPtr) {
        return blocking(s.nonblocking(), () -> {
            int n = network.send(s.socket, data, data.length);
            memory.u32(nwrittenPtr, n);
            return Errno.SUCCESS;
        });
    }

    int socketRead(Descriptor.Socket s, List<long[]> vecs, long nreadPtr) {
        int max = (int) GuestMemory.total(vecs);
        return blocking(s.nonblocking(), () -> {
            byte[] b = network.receive(s.socket, max);
            memory.u32(nreadPtr, memory.scatter(vecs, b));
            return Errno.SUCCESS;
        });
    }

    private static final int SDFLAGS_RD = 1;
    private static final int SDFLAGS_WR = 2;

    int sockShutdown(int fd, int how) {
        Descriptor.Socket s = socket(fd);
        if (how == 0 || (how & ~(SDFLAGS_RD | SDFLAGS_WR)) != 0) {
            return Errno.INVAL;
        }
        network.shutdown(s.socket, (how & SDFLAGS_RD) != 0, (how & SDFLAGS_WR) != 0);
        return Errno.SUCCESS;
    }

    private Descriptor.Socket socket(int fd) {
        Descriptor d = descriptor(fd);
        if (d instanceof Descriptor.Socket s) {
            return s;
        }
        throw new WasiException(d instanceof Descriptor.Listener ? Errno.NOTCONN : Errno.NOTSOCK,
                "fd " + fd + " is not a connected socket");
    }

    // ---- generic descriptor calls ----

    int fdClose(int fd) {
        Descriptor d = descriptor(fd);
        if (d instanceof Descriptor.Socket s) {
            network.close(s.socket);
        } else if (d instanceof Descriptor.Listener) {
            // The listener stays declared in the app; closing only drops the guest's descriptor.
        } else {
            files.close(d);
        }
        fds.remove(fd);
        return Errno.SUCCESS;
    }

    int fdFdstatGet(int fd, long ptr) {
        Descriptor d = descriptor(fd);
        memory.u8(ptr, d.filetype());
        memory.u8(ptr + 1, 0);
        memory.u16(ptr + 2, d.fdflags);
        memory.u32(ptr + 4, 0);
        memory.u64(ptr + 8, d.rightsBase);
        memory.u64(ptr + 16, d.rightsInheriting);
        return Errno.SUCCESS;
    }

    int fdFdstatSetFlags(int fd, int flags) {
        Descriptor d = descriptor(fd);
        int allowed = Descriptor.FDFLAG_NONBLOCK | Descriptor.FDFLAG_APPEND;
        if ((flags & ~(allowed | Descriptor.FDFLAG_DSYNC | Descriptor.FDFLAG_RSYNC | Descriptor.FDFLAG_SYNC)) != 0) {
            return Errno.INVAL;
        }
        if ((flags & Descriptor.FDFLAG_APPEND) != 0 && d.filetype() != io.replicode.replica.wasi.fs.Filetype.REGULAR_FILE) {
            return Errno.INVAL;
        }
        // The sync flags have no meaning for an in-memory filesystem where every write is already durable
        // within the guest's state; they are kept so fdstat reports what the guest set.
        d.fdflags = flags;
        return Errno.SUCCESS;
    }

    int fdFdstatSetRights(int fd, long base, long inheriting) {
        Descriptor d = descriptor(fd);
        if ((base & ~d.rightsBase) != 0 || (inheriting & ~d.rightsInheriting) != 0) {
            return Errno.NOTCAPABLE;
        }
        d.rightsBase = base;
        d.rightsInheriting = inheriting;
        return Errno.SUCCESS;
    }

    int fdRead(int fd, long iovs, long iovsLen, long nreadPtr) {
        Descriptor d = descriptor(fd);
        List<long[]> vecs = memory.iovecs(iovs, iovsLen);
        if (d instanceof Descriptor.Socket s) {
            return socketRead(s, vecs, nreadPtr);
        }
        if (d instanceof Descriptor.Stdio stdio) {
            if (stdio.which != 0) {
                return Errno.BADF;
            }
            memory.u32(nreadPtr, 0); // stdin is empty: end of file
            return Errno.SUCCESS;
        }
        if (d instanceof Descriptor.Listener) {
            return Errno.NOTCONN;
        }
        return files.read(d, vecs, nreadPtr);
    }

    int fdWrite(int fd, long iovs, long iovsLen, long nwrittenPtr) {
        Descriptor d = descriptor(fd);
        List<long[]> vecs = memory.iovecs(iovs, iovsLen);
        if (d instanceof Descriptor.Socket s) {
            return socketWrite(s, memory.gather(vecs), nwrittenPtr);
        }
        if (d instanceof Descriptor.Stdio stdio) {
            if (stdio.which == 0) {
                return Errno.BADF;
            }
            byte[] data = memory.gather(vecs);
            out.log(stdio.which, data);
            // Bytes beyond the per-frame log budget are dropped (and counted), but the write succeeds so the
            // guest behaves as if its terminal had consumed them.
            memory.u32(nwrittenPtr, data.length);
            return Errno.SUCCESS;
        }
        if (d instanceof Descriptor.Listener) {
            return Errno.NOTCONN;
        }
        return files.write(d, vecs, nwrittenPtr);
    }

    int fdRenumber(int from, int to) {
        Descriptor d = descriptor(from);
        descriptor(to);
        if (from == to) {
            return Errno.SUCCESS;
        }
        fdClose(to);
        fds.remove(from);
        fds.put(to, d);
        return Errno.SUCCESS;
    }

    int fdFilestatGet(int fd, long ptr) {
        Descriptor d = descriptor(fd);
        if (d instanceof Descriptor.Stdio || d instanceof Descriptor.Socket || d instanceof Descriptor.Listener) {
            // Not files: everything zero but the type, as Linux reports for sockets and ttys on a fresh fs.
            for (int i = 0; i < 64; i += 8) {
                memory.u64(ptr + i, 0);
            }
            memory.u8(ptr + 16, d.filetype());
            memory.u64(ptr + 24, 1);
            return Errno.SUCCESS;
        }
        return files.filestat(d, ptr);
    }

    // ---- poll ----

    private static final int EVENTTYPE_CLOCK = 0;
    private static final int EVENTTYPE_FD_READ = 1;
    private static final int EVENTTYPE_FD_WRITE = 2;
    private static final int SUBCLOCKFLAGS_ABSTIME = 1;
    private static final int EVENTRWFLAGS_HANGUP = 1;

    int pollOneoff(long in, long outPtr, long nsubs, long neventsPtr) {
        if (nsubs <= 0) {
            return Errno.INVAL;
        }
        if (nsubs > 4096) {
            return Errno.INVAL;
        }
        memory.read(in, nsubs * 48);
        memory.read(outPtr, nsubs * 32);
        return blocking(false, () -> pollOnce(in, outPtr, (int) nsubs, neventsPtr));
    }

    private int pollOnce(long in, long outPtr, int nsubs, long neventsPtr) {
        int events = 0;
        long earliestDeadline = Long.MAX_VALUE;
        long waitStart = blockedSinceNs >= 0 ? blockedSinceNs : frameTimeNs;
        for (int i = 0; i < nsubs; i++) {
            long sub = in + 48L * i;
            long userdata = memory.u64(sub);
            int tag = memory.u8(sub + 8);
            int error = 0;
            long nbytes = 0;
            int flags = 0;
            boolean ready;
            if (tag == EVENTTYPE_CLOCK) {
                int clockId = memory.u32(sub + 16);
                long timeout = memory.u64(sub + 24);
                int subFlags = memory.u16(sub + 40);
                long deadline;
                try {
                    long now = clockNow(clockId);
                    long offset = clockId == CLOCK_MONOTONIC ? config.genesisTimeNs() : 0;
                    if ((subFlags & SUBCLOCKFLAGS_ABSTIME) != 0) {
                        deadline = clockId == CLOCK_REALTIME || clockId == CLOCK_MONOTONIC ? timeout + offset : Long.MAX_VALUE;
                    } else {
                        // Relative timeouts count from when the call started waiting, not from each retry.
                        deadline = clockId == CLOCK_REALTIME || clockId == CLOCK_MONOTONIC
                                ? saturatingAdd(waitStart, timeout) : Long.MAX_VALUE;
                    }
                    ready = deadline <= frameTimeNs || (clockId >= CLOCK_PROCESS_CPUTIME && now >= timeout);
                } catch (WasiException e) {
                    error = e.errno();
                    ready = true;
                    deadline = Long.MAX_VALUE;
                }
                if (!ready) {
                    earliestDeadline = Math.min(earliestDeadline, deadline);
                }
            } else if (tag == EVENTTYPE_FD_READ || tag == EVENTTYPE_FD_WRITE) {
                int fd = memory.u32(sub + 16);
                Descriptor d = fds.get(fd);
                if (d == null) {
                    error = Errno.BADF;
                    ready = true;
                } else if (d instanceof Descriptor.Listener l) {
                    ready = tag == EVENTTYPE_FD_READ && l.socket.readable();
                    nbytes = l.socket.pending();
                } else if (d instanceof Descriptor.Socket s) {
                    StreamSocket ss = s.socket;
                    if (tag == EVENTTYPE_FD_READ) {
                        ready = ss.readable();
                        nbytes = ss.available();
                        flags = ss.hangup() ? EVENTRWFLAGS_HANGUP : 0;
                    } else if (ss.isReset() || ss.isWriteShut()) {
                        ready = true;
                        error = Errno.PIPE;
                    } else {
                        ready = ss.writable();
                        nbytes = ss.sendCredit();
                    }
                } else if (d instanceof Descriptor.Stdio stdio) {
                    ready = (tag == EVENTTYPE_FD_READ) == (stdio.which == 0);
                    if (!ready) {
                        ready = true;
                        error = Errno.BADF;
                    }
                } else {
                    // Regular files and directories are always ready, as on Linux.
                    ready = true;
                    nbytes = tag == EVENTTYPE_FD_READ ? files.readableBytes(d) : 0;
                }
            } else {
                error = Errno.INVAL;
                ready = true;
            }
            if (ready) {
                long ev = outPtr + 32L * events;
                memory.u64(ev, userdata);
                memory.u16(ev + 8, error);
                memory.u8(ev + 10, tag <= 2 ? tag : 0);
                memory.u64(ev + 16, nbytes);
                memory.u16(ev + 24, flags);
                events++;
            }
        }
        if (events == 0) {
            if (earliestDeadline != Long.MAX_VALUE && earliestDeadline != requestedTimerNs) {
                requestedTimerNs = earliestDeadline;
                out.add(new Output.TimerRequest(earliestDeadline));
            }
            throw WasiException.WOULD_BLOCK;
        }
        memory.u32(neventsPtr, events);
        return Errno.SUCCESS;
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 || b < 0 ? Long.MAX_VALUE : r;
    }

    // ---- snapshot ----

    private static final int KIND_STDIO = 0;
    private static final int KIND_LISTENER = 1;
    private static final int KIND_SOCKET = 2;
    private static final int KIND_DIRECTORY = 3;
    private static final int KIND_FILE = 4;

    /** Writes all host state in a canonical order: same state, same bytes. */
    public void writeTo(java.io.DataOutputStream d) throws java.io.IOException {
        d.writeLong(frameTimeNs);
        d.writeLong(fuelConsumedNs);
        d.writeLong(blockedSinceNs);
        d.writeLong(requestedTimerNs);
        d.writeLong(out.droppedLogBytes());
        random.writeTo(d);
        network.writeTo(d);
        files.writeTo(d);
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
            } else if (desc instanceof Descriptor.Listener l) {
                d.writeByte(KIND_LISTENER);
                d.writeUTF(l.socket.name());
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
     * Replaces this host's state with one written by {@link #writeTo}. The filesystem snapshot carries
     * its nodes' open counts, so descriptors are re-attached to nodes without taking new handles.
     */
    public void readFrom(java.io.DataInputStream d) throws java.io.IOException {
        frameTimeNs = d.readLong();
        fuelConsumedNs = d.readLong();
        blockedSinceNs = d.readLong();
        requestedTimerNs = d.readLong();
        out.restoreDroppedLogBytes(d.readLong());
        random.readFrom(d);
        network.readFrom(d);
        files.readFrom(d);
        int count = d.readInt();
        if (count < 0 || count > config.limits().maxOpenFds()) {
            throw new java.io.IOException("snapshot has " + count + " descriptors; the limit is " + config.limits().maxOpenFds());
        }
        fds.clear();
        for (int i = 0; i < count; i++) {
            int fd = d.readInt();
            int flags = d.readInt();
            long base = d.readLong();
            long inheriting = d.readLong();
            int kind = d.readByte();
            Descriptor desc;
            switch (kind) {
                case KIND_STDIO -> desc = new Descriptor.Stdio(d.readByte());
                case KIND_LISTENER -> {
                    String name = d.readUTF();
                    ListenerSocket l = network.listener(name);
                    if (l == null) {
                        throw new java.io.IOException("snapshot fd " + fd + " names unknown listener '" + name + "'");
                    }
                    desc = new Descriptor.Listener(l, flags);
                }
                case KIND_SOCKET -> {
                    long conn = d.readLong();
                    StreamSocket s = network.connection(conn);
                    if (s == null) {
                        throw new java.io.IOException("snapshot fd " + fd + " names unknown connection " + conn);
                    }
                    desc = new Descriptor.Socket(s, flags);
                }
                case KIND_DIRECTORY -> {
                    var node = files.nodeByIno(d.readLong());
                    String pre = d.readUTF();
                    if (!(node instanceof io.replicode.replica.wasi.fs.DirectoryNode dn)) {
                        throw new java.io.IOException("snapshot fd " + fd + " is a directory but its inode is not");
                    }
                    desc = new Descriptor.Directory(dn, pre.isEmpty() ? null : pre, base, inheriting, flags);
                }
                case KIND_FILE -> {
                    var node = files.nodeByIno(d.readLong());
                    long pos = d.readLong();
                    if (!(node instanceof io.replicode.replica.wasi.fs.FileNode fn)) {
                        throw new java.io.IOException("snapshot fd " + fd + " is a file but its inode is not");
                    }
                    Descriptor.RegularFile f = new Descriptor.RegularFile(fn, base, inheriting, flags);
                    f.position = pos;
                    desc = f;
                }
                default -> throw new java.io.IOException("snapshot fd " + fd + " has unknown kind " + kind);
            }
            desc.fdflags = flags;
            desc.rightsBase = base;
            desc.rightsInheriting = inheriting;
            if (fds.put(fd, desc) != null) {
                throw new java.io.IOException("snapshot lists fd " + fd + " twice");
            }
        }
    }

    int schedYield() {
        // One thread per guest: there is nobody to yield to.
        return Errno.SUCCESS;
    }

    int procRaise(int signal) {
        // Signals were removed from WASI; there is no handler to run and no process to signal.
        return Errno.NOSYS;
    }
}
