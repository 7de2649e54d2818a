package io.replicode.replica.machine;

import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.GlobalInstance;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replay.Frame;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.module.ModuleFacts;
import io.replicode.replica.module.ModuleRejectedException;
import io.replicode.replica.wasi.GuestExit;
import io.replicode.replica.wasi.WasiHost;
import io.replicode.replica.wasi.WasiPreview1;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;

/**
 * The deterministic guest machine: one WASI module instance driven by frames.
 *
 * <p>{@link #apply(Frame)} feeds a frame's events to the guest's virtual sockets, runs the guest until it
 * waits for input again (or stops), and returns what it produced. The machine is a plain synchronous
 * object with no Vert.x in sight: the same frames give the same outputs, digests and snapshots on every
 * replica, engine and JVM. It is not thread-safe; one owner drives it.
 *
 * <p>A module built with asyncify parks between frames: the host unwinds the guest's stack into linear
 * memory and returns, so the whole state is memory + globals + host state, which {@link #snapshot()}
 * copies. Other modules run on a dedicated thread that blocks inside the waiting host call.
 *
 * <p>Before the guest sees a frame's events, the second copy of a gateway's ingress batch (resent after a
 * sequencer failover) is dropped, by the batch marks in the frames and a table that is part of the state
 * ({@code DuplicateBatchFilter} below).
 */
public final class GuestMachine implements AutoCloseable {
    /** Life cycle of a machine. */
    public enum State {
        NEW,
        PARKED,
        STOPPED
    }

    /** wasi-libc's _start returns (instead of calling proc_exit) when main returned 0. */
    private static final String NORMAL_EXIT = "exit: status 0";

    private final GuestModule module;
    private final GuestConfig config;
    private final WasiHost host;
    private final Instance instance;
    private final ModuleFacts facts;
    private final boolean asyncify;
    private final ExportFunction start;
    private final GlobalInstance fuel;
    private final GlobalInstance depth;

    private final DuplicateBatchFilter batches = new DuplicateBatchFilter();
    private State state = State.NEW;
    private String stopReason;
    private long lastSeq;
    private boolean closed;

    // asyncify parking
    private ExportFunction startUnwind;
    private ExportFunction stopUnwind;
    private ExportFunction startRewind;
    private ExportFunction stopRewind;
    private int asyncifyBufStart;
    private int asyncifyBufEnd;
    private boolean unwinding;
    private boolean rewinding;

    // thread parking
    private Thread guestThread;
    private final Semaphore toGuest = new Semaphore(0);
    private final Semaphore toMachine = new Semaphore(0);
    private volatile Throwable guestFailure;
    private volatile boolean guestFinished;
    private volatile boolean closing;

    private GuestMachine(GuestModule module, GuestConfig config) {
        this.module = module;
        this.config = config;
        this.facts = module.facts();
        this.asyncify = module.snapshotCapable();
        this.host = new WasiHost(config);
        int limit = config.limits().memoryPages();
        if (facts.memoryInitialPages() > limit) {
            throw new ModuleRejectedException("the module needs " + facts.memoryInitialPages()
                    + " memory pages at start, above the app's limit of " + limit + " pages",
                    "raise limits.memoryPages for app '" + config.app() + "' or link with a smaller stack/data");
        }
        int max = facts.memoryMaximumPages() < 0 ? limit : Math.min(limit, facts.memoryMaximumPages());
        Instance.Builder b = Instance.builder(module.chicoryModule())
                .withImportValues(ImportValues.builder().withFunctions(WasiPreview1.functions(host)).build())
                .withMemoryLimits(new MemoryLimits(facts.memoryInitialPages(), max))
                .withStart(false);
        if (module.machineFactory() != null) {
            b.withMachineFactory(module.machineFactory());
        }
        this.instance = b.build();
        this.start = instance.export("_start");
        this.fuel = instance.global(facts.fuelGlobal());
        this.depth = instance.global(facts.depthGlobal());
        instance.global(facts.depthLimitGlobal()).setValue(config.limits().callDepth());
        if (asyncify) {
            startUnwind = instance.export("asyncify_start_unwind");
            stopUnwind = instance.export("asyncify_stop_unwind");
            startRewind = instance.export("asyncify_start_rewind");
            stopRewind = instance.export("asyncify_stop_rewind");
            host.bind(instance.memory(), new AsyncifyParking());
        } else {
            host.bind(instance.memory(), new ThreadParking());
        }
    }

    /** A machine for {@code module} at genesis; nothing runs until the first frame. */
    public static GuestMachine create(GuestModule module, GuestConfig config) {
        return new GuestMachine(module, config);
    }

