package io.replicode.replica.machine;

import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.GlobalInstance;
import com.dylibso.chicory.runtime.ImportValues;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.ByteArrayMemory;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
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
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * One run of the guest module: a Chicory instance with its WASI host, from {@code _start} until it waits for
 * the next frame or stops. What a supervisor restarts is a process; {@link GuestMachine} owns the processes
 * of an app and decides what a fault means.
 *
 * <p>A module built with asyncify parks between frames: the host unwinds the guest's stack into linear
 * memory and returns, so the whole state is memory + globals + host state, which {@link #writeState} writes.
 * Other modules run on a dedicated thread that blocks inside the waiting host call.
 *
 * <p>A fault (trap, exhausted fuel or depth, proc_exit, a host rule broken) ends the process: {@link #faulted()}
 * turns true and {@link #fault()} says why, in words that are the same on every engine and replica. The
 * process adds nothing to its outputs for it: what clients see is the supervisor's decision.
 */
final class GuestProcess implements AutoCloseable {
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

    private GuestMachine.State state = GuestMachine.State.NEW;
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

    GuestProcess(GuestModule module, GuestConfig config, WasiHost host) {
        this.module = module;
        this.config = config;
        this.facts = module.facts();
        this.asyncify = module.snapshotCapable();
        this.host = host;
        int limit = config.limits().memoryPages();
        if (facts.memoryInitialPages() > limit) {
            throw new ModuleRejectedException("the module needs " + facts.memoryInitialPages()
                    + " memory pages at start, above the app's limit of " + limit + " pages",
                    "raise limits.memoryPages for app '" + config.app() + "' or link with a smaller stack/data");
        }
        int max = facts.memoryMaximumPages() < 0 ? limit : Math.min(limit, facts.memoryMaximumPages());
        Instance.Builder b = Instance.builder(module.chicoryModule())
                .withImportValues(ImportValues.builder().withFunctions(WasiPreview1.functions(host, facts.importSignatures())).build())
                .withMemoryLimits(new MemoryLimits(facts.memoryInitialPages(), max))
                .withStart(false);
        // Chicory's byte[] pages read and write through VarHandles; its default ByteBuffer pages go through
        // ByteBuffer.getInt and friends. Same paging, same bounds; the kv's replicas took about 7% less CPU per
        // request with this one (redis-benchmark -c 50 SET, two alternating pairs: docs/benchmarks.md).
        b.withMemoryFactory(ByteArrayMemory::new);
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

    GuestMachine.State state() {
        return state;
    }

    /** Seq of the last frame this process ran (or of the frame it was restored at). */
    long lastSeq() {
        return lastSeq;
    }

    boolean faulted() {
        return state == GuestMachine.State.STOPPED;
    }

    /** Why the process ended ("trap: ...", "fuel exhausted: ...", "exit: status 1"), with its frame; or null. */
    String fault() {
        return stopReason;
    }

    /** The guest ended on its own with status 0 (main returned 0 or proc_exit(0)): finished, not faulted. */
    boolean exitedCleanly() {
        return state == GuestMachine.State.STOPPED && stopReason.startsWith(NORMAL_EXIT + " (frame ");
    }

    WasiHost host() {
        return host;
    }

    boolean snapshotCapable() {
        return asyncify;
    }

    int memoryPages() {
        return instance.memory().pages();
    }

    /**
     * Runs frame {@code seq}: its events reach the guest's sockets, the guest runs until it waits again or
     * faults, and everything it produced is returned. A process that faulted runs nothing more.
     */
    List<Output> run(long seq, long epoch, long timeNs, byte[] entropy, List<IngressEvent> events) {
        if (closed) {
            throw new IllegalStateException("guest process of app '" + config.app() + "' is closed");
        }
        if (state == GuestMachine.State.STOPPED) {
            throw new IllegalStateException("guest process of app '" + config.app() + "' faulted at " + stopReason);
        }
        lastSeq = seq;
        host.beginFrame(seq, epoch, timeNs, entropy);
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
        if (state != GuestMachine.State.STOPPED) {
            host.network().flushWindows();
        }
        return host.outputs().drain();
    }

    private void runParked() {
        fuel.setValue(config.limits().fuelPerFrame());
        try {
            if (state == GuestMachine.State.NEW) {
                placeAsyncifyBuffer();
                state = GuestMachine.State.PARKED;
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
        if (state == GuestMachine.State.NEW) {
            state = GuestMachine.State.PARKED;
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
        state = GuestMachine.State.STOPPED;
        stopReason = reason + " (frame " + lastSeq + ")";
    }

    /**
     * Marks this (faulted or running) process as ended for good by its supervisor with {@code reason}: every
     * connection is reset and the guest's socket descriptors are gone with it.
     */
    void end(String reason) {
        state = GuestMachine.State.STOPPED;
        stopReason = reason;
        host.appStopped();
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

    /**
     * Loads a process state written by {@link #writeState} into this fresh process; {@code snapshot} may be a whole
     * machine snapshot, whose parts after the process state are not the process's business.
     */
    void restore(byte[] snapshot, long maxBytes) {
        if (state != GuestMachine.State.NEW || lastSeq != 0) {
            throw new IllegalStateException("restore needs a fresh process; app '" + config.app() + "' already ran frame " + lastSeq);
        }
        SnapshotCodec.decode(snapshot, maxBytes, (d, version) -> {
            readState(d, version);
            d.skipNBytes(d.available());
        });
    }

    /**
     * The process state alone, uncompressed: a checkpoint to roll back to. Written into a buffer the size of the memory:
     * grown from 64 KiB by doubling, a checkpoint of a 100 MB kv copied its bytes about twice more (a quarter of the
     * replica threads' samples during a 60 MiB SET).
     */
    byte[] checkpoint() {
        return SnapshotCodec.encode(this::writeState, false, stateSizeHint());
    }

    /** About how many bytes the state takes: its memory and a little more; what state buffers are sized for. */
    int stateSizeHint() {
        return (int) Math.min(Integer.MAX_VALUE - 64, (long) memoryPages() * io.replicode.replica.GuestLimits.WASM_PAGE_BYTES + (1 << 16));
    }

    void writeState(DataOutputStream d) throws IOException {
        d.writeUTF(module.sha256());
        d.writeUTF(config.app());
        d.writeByte(state.ordinal());
        d.writeUTF(stopReason == null ? "" : stopReason);
        d.writeLong(lastSeq);
        d.writeInt(asyncifyBufStart);
        d.writeInt(asyncifyBufEnd);
        SnapshotCodec.writeInstance(d, instance);
        host.writeTo(d);
    }

    void readState(DataInputStream d, int version) throws IOException {
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
        if (st < 0 || st >= GuestMachine.State.values().length) {
            throw new IOException("snapshot has unknown machine state " + st);
        }
        String reason = d.readUTF();
        long seq = d.readLong();
        int bufStart = d.readInt();
        int bufEnd = d.readInt();
        SnapshotCodec.readInstance(d, instance, config.limits().memoryPages());
        host.readFrom(d, version);
        state = GuestMachine.State.values()[st];
        stopReason = reason.isEmpty() ? null : reason;
        lastSeq = seq;
        asyncifyBufStart = bufStart;
        asyncifyBufEnd = bufEnd;
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
            if (rewinding && !WasiHost.isBlockingImport(importName)) {
                throw new GuestFault("import " + importName + " ran while the guest was resuming; the module was not "
                        + "asyncified with Replicode's import list. Fix: " + SnapshotCodec.ASYNCIFY_FIX);
            }
        }
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
