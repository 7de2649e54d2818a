package io.replicode.replica.wasi;

import io.replicode.replica.wasi.net.ListenerSocket;
import io.replicode.replica.wasi.net.VirtualNetwork;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The state behind our WASI preview 1 (descriptor table, virtual network, files, clock and randomness) and the
 * calls on it that are neither files ({@link WasiFiles}), sockets ({@link WasiSockets}) nor poll ({@link WasiPoll}):
 * arguments, environment, clocks, randomness and the generic descriptor calls, which dispatch to those three.
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
    /** The socket interface the module was written against: how the socket imports read their arguments. */
    final SocketAbi abi;
    /** The directories preopened for the guest: the configuration's, and for a RepliCode program /tmp and ".". */
    final List<String> preopens;
    final OutputBuffer out;
    final VirtualNetwork network;
    final GuestRandom random;
    final FdTable fds;
    final WasiFiles files;
    final WasiSockets sockets = new WasiSockets(this);
    final WasiPoll poll = new WasiPoll(this);
    GuestMemory memory;
    Parking parking;

    long frameTimeNs;
    /** The sequencer epoch of the frame being applied: an outbound connection belongs to the epoch it was made in. */
    long frameEpoch;
    long fuelConsumedNs;
    /** Frame time at which the current blocking call first had to wait, or -1. */
    long blockedSinceNs = -1;
    /** The last timer requested from the sequencer during the current wait, or -1. */
    long requestedTimerNs = -1;

    /** A host for a WASI preview 1 module (listeners preopened at fd 3..). */
    public WasiHost(io.replicode.replica.GuestConfig config) {
        this(config, SocketAbi.PREVIEW1);
    }

    public WasiHost(io.replicode.replica.GuestConfig config, SocketAbi abi) {
        this.config = config;
        this.abi = abi;
        this.preopens = preopensFor(config, abi);
        this.out = new OutputBuffer(config.limits().maxLogBytesPerFrame());
        List<io.replicode.replica.Upstream> upstreams = new ArrayList<>();
        for (String u : config.upstreams()) {
            upstreams.add(io.replicode.replica.Upstream.parse(u));
        }
        this.network = new VirtualNetwork(config.listeners(), config.listenerPorts(), upstreams,
                config.limits().listenBacklog(), config.limits().receiveBufferBytes(), config.limits().sendWindowBytes(), out);
        this.random = new GuestRandom(config.genesisSeed());
        this.frameTimeNs = config.genesisTimeNs();
        this.fds = new FdTable(config.limits().maxOpenFds());
        fds.put(0, new Descriptor.Stdio(0));
        fds.put(1, new Descriptor.Stdio(1));
        fds.put(2, new Descriptor.Stdio(2));
        int fd = 3;
        if (!abi.opensSockets()) {
            for (ListenerSocket l : network.listeners()) {
                fds.put(fd++, new Descriptor.Listener(l, 0));
            }
        }
        this.files = new WasiFiles(this);
        files.preopen(fd);
    }

    /**
     * RepliCode's programs use relative file names (its runtime gave each process a writable directory of its own) and
     * {@code /tmp}: a module written against that interface also gets {@code /tmp} and a working directory, preopened
     * as {@code "."} (wasi-libc resolves a relative name against it). Both are in-memory and replicated like /data.
     */
    private static List<String> preopensFor(io.replicode.replica.GuestConfig config, SocketAbi abi) {
        List<String> dirs = new ArrayList<>(config.preopens());
        if (abi == SocketAbi.REPLICODE) {
            for (String extra : List.of("/tmp", ".")) {
                if (!dirs.contains(extra)) {
                    dirs.add(extra);
                }
            }
        }
        return List.copyOf(dirs);
    }

    /** The first fd of the preopened directories: after stdio and, for WASI preview 1, the listeners. */
    int firstPreopenFd() {
        return 3 + (abi.opensSockets() ? 0 : network.listeners().size());
    }

    public SocketAbi socketAbi() {
        return abi;
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

    /** Starts a frame of the current epoch: its time (never decreasing) and entropy. */
    public void beginFrame(long seq, long timeNs, byte[] entropy) {
        beginFrame(seq, frameEpoch, timeNs, entropy);
    }

    /**
     * Starts a frame: its time (never decreasing), entropy and sequencer epoch; outbound connections of another epoch
     * are reset.
     */
    public void beginFrame(long seq, long epoch, long timeNs, byte[] entropy) {
        frameTimeNs = Math.max(frameTimeNs, timeNs);
        random.reseed(seq, entropy);
        frameEpoch = epoch;
        network.beginEpoch(epoch);
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

    /**
     * A host for a new process of the same app, as when a supervisor restarts a crashed server: the files, the
     * clock, the random stream and the fuel count of {@code old} carry over; connections and descriptors do not.
     * Every descriptor of {@code old} is closed (so files unlinked while open are released) and every connection
     * it had is reset; {@code old} is not used again.
     */
    public static WasiHost restartedFrom(WasiHost old) {
        return restartedFrom(old, old.abi);
    }

    /** As {@link #restartedFrom(WasiHost)}, for a module written against {@code abi} (an upgrade may change it). */
    public static WasiHost restartedFrom(WasiHost old, SocketAbi abi) {
        WasiHost h = new WasiHost(old.config, abi);
        h.frameEpoch = old.frameEpoch;
        old.appStopped();
        for (Descriptor d : old.fds.all()) {
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
        h.files.adopt(old.files, h.firstPreopenFd());
        return h;
    }

    /** The app stopped: every connection is reset and the guest's socket descriptors are gone with it. */
    public void appStopped() {
        network.resetAll();
        fds.removeIf(d -> d instanceof Descriptor.Socket);
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
        if (len < 0 || len > io.replicode.replica.GuestLimits.MAX_RANDOM_GET_BYTES) {
            throw new WasiException(Errno.INVAL, "random_get of " + len + " bytes");
        }
        byte[] b = new byte[(int) len];
        random.fill(b);
        memory.write(buf, b);
        return Errno.SUCCESS;
    }

    // ---- blocking ----

    /**
     * Whether {@code name} is an import in which a guest may park (the asyncify import list): on re-entry after a
     * rewind it completes the rewind before it does anything else, whatever it then answers.
     */
    public static boolean isBlockingImport(String name) {
        return switch (name) {
            case "poll_oneoff", "sock_accept", "sock_recv", "sock_send", "fd_read", "fd_write", "sock_connect" -> true;
            default -> false;
        };
    }

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

    // ---- generic descriptor calls ----

    int fdClose(int fd) {
        Descriptor d = fds.get(fd);
        if (d instanceof Descriptor.Socket s) {
            network.close(s.socket);
        } else if (d instanceof Descriptor.Listener l) {
            // The listener stays declared in the app; closing drops the guest's descriptor and, for one the guest
            // claimed with its own socket, lets another socket claim it.
            if (l.claimed) {
                network.release(l.socket);
            }
        } else if (d instanceof Descriptor.Opened) {
            // Nothing outside the guest knows of a socket that never listened or connected.
        } else {
            files.close(d);
        }
        fds.remove(fd);
        return Errno.SUCCESS;
    }

    int fdFdstatGet(int fd, long ptr) {
        Descriptor d = fds.get(fd);
        memory.u8(ptr, d.filetype());
        memory.u8(ptr + 1, 0);
        memory.u16(ptr + 2, d.fdflags);
        memory.u32(ptr + 4, 0);
        memory.u64(ptr + 8, d.rightsBase);
        memory.u64(ptr + 16, d.rightsInheriting);
        return Errno.SUCCESS;
    }

    int fdFdstatSetFlags(int fd, int flags) {
        Descriptor d = fds.get(fd);
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
        Descriptor d = fds.get(fd);
        if ((base & ~d.rightsBase) != 0 || (inheriting & ~d.rightsInheriting) != 0) {
            return Errno.NOTCAPABLE;
        }
        d.rightsBase = base;
        d.rightsInheriting = inheriting;
        return Errno.SUCCESS;
    }

    int fdRead(int fd, long iovs, long iovsLen, long nreadPtr) {
        Descriptor d = fds.get(fd);
        List<long[]> vecs = memory.iovecs(iovs, iovsLen);
        if (d instanceof Descriptor.Socket s) {
            return sockets.read(s, vecs, nreadPtr);
        }
        if (d instanceof Descriptor.Stdio stdio) {
            if (stdio.which != 0) {
                return Errno.BADF;
            }
            memory.u32(nreadPtr, 0); // stdin is empty: end of file
            return Errno.SUCCESS;
        }
        if (d instanceof Descriptor.Listener || d instanceof Descriptor.Opened) {
            return Errno.NOTCONN;
        }
        return files.read(d, vecs, nreadPtr);
    }

    int fdWrite(int fd, long iovs, long iovsLen, long nwrittenPtr) {
        Descriptor d = fds.get(fd);
        List<long[]> vecs = memory.iovecs(iovs, iovsLen);
        if (d instanceof Descriptor.Socket s) {
            return sockets.write(s, vecs, nwrittenPtr);
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
        if (d instanceof Descriptor.Listener || d instanceof Descriptor.Opened) {
            return Errno.NOTCONN;
        }
        return files.write(d, vecs, nwrittenPtr);
    }

    int fdRenumber(int from, int to) {
        Descriptor d = fds.get(from);
        fds.get(to);
        if (from == to) {
            return Errno.SUCCESS;
        }
        fdClose(to);
        fds.remove(from);
        fds.put(to, d);
        return Errno.SUCCESS;
    }

    int fdFilestatGet(int fd, long ptr) {
        Descriptor d = fds.get(fd);
        if (d instanceof Descriptor.Stdio || d instanceof Descriptor.Socket || d instanceof Descriptor.Listener
                || d instanceof Descriptor.Opened) {
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

    // ---- snapshot ----

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
        fds.writeTo(d);
    }

    /**
     * Replaces this host's state with one written by {@link #writeTo}. The filesystem snapshot carries
     * its nodes' open counts, so descriptors are re-attached to nodes without taking new handles.
     */
    public void readFrom(java.io.DataInputStream d, int version) throws java.io.IOException {
        frameTimeNs = d.readLong();
        fuelConsumedNs = d.readLong();
        blockedSinceNs = d.readLong();
        requestedTimerNs = d.readLong();
        out.restoreDroppedLogBytes(d.readLong());
        random.readFrom(d);
        network.readFrom(d, version);
        files.readFrom(d);
        fds.readFrom(d, network, files);
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