    public State state() {
        return state;
    }

    public long lastSeq() {
        return lastSeq;
    }

    /** Why the app stopped, or null. */
    public String stopReason() {
        return stopReason;
    }

    public WasiHost host() {
        return host;
    }

    public GuestStatus status() {
        return new GuestStatus(config.app(), state, stopReason, lastSeq, module.engine().name().toLowerCase(),
                asyncify ? "asyncify" : "thread", asyncify, instance.memory().pages(), host.fuelConsumed(),
                host.network().connections().size(), host.openDescriptors(), batches.duplicateBatches(),
                batches.duplicateEvents());
    }

    /**
     * Applies the next frame: its events reach the guest's sockets, the guest runs until it waits again
     * or stops, and everything it produced is returned. Frames must come in seq order without gaps.
     */
    public List<Output> apply(Frame frame) {
        if (closed) {
            throw new IllegalStateException("guest machine of app '" + config.app() + "' is closed");
        }
        if (lastSeq != 0 && frame.seq() != lastSeq + 1) {
            throw new IllegalArgumentException("app '" + config.app() + "' expects frame " + (lastSeq + 1)
                    + " next, got " + frame.seq() + "; frames must be applied in order without gaps");
        }
        lastSeq = frame.seq();
        host.beginFrame(frame.seq(), frame.timeNs(), frame.entropy());
        // Even a stopped app keeps the table, so its snapshot and digest stay those of every replica.
        List<IngressEvent> events = batches.filter(frame.events());
        if (state == State.STOPPED) {
            for (IngressEvent e : events) {
                if (e instanceof IngressEvent.Open open) {
                    host.outputs().add(new Output.Reset(open.connection()));
                }
            }
            return host.outputs().drain();
        }
        for (IngressEvent e : events) {
            host.network().onEvent(e);
        }
        if (asyncify) {
            GuestThreads.call(() -> {
                runParked();
                return null;
            });
        } else {
            runThreaded();
        }
        if (state != State.STOPPED) {
            host.network().flushWindows();
        }
        return host.outputs().drain();
    }

    private void runParked() {
        fuel.setValue(config.limits().fuelPerFrame());
        try {
            if (state == State.NEW) {
                placeAsyncifyBuffer();
                state = State.PARKED;
                start.apply();
            } else {
                rewinding = true;
                startRewind.apply(asyncifyBufStart);
                start.apply();
            }
            accountFuel();
            if (unwinding) {
                unwinding = false;
                stopUnwind.apply();
                if (depth.getValue() != 0) {
                    throw new IllegalStateException("call depth " + depth.getValue() + " after a full unwind");
                }
            } else {
                stop(NORMAL_EXIT);
            }
        } catch (Throwable t) {
            accountFuel();
            stop(reasonFor(t));
        }
    }

    /**
     * The asyncify data buffer lives at the top of the C stack: the stack pointer is lowered below it
     * before the guest starts, so neither the stack, the heap nor static data ever touch it.
     */
    private void placeAsyncifyBuffer() {
        GlobalInstance sp = instance.global(facts.stackPointerGlobal());
        int top = (int) sp.getValue() & ~15;
        int size = config.limits().asyncifyBufferBytes();
        if (top - size < 1024) {
            throw new ModuleRejectedException("the C stack (top at " + top + ") is too small to hold the "
                    + size + "-byte asyncify buffer", "link with -Wl,-z,stack-size=1048576 or lower limits.asyncifyBufferBytes");
        }
        asyncifyBufEnd = top;
        asyncifyBufStart = top - size;
        sp.setValue(asyncifyBufStart);
    }

    private void runThreaded() {
        fuel.setValue(config.limits().fuelPerFrame());
        if (state == State.NEW) {
            state = State.PARKED;
            guestThread = GuestThreads.dedicated(this::threadBody, "replicode-guest-" + config.app());
            guestThread.start();
        } else {
            toGuest.release();
        }
        toMachine.acquireUninterruptibly();
        accountFuel();
        if (guestFinished) {
            Throwable t = guestFailure;
            stop(t == null ? NORMAL_EXIT : reasonFor(t));
        }
    }

    private void threadBody() {
        try {
            start.apply();
        } catch (Throwable t) {
            guestFailure = t;
        } finally {
            guestFinished = true;
            toMachine.release();
        }
    }

    private void accountFuel() {
        long left = fuel.getValue();
        long budget = config.limits().fuelPerFrame();
        host.addFuelConsumed(left < 0 ? budget : budget - left);
    }

    private void stop(String reason) {
        state = State.STOPPED;
        stopReason = reason + " (frame " + lastSeq + ")";
        host.appStopped();
        host.outputs().add(new Output.Stopped(stopReason));
    }

    /** The stop reason for a throwable that ended the guest: identical on every engine and replica. */
    private String reasonFor(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof GuestExit exit) {
                return "exit: status " + exit.status();
            }
            if (c instanceof GuestFault fault) {
                return "fault: " + fault.getMessage();
            }
        }
        if (fuel.getValue() < 0) {
            return "fuel exhausted: more than " + config.limits().fuelPerFrame() + " instructions in one frame";
        }
        if (depth.getValue() > config.limits().callDepth()) {
            return "trap: call stack exhausted (depth limit " + config.limits().callDepth() + ")";
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof StackOverflowError) {
                // Only reachable if the guest thread's stack is smaller than the depth limit needs.
                return "trap: call stack exhausted (JVM stack)";
            }
            if (c instanceof com.dylibso.chicory.wasm.ChicoryException && c.getMessage() != null) {
                return "trap: " + TrapMessages.canonical(c.getMessage());
            }
        }
        return "host error: " + t;
    }

    /** Stops the guest thread, if any. The machine cannot be used afterwards. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (guestThread != null && !guestFinished) {
            closing = true;
            guestThread.interrupt();
            toGuest.release();
            try {
                guestThread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- snapshot, restore, digest ----

    /** The full state as a versioned, checksummed snapshot; only between frames and for asyncified guests. */
    public byte[] snapshot() {
        requireSnapshotCapable("snapshot");
        return SnapshotCodec.encode(this::writeState, true);
    }

    /** Loads a snapshot into this fresh machine (same module and config); the next frame continues from it. */
    public void restore(byte[] snapshot) {
        requireSnapshotCapable("restore");
        if (state != State.NEW || lastSeq != 0) {
            throw new IllegalStateException("restore needs a fresh machine; app '" + config.app() + "' already ran frame " + lastSeq);
        }
        long maxBytes = (long) config.limits().memoryPages() * 65536L + config.limits().fsQuotaBytes() + (64L << 20);
        SnapshotCodec.decode(snapshot, maxBytes, this::readState);
    }

    /** SHA-256 of the canonical state (memory, globals, tables, host state); equal states have equal digests. */
    public byte[] digest() {
        return SnapshotCodec.digest(this::writeState);
    }

    private void requireSnapshotCapable(String what) {
        if (!asyncify) {
            throw new IllegalStateException("app '" + config.app() + "' cannot " + what + ": its module "
                    + (module.facts().asyncified() ? "has no recognisable C stack pointer" : "was not built with asyncify")
                    + " and runs on a blocking thread. Fix: " + SnapshotCodec.ASYNCIFY_FIX);
        }
    }

    private void writeState(DataOutputStream d) throws IOException {
        d.writeUTF(module.sha256());
        d.writeUTF(config.app());
        d.writeByte(state.ordinal());
        d.writeUTF(stopReason == null ? "" : stopReason);
        d.writeLong(lastSeq);
        d.writeInt(asyncifyBufStart);
        d.writeInt(asyncifyBufEnd);
        SnapshotCodec.writeMemory(d, instance.memory());
        int globals = instance.globalCount();
        d.writeInt(globals);
        for (int i = 0; i < globals; i++) {
            GlobalInstance g = instance.global(i);
            d.writeLong(g.getValueLow());
            d.writeLong(g.getValueHigh());
        }
        int tables = instance.tableCount();
        d.writeInt(tables);
        for (int t = 0; t < tables; t++) {
            var table = instance.table(t);
            d.writeInt(table.size());
            for (int i = 0; i < table.size(); i++) {
                d.writeInt(table.ref(i));
            }
        }
        host.writeTo(d);
        batches.writeTo(d);
    }

    private void readState(DataInputStream d, int version) throws IOException {
        String sha = d.readUTF();
        if (!sha.equals(module.sha256())) {
            throw new IOException("snapshot was taken with module " + sha.substring(0, Math.min(12, sha.length()))
                    + ", this machine runs " + module.sha256().substring(0, 12));
        }
        String app = d.readUTF();
        if (!app.equals(config.app())) {
            throw new IOException("snapshot belongs to app '" + app + "', not '" + config.app() + "'");
        }
        int st = d.readByte();
        if (st < 0 || st >= State.values().length) {
            throw new IOException("snapshot has unknown machine state " + st);
        }
        String reason = d.readUTF();
        long seq = d.readLong();
        int bufStart = d.readInt();
        int bufEnd = d.readInt();
        SnapshotCodec.readMemory(d, instance.memory(), config.limits().memoryPages());
        int globals = d.readInt();
        if (globals != instance.globalCount()) {
            throw new IOException("snapshot has " + globals + " globals, the module has " + instance.globalCount());
        }
        for (int i = 0; i < globals; i++) {
            GlobalInstance g = instance.global(i);
            g.setValueLow(d.readLong());
            g.setValueHigh(d.readLong());
        }
        int tables = d.readInt();
        if (tables != instance.tableCount()) {
            throw new IOException("snapshot has " + tables + " tables, the module has " + instance.tableCount());
        }
        for (int t = 0; t < tables; t++) {
            var table = instance.table(t);
            int size = d.readInt();
            if (size < 0 || size > 10_000_000) {
                throw new IOException("snapshot table " + t + " has size " + size);
            }
            if (size > table.size() && table.grow(size - table.size(), -1, instance) < 0) {
                throw new IOException("snapshot table " + t + " has size " + size + ", beyond the module's maximum");
            }
            for (int i = 0; i < size; i++) {
                table.setRef(i, d.readInt(), instance);
            }
        }
        host.readFrom(d);
        if (version >= 2) {
            batches.readFrom(d);
        }
        state = State.values()[st];
        stopReason = reason.isEmpty() ? null : reason;
        lastSeq = seq;
        asyncifyBufStart = bufStart;
        asyncifyBufEnd = bufEnd;
    }

    // ---- duplicate batches ----

    /**
     * Drops the second copy of a gateway's ingress batch: part of the machine's replicated state (snapshotted,
     * in the digest), so every replica drops exactly the same events.
     *
     * <p>A gateway resends the batches a dead sequencer did not acknowledge, so a batch may appear twice in the
     * frame history. Sequencers put a {@link IngressEvent.Batch} mark before each batch's events; the events up
     * to the next mark belong to that batch, even across frames. Rules, in event order:
     * <ul>
     *   <li>{@code Batch(0, _)} (the sequencer's own events): applied, never dropped.
     *   <li>{@code Batch(g, s)}: a duplicate when {@code s} is at most the last batchSeq applied for {@code g};
     *       then its events are dropped; otherwise {@code s} becomes the last batchSeq of {@code g}.
     *   <li>Open, Data, HalfClose, Reset, Window: dropped while the current batch is a duplicate.
     *   <li>{@code GatewayLost(g)}: never dropped; forgets {@code g} (all gateways for -1), whose next
     *       incarnation counts from 1 again, and ends the current batch.
     *   <li>SnapshotRequest: never dropped.
     * </ul>
     * Frames with no marks (logs written before marks existed) pass unchanged.
     */
    private static final class DuplicateBatchFilter {
        /** Bytes of one table entry in a snapshot: gateway u32, batchSeq i64. */
        private static final int ENTRY_BYTES = 4 + 8;

        private final TreeMap<Integer, Long> lastBatch = new TreeMap<>();
        private boolean skipping;
        private long duplicateBatches;
        private long duplicateEvents;

        /** The events that reach the guest, in order: marks are consumed, the events of duplicate batches dropped. */
        List<IngressEvent> filter(List<IngressEvent> events) {
            List<IngressEvent> kept = null;
            for (int i = 0; i < events.size(); i++) {
                IngressEvent e = events.get(i);
                boolean keep = admit(e);
                if (kept == null && !keep) {
                    kept = new ArrayList<>(events.subList(0, i));
                } else if (kept != null && keep) {
                    kept.add(e);
                }
            }
            return kept == null ? events : kept;
        }

        private boolean admit(IngressEvent e) {
            if (e instanceof IngressEvent.Batch mark) {
                enter(mark);
                return false;
            }
            if (e instanceof IngressEvent.GatewayLost lost) {
                if (lost.gateway() == IngressEvent.GatewayLost.ALL) {
                    lastBatch.clear();
                } else {
                    lastBatch.remove(lost.gateway());
                }
                skipping = false;
                return true;
            }
            if (e instanceof IngressEvent.SnapshotRequest) {
                return true;
            }
            if (skipping) {
                duplicateEvents++;
                return false;
            }
            return true;
        }

        private void enter(IngressEvent.Batch mark) {
            if (mark.gateway() == IngressEvent.Batch.SEQUENCER) {
                skipping = false;
                return;
            }
            Long last = lastBatch.get(mark.gateway());
            if (last != null && mark.batchSeq() <= last) {
                skipping = true;
                duplicateBatches++;
            } else {
                lastBatch.put(mark.gateway(), mark.batchSeq());
                skipping = false;
            }
        }

        /** Duplicate batches dropped since genesis. */
        long duplicateBatches() {
            return duplicateBatches;
        }

        /** Events of duplicate batches dropped since genesis. */
        long duplicateEvents() {
            return duplicateEvents;
        }

        /** Table count u32, each gateway u32 and last batchSeq i64 in gateway order, skipping u8, the two counters i64. */
        void writeTo(DataOutputStream d) throws IOException {
            d.writeInt(lastBatch.size());
            for (Map.Entry<Integer, Long> e : lastBatch.entrySet()) {
                d.writeInt(e.getKey());
                d.writeLong(e.getValue());
            }
            d.writeBoolean(skipping);
            d.writeLong(duplicateBatches);
            d.writeLong(duplicateEvents);
        }

        /** Reads what {@link #writeTo} wrote into this (fresh) filter; only the canonical form is accepted. */
        void readFrom(DataInputStream d) throws IOException {
            int count = d.readInt();
            if (count < 0 || (long) count * ENTRY_BYTES > d.available()) {
                throw new IOException("snapshot batch table of " + Integer.toUnsignedString(count) + " gateways does not fit in the "
                        + d.available() + " bytes that remain");
            }
            TreeMap<Integer, Long> table = new TreeMap<>();
            int previous = 0;
            for (int i = 0; i < count; i++) {
                int gateway = d.readInt();
                long batchSeq = d.readLong();
                if (gateway <= previous || gateway > ConnectionIds.MAX_GATEWAY) {
                    throw new IOException("snapshot batch table entry " + i + " has gateway " + gateway
                            + " (gateways are 1.." + ConnectionIds.MAX_GATEWAY + ", in increasing order)");
                }
                if (batchSeq < 0) {
                    throw new IOException("snapshot batch table has batchSeq " + batchSeq + " for gateway " + gateway);
                }
                table.put(gateway, batchSeq);
                previous = gateway;
            }
            int flag = d.readUnsignedByte();
            if (flag > 1) {
                throw new IOException("snapshot batch skipping flag is " + flag + ", not 0 or 1");
            }
            long batches = d.readLong();
            long events = d.readLong();
            if (batches < 0 || events < 0) {
                throw new IOException("snapshot duplicate counters are negative (" + batches + " batches, " + events + " events)");
            }
            lastBatch.clear();
            lastBatch.putAll(table);
            skipping = flag == 1;
            duplicateBatches = batches;
            duplicateEvents = events;
        }
    }

    // ---- waiting ----

    /** Parks by unwinding the guest's stack into the asyncify buffer; the next frame rewinds it. */
    private final class AsyncifyParking implements WasiHost.Parking {
        @Override
        public void enter() {
            if (rewinding) {
                stopRewind.apply();
                rewinding = false;
            }
        }

        @Override
        public boolean waitForNextFrame() {
            Memory m = instance.memory();
            m.writeI32(asyncifyBufStart, asyncifyBufStart + 8);
            m.writeI32(asyncifyBufStart + 4, asyncifyBufEnd);
            startUnwind.apply(asyncifyBufStart);
            unwinding = true;
            return true;
        }

        @Override
        public void checkNotUnwinding(String importName) {
            if (unwinding) {
                throw new GuestFault("import " + importName + " ran while the guest was unwinding to park; the module's "
                        + "asyncify import list misses the call that parked it. Fix: " + SnapshotCodec.ASYNCIFY_FIX);
            }
            if (rewinding && !isBlockingImport(importName)) {
                throw new GuestFault("import " + importName + " ran while the guest was resuming; the module was not "
                        + "asyncified with Replicode's import list. Fix: " + SnapshotCodec.ASYNCIFY_FIX);
            }
        }
    }

    private static boolean isBlockingImport(String name) {
        return switch (name) {
            case "poll_oneoff", "sock_accept", "sock_recv", "sock_send", "fd_read", "fd_write" -> true;
            default -> false;
        };
    }

    /** Parks by blocking the guest's own thread until the machine hands it the next frame. */
    private final class ThreadParking implements WasiHost.Parking {
        @Override
        public void enter() {}

        @Override
        public boolean waitForNextFrame() {
            toMachine.release();
            toGuest.acquireUninterruptibly();
            if (closing) {
                throw new GuestFault("machine closed");
            }
            return false;
        }

        @Override
        public void checkNotUnwinding(String importName) {}
    }
}
